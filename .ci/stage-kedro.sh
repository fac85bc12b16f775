#!/usr/bin/env bash
# CI stage: the Kedro probe against real Kedro.
#
# Creates two venvs under .ci/work/ (latest Kedro 1.x and latest Kedro 0.19.x, with
# kedro-datasets for pandas CSV/Parquet and pickle), runs `kedro run` once on a copy of
# tests/kedro_project with each (proving the test project is real), then runs the ignored
# tests of tests/probe.rs with KFPX_TEST_PYTHON pointing at each venv's python. Those include
# the probe's lite and full modes against Kedro's own view, on the test project and on a
# variant whose node modules import a package that sleeps 1 s at import (the tests write it
# into a site-packages directory of their own), and lite mode's fallbacks.
#
# Idempotent: a venv that already has what it needs is reused; pip downloads are cached in
# .ci/work/pip-cache. Set KFPX_KEDRO_REFRESH=1 to rebuild the venvs (e.g. to pick up a new
# Kedro release).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=.ci/work
mkdir -p "$WORK"
export PIP_CACHE_DIR="$PWD/$WORK/pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# No telemetry prompt or upload from kedro-telemetry during `kedro run`.
export KEDRO_DISABLE_TELEMETRY=true
export DO_NOT_TRACK=1

PYTHON=${KFPX_CI_PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "stage-kedro: $PYTHON is older than 3.10 (Kedro 1.x needs 3.10+); set KFPX_CI_PYTHON" >&2
  exit 1
fi

DATASETS="kedro-datasets[pandas-csvdataset,pandas-parquetdataset,pickle-pickledataset]"
# name | pip requirement for kedro
VENVS=(
  "kedro1|kedro>=1,<2"
  "kedro019|kedro>=0.19,<0.20"
)

make_venv() {
  local name=$1 req=$2 dir="$WORK/venv-$1"
  if [[ "${KFPX_KEDRO_REFRESH:-0}" != 1 ]] && [[ -x "$dir/bin/python" ]] &&
    "$dir/bin/python" -c 'import kedro, kedro_datasets, pandas, pyarrow' 2>/dev/null; then
    echo "stage-kedro: reusing $dir"
    return 0
  fi
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install --quiet "$req" "$DATASETS" >"$WORK/pip-$name.log" 2>&1 || {
    echo "stage-kedro: pip install failed for $name:" >&2
    tail -20 "$WORK/pip-$name.log" >&2
    return 1
  }
}

# Both venvs at once: the installs are mostly network-bound.
pids=()
for spec in "${VENVS[@]}"; do
  make_venv "${spec%%|*}" "${spec#*|}" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# Build the test binary once, before the per-venv runs.
cargo test --test probe --no-run --quiet

for spec in "${VENVS[@]}"; do
  name=${spec%%|*}
  py="$PWD/$WORK/venv-$name/bin/python"
  version=$("$py" -c 'import kedro; print(kedro.__version__)')
  echo "stage-kedro: $name: Kedro $version"

  # `kedro run` on a fresh copy, with kedro_init_version set to the installed Kedro (Kedro
  # refuses a project made for another major version, or another minor version on 0.x).
  copy="$WORK/project-$name"
  rm -rf "$copy"
  cp -R tests/kedro_project "$copy"
  rm -rf "$copy"/data/0[2-8]_* "$copy/.kfpx"
  sed -i.bak "s/^kedro_init_version = .*/kedro_init_version = \"$version\"/" "$copy/pyproject.toml"
  (cd "$copy" && "$py" -m kedro run >"../kedro-run-$name.log" 2>&1) || {
    echo "stage-kedro: kedro run failed with Kedro $version:" >&2
    tail -30 "$WORK/kedro-run-$name.log" >&2
    exit 1
  }
  for out in data/02_intermediate/data_processing/preprocessed_companies.pq \
    data/03_primary/model_input_table.pq data/06_models/regressor.pickle \
    data/08_reporting/model_report.csv; do
    [[ -s "$copy/$out" ]] || { echo "stage-kedro: kedro run did not write $out" >&2; exit 1; }
  done
  echo "stage-kedro: kedro run OK with Kedro $version"

  KFPX_TEST_PYTHON="$py" cargo test --quiet --test probe -- --ignored --test-threads 2 \
    ${KFPX_KEDRO_TEST_FILTER:-}
done
