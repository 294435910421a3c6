//! Development tooling around [`crate::schema`]: turning upstream schemas into the generated form
//! the checker reads, and checking rendered manifests strictly with the same checker.
//!
//! - [`generate_input_schemas`] writes the embedded input schemas (`src/schema/*.json`) from the
//!   vendored CRD files and our own RenderConfig CRD (`schemas/`), and the JSON Schema of
//!   RenderConfig for editors (`cargo run --example gen-input-schemas`; a unit test fails when the
//!   committed files are stale).
//! - [`ManifestValidator`] checks every object of a rendered tree against the vendored upstream
//!   CRDs and Kubernetes OpenAPI v3 documents (`data/upstream/`), with the rules of
//!   [`crate::schema::check`]: unknown fields are errors, types, enums, patterns, formats, bounds,
//!   required fields, list-map and set duplicates. The test suite runs it on every fixture, the
//!   example and the conformance corpus; the API-server tests then apply the same objects to a
//!   real kube-apiserver.
//!
//! # The generated form
//!
//! A schema is reduced to what the checker needs: descriptions, `x-kubernetes-map-type` and the
//! `anyOf: [{type: integer}, {type: string}]` that merely spells out `x-kubernetes-int-or-string`
//! are dropped. Identical subtrees are shared through a definitions table, and the result is
//! deterministic compact ASCII JSON:
//!
//! ```text
//! {"generator": ..., "kind": ..., "version": ..., "source": "<file>", "sha256": "<hex>",
//!  "root": <def index>, "patterns": [<regex>, ...], "defs": [<def>, ...]}
//! ```
//!
//! A def is a schema node whose child schemas (`properties` values, `items`,
//! `additionalProperties`, `anyOf`/`oneOf`/`allOf` branches) are replaced by indices into `defs`,
//! and whose `pattern` is an index into `patterns`. Defs are numbered in post-order (children
//! before parents); keys are sorted. The same input always gives byte-identical output.
//!
//! Kubernetes OpenAPI v3 documents add `$ref` (resolved inline, alone or as the only `allOf`
//! branch next to a `default`), `IntOrString` (written `format: int-or-string`; read as
//! `x-kubernetes-int-or-string`) and `Quantity` (a string in the quantity grammar, or a number,
//! as the Go decoder accepts).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::schema::{CompiledSchema, FormatError, QUANTITY_PATTERN};
use crate::yaml::{self, Node, Value};

/// What the `generator` field of a generated file says.
pub const GENERATOR: &str = "cargo run --example gen-input-schemas";

/// The embedded input schemas: `(CRD file relative to the repository, kind, served version,
/// output file in src/schema)`.
pub const INPUTS: [(&str, &str, &str, &str); 8] = [
    (
        "data/upstream/crds/k8ssandraclusters.k8ssandra.io.yaml",
        "K8ssandraCluster",
        "v1alpha1",
        "k8ssandracluster.v1alpha1.json",
    ),
    (
        "data/upstream/crds/clientconfigs.config.k8ssandra.io.yaml",
        "ClientConfig",
        "v1beta1",
        "clientconfig.v1beta1.json",
    ),
    // Operations documents routed to the datacenter they name, and the storage settings a
    // K8ssandraCluster's Medusa may reference.
    (
        "data/upstream/crds/medusabackupschedules.medusa.k8ssandra.io.yaml",
        "MedusaBackupSchedule",
        "v1alpha1",
        "medusabackupschedule.v1alpha1.json",
    ),
    (
        "data/upstream/crds/medusabackupjobs.medusa.k8ssandra.io.yaml",
        "MedusaBackupJob",
        "v1alpha1",
        "medusabackupjob.v1alpha1.json",
    ),
    (
        "data/upstream/crds/medusarestorejobs.medusa.k8ssandra.io.yaml",
        "MedusaRestoreJob",
        "v1alpha1",
        "medusarestorejob.v1alpha1.json",
    ),
    (
        "data/upstream/crds/medusaconfigurations.medusa.k8ssandra.io.yaml",
        "MedusaConfiguration",
        "v1alpha1",
        "medusaconfiguration.v1alpha1.json",
    ),
    (
        "data/upstream/crds/cassandratasks.control.k8ssandra.io.yaml",
        "CassandraTask",
        "v1alpha1",
        "cassandratask.v1alpha1.json",
    ),
    // Our own kind: its CRD is the one description of a RenderConfig (issue #11).
    (
        RENDER_CONFIG_CRD,
        "RenderConfig",
        "v1alpha1",
        "renderconfig.v1alpha1.json",
    ),
];

/// Our RenderConfig CRD, relative to the repository.
pub const RENDER_CONFIG_CRD: &str = "schemas/renderconfigs.gitops.k8ssandra.io.yaml";

/// The JSON Schema of RenderConfig for editors and kubeconform, relative to the repository
/// (kubeconform's `{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json` naming).
pub const RENDER_CONFIG_JSON_SCHEMA: &str = "schemas/renderconfig_v1alpha1.json";

/// Keywords copied verbatim (after a type sanity check).
const SCALAR_KEYS: &[&str] = &[
    "type",
    "required",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "format",
    "nullable",
    "default",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
];

/// Keywords dropped on purpose (documentation, server-side-apply hints, unused by the checker).
const DROPPED_KEYS: &[&str] = &[
    "description",
    "x-kubernetes-map-type",
    "example",
    "title",
    "externalDocs",
];

/// Further keywords of Kubernetes' own OpenAPI documents that carry no validation.
const OPENAPI_DROPPED_KEYS: &[&str] = &[
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-group-version-kind",
    "x-kubernetes-unions",
];

const QUANTITY_REF: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// How strictly unknown schema keywords are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The embedded input schemas: CEL rules (`x-kubernetes-validations`) are an error, because
    /// the input checker promises to enforce everything the schema says.
    Input,
    /// Output validation: CEL rules are skipped (the API-server tests evaluate them).
    Output,
}

