#!/usr/bin/env bash
# CI stage: compiled pipelines of the real Kedro test project (tests/kedro_project) run through
# the official KFP local runner (../shared/tools/kfp_local_run.py: kfp.local's DockerRunner with
# a Docker double that runs each task's command on this host, in the project, with the
# project's venv), for Kedro 1.x and 0.19:
#
# * strategies memory and full (the project as is: MemoryDatasets stay inside a task), namespace
#   and tags (a copy whose catalog persists the MemoryDatasets these strategies split): the run
#   succeeds and every dataset it writes equals, by content, what a plain `kedro run` writes;
# * full with `--param run_label=<x>` and an on-exit pipeline: the report carries the override,
#   the on-exit task runs last and records the final status it received (SUCCEEDED);
# * the dumper test (integers restored) with the Kedro venv's Python and PyYAML.
#
# The split_data node slices with an integer parameter that arrives inside a STRUCT, which the
# local runner renders as a double (3.0): the runs fail unless the task restores the declared
# integer. kfp.local has no PVCs, so the configs have no volume.
#
# Venvs: .ci/work/venv-kedro1 and venv-kedro019 (as stage-kedro builds them) and
# .ci/work/venv-kfplocal (kfp==2.17.3, docker==7.2.0); reused when complete.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=${KFPX_SHARED_TOOLS:-../shared/tools}
WORK=.ci/work
OUT=$PWD/$WORK/kfplocal
mkdir -p "$WORK"
export PIP_CACHE_DIR="$PWD/$WORK/pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export KEDRO_DISABLE_TELEMETRY=true
export DO_NOT_TRACK=1
export NO_COLOR=1
start=$(date +%s)

if [[ ! -f "$TOOLS/kfp_local_run.py" ]]; then
  echo "stage-kfplocal: $TOOLS/kfp_local_run.py not found (set KFPX_SHARED_TOOLS)" >&2
  exit 1
