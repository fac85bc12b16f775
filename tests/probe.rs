//! The Kedro probe: interpreter failures and probe errors (with fake interpreters, always run),
//! and the real thing on tests/kedro_project compared with what Kedro itself reports (ignored:
//! needs a Kedro venv; `.ci/stage-kedro.sh` runs them with KFPX_TEST_PYTHON for Kedro 1.x and
//! 0.19.x).

#[path = "support/cmd.rs"]
mod cmd;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kfpx::graph::probe;
use kfpx::graph::Snapshot;
use kfpx::project::Project;

fn project_at(root: &Path, env: &str) -> Project {
    Project {
        root: root.to_path_buf(),
        name: "p".into(),
        package: None,
        env: env.into(),
    }
}

fn probe_err(project: &Project, python: &Path) -> String {
    match probe::run_with_timeout(project, python, Duration::from_secs(60)) {
        Ok(s) => panic!("expected an error, got a snapshot of {}", s.project.name),
        Err(e) => e.to_string(),
    }
}

/// A fake interpreter: a shell script with `body`.
#[cfg(unix)]
fn fake_python(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn missing_interpreter_path_says_so_and_how_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("no/such/python");
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(
        msg.contains(&format!("{} not found", python.display())),
        "{msg}"
    );
    assert!(
        msg.contains("--python") && msg.contains("--snapshot FILE"),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1, "{msg}");
}

#[test]
fn interpreter_not_on_path_names_it_and_the_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let msg = probe_err(
        &project_at(dir.path(), "local"),
        Path::new("kfpx-test-no-such-python3"),
    );
    assert_eq!(
        msg,
        "kfpx-test-no-such-python3 not found on PATH: pass --python, set KFPX_PYTHON, or use \
         --snapshot FILE"
    );
}

#[cfg(unix)]
#[test]
fn non_executable_interpreter_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("python");
    std::fs::write(&python, "not a program").unwrap();
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(msg.contains("permission denied"), "{msg}");
    assert!(msg.contains("--python"), "{msg}");
}

/// A real Python where Kedro cannot be imported: python3 with `-S` (no site-packages).
#[cfg(unix)]
#[test]
fn kedro_not_importable_in_a_real_python() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(dir.path(), "python-no-site", "exec python3 -S \"$@\"");
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(
        msg.starts_with(&format!("kedro is not installed in {}", python.display())),
        "{msg}"
    );
    assert!(msg.contains("No module named 'kedro'"), "{msg}");
    // The hint is to activate the venv, or names the interpreter of a `kedro` found on PATH.
    assert!(msg.contains("pass --python"), "{msg}");
    assert_eq!(msg.lines().count(), 1, "{msg}");
}

#[cfg(unix)]
#[test]
fn project_import_error_shows_the_exception_and_the_stderr_tail() {
    let dir = tempfile::tempdir().unwrap();
    // What probe.py prints when the project raises while its pipelines are loaded.
    let python = fake_python(
        dir.path(),
        "python",
        r#"cat >/dev/null
echo 'INFO kedro.framework.project: Using logging config' >&2
echo 'Traceback (most recent call last):' >&2
echo '  File "src/demo/pipeline_registry.py", line 7, in register_pipelines' >&2
echo '    raise RuntimeError("boom")' >&2
echo 'RuntimeError: boom' >&2
echo 'kfpx-probe-error: project-import: RuntimeError: boom (at src/demo/pipeline_registry.py:7)' >&2
exit 12"#,
    );
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(
        &lines[..3],
        [
            "the Kedro project failed to load (src/demo/pipeline_registry.py:7)",
            "  cause: RuntimeError: boom",
            "  help: fix the error at src/demo/pipeline_registry.py:7 (`kedro registry list` \
             shows it too), or use --snapshot FILE"
        ]
    );
    // The last lines of the traceback follow, the marker line is not repeated.
    assert_eq!(lines.last().unwrap(), &"  | RuntimeError: boom");
    assert!(
        lines.contains(&"  |     raise RuntimeError(\"boom\")"),
        "{msg}"
    );
    assert!(!msg.contains("kfpx-probe-error"), "{msg}");
    assert!(lines.len() <= 4 + 5, "{msg}");
}

#[cfg(unix)]
#[test]
fn config_error_names_the_env() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(
        dir.path(),
        "python",
        "cat >/dev/null; echo 'kfpx-probe-error: config: cannot load the catalog config: ParserError: bad (at conf/base/catalog.yml:3)' >&2; exit 13",
    );
    let msg = probe_err(&project_at(dir.path(), "staging"), &python);
    assert!(
        msg.starts_with(
            "the project's configuration for env 'staging' could not be read: cannot load the \
             catalog config: ParserError: bad (at conf/base/catalog.yml:3)"
        ),
        "{msg}"
    );
}

#[cfg(unix)]
#[test]
fn crash_without_marker_reports_exit_code_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(
        dir.path(),
        "python",
        "echo 'cannot open s3://AKIAKEY:topsecret@bucket/raw.csv' >&2; echo 'Fatal Python error: something' >&2; exit 1",
    );
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(
        msg.starts_with(&format!(
            "{} failed to run the Kedro probe (exit code 1)",
            python.display()
        )),
        "{msg}"
    );
    assert!(msg.ends_with("  | Fatal Python error: something"), "{msg}");
    // Credentials in URLs never reach the user's terminal or logs.
    assert!(
        msg.contains("  | cannot open s3://<redacted>@bucket/raw.csv\n"),
        "{msg}"
    );
    assert!(
        !msg.contains("topsecret") && !msg.contains("AKIAKEY"),
        "{msg}"
    );
}

