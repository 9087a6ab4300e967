//! netfilter-helpers-host: reads a Linux host for the audit, at the edge.
//!
//! The core's audit ([`netfilter_helpers_core::audit`]) reads nothing: it judges a
//! [`HostSnapshot`] and a [`Ruleset`]. This crate builds both, once, for every front end
//! (`nfh audit`, the C API's `nfh_audit_host`, Python's `HostSnapshot.read` and `audit_host`):
//!
//! * files under a root (`/`, or a fixture tree that copies a host's `proc/` and `sys/`) are
//!   read by [`read_under`], which is hardened: no symlink leads out of the root, only
//!   regular files are opened (FIFOs, devices and sockets are refused before opening, and
//!   the open itself is `O_NONBLOCK`, so a FIFO swapped in never blocks), and every file has a
//!   size limit ([`HostOptions::max_file_bytes`], [`DEFAULT_MAX_FILE_BYTES`] by default);
//! * interfaces come from `ip -j addr show` on a live host, or `ip-addr.json` at the top of
//!   the root, plus every directory of `proc/sys/net/ipv4/conf` (not `all`, not `default`),
//!   each with its `rp_filter`;
//! * rulesets come from the texts the caller gives ([`HostOptions::ruleset_texts`]), or, on a
//!   live host, from `nft -j list ruleset`, `iptables-save`, `ip6tables-save` (and the
//!   legacy variants when legacy tables exist), or from `nft-ruleset.json`,
//!   `iptables-save.txt` and `ip6tables-save.txt` at the top of the root;
//! * on a live host the expectation table is dumped over ctnetlink ([`live_expectations`]),
//!   which gives each expectation's master, class and helper; without `CAP_NET_ADMIN` the
//!   `/proc` table stays and the snapshot says why.
//!
//! What could not be read goes into [`HostSnapshot::unreadable`], where the audit turns it
//! into findings; only input that makes the audit meaningless (a root that is not a
//! directory, an `ip-addr.json` or ruleset document that is not what it claims to be) is a
//! [`HostError`].
//!
//! ```
//! use netfilter_helpers_host::{read_host, HostOptions};
//! let dir = std::env::temp_dir().join(format!("nfh-host-doc-{}", std::process::id()));
//! std::fs::create_dir_all(dir.join("proc/sys/kernel")).unwrap();
//! std::fs::write(dir.join("proc/sys/kernel/osrelease"), "6.12.0\n").unwrap();
//! std::fs::write(dir.join("iptables-save.txt"),
//!     "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate RELATED -j ACCEPT\nCOMMIT\n").unwrap();
//! let read = read_host(&HostOptions::under(&dir)).unwrap();
//! assert_eq!(read.snapshot.kernel_release.as_deref(), Some("6.12.0"));
//! assert_eq!(read.ruleset.unwrap().rule_count(), 1);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use netfilter_helpers_core::audit::{
    HostSnapshot, Interface, ReadOutcome, interfaces_from_ip_json, rp_filter_path,
};
use netfilter_helpers_core::ctnetlink::ExpectMessage;
use netfilter_helpers_core::parse::ParsedLine;
use netfilter_helpers_core::ruleset::{Ruleset, escape, iptables_save, nft_json};
use netfilter_helpers_netlink::Requests;

/// The default size limit of a file read under the root or of a command's output: 256 MiB
/// (a 100 k-rule ruleset in nft JSON is about 60 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;

/// The fixture file at the top of a root that holds `nft -j list ruleset` output.
pub const NFT_RULESET_FILE: &str = "nft-ruleset.json";
/// The fixture file at the top of a root that holds `iptables-save` output.
pub const IPTABLES_SAVE_FILE: &str = "iptables-save.txt";
/// The fixture file at the top of a root that holds `ip6tables-save` output.
pub const IP6TABLES_SAVE_FILE: &str = "ip6tables-save.txt";
/// The fixture file at the top of a root that holds `ip -j addr show` output.
pub const IP_ADDR_FILE: &str = "ip-addr.json";

