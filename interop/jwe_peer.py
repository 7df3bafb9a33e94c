#!/usr/bin/env python3
"""jwcrypto (PyPI, the JOSE library the Python SD-JWT reference uses) as kmid's JWE peer.

    jwe_peer.py decrypt DIR   decrypt DIR/jwe.txt with the private JWK DIR/recipient.jwk.json,
                              print {"header", "plaintext"} as JSON
    jwe_peer.py encrypt DIR   encrypt DIR/plaintext.txt to the public JWK DIR/recipient.jwk.json
                              with ECDH-ES and DIR/enc.txt; write DIR/peer-jwe.txt

Driven by crates/kmid-crypto/tests/jwe.rs.
"""
import json
import os
import sys

from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK


def read(d, name):
    with open(os.path.join(d, name), encoding="utf-8") as f:
        return f.read().strip()


def decrypt(d):
    key = JWK.from_json(read(d, "recipient.jwk.json"))
    token = JWE()
    token.deserialize(read(d, "jwe.txt"), key=key)
    print(json.dumps({
        "header": json.loads(token.objects["protected"]),
        "plaintext": token.payload.decode("utf-8"),
    }, sort_keys=True))


def encrypt(d):
    key = JWK.from_json(read(d, "recipient.jwk.json"))
    header = {"alg": "ECDH-ES", "enc": read(d, "enc.txt"), "kid": "peer"}
    token = JWE(read(d, "plaintext.txt").encode("utf-8"), json.dumps(header))
    token.add_recipient(key)
    with open(os.path.join(d, "peer-jwe.txt"), "w", encoding="ascii") as f:
        f.write(token.serialize(compact=True))


if __name__ == "__main__":
    {"decrypt": decrypt, "encrypt": encrypt}[sys.argv[1]](sys.argv[2])
