//! The snapshot: a versioned JSON description of a Kedro project's pipelines, datasets and
//! parameters, produced by the probe (or read from `--snapshot FILE`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `format` value every snapshot carries.
pub const SNAPSHOT_FORMAT: &str = "kfpx-snapshot";
/// Current snapshot schema version; a different one is rejected with a clear error.
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always `kfpx-snapshot`.
    pub format: String,
    /// Schema version (`SNAPSHOT_VERSION`).
    pub version: u32,
    pub project: ProjectInfo,
    /// The Kedro env the snapshot was taken with (parameters and catalog depend on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Registered pipelines by name (`__default__` included).
    pub pipelines: BTreeMap<String, PipelineDef>,
    /// Every dataset the pipelines touch (parameters excluded).
    #[serde(default)]
    pub datasets: BTreeMap<String, DatasetDef>,
    /// The project's merged parameters tree for the env.
    #[serde(default = "empty_object")]
    pub parameters: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectInfo {
    /// `project_name` from pyproject.toml.
    pub name: String,
    /// Python package name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Kedro version, e.g. `1.0.0` or `0.19.14`.
    pub kedro_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDef {
    /// Nodes in Kedro's topological order.
    pub nodes: Vec<NodeDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDef {
    /// Kedro node name (namespace-qualified, e.g. `data_processing.preprocess_companies_node`).
    pub name: String,
    /// Dataset and parameter names (`params:x.y`, `parameters`).
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub outputs: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetDef {
    /// Catalog type (e.g. `pandas.CSVDataset`); absent for implicit MemoryDatasets.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// True when the data lives only in the producing process's memory.
    pub memory: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filepath: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// True for a node input that is a parameter, not a dataset.
pub fn is_param(input: &str) -> bool {
    input == "parameters" || input.starts_with("params:")
}
