//! The deployment lab (issue 9, item 7): nfh's rules next to a real site firewall.
//!
//! A [`DeployLab`] is a [`SiteLab`] whose router carries the site's **own** firewall, written
//! with the tools of the loader under test ([`site_restore`] for the iptables flavors,
//! [`site_nft`] for nft):
//!
//! * default-deny filter INPUT and FORWARD (`-P … DROP` / `policy drop`), an
//!   `ESTABLISHED,RELATED` accept (nfh's rules never accept, so the site accepts RELATED
//!   itself), IPv6 ICMP to the router (neighbour discovery), an SSH accept (tcp/22 to the
//!   router), a raw `notrack` rule (udp/5353);
//! * `NEW` accepts for the master connections the lab plays: FTP control to the DMZ server
//!   (directly or through its public address) and to the router from the LAN, FTP and SIP
//!   from the LAN to the internet;
//! * a DNAT of the public address [`addr::PUBLIC_V4`] tcp/21 to the DMZ server and a
//!   masquerade of the LAN on `wan0`;
//! * full-width connection marks: LAN packets get mark 1, `ct mark` is restored into the
//!   packet mark in PREROUTING and saved back whole in POSTROUTING (`CONNMARK --save-mark`,
//!   `ct mark set meta mark`), and `ip rule fwmark 0x1 lookup 100` routes marked packets
//!   through table 100 (a copy of the main table, so routing stays the same while every
//!   mark bit is in use).
//!
//! The internet namespace also gets [`addr::ROGUE_V4`] (a host that is neither a client nor
//! the RTP farm) and a route to the public address via the router.
//!
//! [`DEPLOY_SITE_TOML`] describes this site to nfh: the DMZ FTP server published on
//! [`addr::PUBLIC_V4`], an outbound FTP service to [`addr::OUTSIDE_FTP_V4`], SIP phones on
//! the LAN with the proxy [`addr::PROXY_V4`] and the RTP farm [`addr::FARM_V4`]
//! (`sip_direct_media = 0`), an FTP server on the firewall itself for the LAN, and TFTP from
//! the firewall itself; `ftp.loose = 1`, so the kernel does create expectations towards third
//! parties and only nfh's rules can drop them.
//!
//! The parts:
//!
//! * [`DeployLab::snapshot`]: the router's whole ruleset as text (`*-save` without counters,
//!   `nft -s list ruleset`), and [`coexistence_problems`]: the site's part is unchanged, nfh's
//!   jumps are there once each at the top of their chains, nfh's part accepts nothing and
//!   uses no marks;
//! * [`ftp_flows`], [`run_ftp_flow`], [`place_call`], [`run_media`], [`run_tftp`],
//!   [`site_probes`]: traffic through the router, each an [`Outcome`] with the expectation
//!   table of its moment;
//! * [`run`]: the whole scenario for one loader (load, reload, remove, flows, control run),
//!   collected in a [`DeployReport`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::expect;
use crate::firewall::{self, Flavor, LoadError, Loader, run_with_input};
use crate::players::{LabError, Player};
use crate::probes::{self, DataAttempt};
use crate::rulelab::{Rendered, apply_modprobe, expectation_for};
use crate::scenarios::FtpCommand;
use crate::sitelab::{Node, SiteLab};
use crate::sysparam::{ParamGuard, read_param};

/// The deployment lab's addresses (besides [`crate::sitelab::addr`]).
pub mod addr {
    use std::net::Ipv4Addr;

    pub use crate::sitelab::addr::*;

    /// The DMZ FTP server's public address: the router DNATs tcp/21 on it to
    /// [`DMZ_V4`]:21. Not configured anywhere; the internet host routes it via the router.
    pub const PUBLIC_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
    /// The SIP proxy (the internet host).
    pub const PROXY_V4: Ipv4Addr = INET_V4;
    /// The provider's RTP farm (the far internet host).
    pub const FARM_V4: Ipv4Addr = FAR_V4;
    /// The FTP server on the internet that LAN clients use (the far internet host).
    pub const OUTSIDE_FTP_V4: Ipv4Addr = FAR_V4;
    /// A host on the internet (on the inet namespace's `lo`) that is no client of any
    /// service and not the RTP farm: the third party of bounce attempts and the source of
    /// stray media.
    pub const ROGUE_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 66);
}

/// The mark the site puts on LAN packets (and saves, at full width, into the connection).
pub const FWMARK: u32 = 0x1;
/// The routing table of marked packets.
pub const MARK_TABLE: u32 = 100;
/// The UDP port of the site's raw `notrack` rule.
pub const NOTRACK_PORT: u16 = 5353;
/// The FTP control port.
pub const FTP_PORT: u16 = 21;
/// The SIP port.
pub const SIP_PORT: u16 = 5060;
/// The TFTP port.
pub const TFTP_PORT: u16 = 69;
/// The table name of [`DEPLOY_SITE_TOML`] (nft table, iptables chain prefix `nfh-`).
pub const TABLE: &str = "nfh";

/// The site as nfh sees it; see the module docs.
pub const DEPLOY_SITE_TOML: &str = r#"kernel = "6.18"
table = "nfh"

[options]
# The kernel then expects data connections to third parties: only nfh's rules can drop them.
"ftp.loose" = 1
# Media from and to the RTP farm, which is not the signalling peer.
"sip.sip_direct_media" = 0

[[interfaces]]
name = "wan0"
default_route = true
networks = ["198.51.100.1/24", "2001:db8:81::1/64"]

[[interfaces]]
name = "lan0"
networks = ["10.81.1.1/24", "fd81:1::1/64"]
routed = ["10.81.3.0/24", "fd81:3::/64"]

[[interfaces]]
name = "dmz0"
networks = ["10.81.2.1/24", "fd81:2::1/64"]

# The DMZ FTP servers (10.81.2.20 is a second one, not up in the lab: with two servers and
# three clients the iptables output needs sub-chains), for the LAN and one partner on the
# internet, published by DNAT.
[[services]]
name = "ftp-dmz"
helper = "ftp"
direction = "inbound"
servers = ["10.81.2.10", "10.81.2.20", "fd81:2::10"]
public = ["198.51.100.10"]
public_ports = [21]
clients = ["10.81.1.0/24", "10.81.3.0/24", "fd81:1::/64", "fd81:3::/64", "198.51.100.2/32"]

# LAN clients of an FTP server on the internet, masqueraded.
[[services]]
name = "ftp-out"
helper = "ftp"
direction = "outbound"
clients = ["10.81.1.0/24"]
servers = ["192.0.2.10"]

# LAN phones, the provider's SIP proxy, media from and to its RTP farm.
[[services]]
name = "voip"
helper = "sip"
direction = "outbound"
clients = ["10.81.1.0/24"]
servers = ["198.51.100.2"]
related = ["192.0.2.10/32"]

# An FTP server on the firewall itself, for the LAN.
[[services]]
name = "ftp-fw"
helper = "ftp"
direction = "inbound"
servers = ["10.81.1.1"]
clients = ["10.81.1.0/24"]

# The firewall itself fetches boot images from the DMZ.
[[services]]
name = "tftp-boot"
helper = "tftp"
direction = "local"
servers = ["10.81.2.10"]
"#;

