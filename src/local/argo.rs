//! Argo Workflow (KFP v1) → [`Plan`], and each task's template resolved as the Argo controller
//! resolves it (argo-workflows `workflow/controller/operator.go`, `util/template`; the variables
//! are listed in argo-workflows `docs/variables.md`):
//!
//! * DAG task `arguments.parameters` may read `{{inputs.parameters.X}}` (the DAG template's
//!   inputs), `{{tasks.T.outputs.parameters.P}}` (a finished sibling) and `{{workflow.*}}`;
//! * a template reads `{{inputs.parameters.X}}` (argument, else the input's `value` /
//!   `default`), `{{workflow.parameters.X}}` (`spec.arguments`, `--param` overrides),
//!   `{{workflow.uid}}`, `{{workflow.name}}`, `{{workflow.outputs.parameters.G}}` (a task's
//!   output with `globalName`), and in the `onExit` handler `{{workflow.status}}`
//!   (`Succeeded` / `Failed`) and `{{workflow.failures}}` (JSON list of failed nodes, `null`
//!   when none);
//! * a placeholder run-local does not know is an error (Argo refuses unresolved variables too);
//! * `resource` templates that create or delete a `PersistentVolumeClaim` act on the run's
//!   volumes; output parameters with `jsonPath` `{.metadata.name}` give the claim's name.
//!
//! `spec.onExit` runs after every task of the entrypoint has finished, whatever the outcome;
//! a DAG fails fast (no new task after a failure, Argo's default `failFast`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::local::plan::{
    parse_duration, unsupported, Action, Dep, Launch, Mount, MountSource, Outcome, Plan, Retry,
    RunState, Spec, Task,
};

#[derive(Debug, Clone)]
pub struct LeafSpec {
    pub task_name: String,
    pub template: Value,
    /// Input parameters: text still holding run-time placeholders.
    pub inputs: BTreeMap<String, String>,
    /// Workflow parameters (`{{workflow.parameters.X}}`).
    pub workflow_params: BTreeMap<String, String>,
    /// Volumes declared on the workflow (`spec.volumes`).
    pub workflow_volumes: Vec<Value>,
    /// Tasks of the entrypoint, for `{{workflow.status}}` / `{{workflow.failures}}`.
    pub main_tasks: Vec<(usize, String)>,
}

