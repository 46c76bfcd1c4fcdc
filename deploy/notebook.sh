#!/usr/bin/env bash
# Opens Ember's example notebook in Jupyter, with the Rust (evcxr) kernel that
# deploy/install-notebook.sh installs. Extra arguments go to `jupyter notebook`
# (e.g. --no-browser --ip 0.0.0.0 on a remote machine).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-notebook/bin/jupyter ]; then
  echo "notebook: run deploy/install-notebook.sh first" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
exec .venv-notebook/bin/jupyter notebook examples/notebooks/explore.ipynb "$@"
