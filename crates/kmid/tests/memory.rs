//! Memory stays bounded on hostile input: for 1 MiB inputs built to make a verifier allocate
//! (deep nesting, huge item counts, huge strings, thousands of Disclosures, a ZLIB bomb), the
//! peak of the heap live during the call stays a small multiple of the input, and a status list
//! never inflates past the verifier's cap. Measured with dhat's allocator in testing mode: one
//! test, so no other thread allocates while a case is measured.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::indexing_slicing,
    clippy::as_conversions,
    clippy::cast_precision_loss
)]

mod common;

use std::sync::Arc;

use common::{AllValid, now};
use kmid::crypto::SystemRandom;
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::CardType;
use kmid::status::StatusList;
use kmid::status::token::{
    TokenClaims, TokenKeys, TokenPolicy, TokenSigner, sign_jwt, verify_token,
};
use kmid::{AuthorityKeys, IssuingAuthority, Template, Verifier};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const MIB: usize = 1024 * 1024;
/// Just under the SD-JWT input limit (1 MiB), so the inputs are parsed, not refused by size.
const SD: usize = 1_000_000;
/// The bound asserted: the peak heap during a call, as a multiple of the input (the worst
/// measured is 2x: a CWT's payload copy and its Sig_structure).
const MAX_RATIO: usize = 4;

/// The peak of heap bytes allocated during `f` and live at once, and the number of blocks.
fn peak_during(f: impl FnOnce()) -> (usize, u64) {
    let _profiler = dhat::Profiler::builder().testing().build();
    f();
    let stats = dhat::HeapStats::get();
    (stats.max_bytes, stats.total_blocks)
}

fn cbor_array_header(len: u32) -> Vec<u8> {
    let mut out = vec![0x9A];
    out.extend_from_slice(&len.to_be_bytes());
    out
}

