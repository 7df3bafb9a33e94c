//! OpenID4VP online, as HAIP 1.0 §5 profiles it (issue 18): a relying party's signed request
//! and the transaction that takes the wallet's (encrypted) response and verifies it, and a
//! wallet's answer to a signed request. The wire formats and their checks are in
//! [`kmid_oid4vc`]; HTTP is the caller's (`kmid serve`, issue 20).

use std::sync::Arc;

use kmid_crypto::x509::Certificate;
use kmid_crypto::{Algorithm, Signer};
use kmid_oid4vc::jar::{
    RequestObjectSigner, VerifiedRequest, WalletCheck, check_signable, sign_request_object,
    verify_request_object,
};
use kmid_oid4vc::request::{
    AuthorizationRequest, ClientId, ClientMetadata, RequestUrl, ResponseMode, SELF_ISSUED_V2,
};
use kmid_oid4vc::response::{
    AuthorizationResponse, ResponseEncryption, Transaction, direct_post_body, direct_post_jwt_body,
};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::dcql::{DcqlQuery, OpenId4VpRequest};
use crate::error::KmidError;
use crate::verifier::{VerifiedCredential, Verifier};
use crate::wallet::Wallet;

/// How long a signed request may be used.
pub const REQUEST_LIFETIME: Duration = Duration::minutes(5);

/// The formats and algorithms kmid's verifier asks for (OpenID4VP 1.0 Appendix B): ES256,
/// the algorithm HAIP 1.0 §7 makes everyone support and kmid's cards use.
#[must_use]
pub fn vp_formats_supported() -> Value {
    json!({
        "dc+sd-jwt": { "sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"] },
        "mso_mdoc": { "issuerauth_alg_values": [-7], "deviceauth_alg_values": [-7] },
    })
}

/// A relying party's access certificate and the key that signs its requests, with the Client
/// Identifier they make.
pub struct VerifierAccess {
    signer: Arc<dyn Signer>,
    chain: Vec<Certificate>,
    client_id: ClientId,
    /// The Request Object signer, header and checks made once; `None` for a chain it
    /// refuses (signing then fails as `sign_request_object` says why).
    request_signer: Option<RequestObjectSigner>,
    /// Registration attestations sent in `verifier_info` (`crate::registration`).
    registrations: Vec<String>,
}

impl core::fmt::Debug for VerifierAccess {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifierAccess")
            .field("client_id", &self.client_id.to_string())
            .finish_non_exhaustive()
    }
}

impl VerifierAccess {
    /// Signs as `x509_hash` (HAIP 1.0 §5's MUST): the Client Identifier is the hash of the
    /// leaf of `chain` (leaf first, the trust anchor left out), whose key `signer` holds.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] for an empty chain or a signer that is not the leaf's key.
    pub fn x509_hash(
        provider: &kmid_crypto::CryptoProvider,
        signer: Arc<dyn Signer>,
        chain: Vec<Certificate>,
    ) -> Result<Self, KmidError> {
        let leaf = Self::leaf(&signer, &chain)?;
        let client_id = ClientId::x509_hash(provider, leaf)?;
        let request_signer =
            RequestObjectSigner::new(provider, Arc::clone(&signer), chain.clone()).ok();
        Ok(Self {
            signer,
            chain,
            client_id,
            request_signer,
            registrations: Vec::new(),
        })
    }

    /// Signs as `x509_san_dns:<dns>`: `dns` must be a dNSName of the leaf, and the
    /// `response_uri` of its requests a URL on that host.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] as [`Self::x509_hash`], and for a name the leaf does not carry.
    pub fn x509_san_dns(
        signer: Arc<dyn Signer>,
        chain: Vec<Certificate>,
        dns: &str,
    ) -> Result<Self, KmidError> {
        let leaf = Self::leaf(&signer, &chain)?;
        if !leaf.dns_names().iter().any(|n| n.eq_ignore_ascii_case(dns)) {
            return Err(kmid_oid4vc::Oid4vpError::SanMismatch("not a dNSName of the leaf").into());
        }
        let request_signer = RequestObjectSigner::new(
            kmid_crypto::CryptoProvider::get_default(),
            Arc::clone(&signer),
            chain.clone(),
        )
        .ok();
        Ok(Self {
            signer,
            chain,
            client_id: ClientId::X509SanDns(dns.to_owned()),
            request_signer,
            registrations: Vec::new(),
        })
    }

    /// Sends `attestation` (a registration attestation for this verifier's Client Identifier,
    /// `crate::registration`) in the `verifier_info` of every request, for all its
    /// credentials: what lets a wallet release the registration number.
    #[must_use]
    pub fn with_registration(mut self, attestation: String) -> Self {
        self.registrations.push(attestation);
        self
    }

    fn leaf<'c>(
        signer: &Arc<dyn Signer>,
        chain: &'c [Certificate],
    ) -> Result<&'c Certificate, KmidError> {
        let leaf = chain
            .first()
            .ok_or(kmid_oid4vc::Oid4vpError::Missing("the access certificate"))?;
        if leaf.public_key() != signer.public_key() {
            return Err(kmid_oid4vc::Oid4vpError::Malformed(
                "the signer's key is not the access certificate's".into(),
            )
            .into());
        }
        Ok(leaf)
    }

    /// The Client Identifier, with its prefix.
    #[must_use]
    pub fn client_id(&self) -> String {
        self.client_id.to_string()
    }

    /// Whether signing a request may wait on something besides the CPU ([`Signer::may_block`]:
    /// an HSM, a remote key).
    #[must_use]
    pub fn signer_may_block(&self) -> bool {
        self.signer.may_block()
    }
}

/// One presentation request a relying party made: the Authorization Request and its signed
/// Request Object (or none, when it is signed each time a wallet fetches it), the query, the
/// transaction that takes the response, and, once answered, what was verified.
#[derive(Debug)]
pub struct OnlineRequest {
    /// The Authorization Request.
    pub authorization: AuthorizationRequest,
    /// The signed Request Object (by value, or served at the `request_uri`), as
    /// [`Verifier::request_online_with`] signs it; `None` for a request made by
    /// [`Verifier::request_online_by_reference`], which [`Verifier::sign_for_fetch`] signs
    /// when a wallet fetches it.
    pub request_object: Option<String>,
    query: DcqlQuery,
    transaction: Transaction,
    outcome: Option<Result<Vec<(String, VerifiedCredential)>, KmidError>>,
}

/// A saved [`OnlineRequest`] as [`OnlineRequest::export`] writes it.
#[derive(serde::Serialize)]
struct SavedOnline<'a> {
    kind: &'static str,
    authorization: &'a AuthorizationRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_object: Option<&'a str>,
    query: &'a DcqlQuery,
    transaction: Value,
}

