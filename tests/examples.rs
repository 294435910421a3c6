//! The bundled example repository renders, is committed up to date, and validates strictly.

use crate::harness::{assert_valid_manifests, root, run_in};

#[test]
fn the_committed_example_output_is_current_and_valid() {
    let run = run_in(&root(), &["render", "examples", "--check"]);
    assert_eq!(
        run.code, 0,
        "examples/rendered is stale; run `cargo run -- render examples`:\n{}{}",
        run.stdout, run.stderr
    );
    assert_valid_manifests(&[&root().join("examples/rendered")]);
}
