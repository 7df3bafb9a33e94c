//! The witness against the published circuits themselves: evaluating a circuit on a witness
//! leaves every output zero only if the witness is right.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::as_conversions
)]

use std::sync::OnceLock;

use kmid_crypto::Signer as _;
use kmid_crypto::{CryptoProvider, Curve, HashAlgorithm, PrivateKey};

use super::scalar::U256;
use super::signature::{self, Ecdsa};
use crate::ZkError;
use crate::field::{Fp256, Gf2_128};
use crate::mdoc::statement::{
    Attribute, Statement, Timestamp, device_signed_bytes, fp_from_be, public_inputs,
};
use crate::mdoc::{MdocCircuits, Version, find_spec};
use crate::prove::eval::evaluate;

fn v7() -> &'static MdocCircuits {
    static C: OnceLock<MdocCircuits> = OnceLock::new();
    C.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../test-vectors/longfellow/mdoc/circuits/google-v7-1attr.circuit"
        );
        let bytes = std::fs::read(path).unwrap();
        MdocCircuits::load(
            CryptoProvider::get_default(),
            find_spec(Version::V7, 1).unwrap(),
            &bytes,
        )
        .unwrap()
    })
}

fn xy(key: &PrivateKey) -> ([u8; 32], [u8; 32]) {
    let sec1 = key.public_key().to_sec1_uncompressed().unwrap();
    (
        sec1[1..33].try_into().unwrap(),
        sec1[33..65].try_into().unwrap(),
    )
}

fn ecdsa_of(key: &PrivateKey, message: &[u8]) -> (U256, Ecdsa) {
    let sig = key.sign(message).unwrap();
    let digest: [u8; 32] = HashAlgorithm::Sha256
        .digest(message)
        .unwrap()
        .try_into()
        .unwrap();
    let (x, y) = xy(key);
    let hash = U256::from_be(&digest);
    (
        hash,
        Ecdsa {
            key: (fp_from_be(&x).unwrap(), fp_from_be(&y).unwrap()),
            hash,
            r: U256::from_be(&sig[..32].try_into().unwrap()),
            s: U256::from_be(&sig[32..].try_into().unwrap()),
        },
    )
}

#[test]
fn the_signature_witness_satisfies_the_signature_circuit() {
    let issuer = PrivateKey::generate(Curve::P256).unwrap();
    let device = PrivateKey::generate(Curve::P256).unwrap();
    let (ix, iy) = xy(&issuer);
    let attributes = [Attribute {
        namespace: "org.iso.18013.5.1",
        identifier: "age_over_18",
        value: &[0xf5],
    }];
    let statement = Statement {
        issuer_x: &ix,
        issuer_y: &iy,
        session_transcript: &[0x83, 0xf6, 0xf6, 0xf6],
        doc_type: "org.iso.18013.5.1.mDL",
        device_namespaces: &[0xa0],
        attributes: &attributes,
        now: Timestamp::parse("2026-12-07T00:00:00Z").unwrap(),
    };
    // What the issuer signs (any bytes: the hash circuit, not this one, reads the MSO).
    let mso_sig_structure = b"Signature1 over some MSO".to_vec();
    let (e, issuer_sig) = ecdsa_of(&issuer, &mso_sig_structure);
    let device_message = device_signed_bytes(&statement);
    let (e2, device_sig) = ecdsa_of(&device, &device_message);
    let device_key = device_sig.key;
    let ap: [Gf2_128; 6] =
        core::array::from_fn(|i| Gf2_128(0x1234_5678_9abc_def0 * (i as u128 + 1)));
    let av = Gf2_128(0xfeed_beef << 64 | 0x0bad_cafe);
    let macs = signature::macs(e.to_fp(), device_key, &ap, av);
    let mut e2_be = [0u8; 32];
    for (i, limb) in e2.0.iter().enumerate() {
        e2_be[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
    }
    let public = public_inputs(Version::V7, &statement, &macs, av, &e2_be)
        .unwrap()
        .signature;
    let private = signature::private_inputs(e, device_key, &issuer_sig, &device_sig, &ap).unwrap();
    let circuit = &v7().signature;
    assert_eq!(private.len(), circuit.ninputs - circuit.npub_in);
    let mut inputs = public.clone();
    inputs.extend_from_slice(&private);
    evaluate(circuit, &inputs).expect("the signature circuit is satisfied");

    // A MAC tag that is not (av + ap)·m, a signature over another transcript: not satisfied.
    let mut wrong = public.clone();
    wrong[4] = wrong[4] + Fp256::ONE - wrong[4] - wrong[4];
    let mut inputs = wrong;
    inputs.extend_from_slice(&private);
    assert!(matches!(
        evaluate(circuit, &inputs),
        Err(ZkError::Statement(
            "the witness does not satisfy the circuit"
        ))
    ));
    let (_, other) = ecdsa_of(&device, b"another transcript");
    assert!(matches!(
        signature::private_inputs(
            e,
            device_key,
            &issuer_sig,
            &Ecdsa { hash: e2, ..other },
            &ap
        ),
        Err(ZkError::Statement("a signature does not verify"))
    ));
}
