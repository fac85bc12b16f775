//! KFP v2 IR (PipelineSpec + the kubernetes PlatformSpec) → [`Plan`], and each task's inputs
//! resolved as the backend resolves them when the task starts:
//!
//! * input parameters (`backend/src/v2/driver/resolve.go`): `componentInputParameter` from the
//!   enclosing DAG (the root's are the pipeline parameters: `--param`, else `defaultValue`),
//!   `taskOutputParameter` from a finished task's output, `runtimeValue.constant` with the five
//!   run placeholders replaced only when the constant is exactly one of them
//!   (`{{$.pipeline_job_name}}`, `…_resource_name`, `…_uuid`, `{{$.pipeline_task_name}}`,
//!   `{{$.pipeline_task_uuid}}`), `taskFinalStatus` as a struct `{state, pipelineTaskName,
//!   pipelineJobResourceName, error}` of the task's first `dependentTasks` entry, `state` being the
//!   ML Metadata execution state (`COMPLETE` / `FAILED`);
//! * placeholders in `command` and `args` (`backend/src/v2/component/launcher_v2.go`
//!   `getPlaceholders`): `{{$.inputs.parameters['x']}}` (rendered by [`launcher_text`]),
//!   `{{$.outputs.parameters['x'].output_file}}`, `{{$}}`; any other `{{$.…}}` text reaches the
//!   pod literally, as on the cluster (the driver resolves run placeholders only as an input
//!   parameter's `runtimeValue.constant`: `backend/src/v2/driver/resolve.go`), and run-local
//!   says so.
//!
//! Component defaults fill inputs a task does not pass (launcher `addDefaultParams`). Output
//! parameters are read from their files after the command succeeds (launcher
//! `collectOutputParameters`); a missing file fails the task.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::local::plan::{
    launcher_text, parse_duration, unsupported, Action, Dep, Launch, Mount, MountSource, Outcome,
    Plan, Retry, RunState, Spec, Task, ARGOSTUB_CREATE, ARGOSTUB_DELETE,
};

/// Where the pod's launcher puts output parameter files (mapped to the task's directory).
pub const OUTPUT_DIR: &str = "/tmp/kfp/outputs";
/// The launcher's executor output file (`OutputMetadataFilepath`).
const OUTPUT_METADATA: &str = "/tmp/kfp_outputs/output_metadata.json";

/// The placeholders the driver resolves in a `runtimeValue.constant`.
const RUN_PLACEHOLDERS: [&str; 5] = [
    "{{$.pipeline_job_name}}",
    "{{$.pipeline_job_resource_name}}",
    "{{$.pipeline_job_uuid}}",
    "{{$.pipeline_task_name}}",
    "{{$.pipeline_task_uuid}}",
];

/// Where a value comes from, resolved when the task starts.
#[derive(Debug, Clone)]
pub enum Source {
    Const(Value),
    Output {
        task: usize,
        key: String,
    },
    FinalStatus {
        producer: String,
        members: Vec<usize>,
    },
}

#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// The task's name in its DAG (`{{$.pipeline_task_name}}`).
    pub task_name: String,
    pub executor: String,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub inputs: BTreeMap<String, Source>,
    /// Declared output parameters and their types.
    pub outputs: BTreeMap<String, String>,
    pub secret_env: Vec<(String, String, bool)>,
    pub mounts: Vec<(String, MountFrom)>,
}

#[derive(Debug, Clone)]
pub enum MountFrom {
    Pvc(Source),
    EmptyDir,
}

