//! The bodies of kmid's fuzz targets, and their seed corpora.
//!
//! Each [`Target`] is one entry point where kmid reads bytes it did not make: a verifier's
//! DeviceResponse or VP Token, a wallet's DeviceRequest, a status list token, a certificate
//! chain, a key. The same body runs in two places:
//!
//! - `fuzz/` (cargo-fuzz, libFuzzer) calls [`Target::run`] from one small target per entry
//!   point, for coverage-guided campaigns (`fuzz/run.sh`);
//! - `tests/regression.rs` runs every body on stable Rust over the seeds ([`seeds`]), the saved
//!   crashers in `fuzz/regressions/<target>/`, any local `fuzz/corpus/<target>/`, and
//!   deterministic mutations of the seeds, so CI catches a regression without nightly.
//!
//! A body may return errors freely — refusing input is the point — but it must never panic,
//! hang or allocate without bound. Round-trip bodies also check that what decodes re-encodes
//! to a fixed point, and panic when it does not: a panic is what the fuzzer reports.

#![allow(
    clippy::panic,
    clippy::expect_used,
    reason = "a fuzz body reports a broken invariant by panicking; that is what the fuzzer looks for"
)]

mod context;
mod online_world;
mod seeds;
mod trust_world;
mod vci_world;
mod zk_world;

pub use seeds::{frame_chain, mutants, seeds};

use kmid::crypto::x509::{Certificate, KeyPurpose};
use kmid::crypto::{Algorithm, DefaultVerifier, Jwk, PrivateKey, PublicKey};
use kmid::mdoc::CborLimits;
use kmid::mdoc::model::{DeviceEngagement, DeviceRequest, DeviceResponse, IssuerSigned};
use kmid::mdoc::reader::verify_reader_auth;
use kmid::mdoc::session::{Role, Session, SessionData, SessionEstablishment};
use kmid::schema::{Card, RegistrationNumber};
use kmid::sdjwt::{SdJwt, SdJwtLimits};
use kmid::status::StatusList;
use kmid::status::token::verify_token;

/// One fuzz target: an entry point for untrusted bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Target {
    /// A verifier's mdoc DeviceResponse: decode and verify it in full (chain, signatures,
    /// digests, validity, device authentication, status) against a fixed request.
    MdocDeviceResponse,
    /// A DeviceRequest: decode it, check each readerAuth, and let a wallet answer it.
    MdocDeviceRequest,
    /// IssuerSigned, as an issuer hands it to a wallet: decode, store in a wallet.
    MdocIssuerSigned,
    /// SessionEstablishment and SessionData: decode and decrypt with the Annex D session keys.
    MdocSession,
    /// DeviceEngagement, as CBOR and as the `mdoc:` QR string.
    MdocEngagement,
    /// decode → encode → decode of every mdoc structure is a fixed point.
    MdocRoundTrip,
    /// An SD-JWT, compact or JSON serialization, and each of its Disclosures.
    SdJwtParse,
    /// An SD-JWT VC presentation verified in full (key binding required).
    SdJwtVcVerify,
    /// A KB-JWT after a fixed, valid SD-JWT: the key binding checks.
    KbJwtVerify,
    /// parse → serialize → parse of an SD-JWT (compact and JSON) is a fixed point.
    SdJwtRoundTrip,
    /// A Status List Token, JWT or CWT: verify, decode and decompress.
    StatusListToken,
    /// A compressed status list: inflate (capped), and compress → inflate gives it back.
    StatusListRoundTrip,
    /// A key as COSE_Key, SPKI DER, PKCS#8 DER or JWK.
    KeyImport,
    /// An x5chain (certificates, each after a 2-byte length) validated to the test roots.
    X5Chain,
    /// A resident registration number as text.
    RegistrationNumber,
    /// A card as JSON: what deserializes serializes back to itself.
    CardJson,
    /// A CRL (DER): parsed, checked against its issuer, and used in chain validation with a
    /// hard-fail revocation policy.
    Crl,
    /// A VICAL (COSE_Sign1): verified against the VICAL provider's root, its IACAs added to a
    /// trust store.
    Vical,
    /// A trust configuration, TOML or JSON: what parses writes back to itself (its files are
    /// not read: paths in it are the operator's).
    TrustConfig,
    /// JWT VC Issuer Metadata as fetched: resolved to an issuer key, by `kid` and without.
    IssuerMetadata,
    /// An OpenID4VP Request Object, verified by a wallet (chain, prefix binding, `aud`,
    /// `wallet_nonce`, expiry, transaction data).
    Oid4vpRequestObject,
    /// An OpenID4VP request URL (by value or by reference) and a `request_uri` POST body.
    Oid4vpRequestUrl,
    /// A body POSTed to a `response_uri` (`direct_post` or `direct_post.jwt`), decrypted with
    /// the request's key.
    Oid4vpResponse,
    /// A registration attestation (the registration number's legal basis), verified.
    RegistrationAttestation,
    /// A DC API request (`{"protocol", "data"}`: unsigned, signed or multi-signed), verified
    /// for an Origin; and a DC API response's `data` taken by a transaction.
    DcApi,
    /// ISO/IEC 18013-7 Annex C: an `encryptionInfo`, and a sealed DeviceResponse (bare or in
    /// the response `data`) opened with the verifier's key and decoded.
    AnnexC,
    /// A Credential Offer URL (round trip) and offer object.
    VciOffer,
    /// Credential Issuer Metadata (plain and signed) and Authorization Server Metadata.
    VciMetadata,
    /// A DPoP proof, at the token endpoint and at a resource with its access token.
    DpopProof,
    /// Key proofs: a `proofs` object, a `jwt` proof, a key attestation.
    VciProofs,
    /// A wallet attestation and its PoP (two lines).
    ClientAttestation,
    /// Endpoint bodies: token, PAR, credential and notification requests to a seeded issuer.
    VciEndpoints,
    /// A Longfellow circuit (decompressed, over either field, and as a zstd frame): what reads
    /// writes back to the bytes it read.
    ZkCircuit,
    /// A Longfellow mdoc proof, read against the published v7 one-attribute bundle.
    ZkProof,
}

