//! SD-JWT VC issuer keys from JWT VC Issuer Metadata: the well-known URL, `issuer` identical
//! to `iss`, exactly one of `jwks` and `jwks_uri`, the `kid`, size bounds, reuse for the HTTP
//! freshness lifetime, and the verifier's policy of which issuers may be resolved this way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kmid_crypto::{Curve, PrivateKey, Signer};
use kmid_schema::Card;
use kmid_sdjwt::vc::metadata::{Fetched, IssuerMetadataResolver, MAX_METADATA_BYTES};
use kmid_sdjwt::vc::{IssuerKeys, SdJwtVcIssuer, SdJwtVcVerifier, VcOptions};
use kmid_testkit::{REFERENCE_TIME, Rfc6979Signer, SeededRandom, samples, test_key};
use serde_json::json;
use time::Duration;

const ISS: &str = "https://issuer.example/tenant/1";
const WELL_KNOWN: &str = "https://issuer.example/.well-known/jwt-vc-issuer/tenant/1";

/// What the web serves, and how many requests reached it.
#[derive(Default)]
struct Web {
    pages: Mutex<HashMap<String, Fetched>>,
    requests: AtomicUsize,
}

impl Web {
    fn serve(&self, url: &str, body: &serde_json::Value, max_age: Option<u64>) {
        self.pages.lock().unwrap().insert(
            url.to_owned(),
            Fetched {
                body: body.to_string().into_bytes(),
                max_age,
            },
        );
    }
}

fn resolver(web: &Arc<Web>, allowed: &[&str]) -> IssuerMetadataResolver {
    let web = Arc::clone(web);
    IssuerMetadataResolver::new(
        move |url: &str| {
            web.requests.fetch_add(1, Ordering::SeqCst);
            web.pages.lock().unwrap().get(url).cloned()
        },
        allowed.iter().map(|s| (*s).to_owned()).collect(),
    )
}

/// An SD-JWT VC signed by the test key `key` under `kid`, with `iss`.
fn issued(key: &str, iss: &str, kid: &str) -> String {
    let signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key(key));
    let holder = PrivateKey::generate(Curve::P256).unwrap();
    SdJwtVcIssuer::with_key_id(
        signer,
        iss.into(),
        kid.into(),
        Arc::new(SeededRandom::new(b"metadata")),
    )
    .issue(
        &Card::from(samples::resident()),
        holder.public_key(),
        &VcOptions::new(
            REFERENCE_TIME - Duration::days(1),
            REFERENCE_TIME + Duration::days(30),
        ),
    )
    .unwrap()
    .to_compact()
}

fn jwk(key: &str, kid: &str) -> serde_json::Value {
    let mut jwk = test_key(key).public_key().to_jwk();
    jwk.kid = Some(kid.into());
    serde_json::to_value(jwk).unwrap()
}

fn verify(
    resolver: &IssuerMetadataResolver,
    credential: &str,
    at: time::OffsetDateTime,
) -> Result<(), &'static str> {
    SdJwtVcVerifier::new(IssuerKeys::Metadata(resolver))
        .danger_accept_unchecked_status()
        .verify(credential, at)
        .map(|_| ())
        .map_err(|e| e.code())
}

#[test]
fn keys_come_from_the_issuers_metadata_and_are_reused_for_its_lifetime() {
    let (key, other) = ("issuer-2025", "issuer-old");
    let web = Arc::new(Web::default());
    web.serve(
        WELL_KNOWN,
        &json!({ "issuer": ISS, "jwks": { "keys": [jwk(other, "old"), jwk(key, "k-2025")] } }),
        Some(3600),
    );
    let resolver = resolver(&web, &[ISS]);
    let credential = issued(key, ISS, "k-2025");
    assert_eq!(verify(&resolver, &credential, REFERENCE_TIME), Ok(()));
    assert_eq!(verify(&resolver, &credential, REFERENCE_TIME), Ok(()));
    assert_eq!(
        web.requests.load(Ordering::SeqCst),
        1,
        "reused within max-age"
    );
    assert_eq!(
        verify(
            &resolver,
            &credential,
            REFERENCE_TIME + Duration::seconds(3601)
        ),
        Ok(())
    );
    assert_eq!(
        web.requests.load(Ordering::SeqCst),
        2,
        "fetched again after it"
    );
    // A credential signed by a key the metadata does not list under its kid.
    let forged = issued("someone-else", ISS, "k-2025");
    assert_eq!(
        verify(&resolver, &forged, REFERENCE_TIME),
        Err("BadIssuerSignature")
    );
    let unknown_kid = issued(key, ISS, "k-2099");
    assert_eq!(
        verify(&resolver, &unknown_kid, REFERENCE_TIME),
        Err("IssuerKey.Metadata.NoKey")
    );
}

