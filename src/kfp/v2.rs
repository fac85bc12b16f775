//! `/apis/v2beta1`: request bodies as the official `kfp` 2.x client sends them (kubeflow/pipelines
//! `sdk/python/kfp/client/client.py`; `backend/api/v2beta1/*.proto`)
//! and responses mapped onto `models`. Responses omit zero values, so every field is optional.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kfp::client::{Body, Call, Client};
use crate::kfp::models::{
    Experiment, NewRecurringRun, NewRun, Pipeline, RecurringRun, Run, RunSource, RunState, Task,
    Version,
};
use crate::kfp::wire::{objects, read, Int64, Lenient, Listed, Page};
use crate::kfp::KfpError;

/// The largest page the server hands out.
pub const PAGE_SIZE: u32 = 200;

/// `Pipeline` (backend/api/v2beta1/pipeline.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WirePipeline {
    pub pipeline_id: Lenient<String>,
    pub display_name: Lenient<String>,
    /// KFP 2.14+: the unique name (may differ from the display name).
    pub name: Lenient<String>,
    pub created_at: Lenient<String>,
    pub namespace: Lenient<String>,
}

/// `PipelineVersion` (backend/api/v2beta1/pipeline.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireVersion {
    pub pipeline_version_id: Lenient<String>,
    pub name: Lenient<String>,
    pub display_name: Lenient<String>,
    pub created_at: Lenient<String>,
    /// The version's document (`google.protobuf.Struct`): a PipelineSpec, or
    /// `{pipeline_spec, platform_spec}`.
    pub pipeline_spec: Lenient<Value>,
}

/// `Experiment` (backend/api/v2beta1/experiment.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireExperiment {
    pub experiment_id: Lenient<String>,
    pub display_name: Lenient<String>,
    pub namespace: Lenient<String>,
}

/// `google.rpc.Status` as a run or task carries it (its `message`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireStatus {
    pub message: Lenient<String>,
}

/// `PipelineTaskDetail` (backend/api/v2beta1/run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireTaskDetail {
    pub display_name: Lenient<String>,
    pub pod_name: Lenient<String>,
    pub child_tasks: Lenient<Vec<Lenient<WireChildTask>>>,
    pub state: Lenient<String>,
    pub create_time: Lenient<String>,
    pub start_time: Lenient<String>,
    pub end_time: Lenient<String>,
    pub error: Lenient<WireStatus>,
}

/// `PipelineTaskDetail.ChildTask` (backend/api/v2beta1/run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireChildTask {
    pub pod_name: Lenient<String>,
}

/// `RunDetails` (backend/api/v2beta1/run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireRunDetails {
    pub task_details: Lenient<Vec<Lenient<WireTaskDetail>>>,
}

/// `PipelineVersionReference` (backend/api/v2beta1/run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireVersionReference {
    pub pipeline_id: Lenient<String>,
    pub pipeline_version_id: Lenient<String>,
}

/// `RuntimeConfig` (backend/api/v2beta1/run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireRuntimeConfig {
    pub parameters: Lenient<BTreeMap<String, Value>>,
}

/// `Run` (backend/api/v2beta1/run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireRun {
    pub run_id: Lenient<String>,
    pub display_name: Lenient<String>,
    pub state: Lenient<String>,
    pub error: Lenient<WireStatus>,
    pub run_details: Lenient<WireRunDetails>,
    pub created_at: Lenient<String>,
    pub finished_at: Lenient<String>,
    pub description: Lenient<String>,
    pub experiment_id: Lenient<String>,
    pub recurring_run_id: Lenient<String>,
    pub storage_state: Lenient<String>,
    pub pipeline_version_reference: Lenient<WireVersionReference>,
    pub pipeline_version_id: Lenient<String>,
    pub runtime_config: Lenient<WireRuntimeConfig>,
}

/// `Trigger` (backend/api/v2beta1/recurring_run.proto; the same in v1beta1/job.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireTrigger {
    pub cron_schedule: Lenient<WireCronSchedule>,
    pub periodic_schedule: Lenient<WirePeriodicSchedule>,
}

