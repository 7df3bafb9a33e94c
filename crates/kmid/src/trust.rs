//! Trust as data: which roots and keys a wallet, a relying party or a conformance runner trusts,
//! and for what (`spec/trust.md`). A [`TrustConfig`] is read from a TOML or JSON file:
//!
//! ```toml
//! [[anchor]]
//! file = "mois-iaca.pem"            # a PEM or DER certificate, or a directory of them
//! purposes = ["mdoc-issuer", "sd-jwt-vc-issuer", "status-list-signer"]
//! scopes = ["kr.go.mois.rrc.1"]     # docTypes and vcts it vouches for; ["*"]: any
//!
//! [[issuer]]                        # keys configured by `iss` (and `kid`), no certificate
//! iss = "https://issuer.example"
//! jwks = "issuer.jwks.json"         # a JWK Set file; each key's `kid` is kept
//! purposes = ["sd-jwt-vc-issuer", "status-list-signer"]
//! ```
//!
//! Paths are relative to the file. A root listed twice for one purpose vouches for the union
//! of its scopes; "any" and listed scopes for one root are refused. Nothing is silently
//! dropped: an anchor that is not a CA certificate, an empty `scopes`, an unknown member or a
//! JWK Set without a usable key is an error naming the entry.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use kmid_crypto::x509::{Certificate, CrlSource, RevocationPolicy, TrustStore};
use kmid_crypto::{CryptoError, Jwk, PublicKey};
use serde::{Deserialize, Serialize};

/// Keys configured by `iss` (and `kid`): `(iss, kid, key)`, as [`TrustConfig::issuer_keys`]
/// returns them and the verifiers and wallets take them.
pub type ConfiguredKeys = Vec<(String, Option<String>, PublicKey)>;

/// What an anchor or a configured key is trusted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TrustPurpose {
    /// mdoc issuers: the IACA roots of Document Signer chains (ISO/IEC 18013-5).
    MdocIssuer,
    /// SD-JWT VC issuers: roots of `x5c` chains, or configured keys by `iss`/`kid`.
    SdJwtVcIssuer,
    /// Status List Token signers.
    StatusListSigner,
    /// mdoc readers (reader authentication), for wallets.
    Reader,
    /// OpenID4VP verifiers' access certificates, for wallets.
    VerifierAccess,
    /// Registrars whose registration attestations let a verifier collect the registration
    /// number (configured keys by `iss`/`kid`), for wallets.
    Registrar,
    /// Wallet providers, for issuers: the roots of the Client Attestations that authenticate a
    /// wallet (OpenID4VCI Appendix E, HAIP 1.0 §4.3.1) and of the key attestations of its
    /// secure area (Appendix D).
    WalletProvider,
}

/// A trust anchor entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorConfig {
    /// A PEM or DER certificate file, or a directory of `.pem`, `.crt`, `.cer` and `.der`
    /// files; relative to the configuration file.
    pub file: PathBuf,
    /// What the anchor is trusted for (at least one).
    pub purposes: Vec<TrustPurpose>,
    /// The docTypes and `vct`s it may vouch for; `["*"]` for any. Required, so that "any" is
    /// always written out.
    pub scopes: Vec<String>,
    /// Whether certificates under it are checked against their CRLs, and what an unavailable
    /// CRL means; absent: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<CrlPolicy>,
}

/// An anchor's revocation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrlPolicy {
    /// An unavailable CRL refuses the chain (`Certificate.RevocationUnavailable`).
    HardFail,
    /// An unavailable CRL is reported in the result, the chain accepted.
    SoftFail,
}

impl CrlPolicy {
    const fn policy(self) -> RevocationPolicy {
        match self {
            Self::HardFail => RevocationPolicy::HardFail,
            Self::SoftFail => RevocationPolicy::SoftFail,
        }
    }
}

/// Keys configured for an issuer identified by `iss`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerKeysConfig {
    /// The issuer identifier (`iss`).
    pub iss: String,
    /// A JWK Set file (`{"keys": [...]}`), relative to the configuration file.
    pub jwks: PathBuf,
    /// What the keys are trusted for.
    pub purposes: Vec<TrustPurpose>,
}

