//! What the backend does with what kfpx compiles: each test encodes one behaviour read in the
//! upstream source (named in the test), on the compiled output of both targets where it applies.
//! The sections are numbered facts (1: retry window, 2: run ids, 3: exit tasks, 4: affinity,
//! 7: declared types, 8: shared components); each cites the kubeflow/pipelines or argo-workflows file it comes from.

use serde_json::{json, Map, Value};

use super::tests::{
    argo_template, args, deps, err, executor, executor_label, graph_none, k8s, main_tasks, node,
    nodes_input, root_tasks, script, Case,
};
use super::Compiled;
use crate::graph::PipelineDef;

const RETRY: &str = "retry_policy:\n  __default__: {num_retries: 3, backoff_duration: 30s, backoff_factor: 2}\n  data_science.train_model_node: {backoff_max_duration: 2h}";

/// Every DAG of the IR: the root's and each DAG component's tasks, with a name.
fn dags(c: &Compiled) -> Vec<(String, &Map<String, Value>)> {
    let mut out = vec![("root".to_string(), root_tasks(c))];
    for (name, comp) in c.pipeline_spec["components"].as_object().unwrap() {
        if let Some(t) = comp["dag"]["tasks"].as_object() {
            out.push((name.clone(), t));
        }
    }
    out
}

fn exit_dag_tasks<'a>(c: &'a Compiled, name: &str) -> &'a Vec<Value> {
    argo_template(c, name)["dag"]["tasks"].as_array().unwrap()
}

// ---- fact 1: retry window -------------------------------------------------------------------

/// kubeflow/pipelines backend/src/v2/compiler/argocompiler/container.go: the retry template
/// parameters default to "0" (`addParameterDefault(c.getTaskRetryParameters(task), "0")`) and
/// `getTaskRetryParametersWithValues` passes `backoffMaxDuration` only when the IR has one; Argo
/// then closes the window at `firstChildNode.StartedAt + maxDuration` (argo-workflows
/// workflow/controller/operator.go). So the IR must always carry it: the SDK's 3600s default,
/// or the user's `backoff_max_duration`.
#[test]
fn fact1_v2_retry_policy_always_has_a_retry_window() {
    let c = Case::new(RETRY).ok();
    let main = main_tasks(&c);
    for (name, t) in main {
        let rp = &t["retryPolicy"];
        assert!(rp.is_object(), "{name} has no retryPolicy");
        let want = if name == "data-science-train-model-node" {
            "7200s"
        } else {
            "3600s"
        };
        assert_eq!(rp["backoffMaxDuration"], want, "{name}");
        assert_eq!(rp["maxRetryCount"], 3, "{name}");
    }
}

/// Argo measures `backoff.maxDuration` from the first attempt (argo-workflows
/// workflow/controller/operator.go, `maxDurationDeadline`); the Argo target writes the same
/// window as the IR.
#[test]
fn fact1_argo_retry_strategy_always_has_a_max_duration() {
    let c = Case::new(RETRY).v1().ok();
    let t = argo_template(&c, "preprocess-shuttles-node");
    assert_eq!(
        t["retryStrategy"],
        json!({"backoff": {"duration": "30s", "factor": 2, "maxDuration": "1h"}, "limit": 3, "retryPolicy": "Always"})
    );
    assert_eq!(
        argo_template(&c, "data-science-train-model-node")["retryStrategy"]["backoff"]
            ["maxDuration"],
        "2h"
    );
}

#[test]
fn fact1_a_zero_retry_window_is_an_error() {
    let e = err(&Case::new(
        "retry_policy:\n  __default__: {num_retries: 3, backoff_duration: 30s, backoff_factor: 2, backoff_max_duration: 0s}",
    ));
    assert!(
        e.contains("run_config.retry_policy.__default__.backoff_max_duration"),
        "{e}"
    );
    assert!(e.contains("measured from the first attempt"), "{e}");
}

// ---- fact 2: run ids ---------------------------------------------------------------------------

