#![no_main]
//! Fuzz target: see `vmauth::fuzzing::cargo_request`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::cargo_request(data));
