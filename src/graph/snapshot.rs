//! The snapshot: a versioned JSON description of a Kedro project's pipelines, datasets and
//! parameters, produced by the probe (or read from `--snapshot FILE`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::graph::GraphError;

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

impl DatasetDef {
    /// In memory: flagged so, or its type is a MemoryDataset in any spelling (`MemoryDataset`,
    /// `io.MemoryDataset`, `kedro.io.memory_dataset.MemoryDataset`, 0.18's `MemoryDataSet`,
    /// `SharedMemoryDataset`), whatever the flag says.
    pub fn is_memory(&self) -> bool {
        self.memory
            || self.ty.as_deref().is_some_and(|ty| {
                matches!(
                    ty.rsplit('.').next(),
                    Some(
                        "MemoryDataset"
                            | "MemoryDataSet"
                            | "SharedMemoryDataset"
                            | "SharedMemoryDataSet"
                    )
                )
            })
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// True for a node input that is a parameter, not a dataset.
pub fn is_param(input: &str) -> bool {
    input == "parameters" || input.starts_with("params:")
}

/// The dataset a node input or output refers to: Kedro transcoding (`name@pandas`,
/// `name@spark`) names one dataset seen through several types.
pub fn base_dataset(name: &str) -> &str {
    match name.find('@') {
        Some(at) => &name[..at],
        None => name,
    }
}

/// The hint every snapshot-file error ends with.
const REGENERATE: &str = "regenerate it with `kfpx graph -o snapshot --refresh`";

/// Only the header, read first so a file of another version gets a version error rather than
/// a confusing complaint about some field.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<serde_json::Value>,
}

impl Snapshot {
    /// Read a snapshot file (`--snapshot FILE`, a committed `kfpx-snapshot.json`).
    pub fn load(path: &Path) -> Result<Snapshot, GraphError> {
        let text = std::fs::read_to_string(path).map_err(|source| SnapshotError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Snapshot::from_json(&text, &path.display().to_string())
    }

    /// Parse a snapshot document; `origin` names it in errors (a file path).
    pub fn from_json(text: &str, origin: &str) -> Result<Snapshot, GraphError> {
        let header: Header =
            serde_json::from_str(text).map_err(|e| json_error(origin, "is not valid JSON", &e))?;
        match header.format.as_ref().and_then(|f| f.as_str()) {
            Some(SNAPSHOT_FORMAT) => {}
            other => {
                return Err(SnapshotError::NotASnapshot {
                    origin: origin.to_string(),
                    format: other.map(str::to_string),
                }
                .into())
            }
        }
        match header.version.as_ref().and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SNAPSHOT_VERSION) => {}
            _ => {
                return Err(SnapshotError::OtherVersion {
                    origin: origin.to_string(),
                    version: header
                        .version
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "none".into()),
                }
                .into())
            }
        }
        serde_json::from_str(text)
            .map_err(|e| json_error(origin, "does not match the snapshot format", &e))
    }

    /// The snapshot as pretty JSON (keys sorted by the model: deterministic).
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a snapshot always serialises");
        s.push('\n');
        s
    }

    /// Names of the registered pipelines, sorted.
    pub fn pipeline_names(&self) -> Vec<&str> {
        self.pipelines.keys().map(String::as_str).collect()
    }

    /// Whether a dataset lives only in memory: its catalog entry says so, or it has none (a
    /// dataset absent from `datasets` is what Kedro would create as a MemoryDataset). A
    /// transcoded name (`x@pandas`) is looked up as given, then as its base name.
    pub fn is_memory(&self, dataset: &str) -> bool {
        self.datasets
            .get(dataset)
            .or_else(|| self.datasets.get(base_dataset(dataset)))
            .is_none_or(DatasetDef::is_memory)
    }
}

fn json_error(origin: &str, what: &'static str, e: &serde_json::Error) -> GraphError {
    let full = e.to_string();
    let msg = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => full.as_str(),
    };
    SnapshotError::Syntax {
        origin: origin.to_string(),
        line: e.line(),
        column: e.column(),
        what,
        msg: msg.to_string(),
    }
    .into()
}

