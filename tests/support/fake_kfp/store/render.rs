//! Rendering the store's objects as each API version answers them.

use super::*;

impl Store {
    // ----- rendering (v2) ----------------------------------------------------------------

    pub(super) fn pipeline_v2(&self, p: &Pipeline, ver: ServerVersion) -> Value {
        let mut o = Map::new();
        put(&mut o, "pipeline_id", json!(p.id));
        if ver.at_least(2, 14) {
            put(&mut o, "name", json!(p.name));
        }
        put(&mut o, "display_name", json!(p.display_name));
        put(&mut o, "description", json!(p.description));
        put(&mut o, "created_at", json!(ts(p.created)));
        put(&mut o, "namespace", json!(p.namespace));
        if ver.at_least(2, 17) && !p.tags.is_empty() {
            o.insert("tags".into(), json!(p.tags));
        }
        Value::Object(o)
    }

    pub(super) fn version_v2(&self, v: &Version, ver: ServerVersion) -> Value {
        let mut o = Map::new();
        put(&mut o, "pipeline_id", json!(v.pipeline_id));
        put(&mut o, "pipeline_version_id", json!(v.id));
        if ver.at_least(2, 14) {
            put(&mut o, "name", json!(v.name));
        }
        put(&mut o, "display_name", json!(v.display_name));
        put(&mut o, "description", json!(v.description));
        put(&mut o, "created_at", json!(ts(v.created)));
        if !v.package_url.is_empty() {
            o.insert("package_url".into(), json!({"pipeline_url": v.package_url}));
        }
        put(&mut o, "code_source_url", json!(v.code_source_url));
        if let Some(t) = &v.template {
            o.insert("pipeline_spec".into(), t.to_api());
        }
        if ver.at_least(2, 17) && !v.tags.is_empty() {
            o.insert("tags".into(), json!(v.tags));
        }
        Value::Object(o)
    }

    pub(super) fn experiment_v2(&self, e: &Experiment) -> Value {
        let mut o = Map::new();
        put(&mut o, "experiment_id", json!(e.id));
        put(&mut o, "display_name", json!(e.display_name));
        put(&mut o, "description", json!(e.description));
        put(&mut o, "created_at", json!(ts(e.created)));
        put(&mut o, "namespace", json!(e.namespace));
        put(
            &mut o,
            "storage_state",
            json!(if e.archived { "ARCHIVED" } else { "AVAILABLE" }),
        );
        // Always set: 1970-01-01T00:00:00Z before the first run (api_converter.go).
        o.insert("last_run_created_at".into(), json!(ts(e.last_run_created)));
        Value::Object(o)
    }

