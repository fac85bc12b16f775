//! Names kfpx gives things on the server: the pipeline (as kedro-kubeflow, so server history
//! continues), deterministic version names (same content → same name → nothing uploaded) and
//! run names templated with the run's parameters (Python `str.format` style).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// KFP's limit on pipeline and version names.
pub const MAX_NAME: usize = 100;

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `[<project>] <pipeline> (env: <env>)` (kedro-kubeflow's name, so server history continues)
/// when it fits in 100 characters. A longer one is cut so that (project, pipeline, env) stay
/// apart: `[<project>] <pipeline, cut> #<8 hex> (env: <env>)`, the hex being the start of the
/// SHA-256 of the full name (the ` (env: …)` part is dropped only when it alone is over 50
/// characters; the hash still tells envs apart).
pub fn pipeline_name(project: &str, pipeline: &str, env: &str) -> String {
    let full = format!("[{project}] {pipeline} (env: {env})");
    if full.chars().count() <= MAX_NAME {
        return full;
    }
    let hash: String = content_hash(full.as_bytes()).chars().take(8).collect();
    let tail = format!(" (env: {env})");
    let tail = if tail.chars().count() <= 50 {
        tail
    } else {
        String::new()
    };
    let marker = format!(" #{hash}");
    let room = MAX_NAME - tail.chars().count() - marker.chars().count();
    let head = truncate(&format!("[{project}] {pipeline}"), room);
    format!("{}{marker}{tail}", head.trim_end())
}

/// kedro-kubeflow's `clean_name`: lower case, runs of non-word characters and `_` become one
/// `-`, a leading digit gets an `n` prefix.
pub fn clean_name(s: &str) -> String {
    let lowered = s.to_lowercase();
    let words: Vec<&str> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join("-");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{joined}")
    } else {
        joined
    }
}

/// Hex SHA-256 of the compiled document.
pub fn content_hash(document: &[u8]) -> String {
    hex::encode(Sha256::digest(document))
}

/// `<clean project>-[<commit 7>-]<content sha256, 12 hex>`: identical content (and commit) →
/// identical name. At most 100 characters (the project part is shortened).
pub fn version_name(project: &str, content_sha256: &str, commit: Option<&str>) -> String {
    let hash: String = content_sha256.chars().take(12).collect();
    let suffix = match commit.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            let short: String = c
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(7)
                .collect::<String>()
                .to_ascii_lowercase();
            format!("{short}-{hash}")
        }
        None => hash,
    };
    let room = MAX_NAME - suffix.len() - 1;
    let project = truncate(&clean_name(project), room);
    let project = project.trim_end_matches('-');
    if project.is_empty() {
        format!("pipeline-{suffix}")
    } else {
        format!("{project}-{suffix}")
    }
}

