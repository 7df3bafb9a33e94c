#![no_main]
// The body is kmid_fuzzing::Target::ZkProof; tests/regression.rs runs it on stable.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kmid_fuzzing::Target::ZkProof.run(data));
