//! `/apis/v1beta1` (KFP 1.x, and the compatibility API of 2.x): the shapes kfp 1.8 sends
//! (kedro-kubeflow `kedro_kubeflow/kfpclient.py`, kfp 1.8 `sdk/python/kfp/_client.py`;
//! `backend/api/v1beta1/job.proto`), mapped onto `models`. Filters use `op`
//! (not `operation`), namespaces are resource references, parameters are strings.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kfp::client::{Body, Call, Client};
use crate::kfp::models::{
    param_string, Experiment, NewRecurringRun, NewRun, Pipeline, RecurringRun, Run, RunSource,
    RunState, Task, Version,
};
use crate::kfp::v2::{list_all, schedule_body, to_json, ScheduleBody, WireTrigger};
use crate::kfp::wire::{objects, read, Entries, Lenient, Listed};
use crate::kfp::KfpError;

/// `Filter` (backend/api/v1beta1/filter.proto: the operation is `op`) with one predicate.
#[derive(Serialize)]
struct FilterBody<'a> {
    predicates: [PredicateBody<'a>; 1],
}

#[derive(Serialize)]
struct PredicateBody<'a> {
    op: &'static str,
    key: &'a str,
    string_value: &'a str,
}

/// `{"predicates":[{"op":"EQUALS","key":<key>,"string_value":<value>}]}`.
pub fn filter_eq(key: &str, value: &str) -> String {
    to_json(FilterBody {
        predicates: [PredicateBody {
            op: "EQUALS",
            key,
            string_value: value,
        }],
    })
    .to_string()
}

/// `ResourceReference` (backend/api/v1beta1/resource_reference.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireReference {
    pub key: Lenient<WireResourceKey>,
}

/// `ResourceKey` (backend/api/v1beta1/resource_reference.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireResourceKey {
    #[serde(rename = "type")]
    pub kind: Lenient<String>,
    pub id: Lenient<String>,
}

type References = Lenient<Vec<Lenient<WireReference>>>;

/// `PipelineVersion` (backend/api/v1beta1/pipeline.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireVersion {
    pub id: Lenient<String>,
    pub name: Lenient<String>,
    pub created_at: Lenient<String>,
    pub parameters: Lenient<Vec<Lenient<WireParameter>>>,
}

/// `Parameter` (backend/api/v1beta1/parameter.proto): `value` is a string on the wire, kept as
/// whatever JSON the server sent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireParameter {
    pub name: Lenient<String>,
    pub value: Lenient<Value>,
}

/// `Pipeline` (backend/api/v1beta1/pipeline.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WirePipeline {
    pub id: Lenient<String>,
    pub name: Lenient<String>,
    pub created_at: Lenient<String>,
    pub resource_references: References,
    pub default_version: Lenient<WireVersion>,
}

/// `Experiment` (backend/api/v1beta1/experiment.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireExperiment {
    pub id: Lenient<String>,
    pub name: Lenient<String>,
    pub resource_references: References,
}

/// `PipelineSpec` (backend/api/v1beta1/pipeline_spec.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WirePipelineSpec {
    pub pipeline_id: Lenient<String>,
    pub pipeline_name: Lenient<String>,
    pub parameters: Lenient<Vec<Lenient<WireParameter>>>,
}

/// `PipelineRuntime` (backend/api/v1beta1/run.proto): the Argo Workflow as JSON text.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WirePipelineRuntime {
    pub workflow_manifest: Lenient<String>,
}

/// `Run` (backend/api/v1beta1/run.proto), which is also how a `RunDetail` `{run,
/// pipeline_runtime}` (the get and create answers) is read: list items are bare runs, the
/// other answers carry the run under `run`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireRun {
    pub id: Lenient<String>,
    pub name: Lenient<String>,
    pub status: Lenient<String>,
    pub created_at: Lenient<String>,
    pub finished_at: Lenient<String>,
    pub description: Lenient<String>,
    pub error: Lenient<String>,
    pub storage_state: Lenient<String>,
    pub resource_references: References,
    pub pipeline_spec: Lenient<WirePipelineSpec>,
    /// `RunDetail.run`.
    pub run: Lenient<Box<WireRun>>,
    /// `RunDetail.pipeline_runtime`.
    pub pipeline_runtime: Lenient<WirePipelineRuntime>,
}

