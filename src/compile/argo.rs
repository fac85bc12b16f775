//! Argo Workflow for KFP v1 (the API's v1 pipelines), in the shape kedro-kubeflow emits through
//! the kfp 1.8 compiler, with its volume bugs fixed: the create step is never cached and the
//! exit handler deletes the PVC that was actually created (its name output, made global).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::compile::model::{
    self, Cache, Model, Ph, Role, Target, Task, ARGO_MLFLOW_FILE, EXIT_HANDLER, MLFLOW_OUTPUT,
    MLFLOW_START, VOLUME_CREATE, VOLUME_DELETE,
};
use crate::compile::params::as_text;
use crate::compile::CompileError;

const PVC_PARAM: &str = "data-volume-create-name";
const PVC_GLOBAL: &str = "data-volume-name";
const DATA_VOLUME: &str = "data-volume";

pub fn render(m: &Model, env: &str, sdk_version: &str) -> Result<Value, CompileError> {
    let mut templates: Vec<Value> = Vec::new();
    let mut dag: Vec<Value> = Vec::new();

    if let Some(v) = &m.volume {
        templates.push(create_pvc_template(m, v, sdk_version));
        dag.push(json!({"name": VOLUME_CREATE, "template": VOLUME_CREATE}));
    }
    for t in &m.tasks {
        templates.push(container_template(m, t, env, sdk_version, false)?);
        dag.push(dag_task(m, t));
    }

    let mut entry_dag = Map::new();
    entry_dag.insert("name".into(), json!(m.name));
    entry_dag.insert("dag".into(), obj([("tasks", Value::Array(dag))]));
    templates.insert(0, Value::Object(entry_dag));

    let mut on_exit = None;
    if m.has_exit_handler() {
        let delete = m.volume.as_ref().is_some_and(|v| v.delete);
        match (&m.on_exit, delete) {
            (Some(t), false) => {
                templates.push(container_template(m, t, env, sdk_version, true)?);
                on_exit = Some(t.name.clone());
            }
            (exit_task, _) => {
                let mut tasks = Vec::new();
                if let Some(t) = exit_task {
                    templates.push(container_template(m, t, env, sdk_version, true)?);
                    tasks.push(json!({"name": t.name, "template": t.name}));
                }
                templates.push(delete_pvc_template(sdk_version));
                let mut delete = json!({
                    "arguments": {"parameters": [{"name": "pvc-name", "value": format!("{{{{workflow.outputs.parameters.{PVC_GLOBAL}}}}}")}]},
                    "name": VOLUME_DELETE,
                    "template": VOLUME_DELETE,
                });
                if let Some(t) = exit_task {
                    // After the on-exit step, whatever its result (Argo's enhanced depends,
                    // argo-workflows docs/enhanced-depends-logic.md): the on-exit pipeline may
                    // read the volume.
                    delete["depends"] = json!(format!(
                        "{0}.Succeeded || {0}.Failed || {0}.Errored",
                        t.name
                    ));
                }
                tasks.push(delete);
                templates.push(json!({"dag": {"tasks": tasks}, "name": EXIT_HANDLER}));
                on_exit = Some(EXIT_HANDLER.to_string());
            }
        }
    }

    let mut spec_summary = Map::new();
    if let Some(d) = &m.description {
        spec_summary.insert("description".into(), json!(d));
    }
    let inputs: Vec<Value> = m
        .params
        .iter()
        .map(|p| {
            json!({"default": as_text(&p.value), "name": p.name, "optional": true, "type": v1_type(&p.value)})
        })
        .collect();
    if !inputs.is_empty() {
        spec_summary.insert("inputs".into(), Value::Array(inputs));
    }
    spec_summary.insert("name".into(), json!(m.name));

    let mut annotations = Map::new();
    annotations.insert(
        "pipelines.kubeflow.org/kfp_sdk_version".into(),
        json!(sdk_version),
    );
    annotations.insert(
        "pipelines.kubeflow.org/pipeline_spec".into(),
        json!(serde_json::to_string(&Value::Object(spec_summary)).unwrap_or_default()),
    );

    let mut spec = Map::new();
    if !m.params.is_empty() {
        let params: Vec<Value> = m
            .params
            .iter()
            .map(|p| json!({"name": p.name, "value": as_text(&p.value)}))
            .collect();
        spec.insert("arguments".into(), json!({"parameters": params}));
    }
    spec.insert("entrypoint".into(), json!(m.name));
    if !m.image_pull_secrets.is_empty() {
        let list: Vec<Value> = m
            .image_pull_secrets
            .iter()
            .map(|s| json!({"name": s}))
            .collect();
        spec.insert("imagePullSecrets".into(), Value::Array(list));
    }
    if let Some(e) = on_exit {
        spec.insert("onExit".into(), json!(e));
    }
    spec.insert(
        "serviceAccountName".into(),
        json!(m.service_account.as_deref().unwrap_or("pipeline-runner")),
    );
    spec.insert("templates".into(), Value::Array(templates));
    spec.insert(
        "ttlStrategy".into(),
        json!({"secondsAfterCompletion": m.ttl.min(i32::MAX as u64)}),
    );

    // Moved, not `json!`-interpolated: `json!` would deep-copy the whole document.
    Ok(obj([
        ("apiVersion", json!("argoproj.io/v1alpha1")),
        ("kind", json!("Workflow")),
        (
            "metadata",
            json!({
                "annotations": annotations,
                "generateName": format!("{}-", m.name),
                "labels": {"pipelines.kubeflow.org/kfp_sdk_version": sdk_version},
            }),
        ),
        ("spec", Value::Object(spec)),
    ]))
}

