//! Parsers for the two text forms the kernel's expectations come in: the lines of
//! `/proc/net/nf_conntrack_expect` and the lines `conntrack -L expect` / `conntrack -E expect`
//! print (libnetfilter_conntrack's format, with `[NEW]`/`[DESTROY]` event prefixes and an
//! optional `[sec.usec]` timestamp).
//!
//! Parsing works on bytes, allocates only for the helper name, never panics, and reports a
//! malformed line with its number and the field that is wrong; a batch goes on after a bad line.
//!
//! ```
//! use netfilter_helpers_core::parse::{parse_line, Format};
//!
//! let l = parse_line(b"299 l3proto = 2 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40000 ftp").unwrap();
//! assert_eq!(l.format, Format::Proc);
//! assert_eq!(l.timeout, Some(299));
//! assert_eq!(l.expectation.dport, 40000);
//! assert_eq!(l.expectation.helper.as_deref(), Some("ftp"));
//!
//! let l = parse_line(b"    [NEW] 300 proto=6 src=0.0.0.0 dst=192.168.1.10 sport=0 dport=5000 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.1.10 master-dst=198.51.100.20 sport=45000 dport=6667 class=0 helper=irc").unwrap();
//! assert_eq!(l.format, Format::Conntrack);
//! assert!(l.expectation.src_addr_wildcard());
//! assert_eq!(l.expectation.master.unwrap().dport, 6667);
//! ```

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::expect::{ExpectFlags, Expectation, Tuple, helper_label};
use crate::net::{Family, L4Proto};
use crate::net::{full_mask, zero_addr};

/// Which text form a line was in.
///
/// ```
/// use netfilter_helpers_core::parse::{parse_line, Format};
/// let l = parse_line(b"proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 class=0").unwrap();
/// assert_eq!(l.format, Format::Conntrack);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `/proc/net/nf_conntrack_expect`.
    Proc,
    /// `conntrack -L expect` / `conntrack -E expect`.
    Conntrack,
}

/// A `conntrack -E` event type.
///
/// ```
/// use netfilter_helpers_core::parse::{parse_line, Event};
/// let l = parse_line(b"[DESTROY] proto=6 src=0.0.0.0 dst=10.0.0.2 sport=0 dport=5000 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 class=0").unwrap();
/// assert_eq!(l.event, Some(Event::Destroy));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// `[NEW]`.
    New,
    /// `[UPDATE]`.
    Update,
    /// `[DESTROY]`.
    Destroy,
}

/// One parsed line.
///
/// ```
/// use netfilter_helpers_core::parse::parse_line;
/// let text = "179 l3proto = 2 proto=17 src=203.0.113.5 dst=192.168.1.10 sport=0 dport=5060 PERMANENT,INACTIVE sip/signalling";
/// let l = parse_line(text.as_bytes()).unwrap();
/// assert_eq!((l.timeout, l.policy_name.as_deref(), l.master_l4_known), (Some(179), Some("signalling"), false));
/// assert_eq!(l.expectation.to_proc_line(l.timeout, l.policy_name.as_deref()), text);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ParsedLine {
    /// The format the line was in.
    pub format: Format,
    /// The event, for `conntrack -E` lines.
    pub event: Option<Event>,
    /// Remaining seconds (`None` for the `-` of timer-less expectations on older kernels).
    pub timeout: Option<u32>,
    /// The policy name after `/` in `/proc` lines (`sip/audio` gives `audio`).
    pub policy_name: Option<String>,
    /// Whether the master's protocol was printed or inferred: `conntrack` lines do not print
    /// it, so it is inferred from the port fields and the helper (`false` when ambiguous, e.g.
    /// SIP over TCP or UDP).
    pub master_l4_known: bool,
    /// The zone, when printed.
    pub zone: Option<u16>,
    /// The expectation.
    pub expectation: Expectation,
}

/// What is wrong with a line.
///
/// ```
/// use netfilter_helpers_core::parse::{parse_line, ParseErrorKind};
/// let e = parse_line(b"300 l3proto = 2 proto=6 src=10.0.0.1").unwrap_err();
/// assert_eq!(e.kind, ParseErrorKind::Missing("dst"));
/// assert_eq!(e.kind.to_string(), "missing field dst");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line is empty.
    Empty,
    /// The line is longer than [`MAX_LINE`].
    TooLong,
    /// A required field is missing.
    Missing(&'static str),
    /// A field's value is malformed.
    Invalid(&'static str),
    /// Addresses of different families in one line.
    FamilyMismatch,
    /// Text after the last field that belongs to no field.
    Trailing,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Empty => f.write_str("empty line"),
            ParseErrorKind::TooLong => write!(f, "line longer than {MAX_LINE} bytes"),
            ParseErrorKind::Missing(field) => write!(f, "missing field {field}"),
            ParseErrorKind::Invalid(field) => write!(f, "invalid value for {field}"),
            ParseErrorKind::FamilyMismatch => {
                f.write_str("IPv4 and IPv6 addresses mixed in one line")
            }
            ParseErrorKind::Trailing => f.write_str("unexpected text after the last field"),
        }
    }
}

