//! Parse stage: source files → the documents we use, schema-checked and typed.

mod operations;
mod secrets;

use std::path::PathBuf;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::cluster::K8ssandraCluster;
use crate::model::config::{
    ClientConfig, RENDER_CONFIG_API_VERSION, RenderConfigSpec, check_render_config,
};
use crate::model::operations::{MedusaConfiguration, Operation, OperationKind};
use crate::model::secret::SopsSecret;
use crate::schema::{self, InputKind};
use crate::source::SourceFile;
use crate::yaml::{self, Node, Pos, Seg};

/// Where a document came from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// File path as shown to the user.
    pub file: PathBuf,
    /// Repository-relative path.
    pub rel_path: String,
    /// 0-based index of the document in its file, counting non-empty documents.
    pub index: usize,
}

/// A typed document with its located tree (for diagnostics about any of its fields).
#[derive(Debug, Clone)]
pub struct Doc<T> {
    /// The typed value.
    pub value: T,
    /// The located YAML tree.
    pub node: Node,
    /// Where it came from.
    pub origin: Origin,
}

impl<T> Doc<T> {
    /// The position of `path` in this document.
    #[must_use]
    pub fn locate(&self, path: &[Seg]) -> Pos {
        self.node.locate(path)
    }

    /// An error about `path` of this document.
    #[must_use]
    pub fn error(&self, code: Code, path: Vec<Seg>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(
            code,
            self.origin.file.clone(),
            self.locate(&path),
            path,
            message,
        )
    }

    /// A warning about `path` of this document.
    #[must_use]
    pub fn warning(&self, code: Code, path: Vec<Seg>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(
            code,
            self.origin.file.clone(),
            self.locate(&path),
            path,
            message,
        )
    }
}

impl Doc<()> {
    /// This document with its typed value.
    fn typed<T>(&self, value: T) -> Doc<T> {
        Doc {
            value,
            node: self.node.clone(),
            origin: self.origin.clone(),
        }
    }
}

/// Everything the later stages need from the repository.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// K8ssandraClusters, in file order.
    pub clusters: Vec<Doc<K8ssandraCluster>>,
    /// ClientConfigs, in file order.
    pub client_configs: Vec<Doc<ClientConfig>>,
    /// The RenderConfig, if the repository has one.
    pub render_config: Option<Doc<RenderConfigSpec>>,
    /// Operations documents (MedusaBackupSchedule/Job, MedusaRestoreJob, CassandraTask) that
    /// passed their checks, in file order; the plan routes each to its datacenter.
    pub operations: Vec<Doc<Operation>>,
    /// `medusa.k8ssandra.io` MedusaConfigurations, in file order.
    pub medusa_configurations: Vec<Doc<MedusaConfiguration>>,
    /// SOPS-encrypted Secrets that passed their checks, in file order.
    pub sops_secrets: Vec<Doc<SopsSecret>>,
    /// Documents of other kinds: `(file, index, "apiVersion/kind")`, for `--verbose`.
    pub ignored: Vec<(PathBuf, usize, String)>,
    /// The ignored documents themselves (same order as `ignored`), the ones typed above
    /// included: only for telling where an object came from (output provenance, KRM results);
    /// no stage reads them.
    pub others: Vec<Doc<()>>,
    /// Text of every file that holds exactly one document, a `Secret`, by repository-relative
    /// path: SOPS-encrypted Secrets are copied byte for byte.
    pub secret_files: std::collections::BTreeMap<String, String>,
    /// Fields that failed the schema check, as `(file, path)`. Documents with schema problems
    /// are still typed and planned when possible, so that every other problem is reported in
    /// the same run; later findings about these fields (or below them) would only repeat the
    /// schema error and are dropped.
    pub schema_failures: Vec<(PathBuf, Vec<Seg>)>,
    /// Files that could not be parsed at all: the documents in them are unknown, so later
    /// findings that only say something is missing (an undeclared context) are not reported.
    pub unparsed_files: Vec<PathBuf>,
}

impl Inputs {
    /// Whether a later-stage finding about `path` in `file` repeats a schema error.
    #[must_use]
    pub fn repeats_schema_failure(&self, d: &Diagnostic) -> bool {
        self.schema_failures
            .iter()
            .any(|(f, p)| *f == d.file && d.path.starts_with(p))
    }
}