    pub(super) fn task_details(&self, r: &Run, failed_task: &str) -> Vec<Value> {
        let state = r.state();
        if state == "PENDING" {
            return vec![];
        }
        let names = r
            .template
            .as_ref()
            .map(Template::task_names)
            .unwrap_or_default();
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let st = match state {
                    "FAILED" if name == failed_task => "FAILED",
                    "FAILED" => "SUCCEEDED",
                    other => other,
                };
                let mut o = Map::new();
                put(&mut o, "run_id", json!(r.id));
                put(&mut o, "task_id", json!(format!("{}-task-{i}", r.id)));
                put(&mut o, "display_name", json!(name));
                put(&mut o, "create_time", json!(ts(r.created + 1)));
                put(&mut o, "state", json!(st));
                put(
                    &mut o,
                    "pod_name",
                    json!(format!(
                        "{}-{name}-{i}",
                        r.display_name.to_lowercase().replace(' ', "-")
                    )),
                );
                if st == "FAILED" {
                    o.insert(
                        "error".into(),
                        json!({"code": 2, "message": format!("task {name} failed: exit status 1")}),
                    );
                }
                Value::Object(o)
            })
            .collect()
    }

    pub(super) fn failed_task_of(&self, r: &Run) -> String {
        if !r.failed_task.is_empty() {
            return r.failed_task.clone();
        }
        r.template
            .as_ref()
            .and_then(|t| t.task_names().into_iter().next())
            .unwrap_or_else(|| "main".into())
    }

    pub(super) fn run_v2(&self, r: &Run) -> Value {
        let mut o = Map::new();
        put(&mut o, "experiment_id", json!(r.experiment_id));
        put(&mut o, "run_id", json!(r.id));
        put(&mut o, "display_name", json!(r.display_name));
        put(
            &mut o,
            "storage_state",
            json!(if r.archived { "ARCHIVED" } else { "AVAILABLE" }),
        );
        put(&mut o, "description", json!(r.description));
        if let Some(spec) = &r.inline_spec {
            o.insert("pipeline_spec".into(), spec.clone());
        } else if !r.pipeline_id.is_empty() {
            o.insert(
                "pipeline_version_reference".into(),
                json!({"pipeline_id": r.pipeline_id, "pipeline_version_id": r.version_id}),
            );
        }
        if let Some(rc) = &r.runtime_config {
            o.insert("runtime_config".into(), rc.clone());
        }
        put(&mut o, "service_account", json!(r.service_account));
        put(&mut o, "created_at", json!(ts(r.created)));
        put(&mut o, "scheduled_at", json!(ts(r.created)));
        // Always set: 1970-01-01T00:00:00Z until the run finishes (api_converter.go).
        o.insert("finished_at".into(), json!(ts(r.finished().unwrap_or(0))));
        put(&mut o, "state", json!(r.state()));
        let failed = self.failed_task_of(r);
        if r.state() == "FAILED" {
            o.insert(
                "error".into(),
                json!({"code": 2, "message": format!("pipeline run failed: task {failed} failed")}),
            );
        }
        let tasks = self.task_details(r, &failed);
        if !tasks.is_empty() {
            o.insert("run_details".into(), json!({"task_details": tasks}));
        }
        put(&mut o, "recurring_run_id", json!(r.recurring_run_id));
        let history: Vec<Value> = r.plan[..=r.step.min(r.plan.len().saturating_sub(1))]
            .iter()
            .enumerate()
            .map(|(i, st)| json!({"update_time": ts(r.created + i as i64 * 60), "state": st}))
            .collect();
        put(&mut o, "state_history", Value::Array(history));
        Value::Object(o)
    }

    pub(super) fn recurring_v2(&self, rr: &Recurring) -> Value {
        let mut o = Map::new();
        put(&mut o, "recurring_run_id", json!(rr.id));
        put(&mut o, "display_name", json!(rr.display_name));
        put(&mut o, "description", json!(rr.description));
        if let Some(spec) = &rr.inline_spec {
            o.insert("pipeline_spec".into(), spec.clone());
        } else if !rr.pipeline_id.is_empty() {
            o.insert(
                "pipeline_version_reference".into(),
                json!({"pipeline_id": rr.pipeline_id, "pipeline_version_id": rr.version_id}),
            );
        }
        if let Some(rc) = &rr.runtime_config {
            o.insert("runtime_config".into(), rc.clone());
        }
        put(&mut o, "service_account", json!(rr.service_account));
        put(
            &mut o,
            "max_concurrency",
            json!(rr.max_concurrency.to_string()),
        );
        o.insert("trigger".into(), rr.trigger.clone());
        put(
            &mut o,
            "mode",
            json!(if rr.enabled { "ENABLE" } else { "DISABLE" }),
        );
        put(&mut o, "created_at", json!(ts(rr.created)));
        put(&mut o, "updated_at", json!(ts(rr.updated)));
        put(
            &mut o,
            "status",
            json!(if rr.enabled { "ENABLED" } else { "DISABLED" }),
        );
        put(&mut o, "no_catchup", json!(rr.no_catchup));
        put(&mut o, "namespace", json!(rr.namespace));
        put(&mut o, "experiment_id", json!(rr.experiment_id));
        Value::Object(o)
    }

    // ----- rendering (v1) ----------------------------------------------------------------

    pub(super) fn version_v1(&self, v: &Version) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(v.id));
        put(&mut o, "name", json!(v.name));
        put(&mut o, "created_at", json!(ts(v.created)));
        if let Some(t) = &v.template {
            put(&mut o, "parameters", Value::Array(t.v1_parameters()));
        }
        put(&mut o, "code_source_url", json!(v.code_source_url));
        if !v.package_url.is_empty() {
            o.insert("package_url".into(), json!({"pipeline_url": v.package_url}));
        }
        o.insert(
            "resource_references".into(),
            json!([reference("PIPELINE", &v.pipeline_id, "OWNER", "")]),
        );
        put(&mut o, "description", json!(v.description));
        Value::Object(o)
    }

    pub(super) fn pipeline_v1(&self, p: &Pipeline) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(p.id));
        put(&mut o, "created_at", json!(ts(p.created)));
        put(&mut o, "name", json!(p.display_name));
        put(&mut o, "description", json!(p.description));
        let dv = self
            .versions
            .get(&p.default_version)
            .or_else(|| self.latest_version(&p.id));
        if let Some(t) = dv.and_then(|v| v.template.as_ref()) {
            put(&mut o, "parameters", Value::Array(t.v1_parameters()));
        }
        if let Some(v) = dv {
            o.insert("default_version".into(), self.version_v1(v));
        }
        if !p.namespace.is_empty() {
            o.insert(
                "resource_references".into(),
                json!([reference("NAMESPACE", &p.namespace, "OWNER", "")]),
            );
        }
        Value::Object(o)
    }

    pub(super) fn experiment_v1(&self, e: &Experiment) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(e.id));
        put(&mut o, "name", json!(e.display_name));
        put(&mut o, "description", json!(e.description));
        put(&mut o, "created_at", json!(ts(e.created)));
        if !e.namespace.is_empty() {
            o.insert(
                "resource_references".into(),
                json!([reference("NAMESPACE", &e.namespace, "OWNER", "")]),
            );
        }
        put(
            &mut o,
            "storage_state",
            json!(if e.archived {
                "STORAGESTATE_ARCHIVED"
            } else {
                "STORAGESTATE_AVAILABLE"
            }),
        );
        Value::Object(o)
    }

    pub(super) fn v1_refs(&self, experiment_id: &str, pid: &str, vid: &str, ns: &str) -> Value {
        let mut rs = vec![];
        if let Some(e) = self.experiments.get(experiment_id) {
            rs.push(reference("EXPERIMENT", &e.id, "OWNER", &e.display_name));
        }
        if !ns.is_empty() {
            rs.push(reference("NAMESPACE", ns, "OWNER", ""));
        }
        if let Some(v) = self.versions.get(vid) {
            rs.push(reference("PIPELINE_VERSION", vid, "CREATOR", &v.name));
        } else if let Some(p) = self.pipelines.get(pid) {
            rs.push(reference("PIPELINE", pid, "CREATOR", &p.display_name));
        }
        Value::Array(rs)
    }

    pub(super) fn run_v1(&self, r: &Run) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(r.id));
        put(&mut o, "name", json!(r.display_name));
        if r.archived {
            put(&mut o, "storage_state", json!("STORAGESTATE_ARCHIVED"));
        }
        put(&mut o, "description", json!(r.description));
        let mut spec = Map::new();
        put(&mut spec, "pipeline_id", json!(r.pipeline_id));
        if let Some(p) = self.pipelines.get(&r.pipeline_id) {
            put(&mut spec, "pipeline_name", json!(p.display_name));
        }
        match (&r.v1_spec, &r.template) {
            (Some(v1), _) => {
                for k in [
                    "workflow_manifest",
                    "pipeline_manifest",
                    "parameters",
                    "runtime_config",
                ] {
                    if let Some(v) = get(v1, k) {
                        spec.insert(k.into(), v.clone());
                    }
                }
            }
            (None, Some(Template::Argo(w))) => {
                put(&mut spec, "workflow_manifest", json!(w.to_string()));
            }
            (None, Some(t @ Template::Ir { .. })) => {
                put(
                    &mut spec,
                    "pipeline_manifest",
                    json!(t.to_api().to_string()),
                );
                if let Some(rc) = &r.runtime_config {
                    spec.insert("runtime_config".into(), rc.clone());
                }
            }
            (None, None) => {}
        }
        o.insert("pipeline_spec".into(), Value::Object(spec));
        o.insert(
            "resource_references".into(),
            self.v1_refs(
                &r.experiment_id,
                &r.pipeline_id,
                &r.version_id,
                &r.namespace,
            ),
        );
        put(&mut o, "service_account", json!(r.service_account));
        put(&mut o, "created_at", json!(ts(r.created)));
        put(&mut o, "scheduled_at", json!(ts(r.created)));
        // Always set: 1970-01-01T00:00:00Z until the run finishes (api_converter.go).
        o.insert("finished_at".into(), json!(ts(r.finished().unwrap_or(0))));
        put(&mut o, "status", json!(v1_status(r.state())));
        if r.state() == "FAILED" {
            put(
                &mut o,
                "error",
                json!(format!(
                    "pipeline run failed: task {} failed",
                    self.failed_task_of(r)
                )),
            );
        }
        Value::Object(o)
    }

    /// v1 GetRun: `{run, pipeline_runtime: {workflow_manifest}}` with Argo-style node states.
    pub(super) fn run_detail_v1(&self, r: &Run) -> Value {
        let failed = self.failed_task_of(r);
        let phase = v1_status(r.state());
        let names = r
            .template
            .as_ref()
            .map(Template::task_names)
            .unwrap_or_default();
        let mut nodes = Map::new();
        if r.state() != "PENDING" {
            for (i, name) in names.iter().enumerate() {
                let node_phase = match r.state() {
                    "FAILED" if *name == failed => "Failed",
                    "FAILED" => "Succeeded",
                    _ => phase,
                };
                let id = format!("{}-{i}", r.id);
                let mut n = json!({"id": id, "name": format!("{}.{name}", r.display_name),
                    "displayName": name, "type": "Pod", "phase": node_phase});
                if node_phase == "Failed" {
                    n["message"] = json!("Error (exit code 1)");
                }
                nodes.insert(id, n);
            }
        }
        let wf = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"name": r.display_name, "uid": r.id},
            "status": {"phase": phase, "nodes": nodes},
        });
        json!({"run": self.run_v1(r), "pipeline_runtime": {"workflow_manifest": wf.to_string()}})
    }

    pub(super) fn job_v1(&self, rr: &Recurring) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(rr.id));
        put(&mut o, "name", json!(rr.display_name));
        put(&mut o, "description", json!(rr.description));
        let mut spec = Map::new();
        put(&mut spec, "pipeline_id", json!(rr.pipeline_id));
        if let Some(v1) = &rr.v1_spec {
            for k in [
                "workflow_manifest",
                "pipeline_manifest",
                "parameters",
                "runtime_config",
            ] {
                if let Some(v) = get(v1, k) {
                    spec.insert(k.into(), v.clone());
                }
            }
        } else if let Some(rc) = &rr.runtime_config {
            spec.insert("runtime_config".into(), rc.clone());
        }
        o.insert("pipeline_spec".into(), Value::Object(spec));
        o.insert(
            "resource_references".into(),
            self.v1_refs(
                &rr.experiment_id,
                &rr.pipeline_id,
                &rr.version_id,
                &rr.namespace,
            ),
        );
        put(&mut o, "service_account", json!(rr.service_account));
        put(
            &mut o,
            "max_concurrency",
            json!(rr.max_concurrency.to_string()),
        );
        o.insert("trigger".into(), rr.trigger.clone());
        put(
            &mut o,
            "mode",
            json!(if rr.enabled { "ENABLED" } else { "DISABLED" }),
        );
        put(&mut o, "created_at", json!(ts(rr.created)));
        put(&mut o, "updated_at", json!(ts(rr.updated)));
        put(
            &mut o,
            "status",
            json!(if rr.enabled { "Enabled" } else { "Disabled" }),
        );
        put(&mut o, "enabled", json!(rr.enabled));
        put(&mut o, "no_catchup", json!(rr.no_catchup));
        Value::Object(o)
    }
}
