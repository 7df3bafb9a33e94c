#!/usr/bin/env python3
"""Extract the SD-JWT (RFC 9901 / draft-ietf-oauth-selective-disclosure-jwt-22)
examples from the plain-text rendering into conformance vectors, and check them.

Usage (from anywhere):

    python3 test-vectors/sd-jwt-rfc9901/extract.py [PATH/TO/sd-jwt.txt] [--out DIR]

PATH defaults to ../../../shared/reference/sd-jwt.txt relative to this script's folder,
which is /work/shared/reference/sd-jwt.txt for a checkout at /work/main. DIR defaults to
this script's folder. Needs only the Python 3 standard library: the ES256 signatures are
checked with a small pure-Python P-256 ECDSA verifier (cross-checked with the
`cryptography` package when it is installed; the output does not depend on it).

The output is deterministic: running the script again over the same text rewrites the
same bytes. The module also serves as the engine for ../sd-jwt-vc-draft/extract.py.

How examples are found: every example is located by a marker sentence inside a named
section (headings such as "5.1.  Issuance" at column 0). The block after the paragraph
that contains the marker is taken: a compact token is the run of non-blank lines, joined
with ALL whitespace removed; a JSON example is the brace-balanced block, in which a line
break inside a string literal is dropped together with the next line's indentation.
Disclosure listings ("*Claim x*:" / "*Array Entry*:" with "SHA-256 Hash:", "Disclosure:"
and "Contents:") are parsed everywhere in the document and tagged with their section.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# encoding helpers


def b64url_decode(s):
    s = s.strip()
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def digest(s):
    """Base64url SHA-256 over the US-ASCII bytes of s (RFC 9901 Section 4.2.3 / 4.3.1)."""
    return b64url_encode(hashlib.sha256(s.encode("ascii")).digest())


def strip_ws(s):
    return "".join(s.split())


def dumps(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def jwk_thumbprint(jwk):
    """RFC 7638 thumbprint of an EC public JWK."""
    canon = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canon.encode("ascii")).digest())


# ---------------------------------------------------------------------------
# pure-Python ECDSA P-256 verification (FIPS 186-4), used for ES256

_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_A = _P - 3
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
      0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def _on_curve(p):
    x, y = p
    return (y * y - (x * x * x + _A * x + _B)) % _P == 0


def _add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0]:
        if (p[1] + q[1]) % _P == 0:
            return None
        lam = (3 * p[0] * p[0] + _A) * pow(2 * p[1], -1, _P) % _P
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, _P) % _P
    x = (lam * lam - p[0] - q[0]) % _P
    return (x, (lam * (p[0] - x) - p[1]) % _P)


def _mul(k, p):
    r = None
    while k:
        if k & 1:
            r = _add(r, p)
        p = _add(p, p)
        k >>= 1
    return r


def es256_verify_pure(jwk, signing_input, sig):
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or len(sig) != 64:
        return False
    q = (int.from_bytes(b64url_decode(jwk["x"]), "big"), int.from_bytes(b64url_decode(jwk["y"]), "big"))
    if not _on_curve(q):
        return False
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if not (0 < r < _N and 0 < s < _N):
        return False
    e = int.from_bytes(hashlib.sha256(signing_input).digest(), "big")
    w = pow(s, -1, _N)
    pt = _add(_mul(e * w % _N, _G), _mul(r * w % _N, q))
    return pt is not None and pt[0] % _N == r


def es256_verify_cryptography(jwk, signing_input, sig):
    """Same check with the `cryptography` package; None when it is not installed."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    except ImportError:
        return None
    pub = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(jwk["x"]), "big"),
        int.from_bytes(b64url_decode(jwk["y"]), "big"),
        ec.SECP256R1(),
    ).public_key()
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        pub.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


CROSS_CHECKS = []  # (label, pure, cryptography) for stdout only


def verify_jws(jwk, protected_b64, payload_b64, sig_b64, label):
    header = json.loads(b64url_decode(protected_b64))
    if header.get("alg") != "ES256":
        return False, "alg %s not supported by this checker" % header.get("alg")
    signing_input = (protected_b64 + "." + payload_b64).encode("ascii")
    sig = b64url_decode(sig_b64)
    ok = es256_verify_pure(jwk, signing_input, sig)
    other = es256_verify_cryptography(jwk, signing_input, sig)
    CROSS_CHECKS.append((label, ok, other))
    if other is not None and other != ok:
        raise SystemExit("verifier disagreement on %s: pure=%s cryptography=%s" % (label, ok, other))
    return ok, None


