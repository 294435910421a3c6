//! Argo CD front end: `argocd generate` run exactly as the CMP sidecar runs it, the Lua health
//! checks in a real Lua 5.1 interpreter (the dialect Argo CD embeds) inside a sandbox like
//! argocd-cm's (no string library), and the argocd-cm snippet kept in sync with the scripts.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::harness::{TempDir, copy_dir, root, run_in};

/// Runs `k8ssandra-gitops argocd generate` like the sidecar: cwd = the app path (`examples`
/// inside the checkout), the plugin environment only, stdin closed.
fn generate(app_path: &Path, env: &[(&str, &str)]) -> crate::harness::Run {
    generate_at(app_path, "examples", env)
}

fn generate_at(app_path: &Path, source_path: &str, env: &[(&str, &str)]) -> crate::harness::Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_k8ssandra-gitops"));
    cmd.args(["argocd", "generate"])
        .current_dir(app_path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ARGOCD_APP_NAME", "orders-us-east-1")
        .env("ARGOCD_APP_NAMESPACE", "k8ssandra")
        .env("ARGOCD_APP_SOURCE_PATH", source_path)
        .env("ARGOCD_APP_REVISION", "0123456789abcdef")
        .env("KUBE_VERSION", "1.31.2")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs").into()
}

/// A checkout with the example repository at `examples/`.
struct ExampleApp(TempDir);

impl ExampleApp {
    fn path(&self) -> PathBuf {
        self.0.path().join("examples")
    }
}

fn example_app() -> ExampleApp {
    let t = TempDir::new("argocd-app");
    copy_dir(&root().join("examples"), &t.path().join("examples"));
    ExampleApp(t)
}

#[test]
fn generate_streams_exactly_what_render_streams_for_each_context() {
    let app = example_app();
    for context in ["control-plane", "eu-west-1", "us-east-1"] {
        let expected = run_in(
            &app.path(),
            &["render", ".", "--context", context, "--stdout"],
        );
        assert_eq!(expected.code, 0, "{}", expected.stderr);
        let by_env = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", context)]);
        assert_eq!(by_env.code, 0, "{}", by_env.stderr);
        assert_eq!(by_env.stdout, expected.stdout, "{context}");
        assert_eq!(by_env.stderr, "");
        // The plugin parameter wins over the env.
        let by_param = generate(
            &app.path(),
            &[
                ("ARGOCD_ENV_K8S_CONTEXT", "nope"),
                ("PARAM_CONTEXT", context),
            ],
        );
        assert_eq!(by_param.stdout, expected.stdout, "{context}");
    }
    // Nothing is written into the app path.
    assert!(
        !app.path().join("rendered/.k8ssandra-gitops-owned").exists() || {
            // examples ships its committed output; it must be unchanged.
            fs::read(app.path().join("rendered/.k8ssandra-gitops-owned")).unwrap()
                == fs::read(root().join("examples/rendered/.k8ssandra-gitops-owned")).unwrap()
        }
    );
}

