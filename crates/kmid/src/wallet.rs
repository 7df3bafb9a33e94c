//! The holder's wallet: keeps the credentials issued to its device key and answers requests
//! with only what was asked, bound to the verifier's session.

use std::sync::Arc;

use kmid_crypto::x509::TrustStore;
use kmid_crypto::{PrivateKey, Signer};
use kmid_mdoc::holder::{DeviceKeyAuth, HeldMdoc, HolderPolicy, respond};
use kmid_mdoc::model::{DeviceRequest, DeviceResponse, IssuerSigned, SessionTranscript};
use kmid_sdjwt::vc::{HeldSdJwtVc, IssuerKeys, SdJwtVcVerifier};
use time::OffsetDateTime;

use crate::error::KmidError;
use crate::verifier::SdJwtRequest;

/// A wallet on one device, with one device key.
pub struct Wallet {
    device: Arc<PrivateKey>,
    issuer_trust: TrustStore,
    mdocs: Vec<IssuerSigned>,
    sd_jwts: Vec<HeldSdJwtVc>,
}

impl core::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Wallet")
            .field("mdocs", &self.mdocs.len())
            .field("sd_jwts", &self.sd_jwts.len())
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// A wallet holding `device` (its key pair), accepting credentials whose issuers chain to
    /// `issuer_trust`.
    #[must_use]
    pub fn new(device: PrivateKey, issuer_trust: TrustStore) -> Self {
        Self {
            device: Arc::new(device),
            issuer_trust,
            mdocs: Vec::new(),
            sd_jwts: Vec::new(),
        }
    }

    /// The device's public key, to send to the issuer.
    #[must_use]
    pub fn device_key(&self) -> &kmid_crypto::PublicKey {
        self.device.public_key()
    }

    /// Keeps an issued mdoc, after checking its MSO is bound to this wallet's device key.
    ///
    /// # Errors
    /// [`KmidError::NotOurKey`].
    pub fn store_mdoc(&mut self, issuer_signed: IssuerSigned) -> Result<(), KmidError> {
        let mso = issuer_signed.issuer_auth.mso();
        if &mso.device_key_info.device_key != self.device.public_key() {
            return Err(KmidError::NotOurKey);
        }
        self.mdocs.push(issuer_signed);
        Ok(())
    }

    /// Verifies an issued SD-JWT VC (issuer signature, chain, `vct`, time; not its status,
    /// which is the verifier's to check), checks its `cnf` is this wallet's device key, and
    /// keeps it.
    ///
    /// # Errors
    /// The SD-JWT VC layer's refusal; [`KmidError::NotOurKey`].
    pub fn store_sd_jwt(&mut self, issued: &str, at: OffsetDateTime) -> Result<(), KmidError> {
        // The wallet keeps what the issuer gave it even if it is suspended today: the status is
        // checked by every verifier at presentation time.
        let verifier = SdJwtVcVerifier::new(IssuerKeys::X5c(&self.issuer_trust))
            .danger_accept_unchecked_status();
        let held = HeldSdJwtVc::receive(issued, &verifier, at)?;
        let cnf = held
            .verified()
            .claims
            .get("cnf")
            .and_then(|c| c.get("jwk"))
            .and_then(|j| serde_json::from_value::<kmid_crypto::Jwk>(j.clone()).ok())
            .and_then(|j| j.to_public_key().ok());
        if cnf.as_ref() != Some(self.device.public_key()) {
            return Err(KmidError::NotOurKey);
        }
        self.sd_jwts.push(held);
        Ok(())
    }

    /// Answers an mdoc DeviceRequest over `transcript`: for each requested docType it holds,
    /// exactly the requested elements, signed with the device key.
    ///
    /// # Errors
    /// The mdoc layer's refusal.
    pub fn respond_mdoc(
        &self,
        request: &DeviceRequest,
        transcript: &SessionTranscript,
        at: OffsetDateTime,
    ) -> Result<DeviceResponse, KmidError> {
        let empty = Vec::new();
        let held: Vec<HeldMdoc<'_>> = self
            .mdocs
            .iter()
            .map(|m| HeldMdoc {
                issuer_signed: m,
                device_auth: DeviceKeyAuth::Signature(&*self.device),
                device_signed: &empty,
            })
            .collect();
        Ok(respond(request, transcript, &held, &HolderPolicy::new(at))?)
    }

    /// Presents the SD-JWT VC of `request.vct` with exactly the requested claims and a Key
    /// Binding JWT over the verifier's nonce and audience.
    ///
    /// # Errors
    /// [`KmidError::NotHeld`], or the SD-JWT layer's refusal.
    pub fn present_sd_jwt(
        &self,
        request: &SdJwtRequest,
        at: OffsetDateTime,
    ) -> Result<String, KmidError> {
        if request.paths.iter().any(Vec::is_empty) {
            return Err(KmidError::InvalidRequest(
                "an empty claim path would disclose everything",
            ));
        }
        let held = self
            .sd_jwts
            .iter()
            .find(|h| h.verified().vct == request.vct)
            .ok_or(KmidError::NotHeld("SD-JWT VC"))?;
        let paths: Vec<Vec<&str>> = request
            .paths
            .iter()
            .map(|p| p.iter().map(String::as_str).collect())
            .collect();
        let paths: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
        let signer: Arc<dyn Signer> = self.device.clone();
        Ok(held
            .present(
                &paths,
                Some((&signer, &request.nonce, &request.audience, at)),
            )?
            .to_compact())
    }
}