/// [`DEPLOY_SITE_TOML`] after a change: the DMZ's second FTP server is gone (so the iptables
/// output has no sub-chains any more) and the outbound FTP service too.
pub fn changed_site_toml() -> String {
    let servers = r#"servers = ["10.81.2.10", "10.81.2.20", "fd81:2::10"]"#;
    let out_service = "# LAN clients of an FTP server on the internet, masqueraded.\n[[services]]\nname = \"ftp-out\"\nhelper = \"ftp\"\ndirection = \"outbound\"\nclients = [\"10.81.1.0/24\"]\nservers = [\"192.0.2.10\"]\n\n";
    assert!(
        DEPLOY_SITE_TOML.contains(servers) && DEPLOY_SITE_TOML.contains(out_service),
        "changed_site_toml is out of step with DEPLOY_SITE_TOML"
    );
    DEPLOY_SITE_TOML
        .replace(servers, r#"servers = ["10.81.2.10", "fd81:2::10"]"#)
        .replace(out_service, "")
}

/// The site's own firewall for one family as an `iptables-restore` file (loaded with plain
/// `iptables-restore`, before nfh's rules, into a fresh namespace); see the module docs.
pub fn site_restore(v6: bool) -> String {
    let mut s = String::new();
    s.push_str("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for chain in ["PREROUTING", "OUTPUT"] {
        s.push_str(&format!(
            "-A {chain} -p udp --dport {NOTRACK_PORT} -m comment --comment site-notrack -j CT --notrack\n"
        ));
    }
    s.push_str("COMMIT\n");
    s.push_str(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
    );
    s.push_str("-A PREROUTING -m comment --comment site-marks -j CONNMARK --restore-mark\n");
    s.push_str(&format!(
        "-A PREROUTING -i lan0 -m mark --mark 0x0 -m comment --comment site-marks -j MARK --set-mark {FWMARK:#x}\n"
    ));
    s.push_str("-A POSTROUTING -m comment --comment site-marks -j CONNMARK --save-mark\n");
    s.push_str("COMMIT\n");
    if !v6 {
        s.push_str(
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
        );
        s.push_str(&format!(
            "-A PREROUTING -i wan0 -d {}/32 -p tcp --dport {FTP_PORT} -m comment --comment site-dnat -j DNAT --to-destination {}:{FTP_PORT}\n",
            addr::PUBLIC_V4,
            addr::DMZ_V4
        ));
        s.push_str(
            "-A POSTROUTING -s 10.81.1.0/24 -o wan0 -m comment --comment site-masquerade -j MASQUERADE\n",
        );
        s.push_str("COMMIT\n");
    }
    s.push_str("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    s.push_str("-A INPUT -i lo -j ACCEPT\n");
    s.push_str("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    if v6 {
        s.push_str("-A INPUT -p ipv6-icmp -j ACCEPT\n");
    }
    s.push_str("-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment site-ssh -j ACCEPT\n");
    if !v6 {
        s.push_str(&format!(
            "-A INPUT -i lan0 -d {}/32 -p tcp --dport {FTP_PORT} -m conntrack --ctstate NEW -j ACCEPT\n",
            addr::ROUTER_LAN_V4
        ));
    }
    s.push_str("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    if v6 {
        s.push_str(&format!(
            "-A FORWARD -d {}/128 -p tcp --dport {FTP_PORT} -m conntrack --ctstate NEW -j ACCEPT\n",
            addr::DMZ_V6
        ));
    } else {
        s.push_str(&format!(
            "-A FORWARD -d {}/32 -p tcp --dport {FTP_PORT} -m conntrack --ctstate NEW -j ACCEPT\n",
            addr::DMZ_V4
        ));
        s.push_str(&format!(
            "-A FORWARD -i lan0 -o wan0 -p tcp --dport {FTP_PORT} -m conntrack --ctstate NEW -j ACCEPT\n"
        ));
        s.push_str(&format!(
            "-A FORWARD -i lan0 -o wan0 -p udp --dport {SIP_PORT} -m conntrack --ctstate NEW -j ACCEPT\n"
        ));
    }
    s.push_str("COMMIT\n");
    s
}

/// The site's own firewall as one nft table, `inet site`; see the module docs.
pub fn site_nft() -> String {
    format!(
        r#"table inet site {{
	chain raw_prerouting {{
		type filter hook prerouting priority raw; policy accept;
		udp dport {NOTRACK_PORT} notrack comment "site-notrack"
	}}
	chain raw_output {{
		type filter hook output priority raw; policy accept;
		udp dport {NOTRACK_PORT} notrack comment "site-notrack"
	}}
	chain mangle_prerouting {{
		type filter hook prerouting priority mangle; policy accept;
		meta mark set ct mark comment "site-marks"
		iifname "lan0" meta mark 0x0 meta mark set {FWMARK:#x} comment "site-marks"
	}}
	chain mangle_postrouting {{
		type filter hook postrouting priority mangle; policy accept;
		ct mark set meta mark comment "site-marks"
	}}
	chain nat_prerouting {{
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan0" ip daddr {public} tcp dport {FTP_PORT} dnat ip to {dmz}:{FTP_PORT} comment "site-dnat"
	}}
	chain nat_postrouting {{
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" ip saddr 10.81.1.0/24 masquerade comment "site-masquerade"
	}}
	chain input {{
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		meta l4proto ipv6-icmp accept
		tcp dport 22 ct state new accept comment "site-ssh"
		iifname "lan0" ip daddr {router_lan} tcp dport {FTP_PORT} ct state new accept
	}}
	chain forward {{
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ip daddr {dmz} tcp dport {FTP_PORT} ct state new accept
		ip6 daddr {dmz6} tcp dport {FTP_PORT} ct state new accept
		iifname "lan0" oifname "wan0" tcp dport {FTP_PORT} ct state new accept
		iifname "lan0" oifname "wan0" udp dport {SIP_PORT} ct state new accept
	}}
	chain output {{
		type filter hook output priority filter; policy accept;
	}}
}}
"#,
        public = addr::PUBLIC_V4,
        router_lan = addr::ROUTER_LAN_V4,
        dmz = addr::DMZ_V4,
        dmz6 = addr::DMZ_V6,
    )
}

/// The `*-save` commands of an iptables flavor (IPv4, IPv6).
fn save_tools(flavor: Flavor) -> [&'static str; 2] {
    match flavor {
        Flavor::Legacy => ["iptables-legacy-save", "ip6tables-legacy-save"],
        Flavor::IptablesNft | Flavor::Nft => ["iptables-nft-save", "ip6tables-nft-save"],
    }
}

/// `iptables-save` text without its comment lines and with the chain counters zeroed
/// (`:INPUT DROP [12:3456]` becomes `:INPUT DROP [0:0]`).
pub fn normalize_save(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with(':')
            && let Some(open) = line.rfind(" [")
            && line.ends_with(']')
        {
            out.push_str(&line[..open]);
            out.push_str(" [0:0]\n");
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A router with the site's own firewall and the lab's extras (see the module docs). The
/// namespaces are deleted and the module parameters restored on drop.
#[derive(Debug)]
pub struct DeployLab {
    /// The namespaces.
    pub lab: SiteLab,
    /// The loader under test; its flavor wrote the site's firewall.
    pub loader: Loader,
    /// `ftp.loose = 1`, `sip.sip_direct_media = 0`, from the rendered `modprobe.d`.
    params: Vec<ParamGuard>,
}

impl DeployLab {
    /// Builds the lab, applies the rendered `modprobe.d` of `rules` (restored on drop) and
    /// checks that `nf_conntrack_ftp loose` and `nf_conntrack_sip sip_direct_media` are in
    /// force, and loads the site's firewall with the tools of `loader`'s flavor. nfh's rules
    /// are not loaded yet ([`DeployLab::install`]).
    pub fn new(loader: Loader, rules: &Rendered) -> Result<DeployLab, String> {
        let params = apply_modprobe(&rules.modprobe)
            .map_err(|e| format!("the rendered modprobe.d does not apply: {e}"))?;
        for (module, param, want) in [
            ("nf_conntrack_ftp", "loose", "Y"),
            ("nf_conntrack_sip", "sip_direct_media", "0"),
        ] {
            let now = read_param(module, param).map_err(|e| e.to_string())?;
            if now != want {
                return Err(format!(
                    "{module} {param} is {now}, the site asks for {want}: the rendered modprobe.d does not set it:\n{}",
                    rules.modprobe
                ));
            }
        }
        let lab = SiteLab::new().map_err(|e| format!("cannot build the router lab: {e}"))?;
        let deploy = DeployLab {
            lab,
            loader,
            params,
        };
        deploy
            .extras()
            .map_err(|e| format!("cannot set up the lab's extras: {e}"))?;
        deploy.load_site()?;
        Ok(deploy)
    }

    /// The module parameters the lab set (restored on drop).
    pub fn params(&self) -> &[ParamGuard] {
        &self.params
    }

    fn extras(&self) -> Result<(), crate::netns::CommandError> {
        let (router, inet) = (&self.lab.router, &self.lab.inet);
        inet.ip(&[
            "route",
            "add",
            &format!("{}/32", addr::PUBLIC_V4),
            "via",
            &addr::ROUTER_WAN_V4.to_string(),
        ])?;
        inet.ip(&[
            "addr",
            "add",
            &format!("{}/32", addr::ROGUE_V4),
            "dev",
            "lo",
        ])?;
        // Table 100: a copy of the main table, for packets with the site's mark.
        let table = MARK_TABLE.to_string();
        let main = router.ip(&["-4", "route", "show", "table", "main"])?;
        for line in main.lines().filter(|l| !l.trim().is_empty()) {
            let mut args: Vec<&str> = vec!["route", "add"];
            args.extend(line.split_whitespace());
            args.extend(["table", &table]);
            router.ip(&args)?;
        }
        router
            .ip(&[
                "rule",
                "add",
                "fwmark",
                &format!("{FWMARK:#x}"),
                "lookup",
                &table,
                "pref",
                "100",
            ])
            .map(drop)
    }

    fn load_site(&self) -> Result<(), String> {
        let router = &self.lab.router;
        let flavor = self.loader.flavor();
        let fail = |text: &str, e: crate::netns::CommandError| {
            format!(
                "the site's own firewall does not load ({}):\n{e}\n--- text ---\n{}",
                self.loader.label(),
                firewall::numbered(text)
            )
        };
        match flavor {
            Flavor::Nft => {
                let text = site_nft();
                run_with_input(router, "nft", &["-f", "-"], &text)
                    .map(drop)
                    .map_err(|e| fail(&text, e))
            }
            Flavor::Legacy | Flavor::IptablesNft => {
                for v6 in [false, true] {
                    let tool = format!("{}-restore", flavor.iptables(v6));
                    let text = site_restore(v6);
                    run_with_input(router, &tool, &["-w"], &text).map_err(|e| fail(&text, e))?;
                }
                Ok(())
            }
        }
    }

    /// The router's whole ruleset as text, for line-by-line comparison: for the iptables
    /// flavors `iptables-save` then `ip6tables-save` of the flavor (comments dropped, chain
    /// counters zeroed, each under a `== tool ==` line); for nft, `nft -s list ruleset`.
    pub fn snapshot(&self) -> Result<String, String> {
        let router = &self.lab.router;
        let flavor = self.loader.flavor();
        match flavor {
            Flavor::Nft => router
                .run("nft", &["-s", "list", "ruleset"])
                .map_err(|e| e.to_string()),
            Flavor::Legacy | Flavor::IptablesNft => {
                let mut out = String::new();
                for tool in save_tools(flavor) {
                    let text = router.run(tool, &[]).map_err(|e| e.to_string())?;
                    out.push_str(&format!("== {tool} ==\n"));
                    out.push_str(&normalize_save(&text));
                }
                Ok(out)
            }
        }
    }

    /// Loads (or reloads) nfh's rules with the loader under test.
    pub fn install(&self, rules: &Rendered) -> Result<(), LoadError> {
        self.loader.load(&self.lab.router, rules.text(self.loader))
    }

    /// Runs the removal output for the loader's flavor (`iptables-remove`, `nft-remove`).
    pub fn remove(&self, rules: &Rendered) -> Result<(), LoadError> {
        self.loader
            .unload(&self.lab.router, rules.removal(self.loader))
    }

    /// Everything useful after a failure: the router's rules with counters, its conntrack
    /// table and expectation table, its `ip rule` list and the helper module parameters now.
    pub fn diagnostics(&self) -> String {
        let router = &self.lab.router;
        let mut out = firewall::dump(router, self.loader.flavor());
        out.push_str("--- conntrack -L (IPv4, IPv6) ---\n");
        match expect::conntrack_table(router) {
            Ok(lines) => lines.iter().for_each(|l| {
                out.push_str(l);
                out.push('\n');
            }),
            Err(e) => out.push_str(&format!("{e}\n")),
        }
        out.push_str("--- conntrack -L expect ---\n");
        match expect::conntrack_lines(router) {
            Ok(lines) => lines.iter().for_each(|l| {
                out.push_str(l);
                out.push('\n');
            }),
            Err(e) => out.push_str(&format!("{e}\n")),
        }
        out.push_str("--- ip rule ---\n");
        match router.ip(&["rule"]) {
            Ok(t) => out.push_str(&t),
            Err(e) => out.push_str(&format!("{e}\n")),
        }
        // Module parameters are global: another process's lab may have changed them.
        out.push_str("--- module parameters now ---\n");
        for (module, param) in [
            ("nf_conntrack_ftp", "loose"),
            ("nf_conntrack_sip", "sip_direct_media"),
        ] {
            let now = read_param(module, param).unwrap_or_else(|e| e.to_string());
            out.push_str(&format!("{module} {param} = {now}\n"));
        }
        out
    }

    /// The router's IPv4 conntrack entries that carry the site's mark (`mark=1`): proof that
    /// the site's full-width mark save was at work while the flows ran.
    pub fn marked_connections(&self) -> Result<Vec<String>, String> {
        let lines = expect::conntrack_table(&self.lab.router).map_err(|e| e.to_string())?;
        let needle = format!("mark={FWMARK}");
        Ok(lines
            .into_iter()
            .filter(|l| l.split_whitespace().any(|w| w == needle))
            .collect())
    }
}

// ------------------------------------------------------------------------------------------
// Ruleset comparison

/// Whether a line of a [`DeployLab::snapshot`] of the iptables flavors belongs to nfh (a
/// chain declaration, a rule of an `nfh-*` chain, or a jump into one).
fn is_nfh_line(line: &str) -> bool {
    line.contains(&format!("{TABLE}-"))
}

/// Splits a [`DeployLab::snapshot`] into the site's part and nfh's part: for the iptables
/// flavors the lines that mention an `nfh-*` chain are nfh's; for nft, the `table inet nfh`
/// block is.
pub fn split(flavor: Flavor, snapshot: &str) -> (String, String) {
    let (mut site, mut nfh) = (String::new(), String::new());
    match flavor {
        Flavor::Nft => {
            let header = format!("table inet {TABLE} {{");
            let mut inside = false;
            for line in snapshot.lines() {
                if line == header {
                    inside = true;
                }
                let dest = if inside { &mut nfh } else { &mut site };
                dest.push_str(line);
                dest.push('\n');
                if inside && line == "}" {
                    inside = false;
                }
            }
        }
        Flavor::Legacy | Flavor::IptablesNft => {
            for line in snapshot.lines() {
                let dest = if is_nfh_line(line) {
                    &mut nfh
                } else {
                    &mut site
                };
                dest.push_str(line);
                dest.push('\n');
            }
        }
    }
    (site, nfh)
}

/// The jumps nfh's hook script must add: (table, built-in chain, a fragment of the rule, the
/// target chain).
pub const IPTABLES_HOOKS: [(&str, &str, &str, &str); 5] = [
    ("raw", "PREROUTING", "", "nfh-prerouting"),
    ("raw", "OUTPUT", "", "nfh-helpers-out"),
    ("filter", "FORWARD", "--ctstate RELATED", "nfh-related-fwd"),
    ("filter", "INPUT", "--ctstate RELATED", "nfh-related-in"),
    ("filter", "OUTPUT", "--ctstate RELATED", "nfh-related-out"),
];

/// The `-A <built-in> …` rules of an iptables snapshot: ((save tool, table, chain), rules in
/// order).
type BuiltinRules = Vec<((String, String, String), Vec<String>)>;

fn builtin_rules(snapshot: &str) -> BuiltinRules {
    let mut out: BuiltinRules = Vec::new();
    let (mut tool, mut table) = (String::new(), String::new());
    for line in snapshot.lines() {
        if let Some(t) = line.strip_prefix("== ") {
            tool = t.trim_end_matches(" ==").to_owned();
        } else if let Some(t) = line.strip_prefix('*') {
            table = t.to_owned();
        } else if let Some(rest) = line.strip_prefix("-A ") {
            let chain = rest.split_whitespace().next().unwrap_or("");
            if chain.chars().all(|c| c.is_ascii_uppercase()) {
                let key = (tool.clone(), table.clone(), chain.to_owned());
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, rules)) => rules.push(line.to_owned()),
                    None => out.push((key, vec![line.to_owned()])),
                }
            }
        }
    }
    out
}