/// What to read, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostOptions {
    /// The root the host's files are read under: `/`, or a fixture tree.
    pub root: PathBuf,
    /// Whether this is the live host: run `nft`, `iptables-save`, `ip6tables-save` and `ip`,
    /// and dump the expectation table over ctnetlink, instead of reading the fixture files
    /// at the top of the root.
    pub live: bool,
    /// Whether to read rulesets (and, on a live host, run `ip` for the interfaces'
    /// addresses). Without rulesets [`HostRead::ruleset`] is `None`.
    pub read_rulesets: bool,
    /// Ruleset texts the caller read itself, each with a name for messages (a file name):
    /// `nft -j list ruleset` output (it starts with `{`) or `iptables-save` text. When not
    /// empty they are the rulesets audited, instead of the live host's or the root's.
    pub ruleset_texts: Vec<(String, String)>,
    /// The size limit of every file read under the root and of every command's output.
    pub max_file_bytes: u64,
}

impl HostOptions {
    /// The live host: root `/`, commands run, rulesets read.
    ///
    /// ```
    /// let o = netfilter_helpers_host::HostOptions::live();
    /// assert!(o.live && o.read_rulesets && o.root == std::path::Path::new("/"));
    /// ```
    pub fn live() -> HostOptions {
        HostOptions {
            root: PathBuf::from("/"),
            live: true,
            read_rulesets: true,
            ruleset_texts: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// A fixture tree (or a copy of a host) at `root`: files only, no command is run;
    /// rulesets are read from the fixture files at its top.
    ///
    /// ```
    /// let o = netfilter_helpers_host::HostOptions::under("/srv/host-copy");
    /// assert!(!o.live && o.read_rulesets);
    /// assert_eq!(o.max_file_bytes, netfilter_helpers_host::DEFAULT_MAX_FILE_BYTES);
    /// ```
    pub fn under(root: impl Into<PathBuf>) -> HostOptions {
        HostOptions {
            root: root.into(),
            live: false,
            ..HostOptions::live()
        }
    }
}

/// What was read from a host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostRead {
    /// Options, kernel, expectation table, interfaces; what could not be read is in its
    /// `unreadable` list (the audit reports each).
    pub snapshot: HostSnapshot,
    /// The rulesets, combined (`Ruleset::combine`), when asked for and when there were any
    /// (a fixture tree without ruleset files has none).
    pub ruleset: Option<Ruleset>,
}

/// Why a host could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The root is not a directory (or does not exist).
    #[error("{root}: not a directory")]
    NotADirectory {
        /// The root, control characters escaped.
        root: String,
    },
    /// A document is not what it must be (an `ip-addr.json` that is not `ip -j addr`
    /// output, a ruleset text starting with `{` that is not nft JSON).
    #[error("{name}: {message}")]
    BadDocument {
        /// Which document (a path, a name the caller gave), control characters escaped.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads a host: the snapshot under [`HostOptions::root`] (live additions when
/// [`HostOptions::live`]), its interfaces and, when asked, its rulesets.
///
/// # Errors
/// [`HostError::NotADirectory`] when the root is not a directory; [`HostError::BadDocument`]
/// when `ip-addr.json` under a fixture root is not `ip -j addr show` output, or a ruleset
/// text of the root or of [`HostOptions::ruleset_texts`] starts with `{` but is not nft JSON.
/// Everything else that cannot be read is listed in the snapshot's `unreadable`.
pub fn read_host(options: &HostOptions) -> Result<HostRead, HostError> {
    let root = options.root.as_path();
    let limit = options.max_file_bytes;
    if !root.is_dir() {
        return Err(HostError::NotADirectory {
            root: escape(&root.display().to_string()),
        });
    }
    let mut snap = HostSnapshot::collect_from(|p| read_under(root, p, limit));
    if options.live {
        // The expectation table from ctnetlink when it can: it carries the master, the class
        // and the helper, which /proc leaves out.
        match live_expectations(None) {
            Ok(lines) => {
                let mut text = String::new();
                for l in &lines {
                    text.push_str(&l.expectation.to_conntrack_line(l.timeout));
                    text.push('\n');
                }
                snap.expectations = Some(text.into_bytes());
            }
            Err(e) => snap.unreadable.push((
                "ctnetlink expectation dump (read /proc/net/nf_conntrack_expect instead)".into(),
                e,
            )),
        }
    }
    snap.interfaces = interfaces(options, &mut snap.unreadable)?;
    let ruleset = if !options.read_rulesets {
        None
    } else {
        let sources = if !options.ruleset_texts.is_empty() {
            let mut s = Sources::default();
            for (name, text) in &options.ruleset_texts {
                s.add_text(name, text)?;
            }
            Some(s)
        } else if options.live {
            Some(live_sources(limit))
        } else {
            root_sources(root, limit)?
        };
        sources.map(|mut s| {
            snap.unreadable.append(&mut s.problems);
            Ruleset::combine(s.nft, s.iptables)
        })
    };
    Ok(HostRead {
        snapshot: snap,
        ruleset,
    })
}

/// Reads `rel` under `root`, hardened: a path that leads (through a symlink or `..`) out of
/// the root is refused, only regular files are read (FIFOs, devices, sockets and
/// directories are refused without being opened for reading, and the open is `O_NONBLOCK`
/// in case the path is swapped meanwhile), and a file larger than `limit` bytes is refused.
/// Messages escape control characters of the paths they name.
///
/// ```
/// use netfilter_helpers_core::audit::ReadOutcome;
/// use netfilter_helpers_host::read_under;
/// let dir = std::env::temp_dir().join(format!("nfh-read-under-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("f"), "12345").unwrap();
/// std::os::unix::fs::symlink("/etc/hostname", dir.join("out")).unwrap();
/// assert_eq!(read_under(&dir, "f", 5), ReadOutcome::Bytes(b"12345".to_vec()));
/// assert!(matches!(read_under(&dir, "f", 4), ReadOutcome::Failed(e) if e.contains("larger than 4 bytes")));
/// assert!(matches!(read_under(&dir, "out", 99), ReadOutcome::Failed(e) if e.contains("out of the root")));
/// assert_eq!(read_under(&dir, "missing", 99), ReadOutcome::Missing);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_under(root: &Path, rel: &str, limit: u64) -> ReadOutcome {
    let path = root.join(rel);
    let real = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReadOutcome::Missing,
        Err(e) => return ReadOutcome::Failed(e.to_string()),
    };
    let root_real = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if !real.starts_with(&root_real) {
        return ReadOutcome::Failed(format!(
            "a symlink leads out of the root (to {}): refused",
            escape(&real.display().to_string())
        ));
    }
    read_regular(&real, limit)
}

