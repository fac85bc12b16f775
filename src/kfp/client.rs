//! HTTP transport to the KFP API server: one reqwest client (rustls), auth applied to every
//! request, one retry loop (bounded tries, backoff with jitter, `Retry-After` honoured up to a
//! limit, a time budget per call) for calls that may be repeated and for creation calls (which
//! look before they retry), and every error body turned into one readable line with the
//! credentials kfpx sent scrubbed out of it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::config::KfpVersion;
use crate::kfp::auth::{Auth, AuthEnv};
use crate::kfp::KfpError;
use crate::redact::{redact_urls_in, RedactedUrl, Scrubber};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer kfpx reads (a list page of pipeline versions carries their specs).
pub const MAX_RESPONSE_BYTES: usize = 128 * 1024 * 1024;
/// The longest `--request-timeout` accepted.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// How failed calls are repeated: one policy for every call, injectable (tests use
/// [`RetryPolicy::immediate`] so they do not sleep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts of one call (GET, DELETE, and creation calls after their lookup).
    pub max_tries: u32,
    /// First backoff; doubled per attempt (capped at `max_delay`), plus up to 50 % jitter.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` (429/503) kfpx waits; a longer one ends the call.
    pub max_retry_after: Duration,
    /// The time one call may take, every attempt and wait included, as a multiple of the
    /// request timeout, and at least `min_budget`.
    pub budget_timeouts: u32,
    pub min_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_tries: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
            budget_timeouts: 2,
            min_budget: Duration::from_secs(60),
        }
    }
}

/// The policy [`Client::connect`] uses: the default, unless a test running commands in process
/// set another with [`set_process_retry_policy`].
static PROCESS_RETRY: std::sync::RwLock<Option<RetryPolicy>> = std::sync::RwLock::new(None);

/// For tests that run commands in process (`*_prepared`): every client connected from then on
/// uses `policy` (e.g. [`RetryPolicy::immediate`], so the tests do not sleep).
pub fn set_process_retry_policy(policy: RetryPolicy) {
    if let Ok(mut p) = PROCESS_RETRY.write() {
        *p = Some(policy);
    }
}

fn process_retry_policy() -> RetryPolicy {
    PROCESS_RETRY
        .read()
        .ok()
        .and_then(|p| p.clone())
        .unwrap_or_default()
}