/// Format a run name template as Python's `str.format(**params)`: `{name}` is replaced by the
/// parameter's value, `{{` and `}}` are literal braces. Strings appear as they are, booleans
/// as `True`/`False`, `null` as `None`, other values as JSON.
pub fn format_run_name(
    template: &str,
    params: &BTreeMap<String, serde_json::Value>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    field.push(c);
                }
                if !closed {
                    return Err(format!(
                        "the run name {template:?} has an unclosed `{{`; write `{{{{` for a \
                         literal brace"
                    ));
                }
                // `{name!r}` / `{name:fmt}`: the name is what comes before.
                let name = field.split(['!', ':']).next().unwrap_or("").trim();
                let value = params.get(name).ok_or_else(|| {
                    let known: Vec<&str> = params.keys().map(String::as_str).collect();
                    format!(
                        "the run name {template:?} uses {{{name}}}, which is not a pipeline \
                         parameter; known parameters: {}",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )
                })?;
                out.push_str(&python_str(value));
            }
            '}' => {
                return Err(format!(
                    "the run name {template:?} has a lone `}}`; write `}}}}` for a literal brace"
                ))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn python_str(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(true) => "True".into(),
        serde_json::Value::Bool(false) => "False".into(),
        serde_json::Value::Null => "None".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pipeline_name_matches_kedro_kubeflow_and_is_capped() {
        assert_eq!(
            pipeline_name("demo-proj", "__default__", "local"),
            "[demo-proj] __default__ (env: local)"
        );
        let long = pipeline_name(&"p".repeat(120), "x", "local");
        assert_eq!(long.chars().count(), 100);
        assert!(long.starts_with("[ppp"));
        assert!(long.ends_with(" (env: local)"), "{long}");
        // Exactly 100 characters: unchanged.
        let fits = pipeline_name("demo", &"x".repeat(100 - 20), "local");
        assert_eq!(fits, format!("[demo] {} (env: local)", "x".repeat(80)));
    }

    #[test]
    fn long_pipeline_names_stay_apart_per_pipeline_and_env() {
        // Issue 11: two long pipeline names and two envs once became one server pipeline.
        let a = "a".repeat(95);
        let names = [
            pipeline_name("proj", &format!("{a}-one"), "local"),
            pipeline_name("proj", &format!("{a}-two"), "local"),
            pipeline_name("proj", &format!("{a}-one"), "production"),
            pipeline_name("proj", &format!("{a}-two"), "production"),
            pipeline_name("proj", &format!("{a}-one"), &"e".repeat(60)),
            pipeline_name("proj", &format!("{a}-one"), &format!("{}x", "e".repeat(60))),
        ];
        for n in &names {
            assert!(n.chars().count() <= MAX_NAME, "{n}");
        }
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:#?}");
        assert!(names[2].ends_with(" (env: production)"), "{}", names[2]);
        // Stable: the same triple, the same name.
        assert_eq!(
            names[0],
            pipeline_name("proj", &format!("{a}-one"), "local")
        );
        let multibyte = pipeline_name("проект", &"ж".repeat(200), "local");
        assert_eq!(multibyte.chars().count(), MAX_NAME);
    }

    #[test]
    fn clean_name_follows_the_plugin() {
        assert_eq!(clean_name("Spaceflights Demo"), "spaceflights-demo");
        assert_eq!(clean_name("my_proj__x"), "my-proj-x");
        assert_eq!(clean_name("123abc"), "n123abc");
    }

    #[test]
    fn version_names_are_deterministic_and_bounded() {
        let h = content_hash(b"pipelineInfo: {name: x}\n");
        let a = version_name("Demo Proj", &h, None);
        assert_eq!(a, format!("demo-proj-{}", &h[..12]));
        assert_eq!(a, version_name("Demo Proj", &h, None));
        let other = version_name("Demo Proj", &content_hash(b"different"), None);
        assert_ne!(a, other);
        let with_commit = version_name("Demo Proj", &h, Some("0123456789abcdef"));
        assert_eq!(with_commit, format!("demo-proj-0123456-{}", &h[..12]));
        let long = version_name(&"x".repeat(300), &h, Some("abcdef1234"));
        assert!(long.len() <= MAX_NAME);
        assert!(long.ends_with(&h[..12]));
    }

    #[test]
    fn run_names_are_formatted_like_python() {
        let mut p = BTreeMap::new();
        p.insert("ratio".to_string(), json!(0.9));
        p.insert("model".to_string(), json!("rf"));
        p.insert("fast".to_string(), json!(true));
        assert_eq!(
            format_run_name("demo {model} ratio={ratio} fast={fast}", &p).unwrap(),
            "demo rf ratio=0.9 fast=True"
        );
        assert_eq!(format_run_name("{{literal}}", &p).unwrap(), "{literal}");
        assert_eq!(format_run_name("plain", &BTreeMap::new()).unwrap(), "plain");
    }

    #[test]
    fn run_name_errors_say_what_is_known() {
        let mut p = BTreeMap::new();
        p.insert("ratio".to_string(), json!(0.9));
        let err = format_run_name("run {epochs}", &p).unwrap_err();
        assert!(
            err.contains("{epochs}") && err.contains("known parameters: ratio"),
            "{err}"
        );
        assert!(format_run_name("run {ratio", &p)
            .unwrap_err()
            .contains("unclosed"));
        assert!(format_run_name("run }", &p).unwrap_err().contains("lone"));
    }
}