const KNOWN: [(&str, &str); 3] = [
    ("K8ssandraCluster", "k8ssandra.io/v1alpha1"),
    ("ClientConfig", "config.k8ssandra.io/v1beta1"),
    ("RenderConfig", RENDER_CONFIG_API_VERSION),
];

/// Loads `files`, then narrows them to RenderConfig's `spec.include` / `spec.exclude` (its own
/// file always stays) and loads again when that drops any. `unread` holds the files refused
/// while reading (too large, not UTF-8) by repository-relative path: those out of scope are
/// dropped from it too. Invalid globs were reported with the RenderConfig, which is then not
/// loaded, so nothing is narrowed.
pub fn load_in_scope(
    files: Vec<SourceFile>,
    unread: &mut Vec<(String, Diagnostic)>,
) -> (Inputs, Vec<Diagnostic>) {
    let (inputs, diags) = load(&files);
    let Some(rc) = &inputs.render_config else {
        return (inputs, diags);
    };
    if rc.value.include.is_none() && rc.value.exclude.is_none() {
        return (inputs, diags);
    }
    let Ok(scope) = crate::source::Scope::new(
        rc.value.include.as_deref(),
        rc.value.exclude.as_deref().unwrap_or_default(),
    ) else {
        return (inputs, diags);
    };
    let keep = rc.origin.rel_path.clone();
    unread.retain(|(rel, _)| scope.contains(rel));
    let before = files.len();
    let files = crate::source::filter_scope(files, &scope, &keep);
    if files.len() == before {
        return (inputs, diags);
    }
    drop(inputs);
    load(&files)
}

/// Parses every file and keeps the documents we use. All problems are returned together.
#[must_use]
pub fn load(files: &[SourceFile]) -> (Inputs, Vec<Diagnostic>) {
    let mut inputs = Inputs::default();
    let mut diags = Vec::new();
    // Parsing is independent per file and runs on every core; the documents are then read into
    // `inputs` here, file by file in order, so the result does not depend on the scheduling.
    crate::parallel::ordered_map(files, parse_file, |parsed| {
        for step in parsed {
            match step {
                Parsed::Problem(d) => diags.push(d),
                Parsed::Unparsed(file) => inputs.unparsed_files.push(file),
                Parsed::SecretFile(rel, text) => {
                    inputs.secret_files.insert(rel, text);
                }
                Parsed::Document(node, origin) => {
                    load_document(node, origin, &mut inputs, &mut diags);
                }
            }
        }
    });
    (inputs, diags)
}

/// What reading one file found, in the order [`load`] takes it in.
enum Parsed {
    Problem(Diagnostic),
    /// A file that does not parse (its path, as displayed).
    Unparsed(PathBuf),
    /// A file holding one plaintext-looking Secret: its path and text.
    SecretFile(String, String),
    Document(Node, Origin),
}

/// Parses one file into its documents (Lists expanded) and the problems of its syntax.
fn parse_file(file: &SourceFile) -> Vec<Parsed> {
    let mut out = Vec::new();
    let docs = match yaml::parse_stream(&file.text) {
        Ok(d) => d,
        // A file that cannot hold one of our kinds (a Helm chart's templates/, another
        // tool's config) must not fail every context: it is named, and skipped.
        Err(e) if !could_hold_input(&file.text) => {
            out.push(Parsed::Problem(
                Diagnostic::warning(
                    Code::SkippedInvalidYaml,
                    file.display_path.clone(),
                    e.pos,
                    Vec::new(),
                    format!(
                        "invalid YAML, skipped (it declares no K8ssandraCluster, ClientConfig or RenderConfig): {}",
                        e.message
                    ),
                )
                .with_hint(Some(
                    "list it in RenderConfig spec.exclude to silence this".to_string(),
                )),
            ));
            return out;
        }
        Err(e) => {
            out.push(Parsed::Problem(Diagnostic::error(
                Code::InvalidYaml,
                file.display_path.clone(),
                e.pos,
                Vec::new(),
                format!("invalid YAML: {}", e.message),
            )));
            out.push(Parsed::Unparsed(file.display_path.clone()));
            return out;
        }
    };
    if let [only] = docs.as_slice()
        && only.get("kind").and_then(Node::as_str) == Some("Secret")
    {
        out.push(Parsed::SecretFile(file.rel_path.clone(), file.text.clone()));
    }
    for (index, node) in docs.into_iter().enumerate() {
        let origin = Origin {
            file: file.display_path.clone(),
            rel_path: file.rel_path.clone(),
            index,
        };
        let mut problems = Vec::new();
        let documents = expand_lists(node, origin, &mut problems);
        out.extend(problems.into_iter().map(Parsed::Problem));
        for (node, origin) in documents {
            if checked_for_yaml11(&node) {
                for (path, message, hint) in yaml::yaml11_ambiguities(&file.text, &node) {
                    out.push(Parsed::Problem(
                        Diagnostic::error(
                            Code::Yaml11Ambiguity,
                            origin.file.clone(),
                            node.locate(&path),
                            path,
                            message,
                        )
                        .with_hint(Some(hint)),
                    ));
                }
            }
            out.push(Parsed::Document(node, origin));
        }
    }
    out
}

