//! `kfpx list-pipelines`: every pipeline on the server (all pages), sorted by name, with its
//! latest version.

use crate::cli::ListPipelinesArgs;
use crate::commands::Ctx;
use crate::config::{self, Config, KfpVersion};
use crate::error::Result;
use crate::kfp::{present, session};
use crate::output;

/// The project's config, when there is one. With a host from `--host` or the environment a
/// missing or broken project config is not needed (only its namespace/version would be).
fn project_config(ctx: &Ctx, host_given: bool) -> Result<Option<Config>> {
    let loaded = ctx
        .project()
        .and_then(|p| config::load(&p).map_err(crate::Error::from));
    match loaded {
        Ok(l) => Ok(Some(l.config)),
        Err(e) if host_given => {
            tracing::debug!("no project config ({e}); using --host / KF_PIPELINES_ENDPOINT");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub fn run(ctx: &Ctx, args: ListPipelinesArgs) -> Result<()> {
    let host_given =
        args.server.host.is_some() || session::ServerEnv::from_process().endpoint.is_some();
    let config = project_config(ctx, host_given)?;
    let version = match args.kfp_version {
        Some(crate::cli::KfpVersionArg::V1) => KfpVersion::V1,
        Some(crate::cli::KfpVersionArg::V2) => KfpVersion::V2,
        None => config
            .as_ref()
            .map(|c| c.run_config.kfp_version)
            .unwrap_or_default(),
    };
    session::runtime()?.block_on(async {
        let kfp = session::connect(&args.server, config.as_ref(), version).await?;
        let pipelines = kfp.pipelines_with_latest_versions().await?;
        if present::machine(args.output, &pipelines)? {
            return Ok(());
        }
        if pipelines.is_empty() {
            output::status(format!("no pipelines on {}", kfp.client.shown_endpoint()));
            return Ok(());
        }
        let mut table = output::table(&["Name", "ID", "Created at", "Latest version"]);
        for p in &pipelines {
            table.add_row(vec![
                p.name.clone(),
                p.id.clone(),
                p.created_at.clone().unwrap_or_default(),
                p.latest_version
                    .as_ref()
                    .map(|v| v.name.clone())
                    .unwrap_or_default(),
            ]);
        }
        output::print_table(&table)
    })
}
