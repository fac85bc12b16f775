//! Fast YAML writer for compiled documents, byte-identical to `serde_yaml::to_string`.
//!
//! serde_yaml drives libyaml's emitter one character at a time, which was ~70% of a 10,000-node
//! compile. The documents are block mappings and sequences whose scalars are mostly simple
//! names, so this writer lays out the block structure itself (libyaml's rules: two-space indent,
//! sequences inside mappings not indented, a mapping in a sequence item starts on the `- ` line)
//! and writes "easy" strings (a name that YAML cannot read as anything but a string) directly.
//! Every other scalar is rendered by serde_yaml on its own and placed into the layout when that
//! cannot change its text (single line that fits in libyaml's 80 columns, or a literal block
//! re-indented); anything else makes the whole document go through serde_yaml. In debug builds
//! every result is compared with serde_yaml's.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// libyaml folds scalars at spaces past this column.
const BEST_WIDTH: usize = 80;

/// The document as `serde_yaml::to_string(v)` writes it.
#[cfg(test)]
pub fn to_string(v: &Value) -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    append(&mut out, v)?;
    Ok(out)
}

/// Append the document as `serde_yaml::to_string(v)` writes it to `out` (no second copy of a
/// document of tens of megabytes).
pub fn append(out: &mut String, v: &Value) -> Result<(), serde_yaml::Error> {
    let start = out.len();
    let done = match v {
        Value::Object(m) if !m.is_empty() => {
            let mut w = Writer {
                out,
                cache: HashMap::new(),
            };
            w.map(m, 0, false).is_some()
        }
        _ => false,
    };
    if done {
        #[cfg(debug_assertions)]
        {
            let reference = serde_yaml::to_string(v)?;
            debug_assert!(
                out[start..] == reference,
                "fast YAML differs from serde_yaml"
            );
        }
    } else {
        out.truncate(start);
        out.push_str(&serde_yaml::to_string(v)?);
    }
    Ok(())
}

/// The document by the fast writer, or None when it must go through serde_yaml.
#[cfg(test)]
fn fast(v: &Value) -> Option<String> {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => Writer {
            out: &mut out,
            cache: HashMap::new(),
        }
        .map(m, 0, false)
        .map(|()| out),
        _ => None,
    }
}

struct Writer<'a> {
    out: &'a mut String,
    /// serde_yaml's one-line text of strings seen before (placeholders repeat in every task).
    cache: HashMap<String, String>,
}

/// Bytes of an `easy` name: ASCII letters, digits, `_ . - /` (a table: this runs for every key
/// and name of the document).
static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/');
        c += 1;
    }
    t
};

/// A string libyaml writes plain and serde_yaml does not quote: a name starting with a letter
/// or `_`, made of letters, digits and `_ . - /`, not a YAML 1.1/1.2 keyword or float word.
fn easy(s: &str) -> bool {
    let b = s.as_bytes();
    // `-c` and the like: a dash then a letter is neither an indicator nor a number.
    let word = match b {
        [b'-', c, ..] if c.is_ascii_alphabetic() => &s[1..],
        _ => s,
    };
    let w = word.as_bytes();
    if w.is_empty() || b.len() > 100 || !(w[0].is_ascii_alphabetic() || w[0] == b'_') {
        return false;
    }
    if !b.iter().all(|&c| NAME_BYTE[c as usize]) {
        return false;
    }
    if w.len() <= 8 {
        // Lower-cased on the stack: this runs for every key and name of the document.
        let mut buf = [0u8; 8];
        let l = &mut buf[..w.len()];
        l.copy_from_slice(w);
        l.make_ascii_lowercase();
        if matches!(
            &*l,
            b"true"
                | b"false"
                | b"null"
                | b"yes"
                | b"no"
                | b"on"
                | b"off"
                | b"y"
                | b"n"
                | b"inf"
                | b"infinity"
                | b"nan"
        ) {
            return false;
        }
    }
    true
}

/// A multi-line string libyaml writes as a `|-` literal block with no indentation indicator:
/// printable ASCII lines, no empty line, no line ending with a space, no final line break, and
/// a first line that does not start with a space (libyaml's `yaml_emitter_write_block_scalar_hints`
/// adds an indentation indicator only for that; a later line starting with spaces, such as
/// indented Python, rules out plain and single-quoted styles but not the block).
fn simple_literal(s: &str) -> bool {
    s.contains('\n')
        && !s.ends_with('\n')
        && !s.starts_with(' ')
        && s.split('\n').all(|l| {
            !l.is_empty() && !l.ends_with(' ') && l.bytes().all(|c| (0x20..0x7f).contains(&c))
        })
}

fn non_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

