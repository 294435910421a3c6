//! The `k8ssandra-gitops` command: the command line lives in the library ([`k8ssandra_gitops::cli`]).

fn main() -> std::process::ExitCode {
    k8ssandra_gitops::cli::run()
}
