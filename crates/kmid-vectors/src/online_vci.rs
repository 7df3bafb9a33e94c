//! The attack suite's OpenID4VCI exchanges (`vci-exchange` cases in
//! `test-vectors/negative/online/vci/`): a fresh issuer driven through the requests an
//! attacker makes — an offer redeemed twice, a Transaction Code guessed, DPoP proofs and
//! refresh tokens stolen or replayed, an access token without its proof, an authorization
//! code injected into another session across PAR requests, a `request_uri` used by another
//! client or twice, a wallet attestation for another client or replayed — each ending in the
//! exact error the issuer gives. The server's random source is seeded, so the codes and
//! tokens in the steps are the ones kmid's server makes for the seed (see
//! `kmid::conformance::Exchange`).

use std::collections::BTreeMap;
use std::sync::Arc;

use kmid::conformance::ExchangeStep;
use kmid::crypto::jose::b64url;
use kmid::crypto::{HashAlgorithm, Signer};
use kmid::oid4vc::dpop::{DpopProof, DpopRequest};
use kmid::oid4vc::store::MemoryIssuanceStore;
use kmid::oid4vc::vci::VciError;
use kmid::oid4vc::vci::client_attestation::{
    WalletAttestationClaims, client_attestation_pop, issue_wallet_attestation,
};
use kmid::oid4vc::vci::nonce::NonceKey;
use kmid::oid4vc::vci::server::{IssuanceConfig, IssuanceServer, Lifetimes};
use kmid_testkit::{Rfc6979Signer, SeededRandom, TestPki};
use serde_json::{Map, Value, json};
use time::Duration;

use crate::conformance::{AT, Error, Out, expected_invalid};
use crate::vci::{ISSUER, form};

const SEED: &str = "kmid vectors online vci";
const NONCE_KEY: [u8; 32] = [0x3c; 32];
const WALLET: &str = "https://wallet.kmid.invalid";
const WALLET_REDIRECT: &str = "https://wallet.kmid.invalid/cb";
const EVIL_WALLET: &str = "https://evil-wallet.kmid.invalid";
const EVIL_REDIRECT: &str = "https://evil-wallet.kmid.invalid/cb";
const PRE_AUTHORIZED: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const SD_ID: &str = "kr.go.mois.rrc.1.dc+sd-jwt";

/// One request of an exchange, as the runner replays it.
type Step = ExchangeStep;

/// A wallet instance: its DPoP key, its instance key and the attestation of its solution.
struct WalletInstance {
    dpop: Arc<dyn Signer>,
    instance: Arc<dyn Signer>,
    client_id: &'static str,
    attestation: String,
}

/// The parties, the live server an exchange is recorded on, and the steps so far.
struct Flow<'a> {
    server: IssuanceServer<'a>,
    /// The wallets' random source (`jti`s), apart from the server's.
    random: &'a SeededRandom,
    steps: Vec<Step>,
    /// The offer's pre-authorized code and Transaction Code, when the exchange has one.
    code: Option<(String, Option<String>)>,
    /// Why the last step was refused, if it was.
    last_refusal: Option<String>,
}

