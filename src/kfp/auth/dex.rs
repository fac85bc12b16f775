//! Dex: log in the way a browser does, for Kubeflow behind oidc-authservice (≤1.8, cookie
//! `authservice_session`) or oauth2-proxy (1.9+, cookie `oauth2_proxy_kubeflow`, split into
//! `oauth2_proxy_kubeflow_0`, `_1`… when large; `_oauth2_proxy` outside Kubeflow's manifests).
//!
//! A dedicated client with a cookie store follows the redirects from the KFP host to Dex; the
//! page reached is read as HTML: a connector list (pick `/auth/<DEX_AUTH_TYPE>`), a login form
//! (post the credentials to its action), or an approval page (approve). Success is the session
//! cookie in the store; Dex showing the login form again after the post means it rejected the
//! credentials.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use url::Url;

use super::html::{self, Form, Page};
use super::iap::reason;
use super::{AuthEnv, Secret};
use crate::kfp::KfpError;

/// At most this many pages (connector list, login, approval…) before giving up.
const MAX_STEPS: usize = 8;

#[derive(Debug)]
pub(super) struct Dex {
    base_url: Url,
    user: String,
    password: Secret,
    auth_type: String,
    insecure: bool,
    ca_bundle: Option<PathBuf>,
    cookie: Secret,
    names: Vec<String>,
}

impl Dex {
    pub(super) async fn login(
        base_url: &Url,
        user: &str,
        password: Secret,
        auth_type: &str,
        env: &AuthEnv,
    ) -> Result<Dex, KfpError> {
        let mut dex = Dex {
            base_url: base_url.clone(),
            user: user.to_string(),
            password,
            auth_type: auth_type.to_string(),
            insecure: env.insecure_skip_tls_verify,
            ca_bundle: env.ca_bundle.clone(),
            cookie: Secret::new(""),
            names: Vec::new(),
        };
        dex.refresh().await?;
        Ok(dex)
    }

    /// Log in again (a fresh cookie store: old sessions are not reused).
    pub(super) async fn refresh(&mut self) -> Result<(), KfpError> {
        let jar = Arc::new(Jar::default());
        let client = self.client(jar.clone())?;
        let (cookie, names) = self.flow(&client, &jar).await?;
        self.cookie = cookie;
        self.names = names;
        Ok(())
    }

