//! `kfpx runs …`: resolve the flags, call `kfp::operate`, print.

use serde::Serialize;

use crate::cli::{
    OutputArgs, OutputFormat, RunRefArgs, RunStateArg, RunsCommand, RunsListArgs, RunsLogsArgs,
    RunsSubmitArgs,
};
use crate::commands::present;
use crate::commands::remote::{self, Remote};
use crate::commands::run_once::{self, Start};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::kfp::api::RunAction;
use crate::kfp::models::{Run, RunSource, RunState};
use crate::kfp::{naming, operate};
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
        RunsCommand::Logs(args) => logs(ctx, &args),
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
        args.start.wait_for_completion,
        args.start.no_wait,
        args.start.timeout,
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
        let (overrides, mut all) = run_once::params_over(&parameters, &args.start.params.items())?;
        all.retain(|_, v| !v.is_null());
        let template = args.start.run_name.as_deref().unwrap_or(&rc.run_name);
        let run_name = naming::format_run_name(template, &all).map_err(Error::Message)?;
        let experiment_name = args
            .start
            .experiment_name
            .clone()
            .unwrap_or_else(|| rc.experiment_name.clone());
        let namespace = args
            .start
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

/// How often `runs logs --follow` reads the log again (the whole log each time: the endpoint
/// has no offset), so a new line shows within about a second of the pod writing it.
pub const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The error for a missing pod-log endpoint: what serves it, and the kubectl command instead.
pub(crate) fn no_log_endpoint(kfp: &crate::kfp::api::Kfp, pod: &str) -> Error {
    let ns = kfp.namespace.as_deref().unwrap_or("kubeflow");
    Error::Message(with_help(
        format!(
            "no pod-log endpoint at {}/k8s/pod/logs",
            kfp.client.shown_endpoint().as_str().trim_end_matches('/')
        ),
        "the Kubeflow Pipelines UI server serves it (it answers beside the API on full \
         Kubeflow, or on a port-forward of svc/ml-pipeline-ui); this endpoint looks like the \
         API server alone",
        &format!("read it with kubectl: kubectl logs -n {ns} {pod} -c main"),
    ))
}

fn logs(ctx: &Ctx, args: &RunsLogsArgs) -> Result<()> {
    let remote = Remote::open(ctx, &args.remote, false)?;
    let run = find(
        &remote,
        &RunRefArgs {
            run: args.run.clone(),
            remote: args.remote.clone(),
            output: OutputArgs::default(),
            experiment_name: args.experiment_name.clone(),
        },
    )?;
    let names = || {
        run.tasks
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tasks: Vec<&crate::kfp::models::Task> = match &args.task {
        Some(name) => {
            let found: Vec<_> = run.tasks.iter().filter(|t| &t.name == name).collect();
            if found.is_empty() {
                return Err(Error::Message(with_help(
                    format!("run {:?} has no task named {name:?}", run.name),
                    &format!("its tasks: {}", names()),
                    "",
                )));
            }
            found
        }
        None => {
            let failed: Vec<_> = run
                .tasks
                .iter()
                .filter(|t| t.state == RunState::Failed)
                .collect();
            if failed.is_empty() {
                return Err(Error::Message(with_help(
                    format!("run {:?} ({}) has no failed task", run.name, run.state),
                    &format!("its tasks: {}", names()),
                    &format!("name one: kfpx runs logs {} TASK", run.id),
                )));
            }
            failed
        }
    };
    let kfp = &remote.kfp;
    if args.follow {
        let task = tasks[0];
        let pod = task
            .pod_name
            .clone()
            .ok_or_else(|| Error::Message(format!("task {:?} has no pod yet", task.name)))?;
        return remote.block_on(follow(kfp, &run, &task.name, &pod, args.tail));
    }
    let many = tasks.len() > 1;
    for task in tasks {
        let Some(pod) = &task.pod_name else {
            output::warn(format!("task {:?} has no pod: no log", task.name));
            continue;
        };
        let text = remote.block_on(async {
            match operate::pod_log(kfp, pod, run.created_at.as_deref()).await {
                Ok(t) => Ok(t),
                Err(operate::LogError::NoEndpoint) => Err(no_log_endpoint(kfp, pod)),
                Err(operate::LogError::Gone) => Err(Error::Message(format!(
                    "the log of task {:?} (pod {pod}) is gone: the pod was deleted and no \
                     archived log was found",
                    task.name
                ))),
                Err(operate::LogError::Other(e)) => Err(e.into()),
            }
        })?;
        if many {
            output::print_stdout(&format!("==> {} ({pod}) <==", task.name))?;
        }
        let shown = match args.tail {
            Some(n) => operate::tail(&text, n),
            None => &text,
        };
        print_raw(shown)?;
    }
    Ok(())
}

/// Write a log as the pod wrote it (no newline added, nothing removed).
fn print_raw(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Message(format!("cannot write to stdout: {e}"))),
    }
}

/// Print the log, then what is new every [`FOLLOW_POLL`], until the task (or the run) has
/// ended, Ctrl-C, or [`crate::kfp::wait::MAX_TIMEOUT`].
async fn follow(
    kfp: &crate::kfp::api::Kfp,
    run: &Run,
    task: &str,
    pod: &str,
    tail: Option<usize>,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + crate::kfp::wait::MAX_TIMEOUT;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut shown = 0usize;
    let mut first = true;
    loop {
        // Is it over? Read the state before the log, so the last read has every line.
        let done = match kfp.get_run(&run.id).await {
            Ok(r) => {
                r.state.is_final()
                    || r.tasks
                        .iter()
                        .find(|t| t.name == task)
                        .is_some_and(|t| t.state.is_final())
            }
            Err(e) if e.is_transient() => false,
            Err(e) => return Err(e.into()),
        };
        let text = match operate::pod_log(kfp, pod, run.created_at.as_deref()).await {
            Ok(t) => t,
            Err(operate::LogError::NoEndpoint) => return Err(no_log_endpoint(kfp, pod)),
            // Not started yet, or between pod and archive: try again.
            Err(operate::LogError::Gone) if !done => String::new(),
            Err(operate::LogError::Gone) => return Ok(()),
            Err(operate::LogError::Other(e)) if e.is_transient() => String::new(),
            Err(operate::LogError::Other(e)) => return Err(e.into()),
        };
        if text.len() < shown || !text.is_char_boundary(shown) {
            // The log was replaced (a retried pod, or the archive): start over.
            shown = 0;
        }
        let new = &text[shown..];
        let new = match (first, tail) {
            (true, Some(n)) => operate::tail(new, n),
            _ => new,
        };
        if !new.is_empty() {
            print_raw(new)?;
            first = false;
        }
        shown = text.len();
        if done {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_POLL) => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(()),
            _ = &mut ctrl_c => return Ok(()),
        }
    }
}
