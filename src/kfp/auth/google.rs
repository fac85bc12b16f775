//! Google OAuth access tokens from application default credentials (ADC), as the KFP SDK sends
//! them to GCP-hosted KFP behind Google's inverse proxy (`kfp/client/client.py`:
//! `_is_inverse_proxy_host`, `kfp/client/auth.py`: `get_gcp_access_token`, which calls
//! `google.auth.default(scopes=[cloud-platform])`).
//!
//! Sources in google-auth's order (`google/auth/_default.py`): the file named by
//! `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's well-known file
//! (`$CLOUDSDK_CONFIG` or `~/.config/gcloud/application_default_credentials.json`), then the
//! GCE/GKE metadata server. A service-account key signs a JWT with `scope` (JWT bearer grant);
//! user credentials (`authorized_user`) use the refresh-token grant; the metadata server hands
//! out its service account's token. The token is kept until [`RENEW_MARGIN`] before it expires.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::iap::{first_line, reason, ServiceAccountKey};
use super::{io_reason, AuthEnv, Secret};
use crate::kfp::KfpError;

pub const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
/// google-auth's `_GOOGLE_OAUTH2_TOKEN_ENDPOINT`.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Overrides Google's token endpoint where a credential file names none (tests, private
/// Google endpoints).
pub const TOKEN_URI_VAR: &str = "KFPX_GOOGLE_TOKEN_URI";
/// `1`: send an ADC access token to any host; `0`: never, not even to an inverse-proxy host.
pub const SWITCH_VAR: &str = "KFPX_GOOGLE_ADC";
const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TIMEOUT: Duration = Duration::from_secs(20);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
/// Renew a token this long before Google says it expires.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);
const ADC_LOGIN: &str = "run `gcloud auth application-default login`";

/// The KFP SDK's test (`re.match(r'\S+.googleusercontent.com/{0,1}$', host)`), on the host
/// name: AI Platform Pipelines (`….pipelines.googleusercontent.com`) and notebooks.
pub fn is_inverse_proxy_host(url: &url::Url) -> bool {
    url.host_str().is_some_and(|h| {
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        h.len() > ".googleusercontent.com".len() && h.ends_with(".googleusercontent.com")
    })
}

/// Why ADC applies to this host, `None` when it does not.
pub(super) fn wanted(base_url: &url::Url, env: &AuthEnv) -> Result<Option<String>, KfpError> {
    let switch = env.var(SWITCH_VAR).map(str::to_ascii_lowercase);
    match switch.as_deref() {
        Some("1" | "true" | "yes" | "on") => Ok(Some(format!("{SWITCH_VAR} is set"))),
        Some("0" | "false" | "no" | "off") => Ok(None),
        Some(other) => Err(KfpError::Auth(format!(
            "{SWITCH_VAR}={other:?} is neither 1 nor 0; set {SWITCH_VAR}=1 to send Google application default credentials to any host, 0 to never send them"
        ))),
        None if is_inverse_proxy_host(base_url) => Ok(Some(format!(
            "{} is a Google inverse-proxy host",
            base_url.host_str().unwrap_or_default()
        ))),
        None => Ok(None),
    }
}

/// Where a credential file came from.
#[derive(Debug, Clone)]
struct CredFile {
    path: PathBuf,
    from_var: bool,
}

impl std::fmt::Display for CredFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from_var {
            write!(f, "GOOGLE_APPLICATION_CREDENTIALS={}", self.path.display())
        } else {
            write!(f, "gcloud's {}", self.path.display())
        }
    }
}

#[derive(Debug)]
enum Source {
    ServiceAccount {
        file: CredFile,
        key: ServiceAccountKey,
    },
    User {
        file: CredFile,
        user: UserCredentials,
    },
    Metadata {
        host: String,
    },
}

/// An OAuth client and a refresh token (gcloud's `authorized_user` file, or a `kfpx login
/// google` entry).
#[derive(Debug, Clone)]
pub(super) struct UserCredentials {
    pub(super) client_id: String,
    pub(super) client_secret: Secret,
    pub(super) refresh_token: Secret,
    pub(super) token_uri: String,
}

/// An access token from ADC, renewed before it expires and after a 401.
#[derive(Debug)]
pub(super) struct Adc {
    why: String,
    source: Source,
    token: Secret,
    expires_at: Option<Instant>,
}