impl RetryPolicy {
    /// The same tries and limits without any waiting between attempts (for tests).
    pub fn immediate() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..RetryPolicy::default()
        }
    }

    /// The most one call may take with this request timeout.
    pub fn budget(&self, request_timeout: Duration) -> Duration {
        request_timeout
            .saturating_mul(self.budget_timeouts)
            .max(self.min_budget)
    }

    /// The wait before attempt `attempt + 1`: backoff with jitter, or what the server asked
    /// (`Retry-After`) when that is longer; `None` when the server asked for more than
    /// `max_retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let base = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)))
            .min(self.max_delay);
        let jitter_ms = u64::try_from(base.as_millis() / 2).unwrap_or(u64::MAX);
        let backoff = base + Duration::from_millis(rand::random_range(0..=jitter_ms));
        match retry_after {
            Some(ra) if ra > self.max_retry_after => None,
            Some(ra) => Some(backoff.max(ra)),
            None => Some(backoff),
        }
    }
}

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
    /// Not the API: `path` is relative to the endpoint itself (the UI server's routes, e.g.
    /// `/k8s/pod/logs`), and a successful answer is text, returned as a JSON string.
    pub raw: bool,
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
            raw: false,
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
            raw: false,
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
            raw: false,
        }
    }
    /// A GET of `path` under the endpoint (not under `/apis/…`) whose answer is text.
    pub fn raw_get(path: impl Into<String>, action: impl Into<String>) -> Call {
        Call {
            raw: true,
            ..Call::get(path, action)
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
    /// The server's `Retry-After` (seconds or an HTTP date), on 429/503.
    retry_after: Option<Duration>,
    /// No answer within the request timeout.
    timed_out: bool,
}

impl Failure {
    fn new(error: KfpError, transient: bool, maybe_applied: bool) -> Failure {
        Failure {
            error,
            transient,
            maybe_applied,
            reauth: false,
            retry_after: None,
            timed_out: false,
        }
    }
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
    shown_endpoint: RedactedUrl,
    retry: RetryPolicy,
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
        for cert in load_ca_bundle(path).map_err(KfpError::Other)? {
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
        Client::connect_with(options, auth_env, process_retry_policy()).await
    }

    /// [`Client::connect`] with another retry policy (tests: [`RetryPolicy::immediate`]).
    pub async fn connect_with(
        options: ClientOptions,
        auth_env: &AuthEnv,
        retry: RetryPolicy,
    ) -> Result<Client, KfpError> {
        if options.request_timeout.is_zero() || options.request_timeout > MAX_REQUEST_TIMEOUT {
            return Err(KfpError::RequestTimeout {
                max_secs: MAX_REQUEST_TIMEOUT.as_secs(),
            });
        }
        let http = build_http(&options)?;
        let auth = Auth::discover(&options.endpoint, &http, auth_env).await?;
        let auth_name = auth.describe();
        tracing::info!("KFP credentials: {auth_name}");
        let api_base = api_base(&options.endpoint, options.version);
        let shown_endpoint = RedactedUrl::from(&options.endpoint);
        let mut client = Client {
            inner: Arc::new(Inner {
                http,
                options,
                api_base,
                auth: tokio::sync::Mutex::new(auth),
                auth_name,
                server: ServerInfo::default(),
                shown_endpoint,
                retry,
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
            Ok(v) => {
                let h: crate::kfp::wire::Healthz = crate::kfp::wire::read(v);
                Ok(ServerInfo {
                    tag: h.tag_name.into_option(),
                    multi_user: h.multi_user.into_option().unwrap_or(false),
                })
            }
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
    pub fn shown_endpoint(&self) -> &RedactedUrl {
        &self.inner.shown_endpoint
    }

    /// The credentials in use, by provider name (never the secret).
    pub fn auth_name(&self) -> &str {
        &self.inner.auth_name
    }

    /// A call that may be repeated (GET, DELETE, …): retried with backoff on transient errors,
    /// and once with renewed credentials when they were refused (401 or a login redirect).
    pub async fn call(&self, call: Call) -> Result<Value, KfpError> {
        self.call_as(call, Ok).await
    }

    /// [`Client::call`], the answer read by `parse` (whose error then names the endpoint).
    pub async fn call_as<T, P>(&self, call: Call, parse: P) -> Result<T, KfpError>
    where
        P: Fn(Value) -> Result<T, KfpError>,
    {
        self.retrying(
            &call,
            parse,
            None::<fn() -> std::future::Ready<LookupResult<T>>>,
        )
        .await
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
        self.retrying(&call, parse, Some(lookup)).await
    }

    /// The one retry loop. Stops at the first success, a permanent error, `max_tries`, a
    /// `Retry-After` longer than the policy allows, or the call's time budget (each attempt's
    /// timeout is cut to what is left of it).
    async fn retrying<T, P, L, Fut>(
        &self,
        call: &Call,
        parse: P,
        lookup: Option<L>,
    ) -> Result<T, KfpError>
    where
        P: Fn(Value) -> Result<T, KfpError>,
        L: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, KfpError>>,
    {
        let policy = &self.inner.retry;
        let request_timeout = self.inner.options.request_timeout;
        let budget = policy.budget(request_timeout);
        let started = Instant::now();
        let mut attempt = 1;
        let mut renewed = false;
        loop {
            let left = budget.saturating_sub(started.elapsed());
            let f = match self.attempt(call, request_timeout.min(left)).await {
                // An answer of the wrong shape: say which endpoint gave it.
                Ok(v) => {
                    return parse(v).map_err(|e| match e {
                        KfpError::MissingKey {
                            at: None,
                            what,
                            key,
                            api,
                        } => KfpError::MissingKey {
                            at: Some(format!("{} {}", call.method, call.path)),
                            what,
                            key,
                            api,
                        },
                        e => e,
                    })
                }
                Err(f) => f,
            };
            let give_up = |f: Failure, why: Option<String>| {
                Err(self.final_error(call, f, attempt, started.elapsed(), budget, why))
            };
            if f.reauth && !renewed {
                renewed = true;
                if !self.renew_credentials().await? {
                    return give_up(f, None);
                }
                if let Some(lookup) = &lookup {
                    if let Some(found) = lookup().await? {
                        tracing::info!("{} had been applied; not repeating it", call.action);
                        return Ok(found);
                    }
                }
                continue;
            }
            if !f.transient || attempt >= policy.max_tries {
                return give_up(f, None);
            }
            let Some(delay) = policy.delay(attempt, f.retry_after) else {
                let asked = f.retry_after.unwrap_or_default().as_secs();
                let why = format!(
                    "the server asked to retry after {asked} s; kfpx waits at most {} s",
                    policy.max_retry_after.as_secs()
                );
                return give_up(f, Some(why));
            };
            if started.elapsed() + delay >= budget {
                return give_up(f, None);
            }
            tracing::info!(
                "{} failed ({}), {} in {} ms",
                call.action,
                f.error,
                if lookup.is_some() {
                    "checking before retrying"
                } else {
                    "retrying"
                },
                delay.as_millis()
            );
            tokio::time::sleep(delay).await;
            if let (Some(lookup), true) = (&lookup, f.maybe_applied) {
                if let Some(found) = lookup().await? {
                    tracing::info!("{} had been applied; not repeating it", call.action);
                    return Ok(found);
                }
            }
            attempt += 1;
        }
    }

    /// The error of the last attempt, saying how long kfpx tried when it matters.
    fn final_error(
        &self,
        call: &Call,
        f: Failure,
        tries: u32,
        elapsed: Duration,
        budget: Duration,
        why: Option<String>,
    ) -> KfpError {
        if f.timed_out {
            return KfpError::TimedOut(format!(
                "KFP at {} did not answer {} within {} s ({} in {}; kfpx gives one call at most \
                 {} s): check the server, or raise --request-timeout",
                self.inner.shown_endpoint,
                call.action,
                self.inner.options.request_timeout.as_secs(),
                if tries == 1 {
                    "1 try".to_string()
                } else {
                    format!("{tries} tries")
                },
                crate::kfp::wait::human_duration(elapsed),
                budget.as_secs()
            ));
        }
        match (why, f.error) {
            (
                Some(why),
                KfpError::Rejected {
                    action,
                    status,
                    message,
                },
            ) => KfpError::Rejected {
                action,
                status,
                message: format!("{message}; {why}"),
            },
            (Some(why), e) => KfpError::GaveUp {
                error: Box::new(e),
                why,
            },
            (None, e) => e,
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
    async fn tried(&self) -> Tried {
        let auth = self.inner.auth.lock().await;
        let tried = auth.tried();
        Tried {
            none: auth.is_none() || tried.is_empty(),
            text: if tried.is_empty() {
                auth.describe()
            } else {
                tried.join(", then ")
            },
        }
    }

    /// One exchange, within `timeout`.
    async fn attempt(&self, call: &Call, timeout: Duration) -> Result<Value, Failure> {
        let url = match call.api {
            _ if call.raw => format!(
                "{}{}",
                self.inner.options.endpoint.as_str().trim_end_matches('/'),
                call.path
            ),
            Some(v) if v != self.inner.options.version => {
                format!("{}{}", api_base(&self.inner.options.endpoint, v), call.path)
            }
            _ => format!("{}{}", self.inner.api_base, call.path),
        };
        let mut rb = self.inner.http.request(call.method.clone(), &url).header(
            reqwest::header::ACCEPT,
            if call.raw {
                "text/plain"
            } else {
                "application/json"
            },
        );
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
                    .map_err(|e| {
                        Failure::new(
                            KfpError::Other(format!("cannot build the upload: {e}")),
                            false,
                            false,
                        )
                    })?;
                rb.multipart(reqwest::multipart::Form::new().part("uploadfile", part))
            }
        };
        {
            let mut auth = self.inner.auth.lock().await;
            // Google access tokens are renewed shortly before they expire.
            auth.prepare(&self.inner.http)
                .await
                .map_err(|error| Failure::new(error, false, false))?;
            rb = auth.apply(rb).timeout(timeout);
        }
        let request = rb.build().map_err(|e| {
            Failure::new(
                KfpError::Other(format!(
                    "cannot build the request for {}: {}",
                    call.action,
                    redact_urls_in(&root_cause(&e))
                )),
                false,
                false,
            )
        })?;
        // Whatever the server answers is shown only without the credentials just sent.
        let scrubber = Scrubber::from_request(&request);

        let started = Instant::now();
        let result = self.inner.http.execute(request).await;
        let elapsed = started.elapsed().as_millis();
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(
                    "{} {} -> failed in {elapsed} ms",
                    call.method,
                    RedactedUrl::new(&url)
                );
                return Err(self.transport_failure(&e, timeout));
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
            RedactedUrl::new(&url),
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
        let retry_after = if matches!(status.as_u16(), 429 | 503) {
            resp.headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after)
        } else {
            None
        };
        let text = self.read_body(resp, call, timeout).await?;
        let text = scrubber.scrub(&text);

        // A pod's log is text whatever it holds; only the content type says it is a page.
        let html = is_html || (!call.raw && looks_like_html(&text));
        let login_redirect = html && redirected && is_login_page(&final_url);
        let refused = status == StatusCode::UNAUTHORIZED || login_redirect;
        let tried = if refused || status == StatusCode::FORBIDDEN {
            self.tried().await
        } else {
            Tried::default()
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
            retry_after,
            ..f
        })
    }

    /// The body as text, at most [`MAX_RESPONSE_BYTES`] (a larger answer is an error, not read
    /// to the end).
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        call: &Call,
        timeout: Duration,
    ) -> Result<String, Failure> {
        let mut bytes = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Err(Failure::new(
                            KfpError::TooLarge {
                                url: self.inner.shown_endpoint.clone(),
                                action: call.action.clone(),
                                max_mib: MAX_RESPONSE_BYTES / (1024 * 1024),
                            },
                            false,
                            false,
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport_failure(&e, timeout)),
            }
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn interpret(
        &self,
        call: &Call,
        status: StatusCode,
        html: bool,
        text: &str,
        login_page: Option<&Url>,
        tried: &Tried,
    ) -> Result<Value, Failure> {
        let code = status.as_u16();
        let fail = |error: KfpError, transient: bool| {
            Failure::new(error, transient, transient && code != 429)
        };
        if status == StatusCode::UNAUTHORIZED {
            return Err(fail(self.unauthorized(text, html, tried), false));
        }
        if status == StatusCode::FORBIDDEN {
            let message = if html { None } else { error_message(text) };
            return Err(fail(
                KfpError::Forbidden {
                    action: call.action.clone(),
                    message,
                    tried: tried.text.clone(),
                },
                false,
            ));
        }
        let transient = matches!(code, 429 | 500 | 502 | 503 | 504);
        if let (true, Some(login)) = (html, login_page) {
            return Err(fail(
                KfpError::LoginPage {
                    url: self.inner.shown_endpoint.clone(),
                    login: format!("{}{}", origin(login), login.path()),
                    tried: tried.text.clone(),
                },
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
            let plain = (call.raw && !text.trim().is_empty()).then(|| one_line(text, 300));
            let message = plain.or_else(|| error_message(text)).unwrap_or_else(|| {
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
        if call.raw {
            return Ok(Value::String(text.to_string()));
        }
        decode_answer(text).map_err(|problem| {
            fail(
                KfpError::NotJson {
                    url: self.inner.shown_endpoint.clone(),
                    method: call.method.to_string(),
                    path: call.path.clone(),
                    problem,
                },
                false,
            )
        })
    }

    fn unauthorized(&self, text: &str, html: bool, tried: &Tried) -> KfpError {
        KfpError::Unauthorized {
            url: self.inner.shown_endpoint.clone(),
            message: if html { None } else { error_message(text) },
            tried: tried.text.clone(),
            none_sent: tried.none,
        }
    }

    fn transport_failure(&self, e: &reqwest::Error, timeout: Duration) -> Failure {
        let url = self.inner.shown_endpoint.clone();
        let detail = redact_urls_in(&root_cause(e));
        if e.is_timeout() {
            return Failure {
                timed_out: true,
                ..Failure::new(
                    KfpError::TimedOut(format!(
                        "KFP at {url} did not answer within {} s (raise --request-timeout)",
                        timeout.as_secs()
                    )),
                    true,
                    true,
                )
            };
        }
        if e.is_connect() {
            let hint = if detail.to_ascii_lowercase().contains("certificate") {
                "; trust the server's CA with --ca-bundle FILE, or skip verification with \
                 --insecure-skip-tls-verify"
            } else {
                ""
            };
            return Failure::new(
                KfpError::Unreachable {
                    url,
                    detail: format!("{detail}{hint}"),
                },
                true,
                false,
            );
        }
        // The connection broke after the request went out: it may have been applied.
        Failure::new(KfpError::Unreachable { url, detail }, true, true)
    }
}

type LookupResult<T> = Result<Option<T>, KfpError>;

/// A successful answer's body as the JSON object every KFP API answer is (`{}` for an empty
/// body, as a delete sends); otherwise what it is instead, for the message.
pub fn decode_answer(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(format!(
            "{}, not the object the API sends",
            json_kind(&other)
        )),
        Err(_) => Err(format!(
            "something that is not JSON (\"{}\")",
            one_line(text, 80)
        )),
    }
}

/// `Retry-After: <seconds>` or `Retry-After: <HTTP date>` as a wait from now.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a JSON array",
        Value::String(_) => "a JSON string",
        Value::Number(_) => "a JSON number",
        Value::Bool(_) => "a JSON boolean",
        Value::Null => "JSON null",
        Value::Object(_) => "a JSON object",
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

pub use crate::kfp::auth::CREDENTIAL_HINT;

/// The CA certificates of a PEM bundle (`--ca-bundle`, KF_PIPELINES_CA_BUNDLE), for the API
/// client and the Dex login client alike; the error says what is wrong with the file.
pub fn load_ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the CA bundle {}: {}",
            path.display(),
            crate::kfp::auth::io_reason(&e)
        )
    })?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .ok()
        .filter(|certs| !certs.is_empty())
        .ok_or_else(|| {
            format!(
                "the CA bundle {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )
        })
}

/// The credentials a refused call was sent with, as a 401/403 message names them (never the
/// secret); `none` when there were none.
#[derive(Debug, Default)]
struct Tried {
    text: String,
    none: bool,
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

pub use crate::text::one_line;

/// `v` as compact JSON on one line, at most `max` characters (then `…`), without serialising
/// more of it than that: a value from an outside answer can be as large as the answer.
pub fn json_snippet(v: &Value, max: usize) -> String {
    /// A writer that takes `room` bytes and then refuses, which stops serde_json.
    struct Capped {
        buf: Vec<u8>,
        room: usize,
    }
    impl std::io::Write for Capped {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let n = bytes.len().min(self.room);
            self.buf.extend_from_slice(&bytes[..n]);
            self.room -= n;
            if n < bytes.len() {
                return Err(std::io::Error::other("enough"));
            }
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Up to 4 bytes a character, plus one: when the JSON is cut, more than `max` characters
    // are kept, so `one_line` cuts again at a character boundary and marks it.
    let mut w = Capped {
        buf: Vec::new(),
        room: max * 4 + 4,
    };
    let _ = serde_json::to_writer(&mut w, v);
    one_line(&String::from_utf8_lossy(&w.buf), max)
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
    // Only an object can carry a message: other bodies are quoted, not parsed.
    let object = match trimmed.starts_with('{') {
        true => serde_json::from_str::<Value>(trimmed).ok(),
        false => None,
    };
    if let Some(v @ Value::Object(_)) = object {
        let e: crate::kfp::wire::ErrorBody = crate::kfp::wire::read(v);
        let text = |v: &crate::kfp::wire::Lenient<String>| {
            v.str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| one_line(s, 500))
        };
        let detail = e.details.get().and_then(|ds| {
            ds.iter()
                .find_map(|d| d.get().and_then(|d| text(&d.message)))
        });
        return text(&e.message)
            .or(detail)
            .or_else(|| text(&e.error_message))
            .or_else(|| text(&e.error))
            .or_else(|| text(&e.error_details))
            .or_else(|| Some(one_line(trimmed, 300)));
    }
    Some(one_line(trimmed, 300))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error messages quote a bit of a wrong-shaped answer: the quote is short and its cost
    /// does not grow with the answer (a 128 MiB body must not be serialised again to quote 40
    /// characters of it; the fuzz stage found a large value taking over a second).
    #[test]
    fn json_snippets_are_short_whatever_the_value() {
        assert_eq!(
            json_snippet(&serde_json::json!({"a": [1, 2]}), 40),
            r#"{"a":[1,2]}"#
        );
        let wide = Value::Array(vec![Value::String("é".repeat(10)); 1_000_000]);
        let quoted = json_snippet(&wide, 40);
        assert_eq!(quoted.chars().count(), 41, "{quoted}");
        assert!(quoted.starts_with(r#"["éééééééééé",""#) && quoted.ends_with('…'));
        let mut deep = Value::from(1);
        for _ in 0..1000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(json_snippet(&deep, 10), format!("{}…", "[".repeat(10)));
    }

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
    fn backoff_grows_is_bounded_and_yields_to_retry_after() {
        let p = RetryPolicy::default();
        let d = |a, ra| p.delay(a, ra).unwrap();
        assert!(
            d(1, None) >= Duration::from_millis(200) && d(1, None) <= Duration::from_millis(300)
        );
        assert!(
            d(3, None) >= Duration::from_millis(800) && d(3, None) <= Duration::from_millis(1200)
        );
        assert!(d(u32::MAX, None) <= Duration::from_secs(15));
        assert!(d(1, Some(Duration::from_secs(7))) == Duration::from_secs(7));
        assert_eq!(p.delay(1, Some(Duration::from_secs(31))), None);
        assert_eq!(
            RetryPolicy::immediate().delay(3, None),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_call_has_a_time_budget() {
        let p = RetryPolicy::default();
        assert_eq!(p.budget(Duration::from_secs(30)), Duration::from_secs(60));
        assert_eq!(p.budget(Duration::from_secs(5)), Duration::from_secs(60));
        assert_eq!(
            p.budget(Duration::from_secs(600)),
            Duration::from_secs(1200)
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("5"), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
