//! The output directory is synced with pruning and `render --check` runs on strangers' pull
//! requests: reading it never follows a symlink or opens a FIFO, writing it is all or nothing,
//! and nothing the renderer did not write is overwritten.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Run, TempDir, copy_dir, read_tree, root, run_in};

fn repo() -> TempDir {
    let t = TempDir::new("safety");
    copy_dir(
        &root().join("fixtures/render/multi-dc-three-contexts"),
        t.path(),
    );
    t
}

/// Runs the binary, killing it (and failing) if it takes more than 60 seconds.
fn run_bounded(cwd: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_k8ssandra-gitops"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("k8ssandra-gitops {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap().into()
}

const SECRET: &str = "TOP-SECRET-VALUE\n";

#[test]
fn check_and_render_never_read_through_a_symlink_at_a_rendered_path() {
    let t = repo();
    let outside = TempDir::new("secret");
    fs::write(outside.path().join("secret"), SECRET).unwrap();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let victim = t.path().join("rendered/east/kustomization.yaml");
    fs::remove_file(&victim).unwrap();
    symlink(outside.path().join("secret"), &victim).unwrap();

    let check = run_bounded(t.path(), &["render", "--check"]);
    assert_eq!(check.code, 1);
    assert!(!check.stdout.contains("SECRET"), "{}", check.stdout);
    assert!(!check.stderr.contains("SECRET"), "{}", check.stderr);
    assert!(
        check.stderr.contains(
            "error: ./rendered/east/kustomization.yaml: is a symlink, expected a regular file\n"
        ),
        "{}",
        check.stderr
    );

    let render = run_bounded(t.path(), &["render"]);
    assert_eq!(render.code, 1);
    assert_eq!(
        render.stderr,
        "clientconfigs.yaml:4:3: error[E0601]: ./rendered/east/kustomization.yaml: is a symlink, expected a regular file (remove it; the renderer never reads or writes through a symlink)\nerror: 1 problem found; nothing was written\n"
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("secret")).unwrap(),
        SECRET
    );
    assert!(fs::symlink_metadata(&victim).unwrap().is_symlink());
}

#[test]
fn a_symlink_to_dev_zero_or_a_fifo_is_drift_not_a_hang() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let out = t.path().join("rendered");
    let zero = out.join("east/cassandra/global/cassandradatacenter-us-east.yaml");
    fs::remove_file(&zero).unwrap();
    symlink("/dev/zero", &zero).unwrap();
    let fifo = out.join("west/kustomization.yaml");
    fs::remove_file(&fifo).unwrap();
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // A path only the record lists (no longer rendered) pointing at the secret device.
    let record = out.join(".k8ssandra-gitops-owned");
    let mut text = fs::read_to_string(&record).unwrap();
    text.push_str("east/old.yaml\n");
    fs::write(&record, text).unwrap();
    symlink("/dev/zero", out.join("east/old.yaml")).unwrap();

    let check = run_bounded(t.path(), &["render", "--check"]);
    assert_eq!(check.code, 1);
    for line in [
        "error: ./rendered/east/cassandra/global/cassandradatacenter-us-east.yaml: is a symlink, expected a regular file\n",
        "error: ./rendered/east/old.yaml: is a symlink, expected a regular file\n",
        "error: ./rendered/west/kustomization.yaml: is a FIFO, expected a regular file\n",
    ] {
        assert!(check.stderr.contains(line), "{line}\n{}", check.stderr);
    }
    assert!(!check.stdout.contains('\0'));
    let render = run_bounded(t.path(), &["render"]);
    assert_eq!(render.code, 1);
    assert!(
        render.stderr.contains(
            "./rendered/.k8ssandra-gitops-owned:17:1: error[E0601]: ./rendered/east/old.yaml: is a symlink, expected a regular file"
        ),
        "{}",
        render.stderr
    );
    assert!(
        render
            .stderr
            .ends_with("error: 3 problems found; nothing was written\n"),
        "{}",
        render.stderr
    );
    let validate = run_bounded(t.path(), &["validate"]);
    assert_eq!(validate.code, 1);
    assert_eq!(validate.stderr, render.stderr);
}