/// `Job` (backend/api/v1beta1/job.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireJob {
    pub id: Lenient<String>,
    pub name: Lenient<String>,
    pub created_at: Lenient<String>,
    pub trigger: Lenient<WireTrigger>,
    pub enabled: Lenient<bool>,
    pub resource_references: References,
    pub pipeline_spec: Lenient<WirePipelineSpec>,
}

/// The first page of `ListPipelineVersionsResponse` (backend/api/v1beta1/pipeline.proto), as
/// the latest-version lookup reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireVersionsFirst {
    pub versions: Lenient<Vec<Lenient<WireVersion>>>,
}

/// The part of an Argo Workflow (argoproj/argo-workflows `pkg/apis/workflow/v1alpha1`
/// `Workflow.status.nodes`) that run details read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireWorkflow {
    pub status: Lenient<WireWorkflowStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireWorkflowStatus {
    pub nodes: Lenient<Entries<WireNode>>,
}

/// An Argo `NodeStatus`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireNode {
    #[serde(rename = "type")]
    pub kind: Lenient<String>,
    #[serde(rename = "displayName")]
    pub display_name: Lenient<String>,
    pub phase: Lenient<String>,
    pub id: Lenient<String>,
    #[serde(rename = "startedAt")]
    pub started_at: Lenient<String>,
    #[serde(rename = "finishedAt")]
    pub finished_at: Lenient<String>,
    pub message: Lenient<String>,
}

objects!(
    WireReference,
    WireResourceKey,
    WireVersion,
    WireParameter,
    WirePipeline,
    WireExperiment,
    WirePipelineSpec,
    WirePipelineRuntime,
    WireRun,
    WireJob,
    WireVersionsFirst,
    WireWorkflow,
    WireWorkflowStatus,
    WireNode,
);

// The items keys of the `List…Response` messages (backend/api/v1beta1/*.proto).
impl Listed for WirePipeline {
    const KEYS: &'static [&'static str] = &["pipelines"];
}
impl Listed for WireVersion {
    const KEYS: &'static [&'static str] = &["versions"];
}
impl Listed for WireExperiment {
    const KEYS: &'static [&'static str] = &["experiments"];
}
impl Listed for WireRun {
    const KEYS: &'static [&'static str] = &["runs"];
}
impl Listed for WireJob {
    const KEYS: &'static [&'static str] = &["jobs"];
}

fn required_id(id: &Lenient<String>, what: &'static str) -> Result<String, KfpError> {
    id.text().ok_or(KfpError::MissingKey {
        at: None,
        what,
        key: "id",
        api: crate::config::KfpVersion::V1,
    })
}

/// The id of the first reference of type `ty` (`NAMESPACE`, `EXPERIMENT`, `PIPELINE_VERSION`,
/// …), empty or not.
fn reference<'a>(refs: &'a References, ty: &str) -> Option<&'a str> {
    refs.get()?
        .iter()
        .filter_map(Lenient::get)
        .filter_map(|r| r.key.get())
        .find(|k| k.kind.str() == Some(ty))
        .and_then(|k| k.id.str())
}

fn namespace_of(refs: &References) -> Option<String> {
    reference(refs, "NAMESPACE").map(str::to_string)
}