/// What is wrong with a ruleset `after` loading nfh's rules compared with the site's own
/// ruleset `before` (both [`DeployLab::snapshot`]s): the site's part must equal `before`
/// line by line; nfh's part must accept nothing and use no marks; for the iptables flavors
/// each hook must be there exactly once, as the first rule of its built-in chain, and no other
/// built-in chain may jump into nfh's chains; for nft there must be exactly one `table inet
/// nfh`. Empty when all is well.
pub fn coexistence_problems(flavor: Flavor, before: &str, after: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let (before_site, before_nfh) = split(flavor, before);
    if !before_nfh.is_empty() {
        problems.push(format!(
            "the site's own ruleset already mentions nfh (lab error):\n{before_nfh}"
        ));
    }
    let (site, nfh) = split(flavor, after);
    if site != before_site {
        problems.push(format!(
            "the site's own rules changed when nfh's rules were loaded (- before, + after):\n{}",
            diff(&before_site, &site)
        ));
    }
    if nfh.trim().is_empty() {
        problems.push("nfh's rules are not in the ruleset".to_owned());
    }
    let accepts: Vec<&str> = nfh
        .lines()
        .filter(|l| match flavor {
            Flavor::Nft => !l.contains("policy ") && l.split_whitespace().any(|w| w == "accept"),
            Flavor::Legacy | Flavor::IptablesNft => l.contains("-j ACCEPT"),
        })
        .collect();
    if !accepts.is_empty() {
        problems.push(format!(
            "nfh's rules must never accept (the site's own rules decide), but these do:\n{}",
            accepts.join("\n")
        ));
    }
    let marks: Vec<&str> = nfh
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("mark"))
        .collect();
    if !marks.is_empty() {
        problems.push(format!(
            "nfh's rules must not read or write marks (the site uses all 32 bits), but these do:\n{}",
            marks.join("\n")
        ));
    }
    match flavor {
        Flavor::Nft => {
            let tables = after
                .lines()
                .filter(|l| l.starts_with(&format!("table inet {TABLE} ")))
                .count();
            if tables != 1 {
                problems.push(format!(
                    "{tables} `table inet {TABLE}` in the ruleset, not 1"
                ));
            }
        }
        Flavor::Legacy | Flavor::IptablesNft => {
            let rules = builtin_rules(after);
            for tool in save_tools(flavor) {
                for (table, chain, fragment, target) in IPTABLES_HOOKS {
                    let key = (tool.to_owned(), table.to_owned(), chain.to_owned());
                    let list = rules
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, r)| r.as_slice())
                        .unwrap_or(&[]);
                    let jump = format!("-j {target}");
                    let hooks: Vec<usize> = list
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.ends_with(&jump) && r.contains(fragment))
                        .map(|(i, _)| i)
                        .collect();
                    if hooks != [0] {
                        problems.push(format!(
                            "{tool} -t {table} {chain}: the jump to {target} must be there once, as the first rule; found at {hooks:?} in:\n{}",
                            list.join("\n")
                        ));
                    }
                }
            }
            for ((tool, table, chain), list) in &rules {
                for r in list.iter().filter(|r| is_nfh_line(r)) {
                    let known = IPTABLES_HOOKS.iter().any(|(t, c, f, target)| {
                        t == table
                            && c == chain
                            && r.ends_with(&format!("-j {target}"))
                            && r.contains(f)
                    });
                    if !known {
                        problems.push(format!(
                            "{tool} -t {table}: unexpected jump into nfh's rules: {r}"
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// A line diff of `a` and `b` (longest common subsequence): lines only in `a` with `- `,
/// only in `b` with `+ `, shared ones with two spaces; long runs of shared lines are elided.
pub fn diff(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            lines.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(('+', b[j]));
            j += 1;
        } else {
            lines.push(('-', a[i]));
            i += 1;
        }
    }
    // Keep two lines of context around changes.
    let changed: Vec<bool> = lines.iter().map(|(c, _)| *c != ' ').collect();
    let near = |k: usize| {
        (k.saturating_sub(2)..=(k + 2).min(lines.len().saturating_sub(1))).any(|x| changed[x])
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, l)) in lines.iter().enumerate() {
        if near(k) {
            if skipped {
                out.push_str("  ...\n");
                skipped = false;
            }
            out.push_str(&format!("{c} {l}\n"));
        } else {
            skipped = true;
        }
    }
    if skipped {
        out.push_str("  ...\n");
    }
    out
}

// ------------------------------------------------------------------------------------------
// Flows

/// What one flow through the router did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What was tried.
    pub name: String,
    /// Whether it must get through.
    pub want_pass: bool,
    /// Whether it got through.
    pub passed: bool,
    /// Whether the expectation the flow needs was in the router's table before the flow
    /// (`None`: not checked). A flow that must be dropped is only conclusive with it: then
    /// the kernel let the flow in as RELATED and only a rule can have dropped it.
    pub expectation: Option<bool>,
    /// What happened, in words.
    pub detail: String,
    /// The router's `conntrack -L expect` lines when the expectation was looked for.
    pub expectations: Vec<String>,
    /// A harness failure (a player that did not start or answer), if any.
    pub error: Option<String>,
    /// How long the flow took (exchange, expectation lookup, data).
    pub took: Duration,
}

impl Outcome {
    /// The flow went the way it must, and the expectation (where checked) was there.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.passed == self.want_pass && self.expectation != Some(false)
    }

    fn failed(name: &str, want_pass: bool, error: LabError) -> Outcome {
        Outcome {
            name: name.to_owned(),
            want_pass,
            passed: false,
            expectation: None,
            detail: "the exchange could not be played".to_owned(),
            expectations: Vec::new(),
            error: Some(error.to_string()),
            took: Duration::ZERO,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {}: must {}, {} ({:.1}s)",
            if self.ok() { "  ok" } else { "FAIL" },
            self.name,
            if self.want_pass { "pass" } else { "be dropped" },
            if self.passed {
                "passed"
            } else {
                "did not pass"
            },
            self.took.as_secs_f64()
        )?;
        writeln!(f, "       {}", self.detail)?;
        match self.expectation {
            Some(true) => writeln!(f, "       expectation: present")?,
            Some(false) => {
                writeln!(f, "       expectation: MISSING; the router's expectations:")?;
                for l in &self.expectations {
                    writeln!(f, "         {l}")?;
                }
            }
            None => {}
        }
        if let Some(e) = &self.error {
            writeln!(f, "       harness error: {}", e.replace('\n', "\n       "))?;
        }
        Ok(())
    }
}