/// `CronSchedule` (backend/api/v2beta1/recurring_run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireCronSchedule {
    pub cron: Lenient<String>,
}

/// `PeriodicSchedule` (backend/api/v2beta1/recurring_run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WirePeriodicSchedule {
    pub interval_second: Lenient<Int64>,
}

/// `RecurringRun` (backend/api/v2beta1/recurring_run.proto).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireRecurringRun {
    pub recurring_run_id: Lenient<String>,
    pub display_name: Lenient<String>,
    pub created_at: Lenient<String>,
    pub trigger: Lenient<WireTrigger>,
    pub mode: Lenient<String>,
    pub status: Lenient<String>,
    pub experiment_id: Lenient<String>,
    pub pipeline_version_reference: Lenient<WireVersionReference>,
}

/// The first page of `ListPipelineVersionsResponse` (backend/api/v2beta1/pipeline.proto), as
/// the latest-version lookup reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireVersionsFirst {
    pub pipeline_versions: Lenient<Vec<Lenient<WireVersion>>>,
}

objects!(
    WirePipeline,
    WireVersion,
    WireExperiment,
    WireStatus,
    WireTaskDetail,
    WireChildTask,
    WireRunDetails,
    WireVersionReference,
    WireRuntimeConfig,
    WireRun,
    WireTrigger,
    WireCronSchedule,
    WirePeriodicSchedule,
    WireRecurringRun,
    WireVersionsFirst,
);

// The items keys of the `List…Response` messages (backend/api/v2beta1/*.proto).
impl Listed for WirePipeline {
    const KEYS: &'static [&'static str] = &["pipelines"];
}
impl Listed for WireVersion {
    const KEYS: &'static [&'static str] = &["pipeline_versions"];
}
impl Listed for WireExperiment {
    const KEYS: &'static [&'static str] = &["experiments"];
}
impl Listed for WireRun {
    const KEYS: &'static [&'static str] = &["runs"];
}
impl Listed for WireRecurringRun {
    /// The one camelCase field of the API (recurring_run.proto); snake_case just in case.
    const KEYS: &'static [&'static str] = &["recurringRuns", "recurring_runs"];
}

fn required_id(
    id: &Lenient<String>,
    key: &'static str,
    what: &'static str,
) -> Result<String, KfpError> {
    id.text().ok_or(KfpError::MissingKey {
        at: None,
        what,
        key,
        api: crate::config::KfpVersion::V2,
    })
}

/// `Filter` (backend/api/v2beta1/filter.proto) with one predicate, as the `filter` query
/// sends it.
#[derive(Serialize)]
struct FilterBody<'a> {
    predicates: [PredicateBody<'a>; 1],
}

#[derive(Serialize)]
struct PredicateBody<'a> {
    operation: &'static str,
    key: &'a str,
    string_value: &'a str,
}

/// `{"predicates":[{"operation":"EQUALS","key":<key>,"string_value":<value>}]}`.
pub fn filter_eq(key: &str, value: &str) -> String {
    to_json(FilterBody {
        predicates: [PredicateBody {
            operation: "EQUALS",
            key,
            string_value: value,
        }],
    })
    .to_string()
}

pub fn pipeline(v: WirePipeline) -> Result<Pipeline, KfpError> {
    let id = required_id(&v.pipeline_id, "pipeline_id", "a pipeline")?;
    Ok(Pipeline {
        name: v
            .display_name
            .text()
            .or_else(|| v.name.text())
            .unwrap_or_default(),
        id,
        created_at: v.created_at.text(),
        namespace: v.namespace.text(),
        latest_version: None,
    })
}

pub fn version(v: WireVersion) -> Result<Version, KfpError> {
    Ok(Version {
        id: required_id(
            &v.pipeline_version_id,
            "pipeline_version_id",
            "a pipeline version",
        )?,
        name: v
            .name
            .text()
            .or_else(|| v.display_name.text())
            .unwrap_or_default(),
        created_at: v.created_at.text(),
    })
}

