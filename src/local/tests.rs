//! run-local on hand-written documents of both formats, with a fake interpreter: a directory
//! holding shell scripts named `python` and `kedro` that record how they were called. The
//! documents state what the KFP backend / Argo would hand each pod; the assertions check what
//! the task's process received and in which order tasks ran.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde_json::{json, Value};

use super::*;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    opts: Options,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    std::fs::create_dir_all(root.join("data/01_raw")).unwrap();
    std::fs::create_dir_all(root.join("conf/base")).unwrap();
    std::fs::create_dir_all(root.join("src/pkg")).unwrap();
    std::fs::write(root.join("data/01_raw/in.csv"), "a\n1\n").unwrap();
    std::fs::write(root.join("pyproject.toml"), "[tool.kedro]\n").unwrap();
    let bin = tmp.path().join("venv/bin");
    std::fs::create_dir_all(&bin).unwrap();
    // The stand-in for the project's Kedro: records its arguments and working directory.
    write_exe(
        &bin.join("kedro"),
        "#!/bin/sh\necho \"kedro $*\" >> data/calls.log\nexit ${FAKE_KEDRO_EXIT:-0}\n",
    );
    write_exe(
        &bin.join("python"),
        "#!/bin/sh\necho \"python $*\" >> data/calls.log\n",
    );
    let mut env = BTreeMap::new();
    env.insert(
        "PATH".to_string(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
    );
    env.insert("LOCAL_ONLY".to_string(), "leak".to_string());
    let opts = Options {
        project_root: root.clone(),
        python: bin.join("python"),
        jobs: 4,
        keep: false,
        keep_views: false,
        no_retry: false,
        allow_missing_secrets: false,
        env,
        runs_dir: runs_dir(&root),
    };
    Fixture {
        _tmp: tmp,
        root,
        opts,
    }
}

fn write_exe(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[derive(Default)]
struct Rec(Vec<String>);

impl Observer for Rec {
    fn event(&mut self, e: Event<'_>) {
        self.0.push(match e {
            Event::Started { task, attempt } => format!("start {task} {attempt}"),
            Event::Finished { task, status, .. } => format!("end {task} {}", status.as_str()),
            Event::Skipped { task } => format!("skip {task}"),
        });
    }
}

fn run_text(f: &Fixture, text: &str, params: &BTreeMap<String, Value>) -> (Summary, Vec<String>) {
    let (_fmt, plan) = load(text, params).unwrap();
    let mut rec = Rec::default();
    let s = run(&plan, &f.opts, &mut rec, &AtomicBool::new(false)).unwrap();
    (s, rec.0)
}

fn run_doc(f: &Fixture, doc: &Value) -> (Summary, Vec<String>) {
    run_text(f, &serde_yaml::to_string(doc).unwrap(), &BTreeMap::new())
}

fn status_of<'a>(s: &'a Summary, task: &str) -> &'a TaskSummary {
    s.tasks.iter().find(|t| t.name == task).unwrap()
}

fn read(f: &Fixture, rel: &str) -> String {
    std::fs::read_to_string(f.root.join(rel)).unwrap_or_default()
}

/// A v2 IR with one container task per entry: (name, dependentTasks, shell command).
fn v2_doc(tasks: &[(&str, &[&str], &str)]) -> Value {
    let mut components = serde_json::Map::new();
    let mut executors = serde_json::Map::new();
    let mut dag = serde_json::Map::new();
    for (name, deps, cmd) in tasks {
        components.insert(
            format!("comp-{name}"),
            json!({"executorLabel": format!("exec-{name}")}),
        );
        executors.insert(
            format!("exec-{name}"),
            json!({"container": {"image": "img", "command": ["sh", "-c", cmd]}}),
        );
        dag.insert(
            name.to_string(),
            json!({"componentRef": {"name": format!("comp-{name}")}, "dependentTasks": deps, "taskInfo": {"name": name}}),
        );
    }
    json!({
        "components": components,
        "deploymentSpec": {"executors": executors},
        "pipelineInfo": {"name": "demo"},
        "root": {"dag": {"tasks": dag}},
        "schemaVersion": "2.1.0",
    })
}

