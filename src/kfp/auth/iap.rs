//! Google IAP: an OIDC ID token whose audience is the IAP OAuth client id, minted from a
//! service-account key (`GOOGLE_APPLICATION_CREDENTIALS`: a self-signed RS256 JWT exchanged at
//! the key's `token_uri`) or by the GCE metadata server. User credentials from
//! `gcloud auth application-default login` cannot mint such tokens.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{io_reason, AuthEnv, Secret};
use crate::kfp::KfpError;

const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TIMEOUT: Duration = Duration::from_secs(20);
/// The metadata server answers in milliseconds; off Google Cloud its name may hang instead.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
const USER_CREDENTIALS_NOTE: &str =
    "user credentials from `gcloud auth application-default login` cannot mint ID tokens for IAP";

#[derive(Debug)]
pub(super) struct Iap {
    client_id: String,
    var: &'static str,
    source: Source,
    token: Secret,
}

#[derive(Debug)]
enum Source {
    Key {
        path: PathBuf,
        key: ServiceAccountKey,
    },
    Metadata {
        host: String,
    },
    /// A user login stored by `kfpx login google` or the kfp SDK.
    User {
        path: PathBuf,
        user: super::google::UserCredentials,
    },
}

#[derive(Debug)]
pub(super) struct ServiceAccountKey {
    pub(super) client_email: String,
    pub(super) private_key_id: Option<String>,
    pub(super) private_key: Secret,
    pub(super) token_uri: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    target_audience: &'a str,
    iat: i64,
    exp: i64,
}

impl Iap {
    pub(super) async fn obtain(
        client_id: &str,
        var: &'static str,
        http: &reqwest::Client,
        env: &AuthEnv,
    ) -> Result<Iap, KfpError> {
        // The SDK looks for a stored user login first (`kfp/client/auth.py`: get_auth_token).
        let login = env.kfp_credentials_file.as_ref().and_then(|path| {
            super::login::stored(path, client_id, env).map(|user| (path.clone(), user))
        });
        let source = match (login, env.var("GOOGLE_APPLICATION_CREDENTIALS")) {
            (Some((path, user)), _) => Source::User { path, user },
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                let key = read_key(&path)?;
                Source::Key { path, key }
            }
            (None, None) => Source::Metadata {
                host: env
                    .var("GCE_METADATA_HOST")
                    .unwrap_or(DEFAULT_METADATA_HOST)
                    .trim_end_matches('/')
                    .to_string(),
            },
        };
        let token = mint(&source, client_id, http).await?;
        Ok(Iap {
            client_id: client_id.to_string(),
            var,
            source,
            token,
        })
    }

    pub(super) async fn refresh(&mut self, http: &reqwest::Client) -> Result<(), KfpError> {
        self.token = mint(&self.source, &self.client_id, http).await?;
        Ok(())
    }

    pub(super) fn token(&self) -> &Secret {
        &self.token
    }

    pub(super) fn describe(&self) -> String {
        let from = match &self.source {
            Source::Key { path, key } => format!(
                "service-account key {} ({})",
                path.display(),
                key.client_email
            ),
            Source::Metadata { host } => format!("the GCE metadata server ({host})"),
            Source::User { path, user } => format!(
                "the user login in {} (OAuth client {})",
                path.display(),
                user.client_id
            ),
        };
        format!(
            "Google IAP ID token for client id {} ({}) from {from}",
            self.client_id, self.var
        )
    }
}

