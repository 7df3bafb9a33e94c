#!/usr/bin/env python3
"""Extract the encrypted Authorization Response example of OpenID4VP 1.0 §8.3 ("Encrypted
Responses") into a vector, and check its shape.

Usage (from anywhere):

    python3 test-vectors/openid4vp-1.0/extract.py [PATH/TO/openid4vp.md] [--out DIR]

PATH defaults to ../../../shared/reference/openid4vp.md relative to this script's folder.
DIR defaults to this script's folder. Standard library only.

What is extracted, into vectors.json: the JWE of the example response (line breaks of the
rendering removed), the private JWK the specification publishes to decrypt it, its decoded
protected header, and the payload the text says it decrypts to. The JWE is checked to have
five parts and the header printed in the text; decrypting it is the job of the Rust test
(crates/kmid-oid4vc/tests/responses.rs), which must reach the printed payload.
"""

import argparse
import base64
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "OpenID for Verifiable Presentations 1.0, section 8.3 (Encrypted Responses)"


def fail(msg):
    sys.exit(f"extract.py: {msg}")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def json_block_after(text, marker):
    at = text.find(marker)
    if at < 0:
        fail(f"marker not found: {marker!r}")
    start = text.find("```json", at)
    end = text.find("```", start + 7)
    return json.loads(text[start + 7:end])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", nargs="?", default=os.path.join(HERE, "../../../shared/reference/openid4vp.md"))
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args()
    with open(args.path, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Encrypted Responses {#response_encryption}"):]
    section = section[:section.index("### Response Mode \"direct_post.jwt\"")]
    m = re.search(r'"response"\s*:\s*"([^"]+)"', section)
    if not m:
        fail("no example response")
    jwe = re.sub(r"\s+", "", m.group(1))
    parts = jwe.split(".")
    if len(parts) != 5 or parts[1] != "":
        fail("the example JWE is not five parts with an empty encrypted key")
    key = json_block_after(section, "can be used to decrypt the above")
    header = json_block_after(section, "decoded header of the above")
    if json.loads(b64url_decode(parts[0])) != header:
        fail("the JWE's protected header is not the one the text prints")
    payload = json_block_after(section, "shows the payload of the above")
    vectors = {
        "source": SOURCE,
        "encrypted_response": {
            "jwe": jwe,
            "private_jwk": key,
            "header": header,
            "payload": payload,
        },
    }
    out = os.path.join(args.out, "vectors.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"extract.py: 1 vector written to {out}")


if __name__ == "__main__":
    main()