# ---------------------------------------------------------------------------
# the document

HEADING = re.compile(r"^(?:Appendix )?((?:\d+|[A-Z])(?:\.\d+)*)\.\s+\S")


class Doc:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.lines = self.text.split("\n")
        self.headings = []  # (line index, section id)
        for i, line in enumerate(self.lines):
            m = HEADING.match(line)
            if m:
                self.headings.append((i, m.group(1)))
        self.section_of_line = []
        cur, hi = None, 0
        for i in range(len(self.lines)):
            while hi < len(self.headings) and self.headings[hi][0] <= i:
                cur = self.headings[hi][1]
                hi += 1
            self.section_of_line.append(cur)

    def section_range(self, sec):
        for k, (i, s) in enumerate(self.headings):
            if s == sec:
                end = self.headings[k + 1][0] if k + 1 < len(self.headings) else len(self.lines)
                return i, end
        raise KeyError("no section %s" % sec)

    def find_line(self, sec, marker):
        start, end = self.section_range(sec)
        hits = [i for i in range(start, end) if marker in self.lines[i]]
        if len(hits) != 1:
            raise SystemExit("marker %r found %d times in section %s" % (marker, len(hits), sec))
        return hits[0]

    def block_start_after(self, sec, marker):
        """First line of the block that follows the paragraph containing marker."""
        i = self.find_line(sec, marker)
        while self.lines[i].strip():
            i += 1
        while not self.lines[i].strip():
            i += 1
        return i

    def token_after(self, sec, marker):
        i = self.block_start_after(sec, marker)
        out = []
        while i < len(self.lines) and self.lines[i].strip():
            out.append(self.lines[i])
            i += 1
        tok = strip_ws("".join(out))
        if not tok.startswith("eyJ"):
            raise SystemExit("block after %r in %s is not a JWT: %r" % (marker, sec, tok[:40]))
        return tok, i

    def json_at_next_brace(self, sec, marker):
        """The first JSON block that starts after the marker line (skipping, e.g., HTTP
        status and header lines)."""
        i = self.find_line(sec, marker) + 1
        while not self.lines[i].strip().startswith("{"):
            i += 1
        return parse_wrapped_json(self.lines, i)

    def json_after(self, sec, marker):
        i = self.block_start_after(sec, marker)
        if not self.lines[i].strip().startswith("{"):
            raise SystemExit("block after %r in %s is not JSON: %r" % (marker, sec, self.lines[i]))
        return parse_wrapped_json(self.lines, i)


def parse_wrapped_json(lines, i):
    """Read a brace-balanced JSON block starting at line i. A line break inside a string
    literal is removed together with the following indentation (the documents break long
    base64 strings that way); outside strings whitespace is kept."""
    buf = []
    depth, in_str, esc, started = 0, False, False, False
    while True:
        line = lines[i]
        j = 0
        if in_str:
            j = len(line) - len(line.lstrip())  # continuation of a wrapped string
        while j < len(line):
            c = line[j]
            buf.append(c)
            if in_str:
                if esc:
                    esc = False
                elif c == "\\":
                    esc = True
                elif c == '"':
                    in_str = False
            else:
                if c == '"':
                    in_str = True
                elif c in "{[":
                    depth += 1
                    started = True
                elif c in "}]":
                    depth -= 1
            j += 1
        if started and depth == 0:
            break
        if not in_str:
            buf.append("\n")
        i += 1
    return json.loads("".join(buf))


LISTING_LABEL = re.compile(r"^\s{3}\*(Claim .+|Array Entry)\*:\s*$")


def parse_listings(doc):
    """Every Disclosure listing in the document, in document order."""
    out = []
    L = doc.lines
    i = 0
    while i < len(L):
        m = LISTING_LABEL.match(L[i])
        if not m:
            i += 1
            continue
        label = m.group(1)
        sec = doc.section_of_line[i]
        j = i + 1
        while not L[j].strip():
            j += 1
        fields = {}
        cur = None
        while j < len(L) and L[j].strip():
            s = L[j].strip()
            fm = re.match(r"^\*\s+(SHA-256 Hash|Disclosure|Contents):\s*(.*)$", s)
            if fm:
                cur = fm.group(1)
                fields[cur] = [fm.group(2)] if fm.group(2) else []
            else:
                fields[cur].append(s)
            j += 1
        encoded = strip_ws("".join(fields["Disclosure"]))
        out.append({
            "section": sec,
            "line": i + 1,
            "claim": label[len("Claim "):] if label.startswith("Claim ") else None,
            "array_entry": label == "Array Entry",
            "encoded": encoded,
            "digest_printed": strip_ws("".join(fields["SHA-256 Hash"])),
            "contents_printed": " ".join(fields["Contents"]),
        })
        i = j
    return out


