//! OpenID for Verifiable Presentations 1.0 with the Digital Credentials Query Language
//! (DCQL, OpenID4VP 1.0 §6): the query a verifier sends, the wallet's selection of credentials
//! and claims (§6.4), and the VP Token it answers with (§8.1).
//!
//! A query is untrusted input to the wallet: [`DcqlQuery::from_json`] bounds its size and
//! checks every rule of §6 (non-empty arrays, identifier syntax and uniqueness, claim sets
//! naming claims that exist, credential sets naming queries that exist) before anything
//! reads it. Unknown properties are ignored, as §6 requires.
//!
//! Supported formats: `dc+sd-jwt` (meta `vct_values`), `mso_mdoc` (meta `doctype_value`;
//! claim paths are `[namespace, element]`, Appendix B.2.4) and `mso_mdoc_zk` (as `mso_mdoc`,
//! with the proof systems accepted in `zk_system_type`; `spec/zk.md`). `trusted_authorities` of type `aki`
//! is evaluated by the wallet (HAIP 1.0 §5); the rest of `trusted_authorities` is accepted
//! and not evaluated (the verifier checks the issuer itself, as §6.1.1 says it must);
//! `multiple` is honoured by returning one presentation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::KmidError;

/// The format identifier of SD-JWT VC (OpenID4VP 1.0 Appendix B.3).
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";
/// The format identifier of ISO mdoc (OpenID4VP 1.0 Appendix B.2).
pub const FORMAT_MSO_MDOC: &str = "mso_mdoc";
/// An mdoc presented as a zero-knowledge proof (de facto: Google Wallet, multipaz).
pub const FORMAT_MSO_MDOC_ZK: &str = "mso_mdoc_zk";

/// The most presentations a VP Token may hold for one Credential Query with `multiple`.
pub const MAX_PRESENTATIONS: usize = 16;
/// The largest DCQL query accepted, in bytes of JSON.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
const MAX_CREDENTIALS: usize = 32;
const MAX_CLAIMS: usize = 64;
const MAX_PATH: usize = 16;
const MAX_OPTIONS: usize = 32;
const MAX_VALUES: usize = 64;

/// A DCQL query (§6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DcqlQuery {
    /// The Credential Queries.
    pub credentials: Vec<CredentialQuery>,
    /// Constraints on which credentials to return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// A Credential Query (§6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialQuery {
    /// Its identifier in the response.
    pub id: String,
    /// `dc+sd-jwt` or `mso_mdoc`.
    pub format: String,
    /// Whether several credentials may answer it.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub multiple: bool,
    /// Format-specific metadata constraints.
    pub meta: CredentialMeta,
    /// The claims asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimsQuery>>,
    /// Alternative combinations of `claims`, most preferred first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_sets: Option<Vec<Vec<String>>>,
    /// Whether holder binding is required (default true; kmid credentials are always bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_cryptographic_holder_binding: Option<bool>,
    /// Trusted authorities, accepted and not evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_authorities: Option<Vec<Value>>,
}

/// The `meta` of a Credential Query (Appendix B.2.3, B.3.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialMeta {
    /// SD-JWT VC: the accepted `vct` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct_values: Option<Vec<String>>,
    /// mdoc: the docType.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype_value: Option<String>,
    /// `mso_mdoc_zk`: the zero-knowledge proof systems accepted, as Google's and multipaz's
    /// verifiers write them (flat objects: `system`, `id`, `circuit_hash`, `num_attributes`,
    /// `version`, …; google/longfellow-zk `docs/content/en/docs/protocols.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zk_system_type: Option<Vec<Value>>,
}

/// A Claims Query (§6.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimsQuery {
    /// Its identifier, for `claim_sets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The claims path pointer (§7): strings, non-negative integers and `null`.
    pub path: Vec<Value>,
    /// Values the claim should have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    /// mdoc: whether the verifier will keep the element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_to_retain: Option<bool>,
}

impl ClaimsQuery {
    /// The path, when every segment is a string (the only form kmid's claims need).
    #[must_use]
    pub fn key_path(&self) -> Option<Vec<&str>> {
        self.path.iter().map(Value::as_str).collect()
    }

    /// The mdoc `(namespace, element)` this claim names, when its path is two strings.
    #[must_use]
    pub(crate) fn mdoc_path(&self) -> Option<(&str, &str)> {
        match self.path.as_slice() {
            [ns, el] => Some((ns.as_str()?, el.as_str()?)),
            _ => None,
        }
    }
}

/// A Credential Set Query (§6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSetQuery {
    /// Each option: Credential Query ids that together satisfy the use case.
    pub options: Vec<Vec<String>>,
    /// Whether the set is required (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

