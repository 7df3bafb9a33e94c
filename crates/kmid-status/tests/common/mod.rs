//! Shared setup: a registry, a status list publisher signing with a test Document Signer, a
//! fetcher over what it published, and credentials of both formats pointing into the lists.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kmid_crypto::{Curve, PrivateKey, Signer};
use kmid_mdoc::MdocError;
use kmid_mdoc::holder::{DeviceKeyAuth, HeldMdoc, HolderPolicy, respond};
use kmid_mdoc::issuer::{MdocIssuer, MsoOptions};
use kmid_mdoc::model::{
    DeviceRequest, DocRequest, Handover, IssuerSigned, ItemsRequest, SessionTranscript,
};
use kmid_mdoc::verifier::MdocVerifier;
use kmid_schema::catalogue::ISO_23220_NAMESPACE;
use kmid_schema::status::{StatusReference, TokenStatus};
use kmid_schema::{Card, IdentityCard};
use kmid_sdjwt::vc::{IssuerKeys, SdJwtVcIssuer, SdJwtVcVerifier, VcOptions};
use kmid_sdjwt::{SdJwt, SdJwtError};
use kmid_status::StatusListResolver;
use kmid_status::registry::{RegistryStore, StatusRegistry};
use kmid_status::token::{TokenClaims, TokenKeys, TokenPolicy, TokenSigner, sign_cwt, sign_jwt};
use kmid_testkit::{Authority, REFERENCE_TIME, Rfc6979Signer, SeededRandom, TestPki};
use time::{Duration, OffsetDateTime};

/// A Status List Token form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenFormat {
    /// `statuslist+jwt`.
    Jwt,
    /// `application/statuslist+cwt`.
    Cwt,
}

/// What the status provider serves, by URI and form.
pub type Served = Arc<Mutex<HashMap<(String, TokenFormat), Vec<u8>>>>;

/// A fetcher over `served` that answers `Accept` as a server would: the one form asked for,
/// or `prefer` when both are acceptable; nothing when the form asked for is not served.
pub fn fetcher(
    served: &Served,
    prefer: TokenFormat,
) -> impl Fn(&str, &str) -> Option<Vec<u8>> + Send + Sync + use<> {
    let served = Arc::clone(served);
    move |uri: &str, accept: &str| {
        let jwt = accept.contains("application/statuslist+jwt");
        let cwt = accept.contains("application/statuslist+cwt");
        let form = match (jwt, cwt) {
            (true, true) => prefer,
            (true, false) => TokenFormat::Jwt,
            (false, true) => TokenFormat::Cwt,
            (false, false) => return None,
        };
        served.lock().unwrap().get(&(uri.to_owned(), form)).cloned()
    }
}

/// The claims of a token for `uri` issued a minute before `at`.
pub fn claims(uri: &str, at: OffsetDateTime) -> TokenClaims {
    TokenClaims {
        sub: uri.to_owned(),
        iat: (at - Duration::minutes(1)).unix_timestamp(),
        exp: Some((at + Duration::days(1)).unix_timestamp()),
        ttl: Some(300),
    }
}

/// The Document Signer of `authority` as a status list signer.
pub fn ds_signer(authority: Authority) -> Arc<dyn Signer> {
    Arc::new(Rfc6979Signer::for_test_key(&format!(
        "{}-ds",
        authority.slug()
    )))
}

/// Signs every list of `registry` with `authority`'s Document Signer and serves it in
/// `forms`.
pub fn publish<S: RegistryStore>(
    registry: &StatusRegistry<S>,
    pki: &TestPki,
    authority: Authority,
    forms: &[TokenFormat],
    served: &Served,
) {
    let signer = ds_signer(authority);
    let chain = [pki.issuer(authority).ds.clone()];
    let token_signer = TokenSigner {
        signer: &signer,
        chain: &chain,
        kid: None,
        provider: kmid_crypto::CryptoProvider::get_default(),
    };
    for record in registry.lists().unwrap() {
        let (record, list) = registry.publish(record.id).unwrap();
        let claims = claims(&record.uri, REFERENCE_TIME);
        for form in forms {
            let token = match form {
                TokenFormat::Jwt => sign_jwt(&list, &claims, &token_signer)
                    .unwrap()
                    .into_bytes(),
                TokenFormat::Cwt => sign_cwt(&list, &claims, &token_signer).unwrap(),
            };
            served
                .lock()
                .unwrap()
                .insert((record.uri.clone(), *form), token);
        }
    }
}

