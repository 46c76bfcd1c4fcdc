#!/usr/bin/env bash
# Executes examples/notebooks/explore.ipynb end to end with the evcxr Jupyter
# kernel (jupyter nbconvert --execute, as a user's "Run all") on a
# local-cluster[2], and checks its outputs. Needs deploy/install-notebook.sh
# first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv-notebook"
export PATH="$HOME/.cargo/bin:$PATH"

if [ ! -x "$venv/bin/jupyter" ]; then
  echo "test-notebook: no Jupyter in $venv; run deploy/install-notebook.sh first" >&2
  exit 1
fi
# The kernel (deploy/install-notebook.sh) runs target/debug/ember-executor
# and compiles in /var/tmp/ember-evcxr-$UID, as does the REPL test
# (executor/tests/repl.rs): Ember is compiled there once per machine.
[ -x target/debug/ember-executor ] || cargo build --quiet -p ember-executor --bin ember-executor

out=$(mktemp -d "${TMPDIR:-/tmp}/ember-notebook.XXXXXX")
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
"$venv/bin/jupyter" nbconvert --to notebook --execute \
  --ExecutePreprocessor.kernel_name=rust \
  --ExecutePreprocessor.timeout=1800 \
  --output-dir "$out" --output explore.ipynb \
  examples/notebooks/explore.ipynb
echo "test-notebook: executed in $(($(date +%s) - start)) s"

"$venv/bin/python" - "$out/explore.ipynb" <<'EOF'
import json, re, sys

nb = json.load(open(sys.argv[1]))
text = []
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code":
        continue
    for output in cell.get("outputs", []):
        if output["output_type"] == "error":
            sys.exit(f"cell {i} failed: {output.get('ename')}: {output.get('evalue')}")
        if output["output_type"] == "stream":
            text.append(output["text"] if isinstance(output["text"], str) else "".join(output["text"]))
        for mime in ("text/plain", "text/html"):
            data = output.get("data", {}).get(mime)
            if data:
                text.append(data if isinstance(data, str) else "".join(data))
out = "".join(text)

def need(pattern, what):
    m = re.search(pattern, out)
    if not m:
        sys.exit(f"the notebook's outputs lack {what} ({pattern!r}):\n{out}")
    return m

need(r"rows: 60000\b", "the row count")
labels = need(r"label 1: (\d+), label 0: (\d+)", "the label counts")
assert int(labels[1]) + int(labels[2]) == 60000, labels[0]
need(r"\|\s*#+\s+\d+", "a histogram")
need(r"elbow at k = 3\b", "the k-means elbow at the three generated clusters")
accuracy = float(need(r"accuracy: ([0-9.]+)", "the logistic regression's accuracy")[1])
assert accuracy > 0.97, f"accuracy {accuracy}"
need(r"R is 4x4", "R's shape")
need(r"column norms agree: true", "R's column norms equal to the data's")
need(r"sum of all features: -?[0-9.]+", "the future's result")
need(r"stopped", "the last cell")
print("test-notebook: outputs checked")
EOF
