//! `kfpx schedule`: validate the cron as KFP reads it and the schedule's settings, then
//! `kfp::deploy::replace_schedule` (upload or find the version, create the new recurring run,
//! delete the previous ones of the same name), and print the outcome.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::cli::ScheduleArgs;
use crate::commands::build::{self, Prepared};
use crate::commands::present;
use crate::commands::start::run_params;
use crate::commands::{server, Ctx};
use crate::config::Timestamp;
use crate::error::{Error, Result};
use crate::kfp::cronexpr::CronExpr;
use crate::kfp::deploy::{self, Outcome, Schedule, ScheduleError, ScheduleStep, Scheduled, Upload};
use crate::kfp::models::{NewRecurringRun, NewRun, RunSource};
use crate::kfp::{naming, session};
use crate::output;

/// KFP's bounds on `max_concurrency`.
const MAX_CONCURRENCY: u32 = 10;

#[derive(Debug, Serialize)]
struct ScheduleReport<'a> {
    recurring_run_id: &'a str,
    name: &'a str,
    cron: &'a str,
    enabled: bool,
    experiment_id: &'a str,
    pipeline_id: &'a str,
    version_id: &'a str,
    version_name: &'a str,
    replaced: Vec<String>,
    next_runs: Vec<String>,
    url: String,
}

/// A time from the flag, else the config (both parsed when read: clap refuses a bad flag, the
/// config loader a bad value at its place).
fn schedule_time(flag: Option<&Timestamp>, config: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    flag.or(config).map(|t| t.utc)
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn run(ctx: &Ctx, args: ScheduleArgs) -> Result<()> {
    // Everything that can be checked offline is checked before compiling and connecting.
    parse_cron(&args.cron_expression)?;
    let params = args.params.items();
    let prepared = build::prepare(ctx, &args.build, &params)?;
    server::or_other_api(
        schedule_prepared(&args, &prepared),
        &prepared.sources,
        |v| {
            let prepared = build::prepare(ctx, &build::with_version(&args.build, v), &params)?;
            schedule_prepared(&args, &prepared)
        },
    )
}

fn parse_cron(raw: &str) -> Result<CronExpr> {
    CronExpr::parse(raw).map_err(|e| Error::Usage(format!("invalid --cron-expression: {e}")))
}

/// What the flags and `run_config.schedule` ask for, checked (flags win over the config).
struct Settings {
    cron: CronExpr,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    max_concurrency: u32,
    no_catchup: bool,
    enabled: bool,
    /// The recurring run's name, placeholders filled.
    name: String,
    experiment_name: String,
    overrides: std::collections::BTreeMap<String, serde_json::Value>,
}

fn settings(args: &ScheduleArgs, prepared: &Prepared) -> Result<Settings> {
    let cron = parse_cron(&args.cron_expression)?;
    let rc = &prepared.config.run_config;
    let sched = &rc.schedule;
    let start = schedule_time(args.start_time.as_ref(), sched.start_time.as_ref());
    let end = schedule_time(args.end_time.as_ref(), sched.end_time.as_ref());
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(Error::Usage(format!(
                "the schedule ends ({}) before it starts ({})",
                rfc3339(&e),
                rfc3339(&s)
            )));
        }
    }
    let max_concurrency = args.max_concurrency.unwrap_or(sched.max_concurrency);
    if !(1..=MAX_CONCURRENCY).contains(&max_concurrency) {
        return Err(Error::Usage(format!(
            "max concurrency {max_concurrency} is out of KFP's range 1..{MAX_CONCURRENCY} \
             (--max-concurrency or run_config.schedule.max_concurrency)"
        )));
    }
    let (overrides, all_params) = run_params(&prepared.compiled, &args.params.items())?;
    let name =
        naming::format_run_name(rc.scheduled_run_name(), &all_params).map_err(Error::Message)?;
    Ok(Settings {
        cron,
        start,
        end,
        max_concurrency,
        no_catchup: args.no_catchup || sched.no_catchup,
        enabled: sched.enabled,
        name,
        experiment_name: args
            .experiment_name
            .clone()
            .unwrap_or_else(|| rc.experiment_name.clone()),
        overrides,
    })
}

