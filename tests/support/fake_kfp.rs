//! A fake Kubeflow Pipelines API server for integration tests.
//!
//! It lives in the test process (a background thread with its own tokio runtime, bound to
//! 127.0.0.1:0, stopped on drop), serves `/apis/v2beta1` and `/apis/v1beta1` over ONE state (a
//! v1 upload is visible through the v2 list, as on a real 2.x server), answers in the real
//! server's shapes (snake_case, zero values omitted, int64 as strings, v2 ListRecurringRuns
//! under `recurringRuns`), checks every request body against the official swagger (unknown
//! fields -> 400 and a recorded violation), records every request, and injects faults.
//! See docs/testing.md.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

#[path = "fake_kfp/listing.rs"]
mod listing;
#[path = "fake_kfp/store.rs"]
mod store;
#[path = "fake_kfp/swagger.rs"]
mod swagger;

pub use store::Store;

/// A small valid v2 IR (two tasks `extract` -> `train`, parameters `source_uri: STRING`
/// with a default and `epochs: NUMBER_INTEGER` required) for tests that need a pipeline file.
pub const TWO_TASK_IR: &str = "\
pipelineInfo: {name: two-task-pipeline}
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.0
root:
  inputDefinitions:
    parameters:
      source_uri: {parameterType: STRING, defaultValue: s3://bucket/raw, isOptional: true}
      epochs: {parameterType: NUMBER_INTEGER}
  dag:
    tasks:
      extract:
        taskInfo: {name: extract}
        componentRef: {name: comp-extract}
        inputs: {parameters: {source_uri: {componentInputParameter: source_uri}}}
      train:
        taskInfo: {name: train}
        componentRef: {name: comp-train}
        dependentTasks: [extract]
        inputs: {parameters: {epochs: {componentInputParameter: epochs}}}
components:
  comp-extract: {executorLabel: exec-extract, inputDefinitions: {parameters: {source_uri: {parameterType: STRING}}}}
  comp-train: {executorLabel: exec-train, inputDefinitions: {parameters: {epochs: {parameterType: NUMBER_INTEGER}}}}
deploymentSpec:
  executors:
    exec-extract: {container: {image: 'python:3.11-slim', command: [python, -m, extract]}}
    exec-train: {container: {image: 'python:3.11-slim', command: [python, -m, train]}}
";

/// A small valid Argo Workflow (KFP v1 pipeline: tasks `extract` -> `train`, parameter
/// `source_uri`), valid for the Argo validator the conformance stage runs
/// (`.ci/stage-conformance.sh`).
pub const TWO_TASK_ARGO: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: two-task-
spec:
  entrypoint: main
  arguments:
    parameters:
    - {name: source_uri, value: s3://bucket/raw}
  templates:
  - name: main
    dag:
      tasks:
      - {name: extract, template: extract}
      - {name: train, template: train, dependencies: [extract]}
  - name: extract
    container: {image: 'python:3.11-slim', command: [python, -m, extract]}
  - name: train
    container: {image: 'python:3.11-slim', command: [python, -m, train]}
";

/// A run to seed: its tasks are those of [`TWO_TASK_IR`] (`extract`, `train`), with pods.
#[derive(Debug, Clone, Default)]
pub struct SeedRun {
    pub name: String,
    pub experiment_id: String,
    /// (pipeline id, version id) it ran; none: an inline document (as `run-once` sends).
    pub pipeline: Option<(String, String)>,
    pub description: String,
    /// States it goes through, one per GET (default: SUCCEEDED).
    pub plan: Vec<&'static str>,
    /// The task a FAILED run reports (default: the first, `extract`).
    pub failed_task: String,
    pub parameters: Option<serde_json::Value>,
    pub recurring_run_id: String,
    pub archived: bool,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The raw (still URL-encoded) query string, "" when none.
    pub query: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The decoded query parameters (last value wins).
    pub fn query_map(&self) -> std::collections::BTreeMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// "METHOD /path" — handy in assertion messages.
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

/// Which REST API a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V1,
    V2,
}

/// The server version the fake pretends to be (healthz `tag_name`, version gates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion(pub (u32, u32, u32));

impl ServerVersion {
    pub fn parse(tag: &str) -> ServerVersion {
        let mut it = tag
            .trim_start_matches('v')
            .split(['.', '-', '+'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        ServerVersion((
            it.next().unwrap_or(2),
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
        ))
    }
    pub fn tag(&self) -> String {
        format!("{}.{}.{}", self.0 .0, self.0 .1, self.0 .2)
    }
    pub fn at_least(&self, maj: u32, min: u32) -> bool {
        self.0 >= (maj, min, 0)
    }
}

/// An error answer in the real server's forms (rendered per endpoint and server version).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    /// The gRPC code in the body (from the status unless set, e.g. 9 FailedPrecondition).
    pub code: u16,
    pub message: String,
    /// A malformed request (bad filter, sort_by, page_size, page_token): also a violation.
    pub shape: bool,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: grpc_code(status),
            message: message.into(),
            shape: false,
        }
    }
    /// A 400 for a malformed request, recorded as a violation too.
    pub fn shape(message: impl Into<String>) -> ApiError {
        ApiError {
            shape: true,
            ..ApiError::invalid(message)
        }
    }
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }
}

