//! Runs: create (inline or from a version), list, get, and the run verbs.

use super::*;

impl Store {
    // ----- runs --------------------------------------------------------------------------

    /// Resolve the pipeline of a run/recurring run: inline spec or a version reference.
    pub(super) fn resolve_source(
        &self,
        inline: Option<&Value>,
        pid: &str,
        vid: &str,
    ) -> Result<(Option<Template>, String, String), ApiError> {
        match (inline, pid.is_empty() && vid.is_empty()) {
            (Some(_), false) => Err(ApiError::invalid(
                "Invalid input error: pipeline_spec and a pipeline version reference cannot both be set",
            )),
            (None, true) => Err(ApiError::invalid(
                "Invalid input error: Failed to create a run: neither a pipeline spec nor a pipeline version reference was provided",
            )),
            (Some(spec), true) => {
                let t = template_from_inline(spec).map_err(|e| {
                    ApiError::invalid(format!("Invalid input error: invalid pipeline_spec: {e}"))
                })?;
                Ok((Some(t), String::new(), String::new()))
            }
            (None, false) => {
                let v = if vid.is_empty() {
                    self.pipeline(pid)?;
                    self.latest_version(pid).ok_or_else(|| {
                        ApiError::not_found(format!("Pipeline {pid} has no versions"))
                    })?
                } else if pid.is_empty() {
                    self.versions.get(vid).ok_or_else(|| {
                        ApiError::not_found(format!("PipelineVersion {vid} not found"))
                    })?
                } else {
                    self.version_in(pid, vid)?
                };
                Ok((v.template.clone(), v.pipeline_id.clone(), v.id.clone()))
            }
        }
    }

    pub(super) fn new_run(&mut self, c: &Ctx, mut r: Run, exp: &Experiment) -> Run {
        let (id, created) = self.next(0x40);
        r.id = id.clone();
        r.created = created;
        r.experiment_id = exp.id.clone();
        r.namespace = exp.namespace.clone();
        r.plan = c.control.run_plan.clone();
        r.failed_task = c.control.failed_task.clone().unwrap_or_default();
        if let Some(e) = self.experiments.get_mut(&exp.id) {
            e.last_run_created = created;
        }
        self.runs.insert(id, r.clone());
        r
    }

    pub(super) fn create_run_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "display_name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a run: run display_name is required",
            ));
        }
        let exp_id = Some(gs(b, "experiment_id"))
            .filter(|e| !e.is_empty())
            .or_else(|| c.query.get("experiment_id").cloned())
            .unwrap_or_default();
        let exp = self.experiment_for(c, &exp_id)?;
        self.authz(c, &exp.namespace)?;
        let pvr = get(b, "pipeline_version_reference")
            .cloned()
            .unwrap_or(Value::Null);
        let pid = gs(&pvr, "pipeline_id");
        let vid = Some(gs(&pvr, "pipeline_version_id"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| gs(b, "pipeline_version_id"));
        let inline = get(b, "pipeline_spec");
        let (template, pid, vid) = self.resolve_source(inline, &pid, &vid)?;
        let rc = get(b, "runtime_config").cloned();
        if let Some(t) = &template {
            check_params(t, rc.as_ref().and_then(|r| get(r, "parameters")))?;
        }
        let r = Run {
            display_name: name,
            description: gs(b, "description"),
            inline_spec: inline.cloned(),
            pipeline_id: pid,
            version_id: vid,
            template,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            ..Default::default()
        };
        let r = self.new_run(c, r, &exp);
        Ok(Reply::json(200, &self.run_v2(&r)))
    }

    /// A v1 `pipeline_spec`: inline manifest (Argo or IR, JSON/YAML string) or pipeline id.
    pub(super) fn v1_source(
        &self,
        b: &Value,
        rs: &[(String, String, String)],
    ) -> Result<(Option<Template>, String, String, Value), ApiError> {
        let spec = get(b, "pipeline_spec").cloned().unwrap_or(Value::Null);
        let wf = gs(&spec, "workflow_manifest");
        let pm = gs(&spec, "pipeline_manifest");
        let vid = ref_id(rs, "PIPELINE_VERSION");
        let pid = Some(gs(&spec, "pipeline_id"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ref_id(rs, "PIPELINE"));
        let inline = if !wf.is_empty() {
            Some(wf)
        } else if !pm.is_empty() {
            Some(pm)
        } else {
            None
        };
        if let Some(text) = inline {
            let t = parse_template(text.as_bytes()).map_err(|e| {
                ApiError::invalid(format!(
                    "Invalid input error: invalid pipeline manifest: {e}"
                ))
            })?;
            return Ok((Some(t), String::new(), String::new(), spec));
        }
        let (t, pid, vid) = self.resolve_source(None, &pid, &vid)?;
        Ok((t, pid, vid, spec))
    }

    pub(super) fn create_run_v1(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a run: the run name is empty. Please specify a valid name",
            ));
        }
        let rs = refs(b);
        let exp = self.experiment_for(c, &ref_id(&rs, "EXPERIMENT"))?;
        self.authz(c, &exp.namespace)?;
        let (template, pid, vid, spec) = self.v1_source(b, &rs)?;
        let rc = get(&spec, "runtime_config").cloned();
        if let (Some(t @ Template::Ir { .. }), Some(rc)) = (&template, &rc) {
            check_params(t, get(rc, "parameters"))?;
        }
        let r = Run {
            display_name: name,
            description: gs(b, "description"),
            pipeline_id: pid,
            version_id: vid,
            template,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            v1_spec: Some(spec),
            ..Default::default()
        };
        let r = self.new_run(c, r, &exp);
        Ok(Reply::json(
            200,
            &json!({"run": self.run_v1(&r), "pipeline_runtime": {}}),
        ))
    }

    pub(super) fn list_runs(&self, c: &Ctx, api: Api) -> R {
        let (ns, exp) = match api {
            Api::V2 => (
                c.query.get("namespace").cloned().unwrap_or_default(),
                c.query.get("experiment_id").cloned().unwrap_or_default(),
            ),
            Api::V1 => (
                Self::list_ns(c, api),
                Self::v1_ref_filter(c, "EXPERIMENT").unwrap_or_default(),
            ),
        };
        if c.control.multi_user && ns.is_empty() && exp.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: ListRuns in multi-user mode must filter by namespace or experiment",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        let all: Vec<&Run> = self
            .runs
            .values()
            .filter(|r| {
                (exp.is_empty() || r.experiment_id == exp) && (ns.is_empty() || r.namespace == ns)
            })
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            RUN_KEYS,
            |r, f| match f {
                "id" => s(&r.id),
                "display_name" => s(&r.display_name),
                "description" => s(&r.description),
                "namespace" => s(&r.namespace),
                "experiment_id" => s(&r.experiment_id),
                "recurring_run_id" => s(&r.recurring_run_id),
                "state" => s(r.state()),
                "storage_state" => s(if r.archived { "ARCHIVED" } else { "AVAILABLE" }),
                "finished_at" => FieldVal::Num(r.finished().unwrap_or(0)),
                _ => FieldVal::Num(r.created),
            },
            |r| r.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|r| match api {
                Api::V2 => self.run_v2(r),
                Api::V1 => self.run_v1(r),
            })
            .collect();
        Ok(list_reply("runs", items, pg.total, pg.next_page_token))
    }
}
