//! The server commands (upload-pipeline, run-once, schedule, list-pipelines) against the fake
//! KFP server, under both API versions, with faults.
//!
//! Two layers: `kfpx` binary runs (assert_cmd) where the command needs no compiled project
//! (list-pipelines, cron validation, connection faults), and in-process calls of the commands'
//! post-compile halves (`*_prepared`) with a hand-built compiled document, which exercise the
//! whole conversation with the server.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Value};
use support::fake_kfp::FakeKfp;

use kfpx::cli::{
    BuildArgs, OutputArgs, OutputFormat, ParamArgs, PipelineArgs, RunOnceArgs, RunStartArgs,
    ScheduleArgs, ServerArgs, UploadArgs,
};
use kfpx::commands::build::Prepared;
use kfpx::commands::{run_once, schedule, upload};
use kfpx::compile::Compiled;
use kfpx::config::{Config, KfpVersion};
use kfpx::project::Project;

const PIPELINE_NAME: &str = "[demo-proj] __default__ (env: local)";

/// A small valid KFP v2 IR (PipelineSpec + PlatformSpec), as the compiler produces.
const IR_YAML: &str = r#"pipelineInfo: {name: demo-proj}
schemaVersion: 2.1.0
sdkVersion: kfpx-0.1.0
root:
  inputDefinitions:
    parameters:
      source_uri: {parameterType: STRING, defaultValue: s3://bucket/raw, isOptional: true}
  dag:
    tasks:
      extract:
        taskInfo: {name: extract}
        componentRef: {name: comp-extract}
        inputs:
          parameters:
            source_uri: {componentInputParameter: source_uri}
      train:
        taskInfo: {name: train}
        componentRef: {name: comp-train}
        dependentTasks: [extract]
components:
  comp-extract:
    executorLabel: exec-extract
    inputDefinitions: {parameters: {source_uri: {parameterType: STRING}}}
  comp-train:
    executorLabel: exec-train
deploymentSpec:
  executors:
    exec-extract:
      container: {image: 'demo:1', command: [kedro, run, --nodes, extract]}
    exec-train:
      container: {image: 'demo:1', command: [kedro, run, --nodes, train]}
---
platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-train:
          nodeSelector: {labels: {pool: gpu}}
"#;

/// A small Argo Workflow, as the KFP v1 compiler produces.
const ARGO_YAML: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: demo-proj-}
spec:
  entrypoint: demo-proj
  arguments:
    parameters:
    - {name: ratio, value: '0.5'}
  templates:
  - name: demo-proj
    dag:
      tasks:
      - {name: extract, template: extract}
      - {name: train, template: train, dependencies: [extract]}
  - name: extract
    container: {image: 'demo:1', command: [kedro, run, --nodes, extract]}
  - name: train
    container: {image: 'demo:1', command: [kedro, run, --nodes, train]}
"#;

fn config(host: &str) -> Config {
    serde_yaml::from_str(&format!(
        "host: {host}\nrun_config:\n  image: demo:1\n  experiment_name: demo-exp\n  \
         run_name: 'demo run {{source_uri}}'\n  scheduled_run_name: nightly\n"
    ))
    .expect("test config")
}

/// A compiled project as `commands::build::prepare` hands it over; `variant` changes content.
fn prepared(host: &str, version: KfpVersion, variant: &str) -> Prepared {
    let (yaml, spec, platform, parameters) = match version {
        KfpVersion::V2 => {
            let yaml = IR_YAML.replace("kfpx-0.1.0", &format!("kfpx-0.1.0{variant}"));
            let mut docs = yaml.split("\n---\n");
            let spec: Value = serde_yaml::from_str(docs.next().unwrap()).unwrap();
            let platform: Value = serde_yaml::from_str(docs.next().unwrap()).unwrap();
            (
                yaml,
                spec,
                Some(platform),
                vec![("source_uri".to_string(), json!("s3://bucket/raw"))],
            )
        }
        KfpVersion::V1 => {
            let yaml = ARGO_YAML.replace("demo-proj-}", &format!("demo-proj{variant}-}}"));
            let wf: Value = serde_yaml::from_str(&yaml).unwrap();
            (yaml, wf, None, vec![("ratio".to_string(), json!(0.5))])
        }
    };
    let mut cfg = config(host);
    if version == KfpVersion::V1 {
        cfg.run_config.run_name = "demo run {ratio}".into();
        cfg.run_config.kfp_version = KfpVersion::V1;
    }
    Prepared {
        project: Project {
            root: std::env::temp_dir(),
            name: "demo-proj".into(),
            package: None,
            env: "local".into(),
        },
        config: cfg,
        pipeline: "__default__".into(),
        tasks: 1,
        compiled: Compiled {
            kfp_version: version,
            yaml,
            pipeline_spec: spec,
            platform_spec: platform,
            parameters,
            warnings: vec![],
        },
        sources: Default::default(),
    }
}

fn server(url: &str) -> ServerArgs {
    // Commands run in process here: retries without backoff sleeps (issue 17).
    kfpx::kfp::client::set_process_retry_policy(kfpx::kfp::client::RetryPolicy::immediate());
    ServerArgs {
        host: Some(url.to_string()),
        namespace: None,
        insecure_skip_tls_verify: false,
        ca_bundle: None,
        request_timeout: 10,
    }
}

fn build() -> BuildArgs {
    BuildArgs {
        pipeline: PipelineArgs {
            pipeline: "__default__".into(),
            merge_strategy: None,
            allow_memory_datasets: false,
        },
        image: None,
        kfp_version: None,
        strict: false,
    }
}

fn upload_args(url: &str) -> UploadArgs {
    UploadArgs {
        build: build(),
        file: None,
        server: server(url),
        output: OutputArgs {
            output: OutputFormat::Json,
        },
    }
}

fn run_args(url: &str) -> RunOnceArgs {
    RunOnceArgs {
        build: build(),
        file: None,
        server: server(url),
        start: RunStartArgs {
            experiment_name: None,
            experiment_namespace: None,
            run_name: None,
            params: ParamArgs::default(),
            wait_for_completion: false,
            no_wait: false,
            timeout: Some(60),
        },
        output: OutputArgs {
            output: OutputFormat::Json,
        },
    }
}

