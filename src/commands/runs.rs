//! `kfpx runs …`: resolve the flags, call `kfp::operate`, print.

use serde::Serialize;

use crate::cli::{
    OutputFormat, RunRefArgs, RunStateArg, RunsCommand, RunsListArgs, RunsSubmitArgs,
};
use crate::commands::remote::{self, Remote};
use crate::commands::run_once::{self, Start};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::kfp::api::RunAction;
use crate::kfp::models::{Run, RunSource, RunState};
use crate::kfp::{naming, operate, present};
use crate::output;
use crate::output::with_help;

pub fn run(ctx: &Ctx, cmd: RunsCommand) -> Result<()> {
    match cmd {
        RunsCommand::List(args) => list(ctx, &args),
        RunsCommand::Get(args) => get(ctx, &args),
        RunsCommand::Cancel(args) => act(ctx, &args, RunAction::Terminate),
        RunsCommand::Retry(args) => act(ctx, &args, RunAction::Retry),
        RunsCommand::Archive(args) => act(ctx, &args, RunAction::Archive),
        RunsCommand::Submit(args) => submit(ctx, &args),
    }
}

fn state_of(arg: RunStateArg) -> RunState {
    match arg {
        RunStateArg::Pending => RunState::Pending,
        RunStateArg::Running => RunState::Running,
        RunStateArg::Succeeded => RunState::Succeeded,
        RunStateArg::Skipped => RunState::Skipped,
        RunStateArg::Failed => RunState::Failed,
        RunStateArg::Canceling => RunState::Canceling,
        RunStateArg::Canceled => RunState::Canceled,
        RunStateArg::Paused => RunState::Paused,
    }
}

fn list(ctx: &Ctx, args: &RunsListArgs) -> Result<()> {
    let remote = Remote::open(ctx, &args.remote, !args.all)?;
    let scope = if args.all {
        None
    } else {
        remote.scope(args.pipeline.as_deref())
    };
    let mut runs = remote.block_on(async {
        let experiment = remote
            .experiment_id(args.experiment_name.as_deref())
            .await?;
        Ok(operate::list_runs(&remote.kfp, experiment.as_deref(), scope.as_ref()).await?)
    })?;
    runs.retain(|r| args.archived || !r.archived);
    if let Some(state) = args.state {
        runs.retain(|r| r.state == state_of(state));
    }
    if let Some(n) = args.limit {
        runs.truncate(n as usize);
    }
    if present::machine(args.output.output, &runs)? {
        return Ok(());
    }
    if runs.is_empty() {
        let whose = match &scope {
            Some(s) => format!(" of {}", s.describe()),
            None => String::new(),
        };
        output::status(format!(
            "no runs{whose}{} on {}",
            remote::in_namespace(remote.kfp.namespace.as_deref()),
            remote.kfp.client.shown_endpoint()
        ));
        return Ok(());
    }
    let wide = args.output.output == OutputFormat::Wide;
    print_table(&run_table(&runs, wide, chrono::Utc::now()), wide)
}

