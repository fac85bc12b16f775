#!/usr/bin/env bash
# Benchmark of `kfpx runs list` over many runs (issue 18: 5,000 runs within 1 s) against the
# fake KFP server of the tests (examples/fake_kfp_server.rs) on loopback: whole-process wall
# time with hyperfine, `--all` (every run) and the project-scoped list (which also reads the
# pipeline list and filters), JSON output (no terminal fitting). Usage:
#   scripts/bench-runs.sh [--quick] [--debug] [RUNS]
#   --quick: 3 runs instead of 10; --debug: the debug build (no release build: quick on a busy
#   machine, slower figures); RUNS: how many runs the server holds (default 5000).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10
profile=release
n=5000
for arg in "$@"; do
  case $arg in
    --quick) runs=3 ;;
    --debug) profile=debug ;;
    [0-9]*) n=$arg ;;
    *) echo "usage: scripts/bench-runs.sh [--quick] [--debug] [RUNS]" >&2; exit 2 ;;
  esac
done

if ! command -v hyperfine >/dev/null 2>&1; then
  echo "installing hyperfine from Debian's packages" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq hyperfine >/dev/null
fi

flag=""; [ "$profile" = release ] && flag="--release"
cargo build $flag --quiet --bin kfpx --example fake_kfp_server
target="${CARGO_TARGET_DIR:-$PWD/target}"
kfpx="$target/$profile/kfpx"
server="$target/$profile/examples/fake_kfp_server"

work=$(mktemp -d)
fifo="$work/stdin"
mkfifo "$fifo"
"$server" "$n" <"$fifo" >"$work/url" &
server_pid=$!
exec 3>"$fifo" # keeps the server's stdin open until this script ends
trap 'exec 3>&-; wait "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(cat "$work/url")

# A project named `bench` for the scoped list (its runs are the server's runs).
mkdir -p "$work/project/conf/base"
printf '[tool.kedro]\npackage_name = "bench"\nproject_name = "bench"\nkedro_init_version = "1.0.0"\n' \
  >"$work/project/pyproject.toml"
printf 'host: %s\nrun_config:\n  image: bench:1\n  experiment_name: bench-exp\n  run_name: bench\n' "$url" \
  >"$work/project/conf/base/kubeflow.yaml"

count=$("$kfpx" -q runs list --all --host "$url" -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$count" = "$n" ] || { echo "expected $n runs, kfpx listed $count" >&2; exit 1; }

echo "runs list over $n runs ($profile build, fake KFP on loopback, $(nproc) cores)"
hyperfine --style basic --warmup 1 --runs "$runs" \
  -n "runs list --all -o json" "$kfpx -q runs list --all --host $url -o json" \
  -n "runs list (this project) -o json" "$kfpx -q -C $work/project runs list -o json"
