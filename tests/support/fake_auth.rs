//! Fake auth servers for tests, each on a background thread with its own tokio runtime, bound
//! to 127.0.0.1:0:
//!
//! * [`FakeDex`]: a Kubeflow gateway with Dex behind it, in two flows: [`DexFlow::AuthService`]
//!   (oidc-authservice, Kubeflow ≤1.8, cookie `authservice_session`) and
//!   [`DexFlow::OAuth2Proxy`] (oauth2-proxy, Kubeflow 1.9+, cookie `oauth2_proxy_kubeflow`,
//!   optionally split into `_0`/`_1`, with a CSRF cookie, a connector list and an approval page).
//!   It protects `/pipeline/apis/v2beta1/healthz`: JSON with a session cookie, a 302 to the login
//!   otherwise.
//! * [`FakeIap`]: Google's token endpoint (verifies the RS256 assertion with the test key pair
//!   in `tests/fixtures/auth/`) and the GCE metadata server's identity endpoint.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The test key pair (test-only: generated for these fakes, never used anywhere else).
pub const TEST_PRIVATE_KEY: &str = include_str!("../fixtures/auth/test-sa-private.pem");
pub const TEST_PUBLIC_KEY: &str = include_str!("../fixtures/auth/test-sa-public.pem");
/// A second key whose signatures the fake token endpoint must reject.
pub const OTHER_PRIVATE_KEY: &str = include_str!("../fixtures/auth/other-private.pem");

/// Run `app` on 127.0.0.1:0 on a thread of its own until the returned guard is dropped.
fn serve(app: axum::Router) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    (addr, stop)
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn form_map(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn redirect(status: StatusCode, location: &str, set_cookies: &[String]) -> Response {
    let mut resp = (status, "").into_response();
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_str(location).unwrap());
    for c in set_cookies {
        resp.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_str(c).unwrap());
    }
    resp
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn random_id(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

// ───────────────────────────────────────── Dex ─────────────────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DexFlow {
    /// oidc-authservice (Kubeflow ≤1.8): GET / → 302 /dex/auth?… → 302 /dex/auth/local?… →
    /// login form → POST → 302 /authservice/oidc/callback → `authservice_session`.
    AuthService,
    /// oauth2-proxy (Kubeflow 1.9+): GET / → 302 /oauth2/start → 302 /dex/auth → connector list
    /// → /dex/auth/local → 302 /dex/auth/local/login?back=&state=… form → POST → approval page
    /// (or 303) → /oauth2/callback → `oauth2_proxy_kubeflow`.
    OAuth2Proxy,
}

#[derive(Debug, Clone)]
pub struct DexOptions {
    /// Accepted (login, password) pairs.
    pub users: Vec<(String, String)>,
    /// Connector ids; more than one shows the connector list page.
    pub connectors: Vec<String>,
    /// Show Dex's approval ("Grant Access") page after the login.
    pub approval: bool,
    /// oauth2-proxy only: the session cookie's name (Kubeflow's `oauth2_proxy_kubeflow`;
    /// oauth2-proxy's own default is `_oauth2_proxy`).
    pub cookie_name: String,
    /// oauth2-proxy only: split the session cookie into `<name>_0` and `<name>_1`.
    pub split_cookie: bool,
    /// The KFP server behind the gateway (e.g. a `FakeKfp` URL): authenticated requests are
    /// forwarded there; without it the gateway serves a tiny healthz of its own.
    pub upstream: Option<String>,
    /// oauth2-proxy only: show its own "Sign in with Dex" page (403) instead of redirecting
    /// (Kubeflow's `skip_provider_button: false`).
    pub sign_in_page: bool,
}

impl DexOptions {
    pub fn for_flow(flow: DexFlow) -> DexOptions {
        DexOptions {
            users: vec![(FakeDex::USER.into(), FakeDex::PASSWORD.into())],
            connectors: match flow {
                DexFlow::AuthService => vec!["local".into()],
                DexFlow::OAuth2Proxy => vec!["local".into(), "ldap".into()],
            },
            approval: flow == DexFlow::OAuth2Proxy,
            cookie_name: "oauth2_proxy_kubeflow".into(),
            split_cookie: false,
            sign_in_page: false,
            upstream: None,
        }
    }
}

struct AuthRequest {
    redirect_uri: String,
    state: String,
    connector: String,
}