/// gRPC code for an HTTP status (grpc-gateway's mapping, inverted).
pub fn grpc_code(status: u16) -> u16 {
    match status {
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        412 => 9,
        429 => 8,
        499 => 1,
        501 => 12,
        503 => 14,
        504 => 4,
        _ if status >= 500 => 13,
        _ => 2,
    }
}

#[derive(Debug, Clone)]
enum FaultKind {
    Fail(u16),
    /// status, content type, body, extra headers
    Raw(u16, String, Vec<u8>, Vec<(String, String)>),
    /// A list page `{<key>: [], next_page_token: <never seen before>}`.
    FreshPage(String),
    /// An error body echoing the credentials received (`authorization`, `cookie`).
    EchoCredentials(u16),
    Delay(Duration),
    Drop,
}

#[derive(Debug, Clone)]
struct Fault {
    method: String,
    prefix: String,
    kind: FaultKind,
    remaining: usize,
}

/// Everything tests can tune; read by the request handler.
#[derive(Debug, Clone)]
pub struct Control {
    pub version: ServerVersion,
    pub multi_user: bool,
    pub run_plan: Vec<String>,
    pub failed_task: Option<String>,
    pub bearer: Option<String>,
    pub cookie: Option<(String, String)>,
    pub denied_namespaces: BTreeSet<String>,
    pub html_catch_all: bool,
    /// The UI server's `/k8s/pod/logs` (none: the API server alone, which answers 404): per
    /// pod, the chunks of its log; each read shows one more chunk.
    pub pod_logs: Option<std::collections::BTreeMap<String, (Vec<String>, usize)>>,
    faults: Vec<Fault>,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            version: ServerVersion((2, 17, 0)),
            multi_user: false,
            run_plan: vec!["PENDING".into(), "RUNNING".into(), "SUCCEEDED".into()],
            failed_task: None,
            bearer: None,
            cookie: None,
            denied_namespaces: BTreeSet::new(),
            html_catch_all: false,
            pod_logs: None,
            faults: vec![],
        }
    }
}

pub(crate) struct Inner {
    pub store: Store,
    /// Counter for `FreshPage` tokens.
    pub pages_served: usize,
    pub control: Control,
    pub log: Vec<Recorded>,
    pub violations: Vec<String>,
}

/// The fake server. Dropping it stops the server.
pub struct FakeKfp {
    inner: Arc<Mutex<Inner>>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;
impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake KFP: connection dropped on purpose (drop_next)")
    }
}
impl std::error::Error for DropConnection {}

