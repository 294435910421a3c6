//! YAML parsing into a tree that remembers where every node came from.
//!
//! Diagnostics must point at `file:line:column` for any field path, including fields that only
//! a later stage (schema check, validation, merge) finds wrong, so we keep the whole document
//! as a located tree instead of deserializing straight into typed structs.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Alias expansions allowed per file: far beyond any real manifest, far below an alias bomb.
const MAX_REPLAYED_EVENTS: usize = 100_000;
/// Nodes allowed per file (a 3-DC K8ssandraCluster has a few hundred).
const MAX_NODES: usize = 250_000;
/// Nesting allowed (pod templates reach about 15 levels).
const MAX_DEPTH: usize = 64;
/// Documents allowed per file.
const MAX_DOCUMENTS: usize = 1024;

/// A line/column position (both 1-based; 0 means unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// One YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the node starts.
    pub pos: Pos,
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as text (non-string keys are converted, as the Kubernetes decoder does).
    pub name: String,
    /// Where the key starts.
    pub pos: Pos,
}

/// A YAML value. Mappings keep their order and reject duplicate keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in document order.
    Map(Vec<(Key, Node)>),
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// The path of nested mapping keys, e.g. `keys(&["spec", "medusa"])` for `spec.medusa`.
#[must_use]
pub fn keys(path: &[&str]) -> Vec<Seg> {
    path.iter().map(|k| Seg::Key((*k).into())).collect()
}

