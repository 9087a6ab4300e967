//! Python enums for the core's closed sets: simple `#[pyclass]` enums, frozen, hashable and
//! ordered, with the core's canonical spelling as `value` and `str()`, constructible from that
//! spelling (`Helper('ftp')`, `Backend('nft-json')`) and accepted as arguments either as a
//! member or as text.

use netfilter_helpers_core::audit::AuditCode;
use netfilter_helpers_core::catalogue::Naming;
use netfilter_helpers_core::conform::Code;
use netfilter_helpers_core::dof::{
    Attribute, CommandFrom, Endpoint, ExpectationKind, PortRule, Side,
};
use netfilter_helpers_core::ir::ChainKind;
use netfilter_helpers_core::kernel::{AutoAssignment, PortsEffect};
use netfilter_helpers_core::net::RpFilter;
use netfilter_helpers_core::net::{Family, L4Proto};
use netfilter_helpers_core::options::{OptionCode, ParamKind};
use netfilter_helpers_core::parse::{Event, Format};
use netfilter_helpers_core::policy::DefaultRule;
use netfilter_helpers_core::render::Backend;
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_core::site::{Direction, Mode, NameMatch, UnknownInterfaces};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString, PyType};

use netfilter_helpers_core::spelling::Spelling;

use crate::error::{Error, Result};

/// What every binding enum offers: its members, canonical text and parsing.
pub(crate) trait PyEnum: Sized + Copy + 'static {
    /// The Python class name.
    const CLASS: &'static str;
    /// Every member, in declaration order.
    const MEMBERS: &'static [Self];
    /// The canonical text (the core's spelling, for enums over a core enum).
    fn value(self) -> &'static str;
    /// The member's Python name (`FTP`).
    fn member_name(self) -> &'static str;
    /// Parses text that is not a member's value or name (the core's aliases).
    fn parse_alias(text: &str) -> Option<Result<Self>> {
        let _ = text;
        None
    }
    /// Parses a member's value, name or an alias the core accepts.
    fn parse_text(text: &str) -> Result<Self> {
        if let Some(v) = Self::MEMBERS
            .iter()
            .copied()
            .find(|v| v.value() == text || v.member_name() == text)
        {
            return Ok(v);
        }
        if let Some(r) = Self::parse_alias(text) {
            return r;
        }
        Err(Error::UnknownValue {
            class: Self::CLASS,
            text: text.to_string(),
            expected: Self::MEMBERS
                .iter()
                .map(|v| v.value())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// A binding enum over a closed core enum: the member of each core value and back. The
/// member's text is the core's canonical spelling ([`Spelling`]): the binding keeps no second
/// table of spellings.
pub(crate) trait CoreEnum: PyEnum {
    /// The core enum.
    type Core: Spelling + std::fmt::Debug;

    /// The core value of a member (an exhaustive `match` over the members).
    fn to_core(self) -> Self::Core;

    /// The member of a core value. For an exhaustive core enum the `From` impl is an
    /// exhaustive `match`, so a new core value does not compile until it has a member; for a
    /// `#[non_exhaustive]` one (which no other crate can match exhaustively) a core value
    /// without a member is an `InternalError`, never a panic, and the test
    /// `every_core_value_has_a_member` fails.
    fn from_core(core: Self::Core) -> Result<Self> {
        Self::MEMBERS
            .iter()
            .copied()
            .find(|m| m.to_core() == core)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "the core's {} {:?} has no member in netfilter_helpers.{}",
                    Self::CLASS,
                    core.as_str(),
                    Self::CLASS
                ))
            })
    }

    /// The core values that have no member (empty in a tested build).
    #[cfg(test)]
    fn core_values_without_member() -> Vec<&'static str> {
        <Self::Core as Spelling>::VALUES
            .iter()
            .filter(|c| Self::from_core(**c).is_err())
            .map(|c| c.as_str())
            .collect()
    }
}

/// What `__reduce__` returns for an enum member.
pub(crate) type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyType>, &'static str));

/// `(getattr, (cls, name))`: how an enum member pickles.
pub(crate) fn reduce_member<'py>(
    cls: Bound<'py, PyType>,
    name: &'static str,
) -> PyResult<Reduced<'py>> {
    let getattr = cls.py().import("builtins")?.getattr("getattr")?;
    Ok((getattr, (cls, name)))
}

