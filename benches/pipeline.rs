//! Benchmarks of the pure middle at 100, 1,000 and 10,000 nodes: snapshot parsing, grouping under
//! each strategy, compiling to KFP v2 IR and to Argo, YAML serialisation.
//! Run: `cargo bench` (figures and how to read them: BENCHMARKS.md).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kfpx::compile::{compile, CompileInput};
use kfpx::config::{Config, KfpVersion, MergeStrategy};
#[path = "support/synth.rs"]
mod synth;

use kfpx::graph::{group, GroupOptions, Snapshot};
use synth::{layered, SynthSpec};

const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn config() -> Config {
    serde_yaml::from_str(
        "host: https://kfp.example.com/pipeline\n\
         run_config:\n  image: registry.example.com/synthetic:1\n  experiment_name: bench\n  run_name: bench\n",
    )
    .expect("the bench config is valid")
}

fn opts() -> GroupOptions {
    GroupOptions {
        tag_prefix: "group.".into(),
        allow_memory_datasets: true,
    }
}

fn snapshots() -> Vec<(usize, Snapshot, String)> {
    SIZES
        .iter()
        .map(|&n| {
            let snap = layered(&SynthSpec::new(n));
            let json = serde_json::to_string(&snap).expect("serialises");
            (n, snap, json)
        })
        .collect()
}

fn bench_parse(c: &mut Criterion, data: &[(usize, Snapshot, String)]) {
    let mut g = c.benchmark_group("snapshot_parse");
    for (n, _, json) in data {
        g.throughput(Throughput::Elements(*n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), json, |b, json| {
            b.iter(|| serde_json::from_str::<Snapshot>(black_box(json)).expect("parses"))
        });
    }
    g.finish();
}

fn bench_grouping(c: &mut Criterion, data: &[(usize, Snapshot, String)]) {
    let strategies = [
        MergeStrategy::None,
        MergeStrategy::Full,
        MergeStrategy::Memory,
        MergeStrategy::Tags,
        MergeStrategy::Namespace,
    ];
    for strategy in strategies {
        let mut g = c.benchmark_group(format!("group_{}", strategy.as_str()));
        for (n, snap, _) in data {
            g.throughput(Throughput::Elements(*n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), snap, |b, snap| {
                b.iter(|| group(black_box(snap), "__default__", strategy, &opts()).expect("groups"))
            });
        }
        g.finish();
    }
}

fn bench_compile(c: &mut Criterion, data: &[(usize, Snapshot, String)]) {
    let config = config();
    let no_params = BTreeMap::new();
    let env = BTreeMap::new();
    for (label, version) in [
        ("compile_v2_ir", KfpVersion::V2),
        ("compile_argo", KfpVersion::V1),
    ] {
        for (n, snap, _) in data {
            let tasks = group(snap, "__default__", MergeStrategy::None, &opts())
                .expect("groups")
                .tasks;
            let input = CompileInput {
                config: &config,
                snapshot: snap,
                tasks: &tasks,
                env: "local",
                image: None,
                kfp_version: version,
                param_overrides: &no_params,
                compile_env: &env,
                strict: false,
            };
            let mut g = c.benchmark_group(label);
            g.throughput(Throughput::Elements(*n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
                b.iter(|| compile(black_box(input)).expect("compiles"))
            });
            g.finish();
            let compiled = compile(&input).expect("compiles");
            let mut y = c.benchmark_group(format!("yaml_serialise_{label}"));
            y.throughput(Throughput::Elements(*n as u64));
            y.bench_with_input(
                BenchmarkId::from_parameter(n),
                &compiled.pipeline_spec,
                |b, spec| b.iter(|| serde_yaml::to_string(black_box(spec)).expect("serialises")),
            );
            y.finish();
        }
    }
}

/// Loading kubeflow.yaml with 1,000 to 100,000 per-node keys: must stay linear (duplicate-key
/// checks and the overlay merge use hash indexes; issue 11 measured 51 s for 20 MB when they
/// were quadratic).
fn bench_config_load(c: &mut Criterion) {
    let mut g = c.benchmark_group("config_load");
    for n in [1_000usize, 10_000, 100_000] {
        let mut yaml = String::from(
            "host: https://kfp.example.com/pipeline\nrun_config:\n  image: i\n  experiment_name: e\n  run_name: r\n  resources:\n",
        );
        for i in 0..n {
            yaml.push_str(&format!("    node_{i}: {{cpu: 1}}\n"));
        }
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &yaml, |b, yaml| {
            b.iter(|| kfpx::config::load_from_str(black_box(yaml)).expect("loads"))
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_config_load(c);
    let data = snapshots();
    bench_parse(c, &data);
    bench_grouping(c, &data);
    bench_compile(c, &data);
}

criterion_group! {
    name = pipeline;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(pipeline);