/// Polls the router's `conntrack -L expect` (up to [`expect::POLL_TIMEOUT`]) for an
/// expectation whose destination is `dst`; returns whether one came and the last lines read.
pub fn wait_for_expectation(lab: &SiteLab, dst: SocketAddr) -> (bool, Vec<String>) {
    let deadline = Instant::now() + expect::POLL_TIMEOUT;
    loop {
        let lines = expect::conntrack_lines(&lab.router).unwrap_or_else(|e| vec![e.to_string()]);
        if lines.iter().any(|l| expectation_for(l, dst)) {
            return (true, lines);
        }
        if Instant::now() >= deadline {
            return (false, lines);
        }
        sleep(expect::POLL_INTERVAL);
    }
}

/// One FTP control exchange and the data connection it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpFlow {
    /// Short name for reports.
    pub name: &'static str,
    /// Where the FTP client runs.
    pub client: Node,
    /// Where the FTP server runs.
    pub server: Node,
    /// Where the server listens.
    pub listen: SocketAddr,
    /// Where the client connects (the public address for the DNAT).
    pub connect: SocketAddr,
    /// The command and the server's reply.
    pub cmd: FtpCommand,
    /// The destination of the expectation the router's helper must create.
    pub expect_dst: SocketAddr,
    /// Where the data listener runs.
    pub data_listener: Node,
    /// What it listens on.
    pub data_listen: SocketAddr,
    /// Who opens the data connection.
    pub data_connector: Node,
    /// From which source (`None`: the one routing picks).
    pub data_from: Option<IpAddr>,
    /// To where (the router translates it where NAT is involved).
    pub data_to: SocketAddr,
    /// Whether the data connection must get through.
    pub pass: bool,
}