/// A non-empty reference id of type `ty`.
fn reference_id(refs: &References, ty: &str) -> Option<String> {
    reference(refs, ty)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn version(v: WireVersion) -> Result<Version, KfpError> {
    Ok(Version {
        id: required_id(&v.id, "a pipeline version")?,
        name: v.name.text().unwrap_or_default(),
        created_at: v.created_at.text(),
    })
}

pub fn pipeline(v: WirePipeline) -> Result<Pipeline, KfpError> {
    Ok(Pipeline {
        id: required_id(&v.id, "a pipeline")?,
        name: v.name.text().unwrap_or_default(),
        created_at: v.created_at.text(),
        namespace: namespace_of(&v.resource_references),
        latest_version: v
            .default_version
            .into_option()
            .and_then(|d| version(d).ok()),
    })
}

pub fn experiment(v: WireExperiment) -> Result<Experiment, KfpError> {
    Ok(Experiment {
        id: required_id(&v.id, "an experiment")?,
        name: v.name.text().unwrap_or_default(),
        namespace: namespace_of(&v.resource_references),
    })
}

/// A run from `{run, pipeline_runtime}` (get/create) or a bare run (list).
pub fn run(mut v: WireRun) -> Result<Run, KfpError> {
    let tasks = v
        .pipeline_runtime
        .get()
        .and_then(|p| p.workflow_manifest.str())
        .map(argo_tasks)
        .unwrap_or_default();
    let r = match std::mem::take(&mut v.run) {
        Lenient::Absent => v,
        inner => *inner.or_empty(),
    };
    let mut failed_tasks: Vec<String> = tasks
        .iter()
        .filter(|t| t.state == RunState::Failed)
        .map(|t| t.name.clone())
        .collect();
    failed_tasks.sort();
    failed_tasks.dedup();
    let mut out = Run::new(
        required_id(&r.id, "a run")?,
        r.name.text().unwrap_or_default(),
        RunState::parse(r.status.str().unwrap_or("")),
    );
    out.created_at = r.created_at.text();
    out.finished_at = crate::kfp::v2::time(&r.finished_at);
    out.description = r.description.text();
    out.error = r.error.text();
    out.failed_tasks = failed_tasks;
    out.tasks = tasks;
    out.experiment_id = reference_id(&r.resource_references, "EXPERIMENT");
    out.version_id = reference_id(&r.resource_references, "PIPELINE_VERSION");
    out.recurring_run_id = reference_id(&r.resource_references, "JOB");
    out.archived = r.storage_state.str() == Some("STORAGESTATE_ARCHIVED");
    if r.pipeline_spec.is_present() {
        let spec = r.pipeline_spec.or_empty();
        out.pipeline_id = spec
            .pipeline_id
            .text()
            .or_else(|| reference_id(&r.resource_references, "PIPELINE"));
        out.pipeline_name = spec.pipeline_name.text();
        if let Some(ps) = spec.parameters.into_option() {
            out.parameters = ps
                .into_iter()
                .filter_map(|p| {
                    let p = p.into_option()?;
                    Some((p.name.text()?, p.value.into_option()?))
                })
                .collect();
        }
    }
    Ok(out)
}

/// The pod nodes of an Argo workflow (JSON text) as tasks, by start time. A pod node's `id`
/// is its pod's name (Argo's v1 pod names, which KFP 1.x uses).
fn argo_tasks(manifest: &str) -> Vec<Task> {
    let Ok(wf) = serde_json::from_str::<Value>(manifest) else {
        return Vec::new();
    };
    let wf: WireWorkflow = read(wf);
    let nodes = wf
        .status
        .into_option()
        .and_then(|s| s.nodes.into_option())
        .unwrap_or_default();
    let mut tasks: Vec<Task> = nodes
        .0
        .into_iter()
        .filter_map(|(_, n)| n.into_option())
        .filter(|n| n.kind.str() == Some("Pod"))
        .filter_map(|n| {
            Some(Task {
                name: n.display_name.text()?,
                state: RunState::parse(n.phase.str().unwrap_or("")),
                pod_name: n.id.text(),
                started_at: n.started_at.text(),
                finished_at: n.finished_at.text(),
                error: n.message.text(),
            })
        })
        .collect();
    tasks.sort_by(|a, b| {
        (a.started_at.as_deref(), &a.name).cmp(&(b.started_at.as_deref(), &b.name))
    });
    tasks
}

pub fn job(v: WireJob) -> Result<RecurringRun, KfpError> {
    let mut r = RecurringRun::new(
        required_id(&v.id, "a recurring run")?,
        v.name.text().unwrap_or_default(),
    );
    r.created_at = v.created_at.text();
    crate::kfp::v2::read_trigger(&v.trigger, &mut r);
    r.enabled = v.enabled.get().copied().unwrap_or(false);
    r.experiment_id = reference_id(&v.resource_references, "EXPERIMENT");
    r.version_id = reference_id(&v.resource_references, "PIPELINE_VERSION");
    if v.pipeline_spec.is_present() {
        let spec = v.pipeline_spec.or_empty();
        r.pipeline_id = spec
            .pipeline_id
            .text()
            .or_else(|| reference_id(&v.resource_references, "PIPELINE"));
        r.pipeline_name = spec.pipeline_name.text();
    }
    Ok(r)
}

fn with_namespace(call: Call, namespace: Option<&str>) -> Call {
    match namespace {
        Some(ns) => call
            .query("resource_reference_key.type", "NAMESPACE")
            .query("resource_reference_key.id", ns),
        None => call,
    }
}

pub async fn list_pipelines(
    c: &Client,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<Pipeline>, KfpError> {
    let mut call = with_namespace(Call::get("/pipelines", "listing pipelines"), namespace);
    if let Some(n) = name {
        call = call.query("filter", filter_eq("name", n));
    }
    list_all(c, call).await?.into_iter().map(pipeline).collect()
}

/// Latest version of every pipeline, from the v1 list, which carries each pipeline's default
/// (= latest) version: one request per 200 pipelines instead of one per pipeline. On a 2.x
/// server this serves v2-mode listings too.
pub async fn latest_versions_by_list(
    c: &Client,
    namespace: Option<&str>,
) -> Result<std::collections::BTreeMap<String, Version>, KfpError> {
    let call = with_namespace(Call::get("/pipelines", "listing pipelines"), namespace)
        .on_api(crate::config::KfpVersion::V1);
    let all: Vec<WirePipeline> = list_all(c, call).await?;
    Ok(all
        .into_iter()
        .filter_map(|v| pipeline(v).ok())
        .filter_map(|p| p.latest_version.map(|v| (p.id, v)))
        .collect())
}

/// The pipeline named `name` (`-` = shared namespace); `None` on 404.
pub async fn pipeline_by_name(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
) -> Result<Option<Pipeline>, KfpError> {
    let call = Call::get(
        format!(
            "/namespaces/{}/pipelines/{}",
            crate::kfp::client::path_segment(namespace.unwrap_or("-")),
            crate::kfp::client::path_segment(name)
        ),
        format!("finding pipeline {name:?}"),
    );
    match c.call_as(call, |v| pipeline(read(v))).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

fn versions_call(pipeline_id: &str) -> Call {
    Call::get("/pipeline_versions", "listing pipeline versions")
        .query("resource_key.type", "PIPELINE")
        .query("resource_key.id", pipeline_id)
}

pub async fn latest_version(c: &Client, pipeline_id: &str) -> Result<Option<Version>, KfpError> {
    let call = versions_call(pipeline_id)
        .query("page_size", "1")
        .query("sort_by", "created_at desc");
    let v: WireVersionsFirst = read(c.call(call).await?);
    v.versions
        .into_option()
        .and_then(|vs| vs.into_iter().next())
        .map(|first| version(first.or_empty()))
        .transpose()
}

pub async fn find_version(
    c: &Client,
    pipeline_id: &str,
    name: &str,
) -> Result<Option<Version>, KfpError> {
    let call = versions_call(pipeline_id).query("filter", filter_eq("name", name));
    let all: Vec<WireVersion> = list_all(c, call).await?;
    Ok(all
        .into_iter()
        .filter_map(|v| version(v).ok())
        .find(|v| v.name == name))
}

fn upload_body(bytes: &[u8]) -> Body {
    Body::Upload {
        filename: "pipeline.yaml".into(),
        bytes: bytes.to_vec(),
    }
}

pub async fn upload_pipeline(
    c: &Client,
    name: &str,
    description: Option<&str>,
    namespace: Option<&str>,
    bytes: &[u8],
) -> Result<Pipeline, KfpError> {
    let call = Call::post("/pipelines/upload", upload_body(bytes), "the upload")
        .query("name", name)
        .query_opt("description", description)
        .query_opt("namespace", namespace);
    c.create(
        call,
        |v| pipeline(read(v)),
        || async {
            let found = list_pipelines(c, namespace, Some(name)).await?;
            Ok(found.into_iter().find(|p| p.name == name))
        },
    )
    .await
}

pub async fn upload_version(
    c: &Client,
    pipeline_id: &str,
    name: &str,
    description: Option<&str>,
    bytes: &[u8],
) -> Result<Version, KfpError> {
    let call = Call::post(
        "/pipelines/upload_version",
        upload_body(bytes),
        "the new pipeline version",
    )
    .query("name", name)
    .query("pipelineid", pipeline_id)
    .query_opt("description", description);
    c.create(
        call,
        |v| version(read(v)),
        || find_version(c, pipeline_id, name),
    )
    .await
}

pub async fn find_experiment(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
) -> Result<Option<Experiment>, KfpError> {
    let call = with_namespace(Call::get("/experiments", "listing experiments"), namespace)
        .query("filter", filter_eq("name", name));
    let all: Vec<WireExperiment> = list_all(c, call).await?;
    Ok(all
        .into_iter()
        .filter_map(|v| experiment(v).ok())
        .find(|e| e.name == name))
}

pub async fn create_experiment(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
) -> Result<Experiment, KfpError> {
    /// `Experiment` (backend/api/v1beta1/experiment.proto), as sent: its namespace is a
    /// reference.
    #[derive(Serialize)]
    struct ExperimentBody<'a> {
        name: &'a str,
        resource_references: Vec<ReferenceBody<'a>>,
    }
    let body = ExperimentBody {
        name,
        resource_references: namespace
            .map(|ns| vec![reference_body("NAMESPACE", ns, "OWNER")])
            .unwrap_or_default(),
    };
    let call = Call::post(
        "/experiments",
        Body::Json(to_json(body)),
        format!("creating experiment {name:?}"),
    );
    c.create(
        call,
        |v| experiment(read(v)),
        || find_experiment(c, name, namespace),
    )
    .await
}

/// `ResourceReference` (backend/api/v1beta1/resource_reference.proto), as sent.
#[derive(Debug, Serialize)]
struct ReferenceBody<'a> {
    key: ResourceKeyBody<'a>,
    relationship: &'static str,
}

/// `ResourceKey` (backend/api/v1beta1/resource_reference.proto), as sent.
#[derive(Debug, Serialize)]
struct ResourceKeyBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
}