/// A snapshot file kfpx cannot use; `origin` names it (a path).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "cannot read snapshot {}: {source}; check the path, or create one with \
         `kfpx graph -o snapshot > FILE`",
        path.display()
    )]
    Unreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// `format` is the document's `format` field, when it is a string.
    #[error(
        "{origin} is not a kfpx snapshot ({}): {REGENERATE}",
        match .format {
            Some(f) => format!("`format` is \"{f}\", expected \"{SNAPSHOT_FORMAT}\""),
            None => format!("no `\"format\": \"{SNAPSHOT_FORMAT}\"` field"),
        }
    )]
    NotASnapshot {
        origin: String,
        format: Option<String>,
    },
    /// `version` is the document's `version` field as written (`none` when absent).
    #[error(
        "snapshot {origin} has version {version}, this kfpx reads version {SNAPSHOT_VERSION}: \
         {REGENERATE}"
    )]
    OtherVersion { origin: String, version: String },
    /// Not JSON (`what` says so), or JSON that does not match the format, at line:column.
    #[error("snapshot {origin}:{line}:{column} {what}: {msg}; fix the file or {REGENERATE}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        what: &'static str,
        msg: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(ty: Option<&str>, memory: bool) -> DatasetDef {
        DatasetDef {
            ty: ty.map(String::from),
            memory,
            filepath: None,
        }
    }

    #[test]
    fn memory_datasets_in_every_spelling() {
        for ty in [
            "MemoryDataset",
            "io.MemoryDataset",
            "kedro.io.MemoryDataset",
            "kedro.io.memory_dataset.MemoryDataset",
            "MemoryDataSet",
            "kedro.io.SharedMemoryDataset",
        ] {
            assert!(ds(Some(ty), false).is_memory(), "{ty}");
        }
        assert!(!ds(Some("pandas.CSVDataset"), false).is_memory());
        assert!(!ds(Some("my.MemoryDatasetCache"), false).is_memory());
        assert!(ds(None, true).is_memory());
    }

    #[test]
    fn datasets_missing_from_the_catalog_are_in_memory() {
        let mut snap: Snapshot = serde_json::from_value(serde_json::json!({
            "format": "kfpx-snapshot", "version": 1,
            "project": {"name": "p", "kedro_version": "1.0.0"},
            "pipelines": {},
            "datasets": {"file": {"type": "pandas.CSVDataset", "memory": false},
                         "t@pandas": {"type": "pandas.CSVDataset", "memory": false}}
        }))
        .unwrap();
        assert!(!snap.is_memory("file"));
        assert!(snap.is_memory("unknown"));
        assert!(!snap.is_memory("t@pandas"));
        assert!(
            snap.is_memory("t@spark"),
            "no entry for this side of the transcoding"
        );
        snap.datasets
            .insert("t".into(), ds(Some("pandas.CSVDataset"), false));
        assert!(!snap.is_memory("t@spark"), "falls back to the base name");
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let e = Snapshot::from_json("{\n  \"format\": \"kfpx-snapshot\",\n  oops\n}", "f.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("snapshot f.json:3:3 is not valid JSON: key must be a string;"),
            "{e}"
        );
        let e = Snapshot::from_json(r#"{"format": "kfpx-snapshot", "version": "1"}"#, "f.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("has version \"1\", this kfpx reads version 1"),
            "{e}"
        );
        let e = Snapshot::from_json(
            r#"{"format": "kfpx-snapshot", "version": 1, "project": {"name": "p",
                "kedro_version": "1"}, "pipelines": {}, "extra": 1}"#,
            "f.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("f.json:2:63 does not match the snapshot format: unknown field `extra`"),
            "{e}"
        );
    }

    #[test]
    fn the_conf_example_snapshot_reads_and_round_trips() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf-example/kfpx-snapshot.json");
        let snap = Snapshot::load(&path).unwrap();
        assert_eq!(
            snap.pipeline_names(),
            [
                "__default__",
                "data_processing",
                "data_science",
                "reporting"
            ]
        );
        assert_eq!(snap.pipelines["__default__"].nodes.len(), 10);
        assert!(snap.is_memory("reporting.passenger_capacity"));
        let again = Snapshot::from_json(&snap.to_json_pretty(), "again").unwrap();
        assert_eq!(again, snap);
        assert_eq!(
            snap.to_json_pretty(),
            std::fs::read_to_string(&path).unwrap()
        );
    }
}
