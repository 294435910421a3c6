//! The `k8ssandra.io/inject-secret` pod annotation, read by the operator's secret-injection
//! webhook: a JSON list of Secrets to mount into named containers. Reaper and Medusa both add
//! their credentials to it, keeping what the user's pod metadata already lists.

use serde_json::{Map, Value, json};

/// Pod annotation read by the operator's secret-injection webhook.
pub const INJECT_SECRET_ANNOTATION: &str = "k8ssandra.io/inject-secret";
/// Where injected credentials are mounted (`/etc/secrets/<secret>`).
const CREDENTIALS_MOUNT_PATH: &str = "/etc/secrets";

/// One entry of the `k8ssandra.io/inject-secret` list (`SecretInjection`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Injection {
    name: String,
    path: String,
    containers: Vec<String>,
}

/// Why an existing secret-injection annotation cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InjectionError {
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
fn parse_injections(text: &str) -> Result<Vec<Injection>, InjectionError> {
    let v: Value = serde_json::from_str(text)?;
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(InjectionError::NotAList),
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let mut e = Injection {
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
    let mut entries = existing
        .map(parse_injections)
        .transpose()?
        .unwrap_or_default();
    for secret in secrets {
        if !entries.iter().any(|e| e.name == *secret) {
            entries.push(Injection {
                name: (*secret).to_string(),
                path: format!("{CREDENTIALS_MOUNT_PATH}/{secret}"),
                containers: containers.iter().map(|c| (*c).to_string()).collect(),
            });
        }
    }
    Ok(encode_injections(&entries))
}

/// `json.Marshal([]SecretInjection)`: compact, members in the order name, path, containers
/// (omitted when empty), `<`, `>`, `&`, U+2028 and U+2029 escaped as Go does.
fn encode_injections(entries: &[Injection]) -> String {
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
