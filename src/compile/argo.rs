//! Argo Workflow for KFP v1 (the API's v1 pipelines), in the shape kedro-kubeflow emits through
//! the kfp 1.8 compiler, with its volume bugs fixed: the create step is never cached and the
//! exit handler deletes the PVC that was actually created (its name output, made global).
//!
//! The document is built from the types in [`workflow`] (Argo's schema), so a misspelt key or
//! a value of the wrong shape does not compile; it becomes a JSON value once, at the end.

mod workflow;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::compile::model::{
    self, Cache, Model, Ph, Role, Target, Task, ARGO_MLFLOW_FILE, EXIT_HANDLER, MLFLOW_OUTPUT,
    MLFLOW_START, VOLUME_CREATE, VOLUME_DELETE,
};
use crate::compile::params::as_text;
use crate::compile::CompileError;
use workflow::*;

const PVC_PARAM: &str = "data-volume-create-name";
const PVC_GLOBAL: &str = "data-volume-name";
const DATA_VOLUME: &str = "data-volume";

pub fn render(m: &Model, env: &str, sdk_version: &str) -> Result<Value, CompileError> {
    let mut templates: Vec<Template> = Vec::with_capacity(m.tasks.len() + 4);
    let mut dag: Vec<DagTask> = Vec::with_capacity(m.tasks.len() + 1);

    if let Some(v) = &m.volume {
        templates.push(Template::Resource(create_pvc_template(m, v, sdk_version)?));
        dag.push(DagTask::named(VOLUME_CREATE));
    }
    for t in &m.tasks {
        templates.push(container_template(m, t, env, sdk_version, false));
        dag.push(dag_task(m, t));
    }
    templates.insert(
        0,
        Template::Entry(EntryTemplate {
            name: &m.name,
            dag: Dag { tasks: dag },
        }),
    );

    let on_exit = exit_handler(m, env, sdk_version, &mut templates);
    let spec = WorkflowSpec {
        arguments: (!m.params.is_empty()).then(|| Arguments {
            parameters: m
                .params
                .iter()
                .map(|p| Parameter::arg(&p.name, as_text(&p.value)))
                .collect(),
        }),
        entrypoint: &m.name,
        image_pull_secrets: m
            .image_pull_secrets
            .iter()
            .map(|s| LocalObjectReference { name: s })
            .collect(),
        on_exit,
        service_account_name: m.service_account.as_deref().unwrap_or("pipeline-runner"),
        templates,
        ttl_strategy: TtlStrategy {
            seconds_after_completion: m.ttl.min(i32::MAX as u64),
        },
    };
    let summary = PipelineSpecSummary {
        description: m.description.as_deref(),
        inputs: m
            .params
            .iter()
            .map(|p| SpecInput {
                default: as_text(&p.value),
                name: &p.name,
                optional: true,
                kind: v1_type(&p.value),
            })
            .collect(),
        name: &m.name,
    };
    let wf = Workflow {
        api_version: "argoproj.io/v1alpha1",
        kind: "Workflow",
        metadata: WorkflowMeta {
            annotations: WorkflowAnnotations {
                sdk_version,
                pipeline_spec: serde_json::to_string(&summary).unwrap_or_default(),
            },
            generate_name: format!("{}-", m.name),
            labels: SdkLabel { sdk_version },
        },
        spec,
    };
    serde_json::to_value(&wf).map_err(|source| CompileError::Document {
        action: "build the Argo workflow",
        source,
    })
}

/// Adds what runs after the pipeline whatever its outcome (the on-exit task, the volume's
/// delete step, or both in a DAG) to `templates`; the name of the template `onExit` runs.
fn exit_handler<'a>(
    m: &'a Model,
    env: &str,
    sdk: &'a str,
    templates: &mut Vec<Template<'a>>,
) -> Option<&'a str> {
    if !m.has_exit_handler() {
        return None;
    }
    let delete = m.volume.as_ref().is_some_and(|v| v.delete);
    if let (Some(t), false) = (&m.on_exit, delete) {
        templates.push(container_template(m, t, env, sdk, true));
        return Some(&t.name);
    }
    let mut tasks = Vec::new();
    if let Some(t) = &m.on_exit {
        templates.push(container_template(m, t, env, sdk, true));
        tasks.push(DagTask::named(&t.name));
    }
    templates.push(Template::Resource(delete_pvc_template(sdk)));
    tasks.push(DagTask {
        arguments: Some(Arguments {
            parameters: vec![Parameter::arg(
                "pvc-name",
                format!("{{{{workflow.outputs.parameters.{PVC_GLOBAL}}}}}"),
            )],
        }),
        // After the on-exit step, whatever its result (Argo's enhanced depends,
        // argo-workflows docs/enhanced-depends-logic.md): the on-exit pipeline may read the
        // volume.
        depends: m
            .on_exit
            .as_ref()
            .map(|t| format!("{0}.Succeeded || {0}.Failed || {0}.Errored", t.name)),
        ..DagTask::named(VOLUME_DELETE)
    });
    templates.push(Template::Dag(DagTemplate {
        dag: Dag { tasks },
        name: EXIT_HANDLER,
    }));
    Some(EXIT_HANDLER)
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

