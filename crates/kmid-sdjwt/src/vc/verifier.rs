//! Verifying an SD-JWT VC (RFC 9901 §7, SD-JWT VC §2.4): the issuer's key through `x5c` and a
//! trust store or through configured keys, an allow-list of algorithms, `typ`, every
//! Disclosure, the never-disclosable claims, `vct` and `vct#integrity`, time, Key Binding and
//! status. Every failure is its own error.

use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore};
use kmid_crypto::{Algorithm, CryptoProvider, HashAlgorithm, PublicKey};
use kmid_schema::CardType;
use kmid_schema::catalogue::{self, ClaimId};
use kmid_schema::status::{
    StatusContext, StatusPolicy, StatusReference, StatusRefusal, StatusResolver, StatusTokenForm,
    TokenStatus,
};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::{NEVER_DISCLOSABLE, SD_JWT_VC_TYP};
use crate::conceal::PathSegment;
use crate::error::{IssuerKeyError, KeyBindingError, SdJwtError};
use crate::jws::{CompactJws, parse_jws};
use crate::kb::KeyBindingPolicy;
use crate::limits::SdJwtLimits;
use crate::serialization::{SdJwt, is_json_serialization};
use crate::type_metadata;
use crate::verify::{SdJwtCheck, VerifiedSdJwt, header_checks, verify_parsed};

/// The issuer's key, its certificate when it came from `x5c`, and the DER of the root that
/// certificate chained to.
/// The issuer's key, its certificate and anchor when from `x5c`, and the chain positions
/// whose revocation could not be checked (soft-fail).
type IssuerKey<'a> = (PublicKey, Option<Certificate>, Option<&'a [u8]>, Vec<usize>);

/// How the verifier finds the issuer's key.
#[derive(Debug, Clone)]
pub enum IssuerKeys<'a> {
    /// From the `x5c` header, validated to one of these roots for Document Signer use
    /// (the same roots that vouch for the mdoc issuers).
    X5c(&'a TrustStore),
    /// From configured keys, by `iss` and `kid`: a key configured with a kid matches only a
    /// header with that kid; one configured without matches any.
    KeySet(Vec<(String, Option<String>, PublicKey)>),
    /// From JWT VC Issuer Metadata, for the issuers the resolver allows.
    Metadata(&'a super::metadata::IssuerMetadataResolver),
    /// Several sources, chosen by the header (`spec/trust.md`, "Resolution order"): a header
    /// with `x5c` is resolved by the first [`IssuerKeys::X5c`] source only (a chain is never
    /// ignored in favour of a configured key); without `x5c`, by the first
    /// [`IssuerKeys::KeySet`] holding a key for the `iss` (and `kid`), else by the first
    /// [`IssuerKeys::Metadata`] source. Nested `Any` sources are not consulted.
    Any(Vec<IssuerKeys<'a>>),
}

/// A verified SD-JWT VC.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedSdJwtVc {
    /// `vct`.
    pub vct: String,
    /// The card type, when `vct` is one of the profile's.
    pub card_type: Option<CardType>,
    /// The issuer's certificate, when the key came from `x5c`.
    pub issuer_certificate: Option<Certificate>,
    /// `iss`, if present.
    pub iss: Option<String>,
    /// The Processed SD-JWT Payload: disclosed claims and the always-visible ones.
    pub claims: Map<String, Value>,
    /// The paths of the claims revealed by Disclosures.
    pub disclosed: Vec<Vec<PathSegment>>,
    /// The status the resolver reported, if any.
    pub status: Option<TokenStatus>,
    /// Whether a Key Binding JWT was verified.
    pub key_bound: bool,
    /// The verified KB-JWT's claims, when one was verified.
    pub key_binding_claims: Option<Map<String, Value>>,
    /// SHA-256 of the text verified, exactly as it was given (the presentation to
    /// [`SdJwtVcVerifier::verify`], the issued SD-JWT to a holder's `receive`): what a
    /// verification record cites. With Key Binding over SHA-256 and the compact form it comes
    /// from the `sd_hash` pass, so the presentation is hashed once.
    pub presentation_sha256: [u8; 32],
    /// The issuer chain positions whose revocation could not be checked, under a soft-fail
    /// revocation policy of the trust store (empty otherwise).
    pub revocation_unknown: Vec<usize>,
}

impl VerifiedSdJwtVc {
    /// The value at `path` in the processed payload.
    #[must_use]
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.claims.get(*first)?, |v, k| v.get(*k))
    }

    /// The value of a catalogue item, if disclosed.
    #[must_use]
    pub fn claim(&self, id: ClaimId) -> Option<&Value> {
        self.get(catalogue::spec(id).sd_jwt.path)
    }

    /// The catalogue items disclosed, with their values.
    #[must_use]
    pub fn catalogue_claims(&self) -> Vec<(ClaimId, &Value)> {
        ClaimId::ALL
            .iter()
            .filter_map(|&id| self.claim(id).map(|v| (id, v)))
            .collect()
    }
}

