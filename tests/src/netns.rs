//! RAII network namespaces and the client — router — server lab topology.
//!
//! Everything here shells out to `ip`, `sysctl`, `iptables`/`ip6tables` and `kill` (std only,
//! no netlink crate). Commands that must run inside a namespace go through
//! `ip netns exec NAME …` (or `ip -n NAME …` for `ip` itself).
//!
//! # Naming and cleanup
//!
//! A [`Netns`] is named `nfh-<pid>-<counter>-<role>`, so names are unique per process and per
//! lab, and a leftover namespace can be traced back to the process that created it. Dropping a
//! [`Netns`] kills every process still running inside it (`ip netns pids`) and deletes it
//! (`ip netns del`), which also destroys its veth ends, its conntrack table and its
//! expectations. Drop runs during unwinding too, so a panicking test leaves nothing behind.
//! Namespaces of a process that was killed outright (no unwinding) are removed by
//! [`reap_stale_namespaces`], which the lab probe (`lab_available`) runs once per process.
//!
//! # Topology built by [`Lab::new`]
//!
//! ```text
//!   client ns                 router ns                         server ns
//!   eth0 10.71.1.2/24  ───  r-cli 10.71.1.1/24
//!        fd71:1::2/64             fd71:1::1/64
//!                             br-srv 10.71.2.1/24  ─┬─ r-srv ───  eth0 10.71.2.2/24, fd71:2::2/64
//!                                    fd71:2::1/64   │
//!                                                   └─ r-thd ───  eth0 10.71.2.3/24, fd71:2::3/64
//!                                                                 (third ns)
//! ```
//!
//! * client, server and third have a default route (v4 and v6) via the router;
//! * the router forwards (`net.ipv4.ip_forward=1`, `net.ipv6.conf.all.forwarding=1`), has
//!   `bridge-nf-call-{ip,ip6,arp}tables=0` (bridged frames between server and third never reach
//!   its iptables), and is where conntrack and the helpers run: [`Lab::assign_helper`] appends
//!   `-t raw -A PREROUTING -p <l4> --dport <port> -j CT --helper <name>` there;
//! * the third party shares the server's segment (same router device `br-srv`), which matters
//!   for `nf_conntrack_sip sip_external_media` (media address routed out of the same device as
//!   the SIP packet);
//! * IPv6 addresses are added with `nodad` so they are usable immediately; IPv4 addresses get
//!   `brd +` (the broadcast helpers need a broadcast address on the interface).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A command that could not be run or exited unsuccessfully.
///
/// Its `Display` names the full command line, the exit status, stdout and stderr.
#[derive(Debug, Clone)]
pub struct CommandError {
    /// The command line, shell-like (`ip netns exec nfh-… iptables …`).
    pub command: String,
    /// Exit status; `None` when the command could not be spawned or was killed by a signal.
    pub status: Option<i32>,
    /// Captured standard output (lossy UTF-8).
    pub stdout: String,
    /// Captured standard error (lossy UTF-8), or the spawn error.
    pub stderr: String,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Some(code) => format!("exit status {code}"),
            None => "no exit status (spawn failure or signal)".to_owned(),
        };
        write!(
            f,
            "command `{}` failed: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

impl std::error::Error for CommandError {}

/// Output of a command that was run to completion (whatever its exit status).
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The command line that was run.
    pub command: String,
    /// Exit status; `None` if killed by a signal.
    pub status: Option<i32>,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

impl CmdOutput {
    /// True if the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Turns a non-zero exit into a [`CommandError`], otherwise returns stdout.
    pub fn into_stdout(self) -> Result<String, CommandError> {
        if self.success() {
            Ok(self.stdout)
        } else {
            Err(CommandError {
                command: self.command,
                status: self.status,
                stdout: self.stdout,
                stderr: self.stderr,
            })
        }
    }
}

fn command_line(program: &str, args: &[&str]) -> String {
    let mut line = program.to_owned();
    for arg in args {
        line.push(' ');
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            line.push('\'');
            line.push_str(&arg.replace('\'', "'\\''"));
            line.push('\'');
        } else {
            line.push_str(arg);
        }
    }
    line
}

fn finish(command: String, output: Output) -> CmdOutput {
    CmdOutput {
        command,
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `program args…` in the current (root) namespace and returns its output, whatever the
/// exit status. Fails only if the program cannot be spawned.
pub fn host_exec(program: &str, args: &[&str]) -> Result<CmdOutput, CommandError> {
    let command = command_line(program, args);
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) => Ok(finish(command, output)),
        Err(err) => Err(CommandError {
            command,
            status: None,
            stdout: String::new(),
            stderr: format!("cannot spawn: {err}"),
        }),
    }
}

