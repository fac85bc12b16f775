//! Issue 18: `kfpx runs …` and `kfpx schedules …` through the binary against the stateful fake
//! KFP server, under both API versions: what the user sees (tables, JSON, errors, exit codes)
//! and exactly which calls were made.

mod support;

use assert_cmd::Command;
use serde_json::{json, Value};
use support::fake_kfp::{FakeKfp, SeedRun};

const PIPELINE: &str = "[demo] __default__ (env: local)";

fn kfpx() -> Command {
    let mut cmd = support::cmd::kfpx();
    cmd.env("COLUMNS", "250");
    cmd.current_dir(std::env::temp_dir());
    cmd
}

/// A Kedro project named `demo` whose config points at `host`.
fn project(host: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.kedro]\npackage_name = \"demo\"\nproject_name = \"demo\"\nkedro_init_version = \"1.0.0\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
    std::fs::write(
        dir.path().join("conf/base/kubeflow.yaml"),
        format!("host: {host}\nrun_config:\n  image: demo:1\n  experiment_name: demo-exp\n  run_name: demo run\n"),
    )
    .unwrap();
    dir
}

fn in_project(dir: &tempfile::TempDir) -> Command {
    let mut cmd = kfpx();
    cmd.current_dir(dir.path());
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A server with this project's pipeline, another project's, and runs of each.
struct World {
    fake: FakeKfp,
    exp: String,
    failed_run: String,
    ok_run: String,
    other_run: String,
    inline_run: String,
}

fn world() -> World {
    let fake = FakeKfp::start();
    let exp = fake.seed_experiment("demo-exp", "");
    let mine = fake.seed_pipeline(PIPELINE, "");
    let theirs = fake.seed_pipeline("[other] __default__ (env: local)", "");
    let ok_run = fake.seed_run(&SeedRun {
        name: "demo ok".into(),
        experiment_id: exp.clone(),
        pipeline: Some(mine.clone()),
        parameters: Some(json!({"source_uri": "s3://b/raw", "epochs": 3})),
        ..Default::default()
    });
    let other_run = fake.seed_run(&SeedRun {
        name: "other run".into(),
        experiment_id: exp.clone(),
        pipeline: Some(theirs),
        ..Default::default()
    });
    let inline_run = fake.seed_run(&SeedRun {
        name: "demo inline".into(),
        experiment_id: exp.clone(),
        description: format!("kfpx run-once of {PIPELINE} (kfpx request 0123456789abcdef)"),
        ..Default::default()
    });
    let failed_run = fake.seed_run(&SeedRun {
        name: "demo failed".into(),
        experiment_id: exp.clone(),
        pipeline: Some(mine.clone()),
        plan: vec!["FAILED"],
        failed_task: "train".into(),
        ..Default::default()
    });
    World {
        fake,
        exp,
        failed_run,
        ok_run,
        other_run,
        inline_run,
    }
}

fn json_out(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn runs_list_shows_this_projects_runs_newest_first_under_both_apis() {
    for v in ["2", "1"] {
        let w = world();
        let dir = project(&w.fake.url());
        let out = in_project(&dir)
            .args(["runs", "list", "--kfp-version", v, "-o", "json"])
            .output()
            .unwrap();
        let runs = json_out(&out);
        let ids: Vec<&str> = runs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        // Newest first; the other project's run is not there; the run-once run (inline
        // document, no pipeline reference) is recognised by its description.
        assert_eq!(
            ids,
            [&w.failed_run, &w.inline_run, &w.ok_run],
            "v{v}: {runs:#}"
        );
        assert_eq!(runs[0]["state"], "FAILED");
        assert_eq!(runs[0]["pipeline_name"], PIPELINE);
        w.fake.assert_no_violations();

        // --all: every run.
        let out = in_project(&dir)
            .args(["runs", "list", "--all", "--kfp-version", v, "-o", "json"])
            .output()
            .unwrap();
        let all = json_out(&out);
        assert_eq!(all.as_array().unwrap().len(), 4, "v{v}");
        assert!(all
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == w.other_run.as_str()));

        // --state filters.
        let out = in_project(&dir)
            .args(["runs", "list", "--state", "failed", "--kfp-version", v])
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert_eq!(json_out(&out).as_array().unwrap().len(), 1);
    }
}

#[test]
fn runs_list_table_names_state_pipeline_and_failed_tasks() {
    let w = world();
    let dir = project(&w.fake.url());
    let out = in_project(&dir).args(["runs", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("Name") && lines[0].contains("Failed tasks"),
        "{text}"
    );
    assert_eq!(lines.len(), 5, "header, rule and 3 runs:\n{text}");
    assert!(lines[2].starts_with("demo failed") && lines[2].contains("FAILED"));
    assert!(lines[2].trim_end().ends_with("train"), "{text}");
    assert!(lines[2].contains(PIPELINE), "{text}");
    assert!(!text.contains("other run"), "{text}");

    // -o wide has the ids.
    let out = in_project(&dir)
        .args(["runs", "list", "-o", "wide"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains(&w.failed_run), "{}", stdout(&out));
}

#[test]
fn runs_list_reads_every_page() {
    for v in ["2", "1"] {
        let fake = FakeKfp::start();
        let exp = fake.seed_experiment("demo-exp", "");
        let p = fake.seed_pipeline(PIPELINE, "");
        fake.seed_runs(450, &exp, (&p.0, &p.1));
        let dir = project(&fake.url());
        let out = in_project(&dir)
            .args(["runs", "list", "--kfp-version", v, "-o", "json"])
            .output()
            .unwrap();
        let runs = json_out(&out);
        assert_eq!(runs.as_array().unwrap().len(), 450, "v{v}");
        assert_eq!(runs[0]["name"], "run-00450", "newest first");
        let api = if v == "2" { "v2beta1" } else { "v1beta1" };
        let pages = fake.requests_to("GET", &format!("/apis/{api}/runs"));
        assert_eq!(pages.len(), 3, "200 + 200 + 50");
        fake.assert_no_violations();

        let out = in_project(&dir)
            .args([
                "runs",
                "list",
                "--kfp-version",
                v,
                "--limit",
                "5",
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        assert_eq!(json_out(&out).as_array().unwrap().len(), 5);
    }
}

#[test]
fn runs_list_filters_by_experiment_and_says_when_there_is_none() {
    let w = world();
    let other_exp = w.fake.seed_experiment("elsewhere", "");
    let dir = project(&w.fake.url());
    let out = in_project(&dir)
        .args(["runs", "list", "-x", "elsewhere"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("no runs of [demo] * (env: local)"),
        "{}",
        stderr(&out)
    );
    let listed = w.fake.requests_to("GET", "/apis/v2beta1/runs");
    assert_eq!(listed[0].query_map()["experiment_id"], other_exp);

    let out = in_project(&dir)
        .args(["runs", "list", "-x", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: no experiment named \"nope\"\n  help: check the name (-x), or the namespace \
         (--namespace)\n"
    );
    let _ = w.exp;
}

#[test]
fn runs_get_shows_tasks_parameters_and_link_by_id_or_name() {
    for v in ["2", "1"] {
        let w = world();
        let dir = project(&w.fake.url());
        let out = in_project(&dir)
            .args(["runs", "get", &w.failed_run, "--kfp-version", v])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("state:") && text.contains("FAILED"), "{text}");
        assert!(
            text.contains(&format!("#/runs/details/{}", w.failed_run)),
            "{text}"
        );
        let task_lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("extract") || l.starts_with("train"))
            .collect();
        assert_eq!(task_lines.len(), 2, "v{v}: {text}");
        assert!(task_lines
            .iter()
            .any(|l| l.starts_with("train") && l.contains("FAILED")));

        // By name, JSON: the parameters it ran with and the pods of its tasks.
        let out = in_project(&dir)
            .args(["runs", "get", "demo ok", "--kfp-version", v, "-o", "json"])
            .output()
            .unwrap();
        let run = json_out(&out);
        assert_eq!(run["id"], w.ok_run.as_str());
        if v == "2" {
            assert_eq!(
                run["parameters"],
                json!({"source_uri": "s3://b/raw", "epochs": 3})
            );
        }
        let tasks = run["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2, "{run:#}");
        assert!(tasks.iter().all(|t| t["pod_name"].is_string()), "{run:#}");
        w.fake.assert_no_violations();
    }
}

#[test]
fn runs_get_lists_candidates_for_an_ambiguous_name_and_explains_a_missing_run() {
    let w = world();
    let again = w.fake.seed_run(&SeedRun {
        name: "other run".into(),
        experiment_id: w.exp.clone(),
        ..Default::default()
    });
    let dir = project(&w.fake.url());
    let out = in_project(&dir)
        .args(["runs", "get", "other run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: 2 runs are named \"other run\"\n"),
        "{err}"
    );
    assert!(err.contains(&again) && err.contains(&w.other_run), "{err}");
    assert!(err.contains("help: give the id"), "{err}");

    for key in ["no such run", "00000040-ffff-4000-8000-00000000ffff"] {
        let out = in_project(&dir)
            .args(["runs", "get", key])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert_eq!(
            err.lines().next().unwrap(),
            format!("error: no run with id or name {key:?}"),
            "{err}"
        );
        assert!(
            err.contains("help: `kfpx runs list --all` lists them"),
            "{err}"
        );
    }
}

#[test]
fn runs_cancel_retry_archive_call_the_verbs_of_each_api() {
    for v in ["2", "1"] {
        let fake = FakeKfp::start();
        let exp = fake.seed_experiment("demo-exp", "");
        let p = fake.seed_pipeline(PIPELINE, "");
        let running = fake.seed_run(&SeedRun {
            name: "long one".into(),
            experiment_id: exp.clone(),
            pipeline: Some(p.clone()),
            plan: vec!["RUNNING"],
            ..Default::default()
        });
        let dir = project(&fake.url());
        let out = in_project(&dir)
            .args([
                "runs",
                "cancel",
                "long one",
                "--kfp-version",
                v,
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        let report = json_out(&out);
        assert_eq!(report["run_id"], running.as_str());
        assert_eq!(report["action"], "cancel");
        let state = fake
            .runs()
            .into_iter()
            .find(|r| r["run_id"] == running.as_str())
            .unwrap()["state"]
            .clone();
        assert_eq!(state, "CANCELING", "v{v}");

        for (cmd, path) in [
            (
                "retry",
                if v == "2" {
                    format!("/apis/v2beta1/runs/{running}:retry")
                } else {
                    format!("/apis/v1beta1/runs/{running}/retry")
                },
            ),
            (
                "archive",
                format!("/apis/v{}beta1/runs/{running}:archive", v),
            ),
        ] {
            let out = in_project(&dir)
                .args(["runs", cmd, &running, "--kfp-version", v])
                .output()
                .unwrap();
            assert!(out.status.success(), "{cmd}: {}", stderr(&out));
            assert!(stdout(&out).contains(&running), "{}", stdout(&out));
            assert_eq!(fake.requests_to("POST", &path).len(), 1, "v{v} {cmd}");
        }
        let archived = fake
            .runs()
            .into_iter()
            .find(|r| r["run_id"] == running.as_str())
            .unwrap();
        assert_eq!(archived["storage_state"], "ARCHIVED");
        fake.assert_no_violations();

        // An archived run leaves the default list.
        let out = in_project(&dir)
            .args(["runs", "list", "--kfp-version", v, "-o", "json"])
            .output()
            .unwrap();
        assert_eq!(json_out(&out), json!([]));
    }
}

#[test]
fn cancelling_a_finished_run_is_refused_without_a_call() {
    let w = world();
    let dir = project(&w.fake.url());
    let out = in_project(&dir)
        .args(["runs", "cancel", &w.ok_run])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("already finished SUCCEEDED"),
        "{}",
        stderr(&out)
    );
    assert!(w.fake.requests_to("POST", "/apis/v2beta1/runs").is_empty());
}

#[test]
fn another_namespace_answers_403_and_no_secret_is_printed() {
    let fake = FakeKfp::start();
    fake.set_multi_user(true);
    fake.require_bearer("s3cr3t-token-value");
    fake.deny_namespace("team-b");
    let exp = fake.seed_experiment("demo-exp", "team-b");
    let p = fake.seed_pipeline(PIPELINE, "");
    let run = fake.seed_run(&SeedRun {
        name: "theirs".into(),
        experiment_id: exp,
        pipeline: Some(p),
        ..Default::default()
    });
    let dir = project(&fake.url());
    for args in [
        vec!["runs", "list", "--namespace", "team-b"],
        vec!["runs", "get", run.as_str(), "--namespace", "team-a"],
    ] {
        let out = in_project(&dir)
            .env("KF_PIPELINES_TOKEN", "s3cr3t-token-value")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: KFP denied listing runs")
                || err.starts_with("error: KFP denied reading run"),
            "{err}"
        );
        assert!(err.contains("HTTP 403"), "{err}");
        assert!(
            !err.contains("s3cr3t") && !stdout(&out).contains("s3cr3t"),
            "{err}"
        );
    }
}

#[test]
fn schedules_list_disable_enable_delete_under_both_apis() {
    for v in ["2", "1"] {
        let fake = FakeKfp::start();
        let exp = fake.seed_experiment("demo-exp", "");
        let p = fake.seed_pipeline(PIPELINE, "");
        let theirs = fake.seed_pipeline("[other] __default__ (env: local)", "");
        let nightly = fake.seed_recurring_run("nightly", &exp, (&p.0, &p.1), "0 0 4 * * *", true);
        fake.seed_recurring_run("nightly", &exp, (&theirs.0, &theirs.1), "0 0 5 * * *", true);
        let dir = project(&fake.url());

        let out = in_project(&dir)
            .args(["schedules", "list", "--kfp-version", v, "-o", "json"])
            .output()
            .unwrap();
        let list = json_out(&out);
        assert_eq!(list.as_array().unwrap().len(), 1, "v{v}: {list:#}");
        assert_eq!(list[0]["id"], nightly.as_str());
        assert_eq!(list[0]["cron"], "0 0 4 * * *");
        assert_eq!(list[0]["enabled"], true);
        assert!(list[0]["next_run_at"]
            .as_str()
            .unwrap()
            .ends_with("T04:00:00Z"));

        let out = in_project(&dir)
            .args(["schedules", "list", "--kfp-version", v])
            .output()
            .unwrap();
        let text = stdout(&out);
        assert!(
            text.lines().nth(2).unwrap().starts_with("nightly"),
            "{text}"
        );
        assert!(
            text.contains("0 0 4 * * *") && text.contains("yes"),
            "{text}"
        );

        // The name is shared with another project's schedule: this project's wins.
        let out = in_project(&dir)
            .args(["schedules", "disable", "nightly", "--kfp-version", v])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("disabled"));
        let r = fake
            .recurring_runs()
            .into_iter()
            .find(|r| r["recurring_run_id"] == nightly.as_str())
            .unwrap();
        assert_eq!(r["mode"], "DISABLE", "v{v}");

        let out = in_project(&dir)
            .args(["schedules", "enable", &nightly, "--kfp-version", v])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let r = fake
            .recurring_runs()
            .into_iter()
            .find(|r| r["recurring_run_id"] == nightly.as_str())
            .unwrap();
        assert_eq!(r["mode"], "ENABLE");

        let out = in_project(&dir)
            .args([
                "schedules",
                "delete",
                &nightly,
                "--kfp-version",
                v,
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        assert_eq!(json_out(&out)["action"], "delete");
        assert_eq!(fake.recurring_runs().len(), 1);
        fake.assert_no_violations();
    }
}

#[test]
fn schedules_with_an_ambiguous_name_outside_a_project_list_the_candidates() {
    let fake = FakeKfp::start();
    let exp = fake.seed_experiment("demo-exp", "");
    let p = fake.seed_pipeline("a", "");
    let q = fake.seed_pipeline("b", "");
    let one = fake.seed_recurring_run("nightly", &exp, (&p.0, &p.1), "0 0 4 * * *", true);
    let two = fake.seed_recurring_run("nightly", &exp, (&q.0, &q.1), "0 0 5 * * *", true);
    let out = kfpx()
        .args(["schedules", "delete", "nightly", "--host", &fake.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: 2 recurring runs are named \"nightly\""),
        "{err}"
    );
    assert!(err.contains(&one) && err.contains(&two), "{err}");
    assert!(fake.requests_to("DELETE", "/apis").is_empty());
}

#[test]
fn server_options_before_the_nested_command_work() {
    let w = world();
    let out = kfpx()
        .args([
            "--host",
            &w.fake.url(),
            "runs",
            "list",
            "--all",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(json_out(&out).as_array().unwrap().len(), 4);
}

#[test]
fn runs_submit_runs_the_uploaded_version_with_params_and_waits_like_run_once() {
    for v in ["2", "1"] {
        let fake = FakeKfp::start();
        let doc = if v == "2" {
            support::fake_kfp::TWO_TASK_IR
        } else {
            support::fake_kfp::TWO_TASK_ARGO
        };
        let (pid, vid) = fake.seed_pipeline_document(PIPELINE, doc);
        let dir = project(&fake.url());
        let param = if v == "2" {
            "epochs=5"
        } else {
            "source_uri=s3://b/other"
        };
        let out = in_project(&dir)
            .args(["runs", "submit", "--kfp-version", v, "--param", param])
            .args(["--wait-for-completion", "-o", "json"])
            .output()
            .unwrap();
        let report = json_out(&out);
        assert_eq!(report["state"], "SUCCEEDED", "v{v}");
        assert_eq!(report["experiment_name"], "demo-exp");
        // One run of the uploaded version, nothing uploaded, nothing compiled.
        let api = if v == "2" { "v2beta1" } else { "v1beta1" };
        let created = fake.requests_to("POST", &format!("/apis/{api}/runs"));
        assert_eq!(created.len(), 1);
        let body = created[0].json().unwrap();
        if v == "2" {
            assert_eq!(
                body["pipeline_version_reference"],
                json!({"pipeline_id": pid, "pipeline_version_id": vid})
            );
            assert_eq!(body["runtime_config"]["parameters"], json!({"epochs": 5}));
            assert!(body.get("pipeline_spec").is_none());
        } else {
            assert_eq!(body["pipeline_spec"]["pipeline_id"], pid.as_str());
            assert_eq!(
                body["pipeline_spec"]["parameters"],
                json!([{"name": "source_uri", "value": "s3://b/other"}])
            );
        }
        assert!(fake
            .requests_to("POST", &format!("/apis/{api}/pipelines/upload"))
            .is_empty());
        fake.assert_no_violations();

        // The run shows up among the project's runs.
        let out = in_project(&dir)
            .args(["runs", "list", "--kfp-version", v, "-o", "json"])
            .output()
            .unwrap();
        assert_eq!(json_out(&out).as_array().unwrap().len(), 1, "v{v}");
    }
}

#[test]
fn runs_submit_exit_codes_and_errors_match_run_once() {
    let fake = FakeKfp::start();
    let dir = project(&fake.url());
    // Not uploaded: say how to upload.
    let out = in_project(&dir).args(["runs", "submit"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: pipeline {PIPELINE:?} is not on http://127.0.0.1:"
        )),
        "{err}"
    );
    assert!(
        err.contains("help: upload it first: kfpx -e local upload-pipeline -p __default__"),
        "{err}"
    );

    fake.seed_pipeline_document(PIPELINE, support::fake_kfp::TWO_TASK_IR);
    // An unknown parameter is refused before anything is created.
    let out = in_project(&dir)
        .args(["runs", "submit", "--param", "nope=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    assert!(fake.requests_to("POST", "/apis/v2beta1/runs").is_empty());

    // Unknown version.
    let out = in_project(&dir)
        .args(["runs", "submit", "--version", "v-none"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with(&format!(
        "error: pipeline {PIPELINE:?} has no version named \"v-none\""
    )));

    // A failed run: exit 3 naming the failed task, as run-once.
    fake.set_run_plan(&["PENDING", "FAILED"]);
    fake.set_failed_task("train");
    let out = in_project(&dir)
        .args([
            "runs",
            "submit",
            "--param",
            "epochs=1",
            "--wait-for-completion",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("failed tasks: train"),
        "{}",
        stderr(&out)
    );

    // --timeout out of range: usage error, nothing sent.
    let before = fake.requests().len();
    let out = in_project(&dir)
        .args(["runs", "submit", "--timeout", "0", "--wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fake.requests().len(), before + 1, "only the health check");
}

// ---- upload-pipeline --file / run-once --file: a reviewed document, deployed as it is ---------

#[test]
fn upload_pipeline_file_uploads_the_bytes_as_they_are_under_the_api_of_its_format() {
    for (doc, api) in [
        (support::fake_kfp::TWO_TASK_IR, "v2beta1"),
        (support::fake_kfp::TWO_TASK_ARGO, "v1beta1"),
    ] {
        let fake = FakeKfp::start();
        let dir = project(&fake.url());
        let file = dir.path().join("reviewed.yaml");
        std::fs::write(&file, doc).unwrap();
        for outcome in ["created_pipeline", "already_uploaded"] {
            let out = in_project(&dir)
                .args(["upload-pipeline", "--file", "reviewed.yaml", "-o", "json"])
                .output()
                .unwrap();
            let report = json_out(&out);
            assert_eq!(report["outcome"], outcome, "{api}");
            assert_eq!(report["pipeline_name"], PIPELINE);
        }
        // Created once (the pipeline, then the version named after the content); the second
        // time the content's version is found and nothing is sent.
        let uploads: Vec<_> = fake
            .requests_to("POST", &format!("/apis/{api}/pipelines/upload"))
            .into_iter()
            .filter(|r| r.path.ends_with("/upload_version"))
            .collect();
        assert_eq!(uploads.len(), 1, "{api}");
        assert_eq!(fake.requests_to("POST", "/apis").len(), 2, "{api}");
        let body = String::from_utf8_lossy(&uploads[0].body);
        assert!(body.contains(doc), "the file's bytes, unchanged");
        fake.assert_no_violations();
    }
}

#[test]
fn run_once_file_runs_the_document_inline_with_params_and_exit_codes() {
    let fake = FakeKfp::start();
    let dir = project(&fake.url());
    std::fs::write(dir.path().join("ir.yaml"), support::fake_kfp::TWO_TASK_IR).unwrap();
    let out = in_project(&dir)
        .args(["run-once", "--file", "ir.yaml", "--param", "epochs=2"])
        .args(["--wait-for-completion", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(json_out(&out)["state"], "SUCCEEDED");
    let created = fake.requests_to("POST", "/apis/v2beta1/runs");
    assert_eq!(created.len(), 1);
    let body = created[0].json().unwrap();
    let spec: Value = serde_yaml::from_str(support::fake_kfp::TWO_TASK_IR).unwrap();
    assert_eq!(
        body["pipeline_spec"], spec,
        "the document, not a recompiled one"
    );
    assert_eq!(body["runtime_config"]["parameters"], json!({"epochs": 2}));
    assert!(body["description"]
        .as_str()
        .unwrap()
        .starts_with(&format!("kfpx run-once of {PIPELINE} (kfpx request ")));

    // Argo file: v1, and a failed run exits 3.
    fake.set_run_plan(&["RUNNING", "FAILED"]);
    std::fs::write(dir.path().join("wf.yaml"), support::fake_kfp::TWO_TASK_ARGO).unwrap();
    let out = in_project(&dir)
        .args(["run-once", "--file", "wf.yaml", "--wait-for-completion"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let created = fake.requests_to("POST", "/apis/v1beta1/runs");
    assert_eq!(created.len(), 1);
    assert!(created[0].json().unwrap()["pipeline_spec"]["workflow_manifest"].is_string());
    fake.assert_no_violations();
}

#[test]
fn a_file_the_server_would_refuse_is_refused_before_any_request() {
    let fake = FakeKfp::start();
    let dir = project(&fake.url());
    for (text, cause) in [
        (
            "apiVersion: v1\nkind: ConfigMap\n",
            "neither a KFP v2 pipeline",
        ),
        ("pipelineInfo: {}\nroot: {}\n", "no pipelineInfo.name"),
        (
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {entrypoint: m}\n",
            "no spec.templates",
        ),
        ("a: [", "not valid YAML"),
    ] {
        std::fs::write(dir.path().join("bad.yaml"), text).unwrap();
        for cmd in ["upload-pipeline", "run-once"] {
            let out = in_project(&dir)
                .args([cmd, "--file", "bad.yaml"])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{cmd} {text:?}");
            let err = stderr(&out);
            assert!(
                err.starts_with("error: bad.yaml is not a pipeline KFP accepts\n  cause: "),
                "{err}"
            );
            assert!(err.contains(cause), "{text:?}: {err}");
        }
    }
    // The API version follows the file; a contradicting flag is a usage error.
    std::fs::write(dir.path().join("ir.yaml"), support::fake_kfp::TWO_TASK_IR).unwrap();
    let out = in_project(&dir)
        .args(["upload-pipeline", "--file", "ir.yaml", "--kfp-version", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is a KFP v2 pipeline, but --kfp-version 1"),
        "{}",
        stderr(&out)
    );
    // Compile options make no sense with a file.
    let out = in_project(&dir)
        .args(["run-once", "--file", "ir.yaml", "-i", "img:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        fake.requests().is_empty(),
        "{:?}",
        fake.requests().iter().map(|r| r.line()).collect::<Vec<_>>()
    );
}

// ---- runs logs: the UI server's /k8s/pod/logs (frontend/server/handlers/pod-logs.ts) ----------

const LOG: &str = "loading data\nTraceback (most recent call last):\nValueError: boom\n";

#[test]
fn runs_logs_prints_the_failed_tasks_log_as_the_pod_wrote_it() {
    for v in ["2", "1"] {
        let w = world();
        // The fake names pods `<run>-<task>-<i>` (v2 task details) or `<run id>-<i>` (v1 nodes).
        let pod = if v == "2" {
            "demo-failed-train-1".to_string()
        } else {
            format!("{}-1", w.failed_run)
        };
        w.fake.set_pod_log(&pod, &[LOG]);
        let dir = project(&w.fake.url());
        let out = in_project(&dir)
            .args(["runs", "logs", "demo failed", "--kfp-version", v])
            .output()
            .unwrap();
        assert!(out.status.success(), "v{v}: {}", stderr(&out));
        assert_eq!(stdout(&out), LOG, "v{v}");
        let asked = w.fake.requests_to("GET", "/k8s/pod/logs");
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].query_map()["podname"], pod);
        assert!(
            !asked[0].query_map().contains_key("podnamespace"),
            "single-user"
        );

        let out = in_project(&dir)
            .args([
                "runs",
                "logs",
                &w.failed_run,
                "train",
                "--tail",
                "1",
                "--kfp-version",
                v,
            ])
            .output()
            .unwrap();
        assert_eq!(stdout(&out), "ValueError: boom\n", "v{v}: {}", stderr(&out));
    }
}

#[test]
fn runs_logs_explains_what_is_missing() {
    let w = world();
    let dir = project(&w.fake.url());
    // The API server alone: no pod-log endpoint; say so and give the kubectl command.
    let out = in_project(&dir)
        .args(["runs", "logs", "demo failed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err.lines().next().unwrap(),
        format!(
            "error: no pod-log endpoint at {}/k8s/pod/logs",
            w.fake.url()
        )
    );
    assert!(
        err.contains(
            "help: read it with kubectl: kubectl logs -n kubeflow demo-failed-train-1 -c main"
        ),
        "{err}"
    );

    // The UI server without that pod or an archive of it.
    w.fake.enable_pod_logs();
    let out = in_project(&dir)
        .args(["runs", "logs", "demo failed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is gone"), "{}", stderr(&out));

    // No such task; no failed task.
    let out = in_project(&dir)
        .args(["runs", "logs", "demo failed", "nope"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(
        err,
        "error: run \"demo failed\" has no task named \"nope\"\n  cause: its tasks: extract, train\n"
    );
    let out = in_project(&dir)
        .args(["runs", "logs", "demo ok"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("has no failed task"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn runs_logs_follow_prints_each_new_line_once_until_the_task_ends() {
    let fake = FakeKfp::start();
    let exp = fake.seed_experiment("demo-exp", "");
    let p = fake.seed_pipeline(PIPELINE, "");
    let run = fake.seed_run(&SeedRun {
        name: "live".into(),
        experiment_id: exp,
        pipeline: Some(p),
        plan: vec!["RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"],
        ..Default::default()
    });
    fake.set_pod_log("live-train-1", &["epoch 1\n", "epoch 2\n", "done\n"]);
    let dir = project(&fake.url());
    let out = in_project(&dir)
        .args(["runs", "logs", &run, "train", "--follow"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "epoch 1\nepoch 2\ndone\n");
    assert_eq!(fake.requests_to("GET", "/k8s/pod/logs").len(), 3);
}

#[test]
fn a_failed_run_waited_for_prints_its_failed_tasks_log_tail_and_no_secret() {
    let fake = FakeKfp::start();
    fake.require_bearer("s3cr3t-token-value");
    fake.seed_pipeline_document(PIPELINE, support::fake_kfp::TWO_TASK_IR);
    fake.set_run_plan(&["RUNNING", "FAILED"]);
    fake.set_failed_task("train");
    // The run's name is run_config.run_name: its pods are `demo-run-<task>-<i>`.
    fake.set_pod_log("demo-run-train-1", &[LOG]);
    let dir = project(&fake.url());
    let out = in_project(&dir)
        .env("KF_PIPELINES_TOKEN", "s3cr3t-token-value")
        .args([
            "runs",
            "submit",
            "--param",
            "epochs=1",
            "--wait-for-completion",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "last 20 lines of the log of task \"train\" (pod demo-run-train-1):\nloading data\n"
        ),
        "{err}"
    );
    assert!(err.contains("ValueError: boom"), "{err}");
    assert!(!err.contains("s3cr3t") && !stdout(&out).contains("s3cr3t"));
    // The log was read with the same credentials as the API.
    let asked = fake.requests_to("GET", "/k8s/pod/logs");
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].header("authorization"),
        Some("Bearer s3cr3t-token-value")
    );
}
