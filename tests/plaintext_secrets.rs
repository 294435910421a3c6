//! No rendered tree ever holds a Secret with plaintext data: every tree the suite renders
//! (fixtures, examples, the upstream corpus) goes through [`assert_no_plaintext_secrets`].

use std::fs;
use std::path::Path;

use crate::harness::{TempDir, root, run_in};

/// Every problem: a Secret with `data`/`stringData` whose values are not all SOPS-encrypted.
pub fn plaintext_secrets(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            let docs = k8ssandra_gitops::yaml::parse_stream(&text)
                .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
            for doc in docs {
                let v = doc.to_json();
                if v["kind"] != "Secret" {
                    continue;
                }
                let encrypted = v.get("sops").is_some_and(serde_json::Value::is_object);
                for key in ["data", "stringData"] {
                    let Some(values) = v.get(key).and_then(serde_json::Value::as_object) else {
                        continue;
                    };
                    for (k, value) in values {
                        let sealed = value.as_str().is_some_and(|s| s.starts_with("ENC["));
                        if !(encrypted && sealed) {
                            problems.push(format!(
                                "{}: Secret {}: {key}.{k} is not SOPS-encrypted",
                                path.display(),
                                v["metadata"]["name"]
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// Fails the test when any Secret under `dir` carries plaintext data.
pub fn assert_no_plaintext_secrets(dir: &Path) {
    let problems = plaintext_secrets(dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_catches_plaintext_and_half_encrypted_secrets() {
    let t = TempDir::new("plain");
    fs::create_dir_all(t.path().join("ctx/ns")).unwrap();
    fs::write(
        t.path().join("ctx/ns/secret-a.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {password: hunter2}\n",
    )
    .unwrap();
    fs::write(
        t.path().join("ctx/ns/secret-b.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: b}\ndata:\n  username: ENC[AES256_GCM,data:x,type:str]\n  password: cGxhaW4=\nsops: {version: 3.9.4}\n",
    )
    .unwrap();
    fs::write(
        t.path().join("ctx/ns/secret-c.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: c}\ndata:\n  password: ENC[AES256_GCM,data:x,type:str]\nsops: {version: 3.9.4}\n",
    )
    .unwrap();
    let problems = plaintext_secrets(t.path());
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("Secret \"a\": stringData.password")
            || problems[1].contains("Secret \"a\": stringData.password")
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Secret \"b\": data.password"))
    );
}

#[test]
fn no_fixture_or_example_renders_a_plaintext_secret() {
    let out = TempDir::new("no-plain");
    let mut cases: Vec<_> = fs::read_dir(root().join("fixtures/render"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    for case in &cases {
        let dest = out.path().join(case.file_name().unwrap());
        let run = run_in(case, &["render", ".", "-o", dest.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}: {}", case.display(), run.stderr);
        assert_no_plaintext_secrets(&dest);
    }
    assert_no_plaintext_secrets(&root().join("examples/rendered"));
}