pub fn experiment(v: WireExperiment) -> Result<Experiment, KfpError> {
    Ok(Experiment {
        id: required_id(&v.experiment_id, "experiment_id", "an experiment")?,
        name: v.display_name.text().unwrap_or_default(),
        namespace: v.namespace.text(),
    })
}

/// A timestamp, or none for the API's zero time (`finished_at` is 1970-01-01 until the end).
pub(crate) fn time(t: &Lenient<String>) -> Option<String> {
    t.text().filter(|t| !t.starts_with("1970-01-01"))
}

/// Not a user's task: the pipeline's root DAG and the driver pseudo-tasks of KFP 2.x.
fn is_system_task(name: &str) -> bool {
    name == "root" || name.ends_with("-driver")
}

/// A `PipelineTaskDetail`: its pod is `pod_name`, else the last of its `child_tasks` (the
/// executor pod comes after the driver's).
pub fn task(v: WireTaskDetail) -> Option<Task> {
    let name = v.display_name.text()?;
    let pod_name = v.pod_name.text().or_else(|| {
        v.child_tasks.get().and_then(|c| {
            c.iter()
                .rev()
                .find_map(|t| t.get().and_then(|t| t.pod_name.text()))
        })
    });
    Some(Task {
        name,
        state: RunState::parse(v.state.str().unwrap_or("")),
        pod_name,
        started_at: time(&v.start_time).or_else(|| time(&v.create_time)),
        finished_at: time(&v.end_time),
        error: v.error.get().and_then(|e| e.message.text()),
    })
}

pub fn run(v: WireRun) -> Result<Run, KfpError> {
    let state = RunState::parse(v.state.str().unwrap_or(""));
    let mut r = Run::new(
        required_id(&v.run_id, "run_id", "a run")?,
        v.display_name.text().unwrap_or_default(),
        state,
    );
    r.error = v.error.get().and_then(|e| e.message.text());
    r.tasks = v
        .run_details
        .into_option()
        .and_then(|d| d.task_details.into_option())
        .map(|tasks| {
            tasks
                .into_iter()
                .filter_map(|t| t.into_option().and_then(task))
                .collect()
        })
        .unwrap_or_default();
    r.tasks.retain(|t| !is_system_task(&t.name));
    r.tasks.sort_by(|a, b| {
        (a.started_at.as_deref(), &a.name).cmp(&(b.started_at.as_deref(), &b.name))
    });
    let mut failed_tasks: Vec<String> = r
        .tasks
        .iter()
        .filter(|t| t.state == RunState::Failed)
        .map(|t| t.name.clone())
        .collect();
    failed_tasks.sort();
    failed_tasks.dedup();
    r.failed_tasks = failed_tasks;
    r.created_at = v.created_at.text();
    r.finished_at = time(&v.finished_at);
    r.description = v.description.text();
    r.experiment_id = v.experiment_id.text();
    r.recurring_run_id = v.recurring_run_id.text();
    r.archived = v.storage_state.str() == Some("ARCHIVED");
    if let Some(reference) = v.pipeline_version_reference.get() {
        r.pipeline_id = reference.pipeline_id.text();
        r.version_id = reference.pipeline_version_id.text();
    }
    if r.version_id.is_none() {
        r.version_id = v.pipeline_version_id.text();
    }
    if let Some(params) = v
        .runtime_config
        .into_option()
        .and_then(|c| c.parameters.into_option())
    {
        r.parameters = params;
    }
    Ok(r)
}

pub fn recurring_run(v: WireRecurringRun) -> Result<RecurringRun, KfpError> {
    let mut r = RecurringRun::new(
        required_id(&v.recurring_run_id, "recurring_run_id", "a recurring run")?,
        v.display_name.text().unwrap_or_default(),
    );
    r.created_at = v.created_at.text();
    read_trigger(&v.trigger, &mut r);
    r.enabled = match v.mode.str() {
        Some(m) => m == "ENABLE",
        None => v.status.str() == Some("ENABLED"),
    };
    r.experiment_id = v.experiment_id.text();
    if let Some(reference) = v.pipeline_version_reference.get() {
        r.pipeline_id = reference.pipeline_id.text();
        r.version_id = reference.pipeline_version_id.text();
    }
    Ok(r)
}