/// A failure of the schema tooling: reading the vendored upstream files, or translating their
/// schemas into the generated form.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory cannot be read.
    #[error("{}: {error}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A CRD file is not UTF-8.
    #[error("{}: {error}", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the bad bytes are.
        error: std::str::Utf8Error,
    },
    /// A CRD file is not YAML.
    #[error("{}:{}:{}: {error}", path.display(), error.pos.line, error.pos.column)]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's error, with its position.
        error: yaml::ParseError,
    },
    /// An OpenAPI document is not JSON.
    #[error("{}: {error}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        error: serde_json::Error,
    },
    /// A CRD file that does not hold exactly one CustomResourceDefinition.
    #[error("{}: expected one CustomResourceDefinition, found {found}", path.display())]
    CrdCount {
        /// The file.
        path: PathBuf,
        /// How many it holds.
        found: usize,
    },
    /// An input CRD of another kind than [`INPUTS`] says.
    #[error("{}: kind is {found}, expected {expected:?}", path.display())]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// `spec.names.kind` as found.
        found: Json,
        /// The kind expected.
        expected: &'static str,
    },
    /// An input CRD that does not serve the version [`INPUTS`] says.
    #[error("{}: version {version} is not served", path.display())]
    InputVersionNotServed {
        /// The file.
        path: PathBuf,
        /// The version expected.
        version: &'static str,
    },
    /// A schema the generator cannot translate.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The generated text does not load (a defect of the generator).
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A release patch of a CRD no longer applies: the upstream CRD changed.
    #[error("{crd}: {problem}")]
    ReleasePatch {
        /// The CRD's `metadata.name`.
        crd: &'static str,
        /// What does not apply.
        problem: PatchError,
    },
    /// A built-in kind whose API group has no vendored OpenAPI document.
    #[error(
        "no schema for built-in {api_version} {kind}: add the API group's OpenAPI document to data/upstream/kubernetes-openapi"
    )]
    NoBuiltinSchema {
        /// The object's `apiVersion`.
        api_version: String,
        /// The object's `kind`.
        kind: String,
    },
    /// No vendored CRD defines the kind.
    #[error(
        "no schema for {group}/{version} {kind}{}: add its CRD to data/upstream/crds",
        similar.as_ref().map(|k| format!(" (the CRD's kind is {k})")).unwrap_or_default()
    )]
    NoCrd {
        /// The API group.
        group: String,
        /// The API version.
        version: String,
        /// The kind asked for.
        kind: String,
        /// The kind of a CRD of the group that differs only in case.
        similar: Option<String>,
    },
    /// The kind's CRD does not serve the version.
    #[error("{group}/{version} is not served for {kind} (served: {})", served.join(", "))]
    VersionNotServed {
        /// The API group.
        group: String,
        /// The API version asked for.
        version: String,
        /// The kind.
        kind: String,
        /// The versions the CRD serves.
        served: Vec<String>,
    },
    /// An OpenAPI document without `components.schemas`.
    #[error("{file}: no components.schemas")]
    NoComponents {
        /// The document's file name.
        file: String,
    },
    /// An OpenAPI document that does not define the kind.
    #[error(
        "no schema for {}{version} {kind} in {file}",
        if group.is_empty() { String::new() } else { format!("{group}/") }
    )]
    NotInOpenApi {
        /// The API group (empty for the core group).
        group: String,
        /// The API version.
        version: String,
        /// The kind.
        kind: String,
        /// The document's file name.
        file: String,
    },
}

/// A schema the generator cannot put into the generated form: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct BuildError {
    /// Where in the schema (`Kind/version.properties.spec`, or a component name).
    pub at: String,
    /// What the generator cannot handle there.
    pub problem: BuildProblem,
}

/// What the generator cannot handle in a schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildProblem {
    /// A `$ref` that is not `#/components/schemas/<name>`.
    #[error("unsupported $ref {0}")]
    UnsupportedRef(Json),
    /// A `$ref` back to a schema being built.
    #[error("recursive $ref {0} is not supported")]
    RecursiveRef(String),
    /// A `$ref` in a CRD (only OpenAPI documents have components).
    #[error("$ref outside an OpenAPI document")]
    RefOutsideOpenApi,
    /// A `$ref` to a component that does not exist.
    #[error("$ref to missing schema {0}")]
    MissingRef(String),
    /// A schema that is not an object.
    #[error("schema is not a mapping")]
    NotAMapping,
    /// `properties` that is not an object.
    #[error("properties is not a mapping")]
    PropertiesNotAMapping,
    /// `anyOf`, `oneOf` or `allOf` that is not a list (the keyword).
    #[error("{0} is not a list")]
    NotAList(String),
    /// `pattern` that is not a string.
    #[error("pattern is not a string")]
    PatternNotAString,
    /// `x-kubernetes-validations` in an input schema.
    #[error("CEL validation rules are not supported by the checker")]
    CelRules,
    /// A keyword the checker does not know.
    #[error(
        "unsupported schema keyword {0:?}; teach src/schema_tools.rs and src/schema.rs about it"
    )]
    UnknownKeyword(String),
    /// An `enum` or `default` value of another type than the schema's.
    #[error("value {value} does not match type {ty}")]
    TypeMismatch {
        /// The value.
        value: Json,
        /// The schema's `type`.
        ty: String,
    },
}

fn fail(at: &str, problem: BuildProblem) -> BuildError {
    BuildError {
        at: at.to_string(),
        problem,
    }
}

/// Why a release patch does not apply to a CRD.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// A pointer without a `/`.
    #[error("bad pointer {0}")]
    BadPointer(&'static str),
    /// The pointer's target does not exist.
    #[error("{0} is not in the schema (did the upstream CRD change?)")]
    Missing(&'static str),
}

struct Builder<'d> {
    mode: Mode,
    defs: Vec<Map<String, Json>>,
    index: HashMap<String, u32>,
    patterns: Vec<String>,
    pattern_index: HashMap<String, u32>,
    /// `components.schemas` of an OpenAPI document.
    components: Option<&'d Map<String, Json>>,
    /// Resolved references (`None` while one is being built, to catch cycles).
    refs: HashMap<String, Option<Map<String, Json>>>,
}

impl<'d> Builder<'d> {
    fn new(mode: Mode, components: Option<&'d Map<String, Json>>) -> Self {
        Self {
            mode,
            defs: Vec::new(),
            index: HashMap::new(),
            patterns: Vec::new(),
            pattern_index: HashMap::new(),
            components,
            refs: HashMap::new(),
        }
    }

    fn pattern(&mut self, p: &str) -> u32 {
        if let Some(&i) = self.pattern_index.get(p) {
            return i;
        }
        let i = u32::try_from(self.patterns.len()).unwrap_or(u32::MAX);
        self.pattern_index.insert(p.to_string(), i);
        self.patterns.push(p.to_string());
        i
    }

    fn intern(&mut self, node: Map<String, Json>) -> u32 {
        let mut text = String::new();
        canonical(&Json::Object(node.clone()), &mut text);
        if let Some(&i) = self.index.get(&text) {
            return i;
        }
        let i = u32::try_from(self.defs.len()).unwrap_or(u32::MAX);
        self.index.insert(text, i);
        self.defs.push(node);
        i
    }

