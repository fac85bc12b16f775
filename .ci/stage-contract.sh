#!/usr/bin/env bash
# Contract stage: every request kfpx sends to KFP must be valid per the official API spec.
#
# Serves strict copies (unknown fields rejected, as the real API server does) of the KFP 2.17
# v2beta1 and v1beta1 swagger files with Prism mocks, runs kfpx's server commands against
# them (upload-pipeline, run-once, schedule, list-pipelines; KFP v2 and v1), and fails when
# Prism found any request that breaks the spec (it answers those with 422 and logs why), or a
# request to a path/method the spec does not have, or a command that sent nothing at all.
# Prism is stateless (ids are the literal "string"), so kfpx may take odd branches or fail
# afterwards; only the validity of what it sent matters here.
#
# Needs: node/npm, python3, curl, cargo, and ../shared (the KFP specs and tools).
# Idempotent; installs Prism into .ci/work/prism. Env: KFPX_SHARED_DIR (default ../shared),
# CONTRACT_TIMEOUT (seconds per kfpx command, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${KFPX_SHARED_DIR:-$ROOT/../shared}
WORK=$ROOT/.ci/work/contract
PRISM_DIR=$ROOT/.ci/work/prism
PRISM_VERSION=5.14.2
CMD_TIMEOUT=${CONTRACT_TIMEOUT:-60}

say() { printf '[contract] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

for tool in node npm python3 curl cargo; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ -f $SHARED/tools/make_strict_swagger.py ]] ||
  die "$SHARED/tools/make_strict_swagger.py not found (set KFPX_SHARED_DIR to the shared/ folder)"

rm -rf "$WORK"
mkdir -p "$WORK" "$PRISM_DIR"

# ---- Prism -----------------------------------------------------------------------------
PRISM=$PRISM_DIR/node_modules/.bin/prism
if [[ "$("$PRISM" --version 2>/dev/null || true)" != "$PRISM_VERSION" ]]; then
  say "installing @stoplight/prism-cli@$PRISM_VERSION into .ci/work/prism"
  npm install --prefix "$PRISM_DIR" --no-audit --no-fund --loglevel=error \
    "@stoplight/prism-cli@$PRISM_VERSION" >&2
fi

# ---- strict specs ----------------------------------------------------------------------
for v in v2beta1 v1beta1; do
  python3 "$SHARED/tools/make_strict_swagger.py" "$SHARED/kfp-api/$v.swagger.json" \
    "$WORK/strict-$v.json"
done

# ---- kfpx ------------------------------------------------------------------------------
say "building kfpx"
cargo build --quiet --bin kfpx
KFPX=$ROOT/target/debug/kfpx

# ---- mocks -----------------------------------------------------------------------------
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_mock SPEC LOG -> sets MOCK_URL
start_mock() {
  local spec=$1 log=$2 port
  port=$(free_port)
  "$PRISM" mock -h 127.0.0.1 -p "$port" "$spec" >"$log" 2>&1 &
  PIDS+=($!)
  MOCK_URL=http://127.0.0.1:$port
}

wait_ready() {
  local url=$1 api=$2 log=$3
  for _ in $(seq 1 120); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' -H 'authorization: Bearer ready' \
      "$url/apis/$api/healthz" || true) == 200 ]]; then
      return 0
    fi
    sleep 0.5
  done
  cat "$log" >&2
  die "Prism ($api) did not become ready within 60 s"
}

start_mock "$WORK/strict-v2beta1.json" "$WORK/prism-v2.log"
V2_URL=$MOCK_URL
start_mock "$WORK/strict-v1beta1.json" "$WORK/prism-v1.log"
V1_URL=$MOCK_URL
wait_ready "$V2_URL" v2beta1 "$WORK/prism-v2.log"
wait_ready "$V1_URL" v1beta1 "$WORK/prism-v1.log"
say "Prism mocks ready: v2 $V2_URL, v1 $V1_URL"