/// `trigger.cron_schedule.cron` or `trigger.periodic_schedule.interval_second` (int64, a
/// string or a number), the same in both API versions.
pub(crate) fn read_trigger(t: &Lenient<WireTrigger>, r: &mut RecurringRun) {
    let t = t.get();
    r.cron = t
        .and_then(|t| t.cron_schedule.get())
        .and_then(|c| c.cron.str())
        .map(str::to_string);
    r.interval_seconds = t
        .and_then(|t| t.periodic_schedule.get())
        .and_then(|p| p.interval_second.get())
        .map(|i| i.0);
}

/// The most pages one listing reads (200 items each): a server that keeps sending fresh page
/// tokens ends in an error, not a loop.
pub const MAX_PAGES: usize = 1000;

/// Every page of a list call whose items are `T`s. A repeated `next_page_token`, more than
/// [`MAX_PAGES`] pages, or a page of the wrong shape (items that are not a list of objects, a
/// token that is not a string) is an error naming the endpoint.
pub async fn list_all<T: Listed>(c: &Client, call: Call) -> Result<Vec<T>, KfpError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::BTreeSet::new();
    let wrong = |problem: String| KfpError::MalformedPage {
        path: call.path.clone(),
        action: call.action.clone(),
        problem,
    };
    for page_number in 1..=MAX_PAGES {
        let mut page = call.clone().query("page_size", PAGE_SIZE.to_string());
        if let Some(t) = &token {
            page = page.query("page_token", t.clone());
        }
        let v = c.call(page).await?;
        let page = Page::<T>::read(v).map_err(wrong)?;
        out.extend(page.items);
        match page.next_page_token {
            None => return Ok(out),
            Some(next) if !seen.insert(next.clone()) => {
                // A real server never repeats a token: stop rather than loop or answer half.
                return Err(KfpError::PageTokenRepeated {
                    action: call.action.clone(),
                    page: page_number,
                    items: out.len(),
                });
            }
            Some(next) => token = Some(next),
        }
    }
    Err(KfpError::TooManyPages {
        action: call.action.clone(),
        max_pages: MAX_PAGES,
        max_items: MAX_PAGES * PAGE_SIZE as usize,
    })
}

