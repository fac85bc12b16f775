//! List calls the way the KFP server pages them: `page_size` (default 20, capped at 200,
//! negative rejected), opaque `page_token`/`next_page_token`, `sort_by` ("field [asc|desc]"),
//! `filter` (JSON of the Filter proto: v2 spells the operation `operation`, v1 `op`).

use base64::Engine;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::{Api, ApiError};

/// A sortable/filterable value of a listed object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldVal {
    Str(String),
    Num(i64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    Substr,
}

#[derive(Debug, Clone)]
enum PVal {
    One(FieldVal),
    Many(Vec<FieldVal>),
}

#[derive(Debug, Clone)]
struct Pred {
    field: String,
    op: Op,
    val: PVal,
}

/// One page of a list.
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub next_page_token: Option<String>,
}

/// Page `all` per the list query parameters. `keys` maps the API's filter/sort keys to the
/// canonical field names `field` understands; `id` breaks ties (as the server's primary key).
pub fn page<T>(
    mut all: Vec<T>,
    q: &BTreeMap<String, String>,
    api: Api,
    keys: &[(&str, &str)],
    field: impl Fn(&T, &str) -> FieldVal,
    id: impl Fn(&T) -> String,
) -> Result<Page<T>, ApiError> {
    let page_size = match q
        .get("page_size")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => 20,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n < 0 => {
                return Err(ApiError::shape(format!(
                    "Invalid input error: The page size should be greater than 0. Got {n}"
                )))
            }
            Ok(0) => 20,
            Ok(n) => n.min(200) as usize,
            Err(_) => {
                return Err(ApiError::shape(format!(
                    "Invalid input error: invalid page_size {s:?}: not an integer"
                )))
            }
        },
    };
    let filter_raw = q.get("filter").cloned().unwrap_or_default();
    let sort_raw = q.get("sort_by").cloned().unwrap_or_default();
    let preds = if filter_raw.trim().is_empty() {
        vec![]
    } else {
        parse_filter(&filter_raw, api, keys)?
    };
    let (sort_field, desc) = parse_sort(&sort_raw, keys)?;

    let offset = match q.get("page_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => decode_token(t, &sort_raw, &filter_raw)?,
    };

    all.retain(|item| preds.iter().all(|p| matches(&field(item, &p.field), p)));
    // Decorate once, then sort (keys are not recomputed per comparison).
    let mut keyed: Vec<(FieldVal, String, T)> = all
        .into_iter()
        .map(|item| (field(&item, &sort_field), id(&item), item))
        .collect();
    keyed.sort_by(|a, b| {
        let o = a.0.cmp(&b.0);
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| a.1.cmp(&b.1))
    });
    let total = keyed.len();
    let end = (offset + page_size).min(total);
    let next_page_token = (end < total).then(|| encode_token(end, &sort_raw, &filter_raw));
    let items = keyed
        .into_iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .map(|(_, _, item)| item)
        .collect();
    Ok(Page {
        items,
        total,
        next_page_token,
    })
}

fn encode_token(offset: usize, sort: &str, filter: &str) -> String {
    let j = serde_json::json!({"offset": offset, "sort_by": sort, "filter": filter});
    base64::engine::general_purpose::STANDARD.encode(j.to_string())
}

fn decode_token(t: &str, sort: &str, filter: &str) -> Result<usize, ApiError> {
    let bad = || {
        ApiError::shape(format!(
            "Invalid input error: Invalid package token: failed to decode {t:?}"
        ))
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(t)
        .map_err(|_| bad())?;
    let j: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if j["sort_by"] != sort || j["filter"] != filter {
        return Err(ApiError::shape(
            "Invalid input error: the page token was issued for a different sort_by/filter"
                .to_string(),
        ));
    }
    j["offset"].as_u64().map(|n| n as usize).ok_or_else(bad)
}

fn canonical(key: &str, keys: &[(&str, &str)]) -> Option<String> {
    keys.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| c.to_string())
}

fn parse_sort(raw: &str, keys: &[(&str, &str)]) -> Result<(String, bool), ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(("created_at".into(), false));
    }
    let mut parts = raw.split_whitespace();
    let key = parts.next().unwrap_or_default();
    let desc = match parts.next().map(|s| s.to_ascii_lowercase()) {
        None => false,
        Some(s) if s == "asc" => false,
        Some(s) if s == "desc" => true,
        Some(s) => {
            return Err(ApiError::shape(format!(
            "Invalid input error: Invalid sorting order {s:?} in sort_by {raw:?}: use asc or desc"
        )))
        }
    };
    if parts.next().is_some() {
        return Err(ApiError::shape(format!(
            "Invalid input error: Invalid sort_by {raw:?}: expected \"<field> [asc|desc]\""
        )));
    }
    let field = canonical(key, keys).ok_or_else(|| {
        ApiError::shape(format!(
            "Invalid input error: Invalid sorting field: {key:?}"
        ))
    })?;
    Ok((field, desc))
}

