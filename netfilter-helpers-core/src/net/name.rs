//! Names that end up in rule text: interface names and rule (table, chain, service) names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An interface name the kernel accepts and that every backend reads as the same literal
/// name: 1 to 15 bytes of `A-Z a-z 0-9 _ . - @`, not `.`, `..`, `all` or `default` (the
/// kernel refuses those two: they are the sysctl directories `conf/all` and `conf/default`),
/// and not starting with `@` (nft's JSON reads `"@name"` as a set reference).
///
/// The kernel refuses `/`, `:`, whitespace and names of 16 bytes or more; this type also
/// refuses `+` (iptables reads a trailing `+` as a prefix wildcard, nft as a literal: a
/// wildcard is `match = "prefix"` on a site interface), `*`, quotes, `;`, `#`, `$`, braces and every other
/// character that would need quoting in iptables, nft or shell text.
///
/// ```
/// use netfilter_helpers_core::net::IfName;
/// assert!(IfName::new("eth0.100").is_ok());
/// assert!(IfName::new("a-very-long-name0").is_err());
/// assert!(IfName::new("eth0\"; drop").is_err());
/// assert!(IfName::new("ppp+").is_err());
/// assert!(IfName::new("default").is_err());
/// assert!(IfName::new("@set").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfName(String);

/// Longest interface name (`IFNAMSIZ - 1`).
pub const IFNAME_MAX: usize = 15;

impl IfName {
    /// Checks and wraps a name.
    pub fn new(name: &str) -> Result<IfName, String> {
        if name.is_empty() {
            return Err("an interface name cannot be empty".into());
        }
        if name.len() > IFNAME_MAX {
            return Err(format!(
                "interface name {name:?} is {} bytes; the kernel accepts at most {IFNAME_MAX}",
                name.len()
            ));
        }
        if name == "." || name == ".." {
            return Err(format!("{name:?} is not a valid interface name"));
        }
        if name == "all" || name == "default" {
            return Err(format!(
                "{name:?} is not a valid interface name: the kernel refuses it (net.ipv4.conf.{name} is the sysctl for every interface)"
            ));
        }
        if name.contains('+') {
            return Err(format!(
                "interface name {name:?} contains '+': iptables reads a trailing '+' as a prefix wildcard and nft as a literal character; for a wildcard write the prefix with match = \"prefix\""
            ));
        }
        if name.starts_with('@') {
            return Err(format!(
                "interface name {name:?} starts with '@': nft's JSON input reads \"@...\" as a set reference"
            ));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "_.-@".contains(*c)))
        {
            return Err(format!(
                "interface name {name:?} contains {c:?}: only letters, digits and _ . - @ are accepted (the kernel refuses '/', ':' and whitespace; other characters would need quoting in rule text)"
            ));
        }
        Ok(IfName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IfName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        IfName::new(&s)
    }
}

impl From<IfName> for String {
    fn from(n: IfName) -> Self {
        n.0
    }
}

/// A name used in rule text (service names, table names): 1 to 32 bytes of
/// `A-Z a-z 0-9 _ -`, starting with a letter.
///
/// ```
/// use netfilter_helpers_core::net::RuleName;
/// assert!(RuleName::new("ftp-in").is_ok());
/// assert!(RuleName::new("ftp in").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleName(String);

impl RuleName {
    /// Checks and wraps a name.
    pub fn new(name: &str) -> Result<RuleName, String> {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(RuleName(name.to_string()))
        } else {
            Err(format!(
                "name {name:?} must be 1 to 32 letters, digits, '_' or '-', starting with a letter"
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for RuleName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleName::new(s)
    }
}

impl TryFrom<String> for RuleName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RuleName::new(&s)
    }
}

impl From<RuleName> for String {
    fn from(n: RuleName) -> Self {
        n.0
    }
}