fn read_key(path: &std::path::Path) -> Result<ServiceAccountKey, KfpError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|err| {
        KfpError::Auth(format!(
            "cannot read GOOGLE_APPLICATION_CREDENTIALS={shown}: {}",
            io_reason(&err)
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
    }
    let raw: Raw = serde_json::from_str(&text).map_err(|err| {
        KfpError::Auth(format!(
            "GOOGLE_APPLICATION_CREDENTIALS={shown} is not a JSON key file ({}:{}); download a service-account key as JSON",
            err.line(),
            err.column()
        ))
    })?;
    match raw.kind.as_deref() {
        Some("service_account") => {}
        Some("authorized_user") => {
            return Err(KfpError::Auth(format!(
                "GOOGLE_APPLICATION_CREDENTIALS={shown} holds user credentials, and {USER_CREDENTIALS_NOTE}; log in with your own account once with `kfpx login google`, point it at a service-account key file, or use KF_PIPELINES_TOKEN"
            )))
        }
        other => {
            return Err(KfpError::Auth(format!(
                "GOOGLE_APPLICATION_CREDENTIALS={shown} has credentials of type {}, which kfpx cannot use for IAP; use a service-account key file (type \"service_account\")",
                other.map_or_else(|| "(none)".to_string(), |t| format!("{t:?}"))
            )))
        }
    }
    let missing = |field: &str| {
        KfpError::Auth(format!(
            "the service-account key GOOGLE_APPLICATION_CREDENTIALS={shown} has no {field}; download a new JSON key"
        ))
    };
    let client_email = raw.client_email.ok_or_else(|| missing("client_email"))?;
    let private_key = Secret::new(raw.private_key.ok_or_else(|| missing("private_key"))?);
    Ok(ServiceAccountKey {
        client_email,
        private_key_id: raw.private_key_id,
        private_key,
        token_uri: raw
            .token_uri
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
    })
}

async fn mint(
    source: &Source,
    client_id: &str,
    http: &reqwest::Client,
) -> Result<Secret, KfpError> {
    match source {
        Source::Key { path, key } => from_key(path, key, client_id, http).await,
        Source::Metadata { host } => from_metadata(host, client_id, http).await,
        Source::User { path, user } => super::login::id_token(http, user, client_id, path).await,
    }
}

/// The self-signed assertion a service account exchanges for an ID token.
fn assertion(key: &ServiceAccountKey, client_id: &str, now: i64) -> Result<String, String> {
    let encoding_key = jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.expose().as_bytes())
        .map_err(|_| "its private_key is not an RSA private key in PEM form".to_string())?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = key.private_key_id.clone();
    let claims = Claims {
        iss: &key.client_email,
        sub: &key.client_email,
        aud: &key.token_uri,
        target_audience: client_id,
        iat: now,
        exp: now + 3600,
    };
    jsonwebtoken::encode(&header, &claims, &encoding_key)
        .map_err(|_| "signing with its private_key failed".to_string())
}

