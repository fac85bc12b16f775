//! HTTP transport to the KFP API server: one reqwest client (rustls), auth applied to every
//! request, bounded retries with backoff and jitter for calls that may be repeated, creation
//! calls that look before they retry, and every error body turned into one readable line.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::config::KfpVersion;
use crate::kfp::auth::{Auth, AuthEnv};
use crate::kfp::KfpError;

/// Attempts for a call that may be repeated (GET, DELETE) and for creation calls.
const MAX_TRIES: u32 = 4;
/// First backoff; doubled per attempt, plus up to 50 % jitter.
const BASE_DELAY: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The endpoint as configured, e.g. `https://kubeflow.example.com/pipeline` (no trailing /).
    pub endpoint: Url,
    pub version: KfpVersion,
    pub request_timeout: Duration,
    pub insecure_skip_tls_verify: bool,
    pub ca_bundle: Option<std::path::PathBuf>,
}

/// What healthz told us about the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// `tag_name`, e.g. `2.5.0`; `None` when the server did not say.
    pub tag: Option<String>,
    pub multi_user: bool,
}

impl ServerInfo {
    /// `(major, minor, patch)` of `tag` (`v2.14.0`, `2.5.0-rc.1`, `1.8.5` all work).
    pub fn version(&self) -> Option<(u64, u64, u64)> {
        let tag = self.tag.as_deref()?.trim().trim_start_matches('v');
        let core = tag.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some((major, minor, patch))
    }

    /// Whether the server is at least `major.minor`; an unknown version counts as new (only
    /// optional, ignorable things are gated on it).
    pub fn at_least(&self, major: u64, minor: u64) -> bool {
        match self.version() {
            Some((ma, mi, _)) => (ma, mi) >= (major, minor),
            None => true,
        }
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    Json(Value),
    /// A pipeline file as multipart field `uploadfile`.
    Upload {
        filename: String,
        bytes: Vec<u8>,
    },
}

/// One API call. `path` is relative to `/apis/<version>` and starts with `/`.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    /// What the call does, for messages: "KFP rejected <action>: …".
    pub action: String,
    /// Another API version than the client's (2.x servers serve both).
    pub api: Option<KfpVersion>,
}

impl Call {
    pub fn get(path: impl Into<String>, action: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: Body::Empty,
            action: action.into(),
            api: None,
        }
    }
    pub fn post(path: impl Into<String>, body: Body, action: impl Into<String>) -> Call {
        Call {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body,
            action: action.into(),
            api: None,
        }
    }
    pub fn delete(path: impl Into<String>, action: impl Into<String>) -> Call {
        Call {
            method: Method::DELETE,
            path: path.into(),
            query: Vec::new(),
            body: Body::Empty,
            action: action.into(),
            api: None,
        }
    }
    /// Send to `/apis/<version>` whatever the client's version.
    pub fn on_api(mut self, version: KfpVersion) -> Call {
        self.api = Some(version);
        self
    }
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Call {
        self.query.push((key.to_string(), value.into()));
        self
    }
    pub fn query_opt(self, key: &str, value: Option<&str>) -> Call {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }
}

/// A failed attempt, with what it means for retrying.
#[derive(Debug)]
struct Failure {
    error: KfpError,
    /// Worth trying again (connection problems, 429, 5xx, timeouts).
    transient: bool,
    /// The server may have received and applied the request.
    maybe_applied: bool,
    /// The credentials were refused (HTTP 401, or a redirect to a login page): renewing them
    /// may help.
    reauth: bool,
}

/// The KFP API client. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    options: ClientOptions,
    /// `<endpoint>/apis/v2beta1` or `<endpoint>/apis/v1beta1`.
    api_base: String,
    auth: tokio::sync::Mutex<Auth>,
    auth_name: String,
    server: ServerInfo,
    /// The endpoint for messages and logs: a password in it shown as `***`.
    shown_endpoint: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.shown_endpoint)
            .field("auth", &self.inner.auth_name)
            .field("server", &self.inner.server)
            .finish()
    }
}

/// `<endpoint>/apis/<v>`: paths are appended, so an endpoint ending in `/pipeline` works.
pub fn api_base(endpoint: &Url, version: KfpVersion) -> String {
    let base = endpoint.as_str().trim_end_matches('/');
    match version {
        KfpVersion::V2 => format!("{base}/apis/v2beta1"),
        KfpVersion::V1 => format!("{base}/apis/v1beta1"),
    }
}

