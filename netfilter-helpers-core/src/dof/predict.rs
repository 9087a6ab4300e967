//! What a rule predicts from a master connection and an announcement, and why it refuses.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::*;
use crate::expect::{ExpectFlags, Expectation, Tuple, TupleError};
use crate::net::prefix_mask;
use crate::net::{Family, L4Proto};
use Freedom as F;

impl ExpectationRule {
    /// Explains every attribute in words an administrator understands.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::{rule, ExpectationKind};
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let mut o = ModuleOptions::new();
    /// o.set_assignment("ftp.loose=1").unwrap();
    /// let text = rule(ExpectationKind::FtpData, &o).explain().join("\n");
    /// assert!(text.contains("destination address of ftp data connections is taken from the payload"));
    /// assert!(text.contains("FTP bounce"));
    /// ```
    pub fn explain(&self) -> Vec<String> {
        let what = format!("{} {} connections", self.helper, self.kind.label());
        let mut out = Vec::new();
        for attr in Attribute::ALL {
            let f = self.freedoms.get(attr);
            let s = match f {
                F::Master(e) => format!(
                    "the {attr} of {what} is the master connection's {e} ({}): not forgeable",
                    endpoint_words(e)
                ),
                F::PayloadChecked(e) => format!(
                    "the {attr} of {what} is read from the payload ({}) but must equal the master's {e}; otherwise no expectation is created",
                    self.trigger
                ),
                F::Payload => format!(
                    "the {attr} of {what} is taken from the payload ({}): whoever writes that payload chooses it",
                    self.trigger
                ),
                F::Wildcard => format!("the {attr} of {what} is a wildcard: any value matches"),
                F::InterfaceNetwork => format!(
                    "the {attr} of {what} is any address of the outgoing interface's network"
                ),
                F::HelperPort => format!("the {attr} of {what} is the helper's registered port"),
                F::Protocol(p) => format!("the {attr} of {what} is always {p}"),
                F::MasterProtocol => format!(
                    "the {attr} of {what} is the master connection's protocol (a transport= parameter must match it)"
                ),
            };
            out.push(s);
        }
        if let Some(r) = &self.risk {
            out.push(format!("risk: {r}"));
        }
        out
    }