fn schedule_args(url: &str, cron: &str) -> ScheduleArgs {
    ScheduleArgs {
        build: build(),
        server: server(url),
        cron_expression: cron.into(),
        experiment_name: None,
        experiment_namespace: None,
        params: ParamArgs::default(),
        max_concurrency: None,
        no_catchup: false,
        start_time: None,
        end_time: None,
        output: OutputArgs {
            output: OutputFormat::Json,
        },
    }
}

const BOTH: [KfpVersion; 2] = [KfpVersion::V2, KfpVersion::V1];

fn named<'a>(items: &'a [Value], key: &str, name: &str) -> Vec<&'a Value> {
    items.iter().filter(|v| v[key] == name).collect()
}

fn assert_no_violations(fake: &FakeKfp) {
    fake.assert_no_violations();
}

/// The result of a command that talked to `fake`, after checking that none of its requests
/// broke the API's shapes (so a violation fails the test whose command caused it).
#[track_caller]
fn checked<T>(fake: &FakeKfp, result: T) -> T {
    fake.assert_no_violations();
    result
}

/// `Command::assert`, then the same check as [`checked`].
trait AssertOn {
    fn assert_on(&mut self, fake: &FakeKfp) -> assert_cmd::assert::Assert;
}

impl AssertOn for Command {
    #[track_caller]
    fn assert_on(&mut self, fake: &FakeKfp) -> assert_cmd::assert::Assert {
        let assert = self.assert();
        fake.assert_no_violations();
        assert
    }
}

// ----- upload-pipeline ------------------------------------------------------------------