#[test]
fn a_jwks_uri_is_followed_and_the_shorter_lifetime_kept() {
    let key = "issuer-1";
    let web = Arc::new(Web::default());
    web.serve(
        WELL_KNOWN,
        &json!({ "issuer": ISS, "jwks_uri": "https://keys.issuer.example/jwks.json" }),
        Some(3600),
    );
    web.serve(
        "https://keys.issuer.example/jwks.json",
        &json!({ "keys": [jwk(key, "k1")] }),
        None,
    );
    let resolver = resolver(&web, &[ISS]);
    let credential = issued(key, ISS, "k1");
    assert_eq!(verify(&resolver, &credential, REFERENCE_TIME), Ok(()));
    assert_eq!(verify(&resolver, &credential, REFERENCE_TIME), Ok(()));
    // The JWK Set had no lifetime: nothing was kept.
    assert_eq!(web.requests.load(Ordering::SeqCst), 4);
}

#[test]
fn metadata_that_breaks_a_rule_is_not_used() {
    let key = "issuer-1";
    let credential = issued(key, ISS, "k1");
    let case = |metadata: Option<serde_json::Value>, allowed: &[&str]| {
        let web = Arc::new(Web::default());
        if let Some(m) = metadata {
            web.serve(WELL_KNOWN, &m, Some(60));
        }
        web.serve(
            "https://keys.issuer.example/jwks.json",
            &json!({ "keys": [jwk(key, "k1")] }),
            Some(60),
        );
        verify(&resolver(&web, allowed), &credential, REFERENCE_TIME)
    };
    let set = json!({ "keys": [jwk(key, "k1")] });
    assert_eq!(
        case(
            Some(json!({ "issuer": ISS, "jwks": set })),
            &["https://someone.else"]
        ),
        Err("IssuerKey.Metadata.NotAllowed")
    );
    assert_eq!(
        case(
            Some(json!({ "issuer": "https://issuer.example", "jwks": set })),
            &[ISS]
        ),
        Err("IssuerKey.Metadata.IssuerMismatch")
    );
    assert_eq!(
        case(
            Some(
                json!({ "issuer": ISS, "jwks": set, "jwks_uri": "https://keys.issuer.example/jwks.json" })
            ),
            &[ISS]
        ),
        Err("IssuerKey.Metadata.JwksChoice")
    );
    assert_eq!(
        case(Some(json!({ "issuer": ISS })), &[ISS]),
        Err("IssuerKey.Metadata.JwksChoice")
    );
    assert_eq!(
        case(
            Some(json!({ "issuer": ISS, "jwks_uri": "http://keys.issuer.example/jwks.json" })),
            &[ISS]
        ),
        Err("IssuerKey.Metadata.NotHttps")
    );
    assert_eq!(case(None, &[ISS]), Err("IssuerKey.Metadata.Unavailable"));
    assert_eq!(
        case(Some(json!({ "issuer": ISS, "jwks": [1, 2] })), &[ISS]),
        Err("IssuerKey.Metadata.Malformed")
    );
    let padding = "x".repeat(MAX_METADATA_BYTES);
    assert_eq!(
        case(
            Some(json!({ "issuer": ISS, "jwks": set, "pad": padding })),
            &[ISS]
        ),
        Err("IssuerKey.Metadata.TooLarge")
    );
    // An iss that is not an https URL is never resolved.
    let plain = issued(key, "http://issuer.example", "k1");
    let web = Arc::new(Web::default());
    assert_eq!(
        verify(
            &resolver(&web, &["http://issuer.example"]),
            &plain,
            REFERENCE_TIME
        ),
        Err("IssuerKey.Metadata.NotHttps")
    );
    assert_eq!(web.requests.load(Ordering::SeqCst), 0);
}