    /// Predicts the expectations the kernel creates for one announcement on a master
    /// connection, or says why it creates none.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::{rule, Announcement, ExpectationKind, Master, Side};
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// use netfilter_helpers_core::net::L4Proto;
    ///
    /// let o = ModuleOptions::new();
    /// let master = Master::new("ftp", "10.0.0.2:40000".parse().unwrap(), "10.0.1.2:21".parse().unwrap(), L4Proto::Tcp).unwrap();
    /// let ftp = rule(ExpectationKind::FtpData, &o);
    /// // PORT naming the client itself
    /// let ok = ftp.predict(&master, &Announcement::new(Side::Initiator, Some("10.0.0.2".parse().unwrap()), 50000)).unwrap();
    /// assert_eq!(ok[0].to_conntrack_line(None).split(" mask-src").next().unwrap(),
    ///            "proto=6 src=10.0.1.2 dst=10.0.0.2 sport=0 dport=50000");
    /// // PORT naming a third party: refused while loose=0
    /// let refused = ftp.predict(&master, &Announcement::new(Side::Initiator, Some("10.0.1.3".parse().unwrap()), 50000));
    /// assert!(refused.unwrap_err().to_string().contains("differs from the master's sender"));
    /// ```
    pub fn predict(
        &self,
        master: &Master,
        ann: &Announcement,
    ) -> Result<Vec<Expectation>, Refusal> {
        let refuse = |reason: String| Refusal {
            kind: self.kind,
            reason,
        };
        match (self.command_from, ann.from) {
            (CommandFrom::Initiator, Side::Responder) => {
                return Err(refuse(format!(
                    "{} parses only packets from the initiator",
                    self.helper
                )));
            }
            (CommandFrom::Responder, Side::Initiator) => {
                return Err(refuse(format!(
                    "{} parses only packets from the responder",
                    self.helper
                )));
            }
            _ => {}
        }
        let family = master.tuple.family();
        if let Some(check) = self.route_check {
            let Some(route) = ann.route else {
                return Err(refuse(
                    "the route to the announced address is needed to predict this expectation"
                        .into(),
                ));
            };
            let skipped = match check {
                RouteCheck::Interface => route.same_interface,
                RouteCheck::NextHopAndInterface => route.same_interface && route.same_next_hop,
            };
            if skipped {
                return Err(refuse(match check {
                    RouteCheck::Interface => "sip_external_media=1: the media address is routed out of the interface the SIP packet leaves through".into(),
                    RouteCheck::NextHopAndInterface => "callforward_filter=1: the forwarded-to address is routed like the Facility's receiver (same next hop and interface)".into(),
                }));
            }
        }
        if let Some(a) = ann.addr
            && Family::of(&a) != family
        {
            return Err(refuse(format!(
                "announced address {a} is not of the master's family {family}"
            )));
        }
        let (sender, peer) = match ann.from {
            Side::Initiator => (master.initiator(), master.responder()),
            Side::Responder => (master.responder(), master.initiator()),
        };
        let endpoint = |e: Endpoint| match e {
            Endpoint::Initiator => master.initiator(),
            Endpoint::Responder => master.responder(),
            Endpoint::Sender => sender,
            Endpoint::Peer => peer,
        };
        let announced_addr = ann.addr.unwrap_or(sender.0);
        // process_gcf() (net/netfilter/nf_conntrack_h323_main.c): "Registration port is the
        // same as discovery port" — a rasAddress equal to the GCF sender's own address and
        // port opens nothing (seen live in lab_fidelity h323_ras_matches_the_model).
        if self.kind == ExpectationKind::RasFromGcf && (announced_addr, ann.port) == sender {
            return Err(refuse(format!(
                "rasAddress {announced_addr} port {} is the sender's own RAS address",
                ann.port
            )));
        }
        // process_acf() (net/netfilter/nf_conntrack_h323_main.c): a destCallSignalAddress
        // equal to the packet's destination (`ct->tuplehash[dir].tuple.dst`, compared as a
        // whole address, the port aside) is an "Answering ACF": no expectation (seen live
        // in lab_fidelity h323_ras_matches_the_model). process_lcf() has no such check.
        if let Some(e) = self.refused_dst
            && announced_addr == endpoint(e).0
        {
            return Err(refuse(format!(
                "announced address {announced_addr} is the master's {e} ({}): the kernel creates no {} expectation for it",
                endpoint_words(e),
                self.kind.label()
            )));
        }

        // Source address and its mask.
        let (src, src_mask) = match self.freedoms.src_addr {
            F::Master(e) => (Some(endpoint(e).0), None),
            F::PayloadChecked(_) | F::Payload => (Some(announced_addr), None),
            F::Wildcard => (None, None),
            F::InterfaceNetwork => {
                let Some(len) = ann.interface_prefix else {
                    return Err(refuse(
                        "the interface prefix length is needed to predict a broadcast expectation"
                            .into(),
                    ));
                };
                (Some(master.responder().0), Some(prefix_mask(family, len)))
            }
            F::HelperPort | F::Protocol(_) | F::MasterProtocol => {
                return Err(refuse("source address freedom is not an address".into()));
            }
        };
        // Destination address.
        let dst = match self.freedoms.dst_addr {
            F::Master(e) => endpoint(e).0,
            F::PayloadChecked(e) => {
                let want = endpoint(e).0;
                if announced_addr != want {
                    let opt = if self.kind == ExpectationKind::FtpData {
                        " while ftp loose=0"
                    } else if matches!(
                        self.kind,
                        ExpectationKind::SipAudio
                            | ExpectationKind::SipVideo
                            | ExpectationKind::SipImage
                    ) {
                        " while sip_direct_media=1"
                    } else {
                        ""
                    };
                    return Err(refuse(format!(
                        "announced address {announced_addr} differs from the master's {e} {want}{opt}"
                    )));
                }
                want
            }
            F::Payload => announced_addr,
            _ => return Err(refuse("destination freedom is not an address".into())),
        };
        // Layer 4.
        let l4 = match self.freedoms.l4 {
            F::Protocol(p) => p,
            F::MasterProtocol => {
                if let Some(p) = ann.transport
                    && p != master.tuple.l4
                {
                    return Err(refuse(format!(
                        "announced transport {p} differs from the master's {}",
                        master.tuple.l4
                    )));
                }
                master.tuple.l4
            }
            _ => return Err(refuse("protocol freedom is not a protocol".into())),
        };
        // Source port.
        let sport = match self.freedoms.src_port {
            F::Wildcard => None,
            F::HelperPort => self.helper.info().default_port,
            F::Master(e) => Some(endpoint(e).1),
            F::Payload => ann.second_port,
            _ => None,
        };
        // Destination port(s).
        let port = ann.port;
        let dports: Vec<u16> = match (self.freedoms.dst_port, self.port_rule) {
            (F::Master(e), _) => vec![endpoint(e).1],
            (_, PortRule::NonZero) if port == 0 => {
                return Err(refuse("announced port 0 is refused".into()));
            }
            (_, PortRule::Unprivileged) if port < 1024 => {
                return Err(refuse(format!(
                    "announced port {port} is outside 1024-65535: the packet is dropped"
                )));
            }
            (_, PortRule::SdpRtpPair) => {
                if port == 0 {
                    return Err(refuse("port 0 marks an inactive stream".into()));
                }
                if port < 1024 {
                    return Err(refuse(format!(
                        "media port {port} is outside 1024-65535: the packet is dropped"
                    )));
                }
                let rtp = port & !1;
                vec![rtp, rtp.wrapping_add(1)]
            }
            (_, PortRule::H323RtpPair) => {
                if port == 0 {
                    return Err(refuse("announced port 0 is refused".into()));
                }
                vec![port & !1, port | 1]
            }
            _ => vec![port],
        };

        let helper_name = master.helper.clone();
        let flags = if ann.confirmed {
            self.flags - ExpectFlags::INACTIVE
        } else {
            self.flags
        };
        let mut out = Vec::with_capacity(self.count as usize);
        let mk = |src: Option<IpAddr>,
                  sport: Option<u16>,
                  dst: IpAddr,
                  dport: u16|
         -> Result<Expectation, Refusal> {
            let mut e = Expectation::new(src, sport, dst, dport, l4)
                .map_err(|e: TupleError| refuse(e.to_string()))?;
            if let Some(m) = src_mask {
                e = e.with_src_mask(m).map_err(|e| refuse(e.to_string()))?;
            }
            Ok(e.with_master(master.tuple)
                .with_helper(&helper_name, self.class.number())
                .with_flags(flags))
        };
        if self.port_rule == PortRule::GreCallIds {
            let peer_key = ann.second_port.unwrap_or(0);
            let (i, r) = (master.initiator().0, master.responder().0);
            out.push(mk(Some(i), Some(peer_key), r, port)?);
            out.push(mk(Some(r), Some(port), i, peer_key)?);
        } else {
            for dport in dports {
                out.push(mk(src, sport, dst, dport)?);
            }
        }
        Ok(out)
    }
}

