//! KFP v2 IR: a PipelineSpec (schemaVersion 2.1.0) and a PlatformSpec (`platforms.kubernetes`)
//! rendered from the task model, in the shapes the KFP SDK and kfp-kubernetes emit. The
//! documents are the typed structs of `ir.rs`, turned into JSON values once at the end.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde_json::Value;

use crate::compile::ir::{
    self, AcceleratorConfig, CachingOptions, ComponentInputsSpec, ComponentOutputsSpec,
    ComponentRef, ComponentSpec, ConfigMapAsVolume, Constant, DagSpec, DeploymentSpec,
    EmptyDirMount, EnvVar, ExecutorSpec, ExitOf, ImagePullSecret, InputParameterSpec, Json,
    KubernetesExecutorConfig, NodeAffinityTerm, NodeSelector, OutputParameterSpec, ParameterSpec,
    PipelineConfig, PipelineContainerSpec, PipelineInfo, PipelineSpec, PipelineTaskInfo,
    PipelineTaskSpec, PlatformDeploymentConfig, PlatformSpec, Platforms, PodAffinityTerm,
    PodMetadata, PvcMount, PvcReference, ResourceSpec, RetryPolicy, SecretAsEnv, SecretAsVolume,
    SecretKeyToEnvMap, SecurityContext, SinglePlatformSpec, TaskFinalStatus, TaskInputsSpec,
    TaskOutputParameterSpec, Toleration, TriggerPolicy, ValueOrRuntimeParameter,
};
use crate::compile::model::{
    self, ExtraMount, Model, Role, Target, Task, EXIT_HANDLER, EXIT_STEPS, MLFLOW_OUTPUT,
    MLFLOW_START, NODES_INPUT, ON_EXIT, RUN_ID_INPUT, VOLUME_CREATE, VOLUME_DELETE,
};
use crate::compile::names;
use crate::compile::params::kfp_type;
use crate::compile::CompileError;

/// `pipelinechannel--` prefix the SDK gives values passed into a sub-DAG.
const CHANNEL: &str = "pipelinechannel--";
const PVC_CHANNEL: &str = "pipelinechannel--data-volume-create-name";

pub struct Rendered {
    pub pipeline_spec: Value,
    pub platform_spec: Option<Value>,
    pub warnings: Vec<String>,
}

type Tasks<'a> = BTreeMap<&'a str, PipelineTaskSpec<'a>>;

pub fn render(m: &Model, env: &str, sdk_version: &str) -> Result<Rendered, CompileError> {
    let mut r = Renderer {
        m,
        env,
        components: BTreeMap::new(),
        executors: BTreeMap::new(),
        platform: BTreeMap::new(),
        shared: HashMap::new(),
        warnings: Vec::new(),
    };
    let wrapped = m.has_exit_handler();

    // The main DAG: mlflow, init, node tasks (in model order, which names shared components).
    let mut main = Vec::with_capacity(m.tasks.len());
    for t in &m.tasks {
        main.push((t.name.as_str(), r.container_task(t, wrapped)?));
    }
    r.name_shared(&mut main);

    let mut root = Tasks::new();
    if let Some(v) = &m.volume {
        r.create_pvc(&mut root, v);
    }
    if wrapped {
        r.exit_handler(&mut root, main)?;
    } else {
        root.extend(main);
    }

    let pipeline = PipelineSpec {
        components: std::mem::take(&mut r.components),
        deployment_spec: DeploymentSpec {
            executors: std::mem::take(&mut r.executors),
        },
        pipeline_info: PipelineInfo {
            description: m.description.as_deref(),
            name: &m.name,
        },
        root: ComponentSpec {
            dag: Some(DagSpec { tasks: root }),
            input_definitions: root_inputs(m),
            ..ComponentSpec::default()
        },
        schema_version: "2.1.0",
        sdk_version,
    };
    let platform = PlatformSpec {
        platforms: Platforms {
            kubernetes: SinglePlatformSpec {
                deployment_spec: (!r.platform.is_empty()).then(|| PlatformDeploymentConfig {
                    executors: std::mem::take(&mut r.platform),
                }),
                pipeline_config: PipelineConfig {
                    resource_ttl_on_completion: m.ttl.min(i32::MAX as u64),
                },
            },
        },
    };
    Ok(Rendered {
        pipeline_spec: to_value(&pipeline)?,
        platform_spec: Some(to_value(&platform)?),
        warnings: r.warnings,
    })
}

fn to_value(doc: &impl serde::Serialize) -> Result<Value, CompileError> {
    serde_json::to_value(doc).map_err(|source| CompileError::Document {
        action: "render the KFP v2 IR",
        source,
    })
}

