#!/usr/bin/env bash
# Whole-process benchmarks of the kfpx binary: wall time (hyperfine) and peak memory
# (/usr/bin/time -v), printed as a Markdown table. Installs hyperfine and GNU time from Debian's
# packages when missing. Usage: scripts/bench.sh [--quick]
#   --quick: fewer runs (for a smoke check; the figures in BENCHMARKS.md use the default).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=30
[ "${1:-}" = "--quick" ] && runs=5

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
trap 'rm -rf "$work"' EXIT

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