fn reference_body<'a>(
    kind: &'static str,
    id: &'a str,
    relationship: &'static str,
) -> ReferenceBody<'a> {
    ReferenceBody {
        key: ResourceKeyBody { kind, id },
        relationship,
    }
}

/// `Parameter` (backend/api/v1beta1/parameter.proto), as sent: values are strings.
#[derive(Debug, Serialize)]
struct ParameterBody<'a> {
    name: &'a str,
    value: String,
}

/// `PipelineSpec` (backend/api/v1beta1/pipeline_spec.proto), as sent.
#[derive(Debug, Serialize)]
struct PipelineSpecBody<'a> {
    /// The Argo Workflow as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_manifest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parameters: Vec<ParameterBody<'a>>,
}

/// The fields a `Run` and a `Job` (backend/api/v1beta1/run.proto, job.proto) share, as sent.
#[derive(Debug, Serialize)]
struct RunBody<'a> {
    name: &'a str,
    pipeline_spec: PipelineSpecBody<'a>,
    resource_references: Vec<ReferenceBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account: Option<&'a str>,
}

fn run_body<'a>(r: &NewRun<'a>) -> RunBody<'a> {
    let mut refs = vec![reference_body("EXPERIMENT", r.experiment_id, "OWNER")];
    let mut spec = PipelineSpecBody {
        workflow_manifest: None,
        pipeline_id: None,
        parameters: r
            .parameters
            .iter()
            .map(|(k, v)| ParameterBody {
                name: k,
                value: param_string(v),
            })
            .collect(),
    };
    match r.source {
        RunSource::Inline { pipeline_spec, .. } => {
            spec.workflow_manifest = Some(pipeline_spec.to_string());
        }
        RunSource::Version {
            pipeline_id,
            version_id,
        } => {
            spec.pipeline_id = Some(pipeline_id);
            refs.push(reference_body("PIPELINE_VERSION", version_id, "CREATOR"));
        }
    }
    RunBody {
        name: r.name,
        pipeline_spec: spec,
        resource_references: refs,
        description: r.description,
        service_account: r.service_account,
    }
}

