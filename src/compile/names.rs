//! Name rules: one function per kind of name the compiler writes. Every KFP/Kubernetes name
//! passes through exactly one of these, so a Kedro name with dots, underscores, capitals or
//! other characters always compiles (kedro-kubeflow crashed on dotted dataset names).

use std::collections::HashSet;

/// Longest task / template name we write (a Kubernetes label value is at most 63 characters;
/// KFP and Argo derive pod names and labels from task names).
pub const MAX_NAME: usize = 63;

/// kedro-kubeflow's op-name rule (`clean_name` then kfp's `_sanitize_python_function_name`):
/// lower-case, every run of characters other than ASCII letters and digits becomes one `-`,
/// no leading or trailing `-`, a leading digit gets an `n` prefix. `train_model` →
/// `train-model`, `TrainModel` → `trainmodel`, `ds.prep` → `ds-prep`, `123abc` → `n123abc`.
/// An empty result becomes `task`.
pub fn op_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_dash = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if out.is_empty() {
        return "task".into();
    }
    if out.as_bytes()[0].is_ascii_digit() {
        out.insert(0, 'n');
    }
    truncate_name(out)
}

/// Kubernetes resource-name rule (kfp's `sanitize_k8s_name`): lower-case, runs of characters
/// outside `[-0-9a-z]` become `-`, dashes collapsed and trimmed. Used for PVC names, volume
/// names and the workflow's `generateName`. An empty result becomes `kfpx`.
pub fn k8s_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "kfpx".into()
    } else {
        truncate_name(trimmed.to_string())
    }
}

fn truncate_name(mut s: String) -> String {
    if s.len() > MAX_NAME {
        s.truncate(MAX_NAME);
        while s.ends_with('-') {
            s.pop();
        }
    }
    s
}

/// KFP v2 component name of a task.
pub fn component(task: &str) -> String {
    format!("comp-{task}")
}

/// KFP v2 executor label of a task.
pub fn executor(task: &str) -> String {
    format!("exec-{task}")
}

/// Name of the PVC a run creates, without the run-specific prefix KFP/Argo adds
/// (`<workflow name>-<pipeline>-data-volume`, as kedro-kubeflow: `__default__` → `default`).
pub fn pvc_suffix(pipeline: &str) -> String {
    k8s_name(&format!("{pipeline}-data-volume"))
}

/// `generateName` of the Argo Workflow and `pipelineInfo.name` of the IR: the project name.
pub fn workflow(project: &str) -> String {
    k8s_name(project)
}

/// Argo output artifact name of a dataset written by a task: `<task>-<dataset>` with the
/// dataset sanitised like a Kubernetes name (`data_science.X_train` → `data-science-x-train`).
pub fn artifact(task: &str, dataset: &str) -> String {
    format!("{task}-{}", k8s_name(dataset))
}

/// Hands out names unique within one pipeline document: a taken name gets `-2`, `-3`, …
#[derive(Debug, Default)]
pub struct Unique {
    taken: HashSet<String>,
}

impl Unique {
    /// Names already used by the compiler's own tasks (volume, exit handler, mlflow, …).
    pub fn reserving(names: &[&str]) -> Self {
        Unique {
            taken: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `base` if free, else the first free `base-N` (N ≥ 2); the result is taken.
    pub fn claim(&mut self, base: String) -> String {
        if self.taken.insert(base.clone()) {
            return base;
        }
        let mut n = 2usize;
        loop {
            let suffix = format!("-{n}");
            let mut stem = base.clone();
            stem.truncate(MAX_NAME - suffix.len().min(MAX_NAME));
            let candidate = format!("{}{suffix}", stem.trim_end_matches('-'));
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// Quote a word for bash when it needs it (single quotes, `'` written as `'\''`).
pub fn sh_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=,@+-%".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// snake_case → camelCase (`required_during_scheduling` → `requiredDuringScheduling`);
/// camelCase input is returned unchanged.
pub fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_follow_kedro_kubeflow() {
        assert_eq!(op_name("train_model"), "train-model");
        assert_eq!(op_name("TrainModel"), "trainmodel");
        assert_eq!(op_name("ds.prep"), "ds-prep");
        assert_eq!(op_name("123abc"), "n123abc");
        assert_eq!(op_name("__x__y__"), "x-y");
        assert_eq!(op_name("..."), "task");
        assert_eq!(
            op_name("data_processing.preprocess_companies_node"),
            "data-processing-preprocess-companies-node"
        );
        assert!(op_name(&"a".repeat(200)).len() <= MAX_NAME);
    }

    #[test]
    fn k8s_names_are_dns_labels() {
        assert_eq!(k8s_name("Shared_Memory"), "shared-memory");
        assert_eq!(k8s_name("__default__-data-volume"), "default-data-volume");
        assert_eq!(pvc_suffix("__default__"), "default-data-volume");
        assert_eq!(k8s_name("--"), "kfpx");
        assert_eq!(
            artifact("split", "data_science.X_train"),
            "split-data-science-x-train"
        );
    }

    #[test]
    fn unique_names_get_numbered_suffixes() {
        let mut u = Unique::reserving(&["on-exit"]);
        assert_eq!(u.claim("a-b".into()), "a-b");
        assert_eq!(u.claim("a-b".into()), "a-b-2");
        assert_eq!(u.claim("a-b".into()), "a-b-3");
        assert_eq!(u.claim("on-exit".into()), "on-exit-2");
        let long = "x".repeat(MAX_NAME);
        assert_eq!(u.claim(long.clone()), long);
        let second = u.claim(long.clone());
        assert!(second.len() <= MAX_NAME && second.ends_with("-2"));
    }

    #[test]
    fn shell_quoting_only_when_needed() {
        assert_eq!(sh_quote("data_science.train"), "data_science.train");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn camel_case() {
        assert_eq!(
            camel("required_during_scheduling_ignored_during_execution"),
            "requiredDuringSchedulingIgnoredDuringExecution"
        );
        assert_eq!(camel("nodeSelectorTerms"), "nodeSelectorTerms");
        assert_eq!(camel("empty_dir"), "emptyDir");
    }
}
