//! ctnetlink expectation messages, sans I/O: the bytes the kernel sends on a
//! `NETLINK_NETFILTER` socket for the `NFNL_SUBSYS_CTNETLINK_EXP` subsystem, decoded into the
//! core's [`Expectation`] (inside a [`ParsedLine`], so the one judging pipeline,
//! [`Judge::judge_parsed`], judges it with its timeout and class), and the requests an I/O
//! layer sends (a table dump, the deletion of one expectation), encoded.
//!
//! Layouts follow the kernel's uapi headers (`include/uapi/linux/netfilter/nfnetlink.h`,
//! `nfnetlink_conntrack.h`) and what `net/netfilter/nf_conntrack_netlink.c` writes
//! (`ctnetlink_exp_dump_expect`, `ctnetlink_exp_dump_tuple`, `ctnetlink_exp_dump_mask`) and
//! reads (`ctnetlink_del_expect`):
//!
//! * a datagram holds one or more messages, each a `struct nlmsghdr` (16 bytes, **host** byte
//!   order) padded to 4 bytes;
//! * a netfilter message's type is `subsystem << 8 | operation`; its payload starts with a
//!   `struct nfgenmsg` (family, version, resource id), followed by attributes;
//! * an attribute is `nla_len` and `nla_type` (host byte order; the type's top bits are the
//!   `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` flags), then its payload padded to 4 bytes;
//! * ctnetlink's values are **big-endian** (addresses, ports, timeout, id, flags, class, zone);
//!   the expectation's id is an opaque 32-bit value (a keyed hash since Linux 5.2) that is only
//!   ever echoed back.
//!
//! Decoding never panics and never reads past a length it was given: a malformed message is a
//! [`DecodeError`] naming the attribute (as a path such as
//! `CTA_EXPECT_MASTER.CTA_TUPLE_IP.CTA_IP_V4_SRC`) and the byte offset; attributes this module
//! does not know are skipped and counted ([`ExpectMessage::unknown_attributes`]); a message of
//! another subsystem is returned as [`Message::Other`] by the iterator and is an error for
//! [`ExpectMessage::decode`].
//!
//! ```
//! use netfilter_helpers_core::net::L4Proto;
//! use netfilter_helpers_core::ctnetlink::{self, ExpectMessage, Message, MessageKind};
//! use netfilter_helpers_core::expect::{Expectation, Tuple};
//! use netfilter_helpers_core::judge::Judge;
//! use netfilter_helpers_core::options::ModuleOptions;
//!
//! // What the kernel sends for the expectation of an FTP PORT command.
//! let master = Tuple::new("10.0.0.2".parse().unwrap(), 40000, "10.0.1.2".parse().unwrap(), 21, L4Proto::Tcp).unwrap();
//! let exp = Expectation::new(Some("10.0.1.2".parse().unwrap()), None, "10.0.0.2".parse().unwrap(), 50000, L4Proto::Tcp)
//!     .unwrap().with_master(master).with_helper("ftp", 0);
//! let msg = ExpectMessage::new(MessageKind::New, exp).with_id(0xdead_beef).with_timeout(300);
//! let bytes = msg.encode();
//!
//! let decoded: Vec<_> = ctnetlink::messages(&bytes).collect();
//! let Ok(Message::Expect(got)) = &decoded[0] else { panic!("{decoded:?}") };
//! assert_eq!(got, &msg);
//! assert_eq!(got.line.timeout, Some(300));
//! let judge = Judge::new(&ModuleOptions::new(), None);
//! assert!(got.judge(&judge).conforms());
//!
//! // The request that deletes it, by tuple and id as `ctnetlink_del_expect` wants.
//! let del = ctnetlink::delete_request(7, &got.key());
//! assert_eq!(u16::from_ne_bytes([del[4], del[5]]), 2 << 8 | 2); // CTNETLINK_EXP, DELETE
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::expect::{ExpectFlags, Expectation, Tuple};
use crate::judge::{Judge, Judgement};
use crate::net::{Family, L4Proto, full_mask, zero_addr};
use crate::parse::{Event, Format, ParsedLine};

/// The netlink protocol number of netfilter (`NETLINK_NETFILTER`).
pub const NETLINK_NETFILTER: i32 = 12;
/// The ctnetlink expectation subsystem (`NFNL_SUBSYS_CTNETLINK_EXP`).
pub const NFNL_SUBSYS_CTNETLINK_EXP: u8 = 2;
/// Operation: a new expectation (events, dump replies, creation requests).
pub const IPCTNL_MSG_EXP_NEW: u8 = 0;
/// Operation: get or dump expectations.
pub const IPCTNL_MSG_EXP_GET: u8 = 1;
/// Operation: delete an expectation (requests) or a destroyed one (events).
pub const IPCTNL_MSG_EXP_DELETE: u8 = 2;
/// The multicast group of new-expectation events (`NFNLGRP_CONNTRACK_EXP_NEW`).
pub const NFNLGRP_CONNTRACK_EXP_NEW: u32 = 4;
/// The multicast group of destroyed-expectation events (`NFNLGRP_CONNTRACK_EXP_DESTROY`).
pub const NFNLGRP_CONNTRACK_EXP_DESTROY: u32 = 6;

/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR` (an error, or an acknowledgement when its code is 0).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE` (end of a dump).
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI` (part of a multi-message reply, e.g. a dump).
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLA_F_NESTED`: the attribute holds attributes.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;

// enum ctattr_expect
const CTA_EXPECT_MASTER: u16 = 1;
const CTA_EXPECT_TUPLE: u16 = 2;
const CTA_EXPECT_MASK: u16 = 3;
const CTA_EXPECT_TIMEOUT: u16 = 4;
const CTA_EXPECT_ID: u16 = 5;
const CTA_EXPECT_HELP_NAME: u16 = 6;
const CTA_EXPECT_ZONE: u16 = 7;
const CTA_EXPECT_FLAGS: u16 = 8;
const CTA_EXPECT_CLASS: u16 = 9;
const CTA_EXPECT_NAT: u16 = 10;
const CTA_EXPECT_FN: u16 = 11;
// enum ctattr_expect_nat
const CTA_EXPECT_NAT_DIR: u16 = 1;
const CTA_EXPECT_NAT_TUPLE: u16 = 2;
// enum ctattr_tuple
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
// enum ctattr_ip
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
// enum ctattr_l4proto
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTO_ICMP_ID: u16 = 4;
const CTA_PROTO_ICMP_TYPE: u16 = 5;
const CTA_PROTO_ICMP_CODE: u16 = 6;
const CTA_PROTO_ICMPV6_ID: u16 = 7;
const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
const CTA_PROTO_ICMPV6_CODE: u16 = 9;

fn expect_attr_name(t: u16) -> &'static str {
    match t {
        CTA_EXPECT_MASTER => "CTA_EXPECT_MASTER",
        CTA_EXPECT_TUPLE => "CTA_EXPECT_TUPLE",
        CTA_EXPECT_MASK => "CTA_EXPECT_MASK",
        CTA_EXPECT_TIMEOUT => "CTA_EXPECT_TIMEOUT",
        CTA_EXPECT_ID => "CTA_EXPECT_ID",
        CTA_EXPECT_HELP_NAME => "CTA_EXPECT_HELP_NAME",
        CTA_EXPECT_ZONE => "CTA_EXPECT_ZONE",
        CTA_EXPECT_FLAGS => "CTA_EXPECT_FLAGS",
        CTA_EXPECT_CLASS => "CTA_EXPECT_CLASS",
        CTA_EXPECT_NAT => "CTA_EXPECT_NAT",
        CTA_EXPECT_FN => "CTA_EXPECT_FN",
        _ => "CTA_EXPECT_?",
    }
}

