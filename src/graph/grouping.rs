//! Merge strategies: turn a pipeline's nodes into tasks (pods).

use serde::Serialize;

use crate::config::MergeStrategy;
use crate::graph::snapshot::NodeDef;

/// A pipeline after grouping: what the compilers render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskGraph {
    /// Kedro pipeline name.
    pub pipeline: String,
    pub strategy: MergeStrategy,
    /// Tasks in a topological order (every task after the tasks it depends on).
    pub tasks: Vec<Task>,
    /// Datasets produced in one task and consumed in another.
    pub crossing: Vec<CrossingDataset>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// Stable, readable name (a node's name, a group's name); sanitised by the compiler.
    pub name: String,
    /// The task's nodes in Kedro's topological order.
    pub nodes: Vec<NodeDef>,
    /// Names of the tasks this one runs after.
    pub depends_on: Vec<String>,
    /// True when the task runs the whole pipeline (`full`): no `--nodes` filter.
    pub whole_pipeline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossingDataset {
    pub dataset: String,
    pub from_task: String,
    pub to_tasks: Vec<String>,
    /// A MemoryDataset crossing pods: it will not survive at run time.
    pub memory: bool,
}