def check_disclosure(encoded, contents_printed=None, digest_printed=None):
    raw = b64url_decode(encoded).decode("utf-8")
    decoded = json.loads(raw)
    res = {"digest_computed": digest(encoded), "decoded": decoded, "decoded_text": raw}
    if digest_printed is not None:
        res["digest_match"] = res["digest_computed"] == digest_printed
    if contents_printed is not None:
        # The listing prints the decoded JSON text, line-wrapped; compare without whitespace.
        res["contents_match"] = strip_ws(raw) == strip_ws(contents_printed)
    return res


# ---------------------------------------------------------------------------
# SD-JWT processing (RFC 9901 Section 7.1 step 3 onwards, for the checks)


class ProcessError(Exception):
    pass


def process_payload(payload, disclosures):
    """Return the Processed SD-JWT Payload, and the list of digests that were used."""
    by_digest = {}
    for enc in disclosures:
        d = digest(enc)
        if d in by_digest:
            raise ProcessError("duplicate disclosure %s" % d)
        by_digest[d] = json.loads(b64url_decode(enc))
    used = []

    def walk(v):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k == "_sd":
                    continue
                out[k] = walk(x)
            for d in v.get("_sd", []):
                if d in by_digest:
                    if d in used:
                        raise ProcessError("digest used twice %s" % d)
                    disc = by_digest[d]
                    if len(disc) != 3:
                        raise ProcessError("array disclosure referenced from _sd")
                    _, name, val = disc
                    if name in ("_sd", "...") or name in out:
                        raise ProcessError("bad claim name %s" % name)
                    used.append(d)
                    out[name] = walk(val)
            return out
        if isinstance(v, list):
            out = []
            for x in v:
                if isinstance(x, dict) and list(x.keys()) == ["..."]:
                    d = x["..."]
                    if d in by_digest:
                        if d in used:
                            raise ProcessError("digest used twice %s" % d)
                        disc = by_digest[d]
                        if len(disc) != 2:
                            raise ProcessError("object disclosure referenced from array")
                        used.append(d)
                        out.append(walk(disc[1]))
                    continue
                out.append(walk(x))
            return out
        return v

    result = walk(payload)
    result.pop("_sd_alg", None)
    unused = [d for d in by_digest if d not in used]
    if unused:
        raise ProcessError("disclosures not referenced: %s" % unused)
    return result


# ---------------------------------------------------------------------------
# building a case


def split_compact(token):
    parts = token.split("~")
    jwt, rest = parts[0], parts[1:]
    if not rest:
        raise SystemExit("not an SD-JWT (no ~): %s..." % token[:30])
    kb = rest[-1] or None
    return jwt, rest[:-1], kb


def jws_parts(jwt):
    p = jwt.split(".")
    if len(p) != 3:
        raise SystemExit("not a compact JWS")
    return p


def yes(b):
    return "yes" if b else "NO"


