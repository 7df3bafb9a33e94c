//! The attack suite's second part: the online protocols. OpenID4VP responses a verifier must
//! refuse (substitution and replay across transactions, a presentation relayed by another
//! verifier, a downgraded `enc` or `alg`, a response in the wrong mode, another
//! transaction's `response_code`), signed requests a wallet must refuse (mix-up between
//! verifiers, a replayed or stale request object, a registration attestation for another
//! verifier or claim), OpenID4VCI exchanges an issuer must refuse (token, code and DPoP-proof
//! theft and replay, code injection across PAR requests, an offer redeemed twice), and
//! certificate revocation (a revoked Document Signer, a CRL substituted, forged or stale).
//!
//! Everything is deterministic: the verifier, wallet and issuer draw from seeded sources and
//! sign with RFC 6979, so the files come out the same on every run.

use std::sync::Arc;

use kmid::crypto::Signer;
use kmid::crypto::jose::{b64url, b64url_decode, sign_compact};
use kmid::crypto::x509::{
    Certificate, CertificateKind, CertificateParams, chain_to_x5c, issue_certificate,
};
use kmid::oid4vc::request::ResponseMode;
use kmid::oid4vc::response::{
    AuthorizationResponse, HAIP_ENC_VALUES, PostedResponse, ResponseEncryption, ResponseKey,
    direct_post_jwt_body, parse_direct_post,
};
use kmid::schema::CardType;
use kmid::{Format, OnlineRequest, Template, Verifier, VerifierAccess};
use kmid_testkit::{Rfc6979Signer, SeededRandom, TestPki};
use serde_json::{Map, Value, json};
use time::Duration;

use crate::conformance::{
    AT, Error, Fixture, NoStatus, Out, REGISTRAR, REGISTRAR_KID, expected_invalid, pretty,
};

const RESPONSE_URI: &str = "https://bank.kmid.invalid/openid4vp/response";
const SHOP_RESPONSE_URI: &str = "https://shop.kmid.invalid/openid4vp/response";
const FULL_IDENTITY_BASIS: &str =
    "Act on Real Name Financial Transactions and Confidentiality, Art. 3";

/// A reader (verifier access) certificate for `dns` under the test reader root, or under
/// the attacker's look-alike root when `root` is given.
fn reader_certificate(
    pki: &TestPki,
    key: &str,
    dns: &str,
    root: Option<(&Certificate, &Rfc6979Signer)>,
) -> Result<Certificate, Error> {
    let signer = Rfc6979Signer::for_test_key(key);
    let params = CertificateParams {
        kind: CertificateKind::ReaderAuthentication,
        country: "KR".into(),
        organization: Some(format!("kmid test verifier {dns}")),
        state_or_province: None,
        common_name: dns.into(),
        not_before: AT - Duration::days(30),
        not_after: AT + Duration::days(300),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: vec![dns.into()],
    };
    let random = SeededRandom::new(format!("kmid vectors online: reader {key}").as_bytes());
    let root_signer = Rfc6979Signer::for_test_key("reader-root");
    let (issuer, issuer_signer) = root.unwrap_or((&pki.reader_root, &root_signer));
    Ok(issue_certificate(
        &params,
        signer.public_key(),
        Some(issuer),
        issuer_signer,
        &random,
    )?)
}

/// A verifier's side of the online attacks: its access, and requests made on a seeded
/// provider.
struct Rp {
    verifier: Verifier,
    access: VerifierAccess,
    signer: Arc<dyn Signer>,
    chain: Vec<Certificate>,
}

impl Rp {
    fn new(seed: &str, key: &str, leaf: Certificate) -> Result<Self, Error> {
        let signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key(key));
        Ok(Self {
            verifier: Verifier::new(kmid::crypto::x509::TrustStore::new(), Arc::new(NoStatus))
                .with_provider(crate::conformance::seeded_provider(seed)),
            access: VerifierAccess::x509_hash(
                kmid::crypto::CryptoProvider::get_default(),
                Arc::clone(&signer),
                vec![leaf.clone()],
            )?,
            signer,
            chain: vec![leaf],
        })
    }

    /// Signs `payload` as a Request Object by this verifier's key and chain, whatever it
    /// says (a forgery the checks of `sign_request_object` would stop).
    fn sign_raw(&self, payload: &Value) -> Result<String, Error> {
        let mut header = Map::new();
        header.insert("typ".into(), json!("oauth-authz-req+jwt"));
        header.insert("x5c".into(), json!(chain_to_x5c(&self.chain)));
        Ok(sign_compact(
            header,
            payload.to_string().as_bytes(),
            &self.signer,
        )?)
    }

    fn request(
        &self,
        query: &kmid::DcqlQuery,
        mode: ResponseMode,
        response_uri: &str,
        same_device: bool,
    ) -> Result<OnlineRequest, Error> {
        Ok(self.verifier.request_online(
            &self.access,
            query,
            mode,
            response_uri,
            same_device,
            AT,
        )?)
    }
}

