//! Checks beyond types: URLs, durations, Kubernetes quantities and names, tolerations, retry
//! policies, schedule times. Pure: returns problems as (key path, message); the loader turns the
//! path into file:line:column.

use std::collections::BTreeMap;

use super::de::did_you_mean;
use super::schema::*;
use super::tree::KeyPath;

/// A problem with the typed config: where (key path) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: KeyPath,
    pub msg: String,
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn add(&mut self, path: KeyPath, msg: impl Into<String>) {
        self.problems.push(Problem {
            path,
            msg: msg.into(),
        });
    }
}

/// Every problem found, in the order of the keys in the schema.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    let root = KeyPath::root();
    check_host(&mut c, &root.key("host"), &config.host);
    let rc = &config.run_config;
    let p = root.key("run_config");
    if rc.image.trim().is_empty() {
        c.add(
            p.key("image"),
            "the image is empty; give the Docker image the steps run in",
        );
    }
    if rc.experiment_name.trim().is_empty() {
        c.add(p.key("experiment_name"), "the experiment name is empty");
    }
    check_format_template(&mut c, &p.key("run_name"), &rc.run_name);
    if let Some(s) = &rc.scheduled_run_name {
        check_format_template(&mut c, &p.key("scheduled_run_name"), s);
    }
    if let Some(s) = &rc.max_cache_staleness {
        if !is_iso8601_duration(s) {
            c.add(
                p.key("max_cache_staleness"),
                format!(
                    "`{s}` is not an ISO-8601 duration; write e.g. P0D (no caching), PT1H, P7D or P1DT2H"
                ),
            );
        }
    }
    if rc.group_tag_prefix.is_empty() {
        c.add(
            p.key("group_tag_prefix"),
            "the tag prefix is empty; use e.g. `group.`",
        );
    }
    if let Some(v) = &rc.volume {
        check_volume(&mut c, &p.key("volume"), v);
    }
    for (node, res) in &rc.resources {
        let np = p.key("resources").key(node);
        for (name, q) in res {
            check_quantity(&mut c, &np.key(name), q);
        }
    }
    for (node, list) in &rc.tolerations {
        for (i, t) in list.iter().enumerate() {
            check_toleration(&mut c, &p.key("tolerations").key(node).index(i), t);
        }
    }
    for (node, aff) in &rc.affinity {
        check_affinity(&mut c, &p.key("affinity").key(node), aff);
    }
    check_retry(&mut c, &p.key("retry_policy"), &rc.retry_policy);
    for (node, list) in &rc.extra_volumes {
        for (i, v) in list.iter().enumerate() {
            check_extra_volume(&mut c, &p.key("extra_volumes").key(node).index(i), v);
        }
    }
    if let Some(ns) = &rc.namespace {
        if !is_dns1123_label(ns) {
            c.add(
                p.key("namespace"),
                format!("`{ns}` is not a valid Kubernetes namespace (lower-case letters, digits and `-`, at most 63 characters)"),
            );
        }
    }
    for name in rc.env.keys() {
        if !is_env_name(name) {
            c.add(
                p.key("env").key(name),
                format!("`{name}` is not a valid environment variable name (letters, digits, `_`, `-`, `.`; not starting with a digit)"),
            );
        }
    }
    for (secret, keys) in &rc.secrets {
        let sp = p.key("secrets").key(secret);
        if !is_dns1123_subdomain(secret) {
            c.add(
                sp.clone(),
                format!("`{secret}` is not a valid Kubernetes secret name (lower-case letters, digits, `-` and `.`)"),
            );
        }
        for (i, k) in keys.iter().enumerate() {
            if !is_env_name(k) {
                c.add(
                    sp.index(i),
                    format!("`{k}` cannot be an environment variable name (letters, digits, `_`, `-`, `.`; not starting with a digit)"),
                );
            }
        }
    }
    for (node, sel) in &rc.node_selector {
        check_labels(&mut c, &p.key("node_selector").key(node), sel);
    }
    if let Some(sa) = &rc.service_account {
        if !is_dns1123_subdomain(sa) {
            c.add(
                p.key("service_account"),
                format!("`{sa}` is not a valid Kubernetes service account name"),
            );
        }
    }
    for (i, s) in rc.image_pull_secrets.iter().enumerate() {
        if !is_dns1123_subdomain(s) {
            c.add(
                p.key("image_pull_secrets").index(i),
                format!("`{s}` is not a valid Kubernetes secret name"),
            );
        }
    }
    check_labels(&mut c, &p.key("labels"), &rc.labels);
    for k in rc.annotations.keys() {
        if !is_qualified_name(k) {
            c.add(
                p.key("annotations").key(k),
                format!("`{k}` is not a valid annotation key ([prefix/]name, name made of letters, digits, `-`, `_`, `.`)"),
            );
        }
    }
    check_schedule(&mut c, &p.key("schedule"), &rc.schedule);
    c.problems
}

