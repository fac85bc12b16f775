//! Checks beyond types (quantities and durations are parsed when typed, `units.rs`): URLs,
//! Kubernetes names, tolerations, retry policies, schedule times. Pure: returns
//! problems as (key path, message); the loader turns the path into file:line:column. The
//! compiler runs the same checks (`compile::model::build`): there is no second validator.

use std::collections::BTreeMap;

use super::schema::*;
use super::tree::KeyPath;
use crate::text::did_you_mean;

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
    } else if let Some(bad) = rc
        .image
        .chars()
        .find(|ch| ch.is_whitespace() || ch.is_control())
    {
        // a reference is [host[:port]/]path[:tag][@digest] (distribution/reference's grammar):
        // no whitespace or control characters anywhere
        c.add(
            p.key("image"),
            format!(
                "the image `{}` holds {bad:?}, which no image reference can contain",
                rc.image.escape_debug()
            ),
        );
    }
    if rc.experiment_name.trim().is_empty() {
        c.add(p.key("experiment_name"), "the experiment name is empty");
    }
    check_format_template(&mut c, &p.key("run_name"), &rc.run_name);
    if let Some(s) = &rc.scheduled_run_name {
        check_format_template(&mut c, &p.key("scheduled_run_name"), s);
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
    const MODES: [&str; 4] = [
        "ReadWriteOnce",
        "ReadOnlyMany",
        "ReadWriteMany",
        "ReadWriteOncePod",
    ];
    for (i, m) in v.access_modes.iter().enumerate() {
        if !MODES.contains(&m.as_str()) {
            let mut msg = format!("`{m}` is not one of {}", MODES.join(", "));
            if let Some(b) = did_you_mean(m, MODES) {
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

fn check_toleration(c: &mut Checker, p: &KeyPath, t: &Toleration) {
    if t.operator == TolerationOperator::Exists && t.value.as_deref().is_some_and(|v| !v.is_empty())
    {
        c.add(
            p.key("value"),
            "a toleration with operator Exists takes no value; remove it or use operator Equal",
        );
    }
    // Kubernetes' ValidateTolerations (pkg/apis/core/validation/validation.go)
    if t.key.is_empty() && t.operator != TolerationOperator::Exists {
        c.add(
            p.key("operator"),
            "an empty key matches every taint only with operator Exists; give a key or use Exists",
        );
    }
}

fn check_affinity(c: &mut Checker, p: &KeyPath, v: &serde_json::Value) {
    if let Err(problems) = super::affinity::to_kubernetes(v) {
        for pr in problems {
            let mut path = p.clone();
            path.0.extend(pr.path.0);
            c.add(path, pr.msg);
        }
    }
}

fn check_retry(c: &mut Checker, p: &KeyPath, map: &BTreeMap<String, Option<RetryPolicy>>) {
    let default = map.get(DEFAULT_KEY).cloned().flatten();
    for (node, policy) in map {
        let np = p.key(node);
        let Some(r) = policy else { continue };
        if let Some(d) = &r.backoff_max_duration {
            // Argo and the KFP v2 driver measure it from the first attempt
            if d.seconds < 1.0 {
                c.add(
                    np.key("backoff_max_duration"),
                    format!("`{d}` closes the retry window before the first retry (it is measured from the first attempt); write e.g. 1h, or remove it for the default 1h"),
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
            let msg = match did_you_mean(k, VOLUME_SOURCES) {
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
    for (k, source) in m {
        if k != "name" {
            check_cls(c, &vp.key(k), source, Some(k));
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

/// kedro-kubeflow's `{cls: V1…, params: {…}}` form builds `kubernetes.client.<cls>(**params)`,
/// so an unknown class fails there; here it is refused with its place. Under a volume source
/// key the class must be that source's (`empty_dir` → `V1EmptyDirVolumeSource`).
fn check_cls(c: &mut Checker, p: &KeyPath, v: &serde_json::Value, source: Option<&str>) {
    match v {
        serde_json::Value::Array(items) => {
            for (i, it) in items.iter().enumerate() {
                check_cls(c, &p.index(i), it, None);
            }
        }
        serde_json::Value::Object(m) => {
            if let Some(cls) = m.get("cls") {
                let Some(name) = cls.as_str() else {
                    c.add(
                        p.key("cls"),
                        "`cls` must be a class name like V1EmptyDirVolumeSource",
                    );
                    return;
                };
                let short = name.rsplit('.').next().unwrap_or(name);
                let expected = source.and_then(source_class);
                match expected {
                    Some(e) if short != e => {
                        c.add(
                            p.key("cls"),
                            format!("class `{name}` does not build this volume source; use `{e}`"),
                        );
                        return;
                    }
                    Some(_) => {}
                    None if !VOLUME_CLASSES.contains(&short) => {
                        let msg = match did_you_mean(short, VOLUME_CLASSES) {
                            Some(b) => format!("unknown class `{name}`; did you mean `{b}`?"),
                            None => format!(
                                "unknown class `{name}`; use a kubernetes.client volume class such as V1KeyToPath"
                            ),
                        };
                        c.add(p.key("cls"), msg);
                        return;
                    }
                    None => {}
                }
                for k in m.keys() {
                    if k != "cls" && k != "params" {
                        c.add(
                            p.key(k),
                            format!(
                                "unknown key `{k}` beside `cls`; put the values under `params`"
                            ),
                        );
                        return;
                    }
                }
                if let Some(params) = m.get("params") {
                    check_cls(c, &p.key("params"), params, None);
                }
            } else {
                for (k, v) in m {
                    check_cls(c, &p.key(k), v, None);
                }
            }
        }
        _ => {}
    }
}

/// The kubernetes.client class of a volume source key.
fn source_class(key: &str) -> Option<&'static str> {
    let i = VOLUME_SOURCES.iter().position(|s| *s == key)?;
    // the camelCase names follow the 30 snake_case ones, in their own order
    let snake = if i < 30 {
        VOLUME_SOURCES[i]
    } else {
        let camel = VOLUME_SOURCES[i];
        VOLUME_SOURCES[..30]
            .iter()
            .find(|s| s.replace('_', "").eq_ignore_ascii_case(camel))?
    };
    SOURCE_CLASSES
        .iter()
        .find(|(k, _)| *k == snake)
        .map(|(_, c)| *c)
}

/// Volume source key → class (kubernetes-client/python `kubernetes/client/models/v1_volume.py`).
const SOURCE_CLASSES: [(&str, &str); 30] = [
    (
        "aws_elastic_block_store",
        "V1AWSElasticBlockStoreVolumeSource",
    ),
    ("azure_disk", "V1AzureDiskVolumeSource"),
    ("azure_file", "V1AzureFileVolumeSource"),
    ("cephfs", "V1CephFSVolumeSource"),
    ("cinder", "V1CinderVolumeSource"),
    ("config_map", "V1ConfigMapVolumeSource"),
    ("csi", "V1CSIVolumeSource"),
    ("downward_api", "V1DownwardAPIVolumeSource"),
    ("empty_dir", "V1EmptyDirVolumeSource"),
    ("ephemeral", "V1EphemeralVolumeSource"),
    ("fc", "V1FCVolumeSource"),
    ("flex_volume", "V1FlexVolumeSource"),
    ("flocker", "V1FlockerVolumeSource"),
    ("gce_persistent_disk", "V1GCEPersistentDiskVolumeSource"),
    ("git_repo", "V1GitRepoVolumeSource"),
    ("glusterfs", "V1GlusterfsVolumeSource"),
    ("host_path", "V1HostPathVolumeSource"),
    ("image", "V1ImageVolumeSource"),
    ("iscsi", "V1ISCSIVolumeSource"),
    ("nfs", "V1NFSVolumeSource"),
    (
        "persistent_volume_claim",
        "V1PersistentVolumeClaimVolumeSource",
    ),
    (
        "photon_persistent_disk",
        "V1PhotonPersistentDiskVolumeSource",
    ),
    ("portworx_volume", "V1PortworxVolumeSource"),
    ("projected", "V1ProjectedVolumeSource"),
    ("quobyte", "V1QuobyteVolumeSource"),
    ("rbd", "V1RBDVolumeSource"),
    ("scale_io", "V1ScaleIOVolumeSource"),
    ("secret", "V1SecretVolumeSource"),
    ("storageos", "V1StorageOSVolumeSource"),
    ("vsphere_volume", "V1VsphereVirtualDiskVolumeSource"),
];

/// Classes that appear inside volume sources.
const VOLUME_CLASSES: [&str; 18] = [
    "V1KeyToPath",
    "V1DownwardAPIVolumeFile",
    "V1ObjectFieldSelector",
    "V1ResourceFieldSelector",
    "V1VolumeProjection",
    "V1ConfigMapProjection",
    "V1SecretProjection",
    "V1DownwardAPIProjection",
    "V1ServiceAccountTokenProjection",
    "V1ClusterTrustBundleProjection",
    "V1PersistentVolumeClaimTemplate",
    "V1PersistentVolumeClaimSpec",
    "V1ObjectMeta",
    "V1LocalObjectReference",
    "V1SecretReference",
    "V1LabelSelector",
    "V1VolumeResourceRequirements",
    "V1TypedLocalObjectReference",
];

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
    if let (Some(a), Some(b)) = (&s.start_time, &s.end_time) {
        if b.utc <= a.utc {
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