pub fn create_run_body(r: &NewRun) -> Value {
    to_json(run_body(r))
}

pub fn create_job_body(r: &NewRecurringRun) -> Value {
    #[derive(Serialize)]
    struct JobBody<'a> {
        #[serde(flatten)]
        run: RunBody<'a>,
        #[serde(flatten)]
        schedule: ScheduleBody<'a>,
        enabled: bool,
    }
    to_json(JobBody {
        run: run_body(&r.run),
        schedule: schedule_body(r),
        enabled: r.enabled,
    })
}

fn runs_in_experiment(call: Call, experiment_id: &str) -> Call {
    call.query("resource_reference_key.type", "EXPERIMENT")
        .query("resource_reference_key.id", experiment_id)
}

pub async fn find_runs(c: &Client, experiment_id: &str, name: &str) -> Result<Vec<Run>, KfpError> {
    let call = runs_in_experiment(Call::get("/runs", "listing runs"), experiment_id)
        .query("filter", filter_eq("name", name));
    list_all(c, call).await?.into_iter().map(run).collect()
}

pub async fn create_run(c: &Client, r: &NewRun<'_>) -> Result<Run, KfpError> {
    let call = Call::post(
        "/runs",
        Body::Json(create_run_body(r)),
        format!("the run {:?}", r.name),
    );
    c.create(
        call,
        |v| run(read(v)),
        || async {
            let runs = find_runs(c, r.experiment_id, r.name).await?;
            Ok(runs
                .into_iter()
                .find(|x| x.description.is_some() && x.description.as_deref() == r.description))
        },
    )
    .await
}

