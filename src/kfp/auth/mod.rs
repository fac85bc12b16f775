//! Auth providers, first that applies: bearer token (KF_PIPELINES_TOKEN), service-account token
//! file, Google IAP, Dex login, session cookie, static header from context.json, none.
//!
//! [`AuthEnv`] captures the environment once at the edge; [`Auth::discover`] picks the provider
//! and obtains its credentials; [`Auth::apply`] adds them to a request; after a 401 the caller
//! asks [`Auth::refresh`] and retries once when it returns `true`.

mod dex;
pub mod google;
mod html;
mod iap;
pub mod login;
mod secret;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::header::{AUTHORIZATION, COOKIE};

use crate::kfp::KfpError;
pub use secret::Secret;

/// Where Kubeflow's PodDefault "access-ml-pipeline" mounts the projected service-account token.
pub const DEFAULT_SA_TOKEN_PATH: &str = "/var/run/secrets/kubeflow/pipelines/token";

/// The environment variables auth reads (and `HOME`, for the kfp context file).
pub const VARS: &[&str] = &[
    "KF_PIPELINES_TOKEN",
    "KF_PIPELINES_SA_TOKEN_PATH",
    "IAP_CLIENT_ID",
    "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GCE_METADATA_HOST",
    "DEX_USERNAME",
    "DEX_PASSWORD",
    "DEX_AUTH_TYPE",
    "KF_PIPELINES_COOKIE",
    "CLOUDSDK_CONFIG",
    google::SWITCH_VAR,
    google::TOKEN_URI_VAR,
    login::AUTH_URI_VAR,
];

/// How to provide credentials (the help of 401/403 and login-page errors): the one list.
pub const CREDENTIAL_HINT: &str = "a bearer token in KF_PIPELINES_TOKEN, a service-account \
token file in KF_PIPELINES_SA_TOKEN_PATH, DEX_USERNAME/DEX_PASSWORD for a Dex login, \
IAP_CLIENT_ID for Google IAP, or a session cookie in KF_PIPELINES_COOKIE";

/// The variables and files auth reads, captured once at the edge (tests build it by hand).
#[derive(Clone, Default)]
pub struct AuthEnv {
    pub vars: BTreeMap<String, String>,
    /// `~/.config/kfp/context.json`, parsed, when present.
    pub kfp_context: Option<serde_json::Value>,
    /// The service-account token file used when `KF_PIPELINES_SA_TOKEN_PATH` is unset and the
    /// file exists ([`DEFAULT_SA_TOKEN_PATH`] from the process; `None` in hand-built envs).
    pub default_sa_token_path: Option<PathBuf>,
    /// gcloud's well-known application default credentials file (used when it exists).
    pub gcloud_adc_file: Option<PathBuf>,
    /// The kfp SDK's `~/.config/kfp/credentials.json` (IAP user logins, `kfpx login google`).
    pub kfp_credentials_file: Option<PathBuf>,
    /// TLS settings for the dedicated Dex login client (the same as the KFP client's).
    pub insecure_skip_tls_verify: bool,
    pub ca_bundle: Option<PathBuf>,
}

impl fmt::Debug for AuthEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: the values include tokens, passwords and cookies.
        f.debug_struct("AuthEnv")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("kfp_context", &self.kfp_context.as_ref().map(|_| "…"))
            .field("default_sa_token_path", &self.default_sa_token_path)
            .field("gcloud_adc_file", &self.gcloud_adc_file)
            .field("kfp_credentials_file", &self.kfp_credentials_file)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

