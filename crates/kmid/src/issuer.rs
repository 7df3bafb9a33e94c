//! The issuer: one authority's keys and status registry; issues a card in either format or
//! both, each credential with its own status list entry.

use std::sync::Arc;

use kmid_crypto::{CryptoProvider, PublicKey, Random};
use kmid_mdoc::issuer::{MdocIssuer, MsoOptions};
use kmid_mdoc::model::IssuerSigned;
use kmid_schema::status::StatusReference;
use kmid_schema::{Card, IdentityCard};
use kmid_sdjwt::SdJwt;
use kmid_sdjwt::vc::{SdJwtVcIssuer, VcOptions};
use kmid_status::registry::{Actor, CredentialFormat, PersonPhones, RegistryStore, StatusRegistry};
use kmid_status::token::{TokenClaims, TokenSigner, sign_cwt, sign_jwt};
use time::{Duration, OffsetDateTime, Time, UtcOffset};
use zeroize::Zeroizing;

use crate::authority::AuthorityKeys;
use crate::error::KmidError;

/// The issuer's secret for the registry's card keys (an HMAC key, 32 bytes). It must be the
/// same for every process that shares a registry, and kept as long as the registry: a new
/// secret makes every registered card look new, so the one-phone rule and the loss reports
/// would no longer find them. Keep it with the issuer's other secrets (an HSM, a vault).
#[derive(Clone)]
pub struct CardKeySecret(Zeroizing<[u8; 32]>);

impl CardKeySecret {
    /// The secret from its bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh secret from `random`, for a new registry.
    ///
    /// # Errors
    /// `random` failing.
    pub fn generate(random: &dyn Random) -> Result<Self, KmidError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random.fill_secret(bytes.as_mut())?;
        Ok(Self(bytes))
    }
}

impl core::fmt::Debug for CardKeySecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CardKeySecret(..)")
    }
}

/// Which formats to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    /// ISO/IEC 18013-5 mdoc only.
    Mdoc,
    /// SD-JWT VC only.
    SdJwtVc,
    /// Both.
    Both,
}

impl Formats {
    const fn mdoc(self) -> bool {
        matches!(self, Self::Mdoc | Self::Both)
    }
    const fn sd_jwt(self) -> bool {
        matches!(self, Self::SdJwtVc | Self::Both)
    }
}

/// An issued mdoc and its registry entry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedMdoc {
    /// The issuer-signed data to hand to the wallet.
    pub issuer_signed: IssuerSigned,
    /// Its id in the status registry.
    pub credential: u64,
    /// Its status list entry.
    pub status: StatusReference,
}

/// An issued SD-JWT VC and its registry entry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedSdJwt {
    /// The SD-JWT with every Disclosure, as issued.
    pub sd_jwt: SdJwt,
    /// Its id in the status registry.
    pub credential: u64,
    /// Its status list entry.
    pub status: StatusReference,
}

/// What one issuance produced.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Issued {
    /// The mdoc, if asked for.
    pub mdoc: Option<IssuedMdoc>,
    /// The SD-JWT VC, if asked for.
    pub sd_jwt: Option<IssuedSdJwt>,
    /// The renewal grant: a secret for the holder alone, spent by [`Issuer::renew`] to renew
    /// on the same phone without a visit (the same for every key of a batch).
    pub renewal: Option<String>,
}

impl core::fmt::Debug for Issued {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Issued")
            .field("mdoc", &self.mdoc)
            .field("sd_jwt", &self.sd_jwt)
            .field("renewal", &self.renewal.as_ref().map(|_| "<secret>"))
            .finish()
    }
}

/// The formats registered for `keys` device keys: for each key, the mdoc then the SD-JWT VC
/// (as `formats` asks).
fn registered_formats(keys: usize, formats: Formats) -> Vec<CredentialFormat> {
    let per_key = [
        formats.mdoc().then_some(CredentialFormat::Mdoc),
        formats.sd_jwt().then_some(CredentialFormat::SdJwtVc),
    ];
    (0..keys)
        .flat_map(|_| per_key.into_iter().flatten())
        .collect()
}

/// A signed Status List Token in both forms, ready to serve at `uri`.
#[derive(Debug, Clone)]
pub struct PublishedList {
    /// Where it is served (its `sub`).
    pub uri: String,
    /// `application/statuslist+jwt`.
    pub jwt: String,
    /// `application/statuslist+cwt`.
    pub cwt: Vec<u8>,
}

