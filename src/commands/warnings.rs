//! Compile warnings as people should see them: located (`conf/base/kubeflow.yaml:41:5:` for a
//! per-node key that matches no node, with how to silence it), shown in full by `compile`, and
//! by the other compiling commands (upload-pipeline, run-once, schedule…) only when they
//! changed since they were last shown for this project and env. Otherwise kedro-kubeflow's
//! sample keys (`data_import_step`, `node_a`…) would print the same lines on every command.
//!
//! "Last shown" is a digest in `<project>/.kfpx/warnings-<env>`; a project where it cannot be
//! written simply shows the warnings every time.

use std::path::PathBuf;

use crate::config::{KeyPath, LoadedConfig, Origin};
use crate::output;
use crate::project::Project;

/// How a command shows compile warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Every time (`compile`).
    Always,
    /// Only when they differ from those last shown for this project and env.
    WhenChanged,
}

/// The marker of kfpx's per-node key warning (compile/model.rs).
const NO_NODE: &str = " matches no node or tag of the project";

/// Add the file position and how to silence it to a per-node key warning; others unchanged.
pub fn locate(warning: &str, loaded: &LoadedConfig) -> String {
    let Some(at) = warning.find(NO_NODE) else {
        return warning.to_string();
    };
    // run_config.<section>.<key>, where the key may itself contain dots.
    let dotted = &warning[..at];
    let mut parts = dotted.splitn(3, '.');
    let (Some("run_config"), Some(section), Some(key)) = (parts.next(), parts.next(), parts.next())
    else {
        return warning.to_string();
    };
    let path = KeyPath::root().key("run_config").key(section).key(key);
    let place = match loaded.origin(&path) {
        Origin::File { loc, .. } => format!("{}:{}:{}: ", loc.file, loc.line, loc.col),
        Origin::Default => String::new(),
    };
    format!(
        "{place}{warning}; to silence this, delete the `{key}` entry under run_config.{section} \
         (kedro-kubeflow's sample config has such placeholder keys) or name a node or tag"
    )
}

fn stamp_path(project: &Project) -> PathBuf {
    let env: String = project
        .env
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    project
        .root
        .join(crate::graph::cache::CACHE_DIR)
        .join(format!("warnings-{env}"))
}

fn digest(warnings: &[String]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for w in warnings {
        h.update(w.as_bytes());
        h.update(b"\n");
    }
    format!("{:x}\n", h.finalize())
}

/// Print `warnings` (located in `loaded`) as `show` says, and remember them as shown. What is
/// remembered is the warnings themselves, not where the current directory makes them appear.
pub fn print(warnings: &[String], loaded: &LoadedConfig, project: &Project, show: Show) {
    let stamp = stamp_path(project);
    let now = digest(warnings);
    let unchanged = std::fs::read_to_string(&stamp).is_ok_and(|before| before == now);
    if show == Show::WhenChanged && unchanged && !warnings.is_empty() {
        tracing::info!(
            "{} unchanged warning(s) not repeated; `kfpx compile` shows them",
            warnings.len()
        );
        return;
    }
    for w in warnings {
        output::warn(locate(w, loaded));
    }
    if warnings.is_empty() {
        let _ = std::fs::remove_file(&stamp);
    } else if !unchanged {
        if let Some(dir) = stamp.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&stamp, now);
    }
}
