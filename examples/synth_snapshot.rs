//! Write a synthetic layered Kedro graph as a kfpx snapshot (for benchmarks and scale tests).
//!
//! Usage: cargo run --release --example synth_snapshot -- NODES [WIDTH] [SEED] > snapshot.json

#[path = "../benches/support/synth.rs"]
mod synth;

use synth::{layered, SynthSpec};

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::synth::*;

    #[test]
    fn same_spec_same_graph_and_requested_size() {
        let spec = SynthSpec::new(1000);
        let a = layered(&spec);
        let b = layered(&spec);
        assert_eq!(a, b);
        let nodes = &a.pipelines["__default__"].nodes;
        assert_eq!(nodes.len(), 1000);
        let other = layered(&SynthSpec { seed: 8, ..spec });
        assert_ne!(a, other, "the seed must change the edges");
    }

    #[test]
    fn every_input_is_produced_by_the_previous_layer_or_raw() {
        let snap = layered(&SynthSpec::new(300));
        let nodes = &snap.pipelines["__default__"].nodes;
        let mut produced_in_layer = BTreeMap::new();
        for (idx, n) in nodes.iter().enumerate() {
            produced_in_layer.insert(n.outputs[0].clone(), idx / 50);
        }
        for (idx, n) in nodes.iter().enumerate() {
            let layer = idx / 50;
            let data_inputs: Vec<_> = n
                .inputs
                .iter()
                .filter(|i| !i.starts_with("params:"))
                .collect();
            assert!(
                (1..=3).contains(&data_inputs.len()),
                "{}: {:?}",
                n.name,
                n.inputs
            );
            for input in data_inputs {
                match produced_in_layer.get(input) {
                    Some(l) => assert_eq!(*l + 1, layer, "{} reads {input}", n.name),
                    None => assert!(input.starts_with("raw_") && layer == 0),
                }
            }
        }
        let memory = snap.datasets.values().filter(|d| d.memory).count();
        assert!(memory > 0 && memory < snap.datasets.len());
    }
}
