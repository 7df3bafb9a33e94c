//! The reader's side of a request: ItemsRequests signed with reader authentication
//! (ISO/IEC 18013-5 §9.1.4), and the check a holder makes of them.

use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, ValidatedChain};
use kmid_crypto::{Algorithm, SignatureVerifier, Signer};
use time::OffsetDateTime;

use crate::auth::reader_authentication_bytes;
use crate::cose::{Sign1Failure, sign1, verify_sign1, x5chain_header};
use crate::error::{MdocError, ReaderAuthError};
use crate::model::{DocRequest, ItemsRequest, SessionTranscript, x5chain};

/// Refuses a chain longer than the trust store accepts (anchor included) before parsing any of
/// it: parsing a certificate costs a point validation, and an attacker chooses the count.
pub(crate) fn check_chain_length(
    len: usize,
    trust: &TrustStore,
) -> Result<(), kmid_crypto::CryptoError> {
    let max = trust.max_chain_len().saturating_add(1);
    if len > max {
        return Err(kmid_crypto::CertificateError::ChainTooLong { length: len, max }.into());
    }
    Ok(())
}

/// A DocRequest for `items`, signed by the reader's key over ReaderAuthentication, with its
/// certificate chain in `x5chain`.
///
/// # Errors
/// [`MdocError::InvalidInput`] for an empty chain or a chain whose leaf is not the signer's
/// key; signer failures.
pub fn signed_doc_request(
    items: ItemsRequest,
    transcript: &SessionTranscript,
    reader: &dyn Signer,
    chain: &[Certificate],
) -> Result<DocRequest, MdocError> {
    match chain.first() {
        Some(leaf) if leaf.public_key() == reader.public_key() => {}
        _ => {
            return Err(MdocError::InvalidInput(
                "the reader chain's first certificate must be the signer's",
            ));
        }
    }
    let request = DocRequest::new(items);
    let to_sign = reader_authentication_bytes(transcript, request.items_request_bytes());
    let (cose, raw) = sign1(reader, x5chain_header(chain), None, Some(&to_sign))?;
    Ok(request.with_reader_auth(raw, cose))
}

/// Checks a DocRequest's readerAuth: the reader chain against `trust` at `at` for reader
/// authentication, and the signature over ReaderAuthentication for `transcript`.
///
/// # Errors
/// [`MdocError::ReaderAuth`] naming the failed check.
pub fn verify_reader_auth(
    request: &DocRequest,
    transcript: &SessionTranscript,
    trust: &TrustStore,
    at: OffsetDateTime,
    allowed: &[Algorithm],
    verifier: &dyn SignatureVerifier,
) -> Result<ValidatedChain, MdocError> {
    let fail = |e| MdocError::ReaderAuth(e);
    let (_, sign1) = request
        .reader_auth
        .as_ref()
        .ok_or(fail(ReaderAuthError::Missing))?;
    let ders = x5chain(sign1).ok_or(fail(ReaderAuthError::MissingX5Chain))?;
    check_chain_length(ders.len(), trust).map_err(|e| fail(ReaderAuthError::Chain(e)))?;
    let ders: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
    let validated = trust
        .validate_der(&ders, at, KeyPurpose::ReaderAuthentication)
        .map_err(|e| fail(ReaderAuthError::Chain(e)))?;
    let signed = reader_authentication_bytes(transcript, request.items_request_bytes());
    verify_sign1(sign1, &validated.leaf_key, Some(&signed), allowed, verifier).map_err(
        |f| match f {
            Sign1Failure::Algorithm(a) => fail(ReaderAuthError::Algorithm(a)),
            Sign1Failure::Critical => fail(ReaderAuthError::CriticalHeader),
            Sign1Failure::BadSignature | Sign1Failure::Payload => {
                fail(ReaderAuthError::BadSignature)
            }
            Sign1Failure::Crypto(e) => MdocError::Crypto(e),
        },
    )?;
    Ok(validated)
}
