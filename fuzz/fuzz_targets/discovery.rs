#![no_main]
//! Fuzz target: see `vmauth::fuzzing::discovery`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::discovery(data));
