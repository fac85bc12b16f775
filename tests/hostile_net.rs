//! Issue 11, the server / network / secrets half: kfpx as a hostile user and a broken server
//! would drive it, through the binary and the fake KFP server. Each test asserts what the user
//! sees: the exit code, one `error:` line, no secret anywhere, exactly the requests expected.

mod support;

use std::process::Output;

use assert_cmd::Command;
use support::fake_kfp::FakeKfp;

const SECRET: &str = "S3CRET-pw";
const TOKEN: &str = "tok-0123456789-secret";

fn kfpx() -> Command {
    let mut cmd = support::cmd::kfpx();
    cmd.current_dir(std::env::temp_dir());
    cmd
}

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf-example")
}

/// A copy of the example project whose config `host` is `host`.
fn project_with_host(host: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = example_dir();
    for rel in [
        "pyproject.toml",
        "kfpx-snapshot.json",
        "conf/base/kubeflow.yaml",
        "conf/production/kubeflow.yaml",
    ] {
        let to = tmp.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), &to).unwrap();
    }
    let cfg = tmp.path().join("conf/base/kubeflow.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let replaced: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("host:") {
                format!("host: {host}")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&cfg, replaced.join("\n") + "\n").unwrap();
    tmp
}

/// `kfpx -C <example> --snapshot …` with a fixed commit id.
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

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit `code`, no secret on either stream, no panic; returns stderr.
#[track_caller]
fn assert_exit_without(out: &Output, code: i32, secrets: &[&str]) -> String {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for s in secrets {
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "secret {s:?} shown:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    stderr
}

/// The one `error:` line of stderr (other lines may only be warnings/info).
#[track_caller]
fn error_line(stderr: &str) -> String {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0].to_string()
}

// ----- 1. secrets ----------------------------------------------------------------------------

#[test]
fn a_password_in_the_host_is_never_shown_by_any_command() {
    let fake = FakeKfp::start();
    let port = fake.url().rsplit(':').next().unwrap().to_string();
    let good = format!("http://alice:{SECRET}@127.0.0.1:{port}");
    // Port 1 (tcpmux) refuses: a port freed by a closed listener could be taken by another
    // test's fake server in the meantime.
    let refused = format!("http://alice:{SECRET}@127.0.0.1:1/pipeline");
    let hosts = [
        (format!("https://alice:{SECRET}@h:99999/pipeline"), 1),
        (format!("ftp://alice:{SECRET}@h/"), 1),
        (format!("alice:{SECRET}@127.0.0.1:1/pipeline"), 1),
        (refused.clone(), 1),
        (good.clone(), 0),
    ];
    for (host, code) in &hosts {
        // The flag, the environment variable, with and without -v / -vv.
        for verbose in [None, Some("-v"), Some("-vv")] {
            let mut cmd = kfpx();
            cmd.args(verbose).args(["list-pipelines", "--host", host]);
            let out = cmd.output().unwrap();
            let stderr = assert_exit_without(&out, *code, &[SECRET]);
            if *code == 1 {
                assert!(error_line(&stderr).contains(":***@"), "{stderr}");
            }
            let out = kfpx()
                .args(verbose)
                .env("KF_PIPELINES_ENDPOINT", host)
                .arg("list-pipelines")
                .output()
                .unwrap();
            assert_exit_without(&out, *code, &[SECRET]);
        }
    }
    // The no-scheme warning shows the host redacted too, both times.
    let out = kfpx()
        .args(["list-pipelines", "--host"])
        .arg(format!("alice:{SECRET}@127.0.0.1:1/pipeline"))
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[SECRET]);
    assert!(
        stderr.contains("has no scheme; using https://alice:***@127.0.0.1:1/pipeline"),
        "{stderr}"
    );
}

