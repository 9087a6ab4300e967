//! Reading back what the kernel made: expectation tables as raw text lines.
//!
//! Two views of the same table, both read *inside* a namespace (usually the lab's router):
//!
//! * [`ExpectSource::Proc`]: `/proc/net/nf_conntrack_expect`, e.g.
//!   `299 l3proto = 2 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 ftp`;
//! * [`ExpectSource::Conntrack`]: stdout of `conntrack -L expect -f ipv4` followed by that of
//!   `conntrack -L expect -f ipv6` (the `… expectations have been shown.` summary goes to
//!   stderr and is not included), e.g.
//!   `299 proto=6 src=… dst=… sport=0 dport=50000 mask-src=… … class=0 helper=ftp`.
//!
//! Beware: conntrack-tools 1.4.7 `-L` (table or `expect`) and `-F` (table) act on **IPv4
//! only** unless `-f ipv6` is given, while `-F expect` flushes both families (and rejects
//! `-f`). The functions here always cover both families.
//!
//! Lines are returned verbatim (trailing newline removed, empty lines dropped); parsing is
//! left to the caller. Expectations disappear when their master conntrack dies, when they time
//! out, or when a connection matches a non-PERMANENT one — read them while the players of the
//! exchange are still alive.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::netns::{CommandError, Family, Netns};

/// Where to read expectations from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectSource {
    /// `/proc/net/nf_conntrack_expect` (kernel format, no mask, no class number).
    Proc,
    /// `conntrack -L expect` stdout (libnetfilter_conntrack format, with masks and master).
    Conntrack,
}

/// How long [`wait_lines`] polls for the wanted number of lines.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(2);
/// Poll interval of [`wait_lines`].
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long [`wait_lines`] waits before reading when zero lines are expected.
pub const ZERO_SETTLE: Duration = Duration::from_millis(300);

fn non_empty_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Raw lines of `/proc/net/nf_conntrack_expect` inside `ns`.
pub fn proc_lines(ns: &Netns) -> Result<Vec<String>, CommandError> {
    ns.run("cat", &["/proc/net/nf_conntrack_expect"])
        .map(|out| non_empty_lines(&out))
}

/// Raw stdout lines of `conntrack -L expect -f ipv4|ipv6` inside `ns`.
pub fn conntrack_lines_family(ns: &Netns, family: Family) -> Result<Vec<String>, CommandError> {
    ns.run(
        "conntrack",
        &["-L", "expect", "-f", conntrack_family(family)],
    )
    .map(|out| non_empty_lines(&out))
}

/// Raw stdout lines of `conntrack -L expect` inside `ns`, IPv4 lines then IPv6 lines.
pub fn conntrack_lines(ns: &Netns) -> Result<Vec<String>, CommandError> {
    let mut lines = conntrack_lines_family(ns, Family::V4)?;
    lines.extend(conntrack_lines_family(ns, Family::V6)?);
    Ok(lines)
}

fn conntrack_family(family: Family) -> &'static str {
    match family {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

/// Raw lines from `source` inside `ns`.
pub fn lines(ns: &Netns, source: ExpectSource) -> Result<Vec<String>, CommandError> {
    match source {
        ExpectSource::Proc => proc_lines(ns),
        ExpectSource::Conntrack => conntrack_lines(ns),
    }
}

/// Reads `source` until at least `want` lines show (polling every [`POLL_INTERVAL`] for up to
/// [`POLL_TIMEOUT`]) and returns the last read, which may hold fewer lines on timeout (let the
/// caller's assertion report it). With `want == 0`, waits [`ZERO_SETTLE`] and reads once.
pub fn wait_lines(
    ns: &Netns,
    source: ExpectSource,
    want: usize,
) -> Result<Vec<String>, CommandError> {
    if want == 0 {
        sleep(ZERO_SETTLE);
        return lines(ns, source);
    }
    let deadline = Instant::now() + POLL_TIMEOUT;
    loop {
        let got = lines(ns, source)?;
        if got.len() >= want || Instant::now() >= deadline {
            return Ok(got);
        }
        sleep(POLL_INTERVAL);
    }
}

/// Both views, read one after the other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectSnapshot {
    /// `/proc/net/nf_conntrack_expect` lines.
    pub proc: Vec<String>,
    /// `conntrack -L expect` stdout lines.
    pub conntrack: Vec<String>,
}

/// Waits (as [`wait_lines`]) for `want` lines in `/proc/net/nf_conntrack_expect`, then also
/// reads `conntrack -L expect`.
pub fn snapshot(ns: &Netns, want: usize) -> Result<ExpectSnapshot, CommandError> {
    let proc = wait_lines(ns, ExpectSource::Proc, want)?;
    let conntrack = conntrack_lines(ns)?;
    Ok(ExpectSnapshot { proc, conntrack })
}

/// `conntrack -F expect` inside `ns`: removes all expectations (both families).
pub fn flush_expectations(ns: &Netns) -> Result<(), CommandError> {
    ns.run("conntrack", &["-F", "expect"]).map(drop)
}

/// `conntrack -F -f ipv4` and `conntrack -F -f ipv6` inside `ns`: removes all conntrack
/// entries (and with them their expectations). A still-open connection shows up again at its
/// next packet (mid-stream pickup, helper re-attached by the CT rule).
pub fn flush_conntrack(ns: &Netns) -> Result<(), CommandError> {
    for family in [Family::V4, Family::V6] {
        ns.run("conntrack", &["-F", "-f", conntrack_family(family)])?;
    }
    Ok(())
}

/// Raw stdout lines of `conntrack -L -f ipv4` then `-f ipv6` (the conntrack table) inside
/// `ns`, for diagnostics.
pub fn conntrack_table(ns: &Netns) -> Result<Vec<String>, CommandError> {
    let mut lines = Vec::new();
    for family in [Family::V4, Family::V6] {
        let out = ns.run("conntrack", &["-L", "-f", conntrack_family(family)])?;
        lines.extend(non_empty_lines(&out));
    }
    Ok(lines)
}