pub async fn get_run(c: &Client, id: &str) -> Result<Run, KfpError> {
    let call = Call::get(
        format!("/runs/{}", crate::kfp::client::path_segment(id)),
        format!("reading run {id}"),
    );
    c.call_as(call, |v| run(read(v))).await
}

pub async fn list_jobs(
    c: &Client,
    experiment_id: &str,
    name: &str,
) -> Result<Vec<RecurringRun>, KfpError> {
    let call = runs_in_experiment(Call::get("/jobs", "listing recurring runs"), experiment_id)
        .query("filter", filter_eq("name", name));
    let all: Vec<WireJob> = list_all(c, call).await?;
    Ok(all
        .into_iter()
        .filter_map(|v| job(v).ok())
        .filter(|j| j.name == name)
        .collect())
}

pub async fn create_job(
    c: &Client,
    r: &NewRecurringRun<'_>,
    existing: &[String],
) -> Result<RecurringRun, KfpError> {
    let call = Call::post(
        "/jobs",
        Body::Json(create_job_body(r)),
        format!("the recurring run {:?}", r.run.name),
    );
    c.create(
        call,
        |v| job(read(v)),
        || async {
            let now = list_jobs(c, r.run.experiment_id, r.run.name).await?;
            Ok(now.into_iter().find(|x| !existing.contains(&x.id)))
        },
    )
    .await
}