# ---- is Prism checking? (one valid and one invalid request to each mock) ----------------
# Prism logs each request ("[HTTP SERVER] <method> <path> ... Request received") followed by
# its violations; "Violation: request..." lines are ours (response ones are Prism's examples).
report() {
  local log=$1 from=${2:-0}
  tail -n +"$((from + 1))" "$log" | sed 's/\x1b\[[0-9;]*m//g' | awk '
    /\[HTTP SERVER\]/ && /Request received/ {
      req = $0; sub(/.*\[HTTP SERVER\] /, "", req); sub(/ .{0,3}info.*/, "", req); next }
    /Violation: request/ { v = $0; sub(/.*Violation: /, "", v); print req "  ->  " v; next }
    /NO_PATH_MATCHED_ERROR|NO_METHOD_MATCHED_ERROR/ { e = $0; sub(/.*errors#/, "", e); print req "  ->  " e }
  ' | sort | uniq -c
}

sanity() {
  local url=$1 api=$2 log=$3 good bad out
  if [[ $api == v2beta1 ]]; then good='{"display_name":"ok"}'; else good='{"name":"ok"}'; fi
  bad='{"unknown_field_for_the_sanity_check":1}'
  for body in "$good" "$bad"; do
    curl -s -o /dev/null -X POST -H 'authorization: Bearer sanity' \
      -H 'content-type: application/json' -d "$body" "$url/apis/$api/experiments" || true
  done
  out=$(report "$log")
  if [[ $(grep -c . <<<"$out") != 1 || $out != *unknown_field_for_the_sanity_check* ]]; then
    printf '%s\n' "$out" >&2
    die "Prism ($api) does not flag unknown body fields as expected; the check would be blind"
  fi
}
sanity "$V2_URL" v2beta1 "$WORK/prism-v2.log"
sanity "$V1_URL" v1beta1 "$WORK/prism-v1.log"
# Only what comes after this point is kfpx's.
V2_FROM=$(wc -l <"$WORK/prism-v2.log")
V1_FROM=$(wc -l <"$WORK/prism-v1.log")
say "Prism flags invalid requests (sanity check passed)"

# ---- the project: conf-example (every config feature; graph snapshot, no Python needed),
# else a small generated one ----------------------------------------------------------------
if [[ -f $ROOT/conf-example/kfpx-snapshot.json && -f $ROOT/conf-example/conf/base/kubeflow.yaml ]]; then
  PROJECT=$ROOT/conf-example
  SNAPSHOT=$PROJECT/kfpx-snapshot.json
else
PROJECT=$WORK/project
mkdir -p "$PROJECT/conf/base" "$PROJECT/conf/local"
cat >"$PROJECT/pyproject.toml" <<'EOF'
[tool.kedro]
package_name = "contract_demo"
project_name = "contract-demo"
kedro_init_version = "1.0.0"
EOF
cat >"$PROJECT/conf/base/kubeflow.yaml" <<'EOF'
host: http://127.0.0.1:1
run_config:
  image: ghcr.io/example/contract-demo:1.0
  experiment_name: contract-demo
  run_name: contract-demo-run
  description: Contract test pipeline
EOF
SNAPSHOT=$PROJECT/snapshot.json
cat >"$SNAPSHOT" <<'EOF'
{
  "format": "kfpx-snapshot",
  "version": 1,
  "project": {"name": "contract-demo", "package": "contract_demo", "kedro_version": "1.0.0"},
  "pipelines": {
    "__default__": {"nodes": [
      {"name": "preprocess", "inputs": ["raw", "params:test_size"], "outputs": ["clean"]},
      {"name": "train", "inputs": ["clean"], "outputs": ["model"]}
    ]}
  },
  "datasets": {
    "raw": {"type": "pandas.CSVDataset", "memory": false, "filepath": "data/01_raw/raw.csv"},
    "clean": {"type": "pandas.ParquetDataset", "memory": false, "filepath": "data/02_intermediate/clean.parquet"},
    "model": {"type": "pickle.PickleDataset", "memory": false, "filepath": "data/06_models/model.pkl"}
  },
  "parameters": {"test_size": 0.2}
}
EOF
fi
say "project: ${PROJECT#"$ROOT"/}"

# ---- run kfpx against the mocks --------------------------------------------------------
export KF_PIPELINES_TOKEN=contract-test-token
unset KF_PIPELINES_ENDPOINT KF_PIPELINES_NAMESPACE KF_PIPELINES_COOKIE DEX_USERNAME \
  DEX_PASSWORD IAP_CLIENT_ID KF_PIPELINES_IAP_OAUTH2_CLIENT_ID 2>/dev/null || true

count_requests() { grep -c 'Request received' "$1" || true; }

FAILED_CMDS=()
# run_kfpx LABEL LOG -- ARGS...
run_kfpx() {
  local label=$1 log=$2
  shift 3
  local before after rc=0
  before=$(count_requests "$log")
  say "kfpx $label: $*"
  timeout "$CMD_TIMEOUT" "$KFPX" -v -C "$PROJECT" --snapshot "$SNAPSHOT" "$@" \
    >"$WORK/$label.out" 2>"$WORK/$label.err" || rc=$?
  after=$(count_requests "$log")
  say "  exit $rc, $((after - before)) request(s) to Prism"
  if [[ $rc == 124 ]]; then
    say "  timed out after ${CMD_TIMEOUT}s (a paging loop on Prism's constant next_page_token?)"
  fi
  if ((after == before)); then
    sed 's/^/    /' "$WORK/$label.err" | tail -5 >&2
    FAILED_CMDS+=("$label: sent no request (exit $rc)")
  fi
}

for api in v2 v1; do
  if [[ $api == v2 ]]; then url=$V2_URL log=$WORK/prism-v2.log ver=2; else url=$V1_URL log=$WORK/prism-v1.log ver=1; fi
  run_kfpx "$api-upload" "$log" -- upload-pipeline --host "$url" --kfp-version "$ver"
  run_kfpx "$api-run-once" "$log" -- run-once --host "$url" --kfp-version "$ver"
  run_kfpx "$api-schedule" "$log" -- schedule --host "$url" --kfp-version "$ver" \
    -c '0 0 4 * * *' --max-concurrency 2 --no-catchup --start-time 2026-01-01T00:00:00Z
  run_kfpx "$api-list" "$log" -- list-pipelines --host "$url" --kfp-version "$ver" -o json
done

# ---- verdict ---------------------------------------------------------------------------

V2_REPORT=$(report "$WORK/prism-v2.log" "$V2_FROM")
V1_REPORT=$(report "$WORK/prism-v1.log" "$V1_FROM")
status=0
if [[ -n $V2_REPORT || -n $V1_REPORT ]]; then
  say "requests that break the official KFP API spec:"
  [[ -z $V2_REPORT ]] || printf 'v2beta1:\n%s\n' "$V2_REPORT" >&2
  [[ -z $V1_REPORT ]] || printf 'v1beta1:\n%s\n' "$V1_REPORT" >&2
  status=1
fi
if ((${#FAILED_CMDS[@]})); then
  say "commands that could not be checked:"
  printf '  %s\n' "${FAILED_CMDS[@]}" >&2
  status=1
fi
if ((status)); then
  say "FAILED (logs in .ci/work/contract/)"
  exit 1
fi
say "OK: v2beta1 $(count_requests "$WORK/prism-v2.log") and v1beta1 $(count_requests "$WORK/prism-v1.log") requests, all valid per the spec"
