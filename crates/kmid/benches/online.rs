//! The online protocols' cryptographic operations against their raw floors (issue 22), in the
//! same run: a Request Object signed (by the `RequestObjectSigner` a relying party keeps, as
//! the verifier service's `VerifierAccess` does) and verified (HAIP 1.0 §5: ES256, `x5c`,
//! `x509_hash`), a
//! response encrypted and decrypted as `direct_post.jwt` (ECDH-ES, A256GCM, 45 KB: an SD-JWT VC
//! presentation with its portrait), and an mdoc response sealed and opened with HPKE (ISO/IEC
//! 18013-7 Annex C: DHKEM(P-256), HKDF-SHA256, AES-128-GCM, 27 KB). Target: each within 1.3×
//! its floor.
//!
//! The floors are the primitives each operation cannot avoid, through the provider's own
//! tables: signing is a SHA-256 of the signing input and one P-256 signature of the digest;
//! verifying, one P-256 verification over the signing input and the SHA-256 of the leaf
//! certificate (`x509_hash` binds the `client_id` to it; the chain is validated once and then
//! cached, as in a wallet); encryption, a P-256 key generation, ECDH from the peer's point and
//! AES-GCM over the plaintext; decryption, ECDH from the ephemeral point and AES-GCM open.
//!
//! Criterion times each operation and each floor on its own; the report also gives each
//! ratio measured in alternating batches of the two (`paired`), which this machine's drift
//! between two criterion runs does not move.
//!
//!     cargo bench -p kmid --bench online    # also target/criterion/kmid-online-report.md

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::as_conversions,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    missing_docs
)]

mod fixture;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::Criterion;
use fixture::micros;
use kmid::crypto::jwe::{ContentEncryption, HeaderParams, decrypt_ecdh_es, encrypt_ecdh_es};
use kmid::crypto::{CryptoProvider, Curve, HashAlgorithm, PrivateKey, PublicKey, Signer, hpke};
use kmid::oid4vc::jar::{
    RequestObjectSigner, WalletCheck, sign_request_object, verify_request_object,
};
use kmid::oid4vc::request::ResponseMode;
use kmid::{DcqlQuery, Format, Template, Verifier, VerifierAccess};
use kmid_testkit::TestPki;
use serde_json::json;

const JWE_BYTES: usize = 45_000;
const HPKE_BYTES: usize = 27_000;

/// An operation of the report: its name, its label, itself and its floor.
type Pair<'a> = (&'a str, &'a str, &'a dyn Fn(), &'a dyn Fn());

/// Rounds of [`paired`].
const PAIRED_ROUNDS: usize = 41;

/// An operation against its floor measured side by side, so that this machine's drift (its
/// speed moves by more than the targets' margins between criterion's runs of the two)
/// cancels: each round times a batch of the operation and a batch of the floor, one after
/// the other (which goes first alternates), of about 2 ms each; the ratio of a round is the
/// batch times' ratio. The median ratio over the rounds, and the rounds' quartiles.
/// `op_estimate` and `floor_estimate` (criterion's medians, seconds) size the batches.
fn paired(
    op: &dyn Fn(),
    floor: &dyn Fn(),
    op_estimate: f64,
    floor_estimate: f64,
) -> (f64, f64, f64) {
    let batch = |estimate: f64| ((0.002 / estimate.max(1e-7)) as usize).clamp(1, 10_000);
    let (op_batch, floor_batch) = (batch(op_estimate), batch(floor_estimate));
    let time = |f: &dyn Fn(), n: usize| {
        let started = std::time::Instant::now();
        for _ in 0..n {
            f();
        }
        started.elapsed().as_secs_f64() / n as f64
    };
    let mut ratios: Vec<f64> = (0..PAIRED_ROUNDS)
        .map(|round| {
            let (a, b) = if round % 2 == 0 {
                let a = time(op, op_batch);
                (a, time(floor, floor_batch))
            } else {
                let b = time(floor, floor_batch);
                (time(op, op_batch), b)
            };
            a / b
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.25), at(0.75))
}

