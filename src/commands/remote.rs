//! What `kfpx runs` and `kfpx schedules` share: the project (optional with `--host` for what
//! needs no naming rule), the API version (flag > config > 2, switching when the server speaks
//! only the other one and nobody chose), one connection, and errors explained as every server
//! command explains them.

use std::future::Future;

use crate::cli::{KfpVersionArg, RemoteArgs};
use crate::commands::server::{self, Sources};
use crate::commands::Ctx;
use crate::config::{self, Config, KfpVersion};
use crate::error::{Error, Result};
use crate::kfp::api::Kfp;
use crate::kfp::operate::{Found, Scope};
use crate::kfp::session;
use crate::output::with_help;
use crate::project::Project;

/// A connected server, with the project around it when there is one.
pub struct Remote {
    rt: tokio::runtime::Runtime,
    pub kfp: Kfp,
    pub project: Option<Project>,
    pub config: Option<Config>,
    args: RemoteArgs,
    sources: Sources,
}

impl Remote {
    /// Connect. `need_project`: the command works on this project's pipelines (its naming
    /// rule), so a project is required even with `--host`.
    pub fn open(ctx: &Ctx, args: &RemoteArgs, need_project: bool) -> Result<Remote> {
        let host_given =
            args.server.host.is_some() || session::ServerEnv::from_process().endpoint.is_some();
        let found = ctx.project().and_then(|p| {
            let loaded = config::load(&p)?;
            Ok((p, loaded))
        });
        let (project, loaded) = match found {
            Ok((p, l)) => (Some(p), Some(l)),
            Err(e) if host_given && !need_project => {
                tracing::debug!("no project config ({e}); using --host / KF_PIPELINES_ENDPOINT");
                (None, None)
            }
            Err(e) => return Err(e),
        };
        let sources = match &loaded {
            Some(l) => Sources::from_config(l, args.kfp_version.is_some()),
            None => Sources {
                config_host: None,
                kfp_version: args.kfp_version.map(|_| "--kfp-version".to_string()),
            },
        };
        let config = loaded.map(|l| l.config);
        let version = match args.kfp_version {
            Some(KfpVersionArg::V1) => KfpVersion::V1,
            Some(KfpVersionArg::V2) => KfpVersion::V2,
            None => config
                .as_ref()
                .map(|c| c.run_config.kfp_version)
                .unwrap_or_default(),
        };
        let rt = session::runtime()?;
        let first = rt.block_on(server::connect(
            &args.server,
            config.as_ref(),
            version,
            &sources,
        ));
        let kfp = server::or_other_api(first, &sources, |v| {
            rt.block_on(server::connect(&args.server, config.as_ref(), v, &sources))
        })?;
        Ok(Remote {
            rt,
            kfp,
            project,
            config,
            args: args.clone(),
            sources,
        })
    }

    /// Run `fut` on this connection's runtime; server errors are explained (where the host
    /// came from, what to do).
    pub fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.rt
            .block_on(fut)
            .map_err(|e| server::explain(e, &self.args.server, &self.sources))
    }

    /// This project's pipelines in env `-e` (one with `pipeline`); none without a project.
    pub fn scope(&self, pipeline: Option<&str>) -> Option<Scope> {
        self.project.as_ref().map(|p| Scope {
            project: p.name.clone(),
            env: p.env.clone(),
            pipeline: pipeline.map(str::to_string),
        })
    }

    /// The id of experiment `name` in the namespace; an error when there is none.
    pub async fn experiment_id(&self, name: Option<&str>) -> Result<Option<String>> {
        let Some(name) = name else { return Ok(None) };
        match self
            .kfp
            .find_experiment(name, self.kfp.namespace.as_deref())
            .await?
        {
            Some(e) => Ok(Some(e.id)),
            None => Err(Error::Message(with_help(
                format!(
                    "no experiment named {name:?}{}",
                    in_namespace(self.kfp.namespace.as_deref())
                ),
                "",
                "check the name (-x), or the namespace (--namespace)",
            ))),
        }
    }
}

/// ` in namespace "ns"`, or nothing.
pub fn in_namespace(ns: Option<&str>) -> String {
    ns.map(|n| format!(" in namespace {n:?}"))
        .unwrap_or_default()
}

/// The thing found, or an error saying what was looked for; several of that name are listed
/// (at most [`MAX_CANDIDATES`]) so the user can pick an id.
pub fn one<T>(
    found: Found<T>,
    what: &str,
    key: &str,
    namespace: Option<&str>,
    describe: impl Fn(&T) -> String,
    list_command: &str,
) -> Result<T> {
    match found {
        Found::One(t) => Ok(t),
        Found::Nothing => Err(Error::Message(with_help(
            format!(
                "no {what} with id or name {key:?}{}",
                in_namespace(namespace)
            ),
            "",
            &format!("`{list_command}` lists them (--namespace for another namespace)"),
        ))),
        Found::Many(all) => {
            let mut lines: Vec<String> = all
                .iter()
                .take(MAX_CANDIDATES)
                .map(|t| format!("  {}", describe(t)))
                .collect();
            if all.len() > MAX_CANDIDATES {
                lines.push(format!("  … and {} more", all.len() - MAX_CANDIDATES));
            }
            Err(Error::Message(format!(
                "{} {what}s are named {key:?}{}\ncause: the candidates:\n{}\nhelp: give the id \
                 of the one you mean",
                all.len(),
                in_namespace(namespace),
                lines.join("\n")
            )))
        }
    }
}

/// How many same-named candidates an error lists.
pub const MAX_CANDIDATES: usize = 10;
