#![no_main]
//! Fuzz target: see `vmauth::fuzzing::pem_keys`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::pem_keys(data));