pub async fn delete_job(c: &Client, id: &str) -> Result<(), KfpError> {
    c.call(Call::delete(
        format!("/jobs/{id}"),
        format!("deleting recurring run {id}"),
    ))
    .await
    .map(|_| ())
}

/// The parameters of an uploaded version (`parameters: [{name, value}]`, values strings;
/// none: required).
pub async fn version_parameters(
    c: &Client,
    version_id: &str,
) -> Result<Vec<(String, Value)>, KfpError> {
    let call = Call::get(
        format!(
            "/pipeline_versions/{}",
            crate::kfp::client::path_segment(version_id)
        ),
        format!("reading pipeline version {version_id}"),
    );
    let v: WireVersion = read(c.call(call).await?);
    Ok(v.parameters
        .or_empty()
        .into_iter()
        .filter_map(|p| {
            let p = p.into_option()?;
            Some((p.name.text()?, p.value.into_option().unwrap_or(Value::Null)))
        })
        .collect())
}

/// A list call scoped to an experiment when given, else to a namespace (v1 takes one
/// resource reference).
fn scoped(call: Call, namespace: Option<&str>, experiment_id: Option<&str>) -> Call {
    match experiment_id {
        Some(e) => runs_in_experiment(call, e),
        None => with_namespace(call, namespace),
    }
}

/// Runs in `namespace` or `experiment_id`, newest first, every page.
pub async fn list_runs(
    c: &Client,
    namespace: Option<&str>,
    experiment_id: Option<&str>,
) -> Result<Vec<Run>, KfpError> {
    let call = scoped(Call::get("/runs", "listing runs"), namespace, experiment_id)
        .query("sort_by", "created_at desc");
    list_all(c, call).await?.into_iter().map(run).collect()
}

/// Runs named exactly `name` in `namespace` or `experiment_id`.
pub async fn runs_named(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
    experiment_id: Option<&str>,
) -> Result<Vec<Run>, KfpError> {
    let call = scoped(Call::get("/runs", "listing runs"), namespace, experiment_id)
        .query("filter", filter_eq("name", name));
    let all: Vec<Run> = list_all(c, call)
        .await?
        .into_iter()
        .map(run)
        .collect::<Result<_, _>>()?;
    Ok(all.into_iter().filter(|r| r.name == name).collect())
}

/// v1's run verbs: `POST /runs/{id}/terminate`, `/runs/{id}/retry`, `/runs/{id}:archive`.
pub async fn run_verb(c: &Client, id: &str, verb: &str, action: &str) -> Result<(), KfpError> {
    let id = crate::kfp::client::path_segment(id);
    let path = match verb {
        "archive" => format!("/runs/{id}:archive"),
        other => format!("/runs/{id}/{other}"),
    };
    c.call(Call::post(path, Body::Empty, action))
        .await
        .map(|_| ())
}

/// Every job in `namespace` or `experiment_id`.
pub async fn all_jobs(
    c: &Client,
    namespace: Option<&str>,
    experiment_id: Option<&str>,
) -> Result<Vec<RecurringRun>, KfpError> {
    let call = scoped(
        Call::get("/jobs", "listing recurring runs"),
        namespace,
        experiment_id,
    )
    .query("sort_by", "created_at desc");
    list_all(c, call).await?.into_iter().map(job).collect()
}

pub async fn get_job(c: &Client, id: &str) -> Result<RecurringRun, KfpError> {
    let call = Call::get(
        format!("/jobs/{}", crate::kfp::client::path_segment(id)),
        format!("reading recurring run {id}"),
    );
    c.call_as(call, |v| job(read(v))).await
}

