//! Every closed enum's canonical spelling is the one serde writes and reads, `Display` prints
//! (where the type has it) and `FromStr` accepts; the spellings are unique per type. Two
//! exceptions: `Param` serialises as its variant name (`conntrack_helper`) in JSON reports,
//! while its spelling is `module.param`; `Attribute` and `ParamKind`
//! display as prose (`source address`, `ushort array`).

use std::collections::HashSet;
use std::fmt::Display;

use netfilter_helpers_core::audit::AuditCode;
use netfilter_helpers_core::catalogue::{ExpectClass, Helper, Module, Naming};
use netfilter_helpers_core::conform::Code;
use netfilter_helpers_core::doc::DocFormat;
use netfilter_helpers_core::dof::{
    Attribute, CommandFrom, Endpoint, ExpectationKind, PortRule, RouteCheck, Side,
};
use netfilter_helpers_core::ir::ChainKind;
use netfilter_helpers_core::kernel::{AutoAssignment, PortsEffect};
use netfilter_helpers_core::net::{Family, RpFilter};
use netfilter_helpers_core::options::{OptionCode, Param, ParamKind};
use netfilter_helpers_core::parse::{Event, Format};
use netfilter_helpers_core::policy::DefaultRule;
use netfilter_helpers_core::render::Backend;
use netfilter_helpers_core::report::Severity;
use netfilter_helpers_core::site::{Direction, Mode, NameMatch, UnknownInterfaces};
use netfilter_helpers_core::spelling::Spelling;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn serde_agrees<T: Spelling + Serialize + DeserializeOwned + std::fmt::Debug>() {
    let mut seen = HashSet::new();
    for v in T::VALUES {
        let text = v.as_str();
        assert!(seen.insert(text), "{text:?} spelled twice");
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            serde_json::Value::from(text),
            "{v:?}"
        );
        assert_eq!(serde_json::from_value::<T>(text.into()).unwrap(), *v);
        assert_eq!(T::from_spelling(text), Some(*v));
    }
    assert_eq!(T::from_spelling("no-such-spelling"), None);
}

fn display_agrees<T: Spelling + Display + std::fmt::Debug>() {
    for v in T::VALUES {
        assert_eq!(v.to_string(), v.as_str(), "{v:?}");
    }
}

fn parse_agrees<T: Spelling + std::str::FromStr + std::fmt::Debug>() {
    for v in T::VALUES {
        assert_eq!(v.as_str().parse::<T>().ok(), Some(*v), "{v:?}");
    }
}

#[test]
fn spellings_agree_with_serde() {
    serde_agrees::<AuditCode>();
    serde_agrees::<Helper>();
    serde_agrees::<Module>();
    serde_agrees::<ExpectClass>();
    serde_agrees::<Naming>();
    serde_agrees::<Code>();
    serde_agrees::<Attribute>();
    serde_agrees::<CommandFrom>();
    serde_agrees::<Endpoint>();
    serde_agrees::<ExpectationKind>();
    serde_agrees::<PortRule>();
    serde_agrees::<RouteCheck>();
    serde_agrees::<Side>();
    serde_agrees::<AutoAssignment>();
    serde_agrees::<PortsEffect>();
    serde_agrees::<Family>();
    serde_agrees::<RpFilter>();
    serde_agrees::<OptionCode>();
    serde_agrees::<ParamKind>();
    serde_agrees::<Event>();
    serde_agrees::<Format>();
    serde_agrees::<DefaultRule>();
    serde_agrees::<Backend>();
    serde_agrees::<Severity>();
    serde_agrees::<Direction>();
    serde_agrees::<Mode>();
    serde_agrees::<NameMatch>();
    serde_agrees::<UnknownInterfaces>();
}

#[test]
fn spellings_agree_with_display_and_parse() {
    display_agrees::<Helper>();
    display_agrees::<Module>();
    display_agrees::<ExpectClass>();
    display_agrees::<Code>();
    display_agrees::<AuditCode>();
    display_agrees::<Endpoint>();
    display_agrees::<Family>();
    display_agrees::<Param>();
    display_agrees::<OptionCode>();
    display_agrees::<Severity>();
    display_agrees::<Backend>();
    parse_agrees::<Helper>();
    parse_agrees::<Module>();
    parse_agrees::<ExpectClass>();
    parse_agrees::<Family>();
    parse_agrees::<Param>();
    parse_agrees::<Backend>();
    assert_eq!(DocFormat::from_spelling("json"), Some(DocFormat::Json));
    for k in ChainKind::VALUES {
        assert_eq!(
            serde_json::to_value(k).unwrap(),
            serde_json::Value::from(k.as_str())
        );
    }
}
