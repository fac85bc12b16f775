//! Getting a compiled document onto the server idempotently (shared by `upload-pipeline` and
//! `schedule`): find the pipeline by name; create it, or add a version named after the
//! content; when a version of that name exists, create nothing.

use serde::Serialize;

use crate::kfp::api::Kfp;
use crate::kfp::models::{Pipeline, Version};
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
