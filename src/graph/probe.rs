//! Runs the embedded Python probe with the project's interpreter to get its snapshot.
//!
//! The probe (`templates/probe.py`) is fed on stdin to `<python> - <project_root> <env>`, run
//! in the project root. It prints one snapshot JSON document on stdout; on failure its last
//! stderr line is `kfpx-probe-error: <kind>: <reason>` and its exit code tells the kind. This
//! module turns every failure into one clear error: the reason, a hint, and the tail of the
//! probe's stderr when that helps.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::graph::snapshot::{SNAPSHOT_FORMAT, SNAPSHOT_VERSION};
use crate::graph::{GraphError, Snapshot};
use crate::project::Project;

/// The probe script, embedded in the binary.
pub const PROBE_SCRIPT: &str = include_str!("../../templates/probe.py");

/// Default limit for one probe run; `KFPX_PROBE_TIMEOUT` (seconds) overrides it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest `KFPX_PROBE_TIMEOUT` accepted (a day).
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Marker that starts the probe's last stderr line when it fails on purpose.
const MARKER: &str = "kfpx-probe-error:";
/// How many lines of the probe's stderr an error shows.
const TAIL_LINES: usize = 5;
/// Longest stderr line shown (longer ones are cut).
const TAIL_LINE_MAX: usize = 300;
/// The fallback interpreter, looked up on PATH.
const DEFAULT_PYTHON: &str = if cfg!(windows) { "python" } else { "python3" };

/// The interpreter to probe with: `--python`, `KFPX_PYTHON`, `$VIRTUAL_ENV/bin/python`, the
/// interpreter remembered in `.kfpx/python` (the last one that probed this project),
/// `<project>/.venv/bin/python`, then `python3`.
pub fn resolve_python(project: &Project, explicit: Option<&Path>) -> PathBuf {
    let remembered = crate::graph::cache::remembered_python(&project.root);
    let python = resolve_python_from(
        &project.root,
        explicit,
        std::env::var_os("KFPX_PYTHON"),
        std::env::var_os("VIRTUAL_ENV"),
        remembered.as_deref(),
    );
    if remembered.as_deref() == Some(python.as_path()) {
        tracing::info!(
            "using {}, the interpreter that last probed this project (remembered in {}/{}); \
             pass --python to use another",
            python.display(),
            crate::graph::cache::CACHE_DIR,
            crate::graph::cache::REMEMBERED_PYTHON
        );
    }
    python
}

/// [`resolve_python`] with the environment passed in. `--python` and `KFPX_PYTHON` are taken as
/// given (so a wrong one is reported, not skipped); the remembered interpreter and the two venv
/// locations only when their interpreter exists.
pub fn resolve_python_from(
    project_root: &Path,
    explicit: Option<&Path>,
    kfpx_python: Option<OsString>,
    virtual_env: Option<OsString>,
    remembered: Option<&Path>,
) -> PathBuf {
    if let Some(p) = explicit {
        return absolute_if_path(p);
    }
    if let Some(p) = kfpx_python.filter(|p| !p.is_empty()) {
        return absolute_if_path(Path::new(&p));
    }
    if let Some(venv) = virtual_env.filter(|p| !p.is_empty()) {
        let python = venv_python(Path::new(&venv));
        if python.is_file() {
            return python;
        }
    }
    if let Some(p) = remembered.filter(|p| p.is_absolute() && p.is_file()) {
        return p.to_path_buf();
    }
    let python = venv_python(&project_root.join(".venv"));
    if python.is_file() {
        return python;
    }
    PathBuf::from(DEFAULT_PYTHON)
}

/// A relative path like `.venv/bin/python` means the current directory's, but the probe runs
/// in the project root: make it absolute. A bare name (`python3.11`) is looked up on PATH.
fn absolute_if_path(python: &Path) -> PathBuf {
    if python.is_relative() && python.components().count() > 1 {
        std::path::absolute(python).unwrap_or_else(|_| python.to_path_buf())
    } else {
        python.to_path_buf()
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

pub use crate::config::ProbeMode;

/// The probe mode in force: `--probe-mode`, else `KFPX_PROBE_MODE`, else the config's
/// `run_config.probe_mode`, else lite.
pub fn resolve_mode(
    flag: Option<ProbeMode>,
    config: Option<ProbeMode>,
) -> Result<ProbeMode, GraphError> {
    if let Some(mode) = flag {
        return Ok(mode);
    }
    let env = parse_mode(std::env::var("KFPX_PROBE_MODE").ok().as_deref())?;
    Ok(env.or(config).unwrap_or_default())
}

/// `KFPX_PROBE_MODE`'s value: `lite` or `full`; unset or empty is `None`.
fn parse_mode(value: Option<&str>) -> Result<Option<ProbeMode>, GraphError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some("lite") => Ok(Some(ProbeMode::Lite)),
        Some("full") => Ok(Some(ProbeMode::Full)),
        Some(other) => Err(ProbeProblem::BadMode {
            value: other.to_string(),
        }
        .into()),
    }
}