impl Target {
    /// Every target.
    pub const ALL: [Self; 34] = [
        Self::MdocDeviceResponse,
        Self::MdocDeviceRequest,
        Self::MdocIssuerSigned,
        Self::MdocSession,
        Self::MdocEngagement,
        Self::MdocRoundTrip,
        Self::SdJwtParse,
        Self::SdJwtVcVerify,
        Self::KbJwtVerify,
        Self::SdJwtRoundTrip,
        Self::StatusListToken,
        Self::StatusListRoundTrip,
        Self::KeyImport,
        Self::X5Chain,
        Self::RegistrationNumber,
        Self::CardJson,
        Self::Crl,
        Self::Vical,
        Self::TrustConfig,
        Self::IssuerMetadata,
        Self::Oid4vpRequestObject,
        Self::Oid4vpRequestUrl,
        Self::Oid4vpResponse,
        Self::RegistrationAttestation,
        Self::DcApi,
        Self::AnnexC,
        Self::VciOffer,
        Self::VciMetadata,
        Self::DpopProof,
        Self::VciProofs,
        Self::ClientAttestation,
        Self::VciEndpoints,
        Self::ZkCircuit,
        Self::ZkProof,
    ];

    /// The target's name: its cargo-fuzz binary and its corpus folder.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::MdocDeviceResponse => "mdoc_device_response",
            Self::MdocDeviceRequest => "mdoc_device_request",
            Self::MdocIssuerSigned => "mdoc_issuer_signed",
            Self::MdocSession => "mdoc_session",
            Self::MdocEngagement => "mdoc_engagement",
            Self::MdocRoundTrip => "mdoc_round_trip",
            Self::SdJwtParse => "sd_jwt_parse",
            Self::SdJwtVcVerify => "sd_jwt_vc_verify",
            Self::KbJwtVerify => "kb_jwt_verify",
            Self::SdJwtRoundTrip => "sd_jwt_round_trip",
            Self::StatusListToken => "status_list_token",
            Self::StatusListRoundTrip => "status_list_round_trip",
            Self::KeyImport => "key_import",
            Self::X5Chain => "x5chain",
            Self::RegistrationNumber => "registration_number",
            Self::CardJson => "card_json",
            Self::Crl => "crl",
            Self::Vical => "vical",
            Self::TrustConfig => "trust_config",
            Self::IssuerMetadata => "issuer_metadata",
            Self::Oid4vpRequestObject => "oid4vp_request_object",
            Self::Oid4vpRequestUrl => "oid4vp_request_url",
            Self::Oid4vpResponse => "oid4vp_response",
            Self::RegistrationAttestation => "registration_attestation",
            Self::DcApi => "dc_api",
            Self::AnnexC => "annex_c",
            Self::VciOffer => "vci_offer",
            Self::VciMetadata => "vci_metadata",
            Self::DpopProof => "dpop_proof",
            Self::VciProofs => "vci_proofs",
            Self::ClientAttestation => "client_attestation",
            Self::VciEndpoints => "vci_endpoints",
            Self::ZkCircuit => "zk_circuit",
            Self::ZkProof => "zk_proof",
        }
    }

    /// The target called `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Runs the target's body on `data`.
    ///
    /// # Panics
    /// Only when an invariant of kmid is broken: that is a finding.
    pub fn run(self, data: &[u8]) {
        match self {
            Self::MdocDeviceResponse => mdoc_device_response(data),
            Self::MdocDeviceRequest => mdoc_device_request(data),
            Self::MdocIssuerSigned => mdoc_issuer_signed(data),
            Self::MdocSession => mdoc_session(data),
            Self::MdocEngagement => mdoc_engagement(data),
            Self::MdocRoundTrip => mdoc_round_trip(data),
            Self::SdJwtParse => text(data, sd_jwt_parse),
            Self::SdJwtVcVerify => text(data, sd_jwt_vc_verify),
            Self::KbJwtVerify => text(data, kb_jwt_verify),
            Self::SdJwtRoundTrip => text(data, sd_jwt_round_trip),
            Self::StatusListToken => status_list_token(data),
            Self::StatusListRoundTrip => status_list_round_trip(data),
            Self::KeyImport => key_import(data),
            Self::X5Chain => x5chain(data),
            Self::RegistrationNumber => text(data, registration_number),
            Self::CardJson => card_json(data),
            Self::Crl => crl(data),
            Self::Vical => vical(data),
            Self::TrustConfig => text(data, trust_config),
            Self::IssuerMetadata => issuer_metadata(data),
            Self::Oid4vpRequestObject => text(data, oid4vp_request_object),
            Self::Oid4vpRequestUrl => oid4vp_request_url(data),
            Self::Oid4vpResponse => oid4vp_response(data),
            Self::RegistrationAttestation => text(data, registration_attestation),
            Self::DcApi => dc_api(data),
            Self::AnnexC => annex_c(data),
            Self::VciOffer => vci_offer(data),
            Self::VciMetadata => vci_metadata(data),
            Self::DpopProof => text(data, dpop_proof),
            Self::VciProofs => vci_proofs(data),
            Self::ClientAttestation => text(data, client_attestation),
            Self::VciEndpoints => vci_endpoints(data),
            Self::ZkCircuit => zk_circuit(data),
            Self::ZkProof => zk_proof(data),
        }
    }
}

