//! The holder's side: answering a DeviceRequest with a DeviceResponse that discloses exactly
//! the requested elements the holder agrees to release, authenticated by the device key
//! (ISO/IEC 18013-5 §8.3.2.1, §9.1.3).

use kmid_crypto::x509::TrustStore;
use kmid_crypto::{Algorithm, CryptoProvider, PrivateKey, PublicKey, Signer};
use time::OffsetDateTime;

use crate::auth::{device_authentication_bytes, emac_key};
use crate::cose::{mac0, sign1};
use crate::error::{MdocError, ReaderAuthError};
use crate::model::device_signed_encode_name_spaces as encode_device_name_spaces;
use crate::model::{
    DeviceAuth, DeviceNameSpaces, DeviceRequest, DeviceResponse, DeviceSigned, Document,
    ERROR_DATA_NOT_RETURNED, IssuerSigned, ResponseStatus, SessionTranscript,
};
use crate::reader::verify_reader_auth;

/// How the device authenticates a response.
#[derive(Clone, Copy)]
pub enum DeviceKeyAuth<'a> {
    /// deviceSignature by the device key, which may live in a secure element behind a
    /// [`Signer`].
    Signature(&'a dyn Signer),
    /// deviceMac: HMAC under EMacKey, derived from the device key and the reader's ephemeral
    /// key (§9.1.3.5).
    Mac {
        /// The device key.
        device_key: &'a PrivateKey,
        /// The reader's ephemeral key, EReaderKey.
        e_reader_key: &'a PublicKey,
    },
}

impl core::fmt::Debug for DeviceKeyAuth<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Signature(_) => "DeviceKeyAuth::Signature",
            Self::Mac { .. } => "DeviceKeyAuth::Mac",
        })
    }
}

/// One credential in the wallet, with how its device key authenticates.
#[derive(Debug, Clone, Copy)]
pub struct HeldMdoc<'a> {
    /// The issuer-signed data as issued.
    pub issuer_signed: &'a IssuerSigned,
    /// Device authentication.
    pub device_auth: DeviceKeyAuth<'a>,
    /// Device-signed elements to include, if the MSO authorizes any (usually none).
    pub device_signed: &'a DeviceNameSpaces,
}

/// What the holder accepts and releases.
#[derive(Debug, Clone)]
pub struct HolderPolicy {
    /// The reader roots the holder trusts; readerAuth is checked against them when present.
    pub reader_trust: Option<TrustStore>,
    /// Refuse requests without a valid readerAuth.
    pub require_reader_auth: bool,
    /// The time at which reader certificates are checked.
    pub at: OffsetDateTime,
    /// Algorithms accepted for readerAuth.
    pub allowed_algorithms: Vec<Algorithm>,
    /// Elements never released, whatever is asked (namespace, element).
    pub withheld: Vec<(String, String)>,
    /// The crypto provider: readerAuth signatures, the device MAC's ECDH, HKDF and HMAC.
    pub provider: &'static CryptoProvider,
}

impl HolderPolicy {
    /// No reader trust, reader authentication not required, nothing withheld.
    #[must_use]
    pub fn new(at: OffsetDateTime) -> Self {
        Self {
            reader_trust: None,
            require_reader_auth: false,
            at,
            allowed_algorithms: Algorithm::ALL.to_vec(),
            withheld: Vec::new(),
            provider: CryptoProvider::get_default(),
        }
    }
}

