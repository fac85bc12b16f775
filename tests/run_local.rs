//! `kfpx run-local` as a user sees it: exit codes, the lines per task, the error line naming the
//! failed task with its log tail, `-o json`, secrets, and documents it refuses. Tasks run a fake
//! interpreter (shell scripts named `python` and `kedro`), no Kedro needed.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "support/cmd.rs"]
mod cmd;

use assert_cmd::Command;

struct Project {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    python: PathBuf,
}

fn project() -> Project {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    fs::create_dir_all(root.join("data/01_raw")).unwrap();
    fs::create_dir_all(root.join("conf/base")).unwrap();
    fs::write(
        root.join("pyproject.toml"),
        "[tool.kedro]\npackage_name = \"pkg\"\nproject_name = \"demo\"\n",
    )
    .unwrap();
    let bin = tmp.path().join("venv/bin");
    fs::create_dir_all(&bin).unwrap();
    let kedro = bin.join("kedro");
    fs::write(
        &kedro,
        "#!/bin/sh\necho \"kedro $*\"\necho \"kedro $*\" >> data/calls.log\n[ \"$2\" != bad ]\n",
    )
    .unwrap();
    fs::set_permissions(&kedro, fs::Permissions::from_mode(0o755)).unwrap();
    let python = bin.join("python");
    fs::write(&python, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
    Project {
        _tmp: tmp,
        root,
        python,
    }
}

/// A v2 IR: `a` then `b` (each `kedro run --nodes <name>`), `b` reading secret variable TOKEN.
fn ir(second: &str) -> String {
    format!(
        r#"components:
  comp-a: {{executorLabel: exec-a}}
  comp-b: {{executorLabel: exec-b}}
deploymentSpec:
  executors:
    exec-a:
      container: {{image: img, command: [kedro, run, a]}}
    exec-b:
      container: {{image: img, command: [kedro, run, {second}]}}
pipelineInfo: {{name: demo}}
root:
  dag:
    tasks:
      a: {{componentRef: {{name: comp-a}}, taskInfo: {{name: a}}}}
      b: {{componentRef: {{name: comp-b}}, dependentTasks: [a], taskInfo: {{name: b}}}}
schemaVersion: 2.1.0
---
platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-b:
          secretAsEnv:
          - secretName: creds
            keyToEnv: [{{secretKey: token, envVar: TOKEN}}]
"#
    )
}

fn kfpx(p: &Project, doc: &str) -> Command {
    let file = p.root.join("pipeline.yaml");
    fs::write(&file, doc).unwrap();
    let mut cmd = cmd::kfpx();
    cmd.current_dir(&p.root)
        .env_remove("TOKEN")
        .args(["--python"])
        .arg(&p.python)
        .args(["run-local", "--file", "pipeline.yaml"]);
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_successful_run_prints_a_line_per_task_and_a_table_and_exits_0() {
    let p = project();
    let out = kfpx(&p, &ir("b"))
        .env("TOKEN", "s3cr3t-value")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for l in [
        "start  a",
        "done   a in",
        "start  b",
        "done   b in",
        "Run demo-",
    ] {
        assert!(stderr.contains(l), "{l:?} missing:\n{stderr}");
    }
    assert!(stderr.find("done   a").unwrap() < stderr.find("start  b").unwrap());
    assert!(stdout.starts_with("Task"), "{stdout}");
    assert!(stdout.contains("a      succeeded   1"), "{stdout}");
    assert!(!stdout.contains("s3cr3t") && !stderr.contains("s3cr3t"));
    assert_eq!(
        fs::read_to_string(p.root.join("data/calls.log")).unwrap(),
        "kedro run a\nkedro run b\n"
    );
}

#[test]
fn a_failed_task_is_named_with_its_log_tail_and_exits_3() {
    let p = project();
    let out = kfpx(&p, &ir("bad")).env("TOKEN", "x").output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("error: task `b` failed (exit code 1); log: ")
            && last.ends_with("/logs/b.log"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kedro run bad"),
        "log tail missing:\n{stderr}"
    );
    let log = last.rsplit("log: ").next().unwrap();
    assert!(Path::new(log).is_file());
}

#[test]
fn json_output_is_a_summary_of_every_task() {
    let p = project();
    let out = kfpx(&p, &ir("bad"))
        .env("TOKEN", "x")
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["tasks"][0]["name"], "a");
    assert_eq!(v["tasks"][0]["status"], "succeeded");
    assert_eq!(v["tasks"][1]["status"], "failed");
    assert_eq!(v["tasks"][1]["error"], "exit code 1");
    assert!(Path::new(v["directory"].as_str().unwrap())
        .join("summary.json")
        .is_file());
}

#[test]
fn a_missing_secret_is_an_error_unless_allowed() {
    let p = project();
    let out = kfpx(&p, &ir("b")).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: task `b` reads TOKEN from Kubernetes secret `creds`")
            && stderr.contains("--allow-missing-secrets"),
        "{stderr}"
    );
    assert!(!p.root.join("data/calls.log").exists(), "nothing may run");
    let out = kfpx(&p, &ir("b"))
        .arg("--allow-missing-secrets")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: secret variables not set here"),
        "{stderr}"
    );
}

#[test]
fn what_cannot_run_locally_is_refused_before_anything_runs() {
    let p = project();
    let doc = ir("b").replace(
        "          secretAsEnv:",
        "          configMapAsVolume: [{configMapName: cm, mountPath: /etc/cm}]\n          secretAsEnv:",
    );
    let out = kfpx(&p, &doc).env("TOKEN", "x").output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot run pipeline.yaml: task `b`: kubernetes executor setting `configMapAsVolume`"),
        "{stderr}"
    );
    assert!(!p.root.join("data/calls.log").exists());
    let out = kfpx(&p, &ir("b")).args(["--image", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