fn text(data: &[u8], body: fn(&str)) {
    if let Ok(text) = core::str::from_utf8(data) {
        body(text);
    }
}

fn mdoc_device_response(data: &[u8]) {
    let ctx = context::get();
    let _ = ctx
        .verifier
        .verify_mdoc(&ctx.mdoc_request, data, &ctx.mdoc_transcript, ctx.at);
}

fn mdoc_device_request(data: &[u8]) {
    let ctx = context::get();
    let Ok(request) = DeviceRequest::from_bytes(data, &CborLimits::default()) else {
        return;
    };
    for doc in &request.doc_requests {
        if doc.reader_auth.is_some() {
            let _ = verify_reader_auth(
                doc,
                &ctx.annex_transcript,
                &ctx.reader_trust,
                ctx.annex_at,
                &Algorithm::ALL,
                &DefaultVerifier,
            );
        }
    }
    let _ = ctx
        .wallet
        .respond_mdoc(&request, &ctx.mdoc_transcript, ctx.at);
}

fn mdoc_issuer_signed(data: &[u8]) {
    let ctx = context::get();
    if let Ok(issuer_signed) = IssuerSigned::from_bytes(data, &CborLimits::default()) {
        let mut wallet = ctx.empty_wallet();
        let _ = wallet.store_mdoc(issuer_signed, ctx.at);
    }
}

fn mdoc_session(data: &[u8]) {
    let ctx = context::get();
    let limits = CborLimits::default();
    if let Ok(establishment) = SessionEstablishment::from_bytes(data, &limits)
        && let Ok(mut mdoc) = Session::with_transcript(
            kmid::crypto::CryptoProvider::get_default(),
            Role::Mdoc,
            &ctx.e_device,
            &establishment.e_reader_key,
            ctx.annex_transcript.clone(),
        )
        && let Ok(plain) = mdoc.decrypt(&establishment.data)
    {
        let _ = DeviceRequest::from_bytes(&plain, &limits);
    }
    if let Ok(message) = SessionData::from_bytes(data, &limits)
        && let Ok(mut reader) = Session::with_transcript(
            kmid::crypto::CryptoProvider::get_default(),
            Role::Reader,
            &ctx.e_reader,
            &ctx.e_device_public,
            ctx.annex_transcript.clone(),
        )
        && let Ok(Some(plain)) = reader.open(&message)
    {
        let _ = DeviceResponse::from_bytes(&plain, &limits);
    }
}

