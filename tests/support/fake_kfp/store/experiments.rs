//! Experiments: create, list, and the one a run goes into.

use super::*;

impl Store {
    // ----- experiments -------------------------------------------------------------------

    pub(super) fn create_experiment(
        &mut self,
        c: &Ctx,
        name: String,
        description: String,
        ns: String,
        api: Api,
    ) -> R {
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create an experiment: experiment name is empty. Please specify a valid experiment name",
            ));
        }
        if c.control.multi_user && ns.is_empty() {
            return Err(ApiError::invalid(
                "Failed to authorize with API: Invalid input error: An experiment cannot have an empty namespace in multi-user mode",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        if self
            .experiments
            .values()
            .any(|e| e.namespace == ns && e.display_name == name)
        {
            return Err(ApiError::new(
                409,
                format!("Failed to create an experiment: AlreadyExistsError: Experiment with name {name:?} already exists in namespace {ns:?}"),
            ));
        }
        let (id, created) = self.next(0xe0);
        let e = Experiment {
            id: id.clone(),
            display_name: name,
            description,
            namespace: ns,
            created,
            ..Default::default()
        };
        let out = match api {
            Api::V2 => self.experiment_v2(&e),
            Api::V1 => self.experiment_v1(&e),
        };
        self.experiments.insert(id, e);
        Ok(Reply::json(200, &out))
    }

    pub(super) fn list_experiments(&self, c: &Ctx, api: Api) -> R {
        let ns = Self::list_ns(c, api);
        if c.control.multi_user && ns.is_empty() {
            return Err(ApiError::invalid(
                "Failed to authorize with API: Invalid input error: An experiment cannot have an empty namespace in multi-user mode",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        let all: Vec<&Experiment> = self
            .experiments
            .values()
            .filter(|e| e.namespace == ns)
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            EXPERIMENT_KEYS,
            |e, f| match f {
                "id" => s(&e.id),
                "display_name" => s(&e.display_name),
                "description" => s(&e.description),
                "namespace" => s(&e.namespace),
                "storage_state" => s(if e.archived { "ARCHIVED" } else { "AVAILABLE" }),
                "last_run_created_at" => FieldVal::Num(e.last_run_created),
                _ => FieldVal::Num(e.created),
            },
            |e| e.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|e| match api {
                Api::V2 => self.experiment_v2(e),
                Api::V1 => self.experiment_v1(e),
            })
            .collect();
        Ok(list_reply(
            "experiments",
            items,
            pg.total,
            pg.next_page_token,
        ))
    }

    /// The experiment a run/recurring run goes to: the given one, or "Default".
    pub(super) fn experiment_for(&mut self, c: &Ctx, id: &str) -> Result<Experiment, ApiError> {
        if !id.is_empty() {
            return self.experiment(id).cloned();
        }
        if c.control.multi_user {
            return Err(ApiError::invalid(
                "Invalid input error: in multi-user mode an experiment id is required",
            ));
        }
        if let Some(e) = self
            .experiments
            .values()
            .find(|e| e.display_name == "Default" && e.namespace.is_empty())
        {
            return Ok(e.clone());
        }
        let id = self.seed_experiment("Default", "");
        Ok(self.experiments[&id].clone())
    }
}
