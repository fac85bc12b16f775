//! `kfpx graph`: the pipeline's tasks after grouping, as text, Mermaid or DOT; or the snapshot
//! itself as JSON.

use crate::cli::{GraphArgs, GraphFormat};
use crate::commands::Ctx;
use crate::config::ConfigError;
use crate::error::Result;
use crate::graph::{self, render, SnapshotOptions};
use crate::output;

pub fn run(ctx: &Ctx, args: GraphArgs) -> Result<()> {
    let project = ctx.project()?;
    let snapshot = graph::obtain_snapshot(&project, &SnapshotOptions::from_global(&ctx.global))?;

    if args.format == GraphFormat::Json {
        // The whole snapshot, as read: it is what `--snapshot FILE` takes back.
        return output::print_stdout(&snapshot.to_json_pretty());
    }

    // The config supplies the strategy and tag prefix. A project without kubeflow.yaml can
    // still look at its graph (flags, else defaults); a broken kubeflow.yaml is an error, as
    // the grouping shown would not be the one compile uses.
    let run_config = match crate::config::load(&project) {
        Ok(loaded) => Some(loaded.config.run_config),
        Err(ConfigError::MissingBase { .. }) => {
            tracing::info!("no kubeflow.yaml: grouping with the flags, else the defaults");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let (strategy, opts) = graph::group_settings(&args.pipeline, run_config.as_ref());
    let grouped = graph::group(&snapshot, &args.pipeline.pipeline, strategy, &opts)?;
    for warning in &grouped.warnings {
        output::warn(warning);
    }
    let out = match args.format {
        GraphFormat::Mermaid => render::mermaid(&grouped.tasks),
        GraphFormat::Dot => render::dot(&grouped.tasks),
        _ => render::text(&grouped.tasks),
    };
    output::print_stdout(&out)
}
