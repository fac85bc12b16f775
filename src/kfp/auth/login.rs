//! `kfpx login google`: IAP with a user account, as the KFP SDK's `--other-client-id` /
//! `--other-client-secret` (`kfp/client/auth.py`): the installed-app OAuth flow with a loopback
//! redirect, a refresh token stored in `~/.config/kfp/credentials.json` under the IAP client id
//! (`{"<iap client id>": {"other_client_id", "other_client_secret", "refresh_token"}}`, the
//! SDK's layout, so an SDK login is reused and the other way round), then ID tokens for the IAP
//! audience from the refresh-token grant with `audience` (the SDK's
//! `id_token_from_refresh_token`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::Digest;

use super::google::{self, UserCredentials};
use super::{AuthEnv, Secret};
use crate::kfp::KfpError;

/// Google's authorization endpoint; `KFPX_GOOGLE_AUTH_URI` replaces it (tests).
pub const DEFAULT_AUTH_URI: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const AUTH_URI_VAR: &str = "KFPX_GOOGLE_AUTH_URI";
/// How long the loopback listener waits for the browser.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// The largest request the loopback listener reads.
const MAX_REQUEST: usize = 16 * 1024;

/// `~/.config/kfp/credentials.json` (the SDK's `LOCAL_KFP_CREDENTIAL`).
pub fn credentials_file(home: Option<&Path>) -> Option<PathBuf> {
    home.map(|h| h.join(".config/kfp/credentials.json"))
}

/// The stored user login for an IAP client id, if any.
pub(super) fn stored(path: &Path, iap_client_id: &str, env: &AuthEnv) -> Option<UserCredentials> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let entry = json.get(iap_client_id)?;
    let get = |k: &str| {
        entry
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Some(UserCredentials {
        client_id: get("other_client_id")?,
        client_secret: Secret::new(get("other_client_secret")?),
        refresh_token: Secret::new(get("refresh_token")?),
        token_uri: google::token_uri(env),
    })
}

/// An ID token for the IAP audience from a stored login.
pub(super) async fn id_token(
    http: &reqwest::Client,
    user: &UserCredentials,
    iap_client_id: &str,
    path: &Path,
) -> Result<Secret, KfpError> {
    let fix = format!(
        "log in again: kfpx login google --iap-client-id {iap_client_id} --oauth-client-id {} --oauth-client-secret …",
        user.client_id
    );
    let answer = google::refresh_grant(http, user, Some(iap_client_id))
        .await
        .map_err(|e| {
            KfpError::Auth(e.message(
                &format!(
                    "an IAP ID token for the login stored in {} (IAP client {iap_client_id})",
                    path.display()
                ),
                &fix,
            ))
        })?;
    answer.id_token().ok_or_else(|| {
        KfpError::Auth(format!(
            "Google's token endpoint answered without an id_token for the login stored in {}; {fix}",
            path.display()
        ))
    })
}

pub struct LoginRequest<'a> {
    pub iap_client_id: &'a str,
    pub oauth_client_id: &'a str,
    pub oauth_client_secret: Secret,
    pub open_browser: bool,
}