    fn build(&mut self, schema: &Json, at: &str) -> Result<u32, BuildError> {
        let node = self.node(schema, at)?;
        Ok(self.intern(node))
    }

    fn reference(&mut self, r: &Json, at: &str) -> Result<Map<String, Json>, BuildError> {
        let name = r
            .as_str()
            .and_then(|s| s.strip_prefix("#/components/schemas/"))
            .ok_or_else(|| fail(at, BuildProblem::UnsupportedRef(r.clone())))?;
        match self.refs.get(name) {
            Some(Some(done)) => return Ok(done.clone()),
            Some(None) => return Err(fail(at, BuildProblem::RecursiveRef(name.to_string()))),
            None => {}
        }
        let components = self
            .components
            .ok_or_else(|| fail(at, BuildProblem::RefOutsideOpenApi))?;
        self.refs.insert(name.to_string(), None);
        let built = if name == QUANTITY_REF {
            // The Go decoder takes a string in the quantity grammar or a plain JSON number.
            let quantity = serde_json::json!({"anyOf": [
                {"type": "string", "pattern": QUANTITY_PATTERN},
                {"type": "number"}
            ]});
            self.node(&quantity, name)?
        } else {
            let target = components
                .get(name)
                .ok_or_else(|| fail(at, BuildProblem::MissingRef(name.to_string())))?;
            self.node(target, name)?
        };
        self.refs.insert(name.to_string(), Some(built.clone()));
        Ok(built)
    }

    fn dropped(&self, key: &str) -> bool {
        DROPPED_KEYS.contains(&key)
            || (self.components.is_some() && OPENAPI_DROPPED_KEYS.contains(&key))
    }

    fn node(&mut self, schema: &Json, at: &str) -> Result<Map<String, Json>, BuildError> {
        let obj = schema
            .as_object()
            .ok_or_else(|| fail(at, BuildProblem::NotAMapping))?;
        if self.components.is_some() {
            if let Some(r) = obj.get("$ref") {
                return self.reference(r, at);
            }
            if let Some(Json::Array(all)) = obj.get("allOf")
                && let [only] = all.as_slice()
                && let Some(r) = only.get("$ref")
            {
                let mut merged: BTreeMap<String, Json> =
                    self.reference(r, at)?.into_iter().collect();
                for (key, value) in obj {
                    if key == "allOf" || self.dropped(key) {
                        continue;
                    }
                    let mut one = Map::new();
                    one.insert(key.clone(), value.clone());
                    for (k, v) in self.node(&Json::Object(one), &format!("{at}.{key}"))? {
                        merged.insert(k, v);
                    }
                }
                let out: Map<String, Json> = merged.into_iter().collect();
                check_types(&out, at)?;
                return Ok(out);
            }
            if obj.get("format").and_then(Json::as_str) == Some("int-or-string") {
                let mut out = Map::new();
                out.insert("x-kubernetes-int-or-string".into(), Json::Bool(true));
                return Ok(out);
            }
        }
        let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&Json::Bool(true));
        let int_or_string_any_of = serde_json::json!([{"type": "integer"}, {"type": "string"}]);
        let mut keys: Vec<&String> = obj.keys().collect();
        keys.sort();
        let mut out = Map::new();
        for key in keys {
            let value = &obj[key];
            let here = format!("{at}.{key}");
            if self.dropped(key) {
                continue;
            }
            match key.as_str() {
                "properties" => {
                    let props = value
                        .as_object()
                        .ok_or_else(|| fail(&here, BuildProblem::PropertiesNotAMapping))?;
                    let mut names: Vec<&String> = props.keys().collect();
                    names.sort();
                    let mut built = Map::new();
                    for name in names {
                        let i = self.build(&props[name], &format!("{here}.{name}"))?;
                        built.insert(name.clone(), Json::from(i));
                    }
                    out.insert(key.clone(), Json::Object(built));
                }
                "items" => {
                    let i = self.build(value, &here)?;
                    out.insert(key.clone(), Json::from(i));
                }
                "additionalProperties" => {
                    let v = if value.is_boolean() {
                        value.clone()
                    } else {
                        Json::from(self.build(value, &here)?)
                    };
                    out.insert(key.clone(), v);
                }
                "anyOf" | "oneOf" | "allOf" => {
                    // The anyOf that spells out x-kubernetes-int-or-string adds nothing to the flag.
                    if int_or_string
                        && ((key == "anyOf" && *value == int_or_string_any_of)
                            || (key == "allOf"
                                && *value == serde_json::json!([{"anyOf": int_or_string_any_of}])))
                    {
                        continue;
                    }
                    let branches = value
                        .as_array()
                        .ok_or_else(|| fail(&here, BuildProblem::NotAList(key.clone())))?;
                    let mut built = Vec::new();
                    for (i, sub) in branches.iter().enumerate() {
                        built.push(Json::from(self.build(sub, &format!("{here}[{i}]"))?));
                    }
                    out.insert(key.clone(), Json::Array(built));
                }
                "pattern" => {
                    let p = value
                        .as_str()
                        .ok_or_else(|| fail(&here, BuildProblem::PatternNotAString))?;
                    out.insert(key.clone(), Json::from(self.pattern(p)));
                }
                k if SCALAR_KEYS.contains(&k) => {
                    out.insert(key.clone(), value.clone());
                }
                k if k.starts_with("x-kubernetes-validations") => {
                    if self.mode == Mode::Input {
                        return Err(fail(&here, BuildProblem::CelRules));
                    }
                }
                _ => {
                    return Err(fail(&here, BuildProblem::UnknownKeyword(key.clone())));
                }
            }
        }
        check_types(&out, at)?;
        Ok(out)
    }

    /// The generated file's text.
    fn finish(self, header: &Header<'_>, root: u32) -> String {
        let mut doc = Map::new();
        doc.insert("generator".into(), Json::from(GENERATOR));
        doc.insert("kind".into(), Json::from(header.kind));
        doc.insert("version".into(), Json::from(header.version));
        doc.insert("source".into(), Json::from(header.source));
        doc.insert("sha256".into(), Json::from(header.sha256.as_str()));
        doc.insert("root".into(), Json::from(root));
        doc.insert(
            "patterns".into(),
            Json::Array(self.patterns.into_iter().map(Json::from).collect()),
        );
        doc.insert(
            "defs".into(),
            Json::Array(self.defs.into_iter().map(Json::Object).collect()),
        );
        let mut text = ascii_json(&Json::Object(doc));
        text.push('\n');
        text
    }
}

