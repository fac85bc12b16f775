//! `Kfp`: the operations commands need, the same for both API versions (dispatching to `v2`
//! or `v1`), plus UI links.

use std::collections::BTreeMap;

use tokio::task::JoinSet;

use crate::config::KfpVersion;
use crate::kfp::client::Client;
use crate::kfp::models::{
    Experiment, NewRecurringRun, NewRun, Pipeline, RecurringRun, Run, Version,
};
use crate::kfp::{v1, v2, KfpError};

/// Concurrent requests when fetching the latest version of every pipeline.
const VERSION_FETCH_CONCURRENCY: usize = 16;

/// What `Kfp::run_action` does to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    Terminate,
    Retry,
    Archive,
}

#[derive(Debug, Clone)]
pub struct Kfp {
    pub client: Client,
    /// Namespace of experiments, runs and recurring runs (multi-user KFP).
    pub namespace: Option<String>,
    /// Base of UI links, without trailing `/`.
    pub ui: String,
}

impl Kfp {
    pub fn new(client: Client, namespace: Option<String>, ui: String) -> Kfp {
        Kfp {
            client,
            namespace,
            ui,
        }
    }

    pub fn version(&self) -> KfpVersion {
        self.client.version()
    }

    fn ns(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub fn pipeline_link(&self, pipeline_id: &str, version_id: &str) -> String {
        format!(
            "{}/#/pipelines/details/{pipeline_id}/version/{version_id}",
            self.ui
        )
    }

    pub fn run_link(&self, run_id: &str) -> String {
        format!("{}/#/runs/details/{run_id}", self.ui)
    }

    pub fn recurring_run_link(&self, id: &str) -> String {
        format!("{}/#/recurringrun/details/{id}", self.ui)
    }

    pub fn experiment_link(&self, id: &str) -> String {
        format!("{}/#/experiments/details/{id}", self.ui)
    }

    /// Pipelines (shared ones, which is where kfpx and kedro-kubeflow upload), optionally only
    /// those named `name`, every page.
    pub async fn list_pipelines_in(
        &self,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<Pipeline>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::list_pipelines(&self.client, namespace, name).await,
            KfpVersion::V1 => v1::list_pipelines(&self.client, namespace, name).await,
        }
    }

