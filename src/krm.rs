//! KRM function mode (`k8ssandra-gitops krm`): a `ResourceList` on stdin, a `ResourceList` on
//! stdout, following the KRM Functions Specification (`config.kubernetes.io/v1`).
//!
//! - `functionConfig` chooses the context: our own kind
//!   (`apiVersion: gitops.k8ssandra.io/v1alpha1`, `kind: RenderFunction`,
//!   `spec: {context, path}`) or, as kpt users expect, a `ConfigMap` with `data.context` and
//!   `data.path`.
//! - The inputs are the items that are K8ssandraClusters, ClientConfigs and the RenderConfig,
//!   and the documents `render` routes to a datacenter (Medusa schedules and jobs,
//!   CassandraTasks); they are consumed (the objects rendered from them replace them: a routed
//!   document of another context's datacenter is dropped). Every other item passes
//!   through untouched, including the copy of the functionConfig that kustomize puts in `items`
//!   for generators (it carries `config.kubernetes.io/local-config`, so kustomize drops it).
//! - Kustomize gives an exec function under `generators:` no resources as items
//!   (kubernetes-sigs/kustomize#5502): there, `spec.path` names the repository directory to read,
//!   relative to the function's working directory (kustomize runs it in the kustomization's
//!   directory), exactly as `render` reads it.
//! - The output items are the rendered objects of the context, each annotated with the path
//!   `render` would write it to inside the context's directory (`config.kubernetes.io/path` and
//!   its `internal.` twin, which kyaml requires to agree), so that KRM sinks writing to another
//!   directory lay files out as `render` does. Kustomize removes these annotations from
//!   `kustomize build` output.
//! - Problems become `results` (severity, message, resourceRef, field, file) and the function
//!   fails (the caller exits non-zero); the items are then returned unchanged. The same results
//!   are also given as text lines for stderr, since kustomize shows only stderr.

use std::path::PathBuf;

use serde_json::{Map, Value as J, json};

use crate::diagnostic::{Code, Diagnostic, Severity, did_you_mean, has_error};
use crate::load::{self, Origin};
use crate::model::config::RENDER_CONFIG_API_VERSION;
use crate::render::{ByContext, Manifest};
use crate::yaml::{self, Node, Pos, Value, path_string};

/// Set, to the rendered context, on the copy of the functionConfig that kustomize hands a
/// generator among its items: a kustomization can require it (a `replacements` source
/// `fieldPath`) so that its build fails when exec functions are off, instead of building
/// nothing (see the README's kustomize recipe). kustomize drops that copy from its output (it is
/// `config.kubernetes.io/local-config`).
pub const RAN_ANNOTATION: &str = "gitops.k8ssandra.io/rendered-context";
/// `kind` of our functionConfig (its `apiVersion` is the RenderConfig's).
pub const FUNCTION_CONFIG_KIND: &str = "RenderFunction";
/// `apiVersion` of the output `ResourceList`.
pub const RESOURCE_LIST_API_VERSION: &str = "config.kubernetes.io/v1";
const RESOURCE_LIST_VERSIONS: [&str; 2] =
    ["config.kubernetes.io/v1", "config.kubernetes.io/v1beta1"];
/// File an item is written to by KRM sinks (legacy name, still read and written by kyaml).
pub const PATH_ANNOTATION: &str = "config.kubernetes.io/path";
/// Index of an item in its file (legacy name).
pub const INDEX_ANNOTATION: &str = "config.kubernetes.io/index";
/// File an item is written to (current name).
pub const INTERNAL_PATH_ANNOTATION: &str = "internal.config.kubernetes.io/path";
/// Index of an item in its file (current name).
pub const INTERNAL_INDEX_ANNOTATION: &str = "internal.config.kubernetes.io/index";
/// Annotation prefixes owned by KRM tooling (kyaml, kustomize, kpt): removed from input items
/// before rendering, so that output never depends on how the input was carried.
const TOOL_ANNOTATION_PREFIXES: [&str; 4] = [
    "config.kubernetes.io/",
    "internal.config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
];

/// What the function produced.
#[derive(Debug, Clone)]
pub struct Response {
    /// The output `ResourceList`, as YAML.
    pub resource_list: String,
    /// One line per result, for stderr.
    pub messages: Vec<String>,
    /// Whether any result is an error: the caller must exit non-zero.
    pub failed: bool,
}

/// The settings read from `functionConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    context: String,
    path: Option<String>,
    /// `spec` for our kind, `data` for a ConfigMap: the prefix of field paths in results.
    section: &'static str,
    resource_ref: J,
}

