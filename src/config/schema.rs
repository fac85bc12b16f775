//! The typed configuration (`conf/<env>/kubeflow.yaml`): every key of kedro-kubeflow 0.7.4 and
//! 0.11 with the same defaults, plus kfpx's own keys. Unknown keys are rejected
//! (`deny_unknown_fields`). Values with a syntax of their own are typed here, once
//! ([`Quantity`], [`GoDuration`], [`TolerationOperator`], [`TolerationEffect`]), so a bad one is
//! reported at its place when the config is typed; checks across fields live in `validate.rs`.
//!
//! Per-node maps (`resources`, `tolerations`, `affinity`, `retry_policy`, `extra_volumes`,
//! `node_selector`) are keyed by Kedro node name, sanitised name, or tag, with `__default__`
//! for the rest; the lookup is in `compile`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::units::{GoDuration, IsoDuration, Quantity, Timestamp};

/// Key of per-node maps that applies to every node without its own entry.
pub const DEFAULT_KEY: &str = "__default__";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// KFP endpoint, with scheme; for Dex setups it ends in `/pipeline`.
    pub host: String,
    pub run_config: RunConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Image for every step; `-i` overrides.
    pub image: String,
    #[serde(default)]
    pub image_pull_policy: PullPolicy,
    /// Unused legacy key of kedro-kubeflow, accepted for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    pub experiment_name: String,
    /// `str.format`-style template (`{param}`) filled from the run's params.
    pub run_name: String,
    /// Name of the recurring run; `run_name` when the key is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_run_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub wait_for_completion: bool,
    /// Seconds a finished run's pods and workflow are kept.
    #[serde(default = "default_ttl")]
    pub ttl: u64,
    /// Kedro pipeline run by the exit handler, whatever the run's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_exit_pipeline: Option<String>,
    /// ISO-8601 duration; `P0D` turns caching off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cache_staleness: Option<IsoDuration>,
    #[serde(default = "yes")]
    pub store_kedro_outputs_as_kfp_artifacts: bool,
    #[serde(default)]
    pub node_merge_strategy: MergeStrategy,
    /// Tag prefix of the `tags` strategy (`group.<name>`; kedro-vertexai's `group:` also works
    /// when set here).
    #[serde(default = "default_group_tag_prefix")]
    pub group_tag_prefix: String,
    /// A PVC shared by the steps, mounted at /home/kedro/data. Absent: no volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeConfig>,
    /// Per node: resource name → quantity (`cpu`, `memory`, `nvidia.com/gpu`, …), used as both
    /// requests and limits. A user `__default__` replaces the built-in one.
    #[serde(default = "default_resources")]
    pub resources: BTreeMap<String, BTreeMap<String, Quantity>>,
    /// Per node: the node's list replaces `__default__`'s.
    #[serde(default)]
    pub tolerations: BTreeMap<String, Vec<Toleration>>,
    /// Per node: `node_affinity` / `pod_affinity` / `pod_anti_affinity` (snake_case first level,
    /// Kubernetes camelCase below, as kedro-kubeflow), or camelCase throughout.
    #[serde(default)]
    pub affinity: BTreeMap<String, serde_json::Value>,
    /// Per node; `__default__` fields fill the node's missing ones. `null`: no retry.
    #[serde(default)]
    pub retry_policy: BTreeMap<String, Option<RetryPolicy>>,
    /// Per node: the node's list replaces `__default__`'s.
    #[serde(default)]
    pub extra_volumes: BTreeMap<String, Vec<ExtraVolume>>,

    // ---- kfpx keys -------------------------------------------------------------------------
    /// 2: KFP v2 IR and /apis/v2beta1; 1: Argo Workflow and /apis/v1beta1.
    #[serde(default)]
    pub kfp_version: KfpVersion,
    /// Kubernetes namespace of experiments and runs (multi-user KFP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How the probe imports the pipeline code: `lite` (third-party packages stood in for,
    /// falling back to `full` by itself) or `full` (everything imported for real). Unset: lite.
    /// `--probe-mode` and `KFPX_PROBE_MODE` take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_mode: Option<ProbeMode>,
    /// Plain environment variables for every step.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment from Kubernetes secrets: secret name → keys (each key becomes a variable of
    /// the same name).
    #[serde(default)]
    pub secrets: BTreeMap<String, Vec<String>>,
    /// Per node: node labels the pod must be scheduled on.
    #[serde(default)]
    pub node_selector: BTreeMap<String, BTreeMap<String, String>>,
    /// Kubernetes service account of the pods (KFP's `pipeline-runner` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Names of secrets used to pull the image.
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    /// Labels on every pod.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations on every pod.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Recurring-run options used by `kfpx schedule`.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Start an MLflow run first and hand its id to every step as MLFLOW_RUN_ID.
    #[serde(default)]
    pub mlflow: MlflowConfig,
}