/// A saved [`OnlineRequest`] read back: each member's text, each then read into its own type
/// (so that a member that is wrong is named, and no tree of values is built for the whole).
#[derive(serde::Deserialize)]
struct SavedParts<'a> {
    #[serde(borrow)]
    kind: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    authorization: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    request_object: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    query: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    transaction: Option<&'a serde_json::value::RawValue>,
}

fn saved_malformed(what: &str) -> KmidError {
    kmid_oid4vc::Oid4vpError::Malformed(format!("saved request: {what}")).into()
}

impl<'a> SavedParts<'a> {
    /// The members of `text`, which must be an OpenID4VP request's.
    fn read(text: &'a str) -> Result<Self, KmidError> {
        let parts: Self = serde_json::from_str(text)
            .map_err(|_| saved_malformed("not one JSON object of distinct members"))?;
        if serde_json::from_str::<String>(Self::text(parts.kind))
            .ok()
            .as_deref()
            != Some("openid4vp")
        {
            return Err(saved_malformed("kind"));
        }
        Ok(parts)
    }

    /// A member's text; `null` when it is missing.
    fn text(member: Option<&serde_json::value::RawValue>) -> &str {
        member.map_or("null", serde_json::value::RawValue::get)
    }

    /// The Authorization Request and the Request Object, when it was signed (missing or
    /// `null` when it was not).
    fn request(&self) -> Result<(AuthorizationRequest, Option<String>), KmidError> {
        let authorization = serde_json::from_str(Self::text(self.authorization))
            .map_err(|_| saved_malformed("authorization"))?;
        let request_object = serde_json::from_str(Self::text(self.request_object))
            .map_err(|_| saved_malformed("request_object"))?;
        Ok((authorization, request_object))
    }
}

impl OnlineRequest {
    /// The request URL with the Request Object by value (`scheme`: `openid4vp://`,
    /// `haip-vp://`, or an https link), as a QR code or a same-device link carries it; `None`
    /// for a request that is signed when fetched (it has no Request Object to carry).
    #[must_use]
    pub fn url_by_value(&self, scheme: &str) -> Option<String> {
        let request = self.request_object.clone()?;
        Some(
            RequestUrl::ByValue {
                client_id: self.authorization.client_id.clone(),
                request,
            }
            .to_url(scheme),
        )
    }

    /// The request URL with the Request Object by reference at `request_uri` (HAIP 1.0 §5.1),
    /// `post` allowing the wallet to POST its `wallet_nonce`.
    #[must_use]
    pub fn url_by_reference(&self, scheme: &str, request_uri: &str, post: bool) -> String {
        RequestUrl::ByReference {
            client_id: self.authorization.client_id.clone(),
            request_uri: request_uri.to_owned(),
            post,
        }
        .to_url(scheme)
    }

    /// The transaction's `state`.
    #[must_use]
    pub fn state(&self) -> &str {
        &self.transaction.state
    }

    /// The pending request as JSON, to keep between processes (the CLI's transaction file):
    /// the Authorization Request, the Request Object, the query and the transaction with its
    /// response key. It holds a secret: store it as one.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] once answered.
    pub fn export(&self) -> Result<Value, KmidError> {
        serde_json::to_value(self.saved()?).map_err(|e| KmidError::InvalidDcql(e.to_string()))
    }

    /// [`Self::export`] as JSON text, written straight from the request (no tree of values
    /// in between): what a service keeps per transaction. A `RawValue`, so that whoever keeps
    /// it as JSON need not parse it again to know that it is.
    ///
    /// # Errors
    /// As [`Self::export`].
    pub fn export_json(&self) -> Result<Box<serde_json::value::RawValue>, KmidError> {
        serde_json::value::to_raw_value(&self.saved()?)
            .map_err(|e| KmidError::InvalidDcql(e.to_string()))
    }

