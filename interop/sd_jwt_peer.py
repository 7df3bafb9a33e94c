#!/usr/bin/env python3
"""The Python reference SD-JWT implementation (PyPI sd-jwt) as kmid's peer.

    sd_jwt_peer.py verify DIR   verify DIR/presentation.txt (issuer key DIR/issuer.jwk.json,
                                KB over DIR/nonce.txt and DIR/aud.txt); print the processed
                                payload as JSON
    sd_jwt_peer.py issue DIR    issue an SD-JWT with DIR/issuer-private.jwk.json to the holder
                                key DIR/holder-private.jwk.json, present family_name and
                                birthdate with a KB-JWT over DIR/nonce.txt and DIR/aud.txt,
                                write DIR/peer-presentation.txt and DIR/peer-claims.json

Driven by crates/kmid-sdjwt/tests/interop_python.rs.
"""
import json
import os
import sys

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier


def read(d, name):
    with open(os.path.join(d, name), encoding="utf-8") as f:
        return f.read().strip()


def verify(d):
    issuer = JWK.from_json(read(d, "issuer.jwk.json"))
    v = SDJWTVerifier(
        read(d, "presentation.txt"),
        lambda iss, header: issuer,
        expected_aud=read(d, "aud.txt"),
        expected_nonce=read(d, "nonce.txt"),
    )
    print(json.dumps(v.get_verified_payload(), ensure_ascii=False, sort_keys=True))


def issue(d):
    issuer = JWK.from_json(read(d, "issuer-private.jwk.json"))
    holder = JWK.from_json(read(d, "holder-private.jwk.json"))
    claims = json.loads(read(d, "claims.json"))
    user_claims = {k: v for k, v in claims.items() if k in ("iss", "iat", "exp", "vct")}
    user_claims["cnf"] = {"jwk": holder.export_public(as_dict=True)}
    for k in ("family_name", "given_name", "birthdate"):
        user_claims[SDObj(k)] = claims[k]
    user_claims["address"] = {SDObj(k): v for k, v in claims["address"].items()}
    sd = SDJWTIssuer(
        user_claims,
        issuer,
        holder_key=None,
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt"},
    )
    h = SDJWTHolder(sd.sd_jwt_issuance)
    h.create_presentation(
        {"family_name": True, "birthdate": True, "address": {"locality": True}},
        nonce=read(d, "nonce.txt"),
        aud=read(d, "aud.txt"),
        holder_key=holder,
        sign_alg="ES256",
    )
    with open(os.path.join(d, "peer-presentation.txt"), "w", encoding="ascii") as f:
        f.write(h.sd_jwt_presentation)


if __name__ == "__main__":
    {"verify": verify, "issue": issue}[sys.argv[1]](sys.argv[2])