impl Adc {
    pub(super) async fn obtain(
        why: String,
        http: &reqwest::Client,
        env: &AuthEnv,
    ) -> Result<Adc, KfpError> {
        let source = find_source(env)?;
        let (token, expires_at) = mint(&source, http).await?;
        Ok(Adc {
            why,
            source,
            token,
            expires_at,
        })
    }

    pub(super) fn token(&self) -> &Secret {
        &self.token
    }

    /// True when the token expires within [`RENEW_MARGIN`].
    pub(super) fn expiring(&self) -> bool {
        self.expires_at
            .is_some_and(|at| at.saturating_duration_since(Instant::now()) <= RENEW_MARGIN)
    }

    pub(super) async fn refresh(&mut self, http: &reqwest::Client) -> Result<(), KfpError> {
        let (token, expires_at) = mint(&self.source, http).await?;
        self.token = token;
        self.expires_at = expires_at;
        Ok(())
    }

    pub(super) fn describe(&self) -> String {
        let from = match &self.source {
            Source::ServiceAccount { file, key } => {
                format!("service-account key {file} ({})", key.client_email)
            }
            Source::User { file, .. } => format!("user credentials in {file}"),
            Source::Metadata { host } => format!("the GCE metadata server ({host})"),
        };
        format!(
            "Google access token (cloud-platform) from {from}, because {}",
            self.why
        )
    }
}

fn find_source(env: &AuthEnv) -> Result<Source, KfpError> {
    if let Some(path) = env.var("GOOGLE_APPLICATION_CREDENTIALS") {
        return read_file(
            CredFile {
                path: PathBuf::from(path),
                from_var: true,
            },
            env,
        );
    }
    if let Some(path) = env.gcloud_adc_file.as_ref().filter(|p| p.is_file()) {
        return read_file(
            CredFile {
                path: path.clone(),
                from_var: false,
            },
            env,
        );
    }
    Ok(Source::Metadata {
        host: metadata_host(env),
    })
}

pub(super) fn metadata_host(env: &AuthEnv) -> String {
    env.var("GCE_METADATA_HOST")
        .unwrap_or(DEFAULT_METADATA_HOST)
        .trim_end_matches('/')
        .to_string()
}

/// The token endpoint for user credentials whose file names none.
pub(super) fn token_uri(env: &AuthEnv) -> String {
    env.var(TOKEN_URI_VAR)
        .unwrap_or(DEFAULT_TOKEN_URI)
        .to_string()
}

fn read_file(file: CredFile, env: &AuthEnv) -> Result<Source, KfpError> {
    let text = std::fs::read_to_string(&file.path).map_err(|err| {
        KfpError::Auth(format!(
            "cannot read the Google credentials {file}: {}; {}",
            io_reason(&err),
            if file.from_var {
                "point GOOGLE_APPLICATION_CREDENTIALS at a key file, or unset it and run `gcloud auth application-default login`"
            } else {
                ADC_LOGIN
            }
        ))
    })?;
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "type")]
        kind: Option<String>,
        client_email: Option<String>,
        private_key_id: Option<String>,
        private_key: Option<String>,
        token_uri: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
        refresh_token: Option<String>,
    }
    let raw: Raw = serde_json::from_str(&text).map_err(|err| {
        KfpError::Auth(format!(
            "the Google credentials {file} are not JSON ({}:{}); {ADC_LOGIN}",
            err.line(),
            err.column()
        ))
    })?;
    let missing = |field: &str| {
        KfpError::Auth(format!(
            "the Google credentials {file} have no {field}; {}",
            if raw.kind.as_deref() == Some("service_account") {
                "download a new JSON key for the service account"
            } else {
                ADC_LOGIN
            }
        ))
    };
    match raw.kind.as_deref() {
        Some("service_account") => {
            let client_email = raw.client_email.clone().ok_or_else(|| missing("client_email"))?;
            let private_key =
                Secret::new(raw.private_key.clone().ok_or_else(|| missing("private_key"))?);
            Ok(Source::ServiceAccount {
                key: ServiceAccountKey {
                    client_email,
                    private_key_id: raw.private_key_id.clone(),
                    private_key,
                    token_uri: raw
                        .token_uri
                        .clone()
                        .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
                },
                file,
            })
        }
        Some("authorized_user") => {
            let client_id = raw.client_id.clone().ok_or_else(|| missing("client_id"))?;
            let client_secret =
                Secret::new(raw.client_secret.clone().ok_or_else(|| missing("client_secret"))?);
            let refresh_token =
                Secret::new(raw.refresh_token.clone().ok_or_else(|| missing("refresh_token"))?);
            Ok(Source::User {
                user: UserCredentials {
                    client_id,
                    client_secret,
                    refresh_token,
                    token_uri: raw.token_uri.clone().unwrap_or_else(|| token_uri(env)),
                },
                file,
            })
        }
        other => Err(KfpError::Auth(format!(
            "the Google credentials {file} are of type {}, which kfpx cannot use; use a service-account key (\"service_account\") or {ADC_LOGIN}",
            other.map_or_else(|| "(none)".to_string(), |t| format!("{t:?}"))
        ))),
    }
}