#[derive(Default)]
struct DexState {
    auth_requests: HashMap<String, AuthRequest>,
    /// code → (redirect_uri, state)
    codes: HashMap<String, (String, String)>,
    /// authservice: state → original path
    return_to: HashMap<String, String>,
    sessions: HashSet<String>,
    logins: usize,
    failed_logins: usize,
    login_posts: Vec<HashMap<String, String>>,
    requests: Vec<(String, String)>,
}

struct Dex {
    flow: DexFlow,
    opts: DexOptions,
    state: Mutex<DexState>,
}

pub struct FakeDex {
    addr: SocketAddr,
    dex: Arc<Dex>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeDex {
    /// Kubeflow's default static user.
    pub const USER: &'static str = "user@example.com";
    pub const PASSWORD: &'static str = "12341234";

    pub fn start(flow: DexFlow) -> FakeDex {
        FakeDex::start_with(flow, DexOptions::for_flow(flow))
    }

    pub fn start_with(flow: DexFlow, opts: DexOptions) -> FakeDex {
        let dex = Arc::new(Dex {
            flow,
            opts,
            state: Mutex::new(DexState::default()),
        });
        let app = axum::Router::new()
            .fallback(dex_handle)
            .with_state(dex.clone());
        let (addr, stop) = serve(app);
        FakeDex {
            addr,
            dex,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The KFP endpoint behind the gateway: `http://127.0.0.1:PORT/pipeline`.
    pub fn pipeline_url(&self) -> String {
        format!("{}/pipeline", self.url())
    }

    /// The protected KFP health endpoint (JSON only with a valid session cookie).
    pub fn healthz_url(&self) -> String {
        format!("{}/pipeline/apis/v2beta1/healthz", self.url())
    }

    /// The session cookie name this flow sets (the first part's name when split).
    pub fn session_cookie_name(&self) -> String {
        let name = &self.dex.opts.cookie_name;
        match (self.dex.flow, self.dex.opts.split_cookie) {
            (DexFlow::AuthService, _) => "authservice_session".into(),
            (DexFlow::OAuth2Proxy, false) => name.clone(),
            (DexFlow::OAuth2Proxy, true) => format!("{name}_0"),
        }
    }

    /// Completed logins (session cookies handed out).
    pub fn logins(&self) -> usize {
        self.dex.state.lock().unwrap().logins
    }

    /// Login form posts Dex rejected.
    pub fn failed_logins(&self) -> usize {
        self.dex.state.lock().unwrap().failed_logins
    }

    /// The decoded bodies of every login form post.
    pub fn login_posts(&self) -> Vec<HashMap<String, String>> {
        self.dex.state.lock().unwrap().login_posts.clone()
    }

    /// (method, path and query) of every request, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.dex.state.lock().unwrap().requests.clone()
    }

    /// Forget every session, as when they expire: API calls are redirected to the login again.
    pub fn expire_sessions(&self) {
        self.dex.state.lock().unwrap().sessions.clear();
    }
}

/// Marks a response of [`dex_route`] as "authenticated: forward to the upstream KFP".
#[derive(Clone)]
struct Forward;

async fn dex_handle(
    State(dex): State<Arc<Dex>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let resp = dex_route(&dex, &method, &uri, &headers, &body);
    match (&dex.opts.upstream, resp.extensions().get::<Forward>()) {
        (Some(upstream), Some(_)) => forward(upstream, method, &uri, headers, body).await,
        _ => resp,
    }
}

/// Pass an authenticated request on to the KFP server behind the gateway, as Istio does (with
/// the `kubeflow-userid` header the gateway adds).
async fn forward(
    upstream: &str,
    method: Method,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{upstream}{}",
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut headers = headers;
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    headers.insert("kubeflow-userid", HeaderValue::from_static(FakeDex::USER));
    let resp = match client
        .request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(resp) => resp,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("upstream: {e}")).into_response(),
    };
    let status = resp.status();
    let resp_headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap_or_default();
    let mut out = (status, bytes).into_response();
    for (k, v) in resp_headers.iter() {
        if k != header::CONTENT_LENGTH && k != header::TRANSFER_ENCODING {
            out.headers_mut().insert(k, v.clone());
        }
    }
    out
}

