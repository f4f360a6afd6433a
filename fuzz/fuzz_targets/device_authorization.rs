#![no_main]
//! Fuzz target: see `vmauth::fuzzing::device_authorization`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::device_authorization(data));