def build_case(doc, spec, listings, keys, out_dir):
    """spec: dict with id, section, file, serialization, kind, marker (+ optional
    listing_sections, payload_marker, kb_payload_marker, processed_marker,
    issuer_key, notes)."""
    sec = spec["section"]
    notes = []
    checks = {}
    if spec["serialization"] == "compact":
        token, _ = doc.token_after(sec, spec["marker"])
        jwt, discs, kb_jwt = split_compact(token)
        with open(os.path.join(out_dir, spec["file"]), "w", encoding="ascii") as f:
            f.write(token + "\n")
        prot, pay, sig = jws_parts(jwt)
        sigs = [(prot, sig, None)]
        parts_note = "compact: issuer-signed JWT, %d disclosure(s), %s" % (
            len(discs), "KB-JWT" if kb_jwt else "no KB-JWT (ends with ~)")
    else:
        obj = doc.json_after(sec, spec["marker"])
        with open(os.path.join(out_dir, spec["file"]), "w", encoding="utf-8") as f:
            f.write(dumps(obj))
        pay = obj["payload"]
        if spec["serialization"] == "flattened":
            unprot = obj.get("header", {})
            sigs = [(obj["protected"], obj["signature"], unprot)]
        else:
            sigs = [(s["protected"], s["signature"], s.get("header", {})) for s in obj["signatures"]]
            unprot = sigs[0][2]
            for k, (_, _, h) in enumerate(sigs[1:], 2):
                if "disclosures" in h or "kb_jwt" in h:
                    notes.append("signature %d carries disclosures/kb_jwt (not allowed by Section 8.3)" % k)
        prot, sig = sigs[0][0], sigs[0][1]
        discs = unprot.get("disclosures", [])
        kb_jwt = unprot.get("kb_jwt")
        jwt = prot + "." + pay + "." + sig
        parts_note = "%s JSON: %d signature(s), %d disclosure(s), %s" % (
            spec["serialization"], len(sigs), len(discs), "kb_jwt" if kb_jwt else "no kb_jwt")
    notes.append(parts_note)
    checks["structure"] = parts_note

    # issued vs presentation is a statement of the document; the token can only tell KB or not.
    if bool(kb_jwt) != (spec["kind"] == "presentation+kb"):
        raise SystemExit("%s: kind %s but KB-JWT present=%s" % (spec["id"], spec["kind"], bool(kb_jwt)))

    header = json.loads(b64url_decode(prot))
    payload = json.loads(b64url_decode(pay))

    # issuer signature(s)
    key_ids = spec.get("issuer_key_candidates") or [spec["issuer_key"]]
    sig_results = []
    chosen_key = None
    for k, (p, s, h) in enumerate(sigs, 1):
        hdr = json.loads(b64url_decode(p))
        ok_key = None
        for kid in key_ids:
            ok, why = verify_jws(keys[kid]["jwk"], p, pay, s, "%s sig %d with %s" % (spec["id"], k, kid))
            if ok:
                ok_key = kid
                break
        sig_results.append({"index": k, "header": hdr, "unprotected_kid": (h or {}).get("kid"),
                            "verified": ok_key is not None, "key": ok_key})
        if k == 1:
            chosen_key = ok_key
    n_ok = sum(1 for r in sig_results if r["verified"])
    checks["issuer_signatures"] = sig_results
    if len(sigs) == 1:
        notes.append("issuer signature (%s) %s with %s" % (
            header.get("alg"), "VERIFIED" if chosen_key else "did NOT verify",
            chosen_key or " / ".join(key_ids)))
    else:
        notes.append("%d of %d issuer signatures verified (%s)" % (
            n_ok, len(sigs), "; ".join("sig %d kid=%s: %s" % (r["index"], r["unprotected_kid"],
                                                                "verified with " + r["key"] if r["verified"] else "NOT verified")
                                       for r in sig_results)))

    # printed issuer payload
    if spec.get("payload_marker"):
        printed = doc.json_after(spec.get("payload_section", sec), spec["payload_marker"])
        same = printed == payload
        checks["payload_matches_printed"] = same
        notes.append("decoded JWT payload equals the payload printed in %s: %s" % (
            spec.get("payload_section", sec), yes(same)))

    # disclosures
    listing_secs = spec.get("listing_sections", [sec])
    dlist = []
    n_printed = n_match = n_contents = n_contents_ok = 0
    for enc in discs:
        entry = None
        for ls in listing_secs:
            cands = [x for x in listings if x["section"] == ls and x["encoded"] == enc]
            if cands:
                entry = cands[0]
                break
        chk = check_disclosure(enc, entry and entry["contents_printed"], entry and entry["digest_printed"])
        d = {"encoded": enc,
             "digest": entry["digest_printed"] if entry else None,
             "decoded": chk["decoded"]}
        if entry:
            d["printed_in"] = entry["section"]
            n_printed += 1
            n_match += chk["digest_match"]
            n_contents += 1
            n_contents_ok += chk["contents_match"]
            if not chk["digest_match"]:
                notes.append("DIGEST MISMATCH for %s: printed %s computed %s" % (
                    enc, entry["digest_printed"], chk["digest_computed"]))
            if not chk["contents_match"]:
                notes.append("CONTENTS MISMATCH for %s" % enc)
        else:
            d["printed_in"] = None
        dlist.append(d)
    checks["disclosure_digests_printed"] = n_printed
    checks["disclosure_digests_matched"] = n_match
    checks["disclosure_contents_matched"] = "%d/%d" % (n_contents_ok, n_contents)
    if discs:
        if n_printed:
            notes.append("disclosure digests: %d of %d printed in the text, %d matched; decoded contents matched the printed Contents: %d/%d" % (
                n_printed, len(discs), n_match, n_contents_ok, n_contents))
        if n_printed < len(discs):
            notes.append("%d disclosure(s) have no printed digest or Contents; 'decoded' is their base64url decoding" % (
                len(discs) - n_printed))

    # processing
    try:
        processed = process_payload(payload, discs)
        checks["all_disclosures_referenced"] = True
        notes.append("every disclosure is referenced by a digest in the payload or in another disclosure: yes")
    except ProcessError as e:
        processed = None
        checks["all_disclosures_referenced"] = False
        notes.append("processing FAILED: %s" % e)
    expected = None
    if spec.get("processed_marker"):
        expected = doc.json_after(spec.get("processed_section", sec), spec["processed_marker"])
        same = processed == expected
        checks["processed_payload_matches_printed"] = same
        notes.append("processed payload computed here equals the printed one: %s" % yes(same))
    else:
        notes.append("the document prints no processed payload for this example")
    checks["processed_payload_computed"] = processed

    # KB-JWT
    kb = None
    holder_key = None
    if kb_jwt:
        kp, kpl, ks = jws_parts(kb_jwt)
        kb_header = json.loads(b64url_decode(kp))
        kb_payload = json.loads(b64url_decode(kpl))
        kb = {k: kb_payload.get(k) for k in ("nonce", "aud", "iat", "sd_hash")}
        kb["header"] = kb_header
        extra = sorted(set(kb_payload) - {"nonce", "aud", "iat", "sd_hash"})
        if extra:
            kb["other_claims"] = {k: kb_payload[k] for k in extra}
        sd_input = jwt + "~" + "".join(x + "~" for x in discs)
        sd_ok = digest(sd_input) == kb_payload.get("sd_hash")
        checks["sd_hash_matches"] = sd_ok
        notes.append("KB-JWT typ=%s alg=%s; sd_hash over <issuer JWT>~<disclosures>~ matches: %s" % (
            kb_header.get("typ"), kb_header.get("alg"), yes(sd_ok)))
        if not sd_ok:
            notes.append("sd_hash computed %s, in KB-JWT %s" % (digest(sd_input), kb_payload.get("sd_hash")))
        cnf = payload.get("cnf", {}).get("jwk")
        if cnf:
            ok, _ = verify_jws(cnf, kp, kpl, ks, spec["id"] + " KB-JWT")
            checks["kb_signature_verified"] = ok
            notes.append("KB-JWT signature with the payload's cnf.jwk: %s" % ("VERIFIED" if ok else "did NOT verify"))
        if spec.get("kb_payload_marker"):
            printed = doc.json_after(spec.get("kb_payload_section", sec), spec["kb_payload_marker"])
            same = printed == kb_payload
            checks["kb_payload_matches_printed"] = same
            notes.append("decoded KB-JWT payload equals the printed KB-JWT payload: %s" % yes(same))
        else:
            notes.append("KB-JWT payload is not printed separately; kb fields are decoded from the KB-JWT")
    if "cnf" in payload:
        holder_key = spec.get("holder_key")
        same = holder_key in keys and payload["cnf"].get("jwk") == keys[holder_key]["jwk"]
        checks["cnf_is_holder_key"] = same
        if not same:
            notes.append("cnf differs from %s" % holder_key)
            holder_key = None

    notes.extend(spec.get("notes", []))
    case = {
        "id": spec["id"],
        "section": sec,
        "file": spec["file"],
        "serialization": spec["serialization"],
        "kind": spec["kind"],
        "issuer_key": chosen_key if spec.get("issuer_key_candidates") else spec["issuer_key"],
        "alg": header.get("alg"),
        "typ": header.get("typ"),
        "disclosures": dlist,
        "expected_processed_payload": expected,
        "kb": kb,
        "notes": "; ".join(notes),
    }
    if holder_key:
        case["holder_key"] = holder_key
    if "kid" in header:
        case["kid"] = header["kid"]
    return case, checks


