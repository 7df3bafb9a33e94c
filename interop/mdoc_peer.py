#!/usr/bin/env python3
"""pymdoccbor (PyPI, IdentityPython) as kmid's mdoc peer.

    mdoc_peer.py verify DIR   verify DIR/response.cbor (a DeviceResponse) against the IACA in
                              DIR/iaca.pem: the issuer signature, the DS certificate under the
                              IACA at the current time, and every disclosed element's digest;
                              print {"valid", "hashes_valid", "claims"} as JSON

Driven by crates/kmid/tests/interop_mdoc.rs. pymdoccbor does not check device authentication
or the MSO's validity window.
"""
import datetime
import json
import logging
import os
import sys

from cryptography import x509
from pymdoccbor.mdoc.verifier import MdocCbor


def plain(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def verify(d):
    logging.disable(logging.CRITICAL)
    with open(os.path.join(d, "response.cbor"), "rb") as f:
        response = f.read()
    with open(os.path.join(d, "iaca.pem"), "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    mdoc = MdocCbor()
    mdoc.loads(response)
    valid = mdoc.verify(trusted_root_certs=[root])
    hashes = [doc.hash_verification for doc in mdoc.documents]
    print(json.dumps({
        "valid": valid,
        "hashes_valid": all(h and h.get("valid") for h in hashes) and bool(hashes),
        "claims": plain(mdoc.disclosure_map),
    }, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    {"verify": verify}[sys.argv[1]](sys.argv[2])
