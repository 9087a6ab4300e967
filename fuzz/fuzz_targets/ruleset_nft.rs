//! Fuzz target `ruleset_nft`: the body is `netfilter_helpers_fuzz::ruleset_nft`, which the corpus replay
//! test (`tests/replay.rs`) runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netfilter_helpers_fuzz::ruleset_nft(data));
