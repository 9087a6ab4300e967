//! The kernel facts, per expectation kind and module options: where each field of an
//! expectation comes from, with the kernel source that decides it.

use super::*;
use crate::catalogue::{ClassPolicy, ExpectClass, Helper};
use crate::expect::ExpectFlags;
use crate::net::L4Proto;
use crate::options::{ModuleOptions, Param};

/// The `rules_for` input for one kind: base data before options are applied.
pub(super) struct Base {
    pub(super) helper: Helper,
    pub(super) class: ExpectClass,
    pub(super) trigger: &'static str,
    pub(super) command_from: CommandFrom,
    pub(super) freedoms: Freedoms,
    pub(super) port_rule: PortRule,
    pub(super) count: u8,
    pub(super) flags: ExpectFlags,
    pub(super) options: &'static [Param],
    pub(super) notes: &'static [&'static str],
}

pub(super) const fn fr(
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

pub(super) const NAT_NOTE: &str =
    "with NAT the nf_nat helper may move the destination port and rewrite the payload";

pub(super) fn base(kind: ExpectationKind, o: &ModuleOptions) -> Base {
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
                    "sip_external_media=1: no expectation when the route to the media address leaves through the interface the SIP packet leaves through (towards the signalling peer)",
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
                // process_rcf() looks the expectation up with find_expect(), whose tuple has a
                // zero source (net/netfilter/nf_conntrack_h323_main.c): it misses an
                // expectation pinned to the gatekeeper, so only with gkrouted_only=0 does the
                // TTL reach it (seen live in lab_fidelity h323_ras_matches_the_model).
                "the RCF sets its timeout to the registration TTL (default_rrq_ttl when absent) only when gkrouted_only=0; with gkrouted_only=1 it keeps the policy timeout",
            ],
        },
        // process_acf() (net/netfilter/nf_conntrack_h323_main.c): destCallSignalAddress
        // equal to the ACF's receiver (`ct->tuplehash[dir].tuple.dst`, the whole address,
        // any port) is an "Answering ACF": NAT may rewrite it, no expectation is made.
        // Otherwise the expectation goes from the receiver (`tuplehash[!dir].tuple.src`) to
        // the announced address and port.
        K::Q931FromAcf => Base {
            helper: Helper::Ras,
            class: ExpectClass::Default,
            trigger: "AdmissionConfirm (destCallSignalAddress)",
            command_from: CommandFrom::Either,
            freedoms: fr(F::Master(E::Peer), F::Wildcard, F::Payload, F::Payload, tcp),
            port_rule: PortRule::Any,
            count: 1,
            flags: perm,
            options: &[],
            notes: &[
                "process_acf(): no expectation when destCallSignalAddress is the ACF's receiver (its address, at any port)",
            ],
        },
        // process_lcf() (net/netfilter/nf_conntrack_h323_main.c): callSignalAddress is
        // taken as it is: naming the LCF's receiver makes an expectation from the receiver
        // to itself (seen live in lab_fidelity h323_ras_matches_the_model).
        K::Q931FromLcf => Base {
            helper: Helper::Ras,
            class: ExpectClass::Default,
            trigger: "LocationConfirm (callSignalAddress)",
            command_from: CommandFrom::Either,
            freedoms: fr(F::Master(E::Peer), F::Wildcard, F::Payload, F::Payload, tcp),
            port_rule: PortRule::Any,
            count: 1,
            flags: perm,
            options: &[],
            notes: &[
                "process_lcf(): any callSignalAddress, the LCF's receiver included (then source and destination are both the receiver)",
            ],
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
        route_check: match kind {
            ExpectationKind::Q931CallForward if options.h323_callforward_filter() => {
                Some(RouteCheck::NextHopAndInterface)
            }
            ExpectationKind::SipAudio | ExpectationKind::SipVideo | ExpectationKind::SipImage
                if !options.sip_direct_media() && options.sip_external_media() =>
            {
                Some(RouteCheck::Interface)
            }
            _ => None,
        },
        // process_acf() (net/netfilter/nf_conntrack_h323_main.c) compares
        // destCallSignalAddress with the packet's destination, the ACF's receiver.
        refused_dst: match kind {
            ExpectationKind::Q931FromAcf => Some(Endpoint::Peer),
            _ => None,
        },
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

pub(super) fn risk(r: &ExpectationRule, o: &ModuleOptions) -> Option<String> {
    use ExpectationKind as K;
    let f = r.freedoms;
    let text = match (r.kind, f.dst_addr, f.src_addr) {
        (K::FtpData, F::Payload, _) => {
            "loose=1: a PORT/EPRT or 227 can name any host as the data connection's destination (FTP bounce through the firewall)".to_string()
        }
        (K::SipAudio | K::SipVideo | K::SipImage, F::Payload, _) => format!(
            "sip_direct_media=0: the SDP body can name any host as media destination and any host may send to it{}",
            if o.sip_external_media() {
                 " (sip_external_media=1 skips destinations routed out of the interface towards the signalling peer)"
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
        (K::RasFromGcf | K::Q931FromAcf | K::Q931FromLcf | K::Q931CallForward, F::Payload, _) => format!(
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
