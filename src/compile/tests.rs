//! Compiler tests on hand-built inputs: they assert what the pods will do (dependencies,
//! commands, parameters per task, resources, volumes, env), for both targets.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::config::{Config, KfpVersion, MergeStrategy};
use crate::graph::{NodeDef, PipelineDef, ProjectInfo, Snapshot, Task, TaskGraph};

pub(crate) fn node(name: &str, inputs: &[&str], outputs: &[&str], tags: &[&str]) -> NodeDef {
    NodeDef {
        name: name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        outputs: outputs.iter().map(|s| s.to_string()).collect(),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        namespace: name.rsplit_once('.').map(|(ns, _)| ns.to_string()),
    }
}

/// A spaceflights-like project: data processing, then data science in a namespace.
pub(crate) fn snapshot() -> Snapshot {
    let nodes = vec![
        node(
            "preprocess_companies_node",
            &["companies"],
            &["preprocessed_companies"],
            &["dp"],
        ),
        node(
            "preprocess_shuttles_node",
            &["shuttles"],
            &["preprocessed_shuttles"],
            &["dp"],
        ),
        node(
            "create_model_input_table_node",
            &["preprocessed_shuttles", "preprocessed_companies", "reviews"],
            &["model_input_table"],
            &[],
        ),
        node(
            "data_science.split_data_node",
            &["model_input_table", "params:data_science.model_options"],
            &["data_science.X_train", "data_science.y_train"],
            &["training"],
        ),
        node(
            "data_science.train_model_node",
            &["data_science.X_train", "data_science.y_train"],
            &["data_science.regressor"],
            &["training"],
        ),
        node(
            "data_science.evaluate_model_node",
            &["data_science.regressor", "params:threshold"],
            &[],
            &[],
        ),
    ];
    let notify = vec![node("notify_node", &["params:channel"], &[], &[])];
    let mut pipelines = BTreeMap::new();
    pipelines.insert("__default__".to_string(), PipelineDef { nodes });
    pipelines.insert("notify".to_string(), PipelineDef { nodes: notify });
    let datasets: BTreeMap<String, crate::graph::DatasetDef> = serde_json::from_value(json!({
        "companies": {"type": "pandas.CSVDataset", "memory": false, "filepath": "data/01_raw/companies.csv"},
        "preprocessed_companies": {"type": "pandas.ParquetDataset", "memory": false, "filepath": "data/02_intermediate/preprocessed_companies.pq"},
        "preprocessed_shuttles": {"type": "pandas.ParquetDataset", "memory": false, "filepath": "s3://bucket/preprocessed_shuttles.pq"},
        "model_input_table": {"type": "pandas.ParquetDataset", "memory": false, "filepath": "data/03_primary/model_input_table.pq"},
        "data_science.X_train": {"type": "pickle.PickleDataset", "memory": false, "filepath": "data/05_model_input/X_train.pkl"},
        "data_science.y_train": {"memory": true},
        "data_science.regressor": {"type": "pickle.PickleDataset", "memory": false, "filepath": "file:///abs/regressor.pkl"},
    }))
    .unwrap();
    Snapshot {
        format: "kfpx-snapshot".into(),
        version: 1,
        project: ProjectInfo {
            name: "Spaceflights Demo".into(),
            package: Some("spaceflights".into()),
            kedro_version: "1.0.0".into(),
        },
        env: Some("local".into()),
        pipelines,
        datasets,
        parameters: json!({
            "data_science.model_options": {"test_size": 0.2, "random_state": 3, "features": ["engines", "crew"]},
            "threshold": 0.5,
            "channel": "#alerts",
            "unused": 1,
            "nothing": null,
        }),
    }
}

/// One task per node, depending on the producers of its inputs.
pub(crate) fn graph_none(s: &Snapshot, pipeline: &str) -> TaskGraph {
    let nodes = &s.pipelines[pipeline].nodes;
    let mut producer: BTreeMap<&str, &str> = BTreeMap::new();
    let mut tasks = Vec::new();
    for n in nodes {
        let mut deps: Vec<String> = n
            .inputs
            .iter()
            .filter_map(|i| producer.get(i.as_str()).map(|p| p.to_string()))
            .collect();
        deps.sort();
        deps.dedup();
        tasks.push(Task {
            name: n.name.clone(),
            nodes: vec![n.clone()],
            depends_on: deps,
            whole_pipeline: false,
        });
        for o in &n.outputs {
            producer.insert(o, &n.name);
        }
    }
    TaskGraph {
        pipeline: pipeline.into(),
        strategy: MergeStrategy::None,
        tasks,
        crossing: vec![],
    }
}

/// Two tasks: data processing, then data science (as the namespace strategy would group).
pub(crate) fn graph_grouped(s: &Snapshot) -> TaskGraph {
    let nodes = &s.pipelines["__default__"].nodes;
    TaskGraph {
        pipeline: "__default__".into(),
        strategy: MergeStrategy::Namespace,
        tasks: vec![
            Task {
                name: "data_processing".into(),
                nodes: nodes[..3].to_vec(),
                depends_on: vec![],
                whole_pipeline: false,
            },
            Task {
                name: "data_science".into(),
                nodes: nodes[3..].to_vec(),
                depends_on: vec!["data_processing".into()],
                whole_pipeline: false,
            },
        ],
        crossing: vec![],
    }
}

pub(crate) fn graph_full(s: &Snapshot) -> TaskGraph {
    TaskGraph {
        pipeline: "__default__".into(),
        strategy: MergeStrategy::Full,
        tasks: vec![Task {
            name: "__default__".into(),
            nodes: s.pipelines["__default__"].nodes.clone(),
            depends_on: vec![],
            whole_pipeline: true,
        }],
        crossing: vec![],
    }
}

pub(crate) fn config(extra_run_config: &str) -> Config {
    let text = format!(
        "host: http://localhost:8080\nrun_config:\n  image: registry.example.com/spaceflights:1.0\n  experiment_name: exp\n  run_name: demo\n{}",
        extra_run_config
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("bad test config: {e}\n{text}"))
}