#[test]
fn upload_creates_the_pipeline_then_versions_and_is_idempotent() {
    for version in BOTH {
        let fake = FakeKfp::start();
        let p = prepared(&fake.url(), version, "");
        checked(
            &fake,
            upload::upload_prepared(&upload_args(&fake.url()), &p),
        )
        .unwrap();

        let pipelines = fake.pipelines();
        let ours = named(&pipelines, "display_name", PIPELINE_NAME);
        assert_eq!(
            ours.len(),
            1,
            "{version:?}: one pipeline named as kedro-kubeflow"
        );
        let pid = ours[0]["pipeline_id"].as_str().unwrap().to_string();
        let versions = fake.pipeline_versions(&pid);
        let content_named: Vec<&Value> = versions
            .iter()
            .filter(|v| {
                v["display_name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("demo-proj-"))
            })
            .collect();
        assert_eq!(content_named.len(), 1, "{version:?}: {versions:#?}");
        let count = versions.len();

        // The same content again: nothing new on the server.
        checked(
            &fake,
            upload::upload_prepared(&upload_args(&fake.url()), &p),
        )
        .unwrap();
        assert_eq!(fake.pipelines().len(), 1);
        assert_eq!(fake.pipeline_versions(&pid).len(), count, "{version:?}");
        let uploads = fake.requests_to("POST", "/apis/").len();

        // Changed content: one new version of the same pipeline.
        let changed = prepared(&fake.url(), version, "-changed");
        checked(
            &fake,
            upload::upload_prepared(&upload_args(&fake.url()), &changed),
        )
        .unwrap();
        assert_eq!(fake.pipelines().len(), 1);
        assert_eq!(fake.pipeline_versions(&pid).len(), count + 1, "{version:?}");
        assert_eq!(fake.requests_to("POST", "/apis/").len(), uploads + 1);

        let upload_req = &fake.requests_to("POST", "/apis/")[0];
        assert!(
            String::from_utf8_lossy(&upload_req.body).contains("name=\"uploadfile\""),
            "multipart field uploadfile"
        );
        assert_no_violations(&fake);
    }
}

#[test]
fn upload_to_an_old_server_sends_only_what_it_knows() {
    let fake = FakeKfp::start();
    fake.set_server_version("2.5.0");
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    checked(
        &fake,
        upload::upload_prepared(&upload_args(&fake.url()), &p),
    )
    .unwrap();
    checked(
        &fake,
        upload::upload_prepared(&upload_args(&fake.url()), &p),
    )
    .unwrap();
    for r in fake.requests_to("POST", "/apis/v2beta1/pipelines/upload") {
        assert!(
            !r.query_map().contains_key("display_name"),
            "display_name is a 2.14+ query parameter: {}",
            r.query
        );
    }
    assert_eq!(fake.pipelines().len(), 1);
    assert_no_violations(&fake);
}

#[test]
fn upload_finds_the_pipeline_among_many_pages() {
    let fake = FakeKfp::start();
    fake.seed_pipelines(450);
    let (pid, _) = fake.seed_pipeline(PIPELINE_NAME, "");
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    checked(
        &fake,
        upload::upload_prepared(&upload_args(&fake.url()), &p),
    )
    .unwrap();
    assert_eq!(
        named(&fake.pipelines(), "display_name", PIPELINE_NAME).len(),
        1
    );
    assert_eq!(
        fake.pipeline_versions(&pid).len(),
        2,
        "a version added, no new pipeline"
    );
}

#[test]
fn upload_retries_a_failed_lookup_and_never_duplicates_an_upload() {
    let fake = FakeKfp::start();
    fake.fail_next("GET", "/apis/v2beta1/pipelines", 503, 2);
    fake.fail_next("POST", "/apis/v2beta1/pipelines/upload", 500, 1);
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    checked(
        &fake,
        upload::upload_prepared(&upload_args(&fake.url()), &p),
    )
    .unwrap();
    assert_eq!(
        named(&fake.pipelines(), "display_name", PIPELINE_NAME).len(),
        1
    );
}

// ----- run-once -------------------------------------------------------------------------

#[test]
fn run_once_creates_the_experiment_and_one_inline_run() {
    for version in BOTH {
        let fake = FakeKfp::start();
        let p = prepared(&fake.url(), version, "");
        checked(&fake, run_once::run_prepared(&run_args(&fake.url()), &p)).unwrap();
        let exps = fake.experiments();
        assert_eq!(
            named(&exps, "display_name", "demo-exp").len(),
            1,
            "{version:?}"
        );
        let runs = fake.runs();
        assert_eq!(runs.len(), 1, "{version:?}");
        let expected = match version {
            KfpVersion::V2 => "demo run s3://bucket/raw",
            KfpVersion::V1 => "demo run 0.5",
        };
        assert_eq!(
            runs[0]["display_name"], expected,
            "run name from run_config.run_name"
        );
        assert_eq!(runs[0]["experiment_id"], exps[0]["experiment_id"]);

        // A second run reuses the experiment.
        checked(&fake, run_once::run_prepared(&run_args(&fake.url()), &p)).unwrap();
        assert_eq!(fake.experiments().len(), 1);
        assert_eq!(fake.runs().len(), 2);
        assert_no_violations(&fake);
    }
}

#[test]
fn run_once_sends_the_v2_spec_inline_with_its_platform_spec() {
    let fake = FakeKfp::start();
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    let mut args = run_args(&fake.url());
    args.start.run_name = Some("custom".into());
    args.start.experiment_name = Some("other-exp".into());
    checked(&fake, run_once::run_prepared(&args, &p)).unwrap();
    let post = &fake.requests_to("POST", "/apis/v2beta1/runs")[0];
    let body = post.json().unwrap();
    assert_eq!(body["display_name"], "custom");
    assert_eq!(
        body["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"],
        "demo-proj"
    );
    assert_eq!(
        body["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]
            ["executors"]["exec-train"]["nodeSelector"]["labels"]["pool"],
        "gpu"
    );
    assert_eq!(
        named(&fake.experiments(), "display_name", "other-exp").len(),
        1
    );
}

#[test]
fn run_creation_retried_after_500_creates_exactly_one_run() {
    for version in BOTH {
        let fake = FakeKfp::start();
        let prefix = match version {
            KfpVersion::V2 => "/apis/v2beta1/runs",
            KfpVersion::V1 => "/apis/v1beta1/runs",
        };
        fake.fail_next("POST", prefix, 500, 1);
        let p = prepared(&fake.url(), version, "");
        checked(&fake, run_once::run_prepared(&run_args(&fake.url()), &p)).unwrap();
        assert_eq!(fake.runs().len(), 1, "{version:?}");
        assert_eq!(fake.requests_to("POST", prefix).len(), 2, "{version:?}");
    }
}

#[test]
fn run_creation_after_a_dropped_connection_creates_exactly_one_run() {
    let fake = FakeKfp::start();
    fake.drop_next("POST", "/apis/v2beta1/runs", 1);
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    checked(&fake, run_once::run_prepared(&run_args(&fake.url()), &p)).unwrap();
    assert_eq!(fake.runs().len(), 1);
}

#[test]
fn waiting_for_a_successful_run_exits_zero() {
    for version in BOTH {
        let fake = FakeKfp::start();
        fake.set_run_plan(&["PENDING", "RUNNING", "SUCCEEDED"]);
        let p = prepared(&fake.url(), version, "");
        let mut args = run_args(&fake.url());
        args.start.wait_for_completion = true;
        checked(&fake, run_once::run_prepared(&args, &p)).unwrap();
        assert_eq!(fake.runs()[0]["state"], "SUCCEEDED", "{version:?}");
    }
}

#[test]
fn a_failed_run_exits_3_naming_the_failed_task() {
    for version in BOTH {
        let fake = FakeKfp::start();
        fake.set_run_plan(&["RUNNING", "FAILED"]);
        fake.set_failed_task("train");
        let p = prepared(&fake.url(), version, "");
        let mut args = run_args(&fake.url());
        args.start.wait_for_completion = true;
        let err = checked(&fake, run_once::run_prepared(&args, &p)).unwrap_err();
        assert_eq!(err.exit_code(), 3, "{version:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("FAILED"), "{msg}");
        if version == KfpVersion::V2 {
            assert!(msg.contains("failed tasks: train"), "{msg}");
        }
        assert!(msg.contains("/#/runs/details/"), "{msg}");
    }
}

#[test]
fn waiting_past_the_timeout_exits_4_and_leaves_the_run() {
    let fake = FakeKfp::start();
    fake.set_run_plan(&["RUNNING"]);
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    let mut args = run_args(&fake.url());
    args.start.wait_for_completion = true;
    args.start.timeout = Some(1);
    let started = Instant::now();
    let err = checked(&fake, run_once::run_prepared(&args, &p)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.exit_code(), 4, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("still RUNNING") && msg.contains("keeps running"),
        "{msg}"
    );
    assert_eq!(fake.runs().len(), 1);
}

#[test]
fn config_wait_for_completion_waits_too() {
    let fake = FakeKfp::start();
    fake.set_run_plan(&["RUNNING", "FAILED"]);
    let mut p = prepared(&fake.url(), KfpVersion::V2, "");
    p.config.run_config.wait_for_completion = true;
    let err = checked(&fake, run_once::run_prepared(&run_args(&fake.url()), &p)).unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
}

#[test]
fn an_experiment_namespace_without_permission_is_a_403_message() {
    let fake = FakeKfp::start();
    fake.set_multi_user(true);
    fake.deny_namespace("team-x");
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    let mut args = run_args(&fake.url());
    args.start.experiment_namespace = Some("team-x".into());
    let err = checked(&fake, run_once::run_prepared(&args, &p)).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 1);
    assert!(msg.contains("HTTP 403"), "{msg}");
    assert!(
        msg.contains("not authorized") && msg.contains("team-x"),
        "{msg}"
    );
    assert!(msg.contains("--experiment-namespace"), "{msg}");
    assert!(fake.runs().is_empty());
}

#[test]
fn multi_user_runs_land_in_the_namespace() {
    let fake = FakeKfp::start();
    fake.set_multi_user(true);
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    let mut args = run_args(&fake.url());
    args.server.namespace = Some("team-a".into());
    checked(&fake, run_once::run_prepared(&args, &p)).unwrap();
    let lookup = &fake.requests_to("GET", "/apis/v2beta1/experiments")[0];
    assert_eq!(lookup.query_map()["namespace"], "team-a");
    let create = &fake.requests_to("POST", "/apis/v2beta1/experiments")[0];
    assert_eq!(create.json().unwrap()["namespace"], "team-a");
    assert_eq!(fake.runs().len(), 1);
    assert_no_violations(&fake);
}

#[test]
fn a_run_name_with_an_unknown_placeholder_is_refused_before_any_request() {
    let fake = FakeKfp::start();
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    let mut args = run_args(&fake.url());
    args.start.run_name = Some("run {epochs}".into());
    let err = checked(&fake, run_once::run_prepared(&args, &p)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("{epochs}") && msg.contains("source_uri"),
        "{msg}"
    );
    assert!(fake.requests().is_empty());
}

// ----- schedule -------------------------------------------------------------------------

#[test]
fn schedule_uploads_and_creates_an_enabled_recurring_run() {
    for version in BOTH {
        let fake = FakeKfp::start();
        let p = prepared(&fake.url(), version, "");
        checked(
            &fake,
            schedule::schedule_prepared(&schedule_args(&fake.url(), "0 0 4 * * *"), &p),
        )
        .unwrap();
        let rr = fake.recurring_runs();
        assert_eq!(rr.len(), 1, "{version:?}");
        assert_eq!(rr[0]["display_name"], "nightly");
        assert_eq!(rr[0]["status"], "ENABLED", "{version:?}: {:#}", rr[0]);
        assert_eq!(rr[0]["trigger"]["cron_schedule"]["cron"], "0 0 4 * * *");
        assert_eq!(rr[0]["max_concurrency"], "1");
        assert_eq!(
            named(&fake.pipelines(), "display_name", PIPELINE_NAME).len(),
            1
        );
        let pid = fake.pipelines()[0]["pipeline_id"]
            .as_str()
            .unwrap()
            .to_string();
        let version_ids: BTreeSet<String> = fake
            .pipeline_versions(&pid)
            .iter()
            .map(|v| v["pipeline_version_id"].as_str().unwrap().to_string())
            .collect();
        assert!(
            version_ids.contains(
                rr[0]["pipeline_version_reference"]["pipeline_version_id"]
                    .as_str()
                    .unwrap_or_default()
            ),
            "{version:?}: the schedule runs the uploaded version: {:#}",
            rr[0]
        );
        assert_no_violations(&fake);
    }
}

#[test]
fn schedule_after_upload_reuses_the_uploaded_version() {
    for version in BOTH {
        let fake = FakeKfp::start();
        let p = prepared(&fake.url(), version, "");
        checked(
            &fake,
            upload::upload_prepared(&upload_args(&fake.url()), &p),
        )
        .unwrap();
        let pid = fake.pipelines()[0]["pipeline_id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = fake.pipeline_versions(&pid).len();
        checked(
            &fake,
            schedule::schedule_prepared(&schedule_args(&fake.url(), "0 0 4 * * *"), &p),
        )
        .unwrap();
        assert_eq!(
            fake.pipeline_versions(&pid).len(),
            before,
            "{version:?}: schedule must find the version upload-pipeline made, not add one"
        );
        assert_eq!(fake.recurring_runs().len(), 1, "{version:?}");
        assert_no_violations(&fake);
    }
}

#[test]
fn schedule_replaces_every_same_named_recurring_run_on_all_pages() {
    let fake = FakeKfp::start();
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    let args = schedule_args(&fake.url(), "0 0 4 * * *");
    checked(&fake, schedule::schedule_prepared(&args, &p)).unwrap();
    let exp = fake.experiments()[0]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let template = fake.recurring_runs()[0].clone();
    // 205 more with the same name (more than one page of 200), plus one other schedule.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let mk = |name: &str| {
        let body = json!({"display_name": name, "experiment_id": exp,
            "pipeline_version_reference": template["pipeline_version_reference"],
            "trigger": {"cron_schedule": {"cron": "0 0 1 * * *"}},
            "max_concurrency": "1", "mode": "ENABLE"});
        let r = rt
            .block_on(
                http.post(format!("{}/apis/v2beta1/recurringruns", fake.url()))
                    .json(&body)
                    .send(),
            )
            .unwrap();
        assert!(r.status().is_success());
    };
    for _ in 0..205 {
        mk("nightly");
    }
    mk("weekly-report");
    assert_eq!(fake.recurring_runs().len(), 207);

    let mut args = args.clone();
    args.cron_expression = "0 30 2 * * 1-5".into();
    args.max_concurrency = Some(3);
    args.no_catchup = true;
    args.start_time = Some("2030-01-01T00:00:00+01:00".parse().unwrap());
    checked(&fake, schedule::schedule_prepared(&args, &p)).unwrap();
    let rr = fake.recurring_runs();
    let nightly = named(&rr, "display_name", "nightly");
    assert_eq!(nightly.len(), 1, "all 206 old ones replaced by one");
    assert_eq!(
        named(&rr, "display_name", "weekly-report").len(),
        1,
        "others kept"
    );
    let new = nightly[0];
    assert_eq!(new["trigger"]["cron_schedule"]["cron"], "0 30 2 * * 1-5");
    assert_eq!(
        new["trigger"]["cron_schedule"]["start_time"],
        "2029-12-31T23:00:00Z"
    );
    assert_eq!(new["max_concurrency"], "3");
    assert_eq!(new["no_catchup"], true);
    // Created before the deletions: the POST comes before the first DELETE.
    let log = fake.requests();
    let post = log
        .iter()
        .rposition(|r| r.method == "POST" && r.path == "/apis/v2beta1/recurringruns")
        .unwrap();
    let first_delete = log.iter().position(|r| r.method == "DELETE").unwrap();
    assert!(post < first_delete, "new schedule first, then deletions");
    assert_no_violations(&fake);
}

/// When the old schedule cannot be deleted after the new one is created, the user is told that
/// the new one is in place and which old id to delete, and both exist on the server.
#[test]
fn schedule_says_which_previous_schedule_is_left_when_its_delete_fails() {
    let fake = FakeKfp::start();
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    let args = schedule_args(&fake.url(), "0 0 4 * * *");
    checked(&fake, schedule::schedule_prepared(&args, &p)).unwrap();
    let old = fake.recurring_runs()[0]["recurring_run_id"]
        .as_str()
        .unwrap()
        .to_string();
    // 403: not retried (a 5xx would be, and the retry would succeed).
    fake.fail_next("DELETE", "/apis/v2beta1/recurringruns/", 403, 1);
    let err = schedule::schedule_prepared(&args, &p)
        .unwrap_err()
        .to_string();
    let rr = fake.recurring_runs();
    assert_eq!(rr.len(), 2, "the new one created, the old one left");
    let new = rr
        .iter()
        .map(|r| r["recurring_run_id"].as_str().unwrap())
        .find(|id| *id != old)
        .unwrap();
    assert!(
        err.starts_with(&format!(
            "the new schedule {new} is in place, but deleting the previous one {old} failed: "
        )),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "; delete it with `kfpx schedules delete {old}` or in the KFP UI"
        )),
        "{err}"
    );
    assert_no_violations(&fake);
    // The advice works as written: the old schedule goes, the new one stays.
    support::cmd::kfpx()
        .args(["schedules", "delete", &old, "--host", &fake.url()])
        .assert()
        .success();
    let left: Vec<String> = fake
        .recurring_runs()
        .iter()
        .map(|r| r["recurring_run_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, vec![new.to_string()]);
}

#[test]
fn schedule_v1_replaces_jobs() {
    let fake = FakeKfp::start();
    let p = prepared(&fake.url(), KfpVersion::V1, "");
    let args = schedule_args(&fake.url(), "0 0 4 * * *");
    checked(&fake, schedule::schedule_prepared(&args, &p)).unwrap();
    let first = fake.recurring_runs()[0]["recurring_run_id"].clone();
    checked(&fake, schedule::schedule_prepared(&args, &p)).unwrap();
    let rr = fake.recurring_runs();
    assert_eq!(rr.len(), 1);
    assert_ne!(rr[0]["recurring_run_id"], first, "replaced by a new one");
    assert_eq!(fake.requests_to("DELETE", "/apis/v1beta1/jobs/").len(), 1);
    assert_no_violations(&fake);
}

#[test]
fn schedule_refuses_bad_cron_before_any_request() {
    let fake = FakeKfp::start();
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    for (cron, needle) in [
        ("0 2 * * *", "'0 0 2 * * *'"),
        ("0 0 4 * * * 2027", "7 fields"),
        ("every day", "2 fields"),
        ("0 0 25 * * *", "not a valid"),
    ] {
        let err = checked(
            &fake,
            schedule::schedule_prepared(&schedule_args(&fake.url(), cron), &p),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2, "{cron}: {err}");
        assert!(err.to_string().contains(needle), "{cron}: {err}");
    }
    let mut args = schedule_args(&fake.url(), "0 0 4 * * *");
    args.max_concurrency = Some(11);
    let err = checked(&fake, schedule::schedule_prepared(&args, &p)).unwrap_err();
    assert!(err.to_string().contains("1..10"), "{err}");
    assert!(fake.requests().is_empty());
}

// ----- the binary: list-pipelines and connection faults -----------------------------------

fn kfpx() -> Command {
    let mut cmd = support::cmd::kfpx();
    cmd.current_dir(std::env::temp_dir());
    cmd
}

#[test]
fn list_pipelines_prints_every_page_sorted_with_latest_versions() {
    for (flag, version) in [("2", "v2"), ("1", "v1")] {
        let fake = FakeKfp::start();
        fake.seed_pipelines(230);
        fake.seed_pipeline("aaa first", "");
        let out = kfpx()
            .args([
                "list-pipelines",
                "--host",
                &fake.url(),
                "--kfp-version",
                flag,
            ])
            .args(["--output", "json"])
            .assert_on(&fake)
            .success()
            .get_output()
            .stdout
            .clone();
        let list: Vec<Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(list.len(), 231, "{version}: all pages");
        assert_eq!(list[0]["name"], "aaa first");
        let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(
            list.iter().all(|p| p["latest_version"]["id"].is_string()),
            "{version}: every pipeline has its latest version"
        );

        let table = kfpx()
            .args([
                "list-pipelines",
                "--host",
                &fake.url(),
                "--kfp-version",
                flag,
            ])
            .assert_on(&fake)
            .success()
            .get_output()
            .stdout
            .clone();
        let table = String::from_utf8(table).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("Name") && lines[0].contains("Latest version"));
        assert!(lines[1].starts_with("----"));
        assert!(lines[2].starts_with("aaa first"));
        assert_eq!(lines.len(), 233);
    }
}

#[test]
fn list_pipelines_over_5000_pipelines() {
    let fake = FakeKfp::start();
    fake.seed_pipelines(5000);
    let started = Instant::now();
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "-o", "json"])
        .assert_on(&fake)
        .success()
        .get_output()
        .stdout
        .clone();
    let took = started.elapsed();
    let list: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(list.len(), 5000);
    eprintln!("list-pipelines over 5000 pipelines: {took:?}");
    // A generous bound for debug builds on a shared machine; the release figure is in docs.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn list_pipelines_shows_the_namespace_own_pipelines_too() {
    let fake = FakeKfp::start();
    fake.set_multi_user(true);
    fake.seed_pipeline("shared one", "");
    fake.seed_pipeline("team private", "team-a");
    fake.seed_pipeline("other team", "team-b");
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "-o", "json"])
        .args(["--namespace", "team-a"])
        .assert_on(&fake)
        .success()
        .get_output()
        .stdout
        .clone();
    let list: Vec<Value> = serde_json::from_slice(&out).unwrap();
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["shared one", "team private"]);
}

