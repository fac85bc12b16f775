//! `/apis/v1beta1` (KFP 1.x, and the compatibility API of 2.x): the shapes kfp 1.8 sends
//! (kedro-kubeflow `kedro_kubeflow/kfpclient.py`, kfp 1.8 `sdk/python/kfp/_client.py`;
//! `backend/api/v1beta1/job.proto`), mapped onto `models`. Filters use `op`
//! (not `operation`), namespaces are resource references, parameters are strings.

use serde_json::{json, Value};

use crate::kfp::client::{Body, Call, Client};
use crate::kfp::models::{
    param_string, Experiment, NewRecurringRun, NewRun, Pipeline, RecurringRun, Run, RunSource,
    RunState, Task, Version,
};
use crate::kfp::v2::{add_schedule, list_all, str_field};
use crate::kfp::KfpError;

/// `{"predicates":[{"op":"EQUALS","key":<key>,"string_value":<value>}]}`.
pub fn filter_eq(key: &str, value: &str) -> String {
    json!({"predicates": [{"op": "EQUALS", "key": key, "string_value": value}]}).to_string()
}

fn required_id(v: &Value, what: &str) -> Result<String, KfpError> {
    str_field(v, "id").ok_or_else(|| {
        KfpError::Other(format!(
            "KFP's answer about {what} has no `id`: is the endpoint a KFP API server?"
        ))
    })
}