fn invalid(why: impl Into<String>) -> KmidError {
    KmidError::InvalidDcql(why.into())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl DcqlQuery {
    /// Parses and checks a query received as JSON.
    ///
    /// # Errors
    /// [`KmidError::InvalidDcql`] naming the rule broken.
    pub fn from_json(bytes: &[u8]) -> Result<Self, KmidError> {
        if bytes.len() > MAX_QUERY_BYTES {
            return Err(invalid(format!("larger than {MAX_QUERY_BYTES} bytes")));
        }
        let query: Self =
            serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a DCQL query: {e}")))?;
        query.validate()?;
        Ok(query)
    }

    /// Checks every structural rule of §6.
    ///
    /// # Errors
    /// [`KmidError::InvalidDcql`] naming the rule broken.
    pub fn validate(&self) -> Result<(), KmidError> {
        if self.credentials.is_empty() || self.credentials.len() > MAX_CREDENTIALS {
            return Err(invalid("credentials must hold 1 to 32 queries"));
        }
        for (i, cq) in self.credentials.iter().enumerate() {
            if !valid_id(&cq.id) {
                return Err(invalid(format!("credential id {:?} is not valid", cq.id)));
            }
            if self.credentials.iter().take(i).any(|o| o.id == cq.id) {
                return Err(invalid(format!("credential id {:?} repeated", cq.id)));
            }
            cq.validate()?;
        }
        if let Some(sets) = &self.credential_sets {
            if sets.is_empty() || sets.len() > MAX_OPTIONS {
                return Err(invalid("credential_sets must hold 1 to 32 sets"));
            }
            for set in sets {
                if set.options.is_empty() || set.options.len() > MAX_OPTIONS {
                    return Err(invalid("a credential set needs 1 to 32 options"));
                }
                for option in &set.options {
                    if option.is_empty() {
                        return Err(invalid("an empty credential set option"));
                    }
                    if let Some(id) = option
                        .iter()
                        .find(|id| !self.credentials.iter().any(|c| &c.id == *id))
                    {
                        return Err(invalid(format!("credential set names unknown {id:?}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// The query with this id.
    #[must_use]
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|c| c.id == id)
    }

    /// Which Credential Queries to answer (§6.4.2), given which ones the wallet can satisfy:
    /// every query when there are no credential sets; otherwise, for each set, its first
    /// satisfiable option. `None` when a required query or set cannot be satisfied.
    #[must_use]
    pub fn select<'q>(&'q self, satisfiable: &dyn Fn(&str) -> bool) -> Option<Vec<&'q str>> {
        let Some(sets) = &self.credential_sets else {
            return self
                .credentials
                .iter()
                .map(|c| satisfiable(&c.id).then_some(c.id.as_str()))
                .collect();
        };
        let mut chosen: Vec<&str> = Vec::new();
        for set in sets {
            let option = set
                .options
                .iter()
                .find(|option| option.iter().all(|id| satisfiable(id)));
            match option {
                Some(option) => {
                    for id in option {
                        if !chosen.contains(&id.as_str()) {
                            chosen.push(id);
                        }
                    }
                }
                None if set.required.unwrap_or(true) => return None,
                None => {}
            }
        }
        Some(chosen)
    }
}

impl CredentialQuery {
    /// The Authority Key Identifiers of its `trusted_authorities` of type `aki` (§6.1.1.1),
    /// decoded; `None` when the query has no `trusted_authorities` (any issuer will do).
    /// Entries of other types (`etsi_tl`, `openid_federation`) match nothing kmid holds.
    #[must_use]
    pub fn trusted_akis(&self) -> Option<Vec<Vec<u8>>> {
        let entries = self.trusted_authorities.as_ref()?;
        Some(
            entries
                .iter()
                .filter(|e| e.get("type").and_then(Value::as_str) == Some("aki"))
                .filter_map(|e| e.get("values").and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|v| kmid_crypto::jose::b64url_decode(v).ok())
                .collect(),
        )
    }

    fn validate(&self) -> Result<(), KmidError> {
        if let Some(entries) = &self.trusted_authorities {
            let entry_ok = |e: &Value| {
                e.get("type").and_then(Value::as_str).is_some()
                    && e.get("values").and_then(Value::as_array).is_some_and(|v| {
                        !v.is_empty() && v.len() <= MAX_VALUES && v.iter().all(Value::is_string)
                    })
            };
            if entries.is_empty() || entries.len() > MAX_VALUES || !entries.iter().all(entry_ok) {
                return Err(invalid(
                    "trusted_authorities holds 1 to 64 objects, each a type and 1 to 64 string values",
                ));
            }
        }
        let bad_vcts = self
            .meta
            .vct_values
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > MAX_VALUES);
        if self.format == FORMAT_SD_JWT_VC && (bad_vcts || self.meta.vct_values.is_none()) {
            return Err(invalid(
                "a dc+sd-jwt query needs vct_values of 1 to 64 values",
            ));
        }
        let mdoc = self.format == FORMAT_MSO_MDOC || self.format == FORMAT_MSO_MDOC_ZK;
        if mdoc && self.meta.doctype_value.is_none() {
            return Err(invalid("an mso_mdoc query needs meta.doctype_value"));
        }
        if self.format == FORMAT_MSO_MDOC_ZK
            && !self.meta.zk_system_type.as_ref().is_some_and(|systems| {
                !systems.is_empty()
                    && systems.len() <= MAX_VALUES
                    && systems.iter().all(Value::is_object)
            })
        {
            return Err(invalid(
                "an mso_mdoc_zk query needs meta.zk_system_type of 1 to 64 objects",
            ));
        }
        let Some(claims) = &self.claims else {
            if self.claim_sets.is_some() {
                return Err(invalid("claim_sets without claims"));
            }
            return Ok(());
        };
        if claims.is_empty() || claims.len() > MAX_CLAIMS {
            return Err(invalid("claims must hold 1 to 64 queries"));
        }
        for (i, claim) in claims.iter().enumerate() {
            if claim.path.is_empty() || claim.path.len() > MAX_PATH {
                return Err(invalid("a claim path must have 1 to 16 segments"));
            }
            let segments_ok = claim
                .path
                .iter()
                .all(|s| s.is_string() || s.is_null() || s.is_u64());
            if !segments_ok {
                return Err(invalid(
                    "a claim path segment must be a string, null or a non-negative integer",
                ));
            }
            if mdoc && (claim.path.len() != 2 || claim.key_path().is_none()) {
                return Err(invalid("an mdoc claim path is [namespace, element]"));
            }
            if let Some(values) = &claim.values {
                let scalar = values
                    .iter()
                    .all(|v| v.is_string() || v.is_i64() || v.is_u64() || v.is_boolean());
                if values.is_empty() || values.len() > MAX_VALUES || !scalar {
                    return Err(invalid(
                        "values must hold 1 to 64 strings, integers or booleans",
                    ));
                }
            }
            if let Some(id) = &claim.id {
                if !valid_id(id) {
                    return Err(invalid(format!("claim id {id:?} is not valid")));
                }
                if claims.iter().take(i).any(|o| o.id.as_ref() == Some(id)) {
                    return Err(invalid(format!("claim id {id:?} repeated")));
                }
            } else if self.claim_sets.is_some() {
                return Err(invalid("with claim_sets every claim needs an id"));
            }
        }
        if let Some(sets) = &self.claim_sets {
            if sets.is_empty() || sets.len() > MAX_OPTIONS {
                return Err(invalid("claim_sets must hold 1 to 32 options"));
            }
            for set in sets {
                if set.is_empty() {
                    return Err(invalid("an empty claim set"));
                }
                if let Some(id) = set
                    .iter()
                    .find(|id| !claims.iter().any(|c| c.id.as_ref() == Some(*id)))
                {
                    return Err(invalid(format!("claim set names unknown {id:?}")));
                }
            }
        }
        Ok(())
    }

    /// The claim options in order of preference (§6.4.1): no claims is one empty option;
    /// claims without claim sets is one option of all of them.
    #[must_use]
    pub fn options(&self) -> Vec<Vec<&ClaimsQuery>> {
        let Some(claims) = &self.claims else {
            return vec![Vec::new()];
        };
        let Some(sets) = &self.claim_sets else {
            return vec![claims.iter().collect()];
        };
        sets.iter()
            .map(|set| {
                set.iter()
                    .filter_map(|id| claims.iter().find(|c| c.id.as_ref() == Some(id)))
                    .collect()
            })
            .collect()
    }

    /// Every claim the query may ask for (the union of its options).
    #[must_use]
    pub fn all_claims(&self) -> &[ClaimsQuery] {
        self.claims.as_deref().unwrap_or(&[])
    }
}

/// The OpenID4VP request parameters a presentation is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenId4VpRequest {
    /// `client_id`, with its Client Identifier Prefix (e.g. `x509_san_dns:bank.example`): the
    /// KB-JWT's `aud`, and part of the mdoc SessionTranscript.
    pub client_id: String,
    /// `nonce`.
    pub nonce: String,
    /// `response_uri` (or `redirect_uri`), part of the mdoc SessionTranscript.
    pub response_uri: String,
    /// The RFC 7638 SHA-256 thumbprint of the verifier's response encryption key, when the
    /// response is encrypted: part of the mdoc SessionTranscript (Appendix B.2.6.1).
    pub jwk_thumbprint: Option<Vec<u8>>,
    /// Over the Digital Credentials API, the verifier's Origin (Appendix A.4): the mdoc
    /// SessionTranscript is then the `OpenID4VPDCAPIHandover` over it, and `client_id` is
    /// `origin:<Origin>` (the KB-JWT's `aud`).
    pub origin: Option<String>,
}

impl OpenId4VpRequest {
    /// The parameters of a request answered in the clear.
    #[must_use]
    pub fn new(client_id: &str, nonce: &str, response_uri: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            nonce: nonce.to_owned(),
            response_uri: response_uri.to_owned(),
            jwk_thumbprint: None,
            origin: None,
        }
    }

    /// The parameters of a presentation over the Digital Credentials API from `origin`:
    /// `client_id` (the audience) `origin:<origin>`, no `response_uri`.
    #[must_use]
    pub fn dc_api(origin: &str, nonce: &str, jwk_thumbprint: Option<Vec<u8>>) -> Self {
        Self {
            client_id: format!("origin:{origin}"),
            nonce: nonce.to_owned(),
            response_uri: String::new(),
            jwk_thumbprint,
            origin: Some(origin.to_owned()),
        }
    }
}

/// Whether a claim value matches a Claims Query's `values` (§6.3: same type and value).
pub(crate) fn value_matches(query: &ClaimsQuery, value: &Value) -> bool {
    query
        .values
        .as_ref()
        .is_none_or(|values| values.iter().any(|v| v == value))
}

/// A VP Token (§8.1): a JSON object from Credential Query id to a non-empty array of
/// presentations.
pub type VpToken = Map<String, Value>;

/// The largest VP Token [`parse_vp_token`] reads: [`MAX_PRESENTATIONS`] presentations of up
/// to 1 MiB each (an SD-JWT VC with a portrait is about 40 KB).
pub const MAX_VP_TOKEN_BYTES: usize = MAX_PRESENTATIONS * 1024 * 1024;

/// Reads a VP Token (OpenID4VP 1.0 §8.1: a JSON object from credential query ids to non-empty
/// arrays of presentations) in one bounded pass: at most [`MAX_VP_TOKEN_BYTES`], 32 ids and
/// [`MAX_PRESENTATIONS`] presentations per id, each a string. Nothing else is built, so the
/// heap it costs is the presentations' own bytes and a constant (a `serde_json::Value` of the
/// same text would cost tens of times its size for an array of tiny items).
///
/// # Errors
/// [`KmidError::VpTokenMismatch`] naming what is wrong.
pub fn parse_vp_token(bytes: &[u8]) -> Result<VpToken, KmidError> {
    if bytes.len() > MAX_VP_TOKEN_BYTES {
        return Err(KmidError::VpTokenMismatch(format!(
            "larger than {MAX_VP_TOKEN_BYTES} bytes"
        )));
    }
    let parsed: BoundedVpToken = serde_json::from_slice(bytes).map_err(|e| {
        KmidError::VpTokenMismatch(format!(
            "not an object of presentation arrays (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    Ok(parsed.0)
}

/// A VP Token read under the limits of [`parse_vp_token`].
struct BoundedVpToken(VpToken);

impl<'de> Deserialize<'de> for BoundedVpToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TokenVisitor)
    }
}

struct TokenVisitor;

impl<'de> serde::de::Visitor<'de> for TokenVisitor {
    type Value = BoundedVpToken;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a VP Token object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut token = VpToken::new();
        while let Some(id) = map.next_key::<String>()? {
            if token.len() >= MAX_CREDENTIALS {
                return Err(A::Error::custom("too many credential ids"));
            }
            let presentations = map.next_value::<Presentations>()?;
            if token.insert(id, Value::Array(presentations.0)).is_some() {
                return Err(A::Error::custom("a credential id twice"));
            }
        }
        Ok(BoundedVpToken(token))
    }
}

/// One id's presentations: strings, at most [`MAX_PRESENTATIONS`].
struct Presentations(Vec<Value>);

impl<'de> Deserialize<'de> for Presentations {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(PresentationsVisitor)
    }
}

struct PresentationsVisitor;

impl<'de> serde::de::Visitor<'de> for PresentationsVisitor {
    type Value = Presentations;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an array of presentations")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut out = Vec::new();
        while let Some(p) = seq.next_element::<String>()? {
            if out.len() >= MAX_PRESENTATIONS {
                return Err(A::Error::custom("too many presentations"));
            }
            out.push(Value::String(p));
        }
        Ok(Presentations(out))
    }
}