/// The probe gave no snapshot: what went wrong, and the last lines of its stderr (redacted),
/// shown under the message.
#[derive(Debug, thiserror::Error)]
#[error("{}", with_tail(.problem.to_string(), .tail))]
pub struct ProbeError {
    pub problem: ProbeProblem,
    pub tail: Vec<String>,
}

impl From<ProbeProblem> for ProbeError {
    fn from(problem: ProbeProblem) -> Self {
        ProbeError {
            problem,
            tail: Vec::new(),
        }
    }
}

impl From<ProbeProblem> for GraphError {
    fn from(problem: ProbeProblem) -> Self {
        GraphError::Probe(problem.into())
    }
}

/// What went wrong with the probe; `python` is the interpreter kfpx ran.
#[derive(Debug, thiserror::Error)]
pub enum ProbeProblem {
    #[error(
        "KFPX_PROBE_MODE must be `lite` or `full`, got {value:?}\n  help: unset it for the \
         default (lite, which falls back to full by itself), or set KFPX_PROBE_MODE=full"
    )]
    BadMode { value: String },
    #[error(
        "KFPX_PROBE_TIMEOUT must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS} \
         (a day), got {value:?}"
    )]
    BadTimeout { value: String },
    #[error("project directory {} does not exist", .root.display())]
    NoProject { root: PathBuf },
    #[error("{}", start_message(.python, .source))]
    CannotStart {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the Kedro probe ({}) did not finish within {}s: set KFPX_PROBE_TIMEOUT (seconds) to \
         wait longer, check what the project does at import time, or use --snapshot FILE",
        .python.display(),
        .timeout.as_secs_f64()
    )]
    TimedOut { python: PathBuf, timeout: Duration },
    /// `hint` names the interpreter to pass instead, when one is found.
    #[error("kedro is not installed in {} ({reason}): {hint}", .python.display())]
    KedroMissing {
        python: PathBuf,
        reason: String,
        hint: String,
    },
    #[error(
        "{} cannot run the Kedro probe: {reason}: pass the project's interpreter with --python \
         or KFPX_PYTHON",
        .python.display()
    )]
    OldPython { python: PathBuf, reason: String },
    #[error(
        "Kedro cannot load {} as a project: {reason}: check [tool.kedro] in pyproject.toml \
         (package_name, project_name, kedro_init_version matching the installed Kedro)",
        .root.display()
    )]
    NotAProject { root: PathBuf, reason: String },
    /// The project's code raised while loading; `location` is the file:line it names.
    #[error(
        "the Kedro project failed to load{}\n  cause: {cause}\n  help: {help}",
        .location.as_ref().map(|at| format!(" ({at})")).unwrap_or_default()
    )]
    ProjectImport {
        location: Option<String>,
        cause: String,
        help: String,
    },
    #[error(
        "the project's configuration for env '{env}' could not be read: {reason}: fix conf/ \
         (`kedro catalog` or `kedro run` shows it too)"
    )]
    Config { env: String, reason: String },
    /// The probe reported a failure kfpx does not expect (`kind` is its marker).
    #[error(
        "the Kedro probe failed ({kind}): {reason}: this is a kfpx bug, please report it; \
         meanwhile use --snapshot FILE"
    )]
    Bug { kind: String, reason: String },
    /// The interpreter failed without the probe saying why (`how`: exit code or signal).
    #[error("{} failed to run the Kedro probe ({how}): {hint}", .python.display())]
    Crashed {
        python: PathBuf,
        how: String,
        hint: &'static str,
    },
    #[error(
        "the Kedro probe run by {} printed nothing: is it a Python interpreter? pass --python, \
         set KFPX_PYTHON, or use --snapshot FILE",
        .python.display()
    )]
    NoOutput { python: PathBuf },
    /// `start` is the output's first characters.
    #[error(
        "the Kedro probe run by {} printed invalid JSON ({error}), starting {start:?}: is it a \
         Python interpreter? pass --python, set KFPX_PYTHON, or use --snapshot FILE",
        .python.display()
    )]
    InvalidJson {
        python: PathBuf,
        error: String,
        start: String,
    },
    #[error(
        "the Kedro probe run by {} printed a document that is not a {SNAPSHOT_FORMAT} version \
         {SNAPSHOT_VERSION} (format {format}, version {version}): this is a kfpx bug, please \
         report it; meanwhile use --snapshot FILE",
        .python.display()
    )]
    WrongDocument {
        python: PathBuf,
        format: String,
        version: String,
    },
    #[error(
        "the Kedro probe run by {} printed a snapshot kfpx cannot read ({error}): this is a kfpx \
         bug, please report it; meanwhile use --snapshot FILE",
        .python.display()
    )]
    Unreadable { python: PathBuf, error: String },
}