async fn from_key(
    path: &std::path::Path,
    key: &ServiceAccountKey,
    client_id: &str,
    http: &reqwest::Client,
) -> Result<Secret, KfpError> {
    let jwt = assertion(key, client_id, chrono::Utc::now().timestamp()).map_err(|why| {
        KfpError::Auth(format!(
            "cannot use the service-account key {}: {why}",
            path.display()
        ))
    })?;
    let response = http
        .post(&key.token_uri)
        .timeout(TIMEOUT)
        .form(&[("grant_type", JWT_BEARER), ("assertion", jwt.as_str())])
        .send()
        .await
        .map_err(|err| {
            KfpError::Auth(format!(
                "cannot reach Google's token endpoint {} for an IAP ID token: {}",
                crate::redact::RedactedUrl::new(&key.token_uri),
                reason(&err)
            ))
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    #[derive(Deserialize)]
    struct TokenResponse {
        id_token: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let parsed: Option<TokenResponse> = serde_json::from_str(&body).ok();
    if status.is_success() {
        if let Some(token) = parsed.and_then(|p| p.id_token).map(Secret::new) {
            if super::is_token(&token) {
                return Ok(token);
            }
        }
        return Err(KfpError::Auth(format!(
            "Google's token endpoint {} answered without an id_token for {}; check that the key is a service-account key",
            crate::redact::RedactedUrl::new(&key.token_uri), key.client_email
        )));
    }
    let detail = match parsed {
        Some(TokenResponse {
            error: Some(error),
            error_description,
            ..
        }) => match error_description {
            Some(d) if !d.is_empty() => format!("{error}: {d}"),
            _ => error,
        },
        _ => first_line(&body),
    };
    // The signed assertion is a credential: never shown, even when the server echoes it.
    let detail = detail.replace(jwt.as_str(), crate::redact::MASK);
    Err(KfpError::Auth(format!(
        "Google refused an IAP ID token for {} (HTTP {}): {detail}; check that the key in GOOGLE_APPLICATION_CREDENTIALS is current and not disabled",
        key.client_email,
        status.as_u16()
    )))
}

async fn from_metadata(
    host: &str,
    client_id: &str,
    http: &reqwest::Client,
) -> Result<Secret, KfpError> {
    let url =
        format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/identity");
    let response = http
        .get(&url)
        .timeout(METADATA_TIMEOUT)
        .header("Metadata-Flavor", "Google")
        .query(&[("audience", client_id), ("format", "full")])
        .send()
        .await
        .map_err(|err| {
            KfpError::Auth(format!(
                "IAP_CLIENT_ID is set but no Google service account is available: GOOGLE_APPLICATION_CREDENTIALS is unset and the GCE metadata server ({host}) cannot be reached ({}); point GOOGLE_APPLICATION_CREDENTIALS at a service-account key file ({USER_CREDENTIALS_NOTE})",
                reason(&err)
            ))
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let token = body.trim();
    if status.is_success() && super::is_token(&Secret::new(token)) {
        return Ok(Secret::new(token));
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(KfpError::Auth(format!(
            "the GCE metadata server ({host}) has no service account for this machine (HTTP 404); attach one to the VM/node pool (or use Workload Identity), or set GOOGLE_APPLICATION_CREDENTIALS"
        )));
    }
    Err(KfpError::Auth(format!(
        "the GCE metadata server ({host}) did not give an ID token for {client_id} (HTTP {}): {}",
        status.as_u16(),
        if status.is_success() {
            "empty or malformed answer".to_string()
        } else {
            first_line(token)
        }
    )))
}

/// The innermost cause of a reqwest error, e.g. "Connection refused" or "dns error".
pub(super) fn reason(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".into();
    }
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    let text = source.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

pub(super) fn first_line(body: &str) -> String {
    let line = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(empty answer)");
    let mut line: String = line.chars().take(200).collect();
    if body.trim().chars().count() > line.chars().count() {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../../../tests/fixtures/auth/test-sa-private.pem");
    const PUBLIC: &str = include_str!("../../../tests/fixtures/auth/test-sa-public.pem");

    fn key() -> ServiceAccountKey {
        ServiceAccountKey {
            client_email: "kfpx-test@example.iam.gserviceaccount.com".into(),
            private_key_id: Some("kid-1".into()),
            private_key: Secret::new(PRIVATE),
            token_uri: "https://oauth2.example.test/token".into(),
        }
    }

    #[test]
    fn assertion_is_an_rs256_jwt_google_can_verify() {
        let jwt = assertion(&key(), "123-abc.apps.googleusercontent.com", 1_700_000_000).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["https://oauth2.example.test/token"]);
        validation.validate_exp = false;
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &jwt,
            &jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.header.kid.as_deref(), Some("kid-1"));
        let c = decoded.claims;
        assert_eq!(c["iss"], "kfpx-test@example.iam.gserviceaccount.com");
        assert_eq!(c["sub"], c["iss"]);
        assert_eq!(c["target_audience"], "123-abc.apps.googleusercontent.com");
        assert_eq!(c["iat"], 1_700_000_000);
        assert_eq!(c["exp"], 1_700_003_600);
    }

    #[test]
    fn a_bad_private_key_is_named_not_printed() {
        let mut k = key();
        k.private_key =
            Secret::new("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
        let err = assertion(&k, "aud", 0).unwrap_err();
        assert!(err.contains("not an RSA private key"), "{err}");
        assert!(!err.contains("bm90"));
        assert!(!format!("{k:?}").contains("bm90"));
    }

    fn key_file(json: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        std::fs::write(&path, json).unwrap();
        (dir, path)
    }

    #[test]
    fn user_credentials_are_refused_with_the_reason() {
        let (_dir, path) = key_file(
            r#"{"type":"authorized_user","client_id":"x","client_secret":"shh-secret","refresh_token":"rt-secret"}"#,
        );
        let err = read_key(&path).unwrap_err().to_string();
        assert!(err.contains("holds user credentials"), "{err}");
        assert!(err.contains("gcloud auth application-default login"));
        assert!(!err.contains("secret"));
    }

    #[test]
    fn key_file_problems_are_one_line_each() {
        let (_dir, path) = key_file("{ not json");
        let err = read_key(&path).unwrap_err().to_string();
        assert!(err.contains("is not a JSON key file (1:3)"), "{err}");
        let (_dir, path) = key_file(r#"{"type":"service_account","private_key":"k"}"#);
        let err = read_key(&path).unwrap_err().to_string();
        assert!(err.contains("has no client_email"), "{err}");
        let (_dir, path) = key_file(r#"{"type":"external_account"}"#);
        let err = read_key(&path).unwrap_err().to_string();
        assert!(err.contains("type \"external_account\""), "{err}");
        let err = read_key(std::path::Path::new("/nonexistent/key.json"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "cannot read GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/key.json: no such file"
        );
    }

    #[test]
    fn token_uri_defaults_to_googles() {
        let (_dir, path) =
            key_file(r#"{"type":"service_account","client_email":"a@b","private_key":"k"}"#);
        assert_eq!(read_key(&path).unwrap().token_uri, DEFAULT_TOKEN_URI);
    }
}
