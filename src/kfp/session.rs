//! Where a server command's connection comes from: endpoint (`--host` > KF_PIPELINES_ENDPOINT >
//! config `host`), API version, namespace (`--namespace` > KF_PIPELINES_NAMESPACE >
//! `run_config.namespace` > `~/.config/kfp/context.json`), UI links (KF_PIPELINES_UI_ENDPOINT,
//! else the endpoint), TLS options, credentials. The pure resolution is separate from the
//! process environment so it can be tested.

use std::time::Duration;

use url::Url;

use crate::config::{Config, KfpVersion};
use crate::kfp::api::Kfp;
use crate::kfp::auth::AuthEnv;
use crate::kfp::client::{Client, ClientOptions};
use crate::kfp::KfpError;
use crate::redact::RedactedUrl;

/// The environment variables server commands read (captured once at the edge).
#[derive(Debug, Clone, Default)]
pub struct ServerEnv {
    pub endpoint: Option<String>,
    pub ui_endpoint: Option<String>,
    pub namespace: Option<String>,
    pub commit_id: Option<String>,
}

impl ServerEnv {
    pub fn from_process() -> ServerEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        ServerEnv {
            endpoint: var("KF_PIPELINES_ENDPOINT"),
            ui_endpoint: var("KF_PIPELINES_UI_ENDPOINT"),
            namespace: var("KF_PIPELINES_NAMESPACE"),
            commit_id: var("KEDRO_CONFIG_COMMIT_ID"),
        }
    }
}

