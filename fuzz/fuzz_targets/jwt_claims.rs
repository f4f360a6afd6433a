#![no_main]
//! Fuzz target: see `vmauth::fuzzing::jwt_claims`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::jwt_claims(data));