impl RunConfig {
    /// The recurring run's name template (`scheduled_run_name`, else `run_name`).
    pub fn scheduled_run_name(&self) -> &str {
        self.scheduled_run_name.as_deref().unwrap_or(&self.run_name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// How the probe imports the project's pipeline code (`probe_mode`, `--probe-mode`,
/// `KFPX_PROBE_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeMode {
    /// Third-party packages imported by the pipeline code are inert stand-ins; the probe falls
    /// back to [`ProbeMode::Full`] by itself whenever they could change the graph.
    #[default]
    Lite,
    /// Everything is imported for real.
    Full,
}

impl ProbeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeMode::Lite => "lite",
            ProbeMode::Full => "full",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeStrategy {
    /// One pod per node.
    None,
    /// One pod for the whole pipeline.
    Full,
    /// Connected components over MemoryDataset edges. The default: the same pods as `none`
    /// when no MemoryDataset links two nodes, and the only pods that work when one does (a
    /// MemoryDataset does not outlive its pod). kedro-kubeflow's default was `none`.
    #[default]
    Memory,
    /// `group.<name>` tags.
    Tags,
    /// Top-level namespace.
    Namespace,
}

impl MergeStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeStrategy::None => "none",
            MergeStrategy::Full => "full",
            MergeStrategy::Memory => "memory",
            MergeStrategy::Tags => "tags",
            MergeStrategy::Namespace => "namespace",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum KfpVersion {
    V1,
    #[default]
    V2,
}

impl TryFrom<u8> for KfpVersion {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(KfpVersion::V1),
            2 => Ok(KfpVersion::V2),
            other => Err(format!("kfp_version must be 1 or 2, not {other}")),
        }
    }
}

