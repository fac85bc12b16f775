//! `--param` / `--params` as a Kedro user writes them: `key=value` (or kedro-kubeflow's
//! `key:value`), and dotted keys that change one value inside a nested parameter, deep-merged
//! into its default as `kedro run --params` does (kedro/framework/cli/utils.py `_split_params`
//! builds an OmegaConf dot-list; the session then updates the nested dict key by key).
//!
//! KFP parameters are the pipeline's top-level Kedro parameters, so the result is one value per
//! top-level name: the default with the dotted changes applied, every other key and its type
//! kept. Where the default value is a string, the new value stays a string (`1.10` does not
//! turn into the number 1.1).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::compile::params;
use crate::error::{Error, Result};

/// Turn raw overrides (`--param` items, `--params` already split at commas) into one value per
/// top-level parameter. `defaults` are the parameters' default values, `known` the names the
/// pipeline declares.
pub fn resolve(
    raw: &[String],
    defaults: &Map<String, Value>,
    known: &[String],
) -> Result<BTreeMap<String, Value>> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for item in raw {
        let (key, text) = split(item)?;
        let path: Vec<&str> = key.split('.').map(str::trim).collect();
        if key.is_empty() || path.iter().any(|p| p.is_empty()) {
            return Err(Error::Usage(format!(
                "--param {item:?} has an empty name or an empty part in its dotted name; \
                 write it as key=value or a.b.c=value"
            )));
        }
        let top = path[0];
        if !known.iter().any(|k| k == top) {
            return Err(unknown(top, known));
        }
        let typed = params::typed_value(text);
        if path.len() == 1 {
            let value = keep_string(defaults.get(top), typed, text);
            out.insert(top.to_string(), value);
            continue;
        }
        let mut whole = match out.get(top).or_else(|| defaults.get(top)) {
            Some(v) => v.clone(),
            None => Value::Null,
        };
        set_nested(&mut whole, &path, typed, text)?;
        out.insert(top.to_string(), whole);
    }
    Ok(out)
}

/// `key=value`, or kedro-kubeflow's `key:value` (`=` wins, so values may hold colons): the
/// trimmed key and the raw value. Without either it is a usage error (exit 2).
pub fn split(item: &str) -> Result<(&str, &str)> {
    let at = item.find('=').or_else(|| item.find(':')).ok_or_else(|| {
        Error::Usage(format!(
            "--param {item:?} has no value; write it as key=value (or key:value)"
        ))
    })?;
    Ok((item[..at].trim(), &item[at + 1..]))
}

/// A parameter the pipeline does not declare: the list of those it does, and a did-you-mean.
fn unknown(key: &str, known: &[String]) -> Error {
    let list = if known.is_empty() {
        "the pipeline has no parameters".to_string()
    } else {
        format!("its parameters are: {}", known.join(", "))
    };
    let hint = crate::text::did_you_mean(key, known.iter().map(String::as_str))
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    Error::Message(format!(
        "--param {key}: the pipeline has no parameter {key:?}{hint}; {list}"
    ))
}

/// A string default keeps string values: the node reads what the YAML file would give it.
fn keep_string(default: Option<&Value>, typed: Value, text: &str) -> Value {
    match (default, &typed) {
        (Some(Value::String(_)), v) if !v.is_string() => Value::String(text.to_string()),
        _ => typed,
    }
}

