//! Auth providers driven through the library (`Auth::discover`, `apply`, `refresh`) against
//! the fakes in `tests/support/fake_auth.rs`: which headers and cookies are sent, that the
//! cookies really open the protected API, renewal after a 401, and that no secret leaks into
//! messages, Debug output or logs.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use kfpx::kfp::auth::{Auth, AuthEnv};
use kfpx::kfp::KfpError;
use support::fake_auth::{DexFlow, DexOptions, FakeDex, FakeIap};
use support::fake_kfp::FakeKfp;

const IAP_CLIENT: &str = "123-abc.apps.googleusercontent.com";

fn env(vars: &[(&str, &str)]) -> AuthEnv {
    logs(); // capture every test's logs, to check them for secrets
    AuthEnv {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..AuthEnv::default()
    }
}

fn dex_env(password: &str) -> AuthEnv {
    env(&[("DEX_USERNAME", FakeDex::USER), ("DEX_PASSWORD", password)])
}

async fn discover(base: &str, env: &AuthEnv) -> Result<Auth, KfpError> {
    let base = url::Url::parse(base).unwrap();
    Auth::discover(&base, &reqwest::Client::new(), env).await
}

/// A client like an API client's for the checks: no redirects, so a login redirect shows.
fn api_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The headers `auth` adds to a request.
fn sent(auth: &Auth) -> reqwest::header::HeaderMap {
    auth.apply(reqwest::Client::new().get("http://127.0.0.1:9/"))
        .build()
        .unwrap()
        .headers()
        .clone()
}

fn cookie_names(auth: &Auth) -> Vec<String> {
    let mut names: Vec<String> = sent(auth)["cookie"]
        .to_str()
        .unwrap()
        .split("; ")
        .map(|p| p.split_once('=').unwrap().0.to_string())
        .collect();
    names.sort();
    names
}