impl AuthEnv {
    pub fn from_process() -> AuthEnv {
        let vars = VARS
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
            .collect();
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from);
        let kfp_context = home
            .as_ref()
            .map(|home| home.join(".config/kfp/context.json"))
            .and_then(|path| read_kfp_context(&path));
        let cloudsdk_config = std::env::var_os("CLOUDSDK_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        AuthEnv {
            vars,
            kfp_context,
            default_sa_token_path: Some(PathBuf::from(DEFAULT_SA_TOKEN_PATH)),
            gcloud_adc_file: google::gcloud_adc_file(cloudsdk_config.as_deref(), home.as_deref()),
            kfp_credentials_file: login::credentials_file(home.as_deref()),
            insecure_skip_tls_verify: false,
            ca_bundle: None,
        }
    }

    /// The same TLS settings as the KFP client (used by the Dex login client).
    pub fn with_tls(mut self, insecure_skip_tls_verify: bool, ca_bundle: Option<PathBuf>) -> Self {
        self.insecure_skip_tls_verify = insecure_skip_tls_verify;
        self.ca_bundle = ca_bundle;
        self
    }

    /// A variable's value; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A string field of `~/.config/kfp/context.json`.
    pub fn context_str(&self, key: &str) -> Option<&str> {
        self.kfp_context
            .as_ref()?
            .get(key)?
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

fn read_kfp_context(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) if value.is_object() => Some(value),
        Ok(_) => {
            tracing::warn!("ignoring {}: not a JSON object", path.display());
            None
        }
        Err(err) => {
            tracing::warn!("ignoring {}: {err}", path.display());
            None
        }
    }
}

/// The credentials in use and how to renew them.
#[derive(Debug)]
pub struct Auth {
    provider: Provider,
    tried: Vec<String>,
}

#[derive(Debug)]
enum Provider {
    None,
    Bearer {
        token: Secret,
    },
    SaTokenFile {
        path: PathBuf,
        from_var: bool,
        token: Secret,
    },
    Iap(iap::Iap),
    /// A Google OAuth access token from application default credentials.
    GoogleAdc(google::Adc),
    Dex(dex::Dex),
    Cookie {
        cookie: Secret,
        source: &'static str,
        names: Vec<String>,
    },
    /// `client_authentication_header_name`/`_value` of `~/.config/kfp/context.json`.
    Header {
        name: reqwest::header::HeaderName,
        value: Secret,
    },
}

impl Default for Auth {
    fn default() -> Auth {
        Auth {
            provider: Provider::None,
            tried: vec![NONE_DESCRIPTION.into()],
        }
    }
}

const NONE_DESCRIPTION: &str = "no credentials (none of KF_PIPELINES_TOKEN, KF_PIPELINES_SA_TOKEN_PATH, IAP_CLIENT_ID, DEX_USERNAME/DEX_PASSWORD, KF_PIPELINES_COOKIE is set)";

impl Auth {
    /// Pick the first provider that applies and obtain its credentials.
    pub async fn discover(
        base_url: &url::Url,
        http: &reqwest::Client,
        env: &AuthEnv,
    ) -> Result<Auth, KfpError> {
        let provider = Self::pick(base_url, http, env).await?;
        let auth = Auth {
            tried: vec![describe(&provider)],
            provider,
        };
        tracing::info!("auth: {}", auth.describe());
        Ok(auth)
    }

