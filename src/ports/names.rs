//! Kubernetes name handling, as the operators do it (spec control-plane §2.3).
//!
//! Two families of functions:
//!
//! - the cleaners cass-operator applies to user-chosen names before using them in object names
//!   and label values ([`cleanup_for_kubernetes`], [`cleanup_subdomain`], [`clean_label_value`]).
//!   They keep the non-overlapping leftmost-first matches of a pattern, scanning left to right,
//!   and glue them together, exactly like Go's `regexp.FindAllString(s, -1)` joined with `""`.
//!   Nothing is truncated, so a cleaned name may still be too long (or empty);
//! - the validators of Kubernetes apimachinery ([`is_dns1035_label`], [`is_dns1123_label`],
//!   [`is_dns1123_subdomain`], [`is_label_value`], [`is_qualified_name`]), lengths counted in
//!   bytes as Go does.
//!
//! Lowercasing follows Go's `strings.ToLower` (simple per-character mapping). That matters only
//! where a non-ASCII character lowercases to an ASCII one: `İ` (U+0130) becomes `i` and the Kelvin
//! sign (U+212A) becomes `k`, both then kept by the patterns. Every other non-ASCII character can
//! never be part of a match, so it only separates matches.

use std::sync::LazyLock;

use regex::Regex;

/// Longest DNS-1035 or DNS-1123 label, and longest label value or label-key name part.
pub const LABEL_MAX_LEN: usize = 63;

/// Longest DNS-1123 subdomain.
pub const SUBDOMAIN_MAX_LEN: usize = 253;

/// cass-operator's DNS-1035 label pattern, unanchored (matches are searched for).
static DNS1035_LABEL: LazyLock<Regex> = LazyLock::new(|| compile("[a-z]([-a-z0-9]*[a-z0-9])?"));

/// cass-operator's DNS-1123 subdomain pattern, unanchored.
static DNS1123_SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"));

/// cass-operator's label value pattern (it names it a DNS-1123 label), unanchored. It can match
/// the empty string; empty matches add nothing to the joined result.
static LABEL_VALUE: LazyLock<Regex> =
    LazyLock::new(|| compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"));

fn compile(pattern: &str) -> Regex {
    // The patterns are constants; a failure here is a bug caught by every test.
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern:?}: {e}"))
}

/// All non-overlapping matches of `re` in `s`, concatenated. The `regex` crate and Go's `regexp`
/// share leftmost-first semantics and both resume after a non-empty match at its end and after
/// an empty one at the next character, so the kept text is the same.
fn join_matches(re: &Regex, s: &str) -> String {
    re.find_iter(s).map(|m| m.as_str()).collect()
}

/// Go's `strings.ToLower` as far as ASCII output is concerned, followed by `_` → `-`
/// (the preparation both cleaners apply before matching).
fn go_lower_dashed(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '_' => '-',
            '\u{130}' => 'i',
            '\u{212A}' => 'k',
            c if c.is_ascii() => c.to_ascii_lowercase(),
            // Stays non-ASCII in Go too (only the two above map to ASCII), so it can only
            // separate matches; which character it becomes does not matter.
            c => c,
        })
        .collect()
}

/// cass-operator `CleanupForKubernetes`: a valid DNS-1035 label is returned unchanged; anything
/// else is lowercased, `_` becomes `-`, and the runs matching `[a-z]([-a-z0-9]*[a-z0-9])?` are
/// kept and joined. So leading digits and dashes and trailing dashes are dropped, spaces and other
/// characters vanish, and the result is not truncated (it may exceed 63 characters or be empty).
///
/// `Not K8s_Compliant` → `notk8s-compliant`.
#[must_use]
pub fn cleanup_for_kubernetes(s: &str) -> String {
    if is_dns1035_label(s) {
        return s.to_string();
    }
    join_matches(&DNS1035_LABEL, &go_lower_dashed(s))
}

/// cass-operator `CleanupSubdomain` (used for rack names): a valid DNS-1123 subdomain is returned
/// unchanged; anything else is lowercased, `_` becomes `-`, and the runs matching the subdomain
/// pattern are kept and joined (no truncation, dots between valid labels survive).
#[must_use]
pub fn cleanup_subdomain(s: &str) -> String {
    if is_dns1123_subdomain(s) {
        return s.to_string();
    }
    join_matches(&DNS1123_SUBDOMAIN, &go_lower_dashed(s))
}