#[test]
fn generate_fails_loudly_instead_of_printing_nothing() {
    let app = example_app();
    let missing = generate(&app.path(), &[]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stdout, "");
    assert_eq!(
        missing.stderr,
        "error: no context to render of Application \"orders-us-east-1\": set the plugin env K8S_CONTEXT (spec.source.plugin.env: [{name: K8S_CONTEXT, value: <context>}]) or the plugin parameter `context`\n"
    );
    let unknown = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", "us-east-2")]);
    assert_eq!(unknown.code, 1);
    assert_eq!(unknown.stdout, "");
    assert_eq!(
        unknown.stderr,
        "error: context \"us-east-2\" has no objects to render (contexts with objects: argocd, control-plane, eu-west-1, flux, us-east-1) (did you mean \"us-east-1\"?); refusing to print an empty stream\n"
    );
    // An invalid spec: the problem, located, and no output at all.
    let spec = app.path().join("clusters/orders.yaml");
    fs::write(
        &spec,
        fs::read_to_string(&spec)
            .unwrap()
            .replace("size: 3\n        racks", "size: three\n        racks"),
    )
    .unwrap();
    let invalid = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", "us-east-1")]);
    assert_eq!(invalid.code, 1);
    assert_eq!(invalid.stdout, "");
    // Verbatim: the located type error, the references it breaks, and no stream.
    assert_eq!(
        invalid.stderr,
        "clusters/orders-operations.yaml:10:5: error[E0304]: spec.backupSpec.cassandraDatacenter: MedusaBackupSchedule \"us-east-nightly\" names datacenter \"us-east\", which no K8ssandraCluster of the repository has (datacenters: none)\n\
         clusters/orders-operations.yaml:20:5: error[E0304]: spec.backupSpec.cassandraDatacenter: MedusaBackupSchedule \"eu-west-nightly\" names datacenter \"eu-west\", which no K8ssandraCluster of the repository has (datacenters: none)\n\
         clusters/orders.yaml:63:9: error[E0202]: spec.cassandra.datacenters[0].size: expected integer, found string \"three\"\n\
         clusters/orders.yaml:74:9: error[E0202]: spec.cassandra.datacenters[1].size: expected integer, found string \"three\"\n\
         render-config.yaml:33:7: warning[W0301]: spec.flux.kubeConfigs.us-east-1: context \"us-east-1\" has nothing to render; its kubeconfig is not used\n\
         render-config.yaml:34:7: warning[W0301]: spec.flux.kubeConfigs.eu-west-1: context \"eu-west-1\" has nothing to render; its kubeconfig is not used\n\
         error: 4 problems found; nothing was written\n"
    );
    // A repository without any cluster: still an error, never an empty success.
    let empty = TempDir::new("argocd-empty");
    let run = generate_at(empty.path(), "", &[("ARGOCD_ENV_K8S_CONTEXT", "us-east-1")]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: no K8ssandraCluster found in .: 0 YAML files seen, 0 read, 0 ignored by .gitignore; refusing to render an empty result, which would prune every object (pass --allow-empty if this is intended)\nerror: 1 problem found; nothing was written\n"
    );
}

#[test]
fn plugin_yaml_runs_the_generate_command_and_has_no_discovery() {
    let text = fs::read_to_string(root().join("argocd/plugin.yaml")).unwrap();
    let plugin = k8ssandra_gitops::dev_support::parse_stream(&text).unwrap()[0].to_json();
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "k8ssandra-gitops");
    assert_eq!(
        plugin["spec"]["generate"]["command"],
        json!(["k8ssandra-gitops", "argocd", "generate"])
    );
    // Named-plugin only: no discovery rule that could claim other Applications, or fail in
    // the image (tests/argocd_cmp.rs checks both against the real cmp-server).
    assert!(plugin["spec"].get("discover").is_none(), "{plugin}");
    assert!(plugin["spec"].get("init").is_none(), "{plugin}");
    assert_eq!(plugin["spec"]["parameters"]["static"][0]["name"], "context");
}

