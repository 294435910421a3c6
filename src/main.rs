//! The `k8ssandra-gitops` command.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
