//! The Argo Workflow document as types: the subset of Argo Workflows' v1alpha1 schema that the
//! KFP v1 compiler emits (argoproj/argo-workflows `pkg/apis/workflow/v1alpha1/workflow_types.go`:
//! `Workflow`, `WorkflowSpec`, `Template`, `DAGTemplate`, `DAGTask`, `Arguments`, `Inputs`,
//! `Outputs`, `Parameter`, `ValueFrom`, `Artifact`, `ResourceTemplate`, `RetryStrategy`,
//! `Backoff`, `TTLStrategy`, `Metadata`; the pod parts are Kubernetes' core/v1 types), and KFP's
//! labels and annotations as the kfp 1.8 SDK writes them
//! (kubeflow/pipelines `sdk/python/kfp/compiler/compiler.py`, `_op_to_template.py`).
//!
//! Field order is key order in the output (serde_json keeps insertion order): KFP's SDK writes
//! keys sorted, and so do these structs, except where kfpx's existing output differs (noted
//! on the field); version names are hashes of the text, so the order must not change.
//! Values borrow from the model: rendering copies each string once, into the JSON value.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Toleration;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow<'a> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: WorkflowMeta<'a>,
    pub spec: WorkflowSpec<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowMeta<'a> {
    pub annotations: WorkflowAnnotations<'a>,
    pub generate_name: String,
    pub labels: SdkLabel<'a>,
}

/// As the kfp 1.8 SDK annotates a workflow (kubeflow/pipelines `sdk/python/kfp/compiler/compiler.py`).
#[derive(Serialize)]
pub struct WorkflowAnnotations<'a> {
    #[serde(rename = "pipelines.kubeflow.org/kfp_sdk_version")]
    pub sdk_version: &'a str,
    /// A [`PipelineSpecSummary`] as JSON text.
    #[serde(rename = "pipelines.kubeflow.org/pipeline_spec")]
    pub pipeline_spec: String,
}

#[derive(Serialize)]
pub struct SdkLabel<'a> {
    #[serde(rename = "pipelines.kubeflow.org/kfp_sdk_version")]
    pub sdk_version: &'a str,
}

/// The `pipeline_spec` annotation: the pipeline's name, description and inputs.
#[derive(Serialize)]
pub struct PipelineSpecSummary<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<SpecInput<'a>>,
    pub name: &'a str,
}

#[derive(Serialize)]
pub struct SpecInput<'a> {
    pub default: String,
    pub name: &'a str,
    pub optional: bool,
    /// The kfp 1.8 type name (`String`, `Integer`, `Float`, `Bool`, `JsonArray`, `JsonObject`).
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments<'a>>,
    pub entrypoint: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_exit: Option<&'a str>,
    pub service_account_name: &'a str,
    pub templates: Vec<Template<'a>>,
    pub ttl_strategy: TtlStrategy,
}

#[derive(Serialize)]
pub struct LocalObjectReference<'a> {
    pub name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TtlStrategy {
    pub seconds_after_completion: u64,
}

#[derive(Serialize)]
pub struct Arguments<'a> {
    pub parameters: Vec<Parameter<'a>>,
}

#[derive(Serialize)]
pub struct Inputs<'a> {
    pub parameters: Vec<Parameter<'a>>,
}

#[derive(Serialize)]
pub struct Outputs<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact<'a>>,
}

impl Outputs<'_> {
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty() && self.artifacts.is_empty()
    }
}

/// An input (name only), an argument (name and value) or an output (name and where its value
/// comes from).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter<'a> {
    /// Exports an output as `{{workflow.outputs.parameters.<globalName>}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_name: Option<&'a str>,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom<'a>>,
}

impl<'a> Parameter<'a> {
    pub fn input(name: &'a str) -> Self {
        Parameter {
            global_name: None,
            name,
            value: None,
            value_from: None,
        }
    }

    pub fn arg(name: &'a str, value: String) -> Self {
        Parameter {
            value: Some(value),
            ..Parameter::input(name)
        }
    }