/// A probed snapshot and the mode that produced it (`Full` after a lite fallback).
#[derive(Debug, Clone)]
pub struct Probed {
    pub snapshot: Snapshot,
    pub mode: ProbeMode,
}

/// Run the probe in the project root for the project's env and parse its snapshot, in `mode`
/// (see [`resolve_mode`]).
pub fn run(project: &Project, python: &Path, mode: ProbeMode) -> Result<Probed, GraphError> {
    run_mode(project, python, mode, timeout_from_env()?)
}

/// [`run`] with the mode and the time limit (per probe run) given. In lite mode a probe that
/// reports it cannot be sure of its answer is run again in full mode.
pub fn run_mode(
    project: &Project,
    python: &Path,
    mode: ProbeMode,
    timeout: Duration,
) -> Result<Probed, GraphError> {
    if mode == ProbeMode::Lite {
        match run_once(project, python, ProbeMode::Lite, timeout)? {
            Attempt::Done(snapshot) => {
                return Ok(Probed {
                    snapshot: *snapshot,
                    mode: ProbeMode::Lite,
                })
            }
            Attempt::Fallback(reason) => {
                tracing::info!("lite probe not usable, importing everything for real: {reason}")
            }
        }
    }
    match run_once(project, python, ProbeMode::Full, timeout)? {
        Attempt::Done(snapshot) => Ok(Probed {
            snapshot: *snapshot,
            mode: ProbeMode::Full,
        }),
        Attempt::Fallback(reason) => Err(ProbeProblem::Bug {
            kind: "lite-fallback in full mode".into(),
            reason,
        }
        .into()),
    }
}

fn timeout_from_env() -> Result<Duration, GraphError> {
    parse_timeout(std::env::var("KFPX_PROBE_TIMEOUT").ok().as_deref())
}

/// `KFPX_PROBE_TIMEOUT`'s value: seconds, more than 0 and at most [`MAX_TIMEOUT_SECS`].
pub fn parse_timeout(raw: Option<&str>) -> Result<Duration, GraphError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(DEFAULT_TIMEOUT),
        Some(v) => match v.parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= MAX_TIMEOUT_SECS => {
                Ok(Duration::from_secs_f64(secs))
            }
            _ => Err(ProbeProblem::BadTimeout {
                value: v.to_string(),
            }
            .into()),
        },
    }
}

/// The probe's raw outcome.
struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

/// [`run`] with an explicit time limit (lite mode, with its fallback).
pub fn run_with_timeout(
    project: &Project,
    python: &Path,
    timeout: Duration,
) -> Result<Snapshot, GraphError> {
    run_mode(project, python, ProbeMode::Lite, timeout).map(|p| p.snapshot)
}

/// One probe run's result: a snapshot, or lite mode's request to run again in full mode.
enum Attempt {
    Done(Box<Snapshot>),
    Fallback(String),
}

