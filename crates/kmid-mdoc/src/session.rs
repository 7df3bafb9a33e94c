//! Session encryption (ISO/IEC 18013-5 §9.1.1): SessionEstablishment, SessionData, and a
//! [`Session`] that derives SKReader and SKDevice and encrypts with AES-256-GCM under the
//! §9.1.1.5 IVs and message counters.

use kmid_crypto::{CryptoProvider, PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::cbor::{CborLimits, Encoder, embedded};
use crate::error::{MdocError, SessionError, malformed};
use crate::model::{DeviceEngagement, Handover, SessionTranscript};

/// SessionData status 10: session encryption error.
pub const STATUS_ENCRYPTION_ERROR: u64 = 10;
/// SessionData status 11: CBOR decoding error.
pub const STATUS_DECODING_ERROR: u64 = 11;
/// SessionData status 20: session termination.
pub const STATUS_TERMINATION: u64 = 20;

/// The reader's first message: its ephemeral key and the encrypted DeviceRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEstablishment {
    /// EReaderKey.
    pub e_reader_key: PublicKey,
    /// The COSE_Key bytes of EReaderKey as received (the transcript embeds them).
    pub e_reader_key_bytes: Vec<u8>,
    /// The encrypted DeviceRequest.
    pub data: Vec<u8>,
}

impl SessionEstablishment {
    /// Encodes `{"eReaderKey": #6.24(COSE_Key), "data": bstr}`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(self.data.len().saturating_add(128));
        e.map(2)
            .text("eReaderKey")
            .raw(&embedded(&self.e_reader_key_bytes))
            .text("data")
            .bytes(&self.data);
        e.finish()
    }

    /// Decodes a SessionEstablishment (untrusted input).
    ///
    /// # Errors
    /// [`MdocError::Cbor`] or [`MdocError::Malformed`].
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let item = crate::cbor::decode(bytes, limits)?;
        let f = crate::model::Fields::new(&item, "SessionEstablishment")?;
        let key_bytes = f
            .embedded("eReaderKey")?
            .as_embedded_cbor()
            .unwrap_or_default();
        // The COSE_Key obeys the same CBOR rules as everything else.
        crate::cbor::decode(key_bytes, limits)?;
        let e_reader_key = PublicKey::from_cose_key_bytes(key_bytes).map_err(|_| {
            malformed(
                "SessionEstablishment.eReaderKey",
                "a COSE_Key of a supported curve",
            )
        })?;
        Ok(Self {
            e_reader_key,
            e_reader_key_bytes: key_bytes.to_vec(),
            data: f.bytes("data")?.to_vec(),
        })
    }
}

/// Every later message: encrypted data, a status, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionData {
    /// Encrypted DeviceRequest or DeviceResponse.
    pub data: Option<Vec<u8>>,
    /// Status (10, 11, 20).
    pub status: Option<u64>,
}

impl SessionData {
    /// Encodes `{? "data": bstr, ? "status": uint}`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.map(usize::from(self.data.is_some()) + usize::from(self.status.is_some()));
        if let Some(d) = &self.data {
            e.text("data").bytes(d);
        }
        if let Some(s) = self.status {
            e.text("status").uint(s);
        }
        e.finish()
    }

    /// Decodes SessionData (untrusted input).
    ///
    /// # Errors
    /// [`MdocError::Cbor`] or [`MdocError::Malformed`].
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let item = crate::cbor::decode(bytes, limits)?;
        let f = crate::model::Fields::new(&item, "SessionData")?;
        let data = f
            .opt("data")
            .map(|_| f.bytes("data").map(<[u8]>::to_vec))
            .transpose()?;
        let status = f.opt("status").map(|_| f.uint("status")).transpose()?;
        Ok(Self { data, status })
    }
}

/// Which end of the session this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The mdoc reader.
    Reader,
    /// The mdoc (the holder's phone).
    Mdoc,
}

/// An established session: keys, counters and the transcript both sides authenticate.
pub struct Session {
    provider: &'static CryptoProvider,
    role: Role,
    send_key: Zeroizing<[u8; 32]>,
    receive_key: Zeroizing<[u8; 32]>,
    send_counter: u32,
    receive_counter: u32,
    transcript: SessionTranscript,
    /// The reader's ephemeral COSE_Key, as the transcript embeds it (reader side only).
    e_reader_key_bytes: Option<Vec<u8>>,
    terminated: bool,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("provider", &self.provider.name)
            .field("role", &self.role)
            .field("send_counter", &self.send_counter)
            .field("receive_counter", &self.receive_counter)
            .field("keys", &"<redacted>")
            .finish()
    }
}