// ---- v2: placeholders -----------------------------------------------------------------------

#[test]
fn v2_run_ids_resolve_as_input_parameters_and_stay_literal_in_args() {
    // backend/src/v2/driver/resolve.go: only a runtimeValue.constant equal to a run placeholder is
    // resolved; launcher_v2.go substitutes {{$.inputs.parameters['…']}} in command and args.
    let f = fixture();
    let mut doc = v2_doc(&[(
        "t",
        &[],
        "echo \"$0 $1\" > data/ids.txt; echo '{{$.pipeline_job_uuid}}' >> data/ids.txt",
    )]);
    doc["deploymentSpec"]["executors"]["exec-t"]["container"]["args"] = json!([
        "{{$.inputs.parameters['run_id']}}",
        "{{$.inputs.parameters['task']}}"
    ]);
    doc["components"]["comp-t"]["inputDefinitions"] = json!({"parameters": {"run_id": {"parameterType": "STRING"}, "task": {"parameterType": "STRING"}}});
    doc["root"]["dag"]["tasks"]["t"]["inputs"] = json!({"parameters": {
        "run_id": {"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}},
        "task": {"runtimeValue": {"constant": "{{$.pipeline_task_name}}"}},
    }});
    let text = serde_yaml::to_string(&doc).unwrap();
    let (_f, plan) = load(&text, &BTreeMap::new()).unwrap();
    assert!(
        plan.notes.iter().any(|n| n
            == "executor `exec-t` writes `{{$.pipeline_job_uuid}}` into its command; the KFP backend resolves it only as an input parameter's runtime value, so the pod gets the literal text (kubeflow/pipelines backend/src/v2/driver/resolve.go); run-local passes it literally too"),
        "{:?}",
        plan.notes
    );
    let (s, _) = run_text(&f, &text, &BTreeMap::new());
    assert_eq!(s.status, RunStatus::Succeeded);
    let ids = read(&f, "data/ids.txt");
    let mut lines = ids.lines();
    assert_eq!(lines.next().unwrap(), format!("{} t", s.run_id));
    assert_eq!(lines.next().unwrap(), "{{$.pipeline_job_uuid}}");
    assert_eq!(s.run_id.len(), 36);
}

#[test]
fn v2_pipeline_parameters_render_as_the_launcher_does_and_param_overrides_them() {
    let f = fixture();
    let mut doc = v2_doc(&[("t", &[], "printf '%s|%s' \"$0\" \"$1\" > data/p.txt")]);
    doc["deploymentSpec"]["executors"]["exec-t"]["container"]["args"] = json!([
        "{{$.inputs.parameters['ds']}}",
        "{{$.inputs.parameters['n']}}"
    ]);
    doc["components"]["comp-t"]["inputDefinitions"] = json!({"parameters": {
        "ds": {"parameterType": "STRUCT"}, "n": {"parameterType": "NUMBER_INTEGER"}}});
    doc["root"]["dag"]["tasks"]["t"]["inputs"] = json!({"parameters": {
        "ds": {"componentInputParameter": "ds"}, "n": {"componentInputParameter": "n"}}});
    doc["root"]["inputDefinitions"] = json!({"parameters": {
        "ds": {"parameterType": "STRUCT", "defaultValue": {"opts": {"random_state": 8, "test_size": 0.2}}},
        "n": {"parameterType": "NUMBER_INTEGER", "defaultValue": 3}}});
    let (s, _) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Succeeded);
    assert_eq!(
        read(&f, "data/p.txt"),
        r#"{"opts":{"random_state":8,"test_size":0.2}}|3"#
    );
    let text = serde_yaml::to_string(&doc).unwrap();
    let params = BTreeMap::from([("n".to_string(), json!(5))]);
    run_text(&f, &text, &params);
    assert_eq!(
        read(&f, "data/p.txt"),
        r#"{"opts":{"random_state":8,"test_size":0.2}}|5"#
    );
    let bad = BTreeMap::from([("nope".to_string(), json!(1))]);
    let err = load(&text, &bad).unwrap_err().to_string();
    assert!(
        err.contains("no parameter `nope`") && err.contains("ds, n"),
        "{err}"
    );
}