pub(crate) struct Case {
    pub config: Config,
    pub snapshot: Snapshot,
    pub graph: TaskGraph,
    pub overrides: BTreeMap<String, Value>,
    pub env: BTreeMap<String, String>,
    pub version: KfpVersion,
    pub strict: bool,
}

impl Case {
    pub fn new(cfg: &str) -> Self {
        let snapshot = snapshot();
        let graph = graph_none(&snapshot, "__default__");
        Case {
            config: config(cfg),
            snapshot,
            graph,
            overrides: BTreeMap::new(),
            env: BTreeMap::new(),
            version: KfpVersion::V2,
            strict: false,
        }
    }
    pub fn v1(mut self) -> Self {
        self.version = KfpVersion::V1;
        self
    }
    pub fn run(&self) -> Result<Compiled, CompileError> {
        compile(&CompileInput {
            config: &self.config,
            snapshot: &self.snapshot,
            tasks: &self.graph,
            env: "prod",
            image: None,
            kfp_version: self.version,
            param_overrides: &self.overrides,
            compile_env: &self.env,
            strict: self.strict,
        })
    }
    pub fn ok(&self) -> Compiled {
        self.run().unwrap_or_else(|e| panic!("compile failed: {e}"))
    }
}

pub(crate) fn err(c: &Case) -> String {
    match c.run() {
        Ok(_) => panic!("expected a compile error"),
        Err(e) => e.to_string(),
    }
}

// ---- helpers over the IR ----------------------------------------------------------------------

pub(crate) fn root_tasks(c: &Compiled) -> &serde_json::Map<String, Value> {
    c.pipeline_spec["root"]["dag"]["tasks"].as_object().unwrap()
}

pub(crate) fn main_tasks(c: &Compiled) -> &serde_json::Map<String, Value> {
    let spec = &c.pipeline_spec;
    match spec["components"].get("comp-exit-handler-1") {
        Some(eh) => eh["dag"]["tasks"].as_object().unwrap(),
        None => root_tasks(c),
    }
}

/// The executor label of the task named `task`, wherever its DAG is, found as the backend finds
/// it: task → `componentRef.name` → component → `executorLabel`.
pub(crate) fn executor_label(c: &Compiled, task: &str) -> String {
    let spec = &c.pipeline_spec;
    let dags = std::iter::once(&spec["root"])
        .chain(spec["components"].as_object().unwrap().values())
        .filter_map(|comp| comp["dag"]["tasks"].as_object());
    for tasks in dags {
        if let Some(t) = tasks.get(task) {
            let comp = t["componentRef"]["name"].as_str().unwrap();
            return spec["components"][comp]["executorLabel"]
                .as_str()
                .unwrap()
                .to_string();
        }
    }
    panic!("no task {task} in the document")
}

pub(crate) fn executor<'a>(c: &'a Compiled, task: &str) -> &'a Value {
    &c.pipeline_spec["deploymentSpec"]["executors"][executor_label(c, task)]["container"]
}

pub(crate) fn k8s<'a>(c: &'a Compiled, task: &str) -> &'a Value {
    &c.platform_spec.as_ref().unwrap()["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        [executor_label(c, task)]
}

/// A node task's `--nodes` list: the constant of its `kedro-nodes` input.
pub(crate) fn nodes_input(c: &Compiled, task: &str) -> String {
    main_tasks(c)[task]["inputs"]["parameters"]["kedro-nodes"]["runtimeValue"]["constant"]
        .as_str()
        .unwrap_or_else(|| panic!("task {task} has no kedro-nodes input"))
        .to_string()
}

pub(crate) fn script(c: &Compiled, task: &str) -> String {
    executor(c, task)["command"][2]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) fn args(c: &Compiled, task: &str) -> Vec<String> {
    executor(c, task)["args"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

pub(crate) fn deps(tasks: &serde_json::Map<String, Value>, task: &str) -> Vec<String> {
    tasks[task]["dependentTasks"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

pub(crate) fn argo_template<'a>(c: &'a Compiled, name: &str) -> &'a Value {
    c.pipeline_spec["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template {name}"))
}

pub(crate) fn argo_dag_task<'a>(c: &'a Compiled, name: &str) -> &'a Value {
    let entry = c.pipeline_spec["spec"]["entrypoint"].as_str().unwrap();
    argo_template(c, entry)["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no dag task {name}"))
}

// ---- v2 ---------------------------------------------------------------------------------------

#[test]
fn v2_one_task_per_node_with_kedro_dependencies() {
    let c = Case::new("").ok();
    assert_eq!(c.pipeline_spec["schemaVersion"], "2.1.0");
    assert_eq!(c.pipeline_spec["pipelineInfo"]["name"], "spaceflights-demo");
    assert!(c.pipeline_spec["sdkVersion"]
        .as_str()
        .unwrap()
        .starts_with("kfpx-"));
    let tasks = root_tasks(&c);
    assert_eq!(tasks.len(), 6);
    assert_eq!(
        deps(tasks, "create-model-input-table-node"),
        vec!["preprocess-companies-node", "preprocess-shuttles-node"]
    );
    assert_eq!(
        deps(tasks, "data-science-split-data-node"),
        vec!["create-model-input-table-node"]
    );
    assert!(deps(tasks, "preprocess-companies-node").is_empty());
    // Each task runs its own Kedro node in the configured env and pipeline: the node list is
    // the task's `kedro-nodes` input, handed to the script as its second argument.
    let s = script(&c, "data-science-split-data-node");
    assert!(
        s.ends_with(
            "kedro run --env prod --pipeline __default__ --nodes \"$nodes\" --config config.yaml"
        ),
        "{s}"
    );
    assert!(s.starts_with("export KUBEFLOW_RUN_ID=\"$1\" && nodes=\"$2\" && shift 2 && "));
    assert_eq!(
        args(&c, "data-science-split-data-node")[2],
        "{{$.inputs.parameters['kedro-nodes']}}"
    );
    assert_eq!(
        nodes_input(&c, "data-science-split-data-node"),
        "data_science.split_data_node"
    );
    // A task without parameters runs kedro without a config file.
    let s = script(&c, "preprocess-companies-node");
    assert!(s.ends_with("--nodes \"$nodes\""), "{s}");
    assert!(!s.contains("config.yaml"), "{s}");
    assert_eq!(
        nodes_input(&c, "preprocess-companies-node"),
        "preprocess_companies_node"
    );
    assert_eq!(
        executor(&c, "preprocess-companies-node")["image"],
        "registry.example.com/spaceflights:1.0"
    );
    assert_eq!(
        k8s(&c, "preprocess-companies-node")["imagePullPolicy"],
        "IfNotPresent"
    );
    // Every task is cached by default.
    assert_eq!(
        tasks["preprocess-companies-node"]["cachingOptions"],
        json!({"enableCache": true})
    );
}

