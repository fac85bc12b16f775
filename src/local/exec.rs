//! The scheduler: starts each task of a [`Plan`] as its own process group once its upstream
//! tasks allow it, up to `jobs` at a time; after a failure only exit tasks start (as KFP and
//! Argo run exit handlers); retries per the task's policy; an interrupt stops every running
//! group (SIGTERM, then SIGKILL after a grace period) and starts nothing more.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::local::plan::{
    Action, Launch, MountSource, Outcome, Plan, RunState, Spec, IMAGE_PROJECT_ROOT,
};
use crate::local::{argo, v2, view, Event, LocalError, Observer, Options, TaskStatus};

/// How long a task's process group gets between SIGTERM and SIGKILL after an interrupt.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How often the loop looks at the interrupt flag while tasks run.
const TICK: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    /// Waiting to retry after a failed attempt.
    Backoff(Instant),
    /// Started; the process group is known once the process exists.
    Running {
        pgid: Option<i32>,
    },
    Done(TaskStatus),
}

/// Per task result, for the summary.
#[derive(Debug, Clone)]
pub struct Record {
    pub status: TaskStatus,
    pub attempts: u32,
    pub elapsed: Duration,
    pub first_start: Option<Instant>,
    pub detail: String,
}

/// What a task's thread reports: it builds the pod's view and starts the process off the
/// scheduler's thread, so slow file systems and exec latency do not serialise the tasks.
enum Msg {
    Started {
        idx: usize,
        pgid: i32,
    },
    Exited {
        idx: usize,
        status: std::io::Result<ExitStatus>,
        running: Box<Running>,
    },
    SpawnFailed {
        idx: usize,
        msg: String,
    },
}

/// Everything one task attempt needs after its process ends.
struct Running {
    launch: Launch,
    view: PathBuf,
    out_dir: PathBuf,
}

/// Where a task's pod lives in the run directory: its view of the project
/// (`tasks/<task>`, the working directory) and, only when the task needs them, its output
/// files outside the project, emptyDir volumes and private copy of `data/` (`pods/<task>/`).
fn pod_dirs(run_dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let f = file_name(name);
    (run_dir.join("tasks").join(&f), run_dir.join("pods").join(f))
}

pub struct Outcomes {
    pub records: Vec<Record>,
    pub interrupted: bool,
    pub kept_volumes: Vec<PathBuf>,
}

pub fn run(
    plan: &Plan,
    opts: &Options,
    run_dir: &Path,
    state: &mut RunState,
    obs: &mut dyn Observer,
    interrupt: &AtomicBool,
) -> Result<Outcomes, LocalError> {
    let mut s = Scheduler::new(plan, opts, run_dir, state, obs)?;
    // Whether the last message can have made a task ready or skippable (a task's start
    // does not: only its end does).
    let mut dirty = true;
    loop {
        if interrupt.load(Ordering::SeqCst) && !s.interrupted {
            s.interrupt();
        }
        // Skip what can no longer run; start what can (only after a message that can change
        // that: the start of a task cannot).
        if !s.interrupted && dirty {
            s.pass();
        }
        if !s.interrupted && s.wake_backoffs() {
            dirty = true;
            continue;
        }
        let busy = s
            .states
            .iter()
            .any(|st| matches!(st, State::Running { .. } | State::Backoff(_)));
        if !busy {
            // Anything still pending waits for nothing that can happen: the run is over.
            break;
        }
        let any_running = s
            .states
            .iter()
            .any(|st| matches!(st, State::Running { .. }));
        if s.interrupted && !any_running {
            break;
        }
        let wait = next_wake(&s.states).map_or(TICK, |t| {
            t.saturating_duration_since(Instant::now()).min(TICK)
        });
        let received = s.rx.recv_timeout(wait);
        dirty = !matches!(received, Ok(Msg::Started { .. }));
        match received {
            Ok(Msg::Started { idx, pgid }) => s.started(idx, pgid),
            Ok(Msg::SpawnFailed { idx, msg }) => s.ended(idx, Err(msg), None),
            Ok(Msg::Exited {
                idx,
                status,
                running,
            }) => s.ended(idx, Ok(status), Some(running)),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if s.interrupted {
            s.escalate();
        }
    }
    Ok(s.finish())
}

/// The run's state while it runs: one [`State`] and [`Record`] per task, and what their
/// threads need.
struct Scheduler<'a> {
    plan: &'a Plan,
    opts: &'a Options,
    run_dir: &'a Path,
    state: &'a mut RunState,
    obs: &'a mut dyn Observer,
    logs: PathBuf,
    tasks_dir: PathBuf,
    pods_dir: PathBuf,
    volumes_dir: PathBuf,
    image_dir: PathBuf,
    /// The project as the image holds it: walked and its small files copied once per run.
    image: std::sync::Arc<view::Image>,
    stamps: Vec<(PathBuf, view::FileStamp)>,
    base_env: Vec<(String, String)>,
    states: Vec<State>,
    records: Vec<Record>,
    /// When each task's current attempt started.
    started_at: BTreeMap<usize, Instant>,
    volumes: BTreeMap<String, PathBuf>,
    /// A task failed for good: from now on only exit tasks start.
    failed: bool,
    interrupted: bool,
    term_at: Option<Instant>,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    /// Tells task threads that have not started their process yet to stop it at once.
    stop: std::sync::Arc<AtomicBool>,
}