/// The reqwest client: rustls, timeouts, optional CA bundle / no verification, cookies kept.
pub fn build_http(options: &ClientOptions) -> Result<reqwest::Client, KfpError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("kfpx/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT.min(options.request_timeout))
        .timeout(options.request_timeout)
        .cookie_store(true)
        .danger_accept_invalid_certs(options.insecure_skip_tls_verify);
    if let Some(path) = &options.ca_bundle {
        let pem = std::fs::read(path).map_err(|e| {
            KfpError::Other(format!(
                "cannot read the CA bundle {}: {e} (--ca-bundle / KF_PIPELINES_CA_BUNDLE)",
                path.display()
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            KfpError::Other(format!(
                "the CA bundle {} is not a PEM certificate file: {e}",
                path.display()
            ))
        })?;
        if certs.is_empty() {
            return Err(KfpError::Other(format!(
                "the CA bundle {} holds no PEM certificate",
                path.display()
            )));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| KfpError::Other(format!("cannot set up the HTTP client: {e}")))
}

impl Client {
    /// Set up transport and credentials, then read healthz once (which also checks that the
    /// endpoint is the API: a refused connection or an HTML page fails here, early).
    pub async fn connect(options: ClientOptions, auth_env: &AuthEnv) -> Result<Client, KfpError> {
        let http = build_http(&options)?;
        let auth = Auth::discover(&options.endpoint, &http, auth_env).await?;
        let auth_name = auth.describe();
        tracing::info!("KFP credentials: {auth_name}");
        let api_base = api_base(&options.endpoint, options.version);
        let shown_endpoint = redacted(&options.endpoint);
        let mut client = Client {
            inner: Arc::new(Inner {
                http,
                options,
                api_base,
                auth: tokio::sync::Mutex::new(auth),
                auth_name,
                server: ServerInfo::default(),
                shown_endpoint,
            }),
        };
        let server = client.read_healthz().await?;
        tracing::info!(
            "KFP server {} (multi-user: {})",
            server.tag.as_deref().unwrap_or("of unknown version"),
            server.multi_user
        );
        if let Some(inner) = Arc::get_mut(&mut client.inner) {
            inner.server = server;
        }
        Ok(client)
    }

    async fn read_healthz(&self) -> Result<ServerInfo, KfpError> {
        match self.call(Call::get("/healthz", "the health check")).await {
            Ok(v) => Ok(ServerInfo {
                tag: v
                    .get("tag_name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                multi_user: v
                    .get("multi_user")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }),
            // Old or unusual servers without healthz: carry on, version unknown.
            Err(KfpError::Rejected { status: 404, .. }) => Ok(ServerInfo::default()),
            Err(e) => Err(e),
        }
    }

    pub fn version(&self) -> KfpVersion {
        self.inner.options.version
    }

    pub fn server(&self) -> &ServerInfo {
        &self.inner.server
    }

    pub fn endpoint(&self) -> &Url {
        &self.inner.options.endpoint
    }

    /// The endpoint for messages: a password in it shown as `***`.
    pub fn shown_endpoint(&self) -> &str {
        &self.inner.shown_endpoint
    }

    /// The credentials in use, by provider name (never the secret).
    pub fn auth_name(&self) -> &str {
        &self.inner.auth_name
    }

    /// A call that may be repeated (GET, DELETE, …): retried with backoff on transient errors,
    /// and once with renewed credentials when they were refused (401 or a login redirect).
    pub async fn call(&self, call: Call) -> Result<Value, KfpError> {
        let mut attempt = 1;
        let mut renewed = false;
        loop {
            match self.attempt(&call).await {
                Ok(v) => return Ok(v),
                Err(f) if f.reauth && !renewed => {
                    renewed = true;
                    if !self.renew_credentials().await? {
                        return Err(f.error);
                    }
                }
                Err(f) if f.transient && attempt < MAX_TRIES => {
                    tracing::info!("{} failed ({}), retrying", call.action, f.error);
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    /// A call that creates something, never blindly repeated: after a failure that may have
    /// been applied (5xx, timeout, dropped connection), `lookup` checks whether the thing
    /// exists now; only if it does not is the call repeated. After refused credentials (401 or
    /// a login redirect) they are renewed once, and `lookup` runs before the create is sent
    /// again.
    pub async fn create<T, P, L, Fut>(&self, call: Call, parse: P, lookup: L) -> Result<T, KfpError>
    where
        P: Fn(Value) -> Result<T, KfpError>,
        L: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, KfpError>>,
    {
        let mut attempt = 1;
        let mut renewed = false;
        loop {
            match self.attempt(&call).await {
                Ok(v) => return parse(v),
                Err(f) if f.reauth && !renewed => {
                    renewed = true;
                    if !self.renew_credentials().await? {
                        return Err(f.error);
                    }
                    if let Some(found) = lookup().await? {
                        tracing::info!("{} had been applied; not repeating it", call.action);
                        return Ok(found);
                    }
                }
                Err(f) if f.transient && attempt < MAX_TRIES => {
                    tracing::info!(
                        "{} failed ({}), checking before retrying",
                        call.action,
                        f.error
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                    if f.maybe_applied {
                        if let Some(found) = lookup().await? {
                            tracing::info!("{} had been applied; not repeating it", call.action);
                            return Ok(found);
                        }
                    }
                    attempt += 1;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    /// Re-read or re-obtain the credentials after they were refused; `false` when there is
    /// nothing new to try.
    async fn renew_credentials(&self) -> Result<bool, KfpError> {
        let renewed = self
            .inner
            .auth
            .lock()
            .await
            .refresh(&self.inner.http)
            .await?;
        if renewed {
            tracing::info!("credentials refused: renewed them, trying again");
        }
        Ok(renewed)
    }

    /// Every credential tried so far, renewals included (for 401/403 messages).
    async fn tried(&self) -> String {
        let auth = self.inner.auth.lock().await;
        let tried = auth.tried();
        if tried.is_empty() {
            auth.describe()
        } else {
            tried.join(", then ")
        }
    }

    /// One exchange.
    async fn attempt(&self, call: &Call) -> Result<Value, Failure> {
        let url = match call.api {
            Some(v) if v != self.inner.options.version => {
                format!("{}{}", api_base(&self.inner.options.endpoint, v), call.path)
            }
            _ => format!("{}{}", self.inner.api_base, call.path),
        };
        let mut rb = self
            .inner
            .http
            .request(call.method.clone(), &url)
            .header(reqwest::header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            rb = rb.query(&call.query);
        }
        rb = match &call.body {
            Body::Empty => rb,
            Body::Json(v) => rb.json(v),
            Body::Upload { filename, bytes } => {
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(filename.clone())
                    .mime_str("application/octet-stream")
                    .map_err(|e| Failure {
                        error: KfpError::Other(format!("cannot build the upload: {e}")),
                        transient: false,
                        maybe_applied: false,
                        reauth: false,
                    })?;
                rb.multipart(reqwest::multipart::Form::new().part("uploadfile", part))
            }
        };
        {
            let mut auth = self.inner.auth.lock().await;
            auth.prepare(&self.inner.http)
                .await
                .map_err(|error| Failure {
                    error,
                    transient: false,
                    maybe_applied: false,
                    reauth: false,
                })?;
            rb = auth.apply(rb);
        }

        let started = Instant::now();
        let result = rb.send().await;
        let elapsed = started.elapsed().as_millis();
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(
                    "{} {} -> failed in {elapsed} ms",
                    call.method,
                    redacted_str(&url)
                );
                return Err(self.transport_failure(&e));
            }
        };
        let status = resp.status();
        let final_url = resp.url().clone();
        let redirected = Url::parse(&url).is_ok_and(|asked| {
            asked.origin() != final_url.origin() || asked.path() != final_url.path()
        });
        tracing::info!(
            "{} {} -> {} in {elapsed} ms{}",
            call.method,
            redacted_str(&url),
            status.as_u16(),
            if redirected {
                format!(
                    " (redirected to {}{})",
                    origin(&final_url),
                    final_url.path()
                )
            } else {
                String::new()
            }
        );
        let is_html = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html"));
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Err(self.transport_failure(&e)),
        };

        let html = is_html || looks_like_html(&text);
        let login_redirect = html && redirected && is_login_page(&final_url);
        let refused = status == StatusCode::UNAUTHORIZED || login_redirect;
        let tried = if refused || status == StatusCode::FORBIDDEN {
            self.tried().await
        } else {
            String::new()
        };
        let result = self.interpret(
            call,
            status,
            html,
            &text,
            login_redirect.then_some(&final_url),
            &tried,
        );
        result.map_err(|f| Failure {
            reauth: refused,
            ..f
        })
    }

    fn interpret(
        &self,
        call: &Call,
        status: StatusCode,
        html: bool,
        text: &str,
        login_page: Option<&Url>,
        tried: &str,
    ) -> Result<Value, Failure> {
        let code = status.as_u16();
        let fail = |error: KfpError, transient: bool| Failure {
            error,
            transient,
            maybe_applied: transient && code != 429,
            reauth: false,
        };
        if status == StatusCode::UNAUTHORIZED {
            return Err(fail(self.unauthorized(text, html, tried), false));
        }
        if status == StatusCode::FORBIDDEN {
            let message = if html { None } else { error_message(text) };
            return Err(fail(
                KfpError::Auth(format!(
                    "KFP denied {} (HTTP 403){}; tried: {}. Check the namespace \
                     (--namespace, --experiment-namespace, KF_PIPELINES_NAMESPACE) and that \
                     this user may use it, or provide other credentials ({})",
                    call.action,
                    message.map(|m| format!(": {m}")).unwrap_or_default(),
                    tried,
                    CREDENTIAL_HINT
                )),
                false,
            ));
        }
        let transient = matches!(code, 429 | 500 | 502 | 503 | 504);
        if let (true, Some(login)) = (html, login_page) {
            return Err(fail(
                KfpError::Auth(format!(
                    "KFP at {} sent kfpx to a login page ({}{}): the request was not \
                     authenticated; tried: {}. Provide credentials: {}",
                    self.inner.shown_endpoint,
                    origin(login),
                    login.path(),
                    tried,
                    CREDENTIAL_HINT
                )),
                false,
            ));
        }
        if html {
            // A UI or dashboard server instead of the API.
            return Err(fail(
                KfpError::Html {
                    url: self.inner.shown_endpoint.clone(),
                },
                transient && code != 200,
            ));
        }
        if !status.is_success() {
            let message = error_message(text).unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("no error message")
                    .to_string()
            });
            tracing::debug!("error body: {}", one_line(text, 2000));
            return Err(fail(
                KfpError::Rejected {
                    action: call.action.clone(),
                    status: code,
                    message,
                },
                transient,
            ));
        }
        if text.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_str(text).map_err(|_| {
            fail(
                KfpError::Other(format!(
                    "KFP at {} answered {} with something that is not JSON (\"{}\"): check the \
                     host path",
                    self.inner.shown_endpoint,
                    call.path,
                    one_line(text, 80)
                )),
                false,
            )
        })
    }

    fn unauthorized(&self, text: &str, html: bool, tried: &str) -> KfpError {
        let message = if html { None } else { error_message(text) };
        KfpError::Auth(format!(
            "KFP at {} refused the credentials (HTTP 401{}); tried: {}. Provide others: {}",
            self.inner.shown_endpoint,
            message.map(|m| format!(": {m}")).unwrap_or_default(),
            tried,
            CREDENTIAL_HINT
        ))
    }

    fn transport_failure(&self, e: &reqwest::Error) -> Failure {
        let url = self.inner.shown_endpoint.clone();
        let detail = root_cause(e);
        if e.is_timeout() {
            return Failure {
                error: KfpError::Other(format!(
                    "KFP at {url} did not answer within {} s (raise --request-timeout)",
                    self.inner.options.request_timeout.as_secs()
                )),
                transient: true,
                maybe_applied: true,
                reauth: false,
            };
        }
        if e.is_connect() {
            let hint = if detail.to_ascii_lowercase().contains("certificate") {
                "; trust the server's CA with --ca-bundle FILE, or skip verification with \
                 --insecure-skip-tls-verify"
            } else {
                ""
            };
            return Failure {
                error: KfpError::Unreachable {
                    url,
                    detail: format!("{detail}{hint}"),
                },
                transient: true,
                maybe_applied: false,
                reauth: false,
            };
        }
        // The connection broke after the request went out: it may have been applied.
        Failure {
            error: KfpError::Unreachable { url, detail },
            transient: true,
            maybe_applied: true,
            reauth: false,
        }
    }
}

/// `s` as one URL path segment (`[p] x (env: y)` → `%5Bp%5D%20x%20(env:%20y)`).
pub fn path_segment(s: &str) -> String {
    let mut u = Url::parse("http://x/").expect("a constant URL");
    if let Ok(mut segs) = u.path_segments_mut() {
        segs.push(s);
    }
    u.path().trim_start_matches('/').to_string()
}

/// How to provide credentials, for 401/403 messages.
pub const CREDENTIAL_HINT: &str = "a bearer token in KF_PIPELINES_TOKEN, a service-account \
token file in KF_PIPELINES_SA_TOKEN_PATH, DEX_USERNAME/DEX_PASSWORD for a Dex login, \
IAP_CLIENT_ID for Google IAP, or a session cookie in KF_PIPELINES_COOKIE";

fn backoff(attempt: u32) -> Duration {
    let base = BASE_DELAY * 2u32.pow(attempt.saturating_sub(1).min(6));
    let jitter = rand::random_range(0..=base.as_millis() as u64 / 2);
    base + Duration::from_millis(jitter)
}

/// `u` for messages and logs: a password in it shown as `***` (the user name is kept, so the
/// user recognises the URL).
pub fn redacted(u: &Url) -> String {
    if u.password().is_none() {
        return u.to_string();
    }
    let mut shown = u.clone();
    let _ = shown.set_password(Some("***"));
    shown.to_string()
}

/// [`redacted`] for a URL held as text (left as is when it does not parse).
fn redacted_str(u: &str) -> String {
    Url::parse(u).map_or_else(|_| u.to_string(), |u| redacted(&u))
}

/// `scheme://host[:port]` (no credentials, path or query).
fn origin(u: &Url) -> String {
    u.origin().ascii_serialization()
}

/// A redirect target that is a sign-in page (Dex, oauth2-proxy, oidc-authservice, IAP, …).
fn is_login_page(u: &Url) -> bool {
    let p = u.path().to_ascii_lowercase();
    ["/dex", "/oauth2", "/auth", "login", "signin", "sign_in"]
        .iter()
        .any(|k| p.contains(k))
        || u.host_str()
            .is_some_and(|h| h.starts_with("accounts.google."))
}

fn looks_like_html(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('<') && {
        let head: String = t.chars().take(200).collect::<String>().to_ascii_lowercase();
        head.contains("<!doctype html") || head.contains("<html") || head.contains("<head")
    }
}

/// The innermost cause of a transport error ("Connection refused (os error 111)").
fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(s) = source.source() {
        source = s;
    }
    source.to_string()
}

/// Text on one line, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > max {
        let cut: String = joined.chars().take(max).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

/// The user-facing message of a KFP error body, in any of its forms: google.rpc.Status
/// `{code, message, details[].message}` (the full message, which contains the short detail
/// one and the context around it; the detail when there is no message), the upload
/// endpoints' `{error_message, error_details}`, grpc-gateway v1's `{error}`, or plain text.
pub fn error_message(body: &str) -> Option<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| one_line(s, 500))
        };
        let detail = map
            .get("details")
            .and_then(Value::as_array)
            .and_then(|ds| ds.iter().find_map(|d| text(d.get("message"))));
        return text(map.get("message"))
            .or(detail)
            .or_else(|| text(map.get("error_message")))
            .or_else(|| text(map.get("error")))
            .or_else(|| text(map.get("error_details")))
            .or_else(|| Some(one_line(trimmed, 300)));
    }
    Some(one_line(trimmed, 300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_status_gives_the_full_message_then_the_detail() {
        let body = r#"{"code":7,"message":"Failed to authorize with API: PermissionDenied: User 'u' is not authorized (Namespace:team-x)",
            "details":[{"@type":"type.googleapis.com/google.rpc.Status","code":7,"message":"User 'u' is not authorized (Namespace:team-x)"}]}"#;
        assert_eq!(
            error_message(body).unwrap(),
            "Failed to authorize with API: PermissionDenied: User 'u' is not authorized (Namespace:team-x)"
        );
        let body = r#"{"code":6,"details":[{"code":6,"message":"name already exist"}]}"#;
        assert_eq!(error_message(body).unwrap(), "name already exist");
    }

    #[test]
    fn rpc_status_without_details_uses_message() {
        let body = r#"{"code":3,"message":"Invalid input error: page size\nmust be positive"}"#;
        assert_eq!(
            error_message(body).unwrap(),
            "Invalid input error: page size must be positive"
        );
    }

    #[test]
    fn gateway_v1_and_upload_bodies() {
        assert_eq!(
            error_message(r#"{"error":"bad thing","code":3}"#).unwrap(),
            "bad thing"
        );
        let upload = r#"{"error_message":"Failed to upload pipeline: file too large","error_details":"long internal trace"}"#;
        assert_eq!(
            error_message(upload).unwrap(),
            "Failed to upload pipeline: file too large"
        );
    }

    #[test]
    fn plain_text_bodies_become_one_line() {
        assert_eq!(
            error_message("namespace is required\n").unwrap(),
            "namespace is required"
        );
        assert_eq!(error_message("   "), None);
    }

    #[test]
    fn names_become_single_path_segments() {
        let seg = path_segment("[p] x/y (env: local)");
        assert!(!seg.contains('/') && !seg.contains(' '), "{seg}");
        assert_eq!(
            Url::parse(&format!("http://x/{seg}"))
                .unwrap()
                .path_segments()
                .unwrap()
                .count(),
            1
        );
    }

    #[test]
    fn login_pages_are_recognised() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(is_login_page(&u(
            "https://kf.example.com/dex/auth/local?req=x"
        )));
        assert!(is_login_page(&u(
            "https://kf.example.com/oauth2/start?rd=/"
        )));
        assert!(is_login_page(&u(
            "https://accounts.google.com/o/oauth2/v2/auth"
        )));
        assert!(!is_login_page(&u("https://kf.example.com/pipeline/")));
    }

    #[test]
    fn html_is_recognised() {
        assert!(looks_like_html(
            "\n<!DOCTYPE html><html><body>Login</body></html>"
        ));
        assert!(looks_like_html("<html lang=en>"));
        assert!(!looks_like_html("{\"pipelines\":[]}"));
        assert!(!looks_like_html("<not html"));
    }

    #[test]
    fn server_versions_gate_features() {
        let v = |t: &str| ServerInfo {
            tag: Some(t.into()),
            multi_user: false,
        };
        assert_eq!(v("2.5.0").version(), Some((2, 5, 0)));
        assert_eq!(v("v2.14.0-rc.1").version(), Some((2, 14, 0)));
        assert!(!v("2.5.0").at_least(2, 14));
        assert!(v("2.14.0").at_least(2, 14));
        assert!(v("2.17.1").at_least(2, 14));
        assert!(ServerInfo::default().at_least(2, 14));
        assert_eq!(v("dev").version(), None);
    }

    #[test]
    fn api_base_appends_to_the_endpoint_path() {
        let u = Url::parse("https://kf.example.com/pipeline").unwrap();
        assert_eq!(
            api_base(&u, KfpVersion::V2),
            "https://kf.example.com/pipeline/apis/v2beta1"
        );
        let u = Url::parse("http://127.0.0.1:8888/").unwrap();
        assert_eq!(
            api_base(&u, KfpVersion::V1),
            "http://127.0.0.1:8888/apis/v1beta1"
        );
    }

    #[test]
    fn passwords_in_urls_are_not_shown() {
        let u = Url::parse("https://me:pa55word@kf.example.com/pipeline").unwrap();
        assert_eq!(redacted(&u), "https://me:***@kf.example.com/pipeline");
        assert_eq!(
            redacted_str("http://me:pa55word@127.0.0.1:8/apis/v2beta1/healthz"),
            "http://me:***@127.0.0.1:8/apis/v2beta1/healthz"
        );
        let plain = Url::parse("http://127.0.0.1:8888/").unwrap();
        assert_eq!(redacted(&plain), "http://127.0.0.1:8888/");
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) >= Duration::from_millis(200));
        assert!(backoff(1) <= Duration::from_millis(300));
        assert!(backoff(3) >= Duration::from_millis(800));
        assert!(backoff(3) <= Duration::from_millis(1200));
    }
}
