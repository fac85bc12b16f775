//! The fake's state (pipelines, versions, experiments, runs, recurring runs) and the
//! endpoint handlers of both API versions over it.

mod experiments;
mod pipelines;
mod recurring;
mod render;
mod runs;

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::listing::{page, FieldVal};
use super::swagger::{self, camel};
use super::{Api, ApiError, Control, Part, Reply, ServerVersion};

/// 2026-01-01T00:00:00Z: object N is created N seconds later (deterministic, ordered).
const EPOCH: i64 = 1_767_225_600;

fn ts(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub namespace: String,
    pub created: i64,
    pub tags: BTreeMap<String, String>,
    /// v1 default version (the latest upload, unless set explicitly).
    pub default_version: String,
}

#[derive(Debug, Clone, Default)]
pub struct Version {
    pub id: String,
    pub pipeline_id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub created: i64,
    pub template: Option<Template>,
    pub raw: String,
    pub package_url: String,
    pub code_source_url: String,
    pub tags: BTreeMap<String, String>,
}

/// A parsed pipeline file.
#[derive(Debug, Clone)]
pub enum Template {
    /// v2 IR: PipelineSpec and the optional PlatformSpec document.
    Ir {
        spec: Value,
        platform: Option<Value>,
    },
    /// An Argo Workflow (KFP v1).
    Argo(Value),
}

impl Template {
    /// The JSON the API shows as `pipeline_spec`.
    fn to_api(&self) -> Value {
        match self {
            Template::Ir {
                spec,
                platform: Some(p),
            } => json!({"pipeline_spec": spec, "platform_spec": p}),
            Template::Ir { spec, .. } => spec.clone(),
            Template::Argo(w) => w.clone(),
        }
    }