/// Set `path[1..]` inside `whole` (the value of parameter `path[0]`). Every level must exist:
/// a misspelt key is an error with a did-you-mean, never a silently added key no node reads.
fn set_nested(whole: &mut Value, path: &[&str], typed: Value, text: &str) -> Result<()> {
    let dotted = path.join(".");
    let mut cur = whole;
    for (depth, seg) in path.iter().enumerate().skip(1) {
        let parent = path[..depth].join(".");
        let Value::Object(map) = cur else {
            return Err(Error::Message(format!(
                "--param {dotted}: {parent} is {}, not a mapping with keys; set it whole with \
                 --param {parent}=VALUE",
                kind(cur)
            )));
        };
        if !map.contains_key(*seg) {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            let hint = crate::text::did_you_mean(seg, keys.iter().copied())
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            let list = if keys.is_empty() {
                "it has no keys".to_string()
            } else {
                format!("its keys are: {}", keys.join(", "))
            };
            return Err(Error::Message(format!(
                "--param {dotted}: {parent} has no key {seg:?}{hint}; {list}"
            )));
        }
        let next = map.get_mut(*seg).expect("checked above");
        if depth == path.len() - 1 {
            *next = keep_string(Some(next), typed, text);
            return Ok(());
        }
        cur = next;
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Map<String, Value> {
        let v = json!({
            "data_science": {"model_options": {"test_size": 0.2, "random_state": 3,
                             "features": ["a", "b"]}},
            "version": "1.10",
            "ratio": 0.5
        });
        v.as_object().unwrap().clone()
    }

    fn known() -> Vec<String> {
        vec!["data_science".into(), "version".into(), "ratio".into()]
    }

    fn run(items: &[&str]) -> Result<BTreeMap<String, Value>> {
        let raw: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        resolve(&raw, &defaults(), &known())
    }

    #[test]
    fn params_split_at_equals_then_colon_and_are_typed() {
        let known: Vec<String> = vec!["ratio".into(), "model".into(), "start".into()];
        let one = |item: &str| {
            let out = resolve(&[item.to_string()], &Map::new(), &known).unwrap();
            out.into_values().next().unwrap()
        };
        assert_eq!(one("ratio=0.5"), json!(0.5));
        assert_eq!(
            one("model={\"alpha\": 1, \"layers\": [1, 2]}"),
            json!({"alpha": 1, "layers": [1, 2]})
        );
        assert_eq!(one("start:2022-02-24"), json!("2022-02-24"));
        // `=` wins over `:` so values may contain colons.
        assert_eq!(one("start=a:b"), json!("a:b"));
        assert_eq!(one("start=true"), json!(true));
        assert_eq!(one("start=[1, 2]"), json!([1, 2]));
        // a bare YAML mapping-looking text is a string, not a map
        assert_eq!(one("start=hello: world"), json!("hello: world"));
        assert_eq!(one("start="), json!(""));
    }

    #[test]
    fn unknown_param_lists_the_real_ones() {
        let e = run(&["rato=1"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "--param rato: the pipeline has no parameter \"rato\" (did you mean \"ratio\"?); \
             its parameters are: data_science, version, ratio"
        );
        let e = resolve(&["x=1".to_string()], &Map::new(), &[])
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("; the pipeline has no parameters"), "{e}");
    }

    #[test]
    fn a_param_without_separator_or_name_is_a_usage_error() {
        for item in ["ratio", "=1", "a..b=1"] {
            let e = run(&[item]).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::exit::USAGE, "{item}: {e}");
        }
    }

    #[test]
    fn dotted_keys_change_one_value_and_keep_the_rest() {
        let out = run(&["data_science.model_options.test_size=0.3"]).unwrap();
        assert_eq!(
            out["data_science"],
            json!({"model_options": {"test_size": 0.3, "random_state": 3,
                   "features": ["a", "b"]}})
        );
        assert_eq!(out.len(), 1, "only the overridden parameter is sent");
    }

    #[test]
    fn several_dotted_keys_of_one_parameter_accumulate() {
        let out = run(&[
            "data_science.model_options.test_size=0.3",
            "data_science.model_options.random_state:7",
        ])
        .unwrap();
        assert_eq!(
            out["data_science"]["model_options"]["test_size"],
            json!(0.3)
        );
        assert_eq!(
            out["data_science"]["model_options"]["random_state"],
            json!(7)
        );
    }

    #[test]
    fn string_defaults_stay_strings() {
        let out = run(&["version=1.20", "ratio=0.75"]).unwrap();
        assert_eq!(out["version"], json!("1.20"));
        assert_eq!(out["ratio"], json!(0.75));
    }

    #[test]
    fn misspelt_levels_are_refused_with_a_suggestion() {
        let e = run(&["data_science.model_option.test_size=0.3"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean \"model_options\""), "{e}");
        let e = run(&["data_science.model_options.test_sise=0.3"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean \"test_size\""), "{e}");
        let e = run(&["ratio.x=1"]).unwrap_err().to_string();
        assert!(e.contains("ratio is a number"), "{e}");
        let e = run(&["data_sciense.x=1"]).unwrap_err().to_string();
        assert!(e.contains("did you mean \"data_science\""), "{e}");
        let e = run(&["a..b=1"]).unwrap_err().to_string();
        assert!(e.contains("empty part"), "{e}");
    }
}
