//! The facade's error: which layer refused, with that layer's exact error.

use kmid_crypto::CryptoError;
use kmid_mdoc::MdocError;
use kmid_schema::CardType;
use kmid_sdjwt::SdJwtError;
use kmid_status::StatusListError;

/// Why issuing, holding or verifying failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmidError {
    /// The card is not this authority's to issue.
    #[error("a {card:?} card is not issued by {authority}")]
    WrongAuthority {
        /// The card's type.
        card: CardType,
        /// The issuer's authority.
        authority: &'static str,
    },
    /// The holder is younger than the mobile card's minimum age (17 for the resident card,
    /// 14 for the others).
    #[error("the holder is {age}; the mobile card needs {minimum}")]
    NotEligible {
        /// The minimum age.
        minimum: u32,
        /// The holder's age at issuance.
        age: u32,
    },
    /// An issuance channel refused a step.
    #[error("issuance channel: {0}")]
    Channel(#[from] crate::channels::ChannelError),
    /// The physical card has expired (or expires today) at issuance time.
    #[error("the card expired on {0}")]
    CardExpired(time::Date),
    /// The wallet holds no credential of that type and format.
    #[error("the wallet holds no {0} credential of that type")]
    NotHeld(&'static str),
    /// A credential offered to the wallet is not bound to the wallet's device key.
    #[error("the credential is bound to another device key")]
    NotOurKey,
    /// A presentation disclosed a claim the request did not ask for.
    #[error("the presentation discloses {0}, which was not requested")]
    NotRequested(String),
    /// A request the wallet will not answer (an empty claim path asks for everything).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A DCQL query breaks a rule of OpenID4VP 1.0 §6.
    #[error("invalid DCQL query: {0}")]
    InvalidDcql(String),
    /// A VP Token does not answer its query: a required credential or claim is missing, or
    /// its shape is wrong.
    #[error("the VP Token does not answer the query: {0}")]
    VpTokenMismatch(String),
    /// A verification record with the registration number needs a legal basis.
    #[error("a record holding the registration number needs a legal basis")]
    LegalBasisRequired,
    /// The mdoc layer refused.
    #[error("mdoc: {0}")]
    Mdoc(#[from] MdocError),
    /// The SD-JWT VC layer refused.
    #[error("SD-JWT VC: {0}")]
    SdJwt(#[from] SdJwtError),
    /// The status layer refused.
    #[error("status: {0}")]
    Status(#[from] StatusListError),
    /// A key or certificate operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// A batch item was not verified: verifying it panicked (in a resolver, fetcher or
    /// signature backend the caller supplied), or the thread verifying it stopped.
    #[error("not verified: verifying this batch item panicked")]
    Unverified,
}

impl KmidError {
    /// A stable machine-readable code: the path of variant names from this error down to the
    /// layer's own, e.g. `SdJwt.KeyBinding.NonceMismatch` or `Mdoc.IssuerAuth.Signature`.
    /// Conformance vectors name their expected failures with it; a runner may compare a
    /// prefix (`SdJwt.KeyBinding`) when it only cares about the class.
    #[must_use]
    pub fn code(&self) -> String {
        variant_path(&format!("{self:?}"))
    }
}

/// The leading `Variant(Variant(Variant…` chain of a derived `Debug` rendering, joined by
/// dots; it stops at the first variant whose payload is not another variant. A struct payload
/// (`Name { … }`) is followed into its `kind` field, the one field the error structs of this
/// workspace use for a nested variant; a struct type named `…Error` adds no part of its own.
fn variant_path(debug: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut rest = debug;
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (ident, tail) = rest.split_at(end);
        if !ident.starts_with(|c: char| c.is_ascii_uppercase()) {
            break;
        }
        if let Some(fields) = tail.strip_prefix(" {") {
            if !ident.ends_with("Error") {
                parts.push(ident);
            }
            match kind_field(fields) {
                Some(value) => rest = value,
                None => break,
            }
            continue;
        }
        parts.push(ident);
        match tail.strip_prefix('(') {
            Some(inner) => rest = inner,
            None => break,
        }
    }
    parts.join(".")
}

/// The value of the `kind` field among the fields of a struct rendering (the text after
/// `Name {`): only a field of this struct, never text inside a string (which may carry what
/// an attacker sent) or inside a nested value.
fn kind_field(fields: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut field_start = true;
    for (at, c) in fields.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 0 && field_start && c != ' ' {
            if let Some(value) = fields.get(at..).and_then(|f| f.strip_prefix("kind: ")) {
                return Some(value);
            }
            field_start = false;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
            }
            ',' if depth == 0 => field_start = true,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_variant_path() {
        assert_eq!(
            KmidError::SdJwt(SdJwtError::KeyBinding(
                kmid_sdjwt::KeyBindingError::NonceMismatch
            ))
            .code(),
            "SdJwt.KeyBinding.NonceMismatch"
        );
        assert_eq!(
            KmidError::NotRequested("given_name".into()).code(),
            "NotRequested"
        );
        assert_eq!(KmidError::NotOurKey.code(), "NotOurKey");
        assert_eq!(
            variant_path("Mdoc(Digest(Mismatch { namespace: \"x\" }))"),
            "Mdoc.Digest.Mismatch"
        );
        assert_eq!(variant_path("Status(Suspended)"), "Status.Suspended");
        assert_eq!(variant_path("InvalidDcql(\"x\")"), "InvalidDcql");
        assert_eq!(
            variant_path("Mdoc(Cbor(CborError { at: 16, kind: TooDeep(16) }))"),
            "Mdoc.Cbor.TooDeep"
        );
        assert_eq!(
            variant_path("SdJwt(Disclosure { index: 3, kind: Repeated })"),
            "SdJwt.Disclosure.Repeated"
        );
        // What an attacker wrote stays data: a string, or a field before `kind`.
        assert_eq!(
            variant_path("SdJwt(WrongType { expected: \"x\", found: Some(\"kind: Valid\") })"),
            "SdJwt.WrongType"
        );
        assert_eq!(
            variant_path(
                "Mdoc(Digest(Missing { namespace: \"a, kind: Forged\", element: \"e\" }))"
            ),
            "Mdoc.Digest.Missing"
        );
        assert_eq!(
            variant_path("X(Y { inner: Z { kind: Deep }, kind: Top })"),
            "X.Y.Top"
        );
        assert_eq!(
            variant_path("SdJwt(Limit { kind: Disclosures, max: 512, actual: 600 })"),
            "SdJwt.Limit.Disclosures"
        );
    }
}