fn dag_task<'a>(m: &'a Model, t: &'a Task) -> DagTask<'a> {
    let mut args: Vec<Parameter> = Vec::new();
    if t.data_mount.is_some() {
        args.push(Parameter::arg(
            PVC_PARAM,
            format!("{{{{tasks.{VOLUME_CREATE}.outputs.parameters.{PVC_PARAM}}}}}"),
        ));
    }
    if t.mlflow {
        args.push(Parameter::arg(
            MLFLOW_OUTPUT,
            format!("{{{{tasks.{MLFLOW_START}.outputs.parameters.{MLFLOW_OUTPUT}}}}}"),
        ));
    }
    for p in &t.params {
        args.push(Parameter::arg(
            p,
            format!("{{{{workflow.parameters.{p}}}}}"),
        ));
    }
    let mut deps: Vec<&str> = t.after.iter().map(String::as_str).collect();
    if m.volume.is_some() {
        deps.push(VOLUME_CREATE);
    }
    deps.sort_unstable();
    deps.dedup();
    DagTask {
        arguments: (!args.is_empty()).then_some(Arguments { parameters: args }),
        dependencies: deps,
        ..DagTask::named(&t.name)
    }
}

const STALENESS: &str = "pipelines.kubeflow.org/max_cache_staleness";

/// A template's pod metadata: the user's labels and annotations with KFP's caching ones.
fn metadata<'a>(
    m: &'a Model,
    t_labels: &'a BTreeMap<String, String>,
    t_ann: &'a BTreeMap<String, String>,
    cache: bool,
    sdk: &'a str,
) -> TemplateMeta<'a> {
    let mut labels: BTreeMap<&str, &str> = t_labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    labels.insert("pipelines.kubeflow.org/kfp_sdk_version", sdk);
    labels.insert("pipelines.kubeflow.org/pipeline-sdk-type", "kfp");
    labels.insert(
        "pipelines.kubeflow.org/enable_caching",
        if cache { "true" } else { "false" },
    );
    let mut annotations: BTreeMap<&str, &str> = t_ann
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match (m.cache, &m.staleness) {
        (Cache::Off, _) => {
            annotations.insert(STALENESS, "P0D");
        }
        (_, Some(s)) => {
            annotations.insert(STALENESS, s);
        }
        _ => {}
    }
    if !cache {
        annotations.insert(STALENESS, "P0D");
    }
    TemplateMeta {
        annotations,
        labels,
    }
}

fn container_template<'a>(
    m: &'a Model,
    t: &'a Task,
    env: &str,
    sdk: &'a str,
    in_exit: bool,
) -> Template<'a> {
    let (command, args) = model::container_command(t, m, env, Target::Argo);

    let mut envs: Vec<EnvVar> = Vec::new();
    let plain = |name, value| EnvVar {
        name,
        value: Some(value),
        value_from: None,
    };
    if t.role != Role::VolumeInit {
        envs.push(plain("KUBEFLOW_RUN_ID", Cow::Borrowed("{{workflow.uid}}")));
    }
    envs.extend(t.env.iter().map(|(k, v)| plain(k, Cow::Borrowed(v))));
    if t.mlflow {
        let id = Target::Argo.placeholder(Ph::MlflowRunId, t);
        envs.push(plain("MLFLOW_RUN_ID", Cow::Owned(id)));
    }
    envs.extend(t.secrets.iter().map(|s| EnvVar {
        name: &s.env,
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: SecretKeySelector {
                key: &s.key,
                name: &s.secret,
            },
        }),
    }));

    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    if let Some(path) = t.data_mount {
        // The exit handler runs outside the main DAG: it reads the PVC's name from the create
        // step's global output, as the delete step does.
        let claim_name = if in_exit {
            format!("{{{{workflow.outputs.parameters.{PVC_GLOBAL}}}}}")
        } else {
            format!("{{{{inputs.parameters.{PVC_PARAM}}}}}")
        };
        mounts.push(VolumeMount {
            mount_path: path,
            name: DATA_VOLUME,
        });
        volumes.push(Volume::Claim(ClaimVolume {
            name: DATA_VOLUME,
            persistent_volume_claim: ClaimSource { claim_name },
        }));
    }
    for v in &t.volumes {
        mounts.push(VolumeMount {
            mount_path: &v.mount_path,
            name: &v.name,
        });
        volumes.push(Volume::Extra(ExtraVolume {
            source: VolumeSource(&v.kind, &v.source),
            name: &v.name,
        }));
    }

    let mut inputs: Vec<Parameter> = Vec::new();
    if t.data_mount.is_some() && !in_exit {
        inputs.push(Parameter::input(PVC_PARAM));
    }
    if t.mlflow {
        inputs.push(Parameter::input(MLFLOW_OUTPUT));
    }
    if !in_exit {
        inputs.extend(t.params.iter().map(|p| Parameter::input(p)));
    }

    let mut outputs = Outputs {
        parameters: Vec::new(),
        artifacts: t
            .artifacts
            .iter()
            .map(|(name, path)| Artifact { name, path })
            .collect(),
    };
    if t.role == Role::MlflowStart {
        outputs.parameters.push(Parameter::output(
            MLFLOW_OUTPUT,
            ValueFrom {
                json_path: None,
                path: Some(ARGO_MLFLOW_FILE),
            },
        ));
    }

    Template::Container(Box::new(ContainerTemplate {
        affinity: t.affinity.as_ref().map(|(_, a)| a),
        container: Container {
            args,
            command,
            env: envs,
            image: &t.image,
            image_pull_policy: t.pull_policy,
            resources: (!t.resources.is_empty()).then_some(Resources {
                limits: ResourceList(&t.resources),
                requests: ResourceList(&t.resources),
            }),
            volume_mounts: mounts,
        },
        inputs: (!inputs.is_empty()).then_some(Inputs { parameters: inputs }),
        metadata: metadata(m, &t.labels, &t.annotations, t.cache, sdk),
        name: &t.name,
        node_selector: &t.node_selector,
        outputs,
        retry_strategy: t.retry.as_ref().map(retry_strategy),
        security_context: t
            .run_as_user
            .map(|uid| PodSecurityContext { run_as_user: uid }),
        tolerations: &t.tolerations,
        volumes,
    }))
}

