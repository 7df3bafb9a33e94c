#![no_main]
// Any bytes as card JSON: a card that deserializes serializes and deserializes to itself.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(card) = serde_json::from_slice::<kmid_schema::Card>(data) {
        let json = serde_json::to_vec(&card).expect("a valid card serializes");
        assert_eq!(serde_json::from_slice::<kmid_schema::Card>(&json).ok(), Some(card));
    }
});