/// One entry of `results`.
#[derive(Debug, Clone)]
struct Finding {
    severity: Severity,
    message: String,
    resource_ref: Option<J>,
    field: Option<String>,
    /// `file.path` and `file.index`.
    file: Option<(String, Option<usize>)>,
    /// Where to point a human (`file:line:col`), when the position is in a real file.
    location: Option<String>,
    /// The diagnostic code (`results[].tags.code`), for findings that are diagnostics.
    code: Option<Code>,
}

impl Finding {
    fn error(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            resource_ref: None,
            field: None,
            file: None,
            location: None,
            code: None,
        }
    }

    fn about(mut self, resource_ref: &J, field: impl Into<String>) -> Self {
        self.resource_ref = Some(resource_ref.clone());
        self.field = Some(field.into());
        self
    }

    fn to_json(&self) -> J {
        let mut m = Map::new();
        m.insert("message".into(), J::String(self.message.clone()));
        m.insert(
            "severity".into(),
            J::String(severity_name(self.severity).into()),
        );
        if let Some(r) = &self.resource_ref {
            m.insert("resourceRef".into(), r.clone());
        }
        if let Some(f) = &self.field {
            m.insert("field".into(), json!({ "path": f }));
        }
        if let Some((path, index)) = &self.file {
            let mut file = Map::new();
            file.insert("path".into(), J::String(path.clone()));
            if let Some(i) = index {
                file.insert("index".into(), J::from(*i));
            }
            m.insert("file".into(), J::Object(file));
        }
        if let Some(code) = self.code {
            m.insert("tags".into(), json!({ "code": code.as_str() }));
        }
        J::Object(m)
    }

    fn to_line(&self) -> String {
        let mut where_ = self.location.clone().or_else(|| {
            self.file.as_ref().map(|(p, i)| match i {
                Some(i) => format!("{p} (document {i})"),
                None => p.clone(),
            })
        });
        if where_.is_none() {
            where_ = self.resource_ref.as_ref().map(|r| {
                format!(
                    "{} {}",
                    r["kind"].as_str().unwrap_or_default(),
                    r["name"].as_str().unwrap_or_default()
                )
            });
        }
        let mut line = format!(
            "{}: {}",
            where_.unwrap_or_else(|| "krm".into()),
            severity_name(self.severity)
        );
        if let Some(code) = self.code {
            line.push_str(&format!("[{code}]"));
        }
        line.push_str(": ");
        if let Some(f) = &self.field {
            line.push_str(f);
            line.push_str(": ");
        }
        line.push_str(&self.message);
        line
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A document the findings can point at.
#[derive(Debug, Clone)]
struct DocRef {
    /// `Diagnostic::file` of findings about it.
    file: PathBuf,
    /// What to report as `file.path` (None when the item came without a path annotation).
    result_file: Option<String>,
    index: usize,
    pos: Pos,
    resource_ref: J,
}

/// Runs the function on the text of a `ResourceList`. A relative `spec.path` is read from the
/// process's working directory.
#[must_use]
pub fn run(input: &str) -> Response {
    let docs = match yaml::parse_stream(input) {
        Ok(d) => d,
        Err(e) => {
            return failure(
                &[],
                vec![Finding::error(format!(
                    "stdin is not a valid ResourceList: invalid YAML at line {}, column {}: {}",
                    e.pos.line, e.pos.column, e.message
                ))],
            );
        }
    };
    let docs: Vec<Node> = docs
        .into_iter()
        .filter(|n| n.value != Value::Null)
        .collect();
    let [list] = docs.as_slice() else {
        return failure(
            &[],
            vec![Finding::error(format!(
                "stdin must hold one ResourceList document, found {}",
                docs.len()
            ))],
        );
    };
    let text = |n: &Node, k: &str| {
        n.get(k)
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind) = (text(list, "apiVersion"), text(list, "kind"));
    if kind != "ResourceList" || !RESOURCE_LIST_VERSIONS.contains(&api_version.as_str()) {
        return failure(
            &[],
            vec![Finding::error(format!(
                "stdin must be a ResourceList ({}), found apiVersion {api_version:?} kind {kind:?}",
                RESOURCE_LIST_VERSIONS.join(" or ")
            ))],
        );
    }
    let items: Vec<Node> = match list.get("items").map(|n| &n.value) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Seq(items)) => items.clone(),
        Some(_) => {
            return failure(
                &[],
                vec![
                    Finding::error("ResourceList items must be a list")
                        .about(&json!({"apiVersion": api_version, "kind": kind}), "items"),
                ],
            );
        }
    };
    let config = match read_config(list.get("functionConfig")) {
        Ok(c) => c,
        Err(f) => return failure(&items, vec![*f]),
    };

    // Split the items into our inputs and the ones that pass through.
    let mut ours = Vec::new();
    let mut refs = Vec::new();
    let mut passthrough = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (av, k) = (text(item, "apiVersion"), text(item, "kind"));
        // Routed documents (Medusa schedules and jobs, CassandraTasks) are inputs too: routed
        // into the context's namespace like `render` does, or left out when they belong to
        // another context's datacenter.
        if !load::is_input(&av, &k)
            && crate::model::operations::OperationKind::of(&av, &k).is_none()
        {
            passthrough.push(item.to_json());
            continue;
        }
        let annotation = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| item.get("metadata")?.get("annotations")?.get(n)?.as_str())
                .map(str::to_string)
        };
        let result_file = annotation([INTERNAL_PATH_ANNOTATION, PATH_ANNOTATION]);
        let index = annotation([INTERNAL_INDEX_ANNOTATION, INDEX_ANNOTATION])
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let file = PathBuf::from(
            result_file
                .clone()
                .unwrap_or_else(|| format!("ResourceList items[{i}]")),
        );
        refs.push(DocRef {
            file: file.clone(),
            result_file: result_file.clone(),
            index,
            pos: item.pos,
            resource_ref: resource_ref(item),
        });
        let mut node = item.clone();
        strip_tool_annotations(&mut node);
        ours.push((
            node,
            Origin {
                rel_path: file.to_string_lossy().into_owned(),
                file,
                index,
            },
        ));
    }

    let (rendered, diags, real_positions) = if let Some(path) = &config.path {
        if !ours.is_empty() {
            let f = Finding::error(format!(
                "{}.path is set, and the items also hold {} K8ssandraCluster/ClientConfig/RenderConfig document{}: give the repository in one place",
                config.section,
                ours.len(),
                if ours.len() == 1 { "" } else { "s" }
            ))
            .about(&config.resource_ref, format!("{}.path", config.section));
            return failure(&items, vec![f]);
        }
        if let Err(error) = confine(path) {
            let f = Finding::error(error.to_string())
                .about(&config.resource_ref, format!("{}.path", config.section));
            return failure(&items, vec![f]);
        }
        let options = crate::RenderOptions {
            context: Some(&config.context),
            ..crate::RenderOptions::default()
        };
        match crate::render(std::path::Path::new(path), options) {
            Ok(rendered) => {
                let outcome = rendered.contexts();
                refs = outcome_refs(&outcome.inputs);
                (outcome.rendered, outcome.diagnostics, true)
            }
            Err(e) => {
                let f = Finding::error(e.to_string())
                    .about(&config.resource_ref, format!("{}.path", config.section));
                return failure(&items, vec![f]);
            }
        }
    } else {
        let had_inputs = !ours.is_empty();
        let (inputs, diags) = load::load_documents(ours);
        let (rendered, diags) = crate::render_inputs_scoped(&inputs, diags, Some(&config.context));
        if !had_inputs {
            let f = Finding::error(format!(
                "no K8ssandraCluster, ClientConfig or RenderConfig among the items, and {}.path is not set (under kustomize `generators:` the items are empty: set {}.path to the repository directory)",
                config.section, config.section
            ))
            .about(&config.resource_ref, format!("{}.path", config.section));
            return failure(&items, vec![f]);
        }
        (rendered, diags, false)
    };

    let mut findings: Vec<Finding> = diags
        .iter()
        .map(|d| finding(d, &refs, real_positions))
        .collect();
    if has_error(&diags) {
        return failure(&items, findings);
    }
    let Some(manifests) = rendered.get(&config.context).filter(|m| !m.is_empty()) else {
        findings.push(unknown_context(&config, &rendered));
        return failure(&items, findings);
    };
    let mut out_items = passthrough;
    mark_function_config(&mut out_items, &config);
    out_items.extend(manifests.iter().map(annotated));
    respond(out_items, findings)
}

