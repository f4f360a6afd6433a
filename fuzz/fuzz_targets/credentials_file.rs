#![no_main]
//! Fuzz target: see `vmauth::fuzzing::credentials_file`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::credentials_file(data));
