#![no_main]
// Any text: parse never panics, and what parses re-parses from its exposed form to itself.
libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(n) = kmid_schema::RegistrationNumber::parse(text) {
        assert_eq!(kmid_schema::RegistrationNumber::parse(&n.expose()).ok(), Some(n));
    }
});