#[test]
fn v2_parameters_only_what_the_pipeline_and_each_task_use() {
    let c = Case::new("").ok();
    let defs = &c.pipeline_spec["root"]["inputDefinitions"]["parameters"];
    let names: Vec<&String> = defs.as_object().unwrap().keys().collect();
    // `unused` is read by no node, `channel` only by another pipeline, `nothing` is null.
    assert_eq!(names, vec!["data_science", "threshold"]);
    assert_eq!(defs["data_science"]["parameterType"], "STRUCT");
    assert_eq!(
        defs["data_science"]["defaultValue"],
        json!({"model_options": {"test_size": 0.2, "random_state": 3, "features": ["engines", "crew"]}})
    );
    assert_eq!(defs["threshold"]["parameterType"], "NUMBER_DOUBLE");
    assert_eq!(c.parameters.len(), 2);
    let tasks = root_tasks(&c);
    assert_eq!(
        tasks["data-science-split-data-node"]["inputs"]["parameters"],
        json!({
            "data_science": {"componentInputParameter": "data_science"},
            "kedro-nodes": {"runtimeValue": {"constant": "data_science.split_data_node"}},
            "kubeflow-run-id": {"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}},
        })
    );
    assert_eq!(
        tasks["data-science-train-model-node"]["inputs"]["parameters"],
        json!({
            "kedro-nodes": {"runtimeValue": {"constant": "data_science.train_model_node"}},
            "kubeflow-run-id": {"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}},
        })
    );
    // The dumper gets name, kind and the placeholder of each parameter; the kind carries
    // where the declared value has integers.
    let a = args(&c, "data-science-split-data-node");
    assert_eq!(
        &a[3..],
        &[
            "data_science",
            "int:{\"model_options\":{\"random_state\":0}}",
            "{{$.inputs.parameters['data_science']}}"
        ]
    );
    let comp = &c.pipeline_spec["components"]["comp-data-science-split-data-node"];
    assert_eq!(
        comp["inputDefinitions"]["parameters"]["data_science"]["parameterType"],
        "STRUCT"
    );
}

#[test]
fn v2_run_id_is_exported_from_the_job_uuid() {
    let mut case = Case::new("");
    case.env
        .insert("KEDRO_CONFIG_COMMIT_ID".into(), "abc123".into());
    case.env.insert("IAP_CLIENT_ID".into(), "iap".into());
    let c = case.ok();
    let a = args(&c, "preprocess-shuttles-node");
    // Through the task's input parameter (see backend_tests: the backend resolves the
    // placeholder only there).
    assert_eq!(a[1], "{{$.inputs.parameters['kubeflow-run-id']}}");
    assert!(script(&c, "preprocess-shuttles-node").starts_with("export KUBEFLOW_RUN_ID=\"$1\""));
    let env = &executor(&c, "preprocess-shuttles-node")["env"];
    assert_eq!(
        env,
        &json!([{"name": "IAP_CLIENT_ID", "value": "iap"}, {"name": "KEDRO_CONFIG_COMMIT_ID", "value": "abc123"}])
    );
}

#[test]
fn param_overrides_become_defaults_with_the_same_type() {
    let mut case = Case::new("");
    case.overrides.insert("threshold".into(), json!(1));
    let c = case.ok();
    let defs = &c.pipeline_spec["root"]["inputDefinitions"]["parameters"];
    assert_eq!(defs["threshold"]["defaultValue"], json!(1.0));
    assert_eq!(defs["threshold"]["parameterType"], "NUMBER_DOUBLE");

    let mut case = Case::new("");
    case.overrides.insert("unused".into(), json!(2));
    let e = err(&case);
    assert!(e.contains("no parameter \"unused\""), "{e}");
    assert!(e.contains("data_science, threshold"), "{e}");
}

#[test]
fn parameter_names_match_what_compile_declares() {
    let case = Case::new("on_exit_pipeline: notify");
    let input = CompileInput {
        config: &case.config,
        snapshot: &case.snapshot,
        tasks: &case.graph,
        env: "prod",
        image: None,
        kfp_version: KfpVersion::V2,
        param_overrides: &BTreeMap::new(),
        compile_env: &BTreeMap::new(),
        strict: false,
    };
    assert_eq!(
        parameter_names(&input),
        vec!["channel", "data_science", "threshold"]
    );
}

#[test]
fn resources_merge_default_and_node_and_grouped_take_the_largest() {
    let cfg = "resources:\n  __default__: {cpu: 200m, memory: 1Gi}\n  data_science.train_model_node: {cpu: 2, nvidia.com/gpu: 1}\n  split-data: {memory: 512Mi}\n  training: {memory: 4Gi}";
    let c = Case::new(cfg).ok();
    // Exact node name: node dict merged over __default__.
    let r = &executor(&c, "data-science-train-model-node")["resources"];
    assert_eq!(
        r,
        &json!({
            "accelerator": {"resourceCount": "1", "resourceType": "nvidia.com/gpu"},
            "resourceCpuLimit": "2", "resourceCpuRequest": "2",
            "resourceMemoryLimit": "1Gi", "resourceMemoryRequest": "1Gi",
        })
    );
    // By tag (`training`) when the node has no own entry.
    let r = &executor(&c, "data-science-split-data-node")["resources"];
    assert_eq!(r["resourceMemoryLimit"], "4Gi");
    assert_eq!(r["resourceCpuLimit"], "200m");
    // Untouched node: __default__ only.
    let r = &executor(&c, "preprocess-companies-node")["resources"];
    assert_eq!(r["resourceCpuRequest"], "200m");
    assert_eq!(r["resourceMemoryRequest"], "1Gi");

    // Grouped: the data science task needs 2 CPUs, 4Gi and the GPU.
    let mut case = Case::new(cfg);
    case.graph = graph_grouped(&case.snapshot);
    let c = case.ok();
    let r = &executor(&c, "data-science")["resources"];
    assert_eq!(r["resourceCpuLimit"], "2");
    assert_eq!(r["resourceMemoryLimit"], "4Gi");
    assert_eq!(r["accelerator"]["resourceType"], "nvidia.com/gpu");
    assert_eq!(
        deps(root_tasks(&c), "data-science"),
        vec!["data-processing"]
    );
    assert_eq!(
        nodes_input(&c, "data-science"),
        "data_science.split_data_node,data_science.train_model_node,data_science.evaluate_model_node"
    );
    assert_eq!(
        &args(&c, "data-science")[3..],
        &[
            "data_science",
            "int:{\"model_options\":{\"random_state\":0}}",
            "{{$.inputs.parameters['data_science']}}",
            "threshold",
            "yaml",
            "{{$.inputs.parameters['threshold']}}"
        ]
    );
}

#[test]
fn builtin_resource_default_applies_without_user_default() {
    let c = Case::new("resources:\n  preprocess_companies_node: {cpu: 1}").ok();
    let r = &executor(&c, "preprocess-shuttles-node")["resources"];
    assert_eq!(r["resourceCpuLimit"], "500m");
    assert_eq!(r["resourceMemoryLimit"], "1024Mi");
    let r = &executor(&c, "preprocess-companies-node")["resources"];
    assert_eq!(r["resourceCpuLimit"], "1");
    assert_eq!(r["resourceMemoryLimit"], "1024Mi");
}

#[test]
fn v2_kubernetes_features_in_the_platform_spec() {
    let cfg = r#"
env: {LOG_LEVEL: debug}
secrets: {db-creds: [DB_USER, DB_PASSWORD]}
image_pull_secrets: [regcred]
labels: {team: ml}
annotations: {owner: data}
ttl: 300
tolerations:
  __default__: [{key: dedicated, operator: Equal, value: ml-ops, effect: NoSchedule}]
  preprocess_companies_node: []
node_selector:
  __default__: {pool: cpu}
  training: {pool: gpu}
affinity:
  __default__:
    node_affinity:
      required_during_scheduling_ignored_during_execution:
        nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
    pod_anti_affinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 10
          podAffinityTerm: {labelSelector: {matchLabels: {app: kedro}}, topologyKey: kubernetes.io/hostname}
retry_policy:
  __default__: {num_retries: 4, backoff_duration: 60s, backoff_factor: 2}
  data_science.train_model_node: {num_retries: 1, backoff_duration: 5m}
extra_volumes:
  __default__:
    - mount_path: /dev/shm
      volume: {name: shared_memory, empty_dir: {cls: V1EmptyDirVolumeSource, params: {medium: Memory}}}
    - mount_path: /etc/app
      volume: {name: app-config, configMap: {name: app-config}}
    - mount_path: /secrets
      volume: {name: creds, secret: {secret_name: creds}}
    - mount_path: /shared
      volume: {name: shared, persistent_volume_claim: {claim_name: shared-pvc}}
max_cache_staleness: P0D
"#;
    let c = Case::new(cfg).ok();
    let k = k8s(&c, "preprocess-shuttles-node");
    assert_eq!(
        k["secretAsEnv"],
        json!([{"keyToEnv": [{"envVar": "DB_USER", "secretKey": "DB_USER"}, {"envVar": "DB_PASSWORD", "secretKey": "DB_PASSWORD"}],
                "optional": false, "secretName": "db-creds",
                "secretNameParameter": {"runtimeValue": {"constant": "db-creds"}}}])
    );
    assert_eq!(k["imagePullSecret"][0]["secretName"], "regcred");
    assert_eq!(
        k["podMetadata"],
        json!({"annotations": {"owner": "data"}, "labels": {"team": "ml"}})
    );
    assert_eq!(
        k["tolerations"],
        json!([{"effect": "NoSchedule", "key": "dedicated", "operator": "Equal", "value": "ml-ops"}])
    );
    assert_eq!(k["nodeSelector"], json!({"labels": {"pool": "cpu"}}));
    assert_eq!(
        k["nodeAffinity"][0]["nodeAffinityJson"]["runtimeValue"]["constant"],
        json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}})
    );
    assert_eq!(
        k["podAffinity"],
        json!([{"anti": true, "matchPodLabels": {"app": "kedro"}, "topologyKey": "kubernetes.io/hostname", "weight": 10}])
    );
    assert_eq!(
        k["emptyDirMounts"],
        json!([{"medium": "Memory", "mountPath": "/dev/shm", "volumeName": "shared-memory"}])
    );
    assert_eq!(k["configMapAsVolume"][0]["configMapName"], "app-config");
    assert_eq!(k["secretAsVolume"][0]["secretName"], "creds");
    assert_eq!(
        k["pvcMount"][0]["pvcNameParameter"]["runtimeValue"]["constant"],
        "shared-pvc"
    );
    // A node's empty toleration list replaces the default; a tag picks the GPU pool.
    assert!(k8s(&c, "preprocess-companies-node")
        .get("tolerations")
        .is_none());
    assert_eq!(
        k8s(&c, "data-science-train-model-node")["nodeSelector"],
        json!({"labels": {"pool": "gpu"}})
    );
    // env
    assert_eq!(
        executor(&c, "preprocess-shuttles-node")["env"],
        json!([{"name": "LOG_LEVEL", "value": "debug"}])
    );
    // Retry: default for most; the node's fields with the default's factor filling the gap.
    let tasks = root_tasks(&c);
    assert_eq!(
        tasks["preprocess-shuttles-node"]["retryPolicy"],
        json!({"backoffDuration": "60s", "backoffFactor": 2.0, "backoffMaxDuration": "3600s", "maxRetryCount": 4})
    );
    assert_eq!(
        tasks["data-science-train-model-node"]["retryPolicy"],
        json!({"backoffDuration": "300s", "backoffFactor": 2.0, "backoffMaxDuration": "3600s", "maxRetryCount": 1})
    );
    // P0D turns caching off.
    assert_eq!(
        tasks["preprocess-shuttles-node"]["cachingOptions"],
        json!({})
    );
    assert_eq!(
        c.platform_spec.as_ref().unwrap()["platforms"]["kubernetes"]["pipelineConfig"],
        json!({"resourceTtlOnCompletion": 300})
    );
}

