//! `kfpx run-once`: compile, get or create the experiment, start one run with the compiled
//! document inline, and optionally wait for it (exit 3 if it fails, 4 on timeout, 130 on
//! Ctrl-C, which leaves the run running).

use crate::cli::RunOnceArgs;
use crate::commands::build::{self, Prepared};
use crate::commands::start::{request_description, run_params, start, wait_choice, Start};
use crate::commands::{server, Ctx};
use crate::error::{Error, Result};
use crate::kfp::models::RunSource;
use crate::kfp::{naming, session};

pub fn run(ctx: &Ctx, args: RunOnceArgs) -> Result<()> {
    if let Some(file) = &args.file {
        // The file's format fixes the API version: nothing to switch to.
        return run_prepared(&args, &build::prepare_file(ctx, &args.build, file)?);
    }
    let params = args.start.params.items();
    let prepared = build::prepare(ctx, &args.build, &params)?;
    server::or_other_api(run_prepared(&args, &prepared), &prepared.sources, |v| {
        let prepared = build::prepare(ctx, &build::with_version(&args.build, v), &params)?;
        run_prepared(&args, &prepared)
    })
}

/// Everything after compiling (tests call it with a hand-built `Prepared`).
pub fn run_prepared(args: &RunOnceArgs, prepared: &Prepared) -> Result<()> {
    let rc = &prepared.config.run_config;
    let wait = wait_choice(
        args.start.wait_for_completion,
        args.start.no_wait,
        args.start.timeout,
        rc.wait_for_completion,
    )?;
    let (overrides, all_params) = run_params(&prepared.compiled, &args.start.params.items())?;
    let template = args.start.run_name.as_deref().unwrap_or(&rc.run_name);
    let run_name = naming::format_run_name(template, &all_params).map_err(Error::Message)?;
    let experiment_name = args
        .start
        .experiment_name
        .clone()
        .unwrap_or_else(|| rc.experiment_name.clone());
    let description = request_description(&format!(
        "kfpx run-once of {}",
        naming::pipeline_name(
            &prepared.project.name,
            &prepared.pipeline,
            &prepared.project.env
        )
    ));
    let compiled = &prepared.compiled;

    let result = session::runtime()?.block_on(async {
        let kfp = server::connect(
            &args.server,
            Some(&prepared.config),
            compiled.kfp_version,
            &prepared.sources,
        )
        .await?;
        let namespace = args
            .start
            .experiment_namespace
            .clone()
            .or_else(|| kfp.namespace.clone());
        start(
            &kfp,
            &Start {
                run_name: &run_name,
                experiment_name: &experiment_name,
                namespace: namespace.as_deref(),
                description: &description,
                source: RunSource::Inline {
                    pipeline_spec: &compiled.pipeline_spec,
                    platform_spec: compiled.platform_spec.as_ref(),
                },
                overrides: &overrides,
                service_account: rc.service_account.as_deref(),
                wait,
                output: args.output.output,
            },
        )
        .await
    });
    result.map_err(|e| server::explain(e, &args.server, &prepared.sources))
}