/// GET the protected healthz with the credentials: (status, body).
async fn healthz(auth: &Auth, url: &str) -> (u16, String) {
    let resp = auth.apply(api_client().get(url)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// Everything a user or a log could see of `auth`.
fn visible(auth: &Auth) -> String {
    format!(
        "{auth:?}\n{}\n{}\n{}",
        auth.describe(),
        auth.tried().join("\n"),
        rejected(auth)
    )
}

// ───────────────────────────────────────── Dex ─────────────────────────────────────────

#[tokio::test]
async fn dex_with_oidc_authservice_sets_a_session_cookie_that_opens_the_api() {
    let dex = FakeDex::start(DexFlow::AuthService);
    let (status, _) = healthz(&Auth::default(), &dex.healthz_url()).await;
    assert_eq!(
        status, 302,
        "without a session the gateway redirects to the login"
    );

    let auth = discover(&dex.pipeline_url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap();
    assert_eq!(cookie_names(&auth), ["authservice_session"]);
    assert!(sent(&auth).get("authorization").is_none());
    let (status, body) = healthz(&auth, &dex.healthz_url()).await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["tag_name"], "2.5.0");

    assert_eq!(dex.logins(), 1);
    let posts = dex.login_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["login"], FakeDex::USER);
    assert_eq!(posts[0]["password"], FakeDex::PASSWORD);
    assert!(auth
        .describe()
        .starts_with("Dex login as user@example.com (connector local)"));
    assert!(auth
        .describe()
        .ends_with("session cookie authservice_session"));
}

#[tokio::test]
async fn dex_with_oauth2_proxy_picks_the_connector_approves_and_keeps_only_session_cookies() {
    let dex = FakeDex::start(DexFlow::OAuth2Proxy);
    let auth = discover(&dex.pipeline_url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap();
    // The CSRF cookie oauth2-proxy set during the flow is not an API credential.
    assert_eq!(cookie_names(&auth), ["oauth2_proxy_kubeflow"]);
    assert_eq!(healthz(&auth, &dex.healthz_url()).await.0, 200);

    let requests: Vec<String> = dex
        .requests()
        .into_iter()
        .map(|(m, p)| format!("{m} {}", p.split('?').next().unwrap()))
        .collect();
    for step in [
        "GET /pipeline",
        "GET /oauth2/start",
        "GET /dex/auth",
        "GET /dex/auth/local",
        "GET /dex/auth/local/login",
        "POST /dex/auth/local/login",
        "GET /dex/approval",
        "POST /dex/approval",
        "GET /oauth2/callback",
    ] {
        assert!(
            requests.iter().any(|r| r == step),
            "{step} missing from {requests:?}"
        );
    }
    assert!(!requests.iter().any(|r| r.contains("ldap")));
}

#[tokio::test]
async fn dex_split_oauth2_proxy_cookies_are_all_sent() {
    let dex = FakeDex::start_with(
        DexFlow::OAuth2Proxy,
        DexOptions {
            split_cookie: true,
            approval: false,
            ..DexOptions::for_flow(DexFlow::OAuth2Proxy)
        },
    );
    let auth = discover(&dex.pipeline_url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap();
    assert_eq!(
        cookie_names(&auth),
        ["oauth2_proxy_kubeflow_0", "oauth2_proxy_kubeflow_1"]
    );
    assert_eq!(healthz(&auth, &dex.healthz_url()).await.0, 200);
}

#[tokio::test]
async fn dex_with_oauth2_proxys_default_cookie_name() {
    let dex = FakeDex::start_with(
        DexFlow::OAuth2Proxy,
        DexOptions {
            cookie_name: "_oauth2_proxy".into(),
            ..DexOptions::for_flow(DexFlow::OAuth2Proxy)
        },
    );
    let auth = discover(&dex.pipeline_url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap();
    assert_eq!(cookie_names(&auth), ["_oauth2_proxy"]);
    assert_eq!(healthz(&auth, &dex.healthz_url()).await.0, 200);
}

#[tokio::test]
async fn dex_gateway_with_an_unknown_session_cookie_is_explained() {
    let dex = FakeDex::start_with(
        DexFlow::OAuth2Proxy,
        DexOptions {
            cookie_name: "corp_gateway_session".into(),
            ..DexOptions::for_flow(DexFlow::OAuth2Proxy)
        },
    );
    let err = discover(&dex.pipeline_url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("failed: the login was accepted but no Kubeflow session cookie (authservice_session or oauth2_proxy_kubeflow) was set (ended at "),
        "{err}"
    );
    assert!(err.contains("KF_PIPELINES_COOKIE"), "{err}");
    assert_eq!(dex.logins(), 1);
}

#[tokio::test]
async fn dex_behind_the_oauth2_proxy_sign_in_button() {
    let dex = FakeDex::start_with(
        DexFlow::OAuth2Proxy,
        DexOptions {
            sign_in_page: true,
            ..DexOptions::for_flow(DexFlow::OAuth2Proxy)
        },
    );
    let auth = discover(&dex.pipeline_url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap();
    assert_eq!(healthz(&auth, &dex.healthz_url()).await.0, 200);
    assert!(dex
        .requests()
        .iter()
        .any(|(m, p)| m == "GET" && p == "/oauth2/start?rd=%2Fpipeline"));
}

#[tokio::test]
async fn dex_auth_type_ldap_uses_the_ldap_connector() {
    let dex = FakeDex::start(DexFlow::OAuth2Proxy);
    let mut e = dex_env(FakeDex::PASSWORD);
    e.vars.insert("DEX_AUTH_TYPE".into(), "ldap".into());
    let auth = discover(&dex.pipeline_url(), &e).await.unwrap();
    assert_eq!(healthz(&auth, &dex.healthz_url()).await.0, 200);
    assert!(dex
        .requests()
        .iter()
        .any(|(m, p)| m == "POST" && p.starts_with("/dex/auth/ldap/login")));
    assert!(auth.describe().contains("(connector ldap)"));
}

#[tokio::test]
async fn dex_auth_type_that_dex_does_not_offer_lists_the_offered_ones() {
    let dex = FakeDex::start(DexFlow::OAuth2Proxy);
    let mut e = dex_env(FakeDex::PASSWORD);
    e.vars.insert("DEX_AUTH_TYPE".into(), "github".into());
    let err = discover(&dex.pipeline_url(), &e)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "Dex at {} offers no 'github' connector (it offers: local, ldap); set DEX_AUTH_TYPE to one of them",
            dex.url()
        )
    );
}

#[tokio::test]
async fn dex_wrong_password_is_reported_once_without_the_password() {
    for flow in [DexFlow::AuthService, DexFlow::OAuth2Proxy] {
        let dex = FakeDex::start(flow);
        let err = discover(&dex.pipeline_url(), &dex_env("wrong-pass-XYZ"))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Dex rejected the login for user@example.com (Invalid Email Address and password.): check DEX_USERNAME and DEX_PASSWORD (and DEX_AUTH_TYPE, now local)",
            "{flow:?}"
        );
        assert!(!err.contains("wrong-pass-XYZ"));
        assert_eq!(
            dex.failed_logins(),
            1,
            "{flow:?}: one attempt, no retry loop"
        );
        assert_eq!(dex.logins(), 0);
    }
}

#[tokio::test]
async fn dex_refresh_logs_in_again_after_the_session_expired() {
    let dex = FakeDex::start(DexFlow::OAuth2Proxy);
    let mut auth = discover(&dex.pipeline_url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap();
    let first = sent(&auth)["cookie"].clone();
    dex.expire_sessions();
    assert_eq!(healthz(&auth, &dex.healthz_url()).await.0, 302);

    assert!(auth.refresh(&reqwest::Client::new()).await.unwrap());
    assert_ne!(sent(&auth)["cookie"], first, "a new session cookie");
    assert_eq!(healthz(&auth, &dex.healthz_url()).await.0, 200);
    assert_eq!(dex.logins(), 2);
    assert_eq!(auth.tried().len(), 2, "{:?}", auth.tried());
    assert!(auth.tried()[1].starts_with("renewed Dex login"));
}

#[tokio::test]
async fn dex_host_without_a_login_page_says_where_it_ended() {
    let kfp = FakeKfp::start(); // no Dex in front
    let base = format!("{}/pipeline", kfp.url());
    let err = discover(&base, &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("DEX_USERNAME is set but logging in at http://127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("no Dex login form was found (ended at http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("/pipeline with HTTP 404)"), "{err}");
}

#[tokio::test]
async fn dex_unreachable_host_is_one_clear_line() {
    let port = support::cmd::REFUSED_PORT;
    let err = discover(
        &format!("http://127.0.0.1:{port}/pipeline"),
        &dex_env(FakeDex::PASSWORD),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!(
            "cannot log in through Dex at http://127.0.0.1:{port}/pipeline: "
        )),
        "{err}"
    );
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(!err.contains('\n'));
}

// ───────────────────────────────────────── IAP ─────────────────────────────────────────

#[tokio::test]
async fn iap_with_a_service_account_key_sends_a_google_id_token_and_renews_it() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    let key = iap.write_key_file(dir.path());
    let e = env(&[
        ("IAP_CLIENT_ID", IAP_CLIENT),
        ("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap()),
    ]);
    let http = reqwest::Client::new();
    let mut auth = Auth::discover(&url::Url::parse("http://127.0.0.1:9").unwrap(), &http, &e)
        .await
        .unwrap();
    // The fake only issues a token for an assertion signed by the key, for its own token_uri.
    assert_eq!(
        sent(&auth)["authorization"],
        format!("Bearer iap-id-token.{IAP_CLIENT}.1").as_str()
    );
    assert_eq!(
        auth.describe(),
        format!(
            "Google IAP ID token for client id {IAP_CLIENT} (IAP_CLIENT_ID) from service-account key {} ({})",
            key.display(),
            FakeIap::CLIENT_EMAIL
        )
    );
    assert!(auth.refresh(&http).await.unwrap());
    assert_eq!(
        sent(&auth)["authorization"],
        format!("Bearer iap-id-token.{IAP_CLIENT}.2").as_str()
    );
    let seen = visible(&auth);
    assert!(!seen.contains("iap-id-token"), "{seen}");
    assert!(!seen.contains("PRIVATE KEY"), "{seen}");
}

#[tokio::test]
async fn iap_from_the_gce_metadata_server_with_the_kfp_sdk_variable() {
    let iap = FakeIap::start();
    let e = env(&[
        ("KF_PIPELINES_IAP_OAUTH2_CLIENT_ID", IAP_CLIENT),
        ("GCE_METADATA_HOST", &iap.metadata_host()),
    ]);
    let auth = discover("http://127.0.0.1:9", &e).await.unwrap();
    assert_eq!(
        sent(&auth)["authorization"],
        format!("Bearer metadata-id-token.{IAP_CLIENT}.1").as_str()
    );
    assert!(auth
        .describe()
        .contains("(KF_PIPELINES_IAP_OAUTH2_CLIENT_ID) from the GCE metadata server"));
}

#[tokio::test]
async fn iap_key_google_does_not_know_is_refused_in_one_line() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    let key = iap.write_unknown_key_file(dir.path());
    let e = env(&[
        ("IAP_CLIENT_ID", IAP_CLIENT),
        ("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap()),
    ]);
    let err = discover("http://127.0.0.1:9", &e)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "Google refused an IAP ID token for {} (HTTP 400): invalid_grant: Invalid JWT Signature.; check that the key in GOOGLE_APPLICATION_CREDENTIALS is current and not disabled",
            FakeIap::CLIENT_EMAIL
        )
    );
    assert_eq!(iap.rejected(), 1);
    assert!(iap.issued().is_empty());
}

#[tokio::test]
async fn iap_metadata_server_without_a_service_account() {
    let iap = FakeIap::start();
    iap.remove_metadata_service_account();
    let e = env(&[
        ("IAP_CLIENT_ID", IAP_CLIENT),
        ("GCE_METADATA_HOST", &iap.metadata_host()),
    ]);
    let err = discover("http://127.0.0.1:9", &e)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has no service account for this machine (HTTP 404)"),
        "{err}"
    );
    assert!(err.contains("set GOOGLE_APPLICATION_CREDENTIALS"), "{err}");
}

#[tokio::test]
async fn iap_off_google_cloud_explains_what_credentials_work() {
    let port = support::cmd::REFUSED_PORT;
    let e = env(&[
        ("IAP_CLIENT_ID", IAP_CLIENT),
        ("GCE_METADATA_HOST", &format!("127.0.0.1:{port}")),
    ]);
    let err = discover("http://127.0.0.1:9", &e)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("IAP_CLIENT_ID is set but no Google service account is available"),
        "{err}"
    );
    assert!(err.contains("point GOOGLE_APPLICATION_CREDENTIALS at a service-account key file"));
    assert!(err.contains("`gcloud auth application-default login` cannot mint ID tokens"));
}

