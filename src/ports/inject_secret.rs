//! The `k8ssandra.io/inject-secret` pod annotation, read by the operator's secret-injection
//! webhook: a JSON list of Secrets to mount into named containers. Reaper and Medusa both add
//! their credentials to it, keeping what the user's pod metadata already lists. Reading a
//! written value ([`parse_injections`]) can fail, adding to entries already read
//! ([`append_secret_injections`]) cannot: the plan reads what it can check up front.

use serde_json::{Map, Value, json};

/// Pod annotation read by the operator's secret-injection webhook.
pub const INJECT_SECRET_ANNOTATION: &str = "k8ssandra.io/inject-secret";
/// Where injected credentials are mounted (`/etc/secrets/<secret>`).
const CREDENTIALS_MOUNT_PATH: &str = "/etc/secrets";

/// One entry of the `k8ssandra.io/inject-secret` list (`SecretInjection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInjection {
    name: String,
    path: String,
    containers: Vec<String>,
}

/// Why an existing secret-injection annotation cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InjectionError {
    /// Not JSON at all.
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a list.
    #[error("expected a JSON list of {{name, path, containers}}")]
    NotAList,
    /// A list entry that is not an object.
    #[error("entry {0} is not an object")]
    NotAnObject(usize),
    /// A `containers` item that is not a string.
    #[error("entry {0}: containers must be strings")]
    ContainerNotString(usize),
    /// A member of the wrong JSON type.
    #[error("entry {entry}: {field} has the wrong type")]
    WrongType {
        /// The entry's index.
        entry: usize,
        /// The member.
        field: &'static str,
    },
}

/// Reads an existing annotation value the way `json.Unmarshal` into `[]SecretInjection` does:
/// `null` is an empty list, member names match case-insensitively, unknown members are ignored.
///
/// # Errors
/// When the value is not such a list ([`InjectionError`] says how).
pub fn parse_injections(text: &str) -> Result<Vec<SecretInjection>, InjectionError> {
    let v: Value = serde_json::from_str(text)?;
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(InjectionError::NotAList),
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let mut e = SecretInjection {
            name: String::new(),
            path: String::new(),
            containers: Vec::new(),
        };
        let fields = match item {
            Value::Null => Map::new(),
            Value::Object(m) => m,
            _ => return Err(InjectionError::NotAnObject(i)),
        };
        for field in ["name", "path", "containers"] {
            // Go prefers an exact match, then any case-insensitive one (the last one wins).
            let value = fields.get(field).or_else(|| {
                fields
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(field))
                    .map(|(_, v)| v)
                    .next_back()
            });
            match (field, value) {
                (_, None | Some(Value::Null)) => {}
                ("name", Some(Value::String(s))) => e.name.clone_from(s),
                ("path", Some(Value::String(s))) => e.path.clone_from(s),
                ("containers", Some(Value::Array(cs))) => {
                    for c in cs {
                        match c {
                            Value::String(s) => e.containers.push(s.clone()),
                            Value::Null => e.containers.push(String::new()),
                            _ => return Err(InjectionError::ContainerNotString(i)),
                        }
                    }
                }
                _ => return Err(InjectionError::WrongType { entry: i, field }),
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// `AddInjectionAnnotation` for each of `secrets`: adds the secret (mounted into `containers`)
/// unless an entry with its name exists, keeping what the annotation value `existing` has;
/// returns the new value.
pub(crate) fn add_secret_injections(
    existing: Option<&str>,
    secrets: &[&str],
    containers: &[&str],
) -> Result<String, InjectionError> {
    let entries = existing
        .map(parse_injections)
        .transpose()?
        .unwrap_or_default();
    Ok(append_secret_injections(entries, secrets, containers))
}

/// [`add_secret_injections`] on entries already read: adds each of `secrets` (mounted into
/// `containers`) unless an entry with its name exists; returns the annotation value.
#[must_use]
pub fn append_secret_injections(
    mut entries: Vec<SecretInjection>,
    secrets: &[&str],
    containers: &[&str],
) -> String {
    for secret in secrets {
        if !entries.iter().any(|e| e.name == *secret) {
            entries.push(SecretInjection {
                name: (*secret).to_string(),
                path: format!("{CREDENTIALS_MOUNT_PATH}/{secret}"),
                containers: containers.iter().map(|c| (*c).to_string()).collect(),
            });
        }
    }
    encode_injections(&entries)
}

/// `json.Marshal([]SecretInjection)`: compact, members in the order name, path, containers
/// (omitted when empty), `<`, `>`, `&`, U+2028 and U+2029 escaped as Go does.
fn encode_injections(entries: &[SecretInjection]) -> String {
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut m = Map::new();
            m.insert("name".into(), e.name.clone().into());
            m.insert("path".into(), e.path.clone().into());
            if !e.containers.is_empty() {
                m.insert("containers".into(), json!(e.containers));
            }
            Value::Object(m)
        })
        .collect();
    go_html_escape(&Value::Array(items).to_string())
}

fn go_html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `json.Unmarshal` into `[]SecretInjection`: `null` is empty, member names match without
    /// case, unknown members are ignored; what is not such a list is refused.
    #[test]
    fn reading_a_written_value() {
        assert_eq!(parse_injections("null").unwrap(), []);
        assert_eq!(
            parse_injections(r#"[{"NAME": "a", "path": "/p", "x": 1}, null]"#).unwrap(),
            [
                SecretInjection {
                    name: "a".into(),
                    path: "/p".into(),
                    containers: Vec::new()
                },
                SecretInjection {
                    name: String::new(),
                    path: String::new(),
                    containers: Vec::new()
                },
            ]
        );
        for (text, why) in [
            ("nope", "not valid JSON"),
            ("{}", "expected a JSON list"),
            ("[1]", "entry 0 is not an object"),
            (
                r#"[{"containers": [1]}]"#,
                "entry 0: containers must be strings",
            ),
            (r#"[{"name": 1}]"#, "entry 0: name has the wrong type"),
        ] {
            let err = parse_injections(text).expect_err(text).to_string();
            assert!(err.starts_with(why), "{text}: {err}");
        }
    }

    /// Appending keeps what was there, skips a name already listed, and encodes as Go does.
    #[test]
    fn appending_to_entries_read() {
        let entries = parse_injections(r#"[{"name": "x&y", "path": "/p"}]"#).unwrap();
        assert_eq!(
            append_secret_injections(entries, &["x&y", "s"], &["c"]),
            r#"[{"name":"x\u0026y","path":"/p"},{"name":"s","path":"/etc/secrets/s","containers":["c"]}]"#
        );
        assert_eq!(
            add_secret_injections(Some("nope"), &["s"], &["c"]).map_err(|e| e.to_string()),
            Err("not valid JSON: expected ident at line 1 column 2".to_string())
        );
    }
}
