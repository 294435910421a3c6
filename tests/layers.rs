//! The library's modules follow the data flow and depend only downwards: a module may use its
//! own layer and those below it, never one above (issue #11). The status reporter sits apart
//! and must not reach the renderer or anything after it.

use std::collections::BTreeMap;
use std::path::Path;

/// Layers from the leaves up; a module may use modules of its own layer or lower ones.
const LAYERS: &[(&str, &[&str])] = &[
    // `json` and `parallel` are shared helpers with no knowledge of the domain.
    (
        "ports of upstream behaviour",
        &["ports", "json", "parallel"],
    ),
    ("syntax and diagnostics", &["diagnostic", "yaml", "emit"]),
    ("schema", &["schema", "schema_tools"]),
    ("model", &["model"]),
    ("load", &["source", "load", "revision"]),
    ("plan", &["merge", "plan", "seeds"]),
    ("render", &["render"]),
    ("output", &["output"]),
    (
        "front ends",
        &[
            "guard",
            "rendered",
            "argocd",
            "krm",
            "plan_diff",
            "lib",
            "cli",
            "main",
        ],
    ),
];

/// The reporter may use these layers (by index into `LAYERS`) and nothing above them.
const REPORTER_MAX_LAYER: usize = 5;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// `crate::X` paths named in a source file's code (comments skipped), with the line each name
/// is on; `crate::{a, b::c}` names each of `a` and `b`, also when the group spans several lines.
fn crate_uses(text: &str) -> Vec<(usize, String)> {
    // A file's unit-test module may drive the whole pipeline: it is not a dependency.
    let text = text
        .find("#[cfg(test)]\nmod ")
        .map_or(text, |end| &text[..end]);
    // Comments cut off line by line, the lines kept, so that a group can be read across them.
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let line_at = |at: usize| code[..at].matches('\n').count() + 1;
    // The identifier starting at `at` (after blanks), with its line.
    let name_at = |at: usize| -> (usize, String) {
        let rest = &code[at..];
        let start = at + (rest.len() - rest.trim_start().len());
        let name = code[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (line_at(start), name)
    };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::").map(|i| from + i) {
        let after = i + "crate::".len();
        from = after;
        // `my_crate::` is another path, not the crate root.
        if code[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if code[after..].starts_with('{') {
            let group = after + 1;
            let mut depth = 0;
            let mut start = group;
            for (j, c) in code[group..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(name_at(start));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(name_at(start));
                        start = group + j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(name_at(after));
        }
    }
    out.retain(|(_, name)| !name.is_empty());
    out
}

fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_depend_only_on_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut unknown: BTreeMap<String, String> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let from = top_module(rel);
        if from == "testing" {
            continue; // test-only helpers, compiled into unit tests alone
        }
        let text = std::fs::read_to_string(file).unwrap();
        let from_layer = if from == "reporter" {
            Some(REPORTER_MAX_LAYER)
        } else {
            layer_of(&from)
        };
        let Some(from_layer) = from_layer else {
            unknown.insert(from.clone(), rel.display().to_string());
            continue;
        };
        for (line, to) in crate_uses(&text) {
            if to == from || to == "testing" {
                continue;
            }
            // Items of the crate root re-exported for front ends (`crate::render_inputs`).
            let to_layer = match layer_of(&to) {
                Some(l) => l,
                // The reporter stands apart: only a front end (the command line) starts it.
                None if to == "reporter" => LAYERS.len() - 1,
                None => layer_of("lib").unwrap(),
            };
            if to_layer > from_layer {
                problems.push(format!(
                    "src/{}:{line}: {from} ({}) uses crate::{to} ({})",
                    rel.display(),
                    if from == "reporter" {
                        "the reporter"
                    } else {
                        LAYERS[from_layer].0
                    },
                    LAYERS.get(to_layer).map_or("the reporter", |l| l.0)
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules without a layer (add them to LAYERS): {unknown:?}"
    );
    assert!(
        problems.is_empty(),
        "upward imports:\n{}",
        problems.join("\n")
    );
}

/// The check itself must be able to fail: an upward path in a sample is found.
#[test]
fn the_import_scanner_sees_paths_and_skips_comments() {
    let uses = crate_uses(
        "use crate::render::Manifest; // crate::output\nlet x = crate::plan::plan(); my_crate::y();\nuse crate::{load::Inputs, output::{a, b}, Outcome};",
    );
    let names: Vec<(usize, &str)> = uses.iter().map(|(l, n)| (*l, n.as_str())).collect();
    assert_eq!(
        names,
        [
            (1, "render"),
            (2, "plan"),
            (3, "load"),
            (3, "output"),
            (3, "Outcome")
        ]
    );
}

/// A `use crate::{...}` group written over several lines (as rustfmt writes long ones) names
/// each member on its own line; a comment inside the group names nothing.
#[test]
fn the_import_scanner_reads_groups_across_lines() {
    let uses = crate_uses(
        "use std::fmt;\nuse crate::{\n    load::Inputs,\n    // crate::output\n    schema::{a, b},\n    Outcome,\n};\nlet x = crate::plan::plan();",
    );
    let names: Vec<(usize, &str)> = uses.iter().map(|(l, n)| (*l, n.as_str())).collect();
    assert_eq!(
        names,
        [(3, "load"), (5, "schema"), (6, "Outcome"), (8, "plan")]
    );
}

/// What a render module may not do (issue #11: "render never re-checks schemas", "the plan
/// decides everything"): use `crate::schema` (defaulting, normalising, checking), read the
/// source documents (`doc.value`, `doc.node`) instead of what the plan resolved, or reach the
/// loaded inputs (`crate::load::Inputs`, named as `Inputs` once imported) instead of the plan.
/// Placing a diagnostic (`plan.doc.error(...)`, `locate`) is fine. Unit-test modules and
/// comments are not looked at. Returns (line, what) for each finding.
fn render_reaches_past_the_plan(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = crate_uses(text)
        .into_iter()
        .filter(|(_, to)| to == "schema" || to == "schema_tools")
        .map(|(line, to)| (line, format!("uses crate::{to}")))
        .collect();
    let text = text
        .find("#[cfg(test)]\nmod ")
        .map_or(text, |end| &text[..end]);
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for raw in ["doc.value", "doc.node"] {
            if code.contains(raw) {
                out.push((n + 1, format!("reads {raw}")));
            }
        }
        if names_identifier(code, "Inputs") {
            out.push((n + 1, "reaches crate::load::Inputs".to_string()));
        }
    }
    out.sort();
    out
}

/// Whether `code` names `ident` as a whole identifier (not part of a longer one).
fn names_identifier(code: &str, ident: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(ident).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + ident.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[test]
fn render_modules_read_the_plan_not_the_inputs_schemas_or_documents() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/render");
    let mut files = Vec::new();
    sources(&dir, &mut files);
    files.sort();
    assert!(files.len() > 10, "render modules found: {files:?}");
    let problems: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            render_reaches_past_the_plan(&text)
                .into_iter()
                .map(move |(line, what)| format!("src/render/{name}:{line}: {what}"))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "render modules must get these from the plan (src/plan/templates.rs and friends):\n{}",
        problems.join("\n")
    );
}

/// The render check can fail: it finds a schema call (plain and in a `use` group), raw
/// document reads and the loaded inputs (imported, in a `use` group, as a parameter), and
/// skips comments, longer identifiers, diagnostics placement and the unit-test module.
#[test]
fn the_render_scanner_sees_schema_calls_document_reads_and_inputs() {
    let sample = "use crate::{json::str_at, schema::apply_defaults};\n\
        let r = crate::schema::normalize(kind, &plan.doc.node);\n\
        let spec = &plan.doc.value.spec; // plan.doc.value in a comment\n\
        diags.push(plan.doc.error(code, path, msg));\n\
        use crate::load::Inputs;\n\
        use crate::{load::{Doc, Inputs}, plan::Plan};\n\
        fn new(inputs: &Inputs) {} // Inputs in a comment\n\
        struct RenderInputs; let x = InputsLike; // not the loaded inputs\n\
        #[cfg(test)]\nmod tests { use crate::schema::apply_defaults; use crate::load::Inputs; }\n";
    assert_eq!(
        render_reaches_past_the_plan(sample),
        [
            (1, "uses crate::schema".to_string()),
            (2, "reads doc.node".to_string()),
            (2, "uses crate::schema".to_string()),
            (3, "reads doc.value".to_string()),
            (5, "reaches crate::load::Inputs".to_string()),
            (6, "reaches crate::load::Inputs".to_string()),
            (7, "reaches crate::load::Inputs".to_string()),
        ]
    );
}

/// Sibling submodules of one module that a file names (`super::x`, `crate::<parent>::x`, and
/// `super::{x, y}`), outside its unit-test module.
fn sibling_uses(text: &str, parent: &str, siblings: &[String]) -> Vec<String> {
    let text = text
        .find("#[cfg(test)]\nmod ")
        .map_or(text, |end| &text[..end]);
    let mut out = Vec::new();
    let long = format!("crate::{parent}::");
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for prefix in ["super::", long.as_str()] {
            let mut rest = code;
            while let Some(i) = rest.find(prefix) {
                rest = &rest[i + prefix.len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group
                        .split('}')
                        .next()
                        .unwrap_or_default()
                        .split(',')
                        .collect(),
                    None => vec![rest],
                };
                for n in names {
                    let n: String = n
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if siblings.contains(&n) {
                        out.push(n);
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A cycle in `graph` (module → modules it uses), as the path that closes it.
fn find_cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// Within a module, its submodules use each other one way only (no cycle), so that each has
/// one place in the data flow (issue #11: render's modules used to call each other both ways).
#[test]
fn submodules_of_a_module_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for dir in std::fs::read_dir(&src).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let parent = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .filter(|p| p.file_stem().is_some_and(|s| s != "mod"))
            .collect();
        files.sort();
        let siblings: Vec<String> = files
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
            .collect();
        let graph: BTreeMap<String, Vec<String>> = files
            .iter()
            .zip(&siblings)
            .map(|(file, name)| {
                let text = std::fs::read_to_string(file).unwrap();
                let mut uses = sibling_uses(&text, &parent, &siblings);
                uses.retain(|u| u != name);
                (name.clone(), uses)
            })
            .collect();
        if let Some(cycle) = find_cycle(&graph) {
            problems.push(format!("src/{parent}: {}", cycle.join(" -> ")));
        }
    }
    assert!(
        problems.is_empty(),
        "submodules that use each other in a cycle:\n{}",
        problems.join("\n")
    );
}

/// The cycle check can fail: it finds a cycle through a `super::{..}` group and a
/// `crate::render::` path, and none in a one-way graph.
#[test]
fn the_sibling_scanner_and_cycle_finder_see_cycles() {
    let siblings: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    assert_eq!(
        sibling_uses(
            "use super::{b, x};\nlet y = crate::render::c::f(); // super::a\n#[cfg(test)]\nmod tests { use super::a; }",
            "render",
            &siblings
        ),
        ["b", "c"]
    );
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry((*a).into()).or_default().push((*b).into());
            g.entry((*b).into()).or_default();
        }
        g
    };
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "b")])),
        Some(["b", "c", "b"].map(String::from).to_vec())
    );
}
