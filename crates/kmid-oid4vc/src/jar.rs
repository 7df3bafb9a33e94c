//! Request Objects (RFC 9101 as OpenID4VP 1.0 §5 and HAIP 1.0 §5 use them): signed by a
//! verifier's access certificate, carried in `x5c` without the trust anchor, and bound to the
//! Client Identifier by its prefix.

use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, PreparedHeader, sign_compact_prepared};
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, chain_to_x5c};
use kmid_crypto::{Algorithm, CryptoProvider, Signer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::Oid4vpError;
use crate::request::{
    AuthorizationRequest, ClientId, MAX_REQUEST_BYTES, REQUEST_OBJECT_TYP, SELF_ISSUED_V2,
    https_host,
};

/// The longest a signed request may be valid (`exp - iat`, or `exp` from the wallet's time).
pub const MAX_REQUEST_LIFETIME_SECONDS: i64 = 3600;

/// How far a Request Object's `iat` may be ahead of the wallet's clock.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// Signs `request` as a Request Object: header `typ` `oauth-authz-req+jwt` and `x5c` `chain`
/// (leaf first, the trust anchor left out), `alg` from `signer`, whose key must be the leaf's.
/// The request must pass [`AuthorizationRequest::check`] and its `client_id` must be bound to
/// the leaf ([`client_binding`]), so a verifier cannot send a request its wallets will refuse.
///
/// # Errors
/// [`Oid4vpError`] for a request or chain that would be refused; JOSE signing failures.
pub fn sign_request_object(
    provider: &CryptoProvider,
    request: &AuthorizationRequest,
    signer: &Arc<dyn Signer>,
    chain: &[Certificate],
) -> Result<String, Oid4vpError> {
    // The request's own faults first, then the chain's, as always.
    request.check()?;
    let kept = RequestObjectSigner::new(provider, Arc::clone(signer), chain.to_vec())?;
    kept.binding(provider, request)?;
    kept.sign_checked(request)
}

/// Signs Request Objects with one access certificate, as [`sign_request_object`] does, the
/// certificate's checks, its `x509_hash` and the JWS header made once: what a relying party
/// that signs a request per transaction keeps.
pub struct RequestObjectSigner {
    signer: Arc<dyn Signer>,
    chain: Vec<Certificate>,
    /// The `x509_hash` Client Identifier of the leaf.
    x509_hash: ClientId,
    header: PreparedHeader,
}

impl core::fmt::Debug for RequestObjectSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestObjectSigner")
            .field("client_id", &self.x509_hash.to_string())
            .finish_non_exhaustive()
    }
}

impl RequestObjectSigner {
    /// A signer with `signer`, whose key must be the leaf's of `chain` (leaf first, the trust
    /// anchor left out, the leaf not self-issued).
    ///
    /// # Errors
    /// [`Oid4vpError`] for a chain that would be refused.
    pub fn new(
        provider: &CryptoProvider,
        signer: Arc<dyn Signer>,
        chain: Vec<Certificate>,
    ) -> Result<Self, Oid4vpError> {
        let leaf = chain
            .first()
            .ok_or(Oid4vpError::Missing("x5c (the verifier's certificate)"))?;
        if leaf.public_key() != signer.public_key() {
            return Err(Oid4vpError::Malformed(
                "the signer's key is not the leaf certificate's".into(),
            ));
        }
        if leaf.is_self_issued() {
            return Err(Oid4vpError::SelfSigned);
        }
        let x509_hash = ClientId::x509_hash(provider, leaf)?;
        let mut header = Map::new();
        header.insert("typ".into(), REQUEST_OBJECT_TYP.into());
        header.insert("x5c".into(), chain_to_x5c(&chain).into());
        let header = PreparedHeader::new(header, &signer).map_err(Oid4vpError::Jws)?;
        Ok(Self {
            signer,
            chain,
            x509_hash,
            header,
        })
    }

    /// The checks of [`check_signable`] for this certificate.
    ///
    /// # Errors
    /// As [`check_signable`].
    pub fn check(
        &self,
        provider: &CryptoProvider,
        request: &AuthorizationRequest,
    ) -> Result<(), Oid4vpError> {
        request.check()?;
        self.binding(provider, request)
    }

