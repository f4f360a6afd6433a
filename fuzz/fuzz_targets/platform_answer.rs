#![no_main]
//! Fuzz target: see `vmauth::fuzzing::platform_answer`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::platform_answer(data));