async fn mint(
    source: &Source,
    http: &reqwest::Client,
) -> Result<(Secret, Option<Instant>), KfpError> {
    match source {
        Source::ServiceAccount { file, key } => {
            let jwt = scoped_assertion(key, chrono::Utc::now().timestamp()).map_err(|why| {
                KfpError::Auth(format!("cannot use the service-account key {file}: {why}"))
            })?;
            let answer = token_request(
                http,
                &key.token_uri,
                &[("grant_type", JWT_BEARER), ("assertion", jwt.as_str())],
            )
            .await
            .map_err(|e| {
                KfpError::Auth(e.message(&format!(
                    "a Google access token for the service account {} ({file})",
                    key.client_email
                ), &format!(
                    "check that the key is current and not disabled, or create one: gcloud iam service-accounts keys create key.json --iam-account={}",
                    key.client_email
                )))
            })?;
            answer.access(&format!("service-account key {file}"), None)
        }
        Source::User { file, user } => {
            let answer = refresh_grant(http, user, None).await.map_err(|e| {
                KfpError::Auth(e.message(
                    &format!("a Google access token for the user credentials in {file}"),
                    ADC_LOGIN,
                ))
            })?;
            answer.access(&format!("user credentials in {file}"), Some(ADC_LOGIN))
        }
        Source::Metadata { host } => from_metadata(host, http).await,
    }
}

/// The refresh-token grant; with `audience`, Google answers with an ID token for it too.
pub(super) async fn refresh_grant(
    http: &reqwest::Client,
    user: &UserCredentials,
    audience: Option<&str>,
) -> Result<TokenAnswer, TokenError> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", user.client_id.as_str()),
        ("client_secret", user.client_secret.expose()),
        ("refresh_token", user.refresh_token.expose()),
    ];
    if let Some(audience) = audience {
        form.push(("audience", audience));
    }
    token_request(http, &user.token_uri, &form).await
}

/// The self-signed assertion a service account exchanges for an access token with the
/// cloud-platform scope (google-auth `service_account.Credentials._make_authorization_grant_assertion`).
fn scoped_assertion(key: &ServiceAccountKey, now: i64) -> Result<String, String> {
    let encoding_key = jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.expose().as_bytes())
        .map_err(|_| "its private_key is not an RSA private key in PEM form".to_string())?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = key.private_key_id.clone();
    let claims = serde_json::json!({
        "iss": key.client_email,
        "sub": key.client_email,
        "aud": key.token_uri,
        "scope": CLOUD_PLATFORM,
        "iat": now,
        "exp": now + 3600,
    });
    jsonwebtoken::encode(&header, &claims, &encoding_key)
        .map_err(|_| "signing with its private_key failed".to_string())
}

/// A token endpoint's successful answer.
#[derive(Deserialize, Default)]
pub(super) struct TokenAnswer {
    access_token: Option<String>,
    id_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    scope: Option<String>,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAnswer(***)")
    }
}

impl TokenAnswer {
    fn expires_at(&self) -> Option<Instant> {
        self.expires_in
            .map(|s| Instant::now() + Duration::from_secs(s.min(86_400)))
    }

    /// The access token, refused when the answer says it lacks the cloud-platform scope.
    fn access(self, what: &str, fix: Option<&str>) -> Result<(Secret, Option<Instant>), KfpError> {
        if let Some(scope) = &self.scope {
            if !scope.split_whitespace().any(|s| s == CLOUD_PLATFORM) {
                return Err(KfpError::Auth(format!(
                    "the Google access token from {what} lacks the cloud-platform scope (granted: {}); {}",
                    if scope.trim().is_empty() { "none" } else { scope.trim() },
                    fix.unwrap_or(ADC_LOGIN)
                )));
            }
        }
        let expires_at = self.expires_at();
        match self.access_token.map(Secret::new) {
            Some(token) if super::is_token(&token) => Ok((token, expires_at)),
            _ => Err(KfpError::Auth(format!(
                "Google's token endpoint answered without an access_token for {what}"
            ))),
        }
    }