pub async fn list_pipelines(
    c: &Client,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<Pipeline>, KfpError> {
    let mut call = Call::get("/pipelines", "listing pipelines").query_opt("namespace", namespace);
    if let Some(n) = name {
        call = call.query("filter", filter_eq("display_name", n));
    }
    list_all(c, call).await?.into_iter().map(pipeline).collect()
}

/// The pipeline whose `name` (not display name) is `name`; `None` on 404.
pub async fn pipeline_by_name(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
) -> Result<Option<Pipeline>, KfpError> {
    let call = Call::get(
        format!(
            "/pipelines/names/{}",
            crate::kfp::client::path_segment(name)
        ),
        format!("finding pipeline {name:?}"),
    )
    .query_opt("namespace", namespace);
    match c.call_as(call, |v| pipeline(read(v))).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn latest_version(c: &Client, pipeline_id: &str) -> Result<Option<Version>, KfpError> {
    let call = Call::get(
        format!("/pipelines/{pipeline_id}/versions"),
        "listing pipeline versions",
    )
    .query("page_size", "1")
    .query("sort_by", "created_at desc");
    let v: WireVersionsFirst = read(c.call(call).await?);
    v.pipeline_versions
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
    let call = Call::get(
        format!("/pipelines/{pipeline_id}/versions"),
        "listing pipeline versions",
    )
    .query("filter", filter_eq("name", name));
    let all: Vec<WireVersion> = list_all(c, call).await?;
    // Servers before 2.14 have no separate `name`: match on either.
    Ok(all
        .into_iter()
        .filter_map(|v| version(v).ok())
        .find(|v| v.name == name))
}

fn upload_call(
    c: &Client,
    path: &str,
    name: &str,
    description: Option<&str>,
    bytes: &[u8],
    action: &str,
) -> Call {
    let mut call = Call::post(
        path,
        Body::Upload {
            filename: "pipeline.yaml".into(),
            bytes: bytes.to_vec(),
        },
        action,
    )
    .query("name", name);
    // `display_name` is a 2.14+ query parameter (older servers ignore it anyway).
    if c.server().at_least(2, 14) {
        call = call.query("display_name", name);
    }
    call.query_opt("description", description)
}

pub async fn upload_pipeline(
    c: &Client,
    name: &str,
    description: Option<&str>,
    namespace: Option<&str>,
    bytes: &[u8],
) -> Result<Pipeline, KfpError> {
    let call = upload_call(
        c,
        "/pipelines/upload",
        name,
        description,
        bytes,
        "the upload",
    )
    .query_opt("namespace", namespace);
    c.create(
        call,
        |v| pipeline(read(v)),
        || async {
            let found = list_pipelines(c, namespace, Some(name)).await?;
            Ok(found.into_iter().next())
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
    let call = upload_call(
        c,
        "/pipelines/upload_version",
        name,
        description,
        bytes,
        "the new pipeline version",
    )
    .query("pipelineid", pipeline_id);
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
    let call = Call::get("/experiments", "listing experiments")
        .query_opt("namespace", namespace)
        .query("filter", filter_eq("display_name", name));
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
    /// `Experiment` (backend/api/v2beta1/experiment.proto), as sent.
    #[derive(Serialize)]
    struct ExperimentBody<'a> {
        display_name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<&'a str>,
    }
    let body = ExperimentBody {
        display_name: name,
        namespace,
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

/// `PipelineVersionReference` (backend/api/v2beta1/run.proto), as sent.
#[derive(Debug, Serialize)]
struct VersionReferenceBody<'a> {
    pipeline_id: &'a str,
    pipeline_version_id: &'a str,
}

/// `Run.pipeline_spec` as sent: the PipelineSpec, or `{pipeline_spec, platform_spec}` when the
/// run has a PlatformSpec (what the kfp SDK sends, backend/src/apiserver/template/v2_template.go
/// reads both).
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum InlineSpecBody<'a> {
    WithPlatform {
        pipeline_spec: &'a Value,
        platform_spec: &'a Value,
    },
    Bare(&'a Value),
}

/// `RuntimeConfig` (backend/api/v2beta1/run.proto), as sent.
#[derive(Debug, Serialize)]
struct RuntimeConfigBody<'a> {
    parameters: &'a BTreeMap<String, Value>,
}

/// The fields a `Run` and a `RecurringRun` (backend/api/v2beta1/run.proto,
/// recurring_run.proto) share, as sent: zero values are left out (the server knows no
/// `null`s and older servers reject unknown fields).
#[derive(Debug, Serialize)]
struct RunBody<'a> {
    display_name: &'a str,
    experiment_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline_spec: Option<InlineSpecBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline_version_reference: Option<VersionReferenceBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_config: Option<RuntimeConfigBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account: Option<&'a str>,
}

fn run_body<'a>(r: &NewRun<'a>) -> RunBody<'a> {
    let (pipeline_spec, pipeline_version_reference) = match r.source {
        RunSource::Inline {
            pipeline_spec,
            platform_spec,
        } => (
            Some(match platform_spec {
                Some(platform_spec) => InlineSpecBody::WithPlatform {
                    pipeline_spec,
                    platform_spec,
                },
                None => InlineSpecBody::Bare(pipeline_spec),
            }),
            None,
        ),
        RunSource::Version {
            pipeline_id,
            version_id,
        } => (
            None,
            Some(VersionReferenceBody {
                pipeline_id,
                pipeline_version_id: version_id,
            }),
        ),
    };
    RunBody {
        display_name: r.name,
        experiment_id: r.experiment_id,
        description: r.description,
        pipeline_spec,
        pipeline_version_reference,
        runtime_config: (!r.parameters.is_empty()).then_some(RuntimeConfigBody {
            parameters: r.parameters,
        }),
        service_account: r.service_account,
    }
}

pub(crate) fn to_json(body: impl Serialize) -> Value {
    serde_json::to_value(body).expect("request bodies have string keys")
}