impl Writer<'_> {
    fn indent(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    /// A block mapping at `indent`; its first key already positioned when `inline`.
    fn map(&mut self, m: &Map<String, Value>, indent: usize, inline: bool) -> Option<()> {
        for (i, (k, v)) in m.iter().enumerate() {
            if !easy(k) {
                return None;
            }
            if i > 0 || !inline {
                self.indent(indent);
            }
            self.out.push_str(k);
            match v {
                Value::Object(o) if !o.is_empty() => {
                    self.out.push_str(":\n");
                    self.map(o, indent + 2, false)?;
                }
                Value::Array(a) if !a.is_empty() => {
                    self.out.push_str(":\n");
                    self.seq(a, indent)?;
                }
                _ => {
                    self.out.push_str(": ");
                    self.scalar(v, indent + k.len() + 2, indent + 2)?;
                }
            }
        }
        Some(())
    }

    /// A block sequence whose `- ` is at `indent`.
    fn seq(&mut self, a: &[Value], indent: usize) -> Option<()> {
        for v in a {
            self.indent(indent);
            self.out.push_str("- ");
            match v {
                Value::Object(o) if !o.is_empty() => self.map(o, indent + 2, true)?,
                Value::Array(x) if !x.is_empty() => return None,
                _ => self.scalar(v, indent + 2, indent + 2)?,
            }
        }
        Some(())
    }

    /// A scalar (or empty container) starting at column `col`; block scalar content at `block`.
    fn scalar(&mut self, v: &Value, col: usize, block: usize) -> Option<()> {
        if let Value::String(s) = v {
            if easy(s) {
                self.out.push_str(s);
                self.out.push('\n');
                return Some(());
            }
        }
        if let Value::String(s) = v {
            if simple_literal(s) {
                self.out.push_str("|-\n");
                for line in s.split('\n') {
                    self.indent(block);
                    self.out.push_str(line);
                    self.out.push('\n');
                }
                return Some(());
            }
        }
        debug_assert!(!non_empty_container(v));
        if let Value::String(s) = v {
            if let Some(body) = self.cache.get(s.as_str()) {
                if body.contains(' ') && col + body.len() > BEST_WIDTH {
                    return None;
                }
                self.out.push_str(body);
                self.out.push('\n');
                return Some(());
            }
        }
        let iso = serde_yaml::to_string(v).ok()?;
        let body = iso.strip_suffix('\n')?;
        if !body.contains('\n') {
            // One line: libyaml only breaks lines at spaces past column 80.
            if body.starts_with(['|', '>'])
                || body.starts_with("---")
                || body.starts_with("...")
                || (body.contains(' ') && col + body.len() > BEST_WIDTH)
            {
                return None;
            }
            self.out.push_str(body);
            self.out.push('\n');
            if let Value::String(s) = v {
                self.cache.insert(s.clone(), body.to_string());
            }
            return Some(());
        }
        // A block scalar: header line, then content lines indented by `d` (or empty).
        let (header, content) = body.split_once('\n')?;
        if !(header == "|" || header == "|-" || header == "|+") {
            return None;
        }
        let d = content
            .lines()
            .find(|l| !l.is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())?;
        if d == 0 {
            return None;
        }
        let pad = " ".repeat(d);
        self.out.push_str(header);
        self.out.push('\n');
        for line in content.split('\n') {
            if line.is_empty() {
                self.out.push('\n');
                continue;
            }
            let rest = line.strip_prefix(pad.as_str())?;
            if rest == "..." || rest.starts_with("... ") {
                return None;
            }
            self.indent(block);
            self.out.push_str(rest);
            self.out.push('\n');
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fast writer handles `v` (no fallback) and writes serde_yaml's bytes.
    fn same(v: Value) {
        let f = fast(&v).expect("fast path taken");
        assert_eq!(f, serde_yaml::to_string(&v).unwrap());
    }

    /// Whatever path `v` takes, the bytes are serde_yaml's; returns whether it was fast.
    fn same_either_way(v: Value) -> bool {
        assert_eq!(to_string(&v).unwrap(), serde_yaml::to_string(&v).unwrap());
        fast(&v).is_some()
    }

    #[test]
    fn matches_serde_yaml_on_awkward_scalars_and_nesting() {
        let scalars = json!(["x", "true", "null", "1", "1.5", "0x1f", ".inf", "y", "", " lead",
            "trail ", "a: b", "a #b", "-x", "-c", "it's", "say \"hi\"",
            "{{$.inputs.parameters['m']}}", "multi\nline", "multi\nline\n",
            "multi\n\n  indented\nend", " lead\nx", "a\n b", "a \nb", "-inf", "-Nan", "-1", "-.5",
            "-", "- x", "-x y", "a\n\tb", "a\n#b", "a\n- b", "a\n'b'\n\"c\"", "a\n...\nb", "a\n---\nb", "a\n b\n  c", "def f():\n return 1\nf()", "x\n   \ny", "x\n ...\n ---", "x\n b ", "x\n  #c\n- d", "tab\there", "ünï", "---", "...", 1, -2, 2.5,
            1e300, true, null, {}, [], "a b c",
            "long words long words long words long words long words long words long words long words"]);
        for s in scalars.as_array().unwrap() {
            for v in [
                json!({"k": s}),
                json!({"in_seq": [s, s]}),
                json!({"deeper": {"seq_map": [{"k": s, "j": s}]}}),
            ] {
                same_either_way(v);
            }
        }
        // The shapes compiled documents have take the fast path.
        same(json!({
            "k": ["x", "-c", "a\n#b\n- c: d\n'q' \"r\" {x}",  "{{$.inputs.parameters['m']}}", "multi\nline", 1, true, null, {}, []],
            "nested": {"m": {"deep": [{"a": "b", "c": ["d", {"e": "f"}]}, {"x": {"z": [1, 2]}}]}},
            "_under": "__default__",
            "empty": {},
            "emptylist": [],
            "script": "export A=\"$1\" && python -c 'import sys\nprint(1)\n' \"$@\"",
            // Indented lines after the first (the parameter dumpers' Python).
            "dumper": format!("python -c '{}' \"$@\" && kedro run", crate::compile::model::EXIT_DUMPER),
            "deep": [{"x": ["a\n b\n  c"]}],
        }));
        // A sequence directly in a sequence is left to serde_yaml.
        assert!(!same_either_way(json!({"a": [[1, 2]]})));
        // A long line with spaces might be folded: left to serde_yaml.
        assert!(!same_either_way(json!({"a": "word ".repeat(20).trim()})));
    }
}