impl Flow<'_> {
    /// Runs `step` on the live server and records it; the response as JSON.
    fn run(&mut self, step: Step) -> Result<Value, VciError> {
        let outcome = kmid::conformance::run_step(&self.server, &step, ISSUER, AT);
        self.steps.push(step);
        self.last_refusal = outcome.as_ref().err().map(ToString::to_string);
        outcome
    }

    /// [`Self::run`] for a step that must succeed.
    fn ok(&mut self, step: Step) -> Result<Value, Error> {
        let endpoint = step.endpoint.clone();
        self.run(step)
            .map_err(|e| format!("the exchange's {endpoint} step was refused: {e}").into())
    }

    fn dpop(
        &self,
        key: &Arc<dyn Signer>,
        endpoint: &str,
        token: Option<&str>,
    ) -> Result<String, Error> {
        Ok(DpopProof::create(
            kmid::crypto::CryptoProvider::get_default(),
            self.random,
            key,
            &DpopRequest {
                method: "POST",
                url: &format!("{ISSUER}/{endpoint}"),
                nonce: None,
                access_token: token,
            },
            AT,
        )?)
    }

    /// The wallet attestation headers of `wallet`, with a fresh PoP.
    fn attest(&self, wallet: &WalletInstance) -> Result<(String, String), Error> {
        let pop = client_attestation_pop(
            &wallet.instance,
            self.random,
            wallet.client_id,
            ISSUER,
            None,
            AT,
        )?;
        Ok((wallet.attestation.clone(), pop))
    }

    /// The pre-authorized code redeemed by `key`: the access and refresh tokens.
    fn redeem(&mut self, key: &Arc<dyn Signer>) -> Result<(String, String), Error> {
        let (code, tx) = self.code.clone().ok_or("no offer")?;
        let dpop = self.dpop(key, "token", None)?;
        let token = self.ok(Step {
            endpoint: "token".into(),
            body: pre_authorized_body(&code, tx.as_deref()),
            dpop: Some(dpop),
            ..Step::default()
        })?;
        let text = |k: &str| {
            token
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("no {k}"))
        };
        Ok((text("access_token")?, text("refresh_token")?))
    }

    /// A Credential Request for the SD-JWT VC with a key proof of `device` for a fresh
    /// `c_nonce`.
    fn credential_body(&mut self, device: &Arc<dyn Signer>) -> Result<String, Error> {
        let nonce = self.ok(Step {
            endpoint: "nonce".into(),
            ..Step::default()
        })?;
        let c_nonce = nonce
            .get("c_nonce")
            .and_then(Value::as_str)
            .ok_or("no c_nonce")?;
        let mut header = Map::new();
        header.insert("typ".into(), json!("openid4vci-proof+jwt"));
        header.insert("jwk".into(), json!(device.public_key().to_jwk()));
        let proof = kmid::crypto::jose::sign_compact(
            header,
            json!({ "aud": ISSUER, "iat": AT.unix_timestamp(), "nonce": c_nonce })
                .to_string()
                .as_bytes(),
            device,
        )?;
        Ok(
            json!({ "credential_configuration_id": SD_ID, "proofs": { "jwt": [proof] } })
                .to_string(),
        )
    }
}

fn pre_authorized_body(code: &str, tx: Option<&str>) -> String {
    let mut pairs = vec![
        ("grant_type", PRE_AUTHORIZED),
        ("pre-authorized_code", code),
    ];
    if let Some(tx) = tx {
        pairs.push(("tx_code", tx));
    }
    form(&pairs)
}

/// A PKCE pair (RFC 7636, S256): the verifier and its challenge.
fn pkce(name: &str) -> Result<(String, String), Error> {
    let verifier = b64url(&HashAlgorithm::Sha256.digest(format!("pkce {name}").as_bytes())?);
    let challenge = b64url(&HashAlgorithm::Sha256.digest(verifier.as_bytes())?);
    Ok((verifier, challenge))
}

/// The `code` of an authorization response's redirect.
fn code_of(redirect: &Value) -> Result<String, Error> {
    let url = redirect
        .get("redirect")
        .and_then(Value::as_str)
        .ok_or("no redirect")?;
    let query = url.split_once('?').ok_or("no query")?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| "no code".into())
}