#[test]
fn planted_temp_file_symlinks_do_not_redirect_writes() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let outside = TempDir::new("planted");
    let target = outside.path().join("target");
    fs::write(&target, "untouched\n").unwrap();
    // Temp files used to be `.<name>.tmp-<pid>`: plant them for the next few thousand pids.
    let last: u32 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    let dir = t.path().join("rendered/west/cassandra-west/global");
    for pid in last..last + 3000 {
        symlink(
            &target,
            dir.join(format!(".cassandradatacenter-us-west.yaml.tmp-{pid}")),
        )
        .unwrap();
    }
    let spec = t.path().join("cluster.yaml");
    fs::write(
        &spec,
        fs::read_to_string(&spec)
            .unwrap()
            .replace("size: 2", "size: 4"),
    )
    .unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched\n");
    let written = dir.join("cassandradatacenter-us-west.yaml");
    assert!(fs::symlink_metadata(&written).unwrap().is_file());
    assert!(
        fs::read_to_string(&written)
            .unwrap()
            .contains("  size: 4\n")
    );
    // The planted links are foreign: kept as they were, as symlinks.
    let kept = dir.join(format!(".cassandradatacenter-us-west.yaml.tmp-{last}"));
    assert_eq!(fs::read_link(kept).unwrap(), target);
}

#[test]
fn a_hand_written_file_at_a_rendered_path_is_refused_not_overwritten() {
    let t = repo();
    let mine = "# my own kustomization\nresources: []\n";
    fs::create_dir_all(t.path().join("rendered/east")).unwrap();
    fs::write(t.path().join("rendered/east/kustomization.yaml"), mine).unwrap();
    let expected = "clientconfigs.yaml:4:3: error[E0601]: ./rendered/east/kustomization.yaml: exists and was not written by k8ssandra-gitops (it is not listed in .k8ssandra-gitops-owned); refusing to overwrite it (move it away or delete it; the renderer writes there)\nerror: 1 problem found; nothing was written\n";
    let validate = run_in(t.path(), &["validate"]);
    assert_eq!(validate.code, 1);
    assert_eq!(validate.stderr, expected);
    let render = run_in(t.path(), &["render"]);
    assert_eq!(render.code, 1);
    assert_eq!(render.stderr, expected);
    assert_eq!(
        read_tree(&t.path().join("rendered")),
        vec![("east/kustomization.yaml".to_string(), mine.to_string())]
    );
    // A file with exactly the rendered bytes is adopted: nothing is overwritten.
    fs::remove_dir_all(t.path().join("rendered")).unwrap();
    let fresh = TempDir::new("fresh");
    assert_eq!(
        run_in(t.path(), &["render", "-o", fresh.path().to_str().unwrap()]).code,
        0
    );
    // `validate` serializes only the objects whose file exists; those it compares like render.
    let object = "east/cassandra/global/cassandradatacenter-us-east.yaml";
    fs::create_dir_all(t.path().join("rendered/east/cassandra/global")).unwrap();
    for rel in ["east/kustomization.yaml", object] {
        fs::copy(fresh.path().join(rel), t.path().join("rendered").join(rel)).unwrap();
    }
    let validate = run_in(t.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    let other = fs::read_to_string(t.path().join("rendered").join(object)).unwrap() + "# mine\n";
    fs::write(t.path().join("rendered").join(object), &other).unwrap();
    let validate = run_in(t.path(), &["validate"]);
    assert_eq!(validate.code, 1);
    assert!(
        validate.stderr.contains(&format!(
            "./rendered/{object}: exists and was not written by k8ssandra-gitops"
        )),
        "{}",
        validate.stderr
    );
    fs::copy(
        fresh.path().join(object),
        t.path().join("rendered").join(object),
    )
    .unwrap();
    let render = run_in(t.path(), &["render"]);
    assert_eq!(render.code, 0, "{}", render.stderr);
}

#[test]
fn foreign_files_and_symlinks_survive_the_swap_untouched() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let out = t.path().join("rendered");
    let outside = TempDir::new("foreign-target");
    fs::write(outside.path().join("f"), "outside\n").unwrap();
    symlink(outside.path(), out.join("east/link-to-dir")).unwrap();
    symlink("does-not-exist", out.join("dangling")).unwrap();
    fs::create_dir_all(out.join("empty")).unwrap();
    fs::write(out.join("east/README.md"), "mine\n").unwrap();
    let spec = t.path().join("cluster.yaml");
    fs::write(
        &spec,
        fs::read_to_string(&spec)
            .unwrap()
            .replace("size: 3", "size: 6"),
    )
    .unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(": 1 written, 0 pruned"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_link(out.join("east/link-to-dir")).unwrap(),
        outside.path()
    );
    assert_eq!(
        fs::read_link(out.join("dangling")).unwrap(),
        Path::new("does-not-exist")
    );
    assert!(out.join("empty").is_dir());
    assert_eq!(
        fs::read_to_string(out.join("east/README.md")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("f")).unwrap(),
        "outside\n"
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 1);
    no_leftovers(t.path());
}

