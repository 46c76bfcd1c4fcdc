#!/usr/bin/env bash
# Runs a standing Ember cluster with docker-compose on this machine.
#
#   deploy/cluster.sh up N                  build the images, start N executors and the s3 service
#   deploy/cluster.sh submit [OPTIONS] APP [ARGS...]
#                                           run a driver program against the cluster
#                                           (APP: a static binary's path, or an example
#                                           name such as kmeans); its stdout is the program's.
#                                           OPTIONS are ember-submit's (--conf k=v,
#                                           --executor-cores N, --num-executors N, ...)
#   deploy/cluster.sh put FILE [KEY]        make FILE the object s3://data/KEY (default: its name)
#   deploy/cluster.sh scale N               change the number of executors
#   deploy/cluster.sh kill-executor I       SIGKILL executor container I (1-based)
#   deploy/cluster.sh logs                  the executors' and the s3 service's logs
#   deploy/cluster.sh down                  stop and remove everything
#
# Binaries are built fully static (glibc, crt-static) so they run in the FROM
# scratch image; data shared by the driver and the executors goes in
# deploy/data (mounted at /data). The shared secret is generated into
# deploy/.secret and mounted as a file: it never appears in a command line.
# The s3 service (http://s3:9000, access key `ember`, secret key = the shared
# secret) keeps its objects under deploy/data/s3 (bucket data = s3/data/);
# `submit` gives drivers its endpoint and keys as AWS_* variables from an
# env file (never on a command line): `submit kmeans s3://data/points.parquet`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
project="${EMBER_COMPOSE_PROJECT:-ember}"
target="x86_64-unknown-linux-gnu"
bin_dir="$root/target/$target/release"
compose=(docker-compose -p "$project" -f "$here/docker-compose.yml")
export EMBER_DATA_DIR="${EMBER_DATA_DIR:-$here/data}"
export EMBER_SECRET_FILE="${EMBER_SECRET_FILE:-$here/.secret}"

die() { echo "cluster.sh: $*" >&2; exit 1; }

build_static() {
  echo "cluster.sh: building static binaries (this takes a while the first time)" >&2
  (cd "$root" && RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target "$target" \
      -p ember-executor -p ember -p ember-examples -p ember-s3-server --features ember-examples/parquet >&2)
}

build_image() {
  local ctx
  ctx="$(mktemp -d)"
  cp "$bin_dir/ember-executor" "$bin_dir/ember-submit" "$ctx/"
  cp "$here/Dockerfile" "$ctx/"
  docker build -q -t ember-executor:latest "$ctx" >/dev/null
  rm -rf "$ctx"
  ctx="$(mktemp -d)"
  cp "$bin_dir/ember-s3-server" "$ctx/"
  cp "$here/s3.Dockerfile" "$ctx/Dockerfile"
  docker build -q -t ember-s3:latest "$ctx" >/dev/null
  rm -rf "$ctx"
}

ensure_secret() {
  if [ ! -s "$EMBER_SECRET_FILE" ]; then
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$EMBER_SECRET_FILE")
  fi
}