/// backend/src/v2/driver/resolve.go resolves `{{$.pipeline_job_uuid}}` (and the other
/// `{{$.pipeline_…}}` placeholders) only as the `runtimeValue.constant` of a task input
/// parameter; backend/src/v2/component/launcher_v2.go (`getPlaceholders`) substitutes only
/// `{{$.inputs…}}` / `{{$.outputs…}}` in command and args. The SDK's form:
/// test_data/sdk_compiled_pipelines/valid/critical/pipeline_with_placeholders.yaml (`job_id`).
#[test]
fn fact2_v2_run_id_reaches_every_task_as_an_input_parameter() {
    let c = Case::new("mlflow: {enabled: true}\non_exit_pipeline: notify").ok();
    let spec = &c.pipeline_spec;
    let mut seen = 0;
    for (dag, tasks) in dags(&c) {
        for (name, t) in tasks {
            let comp = t["componentRef"]["name"].as_str().unwrap();
            let Some(exec) = spec["components"][comp]["executorLabel"].as_str() else {
                continue;
            };
            let container = &spec["deploymentSpec"]["executors"][exec]["container"];
            let text = serde_json::to_string(&(&container["command"], &container["args"])).unwrap();
            // Nothing the backend leaves unresolved in the pod's command line.
            assert!(!text.contains("{{$.pipeline_"), "{dag}/{name}: {text}");
            // Every `{{$.inputs.parameters['x']}}` used is an input the task receives.
            for part in text.split("{{$.inputs.parameters['").skip(1) {
                let input = &part[..part.find("']").unwrap()];
                assert!(
                    t["inputs"]["parameters"].get(input).is_some(),
                    "{dag}/{name} reads {input} but gets no such input"
                );
                assert!(
                    spec["components"][comp]["inputDefinitions"]["parameters"]
                        .get(input)
                        .is_some(),
                    "{dag}/{name}: {input} not declared"
                );
            }
            if container["image"] != "registry.example.com/spaceflights:1.0" {
                continue;
            }
            assert_eq!(
                t["inputs"]["parameters"]["kubeflow-run-id"],
                json!({"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}}),
                "{dag}/{name}"
            );
            assert!(text.contains("{{$.inputs.parameters['kubeflow-run-id']}}"));
            seen += 1;
        }
    }
    // six nodes, mlflow-start-run, on-exit
    assert_eq!(seen, 8);
    // MLflow's kubeflow_run_id tag comes from the same input.
    assert_eq!(
        args(&c, "mlflow-start-run")[1],
        "{{$.inputs.parameters['kubeflow-run-id']}}"
    );
    assert!(script(&c, "on-exit").starts_with("export KUBEFLOW_RUN_ID=\"$1\""));
}

/// KFP v1: Argo substitutes `{{workflow.uid}}` anywhere in a template (env and args); the
/// kfp 1.x SDK's `dsl.RUN_ID_PLACEHOLDER` is `{{workflow.uid}}` (sdk/python/kfp/dsl/__init__.py
/// in kfp 1.8), the run id of a v1 run.
#[test]
fn fact2_argo_run_id_is_the_workflow_uid() {
    let c = Case::new("mlflow: {enabled: true}").v1().ok();
    let t = argo_template(&c, "preprocess-shuttles-node");
    assert_eq!(
        t["container"]["env"][0],
        json!({"name": "KUBEFLOW_RUN_ID", "value": "{{workflow.uid}}"})
    );
    assert_eq!(
        argo_template(&c, "mlflow-start-run")["container"]["args"][1],
        "{{workflow.uid}}"
    );
}

// ---- fact 3: one exit task per exit handler ----------------------------------------------------

/// backend/src/v2/compiler/argocompiler/dag.go: `taskToExitTemplate[dep] = name` for every
/// ALL_UPSTREAM_TASKS_COMPLETED task, so two exit tasks on one upstream task leave one hook.
/// For every config with something to run at exit, each upstream task of each DAG has at most
/// one exit task.
#[test]
fn fact3_v2_one_exit_task_per_upstream_task() {
    for cfg in [
        "on_exit_pipeline: notify",
        "volume: {}",
        "volume: {}\non_exit_pipeline: notify",
        "volume: {keep: true}\non_exit_pipeline: notify",
    ] {
        let c = Case::new(cfg).ok();
        for (dag, tasks) in dags(&c) {
            let mut hooked: Map<String, Value> = Map::new();
            for (name, t) in tasks {
                if t["triggerPolicy"]["strategy"] != "ALL_UPSTREAM_TASKS_COMPLETED" {
                    continue;
                }
                for d in deps(tasks, name) {
                    if let Some(prev) = hooked.insert(d.clone(), json!(name)) {
                        panic!("{cfg}: in {dag}, {prev} and {name} are both exit tasks of {d}");
                    }
                }
            }
        }
    }
}

/// With an on-exit pipeline and a volume to delete: one exit task, the sub-DAG `exit-steps`
/// (the SDK's pipeline-as-exit-task form, sdk/python/test_data/pipelines/pipeline_as_exit_task.yaml)
/// that receives the final status — the driver reports the status of the task's *first*
/// dependent task (backend/src/v2/driver/resolve.go, TaskFinalStatus) — and inside it the
/// volume is deleted after on-exit whatever its outcome.
#[test]
fn fact3_v2_volume_is_deleted_after_the_on_exit_step() {
    let c = Case::new("volume: {}\non_exit_pipeline: notify").ok();
    let root = root_tasks(&c);
    let mut names: Vec<&String> = root.keys().collect();
    names.sort();
    assert_eq!(
        names,
        vec!["data-volume-create", "exit-handler-1", "exit-steps"]
    );
    let steps = &root["exit-steps"];
    assert_eq!(deps(root, "exit-steps"), vec!["exit-handler-1"]);
    assert_eq!(
        steps["triggerPolicy"]["strategy"],
        "ALL_UPSTREAM_TASKS_COMPLETED"
    );
    assert_eq!(
        steps["inputs"]["parameters"]["status"],
        json!({"taskFinalStatus": {"producerTask": "exit-handler-1"}})
    );
    assert_eq!(
        steps["inputs"]["parameters"]["pipelinechannel--channel"],
        json!({"componentInputParameter": "channel"})
    );
    let comp = &c.pipeline_spec["components"]["comp-exit-steps"];
    assert_eq!(
        comp["inputDefinitions"]["parameters"]["status"]["parameterType"],
        "TASK_FINAL_STATUS"
    );
    let inner = comp["dag"]["tasks"].as_object().unwrap();
    assert_eq!(
        inner["on-exit"]["inputs"]["parameters"]["status"],
        json!({"componentInputParameter": "status"})
    );
    assert!(inner["on-exit"].get("dependentTasks").is_none());
    assert_eq!(deps(inner, "data-volume-delete"), vec!["on-exit"]);
    assert_eq!(
        inner["data-volume-delete"]["triggerPolicy"]["strategy"],
        "ALL_UPSTREAM_TASKS_COMPLETED"
    );
    assert_eq!(
        inner["data-volume-delete"]["inputs"]["parameters"]["pvc_name"],
        json!({"componentInputParameter": "pipelinechannel--data-volume-create-name"})
    );
    assert_eq!(
        steps["inputs"]["parameters"]["pipelinechannel--data-volume-create-name"],
        json!({"taskOutputParameter": {"outputParameterKey": "name", "producerTask": "data-volume-create"}})
    );
}

/// Argo: the exit handler is one DAG; a task with `depends` on the on-exit step's
/// Succeeded/Failed/Errored runs after it whatever its result (argo-workflows
/// docs/enhanced-depends-logic.md). Without an on-exit pipeline the delete step has nothing to
/// wait for.
#[test]
fn fact3_argo_volume_is_deleted_after_the_on_exit_step() {
    let c = Case::new("volume: {}\non_exit_pipeline: notify").v1().ok();
    assert_eq!(c.pipeline_spec["spec"]["onExit"], "exit-handler-1");
    let tasks = exit_dag_tasks(&c, "exit-handler-1");
    assert_eq!(tasks.len(), 2);
    let del = tasks
        .iter()
        .find(|t| t["name"] == "data-volume-delete")
        .unwrap();
    assert_eq!(
        del["depends"],
        "on-exit.Succeeded || on-exit.Failed || on-exit.Errored"
    );
    let c = Case::new("volume: {}").v1().ok();
    let tasks = exit_dag_tasks(&c, "exit-handler-1");
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0].get("depends").is_none());
}