impl FtpFlow {
    /// The same flow with another data port (control reruns in the same lab).
    pub fn with_port(&self, port: u16) -> FtpFlow {
        let mut f = self.clone();
        f.cmd = match f.cmd {
            FtpCommand::Port { addr, .. } => FtpCommand::Port { addr, port },
            FtpCommand::Eprt { addr, .. } => FtpCommand::Eprt { addr, port },
            FtpCommand::Pasv { addr, .. } => FtpCommand::Pasv { addr, port },
            FtpCommand::Epsv { .. } => FtpCommand::Epsv { port },
            other => other,
        };
        f.expect_dst.set_port(port);
        f.data_listen.set_port(port);
        f.data_to.set_port(port);
        f
    }
}

fn sa(a: impl Into<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(a.into(), port)
}

/// The FTP flows: data connections that must pass (active and passive, IPv4 and IPv6, to the
/// DMZ server directly and through its public address, from a masqueraded LAN client to a
/// server outside, to a server on the firewall itself) and that must be dropped although the kernel expects them (`loose=1`): a
/// bounce (PORT naming a third party), PASV naming a third party, a port below the floor.
pub fn ftp_flows() -> Vec<FtpFlow> {
    use addr::*;
    let dmz21 = sa(DMZ_V4, FTP_PORT);
    let dmz6_21 = sa(DMZ_V6, FTP_PORT);
    let outside21 = sa(OUTSIDE_FTP_V4, FTP_PORT);
    // Where an announced data endpoint listens: the lab's own addresses, or the rogue host on
    // the internet namespace's `lo`.
    let owner = |a: SocketAddr| SiteLab::owner(a.ip()).unwrap_or(Node::Inet);
    let lan_to_dmz = |name, cmd: FtpCommand, data: SocketAddr, server_opens: bool, pass| {
        let (listener, connector) = if server_opens {
            (owner(data), Node::Dmz)
        } else {
            (owner(data), Node::Lan)
        };
        let server = if data.is_ipv6() { dmz6_21 } else { dmz21 };
        FtpFlow {
            name,
            client: Node::Lan,
            server: Node::Dmz,
            listen: server,
            connect: server,
            cmd,
            expect_dst: data,
            data_listener: listener,
            data_listen: data,
            data_connector: connector,
            data_from: None,
            data_to: data,
            pass,
        }
    };
    vec![
        lan_to_dmz(
            "FTP passive (PASV), LAN client -> DMZ server",
            FtpCommand::Pasv {
                addr: DMZ_V4,
                port: 50100,
            },
            sa(DMZ_V4, 50100),
            false,
            true,
        ),
        lan_to_dmz(
            "FTP active (PORT), LAN client -> DMZ server",
            FtpCommand::Port {
                addr: LAN_V4,
                port: 50101,
            },
            sa(LAN_V4, 50101),
            true,
            true,
        ),
        lan_to_dmz(
            "FTP passive IPv6 (EPSV), LAN client -> DMZ server",
            FtpCommand::Epsv { port: 50102 },
            sa(DMZ_V6, 50102),
            false,
            true,
        ),
        FtpFlow {
            name: "FTP passive (PASV) through the DNAT: internet client -> public address",
            client: Node::Inet,
            server: Node::Dmz,
            listen: dmz21,
            connect: sa(PUBLIC_V4, FTP_PORT),
            // The server announces its real address; nf_nat_ftp rewrites it to the public one.
            cmd: FtpCommand::Pasv {
                addr: DMZ_V4,
                port: 50103,
            },
            expect_dst: sa(PUBLIC_V4, 50103),
            data_listener: Node::Dmz,
            data_listen: sa(DMZ_V4, 50103),
            data_connector: Node::Inet,
            data_from: None,
            data_to: sa(PUBLIC_V4, 50103),
            pass: true,
        },
        FtpFlow {
            name: "FTP active (PORT) through the DNAT: internet client -> public address",
            client: Node::Inet,
            server: Node::Dmz,
            listen: dmz21,
            connect: sa(PUBLIC_V4, FTP_PORT),
            cmd: FtpCommand::Port {
                addr: INET_V4,
                port: 50104,
            },
            expect_dst: sa(INET_V4, 50104),
            data_listener: Node::Inet,
            data_listen: sa(INET_V4, 50104),
            data_connector: Node::Dmz,
            data_from: None,
            data_to: sa(INET_V4, 50104),
            pass: true,
        },
        FtpFlow {
            name: "FTP passive (PASV), masqueraded LAN client -> server outside",
            client: Node::Lan,
            server: Node::Inet,
            listen: outside21,
            connect: outside21,
            cmd: FtpCommand::Pasv {
                addr: OUTSIDE_FTP_V4,
                port: 50105,
            },
            expect_dst: sa(OUTSIDE_FTP_V4, 50105),
            data_listener: Node::Inet,
            data_listen: sa(OUTSIDE_FTP_V4, 50105),
            data_connector: Node::Lan,
            data_from: None,
            data_to: sa(OUTSIDE_FTP_V4, 50105),
            pass: true,
        },
        FtpFlow {
            name: "FTP active (PORT), masqueraded LAN client -> server outside",
            client: Node::Lan,
            server: Node::Inet,
            listen: outside21,
            connect: outside21,
            // nf_nat_ftp rewrites the PORT to the router's wan address; the server connects
            // there, from its own address, and the router forwards to the LAN client.
            cmd: FtpCommand::Port {
                addr: LAN_V4,
                port: 50106,
            },
            expect_dst: sa(ROUTER_WAN_V4, 50106),
            data_listener: Node::Lan,
            data_listen: sa(LAN_V4, 50106),
            data_connector: Node::Inet,
            data_from: Some(OUTSIDE_FTP_V4.into()),
            data_to: sa(ROUTER_WAN_V4, 50106),
            pass: true,
        },
        FtpFlow {
            name: "FTP passive (PASV) to the firewall itself: LAN client -> router (INPUT)",
            client: Node::Lan,
            server: Node::Router,
            listen: sa(ROUTER_LAN_V4, FTP_PORT),
            connect: sa(ROUTER_LAN_V4, FTP_PORT),
            cmd: FtpCommand::Pasv {
                addr: ROUTER_LAN_V4,
                port: 50109,
            },
            expect_dst: sa(ROUTER_LAN_V4, 50109),
            data_listener: Node::Router,
            data_listen: sa(ROUTER_LAN_V4, 50109),
            data_connector: Node::Lan,
            data_from: None,
            data_to: sa(ROUTER_LAN_V4, 50109),
            pass: true,
        },
        FtpFlow {
            name: "FTP active (PORT) to the firewall itself: router -> LAN client (OUTPUT)",
            client: Node::Lan,
            server: Node::Router,
            listen: sa(ROUTER_LAN_V4, FTP_PORT),
            connect: sa(ROUTER_LAN_V4, FTP_PORT),
            cmd: FtpCommand::Port {
                addr: LAN_V4,
                port: 50110,
            },
            expect_dst: sa(LAN_V4, 50110),
            data_listener: Node::Lan,
            data_listen: sa(LAN_V4, 50110),
            data_connector: Node::Router,
            data_from: None,
            data_to: sa(LAN_V4, 50110),
            pass: true,
        },
        lan_to_dmz(
            "bounce: PORT naming a third party (the server connects to it)",
            FtpCommand::Port {
                addr: ROGUE_V4,
                port: 50107,
            },
            sa(ROGUE_V4, 50107),
            true,
            false,
        ),
        lan_to_dmz(
            "PASV naming a third party (the client connects to it)",
            FtpCommand::Pasv {
                addr: ROGUE_V4,
                port: 50108,
            },
            sa(ROGUE_V4, 50108),
            false,
            false,
        ),
        lan_to_dmz(
            "PASV naming the server, port 873 below the floor (min_port 1024)",
            FtpCommand::Pasv {
                addr: DMZ_V4,
                port: 873,
            },
            sa(DMZ_V4, 873),
            false,
            false,
        ),
    ]
}

/// Plays `flow`: the control connection (kept open), the router's expectation table, then
/// the data connection.
pub fn run_ftp_flow(lab: &SiteLab, flow: &FtpFlow) -> Outcome {
    timed(|| try_ftp_flow(lab, flow), flow.name, flow.pass)
}

