#!/usr/bin/env bash
# CI stage: the Python wheel (kedro-kfpx) and its Kedro plugin, as a Kedro user meets them.
#
# 1. Builds the wheel with maturin (pip-installed into .ci/work/venv-maturin). The wheel holds
#    a `dev`-profile kfpx: the release profile (lto, one codegen unit) takes minutes on two
#    cores, while the dev build reuses what `cargo test` compiled. Packaging is the same.
# 2. Installs it into venvs with the latest Kedro 1.x and 0.19.x (plus kedro-datasets for the
#    test project; no kedro-kubeflow), reused across runs like stage-kedro's.
# 3. On a copy of tests/kedro_project (kedro_init_version set to the installed Kedro), checks
#    through the venv's own `kedro` script that `kedro kfpx compile` and `kedro kubeflow
#    compile` write the same bytes as the bare binary, that `kedro kfpx --help` is kfpx's help,
#    that an error has the binary's exit code and its one stderr line, and, with a fake
#    kedro-kubeflow distribution first or last on sys.path, that `kedro kubeflow` prints one
#    warning naming the command that really ran.
# 4. Prints the start-up cost of `kedro kfpx --version` over `kfpx --version` (informational).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=.ci/work
mkdir -p "$WORK"
export PIP_CACHE_DIR="$PWD/$WORK/pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export KEDRO_DISABLE_TELEMETRY=true
export DO_NOT_TRACK=1
unset VIRTUAL_ENV KFPX_PYTHON KEDRO_ENV