#[test]
fn a_password_in_the_config_host_is_never_shown() {
    for host in [
        format!("https://alice:{SECRET}@kubeflow.example.com/pipeline"),
        format!("https://alice:{SECRET}@kubeflow.example.com:99999/pipeline"),
        format!("ftp://alice:{SECRET}@kubeflow.example.com/"),
    ] {
        let valid = host.starts_with("https://") && !host.contains("99999");
        let project = project_with_host(&host);
        let run = |args: &[&str], extra_env: Option<(&str, &str)>| {
            let mut cmd = kfpx();
            cmd.arg("-C").arg(project.path()).args(args);
            if let Some((k, v)) = extra_env {
                cmd.env(k, v);
            }
            cmd.output().unwrap()
        };
        let code = if valid { 0 } else { 1 };
        for args in [
            &["config"][..],
            &["config", "-o", "json"],
            &["-v", "config"],
            &["config", "--check"],
            &["ui", "--print"],
            &["ui"],
        ] {
            let out = run(args, None);
            let stderr = assert_exit_without(&out, code, &[SECRET]);
            if !valid {
                let line = error_line(&stderr);
                assert!(line.contains("conf/base/kubeflow.yaml:"), "{line}");
                assert!(line.contains(":***@"), "{line}");
            }
        }
        if valid {
            let out = run(&["ui", "--print"], None);
            assert_eq!(text(&out).0, "https://kubeflow.example.com/pipeline\n");
            let out = run(&["config"], None);
            assert!(
                text(&out)
                    .0
                    .contains("host: https://alice:***@kubeflow.example.com/pipeline"),
                "{}",
                text(&out).0
            );
        }
    }
    // The UI variable, valid or not.
    let project = project_with_host("https://kubeflow.example.com/pipeline");
    for (ui, code) in [
        (format!("https://bob:{SECRET}@ui.example.com/"), 0),
        (format!("bob:{SECRET}@ui.example.com"), 1),
    ] {
        let out = kfpx()
            .arg("-C")
            .arg(project.path())
            .args(["ui", "--print"])
            .env("KF_PIPELINES_UI_ENDPOINT", &ui)
            .output()
            .unwrap();
        assert_exit_without(&out, code, &[SECRET]);
    }
}

#[test]
fn a_server_echoing_the_token_or_cookie_is_shown_without_it() {
    for (var, value, status) in [
        ("KF_PIPELINES_TOKEN", TOKEN, 401),
        ("KF_PIPELINES_TOKEN", TOKEN, 403),
        ("KF_PIPELINES_TOKEN", TOKEN, 400),
        ("KF_PIPELINES_TOKEN", TOKEN, 500),
        (
            "KF_PIPELINES_COOKIE",
            "authservice_session=c00kie-value-123",
            401,
        ),
    ] {
        for verbose in [None, Some("-vv")] {
            let fake = FakeKfp::start();
            // 500 is retried: echo on every try.
            fake.echo_credentials_next("GET", "/apis/v2beta1/pipelines", status, 10);
            let out = kfpx()
                .args(verbose)
                .env(var, value)
                .args(["list-pipelines", "--host", &fake.url()])
                .output()
                .unwrap();
            let secret = value.rsplit('=').next().unwrap();
            let stderr = assert_exit_without(&out, 1, &[secret]);
            let line = error_line(&stderr);
            assert!(line.contains("***"), "{status}: {line}");
            // The credential was really sent (and echoed): the test can fail.
            let sent = fake.requests_to("GET", "/apis/v2beta1/pipelines");
            assert!(!sent.is_empty());
        }
    }
}

// ----- 2. pages and stalls -----------------------------------------------------------------

#[test]
fn a_server_that_always_sends_a_fresh_page_token_is_not_paged_forever() {
    let fake = FakeKfp::start();
    fake.fresh_page_tokens("/apis/v2beta1/pipelines", "pipelines", 5000);
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[]);
    assert_eq!(
        error_line(&stderr),
        "error: KFP kept sending more pages while listing pipelines: kfpx reads at most 1000 \
         pages (200000 items) and stopped there"
    );
    assert_eq!(text(&out).0, "");
    assert_eq!(
        fake.requests_to("GET", "/apis/v2beta1/pipelines").len(),
        1000
    );
}

#[test]
fn a_repeated_page_token_is_an_error_not_a_partial_list() {
    let fake = FakeKfp::start();
    fake.fail_next_with(
        "GET",
        "/apis/v2beta1/pipelines",
        200,
        "application/json",
        r#"{"pipelines":[{"pipeline_id":"p1","display_name":"one"}],"next_page_token":"again"}"#,
        5,
    );
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[]);
    let line = error_line(&stderr);
    assert!(
        line.starts_with("error: KFP sent the same page token twice while listing pipelines"),
        "{line}"
    );
    assert_eq!(text(&out).0, "");
    assert_eq!(fake.requests_to("GET", "/apis/v2beta1/pipelines").len(), 2);
}

