//! Small helpers over `serde_json` values, one copy each, for every stage that reads the
//! untyped parts of the input (templates the model keeps as JSON) or builds objects, typed
//! (k8s-openapi) or not.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A typed Kubernetes object as the JSON value the renderer emits. k8s-openapi's `Serialize`
/// writes `apiVersion` and `kind` from the type's `Resource` constants and leaves unset
/// `Option`s out (key order does not matter: the emitter sorts every map).
pub(crate) fn to_object<T: k8s_openapi::Resource + Serialize>(object: &T) -> Value {
    // Cannot fail: k8s-openapi types hold no non-string map keys.
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// Metadata with a name, a namespace when given, and labels and annotations only when not
/// empty: `Some(empty)` would be written as `{}`, which the objects we build never carry.
pub(crate) fn object_meta(
    name: impl Into<String>,
    namespace: Option<&str>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(str::to_string),
        labels: (!labels.is_empty()).then_some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

/// Drops the spare capacity of every object and array in `value`, for values kept until the end
/// of the run (the typed input, the plans): a parsed or merged map holds room for about twice
/// its entries, and at fleet scale that room is most of the memory. Key order is kept.
pub(crate) fn compact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // Collected from an exact-size iterator: room for exactly these entries.
            *map = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    compact(&mut v);
                    (k, v)
                })
                .collect();
        }
        Value::Array(items) => {
            items.shrink_to_fit();
            items.iter_mut().for_each(compact);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// [`compact`] for a map.
pub(crate) fn compact_map(map: &mut Map<String, Value>) {
    let mut value = Value::Object(std::mem::take(map));
    compact(&mut value);
    if let Value::Object(compacted) = value {
        *map = compacted;
    }
}

/// The string at `path` (object keys), or `""` when anything on the way is missing or the
/// value is not a string.
pub(crate) fn str_at<'v>(v: &'v Value, path: &[&str]) -> &'v str {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or_default()
}

/// The string at JSON pointer `pointer`, or `""` when it is missing or not a string.
#[cfg_attr(
    not(any(feature = "cli", feature = "reporter")),
    allow(dead_code, reason = "plan/diff's and the reporter's")
)]
pub(crate) fn str_at_pointer<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `map[key]` as an object, created (or replacing a non-object) if needed.
pub(crate) fn object_entry<'m>(
    map: &'m mut Map<String, Value>,
    key: &str,
) -> &'m mut Map<String, Value> {
    let v = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// `map[key]` as an array, created (or replacing a non-array) if needed.
pub(crate) fn array_entry<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Vec<Value> {
    let v = map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if !v.is_array() {
        *v = Value::Array(Vec::new());
    }
    match v {
        Value::Array(a) => a,
        _ => unreachable!("just made an array"),
    }
}

/// The string members of a JSON map (others dropped), as typed objects take labels.
pub(crate) fn string_pairs(m: &Map<String, Value>) -> std::collections::BTreeMap<String, String> {
    m.iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}

/// [`str_at`] starting from an object's members.
pub(crate) fn str_in<'v>(m: &'v Map<String, Value>, path: &[&str]) -> &'v str {
    match path.split_first() {
        Some((first, rest)) => m.get(*first).map_or("", |v| str_at(v, rest)),
        None => "",
    }
}

/// The integer at `path`, or 0.
pub(crate) fn int_at(v: &Value, path: &[&str]) -> i64 {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(n) => cur = n,
            None => return 0,
        }
    }
    cur.as_i64().unwrap_or(0)
}

/// The strings of a JSON list (anything else: none).
pub(crate) fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The string members of a JSON object (labels, annotations); anything else: empty.
pub(crate) fn string_map(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, x)| x.is_string())
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes nulls and empty maps below the top level, recursively (Go drops empty maps, and
/// metadata structs such as `pods`/`service` carry nothing when empty).
pub(crate) fn prune_empty(meta: Map<String, Value>) -> Map<String, Value> {
    meta.into_iter()
        .filter_map(|(k, v)| match v {
            Value::Object(m) => {
                let m = prune_empty(m);
                (!m.is_empty()).then(|| (k, Value::Object(m)))
            }
            Value::Null => None,
            other => Some((k, other)),
        })
        .collect()
}

/// Whether Go's `omitempty` would leave this value out (objects never are: structs are kept).
pub(crate) fn is_omitempty_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

/// Whether a value is zero all the way down (an object whose members are all zero counts):
/// Go's `reflect.Value.IsZero` on a struct decoded from this JSON.
pub(crate) fn is_deep_zero(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.values().all(is_deep_zero),
        other => is_omitempty_zero(other),
    }
}

/// Drops the members Go's `omitempty` leaves out from the first level of an object: what Go's
/// encoder writes for the small structs of the Reaper and Stargate templates (`Image`,
/// `LocalObjectReference`, `AutoScheduling`, `AuthOptions`, ...).
pub(crate) fn drop_zero_members(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !is_omitempty_zero(x))
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// sha256 of a value's content in a fixed binary form (type tags, length-prefixed strings,
/// object keys sorted), so that hashes which roll pods or name Jobs change only when the
/// content does, never with the YAML emitter's quoting or layout.
pub(crate) fn content_digest(v: &Value) -> [u8; 32] {
    fn feed(h: &mut Sha256, v: &Value) {
        let len = |h: &mut Sha256, n: usize| h.update((n as u64).to_le_bytes());
        match v {
            Value::Null => h.update(b"n"),
            Value::Bool(b) => h.update(if *b { b"t" } else { b"f" }),
            Value::Number(n) => {
                let text = n.to_string();
                h.update(b"d");
                len(h, text.len());
                h.update(text.as_bytes());
            }
            Value::String(s) => {
                h.update(b"s");
                len(h, s.len());
                h.update(s.as_bytes());
            }
            Value::Array(items) => {
                h.update(b"a");
                len(h, items.len());
                items.iter().for_each(|i| feed(h, i));
            }
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                h.update(b"o");
                len(h, keys.len());
                for k in keys {
                    len(h, k.len());
                    h.update(k.as_bytes());
                    feed(h, &m[k]);
                }
            }
        }
    }
    let mut h = Sha256::new();
    feed(&mut h, v);
    h.finalize().into()
}