/// An error parsing one line.
///
/// ```
/// use netfilter_helpers_core::parse::parse_line;
/// let e = parse_line(b"300 l3proto = 2 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=99999 ftp").unwrap_err();
/// assert_eq!(e.to_string(), "line 0: invalid value for dport (near \"99999\")");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error, Serialize)]
#[error("line {line}: {kind} (near {near:?})")]
#[non_exhaustive]
pub struct ParseError {
    /// 1-based line number (0 when a single line was parsed).
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Up to 40 characters of the offending token or line, lossily decoded.
    pub near: String,
}

/// The longest line accepted: well above anything the kernel or conntrack prints.
///
/// ```
/// use netfilter_helpers_core::parse::{parse_line, ParseErrorKind, MAX_LINE};
/// let long = vec![b'x'; MAX_LINE + 1];
/// assert_eq!(parse_line(&long).unwrap_err().kind, ParseErrorKind::TooLong);
/// ```
pub const MAX_LINE: usize = 4096;

fn err(kind: ParseErrorKind, near: &[u8]) -> ParseError {
    let n = near.len().min(40);
    ParseError {
        line: 0,
        kind,
        near: String::from_utf8_lossy(&near[..n]).into_owned(),
    }
}

/// Parses one line in either format.
///
/// ```
/// use netfilter_helpers_core::parse::{parse_line, ParseErrorKind};
/// let l = parse_line(b"133 l3proto = 2 proto=47 src=192.168.13.152 dst=192.168.13.118 srckey=0xa9a0 dstkey=0x6bd8 pptp").unwrap();
/// assert_eq!((l.expectation.sport, l.expectation.dport), (0xa9a0, 0x6bd8));
/// assert_eq!(parse_line(b"   ").unwrap_err().kind, ParseErrorKind::Empty);
/// ```
pub fn parse_line(line: &[u8]) -> Result<ParsedLine, ParseError> {
    let line = trim(line);
    if line.is_empty() {
        return Err(err(ParseErrorKind::Empty, line));
    }
    if line.len() > MAX_LINE {
        return Err(err(ParseErrorKind::TooLong, &line[..40]));
    }
    // `/proc` lines have `l3proto` as their second token; conntrack lines never do.
    let mut t = Tokens { rest: line };
    t.next();
    t.skip_ws();
    if t.rest.starts_with(b"l3proto") && t.rest.get(7).is_none_or(|b| is_ws(*b)) {
        parse_proc(line)
    } else {
        parse_conntrack(line)
    }
}

/// Parses many lines; every line yields either a parsed line or an error with its number.
/// Blank lines and the `conntrack v1.4.x (conntrack-tools): N expectations have been shown.`
/// summary are skipped.
///
/// ```
/// use netfilter_helpers_core::parse::parse_lines;
/// let text = b"300 l3proto = 2 proto=17 src=10.0.1.2 dst=10.0.0.2 sport=0 dport=40001 tftp\nbogus\n";
/// let (ok, bad) = parse_lines(text);
/// assert_eq!(ok.len(), 1);
/// assert_eq!(bad[0].line, 2);
/// ```
pub fn parse_lines(text: &[u8]) -> (Vec<(usize, ParsedLine)>, Vec<ParseError>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in (Lines { rest: Some(text) }).enumerate() {
        let l = trim(raw);
        if l.is_empty() || l.starts_with(b"conntrack v") {
            continue;
        }
        match parse_line(l) {
            Ok(p) => ok.push((i + 1, p)),
            Err(mut e) => {
                e.line = i + 1;
                bad.push(e);
            }
        }
    }
    (ok, bad)
}

/// Splits at `\n`, finding newlines eight bytes at a time.
pub(crate) struct Lines<'a> {
    pub(crate) rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match find_newline(rest) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The index of the first `\n`: a word-at-a-time search (no `unsafe`, no dependency).
pub(crate) fn find_newline(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = b.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ NL;
        let found = w.wrapping_sub(LO) & !w & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|x| *x == b'\n')
        .map(|i| base + i)
}