/// Guards against YAML surprises (unquoted yes/no, dates) in enum and default values.
fn check_types(node: &Map<String, Json>, at: &str) -> Result<(), BuildError> {
    let Some(ty) = node.get("type").and_then(Json::as_str) else {
        return Ok(());
    };
    let fits: fn(&Json) -> bool = match ty {
        "string" => Json::is_string,
        "integer" => |v| v.is_i64() || v.is_u64(),
        "number" => Json::is_number,
        "boolean" => Json::is_boolean,
        _ => return Ok(()),
    };
    let nullable = node.get("nullable") == Some(&Json::Bool(true));
    let values = node
        .get("enum")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .chain(node.get("default"));
    for v in values {
        if !(fits(v) || v.is_null() && nullable) {
            return Err(fail(
                at,
                BuildProblem::TypeMismatch {
                    value: v.clone(),
                    ty: ty.to_string(),
                },
            ));
        }
    }
    Ok(())
}

/// JSON with sorted keys at every level: the identity of a def.
fn canonical(v: &Json, out: &mut String) {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::from(k.as_str()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Compact JSON with every character outside printable ASCII escaped as `\uXXXX`.
fn ascii_json(v: &Json) -> String {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && c != '\u{7f}' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out
}

/// The descriptive fields of a generated file.
struct Header<'a> {
    kind: &'a str,
    version: &'a str,
    source: &'a str,
    sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses a file holding exactly one CustomResourceDefinition.
///
/// # Errors
/// The file cannot be read, is not UTF-8 or YAML, or does not hold exactly one CRD.
pub fn read_crd(path: &Path) -> Result<(Json, Vec<u8>), Error> {
    let at = || path.to_path_buf();
    let raw = std::fs::read(path).map_err(|error| Error::Read { path: at(), error })?;
    let text = std::str::from_utf8(&raw).map_err(|error| Error::NotUtf8 { path: at(), error })?;
    let docs = yaml::parse_stream(text).map_err(|error| Error::Yaml { path: at(), error })?;
    let mut crds: Vec<Json> = docs
        .iter()
        .map(Node::to_json)
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .collect();
    if crds.len() != 1 {
        return Err(Error::CrdCount {
            path: at(),
            found: crds.len(),
        });
    }
    Ok((crds.remove(0), raw))
}

/// The `openAPIV3Schema` of a served version of a CRD.
fn served_schema<'c>(crd: &'c Json, version: &str) -> Option<&'c Json> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == version && v["served"] == true)
        .map(|v| &v["schema"]["openAPIV3Schema"])
}

/// Generates, from the CRD files of the repository at `repo`, the embedded input schemas (one
/// `src/schema/<file>` per entry of `INPUTS`) and the JSON Schema of RenderConfig for editors
/// (`RENDER_CONFIG_JSON_SCHEMA`): `(path relative to the repository, text)`.
///
/// # Errors
/// A missing or unreadable CRD file, a kind or version that does not match, or a schema keyword
/// the checker does not know.
pub fn generate_input_schemas(repo: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    let mut out = Vec::new();
    for (file, kind, version, out_file) in INPUTS {
        let path = repo.join(file);
        let (crd, raw) = read_crd(&path)?;
        if crd["spec"]["names"]["kind"] != kind {
            return Err(Error::WrongKind {
                found: crd["spec"]["names"]["kind"].clone(),
                path,
                expected: kind,
            });
        }
        let schema = served_schema(&crd, version).ok_or_else(|| Error::InputVersionNotServed {
            path: path.clone(),
            version,
        })?;
        let mut b = Builder::new(Mode::Input, None);
        let root = b.build(schema, &format!("{kind}/{version}"))?;
        let header = Header {
            kind,
            version,
            // The bare file name: where the repository keeps it is not part of the schema.
            source: file.rsplit('/').next().unwrap_or(file),
            sha256: sha256_hex(&raw),
        };
        out.push((
            Path::new("src/schema").join(out_file),
            b.finish(&header, root),
        ));
        if file == RENDER_CONFIG_CRD {
            let group = crd["spec"]["group"].as_str().unwrap_or_default();
            let text = editor_json_schema(schema, &format!("{group}/{version}"), kind);
            out.push((PathBuf::from(RENDER_CONFIG_JSON_SCHEMA), text));
        }
    }
    Ok(out)
}

/// A JSON Schema (draft 7) of one of our kinds for editors (yaml-language-server) and
/// kubeconform, from the CRD's `openAPIV3Schema`: `apiVersion` and `kind` fixed, `metadata.name`
/// required, and every object with declared properties closed (`additionalProperties: false`),
/// as the checker treats unknown fields. Pretty-printed, keys in the CRD's order.
fn editor_json_schema(crd_schema: &Json, api_version: &str, kind: &str) -> String {
    let mut properties = Map::new();
    properties.insert(
        "apiVersion".into(),
        serde_json::json!({"type": "string", "enum": [api_version]}),
    );
    properties.insert(
        "kind".into(),
        serde_json::json!({"type": "string", "enum": [kind]}),
    );
    properties.insert(
        "metadata".into(),
        serde_json::json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        }),
    );
    for (name, sub) in crd_schema["properties"].as_object().into_iter().flatten() {
        if !properties.contains_key(name) {
            properties.insert(name.clone(), closed(sub));
        }
    }
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        Json::from("http://json-schema.org/draft-07/schema#"),
    );
    root.insert(
        "title".into(),
        Json::from(format!("{kind} ({api_version})")),
    );
    if let Some(d) = crd_schema.get("description") {
        root.insert("description".into(), d.clone());
    }
    root.insert("type".into(), Json::from("object"));
    root.insert(
        "required".into(),
        serde_json::json!(["apiVersion", "kind", "metadata"]),
    );
    root.insert("properties".into(), Json::Object(properties));
    root.insert("additionalProperties".into(), Json::Bool(false));
    let mut text = serde_json::to_string_pretty(&Json::Object(root)).unwrap_or_default();
    text.push('\n');
    text
}

/// `schema` with every object that declares properties closed to other fields, recursively.
fn closed(schema: &Json) -> Json {
    let Json::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "properties" => Json::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), closed(v)))
                    .collect(),
            ),
            "items" | "additionalProperties" => closed(value),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    if out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && out.get("x-kubernetes-preserve-unknown-fields") != Some(&Json::Bool(true))
    {
        out.insert("additionalProperties".into(), Json::Bool(false));
    }
    Json::Object(out)
}

// ---------------------------------------------------------------------------------------------
// CRDs as the operators' release builds install them

/// The CassandraDatacenter CRD's `metadata.name`.
pub const CASSANDRA_DATACENTER_CRD: &str = "cassandradatacenters.cassandra.datastax.com";