fn ip_attr_name(t: u16) -> &'static str {
    match t {
        CTA_IP_V4_SRC => "CTA_IP_V4_SRC",
        CTA_IP_V4_DST => "CTA_IP_V4_DST",
        CTA_IP_V6_SRC => "CTA_IP_V6_SRC",
        CTA_IP_V6_DST => "CTA_IP_V6_DST",
        _ => "CTA_IP_?",
    }
}

fn proto_attr_name(t: u16) -> &'static str {
    match t {
        CTA_PROTO_NUM => "CTA_PROTO_NUM",
        CTA_PROTO_SRC_PORT => "CTA_PROTO_SRC_PORT",
        CTA_PROTO_DST_PORT => "CTA_PROTO_DST_PORT",
        CTA_PROTO_ICMP_ID => "CTA_PROTO_ICMP_ID",
        CTA_PROTO_ICMP_TYPE => "CTA_PROTO_ICMP_TYPE",
        CTA_PROTO_ICMP_CODE => "CTA_PROTO_ICMP_CODE",
        CTA_PROTO_ICMPV6_ID => "CTA_PROTO_ICMPV6_ID",
        CTA_PROTO_ICMPV6_TYPE => "CTA_PROTO_ICMPV6_TYPE",
        CTA_PROTO_ICMPV6_CODE => "CTA_PROTO_ICMPV6_CODE",
        _ => "CTA_PROTO_?",
    }
}

/// What is wrong with a message.
///
/// ```
/// use netfilter_helpers_core::ctnetlink::Problem;
/// assert_eq!(Problem::Missing.to_string(), "missing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Problem {
    /// Fewer bytes than the structure or attribute needs.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes there.
        have: usize,
    },
    /// A fixed-size attribute of the wrong size.
    Length {
        /// The size it must have.
        want: usize,
        /// The size it has.
        have: usize,
    },
    /// A required attribute is absent.
    Missing,
    /// An address of the other family than the message's.
    FamilyMismatch,
    /// A family other than IPv4 and IPv6.
    UnknownFamily(u8),
    /// A value out of range or not text.
    Invalid(&'static str),
    /// A message of another netlink subsystem or type than an expectation message.
    NotExpectation {
        /// The message's `nlmsg_type`.
        msg_type: u16,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Truncated { need, have } => {
                write!(f, "truncated: needs {need} bytes, has {have}")
            }
            Problem::Length { want, have } => {
                write!(f, "wrong length: {have} bytes, must be {want}")
            }
            Problem::Missing => f.write_str("missing"),
            Problem::FamilyMismatch => {
                f.write_str("address of the other family than the message's")
            }
            Problem::UnknownFamily(n) => {
                write!(f, "family {n} is neither IPv4 (2) nor IPv6 (10)")
            }
            Problem::Invalid(why) => write!(f, "invalid: {why}"),
            Problem::NotExpectation { msg_type } => write!(
                f,
                "message type {msg_type:#06x} (subsystem {}, operation {}) is not a ctnetlink expectation message (subsystem {NFNL_SUBSYS_CTNETLINK_EXP})",
                msg_type >> 8,
                msg_type & 0xff
            ),
        }
    }
}

/// A malformed message: where (byte offset in the buffer given), which structure or attribute
/// (a dotted path), and what is wrong.
///
/// ```
/// use netfilter_helpers_core::ctnetlink;
/// let e = ctnetlink::messages(&[1, 2, 3]).next().unwrap().unwrap_err();
/// assert_eq!(e.to_string(), "ctnetlink message at byte 0: nlmsghdr: truncated: needs 16 bytes, has 3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodeError {
    /// Offset of the structure or attribute in the buffer.
    pub offset: usize,
    /// The structure or attribute, e.g. `CTA_EXPECT_TUPLE.CTA_TUPLE_IP.CTA_IP_V4_DST`.
    pub attribute: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ctnetlink message at byte {}: {}: {}",
            self.offset, self.attribute, self.problem
        )
    }
}

impl std::error::Error for DecodeError {}

fn err(offset: usize, attribute: impl Into<String>, problem: Problem) -> DecodeError {
    DecodeError {
        offset,
        attribute: attribute.into(),
        problem,
    }
}

/// What an expectation message says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// `IPCTNL_MSG_EXP_NEW`: a new expectation (event) or one entry of a dump.
    New,
    /// `IPCTNL_MSG_EXP_DELETE`: the expectation was destroyed (event: matched, expired or
    /// deleted).
    Destroy,
    /// `IPCTNL_MSG_EXP_GET`.
    Get,
}

/// The header fields of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Header {
    /// `nlmsg_seq`: the request's sequence number for replies, 0 for events.
    pub seq: u32,
    /// `nlmsg_pid`: the port id of the requesting socket for replies, usually 0 for events.
    pub port_id: u32,
    /// `nlmsg_flags` (`NLM_F_MULTI` in dumps, `NLM_F_CREATE | NLM_F_EXCL` in NEW events).
    pub flags: u16,
}

/// The NAT part of an expectation (`CTA_EXPECT_NAT`): where the expected connection is
/// redirected to, and in which direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ExpectNat {
    /// `CTA_EXPECT_NAT_DIR` (0 ORIGINAL, 1 REPLY).
    pub dir: u32,
    /// The saved address.
    pub addr: IpAddr,
    /// The saved port (or key).
    pub port: u16,
    /// The protocol of the NAT tuple (the master's).
    pub l4: L4Proto,
}

/// What identifies one expectation to the kernel: its tuple (as the kernel keeps it, the source
/// unmasked), its id and zone. [`delete_request`] sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ExpectKey {
    /// The expected tuple (for ICMP, `sport` is `type << 8 | code` and `dport` the id).
    pub tuple: Tuple,
    /// The kernel's id (`CTA_EXPECT_ID`), echoed back so only that expectation is deleted.
    pub id: Option<u32>,
    /// The conntrack zone (`CTA_EXPECT_ZONE`); the kernel uses zone 0 when absent.
    pub zone: Option<u16>,
}

/// One decoded expectation message.
///
/// The expectation, its timeout, zone and event are in [`ExpectMessage::line`], the form every
/// judging path of the core takes ([`Format::Conntrack`]: masks, class number and master are
/// known, as in `conntrack -L expect`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectMessage {
    /// New (event or dump entry), destroyed, or get.
    pub kind: MessageKind,
    /// Header fields.
    pub header: Header,
    /// The expectation's id (`CTA_EXPECT_ID`).
    pub id: Option<u32>,
    /// NAT information (`CTA_EXPECT_NAT`), when the helper mangled the payload.
    pub nat: Option<ExpectNat>,
    /// The expectation function's name (`CTA_EXPECT_FN`), e.g. `nat-follow-master`.
    pub expect_fn: Option<String>,
    /// Attributes skipped because this decoder does not know them (a newer kernel's).
    pub unknown_attributes: u32,
    /// The expectation with its timeout (`CTA_EXPECT_TIMEOUT`), zone (`CTA_EXPECT_ZONE`) and
    /// event.
    pub line: ParsedLine,
}

impl ExpectMessage {
    /// A message about `expectation` with no id, timeout, zone, NAT or function.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::ctnetlink::{ExpectMessage, MessageKind};
    /// use netfilter_helpers_core::expect::Expectation;
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// let m = ExpectMessage::new(MessageKind::Destroy, e);
    /// assert_eq!(m.line.event, Some(netfilter_helpers_core::parse::Event::Destroy));
    /// ```
    pub fn new(kind: MessageKind, expectation: Expectation) -> ExpectMessage {
        ExpectMessage {
            kind,
            header: Header::default(),
            id: None,
            nat: None,
            expect_fn: None,
            unknown_attributes: 0,
            line: ParsedLine {
                format: Format::Conntrack,
                event: event_of(kind),
                timeout: None,
                policy_name: None,
                master_l4_known: expectation.master.is_some(),
                zone: None,
                expectation,
            },
        }
    }