pub(crate) fn trim(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// The bytes `is_ascii_whitespace` accepts, as one match.
#[inline(always)]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0C' | b'\r')
}

/// The length of the token at the start of `b` (up to the first whitespace byte).
#[inline(always)]
fn token_end(b: &[u8]) -> usize {
    b.iter().position(|c| is_ws(*c)).unwrap_or(b.len())
}

/// A whitespace tokenizer over bytes. Besides whole tokens it hands out `key=` prefixes and
/// parses the common values (decimal numbers, dotted quads) in the same pass over the bytes;
/// anything else falls back to parsing the whole token, so both ways give one result.
struct Tokens<'a> {
    rest: &'a [u8],
}

impl<'a> Tokens<'a> {
    #[inline(always)]
    fn skip_ws(&mut self) {
        while let [b, rest @ ..] = self.rest {
            if is_ws(*b) {
                self.rest = rest;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        self.skip_ws();
        if self.rest.is_empty() {
            return None;
        }
        let (tok, rest) = self.rest.split_at(token_end(self.rest));
        self.rest = rest;
        Some(tok)
    }

    fn peek(&self) -> Option<&'a [u8]> {
        let mut c = Tokens { rest: self.rest };
        c.next()
    }

    /// Whether the next token starts with `key=` (nothing consumed but whitespace).
    #[inline(always)]
    fn at_key(&mut self, key: &[u8]) -> bool {
        self.skip_ws();
        let r = self.rest;
        r.len() > key.len() && r[key.len()] == b'=' && r[..key.len()] == *key
    }

    /// Consumes `key=` when the next token starts with it, leaving the value next.
    #[inline(always)]
    fn key(&mut self, key: &[u8]) -> bool {
        if self.at_key(key) {
            self.rest = &self.rest[key.len() + 1..];
            true
        } else {
            false
        }
    }

    /// The value at the cursor (after [`Tokens::key`]), consumed.
    #[inline(always)]
    fn value(&mut self) -> &'a [u8] {
        let (v, rest) = self.rest.split_at(token_end(self.rest));
        self.rest = rest;
        v
    }

    /// The decimal number at the cursor: digits up to whitespace or the end, read in one
    /// pass; anything else (no digits, a stray byte, 20 digits or more) is left to [`num`]
    /// over the whole value, which decides it.
    #[inline(always)]
    fn num_value<T: TryFrom<u64>>(&mut self, field: &'static str) -> Result<T, ParseError> {
        let r = self.rest;
        let mut n: u64 = 0;
        let mut i = 0;
        while i < r.len() && i < 19 {
            let d = r[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            n = n * 10 + u64::from(d);
            i += 1;
        }
        if i > 0 && (i == r.len() || is_ws(r[i])) {
            self.rest = &r[i..];
            return T::try_from(n).map_err(|_| err(ParseErrorKind::Invalid(field), &r[..i]));
        }
        num(self.value(), field)
    }

    /// The address at the cursor: a dotted quad read in one pass, anything else by [`addr`]
    /// over the whole value.
    #[inline(always)]
    fn addr_value(&mut self, field: &'static str) -> Result<IpAddr, ParseError> {
        let r = self.rest;
        if let Some((a, used)) = ipv4_prefix(r)
            && (used == r.len() || is_ws(r[used]))
        {
            self.rest = &r[used..];
            return Ok(IpAddr::V4(a));
        }
        addr(self.value(), field)
    }
}

// Inlined so that each key is a constant at its call site and the comparison needs no
// `memcmp` call.
#[inline(always)]
fn kv<'a>(tok: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    if tok.len() > key.len() && tok[key.len()] == b'=' && tok[..key.len()] == *key {
        Some(&tok[key.len() + 1..])
    } else {
        None
    }
}

/// Consumes `key=`, or says which key is missing, quoting the token found instead.
#[inline(always)]
fn expect_key(t: &mut Tokens<'_>, key: &'static str) -> Result<(), ParseError> {
    if t.key(key.as_bytes()) {
        Ok(())
    } else {
        Err(err(
            ParseErrorKind::Missing(key),
            t.peek().unwrap_or_default(),
        ))
    }
}

#[inline(always)]
fn expect_kv<'a>(t: &mut Tokens<'a>, key: &'static str) -> Result<&'a [u8], ParseError> {
    expect_key(t, key)?;
    Ok(t.value())
}

/// `key=NUMBER`.
#[inline(always)]
fn expect_num<T: TryFrom<u64>>(t: &mut Tokens<'_>, key: &'static str) -> Result<T, ParseError> {
    expect_key(t, key)?;
    t.num_value(key)
}