pub fn parse(docs: &[Value], params: &BTreeMap<String, Value>) -> Result<Plan, String> {
    let wf = docs.first().ok_or("the file holds no YAML document")?;
    let spec = wf.get("spec").ok_or("the workflow has no `spec`")?;
    let name = wf
        .pointer("/metadata/generateName")
        .or_else(|| wf.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .unwrap_or("pipeline")
        .trim_end_matches('-')
        .to_string();
    let templates: HashMap<String, Value> = spec
        .get("templates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t.get("name")?.as_str()?.to_string(), t.clone())))
        .collect();
    let mut wparams = BTreeMap::new();
    for p in spec
        .pointer("/arguments/parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(n) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        let v = p.get("value").map(text_of).unwrap_or_default();
        wparams.insert(n.to_string(), v);
    }
    for (k, v) in params {
        if !wparams.contains_key(k) {
            let known: Vec<&str> = wparams.keys().map(String::as_str).collect();
            return Err(format!(
                "--param {k}: the workflow has no parameter `{k}` (its parameters: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
        // KFP v1 passes every run parameter as text; objects and lists as JSON.
        wparams.insert(k.clone(), text_of(v));
    }
    for bad in ["hooks", "volumeClaimTemplates"] {
        if spec.get(bad).is_some() {
            return Err(format!(
                "the workflow uses `spec.{bad}`; run-local cannot run this faithfully"
            ));
        }
    }
    let entry = spec
        .get("entrypoint")
        .and_then(Value::as_str)
        .ok_or("the workflow has no `spec.entrypoint`")?;
    let mut w = Walker {
        templates: &templates,
        wparams,
        volumes: spec
            .get("volumes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        tasks: Vec::new(),
        names: HashSet::new(),
    };
    let main = w.template(entry, entry, &BTreeMap::new(), &[], false, "")?;
    let main_tasks: Vec<(usize, String)> =
        main.iter().map(|&i| (i, w.tasks[i].name.clone())).collect();
    if let Some(exit) = spec.get("onExit").and_then(Value::as_str) {
        let deps: Vec<Dep> = main
            .iter()
            .map(|&task| Dep {
                task,
                needs_success: false,
            })
            .collect();
        let first_exit = w.tasks.len();
        w.template(exit, exit, &BTreeMap::new(), &deps, true, "")?;
        for t in &mut w.tasks[first_exit..] {
            if let Spec::Argo(l) = &mut t.spec {
                l.main_tasks = main_tasks.clone();
            }
        }
    }
    Ok(Plan {
        name,
        tasks: w.tasks,
        notes: Vec::new(),
    })
}

struct Walker<'a> {
    templates: &'a HashMap<String, Value>,
    wparams: BTreeMap<String, String>,
    volumes: Vec<Value>,
    tasks: Vec<Task>,
    names: HashSet<String>,
}

impl Walker<'_> {
    /// Flatten the template `tname` run as task `task`; returns its leaves.
    fn template(
        &mut self,
        task: &str,
        tname: &str,
        args: &BTreeMap<String, String>,
        deps: &[Dep],
        exit: bool,
        path: &str,
    ) -> Result<Vec<usize>, String> {
        let t = self.templates.get(tname).ok_or_else(|| {
            format!("task `{task}` uses template `{tname}`, which is not defined")
        })?;
        // Inputs: argument, else the input's value/default.
        let mut inputs = BTreeMap::new();
        for p in t
            .pointer("/inputs/parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(n) = p.get("name").and_then(Value::as_str) else {
                continue;
            };
            let v = args
                .get(n)
                .cloned()
                .or_else(|| p.get("value").map(text_of))
                .or_else(|| p.get("default").map(text_of))
                .ok_or_else(|| {
                    format!("task `{task}`: input `{n}` of template `{tname}` gets no value")
                })?;
            inputs.insert(n.to_string(), v);
        }
        if t.pointer("/inputs/artifacts")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(unsupported(task, "input artifacts"));
        }
        if let Some(dag) = t.get("dag") {
            if dag.get("failFast") == Some(&Value::Bool(false)) {
                return Err(unsupported(task, "`failFast: false`"));
            }
            return self.dag(task, dag, &inputs, deps, exit, path);
        }
        if t.get("container").is_none() && t.get("resource").is_none() {
            let kind = [
                "script",
                "steps",
                "suspend",
                "containerSet",
                "http",
                "plugin",
                "data",
            ]
            .into_iter()
            .find(|k| t.get(*k).is_some())
            .unwrap_or("unknown");
            return Err(unsupported(task, format!("a `{kind}` template")));
        }
        let retry = retry_of(t, task)?;
        let display = if self.names.insert(task.to_string()) {
            task.to_string()
        } else {
            let p = format!("{path}/{task}");
            self.names.insert(p.clone());
            p
        };
        let idx = self.tasks.len();
        self.tasks.push(Task {
            name: display,
            deps: deps.to_vec(),
            exit,
            retry,
            spec: Spec::Argo(Box::new(LeafSpec {
                task_name: task.to_string(),
                template: t.clone(),
                inputs,
                workflow_params: self.wparams.clone(),
                workflow_volumes: self.volumes.clone(),
                main_tasks: Vec::new(),
            })),
        });
        Ok(vec![idx])
    }

    fn dag(
        &mut self,
        task: &str,
        dag: &Value,
        inputs: &BTreeMap<String, String>,
        inherited: &[Dep],
        exit: bool,
        path: &str,
    ) -> Result<Vec<usize>, String> {
        let list: Vec<Value> = dag
            .get("tasks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let by_name: Map<String, Value> = list
            .iter()
            .filter_map(|t| Some((t.get("name")?.as_str()?.to_string(), t.clone())))
            .collect();
        let mut leaves: HashMap<String, Vec<usize>> = HashMap::new();
        let mut all = Vec::new();
        let order = crate::local::plan::topo_order(&by_name, "dependencies", task)?;
        let here = if path.is_empty() {
            task.to_string()
        } else {
            format!("{path}/{task}")
        };
        for key in order {
            let t = &by_name[&key];
            for bad in [
                "when",
                "withItems",
                "withParam",
                "withSequence",
                "depends",
                "hooks",
                "onExit",
                "continueOn",
                "templateRef",
            ] {
                if t.get(bad).is_some() {
                    return Err(unsupported(&key, format!("`{bad}` in a DAG task")));
                }
            }
            let mut deps = inherited.to_vec();
            for d in t
                .get("dependencies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let l = leaves
                    .get(d)
                    .ok_or_else(|| format!("task `{key}` depends on unknown task `{d}`"))?;
                deps.extend(l.iter().map(|&task| Dep {
                    task,
                    needs_success: true,
                }));
            }
            let mut args = BTreeMap::new();
            for p in t
                .pointer("/arguments/parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(n) = p.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let raw = p.get("value").map(text_of).unwrap_or_default();
                args.insert(n.to_string(), dag_arg(&key, &raw, inputs, &leaves)?);
            }
            let tname = t
                .get("template")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("DAG task `{key}` names no template"))?;
            let l = self.template(&key, tname, &args, &deps, exit, &here)?;
            all.extend(&l);
            leaves.insert(key.clone(), l);
        }
        Ok(all)
    }
}

/// A DAG task argument: the DAG's own inputs substituted now, sibling outputs turned into an
/// internal reference to the producing leaf, workflow variables kept for later.
fn dag_arg(
    task: &str,
    raw: &str,
    inputs: &BTreeMap<String, String>,
    leaves: &HashMap<String, Vec<usize>>,
) -> Result<String, String> {
    substitute(raw, |tok| {
        if let Some(n) = tok.strip_prefix("inputs.parameters.") {
            return inputs.get(n).cloned().map(Some).ok_or_else(|| {
                format!("task `{task}`: `{{{{{tok}}}}}` names an input the DAG does not have")
            });
        }
        if let Some(rest) = tok.strip_prefix("tasks.") {
            let (t, p) = rest
                .split_once(".outputs.parameters.")
                .ok_or_else(|| unsupported(task, format!("`{{{{{tok}}}}}`")))?;
            return match leaves.get(t).map(Vec::as_slice) {
                Some([one]) => Ok(Some(format!("{{{{kfpx.task.{one}.{p}}}}}"))),
                Some(_) => Err(unsupported(task, format!("an output of DAG task `{t}`"))),
                None => Err(format!(
                    "task `{task}` reads an output of `{t}`, which is not an earlier task of its DAG"
                )),
            };
        }
        Ok(None)
    })
}

/// Replace each `{{ token }}` with `f(token)`; `Ok(None)` keeps it as it is.
fn substitute(
    s: &str,
    mut f: impl FnMut(&str) -> Result<Option<String>, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let whole = &rest[start..start + len + 2];
        let tok = whole[2..whole.len() - 2].trim();
        match f(tok)? {
            Some(v) => out.push_str(&v),
            None => out.push_str(whole),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// `retryStrategy`: `limit` retries on failure (`retryPolicy` `Always` / `OnFailure`, the
/// default; `OnError` and `OnTransientError` retry only errors of Argo itself, which a local
/// process does not have), backoff `duration` × `factor`^n, `maxDuration` the whole window
/// from the first attempt (argo-workflows `workflow/controller/operator.go`).
fn retry_of(t: &Value, task: &str) -> Result<Retry, String> {
    let Some(r) = t.get("retryStrategy") else {
        return Ok(Retry::default());
    };
    let policy = r
        .get("retryPolicy")
        .and_then(Value::as_str)
        .unwrap_or("OnFailure");
    let limit = match r.get("limit") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as u32,
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| unsupported(task, format!("retryStrategy.limit `{s}`")))?,
        _ => 0,
    };
    let limit = if matches!(policy, "Always" | "OnFailure") {
        limit
    } else {
        0
    };
    let dur = |k: &str| -> Result<Option<std::time::Duration>, String> {
        match r.pointer(&format!("/backoff/{k}")) {
            None => Ok(None),
            Some(v) => parse_duration(&text_of(v)).map(Some).ok_or_else(|| {
                format!("task `{task}`: retryStrategy.backoff.{k} is not a duration")
            }),
        }
    };
    let factor = match r.pointer("/backoff/factor") {
        Some(v) => text_of(v).parse::<f64>().unwrap_or(1.0),
        None => 1.0,
    };
    Ok(Retry {
        limit,
        backoff: dur("duration")?.unwrap_or_default(),
        factor,
        max_duration: dur("maxDuration")?,
    })
}

/// Resolve a task's template when it starts.
pub fn resolve(leaf: &LeafSpec, name: &str, state: &RunState) -> Result<Action, String> {
    // Inputs first: they may hold workflow variables and sibling outputs.
    let mut inputs = BTreeMap::new();
    for (k, v) in &leaf.inputs {
        inputs.insert(k.clone(), expand(v, leaf, name, state, None)?);
    }
    let t = &leaf.template;
    let sub = |s: &str| expand(s, leaf, name, state, Some(&inputs));
    if let Some(r) = t.get("resource") {
        return resource(leaf, r, name, &sub);
    }
    let c = t
        .get("container")
        .ok_or_else(|| unsupported(name, "a template without a container"))?;
    let mut argv = Vec::new();
    for k in ["command", "args"] {
        for v in c.get(k).and_then(Value::as_array).into_iter().flatten() {
            argv.push(sub(&text_of(v))?);
        }
    }
    if argv.is_empty() {
        return Err(format!(
            "task `{name}`: the container has no command (run-local cannot read the image's entrypoint)"
        ));
    }
    if let Some(wd) = c.get("workingDir") {
        return Err(unsupported(name, format!("container workingDir {wd}")));
    }
    let mut env = Vec::new();
    let mut secret_env = Vec::new();
    for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
        let n = e
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(vf) = e.get("valueFrom") {
            if let Some(s) = vf.get("secretKeyRef") {
                let secret = s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let optional = s.get("optional").and_then(Value::as_bool) == Some(true);
                secret_env.push((n, secret, optional));
                continue;
            }
            return Err(unsupported(name, format!("env `{n}` from {vf}")));
        }
        env.push((n, sub(&e.get("value").map(text_of).unwrap_or_default())?));
    }
    if c.get("envFrom").is_some() {
        return Err(unsupported(name, "`envFrom`"));
    }
    let mut mounts = Vec::new();
    let volumes: Vec<&Value> = t
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(leaf.workflow_volumes.iter())
        .collect();
    for m in c
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let vname = m.get("name").and_then(Value::as_str).unwrap_or("");
        let path = m.get("mountPath").and_then(Value::as_str).unwrap_or("");
        let vol = volumes
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(vname))
            .ok_or_else(|| format!("task `{name}`: volume `{vname}` is not declared"))?;
        let source = if let Some(claim) = vol
            .pointer("/persistentVolumeClaim/claimName")
            .and_then(Value::as_str)
        {
            MountSource::Volume(sub(claim)?)
        } else if vol.get("emptyDir").is_some() {
            MountSource::EmptyDir
        } else {
            return Err(unsupported(
                name,
                format!(
                    "volume `{vname}` (only the run's PVCs and emptyDir can be mounted locally)"
                ),
            ));
        };
        if m.get("subPath").is_some() {
            return Err(unsupported(name, format!("subPath on volume `{vname}`")));
        }
        mounts.push(Mount {
            path: path.to_string(),
            source,
        });
    }
    let mut outputs = Vec::new();
    let mut globals = Vec::new();
    for p in t
        .pointer("/outputs/parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let n = p
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let path = p
            .pointer("/valueFrom/path")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                unsupported(name, format!("output parameter `{n}` not read from a file"))
            })?;
        if let Some(g) = p.get("globalName").and_then(Value::as_str) {
            globals.push((n.clone(), g.to_string()));
        }
        outputs.push((n, path.to_string()));
    }
    let artifacts = t
        .pointer("/outputs/artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a.get("path")?.as_str()?.to_string(),
                a.get("optional").and_then(Value::as_bool) == Some(true),
            ))
        })
        .collect();
    Ok(Action::Exec(Launch {
        argv,
        env,
        secret_env,
        mounts,
        outputs,
        globals,
        artifacts,
    }))
}