impl FakeKfp {
    /// Start a fresh server (KFP 2.17.0, single-user, runs PENDING -> RUNNING -> SUCCEEDED).
    pub fn start() -> FakeKfp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let inner = Arc::new(Mutex::new(Inner {
            store: Store::default(),
            pages_served: 0,
            control: Control::default(),
            log: vec![],
            violations: vec![],
        }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shared = inner.clone();
        let thread = std::thread::Builder::new()
            .name("fake-kfp".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime for the fake KFP");
                rt.block_on(serve(listener, shared, rx));
            })
            .expect("spawn the fake KFP thread");
        FakeKfp {
            inner,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// "http://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().log.clone()
    }

    /// Requests whose method matches and whose path starts with `path_prefix`.
    pub fn requests_to(&self, method: &str, path_prefix: &str) -> Vec<Recorded> {
        self.lock()
            .log
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// Request-shape problems found so far (vs the swagger, the server's own checks, version
    /// gates), each "METHOD /path: problem". Empty when kfpx sent only valid requests.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// Panic, listing them, when any request so far broke the API's shapes.
    #[track_caller]
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "kfpx sent {} request(s) a real KFP server would reject or ignore:\n  {}",
            v.len(),
            v.join("\n  ")
        );
    }

    fn add_fault(&self, method: &str, path_prefix: &str, kind: FaultKind, times: usize) {
        self.lock().control.faults.push(Fault {
            method: method.to_ascii_uppercase(),
            prefix: path_prefix.to_string(),
            kind,
            remaining: times,
        });
    }

    /// The next `times` requests matching (`method` or "*", path starting with `path_prefix`)
    /// get `status` with the real server's error body for that endpoint.
    pub fn fail_next(&self, method: &str, path_prefix: &str, status: u16, times: usize) {
        self.add_fault(method, path_prefix, FaultKind::Fail(status), times);
    }

    /// The next `times` matching requests get exactly this answer (e.g. a proxy's HTML 502
    /// page, or a text/plain error).
    pub fn fail_next_with(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        content_type: &str,
        body: &str,
        times: usize,
    ) {
        let kind = FaultKind::Raw(
            status,
            content_type.to_string(),
            body.as_bytes().to_vec(),
            vec![],
        );
        self.add_fault(method, path_prefix, kind, times);
    }

    /// Like `fail_next_with`, with extra response headers (e.g. `Retry-After`).
    #[allow(clippy::too_many_arguments)]
    pub fn answer_next_with_headers(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        times: usize,
    ) {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let kind = FaultKind::Raw(
            status,
            "application/json".into(),
            body.as_bytes().to_vec(),
            headers,
        );
        self.add_fault(method, path_prefix, kind, times);
    }

    /// A broken paging server: the next `times` matching list requests get an empty page
    /// under `items_key` with a `next_page_token` never sent before.
    pub fn fresh_page_tokens(&self, path_prefix: &str, items_key: &str, times: usize) {
        let kind = FaultKind::FreshPage(items_key.to_string());
        self.add_fault("GET", path_prefix, kind, times);
    }

