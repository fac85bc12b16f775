//! A serde `Deserializer` over the located YAML tree. Scalars are typed by what the target asks
//! for (as pydantic did: `cpu: 8` is fine for a string, `ttl: "300"` for an integer), unknown
//! keys of structs are rejected with a did-you-mean, and every error carries the position and
//! key path of the node it is about.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::tree::{KeyPath, Kind, Loc, Node, Scalar};
use crate::text::did_you_mean;

/// A typing error, located once it has bubbled up to the node it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub msg: String,
    pub at: Option<(Loc, KeyPath)>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some((loc, path)) => write!(f, "{loc}: {path}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            msg: msg.to_string(),
            at: None,
        }
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, found {}", describe(unexp)))
    }

    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, found {}", describe(unexp)))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::custom(format_args!("missing required key `{field}`"))
    }
}

fn describe(u: de::Unexpected) -> String {
    match u {
        de::Unexpected::Str(s) => format!("`{s}`"),
        de::Unexpected::Unit => "nothing (null)".into(),
        de::Unexpected::Map => "a mapping".into(),
        de::Unexpected::Seq => "a list".into(),
        other => other.to_string(),
    }
}

/// Deserialize `T` from the tree, reporting the first error with its position.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    let de = NodeDe {
        node,
        path: KeyPath::root(),
        key_loc: None,
    };
    let r = T::deserialize(de);
    locate(r, node, &KeyPath::root(), None)
}

fn locate<T>(
    r: Result<T, DeError>,
    node: &Node,
    path: &KeyPath,
    key_loc: Option<&Loc>,
) -> Result<T, DeError> {
    r.map_err(|mut e| {
        if e.at.is_none() {
            let loc = match (&node.kind, key_loc) {
                (Kind::Map(_) | Kind::Seq(_), Some(k)) => k.clone(),
                _ => node.loc.clone(),
            };
            e.at = Some((loc, path.clone()));
        }
        e
    })
}

#[derive(Clone)]
pub struct NodeDe<'a> {
    node: &'a Node,
    path: KeyPath,
    /// The key naming this node in its parent (a better place to point for maps and lists).
    key_loc: Option<Loc>,
}

impl<'a> NodeDe<'a> {
    fn err(&self, msg: impl fmt::Display) -> DeError {
        let loc = match (&self.node.kind, &self.key_loc) {
            (Kind::Map(_) | Kind::Seq(_), Some(k)) => k.clone(),
            _ => self.node.loc.clone(),
        };
        DeError {
            msg: msg.to_string(),
            at: Some((loc, self.path.clone())),
        }
    }

    fn scalar(&self, expected: &str) -> Result<&'a Scalar, DeError> {
        match &self.node.kind {
            Kind::Scalar(s) if !s.is_null() => Ok(s),
            Kind::Scalar(_) => Err(self.err(format_args!(
                "expected {expected}, found nothing (null); give a value or remove the key"
            ))),
            Kind::Map(_) => Err(self.err(format_args!("expected {expected}, found a mapping"))),
            Kind::Seq(_) => Err(self.err(format_args!("expected {expected}, found a list"))),
        }
    }

    fn is_null(&self) -> bool {
        matches!(&self.node.kind, Kind::Scalar(s) if s.is_null())
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// YAML core-schema resolution of a plain scalar, for targets that accept anything.
enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
}

fn resolve(s: &Scalar) -> Resolved<'_> {
    if !s.plain {
        return Resolved::Str(&s.text);
    }
    if s.is_null() {
        return Resolved::Null;
    }
    let t = s.text.as_str();
    match t {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    // YAML 1.1 octal (`0644`, as PyYAML and so kedro-kubeflow read it), 1.2 `0o644`, hex `0x1F`
    let radix = if let Some(o) = t.strip_prefix("0o") {
        Some((o, 8))
    } else if let Some(h) = t.strip_prefix("0x") {
        Some((h, 16))
    } else if t.len() > 1 && t.starts_with('0') && t.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        Some((&t[1..], 8))
    } else {
        None
    };
    if let Some((digits, radix)) = radix {
        if let Ok(i) = i64::from_str_radix(digits, radix) {
            return Resolved::Int(i);
        }
    }
    let numeric = t
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == '.');
    if numeric {
        if let Ok(i) = t.parse::<i64>() {
            return Resolved::Int(i);
        }
        if let Ok(u) = t.parse::<u64>() {
            return Resolved::UInt(u);
        }
        let looks_float = t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            && t.chars().any(|c| c.is_ascii_digit());
        if looks_float {
            if let Ok(f) = t.parse::<f64>() {
                return Resolved::Float(f);
            }
        }
    }
    Resolved::Str(t)
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty, $what:expr) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let s = self.scalar($what)?;
            let t = s.text.trim();
            match t.parse::<$ty>() {
                Ok(v) => visitor.$visit(v).map_err(|e| self.relocate(e)),
                Err(_) if t.parse::<i128>().is_ok_and(|v| v >= 0) => {
                    Err(self.err(format_args!("{} is too large (at most {})", t, <$ty>::MAX)))
                }
                Err(_) => Err(self.err(format_args!("expected {}, found `{}`", $what, s.text))),
            }
        }
    };
}