    /// What [`Self::export`] writes, in its order.
    fn saved(&self) -> Result<SavedOnline<'_>, KmidError> {
        Ok(SavedOnline {
            kind: "openid4vp",
            authorization: &self.authorization,
            request_object: self.request_object.as_deref(),
            query: &self.query,
            transaction: self.transaction.export_pending()?,
        })
    }

    /// A pending request from [`Self::export`].
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`], [`KmidError::InvalidDcql`] for a document that is not one.
    pub fn import(value: &Value) -> Result<Self, KmidError> {
        Self::import_json(&value.to_string())
    }

    /// A pending request from [`Self::export_json`] (or [`Self::export`]'s text), read
    /// straight into its parts.
    ///
    /// # Errors
    /// As [`Self::import`].
    pub fn import_json(text: &str) -> Result<Self, KmidError> {
        let saved = SavedParts::read(text)?;
        let (authorization, request_object) = saved.request()?;
        let transaction: Value = serde_json::from_str(SavedParts::text(saved.transaction))
            .map_err(|_| saved_malformed("transaction"))?;
        Ok(Self {
            authorization,
            request_object,
            query: DcqlQuery::from_json(SavedParts::text(saved.query).as_bytes())?,
            transaction: Transaction::import_pending(&transaction)?,
            outcome: None,
        })
    }

    /// The Authorization Request and its signed Request Object (`None` for a request signed
    /// when fetched) of a pending request from [`Self::export`], without its transaction
    /// (whose response key only a response needs): what serves the `request_uri`.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] for a document that is not one.
    pub fn import_request(
        value: &Value,
    ) -> Result<(AuthorizationRequest, Option<String>), KmidError> {
        Self::import_request_json(&value.to_string())
    }

    /// [`Self::import_request`] from the text of [`Self::export_json`].
    ///
    /// # Errors
    /// As [`Self::import_request`].
    pub fn import_request_json(
        text: &str,
    ) -> Result<(AuthorizationRequest, Option<String>), KmidError> {
        SavedParts::read(text)?.request()
    }

    /// What the wallet presented and the verifier verified. In a same-device flow only for
    /// the `response_code` the wallet was sent back with.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] before a response or without the right code; the verification's
    /// refusal; [`KmidError::WalletError`] when the wallet answered with an error.
    pub fn result(
        &self,
        response_code: Option<&str>,
    ) -> Result<&[(String, VerifiedCredential)], KmidError> {
        // A response that did not hold reopened the transaction: its failure is the news
        // until another response comes.
        if let (kmid_oid4vc::response::TransactionState::Pending, Some(Err(e))) =
            (self.transaction.status(), &self.outcome)
        {
            return Err(replay_error(e));
        }
        self.transaction.result(response_code)?;
        match &self.outcome {
            Some(Ok(seen)) => Ok(seen),
            Some(Err(e)) => Err(replay_error(e)),
            None => Err(kmid_oid4vc::Oid4vpError::Pending.into()),
        }
    }
}

/// A stored verification failure, given again (KmidError is not Clone: its layers' errors
/// carry certificates and keys). The code is kept exactly; the text says it was stored.
fn replay_error(e: &KmidError) -> KmidError {
    match e {
        KmidError::WalletError { error, description } => KmidError::WalletError {
            error: error.clone(),
            description: description.clone(),
        },
        other => KmidError::Stored {
            code: other.code(),
            message: other.to_string(),
        },
    }
}

/// What a presentation request asks besides its query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// A same-device flow: the wallet is sent back with a `response_code` the result needs.
    pub same_device: bool,
    /// Transactions the holder is asked to authorize with the presentation (OpenID4VP 1.0
    /// §5.1): each must come back bound to one of its `credential_ids`' presentations.
    pub transactions: Vec<kmid_oid4vc::transaction::TransactionConsent>,
}

/// Every transaction names Credential Queries, all of them in `query`.
fn check_transaction_queries(
    query: &DcqlQuery,
    transactions: &[kmid_oid4vc::transaction::TransactionConsent],
) -> Result<(), KmidError> {
    if transactions.iter().any(|t| {
        t.credential_ids.is_empty()
            || t.credential_ids
                .iter()
                .any(|id| query.credential(id).is_none())
    }) {
        return Err(KmidError::InvalidRequest(
            "a transaction names a Credential Query the query does not have",
        ));
    }
    Ok(())
}

/// The `transaction_data` parameter for `transactions`: absent when there are none.
fn transaction_data(
    transactions: &[kmid_oid4vc::transaction::TransactionConsent],
) -> Option<Vec<String>> {
    (!transactions.is_empty()).then(|| transactions.iter().map(|t| t.encode()).collect())
}

impl Verifier {
    /// A signed presentation request (HAIP 1.0 §5): the DCQL `query`, `mode`
    /// (`direct_post.jwt` is HAIP's; `direct_post` answers in the clear), `response_uri`, a
    /// fresh 128-bit `nonce` and `state` from the provider, for the encrypted mode a fresh
    /// P-256 key in `client_metadata` with both `enc` values, `aud`
    /// `https://self-issued.me/v2`, valid [`REQUEST_LIFETIME`] from `at`; signed by `access`.
    /// `same_device`: the wallet is sent back with a `response_code` the result needs.
    ///
    /// # Errors
    /// [`KmidError::InvalidDcql`]; [`KmidError::InvalidRequest`] for the DC API modes (their
    /// requests are made with the DC API request functions); [`KmidError::Oid4vp`].
    pub fn request_online(
        &self,
        access: &VerifierAccess,
        query: &DcqlQuery,
        mode: ResponseMode,
        response_uri: &str,
        same_device: bool,
        at: OffsetDateTime,
    ) -> Result<OnlineRequest, KmidError> {
        let options = RequestOptions {
            same_device,
            transactions: Vec::new(),
        };
        self.request_online_with(access, query, mode, response_uri, &options, at)
    }

    /// [`Self::request_online`] with `options`: the same-device flag and the transactions the
    /// holder is asked to authorize (`transaction_data`, each naming Credential Queries of
    /// `query`).
    ///
    /// # Errors
    /// As [`Self::request_online`]; [`KmidError::InvalidRequest`] for a transaction naming no
    /// Credential Query of the query.
    pub fn request_online_with(
        &self,
        access: &VerifierAccess,
        query: &DcqlQuery,
        mode: ResponseMode,
        response_uri: &str,
        options: &RequestOptions,
        at: OffsetDateTime,
    ) -> Result<OnlineRequest, KmidError> {
        let mut online =
            self.request_online_by_reference(access, query, mode, response_uri, options, at)?;
        online.request_object = Some(self.sign_for_fetch(access, &online.authorization, None)?);
        Ok(online)
    }

    /// [`Self::request_online_with`] for a request served only by reference, whose Request
    /// Object is signed each time a wallet fetches it ([`Self::sign_for_fetch`], with the
    /// `wallet_nonce` a wallet POSTs): one signature per fetch instead of one more at
    /// creation, and nothing signed to keep meanwhile. Its `request_object` is `None` (and
    /// it has no URL by value).
    ///
    /// # Errors
    /// As [`Self::request_online_with`].
    pub fn request_online_by_reference(
        &self,
        access: &VerifierAccess,
        query: &DcqlQuery,
        mode: ResponseMode,
        response_uri: &str,
        options: &RequestOptions,
        at: OffsetDateTime,
    ) -> Result<OnlineRequest, KmidError> {
        let same_device = options.same_device;
        query.validate()?;
        check_transaction_queries(query, &options.transactions)?;
        if !mode.is_direct_post() {
            return Err(KmidError::InvalidRequest(
                "request_online makes direct_post requests; the DC API modes are not yet built",
            ));
        }
        let transaction = Transaction::new(self.provider().random, mode, same_device)?;
        let client_metadata = match &transaction.key {
            Some(key) => key.client_metadata(vp_formats_supported()),
            None => ClientMetadata {
                jwks: None,
                encrypted_response_enc_values_supported: Vec::new(),
                vp_formats_supported: Some(vp_formats_supported()),
                other: Map::new(),
            },
        };
        let authorization = AuthorizationRequest {
            client_id: access.client_id(),
            response_type: "vp_token".into(),
            response_mode: mode,
            response_uri: Some(response_uri.to_owned()),
            nonce: transaction.nonce.clone(),
            state: Some(transaction.state.clone()),
            dcql_query: serde_json::to_value(query)
                .map_err(|e| KmidError::InvalidDcql(e.to_string()))?,
            client_metadata: Some(client_metadata),
            transaction_data: transaction_data(&options.transactions),
            verifier_info: (!access.registrations.is_empty()).then(|| {
                access
                    .registrations
                    .iter()
                    .map(|jwt| {
                        crate::registration::RegistrationAttestation::verifier_info(jwt, &[])
                    })
                    .collect()
            }),
            expected_origins: None,
            wallet_nonce: None,
            aud: Some(SELF_ISSUED_V2.into()),
            iat: Some(at.unix_timestamp()),
            exp: Some((at + REQUEST_LIFETIME).unix_timestamp()),
            other: Map::new(),
        };
        // Refused now if it could not be signed when fetched.
        match &access.request_signer {
            Some(signer) => signer.check(self.provider(), &authorization)?,
            None => check_signable(
                self.provider(),
                &authorization,
                &access.signer,
                &access.chain,
            )?,
        }
        Ok(OnlineRequest {
            authorization,
            request_object: None,
            query: query.clone(),
            transaction,
            outcome: None,
        })
    }

    /// The Request Object for a wallet that POSTed `wallet_nonce` to the `request_uri`
    /// (OpenID4VP 1.0 §5.10.1): the same request with the nonce, signed again.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`].
    pub fn request_object_for_wallet(
        &self,
        access: &VerifierAccess,
        online: &OnlineRequest,
        wallet_nonce: &str,
    ) -> Result<String, KmidError> {
        self.sign_for_wallet(access, &online.authorization, wallet_nonce)
    }

    /// [`Self::request_object_for_wallet`] for the Authorization Request alone (as
    /// [`OnlineRequest::import_request`] reads it back).
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`].
    pub fn sign_for_wallet(
        &self,
        access: &VerifierAccess,
        authorization: &AuthorizationRequest,
        wallet_nonce: &str,
    ) -> Result<String, KmidError> {
        self.sign_for_fetch(access, authorization, Some(wallet_nonce))
    }

    /// The Request Object of `authorization`, signed now for a wallet fetching the
    /// `request_uri`: with the `wallet_nonce` it POSTed (OpenID4VP 1.0 §5.10.1), or without
    /// (a GET, or a POST without one). What serves a request made by
    /// [`Self::request_online_by_reference`].
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`].
    pub fn sign_for_fetch(
        &self,
        access: &VerifierAccess,
        authorization: &AuthorizationRequest,
        wallet_nonce: Option<&str>,
    ) -> Result<String, KmidError> {
        let signed = |request: &AuthorizationRequest| match &access.request_signer {
            Some(signer) => signer.sign(self.provider(), request),
            None => sign_request_object(self.provider(), request, &access.signer, &access.chain),
        };
        Ok(match wallet_nonce {
            None => signed(authorization)?,
            Some(nonce) => {
                let mut request = authorization.clone();
                request.wallet_nonce = Some(nonce.to_owned());
                signed(&request)?
            }
        })
    }

    /// Takes the body the wallet POSTed to the `response_uri` for `online` and verifies it:
    /// the transaction's rules first (its mode, its key, its `state`, one response), then the
    /// VP Token against the query ([`Verifier::verify_vp_token_any`]; an mdoc's
    /// SessionTranscript carries the thumbprint of the request's key when the response was
    /// encrypted). Returns the `response_code` for the `redirect_uri` of a same-device flow.
    /// A response the transaction accepts is answered (the outcome, valid or not, waits in
    /// [`OnlineRequest::result`]); one it refuses leaves it waiting.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`]: what the transaction refused.
    pub fn complete_online(
        &self,
        online: &mut OnlineRequest,
        body: &[u8],
        at: OffsetDateTime,
    ) -> Result<Option<String>, KmidError> {
        let code = online
            .transaction
            .accept(self.provider(), self.provider().random, body)?;
        let outcome = match online.transaction.result(code.as_deref())? {
            AuthorizationResponse::Error {
                error, description, ..
            } => Err(KmidError::WalletError {
                error: error.clone(),
                description: description.clone(),
            }),
            AuthorizationResponse::Success { vp_token, .. } => {
                let request = OpenId4VpRequest {
                    client_id: online.authorization.client_id.clone(),
                    nonce: online.transaction.nonce.clone(),
                    response_uri: online
                        .authorization
                        .response_uri
                        .clone()
                        .unwrap_or_default(),
                    origin: None,
                    jwk_thumbprint: match &online.transaction.key {
                        Some(key) => Some(key.thumbprint(self.provider())?),
                        None => None,
                    },
                };
                self.verify_vp_token_any(&online.query, &request, vp_token, at)
                    .and_then(|seen| {
                        self.check_transactions(&online.authorization, &seen)?;
                        Ok(seen)
                    })
            }
        };
        // A response that does not hold (or an error response, which anyone who saw the
        // request could forge) leaves the transaction open for the real one, a few times.
        if outcome.is_err() {
            online.transaction.reopen();
        }
        online.outcome = Some(outcome);
        Ok(code)
    }

    /// Every transaction of `request` authorized by a presentation of one of its
    /// `credential_ids`: that presentation's Key Binding JWT lists the transaction's hash.
    fn check_transactions(
        &self,
        request: &AuthorizationRequest,
        seen: &[(String, VerifiedCredential)],
    ) -> Result<(), KmidError> {
        for item in request.transaction_data.iter().flatten() {
            let consent = kmid_oid4vc::transaction::TransactionConsent::decode(item)?;
            let hash = kmid_oid4vc::transaction::transaction_data_hash(self.provider(), item)?;
            let authorized = seen.iter().any(|(id, credential)| {
                consent.credential_ids.contains(id)
                    && credential.transaction_data_hashes.contains(&hash)
            });
            if !authorized {
                return Err(KmidError::TransactionNotAuthorized(consent.reference));
            }
        }
        Ok(())
    }
}