/// A VICAL (ISO/IEC 18013-5 Annex C.1.7) as a source of anchors: every IACA it lists is
/// trusted for the given purposes, scoped to the docTypes the list gives it, once the list's
/// signer chains to `anchor` (for VICAL signing) and the list is not past its `nextUpdate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VicalConfig {
    /// The signed VICAL (COSE_Sign1), relative to the configuration file.
    pub file: PathBuf,
    /// The VICAL provider's root certificate (PEM or DER).
    pub anchor: PathBuf,
    /// What the listed IACAs are trusted for.
    pub purposes: Vec<TrustPurpose>,
}

/// A trust configuration (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// Trust anchors.
    #[serde(default, rename = "anchor", skip_serializing_if = "Vec::is_empty")]
    pub anchors: Vec<AnchorConfig>,
    /// Issuers' configured keys.
    #[serde(default, rename = "issuer", skip_serializing_if = "Vec::is_empty")]
    pub issuers: Vec<IssuerKeysConfig>,
    /// VICALs whose IACAs are trusted.
    #[serde(default, rename = "vical", skip_serializing_if = "Vec::is_empty")]
    pub vicals: Vec<VicalConfig>,
    /// SD-JWT VC issuers (exact `iss` values) whose keys may be resolved from their JWT VC
    /// Issuer Metadata ([`Self::metadata_resolver`]); no other `iss` is ever fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata_issuers: Vec<String>,
    /// Where relative paths start (the configuration file's folder).
    #[serde(skip)]
    pub base: PathBuf,
}

/// Why a trust configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {why}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// The configuration is not valid TOML/JSON of this shape.
    #[error("the trust configuration does not parse: {0}")]
    Parse(String),
    /// An anchor file is not a certificate, or not a CA's.
    #[error("anchor {file}: {error}")]
    Anchor {
        /// The file.
        file: String,
        /// What is wrong with it.
        error: CryptoError,
    },
    /// An entry says nothing about what it is for, or what it vouches for.
    #[error("entry {0}: empty purposes or scopes")]
    Empty(String),
    /// A VICAL was refused (its signer, signature, freshness, or an entry).
    #[error("vical {file}: {code}")]
    Vical {
        /// The file.
        file: String,
        /// The mdoc layer's code of the refusal.
        code: &'static str,
    },
    /// A JWK Set file holds no usable public key, or one that is not a public key.
    #[error("jwks {file}: {why}")]
    Jwks {
        /// The file.
        file: String,
        /// Why.
        why: &'static str,
    },
}

impl TrustConfigError {
    /// The stable code (`Trust.` and the variant's name inside [`crate::KmidError`]; an
    /// anchor's certificate error goes on, e.g. `Anchor.Certificate.ScopeConflict`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "Io",
            Self::Parse(_) => "Parse",
            Self::Anchor { error, .. } => kmid_schema::error_code::join("Anchor", error.code()),
            Self::Empty(_) => "Empty",
            Self::Vical { .. } => "Vical",
            Self::Jwks { .. } => "Jwks",
        }
    }
}

fn io(path: &Path, e: &std::io::Error) -> TrustConfigError {
    TrustConfigError::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

/// The largest trust configuration, certificate or JWK Set file read.
const MAX_FILE: u64 = 1 << 20;

fn read_bounded(path: &Path) -> Result<Vec<u8>, TrustConfigError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| io(path, &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(path, &e))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE {
        return Err(TrustConfigError::Io {
            path: path.display().to_string(),
            why: format!("larger than {MAX_FILE} bytes"),
        });
    }
    Ok(bytes)
}

