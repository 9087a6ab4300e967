//! Fuzz target `ctnetlink`: the body is `netfilter_helpers_fuzz::ctnetlink`, which the corpus replay
//! test (`tests/replay.rs`) runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netfilter_helpers_fuzz::ctnetlink(data));