/// The pyclass of an enum, its extraction from a member or its text, and the common methods
/// (`value`, `name`, `members`, `str`, `hash`, `repr`, pickling). `PyEnum` is implemented by
/// the caller ([`py_enum_class!`], [`py_enum!`]). Usable from any module of the crate.
macro_rules! py_enum_pyclass {
    (
        $(#[doc = $doc:literal])*
        $py:ident($pyname:literal)
        {
            $( $(#[doc = $vdoc:literal])* $var:ident $(= $disc:literal)? ),+ $(,)?
        }
        $(methods { $($extra:tt)* })?
    ) => {
        $(#[doc = $doc])*
        #[::pyo3::pyclass(eq, eq_int, ord, frozen, module = "netfilter_helpers", name = $pyname)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub(crate) enum $py {
            $( $(#[doc = $vdoc])* $var $(= $disc)? ),+
        }

        impl<'a, 'py> ::pyo3::FromPyObject<'a, 'py> for $py {
            type Error = ::pyo3::PyErr;
            fn extract(
                obj: ::pyo3::Borrowed<'a, 'py, ::pyo3::PyAny>,
            ) -> ::pyo3::PyResult<Self> {
                use ::pyo3::types::PyAnyMethods as _;
                use ::pyo3::types::PyStringMethods as _;
                use ::pyo3::types::PyTypeMethods as _;
                if let Ok(v) = obj.cast::<$py>() {
                    return Ok(*v.get());
                }
                if let Ok(s) = obj.cast::<::pyo3::types::PyString>() {
                    return Ok(<$py as $crate::enums::PyEnum>::parse_text(&s.to_cow()?)?);
                }
                Err(::pyo3::exceptions::PyTypeError::new_err(format!(
                    "expected {} or str, got {}",
                    $pyname,
                    obj.get_type().name()?
                )))
            }
        }

        #[::pyo3::pymethods]
        impl $py {
            /// The member whose value (or name) is the text, or the member itself.
            #[new]
            fn __new__(value: $py) -> $py {
                value
            }

            /// The canonical text (the spelling the kernel and the core use).
            #[getter(value)]
            fn py_value(&self) -> &'static str {
                $crate::enums::PyEnum::value(*self)
            }

            /// The member's name.
            #[getter(name)]
            fn py_name(&self) -> &'static str {
                $crate::enums::PyEnum::member_name(*self)
            }

            /// Every member, in declaration order.
            #[staticmethod]
            fn members() -> Vec<$py> {
                <$py as $crate::enums::PyEnum>::MEMBERS.to_vec()
            }

            fn __str__(&self) -> &'static str {
                $crate::enums::PyEnum::value(*self)
            }

            /// The hash of the member's int, as members equal their int.
            fn __hash__(&self) -> u64 {
                *self as u64
            }

            fn __repr__(&self) -> String {
                format!("{}.{}", $pyname, $crate::enums::PyEnum::member_name(*self))
            }

            fn __reduce__<'py>(
                slf: &::pyo3::Bound<'py, Self>,
            ) -> ::pyo3::PyResult<$crate::enums::Reduced<'py>> {
                use ::pyo3::types::PyAnyMethods as _;
                $crate::enums::reduce_member(
                    slf.as_any().get_type(),
                    $crate::enums::PyEnum::member_name(*slf.get()),
                )
            }

            $($($extra)*)?
        }
    };
}
pub(crate) use py_enum_pyclass;