#[test]
fn a_stalled_server_is_given_up_on_within_the_stated_bound() {
    let fake = FakeKfp::start();
    fake.delay_next(
        "GET",
        "/apis/v2beta1/healthz",
        std::time::Duration::from_secs(3),
        10,
    );
    let out = kfpx()
        .args([
            "list-pipelines",
            "--request-timeout",
            "1",
            "--host",
            &fake.url(),
        ])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[]);
    let line = error_line(&stderr);
    assert!(
        line.contains("did not answer the health check within 1 s (4 tries in")
            && line.contains("kfpx gives one call at most 60 s")
            && line.contains("raise --request-timeout"),
        "{line}"
    );
    assert_eq!(fake.requests_to("GET", "/apis/v2beta1/healthz").len(), 4);
}

#[test]
fn request_timeouts_out_of_range_are_refused_before_any_request() {
    let fake = FakeKfp::start();
    for t in ["0", "3601", "18446744073709551615"] {
        let out = kfpx()
            .args([
                "list-pipelines",
                "--request-timeout",
                t,
                "--host",
                &fake.url(),
            ])
            .output()
            .unwrap();
        let stderr = assert_exit_without(&out, 1, &[]);
        assert_eq!(
            error_line(&stderr),
            "error: --request-timeout must be between 1 and 3600 seconds"
        );
    }
    assert!(fake.requests().is_empty());
}

// ----- 10. Retry-After --------------------------------------------------------------------

