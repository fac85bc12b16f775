//! The protocols of the deploying commands, which fill the options and print the outcome:
//! * [`ensure_uploaded`] (`upload-pipeline`, `schedule`): find the pipeline by name; create it,
//!   or add a version named after the content; when a version of that name exists, create
//!   nothing.
//! * [`replace_schedule`] (`schedule`): upload, then replace the experiment's recurring runs
//!   of the same name: the new one is created first, the old ones deleted after, so a failure
//!   never leaves the pipeline unscheduled.

use serde::Serialize;

use crate::kfp::api::Kfp;
use crate::kfp::models::{Experiment, NewRecurringRun, Pipeline, RecurringRun, Version};
use crate::kfp::KfpError;

/// What to upload.
#[derive(Debug, Clone)]
pub struct Upload<'a> {
    pub pipeline_name: &'a str,
    pub version_name: &'a str,
    pub description: Option<&'a str>,
    pub document: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new pipeline with this version.
    CreatedPipeline,
    /// A new version of an existing pipeline.
    CreatedVersion,
    /// A version with this name (so this content) was already there.
    AlreadyUploaded,
}

#[derive(Debug, Clone)]
pub struct Uploaded {
    pub pipeline: Pipeline,
    pub version: Version,
    pub outcome: Outcome,
}

pub async fn ensure_uploaded(kfp: &Kfp, up: &Upload<'_>) -> Result<Uploaded, KfpError> {
    let (pipeline, created) = match kfp.find_pipeline(up.pipeline_name).await? {
        Some(p) => (p, false),
        None => match kfp
            .upload_pipeline(up.pipeline_name, up.description, up.document)
            .await
        {
            Ok(p) => (p, true),
            // The name is taken: someone created it between our look and our upload, or its
            // display name differs from its name (KFP 2.14+).
            Err(e) if e.status() == Some(409) => {
                let found = match kfp.find_pipeline(up.pipeline_name).await? {
                    Some(p) => Some(p),
                    None => kfp.pipeline_by_name(up.pipeline_name).await?,
                };
                match found {
                    Some(p) => (p, false),
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        },
    };
    if !created {
        if let Some(version) = kfp.find_version(&pipeline.id, up.version_name).await? {
            return Ok(Uploaded {
                pipeline,
                version,
                outcome: Outcome::AlreadyUploaded,
            });
        }
    }
    // The server names a new pipeline's first version after the pipeline; our content-named
    // version goes on top, so that the next upload of the same content finds it.
    let version = kfp
        .upload_version(&pipeline.id, up.version_name, up.description, up.document)
        .await?;
    Ok(Uploaded {
        pipeline,
        version,
        outcome: if created {
            Outcome::CreatedPipeline
        } else {
            Outcome::CreatedVersion
        },
    })
}

/// A schedule to put in place of the experiment's recurring runs named `run.run.name`.
#[derive(Debug, Clone)]
pub struct Schedule<'a> {
    pub upload: Upload<'a>,
    pub experiment_name: &'a str,
    /// Namespace of the experiment (multi-user KFP).
    pub namespace: Option<&'a str>,
    /// The recurring run; its source is filled with the uploaded version.
    pub run: NewRecurringRun<'a>,
}

/// What [`replace_schedule`] did.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub uploaded: Uploaded,
    pub experiment: Experiment,
    pub created: RecurringRun,
    /// Ids of the recurring runs it replaced (deleted).
    pub replaced: Vec<String>,
}

/// A step of [`replace_schedule`] as it happens, for the command to show.
#[derive(Debug)]
pub enum ScheduleStep<'a> {
    Uploaded(&'a Uploaded),
    DeletedPrevious(&'a str),
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Kfp(#[from] KfpError),
    /// The new schedule exists; an old one of the same name is still there.
    #[error(
        "the new schedule {new} is in place, but deleting the previous one {old} failed: \
         {source}; delete it with `kfpx schedules delete {old}` or in the KFP UI"
    )]
    PreviousNotDeleted {
        new: String,
        old: String,
        source: KfpError,
    },
}

/// Upload (or find) the version, get or create the experiment, create the new recurring run,
/// then delete the previous ones of the same name.
pub async fn replace_schedule(
    kfp: &Kfp,
    s: &Schedule<'_>,
    on_step: &mut dyn FnMut(ScheduleStep<'_>),
) -> Result<Scheduled, ScheduleError> {
    use crate::kfp::models::RunSource;

    let uploaded = ensure_uploaded(kfp, &s.upload).await?;
    on_step(ScheduleStep::Uploaded(&uploaded));
    let (experiment, _) = kfp
        .ensure_experiment(s.experiment_name, s.namespace)
        .await?;
    let old = kfp
        .recurring_runs_named(&experiment.id, s.run.run.name)
        .await?;
    let replaced: Vec<String> = old.into_iter().map(|r| r.id).collect();
    let mut run = s.run.clone();
    run.run.experiment_id = &experiment.id;
    run.run.source = RunSource::Version {
        pipeline_id: &uploaded.pipeline.id,
        version_id: &uploaded.version.id,
    };
    let created = kfp.create_recurring_run(&run, &replaced).await?;
    for id in &replaced {
        kfp.delete_recurring_run(id)
            .await
            .map_err(|source| ScheduleError::PreviousNotDeleted {
                new: created.id.clone(),
                old: id.clone(),
                source,
            })?;
        on_step(ScheduleStep::DeletedPrevious(id));
    }
    Ok(Scheduled {
        uploaded,
        experiment,
        created,
        replaced,
    })
}
