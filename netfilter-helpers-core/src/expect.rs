//! Conntrack tuples and expectations, and the two text forms the kernel shows them in.
//!
//! An expectation matches a future connection on its *tuple* under its *mask*. The kernel's
//! mask only ever covers the source address and the source port (or GRE key): destination
//! address, destination port, layer-4 protocol and family always match exactly. The types
//! here keep that invariant: only the source side carries a mask.
//!
//! ```
//! use netfilter_helpers_core::expect::{ExpectFlags, Expectation, Tuple};
//! use netfilter_helpers_core::net::L4Proto;
//!
//! let master = Tuple::new("192.168.1.10".parse().unwrap(), 51000, "198.51.100.7".parse().unwrap(), 21, L4Proto::Tcp).unwrap();
//! let exp = Expectation::new(
//!     Some("198.51.100.7".parse().unwrap()), None,
//!     "192.168.1.10".parse().unwrap(), 40000, L4Proto::Tcp,
//! ).unwrap()
//!     .with_master(master)
//!     .with_helper("ftp", 0);
//! assert_eq!(
//!     exp.to_proc_line(Some(299), None),
//!     "299 l3proto = 2 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40000 ftp",
//! );
//! assert_eq!(
//!     exp.to_conntrack_line(Some(299)),
//!     "299 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.1.10 master-dst=198.51.100.7 sport=51000 dport=21 class=0 helper=ftp",
//! );
//! assert!(exp.flags.is_empty());
//! # let _ = ExpectFlags::PERMANENT;
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::catalogue::Helper;
use crate::net::full_mask;
use crate::net::zero_addr;
use crate::net::{Family, L4Proto};

bitflags::bitflags! {
    /// Expectation flags (`NF_CT_EXPECT_*`), as ctnetlink and `/proc` show them.
    ///
    /// ```
    /// use netfilter_helpers_core::expect::ExpectFlags;
    /// let f = ExpectFlags::PERMANENT | ExpectFlags::INACTIVE;
    /// assert_eq!(f.kernel_text(), "PERMANENT,INACTIVE");
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub struct ExpectFlags: u32 {
        /// Not removed when a connection matches it.
        const PERMANENT = 0x1;
        /// Never matched until activated (SIP signalling before the 2xx).
        const INACTIVE = 0x2;
        /// Created from user space (historical).
        const USERSPACE = 0x4;
        /// Bits the kernel may add later.
        const _ = !0;
    }
}

impl ExpectFlags {
    /// The comma-joined text the kernel prints (`PERMANENT,INACTIVE`), empty when no flag is set.
    ///
    /// ```
    /// use netfilter_helpers_core::expect::ExpectFlags;
    /// assert_eq!(ExpectFlags::empty().kernel_text(), "");
    /// assert_eq!((ExpectFlags::USERSPACE | ExpectFlags::PERMANENT).kernel_text(), "PERMANENT,USERSPACE");
    /// ```
    pub fn kernel_text(self) -> String {
        let mut parts = Vec::new();
        if self.contains(ExpectFlags::PERMANENT) {
            parts.push("PERMANENT");
        }
        if self.contains(ExpectFlags::INACTIVE) {
            parts.push("INACTIVE");
        }
        if self.contains(ExpectFlags::USERSPACE) {
            parts.push("USERSPACE");
        }
        parts.join(",")
    }
}

/// An error building a tuple or expectation.
///
/// ```
/// use netfilter_helpers_core::expect::{Tuple, TupleError};
/// use netfilter_helpers_core::net::L4Proto;
/// let e = Tuple::new("10.0.0.1".parse().unwrap(), 1, "::1".parse().unwrap(), 2, L4Proto::Tcp).unwrap_err();
/// assert!(matches!(e, TupleError::FamilyMismatch { .. }));
/// assert!(e.to_string().starts_with("address family mix-up: 10.0.0.1 and ::1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TupleError {
    /// Source and destination (or address and mask) are of different families.
    #[error("address family mix-up: {a} and {b} are not both IPv4 or both IPv6")]
    FamilyMismatch {
        /// One address.
        a: IpAddr,
        /// The other.
        b: IpAddr,
    },
}

