#![no_main]
//! Fuzz target: see `vmauth::fuzzing::error_response`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::error_response(data));