fn resource(
    leaf: &LeafSpec,
    r: &Value,
    name: &str,
    sub: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Action, String> {
    let action = r.get("action").and_then(Value::as_str).unwrap_or("");
    let manifest = sub(r.get("manifest").and_then(Value::as_str).unwrap_or(""))?;
    let m: Value = serde_yaml::from_str(&manifest)
        .map_err(|e| format!("task `{name}`: the resource manifest is not YAML: {e}"))?;
    if m.get("kind").and_then(Value::as_str) != Some("PersistentVolumeClaim") {
        return Err(unsupported(
            name,
            format!(
                "a resource template for {}",
                m.get("kind").map(text_of).unwrap_or_default()
            ),
        ));
    }
    let pvc = m
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("task `{name}`: the PVC manifest has no metadata.name"))?
        .to_string();
    match action {
        "create" => {
            let mut outputs = BTreeMap::new();
            let mut globals = Vec::new();
            for p in leaf
                .template
                .pointer("/outputs/parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let n = p
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let jp = p
                    .pointer("/valueFrom/jsonPath")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let v = match jp {
                    "{.metadata.name}" => pvc.clone(),
                    "{}" => serde_json::to_string(&m).unwrap_or_default(),
                    "{.status.capacity.storage}" => m
                        .pointer("/spec/resources/requests/storage")
                        .map(text_of)
                        .unwrap_or_default(),
                    other => return Err(unsupported(name, format!("output jsonPath `{other}`"))),
                };
                if let Some(g) = p.get("globalName").and_then(Value::as_str) {
                    globals.push((g.to_string(), v.clone()));
                }
                outputs.insert(n, Value::String(v));
            }
            Ok(Action::CreateVolume {
                name: pvc,
                outputs,
                globals,
            })
        }
        "delete" => Ok(Action::DeleteVolume { name: pvc }),
        other => Err(unsupported(name, format!("resource action `{other}`"))),
    }
}

