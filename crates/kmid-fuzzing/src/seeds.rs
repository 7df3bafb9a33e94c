//! Seed corpora, drawn from the checked-in `test-vectors/` (and the sample cards), and the
//! deterministic mutations the stable regression test runs.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use kmid::crypto::jose::{b64url, b64url_decode};
use kmid::crypto::x509::Certificate;
use kmid::status::StatusList;
use serde_json::Value;

use crate::Target;

/// Files larger than this are not read as seeds.
const MAX_SEED_FILE: u64 = 4 * 1024 * 1024;

/// What the vectors hold, sorted by kind.
#[derive(Default)]
struct Found {
    cbor: BTreeSet<Vec<u8>>,
    sd_jwt: BTreeSet<String>,
    sd_jwt_json: BTreeSet<String>,
    jwt: BTreeSet<String>,
    jwk: BTreeSet<String>,
    pem: BTreeSet<String>,
    /// DER files (`.crl`).
    der: BTreeSet<Vec<u8>>,
}

impl Found {
    fn string(&mut self, s: &str) {
        let s = s.trim();
        if s.starts_with("ey") && s.contains('~') {
            self.sd_jwt.insert(s.to_owned());
            if let Some((_, kb)) = s.rsplit_once('~')
                && !kb.is_empty()
            {
                self.jwt.insert(kb.to_owned());
            }
        } else if s.starts_with("ey") && s.matches('.').count() == 2 {
            self.jwt.insert(s.to_owned());
        } else if s.len() >= 4
            && s.len().is_multiple_of(2)
            && s.bytes().all(|b| b.is_ascii_hexdigit())
        {
            if let Some(bytes) = hex(s) {
                self.cbor.insert(bytes);
            }
        } else if s.len() >= 40
            && let Ok(bytes) = b64url_decode(s)
        {
            self.cbor.insert(bytes);
        }
    }

    fn json(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.string(s),
            Value::Array(items) => items.iter().for_each(|v| self.json(v)),
            Value::Object(map) => {
                if map.contains_key("kty") {
                    self.jwk.insert(value.to_string());
                }
                if map.contains_key("payload") && map.contains_key("signature")
                    || map.contains_key("signatures")
                {
                    self.sd_jwt_json.insert(value.to_string());
                }
                map.values().for_each(|v| self.json(v));
            }
            _ => {}
        }
    }
}

/// Hex text as bytes; `None` for anything else.
pub(crate) fn hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

fn walk(dir: &Path, found: &mut Found) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(&path, found)?;
            continue;
        }
        if meta.len() > MAX_SEED_FILE {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let bytes = std::fs::read(&path)?;
        if name.ends_with(".cbor") || name.ends_with(".cwt") {
            found.cbor.insert(bytes);
        } else if name.ends_with(".json") {
            if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                found.json(&value);
            }
        } else if name.ends_with(".crl") {
            found.der.insert(bytes);
        } else if name.ends_with(".pem") {
            found
                .pem
                .insert(String::from_utf8_lossy(&bytes).into_owned());
        } else if name.ends_with(".sdjwt") || name.ends_with(".txt") || name.ends_with(".jwt") {
            found.string(&String::from_utf8_lossy(&bytes));
        }
    }
    Ok(())
}