    pub(super) fn cookie(&self) -> &Secret {
        &self.cookie
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "Dex login as {} (connector {}) at {}, session cookie {}",
            self.user,
            self.auth_type,
            origin(&self.base_url),
            if self.names.is_empty() {
                "(none yet)".to_string()
            } else {
                self.names.join(", ")
            }
        )
    }

    fn client(&self, jar: Arc<Jar>) -> Result<reqwest::Client, KfpError> {
        let mut builder = reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::limited(20))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("kfpx/", env!("CARGO_PKG_VERSION")))
            // A browser's Accept: oauth2-proxy answers 401 instead of redirecting to the login
            // when a request looks like an API call.
            .default_headers(reqwest::header::HeaderMap::from_iter([(
                reqwest::header::ACCEPT,
                reqwest::header::HeaderValue::from_static(
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                ),
            )]))
            .danger_accept_invalid_certs(self.insecure);
        if let Some(path) = &self.ca_bundle {
            let certs = crate::kfp::client::load_ca_bundle(path).map_err(KfpError::Auth)?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder.build().map_err(|err| {
            KfpError::Auth(format!(
                "cannot set up the Dex login client: {}",
                reason(&err)
            ))
        })
    }

    async fn flow(
        &self,
        client: &reqwest::Client,
        jar: &Jar,
    ) -> Result<(Secret, Vec<String>), KfpError> {
        let mut response = self.send(client.get(self.base_url.clone())).await?;
        let mut posted_login = false;
        let mut approved = false;
        let mut started = false;
        for _ in 0..MAX_STEPS {
            if let Some(found) = session_cookies(jar, &self.base_url) {
                return Ok(found);
            }
            let url = response.url().clone();
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let page = html::parse(&body);
            if let Some(form) = page.forms.iter().find(|f| f.has_password()) {
                if posted_login {
                    return Err(self.rejected(&page));
                }
                tracing::debug!("dex: login form at {}", without_query(&url));
                response = self.submit(client, &url, form, true).await?;
                posted_login = true;
                continue;
            }
            if let Some(form) = page.forms.iter().find(|f| {
                f.input("approval")
                    .is_some_and(|i| i.value.eq_ignore_ascii_case("approve"))
            }) {
                if !approved {
                    tracing::debug!("dex: approving access at {}", without_query(&url));
                    response = self.submit(client, &url, form, false).await?;
                    approved = true;
                    continue;
                }
            }
            if !posted_login && !started {
                // oauth2-proxy's own sign-in page ("Sign in with Dex"), shown when Kubeflow's
                // `skip_provider_button` is off: a form that goes to /oauth2/start.
                if let Some(form) = page.forms.iter().find(|f| is_sign_in_form(f, &url)) {
                    tracing::debug!("dex: oauth2-proxy sign-in page at {}", without_query(&url));
                    response = self.submit(client, &url, form, false).await?;
                    started = true;
                    continue;
                }
            }
            if !posted_login {
                if let Some(link) = self.connector_link(&page, &url)? {
                    tracing::debug!("dex: choosing connector {}", self.auth_type);
                    response = self.send(client.get(link)).await?;
                    continue;
                }
            }
            return Err(self.dead_end(&url, status.as_u16(), posted_login));
        }
        Err(KfpError::Auth(format!(
            "the Dex login at {} did not finish after {MAX_STEPS} pages; use KF_PIPELINES_TOKEN or KF_PIPELINES_COOKIE instead",
            origin(&self.base_url)
        )))
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, KfpError> {
        rb.send().await.map_err(|err| {
            let why = if err.is_redirect() {
                "too many redirects (a redirect loop: is this the Kubeflow host?)".to_string()
            } else {
                reason(&err)
            };
            let at = err
                .url()
                .map_or_else(|| origin(&self.base_url), without_query);
            KfpError::Auth(format!("cannot log in through Dex at {at}: {why}"))
        })
    }

    /// Submit a form as a browser would; for the login form, with the credentials filled in.
    async fn submit(
        &self,
        client: &reqwest::Client,
        page_url: &Url,
        form: &Form,
        login: bool,
    ) -> Result<reqwest::Response, KfpError> {
        let action = match form.action.as_deref().map(str::trim) {
            None | Some("") => page_url.clone(),
            Some(action) => page_url.join(action).map_err(|_| {
                KfpError::Auth(format!(
                    "the Dex page at {} has a form with an unusable action; use KF_PIPELINES_TOKEN or KF_PIPELINES_COOKIE instead",
                    without_query(page_url)
                ))
            })?,
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        if login {
            let password_field = form
                .inputs
                .iter()
                .find(|i| i.kind == "password")
                .map_or("password", |i| i.name.as_str());
            let login_field = form
                .input("login")
                .or_else(|| {
                    form.inputs
                        .iter()
                        .find(|i| matches!(i.kind.as_str(), "text" | "email"))
                })
                .map_or("login", |i| i.name.as_str());
            for input in &form.inputs {
                if input.name != login_field && input.name != password_field {
                    fields.push((input.name.clone(), input.value.clone()));
                }
            }
            fields.push((login_field.to_string(), self.user.clone()));
            fields.push((
                password_field.to_string(),
                self.password.expose().to_string(),
            ));
        } else {
            fields.extend(
                form.inputs
                    .iter()
                    .map(|i| (i.name.clone(), i.value.clone())),
            );
        }
        let rb = if form.method == "get" {
            client.get(action).query(&fields)
        } else {
            client.post(action).form(&fields)
        };
        self.send(rb).await
    }

    /// On a connector list, the link to `/auth/<DEX_AUTH_TYPE>`.
    fn connector_link(&self, page: &Page, url: &Url) -> Result<Option<Url>, KfpError> {
        let mut offered = Vec::new();
        for href in &page.links {
            let Ok(link) = url.join(href.trim()) else {
                continue;
            };
            let segments: Vec<String> = link
                .path_segments()
                .map(|s| s.filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default();
            let connector = match segments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                [.., "auth", c] | [.., "auth", c, "login"] => c.to_string(),
                _ => continue,
            };
            if connector == self.auth_type {
                return Ok(Some(link));
            }
            if !offered.contains(&connector) {
                offered.push(connector);
            }
        }
        if offered.is_empty() {
            return Ok(None);
        }
        Err(KfpError::Auth(format!(
            "Dex at {} offers no '{}' connector (it offers: {}); set DEX_AUTH_TYPE to one of them",
            origin(url),
            self.auth_type,
            offered.join(", ")
        )))
    }

    fn rejected(&self, page: &Page) -> KfpError {
        let said = page
            .ids
            .iter()
            .find(|(id, text)| id.contains("error") && !text.is_empty())
            .map(|(_, text)| format!(" ({text})"))
            .unwrap_or_default();
        KfpError::Auth(format!(
            "Dex rejected the login for {}{said}: check DEX_USERNAME and DEX_PASSWORD (and DEX_AUTH_TYPE, now {})",
            self.user, self.auth_type
        ))
    }

    fn dead_end(&self, url: &Url, status: u16, posted_login: bool) -> KfpError {
        let plain_http_remote = self.base_url.scheme() == "http"
            && !matches!(
                self.base_url.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]")
            );
        let what = match (posted_login, plain_http_remote) {
            (true, false) => "the login was accepted but no Kubeflow session cookie (authservice_session or oauth2_proxy_kubeflow) was set",
            (true, true) => "the login was accepted but no Kubeflow session cookie (authservice_session or oauth2_proxy_kubeflow) was kept (over plain http a Secure cookie is dropped: use https)",
            (false, _) => "no Dex login form was found",
        };
        KfpError::Auth(format!(
            "DEX_USERNAME is set but logging in at {} failed: {what} (ended at {} with HTTP {status}); check the host (behind Dex it usually ends in /pipeline), or use KF_PIPELINES_TOKEN or KF_PIPELINES_COOKIE",
            origin(&self.base_url),
            without_query(url)
        ))
    }
}