/// Pointers (below each version's `openAPIV3Schema`) that cass-operator's release kustomization
/// removes from its generated CassandraDatacenter CRD: `config/crd/patches/config_removal.yaml`
/// (the `spec.config` schema) and `config/crd/patches/remove_xkeys.yaml` (three list-map
/// annotations inside the pod template).
const CASSANDRA_DATACENTER_RELEASE_REMOVALS: &[&str] = &[
    "/properties/spec/properties/config",
    "/properties/spec/properties/podTemplateSpec/properties/spec/properties/containers/items/properties/ports/x-kubernetes-list-map-keys",
    "/properties/spec/properties/podTemplateSpec/properties/spec/properties/containers/items/properties/ports/x-kubernetes-list-type",
    "/properties/spec/properties/podTemplateSpec/properties/spec/properties/initContainers/items/properties/ports/x-kubernetes-list-map-keys",
    "/properties/spec/properties/podTemplateSpec/properties/spec/properties/initContainers/items/properties/ports/x-kubernetes-list-type",
    "/properties/spec/properties/podTemplateSpec/properties/spec/properties/topologySpreadConstraints/x-kubernetes-list-map-keys",
    "/properties/spec/properties/podTemplateSpec/properties/spec/properties/topologySpreadConstraints/x-kubernetes-list-type",
];

fn remove_pointer(root: &mut Json, pointer: &'static str) -> Result<(), PatchError> {
    let (parent, key) = pointer
        .rsplit_once('/')
        .ok_or(PatchError::BadPointer(pointer))?;
    root.pointer_mut(parent)
        .and_then(Json::as_object_mut)
        .and_then(|m| m.remove(key))
        .map(drop)
        .ok_or(PatchError::Missing(pointer))
}

/// The error of a release patch of the CassandraDatacenter CRD.
fn cassandra_datacenter_patch(problem: PatchError) -> Error {
    Error::ReleasePatch {
        crd: CASSANDRA_DATACENTER_CRD,
        problem,
    }
}

/// Turns a CRD as generated upstream into the CRD the operator's release build installs. Only
/// CassandraDatacenter differs (see `CASSANDRA_DATACENTER_RELEASE_REMOVALS` and
/// `data/upstream/crds/SOURCE.md`); other CRDs are left alone.
///
/// # Errors
/// A pointer the patches remove is missing: the upstream CRD changed, review the patches.
pub fn release_form(crd: &mut Json) -> Result<(), Error> {
    if crd["metadata"]["name"] != CASSANDRA_DATACENTER_CRD {
        return Ok(());
    }
    for version in crd["spec"]["versions"].as_array_mut().into_iter().flatten() {
        let schema = &mut version["schema"]["openAPIV3Schema"];
        for p in CASSANDRA_DATACENTER_RELEASE_REMOVALS {
            remove_pointer(schema, p).map_err(cassandra_datacenter_patch)?;
        }
    }
    Ok(())
}

/// For in-process validation, stricter than the API server: the release form of the
/// CassandraDatacenter CRD keeps unknown fields under `spec` (only so that the free-form
/// `spec.config` survives); re-close `spec` so a misspelt field is an error, with `spec.config`
/// a mapping of any content, which is how cass-operator reads it.
fn close_cassandra_datacenter_spec(crd: &mut Json) -> Result<(), Error> {
    for version in crd["spec"]["versions"].as_array_mut().into_iter().flatten() {
        let schema = &mut version["schema"]["openAPIV3Schema"];
        remove_pointer(
            schema,
            "/properties/spec/x-kubernetes-preserve-unknown-fields",
        )
        .map_err(cassandra_datacenter_patch)?;
        schema["properties"]["spec"]["properties"]["config"] =
            serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Output validation

/// Built-in kinds that are cluster-scoped (no `metadata.namespace`); all others we render are
/// namespaced.
const CLUSTER_SCOPED_BUILTIN: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "PriorityClass",
    "CustomResourceDefinition",
];

/// Top-level fields of a kustomize `Kustomization` (kustomize v5).
const KUSTOMIZATION_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "components",
    "crds",
    "bases",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
    "openapi",
    "helmCharts",
    "helmGlobals",
    "replacements",
    "sortOptions",
    "vars",
    "configurations",
];

/// Schemas by `(apiVersion, kind)`, or why there is none.
type SchemaCache = HashMap<(String, String), Arc<Result<KindSchema, Error>>>;

/// A schema and the scope of its kind.
struct KindSchema {
    schema: CompiledSchema,
    cluster_scoped: bool,
}

/// Strict validation of rendered manifests against the vendored upstream schemas
/// (`data/upstream/crds` and `data/upstream/kubernetes-openapi`). Schemas are built on first use
/// and kept, so one validator should serve a whole test run.
pub struct ManifestValidator {
    upstream: PathBuf,
    /// More directories of CRDs (`<plural>.<group>.yaml`), for kinds upstream ships no CRD for.
    extra_crd_dirs: Vec<PathBuf>,
    /// `(apiVersion, kind)` to schema, or why there is none.
    schemas: Mutex<SchemaCache>,
    /// Parsed OpenAPI documents by file name.
    openapi: Mutex<HashMap<String, Arc<Json>>>,
}

/// The outcome of [`ManifestValidator::validate`].
#[derive(Debug, Default)]
pub struct Report {
    /// Objects checked (a kustomization file counts as one).
    pub objects: usize,
    /// One line per problem: `file:doc: Kind/name: path: message`.
    pub problems: Vec<String>,
}

impl ManifestValidator {
    /// A validator reading the vendored data below `upstream` (`<repo>/data/upstream`).
    #[must_use]
    pub fn new(upstream: &Path) -> Self {
        Self {
            upstream: upstream.to_path_buf(),
            extra_crd_dirs: Vec::new(),
            schemas: Mutex::new(HashMap::new()),
            openapi: Mutex::new(HashMap::new()),
        }
    }

    /// Also reads CRDs from `dir` (same file naming as `data/upstream/crds`), for kinds that have
    /// no upstream CRD, such as KSOPS's generator configuration.
    #[must_use]
    pub fn with_crd_dir(mut self, dir: &Path) -> Self {
        self.extra_crd_dirs.push(dir.to_path_buf());
        self
    }

    /// Checks every `*.yaml`/`*.yml`/`*.json` file below each path (a file or a directory; names
    /// starting with a dot are skipped), every document in them.
    #[must_use]
    pub fn validate(&self, paths: &[&Path]) -> Report {
        let mut report = Report::default();
        for root in paths {
            let mut files = Vec::new();
            collect_files(root, &mut files, &mut report);
            let mut seen: HashMap<(PathBuf, String, String, String, String), String> =
                HashMap::new();
            for file in files {
                let scope = kustomization_scope(root, &file);
                self.validate_file(&file, &scope, &mut seen, &mut report);
            }
        }
        report
    }