#[cfg(unix)]
#[test]
fn python2_syntax_error_hints_at_the_python_version() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(
        dir.path(),
        "python",
        "cat >/dev/null; echo '  File \"<stdin>\", line 80' >&2; echo 'SyntaxError: invalid syntax' >&2; exit 1",
    );
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(msg.contains("kfpx needs Python 3.8 or later"), "{msg}");
}

/// The embedded script still parses on Python 2.7, so an old interpreter gets a clear message:
/// with the real one when this machine has it, else with a fake speaking the same protocol.
#[cfg(unix)]
#[test]
fn too_old_python_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let real = ["python2.7", "python2", "python3.6", "python3.7"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("-c")
                .arg("pass")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let python = match real {
        Some(p) => PathBuf::from(p),
        None => fake_python(
            dir.path(),
            "python",
            "cat >/dev/null; echo 'kfpx-probe-error: old-python: Python 2.7 is too old, kfpx needs Python 3.8 or later' >&2; exit 15",
        ),
    };
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(
        msg.starts_with(&format!(
            "{} cannot run the Kedro probe: Python ",
            python.display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("is too old, kfpx needs Python 3.8 or later"),
        "{msg}"
    );
    assert!(
        msg.ends_with("pass the project's interpreter with --python or KFPX_PYTHON"),
        "{msg}"
    );
}

#[cfg(unix)]
#[test]
fn bad_json_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(dir.path(), "python", "cat >/dev/null; echo 'hello {'");
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(msg.contains("printed invalid JSON"), "{msg}");
    assert!(msg.contains("\"hello {\""), "{msg}");
    assert_eq!(msg.lines().count(), 1, "{msg}");

    let python = fake_python(dir.path(), "python-silent", "cat >/dev/null; exit 0");
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(msg.contains("printed nothing"), "{msg}");
}

#[cfg(unix)]
#[test]
fn snapshot_of_another_version_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(
        dir.path(),
        "python",
        r#"cat >/dev/null; echo '{"format": "kfpx-snapshot", "version": 99}'"#,
    );
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(
        msg.contains("not a kfpx-snapshot version 1 (format \"kfpx-snapshot\", version 99)"),
        "{msg}"
    );
}

/// The fake checks what a real interpreter would get: the script on stdin, `- <root> <env>` as
/// arguments, and the project root as working directory; it answers with a snapshot built from
/// them.
#[cfg(unix)]
#[test]
fn probe_gets_script_root_and_env_and_its_snapshot_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("proj");
    std::fs::create_dir(&root).unwrap();
    let python = fake_python(
        dir.path(),
        "python",
        r#"grep -q 'kfpx-probe-error' || { echo 'script not on stdin' >&2; exit 9; }
[ "$1" = "-" ] || { echo "arg1=$1" >&2; exit 9; }
[ "$2" = "$(pwd)" ] || { echo "root $2 != cwd $(pwd)" >&2; exit 9; }
printf '{"format":"kfpx-snapshot","version":1,"project":{"name":"%s","kedro_version":"1.7.0"},"env":"%s","pipelines":{"__default__":{"nodes":[{"name":"a","inputs":["x","params:k"],"outputs":["y"],"tags":["t"]}]}},"datasets":{"x":{"type":"pandas.CSVDataset","memory":false,"filepath":"data/x.csv"},"y":{"memory":true}},"parameters":{"k":1}}\n' "$(basename "$PWD")" "$3"
echo 'INFO some log line on stderr' >&2"#,
    );
    let snap = probe::run_with_timeout(
        &project_at(&root, "staging"),
        &python,
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snap.project.name, "proj");
    assert_eq!(snap.env.as_deref(), Some("staging"));
    assert_eq!(snap.pipelines["__default__"].nodes[0].outputs, vec!["y"]);
    assert!(snap.datasets["y"].memory);
    assert_eq!(snap.parameters["k"], 1);
}