    /// The shared pipeline with exactly this name; an error if there are several.
    pub async fn find_pipeline(&self, name: &str) -> Result<Option<Pipeline>, KfpError> {
        let mut found: Vec<Pipeline> = self
            .list_pipelines_in(None, Some(name))
            .await?
            .into_iter()
            .filter(|p| p.name == name)
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(KfpError::DuplicatePipelines {
                name: name.to_string(),
                ids: found.into_iter().map(|p| p.id).collect(),
            }),
        }
    }

    /// The shared pipeline whose `name` is `name` (which may differ from its display name on
    /// KFP 2.14+).
    pub async fn pipeline_by_name(&self, name: &str) -> Result<Option<Pipeline>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::pipeline_by_name(&self.client, name, None).await,
            KfpVersion::V1 => v1::pipeline_by_name(&self.client, name, None).await,
        }
    }

    pub async fn latest_version(&self, pipeline_id: &str) -> Result<Option<Version>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::latest_version(&self.client, pipeline_id).await,
            KfpVersion::V1 => v1::latest_version(&self.client, pipeline_id).await,
        }
    }

    pub async fn find_version(
        &self,
        pipeline_id: &str,
        name: &str,
    ) -> Result<Option<Version>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::find_version(&self.client, pipeline_id, name).await,
            KfpVersion::V1 => v1::find_version(&self.client, pipeline_id, name).await,
        }
    }

    /// Upload a new (shared) pipeline; returns it with its first version.
    pub async fn upload_pipeline(
        &self,
        name: &str,
        description: Option<&str>,
        bytes: &[u8],
    ) -> Result<Pipeline, KfpError> {
        match self.version() {
            KfpVersion::V2 => {
                v2::upload_pipeline(&self.client, name, description, None, bytes).await
            }
            KfpVersion::V1 => {
                v1::upload_pipeline(&self.client, name, description, None, bytes).await
            }
        }
    }

    pub async fn upload_version(
        &self,
        pipeline_id: &str,
        name: &str,
        description: Option<&str>,
        bytes: &[u8],
    ) -> Result<Version, KfpError> {
        match self.version() {
            KfpVersion::V2 => {
                v2::upload_version(&self.client, pipeline_id, name, description, bytes).await
            }
            KfpVersion::V1 => {
                v1::upload_version(&self.client, pipeline_id, name, description, bytes).await
            }
        }
    }

    /// The experiment `name` in `namespace`, created when missing. `true` when created.
    pub async fn ensure_experiment(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<(Experiment, bool), KfpError> {
        let found = match self.version() {
            KfpVersion::V2 => v2::find_experiment(&self.client, name, namespace).await?,
            KfpVersion::V1 => v1::find_experiment(&self.client, name, namespace).await?,
        };
        if let Some(e) = found {
            return Ok((e, false));
        }
        let created = match self.version() {
            KfpVersion::V2 => v2::create_experiment(&self.client, name, namespace).await,
            KfpVersion::V1 => v1::create_experiment(&self.client, name, namespace).await,
        };
        match created {
            Ok(e) => Ok((e, true)),
            // Created by someone else between our look and our create.
            Err(e) if e.status() == Some(409) => {
                let again = match self.version() {
                    KfpVersion::V2 => v2::find_experiment(&self.client, name, namespace).await?,
                    KfpVersion::V1 => v1::find_experiment(&self.client, name, namespace).await?,
                };
                again.map(|x| (x, false)).ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn create_run(&self, run: &NewRun<'_>) -> Result<Run, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::create_run(&self.client, run, self.ns()).await,
            KfpVersion::V1 => v1::create_run(&self.client, run).await,
        }
    }

    pub async fn get_run(&self, id: &str) -> Result<Run, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::get_run(&self.client, id).await,
            KfpVersion::V1 => v1::get_run(&self.client, id).await,
        }
    }

    /// Every recurring run named `name` in the experiment (all pages).
    pub async fn recurring_runs_named(
        &self,
        experiment_id: &str,
        name: &str,
    ) -> Result<Vec<RecurringRun>, KfpError> {
        match self.version() {
            KfpVersion::V2 => {
                v2::list_recurring_runs(&self.client, experiment_id, name, self.ns()).await
            }
            KfpVersion::V1 => v1::list_jobs(&self.client, experiment_id, name).await,
        }
    }

    /// Create a recurring run; `existing` are the ids of same-named ones (to recognise ours
    /// if the answer is lost).
    pub async fn create_recurring_run(
        &self,
        r: &NewRecurringRun<'_>,
        existing: &[String],
    ) -> Result<RecurringRun, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::create_recurring_run(&self.client, r, self.ns(), existing).await,
            KfpVersion::V1 => v1::create_job(&self.client, r, existing).await,
        }
    }

    pub async fn delete_recurring_run(&self, id: &str) -> Result<(), KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::delete_recurring_run(&self.client, id).await,
            KfpVersion::V1 => v1::delete_job(&self.client, id).await,
        }
    }

    /// The experiment named `name` in `namespace`, if any (nothing is created).
    pub async fn find_experiment(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Option<Experiment>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::find_experiment(&self.client, name, namespace).await,
            KfpVersion::V1 => v1::find_experiment(&self.client, name, namespace).await,
        }
    }

    /// An uploaded version's parameters and their defaults (`null`: required).
    pub async fn version_parameters(
        &self,
        pipeline_id: &str,
        version_id: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::version_parameters(&self.client, pipeline_id, version_id).await,
            KfpVersion::V1 => v1::version_parameters(&self.client, version_id).await,
        }
    }

    /// Runs in the namespace (or only `experiment_id`'s), newest first, every page.
    pub async fn list_runs(&self, experiment_id: Option<&str>) -> Result<Vec<Run>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::list_runs(&self.client, self.ns(), experiment_id).await,
            KfpVersion::V1 => v1::list_runs(&self.client, self.ns(), experiment_id).await,
        }
    }

    /// Runs named exactly `name` in the namespace (or only `experiment_id`'s).
    pub async fn runs_named(
        &self,
        name: &str,
        experiment_id: Option<&str>,
    ) -> Result<Vec<Run>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::runs_named(&self.client, name, self.ns(), experiment_id).await,
            KfpVersion::V1 => v1::runs_named(&self.client, name, self.ns(), experiment_id).await,
        }
    }

    /// Stop, retry or archive a run.
    pub async fn run_action(&self, id: &str, action: RunAction) -> Result<(), KfpError> {
        let (verb, doing) = match action {
            RunAction::Terminate => ("terminate", "terminating"),
            RunAction::Retry => ("retry", "retrying"),
            RunAction::Archive => ("archive", "archiving"),
        };
        let what = format!("{doing} run {id}");
        match self.version() {
            KfpVersion::V2 => v2::run_verb(&self.client, id, verb, &what).await,
            KfpVersion::V1 => v1::run_verb(&self.client, id, verb, &what).await,
        }
    }

    /// Every recurring run in the namespace (or only `experiment_id`'s).
    pub async fn list_recurring_runs(
        &self,
        experiment_id: Option<&str>,
    ) -> Result<Vec<RecurringRun>, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::all_recurring_runs(&self.client, self.ns(), experiment_id).await,
            KfpVersion::V1 => v1::all_jobs(&self.client, self.ns(), experiment_id).await,
        }
    }

    pub async fn get_recurring_run(&self, id: &str) -> Result<RecurringRun, KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::get_recurring_run(&self.client, id).await,
            KfpVersion::V1 => v1::get_job(&self.client, id).await,
        }
    }

    pub async fn set_recurring_run_enabled(&self, id: &str, on: bool) -> Result<(), KfpError> {
        match self.version() {
            KfpVersion::V2 => v2::set_recurring_enabled(&self.client, id, on).await,
            KfpVersion::V1 => v1::set_job_enabled(&self.client, id, on).await,
        }
    }

    /// Every pipeline visible (shared, plus the namespace's own when one is set), each with
    /// its latest version, sorted by name then id. v1 list answers carry the latest version;
    /// for v2 they are fetched concurrently (bounded).
    pub async fn pipelines_with_latest_versions(&self) -> Result<Vec<Pipeline>, KfpError> {
        let (mut all, mut latest) = match self.version() {
            KfpVersion::V1 => (self.visible_pipelines().await?, BTreeMap::new()),
            // The v2 list does not carry versions; the v1 list of a 2.x server does. Ask both
            // at once; fall back to one request per pipeline for whatever is still missing.
            KfpVersion::V2 => {
                let (pipelines, versions) =
                    tokio::join!(self.visible_pipelines(), self.latest_versions_via_v1());
                (pipelines?, versions)
            }
        };
        for p in &mut all {
            if p.latest_version.is_none() {
                p.latest_version = latest.remove(&p.id);
            }
        }
        let missing: Vec<String> = all
            .iter()
            .filter(|p| p.latest_version.is_none())
            .map(|p| p.id.clone())
            .collect();
        if !missing.is_empty() {
            tracing::info!(
                "fetching the latest version of {} pipelines one by one",
                missing.len()
            );
        }
        let mut fetched = self.latest_versions_of(missing).await?;
        for p in &mut all {
            if p.latest_version.is_none() {
                p.latest_version = fetched.remove(&p.id);
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Shared pipelines, plus the namespace's own when one is set.
    pub async fn visible_pipelines(&self) -> Result<Vec<Pipeline>, KfpError> {
        let mut all = self.list_pipelines_in(None, None).await?;
        if let Some(ns) = self.ns() {
            let mut seen: std::collections::BTreeSet<String> =
                all.iter().map(|p| p.id.clone()).collect();
            for p in self.list_pipelines_in(Some(ns), None).await? {
                if seen.insert(p.id.clone()) {
                    all.push(p);
                }
            }
        }
        Ok(all)
    }

    /// Latest versions from the v1 list (shared + namespace); empty if that API is unavailable.
    async fn latest_versions_via_v1(&self) -> BTreeMap<String, Version> {
        let mut out = BTreeMap::new();
        let mut scopes = vec![None];
        if let Some(ns) = self.ns() {
            scopes.push(Some(ns));
        }
        for ns in scopes {
            match v1::latest_versions_by_list(&self.client, ns).await {
                Ok(m) => out.extend(m),
                Err(e) => {
                    tracing::info!("the v1 pipeline list is not available ({e})");
                    break;
                }
            }
        }
        out
    }

    /// One request per pipeline, a bounded number at a time.
    async fn latest_versions_of(
        &self,
        ids: Vec<String>,
    ) -> Result<BTreeMap<String, Version>, KfpError> {
        let mut latest = BTreeMap::new();
        let mut pending = ids.into_iter();
        let mut set: JoinSet<Result<(String, Option<Version>), KfpError>> = JoinSet::new();
        loop {
            while set.len() < VERSION_FETCH_CONCURRENCY {
                let Some(id) = pending.next() else { break };
                let kfp = self.clone();
                set.spawn(async move {
                    let v = kfp.latest_version(&id).await?;
                    Ok((id, v))
                });
            }
            let Some(done) = set.join_next().await else {
                break;
            };
            let (id, v) =
                done.map_err(|e| KfpError::Other(format!("a version lookup stopped: {e}")))??;
            if let Some(v) = v {
                latest.insert(id, v);
            }
        }
        Ok(latest)
    }
}
