//! Issue 12: the first run of a kedro-kubeflow user on a real Kedro project. Spaceflights as
//! its starter ships it passes `X_train`, `y_train`, `X_test`, `y_test` between nodes as
//! implicit MemoryDatasets (no catalog entry); the config is the one `kedro kubeflow init`
//! writes (no `node_merge_strategy`). `compile`, `upload-pipeline` (against the fake KFP
//! server) and `graph` must all succeed with no flags, and every MemoryDataset's writer and
//! readers must run in one pod.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use support::fake_kfp::FakeKfp;

fn conf_example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conf-example")
}

/// The effective content kedro-kubeflow 0.11's `init` writes (kedro-kubeflow `kedro_kubeflow/config.py`, `DEFAULT_CONFIG_TEMPLATE`), with
/// the host of the test's server.
fn plugin_init_config(host: &str) -> String {
    format!(
        r#"host: {host}
run_config:
  image: spaceflights
  image_pull_policy: IfNotPresent
  experiment_name: spaceflights
  run_name: spaceflights
  scheduled_run_name: spaceflights
  wait_for_completion: False
  ttl: 604800
  volume: {{storageclass: null, size: 1Gi, skip_init: False, owner: 0, keep: False}}
  resources:
    data_import_step: {{memory: 2Gi}}
    model_training: {{cpu: 8, memory: 1Gi}}
    tensorflow_step: {{nvidia.com/gpu: 1}}
    __default__: {{cpu: 1, memory: 1Gi}}
  extra_volumes:
    tensorflow_step:
    - mount_path: /dev/shm
      volume: {{name: shared_memory, empty_dir: {{cls: V1EmptyDirVolumeSource, params: {{medium: Memory}}}}}}
  retry_policy:
    wait_for_partition_availability: {{num_retries: 90, backoff_duration: 5m, backoff_factor: 1}}
    __default__: {{num_retries: 4, backoff_duration: 60s, backoff_factor: 2}}
  tolerations:
    __default__: [{{key: dedicated, operator: Equal, value: ml-ops, effect: NoSchedule}}]
    node_a:      [{{key: gpu_resource, operator: Equal, value: voltaire, effect: NoSchedule}}]
"#
    )
}

/// The data_science datasets the spaceflights starter keeps in memory.
const IMPLICIT: [&str; 4] = [
    "data_science.X_train",
    "data_science.y_train",
    "data_science.X_test",
    "data_science.y_test",
];

/// A project like spaceflights from its starter: conf-example's graph with the model inputs
/// as implicit MemoryDatasets (as the probe reports them), and `config` as its kubeflow.yaml.
fn spaceflights(config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        conf_example().join("pyproject.toml"),
        dir.path().join("pyproject.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
    std::fs::write(dir.path().join("conf/base/kubeflow.yaml"), config).unwrap();
    let mut snap: Value = serde_json::from_str(
        &std::fs::read_to_string(conf_example().join("kfpx-snapshot.json")).unwrap(),
    )
    .unwrap();
    for name in IMPLICIT {
        snap["datasets"][name] = serde_json::json!({"memory": true});
    }
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, serde_json::to_string_pretty(&snap).unwrap()).unwrap();
    (dir, path)
}