/// The pipeline parameters with their defaults, all optional.
fn root_inputs(m: &Model) -> Option<ComponentInputsSpec<'_>> {
    let parameters: BTreeMap<_, _> = m
        .params
        .iter()
        .map(|p| {
            let spec = ParameterSpec {
                default_value: Some(&p.value),
                is_optional: true,
                parameter_type: kfp_type(&p.value),
            };
            (Cow::Borrowed(p.name.as_str()), spec)
        })
        .collect();
    (!parameters.is_empty()).then_some(ComponentInputsSpec { parameters })
}

/// A task running component `comp`, without inputs, dependencies or policies.
fn task(comp: String, name: &str) -> PipelineTaskSpec<'_> {
    PipelineTaskSpec {
        caching_options: None,
        component_ref: ComponentRef { name: comp },
        dependent_tasks: Vec::new(),
        inputs: None,
        retry_policy: None,
        task_info: PipelineTaskInfo { name },
        trigger_policy: None,
        exit_of: None,
    }
}

/// Input definitions, None when there are none (the key is then left out).
fn non_empty(d: ComponentInputsSpec<'_>) -> Option<ComponentInputsSpec<'_>> {
    (!d.parameters.is_empty()).then_some(d)
}

/// Task inputs, None when there are none.
fn non_empty_inputs(i: TaskInputsSpec<'_>) -> Option<TaskInputsSpec<'_>> {
    (!i.parameters.is_empty()).then_some(i)
}

/// The parts of a node task's component that decide whether another task can share it.
type Parts<'a> = (
    Option<ComponentInputsSpec<'a>>,
    PipelineContainerSpec<'a>,
    KubernetesExecutorConfig<'a>,
);

struct Renderer<'a> {
    m: &'a Model,
    env: &'a str,
    components: BTreeMap<String, ComponentSpec<'a>>,
    executors: BTreeMap<String, ExecutorSpec<'a>>,
    platform: BTreeMap<String, KubernetesExecutorConfig<'a>>,
    /// The hash of a node task's component interface, container and platform config to the
    /// components that have them (compared in full on a match).
    shared: HashMap<u64, Vec<String>>,
    warnings: Vec<String>,
}

impl<'a> Renderer<'a> {
    /// One container task: its component, executor, platform config and task spec.
    fn container_task(
        &mut self,
        t: &'a Task,
        wrapped: bool,
    ) -> Result<PipelineTaskSpec<'a>, CompileError> {
        let (in_defs, inputs) = self.interface(t, wrapped);
        let container = self.container(t);
        let k = self.kubernetes(t, wrapped)?;
        let parts: Parts<'a> = (non_empty(in_defs), container, k);