// ---- issue 9 item 4: the on-exit step mounts the data volume ----------------------------------

#[test]
fn v2_on_exit_step_mounts_the_data_volume() {
    // Inside exit-steps: the PVC name arrives through the sub-DAG's input.
    let c = Case::new("volume: {}\non_exit_pipeline: notify").ok();
    let m = &k8s(&c, "on-exit")["pvcMount"][0];
    assert_eq!(m["mountPath"], "/home/kedro/data");
    assert_eq!(
        m["pvcNameParameter"],
        json!({"componentInputParameter": "pipelinechannel--data-volume-create-name"})
    );
    // At the root (volume kept): from the create step's output.
    let c = Case::new("volume: {keep: true}\non_exit_pipeline: notify").ok();
    let m = &k8s(&c, "on-exit")["pvcMount"][0];
    assert_eq!(m["mountPath"], "/home/kedro/data");
    assert_eq!(
        m["pvcNameParameter"],
        json!({"taskOutputParameter": {"outputParameterKey": "name", "producerTask": "data-volume-create"}})
    );
    assert_eq!(deps(root_tasks(&c), "on-exit"), vec!["exit-handler-1"]);
}

#[test]
fn argo_on_exit_step_mounts_the_data_volume() {
    for cfg in [
        "volume: {}\non_exit_pipeline: notify",
        "volume: {keep: true}\non_exit_pipeline: notify",
    ] {
        let c = Case::new(cfg).v1().ok();
        let t = argo_template(&c, "on-exit");
        assert_eq!(
            t["container"]["volumeMounts"][0],
            json!({"mountPath": "/home/kedro/data", "name": "data-volume"})
        );
        // The exit handler is outside the main DAG: the name comes from the global output.
        assert_eq!(
            t["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "{{workflow.outputs.parameters.data-volume-name}}",
            "{cfg}"
        );
        assert!(t.get("inputs").is_none(), "{cfg}");
    }
}

// ---- fact 4: affinity ---------------------------------------------------------------------------

const SNAKE_AFFINITY: &str = r#"affinity:
  __default__:
    node_affinity:
      required_during_scheduling_ignored_during_execution:
        node_selector_terms:
          - match_expressions: [{key: pool, operator: In, values: [cpu]}]
  training:
    pod_anti_affinity:
      preferred_during_scheduling_ignored_during_execution:
        - weight: 10
          pod_affinity_term:
            label_selector: {match_labels: {app_name: kedro}}
            topology_key: kubernetes.io/hostname
"#;

/// backend/src/v2/driver/k8s.go decodes `nodeAffinityJson` with `json.Unmarshal` into
/// `k8score.NodeAffinity`: Go matches `nodeSelectorTerms`, not `node_selector_terms`, so
/// snake_case keys below the first level would be dropped without a word.
#[test]
fn fact4_v2_node_affinity_is_camel_case_at_every_level() {
    let c = Case::new(SNAKE_AFFINITY).ok();
    assert_eq!(
        k8s(&c, "preprocess-shuttles-node")["nodeAffinity"][0]["nodeAffinityJson"]["runtimeValue"]
            ["constant"],
        json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["cpu"]}]}]}})
    );
}