    async fn pick(
        base_url: &url::Url,
        http: &reqwest::Client,
        env: &AuthEnv,
    ) -> Result<Provider, KfpError> {
        if let Some(token) = env.var("KF_PIPELINES_TOKEN") {
            let token = Secret::new(token);
            if !is_token(&token) {
                return Err(KfpError::Auth(
                    "KF_PIPELINES_TOKEN does not hold a single token (it has spaces, line breaks or other characters a header cannot carry); set it to the bare token, without \"Bearer \"".into(),
                ));
            }
            return Ok(Provider::Bearer { token });
        }
        let sa_path = match env.var("KF_PIPELINES_SA_TOKEN_PATH") {
            Some(path) => Some((PathBuf::from(path), true)),
            None => env
                .default_sa_token_path
                .clone()
                .filter(|p| p.is_file())
                .map(|p| (p, false)),
        };
        if let Some((path, from_var)) = sa_path {
            let token = read_sa_token(&path, from_var)?;
            return Ok(Provider::SaTokenFile {
                path,
                from_var,
                token,
            });
        }
        if let Some((client_id, var)) = env
            .var("IAP_CLIENT_ID")
            .map(|id| (id, "IAP_CLIENT_ID"))
            .or_else(|| {
                env.var("KF_PIPELINES_IAP_OAUTH2_CLIENT_ID")
                    .map(|id| (id, "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID"))
            })
        {
            return Ok(Provider::Iap(
                iap::Iap::obtain(client_id, var, http, env).await?,
            ));
        }
        if let Some(why) = google::wanted(base_url, env)? {
            return Ok(Provider::GoogleAdc(
                google::Adc::obtain(why, http, env).await?,
            ));
        }
        match (env.var("DEX_USERNAME"), env.var("DEX_PASSWORD")) {
            (Some(user), Some(password)) => {
                let auth_type = env.var("DEX_AUTH_TYPE").unwrap_or("local");
                return Ok(Provider::Dex(
                    dex::Dex::login(base_url, user, Secret::new(password), auth_type, env).await?,
                ));
            }
            (Some(_), None) => {
                return Err(KfpError::Auth(
                    "DEX_USERNAME is set but DEX_PASSWORD is not: set both to log in through Dex"
                        .into(),
                ))
            }
            (None, Some(_)) => {
                return Err(KfpError::Auth(
                    "DEX_PASSWORD is set but DEX_USERNAME is not: set both to log in through Dex"
                        .into(),
                ))
            }
            (None, None) => {}
        }
        let cookie = env
            .var("KF_PIPELINES_COOKIE")
            .map(|c| (c, "KF_PIPELINES_COOKIE"))
            .or_else(|| {
                env.context_str("client_authentication_cookie")
                    .map(|c| (c, "~/.config/kfp/context.json"))
            });
        if let Some((cookie, source)) = cookie {
            let names = cookie_names(cookie).ok_or_else(|| {
                KfpError::Auth(format!(
                    "the session cookie from {source} is malformed: write it as name=value[; name2=value2] (e.g. oauth2_proxy_kubeflow=…)"
                ))
            })?;
            return Ok(Provider::Cookie {
                cookie: Secret::new(cookie),
                source,
                names,
            });
        }
        if let (Some(name), Some(value)) = (
            env.context_str("client_authentication_header_name"),
            env.context_str("client_authentication_header_value"),
        ) {
            let header = reqwest::header::HeaderName::from_bytes(name.as_bytes()).ok();
            let valid_value = reqwest::header::HeaderValue::from_str(value).is_ok();
            return match header {
                Some(header) if valid_value => Ok(Provider::Header {
                    name: header,
                    value: Secret::new(value),
                }),
                _ => Err(KfpError::Auth(format!(
                    "client_authentication_header_name/_value in ~/.config/kfp/context.json do not form a valid HTTP header (name {name:?}); fix or remove them"
                ))),
            };
        }
        Ok(Provider::None)
    }

    /// Add the credentials to a request.
    pub fn apply(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let (name, value) = match &self.provider {
            Provider::None => return rb,
            Provider::Bearer { token } | Provider::SaTokenFile { token, .. } => {
                (AUTHORIZATION, token.header_value("Bearer "))
            }
            Provider::Iap(iap) => (AUTHORIZATION, iap.token().header_value("Bearer ")),
            Provider::GoogleAdc(adc) => (AUTHORIZATION, adc.token().header_value("Bearer ")),
            Provider::Dex(dex) => (COOKIE, dex.cookie().header_value("")),
            Provider::Cookie { cookie, .. } => (COOKIE, cookie.header_value("")),
            Provider::Header { name, value } => (name.clone(), value.header_value("")),
        };
        match value {
            Some(value) => rb.header(name, value),
            // Validated when read; a value a header cannot carry is never sent.
            None => rb,
        }
    }

    /// After a 401: re-read or re-obtain the credentials. `Ok(false)`: nothing new to try.
    pub async fn refresh(&mut self, http: &reqwest::Client) -> Result<bool, KfpError> {
        let renewed = match &mut self.provider {
            Provider::None
            | Provider::Bearer { .. }
            | Provider::Cookie { .. }
            | Provider::Header { .. } => false,
            Provider::SaTokenFile {
                path,
                from_var,
                token,
            } => {
                let new = read_sa_token(path, *from_var)?;
                let changed = new != *token;
                *token = new;
                changed
            }
            Provider::Iap(iap) => {
                iap.refresh(http).await?;
                true
            }
            Provider::GoogleAdc(adc) => {
                adc.refresh(http).await?;
                true
            }
            Provider::Dex(dex) => {
                dex.refresh().await?;
                true
            }
        };
        if renewed {
            tracing::info!("auth: renewed {}", self.describe());
            self.tried.push(format!("renewed {}", self.describe()));
        }
        Ok(renewed)
    }

