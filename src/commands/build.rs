//! The chain every compiling command shares: project → config → snapshot → grouping → compile.

use crate::cli::BuildArgs;
use crate::commands::Ctx;
use crate::compile::Compiled;
use crate::config::Config;
use crate::error::Result;
use crate::project::Project;

/// A compiled pipeline with what it was built from.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub project: Project,
    pub config: Config,
    /// The Kedro pipeline name (`-p`).
    pub pipeline: String,
    pub compiled: Compiled,
}

/// Build the pipeline document for `build` with `--param` overrides `params`.
pub fn prepare(ctx: &Ctx, build: &BuildArgs, params: &[String]) -> Result<Prepared> {
    let _ = (ctx, build, params);
    Err(super::not_available("compile"))
}
