//! Longfellow mdoc proofs: kmid next to pylongfellow's two backends (Google's C++ and ISRG's
//! Rust), in the same run, on the same statement (the v7 one-attribute vector of
//! test-vectors/longfellow: its presentation, its proof by the Google C++ prover).
//!
//! For each: verification time (median of N after a warm-up), proving time where it proves,
//! and memory — for kmid the heap live at once while verifying (dhat) and the circuits' heap,
//! for every party the peak resident size of its process. The peers run when
//! `KMID_INTEROP_PYTHON` names the interop virtualenv's python (`interop/setup.sh`).
//!
//! Run with `cargo bench -p kmid-zk --bench zk [-- N]`; the table is printed and written to
//! `target/zk-report.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::as_conversions,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use kmid_cbor::{CborLimits, decode};
use kmid_crypto::{CryptoProvider, SystemRandom};
use kmid_zk::mdoc::{
    Attribute, Credential, MdocCircuits, MdocProver, MdocVerifier, Statement, Timestamp, Version,
    find_spec,
};
use serde_json::{Value, json};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/longfellow/mdoc")
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The process's peak resident set (Linux `VmHWM`), KiB.
fn max_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let provider = CryptoProvider::get_default();
    let circuit_path = vectors().join("circuits/google-v7-1attr.circuit");
    let meta = read_json(&vectors().join("proofs/google-cpp-mdl-mustermann-v7-1attr.json"));
    let proof =
        std::fs::read(vectors().join("proofs/google-cpp-mdl-mustermann-v7-1attr.proof")).unwrap();
    let presentation = read_json(&vectors().join("presentations/mdl-mustermann.json"));

    // kmid: load (once per process), then verify.
    let compressed = std::fs::read(&circuit_path).unwrap();
    let t = Instant::now();
    let (verifier, circuits_heap) = {
        let _profiler = dhat::Profiler::builder().testing().build();
        let circuits =
            MdocCircuits::load(provider, find_spec(Version::V7, 1).unwrap(), &compressed).unwrap();
        let verifier = MdocVerifier::new(circuits).unwrap();
        (verifier, dhat::HeapStats::get().curr_bytes)
    };
    let load_s = t.elapsed().as_secs_f64();
    let hex32 = |k: &str| -> [u8; 32] {
        hex::decode(meta[k].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let (x, y) = (hex32("issuer_public_key_x"), hex32("issuer_public_key_y"));
    let claim = &meta["claims"][0];
    let value = hex::decode(claim["cbor_value"].as_str().unwrap()).unwrap();
    let attributes = [Attribute {
        namespace: claim["namespace"].as_str().unwrap(),
        identifier: claim["id"].as_str().unwrap(),
        value: &value,
    }];
    let transcript = hex::decode(meta["transcript"].as_str().unwrap()).unwrap();
    let time = meta["timestamp"].as_str().unwrap().replace("+00:00", "Z");
    let statement = Statement {
        issuer_x: &x,
        issuer_y: &y,
        session_transcript: &transcript,
        doc_type: meta["doctype"].as_str().unwrap(),
        device_namespaces: &[0xa0],
        attributes: &attributes,
        now: Timestamp::parse(&time).unwrap(),
    };
    verifier.verify(provider, &statement, &proof).unwrap();
    let verify_heap = {
        let _profiler = dhat::Profiler::builder().testing().build();
        verifier.verify(provider, &statement, &proof).unwrap();
        dhat::HeapStats::get().max_bytes
    };
    let times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            black_box(verifier.verify(provider, &statement, &proof)).unwrap();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let kmid_verify = median(times);

    // kmid proves the same statement from the presentation's DeviceResponse.
    let response = hex::decode(presentation["mdoc"].as_str().unwrap()).unwrap();
    let limits = CborLimits::default();
    let r = decode(&response, &limits).unwrap();
    let doc = &r.get("documents").unwrap().as_array().unwrap()[0];
    let issuer_signed = doc.get("issuerSigned").unwrap();
    let auth = issuer_signed.get("issuerAuth").unwrap().as_array().unwrap();
    let item = issuer_signed.get("nameSpaces").unwrap().as_map().unwrap()[0]
        .1
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            let inner = decode(x.as_embedded_cbor().unwrap(), &limits).unwrap();
            inner.get("elementIdentifier").unwrap().as_text() == Some("issue_date")
        })
        .unwrap()
        .raw;
    let device_sig = doc
        .get("deviceSigned")
        .unwrap()
        .get("deviceAuth")
        .unwrap()
        .get("deviceSignature")
        .unwrap()
        .as_array()
        .unwrap()[3]
        .as_bytes()
        .unwrap();
    let items = [item];
    let credential = Credential {
        issuer_protected: auth[0].as_bytes().unwrap(),
        issuer_payload: auth[2].as_bytes().unwrap(),
        issuer_signature: auth[3].as_bytes().unwrap(),
        device_signature: device_sig,
        items: &items,
    };
    let circuits =
        MdocCircuits::load(provider, find_spec(Version::V7, 1).unwrap(), &compressed).unwrap();
    let prover = MdocProver::new(circuits).unwrap();
    let proof_len = prover
        .prove(provider, &SystemRandom, &statement, &credential)
        .unwrap()
        .len();
    let prove_heap = {
        let _profiler = dhat::Profiler::builder().testing().build();
        black_box(prover.prove(provider, &SystemRandom, &statement, &credential)).unwrap();
        dhat::HeapStats::get().max_bytes
    };
    let times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            black_box(prover.prove(provider, &SystemRandom, &statement, &credential)).unwrap();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let kmid_prove = median(times);
    let kmid_rss = max_rss_kib();

    // The peers, each in its own process.
    let mut rows = vec![(
        "kmid".to_owned(),
        Some(kmid_verify),
        Some(kmid_prove),
        Some(kmid_rss),
    )];
    match std::env::var_os("KMID_INTEROP_PYTHON") {
        Some(python) => {
            let job = json!({
                "circuit": circuit_path,
                "version": 7,
                "num_attributes": 1,
                "mdoc": presentation["mdoc"],
                "issuer_x": meta["issuer_public_key_x"],
                "issuer_y": meta["issuer_public_key_y"],
                "transcript": meta["transcript"],
                "claims": meta["claims"],
                "time": time,
                "doctype": meta["doctype"],
                "device_namespaces": "a0",
                "proof": hex::encode(&proof),
            });
            let job_path =
                std::env::temp_dir().join(format!("kmid-zk-bench-{}.json", std::process::id()));
            std::fs::write(&job_path, job.to_string()).unwrap();
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/zk_peer.py");
            for backend in ["google-cpp", "isrg-rust"] {
                let out = Command::new(&python)
                    .args([script, "bench", backend])
                    .arg(&job_path)
                    .arg(n.to_string())
                    .output()
                    .unwrap();
                if !out.status.success() {
                    eprintln!("{backend}: {}", String::from_utf8_lossy(&out.stderr));
                    continue;
                }
                let r: Value = serde_json::from_slice(&out.stdout).unwrap();
                let list = |k: &str| -> Vec<f64> {
                    r[k].as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect()
                };
                let prove = list("prove_s");
                rows.push((
                    format!("pylongfellow {backend}"),
                    Some(median(list("verify_s"))),
                    (!prove.is_empty()).then(|| median(prove)),
                    r["max_rss_kib"].as_u64(),
                ));
            }
            std::fs::remove_file(&job_path).ok();
        }
        None => {
            eprintln!("KMID_INTEROP_PYTHON is not set: pylongfellow's backends are not measured")
        }
    }

    let ms = |v: Option<f64>| v.map_or("—".to_owned(), |s| format!("{:.0} ms", s * 1000.0));
    let mib = |k: Option<u64>| {
        k.map_or("—".to_owned(), |k| {
            format!("{:.0} MiB", k as f64 / 1024.0)
        })
    };
    let mut report = format!(
        "# Longfellow mdoc proof, v7, 1 attribute (median of {n}, same run)\n\n\
         | | verify | prove | peak RSS of the process |\n|---|---|---|---|\n"
    );
    for (name, verify, prove, rss) in &rows {
        report.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            ms(*verify),
            ms(*prove),
            mib(*rss)
        ));
    }
    report.push_str(&format!(
        "\nkmid: circuits loaded in {:.0} ms, {:.0} MiB of heap; heap peak of one verification {:.1} MiB, \
         of one proof {:.1} MiB; its proofs are {} bytes.\n",
        load_s * 1000.0,
        circuits_heap as f64 / 1048576.0,
        verify_heap as f64 / 1048576.0,
        prove_heap as f64 / 1048576.0,
        proof_len,
    ));
    println!("{report}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/zk-report.md");
    std::fs::write(out, report).ok();
}