fn run_once(
    project: &Project,
    python: &Path,
    mode: ProbeMode,
    timeout: Duration,
) -> Result<Attempt, GraphError> {
    if !project.root.is_dir() {
        return Err(ProbeProblem::NoProject {
            root: project.root.clone(),
        }
        .into());
    }
    let python = &absolute_if_path(python);
    let started = Instant::now();
    tracing::info!(
        "probing the Kedro project in {} (env {}, {} mode) with {}",
        project.root.display(),
        project.env,
        mode.as_str(),
        python.display()
    );
    let out = spawn_and_wait(project, python, mode, timeout)?;
    tracing::debug!("probe stderr:\n{}", out.stderr);
    tracing::info!("probe finished in {:.2}s", started.elapsed().as_secs_f64());
    if !out.status.success() {
        if let Some(("lite-fallback", reason)) = marker(&out.stderr) {
            return Ok(Attempt::Fallback(reason.to_string()));
        }
    }
    interpret(project, python, out).map(|s| Attempt::Done(Box::new(s)))
}

/// Spawn, retrying briefly while the executable is still open for writing elsewhere
/// (ETXTBSY: an interpreter or script that another process is just finishing writing, or a
/// descriptor inherited by a child forked at that moment).
fn spawn_retrying_busy(command: &mut Command) -> std::io::Result<std::process::Child> {
    let mut attempt = 0;
    loop {
        match command.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 5 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(20 * attempt));
            }
            other => return other,
        }
    }
}

fn spawn_and_wait(
    project: &Project,
    python: &Path,
    mode: ProbeMode,
    timeout: Duration,
) -> Result<Output, GraphError> {
    let mut command = Command::new(python);
    command
        .arg("-")
        .arg(&project.root)
        .arg(&project.env)
        .current_dir(&project.root)
        .env("PYTHONIOENCODING", "utf-8")
        .env("KFPX_PROBE_MODE", mode.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so that a timeout (or Ctrl-C, via crate::signals) ends whatever
    // the interpreter started too, not only the interpreter.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child =
        spawn_retrying_busy(&mut command).map_err(|source| ProbeProblem::CannotStart {
            python: python.to_path_buf(),
            source,
        })?;
    let _group = crate::signals::GroupGuard::new(child.id());

    // Feed the script and drain both pipes on threads, so no pipe can fill up and block.
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            // A failed write means the interpreter exited early; its status says why.
            let _ = stdin.write_all(PROBE_SCRIPT.as_bytes());
        }
    });
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());

    let status = wait_with_timeout(&mut child, timeout);
    // Whatever is left of the group (a process that outlived the interpreter) goes too; what
    // it wrote is still in the pipes.
    crate::signals::kill_group(child.id());
    // The pipes close when the interpreter exits, unless something it started keeps them
    // open: then take what was read so far instead of waiting for that process.
    let grace = Instant::now() + Duration::from_secs(2);
    while !(stdout.handle.is_finished() && stderr.handle.is_finished()) && Instant::now() < grace {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = feeder.join();
    let stdout = stdout.take();
    // Exception messages can quote a dataset's URL with its credentials.
    let stderr = redact_urls(&String::from_utf8_lossy(&stderr.take()));
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => Err(ProbeError {
            problem: ProbeProblem::TimedOut {
                python: python.to_path_buf(),
                timeout,
            },
            tail: tail(&stderr),
        }
        .into()),
    }
}

/// A pipe read to its end on a thread, into a buffer readable at any time.
struct Drain {
    buf: Arc<Mutex<Vec<u8>>>,
    handle: JoinHandle<()>,
}

impl Drain {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Drain {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&buf);
    let handle = std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => break,
                Ok(n) => shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]),
            }
        }
    });
    Drain { buf, handle }
}

/// Wait for the child; `None` when it had to be killed after `timeout`.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => {
                crate::signals::kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(_) => return child.wait().ok(),
        }
    }
}

/// Why `python` could not be started, and what to pass instead.
fn start_message(python: &Path, err: &std::io::Error) -> String {
    let shown = python.display();
    let bare = python.components().count() == 1 && !python.is_absolute();
    match err.kind() {
        std::io::ErrorKind::NotFound if bare => format!(
            "{shown} not found on PATH: pass --python, set KFPX_PYTHON, or use --snapshot FILE"
        ),
        std::io::ErrorKind::NotFound => format!(
            "Python interpreter {shown} not found: pass an existing interpreter with --python or \
             KFPX_PYTHON, or use --snapshot FILE"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot run {shown}: permission denied (is it an executable Python interpreter?): pass \
             --python, set KFPX_PYTHON, or use --snapshot FILE"
        ),
        _ => format!(
            "cannot run {shown}: {err}: pass --python, set KFPX_PYTHON, or use --snapshot FILE"
        ),
    }
}