/// Formats a path the way `kubectl explain` users read it: `spec.cassandra.datacenters[0].size`.
#[must_use]
pub fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let plain = !k.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if plain {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                } else {
                    out.push_str(&format!("[{k:?}]"));
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

impl Node {
    /// Drops the spare capacity of every mapping and sequence below: a parsed mapping holds
    /// room for about twice its entries, and a loaded document's tree is kept for the whole
    /// run (for the position of any diagnostic).
    pub(crate) fn shrink_to_fit(&mut self) {
        match &mut self.value {
            Value::Map(entries) => {
                entries.shrink_to_fit();
                for (_, child) in entries {
                    child.shrink_to_fit();
                }
            }
            Value::Seq(items) => {
                items.shrink_to_fit();
                items.iter_mut().for_each(Node::shrink_to_fit);
            }
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => {}
        }
    }

    /// The mapping entries, if this is a mapping.
    #[must_use]
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of `key`, if this is a mapping that has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// The string value, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The best position for `path`: the key of the deepest existing field (so an error about a
    /// field points at its name), or the node itself for sequence items.
    #[must_use]
    pub fn locate(&self, path: &[Seg]) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for seg in path {
            match (seg, &node.value) {
                (Seg::Key(k), Value::Map(m)) => match m.iter().find(|(key, _)| &key.name == k) {
                    Some((key, child)) => {
                        pos = key.pos;
                        node = child;
                    }
                    None => break,
                },
                (Seg::Index(i), Value::Seq(items)) => match items.get(*i) {
                    Some(child) => {
                        pos = child.pos;
                        node = child;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        pos
    }

    /// Converts to JSON for typed deserialization and merging. Positions are dropped.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A YAML parse failure with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where the problem is (0:0 when unknown).
    pub pos: Pos,
    /// What is wrong, without position.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn to_pos(loc: serde_saphyr::Location) -> Pos {
    Pos {
        line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
        column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
    }
}

/// Parses every document of a YAML stream. Empty documents are returned as `Null` nodes so that
/// document indexes stay meaningful.
///
/// # Errors
/// Syntax errors, duplicate keys, and inputs that exceed the alias, node or depth budget.
pub fn parse_stream(text: &str) -> Result<Vec<Node>, ParseError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: MAX_NODES,
            max_depth: MAX_DEPTH,
            max_documents: MAX_DOCUMENTS,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS,
            max_replay_stack_depth: 16,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    };
    serde_saphyr::from_multiple_with_options::<Option<Node>>(text, options)
        .map(|docs| {
            docs.into_iter()
                .map(|d| d.unwrap_or(Node { value: Value::Null, pos: Pos::default() }))
                .collect()
        })
        .map_err(|e| {
            let pos = e.location().map(to_pos).unwrap_or_default();
            if let serde_saphyr::Error::Budget { breach, .. } = e.without_snippet() {
                return ParseError { pos, message: budget_message(breach) };
            }
            let mut message = e.without_snippet().to_string();
            // The library appends its own " at line X column Y"; we print positions ourselves.
            if let Some(idx) = message.find(" at line ") {
                message.truncate(idx);
            }
            // Say it in the user's terms, not the library's configuration knobs.
            if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
                let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
                message = format!("duplicate key {key:?}: a mapping may hold each key once");
            } else if message.contains("alias replay limit exceeded") || message.contains("alias") && message.contains("limit") {
                message = format!("YAML aliases expand beyond {MAX_REPLAYED_EVENTS} nodes (an alias bomb?); refusing to expand them");
            }
            ParseError { pos, message }
        })
}

/// The source text of the plain scalar that starts at `pos` (1-based line and column).
fn raw_scalar(text: &str, pos: Pos) -> Option<&str> {
    let line = text
        .lines()
        .nth(usize::try_from(pos.line).ok()?.checked_sub(1)?)?;
    let start = line
        .char_indices()
        .nth(usize::try_from(pos.column).ok()?.checked_sub(1)?)?
        .0;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Typed scalars (integers, numbers, booleans) of `node` that YAML 1.1 (kubectl, Argo CD, Flux:
/// sigs.k8s.io/yaml) and YAML 1.2 tools read differently, or that this parser reads differently
/// from kubectl: `(path, message, hint)`. `text` is the source the node was parsed from.
///
/// Refused: leading-zero integers (`010` is octal 8 in YAML 1.1, 10 here), `0o`/`0b`
/// prefixes and `_` separators (numbers in one version, strings in the other), and the YAML 1.1
/// booleans `yes/no/on/off/y/n` (strings in YAML 1.2). Hex (`0x1F`) and a leading `+` mean the
/// same number everywhere and are accepted.
#[must_use]
pub fn yaml11_ambiguities(text: &str, node: &Node) -> Vec<(Vec<Seg>, String, String)> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    ambiguities_in(text, node, &mut path, &mut out);
    out
}

fn ambiguities_in(
    text: &str,
    node: &Node,
    path: &mut Vec<Seg>,
    out: &mut Vec<(Vec<Seg>, String, String)>,
) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                path.push(Seg::Key(k.name.clone()));
                ambiguities_in(text, v, path, out);
                path.pop();
            }
        }
        Value::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                ambiguities_in(text, v, path, out);
                path.pop();
            }
        }
        Value::Int(_) | Value::Float(_) => {
            let Some(raw) = raw_scalar(text, node.pos) else {
                return;
            };
            let (sign, digits) = match raw.as_bytes().first() {
                Some(b'-') => ("-", &raw[1..]),
                Some(b'+') => ("", &raw[1..]),
                _ => ("", raw),
            };
            let lower = digits.to_ascii_lowercase();
            let decimal = match node.value {
                Value::Int(i) => i.to_string(),
                Value::Float(f) => format!("{f}"),
                _ => String::new(),
            };
            let found = if digits.len() > 1
                && digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit())
            {
                let trimmed = digits.trim_start_matches('0');
                let octal = i64::from_str_radix(if trimmed.is_empty() { "0" } else { trimmed }, 8)
                    .map(|v| format!("{sign}{v}"));
                Some((
                    match octal {
                        Ok(v) => format!(
                            "{raw} has a leading zero: kubectl (YAML 1.1) reads it as octal {v}, YAML 1.2 as {sign}{}",
                            if trimmed.is_empty() { "0" } else { trimmed }
                        ),
                        Err(_) => format!(
                            "{raw} has a leading zero, which YAML 1.1 (kubectl) and YAML 1.2 read differently"
                        ),
                    },
                    format!(
                        "write {sign}{} without the leading zero, or quote it",
                        if trimmed.is_empty() { "0" } else { trimmed }
                    ),
                ))
            } else if lower.starts_with("0o") || lower.starts_with("0b") {
                Some((
                    format!(
                        "{raw} is a number in one YAML version and a string in the other (kubectl reads YAML 1.1)"
                    ),
                    format!("write {decimal}, or quote it"),
                ))
            } else if digits.contains('_') {
                Some((
                    format!(
                        "{raw} uses '_' digit separators: a number in YAML 1.1 (kubectl), a string in YAML 1.2"
                    ),
                    format!("write {decimal}, or quote it"),
                ))
            } else {
                None
            };
            if let Some((message, hint)) = found {
                out.push((path.clone(), message, hint));
            }
        }
        Value::Bool(b) => {
            let Some(raw) = raw_scalar(text, node.pos) else {
                return;
            };
            if !raw.eq_ignore_ascii_case("true") && !raw.eq_ignore_ascii_case("false") {
                out.push((
                    path.clone(),
                    format!(
                        "{raw} is the boolean {b} in YAML 1.1 (kubectl) but the string {raw:?} in YAML 1.2"
                    ),
                    format!("write {b}, or quote it"),
                ));
            }
        }
        Value::Null | Value::Str(_) => {}
    }
}