/// Lists nest at most this deep (kubectl flattens nested Lists too).
const MAX_LIST_NESTING: usize = 8;

/// A `kind: List` (and any `*List` kind with `items`, e.g. `SecretList`), as kubectl accepts
/// them, is replaced by its items: each is then read like any document (its positions are its
/// own, so problems point into the item; a plaintext Secret inside is refused like any other).
fn expand_lists(node: Node, origin: Origin, diags: &mut Vec<Diagnostic>) -> Vec<(Node, Origin)> {
    let mut out = Vec::new();
    expand_into(node, origin, 0, &mut out, diags);
    out
}

fn expand_into(
    node: Node,
    origin: Origin,
    depth: usize,
    out: &mut Vec<(Node, Origin)>,
    diags: &mut Vec<Diagnostic>,
) {
    let kind = node.get("kind").and_then(Node::as_str).unwrap_or_default();
    let is_list = (kind == "List" || kind.ends_with("List")) && node.get("items").is_some();
    if !is_list {
        out.push((node, origin));
        return;
    }
    let items_path = vec![Seg::Key("items".into())];
    if depth >= MAX_LIST_NESTING {
        diags.push(Diagnostic::error(
            Code::BadList,
            origin.file.clone(),
            node.locate(&items_path),
            items_path,
            format!("Lists nested more than {MAX_LIST_NESTING} deep"),
        ));
        return;
    }
    match node.get("items").map(|n| &n.value) {
        Some(yaml::Value::Seq(_)) => {
            let Node { value, .. } = node;
            let yaml::Value::Map(entries) = value else {
                return;
            };
            let items = entries
                .into_iter()
                .find(|(k, _)| k.name == "items")
                .map(|(_, v)| v);
            if let Some(Node {
                value: yaml::Value::Seq(items),
                ..
            }) = items
            {
                for item in items {
                    expand_into(item, origin.clone(), depth + 1, out, diags);
                }
            }
        }
        Some(yaml::Value::Null) => {}
        _ => diags.push(Diagnostic::error(
            Code::BadList,
            origin.file.clone(),
            node.locate(&items_path),
            items_path,
            format!("items of a {kind} must be a sequence of objects"),
        )),
    }
}

/// Documents whose typed scalars must mean the same to kubectl (YAML 1.1) and to YAML 1.2
/// tools: the ones we read or copy (our kinds and the k8ssandra/cass-operator API groups).
fn checked_for_yaml11(node: &Node) -> bool {
    let text = |k: &str| node.get(k).and_then(Node::as_str).unwrap_or_default();
    let group = text("apiVersion").split('/').next().unwrap_or_default();
    is_input(text("apiVersion"), text("kind"))
        || group.ends_with("k8ssandra.io")
        || group == "cassandra.datastax.com"
}