/// Parse the YAML documents of a v2 IR file into a plan. `params` override the pipeline
/// parameters (root `inputDefinitions`).
pub fn parse(docs: &[Value], params: &BTreeMap<String, Value>) -> Result<Plan, String> {
    let spec = docs.first().ok_or("the file holds no YAML document")?;
    let platform = docs
        .iter()
        .skip(1)
        .find(|d| d.get("platforms").is_some())
        .and_then(|d| d.pointer("/platforms/kubernetes/deploymentSpec/executors"))
        .and_then(Value::as_object);
    let name = spec
        .pointer("/pipelineInfo/name")
        .and_then(Value::as_str)
        .unwrap_or("pipeline")
        .to_string();
    let root = spec.get("root").ok_or("the pipeline spec has no `root`")?;
    let mut scope = BTreeMap::new();
    let defs = root
        .pointer("/inputDefinitions/parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for k in params.keys() {
        if !defs.contains_key(k) {
            let known: Vec<&String> = defs.keys().collect();
            return Err(format!(
                "--param {k}: the pipeline has no parameter `{k}` (its parameters: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
    }
    for (k, def) in &defs {
        if let Some(v) = params.get(k) {
            scope.insert(k.clone(), Source::Const(v.clone()));
        } else if let Some(v) = def.get("defaultValue") {
            scope.insert(k.clone(), Source::Const(v.clone()));
        } else if def.get("isOptional").and_then(Value::as_bool) != Some(true) {
            return Err(format!(
                "pipeline parameter `{k}` has no default value: pass --param {k}=VALUE"
            ));
        }
    }
    let dag = root.get("dag").ok_or("`root` has no `dag`")?;
    let mut w = Walker {
        spec,
        platform,
        tasks: Vec::new(),
        names: HashSet::new(),
        notes: Vec::new(),
    };
    w.dag(dag, &scope, &[], false, "")?;
    Ok(Plan {
        name,
        tasks: w.tasks,
        notes: w.notes,
    })
}

struct Walker<'a> {
    spec: &'a Value,
    platform: Option<&'a Map<String, Value>>,
    tasks: Vec<Task>,
    names: HashSet<String>,
    notes: Vec<String>,
}

impl Walker<'_> {
    /// Flatten one DAG; returns each of its tasks' leaves.
    fn dag(
        &mut self,
        dag: &Value,
        scope: &BTreeMap<String, Source>,
        inherited: &[Dep],
        exit: bool,
        path: &str,
    ) -> Result<HashMap<String, Vec<usize>>, String> {
        let tasks = dag
            .get("tasks")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(o) = dag.get("outputs") {
            if o.as_object().is_some_and(|m| !m.is_empty()) {
                return Err(format!(
                    "DAG `{path}` declares outputs; run-local does not resolve DAG outputs"
                ));
            }
        }
        let order = crate::local::plan::topo_order(
            &tasks,
            "dependentTasks",
            if path.is_empty() { "root" } else { path },
        )?;
        let mut leaves: HashMap<String, Vec<usize>> = HashMap::new();
        for key in order {
            let t = &tasks[&key];
            for bad in ["iteratorPolicy", "parameterIterator", "artifactIterator"] {
                if t.get(bad).is_some() {
                    return Err(unsupported(&key, format!("`{bad}` (loops)")));
                }
            }
            if t.pointer("/triggerPolicy/condition").is_some() {
                return Err(unsupported(&key, "`triggerPolicy.condition`"));
            }
            let completed = t.pointer("/triggerPolicy/strategy").and_then(Value::as_str)
                == Some("ALL_UPSTREAM_TASKS_COMPLETED");
            let dep_names: Vec<String> = t
                .get("dependentTasks")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let mut deps = inherited.to_vec();
            for d in &dep_names {
                let l = leaves
                    .get(d)
                    .ok_or_else(|| format!("task `{key}` depends on unknown task `{d}`"))?;
                deps.extend(l.iter().map(|&task| Dep {
                    task,
                    needs_success: !completed,
                }));
            }
            let exit = exit || completed;
            let mut inputs = BTreeMap::new();
            if t.pointer("/inputs/artifacts")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
            {
                return Err(unsupported(&key, "input artifacts"));
            }
            if let Some(ps) = t.pointer("/inputs/parameters").and_then(Value::as_object) {
                for (pname, p) in ps {
                    let src = self.input_source(&key, pname, p, scope, &leaves, &dep_names)?;
                    inputs.insert(pname.clone(), src);
                }
            }
            let comp_name = t
                .pointer("/componentRef/name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("task `{key}` has no componentRef"))?;
            let comp = self
                .spec
                .pointer(&format!("/components/{}", escape_pointer(comp_name)))
                .ok_or_else(|| format!("task `{key}`: component `{comp_name}` is not defined"))?;
            if let Some(defs) = comp
                .pointer("/inputDefinitions/parameters")
                .and_then(Value::as_object)
            {
                for (pname, def) in defs {
                    if inputs.contains_key(pname) {
                        continue;
                    }
                    if let Some(v) = def.get("defaultValue") {
                        inputs.insert(pname.clone(), Source::Const(v.clone()));
                    } else if def.get("isOptional").and_then(Value::as_bool) != Some(true) {
                        return Err(format!(
                            "task `{key}`: input `{pname}` of component `{comp_name}` gets no value"
                        ));
                    }
                }
            }
            if comp
                .pointer("/inputDefinitions/artifacts")
                .or_else(|| comp.pointer("/outputDefinitions/artifacts"))
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
            {
                return Err(unsupported(&key, "artifacts"));
            }
            let child_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}/{key}")
            };
            if let Some(sub) = comp.get("dag") {
                let child = self.dag(sub, &inputs, &deps, exit, &child_path)?;
                let mut all: Vec<usize> = child.into_values().flatten().collect();
                all.sort_unstable();
                leaves.insert(key.clone(), all);
                continue;
            }
            let label = comp
                .get("executorLabel")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("component `{comp_name}` has neither dag nor executor"))?;
            let leaf = self.leaf(&key, label, comp, inputs, scope, &leaves)?;
            let display = if self.names.insert(key.clone()) {
                key.clone()
            } else {
                self.names.insert(child_path.clone());
                child_path.clone()
            };
            let retry = retry_of(t, &display, &mut self.notes)?;
            let idx = self.tasks.len();
            self.tasks.push(Task {
                name: display,
                deps,
                exit,
                retry,
                spec: Spec::V2(Box::new(leaf)),
            });
            leaves.insert(key.clone(), vec![idx]);
        }
        Ok(leaves)
    }

    fn input_source(
        &self,
        task: &str,
        pname: &str,
        p: &Value,
        scope: &BTreeMap<String, Source>,
        leaves: &HashMap<String, Vec<usize>>,
        dep_names: &[String],
    ) -> Result<Source, String> {
        if p.get("parameterExpressionSelector").is_some() {
            return Err(unsupported(
                task,
                format!("input `{pname}` uses parameterExpressionSelector"),
            ));
        }
        if let Some(c) = p.get("componentInputParameter").and_then(Value::as_str) {
            return scope.get(c).cloned().ok_or_else(|| {
                format!("task `{task}`: input `{pname}` reads `{c}`, which the enclosing DAG does not define")
            });
        }
        if let Some(o) = p.get("taskOutputParameter") {
            return output_source(task, o, leaves);
        }
        if let Some(c) = p.pointer("/runtimeValue/constant") {
            return Ok(Source::Const(c.clone()));
        }
        if p.get("taskFinalStatus").is_some() {
            // The driver reads the state of the task's first dependentTasks entry
            // (backend/src/v2/driver/resolve.go, TaskFinalStatus case).
            let producer = dep_names.first().ok_or_else(|| {
                format!("task `{task}`: input `{pname}` is a taskFinalStatus but the task has no dependentTasks")
            })?;
            return Ok(Source::FinalStatus {
                producer: producer.clone(),
                members: leaves.get(producer).cloned().unwrap_or_default(),
            });
        }
        Err(unsupported(
            task,
            format!("input parameter `{pname}` of an unknown kind"),
        ))
    }

    fn leaf(
        &mut self,
        key: &str,
        label: &str,
        comp: &Value,
        inputs: BTreeMap<String, Source>,
        scope: &BTreeMap<String, Source>,
        leaves: &HashMap<String, Vec<usize>>,
    ) -> Result<LeafSpec, String> {
        let exec = self
            .spec
            .pointer(&format!(
                "/deploymentSpec/executors/{}",
                escape_pointer(label)
            ))
            .ok_or_else(|| format!("task `{key}`: executor `{label}` is not defined"))?;
        let container = exec.get("container").ok_or_else(|| {
            unsupported(
                key,
                format!("executor `{label}` is not a container (importer/resolver)"),
            )
        })?;
        let strings = |k: &str| -> Vec<String> {
            container
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| {
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let command = strings("command");
        let args = strings("args");
        for s in command.iter().chain(&args) {
            for ph in RUN_PLACEHOLDERS {
                if s.contains(ph) {
                    let note = format!(
                        "executor `{label}` writes `{ph}` into its command; the KFP backend resolves it only as an input parameter's runtime value, so the pod gets the literal text (kubeflow/pipelines backend/src/v2/driver/resolve.go); run-local passes it literally too"
                    );
                    if !self.notes.contains(&note) {
                        self.notes.push(note);
                    }
                }
            }
        }
        let env = container
            .get("env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some((
                            e.get("name")?.as_str()?.to_string(),
                            e.get("value")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let outputs = comp
            .pointer("/outputDefinitions/parameters")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let t = v
                            .get("parameterType")
                            .and_then(Value::as_str)
                            .unwrap_or("STRING");
                        (k.clone(), t.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut leaf = LeafSpec {
            task_name: key.to_string(),
            executor: label.to_string(),
            image: container
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            command,
            args,
            env,
            inputs,
            outputs,
            secret_env: Vec::new(),
            mounts: Vec::new(),
        };
        if let Some(k8s) = self.platform.and_then(|p| p.get(label)) {
            self.platform_config(key, k8s, &mut leaf, scope, leaves)?;
        }
        Ok(leaf)
    }

    /// The kubernetes executor config: what a local process can get (secrets as env, the run's
    /// volumes, empty dirs) is kept; scheduling settings do not apply to a local process;
    /// anything else is refused.
    fn platform_config(
        &self,
        key: &str,
        k8s: &Value,
        leaf: &mut LeafSpec,
        scope: &BTreeMap<String, Source>,
        leaves: &HashMap<String, Vec<usize>>,
    ) -> Result<(), String> {
        let Some(m) = k8s.as_object() else {
            return Ok(());
        };
        for (k, v) in m {
            match k.as_str() {
                "secretAsEnv" => {
                    for s in v.as_array().into_iter().flatten() {
                        let secret = s
                            .get("secretName")
                            .or_else(|| s.pointer("/secretNameParameter/runtimeValue/constant"))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        let optional = s.get("optional").and_then(Value::as_bool) == Some(true);
                        for kv in s
                            .get("keyToEnv")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(var) = kv.get("envVar").and_then(Value::as_str) {
                                leaf.secret_env
                                    .push((var.to_string(), secret.clone(), optional));
                            }
                        }
                    }
                }
                "pvcMount" => {
                    for p in v.as_array().into_iter().flatten() {
                        let path = p
                            .get("mountPath")
                            .and_then(Value::as_str)
                            .ok_or_else(|| format!("task `{key}`: a pvcMount has no mountPath"))?;
                        let holder = p.get("pvcNameParameter").unwrap_or(p);
                        let src = if let Some(c) = holder
                            .get("componentInputParameter")
                            .and_then(Value::as_str)
                        {
                            leaf.inputs
                                .get(c)
                                .or_else(|| scope.get(c))
                                .cloned()
                                .ok_or_else(|| {
                                    format!(
                                        "task `{key}`: pvcMount reads `{c}`, which is not defined"
                                    )
                                })?
                        } else if let Some(o) = holder.get("taskOutputParameter") {
                            output_source(key, o, leaves)?
                        } else if let Some(c) = holder
                            .pointer("/runtimeValue/constant")
                            .or_else(|| holder.get("constant"))
                        {
                            Source::Const(c.clone())
                        } else {
                            return Err(unsupported(key, "a pvcMount without a PVC name"));
                        };
                        leaf.mounts.push((path.to_string(), MountFrom::Pvc(src)));
                    }
                }
                "emptyDirMounts" => {
                    for e in v.as_array().into_iter().flatten() {
                        if let Some(path) = e.get("mountPath").and_then(Value::as_str) {
                            leaf.mounts.push((path.to_string(), MountFrom::EmptyDir));
                        }
                    }
                }
                // Scheduling, pull and pod metadata settings: a local process has no node to
                // choose, no image to pull, no pod to label; the user id is this user's.
                "nodeSelector"
                | "tolerations"
                | "nodeAffinity"
                | "podAffinity"
                | "imagePullPolicy"
                | "imagePullSecret"
                | "podMetadata"
                | "securityContext"
                | "activeDeadlineSeconds"
                | "enabledSharedMemory" => {}
                other => {
                    return Err(unsupported(
                        key,
                        format!("kubernetes executor setting `{other}`"),
                    ))
                }
            }
        }
        Ok(())
    }
}

fn output_source(
    task: &str,
    o: &Value,
    leaves: &HashMap<String, Vec<usize>>,
) -> Result<Source, String> {
    let producer = o
        .get("producerTask")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("task `{task}`: taskOutputParameter without producerTask"))?;
    let key = o
        .get("outputParameterKey")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("task `{task}`: taskOutputParameter without outputParameterKey"))?;
    match leaves.get(producer).map(Vec::as_slice) {
        Some([one]) => Ok(Source::Output {
            task: *one,
            key: key.to_string(),
        }),
        Some(_) => Err(unsupported(
            task,
            format!("an output of DAG task `{producer}`"),
        )),
        None => Err(format!(
            "task `{task}` reads an output of `{producer}`, which is not an earlier task of its DAG"
        )),
    }
}