    /// Sets the id.
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// # let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// assert_eq!(ExpectMessage::new(MessageKind::New, e).with_id(9).id, Some(9));
    /// ```
    pub fn with_id(mut self, id: u32) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the remaining seconds.
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// # let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// assert_eq!(ExpectMessage::new(MessageKind::New, e).with_timeout(60).line.timeout, Some(60));
    /// ```
    pub fn with_timeout(mut self, seconds: u32) -> Self {
        self.line.timeout = Some(seconds);
        self
    }

    /// Sets the zone.
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// # let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// assert_eq!(ExpectMessage::new(MessageKind::New, e).with_zone(3).key().zone, Some(3));
    /// ```
    pub fn with_zone(mut self, zone: u16) -> Self {
        self.line.zone = Some(zone);
        self
    }

    /// The expectation.
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// # let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// assert_eq!(ExpectMessage::new(MessageKind::New, e.clone()).expectation(), &e);
    /// ```
    pub fn expectation(&self) -> &Expectation {
        &self.line.expectation
    }

    /// What identifies the expectation to the kernel (tuple, id, zone), for
    /// [`delete_request`].
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// # let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// let k = ExpectMessage::new(MessageKind::New, e).with_id(5).key();
    /// assert_eq!((k.tuple.dport, k.id, k.zone), (5000, Some(5), None));
    /// ```
    pub fn key(&self) -> ExpectKey {
        let e = &self.line.expectation;
        ExpectKey {
            tuple: Tuple {
                src: e.src,
                dst: e.dst,
                sport: e.sport,
                dport: e.dport,
                l4: e.l4,
            },
            id: self.id,
            zone: self.line.zone,
        }
    }

    /// Judges the expectation (with its timeout and class) by the core's one pipeline:
    /// [`Judge::judge_parsed`].
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// use netfilter_helpers_core::{judge::Judge, options::ModuleOptions};
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Udp).unwrap().with_helper("irc", 0);
    /// let m = ExpectMessage::new(MessageKind::New, e);
    /// assert!(!m.judge(&Judge::new(&ModuleOptions::new(), None)).conforms()); // DCC is TCP
    /// ```
    pub fn judge(&self, judge: &Judge) -> Judgement {
        judge.judge_parsed(&self.line)
    }

    /// Whether the expectation conforms, without building a judgement
    /// ([`Judge::conforms_parsed`]).
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// use netfilter_helpers_core::{judge::Judge, options::ModuleOptions};
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap().with_helper("irc", 0);
    /// assert!(ExpectMessage::new(MessageKind::New, e).conforms(&Judge::new(&ModuleOptions::new(), None)));
    /// ```
    pub fn conforms(&self, judge: &Judge) -> bool {
        judge.conforms_parsed(&self.line)
    }

    /// Decodes one whole message (`nlmsghdr` included, exactly `nlmsg_len` bytes or more);
    /// anything but an expectation message is an error.
    ///
    /// ```
    /// use netfilter_helpers_core::ctnetlink::{self, ExpectMessage, Problem};
    /// let e = ExpectMessage::decode(&ctnetlink::dump_request(1, None)).unwrap_err();
    /// assert_eq!(e.problem, Problem::UnknownFamily(0)); // a dump of both families
    /// let mut other = ctnetlink::dump_request(1, None);
    /// other[4..6].copy_from_slice(&0x0101u16.to_ne_bytes()); // subsystem 1: conntrack entries
    /// assert!(matches!(ExpectMessage::decode(&other).unwrap_err().problem, Problem::NotExpectation { .. }));
    /// ```
    pub fn decode(buf: &[u8]) -> Result<ExpectMessage, DecodeError> {
        let (hdr, len) = header(buf, 0)?;
        match classify(&hdr, &buf[..len], 0)? {
            Message::Expect(m) => Ok(m),
            _ => Err(err(
                0,
                "nlmsghdr.nlmsg_type",
                Problem::NotExpectation {
                    msg_type: hdr.msg_type,
                },
            )),
        }
    }

    /// Encodes the message as the kernel would send it (NAT and function included), for tests,
    /// benchmarks and recorded corpora.
    ///
    /// ```
    /// # use netfilter_helpers_core::{net::L4Proto, ctnetlink::{ExpectMessage, MessageKind}, expect::Expectation};
    /// # let e = Expectation::new(None, None, "2001:db8::2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// let m = ExpectMessage::new(MessageKind::New, e).with_id(1);
    /// assert_eq!(ExpectMessage::decode(&m.encode()).unwrap(), m);
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let e = &self.line.expectation;
        let op = match self.kind {
            MessageKind::New => IPCTNL_MSG_EXP_NEW,
            MessageKind::Destroy => IPCTNL_MSG_EXP_DELETE,
            MessageKind::Get => IPCTNL_MSG_EXP_GET,
        };
        let mut w = Writer::message(op, self.header, e.family().l3proto());
        w.tuple(CTA_EXPECT_TUPLE, &self.key().tuple);
        // The mask as ctnetlink_exp_dump_mask writes it: all ones but the source side.
        let family = e.family();
        let full = full_mask(family);
        let mask = MaskTuple {
            src: e.src_mask,
            dst: full,
            src_part: e.sport_mask,
            l4: e.l4,
        };
        w.mask(&mask);
        if let Some(m) = &e.master {
            w.tuple(CTA_EXPECT_MASTER, m);
        }
        if let Some(n) = &self.nat {
            let start = w.nest(CTA_EXPECT_NAT);
            w.attr(CTA_EXPECT_NAT_DIR, &n.dir.to_be_bytes());
            let zero = zero_addr(Family::of(&n.addr));
            w.tuple(
                CTA_EXPECT_NAT_TUPLE,
                &Tuple {
                    src: n.addr,
                    dst: zero,
                    sport: n.port,
                    dport: 0,
                    l4: n.l4,
                },
            );
            w.end(start);
        }
        if let Some(t) = self.line.timeout {
            w.attr(CTA_EXPECT_TIMEOUT, &t.to_be_bytes());
        }
        if let Some(id) = self.id {
            w.attr(CTA_EXPECT_ID, &id.to_be_bytes());
        }
        if let Some(z) = self.line.zone {
            w.attr(CTA_EXPECT_ZONE, &z.to_be_bytes());
        }
        w.attr(CTA_EXPECT_FLAGS, &e.flags.bits().to_be_bytes());
        w.attr(CTA_EXPECT_CLASS, &u32::from(e.class).to_be_bytes());
        if let Some(h) = &e.helper {
            w.string(CTA_EXPECT_HELP_NAME, h);
        }
        if let Some(f) = &self.expect_fn {
            w.string(CTA_EXPECT_FN, f);
        }
        w.finish()
    }
}

fn event_of(kind: MessageKind) -> Option<Event> {
    match kind {
        MessageKind::New => Some(Event::New),
        MessageKind::Destroy => Some(Event::Destroy),
        MessageKind::Get => None,
    }
}

