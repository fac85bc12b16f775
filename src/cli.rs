//! Command-line definitions (clap derive). Only declarations live here: help texts, defaults,
//! env fallbacks. Each subcommand's behaviour is in `src/commands/<name>.rs`.
//!
//! Conventions for a new subcommand:
//! * a result printed for people or programs takes `#[command(flatten)] output: OutputArgs`
//!   (`-o/--output table|wide|json|yaml`; print with `commands::present::machine`); a file written
//!   is `-f/--file` or a positional, never `-o`;
//! * pipeline parameters take `#[command(flatten)] params: ParamArgs` (`--param`, `--params`;
//!   `ParamArgs::items()` into `commands::build::prepare`);
//! * server commands flatten `ServerArgs` and connect with `commands::server::connect`, then
//!   map their error through `commands::server::explain`;
//! * give it `#[command(after_help = examples::NAME)]` with 2 to 4 example lines (a test runs
//!   each through the parser); [`command`] hides the global options from its help and adds
//!   [`HELP_FOOTER`] by itself.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `-i`: an image reference cannot hold whitespace or control characters (as
/// run_config.image; distribution/reference's grammar).
fn image_reference(s: &str) -> Result<String, String> {
    match s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        Some(c) => Err(format!(
            "the image `{}` holds {c:?}, which no image reference can contain",
            s.escape_debug()
        )),
        None if s.is_empty() => Err("the image is empty".into()),
        None => Ok(s.to_string()),
    }
}

/// kfpx: take Kedro projects to Kubeflow Pipelines.
///
/// Reads `conf/base/kubeflow.yaml` (with `conf/<env>/kubeflow.yaml` on top), gets the project's
/// node graph from Kedro (cached) or a snapshot file, groups nodes into pods, compiles KFP v2 IR
/// (or Argo Workflow YAML for KFP v1) offline, and drives the KFP REST API.
#[derive(Debug, Parser)]
#[command(name = "kfpx", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = concat!(
        "Examples:\n",
        "  kfpx init https://kubeflow.example.com/pipeline\n",
        "  kfpx graph -p data_science\n",
        "  kfpx compile -p data_science\n",
        "  kfpx --host https://kubeflow.example.com/pipeline run-once --wait-for-completion\n\n",
        "Exit codes: 0 success, 1 error, 2 usage error, 3 run finished without success, \
4 waiting timed out, 130 interrupted (Ctrl-C) while waiting: the run keeps running.\n",
        "Docs: https://crates.io/crates/kfpx (the README: config reference, env vars, \
coming from kedro-kubeflow)."
    )
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any subcommand.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Kedro configuration environment (conf/<ENV>) laid over conf/base.
    #[arg(
        short = 'e',
        long = "env",
        env = "KEDRO_ENV",
        default_value = "local",
        global = true
    )]
    pub env: String,

    /// Kedro project directory [default: nearest ancestor with a pyproject.toml holding
    /// [tool.kedro], else one with conf/].
    #[arg(short = 'C', long = "project-dir", value_name = "DIR", global = true)]
    pub project_dir: Option<PathBuf>,

    /// More output on stderr (-v: steps and HTTP requests, -vv: debug). Secrets are redacted.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short = 'q', long = "quiet", global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to use colour on stderr and in tables.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Python interpreter of the Kedro project, used to probe its node graph
    /// [default: $KFPX_PYTHON, $VIRTUAL_ENV/bin/python, <project>/.venv/bin/python, python3].
    #[arg(long, value_name = "PATH", global = true)]
    pub python: Option<PathBuf>,

    /// Read the node graph from this snapshot file instead of probing the Kedro project
    /// (see `kfpx graph -o snapshot`).
    #[arg(long, value_name = "FILE", global = true, env = "KFPX_SNAPSHOT")]
    pub snapshot: Option<PathBuf>,

    /// Ignore the cached graph snapshot under <project>/.kfpx/ and probe the project again.
    #[arg(long, global = true)]
    pub refresh: bool,

    /// How the probe imports the pipeline code: lite stands in for third-party packages (and
    /// falls back to full by itself), full imports everything for real
    /// [default: $KFPX_PROBE_MODE, run_config.probe_mode, else lite].
    #[arg(long, value_enum, value_name = "MODE", global = true)]
    pub probe_mode: Option<ProbeModeArg>,
}

