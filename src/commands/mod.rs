//! One file per subcommand: gather inputs, call the domain, print results.

pub mod build;
pub mod compile;
pub mod completions;
pub mod config;
pub mod graph;
pub mod init;
pub mod list_pipelines;
pub mod login;
pub mod run_once;
pub mod schedule;
pub mod ui;
pub mod upload;

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
        Command::Ui(args) => ui::run(&ctx, args),
        Command::Graph(args) => graph::run(&ctx, args),
        Command::Config(args) => config::run(&ctx, args),
        Command::Completions(args) => completions::run(&ctx, args),
        Command::Login(args) => login::login(&ctx, args),
        Command::Logout(args) => login::logout(&ctx, args),
    }
}

/// Write a file atomically: a temporary file in the same directory, then a rename, so that a
/// reader (or a crash) never sees a partial file. Creates missing parent directories. New files
/// get mode 0644; a replaced file keeps its permissions.
pub fn write_atomic(path: &std::path::Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| crate::Error::io("create directory", &dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".kfpx-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| crate::Error::io("create a temporary file in", &dir, e))?;
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| crate::Error::io("write", tmp.path().to_path_buf(), e))?;
    let perms = match std::fs::metadata(path) {
        Ok(meta) => Some(meta.permissions()),
        Err(_) => default_permissions(),
    };
    if let Some(perms) = perms {
        let _ = tmp.as_file().set_permissions(perms);
    }
    tmp.persist(path)
        .map_err(|e| crate::Error::io("write", path, e.error))?;
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_creates_parents_replaces_and_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/file.yaml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.yaml")]);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_gives_new_files_readable_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        write_atomic(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
