//! The compiler: one task model resolved from config + task graph + snapshot, rendered by
//! `v2` (KFP IR + Kubernetes platform spec) or `argo` (Argo Workflow for KFP v1).

pub mod argo;
mod ir;
pub mod model;
pub mod names;
pub mod params;
pub mod v2;
mod yaml;

#[cfg(test)]
mod backend_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::config::{Config, KfpVersion};
use crate::graph::{Snapshot, TaskGraph};

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// `-i ""`: an empty image given on the command line.
    #[error("-i/--image is empty; pass an image")]
    EmptyImageFlag,
    /// A task graph whose task depends on one that does not come before it (a grouping bug).
    #[error("task {task:?} depends on {dependency:?}, which is not an earlier task of the graph")]
    UnknownDependency { task: String, dependency: String },
    /// A `--param` override the pipeline's nodes do not read; `known` are those they read.
    #[error(
        "--param {name}: pipeline {pipeline:?} has no parameter {name:?}; its parameters are: {}",
        if .known.is_empty() { "(none)".to_string() } else { .known.join(", ") }
    )]
    UnknownParam {
        name: String,
        pipeline: String,
        known: Vec<String>,
    },
    /// A typed document could not be turned into JSON (`action` says which).
    #[error("cannot {action}: {source}")]
    Document {
        action: &'static str,
        source: serde_json::Error,
    },
    /// A problem with the value at a config key (the command prints its file:line:column).
    #[error("{path}: {msg}")]
    Config {
        path: crate::config::KeyPath,
        msg: String,
    },
    /// A `--param` value that does not fit the type of the parameter's default.
    #[error("--param {name}: expected {want} like the default {default}, got {given}")]
    ParamType {
        name: String,
        want: &'static str,
        default: String,
        given: String,
    },
    /// The document could not be written as YAML.
    #[error("cannot write YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// A problem with the `run_config.extra_volumes` volume named `name` (the command finds
    /// its place in the config by the name).
    #[error("extra volume {name:?} {msg}")]
    ExtraVolume { name: String, msg: String },
}

/// Everything the compiler needs; all I/O (env vars, git) was done by the caller.
#[derive(Debug, Clone)]
pub struct CompileInput<'a> {
    pub config: &'a Config,
    pub snapshot: &'a Snapshot,
    pub tasks: &'a TaskGraph,
    /// Kedro env embedded in `kedro run --env`.
    pub env: &'a str,
    /// `-i`, overriding `run_config.image`.
    pub image: Option<&'a str>,
    pub kfp_version: KfpVersion,
    /// `--param` overrides of pipeline parameter defaults (already parsed and typed).
    pub param_overrides: &'a BTreeMap<String, serde_json::Value>,
    /// Variables captured at compile time and passed to pods (`KEDRO_CONFIG_*`, `IAP_CLIENT_ID`).
    pub compile_env: &'a BTreeMap<String, String>,
    /// Unknown per-node keys are errors instead of warnings.
    pub strict: bool,
}

/// A compiled pipeline document.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub kfp_version: KfpVersion,
    /// The file's text (YAML; for v2 two documents: PipelineSpec then PlatformSpec).
    pub yaml: String,
    /// v2: the PipelineSpec; v1: the Argo Workflow (as sent in run/job bodies).
    pub pipeline_spec: serde_json::Value,
    /// v2 only: the PlatformSpec (`{platforms: {kubernetes: …}}`), when there is one.
    pub platform_spec: Option<serde_json::Value>,
    /// Pipeline parameters and their defaults, in order.
    pub parameters: Vec<(String, serde_json::Value)>,
    /// Warnings for the user (unknown per-node keys, …).
    pub warnings: Vec<String>,
}

/// `sdkVersion` / `kfp_sdk_version` written into every document.
pub fn sdk_version() -> String {
    format!("kfpx-{}", env!("CARGO_PKG_VERSION"))
}

/// Compile a task graph into the target's pipeline document.
pub fn compile(input: &CompileInput) -> Result<Compiled, CompileError> {
    let model = model::build(input)?;
    let sdk = sdk_version();
    let mut warnings = model.warnings.clone();
    let parameters: Vec<(String, serde_json::Value)> = model
        .params
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    match model::Target::from(input.kfp_version) {
        model::Target::V2Ir => {
            let r = v2::render(&model, input.env, &sdk)?;
            warnings.extend(r.warnings);
            let mut yaml = format!(
                "# PIPELINE DEFINITION\n# Name: {}\n# Kedro pipeline: {}\n# Compiled by {sdk}\n",
                model.name, model.pipeline
            );
            yaml.reserve(1 << 16);
            yaml::append(&mut yaml, &r.pipeline_spec)?;
            if let Some(p) = &r.platform_spec {
                yaml.push_str("---\n");
                yaml::append(&mut yaml, p)?;
            }
            Ok(Compiled {
                kfp_version: KfpVersion::V2,
                yaml,
                pipeline_spec: r.pipeline_spec,
                platform_spec: r.platform_spec,
                parameters,
                warnings,
            })
        }
        model::Target::Argo => {
            let wf = argo::render(&model, input.env, &sdk)?;
            let mut yaml = String::with_capacity(1 << 16);
            yaml::append(&mut yaml, &wf)?;
            Ok(Compiled {
                kfp_version: KfpVersion::V1,
                yaml,
                pipeline_spec: wf,
                platform_spec: None,
                parameters,
                warnings,
            })
        }
    }
}

/// Names of the pipeline parameters `compile` would declare for `input` (its overrides are
/// ignored): what `--param` may name.
pub fn parameter_names(input: &CompileInput) -> Vec<String> {
    model::parameter_names(input)
}
