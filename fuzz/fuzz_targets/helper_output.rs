#![no_main]
//! Fuzz target: see `vmauth::fuzzing::helper_output`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::helper_output(data));
