//! The degree-of-freedom model: for every helper, every kind of expectation it creates and
//! every module option setting, where each expectation attribute comes from.
//!
//! An attribute is either pinned to the master connection ([`Freedom::Master`]), parsed from
//! the payload but required to equal a master value ([`Freedom::PayloadChecked`]), parsed
//! freely from the payload ([`Freedom::Payload`], so forgeable by whoever writes the payload),
//! a wildcard, the interface's network, the helper's own port, or a protocol fixed by the
//! helper. The data follow the kernel sources (see `shared/reference/kernel-helpers.md`), not
//! the 2012 article where the two disagree: ftp `loose=1` frees the *destination*, H.323
//! Q.931 expectations are TCP, SIP media classes are audio, video and image.
//!
//! The model also *predicts*: given a master connection and what a command announced,
//! [`ExpectationRule::predict`] builds exactly the expectations the kernel creates, or says why
//! it creates none. The kernel lab in `tests/` checks those predictions against the live
//! kernel.
//!
//! ```
//! use netfilter_helpers_core::catalogue::Helper;
//! use netfilter_helpers_core::dof::{rules_for, Freedom, Endpoint};
//! use netfilter_helpers_core::options::ModuleOptions;
//!
//! let mut opts = ModuleOptions::new();
//! let ftp = &rules_for(Helper::Ftp, &opts)[0];
//! assert_eq!(ftp.freedoms.dst_addr, Freedom::PayloadChecked(Endpoint::Sender));
//! assert_eq!(ftp.freedoms.src_addr, Freedom::Master(Endpoint::Peer));
//!
//! opts.set_assignment("ftp.loose=1").unwrap();
//! let ftp = &rules_for(Helper::Ftp, &opts)[0];
//! assert_eq!(ftp.freedoms.dst_addr, Freedom::Payload);
//! // loose=1 does not free the source address (the article's table says it does).
//! assert_eq!(ftp.freedoms.src_addr, Freedom::Master(Endpoint::Peer));
//! ```

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::catalogue::{ClassPolicy, ExpectClass, Helper};
use crate::expect::{ExpectFlags, Expectation, Tuple, TupleError};
use crate::net::prefix_mask;
use crate::net::{Family, L4Proto};
use crate::options::{ModuleOptions, Param};

/// An endpoint of the master connection.
///
/// `Initiator`/`Responder` name the endpoints by the master's ORIGINAL direction; `Sender`/`Peer`
/// name them relative to the packet that carried the command (the sender wrote the payload).
///
/// ```
/// use netfilter_helpers_core::dof::{rule, Endpoint, ExpectationKind, Freedom};
/// use netfilter_helpers_core::options::ModuleOptions;
/// let tftp = rule(ExpectationKind::TftpData, &ModuleOptions::new());
/// assert_eq!(tftp.freedoms.dst_addr, Freedom::Master(Endpoint::Initiator));
/// assert_eq!(Endpoint::Responder.to_string(), "responder");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// The endpoint that opened the master connection (ORIGINAL source).
    Initiator,
    /// The endpoint the master connection was opened to (ORIGINAL destination).
    Responder,
    /// The endpoint that sent the packet carrying the command.
    Sender,
    /// The other endpoint.
    Peer,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Initiator => "initiator",
            Endpoint::Responder => "responder",
            Endpoint::Sender => "sender",
            Endpoint::Peer => "peer",
        })
    }
}

/// Where one expectation attribute comes from.
///
/// ```
/// use netfilter_helpers_core::dof::{Endpoint, Freedom};
/// assert_eq!(Freedom::PayloadChecked(Endpoint::Sender).code(), "P=M(sender)");
/// assert!(Freedom::Payload.forgeable());
/// assert!(!Freedom::PayloadChecked(Endpoint::Sender).forgeable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "of", rename_all = "kebab-case")]
pub enum Freedom {
    /// Copied from the master connection (`M(x)`): not forgeable.
    Master(Endpoint),
    /// Parsed from the payload but required to equal the master's value (`P=M(x)`); when it
    /// differs the kernel creates no expectation. Not forgeable.
    PayloadChecked(Endpoint),
    /// Parsed from the payload with no relation to the master (`P`): forgeable.
    Payload,
    /// Wildcard (`*`): anything matches.
    Wildcard,
    /// The network of the interface the broadcast left through (`NET`): any host on it.
    InterfaceNetwork,
    /// The helper's registered port (`H`).
    HelperPort,
    /// A protocol the helper always uses.
    Protocol(L4Proto),
    /// The master connection's protocol; a payload `transport=` must equal it.
    MasterProtocol,
}

impl Freedom {
    /// The compact code used in the reference tables (`M(peer)`, `P=M(sender)`, `P`, `*`,
    /// `NET`, `H`, `tcp`, `P=M(l4)`).
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::dof::{Endpoint, Freedom};
    /// assert_eq!(Freedom::Master(Endpoint::Peer).code(), "M(peer)");
    /// assert_eq!(Freedom::Protocol(L4Proto::Tcp).code(), "tcp");
    /// ```
    pub fn code(self) -> String {
        match self {
            Freedom::Master(e) => format!("M({e})"),
            Freedom::PayloadChecked(e) => format!("P=M({e})"),
            Freedom::Payload => "P".into(),
            Freedom::Wildcard => "*".into(),
            Freedom::InterfaceNetwork => "NET".into(),
            Freedom::HelperPort => "H".into(),
            Freedom::Protocol(p) => p.name(),
            Freedom::MasterProtocol => "P=M(l4)".into(),
        }
    }

    /// Whether whoever writes the payload decides the value.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::Freedom;
    /// assert!(Freedom::Payload.forgeable());
    /// assert!(!Freedom::Wildcard.forgeable());
    /// ```
    pub fn forgeable(self) -> bool {
        matches!(self, Freedom::Payload)
    }