fn check_host(c: &mut Checker, path: &KeyPath, raw: &str) {
    // Shown only redacted (a password in the URL as `***`).
    let host = crate::redact::RedactedUrl::new(raw);
    let hint = "write the KFP endpoint with its scheme, e.g. https://kubeflow.example.com/pipeline";
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        Ok(u) => c.add(
            path.clone(),
            format!(
                "`{host}` has scheme `{}`, not http or https; {hint}",
                u.scheme()
            ),
        ),
        Err(_) => c.add(
            path.clone(),
            format!("`{host}` is not a URL with http:// or https://; {hint}"),
        ),
    }
}

/// `str.format` templates: balanced `{}` (with `{{`/`}}` escapes).
fn check_format_template(c: &mut Checker, path: &KeyPath, s: &str) {
    let mut chars = s.chars().peekable();
    let mut open = false;
    while let Some(ch) = chars.next() {
        match (ch, open) {
            ('{', false) if chars.peek() == Some(&'{') => {
                chars.next();
            }
            ('}', false) if chars.peek() == Some(&'}') => {
                chars.next();
            }
            ('{', false) => open = true,
            ('}', true) => open = false,
            ('}', false) | ('{', true) => {
                c.add(
                    path.clone(),
                    format!("`{s}` has an unmatched brace; name parameters as {{param}} and write literal braces as {{{{ and }}}}"),
                );
                return;
            }
            _ => {}
        }
    }
    if open {
        c.add(
            path.clone(),
            format!("`{s}` has an unclosed `{{`; name parameters as {{param}}"),
        );
    }
}

fn check_volume(c: &mut Checker, p: &KeyPath, v: &VolumeConfig) {
    if !is_quantity(&v.size) || v.size.starts_with('-') {
        c.add(
            p.key("size"),
            format!(
                "`{}` is not a Kubernetes storage size; write e.g. 1Gi or 500Mi",
                v.size
            ),
        );
    }
    const MODES: [&str; 4] = [
        "ReadWriteOnce",
        "ReadOnlyMany",
        "ReadWriteMany",
        "ReadWriteOncePod",
    ];
    for (i, m) in v.access_modes.iter().enumerate() {
        if !MODES.contains(&m.as_str()) {
            let mut msg = format!("`{m}` is not one of {}", MODES.join(", "));
            if let Some(b) = did_you_mean(m, &MODES) {
                msg.push_str(&format!(" (did you mean `{b}`?)"));
            }
            c.add(p.key("access_modes").index(i), msg);
        }
    }
    if v.access_modes.is_empty() {
        c.add(
            p.key("access_modes"),
            "give at least one access mode, e.g. [ReadWriteOnce]",
        );
    }
    if let Some(o) = v.owner {
        if o < 0 {
            c.add(
                p.key("owner"),
                format!("{o} is not a user id; use 0 or more (or null to leave it unset)"),
            );
        }
    }
}