#[test]
fn an_unchanged_rerender_swaps_nothing() {
    use std::os::unix::fs::MetadataExt;
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let ino = || fs::metadata(t.path().join("rendered")).unwrap().ino();
    let before = ino();
    let run = run_in(t.path(), &["render"]);
    assert!(
        run.stderr
            .ends_with(": 0 written, 0 pruned, 15 unchanged\n")
    );
    assert_eq!(before, ino());
}

#[test]
fn a_tampered_record_never_reaches_outside_the_output_directory() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let out = t.path().join("rendered");
    let outside = TempDir::new("tamper");
    fs::write(outside.path().join("victim"), "keep\n").unwrap();
    // (A `.git` here would make the whole output directory refused: see tests/inputs.rs.)
    fs::create_dir_all(out.join(".config")).unwrap();
    fs::write(out.join(".config/HEAD"), "ref\n").unwrap();
    fs::write(out.join("east/.hidden"), "h\n").unwrap();
    let mut text = fs::read_to_string(out.join(".k8ssandra-gitops-owned")).unwrap();
    text.push_str(&format!(
        "../cluster.yaml\n{}/victim\n.config/HEAD\neast/.hidden\n./east/kustomization.yaml\neast//x\n",
        outside.path().display()
    ));
    fs::write(out.join(".k8ssandra-gitops-owned"), text).unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains(" 0 pruned"), "{}", run.stderr);
    assert!(t.path().join("cluster.yaml").is_file());
    assert_eq!(
        fs::read_to_string(outside.path().join("victim")).unwrap(),
        "keep\n"
    );
    assert_eq!(
        fs::read_to_string(out.join(".config/HEAD")).unwrap(),
        "ref\n"
    );
    assert_eq!(fs::read_to_string(out.join("east/.hidden")).unwrap(), "h\n");
    // A recorded path under a symlink that leads outside is refused, never deleted.
    symlink(outside.path(), out.join("away")).unwrap();
    let mut text = fs::read_to_string(out.join(".k8ssandra-gitops-owned")).unwrap();
    text.push_str("away/victim\n");
    fs::write(out.join(".k8ssandra-gitops-owned"), text).unwrap();
    // The mass-deletion guard refuses first (context "away" would vanish); past it, the writer
    // itself must refuse to go through the symlink.
    let guarded = run_in(t.path(), &["render"]);
    assert_eq!(guarded.code, 1, "{}", guarded.stderr);
    assert!(
        guarded.stderr.contains("context \"away\" would lose"),
        "{}",
        guarded.stderr
    );
    let run = run_in(t.path(), &["render", "--allow-empty"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error[E0601]: ./rendered/away: is a symlink, expected a directory"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("victim")).unwrap(),
        "keep\n"
    );
}

#[test]
fn an_output_file_name_over_255_bytes_is_a_diagnostic_before_anything_is_written() {
    let t = TempDir::new("long-name");
    copy_dir(&root().join("fixtures/render/medusa-s3"), t.path());
    // A legal 253-character name (four DNS labels).
    let name = vec!["c".repeat(63); 4].join(".")[..253].to_string();
    let ops = t.path().join("operations.yaml");
    fs::write(
        &ops,
        fs::read_to_string(&ops)
            .unwrap()
            .replace("name: eu-cleanup", &format!("name: {name}")),
    )
    .unwrap();
    let expected = format!(
        "operations.yaml:29:3: error[E0602]: output file name \"cassandratask-{name}.yaml\" is 272 bytes; file systems take at most 255 (shorten the name)\nerror: 1 problem found; nothing was written\n"
    );
    let validate = run_in(t.path(), &["validate"]);
    assert_eq!(validate.code, 1);
    assert_eq!(validate.stderr, expected);
    let render = run_in(t.path(), &["render"]);
    assert_eq!(render.code, 1);
    assert_eq!(render.stderr, expected);
    assert!(!t.path().join("rendered").exists());
    no_leftovers(t.path());
}