/// A Python enum of the binding's own (no core enum behind it): its members' text is given
/// here.
macro_rules! py_enum_class {
    (
        $(#[doc = $doc:literal])*
        $py:ident($pyname:literal)
        {
            $( $(#[doc = $vdoc:literal])* $var:ident $(= $disc:literal)? : $value:literal ),+ $(,)?
        }
        $(methods { $($extra:tt)* })?
    ) => {
        $crate::enums::py_enum_pyclass! {
            $(#[doc = $doc])*
            $py($pyname)
            {
                $( $(#[doc = $vdoc])* $var $(= $disc)? ),+
            }
            $(methods { $($extra)* })?
        }

        impl $crate::enums::PyEnum for $py {
            const CLASS: &'static str = $pyname;
            const MEMBERS: &'static [Self] = &[$($py::$var),+];
            fn value(self) -> &'static str {
                match self { $($py::$var => $value),+ }
            }
            fn member_name(self) -> &'static str {
                match self { $($py::$var => stringify!($var)),+ }
            }
        }
    };
}

/// A Python enum over a closed core enum: one member per core value, whose text is the core's
/// spelling. `<=> Core` is for an exhaustive core enum (`From<Core>` is an exhaustive
/// `match`: a new core value does not compile), `<=> #[non_exhaustive] Core` for one that is
/// not (members come from core values through `CoreEnum::from_core`, checked by a test).
macro_rules! py_enum {
    (
        $(#[doc = $doc:literal])*
        $py:ident($pyname:literal) <=> $(#[$ne:ident])? $core:ident
        $(, alias = ($alias:expr))?
        {
            $( $(#[doc = $vdoc:literal])* $var:ident $(= $disc:literal)? <=> $corevar:ident ),+ $(,)?
        }
        $(methods { $($extra:tt)* })?
    ) => {
        $crate::enums::py_enum_pyclass! {
            $(#[doc = $doc])*
            $py($pyname)
            {
                $( $(#[doc = $vdoc])* $var $(= $disc)? ),+
            }
            $(methods { $($extra)* })?
        }

        impl $crate::enums::PyEnum for $py {
            const CLASS: &'static str = $pyname;
            const MEMBERS: &'static [Self] = &[$($py::$var),+];
            fn value(self) -> &'static str {
                ::netfilter_helpers_core::spelling::Spelling::as_str($core::from(self))
            }
            fn member_name(self) -> &'static str {
                match self { $($py::$var => stringify!($var)),+ }
            }
            $(fn parse_alias(text: &str) -> Option<$crate::error::Result<Self>> {
                let f: fn(&str) -> Option<$crate::error::Result<Self>> = $alias;
                f(text)
            })?
        }

        impl $crate::enums::CoreEnum for $py {
            type Core = $core;
            fn to_core(self) -> $core {
                match self { $($py::$var => $core::$corevar),+ }
            }
        }

        impl From<$py> for $core {
            fn from(v: $py) -> $core {
                $crate::enums::CoreEnum::to_core(v)
            }
        }

        $crate::enums::py_enum_from_core!($py, $(#[$ne])? $core { $($var <=> $corevar),+ });
    };
}
pub(crate) use py_enum;

/// `From<Core>` for a binding enum over an exhaustive core enum (an exhaustive `match`); none
/// for a `#[non_exhaustive]` one (use `CoreEnum::from_core`).
macro_rules! py_enum_from_core {
    ($py:ident, #[non_exhaustive] $core:ident { $($var:ident <=> $corevar:ident),+ }) => {};
    ($py:ident, $core:ident { $($var:ident <=> $corevar:ident),+ }) => {
        impl From<$core> for $py {
            fn from(v: $core) -> $py {
                match v { $($core::$corevar => $py::$var),+ }
            }
        }
    };
}
pub(crate) use py_enum_from_core;

/// Parses text with the core's `FromStr` (which accepts aliases: `ras`, `nf-conntrack-ftp`).
pub(crate) fn core_parse<P>(text: &str) -> Option<Result<P>>
where
    P: CoreEnum,
    P::Core: std::str::FromStr,
    Error: From<<P::Core as std::str::FromStr>::Err>,
{
    Some(
        text.parse::<P::Core>()
            .map_err(Error::from)
            .and_then(P::from_core),
    )
}

py_enum! {
    /// An address family; the members equal the `ipaddress` version numbers (4 and 6).
    PyFamily("Family") <=> Family, alias = (core_parse::<PyFamily>) {
        IPV4 = 4 <=> Ipv4,
        IPV6 = 6 <=> Ipv6,
    }
    methods {
        /// The `l3proto` number the kernel prints (2 or 10).
        #[getter]
        fn l3proto(&self) -> u8 {
            Family::from(*self).l3proto()
        }

        /// The family of an `l3proto` number, or None.
        #[staticmethod]
        fn from_l3proto(number: u8) -> Option<PyFamily> {
            Family::from_l3proto(number).map(Into::into)
        }

        /// The family of an address.
        #[staticmethod]
        fn of(address: std::net::IpAddr) -> PyFamily {
            Family::of(&address).into()
        }
    }
}

py_enum! {
    /// How `ports=` names the extra registrations of a helper.
    PyNaming("Naming") <=> Naming {
        FIXED <=> Fixed,
        PORT <=> Port,
        INDEX <=> Index,
    }
}

py_enum! {
    /// The type of a module parameter.
    PyParamKind("ParamKind") <=> ParamKind {
        BOOL <=> Bool,
        INT <=> Int,
        UINT <=> Uint,
        PORTS <=> Ports,
        TEXT <=> Text,
    }
    methods {
        /// The kernel's name of the type (`ushort array`, `charp`).
        #[getter]
        fn kernel_type(&self) -> String {
            ParamKind::from(*self).to_string()
        }
    }
}

py_enum! {
    /// How serious a finding is (ordered: INFO < WARNING < ERROR).
    PySeverity("Severity") <=> Severity {
        INFO <=> Info,
        WARNING <=> Warning,
        ERROR <=> Error,
    }
}

py_enum! {
    /// Stable codes of module option findings.
    PyOptionCode("OptionCode") <=> #[non_exhaustive] OptionCode {
        MALFORMED_LINE <=> MalformedLine,
        UNKNOWN_MODULE <=> UnknownModule,
        UNKNOWN_PARAMETER <=> UnknownParameter,
        INVALID_VALUE <=> InvalidValue,
        OUT_OF_RANGE <=> OutOfRange,
        TOO_MANY_VALUES <=> TooManyValues,
        DUPLICATE_PORT <=> DuplicatePort,
        MISSING_VALUE <=> MissingValue,
        DUPLICATE_SETTING <=> DuplicateSetting,
        DANGEROUS_OPTION <=> DangerousOption,
        REMOVED_PARAMETER <=> RemovedParameter,
        PORTS_RENAME_ONLY <=> PortsRenameOnly,
        OTHER_MODULE <=> OtherModule,
        OTHER_DIRECTIVE <=> OtherDirective,
    }
}

py_enum! {
    /// An endpoint of the master connection.
    PyEndpoint("Endpoint") <=> Endpoint {
        INITIATOR <=> Initiator,
        RESPONDER <=> Responder,
        SENDER <=> Sender,
        PEER <=> Peer,
    }
}

py_enum_class! {
    /// The kinds of `Freedom` (the core's `Freedom` variants).
    PyFreedomKind("FreedomKind") {
        /// `M(x)`: copied from the master connection.
        MASTER: "master",
        /// `P=M(x)`: parsed from the payload, must equal the master's value.
        PAYLOAD_CHECKED: "payload-checked",
        /// `P`: parsed freely from the payload (forgeable).
        PAYLOAD: "payload",
        /// `*`: anything matches.
        WILDCARD: "wildcard",
        /// `NET`: the network of the outgoing interface.
        INTERFACE_NETWORK: "interface-network",
        /// `H`: the helper's registered port.
        HELPER_PORT: "helper-port",
        /// A protocol the helper always uses.
        PROTOCOL: "protocol",
        /// `P=M(l4)`: the master connection's protocol.
        MASTER_PROTOCOL: "master-protocol",
    }
}

py_enum! {
    /// An expectation attribute.
    PyAttribute("Attribute") <=> Attribute {
        SRC_ADDR <=> SrcAddr,
        SRC_PORT <=> SrcPort,
        DST_ADDR <=> DstAddr,
        DST_PORT <=> DstPort,
        L4 <=> L4,
    }
    methods {
        /// The attribute in words (`destination port`).
        #[getter]
        fn words(&self) -> &'static str {
            Attribute::from(*self).words()
        }

        /// The 2012 article's column title.
        #[getter]
        fn article_title(&self) -> &'static str {
            Attribute::from(*self).article_title()
        }
    }
}

py_enum! {
    /// A kind of expectation a helper creates.
    PyExpectationKind("ExpectationKind") <=> #[non_exhaustive] ExpectationKind {
        AMANDA_DATA <=> AmandaData,
        FTP_DATA <=> FtpData,
        IRC_DCC <=> IrcDcc,
        NETBIOS_NS_REPLY <=> NetbiosNsReply,
        SNMP_REPLY <=> SnmpReply,
        PPTP_GRE <=> PptpGre,
        SANE_DATA <=> SaneData,
        SIP_SIGNALLING <=> SipSignalling,
        SIP_AUDIO <=> SipAudio,
        SIP_VIDEO <=> SipVideo,
        SIP_IMAGE <=> SipImage,
        TFTP_DATA <=> TftpData,
        RAS_FROM_GCF <=> RasFromGcf,
        Q931_FROM_RRQ <=> Q931FromRrq,
        Q931_FROM_ACF <=> Q931FromAcf,
        Q931_FROM_LCF <=> Q931FromLcf,
        H245_FROM_Q931 <=> H245FromQ931,
        Q931_CALL_FORWARD <=> Q931CallForward,
        H323_RTP_RTCP <=> H323RtpRtcp,
        H323_T120 <=> H323T120,
    }
    methods {
        /// A short label for tables (`data`, `dcc`, `audio`).
        #[getter]
        fn label(&self) -> &'static str {
            ExpectationKind::from(*self).label()
        }
    }
}

py_enum! {
    /// Which side's packets a helper parses for an expectation kind.
    PyCommandFrom("CommandFrom") <=> CommandFrom {
        INITIATOR <=> Initiator,
        RESPONDER <=> Responder,
        EITHER <=> Either,
    }
}

py_enum! {
    /// What the kernel requires of, or does to, the announced destination port.
    PyPortRule("PortRule") <=> PortRule {
        ANY <=> Any,
        NON_ZERO <=> NonZero,
        UNPRIVILEGED <=> Unprivileged,
        SDP_RTP_PAIR <=> SdpRtpPair,
        H323_RTP_PAIR <=> H323RtpPair,
        GRE_CALL_IDS <=> GreCallIds,
        FROM_MASTER <=> FromMaster,
    }
}

py_enum! {
    /// A side of the master connection.
    PySide("Side") <=> Side {
        INITIATOR <=> Initiator,
        RESPONDER <=> Responder,
    }
}

py_enum! {
    /// How a kernel attaches helpers no rule assigned.
    PyAutoAssignment("AutoAssignment") <=> AutoAssignment {
        ALWAYS <=> Always,
        KNOB_DEFAULT_ON <=> KnobDefaultOn,
        KNOB_DEFAULT_OFF <=> KnobDefaultOff,
        REMOVED <=> Removed,
    }
}

py_enum! {
    /// What `ports=` does on a kernel.
    PyPortsEffect("PortsEffect") <=> PortsEffect {
        NAMES_AND_AUTO_ASSIGNMENT <=> NamesAndAutoAssignment,
        NAMES_ONLY <=> NamesOnly,
    }
}

py_enum! {
    /// Which text form an expectation line was in.
    PyFormat("Format") <=> Format {
        PROC <=> Proc,
        CONNTRACK <=> Conntrack,
    }
}

py_enum! {
    /// A `conntrack -E` event.
    PyEvent("Event") <=> Event {
        NEW <=> New,
        UPDATE <=> Update,
        DESTROY <=> Destroy,
    }
}

py_enum! {
    /// Stable codes of conformance and policy findings.
    PyCode("Code") <=> #[non_exhaustive] Code {
        NO_HELPER <=> NoHelper,
        UNKNOWN_HELPER <=> UnknownHelper,
        UNREGISTERED_NAME <=> UnregisteredName,
        FAMILY_UNSUPPORTED <=> FamilyUnsupported,
        CLASS_MISMATCH <=> ClassMismatch,
        PROTOCOL <=> Protocol,
        SOURCE_ADDRESS <=> SourceAddress,
        SOURCE_PORT <=> SourcePort,
        DESTINATION_ADDRESS <=> DestinationAddress,
        DESTINATION_PORT <=> DestinationPort,
        FLAGS <=> Flags,
        TIMEOUT <=> Timeout,
        MASTER_UNKNOWN <=> MasterUnknown,
        POLICY_HELPER <=> PolicyHelper,
        POLICY_DESTINATION <=> PolicyDestination,
        POLICY_SOURCE <=> PolicySource,
        POLICY_PORT <=> PolicyPort,
        POLICY_THIRD_PARTY <=> PolicyThirdParty,
        POLICY_CLASS <=> PolicyClass,
    }
}

py_enum! {
    /// What a policy does with helpers it does not list.
    PyDefaultRule("DefaultRule") <=> DefaultRule {
        DENY <=> Deny,
        ALLOW <=> Allow,
    }
}

py_enum! {
    /// Stable codes of audit findings.
    PyAuditCode("AuditCode") <=> #[non_exhaustive] AuditCode {
        DANGEROUS_OPTION <=> DangerousOption,
        INVALID_PARAMETER <=> InvalidParameter,
        AUTO_ASSIGNMENT <=> AutoAssignment,
        KERNEL_UNKNOWN <=> KernelUnknown,
        UNREADABLE <=> Unreadable,
        UNPARSABLE_LINE <=> UnparsableLine,
        NONCONFORMING <=> Nonconforming,
        POLICY_VIOLATION <=> PolicyViolation,
        RELATED_ACCEPT_BLANKET <=> RelatedAcceptBlanket,
        RELATED_ACCEPT_NO_HELPER <=> RelatedAcceptNoHelper,
        RELATED_ACCEPT_NO_ADDRESS <=> RelatedAcceptNoAddress,
        HELPER_UNRESTRICTED <=> HelperUnrestricted,
        HELPER_UNSUPPORTED <=> HelperUnsupported,
        HELPER_NOT_LOADED <=> HelperNotLoaded,
        PORTS_MISMATCH <=> PortsMismatch,
        DANGEROUS_OPTION_IN_USE <=> DangerousOptionInUse,
        NO_ANTISPOOFING <=> NoAntispoofing,
        OPAQUE_RULE <=> OpaqueRule,
        OPAQUE_ITEM <=> OpaqueItem,
        DRIFT_MISSING <=> DriftMissing,
        DRIFT_EXTRA <=> DriftExtra,
    }
}

py_enum! {
    /// Reverse-path filtering of an interface (`rp_filter`).
    PyRpFilter("RpFilter") <=> RpFilter {
        OFF <=> Off,
        LOOSE <=> Loose,
        STRICT <=> Strict,
    }
    methods {
        /// The sysctl value (0, 2 or 1).
        #[getter]
        fn sysctl(&self) -> u8 {
            RpFilter::from(*self).sysctl()
        }
    }
}

py_enum! {
    /// How an interface's name matches the kernel's interfaces (`match` in a site).
    PyNameMatch("NameMatch") <=> NameMatch {
        /// The one interface of that name.
        EXACT <=> Exact,
        /// Every interface whose name starts with it (`ppp+` for iptables, `"ppp*"` for nft).
        PREFIX <=> Prefix,
    }
}

py_enum! {
    /// What happens to packets arriving on interfaces the site does not describe.
    PyUnknownInterfaces("UnknownInterfaces") <=> UnknownInterfaces {
        /// Dropped.
        DROP <=> Drop,
        /// Only a strict reverse-path check.
        RPFILTER <=> Rpfilter,
        /// Passed unchecked.
        ALLOW <=> Allow,
    }
}

py_enum! {
    /// Whether the rules drop, or only log what they would drop (`mode` in a site).
    PyMode("Mode") <=> Mode {
        /// Drop (and log too when the site's `log` is on).
        ENFORCE <=> Enforce,
        /// Log, rate-limited, what enforcement would drop, and drop nothing.
        LOG_ONLY <=> LogOnly,
    }
}

py_enum! {
    /// Where a service's master connections go.
    PyDirection("Direction") <=> Direction {
        INBOUND <=> Inbound,
        OUTBOUND <=> Outbound,
        LOCAL <=> Local,
    }
}

py_enum! {
    /// An output format for rules (`Backend('nft-json')`).
    PyBackend("Backend") <=> #[non_exhaustive] Backend, alias = (core_parse::<PyBackend>) {
        IPTABLES <=> Iptables,
        IP6TABLES <=> Ip6tables,
        COMMANDS <=> Commands,
        NFT <=> Nft,
        NFT_JSON <=> NftJson,
        SYSCTL <=> Sysctl,
        MODPROBE <=> Modprobe,
        IPTABLES_HOOKS <=> IptablesHooks,
        IPTABLES_REMOVE <=> IptablesRemove,
        NFT_REMOVE <=> NftRemove,
    }
}

py_enum! {
    /// The chains a ruleset fills.
    PyChainKind("ChainKind") <=> ChainKind {
        ANTISPOOF <=> Antispoof,
        HELPERS_IN <=> HelpersIn,
        HELPERS_OUT <=> HelpersOut,
        RELATED_FORWARD <=> RelatedForward,
        RELATED_INPUT <=> RelatedInput,
        RELATED_OUTPUT <=> RelatedOutput,
    }
    methods {
        /// The chain's name suffix (`related-fwd`).
        #[getter]
        fn suffix(&self) -> &'static str {
            ChainKind::from(*self).suffix()
        }
    }
}

py_enum_class! {
    /// The binding's view of the core's `ParseErrorKind` (which carries the field name; the
    /// field is an attribute of `LineError` and `ParseError` instead).
    PyParseErrorKind("ParseErrorKind") {
        /// The line is empty.
        EMPTY: "empty",
        /// The line is too long.
        TOO_LONG: "too-long",
        /// A required field is missing.
        MISSING: "missing",
        /// A field's value is malformed.
        INVALID: "invalid",
        /// Addresses of different families in one line.
        FAMILY_MISMATCH: "family-mismatch",
        /// Text after the last field.
        TRAILING: "trailing",
    }
}

/// A layer-4 protocol; the members equal the protocol numbers (`L4Proto.TCP == 6`).
/// Protocol numbers without a member come back as plain `int`.
#[pyclass(
    eq,
    eq_int,
    ord,
    frozen,
    module = "netfilter_helpers",
    name = "L4Proto"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub(crate) enum PyL4Proto {
    /// ICMP (1).
    ICMP = 1,
    /// TCP (6).
    TCP = 6,
    /// UDP (17).
    UDP = 17,
    /// DCCP (33).
    DCCP = 33,
    /// GRE (47).
    GRE = 47,
    /// ICMPv6 (58).
    ICMPV6 = 58,
    /// SCTP (132).
    SCTP = 132,
    /// UDP-Lite (136).
    UDPLITE = 136,
}

impl PyEnum for PyL4Proto {
    const CLASS: &'static str = "L4Proto";
    const MEMBERS: &'static [Self] = &[
        Self::ICMP,
        Self::TCP,
        Self::UDP,
        Self::DCCP,
        Self::GRE,
        Self::ICMPV6,
        Self::SCTP,
        Self::UDPLITE,
    ];
    fn value(self) -> &'static str {
        match self {
            Self::ICMP => "icmp",
            Self::TCP => "tcp",
            Self::UDP => "udp",
            Self::DCCP => "dccp",
            Self::GRE => "gre",
            Self::ICMPV6 => "icmpv6",
            Self::SCTP => "sctp",
            Self::UDPLITE => "udplite",
        }
    }
    fn member_name(self) -> &'static str {
        match self {
            Self::ICMP => "ICMP",
            Self::TCP => "TCP",
            Self::UDP => "UDP",
            Self::DCCP => "DCCP",
            Self::GRE => "GRE",
            Self::ICMPV6 => "ICMPV6",
            Self::SCTP => "SCTP",
            Self::UDPLITE => "UDPLITE",
        }
    }
}

