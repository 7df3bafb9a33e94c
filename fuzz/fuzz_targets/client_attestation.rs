#![no_main]
// The body is kmid_fuzzing::Target::ClientAttestation; tests/regression.rs runs it on stable.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kmid_fuzzing::Target::ClientAttestation.run(data));