#[test]
fn a_server_that_is_down_is_one_clear_line() {
    let port = support::cmd::REFUSED_PORT;
    kfpx()
        .args([
            "list-pipelines",
            "--host",
            &format!("http://127.0.0.1:{port}"),
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "error: cannot reach KFP at http://127.0.0.1:{port}/\n  \
             cause: Connection refused (os error 111)\n  \
             help: the host came from --host: check it, and that the server is running (or \
             port-forwarded, e.g. kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80)\n"
        ));
}

#[test]
fn a_wrong_host_path_answering_html_is_explained() {
    let fake = FakeKfp::start();
    fake.set_html_catch_all(true);
    kfpx()
        .args([
            "list-pipelines",
            "--host",
            &format!("{}/dashboard", fake.url()),
        ])
        .assert_on(&fake)
        .code(1)
        .stderr(predicate::str::contains(
            "answered with an HTML page, not the API",
        ))
        .stderr(predicate::str::contains("check the host path"));
}

#[test]
fn a_host_ending_in_pipeline_works() {
    let fake = FakeKfp::start();
    fake.seed_pipeline("x", "");
    kfpx()
        .args([
            "list-pipelines",
            "--host",
            &format!("{}/pipeline/", fake.url()),
        ])
        .assert_on(&fake)
        .success()
        .stdout(predicate::str::contains("x"));
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.path.starts_with("/pipeline/apis/")));
}

