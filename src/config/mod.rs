//! Configuration: `conf/base/kubeflow.{yaml,yml}` with `conf/<env>/kubeflow.{yaml,yml}` deep-merged
//! on top, placeholders substituted (`template`), then typed (`schema`) and validated.

pub mod schema;

pub use schema::*;

use crate::project::Project;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}

/// The effective configuration and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    /// The files read, base first.
    pub files: Vec<std::path::PathBuf>,
}

/// Load, merge, substitute and validate the project's kubeflow config for its env.
pub fn load(project: &Project) -> Result<LoadedConfig, ConfigError> {
    let _ = project;
    Err(ConfigError::Invalid(
        "config loading is not available yet".into(),
    ))
}
