//! `run_config.affinity`: a Kubernetes `Affinity` per node, written in kedro-kubeflow's
//! snake_case (the Python kubernetes client's keyword arguments: `node_selector_terms`,
//! `match_expressions`, `pod_affinity_term`, `topology_key`) or Kubernetes camelCase, at every
//! level. [`to_kubernetes`] checks every field against the Kubernetes types and converts the
//! keys to camelCase; label keys under `match_labels` are data and stay as written.
//!
//! Why convert: the KFP v2 driver decodes `nodeAffinityJson` with Go's `encoding/json` into
//! `k8s.io/api/core/v1.NodeAffinity` (kubeflow/pipelines `backend/src/v2/driver/k8s.go`), which
//! matches `nodeSelectorTerms` but silently drops `node_selector_terms`; the Kubernetes API
//! server rejects or ignores snake_case in an Argo template's `affinity` the same way.

use serde_json::{Map, Value};

use super::tree::KeyPath;

/// The shape of a field's value.
#[derive(Clone, Copy)]
enum Ty {
    Obj(&'static [(&'static str, Ty)]),
    List(&'static Ty),
    Str,
    StrList,
    Int,
    /// A map of label key → value: keys are data, not converted.
    Labels,
}

const REQUIREMENT: Ty = Ty::Obj(&[
    ("key", Ty::Str),
    ("operator", Ty::Str),
    ("values", Ty::StrList),
]);
const NODE_SELECTOR_TERM: Ty = Ty::Obj(&[
    ("match_expressions", Ty::List(&REQUIREMENT)),
    ("match_fields", Ty::List(&REQUIREMENT)),
]);
const NODE_SELECTOR: Ty = Ty::Obj(&[("node_selector_terms", Ty::List(&NODE_SELECTOR_TERM))]);
const PREFERRED_SCHEDULING_TERM: Ty =
    Ty::Obj(&[("preference", NODE_SELECTOR_TERM), ("weight", Ty::Int)]);
const NODE_AFFINITY: Ty = Ty::Obj(&[
    (
        "required_during_scheduling_ignored_during_execution",
        NODE_SELECTOR,
    ),
    (
        "preferred_during_scheduling_ignored_during_execution",
        Ty::List(&PREFERRED_SCHEDULING_TERM),
    ),
]);
const LABEL_SELECTOR: Ty = Ty::Obj(&[
    ("match_expressions", Ty::List(&REQUIREMENT)),
    ("match_labels", Ty::Labels),
]);
const POD_AFFINITY_TERM: Ty = Ty::Obj(&[
    ("label_selector", LABEL_SELECTOR),
    ("namespace_selector", LABEL_SELECTOR),
    ("namespaces", Ty::StrList),
    ("topology_key", Ty::Str),
    ("match_label_keys", Ty::StrList),
    ("mismatch_label_keys", Ty::StrList),
]);
const WEIGHTED_POD_AFFINITY_TERM: Ty = Ty::Obj(&[
    ("pod_affinity_term", POD_AFFINITY_TERM),
    ("weight", Ty::Int),
]);
const POD_AFFINITY: Ty = Ty::Obj(&[
    (
        "required_during_scheduling_ignored_during_execution",
        Ty::List(&POD_AFFINITY_TERM),
    ),
    (
        "preferred_during_scheduling_ignored_during_execution",
        Ty::List(&WEIGHTED_POD_AFFINITY_TERM),
    ),
]);
const AFFINITY: Ty = Ty::Obj(&[
    ("node_affinity", NODE_AFFINITY),
    ("pod_affinity", POD_AFFINITY),
    ("pod_anti_affinity", POD_AFFINITY),
]);

/// A problem in an affinity value: where (relative to the value) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffinityProblem {
    /// Path segments below the affinity value, as written.
    pub path: KeyPath,
    pub msg: String,
}