#[test]
fn v2_task_outputs_flow_through_output_files_and_nested_dags() {
    // A producer writes {{$.outputs.parameters['id'].output_file}}; a consumer inside a sub-DAG
    // gets it through the DAG's pipelinechannel input (componentInputParameter).
    let f = fixture();
    let mut doc = v2_doc(&[
        ("producer", &[], "printf run-42 > \"$0\""),
        ("consumer", &[], "echo \"$0\" > data/got.txt"),
    ]);
    doc["deploymentSpec"]["executors"]["exec-producer"]["container"]["args"] =
        json!(["{{$.outputs.parameters['id'].output_file}}"]);
    doc["components"]["comp-producer"]["outputDefinitions"] =
        json!({"parameters": {"id": {"parameterType": "STRING"}}});
    doc["deploymentSpec"]["executors"]["exec-consumer"]["container"]["args"] =
        json!(["{{$.inputs.parameters['id']}}"]);
    doc["components"]["comp-consumer"]["inputDefinitions"] =
        json!({"parameters": {"id": {"parameterType": "STRING"}}});
    let consumer = doc["root"]["dag"]["tasks"]["consumer"].take();
    doc["root"]["dag"]["tasks"]
        .as_object_mut()
        .unwrap()
        .remove("consumer");
    let mut consumer = consumer;
    consumer["inputs"] =
        json!({"parameters": {"id": {"componentInputParameter": "pipelinechannel--producer-id"}}});
    doc["components"]["comp-group"] = json!({
        "dag": {"tasks": {"consumer": consumer}},
        "inputDefinitions": {"parameters": {"pipelinechannel--producer-id": {"parameterType": "STRING"}}},
    });
    doc["root"]["dag"]["tasks"]["group"] = json!({
        "componentRef": {"name": "comp-group"},
        "dependentTasks": ["producer"],
        "inputs": {"parameters": {"pipelinechannel--producer-id": {
            "taskOutputParameter": {"producerTask": "producer", "outputParameterKey": "id"}}}},
        "taskInfo": {"name": "group"},
    });
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Succeeded, "{ev:?}");
    assert_eq!(read(&f, "data/got.txt"), "run-42\n");
}

#[test]
fn v2_exit_task_runs_after_a_failure_and_gets_the_final_status() {
    // ALL_UPSTREAM_TASKS_COMPLETED runs whatever the upstream outcome; taskFinalStatus is the
    // struct the driver builds (resolve.go), rendered as JSON by the launcher.
    let f = fixture();
    let mut doc = v2_doc(&[
        ("a", &[], "exit 1"),
        ("b", &["a"], "touch data/b-ran"),
        ("on-exit", &["a"], "echo \"$0\" > data/status.json"),
    ]);
    doc["root"]["dag"]["tasks"]["on-exit"]["triggerPolicy"] =
        json!({"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"});
    doc["root"]["dag"]["tasks"]["on-exit"]["inputs"] =
        json!({"parameters": {"status": {"taskFinalStatus": {"producerTask": "a"}}}});
    doc["components"]["comp-on-exit"]["inputDefinitions"] =
        json!({"parameters": {"status": {"parameterType": "TASK_FINAL_STATUS"}}});
    doc["deploymentSpec"]["executors"]["exec-on-exit"]["container"]["args"] =
        json!(["{{$.inputs.parameters['status']}}"]);
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Failed);
    assert_eq!(status_of(&s, "a").status, TaskStatus::Failed);
    assert_eq!(status_of(&s, "b").status, TaskStatus::Skipped);
    assert_eq!(status_of(&s, "on-exit").status, TaskStatus::Succeeded);
    assert!(!f.root.join("data/b-ran").exists());
    let st: Value = serde_json::from_str(&read(&f, "data/status.json")).unwrap();
    assert_eq!(st["state"], "FAILED");
    assert_eq!(st["pipelineTaskName"], "a");
    assert_eq!(st["pipelineJobResourceName"].as_str().unwrap(), s.run_name);
    assert_eq!(ev.last().unwrap(), "end on-exit succeeded");
}