/// Adds the OpenID4VCI attack exchanges to `out`.
///
/// # Errors
/// A step that should have succeeded was refused, or signing failures.
#[allow(clippy::too_many_lines)]
pub(crate) fn vci_cases(pki: &TestPki, out: &mut Out) -> Result<(), Error> {
    let provider = kmid::crypto::CryptoProvider::get_default();
    let metadata = kmid::issuance::korean_metadata(
        kmid::IssuingAuthority::Mois,
        ISSUER,
        &kmid::issuance::IssuanceProfile::default(),
    );
    // The wallet provider signs attestations with the test PKI's reader certificate, under
    // the reader root (as the conformance suite's client attestation cases do).
    let provider_key: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    let chain = [pki.reader.clone()];
    let instance = |client_id: &'static str, name: &str| -> Result<WalletInstance, Error> {
        let instance: Arc<dyn Signer> =
            Arc::new(Rfc6979Signer::for_test_key(&format!("{name}-instance")));
        let attestation = issue_wallet_attestation(
            &provider_key,
            &chain,
            &WalletAttestationClaims {
                provider: "https://wallet-provider.kmid.invalid",
                client_id,
                wallet_name: Some(name),
                instance_key: instance.public_key(),
                at: AT,
                lifetime: Duration::hours(24),
            },
        )?;
        Ok(WalletInstance {
            dpop: Arc::new(Rfc6979Signer::for_test_key(&format!("{name}-dpop"))),
            instance,
            client_id,
            attestation,
        })
    };
    let holder = instance(WALLET, "holder-wallet")?;
    let thief = instance(WALLET, "thief-wallet")?;
    let evil = instance(EVIL_WALLET, "evil-wallet")?;
    let device: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rrc"));
    let redirect_uris: BTreeMap<String, Vec<String>> = [
        (WALLET.to_owned(), vec![WALLET_REDIRECT.to_owned()]),
        (EVIL_WALLET.to_owned(), vec![EVIL_REDIRECT.to_owned()]),
    ]
    .into_iter()
    .collect();
    let config = IssuanceConfig {
        metadata: metadata.clone(),
        nonce_key: NonceKey::from_bytes(NONCE_KEY),
        require_dpop_nonce: false,
        wallet_providers: pki.reader_trust_store(),
        anonymous_pre_authorized: true,
        redirect_uris: redirect_uris.clone(),
        lifetimes: Lifetimes::default(),
    };
    let subject = json!({ "holder": "the sample resident" });
    let nonce_key: String = NONCE_KEY.iter().map(|b| format!("{b:02x}")).collect();
    let mut case = |id: &str,
                    mutation: &str,
                    reason: Option<&str>,
                    tx_code: Option<bool>,
                    script: &dyn Fn(&mut Flow<'_>) -> Result<Value, Error>|
     -> Result<(), Error> {
        let store = MemoryIssuanceStore::default();
        let random = SeededRandom::new(format!("{SEED}: {id}").as_bytes());
        let wallet_random = SeededRandom::new(format!("{SEED}: wallets of {id}").as_bytes());
        let server = IssuanceServer::new(&config, &store, provider, &random);
        let code = match tx_code {
            Some(tx) => {
                let offer = server.offer_pre_authorized(&subject, &[SD_ID.to_owned()], tx, AT)?;
                let code = offer
                    .offer
                    .grants
                    .pre_authorized_code
                    .as_ref()
                    .map(|g| g.code.clone())
                    .ok_or("the offer has no code")?;
                Some((code, offer.tx_code))
            }
            None => None,
        };
        let mut flow = Flow {
            server,
            random: &wallet_random,
            steps: Vec::new(),
            code,
            last_refusal: None,
        };
        let expected = script(&mut flow)?;
        // Each refusal for the reason the case is about, not another on the way.
        match (reason, &flow.last_refusal) {
            (None, None) => {}
            (Some(want), Some(got)) if got.contains(want) => {}
            (want, got) => {
                return Err(format!("{id}: refused for {got:?}, expected {want:?}").into());
            }
        }
        let mut exchange = json!({
            "metadata": metadata,
            "nonce_key": nonce_key,
            "random_seed": format!("{SEED}: {id}"),
            "wallet_provider": "../pki/reader-root.pem",
            "redirect_uris": redirect_uris,
            "steps": flow.steps,
        });
        if let (Some(tx), Some(map)) = (tx_code, exchange.as_object_mut()) {
            map.insert(
                "offer".into(),
                json!({ "subject": subject, "configurations": [SD_ID], "tx_code": tx }),
            );
        }
        let file = out.file(format!("online/vci/{id}.json"), format!("{exchange:#}\n"));
        out.cases.push(json!({
            "id": format!("online-vci-{id}"),
            "kind": "vci-exchange",
            "mutation": mutation,
            "exchange": file,
            "status_set": "current",
            "expected": expected,
        }));
        Ok(())
    };

    // --- Pre-authorized code ----------------------------------------------------------------
    case(
        "offer-redeemed-twice",
        "the offer's code, redeemed by the holder's wallet, redeemed again by another wallet (another DPoP key)",
        Some("unknown, used or expired pre-authorized code"),
        Some(false),
        &|f| {
            f.redeem(&holder.dpop)?;
            let (code, _) = f.code.clone().ok_or("no offer")?;
            let dpop = f.dpop(&thief.dpop, "token", None)?;
            let _ = f.run(Step {
                endpoint: "token".into(),
                body: pre_authorized_body(&code, None),
                dpop: Some(dpop),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "tx-code-guessed",
        "three wrong Transaction Codes, then the right one: the code is gone after the third",
        Some("unknown, used or expired pre-authorized code"),
        Some(true),
        &|f| {
            let (code, tx) = f.code.clone().ok_or("no offer")?;
            let tx = tx.ok_or("no tx_code")?;
            for guess in ["00000", "11111", "22222"] {
                let guess = if guess == tx { "33333" } else { guess };
                let dpop = f.dpop(&thief.dpop, "token", None)?;
                let step = Step {
                    endpoint: "token".into(),
                    body: pre_authorized_body(&code, Some(guess)),
                    dpop: Some(dpop),
                    refused: Some("Vci.InvalidGrant".into()),
                    ..Step::default()
                };
                if f.run(step).is_ok() {
                    return Err("a wrong tx_code was taken".into());
                }
            }
            let dpop = f.dpop(&holder.dpop, "token", None)?;
            let _ = f.run(Step {
                endpoint: "token".into(),
                body: pre_authorized_body(&code, Some(&tx)),
                dpop: Some(dpop),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "credential-dpop-proof-replayed",
        "the DPoP proof of an accepted Credential Request, captured and sent again with the access token",
        Some("the DPoP proof was used before"),
        Some(false),
        &|f| {
            let (token, _) = f.redeem(&holder.dpop)?;
            let proof = f.dpop(&holder.dpop, "credential", Some(&token))?;
            let body = f.credential_body(&device)?;
            f.ok(Step {
                endpoint: "credential".into(),
                body,
                dpop: Some(proof.clone()),
                access_token: Some(token.clone()),
                ..Step::default()
            })?;
            let body = f.credential_body(&device)?;
            let _ = f.run(Step {
                endpoint: "credential".into(),
                body,
                dpop: Some(proof),
                access_token: Some(token),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.Dpop.Replayed"))
        },
    )?;
    case(
        "access-token-as-bearer",
        "downgrade: the DPoP-bound access token presented without a DPoP proof",
        Some("no DPoP header"),
        Some(false),
        &|f| {
            let (token, _) = f.redeem(&holder.dpop)?;
            let body = f.credential_body(&device)?;
            let _ = f.run(Step {
                endpoint: "credential".into(),
                body,
                access_token: Some(token),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.Dpop.Malformed"))
        },
    )?;
    case(
        "refresh-token-stolen",
        "the holder's refresh token redeemed by a thief with its own DPoP key",
        Some("the DPoP key is not the refresh token's"),
        Some(false),
        &|f| {
            let (_, refresh) = f.redeem(&holder.dpop)?;
            let dpop = f.dpop(&thief.dpop, "token", None)?;
            let _ = f.run(Step {
                endpoint: "token".into(),
                body: form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
                dpop: Some(dpop),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "refresh-token-replayed",
        "a refresh token used (and so rotated), then used again with the holder's key",
        Some("unknown, used or expired refresh token"),
        Some(false),
        &|f| {
            let (_, refresh) = f.redeem(&holder.dpop)?;
            let body = form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
            let dpop = f.dpop(&holder.dpop, "token", None)?;
            f.ok(Step {
                endpoint: "token".into(),
                body: body.clone(),
                dpop: Some(dpop),
                ..Step::default()
            })?;
            let dpop = f.dpop(&holder.dpop, "token", None)?;
            let _ = f.run(Step {
                endpoint: "token".into(),
                body,
                dpop: Some(dpop),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "token-dpop-proof-replayed",
        "the DPoP proof of the accepted token request, replayed with the refresh token it gave",
        Some("the DPoP proof was used before"),
        Some(false),
        &|f| {
            let (code, _) = f.code.clone().ok_or("no offer")?;
            let proof = f.dpop(&holder.dpop, "token", None)?;
            let token = f.ok(Step {
                endpoint: "token".into(),
                body: pre_authorized_body(&code, None),
                dpop: Some(proof.clone()),
                ..Step::default()
            })?;
            let refresh = token
                .get("refresh_token")
                .and_then(Value::as_str)
                .ok_or("no refresh token")?;
            let _ = f.run(Step {
                endpoint: "token".into(),
                body: form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]),
                dpop: Some(proof),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.Dpop.Replayed"))
        },
    )?;

    // --- Authorization code across PAR ----------------------------------------------------
    // The holder's wallet pushes its request (PKCE, DPoP-bound) and the holder approves it.
    let par_body = |wallet: &WalletInstance, challenge: &str, redirect: &str| {
        form(&[
            ("client_id", wallet.client_id),
            ("response_type", "code"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("redirect_uri", redirect),
            ("scope", SD_ID),
            ("state", "wallet-state-1"),
        ])
    };
    let pushed =
        |f: &mut Flow<'_>, wallet: &WalletInstance, challenge: &str| -> Result<String, Error> {
            let attestation = f.attest(wallet)?;
            let dpop = f.dpop(&wallet.dpop, "par", None)?;
            let redirect = if wallet.client_id == WALLET {
                WALLET_REDIRECT
            } else {
                EVIL_REDIRECT
            };
            let par = f.ok(Step {
                endpoint: "par".into(),
                body: par_body(wallet, challenge, redirect),
                dpop: Some(dpop),
                client_attestation: Some(attestation),
                ..Step::default()
            })?;
            Ok(par
                .get("request_uri")
                .and_then(Value::as_str)
                .ok_or("no request_uri")?
                .to_owned())
        };
    let approve =
        |f: &mut Flow<'_>, request_uri: &str, client_id: &str| -> Result<Value, VciError> {
            f.run(Step {
                endpoint: "authorize".into(),
                request_uri: Some(request_uri.to_owned()),
                client_id: Some(client_id.to_owned()),
                subject: Some(subject.clone()),
                ..Step::default()
            })
        };
    let holder_code = |f: &mut Flow<'_>| -> Result<String, Error> {
        let (_, challenge) = pkce("holder")?;
        let request_uri = pushed(f, &holder, &challenge)?;
        let redirect = approve(f, &request_uri, WALLET)?;
        code_of(&redirect)
    };
    let redeem_code = |f: &mut Flow<'_>,
                       wallet: &WalletInstance,
                       code: &str,
                       verifier: &str,
                       redirect: &str|
     -> Result<Result<Value, VciError>, Error> {
        let attestation = f.attest(wallet)?;
        let dpop = f.dpop(&wallet.dpop, "token", None)?;
        Ok(f.run(Step {
            endpoint: "token".into(),
            body: form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", redirect),
            ]),
            dpop: Some(dpop),
            client_attestation: Some(attestation),
            ..Step::default()
        }))
    };
    case(
        "par-code-baseline",
        "none: PAR, the holder's approval, the code redeemed by the wallet that pushed the request",
        None,
        None,
        &|f| {
            let code = holder_code(f)?;
            let (verifier, _) = pkce("holder")?;
            redeem_code(f, &holder, &code, &verifier, WALLET_REDIRECT)??;
            Ok(json!({ "result": "valid" }))
        },
    )?;
    case(
        "par-code-injected",
        "code injection: the holder's code, leaked from its redirect, redeemed in the attacker's session (another instance of the same wallet, its own PKCE verifier and DPoP key)",
        Some("PKCE code_verifier"),
        None,
        &|f| {
            let code = holder_code(f)?;
            let (verifier, _) = pkce("thief")?;
            let _ = redeem_code(f, &thief, &code, &verifier, WALLET_REDIRECT)?;
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "par-code-dpop-key-of-another",
        "the holder's code and PKCE verifier, redeemed with another DPoP key than the one the PAR bound",
        Some("the DPoP key is not the PAR's"),
        None,
        &|f| {
            let code = holder_code(f)?;
            let (verifier, _) = pkce("holder")?;
            let thief_with_holder_attestation = WalletInstance {
                dpop: Arc::clone(&thief.dpop),
                instance: Arc::clone(&holder.instance),
                client_id: WALLET,
                attestation: holder.attestation.clone(),
            };
            let _ = redeem_code(
                f,
                &thief_with_holder_attestation,
                &code,
                &verifier,
                WALLET_REDIRECT,
            )?;
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "par-code-other-redirect-uri",
        "the code redeemed with another redirect_uri than the pushed request's",
        Some("redirect_uri differs"),
        None,
        &|f| {
            let code = holder_code(f)?;
            let (verifier, _) = pkce("holder")?;
            let _ = redeem_code(
                f,
                &holder,
                &code,
                &verifier,
                "https://wallet.kmid.invalid/other",
            )?;
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "par-code-of-another-client",
        "the holder's code redeemed by another wallet solution (another client_id, attested by the same provider)",
        Some("the code is another client's"),
        None,
        &|f| {
            let code = holder_code(f)?;
            let (verifier, _) = pkce("holder")?;
            let _ = redeem_code(f, &evil, &code, &verifier, EVIL_REDIRECT)?;
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "par-code-redeemed-twice",
        "the code, redeemed, redeemed again by the same wallet",
        Some("unknown, used or expired code"),
        None,
        &|f| {
            let code = holder_code(f)?;
            let (verifier, _) = pkce("holder")?;
            redeem_code(f, &holder, &code, &verifier, WALLET_REDIRECT)??;
            let _ = redeem_code(f, &holder, &code, &verifier, WALLET_REDIRECT)?;
            Ok(expected_invalid("Vci.InvalidGrant"))
        },
    )?;
    case(
        "par-request-uri-of-another-client",
        "the holder's request_uri opened at the authorization endpoint for another client",
        Some("the request_uri is another client's"),
        None,
        &|f| {
            let (_, challenge) = pkce("holder")?;
            let request_uri = pushed(f, &holder, &challenge)?;
            let _ = approve(f, &request_uri, EVIL_WALLET);
            Ok(expected_invalid("Vci.InvalidRequest"))
        },
    )?;
    case(
        "par-request-uri-used-twice",
        "a request_uri approved, then approved again",
        Some("unknown, used or expired request_uri"),
        None,
        &|f| {
            let (_, challenge) = pkce("holder")?;
            let request_uri = pushed(f, &holder, &challenge)?;
            approve(f, &request_uri, WALLET)?;
            let _ = approve(f, &request_uri, WALLET);
            Ok(expected_invalid("Vci.InvalidRequest"))
        },
    )?;
    case(
        "par-redirect-uri-unregistered",
        "a pushed request whose redirect_uri is the attacker's, not one registered for the wallet",
        Some("redirect_uri is not registered for this wallet"),
        None,
        &|f| {
            let (_, challenge) = pkce("holder")?;
            let attestation = f.attest(&holder)?;
            let _ = f.run(Step {
                endpoint: "par".into(),
                body: par_body(&holder, &challenge, EVIL_REDIRECT),
                client_attestation: Some(attestation),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidRequest"))
        },
    )?;
    case(
        "par-client-id-not-the-attestations",
        "a pushed request naming the holder's wallet as client_id, authenticated by another wallet solution's attestation",
        Some("client_id is not the attestation's sub"),
        None,
        &|f| {
            let (_, challenge) = pkce("holder")?;
            let attestation = f.attest(&evil)?;
            let _ = f.run(Step {
                endpoint: "par".into(),
                body: par_body(&holder, &challenge, WALLET_REDIRECT),
                client_attestation: Some(attestation),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidClient"))
        },
    )?;
    case(
        "par-attestation-pop-replayed",
        "the attestation PoP of the accepted PAR request, replayed at the token endpoint",
        Some("the PoP was used before"),
        None,
        &|f| {
            let (verifier, challenge) = pkce("holder")?;
            let attestation = f.attest(&holder)?;
            let dpop = f.dpop(&holder.dpop, "par", None)?;
            let par = f.ok(Step {
                endpoint: "par".into(),
                body: par_body(&holder, &challenge, WALLET_REDIRECT),
                dpop: Some(dpop),
                client_attestation: Some(attestation.clone()),
                ..Step::default()
            })?;
            let request_uri = par
                .get("request_uri")
                .and_then(Value::as_str)
                .ok_or("no request_uri")?
                .to_owned();
            let code = code_of(&approve(f, &request_uri, WALLET)?)?;
            let dpop = f.dpop(&holder.dpop, "token", None)?;
            let _ = f.run(Step {
                endpoint: "token".into(),
                body: form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("code_verifier", &verifier),
                    ("redirect_uri", WALLET_REDIRECT),
                ]),
                dpop: Some(dpop),
                client_attestation: Some(attestation),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidClient"))
        },
    )?;
    case(
        "par-without-attestation",
        "a pushed request with no wallet attestation",
        Some("no wallet attestation"),
        None,
        &|f| {
            let (_, challenge) = pkce("holder")?;
            let _ = f.run(Step {
                endpoint: "par".into(),
                body: par_body(&holder, &challenge, WALLET_REDIRECT),
                ..Step::default()
            });
            Ok(expected_invalid("Vci.InvalidClient"))
        },
    )?;
    Ok(())
}