fi
PYTHON=${KFPX_CI_PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "stage-kfplocal: $PYTHON is older than 3.10 (Kedro 1.x needs 3.10+); set KFPX_CI_PYTHON" >&2
  exit 1
fi

DATASETS="kedro-datasets[pandas-csvdataset,pandas-parquetdataset,pickle-pickledataset]"
# name | pip requirements | import check
VENVS=(
  "kedro1|kedro>=1,<2 $DATASETS|import kedro, kedro_datasets, pandas, pyarrow, yaml"
  "kedro019|kedro>=0.19,<0.20 $DATASETS|import kedro, kedro_datasets, pandas, pyarrow, yaml"
  "kfplocal|kfp==2.17.3 docker==7.2.0|import kfp.local, docker"
)

make_venv() {
  local name=$1 reqs=$2 check=$3 dir="$WORK/venv-$1"
  if [[ -x "$dir/bin/python" ]] && "$dir/bin/python" -c "$check" 2>/dev/null; then
    return 0
  fi
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  # shellcheck disable=SC2086
  "$dir/bin/pip" install --quiet $reqs >"$WORK/pip-$name.log" 2>&1 || {
    echo "stage-kfplocal: pip install failed for $name:" >&2
    tail -20 "$WORK/pip-$name.log" >&2
    return 1
  }
}

pids=()
for spec in "${VENVS[@]}"; do
  IFS='|' read -r name reqs check <<<"$spec"
  make_venv "$name" "$reqs" "$check" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

cargo build --quiet --bin kfpx
KFPX=$PWD/target/debug/kfpx
KFP_PY=$PWD/$WORK/venv-kfplocal/bin/python
RUNNER=$(cd "$TOOLS" && pwd)/kfp_local_run.py
COMPARE=$PWD/.ci/kfplocal_compare.py

# The dumper, run by Python: integers declared by the project survive a double rendering.
KFPX_TEST_PYTHON="$PWD/$WORK/venv-kedro1/bin/python" cargo test --quiet --lib \
  compile::backend_tests::fact7_dumper -- --ignored >/dev/null

rm -rf "$OUT"
mkdir -p "$OUT"

CORE=(
  data/02_intermediate/data_processing/preprocessed_companies.pq
  data/02_intermediate/data_processing/preprocessed_shuttles.pq
  data/03_primary/model_input_table.pq
  data/06_models/regressor.pickle
  data/08_reporting/model_report.csv
)
PERSISTED=(
  data/05_model_input/X_train.pickle
  data/05_model_input/X_test.pickle
  data/05_model_input/y_train.pickle
  data/05_model_input/y_test.pickle
  data/07_model_output/metrics.pickle
)

# A copy of the test project for Kedro $2, with a kubeflow.yaml, an on-exit pipeline that
# records the status it receives, and (variant `persisted`) catalog entries for the
# MemoryDatasets that the namespace and tags strategies split across tasks.
make_project() {
  local dir=$1 version=$2 variant=$3
  cp -R tests/kedro_project "$dir"
  rm -rf "$dir"/data/0[2-8]_* "$dir/.kfpx"
  sed -i.bak "s/^kedro_init_version = .*/kedro_init_version = \"$version\"/" "$dir/pyproject.toml"
  cat >"$dir/conf/base/kubeflow.yaml" <<'EOF'
host: http://localhost:8888/pipeline
run_config:
  image: spaceflights-mini:kfplocal
  experiment_name: kfplocal
  run_name: kfplocal
EOF
  cat >"$dir/conf/base/catalog_kfplocal.yml" <<'EOF'
exit_status:
  type: pandas.CSVDataset
  filepath: data/08_reporting/exit_status.csv
  save_args: {index: false}
EOF
  if [[ $variant == persisted ]]; then
    cat >>"$dir/conf/base/catalog_kfplocal.yml" <<'EOF'
"data_science.{name}_{part}":
  type: pickle.PickleDataset
  filepath: data/05_model_input/{name}_{part}.pickle
data_science.metrics:
  type: pickle.PickleDataset
  filepath: data/07_model_output/metrics.pickle
EOF
    # The project's own entry would win over the pattern above; drop it in the copy.
    python3 - "$dir/conf/base/catalog.yml" <<'EOF'
import sys
p = sys.argv[1]
text = open(p).read().replace("data_science.metrics:\n  type: MemoryDataset\n", "")
open(p, "w").write(text)
EOF
  fi
  cat >>"$dir/src/spaceflights_mini/pipeline_registry.py" <<'EOF'


# Added by .ci/stage-kfplocal.sh: an on-exit pipeline recording the status it is given.
_project_pipelines = register_pipelines


def _record_exit_status(status, failures):
    import pandas as pd

    return pd.DataFrame([{"status": status, "failures": failures}])


def register_pipelines():  # noqa: F811
    from kedro.pipeline import node, pipeline

    pipelines = _project_pipelines()
    pipelines["on_exit"] = pipeline(
        [node(_record_exit_status, ["params:status", "params:failures"], "exit_status", name="record_exit_status_node")]
    )
    return pipelines
EOF
}

# One compiled run: compile with the given flags, run with kfp.local in a clean data dir.
run_case() {
  local label=$1 dir=$2 py=$3
  shift 3
  rm -rf "$dir"/data/0[2-8]_* "$dir/config.yaml" "$dir/.kfp-local-root"
  "$KFPX" -q -C "$dir" --python "$py" compile -o "$OUT/$label.yaml" "$@" 2>"$OUT/$label.compile.log" || {
    echo "stage-kfplocal: $label: compile failed:" >&2
    cat "$OUT/$label.compile.log" >&2
    return 1
  }
  KFP_LOCAL_LOG="$OUT/$label.calls.jsonl" "$KFP_PY" "$RUNNER" "$OUT/$label.yaml" "$dir" \
    "$(dirname "$py")" >"$OUT/$label.run.log" 2>&1 || {
    echo "stage-kfplocal: $label: the pipeline failed under kfp.local:" >&2
    tail -5 "$OUT/$label.run.log" >&2
    "$py" -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["rc"]:
        print("  failed task command:", " ".join(r["command"])[-300:], "\n  output:", r["tail"][-800:])' \
      "$OUT/$label.calls.jsonl" >&2
    return 1
  }
}

line() {
  local name=$1
  local py=$PWD/$WORK/venv-$name/bin/python
  local version
  version=$("$py" -c 'import kedro; print(kedro.__version__)')
  local plain=$OUT/$name-plain persisted=$OUT/$name-persisted ref=$OUT/$name-reference
  make_project "$plain" "$version" plain
  make_project "$persisted" "$version" persisted

  # The reference: a plain `kedro run` of the persisted copy (the same nodes and parameters).
  (cd "$persisted" && "$py" -m kedro run >"$OUT/$name-kedro-run.log" 2>&1) || {
    echo "stage-kfplocal: $name: plain kedro run failed:" >&2
    tail -20 "$OUT/$name-kedro-run.log" >&2
    return 1
  }
  mkdir -p "$ref"
  cp -R "$persisted/data" "$ref/data"

  for strategy in memory full; do
    run_case "$name-$strategy" "$plain" "$py" --merge-strategy "$strategy"
    "$py" "$COMPARE" "$ref" "$plain" "${CORE[@]}" || {
      echo "stage-kfplocal: $name-$strategy: outputs differ from kedro run" >&2
      return 1
    }
  done
  for strategy in namespace tags; do
    run_case "$name-$strategy" "$persisted" "$py" --merge-strategy "$strategy"
    "$py" "$COMPARE" "$ref" "$persisted" "${CORE[@]}" "${PERSISTED[@]}" || {
      echo "stage-kfplocal: $name-$strategy: outputs differ from kedro run" >&2
      return 1
    }
  done

  # --param changes an output; the on-exit pipeline runs last with the final status.
  printf '  on_exit_pipeline: on_exit\n' >>"$plain/conf/base/kubeflow.yaml"
  run_case "$name-param-on-exit" "$plain" "$py" --merge-strategy full --param run_label=from-kfpx-param
  "$py" "$COMPARE" "$ref" "$plain" "${CORE[@]}" --report-label from-kfpx-param || {
    echo "stage-kfplocal: $name-param-on-exit: outputs differ" >&2
    return 1
  }
  "$py" - "$OUT/$name-param-on-exit.calls.jsonl" "$plain/data/08_reporting/exit_status.csv" <<'EOF' || return 1
import json, sys
import pandas as pd
calls = [json.loads(l) for l in open(sys.argv[1])]
last = " ".join(calls[-1]["command"])
assert len(calls) == 2, f"expected the pipeline task then on-exit, got {len(calls)} calls"
assert "--pipeline on_exit" in last, f"the last task is not the on-exit pipeline: {last[-200:]}"
status = pd.read_csv(sys.argv[2])
assert list(status["status"]) == ["SUCCEEDED"], f"on-exit received {list(status['status'])}"
EOF
  echo "stage-kfplocal: Kedro $version: memory, full, namespace, tags, --param and on-exit OK"
}

pids=()
for name in kedro1 kedro019; do
  line "$name" >"$OUT/$name.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  name=$([[ $i == 0 ]] && echo kedro1 || echo kedro019)
  if ! wait "${pids[$i]}"; then
    failed=1
    echo "stage-kfplocal: $name FAILED:" >&2
  fi
  cat "$OUT/$name.log"
done
echo "stage-kfplocal: $(($(date +%s) - start))s"
exit "$failed"
