//! A minimal aligned-PER encoder for the H.225 (RAS, Q.931 user-user information) and H.245
//! messages the kernel's H.323 helper parses, written against the kernel's own decoder
//! (`net/netfilter/nf_conntrack_h323_asn1.c`) and its type tables
//! (`net/netfilter/nf_conntrack_h323_types.c`).
//!
//! Only what the decoder reads is encoded, in the order it reads it:
//!
//! * a SEQUENCE is `[extension bit if extensible] [one presence bit per OPTIONAL root
//!   component] components…`; extension additions follow as `7 bits (count - 1)`, a presence
//!   bitmap, byte alignment, then one length-prefixed open field per present addition;
//! * a CHOICE is `[extension bit if extensible] index-bits`, or for an extension alternative
//!   `1, 7 bits (index - root count)` then an aligned length-prefixed open field;
//! * `INTEGER (0..65535)` style fields (`WORD`) and octet strings longer than two bytes are
//!   byte-aligned; lengths under 128 are one byte.
//!
//! The decoder stops at the first component marked `STOP` in its tables (for example
//! `H2250LogicalChannelParameters.mediaControlGuaranteedDelivery`, the RAS fields after the
//! addresses), so the messages end there. Each message is checked by the live kernel: an
//! encoding error shows as a missing expectation in the lab.

use std::net::IpAddr;

/// A bit writer, most significant bit first, as the kernel's `get_bit`/`get_bits` read.
#[derive(Debug, Default, Clone)]
pub struct Bits {
    bytes: Vec<u8>,
    bit: u8,
}

impl Bits {
    /// An empty writer.
    pub fn new() -> Bits {
        Bits::default()
    }

    /// Appends the low `n` bits of `v` (`n <= 32`).
    pub fn bits(&mut self, v: u32, n: u8) -> &mut Bits {
        for i in (0..n).rev() {
            let b = (v >> i) & 1;
            if self.bit == 0 {
                self.bytes.push(0);
            }
            if b == 1 {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 0x80 >> self.bit;
            }
            self.bit = (self.bit + 1) % 8;
        }
        self
    }

    /// One bit.
    pub fn bit(&mut self, b: bool) -> &mut Bits {
        self.bits(u32::from(b), 1)
    }

    /// Pads to the next byte boundary (the kernel's `BYTE_ALIGN`).
    pub fn align(&mut self) -> &mut Bits {
        self.bit = 0;
        self
    }

    /// Aligns, then appends whole bytes.
    pub fn octets(&mut self, data: &[u8]) -> &mut Bits {
        self.align();
        self.bytes.extend_from_slice(data);
        self
    }

    /// Aligns, then appends a length determinant (`get_len`: one byte below 128, else two).
    pub fn len(&mut self, n: usize) -> &mut Bits {
        self.align();
        assert!(n < 16384, "length {n} needs fragmentation");
        if n < 128 {
            self.bytes.push(n as u8);
        } else {
            self.bytes.push(0x80 | (n >> 8) as u8);
            self.bytes.push((n & 0xff) as u8);
        }
        self
    }

    /// An open field: aligned length, then `inner`'s bytes.
    pub fn open(&mut self, inner: &Bits) -> &mut Bits {
        self.len(inner.bytes.len());
        self.octets(&inner.bytes)
    }

    /// `INTEGER (lb..lb+65535)`: aligned two bytes of `v - lb` (`WORD`).
    pub fn word(&mut self, v: u16) -> &mut Bits {
        self.octets(&v.to_be_bytes())
    }

    /// `INTEGER` with a `CONS` constraint (more than 64K values): 2 bits (byte count - 1),
    /// aligned bytes of `v - lb`.
    pub fn cons(&mut self, v: u32) -> &mut Bits {
        let be = v.to_be_bytes();
        let skip = be.iter().take(3).take_while(|b| **b == 0).count();
        self.bits((3 - skip) as u32, 2);
        self.octets(&be[skip..])
    }

    /// `OBJECT IDENTIFIER` as the decoder skips it: aligned length byte and content.
    pub fn oid(&mut self, content: &[u8]) -> &mut Bits {
        self.len(content.len());
        self.octets(content)
    }

