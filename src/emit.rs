//! Canonical YAML for rendered objects.
//!
//! Output bytes are part of our contract (committed trees, `render --check`, Argo CD diffs), so we
//! write YAML ourselves instead of relying on a serializer's style choices: top-level keys in the
//! order apiVersion, kind, metadata, spec, then the rest sorted; every other map sorted; block
//! style with kubectl's list indentation; strings quoted whenever a YAML 1.1 or 1.2 reader could
//! take them for anything but a string; multi-line text as literal blocks; one trailing newline.

use serde_json::Value;

const TOP_ORDER: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];

/// Serializes one Kubernetes object as a YAML document (no `---`).
#[must_use]
pub fn object_to_yaml(obj: &Value) -> String {
    // Most objects take one to a few KiB: one allocation instead of a dozen doublings, the
    // unused part given back at the end.
    let mut out = String::with_capacity(4096);
    push_object(&mut out, obj);
    out.shrink_to_fit();
    out
}

/// Appends [`object_to_yaml`]'s text for `obj` to `out` (a stream of documents is written
/// into one buffer, without a String per object).
pub fn push_object(out: &mut String, obj: &Value) {
    match obj {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| top_rank(a).cmp(&top_rank(b)).then_with(|| a.cmp(b)));
            for k in keys {
                write_entry(out, 0, k, &map[k.as_str()], false);
            }
        }
        other => write_value_line(out, 0, other),
    }
}

/// Serializes a plain value (maps sorted) as a YAML document.
#[must_use]
#[cfg_attr(not(feature = "cli"), allow(dead_code, reason = "the KRM front end's"))]
pub fn value_to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, val) in sorted(map) {
                write_entry(&mut out, 0, k, val, false);
            }
        }
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, 0, items),
        other => write_value_line(&mut out, 0, other),
    }
    out
}

fn top_rank(k: &str) -> usize {
    TOP_ORDER
        .iter()
        .position(|t| *t == k)
        .unwrap_or(TOP_ORDER.len())
}

/// The entries of a map by key. Most maps are built in key order already: those are walked as
/// they are, without collecting and sorting.
fn sorted(map: &serde_json::Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    let mut entries = None;
    // Byte by byte: keys are short, and a call to `memcmp` per pair cost more than comparing.
    if !map.keys().is_sorted_by(|a, b| a.bytes().le(b.bytes())) {
        let mut v: Vec<_> = map.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        entries = Some(v.into_iter());
    }
    let in_order = entries.is_none().then(|| map.iter());
    entries
        .into_iter()
        .flatten()
        .chain(in_order.into_iter().flatten())
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

/// Writes `key: value` at indentation `ind`; `dash_line` when the line already holds a
/// sequence item's `- ` (the first entry of a map in a list), so no indentation is written.
fn write_entry(out: &mut String, ind: usize, key: &str, v: &Value, dash_line: bool) {
    if !dash_line {
        indent(out, ind);
    }
    push_scalar(out, key);
    out.push(':');
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            for (k, val) in sorted(map) {
                write_entry(out, ind + 2, k, val, false);
            }
        }
        // kubectl style: list items at the same indentation as their key.
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, ind, items);
        }
        other => {
            out.push(' ');
            write_inline(out, ind, other);
        }
    }
}

fn write_seq(out: &mut String, ind: usize, items: &[Value]) {
    for item in items {
        indent(out, ind);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                // First entry on the dash line, the rest aligned under it.
                let mut first = true;
                for (k, val) in sorted(map) {
                    if first {
                        out.push(' ');
                    }
                    write_entry(out, ind + 2, k, val, first);
                    first = false;
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, ind + 2, inner);
            }
            other => {
                out.push(' ');
                write_inline(out, ind, other);
            }
        }
    }
}

fn write_value_line(out: &mut String, ind: usize, v: &Value) {
    write_inline(out, ind, v);
}

/// Writes a scalar or empty collection after `key: ` or `- `, ending the line.
fn write_inline(out: &mut String, ind: usize, v: &Value) {
    match v {
        Value::Null => out.push_str("null\n"),
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            out.push('\n');
        }
        Value::Number(n) => {
            use std::fmt::Write as _;
            let _ = writeln!(out, "{n}");
        }
        Value::Object(_) => out.push_str("{}\n"),
        Value::Array(_) => out.push_str("[]\n"),
        Value::String(s) => {
            if !push_literal_block(out, s, ind + 2) {
                push_scalar(out, s);
                out.push('\n');
            }
        }
    }
}

/// Writes a literal block scalar (`|`, `|-`, `|+`) for multi-line text, when one can carry it
/// exactly; false (nothing written) otherwise.
fn push_literal_block(out: &mut String, s: &str, ind: usize) -> bool {
    if !s.contains('\n') || s.starts_with([' ', '\t', '\n']) {
        return false;
    }
    if s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || c == '\u{feff}'
            || c == '\u{85}'
            || c == '\u{2028}'
            || c == '\u{2029}'
    }) {
        return false;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    // A line starting with a space after the first would need an indentation indicator only
    // when the first line does; the first line never does here. Tabs at line start are fine.
    out.push('|');
    out.push_str(chomp);
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, ind);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    true
}