/// `1m05s` between two RFC 3339 times (the end: now, while running).
fn duration(start: Option<&str>, end: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> String {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let Some(start) = start.and_then(parse) else {
        return String::new();
    };
    let end = end.and_then(parse).map(|e| e.with_timezone(&chrono::Utc));
    let secs = (end.unwrap_or(now) - start.with_timezone(&chrono::Utc)).num_seconds();
    if secs < 0 {
        return String::new();
    }
    crate::kfp::wait::human_duration(std::time::Duration::from_secs(secs as u64))
}

/// Name, state, age, duration, pipeline, failed tasks (`-o wide`: ids and times, never cut).
pub fn run_table(runs: &[Run], wide: bool, now: chrono::DateTime<chrono::Utc>) -> output::FitTable {
    let mut table = if wide {
        output::FitTable::new(&[
            "Name",
            "ID",
            "State",
            "Created at",
            "Duration",
            "Pipeline",
            "Version ID",
            "Experiment ID",
            "Failed tasks",
        ])
    } else {
        output::FitTable::new(&[
            "Name",
            "State",
            "Created",
            "Duration",
            "Pipeline",
            "Failed tasks",
        ])
        .shrink(&[0, 4, 5])
    };
    for r in runs {
        let created = r.created_at.clone().unwrap_or_default();
        let took = duration(r.created_at.as_deref(), r.finished_at.as_deref(), now);
        let pipeline = operate::pipeline_of(r).unwrap_or_default().to_string();
        let failed = r.failed_tasks.join(", ");
        table.add_row(if wide {
            vec![
                r.name.clone(),
                r.id.clone(),
                r.state.to_string(),
                created,
                took,
                pipeline,
                r.version_id.clone().unwrap_or_default(),
                r.experiment_id.clone().unwrap_or_default(),
                failed,
            ]
        } else {
            let age = if created.is_empty() {
                String::new()
            } else {
                output::age_of(&created, now)
            };
            vec![
                r.name.clone(),
                r.state.to_string(),
                age,
                took,
                pipeline,
                failed,
            ]
        });
    }
    table
}

fn print_table(table: &output::FitTable, wide: bool) -> Result<()> {
    if wide {
        output::print_stdout(&table.render(None, output::color_stdout()))
    } else {
        table.print()
    }
}

/// Find RUN (id or unique name) on a connected server.
fn find(remote: &Remote, args: &RunRefArgs) -> Result<Run> {
    let scope = remote.scope(None);
    let found = remote.block_on(async {
        let experiment = remote
            .experiment_id(args.experiment_name.as_deref())
            .await?;
        Ok(operate::find_run(
            &remote.kfp,
            &args.run,
            experiment.as_deref(),
            scope.as_ref(),
        )
        .await?)
    })?;
    remote::one(
        found,
        "run",
        &args.run,
        remote.kfp.namespace.as_deref(),
        |r| {
            format!(
                "{}  {}  created {}",
                r.id,
                r.state,
                r.created_at.as_deref().unwrap_or("?")
            )
        },
        "kfpx runs list --all",
    )
}

fn get(ctx: &Ctx, args: &RunRefArgs) -> Result<()> {
    let remote = Remote::open(ctx, &args.remote, false)?;
    let mut run = find(&remote, args)?;
    if run.pipeline_name.is_none() && run.pipeline_id.is_some() {
        let names = remote.block_on(async { Ok(operate::pipeline_names(&remote.kfp).await?) })?;
        operate::name_runs(std::slice::from_mut(&mut run), &names);
    }
    let url = remote.kfp.run_link(&run.id);
    #[derive(Serialize)]
    struct Shown<'a> {
        #[serde(flatten)]
        run: &'a Run,
        url: &'a str,
    }
    if present::machine(
        args.output.output,
        &Shown {
            run: &run,
            url: &url,
        },
    )? {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let mut fields = vec![
        ("run", run.name.clone()),
        ("id", run.id.clone()),
        ("state", run.state.to_string()),
    ];
    if let Some(c) = &run.created_at {
        fields.push(("created", c.clone()));
    }
    if let Some(f) = &run.finished_at {
        fields.push(("finished", f.clone()));
    }
    let took = duration(run.created_at.as_deref(), run.finished_at.as_deref(), now);
    if !took.is_empty() {
        fields.push(("duration", took));
    }
    if let Some(p) = operate::pipeline_of(&run) {
        fields.push(("pipeline", p.to_string()));
    }
    if let Some(v) = &run.version_id {
        fields.push(("version id", v.clone()));
    }
    if let Some(e) = &run.experiment_id {
        fields.push(("experiment id", e.clone()));
    }
    if let Some(e) = &run.error {
        fields.push(("error", crate::kfp::client::one_line(e, 300)));
    }
    if run.archived {
        fields.push(("archived", "yes".into()));
    }
    fields.push(("link", url.clone()));
    let mut text = present::fields(&fields);
    if !run.parameters.is_empty() {
        text.push_str("\n\nParameters:\n");
        for (k, v) in &run.parameters {
            text.push_str(&format!(
                "  {k} = {}\n",
                crate::kfp::models::param_string(v)
            ));
        }
    }
    if !run.tasks.is_empty() {
        let mut t = output::FitTable::new(&["Task", "State", "Duration", "Pod"]).shrink(&[0, 3]);
        for task in &run.tasks {
            t.add_row(vec![
                task.name.clone(),
                task.state.to_string(),
                duration(task.started_at.as_deref(), task.finished_at.as_deref(), now),
                task.pod_name.clone().unwrap_or_default(),
            ]);
        }
        text.push_str(if run.parameters.is_empty() {
            "\n\n"
        } else {
            "\n"
        });
        text.push_str(&t.render(output::table_width(), output::color_stdout()));
    }
    output::print_stdout(&text)
}

#[derive(Debug, Serialize)]
struct ActionReport<'a> {
    run_id: &'a str,
    run_name: &'a str,
    action: &'a str,
    url: String,
}