#[cfg(unix)]
#[test]
fn hanging_probe_is_stopped_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // It also leaves a process behind that keeps the pipes open.
    let python = fake_python(
        dir.path(),
        "python",
        "echo 'INFO waiting for the network' >&2; sleep 4 & exec sleep 30",
    );
    let started = Instant::now();
    let err = probe::run_with_timeout(
        &project_at(dir.path(), "local"),
        &python,
        Duration::from_millis(300),
    )
    .unwrap_err()
    .to_string();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(err.contains("did not finish within 0.3s"), "{err}");
    assert!(err.contains("KFPX_PROBE_TIMEOUT"), "{err}");
    assert!(err.ends_with("  | INFO waiting for the network"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_timeout_kills_everything_the_interpreter_started() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    // a grandchild that would outlive the interpreter
    let python = fake_python(
        dir.path(),
        "python",
        &format!("sleep 60 & echo $! > {}; exec sleep 60", pidfile.display()),
    );
    let err = probe::run_with_timeout(
        &project_at(dir.path(), "local"),
        &python,
        Duration::from_millis(500),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("did not finish within 0.5s"), "{err}");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
    // the orphan is killed at once; give init a moment to reap it
    let until = Instant::now() + Duration::from_secs(5);
    while proc_dir.exists() && Instant::now() < until {
        let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            break; // a zombie: dead, waiting to be reaped
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "the interpreter's child still runs: {stat}"
    );
}

#[test]
fn probe_timeout_from_the_environment_is_bounded() {
    assert!(probe::parse_timeout(Some("1e20")).is_err());
    assert!(probe::parse_timeout(Some("inf")).is_err());
    assert!(probe::parse_timeout(Some("-1")).is_err());
    assert!(probe::parse_timeout(Some("0")).is_err());
    assert_eq!(
        probe::parse_timeout(Some(" 2.5 ")).unwrap(),
        Duration::from_millis(2500)
    );
    assert_eq!(
        probe::parse_timeout(Some("86400")).unwrap(),
        Duration::from_secs(86400)
    );
    assert_eq!(probe::parse_timeout(None).unwrap(), probe::DEFAULT_TIMEOUT);
}

// ------------------------------------------------------------------------------------------
// With real Kedro (KFPX_TEST_PYTHON = a venv's python with kedro and kedro-datasets).

const NEEDS_KEDRO: &str = "needs Kedro venv; run by .ci/stage-kedro.sh";

fn test_python() -> PathBuf {
    PathBuf::from(std::env::var_os("KFPX_TEST_PYTHON").unwrap_or_else(|| {
        panic!("{NEEDS_KEDRO}: set KFPX_TEST_PYTHON to a python with Kedro installed")
    }))
}

fn kedro_version(python: &Path) -> String {
    let out = Command::new(python)
        .args(["-c", "import kedro; print(kedro.__version__)"])
        .output()
        .expect("run KFPX_TEST_PYTHON");
    assert!(
        out.status.success(),
        "kedro not importable in {}",
        python.display()
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let skip = [
            "__pycache__",
            ".kfpx",
            "02_intermediate",
            "03_primary",
            "06_models",
            "08_reporting",
        ];
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh copy of tests/kedro_project whose `kedro_init_version` matches the installed Kedro
/// (Kedro refuses other major versions, and on 0.x other minor versions).
fn project_copy(python: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("kedro_project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kedro_project"),
        &root,
    );
    let version = kedro_version(python);
    let pyproject = root.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("kedro_init_version") {
                format!("kedro_init_version = \"{version}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&pyproject, text).unwrap();
    (dir, root)
}

/// What Kedro itself reports (tests/probe_reference.py, with KedroSession and the real catalog).
fn kedro_reference(python: &Path, root: &Path, env: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe_reference.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(root)
        .arg(env)
        .current_dir(root)
        .env("KEDRO_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn probe_real(python: &Path, root: &Path, env: &str) -> Snapshot {
    probe::run_with_timeout(&project_at(root, env), python, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("probe failed: {e}"))
}

/// The probe must say exactly what Kedro says: pipelines, their nodes in order (name, inputs,
/// outputs, tags, namespace), which datasets are in memory, and the parameters.
fn assert_matches_kedro(snap: &Snapshot, reference: &serde_json::Value) {
    let ref_pipes = reference["pipelines"].as_object().unwrap();
    assert_eq!(
        snap.pipelines.keys().collect::<Vec<_>>(),
        ref_pipes.keys().collect::<Vec<_>>()
    );
    for (name, pipe) in &snap.pipelines {
        let got: Vec<serde_json::Value> = pipe
            .nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "name": n.name, "inputs": n.inputs, "outputs": n.outputs,
                    "tags": n.tags, "namespace": n.namespace,
                })
            })
            .collect();
        assert_eq!(
            serde_json::Value::Array(got),
            ref_pipes[name],
            "pipeline {name}"
        );
    }
    let ref_memory: BTreeMap<String, bool> =
        serde_json::from_value(reference["memory"].clone()).unwrap();
    let got_memory: BTreeMap<String, bool> = snap
        .datasets
        .iter()
        .map(|(k, d)| (k.clone(), d.memory))
        .collect();
    assert_eq!(got_memory, ref_memory);
    assert_eq!(snap.parameters, reference["parameters"]);
}

#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_probe_matches_what_kedro_reports() {
    let python = test_python();
    let (_dir, root) = project_copy(&python);
    let started = Instant::now();
    let snap = probe_real(&python, &root, "local");
    eprintln!(
        "probe wall time with Kedro {}: {:.2}s",
        snap.project.kedro_version,
        started.elapsed().as_secs_f64()
    );
    assert_matches_kedro(&snap, &kedro_reference(&python, &root, "local"));

    // And in plain terms, what the test project was written to contain.
    assert_eq!(snap.project.name, "spaceflights-mini");
    assert_eq!(snap.project.package.as_deref(), Some("spaceflights_mini"));
    assert_eq!(snap.project.kedro_version, kedro_version(&python));
    assert_eq!(snap.env.as_deref(), Some("local"));
    let default: Vec<&str> = snap.pipelines["__default__"]
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(default.len(), 7);
    for name in [
        "data_processing.preprocess_companies_node",
        "data_processing.preprocess_shuttles_node",
        "data_processing.create_model_input_table_node",
        "data_science.split_data_node",
        "data_science.train_model_node",
        "data_science.evaluate_model_node",
        "report_node",
    ] {
        assert!(default.contains(&name), "{name} missing from {default:?}");
    }
    // Topological order: producers before consumers.
    let pos = |n: &str| default.iter().position(|x| *x == n).unwrap();
    assert!(
        pos("data_processing.create_model_input_table_node") < pos("data_science.split_data_node")
    );
    assert!(pos("data_science.evaluate_model_node") < pos("report_node"));
    let node = snap.pipelines["__default__"]
        .nodes
        .iter()
        .find(|n| n.name == "data_processing.create_model_input_table_node")
        .unwrap();
    assert_eq!(node.namespace.as_deref(), Some("data_processing"));
    assert_eq!(node.tags, vec!["features", "tables"]);
    assert!(node
        .inputs
        .contains(&"params:data_processing.min_passenger_capacity".to_string()));
    let report = snap.pipelines["__default__"]
        .nodes
        .iter()
        .find(|n| n.name == "report_node")
        .unwrap();
    assert_eq!(report.namespace, None);

    // Datasets: the pattern resolved, explicit and implicit MemoryDatasets, no parameters.
    let ds = &snap.datasets;
    let pre = &ds["data_processing.preprocessed_companies"];
    assert_eq!(pre.ty.as_deref(), Some("pandas.ParquetDataset"));
    assert_eq!(
        pre.filepath.as_deref(),
        Some("data/02_intermediate/data_processing/preprocessed_companies.pq")
    );
    assert!(!pre.memory);
    assert_eq!(ds["regressor"].ty.as_deref(), Some("pickle.PickleDataset"));
    assert_eq!(ds["companies"].ty.as_deref(), Some("pandas.CSVDataset"));
    assert!(ds["data_science.metrics"].memory);
    assert_eq!(
        ds["data_science.metrics"].ty.as_deref(),
        Some("MemoryDataset")
    );
    assert!(ds["data_science.X_train"].memory);
    assert_eq!(ds["data_science.X_train"].ty, None);
    assert!(!ds
        .keys()
        .any(|k| k.starts_with("params:") || k == "parameters"));

    // Parameters: the merged tree for the env (conf/local overrides conf/base).
    assert_eq!(snap.parameters["run_label"], "local");
    assert_eq!(
        snap.parameters["data_processing"]["min_passenger_capacity"],
        2
    );
    assert_eq!(snap.parameters["start_date"], "2024-01-15");
}

