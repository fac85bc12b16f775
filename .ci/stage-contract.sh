#!/usr/bin/env bash
# Contract stage: every request kfpx sends to KFP must be valid per the official API spec.
#
# Serves strict copies (unknown fields rejected, as the real API server does) of the KFP 2.17
# v2beta1 and v1beta1 swagger files with Prism mocks, runs kfpx's server commands against
# them (upload-pipeline, run-once, schedule, list-pipelines, runs …, schedules …; KFP v2 and
# v1), and fails when
# Prism found a request that breaks the spec (it answers 422 and logs why), a request to a
# path/method the spec does not have, or a command that sent no request at all.
#
# Both APIs are served at one origin, as by a real 2.x server. Prism is stateless (every id is
# the literal "string"), so there are two mocks: one answering lists with its example object
# ("everything exists": kfpx takes its find/update branches), one with empty lists ("nothing
# exists": kfpx creates). Commands may fail
# afterwards on the mock's odd answers; only the validity of what they sent matters here.
#
# Needs node/npm, python3, curl, cargo and ../shared (the KFP specs and tools). Idempotent;
# installs Prism into .ci/work/prism. Env: KFPX_SHARED_DIR (default ../shared),
# CONTRACT_TIMEOUT (seconds per kfpx command, default 60), KFPX_BIN (a kfpx binary to use
# instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${KFPX_SHARED_DIR:-$ROOT/../shared}
WORK=$ROOT/.ci/work/contract
PRISM_DIR=$ROOT/.ci/work/prism
PRISM_VERSION=5.14.2
CMD_TIMEOUT=${CONTRACT_TIMEOUT:-60}