#[test]
fn v2_data_volume_is_created_initialised_mounted_and_deleted() {
    let c = Case::new("volume: {size: 5Gi, storageclass: nfs, access_modes: [ReadWriteMany]}").ok();
    let root = root_tasks(&c);
    let create = &root["data-volume-create"];
    assert_eq!(
        create["cachingOptions"],
        json!({}),
        "create must never be cached"
    );
    assert_eq!(
        create["inputs"]["parameters"]["size"]["runtimeValue"]["constant"],
        "5Gi"
    );
    assert_eq!(
        create["inputs"]["parameters"]["storage_class_name"]["runtimeValue"]["constant"],
        "nfs"
    );
    assert_eq!(
        create["inputs"]["parameters"]["access_modes"]["runtimeValue"]["constant"],
        json!(["ReadWriteMany"])
    );
    assert_eq!(
        create["inputs"]["parameters"]["pvc_name_suffix"]["runtimeValue"]["constant"],
        "-default-data-volume"
    );
    assert_eq!(
        executor(&c, "data-volume-create")["image"],
        "argostub/createpvc"
    );
    // The delete step runs after everything, whatever the outcome, on the created PVC's name.
    let delete = &root["data-volume-delete"];
    assert_eq!(
        delete["triggerPolicy"]["strategy"],
        "ALL_UPSTREAM_TASKS_COMPLETED"
    );
    assert_eq!(
        deps(root, "data-volume-delete"),
        vec!["data-volume-create", "exit-handler-1"]
    );
    assert_eq!(
        delete["inputs"]["parameters"]["pvc_name"],
        json!({"taskOutputParameter": {"outputParameterKey": "name", "producerTask": "data-volume-create"}})
    );
    assert_eq!(deps(root, "exit-handler-1"), vec!["data-volume-create"]);
    // Inside: init copies the image's data, nodes run after it with the PVC at /home/kedro/data.
    let main = main_tasks(&c);
    assert_eq!(main["data-volume-init"]["cachingOptions"], json!({}));
    assert_eq!(
        executor(&c, "data-volume-init")["command"],
        json!([
            "sh",
            "-c",
            "cp --verbose -r /home/kedro/data/* /home/kedro/datavolume"
        ])
    );
    assert_eq!(
        k8s(&c, "data-volume-init")["pvcMount"][0]["mountPath"],
        "/home/kedro/datavolume"
    );
    assert_eq!(
        deps(main, "preprocess-companies-node"),
        vec!["data-volume-init"]
    );
    let mount = &k8s(&c, "preprocess-companies-node")["pvcMount"][0];
    assert_eq!(mount["mountPath"], "/home/kedro/data");
    assert_eq!(
        mount["pvcNameParameter"],
        json!({"componentInputParameter": "pipelinechannel--data-volume-create-name"})
    );
    assert_eq!(
        k8s(&c, "preprocess-companies-node")["securityContext"]["runAsUser"],
        "0"
    );
}