/// An SD-JWT VC verifier: where issuer keys come from, and the policy to apply.
pub struct SdJwtVcVerifier<'a> {
    issuer_keys: IssuerKeys<'a>,
    check: SdJwtCheck,
    status: StatusPolicy<'a>,
    accepted_vcts: Vec<String>,
    /// Any `vct` (the trust decides): for a holder receiving any type.
    any_vct: bool,
}

impl core::fmt::Debug for SdJwtVcVerifier<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SdJwtVcVerifier")
            .field("check", &self.check)
            .field("status", &self.status)
            .field("accepted_vcts", &self.accepted_vcts)
            .finish_non_exhaustive()
    }
}

/// Whether a Key Binding JWT may be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A holder receiving an SD-JWT from the issuer: a KB-JWT is refused.
    Issuance,
    /// A verifier receiving a presentation.
    Presentation,
}

/// What verification produced, for the holder's use.
pub(crate) struct Verified {
    pub(crate) result: VerifiedSdJwtVc,
    pub(crate) sd_jwt: SdJwt,
    pub(crate) paths: Vec<Vec<PathSegment>>,
    pub(crate) sd_alg: HashAlgorithm,
}

fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, SdJwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(SdJwtError::MissingClaim(name)),
    }
}

impl<'a> SdJwtVcVerifier<'a> {
    /// A verifier finding issuer keys by `issuer_keys`, accepting ES256, ES384, ES512 and
    /// EdDSA, `_sd_alg` sha-256/384/512, the profile's three `vct`s, no clock skew, no Key
    /// Binding required (set one with [`Self::require_key_binding`]), and refusing a
    /// credential with a status reference unless a resolver is set.
    #[must_use]
    pub fn new(issuer_keys: IssuerKeys<'a>) -> Self {
        Self {
            issuer_keys,
            check: SdJwtCheck {
                expected_typ: Some(SD_JWT_VC_TYP.into()),
                ..SdJwtCheck::default()
            },
            status: StatusPolicy::new(),
            accepted_vcts: CardType::ALL.iter().map(|c| c.vct().to_owned()).collect(),
            any_vct: false,
        }
    }

    /// Requires a Key Binding JWT satisfying `policy`.
    #[must_use]
    pub fn require_key_binding(mut self, policy: KeyBindingPolicy) -> Self {
        self.check.key_binding = Some(policy);
        self
    }

    /// Restricts the accepted signature algorithms.
    #[must_use]
    pub fn with_algorithms(mut self, allowed: &[Algorithm]) -> Self {
        self.check.allowed_algorithms = allowed.to_vec();
        self
    }

