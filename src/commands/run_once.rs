//! `kfpx run-once`: compile, get or create the experiment, start one run with the compiled
//! document inline, and optionally wait for it (exit 3 if it fails, 4 on timeout, 130 on
//! Ctrl-C, which leaves the run running).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::cli::RunOnceArgs;
use crate::commands::build::{self, Prepared};
use crate::commands::Ctx;
use crate::compile::{params, Compiled};
use crate::error::{Error, Result};
use crate::kfp::models::{NewRun, Run, RunSource, RunState};
use crate::kfp::wait::{self, WaitEnd};
use crate::kfp::{naming, present, session};
use crate::output;

type Params = BTreeMap<String, serde_json::Value>;

/// The `--param` overrides (checked against the pipeline's parameters) and every parameter's
/// value after them (defaults + overrides), which run names are formatted with.
pub(crate) fn run_params(compiled: &Compiled, raw: &[String]) -> Result<(Params, Params)> {
    let known: Vec<String> = compiled.parameters.iter().map(|(k, _)| k.clone()).collect();
    let overrides = if raw.is_empty() {
        Params::new()
    } else {
        params::parse_params(raw, &known)?
    };
    let mut all: Params = compiled.parameters.iter().cloned().collect();
    all.extend(overrides.clone());
    Ok((overrides, all))
}

/// A description unique to this invocation, so that a run whose creation answer was lost can
/// be recognised instead of being created twice.
pub(crate) fn request_description(what: &str) -> String {
    format!("{what} (kfpx request {:016x})", rand::random::<u64>())
}

#[derive(Debug, Serialize)]
struct RunReport<'a> {
    run_id: &'a str,
    run_name: &'a str,
    experiment_id: &'a str,
    experiment_name: &'a str,
    state: RunState,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failed_tasks: Vec<String>,
    url: &'a str,
}

pub fn run(ctx: &Ctx, args: RunOnceArgs) -> Result<()> {
    let prepared = build::prepare(ctx, &args.build, &args.params)?;
    run_prepared(&args, &prepared)
}

/// Everything after compiling (tests call it with a hand-built `Prepared`).
pub fn run_prepared(args: &RunOnceArgs, prepared: &Prepared) -> Result<()> {
    if args.timeout == 0 || args.timeout > wait::MAX_TIMEOUT.as_secs() {
        return Err(Error::Usage(format!(
            "--timeout must be between 1 and {} seconds ({})",
            wait::MAX_TIMEOUT.as_secs(),
            wait::human_duration(wait::MAX_TIMEOUT)
        )));
    }
    let rc = &prepared.config.run_config;
    let (overrides, all_params) = run_params(&prepared.compiled, &args.params)?;
    let template = args.run_name.as_deref().unwrap_or(&rc.run_name);
    let run_name = naming::format_run_name(template, &all_params).map_err(Error::Message)?;
    let experiment_name = args
        .experiment_name
        .clone()
        .unwrap_or_else(|| rc.experiment_name.clone());
    let wait = args.wait_for_completion || rc.wait_for_completion;
    let description = request_description(&format!(
        "kfpx run-once of {}",
        naming::pipeline_name(
            &prepared.project.name,
            &prepared.pipeline,
            &prepared.project.env
        )
    ));
    let compiled = &prepared.compiled;

    session::runtime()?.block_on(async {
        let kfp =
            session::connect(&args.server, Some(&prepared.config), compiled.kfp_version).await?;
        let namespace = args
            .experiment_namespace
            .clone()
            .or_else(|| kfp.namespace.clone());
        let (experiment, created) = kfp
            .ensure_experiment(&experiment_name, namespace.as_deref())
            .await?;
        output::status(format!(
            "{} experiment {:?} ({})",
            if created { "created" } else { "using" },
            experiment.name,
            experiment.id
        ));
        let run = kfp
            .create_run(&NewRun {
                name: &run_name,
                description: Some(&description),
                experiment_id: &experiment.id,
                source: RunSource::Inline {
                    pipeline_spec: &compiled.pipeline_spec,
                    platform_spec: compiled.platform_spec.as_ref(),
                },
                parameters: &overrides,
                service_account: rc.service_account.as_deref(),
            })
            .await?;
        let url = kfp.run_link(&run.id);
        // Some servers leave the name out of the answer.
        let shown_name = if run.name.is_empty() {
            run_name.clone()
        } else {
            run.name.clone()
        };
        let report = |r: &Run| RunReport {
            run_id: &run.id,
            run_name: &shown_name,
            experiment_id: &experiment.id,
            experiment_name: &experiment.name,
            state: r.state,
            failed_tasks: r.failed_tasks.clone(),
            url: &url,
        };
        let human = matches!(args.output, crate::cli::OutputFormat::Table);
        if human {
            output::print_stdout(&present::fields(&[
                ("run", shown_name.clone()),
                ("run id", run.id.clone()),
                (
                    "experiment",
                    format!("{} ({})", experiment.name, experiment.id),
                ),
                ("link", url.clone()),
            ]))?;
        }
        if !wait {
            if !human {
                present::machine(args.output, &report(&run))?;
            }
            return Ok(());
        }

        let timeout = Duration::from_secs(args.timeout);
        let waited = wait::wait_for_run(&kfp, &run.id, &run_name, timeout)
            .await
            .map_err(|e| {
                Error::Message(format!(
                    "stopped waiting for run {run_name:?}: {e}; the run keeps running on the \
                     server: follow it at {url}"
                ))
            })?;
        match waited {
            WaitEnd::Finished(done) => {
                if !human {
                    present::machine(args.output, &report(&done))?;
                }
                if done.state == RunState::Succeeded {
                    Ok(())
                } else {
                    Err(Error::RunFailed(failure_message(&done, &url)))
                }
            }
            WaitEnd::TimedOut(state) => Err(Error::Timeout(format!(
                "run {run_name:?} is still {state} after {} (--timeout {}); it keeps running \
                 on the server: follow it at {url}",
                wait::human_duration(timeout),
                args.timeout
            ))),
            WaitEnd::Interrupted(state) => Err(Error::Interrupted(format!(
                "stopped waiting; run {run_name:?} ({state}) keeps running on the server: \
                 follow it at {url}"
            ))),
        }
    })
}

fn failure_message(run: &Run, url: &str) -> String {
    let mut msg = format!("run {:?} finished {}", run.name, run.state);
    if !run.failed_tasks.is_empty() {
        msg.push_str(&format!("; failed tasks: {}", run.failed_tasks.join(", ")));
    }
    if let Some(e) = &run.error {
        msg.push_str(&format!(
            "; error: {}",
            crate::kfp::client::one_line(e, 300)
        ));
    }
    msg.push_str(&format!("; details: {url}"));
    msg
}