fn namespace_of(v: &Value) -> Option<String> {
    v.get("resource_references")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.pointer("/key/type").and_then(Value::as_str) == Some("NAMESPACE"))
        .and_then(|r| r.pointer("/key/id"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

pub fn version(v: &Value) -> Result<Version, KfpError> {
    Ok(Version {
        id: required_id(v, "a pipeline version")?,
        name: str_field(v, "name").unwrap_or_default(),
        created_at: str_field(v, "created_at"),
    })
}

pub fn pipeline(v: &Value) -> Result<Pipeline, KfpError> {
    Ok(Pipeline {
        id: required_id(v, "a pipeline")?,
        name: str_field(v, "name").unwrap_or_default(),
        created_at: str_field(v, "created_at"),
        namespace: namespace_of(v),
        latest_version: v.get("default_version").and_then(|d| version(d).ok()),
    })
}

pub fn experiment(v: &Value) -> Result<Experiment, KfpError> {
    Ok(Experiment {
        id: required_id(v, "an experiment")?,
        name: str_field(v, "name").unwrap_or_default(),
        namespace: namespace_of(v),
    })
}

/// A reference of `type` (`EXPERIMENT`, `PIPELINE_VERSION`, …) in `resource_references`.
fn reference_id(v: &Value, ty: &str) -> Option<String> {
    v.get("resource_references")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.pointer("/key/type").and_then(Value::as_str) == Some(ty))
        .and_then(|r| r.pointer("/key/id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A run from `{run, pipeline_runtime}` (get/create) or a bare run (list).
pub fn run(v: &Value) -> Result<Run, KfpError> {
    let r = v.get("run").unwrap_or(v);
    let tasks = v
        .pointer("/pipeline_runtime/workflow_manifest")
        .and_then(Value::as_str)
        .map(argo_tasks)
        .unwrap_or_default();
    let mut failed_tasks: Vec<String> = tasks
        .iter()
        .filter(|t| t.state == RunState::Failed)
        .map(|t| t.name.clone())
        .collect();
    failed_tasks.sort();
    failed_tasks.dedup();
    let mut out = Run::new(
        required_id(r, "a run")?,
        str_field(r, "name").unwrap_or_default(),
        RunState::parse(r.get("status").and_then(Value::as_str).unwrap_or("")),
    );
    out.created_at = str_field(r, "created_at");
    out.finished_at = crate::kfp::v2::time_field(r, "finished_at");
    out.description = str_field(r, "description");
    out.error = str_field(r, "error");
    out.failed_tasks = failed_tasks;
    out.tasks = tasks;
    out.experiment_id = reference_id(r, "EXPERIMENT");
    out.version_id = reference_id(r, "PIPELINE_VERSION");
    out.recurring_run_id = reference_id(r, "JOB");
    out.archived = r.get("storage_state").and_then(Value::as_str) == Some("STORAGESTATE_ARCHIVED");
    if let Some(spec) = r.get("pipeline_spec") {
        out.pipeline_id = str_field(spec, "pipeline_id").or_else(|| reference_id(r, "PIPELINE"));
        out.pipeline_name = str_field(spec, "pipeline_name");
        if let Some(ps) = spec.get("parameters").and_then(Value::as_array) {
            out.parameters = ps
                .iter()
                .filter_map(|p| Some((str_field(p, "name")?, p.get("value")?.clone())))
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
    let mut tasks: Vec<Task> = wf
        .pointer("/status/nodes")
        .and_then(Value::as_object)
        .map(|nodes| {
            nodes
                .values()
                .filter(|n| n.get("type").and_then(Value::as_str) == Some("Pod"))
                .filter_map(|n| {
                    Some(Task {
                        name: str_field(n, "displayName")?,
                        state: RunState::parse(
                            n.get("phase").and_then(Value::as_str).unwrap_or(""),
                        ),
                        pod_name: str_field(n, "id"),
                        started_at: str_field(n, "startedAt"),
                        finished_at: str_field(n, "finishedAt"),
                        error: str_field(n, "message"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    tasks.sort_by(|a, b| {
        (a.started_at.as_deref(), &a.name).cmp(&(b.started_at.as_deref(), &b.name))
    });
    tasks
}

pub fn job(v: &Value) -> Result<RecurringRun, KfpError> {
    let mut r = RecurringRun::new(
        required_id(v, "a recurring run")?,
        str_field(v, "name").unwrap_or_default(),
    );
    r.created_at = str_field(v, "created_at");
    crate::kfp::v2::read_trigger(v, &mut r);
    r.enabled = v.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    r.experiment_id = reference_id(v, "EXPERIMENT");
    r.version_id = reference_id(v, "PIPELINE_VERSION");
    if let Some(spec) = v.get("pipeline_spec") {
        r.pipeline_id = str_field(spec, "pipeline_id").or_else(|| reference_id(v, "PIPELINE"));
        r.pipeline_name = str_field(spec, "pipeline_name");
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
    list_all(c, call, "pipelines")
        .await?
        .iter()
        .map(pipeline)
        .collect()
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
    Ok(list_all(c, call, "pipelines")
        .await?
        .iter()
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
    match c.call_as(call, |v| pipeline(&v)).await {
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
    let v = c.call(call).await?;
    v.get("versions")
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
    let call = versions_call(pipeline_id).query("filter", filter_eq("name", name));
    let all = list_all(c, call, "versions").await?;
    Ok(all
        .iter()
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
        |v| pipeline(&v),
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
    c.create(call, |v| version(&v), || find_version(c, pipeline_id, name))
        .await
}

pub async fn find_experiment(
    c: &Client,
    name: &str,
    namespace: Option<&str>,
) -> Result<Option<Experiment>, KfpError> {
    let call = with_namespace(Call::get("/experiments", "listing experiments"), namespace)
        .query("filter", filter_eq("name", name));
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
    let refs: Vec<Value> = namespace
        .map(|ns| vec![json!({"key": {"type": "NAMESPACE", "id": ns}, "relationship": "OWNER"})])
        .unwrap_or_default();
    let body = json!({"name": name, "resource_references": refs});
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

fn run_body(r: &NewRun) -> Value {
    let params: Vec<Value> = r
        .parameters
        .iter()
        .map(|(k, v)| json!({"name": k, "value": param_string(v)}))
        .collect();
    let mut refs = vec![
        json!({"key": {"type": "EXPERIMENT", "id": r.experiment_id}, "relationship": "OWNER"}),
    ];
    let mut spec = serde_json::Map::new();
    match &r.source {
        RunSource::Inline { pipeline_spec, .. } => {
            spec.insert("workflow_manifest".into(), json!(pipeline_spec.to_string()));
        }
        RunSource::Version {
            pipeline_id,
            version_id,
        } => {
            spec.insert("pipeline_id".into(), json!(pipeline_id));
            refs.push(json!({"key": {"type": "PIPELINE_VERSION", "id": version_id}, "relationship": "CREATOR"}));
        }
    }
    if !params.is_empty() {
        spec.insert("parameters".into(), Value::Array(params));
    }
    let mut body = json!({
        "name": r.name,
        "pipeline_spec": spec,
        "resource_references": refs,
    });
    if let Some(d) = r.description {
        body["description"] = json!(d);
    }
    if let Some(sa) = r.service_account {
        body["service_account"] = json!(sa);
    }
    body
}

pub fn create_run_body(r: &NewRun) -> Value {
    run_body(r)
}

pub fn create_job_body(r: &NewRecurringRun) -> Value {
    let mut body = run_body(&r.run);
    add_schedule(&mut body, r);
    body["enabled"] = json!(r.enabled);
    body
}

fn runs_in_experiment(call: Call, experiment_id: &str) -> Call {
    call.query("resource_reference_key.type", "EXPERIMENT")
        .query("resource_reference_key.id", experiment_id)
}

pub async fn find_runs(c: &Client, experiment_id: &str, name: &str) -> Result<Vec<Run>, KfpError> {
    let call = runs_in_experiment(Call::get("/runs", "listing runs"), experiment_id)
        .query("filter", filter_eq("name", name));
    list_all(c, call, "runs").await?.iter().map(run).collect()
}

pub async fn create_run(c: &Client, r: &NewRun<'_>) -> Result<Run, KfpError> {
    let call = Call::post(
        "/runs",
        Body::Json(create_run_body(r)),
        format!("the run {:?}", r.name),
    );
    c.create(
        call,
        |v| run(&v),
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
    c.call_as(call, |v| run(&v)).await
}

pub async fn list_jobs(
    c: &Client,
    experiment_id: &str,
    name: &str,
) -> Result<Vec<RecurringRun>, KfpError> {
    let call = runs_in_experiment(Call::get("/jobs", "listing recurring runs"), experiment_id)
        .query("filter", filter_eq("name", name));
    Ok(list_all(c, call, "jobs")
        .await?
        .iter()
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
        |v| job(&v),
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
    let v = c.call(call).await?;
    Ok(v.get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    Some((
                        str_field(p, "name")?,
                        p.get("value").cloned().unwrap_or(Value::Null),
                    ))
                })
                .collect()
        })
        .unwrap_or_default())
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
    list_all(c, call, "runs").await?.iter().map(run).collect()
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
    let all: Vec<Run> = list_all(c, call, "runs")
        .await?
        .iter()
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
    list_all(c, call, "jobs").await?.iter().map(job).collect()
}

pub async fn get_job(c: &Client, id: &str) -> Result<RecurringRun, KfpError> {
    let call = Call::get(
        format!("/jobs/{}", crate::kfp::client::path_segment(id)),
        format!("reading recurring run {id}"),
    );
    c.call_as(call, |v| job(&v)).await
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
        let r = run(&v).unwrap();
        assert_eq!(r.state, RunState::Failed);
        assert_eq!(r.failed_tasks, vec!["train-model".to_string()]);
    }

    #[test]
    fn pipelines_carry_their_default_version() {
        let v = json!({"id": "p1", "name": "[x] y (env: z)", "created_at": "2026-01-01T00:00:00Z",
                       "default_version": {"id": "v9", "name": "x-abc"}});
        let p = pipeline(&v).unwrap();
        assert_eq!(p.latest_version.unwrap().id, "v9");
    }
}