    /// Tolerates this much clock difference on `exp`, `nbf`, `iat` and the KB-JWT's `iat`.
    #[must_use]
    pub const fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.check.clock_skew = skew;
        self
    }

    /// Checks status references through `resolver`.
    #[must_use]
    pub fn with_status_resolver(mut self, resolver: &'a dyn StatusResolver) -> Self {
        self.status = self.status.with_resolver(resolver);
        self
    }

    /// **Dangerous**: accepts credentials that carry a status reference without checking it
    /// when no resolver is set (by default they are refused with [`StatusError::NoResolver`](kmid_schema::status::StatusError::NoResolver)).
    #[must_use]
    pub const fn danger_accept_unchecked_status(mut self) -> Self {
        self.status = self.status.danger_accept_unchecked();
        self
    }

    /// Accepts these `vct`s instead of the profile's three.
    #[must_use]
    pub fn with_vcts(mut self, vcts: &[&str]) -> Self {
        self.accepted_vcts = vcts.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// Accepts any `vct`, for a holder that takes what its trusted issuers issue: the trust
    /// still decides (an anchor scoped to some `vct`s vouches for those alone; a configured key
    /// vouches for its `iss`). A verifier names the `vct`s it asked for instead
    /// ([`Self::with_vcts`]).
    #[must_use]
    pub const fn accept_any_vct(mut self) -> Self {
        self.any_vct = true;
        self
    }

    /// Uses other limits.
    #[must_use]
    pub const fn with_limits(mut self, limits: SdJwtLimits) -> Self {
        self.check.limits = limits;
        self
    }

    /// Verifies on `provider` (the default: [`CryptoProvider::get_default`]): signatures,
    /// Disclosure digests and `sd_hash`. Certificate chains are checked by the trust store, on
    /// the provider it was given.
    #[must_use]
    pub const fn with_provider(mut self, provider: &'static CryptoProvider) -> Self {
        self.check.provider = provider;
        self
    }

    /// The provider in use.
    #[must_use]
    pub const fn provider(&self) -> &'static CryptoProvider {
        self.check.provider
    }

    /// The limits in force.
    #[must_use]
    pub const fn limits(&self) -> &SdJwtLimits {
        &self.check.limits
    }

    /// Verifies a presentation (compact or JWS JSON) at time `at`.
    ///
    /// # Errors
    /// The first failed check, as [`SdJwtError`].
    pub fn verify(
        &self,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<VerifiedSdJwtVc, SdJwtError> {
        let sd_jwt = SdJwt::parse(presentation, &self.check.limits)?;
        Ok(self
            .verify_parsed(sd_jwt, presentation, at, Stage::Presentation)?
            .result)
    }

    fn issuer_key(
        &self,
        jws: &CompactJws<'_>,
        at: OffsetDateTime,
    ) -> Result<IssuerKey<'a>, SdJwtError> {
        let fail = |e| SdJwtError::IssuerKey(e);
        // Read before the signature is checked only to choose the key; trusted only after.
        let unverified = KeyHints::read(&jws.payload)?;
        let iss = unverified.iss.as_deref();
        let kid = jws.header.get("kid").and_then(Value::as_str);
        let unknown = || {
            fail(IssuerKeyError::Unknown {
                iss: iss.map(str::to_owned),
                kid: kid.map(str::to_owned),
            })
        };
        let source = match &self.issuer_keys {
            IssuerKeys::Any(sources) => {
                let has_x5c = jws.header.contains_key("x5c");
                let first =
                    |wanted: &dyn Fn(&IssuerKeys<'a>) -> bool| sources.iter().find(|s| wanted(s));
                if has_x5c {
                    first(&|s| matches!(s, IssuerKeys::X5c(_)))
                } else {
                    first(&|s| {
                        matches!(s, IssuerKeys::KeySet(keys) if keys.iter().any(|(i, k, _)| {
                            Some(i.as_str()) == iss && (k.is_none() || k.as_deref() == kid)
                        }))
                    })
                    .or_else(|| first(&|s| matches!(s, IssuerKeys::Metadata(_))))
                }
                .ok_or_else(unknown)?
            }
            one => one,
        };
        match source {
            IssuerKeys::Any(_) => Err(unknown()),
            IssuerKeys::X5c(trust) => {
                let entries: Vec<String> = match jws.header.get("x5c") {
                    Some(Value::Array(items)) => {
                        let max = trust.max_chain_len().saturating_add(1);
                        if items.len() > max {
                            return Err(fail(IssuerKeyError::Chain(
                                kmid_crypto::CertificateError::ChainTooLong {
                                    length: items.len(),
                                    max,
                                }
                                .into(),
                            )));
                        }
                        items
                            .iter()
                            .map(|i| {
                                i.as_str()
                                    .map(str::to_owned)
                                    .ok_or_else(|| SdJwtError::Json { part: "x5c".into() })
                            })
                            .collect::<Result<_, _>>()?
                    }
                    Some(_) => return Err(SdJwtError::Json { part: "x5c".into() }),
                    None => return Err(unknown()),
                };
                let ders = entries
                    .iter()
                    .map(|e| Certificate::x5c_entry_der(e))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(IssuerKeyError::Chain(e)))?;
                let ders: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
                let validated = trust
                    .validate_der(&ders, at, KeyPurpose::DocumentSigner)
                    .map_err(|e| fail(IssuerKeyError::Chain(e)))?;
                let vct = unverified.vct.as_deref().unwrap_or_default();
                if !trust.allows(validated.root_index, vct) {
                    return Err(fail(IssuerKeyError::VctNotAuthorized {
                        vct: vct.chars().take(128).collect(),
                    }));
                }
                let anchor = trust
                    .roots()
                    .get(validated.root_index)
                    .map(Certificate::der);
                Ok((
                    validated.leaf_key,
                    Some(validated.leaf),
                    anchor,
                    validated.revocation_unknown,
                ))
            }
            IssuerKeys::KeySet(keys) => {
                let iss = iss.ok_or_else(unknown)?;
                keys.iter()
                    // A configured key without a kid matches any kid; with one, only its own.
                    .find(|(i, k, _)| i == iss && (k.is_none() || k.as_deref() == kid))
                    .map(|(_, _, key)| (key.clone(), None, None, Vec::new()))
                    .ok_or_else(unknown)
            }
            IssuerKeys::Metadata(resolver) => {
                let iss = iss.ok_or_else(unknown)?;
                resolver
                    .key(iss, kid, at)
                    .map(|key| (key, None, None, Vec::new()))
                    .map_err(|e| fail(IssuerKeyError::Metadata(e)))
            }
        }
    }

    /// Verifies `sd_jwt`, parsed from `input`.
    pub(crate) fn verify_parsed(
        &self,
        sd_jwt: SdJwt,
        input: &str,
        at: OffsetDateTime,
        stage: Stage,
    ) -> Result<Verified, SdJwtError> {
        if stage == Stage::Issuance && sd_jwt.kb_jwt.is_some() {
            return Err(SdJwtError::KeyBinding(KeyBindingError::Unexpected));
        }
        let jws = parse_jws(&sd_jwt.issuer_jwt, "issuer-signed JWT")?;
        let alg = header_checks(&jws, &self.check)?;
        let (key, issuer_certificate, issuer_anchor, revocation_unknown) =
            self.issuer_key(&jws, at)?;
        // Key Binding is checked for presentations only, and only after the VC checks below
        // have run on the processed payload; the core verifies it here when required.
        let check;
        let check_ref = if stage == Stage::Issuance {
            check = SdJwtCheck {
                key_binding: None,
                ..self.check.clone()
            };
            &check
        } else {
            &self.check
        };
        let (
            VerifiedSdJwt {
                claims,
                paths,
                sd_alg,
                key_bound,
                key_binding_claims,
                ..
            },
            compact_sha256,
        ) = verify_parsed(&sd_jwt, &jws, alg, &key, check_ref, at)?;
        for path in &paths {
            if let Some(PathSegment::Key(first)) = path.first()
                && NEVER_DISCLOSABLE.contains(&first.as_str())
            {
                return Err(SdJwtError::DisclosedRegisteredClaim(first.clone()));
            }
        }

        let vct = claims
            .get("vct")
            .and_then(Value::as_str)
            .ok_or(SdJwtError::MissingClaim("vct"))?;
        if !self.any_vct && !self.accepted_vcts.iter().any(|v| v == vct) {
            return Err(SdJwtError::UnknownVct(vct.chars().take(128).collect()));
        }
        let card_type = CardType::from_doc_type(vct);
        if let Some(integrity) = claims.get("vct#integrity") {
            let integrity = integrity
                .as_str()
                .ok_or(SdJwtError::MissingClaim("vct#integrity"))?;
            let card = card_type.ok_or_else(|| SdJwtError::VctIntegrity(vct.to_owned()))?;
            type_metadata::check_card_integrity(self.check.provider, card, vct, integrity)?;
        }

        let now = at.unix_timestamp();
        let skew = self.check.clock_skew.whole_seconds();
        let exp = time_claim(&claims, "exp")?.ok_or(SdJwtError::MissingClaim("exp"))?;
        // RFC 7519 §4.1.4: the current time must be before `exp`.
        if now.saturating_sub(skew) >= exp {
            return Err(SdJwtError::Expired { exp, at: now });
        }
        if let Some(nbf) = time_claim(&claims, "nbf")?
            && now.saturating_add(skew) < nbf
        {
            return Err(SdJwtError::NotYetValid { nbf, at: now });
        }
        if let Some(iat) = time_claim(&claims, "iat")?
            && now.saturating_add(skew) < iat
        {
            return Err(SdJwtError::IssuedInFuture { iat, at: now });
        }

        let status = match claims.get("status").and_then(|s| s.get("status_list")) {
            None => None,
            Some(list) => {
                let reference = StatusReference {
                    idx: list
                        .get("idx")
                        .and_then(Value::as_u64)
                        .ok_or(SdJwtError::MissingClaim("status.status_list.idx"))?,
                    uri: list
                        .get("uri")
                        .and_then(Value::as_str)
                        .ok_or(SdJwtError::MissingClaim("status.status_list.uri"))?
                        .to_owned(),
                };
                let context = StatusContext {
                    issuer_anchor,
                    issuer: claims.get("iss").and_then(Value::as_str),
                    // SD-JWT VC §2.2.2.3: the Status List Token MUST be a JWT.
                    form: StatusTokenForm::Jwt,
                };
                self.status.check(Some(&reference), &context, at).map_err(
                    |refusal| match refusal {
                        StatusRefusal::NotValid(s) => SdJwtError::Status(s),
                        StatusRefusal::Unavailable(e) => SdJwtError::StatusUnavailable(e),
                    },
                )?
            }
        };

        // A compact input is byte for byte the serialization the `sd_hash` pass hashed.
        debug_assert!(is_json_serialization(input) || input == sd_jwt.to_compact());
        let presentation_sha256 = match compact_sha256 {
            Some(digest) if !is_json_serialization(input) => digest,
            _ => self.check.provider.sha256(input.as_bytes())?,
        };
        let result = VerifiedSdJwtVc {
            revocation_unknown,
            vct: vct.to_owned(),
            card_type,
            issuer_certificate,
            iss: claims.get("iss").and_then(Value::as_str).map(str::to_owned),
            disclosed: paths.clone(),
            claims,
            status,
            key_bound,
            key_binding_claims,
            presentation_sha256,
        };
        Ok(Verified {
            result,
            sd_jwt,
            paths,
            sd_alg,
        })
    }
}