#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_probe_uses_the_env() {
    let python = test_python();
    let (_dir, root) = project_copy(&python);
    let snap = probe_real(&python, &root, "staging");
    assert_matches_kedro(&snap, &kedro_reference(&python, &root, "staging"));
    assert_eq!(snap.env.as_deref(), Some("staging"));
    assert_eq!(snap.parameters["run_label"], "staging");
    // conf/staging/catalog.yml keeps the report in memory.
    assert!(snap.datasets["model_report"].memory);
    assert_eq!(
        snap.datasets["model_report"].ty.as_deref(),
        Some("kedro.io.MemoryDataset")
    );
}

/// On Kedro >= 1.4 the probe uses the inspection API; the fallback (bootstrap + config loader +
/// pattern matching) must give the identical snapshot. On older Kedro both runs take the
/// fallback and the test checks determinism.
#[cfg(unix)]
#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_probe_fallback_path_gives_the_same_snapshot() {
    let python = test_python();
    let (dir, root) = project_copy(&python);
    let fallback = fake_python(
        dir.path(),
        "python-no-inspection",
        &format!(
            "KFPX_PROBE_NO_INSPECTION=1 exec '{}' \"$@\"",
            python.display()
        ),
    );
    let a = probe_real(&python, &root, "local");
    let b = probe_real(&fallback, &root, "local");
    assert_eq!(a, b);
}

#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_project_raising_on_import_is_reported_with_its_location() {
    let python = test_python();
    let (_dir, root) = project_copy(&python);
    let file = root.join("src/spaceflights_mini/pipelines/data_science/pipeline.py");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!("{text}\nraise RuntimeError(\"boom from data_science\")\n"),
    )
    .unwrap();
    let line = text.lines().count() + 2;
    let msg = probe_err(&project_at(&root, "local"), &python);
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "the Kedro project failed to load \
             (src/spaceflights_mini/pipelines/data_science/pipeline.py:{line})"
        ),
        "{msg}"
    );
    assert_eq!(lines[1], "  cause: RuntimeError: boom from data_science");
    assert!(
        msg.ends_with("  | RuntimeError: boom from data_science"),
        "{msg}"
    );
}

#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_missing_dependency_is_reported() {
    let python = test_python();
    let (_dir, root) = project_copy(&python);
    let file = root.join("src/spaceflights_mini/pipelines/reporting/nodes.py");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("import kfpx_no_such_module\n{text}")).unwrap();
    // The project package is in `Project::package` when kfpx reads pyproject.toml.
    let project = Project {
        package: Some("spaceflights_mini".into()),
        ..project_at(&root, "local")
    };
    let msg = probe_err(&project, &python);
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(
        &lines[..3],
        [
            "the Kedro project failed to load (src/spaceflights_mini/pipelines/reporting/nodes.py:1)",
            "  cause: ModuleNotFoundError: No module named 'kfpx_no_such_module'",
            &format!(
                "  help: install it into the interpreter kfpx used: `{} -m pip install \
                 kfpx_no_such_module`, or pass --python with the interpreter that has the \
                 project's dependencies",
                python.display()
            ),
        ],
        "{msg}"
    );

    // A module of the project itself is not something to pip install.
    let file = root.join("src/spaceflights_mini/pipelines/reporting/nodes.py");
    std::fs::write(&file, format!("import spaceflights_mini.nope\n{text}")).unwrap();
    let msg = probe_err(&project, &python);
    assert!(
        msg.contains(
            "\n  help: `spaceflights_mini.nope` is part of the project itself: fix the import at \
             src/spaceflights_mini/pipelines/reporting/nodes.py:1\n"
        ),
        "{msg}"
    );
}

