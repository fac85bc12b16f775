//! Request bodies checked against the official swagger definitions (copies in
//! `tests/support/swagger/`), the way the KFP API server's protojson decoder reads them:
//! unknown fields are rejected, snake_case or lowerCamelCase names are accepted, `null` means
//! unset, int64 fields accept strings or numbers (numbers are flagged: the swagger, and so
//! Prism, want strings), enums accept names or numbers (numbers flagged).

use serde_json::Value;
use std::sync::OnceLock;

use super::{Api, ServerVersion};

/// The outcome of one check: `hard` problems the real server rejects with 400, `soft` ones
/// it accepts although the swagger (and Prism) would not.
#[derive(Debug, Default)]
pub struct Check {
    pub hard: Vec<String>,
    pub soft: Vec<String>,
}

fn specs() -> &'static (Value, Value) {
    static SPECS: OnceLock<(Value, Value)> = OnceLock::new();
    SPECS.get_or_init(|| {
        let v2 = serde_json::from_str(include_str!("../swagger/v2beta1.swagger.json"))
            .expect("bundled v2beta1 swagger parses");
        let v1 = serde_json::from_str(include_str!("../swagger/v1beta1.swagger.json"))
            .expect("bundled v1beta1 swagger parses");
        (v2, v1)
    })
}

fn spec(api: Api) -> &'static Value {
    match api {
        Api::V2 => &specs().0,
        Api::V1 => &specs().1,
    }
}

/// Fields the given server version does not know yet, from kubeflow/pipelines
/// `backend/api/v2beta1/pipeline.proto`, `run.proto` and `recurring_run.proto` at the release
/// tags (no releases 2.6-2.13: 2.5.0 is followed by 2.14.0): (definition, field, first version
/// that knows it).
const GATES: &[(&str, &str, (u32, u32, u32))] = &[
    ("v2beta1Pipeline", "name", (2, 14, 0)),
    ("v2beta1PipelineVersion", "name", (2, 14, 0)),
    ("v2beta1Pipeline", "tags", (2, 17, 0)),
    ("v2beta1PipelineVersion", "tags", (2, 17, 0)),
    ("v2beta1Run", "plugins_input", (2, 17, 0)),
    ("v2beta1Run", "plugins_output", (2, 17, 0)),
    ("v2beta1RecurringRun", "plugins_input", (2, 17, 0)),
];

/// The lowerCamelCase spelling protojson also accepts for a snake_case field name.
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Check `value` against definition `def` (e.g. "v2beta1Run") of the `api` swagger.
pub fn check_definition(api: Api, def: &str, value: &Value, version: ServerVersion) -> Check {
    let schema = serde_json::json!({ "$ref": format!("#/definitions/{def}") });
    check_schema(api, &schema, value, version)
}

/// Check `value` against the body parameter schema of `method path_template` in the swagger.
pub fn check_body_param(
    api: Api,
    method: &str,
    path_template: &str,
    value: &Value,
    version: ServerVersion,
) -> Check {
    let op = &spec(api)["paths"][path_template][method.to_ascii_lowercase()];
    let body = op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["in"] == "body"))
        .map(|p| p["schema"].clone());
    match body {
        Some(schema) => check_schema(api, &schema, value, version),
        None => Check {
            hard: vec![],
            soft: vec![format!(
                "{method} {path_template}: not in the bundled swagger (fake bug?)"
            )],
        },
    }
}

fn check_schema(api: Api, schema: &Value, value: &Value, version: ServerVersion) -> Check {
    let mut c = Check::default();
    walk(api, schema, value, "body", None, version, &mut c, 0);
    c
}

