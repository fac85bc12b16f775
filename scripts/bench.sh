#!/usr/bin/env bash
# Whole-process benchmarks of the kfpx binary: wall time (hyperfine) and peak memory
# (/usr/bin/time -v), printed as a Markdown table. Installs hyperfine and GNU time from Debian's
# packages when missing. Usage: scripts/bench.sh [--quick] [--no-cold]
#   --quick: fewer runs (for a smoke check; the figures in BENCHMARKS.md use the default).
#   --no-cold: skip the second table (cold and warm compile of a real Kedro project against
#     kedro-kubeflow), which needs a venv with Kedro and kedro-kubeflow: it is created under
#     .ci/work/bench-kedro-kubeflow on first use (pip, a few minutes once).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=30
cold=1
for arg in "$@"; do
  case $arg in
    --quick) runs=5 ;;
    --no-cold) cold=0 ;;
    *) echo "usage: scripts/bench.sh [--quick] [--no-cold]" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || [ ! -x /usr/bin/time ]; then
  echo "installing hyperfine and time from Debian's packages" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq hyperfine time >/dev/null
fi

cargo build --release --quiet --bin kfpx --example synth_snapshot
kfpx="$PWD/target/release/kfpx"
work=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

# Inputs: generated 1k and 10k snapshots; conf-example (its config and committed snapshot).
target/release/examples/synth_snapshot 1000 > "$work/synth-1k.json"
target/release/examples/synth_snapshot 10000 > "$work/synth-10k.json"
example_snapshot=conf-example/kfpx-snapshot.json

# A minimal project for the synthetic graphs: conf-example's on-exit pipeline and per-node
# keys name spaceflights pipelines and nodes.
mkdir -p "$work/synth/conf/base"
printf '[tool.kedro]\nproject_name = "synthetic"\npackage_name = "synthetic"\n' > "$work/synth/pyproject.toml"
cat > "$work/synth/conf/base/kubeflow.yaml" <<YAML
host: https://kubeflow.example.com/pipeline
run_config:
  image: registry.example.com/synthetic:1
  experiment_name: synthetic
  run_name: synthetic
YAML

# A project copy whose graph comes through the probe + cache path. Its "interpreter" is a stub
# that prints the snapshot (no Kedro here); after the first run the cache answers and no
# process is started.
cp -r conf-example "$work/cached"
rm -rf "$work/cached/.kfpx"
cat > "$work/fake-python" <<STUB
#!/bin/sh
cat "$PWD/$example_snapshot"
STUB
chmod +x "$work/fake-python"
mv "$work/cached/kfpx-snapshot.json" "$work/cached-snapshot.json" 2>/dev/null || true
"$kfpx" -q -C "$work/cached" --python "$work/fake-python" graph >/dev/null

declare -a names cmds
add() { names+=("$1"); cmds+=("$2"); }
add "kfpx --help" "$kfpx --help"
add "compile conf-example (v2 IR)" "$kfpx -q -C conf-example compile --snapshot $example_snapshot -o $work/out.yaml"
add "compile conf-example (Argo)" "$kfpx -q -C conf-example compile --snapshot $example_snapshot --kfp-version 1 -o $work/out.yaml"
for n in 1k 10k; do
  for v in 2 1; do
    label="IR"; [ $v = 1 ] && label="Argo"
    add "compile $n nodes ($label)" "$kfpx -q -C $work/synth compile --snapshot $work/synth-$n.json --merge-strategy none --allow-memory-datasets --kfp-version $v -o $work/out.yaml"
  done
done
add "graph conf-example (cached probe)" "$kfpx -q -C $work/cached --python $work/fake-python graph"

printf '| command | wall mean | ± σ | min | peak RSS |\n|---|---|---|---|---|\n'
for i in "${!names[@]}"; do
  json="$work/h$i.json"
  hyperfine --style none --shell=none --warmup 3 --runs "$runs" --export-json "$json" "${cmds[$i]}" >/dev/null 2>&1 \
    || { echo "| ${names[$i]} | FAILED: ${cmds[$i]} | | | |"; continue; }
  read -r mean sd min < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f %.1f" % (r["mean"]*1e3, r["stddev"]*1e3, r["min"]*1e3))' "$json")
  # shellcheck disable=SC2086
  /usr/bin/time -v -o "$work/time.txt" ${cmds[$i]} >/dev/null 2>&1 || true
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f MiB", $2/1024}' "$work/time.txt")
  printf '| %s | %s ms | %s | %s ms | %s |\n' "${names[$i]}" "$mean" "$sd" "$min" "$rss"