/// One message of a datagram.
// Expectation messages are the common case: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Message {
    /// An expectation message.
    Expect(ExpectMessage),
    /// `NLMSG_DONE`: the end of a dump; `error` is the dump's negative errno, 0 when it went well.
    Done {
        /// Header fields.
        header: Header,
        /// 0, or a negative errno.
        error: i32,
    },
    /// `NLMSG_ERROR` with code 0: an acknowledgement.
    Ack {
        /// Header fields (the request's sequence number).
        header: Header,
    },
    /// `NLMSG_ERROR` with a negative errno (`-1` EPERM, `-2` ENOENT, ...).
    Error {
        /// Header fields (the request's sequence number).
        header: Header,
        /// The negative errno.
        error: i32,
    },
    /// `NLMSG_NOOP` or `NLMSG_OVERRUN`: nothing to do.
    Noop,
    /// A message of another subsystem or operation (conntrack entries, another netfilter
    /// subsystem): skipped.
    Other {
        /// Header fields.
        header: Header,
        /// `nlmsg_type`.
        msg_type: u16,
    },
}

/// The messages of a datagram, in order. After a message whose header is broken (its length
/// does not fit), iteration ends; after a malformed message whose length is sound, it goes on
/// with the next one.
///
/// ```
/// use netfilter_helpers_core::ctnetlink::{self, Message};
/// let mut buf = ctnetlink::dump_request(3, None);
/// buf.extend_from_slice(&[9, 9]); // a broken tail
/// let got: Vec<_> = ctnetlink::messages(&buf).collect();
/// assert_eq!(got.len(), 2);
/// assert!(got[0].is_err()); // a GET request has no expectation tuple
/// assert!(got[1].as_ref().unwrap_err().to_string().contains("nlmsghdr"));
/// ```
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, pos: 0 }
}

/// Iterator returned by [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Iterator for Messages<'_> {
    type Item = Result<Message, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let base = self.pos;
        let rest = &self.buf[base..];
        let (hdr, len) = match header(rest, base) {
            Ok(h) => h,
            Err(e) => {
                self.pos = self.buf.len();
                return Some(Err(e));
            }
        };
        self.pos = base.saturating_add(align4(len)).min(self.buf.len());
        Some(classify(&hdr, &rest[..len], base))
    }
}

struct RawHeader {
    msg_type: u16,
    header: Header,
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn ne_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads an `nlmsghdr` at the start of `buf`; returns it and the message's length.
fn header(buf: &[u8], base: usize) -> Result<(RawHeader, usize), DecodeError> {
    if buf.len() < NLMSG_HDRLEN {
        return Err(err(
            base,
            "nlmsghdr",
            Problem::Truncated {
                need: NLMSG_HDRLEN,
                have: buf.len(),
            },
        ));
    }
    let len = ne_u32(buf, 0) as usize;
    if len < NLMSG_HDRLEN {
        return Err(err(
            base,
            "nlmsghdr.nlmsg_len",
            Problem::Invalid("shorter than the header"),
        ));
    }
    if len > buf.len() {
        return Err(err(
            base,
            "nlmsghdr.nlmsg_len",
            Problem::Truncated {
                need: len,
                have: buf.len(),
            },
        ));
    }
    Ok((
        RawHeader {
            msg_type: ne_u16(buf, 4),
            header: Header {
                flags: ne_u16(buf, 6),
                seq: ne_u32(buf, 8),
                port_id: ne_u32(buf, 12),
            },
        },
        len,
    ))
}

fn classify(hdr: &RawHeader, msg: &[u8], base: usize) -> Result<Message, DecodeError> {
    let header = hdr.header;
    let body = &msg[NLMSG_HDRLEN..];
    match hdr.msg_type {
        NLMSG_NOOP | NLMSG_OVERRUN => Ok(Message::Noop),
        NLMSG_ERROR | NLMSG_DONE => {
            let error = if body.len() >= 4 {
                ne_u32(body, 0) as i32
            } else if hdr.msg_type == NLMSG_DONE {
                0
            } else {
                return Err(err(
                    base + NLMSG_HDRLEN,
                    "nlmsgerr.error",
                    Problem::Truncated {
                        need: 4,
                        have: body.len(),
                    },
                ));
            };
            Ok(match (hdr.msg_type, error) {
                (NLMSG_DONE, _) => Message::Done { header, error },
                (_, 0) => Message::Ack { header },
                _ => Message::Error { header, error },
            })
        }
        t if (t >> 8) as u8 == NFNL_SUBSYS_CTNETLINK_EXP
            && matches!(
                (t & 0xff) as u8,
                IPCTNL_MSG_EXP_NEW | IPCTNL_MSG_EXP_GET | IPCTNL_MSG_EXP_DELETE
            ) =>
        {
            let kind = match (t & 0xff) as u8 {
                IPCTNL_MSG_EXP_NEW => MessageKind::New,
                IPCTNL_MSG_EXP_DELETE => MessageKind::Destroy,
                _ => MessageKind::Get,
            };
            decode_expect(kind, header, body, base + NLMSG_HDRLEN).map(Message::Expect)
        }
        t => Ok(Message::Other {
            header,
            msg_type: t,
        }),
    }
}

/// An attribute: its type (flags removed), payload and offset.
struct Attr<'a> {
    kind: u16,
    data: &'a [u8],
    offset: usize,
}

/// Where attributes sit, for error messages: a parent path and a nest name, joined (and
/// allocated) only when an error is reported.
#[derive(Clone, Copy)]
struct Path<'a>(&'a str, &'static str);

impl Path<'_> {
    fn with(self, name: &str) -> String {
        let mut s = String::new();
        for part in [self.0, self.1, name] {
            if part.is_empty() {
                continue;
            }
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(part);
        }
        s
    }
}

/// Iterates the attributes of `buf` (which starts at absolute offset `base`).
struct Attrs<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    path: Path<'a>,
    names: fn(u16) -> &'static str,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.pos..).filter(|r| !r.is_empty())?;
        let offset = self.base + self.pos;
        let names = self.names;
        let path = self.path;
        let what = |kind: Option<u16>| path.with(kind.map_or("nlattr", names));
        if rest.len() < 4 {
            self.pos = self.buf.len();
            return Some(Err(err(
                offset,
                what(None),
                Problem::Truncated {
                    need: 4,
                    have: rest.len(),
                },
            )));
        }
        let len = ne_u16(rest, 0) as usize;
        let kind = ne_u16(rest, 2) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            self.pos = self.buf.len();
            return Some(Err(err(
                offset,
                what(Some(kind)),
                Problem::Truncated {
                    need: len.max(4),
                    have: rest.len(),
                },
            )));
        }
        self.pos = self.pos.saturating_add(align4(len)).min(self.buf.len());
        Some(Ok(Attr {
            kind,
            data: &rest[4..len],
            offset,
        }))
    }
}

fn attrs<'a>(
    buf: &'a [u8],
    base: usize,
    path: Path<'a>,
    names: fn(u16) -> &'static str,
) -> Attrs<'a> {
    Attrs {
        buf,
        pos: 0,
        base,
        path,
        names,
    }
}

fn tuple_attr_name(t: u16) -> &'static str {
    match t {
        CTA_TUPLE_IP => "CTA_TUPLE_IP",
        CTA_TUPLE_PROTO => "CTA_TUPLE_PROTO",
        _ => "CTA_TUPLE_?",
    }
}

fn nat_attr_name(t: u16) -> &'static str {
    match t {
        CTA_EXPECT_NAT_DIR => "CTA_EXPECT_NAT_DIR",
        CTA_EXPECT_NAT_TUPLE => "CTA_EXPECT_NAT_TUPLE",
        _ => "CTA_EXPECT_NAT_?",
    }
}

fn fixed<const N: usize>(
    a: &Attr<'_>,
    path: impl FnOnce() -> String,
) -> Result<[u8; N], DecodeError> {
    <[u8; N]>::try_from(a.data).map_err(|_| {
        err(
            a.offset,
            path(),
            Problem::Length {
                want: N,
                have: a.data.len(),
            },
        )
    })
}

fn be32(a: &Attr<'_>, path: &str) -> Result<u32, DecodeError> {
    fixed::<4>(a, || path.to_string()).map(u32::from_be_bytes)
}