// ─────────────────────────────── tokens, cookies, the 401 loop ───────────────────────────────

fn healthz_url(kfp: &FakeKfp) -> String {
    format!("{}/apis/v2beta1/healthz", kfp.url())
}

/// The `authorization` header of each request the fake received.
fn authorizations(kfp: &FakeKfp) -> Vec<Option<String>> {
    kfp.requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_string))
        .collect()
}

/// A refusal as this file reports it: what was tried (the client's message around it is
/// asserted through the binary, tests/cli_fit.rs).
fn rejected(auth: &Auth) -> String {
    format!("HTTP 401: tried {}", auth.tried().join(", then "))
}

/// What the KFP client does: send; on 401 ask `refresh` and retry once when it says so.
async fn get_with_renewal(auth: &mut Auth, url: &str) -> Result<u16, String> {
    let status = auth
        .apply(api_client().get(url))
        .send()
        .await
        .unwrap()
        .status();
    if status != 401 {
        return Ok(status.as_u16());
    }
    if auth
        .refresh(&reqwest::Client::new())
        .await
        .map_err(|e| e.to_string())?
    {
        let status = auth
            .apply(api_client().get(url))
            .send()
            .await
            .unwrap()
            .status();
        if status != 401 {
            return Ok(status.as_u16());
        }
    }
    Err(rejected(auth))
}

#[tokio::test]
async fn expired_service_account_token_is_reread_after_a_401() {
    let kfp = FakeKfp::start();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "expired-token\n").unwrap();
    let mut auth = discover(
        "http://127.0.0.1:9",
        &env(&[("KF_PIPELINES_SA_TOKEN_PATH", token.to_str().unwrap())]),
    )
    .await
    .unwrap();
    kfp.require_bearer("fresh-token");

    // Kubelet rotates the projected token: the next 401 re-reads it and the retry succeeds.
    std::fs::write(&token, "fresh-token\n").unwrap();
    assert_eq!(
        get_with_renewal(&mut auth, &healthz_url(&kfp)).await,
        Ok(200)
    );
    assert_eq!(
        authorizations(&kfp),
        [
            Some("Bearer expired-token".to_string()),
            Some("Bearer fresh-token".to_string())
        ],
        "one 401, one retry with the new token"
    );

    // Not rotated: no pointless retry, and the message says what was tried and what else works.
    kfp.require_bearer("never");
    let err = get_with_renewal(&mut auth, &healthz_url(&kfp))
        .await
        .unwrap_err();
    assert_eq!(kfp.requests().len(), 3);
    assert!(err.starts_with(&format!(
        "HTTP 401: tried service-account token file {} (KF_PIPELINES_SA_TOKEN_PATH), then renewed service-account token file",
        token.display()
    )), "{err}");
    assert!(!err.contains("fresh-token") && !err.contains("expired-token"));
}

#[tokio::test]
async fn static_bearer_token_gets_a_401_message_naming_it() {
    let kfp = FakeKfp::start();
    kfp.require_bearer("right");
    let mut auth = discover(
        "http://127.0.0.1:9",
        &env(&[("KF_PIPELINES_TOKEN", "wrong-token-123")]),
    )
    .await
    .unwrap();
    let err = get_with_renewal(&mut auth, &healthz_url(&kfp))
        .await
        .unwrap_err();
    assert!(
        err.starts_with("HTTP 401: tried bearer token from KF_PIPELINES_TOKEN"),
        "{err}"
    );
    assert_eq!(kfp.requests().len(), 1, "a static token is not retried");
    assert!(!err.contains("wrong-token-123"));
}

#[tokio::test]
async fn session_cookie_from_the_environment_is_sent_verbatim() {
    let kfp = FakeKfp::start();
    kfp.require_cookie("oauth2_proxy_kubeflow", "c00kie");
    let mut auth = discover(
        "http://127.0.0.1:9",
        &env(&[("KF_PIPELINES_COOKIE", "oauth2_proxy_kubeflow=c00kie")]),
    )
    .await
    .unwrap();
    assert_eq!(
        get_with_renewal(&mut auth, &healthz_url(&kfp)).await,
        Ok(200)
    );
    assert!(!visible(&auth).contains("c00kie"));
}

#[tokio::test]
async fn no_credentials_sends_nothing() {
    let kfp = FakeKfp::start();
    let mut auth = discover("http://127.0.0.1:9", &env(&[])).await.unwrap();
    assert_eq!(
        get_with_renewal(&mut auth, &healthz_url(&kfp)).await,
        Ok(200)
    );
    let requests = kfp.requests();
    assert!(requests[0].header("authorization").is_none());
    assert!(requests[0].header("cookie").is_none());
}

// ───────────────────────────────────────── redaction ─────────────────────────────────────────

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log of every test in this binary (tracing at TRACE), captured by a global subscriber
/// installed before the first `AuthEnv` is built. (A per-test `set_default` subscriber is not
/// reliable while other threads register the same callsites.)
fn logs() -> String {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    });
    String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned()
}