    /// The keyword of the 2012 article's table (`Fixed`, `In CMD`, `Full`, `0-65535`,
    /// `Iface Network`, or the protocol name).
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::dof::{Attribute, Freedom};
    /// assert_eq!(Freedom::Wildcard.article_keyword(Attribute::SrcPort), "0-65535");
    /// assert_eq!(Freedom::Wildcard.article_keyword(Attribute::SrcAddr), "Full");
    /// assert_eq!(Freedom::Protocol(L4Proto::Udp).article_keyword(Attribute::L4), "UDP");
    /// ```
    pub fn article_keyword(self, attr: Attribute) -> String {
        match self {
            Freedom::Master(_)
            | Freedom::PayloadChecked(_)
            | Freedom::HelperPort
            | Freedom::MasterProtocol => "Fixed".into(),
            Freedom::Payload => "In CMD".into(),
            Freedom::Wildcard => match attr {
                Attribute::SrcPort | Attribute::DstPort => "0-65535".into(),
                _ => "Full".into(),
            },
            Freedom::InterfaceNetwork => "Iface Network".into(),
            Freedom::Protocol(p) => p.name().to_ascii_uppercase(),
        }
    }
}

/// An expectation attribute.
///
/// ```
/// use netfilter_helpers_core::dof::Attribute;
/// assert_eq!(Attribute::DstPort.to_string(), "destination port");
/// assert!(Attribute::SrcAddr < Attribute::L4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// Source address.
    SrcAddr,
    /// Source port (or GRE key).
    SrcPort,
    /// Destination address.
    DstAddr,
    /// Destination port (or GRE key).
    DstPort,
    /// Layer-4 protocol.
    L4,
}

impl Attribute {
    /// Every attribute, in table order.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::Attribute;
    /// assert_eq!(Attribute::ALL.len(), 5);
    /// assert_eq!(Attribute::ALL[4], Attribute::L4);
    /// ```
    pub const ALL: [Attribute; 5] = [
        Attribute::SrcAddr,
        Attribute::SrcPort,
        Attribute::DstAddr,
        Attribute::DstPort,
        Attribute::L4,
    ];

    /// The attribute's name in words.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::Attribute;
    /// assert_eq!(Attribute::SrcAddr.words(), "source address");
    /// ```
    pub const fn words(self) -> &'static str {
        match self {
            Attribute::SrcAddr => "source address",
            Attribute::SrcPort => "source port",
            Attribute::DstAddr => "destination address",
            Attribute::DstPort => "destination port",
            Attribute::L4 => "protocol",
        }
    }

    /// The article's column title.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::Attribute;
    /// assert_eq!(Attribute::SrcPort.article_title(), "Source Port");
    /// ```
    pub const fn article_title(self) -> &'static str {
        match self {
            Attribute::SrcAddr => "Source address",
            Attribute::SrcPort => "Source Port",
            Attribute::DstAddr => "Destination address",
            Attribute::DstPort => "Destination port",
            Attribute::L4 => "Protocol",
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

/// The freedoms of the five attributes of one expectation.
///
/// ```
/// use netfilter_helpers_core::dof::{rule, ExpectationKind, Freedom};
/// use netfilter_helpers_core::options::ModuleOptions;
/// let irc = rule(ExpectationKind::IrcDcc, &ModuleOptions::new()).freedoms;
/// assert_eq!((irc.src_addr, irc.dst_port), (Freedom::Wildcard, Freedom::Payload));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Freedoms {
    /// Source address.
    pub src_addr: Freedom,
    /// Source port.
    pub src_port: Freedom,
    /// Destination address.
    pub dst_addr: Freedom,
    /// Destination port.
    pub dst_port: Freedom,
    /// Layer-4 protocol.
    pub l4: Freedom,
}

impl Freedoms {
    /// The freedom of one attribute.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// use netfilter_helpers_core::dof::{rule, Attribute, ExpectationKind, Freedom};
    /// let f = rule(ExpectationKind::PptpGre, &ModuleOptions::new()).freedoms;
    /// assert_eq!(f.get(Attribute::L4), Freedom::Protocol(L4Proto::Gre));
    /// ```
    pub fn get(&self, attr: Attribute) -> Freedom {
        match attr {
            Attribute::SrcAddr => self.src_addr,
            Attribute::SrcPort => self.src_port,
            Attribute::DstAddr => self.dst_addr,
            Attribute::DstPort => self.dst_port,
            Attribute::L4 => self.l4,
        }
    }
}

/// A kind of expectation a helper creates.
///
/// ```
/// use netfilter_helpers_core::{catalogue::Helper, dof::{kinds_of, ExpectationKind}};
/// assert_eq!(kinds_of(Helper::Ftp), vec![ExpectationKind::FtpData]);
/// assert_eq!(ExpectationKind::SipAudio.label(), "audio");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ExpectationKind {
    /// Amanda DATA/MESG/INDEX/STATE connections.
    AmandaData,
    /// FTP data connection (active or passive).
    FtpData,
    /// IRC DCC connection to the client.
    IrcDcc,
    /// NetBIOS name service broadcast replies.
    NetbiosNsReply,
    /// SNMP broadcast replies.
    SnmpReply,
    /// PPTP GRE tunnel (two expectations, one per direction).
    PptpGre,
    /// SANE data connection.
    SaneData,
    /// SIP incoming signalling to a registered contact.
    SipSignalling,
    /// SIP audio RTP and RTCP.
    SipAudio,
    /// SIP video RTP and RTCP.
    SipVideo,
    /// SIP image (T.38) RTP and RTCP.
    SipImage,
    /// TFTP data from the server's new port.
    TftpData,
    /// H.323 RAS channel announced in a GCF.
    RasFromGcf,
    /// H.323 Q.931 call signalling to an endpoint registered by RRQ.
    Q931FromRrq,
    /// H.323 Q.931 call signalling announced in an ACF or LCF.
    Q931FromAcfLcf,
    /// H.323 H.245 control channel announced in Q.931.
    H245FromQ931,
    /// H.323 Q.931 call forwarding (Facility, callForwarded).
    Q931CallForward,
    /// H.323 RTP and RTCP media (H.245 logical channels or Q.931 fastStart).
    H323RtpRtcp,
    /// H.323 T.120 data channel.
    H323T120,
}