/// Whether a pending task can start.
enum Readiness {
    Ready,
    /// An upstream task has not ended.
    Waiting,
    /// An upstream task it needs to succeed did not.
    Blocked,
}

impl<'a> Scheduler<'a> {
    fn new(
        plan: &'a Plan,
        opts: &'a Options,
        run_dir: &'a Path,
        state: &'a mut RunState,
        obs: &'a mut dyn Observer,
    ) -> Result<Self, LocalError> {
        let n = plan.tasks.len();
        let logs = run_dir.join("logs");
        let tasks_dir = run_dir.join("tasks");
        for d in [&logs, &tasks_dir] {
            std::fs::create_dir_all(d).map_err(|e| LocalError::io("create", d, e))?;
        }
        let image_dir = run_dir.join("image");
        let image = std::sync::Arc::new(
            view::Image::snapshot(&opts.project_root, &image_dir)
                .map_err(|e| LocalError::io("copy the project into", &image_dir, e))?,
        );
        let stamps = image.stamps();
        let python_dir = opts
            .python
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf);
        let (tx, rx) = mpsc::channel::<Msg>();
        Ok(Scheduler {
            plan,
            opts,
            run_dir,
            state,
            obs,
            logs,
            tasks_dir,
            pods_dir: run_dir.join("pods"),
            volumes_dir: run_dir.join("volumes"),
            image_dir,
            image,
            stamps,
            base_env: base_env(&opts.env, python_dir.as_deref()),
            states: vec![State::Pending; n],
            records: (0..n)
                .map(|_| Record {
                    status: TaskStatus::Skipped,
                    attempts: 0,
                    elapsed: Duration::ZERO,
                    first_start: None,
                    detail: String::new(),
                })
                .collect(),
            started_at: BTreeMap::new(),
            volumes: BTreeMap::new(),
            failed: false,
            interrupted: false,
            term_at: None,
            tx,
            rx,
            stop: std::sync::Arc::new(AtomicBool::new(false)),
        })
    }

    /// Ctrl-C: nothing more starts; every running group gets SIGTERM.
    fn interrupt(&mut self) {
        self.interrupted = true;
        self.term_at = Some(Instant::now());
        self.stop.store(true, Ordering::SeqCst);
        kill_all(&self.states, libc::SIGTERM);
    }

    /// After an interrupt: SIGKILL once the grace period is over; backoffs never start.
    fn escalate(&mut self) {
        if self.term_at.is_some_and(|t| t.elapsed() > KILL_GRACE) {
            kill_all(&self.states, libc::SIGKILL);
        }
        for s in self.states.iter_mut() {
            if matches!(s, State::Backoff(_)) {
                *s = State::Done(TaskStatus::Interrupted);
            }
        }
    }

    /// One pass over the pending tasks: skip those that can no longer run, start those that
    /// can, up to `jobs` running.
    fn pass(&mut self) {
        // Counted once per pass, not per candidate (a pass over 1,000 tasks was quadratic).
        let mut active = self
            .states
            .iter()
            .filter(|s| matches!(s, State::Running { .. }))
            .count();
        for i in 0..self.plan.tasks.len() {
            if active >= self.opts.jobs && !self.failed {
                // Nothing can start, and before a failure nothing is skipped either.
                break;
            }
            if self.states[i] != State::Pending {
                continue;
            }
            if self.failed && !self.plan.tasks[i].exit {
                self.skip(i);
                continue;
            }
            match self.readiness(i) {
                Readiness::Blocked => self.skip(i),
                Readiness::Waiting => {}
                Readiness::Ready if active >= self.opts.jobs => {}
                Readiness::Ready => {
                    self.started_at.insert(i, Instant::now());
                    self.start_task(i);
                    if matches!(self.states[i], State::Running { .. }) {
                        active += 1;
                    }
                }
            }
        }
    }

    fn readiness(&self, i: usize) -> Readiness {
        let mut waiting = false;
        for d in &self.plan.tasks[i].deps {
            match &self.states[d.task] {
                State::Done(s) if d.needs_success && *s != TaskStatus::Succeeded => {
                    return Readiness::Blocked
                }
                State::Done(_) => {}
                _ => waiting = true,
            }
        }
        if waiting {
            Readiness::Waiting
        } else {
            Readiness::Ready
        }
    }

    fn skip(&mut self, i: usize) {
        self.states[i] = State::Done(TaskStatus::Skipped);
        self.state.outcomes.insert(i, Outcome::Skipped);
        self.obs.event(Event::Skipped {
            task: &self.plan.tasks[i].name,
        });
    }

    /// Retries whose delay has passed go back to pending; whether any did.
    fn wake_backoffs(&mut self) -> bool {
        let now = Instant::now();
        let mut woke = false;
        for s in self.states.iter_mut() {
            if let State::Backoff(t) = s {
                if *t <= now {
                    *s = State::Pending;
                    woke = true;
                }
            }
        }
        woke
    }

    /// A task's process exists: its group is known (and stopped at once after an interrupt).
    fn started(&mut self, idx: usize, pgid: i32) {
        self.states[idx] = State::Running { pgid: Some(pgid) };
        if self.interrupted {
            // SAFETY: signals the process group the task's thread created.
            unsafe {
                libc::kill(-pgid, libc::SIGTERM);
            }
        }
    }

    /// A task's attempt ended (`result`: its exit status, or why it could not start): collect
    /// its outputs, check the image, and settle it as succeeded, retried or failed.
    fn ended(
        &mut self,
        i: usize,
        result: Result<std::io::Result<ExitStatus>, String>,
        r: Option<Box<Running>>,
    ) {
        let t = &self.plan.tasks[i];
        let elapsed = self
            .started_at
            .get(&i)
            .map_or(Duration::ZERO, |s| s.elapsed());
        self.records[i].elapsed += elapsed;
        let mut detail = match &result {
            Ok(Ok(s)) if s.success() => String::new(),
            Ok(Ok(s)) => describe(s),
            Ok(Err(e)) => format!("could not wait for the process: {e}"),
            Err(msg) => msg.clone(),
        };
        if detail.is_empty() {
            if let Some(r) = &r {
                if let Err(e) = collect_outputs(i, t, r, self.state) {
                    detail = e;
                }
            }
        }
        let log = self.logs.join(format!("{}.log", file_name(&t.name)));
        if r.is_some() {
            if let Some(rel) = self.image.changed(&mut self.stamps) {
                let msg = format!(
                    "{} of the project was rewritten in place while this task ran (by it or a task beside it); run-local's task views share the image's files as hard links, so other tasks may have seen the change (on a cluster it stays in its pod); write a new file instead",
                    rel.display()
                );
                if detail.is_empty() {
                    detail = msg;
                } else {
                    append_log(&log, &format!("kfpx: {msg}\n"));
                }
            }
        }
        if !detail.is_empty() {
            append_log(&log, &format!("kfpx: {detail}\n"));
        }
        let retry_in = if self.interrupted || detail.is_empty() {
            None
        } else {
            retry_delay(t, &self.records[i], self.opts.no_retry)
        };
        if let Some(r) = &r {
            let _ = std::fs::remove_dir_all(&r.out_dir);
        }
        if self.interrupted {
            self.settle(
                i,
                TaskStatus::Interrupted,
                elapsed,
                None,
                "stopped by Ctrl-C",
            );
        } else if detail.is_empty() {
            self.settle(i, TaskStatus::Succeeded, elapsed, None, "");
        } else {
            self.settle(i, TaskStatus::Failed, elapsed, retry_in, &detail);
        }
    }

    /// Task `i`'s attempt ended with `status`: its state (a retry waits in `Backoff`), its
    /// outcome for the tasks after it, its detail, and the event. The record's status is read
    /// from the state when the run ends ([`Scheduler::finish`]).
    fn settle(
        &mut self,
        i: usize,
        status: TaskStatus,
        elapsed: Duration,
        retry_in: Option<Duration>,
        detail: &str,
    ) {
        if let Some(d) = retry_in {
            self.states[i] = State::Backoff(Instant::now() + d);
        } else {
            self.states[i] = State::Done(status);
            match status {
                TaskStatus::Succeeded => {
                    self.state.outcomes.insert(i, Outcome::Succeeded);
                }
                TaskStatus::Failed => {
                    self.state.outcomes.insert(i, Outcome::Failed);
                    self.failed = true;
                }
                TaskStatus::Skipped | TaskStatus::Interrupted => {}
            }
        }
        if !detail.is_empty() {
            self.records[i].detail = detail.to_string();
        }
        self.obs.event(Event::Finished {
            task: &self.plan.tasks[i].name,
            status,
            elapsed,
            attempt: self.records[i].attempts,
            retry_in,
            detail,
        });
    }

    /// The records, with views and empty volume directories removed.
    fn finish(mut self) -> Outcomes {
        for (i, s) in self.states.iter().enumerate() {
            if let State::Done(st) = s {
                self.records[i].status = *st;
            } else if self.interrupted {
                self.records[i].status = TaskStatus::Skipped;
            }
        }
        // Views go at the end, not as each task ends: where ext4 runs without a journal (as on
        // the benchmark machine), allocating an inode skips every inode of its group deleted in
        // the last half minute or so, and removing views during the run made each later view
        // slower to build than the removal saved (BENCHMARKS.md).
        if !self.opts.keep_views {
            for d in [&self.tasks_dir, &self.pods_dir, &self.image_dir] {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        // Only removed when no volume is left in it.
        let _ = std::fs::remove_dir(&self.volumes_dir);
        Outcomes {
            records: self.records,
            interrupted: self.interrupted,
            kept_volumes: self.volumes.into_values().filter(|p| p.exists()).collect(),
        }
    }
}

fn next_wake(states: &[State]) -> Option<Instant> {
    states
        .iter()
        .filter_map(|s| match s {
            State::Backoff(t) => Some(*t),
            _ => None,
        })
        .min()
}

fn kill_all(states: &[State], sig: i32) {
    for s in states {
        if let State::Running { pgid: Some(pgid) } = s {
            // SAFETY: kill(2) with a negative pid signals the process group we created.
            unsafe {
                libc::kill(-*pgid, sig);
            }
        }
    }
}

/// The delay before the next attempt, or `None` when the policy allows no more.
fn retry_delay(t: &crate::local::plan::Task, rec: &Record, no_retry: bool) -> Option<Duration> {
    if no_retry || rec.attempts > t.retry.limit {
        return None;
    }
    let delay = t.retry.delay(rec.attempts);
    if let (Some(max), Some(first)) = (t.retry.max_duration, rec.first_start) {
        // Argo: no retry once the next attempt would start after first start + maxDuration.
        if first.elapsed() + delay > max {
            return None;
        }
    }
    Some(delay)
}

impl Scheduler<'_> {
    /// Start an attempt of task `i`: volumes are made or removed here; a container runs on a
    /// thread of its own, which reports through the channel.
    fn start_task(&mut self, i: usize) {
        let t = &self.plan.tasks[i];
        self.records[i].attempts += 1;
        let attempt = self.records[i].attempts;
        let started = Instant::now();
        self.records[i].first_start.get_or_insert(started);
        self.obs.event(Event::Started {
            task: &t.name,
            attempt,
        });
        let log_path = self.logs.join(format!("{}.log", file_name(&t.name)));
        let action = match &t.spec {
            Spec::V2(l) => v2::resolve(l, i, &t.name, self.state),
            Spec::Argo(l) => argo::resolve(l, &t.name, self.state),
        };
        let launch = match action {
            Err(msg) => return self.failed_to_start(i, started, &log_path, msg),
            Ok(Action::CreateVolume {
                name,
                outputs,
                globals,
            }) => {
                let dir = self.volumes_dir.join(file_name(&name));
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    let msg = format!("cannot create volume directory {}: {e}", dir.display());
                    return self.failed_to_start(i, started, &log_path, msg);
                }
                self.volumes.insert(name.clone(), dir.clone());
                self.state.outputs.insert(i, outputs);
                for (g, v) in globals {
                    self.state.globals.insert(g, v);
                }
                let note = format!("volume {name} created at {}", dir.display());
                return self.done_at_once(i, started, &log_path, &note);
            }
            Ok(Action::DeleteVolume { name }) => {
                let note = match self.volumes.get(&name) {
                    Some(dir) if self.opts.keep => {
                        format!("volume {name} kept at {} (--keep)", dir.display())
                    }
                    Some(dir) => {
                        if let Err(e) = std::fs::remove_dir_all(dir) {
                            let msg =
                                format!("cannot delete volume directory {}: {e}", dir.display());
                            return self.failed_to_start(i, started, &log_path, msg);
                        }
                        format!("volume {name} deleted")
                    }
                    None => {
                        let msg = format!("volume {name} was not created by this run");
                        return self.failed_to_start(i, started, &log_path, msg);
                    }
                };
                return self.done_at_once(i, started, &log_path, &note);
            }
            Ok(Action::Exec(l)) => l,
        };
        self.states[i] = State::Running { pgid: None };
        let job = Job {
            idx: i,
            name: t.name.clone(),
            launch,
            project_root: self.opts.project_root.clone(),
            env: self.opts.env.clone(),
            volumes: self.volumes.clone(),
            run_dir: self.run_dir.to_path_buf(),
            image: self.image.clone(),
            log_path,
            attempt,
            base_env: self.base_env.clone(),
        };
        let tx = self.tx.clone();
        let stop = self.stop.clone();
        std::thread::spawn(move || {
            let idx = job.idx;
            match spawn(job) {
                Ok((mut child, running)) => {
                    let pgid = child.id() as i32;
                    let _ = tx.send(Msg::Started { idx, pgid });
                    if stop.load(Ordering::SeqCst) {
                        // SAFETY: signals the process group this thread just created.
                        unsafe {
                            libc::kill(-pgid, libc::SIGTERM);
                        }
                    }
                    let status = child.wait();
                    let _ = tx.send(Msg::Exited {
                        idx,
                        status,
                        running: Box::new(running),
                    });
                }
                Err(msg) => {
                    let _ = tx.send(Msg::SpawnFailed { idx, msg });
                }
            }
        });
    }

    /// Task `i` failed before any process started (no retry: the cause is in the document or
    /// on this machine).
    fn failed_to_start(&mut self, i: usize, started: Instant, log: &Path, msg: String) {
        append_log(log, &format!("kfpx: {msg}\n"));
        self.settle(i, TaskStatus::Failed, started.elapsed(), None, &msg);
    }

    /// Task `i` was done by kfpx itself (a volume made or removed); `note` goes to its log.
    fn done_at_once(&mut self, i: usize, started: Instant, log: &Path, note: &str) {
        append_log(log, &format!("kfpx: {note}\n"));
        self.records[i].elapsed = started.elapsed();
        self.settle(i, TaskStatus::Succeeded, started.elapsed(), None, "");
    }
}