fn text(a: &Attr<'_>, path: &str) -> Result<String, DecodeError> {
    let end = a.data.iter().position(|b| *b == 0).unwrap_or(a.data.len());
    std::str::from_utf8(&a.data[..end])
        .map(str::to_string)
        .map_err(|_| err(a.offset, path, Problem::Invalid("not UTF-8 text")))
}

/// A tuple's attributes as sent, before they are checked against the family.
#[derive(Default)]
struct RawTuple {
    src: Option<(IpAddr, usize)>,
    dst: Option<(IpAddr, usize)>,
    l4: Option<u8>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_id: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    offset: usize,
}

fn raw_tuple(a: &Attr<'_>, path: &str, unknown: &mut u32) -> Result<RawTuple, DecodeError> {
    let mut t = RawTuple {
        offset: a.offset,
        ..RawTuple::default()
    };
    for sub in attrs(a.data, a.offset + 4, Path(path, ""), tuple_attr_name) {
        let sub = sub?;
        match sub.kind {
            CTA_TUPLE_IP => {
                let ip_path = Path(path, "CTA_TUPLE_IP");
                for x in attrs(sub.data, sub.offset + 4, ip_path, ip_attr_name) {
                    let x = x?;
                    let name = || ip_path.with(ip_attr_name(x.kind));
                    let addr = match x.kind {
                        CTA_IP_V4_SRC | CTA_IP_V4_DST => {
                            IpAddr::V4(Ipv4Addr::from(fixed::<4>(&x, name)?))
                        }
                        CTA_IP_V6_SRC | CTA_IP_V6_DST => {
                            IpAddr::V6(Ipv6Addr::from(fixed::<16>(&x, name)?))
                        }
                        _ => {
                            *unknown += 1;
                            continue;
                        }
                    };
                    if matches!(x.kind, CTA_IP_V4_SRC | CTA_IP_V6_SRC) {
                        t.src = Some((addr, x.offset));
                    } else {
                        t.dst = Some((addr, x.offset));
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                let p_path = Path(path, "CTA_TUPLE_PROTO");
                for x in attrs(sub.data, sub.offset + 4, p_path, proto_attr_name) {
                    let x = x?;
                    let name = || p_path.with(proto_attr_name(x.kind));
                    match x.kind {
                        CTA_PROTO_NUM => t.l4 = Some(fixed::<1>(&x, name)?[0]),
                        CTA_PROTO_SRC_PORT => {
                            t.sport = Some(u16::from_be_bytes(fixed::<2>(&x, name)?))
                        }
                        CTA_PROTO_DST_PORT => {
                            t.dport = Some(u16::from_be_bytes(fixed::<2>(&x, name)?))
                        }
                        CTA_PROTO_ICMP_ID | CTA_PROTO_ICMPV6_ID => {
                            t.icmp_id = Some(u16::from_be_bytes(fixed::<2>(&x, name)?))
                        }
                        CTA_PROTO_ICMP_TYPE | CTA_PROTO_ICMPV6_TYPE => {
                            t.icmp_type = Some(fixed::<1>(&x, name)?[0])
                        }
                        CTA_PROTO_ICMP_CODE | CTA_PROTO_ICMPV6_CODE => {
                            t.icmp_code = Some(fixed::<1>(&x, name)?[0])
                        }
                        _ => *unknown += 1,
                    }
                }
            }
            _ => *unknown += 1,
        }
    }
    Ok(t)
}

/// Whether the kernel puts the layer-4 part of a tuple in `CTA_PROTO_SRC_PORT` /
/// `CTA_PROTO_DST_PORT` (ports, and GRE keys).
fn port_attrs(l4: L4Proto) -> bool {
    l4.has_ports() || l4 == L4Proto::Gre
}

fn is_icmp(l4: L4Proto) -> bool {
    matches!(l4, L4Proto::Icmp | L4Proto::Icmpv6)
}

/// A checked tuple: addresses of `family`, protocol, and the two 16-bit layer-4 fields in the
/// core's packing.
fn cooked_tuple(raw: &RawTuple, family: Family, path: &str) -> Result<Tuple, DecodeError> {
    let (v4, v6) = ("CTA_IP_V4", "CTA_IP_V6");
    let pre = if family == Family::Ipv4 { v4 } else { v6 };
    let addr = |a: Option<(IpAddr, usize)>, side: &str| match a {
        None => Err(err(
            raw.offset,
            format!("{path}.CTA_TUPLE_IP.{pre}_{side}"),
            Problem::Missing,
        )),
        Some((ip, off)) if Family::of(&ip) != family => Err(err(
            off,
            format!(
                "{path}.CTA_TUPLE_IP.{}_{side}",
                if ip.is_ipv4() { v4 } else { v6 }
            ),
            Problem::FamilyMismatch,
        )),
        Some((ip, _)) => Ok(ip),
    };
    let src = addr(raw.src, "SRC")?;
    let dst = addr(raw.dst, "DST")?;
    let Some(num) = raw.l4 else {
        return Err(err(
            raw.offset,
            format!("{path}.CTA_TUPLE_PROTO.CTA_PROTO_NUM"),
            Problem::Missing,
        ));
    };
    let l4 = L4Proto::from(num);
    let missing = |name: &str| {
        err(
            raw.offset,
            format!("{path}.CTA_TUPLE_PROTO.{name}"),
            Problem::Missing,
        )
    };
    let (sport, dport) = if port_attrs(l4) {
        (
            raw.sport.ok_or_else(|| missing("CTA_PROTO_SRC_PORT"))?,
            raw.dport.ok_or_else(|| missing("CTA_PROTO_DST_PORT"))?,
        )
    } else if is_icmp(l4) {
        let v6 = l4 == L4Proto::Icmpv6;
        let n = |a: &'static str, b: &'static str| if v6 { b } else { a };
        let ty = raw
            .icmp_type
            .ok_or_else(|| missing(n("CTA_PROTO_ICMP_TYPE", "CTA_PROTO_ICMPV6_TYPE")))?;
        let code = raw
            .icmp_code
            .ok_or_else(|| missing(n("CTA_PROTO_ICMP_CODE", "CTA_PROTO_ICMPV6_CODE")))?;
        let id = raw
            .icmp_id
            .ok_or_else(|| missing(n("CTA_PROTO_ICMP_ID", "CTA_PROTO_ICMPV6_ID")))?;
        (u16::from(ty) << 8 | u16::from(code), id)
    } else {
        (0, 0)
    };
    Ok(Tuple {
        src,
        dst,
        sport,
        dport,
        l4,
    })
}

fn decode_expect(
    kind: MessageKind,
    header: Header,
    body: &[u8],
    base: usize,
) -> Result<ExpectMessage, DecodeError> {
    if body.len() < NFGENMSG_LEN {
        return Err(err(
            base,
            "nfgenmsg",
            Problem::Truncated {
                need: NFGENMSG_LEN,
                have: body.len(),
            },
        ));
    }
    let family = Family::from_l3proto(body[0]).ok_or_else(|| {
        err(
            base,
            "nfgenmsg.nfgen_family",
            Problem::UnknownFamily(body[0]),
        )
    })?;
    let mut unknown = 0u32;
    let (mut tuple, mut mask, mut master) = (None, None, None);
    let (mut timeout, mut id, mut zone, mut flags, mut class) = (None, None, None, 0u32, 0u8);
    let (mut helper, mut expect_fn, mut nat) = (None, None, None);
    for a in attrs(
        &body[NFGENMSG_LEN..],
        base + NFGENMSG_LEN,
        Path("", ""),
        expect_attr_name,
    ) {
        let a = a?;
        let name = expect_attr_name(a.kind);
        match a.kind {
            CTA_EXPECT_TUPLE => tuple = Some(raw_tuple(&a, name, &mut unknown)?),
            CTA_EXPECT_MASK => mask = Some(raw_tuple(&a, name, &mut unknown)?),
            CTA_EXPECT_MASTER => master = Some(raw_tuple(&a, name, &mut unknown)?),
            CTA_EXPECT_TIMEOUT => timeout = Some(be32(&a, name)?),
            CTA_EXPECT_ID => id = Some(be32(&a, name)?),
            CTA_EXPECT_ZONE => {
                zone = Some(u16::from_be_bytes(fixed::<2>(&a, || name.to_string())?))
            }
            CTA_EXPECT_FLAGS => flags = be32(&a, name)?,
            CTA_EXPECT_CLASS => {
                let c = be32(&a, name)?;
                class = u8::try_from(c)
                    .map_err(|_| err(a.offset, name, Problem::Invalid("class number above 255")))?;
            }
            CTA_EXPECT_HELP_NAME => helper = Some(text(&a, name)?),
            CTA_EXPECT_FN => expect_fn = Some(text(&a, name)?),
            CTA_EXPECT_NAT => {
                let (mut dir, mut nt) = (None, None);
                for x in attrs(a.data, a.offset + 4, Path(name, ""), nat_attr_name) {
                    let x = x?;
                    match x.kind {
                        CTA_EXPECT_NAT_DIR => {
                            dir = Some(be32(&x, "CTA_EXPECT_NAT.CTA_EXPECT_NAT_DIR")?)
                        }
                        CTA_EXPECT_NAT_TUPLE => {
                            nt = Some(raw_tuple(
                                &x,
                                "CTA_EXPECT_NAT.CTA_EXPECT_NAT_TUPLE",
                                &mut unknown,
                            )?)
                        }
                        _ => unknown += 1,
                    }
                }
                let dir = dir.ok_or_else(|| {
                    err(
                        a.offset,
                        "CTA_EXPECT_NAT.CTA_EXPECT_NAT_DIR",
                        Problem::Missing,
                    )
                })?;
                let nt = nt.ok_or_else(|| {
                    err(
                        a.offset,
                        "CTA_EXPECT_NAT.CTA_EXPECT_NAT_TUPLE",
                        Problem::Missing,
                    )
                })?;
                let path = "CTA_EXPECT_NAT.CTA_EXPECT_NAT_TUPLE";
                let t = cooked_tuple(&nt, family, path)?;
                nat = Some(ExpectNat {
                    dir,
                    addr: t.src,
                    port: t.sport,
                    l4: t.l4,
                });
            }
            _ => unknown += 1,
        }
    }
    let tuple = tuple.ok_or_else(|| err(base, "CTA_EXPECT_TUPLE", Problem::Missing))?;
    let mask = mask.ok_or_else(|| err(base, "CTA_EXPECT_MASK", Problem::Missing))?;
    let t = cooked_tuple(&tuple, family, "CTA_EXPECT_TUPLE")?;
    let m = cooked_mask(&mask, family, t.l4)?;
    let master = match master {
        Some(raw) => Some(cooked_tuple(&raw, family, "CTA_EXPECT_MASTER")?),
        None => None,
    };
    let expectation = Expectation {
        src: t.src,
        src_mask: m.src,
        sport: t.sport,
        sport_mask: m.src_part,
        dst: t.dst,
        dport: t.dport,
        l4: t.l4,
        master,
        helper: helper.as_deref().map(crate::expect::helper_label),
        class,
        flags: ExpectFlags::from_bits_retain(flags),
    };
    Ok(ExpectMessage {
        kind,
        header,
        id,
        nat,
        expect_fn,
        unknown_attributes: unknown,
        line: ParsedLine {
            format: Format::Conntrack,
            event: event_of(kind),
            timeout,
            policy_name: None,
            master_l4_known: expectation.master.is_some(),
            zone,
            expectation,
        },
    })
}

/// The mask as `ctnetlink_exp_dump_mask` sends it: the source address and the source part of
/// the layer-4 fields come from the expectation's mask, everything else is all ones.
struct MaskTuple {
    src: IpAddr,
    dst: IpAddr,
    /// The source port / GRE key mask; for ICMP, the id mask.
    src_part: u16,
    l4: L4Proto,
}

fn cooked_mask(raw: &RawTuple, family: Family, l4: L4Proto) -> Result<MaskTuple, DecodeError> {
    const PATH: &str = "CTA_EXPECT_MASK";
    let pre = if family == Family::Ipv4 {
        "CTA_IP_V4"
    } else {
        "CTA_IP_V6"
    };
    let src = match raw.src {
        // Kernels from 2019 to the March 2021 fix sent the mask's address nest empty.
        None => {
            return Err(err(
                raw.offset,
                format!("{PATH}.CTA_TUPLE_IP.{pre}_SRC"),
                Problem::Missing,
            ));
        }
        Some((ip, off)) if Family::of(&ip) != family => {
            return Err(err(
                off,
                format!("{PATH}.CTA_TUPLE_IP.{pre}_SRC"),
                Problem::FamilyMismatch,
            ));
        }
        Some((ip, _)) => ip,
    };
    let dst = match raw.dst {
        Some((ip, _)) if Family::of(&ip) == family => ip,
        _ => full_mask(family),
    };
    let src_part = if port_attrs(l4) {
        raw.sport.ok_or_else(|| {
            err(
                raw.offset,
                format!("{PATH}.CTA_TUPLE_PROTO.CTA_PROTO_SRC_PORT"),
                Problem::Missing,
            )
        })?
    } else if is_icmp(l4) {
        raw.icmp_id.ok_or_else(|| {
            err(
                raw.offset,
                format!("{PATH}.CTA_TUPLE_PROTO.CTA_PROTO_ICMP_ID"),
                Problem::Missing,
            )
        })?
    } else {
        0
    };
    Ok(MaskTuple {
        src,
        dst,
        src_part,
        l4,
    })
}

/// Builds one netlink message.
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn message(op: u8, header: Header, family: u8) -> Writer {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        let t = u16::from(NFNL_SUBSYS_CTNETLINK_EXP) << 8 | u16::from(op);
        buf.extend_from_slice(&t.to_ne_bytes());
        buf.extend_from_slice(&header.flags.to_ne_bytes());
        buf.extend_from_slice(&header.seq.to_ne_bytes());
        buf.extend_from_slice(&header.port_id.to_ne_bytes());
        // struct nfgenmsg: family, NFNETLINK_V0, res_id 0.
        buf.extend_from_slice(&[family, 0, 0, 0]);
        Writer { buf }
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) {
        let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn string(&mut self, kind: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(kind, &v);
    }

    fn nest(&mut self, kind: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        start
    }

    fn end(&mut self, start: usize) {
        let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn addrs(&mut self, src: IpAddr, dst: IpAddr) {
        let start = self.nest(CTA_TUPLE_IP);
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                self.attr(CTA_IP_V4_SRC, &s.octets());
                self.attr(CTA_IP_V4_DST, &d.octets());
            }
            (s, d) => {
                self.attr(CTA_IP_V6_SRC, &v6(s).octets());
                self.attr(CTA_IP_V6_DST, &v6(d).octets());
            }
        }
        self.end(start);
    }

    /// The layer-4 part of a tuple; for ICMP `a` is `type << 8 | code` and `b` the id.
    fn proto(&mut self, l4: L4Proto, a: u16, b: u16) {
        let start = self.nest(CTA_TUPLE_PROTO);
        self.attr(CTA_PROTO_NUM, &[u8::from(l4)]);
        if port_attrs(l4) {
            self.attr(CTA_PROTO_SRC_PORT, &a.to_be_bytes());
            self.attr(CTA_PROTO_DST_PORT, &b.to_be_bytes());
        } else if is_icmp(l4) {
            let (id, ty, code) = if l4 == L4Proto::Icmp {
                (CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE)
            } else {
                (
                    CTA_PROTO_ICMPV6_ID,
                    CTA_PROTO_ICMPV6_TYPE,
                    CTA_PROTO_ICMPV6_CODE,
                )
            };
            self.attr(id, &b.to_be_bytes());
            self.attr(ty, &[(a >> 8) as u8]);
            self.attr(code, &[(a & 0xff) as u8]);
        }
        self.end(start);
    }

    fn tuple(&mut self, kind: u16, t: &Tuple) {
        let start = self.nest(kind);
        self.addrs(t.src, t.dst);
        self.proto(t.l4, t.sport, t.dport);
        self.end(start);
    }

    fn mask(&mut self, m: &MaskTuple) {
        let start = self.nest(CTA_EXPECT_MASK);
        self.addrs(m.src, m.dst);
        if is_icmp(m.l4) {
            // The id is the source part of an ICMP tuple; type and code are all ones.
            self.proto(m.l4, u16::MAX, m.src_part);
        } else {
            self.proto(m.l4, m.src_part, u16::MAX);
        }
        self.end(start);
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(v) => v,
        IpAddr::V4(v) => v.to_ipv6_mapped(),
    }
}

/// The request that dumps the expectation table of the socket's network namespace: an
/// `IPCTNL_MSG_EXP_GET` with `NLM_F_REQUEST | NLM_F_DUMP`, for one family or (`None`) both.
///
/// ```
/// use netfilter_helpers_core::ctnetlink;
/// use netfilter_helpers_core::net::Family;
/// let r = ctnetlink::dump_request(42, Some(Family::Ipv6));
/// assert_eq!(r.len(), 20);
/// assert_eq!(u32::from_ne_bytes(r[8..12].try_into().unwrap()), 42);
/// assert_eq!(r[16], 10); // AF_INET6
/// ```
pub fn dump_request(seq: u32, family: Option<Family>) -> Vec<u8> {
    let header = Header {
        seq,
        port_id: 0,
        flags: NLM_F_REQUEST | NLM_F_DUMP,
    };
    Writer::message(
        IPCTNL_MSG_EXP_GET,
        header,
        family.map_or(0, Family::l3proto),
    )
    .finish()
}

/// The request that deletes one expectation (`IPCTNL_MSG_EXP_DELETE` with `NLM_F_ACK`): the
/// kernel (`ctnetlink_del_expect`) finds it by `CTA_EXPECT_TUPLE` in `CTA_EXPECT_ZONE` (zone 0
/// when absent) and, when `CTA_EXPECT_ID` is given, deletes it only if the id still matches
/// (otherwise ENOENT): a new expectation that took the same tuple is never deleted by
/// mistake. The kernel answers with an acknowledgement or an error (`-ENOENT` when it is gone:
/// matched by a connection, expired or deleted already).
///
/// ```
/// use netfilter_helpers_core::net::L4Proto;
/// use netfilter_helpers_core::ctnetlink::{self, ExpectKey};
/// use netfilter_helpers_core::expect::Tuple;
/// let key = ExpectKey {
///     tuple: Tuple::new("10.0.1.2".parse().unwrap(), 0, "10.0.0.2".parse().unwrap(), 50000, L4Proto::Tcp).unwrap(),
///     id: Some(0x1234_5678),
///     zone: None,
/// };
/// let r = ctnetlink::delete_request(9, &key);
/// assert_eq!(u16::from_ne_bytes([r[6], r[7]]), 0x5); // NLM_F_REQUEST | NLM_F_ACK
/// assert!(r.windows(4).any(|w| w == [0x12, 0x34, 0x56, 0x78])); // the id, big-endian
/// ```
pub fn delete_request(seq: u32, key: &ExpectKey) -> Vec<u8> {
    let header = Header {
        seq,
        port_id: 0,
        flags: NLM_F_REQUEST | NLM_F_ACK,
    };
    let mut w = Writer::message(IPCTNL_MSG_EXP_DELETE, header, key.tuple.family().l3proto());
    w.tuple(CTA_EXPECT_TUPLE, &key.tuple);
    if let Some(id) = key.id {
        w.attr(CTA_EXPECT_ID, &id.to_be_bytes());
    }
    if let Some(z) = key.zone {
        w.attr(CTA_EXPECT_ZONE, &z.to_be_bytes());
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ModuleOptions;
    use proptest::prelude::*;

    fn ftp() -> ExpectMessage {
        let master = Tuple::new(
            "10.0.0.2".parse().unwrap(),
            40000,
            "10.0.1.2".parse().unwrap(),
            21,
            L4Proto::Tcp,
        )
        .unwrap();
        let e = Expectation::new(
            Some("10.0.1.2".parse().unwrap()),
            None,
            "10.0.0.2".parse().unwrap(),
            50000,
            L4Proto::Tcp,
        )
        .unwrap()
        .with_master(master)
        .with_helper("ftp", 0);
        ExpectMessage::new(MessageKind::New, e)
            .with_id(0xabcd_0123)
            .with_timeout(299)
    }

    /// Bytes laid out by hand from the uapi headers, as `ctnetlink_exp_fill_info` writes them
    /// on a little-endian machine: an FTP expectation from 10.0.1.2 to 10.0.0.2:50000.
    #[cfg(target_endian = "little")]
    #[test]
    fn decodes_hand_made_kernel_bytes() {
        fn tuple(kind: u8, src: [u8; 4], dst: [u8; 4], sport: [u8; 2], dport: [u8; 2]) -> Vec<u8> {
            let mut v = vec![0, 0, kind, 0x80]; // len patched below, NLA_F_NESTED
            v.extend_from_slice(&[20, 0, 1, 0x80]); // CTA_TUPLE_IP
            v.extend_from_slice(&[8, 0, 1, 0]);
            v.extend_from_slice(&src);
            v.extend_from_slice(&[8, 0, 2, 0]);
            v.extend_from_slice(&dst);
            v.extend_from_slice(&[28, 0, 2, 0x80]); // CTA_TUPLE_PROTO
            v.extend_from_slice(&[5, 0, 1, 0, 6, 0, 0, 0]); // CTA_PROTO_NUM tcp
            v.extend_from_slice(&[6, 0, 2, 0, sport[0], sport[1], 0, 0]);
            v.extend_from_slice(&[6, 0, 3, 0, dport[0], dport[1], 0, 0]);
            v[0] = v.len() as u8;
            v
        }
        let mut body = vec![2, 0, 0, 0]; // nfgenmsg: AF_INET
        body.extend(tuple(2, [10, 0, 1, 2], [10, 0, 0, 2], [0, 0], [0xc3, 0x50]));
        body.extend(tuple(3, [255; 4], [255; 4], [0, 0], [0xff, 0xff]));
        body.extend(tuple(
            1,
            [10, 0, 0, 2],
            [10, 0, 1, 2],
            [0x9c, 0x40],
            [0, 21],
        ));
        body.extend_from_slice(&[8, 0, 4, 0, 0, 0, 1, 0x2b]); // timeout 299
        body.extend_from_slice(&[8, 0, 5, 0, 0xab, 0xcd, 0x01, 0x23]); // id
        body.extend_from_slice(&[8, 0, 8, 0, 0, 0, 0, 0]); // flags
        body.extend_from_slice(&[8, 0, 9, 0, 0, 0, 0, 0]); // class
        body.extend_from_slice(&[8, 0, 6, 0, b'f', b't', b'p', 0]); // helper
        body.extend_from_slice(&[8, 0, 99, 0, 1, 2, 3, 4]); // unknown attribute 99
        let mut msg = Vec::new();
        msg.extend_from_slice(&((16 + body.len()) as u32).to_le_bytes());
        msg.extend_from_slice(&[0, 2, 0x00, 0x06]); // EXP NEW, NLM_F_CREATE|EXCL (0x600)
        msg.extend_from_slice(&[0; 8]);
        msg.extend(body);
        let got = ExpectMessage::decode(&msg).unwrap();
        let mut want = ftp();
        want.header.flags = 0x600;
        want.unknown_attributes = 1;
        assert_eq!(got, want);
    }

    #[test]
    fn truncations_name_the_attribute() {
        let bytes = ftp().encode();
        let mut errors = Vec::new();
        let mut whole = 0;
        for cut in 0..bytes.len() {
            let mut b = bytes[..cut].to_vec();
            if b.len() >= 4 {
                b[0..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            }
            match ExpectMessage::decode(&b) {
                // A cut between two top-level attributes after the mask is a shorter message.
                Ok(m) => {
                    whole += 1;
                    assert_eq!(m.expectation().dport, 50000);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        // master, timeout, id, flags, class, helper: six attributes may be cut off whole.
        assert!(whole <= 6, "{whole} cuts decoded");
        assert!(
            errors.iter().any(|e| e.contains("CTA_EXPECT_MASK")),
            "{errors:#?}"
        );
        for name in [
            "CTA_EXPECT_TUPLE: truncated",
            "CTA_EXPECT_MASTER: truncated",
        ] {
            assert!(errors.iter().any(|e| e.contains(name)), "{errors:#?}");
        }
        assert!(
            errors
                .iter()
                .all(|e| e.starts_with("ctnetlink message at byte "))
        );
    }

    #[test]
    fn inner_attributes_are_named() {
        let bytes = ftp().encode();
        // The first address: nlmsghdr 16, nfgenmsg 4, CTA_EXPECT_TUPLE 4, CTA_TUPLE_IP 4.
        let at = 16 + 4 + 4 + 4;
        let mut b = bytes.clone();
        b[at..at + 2].copy_from_slice(&7u16.to_ne_bytes());
        let e = ExpectMessage::decode(&b).unwrap_err();
        assert_eq!(e.attribute, "CTA_EXPECT_TUPLE.CTA_TUPLE_IP.CTA_IP_V4_SRC");
        assert_eq!(e.problem, Problem::Length { want: 4, have: 3 });
        assert_eq!(e.offset, at);
        let mut b = bytes;
        b[at..at + 2].copy_from_slice(&200u16.to_ne_bytes());
        let e = ExpectMessage::decode(&b).unwrap_err();
        assert_eq!(e.attribute, "CTA_EXPECT_TUPLE.CTA_TUPLE_IP.CTA_IP_V4_SRC");
        assert!(matches!(e.problem, Problem::Truncated { need: 200, .. }));
    }

    #[test]
    fn family_mismatch_and_bad_lengths() {
        let mut b = ftp().encode();
        b[16] = 10; // claims IPv6, carries IPv4 addresses
        let e = ExpectMessage::decode(&b).unwrap_err();
        assert_eq!(e.problem, Problem::FamilyMismatch);
        assert_eq!(e.attribute, "CTA_EXPECT_TUPLE.CTA_TUPLE_IP.CTA_IP_V4_SRC");
        b[16] = 7;
        assert_eq!(
            ExpectMessage::decode(&b).unwrap_err().problem,
            Problem::UnknownFamily(7)
        );
    }

    #[test]
    fn errors_acks_and_other_subsystems() {
        let mut ack = Vec::new();
        ack.extend_from_slice(&36u32.to_ne_bytes());
        ack.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        ack.extend_from_slice(&0u16.to_ne_bytes());
        ack.extend_from_slice(&5u32.to_ne_bytes());
        ack.extend_from_slice(&77u32.to_ne_bytes());
        ack.extend_from_slice(&(-2i32).to_ne_bytes());
        ack.extend_from_slice(&[0; 16]);
        let got: Vec<_> = messages(&ack).collect();
        assert_eq!(
            got,
            [Ok(Message::Error {
                header: Header {
                    seq: 5,
                    port_id: 77,
                    flags: 0
                },
                error: -2
            })]
        );
        let mut ct = ftp().encode();
        ct[4..6].copy_from_slice(&0x0100u16.to_ne_bytes()); // NFNL_SUBSYS_CTNETLINK: a conntrack entry
        let got: Vec<_> = messages(&ct).collect();
        assert!(matches!(
            got[..],
            [Ok(Message::Other {
                msg_type: 0x100,
                ..
            })]
        ));
    }

    #[test]
    fn judged_by_the_one_pipeline() {
        let judge = Judge::new(&ModuleOptions::new(), None);
        let m = ftp();
        assert_eq!(m.judge(&judge), judge.judge_parsed(&m.line));
        assert!(m.conforms(&judge));
        // A PORT naming a third party: the model (loose=0) pins the source to the master's peer.
        let mut third = m.clone();
        third.line.expectation.src = "10.0.9.9".parse().unwrap();
        assert!(!third.conforms(&judge));
        assert!(!third.judge(&judge).conforms());
    }

    fn message() -> impl Strategy<Value = ExpectMessage> {
        (
            crate::strategies::expectation(),
            prop_oneof![
                Just(MessageKind::New),
                Just(MessageKind::Destroy),
                Just(MessageKind::Get)
            ],
            any::<(u32, u32, u16)>(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of((0u32..2, any::<u16>())),
            proptest::option::of("[a-z-]{1,20}"),
        )
            .prop_map(
                |(e, kind, (seq, port_id, flags), id, timeout, zone, nat, f)| {
                    let addr = e.dst;
                    let mut m = ExpectMessage::new(kind, e);
                    m.header = Header {
                        seq,
                        port_id,
                        flags,
                    };
                    m.id = id;
                    m.line.timeout = timeout;
                    m.line.zone = zone;
                    m.nat = nat.map(|(dir, port)| ExpectNat {
                        dir,
                        addr,
                        port,
                        l4: L4Proto::Tcp,
                    });
                    m.expect_fn = f;
                    m
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn encode_decode_round_trip(m in message()) {
            let bytes = m.encode();
            prop_assert_eq!(bytes.len() % 4, 0);
            let got = ExpectMessage::decode(&bytes).unwrap();
            prop_assert_eq!(&got, &m);
            // Two messages in one datagram.
            let mut two = bytes.clone();
            two.extend_from_slice(&bytes);
            let all: Vec<_> = messages(&two).collect();
            prop_assert_eq!(all.len(), 2);
            // The key re-encodes into a delete request whose tuple decodes back.
            let del = delete_request(1, &m.key());
            let mut as_msg = del.clone();
            as_msg[4..6].copy_from_slice(&0x0200u16.to_ne_bytes()); // EXP_NEW
            let e = ExpectMessage::decode(&as_msg).unwrap_err();
            prop_assert_eq!(e.attribute, "CTA_EXPECT_MASK"); // a delete carries no mask
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for m in messages(&bytes) {
                if let Err(e) = m {
                    prop_assert!(!e.attribute.is_empty());
                    let _ = e.to_string();
                }
            }
        }

        #[test]
        fn mutated_messages_never_panic(m in message(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut bytes = m.encode();
            for (at, v) in flips {
                let n = bytes.len();
                bytes[at % n] = v;
            }
            for r in messages(&bytes) {
                if let Ok(Message::Expect(x)) = r {
                    // Whatever decodes re-encodes and decodes to itself.
                    let again = ExpectMessage::decode(&x.encode());
                    prop_assert!(again.is_ok(), "{:?}", again);
                }
            }
        }
    }
}