/// A connection tuple: addresses, ports (or GRE keys) and layer-4 protocol, as in the master
/// connection's ORIGINAL direction.
///
/// ```
/// use netfilter_helpers_core::expect::Tuple;
/// use netfilter_helpers_core::net::L4Proto;
/// let t = Tuple::new("10.0.0.1".parse().unwrap(), 1, "::1".parse().unwrap(), 2, L4Proto::Udp);
/// assert!(t.is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (or GRE key).
    pub sport: u16,
    /// Destination port (or GRE key).
    pub dport: u16,
    /// Layer-4 protocol.
    pub l4: L4Proto,
}

impl Tuple {
    /// A tuple; both addresses must be of one family.
    ///
    /// ```
    /// use netfilter_helpers_core::expect::Tuple;
    /// use netfilter_helpers_core::net::L4Proto;
    /// let t = Tuple::new("10.0.0.1".parse().unwrap(), 40000, "10.0.0.2".parse().unwrap(), 21, L4Proto::Tcp).unwrap();
    /// assert_eq!((t.sport, t.dport, t.l4), (40000, 21, L4Proto::Tcp));
    /// ```
    pub fn new(
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        l4: L4Proto,
    ) -> Result<Self, TupleError> {
        same_family(src, dst)?;
        Ok(Tuple {
            src,
            dst,
            sport,
            dport,
            l4,
        })
    }

    /// The family of the tuple.
    ///
    /// ```
    /// use netfilter_helpers_core::expect::Tuple;
    /// use netfilter_helpers_core::net::{Family, L4Proto};
    /// let t = Tuple::new("2001:db8::1".parse().unwrap(), 5060, "2001:db8::2".parse().unwrap(), 5060, L4Proto::Udp).unwrap();
    /// assert_eq!(t.family(), Family::Ipv6);
    /// ```
    pub fn family(&self) -> Family {
        Family::of(&self.src)
    }

    /// The tuple of the opposite direction.
    ///
    /// ```
    /// use netfilter_helpers_core::expect::Tuple;
    /// use netfilter_helpers_core::net::L4Proto;
    /// let t = Tuple::new("10.0.0.1".parse().unwrap(), 1000, "10.0.0.2".parse().unwrap(), 21, L4Proto::Tcp).unwrap();
    /// assert_eq!(t.reversed().dport, 1000);
    /// ```
    pub fn reversed(&self) -> Tuple {
        Tuple {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            l4: self.l4,
        }
    }
}

fn same_family(a: IpAddr, b: IpAddr) -> Result<(), TupleError> {
    if a.is_ipv4() == b.is_ipv4() {
        Ok(())
    } else {
        Err(TupleError::FamilyMismatch { a, b })
    }
}

/// A conntrack expectation: the tuple a future connection must match, the source mask, and
/// what the kernel reports about it.
///
/// ```
/// use netfilter_helpers_core::net::L4Proto;
/// use netfilter_helpers_core::expect::Expectation;
/// let e = Expectation::new(Some("10.0.1.2".parse().unwrap()), None, "10.0.0.2".parse().unwrap(), 50000, L4Proto::Tcp).unwrap();
/// assert!(!e.src_addr_wildcard() && e.src_port_wildcard());
/// assert_eq!((e.sport_mask, e.class, e.helper), (0, 0, None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Expectation {
    /// Source address of the expected connection (zero when wildcarded).
    pub src: IpAddr,
    /// Mask on the source address (`0.0.0.0` wildcard, all ones exact, or a netmask).
    pub src_mask: IpAddr,
    /// Source port or GRE key (zero when wildcarded); for ICMP, `type << 8 | code`.
    pub sport: u16,
    /// Mask on the source port (0 wildcard, 65535 exact).
    pub sport_mask: u16,
    /// Destination address (always exact).
    pub dst: IpAddr,
    /// Destination port or GRE key (always exact); for ICMP, the id.
    pub dport: u16,
    /// Layer-4 protocol (always exact).
    pub l4: L4Proto,
    /// The master connection's ORIGINAL tuple, when known (ctnetlink shows it, `/proc` does not).
    pub master: Option<Tuple>,
    /// The helper name the kernel prints (`ftp`, `ftp-2121`, `sip`, `RAS`): borrowed for
    /// the base names of the catalogue, so parsing the common lines allocates nothing for it.
    pub helper: Option<Cow<'static, str>>,
    /// The expectation class number.
    pub class: u8,
    /// Flags.
    pub flags: ExpectFlags,
}