/// The response key of an exported transaction.
fn response_key(online: &OnlineRequest) -> Result<ResponseKey, Error> {
    let exported = online.export()?;
    let jwk: kmid::crypto::Jwk = serde_json::from_value(
        exported
            .pointer("/transaction/key")
            .cloned()
            .ok_or("no response key")?,
    )?;
    Ok(ResponseKey::from_jwk(&jwk)?)
}

/// The JWE of a `direct_post.jwt` body.
fn jwe_of(body: &str) -> Result<String, Error> {
    match parse_direct_post(body.as_bytes())? {
        PostedResponse::Encrypted(jwe) => Ok(jwe),
        PostedResponse::Plain(_) => Err("not an encrypted body".into()),
    }
}

/// What an attacker holding `from`'s response key does: decrypts the body the wallet made for
/// `from`, puts `to`'s `state` in it and encrypts it to `to`'s key (both public in `to`'s
/// request).
fn readdress(
    from: &OnlineRequest,
    body: &str,
    to: &OnlineRequest,
    random: &SeededRandom,
) -> Result<String, Error> {
    let provider = kmid::crypto::CryptoProvider::get_default();
    let response = response_key(from)?.decrypt(provider, &jwe_of(body)?, &HAIP_ENC_VALUES)?;
    let AuthorizationResponse::Success { vp_token, .. } = response else {
        return Err("not a success response".into());
    };
    let moved = AuthorizationResponse::Success {
        vp_token,
        state: Some(to.state().to_owned()),
    };
    let encryption = ResponseEncryption::for_request(&to.authorization)?;
    Ok(direct_post_jwt_body(
        &encryption.encrypt(provider, random, &moved)?,
    ))
}

/// A JWE with its protected header changed by `edit` (the rest left as it was).
fn edit_jwe_header(body: &str, edit: &dyn Fn(&mut Map<String, Value>)) -> Result<String, Error> {
    let jwe = jwe_of(body)?;
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let first = parts.first_mut().ok_or("no header")?;
    let mut header: Map<String, Value> = serde_json::from_slice(&b64url_decode(first)?)?;
    edit(&mut header);
    *first = b64url(serde_json::to_string(&header)?.as_bytes());
    Ok(direct_post_jwt_body(&parts.join(".")))
}

/// Adds the online attack cases to `out`: `f` is the resident card's fixture (its wallet
/// holds the card in both formats); `sd_jwt_vc` is the SD-JWT VC it holds.
///
/// # Errors
/// Signing or encoding failures, or a forgery that could not be made.
pub(crate) fn online_cases(
    pki: &TestPki,
    f: &Fixture,
    sd_jwt_vc: &str,
    out: &mut Out,
) -> Result<(), Error> {
    verifier_cases(pki, f, out)?;
    wallet_cases(pki, f, sd_jwt_vc, out)?;
    Ok(())
}

/// One verifier-side case: the transaction, the bodies posted to it, and what is refused.
struct VpCase<'a> {
    id: &'a str,
    mutation: &'a str,
    transaction: &'a String,
    earlier: Vec<&'a String>,
    response: &'a String,
    response_code: Option<&'a str>,
    expected: Value,
}

/// One wallet-side case: the Request Object and how it reached the wallet.
struct WalletRequest<'a> {
    id: &'a str,
    mutation: &'a str,
    object: String,
    url_client_id: Option<String>,
    wallet_nonce: Option<&'a str>,
    expected: Value,
}