/// Everything a task's thread needs.
struct Job {
    idx: usize,
    name: String,
    launch: Launch,
    project_root: PathBuf,
    env: BTreeMap<String, String>,
    volumes: BTreeMap<String, PathBuf>,
    run_dir: PathBuf,
    image: std::sync::Arc<view::Image>,
    log_path: PathBuf,
    attempt: u32,
    base_env: Vec<(String, String)>,
}

fn spawn(job: Job) -> Result<(std::process::Child, Running), String> {
    let Job {
        name,
        launch,
        project_root,
        env: local_env,
        volumes,
        run_dir,
        image,
        log_path,
        attempt,
        base_env,
        ..
    } = job;
    let name = name.as_str();
    let log_path = log_path.as_path();
    let (view_dir, pod_dir) = pod_dirs(&run_dir, name);
    // A retried pod starts from a fresh file system.
    if attempt > 1 {
        let _ = std::fs::remove_dir_all(&view_dir);
        let _ = std::fs::remove_dir_all(&pod_dir);
    }
    let out_dir = pod_dir.join("outputs");
    let mounts = pod_mounts(&launch, &volumes, &pod_dir, &project_root)?;
    image.view(&view_dir, &mounts).map_err(|e| {
        format!(
            "cannot build the task's project view in {}: {e}",
            view_dir.display()
        )
    })?;
    let (outputs, paths) =
        place_outputs(&launch, view_dir.to_string_lossy().into_owned(), &out_dir);
    let argv: Vec<String> = launch.argv.iter().map(|a| paths.map(a)).collect();
    let mut env: Vec<(String, String)> = base_env.to_vec();
    for (k, v) in &launch.env {
        env.push((k.clone(), paths.map(v)));
    }
    for (var, _secret, _optional) in &launch.secret_env {
        if let Some(v) = local_env.get(var) {
            env.push((var.clone(), v.clone()));
        }
    }
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| format!("cannot open log {}: {e}", log_path.display()))?;
    let _ = writeln!(log, "=== kfpx: {name}, attempt {attempt} ===");
    let err_log = log
        .try_clone()
        .map_err(|e| format!("cannot open log {}: {e}", log_path.display()))?;
    // The program is looked up on the task's PATH here, as the container runtime does before
    // exec, so that std starts the process with posix_spawn (a vfork-style clone) rather
    // than fork and exec: std falls back to fork when it would have to search a PATH the child
    // sets. argv[0] stays as the document wrote it.
    let task_path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str());
    let program = find_program(&argv[0], task_path, &view_dir);
    let mut cmd = Command::new(program.as_deref().unwrap_or(Path::new(&argv[0])));
    std::os::unix::process::CommandExt::arg0(&mut cmd, &argv[0]);
    cmd.args(&argv[1..])
        .current_dir(&view_dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err_log));
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child =
        spawn_retrying_busy(&mut cmd).map_err(|e| format!("cannot start `{}`: {e}", argv[0]))?;
    Ok((
        child,
        Running {
            launch: Launch { outputs, ..launch },
            view: view_dir,
            out_dir,
        },
    ))
}