/// `--probe-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbeModeArg {
    /// Third-party packages imported by the pipeline code are stand-ins (the default)
    Lite,
    /// Everything is imported for real
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write conf/base/kubeflow.yaml (and optionally GitHub Actions workflows) for this project.
    #[command(after_help = examples::INIT)]
    Init(InitArgs),
    /// Translate a Kedro pipeline into a KFP pipeline file (v2 IR or v1 Argo Workflow), offline.
    #[command(after_help = examples::COMPILE)]
    Compile(CompileArgs),
    /// Compile and upload a pipeline to KFP, as a new pipeline or a new version of it.
    #[command(after_help = examples::UPLOAD_PIPELINE)]
    UploadPipeline(UploadArgs),
    /// Compile and start one run of a pipeline in an experiment, optionally waiting for it.
    #[command(after_help = examples::RUN_ONCE)]
    RunOnce(RunOnceArgs),
    /// Upload (or find) the pipeline and replace its recurring run with a cron schedule.
    #[command(after_help = examples::SCHEDULE)]
    Schedule(ScheduleArgs),
    /// List the pipelines deployed on the KFP server.
    #[command(after_help = examples::LIST_PIPELINES)]
    ListPipelines(ListPipelinesArgs),
    /// Run the compiled pipeline on this machine, one process per pod (no cluster, no Docker).
    ///
    /// Each task runs its container command from the compiled document in a view of the project
    /// as the image holds it (/home/kedro), with the project's interpreter first on PATH. A data
    /// volume is a fresh directory under .kfpx/runs/<run>/, initialised from data/ as on the
    /// cluster. Exit codes: 0 succeeded, 3 a task failed (named), 130 interrupted (Ctrl-C stops
    /// every task).
    #[command(after_help = examples::RUN_LOCAL)]
    RunLocal(RunLocalArgs),
    /// Open the Kubeflow Pipelines UI in a browser.
    #[command(after_help = examples::UI)]
    Ui(UiArgs),
    /// Show a pipeline's tasks after grouping: nodes, dependencies, datasets between tasks.
    #[command(after_help = examples::GRAPH)]
    Graph(GraphArgs),
    /// Print the effective configuration (base + env overlay, placeholders substituted).
    #[command(after_help = examples::CONFIG)]
    Config(ConfigArgs),
    /// Print a shell completion script.
    #[command(after_help = examples::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Log in with a user account (Google IAP) and store the login for later commands.
    #[command(subcommand, after_help = examples::LOGIN)]
    Login(LoginCommand),
    /// Remove a stored login.
    #[command(subcommand, after_help = examples::LOGOUT)]
    Logout(LogoutCommand),
    /// Runs on the server: list, inspect, task logs, stop, retry, archive, start an uploaded one.
    #[command(subcommand, after_help = examples::RUNS)]
    Runs(RunsCommand),
    /// This project's recurring runs: list, disable, enable, delete.
    #[command(subcommand, after_help = examples::SCHEDULES)]
    Schedules(SchedulesCommand),
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List the runs of this project's pipelines (every run with --all), newest first.
    #[command(after_help = examples::RUNS_LIST)]
    List(RunsListArgs),
    /// Show one run: state, tasks with their state and duration, parameters, link.
    #[command(after_help = examples::RUNS_GET)]
    Get(RunRefArgs),
    /// Stop a run (KFP's terminate).
    #[command(after_help = examples::RUNS_CANCEL)]
    Cancel(RunRefArgs),
    /// Retry a failed or stopped run (its failed tasks run again).
    #[command(after_help = examples::RUNS_RETRY)]
    Retry(RunRefArgs),
    /// Archive a run (hidden from the default lists; kept on the server).
    #[command(after_help = examples::RUNS_ARCHIVE)]
    Archive(RunRefArgs),
    /// Print the log of a run's task (without TASK: of its failed tasks), through the KFP UI
    /// server's pod-log endpoint.
    #[command(after_help = examples::RUNS_LOGS)]
    Logs(RunsLogsArgs),
    /// Start a run of this project's pipeline as already uploaded (no compiling, no Python).
    #[command(after_help = examples::RUNS_SUBMIT, disable_version_flag = true)]
    Submit(RunsSubmitArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RunsLogsArgs {
    /// The run: its id, or its name (unique in the namespace, else the candidates are listed).
    #[arg(value_name = "RUN")]
    pub run: String,

    /// The task whose log to print [default: every failed task].
    #[arg(value_name = "TASK")]
    pub task: Option<String>,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Only the last N lines of each log.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,

    /// Keep printing new lines until the task ends (polls every second; needs TASK).
    #[arg(short = 'f', long, requires = "task")]
    pub follow: bool,

    /// Look the run's name up only in this experiment.
    #[arg(short = 'x', long = "experiment-name")]
    pub experiment_name: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RunsSubmitArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Kedro pipeline whose uploaded pipeline to run (`[<project>] <pipeline> (env: <env>)`).
    #[arg(short = 'p', long = "pipeline", default_value = "__default__")]
    pub pipeline: String,

    /// Name of the uploaded version to run [default: the latest].
    #[arg(long = "version", value_name = "NAME")]
    pub version: Option<String>,

    #[command(flatten)]
    pub start: RunStartArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of every `runs`/`schedules` command: where the server is and its API version.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    #[command(flatten)]
    pub server: ServerArgs,

    /// KFP API version to use [default: run_config.kfp_version, else 2].
    #[arg(long = "kfp-version", value_enum, value_name = "VERSION")]
    pub kfp_version: Option<KfpVersionArg>,
}

#[derive(Debug, Clone, Args)]
pub struct RunsListArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Every run you can see, not only this project's.
    #[arg(long, conflicts_with = "pipeline")]
    pub all: bool,

    /// Only the runs of this Kedro pipeline (of this project and env).
    #[arg(short = 'p', long = "pipeline")]
    pub pipeline: Option<String>,

    /// Only the runs in this experiment.
    #[arg(short = 'x', long = "experiment-name")]
    pub experiment_name: Option<String>,

    /// Only runs in this state.
    #[arg(long, value_enum, value_name = "STATE")]
    pub state: Option<RunStateArg>,

    /// Include archived runs.
    #[arg(long)]
    pub archived: bool,

    /// Show at most N runs (the newest).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunStateArg {
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Canceling,
    Canceled,
    Paused,
}

