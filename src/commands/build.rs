//! The chain every compiling command shares: project → config → snapshot → grouping → compile.

use std::collections::BTreeMap;

pub use super::warnings::Show;
use crate::cli::{BuildArgs, KfpVersionArg};
use crate::commands::Ctx;
use crate::compile::{self, params, CompileInput, Compiled};
use crate::config::{self, Config, KfpVersion};
use crate::error::Result;
use crate::graph;
use crate::project::Project;

/// A compiled pipeline with what it was built from.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub project: Project,
    pub config: Config,
    /// The Kedro pipeline name (`-p`).
    pub pipeline: String,
    /// Number of pods (tasks) the Kedro nodes were grouped into.
    pub tasks: usize,
    pub compiled: Compiled,
    /// Where the host and the API version came from, for messages.
    pub sources: super::server::Sources,
}

/// `build` with the KFP version set (a retry once the server's API version is known).
pub fn with_version(build: &BuildArgs, version: KfpVersion) -> BuildArgs {
    let mut b = build.clone();
    b.kfp_version = Some(match version {
        KfpVersion::V1 => KfpVersionArg::V1,
        KfpVersion::V2 => KfpVersionArg::V2,
    });
    b
}

/// Build the pipeline document for `build` with `--param` overrides `params`; warnings are
/// shown only when they changed since last shown (see `commands::warnings`).
pub fn prepare(ctx: &Ctx, build: &BuildArgs, raw_params: &[String]) -> Result<Prepared> {
    prepare_showing(ctx, build, raw_params, Show::WhenChanged)
}

/// [`prepare`], showing warnings as `show` says (`compile` shows them always).
pub fn prepare_showing(
    ctx: &Ctx,
    build: &BuildArgs,
    raw_params: &[String],
    show: Show,
) -> Result<Prepared> {
    let project = ctx.project()?;
    let loaded = config::load(&project)?;
    let sources = super::server::Sources::from_config(&loaded, build.kfp_version.is_some());
    let config = loaded.config.clone();
    let rc = &config.run_config;
    let snapshot = graph::obtain_snapshot(
        &project,
        &ctx.global.snapshot_options().with_config(Some(rc)),
    )?;
    let (strategy, group_opts) = build.pipeline.group_settings(Some(rc));
    let grouped = graph::group(&snapshot, &build.pipeline.pipeline, strategy, &group_opts)
        .map_err(|e| match e {
            // The advice names the `kfpx graph` command line that shows them, as the user ran
            // this one (project, env, snapshot).
            graph::GraphError::MemoryCrossing(mut m) => {
                m.graph_command = Some(crate::commands::graph::command_line(
                    &ctx.global,
                    &m.pipeline,
                    m.strategy,
                ));
                graph::GraphError::MemoryCrossing(m)
            }
            other => other,
        })?;
    let compile_env = capture_env(std::env::vars());
    let kfp_version = match build.kfp_version {
        Some(KfpVersionArg::V1) => KfpVersion::V1,
        Some(KfpVersionArg::V2) => KfpVersion::V2,
        None => rc.kfp_version,
    };
    let no_overrides = BTreeMap::new();
    let mut input = CompileInput {
        config: &config,
        snapshot: &snapshot,
        tasks: &grouped.tasks,
        env: &project.env,
        image: build.image.as_deref(),
        kfp_version,
        param_overrides: &no_overrides,
        compile_env: &compile_env,
        strict: build.strict,
    };
    let known = compile::parameter_names(&input);
    let defaults = params::merge_namespaced(&snapshot.parameters);
    let overrides = super::params::resolve(raw_params, &defaults, &known)?;
    input.param_overrides = &overrides;
    let compiled = compile::compile(&input).map_err(|e| with_config_files(e, &loaded.tree))?;
    let all: Vec<String> = grouped
        .warnings
        .iter()
        .chain(&compiled.warnings)
        .cloned()
        .collect();
    super::warnings::print(&all, &loaded, &project, show);
    let tasks = grouped.tasks.tasks.len();
    // A command process ends soon after this: do not spend time freeing the node graph.
    std::mem::forget(grouped);
    std::mem::forget(snapshot);
    Ok(Prepared {
        pipeline: build.pipeline.pipeline.clone(),
        tasks,
        project,
        config,
        compiled,
        sources,
    })
}