def write_disclosure_catalogue(listings, extra, path):
    out = []
    n = n_ok = n_c = 0
    for x in extra + listings:
        chk = check_disclosure(x["encoded"], x.get("contents_printed"), x.get("digest_printed"))
        e = {"section": x["section"], "claim": x.get("claim"), "array_entry": x.get("array_entry", False),
             "encoded": x["encoded"], "digest": x.get("digest_printed"), "digest_computed": chk["digest_computed"],
             "digest_match": chk.get("digest_match"), "decoded": chk["decoded"]}
        if "contents_match" in chk:
            e["contents_match"] = chk["contents_match"]
            n_c += chk["contents_match"]
        if x.get("note"):
            e["note"] = x["note"]
        if x.get("digest_printed"):
            n += 1
            n_ok += chk["digest_match"]
        out.append(e)
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps(out))
    return len(out), n, n_ok, n_c


def finish(manifest, all_checks, out_dir):
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        f.write(dumps(manifest))
    with open(os.path.join(out_dir, "checks.json"), "w", encoding="utf-8") as f:
        f.write(dumps(all_checks))
    for label, pure, other in CROSS_CHECKS:
        print("  %-60s pure=%s cryptography=%s" % (label, pure, "n/a" if other is None else other))
    kinds = {}
    for c in manifest:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    print("cases:", len(manifest), kinds)
    cs = [all_checks[c["id"]] for c in manifest]
    sigs = [r for c in cs for r in c["issuer_signatures"]]
    kbs = [c for c in cs if "sd_hash_matches" in c]

    def count(key):
        vals = [c[key] for c in cs if key in c]
        return "%d/%d" % (sum(1 for v in vals if v), len(vals))

    print("issuer signatures verified: %d/%d" % (sum(r["verified"] for r in sigs), len(sigs)))
    print("KB-JWT signatures verified: %s; sd_hash matched: %s" % (count("kb_signature_verified"), count("sd_hash_matches")))
    print("disclosures in cases: %d, with a printed digest: %d, matched: %d" % (
        sum(len(c["disclosures"]) for c in manifest), sum(c["disclosure_digests_printed"] for c in cs),
        sum(c["disclosure_digests_matched"] for c in cs)))
    print("printed issuer payload = decoded: %s; printed KB payload = decoded: %s; printed processed payload = computed: %s" % (
        count("payload_matches_printed"), count("kb_payload_matches_printed"), count("processed_payload_matches_printed")))
    print("all disclosures referenced: %s" % count("all_disclosures_referenced"))


