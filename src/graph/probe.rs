//! Runs the embedded Python probe with the project's interpreter to get its snapshot.

use std::path::{Path, PathBuf};

use crate::graph::{GraphError, Snapshot};
use crate::project::Project;

/// The interpreter to probe with: `--python`, `KFPX_PYTHON`, `$VIRTUAL_ENV/bin/python`,
/// `<project>/.venv/bin/python`, then `python3`.
pub fn resolve_python(project: &Project, explicit: Option<&Path>) -> PathBuf {
    let _ = project;
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Run the probe in the project root for the project's env and parse its snapshot.
pub fn run(project: &Project, python: &Path) -> Result<Snapshot, GraphError> {
    let _ = (project, python);
    Err(GraphError::Invalid("the probe is not available yet".into()))
}