/// Runs `play`, turning a harness error into a failed [`Outcome`], and records the time.
fn timed(play: impl FnOnce() -> Result<Outcome, LabError>, name: &str, want_pass: bool) -> Outcome {
    let start = Instant::now();
    let mut o = play().unwrap_or_else(|e| Outcome::failed(name, want_pass, e));
    o.took = start.elapsed();
    o
}

fn try_ftp_flow(lab: &SiteLab, flow: &FtpFlow) -> Result<Outcome, LabError> {
    let exchange = probes::ftp_control_via(
        lab.ns(flow.client),
        lab.ns(flow.server),
        flow.listen,
        flow.connect,
        &flow.cmd,
        lab.player_timeout,
    )?;
    let (found, expectations) = wait_for_expectation(lab, flow.expect_dst);
    let reply = exchange.client.last_reply().unwrap_or_default();
    let data: DataAttempt = probes::data_connection_via(
        lab.ns(flow.data_listener),
        flow.data_listen,
        lab.ns(flow.data_connector),
        flow.data_from,
        flow.data_to,
        lab.player_timeout,
    )?;
    drop(exchange);
    Ok(Outcome {
        name: flow.name.to_owned(),
        want_pass: flow.pass,
        passed: data.succeeded(),
        expectation: Some(found),
        detail: format!(
            "{} -> {}: `{}`, client got `{reply}`; expectation for {}; data {} -> {} (listener {} on {}): {data}",
            flow.client.as_str(),
            flow.connect,
            flow.cmd.command_line(),
            flow.expect_dst,
            flow.data_connector.as_str(),
            flow.data_to,
            flow.data_listener.as_str(),
            flow.data_listen,
        ),
        expectations,
        error: None,
        took: Duration::ZERO,
    })
}

/// Sends three datagrams from `from` (an address of `sender`) to `to` and reports whether a
/// `udp-sink` on `bind` in `sink` got one, and from which source.
pub fn udp_delivery(
    sink: &crate::netns::Netns,
    bind: SocketAddr,
    sender: &crate::netns::Netns,
    from: IpAddr,
    to: SocketAddr,
    timeout: Duration,
) -> Result<Option<IpAddr>, LabError> {
    let args: Vec<String> = vec![
        "--bind".into(),
        bind.ip().to_string(),
        "--port".into(),
        bind.port().to_string(),
    ];
    let mut listener = Player::spawn(sink, "udp-sink", &args)?;
    listener.expect("READY", timeout)?;
    let args: Vec<String> = vec![
        "--to".into(),
        to.ip().to_string(),
        "--port".into(),
        to.port().to_string(),
        "--from".into(),
        from.to_string(),
        "--tag".into(),
        "media".into(),
    ];
    let mut probe = Player::spawn(sender, "udp-probe", &args)?;
    probe.expect("FINISHED", timeout)?;
    Ok(listener
        .expect("GOT", Duration::from_millis(1500))
        .ok()
        .and_then(|w| w.get(1).and_then(|a| a.parse().ok())))
}

/// The ports of one SIP call: the phone's audio and video (RTP; RTCP is the next port) and
/// the farm's audio port in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPorts {
    /// Phone audio (RTP).
    pub audio: u16,
    /// Phone video (RTP).
    pub video: u16,
    /// Farm audio (RTP) in the proxy's answer.
    pub farm: u16,
}

/// A SIP call held open: the proxy (internet host) and the phone (LAN host).
#[derive(Debug)]
pub struct Call {
    /// The proxy player.
    pub proxy: Player,
    /// The phone player (its socket keeps the signalling conntrack alive).
    pub phone: Player,
    /// The reply the phone got.
    pub reply: String,
}

/// Places a call: the LAN phone sends INVITE with SDP (audio and video on its own address)
/// to the proxy, which answers 200 OK with SDP naming the RTP farm. The router's sip helper
/// (with `sip_direct_media = 0`) then expects media to the phone from anywhere and to the
/// farm from anywhere; nf_nat_sip rewrites the phone's SDP to the router's wan address.
pub fn place_call(lab: &SiteLab, ports: CallPorts) -> Result<Call, LabError> {
    let t = lab.player_timeout;
    let args: Vec<String> = vec![
        "--bind".into(),
        addr::PROXY_V4.to_string(),
        "--port".into(),
        SIP_PORT.to_string(),
        "--answer-addr".into(),
        addr::FARM_V4.to_string(),
        "--answer-audio-port".into(),
        ports.farm.to_string(),
    ];
    let mut proxy = Player::spawn(&lab.inet, "sip-server", &args)?;
    proxy.expect("READY", t)?;
    let args: Vec<String> = vec![
        "--connect".into(),
        addr::PROXY_V4.to_string(),
        "--port".into(),
        SIP_PORT.to_string(),
        "--method".into(),
        "INVITE".into(),
        "--audio-port".into(),
        ports.audio.to_string(),
        "--video-port".into(),
        ports.video.to_string(),
    ];
    let mut phone = Player::spawn(&lab.lan, "sip-client", &args)?;
    phone.expect("DONE", t)?;
    proxy.expect("GOT", t)?;
    let reply = phone.last_reply().unwrap_or_default();
    Ok(Call {
        proxy,
        phone,
        reply,
    })
}

/// One media flow of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// The farm sends to the phone's audio port (through the router's wan address).
    FarmToPhone,
    /// The phone sends to the farm's audio port.
    PhoneToFarm,
    /// A host that is not the farm sends to the phone's video port.
    RogueToPhone,
}

impl Media {
    fn name(self) -> &'static str {
        match self {
            Media::FarmToPhone => "SIP media (RTP) farm -> phone",
            Media::PhoneToFarm => "SIP media (RTP) phone -> farm",
            Media::RogueToPhone => "SIP media (RTP) from an outside host that is not the farm",
        }
    }
}

/// Sends one media flow of the call placed with `ports` (keep the [`Call`] alive): looks for
/// its expectation, sends, and reports whether it arrived. For the rogue flow, also reports
/// whether the expectation was used up (the packet was RELATED, so a rule dropped it).
pub fn run_media(lab: &SiteLab, ports: CallPorts, media: Media, want_pass: bool) -> Outcome {
    timed(
        || try_media(lab, ports, media, want_pass),
        media.name(),
        want_pass,
    )
}

fn try_media(
    lab: &SiteLab,
    ports: CallPorts,
    media: Media,
    want_pass: bool,
) -> Result<Outcome, LabError> {
    use addr::*;
    let (sink, bind, sender, from, to) = match media {
        Media::FarmToPhone => (
            &lab.lan,
            sa(LAN_V4, ports.audio),
            &lab.inet,
            IpAddr::from(FARM_V4),
            sa(ROUTER_WAN_V4, ports.audio),
        ),
        Media::PhoneToFarm => (
            &lab.inet,
            sa(FARM_V4, ports.farm),
            &lab.lan,
            IpAddr::from(LAN_V4),
            sa(FARM_V4, ports.farm),
        ),
        Media::RogueToPhone => (
            &lab.lan,
            sa(LAN_V4, ports.video),
            &lab.inet,
            IpAddr::from(ROGUE_V4),
            sa(ROUTER_WAN_V4, ports.video),
        ),
    };
    let (found, expectations) = wait_for_expectation(lab, to);
    let got = udp_delivery(sink, bind, sender, from, to, lab.player_timeout)?;
    let mut detail = format!(
        "{from} -> {to} (sink on {bind}): {}",
        match got {
            Some(src) => format!("arrived from {src}"),
            None => "nothing arrived".to_owned(),
        }
    );
    if media == Media::RogueToPhone && found {
        let after = expect::conntrack_lines(&lab.router).unwrap_or_default();
        let left = after.iter().any(|l| expectation_for(l, to));
        detail.push_str(if left {
            "; the expectation is still there (the packet did not match it)"
        } else {
            "; the expectation was used up (the packet came in as RELATED)"
        });
    }
    Ok(Outcome {
        name: media.name().to_owned(),
        want_pass,
        passed: got.is_some(),
        expectation: Some(found),
        detail,
        expectations,
        error: None,
        took: Duration::ZERO,
    })
}

