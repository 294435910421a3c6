//! The upstream corpus (`data/upstream/conformance/k8ssandra-operator/`, 53 real K8ssandraCluster
//! manifests): each (`conformance::<file>`) renders, validates strictly and holds no plaintext
//! Secret, or fails with the reason listed here.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::harness::{
    TempDir, assert_no_plaintext_secrets, assert_valid_manifests, run_in, upstream,
};

/// Encryption stores with internal secrets: the operator embeds keystore passwords read at run
/// time in plain text; see docs/deviations.md ("Refused").
const OFFLINE_ENCRYPTION: &str = "cannot be rendered offline";
/// A `medusaConfigurationRef` names an object the corpus file does not contain: its storage
/// settings are read at run time upstream, offline they must be in the repository.
const MEDUSA_CONFIGURATION_MISSING: &str = "is not in the repository";

/// Fixtures that must not render, with the text their error must contain.
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    // Invalid upstream manifests (the corpus README marks them as negative cases).
    (
        "config-samples-k8ssandracluster.yaml",
        "spec.foo: unknown field",
    ),
    (
        "samples-k8ssandra-single-kind-medusa.yaml",
        "storageSecretRef: expected object",
    ),
    // Not renderable offline, by reason.
    ("multi-dc-cluster-scope.yaml", MEDUSA_CONFIGURATION_MISSING),
    ("multi-dc-encryption-medusa.yaml", OFFLINE_ENCRYPTION),
    ("multi-dc-encryption-reaper.yaml", OFFLINE_ENCRYPTION),
    ("multi-dc-encryption-stargate.yaml", OFFLINE_ENCRYPTION),
    ("single-dc-encryption-medusa.yaml", OFFLINE_ENCRYPTION),
    ("single-dc-encryption-reaper.yaml", OFFLINE_ENCRYPTION),
    ("single-dc-encryption-stargate.yaml", OFFLINE_ENCRYPTION),
];

/// Every `k8sContext: X` value in a manifest, to declare a ClientConfig for each.
fn contexts(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("k8sContext:"))
        .map(|v| {
            v.split('#')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches('"')
                .trim_matches('\'')
                .to_string()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// The corpus manifests, sorted.
fn corpus() -> Vec<PathBuf> {
    let dir = upstream().join("conformance/k8ssandra-operator");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

pub fn trials() -> Vec<Trial> {
    let mut trials = vec![Trial::test("conformance::corpus-complete", || {
        let names: BTreeSet<String> = corpus()
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 53, "the corpus README promises 53 manifests");
        for (file, _) in EXPECTED_FAILURES {
            assert!(
                names.contains(*file),
                "{file}: listed as failing, not in the corpus"
            );
        }
        Ok(())
    })];
    for file in corpus() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        trials.push(Trial::test(format!("conformance::{name}"), move || {
            corpus_case(&name, &file);
            Ok(())
        }));
    }
    trials
}

fn corpus_case(name: &str, file: &Path) {
    let work = TempDir::new("conformance");
    let repo = work.path().join(name.trim_end_matches(".yaml"));
    fs::create_dir_all(&repo).unwrap();
    let text = fs::read_to_string(file).unwrap();
    fs::write(repo.join("cluster.yaml"), &text).unwrap();
    let mut clients = String::new();
    for ctx in contexts(&text) {
        clients.push_str(&format!("---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata:\n  name: {ctx}\nspec:\n  kubeConfigSecret:\n    name: {ctx}\n"));
    }
    fs::write(repo.join("clientconfigs.yaml"), clients).unwrap();
    // The credentials the control plane would generate come from a secret store.
    fs::write(repo.join("render-config.yaml"), "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  secrets:\n    backend: externalSecrets\n    externalSecrets:\n      storeRef: {kind: ClusterSecretStore, name: vault}\n").unwrap();
    let out = repo.join("rendered");
    let run = run_in(&repo, &["render", ".", "-o", out.to_str().unwrap()]);
    match EXPECTED_FAILURES.iter().find(|(f, _)| *f == name) {
        Some((_, needle)) => assert!(
            run.code == 1 && run.stderr.contains(needle),
            "{name}: expected failure containing {needle:?}, got exit {}:\n{}",
            run.code,
            run.stderr
        ),
        None => {
            assert_eq!(
                run.code, 0,
                "{name}: expected to render, got exit {}:\n{}",
                run.code, run.stderr
            );
            assert_no_plaintext_secrets(&out);
            assert_valid_manifests(&[&out]);
        }
    }
}