/// Where the task's volumes go in its view (paths relative to the project root): the run's
/// PVCs, emptyDirs under `pod_dir`, and a private copy of `data/` when the run has a data
/// volume this task does not mount.
fn pod_mounts(
    launch: &Launch,
    volumes: &BTreeMap<String, PathBuf>,
    pod_dir: &Path,
    project_root: &Path,
) -> Result<BTreeMap<PathBuf, PathBuf>, String> {
    let mut mounts: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (n, m) in launch.mounts.iter().enumerate() {
        let local = match &m.source {
            MountSource::Volume(pvc) => volumes.get(pvc).cloned().ok_or_else(|| {
                format!("mounts PVC `{pvc}` at {}, which this run did not create; run-local can only mount the run's own volumes", m.path)
            })?,
            MountSource::EmptyDir => {
                let d = pod_dir.join(format!("emptydir-{n}"));
                std::fs::create_dir_all(&d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
                d
            }
        };
        match Path::new(&m.path).strip_prefix(IMAGE_PROJECT_ROOT) {
            Ok(rel) if !rel.as_os_str().is_empty() => {
                mounts.insert(rel.to_path_buf(), local);
            }
            _ if m.source == MountSource::EmptyDir => {
                // An emptyDir outside the project (e.g. /dev/shm): the host's directory serves.
            }
            _ => {
                return Err(format!(
                    "mounts a volume at {}, outside the image's project root {IMAGE_PROJECT_ROOT}; run-local cannot place it there",
                    m.path
                ))
            }
        }
    }
    // With a data volume in the run, a pod that does not mount it sees the image's own data/
    // (a private copy), not the volume and not what other pods write.
    if !volumes.is_empty() && !mounts.keys().any(|m| Path::new("data").starts_with(m)) {
        let copy = pod_dir.join("image-data");
        view::copy_tree(&project_root.join("data"), &copy)
            .map_err(|e| format!("cannot copy the project's data/ for the task: {e}"))?;
        mounts.insert(PathBuf::from("data"), copy);
    }
    Ok(mounts)
}

/// How a path the document names (in the image) reads on this machine: the project root is
/// the task's view, and output files outside it are in the task's own directory.
struct PathMap {
    view: String,
    /// (path in the document, path here) for each output file outside the project root.
    rewrites: Vec<(String, String)>,
}

impl PathMap {
    fn map(&self, s: &str) -> String {
        let mut s = view::map_root(s, IMAGE_PROJECT_ROOT, &self.view);
        for (from, to) in &self.rewrites {
            if s.contains(from.as_str()) {
                s = s.replace(from.as_str(), to);
            }
        }
        s
    }
}

/// The task's output files, placed on this machine (their directories made): under the project
/// root they land in the view; elsewhere in the task's own directory, and the command's mention
/// of the path follows.
fn place_outputs(
    launch: &Launch,
    view: String,
    out_dir: &Path,
) -> (Vec<(String, String)>, PathMap) {
    let mut rewrites: Vec<(String, String)> = Vec::new();
    let mut outputs = Vec::new();
    for (k, p) in &launch.outputs {
        let local = local_path(p, &view, out_dir);
        if let Some(parent) = Path::new(&local).parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if !p.starts_with(IMAGE_PROJECT_ROOT) {
            rewrites.push((p.clone(), local.clone()));
        }
        outputs.push((k.clone(), local));
    }
    (outputs, PathMap { view, rewrites })
}

/// The file `name` names as `execvp` finds it: itself when it holds a `/`, else the first
/// executable regular file of that name in a directory of `path` (an empty entry is the working
/// directory `cwd`, as are relative entries' bases). `None` when there is none; the caller then
/// hands the bare name to std, which reports it as not found.
pub(crate) fn find_program(name: &str, path: Option<&str>, cwd: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    for dir in path.unwrap_or("/usr/local/bin:/usr/bin:/bin").split(':') {
        let candidate = cwd.join(dir).join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let Ok(c) = std::ffi::CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: access(2) reads the NUL-terminated path, which outlives the call.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
            return Some(candidate);
        }
    }
    None
}