impl Wallet {
    /// For a query that asks for the registration number, the Credential Query ids the
    /// request's registration attestations allow it for (empty: all), or `None` without one.
    /// Each `kmid_registration` attestation is then verified for the certificate that signed
    /// the verified Request Object — its `sub` must be that certificate's `x509_hash` Client
    /// Identifier, whatever prefix the request uses, since attestations travel in public and a
    /// DNS name could be carried by another certificate — and one that fails
    /// refuses the request with its error (OpenID4VP 1.0 §5.11: a wallet that uses
    /// `verifier_info` MUST validate it). A query that does not ask for the number leaves
    /// `verifier_info` unread.
    fn registered_queries(
        &self,
        request: &AuthorizationRequest,
        certificate: &Certificate,
        query: &DcqlQuery,
        at: OffsetDateTime,
    ) -> Result<Option<Vec<String>>, KmidError> {
        use crate::registration::{
            REGISTRATION_NUMBER, RegistrationAttestation, RegistrationError, VERIFIER_INFO_FORMAT,
        };
        let rrn = kmid_schema::catalogue::spec(kmid_schema::catalogue::ClaimId::RegistrationNumber);
        let asks = query.credentials.iter().any(|cq| {
            cq.all_claims().iter().any(|c| {
                c.key_path().is_some_and(|p| {
                    p.as_slice() == rrn.sd_jwt.path
                        || p.as_slice() == [rrn.mdoc.namespace, rrn.mdoc.identifier]
                })
            })
        });
        // Asked for, the number goes only in an encrypted response (HAIP 1.0 §5: direct_post.jwt,
        // dc_api.jwt), whatever the attestations say.
        if !asks || !request.response_mode.is_encrypted() {
            return Ok(None);
        }
        let mut allowed: Option<Vec<String>> = None;
        for info in request.verifier_info.iter().flatten() {
            if info.get("format").and_then(Value::as_str) != Some(VERIFIER_INFO_FORMAT) {
                continue;
            }
            let jwt = info
                .get("data")
                .and_then(Value::as_str)
                .ok_or(RegistrationError::Malformed("verifier_info data"))?;
            let signer = ClientId::x509_hash(self.provider(), certificate)?.to_string();
            RegistrationAttestation::verify(
                jwt,
                self.registrars(),
                &signer,
                REGISTRATION_NUMBER,
                at,
                self.provider(),
            )?;
            let ids: Vec<String> = match info.get("credential_ids") {
                None => Vec::new(),
                Some(Value::Array(ids)) if !ids.is_empty() => ids
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or(RegistrationError::Malformed("credential_ids"))?,
                Some(_) => return Err(RegistrationError::Malformed("credential_ids").into()),
            };
            allowed = Some(match allowed {
                // Any attestation for all credentials allows all.
                Some(previous) if previous.is_empty() || ids.is_empty() => Vec::new(),
                Some(mut previous) => {
                    previous.extend(ids);
                    previous
                }
                None => ids,
            });
        }
        Ok(allowed)
    }
}