/// Pod affinity and pod anti-affinity are read nowhere in backend/src/v2 (k8s.go applies node
/// affinity only): a warning naming the config key and the nodes, an error under --strict.
#[test]
fn fact4_v2_ignored_pod_affinity_is_a_warning_and_strict_error() {
    let c = Case::new(SNAKE_AFFINITY).ok();
    let w: Vec<&String> = c
        .warnings
        .iter()
        .filter(|w| w.contains("affinity"))
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "run_config.affinity.training.pod_anti_affinity is ignored by the KFP v2 backend"
        ),
        "{}",
        w[0]
    );
    assert!(
        w[0].contains("data_science.split_data_node, data_science.train_model_node"),
        "{}",
        w[0]
    );
    assert!(w[0].contains("--kfp-version 1"), "{}", w[0]);
    let mut strict = Case::new(SNAKE_AFFINITY);
    strict.strict = true;
    let e = err(&strict);
    // an error about a config key is placed at it (`key.path: what`)
    assert!(
        e.contains("run_config.affinity.training.pod_anti_affinity: ignored by the KFP v2 backend"),
        "{e}"
    );
    assert!(e.contains("--strict"), "{e}");
}

/// Argo (KFP v1) keeps the whole Kubernetes `Affinity` in the template, in camelCase at every
/// level (the API server's field names); label keys stay as written; no warning.
#[test]
fn fact4_argo_keeps_pod_affinity_in_camel_case() {
    let c = Case::new(SNAKE_AFFINITY).v1().ok();
    assert!(c.warnings.iter().all(|w| !w.contains("affinity")));
    assert_eq!(
        argo_template(&c, "data-science-train-model-node")["affinity"],
        json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"podAffinityTerm": {"labelSelector": {"matchLabels": {"app_name": "kedro"}},
                                 "topologyKey": "kubernetes.io/hostname"},
             "weight": 10}]}})
    );
    assert_eq!(
        argo_template(&c, "preprocess-shuttles-node")["affinity"]["nodeAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
            ["matchExpressions"][0]["key"],
        "pool"
    );
}