/// `scheme://user:secret@host/...` becomes `scheme://<redacted>@host/...` everywhere in `text`.
/// Broad on purpose, like the probe: a `:` before the `@` counts as credentials even after a
/// `/` (secrets are not always URL-escaped), so a rare path is over-redacted, never a secret
/// shown.
fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, after) = rest.split_at(i + 3);
        out.push_str(head);
        let end = after
            .find(|c: char| c.is_whitespace() || "\"'()<>[]{},;".contains(c))
            .unwrap_or(after.len());
        let token = &after[..end];
        match token.find('@') {
            Some(at) if token[..at].contains(':') || !token[..at].contains('/') => {
                out.push_str("<redacted>");
                out.push_str(&token[at..]);
            }
            _ => out.push_str(token),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The probe's failure report: the marker line's kind and reason, if there is one.
fn marker(stderr: &str) -> Option<(&str, &str)> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix(MARKER))
        .map(|rest| {
            let rest = rest.trim();
            match rest.split_once(": ") {
                Some((kind, reason)) => (kind.trim(), reason.trim()),
                None => (rest, ""),
            }
        })
}

/// The last few meaningful lines of the probe's stderr (marker line excluded).
fn tail(stderr: &str) -> Vec<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with(MARKER))
        .collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| {
            if l.chars().count() > TAIL_LINE_MAX {
                let cut: String = l.chars().take(TAIL_LINE_MAX).collect();
                format!("{cut}…")
            } else {
                (*l).to_string()
            }
        })
        .collect()
}

/// The error line, then the probe's stderr tail as indented context lines.
fn with_tail(line: String, tail: &[String]) -> String {
    if tail.is_empty() {
        return line;
    }
    let mut msg = line;
    msg.push_str("\n  probe stderr (last lines):");
    for l in tail {
        msg.push_str("\n  | ");
        msg.push_str(l);
    }
    msg
}

/// [`interpret`] on raw output (exit `code`, stdout, stderr) as if the probe had produced it:
/// for the fuzz harness (`examples/fuzz.rs`) and tests.
#[cfg(unix)]
#[doc(hidden)]
pub fn interpret_raw(
    project: &Project,
    python: &Path,
    code: u8,
    stdout: Vec<u8>,
    stderr: &str,
) -> Result<Snapshot, GraphError> {
    use std::os::unix::process::ExitStatusExt;
    let out = Output {
        status: ExitStatus::from_raw(i32::from(code) << 8),
        stdout,
        stderr: redact_urls(stderr),
    };
    interpret(project, python, out)
}

fn interpret(project: &Project, python: &Path, out: Output) -> Result<Snapshot, GraphError> {
    if out.status.success() {
        return parse_snapshot(python, &out.stdout, &out.stderr);
    }
    let mut tail_lines = tail(&out.stderr);
    let problem = match marker(&out.stderr) {
        Some(("kedro-missing", reason)) => {
            // The reason is e.g. "ModuleNotFoundError: No module named 'kedro'": complete.
            let hint =
                match std::env::var_os("PATH").and_then(|p| kedro_python_on_path(&p, python)) {
                    Some(k) => format!(
                        "the `kedro` command on PATH runs {0}: pass --python {0}",
                        k.display()
                    ),
                    None => "activate the project's venv or pass --python (or use --snapshot FILE)"
                        .into(),
                };
            return Err(ProbeProblem::KedroMissing {
                python: python.to_path_buf(),
                reason: reason.to_string(),
                hint,
            }
            .into());
        }
        Some(("old-python", reason)) => {
            return Err(ProbeProblem::OldPython {
                python: python.to_path_buf(),
                reason: reason.to_string(),
            }
            .into());
        }
        Some(("not-a-project", reason)) => {
            // Kedro's own message says it all; the traceback would only repeat it.
            tail_lines.clear();
            ProbeProblem::NotAProject {
                root: project.root.clone(),
                reason: reason.trim_end_matches('.').to_string(),
            }
        }
        Some(("project-import", reason)) => project_import_error(project, python, reason),
        Some(("config", reason)) => ProbeProblem::Config {
            env: project.env.clone(),
            reason: reason.to_string(),
        },
        Some((kind, reason)) => ProbeProblem::Bug {
            kind: kind.to_string(),
            reason: reason.to_string(),
        },
        None => {
            let how = describe_status(&out.status);
            let hint = if out.stderr.contains("SyntaxError")
                || out.stderr.contains("invalid syntax")
            {
                "kfpx needs Python 3.8 or later: pass the project's interpreter with --python"
            } else {
                "is it the project's Python interpreter? pass --python, set KFPX_PYTHON, or use \
                 --snapshot FILE"
            };
            ProbeProblem::Crashed {
                python: python.to_path_buf(),
                how,
                hint,
            }
        }
    };
    Err(ProbeError {
        problem,
        tail: tail_lines,
    }
    .into())
}