    /// Pipeline parameters as v1 `[{name, value}]`.
    fn v1_parameters(&self) -> Vec<Value> {
        match self {
            Template::Ir { spec, .. } => spec["root"]["inputDefinitions"]["parameters"]
                .as_object()
                .map(|ps| {
                    ps.iter()
                        .map(|(k, p)| {
                            let mut o = Map::new();
                            o.insert("name".into(), json!(k));
                            match &p["defaultValue"] {
                                Value::Null => {}
                                Value::String(s) => {
                                    o.insert("value".into(), json!(s));
                                }
                                other => {
                                    o.insert("value".into(), json!(other.to_string()));
                                }
                            }
                            Value::Object(o)
                        })
                        .collect()
                })
                .unwrap_or_default(),
            Template::Argo(w) => w["spec"]["arguments"]["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The names of the tasks a run of this pipeline has (for run details).
    fn task_names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Template::Ir { spec, .. } => spec["root"]["dag"]["tasks"]
                .as_object()
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default(),
            Template::Argo(w) => {
                let entry = w["spec"]["entrypoint"].as_str().unwrap_or_default();
                w["spec"]["templates"]
                    .as_array()
                    .map(|ts| {
                        ts.iter()
                            .filter(|t| t["name"] != entry)
                            .filter_map(|t| t["name"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            }
        };
        names.sort();
        names
    }
}

#[derive(Debug, Clone, Default)]
pub struct Experiment {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub namespace: String,
    pub created: i64,
    pub archived: bool,
    pub last_run_created: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Run {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub experiment_id: String,
    pub namespace: String,
    /// Inline spec as sent (v2 `pipeline_spec`).
    pub inline_spec: Option<Value>,
    pub pipeline_id: String,
    pub version_id: String,
    pub template: Option<Template>,
    pub runtime_config: Option<Value>,
    pub service_account: String,
    pub created: i64,
    pub plan: Vec<String>,
    pub step: usize,
    pub failed_task: String,
    pub recurring_run_id: String,
    pub archived: bool,
    /// v1 `pipeline_spec` as sent (v1 runs).
    pub v1_spec: Option<Value>,
}

impl Run {
    fn state(&self) -> &str {
        self.plan
            .get(self.step)
            .map(String::as_str)
            .unwrap_or("PENDING")
    }
    fn finished(&self) -> Option<i64> {
        matches!(
            self.state(),
            "SUCCEEDED" | "FAILED" | "CANCELED" | "SKIPPED"
        )
        .then(|| self.created + self.step as i64 * 60)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Recurring {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub experiment_id: String,
    pub namespace: String,
    pub inline_spec: Option<Value>,
    pub pipeline_id: String,
    pub version_id: String,
    pub runtime_config: Option<Value>,
    pub service_account: String,
    pub max_concurrency: i64,
    /// v2 shape (snake_case keys).
    pub trigger: Value,
    pub enabled: bool,
    pub no_catchup: bool,
    pub created: i64,
    pub updated: i64,
    /// v1 `pipeline_spec` as sent (v1 jobs).
    pub v1_spec: Option<Value>,
}

/// All objects of the fake server.
#[derive(Debug, Default)]
pub struct Store {
    pub pipelines: BTreeMap<String, Pipeline>,
    pub versions: BTreeMap<String, Version>,
    pub experiments: BTreeMap<String, Experiment>,
    pub runs: BTreeMap<String, Run>,
    pub recurring: BTreeMap<String, Recurring>,
    /// pipeline id -> its version ids, in creation order (lists stay fast with many pipelines).
    by_pipeline: BTreeMap<String, Vec<String>>,
    seq: i64,
}

/// The request, as handlers see it.
pub struct Ctx<'a> {
    pub method: &'a str,
    /// Starting with /apis/.
    pub path: &'a str,
    pub query: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    pub multipart: Option<Result<Vec<Part>, String>>,
    pub control: &'a Control,
}

pub struct Outcome {
    pub result: Result<Reply, ApiError>,
    pub violations: Vec<String>,
}

type R = Result<Reply, ApiError>;

/// Insert only non-zero values (protojson `EmitUnpopulated: false`).
fn put(o: &mut Map<String, Value>, k: &str, v: Value) {
    let zero = match &v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Object(_) => false,
    };
    if !zero {
        o.insert(k.to_string(), v);
    }
}

/// A field of a request object, by snake_case name or its lowerCamelCase spelling.
fn get<'a>(o: &'a Value, snake: &str) -> Option<&'a Value> {
    o.get(snake)
        .or_else(|| o.get(camel(snake)))
        .filter(|v| !v.is_null())
}

fn gs(o: &Value, snake: &str) -> String {
    get(o, snake)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn int64(o: &Value, snake: &str) -> Option<i64> {
    get(o, snake).and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

fn list_reply(key: &str, items: Vec<Value>, total: usize, next: Option<String>) -> Reply {
    let mut o = Map::new();
    put(&mut o, key, Value::Array(items));
    put(&mut o, "total_size", json!(total));
    put(&mut o, "next_page_token", json!(next.unwrap_or_default()));
    Reply::json(200, &Value::Object(o))
}

const PIPELINE_KEYS: &[(&str, &str)] = &[
    ("pipeline_id", "id"),
    ("id", "id"),
    ("name", "name"),
    ("display_name", "display_name"),
    ("created_at", "created_at"),
    ("description", "description"),
    ("namespace", "namespace"),
];
const VERSION_KEYS: &[(&str, &str)] = &[
    ("pipeline_version_id", "id"),
    ("id", "id"),
    ("name", "name"),
    ("display_name", "display_name"),
    ("created_at", "created_at"),
    ("description", "description"),
];
const EXPERIMENT_KEYS: &[(&str, &str)] = &[
    ("experiment_id", "id"),
    ("id", "id"),
    ("name", "display_name"),
    ("display_name", "display_name"),
    ("created_at", "created_at"),
    ("last_run_created_at", "last_run_created_at"),
    ("description", "description"),
    ("namespace", "namespace"),
    ("storage_state", "storage_state"),
];
const RUN_KEYS: &[(&str, &str)] = &[
    ("run_id", "id"),
    ("id", "id"),
    ("display_name", "display_name"),
    ("name", "display_name"),
    ("created_at", "created_at"),
    ("scheduled_at", "created_at"),
    ("finished_at", "finished_at"),
    ("description", "description"),
    ("storage_state", "storage_state"),
    ("state", "state"),
    ("status", "state"),
    ("namespace", "namespace"),
    ("experiment_id", "experiment_id"),
    ("recurring_run_id", "recurring_run_id"),
];
const RECURRING_KEYS: &[(&str, &str)] = &[
    ("recurring_run_id", "id"),
    ("id", "id"),
    ("display_name", "display_name"),
    ("name", "display_name"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("description", "description"),
];

fn s(v: &str) -> FieldVal {
    FieldVal::Str(v.to_string())
}

/// PipelineSpec's fields (the server parses the IR strictly).
const IR_FIELDS: &[&str] = &[
    "pipelineInfo",
    "deploymentSpec",
    "sdkVersion",
    "schemaVersion",
    "components",
    "root",
    "defaultPipelineRoot",
];

/// Parse a pipeline file the way the server's template.New() does (YAML, one IR document plus
/// an optional PlatformSpec document, or an Argo Workflow).
pub fn parse_template(bytes: &[u8]) -> Result<Template, String> {
    use serde::Deserialize;
    let mut docs = vec![];
    for doc in serde_yaml::Deserializer::from_slice(bytes) {
        let v = Value::deserialize(doc).map_err(|e| format!("invalid YAML: {e}"))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    let first = docs
        .first()
        .ok_or_else(|| "the pipeline file is empty".to_string())?;
    if first["kind"] == "Workflow"
        && first["apiVersion"]
            .as_str()
            .is_some_and(|a| a.starts_with("argoproj.io/"))
    {
        if docs.len() > 1 {
            return Err("unknown template format: more than one Argo document".into());
        }
        if first["spec"]["entrypoint"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
            || first["spec"]["templates"]
                .as_array()
                .is_none_or(|t| t.is_empty())
        {
            return Err(
                "invalid Argo workflow: spec.entrypoint and spec.templates are required".into(),
            );
        }
        return Ok(Template::Argo(first.clone()));
    }
    let spec = ir_from_value(first)?;
    let platform = match docs.get(1) {
        None => None,
        Some(p) if p["platforms"]["kubernetes"].is_object() && docs.len() == 2 => Some(p.clone()),
        Some(_) => {
            return Err(
                "invalid pipeline spec: expected one PipelineSpec and at most one PlatformSpec with platforms.kubernetes"
                    .into(),
            )
        }
    };
    Ok(Template::Ir { spec, platform })
}

fn ir_from_value(v: &Value) -> Result<Value, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| "unknown template format".to_string())?;
    if let Some(k) = obj.keys().find(|k| !IR_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown template format: the document is not a pipeline spec (unknown field {k:?})"
        ));
    }
    if v["pipelineInfo"]["name"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        return Err("invalid pipeline spec: pipelineInfo.name is empty".into());
    }
    if !v["root"].is_object() {
        return Err("invalid pipeline spec: root is required".into());
    }
    match v["schemaVersion"].as_str() {
        Some("2.1.0") => {}
        other => {
            return Err(format!(
                "invalid pipeline spec: unsupported schemaVersion {other:?}, want \"2.1.0\""
            ))
        }
    }
    Ok(v.clone())
}

/// An inline `pipeline_spec` of a v2 run: PipelineSpec, or {pipeline_spec, platform_spec}.
fn template_from_inline(v: &Value) -> Result<Template, String> {
    if v["kind"] == "Workflow" {
        return Ok(Template::Argo(v.clone()));
    }
    if let Some(inner) = get(v, "pipeline_spec") {
        let spec = ir_from_value(inner)?;
        let platform = get(v, "platform_spec").cloned();
        if let Some(k) = v.as_object().and_then(|o| {
            o.keys().find(|k| {
                ![
                    "pipeline_spec",
                    "pipelineSpec",
                    "platform_spec",
                    "platformSpec",
                ]
                .contains(&k.as_str())
            })
        }) {
            return Err(format!(
                "unknown field {k:?} beside pipeline_spec/platform_spec"
            ));
        }
        return Ok(Template::Ir { spec, platform });
    }
    Ok(Template::Ir {
        spec: ir_from_value(v)?,
        platform: None,
    })
}

/// The server's check of runtime parameters against the IR's root inputs
/// (v2_template.go validatePipelineJobInputs): no extra names, required ones present, types.
fn check_params(t: &Template, params: Option<&Value>) -> Result<(), ApiError> {
    let Template::Ir { spec, .. } = t else {
        return Ok(());
    };
    let empty = Map::new();
    let decl = spec["root"]["inputDefinitions"]["parameters"]
        .as_object()
        .unwrap_or(&empty);
    let given = params.and_then(Value::as_object).unwrap_or(&empty);
    let extra: Vec<&String> = given.keys().filter(|k| !decl.contains_key(*k)).collect();
    if !extra.is_empty() {
        return Err(ApiError::invalid(format!(
            "Invalid input error: Failed to create a run: input parameter(s) {extra:?} are not defined in the pipeline (known: {:?})",
            decl.keys().collect::<Vec<_>>()
        )));
    }
    for (name, d) in decl {
        let Some(v) = given.get(name) else {
            let optional = d["isOptional"] == true || !d["defaultValue"].is_null();
            if !optional {
                return Err(ApiError::invalid(format!(
                    "Invalid input error: Failed to create a run: input parameter {name:?} is required but was not provided"
                )));
            }
            continue;
        };
        let ty = d["parameterType"].as_str().unwrap_or("STRING");
        let ok = match ty {
            "STRING" => v.is_string(),
            "NUMBER_INTEGER" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
            "NUMBER_DOUBLE" => v.is_number(),
            "BOOLEAN" => v.is_boolean(),
            "LIST" => v.is_array(),
            "STRUCT" => v.is_object(),
            _ => true,
        };
        if !ok {
            return Err(ApiError::invalid(format!(
                "Invalid input error: Failed to create a run: input parameter {name:?} requires type {ty}, but the value {v} is not of that type"
            )));
        }
    }
    Ok(())
}

fn valid_cron(c: &str) -> bool {
    let c = c.trim();
    if let Some(d) = c.strip_prefix('@') {
        return matches!(
            d,
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly"
        ) || d.starts_with("every ");
    }
    let n = c.split_whitespace().count();
    (n == 5 || n == 6)
        && c.split_whitespace().all(|f| {
            f.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "*/,-?".contains(ch))
        })
}

fn v1_status(state: &str) -> &'static str {
    match state {
        "PENDING" | "PAUSED" => "Pending",
        "RUNNING" => "Running",
        "SUCCEEDED" => "Succeeded",
        "SKIPPED" => "Skipped",
        "FAILED" | "CANCELED" => "Failed",
        "CANCELING" => "Terminating",
        _ => "Unknown",
    }
}

/// A resource reference list, as v1 sends it: (type, id, relationship).
fn refs(v: &Value) -> Vec<(String, String, String)> {
    get(v, "resource_references")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let key = get(r, "key").cloned().unwrap_or(Value::Null);
                    let ty = match get(&key, "type") {
                        Some(Value::Number(n)) => match n.as_i64() {
                            Some(1) => "EXPERIMENT",
                            Some(2) => "JOB",
                            Some(3) => "PIPELINE",
                            Some(4) => "PIPELINE_VERSION",
                            Some(5) => "NAMESPACE",
                            _ => "UNKNOWN_RESOURCE_TYPE",
                        }
                        .to_string(),
                        Some(v) => v.as_str().unwrap_or_default().to_string(),
                        None => String::new(),
                    };
                    (ty, gs(&key, "id"), gs(r, "relationship"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn ref_id(rs: &[(String, String, String)], ty: &str) -> String {
    rs.iter()
        .find(|(t, _, _)| t == ty)
        .map(|(_, id, _)| id.clone())
        .unwrap_or_default()
}

fn reference(ty: &str, id: &str, rel: &str, name: &str) -> Value {
    let mut o = Map::new();
    o.insert("key".into(), json!({"type": ty, "id": id}));
    put(&mut o, "name", json!(name));
    o.insert("relationship".into(), json!(rel));
    Value::Object(o)
}

impl Store {
    fn next(&mut self, kind: u32) -> (String, i64) {
        self.seq += 1;
        let n = self.seq;
        (
            format!("{kind:08x}-{:04x}-4000-8000-{:012x}", n % 0xffff, n),
            EPOCH + n,
        )
    }

    // ----- seeding -----------------------------------------------------------------------

    pub fn seed_pipeline(&mut self, name: &str, namespace: &str) -> (String, String) {
        let spec = json!({
            "pipelineInfo": {"name": "seeded-pipeline"},
            "schemaVersion": "2.1.0",
            "sdkVersion": "fake",
            "root": {"dag": {"tasks": {}}},
        });
        let t = Template::Ir {
            spec,
            platform: None,
        };
        self.create_pipeline_with_version(name, name, "", namespace, Some(t), String::new())
    }

    pub fn seed_experiment(&mut self, display_name: &str, namespace: &str) -> String {
        let (id, created) = self.next(0xe0);
        self.experiments.insert(
            id.clone(),
            Experiment {
                id: id.clone(),
                display_name: display_name.into(),
                namespace: namespace.into(),
                created,
                ..Default::default()
            },
        );
        id
    }

    /// A shared pipeline whose one version is `document` (IR or Argo YAML).
    pub fn seed_pipeline_document(&mut self, name: &str, document: &str) -> (String, String) {
        let t = parse_template(document.as_bytes()).expect("a valid pipeline document");
        self.create_pipeline_with_version(name, name, "", "", Some(t), document.to_string())
    }

    /// A run as the server would hold it (see `FakeKfp::seed_run`); returns its id.
    pub fn seed_run(&mut self, seed: &super::SeedRun) -> String {
        let (id, created) = self.next(0x40);
        let namespace = self
            .experiments
            .get(&seed.experiment_id)
            .map(|e| e.namespace.clone())
            .unwrap_or_default();
        let template = parse_template(super::TWO_TASK_IR.as_bytes()).ok();
        let (pipeline_id, version_id) = seed.pipeline.clone().unwrap_or_default();
        let plan: Vec<String> = if seed.plan.is_empty() {
            vec!["SUCCEEDED".into()]
        } else {
            seed.plan.iter().map(|s| s.to_string()).collect()
        };
        let inline_spec = if seed.pipeline.is_none() {
            template.as_ref().map(Template::to_api)
        } else {
            None
        };
        let r = Run {
            id: id.clone(),
            display_name: seed.name.clone(),
            description: seed.description.clone(),
            experiment_id: seed.experiment_id.clone(),
            namespace,
            inline_spec,
            pipeline_id,
            version_id,
            template,
            runtime_config: seed.parameters.clone().map(|p| json!({"parameters": p})),
            created,
            plan,
            failed_task: seed.failed_task.clone(),
            recurring_run_id: seed.recurring_run_id.clone(),
            archived: seed.archived,
            ..Default::default()
        };
        self.runs.insert(id.clone(), r);
        id
    }

    /// A recurring run (see `FakeKfp::seed_recurring_run`); returns its id.
    pub fn seed_recurring(
        &mut self,
        name: &str,
        experiment_id: &str,
        pipeline: (&str, &str),
        cron: &str,
        enabled: bool,
    ) -> String {
        let (id, created) = self.next(0x50);
        let namespace = self
            .experiments
            .get(experiment_id)
            .map(|e| e.namespace.clone())
            .unwrap_or_default();
        self.recurring.insert(
            id.clone(),
            Recurring {
                id: id.clone(),
                display_name: name.into(),
                experiment_id: experiment_id.into(),
                namespace,
                pipeline_id: pipeline.0.into(),
                version_id: pipeline.1.into(),
                max_concurrency: 1,
                trigger: json!({"cron_schedule": {"cron": cron}}),
                enabled,
                created,
                updated: created,
                ..Default::default()
            },
        );
        id
    }

    fn create_pipeline_with_version(
        &mut self,
        name: &str,
        display_name: &str,
        description: &str,
        namespace: &str,
        template: Option<Template>,
        raw: String,
    ) -> (String, String) {
        let (pid, created) = self.next(0x91);
        self.pipelines.insert(
            pid.clone(),
            Pipeline {
                id: pid.clone(),
                name: name.into(),
                display_name: display_name.into(),
                description: description.into(),
                namespace: namespace.into(),
                created,
                ..Default::default()
            },
        );
        let vid = self.add_version(&pid, name, display_name, description, template, raw);
        (pid, vid)
    }

    fn add_version(
        &mut self,
        pid: &str,
        name: &str,
        display_name: &str,
        description: &str,
        template: Option<Template>,
        raw: String,
    ) -> String {
        let (vid, created) = self.next(0x7e);
        self.by_pipeline
            .entry(pid.to_string())
            .or_default()
            .push(vid.clone());
        self.versions.insert(
            vid.clone(),
            Version {
                id: vid.clone(),
                pipeline_id: pid.into(),
                name: name.into(),
                display_name: display_name.into(),
                description: description.into(),
                created,
                template,
                raw,
                ..Default::default()
            },
        );
        if let Some(p) = self.pipelines.get_mut(pid) {
            p.default_version = vid.clone();
        }
        vid
    }

    fn versions_of(&self, pid: &str) -> Vec<&Version> {
        self.by_pipeline
            .get(pid)
            .map(|ids| ids.iter().filter_map(|id| self.versions.get(id)).collect())
            .unwrap_or_default()
    }

    fn remove_version(&mut self, vid: &str) -> Option<Version> {
        let v = self.versions.remove(vid)?;
        if let Some(ids) = self.by_pipeline.get_mut(&v.pipeline_id) {
            ids.retain(|id| id != vid);
        }
        Some(v)
    }

    fn latest_version(&self, pid: &str) -> Option<&Version> {
        self.versions_of(pid).last().copied()
    }

    // ----- accessors for tests ------------------------------------------------------------

    pub fn all_pipelines_v2(&self, ver: ServerVersion) -> Vec<Value> {
        let mut ps: Vec<&Pipeline> = self.pipelines.values().collect();
        ps.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        ps.iter().map(|p| self.pipeline_v2(p, ver)).collect()
    }

    pub fn all_versions_v2(&self, pid: &str, ver: ServerVersion) -> Vec<Value> {
        self.versions_of(pid)
            .iter()
            .map(|v| self.version_v2(v, ver))
            .collect()
    }

    pub fn all_experiments_v2(&self) -> Vec<Value> {
        let mut es: Vec<&Experiment> = self.experiments.values().collect();
        es.sort_by_key(|e| e.created);
        es.iter().map(|e| self.experiment_v2(e)).collect()
    }

    pub fn all_runs_v2(&self, _c: &Control) -> Vec<Value> {
        let mut rs: Vec<&Run> = self.runs.values().collect();
        rs.sort_by_key(|r| r.created);
        rs.iter().map(|r| self.run_v2(r)).collect()
    }

    pub fn all_recurring_v2(&self) -> Vec<Value> {
        let mut rs: Vec<&Recurring> = self.recurring.values().collect();
        rs.sort_by_key(|r| r.created);
        rs.iter().map(|r| self.recurring_v2(r)).collect()
    }

    // ----- routing -----------------------------------------------------------------------

    pub fn route(&mut self, ctx: &Ctx) -> Outcome {
        let mut viol = vec![];
        let api = if ctx.path.starts_with("/apis/v1beta1/") {
            Api::V1
        } else {
            Api::V2
        };
        if let Some(template) = swagger::match_path(api, ctx.method, ctx.path) {
            let declared = swagger::query_params(api, ctx.method, &template);
            for (k, v) in ctx.query {
                match declared.iter().find(|(name, _)| name == k) {
                    None => viol.push(format!(
                        "query parameter {k:?} is not in the spec of {} {template} (the server ignores it)",
                        ctx.method
                    )),
                    Some((_, ty)) if ty == "integer" && v.trim().parse::<i64>().is_err() => {
                        viol.push(format!("query parameter {k}={v:?} is not an integer"))
                    }
                    Some((_, ty)) if ty == "boolean" && v != "true" && v != "false" => {
                        viol.push(format!("query parameter {k}={v:?} is not true/false"))
                    }
                    Some(_) => {}
                }
            }
        }
        let result = self.dispatch(ctx, &mut viol);
        if let Err(e) = &result {
            if e.shape {
                viol.push(e.message.clone());
            }
        }
        Outcome {
            result,
            violations: viol,
        }
    }

    fn dispatch(&mut self, ctx: &Ctx, viol: &mut Vec<String>) -> R {
        let rest = ctx.path.trim_start_matches("/apis/");
        let mut segs: Vec<String> = rest
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        // Custom verbs: ".../{id}:archive".
        const VERBS: &[&str] = &[
            "archive",
            "unarchive",
            "terminate",
            "retry",
            "enable",
            "disable",
            "reportMetrics",
        ];
        if let Some(last) = segs.last().cloned() {
            if let Some((id, verb)) = last.rsplit_once(':') {
                if VERBS.contains(&verb) {
                    segs.pop();
                    segs.push(id.to_string());
                    segs.push(format!(":{verb}"));
                }
            }
        }
        let api = match segs.first().map(String::as_str) {
            Some("v2beta1") => Api::V2,
            Some("v1beta1") => Api::V1,
            _ => {
                viol.push("unknown API version path".into());
                return Err(ApiError::not_found("Not Found"));
            }
        };
        let s: Vec<&str> = segs[1..].iter().map(String::as_str).collect();
        let m = ctx.method;
        let r = match api {
            Api::V2 => self.dispatch_v2(ctx, m, &s, viol),
            Api::V1 => self.dispatch_v1(ctx, m, &s, viol),
        };
        match r {
            Err(e) if e.status == 0 => {
                viol.push("no such endpoint in the KFP API".into());
                Err(ApiError::not_found("Not Found"))
            }
            other => other,
        }
    }

    fn dispatch_v2(&mut self, c: &Ctx, m: &str, s: &[&str], viol: &mut Vec<String>) -> R {
        const P: &str = "/apis/v2beta1";
        match (m, s) {
            ("GET", ["healthz"]) => Ok(self.healthz(c, Api::V2)),
            ("GET", ["auth"]) => self
                .authz(
                    c,
                    c.query.get("namespace").map(String::as_str).unwrap_or(""),
                )
                .map(|_| Reply::json(200, &json!({}))),
            ("GET", ["pipelines"]) => self.list_pipelines(c, Api::V2),
            ("POST", ["pipelines"]) => {
                let b = body(c, Api::V2, &format!("{P}/pipelines"), viol)?;
                self.create_pipeline_v2(c, &b)
            }
            ("POST", ["pipelines", "create"]) => {
                let b = body(c, Api::V2, &format!("{P}/pipelines/create"), viol)?;
                self.create_pipeline_and_version_v2(c, &b)
            }
            ("POST", ["pipelines", "upload"]) => self.upload(c, Api::V2, false, viol),
            ("POST", ["pipelines", "upload_version"]) => self.upload(c, Api::V2, true, viol),
            ("GET", ["pipelines", "names", name]) => self.pipeline_by_name(c, name, Api::V2),
            ("GET", ["pipelines", id]) => self
                .pipeline(id)
                .map(|p| Reply::json(200, &self.pipeline_v2(p, c.control.version))),
            ("DELETE", ["pipelines", id]) => self.delete_pipeline(c, id, Api::V2, viol),
            ("PATCH", ["pipelines", id]) => {
                let b = body(
                    c,
                    Api::V2,
                    &format!("{P}/pipelines/{{pipeline.pipeline_id}}"),
                    viol,
                )?;
                self.patch_pipeline(c, id, &b)
            }
            ("GET", ["pipelines", id, "versions"]) => self.list_versions(c, id, Api::V2),
            ("POST", ["pipelines", id, "versions"]) => {
                let b = body(
                    c,
                    Api::V2,
                    &format!("{P}/pipelines/{{pipeline_id}}/versions"),
                    viol,
                )?;
                self.create_version_json(c, id, &b, Api::V2)
            }
            ("GET", ["pipelines", pid, "versions", vid]) => self
                .version_in(pid, vid)
                .map(|v| Reply::json(200, &self.version_v2(v, c.control.version))),
            ("DELETE", ["pipelines", pid, "versions", vid]) => {
                self.version_in(pid, vid)?;
                self.remove_version(vid);
                Ok(Reply::json(200, &json!({})))
            }
            ("POST", ["experiments"]) => {
                let b = body(c, Api::V2, &format!("{P}/experiments"), viol)?;
                self.create_experiment(
                    c,
                    gs(&b, "display_name"),
                    gs(&b, "description"),
                    gs(&b, "namespace"),
                    Api::V2,
                )
            }
            ("GET", ["experiments"]) => self.list_experiments(c, Api::V2),
            ("GET", ["experiments", id]) => self
                .experiment(id)
                .map(|e| Reply::json(200, &self.experiment_v2(e))),
            ("DELETE", ["experiments", id]) => self.experiment(id).map(|_| ()).map(|_| {
                self.experiments.remove(*id);
                Reply::json(200, &json!({}))
            }),
            ("POST", ["experiments", id, verb @ (":archive" | ":unarchive")]) => {
                let archived = *verb == ":archive";
                self.experiment(id)?;
                if let Some(e) = self.experiments.get_mut(*id) {
                    e.archived = archived;
                }
                Ok(Reply::json(200, &json!({})))
            }
            ("POST", ["runs"]) => {
                let b = body(c, Api::V2, &format!("{P}/runs"), viol)?;
                self.create_run_v2(c, &b)
            }
            ("GET", ["runs"]) => self.list_runs(c, Api::V2),
            ("GET", ["runs", id]) => {
                self.authz_run(c, id)?;
                self.get_run(id).map(|r| Reply::json(200, &self.run_v2(&r)))
            }
            ("DELETE", ["runs", id]) => self.run(id).map(|_| ()).map(|_| {
                self.runs.remove(*id);
                Reply::json(200, &json!({}))
            }),
            ("POST", ["runs", id, verb]) if verb.starts_with(':') => {
                self.authz_run(c, id)?;
                self.run_verb(id, verb)
            }
            ("POST", ["recurringruns"]) => {
                let b = body(c, Api::V2, &format!("{P}/recurringruns"), viol)?;
                self.create_recurring_v2(c, &b)
            }
            ("GET", ["recurringruns"]) => self.list_recurring(c, Api::V2),
            ("GET", ["recurringruns", id]) => {
                self.authz_recurring(c, id)?;
                self.recurring_run(id)
                    .map(|r| Reply::json(200, &self.recurring_v2(r)))
            }
            ("DELETE", ["recurringruns", id]) => self.recurring_run(id).map(|_| ()).map(|_| {
                self.recurring.remove(*id);
                Reply::json(200, &json!({}))
            }),
            ("POST", ["recurringruns", id, verb @ (":enable" | ":disable")]) => {
                self.authz_recurring(c, id)?;
                self.set_enabled(id, *verb == ":enable")
            }
            _ => Err(ApiError::new(0, "no route")),
        }
    }

    fn dispatch_v1(&mut self, c: &Ctx, m: &str, s: &[&str], viol: &mut Vec<String>) -> R {
        const P: &str = "/apis/v1beta1";
        match (m, s) {
            ("GET", ["healthz"]) => Ok(self.healthz(c, Api::V1)),
            ("POST", ["pipelines", "upload"]) => self.upload(c, Api::V1, false, viol),
            ("POST", ["pipelines", "upload_version"]) => self.upload(c, Api::V1, true, viol),
            ("GET", ["pipelines"]) => self.list_pipelines(c, Api::V1),
            ("POST", ["pipelines"]) => {
                let b = body(c, Api::V1, &format!("{P}/pipelines"), viol)?;
                self.create_pipeline_v1(c, &b)
            }
            ("GET", ["pipelines", id]) => self
                .pipeline(id)
                .map(|p| Reply::json(200, &self.pipeline_v1(p))),
            ("DELETE", ["pipelines", id]) => self.delete_pipeline(c, id, Api::V1, viol),
            ("GET", ["pipelines", id, "templates"]) => {
                let p = self.pipeline(id)?;
                let v = self
                    .versions
                    .get(&p.default_version)
                    .or_else(|| self.latest_version(id))
                    .ok_or_else(|| ApiError::not_found(format!("Pipeline {id} has no versions")))?;
                Ok(Reply::json(200, &json!({"template": v.raw})))
            }
            ("POST", ["pipelines", pid, "default_version", vid]) => {
                self.version_in(pid, vid)?;
                if let Some(p) = self.pipelines.get_mut(*pid) {
                    p.default_version = vid.to_string();
                }
                Ok(Reply::json(200, &json!({})))
            }
            ("GET", ["namespaces", ns, "pipelines", name]) => {
                let ns = if *ns == "-" { "" } else { ns };
                let mut q = c.query.clone();
                q.insert("namespace".into(), ns.to_string());
                let c2 = Ctx {
                    query: &q,
                    multipart: None,
                    ..*c
                };
                self.pipeline_by_name(&c2, name, Api::V1)
            }
            ("GET", ["pipeline_versions"]) => {
                let pid = c.query.get("resource_key.id").cloned().unwrap_or_default();
                if pid.is_empty() {
                    return Err(ApiError::invalid(
                        "Invalid input error: ListPipelineVersions needs resource_key.type=PIPELINE and resource_key.id",
                    ));
                }
                self.list_versions(c, &pid, Api::V1)
            }
            ("POST", ["pipeline_versions"]) => {
                let b = body(c, Api::V1, &format!("{P}/pipeline_versions"), viol)?;
                let pid = ref_id(&refs(&b), "PIPELINE");
                self.create_version_json(c, &pid, &b, Api::V1)
            }
            ("GET", ["pipeline_versions", id]) => self
                .versions
                .get(*id)
                .map(|v| Reply::json(200, &self.version_v1(v)))
                .ok_or_else(|| ApiError::not_found(format!("Pipeline version {id} not found"))),
            ("DELETE", ["pipeline_versions", id]) => match self.remove_version(id) {
                Some(_) => Ok(Reply::json(200, &json!({}))),
                None => Err(ApiError::not_found(format!(
                    "Pipeline version {id} not found"
                ))),
            },
            ("GET", ["pipeline_versions", id, "templates"]) => self
                .versions
                .get(*id)
                .map(|v| Reply::json(200, &json!({"template": v.raw})))
                .ok_or_else(|| ApiError::not_found(format!("Pipeline version {id} not found"))),
            ("POST", ["experiments"]) => {
                let b = body(c, Api::V1, &format!("{P}/experiments"), viol)?;
                let ns = ref_id(&refs(&b), "NAMESPACE");
                self.create_experiment(c, gs(&b, "name"), gs(&b, "description"), ns, Api::V1)
            }
            ("GET", ["experiments"]) => self.list_experiments(c, Api::V1),
            ("GET", ["experiments", id]) => self
                .experiment(id)
                .map(|e| Reply::json(200, &self.experiment_v1(e))),
            ("DELETE", ["experiments", id]) => self.experiment(id).map(|_| ()).map(|_| {
                self.experiments.remove(*id);
                Reply::json(200, &json!({}))
            }),
            ("POST", ["experiments", id, verb @ (":archive" | ":unarchive")]) => {
                let archived = *verb == ":archive";
                self.experiment(id)?;
                if let Some(e) = self.experiments.get_mut(*id) {
                    e.archived = archived;
                }
                Ok(Reply::json(200, &json!({})))
            }
            ("POST", ["runs"]) => {
                let b = body(c, Api::V1, &format!("{P}/runs"), viol)?;
                self.create_run_v1(c, &b)
            }
            ("GET", ["runs"]) => self.list_runs(c, Api::V1),
            ("GET", ["runs", id]) => {
                self.authz_run(c, id)?;
                self.get_run(id)
                    .map(|r| Reply::json(200, &self.run_detail_v1(&r)))
            }
            ("DELETE", ["runs", id]) => self.run(id).map(|_| ()).map(|_| {
                self.runs.remove(*id);
                Reply::json(200, &json!({}))
            }),
            ("POST", ["runs", id, verb @ ("terminate" | "retry")]) => {
                self.authz_run(c, id)?;
                self.run_verb(id, &format!(":{verb}"))
            }
            ("POST", ["runs", id, verb @ (":archive" | ":unarchive")]) => {
                self.authz_run(c, id)?;
                self.run_verb(id, verb)
            }
            ("POST", ["jobs"]) => {
                let b = body(c, Api::V1, &format!("{P}/jobs"), viol)?;
                self.create_job_v1(c, &b)
            }
            ("GET", ["jobs"]) => self.list_recurring(c, Api::V1),
            ("GET", ["jobs", id]) => self
                .recurring_run(id)
                .map(|r| Reply::json(200, &self.job_v1(r))),
            ("DELETE", ["jobs", id]) => self.recurring_run(id).map(|_| ()).map(|_| {
                self.recurring.remove(*id);
                Reply::json(200, &json!({}))
            }),
            ("POST", ["jobs", id, verb @ ("enable" | "disable")]) => {
                self.authz_recurring(c, id)?;
                self.set_enabled(id, *verb == "enable")
            }
            _ => Err(ApiError::new(0, "no route")),
        }
    }

    // ----- lookups -----------------------------------------------------------------------

    fn pipeline(&self, id: &str) -> Result<&Pipeline, ApiError> {
        self.pipelines.get(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "Failed to get pipeline {id}: ResourceNotFoundError: Pipeline {id} not found"
            ))
        })
    }

    fn version_in(&self, pid: &str, vid: &str) -> Result<&Version, ApiError> {
        self.pipeline(pid)?;
        self.versions
            .get(vid)
            .filter(|v| v.pipeline_id == pid)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Failed to get pipeline version {vid}: ResourceNotFoundError: PipelineVersion {vid} not found"
                ))
            })
    }

    fn experiment(&self, id: &str) -> Result<&Experiment, ApiError> {
        self.experiments.get(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "Failed to get experiment {id}: ResourceNotFoundError: Experiment {id} not found"
            ))
        })
    }

    fn run(&self, id: &str) -> Result<&Run, ApiError> {
        self.runs.get(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "Failed to get run {id}: ResourceNotFoundError: Run {id} not found"
            ))
        })
    }

    fn recurring_run(&self, id: &str) -> Result<&Recurring, ApiError> {
        self.recurring.get(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "Failed to get recurring run {id}: ResourceNotFoundError: RecurringRun {id} not found"
            ))
        })
    }

    /// GET of a run: one step along its plan, then its state.
    fn get_run(&mut self, id: &str) -> Result<Run, ApiError> {
        self.run(id)?;
        let r = self.runs.get_mut(id).expect("checked above");
        if r.step + 1 < r.plan.len() {
            r.step += 1;
        }
        Ok(r.clone())
    }

    fn run_verb(&mut self, id: &str, verb: &str) -> R {
        self.run(id)?;
        let r = self.runs.get_mut(id).expect("checked above");
        match verb {
            ":terminate" => {
                r.plan = vec!["CANCELING".into(), "CANCELED".into()];
                r.step = 0;
            }
            ":retry" => {
                r.plan = vec!["RUNNING".into(), "SUCCEEDED".into()];
                r.step = 0;
            }
            ":archive" => r.archived = true,
            ":unarchive" => r.archived = false,
            _ => return Err(ApiError::not_found("Not Found")),
        }
        Ok(Reply::json(200, &json!({})))
    }

    fn set_enabled(&mut self, id: &str, on: bool) -> R {
        self.recurring_run(id)?;
        let (_, now) = self.next(0);
        let r = self.recurring.get_mut(id).expect("checked above");
        r.enabled = on;
        r.updated = now;
        Ok(Reply::json(200, &json!({})))
    }

    // ----- namespaces --------------------------------------------------------------------

    fn ns(&self, c: &Ctx, given: &str) -> String {
        if c.control.multi_user {
            given.to_string()
        } else {
            String::new()
        }
    }

    fn authz(&self, c: &Ctx, ns: &str) -> Result<(), ApiError> {
        if c.control.multi_user && c.control.denied_namespaces.contains(ns) {
            return Err(ApiError::new(
                403,
                format!(
                    "Failed to authorize with API: PermissionDenied: User 'user@example.com' is not authorized with reason:  (request: &ResourceAttributes{{Namespace:{ns},Verb:create,Group:pipelines.kubeflow.org}})"
                ),
            ));
        }
        Ok(())
    }

    /// Reads and verbs of a run are authorized against the run's namespace, as the server's
    /// run_server.go does (canAccessRun); an unknown run passes here and 404s after.
    fn authz_run(&self, c: &Ctx, id: &str) -> Result<(), ApiError> {
        match self.runs.get(id) {
            Some(r) => self.authz(c, &r.namespace),
            None => Ok(()),
        }
    }

    fn authz_recurring(&self, c: &Ctx, id: &str) -> Result<(), ApiError> {
        match self.recurring.get(id) {
            Some(r) => self.authz(c, &r.namespace),
            None => Ok(()),
        }
    }

    /// The namespace a list call asks for: v2 `namespace`, v1 resource_reference_key.
    fn list_ns(c: &Ctx, api: Api) -> String {
        match api {
            Api::V2 => c.query.get("namespace").cloned().unwrap_or_default(),
            Api::V1 => {
                if c.query
                    .get("resource_reference_key.type")
                    .map(String::as_str)
                    == Some("NAMESPACE")
                {
                    c.query
                        .get("resource_reference_key.id")
                        .cloned()
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            }
        }
    }

    fn v1_ref_filter(c: &Ctx, ty: &str) -> Option<String> {
        (c.query
            .get("resource_reference_key.type")
            .map(String::as_str)
            == Some(ty))
        .then(|| {
            c.query
                .get("resource_reference_key.id")
                .cloned()
                .unwrap_or_default()
        })
    }

    // ----- healthz -----------------------------------------------------------------------

    fn healthz(&self, c: &Ctx, api: Api) -> Reply {
        let mut o = Map::new();
        put(
            &mut o,
            "commit_sha",
            json!("4a3592cb2dd0a91a4652ab93893ec8beda1f3158"),
        );
        put(&mut o, "tag_name", json!(c.control.version.tag()));
        put(&mut o, "multi_user", json!(c.control.multi_user));
        if api == Api::V2 && c.control.version.at_least(2, 14) {
            put(&mut o, "pipeline_store", json!("database"));
        }
        Reply::json(200, &Value::Object(o))
    }
}

/// The JSON body of a request, checked against the swagger (400 on what the server rejects).
fn body(c: &Ctx, api: Api, template: &str, viol: &mut Vec<String>) -> Result<Value, ApiError> {
    let v: Value = if c.body.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(c.body).map_err(|e| {
            viol.push(format!("body is not JSON: {e}"));
            ApiError::invalid(format!("proto: syntax error: invalid JSON body: {e}"))
        })?
    };
    let check = swagger::check_body_param(api, c.method, template, &v, c.control.version);
    viol.extend(check.soft.iter().cloned());
    viol.extend(check.hard.iter().cloned());
    if let Some(first) = check.hard.first() {
        return Err(ApiError::invalid(format!(
            "Invalid input error: proto: unmarshal request body: {first}"
        )));
    }
    Ok(v)
}