fn mdoc_engagement(data: &[u8]) {
    let limits = CborLimits::default();
    if let Ok(engagement) = DeviceEngagement::from_bytes(data, &limits) {
        let again = DeviceEngagement::from_qr_uri(&engagement.to_qr_uri(), &limits)
            .expect("a DeviceEngagement read from bytes reads back from its QR string");
        assert_eq!(again, engagement, "QR string round trip");
    }
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = DeviceEngagement::from_qr_uri(text, &limits);
    }
}

/// `encode(decode(x))` decodes, and encoding that again gives the same bytes. The second
/// decode runs with wide limits: a re-encoding may legitimately hold more items (one
/// `documentErrors` map of N entries is written as N one-entry maps).
fn fixed_point<T>(
    data: &[u8],
    decode: impl Fn(&[u8], &CborLimits) -> Result<T, kmid::mdoc::MdocError>,
    encode: impl Fn(&T) -> Vec<u8>,
    what: &str,
) {
    let wide = CborLimits {
        max_input_bytes: usize::MAX,
        max_depth: 64,
        max_items: usize::MAX,
    };
    if let Ok(first) = decode(data, &CborLimits::default()) {
        let once = encode(&first);
        let second = decode(&once, &wide)
            .unwrap_or_else(|e| panic!("{what}: its own encoding does not decode: {e}"));
        assert_eq!(
            encode(&second),
            once,
            "{what}: encoding is not a fixed point"
        );
    }
}

fn mdoc_round_trip(data: &[u8]) {
    fixed_point(
        data,
        DeviceResponse::from_bytes,
        DeviceResponse::to_bytes,
        "DeviceResponse",
    );
    fixed_point(
        data,
        DeviceRequest::from_bytes,
        DeviceRequest::to_bytes,
        "DeviceRequest",
    );
    fixed_point(
        data,
        IssuerSigned::from_bytes,
        IssuerSigned::to_bytes,
        "IssuerSigned",
    );
    fixed_point(
        data,
        DeviceEngagement::from_bytes,
        |e| e.raw().to_vec(),
        "DeviceEngagement",
    );
}

fn sd_jwt_parse(text: &str) {
    let limits = SdJwtLimits::default();
    let _ = SdJwt::parse_compact(text, &limits);
    if let Ok(sd_jwt) = SdJwt::parse_json(text, &limits) {
        for (index, disclosure) in sd_jwt.disclosures.iter().enumerate() {
            let _ = kmid::sdjwt::Disclosure::parse(disclosure, index);
        }
    }
    if let Ok(sd_jwt) = SdJwt::parse(text, &limits) {
        for (index, disclosure) in sd_jwt.disclosures.iter().enumerate() {
            if let Ok(d) = kmid::sdjwt::Disclosure::parse(disclosure, index) {
                let _ = d.digest(
                    kmid::crypto::CryptoProvider::get_default(),
                    kmid::crypto::HashAlgorithm::Sha256,
                );
            }
        }
    }
}

fn sd_jwt_vc_verify(text: &str) {
    let ctx = context::get();
    let _ = ctx
        .verifier
        .verify_sd_jwt(&ctx.sd_jwt_request, text, ctx.at);
}

fn kb_jwt_verify(text: &str) {
    let ctx = context::get();
    let presentation = format!("{}{text}", ctx.sd_jwt_without_kb);
    let _ = ctx
        .verifier
        .verify_sd_jwt(&ctx.sd_jwt_request, &presentation, ctx.at);
}

fn sd_jwt_round_trip(text: &str) {
    let limits = SdJwtLimits::default();
    if let Ok(sd_jwt) = SdJwt::parse(text, &limits) {
        let compact = SdJwt::parse_compact(&sd_jwt.to_compact(), &limits)
            .expect("a parsed SD-JWT's compact serialization parses");
        assert_eq!(compact, sd_jwt, "compact round trip");
        let flattened = SdJwt::parse_json(&sd_jwt.to_flattened_json(), &limits)
            .expect("a parsed SD-JWT's flattened JSON serialization parses");
        assert_eq!(flattened, sd_jwt, "flattened JSON round trip");
        let general = SdJwt::parse_json(&sd_jwt.to_general_json(), &limits)
            .expect("a parsed SD-JWT's general JSON serialization parses");
        assert_eq!(general, sd_jwt, "general JSON round trip");
    }
}

