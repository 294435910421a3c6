//! The `replicate` backend against the real SOPS: every copy the renderer writes decrypts, the
//! byte-for-byte copies of files with SOPS's default MAC and the namespace-rewritten copies of
//! files encrypted with `--mac-only-encrypted` alike; and rewriting the namespace of a file with
//! the default MAC really breaks it, which is why the renderer refuses to.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{TempDir, read_tree, root, run_in, tool};

pub(crate) fn sops() -> Option<PathBuf> {
    tool("SOPS", ".cache/bin/sops")
}

pub(crate) fn age_keygen() -> Option<PathBuf> {
    tool("AGE_KEYGEN", ".cache/bin/age-keygen")
}

fn kustomize() -> Option<PathBuf> {
    tool("KUSTOMIZE", ".cache/bin/kustomize")
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

/// RenderConfig lines that make Flux deliver the output (appended to `spec`).
pub(crate) const FLUX: &str =
    "  flux:\n    sourceRef: {name: cassandra}\n    decryption: {secretRef: {name: sops-age}}\n";

/// The password each Secret holds.
pub(crate) fn password(name: &str) -> String {
    format!("pw-of-{name}")
}

pub(crate) fn secret(name: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\ntype: Opaque\nstringData:\n  password: {}\n",
        password(name)
    )
}

/// An age key and a repository whose credentials are committed encrypted with it.
pub(crate) struct Encrypted {
    _keys: TempDir,
    pub(crate) key_file: PathBuf,
    pub(crate) repo: TempDir,
}

