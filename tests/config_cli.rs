//! `kfpx config`: effective config, provenance, --check, and every bad-input case (exit 1, one
//! clear line, no backtrace).

use std::path::{Path, PathBuf};

#[path = "support/cmd.rs"]
mod cmd;

use assert_cmd::Command;

const MINIMAL: &str = "host: https://kfp.example.com/pipeline\nrun_config:\n  image: reg/spaceflights:latest\n  experiment_name: spaceflights\n  run_name: spaceflights run\n";

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.kedro]\nproject_name = \"spaceflights\"\npackage_name = \"spaceflights\"\nkedro_init_version = \"1.0.0\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
        Project { dir }
    }

    fn with_base(text: &str) -> Project {
        let p = Project::new();
        p.write("conf/base/kubeflow.yaml", text);
        p
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn kfpx(&self, args: &[&str]) -> Command {
        let mut cmd = cmd::kfpx();
        cmd.arg("-C").arg(self.path()).args(args);
        cmd.env("RUST_BACKTRACE", "1");
        cmd
    }
}

/// Exit 1 with exactly one stderr line that contains every `needles` and no panic/backtrace,
/// and nothing on stdout.
fn fails_with(cmd: &mut Command, needles: &[&str]) {
    let out = cmd.assert().code(1).stdout("").get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in: {err}");
    }
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!err.contains(bad), "{err}");
    }
}

#[test]
fn prints_the_effective_config_with_defaults_as_yaml() {
    let p = Project::with_base(MINIMAL);
    let out = p.kfpx(&["config"]).assert().success().get_output().clone();
    let v: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(v["host"], "https://kfp.example.com/pipeline");
    assert_eq!(v["run_config"]["image"], "reg/spaceflights:latest");
    // defaults filled in, as kedro-kubeflow's
    assert_eq!(v["run_config"]["ttl"], 604800);
    assert_eq!(v["run_config"]["image_pull_policy"], "IfNotPresent");
    assert_eq!(v["run_config"]["resources"]["__default__"]["cpu"], "500m");
    // kfpx's merge default (kedro-kubeflow's was `none`)
    assert_eq!(v["run_config"]["node_merge_strategy"], "memory");
    assert!(out.stderr.is_empty());
}

