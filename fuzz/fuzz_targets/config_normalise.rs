#![no_main]
//! Fuzz target: see `vmauth::fuzzing::config_normalise`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::config_normalise(data));