fn dex_route(dex: &Dex, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let path = uri.path().to_string();
    let query = query_map(uri);
    let cookies = cookies(headers);
    let mut st = dex.state.lock().unwrap();
    st.requests.push((
        method.to_string(),
        uri.path_and_query().map_or(path.clone(), |p| p.to_string()),
    ));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (dex.flow, method, segments.as_slice()) {
        (DexFlow::OAuth2Proxy, &Method::GET, ["oauth2", "start"]) => {
            let rd = query.get("rd").cloned().unwrap_or_else(|| "/".into());
            let csrf = random_id("csrf");
            let state = format!("{csrf}:{rd}");
            redirect(
                StatusCode::FOUND,
                &format!(
                    "/dex/auth?client_id=kubeflow-oidc-authservice&redirect_uri={}&response_type=code&scope=openid+profile+email+groups&state={}",
                    enc("/oauth2/callback"),
                    enc(&state)
                ),
                &[format!("oauth2_proxy_kubeflow_csrf={csrf}; Path=/; HttpOnly; Secure; SameSite=Lax")],
            )
        }
        (DexFlow::OAuth2Proxy, &Method::GET, ["oauth2", "callback"]) => {
            let state = query.get("state").cloned().unwrap_or_default();
            let Some((csrf, rd)) = state.split_once(':') else {
                return (StatusCode::FORBIDDEN, "invalid state").into_response();
            };
            if cookies
                .get("oauth2_proxy_kubeflow_csrf")
                .map(String::as_str)
                != Some(csrf)
            {
                return (StatusCode::FORBIDDEN, "Unable to find a valid CSRF token")
                    .into_response();
            }
            let code = query.get("code").cloned().unwrap_or_default();
            if st.codes.remove(&code).is_none() {
                return (StatusCode::INTERNAL_SERVER_ERROR, "bad code").into_response();
            }
            let session = random_id("sess");
            st.sessions.insert(session.clone());
            st.logins += 1;
            let mut set = vec!["oauth2_proxy_kubeflow_csrf=; Path=/; Max-Age=0".to_string()];
            let name = &dex.opts.cookie_name;
            if dex.opts.split_cookie {
                let (a, b) = session.split_at(session.len() / 2);
                set.push(format!(
                    "{name}_0={a}; Path=/; HttpOnly; Secure; SameSite=Lax"
                ));
                set.push(format!(
                    "{name}_1={b}; Path=/; HttpOnly; Secure; SameSite=Lax"
                ));
            } else {
                set.push(format!(
                    "{name}={session}; Path=/; HttpOnly; Secure; SameSite=Lax"
                ));
            }
            redirect(StatusCode::FOUND, rd, &set)
        }
        (DexFlow::AuthService, &Method::GET, ["authservice", "oidc", "callback"]) => {
            let code = query.get("code").cloned().unwrap_or_default();
            let state = query.get("state").cloned().unwrap_or_default();
            if st.codes.remove(&code).is_none() {
                return (StatusCode::UNAUTHORIZED, "bad code").into_response();
            }
            let back = st.return_to.remove(&state).unwrap_or_else(|| "/".into());
            let session = random_id("sess");
            st.sessions.insert(session.clone());
            st.logins += 1;
            redirect(
                StatusCode::FOUND,
                &back,
                &[format!("authservice_session={session}; Path=/; HttpOnly")],
            )
        }
        (_, &Method::GET, ["dex", "auth"]) => {
            let q = uri.query().unwrap_or_default();
            if dex.opts.connectors.len() == 1 {
                let c = &dex.opts.connectors[0];
                return redirect(StatusCode::FOUND, &format!("/dex/auth/{c}?{q}"), &[]);
            }
            let q_html = q.replace('&', "&amp;");
            let items: String = dex
                .opts
                .connectors
                .iter()
                .map(|c| {
                    format!(
                        "<li><a href=\"/dex/auth/{c}?{q_html}\" target=\"_self\"><button class=\"dex-btn theme-btn-provider\"><span class=\"dex-btn-text\">Log in with {c}</span></button></a></li>\n"
                    )
                })
                .collect();
            html(
                StatusCode::OK,
                format!(
                    "<!DOCTYPE html><html><head><title>dex</title></head><body><div class=\"theme-panel\"><h2 class=\"theme-heading\">Log in to dex</h2><div><ul class=\"dex-list\">\n{items}</ul></div></div></body></html>"
                ),
            )
        }
        (_, &Method::GET, ["dex", "auth", c]) if dex.opts.connectors.iter().any(|x| x == c) => {
            let req = random_id("req");
            st.auth_requests.insert(
                req.clone(),
                AuthRequest {
                    redirect_uri: query.get("redirect_uri").cloned().unwrap_or_default(),
                    state: query.get("state").cloned().unwrap_or_default(),
                    connector: c.to_string(),
                },
            );
            match dex.flow {
                // Older Dex: the form is served right here and posts back with ?req=.
                DexFlow::AuthService => login_page(
                    StatusCode::OK,
                    &format!("/dex/auth/{c}?client_id=kubeflow-oidc-authservice&amp;req={req}"),
                    None,
                ),
                DexFlow::OAuth2Proxy => redirect(
                    StatusCode::FOUND,
                    &format!("/dex/auth/{c}/login?back=&state={req}"),
                    &[],
                ),
            }
        }
        (DexFlow::OAuth2Proxy, &Method::GET, ["dex", "auth", c, "login"]) => {
            let req = query.get("state").cloned().unwrap_or_default();
            if !st.auth_requests.contains_key(&req) {
                return (StatusCode::BAD_REQUEST, "Invalid request").into_response();
            }
            login_page(
                StatusCode::OK,
                &format!("/dex/auth/{c}/login?back=&amp;state={req}"),
                None,
            )
        }
        (_, &Method::POST, ["dex", "auth", c])
        | (_, &Method::POST, ["dex", "auth", c, "login"]) => {
            let req = query
                .get("req")
                .or_else(|| query.get("state"))
                .cloned()
                .unwrap_or_default();
            let is_form = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if !is_form {
                return (StatusCode::BAD_REQUEST, "expected a form post").into_response();
            }
            let form = form_map(body);
            st.login_posts.push(form.clone());
            let Some(ar) = st.auth_requests.get(&req) else {
                return (StatusCode::BAD_REQUEST, "Invalid request").into_response();
            };
            if ar.connector != *c {
                return (StatusCode::BAD_REQUEST, "Invalid connector").into_response();
            }
            let ok = dex
                .opts
                .users
                .iter()
                .any(|(u, p)| form.get("login") == Some(u) && form.get("password") == Some(p));
            if !ok {
                st.failed_logins += 1;
                let action = uri.path_and_query().unwrap().as_str().replace('&', "&amp;");
                return login_page(
                    StatusCode::OK,
                    &action,
                    form.get("login").map(String::as_str),
                );
            }
            if dex.opts.approval {
                return redirect(
                    StatusCode::SEE_OTHER,
                    &format!("/dex/approval?req={req}&hmac=Zm9vYmFy"),
                    &[],
                );
            }
            complete(&mut st, &req)
        }
        (_, &Method::GET, ["dex", "approval"]) => {
            let req = query.get("req").cloned().unwrap_or_default();
            if !st.auth_requests.contains_key(&req) {
                return (StatusCode::BAD_REQUEST, "Invalid request").into_response();
            }
            html(
                StatusCode::OK,
                format!(
                    r#"<!DOCTYPE html><html><body><div class="theme-panel"><h2 class="theme-heading">Grant Access</h2>
<div class="dex-subtle-text">kubeflow-oidc-authservice would like to:</div>
<ul><li>View basic profile information</li><li>View your email address</li></ul>
<div><div class="theme-form-buttons"><form method="post"><input type="hidden" name="req" value="{req}"/><input type="hidden" name="approval" value="approve"><button type="submit" class="dex-btn theme-btn--success"><span class="dex-btn-text">Grant Access</span></button></form></div>
<div class="theme-form-buttons"><form method="post"><input type="hidden" name="req" value="{req}"/><input type="hidden" name="approval" value="rejected"><button type="submit" class="dex-btn theme-btn-provider"><span class="dex-btn-text">Cancel</span></button></form></div></div></div></body></html>"#
                ),
            )
        }
        (_, &Method::POST, ["dex", "approval"]) => {
            let form = form_map(body);
            let req = form.get("req").cloned().unwrap_or_default();
            if form.get("approval").map(String::as_str) != Some("approve") {
                let Some(ar) = st.auth_requests.remove(&req) else {
                    return (StatusCode::BAD_REQUEST, "Invalid request").into_response();
                };
                return redirect(
                    StatusCode::SEE_OTHER,
                    &format!(
                        "{}?error=access_denied&state={}",
                        ar.redirect_uri,
                        enc(&ar.state)
                    ),
                    &[],
                );
            }
            complete(&mut st, &req)
        }
        (_, _, ["dex", ..]) | (_, _, ["oauth2", ..]) | (_, _, ["authservice", ..]) => {
            (StatusCode::NOT_FOUND, "404 page not found").into_response()
        }
        _ => {
            // Everything else is behind the gateway.
            if has_session(dex, &st, &cookies) {
                if dex.opts.upstream.is_some() {
                    let mut resp = StatusCode::OK.into_response();
                    resp.extensions_mut().insert(Forward);
                    return resp;
                }
                if path == "/pipeline/apis/v2beta1/healthz" {
                    return (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        r#"{"commit_sha":"fake","tag_name":"2.5.0","multi_user":true}"#,
                    )
                        .into_response();
                }
                return html(
                    StatusCode::OK,
                    "<html><head><title>Kubeflow Pipelines</title></head><body></body></html>"
                        .into(),
                );
            }
            let original = uri.path_and_query().map_or("/".into(), |p| p.to_string());
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            match dex.flow {
                // oauth2-proxy treats a request that accepts only JSON as an API call: 401.
                DexFlow::OAuth2Proxy if accept == "application/json" => {
                    (StatusCode::UNAUTHORIZED, "Unauthorized").into_response()
                }
                DexFlow::OAuth2Proxy if dex.opts.sign_in_page => html(
                    StatusCode::FORBIDDEN,
                    format!(
                        r#"<!DOCTYPE html><html><head><title>Sign In</title></head><body><section class="section"><div class="box block has-text-centered">
<form method="GET" action="/oauth2/start"><input type="hidden" name="rd" value="{}"><button type="submit" class="button is-primary">Sign in with Dex</button><br/></form>
</div></section></body></html>"#,
                        original.replace('&', "&amp;").replace('"', "&quot;")
                    ),
                ),
                DexFlow::OAuth2Proxy => redirect(
                    StatusCode::FOUND,
                    &format!("/oauth2/start?rd={}", enc(&original)),
                    &[],
                ),
                DexFlow::AuthService => {
                    let state = random_id("st");
                    st.return_to.insert(state.clone(), original);
                    redirect(
                        StatusCode::FOUND,
                        &format!(
                            "/dex/auth?client_id=kubeflow-oidc-authservice&redirect_uri={}&response_type=code&scope=openid+profile+email+groups&state={state}",
                            enc("/authservice/oidc/callback")
                        ),
                        &[],
                    )
                }
            }
        }
    }
}