fn parse_op(v: &Value) -> Option<Op> {
    let n = match v {
        Value::String(s) => match s.as_str() {
            "EQUALS" => 1,
            "NOT_EQUALS" => 2,
            "GREATER_THAN" => 3,
            "GREATER_THAN_EQUALS" => 5,
            "LESS_THAN" => 6,
            "LESS_THAN_EQUALS" => 7,
            "IN" => 8,
            "IS_SUBSTRING" => 9,
            _ => return None,
        },
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Some(match n {
        1 => Op::Eq,
        2 => Op::Ne,
        3 => Op::Gt,
        5 => Op::Ge,
        6 => Op::Lt,
        7 => Op::Le,
        8 => Op::In,
        9 => Op::Substr,
        _ => return None,
    })
}

fn scalar(name: &str, v: &Value) -> Option<FieldVal> {
    match name {
        "string_value" => v.as_str().map(|s| FieldVal::Str(s.to_string())),
        "int_value" | "long_value" => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(FieldVal::Num),
        "timestamp_value" => v
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| FieldVal::Num(t.timestamp())),
        _ => None,
    }
}

fn parse_filter(raw: &str, api: Api, keys: &[(&str, &str)]) -> Result<Vec<Pred>, ApiError> {
    let bad = |why: String| {
        ApiError::shape(format!(
            "Invalid input error: Failed to parse valid filter from {raw:?}: {why}"
        ))
    };
    let j: Value = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
    let obj = j
        .as_object()
        .ok_or_else(|| bad("not a JSON object".into()))?;
    let mut preds = vec![];
    for (k, v) in obj {
        if k != "predicates" {
            return Err(bad(format!("unknown field {k:?}")));
        }
        let list = v
            .as_array()
            .ok_or_else(|| bad("predicates must be an array".into()))?;
        for p in list {
            let p = p
                .as_object()
                .ok_or_else(|| bad("a predicate must be an object".into()))?;
            let op_key = match api {
                Api::V2 => "operation",
                Api::V1 => "op",
            };
            let mut op = None;
            let mut key = None;
            let mut val = None;
            for (pk, pv) in p {
                let snake = pk.as_str();
                let norm = match snake {
                    "stringValue" => "string_value",
                    "intValue" => "int_value",
                    "longValue" => "long_value",
                    "timestampValue" => "timestamp_value",
                    "stringValues" => "string_values",
                    "intValues" => "int_values",
                    "longValues" => "long_values",
                    other => other,
                };
                match norm {
                    k if k == op_key => {
                        op =
                            Some(parse_op(pv).ok_or_else(|| {
                                bad(format!("invalid value {pv} for enum {op_key}"))
                            })?)
                    }
                    "key" => key = pv.as_str().map(str::to_string),
                    "string_value" | "int_value" | "long_value" | "timestamp_value" => {
                        val = Some(PVal::One(
                            scalar(norm, pv).ok_or_else(|| bad(format!("invalid {norm} {pv}")))?,
                        ))
                    }
                    "string_values" | "int_values" | "long_values" => {
                        let one = norm.trim_end_matches('s');
                        let vals = pv["values"]
                            .as_array()
                            .ok_or_else(|| bad(format!("{norm} needs {{\"values\": [...]}}")))?
                            .iter()
                            .map(|x| {
                                scalar(one, x).ok_or_else(|| bad(format!("invalid {one} {x}")))
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        val = Some(PVal::Many(vals))
                    }
                    _ => return Err(bad(format!("unknown field {pk:?} in a predicate"))),
                }
            }
            let op = op.ok_or_else(|| bad(format!("a predicate lacks {op_key:?}")))?;
            let key = key.ok_or_else(|| bad("a predicate lacks \"key\"".into()))?;
            let field = canonical(&key, keys).ok_or_else(|| {
                ApiError::shape(format!(
                    "Invalid input error: no support for filtering on unrecognized field {key:?}"
                ))
            })?;
            let val = val.ok_or_else(|| bad(format!("predicate on {key:?} has no value")))?;
            preds.push(Pred { field, op, val });
        }
    }
    Ok(preds)
}

fn matches(have: &FieldVal, p: &Pred) -> bool {
    match (&p.val, p.op) {
        (PVal::Many(vs), Op::In) => vs.contains(have),
        (PVal::Many(_), _) | (PVal::One(_), Op::In) => false,
        (PVal::One(v), op) => {
            let same_kind = matches!(
                (have, v),
                (FieldVal::Str(_), FieldVal::Str(_)) | (FieldVal::Num(_), FieldVal::Num(_))
            );
            if !same_kind {
                return false;
            }
            let o = have.cmp(v);
            match op {
                Op::Eq => o == Ordering::Equal,
                Op::Ne => o != Ordering::Equal,
                Op::Gt => o == Ordering::Greater,
                Op::Ge => o != Ordering::Less,
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Substr => match (have, v) {
                    (FieldVal::Str(h), FieldVal::Str(n)) => h.contains(n.as_str()),
                    _ => false,
                },
                Op::In => false,
            }
        }
    }
}
