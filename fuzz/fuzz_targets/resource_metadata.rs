#![no_main]
//! Fuzz target: see `vmauth::fuzzing::resource_metadata`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::resource_metadata(data));
