#!/usr/bin/env bash
# Installs what Ember's REPL and notebooks need, on a machine with only a Rust
# toolchain and Python 3 (issue 18, ADR 0009):
#   - evcxr (the Rust REPL) and evcxr_jupyter (the Rust Jupyter kernel), with cargo;
#   - Jupyter (notebook, nbconvert, ipykernel) in a virtual environment, .venv-notebook/;
#   - the Rust kernel registered in that environment (`jupyter kernelspec list` shows `rust`);
#   - ember-executor, which hosts the backends of a REPL's local-cluster.
# Each step is skipped when what it installs is already there. Run it again after
# updating the repository to rebuild ember-executor.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

EVCXR_VERSION=0.22.0
venv="$root/.venv-notebook"
export PATH="$HOME/.cargo/bin:$PATH"

# 1. evcxr and its Jupyter kernel. Both builds share one target directory (they
# share the evcxr crate and rust-analyzer's), which is removed afterwards.
missing=()
command -v evcxr >/dev/null 2>&1 || missing+=("evcxr_repl@$EVCXR_VERSION")
command -v evcxr_jupyter >/dev/null 2>&1 || missing+=("evcxr_jupyter@$EVCXR_VERSION")
if [ ${#missing[@]} -gt 0 ]; then
  tools_target=$(mktemp -d "${TMPDIR:-/tmp}/ember-evcxr-build.XXXXXX")
  echo "install-notebook: cargo install ${missing[*]} (about 10 minutes on 2 cores)"
  CARGO_TARGET_DIR="$tools_target" cargo install --locked --quiet "${missing[@]}"
  rm -rf "$tools_target"
fi
echo "install-notebook: $(evcxr --version 2>/dev/null | head -1 || echo evcxr)"

# 2. Jupyter in a virtual environment.
if [ ! -x "$venv/bin/jupyter-nbconvert" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "notebook>=7,<8" "nbconvert>=7,<8" "ipykernel>=6,<8"
fi

# 3. ember-executor, which a REPL's local-cluster backends run in. It only hosts
# the cells' code (compiled by evcxr), so the debug build that `cargo test`
# shares does as well as a release one.
cargo build --quiet -p ember-executor --bin ember-executor
executor="$root/target/debug/ember-executor"

# 4. The Rust kernel, registered in the environment (not in ~/.local), told
# where ember-executor is and where evcxr compiles: a directory kept between
# sessions (Ember's dependencies are compiled there once, not at every kernel
# start), pinned to the workspace's lock file. Two kernels running at once
# should each get their own EVCXR_TMPDIR. Not under $HOME: rustc computes the
# cell objects' relative RUNPATH to Rust's libstd one level off, which lands
# in / and works only when the directory shares no prefix with ~/.rustup.
cache="/var/tmp/ember-evcxr-$(id -u)"
mkdir -p "$cache"
[ -f "$cache/Cargo.lock" ] || cp Cargo.lock "$cache/Cargo.lock"
kernels="$venv/share/jupyter"
JUPYTER_PATH="$kernels" evcxr_jupyter --install >/dev/null
"$venv/bin/python" -c '
import json, sys
path, executor, cache = sys.argv[1:]
spec = json.load(open(path))
spec.setdefault("env", {}).update({"EMBER_EXECUTOR_BIN": executor, "EVCXR_TMPDIR": cache})
json.dump(spec, open(path, "w"), indent=1)
' "$kernels/kernels/rust/kernel.json" "$executor" "$cache"
echo "install-notebook: kernel 'rust' in $kernels (ember-executor: $executor, builds in $cache)"
echo "install-notebook: done; open the notebook with deploy/notebook.sh"