impl Expectation {
    /// An expectation from its parts: `None` for a wildcarded source address or port.
    ///
    /// ```
    /// use netfilter_helpers_core::expect::Expectation;
    /// use netfilter_helpers_core::net::L4Proto;
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 5000, L4Proto::Tcp).unwrap();
    /// assert_eq!(e.src.to_string(), "0.0.0.0");
    /// assert_eq!(e.src_mask.to_string(), "0.0.0.0");
    /// ```
    pub fn new(
        src: Option<IpAddr>,
        sport: Option<u16>,
        dst: IpAddr,
        dport: u16,
        l4: L4Proto,
    ) -> Result<Self, TupleError> {
        let family = Family::of(&dst);
        if let Some(s) = src {
            same_family(s, dst)?;
        }
        Ok(Expectation {
            src: src.unwrap_or_else(|| zero_addr(family)),
            src_mask: if src.is_some() {
                full_mask(family)
            } else {
                zero_addr(family)
            },
            sport: sport.unwrap_or(0),
            sport_mask: if sport.is_some() { u16::MAX } else { 0 },
            dst,
            dport,
            l4,
            master: None,
            helper: None,
            class: 0,
            flags: ExpectFlags::empty(),
        })
    }

    /// Sets the source mask (for broadcast helpers: the interface netmask). The source address
    /// is kept as given: the kernel prints the unmasked tuple.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::Expectation;
    /// let e = Expectation::new(Some("192.168.1.255".parse().unwrap()), Some(137), "192.168.1.10".parse().unwrap(), 137, L4Proto::Udp).unwrap();
    /// let e = e.with_src_mask("255.255.255.0".parse().unwrap()).unwrap();
    /// assert_eq!((e.src.to_string(), e.src_mask.to_string()), ("192.168.1.255".into(), "255.255.255.0".into()));
    /// assert!(e.with_src_mask("ffff::".parse().unwrap()).is_err());
    /// ```
    pub fn with_src_mask(mut self, mask: IpAddr) -> Result<Self, TupleError> {
        same_family(self.dst, mask)?;
        self.src_mask = mask;
        Ok(self)
    }

    /// Sets the master tuple.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::{Expectation, Tuple};
    /// let m = Tuple::new("10.0.0.2".parse().unwrap(), 40000, "10.0.1.2".parse().unwrap(), 21, L4Proto::Tcp).unwrap();
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 50000, L4Proto::Tcp).unwrap().with_master(m);
    /// assert_eq!(e.master, Some(m));
    /// ```
    pub fn with_master(mut self, master: Tuple) -> Self {
        self.master = Some(master);
        self
    }

    /// Sets the helper name and class number.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::Expectation;
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 49170, L4Proto::Udp).unwrap().with_helper("sip", 1);
    /// assert_eq!((e.helper.as_deref(), e.class), (Some("sip"), 1));
    /// ```
    pub fn with_helper(mut self, helper: &str, class: u8) -> Self {
        self.helper = Some(helper_label(helper));
        self.class = class;
        self
    }

    /// Sets the flags.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::{ExpectFlags, Expectation};
    /// let e = Expectation::new(None, None, "10.0.0.2".parse().unwrap(), 137, L4Proto::Udp).unwrap().with_flags(ExpectFlags::PERMANENT);
    /// assert!(e.to_conntrack_line(None).ends_with("PERMANENT class=0"));
    /// ```
    pub fn with_flags(mut self, flags: ExpectFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The family.
    ///
    /// ```
    /// use netfilter_helpers_core::net::{Family, L4Proto};
    /// use netfilter_helpers_core::expect::Expectation;
    /// let e = Expectation::new(None, None, "2001:db8::1".parse().unwrap(), 40000, L4Proto::Tcp).unwrap();
    /// assert_eq!(e.family(), Family::Ipv6);
    /// ```
    pub fn family(&self) -> Family {
        Family::of(&self.dst)
    }

    /// Whether the source address is a full wildcard.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::Expectation;
    /// let dst = "10.0.0.2".parse().unwrap();
    /// assert!(Expectation::new(None, None, dst, 6000, L4Proto::Tcp).unwrap().src_addr_wildcard());
    /// assert!(!Expectation::new(Some("10.0.1.2".parse().unwrap()), None, dst, 6000, L4Proto::Tcp).unwrap().src_addr_wildcard());
    /// ```
    pub fn src_addr_wildcard(&self) -> bool {
        self.src_mask == zero_addr(self.family())
    }

    /// Whether the source port is a wildcard.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::Expectation;
    /// let dst = "10.0.0.2".parse().unwrap();
    /// assert!(Expectation::new(None, None, dst, 6000, L4Proto::Tcp).unwrap().src_port_wildcard());
    /// assert!(!Expectation::new(None, Some(20), dst, 6000, L4Proto::Tcp).unwrap().src_port_wildcard());
    /// ```
    pub fn src_port_wildcard(&self) -> bool {
        self.sport_mask == 0
    }

    /// Renders the line `/proc/net/nf_conntrack_expect` shows, with the remaining seconds
    /// (`None` renders the `-` older kernels print for timer-less expectations) and the class's
    /// policy name (`Some("audio")` gives `sip/audio`).
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::Expectation;
    /// let e = Expectation::new(Some("203.0.113.5".parse().unwrap()), None, "192.168.1.10".parse().unwrap(), 49170, L4Proto::Udp).unwrap().with_helper("sip", 1);
    /// assert_eq!(e.to_proc_line(None, Some("audio")),
    ///            "- l3proto = 2 proto=17 src=203.0.113.5 dst=192.168.1.10 sport=0 dport=49170 sip/audio");
    /// ```
    pub fn to_proc_line(&self, timeout: Option<u32>, policy_name: Option<&str>) -> String {
        let mut s = String::with_capacity(128);
        match timeout {
            Some(t) => {
                let _ = write!(s, "{t} ");
            }
            None => s.push_str("- "),
        }
        let _ = write!(
            s,
            "l3proto = {} proto={} src={} dst={} ",
            self.family().l3proto(),
            u8::from(self.l4),
            proc_addr(self.src),
            proc_addr(self.dst)
        );
        write_l4(&mut s, self.l4, self.sport, self.dport);
        let flags = self.flags.kernel_text();
        s.push_str(&flags);
        if let Some(h) = &self.helper {
            if !flags.is_empty() {
                s.push(' ');
            }
            s.push_str(h);
            if let Some(p) = policy_name {
                s.push('/');
                s.push_str(p);
            }
        }
        s
    }

    /// Renders the line `conntrack -L expect` prints (libnetfilter_conntrack format), with the
    /// remaining seconds when given. The master part is omitted when the master is unknown.
    ///
    /// ```
    /// use netfilter_helpers_core::net::L4Proto;
    /// use netfilter_helpers_core::expect::Expectation;
    /// let e = Expectation::new(None, None, "192.168.1.10".parse().unwrap(), 6000, L4Proto::Tcp).unwrap();
    /// assert_eq!(e.to_conntrack_line(Some(10)),
    ///            "10 proto=6 src=0.0.0.0 dst=192.168.1.10 sport=0 dport=6000 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 class=0");
    /// ```
    pub fn to_conntrack_line(&self, timeout: Option<u32>) -> String {
        let mut s = String::with_capacity(256);
        if let Some(t) = timeout {
            let _ = write!(s, "{t} ");
        }
        let _ = write!(
            s,
            "proto={} src={} dst={} ",
            u8::from(self.l4),
            self.src,
            self.dst
        );
        write_l4(&mut s, self.l4, self.sport, self.dport);
        let _ = write!(
            s,
            "mask-src={} mask-dst={} ",
            self.src_mask,
            full_mask(self.family())
        );
        write_l4(&mut s, self.l4, self.sport_mask, u16::MAX);
        if let Some(m) = &self.master {
            let _ = write!(s, "master-src={} master-dst={} ", m.src, m.dst);
            if m.l4 == L4Proto::Unknown(0) {
                // conntrack printed the master's ports; the protocol was only not inferred
                // when the line was read (SIP runs over TCP and UDP): keep them.
                let _ = write!(s, "sport={} dport={} ", m.sport, m.dport);
            } else {
                write_l4(&mut s, m.l4, m.sport, m.dport);
            }
        }
        let flags = self.flags.kernel_text();
        if !flags.is_empty() {
            s.push_str(&flags);
            s.push(' ');
        }
        let _ = write!(s, "class={}", self.class);
        if let Some(h) = &self.helper {
            let _ = write!(s, " helper={h}");
        }
        s
    }
}