#[derive(Debug, Clone, Args)]
pub struct RunRefArgs {
    /// The run: its id, or its name (unique in the namespace, else the candidates are listed).
    #[arg(value_name = "RUN")]
    pub run: String,

    #[command(flatten)]
    pub remote: RemoteArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Look the name up only in this experiment.
    #[arg(short = 'x', long = "experiment-name")]
    pub experiment_name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// List this project's recurring runs (every one with --all): cron, next run, enabled.
    #[command(after_help = examples::SCHEDULES_LIST)]
    List(SchedulesListArgs),
    /// Pause a recurring run (it starts no runs until enabled).
    #[command(after_help = examples::SCHEDULES_DISABLE)]
    Disable(ScheduleRefArgs),
    /// Resume a paused recurring run.
    #[command(after_help = examples::SCHEDULES_ENABLE)]
    Enable(ScheduleRefArgs),
    /// Delete a recurring run (its past runs stay).
    #[command(after_help = examples::SCHEDULES_DELETE)]
    Delete(ScheduleRefArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SchedulesListArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Every recurring run you can see, not only this project's.
    #[arg(long, conflicts_with = "pipeline")]
    pub all: bool,

    /// Only the recurring runs of this Kedro pipeline (of this project and env).
    #[arg(short = 'p', long = "pipeline")]
    pub pipeline: Option<String>,

    /// Only the recurring runs in this experiment.
    #[arg(short = 'x', long = "experiment-name")]
    pub experiment_name: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ScheduleRefArgs {
    /// The recurring run: its id, or its name (unique, else the candidates are listed).
    #[arg(value_name = "NAME|ID")]
    pub schedule: String,

    #[command(flatten)]
    pub remote: RemoteArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum LoginCommand {
    /// Google IAP with your own Google account (OAuth desktop client, browser consent).
    #[command(after_help = examples::LOGIN)]
    Google(GoogleLoginArgs),
}

#[derive(Debug, Args)]
pub struct GoogleLoginArgs {
    /// OAuth client id of the IAP-protected backend [env: IAP_CLIENT_ID].
    #[arg(long, env = "IAP_CLIENT_ID", value_name = "ID")]
    pub iap_client_id: String,
    /// OAuth client id of a "Desktop app" client (the kfp SDK's --other-client-id).
    #[arg(long, value_name = "ID")]
    pub oauth_client_id: String,
    /// That client's secret (the kfp SDK's --other-client-secret).
    #[arg(
        long,
        env = "KFPX_OAUTH_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub oauth_client_secret: String,
    /// Print the URL only; do not try to open a browser (remote shells).
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Subcommand)]
pub enum LogoutCommand {
    /// Remove the stored Google IAP login (one IAP client id, or all).
    #[command(after_help = examples::LOGOUT)]
    Google(GoogleLogoutArgs),
}

#[derive(Debug, Args)]
pub struct GoogleLogoutArgs {
    /// The IAP client id whose login to remove [default: every stored login].
    #[arg(long, value_name = "ID")]
    pub iap_client_id: Option<String>,
}

/// The `Examples:` block of each command's `--help` (2 to 4 command lines each; a test checks
/// that every subcommand has one). [`command`] appends the global-options footer after it.
pub mod examples {
    pub const INIT: &str = "Examples:
  kfpx init https://kubeflow.example.com/pipeline
  kfpx init http://localhost:8080 --with-github-actions
  kfpx -C path/to/project init https://kubeflow.example.com/pipeline --force";
    pub const COMPILE: &str = "Examples:
  kfpx compile                                  # __default__ -> pipeline.yml (KFP v2 IR)
  kfpx compile -p data_science -f ds.yaml
  kfpx compile --kfp-version 1 -f - | less      # Argo Workflow on stdout
  kfpx compile --param data_science.model_options.test_size=0.3";
    pub const UPLOAD_PIPELINE: &str = "Examples:
  kfpx upload-pipeline
  kfpx upload-pipeline -p data_science -e production
  kfpx upload-pipeline --host http://localhost:8080 -o json
  kfpx upload-pipeline --file pipeline.yml       # the reviewed file, as it is";
    pub const RUN_ONCE: &str = "Examples:
  kfpx run-once --wait-for-completion --timeout 3600
  kfpx run-once --params data_science.model_options.test_size=0.3,run_date=2026-05-01
  kfpx run-once -x my-experiment -en kubeflow-user-example-com
  kfpx run-once --file pipeline.yml --wait-for-completion";
    pub const SCHEDULE: &str = "Examples:
  kfpx schedule -c '0 0 4 * * *'                # daily at 04:00 UTC (seconds come first)
  kfpx schedule -p data_science -c '0 30 * * * *' -x nightly --no-catchup
  kfpx schedule -c '0 0 4 * * *' -en kubeflow-user-example-com -o json";
    pub const LIST_PIPELINES: &str = "Examples:
  kfpx list-pipelines
  kfpx list-pipelines -o wide                   # with ids
  kfpx list-pipelines --host http://localhost:8080 -o json";
    pub const RUN_LOCAL: &str = "Examples:
  kfpx run-local
  kfpx run-local --merge-strategy full --kfp-version 1
  kfpx run-local -f pipeline.yml -j 4 --keep
  kfpx run-local --param data_science.model_options.test_size=0.3 -o json";
    pub const LOGIN: &str = "Examples:
  kfpx login google --iap-client-id IAP_ID --oauth-client-id APP_ID --oauth-client-secret S
  kfpx login google --no-browser --iap-client-id I --oauth-client-id A --oauth-client-secret S";
    pub const LOGOUT: &str = "Examples:
  kfpx logout google
  kfpx logout google --iap-client-id IAP_ID.apps.googleusercontent.com";
    pub const UI: &str = "Examples:
  kfpx ui
  kfpx ui --print
  KF_PIPELINES_UI_ENDPOINT=http://localhost:8080 kfpx ui";
    pub const GRAPH: &str = "Examples:
  kfpx graph
  kfpx graph -p data_science --merge-strategy memory
  kfpx graph -o mermaid > pipeline.mmd
  kfpx graph -o dot | dot -Tsvg > pipeline.svg";
    pub const CONFIG: &str = "Examples:
  kfpx config
  kfpx config -v -e production                  # where each value came from
  kfpx config --check
  kfpx config -o json";
    pub const RUNS: &str = "Examples:
  kfpx runs list
  kfpx runs get demo-run-0501
  kfpx runs cancel 5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e
  kfpx runs list --all --state failed -o json";
    pub const RUNS_LIST: &str = "Examples:
  kfpx runs list                                # this project's runs (env: -e), newest first
  kfpx runs list -p data_science --state failed
  kfpx runs list --all -x nightly --limit 20 -o wide
  kfpx runs list -o json | jq -r '.[0].id'";
    pub const RUNS_GET: &str = "Examples:
  kfpx runs get 5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e
  kfpx runs get demo-run-0501 -x my-experiment
  kfpx runs get 5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e -o json";
    pub const RUNS_CANCEL: &str = "Examples:
  kfpx runs cancel 5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e
  kfpx runs cancel demo-run-0501 --namespace kubeflow-user-example-com";
    pub const RUNS_RETRY: &str = "Examples:
  kfpx runs retry 5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e
  kfpx runs retry demo-run-0501 -o json";
    pub const RUNS_ARCHIVE: &str = "Examples:
  kfpx runs archive 5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e
  kfpx runs archive demo-run-0501 -x my-experiment";
    pub const RUNS_LOGS: &str = "Examples:
  kfpx runs logs demo-run-0501                  # the failed tasks' logs
  kfpx runs logs demo-run-0501 train --tail 50
  kfpx runs logs 5c9a1d2e-0b3f-4c1d-9e2a-7f6b5a4c3d2e train --follow";
    pub const RUNS_SUBMIT: &str = "Examples:
  kfpx runs submit --wait-for-completion
  kfpx runs submit -p data_science --version spaceflights-1a2b3c4-0123456789ab
  kfpx runs submit --param data_science.model_options.test_size=0.3 -x nightly -o json";
    pub const SCHEDULES: &str = "Examples:
  kfpx schedules list
  kfpx schedules disable nightly
  kfpx schedules delete 3f2b1c0d-9e8a-4b7c-8d6e-5f4a3b2c1d0e";
    pub const SCHEDULES_LIST: &str = "Examples:
  kfpx schedules list
  kfpx schedules list -p data_science -o wide
  kfpx schedules list --all -o json";
    pub const SCHEDULES_DISABLE: &str = "Examples:
  kfpx schedules disable nightly
  kfpx schedules disable 3f2b1c0d-9e8a-4b7c-8d6e-5f4a3b2c1d0e";
    pub const SCHEDULES_ENABLE: &str = "Examples:
  kfpx schedules enable nightly
  kfpx schedules enable 3f2b1c0d-9e8a-4b7c-8d6e-5f4a3b2c1d0e -o json";
    pub const SCHEDULES_DELETE: &str = "Examples:
  kfpx schedules delete nightly
  kfpx schedules delete 3f2b1c0d-9e8a-4b7c-8d6e-5f4a3b2c1d0e";
    pub const COMPLETIONS: &str = "Examples:
  kfpx completions bash > ~/.local/share/bash-completion/completions/kfpx
  kfpx completions zsh > ~/.zfunc/_kfpx
  kfpx completions fish > ~/.config/fish/completions/kfpx.fish";
}

/// The last lines of every subcommand's `--help`: global options are listed once, in
/// `kfpx --help`, not repeated on each command.
pub const HELP_FOOTER: &str =
    "Global options (-e/--env, -C/--project-dir, -v, -q, --color, --python, \
--snapshot, --refresh, --probe-mode) work with every command: see `kfpx --help`.
Docs: https://crates.io/crates/kfpx (the README)";

/// The clap command as the binary uses it: [`Cli`] with the global options hidden from each
/// subcommand's help (they are shown once, in `kfpx --help`) and [`HELP_FOOTER`] appended to
/// each subcommand's help. New subcommands get both without doing anything.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    let globals: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set() || a.get_id() == "version")
        .map(|a| a.get_id().clone())
        .collect();
    for sub in cmd.get_subcommands_mut() {
        fit_subcommand(sub, &globals);
    }
    cmd
}

/// Hide the global options from `sub`'s help and append [`HELP_FOOTER`], then do the same for
/// its own subcommands (`kfpx runs list`).
fn fit_subcommand(sub: &mut clap::Command, globals: &[clap::Id]) {
    // `mut_args` keeps the arguments' order, which the built command's lookup relies on.
    let owned = std::mem::take(sub).mut_args(|a| {
        if globals.contains(a.get_id()) {
            a.hide(true)
        } else {
            a
        }
    });
    let footer = match owned.get_after_help() {
        Some(text) => format!("{text}\n\n{HELP_FOOTER}"),
        None => HELP_FOOTER.to_string(),
    };
    *sub = owned.after_help(footer);
    for nested in sub.get_subcommands_mut() {
        fit_subcommand(nested, globals);
    }
}

/// Server options written before the subcommand (`kfpx --host URL run-once`, as in the KFP
/// SDK's CLI): moved after it, where clap reads them. The bool says whether a value follows.
const SERVER_OPTIONS: &[(&str, bool)] = &[
    ("--host", true),
    ("--namespace", true),
    ("--ca-bundle", true),
    ("--request-timeout", true),
    ("--insecure-skip-tls-verify", false),
];

/// Top-level options that take their value in the next argument (so that value is not taken
/// for the subcommand's name).
const GLOBAL_WITH_VALUE: &[&str] = &[
    "-e",
    "--env",
    "-C",
    "--project-dir",
    "--color",
    "--python",
    "--snapshot",
];

/// Subcommands whose server options belong to their own subcommand (`kfpx runs list`).
const NESTED: &[&str] = &["runs", "schedules"];

/// Subcommands with kedro-kubeflow's `-en/--experiment-namespace` option.
const WITH_EXPERIMENT_NAMESPACE: &[&str] = &["run-once", "schedule", "runs"];

/// Rewrite the command line before clap parses it, for spellings clap cannot express:
/// * kedro-kubeflow's two-letter short option `-en NS` / `-en=NS` (click reads it as one
///   option; clap would read `-e n`) becomes `--experiment-namespace` after `run-once` and
///   `schedule`;
/// * server options given before the subcommand move after it.
///
/// Everything after `--` is left alone.
pub fn normalize_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    if let Some(bin) = iter.next() {
        out.push(bin);
    }
    let mut moved: Vec<std::ffi::OsString> = Vec::new();
    let mut subcommand: Option<String> = None;
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str().map(str::to_string) else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            out.push(arg);
            break;
        }
        match &subcommand {
            None if !text.starts_with('-') || text == "-" => {
                // `runs list`, `schedules disable`: the options go after the second word.
                let nested = NESTED.contains(&text.as_str());
                subcommand = Some(text);
                out.push(arg);
                if nested {
                    if let Some(next) = iter.next() {
                        out.push(next);
                    }
                }
                out.append(&mut moved);
            }
            None => {
                let name = text.split('=').next().unwrap_or(&text);
                let server = SERVER_OPTIONS.iter().find(|(o, _)| *o == name);
                let takes_next = !text.contains('=')
                    && (GLOBAL_WITH_VALUE.contains(&name)
                        || server.is_some_and(|(_, value)| *value));
                let target = if server.is_some() {
                    &mut moved
                } else {
                    &mut out
                };
                target.push(arg);
                if takes_next {
                    if let Some(value) = iter.next() {
                        target.push(value);
                    }
                }
            }
            Some(sub) => {
                if WITH_EXPERIMENT_NAMESPACE.contains(&sub.as_str()) {
                    if text == "-en" {
                        out.push("--experiment-namespace".into());
                        continue;
                    }
                    if let Some(value) = text.strip_prefix("-en=") {
                        out.push(format!("--experiment-namespace={value}").into());
                        continue;
                    }
                }
                out.push(arg);
            }
        }
    }
    // No subcommand: leave the options where they were (clap reports what is missing).
    out.append(&mut moved);
    out.extend(iter);
    out
}

