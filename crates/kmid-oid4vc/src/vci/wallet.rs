//! The wallet's OpenID4VCI client as HAIP 1.0 §4 asks of it, over the caller's
//! [`HttpClient`]: resolve an offer (by value, or GET its `credential_offer_uri`), fetch and
//! check the issuer's and the Authorization Server's metadata, run the pre-authorized code grant
//! or the authorization code flow (PAR with wallet attestation, PKCE `S256`, the RFC 9207 `iss`
//! check), every token DPoP-bound — `DPoP-Nonce` taken from any response, a `use_dpop_nonce`
//! answered by one retry — then the Nonce Endpoint, the Credential Request with key proofs (one
//! key, or a batch under a key attestation), the Notification Endpoint, and renewal by the
//! refresh-token grant with the same DPoP key.

use std::cell::RefCell;
use std::sync::Arc;

use kmid_crypto::jose::sign_compact;
use kmid_crypto::{CryptoProvider, Random, Signer};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::client::{Pkce, authorization_code};
use super::client_attestation::{
    ATTESTATION_HEADER, ATTESTATION_POP_HEADER, client_attestation_pop,
};
use super::http::{HttpClient, HttpRequest, HttpResponse};
use super::metadata::{
    AS_WELL_KNOWN, AuthorizationServerMetadata, CredentialIssuerMetadata, ISSUER_WELL_KNOWN,
    well_known_url,
};
use super::offer::{CredentialOffer, OfferUrl};
use super::proof::PROOF_TYP;
use super::server::{CredentialResponse, NotificationEvent, TokenResponse};
use super::{AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_GRANT, REFRESH_TOKEN_GRANT, VciError};
use crate::dpop::{DpopProof, DpopRequest};

/// The wallet instance's client credentials: the `client_id`, the instance key and the wallet
/// provider's attestation of it.
pub struct ClientCredentials {
    /// The `client_id` (the attestation's `sub`).
    pub client_id: String,
    /// The instance key (`cnf.jwk` of the attestation).
    pub instance: Arc<dyn Signer>,
    /// The Client Attestation JWT.
    pub attestation: String,
}

impl core::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// An issuer as the wallet found it.
#[derive(Debug, Clone)]
pub struct IssuerInfo {
    /// Its Credential Issuer Metadata, checked.
    pub metadata: CredentialIssuerMetadata,
    /// Its Authorization Server's metadata, checked.
    pub authorization_server: AuthorizationServerMetadata,
}

/// Tokens the wallet holds for one issuer.
#[derive(Clone)]
pub struct Session {
    /// The DPoP-bound access token.
    pub access_token: String,
    /// The refresh token, for renewal.
    pub refresh_token: Option<String>,
    /// The `client_id` the tokens were issued to (`None`: anonymous pre-authorized access).
    pub client_id: Option<String>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// A started authorization: where to send the holder, and what to check when they come back.
#[derive(Debug, Clone)]
pub struct AuthorizationStart {
    /// The authorization endpoint's URL with `client_id` and the PAR `request_uri`.
    pub url: String,
    /// The PKCE pair.
    pub pkce: Pkce,
    /// The `state` sent.
    pub state: String,
    /// The `redirect_uri` sent.
    pub redirect_uri: String,
}

/// The keys a Credential Request proves.
pub enum ProofKeys<'a> {
    /// One key, one `jwt` proof.
    One(&'a Arc<dyn Signer>),
    /// A batch: a `jwt` proof by `signer`, one of the keys the wallet's secure area attests
    /// for the `c_nonce` (`attest`: the key attestation JWT with that nonce).
    Attested {
        /// The key that signs the proof.
        signer: &'a Arc<dyn Signer>,
        /// Makes the key attestation for a `c_nonce`.
        attest: &'a dyn Fn(&str) -> Result<String, String>,
    },
    /// The `attestation` proof type: the key attestation alone.
    AttestationOnly(&'a dyn Fn(&str) -> Result<String, String>),
}

/// The wallet's client.
pub struct IssuanceClient<'a> {
    http: &'a dyn HttpClient,
    provider: &'a CryptoProvider,
    random: &'a dyn Random,
    dpop: Arc<dyn Signer>,
    client: Option<ClientCredentials>,
    dpop_nonce: RefCell<Option<String>>,
}

impl core::fmt::Debug for IssuanceClient<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuanceClient")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

fn remote(response: &HttpResponse) -> VciError {
    let error = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    VciError::Remote {
        status: response.status,
        error: error.chars().take(64).collect(),
    }
}

fn json_body<T: for<'de> serde::Deserialize<'de>>(response: &HttpResponse) -> Result<T, VciError> {
    if !(200..300).contains(&response.status) {
        return Err(remote(response));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| VciError::Malformed(format!("response body: {e}")))
}

impl<'a> IssuanceClient<'a> {
    /// A client sending through `http`, its tokens bound to `dpop`, authenticating as
    /// `client` when given (HAIP requires it at PAR and the token endpoint; a pre-authorized
    /// code may be redeemed anonymously where the issuer allows it).
    #[must_use]
    pub fn new(
        http: &'a dyn HttpClient,
        provider: &'a CryptoProvider,
        random: &'a dyn Random,
        dpop: Arc<dyn Signer>,
        client: Option<ClientCredentials>,
    ) -> Self {
        Self {
            http,
            provider,
            random,
            dpop,
            client,
            dpop_nonce: RefCell::new(None),
        }
    }

    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, VciError> {
        let response = self.http.send(request).map_err(VciError::Transport)?;
        if let Some(nonce) = response.header("DPoP-Nonce") {
            self.dpop_nonce.replace(Some(nonce.to_owned()));
        }
        Ok(response)
    }

