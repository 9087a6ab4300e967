//! Every enum that crosses the C ABI, other than `nfh_result`, with its numbers and its
//! mapping to the core.
//!
//! The numbers are the ABI: each is written in the declaration, fixed, and never reused (a
//! retired value stays listed as a comment). C passes them as `uint32_t`, decoded by
//! `from_u32`, a `match` on those numbers (see `c_enum_numbers!`); an unknown number is
//! `NFH_RESULT_INVALID_PARAMETER`, never a Rust enum with an invalid discriminant. The
//! mappings to and from the core are `match`es too, never positions in a core list:
//! reordering a core list changes nothing here.
//!
//! Where the core enum is exhaustive (`Severity`, `Endpoint`, `Freedom`), the mapping is an
//! exhaustive `match` on the core value, so a new core variant fails to compile until it has
//! a C number. Where the core enum is `#[non_exhaustive]` (`Helper`, `ExpectationKind`,
//! `Backend`), Rust cannot match it exhaustively from another crate; the mapping is then an
//! exhaustive `match` on the C enum (`to_core`), and `tests/abi_numbers.rs` fails when a core
//! variant has no C number.
//!
//! `nfh_helper` and `nfh_expectation_kind` start at 1, so that a zeroed field or variable is
//! never mistaken for a helper or a kind.

use netfilter_helpers_core::catalogue::Helper;
use netfilter_helpers_core::doc::DocFormat;
use netfilter_helpers_core::dof::{Endpoint, ExpectationKind, Freedom};
use netfilter_helpers_core::render::Backend;
use netfilter_helpers_core::report::Severity;

use crate::c_enum::c_enum_numbers;
use crate::ffi::FfiDefault;

/// How serious a finding is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_severity {
    /// Noted, not a problem.
    Info = 0,
    /// Valid, but weakens the firewall, breaks the model or policy, or has no effect.
    Warning = 1,
    /// The kernel refuses it, or the kernel could not have made it.
    Error = 2,
}

c_enum_numbers!(nfh_severity {
    Info,
    Warning,
    Error
});

/// What an export returning a severity gives for a NULL argument or a caught panic.
impl FfiDefault for nfh_severity {
    fn null_parameter() -> Self {
        nfh_severity::Info
    }
    fn panicked() -> Self {
        nfh_severity::Info
    }
}

impl nfh_severity {
    /// The C value of a core severity.
    pub const fn from_core(s: Severity) -> nfh_severity {
        match s {
            Severity::Info => nfh_severity::Info,
            Severity::Warning => nfh_severity::Warning,
            Severity::Error => nfh_severity::Error,
        }
    }
}

/// Formats of the degree-of-freedom table (`nfh_dof_table`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_table_format {
    /// The 2012 article's keywords (Fixed, In CMD, Full, 0-65535, Iface Network).
    Article = 0,
    /// The precise codes (M(peer), P=M(sender), P, *, NET, H).
    Precise = 1,
    /// JSON: every rule with its freedoms, policy, notes and risk.
    Json = 2,
}

c_enum_numbers!(nfh_table_format {
    Article,
    Precise,
    Json
});

/// Formats of documents: sites (`nfh_ruleset_from_site`) and policies (`nfh_policy_parse`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_doc_format {
    /// TOML.
    Toml = 0,
    /// JSON.
    Json = 1,
}

c_enum_numbers!(nfh_doc_format { Toml, Json });

impl nfh_doc_format {
    /// The core's document format.
    pub const fn to_core(self) -> DocFormat {
        match self {
            nfh_doc_format::Toml => DocFormat::Toml,
            nfh_doc_format::Json => DocFormat::Json,
        }
    }
}

/// Where an expectation attribute comes from (`nfh_freedom.kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_freedom_kind {
    /// Copied from the master connection (see the endpoint).
    Master = 0,
    /// Parsed from the payload but required to equal the master's value (see the endpoint).
    PayloadChecked = 1,
    /// Parsed freely from the payload: forgeable.
    Payload = 2,
    /// Wildcard.
    Wildcard = 3,
    /// Any host of the interface's network.
    InterfaceNetwork = 4,
    /// The helper's registered port.
    HelperPort = 5,
    /// A protocol the helper always uses (see the protocol).
    Protocol = 6,
    /// The master connection's protocol.
    MasterProtocol = 7,
}