#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_broken_catalog_is_a_config_error() {
    let python = test_python();
    let (_dir, root) = project_copy(&python);
    std::fs::write(
        root.join("conf/base/catalog.yml"),
        "companies:\n  type: pandas.CSVDataset\n   filepath: [oops\n",
    )
    .unwrap();
    let msg = probe_err(&project_at(&root, "local"), &python);
    assert!(
        msg.starts_with("the project's configuration for env 'local' could not be read: cannot load the catalog config:"),
        "{msg}"
    );
}

#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_directory_without_kedro_project() {
    let python = test_python();
    let dir = tempfile::tempdir().unwrap();
    let msg = probe_err(&project_at(dir.path(), "local"), &python);
    assert!(msg.starts_with("Kedro cannot load "), "{msg}");
    assert!(msg.contains("[tool.kedro]"), "{msg}");
}

/// Through the CLI: `kfpx graph -o snapshot` prints the probed snapshot.
#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn cli_graph_json_prints_the_probed_snapshot() {
    let python = test_python();
    let (_dir, root) = project_copy(&python);
    let out = cmd::kfpx()
        .args(["graph", "--format", "snapshot", "--python"])
        .arg(&python)
        .arg("-C")
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kfpx graph failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap: Snapshot = serde_json::from_slice(&out.stdout).unwrap();
    assert_matches_kedro(&snap, &kedro_reference(&python, &root, "local"));
    let names: BTreeSet<&str> = snap.datasets.keys().map(String::as_str).collect();
    assert!(names.contains("data_processing.preprocessed_shuttles"));
}

/// Factory-pattern corner cases, on a second, generated project: Kedro's pattern precedence
/// (more specific first), a persisting catch-all (so nothing is implicitly in memory), the
/// fully qualified MemoryDataset spelling, transcoding and the `parameters` input. Both probe
/// paths must agree with Kedro's instantiated catalog.
#[cfg(unix)]
#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_probe_resolves_patterns_like_kedro() {
    let python = test_python();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("patterns");
    let version = kedro_version(&python);
    let files: &[(&str, String)] = &[
        (
            "pyproject.toml",
            format!(
                "[tool.kedro]\npackage_name = \"pat\"\nproject_name = \"patterns\"\n\
                 kedro_init_version = \"{version}\"\n"
            ),
        ),
        ("src/pat/__init__.py", String::new()),
        (
            "src/pat/settings.py",
            "from kedro.config import OmegaConfigLoader\nCONFIG_LOADER_CLASS = OmegaConfigLoader\n"
                .into(),
        ),
        (
            "src/pat/pipeline_registry.py",
            r#"from kedro.pipeline import Pipeline, node


def ident(x, *rest):
    return x


def register_pipelines():
    p = Pipeline(
        [
            node(ident, "explicit", "ns.int_a", name="n1"),
            node(ident, "ns.int_a", "ns.b", name="n2"),
            node(ident, "ns.b", "mem_c", name="n3"),
            node(ident, ["mem_c", "params:p"], "other", name="n4"),
            node(ident, ["other", "parameters"], "raw@pandas", name="n5"),
            node(ident, "raw@pickle", "final", name="n6"),
        ]
    )
    return {"__default__": p}
"#
            .into(),
        ),
        (
            "conf/base/catalog.yml",
            r#"explicit:
  type: pandas.CSVDataset
  filepath: data/explicit.csv
"{namespace}.int_{name}":
  type: pandas.CSVDataset
  filepath: data/{namespace}/{name}.csv
"{namespace}.{name}":
  type: MemoryDataset
"mem_{x}":
  type: kedro.io.memory_dataset.MemoryDataset
"raw@pandas":
  type: pandas.CSVDataset
  filepath: data/raw.csv
"raw@pickle":
  type: pickle.PickleDataset
  filepath: data/raw.csv
"{default}":
  type: pickle.PickleDataset
  filepath: memory://user:secret@bucket/{default}.pkl
"#
            .into(),
        ),
        (
            "conf/base/parameters.yml",
            "p: 1\nwhen: 2024-02-29\n".into(),
        ),
        ("conf/local/.keep", String::new()),
    ];
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let fallback = fake_python(
        dir.path(),
        "python-no-inspection",
        &format!(
            "KFPX_PROBE_NO_INSPECTION=1 exec '{}' \"$@\"",
            python.display()
        ),
    );
    let snap = probe_real(&python, &root, "local");
    assert_matches_kedro(&snap, &kedro_reference(&python, &root, "local"));
    assert_eq!(snap, probe_real(&fallback, &root, "local"));

    let ds = &snap.datasets;
    // `ns.int_a` matches both namespaced patterns; the more specific one wins.
    assert_eq!(ds["ns.int_a"].ty.as_deref(), Some("pandas.CSVDataset"));
    assert_eq!(ds["ns.int_a"].filepath.as_deref(), Some("data/ns/a.csv"));
    assert!(!ds["ns.int_a"].memory);
    assert!(ds["ns.b"].memory);
    assert!(ds["mem_c"].memory);
    // The persisting catch-all catches the rest, with credentials redacted.
    assert!(!ds["other"].memory && !ds["final"].memory);
    assert_eq!(
        ds["final"].filepath.as_deref(),
        Some("memory://<redacted>@bucket/final.pkl")
    );
    assert_eq!(ds["raw@pandas"].ty.as_deref(), Some("pandas.CSVDataset"));
    assert_eq!(ds["raw@pickle"].ty.as_deref(), Some("pickle.PickleDataset"));
    assert!(!ds.contains_key("parameters") && !ds.contains_key("params:p"));
    assert_eq!(snap.parameters["p"], 1);
}