/// An object from owned values (`json!` would copy them).
fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn v1_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "Bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::Array(_) => "JsonArray",
        Value::Object(_) => "JsonObject",
        _ => "String",
    }
}

fn dag_task(m: &Model, t: &Task) -> Value {
    let mut args: Vec<Value> = Vec::new();
    if t.data_mount.is_some() {
        args.push(json!({"name": PVC_PARAM, "value": format!("{{{{tasks.{VOLUME_CREATE}.outputs.parameters.{PVC_PARAM}}}}}")}));
    }
    if t.mlflow {
        args.push(json!({"name": MLFLOW_OUTPUT, "value": format!("{{{{tasks.{MLFLOW_START}.outputs.parameters.{MLFLOW_OUTPUT}}}}}")}));
    }
    for p in &t.params {
        args.push(json!({"name": p, "value": format!("{{{{workflow.parameters.{p}}}}}")}));
    }
    let mut deps = t.after.clone();
    if m.volume.is_some() {
        deps.push(VOLUME_CREATE.into());
    }
    deps.sort();
    deps.dedup();
    let mut o = Map::new();
    if !args.is_empty() {
        o.insert("arguments".into(), json!({"parameters": args}));
    }
    if !deps.is_empty() {
        o.insert("dependencies".into(), json!(deps));
    }
    o.insert("name".into(), json!(t.name));
    o.insert("template".into(), json!(t.name));
    Value::Object(o)
}

fn metadata(
    m: &Model,
    t_labels: &BTreeMap<String, String>,
    t_ann: &BTreeMap<String, String>,
    cache: bool,
    sdk: &str,
) -> Value {
    let mut labels: BTreeMap<String, String> = t_labels.clone();
    labels.insert("pipelines.kubeflow.org/kfp_sdk_version".into(), sdk.into());
    labels.insert(
        "pipelines.kubeflow.org/pipeline-sdk-type".into(),
        "kfp".into(),
    );
    labels.insert(
        "pipelines.kubeflow.org/enable_caching".into(),
        cache.to_string(),
    );
    let mut ann: BTreeMap<String, String> = t_ann.clone();
    match (m.cache, m.staleness.clone()) {
        (Cache::Off, _) => {
            ann.insert(
                "pipelines.kubeflow.org/max_cache_staleness".into(),
                "P0D".into(),
            );
        }
        (_, Some(s)) => {
            ann.insert("pipelines.kubeflow.org/max_cache_staleness".into(), s);
        }
        _ => {}
    }
    if !cache {
        ann.insert(
            "pipelines.kubeflow.org/max_cache_staleness".into(),
            "P0D".into(),
        );
    }
    let mut o = Map::new();
    if !ann.is_empty() {
        o.insert("annotations".into(), json!(ann));
    }
    o.insert("labels".into(), json!(labels));
    Value::Object(o)
}

