//! Finding the Kedro project: its root, name, package and the chosen env.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute project root (holds pyproject.toml and/or conf/).
    pub root: PathBuf,
    /// `[tool.kedro] project_name`, else the directory name.
    pub name: String,
    /// `[tool.kedro] package_name`, when known.
    pub package: Option<String>,
    /// The Kedro env (`-e`, `KEDRO_ENV`, else `local`).
    pub env: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{0}")]
    NotFound(String),
}

impl Project {
    /// `dir` is `-C`; without it, search upwards from the current directory.
    pub fn discover(dir: Option<&Path>, env: &str) -> Result<Project, ProjectError> {
        let root = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|e| ProjectError::NotFound(e.to_string()))?,
        };
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kedro-project".into());
        Ok(Project {
            root,
            name,
            package: None,
            env: env.to_string(),
        })
    }

    pub fn conf_dir(&self) -> PathBuf {
        self.root.join("conf")
    }
}