    /// The encoded bytes (the last byte padded with zero bits).
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The encoded bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The H.225 protocol identifier `{0 0 8 2250 0 4}` (version 4), BER content octets.
pub const H225_PROTOCOL_ID: [u8; 6] = [0x00, 0x08, 0x91, 0x4a, 0x00, 0x04];

/// H.225 `TransportAddress` (CHOICE, 7 root alternatives, extensible): `ipAddress` (0) or
/// `ip6Address` (3), each a SEQUENCE of the address octets and a `WORD` port.
pub fn transport_address(b: &mut Bits, addr: IpAddr, port: u16) {
    b.bit(false);
    match addr {
        IpAddr::V4(a) => {
            b.bits(0, 3);
            // ipAddress: SEQUENCE, not extensible, no optional component.
            b.octets(&a.octets()).word(port);
        }
        IpAddr::V6(a) => {
            b.bits(3, 3);
            // ip6Address: extensible SEQUENCE.
            b.bit(false);
            b.octets(&a.octets()).word(port);
        }
    }
}

/// H.245 `TransportAddress` → `unicastAddress` → `iPAddress` (0) or `iP6Address` (2).
pub fn h245_transport_address(b: &mut Bits, addr: IpAddr, port: u16) {
    b.bit(false).bit(false); // H245 TransportAddress: ext, index 0 (unicastAddress)
    b.bit(false); // UnicastAddress: ext
    match addr {
        IpAddr::V4(a) => {
            b.bits(0, 3).bit(false);
            b.octets(&a.octets()).word(port);
        }
        IpAddr::V6(a) => {
            b.bits(2, 3).bit(false);
            b.octets(&a.octets()).word(port);
        }
    }
}

/// `EndpointType` with no optional component: ext, 6 absent bits, `mc`, `undefinedNode`.
fn endpoint_type(b: &mut Bits) {
    b.bit(false).bits(0, 6).bit(false).bit(false);
}

// ---------------------------------------------------------------------------------------------
// RAS (H.225.0 annex, UDP 1719)

/// A RAS message the lab plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ras {
    /// GatekeeperRequest with the endpoint's `rasAddress`.
    Grq {
        /// The endpoint's RAS address.
        ras: (IpAddr, u16),
    },
    /// GatekeeperConfirm with the gatekeeper's `rasAddress` (announces a RAS channel).
    Gcf {
        /// The gatekeeper's RAS address.
        ras: (IpAddr, u16),
    },
    /// RegistrationRequest with one `callSignalAddress` and one `rasAddress`.
    Rrq {
        /// The endpoint's call signalling address.
        call_signal: (IpAddr, u16),
        /// The endpoint's RAS address.
        ras: (IpAddr, u16),
    },
    /// RegistrationConfirm, optionally with a `timeToLive` (extension addition).
    Rcf {
        /// The gatekeeper's call signalling address.
        call_signal: (IpAddr, u16),
        /// `timeToLive` in seconds.
        ttl: Option<u32>,
    },
    /// AdmissionRequest with the required components only.
    Arq,
    /// AdmissionConfirm with `destCallSignalAddress`.
    Acf {
        /// Where the call goes.
        dest_call_signal: (IpAddr, u16),
    },
    /// LocationRequest with a `replyAddress`.
    Lrq {
        /// Where the LCF goes.
        reply: (IpAddr, u16),
    },
    /// LocationConfirm with `callSignalAddress` and `rasAddress`.
    Lcf {
        /// The located endpoint's call signalling address.
        call_signal: (IpAddr, u16),
        /// Its RAS address.
        ras: (IpAddr, u16),
    },
}

