//! `kfpx run-local`: run a compiled pipeline document (KFP v2 IR + platform spec, or an Argo
//! Workflow for KFP v1) on this machine, pod by pod.
//!
//! The document itself is executed, not kfpx's task list: [`load`] turns it into a [`Plan`]
//! (the format modules [`v2`] and [`argo`] resolve placeholders as the KFP driver and launcher,
//! or the Argo controller, do), and [`run`] starts each task as its own process group in a view
//! of the project as the image holds it ([`view`]), with the pod's environment and mounts; the
//! run's volumes are directories under `.kfpx/runs/<run>/volumes/`. Whatever a document asks
//! that a local process cannot do faithfully (artifacts, loops, config maps, volumes the run did
//! not create…) is an error naming the task and the setting, before anything runs.
//!
//! This is an edge of the program like `kfp/`: it spawns processes and reads the clock; what
//! the user sees is reported through [`Observer`] events and the returned [`Summary`].

pub mod argo;
pub mod exec;
pub mod plan;
pub mod v2;
pub mod view;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

pub use plan::Plan;
use plan::{RunState, Spec};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The document cannot be run (unsupported or inconsistent): one line for the user.
    #[error("{0}")]
    Document(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LocalError {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LocalError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<LocalError> for crate::Error {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::Io {
                action,
                path,
                source,
            } => crate::Error::Io {
                action,
                path,
                source,
            },
            LocalError::Document(m) => crate::Error::Message(m),
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Kedro project (what the image holds at `/home/kedro`).
    pub project_root: PathBuf,
    /// The project's interpreter; its directory goes first on each task's PATH.
    pub python: PathBuf,
    /// Most tasks at once (at least 1).
    pub jobs: usize,
    /// Keep volumes a delete step would remove.
    pub keep: bool,
    /// Keep the per-task project views (for debugging and tests).
    pub keep_views: bool,
    /// Ignore the document's retry policies.
    pub no_retry: bool,
    /// Start tasks whose secrets are not in the local environment (with a warning).
    pub allow_missing_secrets: bool,
    /// The local environment: secrets-as-env and the base variables of each task.
    pub env: BTreeMap<String, String>,
    /// Where run directories go (`<project>/.kfpx/runs`).
    pub runs_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Interrupted => "interrupted",
        }
    }
}

/// Progress of a run, as it happens.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    Started {
        task: &'a str,
        attempt: u32,
    },
    Finished {
        task: &'a str,
        status: TaskStatus,
        elapsed: Duration,
        attempt: u32,
        /// A failed attempt that will be retried after this delay.
        retry_in: Option<Duration>,
        detail: &'a str,
    },
    Skipped {
        task: &'a str,
    },
}

pub trait Observer {
    fn event(&mut self, e: Event<'_>);
}

/// What happened, for the final table and `-o json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub run_id: String,
    pub run_name: String,
    pub status: RunStatus,
    /// The run directory (logs, volumes kept).
    pub directory: PathBuf,
    pub tasks: Vec<TaskSummary>,
    /// Volumes left at the end (the document keeps them, or `--keep`).
    pub volumes_kept: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Succeeded,
    Failed,
    Interrupted,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    pub name: String,
    pub status: TaskStatus,
    pub attempts: u32,
    pub duration_seconds: f64,
    pub log: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Which format a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    V2,
    Argo,
}

/// Parse a compiled document (either format) into a plan; `params` override its pipeline
/// parameters.
pub fn load(text: &str, params: &BTreeMap<String, Value>) -> Result<(Format, Plan), LocalError> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for d in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(d)
            .map_err(|e| LocalError::Document(format!("the document is not valid YAML: {e}")))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    let first = docs
        .first()
        .ok_or_else(|| LocalError::Document("the file holds no YAML document".into()))?;
    let (format, plan) = if first.get("kind").and_then(Value::as_str) == Some("Workflow") {
        (Format::Argo, argo::parse(&docs, params))
    } else if first.get("root").is_some() && first.get("deploymentSpec").is_some() {
        (Format::V2, v2::parse(&docs, params))
    } else {
        return Err(LocalError::Document(
            "the file is neither a KFP v2 pipeline (root, deploymentSpec) nor an Argo Workflow"
                .into(),
        ));
    };
    let plan = plan.map_err(LocalError::Document)?;
    if plan.tasks.is_empty() {
        return Err(LocalError::Document("the pipeline has no tasks".into()));
    }
    Ok((format, plan))
}

