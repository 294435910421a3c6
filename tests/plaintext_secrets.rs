//! No rendered tree ever holds a Secret with plaintext data: every tree the suite renders
//! (fixtures, examples, the upstream corpus) goes through
//! [`assert_no_plaintext_secrets`](crate::harness::assert_no_plaintext_secrets).

use std::fs;

use crate::harness::{TempDir, assert_no_plaintext_secrets, plaintext_secrets, root};

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

/// The committed example output (the render fixtures and the upstream corpus are checked case by
/// case in the `fixtures` test binary).
#[test]
fn the_example_output_holds_no_plaintext_secret() {
    assert_no_plaintext_secrets(&root().join("examples/rendered"));
}
