//! Write a synthetic layered Kedro graph as a kfpx snapshot (for benchmarks and scale tests).
//!
//! Usage: cargo run --release --example synth_snapshot -- NODES [WIDTH] [SEED] > snapshot.json

use kfpx::graph::synth::{layered, SynthSpec};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse =
        |i: usize| -> Option<u64> { args.get(i).map(|a| a.parse().unwrap_or_else(|_| usage(a))) };
    let nodes = parse(0).unwrap_or_else(|| usage("missing NODES")) as usize;
    let mut spec = SynthSpec::new(nodes);
    if let Some(w) = parse(1) {
        spec.width = w as usize;
    }
    if let Some(s) = parse(2) {
        spec.seed = s;
    }
    let snapshot = layered(&spec);
    println!(
        "{}",
        serde_json::to_string_pretty(&snapshot).expect("a snapshot serialises")
    );
}

fn usage(problem: &str) -> ! {
    eprintln!("error: {problem}\nusage: synth_snapshot NODES [WIDTH] [SEED] > snapshot.json");
    std::process::exit(2)
}