# ---------------------------------------------------------------------------
# the RFC 9901 cases

ISSUER = "rfc9901-A.5-issuer"
HOLDER = "rfc9901-holder-cnf"

CASES = [
    dict(id="rfc9901-5.1-issued", section="5.1", file="5.1-issued.sdjwt", serialization="compact", kind="issued",
         marker="Adding the Disclosures produces the SD-JWT:",
         payload_marker="The following payload is used for the SD-JWT:"),
    dict(id="rfc9901-5.2-presentation-kb", section="5.2", file="5.2-presentation-kb.sdjwt", serialization="compact",
         kind="presentation+kb", marker="The following non-normative example shows an SD-JWT+KB",
         listing_sections=["5.1"], payload_section="5.1", payload_marker="The following payload is used for the SD-JWT:",
         kb_payload_marker="The following Key Binding JWT payload was created and signed for this",
         processed_marker="After validation, the Verifier will have the following Processed SD-"),
    dict(id="rfc9901-8.2-flattened-issued", section="8.2", file="8.2-flattened-issued.json",
         serialization="flattened", kind="issued",
         marker="The following is a non-normative example of a JWS JSON serialized SD-",
         notes=["the text prints no digests or Contents for these disclosures and no decoded payload"]),
    dict(id="rfc9901-8.2-flattened-kb", section="8.2", file="8.2-flattened-kb.json", serialization="flattened",
         kind="presentation+kb", marker="The following is an SD-JWT+KB with two Disclosures:",
         notes=["sd_hash is computed over the compact form protected.payload.signature~d1~d2~ (Section 8.1)"]),
    dict(id="rfc9901-8.3-general-kb", section="8.3", file="8.3-general-kb.json", serialization="general",
         kind="presentation+kb",
         marker="The following is a non-normative example of a presentation of a JWS",
         notes=["sd_hash is computed over the compact form built from the FIRST signature (the one whose unprotected header carries disclosures and kb_jwt)",
                "the unprotected kids issuer-key-1 and issuer-key-2 are not defined anywhere in the document"]),
    dict(id="rfc9901-A.1-presentation", section="A.1", file="A.1-presentation.sdjwt", serialization="compact",
         kind="presentation", marker="The following is a presentation of the SD-JWT that discloses only",
         payload_marker="The following payload is used for the SD-JWT:",
         processed_marker="After validation, the Verifier will have the following Processed SD-",
         notes=["the issued SD-JWT of A.1 is not printed (only its payload, disclosures and this presentation); the payload has 6 decoy digests (listed in A.1)"]),
    dict(id="rfc9901-A.2-presentation", section="A.2", file="A.2-presentation.sdjwt", serialization="compact",
         kind="presentation", marker="The following is a presentation of the SD-JWT:",
         payload_marker="The following payload is used for the SD-JWT:",
         processed_marker="The Verifier will have this Processed SD-JWT Payload available after",
         notes=["the issued SD-JWT of A.2 is not printed (only its payload, disclosures and this presentation)"]),
    dict(id="rfc9901-A.3-issued", section="A.3", file="A.3-issued.sdjwt", serialization="compact", kind="issued",
         marker="The following is the issued SD-JWT:",
         payload_marker="The following payload is used for the SD-JWT:"),
    dict(id="rfc9901-A.3-presentation-kb", section="A.3", file="A.3-presentation-kb.sdjwt", serialization="compact",
         kind="presentation+kb", marker="The following is an example of an SD-JWT+KB that discloses only",
         payload_marker="The following payload is used for the SD-JWT:",
         kb_payload_marker="This is the payload of the corresponding Key Binding JWT:",
         processed_marker="After validation, the Verifier will have the following Processed SD-"),
    dict(id="rfc9901-A.4-issued", section="A.4", file="A.4-issued.sdjwt", serialization="compact", kind="issued",
         marker="The following is the issued SD-JWT:",
         payload_marker="The following payload is used for the SD-JWT:"),
    dict(id="rfc9901-A.4-presentation-kb", section="A.4", file="A.4-presentation-kb.sdjwt", serialization="compact",
         kind="presentation+kb", marker="This is an example of an SD-JWT+KB that discloses only type,",
         payload_marker="The following payload is used for the SD-JWT:",
         processed_marker="After the validation, the Verifier will have the following Processed"),
]


