//! Problems found in the input, reported all at once.
//!
//! Every problem has a stable [`Code`] (documented in `docs/diagnostics.md`) and three ways to
//! be shown ([`Format`]): one line (`file:line:column: error[E0201]: path: message (help)`, the
//! [`fmt::Display`] form), a rustc-style report with the source line and a caret
//! ([`Diagnostic::human`]), or one JSON object ([`Diagnostic::json`]).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::yaml::path_string;
/// Where a problem is: a position in a file and a field path in its document.
pub use crate::yaml::{Pos, Seg};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Rendering cannot go on.
    Error,
    /// Upstream would accept it too, but the user should know (ignored or deprecated fields).
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, )*) => {
        /// The kind of a problem, with a stable code: `E` for errors, `W` for warnings; the
        /// first two digits are the stage (01 syntax and files, 02 schema, 03 model and
        /// references, 04 plan, 05 render, 06 output boundary). Codes are never reused.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $name, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            /// The code as shown, e.g. `E0201`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $code,)*
                }
            }
        }
    };
}

codes! {
    // 01: syntax and files.
    /// A file with one of our kinds is not valid YAML.
    InvalidYaml = "E0101",
    /// A plain YAML 1.1 scalar that Kubernetes (YAML 1.1) and YAML 1.2 tools read differently.
    Yaml11Ambiguity = "E0102",
    /// A file cannot be read: too large, not UTF-8, or an I/O error.
    UnreadableFile = "E0103",
    /// A symlink points outside the repository or to nothing.
    BadSymlink = "E0104",
    /// A `kind: List` nested too deep or with `items` that are not objects.
    BadList = "E0105",
    /// A file that declares none of our kinds is not valid YAML; it is skipped.
    SkippedInvalidYaml = "W0101",
    // 02: schema.
    /// A field the CRD schema does not declare.
    UnknownField = "E0201",
    /// A value of the wrong type (including null where null is not allowed).
    WrongType = "E0202",
    /// A required field is missing or null.
    MissingField = "E0203",
    /// Two items of a set or map list are the same.
    DuplicateItem = "E0204",
    /// A value matches none (or more than one) of the allowed forms (anyOf / oneOf).
    NoMatchingForm = "E0205",
    /// A value outside the allowed list (enum).
    ValueNotAllowed = "E0206",
    /// A number, length or count out of its bounds.
    OutOfRange = "E0207",
    /// A string that does not have the required format (pattern, name, timestamp, label).
    InvalidFormat = "E0208",
    /// One of our kinds with an apiVersion this tool does not read.
    UnsupportedApiVersion = "E0209",
    /// A document that passes the schema but cannot be read as its kind.
    UnreadableDocument = "E0210",
    // 03: model and references.
    /// Two documents or entries define the same thing.
    Duplicate = "E0301",
    /// A name that Kubernetes (or the output layout) does not accept.
    InvalidName = "E0302",
    /// A datacenter's k8sContext that no ClientConfig declares.
    UnknownContext = "E0303",
    /// A reference to a datacenter, Secret or object that the repository does not have.
    UnknownReference = "E0304",
    /// A reference that matches more than one thing.
    AmbiguousReference = "E0305",
    /// A document and what it refers to are in different namespaces.
    NamespaceMismatch = "E0306",
    /// A value k8ssandra-operator or its webhook would refuse.
    InvalidValue = "E0307",
    /// A setting that is required in this configuration is not set.
    MissingSetting = "E0308",
    /// Settings that cannot be used together.
    ConflictingSettings = "E0309",
    /// A committed Secret that is not safely encrypted, or a SOPS Secret that cannot be copied
    /// as it is.
    CommittedSecret = "E0310",
    /// A field that k8ssandra-operator ignores where it is set.
    IgnoredField = "W0301",
    /// A deprecated field or feature.
    Deprecated = "W0302",
    /// Something upstream would do at run time that is not rendered, or nothing is rendered.
    NotRendered = "W0303",
    /// A setting that does not do what it seems to, as upstream behaves.
    Surprising = "W0304",
    // 04: plan.
    /// Two clusters or documents would write the same object.
    OutputCollision = "E0401",
    /// A generated object name would be longer than Kubernetes allows.
    NameTooLong = "E0402",
    /// Cluster and datacenter options cannot be merged.
    MergeFailed = "E0403",
    // 05: render.
    /// Something k8ssandra-operator only decides at run time, which cannot be rendered offline.
    NotRenderableOffline = "E0501",
    /// An object cannot be built from the given settings.
    RenderFailed = "E0502",
    // 06: output boundary.
    /// A rendered file would overwrite what the tool did not write, or a symlink.
    OutputConflict = "E0601",
    /// An output file name or path longer than the file system takes.
    OutputPathTooLong = "E0602",
    /// The output directory cannot be used (its location, or it cannot be read).
    OutputLocation = "E0603",
}

