//! The KFP v2 IR documents kfpx writes, as typed structs: a key typo is a compile error, not a
//! field the backend silently ignores.
//!
//! Messages and field names follow the SDK's protos, in their proto3 JSON (camelCase) form:
//! kubeflow/pipelines api/v2alpha1/pipeline_spec.proto (`PipelineSpec` and what it holds) and
//! kubernetes_platform/proto/kubernetes_executor_config.proto (`KubernetesExecutorConfig`, the
//! per-executor part of the `PlatformSpec`). Only the fields kfpx emits are declared.
//!
//! Fields are declared in the order kfpx writes them (alphabetical, as the SDK writes its YAML):
//! serde_json keeps insertion order (`preserve_order`), and the file must not change, since
//! version names are hashes of it. Strings are borrowed from the task model where they can be:
//! the document is turned into a `serde_json::Value` once (`serde_json::to_value`), which copies
//! them.
//!
//! The parts that decide whether two node tasks can share one component (its input
//! definitions, container and Kubernetes config) derive `Hash` and `Eq`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::Value;

fn is_false(b: &bool) -> bool {
    !*b
}

/// `ParameterType.ParameterTypeEnum` values kfpx writes besides `params::kfp_type`'s.
pub const STRING: &str = "STRING";
pub const LIST: &str = "LIST";
pub const STRUCT: &str = "STRUCT";
pub const TASK_FINAL_STATUS: &str = "TASK_FINAL_STATUS";

/// `PipelineSpec` (pipeline_spec.proto); `deploymentSpec` is `PipelineDeploymentConfig`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec<'a> {
    pub components: BTreeMap<String, ComponentSpec<'a>>,
    pub deployment_spec: DeploymentSpec<'a>,
    pub pipeline_info: PipelineInfo<'a>,
    pub root: ComponentSpec<'a>,
    pub schema_version: &'static str,
    pub sdk_version: &'a str,
}

/// `PipelineDeploymentConfig`: executor label → executor.
#[derive(Serialize)]
pub struct DeploymentSpec<'a> {
    pub executors: BTreeMap<String, ExecutorSpec<'a>>,
}

/// `PipelineDeploymentConfig.ExecutorSpec` (the `container` case of its oneof).
#[derive(Serialize)]
pub struct ExecutorSpec<'a> {
    pub container: PipelineContainerSpec<'a>,
}

/// `PipelineDeploymentConfig.PipelineContainerSpec`.
#[derive(Serialize, PartialEq, Eq, Hash)]
pub struct PipelineContainerSpec<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// None only for the `argostub/*` executors (the backend replaces them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar<'a>>,
    pub image: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceSpec<'a>>,
}

/// `PipelineContainerSpec.EnvVar`.
#[derive(Serialize, PartialEq, Eq, Hash)]
pub struct EnvVar<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// `PipelineContainerSpec.ResourceSpec` (the string fields, each request equal to its limit).
#[derive(Serialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<AcceleratorConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_cpu_limit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_cpu_request: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_memory_limit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_memory_request: Option<&'a str>,
}

/// `ResourceSpec.AcceleratorConfig`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct AcceleratorConfig<'a> {
    pub resource_count: &'a str,
    pub resource_type: &'a str,
}

/// `PipelineInfo`.
#[derive(Serialize)]
pub struct PipelineInfo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub name: &'a str,
}

/// `ComponentSpec`: `dag` or `executorLabel` (the proto's `implementation` oneof).
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dag: Option<DagSpec<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_definitions: Option<ComponentInputsSpec<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_definitions: Option<ComponentOutputsSpec>,
}

/// `ComponentInputsSpec` (parameters only).
#[derive(Serialize, PartialEq, Eq, Hash, Default)]
pub struct ComponentInputsSpec<'a> {
    pub parameters: BTreeMap<Cow<'a, str>, ParameterSpec<'a>>,
}

/// `ComponentInputsSpec.ParameterSpec`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_value: Option<&'a Value>,
    #[serde(skip_serializing_if = "is_false")]
    pub is_optional: bool,
    pub parameter_type: &'static str,
}

impl ParameterSpec<'_> {
    pub fn of(parameter_type: &'static str) -> Self {
        ParameterSpec {
            default_value: None,
            is_optional: false,
            parameter_type,
        }
    }
}