    /// Before a request: renew credentials that expire within a minute (Google access tokens).
    pub async fn prepare(&mut self, http: &reqwest::Client) -> Result<(), KfpError> {
        if let Provider::GoogleAdc(adc) = &mut self.provider {
            if adc.expiring() {
                adc.refresh(http).await?;
                tracing::info!("auth: renewed {} before it expired", self.describe());
            }
        }
        Ok(())
    }

    /// The provider's name for `-v` output and error messages (never the secret).
    pub fn describe(&self) -> String {
        describe(&self.provider)
    }

    /// What was tried, in order, for a 401/403 message.
    pub fn tried(&self) -> Vec<String> {
        self.tried.clone()
    }

    /// True when no credentials are configured.
    pub fn is_none(&self) -> bool {
        matches!(self.provider, Provider::None)
    }
}

fn describe(provider: &Provider) -> String {
    match provider {
        Provider::None => NONE_DESCRIPTION.into(),
        Provider::Bearer { .. } => "bearer token from KF_PIPELINES_TOKEN".into(),
        Provider::SaTokenFile { path, from_var, .. } => format!(
            "service-account token file {}{}",
            path.display(),
            if *from_var {
                " (KF_PIPELINES_SA_TOKEN_PATH)"
            } else {
                ""
            }
        ),
        Provider::Iap(iap) => iap.describe(),
        Provider::GoogleAdc(adc) => adc.describe(),
        Provider::Dex(dex) => dex.describe(),
        Provider::Header { name, .. } => {
            format!("header {name} from ~/.config/kfp/context.json")
        }
        Provider::Cookie { source, names, .. } => {
            format!("session cookie {} from {source}", names.join(", "))
        }
    }
}