#[test]
fn v2_volume_is_a_fresh_run_directory_initialised_mounted_and_deleted() {
    // argostub createpvc/deletepvc and the kubernetes platform spec's pvcMount; the init step is
    // kfpx's own command (cp from the image's data/ into the mount).
    let f = fixture();
    let mut doc = v2_doc(&[
        (
            "init",
            &["create"],
            "cp -r /home/kedro/data/* /home/kedro/datavolume",
        ),
        (
            "node",
            &["init"],
            "cat data/01_raw/in.csv > data/out.csv && kedro run --nodes n",
        ),
        ("delete", &["node"], ""),
        ("create", &[], ""),
    ]);
    doc["deploymentSpec"]["executors"]["exec-create"] =
        json!({"container": {"image": "argostub/createpvc"}});
    doc["deploymentSpec"]["executors"]["exec-delete"] =
        json!({"container": {"image": "argostub/deletepvc"}});
    doc["components"]["comp-create"]["inputDefinitions"] =
        json!({"parameters": {"pvc_name_suffix": {"parameterType": "STRING"}}});
    doc["components"]["comp-create"]["outputDefinitions"] =
        json!({"parameters": {"name": {"parameterType": "STRING"}}});
    doc["components"]["comp-delete"]["inputDefinitions"] =
        json!({"parameters": {"pvc_name": {"parameterType": "STRING"}}});
    doc["root"]["dag"]["tasks"]["create"]["inputs"] =
        json!({"parameters": {"pvc_name_suffix": {"runtimeValue": {"constant": "-data"}}}});
    let name_param =
        json!({"taskOutputParameter": {"producerTask": "create", "outputParameterKey": "name"}});
    doc["root"]["dag"]["tasks"]["delete"]["inputs"] =
        json!({"parameters": {"pvc_name": name_param}});
    doc["root"]["dag"]["tasks"]["delete"]["dependentTasks"] = json!(["node", "create"]);
    doc["root"]["dag"]["tasks"]["delete"]["triggerPolicy"] =
        json!({"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"});
    let mount = |path: &str| json!({"pvcMount": [{"mountPath": path, "pvcNameParameter": {"taskOutputParameter": {"producerTask": "create", "outputParameterKey": "name"}}}]});
    for t in ["init", "node"] {
        let deps = doc["root"]["dag"]["tasks"][t]["dependentTasks"]
            .as_array()
            .unwrap()
            .clone();
        let mut deps = deps;
        deps.push(json!("create"));
        doc["root"]["dag"]["tasks"][t]["dependentTasks"] = Value::Array(deps);
    }
    let platform = json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-init": mount("/home/kedro/datavolume"),
        "exec-node": mount("/home/kedro/data"),
    }}}}});
    let text = format!(
        "{}---\n{}",
        serde_yaml::to_string(&doc).unwrap(),
        serde_yaml::to_string(&platform).unwrap()
    );
    let mut fk = f;
    fk.opts.keep = true;
    let (s, ev) = run_text(&fk, &text, &BTreeMap::new());
    assert_eq!(s.status, RunStatus::Succeeded, "{ev:?}");
    // The project's data/ is untouched; the kept volume holds the initial data and the output.
    assert!(!fk.root.join("data/out.csv").exists());
    assert!(!fk.root.join("data/calls.log").exists());
    let vol = &s.volumes_kept[0];
    assert!(vol.starts_with(fk.root.join(".kfpx/runs")), "{vol:?}");
    assert!(vol.to_string_lossy().ends_with("-data"));
    assert_eq!(
        std::fs::read_to_string(vol.join("out.csv")).unwrap(),
        "a\n1\n"
    );
    assert_eq!(
        std::fs::read_to_string(vol.join("calls.log")).unwrap(),
        "kedro run --nodes n\n"
    );
    // Without --keep the delete step removes it.
    fk.opts.keep = false;
    let (s, _) = run_text(&fk, &text, &BTreeMap::new());
    assert_eq!(s.status, RunStatus::Succeeded);
    assert!(s.volumes_kept.is_empty());
    assert!(!s.directory.join("volumes").exists());
    assert!(s.directory.join("logs/node.log").is_file());
}

