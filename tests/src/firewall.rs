//! Loading rendered rule sets into a namespace, the lab's own additions around them, and
//! diagnostics.
//!
//! * [`Loader`]: how a rendered text gets into the kernel (`iptables-legacy-restore` or
//!   `iptables-nft-restore` with `-w --noflush`, then the idempotent hook script; a shell
//!   script of `iptables`/`ip6tables` commands; `nft -f`; `nft -j -f`), each reading the text
//!   on stdin. A failure is a [`LoadError`] that shows the command, its stderr and the whole
//!   text with line numbers. [`Loader::unload`] runs a removal script.
//! * [`check`]: the dry runs (`iptables-restore --test`, `nft -c -f`, `sh -n`) in a
//!   throw-away namespace.
//! * [`LabPolicy`]: what a real firewall would add around the generated rules and the lab
//!   needs — filter FORWARD policy drop, `ESTABLISHED,RELATED` accept (nfh's rules never
//!   accept: the site accepts RELATED itself) and accepts for `NEW` control connections and
//!   probe ports — added *after* the generated rules, with the same tool family
//!   ([`Flavor`]); and [`allow_all_related`], the blanket RELATED accept of control runs.
//! * [`dump`]: the namespace's rules with counters, for failure messages.
//!
//! Legacy iptables and nft-based iptables must not be mixed in one namespace: use a fresh
//! namespace per loader.

use std::fmt;
use std::io::Write;
use std::net::IpAddr;
use std::process::Stdio;

use crate::netns::{CmdOutput, CommandError, Netns};

/// Which userspace manages the rules of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// `iptables-legacy` / `ip6tables-legacy` (x_tables).
    Legacy,
    /// `iptables-nft` / `ip6tables-nft` (nf_tables under the iptables syntax).
    IptablesNft,
    /// `nft`.
    Nft,
}

impl Flavor {
    /// The iptables command of a family for the iptables flavors (`v6`: ip6tables).
    pub fn iptables(self, v6: bool) -> &'static str {
        match (self, v6) {
            (Flavor::Legacy, false) => "iptables-legacy",
            (Flavor::Legacy, true) => "ip6tables-legacy",
            (Flavor::IptablesNft | Flavor::Nft, false) => "iptables-nft",
            (Flavor::IptablesNft | Flavor::Nft, true) => "ip6tables-nft",
        }
    }
}