/// Responses a verifier must refuse, for each format.
#[allow(clippy::too_many_lines)]
fn verifier_cases(pki: &TestPki, f: &Fixture, out: &mut Out) -> Result<(), Error> {
    let card = CardType::Resident;
    let bank = Rp::new("kmid vectors online: bank", "reader", f.reader.clone())?;
    let shop = Rp::new(
        "kmid vectors online: shop",
        "shop-reader",
        reader_certificate(pki, "shop-reader", "shop.kmid.invalid", None)?,
    )?;
    let random = SeededRandom::new(b"kmid vectors online: attacker");
    for (format, fid) in [(Format::SdJwtVc, "sd-jwt-vc"), (Format::Mdoc, "mdoc")] {
        let query = Template::AgeCheck.dcql_query(card, format);
        let answer = |online: &OnlineRequest| -> Result<String, Error> {
            Ok(f.wallet
                .answer_online(
                    online.request_object.as_deref().ok_or("a signed request")?,
                    None,
                    None,
                    AT,
                )?
                .body)
        };
        let a = bank.request(&query, ResponseMode::DirectPostJwt, RESPONSE_URI, false)?;
        let a2 = bank.request(&query, ResponseMode::DirectPostJwt, RESPONSE_URI, false)?;
        let c = bank.request(&query, ResponseMode::DirectPost, RESPONSE_URI, false)?;
        let c2 = bank.request(&query, ResponseMode::DirectPost, RESPONSE_URI, false)?;
        let s = bank.request(&query, ResponseMode::DirectPostJwt, RESPONSE_URI, true)?;
        let mut s2 = bank.request(&query, ResponseMode::DirectPostJwt, RESPONSE_URI, true)?;
        let (a_body, a2_body, c2_body) = (answer(&a)?, answer(&a2)?, answer(&c2)?);
        let (s_body, s2_body) = (answer(&s)?, answer(&s2)?);
        // The shop relays the bank's nonce in a request of its own (its client_id, its key):
        // the wallet answers the shop, which re-addresses the answer to the bank.
        let mut relay = shop.request(
            &query,
            ResponseMode::DirectPostJwt,
            SHOP_RESPONSE_URI,
            false,
        )?;
        relay.authorization.nonce.clone_from(&a.authorization.nonce);
        relay.request_object = Some(shop.sign_raw(&serde_json::to_value(&relay.authorization)?)?);
        let relayed = readdress(&relay, &answer(&relay)?, &a, &random)?;
        let other_code = bank
            .verifier
            .complete_online(&mut s2, s2_body.as_bytes(), AT)?
            .ok_or("no response_code")?;
        let base = format!("online/openid4vp/{fid}");
        let mut tx = |o: &OnlineRequest, name: &str| -> Result<String, Error> {
            Ok(out.file(
                format!("{base}/{name}.transaction.json"),
                pretty(&o.export()?)?,
            ))
        };
        let (a_tx, c_tx, s_tx) = (tx(&a, "a")?, tx(&c, "c")?, tx(&s, "same-device")?);
        let mut body = |name: &str, text: &str| {
            out.file(format!("{base}/{name}.response.txt"), format!("{text}\n"))
        };
        let a_file = body("a", &a_body);
        let s_file = body("same-device", &s_body);
        let kid_rewritten = body(
            "kid-rewritten",
            &edit_jwe_header(&a2_body, &|h| {
                h.insert(
                    "kid".into(),
                    json!(
                        a.authorization
                            .client_metadata
                            .as_ref()
                            .and_then(|m| m.jwks.as_ref())
                            .and_then(|k| k.pointer("/keys/0/kid").and_then(Value::as_str))
                            .unwrap_or_default()
                    ),
                );
            })?,
        );
        let replayed_across = body(
            "presentation-of-another-transaction",
            &readdress(&a2, &a2_body, &a, &random)?,
        );
        let relayed = body("presentation-relayed-by-another-verifier", &relayed);
        let enc_cbc = body(
            "enc-a128cbc-hs256",
            &edit_jwe_header(&a_body, &|h| {
                h.insert("enc".into(), json!("A128CBC-HS256"));
            })?,
        );
        let alg_kw = body(
            "alg-ecdh-es-a128kw",
            &edit_jwe_header(&a_body, &|h| {
                h.insert("alg".into(), json!("ECDH-ES+A128KW"));
            })?,
        );
        let zip = body(
            "zip-def",
            &edit_jwe_header(&a_body, &|h| {
                h.insert("zip".into(), json!("DEF"));
            })?,
        );
        let c2_file = body("c2", &c2_body);
        let cases = [
            VpCase {
                id: "replayed",
                mutation: "the response the transaction took, posted again",
                transaction: &a_tx,
                earlier: vec![&a_file],
                response: &a_file,
                response_code: None,
                expected: expected_invalid("Oid4vp.Replayed"),
            },
            VpCase {
                id: "state-of-another-transaction",
                mutation: "a direct_post response made for another transaction (its state) posted to this one's response_uri",
                transaction: &c_tx,
                earlier: vec![],
                response: &c2_file,
                response_code: None,
                expected: expected_invalid("Oid4vp.StateMismatch"),
            },
            VpCase {
                id: "kid-rewritten",
                mutation: "a response encrypted to another transaction's key, its kid rewritten to this transaction's",
                transaction: &a_tx,
                earlier: vec![],
                response: &kid_rewritten,
                response_code: None,
                expected: expected_invalid("Oid4vp.Jwe.Decryption"),
            },
            VpCase {
                id: "presentation-of-another-transaction",
                mutation: "another transaction's presentation, re-encrypted to this transaction's key with its state (both public in the request)",
                transaction: &a_tx,
                earlier: vec![],
                response: &replayed_across,
                response_code: None,
                expected: expected_invalid(if format == Format::Mdoc {
                    "Mdoc.DeviceAuth.BadSignature"
                } else {
                    "SdJwt.KeyBinding.NonceMismatch"
                }),
            },
            VpCase {
                id: "presentation-relayed-by-another-verifier",
                mutation: "mix-up: another verifier copied this request's nonce into its own request, and relays the wallet's answer re-encrypted to this transaction",
                transaction: &a_tx,
                earlier: vec![],
                response: &relayed,
                response_code: None,
                expected: expected_invalid(if format == Format::Mdoc {
                    "Mdoc.DeviceAuth.BadSignature"
                } else {
                    "SdJwt.KeyBinding.AudienceMismatch"
                }),
            },
            VpCase {
                id: "enc-downgrade",
                mutation: "the response's enc changed to A128CBC-HS256, which HAIP does not allow",
                transaction: &a_tx,
                earlier: vec![],
                response: &enc_cbc,
                response_code: None,
                expected: expected_invalid("Oid4vp.Jwe.Encryption"),
            },
            VpCase {
                id: "alg-downgrade",
                mutation: "the response's alg changed to ECDH-ES+A128KW (key wrapping instead of direct key agreement)",
                transaction: &a_tx,
                earlier: vec![],
                response: &alg_kw,
                response_code: None,
                expected: expected_invalid("Oid4vp.Jwe.Algorithm"),
            },
            VpCase {
                id: "zip",
                mutation: "a compressed response (zip DEF): a decompression step the verifier never runs",
                transaction: &a_tx,
                earlier: vec![],
                response: &zip,
                response_code: None,
                expected: expected_invalid("Oid4vp.Jwe.Unsupported"),
            },
            VpCase {
                id: "encrypted-to-clear-transaction",
                mutation: "an encrypted response posted to a direct_post (clear) transaction",
                transaction: &c_tx,
                earlier: vec![],
                response: &a_file,
                response_code: None,
                expected: expected_invalid("Oid4vp.ResponseMode"),
            },
            VpCase {
                id: "response-code-of-another-transaction",
                mutation: "a same-device result asked for with the response_code another transaction returned",
                transaction: &s_tx,
                earlier: vec![],
                response: &s_file,
                response_code: Some(other_code.as_str()),
                expected: expected_invalid("Oid4vp.ResponseCode"),
            },
        ];
        for c in cases {
            let mut case = json!({
                "id": format!("online-openid4vp-{fid}-{}", c.id),
                "kind": "openid4vp-signed",
                "card": card.doc_type(),
                "format": query.credentials.first().map(|q| q.format.clone()),
                "template": "age-check",
                "mutation": c.mutation,
                "transaction": c.transaction,
                "earlier_responses": c.earlier,
                "response_body": c.response,
                "status_set": "current",
                "expected": c.expected,
            });
            if let (Some(code), Some(map)) = (c.response_code, case.as_object_mut()) {
                map.insert("response_code".into(), json!(code));
            }
            out.cases.push(case);
        }
    }
    Ok(())
}

