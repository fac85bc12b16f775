#!/usr/bin/env bash
# CI stage: bounded-time fuzzing of the parsers of outside input on the input side
# (kubeflow.yaml with placeholders, snapshot JSON, probe output, --param values, cron), with
# the stable-toolchain harness in fuzz/harness.rs (examples/fuzz.rs). Zero panics and no input
# over 1 s, else the stage fails and the inputs are in .ci/work/fuzz/ (move them to
# fuzz/regressions/<target>/ with the fix: tests/fuzz_regressions.rs replays them).
# KFPX_FUZZ_SECONDS sets the time per target (default 36; 5 targets, about 3 minutes). Needs nothing but cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${KFPX_FUZZ_SECONDS:-36}"
# A different seed each run explores more over time; it is printed to replay a failure.
seed="${KFPX_FUZZ_SEED:-$(date +%s)}"
echo "fuzz seed $seed, $seconds s per target"
mkdir -p .ci/work/fuzz
cargo run --quiet --example fuzz -- --seconds "$seconds" --seed "$seed" --out .ci/work/fuzz