#[test]
fn v2_settings_a_local_process_cannot_honour_are_errors_naming_the_task() {
    let mut doc = v2_doc(&[("t", &[], "true")]);
    let platform = json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-t": {"configMapAsVolume": [{"configMapName": "x", "mountPath": "/etc/x"}]}}}}}});
    let text = format!(
        "{}---\n{}",
        serde_yaml::to_string(&doc).unwrap(),
        serde_yaml::to_string(&platform).unwrap()
    );
    let err = load(&text, &BTreeMap::new()).unwrap_err().to_string();
    assert!(
        err.contains("task `t`") && err.contains("configMapAsVolume"),
        "{err}"
    );
    doc["root"]["dag"]["tasks"]["t"]["inputs"] = json!({"artifacts": {"a": {"taskOutputArtifact": {"producerTask": "x", "outputArtifactKey": "y"}}}});
    let err = load(&serde_yaml::to_string(&doc).unwrap(), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("task `t`") && err.contains("artifacts"),
        "{err}"
    );
}

// ---- the task's process ------------------------------------------------------------------------

#[test]
fn a_task_runs_in_the_project_view_with_the_interpreter_first_on_path_and_only_its_env() {
    let f = fixture();
    let mut doc = v2_doc(&[(
        "t",
        &[],
        "kedro run --pipeline p && python -c x && echo \"$MY_VAR|${LOCAL_ONLY:-unset}|$SECRET_X\" > data/env.txt && test -f pyproject.toml && test ! -e .kfpx",
    )]);
    doc["deploymentSpec"]["executors"]["exec-t"]["container"]["env"] =
        json!([{"name": "MY_VAR", "value": "v"}]);
    let platform = json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-t": {"secretAsEnv": [{"secretName": "s", "keyToEnv": [{"secretKey": "k", "envVar": "SECRET_X"}]}],
                   "nodeSelector": {"labels": {"a": "b"}}}}}}}});
    let text = format!(
        "{}---\n{}",
        serde_yaml::to_string(&doc).unwrap(),
        serde_yaml::to_string(&platform).unwrap()
    );
    let (_fmt, plan) = load(&text, &BTreeMap::new()).unwrap();
    let missing = missing_secrets(&plan, &f.opts.env);
    assert_eq!(missing, vec![("t".into(), "SECRET_X".into(), "s".into())]);
    let mut f = f;
    f.opts.env.insert("SECRET_X".into(), "shh".into());
    let (s, ev) = run_text(&f, &text, &BTreeMap::new());
    assert_eq!(s.status, RunStatus::Succeeded, "{ev:?}");
    assert_eq!(
        read(&f, "data/calls.log"),
        "kedro run --pipeline p\npython -c x\n"
    );
    assert_eq!(read(&f, "data/env.txt"), "v|unset|shh\n");
}

#[test]
fn what_a_task_writes_into_its_view_no_later_task_sees_and_an_in_place_rewrite_fails_it() {
    let mut f = fixture();
    f.opts.jobs = 1;
    std::fs::write(f.root.join("conf/base/catalog.yml"), "a: 1\n").unwrap();
    // `a` adds and replaces files of its view; `b` runs after it and must see the image.
    let doc = v2_doc(&[
        (
            "a",
            &[],
            "echo new > conf/base/new.yml && echo b: 2 > c.tmp && mv c.tmp conf/base/catalog.yml && echo x > config.yaml",
        ),
        (
            "b",
            &["a"],
            "test ! -e conf/base/new.yml && test ! -e config.yaml && cat conf/base/catalog.yml > data/b-saw && tr '\\0' ' ' < /proc/$$/cmdline > data/b-argv",
        ),
    ]);
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Succeeded, "{ev:?}");
    assert_eq!(read(&f, "data/b-saw"), "a: 1\n");
    // argv[0] as the document wrote it, though kfpx found the program on PATH itself.
    assert!(
        read(&f, "data/b-argv").starts_with("sh -c "),
        "{}",
        read(&f, "data/b-argv")
    );
    assert_eq!(read(&f, "conf/base/catalog.yml"), "a: 1\n");
    assert!(!f.root.join("conf/base/new.yml").exists());

    // A rewrite in place reaches the file the views share: the task fails, naming it.
    let doc = v2_doc(&[
        ("a", &[], "echo a: 100 > conf/base/catalog.yml"),
        ("b", &["a"], "touch data/b-ran"),
    ]);
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Failed, "{ev:?}");
    let err = status_of(&s, "a").error.clone().unwrap_or_default();
    assert!(
        err.starts_with("conf/base/catalog.yml of the project was rewritten in place"),
        "{err}"
    );
    assert_eq!(status_of(&s, "b").status, TaskStatus::Skipped);
    assert!(!f.root.join("data/b-ran").exists());
    // The project's own file is not the image's copy.
    assert_eq!(read(&f, "conf/base/catalog.yml"), "a: 1\n");
    // Views, the image and pod directories are gone after the run.
    for d in ["tasks", "pods", "image"] {
        assert!(!s.directory.join(d).exists(), "{d} left");
    }
    // Unless kept: each task's view is its working directory, with the parameter file it wrote.
    f.opts.keep_views = true;
    let doc = v2_doc(&[("a", &[], "echo x > config.yaml")]);
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Succeeded, "{ev:?}");
    let view = s.directory.join("tasks/a");
    assert_eq!(
        std::fs::read_to_string(view.join("config.yaml")).unwrap(),
        "x\n"
    );
    assert!(view.join("conf/base/catalog.yml").is_file());
}