#[test]
fn retry_after_is_honoured_within_its_bound() {
    let fake = FakeKfp::start();
    fake.seed_pipeline("x", "");
    fake.answer_next_with_headers(
        "GET",
        "/apis/v2beta1/pipelines",
        503,
        &[("retry-after", "2")],
        r#"{"code":14,"message":"busy"}"#,
        1,
    );
    let out = kfpx()
        .args(["-v", "list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 0, &[]);
    // The wait logged is the server's 2 s (backoff alone would be 200–300 ms).
    let waited: u64 = stderr
        .lines()
        .find_map(|l| {
            l.split("retrying in ")
                .nth(1)
                .and_then(|r| r.strip_suffix(" ms"))
                .and_then(|ms| ms.parse().ok())
        })
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(waited >= 2000, "{stderr}");
    assert_eq!(fake.requests_to("GET", "/apis/v2beta1/pipelines").len(), 2);

    // Longer than kfpx waits: one request, and the message says why it stopped.
    fake.answer_next_with_headers(
        "GET",
        "/apis/v2beta1/pipelines",
        429,
        &[("retry-after", "3600")],
        r#"{"code":8,"message":"slow down"}"#,
        1,
    );
    let before = fake.requests_to("GET", "/apis/v2beta1/pipelines").len();
    let out = kfpx()
        .args(["list-pipelines", "--host", &fake.url()])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[]);
    assert_eq!(
        error_line(&stderr),
        "error: KFP rejected listing pipelines: slow down; the server asked to retry after \
         3600 s; kfpx waits at most 30 s (HTTP 429)"
    );
    assert_eq!(
        fake.requests_to("GET", "/apis/v2beta1/pipelines").len(),
        before + 1
    );
}

// ----- 6. answers of the wrong shape -------------------------------------------------------

#[test]
fn answers_of_the_wrong_shape_are_errors_naming_the_endpoint() {
    for (path, body, needle) in [
        (
            "/apis/v2beta1/healthz",
            "[1,2,3]",
            "answered GET /healthz with a JSON array",
        ),
        (
            "/apis/v2beta1/pipelines",
            "[1,2,3]",
            "answered GET /pipelines with a JSON array",
        ),
        (
            "/apis/v2beta1/pipelines",
            "\"ok\"",
            "answered GET /pipelines with a JSON string",
        ),
        (
            "/apis/v2beta1/pipelines",
            r#"{"pipelines": 5}"#,
            "answered GET /pipelines (listing pipelines) with `pipelines` = 5, not a list",
        ),
        (
            "/apis/v2beta1/pipelines",
            r#"{"pipelines": [1, 2]}"#,
            "answered GET /pipelines (listing pipelines) with `pipelines` holding 1",
        ),
        (
            "/apis/v2beta1/pipelines",
            r#"{"pipelines": [], "next_page_token": 7}"#,
            "`next_page_token` = 7, not a string",
        ),
    ] {
        let fake = FakeKfp::start();
        fake.fail_next_with("GET", path, 200, "application/json", body, 10);
        let out = kfpx()
            .args(["list-pipelines", "--host", &fake.url()])
            .output()
            .unwrap();
        let stderr = assert_exit_without(&out, 1, &[]);
        assert!(error_line(&stderr).contains(needle), "{body}: {stderr}");
        assert_eq!(text(&out).0, "", "{body}: nothing printed as a result");
        // Not retried: a wrong answer is not a transient one.
        assert_eq!(fake.requests_to("GET", path).len(), 1, "{body}");
    }
}

#[test]
fn run_once_stops_at_a_wrong_shaped_answer_from_any_endpoint() {
    for (method, path) in [
        ("GET", "/apis/v2beta1/experiments"),
        ("POST", "/apis/v2beta1/experiments"),
        ("POST", "/apis/v2beta1/runs"),
    ] {
        let fake = FakeKfp::start();
        fake.fail_next_with(method, path, 200, "application/json", "[1,2,3]", 10);
        let out = kfpx_example()
            .args(["run-once", "--host", &fake.url()])
            .output()
            .unwrap();
        let stderr = assert_exit_without(&out, 1, &[]);
        let line = error_line(&stderr);
        let endpoint = path.trim_start_matches("/apis/v2beta1");
        assert!(
            line.contains(&format!("answered {method} {endpoint} with a JSON array")),
            "{method} {path}: {line}"
        );
        assert!(fake.requests_to("POST", "/apis/v2beta1/runs").len() <= 1);
    }
}

// ----- 3. panics ---------------------------------------------------------------------------

#[test]
fn huge_numbers_are_refused_before_any_request() {
    let fake = FakeKfp::start();
    let out = kfpx_example()
        .args([
            "schedule",
            "--host",
            &fake.url(),
            "-c",
            "@every 1000000000h",
        ])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 2, &[]);
    assert!(
        error_line(&stderr).contains("at most 2562047h, Go's limit"),
        "{stderr}"
    );
    for t in [
        "9223372036854775807",
        "18446744073709551615",
        "2592001",
        "0",
    ] {
        let out = kfpx_example()
            .args(["run-once", "--host", &fake.url(), "--wait-for-completion"])
            .args(["--timeout", t])
            .output()
            .unwrap();
        let stderr = assert_exit_without(&out, 2, &[]);
        assert_eq!(
            error_line(&stderr),
            "error: --timeout must be between 1 and 2592000 seconds (720h00m00s)",
            "{t}"
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // The longest Go duration is accepted and its next runs computed without overflow.
    let out = kfpx_example()
        .args(["schedule", "--host", &fake.url(), "-c", "@every 2562047h"])
        .output()
        .unwrap();
    assert_exit_without(&out, 0, &[]);
    assert_eq!(fake.recurring_runs().len(), 1);
}

// ----- 4. waiting ------------------------------------------------------------------------

#[test]
fn waiting_rides_out_a_blip_of_server_errors() {
    let fake = FakeKfp::start();
    // 6 failures = more than one poll's worth of retries (4 tries each).
    fake.fail_next("GET", "/apis/v2beta1/runs/", 500, 6);
    let out = kfpx_example()
        .args(["run-once", "--host", &fake.url(), "--wait-for-completion"])
        .args(["--timeout", "60"])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 0, &[]);
    assert!(stderr.contains("SUCCEEDED"), "{stderr}");
    assert_eq!(fake.requests_to("POST", "/apis/v2beta1/runs").len(), 1);
}

#[test]
fn an_error_while_waiting_names_the_run_and_its_link() {
    let fake = FakeKfp::start();
    fake.fail_next("GET", "/apis/v2beta1/runs/", 404, 1);
    let out = kfpx_example()
        .args(["run-once", "--host", &fake.url(), "--wait-for-completion"])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[]);
    let run_id = fake.runs()[0]["run_id"].as_str().unwrap().to_string();
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("error: stopped waiting for run ")
            && last.contains("the run keeps running on the server: follow it at ")
            && last.ends_with(&format!("/#/runs/details/{run_id}")),
        "{stderr}"
    );
    assert_eq!(fake.requests_to("GET", "/apis/v2beta1/runs/").len(), 1);
}

