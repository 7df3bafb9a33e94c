#!/usr/bin/env python3
"""pylongfellow (PyPI; Google's C++ and ISRG's Rust Longfellow behind one API) as kmid's ZK peer.

    zk_peer.py prove BACKEND JOB     prove with BACKEND (google-cpp | isrg-rust) what JOB (a JSON
                                     file) describes; print the proof as hex
    zk_peer.py verify BACKEND JOB    verify JOB's "proof" (hex) with BACKEND; print
                                     {"valid": bool, "error": str}
    zk_peer.py bench BACKEND JOB N   verify (and, with "mdoc" in JOB, prove) N times; print
                                     {"verify_s": [...], "prove_s": [...], "max_rss_kib": int}

A JOB holds: "circuit" (path of the compressed circuit file), "version", "num_attributes",
"mdoc" (hex DeviceResponse, to prove), "issuer_x"/"issuer_y" (hex, big-endian), "transcript"
(hex SessionTranscript), "claims" ([{namespace, id, cbor_value (hex)}]), "time" (RFC 3339, UTC),
"doctype", "device_namespaces" (hex, default a0), "proof" (hex, to verify).

Driven by crates/kmid/tests/interop_zk.rs and crates/kmid-zk/benches/zk.rs.
"""
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from pylongfellow import Pylongfellow
from pylongfellow.mdoc import PublicKey, RequestedAttribute


def load(job_path):
    job = json.loads(Path(job_path).read_text())
    job["pk"] = PublicKey(int(job["issuer_x"], 16), int(job["issuer_y"], 16))
    job["claim_list"] = [
        RequestedAttribute(c["namespace"], c["id"], bytes.fromhex(c["cbor_value"]))
        for c in job["claims"]
    ]
    job["ts"] = datetime.fromisoformat(job["time"].replace("Z", "+00:00"))
    job["dns"] = bytes.fromhex(job.get("device_namespaces", "a0"))
    return job


def instance(backend, job):
    lf = Pylongfellow(backend=backend)
    lf.load_circuit(Path(job["circuit"]).read_bytes(), job["version"], job["num_attributes"])
    return lf


def prove(lf, job):
    return lf.prove(
        bytes.fromhex(job["mdoc"]),
        job["pk"],
        bytes.fromhex(job["transcript"]),
        job["claim_list"],
        job["ts"],
    )


def verify(lf, job, proof):
    lf.verify(
        job["pk"],
        bytes.fromhex(job["transcript"]),
        job["claim_list"],
        job["ts"],
        proof,
        job["doctype"],
        device_namespaces=job["dns"],
    )


def main():
    command, backend, job_path = sys.argv[1:4]
    job = load(job_path)
    lf = instance(backend, job)
    if command == "prove":
        print(prove(lf, job).hex())
    elif command == "verify":
        try:
            verify(lf, job, bytes.fromhex(job["proof"]))
            print(json.dumps({"valid": True, "error": ""}))
        except Exception as e:  # the verifier's refusal, whatever its class
            print(json.dumps({"valid": False, "error": f"{type(e).__name__}: {e}"}))
    elif command == "bench":
        n = int(sys.argv[4])
        proof = bytes.fromhex(job["proof"])
        verify(lf, job, proof)  # warm-up (lazy initialisation in isrg-rust)
        verify_s, prove_s = [], []
        for _ in range(n):
            t = time.perf_counter()
            verify(lf, job, proof)
            verify_s.append(time.perf_counter() - t)
        if job.get("mdoc"):
            prove(lf, job)
            for _ in range(n):
                t = time.perf_counter()
                prove(lf, job)
                prove_s.append(time.perf_counter() - t)
        # VmHWM: this process's own peak (ru_maxrss would carry the parent's over the exec).
        rss = next(
            int(line.split()[1])
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
        print(json.dumps({"verify_s": verify_s, "prove_s": prove_s, "max_rss_kib": rss}))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