#[test]
fn v2_kept_volume_without_exit_handler_and_skip_init() {
    let c = Case::new("volume: {keep: true, skip_init: true}").ok();
    let root = root_tasks(&c);
    assert!(root.get("exit-handler-1").is_none());
    assert!(root.get("data-volume-delete").is_none());
    assert!(root.get("data-volume-init").is_none());
    assert_eq!(
        deps(root, "preprocess-companies-node"),
        vec!["data-volume-create"]
    );
    assert_eq!(
        k8s(&c, "preprocess-companies-node")["pvcMount"][0]["pvcNameParameter"],
        json!({"taskOutputParameter": {"outputParameterKey": "name", "producerTask": "data-volume-create"}})
    );
}

#[test]
fn v2_on_exit_pipeline_receives_final_status() {
    let c = Case::new("on_exit_pipeline: notify").ok();
    let root = root_tasks(&c);
    let on_exit = &root["on-exit"];
    assert_eq!(deps(root, "on-exit"), vec!["exit-handler-1"]);
    assert_eq!(
        on_exit["triggerPolicy"]["strategy"],
        "ALL_UPSTREAM_TASKS_COMPLETED"
    );
    assert_eq!(
        on_exit["inputs"]["parameters"]["status"],
        json!({"taskFinalStatus": {"producerTask": "exit-handler-1"}})
    );
    assert_eq!(
        on_exit["inputs"]["parameters"]["channel"],
        json!({"componentInputParameter": "channel"})
    );
    assert_eq!(
        c.pipeline_spec["components"]["comp-on-exit"]["inputDefinitions"]["parameters"]["status"]
            ["parameterType"],
        "TASK_FINAL_STATUS"
    );
    let s = script(&c, "on-exit");
    assert!(
        s.ends_with("kedro run --config config.yaml --env prod --pipeline notify"),
        "{s}"
    );
    // The pipeline's tasks moved into the exit handler's DAG, reading parameters via channels.
    assert_eq!(main_tasks(&c).len(), 6);
    assert_eq!(
        main_tasks(&c)["data-science-split-data-node"]["inputs"]["parameters"]["data_science"],
        json!({"componentInputParameter": "pipelinechannel--data_science"})
    );
    assert!(c.pipeline_spec["root"]["inputDefinitions"]["parameters"]
        .get("channel")
        .is_some());
}

