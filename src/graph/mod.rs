//! The node graph: snapshot model, probe, cache, validation, grouping.

pub mod grouping;
pub mod snapshot;

pub use grouping::{CrossingDataset, Task, TaskGraph};
pub use snapshot::{DatasetDef, NodeDef, PipelineDef, ProjectInfo, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{0}")]
    Invalid(String),
}
