//! Trust as data (issue 17): a relying party brings its own anchors and keys in a TOML or
//! JSON file; every entry says what it is trusted for and what it vouches for, and nothing in
//! it is silently dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{AllValid, issuer, now};
use kmid::crypto::{Curve, PrivateKey, Signer, SystemRandom};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType};
use kmid::sdjwt::vc::{IssuerKeys, SdJwtVcIssuer, SdJwtVcVerifier, VcOptions};
use kmid::{
    Formats, IssuingAuthority, Template, TrustConfig, TrustConfigError, TrustPurpose, Verifier,
    Wallet,
};
use kmid_testkit::samples;
use serde_json::json;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kmid-trust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_relying_party_configures_its_anchors_with_scopes_and_purposes() {
    let dir = scratch("anchors");
    let mois = issuer(IssuingAuthority::Mois);
    let oka = issuer(IssuingAuthority::Oka);
    write(&dir, "mois.pem", &mois.keys().iaca.to_pem().unwrap());
    std::fs::create_dir_all(dir.join("more")).unwrap();
    write(&dir, "more/oka.pem", &oka.keys().iaca.to_pem().unwrap());
    // One root listed twice for two scopes (the union), a folder of roots, a reader root
    // that must not end up among the issuers.
    let config = write(
        &dir,
        "trust.toml",
        r#"
[[anchor]]
file = "mois.pem"
purposes = ["mdoc-issuer", "sd-jwt-vc-issuer"]
scopes = ["kr.go.mois.rrc.1"]

[[anchor]]
file = "mois.pem"
purposes = ["mdoc-issuer"]
scopes = ["org.iso.18013.5.1.mDL"]

[[anchor]]
file = "more"
purposes = ["mdoc-issuer", "status-list-signer"]
scopes = ["kr.go.oka.onid.1"]
"#,
    );
    let config = TrustConfig::from_file(&config).unwrap();
    let issuers = config.trust_store(TrustPurpose::MdocIssuer).unwrap();
    assert_eq!(issuers.roots().len(), 2);
    let mois_index = issuers
        .roots()
        .iter()
        .position(|r| *r == mois.keys().iaca)
        .unwrap();
    assert!(issuers.allows(mois_index, "kr.go.mois.rrc.1"));
    assert!(issuers.allows(mois_index, "org.iso.18013.5.1.mDL"));
    assert!(!issuers.allows(mois_index, "kr.go.oka.onid.1"));
    assert_eq!(
        config
            .trust_store(TrustPurpose::StatusListSigner)
            .unwrap()
            .roots(),
        [oka.keys().iaca.clone()]
    );
    assert!(
        config
            .trust_store(TrustPurpose::Reader)
            .unwrap()
            .roots()
            .is_empty()
    );

    // A verifier on that store accepts the resident card and refuses what no root vouches for.
    let verifier = Verifier::new(issuers.clone(), Arc::new(AllValid));
    let card = Card::from(samples::resident());
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), issuers);
    let issued = mois
        .issue(&card, wallet.device_key(), Formats::Mdoc, now())
        .unwrap();
    wallet.store_issued(issued, now()).unwrap();
    let request = Template::AgeCheck.mdoc_request(CardType::Resident);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet.respond_mdoc(&request, &transcript, now()).unwrap();
    let seen = verifier
        .verify_mdoc(&request, &response.to_bytes(), &transcript, now())
        .unwrap();
    assert_eq!(seen[0].claim(ClaimId::AgeOver19), Some(&json!(true)));

    // The JSON form is the same configuration.
    let json = write(
        &dir,
        "trust.json",
        &json!({
            "anchor": [
                {"file": "mois.pem", "purposes": ["mdoc-issuer", "sd-jwt-vc-issuer"], "scopes": ["kr.go.mois.rrc.1"]},
                {"file": "mois.pem", "purposes": ["mdoc-issuer"], "scopes": ["org.iso.18013.5.1.mDL"]},
                {"file": "more", "purposes": ["mdoc-issuer", "status-list-signer"], "scopes": ["kr.go.oka.onid.1"]}
            ]
        })
        .to_string(),
    );
    assert_eq!(
        TrustConfig::from_file(&json).unwrap().anchors,
        config.anchors
    );
    // And it survives its own TOML form.
    let again = TrustConfig::from_toml(&config.to_toml().unwrap(), dir.clone()).unwrap();
    assert_eq!(again, config);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_configuration_that_would_drop_or_widen_trust_is_refused_by_name() {
    let dir = scratch("refused");
    let mois = issuer(IssuingAuthority::Mois);
    write(&dir, "mois.pem", &mois.keys().iaca.to_pem().unwrap());
    write(
        &dir,
        "ds.pem",
        &mois.keys().document_signer.to_pem().unwrap(),
    );
    let code = |toml: &str| -> String {
        let config = TrustConfig::from_toml(toml, dir.clone());
        let err: TrustConfigError = match config {
            Err(e) => e,
            Ok(c) => c.trust_store(TrustPurpose::MdocIssuer).unwrap_err(),
        };
        kmid::KmidError::from(err).code().to_owned()
    };
    // No scopes at all: "any" must be written out.
    assert_eq!(
        code("[[anchor]]\nfile = \"mois.pem\"\npurposes = [\"mdoc-issuer\"]\n"),
        "Trust.Parse"
    );
    assert_eq!(
        code("[[anchor]]\nfile = \"mois.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = []\n"),
        "Trust.Empty"
    );
    // A misspelt member is not ignored.
    assert_eq!(
        code("[[anchor]]\nfile = \"mois.pem\"\npurpose = [\"mdoc-issuer\"]\nscopes = [\"*\"]\n"),
        "Trust.Parse"
    );
    // A Document Signer is not a trust anchor.
    assert_eq!(
        code("[[anchor]]\nfile = \"ds.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"*\"]\n"),
        "Trust.Anchor.Certificate.NotCa"
    );
    // One root for anything and for one docType: which did the operator mean?
    assert_eq!(
        code(
            "[[anchor]]\nfile = \"mois.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"*\"]\n\
             [[anchor]]\nfile = \"mois.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"kr.go.mois.rrc.1\"]\n"
        ),
        "Trust.Anchor.Certificate.ScopeConflict"
    );
    assert_eq!(
        code(
            "[[anchor]]\nfile = \"missing.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"*\"]\n"
        ),
        "Trust.Io"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_sd_jwt_vc_signed_by_kid_verifies_with_keys_from_the_configuration() {
    let dir = scratch("kid");
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let mut jwk = key.public_key().to_jwk();
    jwk.kid = Some("issuer-key-1".into());
    write(
        &dir,
        "issuer.jwks.json",
        &json!({ "keys": [serde_json::to_value(&jwk).unwrap()] }).to_string(),
    );
    let config = TrustConfig::from_toml(
        r#"
[[issuer]]
iss = "https://issuer.example"
jwks = "issuer.jwks.json"
purposes = ["sd-jwt-vc-issuer"]
"#,
        dir.clone(),
    )
    .unwrap();
    let keys = config.issuer_keys(TrustPurpose::SdJwtVcIssuer).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].1.as_deref(), Some("issuer-key-1"));
    assert!(
        config
            .issuer_keys(TrustPurpose::StatusListSigner)
            .unwrap()
            .is_empty()
    );

    let signer: Arc<dyn Signer> = Arc::new(key);
    let holder = PrivateKey::generate(Curve::P256).unwrap();
    let issued = SdJwtVcIssuer::with_key_id(
        signer,
        "https://issuer.example".into(),
        "issuer-key-1".into(),
        Arc::new(SystemRandom),
    )
    .issue(
        &Card::from(samples::resident()),
        holder.public_key(),
        &VcOptions::new(now(), now() + time::Duration::days(30)),
    )
    .unwrap();
    let verified = SdJwtVcVerifier::new(IssuerKeys::KeySet(keys))
        .danger_accept_unchecked_status()
        .verify(&issued.to_compact(), now())
        .unwrap();
    assert_eq!(verified.iss.as_deref(), Some("https://issuer.example"));

    // A JWK Set holding a private key is refused, not used.
    let private = key_with_d();
    write(&dir, "private.jwks.json", &private);
    let config = TrustConfig::from_toml(
        "[[issuer]]\niss = \"x\"\njwks = \"private.jwks.json\"\npurposes = [\"sd-jwt-vc-issuer\"]\n",
        dir.clone(),
    )
    .unwrap();
    assert!(matches!(
        config.issuer_keys(TrustPurpose::SdJwtVcIssuer).unwrap_err(),
        TrustConfigError::Jwks {
            why: "a private key",
            ..
        }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The facade takes the configuration whole: a wallet and a verifier built from one file
/// accept an SD-JWT VC identified only by `iss` and `kid`, the verifier resolves another
/// issuer's key from its JWT VC Issuer Metadata (only for an `iss` the file allows), and the
/// mdoc roots and the SD-JWT VC roots stay apart.
#[test]
fn wallet_and_verifier_from_one_configuration_resolve_kid_only_issuers_and_metadata() {
    use kmid::sdjwt::vc::metadata::Fetched;
    let dir = scratch("facade-kid");
    let at = now();
    let kid_key = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let mut jwk = kid_key.public_key().to_jwk();
    jwk.kid = Some("k1".into());
    write(
        &dir,
        "kid.jwks.json",
        &json!({ "keys": [serde_json::to_value(&jwk).unwrap()] }).to_string(),
    );
    // A MOIS issuer whose IACA is an mdoc anchor only: its SD-JWT VCs (x5c) are not trusted.
    let mois = issuer(IssuingAuthority::Mois);
    write(&dir, "mois-iaca.pem", &mois.keys().iaca.to_pem().unwrap());
    let config = TrustConfig::from_toml(
        r#"
metadata_issuers = ["https://meta.example/issuer"]

[[anchor]]
file = "mois-iaca.pem"
purposes = ["mdoc-issuer"]
scopes = ["kr.go.mois.rrc.1"]

[[issuer]]
iss = "https://kid.example"
jwks = "kid.jwks.json"
purposes = ["sd-jwt-vc-issuer"]
"#,
        dir.clone(),
    )
    .unwrap();
    let holder = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let device: Arc<dyn Signer> = holder.clone();
    let issue_by_kid = |key: &Arc<PrivateKey>, iss: &str, kid: &str| {
        SdJwtVcIssuer::with_key_id(key.clone(), iss.into(), kid.into(), Arc::new(SystemRandom))
            .issue(
                &Card::from(samples::resident()),
                holder.public_key(),
                &VcOptions::new(
                    at - time::Duration::minutes(1),
                    at + time::Duration::days(30),
                ),
            )
            .unwrap()
            .to_compact()
    };
    let mut wallet = Wallet::from_trust_config(Arc::clone(&device), &config).unwrap();
    wallet
        .store_sd_jwt(&issue_by_kid(&kid_key, "https://kid.example", "k1"), at)
        .unwrap();
    // The wallet refuses the same credential under a kid it was not given, by name.
    assert_eq!(
        Wallet::from_trust_config(Arc::clone(&device), &config)
            .unwrap()
            .store_sd_jwt(&issue_by_kid(&kid_key, "https://kid.example", "k2"), at)
            .unwrap_err()
            .code(),
        "SdJwt.IssuerKey.Unknown"
    );
    // MOIS's mdoc verifies; its SD-JWT VC, chained to an anchor not trusted for SD-JWT VC,
    // does not.
    let issued = mois
        .issue(
            &Card::from(samples::resident()),
            holder.public_key(),
            Formats::Both,
            at,
        )
        .unwrap();
    wallet
        .store_mdoc(issued.mdoc.unwrap().issuer_signed, at)
        .unwrap();
    assert_eq!(
        wallet
            .store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), at)
            .unwrap_err()
            .code(),
        "SdJwt.IssuerKey.Chain.Certificate.UntrustedRoot"
    );

    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let meta_key = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let mut meta_jwk = meta_key.public_key().to_jwk();
    meta_jwk.kid = Some("m1".into());
    let document = json!({
        "issuer": "https://meta.example/issuer",
        "jwks": { "keys": [serde_json::to_value(&meta_jwk).unwrap()] },
    })
    .to_string();
    let seen = Arc::clone(&fetches);
    let fetcher = move |url: &str| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (url == "https://meta.example/.well-known/jwt-vc-issuer/issuer").then(|| Fetched {
            body: document.clone().into_bytes(),
            max_age: Some(600),
        })
    };
    let verifier = Verifier::from_trust_config(&config, Arc::new(AllValid), None)
        .unwrap()
        .with_issuer_metadata(Arc::new(config.metadata_resolver(fetcher).unwrap()));
    let request =
        Template::AgeCheck.sd_jwt_request(CardType::Resident, "n-1", "https://rp.example");
    let present = |issued: &str| {
        let mut w = Wallet::with_signer(Arc::clone(&device), kmid::crypto::x509::TrustStore::new())
            .with_sd_jwt_issuer_keys(vec![
                (
                    "https://kid.example".into(),
                    Some("k1".into()),
                    kid_key.public_key().clone(),
                ),
                (
                    "https://meta.example/issuer".into(),
                    Some("m1".into()),
                    meta_key.public_key().clone(),
                ),
            ]);
        w.store_sd_jwt(issued, at).unwrap();
        w.present_sd_jwt(&request, at).unwrap()
    };
    let by_kid = verifier
        .verify_sd_jwt(
            &request,
            &present(&issue_by_kid(&kid_key, "https://kid.example", "k1")),
            at,
        )
        .unwrap();
    assert_eq!(by_kid.issuer.as_deref(), Some("https://kid.example"));
    assert_eq!(by_kid.claim(ClaimId::AgeOver19), Some(&json!(true)));
    assert_eq!(
        fetches.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a configured key needs no fetch"
    );
    let by_metadata = verifier
        .verify_sd_jwt(
            &request,
            &present(&issue_by_kid(
                &meta_key,
                "https://meta.example/issuer",
                "m1",
            )),
            at,
        )
        .unwrap();
    assert_eq!(
        by_metadata.issuer.as_deref(),
        Some("https://meta.example/issuer")
    );
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    // An issuer neither configured nor allowed for metadata is never fetched.
    let other = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let stranger = {
        let mut w = Wallet::with_signer(Arc::clone(&device), kmid::crypto::x509::TrustStore::new())
            .with_sd_jwt_issuer_keys(vec![(
                "https://other.example".into(),
                None,
                other.public_key().clone(),
            )]);
        w.store_sd_jwt(&issue_by_kid(&other, "https://other.example", "o1"), at)
            .unwrap();
        w.present_sd_jwt(&request, at).unwrap()
    };
    assert_eq!(
        verifier
            .verify_sd_jwt(&request, &stranger, at)
            .unwrap_err()
            .code(),
        "SdJwt.IssuerKey.Metadata.NotAllowed"
    );
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn key_with_d() -> String {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    json!({ "keys": [serde_json::to_value(key.to_jwk().unwrap()).unwrap()] }).to_string()
}

/// A MOIS issuer on the test PKI (whose IACA key signs CRLs), a wallet holding its resident
/// mdoc, and the age-check presentation.
fn revocation_fixture() -> (
    kmid_testkit::TestPki,
    Vec<u8>,
    kmid::mdoc::model::DeviceRequest,
    (kmid::SdJwtRequest, String),
    Vec<kmid::PublishedList>,
) {
    use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
    use kmid_testkit::{Authority, REFERENCE_TIME, Rfc6979Signer, SeededRandom, TestPki};
    let pki = TestPki::new();
    let ipki = pki.issuer(Authority::Mois);
    let keys = kmid::AuthorityKeys {
        authority: IssuingAuthority::Mois,
        iaca: ipki.iaca.clone(),
        document_signer: ipki.ds.clone(),
        signer: Arc::new(Rfc6979Signer::for_test_key("mois-ds")),
    };
    let random = Arc::new(SeededRandom::new(b"revocation"));
    let issuer = kmid::Issuer::new(
        keys,
        StatusRegistry::new(
            MemoryStore::new(),
            RegistryConfig::new("https://status.kmid.invalid/mois/lists"),
            random.clone(),
        ),
        kmid::CardKeySecret::from_bytes([1; 32]),
        random,
    );
    let mut wallet = Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        pki.trust_store(),
    );
    let issued = issuer
        .issue(
            &Card::from(samples::resident()),
            wallet.device_key(),
            Formats::Both,
            REFERENCE_TIME,
        )
        .unwrap();
    wallet.store_issued(issued, REFERENCE_TIME).unwrap();
    let sd_request =
        Template::AgeCheck.sd_jwt_request(CardType::Resident, "n-crl", "https://rp.example");
    let sd_presentation = wallet.present_sd_jwt(&sd_request, REFERENCE_TIME).unwrap();
    let request = Template::AgeCheck.mdoc_request(CardType::Resident);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet
        .respond_mdoc(&request, &transcript, REFERENCE_TIME)
        .unwrap()
        .to_bytes();
    let lists = issuer.publish(REFERENCE_TIME, 3600).unwrap();
    (pki, response, request, (sd_request, sd_presentation), lists)
}