    /// The ID token of a grant that asked for an audience.
    pub(super) fn id_token(self) -> Option<Secret> {
        self.id_token.map(Secret::new).filter(super::is_token)
    }

    pub(super) fn refresh_token(&self) -> Option<Secret> {
        self.refresh_token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new)
    }
}

/// Why a token request failed, without any secret.
#[derive(Debug)]
pub(super) enum TokenError {
    Unreachable {
        uri: String,
        reason: String,
    },
    Refused {
        uri: String,
        status: u16,
        detail: String,
        error: Option<String>,
    },
}

impl TokenError {
    /// `error: cannot get <what>: …; <fix>` (the fix for `invalid_grant` and client errors).
    pub(super) fn message(&self, what: &str, fix: &str) -> String {
        match self {
            TokenError::Unreachable { uri, reason } => {
                format!("cannot reach Google's token endpoint {uri} for {what}: {reason}")
            }
            TokenError::Refused {
                uri,
                status,
                detail,
                error,
            } => {
                let fix = match error.as_deref() {
                    Some(
                        "invalid_grant"
                        | "invalid_client"
                        | "unauthorized_client"
                        | "invalid_scope",
                    ) => fix,
                    _ => "try again later",
                };
                format!(
                    "Google's token endpoint {uri} refused {what} (HTTP {status}: {detail}); {fix}"
                )
            }
        }
    }
}