/// Marks the items that are copies of the functionConfig (same apiVersion, kind, name and
/// namespace) with [`RAN_ANNOTATION`].
fn mark_function_config(items: &mut [J], config: &Config) {
    let id = |v: &J| {
        ["apiVersion", "kind", "name", "namespace"].map(|k| v.get(k).cloned().unwrap_or(J::Null))
    };
    let want = id(&config.resource_ref);
    for item in items {
        let meta = &item["metadata"];
        let have = [
            item["apiVersion"].clone(),
            item["kind"].clone(),
            meta["name"].clone(),
            meta.get("namespace").cloned().unwrap_or(J::Null),
        ];
        if have != want {
            continue;
        }
        if let Some(meta) = item.get_mut("metadata").and_then(J::as_object_mut) {
            let annotations = meta
                .entry("annotations")
                .or_insert_with(|| J::Object(Map::new()));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(RAN_ANNOTATION.into(), J::String(config.context.clone()));
            }
        }
    }
}

/// Reads `functionConfig`.
fn read_config(node: Option<&Node>) -> Result<Config, Box<Finding>> {
    let expected = format!(
        "expected apiVersion {RENDER_CONFIG_API_VERSION} kind {FUNCTION_CONFIG_KIND} with spec.context (and spec.path to read a directory), or a ConfigMap with data.context (and data.path)"
    );
    let Some(node) = node.filter(|n| n.value != Value::Null) else {
        return Err(Box::new(Finding::error(format!(
            "functionConfig is missing: {expected}"
        ))));
    };
    let text = |k: &str| node.get(k).and_then(Node::as_str).unwrap_or_default();
    let reference = resource_ref(node);
    let section = match (text("apiVersion"), text("kind")) {
        (RENDER_CONFIG_API_VERSION, FUNCTION_CONFIG_KIND) => "spec",
        ("v1", "ConfigMap") => "data",
        (av, k) => {
            return Err(Box::new(
                Finding::error(format!(
                    "unsupported functionConfig apiVersion {av:?} kind {k:?}: {expected}"
                ))
                .about(&reference, "kind"),
            ));
        }
    };
    let fields = node.get(section).and_then(Node::as_map).unwrap_or_default();
    let mut context = None;
    let mut path = None;
    for (key, value) in fields {
        let field = format!("{section}.{}", key.name);
        let slot = match key.name.as_str() {
            "context" => &mut context,
            "path" => &mut path,
            other => {
                let hint = did_you_mean(other, ["context", "path"])
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                return Err(Box::new(
                    Finding::error(format!(
                        "unknown field: {section} has context and path{hint}"
                    ))
                    .about(&reference, field),
                ));
            }
        };
        match value.as_str() {
            Some(s) if !s.is_empty() => *slot = Some(s.to_string()),
            _ => {
                return Err(Box::new(
                    Finding::error("must be a non-empty string").about(&reference, field),
                ));
            }
        }
    }
    let Some(context) = context else {
        return Err(Box::new(
            Finding::error(format!(
                "required: the context to render (a ClientConfig name, or the control plane's context); {expected}"
            ))
            .about(&reference, format!("{section}.context")),
        ));
    };
    Ok(Config {
        context,
        path,
        section,
        resource_ref: reference,
    })
}