    /// The next `times` matching requests get `status` with an error body that echoes the
    /// `authorization` and `cookie` headers received (as some proxies and debug servers do).
    pub fn echo_credentials_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        times: usize,
    ) {
        self.add_fault(
            method,
            path_prefix,
            FaultKind::EchoCredentials(status),
            times,
        );
    }

    /// The next `times` matching requests are answered only after `delay`.
    pub fn delay_next(&self, method: &str, path_prefix: &str, delay: Duration, times: usize) {
        self.add_fault(method, path_prefix, FaultKind::Delay(delay), times);
    }

    /// The next `times` matching requests get no answer: the connection is closed.
    pub fn drop_next(&self, method: &str, path_prefix: &str, times: usize) {
        self.add_fault(method, path_prefix, FaultKind::Drop, times);
    }

    /// Answer 401 to API calls without `authorization: Bearer <token>` (unless the required
    /// cookie, if any, is sent).
    pub fn require_bearer(&self, token: &str) {
        self.lock().control.bearer = Some(token.to_string());
    }

    /// Drop the bearer/cookie requirements (e.g. after a token rotation test).
    pub fn clear_auth(&self) {
        let mut g = self.lock();
        g.control.bearer = None;
        g.control.cookie = None;
    }

    /// Like a Kubeflow behind oauth2-proxy/oidc-authservice: API calls without the session
    /// cookie `cookie_name=value` (and without the required bearer, if any) get a 302 to an
    /// HTML login page (`/dex/auth?...`, served by the fake with status 200).
    pub fn require_cookie(&self, cookie_name: &str, value: &str) {
        self.lock().control.cookie = Some((cookie_name.to_string(), value.to_string()));
    }

    /// healthz `tag_name`, and the fields older releases do not know (see `swagger::GATES`; e.g. "2.5.0" rejects
    /// `Pipeline.name` and `tags`, ignores the upload `display_name` query, omits `name` in
    /// answers, and adds `"error"` to error bodies).
    pub fn set_server_version(&self, tag: &str) {
        self.lock().control.version = ServerVersion::parse(tag);
    }

    /// healthz `multi_user`; in multi-user mode, namespaces are kept and required on
    /// experiment creation and on experiment/run/recurring-run lists.
    pub fn set_multi_user(&self, on: bool) {
        self.lock().control.multi_user = on;
    }

    /// The states a NEW run goes through: created in `states[0]`, each GET of the run moves one
    /// step, staying on the last. A FAILED run names a failed task (see `set_failed_task`).
    pub fn set_run_plan(&self, states: &[&str]) {
        let plan: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        self.lock().control.run_plan = if plan.is_empty() {
            vec!["PENDING".into()]
        } else {
            plan
        };
    }

    /// The task a FAILED run reports as failed (default: the first root DAG task by name).
    pub fn set_failed_task(&self, task: &str) {
        self.lock().control.failed_task = Some(task.to_string());
    }

    /// Calls naming namespace `ns` get 403 PermissionDenied (multi-user authorization).
    pub fn deny_namespace(&self, ns: &str) {
        self.lock().control.denied_namespaces.insert(ns.to_string());
    }

    /// Paths outside `/apis/` (and `/pipeline/apis/`) answer 200 with an HTML page (like a
    /// Kubeflow central dashboard) instead of the default `404 page not found` text.
    pub fn set_html_catch_all(&self, on: bool) {
        self.lock().control.html_catch_all = on;
    }

    /// Serve the KFP UI server's pod-log endpoint (`/k8s/pod/logs`, as
    /// frontend/server/handlers/pod-logs.ts answers it) with this log for `pod`: the first read
    /// returns the first chunk, each later read one chunk more (a pod still writing). Pods
    /// without a log answer 404 `pod not found`; a denied namespace 403.
    pub fn set_pod_log(&self, pod: &str, chunks: &[&str]) {
        let mut g = self.lock();
        g.control
            .pod_logs
            .get_or_insert_with(Default::default)
            .insert(
                pod.to_string(),
                (chunks.iter().map(|c| c.to_string()).collect(), 0),
            );
    }

    /// Serve the pod-log endpoint with no logs yet (every pod: 404 `pod not found`).
    pub fn enable_pod_logs(&self) {
        self.lock()
            .control
            .pod_logs
            .get_or_insert_with(Default::default);
    }

    /// Add `n` pipelines ("pipeline-00001"...) with one version each.
    pub fn seed_pipelines(&self, n: usize) {
        let mut g = self.lock();
        let start = g.store.pipelines.len();
        for i in 0..n {
            let name = format!("pipeline-{:05}", start + i + 1);
            g.store.seed_pipeline(&name, "");
        }
    }

    /// Add one pipeline named `name` (in `namespace`, "" for shared) with a version; returns
    /// (pipeline_id, version_id).
    pub fn seed_pipeline(&self, name: &str, namespace: &str) -> (String, String) {
        self.lock().store.seed_pipeline(name, namespace)
    }

    /// Add a shared pipeline whose one version is `document` (e.g. [`TWO_TASK_IR`]); returns
    /// (pipeline_id, version_id).
    pub fn seed_pipeline_document(&self, name: &str, document: &str) -> (String, String) {
        self.lock().store.seed_pipeline_document(name, document)
    }

    /// Add an experiment; returns its id.
    pub fn seed_experiment(&self, display_name: &str, namespace: &str) -> String {
        self.lock().store.seed_experiment(display_name, namespace)
    }

    /// Add a run (created after everything seeded before it); returns its id.
    pub fn seed_run(&self, seed: &SeedRun) -> String {
        self.lock().store.seed_run(seed)
    }

    /// Add `n` runs named "run-00001"… in `experiment_id`, all SUCCEEDED, for paging.
    pub fn seed_runs(&self, n: usize, experiment_id: &str, pipeline: (&str, &str)) {
        let mut g = self.lock();
        for i in 0..n {
            g.store.seed_run(&SeedRun {
                name: format!("run-{:05}", i + 1),
                experiment_id: experiment_id.into(),
                pipeline: Some((pipeline.0.into(), pipeline.1.into())),
                ..Default::default()
            });
        }
    }

    /// Add a cron recurring run of a pipeline version; returns its id.
    pub fn seed_recurring_run(
        &self,
        name: &str,
        experiment_id: &str,
        pipeline: (&str, &str),
        cron: &str,
        enabled: bool,
    ) -> String {
        self.lock()
            .store
            .seed_recurring(name, experiment_id, pipeline, cron, enabled)
    }

    /// All pipelines, in v2 shape, by creation.
    pub fn pipelines(&self) -> Vec<serde_json::Value> {
        let g = self.lock();
        g.store.all_pipelines_v2(g.control.version)
    }

    /// The versions of a pipeline, in v2 shape (with `pipeline_spec`), by creation.
    pub fn pipeline_versions(&self, pipeline_id: &str) -> Vec<serde_json::Value> {
        let g = self.lock();
        g.store.all_versions_v2(pipeline_id, g.control.version)
    }

    /// All experiments, in v2 shape.
    pub fn experiments(&self) -> Vec<serde_json::Value> {
        self.lock().store.all_experiments_v2()
    }

    /// All runs, in v2 shape (reading them does not advance their state).
    pub fn runs(&self) -> Vec<serde_json::Value> {
        let g = self.lock();
        g.store.all_runs_v2(&g.control)
    }

    /// All recurring runs (v1 jobs included), in v2 shape.
    pub fn recurring_runs(&self) -> Vec<serde_json::Value> {
        self.lock().store.all_recurring_v2()
    }
}