/// The budget a parse broke, in the user's terms.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Documents { .. } => format!(
            "more than {MAX_DOCUMENTS} YAML documents in one file; split it into several files"
        ),
        B::Nodes { .. } => {
            format!("more than {MAX_NODES} YAML nodes in one file; split it into several files")
        }
        B::Depth { .. } => {
            format!("YAML nested deeper than {MAX_DEPTH} levels; refusing to read it")
        }
        B::Aliases { .. } | B::Anchors { .. } | B::AliasAnchorRatio { .. } => format!(
            "YAML aliases expand beyond {MAX_REPLAYED_EVENTS} nodes (an alias bomb?); refusing to expand them"
        ),
        B::ScalarBytes { .. } => {
            "YAML scalars larger than the parser's limit; refusing to read them".to_string()
        }
        other => {
            let name = format!("{other:?}");
            let name = name
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_string();
            format!("the file exceeds the YAML parser's {name} limit; refusing to read it")
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            value: spanned.value,
            pos: to_pos(spanned.referenced),
        })
    }
}

struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Value, D2::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Str(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
                Err(E::invalid_type(de::Unexpected::Bytes(v), &self))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Node>()? {
                    items.push(item);
                }
                Ok(Value::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries: Vec<(Key, Node)> = Vec::new();
                while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
                    let value = map.next_value::<Node>()?;
                    let name = key.value.0;
                    if entries.iter().any(|(k, _)| k.name == name) {
                        return Err(de::Error::custom(format!("duplicate mapping key {name:?}")));
                    }
                    entries.push((
                        Key {
                            name,
                            pos: to_pos(key.referenced),
                        },
                        value,
                    ));
                }
                Ok(Value::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_line_and_column() {
        let docs = parse_stream("a:\n  b: [1, two]\n---\nc: true\n").unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[0].get("a").unwrap().get("b").unwrap();
        assert_eq!(b.pos, Pos { line: 2, column: 6 });
        let path = [Seg::Key("a".into()), Seg::Key("b".into()), Seg::Index(1)];
        assert_eq!(
            docs[0].locate(&path),
            Pos {
                line: 2,
                column: 10
            }
        );
        assert_eq!(docs[1].to_json(), serde_json::json!({"c": true}));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate"), "{err:?}");
        assert_eq!(err.pos.line, 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse_stream(&text).is_err());
    }

    #[test]
    fn paths_print_like_kubectl() {
        let p = [
            Seg::Key("metadata".into()),
            Seg::Key("labels".into()),
            Seg::Key("app.kubernetes.io/name".into()),
        ];
        assert_eq!(
            path_string(&p),
            r#"metadata.labels["app.kubernetes.io/name"]"#
        );
        assert_eq!(
            path_string(&[Seg::Key("spec".into()), Seg::Index(2)]),
            "spec[2]"
        );
    }
}
