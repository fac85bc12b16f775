//! A pipeline document read from a file (`upload-pipeline --file`, `run-once --file`): which
//! format it is, and the checks the API server makes before accepting it, so a file the server
//! would refuse is refused here with the reason, before anything is created.
//!
//! The server's checks (kubeflow/pipelines backend/src/apiserver/template/template.go,
//! `template.New` → `inferTemplateFormat`): an Argo Workflow has `apiVersion: argoproj.io/…`
//! and `kind: Workflow` (`isArgoWorkflow`; argo_template.go then needs a workflow to run: an
//! entrypoint and templates); a KFP v2 document is a PipelineSpec with a non-empty
//! `pipelineInfo.name` and a `root` (`isPipelineSpec`), which v2_template.go lets be followed by
//! one PlatformSpec; anything else is "unknown template format". kfpx reads at most 32 MiB
//! (its own bound on outside input; compiled documents are far smaller).

use serde_json::Value;

use crate::config::KfpVersion;

/// The largest file kfpx reads as a pipeline document.
pub const MAX_FILE_BYTES: usize = 32 << 20;

/// A checked document: its API version, its parts as run bodies send them, its parameters.
#[derive(Debug, Clone)]
pub struct Document {
    pub kfp_version: KfpVersion,
    /// v2: the PipelineSpec; v1: the Workflow.
    pub pipeline_spec: Value,
    /// v2: the PlatformSpec, when the file has one.
    pub platform_spec: Option<Value>,
    /// Pipeline parameters and their defaults (`null`: required).
    pub parameters: Vec<(String, Value)>,
}

/// Detect and check `text` (a file's contents).
pub fn parse(text: &str) -> Result<Document, String> {
    use serde::Deserialize;
    if text.len() > MAX_FILE_BYTES {
        return Err(format!(
            "it is {} bytes; kfpx reads pipeline files up to {MAX_FILE_BYTES} bytes (32 MiB)",
            text.len()
        ));
    }
    let mut docs = Vec::new();
    for d in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(d).map_err(|e| format!("it is not valid YAML: {e}"))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    let first = docs.first().ok_or("it holds no YAML document")?;
    let is_argo = first.get("kind").and_then(Value::as_str) == Some("Workflow")
        && first
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("argoproj.io/"));
    if is_argo {
        if docs.len() > 1 {
            return Err("an Argo Workflow file must hold one document, it holds more".into());
        }
        let spec = first.get("spec").unwrap_or(&Value::Null);
        if spec
            .get("entrypoint")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err("the Argo Workflow has no spec.entrypoint".into());
        }
        if spec
            .get("templates")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            return Err("the Argo Workflow has no spec.templates".into());
        }
        let parameters = spec
            .pointer("/arguments/parameters")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| {
                        let name = p.get("name")?.as_str()?.to_string();
                        Some((name, p.get("value").cloned().unwrap_or(Value::Null)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Document {
            kfp_version: KfpVersion::V1,
            pipeline_spec: first.clone(),
            platform_spec: None,
            parameters,
        });
    }
    if first.get("kind").is_some() && first.get("root").is_none() {
        return Err(format!(
            "a {} document is neither a KFP v2 pipeline nor an Argo Workflow",
            first["kind"]
        ));
    }
    let name = first
        .pointer("/pipelineInfo/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if first.get("root").is_none() || first.get("pipelineInfo").is_none() {
        return Err(
            "it is neither a KFP v2 pipeline (pipelineInfo, root) nor an Argo Workflow \
             (apiVersion argoproj.io/…, kind Workflow)"
                .into(),
        );
    }
    if name.is_empty() {
        return Err("the KFP v2 pipeline has no pipelineInfo.name".into());
    }
    let platform_spec =
        match docs.get(1) {
            None => None,
            Some(p) if docs.len() == 2 && p.get("platforms").is_some_and(Value::is_object) => {
                Some(p.clone())
            }
            Some(_) => return Err(
                "after the PipelineSpec a KFP v2 file may hold one PlatformSpec (`platforms:`) \
                 and nothing else"
                    .into(),
            ),
        };
    Ok(Document {
        kfp_version: KfpVersion::V2,
        parameters: crate::kfp::v2::ir_parameters(first),
        pipeline_spec: first.clone(),
        platform_spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IR: &str = "pipelineInfo: {name: p}\nschemaVersion: 2.1.0\nroot:\n  inputDefinitions:\n    parameters:\n      x: {parameterType: STRING, defaultValue: a}\n  dag: {tasks: {}}\n";

    #[test]
    fn formats_are_detected_with_their_parameters() {
        let d = parse(IR).unwrap();
        assert_eq!(d.kfp_version, KfpVersion::V2);
        assert_eq!(d.parameters, vec![("x".to_string(), Value::from("a"))]);
        let with_platform = format!("{IR}---\nplatforms: {{kubernetes: {{}}}}\n");
        assert!(parse(&with_platform).unwrap().platform_spec.is_some());
        let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  entrypoint: m\n  arguments: {parameters: [{name: r, value: '0.5'}]}\n  templates: [{name: m}]\n";
        let d = parse(argo).unwrap();
        assert_eq!(d.kfp_version, KfpVersion::V1);
        assert_eq!(d.parameters, vec![("r".to_string(), Value::from("0.5"))]);
    }

    #[test]
    fn what_the_server_refuses_is_refused() {
        for (text, why) in [
            ("", "no YAML document"),
            ("a: [", "not valid YAML"),
            ("kind: ConfigMap\napiVersion: v1\n", "neither"),
            ("foo: 1\n", "neither"),
            (
                "pipelineInfo: {}\nschemaVersion: 2.1.0\nroot: {}\n",
                "pipelineInfo.name",
            ),
            (
                "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {templates: [{name: m}]}\n",
                "entrypoint",
            ),
            (
                "pipelineInfo: {name: p}\nschemaVersion: 2.1.0\nroot: {}\n---\na: 1\n",
                "PlatformSpec",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