impl NodeDe<'_> {
    fn relocate(&self, e: DeError) -> DeError {
        if e.at.is_some() {
            e
        } else {
            self.err(e.msg)
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            Kind::Map(_) => return self.deserialize_map(visitor),
            Kind::Seq(_) => return self.deserialize_seq(visitor),
            Kind::Scalar(s) => match resolve(s) {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(b) => visitor.visit_bool(b),
                Resolved::Int(i) => visitor.visit_i64(i),
                Resolved::UInt(u) => visitor.visit_u64(u),
                Resolved::Float(f) => visitor.visit_f64(f),
                Resolved::Str(t) => visitor.visit_str(t),
            },
        };
        r.map_err(|e| self.relocate(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let s = self.scalar("true or false")?;
        match parse_bool(s.text.trim()) {
            Some(b) => visitor.visit_bool(b).map_err(|e| self.relocate(e)),
            None => Err(self.err(format_args!("expected true or false, found `{}`", s.text))),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8, "an integer");
    int_method!(deserialize_i16, visit_i16, i16, "an integer");
    int_method!(deserialize_i32, visit_i32, i32, "an integer");
    int_method!(deserialize_i64, visit_i64, i64, "an integer");
    int_method!(deserialize_u8, visit_u8, u8, "a whole number");
    int_method!(deserialize_u16, visit_u16, u16, "a whole number");
    int_method!(
        deserialize_u32,
        visit_u32,
        u32,
        "a whole number (0 or more)"
    );
    int_method!(
        deserialize_u64,
        visit_u64,
        u64,
        "a whole number (0 or more)"
    );
    int_method!(deserialize_f32, visit_f32, f32, "a number");
    int_method!(deserialize_f64, visit_f64, f64, "a number");

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let s = self.scalar("a string")?;
        visitor
            .visit_borrowed_str(&s.text)
            .map_err(|e| self.relocate(e))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.is_null() {
            visitor.visit_none().map_err(|e| self.relocate(e))
        } else {
            let me = self.clone();
            visitor.visit_some(self).map_err(|e| me.relocate(e))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.is_null() {
            visitor.visit_unit()
        } else {
            Err(self.err("expected nothing (null)"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let me = self.clone();
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| me.relocate(e))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items: &[Node] = match &self.node.kind {
            Kind::Seq(items) => items,
            _ if self.is_null() => &[],
            Kind::Map(_) => return Err(self.err("expected a list, found a mapping")),
            Kind::Scalar(s) => {
                return Err(self.err(format_args!("expected a list, found `{}`", s.text)))
            }
        };
        let access = SeqAccess {
            items,
            index: 0,
            path: self.path.clone(),
        };
        visitor.visit_seq(access).map_err(|e| self.relocate(e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let entries: &[super::tree::Entry] = match &self.node.kind {
            Kind::Map(es) => es,
            _ if self.is_null() => &[],
            Kind::Seq(_) => return Err(self.err("expected a mapping, found a list")),
            Kind::Scalar(s) => {
                return Err(self.err(format_args!("expected a mapping, found `{}`", s.text)))
            }
        };
        let access = MapAccess {
            entries,
            index: 0,
            path: self.path.clone(),
        };
        visitor.visit_map(access).map_err(|e| self.relocate(e))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if let Kind::Map(entries) = &self.node.kind {
            for e in entries {
                if !fields.contains(&e.key.as_str()) {
                    let path = self.path.key(&e.key);
                    return Err(DeError {
                        msg: unknown_key_message(&e.key, fields),
                        at: Some((e.key_loc.clone(), path)),
                    });
                }
            }
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let s = self.scalar(&format!("one of {}", variants.join(", ")))?;
        let text = s.text.trim();
        if !variants.contains(&text) {
            let mut msg = format!("`{text}` is not one of {}", variants.join(", "));
            if let Some(best) = did_you_mean(text, variants.iter().copied()) {
                msg.push_str(&format!(" (did you mean `{best}`?)"));
            }
            return Err(self.err(msg));
        }
        let de: de::value::StrDeserializer<DeError> = text.into_deserializer();
        visitor.visit_enum(de).map_err(|e| self.relocate(e))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// The field names of a struct, as serde's derive declares them.
pub fn struct_fields<'de, T: de::Deserialize<'de>>() -> &'static [&'static str] {
    struct Capture(std::cell::Cell<&'static [&'static str]>);
    impl<'de> de::Deserializer<'de> for &Capture {
        type Error = DeError;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DeError> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, DeError> {
            self.0.set(fields);
            Err(de::Error::custom("captured"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let c = Capture(std::cell::Cell::new(&[]));
    let _ = T::deserialize(&c);
    c.0.get()
}

pub fn unknown_key_message(key: &str, fields: &[&str]) -> String {
    match did_you_mean(key, fields.iter().copied()) {
        Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
        // A long list would bury the line (run_config has some forty keys).
        // (The key itself is already in the key path before the message.)
        None if fields.join(", ").len() > MAX_LISTED_KEYS_CHARS => format!(
            "unknown key; none of the {} keys allowed here is close (README: Configuration > Reference)",
            fields.len()
        ),
        None => format!("unknown key `{key}`; allowed here: {}", fields.join(", ")),
    }
}

/// Past this length the allowed keys are counted rather than listed in an error.
const MAX_LISTED_KEYS_CHARS: usize = 80;

struct SeqAccess<'a> {
    items: &'a [Node],
    index: usize,
    path: KeyPath,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.get(self.index) else {
            return Ok(None);
        };
        let path = self.path.index(self.index);
        self.index += 1;
        let de = NodeDe {
            node,
            path: path.clone(),
            key_loc: None,
        };
        locate(seed.deserialize(de), node, &path, None).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.index)
    }
}

struct MapAccess<'a> {
    entries: &'a [super::tree::Entry],
    index: usize,
    path: KeyPath,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(e) = self.entries.get(self.index) else {
            return Ok(None);
        };
        let de: de::value::BorrowedStrDeserializer<DeError> =
            de::value::BorrowedStrDeserializer::new(&e.key);
        seed.deserialize(de).map(Some).map_err(|mut err| {
            if err.at.is_none() {
                err.at = Some((e.key_loc.clone(), self.path.key(&e.key)));
            }
            err
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let e = &self.entries[self.index];
        self.index += 1;
        let path = self.path.key(&e.key);
        let de = NodeDe {
            node: &e.value,
            path: path.clone(),
            key_loc: Some(e.key_loc.clone()),
        };
        locate(seed.deserialize(de), &e.value, &path, Some(&e.key_loc))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.index)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde::Deserialize;

    use super::*;
    use crate::config::tree::parse;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct T {
        name: String,
        #[serde(default)]
        n: u64,
        #[serde(default)]
        flag: bool,
        #[serde(default)]
        opt: Option<String>,
        #[serde(default)]
        list: Vec<String>,
        #[serde(default)]
        map: BTreeMap<String, serde_json::Value>,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        None,
        Full,
    }

    fn de(text: &str) -> Result<T, DeError> {
        let n = parse(&Arc::from("f.yaml"), text).unwrap().unwrap();
        from_node(&n)
    }

    #[test]
    fn scalars_are_typed_by_target() {
        let t = de("name: 8\nn: '300'\nflag: False\nopt: ~\nlist: [1, x]\nmap: {a: 1, b: '1', c: 1.5, d: true, e: null, f: [x]}\nmode: full\n").unwrap();
        assert_eq!(t.name, "8");
        assert_eq!(t.n, 300);
        assert!(!t.flag);
        assert_eq!(t.opt, None);
        assert_eq!(t.list, vec!["1", "x"]);
        assert_eq!(
            serde_json::to_value(&t.map).unwrap(),
            serde_json::json!({"a": 1, "b": "1", "c": 1.5, "d": true, "e": null, "f": ["x"]})
        );
        assert_eq!(t.mode, Some(Mode::Full));
    }

    #[test]
    fn octal_and_hex_as_pyyaml_reads_them() {
        let t = de("name: x\nmap: {a: 0644, b: 0o17, c: 0x1F, d: 0, e: 089}\n").unwrap();
        assert_eq!(
            serde_json::to_value(&t.map).unwrap(),
            serde_json::json!({"a": 420, "b": 15, "c": 31, "d": 0, "e": 89})
        );
    }

    #[test]
    fn numbers_out_of_range_say_so() {
        let e = de("name: x\nn: 99999999999999999999999\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.yaml:2:4: n: 99999999999999999999999 is too large (at most 18446744073709551615)"
        );
    }

    #[test]
    fn wrong_type_names_position_and_path() {
        let e = de("name: x\nn: abc\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.yaml:2:4: n: expected a whole number (0 or more), found `abc`"
        );
        let e = de("name: x\nlist: {a: 1}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.yaml:2:1: list: expected a list, found a mapping"
        );
        let e = de("name: x\nn: -1\n").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("f.yaml:2:4: n: expected a whole number"));
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let e = de("name: x\nflga: true\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.yaml:2:1: flga: unknown key `flga`; did you mean `flag`?"
        );
        let e = de("name: x\nzzzzzz: 1\n").unwrap_err();
        assert!(e.to_string().contains("allowed here: name, n, flag"), "{e}");
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let e = de("n: 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.yaml:1:1: (top level): missing required key `name`"
        );
    }

    #[test]
    fn bad_enum_lists_allowed_values() {
        let e = de("name: x\nmode: fancy\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.yaml:2:7: mode: `fancy` is not one of none, full"
        );
        let e = de("name: x\nmode: ful\n").unwrap_err();
        assert!(e.to_string().ends_with("(did you mean `full`?)"), "{e}");
    }

    #[test]
    fn null_for_required_string_is_clear() {
        let e = de("name:\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("name: expected a string, found nothing (null)"),
            "{e}"
        );
    }
}