/// Frames certificates as the `x5chain` target reads them: each after its 2-byte length.
#[must_use]
pub fn frame_chain(ders: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for der in ders {
        let len = u16::try_from(der.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(der);
    }
    out
}

/// The seeds of `target`, from the vectors under `test_vectors` and the sample cards; sorted
/// and without duplicates, so every run sees the same corpus.
///
/// # Errors
/// When the folder cannot be read.
pub fn seeds(target: Target, test_vectors: &Path) -> io::Result<Vec<Vec<u8>>> {
    let mut found = Found::default();
    walk(test_vectors, &mut found)?;
    let mut out: BTreeSet<Vec<u8>> = BTreeSet::new();
    let certs: Vec<Certificate> = found
        .pem
        .iter()
        .filter_map(|pem| Certificate::from_pem(pem).ok())
        .collect();
    let texts = |set: &BTreeSet<String>| -> Vec<Vec<u8>> {
        set.iter().map(|s| s.as_bytes().to_vec()).collect()
    };
    match target {
        Target::MdocDeviceResponse
        | Target::MdocDeviceRequest
        | Target::MdocIssuerSigned
        | Target::MdocSession
        | Target::MdocRoundTrip => out.extend(found.cbor.iter().cloned()),
        Target::MdocEngagement => {
            for cbor in &found.cbor {
                out.insert(cbor.clone());
                out.insert(format!("mdoc:{}", b64url(cbor)).into_bytes());
            }
        }
        Target::SdJwtParse | Target::SdJwtRoundTrip => {
            out.extend(texts(&found.sd_jwt));
            out.extend(texts(&found.sd_jwt_json));
        }
        Target::SdJwtVcVerify => out.extend(texts(&found.sd_jwt)),
        Target::KbJwtVerify => out.extend(texts(&found.jwt)),
        Target::StatusListToken => {
            out.extend(texts(&found.jwt));
            out.extend(
                found
                    .cbor
                    .iter()
                    .filter(|c| c.first() == Some(&0xD2))
                    .cloned(),
            );
        }
        Target::StatusListRoundTrip => {
            for (code, bits) in [(0u8, 1u8), (1, 2), (2, 4), (3, 8)] {
                if let Ok(mut list) = StatusList::new(bits, 1024) {
                    for i in (0..1024).step_by(7) {
                        let _ = list.set(i, 1);
                    }
                    if let Ok(z) = list.compress() {
                        let mut seed = vec![code];
                        seed.extend(z);
                        out.insert(seed);
                    }
                }
            }
        }
        Target::KeyImport => {
            out.extend(texts(&found.jwk));
            out.extend(found.cbor.iter().filter(|c| c.len() < 256).cloned());
            for cert in &certs {
                if let Ok(spki) = cert.public_key().to_spki_der() {
                    out.insert(spki);
                }
            }
        }
        Target::X5Chain => {
            for leaf in &certs {
                out.insert(frame_chain(&[leaf.der()]));
                for root in &certs {
                    out.insert(frame_chain(&[leaf.der(), root.der()]));
                }
            }
            for cbor in found.cbor.iter().filter(|c| c.first() == Some(&0x30)) {
                out.insert(frame_chain(&[cbor]));
            }
        }
        Target::Crl => {
            let world = crate::trust_world::get();
            out.insert(world.crl_seed.clone());
            out.extend(found.der.iter().cloned());
            out.extend(
                found
                    .cbor
                    .iter()
                    .filter(|c| c.first() == Some(&0x30))
                    .cloned(),
            );
        }
        Target::Vical => {
            out.insert(crate::trust_world::get().vical_seed.clone());
        }
        Target::TrustConfig => {
            for text in TRUST_CONFIG_SEEDS {
                out.insert(text.as_bytes().to_vec());
            }
        }
        Target::IssuerMetadata => {
            for key in &found.jwk {
                for issuer in ["https://issuer.example", "https://other.example"] {
                    if let Ok(jwk) = serde_json::from_str::<Value>(key) {
                        out.insert(
                            serde_json::json!({ "issuer": issuer, "jwks": { "keys": [jwk] } })
                                .to_string()
                                .into_bytes(),
                        );
                    }
                }
            }
            out.insert(
                br#"{"issuer":"https://issuer.example","jwks_uri":"https://issuer.example/jwks"}"#
                    .to_vec(),
            );
        }
        Target::Oid4vpRequestObject => {
            out.insert(
                crate::online_world::get()
                    .request_object
                    .clone()
                    .into_bytes(),
            );
        }
        Target::Oid4vpRequestUrl => {
            for url in &crate::online_world::get().request_urls {
                out.insert(url.clone().into_bytes());
            }
        }
        Target::Oid4vpResponse => {
            for body in &crate::online_world::get().responses {
                out.insert(body.clone().into_bytes());
            }
            let vectors = test_vectors.join("openid4vp-1.0/vectors.json");
            if let Ok(bytes) = std::fs::read(vectors)
                && let Ok(value) = serde_json::from_slice::<Value>(&bytes)
                && let Some(jwe) = crate::online_world::example_jwe(&value)
            {
                out.insert(jwe.into_bytes());
            }
        }
        Target::DcApi => {
            let world = crate::online_world::get();
            for request in &world.dc_api_requests {
                out.insert(request.to_string().into_bytes());
            }
            out.insert(world.dc_api_response.to_string().into_bytes());
        }
        Target::VciOffer => out.extend(crate::vci_world::get().offers.iter().cloned()),
        Target::VciMetadata => {
            out.extend(crate::vci_world::get().metadata.iter().cloned());
            for name in [
                "credential_issuer_metadata_sd_jwt_long.json",
                "credential_offer_multiple_credentials.json",
            ] {
                if let Ok(bytes) = std::fs::read(test_vectors.join("openid4vci-1.0").join(name)) {
                    out.insert(bytes);
                }
            }
        }
        Target::DpopProof => {
            out.extend(crate::vci_world::get().dpop_proofs.iter().cloned());
            if let Ok(bytes) = std::fs::read(test_vectors.join("rfc9449/vectors.json"))
                && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
                && let Some(proof) = v.get("proof").and_then(Value::as_str)
            {
                out.insert(proof.as_bytes().to_vec());
            }
        }
        Target::VciProofs => out.extend(crate::vci_world::get().key_proofs.iter().cloned()),
        Target::ClientAttestation => {
            out.extend(crate::vci_world::get().client_attestations.iter().cloned());
        }
        Target::VciEndpoints => out.extend(crate::vci_world::get().bodies.iter().cloned()),
        Target::ZkProof => {
            let dir = test_vectors.join("longfellow/mdoc/proofs");
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "proof") {
                    out.insert(std::fs::read(path)?);
                }
            }
        }
        Target::ZkCircuit => out.extend(zk_circuit_seeds()),
        Target::AnnexC => {
            out.extend(crate::online_world::get().annex_c_seeds.iter().cloned());
        }
        Target::RegistrationAttestation => {
            out.insert(crate::online_world::get().registration.clone().into_bytes());
        }
        Target::RegistrationNumber | Target::CardJson => {
            for card in kmid_testkit::samples::all() {
                let json = serde_json::to_string(&card).unwrap_or_default();
                if target == Target::CardJson {
                    out.insert(json.into_bytes());
                } else {
                    out.extend(registration_numbers(&json));
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Every `YYMMDD-GNNNNNN` in `text`.
fn registration_numbers(text: &str) -> Vec<Vec<u8>> {
    let bytes = text.as_bytes();
    bytes
        .windows(14)
        .filter(|w| {
            w.iter().enumerate().all(|(i, b)| {
                if i == 6 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
        })
        .map(<[u8]>::to_vec)
        .collect()
}

/// `count` deterministic mutants of `seed`: byte flips, truncations, insertions, deletions,
/// duplicated slices and boundary bytes, from a xorshift stream seeded by `salt`.
#[must_use]
pub fn mutants(seed: &[u8], count: usize, salt: u64) -> Vec<Vec<u8>> {
    let mut state = salt ^ 0x9E37_79B9_7F4A_7C15 ^ seed.len().try_into().unwrap_or(0u64);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut m = seed.to_vec();
        let ops = 1 + next() % 3;
        for _ in 0..ops {
            let len = u64::try_from(m.len()).unwrap_or(u64::MAX);
            let at = usize::try_from(if len == 0 { 0 } else { next() % len }).unwrap_or(0);
            match next() % 7 {
                0 => {
                    if let Some(b) = m.get_mut(at) {
                        *b ^= 1 << (next() % 8);
                    }
                }
                1 => m.truncate(at),
                2 => m.insert(
                    at.min(m.len()),
                    next().to_le_bytes().first().copied().unwrap_or(0),
                ),
                3 => {
                    if at < m.len() {
                        m.remove(at);
                    }
                }
                4 => {
                    let end = at.saturating_add(16).min(m.len());
                    let slice = m.get(at..end).map(<[u8]>::to_vec).unwrap_or_default();
                    m.splice(at..at, slice);
                }
                5 => {
                    if let Some(b) = m.get_mut(at) {
                        const BOUNDARY: [u8; 9] =
                            [0x00, 0xFF, 0x7F, 0x80, 0x1B, 0x5F, 0x9F, 0xBF, 0xD8];
                        let pick = usize::try_from(next() % 9).unwrap_or(0);
                        *b = BOUNDARY.get(pick).copied().unwrap_or(0);
                    }
                }
                _ => {
                    if let Some(b) = m.get_mut(at) {
                        *b = b.wrapping_add(1);
                    }
                }
            }
        }
        out.push(m);
    }
    out
}

/// Trust configurations as `spec/trust.md` and `kmid keys issuers` write them.
const TRUST_CONFIG_SEEDS: &[&str] = &[
    "[[anchor]]\nfile = \"mois-iaca.pem\"\npurposes = [\"mdoc-issuer\", \"sd-jwt-vc-issuer\", \"status-list-signer\"]\nscopes = [\"kr.go.mois.rrc.1\"]\ncrl = \"hard-fail\"\n",
    "metadata_issuers = [\"https://issuer.example\"]\n\n[[issuer]]\niss = \"https://issuer.example\"\njwks = \"issuer.jwks.json\"\npurposes = [\"sd-jwt-vc-issuer\"]\n",
    "[[vical]]\nfile = \"korea.vical\"\nanchor = \"vical-root.pem\"\npurposes = [\"mdoc-issuer\"]\n",
    r#"{"anchor": [{"file": "roots", "purposes": ["reader"], "scopes": ["*"], "crl": "soft-fail"}]}"#,
];

/// Small circuits over both fields (the published ones decompress to ~100 MB), one of them as a
/// zstd frame, and the head of a published file.
fn zk_circuit_seeds() -> Vec<Vec<u8>> {
    use kmid_zk::circuit::{Circuit, Layer, Term};
    use kmid_zk::field::{Field, Fp256, Gf2_128};
    fn small<F: Field>() -> Circuit<F> {
        let term = |g, h0, h1, v| Term { g, h0, h1, v };
        Circuit {
            nv: 2,
            logv: 1,
            nc: 1,
            logc: 0,
            ninputs: 5,
            npub_in: 2,
            subfield_boundary: 3,
            constants: vec![F::ONE, F::ZERO, -F::ONE],
            layers: vec![
                Layer {
                    logw: 2,
                    nw: 4,
                    terms: vec![term(0, 0, 1, 0), term(1, 3, 2, 1)],
                },
                Layer {
                    logw: 3,
                    nw: 5,
                    terms: vec![term(0, 0, 4, 2), term(2, 1, 1, 0), term(3, 4, 0, 1)],
                },
            ],
            id: [0x5a; 32],
        }
    }
    let mut out = Vec::new();
    let fp = small::<Fp256>().write().unwrap_or_default();
    let gf = small::<Gf2_128>().write().unwrap_or_default();
    out.push([fp.as_slice(), gf.as_slice()].concat());
    out.push(fp);
    out.push(gf);
    if let Ok(file) =
        std::fs::read(crate::zk_world::vectors().join("circuits/google-v7-1attr.circuit"))
    {
        out.push(file.get(..4096).unwrap_or_default().to_vec());
    }
    out
}