impl Drop for FakeKfp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    inner: Arc<Mutex<Inner>>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let inner = inner.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let inner = inner.clone();
                        async move { handle(inner, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

/// What a handler answers.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

impl Reply {
    pub fn json(status: u16, v: &serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(v).unwrap_or_default(),
            location: None,
        }
    }
    pub fn text(status: u16, content_type: &'static str, body: &str) -> Reply {
        Reply {
            status,
            content_type,
            body: body.as_bytes().to_vec(),
            location: None,
        }
    }
}

const LOGIN_HTML: &str = "<!DOCTYPE html>\n<html><head><title>Log in to Your Account</title></head>\n<body><form method=\"post\" action=\"/dex/auth/local/login?back=&state=fake\">\n<input id=\"login\" name=\"login\" type=\"text\"/><input id=\"password\" name=\"password\" type=\"password\"/>\n<button type=\"submit\">Login</button></form></body></html>\n";

const DASHBOARD_HTML: &str = "<!doctype html><html><head><title>Kubeflow Central Dashboard</title></head><body><main-page></main-page></body></html>\n";

/// A multipart part, decoded.
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

async fn parse_multipart(content_type: &str, body: Bytes) -> Result<Vec<Part>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let stream =
        futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut parts = vec![];
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let filename = field.file_name().map(str::to_string);
                let data = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
                parts.push(Part {
                    name,
                    filename,
                    data,
                });
            }
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(parts)
}

