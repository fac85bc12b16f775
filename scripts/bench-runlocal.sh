#!/usr/bin/env bash
# Benchmark of `kfpx run-local` on a 1,000-node synthetic graph (benches/support/synth.rs: 20 layers of
# 50 nodes, merge strategy none, so 1,000 tasks) with stub interpreters (shell scripts named
# `kedro` and `python`), printed as a Markdown table:
#   1. overhead per task: run-local with -j 1 and stubs that exit at once, minus the same
#      number of the tasks' own processes started by a shell loop (`bash -c 'export … && python
#      -c … && kedro run --nodes …'`, what each pod runs); divided by the number of tasks;
#   2. parallelism: a stub `kedro` that sleeps 0.2 s, -j 50 (the graph's width): the run should
#      take about its critical path (20 layers x 0.2 s = 4 s), not the sum (1,000 x 0.2 s);
#   3. the floor of 2: the same processes started by `xargs -P 50` with no dependencies at all
#      (so never slower than any order the graph allows): what this machine's cores make of
#      1,000 tasks' own processes, 50 at a time, with no kfpx in the way.
# Takes well under a minute once built. Usage: scripts/bench-runlocal.sh [NODES]
# KFPX_BENCH_PROFILE=dev measures the debug build (quicker to build; an upper bound);
# CARGO_TARGET_DIR is honoured (e.g. a build with symbols for `perf`); KFPX_BENCH_BIN=DIR
# measures the kfpx (and examples/synth_snapshot) already built in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-1000}

if [ -n "${KFPX_BENCH_BIN:-}" ]; then
  bin=$KFPX_BENCH_BIN # a directory holding kfpx and examples/synth_snapshot, already built
elif [ "${KFPX_BENCH_PROFILE:-release}" = dev ]; then
  cargo build --quiet --bin kfpx --example synth_snapshot
  bin=${CARGO_TARGET_DIR:-target}/debug
else
  cargo build --release --quiet --bin kfpx --example synth_snapshot
  bin=${CARGO_TARGET_DIR:-target}/release
fi
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
kfpx="$bin/kfpx"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

$bin/examples/synth_snapshot "$nodes" >"$work/synth.json"
proj="$work/synth"
mkdir -p "$proj/conf/base" "$proj/data/01_raw"
printf '[tool.kedro]\nproject_name = "synthetic"\npackage_name = "synthetic"\n' >"$proj/pyproject.toml"
cat >"$proj/conf/base/kubeflow.yaml" <<YAML
host: https://kubeflow.example.com/pipeline
run_config:
  image: registry.example.com/synthetic:1
  experiment_name: synthetic
  run_name: synthetic
YAML
for kind in fast slow; do
  mkdir -p "$work/$kind"
  printf '#!/bin/sh\nexit 0\n' >"$work/$kind/python"
  if [ $kind = fast ]; then
    printf '#!/bin/sh\nexit 0\n' >"$work/$kind/kedro"
  else
    printf '#!/bin/sh\nsleep 0.2\n' >"$work/$kind/kedro"
  fi
  chmod +x "$work/$kind/python" "$work/$kind/kedro"
done
"$kfpx" -q -C "$proj" --snapshot "$work/synth.json" compile --merge-strategy none \
  --allow-memory-datasets -o "$work/ir.yaml"
# One DAG task per node (node tasks share one executor, so executors are not counted).
tasks=$(grep -c 'componentRef:' "$work/ir.yaml")

# wall and CPU (user + sys of kfpx and every process it waited for) seconds of a command
measure() { /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" >/dev/null; awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$work/t"; }
calc() { python3 -c "print('%.1f' % ($1))"; }

# 1. Overhead per task.
read -r run_wall run_cpu < <(measure "$kfpx" -q -C "$proj" --python "$work/fast/python" run-local --file "$work/ir.yaml" -j 1 -o json)
cat >"$work/loop.sh" <<SH
export PATH="$work/fast:\$PATH"
# What each task's pod runs (see the IR): bash, the parameter dumper (python), kedro.
for i in \$(seq $tasks); do
  bash -c 'export KUBEFLOW_RUN_ID="\$1" && shift && python -c "x" "\$@" && kedro run --env local --pipeline __default__ --nodes "n\$1" --config config.yaml' kfpx id model yaml '{}'
done
SH
read -r own_wall own_cpu < <(measure bash "$work/loop.sh")
# The same task, one line of arguments per task for xargs (the floor of the parallel run).
task_sh='export KUBEFLOW_RUN_ID="$1" && shift && python -c "x" "$@" && kedro run --env local --pipeline __default__ --nodes "n$1" --config config.yaml'

# 2. Parallel run with a stub that takes 0.2 s.
read -r par_wall par_cpu < <(measure "$kfpx" -q -C "$proj" --python "$work/slow/python" run-local --file "$work/ir.yaml" -j 50 -o json)
layers=$(python3 -c "print(-(-$nodes // 50))")
# 3. Its floor: the same processes, 50 at a time, no dependencies, no kfpx.
cat >"$work/floor.sh" <<SH
export PATH="$work/slow:\$PATH"
seq $tasks | xargs -P 50 -I{} bash -c '$task_sh' kfpx id model yaml '{}'
SH
read -r floor_wall floor_cpu < <(measure bash "$work/floor.sh")

printf '| measure (%s tasks, load average %s) | wall | CPU |\n|---|---|---|\n' "$tasks" "$(cut -d' ' -f1 /proc/loadavg)"
printf '| run-local -j 1, stubs exit at once | %s s | %s s |\n' "$run_wall" "$run_cpu"
printf '| the same processes from a shell loop | %s s | %s s |\n' "$own_wall" "$own_cpu"
printf '| **overhead per task** | **%s ms** | **%s ms** |\n' "$(calc "($run_wall - $own_wall) * 1000 / $tasks")" "$(calc "($run_cpu - $own_cpu) * 1000 / $tasks")"
printf '| run-local -j 50, stub kedro sleeps 0.2 s | %s s | %s s |\n' "$par_wall" "$par_cpu"
printf '| floor: the same processes from `xargs -P 50`, no dependencies | %s s | %s s |\n' "$floor_wall" "$floor_cpu"
printf '| **run-local over its floor** | **%s s** | **%s s** |\n' "$(calc "$par_wall - $floor_wall")" "$(calc "$par_cpu - $floor_cpu")"
printf '| critical path (%s layers x 0.2 s) / sum of task times | %s s / %s s | |\n' "$layers" "$(calc "$layers * 0.2")" "$(calc "$tasks * 0.2")"
