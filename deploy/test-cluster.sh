#!/usr/bin/env bash
# The docker-compose cluster test (run by .ci/run after the unit tests):
# 3 executors, all reached through the one service name; k-means and wordcount
# results equal local[2]'s, wordcount (text) and kmeans (Parquet) also reading from the
# cluster's S3 service; an executor killed in the middle of a k-means job
# changes nothing; a container cut off the network mid-job does not stop the
# job (each checked to happen mid-job and to be seen by the driver). Every
# driver has a time limit, and the cluster is always torn down.
set -euo pipefail
source "$(dirname "$0")/throwaway-cluster.sh" embertest
log="$(mktemp -d)"
cleanup_paths+=("$log")

step() { echo "cluster test: $*" >&2; }
fail() { echo "cluster test FAILED: $*" >&2; exit 1; }
# The deterministic part of a k-means result line (timings removed).
kmeans_result() { tr ' ' '\n' | { grep -E '^(cost|iterations|center_error)=' || true; } | tr '\n' ' '; }
# Every driver gets a time limit (and then a KILL if it ignores the TERM).
limit=(timeout -k 30 900)
# The repository's conf/ember-defaults.conf is a developer's, not this test's.
export EMBER_SUBMIT_NO_DEFAULTS=1

start=$(date +%s%N)
"$cluster" up 3
step "cluster up in $(( ($(date +%s%N) - start) / 1000000 )) ms"

# Inputs visible to the driver container and to every executor.
for i in $(seq 1 200); do echo "the quick brown fox $i jumps over the lazy dog $((i % 7))"; done > "$EMBER_DATA_DIR/words.txt"
kmeans_args=(--rows 2000000 --cols 10 --k 8 --partitions 6 --seed 7)

# Runs `cluster.sh submit ARGS...` in the background, its stdout to $1.out
# and stderr to $1.err, with the driver's context log on; sets $job.
submit_in_background() {
  local out="$1"; shift
  EMBER_LOG="warn,ember::context=info" "${limit[@]}" "$cluster" submit "$@" < /dev/null > "$out.out" 2> "$out.err" &
  job=$!
}

# Waits until the background driver ($job, logging to $1.err) has its
# executors and has been computing for a second, so what follows happens
# in the middle of its job.
wait_until_computing() {
  local deadline=$((SECONDS + 300))
  until grep -q "context started" "$1.err" 2>/dev/null; do
    kill -0 "$job" 2>/dev/null || { cat "$1.err" >&2; fail "the driver ended before its context started"; }
    [ $SECONDS -lt $deadline ] || fail "the driver did not start within 300 s"
    sleep 0.2
  done
  sleep 1
  kill -0 "$job" 2>/dev/null || fail "the job ended before the fault was injected; give it more work"
}

# Waits for the background driver and checks it lost an executor and still
# gave the expected k-means result.
check_survived() {
  local what="$1" out="$2"
  wait "$job" || { cat "$out.err" >&2; fail "the kmeans job failed after $what"; }
  grep -q "executor lost" "$out.err" || { cat "$out.err" >&2; fail "the driver never lost an executor after $what"; }
  got="$(kmeans_result < "$out.out")"
  [ "$got" = "$expected_long" ] || fail "after $what: '$got', expected '$expected_long'"
}

step "wordcount on every executor the service name resolves to"
"$bin/wordcount" --master 'local[2]' "$EMBER_DATA_DIR/words.txt" > "$log/wc.local"
(cd "$EMBER_DATA_DIR" && EMBER_LOG="warn,ember::context=info" "${limit[@]}" "$cluster" submit wordcount /data/words.txt) \
  < /dev/null > "$log/wc.cluster" 2> "$log/wc.err"
cmp "$log/wc.local" "$log/wc.cluster" || fail "wordcount differs from local[2]"
grep -q "attached to standalone executors executors=3" "$log/wc.err" \
  || { cat "$log/wc.err" >&2; fail "ember://executor:7077 did not give the driver all 3 executors"; }

step "wordcount from the cluster's S3 service (s3://data/words.txt)"
"$cluster" put "$EMBER_DATA_DIR/words.txt" words.txt
EMBER_LOG="warn" "${limit[@]}" "$cluster" submit wordcount s3://data/words.txt \
  < /dev/null > "$log/wc.s3" 2> "$log/wc.s3.err" || { cat "$log/wc.s3.err" >&2; fail "wordcount from S3 failed"; }
cmp "$log/wc.local" "$log/wc.s3" || fail "wordcount from s3://data/words.txt differs from local[2]"

step "kmeans from Parquet in the cluster's S3 service (s3://data/points.parquet)"
pq_args=(--k 8 --seed 7)
"$bin/gen-points" --master 'local[2]' --rows 200000 --cols 10 --k 8 --seed 7 --partitions 4 "$log/points.parquet" \
  > /dev/null || fail "gen-points failed"
for f in "$log/points.parquet"/*; do "$cluster" put "$f" "points.parquet/$(basename "$f")"; done
expected_pq="$("$bin/kmeans" --master 'local[2]' "${pq_args[@]}" "$log/points.parquet" | kmeans_result)" \
  || fail "kmeans of the local Parquet file failed"
got_pq="$(EMBER_LOG=warn "${limit[@]}" "$cluster" submit kmeans "${pq_args[@]}" s3://data/points.parquet < /dev/null \
  2> "$log/pq.err" | kmeans_result)" || { cat "$log/pq.err" >&2; fail "kmeans of s3://data/points.parquet failed"; }
[ -n "$got_pq" ] && [ "$got_pq" = "$expected_pq" ] \
  || { cat "$log/pq.err" >&2; fail "kmeans of s3://data/points.parquet: '$got_pq', local: '$expected_pq'"; }

step "kmeans"
expected="$("$bin/kmeans" --master 'local[2]' "${kmeans_args[@]}" | kmeans_result)" || fail "kmeans in local[2] failed"
got="$("${limit[@]}" "$cluster" submit kmeans "${kmeans_args[@]}" < /dev/null | kmeans_result)" \
  || fail "kmeans on the cluster failed"
[ "$got" = "$expected" ] || fail "kmeans on the cluster: '$got', local[2]: '$expected'"

# A job long enough to be hit in the middle: all 300 iterations run (a
# negative tolerance never counts as converged; these blobs converge in two).
long_args=("${kmeans_args[@]}" --max-iterations 300 --tolerance -1)
expected_long="$("$bin/kmeans" --master 'local[2]' "${long_args[@]}" | kmeans_result)" \
  || fail "the long kmeans in local[2] failed"

step "kmeans with an executor killed mid-job"
submit_in_background "$log/killed" kmeans "${long_args[@]}"
wait_until_computing "$log/killed"
"$cluster" kill-executor 2
check_survived "an executor was killed" "$log/killed"

step "kmeans with an executor cut off the network mid-job"
"$cluster" scale 3
submit_in_background "$log/cut" kmeans "${long_args[@]}" --conf ember.network.timeout=5s
wait_until_computing "$log/cut"
docker network disconnect "${EMBER_COMPOSE_PROJECT}_default" "${EMBER_COMPOSE_PROJECT}_executor_3"
check_survived "an executor was disconnected" "$log/cut"

step "passed"
echo "1 passed, 0 failed"