        // Node tasks that differ only in their inputs (node list, run id) share one component
        // and executor (named by `name_shared`): the SDK's reuse of a component, and what the
        // backend's Argo compiler stores once per distinct container (kubeflow/pipelines
        // backend/src/v2/compiler/argocompiler/argo.go, saveProtoToArguments). The cache key
        // still differs per task, as it covers the task's input values
        // (backend/src/v2/cacheutils/cache.go, GenerateCacheKey).
        let shared_key = if t.role == Role::Node {
            let mut h = FxHasher(0);
            parts.hash(&mut h);
            let key = h.finish();
            if let Some(name) = self.component_with(key, &parts) {
                return Ok(self.task_spec(t, wrapped, name, inputs));
            }
            Some(key)
        } else {
            None
        };
        let comp = names::component(&t.name);
        let exec = names::executor(&t.name);
        let (input_definitions, container, k) = parts;
        let component = ComponentSpec {
            executor_label: Some(exec.clone()),
            input_definitions,
            output_definitions: (t.role == Role::MlflowStart).then(|| string_output(MLFLOW_OUTPUT)),
            ..ComponentSpec::default()
        };
        self.components.insert(comp.clone(), component);
        self.executors
            .insert(exec.clone(), ExecutorSpec { container });
        self.platform.insert(exec, k);
        if let Some(key) = shared_key {
            self.shared.entry(key).or_default().push(comp.clone());
        }
        Ok(self.task_spec(t, wrapped, comp, inputs))
    }

    /// The component's input definitions and the task's inputs.
    fn interface(
        &self,
        t: &'a Task,
        wrapped: bool,
    ) -> (ComponentInputsSpec<'a>, TaskInputsSpec<'a>) {
        let m = self.m;
        let mut defs = ComponentInputsSpec::default();
        let mut inputs = TaskInputsSpec::default();
        let mut add = |name: &'a str, ty: &'static str, input: InputParameterSpec<'a>| {
            defs.parameters
                .insert(Cow::Borrowed(name), ParameterSpec::of(ty));
            inputs.parameters.insert(Cow::Borrowed(name), input);
        };
        for p in &t.params {
            let ty = m.param(p).map_or(ir::STRING, |x| kfp_type(&x.value));
            let from = if wrapped {
                Cow::Owned(format!("{CHANNEL}{p}"))
            } else {
                Cow::Borrowed(p.as_str())
            };
            add(p, ty, InputParameterSpec::ComponentInputParameter(from));
        }
        if matches!(t.role, Role::Node | Role::OnExit | Role::MlflowStart) {
            // The backend resolves `{{$.pipeline_job_uuid}}` only as the runtime value of a task
            // input parameter (kubeflow/pipelines backend/src/v2/driver/resolve.go); the
            // launcher substitutes only `{{$.inputs…}}`/`{{$.outputs…}}` in args
            // (backend/src/v2/component/launcher_v2.go). The SDK's form:
            // sdk/python/test_data/pipelines/placeholder_check.*.
            let run_id = InputParameterSpec::constant_str("{{$.pipeline_job_uuid}}");
            add(RUN_ID_INPUT, ir::STRING, run_id);
        }
        if let (Role::Node, Some(list)) = (t.role, &t.node_list) {
            add(
                NODES_INPUT,
                ir::STRING,
                InputParameterSpec::constant_str(list.as_str()),
            );
        }
        if t.mlflow {
            let run_id = InputParameterSpec::TaskOutputParameter(TaskOutputParameterSpec {
                producer_task: MLFLOW_START,
                output_parameter_key: MLFLOW_OUTPUT,
                sorted_keys: false,
            });
            add(MLFLOW_OUTPUT, ir::STRING, run_id);
        }
        if t.role == Role::OnExit {
            let status = ParameterSpec::of(ir::TASK_FINAL_STATUS);
            defs.parameters.insert(Cow::Borrowed("status"), status);
        }
        (defs, inputs)
    }

    /// The task's container: its command line, environment, image and resources.
    fn container(&mut self, t: &'a Task) -> PipelineContainerSpec<'a> {
        let (command, args) = model::container_command(t, self.m, self.env, Target::V2Ir);
        let env = t
            .env
            .iter()
            .filter(|(k, _)| !(t.role == Role::MlflowStart && k == "MLFLOW_RUN_ID"))
            .map(|(name, value)| EnvVar { name, value })
            .collect();
        PipelineContainerSpec {
            args,
            command: Some(command),
            env,
            image: &t.image,
            resources: self.resources(t),
        }
    }

    /// The component already made with exactly these parts, if any (`key` is their hash).
    fn component_with(&self, key: u64, parts: &Parts<'a>) -> Option<String> {
        let names = self.shared.get(&key)?;
        names.iter().find(|c| self.has_parts(c, parts)).cloned()
    }

    /// Whether component `comp` has exactly this interface, container and platform config.
    fn has_parts(&self, comp: &str, (in_defs, container, k): &Parts<'a>) -> bool {
        let Some(spec) = self.components.get(comp) else {
            return false;
        };
        let Some(exec) = &spec.executor_label else {
            return false;
        };
        spec.input_definitions == *in_defs
            && self
                .executors
                .get(exec)
                .is_some_and(|e| e.container == *container)
            && self.platform.get(exec) == Some(k)
    }

    /// The DAG task that runs component `comp` with `inputs`.
    fn task_spec(
        &self,
        t: &'a Task,
        wrapped: bool,
        comp: String,
        inputs: TaskInputsSpec<'a>,
    ) -> PipelineTaskSpec<'a> {
        let mut deps: Vec<&str> = t.after.iter().map(String::as_str).collect();
        if self.m.volume.is_some() && !wrapped && t.role != Role::OnExit {
            deps.push(VOLUME_CREATE);
        }
        deps.sort_unstable();
        deps.dedup();
        PipelineTaskSpec {
            caching_options: Some(CachingOptions {
                enable_cache: t.cache,
            }),
            dependent_tasks: deps,
            inputs: non_empty_inputs(inputs),
            retry_policy: t.retry.as_ref().map(retry_policy),
            ..task(comp, &t.name)
        }
    }

    /// A component used by several tasks of `tasks` (only node tasks share) is named
    /// `kedro-run` (`-2`, `-3`, … in order of first use, skipping names a task's own component
    /// has), not after the first task using it.
    fn name_shared(&mut self, tasks: &mut [(&'a str, PipelineTaskSpec<'a>)]) {
        let mut order: Vec<String> = Vec::new();
        let mut uses: HashMap<String, usize> = HashMap::new();
        for (_, spec) in tasks.iter() {
            let comp = &spec.component_ref.name;
            let n = uses.entry(comp.clone()).or_default();
            if *n == 0 {
                order.push(comp.clone());
            }
            *n += 1;
        }
        let mut renamed: HashMap<String, String> = HashMap::new();
        let mut n = 1;
        for old in order.into_iter().filter(|c| uses[c] > 1) {
            let new = loop {
                let stem = if n == 1 {
                    "kedro-run".to_string()
                } else {
                    format!("kedro-run-{n}")
                };
                n += 1;
                if !self.components.contains_key(&names::component(&stem)) {
                    break stem;
                }
            };
            let Some(mut c) = self.components.remove(&old) else {
                continue;
            };
            let new_exec = names::executor(&new);
            let old_exec = c
                .executor_label
                .replace(new_exec.clone())
                .unwrap_or_default();
            let new_comp = names::component(&new);
            self.components.insert(new_comp.clone(), c);
            if let Some(e) = self.executors.remove(&old_exec) {
                self.executors.insert(new_exec.clone(), e);
            }
            if let Some(k) = self.platform.remove(&old_exec) {
                self.platform.insert(new_exec, k);
            }
            renamed.insert(old, new_comp);
        }
        for (_, spec) in tasks.iter_mut() {
            if let Some(new) = renamed.get(&spec.component_ref.name) {
                spec.component_ref.name = new.clone();
            }
        }
    }

    fn resources(&mut self, t: &'a Task) -> Option<ResourceSpec<'a>> {
        let mut r = ResourceSpec::default();
        for (name, q) in &t.resources {
            match name.as_str() {
                "cpu" => {
                    r.resource_cpu_limit = Some(q);
                    r.resource_cpu_request = Some(q);
                }
                "memory" => {
                    r.resource_memory_limit = Some(q);
                    r.resource_memory_request = Some(q);
                }
                other if r.accelerator.is_none() && other.contains('/') => {
                    r.accelerator = Some(AcceleratorConfig {
                        resource_count: q,
                        resource_type: other,
                    });
                }
                other => self.warnings.push(format!(
                    "task {}: resource {other} cannot be expressed in KFP v2 IR (one accelerator, cpu and memory only) and is left out; use --kfp-version 1 to keep it",
                    t.name
                )),
            }
        }
        (r != ResourceSpec::default()).then_some(r)
    }

    /// The task's kfp-kubernetes executor config.
    fn kubernetes(
        &self,
        t: &'a Task,
        wrapped: bool,
    ) -> Result<KubernetesExecutorConfig<'a>, CompileError> {
        let m = self.m;
        let mut k = KubernetesExecutorConfig {
            config_map_as_volume: Vec::new(),
            empty_dir_mounts: Vec::new(),
            image_pull_policy: t.pull_policy,
            image_pull_secret: m.image_pull_secrets.iter().map(image_pull_secret).collect(),
            node_affinity: Vec::new(),
            node_selector: (!t.node_selector.is_empty()).then_some(NodeSelector {
                labels: &t.node_selector,
            }),
            pod_affinity: Vec::new(),
            pod_metadata: (!t.labels.is_empty() || !t.annotations.is_empty()).then_some(
                PodMetadata {
                    annotations: &t.annotations,
                    labels: &t.labels,
                },
            ),
            pvc_mount: t
                .data_mount
                .map(|path| data_volume_mount(path, wrapped))
                .into_iter()
                .collect(),
            secret_as_env: secret_as_env(t),
            secret_as_volume: Vec::new(),
            security_context: t.run_as_user.map(|uid| SecurityContext {
                run_as_user: uid.to_string(),
            }),
            tolerations: t.tolerations.iter().map(toleration).collect(),
        };
        for v in &t.volumes {
            extra_volume(t, v, &mut k)?;
        }
        if let Some((_, aff)) = &t.affinity {
            affinity(t, aff, &mut k)?;
        }
        Ok(k)
    }

    fn create_pvc(&mut self, root: &mut Tasks<'a>, v: &'a model::DataVolume) {
        let comp = names::component(VOLUME_CREATE);
        let exec = names::executor(VOLUME_CREATE);
        let component = ComponentSpec {
            executor_label: Some(exec.clone()),
            input_definitions: Some(create_pvc_interface()),
            output_definitions: Some(string_output("name")),
            ..ComponentSpec::default()
        };
        self.components.insert(comp.clone(), component);
        self.executors.insert(exec, stub("argostub/createpvc"));
        let spec = PipelineTaskSpec {
            // Never cached: a cached create step hands out a PVC that no longer exists.
            caching_options: Some(CachingOptions::OFF),
            inputs: Some(create_pvc_inputs(v)),
            ..task(comp, VOLUME_CREATE)
        };
        root.insert(VOLUME_CREATE, spec);
    }

    /// `data-volume-delete`: at the root after the exit handler, or (`in_exit_steps`) inside
    /// `exit-steps` after the on-exit task, whatever its outcome.
    fn delete_pvc(&mut self, tasks: &mut Tasks<'a>, in_exit_steps: bool) {
        let comp = names::component(VOLUME_DELETE);
        let exec = names::executor(VOLUME_DELETE);
        let defs = [(Cow::Borrowed("pvc_name"), ParameterSpec::of(ir::STRING))];
        self.components.insert(
            comp.clone(),
            ComponentSpec {
                executor_label: Some(exec.clone()),
                input_definitions: Some(ComponentInputsSpec {
                    parameters: BTreeMap::from(defs),
                }),
                ..ComponentSpec::default()
            },
        );
        self.executors.insert(exec, stub("argostub/deletepvc"));
        let (deps, pvc) = if in_exit_steps {
            (
                vec![ON_EXIT],
                InputParameterSpec::ComponentInputParameter(Cow::Borrowed(PVC_CHANNEL)),
            )
        } else {
            (vec![VOLUME_CREATE, EXIT_HANDLER], pvc_from_create())
        };
        let spec = PipelineTaskSpec {
            caching_options: Some(CachingOptions::OFF),
            dependent_tasks: deps,
            inputs: Some(TaskInputsSpec {
                parameters: BTreeMap::from([(Cow::Borrowed("pvc_name"), pvc)]),
            }),
            trigger_policy: Some(TriggerPolicy::ALL_COMPLETED),
            ..task(comp, VOLUME_DELETE)
        };
        tasks.insert(VOLUME_DELETE, spec);
    }

    /// `exit-handler-1`: a sub-DAG holding the main tasks, receiving the pipeline parameters
    /// and the volume's name, and its exit task(s) at the root.
    fn exit_handler(
        &mut self,
        root: &mut Tasks<'a>,
        main: Vec<(&'a str, PipelineTaskSpec<'a>)>,
    ) -> Result<(), CompileError> {
        let m = self.m;
        let mut inputs = TaskInputsSpec::default();
        let mut defs = ComponentInputsSpec::default();
        for p in &m.params {
            let channel: Cow<str> = Cow::Owned(format!("{CHANNEL}{}", p.name));
            let from = InputParameterSpec::ComponentInputParameter(Cow::Borrowed(&p.name));
            inputs.parameters.insert(channel.clone(), from);
            let def = ParameterSpec::of(kfp_type(&p.value));
            defs.parameters.insert(channel, def);
        }
        if m.volume.is_some() {
            inputs
                .parameters
                .insert(Cow::Borrowed(PVC_CHANNEL), pvc_from_create());
            let def = ParameterSpec::of(ir::STRING);
            defs.parameters.insert(Cow::Borrowed(PVC_CHANNEL), def);
        }
        let comp = names::component(EXIT_HANDLER);
        let component = ComponentSpec {
            dag: Some(DagSpec {
                tasks: main.into_iter().collect(),
            }),
            input_definitions: non_empty(defs),
            ..ComponentSpec::default()
        };
        self.components.insert(comp.clone(), component);
        let deps = if m.volume.is_some() {
            vec![VOLUME_CREATE]
        } else {
            Vec::new()
        };
        let spec = PipelineTaskSpec {
            dependent_tasks: deps,
            inputs: non_empty_inputs(inputs),
            ..task(comp, EXIT_HANDLER)
        };
        root.insert(EXIT_HANDLER, spec);

        // One exit task per exit handler: the Argo compiler keeps one exit hook per upstream
        // task, a later ALL_UPSTREAM_TASKS_COMPLETED task overwriting an earlier one
        // (kubeflow/pipelines backend/src/v2/compiler/argocompiler/dag.go, taskToExitTemplate).
        let delete = m.volume.as_ref().is_some_and(|v| v.delete);
        match &m.on_exit {
            Some(t) if delete => self.exit_steps(root, t)?,
            Some(t) => {
                let spec = self.container_task(t, false)?;
                root.insert(ON_EXIT, exit_task(spec));
            }
            None => self.delete_pvc(root, false),
        }
        Ok(())
    }

    /// The on-exit task inside `exit-steps`: the final status comes from the sub-DAG's input,
    /// as a plain struct (as the SDK compiles it).
    fn on_exit_in_sub_dag(&mut self, t: &'a Task) -> Result<PipelineTaskSpec<'a>, CompileError> {
        let mut spec = self.container_task(t, true)?;
        let status = InputParameterSpec::ComponentInputParameter(Cow::Borrowed("status"));
        let inputs = spec.inputs.get_or_insert_with(Default::default);
        inputs.parameters.insert(Cow::Borrowed("status"), status);
        if let Some(c) = self.components.get_mut(&names::component(&t.name)) {
            let defs = c.input_definitions.get_or_insert_with(Default::default);
            let status = ParameterSpec::of(ir::STRUCT);
            defs.parameters.insert(Cow::Borrowed("status"), status);
        }
        Ok(spec)
    }

    /// The exit handler's one exit task when there is an on-exit pipeline and a volume to
    /// delete: a sub-DAG `exit-steps` (the SDK's pipeline-as-exit-task form,
    /// sdk/python/test_data/pipelines/pipeline_as_exit_task.yaml) receiving the final status,
    /// in which `on-exit` runs first and `data-volume-delete` after it whatever its outcome
    /// (an exit task of `on-exit` inside the sub-DAG, i.e. an Argo exit hook on it).
    fn exit_steps(&mut self, root: &mut Tasks<'a>, t: &'a Task) -> Result<(), CompileError> {
        let mut inner = Tasks::new();
        inner.insert(ON_EXIT, self.on_exit_in_sub_dag(t)?);
        self.delete_pvc(&mut inner, true);
        let (defs, inputs) = exit_steps_interface(self.m, t);
        let comp = names::component(EXIT_STEPS);
        let component = ComponentSpec {
            dag: Some(DagSpec { tasks: inner }),
            input_definitions: Some(defs),
            ..ComponentSpec::default()
        };
        self.components.insert(comp.clone(), component);
        let spec = PipelineTaskSpec {
            // The first dependent task is the one whose final status the driver reports
            // (backend/src/v2/driver/resolve.go, TaskFinalStatus).
            dependent_tasks: vec![EXIT_HANDLER],
            inputs: Some(inputs),
            trigger_policy: Some(TriggerPolicy::ALL_COMPLETED),
            ..task(comp, EXIT_STEPS)
        };
        root.insert(EXIT_STEPS, spec);
        Ok(())
    }
}

