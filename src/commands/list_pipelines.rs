//! `kfpx list-pipelines`: every pipeline on the server (all pages), sorted by name, with its
//! latest version.

use crate::cli::{ListPipelinesArgs, OutputFormat};
use crate::commands::present;
use crate::commands::server::{self, Sources};
use crate::commands::Ctx;
use crate::config::{self, Config, KfpVersion, LoadedConfig};
use crate::error::Result;
use crate::kfp::session;
use crate::output;

/// The project's config, when there is one. With a host from `--host` or the environment a
/// missing or broken project config is not needed (only its namespace/version would be).
fn project_config(ctx: &Ctx, host_given: bool) -> Result<Option<LoadedConfig>> {
    let loaded = ctx
        .project()
        .and_then(|p| config::load(&p).map_err(crate::Error::from));
    match loaded {
        Ok(l) => Ok(Some(l)),
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
    let loaded = project_config(ctx, host_given)?;
    let sources = match &loaded {
        Some(l) => Sources::from_config(l, args.kfp_version.is_some()),
        None => Sources {
            config_host: None,
            kfp_version: args.kfp_version.map(|_| "--kfp-version".to_string()),
        },
    };
    let config = loaded.map(|l| l.config);
    let version = match args.kfp_version {
        Some(crate::cli::KfpVersionArg::V1) => KfpVersion::V1,
        Some(crate::cli::KfpVersionArg::V2) => KfpVersion::V2,
        None => config
            .as_ref()
            .map(|c| c.run_config.kfp_version)
            .unwrap_or_default(),
    };
    let first = list(&args, config.as_ref(), version, &sources);
    server::or_other_api(first, &sources, |v| {
        list(&args, config.as_ref(), v, &sources)
    })
}

fn list(
    args: &ListPipelinesArgs,
    config: Option<&Config>,
    version: KfpVersion,
    sources: &Sources,
) -> Result<()> {
    let result = session::runtime()?.block_on(async {
        let kfp = server::connect(&args.server, config, version, sources).await?;
        let pipelines = kfp.pipelines_with_latest_versions().await?;
        if present::machine(args.output.output, &pipelines)? {
            return Ok(());
        }
        if pipelines.is_empty() {
            output::status(format!("no pipelines on {}", kfp.client.shown_endpoint()));
            return Ok(());
        }
        let wide = args.output.output == OutputFormat::Wide;
        pipeline_table(&pipelines, wide, chrono::Utc::now()).print_fitted(wide)
    });
    result.map_err(|e| server::explain(e, &args.server, sources))
}

/// The table people read: name, latest version and age, fitted to the terminal (names cut
/// with `…`); `-o wide` adds the ids and full timestamps and is never cut.
pub fn pipeline_table(
    pipelines: &[crate::kfp::models::Pipeline],
    wide: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Table {
    let table = if wide {
        output::FitTable::new(&["Name", "ID", "Latest version", "Version ID", "Created at"])
    } else {
        output::FitTable::new(&["Name", "Latest version", "Created"]).shrink(&[0, 1])
    };
    let mut table = Table(table);
    for p in pipelines {
        let version = p.latest_version.as_ref();
        let version_name = version.map(|v| v.name.clone()).unwrap_or_default();
        let created = p.created_at.clone().unwrap_or_default();
        table.0.add_row(if wide {
            vec![
                p.name.clone(),
                p.id.clone(),
                version_name,
                version.map(|v| v.id.clone()).unwrap_or_default(),
                created,
            ]
        } else {
            let age = if created.is_empty() {
                String::new()
            } else {
                output::age_of(&created, now)
            };
            vec![p.name.clone(), version_name, age]
        });
    }
    table
}

/// A pipeline table ready to print.
pub struct Table(output::FitTable);

impl Table {
    /// As text for `width` columns (none: not fitted).
    pub fn render(&self, width: Option<usize>) -> String {
        self.0.render(width, false)
    }

    fn print_fitted(&self, wide: bool) -> Result<()> {
        if wide {
            output::print_stdout(&self.0.render(None, output::color_stdout()))
        } else {
            self.0.print()
        }
    }
}