/// The two payload claims read before the signature is checked, only to choose the key (`iss`)
/// and the trust anchor's scope (`vct`), and trusted only after. Read in one pass that builds
/// nothing else: every other member is skipped as it is parsed, so a payload of a million tiny
/// items costs what its two strings cost, not a JSON tree of tens of times its size.
#[derive(Debug, Default)]
struct KeyHints {
    iss: Option<String>,
    vct: Option<String>,
}

impl KeyHints {
    fn read(payload: &[u8]) -> Result<Self, SdJwtError> {
        serde_json::from_slice(payload).map_err(|_| SdJwtError::Json {
            part: "issuer-signed JWT payload".into(),
        })
    }
}

impl<'de> serde::Deserialize<'de> for KeyHints {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HintsVisitor)
    }
}

struct HintsVisitor;

impl<'de> serde::de::Visitor<'de> for HintsVisitor {
    type Value = KeyHints;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<KeyHints, A::Error> {
        let mut hints = KeyHints::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "iss" => hints.iss = map.next_value::<TextOrSkip>()?.0,
                "vct" => hints.vct = map.next_value::<TextOrSkip>()?.0,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(hints)
    }
}

/// A string, or any other JSON value skipped without being built.
struct TextOrSkip(Option<String>);

impl<'de> serde::Deserialize<'de> for TextOrSkip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextOrSkipVisitor)
    }
}

struct TextOrSkipVisitor;

impl<'de> serde::de::Visitor<'de> for TextOrSkipVisitor {
    type Value = TextOrSkip;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TextOrSkip, E> {
        Ok(TextOrSkip(Some(v.to_owned())))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<TextOrSkip, E> {
        Ok(TextOrSkip(None))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<TextOrSkip, E> {
        Ok(TextOrSkip(None))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<TextOrSkip, E> {
        Ok(TextOrSkip(None))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<TextOrSkip, E> {
        Ok(TextOrSkip(None))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<TextOrSkip, E> {
        Ok(TextOrSkip(None))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<TextOrSkip, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(TextOrSkip(None))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TextOrSkip, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(TextOrSkip(None))
    }
}
