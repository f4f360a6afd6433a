#![no_main]
//! Fuzz target: see `vmauth::fuzzing::exchange_answer`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::exchange_answer(data));