/// What a wallet sends for a signed request: the body to POST to `response_uri`.
#[derive(Debug, Clone)]
pub struct OnlineAnswer {
    /// Where to POST it.
    pub response_uri: String,
    /// The form body (`response=<JWE>` for `direct_post.jwt`).
    pub body: String,
    /// The request, as the wallet verified it (who asked, for what).
    pub request: VerifiedRequest,
}

/// How a wallet fetches a Request Object from a `request_uri` (OpenID4VP 1.0 §5.10): the
/// HTTP client is the caller's (the protocol code does no I/O). Each call returns the
/// response body of a `200` with content type `application/oauth-authz-req+jwt`, or why not.
pub trait RequestObjectFetcher {
    /// `GET request_uri`.
    ///
    /// # Errors
    /// A description of the failure (network, status, content type).
    fn get(&self, request_uri: &str) -> Result<Vec<u8>, String>;

    /// `POST request_uri` with the form `body` (`wallet_nonce`, `wallet_metadata`).
    ///
    /// # Errors
    /// A description of the failure.
    fn post(&self, request_uri: &str, body: &str) -> Result<Vec<u8>, String>;
}

impl Wallet {
    /// Answers the request a URL carries (a QR code's content, a link): by value, or by
    /// reference fetched through `fetcher` — with `request_uri_method=post`, POSTing a fresh
    /// 128-bit `wallet_nonce` from the provider that the Request Object must then carry, so a
    /// replayed object is refused. Then as [`Wallet::answer_online`], with the URL's
    /// `client_id`.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`]: the URL's or the request's refusal, and `Malformed` for a fetch
    /// that failed or returned no Request Object; what [`Wallet::answer_online`] refuses.
    pub fn answer_request_url(
        &self,
        url: &str,
        fetcher: &dyn RequestObjectFetcher,
        at: OffsetDateTime,
    ) -> Result<OnlineAnswer, KmidError> {
        use kmid_oid4vc::request::{MAX_REQUEST_BYTES, RequestUrl, request_uri_post_body};
        let fetched = |bytes: Result<Vec<u8>, String>| -> Result<String, KmidError> {
            let bytes = bytes.map_err(|e| {
                kmid_oid4vc::Oid4vpError::Malformed(format!("fetching the request object: {e}"))
            })?;
            if bytes.len() > MAX_REQUEST_BYTES {
                return Err(kmid_oid4vc::Oid4vpError::Malformed(
                    "the fetched request object is too large".into(),
                )
                .into());
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                kmid_oid4vc::Oid4vpError::Malformed("the fetched request object is not text".into())
            })?;
            Ok(text.trim().to_owned())
        };
        match RequestUrl::parse(url)? {
            RequestUrl::ByValue { client_id, request } => {
                self.answer_online(&request, Some(&client_id), None, at)
            }
            RequestUrl::ByReference {
                client_id,
                request_uri,
                post: false,
            } => {
                let object = fetched(fetcher.get(&request_uri))?;
                self.answer_online(&object, Some(&client_id), None, at)
            }
            RequestUrl::ByReference {
                client_id,
                request_uri,
                post: true,
            } => {
                let mut nonce = [0u8; 16];
                self.provider().random.fill(&mut nonce)?;
                let wallet_nonce = kmid_crypto::jose::b64url(&nonce);
                let body = request_uri_post_body(&wallet_nonce, None);
                let object = fetched(fetcher.post(&request_uri, &body))?;
                self.answer_online(&object, Some(&client_id), Some(&wallet_nonce), at)
            }
        }
    }

    /// Verifies a signed Request Object (HAIP 1.0 §5: chain to the verifier anchors, the
    /// prefix bound to the leaf, `aud`, `wallet_nonce`, expiry; [`verify_request_object`]) and
    /// answers its DCQL query as [`Wallet::answer_dcql`] does, encrypted to the request's key
    /// for `direct_post.jwt` (the mdoc SessionTranscript then carries the key's thumbprint).
    /// `url_client_id` is the request URL's `client_id`; `wallet_nonce` the one this wallet
    /// POSTed to the `request_uri`, if it did.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] for the request's refusal; what [`Wallet::answer_dcql`] refuses.
    pub fn answer_online(
        &self,
        request_object: &str,
        url_client_id: Option<&str>,
        wallet_nonce: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<OnlineAnswer, KmidError> {
        let trust = self.verifier_trust();
        let check = WalletCheck {
            trust: &trust,
            at,
            url_client_id,
            wallet_nonce,
            algorithms: &[Algorithm::Es256],
            transaction_data_types: &[kmid_oid4vc::transaction::CONSENT_TYPE],
            origin: None,
            provider: self.provider(),
        };
        let verified = verify_request_object(request_object, &check)?;
        let request = &verified.request;
        let query = DcqlQuery::from_json(request.dcql_query.to_string().as_bytes())?;
        let encryption = if request.response_mode.is_encrypted() {
            Some(ResponseEncryption::for_request(request)?)
        } else {
            None
        };
        let binding = OpenId4VpRequest {
            client_id: request.client_id.clone(),
            nonce: request.nonce.clone(),
            response_uri: request.response_uri.clone().unwrap_or_default(),
            origin: None,
            jwk_thumbprint: match &encryption {
                Some(e) => Some(e.thumbprint(self.provider())?),
                None => None,
            },
        };
        let registered = self.registered_queries(request, &verified.certificate, &query, at)?;
        let vp_token = self.answer_authenticated(
            &query,
            &binding,
            &|id| {
                registered
                    .as_ref()
                    .is_some_and(|ids| ids.is_empty() || ids.iter().any(|i| i == id))
            },
            request.transaction_data.as_deref().unwrap_or_default(),
            at,
        )?;
        let response = AuthorizationResponse::Success {
            vp_token,
            state: request.state.clone(),
        };
        let body = match &encryption {
            Some(e) => direct_post_jwt_body(&e.encrypt(
                self.provider(),
                self.provider().random,
                &response,
            )?),
            None => direct_post_body(&response),
        };
        Ok(OnlineAnswer {
            response_uri: request
                .response_uri
                .clone()
                .ok_or(kmid_oid4vc::Oid4vpError::Missing("response_uri"))?,
            body,
            request: verified,
        })
    }
}