fn configured(dir: &Path) -> Criterion {
    Criterion::default()
        .output_directory(dir)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args()
}

struct NoStatus;

impl kmid::schema::status::StatusResolver for NoStatus {
    fn resolve(
        &self,
        reference: &kmid::schema::status::StatusReference,
        _: &kmid::schema::status::StatusContext<'_>,
        _: time::OffsetDateTime,
    ) -> Result<kmid::schema::status::TokenStatus, kmid::schema::status::StatusError> {
        Err(kmid::schema::status::StatusError::Unavailable {
            uri: reference.uri.clone(),
            reason: kmid::schema::status::FetchFailure::NotAvailable,
        })
    }
}

fn main() {
    let since = SystemTime::now();
    let dir = fixture::criterion_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let mut c = configured(&dir);
    let provider = CryptoProvider::get_default();
    let pki = TestPki::new();
    let at = kmid_testkit::REFERENCE_TIME;

    // --- The Request Object --------------------------------------------------------------
    // The reader's key on the provider (the signer a relying party runs), not the test
    // kit's RFC 6979 one.
    let signer: Arc<dyn Signer> = Arc::new(kmid_testkit::test_key("reader"));
    let chain = vec![pki.reader.clone()];
    let access = VerifierAccess::x509_hash(provider, Arc::clone(&signer), chain.clone()).unwrap();
    let verifier = Verifier::new(kmid::crypto::x509::TrustStore::new(), Arc::new(NoStatus));
    let query: DcqlQuery =
        Template::AgeCheck.dcql_query(kmid::schema::CardType::Resident, Format::SdJwtVc);
    let online = verifier
        .request_online(
            &access,
            &query,
            ResponseMode::DirectPostJwt,
            "https://bank.kmid.invalid/openid4vp/response",
            false,
            at,
        )
        .unwrap();
    let authorization = online.authorization.clone();
    let object = sign_request_object(provider, &authorization, &signer, &chain).unwrap();
    let signing_input = object.rsplit_once('.').unwrap().0.to_owned();
    let trust = pki.reader_trust_store();
    let check = WalletCheck::new(&trust, at);
    verify_request_object(&object, &check).unwrap();
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let signature = key.sign(signing_input.as_bytes()).unwrap();
    let public = key.public_key().clone();
    let leaf = pki.reader.der().to_vec();

    let request_signer =
        RequestObjectSigner::new(provider, Arc::clone(&signer), chain.clone()).unwrap();
    let mut g = c.benchmark_group("online");
    let request_object_sign = || {
        black_box(
            request_signer
                .sign(provider, black_box(&authorization))
                .unwrap(),
        );
    };
    g.bench_function("request_object_sign", |b| b.iter(request_object_sign));
    let request_object_sign_floor = || {
        black_box({
            let digest = HashAlgorithm::Sha256
                .digest(black_box(signing_input.as_bytes()))
                .unwrap();
            key.sign_prehashed(&digest).unwrap()
        });
    };
    g.bench_function("request_object_sign_floor", |b| {
        b.iter(request_object_sign_floor)
    });
    let request_object_verify = || {
        black_box(verify_request_object(black_box(&object), &check).unwrap());
    };
    g.bench_function("request_object_verify", |b| b.iter(request_object_verify));
    let request_object_verify_floor = || {
        black_box({
            provider
                .signature_verifier
                .verify(
                    kmid::crypto::Algorithm::Es256,
                    &public,
                    black_box(signing_input.as_bytes()),
                    &signature,
                )
                .unwrap();
            HashAlgorithm::Sha256.digest(black_box(&leaf)).unwrap()
        });
    };
    g.bench_function("request_object_verify_floor", |b| {
        b.iter(request_object_verify_floor)
    });

    // --- direct_post.jwt -------------------------------------------------------------------
    let recipient = PrivateKey::generate(Curve::P256).unwrap();
    let recipient_point = recipient.public_key().to_sec1_uncompressed().unwrap();
    let plaintext = json!({ "vp_token": { "card": ["x".repeat(JWE_BYTES - 64)] }, "state": "s" })
        .to_string()
        .into_bytes();
    let params = HeaderParams {
        apu: Vec::new(),
        apv: Vec::new(),
        other: [("kid".to_owned(), json!("response-key"))]
            .into_iter()
            .collect(),
    };
    let random = kmid::crypto::SystemRandom;
    let jwe = encrypt_ecdh_es(
        provider,
        &random,
        recipient.public_key(),
        ContentEncryption::A256Gcm,
        &params,
        &plaintext,
    )
    .unwrap();
    let accepted = [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];
    let (gcm_key, iv) = ([7u8; 32], [1u8; 12]);
    let sealed_plain = provider
        .aead
        .aes_gcm_seal(&gcm_key, &iv, b"", &plaintext)
        .unwrap();
    let jwe_encrypt = || {
        black_box({
            encrypt_ecdh_es(
                provider,
                &random,
                recipient.public_key(),
                ContentEncryption::A256Gcm,
                &params,
                black_box(&plaintext),
            )
            .unwrap()
        });
    };
    g.bench_function("jwe_encrypt", |b| b.iter(jwe_encrypt));
    let jwe_encrypt_floor = || {
        black_box({
            let ephemeral = PrivateKey::generate(Curve::P256).unwrap();
            let peer = PublicKey::from_sec1(Curve::P256, &recipient_point).unwrap();
            black_box(provider.key_agreement.ecdh(&ephemeral, &peer).unwrap());
            provider
                .aead
                .aes_gcm_seal(&gcm_key, &iv, b"", black_box(&plaintext))
                .unwrap()
        });
    };
    g.bench_function("jwe_encrypt_floor", |b| b.iter(jwe_encrypt_floor));
    let jwe_decrypt = || {
        black_box({
            decrypt_ecdh_es(
                provider,
                black_box(&jwe),
                &recipient,
                Some("response-key"),
                &accepted,
            )
            .unwrap()
        });
    };
    g.bench_function("jwe_decrypt", |b| b.iter(jwe_decrypt));
    let ephemeral_point = PrivateKey::generate(Curve::P256)
        .unwrap()
        .public_key()
        .to_sec1_uncompressed()
        .unwrap();
    // Not a floor: what the compact serialization adds, its largest part decoded.
    let ciphertext_part = jwe.split('.').nth(3).unwrap_or_default().to_owned();
    let jwe_ciphertext_base64url_decode = || {
        black_box(kmid::crypto::jose::b64url_decode(black_box(&ciphertext_part)).unwrap());
    };
    g.bench_function("jwe_ciphertext_base64url_decode", |b| {
        b.iter(jwe_ciphertext_base64url_decode)
    });
    let jwe_decrypt_floor = || {
        black_box({
            let peer = PublicKey::from_sec1(Curve::P256, black_box(&ephemeral_point)).unwrap();
            black_box(provider.key_agreement.ecdh(&recipient, &peer).unwrap());
            provider
                .aead
                .aes_gcm_open(&gcm_key, &iv, b"", black_box(&sealed_plain))
                .unwrap()
        });
    };
    g.bench_function("jwe_decrypt_floor", |b| b.iter(jwe_decrypt_floor));

    // --- HPKE (Annex C) ----------------------------------------------------------------------
    let message = vec![0x5Au8; HPKE_BYTES];
    let info = b"kmid bench: the SessionTranscript's digest stands here";
    let sealed = hpke::seal(
        provider,
        &random,
        recipient.public_key(),
        info,
        b"",
        &message,
    )
    .unwrap();
    let (key16, iv12) = ([7u8; 16], [1u8; 12]);
    let sealed_128 = provider
        .aead
        .aes_gcm_seal(&key16, &iv12, b"", &message)
        .unwrap();
    let hpke_seal = || {
        black_box({
            hpke::seal(
                provider,
                &random,
                recipient.public_key(),
                info,
                b"",
                black_box(&message),
            )
            .unwrap()
        });
    };
    g.bench_function("hpke_seal", |b| b.iter(hpke_seal));
    let hpke_seal_floor = || {
        black_box({
            let ephemeral = PrivateKey::generate(Curve::P256).unwrap();
            let peer = PublicKey::from_sec1(Curve::P256, &recipient_point).unwrap();
            black_box(provider.key_agreement.ecdh(&ephemeral, &peer).unwrap());
            provider
                .aead
                .aes_gcm_seal(&key16, &iv12, b"", black_box(&message))
                .unwrap()
        });
    };
    g.bench_function("hpke_seal_floor", |b| b.iter(hpke_seal_floor));
    let hpke_open = || {
        black_box({
            hpke::open(
                provider,
                &recipient,
                black_box(&sealed.enc),
                info,
                b"",
                &sealed.ciphertext,
            )
            .unwrap()
        });
    };
    g.bench_function("hpke_open", |b| b.iter(hpke_open));
    let hpke_open_floor = || {
        black_box({
            let peer = PublicKey::from_sec1(Curve::P256, black_box(&sealed.enc)).unwrap();
            black_box(provider.key_agreement.ecdh(&recipient, &peer).unwrap());
            provider
                .aead
                .aes_gcm_open(&key16, &iv12, b"", black_box(&sealed_128))
                .unwrap()
        });
    };
    g.bench_function("hpke_open_floor", |b| b.iter(hpke_open_floor));
    g.finish();

    // --- The report ---------------------------------------------------------------------------
    let mut lines = vec![
        format!(
            "| operation | kmid | floor | ratio | paired ratio ({PAIRED_ROUNDS} alternating rounds) |"
        ),
        "|---|---:|---:|---:|---:|".to_owned(),
    ];
    let ops: [Pair<'_>; 6] = [
        (
            "request_object_sign",
            "Request Object, sign (ES256, x5c)",
            &request_object_sign,
            &request_object_sign_floor,
        ),
        (
            "request_object_verify",
            "Request Object, verify (wallet; chain cached)",
            &request_object_verify,
            &request_object_verify_floor,
        ),
        (
            "jwe_encrypt",
            "direct_post.jwt response, encrypt (45 KB)",
            &jwe_encrypt,
            &jwe_encrypt_floor,
        ),
        (
            "jwe_decrypt",
            "direct_post.jwt response, decrypt (45 KB)",
            &jwe_decrypt,
            &jwe_decrypt_floor,
        ),
        (
            "hpke_seal",
            "HPKE seal (Annex C, 27 KB)",
            &hpke_seal,
            &hpke_seal_floor,
        ),
        (
            "hpke_open",
            "HPKE open (Annex C, 27 KB)",
            &hpke_open,
            &hpke_open_floor,
        ),
    ];
    for (name, label, op_fn, floor_fn) in ops {
        let (Some(op), Some(floor)) = (
            fixture::median(&dir, "online", name, since),
            fixture::median(&dir, "online", &format!("{name}_floor"), since),
        ) else {
            continue;
        };
        let (ratio, low, high) = paired(op_fn, floor_fn, op, floor);
        lines.push(format!(
            "| {label} | {} | {} | {:.2}× | {ratio:.2}× ({low:.2}–{high:.2}) |",
            micros(op),
            micros(floor),
            op / floor
        ));
    }
    if let Some(decode) = fixture::median(&dir, "online", "jwe_ciphertext_base64url_decode", since)
    {
        lines.push(String::new());
        lines.push(format!(
            "Decoding the response's ciphertext from base64url alone (no floor counts it): {}.",
            micros(decode)
        ));
    }
    let report = lines.join("\n") + "\n";
    println!("\n{report}");
    let _ = std::fs::write(dir.join("kmid-online-report.md"), report);
}