    pub fn output(name: &'a str, from: ValueFrom<'a>) -> Self {
        Parameter {
            value_from: Some(from),
            ..Parameter::input(name)
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueFrom<'a> {
    /// Of a resource template's object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_path: Option<&'a str>,
    /// A file in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
}

#[derive(Serialize)]
pub struct Artifact<'a> {
    pub name: &'a str,
    pub path: &'a str,
}

/// One template: Argo's `Template` holds exactly one of `container`, `dag`, `resource`, … .
#[derive(Serialize)]
#[serde(untagged)]
pub enum Template<'a> {
    Container(Box<ContainerTemplate<'a>>),
    /// The entrypoint DAG; kfpx writes its `name` before `dag`.
    Entry(EntryTemplate<'a>),
    Dag(DagTemplate<'a>),
    Resource(ResourceTemplate<'a>),
}

#[derive(Serialize)]
pub struct EntryTemplate<'a> {
    pub name: &'a str,
    pub dag: Dag<'a>,
}

#[derive(Serialize)]
pub struct DagTemplate<'a> {
    pub dag: Dag<'a>,
    pub name: &'a str,
}

#[derive(Serialize)]
pub struct Dag<'a> {
    pub tasks: Vec<DagTask<'a>>,
}

#[derive(Serialize)]
pub struct DagTask<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<&'a str>,
    pub name: &'a str,
    pub template: &'a str,
    /// An enhanced-depends expression (argo-workflows docs/enhanced-depends-logic.md); kfpx
    /// writes it last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends: Option<String>,
}

impl<'a> DagTask<'a> {
    /// A task running the template of its own name.
    pub fn named(name: &'a str) -> Self {
        DagTask {
            arguments: None,
            dependencies: Vec::new(),
            name,
            template: name,
            depends: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerTemplate<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<&'a Map<String, Value>>,
    pub container: Container<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Inputs<'a>>,
    pub metadata: TemplateMeta<'a>,
    pub name: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Outputs::is_empty")]
    pub outputs: Outputs<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tolerations: &'a [Toleration],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume<'a>>,
}

/// A template's pod metadata: KFP's caching labels and annotations, and the user's.
#[derive(Serialize)]
pub struct TemplateMeta<'a> {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<&'a str, &'a str>,
    pub labels: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Inputs<'a>>,
    pub metadata: TemplateMeta<'a>,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Outputs::is_empty")]
    pub outputs: Outputs<'a>,
    pub resource: Resource,
}

#[derive(Serialize)]
pub struct Resource {
    /// `create`, `delete`, … (kubectl's verb).
    pub action: &'static str,
    /// The object as YAML text.
    pub manifest: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy<'a> {
    pub backoff: Backoff<'a>,
    pub limit: u32,
    pub retry_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff<'a> {
    pub duration: &'a str,
    pub factor: IntOrString,
    pub max_duration: &'a str,
}

/// Kubernetes' `intstr.IntOrString`: Argo's `Backoff.factor` takes a whole number as an
/// integer and any other as a string.
#[derive(Serialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    pub run_as_user: i64,
}

// ---- Kubernetes core/v1 ------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar<'a>>,
    pub image: &'a str,
    pub image_pull_policy: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource<'a> {
    pub secret_key_ref: SecretKeySelector<'a>,
}

#[derive(Serialize)]
pub struct SecretKeySelector<'a> {
    pub key: &'a str,
    pub name: &'a str,
}

/// Requests and limits (kfpx sets both to the same quantities).
#[derive(Serialize)]
pub struct Resources<'a> {
    pub limits: ResourceList<'a>,
    pub requests: ResourceList<'a>,
}

/// (resource name, quantity) pairs written as a mapping in their order.
#[derive(Clone, Copy)]
pub struct ResourceList<'a>(pub &'a [(String, String)]);

impl Serialize for ResourceList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount<'a> {
    pub mount_path: &'a str,
    pub name: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum Volume<'a> {
    /// The data volume: a claim named at run time.
    Claim(ClaimVolume<'a>),
    /// A `run_config.extra_volumes` entry.
    Extra(ExtraVolume<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimVolume<'a> {
    pub name: &'a str,
    pub persistent_volume_claim: ClaimSource,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSource {
    pub claim_name: String,
}

/// A volume from the config: its one source (as the config gives it, in Kubernetes form),
/// written before the name.
#[derive(Serialize)]
pub struct ExtraVolume<'a> {
    #[serde(flatten)]
    pub source: VolumeSource<'a>,
    pub name: &'a str,
}

/// `(kind, source)`, such as `("emptyDir", {medium: Memory})`: one key of Kubernetes'
/// `VolumeSource`.
pub struct VolumeSource<'a>(pub &'a str, pub &'a Value);

impl Serialize for VolumeSource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

/// The data volume's `PersistentVolumeClaim`, the manifest of the create step.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim<'a> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectName,
    pub spec: PvcSpec<'a>,
}

#[derive(Serialize)]
pub struct ObjectName {
    pub name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcSpec<'a> {
    pub access_modes: &'a [String],
    pub resources: StorageRequest<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<&'a str>,
}

#[derive(Serialize)]
pub struct StorageRequest<'a> {
    pub requests: Storage<'a>,
}

#[derive(Serialize)]
pub struct Storage<'a> {
    pub storage: &'a str,
}
