//! Render benchmark (a bench binary, not a timed test): `cargo bench --bench render`.
//!
//! 1. The library pipeline (parse → plan → render → serialize) over 1, 100 and 1,000 generated
//!    K8ssandraClusters of 3 datacenters each, in memory; wall time per size and peak RSS.
//! 2. The whole process: `render --context X --stdout` of one 3-DC cluster against `cat` of the
//!    same bytes, both started as processes, averaged over many runs.
//! 3. Re-rendering an unchanged tree of 1,000 clusters to disk: time, and how many files were written.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8ssandra_gitops::dev_support::SourceFile;
use k8ssandra_gitops::dev_support::load;
use k8ssandra_gitops::dev_support::render_inputs;
use k8ssandra_gitops::dev_support::{build_tree, into_tree};

fn cluster_yaml(i: usize) -> String {
    format!(
        r#"apiVersion: k8ssandra.io/v1alpha1
kind: K8ssandraCluster
metadata:
  name: cluster-{i}
  namespace: ns-{ns}
spec:
  cassandra:
    serverVersion: "4.1.5"
    storageConfig:
      cassandraDataVolumeClaimSpec:
        storageClassName: standard
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 100Gi
    config:
      cassandraYaml:
        concurrent_reads: 32
      jvmOptions:
        heap_max_size: 4Gi
        heap_initial_size: 4Gi
    datacenters:
      - metadata:
          name: c{i}-dc1
        k8sContext: east
        size: 3
        racks: [{{name: r1}}, {{name: r2}}, {{name: r3}}]
      - metadata:
          name: c{i}-dc2
        k8sContext: west
        size: 3
      - metadata:
          name: c{i}-dc3
        k8sContext: eu
        size: 3
"#,
        ns = i % 10
    )
}

const CLIENTS: &str = "apiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: east}\n---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: west}\n---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: eu}\n---\napiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  secrets:\n    backend: externalSecrets\n    externalSecrets:\n      storeRef: {kind: ClusterSecretStore, name: vault}\n";

fn sources(n: usize) -> Vec<SourceFile> {
    let mut files = vec![SourceFile {
        rel_path: "clients.yaml".into(),
        display_path: "clients.yaml".into(),
        text: CLIENTS.into(),
    }];
    for i in 0..n {
        let rel = format!("clusters/c{i:05}.yaml");
        files.push(SourceFile {
            rel_path: rel.clone(),
            display_path: rel.into(),
            text: cluster_yaml(i),
        });
    }
    files
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn pipeline(n: usize) -> (Duration, usize, usize) {
    let files = sources(n);
    let start = Instant::now();
    let (inputs, diags) = load(&files);
    let (rendered, diags) = render_inputs(&inputs, diags);
    // As `render` does: inputs and objects are freed as the bytes are produced.
    drop(inputs);
    let tree = into_tree(rendered);
    let elapsed = start.elapsed();
    assert!(diags.is_empty(), "{diags:?}");
    let bytes = tree.values().map(Vec::len).sum();
    (elapsed, tree.len(), bytes)
}

fn time_process(mut make: impl FnMut() -> Command, runs: u32) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        let mut cmd = make();
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        let start = Instant::now();
        let status = cmd.status().expect("process runs");
        total += start.elapsed();
        assert!(status.success());
    }
    total / runs
}

fn binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success());
    root.join("target/release/k8ssandra-gitops")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a listing; there is nothing to list
    }
    println!("## library pipeline (parse, plan, render, serialize), 3 DCs per cluster");
    println!("| clusters | DCs | files | bytes | wall (best of 5) | per DC | peak RSS so far |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for n in [1usize, 100, 1000] {
        let mut best = Duration::MAX;
        let mut shape = (0, 0);
        for _ in 0..5 {
            let (t, files, bytes) = pipeline(n);
            best = best.min(t);
            shape = (files, bytes);
        }
        println!(
            "| {n} | {} | {} | {} | {:.1} ms | {:.1} µs | {:.1} MiB |",
            3 * n,
            shape.0,
            shape.1,
            best.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e6 / (3 * n) as f64,
            peak_rss_mib()
        );
    }

    let bin = binary();
    let tmp = std::env::temp_dir().join(format!("k8ssandra-gitops-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("one")).unwrap();
    std::fs::write(tmp.join("one/clients.yaml"), CLIENTS).unwrap();
    std::fs::write(tmp.join("one/cluster.yaml"), cluster_yaml(0)).unwrap();
    let out = Command::new(&bin)
        .args(["render", "--context", "east", "--stdout"])
        .current_dir(tmp.join("one"))
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(tmp.join("stream.yaml"), &out.stdout).unwrap();
    let runs = 200;
    let ours = time_process(
        || {
            let mut c = Command::new(&bin);
            c.args(["render", "--context", "east", "--stdout"])
                .current_dir(tmp.join("one"));
            c
        },
        runs,
    );
    let cat = time_process(
        || {
            let mut c = Command::new("cat");
            c.arg(tmp.join("stream.yaml"));
            c
        },
        runs,
    );
    println!("\n## one 3-DC cluster, whole process, mean of {runs} runs");
    println!("| command | wall |\n|---|---:|");
    println!(
        "| `render --context east --stdout` ({} bytes) | {:.2} ms |",
        out.stdout.len(),
        ours.as_secs_f64() * 1e3
    );
    println!(
        "| `cat` of the same bytes | {:.2} ms |",
        cat.as_secs_f64() * 1e3
    );
    println!("| ratio | {:.2}× |", ours.as_secs_f64() / cat.as_secs_f64());

    // Unchanged re-render of 1,000 clusters on disk.
    let big = tmp.join("big");
    std::fs::create_dir_all(big.join("clusters")).unwrap();
    std::fs::write(big.join("clients.yaml"), CLIENTS).unwrap();
    for i in 0..1000 {
        std::fs::write(big.join(format!("clusters/c{i:05}.yaml")), cluster_yaml(i)).unwrap();
    }
    let render = |dir: &Path| {
        let start = Instant::now();
        let out = Command::new(&bin)
            .args(["render"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            start.elapsed(),
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .rsplit(": ")
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    };
    let (first, first_report) = render(&big);
    let (again, again_report) = render(&big);
    let files = build_tree(&render_inputs(&load(&sources(1000)).0, Vec::new()).0).len();
    println!("\n## 1,000 clusters to disk ({files} files), whole process");
    println!("| run | wall | files |\n|---|---:|---|");
    println!(
        "| first render | {:.0} ms | {first_report} |",
        first.as_secs_f64() * 1e3
    );
    println!(
        "| unchanged re-render | {:.0} ms | {again_report} |",
        again.as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