// ------------------------------------------------------------------------------------------
// Lite mode (issue 14): third-party imports of the pipeline code are stand-ins.

/// A third-party package whose import takes 1 s, in a `site-packages` directory of its own put
/// on PYTHONPATH by an interpreter wrapper (the probe treats anything under a `site-packages`
/// directory outside the project as third-party, as a package installed in the venv). Its
/// import also appends a line to `marker`, so a test can tell whether it was really imported.
#[cfg(unix)]
fn python_with_slow_package(dir: &Path, python: &Path, feature: bool) -> (PathBuf, PathBuf) {
    let site = dir.join("slow-env/lib/site-packages/kfpx_slow_lib");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        site.join("__init__.py"),
        format!(
            r#"import os
import time

time.sleep(1.0)
with open(os.environ["KFPX_SLOW_MARKER"], "a") as f:
    f.write("imported\n")


class Frame:
    pass


class Model:
    def __init__(self, *args, **kwargs):
        pass


def schema(**kwargs):
    return Frame()


def set_seed(seed):
    pass


FEATURE = {}
"#,
            if feature { "True" } else { "False" }
        ),
    )
    .unwrap();
    std::fs::create_dir_all(site.join("sub")).unwrap();
    std::fs::write(site.join("sub/__init__.py"), "").unwrap();
    std::fs::write(site.join("sub/module.py"), "VALUE = 1\n").unwrap();
    let marker = dir.join("slow-imported.txt");
    let wrapper = fake_python(
        dir,
        "python-with-slow-lib",
        &format!(
            "PYTHONPATH='{}' KFPX_SLOW_MARKER='{}' exec '{}' \"$@\"",
            site.parent().unwrap().display(),
            marker.display(),
            python.display()
        ),
    );
    (wrapper, marker)
}

fn probe_mode(python: &Path, root: &Path, mode: probe::ProbeMode) -> (probe::Probed, f64) {
    let started = Instant::now();
    let probed = probe::run_mode(
        &project_at(root, "local"),
        python,
        mode,
        Duration::from_secs(300),
    )
    .unwrap_or_else(|e| panic!("probe failed: {e}"));
    (probed, started.elapsed().as_secs_f64())
}

fn prepend(file: &Path, head: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, format!("{head}{text}")).unwrap();
}

/// Both modes give Kedro's own view of the test project, and lite mode does it without a
/// fallback (the node modules import pandas, which lite mode stands in for).
#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_lite_and_full_modes_match_kedro() {
    let python = test_python();
    let (_dir, root) = project_copy(&python);
    let (lite, lite_s) = probe_mode(&python, &root, probe::ProbeMode::Lite);
    let (full, full_s) = probe_mode(&python, &root, probe::ProbeMode::Full);
    eprintln!(
        "Kedro {}: lite probe {lite_s:.2}s, full probe {full_s:.2}s",
        full.snapshot.project.kedro_version
    );
    assert_eq!(lite.mode, probe::ProbeMode::Lite, "lite mode fell back");
    assert_eq!(full.mode, probe::ProbeMode::Full);
    assert_eq!(lite.snapshot, full.snapshot);
    assert_matches_kedro(&lite.snapshot, &kedro_reference(&python, &root, "local"));
}

/// Node modules importing a package that takes 1 s to import: lite mode never imports it (the
/// package's import leaves a mark), so its time does not depend on the package; the snapshot is
/// the same as with the real import and as Kedro's own.
#[cfg(unix)]
#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_lite_mode_does_not_import_a_slow_third_party_package() {
    let python = test_python();
    let (dir, root) = project_copy(&python);
    let (slow_python, marker) = python_with_slow_package(dir.path(), &python, false);
    let pipes = root.join("src/spaceflights_mini/pipelines");
    // Typical uses at import time: module and name imports, a subclass, annotations (also
    // inside typing constructs), a decorator-free module-level object.
    prepend(
        &pipes.join("data_processing/nodes.py"),
        "from typing import Dict, Optional\n\nimport kfpx_slow_lib\nimport kfpx_slow_lib.sub.module\nfrom kfpx_slow_lib import Frame, Model\n\n\nclass MyModel(Model):\n    pass\n\n\nDEFAULT_MODEL = MyModel(3)\nSCHEMA = kfpx_slow_lib.schema(columns=[\"a\"])\n\n\ndef annotated(x: Optional[Frame], y: Dict[str, kfpx_slow_lib.Frame]) -> Frame:\n    return x\n\n",
    );
    prepend(
        &pipes.join("data_science/nodes.py"),
        "import kfpx_slow_lib as sl\n\nsl.set_seed(42)\n",
    );
    let (lite, lite_s) = probe_mode(&slow_python, &root, probe::ProbeMode::Lite);
    assert!(
        !marker.exists(),
        "lite mode imported the slow package for real"
    );
    let (full, full_s) = probe_mode(&slow_python, &root, probe::ProbeMode::Full);
    assert!(marker.exists(), "the full probe must import the package");
    eprintln!(
        "Kedro {} with a 1 s import: lite probe {lite_s:.2}s, full probe {full_s:.2}s",
        full.snapshot.project.kedro_version
    );
    assert_eq!(lite.mode, probe::ProbeMode::Lite, "lite mode fell back");
    assert_eq!(lite.snapshot, full.snapshot);
    assert_matches_kedro(
        &lite.snapshot,
        &kedro_reference(&slow_python, &root, "local"),
    );
}