#[tokio::test]
async fn logs_name_the_provider_but_never_a_secret() {
    let user = "logger@example.com";
    let password = "pa$$-Secret-42";
    let dex = FakeDex::start_with(
        DexFlow::OAuth2Proxy,
        DexOptions {
            users: vec![(user.into(), password.into())],
            ..DexOptions::for_flow(DexFlow::OAuth2Proxy)
        },
    );
    let e = env(&[("DEX_USERNAME", user), ("DEX_PASSWORD", password)]);
    let mut auth = discover(&dex.pipeline_url(), &e).await.unwrap();
    auth.refresh(&reqwest::Client::new()).await.unwrap();
    let cookie = sent(&auth)["cookie"].to_str().unwrap().to_string();
    let cookie_value = cookie.split_once('=').unwrap().1.to_string();

    let log = logs();
    assert!(
        log.contains("auth: Dex login as logger@example.com (connector local)"),
        "{log}"
    );
    assert!(
        log.contains("auth: renewed Dex login as logger@example.com"),
        "{log}"
    );
    for text in [log.as_str(), visible(&auth).as_str()] {
        assert!(!text.contains(password), "{text}");
        assert!(!text.contains("pa%24%24"), "{text}");
        assert!(!text.contains(&cookie_value), "{text}");
    }
    // Nor any other test's secrets, as far as they have run.
    for secret in [
        FakeDex::PASSWORD,
        "wrong-pass-XYZ",
        "wrong-token-123",
        "c00kie",
        "fresh-token",
        "iap-id-token.",
        "metadata-id-token.",
        "PRIVATE KEY",
    ] {
        assert!(!log.contains(secret), "{secret} in {log}");
    }
}

#[tokio::test]
async fn iap_token_is_minted_again_after_a_401() {
    let iap = FakeIap::start();
    let kfp = FakeKfp::start();
    // Pretend the first ID token expired: only the second one is accepted.
    kfp.require_bearer(&format!("iap-id-token.{IAP_CLIENT}.2"));
    let dir = tempfile::tempdir().unwrap();
    let key = iap.write_key_file(dir.path());
    let mut auth = discover(
        "http://127.0.0.1:9",
        &env(&[
            ("IAP_CLIENT_ID", IAP_CLIENT),
            ("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap()),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        get_with_renewal(&mut auth, &healthz_url(&kfp)).await,
        Ok(200)
    );
    assert_eq!(iap.issued().len(), 2);
    assert_eq!(authorizations(&kfp).len(), 2);
}

#[tokio::test]
async fn every_static_provider_gets_a_401_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "sa-token-secret").unwrap();
    let token = token.to_str().unwrap();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "tried no credentials (none of KF_PIPELINES_TOKEN"),
        (
            &[("KF_PIPELINES_COOKIE", "authservice_session=cookie-secret")],
            "tried session cookie authservice_session from KF_PIPELINES_COOKIE",
        ),
        (
            &[("KF_PIPELINES_TOKEN", "bearer-secret")],
            "tried bearer token from KF_PIPELINES_TOKEN",
        ),
        (
            &[("KF_PIPELINES_SA_TOKEN_PATH", token)],
            "tried service-account token file ",
        ),
    ];
    for (vars, expected) in cases {
        let kfp = FakeKfp::start();
        kfp.require_bearer("the-right-one");
        let mut auth = discover("http://127.0.0.1:9", &env(vars)).await.unwrap();
        let err = get_with_renewal(&mut auth, &healthz_url(&kfp))
            .await
            .unwrap_err();
        assert!(err.starts_with(&format!("HTTP 401: {expected}")), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert_eq!(kfp.requests().len(), 1, "{expected}: nothing new, no retry");
    }
}

#[tokio::test]
async fn dex_pointed_at_a_dashboard_page_says_no_login_form() {
    let kfp = FakeKfp::start();
    kfp.set_html_catch_all(true); // a wrong host path: Kubeflow's dashboard HTML
    let err = discover(&kfp.url(), &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no Dex login form was found"), "{err}");
    assert!(err.contains("with HTTP 200)"), "{err}");
}

// ─────────────────────────────── the binary, end to end ───────────────────────────────

mod cli {
    use super::support::fake_auth::{DexFlow, DexOptions, FakeDex, FakeIap};
    use super::support::fake_kfp::FakeKfp;
    use super::IAP_CLIENT;
    use assert_cmd::Command;
    use predicates::prelude::*;

    /// kfpx with no auth variables from the outer environment and an empty HOME.
    fn kfpx(home: &std::path::Path) -> Command {
        let mut cmd = super::support::cmd::kfpx();
        cmd.env("HOME", home).current_dir(home);
        cmd
    }

    fn list(cmd: &mut Command, host: &str) -> assert_cmd::assert::Assert {
        cmd.args(["list-pipelines", "--host", host, "-v"]).assert()
    }

    fn kfp_with_pipeline() -> FakeKfp {
        let kfp = FakeKfp::start();
        kfp.seed_pipeline("auth-demo-pipeline", "");
        kfp
    }

    #[test]
    fn dex_login_through_the_gateway_for_both_flows() {
        for flow in [DexFlow::AuthService, DexFlow::OAuth2Proxy] {
            let kfp = kfp_with_pipeline();
            let dex = FakeDex::start_with(
                flow,
                DexOptions {
                    upstream: Some(kfp.url()),
                    ..DexOptions::for_flow(flow)
                },
            );
            let home = tempfile::tempdir().unwrap();
            list(
                kfpx(home.path())
                    .env("DEX_USERNAME", FakeDex::USER)
                    .env("DEX_PASSWORD", FakeDex::PASSWORD),
                &dex.pipeline_url(),
            )
            .success()
            .stdout(predicate::str::contains("auth-demo-pipeline"))
            .stderr(predicate::str::contains(
                "auth: Dex login as user@example.com (connector local)",
            ))
            .stderr(predicate::str::contains(FakeDex::PASSWORD).not())
            .stderr(predicate::str::contains("=sess").not());
            assert_eq!(dex.logins(), 1, "{flow:?}");
            // Every API call reached KFP through the gateway with the user's identity.
            let api: Vec<_> = kfp
                .requests()
                .into_iter()
                .filter(|r| r.path.contains("/apis/"))
                .collect();
            assert!(!api.is_empty());
            assert!(api
                .iter()
                .all(|r| r.header("kubeflow-userid") == Some(FakeDex::USER)));
        }
    }

    #[test]
    fn dex_wrong_password_is_one_line_exit_1() {
        let kfp = kfp_with_pipeline();
        let dex = FakeDex::start_with(
            DexFlow::OAuth2Proxy,
            DexOptions {
                upstream: Some(kfp.url()),
                ..DexOptions::for_flow(DexFlow::OAuth2Proxy)
            },
        );
        let home = tempfile::tempdir().unwrap();
        let out = kfpx(home.path())
            .env("DEX_USERNAME", FakeDex::USER)
            .env("DEX_PASSWORD", "not-the-password")
            .args(["list-pipelines", "--host", &dex.pipeline_url()])
            .assert()
            .code(1)
            .stdout("")
            .get_output()
            .clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("Dex rejected the login for user@example.com"),
            "{stderr}"
        );
        assert!(!stderr.contains("not-the-password"));
        assert!(kfp.requests().is_empty(), "nothing reached KFP");
    }

    #[test]
    fn service_account_token_file() {
        let kfp = kfp_with_pipeline();
        kfp.require_bearer("sa-token-value");
        let home = tempfile::tempdir().unwrap();
        let token = home.path().join("token");
        std::fs::write(&token, "sa-token-value\n").unwrap();
        list(
            kfpx(home.path()).env("KF_PIPELINES_SA_TOKEN_PATH", &token),
            &kfp.url(),
        )
        .success()
        .stdout(predicate::str::contains("auth-demo-pipeline"))
        .stderr(predicate::str::contains("auth: service-account token file"))
        .stderr(predicate::str::contains("sa-token-value").not());
    }

    #[test]
    fn bearer_token() {
        let kfp = kfp_with_pipeline();
        kfp.require_bearer("s3cret-token");
        let home = tempfile::tempdir().unwrap();
        list(
            kfpx(home.path()).env("KF_PIPELINES_TOKEN", "s3cret-token"),
            &kfp.url(),
        )
        .success()
        .stdout(predicate::str::contains("auth-demo-pipeline"))
        .stderr(predicate::str::contains(
            "auth: bearer token from KF_PIPELINES_TOKEN",
        ))
        .stderr(predicate::str::contains("s3cret-token").not());
    }

    #[test]
    fn google_iap_with_a_service_account_key() {
        let iap = FakeIap::start();
        let kfp = kfp_with_pipeline();
        kfp.require_bearer(&format!("iap-id-token.{IAP_CLIENT}.1"));
        let home = tempfile::tempdir().unwrap();
        let key = iap.write_key_file(home.path());
        list(
            kfpx(home.path())
                .env("IAP_CLIENT_ID", IAP_CLIENT)
                .env("GOOGLE_APPLICATION_CREDENTIALS", &key),
            &kfp.url(),
        )
        .success()
        .stdout(predicate::str::contains("auth-demo-pipeline"))
        .stderr(predicate::str::contains(format!(
            "auth: Google IAP ID token for client id {IAP_CLIENT}"
        )))
        .stderr(predicate::str::contains("iap-id-token").not());
    }

    #[test]
    fn session_cookie_from_the_kfp_context_file() {
        let kfp = kfp_with_pipeline();
        kfp.require_cookie("authservice_session", "ctx-cookie-value");
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".config/kfp");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("context.json"),
            r#"{"client_authentication_cookie": "authservice_session=ctx-cookie-value"}"#,
        )
        .unwrap();
        list(&mut kfpx(home.path()), &kfp.url())
            .success()
            .stdout(predicate::str::contains("auth-demo-pipeline"))
            .stderr(predicate::str::contains(
                "auth: session cookie authservice_session from ~/.config/kfp/context.json",
            ))
            .stderr(predicate::str::contains("ctx-cookie-value").not());
    }
}

