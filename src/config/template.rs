//! Placeholders in config string values, in the three forms kedro-kubeflow users have:
//!
//! * `${name|default}` / `${name}` (kedro-kubeflow 0.7) and `$<name|default>` (short form):
//!   `name` comes from `KEDRO_CONFIG_<NAME>`; `commit_id` and `branch_name` fall back to git;
//! * `${oc.env:VAR,default}` / `${oc.env:VAR}` (OmegaConf, kedro-kubeflow 0.8+): the variable
//!   `VAR` itself; `KEDRO_CONFIG_COMMIT_ID`/`_BRANCH_NAME` fall back to git; a lower-case `VAR`
//!   also reads `KEDRO_CONFIG_<VAR>` (as the deprecated EnvTemplatedConfigLoader exported them).
//!
//! `$$` is a literal `$`; `\${` is a literal `${` (OmegaConf's escape). This module is pure:
//! the environment and git are passed in.
//!
//! As in OmegaConf's grammar (`omegaconf/grammar/OmegaConfGrammarParser.g4`: a resolver's
//! arguments are elements, and an element may be an interpolation), the default of
//! `${oc.env:VAR,default}` may itself hold placeholders, e.g. `${oc.env:A,${oc.env:B,x}}`.
//! OmegaConf resolves arguments before calling the resolver, so a nested placeholder without
//! a value is an error even when `VAR` is set; kfpx does the same. Nesting is at most
//! [`MAX_NESTING`] deep. Anywhere else a nested placeholder is refused.

use super::tree::Source;

/// What placeholders can read. The caller decides where values come from.
pub struct Lookup<'a> {
    /// An environment variable's value.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `"commit_id"` (short sha) or `"branch_name"` of the project's repository.
    pub git: &'a dyn Fn(&str) -> Option<String>,
}

/// The prefix of variables that `${name}` placeholders read.
pub const ENV_PREFIX: &str = "KEDRO_CONFIG_";

/// Names that fall back to the git repository when their variable is unset.
pub const GIT_NAMES: [&str; 2] = ["commit_id", "branch_name"];

/// A substitution problem in one string (the caller adds file, line and key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

/// How deep placeholders may nest in defaults.
pub const MAX_NESTING: usize = 8;

/// Replace every placeholder in `text`; returns the new text and where the values came from.
pub fn substitute(text: &str, lookup: &Lookup) -> Result<(String, Vec<Source>), TemplateError> {
    substitute_at(text, lookup, 0)
}