/// TFTP with the router itself as the client: a read request from the router to the DMZ
/// server, whose answer comes from a fresh port (RELATED, in INPUT).
pub fn run_tftp(lab: &SiteLab) -> Outcome {
    let name = "TFTP from the firewall itself: router -> DMZ server, answer from a new port";
    let t = lab.player_timeout;
    let play = || -> Result<Outcome, LabError> {
        let args: Vec<String> = vec![
            "--bind".into(),
            addr::DMZ_V4.to_string(),
            "--port".into(),
            TFTP_PORT.to_string(),
            "--respond".into(),
        ];
        let mut server = Player::spawn(&lab.dmz, "tftp-server", &args)?;
        server.expect("READY", t)?;
        let args: Vec<String> = vec![
            "--connect".into(),
            addr::DMZ_V4.to_string(),
            "--port".into(),
            TFTP_PORT.to_string(),
            "--wait-data".into(),
            "3".into(),
        ];
        let mut client = Player::spawn(&lab.router, "tftp-client", &args)?;
        let result = client.expect("RESULT", t)?;
        let sent = server.expect("SENT", Duration::from_millis(200)).ok();
        Ok(Outcome {
            name: name.to_owned(),
            want_pass: true,
            passed: result.first().is_some_and(|w| w == "data"),
            expectation: None,
            detail: format!(
                "server sent {}; client: {}",
                sent.map(|w| w.join(" "))
                    .unwrap_or_else(|| "nothing".to_owned()),
                result.join(" ")
            ),
            expectations: Vec::new(),
            error: None,
            took: Duration::ZERO,
        })
    };
    timed(play, name, true)
}

/// A TCP connection from `from` to `to` (listener on `to` in `listener`).
fn tcp_probe(
    lab: &SiteLab,
    name: &str,
    from: Node,
    listener: Node,
    to: SocketAddr,
    want_pass: bool,
) -> Outcome {
    let play = || {
        let data = probes::data_connection(lab.ns(listener), to, lab.ns(from), lab.player_timeout)?;
        Ok(Outcome {
            name: name.to_owned(),
            want_pass,
            passed: data.succeeded(),
            expectation: None,
            detail: format!("{} -> {to}: {data}", from.as_str()),
            expectations: Vec::new(),
            error: None,
            took: Duration::ZERO,
        })
    };
    timed(play, name, want_pass)
}

/// The site's own policy still decides with nfh's rules loaded: SSH to the router passes
/// (its INPUT accept), another port of the router is dropped (INPUT policy), and a `NEW`
/// connection from the internet to a DMZ port the site does not open is dropped (FORWARD
/// policy). The three run at once (a dropped connection takes the whole connect timeout).
pub fn site_probes(lab: &SiteLab) -> Vec<Outcome> {
    use addr::*;
    let probes = [
        (
            "SSH from the LAN to the router (the site's INPUT accept)",
            Node::Lan,
            Node::Router,
            sa(ROUTER_LAN_V4, 22),
            true,
        ),
        (
            "TCP from the LAN to another port of the router (the site's INPUT policy)",
            Node::Lan,
            Node::Router,
            sa(ROUTER_LAN_V4, 2222),
            false,
        ),
        (
            "NEW TCP from the internet to a DMZ port the site does not open (FORWARD policy)",
            Node::Inet,
            Node::Dmz,
            sa(DMZ_V4, 8080),
            false,
        ),
    ];
    std::thread::scope(|scope| {
        let running: Vec<_> = probes
            .iter()
            .map(|&(name, from, listener, to, pass)| {
                scope.spawn(move || tcp_probe(lab, name, from, listener, to, pass))
            })
            .collect();
        running
            .into_iter()
            .zip(probes)
            .map(|(handle, (name, _, _, _, pass))| {
                handle.join().unwrap_or_else(|_| {
                    Outcome::failed(name, pass, LabError::Player("probe thread panicked".into()))
                })
            })
            .collect()
    })
}

/// A table of outcomes, one block per flow.
pub fn report(outcomes: &[Outcome]) -> String {
    outcomes.iter().map(ToString::to_string).collect()
}

// ------------------------------------------------------------------------------------------
// The whole run

/// Everything one [`run`] found.
#[derive(Debug, Clone, Default)]
pub struct DeployReport {
    /// The loader's label.
    pub label: String,
    /// What went wrong (empty: all is well), each a readable paragraph.
    pub failures: Vec<String>,
    /// The flows with nfh's rules loaded.
    pub outcomes: Vec<Outcome>,
    /// The control runs (blanket RELATED accept before nfh's rules).
    pub control: Vec<Outcome>,
    /// How long each phase took.
    pub timings: Vec<(&'static str, Duration)>,
    /// The router's rules, conntrack and expectation tables at the end (when something
    /// failed).
    pub diagnostics: String,
}

impl DeployReport {
    /// The failures with every flow and the router's state, for a panic message.
    pub fn failure_message(&self) -> String {
        format!(
            "[{}] {} problem(s):\n\n{}\n\n=== all flows ===\n{}\n=== control runs ===\n{}\n=== router at the end ===\n{}",
            self.label,
            self.failures.len(),
            self.failures.join("\n\n"),
            report(&self.outcomes),
            report(&self.control),
            self.diagnostics
        )
    }
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[{}] flows:", self.label)?;
        f.write_str(&report(&self.outcomes))?;
        writeln!(f, "[{}] control runs:", self.label)?;
        f.write_str(&report(&self.control))?;
        let phases: Vec<String> = self
            .timings
            .iter()
            .map(|(what, d)| format!("{what} {:.1}s", d.as_secs_f64()))
            .collect();
        writeln!(f, "[{}] timings: {}", self.label, phases.join(", "))?;
        if !self.failures.is_empty() {
            writeln!(f, "[{}] {} problem(s)", self.label, self.failures.len())?;
        }
        Ok(())
    }
}

