//! Recurring runs (v2) and jobs (v1): create with the schedule checked, list.

use super::*;

impl Store {
    // ----- recurring runs / jobs ---------------------------------------------------------

    pub(super) fn check_schedule(trigger: &Value, max_conc: Option<i64>) -> Result<(), ApiError> {
        match max_conc {
            Some(n) if (1..=10).contains(&n) => {}
            other => {
                return Err(ApiError::invalid(format!(
                    "Invalid input error: max_concurrency must be in [1, 10], got {}",
                    other
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "nothing".into())
                )))
            }
        }
        let cron = get(trigger, "cron_schedule");
        let periodic = get(trigger, "periodic_schedule");
        match (cron, periodic) {
            (Some(cs), None) => {
                let expr = gs(cs, "cron");
                if !valid_cron(&expr) {
                    return Err(ApiError::invalid(format!(
                        "Invalid input error: invalid cron schedule {expr:?}: expected 6 fields (seconds first) or a descriptor"
                    )));
                }
            }
            (None, Some(ps)) => {
                if int64(ps, "interval_second").unwrap_or(0) < 1 {
                    return Err(ApiError::invalid(
                        "Invalid input error: periodic_schedule.interval_second must be >= 1",
                    ));
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    "Invalid input error: exactly one of trigger.cron_schedule and trigger.periodic_schedule is required",
                ))
            }
        }
        Ok(())
    }

    /// The trigger in the output shape (snake_case, int64 as strings).
    pub(super) fn normalize_trigger(t: &Value) -> Value {
        let mut o = Map::new();
        if let Some(cs) = get(t, "cron_schedule") {
            let mut c = Map::new();
            put(&mut c, "start_time", json!(gs(cs, "start_time")));
            put(&mut c, "end_time", json!(gs(cs, "end_time")));
            put(&mut c, "cron", json!(gs(cs, "cron")));
            o.insert("cron_schedule".into(), Value::Object(c));
        }
        if let Some(ps) = get(t, "periodic_schedule") {
            let mut c = Map::new();
            put(&mut c, "start_time", json!(gs(ps, "start_time")));
            put(&mut c, "end_time", json!(gs(ps, "end_time")));
            put(
                &mut c,
                "interval_second",
                json!(int64(ps, "interval_second").unwrap_or(0).to_string()),
            );
            o.insert("periodic_schedule".into(), Value::Object(c));
        }
        Value::Object(o)
    }

    pub(super) fn create_recurring_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "display_name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a recurring run: display_name is required",
            ));
        }
        let trigger = get(b, "trigger").cloned().unwrap_or(Value::Null);
        Self::check_schedule(&trigger, int64(b, "max_concurrency"))?;
        let exp = self.experiment_for(c, &gs(b, "experiment_id"))?;
        self.authz(c, &exp.namespace)?;
        let pvr = get(b, "pipeline_version_reference")
            .cloned()
            .unwrap_or(Value::Null);
        let vid = Some(gs(&pvr, "pipeline_version_id"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| gs(b, "pipeline_version_id"));
        let inline = get(b, "pipeline_spec");
        let (template, pid, vid) = self.resolve_source(inline, &gs(&pvr, "pipeline_id"), &vid)?;
        let rc = get(b, "runtime_config").cloned();
        if let Some(t) = &template {
            check_params(t, rc.as_ref().and_then(|r| get(r, "parameters")))?;
        }
        let mode = match get(b, "mode") {
            Some(Value::String(m)) => m.clone(),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => "ENABLE".into(),
            _ => String::new(),
        };
        let (id, created) = self.next(0x5c);
        let rr = Recurring {
            id: id.clone(),
            display_name: name,
            description: gs(b, "description"),
            experiment_id: exp.id.clone(),
            namespace: exp.namespace.clone(),
            inline_spec: inline.cloned(),
            pipeline_id: pid,
            version_id: vid,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            max_concurrency: int64(b, "max_concurrency").unwrap_or(1),
            trigger: Self::normalize_trigger(&trigger),
            enabled: mode == "ENABLE",
            no_catchup: get(b, "no_catchup") == Some(&json!(true)),
            created,
            updated: created,
            v1_spec: None,
        };
        let out = self.recurring_v2(&rr);
        self.recurring.insert(id, rr);
        Ok(Reply::json(200, &out))
    }

    pub(super) fn create_job_v1(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a job: the job name is empty. Please specify a valid name",
            ));
        }
        let trigger = get(b, "trigger").cloned().unwrap_or(Value::Null);
        Self::check_schedule(&trigger, int64(b, "max_concurrency"))?;
        let rs = refs(b);
        let exp = self.experiment_for(c, &ref_id(&rs, "EXPERIMENT"))?;
        self.authz(c, &exp.namespace)?;
        let (template, pid, vid, spec) = self.v1_source(b, &rs)?;
        let rc = get(&spec, "runtime_config").cloned();
        if let (Some(t @ Template::Ir { .. }), Some(rc)) = (&template, &rc) {
            check_params(t, get(rc, "parameters"))?;
        }
        let enabled = get(b, "enabled") == Some(&json!(true)) || gs(b, "mode") == "ENABLED";
        let (id, created) = self.next(0x5c);
        let rr = Recurring {
            id: id.clone(),
            display_name: name,
            description: gs(b, "description"),
            experiment_id: exp.id.clone(),
            namespace: exp.namespace.clone(),
            pipeline_id: pid,
            version_id: vid,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            max_concurrency: int64(b, "max_concurrency").unwrap_or(1),
            trigger: Self::normalize_trigger(&trigger),
            enabled,
            no_catchup: get(b, "no_catchup") == Some(&json!(true)),
            created,
            updated: created,
            v1_spec: Some(spec),
            ..Default::default()
        };
        let out = self.job_v1(&rr);
        self.recurring.insert(id, rr);
        Ok(Reply::json(200, &out))
    }

    pub(super) fn list_recurring(&self, c: &Ctx, api: Api) -> R {
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
                "Invalid input error: ListRecurringRuns in multi-user mode must filter by namespace or experiment",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        let all: Vec<&Recurring> = self
            .recurring
            .values()
            .filter(|r| {
                (exp.is_empty() || r.experiment_id == exp) && (ns.is_empty() || r.namespace == ns)
            })
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            RECURRING_KEYS,
            |r, f| match f {
                "id" => s(&r.id),
                "display_name" => s(&r.display_name),
                "description" => s(&r.description),
                "updated_at" => FieldVal::Num(r.updated),
                _ => FieldVal::Num(r.created),
            },
            |r| r.id.clone(),
        )?;
        let (key, items) = match api {
            Api::V2 => (
                "recurringRuns",
                pg.items.iter().map(|r| self.recurring_v2(r)).collect(),
            ),
            Api::V1 => ("jobs", pg.items.iter().map(|r| self.job_v1(r)).collect()),
        };
        Ok(list_reply(key, items, pg.total, pg.next_page_token))
    }
}
