//! Issue 16, "a CLI that fits a Kedro user's hand", from the user's side: kedro-kubeflow's
//! option spellings, Kedro's `--params`, the API version a server speaks, one `-o FORMAT`,
//! errors that say where a setting came from, warnings that do not repeat, tables that fit the
//! terminal, help with examples, and waiting that can be turned off.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use clap::FromArgMatches;
use serde_json::Value;
use support::fake_kfp::FakeKfp;

fn kfpx() -> Command {
    let mut cmd = support::cmd::kfpx();
    cmd.env("NO_COLOR", "1")
        .env("KEDRO_CONFIG_COMMIT_ID", "0123456789abcdef")
        .current_dir(std::env::temp_dir());
    cmd
}

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conf-example")
}

/// A copy of conf-example (config, pyproject, snapshot) in a temporary directory, with
/// `edit` applied to conf/base/kubeflow.yaml.
fn example_copy(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    let src = example_dir();
    for dir in ["conf/base", "conf/production"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::copy(
            src.join(dir).join("kubeflow.yaml"),
            root.join(dir).join("kubeflow.yaml"),
        )
        .unwrap();
    }
    std::fs::copy(src.join("pyproject.toml"), root.join("pyproject.toml")).unwrap();
    std::fs::copy(
        src.join("kfpx-snapshot.json"),
        root.join("kfpx-snapshot.json"),
    )
    .unwrap();
    let cfg = root.join("conf/base/kubeflow.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, edit(text)).unwrap();
    (tmp, root)
}

/// `kfpx -C <root> --snapshot <root>/kfpx-snapshot.json`.
fn in_project(root: &Path) -> Command {
    let mut cmd = kfpx();
    cmd.arg("-C")
        .arg(root)
        .arg("--snapshot")
        .arg(root.join("kfpx-snapshot.json"));
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The line number of the first line of `file` starting with `prefix`.
fn line_of(file: &Path, prefix: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .position(|l| l.starts_with(prefix))
        .unwrap()
        + 1
}

/// Parse a command line exactly as the binary does (argument rewriting, then clap).
fn parse(args: &[&str]) -> Result<kfpx::cli::Cli, String> {
    let argv: Vec<std::ffi::OsString> = std::iter::once("kfpx")
        .chain(args.iter().copied())
        .map(Into::into)
        .collect();
    let argv = kfpx::cli::normalize_args(argv);
    let matches = kfpx::cli::command()
        .try_get_matches_from(argv)
        .map_err(|e| e.to_string())?;
    kfpx::cli::Cli::from_arg_matches(&matches).map_err(|e| e.to_string())
}

// ---- item 1: kedro-kubeflow command lines port by dropping `kedro kubeflow` ---------------

/// Each option of a command in the captured help: (spellings, takes a value).
fn options_of(section: &str) -> Vec<(Vec<String>, bool)> {
    let mut out = Vec::new();
    let mut in_options = false;
    for line in section.lines() {
        if line.starts_with("Options:") {
            in_options = true;
            continue;
        }
        if !in_options || !line.starts_with("  -") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut spellings = Vec::new();
        let mut value = false;
        for w in words {
            if w.starts_with('-') {
                spellings.push(w.trim_end_matches(',').to_string());
            } else {
                value = w.chars().all(|c| c.is_ascii_uppercase());
                break;
            }
        }
        if spellings.iter().any(|s| s == "--help") {
            continue;
        }
        out.push((spellings, value));
    }
    out
}

#[test]
fn every_kedro_kubeflow_option_spelling_parses_like_its_long_form() {
    let help = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kedro-kubeflow/help.txt"),
    )
    .unwrap();
    let mut checked = 0;
    for section in help.split("$ kedro kubeflow ").skip(1) {
        let first = section.lines().next().unwrap();
        let command = first.split_whitespace().next().unwrap();
        let sub: Vec<&str> = if command == "--help" {
            vec!["list-pipelines"] // the group's options, before any command
        } else {
            vec![command]
        };
        // Arguments the command needs anyway (kedro-kubeflow requires them too).
        for (spellings, takes_value) in options_of(section) {
            let required: Vec<&str> = match command {
                "schedule" if !spellings.iter().any(|s| s == "-c") => {
                    vec!["-c", "0 0 4 * * *"]
                }
                "init" => vec!["https://kubeflow.example.com/pipeline"],
                _ => vec![],
            };
            let value = if spellings.iter().any(|s| s == "--timeout") {
                "123"
            } else {
                "given-value"
            };
            let line = |spelling: &str| -> Vec<String> {
                let mut v: Vec<String> = Vec::new();
                let opt: Vec<String> = if takes_value {
                    vec![spelling.to_string(), value.to_string()]
                } else {
                    vec![spelling.to_string()]
                };
                if command == "--help" {
                    v.extend(opt);
                    v.extend(sub.iter().map(|s| s.to_string()));
                } else {
                    v.extend(sub.iter().map(|s| s.to_string()));
                    v.extend(opt);
                }
                v.extend(required.iter().map(|s| s.to_string()));
                v
            };
            let mut parsed = Vec::new();
            for spelling in &spellings {
                let args = line(spelling);
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let cli = parse(&refs)
                    .unwrap_or_else(|e| panic!("`kfpx {}` is refused:\n{e}", args.join(" ")));
                let debug = format!("{cli:?}");
                if takes_value {
                    assert!(
                        debug.contains(value),
                        "`kfpx {}` lost the value: {debug}",
                        args.join(" ")
                    );
                }
                parsed.push(debug);
                checked += 1;
            }
            assert!(
                parsed.windows(2).all(|w| w[0] == w[1]),
                "{spellings:?} of `{command}` mean different things:\n{parsed:#?}"
            );
        }
    }
    assert!(
        checked >= 25,
        "only {checked} spellings found in the fixture"
    );
}

#[test]
fn dash_en_means_experiment_namespace_and_dash_e_stays_the_env() {
    let cli = parse(&["run-once", "-en", "team-a"]).unwrap();
    let kfpx::cli::Command::RunOnce(args) = cli.command else {
        panic!()
    };
    assert_eq!(args.start.experiment_namespace.as_deref(), Some("team-a"));
    assert_eq!(cli.global.env, "local");
    let cli = parse(&["schedule", "-c", "0 0 4 * * *", "-en=team-b", "-e", "prod"]).unwrap();
    let kfpx::cli::Command::Schedule(args) = cli.command else {
        panic!()
    };
    assert_eq!(args.experiment_namespace.as_deref(), Some("team-b"));
    assert_eq!(cli.global.env, "prod");
    // Elsewhere -en is still -e n, as before.
    let cli = parse(&["-en", "config"]).unwrap();
    assert_eq!(cli.global.env, "n");
}

#[test]
fn run_once_dash_en_creates_the_experiment_in_that_namespace() {
    let fake = FakeKfp::start();
    let (_tmp, root) = example_copy(|t| t);
    in_project(&root)
        .args(["run-once", "--host", &fake.url(), "-en", "team-a"])
        .assert()
        .success();
    let create = &fake.requests_to("POST", "/apis/v2beta1/experiments")[0];
    assert_eq!(create.json().unwrap()["namespace"], "team-a");
    fake.assert_no_violations();
}

#[test]
fn compile_writes_kedro_kubeflow_pipeline_yml_by_default_and_takes_its_dash_o() {
    let (_tmp, root) = example_copy(|t| t);
    let out_dir = tempfile::tempdir().unwrap();
    in_project(&root)
        .current_dir(out_dir.path())
        .arg("compile")
        .assert()
        .success();
    assert!(out_dir.path().join("pipeline.yml").is_file());
    in_project(&root)
        .current_dir(out_dir.path())
        .args(["compile", "-o", "other.yml"])
        .assert()
        .success();
    assert!(out_dir.path().join("other.yml").is_file());
    in_project(&root)
        .current_dir(out_dir.path())
        .args(["compile", "--output", "third.yaml"])
        .assert()
        .success();
    assert!(out_dir.path().join("third.yaml").is_file());
}

// ---- item 2: Kedro's parameter syntax --------------------------------------------------------

/// The default of pipeline parameter `name` in a compiled v2 IR.
fn ir_default(ir: &str, name: &str) -> Value {
    let doc: Value = serde_yaml::from_str(ir.split("\n---\n").next().unwrap()).unwrap();
    doc["root"]["inputDefinitions"]["parameters"][name]["defaultValue"].clone()
}

#[test]
fn dotted_params_change_one_nested_value_and_keep_the_rest_with_their_types() {
    let (_tmp, root) = example_copy(|t| t);
    for args in [
        vec!["--param", "data_science.model_options.test_size=0.3"],
        vec!["--params", "data_science.model_options.test_size=0.3"],
        vec![
            "--params",
            "data_science.model_options.test_size=0.1, data_science.model_options.test_size=0.3",
        ],
    ] {
        let out = in_project(&root)
            .args(["compile", "-f", "-"])
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let ds = ir_default(&stdout(&out), "data_science");
        let opts = &ds["model_options"];
        assert_eq!(opts["test_size"], serde_json::json!(0.3), "{args:?}: {ds}");
        assert_eq!(opts["random_state"], serde_json::json!(3), "kept: {ds}");
        assert_eq!(opts["features"].as_array().unwrap().len(), 8, "kept: {ds}");
    }
}

#[test]
fn a_misspelt_dotted_param_is_refused_with_a_suggestion() {
    let (_tmp, root) = example_copy(|t| t);
    let out = in_project(&root)
        .args(["compile", "-f", "-"])
        .args(["--param", "data_science.model_option.test_size=0.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("did you mean \"model_options\""), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn run_once_sends_the_merged_parameter() {
    let fake = FakeKfp::start();
    let (_tmp, root) = example_copy(|t| t);
    in_project(&root)
        .args(["run-once", "--host", &fake.url()])
        .args(["--params", "data_science.model_options.random_state=42"])
        .assert()
        .success();
    let run = &fake.requests_to("POST", "/apis/v2beta1/runs")[0];
    let body = run.json().unwrap();
    let ds = &body["runtime_config"]["parameters"]["data_science"];
    assert_eq!(ds["model_options"]["random_state"], 42, "{body}");
    assert_eq!(ds["model_options"]["test_size"], 0.2, "{body}");
    fake.assert_no_violations();
}

// ---- item 3: the API version the server speaks -----------------------------------------------

/// A KFP 1.x server: the v2 API does not exist (Go's mux answers a plain 404).
fn v1_only() -> FakeKfp {
    let fake = FakeKfp::start();
    fake.set_server_version("1.8.5");
    fake.fail_next_with(
        "*",
        "/apis/v2beta1",
        404,
        "text/plain; charset=utf-8",
        "404 page not found\n",
        1000,
    );
    fake
}

#[test]
fn list_pipelines_on_a_v1_only_server_uses_v1_when_nothing_says_otherwise() {
    let fake = v1_only();
    fake.seed_pipeline("legacy", "");
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url(), "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("legacy"));
    assert!(stderr(&out).contains("speaks only the KFP v1 API"));
    // --kfp-version 2 is the user's word: an error that says what to pass instead.
    let out = kfpx()
        .args([
            "list-pipelines",
            "--host",
            &fake.url(),
            "--kfp-version",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err,
        format!(
            "error: KFP at {}/ speaks only the KFP v1 API, not v2\n  cause: /apis/v2beta1/healthz \
             answers 404, /apis/v1beta1/healthz answers\n  help: pass --kfp-version 1\n",
            fake.url().trim_end_matches('/')
        )
    );
}

#[test]
fn a_host_path_with_no_kfp_api_says_so_instead_of_a_bare_404() {
    let fake = FakeKfp::start();
    let out = kfpx()
        .args(["list-pipelines", "--host", &format!("{}/wrong", fake.url())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err,
        format!(
            "error: no KFP API at {}/wrong\n  cause: /apis/v2beta1/healthz and \
             /apis/v1beta1/healthz both answer 404\n  help: the host came from --host: check its \
             path (behind Kubeflow's gateway it ends in /pipeline, e.g. \
             https://kubeflow.example.com/pipeline)\n",
            fake.url().trim_end_matches('/')
        )
    );
}

#[test]
fn upload_to_a_v1_only_server_names_the_config_line_to_change() {
    let fake = v1_only();
    let (_tmp, root) = example_copy(|t| t);
    let line = line_of(&root.join("conf/base/kubeflow.yaml"), "  kfp_version:");
    let out = in_project(&root)
        .args(["upload-pipeline", "--host", &fake.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("help: set run_config.kfp_version (")
            && err.contains(&format!("conf/base/kubeflow.yaml:{line}) to 1")),
        "{err}"
    );
    assert!(fake.pipelines().is_empty());
    // Without kfp_version in the config, kfpx compiles for v1 and uploads.
    let (_tmp2, root2) = example_copy(|t| t.replace("  kfp_version: 2\n", ""));
    let out = in_project(&root2)
        .args(["upload-pipeline", "--host", &fake.url(), "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fake.pipelines().len(), 1);
    assert!(!fake
        .requests_to("POST", "/apis/v1beta1/pipelines/upload")
        .is_empty());
}

// ---- item 4: one output flag ----------------------------------------------------------------

#[test]
fn every_command_that_prints_a_result_takes_dash_o_format() {
    let cli = kfpx::cli::command();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        let Some(output) = sub.get_arguments().find(|a| a.get_id() == "output") else {
            continue;
        };
        assert_eq!(output.get_short(), Some('o'), "{name}");
        assert_eq!(output.get_long(), Some("output"), "{name}");
        assert_eq!(
            output.get_value_names().map(|v| v[0].to_string()),
            Some("FORMAT".into()),
            "`{name} -o` is a format"
        );
    }
    let fake = FakeKfp::start();
    let (_tmp, root) = example_copy(|t| t);
    for args in [
        vec!["upload-pipeline", "-o", "json"],
        vec!["run-once", "-o", "json"],
        vec!["schedule", "-c", "0 0 4 * * *", "-o", "json"],
        vec!["list-pipelines", "-o", "json"],
    ] {
        let out = in_project(&root)
            .args(&args)
            .args(["--host", &fake.url()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let _: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&out)));
    }
    for args in [
        vec!["graph", "-o", "mermaid"],
        vec!["graph", "--format", "mermaid"],
    ] {
        let out = in_project(&root).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("flowchart") || stdout(&out).contains("flowchart"));
    }
    let out = in_project(&root)
        .args(["config", "-o", "json"])
        .output()
        .unwrap();
    let _: Value = serde_json::from_slice(&out.stdout).unwrap();
}

// ---- item 5 (and issue 11 item 8): where a setting came from -------------------------------

#[test]
fn an_unreachable_host_says_which_file_and_line_it_came_from() {
    let port = support::cmd::REFUSED_PORT;
    let (_tmp, root) = example_copy(|t| {
        t.replace(
            "host: https://kubeflow.example.com/pipeline",
            &format!("host: http://127.0.0.1:{port}"),
        )
    });
    let line = line_of(&root.join("conf/base/kubeflow.yaml"), "host:");
    let out = in_project(&root).arg("upload-pipeline").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        format!("error: cannot reach KFP at http://127.0.0.1:{port}/"),
        "{err}"
    );
    assert!(lines[1].starts_with("  cause: "), "{err}");
    assert!(
        lines[2].starts_with("  help: the host came from `host` in ")
            && lines[2].contains(&format!("conf/base/kubeflow.yaml:{line}: check it")),
        "{err}"
    );
    let out = kfpx()
        .env("KF_PIPELINES_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .arg("list-pipelines")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("help: the host came from KF_PIPELINES_ENDPOINT"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_web_page_instead_of_the_api_names_where_the_host_came_from() {
    let fake = FakeKfp::start();
    fake.set_html_catch_all(true);
    let out = kfpx()
        .env("KF_PIPELINES_ENDPOINT", format!("{}/dashboard", fake.url()))
        .arg("list-pipelines")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("answered with an HTML page, not the API\n"),
        "{err}"
    );
    assert!(
        err.contains("  help: check the host path")
            && err.contains("came from KF_PIPELINES_ENDPOINT"),
        "{err}"
    );
}

#[test]
fn an_http_server_reached_over_https_is_named_as_such() {
    let fake = FakeKfp::start();
    let https = fake.url().replacen("http://", "https://", 1);
    let out = kfpx()
        .args(["list-pipelines", "--host", &https])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "help: this server speaks plain http, not https: write the host as {}",
            fake.url().trim_end_matches('/')
        )),
        "{err}"
    );
}

#[test]
fn a_refused_token_is_told_to_replace_it_and_is_never_shown() {
    let fake = FakeKfp::start();
    fake.require_bearer("the-right-token");
    let out = kfpx()
        .env("KF_PIPELINES_TOKEN", "wrong-s3cret")
        .args(["list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let url = fake.url();
    let url = url.trim_end_matches('/');
    let refused = format!(
        "error: KFP at {url}/ refused the credentials (HTTP 401: Unauthenticated: Request header \
         error: there is no user identity header.: Authentication failure: no valid credentials)\n"
    );
    let hint = "a bearer token in KF_PIPELINES_TOKEN, a service-account token file in \
                KF_PIPELINES_SA_TOKEN_PATH, DEX_USERNAME/DEX_PASSWORD for a Dex login, \
                IAP_CLIENT_ID for Google IAP, or a session cookie in KF_PIPELINES_COOKIE";
    assert_eq!(
        err,
        format!(
            "{refused}  cause: tried: bearer token from KF_PIPELINES_TOKEN\n  help: the server \
             refused what bearer token from KF_PIPELINES_TOKEN gave: replace it with a valid, \
             unexpired one, or use another way: {hint}\n"
        )
    );
    assert!(!err.contains("wrong-s3cret"), "{err}");
    // With no credentials at all, the help is to provide some.
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        format!(
            "{refused}  cause: tried: no credentials (none of KF_PIPELINES_TOKEN, \
             KF_PIPELINES_SA_TOKEN_PATH, IAP_CLIENT_ID, DEX_USERNAME/DEX_PASSWORD, \
             KF_PIPELINES_COOKIE is set)\n  help: provide credentials: {hint}\n"
        )
    );
}

#[test]
fn server_options_before_the_subcommand_work_as_the_readme_shows() {
    let fake = FakeKfp::start();
    let (_tmp, root) = example_copy(|t| t);
    let mut cmd = kfpx();
    cmd.args(["--host", &fake.url()])
        .arg("-C")
        .arg(&root)
        .arg("--snapshot")
        .arg(root.join("kfpx-snapshot.json"))
        .args(["run-once", "-o", "json"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fake.runs().len(), 1);
    // A command without server options still refuses them, wherever they are written.
    let out = in_project(&root)
        .args(["--host", &fake.url(), "compile", "-f", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--host"), "{}", stderr(&out));
}

/// Issue 17 item 1: the schedule's start/end times are parsed once, when read: a bad one in the
/// config is refused at its file:line:column, a bad flag by its name, a flag that ends the
/// schedule before the config starts it as a usage error; each before any request.
#[test]
fn a_bad_schedule_time_is_refused_at_its_place_before_any_request() {
    let fake = FakeKfp::start();
    let (_tmp, root) = example_copy(|t| {
        t.replace(
            "    start_time: \"2026-01-01T00:00:00Z\"",
            "    start_time: tomorrow",
        )
    });
    let file = root.join("conf/base/kubeflow.yaml");
    let line = line_of(&file, "    start_time: tomorrow");
    let schedule = ["schedule", "-c", "0 0 2 * * *", "--host", &fake.url()];
    let out = in_project(&root).args(schedule).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}:{line}:17: run_config.schedule.start_time: `tomorrow` is not an RFC 3339 \
             time; write e.g. 2026-01-31T06:00:00Z\n",
            // shown relative to the current directory (kfpx() runs in the temp folder)
            file.strip_prefix(std::env::temp_dir()).unwrap().display()
        )
    );
    assert_eq!(stdout(&out), "");

    let example = example_dir();
    let out = in_project(&example)
        .args(schedule)
        .args(["--start-time", "tomorrow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).lines().next().unwrap(),
        "error: invalid value 'tomorrow' for '--start-time <TIME>': `tomorrow` is not an RFC 3339 \
         time; write e.g. 2026-01-31T06:00:00Z"
    );

    // conf-example starts the schedule at 2026-01-01T00:00:00Z.
    let out = in_project(&example)
        .args(schedule)
        .args(["--end-time", "2026-01-01T00:30:00+01:00"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: the schedule ends (2025-12-31T23:30:00Z) before it starts (2026-01-01T00:00:00Z)\n"
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

// ---- item 7: warnings located, silenceable, not repeated -----------------------------------

#[test]
fn sample_per_node_keys_are_located_and_not_repeated_on_every_command() {
    let fake = FakeKfp::start();
    let with_sample = |t: String| {
        t.replace(
            "    training: {cpu: 1}",
            "    training: {cpu: 1}\n    node_a: {cpu: 1}",
        )
    };
    let (_tmp, root) = example_copy(with_sample);
    let cfg = root.join("conf/base/kubeflow.yaml");
    let line = line_of(&cfg, "    node_a:");
    let out_dir = tempfile::tempdir().unwrap();
    let out = in_project(&root)
        .current_dir(out_dir.path())
        .arg("compile")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    let warning = err
        .lines()
        .find(|l| l.contains("node_a"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(warning.starts_with("warning: "), "{warning}");
    assert!(
        warning.contains(&format!(
            "conf/base/kubeflow.yaml:{line}:5: run_config.resources.node_a matches no node"
        )),
        "{warning}"
    );
    assert!(
        warning.contains("to silence this, delete the `node_a` entry"),
        "{warning}"
    );
    // Already shown: upload does not repeat it.
    let upload = || {
        in_project(&root)
            .args(["upload-pipeline", "--host", &fake.url()])
            .output()
            .unwrap()
    };
    let out = upload();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("node_a"), "{}", stderr(&out));
    // A config change that changes the warnings shows them again, once.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("    node_a:", "    node_b:")).unwrap();
    let out = upload();
    assert!(stderr(&out).contains("node_b"), "{}", stderr(&out));
    let out = upload();
    assert!(!stderr(&out).contains("node_b"), "{}", stderr(&out));
    // compile always shows them.
    let out = in_project(&root)
        .current_dir(out_dir.path())
        .arg("compile")
        .output()
        .unwrap();
    assert!(stderr(&out).contains("node_b"));
}

// ---- item 8: tables that fit ----------------------------------------------------------------

fn seeded() -> FakeKfp {
    let fake = FakeKfp::start();
    for (p, e) in [
        ("data_processing", "production"),
        ("data_science", "production"),
        ("reporting", "staging"),
        ("__default__", "local"),
        ("feature_engineering_and_model_selection", "production"),
        ("data_science", "local"),
    ] {
        fake.seed_pipeline(&format!("[spaceflights-forecasting] {p} (env: {e})"), "");
    }
    fake
}

#[test]
fn list_pipelines_fits_80_columns_with_ages_and_wide_shows_ids() {
    let fake = seeded();
    let out = kfpx()
        .env("COLUMNS", "80")
        .args(["list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for line in table.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= 80,
            "wider than 80:\n{table}"
        );
    }
    assert!(table.contains('…'), "{table}");
    assert!(table.lines().next().unwrap().contains("Created"), "{table}");
    // Ages for people ("2h ago", or the date past a month), not full timestamps.
    let is_age = |l: &str| {
        let last = l.rsplit("  ").next().unwrap().trim();
        last.ends_with(" ago")
            || last == "just now"
            || (last.len() == 10 && chrono::NaiveDate::parse_from_str(last, "%Y-%m-%d").is_ok())
    };
    assert!(table.lines().skip(2).all(is_age), "{table}");
    let id = fake.pipelines()[0]["pipeline_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!table.contains(&id), "ids only in -o wide:\n{table}");

    let out = kfpx()
        .env("COLUMNS", "200")
        .args(["list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('…'), "{}", stdout(&out));

    let out = kfpx()
        .env("COLUMNS", "80")
        .args(["list-pipelines", "--host", &fake.url(), "-o", "wide"])
        .output()
        .unwrap();
    let wide = stdout(&out);
    assert!(wide.contains(&id), "{wide}");
    assert!(wide.contains("[spaceflights-forecasting] feature_engineering_and_model_selection"));
}

// ---- item 9: help that teaches ----------------------------------------------------------------

#[test]
fn every_command_has_examples_and_shows_global_options_only_at_the_top() {
    let cli = kfpx::cli::command();
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = sub.get_name();
        let out = kfpx().args([name, "--help"]).output().unwrap();
        assert!(out.status.success());
        let help = stdout(&out);
        let examples: Vec<&str> = help
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("`{name} --help` has no examples:\n{help}"))
            .lines()
            .take_while(|l| !l.is_empty())
            .collect();
        assert!((2..=4).contains(&examples.len()), "{name}: {examples:?}");
        for e in &examples {
            assert!(e.contains("kfpx "), "{name}: {e}");
            // Each example parses (shell redirections and pipes aside).
            let words: Vec<&str> = e
                .split('#')
                .next()
                .unwrap()
                .split(['>', '|'])
                .next()
                .unwrap()
                .split_whitespace()
                .skip_while(|w| *w != "kfpx")
                .skip(1)
                .collect();
            let words: Vec<String> = words
                .iter()
                .map(|w| w.trim_matches('\'').to_string())
                .collect();
            let joined = words.join(" ");
            // `-c '0 0 4 * * *'` was split by whitespace: rejoin quoted cron expressions.
            let args: Vec<String> = if let Some(start) = joined.find("-c ") {
                let rest = &joined[start + 3..];
                let cron: String = rest
                    .split_whitespace()
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(" ");
                let after: Vec<String> =
                    rest.split_whitespace().skip(6).map(String::from).collect();
                let mut v: Vec<String> = joined[..start]
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                v.push("-c".into());
                v.push(cron);
                v.extend(after);
                v
            } else {
                words
            };
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            parse(&refs).unwrap_or_else(|err| panic!("{name}: example `{e}` fails:\n{err}"));
        }
        assert!(
            !help.contains("--python <PATH>"),
            "`{name} --help` repeats the global options"
        );
        assert!(help.contains("see `kfpx --help`"), "{name}");
        assert!(help.contains("Docs: https://"), "{name}");
    }
    let top = stdout(&kfpx().arg("--help").output().unwrap());
    assert_eq!(top.matches("--python <PATH>").count(), 1, "{top}");
    assert!(top.contains("Docs: https://"), "{top}");
    assert!(!top.contains("Docs: README.md"), "{top}");
}

/// Commands with their own subcommands (`kfpx runs list`, `kfpx schedules disable`): the same
/// help as every other command, global options only at the top.
#[test]
fn nested_commands_show_global_options_only_at_the_top() {
    let cli = kfpx::cli::command();
    let mut seen = 0;
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        for nested in sub.get_subcommands().filter(|s| s.get_name() != "help") {
            let (a, b) = (sub.get_name(), nested.get_name());
            let out = kfpx().args([a, b, "--help"]).output().unwrap();
            assert!(out.status.success(), "{a} {b}");
            let help = stdout(&out);
            for global in ["--python <PATH>", "--probe-mode <MODE>", "--refresh\n"] {
                assert!(
                    !help.contains(global),
                    "`{a} {b} --help` repeats {global}:\n{help}"
                );
            }
            assert!(help.contains("see `kfpx --help`"), "{a} {b}");
            seen += 1;
        }
    }
    assert!(seen >= 8, "only {seen} nested commands");
}

// ---- item 11: waiting ----------------------------------------------------------------------

#[test]
fn no_wait_overrides_the_config_and_a_lone_timeout_warns() {
    let fake = FakeKfp::start();
    fake.set_run_plan(&["RUNNING"]);
    let (_tmp, root) =
        example_copy(|t| t.replace("wait_for_completion: false", "wait_for_completion: true"));
    let out = in_project(&root)
        .args(["run-once", "--host", &fake.url(), "--no-wait"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fake.runs().len(), 1);
    assert!(
        fake.requests_to("GET", "/apis/v2beta1/runs/").is_empty(),
        "did not wait"
    );

    let (_tmp2, root2) = example_copy(|t| t);
    let out = in_project(&root2)
        .args(["run-once", "--host", &fake.url(), "--timeout", "60"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stderr(&out).contains(
            "warning: --timeout 60 has no effect without waiting: add --wait-for-completion"
        ),
        "{}",
        stderr(&out)
    );
    let out = in_project(&root2)
        .args([
            "run-once",
            "--host",
            &fake.url(),
            "--no-wait",
            "--wait-for-completion",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