fn container_template(
    m: &Model,
    t: &Task,
    env: &str,
    sdk: &str,
    in_exit: bool,
) -> Result<Value, CompileError> {
    let (command, args) = model::container_command(t, m, env, Target::Argo);

    let mut envs: Vec<Value> = Vec::new();
    if t.role != Role::VolumeInit {
        envs.push(json!({"name": "KUBEFLOW_RUN_ID", "value": "{{workflow.uid}}"}));
    }
    envs.extend(t.env.iter().map(|(k, v)| json!({"name": k, "value": v})));
    if t.mlflow {
        envs.push(
            json!({"name": "MLFLOW_RUN_ID", "value": Target::Argo.placeholder(Ph::MlflowRunId, t)}),
        );
    }
    for s in &t.secrets {
        envs.push(
            json!({"name": s.env, "valueFrom": {"secretKeyRef": {"key": s.key, "name": s.secret}}}),
        );
    }

    let mut container = Map::new();
    if !args.is_empty() {
        container.insert("args".into(), json!(args));
    }
    container.insert("command".into(), json!(command));
    if !envs.is_empty() {
        container.insert("env".into(), Value::Array(envs));
    }
    container.insert("image".into(), json!(t.image));
    container.insert("imagePullPolicy".into(), json!(t.pull_policy));
    if !t.resources.is_empty() {
        let r: Map<String, Value> = t
            .resources
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        container.insert("resources".into(), json!({"limits": r, "requests": r}));
    }
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    if let Some(path) = t.data_mount {
        // The exit handler runs outside the main DAG: it reads the PVC's name from the create
        // step's global output, as the delete step does.
        let claim = if in_exit {
            format!("{{{{workflow.outputs.parameters.{PVC_GLOBAL}}}}}")
        } else {
            format!("{{{{inputs.parameters.{PVC_PARAM}}}}}")
        };
        mounts.push(json!({"mountPath": path, "name": DATA_VOLUME}));
        volumes.push(json!({"name": DATA_VOLUME, "persistentVolumeClaim": {"claimName": claim}}));
    }
    for v in &t.volumes {
        mounts.push(json!({"mountPath": v.mount_path, "name": v.name}));
        let mut vol = Map::new();
        vol.insert(v.kind.clone(), v.source.clone());
        vol.insert("name".into(), json!(v.name));
        volumes.push(Value::Object(vol));
    }
    if !mounts.is_empty() {
        container.insert("volumeMounts".into(), Value::Array(mounts));
    }

    let mut tpl = Map::new();
    if let Some((_, a)) = &t.affinity {
        tpl.insert("affinity".into(), Value::Object(a.clone()));
    }
    tpl.insert("container".into(), Value::Object(container));
    let mut inputs: Vec<Value> = Vec::new();
    if t.data_mount.is_some() && !in_exit {
        inputs.push(json!({"name": PVC_PARAM}));
    }
    if t.mlflow {
        inputs.push(json!({"name": MLFLOW_OUTPUT}));
    }
    if !in_exit {
        for p in &t.params {
            inputs.push(json!({"name": p}));
        }
    }
    if !inputs.is_empty() {
        tpl.insert("inputs".into(), json!({"parameters": inputs}));
    }
    tpl.insert(
        "metadata".into(),
        metadata(m, &t.labels, &t.annotations, t.cache, sdk),
    );
    tpl.insert("name".into(), json!(t.name));
    if !t.node_selector.is_empty() {
        tpl.insert("nodeSelector".into(), json!(t.node_selector));
    }
    let mut outputs = Map::new();
    if t.role == Role::MlflowStart {
        outputs.insert(
            "parameters".into(),
            json!([{"name": MLFLOW_OUTPUT, "valueFrom": {"path": ARGO_MLFLOW_FILE}}]),
        );
    }
    if !t.artifacts.is_empty() {
        let arts: Vec<Value> = t
            .artifacts
            .iter()
            .map(|(n, p)| json!({"name": n, "path": p}))
            .collect();
        outputs.insert("artifacts".into(), Value::Array(arts));
    }
    if !outputs.is_empty() {
        tpl.insert("outputs".into(), Value::Object(outputs));
    }
    if let Some(r) = &t.retry {
        let mut backoff = Map::new();
        backoff.insert("duration".into(), json!(r.backoff));
        backoff.insert(
            "factor".into(),
            if r.factor.fract() == 0.0 {
                json!(r.factor as i64)
            } else {
                json!(r.factor.to_string())
            },
        );
        // The whole retry window from the first attempt (argo-workflows
        // workflow/controller/operator.go); always written, as in the v2 IR.
        backoff.insert("maxDuration".into(), json!(r.max_duration.0));
        tpl.insert(
            "retryStrategy".into(),
            json!({"backoff": backoff, "limit": r.limit, "retryPolicy": "Always"}),
        );
    }
    if let Some(uid) = t.run_as_user {
        tpl.insert("securityContext".into(), json!({"runAsUser": uid}));
    }
    if !t.tolerations.is_empty() {
        tpl.insert(
            "tolerations".into(),
            serde_json::to_value(&t.tolerations).unwrap_or(Value::Null),
        );
    }
    if !volumes.is_empty() {
        tpl.insert("volumes".into(), Value::Array(volumes));
    }
    Ok(Value::Object(tpl))
}