    /// The `client_id`'s binding to the leaf (the request's own checks made before).
    fn binding(
        &self,
        provider: &CryptoProvider,
        request: &AuthorizationRequest,
    ) -> Result<(), Oid4vpError> {
        let client = request.client()?;
        if client == self.x509_hash {
            return Ok(());
        }
        let leaf = self
            .chain
            .first()
            .ok_or(Oid4vpError::Missing("x5c (the verifier's certificate)"))?;
        client_binding(provider, &client, leaf, request)
    }

    /// `request` signed, after [`Self::check`].
    ///
    /// # Errors
    /// As [`sign_request_object`].
    pub fn sign(
        &self,
        provider: &CryptoProvider,
        request: &AuthorizationRequest,
    ) -> Result<String, Oid4vpError> {
        self.check(provider, request)?;
        self.sign_checked(request)
    }

    /// `request`, checked before, signed.
    fn sign_checked(&self, request: &AuthorizationRequest) -> Result<String, Oid4vpError> {
        let payload = serde_json::to_vec(request)
            .map_err(|e| Oid4vpError::Malformed(format!("the request does not serialize: {e}")))?;
        sign_compact_prepared(&self.header, &payload, &self.signer).map_err(Oid4vpError::Jws)
    }
}

/// What [`sign_request_object`] checks before it signs, alone: for a request that is signed
/// later (when a wallet fetches it), so that it is refused when it is made, not then.
///
/// # Errors
/// As [`sign_request_object`], without its signing failures.
pub fn check_signable(
    provider: &CryptoProvider,
    request: &AuthorizationRequest,
    signer: &Arc<dyn Signer>,
    chain: &[Certificate],
) -> Result<(), Oid4vpError> {
    request.check()?;
    RequestObjectSigner::new(provider, Arc::clone(signer), chain.to_vec())?
        .binding(provider, request)
}

/// Whether `client` is bound to `leaf` as its prefix requires (OpenID4VP 1.0 §5.9.3):
/// `x509_hash`, the base64url SHA-256 of the leaf's DER; `x509_san_dns`, a dNSName of the leaf
/// and, for the `direct_post` modes, the `response_uri` host.
///
/// # Errors
/// [`Oid4vpError::HashMismatch`], [`Oid4vpError::SanMismatch`],
/// [`Oid4vpError::ClientIdPrefix`] for a prefix without a certificate.
pub fn client_binding(
    provider: &CryptoProvider,
    client: &ClientId,
    leaf: &Certificate,
    request: &AuthorizationRequest,
) -> Result<(), Oid4vpError> {
    match client {
        ClientId::X509Hash(_) => {
            if ClientId::x509_hash(provider, leaf)? == *client {
                Ok(())
            } else {
                Err(Oid4vpError::HashMismatch)
            }
        }
        ClientId::X509SanDns(dns) => {
            if !leaf.dns_names().iter().any(|n| n.eq_ignore_ascii_case(dns)) {
                return Err(Oid4vpError::SanMismatch("not a dNSName of the leaf"));
            }
            // Outside the DC API, the response goes to a host of that name (§5.9.3).
            if request.response_mode.is_direct_post()
                && request
                    .response_uri
                    .as_deref()
                    .and_then(https_host)
                    .is_none_or(|host| !host.eq_ignore_ascii_case(dns))
            {
                return Err(Oid4vpError::SanMismatch(
                    "the response_uri host is not the client_id's DNS name",
                ));
            }
            Ok(())
        }
        ClientId::RedirectUri(_) => Err(Oid4vpError::ClientIdPrefix(client.to_string())),
    }
}