/// Run the installed-app flow, check the result by getting an ID token, store the login.
/// Progress and the URL go to stderr through `say`.
pub async fn login(
    req: LoginRequest<'_>,
    env: &AuthEnv,
    file: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<(), KfpError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| {
        KfpError::Auth(format!(
            "cannot listen on 127.0.0.1 for the login redirect: {e}"
        ))
    })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let state = random_urlsafe(24);
    let verifier = random_urlsafe(48);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let auth_uri = env.var(AUTH_URI_VAR).unwrap_or(DEFAULT_AUTH_URI);
    let mut url = url::Url::parse(auth_uri)
        .map_err(|e| KfpError::Auth(format!("{AUTH_URI_VAR}={auth_uri:?} is not a URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("client_id", req.oauth_client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email")
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    say(&format!(
        "Open this URL in a browser and sign in with your Google account (waiting {} minutes):\n  {url}",
        LOGIN_TIMEOUT.as_secs() / 60
    ));
    if req.open_browser && open::that_detached(url.as_str()).is_err() {
        say("(no browser could be opened: open the URL yourself)");
    }
    let code = tokio::task::spawn_blocking(move || wait_for_code(listener, &state))
        .await
        .map_err(|e| KfpError::Auth(format!("the login listener failed: {e}")))??;

    let http = reqwest::Client::new();
    let token_uri = google::token_uri(env);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("client_id", req.oauth_client_id),
        ("client_secret", req.oauth_client_secret.expose()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let answer = google::token_request(&http, &token_uri, &form)
        .await
        .map_err(|e| {
            KfpError::Auth(e.message(
                &format!("the login code for OAuth client {}", req.oauth_client_id),
                "check --oauth-client-id and --oauth-client-secret (a \"Desktop app\" OAuth client of the IAP project) and log in again",
            ))
        })?;
    let refresh_token = answer.refresh_token().ok_or_else(|| {
        KfpError::Auth(format!(
            "Google's token endpoint {token_uri} gave no refresh token; revoke kfpx's access at https://myaccount.google.com/permissions and log in again"
        ))
    })?;
    let user = UserCredentials {
        client_id: req.oauth_client_id.to_string(),
        client_secret: req.oauth_client_secret.clone(),
        refresh_token,
        token_uri,
    };
    // Prove that the login gives ID tokens for the IAP audience before storing it.
    id_token(&http, &user, req.iap_client_id, file).await?;
    store(file, req.iap_client_id, Some(&user))?;
    say(&format!(
        "Logged in: the login for IAP client {} is stored in {} (kfpx and the kfp SDK use it when IAP_CLIENT_ID is set).",
        req.iap_client_id,
        file.display()
    ));
    Ok(())
}

/// Remove the login for one IAP client id, or all of them. `Ok(n)`: how many were removed.
pub fn logout(file: &Path, iap_client_id: Option<&str>) -> Result<usize, KfpError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(KfpError::Auth(format!(
                "cannot read {}: {}",
                file.display(),
                super::io_reason(&e)
            )))
        }
    };
    let mut json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|_| {
            KfpError::Auth(format!(
                "{} is not a JSON object; remove it: rm {}",
                file.display(),
                file.display()
            ))
        })?;
    let removed = match iap_client_id {
        Some(id) => usize::from(json.remove(id).is_some()),
        None => {
            let n = json.len();
            json.clear();
            n
        }
    };
    if json.is_empty() {
        std::fs::remove_file(file).map_err(|e| {
            KfpError::Auth(format!(
                "cannot remove {}: {}",
                file.display(),
                super::io_reason(&e)
            ))
        })?;
    } else {
        write_private(file, &serde_json::Value::Object(json))?;
    }
    Ok(removed)
}

/// Add (or replace) one login in the SDK's file, keeping the others; the file is 0600.
fn store(file: &Path, iap_client_id: &str, user: Option<&UserCredentials>) -> Result<(), KfpError> {
    let mut json: serde_json::Map<String, serde_json::Value> = std::fs::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if let Some(user) = user {
        json.insert(
            iap_client_id.to_string(),
            serde_json::json!({
                "other_client_id": user.client_id,
                "other_client_secret": user.client_secret.expose(),
                "refresh_token": user.refresh_token.expose(),
            }),
        );
    }
    write_private(file, &serde_json::Value::Object(json))
}

fn write_private(file: &Path, json: &serde_json::Value) -> Result<(), KfpError> {
    let text = serde_json::to_string_pretty(json).unwrap_or_default();
    crate::files::write_private(file, text.as_bytes()).map_err(|e| {
        KfpError::Auth(format!(
            "cannot write {}: {}",
            file.display(),
            super::io_reason(&e.source)
        ))
    })
}

fn random_urlsafe(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Serve the loopback redirect until a request carries our `state` (other requests, e.g. a
/// favicon, get a 404), then answer the browser and return the code.
fn wait_for_code(listener: std::net::TcpListener, state: &str) -> Result<Secret, KfpError> {
    let deadline = Instant::now() + LOGIN_TIMEOUT;
    listener.set_nonblocking(true).ok();
    loop {
        let (mut stream, _) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(KfpError::Auth(format!(
                        "no login within {} minutes: run kfpx login google again and open the URL",
                        LOGIN_TIMEOUT.as_secs() / 60
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(KfpError::Auth(format!("the login listener failed: {e}"))),
        };
        stream.set_nonblocking(false).ok();
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        while buf.len() < MAX_REQUEST && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&buf);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("/");
        let query: std::collections::HashMap<String, String> =
            url::Url::parse(&format!("http://127.0.0.1{target}"))
                .map(|u| u.query_pairs().into_owned().collect())
                .unwrap_or_default();
        if query.get("state").map(String::as_str) != Some(state) {
            respond(&mut stream, "404 Not Found", "Not the kfpx login redirect.");
            continue;
        }
        if let Some(error) = query.get("error") {
            respond(
                &mut stream,
                "200 OK",
                "kfpx login failed: you may close this window.",
            );
            return Err(KfpError::Auth(format!(
                "Google did not grant the login ({error}); run kfpx login google again and allow access"
            )));
        }
        match query.get("code").filter(|c| !c.is_empty()) {
            Some(code) => {
                respond(
                    &mut stream,
                    "200 OK",
                    "kfpx is logged in: you may close this window.",
                );
                return Ok(Secret::new(code.clone()));
            }
            None => {
                respond(&mut stream, "400 Bad Request", "No authorization code.");
                return Err(KfpError::Auth(
                    "the login redirect carried no authorization code; run kfpx login google again"
                        .into(),
                ));
            }
        }
    }
}

fn respond(stream: &mut std::net::TcpStream, status: &str, text: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}