impl ExpectationKind {
    /// Every kind, in table order.
    ///
    /// ```
    /// use netfilter_helpers_core::{catalogue::Helper, dof::{kinds_of, ExpectationKind}};
    /// assert_eq!(ExpectationKind::ALL[0], ExpectationKind::AmandaData);
    /// // Every kind belongs to exactly one helper.
    /// assert_eq!(Helper::ALL.iter().map(|h| kinds_of(*h).len()).sum::<usize>(), ExpectationKind::ALL.len());
    /// ```
    pub const ALL: [ExpectationKind; 19] = [
        ExpectationKind::AmandaData,
        ExpectationKind::FtpData,
        ExpectationKind::IrcDcc,
        ExpectationKind::NetbiosNsReply,
        ExpectationKind::SnmpReply,
        ExpectationKind::PptpGre,
        ExpectationKind::SaneData,
        ExpectationKind::SipSignalling,
        ExpectationKind::SipAudio,
        ExpectationKind::SipVideo,
        ExpectationKind::SipImage,
        ExpectationKind::TftpData,
        ExpectationKind::RasFromGcf,
        ExpectationKind::Q931FromRrq,
        ExpectationKind::Q931FromAcfLcf,
        ExpectationKind::H245FromQ931,
        ExpectationKind::Q931CallForward,
        ExpectationKind::H323RtpRtcp,
        ExpectationKind::H323T120,
    ];

    /// A short label for tables (`data`, `dcc`, `audio`, `q931 (RRQ)`).
    ///
    /// ```
    /// use netfilter_helpers_core::dof::ExpectationKind;
    /// assert_eq!(ExpectationKind::Q931FromRrq.label(), "q931 (RRQ)");
    /// assert_eq!(ExpectationKind::TftpData.label(), "data");
    /// ```
    pub const fn label(self) -> &'static str {
        match self {
            ExpectationKind::AmandaData
            | ExpectationKind::FtpData
            | ExpectationKind::SaneData
            | ExpectationKind::TftpData => "data",
            ExpectationKind::IrcDcc => "dcc",
            ExpectationKind::NetbiosNsReply | ExpectationKind::SnmpReply => "reply",
            ExpectationKind::PptpGre => "gre",
            ExpectationKind::SipSignalling => "signalling",
            ExpectationKind::SipAudio => "audio",
            ExpectationKind::SipVideo => "video",
            ExpectationKind::SipImage => "image",
            ExpectationKind::RasFromGcf => "ras (GCF)",
            ExpectationKind::Q931FromRrq => "q931 (RRQ)",
            ExpectationKind::Q931FromAcfLcf => "q931 (ACF/LCF)",
            ExpectationKind::H245FromQ931 => "h245",
            ExpectationKind::Q931CallForward => "q931 (call forward)",
            ExpectationKind::H323RtpRtcp => "rtp/rtcp",
            ExpectationKind::H323T120 => "t120",
        }
    }
}

/// Which side of the master connection sends the command that creates the expectation.
///
/// ```
/// use netfilter_helpers_core::{dof::{rule, CommandFrom, ExpectationKind}, options::ModuleOptions};
/// let o = ModuleOptions::new();
/// assert_eq!(rule(ExpectationKind::IrcDcc, &o).command_from, CommandFrom::Initiator);
/// assert_eq!(rule(ExpectationKind::FtpData, &o).command_from, CommandFrom::Either);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandFrom {
    /// Only packets from the initiator (ORIGINAL direction) are parsed.
    Initiator,
    /// Only packets from the responder (REPLY direction) are parsed.
    Responder,
    /// Packets in either direction are parsed.
    Either,
}

/// What the kernel requires of, or does to, the announced destination port.
///
/// ```
/// use netfilter_helpers_core::{dof::{rule, ExpectationKind, PortRule}, options::ModuleOptions};
/// let o = ModuleOptions::new();
/// assert_eq!(rule(ExpectationKind::SipAudio, &o).port_rule, PortRule::SdpRtpPair);
/// assert_eq!(rule(ExpectationKind::PptpGre, &o).port_rule, PortRule::GreCallIds);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortRule {
    /// Any 16-bit value (longer numbers are truncated to 16 bits).
    Any,
    /// Zero is refused (no expectation).
    NonZero,
    /// SIP contact: 1024–65535 when given (else the packet is dropped).
    Unprivileged,
    /// SDP media: RTP on the even port (`port & !1`), RTCP on RTP + 1; ports outside
    /// 1024–65535 make the kernel drop the packet; 0 is an inactive stream.
    SdpRtpPair,
    /// H.323 media: RTP on `port & !1`, RTCP on `port | 1`; 0 is refused.
    H323RtpPair,
    /// PPTP: two GRE expectations, one per direction, keyed by the two call IDs.
    GreCallIds,
    /// Not parsed: taken from the master.
    FromMaster,
}

/// One kind of expectation a helper creates, under given module options.
///
/// ```
/// use netfilter_helpers_core::catalogue::{ExpectClass, Helper};
/// use netfilter_helpers_core::{dof::{rule, ExpectationKind}, options::ModuleOptions};
/// let r = rule(ExpectationKind::SipVideo, &ModuleOptions::new());
/// assert_eq!((r.helper, r.class, r.count), (Helper::Sip, ExpectClass::Video, 2));
/// assert_eq!(r.option_text, "sip_direct_media = 1 (default)");
/// assert!(r.risk.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct ExpectationRule {
    /// The kind.
    pub kind: ExpectationKind,
    /// The helper that creates it (and whose name the kernel prints).
    pub helper: Helper,
    /// The expectation class.
    pub class: ExpectClass,
    /// What triggers it.
    pub trigger: &'static str,
    /// Which side's packets are parsed.
    pub command_from: CommandFrom,
    /// Where each attribute comes from.
    pub freedoms: Freedoms,
    /// What happens to the announced port.
    pub port_rule: PortRule,
    /// Expectations created per announcement.
    pub count: u8,
    /// Flags set on creation.
    pub flags: ExpectFlags,
    /// The class policy in force (per-master limit and timeout).
    pub policy: ClassPolicy,
    /// The module options that change this rule (its freedoms or policy).
    pub options: Vec<Param>,
    /// The option settings in force that shape this rule, as `name=value` text.
    pub option_text: String,
    /// Remarks that qualify the freedoms (routing checks, NAT).
    pub notes: Vec<&'static str>,
    /// Why this rule, with the options in force, lets a payload open a hole; `None` when every
    /// address is pinned to the master.
    pub risk: Option<String>,
}

