//! KFP v2 IR: a PipelineSpec (schemaVersion 2.1.0) and a PlatformSpec (`platforms.kubernetes`)
//! rendered from the task model, in the shapes the KFP SDK and kfp-kubernetes emit.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;

use serde_json::{json, Map, Value};

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

    // The main DAG: mlflow, init, node tasks.
    let mut main: Map<String, Value> = Map::new();
    for t in &m.tasks {
        let spec = r.container_task(t, wrapped)?;
        main.insert(t.name.clone(), spec);
    }
    r.name_shared(&mut main);

    let mut root: Map<String, Value> = Map::new();
    if let Some(v) = &m.volume {
        r.create_pvc(&mut root, v);
    }
    if wrapped {
        let mut inputs = Map::new();
        let mut defs = Map::new();
        for p in &m.params {
            inputs.insert(
                format!("{CHANNEL}{}", p.name),
                json!({"componentInputParameter": p.name}),
            );
            defs.insert(
                format!("{CHANNEL}{}", p.name),
                json!({"parameterType": kfp_type(&p.value)}),
            );
        }
        if m.volume.is_some() {
            inputs.insert(PVC_CHANNEL.into(), pvc_from_create());
            defs.insert(PVC_CHANNEL.into(), json!({"parameterType": "STRING"}));
        }
        let comp = names::component(EXIT_HANDLER);
        let mut comp_spec = Map::new();
        comp_spec.insert("dag".into(), obj([("tasks", sorted(main))]));
        if !defs.is_empty() {
            comp_spec.insert(
                "inputDefinitions".into(),
                obj([("parameters", sorted(defs))]),
            );
        }
        r.components.insert(comp.clone(), Value::Object(comp_spec));
        let mut task = Map::new();
        task.insert("componentRef".into(), json!({"name": comp}));
        if m.volume.is_some() {
            task.insert("dependentTasks".into(), json!([VOLUME_CREATE]));
        }
        if !inputs.is_empty() {
            task.insert("inputs".into(), obj([("parameters", sorted(inputs))]));
        }
        task.insert("taskInfo".into(), json!({"name": EXIT_HANDLER}));
        root.insert(EXIT_HANDLER.into(), Value::Object(task));

        // One exit task per exit handler: the Argo compiler keeps one exit hook per upstream
        // task, a later ALL_UPSTREAM_TASKS_COMPLETED task overwriting an earlier one
        // (kubeflow/pipelines backend/src/v2/compiler/argocompiler/dag.go, taskToExitTemplate).
        let delete = m.volume.as_ref().is_some_and(|v| v.delete);
        match &m.on_exit {
            Some(t) if delete => r.exit_steps(&mut root, t)?,
            Some(t) => {
                let mut spec = r.container_task(t, false)?;
                exit_task(&mut spec, true);
                root.insert(ON_EXIT.into(), spec);
            }
            None => r.delete_pvc(&mut root, false),
        }
    } else {
        root.extend(main);
    }

    let mut root_spec = Map::new();
    root_spec.insert("dag".into(), obj([("tasks", sorted(root))]));
    if !m.params.is_empty() {
        let mut defs = Map::new();
        for p in &m.params {
            defs.insert(
                p.name.clone(),
                json!({
                    "defaultValue": p.value,
                    "isOptional": true,
                    "parameterType": kfp_type(&p.value),
                }),
            );
        }
        root_spec.insert(
            "inputDefinitions".into(),
            obj([("parameters", Value::Object(defs))]),
        );
    }

    let mut info = Map::new();
    if let Some(d) = &m.description {
        info.insert("description".into(), json!(d));
    }
    info.insert("name".into(), json!(m.name));

    // Moved, not `json!`-interpolated: `json!` would deep-copy the whole document.
    let pipeline_spec = obj([
        ("components", from_btree(std::mem::take(&mut r.components))),
        (
            "deploymentSpec",
            obj([("executors", from_btree(std::mem::take(&mut r.executors)))]),
        ),
        ("pipelineInfo", Value::Object(info)),
        ("root", Value::Object(root_spec)),
        ("schemaVersion", json!("2.1.0")),
        ("sdkVersion", json!(sdk_version)),
    ]);

    let mut k8s = Map::new();
    if !r.platform.is_empty() {
        k8s.insert(
            "deploymentSpec".into(),
            obj([("executors", from_btree(std::mem::take(&mut r.platform)))]),
        );
    }
    k8s.insert(
        "pipelineConfig".into(),
        json!({"resourceTtlOnCompletion": m.ttl.min(i32::MAX as u64)}),
    );
    let platform_spec = Some(obj([(
        "platforms",
        obj([("kubernetes", Value::Object(k8s))]),
    )]));
    Ok(Rendered {
        pipeline_spec,
        platform_spec,
        warnings: r.warnings,
    })
}