/// The deployment scenario for one loader, in a fresh [`DeployLab`]:
///
/// 1. the site's firewall alone: snapshot S;
/// 2. nfh's rules loaded: snapshot A, checked against S with [`coexistence_problems`];
///    loaded twice more: still A; removed: S; removed again: S;
/// 3. a site change: the rules of `changed` ([`changed_site_toml`]) loaded alone: snapshot
///    B (checked against S too); then `rules` and `changed` over it, as a reload after a
///    site change does: B again, nothing of the old rules left; removed: S; `rules` loaded
///    again: A;
/// 4. [`ftp_flows`], a SIP call with media from a rogue host (first, while its expectation is
///    unused), from the farm to the phone and from the phone to the farm, [`run_tftp`],
///    [`site_probes`]; connections carrying the site's mark must exist afterwards;
/// 5. control: [`firewall::allow_all_related`], then the dropped RELATED flows again (other
///    ports, a new call), which must now pass.
///
/// `Err` only when the lab cannot be built or a load or removal command fails (with the
/// command's error and the text given); everything else is collected in the report.
pub fn run(loader: Loader, rules: &Rendered, changed: &Rendered) -> Result<DeployReport, String> {
    let label = loader.label();
    let flavor = loader.flavor();
    let mut report = DeployReport {
        label: label.to_owned(),
        ..DeployReport::default()
    };
    let mut clock = Instant::now();
    let mut lap = |report: &mut DeployReport, what: &'static str| {
        report.timings.push((what, clock.elapsed()));
        clock = Instant::now();
    };
    let lab = DeployLab::new(loader, rules)?;
    lap(&mut report, "lab");
    let snapshot = |when: &str| {
        lab.snapshot()
            .map_err(|e| format!("cannot read the ruleset {when}: {e}"))
    };
    let install_of = |r: &Rendered, what: &str| {
        lab.install(r)
            .map_err(|e| format!("{what} of nfh's rules:\n{e}"))
    };
    let install = |n: u32| install_of(rules, &format!("load {n}"));
    let remove = |n: u32| {
        lab.remove(rules)
            .map_err(|e| format!("removal {n} of nfh's rules:\n{e}"))
    };
    let failures = &mut report.failures;

    // The site stays intact.
    let site_only = snapshot("with the site's firewall alone")?;
    let policies = match flavor {
        Flavor::Nft => site_only.matches("policy drop;").count() == 2,
        Flavor::Legacy | Flavor::IptablesNft => {
            site_only.matches(":INPUT DROP").count() == 2
                && site_only.matches(":FORWARD DROP").count() == 2
        }
    };
    if !policies {
        return Err(format!(
            "the site's own firewall is not in place:\n{site_only}"
        ));
    }
    install(1)?;
    let loaded = snapshot("after load 1")?;
    for p in coexistence_problems(flavor, &site_only, &loaded) {
        failures.push(format!("after load 1: {p}"));
    }
    for n in 2..=3 {
        install(n)?;
        let again = snapshot(&format!("after load {n}"))?;
        if again != loaded {
            failures.push(format!(
                "load {n} changed the ruleset of load 1 (- load 1, + load {n}):\n{}",
                diff(&loaded, &again)
            ));
        }
    }
    for n in 1..=2 {
        remove(n)?;
        let removed = snapshot(&format!("after removal {n}"))?;
        if removed != site_only {
            failures.push(format!(
                "removal {n} did not leave exactly the site's ruleset (- site alone, + after removal {n}):\n{}",
                diff(&site_only, &removed)
            ));
        }
    }
    // A site change.
    install_of(changed, "load of the changed site")?;
    let changed_alone = snapshot("with the changed site's rules")?;
    for p in coexistence_problems(flavor, &site_only, &changed_alone) {
        failures.push(format!("changed site: {p}"));
    }
    if changed_alone == loaded {
        failures
            .push("the changed site's rules are the same as the first site's (lab error)".into());
    }
    install(4)?;
    install_of(changed, "reload after the site change")?;
    let changed_over = snapshot("after the reload with the changed site")?;
    if changed_over != changed_alone {
        failures.push(format!(
            "loading the changed site over the first one did not leave exactly the changed site's rules (- changed site loaded alone, + loaded over the first):\n{}",
            diff(&changed_alone, &changed_over)
        ));
    }
    lab.remove(changed)
        .map_err(|e| format!("removal of the changed site's rules:\n{e}"))?;
    let removed = snapshot("after removing the changed site's rules")?;
    if removed != site_only {
        failures.push(format!(
            "the removal after the site change did not leave exactly the site's ruleset (- site alone, + after removal):\n{}",
            diff(&site_only, &removed)
        ));
    }
    install(5)?;
    let reloaded = snapshot("after loading again")?;
    if reloaded != loaded {
        failures.push(format!(
            "loading after the removal gave another ruleset than load 1 (- load 1, + now):\n{}",
            diff(&loaded, &reloaded)
        ));
    }
    lap(&mut report, "loads");

    // Flows.
    let l = &lab.lab;
    let flows = ftp_flows();
    for flow in &flows {
        report.outcomes.push(run_ftp_flow(l, flow));
    }
    lap(&mut report, "ftp");
    let ports = CallPorts {
        audio: 40000,
        video: 40002,
        farm: 41000,
    };
    match place_call(l, ports) {
        Ok(call) => {
            report
                .outcomes
                .push(run_media(l, ports, Media::RogueToPhone, false));
            report
                .outcomes
                .push(run_media(l, ports, Media::FarmToPhone, true));
            report
                .outcomes
                .push(run_media(l, ports, Media::PhoneToFarm, true));
            if !call.reply.starts_with("SIP/2.0 200") {
                report.failures.push(format!(
                    "the phone got `{}` to its INVITE, not 200 OK",
                    call.reply
                ));
            }
        }
        Err(e) => report
            .failures
            .push(format!("the SIP call (INVITE with SDP) failed: {e}")),
    }
    report.outcomes.push(run_tftp(l));
    lap(&mut report, "sip+tftp");
    report.outcomes.extend(site_probes(l));
    lap(&mut report, "site");
    match lab.marked_connections() {
        Ok(marked) if marked.is_empty() => report.failures.push(
            "no connection carries the site's mark: its mark save was not at work".to_owned(),
        ),
        Ok(_) => {}
        Err(e) => report
            .failures
            .push(format!("cannot read the conntrack table: {e}")),
    }

    // Control: a blanket RELATED accept before nfh's rules; the dropped RELATED flows pass.
    if let Err(e) = firewall::allow_all_related(&l.router, flavor) {
        report
            .failures
            .push(format!("cannot add the control's RELATED accept: {e}"));
    }
    for flow in flows.iter().filter(|f| !f.pass) {
        let mut rerun = flow.with_port(flow.data_to.port() + 100);
        rerun.pass = true;
        let mut o = run_ftp_flow(l, &rerun);
        o.name = format!("control: {}", o.name);
        report.control.push(o);
    }
    let ports = CallPorts {
        audio: 40100,
        video: 40102,
        farm: 41100,
    };
    match place_call(l, ports) {
        Ok(_call) => {
            let mut o = run_media(l, ports, Media::RogueToPhone, true);
            o.name = format!("control: {}", o.name);
            report.control.push(o);
        }
        Err(e) => report
            .failures
            .push(format!("control: the SIP call failed: {e}")),
    }
    lap(&mut report, "control");

    let wrong: Vec<&Outcome> = report.outcomes.iter().filter(|o| !o.ok()).collect();
    if !wrong.is_empty() {
        let text = format!(
            "{} of {} flows went the wrong way:\n{}",
            wrong.len(),
            report.outcomes.len(),
            wrong.iter().map(ToString::to_string).collect::<String>()
        );
        report.failures.push(text);
    }
    let wrong: Vec<&Outcome> = report.control.iter().filter(|o| !o.ok()).collect();
    if !wrong.is_empty() {
        let text = format!(
            "control run: with a blanket RELATED accept these must pass (otherwise their drops prove nothing):\n{}",
            wrong.iter().map(ToString::to_string).collect::<String>()
        );
        report.failures.push(text);
    }
    if !report.failures.is_empty() {
        report.diagnostics = lab.diagnostics();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changes() {
        let d = diff("a\nb\nc\n", "a\nc\nd\n");
        assert!(
            d.contains("- b") && d.contains("+ d") && d.contains("  a"),
            "{d}"
        );
        assert!(
            diff("x\n", "x\n")
                .lines()
                .all(|l| !l.starts_with(['-', '+']))
        );
    }

    #[test]
    fn save_text_is_normalized() {
        let t = "# Generated by iptables-save v1.8.9 on now\n*filter\n:INPUT DROP [12:3456]\n:nfh-related-in - [3:4]\n-A INPUT -j ACCEPT\nCOMMIT\n# Completed\n";
        assert_eq!(
            normalize_save(t),
            "*filter\n:INPUT DROP [0:0]\n:nfh-related-in - [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"
        );
    }

    #[test]
    fn hooks_are_checked() {
        let before = "== iptables-nft-save ==\n*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CT --notrack\nCOMMIT\n";
        let after = "== iptables-nft-save ==\n*raw\n:PREROUTING ACCEPT [0:0]\n:nfh-prerouting - [0:0]\n-A PREROUTING -j CT --notrack\n-A PREROUTING -j nfh-prerouting\n-A PREROUTING -j nfh-prerouting\n-A nfh-prerouting -j ACCEPT\nCOMMIT\n";
        let problems = coexistence_problems(Flavor::IptablesNft, before, after);
        let text = problems.join("\n");
        assert!(text.contains("found at [1, 2]"), "{text}");
        assert!(text.contains("must never accept"), "{text}");
        assert!(!text.contains("site's own rules changed"), "{text}");
    }

    #[test]
    fn nft_split_takes_the_nfh_table() {
        let s = "table inet site {\n\tchain input {\n\t}\n}\ntable inet nfh {\n\tchain related_in {\n\t\tdrop\n\t}\n}\n";
        let (site, nfh) = split(Flavor::Nft, s);
        assert_eq!(site, "table inet site {\n\tchain input {\n\t}\n}\n");
        assert!(nfh.starts_with("table inet nfh {") && nfh.ends_with("}\n"));
    }

    #[test]
    fn site_texts_name_every_part() {
        let v4 = site_restore(false);
        for part in [
            ":INPUT DROP",
            ":FORWARD DROP",
            "--notrack",
            "--save-mark",
            "DNAT",
            "MASQUERADE",
            "--dport 22",
        ] {
            assert!(v4.contains(part), "{part} missing:\n{v4}");
        }
        assert!(!site_restore(true).contains("*nat"));
        let nft = site_nft();
        for part in [
            "policy drop",
            "notrack",
            "ct mark set meta mark",
            "dnat",
            "masquerade",
        ] {
            assert!(nft.contains(part), "{part} missing:\n{nft}");
        }
    }
}
