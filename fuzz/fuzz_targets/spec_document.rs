//! Fuzz target: see `reims_verify::fuzz::spec_document` for what counts as a defect.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reims_verify::fuzz::spec_document(data));