#[test]
fn unknown_affinity_field_fails_to_compile() {
    let e = err(&Case::new(
        "affinity:\n  __default__: {node_affinity: {bogus_field: 1}}",
    ));
    assert!(e.contains("run_config.affinity.__default__"), "{e}");
    assert!(e.contains("bogus_field"), "{e}");
}

// ---- fact 7: declared types reach Kedro ------------------------------------------------------

/// A STRUCT parameter is a protobuf Value (numbers are doubles): the task passes the declared
/// integer positions with the value so the dumper can restore them.
#[test]
fn fact7_tasks_carry_the_declared_integer_positions() {
    let c = Case::new("").ok();
    let a = args(&c, "data-science-split-data-node");
    assert_eq!(a[4], r#"int:{"model_options":{"random_state":0}}"#);
    // a double stays a plain YAML parameter
    let a = args(&c, "data-science-evaluate-model-node");
    assert_eq!(&a[3..5], &["threshold", "yaml"]);
    assert!(script(&c, "data-science-split-data-node").contains("def f(v,d):"));
    let _ = executor(&c, "data-science-split-data-node");
}

#[test]
fn int_skeleton_marks_integers_only() {
    use super::model::int_skeleton;
    assert_eq!(int_skeleton(&json!(8)), Some(json!(0)));
    assert_eq!(int_skeleton(&json!(8.5)), None);
    assert_eq!(int_skeleton(&json!(true)), None);
    assert_eq!(
        int_skeleton(&json!({"a": 1, "b": "x", "c": {"d": [1, 2, 3], "e": 0.5}})),
        Some(json!({"a": 0, "c": {"d": [0]}}))
    );
    assert_eq!(int_skeleton(&json!([1, "a", 2])), Some(json!([0, null, 0])));
    assert_eq!(int_skeleton(&json!({"a": "x"})), None);
}

/// The dumper itself, run by Python with PyYAML (`KFPX_TEST_PYTHON`, as the .ci stages set):
/// a STRUCT rendered by the SDK's local runner (`8.0`) reaches Kedro's config.yaml as `8`.
#[test]
#[ignore = "needs Python with PyYAML: set KFPX_TEST_PYTHON (run by .ci/stage-kfplocal.sh)"]
fn fact7_dumper_restores_declared_integers() {
    let py = std::env::var("KFPX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(py)
        .current_dir(dir.path())
        .arg("-c")
        .arg(super::model::DUMPER)
        .args([
            "opts",
            r#"int:{"random_state":0,"layers":[0]}"#,
            r#"{"random_state": 8.0, "test_size": 0.2, "layers": [16.0, 8.0], "name": "m"}"#,
            "n",
            "int:0",
            "3.0",
            "ratio",
            "yaml",
            "2.0",
            "label",
            "str",
            "007",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    let text = std::fs::read_to_string(dir.path().join("config.yaml")).unwrap();
    let v: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(
        v,
        json!({"run": {"params": {
            "opts": {"random_state": 8, "test_size": 0.2, "layers": [16, 8], "name": "m"},
            "n": 3,
            "ratio": 2.0,
            "label": "007",
        }}})
    );
    // The integers are YAML integers, not 8.0.
    assert!(text.contains("random_state: 8\n"), "{text}");
}

// ---- fact 8: node tasks share components -----------------------------------------------------

/// The component of the task named `task`.
fn component_of<'a>(c: &'a Compiled, task: &str) -> &'a str {
    main_tasks(c)[task]["componentRef"]["name"]
        .as_str()
        .unwrap()
}

/// kubeflow/pipelines backend/src/v2/compiler/argocompiler/argo.go (`saveProtoToArguments`):
/// "there is a 1-many relationship between components and tasks that reference them"; the
/// backend stores each component's spec and container once in the workflow's arguments. Node
/// tasks that differ only in their Kedro nodes therefore share one component and executor
/// (`kedro-run`), the node list reaching each as its own `kedro-nodes` input, so the cache key,
/// which covers the task's input values (backend/src/v2/cacheutils/cache.go, `GenerateCacheKey`),
/// still differs per task.
#[test]
fn fact8_tasks_differing_only_in_nodes_share_one_component() {
    let c = Case::new("").ok();
    // Same image, env, resources and no parameters: one component for both.
    let a = component_of(&c, "preprocess-companies-node");
    let b = component_of(&c, "preprocess-shuttles-node");
    assert_eq!((a, b), ("comp-kedro-run", "comp-kedro-run"));
    assert_eq!(
        executor_label(&c, "preprocess-shuttles-node"),
        "exec-kedro-run"
    );
    assert!(c.pipeline_spec["deploymentSpec"]["executors"]
        .get("exec-preprocess-shuttles-node")
        .is_none());
    assert_ne!(
        nodes_input(&c, "preprocess-companies-node"),
        nodes_input(&c, "preprocess-shuttles-node")
    );
    // A task with parameters has its own interface and args: its own component.
    assert_eq!(
        component_of(&c, "data-science-split-data-node"),
        "comp-data-science-split-data-node"
    );
    // Per-node resources or platform settings keep a task apart.
    let c = Case::new("resources:\n  preprocess_shuttles_node: {cpu: 2}").ok();
    assert_ne!(
        component_of(&c, "preprocess-companies-node"),
        component_of(&c, "preprocess-shuttles-node")
    );
    assert_eq!(
        executor(&c, "preprocess-shuttles-node")["resources"]["resourceCpuLimit"],
        "2"
    );
    let c = Case::new("node_selector:\n  preprocess_shuttles_node: {pool: big}").ok();
    assert_ne!(
        component_of(&c, "preprocess-companies-node"),
        component_of(&c, "preprocess-shuttles-node")
    );
    assert_eq!(
        k8s(&c, "preprocess-shuttles-node")["nodeSelector"]["labels"]["pool"],
        "big"
    );
}

/// argo.go `hashComponentContainer`: the backend keys a component's stored spec by the hash of
/// its executor's container, keeping the first spec it sees for a container. Two components
/// whose executors have equal containers must then have the same interface, or the second task
/// would run with the first one's (per-node platform settings can keep equal containers in two
/// executors).
#[test]
fn fact8_equal_containers_have_equal_interfaces() {
    let mut pairs_seen = 0;
    for cfg in [
        "",
        "volume: {}\non_exit_pipeline: notify\nmlflow: {enabled: true}",
        // Equal containers in two executors: only the node selector differs.
        "node_selector:\n  preprocess_shuttles_node: {pool: big}",
    ] {
        let c = Case::new(cfg).ok();
        let execs = c.pipeline_spec["deploymentSpec"]["executors"]
            .as_object()
            .unwrap();
        let containers: Vec<String> = execs.values().map(|e| e["container"].to_string()).collect();
        let mut distinct = containers.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != containers.len() {
            let comps = c.pipeline_spec["components"].as_object().unwrap();
            for (i, (la, ea)) in execs.iter().enumerate() {
                for (lb, eb) in execs.iter().skip(i + 1) {
                    if ea["container"] == eb["container"] {
                        pairs_seen += 1;
                        let ia = comps.values().find(|c| c["executorLabel"] == **la).unwrap();
                        let ib = comps.values().find(|c| c["executorLabel"] == **lb).unwrap();
                        assert_eq!(ia["inputDefinitions"], ib["inputDefinitions"], "{la} {lb}");
                        assert_eq!(
                            ia["outputDefinitions"], ib["outputDefinitions"],
                            "{la} {lb}"
                        );
                    }
                }
            }
        }
    }
    assert!(
        pairs_seen > 0,
        "no configuration had equal containers to compare"
    );
}

/// A node whose own task name is `kedro-run` keeps it; the shared component takes the next
/// free name.
#[test]
fn fact8_shared_component_name_never_takes_a_task_name() {
    let mut case = Case::new("");
    let nodes = vec![
        node("kedro_run", &[], &["x"], &[]),
        node("b", &[], &[], &[]),
        node("c", &[], &[], &[]),
        node("d", &["x"], &[], &["t"]),
    ];
    case.snapshot
        .pipelines
        .insert("odd".into(), PipelineDef { nodes });
    case.graph = graph_none(&case.snapshot, "odd");
    let c = case.ok();
    let names: Vec<&str> = ["kedro-run", "b", "c", "d"]
        .iter()
        .map(|t| component_of(&c, t))
        .collect();
    // All four differ only in their nodes: one component, not named after any of them.
    assert_eq!(names, vec!["comp-kedro-run-2"; 4]);
    assert!(c.pipeline_spec["components"]
        .get("comp-kedro-run")
        .is_none());
    assert_eq!(nodes_input(&c, "kedro-run"), "kedro_run");
}