fn status_list_token(data: &[u8]) {
    let ctx = context::get();
    let _ = verify_token(
        data,
        &ctx.status_uri,
        ctx.at,
        &ctx.status_keys,
        &ctx.status_policy,
    );
}

/// The first byte picks the entry size (1, 2, 4 or 8 bits); the rest is the ZLIB stream.
fn status_list_round_trip(data: &[u8]) {
    let Some((&first, lst)) = data.split_first() else {
        return;
    };
    let bits = 1u64 << (first & 3);
    let cap = 1 << 20;
    if let Ok(list) = StatusList::decompress(bits, lst, cap) {
        let again = StatusList::decompress(bits, &list.compress().expect("compresses"), cap)
            .expect("a list inflates from its own compression");
        assert_eq!(again, list, "status list round trip");
    }
}

fn key_import(data: &[u8]) {
    if let Ok(key) = PublicKey::from_cose_key_bytes(data) {
        let bytes = key.to_cose_key_bytes().expect("an imported key encodes");
        let again = PublicKey::from_cose_key_bytes(&bytes).expect("its encoding imports");
        assert_eq!(again, key, "COSE_Key round trip");
    }
    let _ = PublicKey::from_spki_der(data);
    let _ = PrivateKey::from_pkcs8_der(data);
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(jwk) = Jwk::from_json(text)
    {
        if let Ok(key) = jwk.to_public_key() {
            assert_eq!(
                key.to_jwk().to_public_key().ok(),
                Some(key),
                "JWK round trip"
            );
        }
        let _ = jwk.to_cose_key();
        let _ = jwk.thumbprint_sha256();
    }
}

/// Splits `data` into certificates, each preceded by its length as two big-endian bytes.
fn split_chain(mut data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let (part, tail) = rest.split_at(len);
        parts.push(part);
        data = tail;
    }
    parts
}

fn x5chain(data: &[u8]) {
    let ctx = context::get();
    let chain: Result<Vec<Certificate>, _> = split_chain(data)
        .into_iter()
        .map(Certificate::from_der)
        .collect();
    if let Ok(chain) = chain {
        let _ = ctx
            .issuer_trust
            .validate(&chain, ctx.at, KeyPurpose::DocumentSigner);
        let _ = ctx
            .reader_trust
            .validate(&chain, ctx.annex_at, KeyPurpose::ReaderAuthentication);
    }
}

fn registration_number(text: &str) {
    if let Ok(number) = RegistrationNumber::parse(text) {
        assert_eq!(
            RegistrationNumber::parse(&number.expose()).ok(),
            Some(number),
            "registration number round trip"
        );
    }
}

fn card_json(data: &[u8]) {
    if let Ok(card) = serde_json::from_slice::<Card>(data) {
        // Whatever deserializes maps onto the claim catalogue without a panic.
        let _ = kmid::sdjwt::vc::card_claims(&card, context::get().at.date());
        let json = serde_json::to_vec(&card).expect("a card serializes");
        assert_eq!(
            serde_json::from_slice::<Card>(&json).ok(),
            Some(card),
            "card JSON round trip"
        );
    }
}

fn crl(data: &[u8]) {
    use kmid::crypto::x509::{Crl, RevocationPolicy};
    let world = trust_world::get();
    if let Ok(crl) = Crl::from_der(data) {
        let _ = crl.verify(&world.crl_issuer, &DefaultVerifier);
        let _ = crl.revokes(&world.ds);
        let _ = crl.current_at(world.at.unix_timestamp());
    }
    // The same bytes as the CRL every certificate of a chain points at.
    let bytes = data.to_vec();
    let store = world.roots.clone().with_revocation(
        std::sync::Arc::new(move |_: &str| Some(bytes.clone())),
        RevocationPolicy::HardFail,
    );
    let _ = store.validate(
        std::slice::from_ref(&world.ds),
        world.at,
        KeyPurpose::DocumentSigner,
    );
}