/// The PER encoding of a RAS message (`RasMessage` CHOICE: 24 root alternatives, 5 index
/// bits, extensible).
pub fn ras(msg: &Ras) -> Vec<u8> {
    let mut b = Bits::new();
    let seq = 1u16;
    let index = match msg {
        Ras::Grq { .. } => 0,
        Ras::Gcf { .. } => 1,
        Ras::Rrq { .. } => 3,
        Ras::Rcf { .. } => 4,
        Ras::Arq => 9,
        Ras::Acf { .. } => 10,
        Ras::Lrq { .. } => 18,
        Ras::Lcf { .. } => 19,
    };
    b.bit(false).bits(index, 5);
    match *msg {
        Ras::Grq { ras } => {
            // SEQ: ext, 4 optional bits; requestSeqNum, protocolIdentifier, rasAddress, then
            // endpointType is a STOP.
            b.bit(false).bits(0, 4);
            b.word(seq - 1).oid(&H225_PROTOCOL_ID);
            transport_address(&mut b, ras.0, ras.1);
            endpoint_type(&mut b);
        }
        Ras::Gcf { ras } => {
            // SEQ: ext, 2 optional bits (nonStandardData, gatekeeperIdentifier).
            b.bit(false).bits(0, 2);
            b.word(seq - 1).oid(&H225_PROTOCOL_ID);
            transport_address(&mut b, ras.0, ras.1);
        }
        Ras::Rrq { call_signal, ras } => {
            // SEQ: ext, 3 optional bits (nonStandardData, terminalAlias, gatekeeperIdentifier).
            b.bit(false).bits(0, 3);
            b.word(seq - 1).oid(&H225_PROTOCOL_ID);
            b.bit(true); // discoveryComplete
            b.len(1);
            transport_address(&mut b, call_signal.0, call_signal.1);
            b.len(1);
            transport_address(&mut b, ras.0, ras.1);
            endpoint_type(&mut b); // terminalType
            // endpointVendor: VendorIdentifier (ext, 2 optional bits) → H221NonStandard
            // (ext, country BYTE, extension BYTE, manufacturer WORD).
            b.bit(false).bits(0, 2).bit(false);
            b.octets(&[181, 0]).word(0x1234);
        }
        Ras::Rcf { call_signal, ttl } => {
            // SEQ: ext, 3 optional bits (nonStandardData, terminalAlias, gatekeeperIdentifier).
            b.bit(ttl.is_some()).bits(0, 3);
            b.word(seq - 1).oid(&H225_PROTOCOL_ID);
            b.len(1);
            transport_address(&mut b, call_signal.0, call_signal.1);
            // endpointIdentifier: BMPString, 7-bit length (- 1), aligned UCS-2.
            b.bits(0, 7).octets(&[0, b'E']);
            if let Some(ttl) = ttl {
                // Additions: alternateGatekeeper (absent), timeToLive (present).
                b.bits(1, 7).bits(0b01, 2);
                let mut t = Bits::new();
                t.cons(ttl - 1);
                b.open(&t);
                // The kernel's decode_int() (nf_conntrack_h323_asn1.c, CONS with DECODE)
                // advances past the value twice before its bounds check, so a timeToLive
                // that ends the datagram fails to decode and the whole RCF is ignored; real
                // RCFs carry more after it. One more octet keeps the check inside the data.
                b.octets(&[0]);
            }
        }
        Ras::Arq => {
            // SEQ: ext, 7 optional bits; requestSeqNum, callType, endpointIdentifier,
            // srcInfo; bandWidth is a STOP.
            b.bit(false).bits(0, 7);
            b.word(seq - 1);
            b.bit(false).bits(0, 2); // callType: pointToPoint
            b.bits(0, 7).octets(&[0, b'E']); // endpointIdentifier
            b.len(0); // srcInfo: empty SEQUENCE OF
            b.bits(0, 2).octets(&[0x40]); // bandWidth (what a real ARQ carries next)
        }
        Ras::Acf { dest_call_signal } => {
            // SEQ: ext, 2 optional bits; requestSeqNum, bandWidth, callModel,
            // destCallSignalAddress; irrFrequency is a STOP.
            b.bit(false).bits(0, 2);
            b.word(seq - 1);
            b.cons(640);
            b.bit(false).bit(false); // callModel: direct
            transport_address(&mut b, dest_call_signal.0, dest_call_signal.1);
        }
        Ras::Lrq { reply } => {
            // SEQ: ext, 2 optional bits; requestSeqNum, destinationInfo, replyAddress.
            b.bit(false).bits(0, 2);
            b.word(seq - 1);
            b.len(0); // destinationInfo: empty
            transport_address(&mut b, reply.0, reply.1);
        }
        Ras::Lcf { call_signal, ras } => {
            // SEQ: ext, 1 optional bit; requestSeqNum, callSignalAddress, rasAddress.
            b.bit(false).bit(false);
            b.word(seq - 1);
            transport_address(&mut b, call_signal.0, call_signal.1);
            transport_address(&mut b, ras.0, ras.1);
        }
    }
    b.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// H.245

/// An H.245 logical channel as the lab announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Audio with an RTCP address (`mediaControlChannel`) in `H2250LogicalChannelParameters`.
    AudioRtcp {
        /// The announced RTCP address.
        addr: IpAddr,
        /// The announced RTCP port.
        port: u16,
    },
    /// Data (T.120 over a separate LAN stack) with a `separateStack` local area address.
    T120 {
        /// The announced T.120 address.
        addr: IpAddr,
        /// The announced T.120 port.
        port: u16,
    },
}