impl Code {
    /// The severity every diagnostic with this code has.
    #[must_use]
    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Another place a problem involves (the first definition of a duplicate, the other side of a
/// conflict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The file as shown to the user.
    pub file: PathBuf,
    /// Line and column (0:0 when only the file is known).
    pub pos: Pos,
    /// What is there, e.g. `first defined here`.
    pub label: String,
}

/// One problem, located in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The kind of problem; it also says whether this is an error or a warning.
    pub code: Code,
    /// The file as shown to the user (relative to the working directory when possible).
    pub file: PathBuf,
    /// Line and column (0:0 when only the file is known).
    pub pos: Pos,
    /// Field path inside the document, if the problem is about a field.
    pub path: Vec<Seg>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A did-you-mean suggestion or another short hint (shown as `help:`).
    pub hint: Option<String>,
    /// Other places the problem involves.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// An error at `pos` about `path`.
    #[must_use]
    pub fn error(
        code: Code,
        file: impl Into<PathBuf>,
        pos: Pos,
        path: Vec<Seg>,
        message: impl Into<String>,
    ) -> Self {
        debug_assert_eq!(
            code.severity(),
            Severity::Error,
            "{code} is not an error code"
        );
        Self::new(code, file.into(), pos, path, message.into())
    }

    /// A warning at `pos` about `path`.
    #[must_use]
    pub fn warning(
        code: Code,
        file: impl Into<PathBuf>,
        pos: Pos,
        path: Vec<Seg>,
        message: impl Into<String>,
    ) -> Self {
        debug_assert_eq!(
            code.severity(),
            Severity::Warning,
            "{code} is not a warning code"
        );
        Self::new(code, file.into(), pos, path, message.into())
    }

    /// Error or warning: what the code says, so the two can never disagree.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    fn new(code: Code, file: PathBuf, pos: Pos, path: Vec<Seg>, message: String) -> Self {
        Self {
            code,
            file,
            pos,
            path,
            message,
            hint: None,
            related: Vec::new(),
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// Adds another place the problem involves.
    #[must_use]
    pub fn with_related(
        mut self,
        file: impl Into<PathBuf>,
        pos: Pos,
        label: impl Into<String>,
    ) -> Self {
        self.related.push(Related {
            file: file.into(),
            pos,
            label: label.into(),
        });
        self
    }

    /// Sort key: file, then position, then message (so output order never depends on the
    /// order in which checks ran).
    fn key(&self) -> (&PathBuf, Pos, Severity, &str) {
        (&self.file, self.pos, self.severity(), &self.message)
    }

    /// The title of the human and JSON forms: `path: message`.
    fn title(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", path_string(&self.path), self.message)
        }
    }