/// Secrets-as-env of every task whose variable is not set locally: (task, variable, secret).
pub fn missing_secrets(
    plan: &Plan,
    env: &BTreeMap<String, String>,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for t in &plan.tasks {
        let vars: Vec<(String, String, bool)> = match &t.spec {
            Spec::V2(l) => l.secret_env.clone(),
            Spec::Argo(l) => l
                .template
                .pointer("/container/env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let s = e.pointer("/valueFrom/secretKeyRef")?;
                    Some((
                        e.get("name")?.as_str()?.to_string(),
                        s.get("name")?.as_str()?.to_string(),
                        s.get("optional").and_then(Value::as_bool) == Some(true),
                    ))
                })
                .collect(),
        };
        for (var, secret, optional) in vars {
            if !optional && !env.contains_key(&var) {
                out.push((t.name.clone(), var, secret));
            }
        }
    }
    out
}

/// A run id: time-ordered and unique enough for one machine.
fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "{}-{:04x}",
        now.format("%Y%m%d-%H%M%S"),
        rand::random::<u16>()
    )
}

/// A UUID v4 text for `{{$.pipeline_job_uuid}}` / `{{workflow.uid}}`.
fn new_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    let variant = ['8', '9', 'a', 'b'][(b[8] >> 6) as usize & 3];
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        variant,
        &h[17..20],
        &h[20..32]
    )
}

/// Run the plan. Interrupts are seen through `interrupt` (set it from a signal handler).
pub fn run(
    plan: &Plan,
    opts: &Options,
    obs: &mut dyn Observer,
    interrupt: &AtomicBool,
) -> Result<Summary, LocalError> {
    let run_id = new_run_id();
    let run_dir = opts.runs_dir.join(&run_id);
    std::fs::create_dir_all(&run_dir).map_err(|e| LocalError::io("create", &run_dir, e))?;
    let mut state = RunState {
        run_id: new_uuid(),
        run_name: format!("{}-{}", plan.name, &run_id[run_id.len() - 4..]),
        ..RunState::default()
    };
    let out = exec::run(plan, opts, &run_dir, &mut state, obs, interrupt)?;
    let tasks: Vec<TaskSummary> = plan
        .tasks
        .iter()
        .zip(&out.records)
        .map(|(t, r)| TaskSummary {
            name: t.name.clone(),
            status: r.status,
            attempts: r.attempts,
            duration_seconds: (r.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            log: run_dir
                .join("logs")
                .join(format!("{}.log", exec::file_name(&t.name))),
            error: (!r.detail.is_empty() && r.status != TaskStatus::Succeeded)
                .then(|| r.detail.clone()),
        })
        .collect();
    let status = if out.interrupted {
        RunStatus::Interrupted
    } else if tasks.iter().any(|t| t.status == TaskStatus::Failed) {
        RunStatus::Failed
    } else {
        RunStatus::Succeeded
    };
    let summary = Summary {
        run_id: state.run_id.clone(),
        run_name: state.run_name.clone(),
        status,
        directory: run_dir.clone(),
        tasks,
        volumes_kept: out.kept_volumes,
    };
    let path = run_dir.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|e| LocalError::io("write", &path, e))?;
    Ok(summary)
}

/// The run directory root of a project.
pub fn runs_dir(project_root: &Path) -> PathBuf {
    project_root.join(".kfpx").join("runs")
}

#[cfg(test)]
mod tests;