/// The affinity in Kubernetes camelCase, or every problem found.
pub fn to_kubernetes(v: &Value) -> Result<Value, Vec<AffinityProblem>> {
    let mut problems = Vec::new();
    let out = convert(v, AFFINITY, &KeyPath::root(), &mut problems);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 8);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel(key: &str) -> String {
    crate::compile::names::camel(key)
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

fn convert(v: &Value, ty: Ty, at: &KeyPath, problems: &mut Vec<AffinityProblem>) -> Value {
    let mut bad = |msg: String| {
        problems.push(AffinityProblem {
            path: at.clone(),
            msg,
        })
    };
    match ty {
        Ty::Obj(fields) => {
            let Value::Object(m) = v else {
                bad(format!("expected a mapping, found {}", kind(v)));
                return Value::Null;
            };
            let mut out = Map::new();
            for (k, val) in m {
                let key = snake(k);
                match fields.iter().find(|(name, _)| *name == key) {
                    Some((name, t)) => {
                        let c = convert(val, *t, &at.key(k), problems);
                        out.insert(camel(name), c);
                    }
                    None => {
                        let allowed: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                        let hint = match crate::text::did_you_mean(&key, allowed.iter().copied()) {
                            Some(b) => format!("did you mean `{b}`?"),
                            None => format!("allowed here: {}", allowed.join(", ")),
                        };
                        problems.push(AffinityProblem {
                            path: at.key(k),
                            msg: format!("unknown key `{k}`; {hint}"),
                        });
                    }
                }
            }
            Value::Object(out)
        }
        Ty::List(item) => {
            let Value::Array(a) = v else {
                bad(format!("expected a list, found {}", kind(v)));
                return Value::Null;
            };
            Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| convert(x, *item, &at.index(i), problems))
                    .collect(),
            )
        }
        Ty::Str => {
            if !v.is_string() {
                bad(format!("expected a string, found {}", kind(v)));
            }
            v.clone()
        }
        Ty::StrList => match v {
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    if !x.is_string() {
                        problems.push(AffinityProblem {
                            path: at.index(i),
                            msg: format!(
                                "expected a string, found {} (quote it: \"{}\")",
                                kind(x),
                                x
                            ),
                        });
                    }
                }
                v.clone()
            }
            _ => {
                bad(format!("expected a list of strings, found {}", kind(v)));
                v.clone()
            }
        },
        Ty::Int => {
            if !(v.is_i64() || v.is_u64()) {
                bad(format!("expected an integer, found {}", kind(v)));
            }
            v.clone()
        }
        Ty::Labels => match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if !x.is_string() {
                        problems.push(AffinityProblem {
                            path: at.key(k),
                            msg: format!("a label value must be a string, found {}", kind(x)),
                        });
                    }
                }
                v.clone()
            }
            _ => {
                bad(format!("expected a mapping of labels, found {}", kind(v)));
                v.clone()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn snake_case_at_every_level_becomes_camel_case_and_labels_stay() {
        let v = json!({
            "node_affinity": {"required_during_scheduling_ignored_during_execution": {
                "node_selector_terms": [{"match_expressions": [
                    {"key": "pool", "operator": "In", "values": ["gpu"]}]}]}},
            "pod_anti_affinity": {"preferred_during_scheduling_ignored_during_execution": [
                {"weight": 10, "pod_affinity_term": {
                    "label_selector": {"match_labels": {"app_name": "x"}},
                    "topology_key": "kubernetes.io/hostname"}}]},
        });
        assert_eq!(
            to_kubernetes(&v).unwrap(),
            json!({
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "pool", "operator": "In", "values": ["gpu"]}]}]}},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 10, "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"app_name": "x"}},
                        "topologyKey": "kubernetes.io/hostname"}}]},
            })
        );
        // camelCase input is accepted unchanged.
        let camel = to_kubernetes(&v).unwrap();
        assert_eq!(to_kubernetes(&camel).unwrap(), camel);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_reported_with_their_path() {
        let e = to_kubernetes(&json!({"node_affinity": {"bogus_field": 1}})).unwrap_err();
        assert_eq!(e[0].path, KeyPath::parse("node_affinity.bogus_field"));
        assert!(e[0].msg.contains("unknown key `bogus_field`"), "{e:?}");
        let e = to_kubernetes(&json!({"pod_affinity": {
            "required_during_scheduling_ignored_during_execution": [{"topology_kye": "x"}]}}))
        .unwrap_err();
        assert_eq!(
            e[0].path,
            KeyPath::parse(
                "pod_affinity.required_during_scheduling_ignored_during_execution[0].topology_kye"
            )
        );
        assert!(e[0].msg.contains("did you mean `topology_key`?"), "{e:?}");
        let e = to_kubernetes(&json!({"node_affinity": {"preferred_during_scheduling_ignored_during_execution": [{"weight": "high", "preference": {}}]}})).unwrap_err();
        assert!(e[0].msg.contains("expected an integer"), "{e:?}");
    }
}
