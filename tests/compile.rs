//! `kfpx compile` end to end: conf-example (from its snapshot, no Python, no server) to KFP v2
//! IR and Argo, stdout, determinism, `--param`, and every bad-input case (one clear line).

use std::path::{Path, PathBuf};

#[path = "support/cmd.rs"]
mod cmd;

use assert_cmd::Command;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn conf_example() -> PathBuf {
    repo().join("conf-example")
}

fn snapshot() -> PathBuf {
    conf_example().join("kfpx-snapshot.json")
}

/// kfpx on conf-example's snapshot with a clean environment.
fn kfpx(project: &Path, args: &[&str]) -> Command {
    let mut cmd = cmd::kfpx();
    cmd.arg("-C")
        .arg(project)
        .arg("--snapshot")
        .arg(snapshot())
        .args(args);
    cmd.env("NO_COLOR", "1");
    cmd
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Exit `code` with one stderr line containing every needle, nothing on stdout.
fn fails_with(mut cmd: Command, code: i32, needles: &[&str]) {
    let out = cmd.assert().code(code).stdout("").get_output().clone();
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

fn docs(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect()
}

/// A throwaway project: conf-example's pyproject and a given base kubeflow.yaml.
fn project_with(kubeflow_yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        conf_example().join("pyproject.toml"),
        dir.path().join("pyproject.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
    std::fs::write(dir.path().join("conf/base/kubeflow.yaml"), kubeflow_yaml).unwrap();
    dir
}

const MINIMAL: &str = "host: https://kfp.example.com/pipeline\nrun_config:\n  image: reg/spaceflights:1\n  experiment_name: spaceflights\n  run_name: spaceflights run\n  node_merge_strategy: memory\n";

#[test]
fn conf_example_compiles_to_v2_ir_offline() {
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("pipeline.yaml");
    let out = kfpx(&conf_example(), &["compile", "-o", file.to_str().unwrap()])
        .assert()
        .success()
        .stdout("")
        .get_output()
        .clone();
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!(
            "Compiled __default__ (8 tasks, KFP v2 IR) to {}",
            file.display()
        )),
        "{err}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let d = docs(&text);
    assert_eq!(d.len(), 2, "PipelineSpec then PlatformSpec");
    let spec = &d[0];
    assert_eq!(spec["schemaVersion"], "2.1.0");
    assert_eq!(spec["pipelineInfo"]["name"], "spaceflights");
    // conf-example: volume (created before, deleted after) and the `reporting` on-exit pipeline:
    // one exit task (`exit-steps`) that runs on-exit, then deletes the volume.
    let root = spec["root"]["dag"]["tasks"].as_object().unwrap();
    let names: Vec<&String> = root.keys().collect();
    assert_eq!(
        names,
        vec!["data-volume-create", "exit-handler-1", "exit-steps"]
    );
    let steps = spec["components"]["comp-exit-steps"]["dag"]["tasks"]
        .as_object()
        .unwrap();
    assert_eq!(
        steps["data-volume-delete"]["dependentTasks"],
        serde_json::json!(["on-exit"])
    );
    // Only the parameter a node reads is a pipeline parameter.
    let params: Vec<&String> = spec["root"]["inputDefinitions"]["parameters"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(params, vec!["data_science"]);
    // The image comes from the config, with the placeholder's default filled in.
    let exec = &spec["deploymentSpec"]["executors"]["exec-data-science-split-data-node"];
    let image = exec["container"]["image"].as_str().unwrap();
    assert!(
        image.starts_with("ghcr.io/example/spaceflights:") && !image.contains("${"),
        "{image}"
    );
    assert!(d[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"].is_object());
}

/// Everything that ships compiles: the production overlay of conf-example too (it once set
/// `node_merge_strategy: none`, with which a MemoryDataset crossed pods and compile failed).
#[test]
fn conf_example_production_overlay_compiles() {
    for version in ["2", "1"] {
        let out = kfpx(
            &conf_example(),
            &[
                "-e",
                "production",
                "compile",
                "--kfp-version",
                version,
                "-o",
                "-",
            ],
        )
        .assert()
        .success()
        .get_output()
        .clone();
        assert!(!out.stdout.is_empty());
        let err = stderr_of(&out);
        assert!(!err.contains("error"), "{err}");
    }
}

#[test]
fn stdout_output_is_deterministic_and_matches_the_file() {
    let a = kfpx(&conf_example(), &["compile", "-o", "-"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let b = kfpx(&conf_example(), &["compile", "-o", "-"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(a, b, "same input, same bytes");
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("p.yml");
    kfpx(&conf_example(), &["compile", "-o", file.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(std::fs::read(&file).unwrap(), a);
}

#[test]
fn kfp_version_1_writes_an_argo_workflow() {
    let out = kfpx(
        &conf_example(),
        &[
            "compile",
            "--kfp-version",
            "1",
            "--merge-strategy",
            "namespace",
            "-o",
            "-",
        ],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    let wf: Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(wf["kind"], "Workflow");
    assert_eq!(wf["metadata"]["generateName"], "spaceflights-");
    assert_eq!(wf["spec"]["serviceAccountName"], "pipeline-runner");
    let names: Vec<&str> = wf["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in [
        "data-processing",
        "data-science",
        "reporting",
        "data-volume-create",
        "on-exit",
    ] {
        assert!(names.contains(&t), "no template {t}: {names:?}");
    }
}

#[test]
fn param_override_changes_the_default_and_keeps_its_type() {
    let out = kfpx(
        &conf_example(),
        &[
            "compile",
            "-o",
            "-",
            "--param",
            "data_science={model_options: {test_size: 0.3, random_state: 7, features: [engines]}}",
        ],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    let d = docs(std::str::from_utf8(&out.stdout).unwrap());
    let p = &d[0]["root"]["inputDefinitions"]["parameters"]["data_science"];
    assert_eq!(p["parameterType"], "STRUCT");
    assert_eq!(p["defaultValue"]["model_options"]["test_size"], 0.3);
    assert_eq!(p["defaultValue"]["model_options"]["features"][0], "engines");
}

#[test]
fn unknown_param_lists_the_real_ones() {
    fails_with(
        kfpx(
            &conf_example(),
            &["compile", "-o", "-", "--param", "data_sciense=1"],
        ),
        1,
        &[
            "no parameter \"data_sciense\"",
            "did you mean \"data_science\"",
            "its parameters are: data_science",
        ],
    );
}

#[test]
fn param_without_separator_is_a_usage_error() {
    fails_with(
        kfpx(
            &conf_example(),
            &["compile", "-o", "-", "--param", "data_science"],
        ),
        2,
        &["--param \"data_science\" has no value", "key=value"],
    );
}

#[test]
fn output_in_a_missing_directory() {
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("nope/pipeline.yaml");
    fails_with(
        kfpx(&conf_example(), &["compile", "-o", file.to_str().unwrap()]),
        1,
        &["does not exist", "nope"],
    );
    assert!(!file.exists());
}

#[test]
fn unsupported_output_extension() {
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("pipeline.txt");
    fails_with(
        kfpx(&conf_example(), &["compile", "-o", file.to_str().unwrap()]),
        2,
        &["unsupported extension .txt", ".yaml or *.yml"],
    );
    assert!(!file.exists());
}

#[test]
fn a_failed_compile_leaves_the_existing_file_untouched() {
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("pipeline.yaml");
    std::fs::write(&file, "previous\n").unwrap();
    kfpx(
        &conf_example(),
        &["compile", "-o", file.to_str().unwrap(), "--param", "nope=1"],
    )
    .assert()
    .code(1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "previous\n");
    let leftovers: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
}

/// A compile error about a config key carries the key's path (not a message to parse), so the
/// line points at the key itself, dotted node names included.
#[test]
fn a_compile_error_about_a_config_key_is_placed_at_that_key() {
    let cfg = format!("{MINIMAL}  resources:\n    data_science.train_modle_node: {{cpu: 2}}\n");
    let dir = project_with(&cfg);
    let out = kfpx(dir.path(), &["compile", "-o", "-", "--strict"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let err = stderr_of(&out);
    let file = dir.path().join("conf/base/kubeflow.yaml");
    assert_eq!(
        err,
        format!(
            "error: {}:8:5: run_config.resources[\"data_science.train_modle_node\"]: matches no node or tag of the project; did you mean \"data_science.train_model_node\"? (an error because of --strict)\n",
            file.display()
        )
    );
}

#[test]
fn unknown_per_node_key_warns_and_fails_under_strict() {
    let cfg = format!(
        "{MINIMAL}  resources:\n    data_import_step: {{memory: 2Gi}}\n    data_science.train_modle_node: {{cpu: 2}}\n"
    );
    let dir = project_with(&cfg);
    let out = kfpx(dir.path(), &["compile", "-o", "-"])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = stderr_of(&out);
    assert!(
        err.contains("run_config.resources.data_science.train_modle_node matches no node or tag of the project; did you mean \"data_science.train_model_node\"?"),
        "{err}"
    );
    assert!(
        err.contains("run_config.resources.data_import_step"),
        "{err}"
    );
    fails_with(
        kfpx(dir.path(), &["compile", "-o", "-", "--strict"]),
        1,
        &["data_import_step", "--strict"],
    );
}

#[test]
fn invalid_resource_quantity() {
    let dir = project_with(&format!(
        "{MINIMAL}  resources:\n    __default__: {{cpu: lots}}\n"
    ));
    fails_with(
        kfpx(dir.path(), &["compile", "-o", "-"]),
        1,
        &["resources", "cpu", "lots"],
    );
}

#[test]
fn invalid_toleration() {
    let dir = project_with(&format!(
        "{MINIMAL}  tolerations:\n    __default__: [{{key: a, operator: Equals, value: b, effect: NoSchedule}}]\n"
    ));
    fails_with(
        kfpx(dir.path(), &["compile", "-o", "-"]),
        1,
        &["tolerations", "Equals"],
    );
}

#[test]
fn bad_retry_policy() {
    let dir = project_with(&format!(
        "{MINIMAL}  retry_policy:\n    __default__: {{num_retries: 3, backoff_duration: soon, backoff_factor: 2}}\n"
    ));
    fails_with(
        kfpx(dir.path(), &["compile", "-o", "-"]),
        1,
        &["retry_policy", "backoff_duration", "soon"],
    );
}

#[test]
fn kedro_config_variables_reach_the_pods_and_others_do_not() {
    let out = kfpx(&conf_example(), &["compile", "-o", "-"])
        .env("KEDRO_CONFIG_MY_KEY", "my-value")
        .env("SOME_VALUE", "not-passed")
        .assert()
        .success()
        .get_output()
        .clone();
    let d = docs(std::str::from_utf8(&out.stdout).unwrap());
    let env = &d[0]["deploymentSpec"]["executors"]["exec-data-science-split-data-node"]
        ["container"]["env"];
    let names: Vec<&str> = env
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"KEDRO_CONFIG_MY_KEY"), "{names:?}");
    assert!(!names.contains(&"SOME_VALUE"), "{names:?}");
    // conf-example's run_config.env is there too.
    assert!(names.contains(&"AWS_DEFAULT_REGION"), "{names:?}");
}