/// cass-operator `CleanLabelValue`: ASCII spaces removed, then the runs matching
/// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?` kept and joined. Case is preserved, nothing is
/// truncated, and it is applied even to values that are already valid.
#[must_use]
pub fn clean_label_value(s: &str) -> String {
    let s = s.replace(' ', "");
    // A value that is one whole match (or empty) is kept as it is: the usual case, and it
    // saves compiling the pattern on every run.
    if s.is_empty() || is_label_key_text(&s) {
        return s;
    }
    join_matches(&LABEL_VALUE, &s)
}

const fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

const fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` anchored at both ends, without a length limit.
fn is_rfc1123_label_text(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_lower_alnum(f)
                && is_lower_alnum(l)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]` anchored at both ends (non-empty), without a
/// length limit.
fn is_label_key_text(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_alnum(f)
                && is_alnum(l)
                && b.iter()
                    .all(|&c| is_alnum(c) || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// apimachinery `IsDNS1035Label`: at most 63 bytes of `[a-z]([-a-z0-9]*[a-z0-9])?`.
#[must_use]
pub fn is_dns1035_label(s: &str) -> bool {
    s.len() <= LABEL_MAX_LEN
        && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && is_rfc1123_label_text(s)
}

/// apimachinery `IsDNS1123Label`: at most 63 bytes of `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
#[must_use]
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= LABEL_MAX_LEN && is_rfc1123_label_text(s)
}

/// apimachinery `IsDNS1123Subdomain`: at most 253 bytes of dot-separated DNS-1123 label texts
/// (the individual labels have no length limit of their own here).
#[must_use]
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= SUBDOMAIN_MAX_LEN && s.split('.').all(is_rfc1123_label_text)
}

/// apimachinery `IsValidLabelValue`: empty, or at most 63 bytes of
/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
#[must_use]
pub fn is_label_value(s: &str) -> bool {
    s.is_empty() || (s.len() <= LABEL_MAX_LEN && is_label_key_text(s))
}

