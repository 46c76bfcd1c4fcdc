#!/usr/bin/env bash
# The docker-compose cluster test (run by .ci/run after the unit tests):
# 3 executors; k-means and wordcount results equal local[2]'s; an executor
# killed in the middle of a k-means job changes nothing; a container cut off
# the network mid-job does not stop the job. The cluster is always torn down.
set -euo pipefail
source "$(dirname "$0")/throwaway-cluster.sh" embertest
log="$(mktemp -d)"
cleanup_paths+=("$log")

step() { echo "cluster test: $*" >&2; }
fail() { echo "cluster test FAILED: $*" >&2; exit 1; }
# The deterministic part of a k-means result line (timings removed).
kmeans_result() { tr ' ' '\n' | grep -E '^(cost|iterations|center_error)=' | tr '\n' ' '; }

start=$(date +%s%N)
"$cluster" up 3
step "cluster up in $(( ($(date +%s%N) - start) / 1000000 )) ms"

# Inputs visible to the driver container and to every executor.
for i in $(seq 1 200); do echo "the quick brown fox $i jumps over the lazy dog $((i % 7))"; done > "$EMBER_DATA_DIR/words.txt"
kmeans_args=(--rows 2000000 --cols 10 --k 8 --partitions 6 --seed 7)

step "wordcount"
"$bin/wordcount" --master 'local[2]' "$EMBER_DATA_DIR/words.txt" > "$log/wc.local"
(cd "$EMBER_DATA_DIR" && "$cluster" submit wordcount /data/words.txt) > "$log/wc.cluster"
cmp "$log/wc.local" "$log/wc.cluster" || fail "wordcount differs from local[2]"

step "kmeans"
expected="$("$bin/kmeans" --master 'local[2]' "${kmeans_args[@]}" | kmeans_result)"
got="$("$cluster" submit kmeans "${kmeans_args[@]}" | kmeans_result)"
[ "$got" = "$expected" ] || fail "kmeans on the cluster: '$got', local[2]: '$expected'"

step "kmeans with an executor killed mid-job"
"$cluster" submit kmeans "${kmeans_args[@]}" --max-iterations 40 > "$log/killed" &
job=$!
sleep 2
"$cluster" kill-executor 2
wait "$job" || fail "the kmeans job failed after an executor was killed"
got="$(kmeans_result < "$log/killed")"
[ "$got" = "$expected" ] || fail "after a kill: '$got', expected '$expected'"

step "kmeans with an executor cut off the network mid-job"
"$cluster" scale 3
"$cluster" submit kmeans "${kmeans_args[@]}" --conf ember.network.timeout=5000 > "$log/cut" &
job=$!
sleep 2
docker network disconnect "${EMBER_COMPOSE_PROJECT}_default" "${EMBER_COMPOSE_PROJECT}_executor_3"
wait "$job" || fail "the kmeans job failed after an executor was disconnected"
got="$(kmeans_result < "$log/cut")"
[ "$got" = "$expected" ] || fail "after a disconnect: '$got', expected '$expected'"

step "passed"
echo "1 passed, 0 failed"
