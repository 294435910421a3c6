//! Same input ⇒ byte-identical output, whatever the file names, order, time zone or locale.

use std::fs;

use crate::harness::{TempDir, copy_dir, read_tree, root, run_env};

fn render(
    repo: &std::path::Path,
    out: &std::path::Path,
    env: &[(&str, &str)],
) -> Vec<(String, String)> {
    let run = run_env(repo, &["render", ".", "-o", out.to_str().unwrap()], env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    read_tree(out)
}

#[test]
fn rendering_twice_renaming_and_reordering_inputs_and_changing_tz_and_lang_give_identical_bytes() {
    let fixture = root().join("fixtures/render/multi-dc-three-contexts");
    let out = TempDir::new("det-out");
    let a = TempDir::new("det-a");
    copy_dir(&fixture, a.path());
    let first = render(a.path(), &out.path().join("1"), &[]);
    let again = render(a.path(), &out.path().join("2"), &[]);
    assert_eq!(first, again);

    // Split documents over differently named files, in the opposite order, in a subdirectory.
    let b = TempDir::new("det-b");
    let clients = fs::read_to_string(fixture.join("clientconfigs.yaml")).unwrap();
    let mut docs: Vec<&str> = clients.split("---\n").collect();
    docs.reverse();
    fs::create_dir_all(b.path().join("zz/nested")).unwrap();
    for (i, d) in docs.iter().enumerate() {
        fs::write(b.path().join(format!("zz/nested/{i}-ctx.yml")), d).unwrap();
    }
    fs::copy(fixture.join("cluster.yaml"), b.path().join("AAA.yaml")).unwrap();
    fs::copy(
        fixture.join("render-config.yaml"),
        b.path().join("zz/render.yml"),
    )
    .unwrap();
    let moved = render(
        b.path(),
        &out.path().join("3"),
        &[
            ("TZ", "Pacific/Kiritimati"),
            ("LANG", "tr_TR.UTF-8"),
            ("LC_ALL", "tr_TR.UTF-8"),
        ],
    );
    assert_eq!(first, moved);
    assert!(first.len() > 5);
}
