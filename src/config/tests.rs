//! Loader tests: compatibility with kedro-kubeflow configs, merge, substitution, located errors.

use std::collections::BTreeMap;

use super::*;

/// The effective content kedro-kubeflow 0.11's `init` writes (kedro-kubeflow `kedro_kubeflow/config.py`, `DEFAULT_CONFIG_TEMPLATE`), verbatim.
const PLUGIN_INIT_SAMPLE: &str = r#"host: http://localhost:9000
run_config:
  image: demo
  image_pull_policy: IfNotPresent
  experiment_name: demo
  run_name: demo
  scheduled_run_name: demo
  wait_for_completion: False
  ttl: 604800
  volume: {storageclass: null, size: 1Gi, skip_init: False, owner: 0, keep: False}
  resources:
    data_import_step: {memory: 2Gi}
    model_training: {cpu: 8, memory: 1Gi}
    tensorflow_step: {nvidia.com/gpu: 1}
    __default__: {cpu: 1, memory: 1Gi}
  extra_volumes:
    tensorflow_step:
    - mount_path: /dev/shm
      volume: {name: shared_memory, empty_dir: {cls: V1EmptyDirVolumeSource, params: {medium: Memory}}}
  retry_policy:
    wait_for_partition_availability: {num_retries: 90, backoff_duration: 5m, backoff_factor: 1}
    __default__: {num_retries: 4, backoff_duration: 60s, backoff_factor: 2}
  tolerations:
    __default__: [{key: dedicated, operator: Equal, value: ml-ops, effect: NoSchedule}]
    node_a:      [{key: gpu_resource, operator: Equal, value: voltaire, effect: NoSchedule}]
"#;

/// A kedro-kubeflow 0.7.4-style config: `${name|default}` placeholders, every 0.7.4 key.
const PLUGIN_074_SAMPLE: &str = r#"host: https://kubeflow.example.com/pipeline
run_config:
  image: "gcr.io/project-image/${commit_id|dirty}"
  image_pull_policy: Always
  root: bucket/path
  experiment_name: "[Test] ${branch_name|local}"
  run_name: "Kedro {region} run"
  description: "Very Important Pipeline"
  wait_for_completion: True
  ttl: 300
  on_exit_pipeline: notify_via_slack
  max_cache_staleness: P0D
  store_kedro_outputs_as_kfp_artifacts: True
  node_merge_strategy: full
  volume:
    storageclass: nfs
    size: 1Mi
    access_modes: [ReadWriteMany]
    skip_init: True
    owner: 47
    keep: True
  resources:
    __default__: {cpu: 100m}
    node1: {cpu: 400m, memory: 64Gi}
  retry_policy:
    __default__: {num_retries: "100", backoff_duration: 60s, backoff_factor: 2}
  extra_volumes:
    node1:
    - mount_path: /config
      volume:
        name: cfg
        config_map:
          cls: V1ConfigMapVolumeSource
          params:
            name: my-config
            default_mode: 644
            items:
            - cls: kubernetes.client.models.v1_key_to_path.V1KeyToPath
              params: {key: a, path: a.yaml}
  affinity:
    __default__:
      node_affinity:
        required_during_scheduling_ignored_during_execution:
          nodeSelectorTerms:
          - matchExpressions:
            - {key: pool, operator: In, values: [ml]}
"#;

