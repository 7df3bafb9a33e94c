#!/usr/bin/env python3
"""Extract the SD-JWT VC examples (draft-ietf-oauth-sd-jwt-vc, editor's copy of
21 August 2026) from the plain-text rendering into conformance vectors, and check them.

Usage (from anywhere):

    python3 test-vectors/sd-jwt-vc-draft/extract.py [PATH/TO/sd-jwt-vc.txt] [--out DIR]

PATH defaults to ../../../shared/reference/sd-jwt-vc.txt relative to this script's
folder (/work/shared/reference/sd-jwt-vc.txt for a checkout at /work/main). DIR defaults
to this script's folder. Standard library only.

The parsing, checking and ES256 code is shared with the RFC 9901 vectors: it is loaded
from ../sd-jwt-rfc9901/extract.py (see that file for how examples are located).
"""

import argparse
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
_spec = importlib.util.spec_from_file_location("sdjwt_engine", os.path.join(HERE, "..", "sd-jwt-rfc9901", "extract.py"))
E = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(E)

KEY1 = "doc-signer-05-25-2022"
KEY2 = "doc-signer-06-05-2025"
HOLDER = "sd-jwt-vc-holder-cnf"
CANDIDATES = [KEY1, KEY2]

BY_TRIAL = ("the document does not say which key signed this example (no kid, no x5c); "
            "issuer_key is the Figure 14 JWKS key that verified the signature")