/// The shape of rendered text a [`Loader`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleText<'a> {
    /// An `iptables-restore` file (IPv4) and an `ip6tables-restore` file (IPv6), loaded with
    /// `-w --noflush`, and the shell script that hooks their chains into the built-in ones
    /// (both families, idempotent).
    Restore {
        /// IPv4 file.
        v4: &'a str,
        /// IPv6 file.
        v6: &'a str,
        /// The hook script (`iptables`/`ip6tables` commands).
        hooks: &'a str,
    },
    /// A shell script of `iptables …` / `ip6tables …` lines.
    Commands(&'a str),
    /// An `nft -f` script.
    Nft(&'a str),
    /// libnftables JSON for `nft -j -f`.
    NftJson(&'a str),
}

/// How rendered text is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loader {
    /// `iptables-legacy-restore -w --noflush` and `ip6tables-legacy-restore -w --noflush`,
    /// then the hook script with the legacy tools ([`RuleText::Restore`]).
    LegacyRestore,
    /// `iptables-nft-restore -w --noflush` and `ip6tables-nft-restore -w --noflush`, then the
    /// hook script with the nft-based tools ([`RuleText::Restore`]).
    NftRestore,
    /// `sh -e` with `iptables`/`ip6tables` bound to the legacy tools ([`RuleText::Commands`]).
    LegacyCommands,
    /// `sh -e` with `iptables`/`ip6tables` bound to the nft-based tools
    /// ([`RuleText::Commands`]).
    NftCommands,
    /// `nft -f -` ([`RuleText::Nft`]).
    Nft,
    /// `nft -j -f -` ([`RuleText::NftJson`]).
    NftJson,
}

impl Loader {
    /// Every loader.
    pub const ALL: [Loader; 6] = [
        Loader::LegacyRestore,
        Loader::NftRestore,
        Loader::LegacyCommands,
        Loader::NftCommands,
        Loader::Nft,
        Loader::NftJson,
    ];

    /// Short name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Loader::LegacyRestore => "iptables-legacy-restore",
            Loader::NftRestore => "iptables-nft-restore",
            Loader::LegacyCommands => "iptables-legacy commands",
            Loader::NftCommands => "iptables-nft commands",
            Loader::Nft => "nft -f",
            Loader::NftJson => "nft -j -f",
        }
    }

    /// The tool family that manages the namespace afterwards.
    pub fn flavor(self) -> Flavor {
        match self {
            Loader::LegacyRestore | Loader::LegacyCommands => Flavor::Legacy,
            Loader::NftRestore | Loader::NftCommands => Flavor::IptablesNft,
            Loader::Nft | Loader::NftJson => Flavor::Nft,
        }
    }

    /// Loads `text` into `ns`.
    pub fn load(self, ns: &Netns, text: RuleText<'_>) -> Result<(), LoadError> {
        let fail = |input: &str, err: CommandError| LoadError {
            loader: self,
            text: input.to_owned(),
            error: err,
        };
        match (self, text) {
            (Loader::LegacyRestore | Loader::NftRestore, RuleText::Restore { v4, v6, hooks }) => {
                let (r4, r6) = if self == Loader::LegacyRestore {
                    ("iptables-legacy-restore", "ip6tables-legacy-restore")
                } else {
                    ("iptables-nft-restore", "ip6tables-nft-restore")
                };
                run_with_input(ns, r4, &["-w", "--noflush"], v4).map_err(|e| fail(v4, e))?;
                run_with_input(ns, r6, &["-w", "--noflush"], v6).map_err(|e| fail(v6, e))?;
                let full = commands_script(self.flavor(), hooks);
                ns.run("sh", &["-e", "-c", &full])
                    .map(drop)
                    .map_err(|e| fail(hooks, e))
            }
            (Loader::LegacyCommands | Loader::NftCommands, RuleText::Commands(script)) => {
                let full = commands_script(self.flavor(), script);
                ns.run("sh", &["-e", "-c", &full])
                    .map(drop)
                    .map_err(|e| fail(script, e))
            }
            (Loader::Nft, RuleText::Nft(script)) => run_with_input(ns, "nft", &["-f", "-"], script)
                .map(drop)
                .map_err(|e| fail(script, e)),
            (Loader::NftJson, RuleText::NftJson(json)) => {
                run_with_input(ns, "nft", &["-j", "-f", "-"], json)
                    .map(drop)
                    .map_err(|e| fail(json, e))
            }
            (loader, text) => panic!(
                "loader {} cannot load {}",
                loader.label(),
                match text {
                    RuleText::Restore { .. } => "restore files",
                    RuleText::Commands(_) => "a command script",
                    RuleText::Nft(_) => "an nft script",
                    RuleText::NftJson(_) => "nft JSON",
                }
            ),
        }
    }
}

impl Loader {
    /// Runs a removal text in `ns`: for the iptables flavors a shell script of `iptables` /
    /// `ip6tables` commands (with the flavor's tools), for nft an `nft -f` script.
    pub fn unload(self, ns: &Netns, text: &str) -> Result<(), LoadError> {
        let result = match self.flavor() {
            Flavor::Nft => run_with_input(ns, "nft", &["-f", "-"], text).map(drop),
            flavor => ns
                .run("sh", &["-e", "-c", &commands_script(flavor, text)])
                .map(drop),
        };
        result.map_err(|error| LoadError {
            loader: self,
            text: text.to_owned(),
            error,
        })
    }
}

/// `script` preceded by shell functions `iptables` and `ip6tables` that run the tools of
/// `flavor` (`iptables-legacy`, `iptables-nft`, ...), so that a rendered script written
/// with plain `iptables` commands runs with the flavor under test.
pub fn commands_script(flavor: Flavor, script: &str) -> String {
    format!(
        "iptables() {{ command {} \"$@\"; }}\nip6tables() {{ command {} \"$@\"; }}\n{script}",
        flavor.iptables(false),
        flavor.iptables(true)
    )
}