/// Runs `program args…` in the current (root) namespace; returns stdout, or an error naming the
/// command, its status, stdout and stderr if it exits non-zero.
pub fn host_run(program: &str, args: &[&str]) -> Result<String, CommandError> {
    host_exec(program, args)?.into_stdout()
}

static NETNS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace owned by this process, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `nfh-<pid>-<counter>-<role>` and brings its `lo` up.
    ///
    /// `role` should be short and made of `[a-z0-9-]` (it ends up in the name only).
    pub fn new(role: &str) -> Result<Netns, CommandError> {
        let counter = NETNS_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("nfh-{}-{counter}-{role}", std::process::id());
        host_run("ip", &["netns", "add", &name])?;
        // From here on Drop cleans up, even if bringing lo up fails.
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace name (as listed by `ip netns list`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A [`Command`] for `ip netns exec NAME program`, for callers that need to spawn (pipes,
    /// background processes). Add arguments and stdio configuration yourself.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Runs `program args…` inside the namespace and returns its output whatever the exit
    /// status (fails only if `ip netns exec` cannot be spawned).
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<CmdOutput, CommandError> {
        let mut full = vec!["netns", "exec", self.name.as_str(), program];
        full.extend_from_slice(args);
        host_exec("ip", &full)
    }

    /// Runs `program args…` inside the namespace; returns stdout, or an error naming the
    /// command, its exit status, stdout and stderr if it exits non-zero.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String, CommandError> {
        self.exec(program, args)?.into_stdout()
    }

    /// Runs `ip -n NAME args…` (fails on non-zero exit).
    pub fn ip(&self, args: &[&str]) -> Result<String, CommandError> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        host_run("ip", &full)
    }

    /// `sysctl -w key=value` inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<(), CommandError> {
        self.run("sysctl", &["-q", "-w", &format!("{key}={value}")])
            .map(drop)
    }

    /// Enables IPv4 and IPv6 forwarding inside the namespace.
    pub fn enable_forwarding(&self) -> Result<(), CommandError> {
        self.sysctl("net.ipv4.ip_forward", "1")?;
        self.sysctl("net.ipv6.conf.all.forwarding", "1")
    }

    /// Adds an address (`10.71.1.2/24` or `fd71:1::2/64`) to `dev`: IPv4 with `brd +`, IPv6
    /// with `nodad`.
    pub fn add_addr(&self, dev: &str, cidr: &str) -> Result<(), CommandError> {
        if cidr.contains(':') {
            self.ip(&["-6", "addr", "add", cidr, "dev", dev, "nodad"])
                .map(drop)
        } else {
            self.ip(&["addr", "add", cidr, "brd", "+", "dev", dev])
                .map(drop)
        }
    }

    /// Brings a link up.
    pub fn link_up(&self, dev: &str) -> Result<(), CommandError> {
        self.ip(&["link", "set", dev, "up"]).map(drop)
    }

    /// Adds default routes via `gw4` and `gw6`.
    pub fn default_routes(&self, gw4: Ipv4Addr, gw6: Ipv6Addr) -> Result<(), CommandError> {
        self.ip(&["route", "add", "default", "via", &gw4.to_string()])?;
        self.ip(&["-6", "route", "add", "default", "via", &gw6.to_string()])
            .map(drop)
    }

    /// Process ids running inside the namespace (`ip netns pids NAME`).
    pub fn pids(&self) -> Vec<u32> {
        host_run("ip", &["netns", "pids", &self.name])
            .map(|out| {
                out.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Kills (SIGKILL) every process still running inside the namespace.
    pub fn kill_all(&self) {
        let pids: Vec<String> = self.pids().iter().map(u32::to_string).collect();
        if pids.is_empty() {
            return;
        }
        let mut args = vec!["-KILL"];
        args.extend(pids.iter().map(String::as_str));
        let _ = host_exec("kill", &args);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_all();
        if let Err(err) = host_run("ip", &["netns", "del", &self.name]) {
            eprintln!(
                "netfilter-helpers-tests: cannot delete netns {}: {err}",
                self.name
            );
        }
    }
}

/// Deletes `nfh-<pid>-…` namespaces left behind by processes that no longer exist (e.g. a test
/// binary killed with SIGKILL, whose `Drop`s never ran). Returns the names deleted. Namespaces
/// of live processes, including this one, are never touched.
pub fn reap_stale_namespaces() -> Vec<String> {
    let Ok(list) = host_run("ip", &["netns", "list"]) else {
        return Vec::new();
    };
    let mut reaped = Vec::new();
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = name
            .strip_prefix("nfh-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let stale = Netns {
            name: name.to_owned(),
        };
        drop(stale); // kills what runs inside and deletes it
        reaped.push(name.to_owned());
    }
    reaped
}

/// Creates a veth pair with one end (`a_if`) in `a` and the other (`b_if`) in `b`, both down.
///
/// Interface names are limited to 15 bytes; they only need to be unique inside their own
/// namespace (the pair is created directly inside the namespaces, never in the root one).
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<(), CommandError> {
    for name in [a_if, b_if] {
        assert!(
            !name.is_empty() && name.len() <= 15,
            "interface name {name:?} must be 1..=15 bytes"
        );
    }
    a.ip(&[
        "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name,
    ])
    .map(drop)
}

/// Address family of a scenario or a CT rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (`iptables`, l3proto 2).
    V4,
    /// IPv6 (`ip6tables`, l3proto 10).
    V6,
}