/// `exit-steps`' interface and inputs: the exit handler's final status, the on-exit task's
/// pipeline parameters and the volume's name.
fn exit_steps_interface<'a>(
    m: &'a Model,
    t: &'a Task,
) -> (ComponentInputsSpec<'a>, TaskInputsSpec<'a>) {
    let mut defs = ComponentInputsSpec::default();
    let mut inputs = TaskInputsSpec::default();
    let status = ParameterSpec {
        is_optional: true,
        ..ParameterSpec::of(ir::TASK_FINAL_STATUS)
    };
    defs.parameters.insert(Cow::Borrowed("status"), status);
    inputs
        .parameters
        .insert(Cow::Borrowed("status"), final_status_of_exit_handler());
    for p in &t.params {
        if let Some(x) = m.param(p) {
            let channel: Cow<str> = Cow::Owned(format!("{CHANNEL}{p}"));
            let def = ParameterSpec::of(kfp_type(&x.value));
            defs.parameters.insert(channel.clone(), def);
            let from = InputParameterSpec::ComponentInputParameter(Cow::Borrowed(p));
            inputs.parameters.insert(channel, from);
        }
    }
    defs.parameters
        .insert(Cow::Borrowed(PVC_CHANNEL), ParameterSpec::of(ir::STRING));
    inputs
        .parameters
        .insert(Cow::Borrowed(PVC_CHANNEL), pvc_from_create());
    (defs, inputs)
}