/// Signed requests a wallet must refuse (each a Request Object given to a wallet that holds
/// the resident card's SD-JWT VC).
#[allow(clippy::too_many_lines)]
fn wallet_cases(pki: &TestPki, f: &Fixture, sd_jwt_vc: &str, out: &mut Out) -> Result<(), Error> {
    use kmid::registration::{REGISTRATION_NUMBER, RegistrationAttestation};
    let card = CardType::Resident;
    let bank = Rp::new(
        "kmid vectors online: bank wallet cases",
        "reader",
        f.reader.clone(),
    )?;
    let shop = Rp::new(
        "kmid vectors online: shop wallet cases",
        "shop-reader",
        reader_certificate(pki, "shop-reader", "shop.kmid.invalid", None)?,
    )?;
    // A look-alike reader root (same name as the real one) and a bank certificate under it.
    let fake_root_signer = Rfc6979Signer::for_test_key("attacker-iaca");
    let fake_root = {
        let mut params = CertificateParams {
            kind: CertificateKind::ReaderRoot,
            country: "KR".into(),
            organization: Some("kmid test relying parties".into()),
            state_or_province: None,
            common_name: "kmid test reader root".into(),
            not_before: AT - Duration::days(30),
            not_after: AT + Duration::days(3000),
            issuer_alt_name: None,
            crl_uri: None,
            dns_names: Vec::new(),
        };
        params.issuer_alt_name = Some("https://reader.kmid.invalid".into());
        issue_certificate(
            &params,
            fake_root_signer.public_key(),
            None,
            &fake_root_signer,
            &SeededRandom::new(b"kmid vectors online: look-alike reader root"),
        )?
    };
    if fake_root.subject_der() != pki.reader_root.subject_der() {
        return Err("the look-alike reader root's name differs from the real one's".into());
    }
    let impostor = Rp::new(
        "kmid vectors online: impostor",
        "attacker",
        reader_certificate(
            pki,
            "attacker",
            "bank.kmid.invalid",
            Some((&fake_root, &fake_root_signer)),
        )?,
    )?;
    let age = Template::AgeCheck.dcql_query(card, Format::SdJwtVc);
    let full = Template::FullIdentity {
        legal_basis: FULL_IDENTITY_BASIS.into(),
    }
    .dcql_query(card, Format::SdJwtVc);
    let base = |rp: &Rp, query: &kmid::DcqlQuery, mode| -> Result<Value, Error> {
        Ok(serde_json::to_value(
            &rp.request(query, mode, RESPONSE_URI, false)?.authorization,
        )?)
    };
    let bank_id = bank.access.client_id();
    let attestation = |verifier: &str,
                       claim: &str,
                       expires: time::OffsetDateTime,
                       signer: &Arc<dyn Signer>|
     -> Result<Value, Error> {
        let jwt = RegistrationAttestation {
            registrar: REGISTRAR.into(),
            verifier: verifier.into(),
            claims: vec![claim.into()],
            legal_basis: FULL_IDENTITY_BASIS.into(),
            issued_at: AT - Duration::days(1),
            expires,
        }
        .sign(signer, REGISTRAR_KID)?;
        Ok(json!([RegistrationAttestation::verifier_info(&jwt, &[])]))
    };
    let registrar = &f.registrar;
    let attacker: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("attacker"));
    let later = AT + Duration::days(30);
    let with = |mut payload: Value, edit: &dyn Fn(&mut Map<String, Value>)| {
        if let Some(map) = payload.as_object_mut() {
            edit(map);
        }
        payload
    };
    let ok = json!({ "result": "valid" });
    let registered_full = |rp: &Rp,
                           mode: ResponseMode,
                           verifier: &str,
                           claim: &str,
                           expires: time::OffsetDateTime,
                           signer: &Arc<dyn Signer>|
     -> Result<String, Error> {
        let info = attestation(verifier, claim, expires, signer)?;
        rp.sign_raw(&with(base(rp, &full, mode)?, &|m| {
            m.insert("verifier_info".into(), info.clone());
        }))
    };
    let bank_jwt = ResponseMode::DirectPostJwt;
    let none_header = json!({ "alg": "none", "typ": "oauth-authz-req+jwt" });
    let alg_none = format!(
        "{}.{}.",
        b64url(none_header.to_string().as_bytes()),
        b64url(base(&bank, &age, bank_jwt)?.to_string().as_bytes())
    );
    let cases = [
        WalletRequest {
            id: "baseline",
            mutation: "none: the bank's signed age-check request (direct_post.jwt)",
            object: bank.sign_raw(&base(&bank, &age, bank_jwt)?)?,
            url_client_id: Some(bank_id.clone()),
            wallet_nonce: None,
            expected: ok.clone(),
        },
        WalletRequest {
            id: "baseline-full-identity",
            mutation: "none: the bank's full-identity request with its registration attestation, encrypted",
            object: registered_full(
                &bank,
                bank_jwt,
                &bank_id,
                REGISTRATION_NUMBER,
                later,
                registrar,
            )?,
            url_client_id: None,
            wallet_nonce: None,
            expected: ok.clone(),
        },
        WalletRequest {
            id: "client-id-of-another-verifier",
            mutation: "mix-up: the shop signs a request naming the bank's client_id (x509_hash of the bank's certificate)",
            object: shop.sign_raw(&base(&bank, &age, bank_jwt)?)?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.HashMismatch"),
        },
        WalletRequest {
            id: "response-uri-of-another-verifier",
            mutation: "mix-up: the shop, as x509_san_dns:shop.kmid.invalid, has the response sent to the bank's response_uri",
            object: shop.sign_raw(&with(base(&shop, &age, bank_jwt)?, &|m| {
                m.insert("client_id".into(), json!("x509_san_dns:shop.kmid.invalid"));
            }))?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.SanMismatch"),
        },
        WalletRequest {
            id: "url-client-id-of-another-verifier",
            mutation: "mix-up: the bank's request object behind a request URL whose client_id is the shop's",
            object: bank.sign_raw(&base(&bank, &age, bank_jwt)?)?,
            url_client_id: Some(shop.access.client_id()),
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.ClientIdMismatch"),
        },
        WalletRequest {
            id: "aud-of-the-verifier",
            mutation: "aud is the verifier's own URL, not https://self-issued.me/v2",
            object: bank.sign_raw(&with(base(&bank, &age, bank_jwt)?, &|m| {
                m.insert("aud".into(), json!("https://bank.kmid.invalid"));
            }))?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.Audience"),
        },
        WalletRequest {
            id: "wallet-nonce-of-another-fetch",
            mutation: "a request object replayed: it echoes the wallet_nonce of an earlier fetch, not the one this wallet POSTed",
            object: bank.sign_raw(&with(base(&bank, &age, bank_jwt)?, &|m| {
                m.insert(
                    "wallet_nonce".into(),
                    json!("wallet-nonce-of-an-earlier-fetch"),
                );
            }))?,
            url_client_id: None,
            wallet_nonce: Some("wallet-nonce-of-this-fetch"),
            expected: expected_invalid("Oid4vp.WalletNonce"),
        },
        WalletRequest {
            id: "expired",
            mutation: "a captured request object used after its exp",
            object: bank.sign_raw(&with(base(&bank, &age, bank_jwt)?, &|m| {
                m.insert(
                    "iat".into(),
                    json!((AT - Duration::hours(2)).unix_timestamp()),
                );
                m.insert(
                    "exp".into(),
                    json!((AT - Duration::hours(1)).unix_timestamp()),
                );
            }))?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.Expired"),
        },
        WalletRequest {
            id: "alg-none",
            mutation: "the request object unsigned (alg none), its x5c dropped",
            object: alg_none,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.Jws.AlgorithmNotAccepted"),
        },
        WalletRequest {
            id: "look-alike-root",
            mutation: "signed under a look-alike reader root (same name as the trusted one, another key)",
            object: impostor.sign_raw(&base(&impostor, &age, bank_jwt)?)?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.Certificate.Certificate.BadSignature"),
        },
        WalletRequest {
            id: "registration-for-another-verifier",
            mutation: "the shop presents the bank's registration attestation to collect the registration number",
            object: registered_full(
                &shop,
                bank_jwt,
                &bank_id,
                REGISTRATION_NUMBER,
                later,
                registrar,
            )?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Registration.OtherVerifier"),
        },
        WalletRequest {
            id: "registration-for-another-claim",
            mutation: "the bank's attestation allows the portrait, and the request asks for the registration number",
            object: registered_full(&bank, bank_jwt, &bank_id, "portrait", later, registrar)?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Registration.OtherClaim"),
        },
        WalletRequest {
            id: "registration-expired",
            mutation: "the bank's registration attestation expired the second before",
            object: registered_full(
                &bank,
                bank_jwt,
                &bank_id,
                REGISTRATION_NUMBER,
                AT,
                registrar,
            )?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Registration.Expired"),
        },
        WalletRequest {
            id: "registration-forged",
            mutation: "a registration attestation naming the registrar and its kid, signed by the attacker",
            object: registered_full(
                &bank,
                bank_jwt,
                &bank_id,
                REGISTRATION_NUMBER,
                later,
                &attacker,
            )?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Registration.BadSignature"),
        },
        WalletRequest {
            id: "registration-number-in-the-clear",
            mutation: "downgrade: a valid registration attestation, the response mode direct_post (the number would travel in the clear)",
            object: registered_full(
                &bank,
                ResponseMode::DirectPost,
                &bank_id,
                REGISTRATION_NUMBER,
                later,
                registrar,
            )?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Withheld"),
        },
        WalletRequest {
            id: "enc-downgrade",
            mutation: "client_metadata offers only A128CBC-HS256 for the response's content encryption",
            object: bank.sign_raw(&with(base(&bank, &age, bank_jwt)?, &|m| {
                if let Some(meta) = m.get_mut("client_metadata").and_then(Value::as_object_mut) {
                    meta.insert(
                        "encrypted_response_enc_values_supported".into(),
                        json!(["A128CBC-HS256"]),
                    );
                }
            }))?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.Unsupported"),
        },
        WalletRequest {
            id: "response-key-for-signing",
            mutation: "the only key in client_metadata.jwks is marked use sig (not a key to encrypt to)",
            object: bank.sign_raw(&with(base(&bank, &age, bank_jwt)?, &|m| {
                if let Some(key) = m
                    .get_mut("client_metadata")
                    .and_then(|c| c.get_mut("jwks"))
                    .and_then(|j| j.get_mut("keys"))
                    .and_then(|k| k.get_mut(0))
                    .and_then(Value::as_object_mut)
                {
                    key.insert("use".into(), json!("sig"));
                }
            }))?,
            url_client_id: None,
            wallet_nonce: None,
            expected: expected_invalid("Oid4vp.Missing"),
        },
    ];
    let device = kmid_testkit::test_key("holder-rrc")
        .to_jwk()?
        .d
        .clone()
        .ok_or("no private scalar")?;
    let credential = out.file(
        "online/wallet/holder.sd-jwt-vc.txt".into(),
        format!("{sd_jwt_vc}\n"),
    );
    let registrar_jwk = serde_json::to_value(registrar.public_key().to_jwk())?;
    for WalletRequest {
        id,
        mutation,
        object,
        url_client_id,
        wallet_nonce,
        expected,
    } in cases
    {
        let file = out.file(
            format!("online/wallet/{id}.request-object.jwt"),
            format!("{object}\n"),
        );
        out.cases.push(json!({
            "id": format!("online-wallet-{id}"),
            "kind": "openid4vp-wallet",
            "card": card.doc_type(),
            "format": "dc+sd-jwt",
            "mutation": mutation,
            "wallet": {
                "device_key": device,
                "sd_jwt_vc": credential,
                "verifier_root": "../pki/reader-root.pem",
                "registrars": [{ "iss": REGISTRAR, "kid": REGISTRAR_KID, "jwk": registrar_jwk }],
                "request_object": file,
                "url_client_id": url_client_id,
                "wallet_nonce": wallet_nonce,
            },
            "status_set": "current",
            "expected": expected,
        }));
    }
    Ok(())
}

