#!/usr/bin/env bash
# CI stage: fuzz KFP API response parsing for 60 s (tests/fuzz_kfp_responses.rs: a seeded,
# structure-aware mutator on stable Rust; cargo-fuzz would need nightly). Zero crashes and no
# input over 1 s; a failing input is kept in .ci/work/fuzz-crashers/ (copy it into
# tests/fuzz/kfp-responses/ to keep it as a regression test). Needs nothing beyond cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
KFPX_FUZZ_SECS="${KFPX_FUZZ_SECS:-60}" cargo test --quiet --test fuzz_kfp_responses -- --nocapture