#[allow(clippy::too_many_arguments)]
fn walk(
    api: Api,
    schema: &Value,
    value: &Value,
    at: &str,
    def_name: Option<&str>,
    version: ServerVersion,
    c: &mut Check,
    depth: usize,
) {
    if depth > 64 || value.is_null() {
        return;
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        let target = &spec(api)["definitions"][name];
        if target.is_null() {
            c.soft
                .push(format!("{at}: swagger has no definition {name}"));
            return;
        }
        return walk(api, target, value, at, Some(name), version, c, depth + 1);
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    if let Some(en) = schema.get("enum").and_then(Value::as_array) {
        match value {
            Value::String(s) if en.iter().any(|e| e == s) => {}
            Value::String(s) => c.hard.push(format!(
                "{at}: invalid value {s:?} for enum (allowed: {})",
                en.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Value::Number(_) => c.soft.push(format!(
                "{at}: enum sent as a number (the swagger wants one of the names)"
            )),
            _ => c
                .hard
                .push(format!("{at}: expected an enum name, got {}", kind(value))),
        }
        return;
    }
    match ty {
        Some("object") | None if schema.get("properties").is_some() => {
            let Some(obj) = value.as_object() else {
                c.hard
                    .push(format!("{at}: expected an object, got {}", kind(value)));
                return;
            };
            let props = schema["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (k, v) in obj {
                let found = props.iter().find(|(p, _)| *p == k || camel(p) == *k);
                match found {
                    Some((p, sub)) => {
                        if let Some(d) = def_name {
                            if let Some((_, _, min)) =
                                GATES.iter().find(|(gd, gf, _)| *gd == d && gf == p)
                            {
                                if version.0 < *min {
                                    c.hard.push(format!(
                                        "{at}.{k}: unknown field for KFP {} (added in {}.{}.{})",
                                        version.tag(),
                                        min.0,
                                        min.1,
                                        min.2
                                    ));
                                    continue;
                                }
                            }
                        }
                        walk(
                            api,
                            sub,
                            v,
                            &format!("{at}.{k}"),
                            None,
                            version,
                            c,
                            depth + 1,
                        );
                    }
                    None => c.hard.push(format!(
                        "{at}: unknown field {k:?}{}",
                        def_name
                            .map(|d| format!(" (not in {d})"))
                            .unwrap_or_default()
                    )),
                }
            }
        }
        Some("object") => {
            if let Some(ap) = schema.get("additionalProperties") {
                let Some(obj) = value.as_object() else {
                    c.hard
                        .push(format!("{at}: expected an object, got {}", kind(value)));
                    return;
                };
                if ap.as_object().is_some_and(|o| !o.is_empty()) {
                    for (k, v) in obj {
                        walk(
                            api,
                            ap,
                            v,
                            &format!("{at}.{k}"),
                            None,
                            version,
                            c,
                            depth + 1,
                        );
                    }
                }
            } else if !value.is_object() {
                // google.protobuf.Struct
                c.hard
                    .push(format!("{at}: expected an object, got {}", kind(value)));
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                c.hard
                    .push(format!("{at}: expected an array, got {}", kind(value)));
                return;
            };
            let item_schema = schema.get("items").cloned().unwrap_or(Value::Null);
            for (i, v) in items.iter().enumerate() {
                walk(
                    api,
                    &item_schema,
                    v,
                    &format!("{at}[{i}]"),
                    None,
                    version,
                    c,
                    depth + 1,
                );
            }
        }
        Some("string") => match (format, value) {
            ("int64" | "uint64", Value::Number(n)) if n.is_i64() || n.is_u64() => c.soft.push(
                format!("{at}: int64 sent as a JSON number; the swagger (and Prism) want a string"),
            ),
            ("int64" | "uint64", Value::String(s)) if s.parse::<i128>().is_err() => {
                c.hard.push(format!("{at}: {s:?} is not an integer"))
            }
            ("date-time", Value::String(s)) if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
                c.hard
                    .push(format!("{at}: {s:?} is not an RFC 3339 timestamp"))
            }
            (_, Value::String(_)) => {}
            _ => c
                .hard
                .push(format!("{at}: expected a string, got {}", kind(value))),
        },
        Some("integer") => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => {}
            Value::String(s) if s.parse::<i64>().is_ok() => c.soft.push(format!(
                "{at}: int32 sent as a string; the swagger wants a number"
            )),
            _ => c
                .hard
                .push(format!("{at}: expected an integer, got {}", kind(value))),
        },
        Some("number") => match value {
            Value::Number(_) => {}
            _ => c
                .hard
                .push(format!("{at}: expected a number, got {}", kind(value))),
        },
        Some("boolean") if !value.is_boolean() => {
            c.hard
                .push(format!("{at}: expected true or false, got {}", kind(value)));
        }
        _ => {}
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The query parameters an operation declares (for the unknown/gated query checks).
pub fn query_params(api: Api, method: &str, path_template: &str) -> Vec<(String, String)> {
    let op = &spec(api)["paths"][path_template][method.to_ascii_lowercase()];
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == "query")
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_string(),
                        p["type"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The swagger path template (e.g. "/apis/v2beta1/runs/{run_id}:terminate") that `path`
/// matches for `method`, preferring the most literal segments ("/pipelines/upload" over
/// "/pipelines/{pipeline_id}").
pub fn match_path(api: Api, method: &str, path: &str) -> Option<String> {
    let m = method.to_ascii_lowercase();
    let want: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = spec(api)["paths"].as_object()?;
    let mut best: Option<(usize, &String)> = None;
    for (template, ops) in paths {
        if ops.get(&m).is_none() {
            continue;
        }
        let segs: Vec<&str> = template.split('/').collect();
        if segs.len() != want.len() {
            continue;
        }
        let mut literal = 0;
        let fits = segs.iter().zip(&want).all(|(t, w)| {
            if let Some(rest) = t.strip_prefix('{') {
                // "{id}" or "{id}:verb"
                let suffix = rest.split_once('}').map(|(_, s)| s).unwrap_or("");
                w.len() > suffix.len() && w.ends_with(suffix)
            } else {
                literal += 1;
                t == w
            }
        });
        if fits && best.is_none_or(|(n, _)| literal > n) {
            best = Some((literal, template));
        }
    }
    best.map(|(_, t)| t.clone())
}