/// The create-run body (`kfp.Client.run_pipeline`; `backend/api/v2beta1/run.proto`).
pub fn create_run_body(r: &NewRun) -> Value {
    to_json(run_body(r))
}

/// `CronSchedule` (backend/api/v2beta1/recurring_run.proto, v1beta1/job.proto), as sent.
#[derive(Debug, Serialize)]
struct CronScheduleBody<'a> {
    cron: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<&'a str>,
}

/// `Trigger` (backend/api/v2beta1/recurring_run.proto, v1beta1/job.proto), as sent.
#[derive(Debug, Serialize)]
struct TriggerBody<'a> {
    cron_schedule: CronScheduleBody<'a>,
}

/// The schedule fields both API versions share in a recurring run / job body: the cron trigger
/// (with optional start and end), `max_concurrency` (int64, sent as a string) and `no_catchup`.
#[derive(Debug, Serialize)]
pub(crate) struct ScheduleBody<'a> {
    trigger: TriggerBody<'a>,
    max_concurrency: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    no_catchup: bool,
}

pub(crate) fn schedule_body<'a>(r: &NewRecurringRun<'a>) -> ScheduleBody<'a> {
    ScheduleBody {
        trigger: TriggerBody {
            cron_schedule: CronScheduleBody {
                cron: r.cron.as_str(),
                start_time: r.start_time,
                end_time: r.end_time,
            },
        },
        max_concurrency: r.max_concurrency.to_string(),
        no_catchup: r.no_catchup,
    }
}

/// The create-recurring-run body (`kfp.Client.create_recurring_run`;
/// `backend/api/v2beta1/recurring_run.proto`): int64 as strings,
/// `mode: ENABLE` (without it KFP creates the schedule disabled).
pub fn create_recurring_body(r: &NewRecurringRun) -> Value {
    #[derive(Serialize)]
    struct RecurringRunBody<'a> {
        #[serde(flatten)]
        run: RunBody<'a>,
        #[serde(flatten)]
        schedule: ScheduleBody<'a>,
        mode: &'static str,
    }
    to_json(RecurringRunBody {
        run: run_body(&r.run),
        schedule: schedule_body(r),
        mode: if r.enabled { "ENABLE" } else { "DISABLE" },
    })
}

