//! `kfpx graph`: the pipeline's tasks after grouping, as text, Mermaid or DOT; or the snapshot
//! itself as JSON.

use std::io::Write;

use crate::cli::{GraphArgs, GraphFormat};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::graph::{self, render, SnapshotOptions};
use crate::output;

pub fn run(ctx: &Ctx, args: GraphArgs) -> Result<()> {
    let project = ctx.project()?;
    let snapshot = graph::obtain_snapshot(&project, &SnapshotOptions::from_global(&ctx.global))?;

    let out = if args.format == GraphFormat::Json {
        // The whole snapshot, as read: it is what `--snapshot FILE` takes back.
        snapshot.to_json_pretty()
    } else {
        // The config only supplies defaults here: a project without a readable kubeflow.yaml
        // can still look at its graph, grouped as the flags (else the defaults) say.
        let run_config = match crate::config::load(&project) {
            Ok(loaded) => Some(loaded.config.run_config),
            Err(e) => {
                output::warn(&format!(
                    "{e}; `kfpx graph` groups with the flags and the defaults (merge strategy \
                     `none`, tag prefix `{}`)",
                    graph::DEFAULT_TAG_PREFIX
                ));
                None
            }
        };
        let (strategy, opts) = graph::group_settings(&args.pipeline, run_config.as_ref());
        let grouped = graph::group(&snapshot, &args.pipeline.pipeline, strategy, &opts)?;
        for warning in &grouped.warnings {
            output::warn(warning);
        }
        match args.format {
            GraphFormat::Mermaid => render::mermaid(&grouped.tasks),
            GraphFormat::Dot => render::dot(&grouped.tasks),
            _ => render::text(&grouped.tasks),
        }
    };

    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => Ok(()),
        // `kfpx graph | head` is fine.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("write", "stdout", e)),
    }
}