/// Options that choose and group the pipeline: shared by every command that compiles.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Kedro pipeline name.
    #[arg(short = 'p', long = "pipeline", default_value = "__default__")]
    pub pipeline: String,

    /// How nodes are grouped into pods [default: run_config.node_merge_strategy, else memory].
    #[arg(long = "merge-strategy", value_enum, value_name = "STRATEGY")]
    pub merge_strategy: Option<MergeStrategyArg>,

    /// Warn, instead of failing, when a MemoryDataset would cross two pods.
    #[arg(long = "allow-memory-datasets")]
    pub allow_memory_datasets: bool,
}

/// Options of commands that produce a pipeline document.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,

    /// Docker image for the pipeline's steps [default: run_config.image].
    #[arg(short = 'i', long = "image", value_parser = image_reference)]
    pub image: Option<String>,

    /// KFP version to target: 2 (IR, /apis/v2beta1) or 1 (Argo Workflow, /apis/v1beta1)
    /// [default: run_config.kfp_version, else 2].
    #[arg(long = "kfp-version", value_enum, value_name = "VERSION")]
    pub kfp_version: Option<KfpVersionArg>,

    /// Fail (instead of warning) when a per-node config key matches no node.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MergeStrategyArg {
    /// One pod per Kedro node (kedro-kubeflow's default); refuses MemoryDatasets between pods.
    None,
    /// One pod runs the whole pipeline.
    Full,
    /// Nodes connected by MemoryDatasets share a pod, the others get one each (the default).
    Memory,
    /// Nodes tagged `group.<name>` share a pod.
    Tags,
    /// Nodes of one top-level namespace share a pod.
    Namespace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KfpVersionArg {
    #[value(name = "2")]
    V2,
    #[value(name = "1")]
    V1,
}

