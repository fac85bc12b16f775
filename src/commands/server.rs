//! What every server command shares on top of `kfp::session::connect`: knowing where the
//! settings came from (so an error can say "the host came from conf/base/kubeflow.yaml:3"), the
//! API version check (a v1-only server answers the v2 API with a bare 404), and turning
//! connection failures into `error:` + `cause:` / `help:` lines whose advice works as written.

use crate::cli::ServerArgs;
use crate::config::{Config, KeyPath, KfpVersion, LoadedConfig, Origin};
use crate::error::{Error, Result};
use crate::kfp::api::Kfp;
use crate::kfp::client::Call;
use crate::kfp::{session, KfpError};
use crate::output::with_help;

/// Where a server command's settings came from, for messages.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `host` in the config: `conf/base/kubeflow.yaml:3`.
    pub config_host: Option<String>,
    /// Who chose the API version: `--kfp-version`, `conf/base/kubeflow.yaml:60`; none when
    /// nobody did (kfpx's default, 2).
    pub kfp_version: Option<String>,
}

impl Sources {
    /// The locations in `loaded`; `flag_version` is whether `--kfp-version` was given.
    pub fn from_config(loaded: &LoadedConfig, flag_version: bool) -> Sources {
        let at = |path: &str| match loaded.origin(&KeyPath::parse(path)) {
            Origin::File { loc, .. } => Some(format!("{}:{}", loc.file, loc.line)),
            Origin::Default => None,
        };
        Sources {
            config_host: at("host"),
            kfp_version: if flag_version {
                Some("--kfp-version".into())
            } else {
                at("run_config.kfp_version").map(|l| format!("run_config.kfp_version ({l})"))
            },
        }
    }

    /// Where the endpoint came from, following `session::resolve_endpoint`'s order.
    pub fn host(&self, args: &ServerArgs) -> String {
        if args.host.is_some() {
            "--host".into()
        } else if session::ServerEnv::from_process().endpoint.is_some() {
            "KF_PIPELINES_ENDPOINT".into()
        } else {
            match &self.config_host {
                Some(loc) => format!("`host` in {loc}"),
                None => "the config's `host`".into(),
            }
        }
    }
}

/// The other API version.
fn other(v: KfpVersion) -> KfpVersion {
    match v {
        KfpVersion::V1 => KfpVersion::V2,
        KfpVersion::V2 => KfpVersion::V1,
    }
}

fn number(v: KfpVersion) -> u8 {
    match v {
        KfpVersion::V1 => 1,
        KfpVersion::V2 => 2,
    }
}

/// Connect, check that the server speaks `version`'s API, and explain failures.
///
/// A server whose health check did not answer on `version` (no `tag_name`) is asked on the
/// other version: when only that one answers, the result is [`Error::WrongApi`], whose message
/// says exactly what to set (callers that may pick the version themselves retry with it).
pub async fn connect(
    args: &ServerArgs,
    config: Option<&Config>,
    version: KfpVersion,
    sources: &Sources,
) -> Result<Kfp> {
    let kfp = session::connect(&args.connect_options(), config, version)
        .await
        .map_err(|e| explain(e.into(), args, sources))?;
    if kfp.client.server().tag.is_some() {
        return Ok(kfp);
    }
    let here = kfp
        .client
        .call(Call::get("/healthz", "the health check").on_api(version))
        .await;
    if !matches!(here, Err(KfpError::Rejected { status: 404, .. })) {
        return Ok(kfp);
    }
    let there = kfp
        .client
        .call(Call::get("/healthz", "the health check").on_api(other(version)))
        .await;
    match there {
        Ok(_) => {}
        Err(KfpError::Rejected { status: 404, .. }) => {
            return Err(Error::Message(with_help(
                format!("no KFP API at {}", kfp.client.shown_endpoint()),
                "/apis/v2beta1/healthz and /apis/v1beta1/healthz both answer 404",
                &format!(
                    "the host came from {}: check its path (behind Kubeflow's gateway it \
                     ends in /pipeline, e.g. https://kubeflow.example.com/pipeline)",
                    sources.host(args)
                ),
            )))
        }
        Err(_) => return Ok(kfp),
    }
    let (want, have) = (number(version), number(other(version)));
    let api = |v: KfpVersion| match v {
        KfpVersion::V1 => "/apis/v1beta1",
        KfpVersion::V2 => "/apis/v2beta1",
    };
    let first = format!(
        "KFP at {} speaks only the KFP v{have} API, not v{want}",
        kfp.client.shown_endpoint()
    );
    let cause = format!(
        "{}/healthz answers 404, {}/healthz answers",
        api(version),
        api(other(version))
    );
    let help = match &sources.kfp_version {
        Some(from) if from == "--kfp-version" => format!("pass --kfp-version {have}"),
        Some(from) if from.starts_with("the format of ") => format!(
            "{} is for KFP v{want}: compile one for this server (kfpx compile --kfp-version \
             {have} -f FILE) and give that",
            from.trim_start_matches("the format of ")
        ),
        Some(from) => format!("set {from} to {have} (or pass --kfp-version {have})"),
        None => format!(
            "add `kfp_version: {have}` under run_config in conf/base/kubeflow.yaml (or pass \
             --kfp-version {have})"
        ),
    };
    Err(Error::WrongApi {
        speaks: other(version),
        message: with_help(first, &cause, &help),
    })
}