fn has_session(dex: &Dex, st: &DexState, cookies: &HashMap<String, String>) -> bool {
    let name = &dex.opts.cookie_name;
    let value = match dex.flow {
        DexFlow::AuthService => cookies.get("authservice_session").cloned(),
        DexFlow::OAuth2Proxy if dex.opts.split_cookie => {
            match (
                cookies.get(&format!("{name}_0")),
                cookies.get(&format!("{name}_1")),
            ) {
                (Some(a), Some(b)) => Some(format!("{a}{b}")),
                _ => None,
            }
        }
        DexFlow::OAuth2Proxy => cookies.get(name).cloned(),
    };
    value.is_some_and(|v| st.sessions.contains(&v))
}

/// The login succeeded (and was approved): send the browser back to the client with a code.
fn complete(st: &mut DexState, req: &str) -> Response {
    let Some(ar) = st.auth_requests.remove(req) else {
        return (StatusCode::BAD_REQUEST, "Invalid request").into_response();
    };
    let code = random_id("code");
    st.codes
        .insert(code.clone(), (ar.redirect_uri.clone(), ar.state.clone()));
    redirect(
        StatusCode::SEE_OTHER,
        &format!("{}?code={code}&state={}", ar.redirect_uri, enc(&ar.state)),
        &[],
    )
}

