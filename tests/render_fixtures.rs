//! Every `fixtures/render/<case>` renders, matches its reviewed snapshot and passes strict
//! validation against the upstream schemas.

use crate::harness::{TempDir, assert_valid_manifests, root, run_in, tree_text};

#[test]
fn every_render_fixture_matches_its_snapshot_and_validates() {
    let out = TempDir::new("fixtures");
    let mut cases: Vec<_> = std::fs::read_dir(root().join("fixtures/render"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 22, "fixtures missing");
    let mut dirs = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let dest = out.path().join(&name);
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
        insta::assert_snapshot!(format!("render__{name}"), text);
        dirs.push(dest);
    }
    let paths: Vec<&std::path::Path> = dirs.iter().map(std::path::PathBuf::as_path).collect();
    // KSOPS generator files (replicate backend under Argo CD) are checked too: the validator
    // knows the schema of KSOPS's generator configuration.
    assert_valid_manifests(&paths);
}

/// Rendering one context (`render --context X --stdout`, the Argo CD plugin, KRM) renders only
/// the clusters with something there, and must give exactly the objects the whole render puts
/// in that context, for every context of every fixture and the example.
#[test]
fn one_context_renders_exactly_what_the_whole_render_puts_there() {
    use k8ssandra_gitops::{RenderOptions, render_repo, render_repo_with};
    let mut repos: Vec<_> = std::fs::read_dir(root().join("fixtures/render"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    repos.sort();
    repos.push(root().join("examples"));
    let mut compared = 0;
    for repo in &repos {
        let full = render_repo(repo, None).unwrap();
        assert!(!full.has_errors(), "{}", repo.display());
        for (context, objects) in &full.rendered {
            let one = render_repo_with(
                repo,
                RenderOptions {
                    output_override: None,
                    context: Some(context),
                },
            )
            .unwrap();
            assert!(!one.has_errors(), "{} {context}", repo.display());
            let texts = |list: &[k8ssandra_gitops::render::Manifest]| -> Vec<(String, String)> {
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
    }
    assert!(compared >= 50, "only {compared} contexts compared");
}