#[test]
fn a_revoked_document_signer_is_refused_when_the_anchor_asks_for_crls() {
    use kmid::crypto::x509::issue_crl;
    use kmid_testkit::{Authority, REFERENCE_TIME};
    let dir = scratch("crl");
    let (pki, response, request, (sd_request, sd_presentation), _) = revocation_fixture();
    let mois = pki.issuer(Authority::Mois);
    write(&dir, "mois.pem", &mois.iaca.to_pem().unwrap());
    let from = REFERENCE_TIME - time::Duration::days(1);
    let revoking = issue_crl(
        &mois.iaca,
        &mois.iaca_signer,
        from,
        from + time::Duration::days(7),
        &[&mois.ds],
        7,
    )
    .unwrap()
    .der()
    .to_vec();
    let uri = mois.ds.crl_uri().unwrap().to_owned();
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let verify = |crl: &str, served: Option<Vec<u8>>| {
        let config = TrustConfig::from_toml(
            &format!(
                "[[anchor]]\nfile = \"mois.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"kr.go.mois.rrc.1\"]\n{crl}"
            ),
            dir.clone(),
        )
        .unwrap();
        let uri = uri.clone();
        let store = config
            .trust_store_with_crls(
                TrustPurpose::MdocIssuer,
                Arc::new(move |asked: &str| if asked == uri { served.clone() } else { None }),
            )
            .unwrap();
        let verifier = Verifier::new(store, Arc::new(AllValid));
        let mdoc = verifier
            .verify_mdoc(&request, &response, &transcript, REFERENCE_TIME)
            .map(|seen| seen[0].revocation_unknown.clone())
            .map_err(|e| e.code());
        // The SD-JWT VC's x5c chain is the same Document Signer's: the same outcome.
        let sd_jwt = verifier
            .verify_sd_jwt(&sd_request, &sd_presentation, REFERENCE_TIME)
            .map(|seen| seen.revocation_unknown)
            .map_err(|e| e.code().replace("SdJwt.IssuerKey.", "Mdoc.IssuerAuth."));
        assert_eq!(
            mdoc.clone().map_err(str::to_owned),
            sd_jwt,
            "both formats agree"
        );
        mdoc
    };
    assert_eq!(
        verify("crl = \"hard-fail\"\n", Some(revoking.clone())),
        Err("Mdoc.IssuerAuth.Chain.Certificate.Revoked")
    );
    assert_eq!(
        verify("crl = \"hard-fail\"\n", None),
        Err("Mdoc.IssuerAuth.Chain.Certificate.RevocationUnavailable")
    );
    // Soft-fail accepts, and says which certificate went unchecked (the Document Signer).
    assert_eq!(verify("crl = \"soft-fail\"\n", None), Ok(vec![0]));
    // An anchor without a CRL policy is not checked, whatever is served.
    assert_eq!(verify("", Some(revoking)), Ok(vec![]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A VICAL provider: its root and its signer (EKU 1.0.18013.5.1.8).
/// A status list whose signer (here the MOIS Document Signer, `x5c`) is on its IACA's CRL is
/// refused under an anchor that asks for CRLs, as a credential signed by it is; the same list
/// passes when the CRL does not list the signer.
#[test]
fn a_status_list_signed_by_a_revoked_signer_is_refused() {
    use kmid::crypto::x509::issue_crl;
    use kmid::status::StatusListResolver;
    use kmid::status::token::{TokenKeys, TokenPolicy};
    use kmid_testkit::{Authority, REFERENCE_TIME};
    let dir = scratch("status-crl");
    let (pki, response, request, _, lists) = revocation_fixture();
    let mois = pki.issuer(Authority::Mois);
    write(&dir, "mois.pem", &mois.iaca.to_pem().unwrap());
    let from = REFERENCE_TIME - time::Duration::days(1);
    let crl = |revoked: &[&kmid::crypto::x509::Certificate]| {
        issue_crl(
            &mois.iaca,
            &mois.iaca_signer,
            from,
            from + time::Duration::days(7),
            revoked,
            9,
        )
        .unwrap()
        .der()
        .to_vec()
    };
    // Credentials are trusted without CRLs; only the status-list-signer anchor asks for them.
    let config = TrustConfig::from_toml(
        "[[anchor]]\nfile = \"mois.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"kr.go.mois.rrc.1\"]\n\n[[anchor]]\nfile = \"mois.pem\"\npurposes = [\"status-list-signer\"]\nscopes = [\"kr.go.mois.rrc.1\"]\ncrl = \"hard-fail\"\n",
        dir.clone(),
    )
    .unwrap();
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let verify = |served: Vec<u8>| {
        let signers = config
            .trust_store_with_crls(
                TrustPurpose::StatusListSigner,
                Arc::new(move |_: &str| Some(served.clone())),
            )
            .unwrap();
        let lists = lists.clone();
        let fetch = move |uri: &str, _: &str| {
            lists
                .iter()
                .find(|l| l.uri == uri)
                .map(|l| l.jwt.clone().into_bytes())
        };
        let resolver =
            StatusListResolver::new(fetch, TokenKeys::X5c(signers), TokenPolicy::default());
        Verifier::new(
            config.trust_store(TrustPurpose::MdocIssuer).unwrap(),
            Arc::new(resolver),
        )
        .verify_mdoc(&request, &response, &transcript, REFERENCE_TIME)
        .map(|seen| seen[0].status)
        .map_err(|e| e.code())
    };
    assert_eq!(
        verify(crl(&[])),
        Ok(Some(kmid::schema::status::TokenStatus::Valid))
    );
    assert_eq!(
        verify(crl(&[&mois.ds])),
        Err("Mdoc.StatusUnavailable.InvalidToken.SignerRevoked")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn vical_provider(
    name: &str,
) -> (
    kmid::crypto::x509::Certificate,
    PrivateKey,
    kmid::crypto::x509::Certificate,
) {
    use kmid::crypto::x509::{CertificateKind, CertificateParams, issue_certificate};
    let params = |kind, cn: &str| CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some(name.into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: now() - time::Duration::days(1),
        not_after: now() + time::Duration::days(300),
        issuer_alt_name: Some("https://vical.kmid.invalid".into()),
        crl_uri: None,
        dns_names: Vec::new(),
    };
    let root_key = PrivateKey::generate(Curve::P256).unwrap();
    let root = issue_certificate(
        &params(CertificateKind::Iaca, &format!("{name} VICAL root")),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let signer_key = PrivateKey::generate(Curve::P256).unwrap();
    let signer = issue_certificate(
        &params(
            CertificateKind::VicalSigner,
            &format!("{name} VICAL signer"),
        ),
        signer_key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    (root, signer_key, signer)
}

#[test]
fn a_vical_of_the_korean_iacas_round_trips_and_only_its_providers_signature_counts() {
    use kmid::mdoc::vical::{Vical, VicalEntry};
    let dir = scratch("vical");
    let mois = issuer(IssuingAuthority::Mois);
    let oka = issuer(IssuingAuthority::Oka);
    let list = Vical {
        version: "1.0".into(),
        provider: "kmid test VICAL".into(),
        date: now(),
        issue_id: Some(1),
        next_update: Some(now() + time::Duration::days(30)),
        entries: [&mois, &oka]
            .iter()
            .map(|i| VicalEntry {
                certificate: i.keys().iaca.clone(),
                doc_types: vec![i.keys().authority.card_type().doc_type().to_owned()],
                issuing_authority: Some(i.keys().authority.name().to_owned()),
                issuing_country: Some("KR".into()),
            })
            .collect(),
    };
    let (root, signer_key, signer) = vical_provider("kmid");
    let signed = list
        .sign(&signer_key, std::slice::from_ref(&signer))
        .unwrap();
    let mut anchors = kmid::crypto::x509::TrustStore::new();
    anchors.add(root.clone()).unwrap();
    let read = Vical::verify(
        &signed,
        &anchors,
        now(),
        kmid::crypto::CryptoProvider::get_default(),
    )
    .unwrap();
    assert_eq!(read, list);

    // As a source of anchors in the trust configuration.
    std::fs::write(dir.join("korea.vical"), &signed).unwrap();
    write(&dir, "vical-root.pem", &root.to_pem().unwrap());
    let config = TrustConfig::from_toml(
        "[[vical]]\nfile = \"korea.vical\"\nanchor = \"vical-root.pem\"\npurposes = [\"mdoc-issuer\"]\n",
        dir.clone(),
    )
    .unwrap();
    let store = config.trust_store(TrustPurpose::MdocIssuer).unwrap();
    assert_eq!(store.roots().len(), 2);
    let mois_index = store
        .roots()
        .iter()
        .position(|r| *r == mois.keys().iaca)
        .unwrap();
    assert!(store.allows(mois_index, "kr.go.mois.rrc.1"));
    assert!(!store.allows(mois_index, "kr.go.oka.onid.1"));

    // Signed by another provider, whose root this configuration does not name: refused.
    let (_, other_key, other_signer) = vical_provider("someone else");
    std::fs::write(
        dir.join("korea.vical"),
        list.sign(&other_key, &[other_signer]).unwrap(),
    )
    .unwrap();
    assert_eq!(
        kmid::KmidError::from(config.trust_store(TrustPurpose::MdocIssuer).unwrap_err()).code(),
        "Trust.Vical"
    );
    // Signed by a certificate without the VICAL signer EKU (a Document Signer): refused.
    let ds_signed = list
        .sign(&*mois.keys().signer, &[mois.keys().document_signer.clone()])
        .unwrap();
    let mut mois_anchor = kmid::crypto::x509::TrustStore::new();
    mois_anchor.add(mois.keys().iaca.clone()).unwrap();
    assert_eq!(
        Vical::verify(
            &ds_signed,
            &mois_anchor,
            now(),
            kmid::crypto::CryptoProvider::get_default()
        )
        .unwrap_err(),
        kmid::mdoc::MdocError::Vical("the signer does not chain to a VICAL anchor")
    );
    // A tampered list fails its signature; a stale one is refused.
    // One byte of the provider's name changed under the signature.
    let needle = b"kmid test VICAL";
    let at = signed
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut tampered = signed.clone();
    tampered[at] ^= 1;
    assert!(matches!(
        Vical::verify(
            &tampered,
            &anchors,
            now(),
            kmid::crypto::CryptoProvider::get_default()
        ),
        Err(kmid::mdoc::MdocError::Vical(
            "the signature does not verify"
        ))
    ));
    assert!(matches!(
        Vical::verify(
            &signed,
            &anchors,
            now() + time::Duration::days(31),
            kmid::crypto::CryptoProvider::get_default()
        ),
        Err(kmid::mdoc::MdocError::Vical("past its nextUpdate"))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