/// The `rules_for` input for one kind: base data before options are applied.
struct Base {
    helper: Helper,
    class: ExpectClass,
    trigger: &'static str,
    command_from: CommandFrom,
    freedoms: Freedoms,
    port_rule: PortRule,
    count: u8,
    flags: ExpectFlags,
    options: &'static [Param],
    notes: &'static [&'static str],
}

const fn fr(
    src_addr: Freedom,
    src_port: Freedom,
    dst_addr: Freedom,
    dst_port: Freedom,
    l4: Freedom,
) -> Freedoms {
    Freedoms {
        src_addr,
        src_port,
        dst_addr,
        dst_port,
        l4,
    }
}

use Endpoint as E;
use Freedom as F;

const NAT_NOTE: &str =
    "with NAT the nf_nat helper may move the destination port and rewrite the payload";

fn base(kind: ExpectationKind, o: &ModuleOptions) -> Base {
    use ExpectationKind as K;
    let tcp = F::Protocol(L4Proto::Tcp);
    let udp = F::Protocol(L4Proto::Udp);
    let none = ExpectFlags::empty();
    let perm = ExpectFlags::PERMANENT;
    match kind {
        K::AmandaData => Base {
            helper: Helper::Amanda,
            class: ExpectClass::Default,
            trigger: "CONNECT reply from the Amanda client (DATA, MESG, INDEX, STATE ports)",
            command_from: CommandFrom::Responder,
            freedoms: fr(
                F::Master(E::Initiator),
                F::Wildcard,
                F::Master(E::Responder),
                F::Payload,
                tcp,
            ),
            port_rule: PortRule::NonZero,
            count: 1,
            flags: none,
            options: &[],
            notes: &[
                "one expectation per announced port, at most 4 per packet",
                "the port is parsed as up to 5 digits and truncated to 16 bits",
                NAT_NOTE,
            ],
        },
        K::FtpData => Base {
            helper: Helper::Ftp,
            class: ExpectClass::Default,
            trigger: "PORT/EPRT from the client, 227/229 reply from the server",
            command_from: CommandFrom::Either,
            freedoms: fr(
                F::Master(E::Peer),
                F::Wildcard,
                if o.ftp_loose() {
                    F::Payload
                } else {
                    F::PayloadChecked(E::Sender)
                },
                F::Payload,
                tcp,
            ),
            port_rule: PortRule::Any,
            count: 1,
            flags: none,
            options: &[Param::FtpLoose],
            notes: &[
                "229 (EPSV) carries no address: it stands for the sender",
                "the first data segment in each direction is not parsed (the helper needs a preceding newline)",
                "EPRT/EPSV port 0 is refused and the packet dropped; PORT/227 numbers are not range-checked",
                NAT_NOTE,
            ],
        },
        K::IrcDcc => Base {
            helper: Helper::Irc,
            class: ExpectClass::Default,
            trigger: "PRIVMSG ... DCC SEND/CHAT/MOVE/TSEND/SCHAT from the client",
            command_from: CommandFrom::Initiator,
            freedoms: fr(
                F::Wildcard,
                F::Wildcard,
                F::PayloadChecked(E::Initiator),
                F::Payload,
                tcp,
            ),
            port_rule: PortRule::NonZero,
            count: 1,
            flags: none,
            options: &[Param::IrcMaxDccChannels, Param::IrcDccTimeout],
            notes: &[
                "the DCC address must be the client's pre- or post-NAT address (kernels since 6.0 and their stable backports)",
                "any host may connect to the announced port: the source address is a wildcard",
            ],
        },
        K::NetbiosNsReply | K::SnmpReply => Base {
            helper: if kind == K::NetbiosNsReply {
                Helper::NetbiosNs
            } else {
                Helper::Snmp
            },
            class: ExpectClass::Default,
            trigger: "a locally generated query to a broadcast address",
            command_from: CommandFrom::Initiator,
            freedoms: fr(
                F::InterfaceNetwork,
                F::HelperPort,
                F::Master(E::Initiator),
                F::Master(E::Initiator),
                udp,
            ),
            port_rule: PortRule::FromMaster,
            count: 1,
            flags: perm,
            options: if kind == K::NetbiosNsReply {
                &[Param::NetbiosNsTimeout]
            } else {
                &[Param::SnmpTimeout]
            },
            notes: &[
                "only for packets the firewall host itself sends, routed as broadcast, IPv4 only",
                "any host of the outgoing interface's subnet may answer",
            ],
        },
        K::PptpGre => Base {
            helper: Helper::Pptp,
            class: ExpectClass::Default,
            trigger: "Outgoing-Call-Reply or Incoming-Call-Connected from the PAC",
            command_from: CommandFrom::Responder,
            freedoms: fr(
                F::Master(E::Initiator),
                F::Payload,
                F::Master(E::Responder),
                F::Payload,
                F::Protocol(L4Proto::Gre),
            ),
            port_rule: PortRule::GreCallIds,
            count: 2,
            flags: none,
            options: &[],
            notes: &[
                "two expectations: initiator to responder and back, keyed by the two call IDs",
                "the peer call ID must match the one the PNS sent earlier",
            ],
        },
        K::SaneData => Base {
            helper: Helper::Sane,
            class: ExpectClass::Default,
            trigger: "the server's reply to SANE_NET_START",
            command_from: CommandFrom::Responder,
            freedoms: fr(
                F::Master(E::Initiator),
                F::Wildcard,
                F::Master(E::Responder),
                F::Payload,
                tcp,
            ),
            port_rule: PortRule::Any,
            count: 1,
            flags: none,
            options: &[],
            notes: &["the port is not range-checked", NAT_NOTE],
        },
        K::SipSignalling => Base {
            helper: Helper::Sip,
            class: ExpectClass::Signalling,
            trigger: "REGISTER with a Contact (active once a 2xx response confirms it)",
            command_from: CommandFrom::Either,
            freedoms: fr(
                if o.sip_direct_signalling() {
                    F::Master(E::Peer)
                } else {
                    F::Wildcard
                },
                F::Wildcard,
                F::PayloadChecked(E::Sender),
                F::Payload,
                F::MasterProtocol,
            ),
            port_rule: PortRule::Unprivileged,
            count: 1,
            flags: ExpectFlags::PERMANENT.union(ExpectFlags::INACTIVE),
            options: &[Param::SipDirectSignalling],
            notes: &[
                "third-party registrations are not supported: the Contact must be the REGISTER sender",
                "INACTIVE until a 2xx response; then its timeout becomes the Expires value",
                "Contact port defaults to 5060",
            ],
        },
        K::SipAudio | K::SipVideo | K::SipImage => Base {
            helper: Helper::Sip,
            class: match kind {
                K::SipAudio => ExpectClass::Audio,
                K::SipVideo => ExpectClass::Video,
                _ => ExpectClass::Image,
            },
            trigger: "SDP m= line in INVITE/UPDATE/ACK/PRACK or a 1xx/2xx response",
            command_from: CommandFrom::Either,
            freedoms: if o.sip_direct_media() {
                fr(
                    F::Master(E::Peer),
                    F::Wildcard,
                    F::PayloadChecked(E::Sender),
                    F::Payload,
                    udp,
                )
            } else {
                fr(F::Wildcard, F::Wildcard, F::Payload, F::Payload, udp)
            },
            port_rule: PortRule::SdpRtpPair,
            count: 2,
            flags: none,
            options: &[Param::SipDirectMedia, Param::SipExternalMedia],
            notes: if o.sip_direct_media() {
                &["INVITE and BYE flush the call's media expectations"]
            } else if o.sip_external_media() {
                &[
                    "sip_external_media=1: no expectation when the route to the media address leaves through the interface the SIP packet arrived on",
                    "INVITE and BYE flush the call's media expectations",
                ]
            } else {
                &["INVITE and BYE flush the call's media expectations"]
            },
        },
        K::TftpData => Base {
            helper: Helper::Tftp,
            class: ExpectClass::Default,
            trigger: "RRQ or WRQ (in either direction)",
            command_from: CommandFrom::Either,
            freedoms: fr(
                F::Master(E::Responder),
                F::Wildcard,
                F::Master(E::Initiator),
                F::Master(E::Initiator),
                udp,
            ),
            port_rule: PortRule::FromMaster,
            count: 1,
            flags: none,
            options: &[],
            notes: &["nothing but the opcode is read from the payload"],
        },
        K::RasFromGcf => Base {
            helper: Helper::Ras,
            class: ExpectClass::Default,
            trigger: "GatekeeperConfirm (rasAddress)",
            command_from: CommandFrom::Either,
            freedoms: fr(F::Master(E::Peer), F::Wildcard, F::Payload, F::Payload, udp),
            port_rule: PortRule::Any,
            count: 1,
            flags: none,
            options: &[],
            notes: &["skipped when rasAddress is the sender's own address and port"],
        },
        K::Q931FromRrq => Base {
            helper: Helper::Ras,
            class: ExpectClass::Default,
            trigger: "RegistrationRequest (callSignalAddress)",
            command_from: CommandFrom::Either,
            freedoms: fr(
                if o.h323_gkrouted_only() {
                    F::Master(E::Peer)
                } else {
                    F::Wildcard
                },
                F::Wildcard,
                F::PayloadChecked(E::Sender),
                F::Payload,
                tcp,
            ),
            port_rule: PortRule::NonZero,
            count: 1,
            flags: perm,
            options: &[Param::H323GkroutedOnly, Param::H323DefaultRrqTtl],
            notes: &[
                "the RCF sets its timeout to the registration TTL (default_rrq_ttl when absent)",
            ],
        },
        K::Q931FromAcfLcf => Base {
            helper: Helper::Ras,
            class: ExpectClass::Default,
            trigger: "AdmissionConfirm (destCallSignalAddress) or LocationConfirm (callSignalAddress)",
            command_from: CommandFrom::Either,
            freedoms: fr(F::Master(E::Peer), F::Wildcard, F::Payload, F::Payload, tcp),
            port_rule: PortRule::Any,
            count: 1,
            flags: perm,
            options: &[],
            notes: &["no expectation when the ACF names the receiver itself"],
        },
        K::H245FromQ931 => Base {
            helper: Helper::Q931,
            class: ExpectClass::Default,
            trigger: "h245Address in Setup/CallProceeding/Connect/Alerting/Facility/Progress",
            command_from: CommandFrom::Either,
            freedoms: fr(
                F::Master(E::Peer),
                F::Wildcard,
                F::PayloadChecked(E::Sender),
                F::Payload,
                tcp,
            ),
            port_rule: PortRule::NonZero,
            count: 1,
            flags: none,
            options: &[],
            notes: &[],
        },
        K::Q931CallForward => Base {
            helper: Helper::Q931,
            class: ExpectClass::Default,
            trigger: "Facility with reason callForwarded (alternativeAddress)",
            command_from: CommandFrom::Either,
            freedoms: fr(F::Master(E::Peer), F::Wildcard, F::Payload, F::Payload, tcp),
            port_rule: PortRule::NonZero,
            count: 1,
            flags: none,
            options: &[Param::H323CallforwardFilter],
            notes: if o.h323_callforward_filter() {
                &[
                    "callforward_filter=1: skipped when the forwarded-to address and the peer share next hop and interface",
                ]
            } else {
                &[]
            },
        },
        K::H323RtpRtcp => Base {
            helper: Helper::H245,
            class: ExpectClass::Default,
            trigger: "OpenLogicalChannel(Ack) media channels, or Q.931 fastStart",
            command_from: CommandFrom::Either,
            freedoms: fr(
                F::Master(E::Peer),
                F::Wildcard,
                F::PayloadChecked(E::Sender),
                F::Payload,
                udp,
            ),
            port_rule: PortRule::H323RtpPair,
            count: 2,
            flags: none,
            options: &[],
            notes: &["printed with the creating helper's name: H.245, or Q.931 for fastStart"],
        },
        K::H323T120 => Base {
            helper: Helper::H245,
            class: ExpectClass::Default,
            trigger: "OpenLogicalChannel separateStack (T.120)",
            command_from: CommandFrom::Either,
            freedoms: fr(
                F::Master(E::Peer),
                F::Wildcard,
                F::PayloadChecked(E::Sender),
                F::Payload,
                tcp,
            ),
            port_rule: PortRule::NonZero,
            count: 1,
            flags: perm,
            options: &[],
            notes: &[],
        },
    }
}