fn take_fault(
    control: &mut Control,
    method: &str,
    path: &str,
    want_delay: bool,
) -> Option<FaultKind> {
    let idx = control.faults.iter().position(|f| {
        f.remaining > 0
            && (f.method == "*" || f.method == method)
            && path.starts_with(&f.prefix)
            && matches!(f.kind, FaultKind::Delay(_)) == want_delay
    })?;
    let f = &mut control.faults[idx];
    f.remaining -= 1;
    let kind = f.kind.clone();
    if f.remaining == 0 {
        control.faults.remove(idx);
    }
    Some(kind)
}

fn is_upload(path: &str) -> bool {
    path.ends_with("/pipelines/upload") || path.ends_with("/pipelines/upload_version")
}

/// The error body the real server sends for `status` on this endpoint and version.
pub fn error_reply(api_path: &str, version: ServerVersion, err: &ApiError) -> Reply {
    if is_upload(api_path) {
        return Reply::json(
            err.status,
            &serde_json::json!({"error_message": err.message, "error_details": err.message}),
        );
    }
    let code = err.code;
    let short = err
        .message
        .rsplit(": ")
        .next()
        .unwrap_or(&err.message)
        .to_string();
    let mut body = serde_json::json!({
        "code": code,
        "message": err.message,
        "details": [{"@type": "type.googleapis.com/google.rpc.Status", "code": code, "message": short}],
    });
    if !version.at_least(2, 14) {
        body["error"] = serde_json::Value::String(err.message.clone());
    }
    Reply::json(err.status, &body)
}

/// `/k8s/pod/logs` as frontend/server/handlers/pod-logs.ts answers: text/plain; 400 without
/// `podname`; 422 without `podnamespace` in multi-user mode; 403 `Access denied to namespace`;
/// 404 `pod not found` when neither the pod nor an archived log exists.
fn pod_log_reply(control: &mut Control, q: &std::collections::BTreeMap<String, String>) -> Reply {
    const TEXT: &str = "text/plain; charset=utf-8";
    let Some(pod) = q.get("podname").filter(|p| !p.is_empty()) else {
        return Reply::text(400, TEXT, "podname argument is required");
    };
    let ns = q.get("podnamespace").cloned().unwrap_or_default();
    if control.multi_user && ns.is_empty() {
        return Reply::text(422, TEXT, "podnamespace argument is required");
    }
    if !ns.is_empty() && control.denied_namespaces.contains(&ns) {
        return Reply::text(403, TEXT, "Access denied to namespace");
    }
    let logs = control.pod_logs.get_or_insert_with(Default::default);
    match logs.get_mut(pod) {
        Some((chunks, reads)) => {
            let shown = (*reads + 1).min(chunks.len());
            *reads += 1;
            Reply::text(200, TEXT, &chunks[..shown].concat())
        }
        None => Reply::text(404, TEXT, "pod not found"),
    }
}

fn to_response(r: Reply) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder()
        .status(r.status)
        .header("content-type", r.content_type);
    if let Some(loc) = r.location {
        b = b.header("location", loc);
    }
    b.body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

