//! `kfpx run-local`: compile (or read `--file`), then run the document on this machine, one
//! process group per task; a line per task start and end, a spinner on a terminal, the failed
//! task's log tail, a final table (or `-o json`). Exit 0 / 3 (a task failed) / 130 (Ctrl-C).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::{RunLocalArgs, RunLocalOutput};
use crate::commands::{build, Ctx};
use crate::compile::params::typed_value;
use crate::error::{Error, Result};
use crate::graph::probe;
use crate::local::{self, Event, Observer, RunStatus, TaskStatus};
use crate::output;

/// Lines of a failed task's log shown on failure.
const LOG_TAIL: usize = 20;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn run(ctx: &Ctx, args: RunLocalArgs) -> Result<()> {
    if args.build.image.is_some() {
        return Err(Error::Usage(
            "--image does not apply to run-local: tasks run this machine's copy of the project with its interpreter, not an image".into(),
        ));
    }
    let project = ctx.project()?;
    let (text, params) = match &args.file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
            (text, file_params(&args.params.items())?)
        }
        None => {
            let prepared = build::prepare(ctx, &args.build, &args.params.items())?;
            (prepared.compiled.yaml, BTreeMap::new())
        }
    };
    let source = args.file.as_ref().map_or_else(
        || "the compiled pipeline".to_string(),
        |p| p.display().to_string(),
    );
    let (_format, plan) = local::load(&text, &params)
        .map_err(|e| Error::Message(format!("cannot run {source}: {e}")))?;
    for note in &plan.notes {
        output::warn(note);
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let missing = local::missing_secrets(&plan, &env);
    if let Some((task, var, secret)) = missing.first() {
        if !args.allow_missing_secrets {
            return Err(Error::Message(format!(
                "task `{task}` reads {var} from Kubernetes secret `{secret}`, and {var} is not set here\n  help: export {var}=… (a pod gets it from the secret), or pass --allow-missing-secrets to run without it"
            )));
        }
        let mut vars: Vec<&str> = missing.iter().map(|(_, v, _)| v.as_str()).collect();
        vars.sort_unstable();
        vars.dedup();
        output::warn(format!(
            "secret variables not set here, tasks run without them: {}",
            vars.join(", ")
        ));
    }
    let jobs = args.jobs.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let opts = local::Options {
        python: probe::resolve_python(&project, ctx.global.python.as_deref()),
        runs_dir: local::runs_dir(&project.root),
        project_root: project.root.clone(),
        jobs,
        keep: args.keep,
        keep_views: false,
        no_retry: args.no_retry,
        allow_missing_secrets: args.allow_missing_secrets,
        env,
    };
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
    let mut printer = Printer::new(plan.tasks.len());
    let summary = local::run(&plan, &opts, &mut printer, &INTERRUPTED)?;
    printer.finish();
    match args.output {
        RunLocalOutput::Json => output::print_json(&summary)?,
        RunLocalOutput::Table => {
            let mut t = output::table(&["Task", "Status", "Attempts", "Duration"]);
            for task in &summary.tasks {
                t.add_row(vec![
                    task.name.clone(),
                    task.status.as_str().to_string(),
                    task.attempts.to_string(),
                    format!("{:.1}s", task.duration_seconds),
                ]);
            }
            output::print_table(&t)?;
        }
    }
    for v in &summary.volumes_kept {
        output::status(format!("Volume kept: {}", v.display()));
    }
    let logs = summary.directory.join("logs");
    match summary.status {
        RunStatus::Succeeded => {
            output::status(format!(
                "Run {} succeeded; logs in {}",
                summary.run_name,
                logs.display()
            ));
            Ok(())
        }
        RunStatus::Interrupted => Err(Error::Interrupted(format!(
            "interrupted: every running task was stopped; logs in {}",
            logs.display()
        ))),
        RunStatus::Failed => {
            let failed: Vec<&local::TaskSummary> = summary
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Failed)
                .collect();
            for t in &failed {
                let tail = log_tail(&t.log, LOG_TAIL);
                if !tail.is_empty() {
                    output::status(format!("--- last lines of {} ---", t.log.display()));
                    output::status(tail.trim_end());
                }
            }
            let first = failed[0];
            Err(Error::RunFailed(format!(
                "task `{}` failed ({}); log: {}",
                first.name,
                first.error.as_deref().unwrap_or("failed"),
                first.log.display()
            )))
        }
    }
}

/// `--param` for a document read from a file: names are checked against the document.
fn file_params(raw: &[String]) -> Result<BTreeMap<String, serde_json::Value>> {
    let mut out = BTreeMap::new();
    for item in raw {
        let (key, value) = super::params::split(item)?;
        out.insert(key.to_string(), typed_value(value));
    }
    Ok(out)
}

fn log_tail(path: &std::path::Path, n: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One line per task start and end on stderr; a spinner naming the running tasks on a
/// terminal.
struct Printer {
    total: usize,
    done: usize,
    running: Vec<String>,
    spinner: Option<output::Progress>,
}

impl Printer {
    fn new(total: usize) -> Printer {
        let spinner = output::settings()
            .spinner
            .then(|| output::Progress::start("starting"));
        Printer {
            total,
            done: 0,
            running: Vec::new(),
            spinner,
        }
    }

    fn refresh(&self) {
        if let Some(s) = &self.spinner {
            s.set_message(format!(
                "{}/{} tasks done; running: {}",
                self.done,
                self.total,
                self.running.join(", ")
            ));
        }
    }

    fn finish(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish(None);
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl Observer for Printer {
    fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Started { task, attempt } => {
                self.running.push(task.to_string());
                if attempt > 1 {
                    output::status(format!("start  {task} (attempt {attempt})"));
                } else {
                    output::status(format!("start  {task}"));
                }
            }
            Event::Finished {
                task,
                status,
                elapsed,
                retry_in,
                detail,
                ..
            } => {
                self.running.retain(|t| t != task);
                let line = match (status, retry_in) {
                    (TaskStatus::Failed, Some(d)) => {
                        format!(
                            "failed {task} in {} ({detail}); retrying in {}",
                            secs(elapsed),
                            secs(d)
                        )
                    }
                    (TaskStatus::Failed, None) => {
                        self.done += 1;
                        format!("FAILED {task} in {} ({detail})", secs(elapsed))
                    }
                    (TaskStatus::Interrupted, _) => {
                        self.done += 1;
                        format!("killed {task} after {}", secs(elapsed))
                    }
                    _ => {
                        self.done += 1;
                        format!("done   {task} in {}", secs(elapsed))
                    }
                };
                output::status(line);
            }
            Event::Skipped { task } => {
                self.done += 1;
                output::status(format!("skip   {task} (an upstream task failed)"));
            }
        }
        self.refresh();
    }
}