// ─────────────────────── with the KFP client: sessions that expire mid-command ───────────────────────

async fn client_through(dex: &FakeDex) -> kfpx::kfp::client::Client {
    let options = kfpx::kfp::client::ClientOptions {
        endpoint: url::Url::parse(&dex.pipeline_url()).unwrap(),
        version: kfpx::config::KfpVersion::V2,
        request_timeout: std::time::Duration::from_secs(10),
        insecure_skip_tls_verify: false,
        ca_bundle: None,
    };
    kfpx::kfp::client::Client::connect(options, &dex_env(FakeDex::PASSWORD))
        .await
        .unwrap()
}

fn gateway(flow: DexFlow, kfp: &FakeKfp) -> FakeDex {
    FakeDex::start_with(
        flow,
        DexOptions {
            upstream: Some(kfp.url()),
            ..DexOptions::for_flow(flow)
        },
    )
}

#[tokio::test]
async fn kfp_client_logs_in_again_when_the_oauth2_proxy_session_expires() {
    let kfp = FakeKfp::start();
    let dex = gateway(DexFlow::OAuth2Proxy, &kfp);
    let client = client_through(&dex).await;
    assert_eq!(dex.logins(), 1);
    dex.expire_sessions(); // oauth2-proxy answers API calls (Accept: JSON) with 401
    let call = kfpx::kfp::client::Call::get("/pipelines", "listing pipelines");
    client.call(call).await.unwrap();
    assert_eq!(dex.logins(), 2, "renewed through a new Dex login");
}

#[tokio::test]
async fn kfp_client_logs_in_again_when_the_authservice_session_expires() {
    let kfp = FakeKfp::start();
    let dex = gateway(DexFlow::AuthService, &kfp);
    let client = client_through(&dex).await;
    dex.expire_sessions(); // oidc-authservice redirects to Dex instead
    let call = kfpx::kfp::client::Call::get("/pipelines", "listing pipelines");
    client.call(call).await.unwrap();
    assert_eq!(dex.logins(), 2, "renewed through a new Dex login");
}

