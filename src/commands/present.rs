//! Printing command results: JSON or YAML for programs (through `crate::output`), and
//! aligned `key: value` lines for people.

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::Result;
use crate::output;

/// Print `value` as JSON or YAML and return `true`; `false` for the table format (the caller
/// prints its human form).
pub fn machine<T: Serialize>(format: OutputFormat, value: &T) -> Result<bool> {
    match format {
        OutputFormat::Table | OutputFormat::Wide => Ok(false),
        OutputFormat::Json => output::print_json(value).map(|()| true),
        OutputFormat::Yaml => output::print_yaml(value).map(|()| true),
    }
}

/// Aligned `key: value` lines.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    pairs
        .iter()
        .map(|(k, v)| format!("{:<width$} {v}", format!("{k}:")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_align_values() {
        let f = fields(&[("pipeline", "p".into()), ("id", "1".into())]);
        assert_eq!(f, "pipeline: p\nid:       1");
    }
}