fn zk_circuit(data: &[u8]) {
    use kmid_zk::circuit::Circuit;
    use kmid_zk::field::{Fp256, Gf2_128};
    fn both(data: &[u8]) {
        if let Ok((c, used)) = Circuit::<Fp256>::read(data) {
            let written = c.write().expect("what was read can be written");
            assert_eq!(
                Some(written.as_slice()),
                data.get(..used),
                "re-encoded circuit differs"
            );
        }
        if let Ok((c, used)) = Circuit::<Gf2_128>::read(data) {
            let written = c.write().expect("what was read can be written");
            assert_eq!(
                Some(written.as_slice()),
                data.get(..used),
                "re-encoded circuit differs"
            );
        }
    }
    both(data);
    // As a compressed file: at most 1 MiB out, so one input cannot cost more.
    if let Ok(raw) = kmid_zk::mdoc::decompress(data, 1 << 20) {
        both(&raw);
    }
}

fn zk_proof(data: &[u8]) {
    // Reading is the parser under test. Verifying costs ~0.4 s a proof, so only one in 16 of
    // the proofs that read (chosen by their bytes, so a run is repeatable) is verified too.
    let world = zk_world::get();
    if let Ok(proof) = world.verifier.read_proof(data)
        && data.iter().take(64).fold(0u8, |a, &b| a.wrapping_add(b)) % 16 == 0
    {
        let attributes = world.attributes();
        let _ = world.verifier.verify_proof(
            kmid::crypto::CryptoProvider::get_default(),
            &world.statement(&attributes),
            &proof,
        );
    }
}

fn vical(data: &[u8]) {
    let world = trust_world::get();
    if let Ok(list) = kmid::mdoc::vical::Vical::verify(
        data,
        &world.vical_anchors,
        world.at,
        kmid::crypto::CryptoProvider::get_default(),
    ) {
        let mut store = kmid::crypto::x509::TrustStore::new();
        let _ = list.add_to(&mut store);
    }
}

fn trust_config(text: &str) {
    let base = std::path::PathBuf::from("/nonexistent-kmid-fuzz");
    let parsed = kmid::TrustConfig::from_toml(text, base.clone())
        .or_else(|_| kmid::TrustConfig::from_json(text, base.clone()));
    if let Ok(config) = parsed {
        let toml = config
            .to_toml()
            .expect("a parsed configuration writes as TOML");
        assert_eq!(
            kmid::TrustConfig::from_toml(&toml, base).ok(),
            Some(config),
            "trust configuration TOML round trip"
        );
    }
}

fn issuer_metadata(data: &[u8]) {
    use kmid::sdjwt::vc::metadata::{Fetched, IssuerMetadataResolver};
    let body = data.to_vec();
    // The document answers both the metadata URL and any jwks_uri it names.
    let resolver = IssuerMetadataResolver::new(
        move |_: &str| {
            Some(Fetched {
                body: body.clone(),
                max_age: Some(60),
            })
        },
        vec!["https://issuer.example".to_owned()],
    );
    let at = context::get().at;
    for kid in [Some("k1"), None] {
        let _ = resolver.key("https://issuer.example", kid, at);
    }
}

fn oid4vp_request_object(text: &str) {
    use kmid::oid4vc::jar::{WalletCheck, verify_request_object};
    let world = online_world::get();
    let mut check = WalletCheck::new(&world.verifier_trust, world.at);
    let _ = verify_request_object(text, &check);
    check.url_client_id = Some(&world.client_id);
    check.wallet_nonce = Some("wn-1");
    check.transaction_data_types = &["kr.kmid.account-opening"];
    let _ = verify_request_object(text, &check);
}

fn oid4vp_request_url(data: &[u8]) {
    use kmid::oid4vc::request::{RequestUrl, parse_request_uri_post};
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(url) = RequestUrl::parse(text)
    {
        // What parses writes back to a URL that parses to the same.
        let again = RequestUrl::parse(&url.to_url("openid4vp://")).expect("a written URL parses");
        assert_eq!(again, url, "request URL round trip");
    }
    let _ = parse_request_uri_post(data);
}

fn oid4vp_response(data: &[u8]) {
    use kmid::oid4vc::response::{HAIP_ENC_VALUES, PostedResponse, parse_direct_post};
    let world = online_world::get();
    let provider = kmid::crypto::CryptoProvider::get_default();
    if let Ok(PostedResponse::Encrypted(jwe)) = parse_direct_post(data) {
        let _ = world.response_key.decrypt(provider, &jwe, &HAIP_ENC_VALUES);
    }
    // The bytes as a JWE themselves.
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = world.response_key.decrypt(provider, text, &HAIP_ENC_VALUES);
    }
}

fn registration_attestation(text: &str) {
    let world = online_world::get();
    let _ = kmid::registration::RegistrationAttestation::verify(
        text,
        &world.registrars,
        &world.client_id,
        "registration_number",
        world.at,
        kmid::crypto::CryptoProvider::get_default(),
    );
}