/// The policy in force for a helper class (module options can change limits and timeouts).
///
/// ```
/// use netfilter_helpers_core::catalogue::{ExpectClass, Helper};
/// use netfilter_helpers_core::dof::policy;
/// use netfilter_helpers_core::options::ModuleOptions;
/// let mut o = ModuleOptions::new();
/// o.set_assignment("irc.max_dcc_channels=2").unwrap();
/// assert_eq!(policy(Helper::Irc, ExpectClass::Default, &o).unwrap().max_expected, 2);
/// assert!(policy(Helper::Ftp, ExpectClass::Audio, &o).is_none());
/// ```
pub fn policy(helper: Helper, class: ExpectClass, options: &ModuleOptions) -> Option<ClassPolicy> {
    let mut p = *helper.info().class(class)?;
    match helper {
        Helper::Irc => {
            p.max_expected = options.irc_max_dcc_channels();
            p.timeout_secs = options.irc_dcc_timeout();
        }
        Helper::NetbiosNs => p.timeout_secs = options.netbios_ns_timeout(),
        Helper::Snmp => p.timeout_secs = options.snmp_timeout(),
        _ => {}
    }
    Some(p)
}

/// The kinds of expectation a helper creates.
///
/// ```
/// use netfilter_helpers_core::catalogue::Helper;
/// use netfilter_helpers_core::dof::{kinds_of, ExpectationKind};
/// assert_eq!(kinds_of(Helper::Tftp), vec![ExpectationKind::TftpData]);
/// assert_eq!(kinds_of(Helper::Sip).len(), 4);
/// ```
pub fn kinds_of(helper: Helper) -> Vec<ExpectationKind> {
    let o = ModuleOptions::new();
    ExpectationKind::ALL
        .iter()
        .copied()
        .filter(|k| base(*k, &o).helper == helper)
        .collect()
}

