//! `kfpx schedules …`: this project's recurring runs (the pipelines `kfpx schedule` names);
//! resolve the flags, call `kfp::operate`, print.

use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::cli::{OutputFormat, ScheduleRefArgs, SchedulesCommand, SchedulesListArgs};
use crate::commands::present;
use crate::commands::remote::{self, Remote};
use crate::commands::Ctx;
use crate::error::Result;
use crate::kfp::cronexpr::CronExpr;
use crate::kfp::models::RecurringRun;
use crate::kfp::operate;
use crate::output;

pub fn run(ctx: &Ctx, cmd: SchedulesCommand) -> Result<()> {
    match cmd {
        SchedulesCommand::List(args) => list(ctx, &args),
        SchedulesCommand::Disable(args) => act(ctx, &args, Action::Disable),
        SchedulesCommand::Enable(args) => act(ctx, &args, Action::Enable),
        SchedulesCommand::Delete(args) => act(ctx, &args, Action::Delete),
    }
}

/// The next fire time of an enabled cron schedule after `now` (KFP's cron dialect).
fn next_run(r: &RecurringRun, now: chrono::DateTime<Utc>) -> Option<String> {
    if !r.enabled {
        return None;
    }
    let cron = CronExpr::parse(r.cron.as_deref()?).ok()?;
    cron.next_times(now, None, 1)
        .first()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// `0 0 4 * * *`, or `every 1h00m00s` for a periodic trigger.
fn trigger_text(r: &RecurringRun) -> String {
    match (&r.cron, r.interval_seconds) {
        (Some(c), _) => c.clone(),
        (None, Some(s)) => format!(
            "every {}",
            crate::kfp::wait::human_duration(std::time::Duration::from_secs(s))
        ),
        (None, None) => String::new(),
    }
}

fn list(ctx: &Ctx, args: &SchedulesListArgs) -> Result<()> {
    let remote = Remote::open(ctx, &args.remote, !args.all)?;
    let scope = if args.all {
        None
    } else {
        remote.scope(args.pipeline.as_deref())
    };
    let mut all = remote.block_on(async {
        let experiment = remote
            .experiment_id(args.experiment_name.as_deref())
            .await?;
        Ok(
            operate::list_recurring_runs(&remote.kfp, experiment.as_deref(), scope.as_ref())
                .await?,
        )
    })?;
    let now = Utc::now();
    for r in &mut all {
        r.next_run_at = next_run(r, now);
    }
    if present::machine(args.output.output, &all)? {
        return Ok(());
    }
    if all.is_empty() {
        let whose = match &scope {
            Some(s) => format!(" of {}", s.describe()),
            None => String::new(),
        };
        output::status(format!(
            "no recurring runs{whose}{} on {}",
            remote::in_namespace(remote.kfp.namespace.as_deref()),
            remote.kfp.client.shown_endpoint()
        ));
        return Ok(());
    }
    let wide = args.output.output == OutputFormat::Wide;
    let mut table = if wide {
        output::FitTable::new(&[
            "Name",
            "ID",
            "Enabled",
            "Schedule",
            "Next run",
            "Pipeline",
            "Version ID",
            "Experiment ID",
        ])
    } else {
        output::FitTable::new(&["Name", "Enabled", "Schedule", "Next run", "Pipeline"])
            .shrink(&[0, 4])
    };
    for r in &all {
        let enabled = if r.enabled { "yes" } else { "no" }.to_string();
        let next = r.next_run_at.clone().unwrap_or_default();
        let pipeline = r.pipeline_name.clone().unwrap_or_default();
        table.add_row(if wide {
            vec![
                r.name.clone(),
                r.id.clone(),
                enabled,
                trigger_text(r),
                next,
                pipeline,
                r.version_id.clone().unwrap_or_default(),
                r.experiment_id.clone().unwrap_or_default(),
            ]
        } else {
            vec![r.name.clone(), enabled, trigger_text(r), next, pipeline]
        });
    }
    if wide {
        output::print_stdout(&table.render(None, output::color_stdout()))
    } else {
        table.print()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Disable,
    Enable,
    Delete,
}

#[derive(Debug, Serialize)]
struct ActionReport<'a> {
    recurring_run_id: &'a str,
    name: &'a str,
    action: &'a str,
}

fn act(ctx: &Ctx, args: &ScheduleRefArgs, action: Action) -> Result<()> {
    let remote = Remote::open(ctx, &args.remote, false)?;
    let scope = remote.scope(None);
    let found = remote.block_on(async {
        Ok(operate::find_recurring_run(&remote.kfp, &args.schedule, scope.as_ref()).await?)
    })?;
    let r = remote::one(
        found,
        "recurring run",
        &args.schedule,
        remote.kfp.namespace.as_deref(),
        |r| {
            format!(
                "{}  {}  {}",
                r.id,
                trigger_text(r),
                r.pipeline_name.as_deref().unwrap_or("")
            )
        },
        "kfpx schedules list --all",
    )?;
    let (verb, done) = match action {
        Action::Disable => ("disable", "disabled"),
        Action::Enable => ("enable", "enabled"),
        Action::Delete => ("delete", "deleted"),
    };
    remote.block_on(async {
        match action {
            Action::Disable => remote.kfp.set_recurring_run_enabled(&r.id, false).await?,
            Action::Enable => remote.kfp.set_recurring_run_enabled(&r.id, true).await?,
            Action::Delete => remote.kfp.delete_recurring_run(&r.id).await?,
        }
        Ok(())
    })?;
    let report = ActionReport {
        recurring_run_id: &r.id,
        name: &r.name,
        action: verb,
    };
    if present::machine(args.output.output, &report)? {
        return Ok(());
    }
    output::print_stdout(&format!("recurring run {:?} ({}): {done}", r.name, r.id))
}