impl TrustConfig {
    /// Reads a configuration file: JSON when it ends in `.json`, TOML otherwise. Relative
    /// paths in it start at its folder.
    ///
    /// # Errors
    /// [`TrustConfigError::Io`], [`TrustConfigError::Parse`].
    pub fn from_file(path: &Path) -> Result<Self, TrustConfigError> {
        let bytes = read_bounded(path)?;
        let text =
            String::from_utf8(bytes).map_err(|_| TrustConfigError::Parse("not UTF-8".into()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if path.extension().is_some_and(|e| e == "json") {
            Self::from_json(&text, base)
        } else {
            Self::from_toml(&text, base)
        }
    }

    /// Parses the TOML form, with relative paths starting at `base`.
    ///
    /// # Errors
    /// [`TrustConfigError::Parse`].
    pub fn from_toml(text: &str, base: PathBuf) -> Result<Self, TrustConfigError> {
        let mut config: Self =
            toml::from_str(text).map_err(|e| TrustConfigError::Parse(e.message().to_owned()))?;
        config.base = base;
        Ok(config)
    }

    /// Parses the JSON form (`{"anchor": [...], "issuer": [...]}`).
    ///
    /// # Errors
    /// [`TrustConfigError::Parse`].
    pub fn from_json(text: &str, base: PathBuf) -> Result<Self, TrustConfigError> {
        let mut config: Self =
            serde_json::from_str(text).map_err(|e| TrustConfigError::Parse(e.to_string()))?;
        config.base = base;
        Ok(config)
    }

    /// The TOML form.
    ///
    /// # Errors
    /// [`TrustConfigError::Parse`] when a value has no TOML form.
    pub fn to_toml(&self) -> Result<String, TrustConfigError> {
        toml::to_string(self).map_err(|e| TrustConfigError::Parse(e.to_string()))
    }

    fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }

    /// The trust store of the anchors trusted for `purpose`, each scoped as configured (the
    /// union, for a root listed twice).
    ///
    /// # Errors
    /// [`TrustConfigError::Empty`], [`TrustConfigError::Io`], [`TrustConfigError::Anchor`]
    /// (not a certificate, not a CA's, any and listed scopes for one root).
    pub fn trust_store(&self, purpose: TrustPurpose) -> Result<TrustStore, TrustConfigError> {
        self.build(purpose, None)
    }

    /// [`Self::trust_store`], with the certificates under each anchor that has a `crl` policy
    /// checked against their CRLs from `crls` (a root listed twice takes the stricter policy:
    /// hard-fail over soft-fail over none).
    ///
    /// # Errors
    /// As [`Self::trust_store`].
    pub fn trust_store_with_crls(
        &self,
        purpose: TrustPurpose,
        crls: Arc<dyn CrlSource>,
    ) -> Result<TrustStore, TrustConfigError> {
        self.build(purpose, Some(crls))
    }

    fn build(
        &self,
        purpose: TrustPurpose,
        crls: Option<Arc<dyn CrlSource>>,
    ) -> Result<TrustStore, TrustConfigError> {
        let mut store = TrustStore::new();
        let mut policies: Vec<(Certificate, Option<CrlPolicy>)> = Vec::new();
        for anchor in &self.anchors {
            let name = anchor.file.display().to_string();
            if anchor.purposes.is_empty() || anchor.scopes.is_empty() {
                return Err(TrustConfigError::Empty(name));
            }
            if !anchor.purposes.contains(&purpose) {
                continue;
            }
            for (file, certificate) in self.certificates(&anchor.file)? {
                let fail = |error| TrustConfigError::Anchor {
                    file: file.clone(),
                    error,
                };
                let stricter = |a: Option<CrlPolicy>, b: Option<CrlPolicy>| match (a, b) {
                    (Some(CrlPolicy::HardFail), _) | (_, Some(CrlPolicy::HardFail)) => {
                        Some(CrlPolicy::HardFail)
                    }
                    (Some(CrlPolicy::SoftFail), _) | (_, Some(CrlPolicy::SoftFail)) => {
                        Some(CrlPolicy::SoftFail)
                    }
                    _ => None,
                };
                match policies.iter_mut().find(|(c, _)| *c == certificate) {
                    Some((_, p)) => *p = stricter(*p, anchor.crl),
                    None => policies.push((certificate.clone(), anchor.crl)),
                }
                if anchor.scopes.iter().any(|s| s == "*") {
                    store.add(certificate).map_err(fail)?;
                } else {
                    store
                        .add_scoped(certificate, anchor.scopes.clone())
                        .map_err(fail)?;
                }
            }
        }
        for vical in &self.vicals {
            if vical.purposes.is_empty() {
                return Err(TrustConfigError::Empty(vical.file.display().to_string()));
            }
            if !vical.purposes.contains(&purpose) {
                continue;
            }
            let file = self.resolve(&vical.file);
            let name = file.display().to_string();
            let mut signers = TrustStore::new();
            for (anchor_file, anchor) in self.certificates(&vical.anchor)? {
                signers
                    .add(anchor)
                    .map_err(|error| TrustConfigError::Anchor {
                        file: anchor_file,
                        error,
                    })?;
            }
            let list = kmid_mdoc::vical::Vical::verify(
                &read_bounded(&file)?,
                &signers,
                time::OffsetDateTime::now_utc(),
                kmid_crypto::CryptoProvider::get_default(),
            )
            .map_err(|e| TrustConfigError::Vical {
                file: name.clone(),
                code: e.code(),
            })?;
            list.add_to(&mut store)
                .map_err(|e| TrustConfigError::Vical {
                    file: name,
                    code: e.code(),
                })?;
        }
        if let Some(crls) = crls
            && policies.iter().any(|(_, p)| p.is_some())
        {
            store = store.with_revocation(crls, RevocationPolicy::HardFail);
            for (root, policy) in &policies {
                store
                    .set_root_revocation(root, policy.map(CrlPolicy::policy))
                    .map_err(|error| TrustConfigError::Anchor {
                        file: root.common_name().unwrap_or_default(),
                        error,
                    })?;
            }
        }
        Ok(store)
    }

    /// The certificates at `path`: one file, or every certificate file of a folder (in name
    /// order).
    fn certificates(&self, path: &Path) -> Result<Vec<(String, Certificate)>, TrustConfigError> {
        let full = self.resolve(path);
        let files = if full.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&full)
                .map_err(|e| io(&full, &e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|e| {
                        ["pem", "crt", "cer", "der"]
                            .iter()
                            .any(|x| e.eq_ignore_ascii_case(x))
                    })
                })
                .collect();
            files.sort();
            files
        } else {
            vec![full]
        };
        files
            .into_iter()
            .map(|file| {
                let bytes = read_bounded(&file)?;
                let name = file.display().to_string();
                let parsed = if bytes.starts_with(b"-----BEGIN") {
                    String::from_utf8(bytes)
                        .map_err(|_| {
                            CryptoError::from(kmid_crypto::KeyError::Encoding("not UTF-8"))
                        })
                        .and_then(|text| Certificate::from_pem(&text))
                } else {
                    Certificate::from_der(&bytes)
                };
                parsed
                    .map(|c| (name.clone(), c))
                    .map_err(|error| TrustConfigError::Anchor { file: name, error })
            })
            .collect()
    }

    /// A resolver of SD-JWT VC issuer keys by JWT VC Issuer Metadata for the
    /// `metadata_issuers`, fetching through `fetcher` (the caller's HTTPS client); `None` when
    /// the configuration allows none.
    #[must_use]
    pub fn metadata_resolver(
        &self,
        fetcher: impl kmid_sdjwt::vc::metadata::MetadataFetcher + 'static,
    ) -> Option<kmid_sdjwt::vc::metadata::IssuerMetadataResolver> {
        (!self.metadata_issuers.is_empty()).then(|| {
            kmid_sdjwt::vc::metadata::IssuerMetadataResolver::new(
                fetcher,
                self.metadata_issuers.clone(),
            )
        })
    }

    /// The keys configured for `purpose`: `(iss, kid, key)` for each key of each issuer's JWK
    /// Set, as [`kmid_sdjwt::vc::IssuerKeys::KeySet`] and the status token key sets take them.
    ///
    /// # Errors
    /// [`TrustConfigError::Io`], [`TrustConfigError::Jwks`] (not a JWK Set, a private key,
    /// an unusable key, no key at all), [`TrustConfigError::Empty`].
    pub fn issuer_keys(
        &self,
        purpose: TrustPurpose,
    ) -> Result<Vec<(String, Option<String>, PublicKey)>, TrustConfigError> {
        let mut out = Vec::new();
        for issuer in &self.issuers {
            if issuer.purposes.is_empty() {
                return Err(TrustConfigError::Empty(issuer.iss.clone()));
            }
            if !issuer.purposes.contains(&purpose) {
                continue;
            }
            let path = self.resolve(&issuer.jwks);
            let file = path.display().to_string();
            let fail = |why| TrustConfigError::Jwks {
                file: file.clone(),
                why,
            };
            #[derive(Deserialize)]
            struct JwkSet {
                keys: Vec<Jwk>,
            }
            let set: JwkSet =
                serde_json::from_slice(&read_bounded(&path)?).map_err(|_| fail("not a JWK Set"))?;
            if set.keys.is_empty() {
                return Err(fail("no key"));
            }
            for jwk in set.keys {
                if jwk.d.is_some() {
                    return Err(fail("a private key"));
                }
                let key = jwk.to_public_key().map_err(|_| fail("an unusable key"))?;
                out.push((issuer.iss.clone(), jwk.kid.clone(), key));
            }
        }
        Ok(out)
    }
}