/// The rule for one kind of expectation under the given options.
///
/// ```
/// use netfilter_helpers_core::dof::{rule, ExpectationKind, Freedom};
/// use netfilter_helpers_core::options::ModuleOptions;
/// let mut o = ModuleOptions::new();
/// o.set_assignment("sip.sip_direct_media=0").unwrap();
/// let audio = rule(ExpectationKind::SipAudio, &o);
/// assert_eq!(audio.freedoms.src_addr, Freedom::Wildcard);
/// assert_eq!(audio.freedoms.dst_addr, Freedom::Payload);
/// assert!(audio.risk.unwrap().contains("any host"));
/// ```
pub fn rule(kind: ExpectationKind, options: &ModuleOptions) -> ExpectationRule {
    let b = base(kind, options);
    let policy = policy(b.helper, b.class, options).unwrap_or(ClassPolicy {
        class: b.class,
        max_expected: 0,
        timeout_secs: 0,
    });
    let option_text = b
        .options
        .iter()
        .filter(|p| p.spec().danger.is_some() || **p == Param::SipExternalMedia)
        .filter(|p| !(**p == Param::SipExternalMedia && options.sip_direct_media()))
        .map(|p| {
            let v = options.get(*p);
            let default = v == p.default_value();
            format!(
                "{} = {}{}",
                p.spec().name,
                v,
                if default { " (default)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut r = ExpectationRule {
        kind,
        helper: b.helper,
        class: b.class,
        trigger: b.trigger,
        command_from: b.command_from,
        freedoms: b.freedoms,
        port_rule: b.port_rule,
        count: b.count,
        flags: b.flags,
        policy,
        options: b.options.to_vec(),
        option_text,
        notes: b.notes.to_vec(),
        risk: None,
    };
    r.risk = risk(&r, options);
    r
}

/// Every rule of one helper under the given options.
///
/// ```
/// use netfilter_helpers_core::{catalogue::Helper, options::ModuleOptions};
/// use netfilter_helpers_core::dof::{rules_for, ExpectationKind as K};
/// let kinds: Vec<K> = rules_for(Helper::Sip, &ModuleOptions::new()).iter().map(|r| r.kind).collect();
/// assert_eq!(kinds, [K::SipSignalling, K::SipAudio, K::SipVideo, K::SipImage]);
/// ```
pub fn rules_for(helper: Helper, options: &ModuleOptions) -> Vec<ExpectationRule> {
    kinds_of(helper)
        .into_iter()
        .map(|k| rule(k, options))
        .collect()
}

/// Every rule of every helper under the given options, in catalogue order.
///
/// ```
/// use netfilter_helpers_core::{dof::{all_rules, ExpectationKind}, options::ModuleOptions};
/// let rules = all_rules(&ModuleOptions::new());
/// assert_eq!(rules.len(), ExpectationKind::ALL.len());
/// assert!(rules.iter().any(|r| r.kind == ExpectationKind::IrcDcc && r.risk.is_some()));
/// ```
pub fn all_rules(options: &ModuleOptions) -> Vec<ExpectationRule> {
    ExpectationKind::ALL
        .iter()
        .map(|k| rule(*k, options))
        .collect()
}

fn risk(r: &ExpectationRule, o: &ModuleOptions) -> Option<String> {
    use ExpectationKind as K;
    let f = r.freedoms;
    let text = match (r.kind, f.dst_addr, f.src_addr) {
        (K::FtpData, F::Payload, _) => {
            "loose=1: a PORT/EPRT or 227 can name any host as the data connection's destination (FTP bounce through the firewall)".to_string()
        }
        (K::SipAudio | K::SipVideo | K::SipImage, F::Payload, _) => format!(
            "sip_direct_media=0: the SDP body can name any host as media destination and any host may send to it{}",
            if o.sip_external_media() {
                " (sip_external_media=1 skips destinations routed back out of the arrival interface)"
            } else {
                ""
            }
        ),
        (K::SipSignalling, _, F::Wildcard) => {
            "sip_direct_signalling=0: any host, not only the registrar, may open signalling to a registered phone".to_string()
        }
        (K::Q931FromRrq, _, F::Wildcard) => {
            "gkrouted_only=0: any host, not only the gatekeeper, may open a call to a registered endpoint".to_string()
        }
        (K::IrcDcc, _, _) => {
            "any host may connect to the announced DCC port on the client".to_string()
        }
        (K::RasFromGcf | K::Q931FromAcfLcf | K::Q931CallForward, F::Payload, _) => format!(
            "the {} address is taken from the payload: a forged message can name any host",
            r.kind.label()
        ),
        (K::NetbiosNsReply | K::SnmpReply, _, _) => {
            "any host on the interface's subnet may answer the broadcast".to_string()
        }
        _ => return None,
    };
    Some(text)
}

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

fn endpoint_words(e: Endpoint) -> &'static str {
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
        }
    }
}