def inline_42_disclosures(doc):
    """The Disclosures of Sections 4.2.1-4.2.4 that are printed in running text."""
    t = doc.text

    def grab(after, until="\n\n"):
        i = t.index(after) + len(after)
        return strip_ws(t[i:t.index(until, i)])

    main = grab("The resulting Disclosure is:")
    d423 = grab("SHA-256 digest of the Disclosure", " for the family_name claim")
    if d423 != main:
        raise SystemExit("4.2.3 repeats a different disclosure")
    dig423 = grab("from Section 4.2.1 above is", ".\n")
    variants = []
    for lead in ("*  A different way to encode the unicode umlaut:", "*  No white space:",
                 "*  Newline characters between elements:"):
        variants.append((lead.strip("* :"), grab(lead, "\n   *" if "Newline" not in lead else "\n\n")))
    arr = grab("The resulting Disclosure would be:")
    s442_start, s442_end = doc.section_range("4.2.4.2")
    sec442 = "\n".join(doc.lines[s442_start:s442_end])
    dig442 = re.search(r'\{"\.\.\.":"([A-Za-z0-9_-]{43})"\}', sec442).group(1)
    out = [{"section": "4.2.1", "claim": "family_name", "encoded": main, "digest_printed": dig423,
            "note": "digest printed in Section 4.2.3"}]
    for label, enc in variants:
        out.append({"section": "4.2.1", "claim": "family_name", "encoded": enc,
                    "note": "variant: " + label + " (no digest printed)"})
    out.append({"section": "4.2.2", "claim": None, "array_entry": True, "encoded": arr, "digest_printed": dig442,
                "note": "digest printed in Section 4.2.4.2"})
    return out


def nested_examples(doc, listings):
    # listings: the parsed listings plus the Section 4.2 running-text disclosures
    """Section 4.2.4 and 6.x: payloads with their disclosures, no signed tokens."""
    input6 = doc.json_after("6", "The following input JWT Claims Set is used as an example throughout")
    items = [
        ("4.2.4.1", "the Issuer could create the following SD-JWT payload to make", ["4.2.1"], None),
        ("4.2.4.2", "the Issuer could create the following SD-JWT", ["4.2.2"], None),
        ("6.1", "The Issuer can decide to treat the address claim as a block that can", ["6.1"], input6),
        ("6.2", "The Issuer may instead decide to make the address claim contents", ["6.2"], input6),
        ("6.2", "The Issuer may also make one sub-claim of address permanently", ["6.2"], input6),
        ("6.3", "The Issuer may also decide to make the address claim contents", ["6.3"], input6),
    ]
    out = []
    for sec, marker, lsecs, inp in items:
        payload = doc.json_after(sec, marker)
        discs = [x for x in listings if x["section"] in lsecs]
        # only the disclosures whose digest the payload (or a disclosure) references
        referenced = []
        text = json.dumps(payload)
        for x in discs:
            if digest(x["encoded"]) in text:
                referenced.append(x["encoded"])
        grew = True
        while grew:  # recursive disclosures: digests inside referenced disclosures
            grew = False
            for x in discs:
                if x["encoded"] not in referenced and any(
                        digest(x["encoded"]) in b64url_decode(r).decode() for r in referenced):
                    referenced.append(x["encoded"])
                    grew = True
        processed = process_payload(payload, referenced)
        e = {"section": sec, "marker": marker, "payload": payload,
             "disclosures": [{"encoded": r, "digest_computed": digest(r)} for r in referenced],
             "processed_payload_computed": processed}
        if inp is not None:
            e["input_claims_contained"] = all(processed.get(k) == v for k, v in inp.items())
        out.append(e)
    return input6, out