/// When a library value decides which nodes exist, or an import is guarded, a stand-in could
/// give another graph: lite mode must notice, fall back to the real import, and still give
/// Kedro's graph.
#[cfg(unix)]
#[test]
#[ignore = "needs Kedro venv; run by .ci/stage-kedro.sh"]
fn real_lite_mode_falls_back_when_a_stand_in_could_change_the_graph() {
    let python = test_python();
    let (dir, root) = project_copy(&python);
    let (slow_python, marker) = python_with_slow_package(dir.path(), &python, true);
    let reporting = root.join("src/spaceflights_mini/pipelines/reporting/pipeline.py");
    let original = std::fs::read_to_string(&reporting).unwrap();
    let branching = original.replace(
        "    # Not namespaced",
        "    import kfpx_slow_lib\n\n    extra = [node(make_report, inputs=[\"data_science.metrics\", \"params:run_label\"], outputs=\"extra_report\", name=\"extra_report_node\")] if kfpx_slow_lib.FEATURE else []\n    # Not namespaced",
    )
    .replace("        ]\n    )", "        ]\n        + extra\n    )");
    assert_ne!(branching, original);
    std::fs::write(&reporting, &branching).unwrap();
    let (probed, _) = probe_mode(&slow_python, &root, probe::ProbeMode::Lite);
    assert_eq!(
        probed.mode,
        probe::ProbeMode::Full,
        "lite mode did not fall back"
    );
    assert!(marker.exists());
    let names: Vec<&str> = probed.snapshot.pipelines["__default__"]
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert!(names.contains(&"extra_report_node"), "{names:?}");
    assert_matches_kedro(
        &probed.snapshot,
        &kedro_reference(&slow_python, &root, "local"),
    );

    // A guarded import: with a stand-in, `from ... import` always succeeds.
    std::fs::remove_file(&marker).unwrap();
    std::fs::write(
        &reporting,
        original.replace(
            "    # Not namespaced",
            "    try:\n        from kfpx_slow_lib import not_there  # noqa: F401\n        extra = [node(make_report, inputs=[\"data_science.metrics\", \"params:run_label\"], outputs=\"extra_report\", name=\"extra_report_node\")]\n    except ImportError:\n        extra = []\n    # Not namespaced",
        )
        .replace("        ]\n    )", "        ]\n        + extra\n    )"),
    )
    .unwrap();
    let (probed, _) = probe_mode(&slow_python, &root, probe::ProbeMode::Lite);
    assert_eq!(
        probed.mode,
        probe::ProbeMode::Full,
        "lite mode did not fall back"
    );
    let names: Vec<&str> = probed.snapshot.pipelines["__default__"]
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    // The real import fails, so Kedro's graph has no extra node (the rest of it was compared
    // with Kedro's own view above).
    assert!(!names.contains(&"extra_report_node"), "{names:?}");
    assert_eq!(names.len(), 7, "{names:?}");
    assert!(marker.exists());
}

// ------------------------------------------------------------------------------------------
// The interpreter is remembered per project (issue 16, item 6).

/// `<dir>/proj`: a Kedro project's skeleton (pyproject, package, conf/base) for CLI tests whose
/// graph comes from a fake interpreter.
fn kedro_skeleton(dir: &Path) -> PathBuf {
    let root = dir.join("proj");
    std::fs::create_dir_all(root.join("src/spaceflights")).unwrap();
    std::fs::create_dir_all(root.join("conf/base")).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        "[tool.kedro]\npackage_name = \"spaceflights\"\nproject_name = \"spaceflights\"\n",
    )
    .unwrap();
    std::fs::write(root.join("src/spaceflights/__init__.py"), "").unwrap();
    root
}