fn read_regular(path: &Path, limit: u64) -> ReadOutcome {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return ReadOutcome::Failed(
                "not a regular file (a FIFO, device, socket or directory): refused".into(),
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReadOutcome::Missing,
        Err(e) => return ReadOutcome::Failed(e.to_string()),
        Ok(_) => {}
    }
    // O_NONBLOCK: a read-only open of a FIFO without a writer returns at once instead of
    // waiting for one (fs/pipe.c, fifo_open: `case FMODE_READ` waits in wait_for_partner only
    // without O_NONBLOCK); on a regular file the flag changes nothing.
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReadOutcome::Missing,
        Err(e) => return ReadOutcome::Failed(e.to_string()),
    };
    // Checked again on the open file: the path may have been swapped.
    match f.metadata() {
        Ok(m) if m.is_file() => {}
        _ => return ReadOutcome::Failed("not a regular file: refused".into()),
    }
    let mut bytes = Vec::new();
    if let Err(e) = f.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
        return ReadOutcome::Failed(e.to_string());
    }
    if bytes.len() as u64 > limit {
        return ReadOutcome::Failed(format!("larger than {limit} bytes: refused"));
    }
    ReadOutcome::Bytes(bytes)
}

/// The expectations of the network namespace at `netns` (none: this process's) as the kernel
/// holds them now, read over ctnetlink (with master, class, helper, zone and remaining
/// seconds), or why they cannot be read (no `CAP_NET_ADMIN`, no ctnetlink, a message that
/// does not decode).
///
/// # Errors
/// The reason, as text, when the dump cannot be made or one of its messages does not decode.
pub fn live_expectations(netns: Option<&Path>) -> Result<Vec<ParsedLine>, String> {
    let (messages, _) = live_messages(netns)?;
    Ok(messages.into_iter().map(|m| m.line).collect())
}

