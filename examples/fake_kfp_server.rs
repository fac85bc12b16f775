//! The in-process fake KFP server of the integration tests (tests/support/fake_kfp.rs) as a
//! process, seeded with many runs, for `scripts/bench-runs.sh`. Prints its URL, serves until
//! stdin closes.
//!
//! Usage: `cargo run --release --example fake_kfp_server -- RUNS`

#![allow(dead_code)]

#[path = "../tests/support/fake_kfp.rs"]
mod fake_kfp;

use std::io::Read;

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let fake = fake_kfp::FakeKfp::start();
    let exp = fake.seed_experiment("bench-exp", "");
    let (pid, vid) = fake.seed_pipeline("[bench] __default__ (env: local)", "");
    fake.seed_runs(runs, &exp, (&pid, &vid));
    println!("{}", fake.url());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}