c_enum_numbers!(nfh_freedom_kind {
    Master,
    PayloadChecked,
    Payload,
    Wildcard,
    InterfaceNetwork,
    HelperPort,
    Protocol,
    MasterProtocol,
});

/// Endpoints of the master connection (`nfh_freedom.endpoint`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_endpoint {
    /// Not applicable.
    None = 0,
    /// The host that opened the master connection.
    Initiator = 1,
    /// The host it was opened to.
    Responder = 2,
    /// The host that sent the command.
    Sender = 3,
    /// The other end.
    Peer = 4,
}

c_enum_numbers!(nfh_endpoint {
    None,
    Initiator,
    Responder,
    Sender,
    Peer,
});

impl nfh_endpoint {
    /// The C value of a core endpoint.
    pub const fn from_core(e: Endpoint) -> nfh_endpoint {
        match e {
            Endpoint::Initiator => nfh_endpoint::Initiator,
            Endpoint::Responder => nfh_endpoint::Responder,
            Endpoint::Sender => nfh_endpoint::Sender,
            Endpoint::Peer => nfh_endpoint::Peer,
        }
    }
}

/// One attribute's freedom, as C reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct nfh_freedom {
    /// Where the attribute comes from: an `nfh_freedom_kind` number.
    pub kind: u32,
    /// Whose value it is, for `NFH_FREEDOM_KIND_MASTER` and `NFH_FREEDOM_KIND_PAYLOAD_CHECKED`:
    /// an `nfh_endpoint` number; `NFH_ENDPOINT_NONE` otherwise.
    pub endpoint: u32,
    /// The IP protocol number, for `NFH_FREEDOM_KIND_PROTOCOL`; 0 otherwise.
    pub protocol: u8,
}

impl nfh_freedom {
    /// The C form of a core freedom.
    pub fn from_core(f: Freedom) -> nfh_freedom {
        let (kind, endpoint, protocol) = match f {
            Freedom::Master(e) => (nfh_freedom_kind::Master, nfh_endpoint::from_core(e), 0),
            Freedom::PayloadChecked(e) => (
                nfh_freedom_kind::PayloadChecked,
                nfh_endpoint::from_core(e),
                0,
            ),
            Freedom::Payload => (nfh_freedom_kind::Payload, nfh_endpoint::None, 0),
            Freedom::Wildcard => (nfh_freedom_kind::Wildcard, nfh_endpoint::None, 0),
            Freedom::InterfaceNetwork => {
                (nfh_freedom_kind::InterfaceNetwork, nfh_endpoint::None, 0)
            }
            Freedom::HelperPort => (nfh_freedom_kind::HelperPort, nfh_endpoint::None, 0),
            Freedom::Protocol(p) => (nfh_freedom_kind::Protocol, nfh_endpoint::None, u8::from(p)),
            Freedom::MasterProtocol => (nfh_freedom_kind::MasterProtocol, nfh_endpoint::None, 0),
        };
        nfh_freedom {
            kind: kind as u32,
            endpoint: endpoint as u32,
            protocol,
        }
    }
}

/// Output formats of `nfh_ruleset_render`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_backend {
    /// `iptables-restore -w --noflush` input, IPv4: nfh's own chains only (hook them with
    /// `NFH_BACKEND_IPTABLES_HOOKS`).
    Iptables = 0,
    /// `ip6tables-restore -w --noflush` input, IPv6: nfh's own chains only.
    Ip6tables = 1,
    /// `iptables`/`ip6tables` commands, in an idempotent shell script with the hooks.
    Commands = 2,
    /// An nftables script: nfh's own table, replaced atomically.
    Nft = 3,
    /// libnftables JSON.
    NftJson = 4,
    /// `sysctl.d` text.
    Sysctl = 5,
    /// `modprobe.d` text.
    Modprobe = 6,
    /// A shell script that adds the jumps into nfh's iptables chains (both families) unless
    /// they are there.
    IptablesHooks = 7,
    /// A shell script that removes nfh's iptables jumps and chains (both families).
    IptablesRemove = 8,
    /// An `nft -f` script that removes nfh's table.
    NftRemove = 9,
}

