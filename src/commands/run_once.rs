//! `kfpx run-once`: compile, get or create the experiment, start one run with the compiled
//! document inline, and optionally wait for it (exit 3 if it fails, 4 on timeout, 130 on
//! Ctrl-C, which leaves the run running).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::cli::{OutputFormat, RunOnceArgs};
use crate::commands::build::{self, Prepared};
use crate::commands::present;
use crate::commands::{server, Ctx};
use crate::compile::Compiled;
use crate::error::{Error, Result};
use crate::kfp::api::Kfp;
use crate::kfp::models::{NewRun, Run, RunSource, RunState};
use crate::kfp::wait::{self, WaitEnd, WaitProgress};
use crate::kfp::{naming, session};
use crate::output;

type Params = BTreeMap<String, serde_json::Value>;

/// Seconds `--wait-for-completion` waits without `--timeout` (kedro-kubeflow's 24 h).
pub const DEFAULT_TIMEOUT: u64 = 86_400;

/// The `--param` overrides (checked against the pipeline's parameters) and every parameter's
/// value after them (defaults + overrides), which run names are formatted with.
pub(crate) fn run_params(compiled: &Compiled, raw: &[String]) -> Result<(Params, Params)> {
    params_over(&compiled.parameters, raw)
}

/// [`run_params`] for a pipeline's parameters and their defaults (`null`: no default).
pub(crate) fn params_over(
    parameters: &[(String, serde_json::Value)],
    raw: &[String],
) -> Result<(Params, Params)> {
    let known: Vec<String> = parameters.iter().map(|(k, _)| k.clone()).collect();
    let defaults: serde_json::Map<String, serde_json::Value> = parameters.iter().cloned().collect();
    let overrides = super::params::resolve(raw, &defaults, &known)?;
    let mut all: Params = parameters.iter().cloned().collect();
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

/// Whether to wait for the run: `--wait-for-completion` / `--no-wait` / the config; and the
/// `--timeout` checked (`run-once`, `runs submit`). `Some(seconds)` to wait.
pub(crate) fn wait_choice(
    wait_flag: bool,
    no_wait: bool,
    timeout: Option<u64>,
    config_wait: bool,
) -> Result<Option<u64>> {
    if let Some(secs) = timeout {
        if secs == 0 || secs > wait::MAX_TIMEOUT.as_secs() {
            return Err(Error::Usage(format!(
                "--timeout must be between 1 and {} seconds ({})",
                wait::MAX_TIMEOUT.as_secs(),
                wait::human_duration(wait::MAX_TIMEOUT)
            )));
        }
    }
    let wait = !no_wait && (wait_flag || config_wait);
    if let (Some(secs), false) = (timeout, wait) {
        output::warn(if no_wait {
            format!("--timeout {secs} has no effect with --no-wait: kfpx does not wait for the run")
        } else {
            format!(
                "--timeout {secs} has no effect without waiting: add --wait-for-completion \
                 (or set run_config.wait_for_completion: true) to wait up to {secs} s"
            )
        });
    }
    Ok(wait.then_some(timeout.unwrap_or(DEFAULT_TIMEOUT)))
}

/// One run to start (`run-once`: the compiled document inline; `runs submit`: an uploaded
/// version).
pub(crate) struct Start<'a> {
    pub run_name: &'a str,
    pub experiment_name: &'a str,
    /// Namespace of the experiment (multi-user KFP).
    pub namespace: Option<&'a str>,
    /// Unique to this invocation ([`request_description`]).
    pub description: &'a str,
    pub source: RunSource<'a>,
    pub overrides: &'a Params,
    pub service_account: Option<&'a str>,
    /// Wait up to this many seconds for the run to end.
    pub wait: Option<u64>,
    pub output: OutputFormat,
}