pub async fn find_runs(
    c: &Client,
    experiment_id: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Vec<Run>, KfpError> {
    let call = Call::get("/runs", "listing runs")
        .query_opt("namespace", namespace)
        .query("experiment_id", experiment_id)
        .query("filter", filter_eq("display_name", name));
    list_all(c, call).await?.into_iter().map(run).collect()
}

pub async fn create_run(
    c: &Client,
    r: &NewRun<'_>,
    namespace: Option<&str>,
) -> Result<Run, KfpError> {
    let call = Call::post(
        "/runs",
        Body::Json(create_run_body(r)),
        format!("the run {:?}", r.name),
    );
    c.create(
        call,
        |v| run(read(v)),
        || async {
            // Our run carries our description (with its request id): find it by that.
            let runs = find_runs(c, r.experiment_id, r.name, namespace).await?;
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

pub async fn list_recurring_runs(
    c: &Client,
    experiment_id: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Vec<RecurringRun>, KfpError> {
    let call = Call::get("/recurringruns", "listing recurring runs")
        .query_opt("namespace", namespace)
        .query("experiment_id", experiment_id)
        .query("filter", filter_eq("display_name", name));
    let all: Vec<WireRecurringRun> = list_all(c, call).await?;
    Ok(all
        .into_iter()
        .filter_map(|v| recurring_run(v).ok())
        .filter(|r| r.name == name)
        .collect())
}

pub async fn create_recurring_run(
    c: &Client,
    r: &NewRecurringRun<'_>,
    namespace: Option<&str>,
    existing: &[String],
) -> Result<RecurringRun, KfpError> {
    let call = Call::post(
        "/recurringruns",
        Body::Json(create_recurring_body(r)),
        format!("the recurring run {:?}", r.run.name),
    );
    c.create(
        call,
        |v| recurring_run(read(v)),
        || async {
            let now = list_recurring_runs(c, r.run.experiment_id, r.run.name, namespace).await?;
            Ok(now.into_iter().find(|x| !existing.contains(&x.id)))
        },
    )
    .await
}

pub async fn delete_recurring_run(c: &Client, id: &str) -> Result<(), KfpError> {
    c.call(Call::delete(
        format!("/recurringruns/{id}"),
        format!("deleting recurring run {id}"),
    ))
    .await
    .map(|_| ())
}

/// The parameters of an IR document (`root.inputDefinitions.parameters`) with their defaults
/// (`null`: required), accepting the `{pipeline_spec, platform_spec}` wrapper.
pub fn ir_parameters(spec: &Value) -> Vec<(String, Value)> {
    let spec = spec.get("pipeline_spec").unwrap_or(spec);
    spec.pointer("/root/inputDefinitions/parameters")
        .and_then(Value::as_object)
        .map(|ps| {
            ps.iter()
                .map(|(k, p)| {
                    (
                        k.clone(),
                        p.get("defaultValue").cloned().unwrap_or(Value::Null),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The parameters of an uploaded version (from its `pipeline_spec`).
pub async fn version_parameters(
    c: &Client,
    pipeline_id: &str,
    version_id: &str,
) -> Result<Vec<(String, Value)>, KfpError> {
    let call = Call::get(
        format!(
            "/pipelines/{}/versions/{}",
            crate::kfp::client::path_segment(pipeline_id),
            crate::kfp::client::path_segment(version_id)
        ),
        format!("reading pipeline version {version_id}"),
    );
    let v: WireVersion = read(c.call(call).await?);
    Ok(v.pipeline_spec.get().map(ir_parameters).unwrap_or_default())
}

/// Runs in `namespace` and/or `experiment_id`, newest first, every page.
pub async fn list_runs(
    c: &Client,
    namespace: Option<&str>,
    experiment_id: Option<&str>,
) -> Result<Vec<Run>, KfpError> {
    let call = Call::get("/runs", "listing runs")
        .query_opt("namespace", namespace)
        .query_opt("experiment_id", experiment_id)
        .query("sort_by", "created_at desc");
    list_all(c, call).await?.into_iter().map(run).collect()
}

/// Runs named exactly `name` in `namespace` and/or `experiment_id`.
pub async fn runs_named(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
    experiment_id: Option<&str>,
) -> Result<Vec<Run>, KfpError> {
    let call = Call::get("/runs", "listing runs")
        .query_opt("namespace", namespace)
        .query_opt("experiment_id", experiment_id)
        .query("filter", filter_eq("display_name", name));
    let all: Vec<Run> = list_all(c, call)
        .await?
        .into_iter()
        .map(run)
        .collect::<Result<_, _>>()?;
    Ok(all.into_iter().filter(|r| r.name == name).collect())
}

/// `POST /runs/{id}:<verb>` (terminate, retry, archive): no body, an empty answer.
pub async fn run_verb(c: &Client, id: &str, verb: &str, action: &str) -> Result<(), KfpError> {
    let path = format!("/runs/{}:{verb}", crate::kfp::client::path_segment(id));
    c.call(Call::post(path, Body::Empty, action))
        .await
        .map(|_| ())
}

/// Every recurring run in `namespace` and/or `experiment_id`.
pub async fn all_recurring_runs(
    c: &Client,
    namespace: Option<&str>,
    experiment_id: Option<&str>,
) -> Result<Vec<RecurringRun>, KfpError> {
    let call = Call::get("/recurringruns", "listing recurring runs")
        .query_opt("namespace", namespace)
        .query_opt("experiment_id", experiment_id)
        .query("sort_by", "created_at desc");
    list_all(c, call)
        .await?
        .into_iter()
        .map(recurring_run)
        .collect()
}

pub async fn get_recurring_run(c: &Client, id: &str) -> Result<RecurringRun, KfpError> {
    let call = Call::get(
        format!("/recurringruns/{}", crate::kfp::client::path_segment(id)),
        format!("reading recurring run {id}"),
    );
    c.call_as(call, |v| recurring_run(read(v))).await
}

/// `POST /recurringruns/{id}:enable` / `:disable`.
pub async fn set_recurring_enabled(c: &Client, id: &str, on: bool) -> Result<(), KfpError> {
    let (verb, doing) = if on {
        ("enable", "enabling")
    } else {
        ("disable", "disabling")
    };
    let call = Call::post(
        format!(
            "/recurringruns/{}:{verb}",
            crate::kfp::client::path_segment(id)
        ),
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
    fn filter_uses_v2_operation_key() {
        let f: Value =
            serde_json::from_str(&filter_eq("display_name", "[p] x (env: local)")).unwrap();
        assert_eq!(
            f,
            json!({"predicates":[{"operation":"EQUALS","key":"display_name","string_value":"[p] x (env: local)"}]})
        );
    }

    #[test]
    fn inline_run_body_wraps_platform_spec() {
        let spec = json!({"pipelineInfo": {"name": "p"}});
        let platform = json!({"platforms": {"kubernetes": {}}});
        let mut params = BTreeMap::new();
        params.insert("ratio".to_string(), json!(0.5));
        let r = NewRun {
            name: "run 1",
            description: None,
            experiment_id: "e1",
            source: RunSource::Inline {
                pipeline_spec: &spec,
                platform_spec: Some(&platform),
            },
            parameters: &params,
            service_account: None,
        };
        assert_eq!(
            create_run_body(&r),
            json!({"display_name":"run 1","experiment_id":"e1",
                   "pipeline_spec":{"pipeline_spec":spec,"platform_spec":platform},
                   "runtime_config":{"parameters":{"ratio":0.5}}})
        );
        let r = NewRun {
            source: RunSource::Inline {
                pipeline_spec: &spec,
                platform_spec: None,
            },
            ..r
        };
        assert_eq!(create_run_body(&r)["pipeline_spec"], spec);
    }

    #[test]
    fn recurring_body_is_enabled_with_string_int64() {
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
                service_account: Some("sa"),
            },
            cron: &crate::kfp::cronexpr::CronExpr::parse("0 0 2 * * *").unwrap(),
            max_concurrency: 2,
            no_catchup: true,
            start_time: Some("2026-01-01T00:00:00Z"),
            end_time: None,
            enabled: true,
        };
        assert_eq!(
            create_recurring_body(&r),
            json!({"display_name":"nightly","experiment_id":"e1",
                   "pipeline_version_reference":{"pipeline_id":"p1","pipeline_version_id":"v1"},
                   "service_account":"sa",
                   "trigger":{"cron_schedule":{"cron":"0 0 2 * * *","start_time":"2026-01-01T00:00:00Z"}},
                   "max_concurrency":"2","no_catchup":true,"mode":"ENABLE"})
        );
    }

    #[test]
    fn failed_tasks_come_from_run_details() {
        let v = json!({"run_id":"r","state":"FAILED","error":{"message":"boom"},
            "run_details":{"task_details":[
                {"display_name":"root","state":"FAILED"},
                {"display_name":"train-model","state":"FAILED"},
                {"display_name":"preprocess","state":"SUCCEEDED"}]}});
        let r = run(read(v)).unwrap();
        assert_eq!(r.state, RunState::Failed);
        assert_eq!(r.failed_tasks, vec!["train-model".to_string()]);
        assert_eq!(r.error.as_deref(), Some("boom"));
    }

    #[test]
    fn missing_ids_are_explained() {
        let err = pipeline(read(json!({"id": "x"}))).unwrap_err();
        assert!(
            matches!(
                err,
                KfpError::MissingKey {
                    at: None,
                    what: "a pipeline",
                    key: "pipeline_id",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "KFP's answer about a pipeline has no `pipeline_id`: is the endpoint a KFP 2.x API \
             server? (use --kfp-version 1 for KFP 1.x)"
        );
        let err = crate::kfp::v1::run(read(json!({"run": "x", "id": "r1"}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "KFP's answer about a run has no `id`: is the endpoint a KFP API server?"
        );
    }
}