// ---- the scheduler -----------------------------------------------------------------------------

/// Shell that records start and end in data/trace.log and, with `-j` > 1, waits (bounded) for
/// its siblings to start, so that the trace shows how many ran at once.
fn traced(name: &str, wait_for: usize) -> String {
    format!(
        "echo start {name} >> data/trace.log; i=0; while [ $(grep -c start data/trace.log) -lt {wait_for} ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done; echo end {name} >> data/trace.log"
    )
}

fn max_parallel(trace: &str) -> usize {
    let (mut now, mut max) = (0usize, 0usize);
    for l in trace.lines() {
        if l.starts_with("start") {
            now += 1;
            max = max.max(now);
        } else {
            now -= 1;
        }
    }
    max
}

#[test]
fn dependencies_order_the_tasks_and_jobs_bounds_how_many_run_at_once() {
    let a = traced("a", 3);
    let b = traced("b", 3);
    let c = traced("c", 3);
    let d = "echo start d >> data/trace.log; echo end d >> data/trace.log".to_string();
    let doc = v2_doc(&[
        ("a", &[], &a),
        ("b", &[], &b),
        ("c", &[], &c),
        ("d", &["a", "b", "c"], &d),
    ]);
    let mut f = fixture();
    f.opts.jobs = 3;
    let (s, _) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Succeeded);
    let trace = read(&f, "data/trace.log");
    assert_eq!(max_parallel(&trace), 3, "{trace}");
    assert!(trace.ends_with("start d\nend d\n"), "{trace}");

    let f = {
        let mut f = fixture();
        f.opts.jobs = 1;
        f
    };
    let (s, _) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Succeeded);
    let trace = read(&f, "data/trace.log");
    assert_eq!(max_parallel(&trace), 1, "{trace}");
}

#[test]
fn after_a_failure_nothing_new_starts_except_exit_tasks() {
    let mut f = fixture();
    f.opts.jobs = 1;
    let mut doc = v2_doc(&[
        ("a", &[], "exit 3"),
        ("b", &[], "touch data/b-ran"),
        ("cleanup", &["a", "b"], "touch data/cleanup-ran"),
    ]);
    doc["root"]["dag"]["tasks"]["cleanup"]["triggerPolicy"] =
        json!({"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"});
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Failed);
    assert_eq!(status_of(&s, "a").error.as_deref(), Some("exit code 3"));
    assert_eq!(status_of(&s, "b").status, TaskStatus::Skipped);
    assert!(!f.root.join("data/b-ran").exists(), "{ev:?}");
    assert!(f.root.join("data/cleanup-ran").exists(), "{ev:?}");
    let log = std::fs::read_to_string(&status_of(&s, "a").log).unwrap();
    assert!(log.contains("kfpx: exit code 3"), "{log}");
}