/// Get or create the experiment, start the run, print it, and wait when asked: exit 3 when it
/// ends without success, 4 on timeout, 130 on Ctrl-C (the run keeps running).
pub(crate) async fn start(kfp: &Kfp, s: &Start<'_>) -> Result<()> {
    let (experiment, created) = kfp
        .ensure_experiment(s.experiment_name, s.namespace)
        .await?;
    output::status(format!(
        "{} experiment {:?} ({})",
        if created { "created" } else { "using" },
        experiment.name,
        experiment.id
    ));
    let run = kfp
        .create_run(&NewRun {
            name: s.run_name,
            description: Some(s.description),
            experiment_id: &experiment.id,
            source: s.source.clone(),
            parameters: s.overrides,
            service_account: s.service_account,
        })
        .await?;
    let url = kfp.run_link(&run.id);
    // Some servers leave the name out of the answer.
    let shown_name = if run.name.is_empty() {
        s.run_name.to_string()
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
    let human = matches!(s.output, OutputFormat::Table | OutputFormat::Wide);
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
    let Some(timeout_secs) = s.wait else {
        if !human {
            present::machine(s.output, &report(&run))?;
        }
        return Ok(());
    };

    let run_name = s.run_name;
    let timeout = Duration::from_secs(timeout_secs);
    let started = std::time::Instant::now();
    let progress = output::Progress::start(format!("run {run_name:?}: waiting"));
    let waited = wait::wait_for_run(kfp, &run.id, timeout, &mut |seen| {
        progress.set_message(match seen {
            WaitProgress::State(state) => format!("run {run_name:?}: {state}"),
            WaitProgress::Unanswered(last, why) => {
                format!("run {run_name:?}: {last} (the server did not answer: {why})")
            }
        })
    })
    .await;
    let elapsed = wait::human_duration(started.elapsed());
    progress.finish(
        match &waited {
            Ok(WaitEnd::Finished(run)) => {
                Some(format!("run {run_name:?} {} after {elapsed}", run.state))
            }
            Ok(WaitEnd::TimedOut(state)) => {
                Some(format!("run {run_name:?} still {state} after {elapsed}"))
            }
            Ok(WaitEnd::Interrupted(state)) => {
                Some(format!("run {run_name:?} {state} after {elapsed}"))
            }
            Err(_) => None,
        }
        .as_deref(),
    );
    let waited = waited.map_err(|e| {
        Error::Message(format!(
            "stopped waiting for run {run_name:?}: {e}; the run keeps running on the \
             server: follow it at {url}"
        ))
    })?;
    match waited {
        WaitEnd::Finished(done) => {
            if !human {
                present::machine(s.output, &report(&done))?;
            }
            if done.state == RunState::Succeeded {
                Ok(())
            } else {
                show_failed_logs(kfp, &done).await;
                Err(Error::RunFailed(failure_message(&done, &url)))
            }
        }
        WaitEnd::TimedOut(state) => Err(Error::Timeout(format!(
            "run {run_name:?} is still {state} after {} (--timeout {}); it keeps running \
             on the server: follow it at {url}",
            wait::human_duration(timeout),
            timeout_secs
        ))),
        WaitEnd::Interrupted(state) => Err(Error::Interrupted(format!(
            "Stopped waiting (Ctrl-C). Run {run_name:?} ({state}) keeps running on the \
             server: follow it at {url}"
        ))),
    }
}

/// Lines of each failed task's log shown when a waited-for run fails.
pub const FAILED_LOG_LINES: usize = 20;

/// The tail of each failed task's log on stderr, when the UI server's pod-log endpoint
/// answers (`-v` says where each came from, or why it could not be read).
async fn show_failed_logs(kfp: &Kfp, run: &Run) {
    use crate::kfp::operate;
    for task in run.tasks.iter().filter(|t| t.state == RunState::Failed) {
        let Some(pod) = &task.pod_name else { continue };
        match operate::pod_log(kfp, pod, run.created_at.as_deref()).await {
            Ok(text) if !text.trim().is_empty() => {
                tracing::info!(
                    "log of task {:?}: {}/k8s/pod/logs?podname={pod}",
                    task.name,
                    kfp.client.shown_endpoint().as_str().trim_end_matches('/')
                );
                output::status(format!(
                    "last {FAILED_LOG_LINES} lines of the log of task {:?} (pod {pod}):\n{}",
                    task.name,
                    operate::tail(&text, FAILED_LOG_LINES).trim_end()
                ));
            }
            Ok(_) => tracing::info!("the log of task {:?} is empty", task.name),
            Err(e) => tracing::info!(
                "no log for task {:?} (pod {pod}): {}",
                task.name,
                match e {
                    operate::LogError::NoEndpoint => "no /k8s/pod/logs at the endpoint (the \
                        KFP UI server serves it)"
                        .to_string(),
                    operate::LogError::Gone => "the pod and its archived log are gone".into(),
                    operate::LogError::Other(e) => e.to_string(),
                }
            ),
        }
    }
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