/// One substitution case: the status and CRL sets the verifier sees, and the error (without
/// the format's prefix).
struct Substitution {
    id: &'static str,
    mutation: &'static str,
    status_set: Option<&'static str>,
    crl_set: Option<&'static str>,
    error: Option<&'static str>,
}

/// Status and certificate revocation substitution, on the baseline presentations of both
/// formats (the cases `mdoc-baseline` and `sd-jwt-vc-baseline` already in `out`): a Status
/// List Token for the issuer's list signed under another authority's root, a list from before
/// the revocation replayed after its `exp`; the Document Signer revoked by its IACA's CRL, a
/// CRL substituted (another IACA's), forged (a look-alike IACA's key), stale, or missing.
/// Adds the status sets and CRL sets the cases name.
///
/// # Errors
/// Signing failures, or a baseline case missing.
#[allow(clippy::too_many_lines)]
pub(crate) fn substitution_cases(
    pki: &TestPki,
    status_uri: &str,
    out: &mut Out,
    status_sets: &mut Map<String, Value>,
    crl_sets: &mut Map<String, Value>,
) -> Result<(), Error> {
    use kmid::crypto::x509::issue_crl;
    use kmid::status::StatusList;
    use kmid::status::token::{TokenClaims, TokenSigner, sign_cwt, sign_jwt};
    use kmid_testkit::Authority;
    let mois = pki.issuer(Authority::Mois);
    let moj = pki.issuer(Authority::Moj);
    // An all-VALID list of the registry's shape (2 bits, 4096 entries).
    let list = StatusList::new(2, 1 << 12)?;
    let mut token_set = |name: &str,
                         key: &str,
                         chain: &[Certificate],
                         iat: time::OffsetDateTime,
                         exp: time::OffsetDateTime|
     -> Result<(), Error> {
        let signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key(key));
        let token_signer = TokenSigner {
            signer: &signer,
            chain,
            kid: None,
            provider: kmid::crypto::CryptoProvider::get_default(),
        };
        let claims = TokenClaims {
            sub: status_uri.to_owned(),
            iat: iat.unix_timestamp(),
            exp: Some(exp.unix_timestamp()),
            ttl: Some(300),
        };
        let jwt = out.file(
            format!("online/status/{name}.jwt"),
            format!("{}\n", sign_jwt(&list, &claims, &token_signer)?),
        );
        let cwt = out.file(
            format!("online/status/{name}.cwt"),
            sign_cwt(&list, &claims, &token_signer)?,
        );
        status_sets.insert(
            name.to_owned(),
            json!([{ "uri": status_uri, "jwt": jwt, "cwt": cwt }]),
        );
        Ok(())
    };
    token_set(
        "another-authority",
        "moj-ds",
        std::slice::from_ref(&moj.ds),
        AT,
        AT + Duration::days(1),
    )?;
    token_set(
        "replayed-before-revocation",
        "mois-ds",
        std::slice::from_ref(&mois.ds),
        AT - Duration::days(2),
        AT - Duration::days(1),
    )?;
    // CRLs at the Document Signer's distribution point.
    let point = mois
        .ds
        .crl_uri()
        .ok_or("the DS has no CRL distribution point")?;
    let look_alike_signer = Rfc6979Signer::for_test_key("attacker-iaca");
    let look_alike = issue_certificate(
        &CertificateParams {
            kind: CertificateKind::Iaca,
            country: "KR".into(),
            organization: Some("Ministry of the Interior and Safety".into()),
            state_or_province: None,
            common_name: "kmid test MOIS IACA".into(),
            not_before: AT - Duration::days(30),
            not_after: AT + Duration::days(3000),
            issuer_alt_name: Some("https://www.mois.go.kr".into()),
            crl_uri: None,
            dns_names: Vec::new(),
        },
        look_alike_signer.public_key(),
        None,
        &look_alike_signer,
        &SeededRandom::new(b"kmid vectors online: look-alike MOIS IACA"),
    )?;
    // The forged CRL must fail for its signature alone: the issuer name is the real IACA's.
    if look_alike.subject_der() != mois.iaca.subject_der() {
        return Err("the look-alike IACA's name differs from the real one's".into());
    }
    let mut crl_set = |name: &str, crl: Option<Vec<u8>>| {
        let entries = match crl {
            Some(der) => {
                let file = out.file(format!("online/crl/{name}.crl"), der);
                json!([{ "uri": point, "file": file }])
            }
            None => json!([]),
        };
        crl_sets.insert(name.to_owned(), entries);
    };
    let week = AT + Duration::days(7);
    let day_before = AT - Duration::days(1);
    crl_set(
        "current",
        Some(
            issue_crl(&mois.iaca, &mois.iaca_signer, day_before, week, &[], 1)?
                .der()
                .to_vec(),
        ),
    );
    crl_set(
        "ds-revoked",
        Some(
            issue_crl(
                &mois.iaca,
                &mois.iaca_signer,
                day_before,
                week,
                &[&mois.ds],
                2,
            )?
            .der()
            .to_vec(),
        ),
    );
    crl_set(
        "another-iaca",
        Some(
            issue_crl(&moj.iaca, &moj.iaca_signer, day_before, week, &[], 1)?
                .der()
                .to_vec(),
        ),
    );
    crl_set(
        "look-alike-iaca",
        Some(
            issue_crl(&look_alike, &look_alike_signer, day_before, week, &[], 3)?
                .der()
                .to_vec(),
        ),
    );
    crl_set(
        "stale",
        Some(
            issue_crl(
                &mois.iaca,
                &mois.iaca_signer,
                AT - Duration::days(8),
                AT - Duration::seconds(1),
                &[],
                1,
            )?
            .der()
            .to_vec(),
        ),
    );
    crl_set("missing", None);
    let scenarios = [
        Substitution {
            id: "status-another-authority",
            mutation: "the issuer's status list URI answered by an all-VALID token signed by another authority's (trusted) Document Signer",
            status_set: Some("another-authority"),
            crl_set: None,
            error: Some("StatusUnavailable.InvalidToken.AnotherTrustAnchor"),
        },
        Substitution {
            id: "status-replayed-before-revocation",
            mutation: "an all-VALID token of the issuer's, from before the revocation, replayed a day after its exp",
            status_set: Some("replayed-before-revocation"),
            crl_set: None,
            error: Some("StatusUnavailable.InvalidToken.Validity"),
        },
        Substitution {
            id: "crl-current",
            mutation: "none: the Document Signer's CRL, current, revoking nothing",
            status_set: None,
            crl_set: Some("current"),
            error: None,
        },
        Substitution {
            id: "crl-ds-revoked",
            mutation: "the IACA's current CRL revokes the Document Signer",
            status_set: None,
            crl_set: Some("ds-revoked"),
            error: Some("Chain.Certificate.Revoked"),
        },
        Substitution {
            id: "crl-of-another-iaca",
            mutation: "substitution: another IACA's (valid, current) CRL served at the Document Signer's distribution point",
            status_set: None,
            crl_set: Some("another-iaca"),
            error: Some("Chain.Certificate.RevocationUnavailable"),
        },
        Substitution {
            id: "crl-forged",
            mutation: "a CRL in the IACA's name, signed by a look-alike IACA's key",
            status_set: None,
            crl_set: Some("look-alike-iaca"),
            error: Some("Chain.Certificate.RevocationUnavailable"),
        },
        Substitution {
            id: "crl-stale",
            mutation: "the IACA's CRL, its nextUpdate a second before the verification time",
            status_set: None,
            crl_set: Some("stale"),
            error: Some("Chain.Certificate.RevocationUnavailable"),
        },
        Substitution {
            id: "crl-missing",
            mutation: "nothing at the distribution point (the CRL withheld)",
            status_set: None,
            crl_set: Some("missing"),
            error: Some("Chain.Certificate.RevocationUnavailable"),
        },
    ];
    for (base, prefix) in [
        ("mdoc-baseline", ("mdoc", "Mdoc", "Mdoc.IssuerAuth")),
        (
            "sd-jwt-vc-baseline",
            ("sd-jwt-vc", "SdJwt", "SdJwt.IssuerKey"),
        ),
    ] {
        let baseline = out
            .cases
            .iter()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(base))
            .cloned()
            .ok_or("no baseline case")?;
        let (id_prefix, status_prefix, chain_prefix) = prefix;
        for Substitution {
            id,
            mutation,
            status_set,
            crl_set: crl,
            error,
        } in &scenarios
        {
            let mut case = baseline.clone();
            let map = case.as_object_mut().ok_or("a case is an object")?;
            map.insert("id".into(), json!(format!("{id_prefix}-online-{id}")));
            map.insert("mutation".into(), json!(mutation));
            map.insert("status_set".into(), json!(status_set.unwrap_or("current")));
            if let Some(crl) = crl {
                map.insert("crl_set".into(), json!(crl));
            }
            let expected = match error {
                None => json!({ "result": "valid", "status": "VALID" }),
                Some(e) if e.starts_with("Chain") => {
                    expected_invalid(&format!("{chain_prefix}.{e}"))
                }
                Some(e) => expected_invalid(&format!("{status_prefix}.{e}")),
            };
            map.insert("expected".into(), expected);
            out.cases.push(case);
        }
    }
    Ok(())
}
