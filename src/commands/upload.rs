//! `kfpx upload-pipeline`: compile, then upload as pipeline `[<project>] <pipeline> (env:
//! <env>)` or as a new version of it, named after the content (same content → nothing new).

use serde::Serialize;

use crate::cli::UploadArgs;
use crate::commands::build::{self, Prepared};
use crate::commands::present;
use crate::commands::{server, Ctx};
use crate::error::Result;
use crate::kfp::deploy::{self, Outcome, Upload, Uploaded};
use crate::kfp::{naming, session};
use crate::output;

#[derive(Debug, Serialize)]
struct UploadReport<'a> {
    outcome: Outcome,
    pipeline_id: &'a str,
    pipeline_name: &'a str,
    version_id: &'a str,
    version_name: &'a str,
    url: String,
}

pub fn run(ctx: &Ctx, args: UploadArgs) -> Result<()> {
    if let Some(file) = &args.file {
        // The file's format fixes the API version: nothing to switch to.
        return upload_prepared(&args, &build::prepare_file(ctx, &args.build, file)?);
    }
    let prepared = build::prepare(ctx, &args.build, &[])?;
    server::or_other_api(upload_prepared(&args, &prepared), &prepared.sources, |v| {
        let prepared = build::prepare(ctx, &build::with_version(&args.build, v), &[])?;
        upload_prepared(&args, &prepared)
    })
}

/// The names a compiled pipeline is uploaded under: kedro-kubeflow's pipeline name
/// (`[<project>] <pipeline> (env: <env>)`) and the content-addressed version name. `schedule`
/// uses the same pair, so it finds the version `upload-pipeline` made instead of adding another.
pub(crate) fn upload_names(prepared: &Prepared) -> (String, String) {
    let project = &prepared.project;
    let pipeline_name = naming::pipeline_name(&project.name, &prepared.pipeline, &project.env);
    let commit = session::commit_id(&project.root, &session::ServerEnv::from_process());
    let version_name = naming::version_name(
        &project.name,
        &naming::content_hash(prepared.compiled.yaml.as_bytes()),
        commit.as_deref(),
    );
    (pipeline_name, version_name)
}

/// Everything after compiling (tests call it with a hand-built `Prepared`).
pub fn upload_prepared(args: &UploadArgs, prepared: &Prepared) -> Result<()> {
    let document = prepared.compiled.yaml.as_bytes();
    let (pipeline_name, version_name) = upload_names(prepared);
    let description = prepared.config.run_config.description.as_deref();

    let result = session::runtime()?.block_on(async {
        let kfp = server::connect(
            &args.server,
            Some(&prepared.config),
            prepared.compiled.kfp_version,
            &prepared.sources,
        )
        .await?;
        let up: Uploaded = deploy::ensure_uploaded(
            &kfp,
            &Upload {
                pipeline_name: &pipeline_name,
                version_name: &version_name,
                description,
                document,
            },
        )
        .await?;
        let url = kfp.pipeline_link(&up.pipeline.id, &up.version.id);
        output::status(outcome_line(&up));
        let report = UploadReport {
            outcome: up.outcome,
            pipeline_id: &up.pipeline.id,
            pipeline_name: &up.pipeline.name,
            version_id: &up.version.id,
            version_name: &up.version.name,
            url: url.clone(),
        };
        if !present::machine(args.output.output, &report)? {
            output::print_stdout(&present::fields(&[
                ("pipeline", up.pipeline.name.clone()),
                ("pipeline id", up.pipeline.id.clone()),
                ("version", up.version.name.clone()),
                ("version id", up.version.id.clone()),
                ("link", url),
            ]))?;
        }
        Ok(())
    });
    result.map_err(|e| server::explain(e, &args.server, &prepared.sources))
}

fn outcome_line(up: &Uploaded) -> String {
    match up.outcome {
        Outcome::CreatedPipeline => format!(
            "created pipeline {:?} with version {}",
            up.pipeline.name, up.version.name
        ),
        Outcome::CreatedVersion => format!(
            "added version {} to pipeline {:?}",
            up.version.name, up.pipeline.name
        ),
        Outcome::AlreadyUploaded => format!(
            "already uploaded: version {} of pipeline {:?} has this content; nothing created",
            up.version.name, up.pipeline.name
        ),
    }
}