/// Dex's password.html, as rendered (with the error box after a rejected post).
fn login_page(status: StatusCode, action: &str, rejected_user: Option<&str>) -> Response {
    let (value, error) = match rejected_user {
        Some(user) => (
            format!(" value=\"{user}\""),
            "<div id=\"login-error\" class=\"dex-error-box\">Invalid Email Address and password.</div>",
        ),
        None => (" autofocus".to_string(), ""),
    };
    html(
        status,
        format!(
            r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>dex</title>
<script>function x() {{ return 1 < 2; }}</script></head>
<body class="theme-body"><div class="theme-panel">
  <h2 class="theme-heading">Log in to Your Account</h2>
  <form method="post" action="{action}">
    <div class="theme-form-row">
      <div class="theme-form-label"><label for="userid">Email Address</label></div>
      <input tabindex="1" required id="login" name="login" type="text" class="theme-form-input" placeholder="email address"{value}/>
    </div>
    <div class="theme-form-row">
      <div class="theme-form-label"><label for="password">Password</label></div>
      <input tabindex="2" required id="password" name="password" type="password" class="theme-form-input" placeholder="password"/>
    </div>
    {error}
    <button tabindex="3" id="submit-login" type="submit" class="dex-btn theme-btn--primary">Login</button>
  </form>
</div></body></html>"#
        ),
    )
}