/// `spec.path` stays where the function runs: relative, and inside the Git work tree that
/// holds the working directory (kustomize runs the function in the kustomization's directory, so
/// a generator reaches the repository with `../..`); outside any Git work tree, inside the
/// working directory. `spec.path: /` would otherwise read the whole file system.
fn confine(path: &str) -> Result<(), ConfineError> {
    let given = std::path::Path::new(path);
    if given.is_absolute() {
        return Err(ConfineError::Absolute(path.to_string()));
    }
    let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) else {
        return Ok(()); // reading it fails with its own error
    };
    let Ok(target) = std::fs::canonicalize(cwd.join(given)) else {
        return Ok(());
    };
    let work_tree = cwd
        .ancestors()
        .find(|a| std::fs::symlink_metadata(a.join(".git")).is_ok());
    let boundary = work_tree.unwrap_or(&cwd);
    if target.starts_with(boundary) {
        return Ok(());
    }
    Err(ConfineError::Outside {
        path: path.to_string(),
        target,
        boundary: boundary.to_path_buf(),
        in_work_tree: work_tree.is_some(),
    })
}

/// Why [`confine`] refuses a `spec.path`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ConfineError {
    /// An absolute path.
    #[error(
        "path {0:?} is absolute; give the repository relative to the kustomization's directory"
    )]
    Absolute(String),
    /// A relative path that resolves outside the boundary.
    #[error(
        "path {path:?} leads to {}, outside {} {}; the function reads only inside it",
        target.display(),
        if *in_work_tree {
            "the Git work tree"
        } else {
            "the working directory (there is no Git work tree)"
        },
        boundary.display()
    )]
    Outside {
        /// `spec.path` as given.
        path: String,
        /// Where it leads, symlinks resolved.
        target: PathBuf,
        /// The Git work tree holding the working directory, else the working directory.
        boundary: PathBuf,
        /// Whether `boundary` is a Git work tree.
        in_work_tree: bool,
    },
}