/// Whether a plain (unquoted) scalar would be read back as this exact string by YAML 1.1 and
/// 1.2 readers alike (Go's yaml.v2/v3, PyYAML, kubectl, serde-saphyr).
fn plain_is_safe(s: &str) -> bool {
    // One pass over the bytes (this runs for every key and string the renderer writes); any
    // byte outside the allowed ASCII sets, so any non-ASCII text, makes the scalar quoted.
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if first.is_ascii_digit() {
        // Quantities like `5Gi` or `200m`: digits, dots and at least one letter that cannot make
        // a number (exponent `e`, radix prefixes `x`/`o`/`b`) or a YAML 1.1 sexagesimal/timestamp.
        let radix = b.get(1).is_some_and(|c| b"xXoObB".contains(c));
        return !radix
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.')
            && b.iter()
                .any(|c| c.is_ascii_alphabetic() && !b"eExXoObB".contains(c));
    }
    if !(first.is_ascii_alphabetic() || matches!(first, b'_' | b'/' | b'$')) {
        return false;
    }
    // `#` is never allowed, so ` #` (a comment) cannot occur; `: ` would start a mapping.
    let mut prev = 0;
    for &c in b {
        let allowed = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b' ' | b'_'
                    | b'.'
                    | b'/'
                    | b'='
                    | b'@'
                    | b'$'
                    | b'('
                    | b')'
                    | b'+'
                    | b','
                    | b':'
                    | b'-'
            );
        if !allowed || (prev == b':' && c == b' ') {
            return false;
        }
        prev = c;
    }
    // A trailing space would be dropped, a trailing colon would make a key.
    if matches!(prev, b' ' | b':') {
        return false;
    }
    // Booleans, null and the special floats of YAML 1.1 or 1.2, in any case (the first byte is
    // never a dot, so `.inf`/`.nan` cannot occur).
    b.len() > 5
        || ![
            "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
        ]
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w))
}

/// Writes a string as a YAML scalar: plain when safe, else double-quoted with JSON escapes
/// (valid YAML), plus `\u` escapes for the characters JSON leaves raw that YAML does not allow
/// raw there.
fn push_scalar(out: &mut String, s: &str) {
    if plain_is_safe(s) {
        out.push_str(s);
        return;
    }
    let json = serde_json::to_string(s).unwrap_or_default();
    if !json.contains(needs_yaml_escape) {
        out.push_str(&json);
        return;
    }
    for c in json.chars() {
        if needs_yaml_escape(c) {
            out.push_str(&format!("\\u{:04X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

/// Characters a double-quoted YAML scalar cannot hold raw although JSON can: DEL, the C1
/// controls and U+FFFE/U+FFFF are not printable (readers refuse them), NEL (and, for YAML 1.1
/// readers such as Go's yaml.v2, U+2028/U+2029) are line breaks that a reader folds, and a BOM
/// inside a document is refused.
fn needs_yaml_escape(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(v: &Value) -> Value {
        let text = value_to_yaml(v);
        let docs = crate::yaml::parse_stream(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        docs[0].to_json()
    }

    #[test]
    fn top_level_keys_follow_kubernetes_order() {
        let obj = json!({"spec": {"b": 1, "a": 2}, "zeta": 1, "kind": "X", "metadata": {"name": "demo"}, "apiVersion": "v1"});
        assert_eq!(
            object_to_yaml(&obj),
            "apiVersion: v1\nkind: X\nmetadata:\n  name: demo\nspec:\n  a: 2\n  b: 1\nzeta: 1\n"
        );
    }

    #[test]
    fn lists_use_kubectl_indentation() {
        let v =
            json!({"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}, "s", [1]]});
        assert_eq!(
            value_to_yaml(&v),
            "containers:\n- env:\n  - name: X\n    value: \"1\"\n  name: a\n- s\n-\n  - 1\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted_and_read_back_unchanged() {
        for s in [
            "true",
            "on",
            "No",
            "null",
            "~",
            "1",
            "0755",
            "1e3",
            "4.1.3",
            ".inf",
            "-x",
            "a: b",
            "a #b",
            "",
            " x",
            "x ",
            "*x",
            "&x",
            "!x",
            "%x",
            "@x",
            "`x",
            "{x}",
            "[x]",
            "'x'",
            "\"x\"",
            "é",
            "tab\there",
            "2001-12-14",
            "0x1F",
            "1_000",
            "a:",
            "1e3",
            "1E5",
            "0b1",
            "0o7",
            "5Gi",
            "200m",
            "1.5e3",
            "12:30",
        ] {
            let v = json!({"k": s});
            assert_eq!(roundtrip(&v), v, "{s:?} -> {}", value_to_yaml(&v));
        }
        assert_eq!(
            value_to_yaml(&json!({"k": "plain-Value_1.2/x"})),
            "k: plain-Value_1.2/x\n"
        );
    }

    #[test]
    fn multi_line_text_becomes_literal_blocks_that_read_back_unchanged() {
        for s in [
            "a\nb\n",
            "a\nb",
            "a\n\nb\n\n\n",
            "[cassandra]\nuse_sudo = False\n",
            "a\n  indented\n",
            "x\n\ty\n",
        ] {
            let v = json!({"data": {"f": s}});
            assert_eq!(roundtrip(&v), v, "{s:?} -> {}", value_to_yaml(&v));
        }
        assert_eq!(value_to_yaml(&json!({"f": "a\nb\n"})), "f: |\n  a\n  b\n");
        // Leading spaces need an indentation indicator: we quote instead.
        assert!(value_to_yaml(&json!({"f": "  a\nb"})).starts_with("f: \""));
    }

    #[test]
    fn empty_collections_and_scalars() {
        let v = json!({"a": {}, "b": [], "c": null, "d": 1.5, "e": false, "f": -3});
        assert_eq!(roundtrip(&v), v);
    }
}
