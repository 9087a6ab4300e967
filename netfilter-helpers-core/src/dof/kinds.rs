//! The vocabulary of the model: endpoints, freedoms, attributes, expectation kinds, rules.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalogue::{ClassPolicy, ExpectClass, Helper};
use crate::expect::ExpectFlags;
use crate::net::L4Proto;
use crate::options::Param;

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
    /// H.323 Q.931 call signalling announced in an AdmissionConfirm (`process_acf()`): none
    /// when the announced address is the ACF's receiver.
    Q931FromAcf,
    /// H.323 Q.931 call signalling announced in a LocationConfirm (`process_lcf()`): any
    /// address, the LCF's receiver included.
    Q931FromLcf,
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
    pub const ALL: [ExpectationKind; 20] = [
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
        ExpectationKind::Q931FromAcf,
        ExpectationKind::Q931FromLcf,
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
            ExpectationKind::Q931FromAcf => "q931 (ACF)",
            ExpectationKind::Q931FromLcf => "q931 (LCF)",
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
    /// The routing decision the kernel makes before creating the expectation, under the
    /// options in force (`callforward_filter=1`, `sip_external_media=1` with
    /// `sip_direct_media=0`); [`ExpectationRule::predict`] then needs the announcement's
    /// [`route`](super::Announcement::route).
    pub route_check: Option<RouteCheck>,
    /// The master endpoint the announced address must not be: when it is (the whole
    /// address, at any port) the kernel creates no expectation. `Some(Peer)` for an ACF
    /// naming its own receiver (net/netfilter/nf_conntrack_h323_main.c, process_acf());
    /// `None` for every other rule.
    ///
    /// ```
    /// use netfilter_helpers_core::dof::{rule, Endpoint, ExpectationKind};
    /// use netfilter_helpers_core::options::ModuleOptions;
    /// let o = ModuleOptions::new();
    /// assert_eq!(rule(ExpectationKind::Q931FromAcf, &o).refused_dst, Some(Endpoint::Peer));
    /// assert_eq!(rule(ExpectationKind::Q931FromLcf, &o).refused_dst, None);
    /// ```
    pub refused_dst: Option<Endpoint>,
}

/// A routing decision a helper takes before creating an expectation: it skips the
/// expectation when the route to the announced address goes the same way as a reference
/// route.
///
/// ```
/// use netfilter_helpers_core::dof::{rule, ExpectationKind, RouteCheck};
/// use netfilter_helpers_core::options::ModuleOptions;
/// let mut o = ModuleOptions::new();
/// assert_eq!(rule(ExpectationKind::Q931CallForward, &o).route_check, Some(RouteCheck::NextHopAndInterface));
/// assert_eq!(rule(ExpectationKind::SipAudio, &o).route_check, None);
/// o.set_assignment("sip.sip_direct_media=0").unwrap();
/// o.set_assignment("sip.sip_external_media=1").unwrap();
/// assert_eq!(rule(ExpectationKind::SipAudio, &o).route_check, Some(RouteCheck::Interface));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteCheck {
    /// `sip_external_media=1` (net/netfilter/nf_conntrack_sip.c, set_expected_rtp_rtcp):
    /// skipped when the route to the media address leaves through the interface the SIP
    /// packet itself leaves through (`skb_dst(skb)->dev`: towards the signalling peer).
    Interface,
    /// `callforward_filter=1` (net/netfilter/nf_conntrack_h323_main.c,
    /// callforward_do_filter): skipped when the routes to the forwarded-to address and to the
    /// Facility's receiver have the same next hop and the same interface.
    NextHopAndInterface,
}