fn iv(identifier: u8, counter: u32) -> [u8; 12] {
    let mut iv = [0u8; 12];
    if let Some(last) = iv.get_mut(7) {
        *last = identifier;
    }
    if let Some(tail) = iv.get_mut(8..) {
        tail.copy_from_slice(&counter.to_be_bytes());
    }
    iv
}

impl Session {
    /// The reader's side: after reading the DeviceEngagement, with its own ephemeral key;
    /// ECDH, HKDF and AES-GCM on `provider`.
    ///
    /// # Errors
    /// Keys on different curves, or backend failures.
    pub fn reader(
        provider: &'static CryptoProvider,
        e_reader: &PrivateKey,
        engagement: &DeviceEngagement,
        handover: &Handover,
    ) -> Result<Self, MdocError> {
        let key_bytes = e_reader.public_key().to_cose_key_bytes()?;
        let transcript = SessionTranscript::with_reader_key_bytes_on(
            provider,
            Some(engagement),
            Some(&key_bytes),
            handover,
        )?;
        let mut session = Self::derive(
            provider,
            Role::Reader,
            e_reader,
            &engagement.e_device_key,
            transcript,
        )?;
        session.e_reader_key_bytes = Some(key_bytes);
        Ok(session)
    }

    /// The mdoc's side: after receiving SessionEstablishment, with the ephemeral device key
    /// its engagement announced; ECDH, HKDF and AES-GCM on `provider`.
    ///
    /// # Errors
    /// Keys on different curves, or backend failures.
    pub fn mdoc(
        provider: &'static CryptoProvider,
        e_device: &PrivateKey,
        engagement: &DeviceEngagement,
        establishment: &SessionEstablishment,
        handover: &Handover,
    ) -> Result<Self, MdocError> {
        let transcript = SessionTranscript::with_reader_key_bytes_on(
            provider,
            Some(engagement),
            Some(&establishment.e_reader_key_bytes),
            handover,
        )?;
        Self::derive(
            provider,
            Role::Mdoc,
            e_device,
            &establishment.e_reader_key,
            transcript,
        )
    }

    /// A session over a transcript both sides already hold (the Annex D example gives one).
    ///
    /// # Errors
    /// Keys on different curves, or backend failures.
    pub fn with_transcript(
        provider: &'static CryptoProvider,
        role: Role,
        own: &PrivateKey,
        peer: &PublicKey,
        transcript: SessionTranscript,
    ) -> Result<Self, MdocError> {
        Self::derive(provider, role, own, peer, transcript)
    }

    fn derive(
        provider: &'static CryptoProvider,
        role: Role,
        own: &PrivateKey,
        peer: &PublicKey,
        transcript: SessionTranscript,
    ) -> Result<Self, MdocError> {
        let z = provider.ecdh(own, peer)?;
        let salt = provider.sha256(&transcript.tagged_bytes())?;
        let sk_reader = provider.hkdf_sha256_key(&z, &salt, b"SKReader")?;
        let sk_device = provider.hkdf_sha256_key(&z, &salt, b"SKDevice")?;
        let (send_key, receive_key) = match role {
            Role::Reader => (sk_reader, sk_device),
            Role::Mdoc => (sk_device, sk_reader),
        };
        Ok(Self {
            provider,
            role,
            send_key,
            receive_key,
            send_counter: 1,
            receive_counter: 1,
            transcript,
            e_reader_key_bytes: None,
            terminated: false,
        })
    }

    /// The transcript of this session.
    #[must_use]
    pub const fn transcript(&self) -> &SessionTranscript {
        &self.transcript
    }

    fn identifiers(&self) -> (u8, u8) {
        match self.role {
            Role::Reader => (0, 1),
            Role::Mdoc => (1, 0),
        }
    }

    /// Encrypts the next message.
    ///
    /// # Errors
    /// [`SessionError::Terminated`] or [`SessionError::CounterExhausted`].
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, MdocError> {
        if self.terminated {
            return Err(MdocError::Session(SessionError::Terminated));
        }
        let (own, _) = self.identifiers();
        let sealed = self.provider.aes256gcm_seal(
            &self.send_key,
            &iv(own, self.send_counter),
            b"",
            plaintext,
        )?;
        self.send_counter = self
            .send_counter
            .checked_add(1)
            .ok_or(MdocError::Session(SessionError::CounterExhausted))?;
        Ok(sealed)
    }