/// The end of the placeholder whose body starts `t` (just after `${`): the index of its `}`,
/// skipping nested `${…}`.
fn closing_brace(t: &str) -> Option<usize> {
    let bytes = t.as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if t[i..].starts_with("\\${") => i += 2,
            b'$' if t[i..].starts_with("${") => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn substitute_at(
    text: &str,
    lookup: &Lookup,
    depth: usize,
) -> Result<(String, Vec<Source>), TemplateError> {
    if depth > MAX_NESTING {
        return Err(TemplateError(format!(
            "placeholders are nested more than {MAX_NESTING} deep"
        )));
    }
    if !text.contains('$') {
        return Ok((text.to_string(), Vec::new()));
    }
    let mut out = String::with_capacity(text.len());
    let mut sources = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['$', '\\']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("\\${") {
            out.push_str("${");
            rest = t;
        } else if let Some(t) = tail.strip_prefix('\\') {
            out.push('\\');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("$$") {
            out.push('$');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("${") {
            let Some(end) = closing_brace(t) else {
                return Err(TemplateError(format!(
                    "unclosed placeholder `{tail}`: add the closing `}}` (or write `$$` for a literal `$`)"
                )));
            };
            let inner = &t[..end];
            let whole = &tail[..end + 3];
            let (value, mut source) = resolve_braced(inner, whole, lookup, depth)?;
            out.push_str(&value);
            sources.append(&mut source);
            rest = &t[end + 1..];
        } else if let Some((name, default, len)) = short_form(tail) {
            let whole = &tail[..len];
            let (value, source) = resolve_name(name, default, whole, lookup)?;
            out.push_str(&value);
            sources.push(source);
            rest = &tail[len..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok((out, sources))
}

/// `$<name|default>` or `$<name>` at the start of `s`: (name, default, length).
fn short_form(s: &str) -> Option<(&str, Option<&str>, usize)> {
    let t = s.strip_prefix("$<")?;
    let end = t.find('>')?;
    let inner = &t[..end];
    let (name, default) = match inner.split_once('|') {
        Some((n, d)) => (n.trim(), Some(d)),
        None => (inner.trim(), None),
    };
    is_identifier(name).then_some((name, default, end + 3))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn resolve_braced(
    inner: &str,
    whole: &str,
    lookup: &Lookup,
    depth: usize,
) -> Result<(String, Vec<Source>), TemplateError> {
    let trimmed = inner.trim();
    if let Some(spec) = trimmed.strip_prefix("oc.env:") {
        let (var, default) = match spec.split_once(',') {
            Some((v, d)) => (v.trim(), Some(unquote(d.trim()))),
            None => (spec.trim(), None),
        };
        if var.is_empty() {
            return Err(TemplateError(format!(
                "`{whole}` names no variable; write `${{oc.env:KEDRO_CONFIG_NAME,default}}`"
            )));
        }
        if var.contains(['$', '{', '}']) {
            return Err(TemplateError(format!(
                "`{whole}`: the variable name of oc.env cannot be a placeholder; write it out"
            )));
        }
        // OmegaConf resolves a nested default first (an error there is an error here).
        let default = match default {
            Some(d) if d.contains('$') => Some(substitute_at(d, lookup, depth + 1)?),
            Some(d) => Some((d.to_string(), Vec::new())),
            None => None,
        };
        return match default {
            Some((d, nested)) if !nested.is_empty() => {
                match resolve_env_var(var, None, whole, lookup) {
                    Ok((v, src)) => Ok((v, vec![src])),
                    Err(_) => Ok((d, nested)),
                }
            }
            Some((d, _)) => {
                resolve_env_var(var, Some(&d), whole, lookup).map(|(v, s)| (v, vec![s]))
            }
            None => resolve_env_var(var, None, whole, lookup).map(|(v, s)| (v, vec![s])),
        };
    }
    if trimmed.contains("${") {
        return Err(TemplateError(format!(
            "`{whole}` holds a nested placeholder; kfpx (like OmegaConf) allows one only in the \
             default of ${{oc.env:NAME,default}}"
        )));
    }
    if let Some((resolver, _)) = trimmed.split_once(':') {
        if is_identifier(resolver.replace('.', "_").as_str()) {
            return Err(TemplateError(format!(
                "unsupported placeholder `{whole}` (resolver `{resolver}`); kfpx understands \
                 ${{name|default}}, $<name|default> and ${{oc.env:NAME,default}} (write `$$` for a literal `$`)"
            )));
        }
    }
    let (name, default) = match trimmed.split_once('|') {
        Some((n, d)) => (n.trim(), Some(d)),
        None => (trimmed, None),
    };
    if !is_identifier(name) {
        return Err(TemplateError(format!(
            "`{whole}` is not a placeholder kfpx understands: use ${{name|default}}, \
             $<name|default> or ${{oc.env:NAME,default}} (write `$$` for a literal `$`)"
        )));
    }
    resolve_name(name, default, whole, lookup).map(|(v, s)| (v, vec![s]))
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// `${name|default}`: `KEDRO_CONFIG_<NAME>`, then git for commit_id/branch_name, then default.
fn resolve_name(
    name: &str,
    default: Option<&str>,
    whole: &str,
    lookup: &Lookup,
) -> Result<(String, Source), TemplateError> {
    let var = format!("{ENV_PREFIX}{}", name.to_ascii_uppercase());
    if let Some(v) = (lookup.env)(&var) {
        return Ok((v, Source::Env(var)));
    }
    let lower = name.to_ascii_lowercase();
    if GIT_NAMES.contains(&lower.as_str()) {
        if let Some(v) = (lookup.git)(&lower) {
            return Ok((v, Source::Git(lower)));
        }
    }
    match default {
        Some(d) => Ok((d.to_string(), Source::PlaceholderDefault(whole.to_string()))),
        None => {
            let git = if GIT_NAMES.contains(&lower.as_str()) {
                " (the project is not in a git repository with a commit, so git cannot supply it)"
            } else {
                ""
            };
            Err(TemplateError(format!(
                "placeholder `{whole}` has no value\nhelp: set the environment variable {var}, \
                 or give a default like `${{{name}|default}}`{git}"
            )))
        }
    }
}

/// `${oc.env:VAR,default}`.
fn resolve_env_var(
    var: &str,
    default: Option<&str>,
    whole: &str,
    lookup: &Lookup,
) -> Result<(String, Source), TemplateError> {
    if let Some(v) = (lookup.env)(var) {
        return Ok((v, Source::Env(var.to_string())));
    }
    // Names the git fallback applies to: KEDRO_CONFIG_COMMIT_ID or a legacy lower-case commit_id.
    let short = var
        .strip_prefix(ENV_PREFIX)
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_else(|| var.to_string());
    let legacy = var
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if legacy {
        let prefixed = format!("{ENV_PREFIX}{}", var.to_ascii_uppercase());
        if let Some(v) = (lookup.env)(&prefixed) {
            return Ok((v, Source::Env(prefixed)));
        }
    }
    if (legacy || var.starts_with(ENV_PREFIX)) && GIT_NAMES.contains(&short.as_str()) {
        if let Some(v) = (lookup.git)(&short) {
            return Ok((v, Source::Git(short)));
        }
    }
    match default {
        Some(d) => Ok((d.to_string(), Source::PlaceholderDefault(whole.to_string()))),
        None => Err(TemplateError(format!(
            "placeholder `{whole}` has no value\nhelp: set the environment variable {var}, or \
             give a default like `${{oc.env:{var},default}}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn run(text: &str, env: &[(&str, &str)], git: &[(&str, &str)]) -> Result<String, String> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let git: BTreeMap<String, String> = git
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let e = move |k: &str| env.get(k).cloned();
        let g = move |k: &str| git.get(k).cloned();
        substitute(text, &Lookup { env: &e, git: &g })
            .map(|(s, _)| s)
            .map_err(|e| e.0)
    }

    #[test]
    fn legacy_form_reads_prefixed_env_then_default() {
        let env = [("KEDRO_CONFIG_COMMIT_ID", "abc123")];
        assert_eq!(
            run("img:${commit_id|dirty}", &env, &[]).unwrap(),
            "img:abc123"
        );
        assert_eq!(
            run("img:${commit_id|dirty}", &[], &[]).unwrap(),
            "img:dirty"
        );
        assert_eq!(
            run("[Test] ${branch_name|local}", &[], &[]).unwrap(),
            "[Test] local"
        );
        assert_eq!(run("${x|}", &[], &[]).unwrap(), "");
        assert_eq!(
            run(
                "gcr.io/${google_project_id}/p",
                &[("KEDRO_CONFIG_GOOGLE_PROJECT_ID", "gp")],
                &[]
            )
            .unwrap(),
            "gcr.io/gp/p"
        );
    }

    #[test]
    fn short_form() {
        assert_eq!(run("a-$<tag|latest>", &[], &[]).unwrap(), "a-latest");
        assert_eq!(
            run("a-$<tag|latest>", &[("KEDRO_CONFIG_TAG", "v1")], &[]).unwrap(),
            "a-v1"
        );
        assert_eq!(
            run("a-$<tag>", &[("KEDRO_CONFIG_TAG", "v1")], &[]).unwrap(),
            "a-v1"
        );
        // not a placeholder: left alone
        assert_eq!(run("x $< y", &[], &[]).unwrap(), "x $< y");
    }

    #[test]
    fn omegaconf_form_with_and_without_space_and_default() {
        let env = [("KEDRO_CONFIG_COMMIT_ID", "c0ffee")];
        for t in [
            "${oc.env:KEDRO_CONFIG_COMMIT_ID,unknown-commit}",
            "${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}",
            "${oc.env:KEDRO_CONFIG_COMMIT_ID}",
        ] {
            assert_eq!(run(t, &env, &[]).unwrap(), "c0ffee", "{t}");
        }
        assert_eq!(
            run("${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}", &[], &[]).unwrap(),
            "unknown-commit"
        );
        assert_eq!(run("${oc.env:HOME,'x y'}", &[], &[]).unwrap(), "x y");
        // legacy lower-case names read the prefixed variable
        assert_eq!(
            run("${oc.env:commit_id,dirty}", &env, &[]).unwrap(),
            "c0ffee"
        );
    }

    #[test]
    fn git_fallback_comes_after_env_and_before_default() {
        let git = [("commit_id", "1a2b3c4"), ("branch_name", "main")];
        assert_eq!(run("${commit_id|dirty}", &[], &git).unwrap(), "1a2b3c4");
        assert_eq!(run("$<branch_name>", &[], &git).unwrap(), "main");
        assert_eq!(
            run("${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown}", &[], &git).unwrap(),
            "1a2b3c4"
        );
        assert_eq!(
            run(
                "${commit_id|dirty}",
                &[("KEDRO_CONFIG_COMMIT_ID", "env")],
                &git
            )
            .unwrap(),
            "env"
        );
        // other names never come from git
        assert!(run("${oc.env:OTHER}", &[], &git).is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(
            run("cost $$5 and $${x}", &[], &[]).unwrap(),
            "cost $5 and ${x}"
        );
        assert_eq!(run("\\${literal}", &[], &[]).unwrap(), "${literal}");
        assert_eq!(run("a lone $ sign", &[], &[]).unwrap(), "a lone $ sign");
        assert_eq!(run("C:\\path", &[], &[]).unwrap(), "C:\\path");
    }

    #[test]
    fn missing_values_and_bad_forms_are_errors() {
        let e = run("img:${commit_id}", &[], &[]).unwrap_err();
        assert!(e.contains("`${commit_id}` has no value"), "{e}");
        assert!(e.contains("KEDRO_CONFIG_COMMIT_ID"), "{e}");
        let e = run("${oc.env:KEDRO_CONFIG_X}", &[], &[]).unwrap_err();
        assert!(
            e.contains("set the environment variable KEDRO_CONFIG_X"),
            "{e}"
        );
        let e = run("${globals:foo}", &[], &[]).unwrap_err();
        assert!(e.contains("unsupported placeholder"), "{e}");
        let e = run("${unclosed", &[], &[]).unwrap_err();
        assert!(e.contains("unclosed placeholder"), "{e}");
        let e = run("${not a name}", &[], &[]).unwrap_err();
        assert!(e.contains("not a placeholder"), "{e}");
    }

    #[test]
    fn nested_placeholders_in_oc_env_defaults_resolve_as_omegaconf_does() {
        let t = "img:${oc.env:A,${oc.env:B,x}}";
        assert_eq!(run(t, &[], &[]).unwrap(), "img:x");
        assert_eq!(run(t, &[("B", "b")], &[]).unwrap(), "img:b");
        assert_eq!(run(t, &[("A", "a"), ("B", "b")], &[]).unwrap(), "img:a");
        assert_eq!(run(t, &[("A", "a")], &[]).unwrap(), "img:a");
        assert_eq!(
            run("${oc.env:A,pre-${oc.env:B,x}-post}!", &[], &[]).unwrap(),
            "pre-x-post!"
        );
        // OmegaConf resolves arguments first: a nested placeholder without value fails
        let e = run("${oc.env:A,${oc.env:B}}", &[("A", "a")], &[]).unwrap_err();
        assert!(e.contains("`${oc.env:B}` has no value"), "{e}");
        // anywhere else a nested placeholder is refused, never half-substituted
        let e = run("${a|${b|c}}", &[], &[]).unwrap_err();
        assert!(e.contains("nested placeholder"), "{e}");
        let e = run("${oc.env:${oc.env:B,x}}", &[], &[]).unwrap_err();
        assert!(e.contains("cannot be a placeholder"), "{e}");
        let deep = format!("{}x{}", "${oc.env:A,".repeat(50), "}".repeat(50));
        let e = run(&deep, &[], &[]).unwrap_err();
        assert!(e.contains("nested more than"), "{e}");
    }

    #[test]
    fn sources_are_reported() {
        let env = |k: &str| (k == "KEDRO_CONFIG_A").then(|| "1".to_string());
        let git = |k: &str| (k == "commit_id").then(|| "abc".to_string());
        let (s, src) = substitute(
            "${a}-${commit_id}-${b|d}",
            &Lookup {
                env: &env,
                git: &git,
            },
        )
        .unwrap();
        assert_eq!(s, "1-abc-d");
        assert_eq!(
            src,
            vec![
                Source::Env("KEDRO_CONFIG_A".into()),
                Source::Git("commit_id".into()),
                Source::PlaceholderDefault("${b|d}".into())
            ]
        );
    }
}