/// Is this oauth2-proxy's sign-in button (a form without a password that starts the login)?
fn is_sign_in_form(form: &Form, page_url: &Url) -> bool {
    !form.has_password()
        && form
            .action
            .as_deref()
            .and_then(|a| page_url.join(a.trim()).ok())
            .is_some_and(|a| a.path().ends_with("/oauth2/start"))
}

/// Is this the name of a Kubeflow session cookie?
/// `authservice_session` (oidc-authservice), `oauth2_proxy_kubeflow` (Kubeflow's oauth2-proxy)
/// and `_oauth2_proxy` (oauth2-proxy's default), the last two also split as `<name>_<n>`.
fn is_session_cookie(name: &str) -> bool {
    name == "authservice_session"
        || ["oauth2_proxy_kubeflow", "_oauth2_proxy"]
            .iter()
            .any(|base| {
                name.strip_prefix(base).is_some_and(|rest| {
                    rest.is_empty()
                        || rest
                            .strip_prefix('_')
                            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                })
            })
}

/// The session cookies the store would send to `url`, as one `Cookie` header value.
fn session_cookies(jar: &Jar, url: &Url) -> Option<(Secret, Vec<String>)> {
    let header = jar.cookies(url)?;
    let header = header.to_str().ok()?;
    let mut names = Vec::new();
    let mut parts = Vec::new();
    for part in header.split(';').map(str::trim) {
        if let Some((name, _)) = part.split_once('=') {
            if is_session_cookie(name) {
                names.push(name.to_string());
                parts.push(part);
            }
        }
    }
    (!parts.is_empty()).then(|| (Secret::new(parts.join("; ")), names))
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A URL fit for messages: no query (Dex puts request ids and state there) and no userinfo.
fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_kubeflow_session_cookies_only() {
        for yes in [
            "authservice_session",
            "oauth2_proxy_kubeflow",
            "oauth2_proxy_kubeflow_0",
            "oauth2_proxy_kubeflow_12",
            "_oauth2_proxy",
            "_oauth2_proxy_1",
        ] {
            assert!(is_session_cookie(yes), "{yes}");
        }
        for no in [
            "oauth2_proxy_kubeflow_csrf",
            "oauth2_proxy_kubeflow_",
            "_oauth2_proxy_csrf",
            "oauth2_proxy_kubeflowx",
            "session",
        ] {
            assert!(!is_session_cookie(no), "{no}");
        }
    }

    #[test]
    fn picks_split_session_cookies_from_the_store() {
        let jar = Jar::default();
        let url = Url::parse("http://kf.example.test/pipeline").unwrap();
        for c in [
            "oauth2_proxy_kubeflow_0=part0; Path=/",
            "oauth2_proxy_kubeflow_1=part1; Path=/",
            "oauth2_proxy_kubeflow_csrf=c; Path=/",
            "other=x; Path=/",
        ] {
            jar.add_cookie_str(c, &url);
        }
        let (cookie, mut names) = session_cookies(&jar, &url).unwrap();
        names.sort();
        assert_eq!(
            names,
            ["oauth2_proxy_kubeflow_0", "oauth2_proxy_kubeflow_1"]
        );
        let mut parts: Vec<_> = cookie.expose().split("; ").collect();
        parts.sort();
        assert_eq!(
            parts,
            [
                "oauth2_proxy_kubeflow_0=part0",
                "oauth2_proxy_kubeflow_1=part1"
            ]
        );
        assert!(session_cookies(&Jar::default(), &url).is_none());
    }

    #[test]
    fn messages_drop_query_and_userinfo() {
        let url =
            Url::parse("https://u:p@kf.example.test/dex/auth/local?req=abc&state=s#x").unwrap();
        assert_eq!(
            without_query(&url),
            "https://kf.example.test/dex/auth/local"
        );
    }

    fn dex(auth_type: &str) -> Dex {
        Dex {
            base_url: Url::parse("http://kf.example.test/pipeline").unwrap(),
            user: "user@example.com".into(),
            password: Secret::new("pw"),
            auth_type: auth_type.into(),
            insecure: false,
            ca_bundle: None,
            cookie: Secret::new(""),
            names: vec![],
        }
    }

    #[test]
    fn the_login_client_takes_the_ca_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = dex("local");
        d.ca_bundle = Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/auth/test-ca.pem"
            )
            .into(),
        );
        assert!(d.client(Arc::new(Jar::default())).is_ok());

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        d.ca_bundle = Some(garbage.clone());
        let err = d.client(Arc::new(Jar::default())).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "the CA bundle {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                garbage.display()
            )
        );
        d.ca_bundle = Some(dir.path().join("missing.pem"));
        let err = d.client(Arc::new(Jar::default())).unwrap_err().to_string();
        assert!(err.ends_with("missing.pem: no such file"), "{err}");
    }

    #[test]
    fn connector_choice_follows_dex_auth_type() {
        let page = html::parse(
            r#"<a href="/dex/auth/local?client_id=k&amp;state=s">Email</a>
               <a href="/dex/auth/ldap?client_id=k&amp;state=s">LDAP</a>"#,
        );
        let url = Url::parse("http://kf.example.test/dex/auth?client_id=k").unwrap();
        let link = dex("ldap").connector_link(&page, &url).unwrap().unwrap();
        assert_eq!(
            link.as_str(),
            "http://kf.example.test/dex/auth/ldap?client_id=k&state=s"
        );
        let err = dex("github")
            .connector_link(&page, &url)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Dex at http://kf.example.test offers no 'github' connector (it offers: local, ldap); set DEX_AUTH_TYPE to one of them"
        );
        let plain = html::parse(r#"<a href="/help">help</a>"#);
        assert!(dex("local").connector_link(&plain, &url).unwrap().is_none());
    }
}
