//! A YAML tree that remembers where every node came from (file, line, column), so that merge,
//! substitution and typing errors can point at the user's text. Parsed with yaml-rust2's event
//! parser; supports anchors/aliases and `<<` merge keys; rejects duplicate keys.
//!
//! Hostile input is bounded: an alias copies its anchor's nodes, so the copies are counted and
//! at most [`MAX_ALIAS_NODES`] may be made in one file (a "billion laughs" file of a few hundred
//! bytes would otherwise expand to gigabytes); nesting is at most [`MAX_DEPTH`] levels (the
//! tree is built recursively); duplicate keys are found with a hash index (linear time).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The most nodes alias expansion may copy in one file (a real config copies a few dozen).
pub const MAX_ALIAS_NODES: usize = 100_000;
/// The deepest nesting of lists and mappings accepted.
pub const MAX_DEPTH: usize = 200;

/// A position in a config file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// The file as shown to the user (relative to the current directory when possible).
    pub file: Arc<str>,
    pub line: usize,
    pub col: usize,
}

impl Loc {
    fn from_marker(file: &Arc<str>, m: Marker) -> Loc {
        Loc {
            file: file.clone(),
            line: m.line().max(1),
            col: m.col() + 1,
        }
    }

    /// The start of a file (for errors about the file as a whole).
    pub fn file_start(file: &Arc<str>) -> Loc {
        Loc {
            file: file.clone(),
            line: 1,
            col: 1,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// Where a value came from, beyond its position: the sources of substituted placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An environment variable (its name).
    Env(String),
    /// The git repository (`commit_id` or `branch_name`).
    Git(String),
    /// A placeholder's default.
    PlaceholderDefault(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(v) => write!(f, "env {v}"),
            Source::Git(what) => write!(f, "git {what}"),
            Source::PlaceholderDefault(name) => write!(f, "default of {name}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    /// Plain (unquoted, untagged) scalars are typed by content (`8` is a number, `~` null);
    /// quoted ones are always strings.
    pub plain: bool,
    /// Sources of substituted placeholders, in order.
    pub sources: Vec<Source>,
}

impl Scalar {
    /// `~`, `null`, or nothing at all, unquoted.
    pub fn is_null(&self) -> bool {
        self.plain && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_loc: Loc,
    pub value: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    Scalar(Scalar),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub kind: Kind,
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `run_config.resources["data_science.train_model_node"].cpu`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    pub fn key(&self, k: &str) -> KeyPath {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_string()));
        KeyPath(v)
    }

    pub fn index(&self, i: usize) -> KeyPath {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        KeyPath(v)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Parse `a.b[0].c` (keys with dots only as `["a.b"]`); used by tests and callers.
    pub fn parse(s: &str) -> KeyPath {
        let mut out = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("[\"") {
                let end = r.find("\"]").unwrap_or(r.len());
                out.push(Seg::Key(r[..end].to_string()));
                rest = r.get(end + 2..).unwrap_or("");
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').unwrap_or(r.len());
                match r[..end].parse() {
                    Ok(i) => out.push(Seg::Index(i)),
                    Err(_) => out.push(Seg::Key(r[..end].to_string())),
                }
                rest = r.get(end + 1..).unwrap_or("");
            } else {
                let r = rest.strip_prefix('.').unwrap_or(rest);
                let end = r.find(['.', '[']).unwrap_or(r.len());
                out.push(Seg::Key(r[..end].to_string()));
                rest = &r[end..];
            }
        }
        KeyPath(out)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) => {
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if plain {
                        if i > 0 {
                            f.write_str(".")?;
                        }
                        f.write_str(k)?;
                    } else {
                        write!(f, "[{k:?}]")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A YAML problem with its position (`line`/`col` 1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub loc: Loc,
    pub msg: String,
}

impl Node {
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// The node at `path`, if the files spell it out.
    pub fn find(&self, path: &KeyPath) -> Option<&Node> {
        let mut cur = self;
        for seg in &path.0 {
            cur = match (seg, &cur.kind) {
                (Seg::Key(k), Kind::Map(_)) => cur.get(k)?,
                (Seg::Index(i), Kind::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The best position for a message about `path`: the key that names it (so a missing or
    /// defaulted child points at its parent), else the nearest ancestor the files spell out.
    pub fn locate(&self, path: &KeyPath) -> Loc {
        let mut cur = self;
        let mut best = self.loc.clone();
        for seg in &path.0 {
            match (seg, &cur.kind) {
                (Seg::Key(k), Kind::Map(_)) => match cur.entry(k) {
                    Some(e) => {
                        best = match e.value.kind {
                            Kind::Scalar(_) => e.value.loc.clone(),
                            _ => e.key_loc.clone(),
                        };
                        cur = &e.value;
                    }
                    None => return best,
                },
                (Seg::Index(i), Kind::Seq(items)) => match items.get(*i) {
                    Some(n) => {
                        best = n.loc.clone();
                        cur = n;
                    }
                    None => return best,
                },
                _ => return best,
            }
        }
        best
    }

    /// Deep merge `over` onto `self`: maps key by key, everything else replaced.
    pub fn merge(&mut self, over: Node) {
        match (&mut self.kind, over.kind) {
            (Kind::Map(base), Kind::Map(entries)) => {
                let mut index: HashMap<String, usize> = base
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (b.key.clone(), i))
                    .collect();
                for e in entries {
                    match index.get(&e.key) {
                        Some(&i) => {
                            let b = &mut base[i];
                            b.key_loc = e.key_loc;
                            b.value.merge(e.value);
                        }
                        None => {
                            index.insert(e.key.clone(), base.len());
                            base.push(e);
                        }
                    }
                }
            }
            (_, kind) => {
                self.kind = kind;
                self.loc = over.loc;
            }
        }
    }

    /// Apply `f` to every scalar value (not keys), with its path.
    pub fn try_for_each_scalar_mut<E>(
        &mut self,
        path: &KeyPath,
        f: &mut dyn FnMut(&KeyPath, &Loc, &mut Scalar) -> Result<(), E>,
    ) -> Result<(), E> {
        match &mut self.kind {
            Kind::Scalar(s) => f(path, &self.loc, s),
            Kind::Seq(items) => {
                for (i, n) in items.iter_mut().enumerate() {
                    n.try_for_each_scalar_mut(&path.index(i), f)?;
                }
                Ok(())
            }
            Kind::Map(entries) => {
                for e in entries {
                    e.value.try_for_each_scalar_mut(&path.key(&e.key), f)?;
                }
                Ok(())
            }
        }
    }
}

/// Parse one YAML document. `Ok(None)`: the file holds no document (empty or only comments).
pub fn parse(file: &Arc<str>, text: &str) -> Result<Option<Node>, ParseError> {
    let mut p = TreeParser {
        parser: Parser::new_from_str(text),
        file: file.clone(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        depth: 0,
    };
    p.document()
}

struct TreeParser<'a> {
    parser: Parser<std::str::Chars<'a>>,
    file: Arc<str>,
    /// Anchored nodes and how many nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied by aliases so far.
    alias_nodes: usize,
    depth: usize,
}

/// How many nodes `n` holds (itself included).
fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar(_) => 1,
        Kind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Kind::Map(entries) => 1 + entries.iter().map(|e| count_nodes(&e.value)).sum::<usize>(),
    }
}

impl TreeParser<'_> {
    fn next(&mut self) -> Result<(Event, Marker), ParseError> {
        self.parser.next_token().map_err(|e| {
            let info = e.info();
            let msg = format!("YAML syntax error: {info}");
            ParseError {
                loc: Loc::from_marker(&self.file, *e.marker()),
                msg,
            }
        })
    }

    fn err(&self, m: Marker, msg: impl Into<String>) -> ParseError {
        ParseError {
            loc: Loc::from_marker(&self.file, m),
            msg: msg.into(),
        }
    }

    fn document(&mut self) -> Result<Option<Node>, ParseError> {
        let mut root = None;
        loop {
            let (ev, m) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(root),
                Event::DocumentStart => {
                    if root.is_some() {
                        return Err(self.err(
                            m,
                            "the file holds more than one YAML document (`---`); keep one",
                        ));
                    }
                    let (ev, m) = self.next()?;
                    if matches!(ev, Event::DocumentEnd | Event::StreamEnd) {
                        continue;
                    }
                    root = Some(self.node(ev, m)?);
                }
                other => {
                    let n = self.node(other, m)?;
                    root = Some(n);
                }
            }
        }
    }

    fn node(&mut self, ev: Event, m: Marker) -> Result<Node, ParseError> {
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..)) {
            if self.depth >= MAX_DEPTH {
                return Err(self.err(
                    m,
                    format!("lists and mappings are nested more than {MAX_DEPTH} levels deep"),
                ));
            }
            self.depth += 1;
            let n = self.node_inner(ev, m);
            self.depth -= 1;
            return n;
        }
        self.node_inner(ev, m)
    }

    fn anchor(&mut self, anchor: usize, n: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, (n.clone(), count_nodes(n)));
        }
    }

    fn node_inner(&mut self, ev: Event, m: Marker) -> Result<Node, ParseError> {
        let loc = Loc::from_marker(&self.file, m);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tagged = tag.is_some_and(|t| !(t.handle == "!!" && t.suffix == "null"));
                let n = Node {
                    loc,
                    kind: Kind::Scalar(Scalar {
                        text,
                        plain: style == TScalarStyle::Plain && !tagged,
                        sources: Vec::new(),
                    }),
                };
                self.anchor(anchor, &n);
                Ok(n)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((n, size)) => {
                    self.alias_nodes = self.alias_nodes.saturating_add(*size);
                    if self.alias_nodes > MAX_ALIAS_NODES {
                        return Err(self.err(
                            m,
                            format!(
                                "YAML aliases expand to more than {MAX_ALIAS_NODES} values \
                                 (nested aliases multiply); write the values out or use fewer aliases"
                            ),
                        ));
                    }
                    Ok(n.clone())
                }
                None => Err(self.err(m, "alias to an unknown anchor")),
            },
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                let mut first_loc = None;
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    let item = self.node(ev, m)?;
                    first_loc.get_or_insert_with(|| item.loc.clone());
                    items.push(item);
                }
                let n = Node {
                    loc: first_loc.unwrap_or(loc),
                    kind: Kind::Seq(items),
                };
                self.anchor(anchor, &n);
                Ok(n)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<Entry> = Vec::new();
                // key -> index in `entries`: duplicate checks in constant time
                let mut seen: HashMap<String, usize> = HashMap::new();
                let mut merged: Vec<Entry> = Vec::new();
                let mut merged_keys: HashSet<String> = HashSet::new();
                let mut first_loc = None;
                loop {
                    let (ev, km) = self.next()?;
                    if ev == Event::MappingEnd {
                        break;
                    }
                    let (key, key_plain) = match ev {
                        Event::Scalar(text, style, _, _) => (text, style == TScalarStyle::Plain),
                        Event::Alias(id) => match self.anchors.get(&id).map(|(n, _)| &n.kind) {
                            Some(Kind::Scalar(s)) => (s.text.clone(), s.plain),
                            _ => return Err(self.err(km, "a key must be a plain value")),
                        },
                        _ => {
                            return Err(self
                                .err(km, "a key must be a plain value, not a list or a mapping"))
                        }
                    };
                    let key_loc = Loc::from_marker(&self.file, km);
                    first_loc.get_or_insert_with(|| key_loc.clone());
                    let (ev, vm) = self.next()?;
                    let value = self.node(ev, vm)?;
                    if key == "<<" && key_plain {
                        let sources = match value.kind {
                            Kind::Map(es) => vec![es],
                            Kind::Seq(items) => {
                                let mut v = Vec::new();
                                for it in items {
                                    match it.kind {
                                        Kind::Map(es) => v.push(es),
                                        _ => {
                                            return Err(self.err(
                                                km,
                                                "a `<<` merge key takes a mapping or a list of mappings",
                                            ))
                                        }
                                    }
                                }
                                v
                            }
                            Kind::Scalar(_) => {
                                return Err(self.err(
                                    km,
                                    "a `<<` merge key takes a mapping or a list of mappings",
                                ))
                            }
                        };
                        for es in sources {
                            for e in es {
                                if merged_keys.insert(e.key.clone()) {
                                    merged.push(e);
                                }
                            }
                        }
                        continue;
                    }
                    if let Some(&prev) = seen.get(&key) {
                        return Err(ParseError {
                            loc: key_loc,
                            msg: format!(
                                "duplicate key `{key}` (first at line {}); keep one",
                                entries[prev].key_loc.line
                            ),
                        });
                    }
                    seen.insert(key.clone(), entries.len());
                    entries.push(Entry {
                        key,
                        key_loc,
                        value,
                    });
                }
                for e in merged {
                    if !seen.contains_key(&e.key) {
                        entries.push(e);
                    }
                }
                let n = Node {
                    loc: first_loc.unwrap_or(loc),
                    kind: Kind::Map(entries),
                };
                self.anchor(anchor, &n);
                Ok(n)
            }
            other => Err(self.err(m, format!("unexpected YAML event {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        parse(&Arc::from("f.yaml"), text).unwrap().unwrap()
    }

    #[test]
    fn positions_are_one_based_and_point_at_values() {
        let n = p("host: x\nrun_config:\n  ttl: abc\n");
        let ttl = n.find(&KeyPath::parse("run_config.ttl")).unwrap();
        assert_eq!((ttl.loc.line, ttl.loc.col), (3, 8));
        assert_eq!(
            n.locate(&KeyPath::parse("run_config.ttl")).to_string(),
            "f.yaml:3:8"
        );
        // a missing key points at its parent's key
        assert_eq!(
            n.locate(&KeyPath::parse("run_config.image")).to_string(),
            "f.yaml:2:1"
        );
    }

    #[test]
    fn merge_is_deep_for_maps_and_replaces_lists_and_scalars() {
        let mut base = p("a: {x: 1, y: [1, 2], z: {k: v}}\nb: 1\n");
        let over = p("a: {y: [3], z: {j: w}}\nb: 2\nc: new\n");
        base.merge(over);
        let get = |s: &str| match &base.find(&KeyPath::parse(s)).unwrap().kind {
            Kind::Scalar(s) => s.text.clone(),
            Kind::Seq(i) => format!("seq{}", i.len()),
            Kind::Map(m) => format!("map{}", m.len()),
        };
        assert_eq!(get("a.x"), "1");
        assert_eq!(get("a.y"), "seq1");
        assert_eq!(get("a.y[0]"), "3");
        assert_eq!(get("a.z"), "map2");
        assert_eq!(get("b"), "2");
        assert_eq!(get("c"), "new");
        // the overlay's position wins for replaced values
        let b = base.find(&KeyPath::parse("b")).unwrap();
        assert_eq!(b.loc.line, 2);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = p("d: &d {cpu: 1, memory: 1Gi}\nn: {<<: *d, cpu: 2}\nm: *d\n");
        let t = |s: &str| match &n.find(&KeyPath::parse(s)).unwrap().kind {
            Kind::Scalar(s) => s.text.clone(),
            _ => "?".into(),
        };
        assert_eq!(t("n.cpu"), "2");
        assert_eq!(t("n.memory"), "1Gi");
        assert_eq!(t("m.cpu"), "1");
    }

    #[test]
    fn duplicate_keys_and_multiple_documents_are_errors() {
        let e = parse(&Arc::from("f"), "a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((e.loc.line, e.loc.col), (3, 1));
        assert!(
            e.msg.contains("duplicate key `a` (first at line 1)"),
            "{}",
            e.msg
        );
        let e = parse(&Arc::from("f"), "a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.msg.contains("more than one YAML document"), "{}", e.msg);
    }

    #[test]
    fn billion_laughs_fails_fast_at_the_alias_that_crosses_the_limit() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in "bcdefghij".chars() {
            text.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
            prev = name;
        }
        let e = parse(&Arc::from("f"), &text).unwrap_err();
        assert!(
            e.msg.contains("aliases expand to more than 100000"),
            "{}",
            e.msg
        );
        assert_eq!(e.loc.line, 5, "{e:?}");
        // a few aliases are fine
        let n = p("a: &a [x, y]\nb: [*a, *a]\n");
        assert!(n.find(&KeyPath::parse("b[1][0]")).is_some());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        // block style: the YAML scanner itself limits only flow nesting (to 255)
        let text: String = (0..300).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let e = parse(&Arc::from("f"), &text).unwrap_err();
        assert!(e.msg.contains("nested more than 200 levels"), "{}", e.msg);
        let text = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&Arc::from("f"), &text).is_err());
        let ok = format!("a: {}{}", "[".repeat(150), "]".repeat(150));
        assert!(parse(&Arc::from("f"), &ok).is_ok());
    }

    #[test]
    fn empty_and_comment_only_files_hold_no_document() {
        assert!(parse(&Arc::from("f"), "").unwrap().is_none());
        assert!(parse(&Arc::from("f"), "# nothing\n\n").unwrap().is_none());
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse(&Arc::from("f"), "a: b\n  c: [\n").unwrap_err();
        assert_eq!(e.loc.line, 2);
        assert!(e.msg.starts_with("YAML syntax error"), "{}", e.msg);
    }

    #[test]
    fn quoted_scalars_are_not_plain() {
        let n = p("a: '8'\nb: 8\nc: !!str 8\n");
        let plain = |s: &str| match &n.find(&KeyPath::parse(s)).unwrap().kind {
            Kind::Scalar(s) => s.plain,
            _ => unreachable!(),
        };
        assert!(!plain("a"));
        assert!(plain("b"));
        assert!(!plain("c"));
    }

    #[test]
    fn key_paths_render_dotted_keys_in_brackets() {
        let p = KeyPath::root()
            .key("run_config")
            .key("resources")
            .key("data_science.train_model_node")
            .key("cpu");
        assert_eq!(
            p.to_string(),
            "run_config.resources[\"data_science.train_model_node\"].cpu"
        );
        assert_eq!(KeyPath::parse(&p.to_string()), p);
        let t = KeyPath::root()
            .key("tolerations")
            .key("a")
            .index(0)
            .key("effect");
        assert_eq!(t.to_string(), "tolerations.a[0].effect");
        assert_eq!(KeyPath::parse("tolerations.a[0].effect"), t);
    }
}