# Waits until N executor daemons accept connections on port 7077 (at most
# 60 s), so that a driver submitted next finds them all. Where the host
# cannot reach container addresses (Docker Desktop, rootless Docker), it
# says so and goes on: drivers then rely on their rescans.
wait_listening() {
  local n="$1" deadline=$((SECONDS + 60)) up ip
  while :; do
    up=0
    for c in $("${compose[@]}" ps -q executor); do
      ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$c" 2>/dev/null \
            | awk '{print $1}')" || ip=""
      if [ -n "$ip" ] && timeout 1 bash -c "exec 3<>/dev/tcp/$ip/7077" 2>/dev/null; then
        up=$((up + 1))
      fi
    done
    [ "$up" -ge "$n" ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster.sh: warning: only $up of $n executors answer on 7077 after 60 s (see: cluster.sh logs)" >&2
      return 0
    fi
    sleep 0.2
  done
}

# Waits until the s3 service accepts connections on port 9000 (at most 30 s;
# as above, where container addresses are unreachable it says so and goes on).
wait_s3_listening() {
  local deadline=$((SECONDS + 30)) c ip
  c="$("${compose[@]}" ps -q s3)"
  [ -n "$c" ] || die "the s3 service did not start (see: cluster.sh logs)"
  while :; do
    ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$c" 2>/dev/null \
          | awk '{print $1}')" || ip=""
    if [ -n "$ip" ] && timeout 1 bash -c "exec 3<>/dev/tcp/$ip/9000" 2>/dev/null; then
      return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster.sh: warning: the s3 service does not answer on 9000 after 30 s (see: cluster.sh logs)" >&2
      return 0
    fi
    sleep 0.2
  done
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up)
    n="${1:-3}"
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "up N: N must be a positive number, got '$n'"
    if [ -z "${EMBER_NO_BUILD:-}" ]; then   # set it to reuse the built binaries and image
      build_static
      build_image
    fi
    ensure_secret
    mkdir -p "$EMBER_DATA_DIR/s3/data"
    "${compose[@]}" up -d --scale "executor=$n" >&2
    wait_listening "$n"
    wait_s3_listening
    ;;
  scale)
    n="${1:?scale N}"
    "${compose[@]}" up -d --no-recreate --scale "executor=$n" >&2
    wait_listening "$n"
    ;;
  submit)
    # ember-submit's own options come first (each --flag VALUE or --flag=VALUE).
    opts=()
    mounts=()
    while [ $# -gt 0 ] && [[ "$1" == --* ]]; do
      case "$1" in
        --master|--master=*) die "submit: the master is the compose cluster (ember://executor:7077)" ;;
        --properties-file|--properties-file=*)
          # A host file: mounted into the driver's container.
          if [[ "$1" == *=* ]]; then file="${1#*=}"; shift; else [ $# -ge 2 ] || die "submit: $1 needs a value"; file="$2"; shift 2; fi
          [ -f "$file" ] || die "submit: --properties-file $file: no such file"
          mounts+=(-v "$(cd "$(dirname "$file")" && pwd)/$(basename "$file"):/run/ember/properties.conf:ro")
          opts+=(--properties-file /run/ember/properties.conf) ;;
        --*=*) opts+=("$1"); shift ;;
        *) [ $# -ge 2 ] || die "submit: $1 needs a value"; opts+=("$1" "$2"); shift 2 ;;
      esac
    done
    app="${1:?submit [OPTIONS] APP [ARGS...]}"; shift
    if [ ! -f "$app" ]; then
      [ -x "$bin_dir/$app" ] || die "submit: '$app' is neither a file nor a built example (looked in $bin_dir)"
      app="$bin_dir/$app"
    fi
    app="$(cd "$(dirname "$app")" && pwd)/$(basename "$app")"
    # The repository's conf/ember-defaults.conf, if any, is the defaults file
    # (unless EMBER_SUBMIT_NO_DEFAULTS is set, as the CI cluster test does).
    if [ -f "$root/conf/ember-defaults.conf" ] && [ -z "${EMBER_SUBMIT_NO_DEFAULTS:-}" ]; then
      mounts+=(-v "$root/conf:/conf:ro" -e EMBER_CONF_DIR=/conf)
    fi
    # The s3 service's endpoint and keys, as the standard AWS variables
    # (ember.s3.* keys given with --conf still win), from an env file that
    # only this user can read: the secret never appears in a command line.
    [ -s "$EMBER_SECRET_FILE" ] || die "submit: no secret in $EMBER_SECRET_FILE (start the cluster with: cluster.sh up N)"
    s3_env="$(umask 077; mktemp)"
    trap 'rm -f "$s3_env"' EXIT
    printf 'AWS_ENDPOINT_URL=http://s3:9000\nAWS_ACCESS_KEY_ID=ember\nAWS_SECRET_ACCESS_KEY=%s\nAWS_REGION=us-east-1\n' \
      "$(cat "$EMBER_SECRET_FILE")" > "$s3_env"
    # Labelled with the project, so that `down` removes a driver left running;
    # --init forwards signals to the program (PID 1 would ignore SIGTERM).
    docker run --rm -i --init --network "${project}_default" --label "ember.project=$project" \
      -v "$app:/app/$(basename "$app"):ro" \
      -v "$EMBER_SECRET_FILE:/run/secrets/ember_secret:ro" \
      -v "$EMBER_DATA_DIR:/data" \
      ${mounts[@]+"${mounts[@]}"} \
      --env-file "$s3_env" \
      -e EMBER_LOG \
      --entrypoint /ember-submit ember-executor:latest \
      --master "ember://executor:7077" --conf ember.auth.secretFile=/run/secrets/ember_secret \
      ${opts[@]+"${opts[@]}"} "/app/$(basename "$app")" -- "$@"
    ;;
  put)
    # s3s-fs serves the files under the bucket's directory as its objects.
    file="${1:?put FILE [KEY]}"; key="${2:-$(basename "$file")}"
    [ -f "$file" ] || die "put: $file: no such file"
    [[ "$key" != /* && "$key" != *..* ]] || die "put: the key '$key' must be relative, without '..'"
    mkdir -p "$(dirname "$EMBER_DATA_DIR/s3/data/$key")"
    cp "$file" "$EMBER_DATA_DIR/s3/data/$key"
    ;;
  kill-executor)
    i="${1:?kill-executor I}"
    docker kill -s KILL "${project}_executor_${i}" >/dev/null
    ;;
  logs)
    "${compose[@]}" logs --no-color
    ;;
  down)
    drivers="$(docker ps -aq --filter "label=ember.project=$project")"
    [ -z "$drivers" ] || docker rm -f $drivers >/dev/null
    "${compose[@]}" down -v --remove-orphans >&2
    ;;
  *)
    sed -n '2,23p' "$0" >&2
    exit 2
    ;;
esac