/// `key=ADDRESS`.
#[inline(always)]
fn expect_addr(t: &mut Tokens<'_>, key: &'static str) -> Result<IpAddr, ParseError> {
    expect_key(t, key)?;
    t.addr_value(key)
}

fn num<T: TryFrom<u64>>(v: &[u8], field: &'static str) -> Result<T, ParseError> {
    if v.is_empty() || v.len() > 20 {
        return Err(err(ParseErrorKind::Invalid(field), v));
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return Err(err(ParseErrorKind::Invalid(field), v));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| err(ParseErrorKind::Invalid(field), v))?;
    }
    T::try_from(n).map_err(|_| err(ParseErrorKind::Invalid(field), v))
}

fn hex16(v: &[u8], field: &'static str) -> Result<u16, ParseError> {
    let h = v
        .strip_prefix(b"0x")
        .ok_or_else(|| err(ParseErrorKind::Invalid(field), v))?;
    if h.is_empty() || h.len() > 8 {
        return Err(err(ParseErrorKind::Invalid(field), v));
    }
    let mut n: u32 = 0;
    for &b in h {
        let d = (b as char)
            .to_digit(16)
            .ok_or_else(|| err(ParseErrorKind::Invalid(field), v))?;
        n = (n << 4) | d;
    }
    u16::try_from(n).map_err(|_| err(ParseErrorKind::Invalid(field), v))
}

/// A dotted quad, strictly: four decimal numbers 0-255 without leading zeros.
fn ipv4(v: &[u8]) -> Option<std::net::Ipv4Addr> {
    match ipv4_prefix(v) {
        Some((a, used)) if used == v.len() => Some(a),
        _ => None,
    }
}