/// The name, namespace, file and `--mac-only-encrypted` of each committed Secret.
pub(crate) const COMMITTED: [(&str, &str, &str, bool); 4] = [
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

pub(crate) fn encrypted_repo(sops: &Path, keygen: &Path, render_config: &str) -> Encrypted {
    let keys = TempDir::new("sops-key");
    let key_file = keys.path().join("key.txt");
    let (ok, _, err) = run(keygen, &["-o", key_file.to_str().unwrap()], &key_file);
    assert!(ok, "{err}");
    let (ok, recipient, err) = run(keygen, &["-y", key_file.to_str().unwrap()], &key_file);
    assert!(ok, "{err}");
    let recipient = recipient.trim().to_string();

    let repo = TempDir::new("sops-repo");
    fs::write(
        repo.path().join("cluster.yaml"),
        format!("{CLUSTER}{render_config}"),
    )
    .unwrap();
    for (name, namespace, file, mac_only) in COMMITTED {
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
        let (ok, _, err) = run(sops, &args, &key_file);
        assert!(ok, "sops --encrypt {file}: {err}");
        assert!(!fs::read_to_string(&path).unwrap().contains(&password(name)));
    }
    Encrypted {
        _keys: keys,
        key_file,
        repo,
    }
}

#[test]
fn replicated_copies_decrypt_with_the_real_sops() {
    let (Some(sops), Some(keygen)) = (sops(), age_keygen()) else {
        return;
    };
    let enc = encrypted_repo(&sops, &keygen, "");
    let (key_file, repo) = (&enc.key_file, &enc.repo);
    let out = TempDir::new("sops-out");
    let dest = out.path().join("rendered");
    let r = run_in(repo.path(), &["render", ".", "-o", dest.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    crate::harness::assert_no_plaintext_secrets(&dest);

    let copies: Vec<(String, String)> = read_tree(&dest)
        .into_iter()
        .filter(|(path, _)| path.contains("/secret-"))
        .collect();
    let mut seen = Vec::new();
    for (path, text) in &copies {
        let (ok, plain, err) = run(
            &sops,
            &["--decrypt", dest.join(path).to_str().unwrap()],
            key_file,
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
    let (ok, _, err) = run(&sops, &["--decrypt", moved.to_str().unwrap()], key_file);
    assert!(!ok, "a namespace change under SOPS's default MAC decrypted");
    assert!(err.to_lowercase().contains("mac"), "{err}");
}

/// KSOPS, the kustomize exec plugin that decrypts the copies under Argo CD (`$KSOPS` or
/// `.cache/bin/ksops`). Unlike the other tools it is optional even under
/// `K8SSANDRA_GITOPS_REQUIRE_TOOLS`: the Go module proxy does not serve
/// github.com/viaduct-ai/kustomize-sops, so `scripts/test` cannot install it (see the README).
fn ksops() -> Option<PathBuf> {
    let path =
        std::env::var_os("KSOPS").map_or_else(|| root().join(".cache/bin/ksops"), PathBuf::from);
    path.is_file().then_some(path)
}

/// `kustomize build [flags] DIR` with `extra_path` first on PATH and the age key for SOPS.
fn kustomize_build(
    kustomize: &Path,
    dir: &Path,
    flags: &[&str],
    extra_path: Option<&Path>,
    key_file: &Path,
) -> (bool, String, String) {
    let mut path = std::env::var("PATH").unwrap_or_default();
    if let Some(p) = extra_path {
        path = format!("{}:{path}", p.display());
    }
    let out = Command::new(kustomize)
        .arg("build")
        .args(flags)
        .arg(dir)
        .env("PATH", path)
        .env("SOPS_AGE_KEY_FILE", key_file)
        .stdin(Stdio::null())
        .output()
        .expect("kustomize runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn parse(stream: &str) -> Vec<Value> {
    k8ssandra_gitops::dev_support::parse_stream(stream)
        .expect("valid YAML")
        .iter()
        .map(k8ssandra_gitops::dev_support::Node::to_json)
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn ksops_generator_lists_the_copies_and_kustomize_decrypts_them() {
    let (Some(sops), Some(keygen), Some(kustomize)) = (sops(), age_keygen(), kustomize()) else {
        return;
    };
    let enc = encrypted_repo(&sops, &keygen, "");
    let out = TempDir::new("ksops-out");
    let dest = out.path().join("rendered");
    let r = run_in(
        enc.repo.path(),
        &["render", ".", "-o", dest.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ksops = ksops();
    if ksops.is_none() {
        eprintln!("ksops not found (set KSOPS): checking the generator wiring only");
    }
    for (context, namespace) in [("east", "db"), ("west", "db-west")] {
        let dir = dest.join(context);
        let copies: Vec<String> = read_tree(&dir)
            .into_iter()
            .map(|(path, _)| path)
            .filter(|path| path.contains("/secret-"))
            .collect();
        assert_eq!(copies.len(), 3, "{context}: {copies:?}");
        // The copies are not resources: the KSOPS generator lists them.
        let k = parse(&fs::read_to_string(dir.join("kustomization.yaml")).unwrap()).remove(0);
        let resources: Vec<&str> = k["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(
            resources.iter().all(|r| !r.contains("/secret-")),
            "{resources:?}"
        );
        assert_eq!(k["generators"], serde_json::json!(["ksops-generator.yaml"]));
        let g = parse(&fs::read_to_string(dir.join("ksops-generator.yaml")).unwrap()).remove(0);
        assert_eq!(g["apiVersion"], "viaduct.ai/v1");
        assert_eq!(g["kind"], "ksops");
        let listed: Vec<String> = g["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().trim_start_matches("./").to_string())
            .collect();
        assert_eq!(listed, copies, "{context}");

        // kustomize with plugins off (as Flux runs it) fails on the generator: the encrypted
        // Secrets are never applied as they are, and the build is never silently incomplete.
        let (ok, built, err) = kustomize_build(&kustomize, &dir, &[], None, &enc.key_file);
        assert!(!ok, "{context}: built without plugins:\n{built}");
        assert!(err.contains("plugin"), "{context}: {err}");

        let exec = ["--enable-alpha-plugins", "--enable-exec"];
        let Some(ksops) = &ksops else {
            // The exec plugin is what runs: without ksops on PATH the build fails naming it.
            let empty = TempDir::new("no-ksops");
            let (ok, _, err) =
                kustomize_build(&kustomize, &dir, &exec, Some(empty.path()), &enc.key_file);
            assert!(!ok && err.contains("ksops"), "{context}: {err}");
            continue;
        };
        let (ok, built, err) =
            kustomize_build(&kustomize, &dir, &exec, ksops.parent(), &enc.key_file);
        assert!(ok, "{context}: kustomize with KSOPS failed:\n{err}");
        let objects = parse(&built);
        let mut secrets: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Secret").collect();
        secrets.sort_by_key(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        // Exactly what was encrypted: plaintext values, the namespace of this context.
        let expected: Vec<Value> = ["ledger-reaper", "ledger-reaper-ui", "ledger-superuser"]
            .iter()
            .map(|name| parse(&secret(name, namespace)).remove(0))
            .collect();
        assert_eq!(
            secrets.into_iter().cloned().collect::<Vec<_>>(),
            expected,
            "{context}"
        );
        // Everything else is built as listed.
        assert_eq!(objects.len(), resources.len() + 3, "{context}");
    }
}

#[test]
fn with_flux_the_copies_stay_resources_and_every_kustomization_decrypts() {
    let (Some(sops), Some(keygen)) = (sops(), age_keygen()) else {
        return;
    };
    let enc = encrypted_repo(&sops, &keygen, FLUX);
    let out = TempDir::new("sops-flux-out");
    let dest = out.path().join("rendered");
    let r = run_in(
        enc.repo.path(),
        &["render", ".", "-o", dest.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tree = read_tree(&dest);
    assert!(
        tree.iter()
            .all(|(p, _)| !p.ends_with("ksops-generator.yaml"))
    );
    for context in ["east", "west"] {
        let k = parse(&fs::read_to_string(dest.join(context).join("kustomization.yaml")).unwrap())
            .remove(0);
        let secrets = k["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r.as_str().unwrap().contains("/secret-"))
            .count();
        assert_eq!(secrets, 3, "{context}: {k}");
        assert!(k.get("generators").is_none(), "{k}");
        let flux = parse(
            &fs::read_to_string(dest.join(format!("flux/kustomization-cassandra-{context}.yaml")))
                .unwrap(),
        )
        .remove(0);
        assert_eq!(
            flux["spec"]["decryption"],
            serde_json::json!({"provider": "sops", "secretRef": {"name": "sops-age"}})
        );
    }
    crate::harness::assert_valid_manifests(&[&dest]);
}
