//! Server type and version: the two facts that pick JVM option groups, defaults and images.

use std::fmt;

/// `spec.cassandra.serverType` of a K8ssandraCluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerType {
    /// Apache Cassandra (the CRD default).
    Cassandra,
    /// DataStax Enterprise.
    Dse,
    /// DataStax Hyper-Converged Database.
    Hcd,
}

impl ServerType {
    /// Parses the CRD enum value.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cassandra" => Some(Self::Cassandra),
            "dse" => Some(Self::Dse),
            "hcd" => Some(Self::Hcd),
            _ => None,
        }
    }

    /// The CRD enum value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cassandra => "cassandra",
            Self::Dse => "dse",
            Self::Hcd => "hcd",
        }
    }

    /// `IsCassandra()` upstream: Cassandra or HCD (both take Cassandra-style settings).
    #[must_use]
    pub fn is_cassandra_like(self) -> bool {
        matches!(self, Self::Cassandra | Self::Hcd)
    }
}

impl fmt::Display for ServerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server version as Masterminds/semver parses it (`major.minor.patch[-pre][+build]`).
///
/// Upstream validates `serverVersion` with the unanchored pattern `(\d+\.\d+\.\d+)` and then
/// parses it with `semver.NewVersion`, which also accepts a leading `v`. We accept exactly
/// what both accept and print the normalized form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerVersion {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// Patch version.
    pub patch: u64,
    /// Pre-release part without the leading `-` (empty when absent).
    pub pre: String,
    /// Build metadata without the leading `+` (empty when absent).
    pub build: String,
}

impl ServerVersion {
    /// Parses a version string; `None` when it is not a full `x.y.z` semantic version.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, b),
            None => (s, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, p),
            None => (rest, ""),
        };
        let ident_ok = |part: &str| {
            part.split('.').all(|id| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        };
        if (!pre.is_empty() && !ident_ok(pre)) || (!build.is_empty() && !ident_ok(build)) {
            return None;
        }
        if (s.contains('-') && pre.is_empty()) || (s.contains('+') && build.is_empty()) {
            return None;
        }
        let mut nums = core.split('.');
        let mut next = || -> Option<u64> {
            let n = nums.next()?;
            if n.is_empty()
                || !n.bytes().all(|b| b.is_ascii_digit())
                || (n.len() > 1 && n.starts_with('0'))
            {
                return None;
            }
            n.parse().ok()
        };
        let (major, minor, patch) = (next()?, next()?, next()?);
        if nums.next().is_some() {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            build: build.to_string(),
        })
    }

    /// Compares only major.minor.patch and pre-release presence, as semver constraints do.
    fn key(&self) -> (u64, u64, u64, bool) {
        (self.major, self.minor, self.patch, self.pre.is_empty())
    }

    /// `self >= other` by semantic-version precedence (pre-releases sort before releases).
    #[must_use]
    pub fn at_least(&self, major: u64, minor: u64, patch: u64) -> bool {
        self.key() >= (major, minor, patch, true)
    }

    /// `self > other` (strictly greater) by semantic-version precedence.
    #[must_use]
    pub fn greater_than(&self, major: u64, minor: u64, patch: u64) -> bool {
        self.key() > (major, minor, patch, true)
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_normalize_like_semver() {
        assert_eq!(ServerVersion::parse("4.1.3").unwrap().to_string(), "4.1.3");
        assert_eq!(
            ServerVersion::parse("v6.8.25").unwrap().to_string(),
            "6.8.25"
        );
        assert_eq!(ServerVersion::parse("5.0.0-beta1").unwrap().pre, "beta1");
        assert!(ServerVersion::parse("4.1").is_none());
        assert!(ServerVersion::parse("4.01.0").is_none());
        assert!(ServerVersion::parse("4.1.x").is_none());
        assert!(ServerVersion::parse("4.1.0-").is_none());
    }

    #[test]
    fn pre_releases_sort_before_their_release() {
        let beta = ServerVersion::parse("4.0.0-beta4").unwrap();
        assert!(!beta.at_least(4, 0, 0));
        assert!(beta.at_least(3, 11, 0));
        assert!(ServerVersion::parse("4.0.4").unwrap().greater_than(4, 0, 3));
    }
}
