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
