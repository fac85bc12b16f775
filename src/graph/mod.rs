//! The node graph: snapshot model, probe, cache, validation, grouping.

pub mod cache;
pub mod grouping;
pub mod probe;
pub mod render;
pub mod snapshot;
pub mod validate;

use std::path::PathBuf;

pub use grouping::{CrossingDataset, MemoryCrossing, MemoryCrossingError, Task, TaskGraph};
pub use snapshot::{DatasetDef, NodeDef, PipelineDef, ProjectInfo, Snapshot};

use crate::config::MergeStrategy;
use crate::project::Project;

/// Why there is no grouped pipeline: each variant carries what the message names.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The snapshot file cannot be read or is not a kfpx snapshot.
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
    /// The probe could not produce a snapshot (or its settings are wrong).
    #[error(transparent)]
    Probe(#[from] probe::ProbeError),
    /// The project registers no pipeline by this name; `known` are the names it has, sorted.
    #[error("{}", validate::unknown_pipeline_message(.pipeline, .known))]
    UnknownPipeline {
        pipeline: String,
        known: Vec<String>,
    },
    /// The pipeline's definition cannot be run.
    #[error("pipeline `{pipeline}`{problem}")]
    BadPipeline {
        pipeline: String,
        problem: validate::PipelineProblem,
    },
    /// A node's group tags (merge strategy `tags`) do not name one group.
    #[error("node `{node}` has {problem}")]
    GroupTags {
        node: String,
        problem: grouping::GroupTagProblem,
    },
    /// Grouping nodes into tasks made a cycle between tasks; `cycle` names them in order.
    #[error(
        "grouping pipeline `{pipeline}` with merge strategy `{}` makes a cycle between tasks: \
         {cycle}; {}",
        .strategy.as_str(),
        grouping::cycle_hint(*.strategy)
    )]
    GroupCycle {
        pipeline: String,
        strategy: MergeStrategy,
        cycle: String,
    },
    /// MemoryDatasets would cross pods (compile refuses; `kfpx graph` shows them).
    #[error("{0}")]
    MemoryCrossing(Box<MemoryCrossingError>),
}

/// Where the snapshot comes from (the global `--python`, `--snapshot`, `--refresh`,
/// `--probe-mode`, and the config's `run_config.probe_mode`).
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    pub python: Option<PathBuf>,
    pub snapshot: Option<PathBuf>,
    pub refresh: bool,
    /// `--probe-mode`: wins over `KFPX_PROBE_MODE` and the config.
    pub probe_mode: Option<probe::ProbeMode>,
    /// `run_config.probe_mode`: used when neither the flag nor `KFPX_PROBE_MODE` is set.
    pub config_probe_mode: Option<probe::ProbeMode>,
}

/// Options of grouping.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// Tag prefix of the `tags` strategy (`run_config.group_tag_prefix`).
    pub tag_prefix: String,
    /// MemoryDatasets crossing pods are warnings, not errors.
    pub allow_memory_datasets: bool,
}

/// A grouped pipeline and the warnings grouping produced.
#[derive(Debug, Clone)]
pub struct Grouped {
    pub tasks: TaskGraph,
    pub warnings: Vec<String>,
    /// MemoryDatasets written in one task and read in another, in task order.
    pub memory_crossings: Vec<MemoryCrossing>,
}

/// The project's snapshot: from `--snapshot`, the cache, or the probe (then cached).
pub fn obtain_snapshot(project: &Project, opts: &SnapshotOptions) -> Result<Snapshot, GraphError> {
    cache::obtain(project, opts, probe::resolve_python, probe::run)
}

/// Validate the pipeline and group its nodes into tasks.
pub fn group(
    snapshot: &Snapshot,
    pipeline: &str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
) -> Result<Grouped, GraphError> {
    grouping::group(snapshot, pipeline, strategy, opts)
}

/// Validate the pipeline and group its nodes into tasks, to look at: MemoryDatasets crossing
/// pods are listed in [`Grouped::memory_crossings`], never refused.
pub fn group_view(
    snapshot: &Snapshot,
    pipeline: &str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
) -> Result<Grouped, GraphError> {
    grouping::group_view(snapshot, pipeline, strategy, opts)
}

/// Tag prefix of the `tags` strategy when the config sets none.
pub const DEFAULT_TAG_PREFIX: &str = "group.";

impl Default for GroupOptions {
    fn default() -> Self {
        GroupOptions {
            tag_prefix: DEFAULT_TAG_PREFIX.to_string(),
            allow_memory_datasets: false,
        }
    }
}

impl SnapshotOptions {
    /// With the project's `run_config.probe_mode`.
    pub fn with_config(mut self, run_config: Option<&crate::config::RunConfig>) -> Self {
        self.config_probe_mode = run_config.and_then(|rc| rc.probe_mode);
        self
    }
}