/// `ComponentOutputsSpec` (parameters only).
#[derive(Serialize)]
pub struct ComponentOutputsSpec {
    pub parameters: BTreeMap<&'static str, OutputParameterSpec>,
}

/// `ComponentOutputsSpec.ParameterSpec`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputParameterSpec {
    pub parameter_type: &'static str,
}

/// `DagSpec`: task name → task.
#[derive(Serialize)]
pub struct DagSpec<'a> {
    pub tasks: BTreeMap<&'a str, PipelineTaskSpec<'a>>,
}

/// `PipelineTaskSpec`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineTaskSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caching_options: Option<CachingOptions>,
    pub component_ref: ComponentRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependent_tasks: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<TaskInputsSpec<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    pub task_info: PipelineTaskInfo<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_policy: Option<TriggerPolicy>,
    /// Set only on the root `on-exit` task (the exit handler's exit task), whose
    /// `dependentTasks` and `triggerPolicy` kfpx has always written after `taskInfo`: kept there
    /// so the file, and the version name hashed from it, stay the same.
    #[serde(flatten)]
    pub exit_of: Option<ExitOf>,
}

/// The trailing `dependentTasks` + `triggerPolicy` of the root exit task.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitOf {
    pub dependent_tasks: [&'static str; 1],
    pub trigger_policy: TriggerPolicy,
}

/// `PipelineTaskSpec.CachingOptions` (`{}`: caching off).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CachingOptions {
    #[serde(skip_serializing_if = "is_false")]
    pub enable_cache: bool,
}

impl CachingOptions {
    pub const OFF: CachingOptions = CachingOptions {
        enable_cache: false,
    };
}

/// `ComponentRef`.
#[derive(Serialize)]
pub struct ComponentRef {
    pub name: String,
}

/// `PipelineTaskInfo`.
#[derive(Serialize)]
pub struct PipelineTaskInfo<'a> {
    pub name: &'a str,
}

/// `PipelineTaskSpec.RetryPolicy` (durations as protobuf Duration JSON, `"60s"`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    pub backoff_duration: String,
    pub backoff_factor: f64,
    pub backoff_max_duration: String,
    pub max_retry_count: u32,
}

/// `PipelineTaskSpec.TriggerPolicy`.
#[derive(Serialize)]
pub struct TriggerPolicy {
    pub strategy: TriggerStrategy,
}

impl TriggerPolicy {
    pub const ALL_COMPLETED: TriggerPolicy = TriggerPolicy {
        strategy: TriggerStrategy::ALL_UPSTREAM_TASKS_COMPLETED,
    };
}

/// `PipelineTaskSpec.TriggerPolicy.TriggerStrategy` (the one value kfpx writes).
#[derive(Serialize)]
#[allow(non_camel_case_types)]
pub enum TriggerStrategy {
    ALL_UPSTREAM_TASKS_COMPLETED,
}

/// `TaskInputsSpec` (parameters only).
#[derive(Serialize, Default)]
pub struct TaskInputsSpec<'a> {
    pub parameters: BTreeMap<Cow<'a, str>, InputParameterSpec<'a>>,
}

/// `TaskInputsSpec.InputParameterSpec`: its `kind` oneof.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum InputParameterSpec<'a> {
    ComponentInputParameter(Cow<'a, str>),
    RuntimeValue(ValueOrRuntimeParameter<'a>),
    TaskOutputParameter(TaskOutputParameterSpec),
    TaskFinalStatus(TaskFinalStatus),
}

impl<'a> InputParameterSpec<'a> {
    /// `{runtimeValue: {constant: …}}`.
    pub fn constant(c: Constant<'a>) -> Self {
        InputParameterSpec::RuntimeValue(ValueOrRuntimeParameter { constant: c })
    }

    pub fn constant_str(s: impl Into<Cow<'a, str>>) -> Self {
        Self::constant(Constant::Str(s.into()))
    }
}

/// `ValueOrRuntimeParameter` (the `constant` case).
#[derive(Serialize, PartialEq, Eq, Hash)]
pub struct ValueOrRuntimeParameter<'a> {
    pub constant: Constant<'a>,
}

