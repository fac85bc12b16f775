//! Bounded-time fuzzing on the stable toolchain (see fuzz/harness.rs).
//!
//! `cargo run --example fuzz -- [--seconds N] [--seed S] [--out DIR] [TARGET...]`: fuzz each
//! target (all when none is named) for N seconds (default 60); exit 1 when an input panicked
//! or took over a second, with the inputs saved in DIR (default .ci/work/fuzz). Move a saved
//! input to fuzz/regressions/<target>/ to replay it in every `cargo test`.

#[path = "../fuzz/harness.rs"]
mod harness;
#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut seconds = 60u64;
    let mut seed = 0x6b66_7078u64;
    let mut out = PathBuf::from(".ci/work/fuzz");
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).unwrap_or(60),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--out" => out = args.next().map(PathBuf::from).unwrap_or(out),
            name => names.push(name.to_string()),
        }
    }
    let all = targets::all();
    for n in &names {
        if !all.iter().any(|t| t.name == n) {
            let known: Vec<&str> = all.iter().map(|t| t.name).collect();
            eprintln!(
                "error: no fuzz target {n:?} (targets: {})",
                known.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let mut failed = false;
    for t in all
        .iter()
        .filter(|t| names.is_empty() || names.iter().any(|n| n == t.name))
    {
        let r = harness::fuzz(t, Duration::from_secs(seconds), seed, &out);
        println!(
            "fuzz {}: {} inputs in {}s, corpus {}, slowest {:.1} ms, {} failure(s)",
            t.name,
            r.execs,
            seconds,
            r.corpus,
            r.slowest.as_secs_f64() * 1000.0,
            r.failures.len()
        );
        for f in &r.failures {
            println!("  {f}");
            failed = true;
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