/// Help heading of [`ServerArgs`] (set per argument so it does not leak onto later options).
const SERVER: &str = "Server options";

/// Options for talking to a KFP server.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// KFP endpoint URL [default: $KF_PIPELINES_ENDPOINT, else the config's host].
    #[arg(long, value_name = "URL", help_heading = SERVER)]
    pub host: Option<String>,

    /// Kubernetes namespace (multi-user KFP)
    /// [default: $KF_PIPELINES_NAMESPACE, run_config.namespace, ~/.config/kfp/context.json].
    #[arg(long, value_name = "NS", help_heading = SERVER)]
    pub namespace: Option<String>,

    /// Do not verify the server's TLS certificate.
    #[arg(long = "insecure-skip-tls-verify", help_heading = SERVER)]
    pub insecure_skip_tls_verify: bool,

    /// PEM file with extra CA certificates to trust.
    #[arg(
        long = "ca-bundle",
        value_name = "FILE",
        env = "KF_PIPELINES_CA_BUNDLE",
        help_heading = SERVER
    )]
    pub ca_bundle: Option<PathBuf>,

    /// Seconds before one HTTP request gives up.
    #[arg(
        long = "request-timeout",
        value_name = "SECS",
        default_value_t = 30,
        help_heading = SERVER
    )]
    pub request_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// URL of the KFP endpoint, with scheme (e.g. https://kubeflow.example.com/pipeline).
    pub host: String,

    /// Also write GitHub Actions workflows (.github/workflows/kfpx-on-push.yml, kfpx-on-merge.yml).
    #[arg(long = "with-github-actions")]
    pub with_github_actions: bool,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    /// File to write (`-` for stdout), .yaml or .yml; kedro-kubeflow's default name.
    /// (`-o/--output FILE`, kedro-kubeflow's spelling, works too.)
    #[arg(
        short = 'f',
        long = "file",
        short_alias = 'o',
        alias = "output",
        default_value = "pipeline.yml",
        value_name = "FILE"
    )]
    pub file: PathBuf,

    #[command(flatten)]
    pub params: ParamArgs,
}

