//! `/apis/v2beta1`: request bodies as the official `kfp` 2.x client sends them (kubeflow/pipelines
//! `sdk/python/kfp/client/client.py`; `backend/api/v2beta1/*.proto`)
//! and responses mapped onto `models`. Responses omit zero values, so every field is optional.

use serde_json::{json, Value};

use crate::kfp::client::{Body, Call, Client};
use crate::kfp::models::{
    Experiment, NewRecurringRun, NewRun, Pipeline, RecurringRun, Run, RunSource, RunState, Task,
    Version,
};
use crate::kfp::KfpError;

/// The largest page the server hands out.
pub const PAGE_SIZE: u32 = 200;

pub(crate) fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn required_id(v: &Value, key: &str, what: &str) -> Result<String, KfpError> {
    str_field(v, key).ok_or_else(|| {
        KfpError::Other(format!(
            "KFP's answer about {what} has no `{key}`: is the endpoint a KFP 2.x API server? \
             (use --kfp-version 1 for KFP 1.x)"
        ))
    })
}

/// `{"predicates":[{"operation":"EQUALS","key":<key>,"string_value":<value>}]}`.
pub fn filter_eq(key: &str, value: &str) -> String {
    json!({"predicates": [{"operation": "EQUALS", "key": key, "string_value": value}]}).to_string()
}

pub fn pipeline(v: &Value) -> Result<Pipeline, KfpError> {
    let id = required_id(v, "pipeline_id", "a pipeline")?;
    Ok(Pipeline {
        name: str_field(v, "display_name")
            .or_else(|| str_field(v, "name"))
            .unwrap_or_default(),
        id,
        created_at: str_field(v, "created_at"),
        namespace: str_field(v, "namespace"),
        latest_version: None,
    })
}

pub fn version(v: &Value) -> Result<Version, KfpError> {
    Ok(Version {
        id: required_id(v, "pipeline_version_id", "a pipeline version")?,
        name: str_field(v, "name")
            .or_else(|| str_field(v, "display_name"))
            .unwrap_or_default(),
        created_at: str_field(v, "created_at"),
    })
}

pub fn experiment(v: &Value) -> Result<Experiment, KfpError> {
    Ok(Experiment {
        id: required_id(v, "experiment_id", "an experiment")?,
        name: str_field(v, "display_name").unwrap_or_default(),
        namespace: str_field(v, "namespace"),
    })
}

/// A timestamp, or none for the API's zero time (`finished_at` is 1970-01-01 until the end).
pub(crate) fn time_field(v: &Value, key: &str) -> Option<String> {
    str_field(v, key).filter(|t| !t.starts_with("1970-01-01"))
}

/// Not a user's task: the pipeline's root DAG and the driver pseudo-tasks of KFP 2.x.
fn is_system_task(name: &str) -> bool {
    name == "root" || name.ends_with("-driver")
}