done
printf '\nbinary: %s bytes (release, %s)\n' "$(stat -c %s "$kfpx")" "$(uname -m)"

[ "$cold" = 1 ] || exit 0

# ---------------------------------------------------------------------------------------------
# Cold start (issue 14): compiling tests/kedro_project (a spaceflights-like project, 7 nodes whose
# modules import pandas) with no kfpx cache (--refresh: the probe runs, with real Kedro) and
# with it (warm), beside kedro-kubeflow compiling the same project and the floor, importing
# Kedro's session module. Same interpreter for all: a venv with Kedro 1.7.0, kedro-datasets and
# kedro-kubeflow 0.11.0 (its latest release; it needs kfp 1.8 and accepts Kedro 1.x).
venv=.ci/work/bench-kedro-kubeflow
if ! "$venv/bin/python" -c 'import kedro_kubeflow, kedro_datasets, pandas' 2>/dev/null; then
  echo "creating $venv (kedro-kubeflow 0.11.0, kfp 1.8.22, Kedro 1.7.0)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kedro-kubeflow==0.11.0" "kfp==1.8.22" \
    "kedro==1.7.0" "kedro-datasets[pandas-csvdataset,pandas-parquetdataset,pickle-pickledataset]"
fi
py="$PWD/$venv/bin/python"

# kedro-kubeflow's compile builds a kfp client, which calls the server's healthz: a stub
# answers on loopback.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"multi_user": false}'
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
server_pid=$!

proj="$work/cold"
cp -r tests/kedro_project "$proj"
rm -rf "$proj/.kfpx" "$proj"/data/0[2-8]_*
version=$("$py" -c 'import kedro; print(kedro.__version__)')
sed -i "s/^kedro_init_version = .*/kedro_init_version = \"$version\"/" "$proj/pyproject.toml"
# Namespaced dataset names break kedro-kubeflow's artifact outputs (its issue #160):
# store_kedro_outputs_as_kfp_artifacts: false is its documented workaround.
cat > "$proj/conf/base/kubeflow.yml" <<YAML
host: http://127.0.0.1:$port
run_config:
  image: registry.example.com/spaceflights-mini:1
  experiment_name: spaceflights-mini
  run_name: spaceflights-mini
  store_kedro_outputs_as_kfp_artifacts: false
YAML
export KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
cold_runs=$(( runs < 10 ? runs : 10 ))
kfpx_compile="$kfpx -q -C $proj --python $py compile --kfp-version 1 --allow-memory-datasets -o $work/cold.yaml"
for _ in 1 2 3; do "$py" -c pass; done # warm the OS file cache for the venv
$kfpx_compile >/dev/null # fills the cache for the warm row

declare -a cnames ccmds
cadd() { cnames+=("$1"); ccmds+=("$2"); }
cadd "floor: python -c 'import kedro.framework.session'" "$py -c 'import kedro.framework.session'"
cadd "kedro-kubeflow 0.11.0: kedro kubeflow compile" "$py -m kedro kubeflow compile -o $work/kk.yml"
cadd "kfpx compile, cold (probe, lite mode)" "$kfpx_compile --refresh"
cadd "kfpx compile, cold (probe, KFPX_PROBE_MODE=full)" "env KFPX_PROBE_MODE=full $kfpx_compile --refresh"
cadd "kfpx compile, warm (cached snapshot)" "$kfpx_compile"

printf '\nCold start: tests/kedro_project with Kedro %s (%s runs each)\n\n' "$version" "$cold_runs"
printf '| command | wall mean | ± σ | min | peak RSS |\n|---|---|---|---|---|\n'
for i in "${!cnames[@]}"; do
  json="$work/c$i.json"
  (cd "$proj" && hyperfine --style none --warmup 2 --runs "$cold_runs" --export-json "$json" "${ccmds[$i]}" >/dev/null 2>&1) \
    || { echo "| ${cnames[$i]} | FAILED: ${ccmds[$i]} | | | |"; continue; }
  read -r mean sd min < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f %.1f" % (r["mean"]*1e3, r["stddev"]*1e3, r["min"]*1e3))' "$json")
  (cd "$proj" && /usr/bin/time -v -o "$work/time.txt" sh -c "${ccmds[$i]}" >/dev/null 2>&1) || true
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f MiB", $2/1024}' "$work/time.txt")
  printf '| %s | %s ms | %s | %s ms | %s |\n' "${cnames[$i]}" "$mean" "$sd" "$min" "$rss"
done
