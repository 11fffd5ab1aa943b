#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need when it is missing
# (Debian packages, the Python clients, KafkaJS, Apache Kafka's jars,
# franz-go), builds the binaries the end-to-end tests start, runs every test
# binary to the end and closes with one line, `tests: N passed, M failed`.
# Exits non-zero if any step failed.
#
#   ./test.sh [--no-install | --prepare] [-- CARGO TEST ARGS...]
#
#   --no-install  only check the prerequisites; print the command that would
#                 install what is missing and stop
#   --prepare     install what is missing, then stop (CI does this before
#                 clippy, which needs a C compiler too)
#   -- ARGS       passed to `cargo test` (e.g. `-- -p kfk-e2e --test groups`)
set -euo pipefail
cd "$(dirname "$0")"

mode=run
cargo_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) mode=check; shift ;;
    --prepare) mode=prepare; shift ;;
    --) shift; cargo_args=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

# The Python clients the tests drive, and the Prometheus project's own parser
# that checks what kfkd serves on /metrics, pinned.
python_clients=("confluent-kafka==2.16.1" "kafka-python==3.0.12" "prometheus-client==0.26.0")
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

say() { echo "test.sh: $*" >&2; }

# Stops the run with the one command that would install what is missing.
stop_with() {
  say "$1"
  say "install it with:"
  echo "    $2" >&2
  exit 2
}

# Whether this process may install system packages, and how.
sudo_prefix() {
  if [ "$(id -u)" -eq 0 ]; then
    echo ""
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "sudo "
  else
    return 1
  fi
}

command -v cargo >/dev/null ||
  stop_with "cargo is missing" "curl --proto '=https' -sSf https://sh.rustup.rs | sh"

# --- Debian packages: command -> package --------------------------------------
# kcat (librdkafka) drives kfkd in the end-to-end tests; a C compiler builds the
# compression crates; tmux is the real terminal of the REPL and prompt tests;
# zsh loads the completion script; Node.js runs KafkaJS; a JDK and Maven run
# Apache Kafka's own tools and clients; iproute2's ip and tc build the
# multi-host tests' network namespaces.
apt_needed=()
need_cmd() { command -v "$1" >/dev/null || apt_needed+=("$2"); }
need_cmd kcat kcat
need_cmd cc build-essential
need_cmd tmux tmux
need_cmd zsh zsh
need_cmd node nodejs
need_cmd npm npm
need_cmd python3 python3
need_cmd javac openjdk-17-jdk-headless
need_cmd mvn maven
need_cmd ip iproute2
need_cmd tc iproute2
if command -v python3 >/dev/null && ! python3 -m pip --version >/dev/null 2>&1; then
  apt_needed+=(python3-pip)
fi

if [ ${#apt_needed[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    stop_with "missing: ${apt_needed[*]} (Debian package names)" \
      "your package manager's equivalent of: apt-get install ${apt_needed[*]}"
  fi
  if [ "$mode" = check ] || ! sudo=$(sudo_prefix); then
    sudo=$(sudo_prefix || echo "sudo ")
    stop_with "missing Debian packages: ${apt_needed[*]}" \
      "${sudo}apt-get update && ${sudo}apt-get install -y ${apt_needed[*]}"
  fi
  say "installing ${apt_needed[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { ${sudo}apt-get update -q && ${sudo}apt-get install -y -q "${apt_needed[@]}"; }; then
    stop_with "apt-get could not install ${apt_needed[*]} (no network?)" \
      "${sudo}apt-get update && ${sudo}apt-get install -y ${apt_needed[*]}"
  fi
fi

# --- Python clients -------------------------------------------------------------
python_ok() {
  python3 - "${python_clients[@]}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    if version(name) != want:
        sys.exit(1)
EOF
}
if ! python_ok; then
  pip_cmd="python3 -m pip install --quiet ${python_clients[*]}"
  [ "$mode" = check ] && stop_with "missing Python clients: ${python_clients[*]}" "$pip_cmd"
  say "installing ${python_clients[*]}"
  $pip_cmd || stop_with "pip could not install ${python_clients[*]} (no network?)" "$pip_cmd"
fi

# --- KafkaJS (pinned by tests/node/package-lock.json) ----------------------------
if [ ! -d tests/node/node_modules/kafkajs ]; then
  npm_cmd="(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)"
  [ "$mode" = check ] && stop_with "KafkaJS is not installed in tests/node" "$npm_cmd"
  say "installing KafkaJS in tests/node"
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error) ||
    stop_with "npm could not install KafkaJS (no network?)" "$npm_cmd"
fi

# --- Apache Kafka's jars (Maven Central, pinned by tests/java/pom.xml) ------------
# Kept under target/ (target/m2 is Maven's cache of them), built again when the
# pom or the tool driver changed.
java_stamp=target/java/lib/.complete
java_newest=$(find tests/java -type f -newer "$java_stamp" 2>/dev/null | head -n 1 || true)
if [ ! -e "$java_stamp" ] || [ -n "$java_newest" ]; then
  mvn_cmd="mvn -q -B -f tests/java/pom.xml -Dmaven.repo.local=$PWD/target/m2 package"
  [ "$mode" = check ] && stop_with "Apache Kafka's jars are not in target/java" "$mvn_cmd"
  say "fetching Apache Kafka's jars from Maven Central into target/java"
  rm -rf target/java/lib
  $mvn_cmd || stop_with "Maven could not fetch Apache Kafka's jars (no network?)" "$mvn_cmd"
  touch "$java_stamp"
fi

# --- franz-go (the Go module proxy, pinned by tests/go/go.sum) --------------------
# Go itself is not taken from Debian (bookworm's is too old for franz-go).
command -v go >/dev/null ||
  stop_with "Go is missing (franz-go's tests need Go 1.26 or newer)" "see https://go.dev/doc/install"
if [ ! -d target/go/mod/github.com/twmb ]; then
  go_cmd="(cd tests/go && GOMODCACHE=$PWD/target/go/mod go mod download)"
  [ "$mode" = check ] && stop_with "franz-go is not in target/go" "$go_cmd"
  say "fetching franz-go from the Go module proxy into target/go"
  (cd tests/go && GOMODCACHE="$PWD/../../target/go/mod" go mod download) ||
    stop_with "go could not fetch franz-go (no network?)" "$go_cmd"
fi

[ "$mode" = run ] || { say "prerequisites are in place"; exit 0; }

# --- Build, then every test binary to the end -------------------------------------
started=$(date +%s)
# The end-to-end tests start the real kfk and kfkd from target/debug.
if ! cargo build --workspace --bins --locked; then
  say "the build failed, so no test ran"
  exit 1
fi
built=$(date +%s)

test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast "${cargo_args[@]}" 2>&1 | tee "$test_log"
status=${PIPESTATUS[0]}
set -e
finished=$(date +%s)

read -r passed failed < <(awk '
  /^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^passed;?$/) p += $(i - 1)
      if ($i ~ /^failed;?$/) f += $(i - 1)
    }
  }
  END { print p + 0, f + 0 }' "$test_log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A binary that crashed or did not compile leaves no result line.
  say "cargo test exited with $status without a failed test: a test binary did not build or did not finish (see above)"
  failed=1
fi
say "build $((built - started)) s, tests $((finished - built)) s"
echo "tests: $passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