/// Executing a file another thread has just written can fail with ETXTBSY while a forked child
/// still holds it open for writing; retry briefly (as the probe does).
fn spawn_retrying_busy(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn local_path(p: &str, view: &str, out_dir: &Path) -> String {
    if let Some(rest) = p.strip_prefix(IMAGE_PROJECT_ROOT) {
        format!("{view}{rest}")
    } else {
        out_dir
            .join(p.trim_start_matches('/'))
            .to_string_lossy()
            .into_owned()
    }
}

/// Read the output parameters a successful command wrote; check Argo's output artifacts exist.
fn collect_outputs(
    i: usize,
    t: &crate::local::plan::Task,
    r: &Running,
    state: &mut RunState,
) -> Result<(), String> {
    let mut values = BTreeMap::new();
    for (k, path) in &r.launch.outputs {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("output parameter `{k}`: cannot read {path}: {e}"))?;
        let v = match &t.spec {
            Spec::V2(l) => v2::output_value(l, k, &text)?,
            Spec::Argo(_) => Value::String(text),
        };
        values.insert(k.clone(), v);
    }
    let view = r.view.to_string_lossy();
    for (p, optional) in &r.launch.artifacts {
        let local = local_path(p, &view, &r.out_dir);
        if !*optional && std::fs::symlink_metadata(&local).is_err() {
            return Err(format!(
                "output artifact {p} was not written (Argo fails a step whose non-optional artifact is missing)"
            ));
        }
    }
    for (out, global) in &r.launch.globals {
        if let Some(v) = values.get(out) {
            let s = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            state.globals.insert(global.clone(), s);
        }
    }
    state.outputs.insert(i, values);
    Ok(())
}