/// `storage_class_name`'s default.
static EMPTY_STRING: Value = Value::String(String::new());

/// Make `spec` (the on-exit task at the root) the exit task of the exit handler, receiving its
/// final status.
fn exit_task(mut spec: PipelineTaskSpec<'_>) -> PipelineTaskSpec<'_> {
    debug_assert!(spec.dependent_tasks.is_empty() && spec.trigger_policy.is_none());
    spec.exit_of = Some(ExitOf {
        dependent_tasks: [EXIT_HANDLER],
        trigger_policy: TriggerPolicy::ALL_COMPLETED,
    });
    spec.inputs
        .get_or_insert_with(Default::default)
        .parameters
        .insert(Cow::Borrowed("status"), final_status_of_exit_handler());
    spec
}

fn final_status_of_exit_handler() -> InputParameterSpec<'static> {
    InputParameterSpec::TaskFinalStatus(TaskFinalStatus {
        producer_task: EXIT_HANDLER,
    })
}

/// A component's one output, a string parameter.
fn string_output(name: &'static str) -> ComponentOutputsSpec {
    let spec = OutputParameterSpec {
        parameter_type: ir::STRING,
    };
    ComponentOutputsSpec {
        parameters: BTreeMap::from([(name, spec)]),
    }
}

/// An executor the backend replaces (`argostub/createpvc`, `argostub/deletepvc`).
fn stub(image: &'static str) -> ExecutorSpec<'static> {
    ExecutorSpec {
        container: PipelineContainerSpec {
            args: Vec::new(),
            command: None,
            env: Vec::new(),
            image,
            resources: None,
        },
    }
}

/// `data-volume-create`'s parameters (kfp-kubernetes's `CreatePVC` component).
fn create_pvc_interface() -> ComponentInputsSpec<'static> {
    let optional = |ty| ParameterSpec {
        is_optional: true,
        ..ParameterSpec::of(ty)
    };
    let no_class = ParameterSpec {
        default_value: Some(&EMPTY_STRING),
        ..optional(ir::STRING)
    };
    let defs = [
        ("access_modes", ParameterSpec::of(ir::LIST)),
        ("pvc_name_suffix", optional(ir::STRING)),
        ("size", ParameterSpec::of(ir::STRING)),
        ("storage_class_name", no_class),
    ];
    ComponentInputsSpec {
        parameters: defs.map(|(k, d)| (Cow::Borrowed(k), d)).into(),
    }
}