struct Renderer<'a> {
    m: &'a Model,
    env: &'a str,
    components: BTreeMap<String, Value>,
    executors: BTreeMap<String, Value>,
    platform: BTreeMap<String, Value>,
    /// The hash of a node task's component interface, container and platform config to the
    /// components that have them (compared in full on a match).
    shared: HashMap<u64, Vec<String>>,
    warnings: Vec<String>,
}

impl Renderer<'_> {
    /// One container task: its component, executor, platform config and task spec.
    fn container_task(&mut self, t: &Task, wrapped: bool) -> Result<Value, CompileError> {
        let m = self.m;
        let comp = names::component(&t.name);
        let exec = names::executor(&t.name);
        let param_ref = |p: &str| -> Value {
            if wrapped {
                json!({"componentInputParameter": format!("{CHANNEL}{p}")})
            } else {
                json!({"componentInputParameter": p})
            }
        };

        // Component interface.
        let mut in_defs = Map::new();
        let mut inputs = Map::new();
        for p in &t.params {
            let ty = m.param(p).map(|x| kfp_type(&x.value)).unwrap_or("STRING");
            in_defs.insert(p.clone(), json!({"parameterType": ty}));
            inputs.insert(p.clone(), param_ref(p));
        }
        if matches!(t.role, Role::Node | Role::OnExit | Role::MlflowStart) {
            // The backend resolves `{{$.pipeline_job_uuid}}` only as the runtime value of a task
            // input parameter (kubeflow/pipelines backend/src/v2/driver/resolve.go); the
            // launcher substitutes only `{{$.inputs…}}`/`{{$.outputs…}}` in args
            // (backend/src/v2/component/launcher_v2.go). The SDK's form:
            // sdk/python/test_data/pipelines/placeholder_check.*.
            in_defs.insert(RUN_ID_INPUT.into(), json!({"parameterType": "STRING"}));
            inputs.insert(
                RUN_ID_INPUT.into(),
                json!({"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}}),
            );
        }
        if let (Role::Node, Some(list)) = (t.role, &t.node_list) {
            in_defs.insert(NODES_INPUT.into(), json!({"parameterType": "STRING"}));
            inputs.insert(
                NODES_INPUT.into(),
                json!({"runtimeValue": {"constant": list}}),
            );
        }
        if t.mlflow {
            in_defs.insert(MLFLOW_OUTPUT.into(), json!({"parameterType": "STRING"}));
            inputs.insert(
                MLFLOW_OUTPUT.into(),
                json!({"taskOutputParameter": {"producerTask": MLFLOW_START, "outputParameterKey": MLFLOW_OUTPUT}}),
            );
        }
        if t.role == Role::OnExit {
            in_defs.insert(
                "status".into(),
                json!({"parameterType": "TASK_FINAL_STATUS"}),
            );
        }
        // Executor.
        let (command, args) = model::container_command(t, m, self.env, Target::V2Ir);
        let mut container = Map::new();
        if !args.is_empty() {
            container.insert("args".into(), json!(args));
        }
        container.insert("command".into(), json!(command));
        let mut env: Vec<Value> = t
            .env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        if t.role == Role::MlflowStart {
            env.retain(|e| e["name"] != "MLFLOW_RUN_ID");
        }
        if !env.is_empty() {
            container.insert("env".into(), Value::Array(env));
        }
        container.insert("image".into(), json!(t.image));
        let res = self.resources(t);
        if !res.is_empty() {
            container.insert("resources".into(), Value::Object(res));
        }
        let in_defs = (!in_defs.is_empty()).then(|| obj([("parameters", sorted(in_defs))]));

        // Kubernetes platform config.
        let k = self.kubernetes(t, wrapped)?;

        // Node tasks that differ only in their inputs (node list, run id) share one component
        // and executor (named by `name_shared`): the SDK's reuse of a component, and what the
        // backend's Argo compiler stores once per distinct container (kubeflow/pipelines
        // backend/src/v2/compiler/argocompiler/argo.go, saveProtoToArguments). The cache key
        // still differs per task, as it covers the task's input values
        // (backend/src/v2/cacheutils/cache.go, GenerateCacheKey).
        let shared_key = if t.role == Role::Node {
            let mut h = FxHasher(0);
            if let Some(d) = &in_defs {
                hash_value(d, &mut h);
            }
            h.write_u8(0xff);
            hash_map(&container, &mut h);
            h.write_u8(0xff);
            hash_map(&k, &mut h);
            let key = h.finish();
            let same = self.shared.get(&key).and_then(|names| {
                names
                    .iter()
                    .find(|name| self.has_parts(name, in_defs.as_ref(), &container, &k))
            });
            if let Some(name) = same {
                return Ok(self.task_spec(t, wrapped, name.clone(), inputs));
            }
            Some(key)
        } else {
            None
        };
        let mut comp_spec = Map::new();
        comp_spec.insert("executorLabel".into(), json!(exec));
        if let Some(d) = in_defs {
            comp_spec.insert("inputDefinitions".into(), d);
        }
        if t.role == Role::MlflowStart {
            comp_spec.insert(
                "outputDefinitions".into(),
                json!({"parameters": {MLFLOW_OUTPUT: {"parameterType": "STRING"}}}),
            );
        }
        self.components
            .insert(comp.clone(), Value::Object(comp_spec));
        self.executors
            .insert(exec.clone(), obj([("container", Value::Object(container))]));
        if !k.is_empty() {
            self.platform.insert(exec, Value::Object(k));
        }
        if let Some(key) = shared_key {
            self.shared.entry(key).or_default().push(comp.clone());
        }
        Ok(self.task_spec(t, wrapped, comp, inputs))
    }

    /// The DAG task that runs component `comp` with `inputs`.
    fn task_spec(
        &self,
        t: &Task,
        wrapped: bool,
        comp: String,
        inputs: Map<String, Value>,
    ) -> Value {
        let m = self.m;
        // Task spec.
        let mut spec = Map::new();
        spec.insert("cachingOptions".into(), caching(t.cache));
        spec.insert("componentRef".into(), json!({"name": comp}));
        let mut deps: Vec<String> = t.after.clone();
        if m.volume.is_some() && !wrapped && t.role != Role::OnExit {
            deps.push(VOLUME_CREATE.into());
        }
        deps.sort();
        deps.dedup();
        if !deps.is_empty() {
            spec.insert("dependentTasks".into(), json!(deps));
        }
        if !inputs.is_empty() {
            spec.insert("inputs".into(), obj([("parameters", sorted(inputs))]));
        }
        if let Some(r) = &t.retry {
            let mut rp = Map::new();
            rp.insert("backoffDuration".into(), json!(seconds(r.backoff_seconds)));
            rp.insert("backoffFactor".into(), json!(r.factor));
            // Always written (kubeflow/pipelines backend/src/v2/compiler/argocompiler/container.go
            // defaults a missing one to "0": no retry at all).
            rp.insert(
                "backoffMaxDuration".into(),
                json!(seconds(r.max_duration.1)),
            );
            rp.insert("maxRetryCount".into(), json!(r.limit));
            spec.insert("retryPolicy".into(), Value::Object(rp));
        }
        spec.insert("taskInfo".into(), json!({"name": t.name}));
        Value::Object(spec)
    }

    /// Whether component `comp` has exactly this interface, container and platform config.
    fn has_parts(
        &self,
        comp: &str,
        in_defs: Option<&Value>,
        container: &Map<String, Value>,
        k: &Map<String, Value>,
    ) -> bool {
        let Some(spec) = self.components.get(comp) else {
            return false;
        };
        let exec = spec["executorLabel"].as_str().unwrap_or_default();
        spec.get("inputDefinitions") == in_defs
            && matches!(
                self.executors.get(exec).and_then(|e| e.get("container")),
                Some(Value::Object(c)) if c == container
            )
            && match self.platform.get(exec) {
                Some(Value::Object(p)) => p == k,
                _ => k.is_empty(),
            }
    }

    /// A component used by several tasks of `tasks` (only node tasks share) is named
    /// `kedro-run` (`-2`, `-3`, … in order of first use, skipping names a task's own component
    /// has), not after the first task using it.
    fn name_shared(&mut self, tasks: &mut Map<String, Value>) {
        let comp_of = |spec: &Value| spec["componentRef"]["name"].as_str().map(str::to_string);
        let mut order: Vec<String> = Vec::new();
        let mut uses: HashMap<String, usize> = HashMap::new();
        for comp in tasks.values().filter_map(comp_of) {
            let n = uses.entry(comp.clone()).or_default();
            if *n == 0 {
                order.push(comp);
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
            let old_exec = c["executorLabel"].as_str().unwrap_or_default().to_string();
            c["executorLabel"] = json!(new_exec);
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
        for spec in tasks.values_mut() {
            if let Some(Value::String(c)) = spec.pointer_mut("/componentRef/name") {
                if let Some(new) = renamed.get(c.as_str()) {
                    *c = new.clone();
                }
            }
        }
    }

    fn resources(&mut self, t: &Task) -> Map<String, Value> {
        let mut out = Map::new();
        let mut accel: Option<(&str, &str)> = None;
        for (name, q) in &t.resources {
            match name.as_str() {
                "cpu" => {
                    out.insert("resourceCpuLimit".into(), json!(q));
                    out.insert("resourceCpuRequest".into(), json!(q));
                }
                "memory" => {
                    out.insert("resourceMemoryLimit".into(), json!(q));
                    out.insert("resourceMemoryRequest".into(), json!(q));
                }
                other if accel.is_none() && other.contains('/') => accel = Some((other, q)),
                other => self.warnings.push(format!(
                    "task {}: resource {other} cannot be expressed in KFP v2 IR (one accelerator, cpu and memory only) and is left out; use --kfp-version 1 to keep it",
                    t.name
                )),
            }
        }
        if let Some((ty, count)) = accel {
            out.insert(
                "accelerator".into(),
                json!({"resourceCount": count, "resourceType": ty}),
            );
        }
        sorted(out).as_object().cloned().unwrap_or_default()
    }

    fn kubernetes(&mut self, t: &Task, wrapped: bool) -> Result<Map<String, Value>, CompileError> {
        let m = self.m;
        let mut k = Map::new();
        // secrets as env, grouped by secret
        let mut by_secret: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for s in &t.secrets {
            by_secret
                .entry(&s.secret)
                .or_default()
                .push(json!({"envVar": s.env, "secretKey": s.key}));
        }
        if !by_secret.is_empty() {
            let list: Vec<Value> = by_secret
                .into_iter()
                .map(|(name, keys)| {
                    json!({
                        "keyToEnv": keys,
                        "optional": false,
                        "secretName": name,
                        "secretNameParameter": {"runtimeValue": {"constant": name}},
                    })
                })
                .collect();
            k.insert("secretAsEnv".into(), Value::Array(list));
        }
        // volumes
        let mut pvc = Vec::new();
        let mut empty = Vec::new();
        let mut cms = Vec::new();
        let mut secs = Vec::new();
        if let Some(path) = t.data_mount {
            let (new, old_key, old) = if wrapped {
                (
                    json!({"componentInputParameter": PVC_CHANNEL}),
                    "componentInputParameter",
                    json!(PVC_CHANNEL),
                )
            } else {
                (
                    pvc_from_create(),
                    "taskOutputParameter",
                    json!({"outputParameterKey": "name", "producerTask": VOLUME_CREATE}),
                )
            };
            let mut mnt = Map::new();
            mnt.insert(old_key.into(), old);
            mnt.insert("mountPath".into(), json!(path));
            mnt.insert("pvcNameParameter".into(), new);
            pvc.push(Value::Object(mnt));
        }
        for v in &t.volumes {
            self.extra_volume(t, v, &mut pvc, &mut empty, &mut cms, &mut secs)?;
        }
        if !pvc.is_empty() {
            k.insert("pvcMount".into(), Value::Array(pvc));
        }
        if !empty.is_empty() {
            k.insert("emptyDirMounts".into(), Value::Array(empty));
        }
        if !cms.is_empty() {
            k.insert("configMapAsVolume".into(), Value::Array(cms));
        }
        if !secs.is_empty() {
            k.insert("secretAsVolume".into(), Value::Array(secs));
        }
        if !t.node_selector.is_empty() {
            k.insert("nodeSelector".into(), json!({"labels": t.node_selector}));
        }
        if !t.tolerations.is_empty() {
            let list: Vec<Value> = t
                .tolerations
                .iter()
                .map(|tol| {
                    let mut o = Map::new();
                    o.insert("effect".into(), json!(tol.effect));
                    o.insert("key".into(), json!(tol.key));
                    o.insert("operator".into(), json!(tol.operator));
                    if let Some(v) = &tol.value {
                        o.insert("value".into(), json!(v));
                    }
                    Value::Object(o)
                })
                .collect();
            k.insert("tolerations".into(), Value::Array(list));
        }
        if let Some((_, aff)) = &t.affinity {
            if let Some(na) = aff.get("nodeAffinity") {
                k.insert(
                    "nodeAffinity".into(),
                    json!([{"nodeAffinityJson": {"runtimeValue": {"constant": na}}}]),
                );
            }
            let mut terms = Vec::new();
            for (key, anti) in [("podAffinity", false), ("podAntiAffinity", true)] {
                if let Some(pa) = aff.get(key) {
                    terms.extend(pod_affinity_terms(pa, anti, &t.name)?);
                }
            }
            if !terms.is_empty() {
                k.insert("podAffinity".into(), Value::Array(terms));
            }
        }
        if !t.labels.is_empty() || !t.annotations.is_empty() {
            let mut md = Map::new();
            if !t.annotations.is_empty() {
                md.insert("annotations".into(), json!(t.annotations));
            }
            if !t.labels.is_empty() {
                md.insert("labels".into(), json!(t.labels));
            }
            k.insert("podMetadata".into(), Value::Object(md));
        }
        if !m.image_pull_secrets.is_empty() {
            let list: Vec<Value> = m
                .image_pull_secrets
                .iter()
                .map(|s| {
                    json!({"secretName": s, "secretNameParameter": {"runtimeValue": {"constant": s}}})
                })
                .collect();
            k.insert("imagePullSecret".into(), Value::Array(list));
        }
        k.insert("imagePullPolicy".into(), json!(t.pull_policy));
        if let Some(uid) = t.run_as_user {
            k.insert(
                "securityContext".into(),
                json!({"runAsUser": uid.to_string()}),
            );
        }
        k.sort_keys();
        Ok(k)
    }

    fn extra_volume(
        &mut self,
        t: &Task,
        v: &ExtraMount,
        pvc: &mut Vec<Value>,
        empty: &mut Vec<Value>,
        cms: &mut Vec<Value>,
        secs: &mut Vec<Value>,
    ) -> Result<(), CompileError> {
        let src = &v.source;
        let s = |k: &str| src.get(k).and_then(Value::as_str).map(str::to_string);
        let optional = src
            .get("optional")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match v.kind.as_str() {
            "emptyDir" => {
                let mut o = Map::new();
                if let Some(x) = s("medium") {
                    o.insert("medium".into(), json!(x));
                }
                o.insert("mountPath".into(), json!(v.mount_path));
                if let Some(x) = src.get("sizeLimit") {
                    o.insert("sizeLimit".into(), json!(model_text(x)));
                }
                o.insert("volumeName".into(), json!(v.name));
                empty.push(Value::Object(o));
            }
            "configMap" => {
                let name = s("name").ok_or_else(|| missing(t, v, "config_map.name"))?;
                cms.push(json!({
                    "configMapName": name,
                    "configMapNameParameter": {"runtimeValue": {"constant": name}},
                    "mountPath": v.mount_path,
                    "optional": optional,
                }));
            }
            "secret" => {
                let name = s("secretName").ok_or_else(|| missing(t, v, "secret.secret_name"))?;
                secs.push(json!({
                    "mountPath": v.mount_path,
                    "optional": optional,
                    "secretName": name,
                    "secretNameParameter": {"runtimeValue": {"constant": name}},
                }));
            }
            "persistentVolumeClaim" => {
                let name = s("claimName")
                    .ok_or_else(|| missing(t, v, "persistent_volume_claim.claim_name"))?;
                pvc.push(json!({
                    "constant": name,
                    "mountPath": v.mount_path,
                    "pvcNameParameter": {"runtimeValue": {"constant": name}},
                }));
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

    fn create_pvc(&mut self, root: &mut Map<String, Value>, v: &model::DataVolume) {
        let comp = names::component(VOLUME_CREATE);
        let exec = names::executor(VOLUME_CREATE);
        self.components.insert(
            comp.clone(),
            json!({
                "executorLabel": exec,
                "inputDefinitions": {"parameters": {
                    "access_modes": {"parameterType": "LIST"},
                    "pvc_name_suffix": {"isOptional": true, "parameterType": "STRING"},
                    "size": {"parameterType": "STRING"},
                    "storage_class_name": {"defaultValue": "", "isOptional": true, "parameterType": "STRING"},
                }},
                "outputDefinitions": {"parameters": {"name": {"parameterType": "STRING"}}},
            }),
        );
        self.executors
            .insert(exec, json!({"container": {"image": "argostub/createpvc"}}));
        let mut inputs = Map::new();
        inputs.insert(
            "access_modes".into(),
            json!({"runtimeValue": {"constant": v.access_modes}}),
        );
        inputs.insert(
            "pvc_name_suffix".into(),
            json!({"runtimeValue": {"constant": format!("-{}", v.suffix)}}),
        );
        inputs.insert("size".into(), json!({"runtimeValue": {"constant": v.size}}));
        if let Some(sc) = &v.storage_class {
            inputs.insert(
                "storage_class_name".into(),
                json!({"runtimeValue": {"constant": sc}}),
            );
        }
        root.insert(
            VOLUME_CREATE.into(),
            json!({
                // Never cached: a cached create step hands out a PVC that no longer exists.
                "cachingOptions": {},
                "componentRef": {"name": comp},
                "inputs": {"parameters": inputs},
                "taskInfo": {"name": VOLUME_CREATE},
            }),
        );
    }

    /// `data-volume-delete`: at the root after the exit handler, or (`in_exit_steps`) inside
    /// `exit-steps` after the on-exit task, whatever its outcome.
    fn delete_pvc(&mut self, tasks: &mut Map<String, Value>, in_exit_steps: bool) {
        let comp = names::component(VOLUME_DELETE);
        let exec = names::executor(VOLUME_DELETE);
        self.components.insert(
            comp.clone(),
            json!({
                "executorLabel": exec,
                "inputDefinitions": {"parameters": {"pvc_name": {"parameterType": "STRING"}}},
            }),
        );
        self.executors
            .insert(exec, json!({"container": {"image": "argostub/deletepvc"}}));
        let (deps, pvc) = if in_exit_steps {
            (
                json!([ON_EXIT]),
                json!({"componentInputParameter": PVC_CHANNEL}),
            )
        } else {
            (json!([VOLUME_CREATE, EXIT_HANDLER]), pvc_from_create())
        };
        tasks.insert(
            VOLUME_DELETE.into(),
            json!({
                "cachingOptions": {},
                "componentRef": {"name": comp},
                "dependentTasks": deps,
                "inputs": {"parameters": {"pvc_name": pvc}},
                "taskInfo": {"name": VOLUME_DELETE},
                "triggerPolicy": {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"},
            }),
        );
    }

    /// The exit handler's one exit task when there is an on-exit pipeline and a volume to
    /// delete: a sub-DAG `exit-steps` (the SDK's pipeline-as-exit-task form,
    /// sdk/python/test_data/pipelines/pipeline_as_exit_task.yaml) receiving the final status,
    /// in which `on-exit` runs first and `data-volume-delete` after it whatever its outcome
    /// (an exit task of `on-exit` inside the sub-DAG, i.e. an Argo exit hook on it).
    fn exit_steps(&mut self, root: &mut Map<String, Value>, t: &Task) -> Result<(), CompileError> {
        let m = self.m;
        let mut inner = Map::new();
        let mut spec = self.container_task(t, true)?;
        spec["inputs"]["parameters"]["status"] = json!({"componentInputParameter": "status"});
        spec["inputs"]["parameters"] = sorted_value(spec["inputs"]["parameters"].take());
        // Inside a sub-DAG the status arrives as a plain struct, as the SDK compiles it.
        let comp = names::component(&t.name);
        if let Some(c) = self.components.get_mut(&comp) {
            c["inputDefinitions"]["parameters"]["status"] = json!({"parameterType": "STRUCT"});
        }
        inner.insert(ON_EXIT.into(), spec);
        self.delete_pvc(&mut inner, true);

        let mut defs = Map::new();
        let mut inputs = Map::new();
        defs.insert(
            "status".into(),
            json!({"isOptional": true, "parameterType": "TASK_FINAL_STATUS"}),
        );
        inputs.insert(
            "status".into(),
            json!({"taskFinalStatus": {"producerTask": EXIT_HANDLER}}),
        );
        for p in &t.params {
            if let Some(x) = m.param(p) {
                defs.insert(
                    format!("{CHANNEL}{p}"),
                    json!({"parameterType": kfp_type(&x.value)}),
                );
                inputs.insert(
                    format!("{CHANNEL}{p}"),
                    json!({"componentInputParameter": p}),
                );
            }
        }
        defs.insert(PVC_CHANNEL.into(), json!({"parameterType": "STRING"}));
        inputs.insert(PVC_CHANNEL.into(), pvc_from_create());
        let comp = names::component(EXIT_STEPS);
        self.components.insert(
            comp.clone(),
            obj([
                ("dag", obj([("tasks", sorted(inner))])),
                ("inputDefinitions", obj([("parameters", sorted(defs))])),
            ]),
        );
        root.insert(
            EXIT_STEPS.into(),
            obj([
                ("componentRef", json!({"name": comp})),
                // The first dependent task is the one whose final status the driver reports
                // (backend/src/v2/driver/resolve.go, TaskFinalStatus).
                ("dependentTasks", json!([EXIT_HANDLER])),
                ("inputs", obj([("parameters", sorted(inputs))])),
                ("taskInfo", json!({"name": EXIT_STEPS})),
                (
                    "triggerPolicy",
                    json!({"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}),
                ),
            ]),
        );
        Ok(())
    }
}

/// Make `spec` (the on-exit task at the root) the exit task of the exit handler.
fn exit_task(spec: &mut Value, status: bool) {
    let obj = spec.as_object_mut().expect("task spec is an object");
    obj.insert("dependentTasks".into(), json!([EXIT_HANDLER]));
    obj.insert(
        "triggerPolicy".into(),
        json!({"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}),
    );
    if status {
        let inputs = obj
            .entry("inputs")
            .or_insert_with(|| json!({"parameters": {}}));
        inputs["parameters"]["status"] = json!({"taskFinalStatus": {"producerTask": EXIT_HANDLER}});
        inputs["parameters"] = sorted_value(inputs["parameters"].take());
    }
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

fn hash_map(m: &Map<String, Value>, h: &mut FxHasher) {
    h.write_usize(m.len());
    for (k, v) in m {
        h.write(k.as_bytes());
        hash_value(v, h);
    }
}

fn hash_value(v: &Value, h: &mut FxHasher) {
    match v {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => h.write_u8(1 + u8::from(*b)),
        Value::Number(n) => {
            h.write_u8(3);
            h.write(n.to_string().as_bytes());
        }
        Value::String(s) => {
            h.write_u8(4);
            h.write(s.as_bytes());
        }
        Value::Array(a) => {
            h.write_u8(5);
            h.write_usize(a.len());
            for x in a {
                hash_value(x, h);
            }
        }
        Value::Object(m) => {
            h.write_u8(6);
            hash_map(m, h);
        }
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

fn pvc_from_create() -> Value {
    json!({"taskOutputParameter": {"outputParameterKey": "name", "producerTask": VOLUME_CREATE}})
}

fn caching(enabled: bool) -> Value {
    if enabled {
        json!({"enableCache": true})
    } else {
        json!({})
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

/// An object from owned values (`json!` would copy them).
fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn from_btree(m: BTreeMap<String, Value>) -> Value {
    Value::Object(m.into_iter().collect())
}

fn sorted(mut m: Map<String, Value>) -> Value {
    m.sort_keys();
    Value::Object(m)
}

fn sorted_value(v: Value) -> Value {
    match v {
        Value::Object(m) => sorted(m),
        other => other,
    }
}

/// Kubernetes `podAffinity` / `podAntiAffinity` → kfp-kubernetes `PodAffinityTerm`s.
fn pod_affinity_terms(v: &Value, anti: bool, task: &str) -> Result<Vec<Value>, CompileError> {
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
    let mut out = Vec::new();
    let term = |t: &Value, weight: Option<&Value>| -> Result<Value, CompileError> {
        let Value::Object(t) = t else {
            return Err(bad("a term is not a mapping"));
        };
        let mut o = Map::new();
        if anti {
            o.insert("anti".into(), json!(true));
        }
        if let Some(sel) = t.get("labelSelector") {
            if let Some(e) = sel.get("matchExpressions") {
                o.insert("matchPodExpressions".into(), e.clone());
            }
            if let Some(l) = sel.get("matchLabels") {
                o.insert("matchPodLabels".into(), l.clone());
            }
        }
        if let Some(sel) = t.get("namespaceSelector") {
            if let Some(e) = sel.get("matchExpressions") {
                o.insert("matchNamespaceExpressions".into(), e.clone());
            }
            if let Some(l) = sel.get("matchLabels") {
                o.insert("matchNamespaceLabels".into(), l.clone());
            }
        }
        if let Some(ns) = t.get("namespaces") {
            o.insert("namespaces".into(), ns.clone());
        }
        match t.get("topologyKey") {
            Some(Value::String(k)) => {
                o.insert("topologyKey".into(), json!(k));
            }
            _ => return Err(bad("a term has no topologyKey")),
        }
        if let Some(w) = weight {
            o.insert("weight".into(), w.clone());
        }
        Ok(sorted(o))
    };
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
