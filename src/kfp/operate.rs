//! Operating runs and recurring runs that exist on the server (`kfpx runs`, `kfpx schedules`):
//! which ones belong to "this project" (kfpx's pipeline naming rule), finding one by id or
//! name, and filling in the pipeline names the API answers leave out. No printing: commands
//! decide what to show.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::kfp::api::Kfp;
use crate::kfp::client::Call;
use crate::kfp::models::{RecurringRun, Run};
use crate::kfp::{naming, KfpError};

/// The pipelines of one project in one env, as kfpx names them on the server
/// (`[<project>] <pipeline> (env: <env>)`, see [`naming::pipeline_name`]): every pipeline of
/// the project, or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub project: String,
    pub env: String,
    /// One Kedro pipeline only (`-p`).
    pub pipeline: Option<String>,
}

impl Scope {
    /// Whether a pipeline of this name on the server is one of the scope's.
    pub fn matches(&self, pipeline_name: &str) -> bool {
        match &self.pipeline {
            Some(p) => pipeline_name == naming::pipeline_name(&self.project, p, &self.env),
            None => {
                // Long names are cut in the middle but keep their head and, unless the env is
                // very long, the env tail (naming::pipeline_name).
                let env_tail = format!(" (env: {})", self.env);
                pipeline_name.starts_with(&format!("[{}] ", self.project))
                    && (pipeline_name.ends_with(&env_tail)
                        || (env_tail.chars().count() > 50 && pipeline_name.contains(" #")))
            }
        }
    }

    /// For messages: `[<project>] <pipeline or *> (env: <env>)`.
    pub fn describe(&self) -> String {
        match &self.pipeline {
            Some(p) => naming::pipeline_name(&self.project, p, &self.env),
            None => format!("[{}] * (env: {})", self.project, self.env),
        }
    }
}

/// The pipeline a `kfpx run-once` run was started for: its description is `kfpx run-once of
/// <pipeline name> (kfpx request <16 hex>)` (commands::run_once). Such runs carry their
/// document inline, so they reference no uploaded pipeline.
pub fn run_once_pipeline(description: &str) -> Option<&str> {
    let rest = description.strip_prefix("kfpx run-once of ")?;
    let (name, tail) = rest.rsplit_once(" (kfpx request ")?;
    (tail.len() == 17 && tail.ends_with(')')).then_some(name)
}

/// The name of the pipeline a run ran, when known.
pub fn pipeline_of(run: &Run) -> Option<&str> {
    run.pipeline_name
        .as_deref()
        .or_else(|| run.description.as_deref().and_then(run_once_pipeline))
}

/// A KFP id (a UUID: 8-4-4-4-12 hex digits), as opposed to a name.
pub fn looks_like_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The outcome of looking something up by id or name.
#[derive(Debug)]
pub enum Found<T> {
    One(T),
    Nothing,
    /// Several have that name (newest first).
    Many(Vec<T>),
}

/// Pipeline id → name for every pipeline the user can see.
pub async fn pipeline_names(kfp: &Kfp) -> Result<BTreeMap<String, String>, KfpError> {
    Ok(kfp
        .visible_pipelines()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// Fill in `pipeline_name` from the pipeline ids (v2 answers carry only ids).
pub fn name_runs(runs: &mut [Run], names: &BTreeMap<String, String>) {
    for r in runs {
        if r.pipeline_name.is_none() {
            r.pipeline_name = r.pipeline_id.as_ref().and_then(|id| names.get(id)).cloned();
        }
    }
}

pub fn name_recurring_runs(runs: &mut [RecurringRun], names: &BTreeMap<String, String>) {
    for r in runs {
        if r.pipeline_name.is_none() {
            r.pipeline_name = r.pipeline_id.as_ref().and_then(|id| names.get(id)).cloned();
        }
    }
}

/// One run by id, or by exact name in the namespace (or in `experiment_id`). With several of
/// that name, those in `scope` win; still several: [`Found::Many`].
pub async fn find_run(
    kfp: &Kfp,
    key: &str,
    experiment_id: Option<&str>,
    scope: Option<&Scope>,
) -> Result<Found<Run>, KfpError> {
    if looks_like_id(key) {
        match kfp.get_run(key).await {
            Ok(r) => return Ok(Found::One(r)),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e),
        }
    }
    let mut named = kfp.runs_named(key, experiment_id).await?;
    if named.len() > 1 {
        if let Some(scope) = scope {
            let names = pipeline_names(kfp).await?;
            name_runs(&mut named, &names);
            let mine: Vec<Run> = named
                .iter()
                .filter(|r| pipeline_of(r).is_some_and(|p| scope.matches(p)))
                .cloned()
                .collect();
            if mine.len() == 1 {
                named = mine;
            }
        }
    }
    match named.len() {
        0 => Ok(Found::Nothing),
        // The list answer may lack details (v1 lists carry no tasks): read the run itself.
        1 => kfp.get_run(&named[0].id).await.map(Found::One),
        _ => {
            named.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
            Ok(Found::Many(named))
        }
    }
}

/// One recurring run by id, or by exact name among those in the namespace; several of that
/// name: those in `scope` win, else [`Found::Many`].
pub async fn find_recurring_run(
    kfp: &Kfp,
    key: &str,
    scope: Option<&Scope>,
) -> Result<Found<RecurringRun>, KfpError> {
    if looks_like_id(key) {
        match kfp.get_recurring_run(key).await {
            Ok(r) => return Ok(Found::One(r)),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e),
        }
    }
    let mut named: Vec<RecurringRun> = kfp
        .list_recurring_runs(None)
        .await?
        .into_iter()
        .filter(|r| r.name == key)
        .collect();
    if named.len() > 1 {
        if let Some(scope) = scope {
            let names = pipeline_names(kfp).await?;
            name_recurring_runs(&mut named, &names);
            let mine: Vec<RecurringRun> = named
                .iter()
                .filter(|r| r.pipeline_name.as_deref().is_some_and(|p| scope.matches(p)))
                .cloned()
                .collect();
            if mine.len() == 1 {
                named = mine;
            }
        }
    }
    Ok(match named.len() {
        0 => Found::Nothing,
        1 => Found::One(named.remove(0)),
        _ => Found::Many(named),
    })
}