PYTHON=${KFPX_CI_PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "stage-wheel: $PYTHON is older than 3.10 (Kedro 1.x needs 3.10+); set KFPX_CI_PYTHON" >&2
  exit 1
fi
MATURIN_VERSION=1.16.0
DATASETS="kedro-datasets[pandas-csvdataset,pandas-parquetdataset,pickle-pickledataset]"
VENVS=(
  "kedro1|kedro>=1,<2"
  "kedro019|kedro>=0.19,<0.20"
)

fail() {
  echo "stage-wheel: $*" >&2
  exit 1
}

# --- 1. the wheel -------------------------------------------------------------------------
maturin="$WORK/venv-maturin/bin/maturin"
if ! [[ -x "$maturin" ]] || [[ "$("$maturin" --version)" != "maturin $MATURIN_VERSION" ]]; then
  rm -rf "$WORK/venv-maturin"
  "$PYTHON" -m venv "$WORK/venv-maturin"
  "$WORK/venv-maturin/bin/pip" install --quiet "maturin==$MATURIN_VERSION"
fi

make_venv() {
  local name=$1 req=$2 dir="$WORK/venv-wheel-$1"
  if [[ -x "$dir/bin/kedro" ]] &&
    "$dir/bin/python" -c 'import kedro, kedro_datasets, pandas, pyarrow' 2>/dev/null; then
    return 0
  fi
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install --quiet "$req" "$DATASETS" >"$WORK/pip-wheel-$name.log" 2>&1 || {
    tail -20 "$WORK/pip-wheel-$name.log" >&2
    return 1
  }
}

# The venvs install (network-bound) while maturin builds (CPU-bound).
pids=()
for spec in "${VENVS[@]}"; do
  make_venv "${spec%%|*}" "${spec#*|}" &
  pids+=($!)
done

start=$SECONDS
rm -rf "$WORK/wheels"
"$maturin" build --locked --quiet --out "$WORK/wheels" >"$WORK/maturin.log" 2>&1 || {
  tail -30 "$WORK/maturin.log" >&2
  fail "maturin build failed"
}
wheels=("$WORK"/wheels/kedro_kfpx-*.whl)
[[ ${#wheels[@]} == 1 && -f ${wheels[0]} ]] || fail "expected one wheel in $WORK/wheels"
wheel=${wheels[0]}
echo "stage-wheel: built $(basename "$wheel") in $((SECONDS - start)) s"

# The sdist (what the release publishes next to the wheels) builds the same wheel from
# pyproject.toml, python/ and the crate's packaged files, and holds nothing else.
"$maturin" sdist --out "$WORK/wheels" >>"$WORK/maturin.log" 2>&1 || fail "maturin sdist failed"
sdist_files=$(tar -tzf "$WORK"/wheels/kedro_kfpx-*.tar.gz | sed 's|^[^/]*/||' | sort)
for f in pyproject.toml python/kedro_kfpx/plugin.py python/kedro_kfpx/hooks.py Cargo.toml \
  Cargo.lock README.md src/main.rs templates/probe.py; do
  grep -qx "$f" <<<"$sdist_files" || fail "the sdist lacks $f"
done
stray=$(grep -v -e '^src/' -e '^templates/' -e '^python/kedro_kfpx/[a-z_]*\.py$' \
  -e '^\(pyproject.toml\|Cargo.toml\|Cargo.lock\|README.md\|PKG-INFO\)$' <<<"$sdist_files" || true)
[[ -z "$stray" ]] || fail "the sdist holds files it should not: $stray"

for pid in "${pids[@]}"; do wait "$pid" || fail "creating a venv failed"; done
echo "stage-wheel: wheel, sdist and venvs ready after $((SECONDS - start)) s"

# --- the fake kedro-kubeflow distribution (never installed: put on sys.path on demand) ------
fake="$WORK/fake-kedro-kubeflow"
rm -rf "$fake"
mkdir -p "$fake/kedro_kubeflow" "$fake/kedro_kubeflow-0.0.1.dist-info"
cat >"$fake/kedro_kubeflow/__init__.py" <<'EOF'
import click


@click.group(name="Kubeflow")
def commands():
    pass


@commands.command(name="kubeflow", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def kubeflow(args):
    click.echo("fake kedro-kubeflow ran: " + " ".join(args))
EOF
printf 'Metadata-Version: 2.1\nName: kedro-kubeflow\nVersion: 0.0.1\n' \
  >"$fake/kedro_kubeflow-0.0.1.dist-info/METADATA"
printf '[kedro.project_commands]\nkubeflow = kedro_kubeflow:commands\n' \
  >"$fake/kedro_kubeflow-0.0.1.dist-info/entry_points.txt"
fake=$(cd "$fake" && pwd)

# Millisecond wall time of N runs of a command (its output discarded).
time_ms() {
  local n=$1 t0 t1
  shift
  t0=$(date +%s%N)
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1; done
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000 / n))
}

# --- 2. + 3. per Kedro version ------------------------------------------------------------
for spec in "${VENVS[@]}"; do
  name=${spec%%|*}
  start=$SECONDS
  venv="$PWD/$WORK/venv-wheel-$name"
  py="$venv/bin/python"
  "$venv/bin/pip" install --quiet --force-reinstall --no-deps "$wheel"
  version=$("$py" -c 'import kedro; print(kedro.__version__)')
  if "$py" -c 'import importlib.metadata as m; m.distribution("kedro-kubeflow")' 2>/dev/null; then
    fail "$name: kedro-kubeflow is installed in $venv"
  fi
  kfpx="$venv/bin/kfpx"
  [[ -x "$kfpx" ]] || fail "$name: the wheel did not put kfpx on the venv's PATH ($kfpx)"
  [[ "$("$py" -m kedro_kfpx --version)" == "$("$kfpx" --version)" ]] ||
    fail "$name: python -m kedro_kfpx is not kfpx"
  echo "stage-wheel: $name: Kedro $version, $("$kfpx" --version)"

  copy="$PWD/$WORK/wheel-project-$name"
  rm -rf "$copy"
  cp -R tests/kedro_project "$copy"
  rm -rf "$copy"/data/0[2-8]_* "$copy/.kfpx"
  sed -i.bak "s/^kedro_init_version = .*/kedro_init_version = \"$version\"/" "$copy/pyproject.toml"
  out="$WORK/wheel-out-$name"
  rm -rf "$out"
  mkdir -p "$out"
  out=$(cd "$out" && pwd)

  # The venv is not activated and not on PATH: the plugin's `--python` is what lets the
  # probe find Kedro (kfpx's own fallback, python3, has none).
  kedro() { (cd "$copy/src" && "$venv/bin/kedro" "$@"); }

  kedro kfpx init https://kubeflow.example.com/pipeline >/dev/null || fail "$name: kedro kfpx init failed"
  [[ -f "$copy/conf/base/kubeflow.yaml" ]] || fail "$name: kedro kfpx init wrote no conf/base/kubeflow.yaml"

  # The bare binary, as the reference (from a subdirectory: both find the project root).
  (cd "$copy/src" && "$kfpx" --python "$py" compile -q --merge-strategy memory -o "$out/binary.yaml") ||
    fail "$name: kfpx compile failed"
  for cmd in kfpx kubeflow; do
    rm -rf "$copy/.kfpx" # no cached graph: the plugin's run probes Kedro itself
    kedro "$cmd" compile -q --merge-strategy memory -o "$out/$cmd.yaml" >/dev/null || fail "$name: kedro $cmd compile failed"
    cmp "$out/binary.yaml" "$out/$cmd.yaml" ||
      fail "$name: kedro $cmd compile differs from kfpx compile"
  done
  # Kedro itself logs "Using '…logging.yml' as logging configuration" to stdout when it loads
  # a project, before the plugin runs: with Kedro's default logging the binary's stdout is
  # the tail of the command's; with a quieter Kedro logging config it is all of it.
  quiet_log="$out/quiet-logging.yml"
  printf 'version: 1\ndisable_existing_loggers: false\nloggers:\n  kedro:\n    level: WARNING\n' >"$quiet_log"
  kedro_quiet() { (cd "$copy/src" && KEDRO_LOGGING_CONFIG="$quiet_log" "$venv/bin/kedro" "$@"); }
  ends_with() { # ends_with FILE SUFFIX_FILE
    [[ $(wc -c <"$1") -ge $(wc -c <"$2") ]] && tail -c "$(wc -c <"$2")" "$1" | cmp -s - "$2"
  }

  # kfpx's own options in any place, and an explicit --python / -C not given twice.
  kedro kfpx -e local compile --python "$py" -C "$copy" --merge-strategy=memory -o - >"$out/stdout.yaml" ||
    fail "$name: kedro kfpx with explicit --python and -C failed"
  ends_with "$out/stdout.yaml" "$out/binary.yaml" || fail "$name: compile -o - does not end with kfpx's output"
  kedro_quiet kfpx compile --merge-strategy memory -o - >"$out/stdout-quiet.yaml" || fail "$name: compile -o - failed"
  cmp "$out/binary.yaml" "$out/stdout-quiet.yaml" || fail "$name: compile -o - differs"

  "$kfpx" --help >"$out/help-binary.txt"
  "$kfpx" compile --help >"$out/help-compile-binary.txt"
  kedro kfpx --help >"$out/help-kfpx.txt" || fail "$name: kedro kfpx --help failed"
  ends_with "$out/help-kfpx.txt" "$out/help-binary.txt" || fail "$name: kedro kfpx --help does not show kfpx --help"
  kedro_quiet kfpx --help >"$out/help-kfpx-quiet.txt" || fail "$name: kedro kfpx --help failed"
  cmp "$out/help-binary.txt" "$out/help-kfpx-quiet.txt" || fail "$name: kedro kfpx --help is not kfpx --help"
  kedro_quiet kubeflow compile --help >"$out/help-compile.txt" || fail "$name: kedro kubeflow compile --help failed"
  cmp "$out/help-compile-binary.txt" "$out/help-compile.txt" ||
    fail "$name: kedro kubeflow compile --help is not kfpx compile --help"
  kedro_quiet --help >"$out/help-kedro.txt" || fail "$name: kedro --help failed"
  grep -q "kfpx .*Run kfpx" "$out/help-kedro.txt" || fail "$name: kedro --help does not list kfpx"

  # An error: the binary's exit code and its one line on stderr, nothing else.
  set +e
  (cd "$copy" && "$kfpx" --python "$py" compile -p no_such_pipeline -o "$out/none.yaml") \
    >"$out/err-binary.out" 2>"$out/err-binary.txt"
  code_binary=$?
  kedro kfpx compile -p no_such_pipeline -o "$out/none.yaml" >/dev/null 2>"$out/err-kfpx.txt"
  code_plugin=$?
  kedro_quiet kubeflow compile -p no_such_pipeline -o "$out/none.yaml" >"$out/err-kubeflow.out" 2>"$out/err-kubeflow.txt"
  code_kubeflow=$?
  "$kfpx" compile --no-such-flag >/dev/null 2>"$out/usage-binary.txt"
  code_usage_binary=$?
  kedro_quiet kfpx compile --no-such-flag >/dev/null 2>"$out/usage.txt"
  code_usage=$?
  set -e
  [[ $code_binary == 1 && $code_plugin == 1 && $code_kubeflow == 1 ]] ||
    fail "$name: exit codes: binary $code_binary, kedro kfpx $code_plugin, kedro kubeflow $code_kubeflow (want 1)"
  [[ $(wc -l <"$out/err-binary.txt") == 1 ]] && grep -q '^error: ' "$out/err-binary.txt" || {
    cat "$out/err-binary.txt" >&2
    fail "$name: the binary's error is not one 'error:' line"
  }
  cmp "$out/err-binary.txt" "$out/err-kfpx.txt" || fail "$name: kedro kfpx's error differs from the binary's"
  cmp "$out/err-binary.txt" "$out/err-kubeflow.txt" || fail "$name: kedro kubeflow's error differs from the binary's"
  [[ ! -s "$out/err-binary.out" && ! -s "$out/err-kubeflow.out" && ! -e "$out/none.yaml" ]] ||
    fail "$name: output on error"
  [[ $code_usage_binary == 2 && $code_usage == 2 ]] ||
    fail "$name: a usage error exited $code_usage (binary: $code_usage_binary, want 2)"
  cmp "$out/usage-binary.txt" "$out/usage.txt" || fail "$name: the usage error differs from the binary's"

  # The binary gone from the venv: one error with advice, exit 1.
  mv "$kfpx" "$kfpx.moved"
  set +e
  kedro_quiet kfpx --version >"$out/missing.out" 2>"$out/missing.err"
  code_missing=$?
  set -e
  mv "$kfpx.moved" "$kfpx"
  [[ $code_missing == 1 ]] && head -n 1 "$out/missing.err" | grep -q '^error: the kfpx binary of kedro-kfpx is not installed' &&
    [[ $(wc -l <"$out/missing.err") == 2 ]] && grep -q '^  help: .*pip install --force-reinstall kedro-kfpx' "$out/missing.err" || {
    cat "$out/missing.err" >&2
    fail "$name: a missing binary did not give one error with advice (exit $code_missing)"
  }

  # kedro-kubeflow installed too: one warning that names the command that ran. The fake
  # distribution first on sys.path (PYTHONPATH) makes Kedro find its `kubeflow` first; last
  # on sys.path, kfpx's.
  PYTHONPATH="$fake" kedro kubeflow compile --merge-strategy memory -o "$out/theirs.yaml" >"$out/theirs.out" 2>"$out/theirs.err" ||
    fail "$name: kedro kubeflow with the fake kedro-kubeflow failed"
  grep -q '^fake kedro-kubeflow ran: compile ' "$out/theirs.out" ||
    fail "$name: the fake kedro-kubeflow did not run first (sys.path order)"
  [[ $(grep -c . "$out/theirs.err") == 1 ]] &&
    grep -q '^warning: .*kedro-kubeflow 0.0.1.*this runs kedro-kubeflow 0.0.1.*`kedro kfpx' "$out/theirs.err" || {
    cat "$out/theirs.err" >&2
    fail "$name: no single warning that kedro-kubeflow runs"
  }
  rm -rf "$copy/.kfpx"
  (cd "$copy" && "$py" -c 'import sys; sys.path.append(sys.argv.pop(1)); sys.argv[0] = "kedro"
from kedro.framework.cli import main; main()' "$fake" kubeflow compile -q --merge-strategy memory -o "$out/ours.yaml") \
    >"$out/ours.out" 2>"$out/ours.err" || {
    cat "$out/ours.err" >&2
    fail "$name: kedro kubeflow with kfpx first failed"
  }
  cmp "$out/binary.yaml" "$out/ours.yaml" || fail "$name: kfpx did not run (sys.path order)"
  [[ $(grep -c . "$out/ours.err") == 1 ]] &&
    grep -q '^warning: .*kedro-kubeflow 0.0.1.*this runs kfpx.*pip uninstall kedro-kfpx' "$out/ours.err" || {
    cat "$out/ours.err" >&2
    fail "$name: no single warning that kfpx runs"
  }
  PYTHONPATH="$fake" kedro kfpx --version 2>"$out/kfpx-fake.err" >/dev/null
  [[ ! -s "$out/kfpx-fake.err" ]] || fail "$name: kedro kfpx warned though it is unambiguous"

  # --- 4. start-up cost (informational; benchmarks live in scripts/bench.sh) ---
  bare=$(time_ms 5 "$kfpx" --version)
  plugin=$(cd "$copy" && time_ms 3 "$venv/bin/kedro" kfpx --version)
  echo "stage-wheel: $name: start-up: kfpx --version ${bare} ms, kedro kfpx --version ${plugin} ms"
  echo "stage-wheel: $name: OK in $((SECONDS - start)) s (compile bytes, --help, error, usage error, kedro-kubeflow warning)"
done
