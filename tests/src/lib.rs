//! Kernel lab toolkit for netfilter-helpers: network namespaces, module parameter guards and
//! protocol players that make the running kernel create conntrack expectations.
//!
//! The lab needs root, `ip netns`, `iptables`/`ip6tables` with the `CT` target, `conntrack`
//! (conntrack-tools) and `python3`. Since Linux 6.0 helpers are never attached automatically,
//! so every scenario assigns its helper explicitly with a `raw` table `CT --helper` rule in the
//! router namespace ([`netns::Lab::assign_helper`]).
//!
//! Modules:
//!
//! * [`netns`]: RAII [`netns::Netns`] and the client — router — server (+ third party)
//!   [`netns::Lab`];
//! * [`sysparam`]: [`sysparam::ParamGuard`] for `/sys/module/*/parameters/*` and
//!   [`sysparam::lab_lock`];
//! * [`players`]: running `tests/lab/players.py` roles inside namespaces;
//! * [`scenarios`]: one function per protocol exchange, returning the master tuple;
//! * [`expect`]: raw lines of `/proc/net/nf_conntrack_expect` and `conntrack -L expect`;
//! * [`sitelab`]: a router with `wan0`/`lan0`/`dmz0` (internet, LAN, DMZ) and the site
//!   description ([`sitelab::SITE_TOML`]) rule synthesis turns into rules for it;
//! * [`firewall`]: loading rendered rules (`iptables-legacy-restore`, `iptables-nft-restore`,
//!   command scripts, `nft -f`, `nft -j -f`), dry runs, the lab's policy around them, dumps;
//! * [`probes`]: UDP probes from forged sources, TCP data connections and FTP control
//!   connections through the router;
//! * [`rulelab`]: the rule-set scenarios: a [`rulelab::Rig`] (site lab + loaded rules + lab
//!   policy), the anti-spoofing matrix and the FTP cases;
//! * [`fidelity`] and [`h323per`]: scripted binary exchanges (PPTP, H.323 RAS/Q.931/H.245
//!   encoded with a minimal PER encoder, broadcast queries) for the fidelity lab, and
//!   [`modelcheck`]: the kernel table against the model, line for line; [`sipmsg`]: SIP
//!   messages (INVITE with audio/video/image SDP, REGISTER, 200 OK) for it; [`coverage`]:
//!   which model rows the lab observes live and where (README's generated table);
//! * [`deploylab`]: nfh's rules next to a real site firewall (default-deny policies, NAT,
//!   full-width connection marks): ruleset snapshots and comparisons, FTP through DNAT and
//!   masquerade, SIP media with an RTP farm, TFTP from the firewall itself;
//! * [`watchlab`]: live expectations judged and deleted over ctnetlink (`nfh watch
//!   --enforce` and the library's watcher) while FTP sessions run through a router.
//!
//! A lab test looks like:
//!
//! ```no_run
//! use netfilter_helpers_tests::netns::{Family, L4, Lab};
//! use netfilter_helpers_tests::{expect, require_lab, scenarios};
//!
//! fn ftp_port() {
//!     let _lock = require_lab!(); // returns early (or panics when CI=true) without a lab
//!     let lab = Lab::new().expect("lab");
//!     lab.assign_helper(Family::V4, L4::Tcp, 21, "ftp").expect("CT rule");
//!     let cmd = scenarios::FtpCommand::Port {
//!         addr: netfilter_helpers_tests::netns::addr::CLIENT_V4,
//!         port: 50000,
//!     };
//!     let exchange = scenarios::ftp(&lab, Family::V4, 21, &cmd).expect("exchange");
//!     let lines = expect::wait_lines(&lab.router, expect::ExpectSource::Proc, 1).unwrap();
//!     assert!(lines[0].contains("dport=50000"));
//!     drop(exchange);
//! }
//! ```