#[tokio::test]
async fn kfp_client_looks_up_before_sending_a_create_again_after_a_login_redirect() {
    let kfp = FakeKfp::start();
    let dex = gateway(DexFlow::AuthService, &kfp);
    let client = client_through(&dex).await;
    dex.expire_sessions(); // the create is redirected to the Dex login page
    let lookups = Arc::new(Mutex::new(0));
    let call = kfpx::kfp::client::Call::post(
        "/experiments",
        kfpx::kfp::client::Body::Json(serde_json::json!({"display_name": "exp-a"})),
        "creating the experiment",
    );
    let created = client
        .create(
            call,
            |v| Ok(v["experiment_id"].as_str().unwrap_or_default().to_string()),
            || {
                let lookups = lookups.clone();
                async move {
                    *lookups.lock().unwrap() += 1;
                    Ok(None)
                }
            },
        )
        .await
        .unwrap();
    assert!(!created.is_empty());
    assert_eq!(dex.logins(), 2, "renewed through a new Dex login");
    assert_eq!(
        *lookups.lock().unwrap(),
        1,
        "looked up once before re-sending"
    );
    let names: Vec<_> = kfp
        .experiments()
        .iter()
        .map(|e| e["display_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["exp-a"], "created exactly once");
    kfp.assert_no_violations();
}

#[tokio::test]
async fn kfp_client_401_message_lists_the_renewed_credentials_too() {
    let kfp = FakeKfp::start();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first-token\n").unwrap();
    kfp.require_bearer("first-token");
    let options = kfpx::kfp::client::ClientOptions {
        endpoint: url::Url::parse(&kfp.url()).unwrap(),
        version: kfpx::config::KfpVersion::V2,
        request_timeout: std::time::Duration::from_secs(10),
        insecure_skip_tls_verify: false,
        ca_bundle: None,
    };
    let client = kfpx::kfp::client::Client::connect(
        options,
        &env(&[("KF_PIPELINES_SA_TOKEN_PATH", token.to_str().unwrap())]),
    )
    .await
    .unwrap();
    // The server now wants another token; the file was rotated, but to one it refuses too.
    kfp.require_bearer("wanted-token");
    std::fs::write(&token, "rotated-token\n").unwrap();
    let call = kfpx::kfp::client::Call::get("/pipelines", "listing pipelines");
    let err = client.call(call).await.unwrap_err().to_string();
    assert!(err.contains("(HTTP 401"), "{err}");
    assert!(
        err.contains(&format!(
            "tried: service-account token file {} (KF_PIPELINES_SA_TOKEN_PATH), then renewed \
             service-account token file",
            token.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("KF_PIPELINES_TOKEN"),
        "says how to provide others: {err}"
    );
    for secret in ["first-token", "rotated-token", "wanted-token"] {
        assert!(!err.contains(secret), "{err}");
    }
}

// ─────────────────────── Google application default credentials (ADC) ───────────────────────

const PROXY_HOST: &str = "https://7c021d0340d296aa-dot-us-central1.pipelines.googleusercontent.com";

/// The claims of a JWT (no verification: the fake token endpoint verified the signature).
fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// An env with gcloud's well-known file written by `gcloud auth application-default login`.
fn gcloud_user_env(iap: &FakeIap, dir: &std::path::Path, vars: &[(&str, &str)]) -> AuthEnv {
    let file = dir.join("gcloud/application_default_credentials.json");
    iap.write_user_file(&file);
    let token_uri = iap.token_uri();
    let mut all = vec![("KFPX_GOOGLE_TOKEN_URI", token_uri.as_str())];
    all.extend_from_slice(vars);
    let mut e = env(&all);
    e.gcloud_adc_file = Some(file);
    e
}

#[tokio::test]
async fn adc_service_account_key_sends_a_cloud_platform_access_token_to_an_inverse_proxy_host() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    let key = iap.write_key_file(dir.path());
    // The gcloud file exists too: GOOGLE_APPLICATION_CREDENTIALS comes first (google-auth order).
    let e = {
        let mut e = gcloud_user_env(&iap, dir.path(), &[]);
        e.vars.insert(
            "GOOGLE_APPLICATION_CREDENTIALS".into(),
            key.to_str().unwrap().into(),
        );
        e
    };
    let auth = discover(PROXY_HOST, &e).await.unwrap();
    assert_eq!(sent(&auth)["authorization"], "Bearer sa-access-token.1");
    let posts = iap.token_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0]["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let claims = jwt_claims(&posts[0]["assertion"]);
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/cloud-platform"
    );
    assert!(claims.get("target_audience").is_none(), "{claims}");
    assert_eq!(
        auth.describe(),
        format!(
            "Google access token (cloud-platform) from service-account key GOOGLE_APPLICATION_CREDENTIALS={} ({}), because 7c021d0340d296aa-dot-us-central1.pipelines.googleusercontent.com is a Google inverse-proxy host",
            key.display(),
            FakeIap::CLIENT_EMAIL
        )
    );
    assert!(!visible(&auth).contains("sa-access-token"));
}

#[tokio::test]
async fn adc_gcloud_user_credentials_use_the_refresh_grant_and_never_show_a_secret() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    let e = gcloud_user_env(&iap, dir.path(), &[]);
    let auth = discover(PROXY_HOST, &e).await.unwrap();
    assert_eq!(sent(&auth)["authorization"], "Bearer user-access-token.1");
    let posts = iap.token_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["grant_type"], "refresh_token");
    assert_eq!(posts[0]["client_id"], FakeIap::USER_CLIENT_ID);
    assert!(!posts[0].contains_key("audience"));
    assert!(auth
        .describe()
        .contains("from user credentials in gcloud's "));
    let seen = visible(&auth);
    for secret in [
        FakeIap::REFRESH_TOKEN,
        FakeIap::USER_CLIENT_SECRET,
        "user-access-token",
    ] {
        assert!(!seen.contains(secret), "{seen}");
    }
}

#[tokio::test]
async fn adc_from_the_metadata_server_when_no_file_exists() {
    let iap = FakeIap::start();
    let mut e = env(&[("GCE_METADATA_HOST", &iap.metadata_host())]);
    e.gcloud_adc_file = Some(std::path::PathBuf::from("/nonexistent/adc.json"));
    let auth = discover(PROXY_HOST, &e).await.unwrap();
    assert_eq!(
        sent(&auth)["authorization"],
        "Bearer metadata-access-token.1"
    );
    assert!(auth
        .describe()
        .contains("from the GCE metadata server (127.0.0.1:"));
}

#[tokio::test]
async fn adc_is_only_for_inverse_proxy_hosts_unless_switched_on() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    let auth = discover(
        "http://127.0.0.1:9",
        &gcloud_user_env(&iap, dir.path(), &[]),
    )
    .await
    .unwrap();
    assert!(auth.is_none());
    assert!(iap.token_posts().is_empty());
    let e = gcloud_user_env(&iap, dir.path(), &[("KFPX_GOOGLE_ADC", "1")]);
    let auth = discover("http://127.0.0.1:9", &e).await.unwrap();
    assert_eq!(sent(&auth)["authorization"], "Bearer user-access-token.1");
    assert!(auth.describe().ends_with("because KFPX_GOOGLE_ADC is set"));
    let e = gcloud_user_env(&iap, dir.path(), &[("KFPX_GOOGLE_ADC", "0")]);
    assert!(discover(PROXY_HOST, &e).await.unwrap().is_none());
}

#[tokio::test]
async fn adc_token_is_kept_until_shortly_before_expiry_then_renewed() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    iap.set_expires_in(3599);
    let mut auth = discover(PROXY_HOST, &gcloud_user_env(&iap, dir.path(), &[]))
        .await
        .unwrap();
    for _ in 0..3 {
        auth.prepare(&http).await.unwrap();
    }
    assert_eq!(sent(&auth)["authorization"], "Bearer user-access-token.1");
    assert_eq!(iap.access_tokens().len(), 1, "cached while valid");

    // A token that expires within the minute is renewed before the next request.
    iap.set_expires_in(30);
    let mut auth = discover(PROXY_HOST, &gcloud_user_env(&iap, dir.path(), &[]))
        .await
        .unwrap();
    assert_eq!(sent(&auth)["authorization"], "Bearer user-access-token.2");
    iap.set_expires_in(3599);
    auth.prepare(&http).await.unwrap();
    assert_eq!(sent(&auth)["authorization"], "Bearer user-access-token.3");
    auth.prepare(&http).await.unwrap();
    assert_eq!(iap.access_tokens().len(), 3);
}

