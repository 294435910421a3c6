//! Small helpers over `serde_json` values, one copy each, for every stage that reads the
//! untyped parts of the input (templates the model keeps as JSON) or builds objects.

use serde_json::{Map, Value};

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