/// Distributions whose name differs from the module they provide (for a `pip install` hint
/// that works as written).
const MODULE_PACKAGES: &[(&str, &str)] = &[
    ("sklearn", "scikit-learn"),
    ("skimage", "scikit-image"),
    ("cv2", "opencv-python"),
    ("PIL", "Pillow"),
    ("yaml", "PyYAML"),
    ("bs4", "beautifulsoup4"),
    ("dateutil", "python-dateutil"),
    ("google.cloud", "google-cloud-storage"),
    ("jwt", "PyJWT"),
    ("dotenv", "python-dotenv"),
];

/// A project that fails to import: a short first line with where, then the exception as
/// `cause:` and what to do as `help:`. `reason` is the probe's `ExcType: message (at file:line)`.
fn project_import_error(project: &Project, python: &Path, reason: &str) -> ProbeProblem {
    let (what, location) = match reason.rsplit_once(" (at ") {
        Some((what, at)) if at.ends_with(')') => (what, Some(&at[..at.len() - 1])),
        _ => (reason, None),
    };
    let cause: String = what.chars().take(TAIL_LINE_MAX).collect();
    let missing = what
        .split_once("No module named '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(name, _)| name);
    let py = python.display();
    let help = match missing {
        Some(module)
            if project
                .package
                .as_deref()
                .is_some_and(|p| module == p || module.starts_with(&format!("{p}."))) =>
        {
            format!(
                "`{module}` is part of the project itself: fix the import{}",
                location.map(|at| format!(" at {at}")).unwrap_or_default()
            )
        }
        Some(module) => {
            let top = module.split('.').next().unwrap_or(module);
            let package = MODULE_PACKAGES
                .iter()
                .find(|(m, _)| module == *m || module.starts_with(&format!("{m}.")) || top == *m)
                .map_or(top, |(_, p)| p);
            format!(
                "install it into the interpreter kfpx used: `{py} -m pip install {package}`, or \
                 pass --python with the interpreter that has the project's dependencies"
            )
        }
        None => format!(
            "fix the error{} (`kedro registry list` shows it too), or use --snapshot FILE",
            location.map(|at| format!(" at {at}")).unwrap_or_default()
        ),
    };
    ProbeProblem::ProjectImport {
        location: location.map(str::to_string),
        cause,
        help,
    }
}

/// The interpreter of the first `kedro` script on `path_var` (from its `#!` line), when it
/// exists and is not `current`: most likely the one the user meant.
fn kedro_python_on_path(path_var: &std::ffi::OsStr, current: &Path) -> Option<PathBuf> {
    let script = std::env::split_paths(path_var)
        .map(|dir| dir.join("kedro"))
        .find(|p| p.is_file())?;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(&script).ok()?.read(&mut head).ok()?;
    let first = String::from_utf8_lossy(&head[..n]);
    let interpreter = first
        .lines()
        .next()?
        .strip_prefix("#!")?
        .split_whitespace()
        .next()?;
    let interpreter = PathBuf::from(interpreter);
    let is_python = interpreter
        .file_name()
        .is_some_and(|f| f.to_string_lossy().starts_with("python"));
    (is_python && interpreter.is_absolute() && interpreter.is_file() && interpreter != current)
        .then_some(interpreter)
}

fn describe_status(status: &ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    "killed".to_string()
}

fn parse_snapshot(python: &Path, stdout: &[u8], stderr: &str) -> Result<Snapshot, GraphError> {
    let text = String::from_utf8_lossy(stdout);
    if text.trim().is_empty() {
        return Err(ProbeError {
            problem: ProbeProblem::NoOutput {
                python: python.to_path_buf(),
            },
            tail: tail(stderr),
        }
        .into());
    }
    // Check the header first, so a snapshot from another kfpx version gets a clear error
    // rather than a field-level one.
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        let start: String = text.trim().chars().take(60).collect();
        GraphError::from(ProbeProblem::InvalidJson {
            python: python.to_path_buf(),
            error: e.to_string(),
            start,
        })
    })?;
    let format = value.get("format").and_then(|v| v.as_str());
    let version = value.get("version").and_then(|v| v.as_u64());
    if format != Some(SNAPSHOT_FORMAT) || version != Some(u64::from(SNAPSHOT_VERSION)) {
        return Err(ProbeProblem::WrongDocument {
            python: python.to_path_buf(),
            format: format.map_or_else(|| "missing".to_string(), |f| format!("{f:?}")),
            version: version.map_or_else(|| "missing".to_string(), |v| v.to_string()),
        }
        .into());
    }
    serde_json::from_value(value).map_err(|e| {
        GraphError::from(ProbeProblem::Unreadable {
            python: python.to_path_buf(),
            error: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch_exe(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn explicit_python_wins_over_everything() {
        let dir = tempfile::tempdir().unwrap();
        touch_exe(&venv_python(&dir.path().join(".venv")));
        let got = resolve_python_from(
            dir.path(),
            Some(Path::new("/opt/py/bin/python")),
            Some("/env/python".into()),
            Some(dir.path().join(".venv").into()),
            None,
        );
        assert_eq!(got, PathBuf::from("/opt/py/bin/python"));
    }

    #[test]
    fn kfpx_python_is_used_as_given_even_if_missing() {
        let dir = tempfile::tempdir().unwrap();
        touch_exe(&venv_python(&dir.path().join(".venv")));
        let got = resolve_python_from(dir.path(), None, Some("/nope/python".into()), None, None);
        assert_eq!(got, PathBuf::from("/nope/python"));
        // An empty KFPX_PYTHON counts as unset.
        let got = resolve_python_from(dir.path(), None, Some("".into()), None, None);
        assert_eq!(got, venv_python(&dir.path().join(".venv")));
    }

    #[test]
    fn virtual_env_comes_before_project_venv_but_only_if_it_has_python() {
        let dir = tempfile::tempdir().unwrap();
        let active = dir.path().join("active-venv");
        touch_exe(&venv_python(&active));
        touch_exe(&venv_python(&dir.path().join(".venv")));
        let got = resolve_python_from(dir.path(), None, None, Some(active.clone().into()), None);
        assert_eq!(got, venv_python(&active));

        let broken = dir.path().join("no-such-venv");
        let got = resolve_python_from(dir.path(), None, None, Some(broken.into()), None);
        assert_eq!(got, venv_python(&dir.path().join(".venv")));
    }

    #[test]
    fn relative_interpreter_paths_are_taken_from_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = std::env::current_dir().unwrap();
        let got = resolve_python_from(
            dir.path(),
            Some(Path::new("venv/bin/python")),
            None,
            None,
            None,
        );
        assert_eq!(got, cwd.join("venv/bin/python"));
        let got = resolve_python_from(dir.path(), None, Some("./py".into()), None, None);
        assert!(
            got.is_absolute() && got.ends_with("py"),
            "{}",
            got.display()
        );
        // A bare name stays a PATH lookup.
        let got = resolve_python_from(dir.path(), Some(Path::new("python3.12")), None, None, None);
        assert_eq!(got, PathBuf::from("python3.12"));
    }

    #[test]
    fn probe_mode_comes_from_kfpx_probe_mode() {
        assert_eq!(parse_mode(None).unwrap(), None);
        assert_eq!(parse_mode(Some("")).unwrap(), None);
        assert_eq!(parse_mode(Some("full")).unwrap(), Some(ProbeMode::Full));
        assert_eq!(parse_mode(Some(" lite ")).unwrap(), Some(ProbeMode::Lite));
        let err = parse_mode(Some("fast")).unwrap_err().to_string();
        assert!(
            err.starts_with("KFPX_PROBE_MODE must be `lite` or `full`, got \"fast\"\n  help: "),
            "{err}"
        );
    }

    #[test]
    fn remembered_python_comes_after_the_active_venv_and_before_the_project_venv() {
        let dir = tempfile::tempdir().unwrap();
        let remembered = dir.path().join("elsewhere/bin/python");
        touch_exe(&remembered);
        touch_exe(&venv_python(&dir.path().join(".venv")));
        let got = resolve_python_from(dir.path(), None, None, None, Some(&remembered));
        assert_eq!(got, remembered);
        let active = dir.path().join("active");
        touch_exe(&venv_python(&active));
        let got = resolve_python_from(
            dir.path(),
            None,
            None,
            Some(active.clone().into()),
            Some(&remembered),
        );
        assert_eq!(got, venv_python(&active));
        // Gone: skipped.
        let gone = dir.path().join("gone/python");
        let got = resolve_python_from(dir.path(), None, None, None, Some(&gone));
        assert_eq!(got, venv_python(&dir.path().join(".venv")));
    }

    #[test]
    fn falls_back_to_python3() {
        let dir = tempfile::tempdir().unwrap();
        let got = resolve_python_from(dir.path(), None, None, None, None);
        assert_eq!(got, PathBuf::from(DEFAULT_PYTHON));
    }

    #[test]
    fn kedro_on_path_points_at_its_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("venv/bin");
        let python = bin.join("python3.11");
        touch_exe(&python);
        std::fs::write(
            bin.join("kedro"),
            format!("#!{}\nimport sys\n", python.display()),
        )
        .unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let path_var = std::env::join_paths([&empty, &bin]).unwrap();
        assert_eq!(
            kedro_python_on_path(&path_var, Path::new("python3")),
            Some(python.clone())
        );
        // Not a hint when it is the interpreter that was just tried.
        assert_eq!(kedro_python_on_path(&path_var, &python), None);
        // Nor when no kedro is on PATH.
        let path_var = std::env::join_paths([&empty]).unwrap();
        assert_eq!(kedro_python_on_path(&path_var, Path::new("python3")), None);
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_urls("DatasetError: s3://AKIA:se/cr@bucket/x.csv failed\nat https://u:p@h:9/a"),
            "DatasetError: s3://<redacted>@bucket/x.csv failed\nat https://<redacted>@h:9/a"
        );
        let plain = "File \"/src/a.py\", line 3 gs://bucket/x.pq file:///tmp/x report@2024.csv";
        assert_eq!(redact_urls(plain), plain);
        assert_eq!(
            redact_urls("'postgresql://me:pw@db:5432/x'"),
            "'postgresql://<redacted>@db:5432/x'"
        );
    }

    #[test]
    fn marker_line_is_found_and_split() {
        let stderr = "INFO x\nkfpx-probe-error: project-import: RuntimeError: a: b (at p.py:3)\n";
        assert_eq!(
            marker(stderr),
            Some(("project-import", "RuntimeError: a: b (at p.py:3)"))
        );
        assert_eq!(marker("Traceback...\nValueError: x\n"), None);
    }

    #[test]
    fn tail_keeps_last_lines_without_marker_and_blank_lines() {
        let stderr = "1\n2\n\n3\n4\n5\n6\n   \nkfpx-probe-error: config: x\n";
        assert_eq!(tail(stderr), vec!["2", "3", "4", "5", "6"]);
        let long = "x".repeat(1000);
        let t = tail(&long);
        assert_eq!(t[0].chars().count(), TAIL_LINE_MAX + 1);
        assert!(t[0].ends_with('…'));
    }

    #[test]
    fn error_is_one_line_when_there_is_no_tail() {
        assert_eq!(with_tail("reason: hint".into(), &[]), "reason: hint");
        let msg = with_tail("reason: hint".into(), &["a".into(), "b".into()]);
        let lines: Vec<&str> = msg.lines().collect();
        assert_eq!(lines[0], "reason: hint");
        assert_eq!(&lines[2..], ["  | a", "  | b"]);
    }

    #[test]
    fn embedded_script_speaks_the_marker_protocol() {
        // The Rust side and the script must agree on the marker and the kinds.
        assert!(PROBE_SCRIPT.contains("MARKER = \"kfpx-probe-error\""));
        for kind in ["kedro-missing", "not-a-project", "project-import", "config"] {
            assert!(PROBE_SCRIPT.contains(&format!("\"{kind}\"")), "{kind}");
        }
        assert!(PROBE_SCRIPT.contains(&format!("\"version\": {SNAPSHOT_VERSION}")));
    }
}