/// The runs of the scope's pipelines (every run with `scope` none), newest first, every page.
pub async fn list_runs(
    kfp: &Kfp,
    experiment_id: Option<&str>,
    scope: Option<&Scope>,
) -> Result<Vec<Run>, KfpError> {
    let (runs, names) = tokio::join!(kfp.list_runs(experiment_id), pipeline_names(kfp));
    let mut runs = runs?;
    name_runs(&mut runs, &names?);
    if let Some(scope) = scope {
        runs.retain(|r| pipeline_of(r).is_some_and(|p| scope.matches(p)));
    }
    sort_newest_first(&mut runs);
    Ok(runs)
}

/// Newest first (RFC 3339 UTC strings sort as times), then by id: a stable order.
pub fn sort_newest_first(runs: &mut [Run]) {
    runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
}

/// The scope's recurring runs (all with `scope` none), with pipeline names.
pub async fn list_recurring_runs(
    kfp: &Kfp,
    experiment_id: Option<&str>,
    scope: Option<&Scope>,
) -> Result<Vec<RecurringRun>, KfpError> {
    let (list, names) = tokio::join!(kfp.list_recurring_runs(experiment_id), pipeline_names(kfp));
    let mut list = list?;
    name_recurring_runs(&mut list, &names?);
    if let Some(scope) = scope {
        list.retain(|r| r.pipeline_name.as_deref().is_some_and(|p| scope.matches(p)));
    }
    list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(list)
}

/// Why a pod's log could not be read.
#[derive(Debug)]
pub enum LogError {
    /// Nothing serves `/k8s/pod/logs` at the endpoint (the API server alone, or a dashboard):
    /// only the Kubeflow Pipelines UI server has it.
    NoEndpoint,
    /// The UI server has neither the pod nor an archived log of it (its 404 `pod not found`).
    Gone,
    Other(KfpError),
}

/// The log of `pod`'s main container through the KFP UI server's pod-log endpoint
/// (kubeflow/pipelines frontend/server/handlers/pod-logs.ts): `GET <endpoint>/k8s/pod/logs
/// ?podname=P[&podnamespace=NS][&createdat=T]`, text; the server reads the live pod, else the
/// log Argo archived (found from the workflow status, or by `createdat` and its key format).
/// The namespace is sent when one is set (multi-user KFP requires it and checks access: 403);
/// without one the UI server looks in its own namespace, where single-user KFP runs pods.
pub async fn pod_log(kfp: &Kfp, pod: &str, created_at: Option<&str>) -> Result<String, LogError> {
    let call = Call::raw_get("/k8s/pod/logs", format!("reading the log of pod {pod}"))
        .query("podname", pod)
        .query_opt("podnamespace", kfp.namespace.as_deref())
        .query_opt("createdat", created_at);
    match kfp.client.call(call).await {
        Ok(Value::String(text)) => Ok(text),
        Ok(other) => Ok(other.to_string()),
        Err(KfpError::Rejected {
            status: 404,
            message,
            ..
        }) if message.trim() == "pod not found" => Err(LogError::Gone),
        Err(KfpError::Rejected { status: 404, .. }) | Err(KfpError::Html { .. }) => {
            Err(LogError::NoEndpoint)
        }
        Err(e) => Err(LogError::Other(e)),
    }
}

/// The last `n` lines of `text` (all of it when shorter).
pub fn tail(text: &str, n: usize) -> &str {
    let body = text.strip_suffix('\n').unwrap_or(text);
    match body.rmatch_indices('\n').nth(n.saturating_sub(1)) {
        Some((at, _)) if n > 0 => &text[at + 1..],
        _ if n == 0 => "",
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_matches_kfpx_pipeline_names() {
        let all = Scope {
            project: "demo".into(),
            env: "local".into(),
            pipeline: None,
        };
        assert!(all.matches("[demo] __default__ (env: local)"));
        assert!(all.matches("[demo] data_science (env: local)"));
        assert!(!all.matches("[demo] data_science (env: prod)"));
        assert!(!all.matches("[demo-2] data_science (env: local)"));
        let one = Scope {
            pipeline: Some("data_science".into()),
            ..all
        };
        assert!(one.matches("[demo] data_science (env: local)"));
        assert!(!one.matches("[demo] __default__ (env: local)"));
    }

    #[test]
    fn run_once_descriptions_name_the_pipeline() {
        assert_eq!(
            run_once_pipeline(
                "kfpx run-once of [p] x (env: local) (kfpx request 0123456789abcdef)"
            ),
            Some("[p] x (env: local)")
        );
        assert_eq!(run_once_pipeline("nightly"), None);
        assert_eq!(run_once_pipeline("kfpx run-once of x"), None);
    }

    #[test]
    fn tails_are_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a\nb\n", 5), "a\nb\n");
        assert_eq!(tail("a\nb\n", 0), "");
    }

    #[test]
    fn ids_are_uuids() {
        assert!(looks_like_id("00000040-0003-4000-8000-000000000003"));
        assert!(!looks_like_id("demo run"));
        assert!(!looks_like_id("00000040-0003-4000-8000"));
    }
}