/// `--param` and `--params`: pipeline parameter overrides, shared by every command that sets
/// parameters.
#[derive(Debug, Clone, Default, Args)]
pub struct ParamArgs {
    /// Set a pipeline parameter, repeatable: `key=value` (or kedro-kubeflow's `key:value`); a
    /// dotted key changes one value inside a nested parameter, keeping the rest
    /// (`data_science.model_options.test_size=0.3`). Values are typed as YAML.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub param: Vec<String>,

    /// Kedro's spelling: comma-separated `key=value` pairs, as `kedro run --params`.
    #[arg(long = "params", value_name = "K=V,K=V")]
    pub params: Vec<String>,
}

impl ParamArgs {
    /// Every override in the order given: `--param` items whole, `--params` split at commas
    /// (Kedro's `split_string`: blank items dropped).
    pub fn items(&self) -> Vec<String> {
        let mut out = self.param.clone();
        for group in &self.params {
            out.extend(
                group
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        out
    }
}

/// `-o/--output FORMAT`, the one output flag of every command that prints a result (as kubectl
/// and gh): `table` for people (the default), `wide` (a table with ids), `json` or `yaml` for
/// programs. Files are `-f/--file` (or a positional), never `-o`.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct OutputArgs {
    /// Output format: table, wide (table with ids), json or yaml.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value_t = OutputFormat::Table,
        value_name = "FORMAT"
    )]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    /// Upload this document, compiled earlier (KFP v2 IR or Argo Workflow), exactly as it is,
    /// instead of compiling; its format chooses the API version.
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        conflicts_with_all = ["merge_strategy", "allow_memory_datasets", "image", "strict"]
    )]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub server: ServerArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// How a run is started and waited for: the same flags on `run-once` and `runs submit`.