fn flaky(fails: u32) -> String {
    format!(
        "n=$(cat data/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > data/count; [ $n -gt {fails} ]"
    )
}

#[test]
fn retries_follow_the_policy_with_the_backends_window_and_no_retry_turns_them_off() {
    let mut doc = v2_doc(&[("t", &[], &flaky(2))]);
    doc["root"]["dag"]["tasks"]["t"]["retryPolicy"] = json!({
        "maxRetryCount": 2, "backoffDuration": "0s", "backoffFactor": 2, "backoffMaxDuration": "3600s"});
    let f = fixture();
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Succeeded, "{ev:?}");
    assert_eq!(status_of(&s, "t").attempts, 3);
    assert!(ev.contains(&"start t 3".to_string()));

    let mut f = fixture();
    f.opts.no_retry = true;
    let (s, _) = run_doc(&f, &doc);
    assert_eq!(status_of(&s, "t").attempts, 1);
    assert_eq!(s.status, RunStatus::Failed);

    // backend/src/v2/compiler/argocompiler/container.go: without backoffMaxDuration the window is 0 and nothing is retried.
    doc["root"]["dag"]["tasks"]["t"]["retryPolicy"]
        .as_object_mut()
        .unwrap()
        .remove("backoffMaxDuration");
    let f = fixture();
    let text = serde_yaml::to_string(&doc).unwrap();
    let (_fmt, plan) = load(&text, &BTreeMap::new()).unwrap();
    assert!(plan.notes.iter().any(|n| n.contains("backoffMaxDuration")));
    let (s, _) = run_doc(&f, &doc);
    assert_eq!(status_of(&s, "t").attempts, 1);
}

#[test]
fn an_interrupt_stops_every_running_process_group_and_starts_nothing_more() {
    let f = fixture();
    let doc = v2_doc(&[
        (
            "slow",
            &[],
            "sh -c 'echo $$ > data/child.pid; sleep 30' ; sleep 30",
        ),
        ("after", &["slow"], "touch data/after-ran"),
    ]);
    let (_fmt, plan) = load(&serde_yaml::to_string(&doc).unwrap(), &BTreeMap::new()).unwrap();
    let flag = std::sync::Arc::new(AtomicBool::new(false));
    let pid_file = f.root.join("data/child.pid");
    let setter = {
        let flag = flag.clone();
        let pid_file = pid_file.clone();
        std::thread::spawn(move || {
            for _ in 0..500 {
                if pid_file.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let started = std::time::Instant::now();
    let s = run(&plan, &f.opts, &mut Rec::default(), &flag).unwrap();
    setter.join().unwrap();
    assert_eq!(s.status, RunStatus::Interrupted);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(status_of(&s, "slow").status, TaskStatus::Interrupted);
    assert_eq!(status_of(&s, "after").status, TaskStatus::Skipped);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild (same process group) is gone too.
    std::thread::sleep(std::time::Duration::from_millis(100));
    // Gone, or a zombie waiting for a reaper that is not ours.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(") ").next().unwrap_or("").chars().next();
    assert!(
        stat.is_empty() || state == Some('Z'),
        "process {pid} survived the interrupt: {stat}"
    );
}

// ---- Argo --------------------------------------------------------------------------------------

fn argo_doc() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "demo-"},
        "spec": {
            "entrypoint": "demo",
            "onExit": "exit-handler",
            "arguments": {"parameters": [{"name": "ds", "value": "{\"a\": 1}"}]},
            "templates": [
                {"name": "demo", "dag": {"tasks": [
                    {"name": "first", "template": "first"},
                    {"name": "second", "template": "second", "dependencies": ["first"],
                     "arguments": {"parameters": [
                        {"name": "id", "value": "{{tasks.first.outputs.parameters.first-id}}"},
                        {"name": "ds", "value": "{{workflow.parameters.ds}}"}]}},
                ]}},
                {"name": "first", "container": {"image": "i", "command": ["sh", "-c", "printf abc > /tmp/id"]},
                 "outputs": {"parameters": [{"name": "first-id", "globalName": "the-id", "valueFrom": {"path": "/tmp/id"}}]}},
                {"name": "second", "inputs": {"parameters": [{"name": "id"}, {"name": "ds"}]},
                 "container": {"image": "i", "command": ["sh", "-c", "echo \"$0|$1|$RUN\" > data/second.txt"],
                               "args": ["{{inputs.parameters.id}}", "{{inputs.parameters.ds}}"],
                               "env": [{"name": "RUN", "value": "{{workflow.uid}}"}]}},
                {"name": "on-exit", "container": {"image": "i", "command": ["sh", "-c", "echo \"$0|$1|$2\" > data/exit.txt"],
                    "args": ["{{workflow.status}}", "{{workflow.outputs.parameters.the-id}}", "{{workflow.name}}"]}},
                {"name": "exit-handler", "dag": {"tasks": [{"name": "on-exit", "template": "on-exit"}]}},
            ]
        }
    })
}

