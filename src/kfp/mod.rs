//! The Kubeflow Pipelines REST API: HTTP client, auth providers, v2beta1 and v1beta1 calls.
//!
//! * `client`: transport (timeouts, retries, error bodies, auth, healthz);
//! * `v2` / `v1`: the calls of each API version, their answers' wire structs mapped onto the
//!   shared `models`; `wire`: how those structs are read leniently (and list pages);
//! * `api`: `Kfp`, the one facade commands use, dispatching to `v2` or `v1`;
//! * `session`: where the endpoint, namespace and UI links come from (flags > env > config);
//! * `deploy`, `wait`: the flows upload/schedule and run-once share;
//! * `operate`: runs and recurring runs already on the server (find by id or name, project scope);
//! * `naming`, `cronexpr`: pure rules (pipeline/version/run names, KFP's cron dialect);

pub mod api;
pub mod auth;
pub mod client;
pub mod cronexpr;
pub mod deploy;
pub mod document;
pub mod models;
pub mod naming;
pub mod operate;
pub mod session;
pub mod v1;
pub mod v2;
pub mod wait;
pub mod wire;

#[derive(Debug, thiserror::Error)]
pub enum KfpError {
    /// No credentials worked, or a credential source failed (message names the provider,
    /// never the secret).
    #[error("{0}")]
    Auth(String),
    /// The server refused the credentials sent (HTTP 401): `tried` names them (never the
    /// secret), `none_sent` when there were none.
    #[error(
        "KFP at {url} refused the credentials (HTTP 401{}); tried: {tried}. Provide others: {}",
        .message.as_ref().map(|m| format!(": {m}")).unwrap_or_default(),
        auth::CREDENTIAL_HINT
    )]
    Unauthorized {
        url: crate::redact::RedactedUrl,
        /// The error message of the answer's body, if it had one.
        message: Option<String>,
        tried: String,
        none_sent: bool,
    },
    /// The server could not be reached at all (refused, DNS, TLS).
    #[error("cannot reach KFP at {url}: is it running / port-forwarded? ({detail})")]
    Unreachable {
        url: crate::redact::RedactedUrl,
        detail: String,
    },
    /// Something answered, but with a web page instead of the API.
    #[error(
        "KFP at {url} answered with an HTML page, not the API: check the host path (e.g. \
         https://<kubeflow>/pipeline) and your login"
    )]
    Html { url: crate::redact::RedactedUrl },
    /// The API answered with an error body.
    #[error("KFP rejected {action}: {message} (HTTP {status})")]
    Rejected {
        action: String,
        status: u16,
        message: String,
    },
    /// No answer within the time kfpx gives a call (message states the bound).
    #[error("{0}")]
    TimedOut(String),
    /// The server denied a call (HTTP 403): `tried` names the credentials (never the secret).
    #[error(
        "KFP denied {action} (HTTP 403){}; tried: {tried}. Check the namespace (--namespace, \
         --experiment-namespace, KF_PIPELINES_NAMESPACE) and that this user may use it, or \
         provide other credentials ({})",
        .message.as_ref().map(|m| format!(": {m}")).unwrap_or_default(),
        auth::CREDENTIAL_HINT
    )]
    Forbidden {
        action: String,
        /// The error message of the answer's body, if it had one.
        message: Option<String>,
        tried: String,
    },
    /// The server redirected to a sign-in page (`login`: its origin and path).
    #[error(
        "KFP at {url} sent kfpx to a login page ({login}): the request was not authenticated; \
         tried: {tried}. Provide credentials: {}",
        auth::CREDENTIAL_HINT
    )]
    LoginPage {
        url: crate::redact::RedactedUrl,
        login: String,
        tried: String,
    },
    /// A successful answer that is not the JSON object every API answer is (`problem` says
    /// what it is instead).
    #[error(
        "KFP at {url} answered {method} {path} with {problem}: check the host path (is it the \
         KFP API?)"
    )]
    NotJson {
        url: crate::redact::RedactedUrl,
        method: String,
        path: String,
        problem: String,
    },
    /// An answer about `what` without its id `key`: not the API version asked for. `at` is the
    /// call (`GET /runs/x`) when the answer was a single resource.
    #[error(
        "{}KFP's answer about {what} has no `{key}`: is the endpoint a KFP {}API server?{}",
        .at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default(),
        if *.api == crate::config::KfpVersion::V2 { "2.x " } else { "" },
        if *.api == crate::config::KfpVersion::V2 { " (use --kfp-version 1 for KFP 1.x)" } else { "" }
    )]
    MissingKey {
        at: Option<String>,
        what: &'static str,
        key: &'static str,
        api: crate::config::KfpVersion,
    },
    /// A list page of the wrong shape (`problem`: items that are not a list of objects, a token
    /// that is not a string).
    #[error(
        "KFP answered GET {path} ({action}) with {problem}: is the endpoint a KFP API server?"
    )]
    MalformedPage {
        path: String,
        action: String,
        problem: String,
    },
    /// The server sent a page token it had sent before.
    #[error(
        "KFP sent the same page token twice while {action} (page {page}, {items} items so far): \
         its paging is broken, so kfpx stops rather than loop or show a partial list"
    )]
    PageTokenRepeated {
        action: String,
        page: usize,
        items: usize,
    },
    /// More pages than kfpx reads (`v2::MAX_PAGES`).
    #[error(
        "KFP kept sending more pages while {action}: kfpx reads at most {max_pages} pages \
         ({max_items} items) and stopped there"
    )]
    TooManyPages {
        action: String,
        max_pages: usize,
        max_items: usize,
    },
    /// An answer larger than kfpx reads (`client::MAX_RESPONSE_BYTES`).
    #[error(
        "KFP at {url} answered {action} with more than {max_mib} MiB: kfpx reads at most that \
         much; check the host"
    )]
    TooLarge {
        url: crate::redact::RedactedUrl,
        action: String,
        max_mib: usize,
    },
    /// `--request-timeout` outside 1..=`max_secs`.
    #[error("--request-timeout must be between 1 and {max_secs} seconds")]
    RequestTimeout { max_secs: u64 },
    /// Several shared pipelines have the name kfpx looks for.
    #[error(
        "{} pipelines are named {name:?} (ids {}): delete the duplicates in the KFP UI",
        .ids.len(),
        .ids.join(", ")
    )]
    DuplicatePipelines { name: String, ids: Vec<String> },
    /// The last error of a call and why kfpx stopped retrying it.
    #[error("{error}; {why}")]
    GaveUp { error: Box<KfpError>, why: String },
    /// Free-form: the KFP host setting (empty, not a URL, not http(s), missing) and failures of
    /// this machine (the HTTP client, the async runtime, the CA bundle file, building a request).
    #[error("{0}")]
    Other(String),
}

impl KfpError {
    /// The HTTP status of a rejected call.
    pub fn status(&self) -> Option<u16> {
        match self {
            KfpError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth trying again later: the server was unreachable, slow, or answered 429/5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            KfpError::Rejected { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            KfpError::Unreachable { .. } | KfpError::TimedOut(_) => true,
            _ => false,
        }
    }
}