/// `H2250LogicalChannelParameters` (extensible, 10 optional bits): sessionID, and optionally
/// the `mediaChannel` (bit 2) or `mediaControlChannel` (bit 4); the decoder stops at
/// `mediaControlGuaranteedDelivery`.
fn h2250_params(media: Option<(IpAddr, u16)>, control: Option<(IpAddr, u16)>) -> Bits {
    let mut p = Bits::new();
    p.bit(false);
    let mut bitmap = 0u32;
    if media.is_some() {
        bitmap |= 1 << (9 - 2);
    }
    if control.is_some() {
        bitmap |= 1 << (9 - 4);
    }
    p.bits(bitmap, 10);
    p.octets(&[1]); // sessionID
    if let Some((a, port)) = media {
        h245_transport_address(&mut p, a, port);
    }
    if let Some((a, port)) = control {
        h245_transport_address(&mut p, a, port);
    }
    p
}

/// An `OpenLogicalChannel` (forward channel number 1).
pub fn open_logical_channel(ch: &Channel) -> Bits {
    let mut b = Bits::new();
    let t120 = matches!(ch, Channel::T120 { .. });
    // OLC: ext (set for separateStack), 1 optional bit (reverseLogicalChannelParameters).
    b.bit(t120).bit(false);
    b.word(0); // forwardLogicalChannelNumber 1
    // forwardLogicalChannelParameters: ext, 1 optional bit (portNumber).
    b.bit(false).bit(false);
    // dataType CHOICE (3 bits, extensible).
    b.bit(false);
    match ch {
        Channel::AudioRtcp { .. } => {
            // audioData (3) → AudioCapability g711Ulaw64k (3): aligned BYTE (frames - 1).
            b.bits(3, 3).bit(false).bits(3, 4).octets(&[19]);
        }
        Channel::T120 { .. } => {
            // data (4) → DataApplicationCapability (ext): application CHOICE (ext, 4 bits)
            // t120 (1) → DataProtocolCapability separateLANStack (10, an extension
            // alternative: 1, 7 bits 10-7, open NULL), then maxBitRate (CONS).
            b.bits(4, 3).bit(false);
            b.bit(false).bits(1, 4);
            b.bit(true).bits(3, 7);
            let mut null = Bits::new();
            null.octets(&[0]);
            b.open(&null);
            b.cons(640);
        }
    }
    // multiplexParameters: h2250LogicalChannelParameters is extension alternative 3 (root 3).
    b.bit(true).bits(0, 7);
    let params = match *ch {
        Channel::AudioRtcp { addr, port } => h2250_params(None, Some((addr, port))),
        Channel::T120 { .. } => h2250_params(None, None),
    };
    b.open(&params);
    if let Channel::T120 { addr, port } = *ch {
        // Additions of OLC: separateStack only.
        b.bits(0, 7).bit(true);
        // NetworkAccessParameters: ext, 2 optional bits; networkAddress CHOICE (ext, 2 bits)
        // localAreaAddress (2) → H.245 TransportAddress; associateConference.
        let mut s = Bits::new();
        s.bit(false).bits(0, 2);
        s.bit(false).bits(2, 2);
        h245_transport_address(&mut s, addr, port);
        s.bit(false);
        b.open(&s);
    }
    b
}