fn act(ctx: &Ctx, args: &RunRefArgs, action: RunAction) -> Result<()> {
    let remote = Remote::open(ctx, &args.remote, false)?;
    let run = find(&remote, args)?;
    let (verb, done) = match action {
        RunAction::Terminate => ("cancel", "stop requested"),
        RunAction::Retry => ("retry", "retry requested"),
        RunAction::Archive => ("archive", "archived"),
    };
    if action == RunAction::Terminate && run.state.is_final() {
        return Err(Error::Message(format!(
            "run {:?} ({}) already finished {}: nothing to cancel",
            run.name, run.id, run.state
        )));
    }
    remote.block_on(async { Ok(remote.kfp.run_action(&run.id, action).await?) })?;
    let url = remote.kfp.run_link(&run.id);
    let report = ActionReport {
        run_id: &run.id,
        run_name: &run.name,
        action: verb,
        url: url.clone(),
    };
    if present::machine(args.output.output, &report)? {
        return Ok(());
    }
    output::print_stdout(&format!("run {:?} ({}): {done}\n{url}", run.name, run.id))
}

/// `runs submit`: the project's uploaded pipeline (kfpx's naming rule), its latest version or
/// `--version`, its parameters from the server; then the same start/wait/report as `run-once`.
fn submit(ctx: &Ctx, args: &RunsSubmitArgs) -> Result<()> {
    let remote = Remote::open(ctx, &args.remote, true)?;
    let (Some(project), Some(config)) = (&remote.project, &remote.config) else {
        return Err(Error::Message(
            "kfpx runs submit needs the Kedro project (its pipeline names): run it in the \
             project or pass -C DIR"
                .into(),
        ));
    };
    let rc = &config.run_config;
    let wait = run_once::wait_choice(
        args.wait_for_completion,
        args.no_wait,
        args.timeout,
        rc.wait_for_completion,
    )?;
    let pipeline_name = naming::pipeline_name(&project.name, &args.pipeline, &project.env);
    let kfp = &remote.kfp;
    remote.block_on(async {
        let Some(pipeline) = kfp.find_pipeline(&pipeline_name).await? else {
            return Err(Error::Message(with_help(
                format!(
                    "pipeline {pipeline_name:?} is not on {}",
                    kfp.client.shown_endpoint()
                ),
                "",
                &format!(
                    "upload it first: kfpx -e {} upload-pipeline -p {}",
                    project.env, args.pipeline
                ),
            )));
        };
        let version = match &args.version {
            Some(name) => kfp.find_version(&pipeline.id, name).await?.ok_or_else(|| {
                Error::Message(with_help(
                    format!("pipeline {pipeline_name:?} has no version named {name:?}"),
                    "",
                    "kfpx list-pipelines -o wide shows the latest version of each pipeline",
                ))
            })?,
            None => kfp.latest_version(&pipeline.id).await?.ok_or_else(|| {
                Error::Message(format!("pipeline {pipeline_name:?} has no version"))
            })?,
        };
        let parameters = kfp.version_parameters(&pipeline.id, &version.id).await?;
        let (overrides, mut all) = run_once::params_over(&parameters, &args.params.items())?;
        all.retain(|_, v| !v.is_null());
        let template = args.run_name.as_deref().unwrap_or(&rc.run_name);
        let run_name = naming::format_run_name(template, &all).map_err(Error::Message)?;
        let experiment_name = args
            .experiment_name
            .clone()
            .unwrap_or_else(|| rc.experiment_name.clone());
        let namespace = args
            .experiment_namespace
            .clone()
            .or_else(|| kfp.namespace.clone());
        output::status(format!(
            "running version {:?} of {:?}",
            version.name, pipeline.name
        ));
        let description =
            run_once::request_description(&format!("kfpx runs submit of {pipeline_name}"));
        run_once::start(
            kfp,
            &Start {
                run_name: &run_name,
                experiment_name: &experiment_name,
                namespace: namespace.as_deref(),
                description: &description,
                source: RunSource::Version {
                    pipeline_id: &pipeline.id,
                    version_id: &version.id,
                },
                overrides: &overrides,
                service_account: rc.service_account.as_deref(),
                wait,
                output: args.output.output,
            },
        )
        .await
    })
}