pub(super) fn endpoint_words(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Initiator => "the host that opened the master connection",
        Endpoint::Responder => "the host the master connection was opened to",
        Endpoint::Sender => "the host that sent the command",
        Endpoint::Peer => "the other end of the master connection from the command's sender",
    }
}

/// Why the kernel creates no expectation for an announcement.
///
/// ```
/// use netfilter_helpers_core::net::L4Proto;
/// use netfilter_helpers_core::options::ModuleOptions;
/// use netfilter_helpers_core::dof::{rule, Announcement, ExpectationKind, Master, Side};
/// let m = Master::new("irc", "10.0.0.2:40000".parse().unwrap(), "10.0.1.2:6667".parse().unwrap(), L4Proto::Tcp).unwrap();
/// let dcc = rule(ExpectationKind::IrcDcc, &ModuleOptions::new());
/// let r = dcc.predict(&m, &Announcement::new(Side::Initiator, None, 0)).unwrap_err();
/// assert_eq!(r.kind, ExpectationKind::IrcDcc);
/// assert_eq!(r.to_string(), "IrcDcc: no expectation: announced port 0 is refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{kind:?}: no expectation: {reason}")]
#[non_exhaustive]
pub struct Refusal {
    /// The kind of expectation.
    pub kind: ExpectationKind,
    /// Why.
    pub reason: String,
}

/// A side of the master connection.
///
/// ```
/// use netfilter_helpers_core::net::L4Proto;
/// use netfilter_helpers_core::options::ModuleOptions;
/// use netfilter_helpers_core::dof::{rule, Announcement, ExpectationKind, Master, Side};
/// let m = Master::new("irc", "10.0.0.2:40000".parse().unwrap(), "10.0.1.2:6667".parse().unwrap(), L4Proto::Tcp).unwrap();
/// let dcc = rule(ExpectationKind::IrcDcc, &ModuleOptions::new());
/// let r = dcc.predict(&m, &Announcement::new(Side::Responder, None, 5000)).unwrap_err();
/// assert_eq!(r.reason, "irc parses only packets from the initiator");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The host that opened the master connection.
    Initiator,
    /// The host it was opened to.
    Responder,
}

/// A master connection: its ORIGINAL tuple and the helper name assigned to it.
///
/// ```
/// use netfilter_helpers_core::net::L4Proto;
/// use netfilter_helpers_core::dof::Master;
/// let m = Master::new("ftp-2121", "10.0.0.2:40000".parse().unwrap(), "10.0.1.2:2121".parse().unwrap(), L4Proto::Tcp).unwrap();
/// assert_eq!(m.helper, "ftp-2121");
/// assert_eq!((m.tuple.sport, m.tuple.dport), (40000, 2121));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Master {
    /// The helper name as assigned (`ftp`, `ftp-2121`, `sip-1`).
    pub helper: String,
    /// The ORIGINAL-direction tuple (initiator to responder).
    pub tuple: Tuple,
}

