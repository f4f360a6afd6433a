#![no_main]
//! Fuzz target: see `vmauth::fuzzing::durations`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::durations(data));