#[test]
fn check_reports_leftovers_of_an_interrupted_run_and_render_removes_them() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let left = t
        .path()
        .join(".rendered.k8ssandra-gitops-staging-0123456789abcdef");
    fs::create_dir_all(left.join("east")).unwrap();
    fs::write(left.join("east/x.yaml"), "x\n").unwrap();
    let check = run_in(t.path(), &["render", "--check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stderr.contains(
            "error: ./.rendered.k8ssandra-gitops-staging-0123456789abcdef: left by an interrupted render (the next render removes it)\n"
        ),
        "{}",
        check.stderr
    );
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    assert!(!left.exists());
    assert_eq!(run_in(t.path(), &["render", "--check"]).code, 0);
}

fn no_leftovers(parent: &Path) {
    for e in fs::read_dir(parent).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains("k8ssandra-gitops-"), "leftover {name}");
        assert!(!name.contains(".tmp-"), "leftover {name}");
    }
}

/// Every file (and symlink) below `dir`, without following symlinks.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(base, &p, out);
            } else if m.is_symlink() {
                out.push((
                    rel,
                    fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                ));
            } else {
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// A repository with `n` clusters of two datacenters each; `label` changes every file.
fn big_repo(dir: &Path, n: usize, label: &str) {
    let base = root().join("fixtures/render/multi-dc-three-contexts");
    for f in ["clientconfigs.yaml", "render-config.yaml"] {
        fs::copy(base.join(f), dir.join(f)).unwrap();
    }
    let docs: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata:\n  name: c{i}\n  namespace: cassandra\nspec:\n  cassandra:\n    serverVersion: \"4.0.11\"\n    metadata:\n      commonLabels:\n        cost-center: \"{label}\"\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        storageClassName: fast\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 10Gi\n    datacenters:\n      - metadata:\n          name: c{i}-east\n        k8sContext: east\n        size: 3\n      - metadata:\n          name: c{i}-west\n        k8sContext: west\n        size: 3\n"
            )
        })
        .collect();
    fs::write(dir.join("clusters.yaml"), docs.join("---\n")).unwrap();
}