impl PyL4Proto {
    /// The member for a core protocol, `None` for numbers without a member.
    pub(crate) fn from_core(p: L4Proto) -> Option<PyL4Proto> {
        Some(match p {
            L4Proto::Icmp => Self::ICMP,
            L4Proto::Tcp => Self::TCP,
            L4Proto::Udp => Self::UDP,
            L4Proto::Dccp => Self::DCCP,
            L4Proto::Gre => Self::GRE,
            L4Proto::Icmpv6 => Self::ICMPV6,
            L4Proto::Sctp => Self::SCTP,
            L4Proto::UdpLite => Self::UDPLITE,
            L4Proto::Unknown(_) => return None,
        })
    }
}

impl From<PyL4Proto> for L4Proto {
    fn from(p: PyL4Proto) -> L4Proto {
        L4Proto::from(p as u8)
    }
}

/// A protocol argument: an `L4Proto`, a protocol number or a name (`tcp`, `17`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct L4Arg(pub(crate) L4Proto);

impl<'a, 'py> FromPyObject<'a, 'py> for L4Arg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(v) = obj.cast::<PyL4Proto>() {
            return Ok(L4Arg((*v.get()).into()));
        }
        if obj.cast::<PyInt>().is_ok() {
            let n: u8 = obj.extract()?;
            return Ok(L4Arg(L4Proto::from(n)));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            let p: L4Proto = s.to_cow()?.parse().map_err(Error::from)?;
            return Ok(L4Arg(p));
        }
        Err(PyTypeError::new_err(format!(
            "expected L4Proto, int or str, got {}",
            obj.get_type().name()?
        )))
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for PyL4Proto {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let L4Arg(p) = obj.extract()?;
        PyL4Proto::from_core(p).ok_or_else(|| {
            PyErr::from(Error::UnknownValue {
                class: "L4Proto",
                text: p.to_string(),
                expected: Self::MEMBERS
                    .iter()
                    .map(|v| v.value())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })
    }
}

/// A protocol as Python sees it: the member, or the number when there is none.
pub(crate) fn l4_out(py: Python<'_>, p: L4Proto) -> PyResult<Bound<'_, PyAny>> {
    match PyL4Proto::from_core(p) {
        Some(m) => Ok(m.into_pyobject(py)?.into_any()),
        None => Ok(u8::from(p).into_pyobject(py)?.into_any()),
    }
}

/// The repr of a protocol (`L4Proto.TCP`, or the number).
pub(crate) fn l4_repr(p: L4Proto) -> String {
    match PyL4Proto::from_core(p) {
        Some(m) => format!("L4Proto.{}", m.member_name()),
        None => u8::from(p).to_string(),
    }
}

#[pymethods]
impl PyL4Proto {
    /// The member for an `L4Proto`, a number or a name (`tcp`).
    #[new]
    fn __new__(value: PyL4Proto) -> PyL4Proto {
        value
    }

    /// The protocol's name in rule text (`tcp`).
    #[getter(value)]
    fn py_value(&self) -> &'static str {
        self.value()
    }

    /// The member's name.
    #[getter(name)]
    fn py_name(&self) -> &'static str {
        self.member_name()
    }

    /// The protocol number.
    #[getter]
    fn number(&self) -> u8 {
        *self as u8
    }

    /// Whether the protocol carries 16-bit ports.
    #[getter]
    fn has_ports(&self) -> bool {
        L4Proto::from(*self).has_ports()
    }

    /// Every member, in declaration order.
    #[staticmethod]
    fn members() -> Vec<PyL4Proto> {
        Self::MEMBERS.to_vec()
    }

    fn __str__(&self) -> &'static str {
        self.value()
    }

    /// The hash of the member's int, as members equal their int.
    fn __hash__(&self) -> u64 {
        *self as u64
    }

    fn __repr__(&self) -> String {
        format!("L4Proto.{}", self.member_name())
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce_member(slf.as_any().get_type(), slf.get().member_name())
    }
}