/// Korea Standard Time, UTC+9 all year.
const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(kst) => kst,
    Err(_) => UtcOffset::UTC,
};

/// How long a credential is valid at most, unless the issuer sets another lifetime: long
/// enough that a wallet renews rarely, short enough that a stolen credential is worth little.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::days(90);

/// The start (00:00 KST) of the day `date` in Korea.
fn kst_midnight(date: time::Date) -> OffsetDateTime {
    date.with_time(Time::MIDNIGHT)
        .assume_offset(KST)
        .to_offset(UtcOffset::UTC)
}

/// The end of `card`'s validity: it is valid through its expiry date in Korea (D-6), so until
/// 00:00 KST the next day.
#[must_use]
pub fn card_end(card: &Card) -> OffsetDateTime {
    kst_midnight(card.expiry_date().next_day().unwrap_or(card.expiry_date()))
}

/// The end of validity of a credential of `card` signed at `at`: the earliest of the card's
/// end ([`card_end`]), `at + max_lifetime`, and the start (00:00 KST) of the first day on which
/// a derived claim it carries changes value for this holder (a birthday for `age_in_years`
/// and `age_over_NN`, 1 January for `youth_act_adult`; [`Card::claims_change_after`] over
/// every item of the card, all of which each credential carries). Its claims are computed on
/// the KST date of `at`, so none of them is false at any instant before this end. A
/// foreigner's permitted stay already bounds the card's expiry date.
#[must_use]
pub fn credential_end(card: &Card, at: OffsetDateTime, max_lifetime: Duration) -> OffsetDateTime {
    let as_of = at.to_offset(KST).date();
    let mut end = (at + max_lifetime).min(card_end(card));
    if let Some(change) = card.claims_stable_until(as_of) {
        end = end.min(kst_midnight(change));
    }
    end
}

/// A registry that answered an issuance inconsistently (a store bug, never input).
pub(crate) fn registry_fault(why: &str) -> KmidError {
    KmidError::Status(kmid_status::StatusListError::Registry(
        kmid_status::RegistryError::Storage(why.to_owned()),
    ))
}

/// An issuing authority's issuer.
pub struct Issuer<S> {
    pub(crate) keys: AuthorityKeys,
    pub(crate) registry: StatusRegistry<S>,
    pub(crate) random: Arc<dyn Random>,
    card_key_secret: CardKeySecret,
    validity: Duration,
    /// The channels' pending offers, tokens and challenges (shared by every process of the
    /// issuer when the store is).
    pub(crate) channels: Arc<dyn kmid_oid4vc::store::IssuanceStore>,
    pub(crate) provider: &'static CryptoProvider,
    /// Where each person's one phone is kept, shared with the other authorities, and the
    /// secret the person keys are made with (the same for all of them).
    persons: Option<(Arc<dyn PersonPhones>, CardKeySecret)>,
    /// The Credential Issuer Identifier, when not the authority's own
    /// (`<authority URI>/kmid`).
    pub(crate) identifier: Option<String>,
}