/// The fresh render of the inputs of `repo` (its three files) into an empty directory.
fn fresh(repo: &Path) -> Vec<(String, Vec<u8>)> {
    let copy = TempDir::new("fresh-render");
    for f in ["clusters.yaml", "clientconfigs.yaml", "render-config.yaml"] {
        fs::copy(repo.join(f), copy.path().join(f)).unwrap();
    }
    let run = run_in(copy.path(), &["render"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    snapshot(&copy.path().join("rendered"))
}

/// A pseudo-random number below `n` (the standard library's random SipHash keys).
fn random_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() % n.max(1)
}

#[test]
fn sigkill_at_random_points_leaves_the_previous_or_the_new_tree() {
    let t = TempDir::new("sigkill");
    let labels = ["1", "2"];
    big_repo(t.path(), 60, labels[0]);
    let fresh_a = fresh(t.path());
    big_repo(t.path(), 60, labels[1]);
    let fresh_b = fresh(t.path());
    big_repo(t.path(), 60, labels[0]);
    let out = t.path().join("rendered");
    let start = Instant::now();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let full = start.elapsed().as_micros() as u64;
    assert_eq!(snapshot(&out), fresh_a);
    let mut current = 0;
    let mut outcomes = [0usize; 2];
    for _ in 0..24 {
        let next = 1 - current;
        big_repo(t.path(), 60, labels[next]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_k8ssandra-gitops"))
            .arg("render")
            .current_dir(t.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(random_below(full * 6 / 5)));
        let _ = child.kill();
        let _ = child.wait();
        let now = snapshot(&out);
        let fresh = [&fresh_a, &fresh_b];
        if now == *fresh[next] {
            current = next;
            outcomes[1] += 1;
        } else {
            assert!(
                now == *fresh[current],
                "after SIGKILL the tree is neither the previous nor the new render"
            );
            outcomes[0] += 1;
        }
    }
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(snapshot(&out), fresh(t.path()));
    no_leftovers(t.path());
    assert!(
        outcomes[0] > 0,
        "no run was interrupted ({outcomes:?}); the delays are too long"
    );
}

#[test]
fn a_write_failing_part_way_leaves_the_previous_tree() {
    let t = TempDir::new("enospc");
    big_repo(t.path(), 60, "1");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let place = TempDir::new("enospc-out");
    let mount = place.path().join("mnt");
    fs::create_dir_all(&mount).unwrap();
    let out = mount.join("out");
    let out_arg = out.to_str().unwrap().to_string();
    let mounted = is_root
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&mount)
            .status()
            .is_ok_and(|s| s.success());
    struct Unmount<'a>(&'a Path, bool);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            if self.1 {
                let _ = Command::new("umount").arg(self.0).status();
            }
        }
    }
    let _guard = Unmount(&mount, mounted);
    let run = run_in(t.path(), &["render", "-o", &out_arg]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let previous = snapshot(&out);
    if mounted {
        // Fill the file system, then leave room for only part of the changed files.
        let ballast = mount.join("ballast");
        let mut f = fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
        drop(f);
        let len = fs::metadata(&ballast).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&ballast)
            .unwrap()
            .set_len(len.saturating_sub(256 * 1024))
            .unwrap();
    } else {
        // Without root: a late directory the writer cannot write into.
        let late = out.join("west");
        let mut p = fs::metadata(&late).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o555);
        fs::set_permissions(&late, p).unwrap();
    }
    big_repo(t.path(), 60, "2");
    let run = run_in(t.path(), &["render", "-o", &out_arg]);
    let now = snapshot(&out);
    if run.code == 0 {
        assert_eq!(now, fresh(t.path()), "{}", run.stderr);
    } else {
        assert!(
            run.stderr
                .ends_with("; the output directory is unchanged\n"),
            "{}",
            run.stderr
        );
        assert!(now == previous, "a failed write changed the tree");
    }
    if mounted {
        assert_eq!(
            run.code, 1,
            "the full file system should make the write fail"
        );
        fs::remove_file(mount.join("ballast")).unwrap();
    }
    no_leftovers(&mount);
    let run = run_in(t.path(), &["render", "-o", &out_arg]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(snapshot(&out), fresh(t.path()));
    no_leftovers(&mount);
}

/// A problem found only after earlier clusters were streamed into the staging directory (here
/// the whole-output check that a routed document does not replace a rendered object, issue
/// #13): the staging directory goes, the old tree stays, and a missing parent of `-o` that the
/// writer created is removed again.
#[test]
fn an_error_found_after_streaming_began_leaves_the_old_tree_and_no_staging() {
    let t = repo();
    assert_eq!(run_in(t.path(), &["render"]).code, 0);
    let before = snapshot(&t.path().join("rendered"));
    // Every file of the cluster changes, so the writer has staged some before the end.
    let spec = t.path().join("cluster.yaml");
    let text = fs::read_to_string(&spec).unwrap();
    assert!(text.contains("cost-center: \"42\""));
    fs::write(
        &spec,
        text.replace("cost-center: \"42\"", "cost-center: \"43\""),
    )
    .unwrap();
    fs::write(
        t.path().join("operations.yaml"),
        "apiVersion: control.k8ssandra.io/v1alpha1\nkind: CassandraTask\nmetadata:\n  name: us-west-rebuild\nspec:\n  datacenter: {name: us-west}\n  jobs: [{name: rebuild, command: rebuild}]\n",
    )
    .unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error[E0401]") && run.stderr.contains("already written by"),
        "{}",
        run.stderr
    );
    assert_eq!(before, snapshot(&t.path().join("rendered")));
    no_leftovers(t.path());
    let fresh = run_in(t.path(), &["render", "-o", "new/deeper/out"]);
    assert_eq!(fresh.code, 1, "{}", fresh.stderr);
    assert!(!t.path().join("new").exists());
    // The same repository without the colliding document renders and swaps in.
    fs::remove_file(t.path().join("operations.yaml")).unwrap();
    let run = run_in(t.path(), &["render"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(before, snapshot(&t.path().join("rendered")));
    no_leftovers(t.path());
}