fn create_pvc_template(m: &Model, v: &model::DataVolume, sdk: &str) -> Value {
    let mut pvc_spec = Map::new();
    pvc_spec.insert("accessModes".into(), json!(v.access_modes));
    pvc_spec.insert("resources".into(), json!({"requests": {"storage": v.size}}));
    if let Some(sc) = &v.storage_class {
        pvc_spec.insert("storageClassName".into(), json!(sc));
    }
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": format!("{{{{workflow.name}}}}-{}", v.suffix)},
        "spec": pvc_spec,
    });
    let no_labels = BTreeMap::new();
    json!({
        // Never cached: a cached create step hands out a PVC that no longer exists.
        "metadata": metadata(m, &no_labels, &no_labels, false, sdk),
        "name": VOLUME_CREATE,
        "outputs": {"parameters": [
            {"name": "data-volume-create-manifest", "valueFrom": {"jsonPath": "{}"}},
            {"globalName": PVC_GLOBAL, "name": PVC_PARAM, "valueFrom": {"jsonPath": "{.metadata.name}"}},
            {"name": "data-volume-create-size", "valueFrom": {"jsonPath": "{.status.capacity.storage}"}},
        ]},
        "resource": {"action": "create", "manifest": serde_yaml::to_string(&manifest).unwrap_or_default()},
    })
}

fn delete_pvc_template(sdk: &str) -> Value {
    let manifest = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: '{{inputs.parameters.pvc-name}}'\n";
    json!({
        "inputs": {"parameters": [{"name": "pvc-name"}]},
        "metadata": {"labels": {
            "pipelines.kubeflow.org/enable_caching": "false",
            "pipelines.kubeflow.org/kfp_sdk_version": sdk,
            "pipelines.kubeflow.org/pipeline-sdk-type": "kfp",
        }},
        "name": VOLUME_DELETE,
        "resource": {"action": "delete", "manifest": manifest},
    })
}
