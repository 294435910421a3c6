//! One test case per fixture: every `fixtures/render/<case>`, every `fixtures/invalid/<case>`
//! and every manifest of the upstream conformance corpus is its own test, so a failing fixture
//! never hides the others. `harness = false` with libtest-mimic: the usual libtest flags work
//! (`cargo test --test fixtures -- multi-dc`, `--list`, `--exact`, `--skip`).
//!
//! The cases share the integration binary's helpers (`harness.rs`) and its one strict validator
//! per process (schemas compiled once, then reused by every case).

#[allow(dead_code)] // Shared with the integration binary, which uses the rest of it.
#[path = "harness.rs"]
mod harness;

mod conformance;
mod invalid_fixtures;
mod render_fixtures;

use std::path::PathBuf;

use libtest_mimic::{Arguments, Trial};

/// The directories (or files) directly below `dir`, sorted, as `(name, path)`.
fn entries(dir: &std::path::Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                path,
            )
        })
        .collect();
    out.sort();
    out
}

/// Insta settings for the cases: no module prefix, because each case names its snapshot in
/// full with the name it had when these were one `#[test]` each in the integration binary
/// (`integration__render_fixtures__render__<case>`, ...), so the reviewed files stay as they are.
fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = Vec::new();
    trials.extend(render_fixtures::trials());
    trials.extend(invalid_fixtures::trials());
    trials.extend(conformance::trials());
    libtest_mimic::run(&args, trials).exit_code()
}
