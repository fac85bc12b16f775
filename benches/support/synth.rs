//! Synthetic Kedro graphs for benchmarks and scale tests: layered DAGs written as snapshots.
//!
//! `layered(&SynthSpec { nodes: 1000, width: 50, seed: 7, .. })` gives `nodes` nodes in layers
//! of `width`; each node of layer L > 0 reads 1–3 outputs of layer L-1 (chosen by a seeded
//! generator, so the same spec always gives the same graph) plus one parameter, and writes one
//! dataset. Every `memory_every`-th dataset is a MemoryDataset (the rest are CSV/Parquet/pickle
//! files); nodes carry a `group.<band>` tag and a namespace per band of layers, so the `tags`
//! and `namespace` strategies have groups to form and stay acyclic.
//!
//! Not part of the library: included by `benches/pipeline.rs` and
//! `examples/synth_snapshot.rs` (whose tests run this file's under `cargo test`).

use std::collections::BTreeMap;

use serde_json::json;

use kfpx::graph::snapshot::{
    DatasetDef, NodeDef, PipelineDef, ProjectInfo, Snapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION,
};

/// The shape of a synthetic graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSpec {
    /// Number of nodes.
    pub nodes: usize,
    /// Nodes per layer.
    pub width: usize,
    /// Seed of the edge choice.
    pub seed: u64,
    /// Every n-th dataset is in memory (0: none).
    pub memory_every: usize,
    /// Layers per namespace / tag group.
    pub band: usize,
}

impl SynthSpec {
    /// A layered graph of `nodes` nodes with the defaults used by the benchmarks.
    pub fn new(nodes: usize) -> SynthSpec {
        SynthSpec {
            nodes,
            width: 50.min(nodes.max(1)),
            seed: 7,
            memory_every: 10,
            band: 4,
        }
    }
}

/// SplitMix64: a tiny generator whose sequence is fixed by definition, so the graphs never change
/// between versions of kfpx or of any crate.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FILE_TYPES: [(&str, &str); 3] = [
    ("pandas.CSVDataset", "csv"),
    ("pandas.ParquetDataset", "parquet"),
    ("pickle.PickleDataset", "pkl"),
];

/// Build the layered snapshot described by `spec`. Its only pipeline is `__default__`.
pub fn layered(spec: &SynthSpec) -> Snapshot {
    let width = spec.width.max(1);
    let band = spec.band.max(1);
    let mut rng = SplitMix64(spec.seed);
    let mut nodes = Vec::with_capacity(spec.nodes);
    let mut datasets = BTreeMap::new();
    let mut dataset_count = 0usize;
    let mut add_dataset = |name: String, datasets: &mut BTreeMap<String, DatasetDef>| {
        dataset_count += 1;
        let def = if spec.memory_every > 0 && dataset_count.is_multiple_of(spec.memory_every) {
            DatasetDef {
                ty: None,
                memory: true,
                filepath: None,
            }
        } else {
            let (ty, ext) = FILE_TYPES[dataset_count % FILE_TYPES.len()];
            DatasetDef {
                ty: Some(ty.to_string()),
                memory: false,
                filepath: Some(format!("data/02_intermediate/{name}.{ext}")),
            }
        };
        datasets.insert(name, def);
    };

    let layers = spec.nodes.div_ceil(width);
    let mut previous: Vec<String> = Vec::new();
    for layer in 0..layers {
        let namespace = format!("stage_{}", layer / band);
        let in_layer = width.min(spec.nodes - layer * width);
        let mut current = Vec::with_capacity(in_layer);
        for i in 0..in_layer {
            let mut inputs = Vec::with_capacity(4);
            if previous.is_empty() {
                let raw = format!("raw_{i}");
                datasets.insert(
                    raw.clone(),
                    DatasetDef {
                        ty: Some("pandas.CSVDataset".into()),
                        memory: false,
                        filepath: Some(format!("data/01_raw/{raw}.csv")),
                    },
                );
                inputs.push(raw);
            } else {
                let reads = 1 + rng.below(3);
                for _ in 0..reads {
                    let pick = &previous[rng.below(previous.len())];
                    if !inputs.contains(pick) {
                        inputs.push(pick.clone());
                    }
                }
            }
            inputs.push(format!("params:model.p{}", i % 10));
            let output = format!("{namespace}.ds_{layer}_{i}");
            add_dataset(output.clone(), &mut datasets);
            nodes.push(NodeDef {
                name: format!("{namespace}.node_{layer}_{i}"),
                inputs,
                outputs: vec![output.clone()],
                tags: vec![
                    format!("group.band_{}", layer / band),
                    format!("layer_{layer}"),
                ],
                namespace: Some(namespace.clone()),
            });
            current.push(output);
        }
        previous = current;
    }

    let params: serde_json::Map<String, serde_json::Value> = (0..10)
        .map(|p| (format!("p{p}"), json!({"alpha": p, "layers": [p, p + 1]})))
        .collect();
    let mut pipelines = BTreeMap::new();
    pipelines.insert("__default__".to_string(), PipelineDef { nodes });
    Snapshot {
        format: SNAPSHOT_FORMAT.to_string(),
        version: SNAPSHOT_VERSION,
        project: ProjectInfo {
            name: format!("synthetic-{}", spec.nodes),
            package: Some("synthetic".into()),
            kedro_version: "1.0.0".into(),
        },
        env: Some("local".into()),
        pipelines,
        datasets,
        parameters: json!({ "model": params }),
    }
}