fn kfpx(dir: &Path, snapshot: &Path) -> Command {
    let mut cmd = support::cmd::kfpx();
    cmd.env("HOME", dir.join("home"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .arg("--snapshot")
        .arg(snapshot);
    cmd
}

/// Which Kedro nodes run in which pod of a compiled v2 IR: each task's `kedro-nodes` input,
/// the list its `kedro run --nodes` receives.
fn pods(ir: &str) -> Vec<BTreeSet<String>> {
    let spec: serde_yaml::Value =
        serde_yaml::from_str(ir.split("\n---\n").next().unwrap()).unwrap();
    let dags = std::iter::once(&spec["root"]).chain(
        spec["components"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(_, c)| c),
    );
    let mut pods = Vec::new();
    for dag in dags {
        let Some(tasks) = dag["dag"]["tasks"].as_mapping() else {
            continue;
        };
        for (_, task) in tasks {
            let list = &task["inputs"]["parameters"]["kedro-nodes"]["runtimeValue"]["constant"];
            if let Some(list) = list.as_str() {
                pods.push(list.split(',').map(str::to_string).collect());
            }
        }
    }
    pods
}

/// For each dataset: the node that writes it and the nodes that read it (`__default__`).
fn links(snapshot: &Path) -> BTreeMap<String, (String, Vec<String>)> {
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(snapshot).unwrap()).unwrap();
    let mut out: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let nodes = snap["pipelines"]["__default__"]["nodes"]
        .as_array()
        .unwrap();
    for n in nodes {
        for o in n["outputs"].as_array().unwrap() {
            out.entry(o.as_str().unwrap().to_string()).or_default().0 =
                n["name"].as_str().unwrap().to_string();
        }
    }
    for n in nodes {
        for i in n["inputs"].as_array().unwrap() {
            if let Some(e) = out.get_mut(i.as_str().unwrap()) {
                e.1.push(n["name"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

#[test]
fn a_kedro_kubeflow_user_s_first_run_works_with_no_flags() {
    let fake = FakeKfp::start();
    let (dir, snapshot) = spaceflights(&plugin_init_config(&fake.url()));

    // compile
    let out = kfpx(dir.path(), &snapshot)
        .arg("compile")
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("error"), "{stderr}");
    let ir = std::fs::read_to_string(dir.path().join("pipeline.yml")).unwrap();
    let pods = pods(&ir);
    let nodes: usize = pods.iter().map(|p| p.len()).sum();
    assert_eq!(nodes, 10, "every node runs once: {pods:?}");
    // Each MemoryDataset's writer and readers share a pod...
    let links = links(&snapshot);
    for name in IMPLICIT
        .iter()
        .chain(["reporting.passenger_capacity"].iter())
    {
        let (writer, readers) = &links[*name];
        assert!(!readers.is_empty(), "{name}");
        let pod = pods.iter().find(|p| p.contains(writer)).unwrap();
        for r in readers {
            assert!(
                pod.contains(r),
                "{name}: {writer} and {r} in different pods: {pods:?}"
            );
        }
    }
    // ...and every other node keeps a pod of its own, as with kedro-kubeflow's `none`.
    assert_eq!(pods.len(), 6, "two groups and four lone nodes: {pods:?}");
    for alone in [
        "data_processing.preprocess_companies_node",
        "data_processing.preprocess_shuttles_node",
        "data_processing.create_model_input_table_node",
        "reporting.create_confusion_matrix_node",
    ] {
        assert!(
            pods.iter().any(|p| p.len() == 1 && p.contains(alone)),
            "{alone}: {pods:?}"
        );
    }

    // upload-pipeline, against the fake server
    kfpx(dir.path(), &snapshot)
        .arg("upload-pipeline")
        .assert()
        .success();
    fake.assert_no_violations();
    let pipelines: Vec<Value> = fake
        .pipelines()
        .into_iter()
        .filter(|p| {
            p["display_name"]
                .as_str()
                .unwrap_or("")
                .contains("__default__ (env: local)")
        })
        .collect();
    assert_eq!(pipelines.len(), 1, "{:?}", fake.pipelines());
    // The uploaded spec (every version of it) groups them too.
    let versions = fake.pipeline_versions(pipelines[0]["pipeline_id"].as_str().unwrap());
    assert!(!versions.is_empty());
    for v in &versions {
        let uploaded = serde_json::to_string(&v["pipeline_spec"]).unwrap();
        assert!(
            uploaded.contains(
                r#""kedro-nodes":{"runtimeValue":{"constant":"data_science.split_data_node,data_science.train_model_node"#
            ),
            "{uploaded}"
        );
    }

    // graph, in every format: no warning, no refusal
    for format in ["text", "json", "mermaid", "dot"] {
        kfpx(dir.path(), &snapshot)
            .args(["graph", "--format", format])
            .assert()
            .success()
            .stderr("");
    }
}

/// An explicit `node_merge_strategy: none` keeps kedro-kubeflow's behaviour and kfpx's refusal:
/// compile fails with a short first line that counts and names the MemoryDatasets, and the
/// `kfpx graph` command its help names, run literally, shows and marks all of them.
#[test]
fn explicit_none_refuses_and_its_advice_works_literally() {
    let fake = FakeKfp::start();
    let config = plugin_init_config(&fake.url()) + "  node_merge_strategy: none\n";
    let (dir, snapshot) = spaceflights(&config);
    let out = kfpx(dir.path(), &snapshot)
        .args(["compile", "-p", "data_science"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    assert!(!dir.path().join("pipeline.yml").exists());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert_eq!(
        lines[0],
        "error: 4 MemoryDatasets cross pods in pipeline `data_science` with merge strategy \
         `none`: `data_science.X_test`, `data_science.X_train`, `data_science.y_test` and 1 more"
    );
    for line in &lines {
        assert!(line.chars().count() <= 200, "{} chars: {line}", line.len());
    }
    assert!(
        lines[1..].iter().all(|l| l.starts_with("  help: ")),
        "{stderr}"
    );

    // The advice: `--merge-strategy memory` compiles.
    kfpx(dir.path(), &snapshot)
        .args([
            "compile",
            "-p",
            "data_science",
            "--merge-strategy",
            "memory",
        ])
        .assert()
        .success();

    // The advice: the graph command line, copied out of the error and run by a shell.
    let last = lines.last().unwrap();
    let command = last.split('`').nth(1).unwrap();
    assert!(command.starts_with("kfpx "), "{last}");
    let bin = assert_cmd::cargo::cargo_bin("kfpx");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sh = std::process::Command::new("sh");
    support::cmd::clean(&mut sh);
    let out = sh
        .arg("-c")
        .arg(command)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    // The user ran compile with --snapshot, so the command carries it too.
    assert!(command.contains("--snapshot"), "{command}");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for name in IMPLICIT {
        assert!(
            text.contains(&format!("  {name} [MemoryDataset: lost between pods]: ")),
            "{name} not marked in:\n{text}"
        );
    }
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("compile would refuse"));

    // `graph` itself never refuses.
    kfpx(dir.path(), &snapshot)
        .args(["graph", "-p", "data_science"])
        .assert()
        .success();
}

/// `kfpx init` writes the default strategy, switched on, under a comment that says what it
/// does and what `none` does; `config -v` then shows where it came from.
#[test]
fn init_writes_the_memory_strategy_with_a_comment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        conf_example().join("pyproject.toml"),
        dir.path().join("pyproject.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
    let snapshot = conf_example().join("kfpx-snapshot.json");
    kfpx(dir.path(), &snapshot)
        .args(["init", "https://kfp.example.com/pipeline"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("conf/base/kubeflow.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "  node_merge_strategy: memory")
        .unwrap_or_else(|| panic!("no active node_merge_strategy line in:\n{text}"));
    let comment: Vec<&str> = lines[..at]
        .iter()
        .rev()
        .take_while(|l| l.trim_start().starts_with('#'))
        .copied()
        .collect();
    let comment = comment.join(" ");
    assert!(comment.contains("MemoryDataset"), "{comment}");
    assert!(comment.contains("none"), "{comment}");
    let out = kfpx(dir.path(), &snapshot)
        .args(["-v", "config"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.lines().any(|l| l
            .trim_start()
            .starts_with("node_merge_strategy: memory  # conf/base/kubeflow.yaml:")),
        "{out}"
    );
}

/// `compile --help` promises only the file names compile accepts (issue 16 item 10).
#[test]
fn compile_help_promises_only_what_compile_accepts() {
    let help = support::cmd::kfpx()
        .args(["compile", "--help"])
        .output()
        .unwrap()
        .stdout;
    let help = String::from_utf8(help).unwrap();
    assert!(!help.contains(".json"), "{help}");
    let dir = tempfile::tempdir().unwrap();
    let (project, snapshot) = spaceflights(&plugin_init_config("http://127.0.0.1:9"));
    kfpx(project.path(), &snapshot)
        .arg("compile")
        .arg("-o")
        .arg(dir.path().join("p.json"))
        .assert()
        .failure();
}
