//! `kfpx config`: load the project's config for its env (base + overlay, placeholders filled,
//! defaults applied), validate it, and print it as YAML or JSON; with `-v`, each value carries a
//! comment saying where it came from; with `--check`, print nothing.

use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

use crate::cli::{ConfigArgs, ConfigFormat};
use crate::commands::Ctx;
use crate::config::{self, KeyPath, LoadedConfig, Origin};
use crate::error::{Error, Result};

pub fn run(ctx: &Ctx, args: ConfigArgs) -> Result<()> {
    let project = ctx.project()?;
    let loaded = config::load(&project)?;
    if args.check {
        return Ok(());
    }
    // A password in the host URL is shown as `***`.
    let mut shown = loaded.config.clone();
    shown.host = crate::redact::RedactedUrl::new(&shown.host).to_string();
    let text = match args.output {
        ConfigFormat::Json => {
            let mut s = serde_json::to_string_pretty(&shown)
                .map_err(|e| Error::Message(format!("cannot render the config as JSON: {e}")))?;
            s.push('\n');
            s
        }
        ConfigFormat::Yaml if ctx.global.verbose > 0 => {
            let files: Vec<String> = loaded
                .files
                .iter()
                .map(|f| {
                    f.strip_prefix(&project.root)
                        .unwrap_or(f)
                        .display()
                        .to_string()
                })
                .collect();
            let mut out = format!(
                "# kfpx effective config for env `{}` from {}\n",
                project.env,
                files.join(" + ")
            );
            // In comments, files are named relative to the project root.
            let names: Vec<(String, String)> = loaded
                .files
                .iter()
                .zip(&files)
                .map(|(f, short)| (config::display_path(f), short.clone()))
                .collect();
            out.push_str(&annotated_yaml(&loaded, &names)?);
            out
        }
        ConfigFormat::Yaml => serde_yaml::to_string(&shown)
            .map_err(|e| Error::Message(format!("cannot render the config as YAML: {e}")))?,
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("write", "standard output", e))
        }
        _ => Ok(()),
    }
}

/// The effective config as block YAML with `# <origin>` after every value.
/// `names` renames files in the comments (shown name → wanted name).
pub fn annotated_yaml(loaded: &LoadedConfig, names: &[(String, String)]) -> Result<String> {
    let mut value = serde_json::to_value(&loaded.config)
        .map_err(|e| Error::Message(format!("cannot render the config: {e}")))?;
    if let Some(host) = value.get_mut("host") {
        if let Some(raw) = host.as_str() {
            *host = Value::String(crate::redact::RedactedUrl::new(raw).to_string());
        }
    }
    let mut lines = Vec::new();
    let cx = Cx { loaded, names };
    emit_map(&value, &KeyPath::root(), 0, &cx, &mut lines);
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) if s.contains('\n') => serde_json::to_string(s).unwrap_or_default(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default(),
    }
}

fn is_leaf(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    }
}

struct Cx<'a> {
    loaded: &'a LoadedConfig,
    names: &'a [(String, String)],
}

fn comment(cx: &Cx, path: &KeyPath) -> String {
    let mut origin = cx.loaded.origin(path);
    if let Origin::File { loc, .. } = &mut origin {
        if let Some((_, short)) = cx.names.iter().find(|(shown, _)| **shown == *loc.file) {
            loc.file = Arc::from(short.as_str());
        }
    }
    format!("  # {origin}")
}

fn emit_map(v: &Value, path: &KeyPath, indent: usize, cx: &Cx, out: &mut Vec<String>) {
    let Value::Object(map) = v else { return };
    let pad = " ".repeat(indent);
    for (k, child) in map {
        let p = path.key(k);
        let key = scalar(&Value::String(k.clone()));
        if is_leaf(child) {
            out.push(format!("{pad}{key}: {}{}", scalar(child), comment(cx, &p)));
        } else {
            out.push(format!("{pad}{key}:{}", comment(cx, &p)));
            emit_value(child, &p, indent + 2, cx, out);
        }
    }
}

fn emit_value(v: &Value, path: &KeyPath, indent: usize, cx: &Cx, out: &mut Vec<String>) {
    match v {
        Value::Object(_) => emit_map(v, path, indent, cx, out),
        Value::Array(items) => {
            let pad = " ".repeat(indent);
            for (i, item) in items.iter().enumerate() {
                let p = path.index(i);
                if is_leaf(item) {
                    out.push(format!("{pad}- {}{}", scalar(item), comment(cx, &p)));
                } else {
                    let start = out.len();
                    emit_value(item, &p, indent + 2, cx, out);
                    if let Some(first) = out.get_mut(start) {
                        *first = format!("{pad}- {}", &first[indent + 2..]);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_sources, Lookup, SourceText};

    #[test]
    fn annotated_yaml_parses_back_to_the_same_config_and_names_origins() {
        let base = "host: https://kfp.example.com\nrun_config:\n  image: \"img:${commit_id|dirty}\"\n  experiment_name: e\n  run_name: r\n  tolerations:\n    __default__: [{key: a, operator: Equal, value: b, effect: NoSchedule}]\n  description: \"two\\nlines\"\n";
        let over = "run_config:\n  ttl: 60\n";
        let env = |k: &str| (k == "KEDRO_CONFIG_COMMIT_ID").then(|| "abc".to_string());
        let git = |_: &str| None;
        let files = [
            SourceText {
                name: "conf/base/kubeflow.yaml".into(),
                text: base.into(),
            },
            SourceText {
                name: "conf/prod/kubeflow.yaml".into(),
                text: over.into(),
            },
        ];
        let (config, tree) = load_sources(
            &files,
            &Lookup {
                env: &env,
                git: &git,
            },
        )
        .unwrap();
        let loaded = LoadedConfig {
            config,
            files: vec![],
            tree,
        };
        let text = annotated_yaml(&loaded, &[]).unwrap();
        // valid YAML meaning the same config
        let back: crate::config::Config = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, loaded.config);
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(needle))
                .unwrap_or_else(|| panic!("no line {needle} in\n{text}"))
                .to_string()
        };
        assert!(
            line("image:").ends_with("# conf/base/kubeflow.yaml:3 (env KEDRO_CONFIG_COMMIT_ID)")
        );
        assert!(line("ttl:").ends_with("# conf/prod/kubeflow.yaml:2"));
        assert!(line("image_pull_policy:").ends_with("# default"));
        assert!(line("- key: a").ends_with("# conf/base/kubeflow.yaml:7"));
    }
}
