//! The wallet's side of the OpenID4VCI messages that need checks of their own: PKCE (RFC
//! 7636, `S256`) and the authorization response with `iss` (RFC 9207: a response from another
//! Authorization Server — a mix-up — is refused before its code is used).

use kmid_crypto::jose::b64url;
use kmid_crypto::{CryptoProvider, Random};

use super::VciError;

/// A PKCE pair: the verifier the wallet keeps, the `S256` challenge it sends.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    /// `code_verifier`: 32 random bytes, base64url (43 characters).
    pub verifier: String,
    /// `code_challenge`: base64url SHA-256 of the verifier.
    pub challenge: String,
}

impl core::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh pair.
    ///
    /// # Errors
    /// The random source's or the digest's failure.
    pub fn new(provider: &CryptoProvider, random: &dyn Random) -> Result<Self, VciError> {
        let mut bytes = [0u8; 32];
        random.fill_secret(&mut bytes)?;
        let verifier = b64url(&bytes);
        let challenge = b64url(&provider.sha256(verifier.as_bytes())?);
        Ok(Self {
            verifier,
            challenge,
        })
    }
}

/// The code of an authorization response (the URL the wallet was sent back to), after its
/// checks: `iss` is the Authorization Server the wallet asked (RFC 9207 §2.4), `state` the one
/// it sent; an `error` response is returned as [`VciError::InvalidGrant`] with its code.
///
/// # Errors
/// [`VciError::IssuerMismatch`] for another or a missing `iss`; [`VciError::InvalidRequest`]
/// for another `state`; [`VciError::Missing`] without a code.
pub fn authorization_code(
    redirect: &str,
    expected_iss: &str,
    expected_state: Option<&str>,
) -> Result<String, VciError> {
    let query = redirect
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or_default())
        .ok_or(VciError::Missing("query"))?;
    let mut code = None;
    let mut state = None;
    let mut iss = None;
    let mut error = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "iss" => &mut iss,
            "error" => &mut error,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(VciError::Malformed(format!("{k} appears twice")));
        }
    }
    if iss.as_deref() != Some(expected_iss) {
        return Err(VciError::IssuerMismatch);
    }
    if state.as_deref() != expected_state {
        return Err(VciError::InvalidRequest("the state is not the one sent"));
    }
    if error.is_some() {
        return Err(VciError::InvalidGrant(
            "the authorization server answered with an error",
        ));
    }
    code.ok_or(VciError::Missing("code"))
}
