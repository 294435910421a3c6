//! Regenerates the embedded input schemas (`src/schema/*.json`) from the vendored upstream CRDs
//! (`data/upstream/crds`). Usage: `cargo run --example gen-input-schemas [CRD_DIR] [--out DIR]`.
//! The format is described in the crate's `schema_tools` module; re-running on the same input gives
//! byte-identical files, and `cargo test` fails when the committed files are stale.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut crd_dir = repo.join("data/upstream/crds");
    let mut out_dir = repo.join("src/schema");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => match args.next() {
                Some(dir) => out_dir = dir.into(),
                None => {
                    eprintln!("gen-input-schemas: --out needs a directory");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: cargo run --example gen-input-schemas [CRD_DIR] [--out DIR]");
                return ExitCode::SUCCESS;
            }
            _ => crd_dir = arg.into(),
        }
    }
    let generated = match k8ssandra_gitops::dev_support::generate_input_schemas(&crd_dir) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gen-input-schemas: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("gen-input-schemas: {}: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    for (file, text) in generated {
        let target = out_dir.join(file);
        if let Err(e) = std::fs::write(&target, &text) {
            eprintln!("gen-input-schemas: {}: {e}", target.display());
            return ExitCode::FAILURE;
        }
        println!("{}: {} bytes", target.display(), text.len());
    }
    ExitCode::SUCCESS
}