impl<S> core::fmt::Debug for Issuer<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Issuer")
            .field("keys", &self.keys)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl<S: RegistryStore> Issuer<S> {
    /// An issuer signing with `keys`, recording credentials in `registry` under card keys made
    /// with `card_key_secret`, drawing salts and indices from `random`. Credentials are valid
    /// for at most [`DEFAULT_MAX_LIFETIME`] (90 days), never beyond the card's expiry nor the
    /// next change of a derived claim they carry ([`credential_end`]).
    #[must_use]
    pub fn new(
        keys: AuthorityKeys,
        registry: StatusRegistry<S>,
        card_key_secret: CardKeySecret,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            keys,
            registry,
            random,
            card_key_secret,
            validity: DEFAULT_MAX_LIFETIME,
            channels: Arc::new(kmid_oid4vc::store::MemoryIssuanceStore::new(
                crate::channels::MAX_PENDING,
            )),
            provider: CryptoProvider::get_default(),
            persons: None,
            identifier: None,
        }
    }

    /// Serves OpenID4VCI under `identifier` (an `https` URL) instead of the authority's own
    /// `<authority URI>/kmid`: where this deployment is reached (a test service on
    /// `https://localhost:8443/issuer/mois`, an authority's staging host). Offers, metadata
    /// and the `aud` of key proofs then name it; the credentials themselves do not.
    #[must_use]
    pub fn with_credential_issuer(mut self, identifier: &str) -> Self {
        self.identifier = Some(identifier.trim_end_matches('/').to_owned());
        self
    }

    /// Keeps the channels' pending offers, tokens and IC challenges in `store` instead of this
    /// process's memory, so that every process of the issuer sharing it (SQLite, or the
    /// server database) sees the same ones.
    #[must_use]
    pub fn with_issuance_store(
        mut self,
        store: Arc<dyn kmid_oid4vc::store::IssuanceStore>,
    ) -> Self {
        self.channels = store;
        self
    }

    /// Enforces one active phone per person across authorities (DOMAIN.md, spec/README.md
    /// D-25): every issuance binds the holder to the phone in `persons`, which the issuers of
    /// the person's other cards share, and is refused (`Registry.OtherPhone`) when the person's
    /// mobile IDs are on another phone; a re-issue to a new phone moves the person there.
    /// Persons are keyed by HMAC-SHA-256 under `person_secret` (the same for every authority)
    /// of the registration number, so the directory holds no number.
    #[must_use]
    pub fn with_person_phones(
        mut self,
        persons: Arc<dyn PersonPhones>,
        person_secret: CardKeySecret,
    ) -> Self {
        self.persons = Some((persons, person_secret));
        self
    }

    /// Binds `card`'s holder to `device` (see [`Self::with_person_phones`]), or moves them
    /// there when `moving`.
    pub(crate) fn bind_person(
        &self,
        card: &Card,
        device: &str,
        moving: bool,
        at: OffsetDateTime,
    ) -> Result<(), KmidError> {
        let Some((persons, secret)) = &self.persons else {
            return Ok(());
        };
        let mut input = b"kmid-person-v1\0".to_vec();
        input.extend_from_slice(card.registration_number().expose().as_bytes());
        let person =
            kmid_crypto::jose::b64url(&self.provider.hmac_sha256(secret.0.as_ref(), &input)?);
        let actor = self.actor(
            at,
            if moving {
                "re-issue to a new phone"
            } else {
                "issuance"
            },
        );
        if moving {
            persons.move_to(&person, device, &actor)?;
        } else {
            persons.bind(&person, device, &actor)?;
        }
        Ok(())
    }

    /// Hashes, MACs and checks signatures on `provider` (the default:
    /// [`CryptoProvider::get_default`]); the authority's keys sign as they are, and salts and
    /// indices still come from the `random` given to [`Self::new`].
    #[must_use]
    pub const fn with_provider(mut self, provider: &'static CryptoProvider) -> Self {
        self.provider = provider;
        self
    }

    /// Credentials valid for at most `validity` from issuance instead of 90 days (never
    /// beyond the card's expiry nor a derived claim's change). Shorter validity with batch re-issuance limits what a stolen
    /// credential is worth.
    #[must_use]
    pub const fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// The authority's keys.
    #[must_use]
    pub const fn keys(&self) -> &AuthorityKeys {
        &self.keys
    }

    /// The status registry, for the lifecycle operations (`report_phone_lost`, …).
    #[must_use]
    pub const fn registry(&self) -> &StatusRegistry<S> {
        &self.registry
    }

    /// The registry's key for `card`: HMAC-SHA-256 under the issuer's secret of the docType
    /// and registration number, so the registry never holds the number and the key cannot be
    /// reversed by trying the ~10^8 plausible numbers.
    ///
    /// # Errors
    /// Backend failures.
    pub fn card_key(&self, card: &Card) -> Result<String, KmidError> {
        let input = format!(
            "{}|{}",
            card.card_type().doc_type(),
            card.registration_number().expose()
        );
        let tag = self
            .provider
            .hmac_sha256(self.card_key_secret.0.as_ref(), input.as_bytes())?;
        Ok(kmid_crypto::jose::b64url(&tag))
    }

    /// HMAC-SHA-256 under the card-key secret.
    pub(crate) fn card_key_mac(&self, input: &[u8]) -> Result<[u8; 32], KmidError> {
        Ok(self
            .provider
            .hmac_sha256(self.card_key_secret.0.as_ref(), input)?)
    }

    /// Issues `card` to the holder's device key at time `at` in `formats`: checks the card is
    /// this authority's and not expired, registers each credential (one active device per
    /// card: a second device is refused until re-issue), and signs.
    ///
    /// # Errors
    /// [`KmidError::WrongAuthority`], [`KmidError::CardExpired`], registry refusals
    /// (`SecondDevice`, `CardLost`, `DeviceLost`), signing failures.
    pub fn issue(
        &self,
        card: &Card,
        device_key: &PublicKey,
        formats: Formats,
        at: OffsetDateTime,
    ) -> Result<Issued, KmidError> {
        let device = device_key.thumbprint_sha256_on(self.provider)?;
        self.issue_to(
            card,
            &device,
            core::slice::from_ref(device_key),
            formats,
            at,
        )?
        .pop()
        .ok_or_else(|| registry_fault("no credential was issued"))
    }

    /// Batch issuance for unlinkability: one credential set per key in `device_keys` (all on
    /// one phone, which the registry knows by the first key's thumbprint), each with its own
    /// salts, digestIDs and status list entry, so no two presentations share a signature,
    /// digest or index.
    ///
    /// # Errors
    /// As [`Self::issue`]; an empty `device_keys` issues nothing.
    pub fn issue_batch(
        &self,
        card: &Card,
        device_keys: &[PublicKey],
        formats: Formats,
        at: OffsetDateTime,
    ) -> Result<Vec<Issued>, KmidError> {
        let Some(first) = device_keys.first() else {
            return Ok(Vec::new());
        };
        let device = first.thumbprint_sha256_on(self.provider)?;
        self.issue_to(card, &device, device_keys, formats, at)
    }

    /// The card's end of validity (through its expiry date in Korea, D-6: until 00:00 KST
    /// the next day), after checking it is this authority's card, not expired at `at`, and
    /// its holder old enough for the mobile card.
    pub(crate) fn check_card(
        &self,
        card: &Card,
        at: OffsetDateTime,
    ) -> Result<OffsetDateTime, KmidError> {
        let authority = self.keys.authority;
        if card.card_type() != authority.card_type() {
            return Err(KmidError::WrongAuthority {
                card: card.card_type(),
                authority: authority.name(),
            });
        }
        let card_end = card_end(card);
        if card_end <= at {
            return Err(KmidError::CardExpired(card.expiry_date()));
        }
        let minimum = card.card_type().minimum_age();
        let age = card.age_in_years(at.to_offset(KST).date());
        if age < minimum {
            return Err(KmidError::NotEligible { minimum, age });
        }
        Ok(card_end)
    }

    /// One issuance of `card` to the phone known as `device`: a credential set per key of
    /// `device_keys`, registered together (so they stand or fall together, and every earlier
    /// credential of the card becomes INVALID), then signed.
    pub(crate) fn issue_to(
        &self,
        card: &Card,
        device: &str,
        device_keys: &[PublicKey],
        formats: Formats,
        at: OffsetDateTime,
    ) -> Result<Vec<Issued>, KmidError> {
        let at = at.replace_nanosecond(0).unwrap_or(at);
        let validity = self.validity(card, at, self.check_card(card, at)?)?;
        self.check_keys()?;
        let card_key = self.card_key(card)?;
        let all = registered_formats(device_keys.len(), formats);
        if all.is_empty() {
            return Ok(Vec::new());
        }
        self.bind_person(card, device, false, at)?;
        let grant = self.secret(32)?;
        let registrations = self.registry.register_renewable_issuance(
            &card_key,
            device,
            &all,
            &crate::channels::renewal_nonce(self.provider, &grant)?,
            &self.actor(at, "issuance"),
        )?;
        self.sign_issuance(
            card,
            device_keys,
            formats,
            registrations,
            validity,
            Some(&grant),
            at,
        )
    }

    /// One part of an issuance made over OpenID4VCI, where each format of an access token
    /// comes in its own Credential Request: with `issuance` `None` a new issuance of `card`
    /// to the device of `device_keys` (the first key's thumbprint names the phone; keys
    /// attested together are one secure area) — superseding the card's earlier credentials as
    /// every issuance does — else more credentials of that issuance, superseding nothing.
    /// Returns the issuance's number and one [`Issued`] per key, without a renewal grant
    /// (OpenID4VCI renews by its refresh-token grant).
    ///
    /// # Errors
    /// The card checks of [`Issuer::issue`]; the registry's `SecondDevice`, `CardLost`,
    /// `DeviceLost`, `OtherPhone`, and `Superseded` for a part of an issuance that is no
    /// longer the card's latest.
    pub fn issue_part(
        &self,
        card: &Card,
        device_keys: &[PublicKey],
        formats: Formats,
        issuance: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<(u64, Vec<Issued>), KmidError> {
        let at = at.replace_nanosecond(0).unwrap_or(at);
        let first = device_keys
            .first()
            .ok_or_else(|| registry_fault("no device key"))?;
        let validity = self.validity(card, at, self.check_card(card, at)?)?;
        self.check_keys()?;
        let card_key = self.card_key(card)?;
        // The phone is named once per issuance, by its first request's first key; the other
        // parts join that phone whatever keys they bind (a wallet may use a key per format).
        let device = match issuance {
            None => first.thumbprint_sha256_on(self.provider)?,
            Some(_) => self.registry.card(&card_key)?.active_device.ok_or(
                kmid_status::StatusListError::Registry(kmid_status::RegistryError::SecondDevice),
            )?,
        };
        let all = registered_formats(device_keys.len(), formats);
        let actor = self.actor(at, "issuance (OpenID4VCI)");
        let (number, registrations) = match issuance {
            None => {
                self.bind_person(card, &device, false, at)?;
                self.registry
                    .open_issuance(&card_key, &device, &all, None, &actor)?
            }
            Some(number) => (
                number,
                self.registry
                    .extend_issuance(&card_key, &device, number, &all, &actor)?,
            ),
        };
        let issued = self.sign_issuance(
            card,
            device_keys,
            formats,
            registrations,
            validity,
            None,
            at,
        )?;
        Ok((number, issued))
    }

    /// Renews a card on the same phone without a visit (D-24): `grant` is the renewal grant the
    /// holder received with its credentials, `proof` an OpenID4VCI key proof of the same device
    /// key over [`crate::channels::renewal_nonce`] of the grant, and `card` the issuer's own
    /// current record of the card. The grant is spent, the earlier credentials are superseded,
    /// and the new ones come with a new grant.
    ///
    /// # Errors
    /// [`KmidError::CardExpired`] and the other card checks; `Channel.InvalidProof`; the
    /// registry's `Renewal.*` refusals (unknown, used, revoked, another card or device, a
    /// superseded or revoked issuance), `CardLost`, `DeviceLost`, `SecondDevice` (the card is
    /// on another phone, or none after a replacement).
    pub fn renew(
        &self,
        grant: &str,
        proof: &str,
        card: &Card,
        formats: Formats,
        at: OffsetDateTime,
    ) -> Result<Issued, KmidError> {
        let at = at.replace_nanosecond(0).unwrap_or(at);
        let validity = self.validity(card, at, self.check_card(card, at)?)?;
        self.check_keys()?;
        let nonce = crate::channels::renewal_nonce(self.provider, grant)?;
        let device_key = self.check_key_proof(proof, &nonce, at)?;
        let device = device_key.thumbprint_sha256_on(self.provider)?;
        self.bind_person(card, &device, false, at)?;
        let next = self.secret(32)?;
        let (_, registrations) = self.registry.redeem_renewal(
            &nonce,
            &self.card_key(card)?,
            &device,
            &registered_formats(1, formats),
            &crate::channels::renewal_nonce(self.provider, &next)?,
            &self.actor(at, "renewal"),
        )?;
        self.sign_issuance(
            card,
            core::slice::from_ref(&device_key),
            formats,
            registrations,
            validity,
            Some(&next),
            at,
        )?
        .pop()
        .ok_or_else(|| registry_fault("no credential was renewed"))
    }

    /// The end of validity of credentials of `card` signed at `at`: exclusive, as the SD-JWT
    /// VC's `exp` is (RFC 7519 §4.1.4), and the mdoc's `validUntil`, its last valid instant
    /// (kmid's verifier and others accept it), one second earlier, so that at 00:00 KST of a
    /// birthday no credential of the eve's claims is valid in either format. Checked before
    /// anything is registered: a credential that would be valid for under a second is refused
    /// without superseding the holder's current ones.
    fn validity(
        &self,
        card: &Card,
        at: OffsetDateTime,
        card_end: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime), KmidError> {
        let until = credential_end(card, at, self.validity).min(card_end);
        let mdoc_until = until - Duration::seconds(1);
        if mdoc_until <= at {
            return Err(KmidError::InvalidRequest(
                "the credential would be valid for under a second (the card ends or a claim \
                 changes at 00:00 KST): issue after midnight",
            ));
        }
        Ok((until, mdoc_until))
    }

    /// The signer is the Document Signer certificate's key: checked before anything is
    /// registered, so a misconfigured issuer supersedes no holder's credentials.
    fn check_keys(&self) -> Result<(), KmidError> {
        if self.keys.document_signer.public_key() == self.keys.signer.public_key() {
            Ok(())
        } else {
            Err(KmidError::InvalidRequest(
                "the issuer's signer is not its Document Signer certificate's key",
            ))
        }
    }

    fn actor(&self, at: OffsetDateTime, reason: &'static str) -> Actor<'static> {
        Actor {
            who: self.keys.authority.slug(),
            at,
            reason,
        }
    }

    /// Signs the credentials of one registered issuance: per key of `device_keys`, the formats
    /// of `formats`, in the order [`registered_formats`] registered them.
    #[allow(clippy::too_many_arguments)]
    fn sign_issuance(
        &self,
        card: &Card,
        device_keys: &[PublicKey],
        formats: Formats,
        registrations: Vec<kmid_status::registry::Registration>,
        (until, mdoc_until): (OffsetDateTime, OffsetDateTime),
        grant: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Vec<Issued>, KmidError> {
        let per_key = registered_formats(1, formats);
        let mut registrations = registrations.into_iter();
        let mut out = Vec::with_capacity(device_keys.len());
        for device_key in device_keys {
            let mut issued = Issued {
                renewal: grant.map(str::to_owned),
                ..Issued::default()
            };
            for format in &per_key {
                let r = registrations
                    .next()
                    .ok_or_else(|| registry_fault("the registry returned too few credentials"))?;
                match format {
                    CredentialFormat::Mdoc => {
                        let mut options = MsoOptions::new(at, mdoc_until);
                        options.status = Some(r.reference.clone());
                        options.decoys_per_namespace = 2;
                        let issuer_signed = MdocIssuer::new(
                            &*self.keys.signer,
                            vec![self.keys.document_signer.clone()],
                            &*self.random,
                        )?
                        .with_provider(self.provider)
                        .issue(card, device_key, &options)?;
                        issued.mdoc = Some(IssuedMdoc {
                            issuer_signed,
                            credential: r.credential,
                            status: r.reference,
                        });
                    }
                    CredentialFormat::SdJwtVc => {
                        let mut options = VcOptions::new(at, until);
                        options.status = Some(r.reference.clone());
                        let sd_jwt = SdJwtVcIssuer::with_x5c(
                            Arc::clone(&self.keys.signer),
                            vec![self.keys.document_signer.clone()],
                            Arc::clone(&self.random),
                        )?
                        .with_decoys(2)
                        .with_provider(self.provider)
                        .issue(card, device_key, &options)?;
                        issued.sd_jwt = Some(IssuedSdJwt {
                            sd_jwt,
                            credential: r.credential,
                            status: r.reference,
                        });
                    }
                }
            }
            out.push(issued);
        }
        Ok(out)
    }

    /// Signs every status list as it stands at `at`, in both token forms, valid for a day and
    /// cacheable for `ttl` seconds.
    ///
    /// # Errors
    /// Registry or signing failures.
    pub fn publish(&self, at: OffsetDateTime, ttl: u64) -> Result<Vec<PublishedList>, KmidError> {
        let chain = [self.keys.document_signer.clone()];
        let signer = TokenSigner {
            signer: &self.keys.signer,
            chain: &chain,
            kid: None,
            provider: self.provider,
        };
        let mut out = Vec::new();
        for record in self.registry.lists()? {
            let (record, list) = self.registry.publish(record.id)?;
            let claims = TokenClaims {
                sub: record.uri.clone(),
                iat: at.unix_timestamp(),
                exp: Some((at + Duration::days(1)).unix_timestamp()),
                ttl: Some(ttl),
            };
            out.push(PublishedList {
                jwt: sign_jwt(&list, &claims, &signer)?,
                cwt: sign_cwt(&list, &claims, &signer)?,
                uri: record.uri,
            });
        }
        Ok(out)
    }
}