impl From<KfpVersion> for u8 {
    fn from(v: KfpVersion) -> u8 {
        match v {
            KfpVersion::V1 => 1,
            KfpVersion::V2 => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeConfig {
    #[serde(default)]
    pub storageclass: Option<String>,
    #[serde(default = "default_volume_size")]
    pub size: Quantity,
    #[serde(default = "default_access_modes")]
    pub access_modes: Vec<String>,
    /// Do not copy the image's /home/kedro/data into the fresh volume.
    #[serde(default)]
    pub skip_init: bool,
    /// Keep the volume after the run (otherwise the exit handler deletes it).
    #[serde(default)]
    pub keep: bool,
    /// runAsUser of the pods (0 by default, as kedro-kubeflow; `null`: not set).
    #[serde(default = "default_owner")]
    pub owner: Option<i64>,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        VolumeConfig {
            storageclass: None,
            size: default_volume_size(),
            access_modes: default_access_modes(),
            skip_init: false,
            keep: false,
            owner: Some(0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toleration {
    pub key: String,
    pub operator: TolerationOperator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: TolerationEffect,
}

/// Kubernetes `TolerationOperator` (k8s.io/api `core/v1/types.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

/// Kubernetes `TaintEffect`; `""` (`All`) matches every effect (k8s.io/api `core/v1/types.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TolerationEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
    All,
}

const OPERATORS: [(&str, TolerationOperator); 2] = [
    ("Equal", TolerationOperator::Equal),
    ("Exists", TolerationOperator::Exists),
];

const EFFECTS: [(&str, TolerationEffect); 4] = [
    ("NoSchedule", TolerationEffect::NoSchedule),
    ("PreferNoSchedule", TolerationEffect::PreferNoSchedule),
    ("NoExecute", TolerationEffect::NoExecute),
    ("", TolerationEffect::All),
];

impl TolerationOperator {
    pub fn as_str(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("", |(s, _)| s)
    }
}

impl TolerationEffect {
    pub fn as_str(self) -> &'static str {
        EFFECTS
            .iter()
            .find(|(_, e)| *e == self)
            .map_or("", |(s, _)| s)
    }
}

/// One of `table`'s words, or the message `refuse` builds for `got` (with a did-you-mean).
fn one_of<T: Copy>(
    got: &str,
    table: &[(&'static str, T)],
    refuse: impl Fn(&str) -> String,
) -> Result<T, String> {
    if let Some((_, v)) = table.iter().find(|(s, _)| *s == got) {
        return Ok(*v);
    }
    let words: Vec<&str> = table.iter().map(|(s, _)| *s).collect();
    let mut msg = refuse(got);
    if let Some(b) = crate::text::did_you_mean(got, words) {
        msg.push_str(&format!(" (did you mean `{b}`?)"));
    }
    Err(msg)
}

impl<'de> Deserialize<'de> for TolerationOperator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        one_of(&s, &OPERATORS, |s| {
            format!("operator `{s}` is not Equal or Exists")
        })
        .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for TolerationEffect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        one_of(&s, &EFFECTS, |s| {
            format!(
                "effect `{s}` is not one of NoSchedule, PreferNoSchedule, NoExecute or \"\" (all effects)"
            )
        })
        .map_err(serde::de::Error::custom)
    }
}

impl Serialize for TolerationOperator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for TolerationEffect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Missing fields are filled from `__default__`; after that, all three are required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_retries: Option<u32>,
    /// Duration like `60s`, `5m`, `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_duration: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_factor: Option<f64>,
    /// kfpx: cap on the backoff (duration), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_max_duration: Option<GoDuration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraVolume {
    pub mount_path: String,
    /// A V1Volume: `name` plus one source (`empty_dir`, `config_map`, `secret`,
    /// `persistent_volume_claim`, …), each in kedro-kubeflow's `{cls, params}` form or plain
    /// Kubernetes form (snake_case or camelCase).
    pub volume: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    #[serde(default = "one")]
    pub max_concurrency: u32,
    /// Do not backfill missed runs.
    #[serde(default)]
    pub no_catchup: bool,
    /// RFC 3339 start of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// RFC 3339 end of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// Create the recurring run enabled (KFP's own default is disabled).
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            max_concurrency: 1,
            no_catchup: false,
            start_time: None,
            end_time: None,
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlflowConfig {
    #[serde(default)]
    pub enabled: bool,
}

fn default_ttl() -> u64 {
    604_800
}
fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn default_group_tag_prefix() -> String {
    "group.".into()
}
fn default_owner() -> Option<i64> {
    Some(0)
}
fn default_volume_size() -> Quantity {
    Quantity::Str("1Gi".into())
}
fn default_access_modes() -> Vec<String> {
    vec!["ReadWriteOnce".into()]
}

/// kedro-kubeflow's built-in `{__default__: {cpu: 500m, memory: 1024Mi}}`.
pub fn default_resources() -> BTreeMap<String, BTreeMap<String, Quantity>> {
    let mut d = BTreeMap::new();
    d.insert("cpu".to_string(), Quantity::Str("500m".into()));
    d.insert("memory".to_string(), Quantity::Str("1024Mi".into()));
    let mut m = BTreeMap::new();
    m.insert(DEFAULT_KEY.to_string(), d);
    m
}