fn retry_strategy(r: &model::Retry) -> RetryStrategy<'_> {
    RetryStrategy {
        backoff: Backoff {
            duration: &r.backoff,
            factor: if r.factor.fract() == 0.0 {
                IntOrString::Int(r.factor as i64)
            } else {
                IntOrString::String(r.factor.to_string())
            },
            // The whole retry window from the first attempt (argo-workflows
            // workflow/controller/operator.go); always written, as in the v2 IR.
            max_duration: &r.max_duration.0,
        },
        limit: r.limit,
        retry_policy: "Always",
    }
}

fn create_pvc_template<'a>(
    m: &'a Model,
    v: &model::DataVolume,
    sdk: &'a str,
) -> Result<ResourceTemplate<'a>, CompileError> {
    let manifest = PersistentVolumeClaim {
        api_version: "v1",
        kind: "PersistentVolumeClaim",
        metadata: ObjectName {
            name: format!("{{{{workflow.name}}}}-{}", v.suffix),
        },
        spec: PvcSpec {
            access_modes: &v.access_modes,
            resources: StorageRequest {
                requests: Storage { storage: &v.size },
            },
            storage_class_name: v.storage_class.as_deref(),
        },
    };
    let manifest = serde_yaml::to_string(&manifest)?;
    static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();
    let json_path = |name, path| {
        Parameter::output(
            name,
            ValueFrom {
                json_path: Some(path),
                path: None,
            },
        )
    };
    Ok(ResourceTemplate {
        inputs: None,
        // Never cached: a cached create step hands out a PVC that no longer exists.
        metadata: metadata(m, &NO_LABELS, &NO_LABELS, false, sdk),
        name: VOLUME_CREATE,
        outputs: Outputs {
            parameters: vec![
                json_path("data-volume-create-manifest", "{}"),
                Parameter {
                    global_name: Some(PVC_GLOBAL),
                    ..json_path(PVC_PARAM, "{.metadata.name}")
                },
                json_path("data-volume-create-size", "{.status.capacity.storage}"),
            ],
            artifacts: Vec::new(),
        },
        resource: Resource {
            action: "create",
            manifest,
        },
    })
}

fn delete_pvc_template(sdk: &str) -> ResourceTemplate<'_> {
    let manifest = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: '{{inputs.parameters.pvc-name}}'\n";
    ResourceTemplate {
        inputs: Some(Inputs {
            parameters: vec![Parameter::input("pvc-name")],
        }),
        metadata: TemplateMeta {
            annotations: BTreeMap::new(),
            labels: BTreeMap::from([
                ("pipelines.kubeflow.org/enable_caching", "false"),
                ("pipelines.kubeflow.org/kfp_sdk_version", sdk),
                ("pipelines.kubeflow.org/pipeline-sdk-type", "kfp"),
            ]),
        },
        name: VOLUME_DELETE,
        outputs: Outputs {
            parameters: Vec::new(),
            artifacts: Vec::new(),
        },
        resource: Resource {
            action: "delete",
            manifest: manifest.to_string(),
        },
    }
}