/// apimachinery `IsQualifiedName` (the label and annotation key syntax): `name` or
/// `prefix/name`, where the prefix is a DNS-1123 subdomain and the name is a non-empty label
/// value of at most 63 bytes. More than one `/` is invalid.
#[must_use]
pub fn is_qualified_name(s: &str) -> bool {
    let name = match s.split_once('/') {
        None => s,
        Some((prefix, name)) => {
            if name.contains('/') || prefix.is_empty() || !is_dns1123_subdomain(prefix) {
                return false;
            }
            name
        }
    };
    name.len() <= LABEL_MAX_LEN && is_label_key_text(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_for_kubernetes_examples() {
        // k8ssandra-operator controller test and spec §8 row 24.
        assert_eq!(
            cleanup_for_kubernetes("Not K8s_Compliant"),
            "notk8s-compliant"
        );
        // cass-operator TestServiceNameGeneration: seed service `notcool-bob-seed-service`.
        assert_eq!(cleanup_for_kubernetes("NotCool_Bob"), "notcool-bob");
        // Valid labels are untouched.
        assert_eq!(cleanup_for_kubernetes("cluster1"), "cluster1");
        assert_eq!(
            cleanup_for_kubernetes("test-dc1-metrics-agent-config"),
            "test-dc1-metrics-agent-config"
        );
    }

    #[test]
    fn cleanup_for_kubernetes_edge_cases() {
        assert_eq!(cleanup_for_kubernetes(""), "");
        assert_eq!(cleanup_for_kubernetes("!!!"), "");
        assert_eq!(cleanup_for_kubernetes("---"), "");
        assert_eq!(cleanup_for_kubernetes("123"), "");
        // Leading digits and dashes go, trailing dashes go, inner dashes stay.
        assert_eq!(cleanup_for_kubernetes("1abc"), "abc");
        assert_eq!(cleanup_for_kubernetes("-a-b-"), "a-b");
        assert_eq!(cleanup_for_kubernetes("a--"), "a");
        assert_eq!(cleanup_for_kubernetes("a_"), "a");
        // A match must start with a letter: digits after a break are dropped until a letter.
        assert_eq!(cleanup_for_kubernetes("a 9b"), "ab");
        assert_eq!(cleanup_for_kubernetes("a.b"), "ab");
        assert_eq!(cleanup_for_kubernetes("My.Cluster_01"), "mycluster-01");
        // No truncation: 64 letters are invalid (too long) but come back as they are.
        let long = "a".repeat(64);
        assert_eq!(cleanup_for_kubernetes(&long), long);
        let long_upper = "A".repeat(70);
        assert_eq!(cleanup_for_kubernetes(&long_upper), "a".repeat(70));
        // Unicode: only U+0130 and the Kelvin sign lowercase to ASCII (Go simple mapping).
        assert_eq!(cleanup_for_kubernetes("\u{130}9"), "i9");
        assert_eq!(cleanup_for_kubernetes("\u{212A}8s"), "k8s");
        assert_eq!(cleanup_for_kubernetes("caf\u{e9}-x"), "cafx");
        assert_eq!(cleanup_for_kubernetes("\u{c9}t\u{e9}"), "t");
        assert_eq!(cleanup_for_kubernetes("a\u{e9}9"), "a");
    }

    #[test]
    fn cleanup_subdomain_cases() {
        assert_eq!(cleanup_subdomain("rack1"), "rack1");
        assert_eq!(cleanup_subdomain("r1.zone-a"), "r1.zone-a");
        assert_eq!(cleanup_subdomain("1rack"), "1rack");
        assert_eq!(cleanup_subdomain("Rack_1"), "rack-1");
        assert_eq!(cleanup_subdomain("My Rack"), "myrack");
        assert_eq!(cleanup_subdomain("a..b"), "ab");
        assert_eq!(cleanup_subdomain("a.-b"), "ab");
        assert_eq!(cleanup_subdomain("a-.b"), "ab");
        assert_eq!(cleanup_subdomain("A.B."), "a.b");
        assert_eq!(cleanup_subdomain(".a"), "a");
        assert_eq!(cleanup_subdomain(""), "");
        assert_eq!(cleanup_subdomain("_"), "");
        // Too long for a subdomain: cleaned (lowercase already) but not truncated.
        let long = "a".repeat(254);
        assert_eq!(cleanup_subdomain(&long), long);
    }

    #[test]
    fn clean_label_value_cass_operator_cases() {
        // cass-operator pkg/oplabels TestLabelValueClean and TestWhitelistRegex.
        assert_eq!(clean_label_value("TestCluster"), "TestCluster");
        assert_eq!(clean_label_value("Test Cluster"), "TestCluster");
        assert_eq!(
            clean_label_value("+!*(-_)cor @#$%^&rect_ LABEL.name-1=<>_?,."),
            "correct_LABEL.name-1"
        );
        assert_eq!(
            clean_label_value("cor!@#$%^&*()rect__ LABEL.name"),
            "correct__LABEL.name"
        );
        assert_eq!(clean_label_value("correct"), "correct");
        assert_eq!(clean_label_value(""), "");
        assert_eq!(clean_label_value("-_!@#$%-^&*.()<>?._-&*."), "");
        assert_eq!(clean_label_value("-_!@#$%-^&*.()<>?._-&*.X"), "X");
        assert_eq!(clean_label_value("Y-_!@#$%-^&*.()<>?._-&*."), "Y");
        assert_eq!(
            clean_label_value("+!*(-_)cor @#$%^&rect _ LABEL.name-1=<>_?,."),
            "correct_LABEL.name-1"
        );
        assert_eq!(
            clean_label_value("+!*(-_)cor @#$   %^&re _c-t-.LABEL.name-1=<>_?,."),
            "corre_c-t-.LABEL.name-1"
        );
    }

    #[test]
    fn clean_label_value_edge_cases() {
        assert_eq!(clean_label_value("Not K8s_Compliant"), "NotK8s_Compliant");
        // Only ASCII spaces are removed; a tab separates matches.
        assert_eq!(clean_label_value("a\tb"), "ab");
        assert_eq!(clean_label_value("a-\tb"), "ab");
        assert_eq!(clean_label_value("\u{e9}t\u{e9}"), "t");
        let long = "x".repeat(80);
        assert_eq!(clean_label_value(&long), long);
    }

    #[test]
    fn clean_label_value_keeps_whole_matches_as_the_pattern_does() {
        // The shortcut for values that are one whole match must give what the pattern gives.
        let parts = ["", "a", "Z", "0", "-", "_", ".", " ", "!", "\u{e9}"];
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let s = format!("{a}{b}{c}{d}");
                        assert_eq!(
                            clean_label_value(&s),
                            join_matches(&LABEL_VALUE, &s.replace(' ', "")),
                            "{s:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn dns1035_label() {
        assert!(is_dns1035_label("a"));
        assert!(is_dns1035_label("abc-123"));
        assert!(is_dns1035_label(&"a".repeat(63)));
        assert!(!is_dns1035_label(&"a".repeat(64)));
        assert!(!is_dns1035_label(""));
        assert!(!is_dns1035_label("1abc"));
        assert!(!is_dns1035_label("abc-"));
        assert!(!is_dns1035_label("-abc"));
        assert!(!is_dns1035_label("aBc"));
        assert!(!is_dns1035_label("a.b"));
        assert!(!is_dns1035_label("a_b"));
        assert!(!is_dns1035_label("a\n"));
    }

    #[test]
    fn dns1123_label() {
        assert!(is_dns1123_label("1abc"));
        assert!(is_dns1123_label("0"));
        assert!(is_dns1123_label(&"9".repeat(63)));
        assert!(!is_dns1123_label(&"9".repeat(64)));
        assert!(!is_dns1123_label(""));
        assert!(!is_dns1123_label("a.b"));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label("a-"));
        assert!(!is_dns1123_label("A"));
    }

    #[test]
    fn dns1123_subdomain() {
        assert!(is_dns1123_subdomain("example.com"));
        assert!(is_dns1123_subdomain("a"));
        assert!(is_dns1123_subdomain("1.2.3"));
        // Labels inside a subdomain have no 63 limit of their own.
        assert!(is_dns1123_subdomain(&"a".repeat(200)));
        let max = format!("{}.{}", "a".repeat(126), "b".repeat(126));
        assert_eq!(max.len(), 253);
        assert!(is_dns1123_subdomain(&max));
        assert!(!is_dns1123_subdomain(&format!("{max}c")));
        assert!(!is_dns1123_subdomain(""));
        assert!(!is_dns1123_subdomain("a."));
        assert!(!is_dns1123_subdomain(".a"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain("a.-b"));
        assert!(!is_dns1123_subdomain("A.b"));
    }

    #[test]
    fn label_value() {
        assert!(is_label_value(""));
        assert!(is_label_value("MyValue"));
        assert!(is_label_value("my_value"));
        assert!(is_label_value("12345"));
        assert!(is_label_value("a.b-c_d"));
        assert!(is_label_value(&"x".repeat(63)));
        assert!(!is_label_value(&"x".repeat(64)));
        assert!(!is_label_value("-a"));
        assert!(!is_label_value("a_"));
        assert!(!is_label_value("a b"));
        assert!(!is_label_value("a/b"));
    }

    #[test]
    fn qualified_name() {
        assert!(is_qualified_name("MyName"));
        assert!(is_qualified_name("my.name"));
        assert!(is_qualified_name("123-abc"));
        assert!(is_qualified_name("example.com/MyName"));
        assert!(is_qualified_name("app.kubernetes.io/managed-by"));
        assert!(is_qualified_name(&format!(
            "{}/{}",
            "a".repeat(253),
            "b".repeat(63)
        )));
        assert!(!is_qualified_name(&format!("{}/b", "a".repeat(254))));
        assert!(!is_qualified_name(&"b".repeat(64)));
        assert!(!is_qualified_name(""));
        assert!(!is_qualified_name("/name"));
        assert!(!is_qualified_name("example.com/"));
        assert!(!is_qualified_name("a/b/c"));
        assert!(!is_qualified_name("Example.com/name"));
        assert!(!is_qualified_name("-name"));
        assert!(!is_qualified_name("name_"));
    }
}
