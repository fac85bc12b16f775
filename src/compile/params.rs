//! `--param` parsing shared by compile, run-once and schedule: `key=value` or kedro-kubeflow's
//! `key:value`, values typed as YAML scalars or JSON (number, bool, list, object).

use std::collections::BTreeMap;

use crate::compile::CompileError;

/// Parse raw `--param` strings. `known` are the pipeline's parameter names; an unknown name is
/// an error that lists them.
pub fn parse_params(
    raw: &[String],
    known: &[String],
) -> Result<BTreeMap<String, serde_json::Value>, CompileError> {
    let _ = (raw, known);
    Err(CompileError::Invalid("--param is not available yet".into()))
}