/// One presentation request over the Digital Credentials API (OpenID4VP 1.0 Appendix A, HAIP
/// 1.0 §5.2): what to hand to `navigator.credentials.get` (`protocol` and `data`), and the
/// transaction that takes the `data` of the credential it returns.
#[derive(Debug)]
pub struct DcApiPresentation {
    /// The exchange protocol.
    pub protocol: kmid_oid4vc::dc_api::DcApiProtocol,
    /// The request's `data`.
    pub data: Value,
    /// The Authorization Request.
    pub authorization: AuthorizationRequest,
    origin: String,
    query: DcqlQuery,
    transaction: Transaction,
    outcome: Option<Result<Vec<(String, VerifiedCredential)>, KmidError>>,
}

impl DcApiPresentation {
    /// The pending request as JSON, as [`OnlineRequest::export`] (with the Origin and the
    /// request's `protocol` and `data`). It holds a secret.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] once answered.
    pub fn export(&self) -> Result<Value, KmidError> {
        Ok(json!({
            "kind": "dc_api",
            "protocol": self.protocol.as_str(),
            "data": self.data,
            "origin": self.origin,
            "authorization": serde_json::to_value(&self.authorization)
                .map_err(|e| KmidError::InvalidDcql(e.to_string()))?,
            "query": serde_json::to_value(&self.query)
                .map_err(|e| KmidError::InvalidDcql(e.to_string()))?,
            "transaction": self.transaction.export_pending()?,
        }))
    }

    /// A pending request from [`Self::export`].
    ///
    /// # Errors
    /// As [`OnlineRequest::import`].
    pub fn import(value: &Value) -> Result<Self, KmidError> {
        let malformed =
            |what: &str| kmid_oid4vc::Oid4vpError::Malformed(format!("saved request: {what}"));
        if value.get("kind").and_then(Value::as_str) != Some("dc_api") {
            return Err(malformed("kind").into());
        }
        let text = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(k))
        };
        Ok(Self {
            protocol: kmid_oid4vc::dc_api::DcApiProtocol::parse(&text("protocol")?)?,
            data: value
                .get("data")
                .cloned()
                .ok_or_else(|| malformed("data"))?,
            origin: text("origin")?,
            authorization: serde_json::from_value(
                value.get("authorization").cloned().unwrap_or_default(),
            )
            .map_err(|_| malformed("authorization"))?,
            query: DcqlQuery::from_json(
                value
                    .get("query")
                    .unwrap_or(&Value::Null)
                    .to_string()
                    .as_bytes(),
            )?,
            transaction: Transaction::import_pending(
                value.get("transaction").unwrap_or(&Value::Null),
            )?,
            outcome: None,
        })
    }

    /// What the wallet presented and the verifier verified.
    ///
    /// # Errors
    /// As [`OnlineRequest::result`].
    pub fn result(&self) -> Result<&[(String, VerifiedCredential)], KmidError> {
        self.transaction.result(None)?;
        match &self.outcome {
            Some(Ok(seen)) => Ok(seen),
            Some(Err(e)) => Err(replay_error(e)),
            None => Err(kmid_oid4vc::Oid4vpError::Pending.into()),
        }
    }
}

impl Verifier {
    /// A DC API request from the page at `origin`: unsigned with no `signers`, signed with
    /// one (`openid4vp-v1-signed`), multi-signed with several (`openid4vp-v1-multisigned`, one
    /// signature per Client Identifier, each with its registration attestations);
    /// `dc_api.jwt` (HAIP's) with `encrypted`, a fresh response key then. A signed request
    /// names `origin` in `expected_origins`.
    ///
    /// # Errors
    /// [`KmidError::InvalidDcql`]; [`KmidError::Oid4vp`].
    pub fn request_dc_api(
        &self,
        signers: &[&VerifierAccess],
        query: &DcqlQuery,
        encrypted: bool,
        origin: &str,
        at: OffsetDateTime,
    ) -> Result<DcApiPresentation, KmidError> {
        let options = RequestOptions::default();
        self.request_dc_api_with(signers, query, encrypted, origin, &options, at)
    }

    /// [`Self::request_dc_api`] with the transactions the holder is asked to authorize
    /// (`options.transactions`, each naming Credential Queries of `query`; their
    /// authorization is checked by [`Self::complete_dc_api`]). A DC API flow has no
    /// redirect, so `options.same_device` is refused.
    ///
    /// # Errors
    /// As [`Self::request_dc_api`]; [`KmidError::InvalidRequest`] for a transaction naming no
    /// Credential Query of the query, or `same_device`.
    pub fn request_dc_api_with(
        &self,
        signers: &[&VerifierAccess],
        query: &DcqlQuery,
        encrypted: bool,
        origin: &str,
        options: &RequestOptions,
        at: OffsetDateTime,
    ) -> Result<DcApiPresentation, KmidError> {
        use kmid_oid4vc::dc_api::{
            DcApiProtocol, MultiSigner, multisigned_request, signed_request, unsigned_request,
        };
        query.validate()?;
        check_transaction_queries(query, &options.transactions)?;
        if options.same_device {
            return Err(KmidError::InvalidRequest(
                "a DC API request has no redirect: same_device does not apply",
            ));
        }
        let mode = if encrypted {
            ResponseMode::DcApiJwt
        } else {
            ResponseMode::DcApi
        };
        let transaction = Transaction::new(self.provider().random, mode, false)?;
        let client_metadata = match &transaction.key {
            Some(key) => key.client_metadata(vp_formats_supported()),
            None => ClientMetadata {
                jwks: None,
                encrypted_response_enc_values_supported: Vec::new(),
                vp_formats_supported: Some(vp_formats_supported()),
                other: Map::new(),
            },
        };
        let registrations = |access: &VerifierAccess| {
            (!access.registrations.is_empty()).then(|| {
                access
                    .registrations
                    .iter()
                    .map(|jwt| {
                        crate::registration::RegistrationAttestation::verifier_info(jwt, &[])
                    })
                    .collect::<Vec<_>>()
            })
        };
        let authorization = AuthorizationRequest {
            client_id: signers.first().map(|a| a.client_id()).unwrap_or_default(),
            response_type: "vp_token".into(),
            response_mode: mode,
            response_uri: None,
            nonce: transaction.nonce.clone(),
            state: None,
            dcql_query: serde_json::to_value(query)
                .map_err(|e| KmidError::InvalidDcql(e.to_string()))?,
            client_metadata: Some(client_metadata),
            transaction_data: transaction_data(&options.transactions),
            verifier_info: signers.first().and_then(|a| registrations(a)),
            expected_origins: (!signers.is_empty()).then(|| vec![origin.to_owned()]),
            wallet_nonce: None,
            aud: None,
            iat: Some(at.unix_timestamp()),
            exp: Some((at + REQUEST_LIFETIME).unix_timestamp()),
            other: Map::new(),
        };
        let (protocol, data) = match signers {
            [] => (DcApiProtocol::Unsigned, unsigned_request(&authorization)?),
            [one] => (
                DcApiProtocol::Signed,
                signed_request(self.provider(), &authorization, &one.signer, &one.chain)?,
            ),
            many => {
                let multi: Vec<MultiSigner<'_>> = many
                    .iter()
                    .map(|a| MultiSigner {
                        signer: &a.signer,
                        chain: &a.chain,
                        client_id: a.client_id(),
                        verifier_info: registrations(a),
                    })
                    .collect();
                (
                    DcApiProtocol::MultiSigned,
                    multisigned_request(self.provider(), &authorization, &multi)?,
                )
            }
        };
        Ok(DcApiPresentation {
            protocol,
            data,
            authorization,
            origin: origin.to_owned(),
            query: query.clone(),
            transaction,
            outcome: None,
        })
    }