say() { printf '[contract] %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

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
# One spec with both APIs, served at one origin as a real 2.x server does (kfpx may use a v1
# call while targeting v2, e.g. to list default versions in one go). Response-only edits for
# the stateless mock (request validation is the official spec's): list answers lose
# next_page_token (Prism's example is the constant "string", so a client that pages correctly
# would never get past the first list), and in the "empty" variant their items too.
for v in v2beta1 v1beta1; do
  python3 "$SHARED/tools/make_strict_swagger.py" "$SHARED/kfp-api/$v.swagger.json" \
    "$WORK/strict-$v.json"
done
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
v2 = json.load(open(f"{work}/strict-v2beta1.json"))
v1 = json.load(open(f"{work}/strict-v1beta1.json"))
# v1 definitions whose name v2 also uses with other content get a v1 prefix.
renames = {k: "v1" + k for k in v1["definitions"]
           if k in v2["definitions"] and v1["definitions"][k] != v2["definitions"][k]}
text = json.dumps({"paths": v1["paths"], "definitions": v1["definitions"]})
for old, new in renames.items():
    text = text.replace(f'"#/definitions/{old}"', f'"#/definitions/{new}"')
v1 = json.loads(text)
for old, new in renames.items():
    v1["definitions"][new] = v1["definitions"].pop(old)
spec = v2
assert not set(spec["paths"]) & set(v1["paths"])
spec["paths"].update(v1["paths"])
for k, d in v1["definitions"].items():
    spec["definitions"].setdefault(k, d)
spec["info"]["title"] = "KFP v2beta1 + v1beta1 (strict, for the contract stage)"
lists = [d for name, d in spec["definitions"].items()
         if name.startswith(("v2beta1List", "apiList")) and name.endswith("Response")]
for d in lists:
    d.get("properties", {}).pop("next_page_token", None)
json.dump(spec, open(f"{work}/strict-kfp.json", "w"), indent=1)
for d in lists:
    props = d.get("properties", {})
    for key in [k for k, p in props.items() if p.get("type") == "array"]:
        del props[key]
json.dump(spec, open(f"{work}/strict-kfp-empty.json", "w"), indent=1)
PY

# ---- kfpx ------------------------------------------------------------------------------
if [[ -n ${KFPX_BIN:-} ]]; then
  KFPX=$KFPX_BIN
else
  say "building kfpx"
  cargo build --quiet --bin kfpx
  KFPX=${CARGO_TARGET_DIR:-$ROOT/target}/debug/kfpx
fi

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

declare -A URL LOG
# start_mock NAME SPEC
start_mock() {
  local name=$1 spec=$2 port
  port=$(free_port)
  "$PRISM" mock -h 127.0.0.1 -p "$port" "$spec" >"$WORK/prism-$name.log" 2>&1 &
  PIDS+=($!)
  URL[$name]=http://127.0.0.1:$port
  LOG[$name]=$WORK/prism-$name.log
}

wait_ready() {
  local name=$1
  for _ in $(seq 1 120); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' -H 'authorization: Bearer ready' \
      "${URL[$name]}/apis/v2beta1/healthz" || true) == 200 ]]; then
      return 0
    fi
    sleep 0.5
  done
  cat "${LOG[$name]}" >&2
  die "Prism ($name) did not become ready within 60 s"
}

# "full": lists answer Prism's example object; "empty": lists answer nothing.
MOCKS=(full empty)
start_mock full "$WORK/strict-kfp.json"
start_mock empty "$WORK/strict-kfp-empty.json"
for m in "${MOCKS[@]}"; do wait_ready "$m"; done
say "Prism mocks ready: $(for m in "${MOCKS[@]}"; do printf '%s=%s ' "$m" "${URL[$m]}"; done)"

# ---- reading Prism's log ---------------------------------------------------------------
# Prism validates every request it routes ("[VALIDATOR] ... The request passed the validation
# rules" / "Request did not pass the validation rules"), then lists each problem as
# "Violation: request..." ("Violation: response..." lines are about Prism's own examples).
# Unroutable requests log NO_PATH_MATCHED_ERROR / NO_METHOD_MATCHED_ERROR. The request line
# itself ("[HTTP SERVER] post /apis/...") is not reliable: Prism drops it for some bodies.
plain() { tail -n +"$(($2 + 1))" "$1" | sed 's/\x1b\[[0-9;]*m//g'; }
lines() { wc -l <"$1"; }
# requests LOG FROM: how many requests reached the mock after line FROM
requests() {
  plain "$1" "$2" | grep -cE 'the validation rules|NO_PATH_MATCHED_ERROR|NO_METHOD_MATCHED_ERROR' || true
}
# problems LOG FROM: one line per request violation / unroutable request after line FROM
problems() {
  plain "$1" "$2" | awk '
    /\[HTTP SERVER\] [a-z]+ \// { req = $0; sub(/.*\[HTTP SERVER\] /, "", req); split(req, f, " "); req = toupper(f[1]) " " f[2] }
    /Violation: request/ { v = $0; sub(/.*Violation: /, "", v); print "  " v "   (last request line seen: " req ")" }
    /NO_PATH_MATCHED_ERROR|NO_METHOD_MATCHED_ERROR/ { e = $0; sub(/.*errors#/, "", e); print "  " e "   (" req ")" }'
}

# ---- is Prism checking? One valid and one invalid request to each mock -------------------
for m in "${MOCKS[@]}"; do
  for api in v2beta1 v1beta1; do
    if [[ $api == v2beta1 ]]; then good='{"display_name":"ok"}'; else good='{"name":"ok"}'; fi
    from=$(lines "${LOG[$m]}")
    for body in "$good" '{"unknown_field_for_the_sanity_check":1}'; do
      curl -s -o /dev/null -X POST -H 'authorization: Bearer sanity' \
        -H 'content-type: application/json' -d "$body" "${URL[$m]}/apis/$api/experiments" || true
    done
    sleep 0.5
    out=$(problems "${LOG[$m]}" "$from")
    if [[ $(grep -c . <<<"$out") != 1 || $out != *unknown_field_for_the_sanity_check* ]] ||
      [[ $(requests "${LOG[$m]}" "$from") != 2 ]]; then
      printf '%s\n' "$out" >&2
      die "Prism ($m, $api) does not report request violations as expected; this check would be blind"
    fi
  done
done
say "Prism reports invalid requests (sanity check passed)"

# ---- the project: conf-example (every config feature; graph snapshot, no Python needed),
# else a small generated one ----------------------------------------------------------------
# PARAM: a run parameter override, so runtime parameters are part of what is checked.
if [[ -f $ROOT/conf-example/kfpx-snapshot.json && -f $ROOT/conf-example/conf/base/kubeflow.yaml ]]; then
  PROJECT=$ROOT/conf-example
  SNAPSHOT=$PROJECT/kfpx-snapshot.json
  PARAM='data_science={"model_options": {"test_size": 0.3, "random_state": 7, "features": ["crew"]}}'
else
  PARAM='test_size=0.3'
  PROJECT=$WORK/project
  SNAPSHOT=$PROJECT/snapshot.json
  mkdir -p "$PROJECT/conf/base" "$PROJECT/conf/local"
  printf '%s\n' '[tool.kedro]' 'package_name = "contract_demo"' 'project_name = "contract-demo"' \
    'kedro_init_version = "1.0.0"' >"$PROJECT/pyproject.toml"
  printf '%s\n' 'host: http://127.0.0.1:1' 'run_config:' \
    '  image: ghcr.io/example/contract-demo:1.0' '  experiment_name: contract-demo' \
    '  run_name: contract-demo-run' '  description: Contract test pipeline' \
    >"$PROJECT/conf/base/kubeflow.yaml"
  cat >"$SNAPSHOT" <<'JSON'
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
JSON
fi
say "project: ${PROJECT#"$ROOT"/}"

# ---- run kfpx against the mocks --------------------------------------------------------
export KF_PIPELINES_TOKEN=contract-test-token
for var in KF_PIPELINES_ENDPOINT KF_PIPELINES_NAMESPACE KF_PIPELINES_COOKIE DEX_USERNAME \
  DEX_PASSWORD IAP_CLIENT_ID KF_PIPELINES_IAP_OAUTH2_CLIENT_ID KF_PIPELINES_SA_TOKEN_PATH; do
  unset "$var"
done

BAD=()   # "command: problem"
RUN_ID=5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e # any id: the stateless mock answers every one
TOTAL=0
# run_kfpx MOCK LABEL -- ARGS...
run_kfpx() {
  local mock=$1 label=$2 log=${LOG[$1]} from n rc=0 out saw
  shift 3
  from=$(lines "$log")
  timeout "$CMD_TIMEOUT" "$KFPX" -v -C "$PROJECT" --snapshot "$SNAPSHOT" "$@" --host "${URL[$mock]}" \
    >"$WORK/$label.out" 2>"$WORK/$label.err" || rc=$?
  sleep 0.3 # let Prism finish writing its log
  n=$(requests "$log" "$from")
  TOTAL=$((TOTAL + n))
  say "$label: exit $rc, $n request(s): kfpx $*"
  ((rc != 124)) || BAD+=("$label: timed out after ${CMD_TIMEOUT}s")
  if ((n == 0)); then
    sed 's/^/    /' "$WORK/$label.err" | tail -5 >&2
    BAD+=("$label: sent no request (exit $rc), so nothing was checked")
  fi
  out=$(problems "$log" "$from")
  if [[ -n $out ]]; then
    # kfpx's own -v lines about those answers, when it prints any.
    saw=$({ grep -E '(^| )(422|404|405|415)( |$)' "$WORK/$label.err" || true; } | head -5 | sed 's/^/  kfpx: /')
    BAD+=("$label: requests that break the spec:"$'\n'"$out${saw:+$'\n'$saw}")
  fi
}

for mock in "${MOCKS[@]}"; do
  for ver in 2 1; do
    run_kfpx "$mock" "$mock-v$ver-upload" -- upload-pipeline --kfp-version "$ver"
    run_kfpx "$mock" "$mock-v$ver-run-once" -- run-once --kfp-version "$ver" --param "$PARAM"
    run_kfpx "$mock" "$mock-v$ver-schedule" -- schedule --kfp-version "$ver" -c '0 0 4 * * *' --param "$PARAM" \
      --max-concurrency 2 --no-catchup --start-time 2026-01-01T00:00:00Z --end-time 2027-01-01T00:00:00Z
    run_kfpx "$mock" "$mock-v$ver-list" -- list-pipelines --kfp-version "$ver" -o json
    # Issue 18: a reviewed file deployed as it is (compiled first, offline).
    "$KFPX" -q -C "$PROJECT" --snapshot "$SNAPSHOT" compile --kfp-version "$ver" -f "$WORK/compiled-v$ver.yaml"
    run_kfpx "$mock" "$mock-v$ver-upload-file" -- upload-pipeline --file "$WORK/compiled-v$ver.yaml"
    run_kfpx "$mock" "$mock-v$ver-run-once-file" -- run-once --file "$WORK/compiled-v$ver.yaml"
    # Issue 18: runs and recurring runs already on the server (by id: Prism's path ids are
    # free; by name: a filtered list).
    run_kfpx "$mock" "$mock-v$ver-runs-list" -- runs list --kfp-version "$ver" -o json
    run_kfpx "$mock" "$mock-v$ver-runs-list-x" -- runs list --all -x contract-demo --kfp-version "$ver" -o json
    run_kfpx "$mock" "$mock-v$ver-runs-get" -- runs get "$RUN_ID" --kfp-version "$ver" -o json
    run_kfpx "$mock" "$mock-v$ver-runs-get-name" -- runs get contract-demo-run --kfp-version "$ver"
    for verb in cancel retry archive; do
      run_kfpx "$mock" "$mock-v$ver-runs-$verb" -- runs "$verb" "$RUN_ID" --kfp-version "$ver"
    done
    run_kfpx "$mock" "$mock-v$ver-schedules-list" -- schedules list --kfp-version "$ver" -o json
    for verb in disable enable delete; do
      run_kfpx "$mock" "$mock-v$ver-schedules-$verb" -- schedules "$verb" "$RUN_ID" --kfp-version "$ver"
    done
  done
done

# What was exercised (request lines Prism kept; ids are "string").
say "endpoints exercised:"
for m in "${MOCKS[@]}"; do plain "${LOG[$m]}" 0; done |
  { grep -oE '\[HTTP SERVER\] [a-z]+ /[^ ?]*' || true; } | sed 's/\[HTTP SERVER\] //' | sort |
  uniq -c | sed 's/^/    /' >&2

# ---- verdict ---------------------------------------------------------------------------
if ((${#BAD[@]})); then
  say "FAILED:"
  printf '%s\n' "${BAD[@]}" >&2
  say "logs: .ci/work/contract/ (prism-*.log, <command>.err)"
  exit 1
fi
say "OK: $TOTAL requests from kfpx, all valid per the KFP v2beta1/v1beta1 specs"