async fn handle(
    inner: Arc<Mutex<Inner>>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let rec = Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: body.to_vec(),
    };

    let delay = {
        let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
        g.log.push(rec.clone());
        take_fault(&mut g.control, &method, &path, true)
    };
    if let Some(FaultKind::Delay(d)) = delay {
        tokio::time::sleep(d).await;
    }

    // Multipart bodies are decoded before taking the lock (multer is async).
    let content_type = rec.header("content-type").unwrap_or_default().to_string();
    let multipart = if method == "POST" && is_upload(&path) {
        Some(if content_type.starts_with("multipart/form-data") {
            parse_multipart(&content_type, body.clone()).await
        } else {
            Err(format!(
                "request Content-Type isn't multipart/form-data (got {content_type:?})"
            ))
        })
    } else {
        None
    };

    let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
    let g = &mut *g;
    match take_fault(&mut g.control, &method, &path, false) {
        Some(FaultKind::Drop) => return Err(DropConnection),
        Some(FaultKind::Raw(status, content_type, body, headers)) => {
            let mut b = hyper::Response::builder()
                .status(status)
                .header("content-type", content_type);
            for (k, v) in headers {
                b = b.header(k, v);
            }
            let resp = b
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())));
            return Ok(resp);
        }
        Some(FaultKind::FreshPage(key)) => {
            g.pages_served += 1;
            let body = serde_json::json!({
                key: [],
                "next_page_token": format!("fresh-token-{}", g.pages_served),
            });
            return Ok(to_response(Reply::json(200, &body)));
        }
        Some(FaultKind::EchoCredentials(status)) => {
            let sent = format!(
                "rejected: authorization={:?} cookie={:?}",
                rec.header("authorization").unwrap_or(""),
                rec.header("cookie").unwrap_or("")
            );
            let err = ApiError::new(status, sent);
            return Ok(to_response(error_reply(&path, g.control.version, &err)));
        }
        Some(FaultKind::Fail(status)) => {
            let err = ApiError::new(
                status,
                format!("fake KFP: injected failure (HTTP {status})"),
            );
            return Ok(to_response(error_reply(&path, g.control.version, &err)));
        }
        _ => {}
    }

    // The API lives under /apis/ (or /pipeline/apis/ behind the Kubeflow gateway).
    let api_path = path
        .strip_prefix("/pipeline")
        .filter(|p| p.starts_with("/apis/"))
        .unwrap_or(&path)
        .to_string();
    // The UI server's pod-log route, behind the same authentication as the API.
    let is_pod_logs = g.control.pod_logs.is_some()
        && (path == "/k8s/pod/logs" || path == "/pipeline/k8s/pod/logs");
    if !api_path.starts_with("/apis/") && !is_pod_logs {
        if path.starts_with("/dex/") || path.starts_with("/oauth2/") {
            return Ok(to_response(Reply::text(
                200,
                "text/html; charset=utf-8",
                LOGIN_HTML,
            )));
        }
        return Ok(to_response(if g.control.html_catch_all {
            Reply::text(200, "text/html; charset=utf-8", DASHBOARD_HTML)
        } else {
            Reply::text(404, "text/plain; charset=utf-8", "404 page not found\n")
        }));
    }

    // Authentication (either the bearer token or the session cookie, when required).
    let bearer_ok = g.control.bearer.as_ref().is_some_and(|t| {
        rec.header("authorization")
            .is_some_and(|h| h == format!("Bearer {t}"))
    });
    let cookie_ok = g.control.cookie.as_ref().is_some_and(|(n, v)| {
        rec.headers
            .iter()
            .filter(|(k, _)| k == "cookie")
            .flat_map(|(_, c)| c.split(';'))
            .any(|c| c.trim() == format!("{n}={v}"))
    });
    let needs_auth = g.control.bearer.is_some() || g.control.cookie.is_some();
    if needs_auth && !bearer_ok && !cookie_ok {
        if g.control.cookie.is_some() {
            let mut r = Reply::text(
                302,
                "text/html; charset=utf-8",
                "<a href=\"/dex/auth\">Found</a>.\n",
            );
            r.location = Some(
                "/dex/auth?client_id=kubeflow-oidc-authservice&redirect_uri=%2Foauth2%2Fcallback&response_type=code&scope=openid+profile+email+groups&state=fake".into(),
            );
            return Ok(to_response(r));
        }
        let err = ApiError::new(
            401,
            "Unauthenticated: Request header error: there is no user identity header.: Authentication failure: no valid credentials",
        );
        return Ok(to_response(error_reply(&api_path, g.control.version, &err)));
    }

    let query_map: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    if is_pod_logs {
        return Ok(to_response(pod_log_reply(&mut g.control, &query_map)));
    }
    let ctx = store::Ctx {
        method: &method,
        path: &api_path,
        query: &query_map,
        body: &body,
        multipart,
        control: &g.control,
    };
    let outcome = g.store.route(&ctx);
    let line = format!("{method} {path}");
    for v in outcome.violations {
        g.violations.push(format!("{line}: {v}"));
    }
    Ok(to_response(match outcome.result {
        Ok(reply) => reply,
        Err(err) => error_reply(&api_path, g.control.version, &err),
    }))
}