    /// Takes the `data` of the credential the DC API returned and verifies it: the
    /// transaction's rules (its mode, its key, one response), then the VP Token against the
    /// query with the Origin as the audience (`origin:<Origin>` for the KB-JWT, the
    /// `OpenID4VPDCAPIHandover` for mdoc, with the response key's thumbprint when encrypted).
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`]: what the transaction refused.
    pub fn complete_dc_api(
        &self,
        presentation: &mut DcApiPresentation,
        data: &Value,
        at: OffsetDateTime,
    ) -> Result<(), KmidError> {
        presentation
            .transaction
            .accept_dc_api(self.provider(), data)?;
        let outcome = match presentation.transaction.result(None)? {
            AuthorizationResponse::Error {
                error, description, ..
            } => Err(KmidError::WalletError {
                error: error.clone(),
                description: description.clone(),
            }),
            AuthorizationResponse::Success { vp_token, .. } => {
                let thumbprint = match &presentation.transaction.key {
                    Some(key) => Some(key.thumbprint(self.provider())?),
                    None => None,
                };
                let binding = OpenId4VpRequest::dc_api(
                    &presentation.origin,
                    &presentation.transaction.nonce,
                    thumbprint,
                );
                self.verify_vp_token_any(&presentation.query, &binding, vp_token, at)
                    .and_then(|seen| {
                        self.check_transactions(&presentation.authorization, &seen)?;
                        Ok(seen)
                    })
            }
        };
        presentation.outcome = Some(outcome);
        Ok(())
    }
}

impl Wallet {
    /// Answers a DC API request (`protocol` and `data` as the platform hands them over, with
    /// the verifier's `origin` as the platform reports it): verifies it
    /// ([`kmid_oid4vc::dc_api::verify_dc_api_request`]: a signed request's Origin among its
    /// `expected_origins`, its certificate under the verifier access anchors), answers the DCQL
    /// query bound to the Origin (KB-JWT `aud` `origin:<Origin>`, the mdoc
    /// `OpenID4VPDCAPIHandover`), and returns the response `data`, encrypted for `dc_api.jwt`.
    /// The registration number goes only to a signed request with a registration attestation
    /// (an unsigned one is only an Origin).
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] for the request's refusal; what [`Wallet::answer_dcql`] refuses.
    pub fn answer_dc_api(
        &self,
        protocol: &str,
        data: &Value,
        origin: &str,
        at: OffsetDateTime,
    ) -> Result<Value, KmidError> {
        use kmid_oid4vc::dc_api::{DcApiProtocol, DcApiRequest, verify_dc_api_request};
        let trust = self.verifier_trust();
        let check = WalletCheck {
            trust: &trust,
            at,
            url_client_id: None,
            wallet_nonce: None,
            algorithms: &[Algorithm::Es256],
            transaction_data_types: &[kmid_oid4vc::transaction::CONSENT_TYPE],
            origin: Some(origin),
            provider: self.provider(),
        };
        let verified = verify_dc_api_request(DcApiProtocol::parse(protocol)?, data, &check)?;
        let request = verified.request();
        let query = DcqlQuery::from_json(request.dcql_query.to_string().as_bytes())?;
        let registered = match &verified {
            DcApiRequest::Signed(v) => {
                self.registered_queries(request, &v.certificate, &query, at)?
            }
            // An unsigned request is only an Origin.
            DcApiRequest::Unsigned(_) if self.authenticated_only() => {
                return Err(KmidError::InvalidRequest(
                    "this wallet answers only authenticated verifiers; the DC API request is unsigned",
                ));
            }
            DcApiRequest::Unsigned(_) => None,
        };
        let encryption = if request.response_mode.is_encrypted() {
            Some(ResponseEncryption::for_request(request)?)
        } else {
            None
        };
        let thumbprint = match &encryption {
            Some(e) => Some(e.thumbprint(self.provider())?),
            None => None,
        };
        let binding = OpenId4VpRequest::dc_api(origin, &request.nonce, thumbprint);
        let vp_token = self.answer_authenticated(
            &query,
            &binding,
            &|id| {
                registered
                    .as_ref()
                    .is_some_and(|ids| ids.is_empty() || ids.iter().any(|i| i == id))
            },
            request.transaction_data.as_deref().unwrap_or_default(),
            at,
        )?;
        Ok(kmid_oid4vc::response::dc_api_response(
            self.provider(),
            self.provider().random,
            &AuthorizationResponse::Success {
                vp_token,
                state: None,
            },
            encryption.as_ref(),
        )?)
    }
}

/// One mdoc request over the Digital Credentials API in ISO/IEC 18013-7 Annex C
/// (`org-iso-mdoc`): the request `data` to hand to `navigator.credentials.get`, and what the
/// verifier keeps to open and verify the response — the HPKE key, the exact `encryptionInfo`
/// string, the Origin and the DeviceRequest.
pub struct AnnexCRequest {
    /// The request `data`: `deviceRequest` and `encryptionInfo`, base64url.
    pub data: Value,
    request: kmid_mdoc::model::DeviceRequest,
    encryption_info: String,
    key: kmid_crypto::PrivateKey,
    origin: String,
}

impl AnnexCRequest {
    /// The pending request as JSON, to finish it in another process (`kind` `annex_c`): the
    /// request `data`, the Origin and the HPKE private key as a JWK. It holds a secret: store
    /// it as one.
    ///
    /// # Errors
    /// [`KmidError::Crypto`] for a key that cannot export its scalar.
    pub fn export(&self) -> Result<Value, KmidError> {
        let key = self.key.to_jwk()?;
        Ok(json!({
            "kind": "annex_c",
            "protocol": kmid_mdoc::annex_c::PROTOCOL,
            "data": self.data,
            "origin": self.origin,
            "key": serde_json::to_value(key)
                .map_err(|e| KmidError::InvalidDcql(e.to_string()))?,
        }))
    }

    /// A pending request from [`Self::export`]: the request is read back from its `data`
    /// (the DeviceRequest and `encryptionInfo`), and the key must be the one `encryptionInfo`
    /// names.
    ///
    /// # Errors
    /// [`KmidError::Oid4vp`] (`Malformed`) for a document that is not one; the key's and the
    /// CBOR's refusals.
    pub fn import(value: &Value) -> Result<Self, KmidError> {
        use kmid_crypto::jose::b64url_decode;
        let malformed =
            |what: &str| kmid_oid4vc::Oid4vpError::Malformed(format!("saved request: {what}"));
        if value.get("kind").and_then(Value::as_str) != Some("annex_c") {
            return Err(malformed("kind").into());
        }
        let data = value
            .get("data")
            .cloned()
            .ok_or_else(|| malformed("data"))?;
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(k))
        };
        let limits = kmid_mdoc::CborLimits::default();
        let encryption_info = text(&data, "encryptionInfo")?;
        let info = kmid_mdoc::annex_c::EncryptionInfo::from_bytes(
            &b64url_decode(&encryption_info).map_err(|_| malformed("encryptionInfo"))?,
            &limits,
        )?;
        let request = kmid_mdoc::model::DeviceRequest::from_bytes(
            &b64url_decode(&text(&data, "deviceRequest")?)
                .map_err(|_| malformed("deviceRequest"))?,
            &limits,
        )?;
        let jwk: kmid_crypto::Jwk =
            serde_json::from_value(value.get("key").cloned().ok_or_else(|| malformed("key"))?)
                .map_err(|_| malformed("key"))?;
        let key = jwk.to_private_key()?;
        if key.public_key() != &info.recipient {
            return Err(malformed("the key is not the one encryptionInfo names").into());
        }
        Ok(Self {
            data,
            request,
            encryption_info,
            key,
            origin: text(value, "origin")?,
        })
    }
}

impl core::fmt::Debug for AnnexCRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AnnexCRequest")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// An Annex C request from the page at `origin`: a fresh P-256 key and 16-byte nonce
    /// (`encryptionInfo`), the SessionTranscript they make with the Origin, and the
    /// DeviceRequest `build` writes for it (unsigned, or signed with readerAuth over that
    /// transcript, with a registration attestation: [`crate::Template::mdoc_request_registered`]).
    ///
    /// # Errors
    /// What `build` returns; key and encoding failures.
    pub fn request_annex_c(
        &self,
        origin: &str,
        build: impl FnOnce(
            &kmid_mdoc::model::SessionTranscript,
        ) -> Result<kmid_mdoc::model::DeviceRequest, KmidError>,
    ) -> Result<AnnexCRequest, KmidError> {
        use kmid_crypto::jose::b64url;
        let key = kmid_crypto::PrivateKey::generate_with(
            kmid_crypto::Curve::P256,
            self.provider().random,
        )?;
        let mut nonce = vec![0u8; kmid_mdoc::annex_c::MIN_NONCE_BYTES];
        self.provider().random.fill(&mut nonce)?;
        let encryption_info = b64url(
            &kmid_mdoc::annex_c::EncryptionInfo {
                nonce,
                recipient: key.public_key().clone(),
            }
            .to_bytes()?,
        );
        let transcript = kmid_mdoc::annex_c::transcript(self.provider(), &encryption_info, origin)?;
        let request = build(&transcript)?;
        let data = json!({
            "deviceRequest": b64url(&request.to_bytes()),
            "encryptionInfo": encryption_info,
        });
        Ok(AnnexCRequest {
            data,
            request,
            encryption_info,
            key,
            origin: origin.to_owned(),
        })
    }

    /// Opens the response `data` of an Annex C request (`{"response": <EncryptedResponse>}`)
    /// with the request's key over its SessionTranscript, and verifies the DeviceResponse as
    /// [`Verifier::verify_mdoc_any`] does (device authentication over that transcript, so a
    /// response made for another Origin or request fails).
    ///
    /// # Errors
    /// [`KmidError::Mdoc`]: what does not decode, open or verify.
    pub fn complete_annex_c(
        &self,
        request: &AnnexCRequest,
        data: &Value,
        at: OffsetDateTime,
    ) -> Result<Vec<VerifiedCredential>, KmidError> {
        let limits = kmid_mdoc::CborLimits::default();
        let response = data
            .get("response")
            .and_then(Value::as_str)
            .and_then(|r| kmid_crypto::jose::b64url_decode(r).ok())
            .ok_or(kmid_mdoc::MdocError::InvalidInput(
                "the response data has no base64url response",
            ))?;
        let sealed = kmid_mdoc::annex_c::EncryptedResponse::from_bytes(&response, &limits)?;
        let transcript = kmid_mdoc::annex_c::transcript(
            self.provider(),
            &request.encryption_info,
            &request.origin,
        )?;
        let device_response =
            kmid_mdoc::annex_c::open_response(self.provider(), &request.key, &transcript, &sealed)?;
        self.verify_mdoc_any(&request.request, &device_response, &transcript, at)
    }
}

impl Wallet {
    /// Answers an Annex C request (`data` as the platform hands it over, with the verifier's
    /// `origin` as the platform reports it): the SessionTranscript from the exact
    /// `encryptionInfo` string and the Origin, the DeviceRequest answered as
    /// [`Wallet::respond_mdoc`] answers (readerAuth, the registration number only with a
    /// registration attestation), and the DeviceResponse sealed with HPKE to the verifier's
    /// key; returns the response `data`.
    ///
    /// # Errors
    /// [`KmidError::Mdoc`] for a request that does not decode; what
    /// [`Wallet::respond_mdoc`] refuses.
    pub fn answer_annex_c(
        &self,
        data: &Value,
        origin: &str,
        at: OffsetDateTime,
    ) -> Result<Value, KmidError> {
        use kmid_crypto::jose::{b64url, b64url_decode};
        let limits = kmid_mdoc::CborLimits::default();
        let field = |k: &'static str| {
            data.get(k)
                .and_then(Value::as_str)
                .ok_or(kmid_mdoc::MdocError::InvalidInput(
                    "Annex C request data needs deviceRequest and encryptionInfo",
                ))
        };
        let encryption_info = field("encryptionInfo")?;
        let decode = |text: &str| {
            b64url_decode(text).map_err(|_| {
                kmid_mdoc::MdocError::InvalidInput("Annex C request data is base64url")
            })
        };
        let info =
            kmid_mdoc::annex_c::EncryptionInfo::from_bytes(&decode(encryption_info)?, &limits)?;
        let request = kmid_mdoc::model::DeviceRequest::from_bytes(
            &decode(field("deviceRequest")?)?,
            &limits,
        )?;
        let transcript = kmid_mdoc::annex_c::transcript(self.provider(), encryption_info, origin)?;
        let response = self.respond_mdoc(&request, &transcript, at)?;
        let sealed = kmid_mdoc::annex_c::seal_response(
            self.provider(),
            self.provider().random,
            &info.recipient,
            &transcript,
            &response.to_bytes(),
        )?;
        Ok(json!({ "response": b64url(&sealed.to_bytes()) }))
    }
}