def issuer_key_from_A5(doc):
    jwk = doc.json_after("A.5", "The following Elliptic Curve public key, represented in JWK format,")
    return jwk


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", nargs="?",
                    default=os.path.normpath(os.path.join(HERE, "../../../shared/reference/sd-jwt.txt")))
    ap.add_argument("--out", default=HERE)
    a = ap.parse_args(argv)
    doc = Doc(a.source)
    listings = parse_listings(doc)

    issuer_jwk = issuer_key_from_A5(doc)
    # the holder key: every example payload with cnf carries the same cnf.jwk (checked below)
    holder_jwk = doc.json_after("5.1", "The following payload is used for the SD-JWT:")["cnf"]["jwk"]
    keys = {
        ISSUER: {"jwk": issuer_jwk},
        HOLDER: {"jwk": holder_jwk},
    }

    manifest, all_checks = [], {}
    for spec in CASES:
        spec = dict(spec, issuer_key=ISSUER, holder_key=HOLDER)
        case, checks = build_case(doc, spec, listings, keys, a.out)
        manifest.append(case)
        all_checks[case["id"]] = checks

    # the issuer-signed JWT printed on its own in 5.1
    jwt51, _ = doc.token_after("5.1", "The payload is then signed by the Issuer to create the following")
    with open(os.path.join(a.out, "5.1-issuer-signed.jwt"), "w", encoding="ascii") as f:
        f.write(jwt51 + "\n")
    same = split_compact(open(os.path.join(a.out, "5.1-issued.sdjwt")).read().strip())[0] == jwt51
    all_checks["5.1-issuer-signed.jwt"] = {"equals_jwt_part_of_5.1-issued": same}

    # cnf keys used
    holder_users = []
    for c in manifest:
        if c.get("holder_key"):
            holder_users.append(c["id"])
    key_doc = {
        "keys": [
            {"id": ISSUER, "role": "issuer", "source": "RFC 9901 (draft-22) Appendix A.5",
             "jwk": issuer_jwk, "private_key_given": False, "thumbprint_rfc7638": jwk_thumbprint(issuer_jwk),
             "used_by": [c["id"] for c in manifest if c["issuer_key"] == ISSUER],
             "note": "Appendix A.5 prints only the public key (kty, crv, x, y); no private key (d) is given. "
                     "It validates the Issuer signatures of all examples (see manifest notes)."},
            {"id": HOLDER, "role": "holder", "source": "cnf.jwk of the example payloads (Sections 5.1, 8.2, 8.3, A.3, A.4); Appendix A.5 says the KB-JWT key is the cnf claim",
             "jwk": holder_jwk, "private_key_given": False, "thumbprint_rfc7638": jwk_thumbprint(holder_jwk),
             "used_by": holder_users,
             "note": "public only; every example with a cnf claim uses this same key"},
        ]
    }
    with open(os.path.join(a.out, "keys.json"), "w", encoding="utf-8") as f:
        f.write(dumps(key_doc))

    extra = inline_42_disclosures(doc)
    n_all, n_dig, n_dig_ok, n_cont = write_disclosure_catalogue(listings, extra, os.path.join(a.out, "disclosures.json"))
    input6, nested = nested_examples(doc, listings + extra)
    with open(os.path.join(a.out, "nested-examples.json"), "w", encoding="utf-8") as f:
        f.write(dumps({"section_6_input_claims": input6, "examples": nested}))
    all_checks["disclosure_catalogue"] = {"entries": n_all, "with_printed_digest": n_dig, "digest_matched": n_dig_ok,
                                          "contents_matched": n_cont,
                                          "entries_with_contents": len(listings)}
    all_checks["nested_examples"] = [{"section": e["section"], "input_claims_contained": e.get("input_claims_contained"),
                                      "disclosures": len(e["disclosures"])} for e in nested]
    finish(manifest, all_checks, a.out)
    print("disclosure catalogue: %d entries, %d printed digests, %d matched, contents matched %d/%d" % (
        n_all, n_dig, n_dig_ok, n_cont, len(listings)))


if __name__ == "__main__":
    main()