/// Everything after compiling (tests call it with a hand-built `Prepared`).
pub fn schedule_prepared(args: &ScheduleArgs, prepared: &Prepared) -> Result<()> {
    let set = settings(args, prepared)?;
    let rc = &prepared.config.run_config;
    let (pipeline_name, version_name) = prepared.upload_names();
    let description = rc
        .description
        .clone()
        .unwrap_or_else(|| format!("kfpx schedule of {pipeline_name}"));

    let result = session::runtime()?.block_on(async {
        let kfp = server::connect(
            &args.server,
            Some(&prepared.config),
            prepared.compiled.kfp_version,
            &prepared.sources,
        )
        .await?;
        let namespace = args
            .experiment_namespace
            .clone()
            .or_else(|| kfp.namespace.clone());
        let (start_s, end_s) = (
            set.start.as_ref().map(rfc3339),
            set.end.as_ref().map(rfc3339),
        );
        let schedule = Schedule {
            upload: Upload {
                pipeline_name: &pipeline_name,
                version_name: &version_name,
                description: rc.description.as_deref(),
                document: prepared.compiled.yaml.as_bytes(),
            },
            experiment_name: &set.experiment_name,
            namespace: namespace.as_deref(),
            run: NewRecurringRun {
                run: NewRun {
                    name: &set.name,
                    description: Some(&description),
                    // Both filled by replace_schedule.
                    experiment_id: "",
                    source: RunSource::Version {
                        pipeline_id: "",
                        version_id: "",
                    },
                    parameters: &set.overrides,
                    service_account: rc.service_account.as_deref(),
                },
                cron: &set.cron,
                max_concurrency: set.max_concurrency,
                no_catchup: set.no_catchup,
                start_time: start_s.as_deref(),
                end_time: end_s.as_deref(),
                enabled: set.enabled,
            },
        };
        let done = deploy::replace_schedule(&kfp, &schedule, &mut show_step)
            .await
            .map_err(|e| match e {
                ScheduleError::Kfp(e) => Error::from(e),
                e @ ScheduleError::PreviousNotDeleted { .. } => Error::Message(e.to_string()),
            })?;
        let url = kfp.recurring_run_link(&done.created.id);
        report(args, &set, &done, url)
    });
    result.map_err(|e| server::explain(e, &args.server, &prepared.sources))
}

fn show_step(step: ScheduleStep) {
    match step {
        ScheduleStep::Uploaded(up) => output::status(match up.outcome {
            Outcome::AlreadyUploaded => format!(
                "using version {} of pipeline {:?} (already uploaded)",
                up.version.name, up.pipeline.name
            ),
            _ => format!(
                "uploaded version {} of pipeline {:?}",
                up.version.name, up.pipeline.name
            ),
        }),
        ScheduleStep::DeletedPrevious(id) => {
            output::status(format!("deleted the previous schedule {id}"))
        }
    }
}

/// The new schedule, as `--output` asks: its ids, the next three runs and its link.
fn report(args: &ScheduleArgs, set: &Settings, done: &Scheduled, url: String) -> Result<()> {
    let (up, experiment, created) = (&done.uploaded, &done.experiment, &done.created);
    let after = set.start.map_or_else(Utc::now, |s| s.max(Utc::now()));
    let next: Vec<String> = set
        .cron
        .next_times(after, set.end, 3)
        .iter()
        .map(rfc3339)
        .collect();
    let report = ScheduleReport {
        recurring_run_id: &created.id,
        name: &set.name,
        cron: set.cron.as_str(),
        enabled: set.enabled,
        experiment_id: &experiment.id,
        pipeline_id: &up.pipeline.id,
        version_id: &up.version.id,
        version_name: &up.version.name,
        replaced: done.replaced.clone(),
        next_runs: next.clone(),
        url: url.clone(),
    };
    if present::machine(args.output.output, &report)? {
        return Ok(());
    }
    output::print_stdout(&present::fields(&[
        ("schedule", set.name.clone()),
        ("schedule id", created.id.clone()),
        ("cron (UTC)", set.cron.as_str().to_string()),
        (
            "state",
            if set.enabled { "enabled" } else { "disabled" }.to_string(),
        ),
        (
            "experiment",
            format!("{} ({})", experiment.name, experiment.id),
        ),
        (
            "pipeline",
            format!("{} ({})", up.pipeline.name, up.pipeline.id),
        ),
        (
            "version",
            format!("{} ({})", up.version.name, up.version.id),
        ),
        (
            "next runs",
            if next.is_empty() {
                "none (the schedule has ended)".into()
            } else {
                next.join(", ")
            },
        ),
        ("link", url),
    ]))?;
    Ok(())
}