#[test]
fn argo_variables_resolve_as_the_controller_does() {
    let f = fixture();
    let (s, ev) = run_doc(&f, &argo_doc());
    assert_eq!(s.status, RunStatus::Succeeded, "{ev:?}");
    assert_eq!(
        read(&f, "data/second.txt"),
        format!("abc|{{\"a\": 1}}|{}\n", s.run_id)
    );
    assert_eq!(
        read(&f, "data/exit.txt"),
        format!("Succeeded|abc|{}\n", s.run_name)
    );
    assert_eq!(ev.last().unwrap(), "end on-exit succeeded");
    // --param overrides a workflow parameter (as text, as KFP v1 passes it).
    let text = serde_yaml::to_string(&argo_doc()).unwrap();
    run_text(
        &f,
        &text,
        &BTreeMap::from([("ds".to_string(), json!({"a": 2}))]),
    );
    assert!(read(&f, "data/second.txt").starts_with("abc|{\"a\":2}|"));
}

#[test]
fn argo_exit_handler_sees_the_failure_and_retry_strategy_retries() {
    let f = fixture();
    let mut doc = argo_doc();
    doc["spec"]["templates"][1]["container"]["command"] = json!(["sh", "-c", flaky(1)]);
    doc["spec"]["templates"][1]["retryStrategy"] =
        json!({"limit": 1, "retryPolicy": "Always", "backoff": {"duration": "0s", "factor": 2}});
    doc["spec"]["templates"][1]["outputs"] = json!({});
    doc["spec"]["templates"][2]["container"]["command"] = json!(["sh", "-c", "exit 1"]);
    doc["spec"]["templates"][3]["container"]["args"] =
        json!(["{{workflow.status}}", "{{workflow.failures}}", "x"]);
    doc["spec"]["templates"][0]["dag"]["tasks"][1]["arguments"]["parameters"][0]["value"] =
        json!("x");
    let (s, ev) = run_doc(&f, &doc);
    assert_eq!(s.status, RunStatus::Failed, "{ev:?}");
    assert_eq!(status_of(&s, "first").attempts, 2);
    assert_eq!(status_of(&s, "second").status, TaskStatus::Failed);
    let exit = read(&f, "data/exit.txt");
    assert!(exit.starts_with("Failed|[{"), "{exit}");
    assert!(exit.contains("\"displayName\":\"second\""), "{exit}");
}

#[test]
fn argo_unknown_variables_and_templates_are_errors() {
    let mut doc = argo_doc();
    doc["spec"]["templates"][2]["container"]["args"] = json!(["{{workflow.namespace}}", "x"]);
    let f = fixture();
    let (s, _) = run_doc(&f, &doc);
    let err = status_of(&s, "second").error.clone().unwrap();
    assert!(
        err.contains("cannot resolve `{{workflow.namespace}}`"),
        "{err}"
    );
    let mut doc = argo_doc();
    doc["spec"]["templates"][1] = json!({"name": "first", "script": {"image": "i", "source": "x"}});
    let err = load(&serde_yaml::to_string(&doc).unwrap(), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("task `first`") && err.contains("script"),
        "{err}"
    );
}

#[test]
fn neither_format_is_a_clear_error() {
    let err = load("a: 1\n", &BTreeMap::new()).unwrap_err().to_string();
    assert!(err.contains("neither a KFP v2 pipeline"), "{err}");
}