// ───────────────────────────────────────── IAP ─────────────────────────────────────────

struct IapState {
    issued: Vec<String>,
    rejected: usize,
    no_service_account: bool,
    /// Access tokens handed out (JWT, refresh and metadata grants), in order.
    access_tokens: Vec<String>,
    /// `expires_in` of every access token.
    expires_in: u64,
    /// Refresh tokens the endpoint accepts (revoking removes one).
    refresh_tokens: HashSet<String>,
    /// The `scope` the refresh grant reports (as Google does for user credentials).
    user_scope: String,
    /// The VM's access scopes, as the metadata server lists them.
    vm_scopes: Vec<String>,
    /// Every form posted to /token, decoded (to check what kfpx sent).
    token_posts: Vec<HashMap<String, String>>,
}

impl Default for IapState {
    fn default() -> IapState {
        IapState {
            issued: Vec::new(),
            rejected: 0,
            no_service_account: false,
            access_tokens: Vec::new(),
            expires_in: 3599,
            refresh_tokens: [FakeIap::REFRESH_TOKEN.to_string()].into(),
            user_scope: format!(
                "openid {CLOUD_PLATFORM} https://www.googleapis.com/auth/userinfo.email"
            ),
            vm_scopes: vec![CLOUD_PLATFORM.into()],
            token_posts: Vec::new(),
        }
    }
}

pub const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

pub struct FakeIap {
    addr: SocketAddr,
    state: Arc<Mutex<IapState>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeIap {
    pub const CLIENT_EMAIL: &'static str = "kfpx-test@kfpx-test.iam.gserviceaccount.com";

    pub fn start() -> FakeIap {
        let state = Arc::new(Mutex::new(IapState::default()));
        // The token endpoint checks `aud` against its own URL, known once bound.
        let token_uri = Arc::new(Mutex::new(String::new()));
        let app = axum::Router::new()
            .fallback(iap_handle)
            .with_state((state.clone(), token_uri.clone()));
        let (addr, stop) = serve(app);
        *token_uri.lock().unwrap() = format!("http://{addr}/token");
        FakeIap {
            addr,
            state,
            _stop: stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Google's token endpoint (the `token_uri` of the key files written here).
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url())
    }

    /// For `GCE_METADATA_HOST` (host:port, no scheme, as Google's libraries expect).
    pub fn metadata_host(&self) -> String {
        self.addr.to_string()
    }

    /// Write a service-account key JSON (test key pair, `token_uri` = this fake) into `dir`.
    pub fn write_key_file(&self, dir: &Path) -> PathBuf {
        self.write_key(dir, "sa-key.json", TEST_PRIVATE_KEY)
    }

    /// The same, signed with a key the token endpoint does not know (as a deleted key).
    pub fn write_unknown_key_file(&self, dir: &Path) -> PathBuf {
        self.write_key(dir, "unknown-key.json", OTHER_PRIVATE_KEY)
    }

    fn write_key(&self, dir: &Path, name: &str, private_key: &str) -> PathBuf {
        let key = serde_json::json!({
            "type": "service_account",
            "project_id": "kfpx-test",
            "private_key_id": "0123456789abcdef",
            "private_key": private_key,
            "client_email": FakeIap::CLIENT_EMAIL,
            "client_id": "100000000000000000000",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
        });
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(&key).unwrap()).unwrap();
        path
    }

    /// Every ID token handed out (token endpoint and metadata server), in order.
    pub fn issued(&self) -> Vec<String> {
        self.state.lock().unwrap().issued.clone()
    }

    /// Token requests refused (bad signature, wrong claims).
    pub fn rejected(&self) -> usize {
        self.state.lock().unwrap().rejected
    }

    /// The OAuth client of gcloud's / the user's credentials, and a valid refresh token.
    pub const USER_CLIENT_ID: &'static str = "764086051850-user.apps.googleusercontent.com";
    pub const USER_CLIENT_SECRET: &'static str = "d-FL95Q19q7MQmFpd7hHD0Ty";
    pub const REFRESH_TOKEN: &'static str = "1//0refresh-token-secret";
    /// The authorization code the test, acting as the browser, brings to the loopback redirect.
    pub const AUTH_CODE: &'static str = "4/0AuthCode-secret";

