//! SOPS-encrypted Secrets committed to the repository (the `replicate` secrets backend).

use serde_json::Value;

use crate::yaml::Pos;

/// A SOPS-encrypted Secret committed to the repository, alone in its file.
#[derive(Debug, Clone)]
pub struct SopsSecret {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (always set, in plain text).
    pub namespace: String,
    /// The document as JSON.
    pub object: Value,
    /// The whole file, which is this one document: copied byte for byte.
    pub text: String,
    /// `sops.mac_only_encrypted: true`: the MAC covers the encrypted values only, so the
    /// (plaintext) `metadata.namespace` may be changed without breaking decryption.
    pub mac_only_encrypted: bool,
    /// Where the `metadata.namespace` value starts in `text`.
    pub namespace_pos: Pos,
    /// The file, as shown in diagnostics.
    pub file: String,
}

impl SopsSecret {
    /// The copy for another namespace: `text` with only the `metadata.namespace` value
    /// replaced. `None` when the MAC covers the namespace (SOPS's default) or the value is not
    /// a one-line scalar that can be replaced safely.
    #[must_use]
    pub fn in_namespace(&self, namespace: &str) -> Option<(Value, String)> {
        if !self.mac_only_encrypted {
            return None;
        }
        let line_index = usize::try_from(self.namespace_pos.line)
            .ok()?
            .checked_sub(1)?;
        let column = usize::try_from(self.namespace_pos.column)
            .ok()?
            .checked_sub(1)?;
        let mut lines: Vec<String> = self.text.split('\n').map(str::to_string).collect();
        let line = lines.get(line_index)?;
        let chars: Vec<char> = line.chars().collect();
        let rest: String = chars.get(column..)?.iter().collect();
        let token_len = match rest.chars().next()? {
            q @ ('"' | '\'') => rest[1..].find(q)? + 2,
            _ => rest
                .find(|c: char| c.is_whitespace() || c == '#')
                .unwrap_or(rest.len()),
        };
        let token = &rest[..token_len];
        if token.trim_matches(['"', '\'']) != self.namespace {
            return None;
        }
        let prefix: String = chars[..column].iter().collect();
        lines[line_index] = format!("{prefix}{namespace}{}", &rest[token_len..]);
        let mut object = self.object.clone();
        object["metadata"]["namespace"] = namespace.into();
        Some((object, lines.join("\n")))
    }
}