CASES = [
    dict(id="sd-jwt-vc-2.3.1-issued", section="2.3.1", file="2.3.1-issued.sdjwt", serialization="compact",
         kind="issued", marker="The SD-JWT and the Disclosures would then be serialized by the Issuer",
         payload_marker="Figure 6 shows how the Unsecured Payload above can be used in an SD-",
         notes=["Figure 7; JOSE header kid doc-signer-05-25-2022 names a key of the JWKS in Figure 14 (Section 4.2)",
                "iss is https://example.com/issuer while the Figure 14 metadata says issuer https://example.com: the two examples are not meant to pass Section 4.3 issuer validation together"]),
    dict(id="sd-jwt-vc-2.3.2-presentation-kb", section="2.3.2", file="2.3.2-presentation-kb.sdjwt",
         serialization="compact", kind="presentation+kb",
         marker="Figure 8 is an example of a presentation of the SD-JWT shown in",
         listing_sections=["2.3.1"], payload_section="2.3.1",
         payload_marker="Figure 6 shows how the Unsecured Payload above can be used in an SD-",
         processed_marker="After validation, the Verifier will have the processed SD-JWT payload",
         notes=["Figure 8 (processed payload: Figure 9); the issuer-signed JWT is the one of Figure 7"]),
    dict(id="sd-jwt-vc-2.3.2-presentation", section="2.3.2", file="2.3.2-presentation.sdjwt",
         serialization="compact", kind="presentation",
         marker="The example in Figure 10 shows a presentation of a (similar but",
         listing_sections=["2.3.1"],
         processed_marker="The Verifier will have the following processed SD-JWT payload shown",
         notes=["Figure 10 (processed payload: Figure 11): a 'similar but different' SD-JWT: no kid and no cnf in the issuer-signed JWT, same _sd digests as Figure 6; its payload is not printed",
                BY_TRIAL]),
    dict(id="sd-jwt-vc-A.1-issued", section="A.1", file="A.1-issued.sdjwt", serialization="compact",
         kind="issued", marker="The following in Figure 24 is the issued SD-JWT:",
         payload_marker="Figure 25 is the payload of that SD-JWT:",
         notes=["Figure 24 (payload: Figure 25)", BY_TRIAL]),
    dict(id="sd-jwt-vc-A.1-presentation-kb", section="A.1", file="A.1-presentation-kb.sdjwt",
         serialization="compact", kind="presentation+kb",
         marker="Figure 26 shows a presentation of the SD-JWT with a Key Binding JWT",
         payload_marker="Figure 25 is the payload of that SD-JWT:",
         kb_payload_marker="Figure 27 is the payload of a corresponding Key Binding JWT:",
         processed_marker="After validation, the Verifier will have the processed SD-JWT payload",
         notes=["Figure 26 (KB-JWT payload: Figure 27, processed payload: Figure 28)", BY_TRIAL]),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", nargs="?",
                    default=os.path.normpath(os.path.join(HERE, "../../../shared/reference/sd-jwt-vc.txt")))
    ap.add_argument("--out", default=HERE)
    a = ap.parse_args(argv)
    doc = E.Doc(a.source)
    listings = E.parse_listings(doc)

    metadata = doc.json_at_next_brace("4.2", "Figure 14 is an example of an HTTP response carrying a JWT VC Issuer")
    printed_jwks = {k["kid"]: k for k in metadata["jwks"]["keys"]}
    jwks = {kid: {kk: vv for kk, vv in k.items() if kk != "kid"} for kid, k in printed_jwks.items()}
    holder_jwk = doc.json_after("2.3.1", "Figure 6 shows how the Unsecured Payload above can be used in an SD-")["cnf"]["jwk"]
    keys = {KEY1: {"jwk": jwks[KEY1]}, KEY2: {"jwk": jwks[KEY2]}, HOLDER: {"jwk": holder_jwk}}

    manifest, all_checks = [], {}
    for spec in CASES:
        spec = dict(spec, issuer_key_candidates=CANDIDATES, holder_key=HOLDER)
        case, checks = E.build_case(doc, spec, listings, keys, a.out)
        if case.get("kid") and case["kid"] != case["issuer_key"]:
            case["notes"] += "; WARNING: header kid %s but the signature verified with %s" % (case["kid"], case["issuer_key"])
        manifest.append(case)
        all_checks[case["id"]] = checks

    sd_jwt_a5 = {"kty": "EC", "crv": "P-256", "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
                 "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}
    key_doc = {"keys": [
        {"id": KEY1, "role": "issuer", "source": "SD-JWT VC Section 4.2, Figure 14 (JWT VC Issuer Metadata jwks, kid %s)" % KEY1,
         "jwk": printed_jwks[KEY1], "private_key_given": False,
         "thumbprint_rfc7638": E.jwk_thumbprint(jwks[KEY1]),
         "used_by": [c["id"] for c in manifest if c["issuer_key"] == KEY1],
         "note": ("the same public key as RFC 9901 Appendix A.5 (identical x and y)"
                  if (jwks[KEY1]["x"], jwks[KEY1]["y"]) == (sd_jwt_a5["x"], sd_jwt_a5["y"])
                  else "differs from RFC 9901 Appendix A.5")},
        {"id": KEY2, "role": "issuer", "source": "SD-JWT VC Section 4.2, Figure 14 (JWT VC Issuer Metadata jwks, kid %s)" % KEY2,
         "jwk": printed_jwks[KEY2], "private_key_given": False,
         "thumbprint_rfc7638": E.jwk_thumbprint(jwks[KEY2]),
         "used_by": [c["id"] for c in manifest if c["issuer_key"] == KEY2],
         "note": "printed in the metadata example only"},
        {"id": HOLDER, "role": "holder", "source": "cnf.jwk of the example payloads (Figures 3, 6, 25)",
         "jwk": holder_jwk, "private_key_given": False, "thumbprint_rfc7638": E.jwk_thumbprint(holder_jwk),
         "used_by": [c["id"] for c in manifest if c.get("holder_key") == HOLDER],
         "note": "public only; the KB-JWTs of Figures 8 and 26 verify with it"},
    ]}
    with open(os.path.join(a.out, "keys.json"), "w", encoding="utf-8") as f:
        f.write(E.dumps(key_doc))

    n_all, n_dig, n_dig_ok, n_cont = E.write_disclosure_catalogue(listings, [], os.path.join(a.out, "disclosures.json"))
    all_checks["disclosure_catalogue"] = {"entries": n_all, "with_printed_digest": n_dig, "digest_matched": n_dig_ok,
                                          "contents_matched": n_cont, "entries_with_contents": len(listings)}
    E.finish(manifest, all_checks, a.out)
    print("disclosure catalogue: %d entries, %d printed digests, %d matched, contents matched %d/%d" % (
        n_all, n_dig, n_dig_ok, n_cont, len(listings)))


if __name__ == "__main__":
    main()