#[test]
fn on_exit_pipeline_must_exist() {
    let e = err(&Case::new("on_exit_pipeline: notifi"));
    assert!(e.contains("no pipeline \"notifi\""), "{e}");
    assert!(e.contains("__default__, notify"), "{e}");
}

#[test]
fn v2_mlflow_start_hands_its_run_id_to_every_task() {
    let c = Case::new("mlflow: {enabled: true}").ok();
    let root = root_tasks(&c);
    assert!(deps(root, "preprocess-companies-node").contains(&"mlflow-start-run".to_string()));
    assert_eq!(
        root["preprocess-companies-node"]["inputs"]["parameters"]["mlflow-run-id"],
        json!({"taskOutputParameter": {"outputParameterKey": "mlflow-run-id", "producerTask": "mlflow-start-run"}})
    );
    let a = args(&c, "preprocess-companies-node");
    assert_eq!(a[2], "{{$.inputs.parameters['mlflow-run-id']}}");
    assert!(script(&c, "preprocess-companies-node").contains("MLFLOW_RUN_ID=\"$2\""));
    let start = executor(&c, "mlflow-start-run");
    assert_eq!(start["command"][0], "python");
    assert_eq!(
        start["args"],
        json!([
            "prod",
            "{{$.inputs.parameters['kubeflow-run-id']}}",
            "{{$.outputs.parameters['mlflow-run-id'].output_file}}"
        ])
    );
}

#[test]
fn full_strategy_runs_the_whole_pipeline_in_one_pod() {
    let mut case = Case::new("");
    case.graph = graph_full(&case.snapshot);
    let c = case.ok();
    assert_eq!(root_tasks(&c).len(), 1);
    let s = script(&c, "default");
    assert!(
        s.ends_with("kedro run --env prod --pipeline __default__ --config config.yaml"),
        "{s}"
    );
}

#[test]
fn old_kedro_uses_repeated_node_flags() {
    let mut case = Case::new("");
    case.snapshot.project.kedro_version = "0.18.3".into();
    case.graph = graph_grouped(&case.snapshot);
    let c = case.ok();
    let s = script(&c, "data-processing");
    assert!(
        s.contains("--node preprocess_companies_node --node preprocess_shuttles_node --node create_model_input_table_node"),
        "{s}"
    );
}

#[test]
fn node_names_needing_quotes_are_shell_quoted_and_names_stay_unique() {
    let mut case = Case::new("");
    let nodes = vec![
        node("a b", &[], &["x"], &[]),
        node("a.b", &["x"], &[], &[]),
        node("A_B", &[], &[], &[]),
    ];
    case.snapshot
        .pipelines
        .insert("odd".into(), PipelineDef { nodes });
    case.graph = graph_none(&case.snapshot, "odd");
    let c = case.ok();
    let tasks = root_tasks(&c);
    let names: Vec<&String> = tasks.keys().collect();
    assert_eq!(names, vec!["a-b", "a-b-2", "a-b-3"]);
    // v2: the name is a task input constant, quoted where the script uses it.
    assert!(script(&c, "a-b").ends_with("--pipeline odd --nodes \"$nodes\""));
    assert_eq!(nodes_input(&c, "a-b"), "a b");
    assert_eq!(deps(tasks, "a-b-2"), vec!["a-b"]);
    // Argo: written into the script, shell-quoted.
    let mut case = Case::new("").v1();
    case.snapshot.pipelines.insert(
        "odd".into(),
        PipelineDef {
            nodes: vec![node("a b", &[], &["x"], &[])],
        },
    );
    case.graph = graph_none(&case.snapshot, "odd");
    let y = case.ok().yaml;
    assert!(y.contains("--pipeline odd --nodes 'a b'"), "{y}");
}

#[test]
fn same_input_same_bytes() {
    let cfg = "volume: {}\non_exit_pipeline: notify\nmlflow: {enabled: true}\nsecrets: {s: [A, B]}";
    let a = Case::new(cfg).ok().yaml;
    let b = Case::new(cfg).ok().yaml;
    assert_eq!(a, b);
    let a = Case::new(cfg).v1().ok().yaml;
    let b = Case::new(cfg).v1().ok().yaml;
    assert_eq!(a, b);
    assert!(!a.contains("compilation_time"));
}

#[test]
fn v2_yaml_has_pipeline_then_platform_document() {
    let c = Case::new("").ok();
    let docs: Vec<&str> = c.yaml.split("\n---\n").collect();
    assert_eq!(docs.len(), 2);
    let first: Value = serde_yaml::from_str(docs[0]).unwrap();
    let second: Value = serde_yaml::from_str(docs[1]).unwrap();
    assert_eq!(first, c.pipeline_spec);
    assert_eq!(&second, c.platform_spec.as_ref().unwrap());
}

// ---- Argo ---------------------------------------------------------------------------------------

