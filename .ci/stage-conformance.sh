#!/usr/bin/env bash
# Conformance of compiled pipeline files: compile conf-example, the every-feature fixture and the
# real Kedro test project (from snapshot files, so no Kedro is needed) under every merge strategy
# and env, for both targets, then check every KFP v2 IR with ../shared/tools/validate_ir.py and
# every Argo Workflow with ../shared/tools/validate_argo.py --strict. Any invalid file fails.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=${KFPX_SHARED_TOOLS:-../shared/tools}
WORK=.ci/work/conformance
VENV=.ci/work/conformance-venv
if [[ ! -f "$TOOLS/validate_ir.py" ]]; then
  echo "conformance: $TOOLS/validate_ir.py not found (set KFPX_SHARED_TOOLS)" >&2
  exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import kfp.pipeline_spec, kfp.kubernetes, jsonschema, yaml' 2>/dev/null ||
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    kfp-pipeline-spec kfp-kubernetes jsonschema pyyaml

cargo build --quiet --bin kfpx
KFPX=$PWD/target/debug/kfpx
rm -rf "$WORK"
mkdir -p "$WORK"

# project dir | snapshot file | envs
projects=(
  "conf-example|conf-example/kfpx-snapshot.json|local production"
  "tests/fixtures/compile/every-feature|tests/fixtures/compile/every-feature/kfpx-snapshot.json|local"
)
# The real Kedro test project, with its snapshot (taken with the probe and Kedro 1.x) and an
# every-feature config, in a copy so that nothing is written into tests/.
if [[ -d tests/kedro_project ]]; then
  rm -rf "$WORK/kedro_project"
  cp -r tests/kedro_project "$WORK/kedro_project"
  mkdir -p "$WORK/kedro_project/conf/base"
  cp tests/fixtures/compile/kedro_project.kubeflow.yaml "$WORK/kedro_project/conf/base/kubeflow.yaml"
  projects+=("$WORK/kedro_project|tests/fixtures/compile/kedro_project.snapshot.json|local")
fi

count=0
for entry in "${projects[@]}"; do
  IFS='|' read -r dir snap envs <<<"$entry"
  name=$(basename "$dir")
  for env in $envs; do
    for strategy in none full memory tags namespace; do
      for version in 2 1; do
        out="$WORK/$name-$env-$strategy-v$version.yaml"
        "$KFPX" -q -C "$dir" -e "$env" --snapshot "$snap" compile \
          --merge-strategy "$strategy" --kfp-version "$version" --allow-memory-datasets -o "$out"
        count=$((count + 1))
      done
    done
  done
done
echo "conformance: compiled $count files"

shopt -s nullglob
"$VENV/bin/python" "$TOOLS/validate_ir.py" "$WORK"/*-v2.yaml
"$VENV/bin/python" "$TOOLS/validate_argo.py" --strict "$WORK"/*-v1.yaml
echo "conformance: every IR and Argo file is valid"
