//! The task model shared by both targets: everything a pod needs, resolved once from config,
//! snapshot and task graph. `v2.rs` and `argo.rs` only render it.
//!
//! Per-node settings (`resources`, `tolerations`, `affinity`, `retry_policy`, `extra_volumes`,
//! `node_selector`) are looked up for each Kedro node by, in order: the node name, its sanitised
//! name (kedro-kubeflow's keys), its tags (in sorted order), then `__default__`. A task that
//! groups several nodes combines their settings (see `combine_*` below and the README).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::compile::names::{self, Unique};
use crate::compile::params;
use crate::compile::{CompileError, CompileInput};
use crate::config::{
    default_resources, ExtraVolume, RetryPolicy, RunConfig, Toleration, DEFAULT_KEY,
};
use crate::graph::NodeDef;

/// `backoff_max_duration` when the config gives none: the KFP SDK's default (3600s).
pub const DEFAULT_RETRY_WINDOW: &str = "1h";
/// Where the data volume is mounted in node pods (kedro-docker's project root is /home/kedro).
pub const DATA_MOUNT: &str = "/home/kedro/data";
/// Where the init step mounts the fresh volume to copy the image's data into it.
pub const INIT_MOUNT: &str = "/home/kedro/datavolume";
/// Names of the compiler's own tasks; node tasks never take them.
pub const VOLUME_CREATE: &str = "data-volume-create";
pub const VOLUME_INIT: &str = "data-volume-init";
pub const VOLUME_DELETE: &str = "data-volume-delete";
pub const MLFLOW_START: &str = "mlflow-start-run";
pub const ON_EXIT: &str = "on-exit";
pub const EXIT_HANDLER: &str = "exit-handler-1";
/// KFP v2: the sub-DAG run at exit when there is both an on-exit pipeline and a volume to delete.
pub const EXIT_STEPS: &str = "exit-steps";
/// KFP v2: the task input parameter whose runtime value is `{{$.pipeline_job_uuid}}`.
pub const RUN_ID_INPUT: &str = "kubeflow-run-id";
/// The output parameter carrying the MLflow run id.
pub const MLFLOW_OUTPUT: &str = "mlflow-run-id";
/// KFP v2: the task input parameter carrying a node task's `--nodes` list (a constant).
pub const NODES_INPUT: &str = "kedro-nodes";

#[derive(Debug, Clone)]
pub struct Model {
    /// `pipelineInfo.name` / workflow `generateName` stem: the sanitised project name.
    pub name: String,
    /// The Kedro pipeline.
    pub pipeline: String,
    pub description: Option<String>,
    pub params: Vec<Param>,
    /// Container tasks before the node tasks (mlflow start, volume init), then node tasks in
    /// topological order.
    pub tasks: Vec<Task>,
    /// The on-exit Kedro pipeline's task.
    pub on_exit: Option<Task>,
    pub volume: Option<DataVolume>,
    pub cache: Cache,
    /// `max_cache_staleness` as written (Argo's `max_cache_staleness` annotation).
    pub staleness: Option<String>,
    pub ttl: u64,
    pub service_account: Option<String>,
    pub image_pull_secrets: Vec<String>,
    pub warnings: Vec<String>,
}

impl Model {
    /// The pipeline parameter `name` (`params` is sorted by name).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.params[i])
    }

    /// True when something must run after the pipeline whatever its outcome.
    pub fn has_exit_handler(&self) -> bool {
        self.on_exit.is_some() || self.volume.as_ref().is_some_and(|v| v.delete)
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub value: Value,
    /// The value the project declares (`parameters*.yml`): the types handed to Kedro.
    pub declared: Value,
    /// How the task's dumper reads the value (`str`, `yaml` or `int:<skeleton>`, see
    /// `DUMPER`): computed once here, not per task.
    pub kind: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// No setting: the platform's default (on).
    Default,
    /// `max_cache_staleness: P0D`.
    Off,
}

