//! Auth providers, first that applies: bearer token (KF_PIPELINES_TOKEN), service-account token
//! file, Google IAP, Dex login, session cookie, none.

use crate::kfp::KfpError;

/// The variables and files auth reads, captured once at the edge (tests build it by hand).
#[derive(Debug, Clone, Default)]
pub struct AuthEnv {
    pub vars: std::collections::BTreeMap<String, String>,
    /// `~/.config/kfp/context.json`, parsed, when present.
    pub kfp_context: Option<serde_json::Value>,
}

impl AuthEnv {
    pub fn from_process() -> AuthEnv {
        AuthEnv::default()
    }
}

/// The credentials in use and how to renew them.
#[derive(Debug, Default)]
pub struct Auth {}

impl Auth {
    /// Pick the first provider that applies and obtain its credentials.
    pub async fn discover(
        base_url: &url::Url,
        http: &reqwest::Client,
        env: &AuthEnv,
    ) -> Result<Auth, KfpError> {
        let _ = (base_url, http, env);
        Ok(Auth::default())
    }

    /// Add the credentials to a request.
    pub fn apply(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb
    }

    /// After a 401: re-read or re-obtain the credentials. `Ok(false)`: nothing new to try.
    pub async fn refresh(&mut self, http: &reqwest::Client) -> Result<bool, KfpError> {
        let _ = http;
        Ok(false)
    }

    /// The provider's name for `-v` output and error messages (never the secret).
    pub fn describe(&self) -> String {
        "none".into()
    }
}