#[test]
fn generate_renders_the_whole_repository_from_a_subdirectory_application() {
    let app = example_app();
    let expected = run_in(
        &app.path(),
        &["render", ".", "--context", "us-east-1", "--stdout"],
    );
    assert_eq!(expected.code, 0, "{}", expected.stderr);
    // The Application points at examples/clusters: the ClientConfigs and the RenderConfig are
    // elsewhere; the committed output (with its K8ssandraCluster record) is not read.
    let run = generate_at(
        &app.path().join("clusters"),
        "examples/clusters/",
        &[("ARGOCD_ENV_K8S_CONTEXT", "us-east-1")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, expected.stdout);
    assert_eq!(run.stderr, "");
    // Pointed at the committed output itself, the plugin still renders from the specs.
    let run = generate_at(
        &app.path().join("rendered/control-plane"),
        "examples/rendered/control-plane",
        &[("ARGOCD_ENV_K8S_CONTEXT", "us-east-1")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, expected.stdout);
    // A path that does not match the working directory is refused, never guessed.
    let run = generate_at(
        &app.path().join("clusters"),
        "deploy/clusters",
        &[("ARGOCD_ENV_K8S_CONTEXT", "us-east-1")],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with("error: the Application's path \"deploy/clusters\" (ARGOCD_APP_SOURCE_PATH) does not end the working directory "),
        "{}",
        run.stderr
    );
}

#[test]
fn other_tools_files_warn_and_broken_specs_fail_unless_out_of_scope() {
    let app = example_app();
    let expected = run_in(
        &app.path(),
        &["render", ".", "--context", "eu-west-1", "--stdout"],
    );
    assert_eq!(expected.code, 0, "{}", expected.stderr);
    // A Helm chart's template does not parse: a warning naming it, and the render goes on.
    let chart = app.path().join("charts/db/templates");
    fs::create_dir_all(&chart).unwrap();
    fs::write(
        chart.join("statefulset.yaml"),
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n",
    )
    .unwrap();
    let run = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", "eu-west-1")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, expected.stdout);
    assert!(
        run.stderr.starts_with("charts/db/templates/statefulset.yaml:")
            && run.stderr.contains(": warning[W0101]: invalid YAML, skipped (it declares no K8ssandraCluster, ClientConfig or RenderConfig): "),
        "{}",
        run.stderr
    );
    // A broken K8ssandraCluster file is an error.
    fs::write(
        app.path().join("clusters/draft.yaml"),
        "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata: {name: draft\n",
    )
    .unwrap();
    let run = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", "eu-west-1")]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("clusters/draft.yaml:")
            && run.stderr.contains(": error[E0101]: invalid YAML: "),
        "{}",
        run.stderr
    );
    // RenderConfig spec.exclude takes both out of scope: no warning, no error.
    let rc = app.path().join("render-config.yaml");
    fs::write(
        &rc,
        fs::read_to_string(&rc).unwrap().replace(
            "  outputDir: rendered ",
            "  exclude: [charts, clusters/draft.yaml]\n  outputDir: rendered ",
        ),
    )
    .unwrap();
    let run = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", "eu-west-1")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, expected.stdout);
    assert_eq!(run.stderr, "");
    // spec.include narrows to the specs; a bad glob is a located error.
    fs::write(
        &rc,
        fs::read_to_string(&rc).unwrap().replace(
            "  exclude: [charts, clusters/draft.yaml]\n",
            "  include: [\"clusters/orders*.yaml\", contexts, \"../x\"]\n",
        ),
    )
    .unwrap();
    let run = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", "eu-west-1")]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("render-config.yaml:7:48: error[E0307]: spec.include[2]") && run.stderr.contains(": error[E0307]: spec.include[2]: glob \"../x\" leaves the repository ('..'): globs are relative to the repository root ("),
        "{}",
        run.stderr
    );
    fs::write(
        &rc,
        fs::read_to_string(&rc).unwrap().replace(", \"../x\"]", "]"),
    )
    .unwrap();
    let run = generate(&app.path(), &[("ARGOCD_ENV_K8S_CONTEXT", "eu-west-1")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, expected.stdout);
    assert_eq!(run.stderr, "");
}

// ---- Lua health checks ----

/// Every kind with a check, as `<group>_<Kind>` (argocd-cm's key suffix), in key order.
const KINDS: [&str; 7] = [
    "cassandra.datastax.com_CassandraDatacenter",
    "control.k8ssandra.io_CassandraTask",
    "k8ssandra.io_K8ssandraCluster",
    "medusa.k8ssandra.io_MedusaBackupJob",
    "medusa.k8ssandra.io_MedusaRestoreJob",
    "reaper.k8ssandra.io_Reaper",
    "stargate.k8ssandra.io_Stargate",
];

fn lua() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LUA") {
        return Some(PathBuf::from(p));
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("lua5.1");
        if p.is_file() {
            return Some(p);
        }
    }
    crate::harness::skip("lua5.1 (Debian's lua5.1 package, or $LUA)");
    None
}

