//! One file per subcommand: gather inputs, call the domain, print results.

pub mod build;
pub mod compile;
pub mod completions;
pub mod config;
pub mod graph;
pub mod init;
pub mod list_pipelines;
pub mod login;
pub mod params;
pub mod present;
pub mod remote;
pub mod run_local;
pub mod run_once;
pub mod runs;
pub mod schedule;
pub mod schedules;
pub mod server;
pub mod ui;
pub mod upload;
pub mod warnings;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::Result;
use crate::project::Project;

/// What every command gets: the global options. Project and config are resolved on demand,
/// since `init`, `completions` and `ui --print` need less than `compile`.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub global: GlobalArgs,
}

impl Ctx {
    /// The Kedro project the command works on (`-C`, else discovered from the cwd).
    pub fn project(&self) -> Result<Project> {
        let project = Project::discover(self.global.project_dir.as_deref(), &self.global.env)?;
        log_project(&project);
        Ok(project)
    }

    /// The project `kfpx init` writes into: like [`Ctx::project`], but a directory with just a
    /// `pyproject.toml` also qualifies (`-C`, or the cwd when no project is found above it).
    pub fn project_for_init(&self) -> Result<Project> {
        let project =
            Project::discover_for_init(self.global.project_dir.as_deref(), &self.global.env)?;
        log_project(&project);
        Ok(project)
    }
}

fn log_project(p: &Project) {
    tracing::info!(
        "project {:?} at {} (env {})",
        p.name,
        p.root.display(),
        p.env
    );
}

pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx { global: cli.global };
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Compile(args) => compile::run(&ctx, args),
        Command::UploadPipeline(args) => upload::run(&ctx, args),
        Command::RunOnce(args) => run_once::run(&ctx, args),
        Command::Schedule(args) => schedule::run(&ctx, args),
        Command::ListPipelines(args) => list_pipelines::run(&ctx, args),
        Command::RunLocal(args) => run_local::run(&ctx, args),
        Command::Ui(args) => ui::run(&ctx, args),
        Command::Graph(args) => graph::run(&ctx, args),
        Command::Config(args) => config::run(&ctx, args),
        Command::Completions(args) => completions::run(&ctx, args),
        Command::Login(args) => login::login(&ctx, args),
        Command::Logout(args) => login::logout(&ctx, args),
        Command::Runs(cmd) => runs::run(&ctx, cmd),
        Command::Schedules(cmd) => schedules::run(&ctx, cmd),
    }
}

/// Write a file atomically (see [`crate::files`]).
pub fn write_atomic(path: &std::path::Path, contents: &[u8]) -> Result<()> {
    Ok(crate::files::write_atomic(path, contents)?)
}
