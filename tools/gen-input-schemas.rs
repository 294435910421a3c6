//! Regenerates the embedded input schemas (`src/schema/*.json`) from the vendored upstream CRDs
//! (`data/upstream/crds`) and our own RenderConfig CRD (`schemas/`), and the JSON Schema of
//! RenderConfig for editors (`schemas/renderconfig_v1alpha1.json`).
//! Usage: `cargo run --example gen-input-schemas [REPO] [--out DIR]` (DIR defaults to REPO, which
//! defaults to this repository). The format is described in the crate's `schema_tools` module;
//! re-running on the same input gives byte-identical files, and `cargo test` fails when the
//! committed files are stale.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => match args.next() {
                Some(dir) => out_dir = Some(PathBuf::from(dir)),
                None => {
                    eprintln!("gen-input-schemas: --out needs a directory");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: cargo run --example gen-input-schemas [REPO] [--out DIR]");
                return ExitCode::SUCCESS;
            }
            _ => repo = arg.into(),
        }
    }
    let out_dir = out_dir.unwrap_or_else(|| repo.clone());
    let generated = match k8ssandra_gitops::dev_support::generate_input_schemas(&repo) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gen-input-schemas: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (file, text) in generated {
        let target = out_dir.join(file);
        if let Some(parent) = target.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            eprintln!("gen-input-schemas: {}: {e}", parent.display());
            return ExitCode::FAILURE;
        }
        if let Err(e) = std::fs::write(&target, &text) {
            eprintln!("gen-input-schemas: {}: {e}", target.display());
            return ExitCode::FAILURE;
        }
        println!("{}: {} bytes", target.display(), text.len());
    }
    ExitCode::SUCCESS
}