/// A `PipelineTaskDetail` (backend/api/v2beta1/run.proto): its pod is `pod_name`, else the
/// last of its `child_tasks` (the executor pod comes after the driver's).
pub fn task(v: &Value) -> Option<Task> {
    let name = str_field(v, "display_name")?;
    let pod_name = str_field(v, "pod_name").or_else(|| {
        v.get("child_tasks")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().rev().find_map(|t| str_field(t, "pod_name")))
    });
    Some(Task {
        name,
        state: RunState::parse(v.get("state").and_then(Value::as_str).unwrap_or("")),
        pod_name,
        started_at: time_field(v, "start_time").or_else(|| time_field(v, "create_time")),
        finished_at: time_field(v, "end_time"),
        error: v
            .pointer("/error/message")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

pub fn run(v: &Value) -> Result<Run, KfpError> {
    let state = RunState::parse(v.get("state").and_then(Value::as_str).unwrap_or(""));
    let mut r = Run::new(
        required_id(v, "run_id", "a run")?,
        str_field(v, "display_name").unwrap_or_default(),
        state,
    );
    r.error = v
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    r.tasks = v
        .pointer("/run_details/task_details")
        .and_then(Value::as_array)
        .map(|tasks| tasks.iter().filter_map(task).collect())
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
    r.created_at = str_field(v, "created_at");
    r.finished_at = time_field(v, "finished_at");
    r.description = str_field(v, "description");
    r.experiment_id = str_field(v, "experiment_id");
    r.recurring_run_id = str_field(v, "recurring_run_id");
    r.archived = v.get("storage_state").and_then(Value::as_str) == Some("ARCHIVED");
    if let Some(reference) = v.get("pipeline_version_reference") {
        r.pipeline_id = str_field(reference, "pipeline_id");
        r.version_id = str_field(reference, "pipeline_version_id");
    }
    if r.version_id.is_none() {
        r.version_id = str_field(v, "pipeline_version_id");
    }
    if let Some(params) = v
        .pointer("/runtime_config/parameters")
        .and_then(Value::as_object)
    {
        r.parameters = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    Ok(r)
}

pub fn recurring_run(v: &Value) -> Result<RecurringRun, KfpError> {
    let mut r = RecurringRun::new(
        required_id(v, "recurring_run_id", "a recurring run")?,
        str_field(v, "display_name").unwrap_or_default(),
    );
    r.created_at = str_field(v, "created_at");
    read_trigger(v, &mut r);
    r.enabled = match v.get("mode").and_then(Value::as_str) {
        Some(m) => m == "ENABLE",
        None => v.get("status").and_then(Value::as_str) == Some("ENABLED"),
    };
    r.experiment_id = str_field(v, "experiment_id");
    if let Some(reference) = v.get("pipeline_version_reference") {
        r.pipeline_id = str_field(reference, "pipeline_id");
        r.version_id = str_field(reference, "pipeline_version_id");
    }
    Ok(r)
}

/// `trigger.cron_schedule.cron` or `trigger.periodic_schedule.interval_second` (int64, a
/// string or a number), the same in both API versions.
pub(crate) fn read_trigger(v: &Value, r: &mut RecurringRun) {
    r.cron = v
        .pointer("/trigger/cron_schedule/cron")
        .and_then(Value::as_str)
        .map(str::to_string);
    r.interval_seconds = v
        .pointer("/trigger/periodic_schedule/interval_second")
        .and_then(|i| {
            i.as_u64()
                .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
        });
}

/// Every page of a list call.
pub async fn list_all(c: &Client, call: Call, items_key: &str) -> Result<Vec<Value>, KfpError> {
    list_all_keys(c, call, &[items_key]).await
}

/// The most pages one listing reads (200 items each): a server that keeps sending fresh page
/// tokens ends in an error, not a loop.
pub const MAX_PAGES: usize = 1000;

/// One list page: its items (under the first of `keys` present; none when absent) and the next
/// page token. Items that are not a list of objects or a token that is not a string are an
/// error saying what was found (the caller names the endpoint).
pub fn read_page(v: &Value, keys: &[&str]) -> Result<(Vec<Value>, Option<String>), String> {
    let items_key = keys.first().copied().unwrap_or("items");
    let short = |v: &Value| crate::kfp::client::json_snippet(v, 40);
    let items = match keys.iter().find_map(|k| v.get(*k)) {
        Some(Value::Array(items)) => {
            if let Some(bad) = items.iter().find(|i| !i.is_object()) {
                return Err(format!("`{items_key}` holding {}, not objects", short(bad)));
            }
            items.clone()
        }
        Some(Value::Null) | None => Vec::new(),
        Some(other) => return Err(format!("`{items_key}` = {}, not a list", short(other))),
    };
    let next = match v.get("next_page_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.is_empty() => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(other) => {
            return Err(format!(
                "`next_page_token` = {}, not a string",
                short(other)
            ))
        }
    };
    Ok((items, next))
}

/// Every page of a list call whose items are under the first of `keys` present. A repeated
/// `next_page_token`, more than [`MAX_PAGES`] pages, or a page of the wrong shape (items that
/// are not a list, a token that is not a string) is an error naming the endpoint.
pub async fn list_all_keys(c: &Client, call: Call, keys: &[&str]) -> Result<Vec<Value>, KfpError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::BTreeSet::new();
    let wrong = |what: String| {
        KfpError::Other(format!(
            "KFP answered GET {} ({}) with {what}: is the endpoint a KFP API server?",
            call.path, call.action
        ))
    };
    for page_number in 1..=MAX_PAGES {
        let mut page = call.clone().query("page_size", PAGE_SIZE.to_string());
        if let Some(t) = &token {
            page = page.query("page_token", t.clone());
        }
        let v = c.call(page).await?;
        let (items, next) = read_page(&v, keys).map_err(wrong)?;
        out.extend(items);
        match next {
            None => return Ok(out),
            Some(next) if !seen.insert(next.clone()) => {
                // A real server never repeats a token: stop rather than loop or answer half.
                return Err(KfpError::Other(format!(
                    "KFP sent the same page token twice while {} (page {page_number}, {} items \
                     so far): its paging is broken, so kfpx stops rather than loop or show a \
                     partial list",
                    call.action,
                    out.len()
                )));
            }
            Some(next) => token = Some(next),
        }
    }
    Err(KfpError::Other(format!(
        "KFP kept sending more pages while {}: kfpx reads at most {MAX_PAGES} pages \
         ({} items) and stopped there",
        call.action,
        MAX_PAGES * PAGE_SIZE as usize
    )))
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
    list_all(c, call, "pipelines")
        .await?
        .iter()
        .map(pipeline)
        .collect()
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
    match c.call_as(call, |v| pipeline(&v)).await {
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
    let v = c.call(call).await?;
    v.get("pipeline_versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.first())
        .map(version)
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
    let all = list_all(c, call, "pipeline_versions").await?;
    // Servers before 2.14 have no separate `name`: match on either.
    Ok(all
        .iter()
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
        |v| pipeline(&v),
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
    c.create(call, |v| version(&v), || find_version(c, pipeline_id, name))
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
    let all = list_all(c, call, "experiments").await?;
    Ok(all
        .iter()
        .filter_map(|v| experiment(v).ok())
        .find(|e| e.name == name))
}

pub async fn create_experiment(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
) -> Result<Experiment, KfpError> {
    let mut body = json!({"display_name": name});
    if let Some(ns) = namespace {
        body["namespace"] = json!(ns);
    }
    let call = Call::post(
        "/experiments",
        Body::Json(body),
        format!("creating experiment {name:?}"),
    );
    c.create(
        call,
        |v| experiment(&v),
        || find_experiment(c, name, namespace),
    )
    .await
}

/// The fields runs and recurring runs share.
fn run_body(r: &NewRun) -> Value {
    let mut body = json!({
        "display_name": r.name,
        "experiment_id": r.experiment_id,
    });
    if let Some(d) = r.description {
        body["description"] = json!(d);
    }
    match &r.source {
        RunSource::Inline {
            pipeline_spec,
            platform_spec,
        } => {
            body["pipeline_spec"] = match platform_spec {
                Some(platform) => {
                    json!({"pipeline_spec": pipeline_spec, "platform_spec": platform})
                }
                None => (*pipeline_spec).clone(),
            };
        }
        RunSource::Version {
            pipeline_id,
            version_id,
        } => {
            body["pipeline_version_reference"] =
                json!({"pipeline_id": pipeline_id, "pipeline_version_id": version_id});
        }
    }
    if !r.parameters.is_empty() {
        body["runtime_config"] = json!({"parameters": r.parameters});
    }
    if let Some(sa) = r.service_account {
        body["service_account"] = json!(sa);
    }
    body
}

/// The create-run body (`kfp.Client.run_pipeline`; `backend/api/v2beta1/run.proto`).
pub fn create_run_body(r: &NewRun) -> Value {
    run_body(r)
}

/// The schedule fields both API versions share in a recurring run / job body: the cron trigger
/// (with optional start and end), `max_concurrency` (int64, sent as a string) and `no_catchup`.
pub(crate) fn add_schedule(body: &mut Value, r: &NewRecurringRun) {
    let mut cron = json!({"cron": r.cron.as_str()});
    if let Some(t) = r.start_time {
        cron["start_time"] = json!(t);
    }
    if let Some(t) = r.end_time {
        cron["end_time"] = json!(t);
    }
    body["trigger"] = json!({"cron_schedule": cron});
    body["max_concurrency"] = json!(r.max_concurrency.to_string());
    if r.no_catchup {
        body["no_catchup"] = json!(true);
    }
}

/// The create-recurring-run body (`kfp.Client.create_recurring_run`;
/// `backend/api/v2beta1/recurring_run.proto`): int64 as strings,
/// `mode: ENABLE` (without it KFP creates the schedule disabled).
pub fn create_recurring_body(r: &NewRecurringRun) -> Value {
    let mut body = run_body(&r.run);
    add_schedule(&mut body, r);
    body["mode"] = json!(if r.enabled { "ENABLE" } else { "DISABLE" });
    body
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
    list_all(c, call, "runs").await?.iter().map(run).collect()
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
        |v| run(&v),
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
    c.call_as(call, |v| run(&v)).await
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
    // The one camelCase field of the API (recurring_run.proto); snake_case just in case.
    let all = list_all_keys(c, call, &["recurringRuns", "recurring_runs"]).await?;
    Ok(all
        .iter()
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
        |v| recurring_run(&v),
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
    let v = c.call(call).await?;
    Ok(v.get("pipeline_spec")
        .map(ir_parameters)
        .unwrap_or_default())
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
    list_all(c, call, "runs").await?.iter().map(run).collect()
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
    let all: Vec<Run> = list_all(c, call, "runs")
        .await?
        .iter()
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
    list_all_keys(c, call, &["recurringRuns", "recurring_runs"])
        .await?
        .iter()
        .map(recurring_run)
        .collect()
}

pub async fn get_recurring_run(c: &Client, id: &str) -> Result<RecurringRun, KfpError> {
    let call = Call::get(
        format!("/recurringruns/{}", crate::kfp::client::path_segment(id)),
        format!("reading recurring run {id}"),
    );
    c.call_as(call, |v| recurring_run(&v)).await
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
        let r = run(&v).unwrap();
        assert_eq!(r.state, RunState::Failed);
        assert_eq!(r.failed_tasks, vec!["train-model".to_string()]);
        assert_eq!(r.error.as_deref(), Some("boom"));
    }

    #[test]
    fn missing_ids_are_explained() {
        let err = pipeline(&json!({"id": "x"})).unwrap_err().to_string();
        assert!(
            err.contains("pipeline_id") && err.contains("--kfp-version 1"),
            "{err}"
        );
    }
}
