//! Every `fixtures/invalid/<case>` (`invalid::<case>`): the full stderr is asserted against its
//! reviewed snapshot, the exit code is 1, `render` reports what `validate` reports, and nothing
//! is written.

use std::path::Path;

use libtest_mimic::Trial;

use crate::harness::{TempDir, copy_dir, root, run_in};

/// At least this many fixtures: a guard against an emptied or misplaced directory.
const MIN_FIXTURES: usize = 10;

pub fn trials() -> Vec<Trial> {
    let mut trials = vec![Trial::test("invalid::fixtures-present", || {
        let n = crate::entries(&root().join("fixtures/invalid")).len();
        assert!(n >= MIN_FIXTURES, "only {n} invalid fixtures");
        Ok(())
    })];
    for (name, path) in crate::entries(&root().join("fixtures/invalid")) {
        trials.push(Trial::test(format!("invalid::{name}"), move || {
            invalid_case(&name, &path);
            Ok(())
        }));
    }
    trials
}

fn invalid_case(name: &str, case: &Path) {
    let tmp = TempDir::new("invalid");
    copy_dir(case, tmp.path());
    let validate = run_in(tmp.path(), &["validate"]);
    assert_eq!(validate.code, 1, "{name}: {}", validate.stderr);
    crate::snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("integration__diagnostics__invalid__{name}"),
            validate.stderr
        );
    });
    let render = run_in(tmp.path(), &["render"]);
    assert_eq!(render.code, 1, "{name}");
    assert_eq!(
        render.stderr, validate.stderr,
        "{name}: render and validate report the same problems"
    );
    assert!(
        !tmp.path().join("rendered").exists(),
        "{name}: render wrote output despite errors"
    );
}
