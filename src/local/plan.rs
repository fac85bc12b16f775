//! What a compiled document asks to run, in a form both formats share: a flat list of leaf tasks
//! (containers and volume operations) with the dependency edges the document states, each edge
//! saying whether it needs the upstream task to succeed (a plain dependency) or only to finish
//! (an exit handler, `ALL_UPSTREAM_TASKS_COMPLETED`). Values a task reads from the run (task
//! outputs, the exit handler's final status) stay symbolic until the task starts:
//! [`crate::local::v2`] and [`crate::local::argo`] resolve them then, as the KFP driver and
//! launcher / the Argo controller do.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Map, Value};

/// The image a KFP v2 `createpvc` / `deletepvc` executor names: the Argo compiler turns such
/// executors into Kubernetes resource operations, not pods
/// (kubeflow/pipelines backend/src/v2/compiler/argocompiler/container.go).
pub const ARGOSTUB_CREATE: &str = "argostub/createpvc";
pub const ARGOSTUB_DELETE: &str = "argostub/deletepvc";

/// Where kfpx's images hold the Kedro project and run the command (kedro-docker's layout,
/// `compile::model::DATA_MOUNT`'s parent).
pub const IMAGE_PROJECT_ROOT: &str = "/home/kedro";

#[derive(Debug, Clone)]
pub struct Plan {
    /// `pipelineInfo.name` / the workflow's `generateName` stem.
    pub name: String,
    pub tasks: Vec<Task>,
    /// Notes for the user about what the document does on a cluster (e.g. a placeholder the
    /// backend leaves unresolved), printed once as warnings.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Task {
    /// Unique display name (the document's task name; nested tasks keep their own name
    /// unless it collides, then `parent/child`).
    pub name: String,
    pub deps: Vec<Dep>,
    /// Runs even after another task failed: it (or a DAG around it) is an exit handler or
    /// waits for its upstream tasks to complete whatever their outcome.
    pub exit: bool,
    pub retry: Retry,
    pub spec: Spec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dep {
    pub task: usize,
    /// The upstream task must succeed; otherwise this task is skipped. False for
    /// `ALL_UPSTREAM_TASKS_COMPLETED` and exit handlers.
    pub needs_success: bool,
}

/// Retries of one task, as the document's retry policy says (already turned into the backend's
/// semantics by the format's parser).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Retry {
    /// Extra attempts after the first.
    pub limit: u32,
    pub backoff: Duration,
    pub factor: f64,
    /// The whole retry window, measured from the start of the first attempt (Argo's
    /// `backoff.maxDuration`). `None`: no window.
    pub max_duration: Option<Duration>,
}

impl Retry {
    /// Delay before attempt `next` (1 = the first retry).
    pub fn delay(&self, next: u32) -> Duration {
        let factor = if self.factor > 0.0 { self.factor } else { 1.0 };
        let secs = self.backoff.as_secs_f64() * factor.powi(next.saturating_sub(1) as i32);
        Duration::from_secs_f64(secs.min(86_400.0))
    }
}

/// The format-specific description of a leaf task, resolved when it starts.
#[derive(Debug, Clone)]
pub enum Spec {
    V2(Box<crate::local::v2::LeafSpec>),
    Argo(Box<crate::local::argo::LeafSpec>),
}

/// What a task does once its inputs are resolved.
#[derive(Debug, Clone)]
pub enum Action {
    Exec(Launch),
    /// Create the run's volume `name`; the task's outputs (and Argo globals) are known now.
    CreateVolume {
        name: String,
        outputs: BTreeMap<String, Value>,
        globals: Vec<(String, String)>,
    },
    DeleteVolume {
        name: String,
    },
}

/// A container command ready to run.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Command and arguments, placeholders resolved, container paths not yet mapped.
    pub argv: Vec<String>,
    /// Plain environment variables.
    pub env: Vec<(String, String)>,
    /// Variables a pod would get from Kubernetes secrets: (variable, secret name, optional).
    pub secret_env: Vec<(String, String, bool)>,
    pub mounts: Vec<Mount>,
    /// Output parameters: (name, container path of the file the command writes).
    pub outputs: Vec<(String, String)>,
    /// Argo global outputs: (output parameter, `globalName`).
    pub globals: Vec<(String, String)>,
    /// Files the command must leave behind (Argo output artifacts): (container path, optional).
    pub artifacts: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute path in the container.
    pub path: String,
    pub source: MountSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A PVC this run created (by its name).
    Volume(String),
    /// A fresh empty directory per pod.
    EmptyDir,
}

