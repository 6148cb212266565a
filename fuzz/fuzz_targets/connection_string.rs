//! Fuzz target: see `reims_verify::fuzz::connection_string` for what counts as a defect.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reims_verify::fuzz::connection_string(data));