#[test]
fn argo_workflow_in_kedro_kubeflow_shape() {
    let c = Case::new("ttl: 600\ndescription: Demo").v1().ok();
    let wf = &c.pipeline_spec;
    assert_eq!(wf["kind"], "Workflow");
    assert_eq!(wf["metadata"]["generateName"], "spaceflights-demo-");
    assert_eq!(wf["spec"]["entrypoint"], "spaceflights-demo");
    assert_eq!(wf["spec"]["serviceAccountName"], "pipeline-runner");
    assert_eq!(
        wf["spec"]["ttlStrategy"],
        json!({"secondsAfterCompletion": 600})
    );
    assert!(wf["spec"].get("onExit").is_none());
    let summary: Value = serde_json::from_str(
        wf["metadata"]["annotations"]["pipelines.kubeflow.org/pipeline_spec"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(summary["description"], "Demo");
    assert_eq!(
        summary["inputs"][1],
        json!({"default": "0.5", "name": "threshold", "optional": true, "type": "Float"})
    );
    assert_eq!(
        wf["spec"]["arguments"]["parameters"][0],
        json!({"name": "data_science", "value": "{\"model_options\":{\"test_size\":0.2,\"random_state\":3,\"features\":[\"engines\",\"crew\"]}}"})
    );
    let t = argo_dag_task(&c, "create-model-input-table-node");
    assert_eq!(
        t["dependencies"],
        json!(["preprocess-companies-node", "preprocess-shuttles-node"])
    );
    let t = argo_dag_task(&c, "data-science-split-data-node");
    assert_eq!(
        t["arguments"]["parameters"],
        json!([{"name": "data_science", "value": "{{workflow.parameters.data_science}}"}])
    );
    let tpl = argo_template(&c, "data-science-split-data-node");
    let a = tpl["container"]["args"].as_array().unwrap();
    assert_eq!(
        a[1..],
        [
            json!("data_science"),
            json!("int:{\"model_options\":{\"random_state\":0}}"),
            json!("{{inputs.parameters.data_science}}")
        ]
    );
    assert_eq!(
        tpl["container"]["env"][0],
        json!({"name": "KUBEFLOW_RUN_ID", "value": "{{workflow.uid}}"})
    );
    assert_eq!(
        tpl["container"]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "1024Mi"}, "requests": {"cpu": "500m", "memory": "1024Mi"}})
    );
    assert_eq!(
        tpl["metadata"]["labels"]["pipelines.kubeflow.org/enable_caching"],
        "true"
    );
}

