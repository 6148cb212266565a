//! Fuzz target: see `reims_verify::fuzz::migrations_folder` for what counts as a defect.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reims_verify::fuzz::migrations_folder(data));