/// After `--python X`, a command without `--python` uses X (and says so with -v), also when
/// the cache is stale and the project has to be probed again; `--python` still wins.
#[cfg(unix)]
#[test]
fn the_interpreter_that_probed_is_remembered_for_the_next_command() {
    let dir = tempfile::tempdir().unwrap();
    let root = kedro_skeleton(dir.path());
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf-example/kfpx-snapshot.json");
    let runs = dir.path().join("runs");
    let venv_python = fake_python(
        dir.path(),
        "venv-python",
        &format!(
            "cat >/dev/null; echo venv >> '{}'; cat '{}'",
            runs.display(),
            snapshot.display()
        ),
    );
    let other_python = fake_python(
        dir.path(),
        "other-python",
        &format!(
            "cat >/dev/null; echo other >> '{}'; cat '{}'",
            runs.display(),
            snapshot.display()
        ),
    );
    let kfpx = |args: &[&str]| {
        let out = cmd::kfpx()
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kfpx {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let runs_seen = || std::fs::read_to_string(&runs).unwrap_or_default();

    kfpx(&[
        "--python",
        venv_python.to_str().unwrap(),
        "graph",
        "--merge-strategy",
        "memory",
    ]);
    assert_eq!(runs_seen(), "venv\n");
    // Cached: nothing runs, the remembered interpreter is named on -v.
    let stderr = kfpx(&["-v", "graph", "--merge-strategy", "memory"]);
    assert_eq!(runs_seen(), "venv\n");
    assert!(
        stderr.contains(&format!(
            "using {}, the interpreter that last probed this project (remembered in \
             .kfpx/python); pass --python to use another",
            venv_python.display()
        )),
        "{stderr}"
    );
    // A code change: probed again, with the remembered interpreter (not python3).
    std::fs::write(root.join("src/spaceflights/nodes.py"), "x = 1\n").unwrap();
    kfpx(&["graph", "--merge-strategy", "memory"]);
    assert_eq!(runs_seen(), "venv\nvenv\n");
    // --python wins, and becomes the remembered one.
    kfpx(&[
        "--python",
        other_python.to_str().unwrap(),
        "graph",
        "--merge-strategy",
        "memory",
    ]);
    std::fs::write(root.join("src/spaceflights/nodes.py"), "x = 2\n").unwrap();
    kfpx(&["graph", "--merge-strategy", "memory"]);
    assert_eq!(runs_seen(), "venv\nvenv\nother\nother\n");
    // A remembered interpreter that no longer exists is skipped (python3 or .venv instead).
    std::fs::remove_file(&other_python).unwrap();
    assert_eq!(
        kfpx::graph::cache::remembered_python(&root).as_deref(),
        Some(other_python.as_path())
    );
}

/// A project opts out of lite mode in its config (`run_config.probe_mode: full`); the flag and
/// `KFPX_PROBE_MODE` win over it; each mode is its own cache entry. The fake interpreter
/// records the mode the probe was started in (the probe reads `KFPX_PROBE_MODE`).
#[cfg(unix)]
#[test]
fn the_project_config_flag_and_environment_choose_the_probe_mode() {
    let dir = tempfile::tempdir().unwrap();
    let root = kedro_skeleton(dir.path());
    std::fs::write(
        root.join("conf/base/kubeflow.yaml"),
        "host: https://kfp.example.com\nrun_config:\n  image: img:1\n  experiment_name: e\n  \
         run_name: r\n  probe_mode: full\n",
    )
    .unwrap();
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf-example/kfpx-snapshot.json");
    let modes = dir.path().join("modes");
    let python = fake_python(
        dir.path(),
        "python",
        &format!(
            "cat >/dev/null; echo \"$KFPX_PROBE_MODE\" >> '{}'; cat '{}'",
            modes.display(),
            snapshot.display()
        ),
    );
    let kfpx = |env_mode: Option<&str>, args: &[&str]| {
        let mut cmd = cmd::kfpx();
        if let Some(mode) = env_mode {
            cmd.env("KFPX_PROBE_MODE", mode);
        }
        let out = cmd
            .arg("-C")
            .arg(&root)
            .arg("--python")
            .arg(&python)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kfpx {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let seen = || std::fs::read_to_string(&modes).unwrap_or_default();
    let cached_mode = || {
        let cache: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(kfpx::graph::cache::cache_path(&kfpx::project::Project {
                root: root.clone(),
                name: "spaceflights".into(),
                package: None,
                env: "local".into(),
            }))
            .unwrap(),
        )
        .unwrap();
        cache["probe_mode"].as_str().unwrap().to_string()
    };

    kfpx(None, &["graph"]);
    assert_eq!(seen(), "full\n", "the config's probe_mode");
    assert_eq!(cached_mode(), "full");
    kfpx(
        None,
        &["compile", "-o", dir.path().join("p.yaml").to_str().unwrap()],
    );
    assert_eq!(seen(), "full\n", "compile uses the same mode, so the cache");
    kfpx(None, &["--probe-mode", "lite", "graph"]);
    assert_eq!(seen(), "full\nlite\n", "the flag wins over the config");
    assert_eq!(cached_mode(), "lite");
    kfpx(Some("lite"), &["graph", "--refresh"]);
    assert_eq!(
        seen(),
        "full\nlite\nlite\n",
        "the environment wins over the config"
    );
    kfpx(
        Some("lite"),
        &["--probe-mode", "full", "graph", "--refresh"],
    );
    assert_eq!(
        seen(),
        "full\nlite\nlite\nfull\n",
        "the flag wins over the environment"
    );
}

/// What the user sees in the terminal when the project fails to import: `error:` and a short
/// first line, then the cause and a help that works as written, then the traceback's end.
#[cfg(unix)]
#[test]
fn cli_shows_a_project_import_error_with_cause_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("proj");
    std::fs::create_dir_all(root.join("src/demo/pipelines")).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        "[tool.kedro]\npackage_name = \"demo\"\nproject_name = \"demo\"\n",
    )
    .unwrap();
    std::fs::write(root.join("src/demo/pipelines/nodes.py"), "import sklearn\n").unwrap();
    let python = fake_python(
        dir.path(),
        "python",
        r#"cat >/dev/null
echo '  File "src/demo/pipelines/nodes.py", line 1, in <module>' >&2
echo 'ModuleNotFoundError: No module named '"'"'sklearn'"'" >&2
echo 'kfpx-probe-error: project-import: ModuleNotFoundError: No module named '"'"'sklearn'"'"' (at src/demo/pipelines/nodes.py:1)' >&2
exit 12"#,
    );
    let out = cmd::kfpx()
        .env("NO_COLOR", "1")
        .arg("-C")
        .arg(&root)
        .arg("--python")
        .arg(&python)
        .arg("graph")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        &lines[..3],
        [
            "error: the Kedro project failed to load (src/demo/pipelines/nodes.py:1)",
            "  cause: ModuleNotFoundError: No module named 'sklearn'",
            &format!(
                "  help: install it into the interpreter kfpx used: `{} -m pip install \
                 scikit-learn`, or pass --python with the interpreter that has the project's \
                 dependencies",
                python.display()
            ),
        ],
        "{stderr}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"  | ModuleNotFoundError: No module named 'sklearn'"
    );
}
