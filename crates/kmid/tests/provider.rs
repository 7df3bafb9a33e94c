//! The crypto provider is handed in, not reached for: an issuer, a wallet, a verifier, their
//! status resolver and trust store, given a provider, do every signature check, digest, MAC,
//! key derivation, AEAD, key agreement and random draw of their work on it, and none on the
//! process default. The process default here is a provider that counts what reaches it once
//! armed; the handed provider counts everything. Decoding a public key (the point check) is
//! the one thing that stays on the default's key table, as `spec/providers.md` says.
//!
//! Its own test binary: it installs the process default.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use kmid::crypto::provider::{Aead, Digests, HashContext, Kdf, KeyAgreement, Mac};
use kmid::crypto::{
    Algorithm, CryptoError, CryptoProvider, Curve, HashAlgorithm, PrivateKey, PublicKey, Random,
    SignatureVerifier,
};
use kmid::mdoc::model::{DeviceEngagement, Handover};
use kmid::mdoc::session::Session;
use kmid::schema::Card;
use kmid::schema::CardType;
use kmid::schema::catalogue::ClaimId;
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{
    AuthorityKeys, CardKeySecret, Format, Formats, Issuer, IssuingAuthority, OpenId4VpRequest,
    Template, Verifier, Wallet,
};
use kmid_testkit::samples;
use serde_json::json;
use zeroize::Zeroizing;

/// The tables a provider has besides its key table, in this order.
const TABLES: [&str; 7] = [
    "signature",
    "digest",
    "mac",
    "kdf",
    "aead",
    "ecdh",
    "random",
];

/// Counts the calls that reach each table of `inner` (always, or only while `ARMED`).
struct Counting {
    inner: &'static CryptoProvider,
    armed_only: bool,
    calls: [AtomicUsize; 7],
}

static ARMED: AtomicBool = AtomicBool::new(false);

impl Counting {
    fn tick(&self, table: usize) {
        if !self.armed_only || ARMED.load(Ordering::SeqCst) {
            // KMID_TRACE_DEFAULT=1: panic at the first call that reaches the default, for its
            // backtrace.
            if self.armed_only && std::env::var_os("KMID_TRACE_DEFAULT").is_some() {
                panic!("the process default's {} table was reached", TABLES[table]);
            }
            self.calls[table].fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counts(&self) -> Vec<(&'static str, usize)> {
        TABLES
            .iter()
            .zip(&self.calls)
            .map(|(name, n)| (*name, n.load(Ordering::SeqCst)))
            .collect()
    }

    fn total(&self) -> usize {
        self.calls.iter().map(|n| n.load(Ordering::SeqCst)).sum()
    }
}

impl SignatureVerifier for Counting {
    fn verify(
        &self,
        algorithm: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.tick(0);
        self.inner
            .signature_verifier
            .verify(algorithm, key, message, signature)
    }
}

impl Digests for Counting {
    fn start(&self, algorithm: HashAlgorithm) -> Box<dyn HashContext> {
        self.tick(1);
        self.inner.digests.start(algorithm)
    }
}

impl Mac for Counting {
    fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], CryptoError> {
        self.tick(2);
        self.inner.mac.hmac_sha256(key, data)
    }
}

impl Kdf for Counting {
    fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        okm: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.tick(3);
        self.inner.kdf.hkdf_sha256(ikm, salt, info, okm)
    }
}

impl Aead for Counting {
    fn aes_gcm_seal(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.tick(4);
        self.inner.aead.aes_gcm_seal(key, iv, aad, plaintext)
    }

    fn aes_gcm_open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.tick(4);
        self.inner.aead.aes_gcm_open(key, iv, aad, sealed)
    }

    fn aes256_blocks(&self, key: &[u8; 32], blocks: &mut [u8]) -> Result<(), CryptoError> {
        self.tick(4);
        self.inner.aead.aes256_blocks(key, blocks)
    }
}

impl KeyAgreement for Counting {
    fn ecdh(
        &self,
        private: &PrivateKey,
        peer: &PublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.tick(5);
        self.inner.key_agreement.ecdh(private, peer)
    }
}

impl Random for Counting {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.tick(6);
        self.inner.random.fill(buf)
    }

    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.tick(6);
        self.inner.random.fill_secret(buf)
    }
}

fn counting(name: &'static str, armed_only: bool) -> (&'static Counting, &'static CryptoProvider) {
    let inner = CryptoProvider::feature_default();
    let tables: &'static Counting = Box::leak(Box::new(Counting {
        inner,
        armed_only,
        calls: Default::default(),
    }));
    let provider: &'static CryptoProvider = Box::leak(Box::new(CryptoProvider {
        name,
        signature_verifier: tables,
        digests: tables,
        mac: tables,
        kdf: tables,
        aead: tables,
        key_agreement: tables,
        random: tables,
        keys: inner.keys,
    }));
    (tables, provider)
}

struct Providers {
    default: &'static Counting,
    handed_tables: &'static Counting,
    handed: &'static CryptoProvider,
}

/// The process default (counting once armed), installed before any key is made, and the
/// provider handed in.
fn providers() -> &'static Providers {
    static P: OnceLock<Providers> = OnceLock::new();
    P.get_or_init(|| {
        let (default, default_provider) = counting("default", true);
        CryptoProvider::install_default(default_provider).expect("installed once");
        let (handed_tables, handed) = counting("handed", false);
        Providers {
            default,
            handed_tables,
            handed,
        }
    })
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
}