/// `POST /jobs/{id}/enable` / `disable`.
pub async fn set_job_enabled(c: &Client, id: &str, on: bool) -> Result<(), KfpError> {
    let (verb, doing) = if on {
        ("enable", "enabling")
    } else {
        ("disable", "disabling")
    };
    let call = Call::post(
        format!("/jobs/{}/{verb}", crate::kfp::client::path_segment(id)),
        Body::Empty,
        format!("{doing} recurring run {id}"),
    );
    c.call(call).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn filter_uses_v1_op_key() {
        let f: Value = serde_json::from_str(&filter_eq("name", "x")).unwrap();
        assert_eq!(
            f,
            json!({"predicates":[{"op":"EQUALS","key":"name","string_value":"x"}]})
        );
    }

    #[test]
    fn run_body_has_manifest_string_params_and_experiment_reference() {
        let wf = json!({"kind": "Workflow"});
        let mut params = BTreeMap::new();
        params.insert("model".to_string(), json!({"alpha": 2}));
        params.insert("ratio".to_string(), json!(0.9));
        let r = NewRun {
            name: "demo run",
            description: None,
            experiment_id: "e1",
            source: RunSource::Inline {
                pipeline_spec: &wf,
                platform_spec: None,
            },
            parameters: &params,
            service_account: None,
        };
        assert_eq!(
            create_run_body(&r),
            json!({"name":"demo run",
                   "pipeline_spec":{"workflow_manifest":"{\"kind\":\"Workflow\"}",
                                    "parameters":[{"name":"model","value":"{\"alpha\":2}"},
                                                  {"name":"ratio","value":"0.9"}]},
                   "resource_references":[{"key":{"type":"EXPERIMENT","id":"e1"},"relationship":"OWNER"}]})
        );
    }

    #[test]
    fn job_body_is_enabled_and_references_the_version() {
        let params = BTreeMap::new();
        let r = NewRecurringRun {
            run: NewRun {
                name: "nightly",
                description: None,
                experiment_id: "e1",
                source: RunSource::Version {
                    pipeline_id: "p1",
                    version_id: "v1",
                },
                parameters: &params,
                service_account: None,
            },
            cron: &crate::kfp::cronexpr::CronExpr::parse("0 0 4 * * *").unwrap(),
            max_concurrency: 1,
            no_catchup: false,
            start_time: None,
            end_time: None,
            enabled: true,
        };
        assert_eq!(
            create_job_body(&r),
            json!({"name":"nightly","pipeline_spec":{"pipeline_id":"p1"},
                   "resource_references":[
                       {"key":{"type":"EXPERIMENT","id":"e1"},"relationship":"OWNER"},
                       {"key":{"type":"PIPELINE_VERSION","id":"v1"},"relationship":"CREATOR"}],
                   "trigger":{"cron_schedule":{"cron":"0 0 4 * * *"}},
                   "max_concurrency":"1","enabled":true})
        );
    }

    #[test]
    fn run_details_name_failed_pods() {
        let wf = json!({"status": {"nodes": {
            "a": {"type": "Pod", "phase": "Failed", "displayName": "train-model"},
            "b": {"type": "Pod", "phase": "Succeeded", "displayName": "prep"},
            "c": {"type": "DAG", "phase": "Failed", "displayName": "pipeline"}}}});
        let v = json!({"run": {"id": "r1", "name": "x", "status": "Failed"},
                       "pipeline_runtime": {"workflow_manifest": wf.to_string()}});
        let r = run(read(v)).unwrap();
        assert_eq!(r.state, RunState::Failed);
        assert_eq!(r.failed_tasks, vec!["train-model".to_string()]);
    }

    #[test]
    fn pipelines_carry_their_default_version() {
        let v = json!({"id": "p1", "name": "[x] y (env: z)", "created_at": "2026-01-01T00:00:00Z",
                       "default_version": {"id": "v9", "name": "x-abc"}});
        let p = pipeline(read(v)).unwrap();
        assert_eq!(p.latest_version.unwrap().id, "v9");
    }
}
