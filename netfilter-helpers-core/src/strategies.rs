//! proptest strategies for core values, shared by the core's tests and the bindings' tests
//! (enable the `proptest` feature).
//!
//! ```
//! use netfilter_helpers_core::strategies::module_options;
//! use proptest::strategy::{Strategy, ValueTree};
//! let mut runner = proptest::test_runner::TestRunner::deterministic();
//! let opts = module_options().new_tree(&mut runner).unwrap().current();
//! assert!(!netfilter_helpers_core::options::ModuleOptions::from_modprobe(&opts.render_modprobe()).has_errors());
//! ```

use proptest::prelude::*;

use crate::options::{ModuleOptions, Param, ParamKind, Value};

/// A valid value for one parameter.
pub fn value_for(param: Param) -> BoxedStrategy<Value> {
    let spec = param.spec();
    match spec.kind {
        ParamKind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        ParamKind::Int => any::<i32>().prop_map(Value::Int).boxed(),
        ParamKind::Uint => match spec.range {
            Some((lo, hi)) => ((lo as u32)..=(hi as u32)).prop_map(Value::Uint).boxed(),
            None => any::<u32>().prop_map(Value::Uint).boxed(),
        },
        ParamKind::Ports => proptest::collection::btree_set(any::<u16>(), 1..=8)
            .prop_shuffle_ports()
            .boxed(),
        ParamKind::Text => prop_oneof![Just("kmp"), Just("bm"), Just("fsm")]
            .prop_map(|s| Value::Text(s.to_string()))
            .boxed(),
    }
}

trait ShufflePorts {
    fn prop_shuffle_ports(self) -> BoxedStrategy<Value>;
}

impl<S> ShufflePorts for S
where
    S: Strategy<Value = std::collections::BTreeSet<u16>> + 'static,
{
    fn prop_shuffle_ports(self) -> BoxedStrategy<Value> {
        self.prop_map(|set| set.into_iter().collect::<Vec<_>>())
            .prop_shuffle()
            .prop_map(Value::Ports)
            .boxed()
    }
}

/// Valid module options: a random subset of parameters set to random valid values.
pub fn module_options() -> impl Strategy<Value = ModuleOptions> {
    let params: Vec<Param> = Param::all().collect();
    let per_param: Vec<BoxedStrategy<Option<Value>>> = params
        .iter()
        .map(|p| proptest::option::of(value_for(*p)).boxed())
        .collect();
    per_param.prop_map(move |values| {
        let mut o = ModuleOptions::new();
        for (p, v) in params.iter().zip(values) {
            if let Some(v) = v {
                o.set(*p, v).expect("strategy values are valid");
            }
        }
        o
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::HelperName;
    use crate::kernel::KernelVersion;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn modprobe_render_round_trips(o in module_options()) {
            let text = o.render_modprobe();
            let r = ModuleOptions::from_modprobe(&text);
            prop_assert!(!r.has_errors(), "{:?}", r.findings);
            prop_assert_eq!(r.options, o);
        }

        #[test]
        fn modprobe_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = ModuleOptions::from_modprobe(&text);
        }

        #[test]
        fn modprobe_parser_never_panics_on_option_like_text(
            s in "(options|install|#)? ?(nf_conntrack(_ftp|_sip|_irc|_h323|_x)?)? ?([a-z_]{0,12}(=[0-9a-zA-Z,x\"+-]{0,12})? ?){0,4}\\\\?\n?"
        ) {
            let _ = ModuleOptions::from_modprobe(&s);
        }

        #[test]
        fn value_text_round_trips(
            (p, v) in proptest::sample::select(Param::all().collect::<Vec<_>>())
                .prop_flat_map(|p| (Just(p), value_for(p)))
        ) {
            prop_assert_eq!(p.parse_value(&v.to_string()).unwrap(), v);
        }

        #[test]
        fn names_never_panic(s in "\\PC{0,24}") {
            let _ = s.parse::<HelperName>();
            let _ = s.parse::<KernelVersion>();
            let _ = s.parse::<Param>();
            let _ = Param::FtpPorts.parse_value(&s);
            let _ = Param::SipDirectMedia.parse_value(&s);
            let _ = Param::IrcDccTimeout.parse_value(&s);
        }
    }
}