fn check_quantity(c: &mut Checker, path: &KeyPath, q: &Quantity) {
    let ok = match q {
        Quantity::Int(i) => *i >= 0,
        Quantity::Float(f) => f.is_finite() && *f >= 0.0,
        Quantity::Str(s) => is_quantity(s) && !s.starts_with('-'),
    };
    if !ok {
        c.add(
            path.clone(),
            format!("`{q}` is not a Kubernetes quantity; write e.g. 500m or 2 for CPU, 512Mi or 2Gi for memory, 1 for GPUs"),
        );
    }
}

/// Kubernetes quantity syntax: a decimal number with an optional SI/binary suffix or exponent.
pub fn is_quantity(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    let digits = num.chars().filter(|c| c.is_ascii_digit()).count();
    if digits == 0 || num.matches('.').count() > 1 {
        return false;
    }
    match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T"
        | "P" | "E" => true,
        _ => {
            let Some(exp) = suffix.strip_prefix(['e', 'E']) else {
                return false;
            };
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit())
        }
    }
}

/// ISO-8601 duration: `PnYnMnWnDTnHnMnS`, at least one component, fractions allowed.
pub fn is_iso8601_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let Some(nd) = components(date, &['Y', 'M', 'W', 'D']) else {
        return false;
    };
    let nt = match time {
        Some(t) => match components(t, &['H', 'M', 'S']) {
            Some(0) | None => return false,
            Some(n) => n,
        },
        None => 0,
    };
    nd + nt > 0
}

/// Count `<number><designator>` parts in `order`; None when malformed.
fn components(s: &str, order: &[char]) -> Option<usize> {
    let mut next = 0;
    let mut count = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))?;
        let num = &rest[..end];
        if !num.chars().next()?.is_ascii_digit() {
            return None;
        }
        let d = rest[end..].chars().next()?;
        let pos = order[next..].iter().position(|&o| o == d)? + next;
        next = pos + 1;
        count += 1;
        rest = &rest[end + d.len_utf8()..];
    }
    Some(count)
}

