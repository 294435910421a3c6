//! SOPS-encrypted Secrets committed to the repository: refused in plain text, typed once here
//! for the `replicate` secrets backend.

use serde_json::Value;

use super::{Doc, Inputs};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::secret::SopsSecret;
use crate::yaml::Seg;

/// Checks a document of kind Secret (any apiVersion: a plaintext one is refused whatever it
/// says). A plaintext one is refused; an encrypted one must be alone in its file (so the copy
/// can be the exact bytes the SOPS MAC was computed over), name its namespace (the copy cannot
/// change it) and be the only one of its name and namespace. `None` for other kinds and for
/// Secrets with problems (`diags` says why).
pub(super) fn committed_secret(
    doc: &Doc<()>,
    inputs: &Inputs,
    diags: &mut Vec<Diagnostic>,
) -> Option<SopsSecret> {
    let node = &doc.node;
    let text = |k: &str| node.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    // Any document of kind Secret: a plaintext one is refused even with a wrong apiVersion.
    if text("kind") != "Secret" {
        return None;
    }
    let object = node.to_json();
    let has_sops = object.get("sops").is_some_and(Value::is_object);
    let carries_data = ["data", "stringData"].iter().any(|k| {
        object
            .get(*k)
            .is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty()))
    });
    if !has_sops {
        if carries_data {
            diags.push(doc.error(
Code::CommittedSecret,
                Vec::new(),
                "plaintext Secret in the repository: credentials must never be committed unencrypted; encrypt it with SOPS (`sops --encrypt --encrypted-regex '^(data|stringData)$' --in-place FILE`) or use the externalSecrets backend",
            ));
        }
        return None;
    }
    if text("apiVersion") != "v1" {
        return None;
    }
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // SOPS metadata does not make values encrypted: an `--encrypted-regex` that misses
    // `data` leaves them in plain text next to a valid `sops:` block.
    let mut plain = false;
    for key in ["data", "stringData"] {
        for (k, v) in object
            .get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if !v.as_str().is_some_and(|s| s.starts_with("ENC[")) {
                plain = true;
                diags.push(doc.error(
Code::CommittedSecret,
                    vec![Seg::Key(key.into()), Seg::Key(k.clone())],
                    "value in plain text although the file has SOPS metadata: every value of data and stringData must be encrypted (`sops --encrypt --encrypted-regex '^(data|stringData)$' --in-place FILE`)",
                ));
            }
        }
    }
    // SOPS encrypts data and stringData, not annotations: kubectl apply's
    // last-applied-configuration (or any annotation holding the object) keeps the values in
    // plain text, and the copy would carry them into every context.
    for (k, v) in object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(text) = v.as_str().filter(|t| !t.starts_with("ENC[")) else {
            continue;
        };
        let holds_data = serde_json::from_str::<Value>(text)
            .ok()
            .or_else(|| {
                crate::yaml::parse_stream(text)
                    .ok()
                    .and_then(|d| d.first().map(crate::yaml::Node::to_json))
            })
            .is_some_and(|o| o.get("data").is_some() || o.get("stringData").is_some());
        if k == "kubectl.kubernetes.io/last-applied-configuration" || holds_data {
            plain = true;
            diags.push(doc.error(
Code::CommittedSecret,
                vec![
                    Seg::Key("metadata".into()),
                    Seg::Key("annotations".into()),
                    Seg::Key(k.clone()),
                ],
                "annotation holds the Secret in plain text (SOPS does not encrypt annotations, and every copy would carry it): remove the annotation, e.g. create the file with `kubectl create secret ... --dry-run=client -o yaml` instead of `kubectl get -o yaml`, then encrypt it again",
            ));
        }
    }
    if plain {
        return None;
    }
    let Some(namespace) = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        diags.push(doc.error(
Code::CommittedSecret,
            vec![Seg::Key("metadata".into())],
            "a SOPS-encrypted Secret must set metadata.namespace: the renderer copies the file and never adds a value to it (SOPS's MAC would no longer match)",
        ));
        return None;
    };
    if namespace.starts_with("ENC[") {
        diags.push(doc.error(
Code::CommittedSecret,
            vec![Seg::Key("metadata".into()), Seg::Key("namespace".into())],
            "metadata.namespace of a SOPS-encrypted Secret must stay in plain text: the renderer places the copies by namespace (encrypt only data and stringData: `--encrypted-regex '^(data|stringData)$'`)",
        ));
        return None;
    }
    let mac_only_encrypted = matches!(
        object.pointer("/sops/mac_only_encrypted"),
        Some(Value::Bool(true))
    ) || object
        .pointer("/sops/mac_only_encrypted")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("true"));
    let namespace_pos = node
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .map(|n| n.pos)
        .unwrap_or_default();
    let Some(file_text) = inputs.secret_files.get(&doc.origin.rel_path) else {
        diags.push(doc.error(
Code::CommittedSecret,
            Vec::new(),
            "a SOPS-encrypted Secret must be the only document in its file, so that it can be copied byte for byte",
        ));
        return None;
    };
    if let Some(first) = inputs
        .sops_secrets
        .iter()
        .map(|d| &d.value)
        .find(|s| s.name == name && s.namespace == namespace)
    {
        diags.push(
            doc.error(
                Code::Duplicate,
                vec![Seg::Key("metadata".into())],
                format!(
                    "a second SOPS-encrypted Secret {name:?} for namespace {namespace:?}; keep one"
                ),
            )
            .with_related(
                first.file.clone(),
                first.namespace_pos,
                "first defined here",
            ),
        );
        return None;
    }
    Some(SopsSecret {
        name,
        namespace: namespace.to_string(),
        object,
        text: file_text.clone(),
        mac_only_encrypted,
        namespace_pos,
        file: doc.origin.file.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_of(text: &str) -> (Vec<SopsSecret>, Vec<Diagnostic>) {
        committed_of_files(&[text])
    }

    fn committed_of_files(texts: &[&str]) -> (Vec<SopsSecret>, Vec<Diagnostic>) {
        let files: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| crate::source::SourceFile {
                rel_path: format!("s{i}.sops.yaml"),
                display_path: format!("s{i}.sops.yaml").into(),
                text: (*text).into(),
            })
            .collect();
        let (inputs, diags) = crate::load::load(&files);
        let got = inputs.sops_secrets.into_iter().map(|d| d.value).collect();
        (got, diags)
    }

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: s\n    namespace: db # source\ndata:\n    password: ENC[AES256_GCM,data:aGk=,iv:x,tag:y,type:str]\nsops:\n    mac: ENC[AES256_GCM,data:m,iv:x,tag:y,type:str]\n    version: 3.9.4\n";

    #[test]
    fn only_a_mac_over_encrypted_values_lets_the_namespace_change() {
        // SOPS's default MAC covers metadata.namespace: no copy for another namespace.
        let (got, diags) = committed_of(SECRET);
        assert!(diags.is_empty(), "{diags:#?}");
        assert!(got[0].in_namespace("db-west").is_none());

        let mac_only = SECRET.replace("    version:", "    mac_only_encrypted: true\n    version:");
        let (got, _) = committed_of(&mac_only);
        let (object, text) = got[0].in_namespace("db-west").unwrap();
        assert_eq!(object["metadata"]["namespace"], "db-west");
        // Every other byte is the committed file's, the comment after the value included.
        assert_eq!(
            text,
            mac_only.replace("namespace: db # source", "namespace: db-west # source")
        );

        let quoted = mac_only.replace("namespace: db #", "namespace: \"db\" #");
        let (got, _) = committed_of(&quoted);
        let (_, text) = got[0].in_namespace("other").unwrap();
        assert!(text.contains("    namespace: other # source\n"), "{text}");
    }

    #[test]
    fn an_annotation_holding_the_plaintext_secret_is_refused() {
        let applied = SECRET.replace(
            "    namespace: db # source\n",
            "    namespace: db # source\n    annotations:\n        kubectl.kubernetes.io/last-applied-configuration: |\n            {\"apiVersion\":\"v1\",\"data\":{\"password\":\"aGk=\"},\"kind\":\"Secret\"}\n",
        );
        let (got, diags) = committed_of(&applied);
        assert!(got.is_empty(), "never copied");
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].pos.line, 7);
        assert_eq!(
            diags[0].path,
            [
                Seg::Key("metadata".into()),
                Seg::Key("annotations".into()),
                Seg::Key("kubectl.kubernetes.io/last-applied-configuration".into())
            ]
        );
        assert!(
            diags[0]
                .message
                .starts_with("annotation holds the Secret in plain text")
        );
        // Any annotation carrying the object's data, whatever its name.
        let copied = SECRET.replace(
            "    namespace: db # source\n",
            "    namespace: db # source\n    annotations:\n        backup/original: '{stringData: {password: hunter2}}'\n        team: data\n",
        );
        let (got, diags) = committed_of(&copied);
        assert!(got.is_empty());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        // An encrypted annotation before it does not hide it.
        let after_encrypted = SECRET.replace(
            "    namespace: db # source\n",
            "    namespace: db # source\n    annotations:\n        a-first: ENC[AES256_GCM,data:aGk=,iv:x,tag:y,type:str]\n        kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{}}'\n",
        );
        let (got, diags) = committed_of(&after_encrypted);
        assert!(got.is_empty());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].pos.line, 8);
        // An ordinary annotation is fine.
        let fine = SECRET.replace(
            "    namespace: db # source\n",
            "    namespace: db # source\n    annotations:\n        team: data\n",
        );
        let (got, diags) = committed_of(&fine);
        assert_eq!((got.len(), diags.len()), (1, 0), "{diags:#?}");
    }

    #[test]
    fn sops_metadata_does_not_excuse_plaintext_values_or_an_encrypted_namespace() {
        let half = SECRET.replace("\ndata:\n", "\ndata:\n    username: c2VjcmV0\n");
        let (got, diags) = committed_of(&half);
        assert!(got.is_empty());
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].pos.line, 7);
        assert_eq!(
            diags[0].path,
            [Seg::Key("data".into()), Seg::Key("username".into())]
        );
        assert!(
            diags[0]
                .message
                .contains("value in plain text although the file has SOPS metadata")
        );

        let hidden = SECRET.replace(
            "namespace: db # source",
            "namespace: ENC[AES256_GCM,data:ZGI=,iv:x,tag:y,type:str]",
        );
        let (got, diags) = committed_of(&hidden);
        assert!(got.is_empty());
        assert!(
            diags[0].message.contains("must stay in plain text"),
            "{diags:#?}"
        );
    }

    #[test]
    fn one_committed_secret_per_name_and_namespace() {
        let other = SECRET.replace("namespace: db #", "namespace: db-west #");
        let (got, diags) = committed_of_files(&[SECRET, &other, SECRET]);
        assert_eq!(got.len(), 2);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].file, std::path::PathBuf::from("s2.sops.yaml"));
        assert_eq!(
            diags[0].to_string(),
            "s2.sops.yaml:3:1: error[E0301]: metadata: a second SOPS-encrypted Secret \"s\" for namespace \"db\"; keep one (first defined here: s0.sops.yaml:5:16)",
            "{diags:#?}"
        );
    }
}
