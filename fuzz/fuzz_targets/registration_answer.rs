#![no_main]
//! Fuzz target: see `vmauth::fuzzing::registration_answer`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::registration_answer(data));