/// Run `attempt` with the version compiled for; when the server speaks only the other API and
/// nobody chose the version (`sources.kfp_version` is none), say so and run `again` with it.
pub fn or_other_api<T>(
    attempt: Result<T>,
    sources: &Sources,
    again: impl FnOnce(KfpVersion) -> Result<T>,
) -> Result<T> {
    match attempt {
        Err(Error::WrongApi { speaks, .. }) if sources.kfp_version.is_none() => {
            crate::output::status(format!(
                "the server speaks only the KFP v{n} API: using it (set `kfp_version: {n}` \
                 under run_config to skip this check)",
                n = number(speaks)
            ));
            again(speaks)
        }
        other => other,
    }
}

/// Server errors with where the host came from and advice that works as written.
pub fn explain(err: Error, args: &ServerArgs, sources: &Sources) -> Error {
    let Error::Kfp(kfp) = err else {
        return err;
    };
    match kfp {
        KfpError::Unreachable { url, detail } => {
            let from = sources.host(args);
            let lower = detail.to_ascii_lowercase();
            let plain_http = url.as_str().starts_with("https://")
                && [
                    "corrupt message",
                    "invalidcontenttype",
                    "wrong version number",
                ]
                .iter()
                .any(|k| lower.contains(k));
            let help = if plain_http {
                format!(
                    "this server speaks plain http, not https: write the host as {} (it came \
                     from {from})",
                    url.as_str().replacen("https://", "http://", 1)
                )
            } else {
                format!(
                    "the host came from {from}: check it, and that the server is running \
                     (or port-forwarded, e.g. kubectl port-forward -n kubeflow \
                     svc/ml-pipeline-ui 8080:80)"
                )
            };
            Error::Message(with_help(
                format!("cannot reach KFP at {url}"),
                &detail,
                &help,
            ))
        }
        KfpError::Unauthorized {
            url,
            message,
            tried,
            none_sent,
        } => {
            let head = format!(
                "KFP at {url} refused the credentials (HTTP 401{})",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            );
            let hint = crate::kfp::auth::CREDENTIAL_HINT;
            let help = if none_sent {
                format!("provide credentials: {hint}")
            } else {
                format!(
                    "the server refused what {tried} gave: replace it with a valid, unexpired \
                     one, or use another way: {hint}"
                )
            };
            let cause = if tried.is_empty() {
                String::new()
            } else {
                format!("tried: {tried}")
            };
            Error::Message(with_help(&head, &cause, &help))
        }
        KfpError::Html { url } => Error::Message(with_help(
            format!("KFP at {url} answered with an HTML page, not the API"),
            "",
            &format!(
                "check the host path (e.g. https://<kubeflow>/pipeline) and your login; the \
                 host came from {}",
                sources.host(args)
            ),
        )),
        other => Error::Kfp(other),
    }
}