/// [`content_digest`] as lowercase hex, `bytes` bytes of it.
pub(crate) fn content_hash_hex(v: &Value, bytes: usize) -> String {
    content_digest(v)[..bytes.min(32)]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Compacting keeps every value and the order of every map's keys.
    #[test]
    fn compact_keeps_content_and_key_order() {
        let mut grown = Map::new();
        for key in ["z", "a", "m"] {
            grown.insert(
                key.into(),
                json!({"y": [1, {"q": null, "b": "x"}], "c": true}),
            );
        }
        let mut value = Value::Object(grown);
        let before = value.clone();
        compact(&mut value);
        assert_eq!(value, before);
        assert_eq!(
            serde_json::to_string(&value).ok(),
            serde_json::to_string(&before).ok()
        );
        let mut map = before.as_object().cloned().unwrap_or_default();
        compact_map(&mut map);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["z", "a", "m"]);
    }

    /// The digest depends on content only: key order does not count, types and boundaries do.
    #[test]
    fn content_digest_is_canonical() {
        let a = json!({"b": [1, "x"], "a": {"y": null, "x": true}});
        let b = json!({"a": {"x": true, "y": null}, "b": [1, "x"]});
        assert_eq!(content_digest(&a), content_digest(&b));
        for other in [
            json!({"b": [1, "x"], "a": {"y": null, "x": false}}),
            json!({"b": ["1", "x"], "a": {"y": null, "x": true}}),
            json!({"b": [1, "x", null], "a": {"y": null, "x": true}}),
            json!({"ba": [1, "x"], "a": {"y": null, "x": true}}),
        ] {
            assert_ne!(content_digest(&a), content_digest(&other), "{other}");
        }
        // "ab" + "c" and "a" + "bc" must not collide.
        assert_ne!(
            content_digest(&json!(["ab", "c"])),
            content_digest(&json!(["a", "bc"]))
        );
        // The encoding, computed independently (sha256 of b"o" + le64(1) + le64(1) + b"k" +
        // b"s" + le64(1) + b"v"): changing it would restart every datacenter, so it is pinned.
        assert_eq!(
            content_hash_hex(&json!({"k": "v"}), 32),
            "6b7a41c39ad8160807385e8092bffb3cffa7584a1582039c3ad577337200c361"
        );
        assert_eq!(content_hash_hex(&json!({"k": "v"}), 5), "6b7a41c39a");
    }

    /// The type's apiVersion and kind are written; unset fields and empty metadata maps are not.
    #[test]
    fn typed_objects_carry_their_type_and_only_what_is_set() {
        use k8s_openapi::api::core::v1::ConfigMap;
        let cm = ConfigMap {
            metadata: object_meta("x", None, BTreeMap::new(), BTreeMap::new()),
            ..ConfigMap::default()
        };
        assert_eq!(
            to_object(&cm),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        );
        let labels = BTreeMap::from([("l".to_string(), "v".to_string())]);
        let cm = ConfigMap {
            metadata: object_meta("x", Some("ns"), labels.clone(), labels),
            data: Some(BTreeMap::new()),
            ..ConfigMap::default()
        };
        assert_eq!(
            to_object(&cm),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {},
                "metadata": {"name": "x", "namespace": "ns", "labels": {"l": "v"}, "annotations": {"l": "v"}}})
        );
    }

    #[test]
    fn paths_and_zero_values() {
        let v = json!({"a": {"b": "x", "n": 3, "l": ["p", 1, "q"]}, "z": {"e": "", "f": [], "g": {"h": false}}});
        assert_eq!(str_at(&v, &["a", "b"]), "x");
        assert_eq!(str_at(&v, &["a", "n"]), "");
        assert_eq!(str_at(&v, &["missing", "b"]), "");
        assert_eq!(str_in(v.as_object().unwrap(), &["a", "b"]), "x");
        assert_eq!(int_at(&v, &["a", "n"]), 3);
        assert_eq!(string_list(v.pointer("/a/l")), ["p", "q"]);
        assert!(is_deep_zero(&v["z"]));
        assert!(!is_omitempty_zero(&v["z"]));
        assert_eq!(drop_zero_members(&v["z"]), json!({"g": {"h": false}}));
        let nested = json!({"e": "", "g": {"h": {}}, "n": null, "k": {"x": 0, "y": {}}});
        assert_eq!(
            Value::Object(prune_empty(nested.as_object().unwrap().clone())),
            json!({"e": "", "k": {"x": 0}})
        );
        assert_eq!(
            string_map(Some(&json!({"k": "v", "n": 1}))),
            json!({"k": "v"}).as_object().unwrap().clone()
        );
    }
}