/// The repr of an enum member (`Helper.FTP`).
pub(crate) fn enum_repr<T: PyEnum>(v: T) -> String {
    format!("{}.{}", T::CLASS, v.member_name())
}

/// The repr of a core value as its member (`Helper.FTP`); for a core value without a member
/// (see [`CoreEnum::from_core`]), the call that would build it (`Helper('newhelper')`).
pub(crate) fn core_repr<T: CoreEnum>(v: T::Core) -> String {
    match T::from_core(v) {
        Ok(m) => enum_repr(m),
        Err(_) => format!("{}({})", T::CLASS, crate::repr::str_repr(v.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l4_protocols_are_the_core_numbers_and_names() {
        for p in PyL4Proto::MEMBERS {
            assert_eq!(p.value(), L4Proto::from(*p).name());
            assert_eq!(PyL4Proto::from_core(L4Proto::from(*p)), Some(*p));
        }
    }

    #[test]
    fn text_parses_by_value_name_or_core_alias() {
        assert_eq!(
            PyBackend::parse_text("nft-json").unwrap(),
            PyBackend::NFT_JSON
        );
        assert_eq!(
            PyBackend::parse_text("NFT_JSON").unwrap(),
            PyBackend::NFT_JSON
        );
        assert_eq!(
            PyDirection::parse_text("local").unwrap(),
            PyDirection::LOCAL
        );
        assert!(matches!(
            PyDirection::parse_text("sideways"),
            Err(Error::UnknownValue {
                class: "Direction",
                ..
            })
        ));
    }
}
