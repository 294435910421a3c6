//! Every `fixtures/render/<case>` renders, matches its reviewed snapshot, passes strict
//! validation against the upstream schemas and holds no plaintext Secret (`render::<case>`);
//! rendering one context gives exactly what the whole render puts there
//! (`one-context::<case>`, also for the example repository).

use std::path::Path;

use libtest_mimic::Trial;

use crate::harness::{
    TempDir, assert_no_plaintext_secrets, assert_valid_manifests, root, run_in, tree_text,
};

/// At least this many fixtures: a guard against an emptied or misplaced directory.
const MIN_FIXTURES: usize = 22;

pub fn trials() -> Vec<Trial> {
    let cases = crate::entries(&root().join("fixtures/render"));
    let mut trials = vec![Trial::test("render::fixtures-present", || {
        let n = crate::entries(&root().join("fixtures/render")).len();
        assert!(n >= MIN_FIXTURES, "only {n} render fixtures");
        Ok(())
    })];
    for (name, path) in &cases {
        let (name, path) = (name.clone(), path.clone());
        trials.push(Trial::test(format!("render::{name}"), move || {
            render_case(&name, &path);
            Ok(())
        }));
    }
    let examples = ("examples".to_string(), root().join("examples"));
    for (name, path) in cases.into_iter().chain([examples]) {
        trials.push(Trial::test(format!("one-context::{name}"), move || {
            one_context_case(&path);
            Ok(())
        }));
    }
    trials
}

fn render_case(name: &str, case: &Path) {
    let out = TempDir::new("fixtures");
    let dest = out.path().join(name);
    let run = run_in(case, &["render", ".", "-o", dest.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    // Warnings are part of the result: keep them in the reviewed snapshot.
    let warnings: String = run
        .stderr
        .lines()
        .filter(|l| l.contains(": warning["))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = if warnings.is_empty() {
        tree_text(&dest)
    } else {
        format!("=== (stderr warnings)\n{warnings}{}", tree_text(&dest))
    };
    crate::snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("integration__render_fixtures__render__{name}"),
            text
        );
    });
    // KSOPS generator files (replicate backend under Argo CD) are checked too: the validator
    // knows the schema of KSOPS's generator configuration.
    assert_valid_manifests(&[&dest]);
    assert_no_plaintext_secrets(&dest);
}

/// What later steps decide by is typed ([`Manifest::kind`], issue #11): the typed kind must be
/// the one written, and the prune protection of datacenters and cluster records must go with
/// it.
fn typed_as_written(m: &k8ssandra_gitops::Manifest) {
    use k8ssandra_gitops::Kind;
    let path = m.rel_path();
    assert_eq!(m.object["kind"], m.kind().as_str(), "{path}");
    let annotations = &m.object["metadata"]["annotations"];
    if matches!(m.kind(), Kind::CassandraDatacenter | Kind::K8ssandraCluster) {
        let options = &annotations["argocd.argoproj.io/sync-options"];
        assert_eq!(options, "Prune=false,Delete=false", "{path}");
    }
    if m.kind() == Kind::CassandraDatacenter {
        let flux = &annotations["kustomize.toolkit.fluxcd.io/prune"];
        assert_eq!(flux, "disabled", "{path}");
    }
}

/// Rendering one context (`render --context X --stdout`, the Argo CD plugin, KRM) renders only
/// the clusters with something there, and must give exactly the objects the whole render puts
/// in that context, for every context of the repository.
fn one_context_case(repo: &Path) {
    use k8ssandra_gitops::{RenderOptions, render};
    let full = render(repo, RenderOptions::default()).unwrap().contexts();
    assert!(!full.has_errors(), "{}", repo.display());
    full.rendered.values().flatten().for_each(typed_as_written);
    let mut compared = 0;
    for (context, objects) in &full.rendered {
        let options = RenderOptions {
            context: Some(context),
            ..RenderOptions::default()
        };
        let one = render(repo, options).unwrap().contexts();
        assert!(!one.has_errors(), "{} {context}", repo.display());
        let texts = |list: &[k8ssandra_gitops::Manifest]| -> Vec<(String, String)> {
            list.iter().map(|m| (m.rel_path(), m.text())).collect()
        };
        assert_eq!(
            texts(&one.rendered[context]),
            texts(objects),
            "{}: context {context}",
            repo.display()
        );
        // Every other context is still known (for messages), with nothing rendered.
        assert_eq!(
            one.rendered.keys().collect::<Vec<_>>(),
            full.rendered.keys().collect::<Vec<_>>()
        );
        assert!(
            one.rendered
                .iter()
                .all(|(c, l)| c == context || l.is_empty())
        );
        compared += 1;
    }
    assert!(compared >= 1, "{}: no context compared", repo.display());
}