fn lookup_with(env: &[(&str, &str)], git: &[(&str, &str)]) -> (EnvMap, EnvMap) {
    (
        env.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        git.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

type EnvMap = BTreeMap<String, String>;

fn load_files(
    files: &[(&str, &str)],
    env: &[(&str, &str)],
    git: &[(&str, &str)],
) -> Result<(Config, Node), ConfigError> {
    let (env, git) = lookup_with(env, git);
    let e = |k: &str| env.get(k).cloned();
    let g = |k: &str| git.get(k).cloned();
    let sources: Vec<SourceText> = files
        .iter()
        .map(|(n, t)| SourceText {
            name: n.to_string(),
            text: t.to_string(),
        })
        .collect();
    load_sources(&sources, &Lookup { env: &e, git: &g })
}

fn err(yaml: &str) -> String {
    load_from_str(yaml).unwrap_err().to_string()
}

const MINIMAL: &str = "host: https://kfp.example.com\nrun_config:\n  image: img\n  experiment_name: e\n  run_name: r\n";

#[test]
fn plugin_init_sample_loads_unchanged() {
    let c = load_from_str(PLUGIN_INIT_SAMPLE).unwrap();
    let rc = &c.run_config;
    assert_eq!(c.host, "http://localhost:9000");
    assert_eq!(rc.image, "demo");
    assert!(!rc.wait_for_completion);
    assert_eq!(rc.ttl, 604_800);
    let v = rc.volume.as_ref().unwrap();
    assert_eq!(v.storageclass, None);
    assert_eq!(v.size.to_string(), "1Gi");
    assert_eq!(v.access_modes, vec!["ReadWriteOnce"]);
    assert_eq!(v.owner, Some(0));
    assert_eq!(rc.resources["model_training"]["cpu"], Quantity::Int(8));
    assert_eq!(
        rc.resources["tensorflow_step"]["nvidia.com/gpu"],
        Quantity::Int(1)
    );
    assert_eq!(
        rc.resources["__default__"]["memory"],
        Quantity::Str("1Gi".into())
    );
    let ev = &rc.extra_volumes["tensorflow_step"][0];
    assert_eq!(ev.mount_path, "/dev/shm");
    assert_eq!(
        ev.volume,
        serde_json::json!({"name": "shared_memory", "empty_dir": {"cls": "V1EmptyDirVolumeSource", "params": {"medium": "Memory"}}})
    );
    let r = rc.retry_policy["__default__"].as_ref().unwrap();
    assert_eq!(r.num_retries, Some(4));
    let d = r.backoff_duration.as_ref().unwrap();
    assert_eq!((d.text.as_str(), d.seconds), ("60s", 60.0));
    assert_eq!(r.backoff_factor, Some(2.0));
    assert_eq!(
        rc.tolerations["node_a"][0].value.as_deref(),
        Some("voltaire")
    );
    // defaults the sample leaves out (kfpx's merge default is `memory`; the plugin's was `none`)
    assert_eq!(rc.node_merge_strategy, MergeStrategy::Memory);
    assert!(rc.store_kedro_outputs_as_kfp_artifacts);
    assert_eq!(rc.kfp_version, KfpVersion::V2);
}

#[test]
fn plugin_074_sample_loads_with_its_placeholders() {
    let (c, _) = load_files(
        &[("base.yaml", PLUGIN_074_SAMPLE)],
        &[("KEDRO_CONFIG_COMMIT_ID", "abc")],
        &[],
    )
    .unwrap();
    let rc = &c.run_config;
    assert_eq!(rc.image, "gcr.io/project-image/abc");
    assert_eq!(rc.experiment_name, "[Test] local");
    assert_eq!(rc.image_pull_policy, PullPolicy::Always);
    assert_eq!(rc.root.as_deref(), Some("bucket/path"));
    assert_eq!(rc.ttl, 300);
    assert_eq!(rc.node_merge_strategy, MergeStrategy::Full);
    let staleness = rc.max_cache_staleness.as_ref().unwrap();
    assert!(staleness.text == "P0D" && staleness.is_zero());
    let v = rc.volume.as_ref().unwrap();
    assert_eq!((v.owner, v.keep, v.skip_init), (Some(47), true, true));
    // "100" is coerced to 100, as pydantic did
    assert_eq!(
        rc.retry_policy["__default__"].as_ref().unwrap().num_retries,
        Some(100)
    );
    // a user __default__ replaces the built-in default entirely
    assert_eq!(rc.resources["__default__"].len(), 1);
    assert_eq!(
        rc.extra_volumes["node1"][0].volume["config_map"]["params"]["default_mode"],
        serde_json::json!(644)
    );
    assert!(rc.affinity["__default__"]["node_affinity"].is_object());
    // scheduled_run_name falls back to run_name
    assert_eq!(rc.scheduled_run_name(), "Kedro {region} run");
}

#[test]
fn defaults_match_kedro_kubeflow() {
    let c = load_from_str(MINIMAL).unwrap();
    let rc = &c.run_config;
    assert_eq!(rc.image_pull_policy, PullPolicy::IfNotPresent);
    assert_eq!(rc.ttl, 604_800);
    assert_eq!(rc.volume, None);
    assert_eq!(rc.description, None);
    assert_eq!(rc.resources, default_resources());
    assert!(rc.tolerations.is_empty() && rc.retry_policy.is_empty());
    assert_eq!(rc.schedule, ScheduleConfig::default());
    // `volume: {}` turns the volume on with its defaults
    let c = load_from_str(&format!("{MINIMAL}  volume: {{}}\n")).unwrap();
    assert_eq!(c.run_config.volume, Some(VolumeConfig::default()));
}

#[test]
fn env_overlay_merges_maps_and_replaces_lists() {
    let base = "host: https://kfp.example.com\nrun_config:\n  image: img\n  experiment_name: e\n  run_name: r\n  resources:\n    __default__: {cpu: 1, memory: 1Gi}\n  image_pull_secrets: [a, b]\n";
    let over = "run_config:\n  image: prod-img\n  resources:\n    __default__: {memory: 4Gi}\n  image_pull_secrets: [c]\n";
    let (c, tree) = load_files(&[("b.yaml", base), ("p.yaml", over)], &[], &[]).unwrap();
    let rc = &c.run_config;
    assert_eq!(rc.image, "prod-img");
    assert_eq!(rc.experiment_name, "e");
    assert_eq!(rc.resources["__default__"]["cpu"], Quantity::Int(1));
    assert_eq!(
        rc.resources["__default__"]["memory"],
        Quantity::Str("4Gi".into())
    );
    assert_eq!(rc.image_pull_secrets, vec!["c"]);
    let image = tree.find(&KeyPath::parse("run_config.image")).unwrap();
    assert_eq!(&*image.loc.file, "p.yaml");
}

#[test]
fn overlay_can_turn_the_volume_off_with_null() {
    let base = format!("{MINIMAL}  volume: {{size: 2Gi}}\n");
    let (c, _) = load_files(
        &[("b", &base), ("p", "run_config:\n  volume: null\n")],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(c.run_config.volume, None);
}

#[test]
fn an_empty_overlay_changes_nothing() {
    let (c, _) = load_files(&[("b", MINIMAL), ("p", "# nothing yet\n")], &[], &[]).unwrap();
    assert_eq!(c, load_from_str(MINIMAL).unwrap());
}

#[test]
fn placeholder_unset_in_base_is_fine_when_the_overlay_replaces_it() {
    let base = MINIMAL.replace("image: img", "image: ${oc.env:KEDRO_CONFIG_IMAGE}");
    let (c, _) = load_files(
        &[("b", &base), ("p", "run_config:\n  image: fixed\n")],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(c.run_config.image, "fixed");
}

#[test]
fn substitution_happens_before_typing() {
    let yaml = MINIMAL.to_string() + "  ttl: ${ttl|300}\n  wait_for_completion: $<wait|true>\n";
    let (c, _) = load_files(&[("b", &yaml)], &[("KEDRO_CONFIG_TTL", "60")], &[]).unwrap();
    assert_eq!(c.run_config.ttl, 60);
    assert!(c.run_config.wait_for_completion);
    // a bad substituted value is a type error at the key that holds the placeholder
    let e = load_files(&[("b", &yaml)], &[("KEDRO_CONFIG_TTL", "soon")], &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "b:6:8: run_config.ttl: expected a whole number (0 or more), found `soon`"
    );
}

#[test]
fn git_fallback_and_provenance() {
    let yaml = MINIMAL.replace("image: img", "image: \"reg/p:${commit_id|dirty}\"");
    let (c, tree) = load_files(&[("b", &yaml)], &[], &[("commit_id", "1a2b3c4")]).unwrap();
    assert_eq!(c.run_config.image, "reg/p:1a2b3c4");
    let loaded = LoadedConfig {
        config: c,
        files: vec![],
        tree,
    };
    assert_eq!(
        loaded
            .origin(&KeyPath::parse("run_config.image"))
            .to_string(),
        "b:3 (git commit_id)"
    );
    assert_eq!(
        loaded.origin(&KeyPath::parse("run_config.ttl")).to_string(),
        "default"
    );
}

#[test]
fn unset_placeholder_error_names_variable_key_and_position() {
    let yaml = MINIMAL.replace(
        "image: img",
        "image: gcr.io/${oc.env:KEDRO_CONFIG_GOOGLE_PROJECT_ID}/p",
    );
    let e = err(&yaml);
    assert!(e.starts_with("kubeflow.yaml:3:10: run_config.image: placeholder `${oc.env:KEDRO_CONFIG_GOOGLE_PROJECT_ID}` has no value"), "{e}");
    assert!(
        e.contains("set the environment variable KEDRO_CONFIG_GOOGLE_PROJECT_ID"),
        "{e}"
    );
}

#[test]
fn unknown_keys_at_every_level_suggest_the_right_one() {
    let cases = [
        ("hots: x\n", "kubeflow.yaml:6:1: hots: unknown key `hots`; did you mean `host`?"),
        (
            "  imagee: x\n",
            "kubeflow.yaml:6:3: run_config.imagee: unknown key `imagee`; did you mean `image`?",
        ),
        (
            "  volume: {sise: 1Gi}\n",
            "kubeflow.yaml:6:12: run_config.volume.sise: unknown key `sise`; did you mean `size`?",
        ),
        (
            "  tolerations:\n    __default__: [{key: a, operator: Equal, efect: NoSchedule}]\n",
            "kubeflow.yaml:7:45: run_config.tolerations.__default__[0].efect: unknown key `efect`; did you mean `effect`?",
        ),
        (
            "  retry_policy:\n    n: {num_retry: 1}\n",
            "kubeflow.yaml:7:9: run_config.retry_policy.n.num_retry: unknown key `num_retry`; did you mean `num_retries`?",
        ),
        (
            "  schedule: {max_concurency: 2}\n",
            "kubeflow.yaml:6:14: run_config.schedule.max_concurency: unknown key `max_concurency`; did you mean `max_concurrency`?",
        ),
    ];
    for (extra, want) in cases {
        let yaml = format!("{MINIMAL}{extra}");
        assert_eq!(err(&yaml), want, "for {extra:?}");
    }
}

#[test]
fn misplaced_keys_say_where_they_belong() {
    assert_eq!(
        err("host: https://x\nrun_config:\n  image: i\n  experiment_name: e\nrun_name: r\n"),
        "kubeflow.yaml:5:1: run_name: unknown key `run_name`; allowed here: host, run_config; `run_name` belongs under `run_config` (check the indentation)"
    );
    let e = err(&format!("{MINIMAL}  max_concurrency: 2\n"));
    assert!(
        e.ends_with(
            "`max_concurrency` belongs under `run_config.schedule` (check the indentation)"
        ),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}  host: https://y\n"));
    assert!(
        e.ends_with("`host` belongs at the top level (check the indentation)"),
        "{e}"
    );
}

#[test]
fn wrong_types_are_located() {
    assert_eq!(
        err(&format!("{MINIMAL}  ttl: one week\n")),
        "kubeflow.yaml:6:8: run_config.ttl: expected a whole number (0 or more), found `one week`"
    );
    assert_eq!(
        err(&format!("{MINIMAL}  wait_for_completion: maybe\n")),
        "kubeflow.yaml:6:24: run_config.wait_for_completion: expected true or false, found `maybe`"
    );
    assert_eq!(
        err(&format!("{MINIMAL}  tolerations: [a]\n")),
        "kubeflow.yaml:6:3: run_config.tolerations: expected a mapping, found a list"
    );
    assert_eq!(
        err("host: https://x\nrun_config: [1]\n"),
        "kubeflow.yaml:2:1: run_config: expected a mapping, found a list"
    );
    assert_eq!(
        err(&format!("{MINIMAL}  kfp_version: 3\n")),
        "kubeflow.yaml:6:16: run_config.kfp_version: kfp_version must be 1 or 2, not 3"
    );
}

#[test]
fn missing_required_keys_point_at_their_parent() {
    assert_eq!(
        err("host: https://x\nrun_config:\n  image: i\n  run_name: r\n"),
        "kubeflow.yaml:2:1: run_config: missing required key `experiment_name`"
    );
    assert_eq!(
        err("run_config: {image: i, experiment_name: e, run_name: r}\n"),
        "kubeflow.yaml:1:1: missing required key `host`"
    );
}

#[test]
fn bad_probe_mode_lists_the_allowed_ones() {
    assert_eq!(
        err(&format!("{MINIMAL}  probe_mode: fast\n")),
        "kubeflow.yaml:6:15: run_config.probe_mode: `fast` is not one of lite, full"
    );
}

#[test]
fn bad_merge_strategy_lists_the_allowed_ones() {
    assert_eq!(
        err(&format!("{MINIMAL}  node_merge_strategy: fancy\n")),
        "kubeflow.yaml:6:24: run_config.node_merge_strategy: `fancy` is not one of none, full, memory, tags, namespace"
    );
}

#[test]
fn file_shape_errors() {
    assert!(err("").contains("kubeflow.yaml:1:1: the file is empty"));
    assert!(err("# only a comment\n").contains("the file is empty"));
    assert_eq!(
        err("- host: x\n"),
        "kubeflow.yaml:1:3: the top level is a list; the file must be a mapping with `host` and `run_config` at the top"
    );
    let e = err("host: x\nrun_config:\n  image: [unclosed\n");
    assert!(
        e.starts_with("kubeflow.yaml:4:1: YAML syntax error:"),
        "{e}"
    );
}

#[test]
fn semantic_checks_are_located() {
    let check = |extra: &str, want: &str| {
        let e = err(&format!("{MINIMAL}{extra}"));
        assert!(e.contains(want), "{extra:?}: {e}");
        assert!(e.starts_with("kubeflow.yaml:"), "{e}");
    };
    check(
        "  max_cache_staleness: 1 day\n",
        "run_config.max_cache_staleness: `1 day` is not an ISO-8601 duration",
    );
    check(
        "  resources:\n    __default__: {cpu: lots}\n",
        "kubeflow.yaml:7:24: run_config.resources.__default__.cpu: `lots` is not a Kubernetes quantity",
    );
    check(
        "  resources:\n    __default__: {memory: -1Gi}\n",
        "is not a Kubernetes quantity",
    );
    check(
        "  tolerations:\n    n: [{key: a, operator: Equals, effect: NoSchedule}]\n",
        "run_config.tolerations.n[0].operator: operator `Equals` is not Equal or Exists (did you mean `Equal`?)",
    );
    check(
        "  tolerations:\n    n: [{key: a, operator: Equal, effect: Never}]\n",
        "run_config.tolerations.n[0].effect: effect `Never` is not one of",
    );
    check(
        "  retry_policy:\n    n: {num_retries: 1, backoff_duration: 5 minutes, backoff_factor: 2}\n",
        "run_config.retry_policy.n.backoff_duration: `5 minutes` is not a duration",
    );
    check(
        "  retry_policy:\n    n: {num_retries: 1, backoff_duration: 5m, backoff_factor: 0.5}\n",
        "backoff factor 0.5 must be 1 or more",
    );
    check(
        "  retry_policy:\n    n: {num_retries: -1, backoff_duration: 5m, backoff_factor: 2}\n",
        "run_config.retry_policy.n.num_retries: expected a whole number (0 or more), found `-1`",
    );
    check(
        "  retry_policy:\n    n: {num_retries: 3}\n",
        "run_config.retry_policy.n: missing backoff_duration, backoff_factor (set it here or in __default__)",
    );
    check(
        "  volume: {access_modes: [ReadWriteMany, ReadWriteOnly]}\n",
        "run_config.volume.access_modes[1]: `ReadWriteOnly` is not one of",
    );
    check(
        "  schedule: {start_time: tomorrow}\n",
        "run_config.schedule.start_time: `tomorrow` is not an RFC 3339 time",
    );
    check(
        "  secrets: {aws-secrets: [AWS KEY]}\n",
        "`AWS KEY` cannot be an environment variable name",
    );
    check(
        "  affinity:\n    __default__: {node_afinity: {}}\n",
        "unknown key `node_afinity`; did you mean `node_affinity`?",
    );
    check("  scheduled_run_name: \"run {x\"\n", "has an unclosed `{`");
    check(
        "  extra_volumes:\n    n:\n    - {mount_path: /x, volume: {name: v, emptydir: {}}}\n",
        "run_config.extra_volumes.n[0].volume.emptydir: unknown volume source `emptydir`; did you mean `emptyDir`?",
    );
    check(
        "  extra_volumes:\n    n:\n    - {mount_path: /x, volume: {name: v}}\n",
        "a volume needs exactly one source",
    );
    check(
        "  extra_volumes:\n    n:\n    - {mount_path: x, volume: {name: v, empty_dir: {}}}\n",
        "mount path `x` must be absolute",
    );
}

#[test]
fn host_must_be_an_http_url() {
    let e = err(&MINIMAL.replace("https://kfp.example.com", "kfp.example.com"));
    assert!(
        e.starts_with(
            "kubeflow.yaml:1:7: host: `kfp.example.com` is not a URL with http:// or https://"
        ),
        "{e}"
    );
    let e = err(&MINIMAL.replace("https://kfp.example.com", "ftp://kfp.example.com"));
    assert!(e.contains("has scheme `ftp`, not http or https"), "{e}");
}

#[test]
fn errors_are_one_line() {
    let e = err(&format!("{MINIMAL}  ttl: |\n    multi\n    line\n"));
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn config_files_for_envs() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(conf.join("base")).unwrap();
    std::fs::create_dir_all(conf.join("production")).unwrap();
    std::fs::create_dir_all(conf.join("staging")).unwrap();
    let e = config_files(&conf, "local").unwrap_err();
    assert!(matches!(e, ConfigError::MissingBase { .. }));
    assert!(e.to_string().contains("kfpx init <host>"), "{e}");
    std::fs::write(conf.join("base/kubeflow.yml"), MINIMAL).unwrap();
    // base only for base, a missing `local`, and an env without a kubeflow file
    assert_eq!(config_files(&conf, "base").unwrap().len(), 1);
    assert_eq!(config_files(&conf, "local").unwrap().len(), 1);
    assert_eq!(config_files(&conf, "staging").unwrap().len(), 1);
    std::fs::write(
        conf.join("production/kubeflow.yaml"),
        "run_config: {image: p}\n",
    )
    .unwrap();
    let files = config_files(&conf, "production").unwrap();
    assert_eq!(files.len(), 2);
    assert!(files[1].ends_with("production/kubeflow.yaml"));
    let e = config_files(&conf, "nosuchenv").unwrap_err().to_string();
    assert_eq!(
        e,
        "conf/nosuchenv does not exist (available envs: base, production, staging); pick one with -e or create the directory"
    );
    let e = config_files(&conf, "../conf/production")
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not an env name"), "{e}");
    std::fs::write(conf.join("base/kubeflow.yaml"), MINIMAL).unwrap();
    let e = config_files(&conf, "base").unwrap_err().to_string();
    assert!(
        e.starts_with("both ") && e.ends_with("keep one of them"),
        "{e}"
    );
}

/// Damaged versions of the example config (a line removed, the text cut short, a line
/// indented differently) never panic, and every error is one located line.
#[test]
fn damaged_configs_give_located_one_line_errors() {
    let text = include_str!("../../conf-example/conf/base/kubeflow.yaml");
    let lines: Vec<&str> = text.lines().collect();
    let mut variants = Vec::new();
    for i in 0..lines.len() {
        let mut v = lines.clone();
        v.remove(i);
        variants.push(v.join("\n"));
        let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        v[i] = format!(" {}", v[i]);
        variants.push(v.join("\n"));
    }
    for cut in (1..text.len()).step_by(41) {
        if text.is_char_boundary(cut) {
            variants.push(text[..cut].to_string());
        }
    }
    let mut errors = 0;
    for v in &variants {
        if let Err(e) = load_from_str(v) {
            errors += 1;
            let problems = match e {
                ConfigError::Many { problems } => problems,
                one => vec![one],
            };
            for p in problems {
                let msg = p.to_string();
                assert!(!msg.contains('\n'), "{msg}");
                assert!(
                    msg.starts_with("kubeflow.yaml:"),
                    "error without a location: {msg}"
                );
            }
        }
    }
    assert!(
        errors > variants.len() / 4,
        "{errors} of {}",
        variants.len()
    );
}

/// The problems of a failed load, one line each (the count line included for several).
fn problems(yaml: &str) -> Vec<String> {
    err(yaml).lines().map(str::to_string).collect()
}

#[test]
fn every_problem_is_reported_in_one_run_in_file_order() {
    // Three typos at three levels, a wrong type and a bad value: five problems, one run.
    let yaml = "host: https://kfp.example.com\nrun_config:\n  image: img\n  experiment_name: e\n  run_name: r\n  imagee_pull_policy: Always\n  ttl: soon\n  volume:\n    sise: 1Gi\n  tolerations:\n    __default__: [{key: a, operator: Equal, efect: NoSchedule}]\n  max_cache_staleness: 1h\n";
    assert_eq!(
        problems(yaml),
        [
            "kubeflow.yaml:6:3: run_config.imagee_pull_policy: unknown key `imagee_pull_policy`; did you mean `image_pull_policy`?",
            "kubeflow.yaml:7:8: run_config.ttl: expected a whole number (0 or more), found `soon`",
            "kubeflow.yaml:9:5: run_config.volume.sise: unknown key `sise`; did you mean `size`?",
            "kubeflow.yaml:11:45: run_config.tolerations.__default__[0].efect: unknown key `efect`; did you mean `effect`?",
            "kubeflow.yaml:12:24: run_config.max_cache_staleness: `1h` is not an ISO-8601 duration; write e.g. P0D (no caching), PT1H, P7D or P1DT2H",
            "5 problems in the kfpx configuration; fix them and run again",
        ]
    );
}

#[test]
fn a_missing_required_key_does_not_hide_the_others() {
    // no `image`, no `run_name`, and a typo: three problems; placeholders put in for the
    // missing keys are not checked (no "placeholder is not a URL" noise).
    let yaml = "run_config:\n  experiment_name: e\n  run_name: r\n  ttll: 5\n";
    let p = problems(yaml);
    assert_eq!(p.len(), 4, "{p:#?}");
    assert_eq!(
        p[0],
        "kubeflow.yaml:1:1: run_config: missing required key `image`"
    );
    assert_eq!(p[1], "kubeflow.yaml:1:1: missing required key `host`");
    assert!(
        p[2].starts_with(
            "kubeflow.yaml:4:3: run_config.ttll: unknown key `ttll`; did you mean `ttl`?"
        ),
        "{}",
        p[2]
    );
    assert_eq!(
        p[3],
        "3 problems in the kfpx configuration; fix them and run again"
    );
}

#[test]
fn a_misspelt_required_key_is_one_problem_not_two() {
    let yaml = "host: https://kfp.example.com\nrun_config:\n  imag: img\n  experiment_name: e\n  run_name: r\n";
    assert_eq!(
        err(yaml),
        "kubeflow.yaml:3:3: run_config.imag: unknown key `imag`; did you mean `image`?"
    );
}

#[test]
fn an_unfilled_placeholder_and_a_typo_are_both_reported() {
    let yaml = format!("{MINIMAL}  description: ${{oc.env:NO_SUCH_VAR}}\n  ttl: x\n");
    let p = problems(&yaml);
    assert_eq!(p.len(), 4, "{p:#?}");
    assert!(
        p[1].starts_with("help: set the environment variable NO_SUCH_VAR"),
        "{}",
        p[1]
    );
    let p: Vec<&String> = p.iter().filter(|l| !l.starts_with("help: ")).collect();
    assert!(
        p[0].starts_with("kubeflow.yaml:6:16: run_config.description: "),
        "{}",
        p[0]
    );
    assert!(p[0].contains("NO_SUCH_VAR"), "{}", p[0]);
    assert!(
        p[1].starts_with("kubeflow.yaml:7:8: run_config.ttl: "),
        "{}",
        p[1]
    );
}

#[test]
fn many_problems_are_capped_then_counted() {
    let mut yaml = MINIMAL.to_string();
    for i in 0..25 {
        yaml.push_str(&format!("  zz_unknown_{i:02}: 1\n"));
    }
    let p = problems(&yaml);
    assert_eq!(p.len(), MAX_SHOWN + 1, "{p:#?}");
    assert!(p[0].starts_with("kubeflow.yaml:6:3: run_config.zz_unknown_00: unknown key"));
    assert_eq!(
        p[MAX_SHOWN],
        "25 problems in the kfpx configuration (15 not shown); fix them and run again"
    );
    for line in &p {
        assert!(line.chars().count() <= 200, "{} chars: {line}", line.len());
    }
}