/// The expectation messages of one ctnetlink dump (in the network namespace `netns`, the
/// current one for `None`), and the request socket that read them (to delete some after).
///
/// # Errors
/// The reason, as text, when the dump cannot be made or one of its messages does not decode.
pub fn live_messages(netns: Option<&Path>) -> Result<(Vec<ExpectMessage>, Requests), String> {
    let mut requests = Requests::open(netns).map_err(|e| e.to_string())?;
    let dump = requests.dump().map_err(|e| e.to_string())?;
    if let Some(p) = dump.problems.first() {
        return Err(format!(
            "{} malformed message(s) in the dump, the first: {p}",
            dump.problems.len()
        ));
    }
    Ok((dump.expectations, requests))
}

/// Interfaces: addresses from `ip` (live, with rulesets) or `ip-addr.json`; names also from
/// `proc/sys/net/ipv4/conf`; each with its rp_filter read under the root.
fn interfaces(
    options: &HostOptions,
    unreadable: &mut Vec<(String, String)>,
) -> Result<Vec<Interface>, HostError> {
    let root = options.root.as_path();
    let limit = options.max_file_bytes;
    let mut interfaces = if options.live && options.read_rulesets && exists("ip") {
        match run_cmd("ip", &["-j", "addr", "show"], limit)
            .and_then(|t| interfaces_from_ip_json(&t))
        {
            Ok(i) => i,
            Err(e) => {
                unreadable.push(("ip -j addr show".into(), e));
                Vec::new()
            }
        }
    } else {
        match read_under(root, IP_ADDR_FILE, limit) {
            ReadOutcome::Bytes(b) => interfaces_from_ip_json(&String::from_utf8_lossy(&b))
                .map_err(|message| HostError::BadDocument {
                    name: escape(&root.join(IP_ADDR_FILE).display().to_string()),
                    message,
                })?,
            ReadOutcome::Missing => Vec::new(),
            ReadOutcome::Failed(e) => {
                unreadable.push((IP_ADDR_FILE.into(), e));
                Vec::new()
            }
        }
    };
    for name in conf_interfaces(root) {
        if !interfaces.iter().any(|i| i.name == name) {
            interfaces.push(Interface {
                name,
                ..Interface::default()
            });
        }
    }
    for i in &mut interfaces {
        if let ReadOutcome::Bytes(b) = read_under(root, &rp_filter_path(&i.name), limit) {
            i.rp_filter = Some(String::from_utf8_lossy(&b).trim().to_string());
        }
    }
    Ok(interfaces)
}

/// Interface names under `proc/sys/net/ipv4/conf` of the root (none when a symlink leads
/// the directory out of the root).
fn conf_interfaces(root: &Path) -> Vec<String> {
    let dir = root.join("proc/sys/net/ipv4/conf");
    let inside = match (dir.canonicalize(), root.canonicalize()) {
        (Ok(d), Ok(r)) => d.starts_with(r),
        _ => false,
    };
    if !inside {
        return Vec::new();
    }
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n != "all" && n != "default" && !n.contains('/'))
        .collect();
    v.sort();
    v
}