// ----- the retry loop, in process, without sleeping ---------------------------------------

#[test]
fn the_retry_policy_is_injectable_so_tests_do_not_sleep() {
    use kfpx::kfp::client::{Call, Client, ClientOptions, RetryPolicy};
    let fake = FakeKfp::start();
    fake.fail_next("GET", "/apis/v2beta1/pipelines", 503, 3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let (first, second) = rt.block_on(async {
        let options = ClientOptions {
            endpoint: url::Url::parse(&fake.url()).unwrap(),
            version: kfpx::config::KfpVersion::V2,
            request_timeout: std::time::Duration::from_secs(5),
            insecure_skip_tls_verify: false,
            ca_bundle: None,
        };
        let c = Client::connect_with(
            options,
            &kfpx::kfp::auth::AuthEnv::default(),
            RetryPolicy::immediate(),
        )
        .await
        .unwrap();
        let first = c.call(Call::get("/pipelines", "listing pipelines")).await;
        fake.fail_next("GET", "/apis/v2beta1/pipelines", 503, 4);
        let second = c.call(Call::get("/pipelines", "listing pipelines")).await;
        (first, second)
    });
    assert!(first.is_ok(), "{first:?}");
    let err = second.unwrap_err();
    assert_eq!(err.status(), Some(503));
    // 3 failures + 1 success, then 4 failures (max_tries).
    assert_eq!(fake.requests_to("GET", "/apis/v2beta1/pipelines").len(), 8);
    // No backoff slept (the default policy would have slept over 2.8 s in all).
    eprintln!("8 calls with the immediate policy: {:?}", started.elapsed());
}

#[test]
fn an_object_without_the_fields_kfp_sends_names_the_endpoint() {
    let fake = FakeKfp::start();
    fake.fail_next_with(
        "POST",
        "/apis/v2beta1/runs",
        200,
        "application/json",
        "{}",
        1,
    );
    let out = kfpx_example()
        .args(["run-once", "--host", &fake.url()])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[]);
    assert!(
        error_line(&stderr)
            .starts_with("error: POST /runs: KFP's answer about a run has no `run_id`"),
        "{stderr}"
    );
    assert_eq!(fake.requests_to("POST", "/apis/v2beta1/runs").len(), 1);

    // While waiting: the error names the endpoint, then the run and its link.
    let fake = FakeKfp::start();
    fake.fail_next_with(
        "GET",
        "/apis/v2beta1/runs/",
        200,
        "application/json",
        "{}",
        1,
    );
    let out = kfpx_example()
        .args(["run-once", "--host", &fake.url(), "--wait-for-completion"])
        .output()
        .unwrap();
    let stderr = assert_exit_without(&out, 1, &[]);
    let line = error_line(&stderr);
    let run_id = fake.runs()[0]["run_id"].as_str().unwrap().to_string();
    assert!(
        line.contains(&format!(
            "GET /runs/{run_id}: KFP's answer about a run has no `run_id`"
        )) && line.ends_with(&format!("/#/runs/details/{run_id}")),
        "{line}"
    );
}

#[test]
fn server_commands_never_show_the_host_password_or_the_token() {
    let fake = FakeKfp::start();
    let port = fake.url().rsplit(':').next().unwrap().to_string();
    let host = format!("http://alice:{SECRET}@127.0.0.1:{port}");
    for args in [
        &["upload-pipeline"][..],
        &["run-once"],
        &["run-once", "--wait-for-completion", "--output", "json"],
        &["schedule", "-c", "0 0 4 * * *"],
        &["list-pipelines", "--output", "yaml"],
    ] {
        for verbose in [None, Some("-vvv")] {
            let out = kfpx_example()
                .args(verbose)
                .env("KF_PIPELINES_TOKEN", TOKEN)
                .args(args)
                .args(["--host", &host])
                .output()
                .unwrap();
            let stderr = assert_exit_without(&out, 0, &[SECRET, TOKEN]);
            if verbose.is_some() {
                assert!(stderr.contains(":***@127.0.0.1"), "{args:?}: {stderr}");
            }
        }
    }
    // The credentials were sent: the password as basic auth, the token as a bearer.
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_some()));
}
