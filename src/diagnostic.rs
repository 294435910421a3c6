//! Problems found in the input, reported all at once as `file:line:column: severity: message`.

use std::fmt;
use std::path::PathBuf;

use crate::yaml::{Pos, Seg, path_string};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Rendering cannot go on.
    Error,
    /// Upstream would accept it too, but the user should know (ignored or deprecated fields).
    Warning,
}

/// One problem, located in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file as shown to the user (relative to the working directory when possible).
    pub file: PathBuf,
    /// Line and column (0:0 when only the file is known).
    pub pos: Pos,
    /// Field path inside the document, if the problem is about a field.
    pub path: Vec<Seg>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A did-you-mean suggestion or another short hint.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `pos` about `path`.
    #[must_use]
    pub fn error(
        file: impl Into<PathBuf>,
        pos: Pos,
        path: Vec<Seg>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            file: file.into(),
            pos,
            path,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at `pos` about `path`.
    #[must_use]
    pub fn warning(
        file: impl Into<PathBuf>,
        pos: Pos,
        path: Vec<Seg>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(file, pos, path, message)
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// Sort key: file, then position, then message (so output order never depends on the
    /// order in which checks ran).
    fn key(&self) -> (&PathBuf, Pos, Severity, &str) {
        (&self.file, self.pos, self.severity, &self.message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {sev}: ",
            self.file.display(),
            self.pos.line,
            self.pos.column
        )?;
        if !self.path.is_empty() {
            write!(f, "{}: ", path_string(&self.path))?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
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

    #[test]
    fn diagnostics_print_as_file_line_column_path_message_hint() {
        let d = Diagnostic::error(
            "repo/a.yaml",
            Pos { line: 3, column: 7 },
            vec![Seg::Key("spec".into()), Seg::Key("k8sContext".into())],
            "unknown context \"eastt\"",
        )
        .with_hint(Some("did you mean \"east\"?".into()));
        assert_eq!(
            d.to_string(),
            "repo/a.yaml:3:7: error: spec.k8sContext: unknown context \"eastt\" (did you mean \"east\"?)"
        );
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
