#![no_main]
//! Fuzz target: see `vmauth::fuzzing::state_json`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::state_json(data));