/// The environment every task starts from: what an image's shell has (PATH with the project's
/// interpreter first, HOME, locale), the user's opt-outs of telemetry, nothing else of this
/// machine's environment.
fn base_env(local: &BTreeMap<String, String>, python_dir: Option<&Path>) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let sys_path = local
        .get("PATH")
        .cloned()
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_string());
    let path = match python_dir {
        Some(d) => format!("{}:{sys_path}", d.display()),
        None => sys_path,
    };
    env.push(("PATH".to_string(), path));
    if let Some(d) = python_dir {
        if let Some(venv) = d.parent().filter(|v| v.join("pyvenv.cfg").is_file()) {
            env.push(("VIRTUAL_ENV".to_string(), venv.display().to_string()));
        }
    }
    for k in [
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "TMPDIR",
        "KEDRO_DISABLE_TELEMETRY",
        "DO_NOT_TRACK",
    ] {
        if let Some(v) = local.get(k) {
            env.push((k.to_string(), v.clone()));
        }
    }
    env
}

fn describe(s: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(c) = s.code() {
        format!("exit code {c}")
    } else if let Some(sig) = s.signal() {
        format!("killed by signal {sig}")
    } else {
        "failed".to_string()
    }
}

fn append_log(path: &Path, text: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

/// A task name as a file name (names may hold `/` for nested tasks).
pub fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_the_path_as_execvp_finds_them() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::create_dir_all(a.join("tool")).unwrap();
        for (p, mode) in [
            (a.join("plain"), 0o644),
            (b.join("plain"), 0o755),
            (b.join("tool"), 0o755),
        ] {
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let path = format!("{}:{}", a.display(), b.display());
        // Not executable, or a directory: the next entry of PATH.
        assert_eq!(
            find_program("plain", Some(&path), tmp.path()),
            Some(b.join("plain"))
        );
        assert_eq!(
            find_program("tool", Some(&path), tmp.path()),
            Some(b.join("tool"))
        );
        assert_eq!(find_program("none", Some(&path), tmp.path()), None);
        // A name with a slash is not looked up; relative entries start at the working directory.
        assert_eq!(find_program("./plain", Some(&path), tmp.path()), None);
        assert_eq!(
            find_program("plain", Some("b"), tmp.path()),
            Some(b.join("plain"))
        );
        assert_eq!(find_program("plain", Some(":b"), &b), Some(b.join("plain")));
    }
}