/// What a wallet checks a Request Object against.
#[derive(Clone, Copy)]
pub struct WalletCheck<'a> {
    /// The verifier access anchors of the trust configuration (`verifier-access`).
    pub trust: &'a TrustStore,
    /// The wallet's time.
    pub at: OffsetDateTime,
    /// The `client_id` of the request URL, which must equal the Request Object's (none for a
    /// DC API request).
    pub url_client_id: Option<&'a str>,
    /// The `wallet_nonce` the wallet POSTed to the `request_uri`, if it did.
    pub wallet_nonce: Option<&'a str>,
    /// The signature algorithms accepted.
    pub algorithms: &'a [Algorithm],
    /// The transaction data types the wallet supports (a request carrying another is refused).
    pub transaction_data_types: &'a [&'a str],
    /// Over the DC API, the Origin the platform reports for the request: it must be one of a
    /// signed request's `expected_origins` (Appendix A.2).
    pub origin: Option<&'a str>,
    /// Where every primitive runs.
    pub provider: &'a CryptoProvider,
}

impl core::fmt::Debug for WalletCheck<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WalletCheck")
            .field("at", &self.at)
            .field("url_client_id", &self.url_client_id)
            .finish_non_exhaustive()
    }
}

impl<'a> WalletCheck<'a> {
    /// A check against `trust` at `at`, on the default provider, for ES256 (HAIP's MUST), no
    /// URL `client_id`, no `wallet_nonce` and no transaction data types.
    #[must_use]
    pub fn new(trust: &'a TrustStore, at: OffsetDateTime) -> Self {
        Self {
            trust,
            at,
            url_client_id: None,
            wallet_nonce: None,
            algorithms: &[Algorithm::Es256],
            transaction_data_types: &[],
            origin: None,
            provider: CryptoProvider::get_default(),
        }
    }
}

/// A Request Object the wallet verified: the request, who sent it, and the certificate that
/// authenticated it.
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    /// The Authorization Request.
    pub request: AuthorizationRequest,
    /// Its Client Identifier.
    pub client: ClientId,
    /// The verifier's access certificate (the leaf of `x5c`).
    pub certificate: Certificate,
    /// Index in the trust store of the anchor it chained to.
    pub root_index: usize,
}

/// Verifies a Request Object as a wallet must before it shows the user anything (OpenID4VP
/// 1.0 §5, §5.9.3, §5.10; HAIP 1.0 §5), cheapest refusals first: size, `typ`, `alg`, the `x5c`
/// chain (no trust anchor inside it, a leaf that is not self-signed, validated to `trust` for
/// reader authentication), the signature, then the payload: [`AuthorizationRequest::check`], a
/// certificate-bound prefix, the URL's `client_id`, [`client_binding`], `aud`, `wallet_nonce`,
/// `exp`/`iat`, and the transaction data types.
///
/// # Errors
/// [`Oid4vpError`] naming the first check that failed.
pub fn verify_request_object(
    text: &str,
    check: &WalletCheck<'_>,
) -> Result<VerifiedRequest, Oid4vpError> {
    if text.len() > MAX_REQUEST_BYTES {
        return Err(Oid4vpError::Malformed(
            "the request object is too large".into(),
        ));
    }
    let jws = CompactJws::parse(text).map_err(Oid4vpError::Jws)?;
    if !jws.typ_is(REQUEST_OBJECT_TYP) {
        return Err(Oid4vpError::WrongType);
    }
    let alg = jws.algorithm(check.algorithms).map_err(Oid4vpError::Jws)?;
    let validated = authenticate_x5c(&jws.header, check)?;
    jws.verify(&validated.leaf_key, alg, check.provider.signature_verifier)
        .map_err(Oid4vpError::Jws)?;
    let request: AuthorizationRequest = serde_json::from_slice(&jws.payload)
        .map_err(|e| Oid4vpError::Malformed(format!("the request object's payload: {e}")))?;
    let client = check_payload(&request, &validated.leaf, check)?;
    Ok(VerifiedRequest {
        client,
        certificate: validated.leaf,
        root_index: validated.root_index,
        request,
    })
}