#[derive(Debug, Clone, Args)]
pub struct RunStartArgs {
    /// Experiment to run in [default: run_config.experiment_name].
    #[arg(short = 'x', long = "experiment-name")]
    pub experiment_name: Option<String>,

    /// Namespace of the experiment (multi-user KFP); `-en NS` (kedro-kubeflow) works too.
    #[arg(long = "experiment-namespace", alias = "en", value_name = "NS")]
    pub experiment_namespace: Option<String>,

    /// Name of the run [default: run_config.run_name, formatted with the params' {name}s].
    #[arg(long = "run-name")]
    pub run_name: Option<String>,

    #[command(flatten)]
    pub params: ParamArgs,

    /// Wait until the run finishes; exit 3 if it does not succeed, 4 on timeout
    /// [default: run_config.wait_for_completion].
    #[arg(long = "wait-for-completion", alias = "wait")]
    pub wait_for_completion: bool,

    /// Do not wait, even when run_config.wait_for_completion is true.
    #[arg(long = "no-wait", conflicts_with = "wait_for_completion")]
    pub no_wait: bool,

    /// Seconds to wait for completion [default: 86400]; only used while waiting.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct RunOnceArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    /// Run this document, compiled earlier (KFP v2 IR or Argo Workflow), exactly as it is,
    /// instead of compiling; its format chooses the API version.
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        conflicts_with_all = ["merge_strategy", "allow_memory_datasets", "image", "strict"]
    )]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub server: ServerArgs,

    #[command(flatten)]
    pub start: RunStartArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    #[command(flatten)]
    pub server: ServerArgs,

    /// KFP cron expression: 6 fields, seconds first (e.g. '0 0 4 * * *' = 04:00 daily).
    #[arg(short = 'c', long = "cron-expression", value_name = "CRON")]
    pub cron_expression: String,

    /// Experiment of the recurring run [default: run_config.experiment_name].
    #[arg(short = 'x', long = "experiment-name")]
    pub experiment_name: Option<String>,

    /// Namespace of the experiment (multi-user KFP); `-en NS` (kedro-kubeflow) works too.
    #[arg(long = "experiment-namespace", alias = "en", value_name = "NS")]
    pub experiment_namespace: Option<String>,

    #[command(flatten)]
    pub params: ParamArgs,

    /// Most runs of this schedule at once [default: run_config.schedule.max_concurrency, else 1].
    #[arg(long = "max-concurrency", value_name = "N")]
    pub max_concurrency: Option<u32>,

    /// Do not backfill runs missed while the schedule was paused or late.
    #[arg(long = "no-catchup")]
    pub no_catchup: bool,

    /// First time the schedule may fire (RFC 3339).
    #[arg(long = "start-time", value_name = "TIME")]
    pub start_time: Option<crate::config::Timestamp>,

    /// Last time the schedule may fire (RFC 3339).
    #[arg(long = "end-time", value_name = "TIME")]
    pub end_time: Option<crate::config::Timestamp>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RunLocalArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    /// Run this document, compiled earlier by kfpx (KFP v2 IR or Argo Workflow), instead of
    /// compiling the project.
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        conflicts_with_all = ["pipeline", "merge_strategy", "allow_memory_datasets", "kfp_version", "strict"]
    )]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub params: ParamArgs,

    /// Most tasks running at once [default: the number of CPU cores].
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Keep the run's data volume (a delete step leaves it in .kfpx/runs/<run>/volumes/).
    #[arg(long)]
    pub keep: bool,

    /// Run each task once, whatever the document's retry policy says.
    #[arg(long = "no-retry")]
    pub no_retry: bool,

    /// Start tasks whose secret variables are not set in this environment (warning instead of
    /// error; the variable is then unset in the task).
    #[arg(long = "allow-missing-secrets")]
    pub allow_missing_secrets: bool,

    /// Output format of the final summary on stdout.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value_t = RunLocalOutput::Table,
        value_name = "FORMAT"
    )]
    pub output: RunLocalOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunLocalOutput {
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ListPipelinesArgs {
    #[command(flatten)]
    pub server: ServerArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// KFP API version to use [default: run_config.kfp_version, else 2].
    #[arg(long = "kfp-version", value_enum, value_name = "VERSION")]
    pub kfp_version: Option<KfpVersionArg>,
}

#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// Only print the URL, do not open a browser.
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,

    /// Output format: text, json (the snapshot), mermaid or dot (Graphviz).
    /// (`--format`, the old spelling, works too.)
    #[arg(
        short = 'o',
        long = "output",
        alias = "format",
        value_enum,
        default_value_t = GraphFormat::Text,
        value_name = "FORMAT"
    )]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Tasks, their nodes, dependencies and the datasets between them.
    Text,
    /// The same as JSON (`-p` and `--merge-strategy` apply).
    Json,
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz digraph.
    Dot,
    /// The whole snapshot (every pipeline, dataset and parameter), as `--snapshot` reads it.
    Snapshot,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Only validate the configuration; print nothing on success.
    #[arg(long)]
    pub check: bool,

    /// Output format of the effective configuration: yaml or json.
    #[arg(
        long = "output",
        short = 'o',
        value_enum,
        default_value_t = ConfigFormat::Yaml,
        value_name = "FORMAT"
    )]
    pub output: ConfigFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    // No doc comments on the values: clap would list them one per line in every --help.
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