fn write_l4(s: &mut String, l4: L4Proto, sport: u16, dport: u16) {
    match l4 {
        L4Proto::Gre => {
            let _ = write!(s, "srckey={sport:#x} dstkey={dport:#x} ");
        }
        L4Proto::Icmp | L4Proto::Icmpv6 => {
            // ICMP tuples carry type and code (packed as `type << 8 | code`) and the id.
            let _ = write!(s, "type={} code={} id={dport} ", sport >> 8, sport & 0xff);
        }
        p if p.has_ports() => {
            let _ = write!(s, "sport={sport} dport={dport} ");
        }
        _ => {}
    }
}

/// `%pI6` prints eight uncompressed groups; `%pI4` a dotted quad.
fn proc_addr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let mut s = String::with_capacity(39);
            for (i, g) in seg.iter().enumerate() {
                if i > 0 {
                    s.push(':');
                }
                let _ = write!(s, "{g:04x}");
            }
            s
        }
    }
}

/// A helper name as [`Expectation::helper`] holds it: the catalogue's own `&'static str` for a
/// base name (`ftp`, `Q.931`), an owned string for anything else (`ftp-2121`).
///
/// ```
/// use std::borrow::Cow;
/// use netfilter_helpers_core::expect::helper_label;
/// assert!(matches!(helper_label("sip"), Cow::Borrowed("sip")));
/// assert!(matches!(helper_label("ftp-2121"), Cow::Owned(_)));
/// ```
pub fn helper_label(name: &str) -> Cow<'static, str> {
    match Helper::ALL.iter().find(|h| h.name() == name) {
        Some(h) => Cow::Borrowed(h.name()),
        None => Cow::Owned(name.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_ipv6_is_uncompressed() {
        let e = Expectation::new(
            Some("2001:db8::7".parse().unwrap()),
            None,
            "2001:db8::1".parse().unwrap(),
            40000,
            L4Proto::Tcp,
        )
        .unwrap()
        .with_helper("ftp", 0);
        assert_eq!(
            e.to_proc_line(Some(300), None),
            "300 l3proto = 10 proto=6 src=2001:0db8:0000:0000:0000:0000:0000:0007 dst=2001:0db8:0000:0000:0000:0000:0000:0001 sport=0 dport=40000 ftp"
        );
    }

    #[test]
    fn flags_and_policy_names() {
        let e = Expectation::new(
            Some("203.0.113.5".parse().unwrap()),
            None,
            "192.168.1.10".parse().unwrap(),
            5060,
            L4Proto::Udp,
        )
        .unwrap()
        .with_helper("sip", 0)
        .with_flags(ExpectFlags::PERMANENT | ExpectFlags::INACTIVE);
        assert_eq!(
            e.to_proc_line(Some(179), Some("signalling")),
            "179 l3proto = 2 proto=17 src=203.0.113.5 dst=192.168.1.10 sport=0 dport=5060 PERMANENT,INACTIVE sip/signalling"
        );
        assert!(
            e.to_conntrack_line(None)
                .ends_with("PERMANENT,INACTIVE class=0 helper=sip")
        );
    }

    #[test]
    fn gre_keys() {
        let e = Expectation::new(
            Some("192.168.13.152".parse().unwrap()),
            Some(0xa9a0),
            "192.168.13.118".parse().unwrap(),
            0x6bd8,
            L4Proto::Gre,
        )
        .unwrap()
        .with_helper("pptp", 0);
        assert_eq!(
            e.to_proc_line(Some(133), None),
            "133 l3proto = 2 proto=47 src=192.168.13.152 dst=192.168.13.118 srckey=0xa9a0 dstkey=0x6bd8 pptp"
        );
        assert!(e.to_conntrack_line(None).contains(
            "mask-src=255.255.255.255 mask-dst=255.255.255.255 srckey=0xffff dstkey=0xffff"
        ));
    }
}