/// The data volume's claim, as constant inputs of `data-volume-create`.
fn create_pvc_inputs(v: &model::DataVolume) -> TaskInputsSpec<'_> {
    let mut inputs = TaskInputsSpec::default();
    let mut add = |k: &'static str, c| {
        inputs.parameters.insert(Cow::Borrowed(k), c);
    };
    let modes = InputParameterSpec::constant(Constant::List(&v.access_modes));
    add("access_modes", modes);
    let suffix = InputParameterSpec::constant_str(format!("-{}", v.suffix));
    add("pvc_name_suffix", suffix);
    add("size", InputParameterSpec::constant_str(v.size.as_str()));
    if let Some(sc) = &v.storage_class {
        add(
            "storage_class_name",
            InputParameterSpec::constant_str(sc.as_str()),
        );
    }
    inputs
}

fn retry_policy(r: &model::Retry) -> RetryPolicy {
    RetryPolicy {
        backoff_duration: seconds(r.backoff_seconds),
        backoff_factor: r.factor,
        // Always written (kubeflow/pipelines backend/src/v2/compiler/argocompiler/container.go
        // defaults a missing one to "0": no retry at all).
        backoff_max_duration: seconds(r.max_duration.1),
        max_retry_count: r.limit,
    }
}

/// The data volume's name: `data-volume-create`'s output `name`.
fn volume_name_output() -> TaskOutputParameterSpec {
    TaskOutputParameterSpec {
        producer_task: VOLUME_CREATE,
        output_parameter_key: "name",
        sorted_keys: true,
    }
}