/// A loader (or dry run) that failed: the command's error and the text it was given.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// Which loader.
    pub loader: Loader,
    /// The text given to the failing command.
    pub text: String,
    /// The failing command, its status and output.
    pub error: CommandError,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} failed to load the rendered rules",
            self.loader.label()
        )?;
        writeln!(f, "{}", self.error)?;
        writeln!(
            f,
            "--- text given ({} lines) ---",
            self.text.lines().count()
        )?;
        f.write_str(&numbered(&self.text))
    }
}

impl std::error::Error for LoadError {}

/// `text` with 1-based line numbers (`  12 | …`), as loaders report line numbers.
pub fn numbered(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| format!("{:4} | {l}\n", i + 1))
        .collect()
}

/// Runs `program args…` inside `ns` with `input` on stdin; fails on a non-zero exit.
pub fn run_with_input(
    ns: &Netns,
    program: &str,
    args: &[&str],
    input: &str,
) -> Result<String, CommandError> {
    exec_with_input(ns, program, args, input)?.into_stdout()
}

/// Runs `program args…` inside `ns` with `input` on stdin, whatever the exit status.
pub fn exec_with_input(
    ns: &Netns,
    program: &str,
    args: &[&str],
    input: &str,
) -> Result<CmdOutput, CommandError> {
    let command = format!(
        "ip netns exec {} {program} {} < (text)",
        ns.name(),
        args.join(" ")
    );
    let spawn_err = |e: std::io::Error| CommandError {
        command: command.clone(),
        status: None,
        stdout: String::new(),
        stderr: format!("cannot spawn: {e}"),
    };
    let mut child = ns
        .command(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let data = input.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        // A loader that stops reading early (syntax error) closes the pipe: ignore EPIPE.
        let _ = stdin.write_all(&data);
    });
    let output = child.wait_with_output().map_err(spawn_err)?;
    let _ = writer.join();
    Ok(CmdOutput {
        command,
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Dry-runs `text` as `loader` would load it, in a throw-away namespace:
/// `iptables-legacy-restore --test` / `ip6tables-legacy-restore --test`,
/// `iptables-nft-restore --test` / `ip6tables-nft-restore --test` (and `sh -n` of the hook
/// script), `sh -n` for command scripts, `nft -c -f -`, `nft -c -j -f -`.
pub fn check(loader: Loader, text: RuleText<'_>) -> Result<(), LoadError> {
    let ns = Netns::new("check").map_err(|e| LoadError {
        loader,
        text: String::new(),
        error: e,
    })?;
    let fail = |input: &str, err: CommandError| LoadError {
        loader,
        text: input.to_owned(),
        error: err,
    };
    match (loader, text) {
        (Loader::LegacyRestore | Loader::NftRestore, RuleText::Restore { v4, v6, hooks }) => {
            let (r4, r6) = if loader == Loader::LegacyRestore {
                ("iptables-legacy-restore", "ip6tables-legacy-restore")
            } else {
                ("iptables-nft-restore", "ip6tables-nft-restore")
            };
            run_with_input(&ns, r4, &["--test", "--noflush"], v4).map_err(|e| fail(v4, e))?;
            run_with_input(&ns, r6, &["--test", "--noflush"], v6).map_err(|e| fail(v6, e))?;
            let full = commands_script(loader.flavor(), hooks);
            ns.run("sh", &["-n", "-c", &full])
                .map(drop)
                .map_err(|e| fail(hooks, e))
        }
        (Loader::LegacyCommands | Loader::NftCommands, RuleText::Commands(script)) => {
            let full = commands_script(loader.flavor(), script);
            ns.run("sh", &["-n", "-c", &full])
                .map(drop)
                .map_err(|e| fail(script, e))
        }
        (Loader::Nft, RuleText::Nft(script)) => {
            run_with_input(&ns, "nft", &["-c", "-f", "-"], script)
                .map(drop)
                .map_err(|e| fail(script, e))
        }
        (Loader::NftJson, RuleText::NftJson(json)) => {
            run_with_input(&ns, "nft", &["-c", "-j", "-f", "-"], json)
                .map(drop)
                .map_err(|e| fail(json, e))
        }
        (loader, _) => panic!("loader {} got the wrong kind of text", loader.label()),
    }
}

/// What the lab adds around the generated rules, as a site's own firewall would: filter
/// FORWARD policy drop, `ESTABLISHED` and `RELATED` accepted (the generated rules never
/// accept: they drop the RELATED flows the model does not allow and return the rest to the
/// site's rules), `NEW` accepted only for the listed TCP services and UDP probe ports.
///
/// For [`Flavor::Nft`] the additions are a second table, `inet nfhlab`, whose forward chain
/// (priority filter + 10, policy drop) accepts `ct state related`: in nft a drop in any base
/// chain is final, so RELATED packets that reach it were not dropped by the generated rules.
/// For the iptables flavors the rules are appended to the built-in FORWARD chain after the
/// generated rules' hook (a RELATED jump whose chain ends in a drop), and FORWARD's policy is
/// set to DROP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabPolicy {
    /// `NEW` TCP connections accepted to these destinations and ports (control connections).
    pub tcp: Vec<(IpAddr, u16)>,
    /// `NEW` UDP accepted to these destination ports, any address (probes).
    pub udp_ports: Vec<u16>,
}

/// Name of the nft table holding [`LabPolicy`] for [`Flavor::Nft`].
pub const LAB_TABLE: &str = "nfhlab";

impl LabPolicy {
    /// The nft script of the additions (table `inet nfhlab`).
    pub fn nft_script(&self) -> String {
        let mut s = format!(
            "table inet {LAB_TABLE} {{\n\tchain forward {{\n\t\ttype filter hook forward priority filter + 10; policy drop;\n\t\tct state established accept\n\t\tct state related accept\n"
        );
        for (a, port) in &self.tcp {
            let l3 = if a.is_ipv4() { "ip" } else { "ip6" };
            s.push_str(&format!(
                "\t\tct state new {l3} daddr {a} tcp dport {port} accept\n"
            ));
        }
        for port in &self.udp_ports {
            s.push_str(&format!("\t\tct state new udp dport {port} accept\n"));
        }
        s.push_str("\t}\n}\n");
        s
    }

    /// The iptables argument lists of the additions for one family (`v6`), each appended with
    /// `-A`; the policy is set separately.
    pub fn iptables_rules(&self, v6: bool) -> Vec<Vec<String>> {
        let mut rules: Vec<Vec<String>> = vec![
            "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
                .split(' ')
                .map(str::to_owned)
                .collect(),
        ];
        for (a, port) in self.tcp.iter().filter(|(a, _)| a.is_ipv6() == v6) {
            rules.push(
                format!(
                    "-A FORWARD -m conntrack --ctstate NEW -p tcp -d {a} --dport {port} -j ACCEPT"
                )
                .split(' ')
                .map(str::to_owned)
                .collect(),
            );
        }
        for port in &self.udp_ports {
            rules.push(
                format!("-A FORWARD -m conntrack --ctstate NEW -p udp --dport {port} -j ACCEPT")
                    .split(' ')
                    .map(str::to_owned)
                    .collect(),
            );
        }
        rules
    }

    /// Adds the additions in `ns` with the tools of `flavor` (after the generated rules).
    pub fn apply(&self, ns: &Netns, flavor: Flavor) -> Result<(), CommandError> {
        match flavor {
            Flavor::Nft => run_with_input(ns, "nft", &["-f", "-"], &self.nft_script()).map(drop),
            Flavor::Legacy | Flavor::IptablesNft => {
                for v6 in [false, true] {
                    let tool = flavor.iptables(v6);
                    ns.run(tool, &["-w", "-P", "FORWARD", "DROP"])?;
                    for rule in self.iptables_rules(v6) {
                        let mut args = vec!["-w"];
                        args.extend(rule.iter().map(String::as_str));
                        ns.run(tool, &args)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The filter base chains of an `nft list ruleset` text: `(family, table, chain, hook)` for
/// every chain declared with `type filter hook <hook>`.
pub fn nft_base_chains(ruleset: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut table: Option<(String, String)> = None;
    let mut chain: Option<String> = None;
    for line in ruleset.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["table", family, name, "{"] => {
                table = Some(((*family).to_owned(), (*name).to_owned()));
                chain = None;
            }
            ["chain", name, "{"] => chain = Some((*name).to_owned()),
            ["type", "filter", "hook", hook, ..] => {
                if let (Some((family, tname)), Some(cname)) = (&table, &chain) {
                    out.push((
                        family.clone(),
                        tname.clone(),
                        cname.clone(),
                        hook.trim_end_matches(';').to_owned(),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// The control run's blanket accept: every RELATED packet is accepted before the generated
/// RELATED rules see it (FORWARD, INPUT and OUTPUT).
///
/// iptables flavors: `-I FORWARD|INPUT|OUTPUT 1 -m conntrack --ctstate RELATED -j ACCEPT`.
/// nft: `insert rule … ct state related accept` at the top of every filter base chain on the
/// forward, input and output hooks of every table (so also the generated table's own, where a
/// later drop would otherwise be final).
pub fn allow_all_related(ns: &Netns, flavor: Flavor) -> Result<(), CommandError> {
    match flavor {
        Flavor::Legacy | Flavor::IptablesNft => {
            for v6 in [false, true] {
                for chain in ["FORWARD", "INPUT", "OUTPUT"] {
                    ns.run(
                        flavor.iptables(v6),
                        &[
                            "-w",
                            "-I",
                            chain,
                            "1",
                            "-m",
                            "conntrack",
                            "--ctstate",
                            "RELATED",
                            "-j",
                            "ACCEPT",
                        ],
                    )?;
                }
            }
            Ok(())
        }
        Flavor::Nft => {
            let ruleset = ns.run("nft", &["list", "ruleset"])?;
            for (family, table, chain, hook) in nft_base_chains(&ruleset) {
                if ["forward", "input", "output"].contains(&hook.as_str()) {
                    ns.run(
                        "nft",
                        &[
                            "insert", "rule", &family, &table, &chain, "ct", "state", "related",
                            "accept",
                        ],
                    )?;
                }
            }
            Ok(())
        }
    }
}

/// The rules of `ns` with counters, for failure messages: `iptables-save -c` and
/// `ip6tables-save -c` of the flavor, and `nft list ruleset` (which also shows iptables-nft
/// rules).
pub fn dump(ns: &Netns, flavor: Flavor) -> String {
    let mut out = String::new();
    let mut section = |title: &str, program: &str, args: &[&str]| {
        out.push_str(&format!("--- {title} ---\n"));
        match ns.exec(program, args) {
            Ok(o) => {
                out.push_str(&o.stdout);
                if !o.stderr.trim().is_empty() {
                    out.push_str(&format!("(stderr) {}\n", o.stderr.trim_end()));
                }
            }
            Err(e) => out.push_str(&format!("{e}\n")),
        }
    };
    match flavor {
        Flavor::Legacy => {
            section("iptables-legacy-save -c", "iptables-legacy-save", &["-c"]);
            section("ip6tables-legacy-save -c", "ip6tables-legacy-save", &["-c"]);
        }
        Flavor::IptablesNft => {
            section("iptables-nft-save -c", "iptables-nft-save", &["-c"]);
            section("ip6tables-nft-save -c", "ip6tables-nft-save", &["-c"]);
        }
        Flavor::Nft => section("nft -a list ruleset", "nft", &["-a", "list", "ruleset"]),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_chains_from_listing() {
        let text = "table inet nfh {\n\tchain related-fwd {\n\t\tdrop\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tct state related jump related-fwd\n\t}\n}\ntable ip raw {\n\tchain PREROUTING {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t}\n}\n";
        assert_eq!(
            nft_base_chains(text),
            vec![
                (
                    "inet".to_owned(),
                    "nfh".to_owned(),
                    "forward".to_owned(),
                    "forward".to_owned()
                ),
                (
                    "ip".to_owned(),
                    "raw".to_owned(),
                    "PREROUTING".to_owned(),
                    "prerouting".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn lab_policy_texts() {
        let p = LabPolicy {
            tcp: vec![("10.81.2.10".parse().unwrap(), 21)],
            udp_ports: vec![9999],
        };
        let nft = p.nft_script();
        assert!(nft.contains("ct state new ip daddr 10.81.2.10 tcp dport 21 accept"));
        assert_eq!(p.iptables_rules(false).len(), 3);
        assert_eq!(p.iptables_rules(true).len(), 2);
    }
}