    /// An `authorized_user` file as `gcloud auth application-default login` writes it (no
    /// `token_uri`: point KFPX_GOOGLE_TOKEN_URI at [`FakeIap::token_uri`]).
    pub fn write_user_file(&self, path: &Path) {
        let json = serde_json::json!({
            "account": "",
            "client_id": FakeIap::USER_CLIENT_ID,
            "client_secret": FakeIap::USER_CLIENT_SECRET,
            "quota_project_id": "kfpx-test",
            "refresh_token": FakeIap::REFRESH_TOKEN,
            "type": "authorized_user",
            "universe_domain": "googleapis.com"
        });
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    }

    /// Access tokens handed out, in order.
    pub fn access_tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().access_tokens.clone()
    }

    /// Every form posted to the token endpoint.
    pub fn token_posts(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().token_posts.clone()
    }

    /// `expires_in` for the access tokens handed out from now on.
    pub fn set_expires_in(&self, seconds: u64) {
        self.state.lock().unwrap().expires_in = seconds;
    }

    /// Revoke a refresh token: the refresh grant answers `invalid_grant`.
    pub fn revoke(&self, refresh_token: &str) {
        self.state
            .lock()
            .unwrap()
            .refresh_tokens
            .remove(refresh_token);
    }

    /// The scope the refresh grant reports for user credentials.
    pub fn set_user_scope(&self, scope: &str) {
        self.state.lock().unwrap().user_scope = scope.into();
    }

    /// The VM's access scopes (the metadata server's token carries only these).
    pub fn set_vm_scopes(&self, scopes: &[&str]) {
        self.state.lock().unwrap().vm_scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// Make the metadata server answer 404, as on a VM without a service account.
    pub fn remove_metadata_service_account(&self) {
        self.state.lock().unwrap().no_service_account = true;
    }
}

type IapShared = (Arc<Mutex<IapState>>, Arc<Mutex<String>>);