fn pvc_from_create() -> InputParameterSpec<'static> {
    InputParameterSpec::TaskOutputParameter(volume_name_output())
}

/// The data volume's mount: by the create task's output at the root, by the exit handler's
/// input inside it (`wrapped`).
fn data_volume_mount(path: &str, wrapped: bool) -> PvcMount<'_> {
    let (reference, pvc_name_parameter) = if wrapped {
        (
            PvcReference::ComponentInputParameter(PVC_CHANNEL),
            InputParameterSpec::ComponentInputParameter(Cow::Borrowed(PVC_CHANNEL)),
        )
    } else {
        (
            PvcReference::TaskOutputParameter(volume_name_output()),
            pvc_from_create(),
        )
    };
    PvcMount {
        reference,
        mount_path: path,
        pvc_name_parameter,
    }
}

fn image_pull_secret(s: &String) -> ImagePullSecret<'_> {
    ImagePullSecret {
        secret_name: s,
        secret_name_parameter: InputParameterSpec::constant_str(s.as_str()),
    }
}

/// The task's secret variables, one entry per secret (in name order).
fn secret_as_env(t: &Task) -> Vec<SecretAsEnv<'_>> {
    let mut by_secret: BTreeMap<&str, Vec<SecretKeyToEnvMap>> = BTreeMap::new();
    for s in &t.secrets {
        by_secret
            .entry(&s.secret)
            .or_default()
            .push(SecretKeyToEnvMap {
                env_var: &s.env,
                secret_key: &s.key,
            });
    }
    by_secret
        .into_iter()
        .map(|(name, key_to_env)| SecretAsEnv {
            key_to_env,
            optional: false,
            secret_name: name,
            secret_name_parameter: InputParameterSpec::constant_str(name),
        })
        .collect()
}

fn toleration(tol: &crate::config::Toleration) -> Toleration<'_> {
    Toleration {
        effect: tol.effect.as_str(),
        key: &tol.key,
        operator: tol.operator.as_str(),
        value: tol.value.as_deref(),
    }
}