// ---- from flags to each layer's own options ----------------------------------------------------
// The layers below the commands take their own option types; only this file knows the flags.

impl PipelineArgs {
    /// The strategy and options a grouping command uses: the flags (`--merge-strategy`,
    /// `--allow-memory-datasets`) over the config (`run_config.node_merge_strategy`,
    /// `group_tag_prefix`), over the defaults (`memory`, `group.`).
    pub fn group_settings(
        &self,
        run_config: Option<&crate::config::RunConfig>,
    ) -> (crate::config::MergeStrategy, crate::graph::GroupOptions) {
        let strategy = self
            .merge_strategy
            .map(crate::config::MergeStrategy::from)
            .or(run_config.map(|rc| rc.node_merge_strategy))
            .unwrap_or_default();
        let opts = crate::graph::GroupOptions {
            tag_prefix: run_config
                .map(|rc| rc.group_tag_prefix.clone())
                .unwrap_or_else(|| crate::graph::DEFAULT_TAG_PREFIX.to_string()),
            allow_memory_datasets: self.allow_memory_datasets,
        };
        (strategy, opts)
    }
}

impl From<MergeStrategyArg> for crate::config::MergeStrategy {
    fn from(arg: MergeStrategyArg) -> Self {
        use crate::config::MergeStrategy;
        match arg {
            MergeStrategyArg::None => MergeStrategy::None,
            MergeStrategyArg::Full => MergeStrategy::Full,
            MergeStrategyArg::Memory => MergeStrategy::Memory,
            MergeStrategyArg::Tags => MergeStrategy::Tags,
            MergeStrategyArg::Namespace => MergeStrategy::Namespace,
        }
    }
}

impl GlobalArgs {
    /// The global `--python`, `--snapshot`, `--refresh`, `--probe-mode` as the graph layer's
    /// options (the config's `probe_mode` is added with `with_config`).
    pub fn snapshot_options(&self) -> crate::graph::SnapshotOptions {
        use crate::graph::probe::ProbeMode;
        crate::graph::SnapshotOptions {
            python: self.python.clone(),
            snapshot: self.snapshot.clone(),
            refresh: self.refresh,
            probe_mode: self.probe_mode.map(|m| match m {
                ProbeModeArg::Lite => ProbeMode::Lite,
                ProbeModeArg::Full => ProbeMode::Full,
            }),
            config_probe_mode: None,
        }
    }
}

impl ServerArgs {
    /// The connection flags as the client layer's options.
    pub fn connect_options(&self) -> crate::kfp::session::ConnectOptions {
        crate::kfp::session::ConnectOptions {
            host: self.host.clone(),
            namespace: self.namespace.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            ca_bundle: self.ca_bundle.clone(),
            request_timeout: self.request_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        let argv = std::iter::once("kfpx")
            .chain(args.iter().copied())
            .map(std::ffi::OsString::from)
            .collect();
        normalize_args(argv)
            .into_iter()
            .skip(1)
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn kedro_kubeflow_dash_en_becomes_the_long_option_after_run_once_and_schedule() {
        assert_eq!(
            norm(&["run-once", "-en", "ns", "-e", "prod"]),
            ["run-once", "--experiment-namespace", "ns", "-e", "prod"]
        );
        assert_eq!(
            norm(&["schedule", "-en=ns"]),
            ["schedule", "--experiment-namespace=ns"]
        );
        // Not a command with that option, or after `--`: untouched.
        assert_eq!(norm(&["compile", "-en"]), ["compile", "-en"]);
        assert_eq!(norm(&["run-once", "--", "-en"]), ["run-once", "--", "-en"]);
    }

    #[test]
    fn server_options_before_the_command_move_after_it() {
        assert_eq!(
            norm(&[
                "--host",
                "http://h",
                "-e",
                "prod",
                "--insecure-skip-tls-verify",
                "run-once"
            ]),
            [
                "-e",
                "prod",
                "run-once",
                "--host",
                "http://h",
                "--insecure-skip-tls-verify"
            ]
        );
        assert_eq!(
            norm(&["--host=http://h", "-C", "run-once", "list-pipelines"]),
            ["-C", "run-once", "list-pipelines", "--host=http://h"],
            "a global option's value is not taken for the command"
        );
        assert_eq!(norm(&["--host", "http://h"]), ["--host", "http://h"]);
        assert_eq!(
            norm(&["--host", "http://h", "runs", "list", "-o", "json"]),
            ["runs", "list", "--host", "http://h", "-o", "json"],
            "after the nested command"
        );
    }
}