async fn iap_handle(
    State((state, token_uri)): State<IapShared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token_uri = token_uri.lock().unwrap().clone();
    let mut st = state.lock().unwrap();
    match (&method, uri.path()) {
        (&Method::POST, "/token") => {
            let form = form_map(&body);
            let error = |st: &mut IapState, error: &str, description: &str| {
                st.rejected += 1;
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(
                        serde_json::json!({"error": error, "error_description": description}),
                    ),
                )
                    .into_response()
            };
            st.token_posts.push(form.clone());
            match form.get("grant_type").map(String::as_str) {
                Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {}
                Some("refresh_token") => {
                    if form.get("client_id").map(String::as_str) != Some(FakeIap::USER_CLIENT_ID)
                        || form.get("client_secret").map(String::as_str)
                            != Some(FakeIap::USER_CLIENT_SECRET)
                    {
                        st.rejected += 1;
                        return (
                            StatusCode::UNAUTHORIZED,
                            axum::Json(serde_json::json!({"error": "invalid_client", "error_description": "The OAuth client was not found."})),
                        )
                            .into_response();
                    }
                    let rt = form.get("refresh_token").cloned().unwrap_or_default();
                    if !st.refresh_tokens.contains(&rt) {
                        return error(
                            &mut st,
                            "invalid_grant",
                            "Token has been expired or revoked.",
                        );
                    }
                    if let Some(audience) = form.get("audience") {
                        let token = format!("user-id-token.{audience}.{}", st.issued.len() + 1);
                        st.issued.push(token.clone());
                        return axum::Json(serde_json::json!({
                            "access_token": "user-access-token-for-id", "expires_in": 3599,
                            "id_token": token, "token_type": "Bearer"
                        }))
                        .into_response();
                    }
                    let token = format!("user-access-token.{}", st.access_tokens.len() + 1);
                    st.access_tokens.push(token.clone());
                    return axum::Json(serde_json::json!({
                        "access_token": token, "expires_in": st.expires_in,
                        "scope": st.user_scope, "token_type": "Bearer"
                    }))
                    .into_response();
                }
                Some("authorization_code") => {
                    if form.get("client_id").map(String::as_str) != Some(FakeIap::USER_CLIENT_ID)
                        || form.get("client_secret").map(String::as_str)
                            != Some(FakeIap::USER_CLIENT_SECRET)
                    {
                        st.rejected += 1;
                        return (
                            StatusCode::UNAUTHORIZED,
                            axum::Json(serde_json::json!({"error": "invalid_client", "error_description": "Unauthorized"})),
                        )
                            .into_response();
                    }
                    let loopback = form
                        .get("redirect_uri")
                        .is_some_and(|r| r.starts_with("http://127.0.0.1:"));
                    if form.get("code").map(String::as_str) != Some(FakeIap::AUTH_CODE)
                        || !loopback
                        || form.get("code_verifier").is_none_or(|v| v.len() < 43)
                    {
                        return error(&mut st, "invalid_grant", "Bad Request");
                    }
                    return axum::Json(serde_json::json!({
                        "access_token": "login-access-token", "expires_in": 3599,
                        "refresh_token": FakeIap::REFRESH_TOKEN, "scope": "openid https://www.googleapis.com/auth/userinfo.email",
                        "token_type": "Bearer", "id_token": "login-id-token"
                    }))
                    .into_response();
                }
                _ => return error(&mut st, "unsupported_grant_type", "Invalid grant_type."),
            }
            let assertion = form.get("assertion").cloned().unwrap_or_default();
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_audience(&[token_uri.as_str()]);
            validation.set_issuer(&[FakeIap::CLIENT_EMAIL]);
            validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
            let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap();
            let claims =
                match jsonwebtoken::decode::<serde_json::Value>(&assertion, &key, &validation) {
                    Ok(data) => data.claims,
                    Err(e)
                        if matches!(
                            e.kind(),
                            jsonwebtoken::errors::ErrorKind::InvalidSignature
                        ) =>
                    {
                        return error(&mut st, "invalid_grant", "Invalid JWT Signature.")
                    }
                    Err(e) => return error(&mut st, "invalid_grant", &format!("Invalid JWT: {e}")),
                };
            let Some(audience) = claims["target_audience"].as_str() else {
                // Without target_audience Google issues an access token for the `scope` claim
                // (https://developers.google.com/identity/protocols/oauth2/service-account).
                let scope = claims["scope"].as_str().unwrap_or_default();
                if scope.is_empty() {
                    return error(
                        &mut st,
                        "invalid_scope",
                        "Invalid oauth scope or ID token audience provided.",
                    );
                }
                let token = format!("sa-access-token.{}", st.access_tokens.len() + 1);
                st.access_tokens.push(token.clone());
                return (
                    StatusCode::OK,
                    axum::Json(serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": st.expires_in})),
                )
                    .into_response();
            };
            let token = format!("iap-id-token.{audience}.{}", st.issued.len() + 1);
            st.issued.push(token.clone());
            axum::Json(serde_json::json!({ "id_token": token })).into_response()
        }
        (&Method::GET, "/computeMetadata/v1/instance/service-accounts/default/token")
        | (&Method::GET, "/computeMetadata/v1/instance/service-accounts/default/scopes") => {
            if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
                return (
                    StatusCode::FORBIDDEN,
                    "Missing Metadata-Flavor:Google header.",
                )
                    .into_response();
            }
            if st.no_service_account {
                return (StatusCode::NOT_FOUND, "Not Found\n").into_response();
            }
            if uri.path().ends_with("/scopes") {
                return format!("{}\n", st.vm_scopes.join("\n")).into_response();
            }
            let token = format!("metadata-access-token.{}", st.access_tokens.len() + 1);
            st.access_tokens.push(token.clone());
            axum::Json(serde_json::json!({"access_token": token, "expires_in": st.expires_in, "token_type": "Bearer"}))
                .into_response()
        }
        (&Method::GET, "/computeMetadata/v1/instance/service-accounts/default/identity") => {
            if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
                return (
                    StatusCode::FORBIDDEN,
                    "Missing Metadata-Flavor:Google header.",
                )
                    .into_response();
            }
            if st.no_service_account {
                return (StatusCode::NOT_FOUND, "Not Found\n").into_response();
            }
            let query = query_map(&uri);
            let Some(audience) = query.get("audience").filter(|a| !a.is_empty()) else {
                return (
                    StatusCode::BAD_REQUEST,
                    "non-empty audience parameter required\n",
                )
                    .into_response();
            };
            if query.get("format").map(String::as_str) != Some("full") {
                return (StatusCode::BAD_REQUEST, "kfpx must ask for format=full\n")
                    .into_response();
            }
            let token = format!("metadata-id-token.{audience}.{}", st.issued.len() + 1);
            st.issued.push(token.clone());
            (
                [
                    ("metadata-flavor", "Google"),
                    ("content-type", "text/plain"),
                ],
                token,
            )
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