pub(super) async fn token_request(
    http: &reqwest::Client,
    uri: &str,
    form: &[(&str, &str)],
) -> Result<TokenAnswer, TokenError> {
    let response = http
        .post(uri)
        .timeout(TIMEOUT)
        .form(form)
        .send()
        .await
        .map_err(|err| TokenError::Unreachable {
            uri: uri.to_string(),
            reason: reason(&err),
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        return Ok(serde_json::from_str(&body).unwrap_or_default());
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        error: Option<String>,
        error_description: Option<String>,
    }
    let parsed: Option<ErrorBody> = serde_json::from_str(&body).ok();
    let (detail, error) = match parsed {
        Some(ErrorBody {
            error: Some(error),
            error_description,
        }) => (
            match error_description {
                Some(d) if !d.is_empty() => format!("{error}: {d}"),
                _ => error.clone(),
            },
            Some(error),
        ),
        // Never echo a body that is not Google's error JSON: it could hold anything.
        _ => (
            format!(
                "{} bytes of {}",
                body.len(),
                if body.trim_start().starts_with('<') {
                    "HTML"
                } else {
                    "text"
                }
            ),
            None,
        ),
    };
    Err(TokenError::Refused {
        uri: uri.to_string(),
        status: status.as_u16(),
        detail,
        error,
    })
}

async fn from_metadata(
    host: &str,
    http: &reqwest::Client,
) -> Result<(Secret, Option<Instant>), KfpError> {
    let base = format!("http://{host}/computeMetadata/v1/instance/service-accounts/default");
    let get = |path: &str| {
        http.get(format!("{base}/{path}"))
            .timeout(METADATA_TIMEOUT)
            .header("Metadata-Flavor", "Google")
    };
    let response = get("token")
        .query(&[("scopes", CLOUD_PLATFORM)])
        .send()
        .await
        .map_err(|err| {
            KfpError::Auth(format!(
                "no Google application default credentials: GOOGLE_APPLICATION_CREDENTIALS is unset, gcloud has none stored, and the GCE metadata server ({host}) cannot be reached ({}); {ADC_LOGIN}",
                reason(&err)
            ))
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(KfpError::Auth(format!(
            "the GCE metadata server ({host}) has no service account for this machine (HTTP 404); attach one to the VM/node pool (or use Workload Identity), or {ADC_LOGIN}"
        )));
    }
    if !status.is_success() {
        return Err(KfpError::Auth(format!(
            "the GCE metadata server ({host}) gave no access token (HTTP {}: {})",
            status.as_u16(),
            first_line(&body)
        )));
    }
    let answer: TokenAnswer = serde_json::from_str(&body).unwrap_or_default();
    // The token carries the VM's access scopes whatever we ask for: check them.
    if let Ok(resp) = get("scopes").send().await {
        if resp.status().is_success() {
            let scopes = resp.text().await.unwrap_or_default();
            if !scopes.split_whitespace().any(|s| s == CLOUD_PLATFORM) {
                return Err(KfpError::Auth(format!(
                    "the service account of this VM (GCE metadata server {host}) lacks the cloud-platform access scope (has: {}); stop the VM and run `gcloud compute instances set-service-account VM --scopes=cloud-platform` (for GKE: a node pool created with --scopes=cloud-platform)",
                    scopes.split_whitespace().collect::<Vec<_>>().join(" ")
                )));
            }
        }
    }
    answer.access(&format!("the GCE metadata server ({host})"), None)
}

/// gcloud's well-known ADC file (`google/auth/_cloud_sdk.py`: `$CLOUDSDK_CONFIG`, else
/// `%APPDATA%\gcloud` on Windows, else `~/.config/gcloud`).
pub fn gcloud_adc_file(cloudsdk_config: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    const NAME: &str = "application_default_credentials.json";
    if let Some(dir) = cloudsdk_config {
        return Some(dir.join(NAME));
    }
    if cfg!(windows) {
        if let Some(appdata) = std::env::var_os("APPDATA") {
            return Some(Path::new(&appdata).join("gcloud").join(NAME));
        }
    }
    home.map(|h| h.join(".config/gcloud").join(NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn inverse_proxy_hosts_as_the_sdk_sees_them() {
        for yes in [
            "https://7c021d0340d296aa-dot-us-central1.pipelines.googleusercontent.com",
            "https://7c021d0340d296aa-dot-us-central1.pipelines.googleusercontent.com/",
            "https://abc-dot-europe-west1.notebooks.googleusercontent.com",
            "https://X.Pipelines.GoogleUserContent.com.",
        ] {
            assert!(is_inverse_proxy_host(&url(yes)), "{yes}");
        }
        for no in [
            "https://googleusercontent.com",
            "https://kubeflow.example.com/pipeline",
            "https://evil-googleusercontent.com",
            "https://pipelines.googleusercontent.com.example.com",
            "http://127.0.0.1:8888",
        ] {
            assert!(!is_inverse_proxy_host(&url(no)), "{no}");
        }
    }

    #[test]
    fn the_switch_forces_or_disables_adc() {
        let mut env = AuthEnv::default();
        let proxy = url("https://x.pipelines.googleusercontent.com");
        let other = url("http://127.0.0.1:1");
        assert!(wanted(&proxy, &env)
            .unwrap()
            .unwrap()
            .contains("inverse-proxy host"));
        assert!(wanted(&other, &env).unwrap().is_none());
        env.vars.insert(SWITCH_VAR.into(), "1".into());
        assert_eq!(
            wanted(&other, &env).unwrap().unwrap(),
            "KFPX_GOOGLE_ADC is set"
        );
        env.vars.insert(SWITCH_VAR.into(), "0".into());
        assert!(wanted(&proxy, &env).unwrap().is_none());
        env.vars.insert(SWITCH_VAR.into(), "maybe".into());
        let err = wanted(&other, &env).unwrap_err().to_string();
        assert!(
            err.starts_with("KFPX_GOOGLE_ADC=\"maybe\" is neither 1 nor 0"),
            "{err}"
        );
    }

    #[test]
    fn gcloud_file_follows_cloudsdk_config_then_home() {
        assert_eq!(
            gcloud_adc_file(Some(Path::new("/cfg")), Some(Path::new("/home/u"))).unwrap(),
            Path::new("/cfg/application_default_credentials.json")
        );
        if !cfg!(windows) {
            assert_eq!(
                gcloud_adc_file(None, Some(Path::new("/home/u"))).unwrap(),
                Path::new("/home/u/.config/gcloud/application_default_credentials.json")
            );
        }
    }

    #[test]
    fn token_errors_never_echo_a_body_that_is_not_googles_error_json() {
        let e = TokenError::Refused {
            uri: "https://t".into(),
            status: 500,
            detail: "12 bytes of text".into(),
            error: None,
        };
        assert_eq!(
            e.message("x", "fix it"),
            "Google's token endpoint https://t refused x (HTTP 500: 12 bytes of text); try again later"
        );
    }
}