fn read_sa_token(path: &Path, from_var: bool) -> Result<Secret, KfpError> {
    let how = if from_var {
        "check KF_PIPELINES_SA_TOKEN_PATH"
    } else {
        "check the pod's projected service-account token volume"
    };
    let text = std::fs::read_to_string(path).map_err(|err| {
        KfpError::Auth(format!(
            "cannot read the service-account token file {}: {}; {how}",
            path.display(),
            io_reason(&err)
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(KfpError::Auth(format!(
            "the service-account token file {} is empty; {how}",
            path.display()
        )));
    }
    if !is_token(&Secret::new(token)) {
        return Err(KfpError::Auth(format!(
            "the service-account token file {} does not hold a single token (it has spaces or several lines); {how}",
            path.display()
        )));
    }
    Ok(Secret::new(token))
}

/// A bearer token fit for `authorization: Bearer <token>`: no spaces, no control characters.
pub(super) fn is_token(token: &Secret) -> bool {
    let t = token.expose();
    !t.is_empty()
        && !t.contains(|c: char| c.is_control() || c.is_whitespace())
        && token.header_value("Bearer ").is_some()
}

/// An io error's reason without the "(os error N)" noise.
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => err.to_string(),
    }
}

/// The cookie names of a `Cookie` header value, `None` when it is not `name=value[; …]` or
/// cannot be sent as a header.
fn cookie_names(cookie: &str) -> Option<Vec<String>> {
    reqwest::header::HeaderValue::from_str(cookie).ok()?;
    let mut names = Vec::new();
    for part in cookie.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, _) = part.split_once('=')?;
        let name = name.trim();
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',') {
            return None;
        }
        names.push(name.to_string());
    }
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> AuthEnv {
        AuthEnv {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..AuthEnv::default()
        }
    }

    fn base() -> url::Url {
        // Nothing listens here: providers that would call it must not be reached.
        url::Url::parse("http://127.0.0.1:9/pipeline").unwrap()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn discover(env: &AuthEnv) -> Result<Auth, KfpError> {
        block_on(Auth::discover(&base(), &reqwest::Client::new(), env))
    }

    fn sent_headers(auth: &Auth) -> reqwest::header::HeaderMap {
        auth.apply(reqwest::Client::new().get("http://127.0.0.1:9/x"))
            .build()
            .unwrap()
            .headers()
            .clone()
    }

    #[test]
    fn bearer_token_wins_over_everything_else() {
        let auth = discover(&env(&[
            ("KF_PIPELINES_TOKEN", "tok-123"),
            ("DEX_USERNAME", "u"),
            ("DEX_PASSWORD", "p"),
            ("KF_PIPELINES_COOKIE", "a=b"),
        ]))
        .unwrap();
        assert_eq!(sent_headers(&auth)["authorization"], "Bearer tok-123");
        assert!(sent_headers(&auth).get("cookie").is_none());
        assert_eq!(auth.describe(), "bearer token from KF_PIPELINES_TOKEN");
        assert!(!format!("{auth:?}").contains("tok-123"));
    }

    #[test]
    fn a_token_with_spaces_or_line_breaks_is_refused() {
        for bad in ["Bearer tok-secret", "tok-secret\nmore", "tok\u{7f}secret"] {
            let err = discover(&env(&[("KF_PIPELINES_TOKEN", bad)]))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("KF_PIPELINES_TOKEN does not hold a single token"),
                "{err}"
            );
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let auth = discover(&env(&[
            ("KF_PIPELINES_TOKEN", "  "),
            ("KF_PIPELINES_COOKIE", "s=1"),
        ]))
        .unwrap();
        assert_eq!(sent_headers(&auth)["cookie"], "s=1");
    }

    #[test]
    fn sa_token_file_is_read_trimmed_and_reread_on_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first-token\n").unwrap();
        let mut e = env(&[("KF_PIPELINES_SA_TOKEN_PATH", path.to_str().unwrap())]);
        e.vars.insert("KF_PIPELINES_COOKIE".into(), "a=b".into());
        let mut auth = discover(&e).unwrap();
        assert_eq!(sent_headers(&auth)["authorization"], "Bearer first-token");
        let http = reqwest::Client::new();
        assert!(
            !block_on(auth.refresh(&http)).unwrap(),
            "unchanged file: nothing new"
        );
        std::fs::write(&path, "second-token").unwrap();
        assert!(block_on(auth.refresh(&http)).unwrap());
        assert_eq!(sent_headers(&auth)["authorization"], "Bearer second-token");
        assert!(auth.describe().contains(path.to_str().unwrap()));
    }

    #[test]
    fn default_sa_token_path_applies_only_when_the_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = env(&[]);
        e.default_sa_token_path = Some(dir.path().join("missing"));
        assert!(discover(&e).unwrap().is_none());
        std::fs::write(dir.path().join("token"), "in-cluster").unwrap();
        e.default_sa_token_path = Some(dir.path().join("token"));
        let auth = discover(&e).unwrap();
        assert_eq!(sent_headers(&auth)["authorization"], "Bearer in-cluster");
    }

    #[test]
    fn explicit_sa_token_path_must_exist_and_hold_one_token() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = discover(&env(&[(
            "KF_PIPELINES_SA_TOKEN_PATH",
            missing.to_str().unwrap(),
        )]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cannot read the service-account token file"),
            "{err}"
        );
        assert!(err.contains("no such file") && err.contains("KF_PIPELINES_SA_TOKEN_PATH"));
        let two = dir.path().join("two");
        std::fs::write(&two, "secret-a\nsecret-b\n").unwrap();
        let err = discover(&env(&[(
            "KF_PIPELINES_SA_TOKEN_PATH",
            two.to_str().unwrap(),
        )]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("does not hold a single token"), "{err}");
        assert!(!err.contains("secret-a"));
    }

    #[test]
    fn cookie_from_env_or_kfp_context() {
        let auth = discover(&env(&[(
            "KF_PIPELINES_COOKIE",
            "oauth2_proxy_kubeflow=abc; other=def",
        )]))
        .unwrap();
        assert_eq!(
            sent_headers(&auth)["cookie"],
            "oauth2_proxy_kubeflow=abc; other=def"
        );
        assert_eq!(
            auth.describe(),
            "session cookie oauth2_proxy_kubeflow, other from KF_PIPELINES_COOKIE"
        );
        let mut e = env(&[]);
        e.kfp_context = Some(serde_json::json!({
            "namespace": "team-a",
            "client_authentication_cookie": "authservice_session=xyz"
        }));
        let auth = discover(&e).unwrap();
        assert_eq!(sent_headers(&auth)["cookie"], "authservice_session=xyz");
        assert!(auth.describe().contains("context.json"));
    }

    #[test]
    fn static_header_from_kfp_context() {
        let mut e = env(&[]);
        e.kfp_context = Some(serde_json::json!({
            "client_authentication_header_name": "X-Api-Key",
            "client_authentication_header_value": "key-secret"
        }));
        let auth = discover(&e).unwrap();
        assert_eq!(sent_headers(&auth)["x-api-key"], "key-secret");
        assert_eq!(
            auth.describe(),
            "header x-api-key from ~/.config/kfp/context.json"
        );
        e.kfp_context = Some(serde_json::json!({
            "client_authentication_header_name": "bad name",
            "client_authentication_header_value": "key-secret"
        }));
        let err = discover(&e).unwrap_err().to_string();
        assert!(
            err.contains("do not form a valid HTTP header (name \"bad name\")"),
            "{err}"
        );
        assert!(!err.contains("key-secret"));
    }

    #[test]
    fn malformed_cookie_is_a_clear_error_without_the_value() {
        for bad in ["secretvalue", "=secretv", "a=secretb; c", "a=secretb\nc=d"] {
            let err = discover(&env(&[("KF_PIPELINES_COOKIE", bad)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains("name=value"), "{bad}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn dex_needs_both_variables() {
        let err = discover(&env(&[("DEX_USERNAME", "user@example.com")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "DEX_USERNAME is set but DEX_PASSWORD is not: set both to log in through Dex"
        );
        let err = discover(&env(&[("DEX_PASSWORD", "pw-secret")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("DEX_USERNAME is not") && !err.contains("pw-secret"));
    }

    #[test]
    fn none_sends_nothing_and_says_how_to_authenticate() {
        let auth = discover(&env(&[])).unwrap();
        assert!(auth.is_none());
        assert!(sent_headers(&auth).is_empty());
        assert_eq!(auth.tried(), [NONE_DESCRIPTION]);
        // the help names a variable of every way to authenticate
        for var in [
            "KF_PIPELINES_TOKEN",
            "KF_PIPELINES_SA_TOKEN_PATH",
            "DEX_USERNAME",
            "DEX_PASSWORD",
            "IAP_CLIENT_ID",
            "KF_PIPELINES_COOKIE",
        ] {
            assert!(CREDENTIAL_HINT.contains(var), "{var}");
        }
    }

    #[test]
    fn static_credentials_have_nothing_to_refresh() {
        let mut auth = discover(&env(&[("KF_PIPELINES_TOKEN", "t")])).unwrap();
        assert!(!block_on(auth.refresh(&reqwest::Client::new())).unwrap());
        assert_eq!(auth.tried(), ["bearer token from KF_PIPELINES_TOKEN"]);
    }

    #[test]
    fn auth_env_debug_shows_names_not_values() {
        let mut e = env(&[
            ("DEX_PASSWORD", "pw-secret"),
            ("KF_PIPELINES_TOKEN", "tok-secret"),
        ]);
        e.kfp_context =
            Some(serde_json::json!({"client_authentication_cookie": "c=cookie-secret"}));
        let dbg = format!("{e:?}");
        assert!(dbg.contains("DEX_PASSWORD"));
        for secret in ["pw-secret", "tok-secret", "cookie-secret"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
    }

    #[test]
    fn context_file_that_is_not_json_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("context.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(read_kfp_context(&path).is_none());
        std::fs::write(&path, r#"{"namespace": "ns"}"#).unwrap();
        assert_eq!(read_kfp_context(&path).unwrap()["namespace"], "ns");
    }
}