/// How a finished task ended, as the exit handler's status sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Never started: an upstream task failed, or the run was stopped.
    Skipped,
}

/// What the run knows when a task starts: outputs and outcomes of finished tasks.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    /// `{{$.pipeline_job_uuid}}`, `{{workflow.uid}}`.
    pub run_id: String,
    /// `{{$.pipeline_job_name}}` / `{{$.pipeline_job_resource_name}}`, `{{workflow.name}}`.
    pub run_name: String,
    /// Output parameters per finished task (by index).
    pub outputs: BTreeMap<usize, BTreeMap<String, Value>>,
    /// Outcome per finished or skipped task.
    pub outcomes: BTreeMap<usize, Outcome>,
    /// Argo global output parameters (`globalName`), set when their task succeeds.
    pub globals: BTreeMap<String, String>,
}

/// A document problem: it names the task and what run-local cannot run faithfully.
pub fn unsupported(task: &str, what: impl std::fmt::Display) -> String {
    format!("task `{task}`: {what}; run-local cannot run this faithfully")
}

/// Parse a protobuf JSON duration (`"60s"`, `"1.5s"`) or a Go / Argo duration (`"10m"`,
/// `"1h30m"`, `"500ms"`, a bare number of seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(secs) = t.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * mult;
    }
    Some(Duration::from_secs_f64(total))
}

/// A parameter value as the KFP launcher writes it into a command
/// (backend/src/v2/component/launcher_v2.go `getPlaceholders`): strings as they are, numbers in
/// Go's shortest `'f'` form (`8`, not `8.0`), booleans as `true`/`false`, lists and structs as
/// compact JSON (`json.Marshal` of the protobuf value: numbers as above, keys sorted).
pub fn launcher_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        _ => {
            let mut out = String::new();
            write_json(v, &mut out);
            out
        }
    }
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

/// Every number in a protobuf `Value` is a double; Go prints integral ones without a fraction.
fn number_text(n: &serde_json::Number) -> String {
    let f = n.as_f64().unwrap_or(0.0);
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// The tasks of one DAG (name → task) in an order that runs every task after the tasks it
/// names under `deps_key` (`dependentTasks` in KFP v2 IR, `dependencies` in Argo): ready tasks
/// in name order, pass after pass, so the order is the same on every run. A dependency on a
/// task outside the DAG is not waited for here (the caller resolves it); a cycle is an error
/// naming the DAG.
pub fn topo_order(
    tasks: &Map<String, Value>,
    deps_key: &str,
    dag: &str,
) -> Result<Vec<String>, String> {
    let mut keys: Vec<&String> = tasks.keys().collect();
    keys.sort();
    let mut done: HashSet<&str> = HashSet::new();
    let mut order = Vec::new();
    while order.len() < keys.len() {
        let before = order.len();
        for k in &keys {
            if done.contains(k.as_str()) {
                continue;
            }
            let ready = tasks[k.as_str()]
                .get(deps_key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .all(|d| done.contains(d) || !tasks.contains_key(d));
            if ready {
                done.insert(k.as_str());
                order.push((*k).clone());
            }
        }
        if order.len() == before {
            return Err(format!(
                "the tasks of DAG `{dag}` depend on each other in a cycle"
            ));
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_in_both_notations() {
        assert_eq!(parse_duration("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn launcher_renders_values_as_go_does() {
        assert_eq!(launcher_text(&json!("a b")), "a b");
        assert_eq!(launcher_text(&json!(8)), "8");
        assert_eq!(launcher_text(&json!(8.0)), "8");
        assert_eq!(launcher_text(&json!(0.2)), "0.2");
        assert_eq!(launcher_text(&json!(true)), "true");
        assert_eq!(
            launcher_text(&json!({"b": [1.0, "x"], "a": {"random_state": 3.0}})),
            r#"{"a":{"random_state":3},"b":[1,"x"]}"#
        );
    }

    #[test]
    fn backoff_grows_by_the_factor() {
        let r = Retry {
            limit: 3,
            backoff: Duration::from_secs(2),
            factor: 3.0,
            max_duration: None,
        };
        assert_eq!(r.delay(1), Duration::from_secs(2));
        assert_eq!(r.delay(2), Duration::from_secs(6));
        assert_eq!(r.delay(3), Duration::from_secs(18));
    }
}