/// A `google.protobuf.Value` constant.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(untagged)]
pub enum Constant<'a> {
    Str(Cow<'a, str>),
    List(&'a [String]),
    Json(Json<'a>),
}

/// `InputParameterSpec.TaskOutputParameterSpec`. kfpx writes the data volume's references with
/// sorted keys (as the SDK's YAML) and the MLflow run id in the proto's field order; both forms
/// are kept so the file does not change.
#[derive(PartialEq, Eq, Hash)]
pub struct TaskOutputParameterSpec {
    pub producer_task: &'static str,
    pub output_parameter_key: &'static str,
    pub sorted_keys: bool,
}

impl Serialize for TaskOutputParameterSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("TaskOutputParameterSpec", 2)?;
        if self.sorted_keys {
            st.serialize_field("outputParameterKey", self.output_parameter_key)?;
            st.serialize_field("producerTask", self.producer_task)?;
        } else {
            st.serialize_field("producerTask", self.producer_task)?;
            st.serialize_field("outputParameterKey", self.output_parameter_key)?;
        }
        st.end()
    }
}

/// `InputParameterSpec.TaskFinalStatus`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct TaskFinalStatus {
    pub producer_task: &'static str,
}

/// `PlatformSpec` (pipeline_spec.proto) with its one platform, `kubernetes`.
#[derive(Serialize)]
pub struct PlatformSpec<'a> {
    pub platforms: Platforms<'a>,
}

#[derive(Serialize)]
pub struct Platforms<'a> {
    pub kubernetes: SinglePlatformSpec<'a>,
}

/// `SinglePlatformSpec`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SinglePlatformSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_spec: Option<PlatformDeploymentConfig<'a>>,
    pub pipeline_config: PipelineConfig,
}

/// `PlatformDeploymentConfig`: executor label → its Kubernetes config.
#[derive(Serialize)]
pub struct PlatformDeploymentConfig<'a> {
    pub executors: BTreeMap<String, KubernetesExecutorConfig<'a>>,
}

/// `PipelineConfig` (`resource_ttl_on_completion`, seconds).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineConfig {
    pub resource_ttl_on_completion: u64,
}

/// `KubernetesExecutorConfig` (kubernetes_executor_config.proto).
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesExecutorConfig<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_map_as_volume: Vec<ConfigMapAsVolume<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub empty_dir_mounts: Vec<EmptyDirMount<'a>>,
    pub image_pull_policy: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secret: Vec<ImagePullSecret<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub node_affinity: Vec<NodeAffinityTerm<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<NodeSelector<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pod_affinity: Vec<PodAffinityTerm<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_metadata: Option<PodMetadata<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pvc_mount: Vec<PvcMount<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_as_env: Vec<SecretAsEnv<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_as_volume: Vec<SecretAsVolume<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration<'a>>,
}

/// `ConfigMapAsVolume`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapAsVolume<'a> {
    pub config_map_name: &'a str,
    pub config_map_name_parameter: InputParameterSpec<'a>,
    pub mount_path: &'a str,
    pub optional: bool,
}

/// `EmptyDirMount`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirMount<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<&'a str>,
    pub mount_path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<String>,
    pub volume_name: &'a str,
}

/// `ImagePullSecret`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct ImagePullSecret<'a> {
    pub secret_name: &'a str,
    pub secret_name_parameter: InputParameterSpec<'a>,
}

/// `NodeAffinityTerm` (the `node_affinity_json` form).
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct NodeAffinityTerm<'a> {
    pub node_affinity_json: InputParameterSpec<'a>,
}

/// `NodeSelector` (the `labels` form).
#[derive(Serialize, PartialEq, Eq, Hash)]
pub struct NodeSelector<'a> {
    pub labels: &'a BTreeMap<String, String>,
}

/// `PodAffinityTerm`; the selector parts are the Kubernetes values as the config gives them.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct PodAffinityTerm<'a> {
    #[serde(skip_serializing_if = "is_false")]
    pub anti: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_namespace_expressions: Option<Json<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_namespace_labels: Option<Json<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_pod_expressions: Option<Json<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_pod_labels: Option<Json<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Json<'a>>,
    pub topology_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<Json<'a>>,
}

/// `PodMetadata`.
#[derive(Serialize, PartialEq, Eq, Hash)]
pub struct PodMetadata<'a> {
    #[serde(skip_serializing_if = "no_entries")]
    pub annotations: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "no_entries")]
    pub labels: &'a BTreeMap<String, String>,
}

fn no_entries(m: &&BTreeMap<String, String>) -> bool {
    m.is_empty()
}

/// `PvcMount`: the deprecated `pvc_reference` oneof (still written, as kfp-kubernetes does)
/// and `pvcNameParameter`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct PvcMount<'a> {
    #[serde(flatten)]
    pub reference: PvcReference<'a>,
    pub mount_path: &'a str,
    pub pvc_name_parameter: InputParameterSpec<'a>,
}