    fn validate_file(
        &self,
        file: &Path,
        scope: &Path,
        seen: &mut HashMap<(PathBuf, String, String, String, String), String>,
        report: &mut Report,
    ) {
        let shown = file.display();
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                report.problems.push(format!("{shown}:-: {e}"));
                return;
            }
        };
        let docs = match yaml::parse_stream(&text) {
            Ok(d) => d,
            Err(e) => {
                report
                    .problems
                    .push(format!("{shown}:{}:{}: {e}", e.pos.line, e.pos.column));
                return;
            }
        };
        for (index, doc) in docs.iter().enumerate() {
            if matches!(doc.value, Value::Null) {
                continue;
            }
            report.objects += 1;
            let api_version = doc.get("apiVersion").and_then(Node::as_str).unwrap_or("");
            let kind = doc.get("kind").and_then(Node::as_str).unwrap_or("");
            let meta = doc.get("metadata");
            let name = meta
                .and_then(|m| m.get("name"))
                .and_then(Node::as_str)
                .unwrap_or("?");
            let at = format!(
                "{shown}:{index}: {}/{name}",
                if kind.is_empty() { "?" } else { kind }
            );
            if api_version.is_empty() || kind.is_empty() {
                report
                    .problems
                    .push(format!("{at}: .: apiVersion and kind are required"));
                continue;
            }
            if api_version.starts_with("kustomize.config.k8s.io/") && kind == "Kustomization" {
                check_kustomization(file, doc, &at, report);
                continue;
            }
            let namespace = meta
                .and_then(|m| m.get("namespace"))
                .and_then(Node::as_str)
                .unwrap_or("");
            let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
            let key = (
                scope.to_path_buf(),
                group.to_string(),
                kind.to_string(),
                namespace.to_string(),
                name.to_string(),
            );
            if let Some(first) = seen.get(&key) {
                report.problems.push(format!(
                    "{at}: .: the same object is already in {first} (one apply unit must not hold it twice)"
                ));
            } else {
                seen.insert(key, format!("{shown}:{index}"));
            }
            let entry = self.schema(api_version, kind);
            let ks = match entry.as_ref() {
                Ok(ks) => ks,
                Err(e) => {
                    report.problems.push(format!("{at}: .: {e}"));
                    continue;
                }
            };
            if ks.cluster_scoped && !namespace.is_empty() {
                report.problems.push(format!(
                    "{at}: metadata.namespace: {kind} is cluster-scoped and takes no namespace"
                ));
            }
            let checked;
            let target = if kind == "Secret" && doc.get("sops").is_some() {
                // A SOPS-encrypted Secret: the `sops` block is metadata for the decrypting tool.
                checked = without_key(doc, "sops");
                &checked
            } else {
                doc
            };
            for issue in ks.schema.check(target) {
                let path = if issue.path.is_empty() {
                    ".".to_string()
                } else {
                    yaml::path_string(&issue.path)
                };
                let hint = issue.hint.map(|h| format!(" ({h})")).unwrap_or_default();
                report
                    .problems
                    .push(format!("{at}: {path}: {}{hint}", issue.message));
            }
        }
    }

    fn schema(&self, api_version: &str, kind: &str) -> Arc<Result<KindSchema, Error>> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(s) = self.lock_schemas().get(&key) {
            return Arc::clone(s);
        }
        let built = Arc::new(self.build_schema(api_version, kind));
        self.lock_schemas().insert(key, Arc::clone(&built));
        built
    }

    fn lock_schemas(&self) -> std::sync::MutexGuard<'_, SchemaCache> {
        self.schemas
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn build_schema(&self, api_version: &str, kind: &str) -> Result<KindSchema, Error> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let openapi_file = if group.is_empty() {
            format!("api__{version}_openapi.json")
        } else {
            format!("apis__{group}__{version}_openapi.json")
        };
        let openapi_dir = self.upstream.join("kubernetes-openapi");
        if openapi_dir.join(&openapi_file).is_file() {
            let doc = self.openapi_doc(&openapi_dir, &openapi_file)?;
            return compile_openapi(&doc, group, version, kind, &openapi_file).map(|schema| {
                KindSchema {
                    schema,
                    cluster_scoped: CLUSTER_SCOPED_BUILTIN.contains(&kind),
                }
            });
        }
        // Kubernetes' own groups: the core group, the unqualified ones and `*.k8s.io`.
        if group.is_empty()
            || group.ends_with(".k8s.io")
            || ["apps", "batch", "policy", "autoscaling"].contains(&group)
        {
            return Err(Error::NoBuiltinSchema {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            });
        }
        self.crd_schema(group, version, kind)
    }

    fn openapi_doc(&self, dir: &Path, file: &str) -> Result<Arc<Json>, Error> {
        let mut docs = self
            .openapi
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = docs.get(file) {
            return Ok(Arc::clone(d));
        }
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|error| Error::Read {
            path: path.clone(),
            error,
        })?;
        let doc: Json = serde_json::from_str(&text).map_err(|error| Error::Json { path, error })?;
        let doc = Arc::new(doc);
        docs.insert(file.to_string(), Arc::clone(&doc));
        Ok(doc)
    }

    /// The CRD of `group`/`kind` among `data/upstream/crds/<plural>.<group>.yaml`.
    fn crd_schema(&self, group: &str, version: &str, kind: &str) -> Result<KindSchema, Error> {
        let mut files: Vec<PathBuf> = Vec::new();
        for dir in std::iter::once(self.upstream.join("crds")).chain(self.extra_crd_dirs.clone()) {
            files.extend(
                std::fs::read_dir(&dir)
                    .map_err(|error| Error::Read {
                        path: dir.clone(),
                        error,
                    })?
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .and_then(|n| n.strip_suffix(".yaml"))
                            .and_then(|n| n.split_once('.'))
                            .is_some_and(|(_, g)| g == group)
                    }),
            );
        }
        files.sort();
        let mut kinds = Vec::new();
        for file in files {
            let (mut crd, raw) = read_crd(&file)?;
            let crd_kind = crd["spec"]["names"]["kind"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if crd_kind != kind {
                kinds.push(crd_kind);
                continue;
            }
            release_form(&mut crd)?;
            if crd["metadata"]["name"] == CASSANDRA_DATACENTER_CRD {
                close_cassandra_datacenter_spec(&mut crd)?;
            }
            let Some(schema) = served_schema(&crd, version) else {
                let served = crd["spec"]["versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| v["served"] == true)
                    .filter_map(|v| v["name"].as_str())
                    .map(str::to_string)
                    .collect();
                return Err(Error::VersionNotServed {
                    group: group.to_string(),
                    version: version.to_string(),
                    kind: kind.to_string(),
                    served,
                });
            };
            let mut b = Builder::new(Mode::Output, None);
            let root = b.build(schema, &format!("{kind}/{version}"))?;
            let source = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let header = Header {
                kind,
                version,
                source: &source,
                sha256: sha256_hex(&raw),
            };
            let schema = CompiledSchema::from_json(&b.finish(&header, root))?;
            return Ok(KindSchema {
                schema,
                cluster_scoped: crd["spec"]["scope"] == "Cluster",
            });
        }
        Err(Error::NoCrd {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            similar: kinds.into_iter().find(|k| k.eq_ignore_ascii_case(kind)),
        })
    }
}