#[test]
fn transient_errors_on_reads_are_retried() {
    let fake = FakeKfp::start();
    fake.seed_pipeline("x", "");
    fake.fail_next("GET", "/apis/v2beta1/pipelines", 503, 2);
    fake.fail_next("GET", "/apis/v2beta1/healthz", 502, 1);
    kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "-o", "json"])
        .assert_on(&fake)
        .success();
    fake.fail_next("GET", "/apis/v2beta1/pipelines", 500, 10);
    kfpx()
        .args(["list-pipelines", "--host", &fake.url()])
        .assert_on(&fake)
        .code(1)
        .stderr(predicate::str::contains("KFP rejected listing pipelines"))
        .stderr(predicate::str::contains("(HTTP 500)"));
}

#[test]
fn missing_credentials_say_what_was_tried_and_how_to_fix() {
    let fake = FakeKfp::start();
    fake.require_bearer("s3cret-token");
    kfpx()
        .args(["list-pipelines", "--host", &fake.url()])
        .assert_on(&fake)
        .code(1)
        .stderr(predicate::str::contains("HTTP 401"))
        .stderr(predicate::str::contains("tried:"))
        .stderr(predicate::str::contains("KF_PIPELINES_TOKEN"))
        .stderr(predicate::str::contains("DEX_USERNAME"));
}