/// `MultimediaSystemControlMessage` request (0) → `openLogicalChannel` (3).
pub fn h245_olc(ch: &Channel) -> Vec<u8> {
    let mut b = Bits::new();
    b.bit(false).bits(0, 2); // request
    b.bit(false).bits(3, 4); // openLogicalChannel
    // 1 + 2 + 1 + 4 bits: the OpenLogicalChannel starts on a byte boundary, so its own
    // alignment points are the message's.
    debug_assert_eq!(b.bit, 0);
    b.bytes.extend(open_logical_channel(ch).into_bytes());
    b.into_bytes()
}

/// `MultimediaSystemControlMessage` response (1) → `openLogicalChannelAck` (5) with
/// `forwardMultiplexAckParameters` carrying the RTP address (`mediaChannel`).
pub fn h245_olc_ack(addr: IpAddr, port: u16) -> Vec<u8> {
    let mut b = Bits::new();
    b.bit(false).bits(1, 2); // response
    b.bit(false).bits(5, 5); // openLogicalChannelAck
    // OLCA: ext (additions), 1 optional bit (reverseLogicalChannelParameters).
    b.bit(true).bit(false);
    b.word(0); // forwardLogicalChannelNumber 1
    // Additions: separateStack (absent), forwardMultiplexAckParameters (present).
    b.bits(1, 7).bits(0b01, 2);
    // CHOICE with one root alternative: ext bit, no index bits; then
    // H2250LogicalChannelAckParameters: ext, 5 optional bits (mediaChannel = bit 2); the
    // decoder's root ends after them (flowControlToZero is an addition there).
    let mut f = Bits::new();
    f.bit(false);
    f.bit(false).bits(0b00100, 5);
    h245_transport_address(&mut f, addr, port);
    b.open(&f);
    b.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Q.931 with H.225 user-user information (TCP 1720, TPKT framed)

/// A Q.931 message body the lab plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Q931 {
    /// Setup with an `h245Address` and optional fastStart channels.
    Setup {
        /// The announced H.245 address.
        h245: Option<(IpAddr, u16)>,
        /// fastStart OpenLogicalChannels.
        fast_start: Vec<Channel>,
    },
    /// Connect with an `h245Address`.
    Connect {
        /// The announced H.245 address.
        h245: (IpAddr, u16),
    },
    /// Facility with reason callForwarded and an `alternativeAddress`.
    FacilityForward {
        /// Where the call is forwarded to.
        to: (IpAddr, u16),
    },
}

/// The H.225 `H323-UserInformation` PER encoding of a Q.931 body.
pub fn user_information(msg: &Q931) -> Vec<u8> {
    let mut b = Bits::new();
    b.bit(false).bit(false); // H323-UserInformation: ext, user-data absent
    b.bit(false).bit(false); // H323-UU-PDU: ext, nonStandardData absent
    b.bit(false); // h323-message-body: ext
    match msg {
        Q931::Setup { h245, fast_start } => {
            b.bits(0, 3);
            // Setup-UUIE: ext (for fastStart), 7 optional bits (h245Address first).
            b.bit(!fast_start.is_empty());
            b.bits(if h245.is_some() { 0b100_0000 } else { 0 }, 7);
            b.oid(&H225_PROTOCOL_ID);
            if let Some((a, p)) = h245 {
                transport_address(&mut b, *a, *p);
            }
            endpoint_type(&mut b); // sourceInfo
            b.bit(false); // activeMC
            b.octets(&[0x5a; 16]); // conferenceID
            b.bit(false).bits(0, 2); // conferenceGoal: create
            b.bit(false).bits(0, 2); // callType: pointToPoint
            if !fast_start.is_empty() {
                // Additions 13..=19: only fastStart (the 7th) present.
                b.bits(6, 7).bits(0b000_0001, 7);
                let mut fs = Bits::new();
                fs.len(fast_start.len());
                for ch in fast_start {
                    fs.open(&open_logical_channel(ch));
                }
                b.open(&fs);
            }
        }
        Q931::Connect { h245 } => {
            b.bits(2, 3);
            // Connect-UUIE: ext, 1 optional bit (h245Address).
            b.bit(false).bit(true);
            b.oid(&H225_PROTOCOL_ID);
            transport_address(&mut b, h245.0, h245.1);
            endpoint_type(&mut b); // destinationInfo
            b.octets(&[0x5a; 16]); // conferenceID
        }
        Q931::FacilityForward { to } => {
            b.bits(6, 3);
            // Facility-UUIE: ext, 3 optional bits (alternativeAddress first).
            b.bit(false).bits(0b100, 3);
            b.oid(&H225_PROTOCOL_ID);
            transport_address(&mut b, to.0, to.1);
            b.bit(false).bits(1, 2); // reason: callForwarded
        }
    }
    b.into_bytes()
}