/// Builds the schema of a built-in kind from a Kubernetes OpenAPI v3 document.
fn compile_openapi(
    doc: &Json,
    group: &str,
    version: &str,
    kind: &str,
    source: &str,
) -> Result<CompiledSchema, Error> {
    let components =
        doc["components"]["schemas"]
            .as_object()
            .ok_or_else(|| Error::NoComponents {
                file: source.to_string(),
            })?;
    let root = components
        .iter()
        .find(|(_, s)| {
            s["x-kubernetes-group-version-kind"]
                .as_array()
                .is_some_and(|gvks| {
                    gvks.iter().any(|g| {
                        g["group"] == group && g["version"] == version && g["kind"] == kind
                    })
                })
        })
        .map(|(name, _)| name.clone())
        .ok_or_else(|| Error::NotInOpenApi {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            file: source.to_string(),
        })?;
    let mut b = Builder::new(Mode::Output, Some(components));
    let node = b.reference(&Json::from(format!("#/components/schemas/{root}")), kind)?;
    let root = b.intern(node);
    let header = Header {
        kind,
        version,
        source,
        sha256: String::new(),
    };
    Ok(CompiledSchema::from_json(&b.finish(&header, root))?)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>, report: &mut Report) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => {
            report.problems.push(format!("{}:-: {e}", path.display()));
            return;
        }
    };
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect_files(&p, out, report);
        } else if [".yaml", ".yml", ".json"].iter().any(|x| name.ends_with(x)) {
            out.push(p);
        }
    }
}

/// The apply unit of `file`: the nearest directory between it and `root` holding a
/// `kustomization.yaml`, else `root`.
fn kustomization_scope(root: &Path, file: &Path) -> PathBuf {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d.join("kustomization.yaml").is_file() {
            return d.to_path_buf();
        }
        if d == root {
            break;
        }
        dir = d.parent();
    }
    root.to_path_buf()
}

fn check_kustomization(file: &Path, doc: &Node, at: &str, report: &mut Report) {
    let Some(entries) = doc.as_map() else {
        report.problems.push(format!("{at}: .: expected object"));
        return;
    };
    let base = file.parent().unwrap_or(Path::new("."));
    for (key, value) in entries {
        if !KUSTOMIZATION_FIELDS.contains(&key.name.as_str()) {
            report
                .problems
                .push(format!("{at}: {}: unknown field for kustomize", key.name));
            continue;
        }
        if ["resources", "components", "crds", "bases"].contains(&key.name.as_str()) {
            let Value::Seq(items) = &value.value else {
                report
                    .problems
                    .push(format!("{at}: {}: expected a list", key.name));
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(p) if p.contains("://") || p.starts_with("github.com/") => {}
                    Some(p) if base.join(p).exists() => {}
                    Some(p) => report
                        .problems
                        .push(format!("{at}: {}[{i}]: {p:?} does not exist", key.name)),
                    None => report
                        .problems
                        .push(format!("{at}: {}[{i}]: expected a string", key.name)),
                }
            }
        }
    }
}