impl Master {
    /// A master connection from its two socket addresses.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::dof::Master;
    /// let m = Master::new("ftp", "10.0.0.2:40000".parse().unwrap(), "[::1]:21".parse().unwrap(), L4Proto::Tcp);
    /// assert!(m.is_err()); // the two addresses must be of one family
    /// ```
    pub fn new(
        helper: &str,
        initiator: std::net::SocketAddr,
        responder: std::net::SocketAddr,
        l4: L4Proto,
    ) -> Result<Self, TupleError> {
        Ok(Master {
            helper: helper.to_string(),
            tuple: Tuple::new(
                initiator.ip(),
                initiator.port(),
                responder.ip(),
                responder.port(),
                l4,
            )?,
        })
    }

    fn initiator(&self) -> (IpAddr, u16) {
        (self.tuple.src, self.tuple.sport)
    }

    fn responder(&self) -> (IpAddr, u16) {
        (self.tuple.dst, self.tuple.dport)
    }
}

/// What a command in the payload announced.
///
/// ```
/// use netfilter_helpers_core::net::L4Proto;
/// use netfilter_helpers_core::options::ModuleOptions;
/// use netfilter_helpers_core::dof::{rule, Announcement, ExpectationKind, Master, Side};
/// let m = Master::new("pptp", "192.168.13.152:40000".parse().unwrap(), "192.168.13.118:1723".parse().unwrap(), L4Proto::Tcp).unwrap();
/// // PPTP: the call ID goes in `port`, the peer call ID in `second_port`.
/// let mut a = Announcement::new(Side::Responder, None, 0x6bd8);
/// a.second_port = Some(0xa9a0);
/// let gre = rule(ExpectationKind::PptpGre, &ModuleOptions::new()).predict(&m, &a).unwrap();
/// assert_eq!(gre.iter().map(|e| (e.sport, e.dport)).collect::<Vec<_>>(), [(0xa9a0, 0x6bd8), (0x6bd8, 0xa9a0)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Announcement {
    /// Which side sent it.
    pub from: Side,
    /// The announced address; `None` for commands without one (EPSV), which stand for the
    /// sender.
    pub addr: Option<IpAddr>,
    /// The announced port (PPTP: the call ID).
    pub port: u16,
    /// A second announced value: PPTP's peer call ID.
    pub second_port: Option<u16>,
    /// The announced transport (SIP `transport=`).
    pub transport: Option<L4Proto>,
    /// For broadcast helpers: the prefix length of the interface the query left through.
    pub interface_prefix: Option<u8>,
    /// The peer confirmed the announcement (SIP: a 2xx response to the REGISTER), which clears
    /// the INACTIVE flag.
    pub confirmed: bool,
    /// The route to the announced address, for a rule with a [`RouteCheck`].
    pub route: Option<Route>,
}

impl Announcement {
    /// An announcement of an address and port by one side.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::{Announcement, Side};
    /// let a = Announcement::new(Side::Initiator, Some("10.0.0.2".parse().unwrap()), 50000);
    /// assert_eq!((a.port, a.second_port, a.transport, a.interface_prefix), (50000, None, None, None));
    /// ```
    pub fn new(from: Side, addr: Option<IpAddr>, port: u16) -> Self {
        Announcement {
            from,
            addr,
            port,
            second_port: None,
            transport: None,
            interface_prefix: None,
            confirmed: false,
            route: None,
        }
    }
}

/// What the routing table of the host running the helper says about an announced address,
/// compared with the reference route of the [`RouteCheck`] in force.
///
/// ```
/// use netfilter_helpers_core::dof::Route;
/// let r = Route { same_interface: true, same_next_hop: false };
/// assert!(r.same_interface && !r.same_next_hop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Route {
    /// The route to the announced address leaves through the reference route's interface.
    pub same_interface: bool,
    /// Its next hop is the reference route's (a directly connected destination is its own
    /// next hop, so two hosts on one link differ).
    pub same_next_hop: bool,
}

impl Route {
    /// A route fact.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::Route;
    /// assert_eq!(Route::new(true, false), Route { same_interface: true, same_next_hop: false });
    /// ```
    pub const fn new(same_interface: bool, same_next_hop: bool) -> Route {
        Route {
            same_interface,
            same_next_hop,
        }
    }
}
