//! Printing server command results on stdout: a table (or `key: value` lines) for people,
//! JSON or YAML for programs. (Minimal, local to the server commands.)

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::{Error, Result};

/// Print `value` as JSON or YAML; `None` for the table format (the caller prints its own).
pub fn machine<T: Serialize>(format: OutputFormat, value: &T) -> Result<bool> {
    let text = match format {
        OutputFormat::Table => return Ok(false),
        OutputFormat::Json => serde_json::to_string_pretty(value)
            .map_err(|e| Error::Message(format!("cannot write JSON output: {e}")))?,
        OutputFormat::Yaml => serde_yaml::to_string(value)
            .map_err(|e| Error::Message(format!("cannot write YAML output: {e}")))?,
    };
    println!("{}", text.trim_end());
    Ok(true)
}

/// A plain table (no borders) with upper-case headers, as the kfp CLI prints.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    for r in rows {
        t.add_row(r);
    }
    t.to_string()
        .lines()
        .map(|l| l.trim_end().trim_start_matches(' ').to_string())
        .collect::<Vec<_>>()
        .join("\n")
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
    fn tables_have_headers_and_aligned_columns() {
        let t = table(
            &["name", "id"],
            vec![
                vec!["[a] x (env: local)".into(), "1".into()],
                vec!["b".into(), "22".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[0].starts_with("NAME"), "{t}");
        let col = lines[0].find("ID").unwrap();
        assert_eq!(lines[1].find('1'), Some(col), "{t}");
        assert_eq!(lines[2].find("22"), Some(col), "{t}");
    }

    #[test]
    fn fields_align_values() {
        let f = fields(&[("pipeline", "p".into()), ("id", "1".into())]);
        assert_eq!(f, "pipeline: p\nid:       1");
    }
}