#[test]
fn argo_volume_bugs_fixed() {
    let c = Case::new("volume: {}\non_exit_pipeline: notify").v1().ok();
    let wf = &c.pipeline_spec;
    assert_eq!(wf["spec"]["onExit"], "exit-handler-1");
    let create = argo_template(&c, "data-volume-create");
    assert_eq!(create["resource"]["action"], "create");
    assert_eq!(
        create["metadata"]["labels"]["pipelines.kubeflow.org/enable_caching"],
        "false"
    );
    assert_eq!(
        create["metadata"]["annotations"]["pipelines.kubeflow.org/max_cache_staleness"],
        "P0D"
    );
    let manifest: Value =
        serde_yaml::from_str(create["resource"]["manifest"].as_str().unwrap()).unwrap();
    assert_eq!(
        manifest["metadata"]["name"],
        "{{workflow.name}}-default-data-volume"
    );
    assert_eq!(manifest["spec"]["resources"]["requests"]["storage"], "1Gi");
    let out = &create["outputs"]["parameters"][1];
    assert_eq!(out["globalName"], "data-volume-name");
    // The exit handler deletes the PVC by the name the create step output.
    let exit = argo_template(&c, "exit-handler-1");
    let del = exit["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "data-volume-delete")
        .unwrap();
    assert_eq!(
        del["arguments"]["parameters"][0]["value"],
        "{{workflow.outputs.parameters.data-volume-name}}"
    );
    assert_eq!(
        argo_template(&c, "data-volume-delete")["resource"]["action"],
        "delete"
    );
    // The on-exit pipeline gets the status words.
    let on_exit = argo_template(&c, "on-exit");
    let a: Vec<&str> = on_exit["container"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(a.ends_with(&[
        "status",
        "status",
        "{{workflow.status}}",
        "failures",
        "str",
        "{{workflow.failures}}"
    ]));
    assert!(a.contains(&"{{workflow.parameters.channel}}"));
    // Nodes mount the created PVC at /home/kedro/data after init.
    let t = argo_dag_task(&c, "preprocess-companies-node");
    assert_eq!(
        t["dependencies"],
        json!(["data-volume-create", "data-volume-init"])
    );
    let tpl = argo_template(&c, "preprocess-companies-node");
    assert_eq!(
        tpl["container"]["volumeMounts"][0]["mountPath"],
        "/home/kedro/data"
    );
    assert_eq!(
        tpl["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "{{inputs.parameters.data-volume-create-name}}"
    );
    assert_eq!(tpl["securityContext"]["runAsUser"], 0);
}

#[test]
fn argo_artifacts_for_local_outputs_with_sanitised_names() {
    let c = Case::new("").v1().ok();
    let tpl = argo_template(&c, "data-science-split-data-node");
    assert_eq!(
        tpl["outputs"]["artifacts"],
        json!([{"name": "data-science-split-data-node-data-science-x-train", "path": "/home/kedro/data/05_model_input/X_train.pkl"}])
    );
    // s3:// outputs are not artifacts; file:// absolute paths are.
    assert!(argo_template(&c, "preprocess-shuttles-node")
        .get("outputs")
        .is_none());
    assert_eq!(
        argo_template(&c, "data-science-train-model-node")["outputs"]["artifacts"][0]["path"],
        "/abs/regressor.pkl"
    );
    let c = Case::new("store_kedro_outputs_as_kfp_artifacts: false")
        .v1()
        .ok();
    assert!(argo_template(&c, "data-science-split-data-node")
        .get("outputs")
        .is_none());
}

#[test]
fn argo_secrets_mlflow_and_settings() {
    let cfg = "secrets: {db: [PASSWORD]}\nmlflow: {enabled: true}\nservice_account: runner\nretry_policy:\n  __default__: {num_retries: 2, backoff_duration: 30s, backoff_factor: 1.5, backoff_max_duration: 1h}\ntolerations:\n  __default__: [{key: gpu, operator: Exists, effect: NoSchedule}]";
    let c = Case::new(cfg).v1().ok();
    assert_eq!(c.pipeline_spec["spec"]["serviceAccountName"], "runner");
    let tpl = argo_template(&c, "preprocess-companies-node");
    let env = tpl["container"]["env"].as_array().unwrap();
    assert!(env.contains(&json!({"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"key": "PASSWORD", "name": "db"}}})));
    assert!(env.contains(
        &json!({"name": "MLFLOW_RUN_ID", "value": "{{inputs.parameters.mlflow-run-id}}"})
    ));
    assert_eq!(
        tpl["retryStrategy"],
        json!({"backoff": {"duration": "30s", "factor": "1.5", "maxDuration": "1h"}, "limit": 2, "retryPolicy": "Always"})
    );
    assert_eq!(
        tpl["tolerations"],
        json!([{"effect": "NoSchedule", "key": "gpu", "operator": "Exists"}])
    );
    let t = argo_dag_task(&c, "preprocess-companies-node");
    assert_eq!(
        t["arguments"]["parameters"][0]["value"],
        "{{tasks.mlflow-start-run.outputs.parameters.mlflow-run-id}}"
    );
    assert_eq!(
        argo_template(&c, "mlflow-start-run")["outputs"]["parameters"][0]["valueFrom"]["path"],
        "/tmp/mlflow_run_id"
    );
}

// ---- bad input ----------------------------------------------------------------------------------

#[test]
fn unknown_per_node_key_warns_with_did_you_mean_and_fails_under_strict() {
    let cfg = "resources:\n  data_import_step: {memory: 2Gi}\n  preprocess_companie_node: {cpu: 1}";
    let c = Case::new(cfg).ok();
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings.iter().any(|w| w.contains(
        "run_config.resources.preprocess_companie_node matches no node or tag of the project; did you mean \"preprocess_companies_node\"?"
    )), "{:?}", c.warnings);
    let mut case = Case::new(cfg);
    case.strict = true;
    let e = err(&case);
    assert!(e.contains("--strict"), "{e}");
    // Sanitised names and tags are valid keys.
    let c =
        Case::new("resources:\n  preprocess-companies-node: {cpu: 1}\n  training: {cpu: 2}").ok();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        executor(&c, "preprocess-companies-node")["resources"]["resourceCpuLimit"],
        "1"
    );
}

/// The error typing `extra_run_config` gives: quantities, durations and toleration words are
/// parsed when the config is typed (`config::units`), so no compile sees a bad one.
fn typing_error(extra_run_config: &str) -> String {
    let text = format!(
        "host: http://localhost:8080\nrun_config:\n  image: i\n  experiment_name: e\n  run_name: r\n{}",
        extra_run_config
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    match serde_yaml::from_str::<Config>(&text) {
        Ok(_) => panic!("expected a typing error for {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_resource_quantity() {
    let e = typing_error("resources:\n  __default__: {cpu: lots}");
    assert!(
        e.contains("`lots` is not a Kubernetes quantity; write e.g. 500m or 2 for CPU"),
        "{e}"
    );
}

#[test]
fn invalid_toleration() {
    let e = typing_error(
        "tolerations:\n  __default__: [{key: a, operator: Equals, value: b, effect: NoSchedule}]",
    );
    assert!(
        e.contains("operator `Equals` is not Equal or Exists (did you mean `Equal`?)"),
        "{e}"
    );
    let e = err(&Case::new(
        "tolerations:\n  x: [{key: a, operator: Exists, value: b, effect: NoSchedule}]",
    ));
    assert!(
        e.starts_with("run_config.tolerations.x[0].value: ") && e.contains("Exists takes no value"),
        "{e}"
    );
    let e = typing_error("tolerations:\n  x: [{key: a, operator: Equal, value: b, effect: Never}]");
    assert!(e.contains("effect `Never` is not one of"), "{e}");
}

#[test]
fn bad_retry_policy() {
    let e = typing_error(
        "retry_policy:\n  __default__: {num_retries: 2, backoff_duration: soon, backoff_factor: 2}",
    );
    assert!(e.contains("`soon` is not a duration"), "{e}");
    let e = err(&Case::new("retry_policy:\n  train: {num_retries: 2}"));
    assert!(
        e.contains("run_config.retry_policy.train: missing backoff_duration"),
        "{e}"
    );
    let e = err(&Case::new(
        "retry_policy:\n  __default__: {num_retries: 2, backoff_duration: 1m, backoff_factor: 0}",
    ));
    assert!(
        e.contains("run_config.retry_policy.__default__.backoff_factor: backoff factor 0 must be 1 or more"),
        "{e}"
    );
}

#[test]
fn bad_extra_volume_and_v2_only_kinds() {
    let e = err(&Case::new(
        "extra_volumes:\n  __default__: [{mount_path: /x, volume: {empty_dir: {}}}]",
    ));
    assert!(
        e.contains("run_config.extra_volumes.__default__[0].volume: the volume needs a `name`"),
        "{e}"
    );
    let cfg = "extra_volumes:\n  __default__: [{mount_path: /x, volume: {name: n, nfs: {server: s, path: /}}}]";
    let e = err(&Case::new(cfg));
    assert!(e.contains("cannot be expressed in KFP v2 IR"), "{e}");
    // Argo takes any volume source as is.
    let c = Case::new(cfg).v1().ok();
    assert_eq!(
        argo_template(&c, "preprocess-companies-node")["volumes"][0],
        json!({"name": "n", "nfs": {"path": "/", "server": "s"}})
    );
}

#[test]
fn conflicting_node_selectors_in_one_task() {
    let mut case = Case::new("node_selector:\n  preprocess_companies_node: {pool: a}\n  preprocess_shuttles_node: {pool: b}");
    case.graph = graph_grouped(&case.snapshot);
    let e = err(&case);
    assert!(e.contains("need pool=a and pool=b"), "{e}");
}
