//! Pipeline parameters: which Kedro parameters become KFP parameters, their KFP types, and
//! `--param` parsing shared by compile, run-once and schedule (`key=value` or kedro-kubeflow's
//! `key:value`, values typed as YAML scalars or JSON lists/objects).

use serde_json::{Map, Value};

use crate::compile::CompileError;
use crate::graph::NodeDef;

/// Type a `--param` value: YAML scalars (`1`, `0.5`, `true`, `null` stays a string) and flow
/// collections (`[1, 2]`, `{a: 1}`, JSON) are typed; anything else is a plain string.
pub fn typed_value(text: &str) -> Value {
    let t = text.trim();
    if t.is_empty() {
        return Value::String(text.to_string());
    }
    match serde_yaml::from_str::<Value>(t) {
        Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
        Ok(v @ (Value::Array(_) | Value::Object(_)))
            if t.starts_with('[') || t.starts_with('{') =>
        {
            v
        }
        _ => Value::String(text.to_string()),
    }
}

/// Kedro's parameters with dotted top-level keys (`a.b.c: 1`, namespaced parameters) merged into
/// nested objects, at any depth (kedro-kubeflow dropped the middle levels past three).
pub fn merge_namespaced(params: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(m) = params {
        for (k, v) in m {
            let mut path: Vec<&str> = k.split('.').collect();
            if path.iter().any(|p| p.is_empty()) {
                path = vec![k.as_str()];
            }
            insert_path(&mut out, &path, v.clone());
        }
    }
    out
}

fn insert_path(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    let (head, rest) = (path[0], &path[1..]);
    if rest.is_empty() {
        match (map.get_mut(head), value) {
            (Some(Value::Object(existing)), Value::Object(new)) => {
                for (k, v) in new {
                    insert_path(existing, &[k.as_str()], v);
                }
            }
            (_, value) => {
                map.insert(head.to_string(), value);
            }
        }
        return;
    }
    let entry = map
        .entry(head.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert_path(inner, rest, value);
    }
}

/// The top-level parameter names a set of nodes reads: `params:a.b` → `a`; `parameters` → all.
/// Names missing from `tree` and parameters whose value is null are left out (Kedro then uses
/// the value in the image's parameters.yml). Sorted, without duplicates.
pub fn used_by<'a>(
    nodes: impl Iterator<Item = &'a NodeDef>,
    tree: &Map<String, Value>,
) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for node in nodes {
        for input in &node.inputs {
            if input == "parameters" {
                out.extend(tree.keys().cloned());
            } else if let Some(p) = input.strip_prefix("params:") {
                out.insert(p.split('.').next().unwrap_or(p).to_string());
            }
        }
    }
    out.into_iter()
        .filter(|k| tree.get(k).is_some_and(|v| !v.is_null()))
        .collect()
}

/// KFP v2 parameter type of a value.
pub fn kfp_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "BOOLEAN",
        Value::Number(n) if n.is_i64() || n.is_u64() => "NUMBER_INTEGER",
        Value::Number(_) => "NUMBER_DOUBLE",
        Value::String(_) | Value::Null => "STRING",
        Value::Array(_) => "LIST",
        Value::Object(_) => "STRUCT",
    }
}

/// Fit a `--param` override to the type of the parameter's default: a string parameter takes
/// the text of any scalar (`--param version=2` keeps `"2"`), a double takes an integer; any
/// other mismatch is an error.
pub fn coerce_override(name: &str, default: &Value, given: Value) -> Result<Value, CompileError> {
    let want = kfp_type(default);
    let got = kfp_type(&given);
    if want == got {
        return Ok(given);
    }
    match (want, &given) {
        ("STRING", Value::Bool(_) | Value::Number(_)) => Ok(Value::String(given.to_string())),
        ("STRING", Value::Array(_) | Value::Object(_)) => Ok(Value::String(given.to_string())),
        ("NUMBER_DOUBLE", Value::Number(n)) => Ok(n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(given)),
        _ => Err(CompileError::ParamType {
            name: name.to_string(),
            want: describe(want),
            default: default.to_string(),
            given: given.to_string(),
        }),
    }
}

fn describe(kfp_type: &str) -> &'static str {
    match kfp_type {
        "BOOLEAN" => "a boolean (true/false)",
        "NUMBER_INTEGER" => "an integer",
        "NUMBER_DOUBLE" => "a number",
        "LIST" => "a list ([a, b])",
        "STRUCT" => "a mapping ({k: v})",
        _ => "a string",
    }
}

/// A value as Argo/KFP v1 carries it: strings raw, everything else as JSON text.
pub fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespaced_keys_merge_at_any_depth() {
        let m = merge_namespaced(&json!({"a.b.c.d": 1, "a.b.x": 2, "a": {"y": 3}, "top": 4}));
        assert_eq!(
            Value::Object(m),
            json!({"a": {"b": {"c": {"d": 1}, "x": 2}, "y": 3}, "top": 4})
        );
    }

    #[test]
    fn used_params_are_top_level_and_skip_nulls() {
        let tree = merge_namespaced(&json!({"a": {"b": 1}, "c": 2, "n": null, "d": [1]}));
        let node = |inputs: &[&str]| NodeDef {
            name: "x".into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![],
            tags: vec![],
            namespace: None,
        };
        let nodes = [node(&["params:a.b", "ds", "params:n"]), node(&["params:c"])];
        assert_eq!(used_by(nodes.iter(), &tree), vec!["a", "c"]);
        let all = [node(&["parameters"])];
        assert_eq!(used_by(all.iter(), &tree), vec!["a", "c", "d"]);
    }

    #[test]
    fn kfp_types_and_override_coercion() {
        assert_eq!(kfp_type(&json!(1)), "NUMBER_INTEGER");
        assert_eq!(kfp_type(&json!(1.5)), "NUMBER_DOUBLE");
        assert_eq!(kfp_type(&json!("x")), "STRING");
        assert_eq!(kfp_type(&json!(true)), "BOOLEAN");
        assert_eq!(kfp_type(&json!([1])), "LIST");
        assert_eq!(kfp_type(&json!({})), "STRUCT");
        assert_eq!(
            coerce_override("v", &json!("1.0"), json!(2)).unwrap(),
            json!("2")
        );
        assert_eq!(
            coerce_override("r", &json!(0.3), json!(1)).unwrap(),
            json!(1.0)
        );
        let e = coerce_override("n", &json!(3), json!("abc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected an integer"), "{e}");
    }
}