#[derive(Debug, Clone)]
pub struct DataVolume {
    /// PVC name after the run's own prefix (`<pipeline>-data-volume`).
    pub suffix: String,
    pub size: String,
    pub storage_class: Option<String>,
    pub access_modes: Vec<String>,
    pub init: bool,
    pub delete: bool,
    pub owner: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Node,
    MlflowStart,
    VolumeInit,
    OnExit,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub role: Role,
    /// The Kedro nodes it runs (empty for the compiler's own tasks).
    pub nodes: Vec<String>,
    /// Tasks (by model name) it runs after, within the main DAG.
    pub after: Vec<String>,
    /// Pipeline parameters it receives, by name.
    pub params: Vec<String>,
    pub image: String,
    pub pull_policy: &'static str,
    /// `kedro run …` (or the step's shell line) that follows the parameter dumper; for a node
    /// task without its node list and `--config` (added by [`container_command`]).
    pub run_line: String,
    /// A node task's `--nodes` value (Kedro >= 0.19, not the whole pipeline): in KFP v2 IR a task
    /// input, so tasks that differ only in their nodes share one component and executor.
    pub node_list: Option<String>,
    /// Plain environment (IAP_CLIENT_ID, KEDRO_CONFIG_*, run_config.env), in order.
    pub env: Vec<(String, String)>,
    pub secrets: Vec<SecretEnv>,
    /// (resource name, quantity) used as both request and limit: cpu, memory, then others sorted.
    pub resources: Vec<(String, String)>,
    pub retry: Option<Retry>,
    pub tolerations: Vec<Toleration>,
    /// A Kubernetes `Affinity` in camelCase at every level, with the `run_config.affinity` key
    /// it came from.
    pub affinity: Option<(String, Map<String, Value>)>,
    pub node_selector: BTreeMap<String, String>,
    pub volumes: Vec<ExtraMount>,
    /// Mount path of the data volume in this task, when there is one.
    pub data_mount: Option<&'static str>,
    pub run_as_user: Option<i64>,
    /// (artifact name, path) of local files the task writes (KFP v1 only).
    pub artifacts: Vec<(String, String)>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Receives MLFLOW_RUN_ID from the mlflow start task.
    pub mlflow: bool,
    pub cache: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEnv {
    pub secret: String,
    pub key: String,
    pub env: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub limit: u32,
    /// As written (`60s`, `5m`); Argo takes it as is.
    pub backoff: String,
    /// In seconds (the IR's protobuf Duration).
    pub backoff_seconds: f64,
    pub factor: f64,
    /// The whole retry window measured from the first attempt: (as written, seconds); the
    /// default `DEFAULT_RETRY_WINDOW` when the config gives none.
    pub max_duration: (String, f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExtraMount {
    /// Volume name, sanitised as a Kubernetes name.
    pub name: String,
    pub mount_path: String,
    /// camelCase source key: `emptyDir`, `configMap`, `secret`, `persistentVolumeClaim`, …
    pub kind: String,
    /// The source object in Kubernetes camelCase.
    pub source: Value,
}

/// A placeholder the renderers fill in with their format's syntax.
#[derive(Debug, Clone, Copy)]
pub enum Ph<'a> {
    Param(&'a str),
    RunId,
    MlflowRunId,
    MlflowOutputFile,
    ExitStatus,
    /// The task's `--nodes` value (KFP v2: the `kedro-nodes` task input).
    Nodes,
}

/// A compile target: the document kind, where a pod's runtime values go and how placeholders
/// are written. Everything that differs between the targets' commands is here, not in boolean
/// switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// KFP v2 pipeline IR + Kubernetes platform spec (the API's v2 pipelines).
    V2Ir,
    /// Argo Workflow (the API's v1 pipelines, compiled as the kfp 1.8 SDK does).
    Argo,
}

impl From<crate::config::KfpVersion> for Target {
    fn from(v: crate::config::KfpVersion) -> Self {
        match v {
            crate::config::KfpVersion::V2 => Target::V2Ir,
            crate::config::KfpVersion::V1 => Target::Argo,
        }
    }
}

/// Where Argo's MLflow start step writes the run id (its output parameter's `valueFrom.path`).
pub const ARGO_MLFLOW_FILE: &str = "/tmp/mlflow_run_id";

impl Target {
    /// True when the run id, MLflow run id and node list reach the shell as container
    /// arguments: the KFP v2 backend resolves `{{$.pipeline_job_uuid}}` only as a task input
    /// and its launcher substitutes placeholders only in args (kubeflow/pipelines
    /// backend/src/v2/driver/resolve.go, backend/src/v2/component/launcher_v2.go). Argo
    /// substitutes `{{…}}` in the whole template, so its renderer puts them in `env`.
    pub fn runtime_in_args(self) -> bool {
        self == Target::V2Ir
    }

    /// `p` in the target's placeholder syntax, for `task`'s container.
    pub fn placeholder(self, p: Ph, task: &Task) -> String {
        match self {
            Target::V2Ir => match p {
                Ph::Param(name) => format!("{{{{$.inputs.parameters['{name}']}}}}"),
                Ph::RunId => format!("{{{{$.inputs.parameters['{RUN_ID_INPUT}']}}}}"),
                Ph::MlflowRunId => format!("{{{{$.inputs.parameters['{MLFLOW_OUTPUT}']}}}}"),
                Ph::MlflowOutputFile => {
                    format!("{{{{$.outputs.parameters['{MLFLOW_OUTPUT}'].output_file}}}}")
                }
                Ph::ExitStatus => "{{$.inputs.parameters['status']}}".into(),
                Ph::Nodes => format!("{{{{$.inputs.parameters['{NODES_INPUT}']}}}}"),
            },
            Target::Argo => match p {
                // The on-exit task runs outside the main DAG (the workflow's onExit) and takes
                // no inputs: it reads the workflow's parameters.
                Ph::Param(name) if task.role == Role::OnExit => {
                    format!("{{{{workflow.parameters.{name}}}}}")
                }
                Ph::Param(name) => format!("{{{{inputs.parameters.{name}}}}}"),
                Ph::RunId => "{{workflow.uid}}".into(),
                Ph::MlflowRunId => format!("{{{{inputs.parameters.{MLFLOW_OUTPUT}}}}}"),
                Ph::MlflowOutputFile => ARGO_MLFLOW_FILE.into(),
                Ph::ExitStatus => "{{workflow.status}}".into(),
                // Not asked for: Argo's script carries the node list itself.
                Ph::Nodes => task.node_list.clone().unwrap_or_default(),
            },
        }
    }

    /// The placeholder for the failed nodes' messages handed to the on-exit task beside its
    /// status: Argo's `{{workflow.failures}}` (argo-workflows docs/variables.md, exit handler
    /// variables); KFP v2's status parameter already carries the error.
    pub fn exit_failures(self) -> Option<&'static str> {
        match self {
            Target::V2Ir => None,
            Target::Argo => Some("{{workflow.failures}}"),
        }
    }

    /// True when a node task declares the local files its datasets write as output artifacts
    /// (kedro-kubeflow's `store_kedro_outputs_as_kfp_artifacts`, KFP v1 only).
    pub fn has_output_artifacts(self) -> bool {
        self == Target::Argo
    }

    /// True when the backend applies pod (anti-)affinity: the KFP v2 driver applies only node
    /// affinity from the platform spec (kubeflow/pipelines backend/src/v2/driver/k8s.go).
    pub fn applies_pod_affinity(self) -> bool {
        self == Target::Argo
    }
}

/// Build the model. Pure: every input is in `input`.
pub fn build(input: &CompileInput) -> Result<Model, CompileError> {
    let rc = &input.config.run_config;
    let snapshot = input.snapshot;
    let graph = input.tasks;
    let target = Target::from(input.kfp_version);
    let mut warnings = Vec::new();

    // The config's one validator (`kfpx config --check`'s): a config typed and checked by
    // `config::load` passes; a hand-built one is refused with the key path of its first problem.
    if let Some(p) = crate::config::validate::validate(input.config)
        .into_iter()
        .next()
    {
        return Err(CompileError::Config {
            path: p.path,
            msg: p.msg,
        });
    }
    check_keys(input, &mut warnings)?;

    let tree = params::merge_namespaced(&snapshot.parameters);
    let image = image(input)?;
    let cache = match &rc.max_cache_staleness {
        Some(d) if d.is_zero() => Cache::Off,
        _ => Cache::Default,
    };
    let volume = data_volume(input);
    let base = Base {
        rc,
        image: &image,
        env: base_env(rc, input.compile_env),
        secrets: secret_env(rc),
        run_as_user: volume.as_ref().and_then(|v| v.owner),
        cache: cache != Cache::Off,
    };
    // Where node and on-exit tasks mount the data volume.
    let data_mount = volume.as_ref().map(|_| DATA_MOUNT);

    let mut tasks = Vec::with_capacity(graph.tasks.len() + 2);
    setup_tasks(&base, volume.as_ref(), &mut tasks)?;
    let mut all_params = BTreeSet::new();
    node_tasks(input, &base, &tree, data_mount, &mut tasks, &mut all_params)?;
    let on_exit = on_exit_task(input, &base, &tree, data_mount, &mut all_params)?;

    if !target.applies_pod_affinity() {
        ignored_pod_affinity(
            tasks.iter().chain(on_exit.iter()),
            input.strict,
            &mut warnings,
        )?;
    }
    let pipeline_params = pipeline_params(input, &tree, &all_params)?;

    Ok(Model {
        name: names::workflow(&snapshot.project.name),
        pipeline: graph.pipeline.clone(),
        description: rc.description.clone(),
        params: pipeline_params,
        tasks,
        on_exit,
        volume,
        cache,
        staleness: rc.max_cache_staleness.as_ref().map(|d| d.text.clone()),
        ttl: rc.ttl,
        service_account: rc.service_account.clone(),
        image_pull_secrets: rc.image_pull_secrets.clone(),
        warnings,
    })
}

/// The image, `-i` over `run_config.image`; an empty one is an error.
fn image(input: &CompileInput) -> Result<String, CompileError> {
    let image = input.image.unwrap_or(&input.config.run_config.image);
    if image.trim().is_empty() {
        return Err(match input.image {
            Some(_) => CompileError::EmptyImageFlag,
            None => CompileError::Config {
                path: run_config().key("image"),
                msg: "the image is empty; set it here or pass -i IMAGE".into(),
            },
        });
    }
    Ok(image.to_string())
}

/// The data volume of `run_config.volume`, named after the pipeline.
fn data_volume(input: &CompileInput) -> Option<DataVolume> {
    input.config.run_config.volume.as_ref().map(|v| DataVolume {
        suffix: names::pvc_suffix(&input.tasks.pipeline),
        size: v.size.to_string(),
        storage_class: v.storageclass.clone(),
        access_modes: v.access_modes.clone(),
        init: !v.skip_init,
        delete: !v.keep,
        owner: v.owner,
    })
}

/// The compiler's own tasks that run before every node task: the MLflow start step, then the
/// volume's init step.
fn setup_tasks(
    base: &Base,
    volume: Option<&DataVolume>,
    tasks: &mut Vec<Task>,
) -> Result<(), CompileError> {
    if base.rc.mlflow.enabled {
        let mut t = base.aux(MLFLOW_START, Role::MlflowStart)?;
        t.run_line = String::new();
        tasks.push(t);
    }
    if volume.is_some_and(|v| v.init) {
        let mut t = base.aux(VOLUME_INIT, Role::VolumeInit)?;
        t.run_line = format!("cp --verbose -r {DATA_MOUNT}/* {INIT_MOUNT}");
        t.data_mount = Some(INIT_MOUNT);
        t.volumes.clear();
        t.cache = false;
        tasks.push(t);
    }
    Ok(())
}

/// One task per task of the graph, after the setup tasks already in `tasks`; the parameters
/// they use are added to `all_params`.
fn node_tasks(
    input: &CompileInput,
    base: &Base,
    tree: &Map<String, Value>,
    data_mount: Option<&'static str>,
    tasks: &mut Vec<Task>,
    all_params: &mut BTreeSet<String>,
) -> Result<(), CompileError> {
    let (rc, graph, snapshot) = (base.rc, input.tasks, input.snapshot);
    let target = Target::from(input.kfp_version);
    let old_kedro = kedro_before_0_18_5(&snapshot.project.kedro_version);
    let first_deps: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
    let mut unique = Unique::reserving(&[
        VOLUME_CREATE,
        VOLUME_INIT,
        VOLUME_DELETE,
        MLFLOW_START,
        ON_EXIT,
        EXIT_HANDLER,
        EXIT_STEPS,
        names::workflow(&snapshot.project.name).as_str(),
    ]);
    let mut by_graph_name: HashMap<&str, String> = HashMap::with_capacity(graph.tasks.len());
    for gt in &graph.tasks {
        let name = unique.claim(names::op_name(&gt.name));
        by_graph_name.insert(gt.name.as_str(), name.clone());
        let keys: Vec<NodeKeys> = gt.nodes.iter().map(NodeKeys::of).collect();
        let used = params::used_by(gt.nodes.iter(), tree);
        all_params.extend(used.iter().cloned());
        let mut after: Vec<String> = first_deps.clone();
        for dep in &gt.depends_on {
            let Some(d) = by_graph_name.get(dep.as_str()) else {
                return Err(CompileError::UnknownDependency {
                    task: gt.name.clone(),
                    dependency: dep.clone(),
                });
            };
            after.push(d.clone());
        }
        let (run, node_list) = node_run_line(input.env, &graph.pipeline, gt, old_kedro);
        let artifacts = if target.has_output_artifacts() && rc.store_kedro_outputs_as_kfp_artifacts
        {
            artifacts_of(&name, gt.nodes.iter(), snapshot)
        } else {
            Vec::new()
        };
        let mut t = base.task(name, Role::Node, &keys)?;
        t.nodes = gt.nodes.iter().map(|n| n.name.clone()).collect();
        t.after = after;
        t.params = used;
        t.run_line = run;
        t.node_list = node_list;
        t.artifacts = artifacts;
        t.mlflow = rc.mlflow.enabled;
        t.data_mount = data_mount;
        tasks.push(t);
    }
    Ok(())
}

/// A node task's `kedro run` line and its `--nodes` list: Kedro before 0.18.5 takes one
/// `--node` per node, written into the line; later ones take a comma-separated list.
fn node_run_line(
    env: &str,
    pipeline: &str,
    gt: &crate::graph::Task,
    old_kedro: bool,
) -> (String, Option<String>) {
    let mut run = format!(
        "kedro run --env {} --pipeline {}",
        names::sh_quote(env),
        names::sh_quote(pipeline)
    );
    let mut node_list = None;
    if !gt.whole_pipeline {
        if old_kedro {
            for n in &gt.nodes {
                run.push_str(&format!(" --node {}", names::sh_quote(&n.name)));
            }
        } else {
            let list: Vec<&str> = gt.nodes.iter().map(|n| n.name.as_str()).collect();
            node_list = Some(list.join(","));
        }
    }
    (run, node_list)
}

/// The task running `run_config.on_exit_pipeline`, when there is one; the parameters it uses
/// are added to `all_params`.
fn on_exit_task(
    input: &CompileInput,
    base: &Base,
    tree: &Map<String, Value>,
    data_mount: Option<&'static str>,
    all_params: &mut BTreeSet<String>,
) -> Result<Option<Task>, CompileError> {
    let Some(p) = &base.rc.on_exit_pipeline else {
        return Ok(None);
    };
    let snapshot = input.snapshot;
    let Some(def) = snapshot.pipelines.get(p) else {
        let known: Vec<&str> = snapshot.pipelines.keys().map(String::as_str).collect();
        return Err(CompileError::Config {
            path: run_config().key("on_exit_pipeline"),
            msg: format!(
                "the project has no pipeline {p:?}; its pipelines are: {}",
                known.join(", ")
            ),
        });
    };
    let used = params::used_by(def.nodes.iter(), tree);
    all_params.extend(used.iter().cloned());
    let mut t = base.aux(ON_EXIT, Role::OnExit)?;
    t.run_line = format!(
        "kedro run --config config.yaml --env {} --pipeline {}",
        names::sh_quote(input.env),
        names::sh_quote(p)
    );
    t.params = used;
    // It reads the run's datasets (a report, metrics for a notification).
    t.data_mount = data_mount;
    Ok(Some(t))
}

/// The pipeline parameters the tasks use, with their `--param` overrides; an override of a
/// parameter no task uses is an error.
fn pipeline_params(
    input: &CompileInput,
    tree: &Map<String, Value>,
    all_params: &BTreeSet<String>,
) -> Result<Vec<Param>, CompileError> {
    let mut out = Vec::with_capacity(all_params.len());
    for name in all_params {
        let default = tree.get(name).cloned().unwrap_or(Value::Null);
        let value = match input.param_overrides.get(name) {
            Some(v) => params::coerce_override(name, &default, v.clone())?,
            None => default,
        };
        let declared = tree.get(name).cloned().unwrap_or(Value::Null);
        let kind = dump_kind(&value, &declared);
        out.push(Param {
            name: name.clone(),
            value,
            declared,
            kind,
        });
    }
    if let Some(unknown) = input
        .param_overrides
        .keys()
        .find(|k| !all_params.contains(k.as_str()))
    {
        return Err(CompileError::UnknownParam {
            name: unknown.clone(),
            pipeline: input.tasks.pipeline.clone(),
            known: all_params.iter().map(|k| k.to_string()).collect(),
        });
    }
    Ok(out)
}

/// The names of the pipeline parameters `build` would declare (for `--param` checking).
pub fn parameter_names(input: &CompileInput) -> Vec<String> {
    let tree = params::merge_namespaced(&input.snapshot.parameters);
    let mut all: std::collections::BTreeSet<String> = input
        .tasks
        .tasks
        .iter()
        .flat_map(|t| params::used_by(t.nodes.iter(), &tree))
        .collect();
    if let Some(def) = input
        .config
        .run_config
        .on_exit_pipeline
        .as_ref()
        .and_then(|p| input.snapshot.pipelines.get(p))
    {
        all.extend(params::used_by(def.nodes.iter(), &tree));
    }
    all.into_iter().collect()
}

/// Pod affinity and pod anti-affinity are not read by the KFP v2 backend: its driver applies
/// only node affinity from the platform spec (kubeflow/pipelines `backend/src/v2/driver/k8s.go`).
/// One warning per config key and kind naming the nodes; an error under `--strict`.
fn ignored_pod_affinity<'a>(
    tasks: impl Iterator<Item = &'a Task>,
    strict: bool,
    warnings: &mut Vec<String>,
) -> Result<(), CompileError> {
    let mut by_key: BTreeMap<(String, &'static str), Vec<String>> = BTreeMap::new();
    for t in tasks {
        let Some((key, aff)) = &t.affinity else {
            continue;
        };
        for (field, name) in [
            ("podAffinity", "pod_affinity"),
            ("podAntiAffinity", "pod_anti_affinity"),
        ] {
            if aff.get(field).is_some() {
                let who = if t.nodes.is_empty() {
                    vec![t.name.clone()]
                } else {
                    t.nodes.clone()
                };
                by_key.entry((key.clone(), name)).or_default().extend(who);
            }
        }
    }
    for ((key, name), nodes) in by_key {
        let shown: Vec<&str> = nodes.iter().take(5).map(String::as_str).collect();
        let more = if nodes.len() > 5 {
            format!(" and {} more", nodes.len() - 5)
        } else {
            String::new()
        };
        let what = format!(
            "ignored by the KFP v2 backend (it applies node affinity only), so {} {}{more} {} without it; use --kfp-version 1 to keep it",
            if nodes.len() == 1 { "node" } else { "nodes" },
            shown.join(", "),
            if nodes.len() == 1 { "runs" } else { "run" },
        );
        if strict {
            return Err(CompileError::Config {
                path: run_config().key("affinity").key(&key).key(name),
                msg: format!("{what} (an error because of --strict)"),
            });
        }
        warnings.push(format!("run_config.affinity.{key}.{name} is {what}"));
    }
    Ok(())
}

// ---- shell command -----------------------------------------------------------------------------

/// The dumpers' shared head: `fix` restores the integers the project declared. KFP passes a
/// `STRUCT`/`LIST` parameter as a `google.protobuf.Value`, where every number is a double; the
/// SDK's local runner renders `8` as `8.0` (protobuf `google/protobuf/struct.proto`: `number_value` is a double; kfp `sdk/python/kfp/local` executor input). The
/// kind `int:<skeleton>` carries the declared type skeleton (see `int_skeleton`): where it has
/// `0`, an integral float becomes an int again.
macro_rules! dumper_head {
    () => {
        r#"import json,sys,yaml
def f(v,d):
 if type(v)==float and d==0 and v%1==0:return int(v)
 if type(v)==dict==type(d):return{k:f(x,d.get(k))for k,x in v.items()}
 if d and type(v)==list==type(d):return[f(x,d[min(i,len(d)-1)])for i,x in enumerate(v)]
 return v
def l(t,v):return v if t=="str"else f(yaml.safe_load(v),json.loads(t[4:])if t[:4]=="int:"else None)
a=sys.argv[1:];p={}
"#
    };
}

/// The inline Python that writes the task's parameters to `config.yaml` as `{run: {params}}`
/// (kedro-kubeflow's dumper): arguments come in triples `name kind value`; kind `str` keeps the
/// text, `yaml` parses it (lists, dicts, numbers, booleans survive), `int:<skeleton>` parses it
/// and restores the declared integers. Kept short: it is repeated in every task's command.
pub const DUMPER: &str = concat!(
    dumper_head!(),
    r#"for i in range(0,len(a)-2,3):p[a[i]]=l(a[i+1],a[i+2])
yaml.safe_dump({"run":{"params":p}},open("config.yaml","w"))
"#
);

/// The on-exit task's dumper: as `DUMPER`, plus kind `status`, the pipeline's final status
/// (KFP v2's JSON or an Argo status word), written as the `status` and `failures` parameters.
pub const EXIT_DUMPER: &str = concat!(
    dumper_head!(),
    r#"for i in range(0,len(a)-2,3):
 k,t,v=a[i:i+3]
 if t=="status":s=json.loads(v)if v[:1]=="{"else{"state":v};p["status"]=s.get("state","");p["failures"]=json.dumps(s.get("error")or{})
 else:p[k]=l(t,v)
yaml.safe_dump({"run":{"params":p}},open("config.yaml","w"))
"#
);

/// How the dumper reads a parameter: `str` keeps a string value's text; otherwise `yaml`, or
/// `int:<skeleton>` when the declared value holds integers.
fn dump_kind(value: &Value, declared: &Value) -> String {
    match (value, int_skeleton(declared)) {
        (Value::String(_), _) => "str".to_string(),
        (_, Some(sk)) => format!("int:{sk}"),
        (_, None) => "yaml".to_string(),
    }
}

/// Where `v` holds integers: `0` for an integer, a mapping of the keys whose values hold some,
/// a list (one entry when all items agree); None when there is no integer.
pub fn int_skeleton(v: &Value) -> Option<Value> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(Value::from(0)),
        Value::Object(m) => {
            let out: Map<String, Value> = m
                .iter()
                .filter_map(|(k, x)| int_skeleton(x).map(|s| (k.clone(), s)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let items: Vec<Option<Value>> = a.iter().map(int_skeleton).collect();
            if items.iter().all(Option::is_none) {
                return None;
            }
            if items.windows(2).all(|w| w[0] == w[1]) {
                return Some(Value::Array(vec![items[0].clone().unwrap_or(Value::Null)]));
            }
            Some(Value::Array(
                items
                    .into_iter()
                    .map(|x| x.unwrap_or(Value::Null))
                    .collect(),
            ))
        }
        _ => None,
    }
}

/// Starts an MLflow run in the project image (through the Kedro session so kedro-mlflow's
/// tracking settings apply), tags it with the KFP run id and writes its id to a file.
pub const MLFLOW_START_PY: &str = r#"import os, sys
import mlflow
env, kfp_run_id, out = sys.argv[1:4]
try:
    from pathlib import Path
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    bootstrap_project(Path.cwd())
    with KedroSession.create(env=env) as session:
        session.load_context()
except Exception as e:
    print("kfpx: MLflow settings from Kedro not applied (%s); using MLflow's environment" % e, file=sys.stderr)
run = mlflow.start_run()
mlflow.set_tag("kubeflow_run_id", kfp_run_id)
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
with open(out, "w") as f:
    f.write(run.info.run_id)
print("Started run:", run.info.run_id)
"#;

/// A task's container `command` and `args` for `target`. Where the target takes runtime values
/// from arguments (KFP v2), the shell exports KUBEFLOW_RUN_ID and MLFLOW_RUN_ID from them;
/// otherwise the renderer puts them in `env`.
pub fn container_command(
    task: &Task,
    model: &Model,
    env: &str,
    target: Target,
) -> (Vec<String>, Vec<String>) {
    let ph = |p: Ph| target.placeholder(p, task);
    match task.role {
        Role::MlflowStart => (
            vec!["python".into(), "-c".into(), MLFLOW_START_PY.into()],
            vec![env.to_string(), ph(Ph::RunId), ph(Ph::MlflowOutputFile)],
        ),
        Role::VolumeInit => (
            vec!["sh".into(), "-c".into(), task.run_line.clone()],
            Vec::new(),
        ),
        Role::Node | Role::OnExit => {
            let mut script = String::new();
            let mut args = vec!["kfpx".to_string()];
            // KFP v2: the node list is a task input (the same executor serves every task that
            // differs only in its nodes); Argo: written into the script.
            let nodes_in_args = target.runtime_in_args() && task.node_list.is_some();
            if target.runtime_in_args() {
                export_runtime_args(task, nodes_in_args, &ph, &mut script, &mut args);
            }
            if !task.params.is_empty() || task.role == Role::OnExit {
                dump_params(task, model, target, &ph, &mut script, &mut args);
            }
            script.push_str(&task.run_line);
            if task.role == Role::Node {
                node_run_options(task, nodes_in_args, &mut script);
            }
            (vec!["bash".into(), "-c".into(), script], args)
        }
    }
}

/// `export KUBEFLOW_RUN_ID="$1" [MLFLOW_RUN_ID="$2"] [&& nodes="$N"] && shift N && `, with the
/// placeholders those positions take.
fn export_runtime_args(
    task: &Task,
    nodes_in_args: bool,
    ph: &dyn Fn(Ph) -> String,
    script: &mut String,
    args: &mut Vec<String>,
) {
    script.push_str("export KUBEFLOW_RUN_ID=\"$1\"");
    args.push(ph(Ph::RunId));
    let mut shift = 1;
    if task.mlflow {
        script.push_str(" MLFLOW_RUN_ID=\"$2\"");
        args.push(ph(Ph::MlflowRunId));
        shift += 1;
    }
    if nodes_in_args {
        shift += 1;
        script.push_str(&format!(" && nodes=\"${shift}\""));
        args.push(ph(Ph::Nodes));
    }
    if shift == 1 {
        script.push_str(" && shift");
    } else {
        script.push_str(&format!(" && shift {shift}"));
    }
    script.push_str(" && ");
}

/// The parameter dumper (`DUMPER`, or `EXIT_DUMPER` for the on-exit task) and its
/// `name kind value` argument triples.
fn dump_params(
    task: &Task,
    model: &Model,
    target: Target,
    ph: &dyn Fn(Ph) -> String,
    script: &mut String,
    args: &mut Vec<String>,
) {
    script.push_str("python -c '");
    script.push_str(if task.role == Role::OnExit {
        EXIT_DUMPER
    } else {
        DUMPER
    });
    script.push_str("' \"$@\" && ");
    for p in &task.params {
        let kind = model.param(p).map_or("yaml", |x| x.kind.as_str());
        args.extend([p.clone(), kind.to_string(), ph(Ph::Param(p))]);
    }
    if task.role == Role::OnExit {
        args.extend(["status".into(), "status".into(), ph(Ph::ExitStatus)]);
        if let Some(failures) = target.exit_failures() {
            args.extend(["failures".into(), "str".into(), failures.into()]);
        }
    }
}

/// A node task's `--nodes` (from the script's `$nodes` or written in) and `--config`.
fn node_run_options(task: &Task, nodes_in_args: bool, script: &mut String) {
    if let Some(list) = &task.node_list {
        if nodes_in_args {
            script.push_str(" --nodes \"$nodes\"");
        } else {
            script.push_str(" --nodes ");
            script.push_str(&names::sh_quote(list));
        }
    }
    if !task.params.is_empty() {
        script.push_str(" --config config.yaml");
    }
}

// ---- per-node settings -------------------------------------------------------------------------

struct NodeKeys<'a> {
    name: &'a str,
    sanitised: String,
    tags: Vec<&'a str>,
}

