//! Command-line definitions (clap derive). Only declarations live here: help texts, defaults,
//! env fallbacks. Each subcommand's behaviour is in `src/commands/<name>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kfpx: take Kedro projects to Kubeflow Pipelines.
///
/// Reads `conf/base/kubeflow.yaml` (with `conf/<env>/kubeflow.yaml` on top), gets the project's
/// node graph from Kedro (cached) or a snapshot file, groups nodes into pods, compiles KFP v2 IR
/// (or Argo Workflow YAML for KFP v1) offline, and drives the KFP REST API.
#[derive(Debug, Parser)]
#[command(name = "kfpx", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 success, 1 error, 2 usage error, 3 run finished without \
success, 4 waiting timed out, 130 interrupted (Ctrl-C) while waiting: the run keeps running.\nDocs: README.md (config reference, env vars, coming from kedro-kubeflow)."
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
    /// (see `kfpx graph --format json`).
    #[arg(long, value_name = "FILE", global = true, env = "KFPX_SNAPSHOT")]
    pub snapshot: Option<PathBuf>,

    /// Ignore the cached graph snapshot under <project>/.kfpx/ and probe the project again.
    #[arg(long, global = true)]
    pub refresh: bool,
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
    #[command(
        after_help = "Examples:\n  kfpx init https://kubeflow.example.com/pipeline\n  \
kfpx init http://localhost:8080 --with-github-actions"
    )]
    Init(InitArgs),
    /// Translate a Kedro pipeline into a KFP pipeline file (v2 IR or v1 Argo Workflow), offline.
    Compile(CompileArgs),
    /// Compile and upload a pipeline to KFP, as a new pipeline or a new version of it.
    UploadPipeline(UploadArgs),
    /// Compile and start one run of a pipeline in an experiment, optionally waiting for it.
    RunOnce(RunOnceArgs),
    /// Upload (or find) the pipeline and replace its recurring run with a cron schedule.
    Schedule(ScheduleArgs),
    /// List the pipelines deployed on the KFP server.
    ListPipelines(ListPipelinesArgs),
    /// Open the Kubeflow Pipelines UI in a browser.
    Ui(UiArgs),
    /// Show a pipeline's tasks after grouping: nodes, dependencies, datasets between tasks.
    Graph(GraphArgs),
    /// Print the effective configuration (base + env overlay, placeholders substituted).
    Config(ConfigArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Log in with a user account (Google IAP) and store the login for later commands.
    #[command(subcommand)]
    Login(LoginCommand),
    /// Remove a stored login.
    #[command(subcommand)]
    Logout(LogoutCommand),
}

#[derive(Debug, Subcommand)]
pub enum LoginCommand {
    /// Google IAP with your own Google account (OAuth desktop client, browser consent).
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
    Google(GoogleLogoutArgs),
}

#[derive(Debug, Args)]
pub struct GoogleLogoutArgs {
    /// The IAP client id whose login to remove [default: every stored login].
    #[arg(long, value_name = "ID")]
    pub iap_client_id: Option<String>,
}

/// Options that choose and group the pipeline: shared by every command that compiles.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Kedro pipeline name.
    #[arg(short = 'p', long = "pipeline", default_value = "__default__")]
    pub pipeline: String,

    /// How nodes are grouped into pods [default: run_config.node_merge_strategy, else none].
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
    #[arg(short = 'i', long = "image")]
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
    /// One pod per Kedro node (kedro-kubeflow's default).
    None,
    /// One pod runs the whole pipeline.
    Full,
    /// Nodes connected by MemoryDatasets share a pod.
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

    /// Output file (`-` for stdout); .yaml/.yml (or .json for v2 IR).
    #[arg(
        short = 'o',
        long = "output",
        default_value = "pipeline.yaml",
        value_name = "FILE"
    )]
    pub output: PathBuf,

    /// Override a pipeline parameter's default (`key=value` or `key:value`; values typed as
    /// YAML: numbers, booleans, JSON lists and objects).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    #[command(flatten)]
    pub server: ServerArgs,

    /// Output format of the result.
    #[arg(long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct RunOnceArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    #[command(flatten)]
    pub server: ServerArgs,

    /// Experiment to run in [default: run_config.experiment_name].
    #[arg(short = 'x', long = "experiment-name")]
    pub experiment_name: Option<String>,

    /// Namespace of the experiment (multi-user KFP).
    #[arg(long = "experiment-namespace", alias = "en", value_name = "NS")]
    pub experiment_namespace: Option<String>,

    /// Name of the run [default: run_config.run_name, formatted with the params' {name}s].
    #[arg(long = "run-name")]
    pub run_name: Option<String>,

    /// Run parameter (`key=value` or `key:value`), repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Wait until the run finishes; exit 3 if it does not succeed, 4 on timeout
    /// [default: run_config.wait_for_completion].
    #[arg(long = "wait-for-completion")]
    pub wait_for_completion: bool,

    /// Seconds to wait for completion.
    #[arg(long, default_value_t = 86400, value_name = "SECS")]
    pub timeout: u64,

    /// Output format of the result.
    #[arg(long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
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

    /// Namespace of the experiment (multi-user KFP).
    #[arg(long = "experiment-namespace", alias = "en", value_name = "NS")]
    pub experiment_namespace: Option<String>,

    /// Run parameter (`key=value` or `key:value`), repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Most runs of this schedule at once [default: run_config.schedule.max_concurrency, else 1].
    #[arg(long = "max-concurrency", value_name = "N")]
    pub max_concurrency: Option<u32>,

    /// Do not backfill runs missed while the schedule was paused or late.
    #[arg(long = "no-catchup")]
    pub no_catchup: bool,

    /// First time the schedule may fire (RFC 3339).
    #[arg(long = "start-time", value_name = "TIME")]
    pub start_time: Option<String>,

    /// Last time the schedule may fire (RFC 3339).
    #[arg(long = "end-time", value_name = "TIME")]
    pub end_time: Option<String>,

    /// Output format of the result.
    #[arg(long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ListPipelinesArgs {
    #[command(flatten)]
    pub server: ServerArgs,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

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
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Json,
    Mermaid,
    Dot,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Only validate the configuration; print nothing on success.
    #[arg(long)]
    pub check: bool,

    /// Output format of the effective configuration.
    #[arg(long = "output", short = 'o', value_enum, default_value_t = ConfigFormat::Yaml)]
    pub output: ConfigFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