c_enum_numbers!(nfh_backend {
    Iptables,
    Ip6tables,
    Commands,
    Nft,
    NftJson,
    Sysctl,
    Modprobe,
    IptablesHooks,
    IptablesRemove,
    NftRemove,
});

impl nfh_backend {
    /// The core's backend.
    pub const fn to_core(self) -> Backend {
        match self {
            nfh_backend::Iptables => Backend::Iptables,
            nfh_backend::Ip6tables => Backend::Ip6tables,
            nfh_backend::Commands => Backend::Commands,
            nfh_backend::Nft => Backend::Nft,
            nfh_backend::NftJson => Backend::NftJson,
            nfh_backend::Sysctl => Backend::Sysctl,
            nfh_backend::Modprobe => Backend::Modprobe,
            nfh_backend::IptablesHooks => Backend::IptablesHooks,
            nfh_backend::IptablesRemove => Backend::IptablesRemove,
            nfh_backend::NftRemove => Backend::NftRemove,
        }
    }

    /// The C value of a core backend; `None` for a backend without a C number (a test makes
    /// sure there is none).
    pub fn from_core(b: Backend) -> Option<nfh_backend> {
        nfh_backend::ALL.iter().copied().find(|c| c.to_core() == b)
    }
}

/// The conntrack helpers.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_helper {
    /// Amanda backup (`amanda`, `nf_conntrack_amanda`).
    Amanda = 1,
    /// FTP (`ftp`, `nf_conntrack_ftp`).
    Ftp = 2,
    /// IRC DCC (`irc`, `nf_conntrack_irc`).
    Irc = 3,
    /// NetBIOS name service broadcasts (`netbios-ns`, `nf_conntrack_netbios_ns`).
    NetbiosNs = 4,
    /// SNMP broadcasts (`snmp`, `nf_conntrack_snmp`).
    Snmp = 5,
    /// PPTP and its GRE data channel (`pptp`, `nf_conntrack_pptp`).
    Pptp = 6,
    /// SANE network scanning (`sane`, `nf_conntrack_sane`).
    Sane = 7,
    /// SIP signalling and SDP media (`sip`, `nf_conntrack_sip`).
    Sip = 8,
    /// TFTP (`tftp`, `nf_conntrack_tftp`).
    Tftp = 9,
    /// H.323 registration, admission and status (`RAS`, `nf_conntrack_h323`).
    Ras = 10,
    /// H.323 call signalling (`Q.931`, `nf_conntrack_h323`).
    Q931 = 11,
    /// H.323 control channel, attached only through expectations (`H.245`,
    /// `nf_conntrack_h323`).
    H245 = 12,
}

c_enum_numbers!(nfh_helper {
    Amanda,
    Ftp,
    Irc,
    NetbiosNs,
    Snmp,
    Pptp,
    Sane,
    Sip,
    Tftp,
    Ras,
    Q931,
    H245,
});

impl nfh_helper {
    /// The core's helper.
    pub const fn to_core(self) -> Helper {
        match self {
            nfh_helper::Amanda => Helper::Amanda,
            nfh_helper::Ftp => Helper::Ftp,
            nfh_helper::Irc => Helper::Irc,
            nfh_helper::NetbiosNs => Helper::NetbiosNs,
            nfh_helper::Snmp => Helper::Snmp,
            nfh_helper::Pptp => Helper::Pptp,
            nfh_helper::Sane => Helper::Sane,
            nfh_helper::Sip => Helper::Sip,
            nfh_helper::Tftp => Helper::Tftp,
            nfh_helper::Ras => Helper::Ras,
            nfh_helper::Q931 => Helper::Q931,
            nfh_helper::H245 => Helper::H245,
        }
    }

    /// The C value of a core helper; `None` for a helper without a C number (a test makes
    /// sure there is none).
    pub fn from_core(h: Helper) -> Option<nfh_helper> {
        nfh_helper::ALL.iter().copied().find(|c| c.to_core() == h)
    }
}