impl<'a> NodeKeys<'a> {
    fn of(n: &'a NodeDef) -> Self {
        let mut tags: Vec<&str> = n.tags.iter().map(String::as_str).collect();
        tags.sort_unstable();
        NodeKeys {
            name: &n.name,
            sanitised: names::op_name(&n.name),
            tags,
        }
    }

    fn aux(name: &'a str) -> Self {
        NodeKeys {
            name,
            sanitised: name.to_string(),
            tags: Vec::new(),
        }
    }

    /// The node's own entry: by name, sanitised name, then tag.
    fn find<'m, V>(&self, map: &'m BTreeMap<String, V>) -> Option<&'m V> {
        if map.is_empty() {
            return None;
        }
        map.get(self.name)
            .or_else(|| map.get(&self.sanitised))
            .or_else(|| self.tags.iter().find_map(|t| map.get(*t)))
    }
}

struct Base<'a> {
    rc: &'a RunConfig,
    image: &'a str,
    env: Vec<(String, String)>,
    secrets: Vec<SecretEnv>,
    run_as_user: Option<i64>,
    cache: bool,
}

impl Base<'_> {
    fn aux(&self, name: &str, role: Role) -> Result<Task, CompileError> {
        self.task(name.to_string(), role, &[NodeKeys::aux(name)])
    }

    fn task(&self, name: String, role: Role, keys: &[NodeKeys]) -> Result<Task, CompileError> {
        let rc = self.rc;
        Ok(Task {
            resources: combine_resources(rc, keys),
            retry: combine_retry(rc, keys)?,
            tolerations: combine_tolerations(rc, keys),
            affinity: combine_affinity(rc, keys),
            node_selector: combine_node_selector(rc, keys, &name)?,
            volumes: combine_volumes(rc, keys)?,
            name,
            role,
            nodes: Vec::new(),
            after: Vec::new(),
            params: Vec::new(),
            image: self.image.to_string(),
            pull_policy: rc.image_pull_policy.as_str(),
            run_line: String::new(),
            node_list: None,
            env: self.env.clone(),
            secrets: self.secrets.clone(),
            data_mount: None,
            run_as_user: self.run_as_user,
            artifacts: Vec::new(),
            labels: rc.labels.clone(),
            annotations: rc.annotations.clone(),
            mlflow: false,
            cache: self.cache,
        })
    }
}