impl Family {
    /// `iptables` or `ip6tables`.
    pub fn iptables(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }

    /// The kernel's l3proto number as printed in `/proc/net/nf_conntrack_expect` (2 or 10).
    pub fn l3proto(self) -> u8 {
        match self {
            Family::V4 => 2,
            Family::V6 => 10,
        }
    }
}

/// Transport protocol of a master connection or a CT rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4 {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
}

impl L4 {
    /// `tcp` or `udp` (iptables `-p` spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            L4::Tcp => "tcp",
            L4::Udp => "udp",
        }
    }

    /// IP protocol number (6 or 17), as printed in `proto=`.
    pub fn proto_num(self) -> u8 {
        match self {
            L4::Tcp => 6,
            L4::Udp => 17,
        }
    }
}

/// The lab's fixed addresses (private test ranges, only ever configured on lab veths).
pub mod addr {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Client, on the client-side segment.
    pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(10, 71, 1, 2);
    /// Router, client side (the client's gateway).
    pub const ROUTER_CLIENT_V4: Ipv4Addr = Ipv4Addr::new(10, 71, 1, 1);
    /// Broadcast address of the client-side segment.
    pub const CLIENT_BROADCAST_V4: Ipv4Addr = Ipv4Addr::new(10, 71, 1, 255);
    /// Router, server side (gateway of server and third).
    pub const ROUTER_SERVER_V4: Ipv4Addr = Ipv4Addr::new(10, 71, 2, 1);
    /// Server.
    pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(10, 71, 2, 2);
    /// Third party, on the server's segment.
    pub const THIRD_V4: Ipv4Addr = Ipv4Addr::new(10, 71, 2, 3);

    /// Client (IPv6).
    pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd71, 1, 0, 0, 0, 0, 0, 2);
    /// Router, client side (IPv6).
    pub const ROUTER_CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd71, 1, 0, 0, 0, 0, 0, 1);
    /// Router, server side (IPv6).
    pub const ROUTER_SERVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd71, 2, 0, 0, 0, 0, 0, 1);
    /// Server (IPv6).
    pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd71, 2, 0, 0, 0, 0, 0, 2);
    /// Third party (IPv6), on the server's segment.
    pub const THIRD_V6: Ipv6Addr = Ipv6Addr::new(0xfd71, 2, 0, 0, 0, 0, 0, 3);
}

/// The end hosts of the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// The client namespace (initiates master connections).
    Client,
    /// The router namespace (conntrack + helpers).
    Router,
    /// The server namespace (accepts master connections).
    Server,
    /// The third party namespace (same segment as the server).
    Third,
}

/// The four-namespace lab: client — router — server, plus a third party next to the server.
///
/// Fields are dropped (namespaces deleted) in declaration order when the lab is dropped.
#[derive(Debug)]
pub struct Lab {
    /// Client namespace (`eth0` 10.71.1.2/24, fd71:1::2/64).
    pub client: Netns,
    /// Server namespace (`eth0` 10.71.2.2/24, fd71:2::2/64).
    pub server: Netns,
    /// Third-party namespace (`eth0` 10.71.2.3/24, fd71:2::3/64).
    pub third: Netns,
    /// Router namespace: forwarding, conntrack, helpers (`r-cli`, bridge `br-srv`).
    pub router: Netns,
    /// How long scenario functions wait for a player's `READY`/`DONE`/`GOT` line.
    pub player_timeout: std::time::Duration,
}

