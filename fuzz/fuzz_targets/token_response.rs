#![no_main]
//! Fuzz target: see `vmauth::fuzzing::token_response`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::token_response(data));
