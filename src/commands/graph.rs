//! `kfpx graph`: the pipeline's tasks after grouping, as text, JSON, Mermaid or DOT; or the
//! snapshot itself (`-o snapshot`). A view: it never refuses a grouping that compile
//! would refuse (MemoryDatasets crossing pods), it shows and marks the problem and says on
//! stderr what compile would do.

use crate::cli::{GlobalArgs, GraphArgs, GraphFormat};
use crate::commands::Ctx;
use crate::config::{ConfigError, MergeStrategy};
use crate::error::Result;
use crate::graph::{self, grouping, render};
use crate::output;

pub fn run(ctx: &Ctx, args: GraphArgs) -> Result<()> {
    let project = ctx.project()?;
    // The config supplies the probe mode, the strategy and the tag prefix. A project without
    // kubeflow.yaml can still look at its graph (flags, else defaults); a broken kubeflow.yaml
    // is an error, as the grouping shown would not be the one compile uses; the snapshot
    // alone needs no config.
    let config = crate::config::load(&project);
    let snapshot_opts = ctx
        .global
        .snapshot_options()
        .with_config(config.as_ref().ok().map(|l| &l.config.run_config));
    let snapshot = graph::obtain_snapshot(&project, &snapshot_opts)?;

    if args.format == GraphFormat::Snapshot {
        // The whole snapshot, as read: it is what `--snapshot FILE` takes back.
        return output::print_stdout(&snapshot.to_json_pretty());
    }

    let run_config = match config {
        Ok(loaded) => Some(loaded.config.run_config),
        Err(ConfigError::MissingBase { .. }) => {
            tracing::info!("no kubeflow.yaml: grouping with the flags, else the defaults");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let (strategy, opts) = args.pipeline.group_settings(run_config.as_ref());
    let grouped = graph::group_view(&snapshot, &args.pipeline.pipeline, strategy, &opts)?;
    for warning in &grouped.warnings {
        output::warn(warning);
    }
    let out = match args.format {
        GraphFormat::Mermaid => render::mermaid(&grouped.tasks),
        GraphFormat::Dot => render::dot(&grouped.tasks),
        GraphFormat::Json => render::json(&grouped.tasks),
        _ => render::text(&grouped.tasks),
    };
    output::print_stdout(&out)?;
    if let Some(problem) = grouping::memory_problem(&grouped, &opts) {
        output::warn(what_compile_would_do(&problem));
    }
    Ok(())
}

/// One line for stderr: how many MemoryDatasets cross pods, and what compile does about it.
fn what_compile_would_do(p: &graph::MemoryCrossingError) -> String {
    let n = p.crossings.len();
    let (what, verb) = if n == 1 {
        ("MemoryDataset", "crosses")
    } else {
        ("MemoryDatasets", "cross")
    };
    let strategy = p.strategy.as_str();
    if p.allowed {
        format!(
            "{n} {what} {verb} pods (marked above); compile would warn and compile anyway \
             (--allow-memory-datasets): they are lost between pods"
        )
    } else {
        format!(
            "{n} {what} {verb} pods (marked above); compile would refuse with merge strategy \
             `{strategy}`: use `--merge-strategy memory` (or node_merge_strategy: memory)"
        )
    }
}

/// The `kfpx graph` command line that shows `pipeline` grouped with `strategy`, with the
/// global options the user gave that change what it shows (project, env, snapshot, python).
pub fn command_line(global: &GlobalArgs, pipeline: &str, strategy: MergeStrategy) -> String {
    let mut words = vec!["kfpx".to_string()];
    if let Some(dir) = &global.project_dir {
        words.push("-C".into());
        words.push(shell_word(&dir.display().to_string()));
    }
    if global.env != "local" {
        words.push("-e".into());
        words.push(shell_word(&global.env));
    }
    if let Some(s) = &global.snapshot {
        words.push("--snapshot".into());
        words.push(shell_word(&s.display().to_string()));
    }
    if let Some(p) = &global.python {
        words.push("--python".into());
        words.push(shell_word(&p.display().to_string()));
    }
    words.push("graph".into());
    if pipeline != "__default__" {
        words.push("-p".into());
        words.push(shell_word(pipeline));
    }
    words.push("--merge-strategy".into());
    words.push(strategy.as_str().into());
    words.join(" ")
}

/// A word as a POSIX shell reads it back: quoted when it holds anything unusual.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,/:@+=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
