//! The fake's state (pipelines, versions, experiments, runs, recurring runs) and the
//! endpoint handlers of both API versions over it.

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

    // ----- rendering (v2) ----------------------------------------------------------------

    fn pipeline_v2(&self, p: &Pipeline, ver: ServerVersion) -> Value {
        let mut o = Map::new();
        put(&mut o, "pipeline_id", json!(p.id));
        if ver.at_least(2, 14) {
            put(&mut o, "name", json!(p.name));
        }
        put(&mut o, "display_name", json!(p.display_name));
        put(&mut o, "description", json!(p.description));
        put(&mut o, "created_at", json!(ts(p.created)));
        put(&mut o, "namespace", json!(p.namespace));
        if ver.at_least(2, 17) && !p.tags.is_empty() {
            o.insert("tags".into(), json!(p.tags));
        }
        Value::Object(o)
    }

    fn version_v2(&self, v: &Version, ver: ServerVersion) -> Value {
        let mut o = Map::new();
        put(&mut o, "pipeline_id", json!(v.pipeline_id));
        put(&mut o, "pipeline_version_id", json!(v.id));
        if ver.at_least(2, 14) {
            put(&mut o, "name", json!(v.name));
        }
        put(&mut o, "display_name", json!(v.display_name));
        put(&mut o, "description", json!(v.description));
        put(&mut o, "created_at", json!(ts(v.created)));
        if !v.package_url.is_empty() {
            o.insert("package_url".into(), json!({"pipeline_url": v.package_url}));
        }
        put(&mut o, "code_source_url", json!(v.code_source_url));
        if let Some(t) = &v.template {
            o.insert("pipeline_spec".into(), t.to_api());
        }
        if ver.at_least(2, 17) && !v.tags.is_empty() {
            o.insert("tags".into(), json!(v.tags));
        }
        Value::Object(o)
    }

    fn experiment_v2(&self, e: &Experiment) -> Value {
        let mut o = Map::new();
        put(&mut o, "experiment_id", json!(e.id));
        put(&mut o, "display_name", json!(e.display_name));
        put(&mut o, "description", json!(e.description));
        put(&mut o, "created_at", json!(ts(e.created)));
        put(&mut o, "namespace", json!(e.namespace));
        put(
            &mut o,
            "storage_state",
            json!(if e.archived { "ARCHIVED" } else { "AVAILABLE" }),
        );
        // Always set: 1970-01-01T00:00:00Z before the first run (api_converter.go).
        o.insert("last_run_created_at".into(), json!(ts(e.last_run_created)));
        Value::Object(o)
    }

    fn task_details(&self, r: &Run, failed_task: &str) -> Vec<Value> {
        let state = r.state();
        if state == "PENDING" {
            return vec![];
        }
        let names = r
            .template
            .as_ref()
            .map(Template::task_names)
            .unwrap_or_default();
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let st = match state {
                    "FAILED" if name == failed_task => "FAILED",
                    "FAILED" => "SUCCEEDED",
                    other => other,
                };
                let mut o = Map::new();
                put(&mut o, "run_id", json!(r.id));
                put(&mut o, "task_id", json!(format!("{}-task-{i}", r.id)));
                put(&mut o, "display_name", json!(name));
                put(&mut o, "create_time", json!(ts(r.created + 1)));
                put(&mut o, "state", json!(st));
                put(
                    &mut o,
                    "pod_name",
                    json!(format!(
                        "{}-{name}-{i}",
                        r.display_name.to_lowercase().replace(' ', "-")
                    )),
                );
                if st == "FAILED" {
                    o.insert(
                        "error".into(),
                        json!({"code": 2, "message": format!("task {name} failed: exit status 1")}),
                    );
                }
                Value::Object(o)
            })
            .collect()
    }

    fn failed_task_of(&self, r: &Run) -> String {
        if !r.failed_task.is_empty() {
            return r.failed_task.clone();
        }
        r.template
            .as_ref()
            .and_then(|t| t.task_names().into_iter().next())
            .unwrap_or_else(|| "main".into())
    }

    fn run_v2(&self, r: &Run) -> Value {
        let mut o = Map::new();
        put(&mut o, "experiment_id", json!(r.experiment_id));
        put(&mut o, "run_id", json!(r.id));
        put(&mut o, "display_name", json!(r.display_name));
        put(
            &mut o,
            "storage_state",
            json!(if r.archived { "ARCHIVED" } else { "AVAILABLE" }),
        );
        put(&mut o, "description", json!(r.description));
        if let Some(spec) = &r.inline_spec {
            o.insert("pipeline_spec".into(), spec.clone());
        } else if !r.pipeline_id.is_empty() {
            o.insert(
                "pipeline_version_reference".into(),
                json!({"pipeline_id": r.pipeline_id, "pipeline_version_id": r.version_id}),
            );
        }
        if let Some(rc) = &r.runtime_config {
            o.insert("runtime_config".into(), rc.clone());
        }
        put(&mut o, "service_account", json!(r.service_account));
        put(&mut o, "created_at", json!(ts(r.created)));
        put(&mut o, "scheduled_at", json!(ts(r.created)));
        // Always set: 1970-01-01T00:00:00Z until the run finishes (api_converter.go).
        o.insert("finished_at".into(), json!(ts(r.finished().unwrap_or(0))));
        put(&mut o, "state", json!(r.state()));
        let failed = self.failed_task_of(r);
        if r.state() == "FAILED" {
            o.insert(
                "error".into(),
                json!({"code": 2, "message": format!("pipeline run failed: task {failed} failed")}),
            );
        }
        let tasks = self.task_details(r, &failed);
        if !tasks.is_empty() {
            o.insert("run_details".into(), json!({"task_details": tasks}));
        }
        put(&mut o, "recurring_run_id", json!(r.recurring_run_id));
        let history: Vec<Value> = r.plan[..=r.step.min(r.plan.len().saturating_sub(1))]
            .iter()
            .enumerate()
            .map(|(i, st)| json!({"update_time": ts(r.created + i as i64 * 60), "state": st}))
            .collect();
        put(&mut o, "state_history", Value::Array(history));
        Value::Object(o)
    }

    fn recurring_v2(&self, rr: &Recurring) -> Value {
        let mut o = Map::new();
        put(&mut o, "recurring_run_id", json!(rr.id));
        put(&mut o, "display_name", json!(rr.display_name));
        put(&mut o, "description", json!(rr.description));
        if let Some(spec) = &rr.inline_spec {
            o.insert("pipeline_spec".into(), spec.clone());
        } else if !rr.pipeline_id.is_empty() {
            o.insert(
                "pipeline_version_reference".into(),
                json!({"pipeline_id": rr.pipeline_id, "pipeline_version_id": rr.version_id}),
            );
        }
        if let Some(rc) = &rr.runtime_config {
            o.insert("runtime_config".into(), rc.clone());
        }
        put(&mut o, "service_account", json!(rr.service_account));
        put(
            &mut o,
            "max_concurrency",
            json!(rr.max_concurrency.to_string()),
        );
        o.insert("trigger".into(), rr.trigger.clone());
        put(
            &mut o,
            "mode",
            json!(if rr.enabled { "ENABLE" } else { "DISABLE" }),
        );
        put(&mut o, "created_at", json!(ts(rr.created)));
        put(&mut o, "updated_at", json!(ts(rr.updated)));
        put(
            &mut o,
            "status",
            json!(if rr.enabled { "ENABLED" } else { "DISABLED" }),
        );
        put(&mut o, "no_catchup", json!(rr.no_catchup));
        put(&mut o, "namespace", json!(rr.namespace));
        put(&mut o, "experiment_id", json!(rr.experiment_id));
        Value::Object(o)
    }

    // ----- rendering (v1) ----------------------------------------------------------------

    fn version_v1(&self, v: &Version) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(v.id));
        put(&mut o, "name", json!(v.name));
        put(&mut o, "created_at", json!(ts(v.created)));
        if let Some(t) = &v.template {
            put(&mut o, "parameters", Value::Array(t.v1_parameters()));
        }
        put(&mut o, "code_source_url", json!(v.code_source_url));
        if !v.package_url.is_empty() {
            o.insert("package_url".into(), json!({"pipeline_url": v.package_url}));
        }
        o.insert(
            "resource_references".into(),
            json!([reference("PIPELINE", &v.pipeline_id, "OWNER", "")]),
        );
        put(&mut o, "description", json!(v.description));
        Value::Object(o)
    }

    fn pipeline_v1(&self, p: &Pipeline) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(p.id));
        put(&mut o, "created_at", json!(ts(p.created)));
        put(&mut o, "name", json!(p.display_name));
        put(&mut o, "description", json!(p.description));
        let dv = self
            .versions
            .get(&p.default_version)
            .or_else(|| self.latest_version(&p.id));
        if let Some(t) = dv.and_then(|v| v.template.as_ref()) {
            put(&mut o, "parameters", Value::Array(t.v1_parameters()));
        }
        if let Some(v) = dv {
            o.insert("default_version".into(), self.version_v1(v));
        }
        if !p.namespace.is_empty() {
            o.insert(
                "resource_references".into(),
                json!([reference("NAMESPACE", &p.namespace, "OWNER", "")]),
            );
        }
        Value::Object(o)
    }

    fn experiment_v1(&self, e: &Experiment) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(e.id));
        put(&mut o, "name", json!(e.display_name));
        put(&mut o, "description", json!(e.description));
        put(&mut o, "created_at", json!(ts(e.created)));
        if !e.namespace.is_empty() {
            o.insert(
                "resource_references".into(),
                json!([reference("NAMESPACE", &e.namespace, "OWNER", "")]),
            );
        }
        put(
            &mut o,
            "storage_state",
            json!(if e.archived {
                "STORAGESTATE_ARCHIVED"
            } else {
                "STORAGESTATE_AVAILABLE"
            }),
        );
        Value::Object(o)
    }

    fn v1_refs(&self, experiment_id: &str, pid: &str, vid: &str, ns: &str) -> Value {
        let mut rs = vec![];
        if let Some(e) = self.experiments.get(experiment_id) {
            rs.push(reference("EXPERIMENT", &e.id, "OWNER", &e.display_name));
        }
        if !ns.is_empty() {
            rs.push(reference("NAMESPACE", ns, "OWNER", ""));
        }
        if let Some(v) = self.versions.get(vid) {
            rs.push(reference("PIPELINE_VERSION", vid, "CREATOR", &v.name));
        } else if let Some(p) = self.pipelines.get(pid) {
            rs.push(reference("PIPELINE", pid, "CREATOR", &p.display_name));
        }
        Value::Array(rs)
    }

    fn run_v1(&self, r: &Run) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(r.id));
        put(&mut o, "name", json!(r.display_name));
        if r.archived {
            put(&mut o, "storage_state", json!("STORAGESTATE_ARCHIVED"));
        }
        put(&mut o, "description", json!(r.description));
        let mut spec = Map::new();
        put(&mut spec, "pipeline_id", json!(r.pipeline_id));
        if let Some(p) = self.pipelines.get(&r.pipeline_id) {
            put(&mut spec, "pipeline_name", json!(p.display_name));
        }
        match (&r.v1_spec, &r.template) {
            (Some(v1), _) => {
                for k in [
                    "workflow_manifest",
                    "pipeline_manifest",
                    "parameters",
                    "runtime_config",
                ] {
                    if let Some(v) = get(v1, k) {
                        spec.insert(k.into(), v.clone());
                    }
                }
            }
            (None, Some(Template::Argo(w))) => {
                put(&mut spec, "workflow_manifest", json!(w.to_string()));
            }
            (None, Some(t @ Template::Ir { .. })) => {
                put(
                    &mut spec,
                    "pipeline_manifest",
                    json!(t.to_api().to_string()),
                );
                if let Some(rc) = &r.runtime_config {
                    spec.insert("runtime_config".into(), rc.clone());
                }
            }
            (None, None) => {}
        }
        o.insert("pipeline_spec".into(), Value::Object(spec));
        o.insert(
            "resource_references".into(),
            self.v1_refs(
                &r.experiment_id,
                &r.pipeline_id,
                &r.version_id,
                &r.namespace,
            ),
        );
        put(&mut o, "service_account", json!(r.service_account));
        put(&mut o, "created_at", json!(ts(r.created)));
        put(&mut o, "scheduled_at", json!(ts(r.created)));
        // Always set: 1970-01-01T00:00:00Z until the run finishes (api_converter.go).
        o.insert("finished_at".into(), json!(ts(r.finished().unwrap_or(0))));
        put(&mut o, "status", json!(v1_status(r.state())));
        if r.state() == "FAILED" {
            put(
                &mut o,
                "error",
                json!(format!(
                    "pipeline run failed: task {} failed",
                    self.failed_task_of(r)
                )),
            );
        }
        Value::Object(o)
    }

    /// v1 GetRun: `{run, pipeline_runtime: {workflow_manifest}}` with Argo-style node states.
    fn run_detail_v1(&self, r: &Run) -> Value {
        let failed = self.failed_task_of(r);
        let phase = v1_status(r.state());
        let names = r
            .template
            .as_ref()
            .map(Template::task_names)
            .unwrap_or_default();
        let mut nodes = Map::new();
        if r.state() != "PENDING" {
            for (i, name) in names.iter().enumerate() {
                let node_phase = match r.state() {
                    "FAILED" if *name == failed => "Failed",
                    "FAILED" => "Succeeded",
                    _ => phase,
                };
                let id = format!("{}-{i}", r.id);
                let mut n = json!({"id": id, "name": format!("{}.{name}", r.display_name),
                    "displayName": name, "type": "Pod", "phase": node_phase});
                if node_phase == "Failed" {
                    n["message"] = json!("Error (exit code 1)");
                }
                nodes.insert(id, n);
            }
        }
        let wf = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"name": r.display_name, "uid": r.id},
            "status": {"phase": phase, "nodes": nodes},
        });
        json!({"run": self.run_v1(r), "pipeline_runtime": {"workflow_manifest": wf.to_string()}})
    }

    fn job_v1(&self, rr: &Recurring) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", json!(rr.id));
        put(&mut o, "name", json!(rr.display_name));
        put(&mut o, "description", json!(rr.description));
        let mut spec = Map::new();
        put(&mut spec, "pipeline_id", json!(rr.pipeline_id));
        if let Some(v1) = &rr.v1_spec {
            for k in [
                "workflow_manifest",
                "pipeline_manifest",
                "parameters",
                "runtime_config",
            ] {
                if let Some(v) = get(v1, k) {
                    spec.insert(k.into(), v.clone());
                }
            }
        } else if let Some(rc) = &rr.runtime_config {
            spec.insert("runtime_config".into(), rc.clone());
        }
        o.insert("pipeline_spec".into(), Value::Object(spec));
        o.insert(
            "resource_references".into(),
            self.v1_refs(
                &rr.experiment_id,
                &rr.pipeline_id,
                &rr.version_id,
                &rr.namespace,
            ),
        );
        put(&mut o, "service_account", json!(rr.service_account));
        put(
            &mut o,
            "max_concurrency",
            json!(rr.max_concurrency.to_string()),
        );
        o.insert("trigger".into(), rr.trigger.clone());
        put(
            &mut o,
            "mode",
            json!(if rr.enabled { "ENABLED" } else { "DISABLED" }),
        );
        put(&mut o, "created_at", json!(ts(rr.created)));
        put(&mut o, "updated_at", json!(ts(rr.updated)));
        put(
            &mut o,
            "status",
            json!(if rr.enabled { "Enabled" } else { "Disabled" }),
        );
        put(&mut o, "enabled", json!(rr.enabled));
        put(&mut o, "no_catchup", json!(rr.no_catchup));
        Value::Object(o)
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

    // ----- pipelines ---------------------------------------------------------------------

    fn list_pipelines(&self, c: &Ctx, api: Api) -> R {
        let ns = self.ns(c, &Self::list_ns(c, api));
        self.authz(c, &ns)?;
        let all: Vec<&Pipeline> = self
            .pipelines
            .values()
            .filter(|p| p.namespace == ns)
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            PIPELINE_KEYS,
            |p, f| match f {
                "id" => s(&p.id),
                "name" => s(&p.name),
                "display_name" => s(&p.display_name),
                "description" => s(&p.description),
                "namespace" => s(&p.namespace),
                _ => FieldVal::Num(p.created),
            },
            |p| p.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|p| match api {
                Api::V2 => self.pipeline_v2(p, c.control.version),
                Api::V1 => self.pipeline_v1(p),
            })
            .collect();
        Ok(list_reply("pipelines", items, pg.total, pg.next_page_token))
    }

    fn pipeline_by_name(&self, c: &Ctx, name: &str, api: Api) -> R {
        let ns = self.ns(
            c,
            c.query.get("namespace").map(String::as_str).unwrap_or(""),
        );
        self.authz(c, &ns)?;
        let p = self
            .pipelines
            .values()
            .find(|p| p.namespace == ns && p.name == name)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Failed to get a pipeline with name {name} and namespace {ns}: ResourceNotFoundError: Pipeline {name} not found"
                ))
            })?;
        Ok(Reply::json(
            200,
            &match api {
                Api::V2 => self.pipeline_v2(p, c.control.version),
                Api::V1 => self.pipeline_v1(p),
            },
        ))
    }

    fn name_taken(&self, ns: &str, name: &str) -> bool {
        self.pipelines
            .values()
            .any(|p| p.namespace == ns && p.name == name)
    }

    fn create_pipeline_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let name = Some(gs(b, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| gs(b, "display_name"));
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline: pipeline name is required",
            ));
        }
        let display = Some(gs(b, "display_name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| name.clone());
        let ns = self.ns(c, &gs(b, "namespace"));
        self.authz(c, &ns)?;
        if self.name_taken(&ns, &name) {
            return Err(ApiError::new(409, format!("Failed to create a pipeline: AlreadyExistsError: Pipeline with name {name} already exists in namespace {ns:?}")));
        }
        let (id, created) = self.next(0x91);
        let tags: BTreeMap<String, String> = get(b, "tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default();
        let p = Pipeline {
            id: id.clone(),
            name,
            display_name: display,
            description: gs(b, "description"),
            namespace: ns,
            created,
            tags,
            default_version: String::new(),
        };
        let out = self.pipeline_v2(&p, c.control.version);
        self.pipelines.insert(id, p);
        Ok(Reply::json(200, &out))
    }

    fn create_pipeline_and_version_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let pb = get(b, "pipeline").cloned().unwrap_or(Value::Null);
        let vb = get(b, "pipeline_version").cloned().unwrap_or(Value::Null);
        if !pb.is_object() || !vb.is_object() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline and a pipeline version: both pipeline and pipeline_version are required",
            ));
        }
        let url = get(&vb, "package_url")
            .map(|u| gs(u, "pipeline_url"))
            .unwrap_or_default();
        if url.is_empty() {
            return Err(ApiError::invalid("Invalid input error: Failed to create a pipeline and a pipeline version: pipeline_version.package_url.pipeline_url is required"));
        }
        let reply = self.create_pipeline_v2(c, &pb)?;
        let created: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let pid = gs(&created, "pipeline_id");
        let p = self.pipelines[&pid].clone();
        let vname = Some(gs(&vb, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| p.name.clone());
        let vdisplay = Some(gs(&vb, "display_name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| vname.clone());
        let vid = self.add_version(
            &pid,
            &vname,
            &vdisplay,
            &gs(&vb, "description"),
            None,
            String::new(),
        );
        if let Some(v) = self.versions.get_mut(&vid) {
            v.package_url = url;
        }
        Ok(reply)
    }

    fn create_pipeline_v1(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "name");
        let url = get(b, "url")
            .map(|u| gs(u, "pipeline_url"))
            .unwrap_or_default();
        if name.is_empty() || url.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline: name and url.pipeline_url are required",
            ));
        }
        let ns = self.ns(c, &ref_id(&refs(b), "NAMESPACE"));
        self.authz(c, &ns)?;
        if self.name_taken(&ns, &name) {
            return Err(ApiError::new(409, format!("Failed to create a pipeline: AlreadyExistsError: Pipeline with name {name} already exists")));
        }
        let (pid, vid) = self.create_pipeline_with_version(
            &name,
            &name,
            &gs(b, "description"),
            &ns,
            None,
            String::new(),
        );
        if let Some(v) = self.versions.get_mut(&vid) {
            v.package_url = url;
        }
        Ok(Reply::json(200, &self.pipeline_v1(&self.pipelines[&pid])))
    }

    fn patch_pipeline(&mut self, c: &Ctx, id: &str, b: &Value) -> R {
        if !c.control.version.at_least(2, 17) {
            return Err(ApiError::not_found("Not Found"));
        }
        self.pipeline(id)?;
        let p = self.pipelines.get_mut(id).expect("checked");
        if let Some(d) = get(b, "display_name").and_then(Value::as_str) {
            p.display_name = d.to_string();
        }
        if let Some(t) = get(b, "tags").and_then(|t| serde_json::from_value(t.clone()).ok()) {
            p.tags = t;
        }
        let p = p.clone();
        Ok(Reply::json(200, &self.pipeline_v2(&p, c.control.version)))
    }

    fn delete_pipeline(&mut self, c: &Ctx, id: &str, api: Api, viol: &mut Vec<String>) -> R {
        self.pipeline(id)?;
        let cascade_asked = c.query.get("cascade").map(String::as_str) == Some("true");
        let cascade = match api {
            Api::V1 => true,
            Api::V2 if cascade_asked && !c.control.version.at_least(2, 14) => {
                viol.push(format!(
                    "query cascade is ignored by KFP {} (added in 2.14.0)",
                    c.control.version.tag()
                ));
                false
            }
            Api::V2 => cascade_asked,
        };
        let n_versions = self.versions_of(id).len();
        if n_versions > 0 && !cascade {
            let mut e = ApiError::invalid(format!(
                "Failed to delete pipeline {id}: FailedPreconditionError: Pipeline {id} has {n_versions} existing version(s); delete them first or pass cascade=true"
            ));
            e.code = 9;
            return Err(e);
        }
        for vid in self.by_pipeline.remove(id).unwrap_or_default() {
            self.versions.remove(&vid);
        }
        self.pipelines.remove(id);
        Ok(Reply::json(200, &json!({})))
    }

    fn list_versions(&self, c: &Ctx, pid: &str, api: Api) -> R {
        let p = self.pipeline(pid)?;
        self.authz(c, &p.namespace)?;
        let all = self.versions_of(pid);
        let pg = page(
            all,
            c.query,
            api,
            VERSION_KEYS,
            |v, f| match f {
                "id" => s(&v.id),
                "name" => s(&v.name),
                "display_name" => s(&v.display_name),
                "description" => s(&v.description),
                _ => FieldVal::Num(v.created),
            },
            |v| v.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|v| match api {
                Api::V2 => self.version_v2(v, c.control.version),
                Api::V1 => self.version_v1(v),
            })
            .collect();
        let key = match api {
            Api::V2 => "pipeline_versions",
            Api::V1 => "versions",
        };
        Ok(list_reply(key, items, pg.total, pg.next_page_token))
    }

    fn create_version_json(&mut self, c: &Ctx, pid: &str, b: &Value, api: Api) -> R {
        if pid.is_empty() {
            return Err(ApiError::invalid("Invalid input error: Failed to create a pipeline version: the parent pipeline id is required (resource_references PIPELINE/OWNER)"));
        }
        let p = self.pipeline(pid)?.clone();
        self.authz(c, &p.namespace)?;
        let url = get(b, "package_url")
            .map(|u| gs(u, "pipeline_url"))
            .unwrap_or_default();
        if url.is_empty() {
            return Err(ApiError::invalid("Invalid input error: Failed to create a pipeline version: package_url.pipeline_url is required"));
        }
        let name = gs(b, "name");
        let name = if name.is_empty() {
            gs(b, "display_name")
        } else {
            name
        };
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline version: name is required",
            ));
        }
        if self.versions_of(pid).iter().any(|v| v.name == name) {
            return Err(ApiError::new(409, format!("Failed to create a pipeline version: AlreadyExistsError: PipelineVersion with name {name} already exists")));
        }
        let display = Some(gs(b, "display_name"))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| name.clone());
        let vid = self.add_version(
            pid,
            &name,
            &display,
            &gs(b, "description"),
            None,
            String::new(),
        );
        let v = self.versions.get_mut(&vid).expect("just added");
        v.package_url = url;
        v.code_source_url = gs(b, "code_source_url");
        let v = v.clone();
        Ok(Reply::json(
            200,
            &match api {
                Api::V2 => self.version_v2(&v, c.control.version),
                Api::V1 => self.version_v1(&v),
            },
        ))
    }

    /// Multipart upload of a pipeline (or a version), both API versions, in the order and with
    /// the statuses of the server's pipeline_upload_server.go: form errors 400, an unknown
    /// pipeline or a denied namespace 400, a duplicate name 409, and a spec the server cannot
    /// use 500 (only AlreadyExists is told apart from other creation errors).
    fn upload(&mut self, c: &Ctx, api: Api, as_version: bool, viol: &mut Vec<String>) -> R {
        let (form_err, read_err, create_err) = if as_version {
            (
                "Failed to create a pipeline version due to error parsing pipeline spec filename",
                "Failed to create a pipeline version due to error reading pipeline spec file",
                "Failed to create a pipeline version",
            )
        } else {
            (
                "Failed to read pipeline from file",
                "Failed to read a pipeline spec file",
                "Failed to create a pipeline and a pipeline version",
            )
        };
        let parts = match &c.multipart {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                viol.push(format!("upload body is not valid multipart/form-data: {e}"));
                return Err(ApiError::invalid(format!("{form_err}: {e}")));
            }
            None => {
                return Err(ApiError::invalid(format!(
                    "{form_err}: not a multipart request"
                )))
            }
        };
        let Some(file) = parts.iter().find(|p| p.name == "uploadfile") else {
            let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
            viol.push(format!(
                "upload has no multipart field \"uploadfile\" (fields: {names:?})"
            ));
            return Err(ApiError::invalid(format!("{form_err}: http: no such file")));
        };
        let filename = file.filename.clone().unwrap_or_default();
        let lower = filename.to_ascii_lowercase();
        if filename.is_empty() {
            viol.push("the uploadfile part has no filename".into());
        }
        if !(lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")) {
            return Err(ApiError::invalid(format!(
                "{read_err}: Invalid input error: Unexpected pipeline file format {filename:?}. Support .zip, .tar.gz, .json or YAML (the fake reads YAML/JSON only)"
            )));
        }
        if file.data.len() > 32 << 20 {
            return Err(ApiError::invalid(format!(
                "{read_err}: Invalid input error: File size too large. Maximum supported size: 32 MiB"
            )));
        }
        let raw = String::from_utf8_lossy(&file.data).into_owned();
        let ver = c.control.version;

        // Query parameters this server version knows (the handler is shared by both APIs;
        // the generic query check records the ones the v1 spec does not declare).
        let mut q = c.query.clone();
        let gated: &[(&str, (u32, u32))] = &[("display_name", (2, 14)), ("tags", (2, 17))];
        for (k, (maj, min)) in gated {
            if q.contains_key(*k) && !ver.at_least(*maj, *min) {
                viol.push(format!(
                    "upload query {k:?} is not known to KFP {} (ignored by the server)",
                    ver.tag()
                ));
                q.remove(*k);
            }
        }
        let tags: BTreeMap<String, String> = match q.get("tags") {
            None => BTreeMap::new(),
            Some(t) => serde_json::from_str(t).map_err(|e| {
                ApiError::invalid(format!(
                    "{create_err}: invalid tags {t:?} (want a JSON object of strings): {e}"
                ))
            })?,
        };
        let qname = q.get("name").cloned().unwrap_or_default();
        let qdisplay = q.get("display_name").cloned().unwrap_or_default();
        let name = [qname, qdisplay.clone(), filename.clone()]
            .into_iter()
            .find(|n| !n.is_empty())
            .unwrap_or_default();
        let display = if qdisplay.is_empty() {
            name.clone()
        } else {
            qdisplay
        };
        let description = q.get("description").cloned().unwrap_or_default();
        let too_long = |what: &str| {
            Ok(Reply::text(
                400,
                "text/plain; charset=utf-8",
                &format!("Invalid input error: {what} Name length cannot exceed 100 characters, got {}\n", name.chars().count()),
            ))
        };
        let authz_failed = |e: ApiError, what: &str| {
            ApiError::invalid(format!(
                "Failed to create {what} due to authorization error: {}",
                e.message
            ))
        };
        // Template problems surface from the resource manager: everything but AlreadyExists
        // is answered 500 by the upload handler.
        let parse = |bytes: &[u8]| {
            parse_template(bytes)
                .map_err(|e| ApiError::new(500, format!("{create_err}: Invalid input error: {e}")))
        };

        if !as_version {
            let ns = self.ns(c, q.get("namespace").map(String::as_str).unwrap_or(""));
            self.authz(c, &ns)
                .map_err(|e| authz_failed(e, "a pipeline"))?;
            if name.chars().count() > 100 {
                return too_long("Pipeline");
            }
            let template = parse(&file.data)?;
            if self.name_taken(&ns, &name) {
                return Err(ApiError::new(
                    409,
                    format!("{create_err}. The pipeline already exists.: Already exists error: Pipeline with name {name:?} already exists in namespace {ns:?}"),
                ));
            }
            let (pid, vid) = self.create_pipeline_with_version(
                &name,
                &display,
                &description,
                &ns,
                Some(template),
                raw,
            );
            if let Some(p) = self.pipelines.get_mut(&pid) {
                p.tags = tags.clone();
            }
            if let Some(v) = self.versions.get_mut(&vid) {
                v.tags = tags;
            }
            let p = &self.pipelines[&pid];
            return Ok(Reply::json(
                200,
                &match api {
                    Api::V2 => self.pipeline_v2(p, ver),
                    Api::V1 => self.pipeline_v1(p),
                },
            ));
        }

        let pid = q.get("pipelineid").cloned().unwrap_or_default();
        if pid.is_empty() {
            return Err(ApiError::invalid(
                "Failed to create a pipeline version due to error reading pipeline id",
            ));
        }
        if name.chars().count() > 100 {
            return too_long("PipelineVersion");
        }
        let p = self.pipelines.get(&pid).cloned().ok_or_else(|| {
            ApiError::invalid(format!(
                "Failed to create a pipeline version due to error reading namespace: Failed to fetch namespace: ResourceNotFoundError: Pipeline {pid} not found"
            ))
        })?;
        self.authz(c, &p.namespace)
            .map_err(|e| authz_failed(e, "a pipeline version"))?;
        let template = parse(&file.data)?;
        if self.versions_of(&pid).iter().any(|v| v.name == name) {
            return Err(ApiError::new(
                409,
                format!("{create_err}. The pipeline already exists.: Already exists error: PipelineVersion with name {name:?} already exists"),
            ));
        }
        let vid = self.add_version(&pid, &name, &display, &description, Some(template), raw);
        if let Some(v) = self.versions.get_mut(&vid) {
            v.tags = tags;
        }
        let v = &self.versions[&vid];
        Ok(Reply::json(
            200,
            &match api {
                Api::V2 => self.version_v2(v, ver),
                Api::V1 => self.version_v1(v),
            },
        ))
    }

    // ----- experiments -------------------------------------------------------------------

    fn create_experiment(
        &mut self,
        c: &Ctx,
        name: String,
        description: String,
        ns: String,
        api: Api,
    ) -> R {
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create an experiment: experiment name is empty. Please specify a valid experiment name",
            ));
        }
        if c.control.multi_user && ns.is_empty() {
            return Err(ApiError::invalid(
                "Failed to authorize with API: Invalid input error: An experiment cannot have an empty namespace in multi-user mode",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        if self
            .experiments
            .values()
            .any(|e| e.namespace == ns && e.display_name == name)
        {
            return Err(ApiError::new(
                409,
                format!("Failed to create an experiment: AlreadyExistsError: Experiment with name {name:?} already exists in namespace {ns:?}"),
            ));
        }
        let (id, created) = self.next(0xe0);
        let e = Experiment {
            id: id.clone(),
            display_name: name,
            description,
            namespace: ns,
            created,
            ..Default::default()
        };
        let out = match api {
            Api::V2 => self.experiment_v2(&e),
            Api::V1 => self.experiment_v1(&e),
        };
        self.experiments.insert(id, e);
        Ok(Reply::json(200, &out))
    }

    fn list_experiments(&self, c: &Ctx, api: Api) -> R {
        let ns = Self::list_ns(c, api);
        if c.control.multi_user && ns.is_empty() {
            return Err(ApiError::invalid(
                "Failed to authorize with API: Invalid input error: An experiment cannot have an empty namespace in multi-user mode",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        let all: Vec<&Experiment> = self
            .experiments
            .values()
            .filter(|e| e.namespace == ns)
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            EXPERIMENT_KEYS,
            |e, f| match f {
                "id" => s(&e.id),
                "display_name" => s(&e.display_name),
                "description" => s(&e.description),
                "namespace" => s(&e.namespace),
                "storage_state" => s(if e.archived { "ARCHIVED" } else { "AVAILABLE" }),
                "last_run_created_at" => FieldVal::Num(e.last_run_created),
                _ => FieldVal::Num(e.created),
            },
            |e| e.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|e| match api {
                Api::V2 => self.experiment_v2(e),
                Api::V1 => self.experiment_v1(e),
            })
            .collect();
        Ok(list_reply(
            "experiments",
            items,
            pg.total,
            pg.next_page_token,
        ))
    }

    /// The experiment a run/recurring run goes to: the given one, or "Default".
    fn experiment_for(&mut self, c: &Ctx, id: &str) -> Result<Experiment, ApiError> {
        if !id.is_empty() {
            return self.experiment(id).cloned();
        }
        if c.control.multi_user {
            return Err(ApiError::invalid(
                "Invalid input error: in multi-user mode an experiment id is required",
            ));
        }
        if let Some(e) = self
            .experiments
            .values()
            .find(|e| e.display_name == "Default" && e.namespace.is_empty())
        {
            return Ok(e.clone());
        }
        let id = self.seed_experiment("Default", "");
        Ok(self.experiments[&id].clone())
    }

    // ----- runs --------------------------------------------------------------------------

    /// Resolve the pipeline of a run/recurring run: inline spec or a version reference.
    fn resolve_source(
        &self,
        inline: Option<&Value>,
        pid: &str,
        vid: &str,
    ) -> Result<(Option<Template>, String, String), ApiError> {
        match (inline, pid.is_empty() && vid.is_empty()) {
            (Some(_), false) => Err(ApiError::invalid(
                "Invalid input error: pipeline_spec and a pipeline version reference cannot both be set",
            )),
            (None, true) => Err(ApiError::invalid(
                "Invalid input error: Failed to create a run: neither a pipeline spec nor a pipeline version reference was provided",
            )),
            (Some(spec), true) => {
                let t = template_from_inline(spec).map_err(|e| {
                    ApiError::invalid(format!("Invalid input error: invalid pipeline_spec: {e}"))
                })?;
                Ok((Some(t), String::new(), String::new()))
            }
            (None, false) => {
                let v = if vid.is_empty() {
                    self.pipeline(pid)?;
                    self.latest_version(pid).ok_or_else(|| {
                        ApiError::not_found(format!("Pipeline {pid} has no versions"))
                    })?
                } else if pid.is_empty() {
                    self.versions.get(vid).ok_or_else(|| {
                        ApiError::not_found(format!("PipelineVersion {vid} not found"))
                    })?
                } else {
                    self.version_in(pid, vid)?
                };
                Ok((v.template.clone(), v.pipeline_id.clone(), v.id.clone()))
            }
        }
    }

    fn new_run(&mut self, c: &Ctx, mut r: Run, exp: &Experiment) -> Run {
        let (id, created) = self.next(0x40);
        r.id = id.clone();
        r.created = created;
        r.experiment_id = exp.id.clone();
        r.namespace = exp.namespace.clone();
        r.plan = c.control.run_plan.clone();
        r.failed_task = c.control.failed_task.clone().unwrap_or_default();
        if let Some(e) = self.experiments.get_mut(&exp.id) {
            e.last_run_created = created;
        }
        self.runs.insert(id, r.clone());
        r
    }

    fn create_run_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "display_name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a run: run display_name is required",
            ));
        }
        let exp_id = Some(gs(b, "experiment_id"))
            .filter(|e| !e.is_empty())
            .or_else(|| c.query.get("experiment_id").cloned())
            .unwrap_or_default();
        let exp = self.experiment_for(c, &exp_id)?;
        self.authz(c, &exp.namespace)?;
        let pvr = get(b, "pipeline_version_reference")
            .cloned()
            .unwrap_or(Value::Null);
        let pid = gs(&pvr, "pipeline_id");
        let vid = Some(gs(&pvr, "pipeline_version_id"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| gs(b, "pipeline_version_id"));
        let inline = get(b, "pipeline_spec");
        let (template, pid, vid) = self.resolve_source(inline, &pid, &vid)?;
        let rc = get(b, "runtime_config").cloned();
        if let Some(t) = &template {
            check_params(t, rc.as_ref().and_then(|r| get(r, "parameters")))?;
        }
        let r = Run {
            display_name: name,
            description: gs(b, "description"),
            inline_spec: inline.cloned(),
            pipeline_id: pid,
            version_id: vid,
            template,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            ..Default::default()
        };
        let r = self.new_run(c, r, &exp);
        Ok(Reply::json(200, &self.run_v2(&r)))
    }

    /// A v1 `pipeline_spec`: inline manifest (Argo or IR, JSON/YAML string) or pipeline id.
    fn v1_source(
        &self,
        b: &Value,
        rs: &[(String, String, String)],
    ) -> Result<(Option<Template>, String, String, Value), ApiError> {
        let spec = get(b, "pipeline_spec").cloned().unwrap_or(Value::Null);
        let wf = gs(&spec, "workflow_manifest");
        let pm = gs(&spec, "pipeline_manifest");
        let vid = ref_id(rs, "PIPELINE_VERSION");
        let pid = Some(gs(&spec, "pipeline_id"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ref_id(rs, "PIPELINE"));
        let inline = if !wf.is_empty() {
            Some(wf)
        } else if !pm.is_empty() {
            Some(pm)
        } else {
            None
        };
        if let Some(text) = inline {
            let t = parse_template(text.as_bytes()).map_err(|e| {
                ApiError::invalid(format!(
                    "Invalid input error: invalid pipeline manifest: {e}"
                ))
            })?;
            return Ok((Some(t), String::new(), String::new(), spec));
        }
        let (t, pid, vid) = self.resolve_source(None, &pid, &vid)?;
        Ok((t, pid, vid, spec))
    }

    fn create_run_v1(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a run: the run name is empty. Please specify a valid name",
            ));
        }
        let rs = refs(b);
        let exp = self.experiment_for(c, &ref_id(&rs, "EXPERIMENT"))?;
        self.authz(c, &exp.namespace)?;
        let (template, pid, vid, spec) = self.v1_source(b, &rs)?;
        let rc = get(&spec, "runtime_config").cloned();
        if let (Some(t @ Template::Ir { .. }), Some(rc)) = (&template, &rc) {
            check_params(t, get(rc, "parameters"))?;
        }
        let r = Run {
            display_name: name,
            description: gs(b, "description"),
            pipeline_id: pid,
            version_id: vid,
            template,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            v1_spec: Some(spec),
            ..Default::default()
        };
        let r = self.new_run(c, r, &exp);
        Ok(Reply::json(
            200,
            &json!({"run": self.run_v1(&r), "pipeline_runtime": {}}),
        ))
    }

    fn list_runs(&self, c: &Ctx, api: Api) -> R {
        let (ns, exp) = match api {
            Api::V2 => (
                c.query.get("namespace").cloned().unwrap_or_default(),
                c.query.get("experiment_id").cloned().unwrap_or_default(),
            ),
            Api::V1 => (
                Self::list_ns(c, api),
                Self::v1_ref_filter(c, "EXPERIMENT").unwrap_or_default(),
            ),
        };
        if c.control.multi_user && ns.is_empty() && exp.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: ListRuns in multi-user mode must filter by namespace or experiment",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        let all: Vec<&Run> = self
            .runs
            .values()
            .filter(|r| {
                (exp.is_empty() || r.experiment_id == exp) && (ns.is_empty() || r.namespace == ns)
            })
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            RUN_KEYS,
            |r, f| match f {
                "id" => s(&r.id),
                "display_name" => s(&r.display_name),
                "description" => s(&r.description),
                "namespace" => s(&r.namespace),
                "experiment_id" => s(&r.experiment_id),
                "recurring_run_id" => s(&r.recurring_run_id),
                "state" => s(r.state()),
                "storage_state" => s(if r.archived { "ARCHIVED" } else { "AVAILABLE" }),
                "finished_at" => FieldVal::Num(r.finished().unwrap_or(0)),
                _ => FieldVal::Num(r.created),
            },
            |r| r.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|r| match api {
                Api::V2 => self.run_v2(r),
                Api::V1 => self.run_v1(r),
            })
            .collect();
        Ok(list_reply("runs", items, pg.total, pg.next_page_token))
    }

    // ----- recurring runs / jobs ---------------------------------------------------------

    fn check_schedule(trigger: &Value, max_conc: Option<i64>) -> Result<(), ApiError> {
        match max_conc {
            Some(n) if (1..=10).contains(&n) => {}
            other => {
                return Err(ApiError::invalid(format!(
                    "Invalid input error: max_concurrency must be in [1, 10], got {}",
                    other
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "nothing".into())
                )))
            }
        }
        let cron = get(trigger, "cron_schedule");
        let periodic = get(trigger, "periodic_schedule");
        match (cron, periodic) {
            (Some(cs), None) => {
                let expr = gs(cs, "cron");
                if !valid_cron(&expr) {
                    return Err(ApiError::invalid(format!(
                        "Invalid input error: invalid cron schedule {expr:?}: expected 6 fields (seconds first) or a descriptor"
                    )));
                }
            }
            (None, Some(ps)) => {
                if int64(ps, "interval_second").unwrap_or(0) < 1 {
                    return Err(ApiError::invalid(
                        "Invalid input error: periodic_schedule.interval_second must be >= 1",
                    ));
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    "Invalid input error: exactly one of trigger.cron_schedule and trigger.periodic_schedule is required",
                ))
            }
        }
        Ok(())
    }

    /// The trigger in the output shape (snake_case, int64 as strings).
    fn normalize_trigger(t: &Value) -> Value {
        let mut o = Map::new();
        if let Some(cs) = get(t, "cron_schedule") {
            let mut c = Map::new();
            put(&mut c, "start_time", json!(gs(cs, "start_time")));
            put(&mut c, "end_time", json!(gs(cs, "end_time")));
            put(&mut c, "cron", json!(gs(cs, "cron")));
            o.insert("cron_schedule".into(), Value::Object(c));
        }
        if let Some(ps) = get(t, "periodic_schedule") {
            let mut c = Map::new();
            put(&mut c, "start_time", json!(gs(ps, "start_time")));
            put(&mut c, "end_time", json!(gs(ps, "end_time")));
            put(
                &mut c,
                "interval_second",
                json!(int64(ps, "interval_second").unwrap_or(0).to_string()),
            );
            o.insert("periodic_schedule".into(), Value::Object(c));
        }
        Value::Object(o)
    }

    fn create_recurring_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "display_name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a recurring run: display_name is required",
            ));
        }
        let trigger = get(b, "trigger").cloned().unwrap_or(Value::Null);
        Self::check_schedule(&trigger, int64(b, "max_concurrency"))?;
        let exp = self.experiment_for(c, &gs(b, "experiment_id"))?;
        self.authz(c, &exp.namespace)?;
        let pvr = get(b, "pipeline_version_reference")
            .cloned()
            .unwrap_or(Value::Null);
        let vid = Some(gs(&pvr, "pipeline_version_id"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| gs(b, "pipeline_version_id"));
        let inline = get(b, "pipeline_spec");
        let (template, pid, vid) = self.resolve_source(inline, &gs(&pvr, "pipeline_id"), &vid)?;
        let rc = get(b, "runtime_config").cloned();
        if let Some(t) = &template {
            check_params(t, rc.as_ref().and_then(|r| get(r, "parameters")))?;
        }
        let mode = match get(b, "mode") {
            Some(Value::String(m)) => m.clone(),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => "ENABLE".into(),
            _ => String::new(),
        };
        let (id, created) = self.next(0x5c);
        let rr = Recurring {
            id: id.clone(),
            display_name: name,
            description: gs(b, "description"),
            experiment_id: exp.id.clone(),
            namespace: exp.namespace.clone(),
            inline_spec: inline.cloned(),
            pipeline_id: pid,
            version_id: vid,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            max_concurrency: int64(b, "max_concurrency").unwrap_or(1),
            trigger: Self::normalize_trigger(&trigger),
            enabled: mode == "ENABLE",
            no_catchup: get(b, "no_catchup") == Some(&json!(true)),
            created,
            updated: created,
            v1_spec: None,
        };
        let out = self.recurring_v2(&rr);
        self.recurring.insert(id, rr);
        Ok(Reply::json(200, &out))
    }

    fn create_job_v1(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "name");
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a job: the job name is empty. Please specify a valid name",
            ));
        }
        let trigger = get(b, "trigger").cloned().unwrap_or(Value::Null);
        Self::check_schedule(&trigger, int64(b, "max_concurrency"))?;
        let rs = refs(b);
        let exp = self.experiment_for(c, &ref_id(&rs, "EXPERIMENT"))?;
        self.authz(c, &exp.namespace)?;
        let (template, pid, vid, spec) = self.v1_source(b, &rs)?;
        let rc = get(&spec, "runtime_config").cloned();
        if let (Some(t @ Template::Ir { .. }), Some(rc)) = (&template, &rc) {
            check_params(t, get(rc, "parameters"))?;
        }
        let enabled = get(b, "enabled") == Some(&json!(true)) || gs(b, "mode") == "ENABLED";
        let (id, created) = self.next(0x5c);
        let rr = Recurring {
            id: id.clone(),
            display_name: name,
            description: gs(b, "description"),
            experiment_id: exp.id.clone(),
            namespace: exp.namespace.clone(),
            pipeline_id: pid,
            version_id: vid,
            runtime_config: rc,
            service_account: gs(b, "service_account"),
            max_concurrency: int64(b, "max_concurrency").unwrap_or(1),
            trigger: Self::normalize_trigger(&trigger),
            enabled,
            no_catchup: get(b, "no_catchup") == Some(&json!(true)),
            created,
            updated: created,
            v1_spec: Some(spec),
            ..Default::default()
        };
        let out = self.job_v1(&rr);
        self.recurring.insert(id, rr);
        Ok(Reply::json(200, &out))
    }

    fn list_recurring(&self, c: &Ctx, api: Api) -> R {
        let (ns, exp) = match api {
            Api::V2 => (
                c.query.get("namespace").cloned().unwrap_or_default(),
                c.query.get("experiment_id").cloned().unwrap_or_default(),
            ),
            Api::V1 => (
                Self::list_ns(c, api),
                Self::v1_ref_filter(c, "EXPERIMENT").unwrap_or_default(),
            ),
        };
        if c.control.multi_user && ns.is_empty() && exp.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: ListRecurringRuns in multi-user mode must filter by namespace or experiment",
            ));
        }
        let ns = self.ns(c, &ns);
        self.authz(c, &ns)?;
        let all: Vec<&Recurring> = self
            .recurring
            .values()
            .filter(|r| {
                (exp.is_empty() || r.experiment_id == exp) && (ns.is_empty() || r.namespace == ns)
            })
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            RECURRING_KEYS,
            |r, f| match f {
                "id" => s(&r.id),
                "display_name" => s(&r.display_name),
                "description" => s(&r.description),
                "updated_at" => FieldVal::Num(r.updated),
                _ => FieldVal::Num(r.created),
            },
            |r| r.id.clone(),
        )?;
        let (key, items) = match api {
            Api::V2 => (
                "recurringRuns",
                pg.items.iter().map(|r| self.recurring_v2(r)).collect(),
            ),
            Api::V1 => ("jobs", pg.items.iter().map(|r| self.job_v1(r)).collect()),
        };
        Ok(list_reply(key, items, pg.total, pg.next_page_token))
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