/// A task's `retryPolicy` with the backend's semantics: `backoffMaxDuration` is Argo's
/// `backoff.maxDuration`, the whole retry window, and `0` when absent (kubeflow/pipelines
/// `backend/src/v2/compiler/argocompiler/container.go`; Argo measures it from the first attempt,
/// argo-workflows `workflow/controller/operator.go`), so no retry happens without it.
fn retry_of(t: &Value, name: &str, notes: &mut Vec<String>) -> Result<Retry, String> {
    let Some(p) = t.get("retryPolicy") else {
        return Ok(Retry::default());
    };
    let limit = p.get("maxRetryCount").and_then(Value::as_u64).unwrap_or(0) as u32;
    let dur = |k: &str| -> Result<Option<Duration>, String> {
        match p.get(k).and_then(Value::as_str) {
            None => Ok(None),
            Some(s) => parse_duration(s)
                .map(Some)
                .ok_or_else(|| format!("task `{name}`: retryPolicy.{k} `{s}` is not a duration")),
        }
    };
    let max = dur("backoffMaxDuration")?;
    if limit > 0 && max.is_none() {
        notes.push(format!(
            "task `{name}` has retryPolicy.maxRetryCount {limit} but no backoffMaxDuration: the KFP backend (>= 2.14) then closes the retry window at the first failure (kubeflow/pipelines backend/src/v2/compiler/argocompiler/container.go: Argo's backoff.maxDuration defaults to 0), so run-local does not retry it either"
        ));
    }
    Ok(Retry {
        limit,
        backoff: dur("backoffDuration")?.unwrap_or_default(),
        factor: p
            .get("backoffFactor")
            .and_then(Value::as_f64)
            .unwrap_or(2.0),
        max_duration: Some(max.unwrap_or_default()),
    })
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Resolve a task's inputs and command when it starts.
pub fn resolve(
    leaf: &LeafSpec,
    idx: usize,
    name: &str,
    state: &RunState,
) -> Result<Action, String> {
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    for (k, src) in &leaf.inputs {
        values.insert(k.clone(), value_of(src, idx, leaf, state, name)?);
    }
    if leaf.image == ARGOSTUB_CREATE {
        // kfp-kubernetes CreatePVC: `pvc_name`, else a generated name ending in
        // `pvc_name_suffix`; its output `name` is the claim's name.
        let pvc = match values.get("pvc_name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => format!(
                "{}{}",
                state.run_name,
                values
                    .get("pvc_name_suffix")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
        };
        let outputs = BTreeMap::from([("name".to_string(), Value::String(pvc.clone()))]);
        return Ok(Action::CreateVolume {
            name: pvc,
            outputs,
            globals: Vec::new(),
        });
    }
    if leaf.image == ARGOSTUB_DELETE {
        let pvc = values
            .get("pvc_name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("task `{name}`: deletepvc without a pvc_name"))?;
        return Ok(Action::DeleteVolume {
            name: pvc.to_string(),
        });
    }
    if leaf.image.starts_with("argostub/") {
        return Err(unsupported(name, format!("Argo stub `{}`", leaf.image)));
    }
    let outputs: Vec<(String, String)> = leaf
        .outputs
        .keys()
        .map(|k| (k.clone(), format!("{OUTPUT_DIR}/{k}/data")))
        .collect();
    let mut placeholders: Vec<(String, String)> = Vec::new();
    for (k, v) in &values {
        placeholders.push((
            format!("{{{{$.inputs.parameters['{k}']}}}}"),
            launcher_text(v),
        ));
    }
    for (k, path) in &outputs {
        placeholders.push((
            format!("{{{{$.outputs.parameters['{k}'].output_file}}}}"),
            path.clone(),
        ));
    }
    let executor_input = json!({
        "inputs": {"parameterValues": values},
        "outputs": {
            "parameters": outputs.iter().map(|(k, p)| (k.clone(), json!({"outputFile": p}))).collect::<Map<String, Value>>(),
            "outputFile": OUTPUT_METADATA,
        }
    });
    placeholders.push(("{{$}}".to_string(), launcher_text(&executor_input)));
    let mut argv = Vec::new();
    for s in leaf.command.iter().chain(&leaf.args) {
        let mut s = s.clone();
        for (ph, v) in &placeholders {
            if s.contains(ph.as_str()) {
                s = s.replace(ph.as_str(), v);
            }
        }
        for kind in ["{{$.inputs.artifacts", "{{$.outputs.artifacts"] {
            if s.contains(kind) {
                return Err(unsupported(name, "artifact placeholders"));
            }
        }
        if let Some(pos) = s.find("{{$.inputs.parameters[") {
            let end = s[pos..].find("}}").map_or(s.len(), |e| pos + e + 2);
            return Err(format!(
                "task `{name}`: `{}` names an input the task does not have",
                &s[pos..end]
            ));
        }
        argv.push(s);
    }
    if argv.is_empty() {
        return Err(format!(
            "task `{name}`: executor `{}` has no command",
            leaf.executor
        ));
    }
    let mut mounts = Vec::new();
    for (path, from) in &leaf.mounts {
        let source = match from {
            MountFrom::EmptyDir => MountSource::EmptyDir,
            MountFrom::Pvc(src) => {
                let v = value_of(src, idx, leaf, state, name)?;
                let pvc = v
                    .as_str()
                    .ok_or_else(|| format!("task `{name}`: PVC name {v} is not a string"))?;
                MountSource::Volume(pvc.to_string())
            }
        };
        mounts.push(Mount {
            path: path.clone(),
            source,
        });
    }
    Ok(Action::Exec(Launch {
        argv,
        env: leaf.env.clone(),
        secret_env: leaf.secret_env.clone(),
        mounts,
        outputs,
        globals: Vec::new(),
        artifacts: Vec::new(),
    }))
}

fn value_of(
    src: &Source,
    idx: usize,
    leaf: &LeafSpec,
    state: &RunState,
    name: &str,
) -> Result<Value, String> {
    Ok(match src {
        Source::Const(v) => match v.as_str() {
            Some("{{$.pipeline_job_name}}") | Some("{{$.pipeline_job_resource_name}}") => {
                Value::String(state.run_name.clone())
            }
            Some("{{$.pipeline_job_uuid}}") => Value::String(state.run_id.clone()),
            Some("{{$.pipeline_task_name}}") => Value::String(leaf.task_name.clone()),
            Some("{{$.pipeline_task_uuid}}") => Value::String(format!("{}", idx + 1)),
            Some(s) if s.contains("{{$.workspace_path}}") => {
                return Err(unsupported(name, "`{{$.workspace_path}}` (workspaces)"))
            }
            _ => v.clone(),
        },
        Source::Output { task, key } => state
            .outputs
            .get(task)
            .and_then(|o| o.get(key))
            .cloned()
            .ok_or_else(|| {
            format!("task `{name}`: its upstream task produced no output `{key}`")
        })?,
        Source::FinalStatus { producer, members } => {
            let ok = members
                .iter()
                .all(|m| state.outcomes.get(m) == Some(&Outcome::Succeeded));
            json!({
                "error": {},
                "pipelineJobResourceName": state.run_name,
                "pipelineTaskName": producer,
                "state": if ok { "COMPLETE" } else { "FAILED" },
            })
        }
    })
}

/// An output parameter's file content as the launcher reads it (`metadata.TextToPbValue`).
pub fn output_value(leaf: &LeafSpec, key: &str, text: &str) -> Result<Value, String> {
    let ty = leaf
        .outputs
        .get(key)
        .map(String::as_str)
        .unwrap_or("STRING");
    match ty {
        "STRING" => Ok(Value::String(text.to_string())),
        "NUMBER_INTEGER" | "NUMBER_DOUBLE" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .ok_or_else(|| format!("output `{key}` ({ty}) is not a number: {text:?}")),
        "BOOLEAN" => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!(
                "output `{key}` (BOOLEAN) is not true/false: {text:?}"
            )),
        },
        _ => serde_json::from_str(text)
            .map_err(|e| format!("output `{key}` ({ty}) is not JSON: {e}")),
    }
}
