#!/usr/bin/env bash
# CI stage: `kfpx graph --format mermaid|dot` must parse with the real Mermaid and Graphviz
# parsers, for every merge strategy, on conf-example and on a snapshot of awkward names.
# Installs mermaid + jsdom and @hpcc-js/wasm-graphviz (Graphviz compiled to WebAssembly)
# into .ci/work/graph-check with npm; runs the ignored test of tests/graph.rs that uses them.
set -euo pipefail
cd "$(dirname "$0")/.."

work=.ci/work/graph-check
packages=(mermaid@11.17.2 jsdom@29.1.1 @hpcc-js/wasm-graphviz@1.29.2)
stamp="$work/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${packages[*]}" ]; then
  rm -rf "$work"
  mkdir -p "$work"
  npm install --prefix "$work" --no-audit --no-fund --no-save --silent "${packages[@]}"
  echo "${packages[*]}" >"$stamp"
fi

# The parsers themselves must reject bad input, or the check proves nothing.
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
printf 'flowchart TD\n  a["unclosed --> b\n' >"$bad/bad.mmd"
printf 'digraph { a -> }\n' >"$bad/bad.dot"
export KFPX_GRAPH_NODE_MODULES="$PWD/$work/node_modules"
if node .ci/graph-check.mjs "$bad/bad.mmd" >/dev/null || node .ci/graph-check.mjs "$bad/bad.dot" >/dev/null; then
  echo "stage-graph: the parsers accepted broken input" >&2
  exit 1
fi

KFPX_GRAPH_CHECK="$PWD/.ci/graph-check.mjs" \
  cargo test --test graph mermaid_and_dot_pass_their_parsers -- --ignored