/// Runs a command, its standard output as text when it succeeds.
fn run_cmd(prog: &str, args: &[&str], limit: u64) -> Result<String, String> {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{prog} {} failed ({}): {}",
            args.join(" "),
            out.status,
            escape(String::from_utf8_lossy(&out.stderr).trim())
        ));
    }
    if out.stdout.len() as u64 > limit {
        return Err(format!("{prog}: output larger than {limit} bytes"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `prog` is on the `PATH` or in `/usr/sbin`, `/sbin`.
fn exists(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
        || ["/usr/sbin", "/sbin"]
            .iter()
            .any(|d| Path::new(d).join(prog).is_file())
}

/// The rulesets read, and what could not be.
#[derive(Default)]
struct Sources {
    nft: Option<Ruleset>,
    iptables: Vec<Ruleset>,
    problems: Vec<(String, String)>,
}

impl Sources {
    /// Adds a text: nft JSON when it starts with `{`, else `iptables-save` text.
    fn add_text(&mut self, name: &str, text: &str) -> Result<(), HostError> {
        if text.trim_start().starts_with('{') {
            let rs = nft_json::read(text).map_err(|e| HostError::BadDocument {
                name: escape(name),
                message: e.to_string(),
            })?;
            match &mut self.nft {
                Some(n) => {
                    n.chains.extend(rs.chains);
                    n.helper_objects.extend(rs.helper_objects);
                    n.notes.extend(rs.notes);
                }
                None => self.nft = Some(rs),
            }
        } else {
            self.iptables.push(iptables_save::read(text, None));
        }
        Ok(())
    }
}

fn live_sources(limit: u64) -> Sources {
    let mut s = Sources::default();
    const NFT: &str = "nft -j list ruleset";
    if exists("nft") {
        match run_cmd("nft", &["-j", "list", "ruleset"], limit) {
            Ok(t) if t.trim().is_empty() => {}
            Ok(t) => {
                if let Err(e) = s.add_text(NFT, &t) {
                    s.problems.push((NFT.into(), e.to_string()));
                }
            }
            Err(e) => s.problems.push((NFT.into(), e)),
        }
    }
    let legacy_tables = |f: &str| {
        std::fs::read_to_string(f)
            .map(|t| !t.trim().is_empty())
            .unwrap_or(false)
    };
    let mut cmds = vec![("iptables-save", "ip"), ("ip6tables-save", "ip6")];
    if legacy_tables("/proc/net/ip_tables_names") {
        cmds.push(("iptables-legacy-save", "ip"));
    }
    if legacy_tables("/proc/net/ip6_tables_names") {
        cmds.push(("ip6tables-legacy-save", "ip6"));
    }
    for (cmd, fam) in cmds {
        if !exists(cmd) {
            continue;
        }
        match run_cmd(cmd, &[], limit) {
            Ok(t) => {
                let rs = iptables_save::read(&t, Some(fam));
                // iptables-legacy-save run through the default (nft) variant prints the
                // same tables twice otherwise.
                if !rs.chains.is_empty() {
                    s.iptables.push(rs);
                }
            }
            Err(e) => s.problems.push((cmd.to_string(), e)),
        }
    }
    s
}

/// Rulesets saved in a fixture tree; `None` when the tree holds none.
fn root_sources(root: &Path, limit: u64) -> Result<Option<Sources>, HostError> {
    let mut s = Sources::default();
    for (file, fam) in [
        (NFT_RULESET_FILE, None),
        (IPTABLES_SAVE_FILE, Some("ip")),
        (IP6TABLES_SAVE_FILE, Some("ip6")),
    ] {
        match read_under(root, file, limit) {
            ReadOutcome::Missing => {}
            ReadOutcome::Failed(e) => s.problems.push((file.to_string(), e)),
            ReadOutcome::Bytes(b) => {
                let t = String::from_utf8_lossy(&b);
                match fam {
                    None => s.add_text(file, &t)?,
                    Some(f) => s.iptables.push(iptables_save::read(&t, Some(f))),
                }
            }
        }
    }
    let empty = s.nft.is_none() && s.iptables.is_empty() && s.problems.is_empty();
    Ok(if empty { None } else { Some(s) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A fresh fixture directory, removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Tree {
            let d = std::env::temp_dir().join(format!("nfh-host-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Tree(d)
        }
        fn put(&self, rel: &str, content: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        fn fifo(&self, rel: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            assert!(Command::new("mkfifo").arg(&p).status().unwrap().success());
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn why(snap: &HostSnapshot, path: &str) -> String {
        snap.unreadable
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| panic!("{path} not unreadable: {:?}", snap.unreadable))
    }

    #[test]
    fn fifos_symlinks_and_large_files_are_refused_without_blocking() {
        let t = Tree::new("hardened");
        t.put("proc/sys/kernel/osrelease", "6.12.0\n");
        t.fifo("sys/module/nf_conntrack_ftp/parameters/loose");
        t.fifo(IPTABLES_SAVE_FILE);
        std::fs::create_dir_all(t.0.join("proc/net")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", t.0.join("proc/net/nf_conntrack_expect"))
            .unwrap();
        t.put(
            "sys/module/nf_conntrack_sip/parameters/sip_direct_media",
            &"0".repeat(100),
        );
        let mut o = HostOptions::under(&t.0);
        o.max_file_bytes = 99;
        let start = Instant::now();
        let r = read_host(&o).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "a FIFO blocked the reader"
        );
        let s = &r.snapshot;
        assert_eq!(s.kernel_release.as_deref(), Some("6.12.0"));
        assert!(
            why(s, "sys/module/nf_conntrack_ftp/parameters/loose").contains("not a regular file")
        );
        assert!(why(s, "proc/net/nf_conntrack_expect").contains("a symlink leads out of the root"));
        assert!(
            why(s, "sys/module/nf_conntrack_sip/parameters/sip_direct_media")
                .contains("larger than 99 bytes")
        );
        assert!(why(s, IPTABLES_SAVE_FILE).contains("not a regular file"));
        // The FIFO was the only ruleset file: a ruleset with nothing in it, and the problem.
        assert_eq!(r.ruleset.map(|r| r.rule_count()), Some(0));
    }

    #[test]
    fn interfaces_from_the_fixture_and_conf() {
        let t = Tree::new("ifaces");
        t.put(
            IP_ADDR_FILE,
            r#"[{"ifname": "eth0", "addr_info": [{"local": "192.0.2.1", "prefixlen": 24}]}]"#,
        );
        t.put("proc/sys/net/ipv4/conf/eth0/rp_filter", "1\n");
        t.put("proc/sys/net/ipv4/conf/eth1/rp_filter", "0\n");
        t.put("proc/sys/net/ipv4/conf/all/rp_filter", "2\n");
        t.put("proc/sys/net/ipv4/conf/default/rp_filter", "2\n");
        let mut o = HostOptions::under(&t.0);
        o.read_rulesets = false;
        let r = read_host(&o).unwrap();
        assert_eq!(r.ruleset, None);
        let got: Vec<(&str, Vec<&str>, Option<&str>)> = r
            .snapshot
            .interfaces
            .iter()
            .map(|i| {
                (
                    i.name.as_str(),
                    i.addresses.iter().map(String::as_str).collect(),
                    i.rp_filter.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("eth0", vec!["192.0.2.1/24"], Some("1")),
                ("eth1", vec![], Some("0"))
            ]
        );
        assert_eq!(r.snapshot.rp_filter_all.as_deref(), Some("2"));
    }

    #[test]
    fn a_conf_directory_out_of_the_root_is_not_listed() {
        let t = Tree::new("conf-out");
        let outside = Tree::new("conf-outside");
        outside.put("eth9/rp_filter", "0\n");
        std::fs::create_dir_all(t.0.join("proc/sys/net/ipv4")).unwrap();
        std::os::unix::fs::symlink(&outside.0, t.0.join("proc/sys/net/ipv4/conf")).unwrap();
        assert_eq!(conf_interfaces(&t.0), Vec::<String>::new());
    }

    #[test]
    fn bad_documents_and_roots_are_errors() {
        let t = Tree::new("bad");
        t.put(IP_ADDR_FILE, "not json");
        let e = read_host(&HostOptions::under(&t.0)).unwrap_err();
        assert!(
            matches!(&e, HostError::BadDocument { name, .. } if name.ends_with("ip-addr.json")),
            "{e}"
        );
        std::fs::remove_file(t.0.join(IP_ADDR_FILE)).unwrap();
        t.put(NFT_RULESET_FILE, "{ not json");
        let e = read_host(&HostOptions::under(&t.0)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("nft-ruleset.json: not an `nft -j list ruleset` document"),
            "{e}"
        );
        let e = read_host(&HostOptions::under(t.0.join("missing\x1b"))).unwrap_err();
        assert!(
            e.to_string().ends_with("missing\\x1b: not a directory"),
            "{e}"
        );
    }

    #[test]
    fn texts_given_replace_the_root_rulesets() {
        let t = Tree::new("texts");
        t.put(
            IPTABLES_SAVE_FILE,
            "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j ACCEPT\n-A FORWARD -j ACCEPT\nCOMMIT\n",
        );
        assert_eq!(
            read_host(&HostOptions::under(&t.0))
                .unwrap()
                .ruleset
                .unwrap()
                .rule_count(),
            2
        );
        let mut o = HostOptions::under(&t.0);
        o.ruleset_texts = vec![(
            "given".into(),
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n".into(),
        )];
        assert_eq!(read_host(&o).unwrap().ruleset.unwrap().rule_count(), 1);
        o.ruleset_texts = vec![("given\x07".into(), "{ nope".into())];
        let e = read_host(&o).unwrap_err();
        assert!(e.to_string().starts_with("given\\x07: not an `nft"), "{e}");
        // A tree without ruleset files has no ruleset.
        let empty = Tree::new("texts-empty");
        assert_eq!(
            read_host(&HostOptions::under(&empty.0)).unwrap().ruleset,
            None
        );
    }
}
