//! The `replicate` backend against the real SOPS: every copy the renderer writes decrypts, the
//! byte-for-byte copies of files with SOPS's default MAC and the namespace-rewritten copies of
//! files encrypted with `--mac-only-encrypted` alike; and rewriting the namespace of a file with
//! the default MAC really breaks it, which is why the renderer refuses to.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::tool;
use crate::harness::{TempDir, read_tree, run_in};

fn sops() -> Option<PathBuf> {
    tool("SOPS", ".cache/bin/sops")
}

fn age_keygen() -> Option<PathBuf> {
    tool("AGE_KEYGEN", ".cache/bin/age-keygen")
}

/// Runs a program with no SOPS configuration around and returns (success, stdout, stderr).
fn run(program: &Path, args: &[&str], key_file: &Path) -> (bool, String, String) {
    let out = Command::new(program)
        .args(args)
        .env("SOPS_AGE_KEY_FILE", key_file)
        .stdin(Stdio::null())
        .output()
        .expect("tool runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CLUSTER: &str = "apiVersion: k8ssandra.io/v1alpha1
kind: K8ssandraCluster
metadata: {name: ledger, namespace: db}
spec:
  reaper: {}
  cassandra:
    serverVersion: 5.0.2
    storageConfig:
      cassandraDataVolumeClaimSpec:
        resources: {requests: {storage: 1Gi}}
    datacenters:
    - metadata: {name: dc1}
      k8sContext: east
      size: 3
    - metadata: {name: dc2, namespace: db-west}
      k8sContext: west
      size: 3
---
apiVersion: config.k8ssandra.io/v1beta1
kind: ClientConfig
metadata: {name: east}
---
apiVersion: config.k8ssandra.io/v1beta1
kind: ClientConfig
metadata: {name: west}
---
apiVersion: gitops.k8ssandra.io/v1alpha1
kind: RenderConfig
metadata: {name: default}
spec:
  secrets: {backend: replicate}
";

/// The password each Secret holds.
fn password(name: &str) -> String {
    format!("pw-of-{name}")
}

fn secret(name: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\ntype: Opaque\nstringData:\n  password: {}\n",
        password(name)
    )
}

#[test]
fn replicated_copies_decrypt_with_the_real_sops() {
    let (Some(sops), Some(keygen)) = (sops(), age_keygen()) else {
        return;
    };
    let keys = TempDir::new("sops-key");
    let key_file = keys.path().join("key.txt");
    let (ok, _, err) = run(&keygen, &["-o", key_file.to_str().unwrap()], &key_file);
    assert!(ok, "{err}");
    let (ok, recipient, err) = run(&keygen, &["-y", key_file.to_str().unwrap()], &key_file);
    assert!(ok, "{err}");
    let recipient = recipient.trim().to_string();

    let repo = TempDir::new("sops-repo");
    fs::write(repo.path().join("cluster.yaml"), CLUSTER).unwrap();
    // name, namespace, file, --mac-only-encrypted
    let committed = [
        ("ledger-superuser", "db", "superuser-db.sops.yaml", false),
        (
            "ledger-superuser",
            "db-west",
            "superuser-db-west.sops.yaml",
            false,
        ),
        ("ledger-reaper", "db", "reaper.sops.yaml", true),
        ("ledger-reaper-ui", "db", "reaper-ui.sops.yaml", true),
    ];
    for (name, namespace, file, mac_only) in committed {
        let path = repo.path().join(file);
        fs::write(&path, secret(name, namespace)).unwrap();
        let mut args = vec![
            "--encrypt",
            "--age",
            &recipient,
            "--encrypted-regex",
            "^(data|stringData)$",
        ];
        if mac_only {
            args.push("--mac-only-encrypted");
        }
        args.extend(["--in-place", path.to_str().unwrap()]);
        let (ok, _, err) = run(&sops, &args, &key_file);
        assert!(ok, "sops --encrypt {file}: {err}");
        assert!(!fs::read_to_string(&path).unwrap().contains(&password(name)));
    }

    let out = TempDir::new("sops-out");
    let dest = out.path().join("rendered");
    let r = run_in(repo.path(), &["render", ".", "-o", dest.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    crate::plaintext_secrets::assert_no_plaintext_secrets(&dest);

    let copies: Vec<(String, String)> = read_tree(&dest)
        .into_iter()
        .filter(|(path, _)| path.contains("/secret-"))
        .collect();
    let mut seen = Vec::new();
    for (path, text) in &copies {
        let (ok, plain, err) = run(
            &sops,
            &["--decrypt", dest.join(path).to_str().unwrap()],
            &key_file,
        );
        assert!(ok, "{path} does not decrypt: {err}\n{text}");
        let namespace = path.split('/').nth(1).unwrap();
        let name = path
            .rsplit('/')
            .next()
            .unwrap()
            .trim_start_matches("secret-")
            .trim_end_matches(".yaml");
        assert!(
            plain.contains(&format!("namespace: {namespace}\n")),
            "{plain}"
        );
        assert!(
            plain.contains(&format!("password: {}\n", password(name))),
            "{plain}"
        );
        // Files with SOPS's default MAC are copied byte for byte.
        if name == "ledger-superuser" {
            let file = if namespace == "db" {
                "superuser-db.sops.yaml"
            } else {
                "superuser-db-west.sops.yaml"
            };
            assert_eq!(*text, fs::read_to_string(repo.path().join(file)).unwrap());
        }
        seen.push(format!("{namespace}/{name}"));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "db-west/ledger-reaper",
            "db-west/ledger-reaper-ui",
            "db-west/ledger-superuser",
            "db/ledger-reaper",
            "db/ledger-reaper-ui",
            "db/ledger-superuser",
        ]
    );

    // The rule the renderer enforces: with the default MAC, changing only the namespace value
    // makes SOPS refuse the file.
    let moved = out.path().join("moved.sops.yaml");
    let original = fs::read_to_string(repo.path().join("superuser-db.sops.yaml")).unwrap();
    let rewritten = original.replacen("namespace: db\n", "namespace: db-west\n", 1);
    assert_ne!(original, rewritten);
    fs::write(&moved, rewritten).unwrap();
    let (ok, _, err) = run(&sops, &["--decrypt", moved.to_str().unwrap()], &key_file);
    assert!(!ok, "a namespace change under SOPS's default MAC decrypted");
    assert!(err.to_lowercase().contains("mac"), "{err}");
}