    /// One JSON object: `code`, `severity`, `file`, `line`, `column`, `path` (null when the
    /// problem is about no field), `message`, `help` (or null) and `related` (a list of
    /// `file`, `line`, `column`, `label`). Line and column are 0 when only the file is known.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code.as_str(),
            "severity": self.severity().as_str(),
            "file": self.file.to_string_lossy(),
            "line": self.pos.line,
            "column": self.pos.column,
            "path": (!self.path.is_empty()).then(|| path_string(&self.path)),
            "message": self.message,
            "help": self.hint,
            "related": self.related.iter().map(|r| serde_json::json!({
                "file": r.file.to_string_lossy(),
                "line": r.pos.line,
                "column": r.pos.column,
                "label": r.label,
            })).collect::<Vec<_>>(),
        })
    }

    /// The rustc-style report: title with code, `--> file:line:col`, the source line with a
    /// caret under the column (when `source` gives the file's text), the related places, and
    /// `= help:`. `styled` adds terminal colours. Ends without a newline.
    #[must_use]
    pub fn human(&self, source: &mut dyn FnMut(&Path) -> Option<String>, styled: bool) -> String {
        use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

        let level = match self.severity() {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut places = vec![(&self.file, self.pos, None)];
        places.extend(
            self.related
                .iter()
                .map(|r| (&r.file, r.pos, Some(r.label.as_str()))),
        );
        // Excerpts: each place's line (`source` is asked once per place; the CLI caches).
        let texts: Vec<Option<(String, std::ops::Range<usize>)>> = places
            .iter()
            .map(|(file, pos, _)| {
                (pos.line > 0)
                    .then(|| source(file))
                    .flatten()
                    .and_then(|text| excerpt(&text, *pos))
            })
            .collect();
        let mut group = Group::with_title(level.primary_title(self.title()).id(self.code.as_str()));
        let mut elements: Vec<annotate_snippets::Element<'_>> = Vec::new();
        for ((file, pos, label), text) in places.iter().zip(&texts) {
            let shown = file.to_string_lossy();
            let kind = if label.is_some() {
                AnnotationKind::Context
            } else {
                AnnotationKind::Primary
            };
            match text {
                Some((line, span)) => {
                    let mut annotation = kind.span(span.clone());
                    if let Some(l) = label {
                        annotation = annotation.label(*l);
                    }
                    elements.push(
                        Snippet::source(line.as_str())
                            .line_start(pos.line as usize)
                            .path(shown)
                            .annotation(annotation)
                            .into(),
                    );
                }
                None => {
                    let mut origin = Origin::path(shown);
                    if pos.line > 0 {
                        origin = origin
                            .line(pos.line as usize)
                            .char_column(pos.column as usize);
                    }
                    elements.push(origin.into());
                    if let Some(l) = label {
                        elements.push(Level::NOTE.message(*l).into());
                    }
                }
            }
        }
        if let Some(hint) = &self.hint {
            elements.push(Level::HELP.message(hint.as_str()).into());
        }
        for e in elements {
            group = group.element(e);
        }
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        renderer.render(&[group])
    }
}

/// The line at `pos` and the byte span of the token that starts at its column (one character
/// when the column is on a delimiter; empty past the end of the line).
fn excerpt(text: &str, pos: Pos) -> Option<(String, std::ops::Range<usize>)> {
    let line = text.lines().nth(pos.line.checked_sub(1)? as usize)?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let start = line
        .char_indices()
        .nth(pos.column.saturating_sub(1) as usize)
        .map_or(line.len(), |(i, _)| i);
    let len = line[start..]
        .find(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '[' | ']' | '{' | '}' | '#'))
        .unwrap_or(line.len() - start);
    let end = if len == 0 {
        line[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8())
    } else {
        start + len
    };
    Some((line.to_string(), start..end))
}

/// How diagnostics are printed (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line each: `file:line:column: error[E0201]: path: message (help)`.
    Short,
    /// rustc-style: the source line with a caret, related places and `help:`.
    Human,
    /// One JSON object per line.
    Json,
}

/// Writes diagnostics in `format`; `source` gives a file's text for excerpts (human form
/// only), `styled` adds colours.
///
/// # Errors
/// When `out` fails.
pub fn write_all(
    out: &mut dyn std::io::Write,
    diags: &[Diagnostic],
    format: Format,
    source: &mut dyn FnMut(&Path) -> Option<String>,
    styled: bool,
) -> std::io::Result<()> {
    for d in diags {
        match format {
            Format::Short => writeln!(out, "{d}")?,
            Format::Human => writeln!(out, "{}\n", d.human(source, styled))?,
            Format::Json => writeln!(out, "{}", d.json())?,
        }
    }
    Ok(())
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: ",
            self.file.display(),
            self.pos.line,
            self.pos.column,
            self.severity().as_str(),
            self.code
        )?;
        if !self.path.is_empty() {
            write!(f, "{}: ", path_string(&self.path))?;
        }
        f.write_str(&self.message)?;
        for r in &self.related {
            write!(
                f,
                " ({}: {}:{}:{})",
                r.label,
                r.file.display(),
                r.pos.line,
                r.pos.column
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Whether any of `diags` is an error (the input is invalid).
#[must_use]
pub fn has_error(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity() == Severity::Error)
}

/// Sorts diagnostics by file and position and drops exact duplicates.
pub fn sort(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| a.key().cmp(&b.key()));
    diags.dedup();
}