#[test]
fn hostile_megabytes_cost_a_small_multiple_of_themselves() {
    let at = now();
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, at, &SystemRandom).unwrap();
    let trust = kmid::trust_store([&keys]).unwrap();
    let verifier = Verifier::new(trust.clone(), Arc::new(AllValid));
    let request = Template::AgeCheck.mdoc_request(CardType::Resident);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let sd_request = Template::AgeCheck.sd_jwt_request(CardType::Resident, "n", "aud");

    let mut mdoc_inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut nested = vec![0x81u8; MIB];
    nested.push(0);
    mdoc_inputs.push(("one million nested arrays", nested));
    let mut items = cbor_array_header(u32::try_from(MIB).unwrap());
    items.extend(std::iter::repeat_n(0u8, MIB));
    mdoc_inputs.push(("an array of one million integers", items));
    let mut maps = cbor_array_header(u32::try_from(MIB / 2).unwrap());
    maps.extend(std::iter::repeat_n([0xA0u8, 0x80], MIB / 2).flatten());
    mdoc_inputs.push(("half a million empty maps and arrays", maps));
    // {"version": "1.0", "documents": [h'00…' (1 MiB)], "status": 0}
    let mut big = vec![0xA3, 0x67];
    big.extend_from_slice(b"version\x631.0\x69documents\x81\x5A");
    big.extend_from_slice(&u32::try_from(MIB).unwrap().to_be_bytes());
    big.extend(std::iter::repeat_n(0u8, MIB));
    big.extend_from_slice(b"\x66status\x00");
    mdoc_inputs.push(("a document of one 1 MiB byte string", big));

    let mut sd_inputs: Vec<(&str, String)> = Vec::new();
    let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJ2Y3QiOiJ4In0.AAAA";
    sd_inputs.push(("one million tildes", format!("{jwt}{}", "~".repeat(SD))));
    sd_inputs.push((
        "62,500 tiny Disclosures",
        format!("{jwt}~{}", "WyJhIiwiYiIsMV0~".repeat(SD / 16)),
    ));
    sd_inputs.push(("one 1 MiB Disclosure", format!("{jwt}~{}~", "A".repeat(SD))));
    sd_inputs.push((
        "a 1 MiB issuer-signed JWT payload",
        format!("eyJhbGciOiJFUzI1NiJ9.{}.AAAA~", "e".repeat(SD)),
    ));
    let general = format!(
        "{{\"payload\":\"eyJ2Y3QiOiJ4In0\",\"signatures\":[{{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"signature\":\"AAAA\",\"header\":{{\"disclosures\":[{}]}}}}]}}",
        vec!["\"WyJhIiwiYiIsMV0\""; SD / 20].join(",")
    );
    sd_inputs.push(("JSON serialization with 50,000 Disclosures", general));

    let mut worst = 0f64;
    for (what, input) in &mdoc_inputs {
        let (peak, blocks) = peak_during(|| {
            verifier
                .verify_mdoc(&request, input, &transcript, at)
                .unwrap_err();
        });
        let ratio = peak as f64 / input.len() as f64;
        eprintln!(
            "mdoc {what}: {} bytes in, peak {peak} bytes ({ratio:.2}x), {blocks} blocks",
            input.len()
        );
        worst = worst.max(ratio);
        assert!(
            peak <= MAX_RATIO * input.len(),
            "mdoc {what}: peak {peak} for {} bytes",
            input.len()
        );
    }
    for (what, input) in &sd_inputs {
        let (peak, blocks) = peak_during(|| {
            verifier.verify_sd_jwt(&sd_request, input, at).unwrap_err();
        });
        let ratio = peak as f64 / input.len() as f64;
        eprintln!(
            "SD-JWT {what}: {} bytes in, peak {peak} bytes ({ratio:.2}x), {blocks} blocks",
            input.len()
        );
        worst = worst.max(ratio);
        assert!(
            peak <= MAX_RATIO * input.len(),
            "SD-JWT {what}: peak {peak} for {} bytes",
            input.len()
        );
    }
    // VP Tokens of 16 MiB, read by the facade's bounded reader (the CLI's `verify` reads them
    // so): arrays of tiny items, many ids, one huge presentation.
    let big = 16 * MIB - 64;
    let vp_inputs: [(&str, String); 4] = [
        (
            "16 MiB of empty presentations",
            format!("{{\"a\":[{}\"\"]}}", "\"\",".repeat(big / 3)),
        ),
        (
            "16 MiB of nested tiny arrays",
            format!("{{\"a\":[{}]}}", "[0],".repeat(big / 4) + "[0]"),
        ),
        (
            "16 MiB of credential ids",
            format!(
                "{{{}\"z\":[\"\"]}}",
                (0..big / 16)
                    .map(|i| format!("\"{i:07}\":[\"\"],"))
                    .collect::<String>()
            ),
        ),
        (
            "one 16 MiB presentation",
            format!("{{\"a\":[\"{}\"]}}", "A".repeat(big)),
        ),
    ];
    for (what, input) in &vp_inputs {
        let (peak, blocks) = peak_during(|| {
            let parsed = kmid::parse_vp_token(input.as_bytes());
            if what.starts_with("one") {
                assert!(parsed.is_ok(), "{what}");
            } else {
                assert_eq!(
                    parsed.map(drop).map_err(|e| e.code()),
                    Err("VpTokenMismatch"),
                    "{what}"
                );
            }
        });
        let ratio = peak as f64 / input.len() as f64;
        eprintln!(
            "VP Token {what}: {} bytes in, peak {peak} bytes ({ratio:.2}x), {blocks} blocks",
            input.len()
        );
        worst = worst.max(ratio);
        assert!(
            peak <= 2 * input.len() + MIB,
            "VP Token {what}: peak {peak}"
        );
    }
    eprintln!("worst ratio: {worst:.2}x");

    // Status List Tokens of 16 MiB and an SD-JWT of 1 MiB whose unsigned parts are built to
    // expand (long arrays of tiny items in a header or the payload): each is refused with its
    // exact error, under 4x its size + 1 MiB of heap.
    let token_uri = "https://status.kmid.invalid/mois/lists/9";
    let b64 = |b: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    };
    let x5c = keys.document_signer.to_x5c_entry();
    let tiny_array = |bytes: usize| format!("[{}0]", "0,".repeat(bytes / 2));
    let big = 16 * MIB;
    let mut token_inputs: Vec<(&str, Vec<u8>, kmid::status::StatusListError)> = Vec::new();
    let header = format!(
        r#"{{"alg":"ES256","typ":"statuslist+jwt","pad":{}}}"#,
        tiny_array(big * 3 / 4 - 64)
    );
    token_inputs.push((
        "JWT, a 12 MiB header array",
        format!("{}.e30.AAAA", b64(header.as_bytes())).into_bytes(),
        kmid::status::StatusListError::Malformed("not a compact JWS"),
    ));
    let header = format!(r#"{{"alg":"ES256","typ":"statuslist+jwt","x5c":["{x5c}"]}}"#);
    let payload = format!(
        r#"{{"sub":"{token_uri}","pad":{}}}"#,
        tiny_array(big * 3 / 4 - 256)
    );
    token_inputs.push((
        "JWT, a 12 MiB payload array, not signed",
        format!(
            "{}.{}.{}",
            b64(header.as_bytes()),
            b64(payload.as_bytes()),
            b64(&[7; 64])
        )
        .into_bytes(),
        kmid::status::StatusListError::BadSignature,
    ));
    // CWT: tag 18, [h'A2 01 26 10 "application/statuslist+cwt"', {33: ds, "pad": [0 × n]}, …]
    let ds = keys.document_signer.der();
    let mut protected = vec![0xA2, 0x01, 0x26, 0x10, 0x78, 0x1A];
    protected.extend_from_slice(b"application/statuslist+cwt");
    let cwt = |unprotected_pad: usize, payload: &[u8]| {
        let mut e = kmid_cbor::Encoder::with_capacity(big + 1024);
        e.tag(18).array(4).bytes(&protected);
        e.map(if unprotected_pad > 0 { 2 } else { 1 })
            .uint(33)
            .bytes(ds);
        if unprotected_pad > 0 {
            e.text("pad").array(unprotected_pad);
            for _ in 0..unprotected_pad {
                e.uint(0);
            }
        }
        e.bytes(payload).bytes(&[7; 64]);
        e.finish()
    };
    token_inputs.push((
        "CWT, 16 million one-byte items in the unprotected header",
        cwt(big - 2048, b"\xA0"),
        kmid::status::StatusListError::Malformed("not a COSE_Sign1_Tagged"),
    ));
    let mut claims = kmid_cbor::Encoder::with_capacity(big);
    let n = big - 4096;
    claims.map(1).text("pad").array(n);
    for _ in 0..n {
        claims.uint(0);
    }
    token_inputs.push((
        "CWT, a payload of 16 million one-byte items, not signed",
        cwt(0, &claims.finish()),
        kmid::status::StatusListError::BadSignature,
    ));
    for (what, input, expected) in &token_inputs {
        let (peak, blocks) = peak_during(|| {
            let err = verify_token(
                input,
                token_uri,
                at,
                &TokenKeys::X5c(trust.clone()),
                &TokenPolicy {
                    max_token_bytes: 32 * MIB,
                    ..TokenPolicy::default()
                },
            )
            .unwrap_err();
            assert_eq!(&err, expected, "{what}");
        });
        eprintln!(
            "status token {what}: {} bytes in, peak {peak} bytes ({:.2}x), {blocks} blocks",
            input.len(),
            peak as f64 / input.len() as f64
        );
        assert!(peak <= 4 * input.len() + MIB, "{what}: peak {peak}");
    }
    let header = format!(r#"{{"alg":"ES256","typ":"dc+sd-jwt","x5c":["{x5c}"]}}"#);
    let payload = format!(
        r#"{{"iss":"https://mois.example","vct":"kr.go.mois.rrc.1","pad":{}}}"#,
        tiny_array(SD * 3 / 4 - 256)
    );
    let sd_jwt = format!(
        "{}.{}.{}~",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(&[7; 64])
    );
    let (peak, blocks) = peak_during(|| {
        assert_eq!(
            verifier
                .verify_sd_jwt(&sd_request, &sd_jwt, at)
                .unwrap_err()
                .code(),
            "SdJwt.BadIssuerSignature"
        );
    });
    eprintln!(
        "SD-JWT, a 750 KB payload array, not signed: {} bytes in, peak {peak} bytes ({:.2}x), {blocks} blocks",
        sd_jwt.len(),
        peak as f64 / sd_jwt.len() as f64
    );
    assert!(
        peak <= 4 * sd_jwt.len() + MIB,
        "SD-JWT payload array: peak {peak}"
    );

    // A ZLIB bomb signed by a trusted issuer: 40 MiB of list behind a small token. The list
    // inflates no further than the policy's cap (32 MiB by default; here 4 MiB).
    let uri = "https://status.kmid.invalid/mois/lists/1";
    let bomb = StatusList::new(1, 40 * 8 * MIB as u64).unwrap();
    let chain = [keys.document_signer.clone()];
    let token = sign_jwt(
        &bomb,
        &TokenClaims {
            sub: uri.into(),
            iat: at.unix_timestamp(),
            exp: Some(at.unix_timestamp() + 3600),
            ttl: None,
        },
        &TokenSigner {
            signer: &keys.signer,
            chain: &chain,
            kid: None,
            provider: kmid::crypto::CryptoProvider::get_default(),
        },
    )
    .unwrap();
    drop(bomb);
    let policy = TokenPolicy {
        max_decompressed: 4 * MIB,
        ..TokenPolicy::default()
    };
    let (peak, _) = peak_during(|| {
        verify_token(
            token.as_bytes(),
            uri,
            at,
            &TokenKeys::X5c(trust.clone()),
            &policy,
        )
        .unwrap_err();
    });
    eprintln!(
        "ZLIB bomb: {} bytes in, cap {} bytes, peak {peak} bytes",
        token.len(),
        4 * MIB
    );
    // The cap, plus the token's own decoding and the inflater's state (measured: 1.3 MB).
    assert!(peak <= 4 * MIB + 2 * MIB, "bomb peak {peak}");
}