/// Expand the run-time variables of `s` for task `name`.
fn expand(
    s: &str,
    leaf: &LeafSpec,
    name: &str,
    state: &RunState,
    inputs: Option<&BTreeMap<String, String>>,
) -> Result<String, String> {
    substitute(s, |tok| {
        if let Some(n) = tok.strip_prefix("inputs.parameters.") {
            if let Some(inputs) = inputs {
                return inputs.get(n).cloned().map(Some).ok_or_else(|| {
                    format!("task `{name}`: `{{{{{tok}}}}}` names an input the template does not declare")
                });
            }
        }
        if let Some(rest) = tok.strip_prefix("kfpx.task.") {
            let (i, p) = rest.split_once('.').unwrap_or((rest, ""));
            let i: usize = i.parse().unwrap_or(usize::MAX);
            return state
                .outputs
                .get(&i)
                .and_then(|o| o.get(p))
                .map(|v| Some(text_of(v)))
                .ok_or_else(|| {
                    format!("task `{name}`: its upstream task produced no output `{p}`")
                });
        }
        if let Some(n) = tok.strip_prefix("workflow.parameters.") {
            return leaf
                .workflow_params
                .get(n)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    format!("task `{name}`: `{{{{{tok}}}}}` names no workflow parameter")
                });
        }
        if let Some(n) = tok.strip_prefix("workflow.outputs.parameters.") {
            return state.globals.get(n).cloned().map(Some).ok_or_else(|| {
                format!("task `{name}`: global output `{n}` was not set by any finished task")
            });
        }
        match tok {
            "workflow.uid" => Ok(Some(state.run_id.clone())),
            "workflow.name" => Ok(Some(state.run_name.clone())),
            "workflow.status" if !leaf.main_tasks.is_empty() => {
                let ok = leaf
                    .main_tasks
                    .iter()
                    .all(|(i, _)| state.outcomes.get(i) == Some(&Outcome::Succeeded));
                Ok(Some(if ok { "Succeeded" } else { "Failed" }.to_string()))
            }
            "workflow.failures" if !leaf.main_tasks.is_empty() => {
                let failed: Vec<Value> = leaf
                    .main_tasks
                    .iter()
                    .filter(|(i, _)| state.outcomes.get(i) == Some(&Outcome::Failed))
                    .map(|(_, n)| {
                        serde_json::json!({"displayName": n, "message": "Error (exit code 1)", "templateName": n, "phase": "Failed", "podName": n, "finishedAt": ""})
                    })
                    .collect();
                Ok(Some(if failed.is_empty() {
                    "null".to_string()
                } else {
                    Value::Array(failed).to_string()
                }))
            }
            _ => Err(format!(
                "task `{name}`: run-local cannot resolve `{{{{{tok}}}}}`"
            )),
        }
    })
}
