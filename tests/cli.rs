//! CLI behaviour seen by users: help, usage errors, project discovery, init, ui, completions.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "support/cmd.rs"]
mod cmd;

use assert_cmd::Command;
use clap::CommandFactory;

/// `kfpx` run in `dir`, with an environment free of the variables kfpx reads.
fn kfpx(dir: &Path) -> Command {
    let mut cmd = cmd::kfpx();
    cmd.current_dir(dir);
    cmd
}

/// A Kedro project directory: pyproject.toml with [tool.kedro], no conf/ yet.
fn kedro_project(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj-dir");
    fs::create_dir(&root).unwrap();
    fs::write(
        root.join("pyproject.toml"),
        format!(
            "[tool.kedro]\npackage_name = \"pkg\"\nproject_name = \"{name}\"\n\
             kedro_init_version = \"0.19.9\"\n"
        ),
    )
    .unwrap();
    (tmp, root)
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One `error: …` line and nothing else (no backtrace, no panic text).
fn assert_one_error_line(out: &std::process::Output) -> String {
    let err = stderr_of(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    lines[0].to_string()
}

const CONFIG: &str = "conf/base/kubeflow.yaml";

// ---- help and usage ---------------------------------------------------------------------

#[test]
fn every_subcommand_has_complete_help() {
    let tmp = tempfile::tempdir().unwrap();
    let cli = kfpx::cli::Cli::command();
    let mut seen = 0;
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        assert!(
            sub.get_about().is_some_and(|a| !a.to_string().is_empty()),
            "`{name}` has no description"
        );
        let out = kfpx(tmp.path()).args([name, "--help"]).output().unwrap();
        assert!(out.status.success(), "`kfpx {name} --help` failed");
        let help = stdout_of(&out);
        assert!(help.contains(&format!("Usage: kfpx {name}")), "{help}");
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            assert!(
                arg.get_help()
                    .is_some_and(|h| !h.to_string().trim().is_empty()),
                "`kfpx {name}`: argument {id} has no help text"
            );
            if let Some(long) = arg.get_long() {
                assert!(
                    help.contains(&format!("--{long}")),
                    "`kfpx {name} --help` does not show --{long}:\n{help}"
                );
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 15, "init, compile, upload-pipeline, run-once, schedule, list-pipelines, run-local, ui, graph, config, completions, login, logout, runs, schedules");
}

#[test]
fn top_level_help_lists_commands_global_options_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kfpx(tmp.path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = stdout_of(&out);
    for needle in [
        "init",
        "compile",
        "upload-pipeline",
        "run-once",
        "schedule",
        "list-pipelines",
        "ui",
        "graph",
        "config",
        "completions",
        "--env",
        "--project-dir",
        "--verbose",
        "--quiet",
        "--color",
        "Exit codes",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    let out = kfpx(tmp.path()).arg("--version").output().unwrap();
    assert!(stdout_of(&out).starts_with("kfpx "), "{}", stdout_of(&out));
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["no-such-command"],
        vec!["init"],
        vec!["ui", "--no-such-flag"],
        vec!["--color", "sometimes", "ui"],
        vec!["schedule"],
        vec!["completions", "tcsh"],
        vec!["-q", "-v", "ui", "--print"],
        vec![],
    ] {
        let out = kfpx(tmp.path()).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "kfpx {args:?}: {}",
            stderr_of(&out)
        );
        assert!(out.stdout.is_empty() || args.is_empty(), "kfpx {args:?}");
    }
}

// ---- project discovery ------------------------------------------------------------------

#[test]
fn outside_any_project_the_error_says_how_to_fix_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kfpx(tmp.path()).arg("ui").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = assert_one_error_line(&out);
    assert!(line.contains("no Kedro project found in"), "{line}");
    assert!(
        line.contains("run kfpx inside a project or pass -C DIR"),
        "{line}"
    );

    // init, too, needs at least a pyproject.toml in the current directory.
    let out = kfpx(tmp.path())
        .args(["init", "https://kf.example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(assert_one_error_line(&out).contains("no Kedro project found in"));
    assert!(!tmp.path().join("conf").exists(), "nothing written");
}

#[test]
fn dash_c_pointing_nowhere_or_at_a_non_project_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kfpx(tmp.path())
        .args(["-C", "missing-dir", "ui"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = assert_one_error_line(&out);
    assert!(
        line.contains("missing-dir") && line.contains("does not exist"),
        "{line}"
    );

    let out = kfpx(tmp.path()).args(["-C", ".", "ui"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(assert_one_error_line(&out).contains("is not a Kedro project"));
}

#[test]
fn an_env_with_a_path_separator_is_rejected() {
    let (_tmp, root) = kedro_project("demo");
    for env in ["../etc", "a/b"] {
        let out = kfpx(&root).args(["-e", env, "ui"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let line = assert_one_error_line(&out);
        assert!(line.contains("invalid environment name"), "{line}");
    }
    // KEDRO_ENV is checked the same way.
    let out = kfpx(&root)
        .env("KEDRO_ENV", "x/y")
        .arg("ui")
        .output()
        .unwrap();
    assert!(assert_one_error_line(&out).contains("\"x/y\""));
    // An empty KEDRO_ENV counts as unset (env `local`); an empty -e does not.
    let out = kfpx(&root)
        .env("KEDRO_ENV", "")
        .args(["-v", "init", "http://h:1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("(env local)"),
        "{}",
        stderr_of(&out)
    );
    let out = kfpx(&root).args(["-e", "", "ui"]).output().unwrap();
    assert!(assert_one_error_line(&out).contains("invalid environment name"));
}

#[test]
fn commands_without_a_config_fail_with_one_clear_line() {
    let (_tmp, root) = kedro_project("demo");
    fs::create_dir_all(root.join("conf/base")).unwrap();
    for args in [
        vec!["compile", "-o", "-"],
        vec!["upload-pipeline"],
        vec!["run-once"],
        vec!["schedule", "-c", "0 0 4 * * *"],
        vec!["list-pipelines"],
        vec!["config"],
        vec!["ui"],
    ] {
        let out = kfpx(&root)
            .args(&args)
            .env("KFPX_PYTHON", "/nonexistent/python")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "kfpx {args:?}: {}",
            stderr_of(&out)
        );
        assert_one_error_line(&out);
        assert!(out.stdout.is_empty(), "kfpx {args:?} printed data");
    }
}

// ---- init -------------------------------------------------------------------------------

#[test]
fn init_writes_a_config_with_the_host_and_project_name() {
    let (_tmp, root) = kedro_project("Space Flights");
    let out = kfpx(&root)
        .args(["init", "https://kubeflow.example.com/pipeline"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let path = root.join(CONFIG);
    assert!(
        stdout_of(&out).contains(&path.display().to_string()),
        "prints what it wrote"
    );
    let text = fs::read_to_string(&path).unwrap();
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(v["host"], "https://kubeflow.example.com/pipeline");
    assert_eq!(v["run_config"]["experiment_name"], "Space Flights");
    assert_eq!(v["run_config"]["image"], "space-flights");
    assert!(
        !root.join(".github").exists(),
        "no workflows without the flag"
    );
}

#[test]
fn init_in_a_subdirectory_writes_at_the_project_root() {
    let (_tmp, root) = kedro_project("demo");
    let sub = root.join("src/pkg");
    fs::create_dir_all(&sub).unwrap();
    let out = kfpx(&sub)
        .args(["init", "http://localhost:8080"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(root.join(CONFIG).is_file());
    assert!(!sub.join("conf").exists());
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let (_tmp, root) = kedro_project("demo");
    let path = root.join(CONFIG);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "host: http://mine\n").unwrap();

    let out = kfpx(&root)
        .args(["init", "https://kf.example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = assert_one_error_line(&out);
    assert!(
        line.contains("already exists") && line.contains("--force"),
        "{line}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "host: http://mine\n");

    let out = kfpx(&root)
        .args(["init", "https://kf.example.com", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(fs::read_to_string(&path)
        .unwrap()
        .contains("host: \"https://kf.example.com\""));
}

#[test]
fn init_with_an_existing_yml_config_refuses_and_force_replaces_that_file() {
    let (_tmp, root) = kedro_project("demo");
    let yml = root.join("conf/base/kubeflow.yml");
    fs::create_dir_all(yml.parent().unwrap()).unwrap();
    fs::write(&yml, "host: http://old\n").unwrap();
    let out = kfpx(&root).args(["init", "http://new"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(assert_one_error_line(&out).contains("kubeflow.yml already exists"));
    let out = kfpx(&root)
        .args(["init", "http://new", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(fs::read_to_string(&yml).unwrap().contains("http://new"));
    assert!(!root.join(CONFIG).exists(), "never both .yml and .yaml");
}

#[test]
fn init_rejects_a_host_without_scheme_and_writes_nothing() {
    let (_tmp, root) = kedro_project("demo");
    for host in [
        "kubeflow.example.com",
        "localhost:9000",
        "ftp://kf.example.com",
    ] {
        let out = kfpx(&root).args(["init", host]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{host}");
        let line = assert_one_error_line(&out);
        assert!(line.contains("invalid host"), "{line}");
        assert!(line.contains("https://"), "says how to fix it: {line}");
        assert!(!root.join("conf").exists(), "{host}: nothing written");
    }
}

#[test]
fn init_with_dash_c_accepts_a_plain_pyproject_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("newproj");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
    let out = kfpx(tmp.path())
        .args(["-C", "newproj", "init", "http://h:1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = fs::read_to_string(dir.join(CONFIG)).unwrap();
    assert!(
        text.contains("experiment_name: \"newproj\""),
        "directory name as fallback"
    );
}

#[test]
fn init_output_passes_kfpx_config_check_with_and_without_github_actions() {
    for github in [false, true] {
        let (_tmp, root) = kedro_project("demo");
        let mut init = kfpx(&root);
        init.args(["init", "https://kf.example.com/pipeline"]);
        if github {
            init.arg("--with-github-actions");
        }
        init.assert().success();
        let out = kfpx(&root).args(["config", "--check"]).output().unwrap();
        assert!(out.status.success(), "github={github}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty(), "--check prints nothing on success");

        // The effective config: the commit the workflows export ends up in the image.
        let out = kfpx(&root)
            .args(["config", "--output", "json"])
            .env("KEDRO_CONFIG_COMMIT_ID", "0123abc")
            .env("KEDRO_CONFIG_IMAGE_REPOSITORY", "ghcr.io/acme/demo")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let expected = if github {
            "ghcr.io/acme/demo:0123abc"
        } else {
            "demo"
        };
        assert_eq!(v["run_config"]["image"], expected, "github={github}");
        assert_eq!(v["host"], "https://kf.example.com/pipeline");
    }
}

fn workflow_steps(wf: &serde_yaml::Value) -> Vec<serde_yaml::Value> {
    let jobs = wf["jobs"].as_mapping().expect("jobs");
    assert_eq!(jobs.len(), 1);
    jobs.values().next().unwrap()["steps"]
        .as_sequence()
        .expect("steps")
        .clone()
}

#[test]
fn init_with_github_actions_writes_two_working_workflows() {
    let (_tmp, root) = kedro_project("demo");
    let out = kfpx(&root)
        .args(["init", "https://kf.example.com", "--with-github-actions"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let wf_dir = root.join(".github/workflows");
    let push_text = fs::read_to_string(wf_dir.join("kfpx-on-push.yml")).unwrap();
    let merge_text = fs::read_to_string(wf_dir.join("kfpx-on-merge.yml")).unwrap();
    let push: serde_yaml::Value = serde_yaml::from_str(&push_text).unwrap();
    let merge: serde_yaml::Value = serde_yaml::from_str(&merge_text).unwrap();

    // Pushes to other branches run once; pushes to the default branch deploy.
    assert_eq!(push["on"]["push"]["branches-ignore"][0], "main");
    assert_eq!(merge["on"]["push"]["branches"][0], "main");

    let last_run = |wf: &serde_yaml::Value| {
        let steps = workflow_steps(wf);
        let last = steps.last().unwrap().clone();
        (last["run"].as_str().unwrap().to_string(), last)
    };
    let (push_run, push_last) = last_run(&push);
    let (merge_run, merge_last) = last_run(&merge);
    assert!(
        push_run.contains("kfpx run-once --wait-for-completion"),
        "{push_run}"
    );
    assert!(merge_run.contains("kfpx upload-pipeline"), "{merge_run}");
    assert!(
        merge_run.contains("kfpx schedule -c '0 0 4 * * *'"),
        "{merge_run}"
    );
    for last in [&push_last, &merge_last] {
        assert_eq!(last["env"]["KEDRO_CONFIG_COMMIT_ID"], "${{ github.sha }}");
        for secret in [
            "KF_PIPELINES_ENDPOINT",
            "KF_PIPELINES_TOKEN",
            "DEX_USERNAME",
            "DEX_PASSWORD",
        ] {
            assert_eq!(
                last["env"][secret],
                format!("${{{{ secrets.{secret} }}}}").as_str(),
                "{secret}"
            );
        }
    }
    for (text, wf) in [(&push_text, &push), (&merge_text, &merge)] {
        assert!(
            text.contains(":${{ github.sha }}"),
            "image tagged with the commit"
        );
        assert_eq!(wf["permissions"]["packages"], "write");
        let uses: Vec<String> = workflow_steps(wf)
            .iter()
            .filter_map(|s| s["uses"].as_str().map(str::to_string))
            .collect();
        assert!(
            uses.contains(&"docker/build-push-action@v7".to_string()),
            "{uses:?}"
        );
        // kfpx comes from pip, at the version of the binary that wrote the workflow.
        assert!(
            text.contains(&format!(
                "pip install -r requirements.txt \"kedro-kfpx=={}\"",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
        assert!(!text.contains("cargo"), "{text}");
    }

    // The config reads the commit the workflow exports.
    let cfg = fs::read_to_string(root.join(CONFIG)).unwrap();
    assert!(
        cfg.contains("${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}"),
        "{cfg}"
    );
}

#[test]
fn init_with_github_actions_checks_every_target_before_writing() {
    let (_tmp, root) = kedro_project("demo");
    let push = root.join(".github/workflows/kfpx-on-push.yml");
    fs::create_dir_all(push.parent().unwrap()).unwrap();
    fs::write(&push, "mine").unwrap();
    let out = kfpx(&root)
        .args(["init", "https://kf.example.com", "--with-github-actions"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(assert_one_error_line(&out).contains("kfpx-on-push.yml already exists"));
    assert!(!root.join(CONFIG).exists(), "config not written either");
    assert_eq!(fs::read_to_string(&push).unwrap(), "mine");
}

// ---- ui ---------------------------------------------------------------------------------

#[test]
fn ui_print_prints_the_url_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    // No project needed when the env var says where the UI is.
    kfpx(tmp.path())
        .args(["ui", "--print"])
        .env(
            "KF_PIPELINES_UI_ENDPOINT",
            "https://ui.example.com/pipeline",
        )
        .assert()
        .success()
        .stdout("https://ui.example.com/pipeline\n");
}

#[test]
fn ui_without_a_browser_prints_the_url_and_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kfpx(tmp.path())
        .arg("ui")
        .env("KF_PIPELINES_UI_ENDPOINT", "https://ui.example.com")
        .env("PATH", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "https://ui.example.com\n");
    assert!(stderr_of(&out).contains("open https://ui.example.com yourself"));

    // A desktop session, but no opener program on the PATH.
    let out = kfpx(tmp.path())
        .arg("ui")
        .env("KF_PIPELINES_UI_ENDPOINT", "https://ui.example.com")
        .env("DISPLAY", ":0")
        .env("PATH", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "https://ui.example.com\n");
    let err = stderr_of(&out);
    assert!(
        err.starts_with("warning: could not start a browser"),
        "{err}"
    );
}

#[test]
fn ui_rejects_a_url_that_is_not_http() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kfpx(tmp.path())
        .args(["ui", "--print"])
        .env("KF_PIPELINES_UI_ENDPOINT", "ui.example.com")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(assert_one_error_line(&out).contains("KF_PIPELINES_UI_ENDPOINT is not an http(s) URL"));
}

#[test]
fn ui_print_falls_back_to_the_configured_host() {
    let (_tmp, root) = kedro_project("demo");
    kfpx(&root)
        .args(["init", "https://kf.example.com/pipeline"])
        .assert()
        .success();
    kfpx(&root)
        .args(["ui", "--print"])
        .assert()
        .success()
        .stdout("https://kf.example.com/pipeline\n");
}

// ---- completions and output rules -------------------------------------------------------

#[test]
fn completions_print_a_script_for_each_shell() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kfpx(tmp.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = stdout_of(&out);
    assert!(
        script.contains("complete -F _kfpx"),
        "bash registers a completion function"
    );
    for sub in ["upload-pipeline", "run-once", "--with-github-actions"] {
        assert!(script.contains(sub), "bash completion lacks {sub}");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = kfpx(tmp.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    // Not a terminal: plain.
    let out = kfpx(tmp.path()).arg("ui").output().unwrap();
    assert!(!stderr_of(&out).contains('\u{1b}'));
    // --color always: coloured even when piped.
    let out = kfpx(tmp.path())
        .args(["--color", "always", "ui"])
        .output()
        .unwrap();
    assert!(stderr_of(&out).contains("\u{1b}["), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("error"));
}

#[test]
fn verbose_shows_steps_and_quiet_hides_warnings() {
    let (_tmp, root) = kedro_project("demo");
    let out = kfpx(&root).args(["init", "http://h:1"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "default: no info lines: {}",
        stderr_of(&out)
    );
    let out = kfpx(&root)
        .args(["-v", "init", "http://h:1", "--force"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(
        err.lines()
            .any(|l| l.starts_with("info: project \"demo\" at ") && l.contains("(env local)")),
        "{err}"
    );

    // A warning (no browser) shows by default and disappears with -q; the URL stays on stdout.
    let ui = |extra: &[&str]| {
        kfpx(&root)
            .args(extra)
            .arg("ui")
            .env("KF_PIPELINES_UI_ENDPOINT", "https://ui.example.com")
            .env("DISPLAY", ":0")
            .env("PATH", root.as_os_str())
            .output()
            .unwrap()
    };
    let out = ui(&[]);
    assert!(stderr_of(&out).contains("warning: could not start a browser"));
    let out = ui(&["-q"]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "https://ui.example.com\n");
}

/// The test harness's list (`tests/support/cmd.rs`) holds every variable src/ reads by name,
/// so no test sees a developer's `KF_PIPELINES_ENDPOINT`, token or `KEDRO_ENV`.
#[test]
fn everything_kfpx_reads_is_cleared_by_the_test_harness() {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut all);
    let cleared: Vec<&str> = cmd::VARS
        .iter()
        .chain(kfpx::kfp::auth::VARS)
        .copied()
        .collect();
    // Read by a test in src/, or the process's own PATH/HOME, which the harness sets.
    let not_kfpx = ["KFPX_TEST_PYTHON", "PATH", "HOME"];
    let mut missing = Vec::new();
    for file in all {
        let text = fs::read_to_string(&file).unwrap();
        for opener in [
            "env::var(\"",
            "env::var_os(\"",
            "env = \"",
            "set(\"",
            "var(\"",
        ] {
            for (i, _) in text.match_indices(opener) {
                let rest = &text[i + opener.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                let is_var = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if is_var
                    && !cleared.contains(&name)
                    && !not_kfpx.contains(&name)
                    && !cmd::PREFIXES.iter().any(|p| name.starts_with(p))
                {
                    missing.push(format!("{name} ({})", file.display()));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "add to tests/support/cmd.rs VARS: {missing:?}"
    );
}