fn unknown_context(config: &Config, rendered: &ByContext) -> Finding {
    let known: Vec<&str> = rendered.keys().map(String::as_str).collect();
    let hint = did_you_mean(&config.context, known.iter().copied())
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    Finding::error(format!(
        "context {:?} has no objects to render (contexts with objects: {}){hint}; refusing to return no objects",
        config.context,
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
    .about(&config.resource_ref, format!("{}.context", config.section))
}

/// `resourceRef` of a document: apiVersion, kind, name and namespace when present.
fn resource_ref(node: &Node) -> J {
    let mut m = Map::new();
    for (key, value) in [
        ("apiVersion", node.get("apiVersion")),
        ("kind", node.get("kind")),
        ("name", node.get("metadata").and_then(|m| m.get("name"))),
        (
            "namespace",
            node.get("metadata").and_then(|m| m.get("namespace")),
        ),
    ] {
        if let Some(s) = value.and_then(Node::as_str) {
            m.insert(key.into(), J::String(s.into()));
        }
    }
    J::Object(m)
}

/// The documents of a repository read from disk, for locating findings.
fn outcome_refs(inputs: &load::Inputs) -> Vec<DocRef> {
    let mut refs = Vec::new();
    let mut add = |node: &Node, origin: &Origin| {
        refs.push(DocRef {
            file: origin.file.clone(),
            result_file: Some(origin.file.to_string_lossy().into_owned()),
            index: origin.index,
            pos: node.pos,
            resource_ref: resource_ref(node),
        });
    };
    for d in &inputs.clusters {
        add(&d.node, &d.origin);
    }
    for d in &inputs.client_configs {
        add(&d.node, &d.origin);
    }
    if let Some(d) = &inputs.render_config {
        add(&d.node, &d.origin);
    }
    for d in &inputs.others {
        add(&d.node, &d.origin);
    }
    refs
}

/// A diagnostic as a result: the document it is in is the last one of its file that starts at
/// or before it.
fn finding(d: &Diagnostic, refs: &[DocRef], real_positions: bool) -> Finding {
    let doc = refs
        .iter()
        .filter(|r| r.file == d.file && r.pos <= d.pos && d.pos != Pos::default())
        .max_by_key(|r| r.pos);
    let mut message = d.message.clone();
    for r in &d.related {
        message.push_str(&format!(
            " ({}: {}:{}:{})",
            r.label,
            r.file.display(),
            r.pos.line,
            r.pos.column
        ));
    }
    if let Some(h) = &d.hint {
        message.push_str(&format!(" ({h})"));
    }
    let file = match doc {
        Some(r) => r.result_file.clone().map(|p| (p, Some(r.index))),
        None if real_positions => Some((d.file.to_string_lossy().into_owned(), None)),
        None => None,
    };
    Finding {
        severity: d.severity(),
        message,
        resource_ref: doc.map(|r| r.resource_ref.clone()),
        field: (!d.path.is_empty()).then(|| path_string(&d.path)),
        location: real_positions
            .then(|| format!("{}:{}:{}", d.file.display(), d.pos.line, d.pos.column)),
        file,
        code: Some(d.code),
    }
}

/// Removes annotations owned by KRM tooling; drops `annotations` when nothing is left.
fn strip_tool_annotations(node: &mut Node) {
    let Value::Map(top) = &mut node.value else {
        return;
    };
    let Some((_, meta)) = top.iter_mut().find(|(k, _)| k.name == "metadata") else {
        return;
    };
    let Value::Map(meta) = &mut meta.value else {
        return;
    };
    let Some(i) = meta.iter().position(|(k, _)| k.name == "annotations") else {
        return;
    };
    if let Value::Map(annotations) = &mut meta[i].1.value {
        annotations.retain(|(k, _)| {
            !TOOL_ANNOTATION_PREFIXES
                .iter()
                .any(|p| k.name.starts_with(p))
        });
        if annotations.is_empty() {
            meta.remove(i);
        }
    }
}

/// A rendered object with the file `render` would write it to, relative to the context's
/// directory.
fn annotated(m: &Manifest) -> J {
    let mut object = m.object.clone();
    let rel = m.rel_path();
    let inside = rel[m.context.len() + 1..].to_string();
    if let Some(meta) = object.get_mut("metadata").and_then(J::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| J::Object(Map::new()));
        if let Some(a) = annotations.as_object_mut() {
            for (k, v) in [
                (PATH_ANNOTATION, inside.as_str()),
                (INTERNAL_PATH_ANNOTATION, inside.as_str()),
                (INDEX_ANNOTATION, "0"),
                (INTERNAL_INDEX_ANNOTATION, "0"),
            ] {
                a.insert(k.into(), J::String(v.into()));
            }
        }
    }
    object
}

fn resource_list(items: Vec<J>, findings: &[Finding]) -> String {
    let mut m = Map::new();
    m.insert(
        "apiVersion".into(),
        J::String(RESOURCE_LIST_API_VERSION.into()),
    );
    m.insert("kind".into(), J::String("ResourceList".into()));
    m.insert("items".into(), J::Array(items));
    if !findings.is_empty() {
        m.insert(
            "results".into(),
            J::Array(findings.iter().map(Finding::to_json).collect()),
        );
    }
    crate::emit::value_to_yaml(&J::Object(m))
}

fn respond(items: Vec<J>, findings: Vec<Finding>) -> Response {
    Response {
        resource_list: resource_list(items, &findings),
        messages: findings.iter().map(Finding::to_line).collect(),
        failed: findings.iter().any(|f| f.severity == Severity::Error),
    }
}

/// The items unchanged, with the findings (at least one error).
fn failure(items: &[Node], findings: Vec<Finding>) -> Response {
    respond(items.iter().map(Node::to_json).collect(), findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    /// A K8ssandraCluster with one datacenter in `east`, as a ResourceList item (indented by
    /// `- `), with the annotations kustomize adds to resources it reads from a file.
    const CLUSTER: &str = "
- apiVersion: k8ssandra.io/v1alpha1
  kind: K8ssandraCluster
  metadata:
    name: demo
    namespace: db
    annotations:
      config.kubernetes.io/path: clusters/demo.yaml
      internal.config.kubernetes.io/path: clusters/demo.yaml
      config.kubernetes.io/index: '1'
      internal.config.kubernetes.io/index: '1'
      config.k8s.io/id: '7'
  spec:
    cassandra:
      serverVersion: 4.1.5
      storageConfig:
        cassandraDataVolumeClaimSpec:
          storageClassName: standard
          resources: {requests: {storage: 5Gi}}
      datacenters:
      - metadata: {name: dc1}
        k8sContext: east
        size: SIZE
";
    const CONTEXT_ITEMS: &str = "
- apiVersion: config.k8ssandra.io/v1beta1
  kind: ClientConfig
  metadata: {name: east}
- apiVersion: config.k8ssandra.io/v1beta1
  kind: ClientConfig
  metadata: {name: west}
- apiVersion: gitops.k8ssandra.io/v1alpha1
  kind: RenderConfig
  metadata: {name: default}
  spec: {secrets: {backend: external}}
";
    const UNRELATED: &str = "
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: unrelated, annotations: {config.k8s.io/id: '9'}}
  data: {a: b}
";

    fn list(items: &str, function_config: &str) -> String {
        format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:{items}functionConfig:\n{function_config}"
        )
    }

    fn our_config(spec: &str) -> String {
        format!(
            "  apiVersion: gitops.k8ssandra.io/v1alpha1\n  kind: RenderFunction\n  metadata: {{name: render}}\n  spec: {spec}\n"
        )
    }

    fn output(r: &Response) -> J {
        let docs = yaml::parse_stream(&r.resource_list).expect("output is YAML");
        assert_eq!(docs.len(), 1, "{}", r.resource_list);
        docs[0].to_json()
    }

    fn strip(mut object: J) -> J {
        let meta = object["metadata"].as_object_mut().unwrap();
        let annotations = meta["annotations"].as_object_mut().unwrap();
        for k in [
            PATH_ANNOTATION,
            INTERNAL_PATH_ANNOTATION,
            INDEX_ANNOTATION,
            INTERNAL_INDEX_ANNOTATION,
        ] {
            assert!(annotations.remove(k).is_some(), "{k} missing");
        }
        if annotations.is_empty() {
            meta.remove("annotations");
        }
        object
    }

    #[test]
    fn renders_the_chosen_context_from_items_and_passes_other_items_through() {
        let items = format!("{UNRELATED}{}{CONTEXT_ITEMS}", CLUSTER.replace("SIZE", "3"));
        let r = run(&list(&items, &our_config("{context: east}")));
        assert!(!r.failed, "{:?}", r.messages);
        assert!(r.messages.is_empty(), "{:?}", r.messages);
        let out = output(&r);
        assert_eq!(out["apiVersion"], "config.kubernetes.io/v1");
        assert_eq!(out["kind"], "ResourceList");
        assert!(out.get("results").is_none());
        let items = out["items"].as_array().unwrap();
        // The unrelated item comes back untouched, the inputs are consumed.
        assert_eq!(
            items[0],
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "unrelated", "annotations": {"config.k8s.io/id": "9"}},
                   "data": {"a": "b"}})
        );
        assert!(
            items
                .iter()
                .all(|i| i["kind"] != "K8ssandraCluster" && i["kind"] != "ClientConfig")
        );
        let dc = items
            .iter()
            .find(|i| i["kind"] == "CassandraDatacenter")
            .expect("the datacenter is rendered");
        assert_eq!(dc["metadata"]["name"], "dc1");
        assert_eq!(dc["metadata"]["namespace"], "db");
        assert_eq!(dc["spec"]["size"], 3);
        let a = &dc["metadata"]["annotations"];
        assert_eq!(a[PATH_ANNOTATION], "db/demo/cassandradatacenter-dc1.yaml");
        assert_eq!(
            a[INTERNAL_PATH_ANNOTATION],
            "db/demo/cassandradatacenter-dc1.yaml"
        );
        assert_eq!(a[INDEX_ANNOTATION], "0");

        // Apart from the placement annotations, the objects are what the file pipeline
        // renders from the same documents written as a file without tool annotations.
        let file_text = format!(
            "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata: {{name: demo, namespace: db}}\nspec:\n  cassandra:\n    serverVersion: 4.1.5\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        storageClassName: standard\n        resources: {{requests: {{storage: 5Gi}}}}\n    datacenters:\n    - metadata: {{name: dc1}}\n      k8sContext: east\n      size: 3\n{}---\napiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {{name: default}}\nspec: {{secrets: {{backend: external}}}}\n",
            crate::testing::CONTEXTS
        );
        let files = [SourceFile {
            rel_path: "c.yaml".into(),
            display_path: "c.yaml".into(),
            text: file_text,
        }];
        let (inputs, diags) = load::load(&files);
        let (rendered, diags) = crate::render_inputs(&inputs, diags);
        assert!(diags.is_empty(), "{diags:#?}");
        let expected: Vec<J> = rendered["east"].iter().map(|m| m.object.clone()).collect();
        let got: Vec<J> = items[1..].iter().cloned().map(strip).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn invalid_cluster_gives_located_results_and_fails() {
        let items = format!("{}{CONTEXT_ITEMS}", CLUSTER.replace("SIZE", "three"));
        let input = list(&items, &our_config("{context: east}"));
        let r = run(&input);
        assert!(r.failed);
        let out = output(&r);
        let results = out["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{results:#?}");
        let res = &results[0];
        assert_eq!(res["severity"], "error");
        assert_eq!(res["field"]["path"], "spec.cassandra.datacenters[0].size");
        assert_eq!(
            res["file"],
            json!({"path": "clusters/demo.yaml", "index": 1})
        );
        assert_eq!(
            res["resourceRef"],
            json!({"apiVersion": "k8ssandra.io/v1alpha1", "kind": "K8ssandraCluster", "name": "demo", "namespace": "db"})
        );
        assert!(
            res["message"].as_str().unwrap().contains("integer"),
            "{res}"
        );
        assert_eq!(res["tags"]["code"], "E0202", "{res}");
        // The items come back unchanged, annotations and all.
        let input_items = yaml::parse_stream(&input).unwrap()[0]
            .get("items")
            .unwrap()
            .to_json();
        assert_eq!(out["items"], input_items);
        assert_eq!(r.messages.len(), 1);
        assert!(
            r.messages[0].starts_with(
                "clusters/demo.yaml (document 1): error[E0202]: spec.cassandra.datacenters[0].size: "
            ),
            "{}",
            r.messages[0]
        );
    }

    #[test]
    fn warnings_are_results_and_do_not_fail() {
        let cluster = CLUSTER.replace("SIZE", "3").replace(
            "      serverVersion:",
            "      jmxInitContainerImage: {name: busybox}\n      serverVersion:",
        );
        let r = run(&list(
            &format!("{cluster}{CONTEXT_ITEMS}"),
            &our_config("{context: east}"),
        ));
        assert!(!r.failed, "{:?}", r.messages);
        let out = output(&r);
        assert!(
            out["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["kind"] == "CassandraDatacenter")
        );
        let results = out["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{results:#?}");
        assert_eq!(results[0]["severity"], "warning");
        assert_eq!(results[0]["tags"], json!({"code": "W0302"}));
        assert_eq!(
            results[0]["field"]["path"],
            "spec.cassandra.jmxInitContainerImage"
        );
        assert_eq!(results[0]["file"]["path"], "clusters/demo.yaml");
        assert_eq!(r.messages.len(), 1);
        assert!(
            r.messages[0].contains(": warning[W0302]: spec.cassandra.jmxInitContainerImage: "),
            "{}",
            r.messages[0]
        );
    }

    #[test]
    fn a_config_map_function_config_works_like_ours() {
        let items = format!("{}{CONTEXT_ITEMS}", CLUSTER.replace("SIZE", "1"));
        let ours = run(&list(&items, &our_config("{context: east}")));
        let cm = run(&list(
            &items,
            "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: fn}\n  data: {context: east}\n",
        ));
        assert!(!cm.failed, "{:?}", cm.messages);
        assert_eq!(cm.resource_list, ours.resource_list);
    }

    fn single_error(input: &str) -> J {
        let r = run(input);
        assert!(r.failed, "{}", r.resource_list);
        let out = output(&r);
        let results = out["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), 1, "{results:#?}");
        results[0].clone()
    }

    #[test]
    fn unknown_context_names_the_known_ones() {
        let items = format!("{}{CONTEXT_ITEMS}", CLUSTER.replace("SIZE", "1"));
        let res = single_error(&list(&items, &our_config("{context: East}")));
        assert_eq!(res["field"]["path"], "spec.context");
        assert_eq!(res["resourceRef"]["kind"], "RenderFunction");
        let message = res["message"].as_str().unwrap();
        assert!(message.contains("contexts with objects: east"), "{message}");
        assert!(message.contains("did you mean"), "{message}");
    }

    #[test]
    fn function_config_problems_are_results() {
        let items = format!("{}{CONTEXT_ITEMS}", CLUSTER.replace("SIZE", "1"));
        let res = single_error(&list(&items, &our_config("{contxt: east}")));
        assert_eq!(res["field"]["path"], "spec.contxt");
        assert!(
            res["message"].as_str().unwrap().contains("context"),
            "{res}"
        );

        let res = single_error(&list(&items, &our_config("{path: x}")));
        assert_eq!(res["field"]["path"], "spec.context");

        let res = single_error(&format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:{items}"
        ));
        assert!(
            res["message"]
                .as_str()
                .unwrap()
                .starts_with("functionConfig is missing")
        );

        let res = single_error(&list(
            &items,
            "  apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n",
        ));
        assert_eq!(res["field"]["path"], "kind");
    }

    #[test]
    fn no_inputs_and_no_path_explains_the_generator_case() {
        // What kustomize sends a generator: only the functionConfig itself as an item.
        let fc = our_config("{context: east}");
        let item = format!("\n-{}", &fc.replacen("  apiVersion", " apiVersion", 1));
        let res = single_error(&list(&item, &fc));
        assert_eq!(res["field"]["path"], "spec.path");
        assert!(
            res["message"].as_str().unwrap().contains("generators"),
            "{res}"
        );
    }

    #[test]
    fn not_a_resource_list_is_an_error() {
        let res = single_error("apiVersion: v1\nkind: List\nitems: []\n");
        assert!(
            res["message"]
                .as_str()
                .unwrap()
                .contains("must be a ResourceList"),
            "{res}"
        );
        let res = single_error("items: [\n");
        assert!(
            res["message"].as_str().unwrap().contains("invalid YAML"),
            "{res}"
        );
    }

    #[test]
    fn path_stays_inside_the_work_tree() {
        // The tests run in the crate root, inside a Git work tree.
        for path in ["/", "/etc"] {
            let res = single_error(&list(
                " []\n",
                &our_config(&format!("{{context: east, path: {path}}}")),
            ));
            assert_eq!(res["field"]["path"], "spec.path");
            assert!(
                res["message"].as_str().unwrap().contains("is absolute"),
                "{res}"
            );
        }
        let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .find(|a| a.join(".git").exists())
            .unwrap()
            .components()
            .count();
        let up = vec![".."; top].join("/");
        let res = single_error(&list(
            " []\n",
            &our_config(&format!("{{context: east, path: {up}}}")),
        ));
        assert_eq!(res["field"]["path"], "spec.path");
        assert!(
            res["message"]
                .as_str()
                .unwrap()
                .contains("outside the Git work tree"),
            "{res}"
        );
    }

    #[test]
    fn confine_names_where_the_path_leads_and_the_boundary() {
        assert_eq!(confine("/etc"), Err(ConfineError::Absolute("/etc".into())));
        let cwd = std::fs::canonicalize(std::env::current_dir().unwrap()).unwrap();
        let work_tree = cwd
            .ancestors()
            .find(|a| a.join(".git").exists())
            .unwrap()
            .to_path_buf();
        let up = vec![".."; cwd.components().count()].join("/");
        assert_eq!(
            confine(&up),
            Err(ConfineError::Outside {
                path: up.clone(),
                target: PathBuf::from("/"),
                boundary: work_tree,
                in_work_tree: true,
            })
        );
        assert!(confine(".").is_ok());
    }

    #[test]
    fn path_and_input_items_together_are_refused() {
        let items = format!("{}{CONTEXT_ITEMS}", CLUSTER.replace("SIZE", "1"));
        let res = single_error(&list(&items, &our_config("{context: east, path: .}")));
        assert_eq!(res["field"]["path"], "spec.path");
    }
}