/// The closest candidate to `word` (case-insensitive match first, then edit distance), phrased
/// as a hint.
#[must_use]
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if c.to_lowercase() == lower {
            0
        } else {
            levenshtein(&lower, &c.to_lowercase())
        };
        let limit = (word.chars().count().max(c.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| format!("did you mean {c:?}?"))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown_context() -> Diagnostic {
        Diagnostic::error(
            Code::UnknownContext,
            "repo/a.yaml",
            Pos { line: 3, column: 7 },
            vec![Seg::Key("spec".into()), Seg::Key("k8sContext".into())],
            "unknown context \"eastt\"",
        )
        .with_hint(Some("did you mean \"east\"?".into()))
    }

    #[test]
    fn diagnostics_print_as_file_line_column_code_path_message_hint() {
        assert_eq!(
            unknown_context().to_string(),
            "repo/a.yaml:3:7: error[E0303]: spec.k8sContext: unknown context \"eastt\" (did you mean \"east\"?)"
        );
        let d = Diagnostic::warning(
            Code::Deprecated,
            "b.yaml",
            Pos::default(),
            Vec::new(),
            "old",
        )
        .with_related("a.yaml", Pos { line: 1, column: 2 }, "first defined here");
        assert_eq!(
            d.to_string(),
            "b.yaml:0:0: warning[W0302]: old (first defined here: a.yaml:1:2)"
        );
    }

    #[test]
    fn the_human_form_without_source_names_the_places_and_help() {
        let d = unknown_context().with_related("b.yaml", Pos::default(), "declared here");
        let text = d.human(&mut |_| None, false);
        assert_eq!(
            text,
            "error[E0303]: spec.k8sContext: unknown context \"eastt\"\n--> repo/a.yaml:3:7\n::: b.yaml\n = note: declared here\n = help: did you mean \"east\"?"
        );
    }

    #[test]
    fn the_caret_underlines_the_token_at_the_column_in_characters() {
        let mut d = unknown_context();
        d.pos.column = 11;
        let text = d.human(
            &mut |p| {
                (p == Path::new("repo/a.yaml"))
                    .then(|| "a: 1\nb: 2\nspec: {é: eastt, x: 1}\n".into())
            },
            false,
        );
        assert!(
            text.contains("3 | spec: {é: eastt, x: 1}\n  |           ^^^^^\n"),
            "{text}"
        );
        // A column past the end of the line (or a line past the end of the file) still shows.
        assert_eq!(
            excerpt("ab\n", Pos { line: 1, column: 9 }),
            Some(("ab".into(), 2..2))
        );
        assert_eq!(
            excerpt("ab\r\n", Pos { line: 1, column: 1 }),
            Some(("ab".into(), 0..2))
        );
        assert_eq!(excerpt("ab\n", Pos { line: 2, column: 1 }), None);
        assert_eq!(
            excerpt("  : x\n", Pos { line: 1, column: 3 }),
            Some(("  : x".into(), 2..3))
        );
    }

    #[test]
    fn the_json_form_has_every_field() {
        let d = unknown_context().with_related("b.yaml", Pos { line: 2, column: 1 }, "here");
        assert_eq!(
            d.json(),
            serde_json::json!({
                "code": "E0303",
                "severity": "error",
                "file": "repo/a.yaml",
                "line": 3,
                "column": 7,
                "path": "spec.k8sContext",
                "message": "unknown context \"eastt\"",
                "help": "did you mean \"east\"?",
                "related": [{"file": "b.yaml", "line": 2, "column": 1, "label": "here"}],
            })
        );
    }

    /// `docs/diagnostics.md`, the user's reference for every code.
    const DOC: &str = include_str!("../docs/diagnostics.md");

    #[test]
    fn codes_are_unique_well_formed_and_each_is_documented() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} is used by two variants");
            assert!(
                s.len() == 5 && s[1..].bytes().all(|b| b.is_ascii_digit()),
                "{s}: codes are E or W and four digits"
            );
            assert!(
                matches!(
                    (s.as_bytes()[0], code.severity()),
                    (b'E', Severity::Error) | (b'W', Severity::Warning)
                ),
                "{s}"
            );
            let heading = format!("\n## {s}: ");
            assert!(
                DOC.contains(&heading),
                "{s} ({code:?}) is not documented in docs/diagnostics.md"
            );
        }
        // And the document describes no code that does not exist.
        for line in DOC.lines().filter(|l| l.starts_with("## ")) {
            let code = line[3..].split(':').next().unwrap_or_default();
            assert!(
                seen.contains(code),
                "docs/diagnostics.md documents unknown code {line:?}"
            );
        }
    }

    #[test]
    fn suggestions_prefer_case_insensitive_then_closest() {
        assert_eq!(
            did_you_mean("serverversion", ["serverVersion", "serverImage"]),
            Some("did you mean \"serverVersion\"?".into())
        );
        assert_eq!(
            did_you_mean("eastt", ["east", "west"]),
            Some("did you mean \"east\"?".into())
        );
        assert_eq!(did_you_mean("zzz", ["east", "west"]), None);
    }
}