fn vci_offer(data: &[u8]) {
    use kmid::oid4vc::vci::offer::{CredentialOffer, OfferUrl};
    let _ = CredentialOffer::from_json(data);
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(url) = OfferUrl::parse(text)
    {
        // What parses writes back to itself.
        let again = OfferUrl::parse(&url.to_url("openid-credential-offer://"));
        assert_eq!(
            again.as_ref().ok(),
            Some(&url),
            "an offer URL that does not round-trip"
        );
    }
}

fn vci_metadata(data: &[u8]) {
    use kmid::oid4vc::vci::metadata::{AuthorizationServerMetadata, CredentialIssuerMetadata};
    let world = vci_world::get();
    let _ = CredentialIssuerMetadata::from_json(data, vci_world::ISSUER);
    let _ = AuthorizationServerMetadata::from_json(data, vci_world::ISSUER);
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = CredentialIssuerMetadata::verify_signed(
            kmid::crypto::CryptoProvider::get_default(),
            text,
            vci_world::ISSUER,
            &world.providers,
            world.at,
        );
    }
}

fn dpop_proof(text: &str) {
    use kmid::oid4vc::dpop::{DpopCheck, verify_dpop_proof};
    let world = vci_world::get();
    let provider = kmid::crypto::CryptoProvider::get_default();
    let check = DpopCheck {
        method: "POST",
        url: "https://issuer.kmid.invalid/token",
        nonces: &[],
        nonce_valid: None,
        access_token: None,
        at: world.at,
    };
    if let Ok(verified) = verify_dpop_proof(provider, text, &check) {
        let jkt = verified.jkt;
        let _ = verify_dpop_proof(
            provider,
            text,
            &DpopCheck {
                url: "https://issuer.kmid.invalid/credential",
                access_token: Some((&world.access_token, &jkt)),
                ..check
            },
        );
    }
}

fn vci_proof_check(
    world: &vci_world::VciWorld,
) -> Option<kmid::oid4vc::vci::proof::ProofCheck<'_>> {
    let metadata = world
        .config
        .metadata
        .credential_configurations_supported
        .get(vci_world::CONFIGURATION)?
        .proof_types_supported
        .as_ref()?
        .get("jwt")?;
    Some(kmid::oid4vc::vci::proof::ProofCheck {
        provider: kmid::crypto::CryptoProvider::get_default(),
        credential_issuer: vci_world::ISSUER,
        client_id: None,
        metadata,
        attestation_trust: &world.providers,
        nonce_required: false,
        at: world.at,
    })
}

fn vci_proofs(data: &[u8]) {
    use kmid::oid4vc::vci::proof::{verify_attestation_proof, verify_jwt_proof, verify_proofs};
    let world = vci_world::get();
    let Some(check) = vci_proof_check(world) else {
        return;
    };
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = verify_proofs(&value, &check, Some(3));
    }
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = verify_jwt_proof(text, &check);
        let _ = verify_attestation_proof(text, &check);
    }
}

fn client_attestation(text: &str) {
    use kmid::oid4vc::vci::client_attestation::{ClientAuthCheck, verify_client_attestation};
    let world = vci_world::get();
    let (attestation, pop) = text.split_once('\n').unwrap_or((text, ""));
    let _ = verify_client_attestation(
        attestation,
        pop,
        &ClientAuthCheck {
            provider: kmid::crypto::CryptoProvider::get_default(),
            trust: &world.providers,
            authorization_server: vci_world::ISSUER,
            challenge: None,
            at: world.at,
        },
    );
}

/// The bytes as a token and a PAR request body to a fresh seeded issuer, then as credential
/// and notification bodies under the access token it issues to the world's wallet.
fn vci_endpoints(data: &[u8]) {
    let world = vci_world::get();
    let url = |path: &str| format!("{}/{path}", vci_world::ISSUER);
    {
        let store = kmid::oid4vc::store::MemoryIssuanceStore::default();
        let random = vci_world::fresh_random();
        let server = vci_world::server(world, &store, &random);
        let token_url = url("token");
        let _ = server.token(
            data,
            &vci_world::ctx("POST", &token_url, Some(&world.token_dpop)),
            world.at,
        );
        let par_url = url("par");
        let _ = server.par(
            data,
            &kmid::oid4vc::vci::server::RequestContext {
                client_attestation: Some((&world.attestation.0, &world.attestation.1)),
                ..vci_world::ctx("POST", &par_url, None)
            },
            world.at,
        );
    }
    vci_credential_body(data, false);
}