/// [`prepare`] for a document compiled earlier (`--file`): read exactly as it is (the bytes
/// uploaded are the file's), its format detected and checked as the server would
/// ([`crate::kfp::document`]); the API version follows the format. The project still gives
/// the pipeline's name (`-p`, `-e`) and the run settings.
pub fn prepare_file(ctx: &Ctx, build: &BuildArgs, file: &std::path::Path) -> Result<Prepared> {
    use crate::kfp::document;
    let project = ctx.project()?;
    let loaded = config::load(&project)?;
    let sources = super::server::Sources {
        kfp_version: Some(format!("the format of {}", file.display())),
        ..super::server::Sources::from_config(&loaded, build.kfp_version.is_some())
    };
    let io = |source| crate::Error::Io {
        action: "read",
        path: file.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(file).map_err(io)?.len();
    if size > document::MAX_FILE_BYTES as u64 {
        return Err(crate::Error::Message(format!(
            "{} is {size} bytes; kfpx reads pipeline files up to {} bytes (32 MiB)",
            file.display(),
            document::MAX_FILE_BYTES
        )));
    }
    let text = std::fs::read_to_string(file).map_err(io)?;
    let doc = document::parse(&text).map_err(|why| {
        crate::Error::Message(crate::output::with_help(
            format!("{} is not a pipeline KFP accepts", file.display()),
            &why,
            "give a file `kfpx compile` wrote (KFP v2 IR or an Argo Workflow for KFP v1)",
        ))
    })?;
    let wanted = match build.kfp_version {
        Some(KfpVersionArg::V1) => Some(KfpVersion::V1),
        Some(KfpVersionArg::V2) => Some(KfpVersion::V2),
        None => None,
    };
    if let Some(v) = wanted.filter(|v| *v != doc.kfp_version) {
        let (file_v, flag_v) = match (doc.kfp_version, v) {
            (KfpVersion::V1, _) => ("an Argo Workflow (KFP v1)", "2"),
            (KfpVersion::V2, _) => ("a KFP v2 pipeline", "1"),
        };
        return Err(crate::Error::Usage(format!(
            "{} is {file_v}, but --kfp-version {flag_v} was given: drop --kfp-version (the \
             file's format chooses the API)",
            file.display()
        )));
    }
    let config = loaded.config;
    Ok(Prepared {
        pipeline: build.pipeline.pipeline.clone(),
        tasks: 0,
        project,
        config,
        compiled: Compiled {
            kfp_version: doc.kfp_version,
            yaml: text,
            pipeline_spec: doc.pipeline_spec,
            platform_spec: doc.platform_spec,
            parameters: doc.parameters,
            warnings: Vec::new(),
        },
        sources,
    })
}

/// The variables passed from the compiling machine to every pod, as kedro-kubeflow does:
/// `KEDRO_CONFIG_*` and `IAP_CLIENT_ID`.
pub fn capture_env(vars: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    vars.filter(|(k, _)| k.starts_with("KEDRO_CONFIG_") || k == "IAP_CLIENT_ID")
        .collect()
}

/// A compile error about a config key carries its key path: put the `file:line:column` of that
/// key in front, as config errors have it; one about an extra volume points at that volume.
fn with_config_files(e: compile::CompileError, tree: &config::Node) -> crate::Error {
    if let compile::CompileError::Config { path, msg } = e {
        return crate::Error::Config(config::ConfigError::At {
            loc: tree.locate(&path),
            path: Some(path),
            msg,
        });
    }
    if let compile::CompileError::ExtraVolume { name, .. } = &e {
        if let Some(path) = extra_volume_of(name, tree) {
            return crate::Error::Config(config::ConfigError::At {
                loc: tree.locate(&path),
                path: None,
                msg: e.to_string(),
            });
        }
    }
    e.into()
}

/// The `extra_volumes` entry of the volume named `name`.
fn extra_volume_of(name: &str, tree: &config::Node) -> Option<config::KeyPath> {
    use config::tree::{Kind, Seg};
    let root = config::KeyPath::parse("run_config.extra_volumes");
    let Kind::Map(entries) = &tree.find(&root)?.kind else {
        return None;
    };
    for e in entries {
        let Kind::Seq(items) = &e.value.kind else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let named = item.find(&config::KeyPath(vec![
                Seg::Key("volume".into()),
                Seg::Key("name".into()),
            ]));
            if matches!(named.map(|n| &n.kind), Some(Kind::Scalar(s)) if s.text == name) {
                let vol = root.key(&e.key).index(i).key("volume");
                // point at the volume's source when there is one
                let source = item.find(&config::KeyPath(vec![Seg::Key("volume".into())]))?;
                let key = source.as_map()?.iter().find(|x| x.key != "name");
                return Some(match key {
                    Some(k) => vol.key(&k.key),
                    None => vol,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kedro_config_and_iap_vars_are_captured() {
        let vars = vec![
            ("KEDRO_CONFIG_COMMIT_ID".to_string(), "abc".to_string()),
            ("IAP_CLIENT_ID".to_string(), "client".to_string()),
            ("HOME".to_string(), "/root".to_string()),
            ("DEX_PASSWORD".to_string(), "secret".to_string()),
        ];
        let env = capture_env(vars.into_iter());
        assert_eq!(env.len(), 2);
        assert_eq!(env["KEDRO_CONFIG_COMMIT_ID"], "abc");
        assert_eq!(env["IAP_CLIENT_ID"], "client");
    }
}