/// The forms a publisher serves.
pub const BOTH: &[TokenFormat] = &[TokenFormat::Jwt, TokenFormat::Cwt];

/// A resolver trusting the test IACAs, over `served`, preferring `prefer`.
pub fn resolver(
    pki: &TestPki,
    served: &Served,
    prefer: TokenFormat,
) -> StatusListResolver<impl Fn(&str, &str) -> Option<Vec<u8>> + Send + Sync + use<>> {
    StatusListResolver::new(
        fetcher(served, prefer),
        TokenKeys::X5c(pki.trust_store()),
        TokenPolicy::default(),
    )
}

/// An mdoc of `card` issued by `authority` to `device_key`, pointing at `status`.
pub fn issue_mdoc(
    pki: &TestPki,
    authority: Authority,
    card: &Card,
    device_key: &PrivateKey,
    status: &StatusReference,
) -> IssuerSigned {
    let p = pki.issuer(authority);
    let mut options = MsoOptions::new(
        REFERENCE_TIME - Duration::days(1),
        REFERENCE_TIME + Duration::days(90),
    );
    options.status = Some(status.clone());
    let random = SeededRandom::new(format!("lifecycle mdoc {}", status.idx).as_bytes());
    MdocIssuer::new(&p.ds_signer, vec![p.ds.clone()], &random)
        .unwrap()
        .issue(card, device_key.public_key(), &options)
        .unwrap()
}

/// An SD-JWT VC of `card` issued by `authority` to `holder`, pointing at `status`.
pub fn issue_sdjwt(
    pki: &TestPki,
    authority: Authority,
    card: &Card,
    holder: &PrivateKey,
    status: &StatusReference,
) -> SdJwt {
    let mut options = VcOptions::new(
        REFERENCE_TIME - Duration::days(1),
        REFERENCE_TIME + Duration::days(90),
    );
    options.status = Some(status.clone());
    SdJwtVcIssuer::with_x5c(
        ds_signer(authority),
        vec![pki.issuer(authority).ds.clone()],
        Arc::new(SeededRandom::new(
            format!("lifecycle sd-jwt {}", status.idx).as_bytes(),
        )),
    )
    .unwrap()
    .issue(card, holder.public_key(), &options)
    .unwrap()
}

/// A new P-256 device key.
pub fn device_key() -> PrivateKey {
    PrivateKey::generate(Curve::P256).unwrap()
}

/// Presents `mdoc` (one element) and verifies the response at `at` through `resolver`.
pub fn verify_mdoc(
    pki: &TestPki,
    mdoc: &IssuerSigned,
    device_key: &PrivateKey,
    resolver: &dyn kmid_schema::status::StatusResolver,
    at: OffsetDateTime,
) -> Result<Option<TokenStatus>, MdocError> {
    let doc_type = mdoc.issuer_auth.mso().doc_type.clone();
    let request = DeviceRequest::new(vec![DocRequest::new(ItemsRequest {
        doc_type,
        name_spaces: vec![(
            ISO_23220_NAMESPACE.into(),
            vec![("family_name_unicode".into(), false)],
        )],
        request_info: vec![],
        optional: vec![],
    })]);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let held = HeldMdoc {
        issuer_signed: mdoc,
        device_auth: DeviceKeyAuth::Signature(device_key),
        device_signed: &vec![],
    };
    let response = respond(&request, &transcript, &[held], &HolderPolicy::new(at)).unwrap();
    let trust = pki.trust_store();
    MdocVerifier::new(&trust)
        .with_status_resolver(resolver)
        .verify_response(&response.to_bytes(), &transcript, None, at)
        .map(|docs| docs[0].status)
}

/// Verifies the issued SD-JWT VC at `at` through `resolver`.
pub fn verify_sdjwt(
    pki: &TestPki,
    sd_jwt: &SdJwt,
    resolver: &dyn kmid_schema::status::StatusResolver,
    at: OffsetDateTime,
) -> Result<Option<TokenStatus>, SdJwtError> {
    let trust = pki.trust_store();
    SdJwtVcVerifier::new(IssuerKeys::X5c(&trust))
        .with_status_resolver(resolver)
        .verify(&sd_jwt.to_compact(), at)
        .map(|v| v.status)
}

/// The card type check for `card` is `authority`'s.
pub fn card_authority(card: &Card) -> Authority {
    Authority::ALL
        .into_iter()
        .find(|a| a.card_type() == card.card_type())
        .unwrap()
}
