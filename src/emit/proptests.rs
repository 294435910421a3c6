//! Property: what the canonical emitter writes, our YAML reader reads back as the same value,
//! over generated nested maps and lists of strings (including every kind that needs quoting),
//! integers, floats, booleans and nulls.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use super::{object_to_yaml, value_to_yaml};

/// Strings a YAML reader could take for something else, or that need escaping.
const TRICKY: &[&str] = &[
    "",
    " ",
    " x",
    "x ",
    "a: b",
    "a:",
    ":",
    "- x",
    "-",
    "#",
    "a #b",
    "x#y",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "0",
    "-1",
    "+1",
    "007",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "1e3",
    "1E-5",
    ".5",
    "5.",
    ".inf",
    "-.Inf",
    ".nan",
    "12:30",
    "1:20:30",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "5Gi",
    "200m",
    "4.1.5",
    "<<",
    "=",
    "!x",
    "&a",
    "*a",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "{x}",
    "[x]",
    "'",
    "\"",
    "'x'",
    "\"x\"",
    "?",
    "? x",
    "---",
    "...",
    "a\nb",
    "a\nb\n",
    "\n",
    "\na",
    "a\n\n",
    " a\nb",
    "tab\there",
    "\t",
    "\r",
    "\r\n",
    "é",
    "日本語",
    "😀",
    "\u{85}",
    "\u{a0}",
    "\u{feff}x",
    "\u{2028}",
    "\u{7f}",
    "\u{0}",
    "\u{1b}[0m",
    "\\",
    "\\n",
];

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TRICKY).prop_map(str::to_string),
        // Short texts over characters that matter to YAML, so they combine.
        3 => "[a-z0-9 :#\\-'\"~.,\\[\\]{}&*!|>%@`?\n\t\\\\é]{0,10}",
        // Concatenations of tricky pieces.
        2 => proptest::collection::vec(proptest::sample::select(TRICKY), 1..4)
            .prop_map(|p| p.concat()),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (proptest::num::f64::NORMAL | proptest::num::f64::ZERO | proptest::num::f64::SUBNORMAL)
            .prop_map(|f| Value::Number(Number::from_f64(f).expect("finite"))),
        string().prop_map(Value::String),
    ]
}

fn object(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    proptest::collection::vec((string(), inner), 0..6)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()))
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            object(inner),
        ]
    })
}

/// A document: a map, as the emitter writes (objects, KRM lists). A document that is only
/// `null` is not one: the reader returns no document for it.
fn document() -> impl Strategy<Value = Value> {
    object(value())
}

fn read_back(text: &str) -> Value {
    let docs = crate::yaml::parse_stream(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(docs.len(), 1, "{text}");
    docs[0].to_json()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Failures become explicit regression tests; nothing is written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn emitted_yaml_reads_back_as_the_same_value(v in document()) {
        let text = value_to_yaml(&v);
        prop_assert_eq!(read_back(&text), v.clone(), "{}", text);
        // Objects (never empty: they have apiVersion and kind) in Kubernetes key order.
        if v.as_object().is_some_and(|m| !m.is_empty()) {
            let text = object_to_yaml(&v);
            prop_assert_eq!(read_back(&text), v, "{}", text);
        }
    }

    #[test]
    fn every_string_reads_back_unchanged_as_key_and_value(s in string()) {
        let v = serde_json::json!({ s.clone(): s, "list": [s] });
        let text = value_to_yaml(&v);
        prop_assert_eq!(read_back(&text), v, "{}", text);
    }
}

/// Found by the property above: a string starting with a digit followed by a multi-byte
/// character made the emitter panic (it sliced the second byte as text).
#[test]
fn a_digit_then_a_multi_byte_character_is_quoted_not_a_panic() {
    let v = serde_json::json!({"k": "0®", "1é": "2𐄀"});
    assert_eq!(value_to_yaml(&v), "\"1é\": \"2𐄀\"\nk: \"0®\"\n");
    assert_eq!(read_back(&value_to_yaml(&v)), v);
}

/// Found by the property above: DEL and the C1 controls went out raw inside double quotes,
/// which YAML readers refuse, and NEL raw is a line break they fold.
#[test]
fn characters_yaml_cannot_hold_raw_are_escaped() {
    let v = serde_json::json!({"k": "a\u{7f}b\u{85}c\u{9f}\u{2028}\u{feff}\u{ffff}"});
    assert_eq!(
        value_to_yaml(&v),
        "k: \"a\\u007Fb\\u0085c\\u009F\\u2028\\uFEFF\\uFFFF\"\n"
    );
    assert_eq!(read_back(&value_to_yaml(&v)), v);
}