/// The `x5c` of a signed request's (protected) header, authenticated as HAIP 1.0 §5 requires:
/// present and no longer than the store's longest chain, no trust anchor inside it, a leaf that
/// is not self-issued, the chain validated to the verifier anchors for reader authentication.
pub(crate) fn authenticate_x5c(
    header: &Map<String, Value>,
    check: &WalletCheck<'_>,
) -> Result<kmid_crypto::x509::ValidatedChain, Oid4vpError> {
    use crate::x5c::X5cError;
    crate::x5c::authenticate(
        header,
        check.trust,
        check.at,
        KeyPurpose::ReaderAuthentication,
    )
    .map_err(|e| match e {
        X5cError::Missing => Oid4vpError::Missing("x5c"),
        X5cError::Malformed => Oid4vpError::Malformed("x5c (an array of strings)".into()),
        X5cError::Certificate(e) => Oid4vpError::Certificate(e),
        X5cError::AnchorInChain => Oid4vpError::AnchorInChain,
        X5cError::SelfSigned => Oid4vpError::SelfSigned,
    })
}

/// The checks of a verified request's parameters: [`AuthorizationRequest::check`], a
/// certificate-bound prefix, the URL's `client_id`, [`client_binding`], `aud` (redirect flows)
/// or the Origin among `expected_origins` (DC API), `wallet_nonce`, `exp`/`iat`, and the
/// transaction data types.
pub(crate) fn check_payload(
    request: &AuthorizationRequest,
    leaf: &Certificate,
    check: &WalletCheck<'_>,
) -> Result<ClientId, Oid4vpError> {
    request.check()?;
    let client = request.client()?;
    if !client.is_x509() {
        return Err(Oid4vpError::ClientIdPrefix(request.client_id.clone()));
    }
    if check
        .url_client_id
        .is_some_and(|url| url != request.client_id)
    {
        return Err(Oid4vpError::ClientIdMismatch);
    }
    client_binding(check.provider, &client, leaf, request)?;
    if request.response_mode.is_direct_post() {
        if request.aud.as_deref() != Some(SELF_ISSUED_V2) {
            return Err(Oid4vpError::Audience);
        }
    } else {
        let origin = check
            .origin
            .ok_or(Oid4vpError::Missing("the request's Origin"))?;
        let expected = request
            .expected_origins
            .as_ref()
            .filter(|o| !o.is_empty())
            .ok_or(Oid4vpError::Missing("expected_origins"))?;
        if !expected.iter().any(|o| o == origin) {
            return Err(Oid4vpError::Origin);
        }
    }
    if let Some(sent) = check.wallet_nonce
        && request.wallet_nonce.as_deref() != Some(sent)
    {
        return Err(Oid4vpError::WalletNonce);
    }
    // A signed request must say until when it may be used, and not for long: a captured one
    // is otherwise good forever.
    let now = check.at.unix_timestamp();
    let exp = request.exp.ok_or(Oid4vpError::Missing("exp"))?;
    if now >= exp
        || request
            .iat
            .is_some_and(|iat| iat > now.saturating_add(CLOCK_SKEW_SECONDS))
    {
        return Err(Oid4vpError::Expired);
    }
    if exp.saturating_sub(request.iat.unwrap_or(now)) > MAX_REQUEST_LIFETIME_SECONDS {
        return Err(Oid4vpError::Malformed(
            "a request object valid for more than an hour".into(),
        ));
    }
    check_transaction_data(request, check)?;
    Ok(client)
}

/// Every `transaction_data` entry of a type the wallet supports, and conforming to it (§5.1:
/// one unrecognized or non-conforming entry refuses the request).
pub(crate) fn check_transaction_data(
    request: &AuthorizationRequest,
    check: &WalletCheck<'_>,
) -> Result<(), Oid4vpError> {
    for item in request.transaction_data.iter().flatten() {
        let kind = transaction_data_type(item)?;
        if !check.transaction_data_types.contains(&kind.as_str()) {
            return Err(Oid4vpError::TransactionData(kind));
        }
        if kind == crate::transaction::CONSENT_TYPE {
            crate::transaction::TransactionConsent::decode(item)?;
        }
    }
    Ok(())
}

/// The `type` of one `transaction_data` entry (a base64url-encoded JSON object, §5.1).
///
/// # Errors
/// [`Oid4vpError::Malformed`].
pub fn transaction_data_type(item: &str) -> Result<String, Oid4vpError> {
    let bad =
        || Oid4vpError::Malformed("transaction_data (base64url JSON objects with a type)".into());
    let bytes = kmid_crypto::jose::b64url_decode(item).map_err(|_| bad())?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => map
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}