/// A JSON value as a Lua table constructor, the way Argo CD hands objects to scripts.
fn lua_literal(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\{}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(lua_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!(
                    "[{}] = {}",
                    lua_literal(&Value::String(k.clone())),
                    lua_literal(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Runs a health script on `obj` in a sandbox like argocd-cm's: base functions, `table`, a
/// safe `os`, and no string library (string methods are disabled too).
fn health(lua: &Path, kind: &str, obj: &Value) -> (String, String) {
    let dir = TempDir::new("lua");
    let driver = dir.path().join("driver.lua");
    fs::write(
        &driver,
        r#"local script, objfile = arg[1], arg[2]
getmetatable("").__index = function() error("string library is not available in Argo CD's sandbox") end
local env = { pairs = pairs, ipairs = ipairs, next = next, tostring = tostring, tonumber = tonumber,
  type = type, select = select, unpack = unpack, error = error, pcall = pcall, assert = assert,
  table = table, os = { time = os.time, date = os.date } }
env.obj = dofile(objfile)
local f = assert(loadfile(script))
setfenv(f, env)
local hs = f()
io.write(tostring(hs.status), "\n", tostring(hs.message), "\n")
"#,
    )
    .unwrap();
    let objfile = dir.path().join("obj.lua");
    fs::write(&objfile, format!("return {}\n", lua_literal(obj))).unwrap();
    let script = script_path(kind);
    let out = Command::new(lua)
        .arg(&driver)
        .arg(&script)
        .arg(&objfile)
        .output()
        .expect("lua runs");
    assert!(
        out.status.success(),
        "{kind}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (
        lines.next().unwrap_or_default().to_string(),
        lines.next().unwrap_or_default().to_string(),
    )
}

fn script_path(kind: &str) -> PathBuf {
    let (group, k) = kind.split_once('_').unwrap();
    root()
        .join("argocd/resource_customizations")
        .join(group)
        .join(k)
        .join("health.lua")
}

/// Runs every `health_test.yaml` the way Argo CD's own resource_customizations test does:
/// each `inputPath` object through the kind's `health.lua`, compared with `healthStatus`.
#[test]
fn every_health_test_yaml_passes_under_lua_5_1() {
    let Some(lua) = lua() else { return };
    let mut total = 0;
    for kind in KINDS {
        let dir = script_path(kind).parent().unwrap().to_path_buf();
        let text = fs::read_to_string(dir.join("health_test.yaml"))
            .unwrap_or_else(|e| panic!("{kind}: health_test.yaml: {e}"));
        let tests = k8ssandra_gitops::dev_support::parse_stream(&text).unwrap()[0].to_json();
        let tests = tests["tests"].as_array().unwrap();
        let mut used = Vec::new();
        for t in tests {
            let input = t["inputPath"].as_str().unwrap();
            used.push(input.trim_start_matches("testdata/").to_string());
            let obj_text = fs::read_to_string(dir.join(input)).unwrap();
            let obj = k8ssandra_gitops::dev_support::parse_stream(&obj_text).unwrap()[0].to_json();
            let (group, k) = kind.split_once('_').unwrap();
            assert_eq!(obj["kind"], k, "{kind}: {input}");
            assert!(
                obj["apiVersion"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{group}/")),
                "{kind}: {input}"
            );
            assert_eq!(
                health(&lua, kind, &obj),
                (
                    t["healthStatus"]["status"].as_str().unwrap().to_string(),
                    t["healthStatus"]["message"].as_str().unwrap().to_string()
                ),
                "{kind}: {input}"
            );
            total += 1;
        }
        // Every testdata object is under test, and each status the script returns is covered.
        for entry in fs::read_dir(dir.join("testdata")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            assert!(
                !name.ends_with(".yaml") || used.contains(&name),
                "{kind}: testdata/{name} is not in health_test.yaml"
            );
        }
        let script = fs::read_to_string(script_path(kind)).unwrap();
        for status in ["Healthy", "Progressing", "Degraded", "Suspended"] {
            if script.contains(&format!("status = \"{status}\"")) {
                assert!(
                    tests.iter().any(|t| t["healthStatus"]["status"] == status),
                    "{kind}: no test for {status}"
                );
            }
        }
    }
    assert!(total >= 30, "{total}");
}

#[test]
fn the_health_checks_cover_every_kind_and_nothing_else() {
    let base = root().join("argocd/resource_customizations");
    let mut found = Vec::new();
    for group in fs::read_dir(&base).unwrap() {
        let group = group.unwrap();
        for kind in fs::read_dir(group.path()).unwrap() {
            let kind = kind.unwrap();
            found.push(format!(
                "{}_{}",
                group.file_name().to_string_lossy(),
                kind.file_name().to_string_lossy()
            ));
        }
    }
    found.sort();
    assert_eq!(found, KINDS);
}

/// The argocd-cm patch holds every health script, verbatim.
fn expected_argocd_cm() -> String {
    let mut out = String::from(
        "# Generated from argocd/resource_customizations/*/*/health.lua (tests/argocd.rs checks it is in sync).\n# Strategic-merge patch for argocd-cm: Argo CD has no health checks for these kinds.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n",
    );
    for kind in KINDS {
        let script = fs::read_to_string(script_path(kind)).unwrap();
        out.push_str(&format!("  resource.customizations.health.{kind}: |\n"));
        for line in script.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}

#[test]
fn argocd_cm_snippet_matches_the_scripts() {
    let path = root().join("argocd/argocd-cm-health.yaml");
    let expected = expected_argocd_cm();
    if std::env::var_os("K8SSANDRA_GITOPS_BLESS").is_some() {
        fs::write(&path, &expected).unwrap();
    }
    let actual = fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "argocd/argocd-cm-health.yaml is stale: rerun this test with K8SSANDRA_GITOPS_BLESS=1"
    );
    // Every directory has a script and the snippet parses as YAML with those keys.
    let cm = k8ssandra_gitops::dev_support::parse_stream(&actual).unwrap()[0].to_json();
    for kind in KINDS {
        assert!(
            cm["data"][format!("resource.customizations.health.{kind}")].is_string(),
            "{kind}"
        );
    }
}

// ---- The generated ApplicationSet, with and without progressive syncs ----

/// The Applications the ApplicationSet controller writes from the example ApplicationSet: the
/// template with each list element substituted; with progressive syncs on, RollingSync also
/// sets `syncPolicy.automated.enabled: false` and syncs each step itself
/// (applicationset/progressivesync in Argo CD).
fn generated_applications(progressive_syncs: bool) -> Vec<Value> {
    let text = fs::read_to_string(
        root().join("examples/rendered/argocd/applicationset-k8ssandra-gitops.yaml"),
    )
    .unwrap();
    let appset = k8ssandra_gitops::dev_support::parse_stream(&text).unwrap()[0].to_json();
    let template = serde_json::to_string(&appset["spec"]["template"]).unwrap();
    appset["spec"]["generators"][0]["list"]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut t = template.clone();
            for key in ["context", "stage", "destination"] {
                t = t.replace(&format!("{{{{.{key}}}}}"), e[key].as_str().unwrap());
            }
            let t: Value = serde_json::from_str(&t).unwrap();
            let mut app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": t["metadata"], "spec": t["spec"]});
            app["metadata"]["namespace"] = appset["metadata"]["namespace"].clone();
            if progressive_syncs {
                app["spec"]["syncPolicy"]["automated"]["enabled"] = json!(false);
            }
            app
        })
        .collect()
}

#[test]
fn generated_applications_validate_and_sync_with_or_without_progressive_syncs() {
    for progressive in [false, true] {
        let apps = generated_applications(progressive);
        assert_eq!(apps.len(), 3);
        let dir = TempDir::new("argocd-apps");
        for app in &apps {
            let spec = &app["spec"];
            // An explicit source type: Argo CD never runs plugin discovery on these paths.
            assert_eq!(
                spec["source"]["directory"],
                json!({"recurse": true, "exclude": "kustomization.yaml"})
            );
            assert!(spec["source"].get("plugin").is_none());
            // Flag off: the Application syncs by itself. Flag on: RollingSync does it, with prune.
            assert_eq!(spec["syncPolicy"]["automated"]["prune"], json!(true));
            assert_eq!(
                spec["syncPolicy"]["automated"].get("enabled").cloned(),
                progressive.then_some(json!(false))
            );
            let name = app["metadata"]["name"].as_str().unwrap();
            fs::write(
                dir.path().join(format!("{name}.yaml")),
                serde_json::to_string_pretty(app).unwrap(),
            )
            .unwrap();
        }
        // Against the vendored Application CRD (strict: unknown fields fail).
        crate::harness::assert_valid_manifests(&[dir.path()]);
    }
}
