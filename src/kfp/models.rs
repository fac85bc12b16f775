//! The KFP resources kfpx works with, the same for both API versions (`v2` and `v1` map their
//! wire shapes onto these). Serialised as kfpx's own machine-readable output.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    pub id: String,
    /// The name users see (v2 `display_name`, v1 `name`).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The latest version, when the list response carries it (v1 `default_version`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<Version>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Experiment {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A run's state, with v1 statuses mapped onto v2's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Canceling,
    Canceled,
    Paused,
    Unknown,
}

impl RunState {
    /// v2 `RuntimeState` names and v1 status strings (case-insensitive).
    pub fn parse(s: &str) -> RunState {
        match s.trim().to_ascii_uppercase().as_str() {
            "" | "PENDING" | "RUNTIME_STATE_UNSPECIFIED" => RunState::Pending,
            "RUNNING" => RunState::Running,
            "SUCCEEDED" => RunState::Succeeded,
            "SKIPPED" => RunState::Skipped,
            "FAILED" | "ERROR" => RunState::Failed,
            "CANCELING" | "TERMINATING" => RunState::Canceling,
            "CANCELED" | "CANCELLED" => RunState::Canceled,
            "PAUSED" => RunState::Paused,
            _ => RunState::Unknown,
        }
    }

    /// The run will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Skipped | RunState::Failed | RunState::Canceled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "PENDING",
            RunState::Running => "RUNNING",
            RunState::Succeeded => "SUCCEEDED",
            RunState::Skipped => "SKIPPED",
            RunState::Failed => "FAILED",
            RunState::Canceling => "CANCELING",
            RunState::Canceled => "CANCELED",
            RunState::Paused => "PAUSED",
            RunState::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: String,
    pub name: String,
    pub state: RunState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The run's error message, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Names of the tasks that failed, when the API says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_tasks: Vec<String>,
    /// When the run ended (none while it runs: the API's `1970-01-01T00:00:00Z` is dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    /// The uploaded pipeline it ran, when it ran one (not for an inline document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The pipeline's name, when the answer carries it (v1) or the caller looked it up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_run_id: Option<String>,
    /// Archived (storage state ARCHIVED).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// The parameter values it ran with (v2 typed; v1 strings).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Its tasks (v2 run details, v1 workflow nodes of type Pod), when the answer has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
}

impl Run {
    /// A run with only what every answer has; parsers fill in the rest.
    pub fn new(id: String, name: String, state: RunState) -> Run {
        Run {
            id,
            name,
            state,
            created_at: None,
            description: None,
            error: None,
            failed_tasks: Vec::new(),
            finished_at: None,
            experiment_id: None,
            pipeline_id: None,
            version_id: None,
            pipeline_name: None,
            recurring_run_id: None,
            archived: false,
            parameters: BTreeMap::new(),
            tasks: Vec::new(),
        }
    }
}

/// One task of a run (a pod on the cluster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    pub name: String,
    pub state: RunState,
    /// The pod that ran it (its log is read by this name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecurringRun {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The cron expression (KFP's 6-field dialect), when it has a cron trigger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The period in seconds, when it has a periodic trigger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u64>,
    /// v2 `mode: ENABLE`, v1 `enabled`.
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_name: Option<String>,
    /// The next fire time (computed by kfpx from the cron and now; RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run_at: Option<String>,
}

impl RecurringRun {
    pub fn new(id: String, name: String) -> RecurringRun {
        RecurringRun {
            id,
            name,
            created_at: None,
            cron: None,
            interval_seconds: None,
            enabled: false,
            experiment_id: None,
            pipeline_id: None,
            version_id: None,
            pipeline_name: None,
            next_run_at: None,
        }
    }
}

/// What a run or recurring run executes.
#[derive(Debug, Clone)]
pub enum RunSource<'a> {
    /// The compiled document inline (v2: PipelineSpec + optional PlatformSpec; v1: Workflow).
    Inline {
        pipeline_spec: &'a serde_json::Value,
        platform_spec: Option<&'a serde_json::Value>,
    },
    /// An uploaded pipeline version.
    Version {
        pipeline_id: &'a str,
        version_id: &'a str,
    },
}

/// Everything needed to create a run.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub experiment_id: &'a str,
    pub source: RunSource<'a>,
    /// Parameter values (typed JSON; v1 sends them as strings).
    pub parameters: &'a std::collections::BTreeMap<String, serde_json::Value>,
    pub service_account: Option<&'a str>,
}

/// Everything needed to create a cron recurring run.
#[derive(Debug, Clone)]
pub struct NewRecurringRun<'a> {
    pub run: NewRun<'a>,
    /// KFP's cron (6 fields, seconds first, or a descriptor), validated when parsed.
    pub cron: &'a crate::kfp::cronexpr::CronExpr,
    pub max_concurrency: u32,
    pub no_catchup: bool,
    /// RFC 3339, UTC.
    pub start_time: Option<&'a str>,
    pub end_time: Option<&'a str>,
    pub enabled: bool,
}

/// A parameter value as v1 sends it: strings verbatim, everything else as compact JSON.
pub fn param_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_states_map_to_one_set() {
        assert_eq!(RunState::parse("Succeeded"), RunState::Succeeded);
        assert_eq!(RunState::parse("SUCCEEDED"), RunState::Succeeded);
        assert_eq!(RunState::parse("Error"), RunState::Failed);
        assert_eq!(RunState::parse("Terminating"), RunState::Canceling);
        assert_eq!(RunState::parse(""), RunState::Pending);
        assert!(RunState::Failed.is_final());
        assert!(RunState::Canceled.is_final());
        assert!(!RunState::Canceling.is_final());
        assert!(!RunState::Running.is_final());
    }

    #[test]
    fn v1_parameter_values_are_strings() {
        assert_eq!(param_string(&serde_json::json!("s3://x")), "s3://x");
        assert_eq!(param_string(&serde_json::json!(0.5)), "0.5");
        assert_eq!(param_string(&serde_json::json!(true)), "true");
        assert_eq!(param_string(&serde_json::json!({"a": 1})), "{\"a\":1}");
    }
}