#[tokio::test]
async fn adc_token_is_renewed_once_after_a_401() {
    let iap = FakeIap::start();
    let kfp = FakeKfp::start();
    let dir = tempfile::tempdir().unwrap();
    let mut auth = discover(PROXY_HOST, &gcloud_user_env(&iap, dir.path(), &[]))
        .await
        .unwrap();
    kfp.require_bearer("user-access-token.2");
    assert_eq!(
        get_with_renewal(&mut auth, &healthz_url(&kfp)).await,
        Ok(200)
    );
    assert_eq!(
        authorizations(&kfp),
        [
            Some("Bearer user-access-token.1".to_string()),
            Some("Bearer user-access-token.2".to_string())
        ]
    );
    kfp.require_bearer("never");
    let err = get_with_renewal(&mut auth, &healthz_url(&kfp))
        .await
        .unwrap_err();
    assert_eq!(kfp.requests().len(), 4, "one renewal per 401, then give up");
    assert!(err.contains("then renewed Google access token"), "{err}");
    assert!(!err.contains("user-access-token"), "{err}");
}

#[tokio::test]
async fn adc_revoked_refresh_token_says_which_file_and_how_to_log_in_again() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    iap.revoke(FakeIap::REFRESH_TOKEN);
    let e = gcloud_user_env(&iap, dir.path(), &[]);
    let file = e.gcloud_adc_file.clone().unwrap();
    let err = discover(PROXY_HOST, &e).await.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "Google's token endpoint {} refused a Google access token for the user credentials in gcloud's {} (HTTP 400: invalid_grant: Token has been expired or revoked.); run `gcloud auth application-default login`",
            iap.token_uri(),
            file.display()
        )
    );
    assert!(!err.contains(FakeIap::REFRESH_TOKEN) && !err.contains(FakeIap::USER_CLIENT_SECRET));
}

