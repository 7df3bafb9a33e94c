#!/usr/bin/env python3
"""pymdoccbor (PyPI, IdentityPython) as kmid's mdoc peer.

    mdoc_peer.py verify DIR [IACA]
                              verify DIR/response.cbor (a DeviceResponse) against the IACA in
                              IACA (default DIR/iaca.pem): the issuer signature, the DS
                              certificate under the IACA at the current time, and every
                              disclosed element's digest; print {"valid", "hashes_valid",
                              "claims"} as JSON

    mdoc_peer.py issue DIR    issue an mdoc with pymdoccbor's MdocCborIssuer from DIR/params.json
                              (docType, claims by namespace, the Document Signer's P-256 key as
                              base64url d/x/y, the holder's device key x/y, validity dates and a
                              status list reference, optional) and the Document Signer
                              certificate at params "ds_cert" (default DIR/ds.pem); write its
                              IssuerSigned to DIR/issuer-signed.cbor

Driven by crates/kmid/tests/interop_mdoc.rs. pymdoccbor does not check device authentication
or the MSO's validity window, and cannot present (it builds no DeviceResponse with
DeviceSigned), so kmid's wallet presents what pymdoccbor issued.
"""
import base64
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


def verify(d, iaca=None):
    logging.disable(logging.CRITICAL)
    with open(os.path.join(d, "response.cbor"), "rb") as f:
        response = f.read()
    with open(iaca or os.path.join(d, "iaca.pem"), "rb") as f:
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


def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(d):
    import cbor2
    from pymdoccbor.mdoc.issuer import MdocCborIssuer

    logging.disable(logging.CRITICAL)
    with open(os.path.join(d, "params.json"), encoding="utf-8") as f:
        params = json.load(f)
    ds = params["ds_key"]
    issuer = MdocCborIssuer(
        private_key={1: 2, 3: -7, -1: 1, -2: b64(ds["x"]), -3: b64(ds["y"]), -4: b64(ds["d"])},
        alg="ES256",
    )
    device = params["device_key"]
    signed = issuer.new(
        data=params["claims"],
        doctype=params["doc_type"],
        validity=params["validity"],
        devicekeyinfo={1: 2, -1: 1, -2: b64(device["x"]), -3: b64(device["y"])},
        cert_path=params.get("ds_cert") or os.path.join(d, "ds.pem"),
        revocation={"status_list": params["status"]} if "status" in params else None,
    )
    issuer_signed = signed["documents"][0]["issuerSigned"]
    with open(os.path.join(d, "issuer-signed.cbor"), "wb") as f:
        f.write(cbor2.dumps(issuer_signed))


if __name__ == "__main__":
    {"verify": verify, "issue": issue}[sys.argv[1]](*sys.argv[2:])