/// A duration as Argo/Go write it: `60s`, `5m`, `1h30m`, or a number of seconds.
pub fn is_go_duration(s: &str) -> bool {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if end == 0 || !rest[..end].chars().any(|c| c.is_ascii_digit()) {
            return false;
        }
        rest = &rest[end..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .iter()
            .filter(|u| rest.starts_with(**u))
            .max_by_key(|u| u.len());
        match unit {
            // "ms" must win over "m" followed by "s"
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn check_toleration(c: &mut Checker, p: &KeyPath, t: &Toleration) {
    const OPS: [&str; 2] = ["Equal", "Exists"];
    const EFFECTS: [&str; 4] = ["NoSchedule", "PreferNoSchedule", "NoExecute", ""];
    if !OPS.contains(&t.operator.as_str()) {
        let mut msg = format!("operator `{}` is not Equal or Exists", t.operator);
        if let Some(b) = did_you_mean(&t.operator, &OPS) {
            msg.push_str(&format!(" (did you mean `{b}`?)"));
        }
        c.add(p.key("operator"), msg);
    }
    if !EFFECTS.contains(&t.effect.as_str()) {
        let mut msg = format!(
            "effect `{}` is not one of NoSchedule, PreferNoSchedule, NoExecute or \"\" (all effects)",
            t.effect
        );
        if let Some(b) = did_you_mean(&t.effect, &EFFECTS) {
            msg.push_str(&format!(" (did you mean `{b}`?)"));
        }
        c.add(p.key("effect"), msg);
    }
    if t.operator == "Exists" && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
        c.add(
            p.key("value"),
            "a toleration with operator Exists takes no value; remove it or use operator Equal",
        );
    }
}

fn check_affinity(c: &mut Checker, p: &KeyPath, v: &serde_json::Value) {
    const KEYS: [&str; 6] = [
        "node_affinity",
        "pod_affinity",
        "pod_anti_affinity",
        "nodeAffinity",
        "podAffinity",
        "podAntiAffinity",
    ];
    let Some(map) = v.as_object() else {
        c.add(
            p.clone(),
            "expected a mapping with node_affinity, pod_affinity or pod_anti_affinity",
        );
        return;
    };
    for (k, val) in map {
        if !KEYS.contains(&k.as_str()) {
            let msg = match did_you_mean(k, &KEYS) {
                Some(b) => format!("unknown key `{k}`; did you mean `{b}`?"),
                None => format!(
                    "unknown key `{k}`; allowed here: node_affinity, pod_affinity, pod_anti_affinity"
                ),
            };
            c.add(p.key(k), msg);
        } else if !val.is_object() {
            c.add(
                p.key(k),
                "expected a mapping (the Kubernetes affinity object)",
            );
        }
    }
}

fn check_retry(c: &mut Checker, p: &KeyPath, map: &BTreeMap<String, Option<RetryPolicy>>) {
    let default = map.get(DEFAULT_KEY).cloned().flatten();
    for (node, policy) in map {
        let np = p.key(node);
        let Some(r) = policy else { continue };
        if let Some(d) = &r.backoff_duration {
            if !is_go_duration(d) {
                c.add(
                    np.key("backoff_duration"),
                    format!("`{d}` is not a duration; write e.g. 60s, 5m or 1h"),
                );
            }
        }
        if let Some(d) = &r.backoff_max_duration {
            if !is_go_duration(d) {
                c.add(
                    np.key("backoff_max_duration"),
                    format!("`{d}` is not a duration; write e.g. 60s, 5m or 1h"),
                );
            }
        }
        if let Some(f) = r.backoff_factor {
            if !(f >= 1.0 && f.is_finite()) {
                c.add(
                    np.key("backoff_factor"),
                    format!("backoff factor {f} must be 1 or more (1 keeps the delay constant)"),
                );
            }
        }
        // After filling from __default__, every field the retry strategy needs must be there.
        let d = default.as_ref();
        let missing: Vec<&str> = [
            (
                "num_retries",
                r.num_retries.is_none() && d.is_none_or(|d| d.num_retries.is_none()),
            ),
            (
                "backoff_duration",
                r.backoff_duration.is_none() && d.is_none_or(|d| d.backoff_duration.is_none()),
            ),
            (
                "backoff_factor",
                r.backoff_factor.is_none() && d.is_none_or(|d| d.backoff_factor.is_none()),
            ),
        ]
        .into_iter()
        .filter(|(_, m)| *m)
        .map(|(k, _)| k)
        .collect();
        if !missing.is_empty() {
            let where_ = if node == DEFAULT_KEY {
                "here".to_string()
            } else {
                format!("here or in {DEFAULT_KEY}")
            };
            c.add(
                np,
                format!("missing {} (set it {where_})", missing.join(", ")),
            );
        }
    }
}

fn check_extra_volume(c: &mut Checker, p: &KeyPath, v: &ExtraVolume) {
    if !v.mount_path.starts_with('/') {
        c.add(
            p.key("mount_path"),
            format!(
                "mount path `{}` must be absolute (start with /)",
                v.mount_path
            ),
        );
    }
    let vp = p.key("volume");
    let Some(m) = v.volume.as_object() else {
        c.add(
            vp,
            "expected a mapping: a Kubernetes volume with `name` and one source (e.g. empty_dir)",
        );
        return;
    };
    for k in m.keys() {
        if k != "name" && !VOLUME_SOURCES.contains(&k.as_str()) {
            let msg = match did_you_mean(k, &VOLUME_SOURCES) {
                Some(b) => format!("unknown volume source `{k}`; did you mean `{b}`?"),
                None => format!(
                    "unknown volume source `{k}`; use a Kubernetes volume source such as \
                     empty_dir, config_map, secret, persistent_volume_claim, host_path or nfs"
                ),
            };
            c.add(vp.key(k), msg);
            return;
        }
    }
    match m.get("name") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => {}
        _ => c.add(vp.clone(), "the volume needs a `name`"),
    }
    let sources = m.keys().filter(|k| *k != "name").count();
    if sources != 1 {
        c.add(
            vp,
            format!("a volume needs exactly one source (such as empty_dir or config_map), found {sources}"),
        );
    }
}

/// Kubernetes V1Volume sources, in kedro-kubeflow's snake_case and Kubernetes' camelCase.
const VOLUME_SOURCES: [&str; 45] = [
    "aws_elastic_block_store",
    "azure_disk",
    "azure_file",
    "cephfs",
    "cinder",
    "config_map",
    "csi",
    "downward_api",
    "empty_dir",
    "ephemeral",
    "fc",
    "flex_volume",
    "flocker",
    "gce_persistent_disk",
    "git_repo",
    "glusterfs",
    "host_path",
    "image",
    "iscsi",
    "nfs",
    "persistent_volume_claim",
    "photon_persistent_disk",
    "portworx_volume",
    "projected",
    "quobyte",
    "rbd",
    "scale_io",
    "secret",
    "storageos",
    "vsphere_volume",
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "configMap",
    "downwardAPI",
    "emptyDir",
    "flexVolume",
    "gcePersistentDisk",
    "gitRepo",
    "hostPath",
    "persistentVolumeClaim",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "vsphereVolume",
];

fn check_labels(c: &mut Checker, p: &KeyPath, labels: &BTreeMap<String, String>) {
    for (k, v) in labels {
        if !is_qualified_name(k) {
            c.add(
                p.key(k),
                format!("`{k}` is not a valid Kubernetes label key ([prefix/]name, name made of letters, digits, `-`, `_`, `.`, at most 63 characters)"),
            );
        } else if !is_label_value(v) {
            c.add(
                p.key(k),
                format!("`{v}` is not a valid Kubernetes label value (at most 63 letters, digits, `-`, `_`, `.`, starting and ending alphanumeric)"),
            );
        }
    }
}

fn check_schedule(c: &mut Checker, p: &KeyPath, s: &ScheduleConfig) {
    if !(1..=10).contains(&s.max_concurrency) {
        c.add(
            p.key("max_concurrency"),
            format!("{} is out of range: KFP allows 1 to 10", s.max_concurrency),
        );
    }
    let mut parsed = Vec::new();
    for (key, v) in [("start_time", &s.start_time), ("end_time", &s.end_time)] {
        if let Some(t) = v {
            match chrono::DateTime::parse_from_rfc3339(t) {
                Ok(d) => parsed.push(d),
                Err(_) => c.add(
                    p.key(key),
                    format!("`{t}` is not an RFC 3339 time; write e.g. 2026-01-31T06:00:00Z"),
                ),
            }
        }
    }
    if let (Some(a), Some(b), [x, y]) = (&s.start_time, &s.end_time, parsed.as_slice()) {
        if y <= x {
            c.add(
                p.key("end_time"),
                format!("end_time {b} is not after start_time {a}"),
            );
        }
    }
}

fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && is_label_value(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in [
            "500m", "2Gi", "1", "0.5", "1024Mi", "1e3", ".5", "2E", "100k",
        ] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["lots", "", "2GB", "1.2.3", "Gi", "5 Gi", "1e"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn iso_durations() {
        for ok in ["P0D", "PT1H", "P1DT2H", "P1Y2M3W4DT5H6M7.5S", "PT0S", "P7D"] {
            assert!(is_iso8601_duration(ok), "{ok}");
        }
        for bad in ["", "P", "PT", "1h", "P1H", "PT1D", "P1D2Y", "0D", "P1DT"] {
            assert!(!is_iso8601_duration(bad), "{bad}");
        }
    }

    #[test]
    fn go_durations() {
        for ok in ["60s", "5m", "1h", "1h30m", "500ms", "60", "1.5h"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "5 minutes", "m", "1d", "-5s", "s60"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }

    #[test]
    fn k8s_names() {
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(is_qualified_name("team"));
        assert!(!is_qualified_name("Bad Key"));
        assert!(is_label_value(""));
        assert!(!is_label_value("-x"));
        assert!(is_dns1123_subdomain("aws-secrets"));
        assert!(!is_dns1123_subdomain("AWS_secrets"));
        assert!(is_env_name("AWS_ACCESS_KEY_ID"));
        assert!(!is_env_name("1X"));
    }
}