/// Turn a host as users write it into the API endpoint: a missing scheme becomes `https://`
/// (with a warning, as the kfp SDK), a trailing `/`, query or `#/…` fragment is dropped.
pub fn normalize_endpoint(raw: &str, source: &str) -> Result<Url, KfpError> {
    let trimmed = raw.trim();
    // Every message shows the host only through this (a password in it as `***`).
    let shown = RedactedUrl::new(trimmed);
    if trimmed.is_empty() {
        return Err(KfpError::Other(format!(
            "the KFP host from {source} is empty: set it to e.g. https://kubeflow.example.com/pipeline"
        )));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        tracing::warn!(
            target: "kfpx",
            "the KFP host {shown:?} from {source} has no scheme; using https://{shown}"
        );
        format!("https://{trimmed}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| {
        KfpError::Other(format!(
            "the KFP host {shown:?} from {source} is not a URL ({e}): write it like \
             https://kubeflow.example.com/pipeline or http://localhost:8888"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(KfpError::Other(format!(
            "the KFP host {shown:?} from {source} must start with http:// or https://"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        tracing::warn!(
            target: "kfpx",
            "ignoring the query/fragment of the KFP host {:?} from {source}: the \
             namespace goes in --namespace or run_config.namespace",
            RedactedUrl::from(&url)
        );
        url.set_query(None);
        url.set_fragment(None);
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// Flags > env > config.
pub fn resolve_endpoint(
    flag: Option<&str>,
    env: &ServerEnv,
    config: Option<&Config>,
) -> Result<Url, KfpError> {
    if let Some(h) = flag {
        return normalize_endpoint(h, "--host");
    }
    if let Some(h) = &env.endpoint {
        return normalize_endpoint(h, "KF_PIPELINES_ENDPOINT");
    }
    if let Some(c) = config {
        return normalize_endpoint(&c.host, "the config's `host`");
    }
    Err(KfpError::Other(
        "no KFP host: pass --host URL, set KF_PIPELINES_ENDPOINT, or set `host` in \
         conf/base/kubeflow.yaml"
            .into(),
    ))
}

/// Flags > env > config > context.json.
pub fn resolve_namespace(
    flag: Option<&str>,
    env: &ServerEnv,
    config: Option<&Config>,
    auth_env: &AuthEnv,
) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| env.namespace.clone())
        .or_else(|| config.and_then(|c| c.run_config.namespace.clone()))
        .or_else(|| {
            auth_env
                .kfp_context
                .as_ref()
                .and_then(|c| c.get("namespace"))
                .and_then(|n| n.as_str())
                .map(str::to_string)
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The base of UI links: KF_PIPELINES_UI_ENDPOINT, else the endpoint (the KFP UI is served at
/// the same address in Kubeflow, e.g. `https://<kubeflow>/pipeline/#/runs/details/<id>`).
pub fn ui_base(endpoint: &Url, env: &ServerEnv) -> String {
    // Links are printed: user info is not (browsers drop it anyway).
    let shown = match env.ui_endpoint.as_deref() {
        Some(raw) => match Url::parse(raw) {
            Ok(u) => RedactedUrl::without_userinfo(&u),
            Err(_) => RedactedUrl::new(raw),
        },
        None => RedactedUrl::without_userinfo(endpoint),
    };
    shown.as_str().trim_end_matches('/').to_string()
}

/// What a command asks of the connection (the `ServerArgs` flags, as this layer's type).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--host`: over the environment and the config.
    pub host: Option<String>,
    /// `--namespace`: over the environment and the config.
    pub namespace: Option<String>,
    pub insecure_skip_tls_verify: bool,
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Seconds, 1..=`client::MAX_REQUEST_TIMEOUT`.
    pub request_timeout: u64,
}

/// Connect for a command: resolve everything, set up credentials, read healthz.
pub async fn connect(
    args: &ConnectOptions,
    config: Option<&Config>,
    version: KfpVersion,
) -> Result<Kfp, KfpError> {
    let env = ServerEnv::from_process();
    // The Dex login client uses the same TLS settings as the API client.
    let auth_env =
        AuthEnv::from_process().with_tls(args.insecure_skip_tls_verify, args.ca_bundle.clone());
    let endpoint = resolve_endpoint(args.host.as_deref(), &env, config)?;
    let namespace = resolve_namespace(args.namespace.as_deref(), &env, config, &auth_env);
    let ui = ui_base(&endpoint, &env);
    let max = crate::kfp::client::MAX_REQUEST_TIMEOUT.as_secs();
    if args.request_timeout == 0 || args.request_timeout > max {
        return Err(KfpError::RequestTimeout { max_secs: max });
    }
    let options = ClientOptions {
        endpoint,
        version,
        request_timeout: Duration::from_secs(args.request_timeout),
        insecure_skip_tls_verify: args.insecure_skip_tls_verify,
        ca_bundle: args.ca_bundle.clone(),
    };
    if options.insecure_skip_tls_verify {
        tracing::warn!(
            target: "kfpx",
            "TLS certificate verification is off (--insecure-skip-tls-verify)"
        );
    }
    let client = Client::connect(options, &auth_env).await?;
    if client.server().multi_user && namespace.is_none() {
        tracing::warn!(
            target: "kfpx",
            "this KFP server runs in multi-user mode but no namespace is set: pass --namespace, \
             set KF_PIPELINES_NAMESPACE or run_config.namespace"
        );
    }
    Ok(Kfp::new(client, namespace, ui))
}

/// The commit the version name records: KEDRO_CONFIG_COMMIT_ID, else the HEAD of the git
/// repository holding the project (none outside git).
pub fn commit_id(project_root: &std::path::Path, env: &ServerEnv) -> Option<String> {
    if let Some(c) = &env.commit_id {
        return Some(c.clone());
    }
    crate::config::git::head_info(project_root).commit_sha
}

/// A current-thread tokio runtime for one command (main stays synchronous).
pub fn runtime() -> Result<tokio::runtime::Runtime, KfpError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KfpError::Other(format!("cannot start the async runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalised() {
        let u = normalize_endpoint("https://kf.example.com/pipeline/", "--host").unwrap();
        assert_eq!(u.as_str(), "https://kf.example.com/pipeline");
        let u = normalize_endpoint("http://127.0.0.1:8888", "--host").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8888/");
        let u = normalize_endpoint("kf.example.com/pipeline", "--host").unwrap();
        assert_eq!(u.as_str(), "https://kf.example.com/pipeline");
        // kedro-kubeflow issue #211: a host copied from the browser.
        let u =
            normalize_endpoint("https://kf.example.com/pipeline/?ns=team#/runs", "--host").unwrap();
        assert_eq!(u.as_str(), "https://kf.example.com/pipeline");
        let err = normalize_endpoint("ftp://x", "--host")
            .unwrap_err()
            .to_string();
        assert!(err.contains("http:// or https://"), "{err}");
        let err = normalize_endpoint("http://", "KF_PIPELINES_ENDPOINT")
            .unwrap_err()
            .to_string();
        assert!(err.contains("KF_PIPELINES_ENDPOINT"), "{err}");
    }

    #[test]
    fn flag_beats_env_beats_nothing() {
        let env = ServerEnv {
            endpoint: Some("http://from-env:8888".into()),
            ..Default::default()
        };
        let u = resolve_endpoint(Some("http://from-flag"), &env, None).unwrap();
        assert_eq!(u.host_str(), Some("from-flag"));
        let u = resolve_endpoint(None, &env, None).unwrap();
        assert_eq!(u.host_str(), Some("from-env"));
        let err = resolve_endpoint(None, &ServerEnv::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--host") && err.contains("KF_PIPELINES_ENDPOINT"));
    }

    #[test]
    fn namespace_precedence_ends_with_context_json() {
        let ctx = AuthEnv {
            kfp_context: Some(serde_json::json!({"namespace": "from-context"})),
            ..Default::default()
        };
        let env = ServerEnv::default();
        assert_eq!(
            resolve_namespace(None, &env, None, &ctx).as_deref(),
            Some("from-context")
        );
        let env = ServerEnv {
            namespace: Some("from-env".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_namespace(None, &env, None, &ctx).as_deref(),
            Some("from-env")
        );
        assert_eq!(
            resolve_namespace(Some("flag"), &env, None, &ctx).as_deref(),
            Some("flag")
        );
        assert_eq!(
            resolve_namespace(None, &ServerEnv::default(), None, &AuthEnv::default()),
            None
        );
    }

    #[test]
    fn ui_links_never_carry_a_password() {
        let u = Url::parse("https://me:pa55word@kf.example.com/pipeline").unwrap();
        assert_eq!(
            ui_base(&u, &ServerEnv::default()),
            "https://kf.example.com/pipeline"
        );
        let env = ServerEnv {
            ui_endpoint: Some("http://me:pa55word@localhost:8080/".into()),
            ..ServerEnv::default()
        };
        assert_eq!(ui_base(&u, &env), "http://localhost:8080");
    }

    #[test]
    fn ui_links_default_to_the_endpoint() {
        let u = Url::parse("https://kf.example.com/pipeline").unwrap();
        assert_eq!(
            ui_base(&u, &ServerEnv::default()),
            "https://kf.example.com/pipeline"
        );
        let env = ServerEnv {
            ui_endpoint: Some("http://localhost:8080/".into()),
            ..Default::default()
        };
        assert_eq!(ui_base(&u, &env), "http://localhost:8080");
    }
}