/// Resources: `__default__` (the built-in `{cpu: 500m, memory: 1024Mi}` when the user gives
/// none) with the node's entry merged over it, one level deep; a grouped task takes, per
/// resource, the largest quantity any of its nodes asks for.
fn combine_resources(rc: &RunConfig, keys: &[NodeKeys]) -> Vec<(String, String)> {
    let builtin = default_resources();
    let default = rc
        .resources
        .get(DEFAULT_KEY)
        .or_else(|| builtin.get(DEFAULT_KEY))
        .cloned()
        .unwrap_or_default();
    let mut best: BTreeMap<String, (f64, String)> = BTreeMap::new();
    for k in keys {
        let mut merged = default.clone();
        if let Some(own) = k.find(&rc.resources) {
            merged.extend(own.iter().map(|(a, b)| (a.clone(), b.clone())));
        }
        for (res, q) in merged {
            let text = q.to_string();
            let v = q.value();
            match best.get(&res) {
                Some((b, _)) if *b >= v => {}
                _ => {
                    best.insert(res, (v, text));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(best.len());
    for first in ["cpu", "memory"] {
        if let Some((_, q)) = best.remove(first) {
            out.push((first.to_string(), q));
        }
    }
    out.extend(best.into_iter().map(|(k, (_, q))| (k, q)));
    out
}

/// Retry: the node's entry with missing fields filled from `__default__` (an explicit `null`
/// entry means no retry); a grouped task takes the policy with the most retries.
fn combine_retry(rc: &RunConfig, keys: &[NodeKeys]) -> Result<Option<Retry>, CompileError> {
    let default = rc.retry_policy.get(DEFAULT_KEY).cloned().flatten();
    let mut best: Option<Retry> = None;
    for k in keys {
        let (policy, key) = match k.find(&rc.retry_policy) {
            Some(None) => continue,
            Some(Some(own)) => (Some(fill_retry(own, default.as_ref())), k.name),
            None => (default.clone(), DEFAULT_KEY),
        };
        let Some(p) = policy else { continue };
        let r = resolve_retry(&p, key)?;
        if best.as_ref().is_none_or(|b| r.limit > b.limit) {
            best = Some(r);
        }
    }
    Ok(best)
}

fn fill_retry(own: &RetryPolicy, default: Option<&RetryPolicy>) -> RetryPolicy {
    let Some(d) = default else { return own.clone() };
    RetryPolicy {
        num_retries: own.num_retries.or(d.num_retries),
        backoff_duration: own.backoff_duration.clone().or(d.backoff_duration.clone()),
        backoff_factor: own.backoff_factor.or(d.backoff_factor),
        backoff_max_duration: own
            .backoff_max_duration
            .clone()
            .or(d.backoff_max_duration.clone()),
    }
}

/// The retry strategy of a filled policy (durations and factor were checked by the config's
/// validator).
fn resolve_retry(p: &RetryPolicy, key: &str) -> Result<Retry, CompileError> {
    let missing = |field: &str, example: &str| CompileError::Config {
        path: run_config().key("retry_policy").key(key),
        msg: format!("missing {field} (set it here or in __default__, e.g. {field}: {example})"),
    };
    let limit = p.num_retries.ok_or_else(|| missing("num_retries", "3"))?;
    let backoff = p
        .backoff_duration
        .clone()
        .ok_or_else(|| missing("backoff_duration", "60s"))?;
    let factor = p
        .backoff_factor
        .ok_or_else(|| missing("backoff_factor", "2"))?;
    // Always written: the KFP v2 backend (>= 2.14) uses "0" for a missing backoffMaxDuration,
    // and Argo measures maxDuration from the first attempt, so a missing value ends the retry
    // window at the first failure. The default is the KFP SDK's (`3600s`).
    let max_duration = match &p.backoff_max_duration {
        None => (DEFAULT_RETRY_WINDOW.to_string(), 3600.0),
        Some(m) => (m.text.clone(), m.seconds),
    };
    Ok(Retry {
        limit,
        backoff: backoff.text,
        backoff_seconds: backoff.seconds,
        factor,
        max_duration,
    })
}

/// Tolerations: the node's list replaces `__default__`'s (`[]` means none); a grouped task
/// tolerates what any of its nodes tolerates.
fn combine_tolerations(rc: &RunConfig, keys: &[NodeKeys]) -> Vec<Toleration> {
    let mut out: Vec<Toleration> = Vec::new();
    for k in keys {
        let list = k
            .find(&rc.tolerations)
            .or_else(|| rc.tolerations.get(DEFAULT_KEY));
        for t in list.into_iter().flatten() {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

/// Affinity: the first node (in Kedro order) with its own entry, else `__default__`.
fn combine_affinity(rc: &RunConfig, keys: &[NodeKeys]) -> Option<(String, Map<String, Value>)> {
    let (key, v) = keys
        .iter()
        .find_map(|k| k.find(&rc.affinity).map(|v| (key_of(&rc.affinity, k), v)))
        .or_else(|| {
            rc.affinity
                .get(DEFAULT_KEY)
                .map(|v| (DEFAULT_KEY.to_string(), v))
        })?;
    // Checked by `validate_config`; a value that does not convert gives no affinity.
    match crate::config::affinity::to_kubernetes(v) {
        Ok(Value::Object(m)) if !m.is_empty() => Some((key, m)),
        _ => None,
    }
}

/// The key of `map` that `NodeKeys::find` matched.
fn key_of<V>(map: &BTreeMap<String, V>, k: &NodeKeys) -> String {
    if map.contains_key(k.name) {
        k.name.to_string()
    } else if map.contains_key(&k.sanitised) {
        k.sanitised.clone()
    } else {
        k.tags
            .iter()
            .find(|t| map.contains_key(**t))
            .map(|t| t.to_string())
            .unwrap_or_default()
    }
}

/// Node selector: the node's own labels, else `__default__`'s. A grouped task needs the labels
/// of every node with its own entry (two values for one label are an error); only when none of
/// its nodes has one does `__default__` apply.
fn combine_node_selector(
    rc: &RunConfig,
    keys: &[NodeKeys],
    task: &str,
) -> Result<BTreeMap<String, String>, CompileError> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut from: BTreeMap<String, &str> = BTreeMap::new();
    for k in keys {
        let Some(own) = k.find(&rc.node_selector) else {
            continue;
        };
        for (label, value) in own {
            match out.get(label) {
                Some(v) if v != value => {
                    return Err(CompileError::Config {
                        path: run_config().key("node_selector"),
                        msg: format!(
                            "nodes {:?} and {:?} share task {task:?} but need {label}={v} and {label}={value}; give them the same label or put them in different tasks",
                            from[label], k.name
                        ),
                    });
                }
                _ => {
                    from.insert(label.clone(), k.name);
                    out.insert(label.clone(), value.clone());
                }
            }
        }
    }
    if from.is_empty() && !keys.iter().any(|k| k.find(&rc.node_selector).is_some()) {
        if let Some(default) = rc.node_selector.get(DEFAULT_KEY) {
            out = default.clone();
        }
    }
    Ok(out)
}

/// Extra volumes: the node's list replaces `__default__`'s; a grouped task mounts every volume
/// its nodes mount (first one wins per mount path).
fn combine_volumes(rc: &RunConfig, keys: &[NodeKeys]) -> Result<Vec<ExtraMount>, CompileError> {
    let mut out: Vec<ExtraMount> = Vec::new();
    for k in keys {
        let (list, key) = match k.find(&rc.extra_volumes) {
            Some(l) => (Some(l), k.name),
            None => (rc.extra_volumes.get(DEFAULT_KEY), DEFAULT_KEY),
        };
        for (i, ev) in list.into_iter().flatten().enumerate() {
            let m = extra_mount(ev, &run_config().key("extra_volumes").key(key).index(i))?;
            if !out.iter().any(|o| o.mount_path == m.mount_path) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// One `extra_volumes` entry in Kubernetes form, from kedro-kubeflow's `{cls, params}` form or
/// plain Kubernetes (snake_case or camelCase). Its shape (a name, one source, an absolute
/// mount path) was checked by the config's validator; `at` is the entry's key path.
pub fn extra_mount(
    ev: &ExtraVolume,
    at: &crate::config::KeyPath,
) -> Result<ExtraMount, CompileError> {
    let vol = normalise_k8s(&ev.volume);
    let shape = || CompileError::Config {
        path: at.key("volume"),
        msg: "a volume needs a name and exactly one source (such as empty_dir or config_map)"
            .into(),
    };
    let Value::Object(m) = vol else {
        return Err(shape());
    };
    let Some(Value::String(name)) = m.get("name") else {
        return Err(shape());
    };
    let mut sources = m.iter().filter(|(k, _)| *k != "name");
    let (Some((kind, source)), None) = (sources.next(), sources.next()) else {
        return Err(shape());
    };
    Ok(ExtraMount {
        name: names::k8s_name(name),
        mount_path: ev.mount_path.clone(),
        kind: kind.clone(),
        source: source.clone(),
    })
}

/// `{cls: X, params: {...}}` → the params; snake_case keys → camelCase; recursively.
fn normalise_k8s(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            if m.contains_key("cls") && m.keys().all(|k| k == "cls" || k == "params") {
                return m
                    .get("params")
                    .map(normalise_k8s)
                    .unwrap_or(Value::Object(Map::new()));
            }
            Value::Object(
                m.iter()
                    .map(|(k, v)| (names::camel(k), normalise_k8s(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(normalise_k8s).collect()),
        other => other.clone(),
    }
}

fn base_env(rc: &RunConfig, compile_env: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(iap) = compile_env.get("IAP_CLIENT_ID") {
        out.push(("IAP_CLIENT_ID".into(), iap.clone()));
    }
    for (k, v) in compile_env {
        if k.starts_with("KEDRO_CONFIG_") {
            out.push((k.clone(), v.clone()));
        }
    }
    out.retain(|(k, _)| !rc.env.contains_key(k));
    out.extend(rc.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

fn secret_env(rc: &RunConfig) -> Vec<SecretEnv> {
    rc.secrets
        .iter()
        .flat_map(|(secret, keys)| {
            keys.iter().map(move |k| SecretEnv {
                secret: secret.clone(),
                key: k.clone(),
                env: k.clone(),
            })
        })
        .collect()
}

fn artifacts_of<'a>(
    task: &str,
    nodes: impl Iterator<Item = &'a NodeDef>,
    snapshot: &crate::graph::Snapshot,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    for n in nodes {
        for o in &n.outputs {
            let Some(fp) = snapshot.datasets.get(o).and_then(|d| d.filepath.as_deref()) else {
                continue;
            };
            let local = fp.strip_prefix("file://").unwrap_or(fp);
            if local.contains("://") {
                continue;
            }
            let path = if local.starts_with('/') {
                local.to_string()
            } else {
                format!("/home/kedro/{local}")
            };
            let name = names::artifact(task, o);
            if seen.insert(name.clone()) {
                out.push((name, path));
            }
        }
    }
    out
}

// ---- checks that need the project ------------------------------------------------------------

/// Per-node keys that match no node, sanitised name, tag or compiler task: a warning with a
/// did-you-mean, an error under `--strict`.
fn check_keys(input: &CompileInput, warnings: &mut Vec<String>) -> Result<(), CompileError> {
    let rc = &input.config.run_config;
    let sections: [(&str, Vec<&String>); 6] = [
        ("resources", rc.resources.keys().collect()),
        ("tolerations", rc.tolerations.keys().collect()),
        ("affinity", rc.affinity.keys().collect()),
        ("retry_policy", rc.retry_policy.keys().collect()),
        ("extra_volumes", rc.extra_volumes.keys().collect()),
        ("node_selector", rc.node_selector.keys().collect()),
    ];
    if sections
        .iter()
        .all(|(_, keys)| keys.iter().all(|k| *k == DEFAULT_KEY))
    {
        return Ok(());
    }
    let mut known: HashSet<String> = HashSet::new();
    for p in input.snapshot.pipelines.values() {
        for n in &p.nodes {
            if !known.contains(&n.name) {
                known.insert(n.name.clone());
                known.insert(names::op_name(&n.name));
                known.extend(n.tags.iter().cloned());
            }
        }
    }
    for n in [MLFLOW_START, VOLUME_INIT, ON_EXIT] {
        known.insert(n.to_string());
    }
    let mut sorted: Vec<&str> = Vec::new();
    for (section, keys) in &sections {
        for key in keys {
            if *key == DEFAULT_KEY || known.contains(key.as_str()) {
                continue;
            }
            if sorted.is_empty() {
                sorted = known.iter().map(String::as_str).collect();
                sorted.sort_unstable();
            }
            let hint = crate::text::did_you_mean(key, sorted.iter().copied())
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_else(|| "; keys are Kedro node names, tags or __default__".into());
            let what = format!("matches no node or tag of the project{hint}");
            if input.strict {
                return Err(CompileError::Config {
                    path: run_config().key(section).key(key),
                    msg: format!("{what} (an error because of --strict)"),
                });
            }
            warnings.push(format!("run_config.{section}.{key} {what}"));
        }
    }
    Ok(())
}

/// The key path of `run_config`, under which compile errors about config keys are placed.
fn run_config() -> crate::config::KeyPath {
    crate::config::KeyPath::root().key("run_config")
}

fn kedro_before_0_18_5(version: &str) -> bool {
    let parts: Vec<u32> = version
        .split('.')
        .take(3)
        .map(|p| {
            p.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        })
        .collect();
    let v = (
        parts.first().copied().unwrap_or(0),
        parts.get(1).copied().unwrap_or(0),
        parts.get(2).copied().unwrap_or(0),
    );
    v < (0, 18, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kedro_versions() {
        assert!(kedro_before_0_18_5("0.18.4"));
        assert!(kedro_before_0_18_5("0.17.7"));
        assert!(!kedro_before_0_18_5("0.18.5"));
        assert!(!kedro_before_0_18_5("0.19.14"));
        assert!(!kedro_before_0_18_5("1.0.0rc1"));
    }

    #[test]
    fn cls_params_volumes_become_kubernetes_form() {
        let ev: ExtraVolume = serde_yaml::from_str(
            "mount_path: /dev/shm\nvolume: {name: shared_memory, empty_dir: {cls: V1EmptyDirVolumeSource, params: {medium: Memory, size_limit: 1Gi}}}",
        )
        .unwrap();
        let m = extra_mount(&ev, &crate::config::KeyPath::root()).unwrap();
        assert_eq!(m.name, "shared-memory");
        assert_eq!(m.kind, "emptyDir");
        assert_eq!(
            m.source,
            serde_json::json!({"medium": "Memory", "sizeLimit": "1Gi"})
        );
        let ev: ExtraVolume = serde_yaml::from_str(
            "mount_path: /cfg\nvolume: {name: cfg, configMap: {name: app-config, items: [{cls: V1KeyToPath, params: {key: a, path: b}}]}}",
        )
        .unwrap();
        let m = extra_mount(&ev, &crate::config::KeyPath::root()).unwrap();
        assert_eq!(m.kind, "configMap");
        assert_eq!(
            m.source,
            serde_json::json!({"name": "app-config", "items": [{"key": "a", "path": "b"}]})
        );
        let bad: ExtraVolume = serde_yaml::from_str("mount_path: /x\nvolume: {name: a}").unwrap();
        assert!(extra_mount(&bad, &crate::config::KeyPath::root())
            .unwrap_err()
            .to_string()
            .contains("exactly one source"));
    }
}