    /// Decrypts the next message from the peer.
    ///
    /// # Errors
    /// [`SessionError::Decryption`] (answer with status 10), [`SessionError::Terminated`],
    /// [`SessionError::CounterExhausted`].
    pub fn decrypt(&mut self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, MdocError> {
        if self.terminated {
            return Err(MdocError::Session(SessionError::Terminated));
        }
        let (_, peer) = self.identifiers();
        let plain = match self.provider.aes256gcm_open(
            &self.receive_key,
            &iv(peer, self.receive_counter),
            b"",
            sealed,
        ) {
            Ok(p) => p,
            Err(_) => {
                // §9.1.1.5: answer with status 10 and end the session.
                self.terminated = true;
                return Err(MdocError::Session(SessionError::Decryption));
            }
        };
        self.receive_counter = self
            .receive_counter
            .checked_add(1)
            .ok_or(MdocError::Session(SessionError::CounterExhausted))?;
        Ok(plain)
    }
    /// The reader's SessionEstablishment carrying the encrypted `device_request`, with the
    /// ephemeral key this session's transcript was built with.
    ///
    /// # Errors
    /// As [`Self::encrypt`]; [`MdocError::InvalidInput`] on the mdoc's side or for a session
    /// made with [`Self::with_transcript`].
    pub fn establish(&mut self, device_request: &[u8]) -> Result<SessionEstablishment, MdocError> {
        let key_bytes = match (self.role, &self.e_reader_key_bytes) {
            (Role::Reader, Some(k)) => k.clone(),
            _ => {
                return Err(MdocError::InvalidInput(
                    "only a reader session made by Session::reader sends SessionEstablishment",
                ));
            }
        };
        let e_reader_key = PublicKey::from_cose_key_bytes(&key_bytes)?;
        let data = self.encrypt(device_request)?;
        Ok(SessionEstablishment {
            e_reader_key,
            e_reader_key_bytes: key_bytes,
            data,
        })
    }
    /// Encrypts `message` into SessionData.
    ///
    /// # Errors
    /// As [`Self::encrypt`].
    pub fn seal(&mut self, message: &[u8]) -> Result<SessionData, MdocError> {
        Ok(SessionData {
            data: Some(self.encrypt(message)?),
            status: None,
        })
    }

    /// Opens SessionData: its data, decrypted; a status 20 ends the session, any other status
    /// is reported as [`SessionError::PeerStatus`].
    ///
    /// # Errors
    /// [`SessionError::PeerStatus`], [`SessionError::Decryption`], [`SessionError::Terminated`].
    pub fn open(&mut self, message: &SessionData) -> Result<Option<Zeroizing<Vec<u8>>>, MdocError> {
        let data = message
            .data
            .as_deref()
            .map(|d| self.decrypt(d))
            .transpose()?;
        match message.status {
            None => Ok(data),
            Some(STATUS_TERMINATION) => {
                self.terminated = true;
                Ok(data)
            }
            Some(other) => {
                self.terminated = true;
                Err(MdocError::Session(SessionError::PeerStatus(other)))
            }
        }
    }

    /// The SessionData that ends the session (status 20), and ends it on this side.
    pub fn terminate(&mut self) -> SessionData {
        self.terminated = true;
        SessionData {
            data: None,
            status: Some(STATUS_TERMINATION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmid_crypto::Curve;

    #[test]
    fn a_failed_decryption_ends_the_session() {
        let (device, reader) = (
            PrivateKey::generate(Curve::P256).unwrap(),
            PrivateKey::generate(Curve::P256).unwrap(),
        );
        let engagement = DeviceEngagement::new(device.public_key().clone(), vec![]).unwrap();
        let mut r = Session::reader(
            CryptoProvider::get_default(),
            &reader,
            &engagement,
            &Handover::Qr,
        )
        .unwrap();
        let establishment = r.establish(b"request").unwrap();
        let mut m = Session::mdoc(
            CryptoProvider::get_default(),
            &device,
            &engagement,
            &establishment,
            &Handover::Qr,
        )
        .unwrap();
        assert_eq!(&*m.decrypt(&establishment.data).unwrap(), b"request");
        let mut tampered = r.encrypt(b"second").unwrap();
        tampered[0] ^= 1;
        assert_eq!(
            m.decrypt(&tampered).unwrap_err(),
            MdocError::Session(SessionError::Decryption)
        );
        assert_eq!(
            m.encrypt(b"x").unwrap_err(),
            MdocError::Session(SessionError::Terminated)
        );
        // An empty SessionData is well formed (both members are optional).
        let empty = SessionData {
            data: None,
            status: None,
        };
        assert_eq!(
            SessionData::from_bytes(&empty.to_bytes(), &CborLimits::default()).unwrap(),
            empty
        );
    }
}