    fn get(&self, url: &str) -> Result<HttpResponse, VciError> {
        self.send(&HttpRequest {
            method: "GET",
            url: url.to_owned(),
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
        })
    }

    /// POSTs with a DPoP proof (and the access token, at a resource); on `use_dpop_nonce`
    /// once more with the nonce the server sent.
    fn post_dpop(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        access_token: Option<&str>,
        client_auth_for: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<HttpResponse, VciError> {
        let mut retried = false;
        loop {
            let nonce = self.dpop_nonce.borrow().clone();
            let proof = DpopProof::create(
                self.provider,
                self.random,
                &self.dpop,
                &DpopRequest {
                    method: "POST",
                    url,
                    nonce: nonce.as_deref(),
                    access_token,
                },
                at,
            )?;
            let mut headers = vec![
                ("Content-Type".to_owned(), content_type.to_owned()),
                ("DPoP".to_owned(), proof),
            ];
            if let Some(token) = access_token {
                headers.push(("Authorization".into(), format!("DPoP {token}")));
            }
            if let (Some(aud), Some(client)) = (client_auth_for, &self.client) {
                headers.push((ATTESTATION_HEADER.into(), client.attestation.clone()));
                headers.push((
                    ATTESTATION_POP_HEADER.into(),
                    client_attestation_pop(
                        &client.instance,
                        self.random,
                        &client.client_id,
                        aud,
                        None,
                        at,
                    )?,
                ));
            }
            let response = self.send(&HttpRequest {
                method: "POST",
                url: url.to_owned(),
                headers,
                body: body.to_vec(),
            })?;
            let use_nonce = matches!(response.status, 400 | 401)
                && serde_json::from_slice::<Value>(&response.body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                    .as_deref()
                    == Some("use_dpop_nonce");
            if use_nonce && !retried && self.dpop_nonce.borrow().as_deref() != nonce.as_deref() {
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// The offer a wallet was invoked with: by value, or fetched from its
    /// `credential_offer_uri` (`application/json`), checked.
    ///
    /// # Errors
    /// What [`OfferUrl::parse`] and [`CredentialOffer::from_json`] refuse;
    /// [`VciError::Transport`], [`VciError::Remote`].
    pub fn offer(&self, url: &str) -> Result<CredentialOffer, VciError> {
        match OfferUrl::parse(url)? {
            OfferUrl::ByValue(offer) => Ok(*offer),
            OfferUrl::ByReference(uri) => {
                let response = self.get(&uri)?;
                if !(200..300).contains(&response.status) {
                    return Err(remote(&response));
                }
                CredentialOffer::from_json(&response.body)
            }
        }
    }

    /// The issuer's metadata and its Authorization Server's (the offer's hint among
    /// `authorization_servers`, the first of them, or the issuer itself), each checked for the
    /// identifier it was fetched for.
    ///
    /// # Errors
    /// What the metadata checks refuse; [`VciError::Transport`], [`VciError::Remote`].
    pub fn issuer(
        &self,
        credential_issuer: &str,
        authorization_server_hint: Option<&str>,
    ) -> Result<IssuerInfo, VciError> {
        let response = self.get(&well_known_url(credential_issuer, ISSUER_WELL_KNOWN)?)?;
        if !(200..300).contains(&response.status) {
            return Err(remote(&response));
        }
        let metadata = CredentialIssuerMetadata::from_json(&response.body, credential_issuer)?;
        let server = metadata.authorization_server(authorization_server_hint)?;
        let response = self.get(&well_known_url(&server, AS_WELL_KNOWN)?)?;
        if !(200..300).contains(&response.status) {
            return Err(remote(&response));
        }
        let authorization_server = AuthorizationServerMetadata::from_json(&response.body, &server)?;
        Ok(IssuerInfo {
            metadata,
            authorization_server,
        })
    }

    fn token(
        &self,
        issuer: &IssuerInfo,
        form: &[(&str, &str)],
        at: OffsetDateTime,
    ) -> Result<Session, VciError> {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let authorization_server = &issuer.authorization_server;
        let response = self.post_dpop(
            &authorization_server.token_endpoint,
            "application/x-www-form-urlencoded",
            body.finish().as_bytes(),
            None,
            Some(&authorization_server.issuer),
            at,
        )?;
        let token: TokenResponse = json_body(&response)?;
        if !token.token_type.eq_ignore_ascii_case("DPoP") {
            return Err(VciError::Unsupported {
                what: "token_type",
                value: token.token_type.chars().take(32).collect(),
            });
        }
        Ok(Session {
            access_token: token.access_token,
            refresh_token: token.refresh_token,
            client_id: self.client.as_ref().map(|c| c.client_id.clone()),
        })
    }

    /// The pre-authorized code grant of `offer`, with the Transaction Code the holder typed.
    ///
    /// # Errors
    /// [`VciError::Missing`] for an offer without the grant; [`VciError::Remote`] with the
    /// token endpoint's error; [`VciError::Transport`].
    pub fn pre_authorized(
        &self,
        issuer: &IssuerInfo,
        offer: &CredentialOffer,
        tx_code: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Session, VciError> {
        let grant = offer
            .grants
            .pre_authorized_code
            .as_ref()
            .ok_or(VciError::Missing("pre-authorized_code"))?;
        let mut form = vec![
            ("grant_type", PRE_AUTHORIZED_GRANT),
            ("pre-authorized_code", grant.code.as_str()),
        ];
        if let Some(tx) = tx_code {
            form.push(("tx_code", tx));
        }
        self.token(issuer, &form, at)
    }

    /// Pushes an authorization request (PAR, authenticated by the wallet attestation) for
    /// `scope` and returns where to send the holder.
    ///
    /// # Errors
    /// [`VciError::InvalidClient`] without client credentials; [`VciError::Missing`] when the
    /// server has no PAR or authorization endpoint; [`VciError::Remote`].
    pub fn start_authorization(
        &self,
        issuer: &IssuerInfo,
        scope: &str,
        redirect_uri: &str,
        issuer_state: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<AuthorizationStart, VciError> {
        let client = self
            .client
            .as_ref()
            .ok_or(VciError::InvalidClient("no client credentials"))?;
        let server = &issuer.authorization_server;
        let par = server
            .pushed_authorization_request_endpoint
            .as_ref()
            .ok_or(VciError::Missing("pushed_authorization_request_endpoint"))?;
        let authorize = server
            .authorization_endpoint
            .as_ref()
            .ok_or(VciError::Missing("authorization_endpoint"))?;
        let pkce = Pkce::new(self.provider, self.random)?;
        let mut state = [0u8; 16];
        self.random.fill(&mut state)?;
        let state = kmid_crypto::jose::b64url(&state);
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scope)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state);
        if let Some(issuer_state) = issuer_state {
            body.append_pair("issuer_state", issuer_state);
        }
        let response = self.post_dpop(
            par,
            "application/x-www-form-urlencoded",
            body.finish().as_bytes(),
            None,
            Some(&server.issuer),
            at,
        )?;
        let par: ParResponseBody = json_body(&response)?;
        let url = format!(
            "{authorize}?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &client.client_id)
                .append_pair("request_uri", &par.request_uri)
                .finish()
        );
        Ok(AuthorizationStart {
            url,
            pkce,
            state,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// Finishes an authorization: checks the response the holder came back with (`iss`,
    /// `state`) and redeems the code with the PKCE verifier.
    ///
    /// # Errors
    /// [`VciError::IssuerMismatch`] for a response from another Authorization Server; what
    /// the token endpoint answers.
    pub fn finish_authorization(
        &self,
        issuer: &IssuerInfo,
        start: &AuthorizationStart,
        redirect: &str,
        at: OffsetDateTime,
    ) -> Result<Session, VciError> {
        let code = authorization_code(
            redirect,
            &issuer.authorization_server.issuer,
            Some(&start.state),
        )?;
        self.token(
            issuer,
            &[
                ("grant_type", AUTHORIZATION_CODE_GRANT),
                ("code", &code),
                ("redirect_uri", &start.redirect_uri),
                ("code_verifier", &start.pkce.verifier),
            ],
            at,
        )
    }

    /// Renewal: the refresh-token grant with the same DPoP key.
    ///
    /// # Errors
    /// [`VciError::Missing`] without a refresh token; what the token endpoint answers.
    pub fn refresh(
        &self,
        issuer: &IssuerInfo,
        session: &Session,
        at: OffsetDateTime,
    ) -> Result<Session, VciError> {
        let refresh = session
            .refresh_token
            .as_deref()
            .ok_or(VciError::Missing("refresh_token"))?;
        self.token(
            issuer,
            &[
                ("grant_type", REFRESH_TOKEN_GRANT),
                ("refresh_token", refresh),
            ],
            at,
        )
    }

    /// A fresh `c_nonce` from the Nonce Endpoint.
    ///
    /// # Errors
    /// [`VciError::Missing`] for an issuer without one; [`VciError::Remote`].
    pub fn nonce(&self, issuer: &IssuerInfo) -> Result<String, VciError> {
        let endpoint = issuer
            .metadata
            .nonce_endpoint
            .as_ref()
            .ok_or(VciError::Missing("nonce_endpoint"))?;
        let response = self.send(&HttpRequest {
            method: "POST",
            url: endpoint.clone(),
            headers: Vec::new(),
            body: Vec::new(),
        })?;
        let body: Value = json_body(&response)?;
        body.get("c_nonce")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(VciError::Missing("c_nonce"))
    }

    fn jwt_proof(
        &self,
        issuer: &IssuerInfo,
        session: &Session,
        signer: &Arc<dyn Signer>,
        nonce: &str,
        attestation: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<String, VciError> {
        let mut header = Map::new();
        header.insert("typ".into(), json!(PROOF_TYP));
        header.insert("jwk".into(), json!(signer.public_key().to_jwk()));
        if let Some(att) = attestation {
            header.insert("key_attestation".into(), json!(att));
        }
        let mut claims = Map::new();
        claims.insert("aud".into(), json!(issuer.metadata.credential_issuer));
        claims.insert("iat".into(), json!(at.unix_timestamp()));
        claims.insert("nonce".into(), json!(nonce));
        if let Some(client) = &session.client_id {
            claims.insert("iss".into(), json!(client));
        }
        sign_compact(header, Value::Object(claims).to_string().as_bytes(), signer)
            .map_err(VciError::Jws)
    }

    /// Requests `configuration` with proofs of `keys` over a fresh `c_nonce`.
    ///
    /// # Errors
    /// [`VciError::Remote`] with the credential endpoint's error (`invalid_proof`,
    /// `invalid_nonce`, …); [`VciError::Transport`].
    pub fn credential(
        &self,
        issuer: &IssuerInfo,
        session: &Session,
        configuration: &str,
        keys: &ProofKeys<'_>,
        at: OffsetDateTime,
    ) -> Result<CredentialResponse, VciError> {
        let nonce = self.nonce(issuer)?;
        let attest_failed = |e: String| VciError::Malformed(format!("key attestation: {e}"));
        let proofs = match keys {
            ProofKeys::One(signer) => {
                json!({ "jwt": [self.jwt_proof(issuer, session, signer, &nonce, None, at)?] })
            }
            ProofKeys::Attested { signer, attest } => {
                let attestation = attest(&nonce).map_err(attest_failed)?;
                json!({ "jwt": [self.jwt_proof(issuer, session, signer, &nonce, Some(&attestation), at)?] })
            }
            ProofKeys::AttestationOnly(attest) => {
                json!({ "attestation": [attest(&nonce).map_err(attest_failed)?] })
            }
        };
        let body = json!({ "credential_configuration_id": configuration, "proofs": proofs });
        let response = self.post_dpop(
            &issuer.metadata.credential_endpoint,
            "application/json",
            body.to_string().as_bytes(),
            Some(&session.access_token),
            None,
            at,
        )?;
        json_body(&response)
    }

    /// Tells the issuer what became of credentials (§11).
    ///
    /// # Errors
    /// [`VciError::Missing`] for an issuer without the endpoint; [`VciError::Remote`].
    pub fn notify(
        &self,
        issuer: &IssuerInfo,
        session: &Session,
        notification_id: &str,
        event: NotificationEvent,
        at: OffsetDateTime,
    ) -> Result<(), VciError> {
        let endpoint = issuer
            .metadata
            .notification_endpoint
            .as_ref()
            .ok_or(VciError::Missing("notification_endpoint"))?;
        let body = json!({ "notification_id": notification_id, "event": event });
        let response = self.post_dpop(
            endpoint,
            "application/json",
            body.to_string().as_bytes(),
            Some(&session.access_token),
            None,
            at,
        )?;
        if (200..300).contains(&response.status) {
            Ok(())
        } else {
            Err(remote(&response))
        }
    }
}

#[derive(serde::Deserialize)]
struct ParResponseBody {
    request_uri: String,
}