/// Issues a resident card in both formats and verifies it, with its statuses from the
/// published lists, proximity and OpenID4VP, every party on `provider`.
fn whole_flow(provider: Option<&'static CryptoProvider>) {
    let p = providers();
    let random: Arc<dyn Random> = Arc::new(*p.handed);
    let at = now();
    // Setup: keys and certificates, drawn before the default is armed.
    ARMED.store(false, Ordering::SeqCst);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, at, &*random).unwrap();
    let trust = kmid::trust_store([&keys]).unwrap();
    let device = PrivateKey::generate_with(Curve::P256, &*random).unwrap();
    let e_reader = PrivateKey::generate_with(Curve::P256, &*random).unwrap();
    let e_device = PrivateKey::generate_with(Curve::P256, &*random).unwrap();
    let secret = CardKeySecret::generate(&*random).unwrap();
    ARMED.store(true, Ordering::SeqCst);

    let on = |trust: kmid::crypto::x509::TrustStore| match provider {
        Some(p) => trust.with_provider(p),
        None => trust,
    };
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.example/lists"),
        Arc::clone(&random),
    );
    let mut issuer = Issuer::new(keys, registry, secret, Arc::clone(&random));
    let mut wallet = Wallet::new(device, on(trust.clone()));
    if let Some(p) = provider {
        issuer = issuer.with_provider(p);
        wallet = wallet.with_provider(p);
    }
    let card = Card::from(samples::resident());
    let issued = issuer
        .issue(&card, wallet.device_key(), Formats::Both, at)
        .unwrap();
    wallet
        .store_mdoc(issued.mdoc.unwrap().issuer_signed, at)
        .unwrap();
    wallet
        .store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), at)
        .unwrap();

    // The relying party: statuses from the published JWT lists, checked on its provider.
    let lists = issuer.publish(at, 300).unwrap();
    let fetch = move |uri: &str, _accept: &str| {
        lists
            .iter()
            .find(|l| l.uri == uri)
            .map(|l| l.jwt.clone().into_bytes())
    };
    let mut policy = TokenPolicy::default();
    if let Some(p) = provider {
        policy.provider = p;
    }
    let resolver =
        kmid::status::StatusListResolver::new(fetch, TokenKeys::X5c(on(trust.clone())), policy);
    let mut verifier = Verifier::new(on(trust), Arc::new(resolver));
    if let Some(p) = provider {
        verifier = verifier.with_provider(p);
    }

    // Proximity: an encrypted session carries the request and the answer.
    let session_provider = provider.unwrap_or_else(CryptoProvider::get_default);
    let engagement = DeviceEngagement::new(e_device.public_key().clone(), Vec::new()).unwrap();
    let mut reader =
        Session::reader(session_provider, &e_reader, &engagement, &Handover::Qr).unwrap();
    let request = Template::AgeCheck.mdoc_request(CardType::Resident);
    let establishment = reader.establish(&request.to_bytes()).unwrap();
    let mut mdoc = Session::mdoc(
        session_provider,
        &e_device,
        &engagement,
        &establishment,
        &Handover::Qr,
    )
    .unwrap();
    let asked = mdoc.decrypt(&establishment.data).unwrap();
    assert_eq!(asked.as_slice(), request.to_bytes().as_slice());
    let transcript = mdoc.transcript().clone();
    let response = wallet.respond_mdoc(&request, &transcript, at).unwrap();
    let sealed = mdoc.seal(&response.to_bytes()).unwrap();
    let answer = reader.open(&sealed).unwrap().unwrap();
    let seen = verifier
        .verify_mdoc(&request, &answer, reader.transcript(), at)
        .unwrap();
    assert_eq!(seen[0].claim(ClaimId::AgeOver19), Some(&json!(true)));

    // OpenID4VP with DCQL, in both formats.
    let vp_request = OpenId4VpRequest {
        client_id: "x509_san_dns:bank.example".into(),
        nonce: "n-0S6_WzA2Mj".into(),
        response_uri: "https://bank.example/openid4vp/response".into(),
        origin: None,
        jwk_thumbprint: None,
    };
    for format in [Format::Mdoc, Format::SdJwtVc] {
        let query = Template::Identity.dcql_query(CardType::Resident, format);
        let token = wallet.answer_dcql(&query, &vp_request, at).unwrap();
        let seen = verifier
            .verify_vp_token(&query, &vp_request, &token, at)
            .unwrap();
        assert_eq!(seen.len(), 1);
    }
    ARMED.store(false, Ordering::SeqCst);
}

/// One test, so that the armed window is never shared with another thread's work.
#[test]
fn every_party_works_on_the_provider_it_was_handed() {
    let p = providers();

    // Handed in: the default sees nothing; the handed provider sees every kind of work.
    whole_flow(Some(p.handed));
    assert_eq!(
        p.default.total(),
        0,
        "reached the process default: {:?}",
        p.default.counts()
    );
    for (table, n) in p.handed_tables.counts() {
        assert!(n > 0, "the handed provider's {table} table was never used");
    }

    // Not handed in: the same flow lands on the default, so the count above could fail.
    let handed_before = p.handed_tables.counts();
    whole_flow(None);
    let default_counts = p.default.counts();
    for table in ["signature", "digest", "mac", "kdf", "aead", "ecdh"] {
        let n = default_counts.iter().find(|(t, _)| *t == table).unwrap().1;
        assert!(
            n > 0,
            "without a provider, the default's {table} table was not used"
        );
    }
    // Only the random source (the explicit `random` given to both runs) stays handed.
    let handed_after = p.handed_tables.counts();
    for ((table, before), (_, after)) in handed_before.iter().zip(&handed_after) {
        if *table != "random" {
            assert_eq!(before, after, "{table} reached the handed provider unasked");
        }
    }
}