pub mod coverage;
pub mod deploylab;
pub mod expect;
pub mod fidelity;
pub mod firewall;
pub mod h323per;
pub mod modelcheck;
pub mod netns;
pub mod players;
pub mod probes;
pub mod rulelab;
pub mod scenarios;
pub mod sipmsg;
pub mod sitelab;
pub mod spooflab;
pub mod sysparam;
pub mod watchlab;

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use crate::netns::host_exec;

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn probe_lab() -> Result<(), String> {
    match effective_uid() {
        Some(0) => {}
        Some(uid) => return Err(format!("not root (effective uid {uid})")),
        None => return Err("cannot read the effective uid from /proc/self/status".to_owned()),
    }
    for (program, arg) in [
        ("ip", "-V"),
        ("iptables", "--version"),
        ("ip6tables", "--version"),
        ("conntrack", "--version"),
        ("sysctl", "--version"),
        (players::PYTHON, "--version"),
    ] {
        match host_exec(program, &[arg]) {
            Ok(out) if out.success() => {}
            Ok(out) => return Err(format!("`{program} {arg}` failed: {}", out.stderr.trim())),
            Err(err) => return Err(format!("`{program}` is not usable: {}", err.stderr.trim())),
        }
    }
    if !Path::new(players::PLAYERS_PY).is_file() {
        return Err(format!("{} is missing", players::PLAYERS_PY));
    }
    for name in netns::reap_stale_namespaces() {
        eprintln!("netfilter-helpers-tests: deleted stale namespace {name}");
    }
    // A throw-away namespace with a CT helper rule per family proves netns + iptables CT +
    // helper lookup work.
    let ns = netns::Netns::new("probe").map_err(|e| format!("cannot create a netns: {e}"))?;
    for family in [netns::Family::V4, netns::Family::V6] {
        netns::assign_helper_in(&ns, "PREROUTING", family, netns::L4::Tcp, 21, "ftp")
            .map_err(|e| format!("cannot add a CT --helper rule: {e}"))?;
    }
    ns.run("conntrack", &["-L", "expect"])
        .map_err(|e| format!("conntrack -L expect fails in a netns: {e}"))?;
    Ok(())
}

/// Whether the kernel lab can run here: root, `ip netns add` works, iptables/ip6tables accept
/// a `CT --helper ftp` rule in a namespace, conntrack-tools and python3 are present. The probe
/// runs once per process; the result is cached.
pub fn lab_available() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let _lock = sysparam::lab_lock();
            probe_lab()
        })
        .clone()
}

/// Prints the `KERNEL LAB NOT RUN: <reason>` banner to stderr (uncaptured, so it shows even
/// without `--nocapture`) and panics if the environment
/// variable `CI` is `true` (in CI a missing lab is a failure, not a skip).
pub fn report_lab_unavailable(reason: &str) {
    let line = "=".repeat(78);
    // Written to the stderr handle directly, not with `eprintln!`: libtest captures the print
    // macros of passing tests, and this banner must be seen even when the test "passes".
    let _ = writeln!(
        std::io::stderr().lock(),
        "{line}\nKERNEL LAB NOT RUN: {reason}\n{line}"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("KERNEL LAB NOT RUN (CI=true makes this a failure): {reason}");
    }
}

/// If the lab is available, takes and returns the [`sysparam::lab_lock`] guard; otherwise
/// reports (see [`report_lab_unavailable`]) and returns `None`. Used by [`require_lab!`].
pub fn lab_guard() -> Option<sysparam::LabLock> {
    match lab_available() {
        Ok(()) => Some(sysparam::lab_lock()),
        Err(reason) => {
            report_lab_unavailable(&reason);
            None
        }
    }
}

/// Evaluates to the lab lock guard when the kernel lab is available; otherwise prints the
/// `KERNEL LAB NOT RUN` banner and `return`s from the enclosing test (or panics if `CI=true`).
///
/// Keep the guard alive for the whole test: `let _lock = require_lab!();` (not `let _ = …`,
/// which would release it immediately).
#[macro_export]
macro_rules! require_lab {
    () => {
        match $crate::lab_guard() {
            ::core::option::Option::Some(guard) => guard,
            ::core::option::Option::None => return,
        }
    };
}

/// The README, whose Rust example (section "Use it") runs as a doctest of this crate:
/// `cargo test -p netfilter-helpers-tests --doc`. Its other code blocks (`sh`, `toml`, `c`,
/// `python`) are not Rust and are checked elsewhere (`tests/readme.rs`, the C and Python test
/// suites).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;