/// Answers `request` for the session `transcript` from the held credentials.
///
/// For each DocRequest: the readerAuth is checked first (when the policy has reader roots,
/// or requires it); then the credential of the requested docType discloses the requested
/// elements it has and the policy does not withhold; every other requested element is
/// reported in `errors` with code 0. A docType the wallet does not hold goes to
/// `documentErrors`.
///
/// # Errors
/// [`MdocError::ReaderAuth`] when a readerAuth fails or is missing and required; signer
/// failures.
pub fn respond(
    request: &DeviceRequest,
    transcript: &SessionTranscript,
    credentials: &[HeldMdoc<'_>],
    policy: &HolderPolicy,
) -> Result<DeviceResponse, MdocError> {
    let mut documents = Vec::new();
    let mut document_errors = Vec::new();
    for doc_request in &request.doc_requests {
        match (&policy.reader_trust, &doc_request.reader_auth) {
            (Some(trust), Some(_)) => {
                verify_reader_auth(
                    doc_request,
                    transcript,
                    trust,
                    policy.at,
                    &policy.allowed_algorithms,
                    policy.provider.signature_verifier,
                )?;
            }
            (_, None) if policy.require_reader_auth => {
                return Err(MdocError::ReaderAuth(ReaderAuthError::Missing));
            }
            (None, Some(_)) if policy.require_reader_auth => {
                return Err(MdocError::InvalidInput(
                    "reader authentication is required but no reader roots are configured",
                ));
            }
            _ => {}
        }
        let items = &doc_request.items_request;
        let Some(held) = credentials
            .iter()
            .find(|c| c.issuer_signed.issuer_auth.mso().doc_type == items.doc_type)
        else {
            document_errors.push((items.doc_type.clone(), ERROR_DATA_NOT_RETURNED));
            continue;
        };
        let mut name_spaces = Vec::new();
        let mut errors = Vec::new();
        for (ns, elements) in &items.name_spaces {
            let available = held
                .issuer_signed
                .name_spaces
                .iter()
                .find(|(n, _)| n == ns)
                .map(|(_, items)| items);
            let mut released = Vec::new();
            let mut missing = Vec::new();
            for (element, _) in elements {
                let withheld = policy.withheld.iter().any(|(n, e)| n == ns && e == element);
                let found = available.and_then(|items| {
                    items
                        .iter()
                        .find(|i| i.item().element_identifier == *element)
                });
                match found {
                    Some(item) if !withheld => released.push(item.clone()),
                    _ => missing.push((element.clone(), ERROR_DATA_NOT_RETURNED)),
                }
            }
            if !released.is_empty() {
                name_spaces.push((ns.clone(), released));
            }
            if !missing.is_empty() {
                errors.push((ns.clone(), missing));
            }
        }
        // Device-signed elements go out only when requested and not withheld, like the others.
        let requested_device_signed: DeviceNameSpaces = held
            .device_signed
            .iter()
            .map(|(ns, elements)| {
                let kept = elements
                    .iter()
                    .filter(|(id, _)| {
                        items.intent_to_retain(ns, id).is_some()
                            && !policy.withheld.iter().any(|(n, e)| n == ns && e == id)
                    })
                    .cloned()
                    .collect::<Vec<_>>();
                (ns.clone(), kept)
            })
            .filter(|(_, kept)| !kept.is_empty())
            .collect();
        let device_signed = device_signed(
            &items.doc_type,
            &requested_device_signed,
            held.device_auth,
            transcript,
            policy.provider,
        )?;
        documents.push(Document {
            doc_type: items.doc_type.clone(),
            issuer_signed: IssuerSigned {
                name_spaces,
                issuer_auth: held.issuer_signed.issuer_auth.clone(),
            },
            device_signed,
            errors,
        });
    }
    Ok(DeviceResponse {
        version: "1.0".into(),
        documents,
        zk_documents: Vec::new(),
        document_errors,
        status: ResponseStatus::Ok,
    })
}

fn device_signed(
    doc_type: &str,
    name_spaces: &DeviceNameSpaces,
    device_auth: DeviceKeyAuth<'_>,
    transcript: &SessionTranscript,
    provider: &CryptoProvider,
) -> Result<DeviceSigned, MdocError> {
    let name_spaces_bytes = crate::cbor::embedded(&encode_device_name_spaces(name_spaces));
    let to_sign = device_authentication_bytes(transcript, doc_type, &name_spaces_bytes);
    let auth = match device_auth {
        DeviceKeyAuth::Signature(signer) => {
            let (sign1, raw) = sign1(
                signer,
                kmid_crypto::cose::Header::default(),
                None,
                Some(&to_sign),
            )?;
            DeviceAuth::Signature { raw, sign1 }
        }
        DeviceKeyAuth::Mac {
            device_key,
            e_reader_key,
        } => {
            let key = emac_key(provider, device_key, e_reader_key, transcript)?;
            let (mac0, raw) = mac0(provider, key.as_ref(), &to_sign)?;
            DeviceAuth::Mac { raw, mac0 }
        }
    };
    Ok(DeviceSigned::new(name_spaces.clone(), auth))
}