#[test]
fn a_wrong_bearer_token_names_the_provider_and_never_the_token() {
    let fake = FakeKfp::start();
    fake.require_bearer("s3cret-token");
    kfpx()
        .env("KF_PIPELINES_TOKEN", "wrong-token-value")
        .args(["list-pipelines", "--host", &fake.url()])
        .assert_on(&fake)
        .code(1)
        .stderr(predicate::str::contains("HTTP 401"))
        .stderr(predicate::str::contains("KF_PIPELINES_TOKEN"))
        .stderr(predicate::str::contains("wrong-token-value").not());
}

#[test]
fn a_bearer_token_from_the_environment_is_sent() {
    let fake = FakeKfp::start();
    fake.require_bearer("s3cret-token");
    fake.seed_pipeline("x", "");
    kfpx()
        .env("KF_PIPELINES_TOKEN", "s3cret-token")
        .args(["list-pipelines", "--host", &fake.url(), "-v"])
        .assert_on(&fake)
        .success()
        .stderr(predicate::str::contains("s3cret-token").not());
}

#[test]
fn verbose_logs_each_request() {
    let fake = FakeKfp::start();
    kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "-v"])
        .assert_on(&fake)
        .success()
        .stderr(predicate::str::contains("GET http://127.0.0.1:"))
        .stderr(predicate::str::contains("/apis/v2beta1/healthz -> 200 in"));
}