/// A TPKT-framed Q.931 message: protocol discriminator 8, a two-byte call reference, the
/// message type (Setup 0x05, Connect 0x07, Facility 0x62) and the user-user IE (0x7e) with
/// protocol discriminator 5 and the `H323-UserInformation`.
pub fn q931(msg: &Q931) -> Vec<u8> {
    let msg_type = match msg {
        Q931::Setup { .. } => 0x05,
        Q931::Connect { .. } => 0x07,
        Q931::FacilityForward { .. } => 0x62,
    };
    let uuie = user_information(msg);
    let mut body = vec![0x08, 0x02, 0x00, 0x01, msg_type, 0x7e];
    let ie_len = uuie.len() + 1;
    body.extend_from_slice(&(ie_len as u16).to_be_bytes());
    body.push(0x05);
    body.extend_from_slice(&uuie);
    tpkt(&body)
}

/// A TPKT frame (RFC 1006): version 3, reserved 0, total length.
pub fn tpkt(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x03, 0x00];
    v.extend_from_slice(&((payload.len() + 4) as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_msb_first_and_align() {
        let mut b = Bits::new();
        b.bit(true).bits(0b01, 2).word(0x1234).bits(0b1, 1);
        assert_eq!(b.into_bytes(), [0b1010_0000, 0x12, 0x34, 0x80]);
    }

    #[test]
    fn cons_counts_bytes() {
        let mut b = Bits::new();
        b.cons(119);
        assert_eq!(b.into_bytes(), [0x00, 119]);
        let mut b = Bits::new();
        b.bit(true).cons(0x1_0000);
        // 1, then 2 bits "10" (3 bytes), aligned, 01 00 00
        assert_eq!(b.into_bytes(), [0b1100_0000, 1, 0, 0]);
    }

    #[test]
    fn gcf_layout() {
        let gcf = ras(&Ras::Gcf {
            ras: ("10.71.2.2".parse().unwrap(), 1719),
        });
        // choice ext 0, index 00001, seq ext 0, two absent bits: 9 bits (0x04, 0x00); then
        // requestSeqNum 0 (aligned), the OID, TransportAddress ext 0 index 000 and the aligned
        // address and port.
        assert_eq!(&gcf[..4], &[0x04, 0x00, 0, 0]);
        assert_eq!(gcf[4] as usize, H225_PROTOCOL_ID.len());
        let addr = &gcf[5 + H225_PROTOCOL_ID.len()..];
        assert_eq!(addr, [0x00, 10, 71, 2, 2, 0x06, 0xb7]);
    }

    #[test]
    fn q931_frames_the_user_information() {
        let m = q931(&Q931::Connect {
            h245: ("10.71.2.2".parse().unwrap(), 40000),
        });
        assert_eq!(&m[..2], &[3, 0]);
        assert_eq!(u16::from_be_bytes([m[2], m[3]]) as usize, m.len());
        assert_eq!(&m[4..10], &[0x08, 0x02, 0x00, 0x01, 0x07, 0x7e]);
        let ie_len = u16::from_be_bytes([m[10], m[11]]) as usize;
        assert_eq!(ie_len, m.len() - 12);
        assert_eq!(m[12], 0x05);
    }

    #[test]
    fn olc_carries_the_rtcp_address() {
        let olc = h245_olc(&Channel::AudioRtcp {
            addr: "10.71.1.2".parse().unwrap(),
            port: 5001,
        });
        let tail = &olc[olc.len() - 7..];
        assert_eq!(&tail[1..5], &[10, 71, 1, 2]);
        assert_eq!(u16::from_be_bytes([tail[5], tail[6]]), 5001);
    }
}
