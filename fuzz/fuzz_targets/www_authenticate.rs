#![no_main]
//! Fuzz target: see `vmauth::fuzzing::www_authenticate`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::www_authenticate(data));