#[test]
fn schedule_with_a_five_field_cron_fails_before_compiling() {
    kfpx()
        .args(["schedule", "-c", "0 2 * * *"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("5 fields"))
        .stderr(predicate::str::contains("'0 0 2 * * *'"));
    kfpx()
        .args(["schedule", "-c", "0 0 4 * * * 2027"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exactly 6"));
}

#[test]
fn a_redirect_to_a_login_page_is_an_authentication_error() {
    let fake = FakeKfp::start();
    fake.require_cookie("oauth2_proxy_kubeflow", "session-value");
    kfpx()
        .args(["list-pipelines", "--host", &fake.url()])
        .assert_on(&fake)
        .code(1)
        .stderr(predicate::str::contains("sent kfpx to a login page"))
        .stderr(predicate::str::contains("/dex/"))
        .stderr(predicate::str::contains("KF_PIPELINES_COOKIE"));
}

#[test]
fn upload_finds_a_pipeline_whose_display_name_was_changed() {
    let fake = FakeKfp::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resp = rt
        .block_on(
            reqwest::Client::new()
                .post(format!("{}/apis/v2beta1/pipelines", fake.url()))
                .json(&json!({"name": PIPELINE_NAME, "display_name": "Renamed in the UI"}))
                .send(),
        )
        .unwrap();
    assert!(resp.status().is_success());
    let p = prepared(&fake.url(), KfpVersion::V2, "");
    checked(
        &fake,
        upload::upload_prepared(&upload_args(&fake.url()), &p),
    )
    .unwrap();
    let pipelines = fake.pipelines();
    assert_eq!(pipelines.len(), 1, "no second pipeline: {pipelines:#?}");
    let pid = pipelines[0]["pipeline_id"].as_str().unwrap();
    assert_eq!(
        fake.pipeline_versions(pid).len(),
        1,
        "the version went to it"
    );
}

// ----- the binary end to end on the example project (compile chain + server) ---------------

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf-example")
}

/// `kfpx -C conf-example --snapshot …` with a fixed commit id (the image tag uses it).
fn kfpx_example() -> Command {
    let mut cmd = kfpx();
    let dir = example_dir();
    cmd.env("KEDRO_CONFIG_COMMIT_ID", "0123456789abcdef")
        .arg("-C")
        .arg(&dir)
        .arg("--snapshot")
        .arg(dir.join("kfpx-snapshot.json"));
    cmd
}

#[test]
fn example_upload_end_to_end_is_idempotent_under_both_apis() {
    for flag in ["2", "1"] {
        let fake = FakeKfp::start();
        let out = kfpx_example()
            .args([
                "upload-pipeline",
                "--host",
                &fake.url(),
                "--kfp-version",
                flag,
            ])
            .args(["--output", "json"])
            .assert_on(&fake)
            .success()
            .get_output()
            .stdout
            .clone();
        let first: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(first["outcome"], "created_pipeline");
        assert_eq!(
            first["pipeline_name"],
            "[spaceflights] __default__ (env: local)"
        );
        assert!(first["version_name"]
            .as_str()
            .unwrap()
            .starts_with("spaceflights-0123456-"));
        assert!(first["url"].as_str().unwrap().contains(&format!(
            "/#/pipelines/details/{}/version/{}",
            first["pipeline_id"].as_str().unwrap(),
            first["version_id"].as_str().unwrap()
        )));
        kfpx_example()
            .args([
                "upload-pipeline",
                "--host",
                &fake.url(),
                "--kfp-version",
                flag,
            ])
            .assert_on(&fake)
            .success()
            .stderr(predicate::str::contains("already uploaded"));
        assert_eq!(fake.pipelines().len(), 1);
        assert_no_violations(&fake);
    }
}

#[test]
fn example_run_once_and_schedule_under_both_apis() {
    for flag in ["2", "1"] {
        let fake = FakeKfp::start();
        fake.set_run_plan(&["PENDING", "RUNNING", "SUCCEEDED"]);
        kfpx_example()
            .args(["run-once", "--host", &fake.url(), "--kfp-version", flag])
            .args(["--wait-for-completion", "--timeout", "60"])
            .assert_on(&fake)
            .success()
            .stdout(predicate::str::contains("/#/runs/details/"));
        assert_eq!(fake.runs().len(), 1, "--kfp-version {flag}");
        kfpx_example()
            .args(["schedule", "--host", &fake.url(), "--kfp-version", flag])
            .args(["-c", "0 0 4 * * *"])
            .assert_on(&fake)
            .success()
            .stdout(predicate::str::contains("next runs"));
        assert_eq!(fake.recurring_runs().len(), 1);
        assert_eq!(
            fake.recurring_runs()[0]["display_name"],
            "spaceflights nightly"
        );
        assert_no_violations(&fake);
    }
}

#[test]
fn example_run_once_refuses_an_unknown_param() {
    let fake = FakeKfp::start();
    kfpx_example()
        .args(["run-once", "--host", &fake.url(), "--param", "nope=1"])
        .assert_on(&fake)
        .failure()
        .stderr(predicate::str::contains("nope"))
        .stderr(predicate::str::contains("data_science"));
    assert!(fake.runs().is_empty());
}

#[test]
fn ctrl_c_while_waiting_leaves_the_run_running() {
    let fake = FakeKfp::start();
    fake.set_run_plan(&["RUNNING"]);
    let dir = example_dir();
    let child = support::cmd::kfpx_std()
        .env("KEDRO_CONFIG_COMMIT_ID", "0123456789abcdef")
        .arg("-C")
        .arg(&dir)
        .arg("--snapshot")
        .arg(dir.join("kfpx-snapshot.json"))
        .args(["run-once", "--host", &fake.url(), "--wait-for-completion"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while fake.requests_to("GET", "/apis/v2beta1/runs/").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "kfpx never polled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("keeps running"), "{stderr}");
    assert!(stderr.contains("/#/runs/details/"), "{stderr}");
    // The user's own choice: a calm message, not an error.
    assert!(!stderr.contains("error:"), "{stderr}");
    assert!(stderr.contains("Stopped waiting (Ctrl-C)"), "{stderr}");
    assert_eq!(fake.runs().len(), 1);
    assert_eq!(fake.runs()[0]["state"], "RUNNING", "not cancelled");
    assert!(
        fake.requests_to("POST", "/apis/v2beta1/runs/").is_empty(),
        "no terminate"
    );
    fake.assert_no_violations();
}

#[test]
fn a_bad_ca_bundle_is_one_clear_line() {
    let fake = FakeKfp::start();
    let missing = std::env::temp_dir().join("kfpx-no-such-ca.pem");
    kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "--ca-bundle"])
        .arg(&missing)
        .assert_on(&fake)
        .code(1)
        .stderr(predicate::str::contains("cannot read the CA bundle"));
    let not_pem = std::env::temp_dir().join(format!("kfpx-not-pem-{}.txt", std::process::id()));
    std::fs::write(&not_pem, "just some text\n").unwrap();
    kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "--ca-bundle"])
        .arg(&not_pem)
        .assert_on(&fake)
        .code(1)
        .stderr(predicate::str::contains("CA bundle"))
        .stderr(predicate::str::contains("PEM"));
    let _ = std::fs::remove_file(&not_pem);
}

#[test]
fn example_upload_timing() {
    let fake = FakeKfp::start();
    // Warm the snapshot cache and create the pipeline.
    kfpx_example()
        .args(["upload-pipeline", "--host", &fake.url()])
        .assert_on(&fake)
        .success();
    let mut best = Duration::MAX;
    for variant in ["a", "b", "c"] {
        // New content each time (a commit id changes the image tag): a real new version.
        let started = Instant::now();
        kfpx_example()
            .env("KEDRO_CONFIG_COMMIT_ID", format!("{variant}123456789"))
            .args(["upload-pipeline", "--host", &fake.url()])
            .assert_on(&fake)
            .success()
            .stderr(predicate::str::contains("added version"));
        best = best.min(started.elapsed());
    }
    eprintln!("upload-pipeline of conf-example, end to end: {best:?}");
    assert!(best < Duration::from_secs(10), "{best:?}");
}

#[test]
fn the_endpoint_and_namespace_come_from_the_environment() {
    let fake = FakeKfp::start();
    fake.set_multi_user(true);
    fake.seed_pipeline("team private", "team-env");
    let out = kfpx()
        .env("KF_PIPELINES_ENDPOINT", fake.url())
        .env("KF_PIPELINES_NAMESPACE", "team-env")
        .args(["list-pipelines", "-o", "json"])
        .assert_on(&fake)
        .success()
        .get_output()
        .stdout
        .clone();
    let list: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "team private");
}

#[test]
fn latest_versions_are_fetched_per_pipeline_when_the_v1_list_is_unavailable() {
    let n: usize = std::env::var("KFPX_TEST_FALLBACK_PIPELINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    let fake = FakeKfp::start();
    fake.seed_pipelines(n);
    fake.fail_next("GET", "/apis/v1beta1/pipelines", 404, 1000);
    let started = Instant::now();
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "-o", "json"])
        .assert_on(&fake)
        .success()
        .get_output()
        .stdout
        .clone();
    eprintln!(
        "list-pipelines over {n} pipelines, one version request each: {:?}",
        started.elapsed()
    );
    let list: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(list.len(), n);
    assert!(list.iter().all(|p| p["latest_version"]["id"].is_string()));
    let per_pipeline = fake.requests_to("GET", "/apis/v2beta1/pipelines/").len();
    assert_eq!(per_pipeline, n, "one versions request per pipeline");
}