fn without_key(doc: &Node, key: &str) -> Node {
    let mut copy = doc.clone();
    if let Value::Map(entries) = &mut copy.value {
        entries.retain(|(k, _)| k.name != key);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/upstream")
    }

    #[test]
    fn embedded_schemas_are_generated_from_the_vendored_crds() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let generated = generate_input_schemas(repo).expect("generates");
        let mut stale = Vec::new();
        for (file, text) in &generated {
            let committed = std::fs::read_to_string(repo.join(file)).unwrap_or_default();
            if committed != *text {
                stale.push(file.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "{stale:?} differ from what the CRDs give: run `cargo run --example gen-input-schemas` and review the diff"
        );
        // One embedded schema per input kind, and the editors' RenderConfig schema.
        assert_eq!(generated.len(), INPUTS.len() + 1);
    }

    #[test]
    fn ascii_json_escapes_like_the_committed_files() {
        assert_eq!(
            ascii_json(&serde_json::json!({"a": "é\u{7f}😀\n"})),
            r#"{"a":"\u00e9\u007f\ud83d\ude00\n"}"#
        );
    }

    #[test]
    fn unknown_keywords_and_cel_rules_are_refused_for_input_schemas() {
        let mut b = Builder::new(Mode::Input, None);
        let err = b
            .build(
                &serde_json::json!({"type": "object", "x-kubernetes-validations": []}),
                "T",
            )
            .unwrap_err();
        assert_eq!(
            err,
            fail("T.x-kubernetes-validations", BuildProblem::CelRules)
        );
        assert!(err.to_string().contains("CEL validation rules"), "{err}");
        let mut b = Builder::new(Mode::Output, None);
        assert!(
            b.build(
                &serde_json::json!({"type": "object", "x-kubernetes-validations": []}),
                "T"
            )
            .is_ok()
        );
        let err = b
            .build(
                &serde_json::json!({"type": "string", "contentEncoding": "x"}),
                "T",
            )
            .unwrap_err();
        assert_eq!(
            err,
            fail(
                "T.contentEncoding",
                BuildProblem::UnknownKeyword("contentEncoding".into())
            )
        );
        assert!(
            err.to_string().contains("unsupported schema keyword"),
            "{err}"
        );
        let err = b
            .build(
                &serde_json::json!({"type": "integer", "enum": ["yes"]}),
                "T",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "T: value \"yes\" does not match type integer"
        );
    }

    #[test]
    fn read_crd_reports_the_file_and_how_many_crds_it_holds() {
        let path = std::env::temp_dir().join(format!(
            "k8ssandra-gitops-read-crd-{}.yaml",
            std::process::id()
        ));
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
        std::fs::write(&path, format!("{crd}---\n{crd}")).unwrap();
        let err = read_crd(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(&err, Error::CrdCount { path: p, found: 2 } if *p == path),
            "{err:?}"
        );
        assert!(matches!(
            read_crd(&path).unwrap_err(),
            Error::Read { error, .. } if error.kind() == std::io::ErrorKind::NotFound
        ));
    }

    #[test]
    fn a_release_patch_that_no_longer_applies_names_the_crd_and_pointer() {
        let mut crd = serde_json::json!({
            "metadata": {"name": CASSANDRA_DATACENTER_CRD},
            "spec": {"versions": [{"schema": {"openAPIV3Schema": {"properties": {}}}}]}
        });
        let err = release_form(&mut crd).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::ReleasePatch {
                    crd: CASSANDRA_DATACENTER_CRD,
                    problem: PatchError::Missing(p),
                } if *p == CASSANDRA_DATACENTER_RELEASE_REMOVALS[0]
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{CASSANDRA_DATACENTER_CRD}: {} is not in the schema (did the upstream CRD change?)",
                CASSANDRA_DATACENTER_RELEASE_REMOVALS[0]
            )
        );
    }

    /// Validates the given files (name, text) in a fresh directory; returns the problems with
    /// the directory prefix removed.
    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "k8ssandra-gitops-schema-tools-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let report = validator().validate(&[&dir]);
        let prefix = format!("{}/", dir.display());
        let _ = std::fs::remove_dir_all(&dir);
        report
            .problems
            .into_iter()
            .map(|p| p.replace(&prefix, ""))
            .collect()
    }

    fn validator() -> &'static ManifestValidator {
        static V: std::sync::OnceLock<ManifestValidator> = std::sync::OnceLock::new();
        V.get_or_init(|| ManifestValidator::new(&upstream()))
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: ns\nspec:\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n        resources:\n          requests: {cpu: 0.5, memory: 64Mi}\n        ports:\n        - containerPort: 80\n";

    #[test]
    fn built_in_kinds_are_checked_strictly_against_the_openapi_documents() {
        assert_eq!(problems(&[("d.yaml", DEPLOYMENT)]), Vec::<String>::new());
        let typo = DEPLOYMENT.replace("        image: busybox", "        imag: busybox");
        assert_eq!(
            problems(&[("d.yaml", &typo)]),
            [
                r#"d.yaml:0: Deployment/d: spec.template.spec.containers[0].imag: unknown field "imag" (did you mean "image"?)"#
            ]
        );
        let quantity = DEPLOYMENT.replace("memory: 64Mi", "memory: 64 Mi");
        let p = problems(&[("d.yaml", &quantity)]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("d.yaml:0: Deployment/d: spec.template.spec.containers[0].resources.requests.memory: must match at least one of the allowed forms"),
            "{p:?}"
        );
        let ports = DEPLOYMENT.replace(
            "        - containerPort: 80\n",
            "        - containerPort: 80\n        - containerPort: 80\n          protocol: TCP\n",
        );
        let p = problems(&[("d.yaml", &ports)]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("ports[1]: duplicate entry with containerPort 80 and protocol \"TCP\""),
            "{p:?}"
        );
        let replicas =
            DEPLOYMENT.replace("spec:\n  selector:", "spec:\n  replicas: two\n  selector:");
        assert_eq!(
            problems(&[("d.yaml", &replicas)]),
            [r#"d.yaml:0: Deployment/d: spec.replicas: expected integer, found string "two""#]
        );
    }

    #[test]
    fn custom_resources_are_checked_against_the_release_form_of_their_crd() {
        let dc = "apiVersion: cassandra.datastax.com/v1beta1\nkind: CassandraDatacenter\nmetadata:\n  name: dc1\n  namespace: ns\nspec:\n  clusterName: demo\n  storageConfig:\n    cassandraDataVolumeClaimSpec:\n      resources: {requests: {storage: 1Gi}}\n  serverType: cassandra\n  serverVersion: 4.1.5\n  size: 3\n  config:\n    cassandra-yaml: {num_tokens: 16}\n";
        assert_eq!(problems(&[("dc.yaml", dc)]), Vec::<String>::new());
        let typo = dc.replace("  size: 3", "  sizee: 3");
        let p = problems(&[("dc.yaml", &typo)]);
        assert!(
            p.iter().any(|l| l.starts_with(
                r#"dc.yaml:0: CassandraDatacenter/dc1: spec.sizee: unknown field "sizee""#
            )),
            "{p:?}"
        );
        let unserved = "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: e\n  namespace: ns\nspec: {}\n";
        assert_eq!(
            problems(&[("e.yaml", unserved)]),
            [
                "e.yaml:0: ExternalSecret/e: .: external-secrets.io/v1beta1 is not served for ExternalSecret (served: v1)"
            ]
        );
        let policy =
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n";
        assert_eq!(
            problems(&[("p.yaml", policy)]),
            [
                "p.yaml:0: NetworkPolicy/p: .: no schema for built-in networking.k8s.io/v1 NetworkPolicy: add the API group's OpenAPI document to data/upstream/kubernetes-openapi"
            ]
        );
        let unknown = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";
        assert_eq!(
            problems(&[("w.yaml", unknown)]),
            [
                "w.yaml:0: Widget/w: .: no schema for example.com/v1 Widget: add its CRD to data/upstream/crds"
            ]
        );
    }

    #[test]
    fn scope_duplicates_and_kustomizations_are_checked() {
        let role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n  namespace: ns\nrules: []\n";
        assert_eq!(
            problems(&[("r.yaml", role)]),
            [
                "r.yaml:0: ClusterRole/r: metadata.namespace: ClusterRole is cluster-scoped and takes no namespace"
            ]
        );
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: ns\ndata: {a: b}\n";
        assert_eq!(
            problems(&[
                (
                    "east/kustomization.yaml",
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n- b.yaml\n"
                ),
                ("east/a.yaml", cm),
                ("east/b.yaml", cm),
                (
                    "west/kustomization.yaml",
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n- a.yaml\nresources:\n- missing.yaml\n"
                ),
                ("west/a.yaml", cm),
            ]),
            [
                "east/b.yaml:0: ConfigMap/c: .: the same object is already in east/a.yaml:0 (one apply unit must not hold it twice)",
                "west/kustomization.yaml:0: Kustomization/?: resource: unknown field for kustomize",
                "west/kustomization.yaml:0: Kustomization/?: resources[0]: \"missing.yaml\" does not exist",
            ]
        );
    }
}