impl Lab {
    /// Builds the topology described in the module docs. Namespaces created before a failure
    /// are deleted again (drop of the partially built parts).
    pub fn new() -> Result<Lab, CommandError> {
        let client = Netns::new("client")?;
        let router = Netns::new("router")?;
        let server = Netns::new("server")?;
        let third = Netns::new("third")?;

        veth(&router, "r-cli", &client, "eth0")?;
        veth(&router, "r-srv", &server, "eth0")?;
        veth(&router, "r-thd", &third, "eth0")?;

        // Router: client side interface, bridge on the server side.
        router.ip(&["link", "add", "br-srv", "type", "bridge"])?;
        router.ip(&["link", "set", "r-srv", "master", "br-srv"])?;
        router.ip(&["link", "set", "r-thd", "master", "br-srv"])?;
        router.add_addr("r-cli", "10.71.1.1/24")?;
        router.add_addr("r-cli", "fd71:1::1/64")?;
        router.add_addr("br-srv", "10.71.2.1/24")?;
        router.add_addr("br-srv", "fd71:2::1/64")?;
        for dev in ["r-cli", "r-srv", "r-thd", "br-srv"] {
            router.link_up(dev)?;
        }
        router.enable_forwarding()?;
        // Bridged frames (server <-> third) must not enter the router's iptables; the sysctls
        // only exist when br_netfilter is loaded, so failures are ignored.
        for key in [
            "net.bridge.bridge-nf-call-iptables",
            "net.bridge.bridge-nf-call-ip6tables",
            "net.bridge.bridge-nf-call-arptables",
        ] {
            let _ = router.sysctl(key, "0");
        }

        for (ns, v4, v6) in [
            (&client, "10.71.1.2/24", "fd71:1::2/64"),
            (&server, "10.71.2.2/24", "fd71:2::2/64"),
            (&third, "10.71.2.3/24", "fd71:2::3/64"),
        ] {
            ns.add_addr("eth0", v4)?;
            ns.add_addr("eth0", v6)?;
            ns.link_up("eth0")?;
        }
        client.default_routes(addr::ROUTER_CLIENT_V4, addr::ROUTER_CLIENT_V6)?;
        server.default_routes(addr::ROUTER_SERVER_V4, addr::ROUTER_SERVER_V6)?;
        third.default_routes(addr::ROUTER_SERVER_V4, addr::ROUTER_SERVER_V6)?;

        Ok(Lab {
            client,
            server,
            third,
            router,
            player_timeout: std::time::Duration::from_secs(10),
        })
    }

    /// The namespace of `host`.
    pub fn ns(&self, host: Host) -> &Netns {
        match host {
            Host::Client => &self.client,
            Host::Router => &self.router,
            Host::Server => &self.server,
            Host::Third => &self.third,
        }
    }

    /// The address of `host` in `family` (for the router: its server-side address).
    pub fn addr(&self, host: Host, family: Family) -> IpAddr {
        match (host, family) {
            (Host::Client, Family::V4) => addr::CLIENT_V4.into(),
            (Host::Client, Family::V6) => addr::CLIENT_V6.into(),
            (Host::Router, Family::V4) => addr::ROUTER_SERVER_V4.into(),
            (Host::Router, Family::V6) => addr::ROUTER_SERVER_V6.into(),
            (Host::Server, Family::V4) => addr::SERVER_V4.into(),
            (Host::Server, Family::V6) => addr::SERVER_V6.into(),
            (Host::Third, Family::V4) => addr::THIRD_V4.into(),
            (Host::Third, Family::V6) => addr::THIRD_V6.into(),
        }
    }

    /// Assigns `helper` in the router:
    /// `iptables|ip6tables -t raw -A PREROUTING -p <l4> --dport <dport> -j CT --helper <helper>`.
    ///
    /// The rule also makes the router's netns load conntrack for that family.
    pub fn assign_helper(
        &self,
        family: Family,
        l4: L4,
        dport: u16,
        helper: &str,
    ) -> Result<(), CommandError> {
        assign_helper_in(&self.router, "PREROUTING", family, l4, dport, helper)
    }

    /// Assigns `helper` to locally generated packets of `host` (raw `OUTPUT` chain of that
    /// namespace), e.g. for the broadcast helpers (`netbios-ns`), whose expectations then
    /// appear in that namespace.
    pub fn assign_local_helper(
        &self,
        host: Host,
        family: Family,
        l4: L4,
        dport: u16,
        helper: &str,
    ) -> Result<(), CommandError> {
        assign_helper_in(self.ns(host), "OUTPUT", family, l4, dport, helper)
    }
}

/// Appends `-t raw -A <chain> -p <l4> --dport <dport> -j CT --helper <helper>` in `ns`.
pub fn assign_helper_in(
    ns: &Netns,
    chain: &str,
    family: Family,
    l4: L4,
    dport: u16,
    helper: &str,
) -> Result<(), CommandError> {
    ns.run(
        family.iptables(),
        &[
            "-w",
            "-t",
            "raw",
            "-A",
            chain,
            "-p",
            l4.as_str(),
            "--dport",
            &dport.to_string(),
            "-j",
            "CT",
            "--helper",
            helper,
        ],
    )
    .map(drop)
}