#[test]
fn help_lists_every_exit_code_including_ctrl_c() {
    let out = kfpx()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(out).unwrap();
    let line = help
        .lines()
        .find(|l| l.starts_with("Exit codes:"))
        .unwrap_or_else(|| panic!("no exit-code line in:\n{help}"));
    let line = help[help.find(line).unwrap()..]
        .split("\nDocs")
        .next()
        .unwrap()
        .replace('\n', " ");
    for code in [
        "0 success",
        "1 error",
        "2 usage",
        "3 run",
        "4 waiting timed out",
        "130",
    ] {
        assert!(line.contains(code), "{code:?} missing from: {line}");
    }
    assert!(
        line.contains("Ctrl-C") && line.contains("the run keeps running"),
        "{line}"
    );
}

/// Runs `list-pipelines` at every verbosity and returns (verbosity, exit code, stdout+stderr).
fn list_at_every_verbosity(
    fake: &FakeKfp,
    host: &str,
    env: &[(&str, &str)],
) -> Vec<(&'static str, Option<i32>, String)> {
    ["-v", "-vv", "-vvv"]
        .into_iter()
        .map(|v| {
            let mut cmd = kfpx();
            for (k, val) in env {
                cmd.env(k, val);
            }
            let out = cmd
                .args(["list-pipelines", "--host", host, v])
                .assert_on(fake)
                .get_output()
                .clone();
            let text = format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (v, out.status.code(), text)
        })
        .collect()
}

#[test]
fn verbose_output_never_shows_a_token_or_cookie() {
    let fake = FakeKfp::start();
    fake.seed_pipeline("p1", "");
    let token = "tok-SECRET-7f3a9c";
    let cookie = "authservice_session=COOKIE-SECRET-51be";

    // Accepted bearer token.
    fake.require_bearer(token);
    for (v, code, text) in
        list_at_every_verbosity(&fake, &fake.url(), &[("KF_PIPELINES_TOKEN", token)])
    {
        assert_eq!(code, Some(0), "{v}: {text}");
        assert!(text.contains("p1"), "{v}: the listing: {text}");
        assert!(
            text.contains("GET http://127.0.0.1:"),
            "{v} logs requests: {text}"
        );
        assert!(!text.contains("SECRET"), "{v} leaks the token: {text}");
    }
    // Refused bearer token: the 401 path logs the error body at -vv.
    fake.require_bearer("another-token");
    for (v, code, text) in
        list_at_every_verbosity(&fake, &fake.url(), &[("KF_PIPELINES_TOKEN", token)])
    {
        assert_eq!(code, Some(1), "{v}: {text}");
        assert!(text.contains("HTTP 401"), "{v}: {text}");
        assert!(!text.contains("SECRET"), "{v} leaks the token: {text}");
    }
    fake.clear_auth();

    // Session cookie, accepted then refused (a redirect to the login page).
    let (name, value) = cookie.split_once('=').unwrap();
    fake.require_cookie(name, value);
    for (v, code, text) in
        list_at_every_verbosity(&fake, &fake.url(), &[("KF_PIPELINES_COOKIE", cookie)])
    {
        assert_eq!(code, Some(0), "{v}: {text}");
        assert!(text.contains("p1"), "{v}: the listing: {text}");
        assert!(!text.contains("SECRET"), "{v} leaks the cookie: {text}");
    }
    fake.require_cookie(name, "another-value");
    for (v, code, text) in
        list_at_every_verbosity(&fake, &fake.url(), &[("KF_PIPELINES_COOKIE", cookie)])
    {
        assert_eq!(code, Some(1), "{v}: {text}");
        assert!(text.contains("login page"), "{v}: {text}");
        assert!(!text.contains("SECRET"), "{v} leaks the cookie: {text}");
    }
    fake.clear_auth();

    // A password in the host URL (userinfo) is not shown either.
    let with_userinfo = fake.url().replace("http://", "http://user:PW-SECRET-c0de@");
    for (v, _, text) in list_at_every_verbosity(&fake, &with_userinfo, &[]) {
        assert!(
            !text.contains("SECRET"),
            "{v} leaks the URL's password: {text}"
        );
    }
}

#[test]
fn verbose_output_never_shows_the_dex_password_or_session() {
    use support::fake_auth::{DexFlow, DexOptions, FakeDex};
    for flow in [DexFlow::AuthService, DexFlow::OAuth2Proxy] {
        let fake = FakeKfp::start();
        fake.seed_pipeline("p1", "");
        let dex = FakeDex::start_with(
            flow,
            DexOptions {
                upstream: Some(fake.url()),
                ..DexOptions::for_flow(flow)
            },
        );
        let env = [
            ("DEX_USERNAME", FakeDex::USER),
            ("DEX_PASSWORD", FakeDex::PASSWORD),
        ];
        for (v, code, text) in list_at_every_verbosity(&fake, &dex.pipeline_url(), &env) {
            assert_eq!(code, Some(0), "{flow:?} {v}: {text}");
            assert!(text.contains("p1"), "{flow:?} {v}: the listing: {text}");
            assert!(text.contains("Dex login as"), "{flow:?} {v}: {text}");
            assert!(
                !text.contains(FakeDex::PASSWORD),
                "{flow:?} {v} leaks the password: {text}"
            );
            // Session cookies (and Dex's codes and state) are random ids with these prefixes.
            for prefix in ["sess", "code", "st", "req", "csrf"] {
                let leaked = text.match_indices(prefix).any(|(i, _)| {
                    text[i + prefix.len()..].starts_with(|c: char| c.is_ascii_hexdigit())
                        && text[i + prefix.len()..]
                            .chars()
                            .take(32)
                            .all(|c| c.is_ascii_hexdigit())
                });
                assert!(!leaked, "{flow:?} {v} leaks a {prefix} value: {text}");
            }
        }
    }
}