/// Sends `data` to the credential and notification endpoints under the world's access token;
/// with `expect_issued`, panics unless the credential is issued (the seeds' own test).
pub(crate) fn vci_credential_body(data: &[u8], expect_issued: bool) {
    struct Minter;
    impl kmid::oid4vc::vci::server::CredentialMinter for Minter {
        fn mint(
            &self,
            request: &kmid::oid4vc::vci::server::MintRequest<'_>,
        ) -> Result<kmid::oid4vc::vci::server::Minted, String> {
            Ok(kmid::oid4vc::vci::server::Minted {
                credentials: request
                    .keys
                    .iter()
                    .map(|_| "credential".to_owned())
                    .collect(),
                group: Some("1".into()),
                references: Vec::new(),
                renewal_subject: None,
            })
        }
    }
    let world = vci_world::get();
    let store = kmid::oid4vc::store::MemoryIssuanceStore::default();
    let random = vci_world::fresh_random();
    let server = vci_world::server(world, &store, &random);
    let Some(body) = vci_world::token_body(&store, world, &random) else {
        return;
    };
    let token_url = format!("{}/token", vci_world::ISSUER);
    if server
        .token(
            body.as_bytes(),
            &vci_world::ctx("POST", &token_url, Some(&world.token_dpop)),
            world.at,
        )
        .is_err()
    {
        return;
    }
    let credential_url = format!("{}/credential", vci_world::ISSUER);
    let issued = server.credential(
        data,
        &kmid::oid4vc::vci::server::RequestContext {
            access_token: Some(&world.access_token),
            ..vci_world::ctx("POST", &credential_url, Some(&world.credential_dpop))
        },
        &Minter,
        world.at,
    );
    assert!(!expect_issued || issued.is_ok(), "{issued:?}");
    let notification_url = format!("{}/notification", vci_world::ISSUER);
    let _ = server.notification(
        data,
        &kmid::oid4vc::vci::server::RequestContext {
            access_token: Some(&world.access_token),
            ..vci_world::ctx("POST", &notification_url, Some(&world.notification_dpop))
        },
        world.at,
    );
}

/// ISO/IEC 18013-7 Annex C: the bytes as an `encryptionInfo`, as a sealed response opened with
/// the verifier's key over its transcript, and as the response `data` JSON carrying one.
fn annex_c(data: &[u8]) {
    use kmid::mdoc::annex_c::{EncryptedResponse, EncryptionInfo, open_response};
    let world = online_world::get();
    let limits = CborLimits::default();
    let provider = kmid::crypto::CryptoProvider::get_default();
    let _ = EncryptionInfo::from_bytes(data, &limits);
    let open = |bytes: &[u8]| {
        if let Ok(sealed) = EncryptedResponse::from_bytes(bytes, &limits)
            && let Ok(plain) = open_response(
                provider,
                &world.annex_c_key,
                &world.annex_c_transcript,
                &sealed,
            )
        {
            let _ = DeviceResponse::from_bytes(&plain, &limits);
        }
    };
    open(data);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
        && let Some(text) = value.get("response").and_then(serde_json::Value::as_str)
        && let Ok(bytes) = kmid::crypto::jose::b64url_decode(text)
    {
        open(&bytes);
    }
}

fn dc_api(data: &[u8]) {
    use kmid::oid4vc::dc_api::{DcApiProtocol, verify_dc_api_request};
    use kmid::oid4vc::jar::WalletCheck;
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let world = online_world::get();
    let mut check = WalletCheck::new(&world.verifier_trust, world.at);
    check.origin = Some("https://bank.kmid.invalid");
    let inner = value.get("data").unwrap_or(&value);
    let protocols = match value
        .get("protocol")
        .and_then(serde_json::Value::as_str)
        .map(DcApiProtocol::parse)
    {
        Some(Ok(p)) => vec![p],
        _ => vec![
            DcApiProtocol::Unsigned,
            DcApiProtocol::Signed,
            DcApiProtocol::MultiSigned,
        ],
    };
    for protocol in protocols {
        let _ = verify_dc_api_request(protocol, inner, &check);
    }
    // The same bytes as a response's data for an encrypted DC API transaction.
    if let Ok(mut transaction) =
        kmid::oid4vc::response::Transaction::import_pending(&world.dc_api_transaction)
    {
        let _ = transaction.accept_dc_api(kmid::crypto::CryptoProvider::get_default(), &value);
    }
}
