//! The `k8ssandra-gitops` command: the command line lives in the library ([`k8ssandra_gitops::cli`]).

// Allocation-heavy work (every object is a JSON tree) spends far less time in mimalloc than in
// the C library's malloc, musl's above all (the static container images).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    k8ssandra_gitops::cli::run()
}