/// The degree-of-freedom table for a set of module options.
///
/// ```
/// use netfilter_helpers_core::dof::Table;
/// use netfilter_helpers_core::options::ModuleOptions;
/// let t = Table::build(&ModuleOptions::new());
/// let text = t.to_article_text();
/// assert!(text.starts_with("Module"));
/// assert!(text.lines().any(|l| l.starts_with("ftp") && l.contains("loose = 0 (default)")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Table {
    /// The rows, in catalogue order.
    pub rows: Vec<ExpectationRule>,
}

impl Table {
    /// The table under these options.
    ///
    /// ```
    /// use netfilter_helpers_core::{dof::{ExpectationKind, Table}, options::ModuleOptions};
    /// let t = Table::build(&ModuleOptions::new());
    /// assert_eq!(t.rows.len(), ExpectationKind::ALL.len());
    /// ```
    pub fn build(options: &ModuleOptions) -> Table {
        Table {
            rows: all_rules(options),
        }
    }

    fn render(&self, cell: impl Fn(Freedom, Attribute) -> String, headers: [&str; 7]) -> String {
        let mut rows: Vec<[String; 7]> = Vec::with_capacity(self.rows.len() + 1);
        rows.push(headers.map(str::to_string));
        for r in &self.rows {
            let module = if r.kind.label() == "data" {
                r.helper.to_string()
            } else {
                format!("{} {}", r.helper, r.kind.label())
            };
            rows.push([
                module,
                cell(r.freedoms.src_addr, Attribute::SrcAddr),
                cell(r.freedoms.src_port, Attribute::SrcPort),
                cell(r.freedoms.dst_addr, Attribute::DstAddr),
                cell(r.freedoms.dst_port, Attribute::DstPort),
                cell(r.freedoms.l4, Attribute::L4),
                r.option_text.clone(),
            ]);
        }
        let mut widths = [0usize; 7];
        for row in &rows {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, c) in row.iter().enumerate() {
                line.push_str(c);
                if i < 6 {
                    line.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The table with the article's keywords (`Fixed`, `In CMD`, `Full`, `0-65535`,
    /// `Iface Network`) and column names.
    ///
    /// ```
    /// use netfilter_helpers_core::{dof::Table, options::ModuleOptions};
    /// let text = Table::build(&ModuleOptions::new()).to_article_text();
    /// let header = text.lines().next().unwrap();
    /// assert!(header.starts_with("Module") && header.ends_with("Option"));
    /// assert!(text.contains("Iface Network"));
    /// ```
    pub fn to_article_text(&self) -> String {
        self.render(
            |f, a| f.article_keyword(a),
            [
                "Module",
                "Source address",
                "Source Port",
                "Destination address",
                "Destination port",
                "Protocol",
                "Option",
            ],
        )
    }

    /// The table with the precise codes (`M(peer)`, `P=M(sender)`, `P`, `*`, `NET`, `H`).
    ///
    /// ```
    /// use netfilter_helpers_core::{dof::Table, options::ModuleOptions};
    /// let text = Table::build(&ModuleOptions::new()).to_precise_text();
    /// let tftp = text.lines().find(|l| l.starts_with("tftp")).unwrap();
    /// assert_eq!(tftp.split_whitespace().collect::<Vec<_>>(), ["tftp", "M(responder)", "*", "M(initiator)", "M(initiator)", "udp"]);
    /// ```
    pub fn to_precise_text(&self) -> String {
        self.render(
            |f, _| f.code(),
            [
                "Helper", "Src addr", "Src port", "Dst addr", "Dst port", "L4", "Options",
            ],
        )
    }
}

crate::spelling::spelling! {
    Attribute {
        SrcAddr => "src_addr",
        SrcPort => "src_port",
        DstAddr => "dst_addr",
        DstPort => "dst_port",
        L4 => "l4",
    }
}

crate::spelling::spelling! {
    CommandFrom {
        Initiator => "initiator",
        Responder => "responder",
        Either => "either",
    }
}

crate::spelling::spelling! {
    Endpoint {
        Initiator => "initiator",
        Responder => "responder",
        Sender => "sender",
        Peer => "peer",
    }
}

crate::spelling::spelling! {
    ExpectationKind {
        AmandaData => "amanda-data",
        FtpData => "ftp-data",
        IrcDcc => "irc-dcc",
        NetbiosNsReply => "netbios-ns-reply",
        SnmpReply => "snmp-reply",
        PptpGre => "pptp-gre",
        SaneData => "sane-data",
        SipSignalling => "sip-signalling",
        SipAudio => "sip-audio",
        SipVideo => "sip-video",
        SipImage => "sip-image",
        TftpData => "tftp-data",
        RasFromGcf => "ras-from-gcf",
        Q931FromRrq => "q931-from-rrq",
        Q931FromAcfLcf => "q931-from-acf-lcf",
        H245FromQ931 => "h245-from-q931",
        Q931CallForward => "q931-call-forward",
        H323RtpRtcp => "h323-rtp-rtcp",
        H323T120 => "h323-t120",
    }
}

crate::spelling::spelling! {
    PortRule {
        Any => "any",
        NonZero => "non-zero",
        Unprivileged => "unprivileged",
        SdpRtpPair => "sdp-rtp-pair",
        H323RtpPair => "h323-rtp-pair",
        GreCallIds => "gre-call-ids",
        FromMaster => "from-master",
    }
}

crate::spelling::spelling! {
    Side {
        Initiator => "initiator",
        Responder => "responder",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o() -> ModuleOptions {
        ModuleOptions::new()
    }

    #[test]
    fn every_kind_has_a_helper_class() {
        for k in ExpectationKind::ALL {
            let r = rule(k, &o());
            assert!(
                r.helper.info().class(r.class).is_some(),
                "{k:?} class {:?}",
                r.class
            );
            assert!(r.count >= 1);
            assert_ne!(r.freedoms.dst_port, F::Wildcard, "{k:?}");
        }
    }

    #[test]
    fn kernel_disagreements_with_the_article() {
        // D3: every Q.931 expectation is TCP.
        for k in [
            ExpectationKind::Q931FromRrq,
            ExpectationKind::Q931FromAcfLcf,
            ExpectationKind::Q931CallForward,
        ] {
            assert_eq!(rule(k, &o()).freedoms.l4, F::Protocol(L4Proto::Tcp));
        }
        // D6: sip_direct_signalling=0 frees the source, not the destination.
        let mut x = o();
        x.set_assignment("sip.sip_direct_signalling=0").unwrap();
        let s = rule(ExpectationKind::SipSignalling, &x);
        assert_eq!(s.freedoms.src_addr, F::Wildcard);
        assert_eq!(s.freedoms.dst_addr, F::PayloadChecked(E::Sender));
        // D9: tftp's destination port comes from the master.
        assert_eq!(
            rule(ExpectationKind::TftpData, &o()).freedoms.dst_port,
            F::Master(E::Initiator)
        );
        // gkrouted_only=0 frees the RRQ Q.931 source.
        let mut x = o();
        x.set_assignment("h323.gkrouted_only=0").unwrap();
        assert_eq!(
            rule(ExpectationKind::Q931FromRrq, &x).freedoms.src_addr,
            F::Wildcard
        );
    }

    #[test]
    fn risk_only_where_payload_opens_a_hole() {
        assert!(rule(ExpectationKind::FtpData, &o()).risk.is_none());
        assert!(rule(ExpectationKind::SipAudio, &o()).risk.is_none());
        assert!(rule(ExpectationKind::TftpData, &o()).risk.is_none());
        assert!(rule(ExpectationKind::IrcDcc, &o()).risk.is_some());
    }

    #[test]
    fn predictions() {
        let m = Master::new(
            "sip",
            "10.0.0.2:5062".parse().unwrap(),
            "10.0.1.2:5060".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let audio = rule(ExpectationKind::SipAudio, &o());
        let e = audio
            .predict(
                &m,
                &Announcement::new(Side::Initiator, Some("10.0.0.2".parse().unwrap()), 49171),
            )
            .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].dport, e[1].dport), (49170, 49171));
        assert_eq!(e[0].src.to_string(), "10.0.1.2");
        assert_eq!(e[0].class, 1);
        let low = audio.predict(
            &m,
            &Announcement::new(Side::Initiator, Some("10.0.0.2".parse().unwrap()), 80),
        );
        assert!(low.is_err());

        let t = Master::new(
            "tftp",
            "10.0.0.2:40001".parse().unwrap(),
            "10.0.1.2:69".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let e = rule(ExpectationKind::TftpData, &o())
            .predict(&t, &Announcement::new(Side::Initiator, None, 0))
            .unwrap();
        assert_eq!(
            e[0].to_proc_line(Some(300), None),
            "300 l3proto = 2 proto=17 src=10.0.1.2 dst=10.0.0.2 sport=0 dport=40001 tftp"
        );

        let nb = Master::new(
            "netbios-ns",
            "192.168.1.10:137".parse().unwrap(),
            "192.168.1.255:137".parse().unwrap(),
            L4Proto::Udp,
        )
        .unwrap();
        let mut a = Announcement::new(Side::Initiator, None, 0);
        a.interface_prefix = Some(24);
        let e = rule(ExpectationKind::NetbiosNsReply, &o())
            .predict(&nb, &a)
            .unwrap();
        assert_eq!(
            e[0].to_conntrack_line(Some(2)),
            "2 proto=17 src=192.168.1.255 dst=192.168.1.10 sport=137 dport=137 mask-src=255.255.255.0 mask-dst=255.255.255.255 sport=65535 dport=65535 master-src=192.168.1.10 master-dst=192.168.1.255 sport=137 dport=137 PERMANENT class=0 helper=netbios-ns"
        );
    }

    #[test]
    fn article_table_shape() {
        let t = Table::build(&o()).to_article_text();
        let ftp = t.lines().find(|l| l.starts_with("ftp ")).unwrap();
        let cols: Vec<&str> = ftp.split("  ").filter(|c| !c.trim().is_empty()).collect();
        assert_eq!(
            cols.iter().map(|c| c.trim()).collect::<Vec<_>>(),
            [
                "ftp",
                "Fixed",
                "0-65535",
                "Fixed",
                "In CMD",
                "TCP",
                "loose = 0 (default)"
            ]
        );
    }
}