#[test]
fn json_output_and_env_overlay() {
    let p = Project::with_base(MINIMAL);
    p.write(
        "conf/production/kubeflow.yaml",
        "run_config:\n  image: reg/spaceflights:prod\n  resources:\n    __default__: {memory: 4Gi}\n",
    );
    let out = p
        .kfpx(&["-e", "production", "config", "--output", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run_config"]["image"], "reg/spaceflights:prod");
    assert_eq!(v["run_config"]["experiment_name"], "spaceflights");
    assert_eq!(
        v["run_config"]["resources"]["__default__"],
        serde_json::json!({"memory": "4Gi"})
    );
    // KEDRO_ENV chooses the env too
    let out = p
        .kfpx(&["config", "-o", "json"])
        .env("KEDRO_ENV", "production")
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run_config"]["image"], "reg/spaceflights:prod");
}

#[test]
fn verbose_names_where_each_value_came_from() {
    let p = Project::with_base(&MINIMAL.replace(
        "image: reg/spaceflights:latest",
        "image: \"reg/spaceflights:${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}\"",
    ));
    p.write(
        "conf/production/kubeflow.yaml",
        "run_config:\n  ttl: 3600\n",
    );
    let out = p
        .kfpx(&["-e", "production", "-v", "config"])
        .env("KEDRO_CONFIG_COMMIT_ID", "abc1234")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in\n{text}"))
    };
    assert!(
        line("image:").contains("reg/spaceflights:abc1234"),
        "{text}"
    );
    assert!(
        line("image:").ends_with("# conf/base/kubeflow.yaml:3 (env KEDRO_CONFIG_COMMIT_ID)"),
        "{text}"
    );
    assert!(
        line("ttl:").ends_with("# conf/production/kubeflow.yaml:2"),
        "{text}"
    );
    assert!(line("image_pull_policy:").ends_with("# default"), "{text}");
    // still YAML
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(v["run_config"]["ttl"], 3600);
}

#[test]
fn placeholder_default_and_git_fallback() {
    let p = Project::with_base(&MINIMAL.replace(
        "image: reg/spaceflights:latest",
        "image: reg/spaceflights:${commit_id|dirty}",
    ));
    let image = |p: &Project| {
        let out = p
            .kfpx(&["config", "-o", "json"])
            .assert()
            .success()
            .get_output()
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["run_config"]["image"].as_str().unwrap().to_string()
    };
    assert_eq!(image(&p), "reg/spaceflights:dirty");
    // in a git repository, the short sha of HEAD
    let repo = git2::Repository::init(p.path()).unwrap();
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    let tree = repo
        .find_tree(repo.index().unwrap().write_tree().unwrap())
        .unwrap();
    let oid = repo
        .commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
        .unwrap();
    let got = image(&p);
    let sha = got.strip_prefix("reg/spaceflights:").unwrap();
    assert!(sha.len() >= 7 && oid.to_string().starts_with(sha), "{got}");
}

#[test]
fn check_prints_nothing_on_success() {
    let p = Project::with_base(MINIMAL);
    p.kfpx(&["config", "--check"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn the_conf_example_is_valid_in_both_envs() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conf-example");
    for env in ["local", "production"] {
        let out = cmd::kfpx()
            .arg("-C")
            .arg(&example)
            .args(["-e", env, "config", "-o", "json"])
            .assert()
            .success()
            .get_output()
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["run_config"]["image"]
            .as_str()
            .unwrap()
            .contains("spaceflights"));
        if env == "production" {
            assert_eq!(v["run_config"]["node_merge_strategy"], "memory");
        }
    }
}

// ---- bad input -------------------------------------------------------------------------------

#[test]
fn missing_config() {
    let p = Project::new();
    fails_with(
        &mut p.kfpx(&["config"]),
        &["kubeflow.yaml does not exist", "kfpx init <host>"],
    );
}

#[test]
fn empty_file() {
    let p = Project::with_base("");
    fails_with(
        &mut p.kfpx(&["config"]),
        &["conf/base/kubeflow.yaml:1:1: the file is empty"],
    );
}

#[test]
fn yaml_syntax_error() {
    let p = Project::with_base("host: x\nrun_config:\n  image: [unclosed\n");
    fails_with(
        &mut p.kfpx(&["config"]),
        &["conf/base/kubeflow.yaml:4:1: YAML syntax error"],
    );
}

#[test]
fn list_at_root() {
    let p = Project::with_base("- host: https://x\n");
    fails_with(
        &mut p.kfpx(&["config", "--check"]),
        &["kubeflow.yaml:1:3: the top level is a list"],
    );
}

#[test]
fn unknown_key_at_every_level() {
    let cases = [
        ("hostt: x\n", "kubeflow.yaml:6:1: hostt: unknown key `hostt`; did you mean `host`?"),
        (
            "  tll: 5\n",
            "kubeflow.yaml:6:3: run_config.tll: unknown key `tll`; did you mean `ttl`?",
        ),
        (
            "  volume:\n    storage_class: fast\n",
            "kubeflow.yaml:7:5: run_config.volume.storage_class: unknown key `storage_class`; did you mean `storageclass`?",
        ),
        (
            "  tolerations:\n    __default__:\n    - {key: a, operator: Equal, value: b, efect: NoSchedule}\n",
            "run_config.tolerations.__default__[0].efect: unknown key `efect`; did you mean `effect`?",
        ),
        (
            "  extra_volumes:\n    n:\n    - {mountpath: /x, volume: {name: v, empty_dir: {}}}\n",
            "run_config.extra_volumes.n[0].mountpath: unknown key `mountpath`; did you mean `mount_path`?",
        ),
    ];
    for (extra, want) in cases {
        let p = Project::with_base(&format!("{MINIMAL}{extra}"));
        fails_with(&mut p.kfpx(&["config"]), &[want]);
    }
}

#[test]
fn wrong_types() {
    let cases = [
        (
            "  ttl: a week\n",
            "kubeflow.yaml:6:8: run_config.ttl: expected a whole number (0 or more), found `a week`",
        ),
        (
            "  wait_for_completion: sometimes\n",
            "run_config.wait_for_completion: expected true or false, found `sometimes`",
        ),
        ("  resources: [1, 2]\n", "run_config.resources: expected a mapping, found a list"),
        (
            "  volume: {size: 1Gi, access_modes: ReadWriteOnce}\n",
            "run_config.volume.access_modes: expected a list, found `ReadWriteOnce`",
        ),
    ];
    for (extra, want) in cases {
        let p = Project::with_base(&format!("{MINIMAL}{extra}"));
        fails_with(&mut p.kfpx(&["config"]), &[want]);
    }
    let p = Project::with_base("host: https://x\n");
    fails_with(
        &mut p.kfpx(&["config"]),
        &["kubeflow.yaml:1:1: missing required key `run_config`"],
    );
}

#[test]
fn bad_node_merge_strategy() {
    let p = Project::with_base(&format!("{MINIMAL}  node_merge_strategy: fancy\n"));
    fails_with(
        &mut p.kfpx(&["config"]),
        &["kubeflow.yaml:6:24: run_config.node_merge_strategy: `fancy` is not one of none, full, memory, tags, namespace"],
    );
}

#[test]
fn invalid_values() {
    let cases = [
        (
            MINIMAL.replace("https://kfp.example.com/pipeline", "kfp.example.com"),
            "kubeflow.yaml:1:7: host: `kfp.example.com` is not a URL with http:// or https://",
        ),
        (
            format!("{MINIMAL}  resources:\n    data_science.train_model_node: {{cpu: lots}}\n"),
            "run_config.resources[\"data_science.train_model_node\"].cpu: `lots` is not a Kubernetes quantity",
        ),
        (
            format!("{MINIMAL}  max_cache_staleness: 1h\n"),
            "run_config.max_cache_staleness: `1h` is not an ISO-8601 duration",
        ),
    ];
    for (yaml, want) in cases {
        let p = Project::with_base(&yaml);
        fails_with(&mut p.kfpx(&["config"]), &[want]);
    }
}

/// A backoff without a unit is refused at its place by `config --check` as by `compile` (one
/// parser, when the config is typed). The KFP SDK refuses it too: `convert_duration_to_seconds`
/// (kfp `sdk/python/kfp/dsl/structures.py`) reads the unit from the last letter. Before, the
/// config check passed it and only `compile` refused it.
#[test]
fn a_backoff_without_unit_is_refused_at_its_place_by_check_and_compile() {
    let p = Project::with_base(&format!(
        "{MINIMAL}  retry_policy:\n    __default__: {{num_retries: 2, backoff_duration: 5, backoff_factor: 2}}\n"
    ));
    let want = "conf/base/kubeflow.yaml:7:53: run_config.retry_policy.__default__.backoff_duration: `5` has no unit; write e.g. 5s, 5m or 1h";
    fails_with(&mut p.kfpx(&["config", "--check"]), &[want]);
    fails_with(&mut p.kfpx(&["compile", "-o", "-"]), &[want]);
    // a toleration word, likewise
    let p = Project::with_base(&format!(
        "{MINIMAL}  tolerations:\n    __default__: [{{key: a, operator: Exist, effect: NoSchedule}}]\n"
    ));
    fails_with(
        &mut p.kfpx(&["config", "--check"]),
        &["kubeflow.yaml:7:38: run_config.tolerations.__default__[0].operator: operator `Exist` is not Equal or Exists (did you mean `Exists`?)"],
    );
}

#[test]
fn unset_template_variable_without_default() {
    let p = Project::with_base(&MINIMAL.replace(
        "image: reg/spaceflights:latest",
        "image: gcr.io/${oc.env:KEDRO_CONFIG_GOOGLE_PROJECT_ID}/spaceflights",
    ));
    // The problem on the error line, what to do on a help line under it.
    let out = p
        .kfpx(&["config"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("conf/base/kubeflow.yaml:3:10: run_config.image:"),
        "{err}"
    );
    assert!(
        lines[0].ends_with("placeholder `${oc.env:KEDRO_CONFIG_GOOGLE_PROJECT_ID}` has no value"),
        "{err}"
    );
    assert_eq!(
        lines[1],
        "  help: set the environment variable KEDRO_CONFIG_GOOGLE_PROJECT_ID, or give a default \
         like `${oc.env:KEDRO_CONFIG_GOOGLE_PROJECT_ID,default}`"
    );
    // and with the variable set it works
    p.kfpx(&["config", "--check"])
        .env("KEDRO_CONFIG_GOOGLE_PROJECT_ID", "my-gcp")
        .assert()
        .success();
}

#[test]
fn missing_env_is_named_as_such() {
    let p = Project::with_base(MINIMAL);
    p.write("conf/production/kubeflow.yaml", "run_config: {ttl: 5}\n");
    fails_with(
        &mut p.kfpx(&["-e", "nosuchenv", "config"]),
        &["conf/nosuchenv does not exist (available envs: base, production)"],
    );
}

#[test]
fn missing_env_is_reported_before_missing_config() {
    let p = Project::new();
    fails_with(
        &mut p.kfpx(&["-e", "nosuchenv", "config"]),
        &["conf/nosuchenv does not exist (available envs: base)"],
    );
}

#[test]
fn both_yaml_and_yml() {
    let p = Project::with_base(MINIMAL);
    p.write("conf/base/kubeflow.yml", MINIMAL);
    fails_with(&mut p.kfpx(&["config"]), &["keep one of them"]);
}

#[test]
fn errors_in_the_overlay_point_at_the_overlay() {
    let p = Project::with_base(MINIMAL);
    p.write("conf/production/kubeflow.yaml", "run_config:\n  ttl: -5\n");
    fails_with(
        &mut p.kfpx(&["-e", "production", "config"]),
        &["conf/production/kubeflow.yaml:2:8: run_config.ttl: expected a whole number"],
    );
}

/// An unknown field anywhere in an affinity is an error at its file:line:column (kfpx converts
/// snake_case affinity to Kubernetes camelCase field by field, so a typo cannot slip through).
#[test]
fn unknown_affinity_field_at_any_level_is_located() {
    let p = Project::with_base(&format!(
        "{MINIMAL}  affinity:\n    __default__:\n      node_affinity: {{bogus_field: 1}}\n"
    ));
    fails_with(
        &mut p.kfpx(&["config"]),
        &[
            "conf/base/kubeflow.yaml:8:",
            "run_config.affinity.__default__.node_affinity.bogus_field",
            "unknown key `bogus_field`",
        ],
    );
    let p = Project::with_base(&format!(
        "{MINIMAL}  affinity:\n    train:\n      pod_affinity:\n        required_during_scheduling_ignored_during_execution:\n          - {{topology_kye: zone}}\n"
    ));
    fails_with(
        &mut p.kfpx(&["config"]),
        &[
            "conf/base/kubeflow.yaml:10:",
            "topology_kye",
            "did you mean `topology_key`?",
        ],
    );
}

/// Issue 12: with no `node_merge_strategy` in the files, the effective value is kfpx's default
/// `memory`, and `config -v` says it is the default.
#[test]
fn merge_strategy_defaults_to_memory_and_config_v_says_so() {
    let p = Project::with_base(MINIMAL);
    let out = p
        .kfpx(&["-v", "config"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("node_merge_strategy:"))
        .unwrap_or_else(|| panic!("no node_merge_strategy in:\n{text}"));
    assert_eq!(line.trim(), "node_merge_strategy: memory  # default");
    // `--help` says the default too.
    let help = cmd::kfpx()
        .args(["compile", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(help).unwrap();
    assert!(
        help.contains("[default: run_config.node_merge_strategy, else memory]"),
        "{help}"
    );
}

/// Issue 12: a config with several mistakes reports all of them in one run, each on its own
/// `error:` line with file:line:column, in file order, then a count; exit 1; nothing on stdout.
#[test]
fn every_config_problem_is_reported_in_one_run() {
    let p = Project::with_base(&format!(
        "{MINIMAL}  tll: 5\n  imagepullpolicy: Always\n  volume:\n    sise: 1Gi\n  wait_for_completion: sometimes\n"
    ));
    let out = p
        .kfpx(&["config"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    let file = "conf/base/kubeflow.yaml";
    let want = [
        (":6:3: run_config.tll: unknown key `tll`; did you mean `ttl`?"),
        (":7:3: run_config.imagepullpolicy: unknown key `imagepullpolicy`; did you mean `image_pull_policy`?"),
        (":9:5: run_config.volume.sise: unknown key `sise`; did you mean `size`?"),
        (":10:24: run_config.wait_for_completion: expected true or false, found `sometimes`"),
    ];
    for (line, w) in lines.iter().zip(want) {
        assert!(line.starts_with("error: "), "{line}");
        assert!(line.contains(file), "{line}");
        assert!(line.ends_with(w), "want …{w}\ngot  {line}");
    }
    assert_eq!(
        lines[4],
        "error: 4 problems in the kfpx configuration; fix them and run again"
    );
    // compile reports the same problems, before any work.
    let out = p
        .kfpx(&["compile", "-o", "-"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 5);
}