/// `PvcMount.pvc_reference`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum PvcReference<'a> {
    TaskOutputParameter(TaskOutputParameterSpec),
    Constant(&'a str),
    ComponentInputParameter(&'static str),
}

/// `SecretAsEnv`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SecretAsEnv<'a> {
    pub key_to_env: Vec<SecretKeyToEnvMap<'a>>,
    pub optional: bool,
    pub secret_name: &'a str,
    pub secret_name_parameter: InputParameterSpec<'a>,
}

/// `SecretAsEnv.SecretKeyToEnvMap`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyToEnvMap<'a> {
    pub env_var: &'a str,
    pub secret_key: &'a str,
}

/// `SecretAsVolume`.
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SecretAsVolume<'a> {
    pub mount_path: &'a str,
    pub optional: bool,
    pub secret_name: &'a str,
    pub secret_name_parameter: InputParameterSpec<'a>,
}

/// `SecurityContext` (`run_as_user` is an int64: a string in proto3 JSON).
#[derive(Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    pub run_as_user: String,
}

/// `Toleration`.
#[derive(Serialize, PartialEq, Eq, Hash)]
pub struct Toleration<'a> {
    pub effect: &'a str,
    pub key: &'a str,
    pub operator: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'a str>,
}

/// A JSON value borrowed from the task model (a Kubernetes value given in the config), equal
/// and hashed in its key order: two mappings with the same entries in another order are
/// written differently, so they are different parts.
#[derive(Clone, Copy)]
pub struct Json<'a>(pub &'a Value);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl PartialEq for Json<'_> {
    fn eq(&self, other: &Self) -> bool {
        same_in_order(self.0, other.0)
    }
}

impl Eq for Json<'_> {}

impl Hash for Json<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        hash_in_order(self.0, h);
    }
}

fn same_in_order(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_in_order(va, vb))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_in_order(x, y))
        }
        _ => a == b,
    }
}

fn hash_in_order<H: Hasher>(v: &Value, h: &mut H) {
    match v {
        Value::Array(a) => {
            h.write_u8(5);
            h.write_usize(a.len());
            for x in a {
                hash_in_order(x, h);
            }
        }
        Value::Object(m) => {
            h.write_u8(6);
            h.write_usize(m.len());
            for (k, x) in m {
                k.hash(h);
                hash_in_order(x, h);
            }
        }
        scalar => scalar.hash(h),
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use serde_json::json;

    use super::*;

    /// Two node tasks share a component only when its parts would be written the same: a
    /// Kubernetes value with the same entries in another key order is a different part
    /// (serde_json's own equality ignores the order).
    #[test]
    fn json_parts_are_the_same_only_in_the_same_key_order() {
        let a = json!({"x": 1, "y": [1, {"p": 1, "q": "2"}]});
        let same = json!({"x": 1, "y": [1, {"p": 1, "q": "2"}]});
        let swapped = json!({"y": [1, {"p": 1, "q": "2"}], "x": 1});
        let nested = json!({"x": 1, "y": [1, {"q": "2", "p": 1}]});
        let other = json!({"x": 1, "y": [1, {"p": 1, "q": "3"}]});
        assert_eq!(a, swapped);
        let h = std::collections::hash_map::RandomState::new();
        assert!(Json(&a) == Json(&same));
        assert_eq!(h.hash_one(Json(&a)), h.hash_one(Json(&same)));
        for b in [&swapped, &nested, &other] {
            assert!(Json(&a) != Json(b), "{b}");
        }
    }

    /// Both key orders of a task output reference, as kfpx has always written them.
    #[test]
    fn task_output_parameter_keeps_its_two_key_orders() {
        let spec = |sorted_keys| TaskOutputParameterSpec {
            producer_task: "t",
            output_parameter_key: "k",
            sorted_keys,
        };
        let text = |s| serde_json::to_string(&InputParameterSpec::TaskOutputParameter(s)).unwrap();
        assert_eq!(
            text(spec(true)),
            r#"{"taskOutputParameter":{"outputParameterKey":"k","producerTask":"t"}}"#
        );
        assert_eq!(
            text(spec(false)),
            r#"{"taskOutputParameter":{"producerTask":"t","outputParameterKey":"k"}}"#
        );
    }
}