/// One of the task's `extra_volumes`, in the kfp-kubernetes list of its kind.
fn extra_volume<'a>(
    t: &Task,
    v: &'a ExtraMount,
    k: &mut KubernetesExecutorConfig<'a>,
) -> Result<(), CompileError> {
    let src = &v.source;
    let s = |key: &str| src.get(key).and_then(Value::as_str);
    let optional = src
        .get("optional")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match v.kind.as_str() {
        "emptyDir" => k.empty_dir_mounts.push(EmptyDirMount {
            medium: s("medium"),
            mount_path: &v.mount_path,
            size_limit: src.get("sizeLimit").map(model_text),
            volume_name: &v.name,
        }),
        "configMap" => {
            let name = s("name").ok_or_else(|| missing(t, v, "config_map.name"))?;
            k.config_map_as_volume.push(ConfigMapAsVolume {
                config_map_name: name,
                config_map_name_parameter: InputParameterSpec::constant_str(name),
                mount_path: &v.mount_path,
                optional,
            });
        }
        "secret" => {
            let name = s("secretName").ok_or_else(|| missing(t, v, "secret.secret_name"))?;
            k.secret_as_volume.push(SecretAsVolume {
                mount_path: &v.mount_path,
                optional,
                secret_name: name,
                secret_name_parameter: InputParameterSpec::constant_str(name),
            });
        }
        "persistentVolumeClaim" => {
            let name =
                s("claimName").ok_or_else(|| missing(t, v, "persistent_volume_claim.claim_name"))?;
            k.pvc_mount.push(PvcMount {
                reference: PvcReference::Constant(name),
                mount_path: &v.mount_path,
                pvc_name_parameter: InputParameterSpec::constant_str(name),
            });
        }
        other => {
            return Err(CompileError::ExtraVolume {
                name: v.name.clone(),
                msg: format!(
                    "of task {}: a {other} volume cannot be expressed in KFP v2 IR (empty_dir, config_map, secret and persistent_volume_claim can); use --kfp-version 1",
                    t.name
                ),
            })
        }
    }
    Ok(())
}

/// The task's affinity: node affinity as JSON, pod (anti-)affinity as terms.
fn affinity<'a>(
    t: &Task,
    aff: &'a serde_json::Map<String, Value>,
    k: &mut KubernetesExecutorConfig<'a>,
) -> Result<(), CompileError> {
    if let Some(na) = aff.get("nodeAffinity") {
        k.node_affinity.push(NodeAffinityTerm {
            node_affinity_json: InputParameterSpec::RuntimeValue(ValueOrRuntimeParameter {
                constant: Constant::Json(Json(na)),
            }),
        });
    }
    for (key, anti) in [("podAffinity", false), ("podAntiAffinity", true)] {
        if let Some(pa) = aff.get(key) {
            k.pod_affinity
                .extend(pod_affinity_terms(pa, anti, &t.name)?);
        }
    }
    Ok(())
}

/// rustc's FxHash: a fast, non-cryptographic hash (a match is always compared in full).
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
        self.add(bytes.len() as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

fn missing(t: &Task, v: &ExtraMount, field: &str) -> CompileError {
    CompileError::ExtraVolume {
        name: v.name.clone(),
        msg: format!("of task {} has no {field}", t.name),
    }
}

fn model_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A protobuf Duration (`"60s"`, `"0.5s"`).
fn seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}s", s as i64)
    } else {
        format!("{s}s")
    }
}

/// Kubernetes `podAffinity` / `podAntiAffinity` → kfp-kubernetes `PodAffinityTerm`s.
fn pod_affinity_terms<'a>(
    v: &'a Value,
    anti: bool,
    task: &str,
) -> Result<Vec<PodAffinityTerm<'a>>, CompileError> {
    let bad = |what: &str| CompileError::Config {
        path: crate::config::KeyPath::root()
            .key("run_config")
            .key("affinity"),
        msg: format!(
            "for task {task}: {what} (pod affinity needs labelSelector and topologyKey terms)"
        ),
    };
    let Value::Object(m) = v else {
        return Err(bad("expected a mapping"));
    };
    let term = |t: &'a Value,
                weight: Option<&'a Value>|
     -> Result<PodAffinityTerm<'a>, CompileError> {
        let Value::Object(t) = t else {
            return Err(bad("a term is not a mapping"));
        };
        let sel = |selector: &str, part: &str| t.get(selector).and_then(|s| s.get(part)).map(Json);
        let Some(Value::String(topology_key)) = t.get("topologyKey") else {
            return Err(bad("a term has no topologyKey"));
        };
        Ok(PodAffinityTerm {
            anti,
            match_namespace_expressions: sel("namespaceSelector", "matchExpressions"),
            match_namespace_labels: sel("namespaceSelector", "matchLabels"),
            match_pod_expressions: sel("labelSelector", "matchExpressions"),
            match_pod_labels: sel("labelSelector", "matchLabels"),
            namespaces: t.get("namespaces").map(Json),
            topology_key,
            weight: weight.map(Json),
        })
    };
    let mut out = Vec::new();
    if let Some(Value::Array(req)) = m.get("requiredDuringSchedulingIgnoredDuringExecution") {
        for t in req {
            out.push(term(t, None)?);
        }
    }
    if let Some(Value::Array(pref)) = m.get("preferredDuringSchedulingIgnoredDuringExecution") {
        for p in pref {
            let t = p
                .get("podAffinityTerm")
                .ok_or_else(|| bad("a preferred term has no podAffinityTerm"))?;
            out.push(term(t, p.get("weight"))?);
        }
    }
    Ok(out)
}
