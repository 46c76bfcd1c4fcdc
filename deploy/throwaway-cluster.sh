# Sourced (not run) by test-cluster.sh and bench-cluster.sh, which each start
# a compose cluster of their own and always tear it down:
#
#   source "$(dirname "$0")/throwaway-cluster.sh" PROJECT_PREFIX
#
# sets here (deploy/), root (the repository), cluster (cluster.sh), bin (the
# static release binaries), and exports for cluster.sh a project named
# PROJECT_PREFIX + this shell's pid, a fresh data directory and a secret file
# in it. On exit the cluster goes down and the data directory is removed,
# with any paths the script adds to cleanup_paths.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export EMBER_COMPOSE_PROJECT="$1$$"
export EMBER_DATA_DIR="$(mktemp -d)"
export EMBER_SECRET_FILE="$EMBER_DATA_DIR/.secret"
cluster="$here/cluster.sh"
bin="$root/target/x86_64-unknown-linux-gnu/release"
cleanup_paths=()

throwaway_cluster_down() {
  "$cluster" down >/dev/null 2>&1 || true
  rm -rf "$EMBER_DATA_DIR" ${cleanup_paths[@]+"${cleanup_paths[@]}"}
}
trap throwaway_cluster_down EXIT