/// Whether a file's text could declare one of the kinds we read: some line sets `kind` to
/// K8ssandraCluster, ClientConfig or RenderConfig (quoted or not, block or flow style). Used
/// only for files that do not parse, to tell a broken input from someone else's template.
#[must_use]
pub fn could_hold_input(text: &str) -> bool {
    let bytes = text.as_bytes();
    KNOWN.iter().any(|(kind, _)| {
        text.match_indices(kind).any(|(at, _)| {
            let after = bytes.get(at + kind.len()).copied();
            if after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return false;
            }
            // Walk back over quotes and blanks to `:`, then to the key `kind`.
            let before = text[..at]
                .trim_end_matches(['"', '\''])
                .trim_end_matches([' ', '\t']);
            let Some(before) = before.strip_suffix(':') else {
                return false;
            };
            let key = before
                .trim_end_matches([' ', '\t'])
                .trim_end_matches(['"', '\'']);
            key.ends_with("kind")
                && !key[..key.len() - 4]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// Loads documents that are already parsed, each with where it came from (the items of a KRM
/// `ResourceList`, which arrive as one stream rather than as files).
#[must_use]
#[cfg_attr(not(feature = "cli"), allow(dead_code, reason = "the KRM front end's"))]
pub fn load_documents(docs: Vec<(Node, Origin)>) -> (Inputs, Vec<Diagnostic>) {
    let mut inputs = Inputs::default();
    let mut diags = Vec::new();
    for (node, origin) in docs {
        for (node, origin) in expand_lists(node, origin, &mut diags) {
            load_document(node, origin, &mut inputs, &mut diags);
        }
    }
    (inputs, diags)
}

/// Whether a document of this `apiVersion` and `kind` is one we read: a known kind in its API
/// group (any version: a wrong version is reported, not ignored).
#[must_use]
pub fn is_input(api_version: &str, kind: &str) -> bool {
    KNOWN.iter().any(|(k, expected)| {
        *k == kind && api_version.split('/').next() == expected.split('/').next()
    })
}

/// Types a document of a kind other than ours that some stage reads: an operations document,
/// a MedusaConfiguration, a Secret.
fn load_other(
    doc: &Doc<()>,
    api_version: &str,
    kind: &str,
    inputs: &mut Inputs,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(op) = OperationKind::of(api_version, kind) {
        if let Some(value) = operations::operation(doc, op, diags) {
            inputs.operations.push(doc.typed(value));
        }
    } else if kind == "MedusaConfiguration"
        && api_version.split('/').next() == Some("medusa.k8ssandra.io")
    {
        let value = operations::medusa_configuration(doc);
        inputs.medusa_configurations.push(doc.typed(value));
    } else if kind == "Secret"
        && let Some(value) = secrets::committed_secret(doc, inputs, diags)
    {
        inputs.sops_secrets.push(doc.typed(value));
    }
}

fn load_document(mut node: Node, origin: Origin, inputs: &mut Inputs, diags: &mut Vec<Diagnostic>) {
    node.shrink_to_fit();
    let text = |k: &str| {
        node.get(k)
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let Some((_, expected_version)) = KNOWN.iter().find(|(k, _)| *k == kind) else {
        if node.as_map().is_some() {
            inputs.ignored.push((
                origin.file.clone(),
                origin.index,
                format!("{api_version}/{kind}"),
            ));
            let doc = Doc {
                value: (),
                node,
                origin,
            };
            load_other(&doc, &api_version, &kind, inputs, diags);
            inputs.others.push(doc);
        }
        return;
    };
    let doc = Doc {
        value: (),
        node,
        origin,
    };
    if api_version != *expected_version {
        let group = expected_version.split('/').next().unwrap_or_default();
        if api_version.split('/').next() == Some(group) {
            diags.push(doc.error(
                Code::UnsupportedApiVersion,
                vec![Seg::Key("apiVersion".into())],
                format!("unsupported apiVersion {api_version:?} for {kind}: expected {expected_version:?}"),
            ));
        } else {
            // Same kind name in another API group: not ours.
            inputs.ignored.push((
                doc.origin.file.clone(),
                doc.origin.index,
                format!("{api_version}/{kind}"),
            ));
            inputs.others.push(doc);
        }
        return;
    }
    match kind.as_str() {
        "K8ssandraCluster" => {
            let schema_ok = schema_check(&doc, InputKind::K8ssandraCluster, inputs, diags);
            negative_quantities(&doc, diags);
            let value = serde_json::from_value::<K8ssandraCluster>(schema::normalize(
                InputKind::K8ssandraCluster,
                &doc.node,
            ));
            match value {
                Ok(mut value) => {
                    value.compact();
                    inputs.clusters.push(Doc {
                        value,
                        node: doc.node,
                        origin: doc.origin,
                    });
                }
                // With schema problems, a typing failure is just their consequence.
                Err(e) if schema_ok => diags.push(doc.error(
                    Code::UnreadableDocument,
                    Vec::new(),
                    format!("cannot read K8ssandraCluster: {e}"),
                )),
                Err(_) => {}
            }
        }
        "ClientConfig" => {
            // Even a ClientConfig with problems declares its context: this avoids a second,
            // misleading "unknown k8sContext" error for every datacenter that uses it.
            schema_check(&doc, InputKind::ClientConfig, inputs, diags);
            let value = ClientConfig::from_node(&doc.node);
            inputs.client_configs.push(Doc {
                value,
                node: doc.node,
                origin: doc.origin,
            });
        }
        _ => {
            // A RenderConfig with problems is not used (so nothing later reports on it): its
            // settings would only cause follow-on errors.
            let issues = check_render_config(&doc.node);
            if !issues.is_empty() {
                for issue in issues {
                    diags.push(
                        doc.error(issue.code, issue.path, issue.message)
                            .with_hint(issue.hint),
                    );
                }
                return;
            }
            let spec = RenderConfigSpec::from_checked(&doc.node);
            match spec {
                Ok(value) => {
                    if let Some(first) = &inputs.render_config {
                        diags.push(
                            doc.error(
                                Code::Duplicate,
                                Vec::new(),
                                "a second RenderConfig; a repository has at most one",
                            )
                            .with_related(
                                first.origin.file.clone(),
                                first.locate(&[]),
                                "the first RenderConfig",
                            ),
                        );
                    } else {
                        inputs.render_config = Some(Doc {
                            value,
                            node: doc.node,
                            origin: doc.origin,
                        });
                    }
                }
                Err(e) => diags.push(doc.error(
                    Code::UnreadableDocument,
                    vec![Seg::Key("spec".into())],
                    format!("cannot read RenderConfig: {e}"),
                )),
            }
        }
    }
}

/// Keys whose value is a resource request/limit map (`ResourceRequirements`).
const RESOURCE_KEYS: [&str; 3] = ["resources", "containerResources", "initContainerResources"];
/// Other quantities that Kubernetes or the operator require to be non-negative.
const SIZE_KEYS: [&str; 7] = [
    "heapSize",
    "heapNewGenSize",
    "mgmtAPIHeap",
    "heap_max_size",
    "heap_initial_size",
    "sizeLimit",
    "size",
];

/// Negative resource requests and limits, storage requests and sizes: Kubernetes refuses them
/// (`must be greater than or equal to 0`), the CRD pattern does not.
fn negative_quantities(doc: &Doc<()>, diags: &mut Vec<Diagnostic>) {
    fn walk(node: &Node, path: &mut Vec<Seg>, doc: &Doc<()>, diags: &mut Vec<Diagnostic>) {
        match &node.value {
            yaml::Value::Map(entries) => {
                for (k, v) in entries {
                    path.push(Seg::Key(k.name.clone()));
                    walk(v, path, doc, diags);
                    path.pop();
                }
            }
            yaml::Value::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(v, path, doc, diags);
                    path.pop();
                }
            }
            value => {
                let key = |back: usize| match path.len().checked_sub(back).map(|i| &path[i]) {
                    Some(Seg::Key(k)) => k.as_str(),
                    _ => "",
                };
                let requirement =
                    matches!(key(2), "requests" | "limits") && RESOURCE_KEYS.contains(&key(3));
                // `size` is a quantity only under Medusa's podStorage (a datacenter's `size`
                // is a node count, checked by the schema's minimum).
                let size =
                    SIZE_KEYS.contains(&key(1)) && (key(1) != "size" || key(2) == "podStorage");
                let negative = match value {
                    yaml::Value::Int(i) => *i < 0,
                    yaml::Value::Float(f) => *f < 0.0,
                    // Text that is no quantity at all is the schema's to report.
                    yaml::Value::Str(s) => crate::ports::quantity::Quantity::parse(s.trim())
                        .is_ok_and(|q| q.is_negative()),
                    _ => false,
                };
                if (requirement || size) && negative {
                    diags.push(doc.error(
                        Code::InvalidValue,
                        path.clone(),
                        "negative quantity: Kubernetes requires resource requests, limits and sizes to be at least 0".to_string(),
                    ));
                }
            }
        }
    }
    walk(&doc.node, &mut Vec::new(), doc, diags);
}

/// Runs the schema check; returns whether the document passed.
fn schema_check(
    doc: &Doc<()>,
    kind: InputKind,
    inputs: &mut Inputs,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let issues = schema::check(kind, &doc.node);
    let ok = issues.is_empty();
    for issue in issues {
        inputs
            .schema_failures
            .push((doc.origin.file.clone(), issue.path.clone()));
        diags.push(
            doc.error(issue.code, issue.path, issue.message)
                .with_hint(issue.hint),
        );
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> (Inputs, Vec<String>) {
        let files = vec![SourceFile {
            rel_path: "f.yaml".into(),
            display_path: "f.yaml".into(),
            text: text.into(),
        }];
        let (inputs, diags) = load(&files);
        (inputs, diags.iter().map(ToString::to_string).collect())
    }

    const CLUSTER: &str = "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nmetadata: {name: demo}\nspec:\n  cassandra:\n    serverVersion: 4.1.5\n    storageConfig:\n      cassandraDataVolumeClaimSpec:\n        resources:\n          requests:\n            storage: 1Gi\n    datacenters:\n    - metadata: {name: dc1}\n      size: 3\n";

    fn indent(text: &str, by: &str) -> String {
        text.lines().map(|l| format!("{by}{l}\n")).collect()
    }

    #[test]
    fn lists_are_expanded_and_their_items_checked_where_they_are() {
        let item = indent(&CLUSTER.replace("size: 3", "size: three"), "  ");
        let item = item.replacen("  apiVersion", "- apiVersion", 1);
        let text = format!(
            "apiVersion: v1\nkind: List\nitems:\n{item}- apiVersion: config.k8ssandra.io/v1beta1\n  kind: ClientConfig\n  metadata: {{name: east}}\n"
        );
        let (inputs, diags) = load_text(&text);
        assert_eq!(inputs.client_configs.len(), 1, "{diags:?}");
        assert_eq!(
            diags,
            [
                "f.yaml:17:9: error[E0202]: spec.cassandra.datacenters[0].size: expected integer, found string \"three\""
            ]
        );
        // A SecretList's items reach the plaintext-Secret check like any document.
        let (inputs, diags) = load_text(
            "apiVersion: v1\nkind: SecretList\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  stringData: {password: hunter2}\n",
        );
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].starts_with("f.yaml:4:3: error[E0310]: plaintext Secret in the repository"),
            "{diags:?}"
        );
        assert_eq!(inputs.others.len(), 1);
        assert_eq!(inputs.others[0].node.pos.line, 4);
        assert_eq!(inputs.ignored[0].2, "v1/Secret");
        // items that are not a sequence are an error, never a silent skip.
        let (_, diags) = load_text("apiVersion: v1\nkind: List\nitems: {a: 1}\n");
        assert_eq!(
            diags,
            ["f.yaml:3:1: error[E0105]: items: items of a List must be a sequence of objects"]
        );
    }

    #[test]
    fn the_secrets_backend_is_a_plan_decision_and_leaves_the_inputs_as_written() {
        let rc = "---\napiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: r}\nspec: {secrets: {backend: external}}\n";
        for (text, provider) in [
            (format!("{CLUSTER}{rc}"), "external"),
            (CLUSTER.to_string(), "internal"),
            (
                CLUSTER.replace("spec:\n", "spec:\n  secretsProvider: external\n"),
                "external",
            ),
        ] {
            let (inputs, diags) = load_text(&text);
            assert!(diags.is_empty(), "{diags:?}");
            assert_eq!(
                inputs.clusters[0].value.spec.secrets_provider.as_deref(),
                (provider == "external" && !text.contains("RenderConfig")).then_some("external")
            );
            let settings = crate::plan::Settings::from_inputs(&inputs);
            let mut diags = Vec::new();
            let plans = crate::plan::plan(&inputs, &settings, &mut diags);
            assert_eq!(plans[0].secrets_provider, provider, "{diags:?}");
            assert_eq!(plans[0].external_secrets(), provider == "external");
        }
    }

    #[test]
    fn negative_quantities_are_refused() {
        let text = CLUSTER.replace("storage: 1Gi", "storage: -5Gi").replace(
            "      size: 3\n",
            "      size: 3\n      resources: {limits: {cpu: -1}, requests: {memory: 1Gi}}\n",
        );
        let (_, diags) = load_text(&text);
        assert_eq!(
            diags,
            [
                "f.yaml:11:13: error[E0307]: spec.cassandra.storageConfig.cassandraDataVolumeClaimSpec.resources.requests.storage: negative quantity: Kubernetes requires resource requests, limits and sizes to be at least 0",
                "f.yaml:15:28: error[E0307]: spec.cassandra.datacenters[0].resources.limits.cpu: negative quantity: Kubernetes requires resource requests, limits and sizes to be at least 0",
            ]
        );
    }

    #[test]
    fn negative_zero_is_zero_as_kubernetes_reads_it() {
        let text = CLUSTER.replace("storage: 1Gi", "storage: \"-0Mi\"").replace(
            "      size: 3\n",
            "      size: 3\n      resources: {limits: {cpu: \"-0.0\"}, requests: {memory: \"-1m\"}}\n",
        );
        let (_, diags) = load_text(&text);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert!(
            diags[0].contains("resources.requests.memory: negative quantity"),
            "{diags:#?}"
        );
    }

    #[test]
    fn typed_scalars_that_yaml_1_1_reads_differently_are_refused() {
        let text = CLUSTER.replace("size: 3", "size: 010").replace(
            "    serverVersion",
            "    softPodAntiAffinity: yes\n    serverVersion",
        );
        let (_, diags) = load_text(&text);
        assert_eq!(
            diags,
            [
                "f.yaml:6:5: error[E0102]: spec.cassandra.softPodAntiAffinity: yes is the boolean true in YAML 1.1 (kubectl) but the string \"yes\" in YAML 1.2 (write true, or quote it)",
                "f.yaml:15:7: error[E0102]: spec.cassandra.datacenters[0].size: 010 has a leading zero: kubectl (YAML 1.1) reads it as octal 8, YAML 1.2 as 10 (write 10 without the leading zero, or quote it)",
            ]
        );
        for (raw, hint) in [
            ("0o10", "write 8"),
            ("1_000", "write 1000"),
            ("0b11", "write 3"),
        ] {
            let (_, diags) = load_text(&CLUSTER.replace("size: 3", &format!("size: {raw}")));
            assert!(diags[0].contains(&format!("size: {raw} ")), "{diags:?}");
            assert!(diags[0].contains(hint), "{diags:?}");
        }
        for word in ["no", "off", "On", "y", "N"] {
            let text = CLUSTER.replace(
                "    serverVersion",
                &format!("    softPodAntiAffinity: {word}\n    serverVersion"),
            );
            let (_, diags) = load_text(&text);
            assert_eq!(diags.len(), 1, "{word}: {diags:?}");
        }
        for same in ["0x3", "+3", "3", "True"] {
            let text = CLUSTER
                .replace(
                    "size: 3",
                    &format!("size: {}", if same == "True" { "3" } else { same }),
                )
                .replace(
                    "    serverVersion",
                    "    softPodAntiAffinity: True\n    serverVersion",
                );
            let (_, diags) = load_text(&text);
            assert!(diags.is_empty(), "{same}: {diags:?}");
        }
    }

    #[test]
    fn a_budget_breach_is_named_and_causes_no_follow_on_error() {
        let mut text = String::from(
            "apiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata: {name: east}\n",
        );
        text.push_str(&"---\nkind: ConfigMap\n".repeat(1024));
        let cluster = CLUSTER
            .replace("size: 3", "size: 3\n      k8sContext: east")
            .replace("spec:\n", "spec:\n  secretsProvider: external\n");
        let files = vec![
            SourceFile {
                rel_path: "big.yaml".into(),
                display_path: "big.yaml".into(),
                text,
            },
            SourceFile {
                rel_path: "c.yaml".into(),
                display_path: "c.yaml".into(),
                text: cluster,
            },
        ];
        let (inputs, diags) = load(&files);
        let (_, diags) = crate::render_inputs(&inputs, diags);
        let diags: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            diags,
            [
                "big.yaml:2050:1: error[E0101]: invalid YAML: more than 1024 YAML documents in one file; split it into several files"
            ]
        );
    }
    #[test]
    fn render_config_scope_drops_files_and_their_read_failures_but_keeps_itself() {
        let file = |rel: &str, text: &str| SourceFile {
            rel_path: rel.into(),
            display_path: rel.into(),
            text: text.into(),
        };
        let config = "apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  include: [clusters]\n  exclude: [clusters/draft.yaml]\n";
        let files = vec![
            file("config/render.yaml", config),
            file("clusters/orders.yaml", CLUSTER),
            file(
                "clusters/draft.yaml",
                &CLUSTER.replace("name: demo", "name: draft"),
            ),
            file(
                "charts/values.yaml",
                &CLUSTER.replace("name: demo", "name: chart"),
            ),
        ];
        let unreadable = |rel: &str| {
            let d = Diagnostic::error(Code::InvalidYaml, rel, Pos::default(), Vec::new(), "x");
            (rel.to_string(), d)
        };
        let mut unread = vec![
            unreadable("clusters/big.yaml"),
            unreadable("charts/big.yaml"),
        ];
        let (inputs, diags) = load_in_scope(files, &mut unread);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(inputs.render_config.is_some());
        let names: Vec<&str> = inputs
            .clusters
            .iter()
            .map(|c| c.value.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["demo"]);
        let unread: Vec<&str> = unread.iter().map(|(rel, _)| rel.as_str()).collect();
        assert_eq!(unread, ["clusters/big.yaml"]);
    }
}

#[cfg(test)]
mod input_guess_tests {
    use super::*;

    #[test]
    fn files_that_declare_our_kinds_are_recognised_even_when_broken() {
        for text in [
            "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nspec: {cassandra: [\n",
            "kind: 'ClientConfig'\n",
            "- {apiVersion: x, \"kind\": \"RenderConfig\"}\n",
            "  kind:K8ssandraCluster\n",
        ] {
            assert!(could_hold_input(text), "{text}");
        }
        for text in [
            "kind: K8ssandraClusterList\n",
            "subkind: K8ssandraCluster\n",
            "description: a K8ssandraCluster\n",
            "{{ if .Values.x }}\nkind: Deployment\n",
            "resources: [k8ssandraclusters]\n",
        ] {
            assert!(!could_hold_input(text), "{text}");
        }
    }

    #[test]
    fn unparsable_files_are_errors_only_when_they_could_hold_an_input() {
        let file = |name: &str, text: &str| SourceFile {
            rel_path: name.into(),
            display_path: name.into(),
            text: text.into(),
        };
        let (_, diags) = load(&[
            file(
                "charts/db/templates/sts.yaml",
                "apiVersion: apps/v1\nkind: StatefulSet\n{{- if .Values.x }}\n",
            ),
            file(
                "clusters/orders.yaml",
                "apiVersion: k8ssandra.io/v1alpha1\nkind: K8ssandraCluster\nspec: [\n",
            ),
        ]);
        let printed: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(printed.len(), 2, "{printed:#?}");
        assert!(
            printed[0].starts_with("charts/db/templates/sts.yaml:3:")
                && printed[0].contains(": warning[W0101]: invalid YAML, skipped (it declares no K8ssandraCluster, ClientConfig or RenderConfig): ")
                && printed[0].ends_with("(list it in RenderConfig spec.exclude to silence this)"),
            "{}",
            printed[0]
        );
        assert!(
            printed[1].starts_with("clusters/orders.yaml:")
                && printed[1].contains(": error[E0101]: invalid YAML: "),
            "{}",
            printed[1]
        );
    }
}