#[tokio::test]
async fn adc_without_the_cloud_platform_scope_is_refused_with_the_fix() {
    let iap = FakeIap::start();
    let dir = tempfile::tempdir().unwrap();
    iap.set_user_scope("openid https://www.googleapis.com/auth/userinfo.email");
    let err = discover(PROXY_HOST, &gcloud_user_env(&iap, dir.path(), &[]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("lacks the cloud-platform scope (granted: openid https://www.googleapis.com/auth/userinfo.email); run `gcloud auth application-default login`"), "{err}");

    // A VM created with the default access scopes.
    iap.set_vm_scopes(&["https://www.googleapis.com/auth/devstorage.read_only"]);
    let e = env(&[("GCE_METADATA_HOST", &iap.metadata_host())]);
    let err = discover(PROXY_HOST, &e).await.unwrap_err().to_string();
    assert!(err.contains("lacks the cloud-platform access scope (has: https://www.googleapis.com/auth/devstorage.read_only)"), "{err}");
    assert!(
        err.contains("gcloud compute instances set-service-account VM --scopes=cloud-platform"),
        "{err}"
    );
}

#[tokio::test]
async fn adc_with_nothing_available_names_every_source_and_the_command() {
    let port = support::cmd::REFUSED_PORT;
    let e = env(&[("GCE_METADATA_HOST", &format!("127.0.0.1:{port}"))]);
    let err = discover(PROXY_HOST, &e).await.unwrap_err().to_string();
    assert!(err.starts_with(&format!("no Google application default credentials: GOOGLE_APPLICATION_CREDENTIALS is unset, gcloud has none stored, and the GCE metadata server (127.0.0.1:{port}) cannot be reached (")), "{err}");
    assert!(
        err.ends_with("; run `gcloud auth application-default login`"),
        "{err}"
    );

    let iap = FakeIap::start();
    iap.remove_metadata_service_account();
    let e = env(&[("GCE_METADATA_HOST", &iap.metadata_host())]);
    let err = discover(PROXY_HOST, &e).await.unwrap_err().to_string();
    assert!(
        err.contains("has no service account for this machine (HTTP 404)"),
        "{err}"
    );
}

/// `kfpx` with a clean environment and HOME in `home`.
fn kfpx_in(home: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = support::cmd::kfpx();
    cmd.env("HOME", home).current_dir(home);
    cmd
}

#[test]
fn binary_sends_gcloud_adc_to_kfp_and_prints_no_secret_at_any_verbosity() {
    let iap = FakeIap::start();
    let kfp = FakeKfp::start();
    let home = tempfile::tempdir().unwrap();
    iap.write_user_file(
        &home
            .path()
            .join(".config/gcloud/application_default_credentials.json"),
    );
    for (n, verbosity) in ["-v", "-vv", "-vvv"].into_iter().enumerate() {
        kfp.require_bearer(&format!("user-access-token.{}", n + 1));
        let out = kfpx_in(home.path())
            .env("KFPX_GOOGLE_ADC", "1")
            .env("KFPX_GOOGLE_TOKEN_URI", iap.token_uri())
            .args(["list-pipelines", "--host", &kfp.url(), verbosity])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{verbosity}: {all}");
        assert!(
            all.contains("Google access token (cloud-platform) from user credentials"),
            "{verbosity}: {all}"
        );
        for secret in [
            FakeIap::REFRESH_TOKEN,
            FakeIap::USER_CLIENT_SECRET,
            "user-access-token",
        ] {
            assert!(!all.contains(secret), "{verbosity} shows {secret}: {all}");
        }
    }

    // Revoked: one error line naming the file and the command, exit non-zero, still no secret.
    iap.revoke(FakeIap::REFRESH_TOKEN);
    let out = kfpx_in(home.path())
        .env("KFPX_GOOGLE_ADC", "1")
        .env("KFPX_GOOGLE_TOKEN_URI", iap.token_uri())
        .args(["list-pipelines", "--host", &kfp.url(), "-vvv"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{stderr}");
    assert!(
        error_lines[0].contains("invalid_grant")
            && error_lines[0].contains("gcloud auth application-default login"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(FakeIap::REFRESH_TOKEN) && !stderr.contains(FakeIap::USER_CLIENT_SECRET)
    );
}

// ───────────────────────── IAP with a user account: kfpx login google ─────────────────────────

/// A browser's GET: (status, body).
fn raw_get(url: &url::Url) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        text.split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string(),
    )
}

/// `kfpx login google --no-browser`, with the test as the browser: read the printed URL, check
/// it, bring the code to the loopback redirect. Returns (the URL's query, exit status, stderr).
fn login_as_browser(
    iap: &FakeIap,
    home: &std::path::Path,
    code: &str,
) -> (std::collections::HashMap<String, String>, bool, String) {
    use std::io::BufRead;
    let mut cmd = support::cmd::kfpx_std();
    let mut child = cmd
        .env("HOME", home)
        .env(
            "KFPX_GOOGLE_AUTH_URI",
            format!("{}/o/oauth2/v2/auth", iap.url()),
        )
        .env("KFPX_GOOGLE_TOKEN_URI", iap.token_uri())
        .env("KFPX_OAUTH_CLIENT_SECRET", FakeIap::USER_CLIENT_SECRET)
        .args([
            "login",
            "google",
            "--iap-client-id",
            IAP_CLIENT,
            "--oauth-client-id",
            FakeIap::USER_CLIENT_ID,
            "--no-browser",
            "-vvv",
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no URL printed: {seen}"
        );
        seen.push_str(&line);
        if let Some(at) = line.find("http://") {
            break url::Url::parse(line[at..].trim()).unwrap();
        }
    };
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/o/oauth2/v2/auth");
    // The browser: Google redirects to the loopback URI with the code and the state.
    let mut back = url::Url::parse(&query["redirect_uri"]).unwrap();
    // A stray request (favicon) first: ignored, the listener keeps waiting.
    let (status, _) = raw_get(&back.join("/favicon.ico").unwrap());
    assert_eq!(status, 404);
    back.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", &query["state"]);
    let (_, page) = raw_get(&back);
    assert!(page.contains("you may close this window"), "{page}");
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    seen.push_str(&String::from_utf8_lossy(&out.stdout));
    (query, out.status.success(), seen)
}

#[test]
fn login_google_without_a_browser_stores_the_sdk_layout_0600_and_iap_uses_it() {
    use base64::Engine;
    use sha2::Digest;
    let iap = FakeIap::start();
    let kfp = FakeKfp::start();
    let home = tempfile::tempdir().unwrap();
    // Another IAP login stored by the kfp SDK is kept.
    let file = home.path().join(".config/kfp/credentials.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, r#"{"other-iap": {"other_client_id": "a", "other_client_secret": "b", "refresh_token": "c"}}"#).unwrap();

    let (query, ok, output) = login_as_browser(&iap, home.path(), FakeIap::AUTH_CODE);
    assert!(ok, "{output}");
    assert_eq!(query["client_id"], FakeIap::USER_CLIENT_ID);
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["access_type"], "offline");
    assert!(query["redirect_uri"].starts_with("http://127.0.0.1:"));
    // PKCE: the verifier sent to the token endpoint hashes to the challenge in the URL.
    let posts = iap.token_posts();
    assert_eq!(posts[0]["grant_type"], "authorization_code");
    assert_eq!(posts[0]["redirect_uri"], query["redirect_uri"]);
    let digest = sha2::Sha256::digest(posts[0]["code_verifier"].as_bytes());
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
        query["code_challenge"]
    );
    // The login is checked (an ID token for the IAP audience) before it is stored.
    assert_eq!(posts[1]["grant_type"], "refresh_token");
    assert_eq!(posts[1]["audience"], IAP_CLIENT);
    for secret in [
        FakeIap::REFRESH_TOKEN,
        FakeIap::USER_CLIENT_SECRET,
        FakeIap::AUTH_CODE,
        "user-id-token",
    ] {
        assert!(!output.contains(secret), "{secret} printed: {output}");
    }
    assert!(
        output.contains(&format!("stored in {}", file.display())),
        "{output}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        stored[IAP_CLIENT]["other_client_id"],
        FakeIap::USER_CLIENT_ID
    );
    assert_eq!(
        stored[IAP_CLIENT]["other_client_secret"],
        FakeIap::USER_CLIENT_SECRET
    );
    assert_eq!(stored[IAP_CLIENT]["refresh_token"], FakeIap::REFRESH_TOKEN);
    assert_eq!(stored["other-iap"]["refresh_token"], "c");

    // Later commands exchange it for an ID token with the IAP audience.
    kfp.require_bearer(&format!("user-id-token.{IAP_CLIENT}.2"));
    let out = kfpx_in(home.path())
        .env("IAP_CLIENT_ID", IAP_CLIENT)
        .env("KFPX_GOOGLE_TOKEN_URI", iap.token_uri())
        .args(["list-pipelines", "--host", &kfp.url(), "-vvv"])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(all.contains("from the user login in"), "{all}");
    assert!(
        !all.contains(FakeIap::REFRESH_TOKEN) && !all.contains("user-id-token"),
        "{all}"
    );

    // Revoked: the error names the stored login and the login command.
    iap.revoke(FakeIap::REFRESH_TOKEN);
    let out = kfpx_in(home.path())
        .env("IAP_CLIENT_ID", IAP_CLIENT)
        .env("KFPX_GOOGLE_TOKEN_URI", iap.token_uri())
        .args(["list-pipelines", "--host", &kfp.url()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("invalid_grant: Token has been expired or revoked.")
            && stderr.contains("log in again: kfpx login google --iap-client-id"),
        "{stderr}"
    );
    assert!(!stderr.contains(FakeIap::REFRESH_TOKEN));

    // logout removes that login only; the SDK's other one stays.
    kfpx_in(home.path())
        .args(["logout", "google", "--iap-client-id", IAP_CLIENT])
        .assert()
        .success();
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(stored.get(IAP_CLIENT).is_none());
    assert_eq!(stored["other-iap"]["refresh_token"], "c");
    kfpx_in(home.path())
        .args(["logout", "google"])
        .assert()
        .success();
    assert!(!file.exists());
}

#[test]
fn login_google_with_a_code_google_refuses_stores_nothing() {
    let iap = FakeIap::start();
    let home = tempfile::tempdir().unwrap();
    let (_, ok, output) = login_as_browser(&iap, home.path(), "4/0wrong-code");
    assert!(!ok);
    let errors: Vec<&str> = output.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{output}");
    assert!(errors[0].contains("invalid_grant"), "{output}");
    assert!(
        !output.contains(FakeIap::USER_CLIENT_SECRET) && !output.contains("wrong-code"),
        "{output}"
    );
    assert!(!home.path().join(".config/kfp/credentials.json").exists());
}

#[test]
fn binary_renews_a_google_token_about_to_expire_before_each_kfp_request() {
    let iap = FakeIap::start();
    let kfp = FakeKfp::start();
    kfp.seed_pipelines(3);
    let home = tempfile::tempdir().unwrap();
    iap.write_user_file(
        &home
            .path()
            .join(".config/gcloud/application_default_credentials.json"),
    );
    // Google says each token expires in 30 s: inside the one-minute margin, so every request
    // of the command gets a fresh one (through Auth::prepare in the KFP client).
    iap.set_expires_in(30);
    kfpx_in(home.path())
        .env("KFPX_GOOGLE_ADC", "1")
        .env("KFPX_GOOGLE_TOKEN_URI", iap.token_uri())
        .args(["list-pipelines", "--host", &kfp.url()])
        .assert()
        .success();
    let sent = authorizations(&kfp);
    assert!(sent.len() >= 2, "{sent:?}");
    let mut distinct = sent.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        sent.len(),
        "a fresh token per request: {sent:?}"
    );
    assert_eq!(
        iap.access_tokens().len(),
        sent.len() + 1,
        "discovery, then one per request"
    );
}