/// The kinds of expectation the helpers create (the rows of the degree-of-freedom table).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nfh_expectation_kind {
    /// Amanda DATA/MESG/INDEX/STATE connections.
    AmandaData = 1,
    /// FTP data connection (active or passive).
    FtpData = 2,
    /// IRC DCC connection to the client.
    IrcDcc = 3,
    /// NetBIOS name service broadcast replies.
    NetbiosNsReply = 4,
    /// SNMP broadcast replies.
    SnmpReply = 5,
    /// PPTP GRE tunnel (two expectations, one per direction).
    PptpGre = 6,
    /// SANE data connection.
    SaneData = 7,
    /// SIP incoming signalling to a registered contact.
    SipSignalling = 8,
    /// SIP audio RTP and RTCP.
    SipAudio = 9,
    /// SIP video RTP and RTCP.
    SipVideo = 10,
    /// SIP image (T.38) RTP and RTCP.
    SipImage = 11,
    /// TFTP data from the server's new port.
    TftpData = 12,
    /// H.323 RAS channel announced in a GCF.
    RasFromGcf = 13,
    /// H.323 Q.931 call signalling to an endpoint registered by RRQ.
    Q931FromRrq = 14,
    /// H.323 Q.931 call signalling announced in an ACF (before the ACF/LCF split, 15 meant
    /// both; an LCF's is now 20).
    Q931FromAcf = 15,
    /// H.323 H.245 control channel announced in Q.931.
    H245FromQ931 = 16,
    /// H.323 Q.931 call forwarding (Facility, callForwarded).
    Q931CallForward = 17,
    /// H.323 RTP and RTCP media (H.245 logical channels or Q.931 fastStart).
    H323RtpRtcp = 18,
    /// H.323 T.120 data channel.
    H323_T120 = 19,
    /// H.323 Q.931 call signalling announced in an LCF.
    Q931FromLcf = 20,
}

c_enum_numbers!(nfh_expectation_kind {
    AmandaData,
    FtpData,
    IrcDcc,
    NetbiosNsReply,
    SnmpReply,
    PptpGre,
    SaneData,
    SipSignalling,
    SipAudio,
    SipVideo,
    SipImage,
    TftpData,
    RasFromGcf,
    Q931FromRrq,
    Q931FromAcf,
    Q931FromLcf,
    H245FromQ931,
    Q931CallForward,
    H323RtpRtcp,
    H323_T120,
});

impl nfh_expectation_kind {
    /// The core's expectation kind.
    pub const fn to_core(self) -> ExpectationKind {
        use ExpectationKind as K;
        match self {
            nfh_expectation_kind::AmandaData => K::AmandaData,
            nfh_expectation_kind::FtpData => K::FtpData,
            nfh_expectation_kind::IrcDcc => K::IrcDcc,
            nfh_expectation_kind::NetbiosNsReply => K::NetbiosNsReply,
            nfh_expectation_kind::SnmpReply => K::SnmpReply,
            nfh_expectation_kind::PptpGre => K::PptpGre,
            nfh_expectation_kind::SaneData => K::SaneData,
            nfh_expectation_kind::SipSignalling => K::SipSignalling,
            nfh_expectation_kind::SipAudio => K::SipAudio,
            nfh_expectation_kind::SipVideo => K::SipVideo,
            nfh_expectation_kind::SipImage => K::SipImage,
            nfh_expectation_kind::TftpData => K::TftpData,
            nfh_expectation_kind::RasFromGcf => K::RasFromGcf,
            nfh_expectation_kind::Q931FromRrq => K::Q931FromRrq,
            nfh_expectation_kind::Q931FromAcf => K::Q931FromAcf,
            nfh_expectation_kind::Q931FromLcf => K::Q931FromLcf,
            nfh_expectation_kind::H245FromQ931 => K::H245FromQ931,
            nfh_expectation_kind::Q931CallForward => K::Q931CallForward,
            nfh_expectation_kind::H323RtpRtcp => K::H323RtpRtcp,
            nfh_expectation_kind::H323_T120 => K::H323T120,
        }
    }

    /// The C value of a core expectation kind; `None` for a kind without a C number (a test
    /// makes sure there is none).
    pub fn from_core(k: ExpectationKind) -> Option<nfh_expectation_kind> {
        nfh_expectation_kind::ALL
            .iter()
            .copied()
            .find(|c| c.to_core() == k)
    }
}