/// A strict dotted quad at the start of `v` (as [`ipv4`] accepts it) and the bytes it
/// takes, read in one pass.
#[inline(always)]
fn ipv4_prefix(v: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, o) in octets.iter_mut().enumerate() {
        if n > 0 {
            if v.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut x: u16 = 0;
        while i < v.len() && i - start < 3 {
            let d = v[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            x = x * 10 + u16::from(d);
            i += 1;
        }
        let len = i - start;
        // One to three digits, no leading zero, at most 255; a fourth digit is not a quad.
        if len == 0 || (len > 1 && v[start] == b'0') || v.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        *o = u8::try_from(x).ok()?;
    }
    Some((std::net::Ipv4Addr::from(octets), i))
}

fn addr(v: &[u8], field: &'static str) -> Result<IpAddr, ParseError> {
    if !v.contains(&b':') {
        return ipv4(v)
            .map(IpAddr::V4)
            .ok_or_else(|| err(ParseErrorKind::Invalid(field), v));
    }
    if let Some(a) = ipv6_hex(v) {
        return Ok(IpAddr::V6(a));
    }
    // Forms the fast path leaves alone (an embedded dotted quad): the standard parser.
    let s = std::str::from_utf8(v).map_err(|_| err(ParseErrorKind::Invalid(field), v))?;
    s.parse::<IpAddr>()
        .map_err(|_| err(ParseErrorKind::Invalid(field), v))
}

/// The IPv6 text the kernel prints (`%pI6c`): up to eight groups of 1-4 hex digits with at
/// most one `::`. `None` for anything else, which the standard parser then decides; where
/// this returns an address, it is the one the standard parser returns (a property test).
fn ipv6_hex(v: &[u8]) -> Option<std::net::Ipv6Addr> {
    if v.len() < 2 || v.len() > 39 {
        return None;
    }
    // Groups before the `::` (or all eight), shifted into place as they come, and groups
    // after it, shifted up from the bottom: no arrays to copy.
    let mut head: u128 = 0;
    let mut tail: u128 = 0;
    let (mut nh, mut nt) = (0usize, 0usize);
    let mut in_tail = false;
    let mut i = 0;
    if v.starts_with(b"::") {
        in_tail = true;
        i = 2;
        if i == v.len() {
            return Some(std::net::Ipv6Addr::UNSPECIFIED);
        }
    }
    loop {
        let mut g: u32 = 0;
        let start = i;
        while i < v.len() && i - start < 5 {
            let d = match v[i] {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => c - b'a' + 10,
                c @ b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            g = (g << 4) | u32::from(d);
            i += 1;
        }
        let len = i - start;
        if len == 0 || len > 4 {
            return None;
        }
        if in_tail {
            if nt == 8 {
                return None;
            }
            tail = (tail << 16) | u128::from(g);
            nt += 1;
        } else {
            if nh == 8 {
                return None;
            }
            head |= u128::from(g) << (112 - 16 * nh);
            nh += 1;
        }
        if i == v.len() {
            break;
        }
        if v[i] != b':' {
            return None;
        }
        i += 1;
        if i < v.len() && v[i] == b':' {
            if in_tail {
                return None;
            }
            in_tail = true;
            i += 1;
            if i == v.len() {
                break;
            }
        } else if i == v.len() {
            return None;
        }
    }
    let total = nh + nt;
    if (in_tail && total > 7) || (!in_tail && total != 8) {
        return None;
    }
    Some(std::net::Ipv6Addr::from(head | tail))
}

/// The L4 fields (`sport/dport`, `srckey/dstkey`, `type/code/id`) for a protocol.
fn l4_fields(t: &mut Tokens<'_>, l4: L4Proto) -> Result<(u16, u16), ParseError> {
    match l4 {
        L4Proto::Gre => {
            let s = hex16(expect_kv(t, "srckey")?, "srckey")?;
            let d = hex16(expect_kv(t, "dstkey")?, "dstkey")?;
            Ok((s, d))
        }
        L4Proto::Icmp | L4Proto::Icmpv6 => {
            let ty: u8 = expect_num(t, "type")?;
            let code: u8 = expect_num(t, "code")?;
            let id: u16 = expect_num(t, "id")?;
            Ok(((u16::from(ty) << 8) | u16::from(code), id))
        }
        p if p.has_ports() => {
            let s = expect_num(t, "sport")?;
            let d = expect_num(t, "dport")?;
            Ok((s, d))
        }
        _ => Ok((0, 0)),
    }
}

fn flags(tok: &[u8]) -> Option<ExpectFlags> {
    let mut f = ExpectFlags::empty();
    for part in tok.split(|b| *b == b',') {
        f |= match part {
            b"PERMANENT" => ExpectFlags::PERMANENT,
            b"INACTIVE" => ExpectFlags::INACTIVE,
            b"USERSPACE" => ExpectFlags::USERSPACE,
            _ => return None,
        };
    }
    Some(f)
}

fn helper_name(tok: &[u8]) -> Result<&str, ParseError> {
    let s = std::str::from_utf8(tok).map_err(|_| err(ParseErrorKind::Invalid("helper"), tok))?;
    if s.is_empty()
        || s.len() > 31
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(err(ParseErrorKind::Invalid("helper"), tok));
    }
    Ok(s)
}

fn same_family(a: IpAddr, b: IpAddr, near: &[u8]) -> Result<(), ParseError> {
    if a.is_ipv4() == b.is_ipv4() {
        Ok(())
    } else {
        Err(err(ParseErrorKind::FamilyMismatch, near))
    }
}

fn timeout(tok: &[u8]) -> Result<Option<u32>, ParseError> {
    if tok == b"-" {
        Ok(None)
    } else {
        num(tok, "timeout").map(Some)
    }
}

fn parse_proc(line: &[u8]) -> Result<ParsedLine, ParseError> {
    let mut t = Tokens { rest: line };
    let secs = timeout(t.next().unwrap_or_default())?;
    if t.next() != Some(b"l3proto") || t.next() != Some(b"=") {
        return Err(err(ParseErrorKind::Missing("l3proto"), line));
    }
    let l3tok = t.next().unwrap_or_default();
    let l3: u8 = num(l3tok, "l3proto")?;
    let family =
        Family::from_l3proto(l3).ok_or_else(|| err(ParseErrorKind::Invalid("l3proto"), l3tok))?;
    let l4 = L4Proto::from(expect_num::<u8>(&mut t, "proto")?);
    expect_key(&mut t, "src")?;
    let src_at = t.rest;
    let src = t.addr_value("src")?;
    let dst = expect_addr(&mut t, "dst")?;
    same_family(src, dst, line)?;
    if Family::of(&src) != family {
        return Err(err(
            ParseErrorKind::FamilyMismatch,
            &src_at[..token_end(src_at)],
        ));
    }
    let (sport, dport) = l4_fields(&mut t, l4)?;
    let mut fl = ExpectFlags::empty();
    let mut helper = None;
    let mut policy = None;
    if let Some(tok) = t.peek()
        && let Some(f) = flags(tok)
    {
        fl = f;
        t.next();
    }
    if let Some(tok) = t.next() {
        let (name, pol) = match tok.iter().position(|b| *b == b'/') {
            Some(i) => (&tok[..i], Some(&tok[i + 1..])),
            None => (tok, None),
        };
        helper = Some(helper_label(helper_name(name)?));
        if let Some(p) = pol {
            policy = Some(helper_name(p)?.to_string());
        }
    }
    if let Some(extra) = t.next() {
        return Err(err(ParseErrorKind::Trailing, extra));
    }
    // /proc prints the tuple only: the mask is unknown, so the source is taken as printed
    // (exact unless it is the zero address or port, which the kernel prints for wildcards).
    let src_wild = src == zero_addr(family);
    let exp = Expectation {
        src,
        src_mask: if src_wild {
            zero_addr(family)
        } else {
            full_mask(family)
        },
        sport,
        sport_mask: if sport == 0 && l4 != L4Proto::Gre {
            0
        } else {
            u16::MAX
        },
        dst,
        dport,
        l4,
        master: None,
        helper,
        class: 0,
        flags: fl,
    };
    Ok(ParsedLine {
        format: Format::Proc,
        event: None,
        timeout: secs,
        policy_name: policy,
        master_l4_known: false,
        zone: None,
        expectation: exp,
    })
}

fn parse_conntrack(line: &[u8]) -> Result<ParsedLine, ParseError> {
    let mut t = Tokens { rest: line };
    let mut first = t.next().ok_or_else(|| err(ParseErrorKind::Empty, line))?;
    // Optional `[sec.usec]` timestamp (-o timestamp).
    if first.starts_with(b"[") && first.contains(&b'.') && first.ends_with(b"]") {
        first = t
            .next()
            .ok_or_else(|| err(ParseErrorKind::Missing("timeout"), line))?;
    }
    let event = match first {
        b"[NEW]" => Some(Event::New),
        b"[UPDATE]" => Some(Event::Update),
        b"[DESTROY]" => Some(Event::Destroy),
        _ => None,
    };
    let mut tok = if event.is_some() {
        t.next()
            .ok_or_else(|| err(ParseErrorKind::Missing("proto"), line))?
    } else {
        first
    };
    let mut secs = None;
    if !tok.starts_with(b"proto=") {
        secs = timeout(tok)?;
        tok = t
            .next()
            .ok_or_else(|| err(ParseErrorKind::Missing("proto"), line))?;
    }
    let ptok = kv(tok, b"proto").ok_or_else(|| err(ParseErrorKind::Missing("proto"), tok))?;
    let l4 = L4Proto::from(num::<u8>(ptok, "proto")?);
    let src = expect_addr(&mut t, "src")?;
    let dst = expect_addr(&mut t, "dst")?;
    same_family(src, dst, line)?;
    let (sport, dport) = l4_fields(&mut t, l4)?;
    let src_mask = expect_addr(&mut t, "mask-src")?;
    let dst_mask = expect_addr(&mut t, "mask-dst")?;
    same_family(src, src_mask, line)?;
    same_family(src, dst_mask, line)?;
    let (sport_mask, _) = l4_fields(&mut t, l4)?;
    let mut master = None;
    let mut master_l4_known = false;
    if t.at_key(b"master-src") {
        let msrc = expect_addr(&mut t, "master-src")?;
        let mdst = expect_addr(&mut t, "master-dst")?;
        same_family(src, msrc, line)?;
        same_family(src, mdst, line)?;
        // The master's protocol is not printed: read the port fields, decide later.
        let (ms, md, ml4) = if t.at_key(b"sport") {
            let (s, d) = l4_fields(&mut t, L4Proto::Tcp)?;
            (s, d, None)
        } else if t.at_key(b"srckey") {
            let (s, d) = l4_fields(&mut t, L4Proto::Gre)?;
            (s, d, Some(L4Proto::Gre))
        } else {
            (0, 0, None)
        };
        master_l4_known = ml4.is_some();
        master = Some(Tuple {
            src: msrc,
            dst: mdst,
            sport: ms,
            dport: md,
            l4: ml4.unwrap_or(L4Proto::Unknown(0)),
        });
    }
    let mut zone = None;
    let mut fl = ExpectFlags::empty();
    let mut class = 0u8;
    let mut helper = None;
    while let Some(tok) = t.next() {
        if let Some(v) = kv(tok, b"zone") {
            zone = Some(num(v, "zone")?);
        } else if let Some(v) = kv(tok, b"class") {
            class = num(v, "class")?;
        } else if let Some(v) = kv(tok, b"helper") {
            helper = Some(helper_label(helper_name(v)?));
        } else if let Some(f) = flags(tok) {
            fl = f;
        } else if tok.starts_with(b"[") {
            // conntrackd's `[active since 5s]` suffix.
            break;
        } else {
            return Err(err(ParseErrorKind::Trailing, tok));
        }
    }
    if let Some(m) = master.as_mut()
        && !master_l4_known
        && let Some(h) = helper
            .as_deref()
            .and_then(|h| h.parse::<crate::catalogue::HelperName>().ok())
    {
        let protos = h.helper.info().master_protocols;
        if protos.len() == 1 {
            m.l4 = protos[0];
            master_l4_known = true;
        }
    }
    let exp = Expectation {
        src,
        src_mask,
        sport,
        sport_mask,
        dst,
        dport,
        l4,
        master,
        helper,
        class,
        flags: fl,
    };
    Ok(ParsedLine {
        format: Format::Conntrack,
        event,
        timeout: secs,
        policy_name: None,
        master_l4_known,
        zone,
        expectation: exp,
    })
}

crate::spelling::spelling! {
    Event {
        New => "new",
        Update => "update",
        Destroy => "destroy",
    }
}

crate::spelling::spelling! {
    Format {
        Proc => "proc",
        Conntrack => "conntrack",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &[&str] = &[
        "    [NEW] 300 proto=17 src=1.2.3.4 dst=1.2.3.4 sport=0 dport=54834 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=1.2.3.4 master-dst=1.2.3.4 sport=58190 dport=111 PERMANENT class=0 helper=rpc",
        "[DESTROY] 30 proto=17 src=0.0.0.0 dst=169.254.33.186 sport=5353 dport=56327 mask-src=0.0.0.0 mask-dst=0.0.0.0 sport=65535 dport=65535 master-src=169.254.33.186 master-dst=224.0.0.251 sport=56327 dport=5353 PERMANENT class=0 helper=mdns",
        "proto=6 src=192.168.0.2 dst=192.168.1.2 sport=0 dport=41739 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.0.2 master-dst=192.168.1.2 sport=36390 dport=21 helper=ftp [active since 5s]",
        "133 l3proto = 2 proto=47 src=192.168.13.152 dst=192.168.13.118 srckey=0xa9a0 dstkey=0x6bd8 pptp",
        "179 l3proto = 2 proto=17 src=203.0.113.5 dst=192.168.1.10 sport=0 dport=5060 PERMANENT,INACTIVE sip/signalling",
        "2 l3proto = 2 proto=17 src=192.168.1.255 dst=192.168.1.10 sport=137 dport=137 PERMANENT netbios-ns",
        "- l3proto = 10 proto=6 src=2001:0db8:0000:0000:0000:0000:0000:0007 dst=2001:0db8:0000:0000:0000:0000:0000:0001 sport=0 dport=40000 ",
    ];

    #[test]
    fn real_lines_parse() {
        for l in REAL {
            parse_line(l.as_bytes()).unwrap_or_else(|e| panic!("{l}: {e}"));
        }
        let p = parse_line(REAL[3].as_bytes()).unwrap();
        assert_eq!((p.expectation.sport, p.expectation.dport), (0xa9a0, 0x6bd8));
        let p = parse_line(REAL[4].as_bytes()).unwrap();
        assert_eq!(p.policy_name.as_deref(), Some("signalling"));
        assert_eq!(
            p.expectation.flags,
            ExpectFlags::PERMANENT | ExpectFlags::INACTIVE
        );
        let p = parse_line(REAL[2].as_bytes()).unwrap();
        assert!(p.master_l4_known);
        assert_eq!(p.expectation.master.unwrap().l4, L4Proto::Tcp);
        let p = parse_line(REAL[6].as_bytes()).unwrap();
        assert_eq!(p.timeout, None);
        assert_eq!(p.expectation.helper, None);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_line(b"300 l3proto = 2 proto=6 src=10.0.0.1 dst=::1 sport=0 dport=1 ftp")
            .unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::FamilyMismatch);
        let e = parse_line(
            b"300 l3proto = 2 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=99999 ftp",
        )
        .unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Invalid("dport"));
        let e = parse_line(b"300 l3proto = 2 proto=6 src=10.0.0.1").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Missing("dst"));
        let e = parse_line(b"300 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=1 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 class=0 helper=ftp extra").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Trailing);
    }

    #[test]
    fn newline_search() {
        for len in 0..40 {
            for pos in 0..len {
                let mut v = vec![b'x'; len];
                v[pos] = b'\n';
                if pos + 1 < len {
                    v[len - 1] = b'\n';
                }
                assert_eq!(find_newline(&v), Some(pos), "{len} {pos}");
            }
            assert_eq!(find_newline(&vec![0x8a; len]), None);
        }
        let lines: Vec<&[u8]> = Lines {
            rest: Some(b"a\n\nbc\n"),
        }
        .collect();
        assert_eq!(lines, [&b"a"[..], b"", b"bc", b""]);
    }

    #[test]
    fn batch_goes_on() {
        let text = format!(
            "{}\ngarbage here\n\n{}\nconntrack v1.4.8 (conntrack-tools): 2 expectations have been shown.\n",
            REAL[0], REAL[5]
        );
        let (ok, bad) = parse_lines(text.as_bytes());
        assert_eq!(ok.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Where the fast IPv6 path gives an address, it is the standard parser's; every
        /// address the kernel prints takes the fast path.
        #[test]
        fn ipv6_fast_path_agrees_with_std(
            text in "[0-9a-fA-F:.]{0,42}",
            groups in proptest::prelude::any::<[u16; 8]>(),
            zeros in 0usize..8,
            at in 0usize..8,
        ) {
            if let Some(a) = ipv6_hex(text.as_bytes()) {
                proptest::prop_assert_eq!(text.parse::<std::net::Ipv6Addr>().ok(), Some(a), "{}", text);
            }
            let mut g = groups;
            for k in g.iter_mut().skip(at).take(zeros) {
                *k = 0;
            }
            let a = std::net::Ipv6Addr::from(g);
            let shown = a.to_string();
            if !shown.contains('.') {
                proptest::prop_assert_eq!(ipv6_hex(shown.as_bytes()), Some(a), "{}", shown);
                let upper = shown.to_uppercase();
                proptest::prop_assert_eq!(ipv6_hex(upper.as_bytes()), Some(a), "{}", upper);
            }
        }

        /// The one-pass dotted quad is the standard parser's (which refuses leading zeros
        /// too), and the cursor reads a quad and what follows it as the whole token would be.
        #[test]
        fn ipv4_one_pass_agrees_with_std(
            text in "[0-9.]{0,20}",
            tail in "[ \t0-9.:a-z=]{0,6}",
            bits in proptest::prelude::any::<u32>(),
        ) {
            proptest::prop_assert_eq!(ipv4(text.as_bytes()), text.parse::<std::net::Ipv4Addr>().ok(), "{}", text);
            let a = std::net::Ipv4Addr::from(bits);
            proptest::prop_assert_eq!(ipv4(a.to_string().as_bytes()), Some(a));
            let joined = format!("{text}{tail}");
            let whole = token_end(joined.as_bytes());
            let mut t = Tokens { rest: joined.as_bytes() };
            let by_cursor = t.addr_value("src");
            proptest::prop_assert_eq!(by_cursor, addr(&joined.as_bytes()[..whole], "src"), "{}", joined);
            proptest::prop_assert_eq!(t.rest, &joined.as_bytes()[whole..]);
        }

        /// Numbers read on the cursor are [`num`]'s over the whole token.
        #[test]
        fn numbers_one_pass_agree(text in "[0-9]{0,22}[ a.=]?[0-9 ]{0,3}") {
            let whole = token_end(text.as_bytes());
            let mut t = Tokens { rest: text.as_bytes() };
            let by_cursor: Result<u16, _> = t.num_value("dport");
            proptest::prop_assert_eq!(by_cursor, num::<u16>(&text.as_bytes()[..whole], "dport"), "{}", text);
            proptest::prop_assert_eq!(t.rest, &text.as_bytes()[whole..]);
            let mut t = Tokens { rest: text.as_bytes() };
            let wide: Result<u64, _> = t.num_value("zone");
            proptest::prop_assert_eq!(wide, num::<u64>(&text.as_bytes()[..whole], "zone"), "{}", text);
        }
    }

    #[test]
    fn ipv6_fast_path_edges() {
        for (text, ok) in [
            ("::", true),
            ("::1", true),
            ("1::", true),
            ("1:2:3:4:5:6:7:8", true),
            ("1:2:3:4:5:6:7::", true),
            ("::2:3:4:5:6:7:8", true),
            ("1:2:3:4:5:6:7:8:9", false),
            ("1::2::3", false),
            (":1", false),
            ("1:", false),
            ("12345::", false),
            (":::", false),
            ("1:2:3:4:5:6:7:8::", false),
        ] {
            assert_eq!(ipv6_hex(text.as_bytes()).is_some(), ok, "{text}");
            if ok {
                assert_eq!(
                    ipv6_hex(text.as_bytes()),
                    text.parse::<std::net::Ipv6Addr>().ok(),
                    "{text}"
                );
            }
        }
    }
}
