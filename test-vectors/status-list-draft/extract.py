#!/usr/bin/env python3
"""Extract the Token Status List examples (draft-ietf-oauth-status-list, editor's copy of
20 April 2026) from the plain-text rendering into conformance vectors, and check them.

Usage (from anywhere):

    python3 test-vectors/status-list-draft/extract.py [PATH/TO/status-list.txt] [--out DIR]

PATH defaults to ../../../shared/reference/status-list.txt relative to this script's folder
(/work/shared/reference/status-list.txt for a checkout at /work/main). DIR defaults to this
script's folder. Standard library only.

What is extracted, into vectors.json:

* the two byte-array examples of Section 4.1 (statuses, packed bytes, compressed hex);
* the JSON and CBOR StatusList encodings of Sections 4.2 and 4.3;
* the JWT Status List Token header and payload of Section 5.1 (the draft prints it
  unsigned) and the CWT Status List Token of Section 5.2 (hex; the signing key is not
  published, so its signature cannot be checked);
* the four lists of Appendix C (1, 2, 4 and 8 bits, 2^20 entries each): the statuses set,
  the JSON `lst` and the CBOR encoding.

Every vector is checked while it is extracted: the compressed lists are decompressed here
(zlib) and compared with the statuses the text lists, so a typo in the draft or a parsing
slip stops the script instead of becoming a vector.
"""

import argparse
import base64
import json
import os
import re
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "draft-ietf-oauth-status-list (editor's copy, 20 April 2026), plain-text rendering"


def fail(msg):
    sys.exit(f"extract.py: {msg}")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Doc:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().split("\n")

    def find(self, needle, start=0):
        for i in range(start, len(self.lines)):
            if needle in self.lines[i]:
                return i
        fail(f"not found after line {start}: {needle!r}")

    def heading(self, title):
        """The line index of a heading that starts a line (not the table of contents)."""
        for i, line in enumerate(self.lines):
            if line.startswith(title) and i > 200:
                return i
        fail(f"heading not found: {title!r}")

    def statuses(self, start, end):
        """`status[i] = 0b...` lines between two line indices."""
        out = []
        for line in self.lines[start:end]:
            m = re.match(r"^\s*status\[(\d+)\]\s*=\s*0b([01]+)\s*$", line)
            if m:
                out.append([int(m.group(1)), int(m.group(2), 2)])
        return out

    def json_block(self, start):
        """The JSON object starting at the first line after `start` that is `{`; string
        values folded over lines are joined."""
        i = start
        while self.lines[i].strip() != "{":
            i += 1
        depth, parts = 0, []
        while True:
            line = self.lines[i].strip()
            parts.append(line)
            depth += line.count("{") - line.count("}")
            i += 1
            if depth == 0:
                break
        text = "".join(parts)
        return json.loads(text), i

    def hex_block(self, start):
        """The hex lines after `start`, up to the first blank line."""
        i = start + 1
        while not self.lines[i].strip():
            i += 1
        out = []
        while self.lines[i].strip():
            chunk = self.lines[i].strip()
            if not re.fullmatch(r"[0-9a-f]+", chunk):
                fail(f"line {i + 1} is not hex: {chunk!r}")
            out.append(chunk)
            i += 1
        return "".join(out), i


def pack(bits, size, statuses):
    out = bytearray((size * bits + 7) // 8)
    for idx, value in statuses:
        pos = idx * bits
        out[pos // 8] |= value << (pos % 8)
    return bytes(out)


def check_list(name, bits, size, statuses, compressed):
    raw = zlib.decompress(compressed)
    expected = pack(bits, size, statuses)
    if raw != expected:
        fail(f"{name}: the compressed list does not decompress to the listed statuses")


# ---- minimal CBOR reader, enough for the StatusList map and the CWT ----

def cbor_item(b, i):
    ib = b[i]
    major, info = ib >> 5, ib & 31
    i += 1
    if info < 24:
        arg = info
    elif info in (24, 25, 26, 27):
        n = 1 << (info - 24)
        arg = int.from_bytes(b[i:i + n], "big")
        i += n
    else:
        fail("indefinite lengths are not expected in the examples")
    if major == 0:
        return arg, i
    if major == 1:
        return -1 - arg, i
    if major == 2:
        return bytes(b[i:i + arg]), i + arg
    if major == 3:
        return b[i:i + arg].decode("utf-8"), i + arg
    if major == 4:
        items = []
        for _ in range(arg):
            v, i = cbor_item(b, i)
            items.append(v)
        return items, i
    if major == 5:
        m = []
        for _ in range(arg):
            k, i = cbor_item(b, i)
            v, i = cbor_item(b, i)
            m.append([k, v])
        return m, i
    if major == 6:
        v, i = cbor_item(b, i)
        return {"tag": arg, "value": v}, i
    fail(f"unexpected CBOR major type {major}")


def cbor_decode(b):
    v, end = cbor_item(b, 0)
    if end != len(b):
        fail("trailing bytes after a CBOR item")
    return v


def cbor_status_list(hexstr):
    m = dict((k, v) for k, v in cbor_decode(bytes.fromhex(hexstr)))
    if set(m) != {"bits", "lst"}:
        fail(f"unexpected StatusList keys {sorted(m)}")
    return m["bits"], m["lst"]


def section_4(doc):
    vectors = []
    s41 = doc.heading("4.1.  Compressed Byte Array")
    s42 = doc.heading("4.2.  Status List in JSON Format")
    marks = [i for i in range(s41, s42) if "compressed array (hex):" in doc.lines[i]]
    if len(marks) != 2:
        fail(f"expected two compressed arrays in 4.1, found {len(marks)}")
    start = s41
    for bits, mark in zip((1, 2), marks):
        statuses = doc.statuses(start, mark)
        compressed = doc.lines[mark].split(":", 1)[1].strip()
        size = len(statuses)
        check_list(f"4.1 bits={bits}", bits, size, statuses, bytes.fromhex(compressed))
        vectors.append({
            "id": f"4.1-bits-{bits}", "section": "4.1", "bits": bits, "size": size,
            "statuses": statuses, "bytes": pack(bits, size, statuses).hex(), "compressed": compressed,
        })
        start = mark + 1
    # 4.2: the JSON encodings of the same two lists
    s43 = doc.heading("4.3.  Status List in CBOR Format")
    at = s42
    for v in vectors:
        at = doc.find("encoded:", at)
        obj, at = doc.json_block(at)
        if obj["bits"] != v["bits"] or b64url_decode(obj["lst"]).hex() != v["compressed"]:
            fail(f"4.2 JSON encoding of bits={v['bits']} does not match 4.1")
        v["json"] = obj
    if at > s43:
        fail("4.2 examples ran into 4.3")
    # 4.3: the CBOR encoding of the first
    enc = doc.find("encoded:", s43)
    hexstr, _ = doc.hex_block(enc)
    bits, lst = cbor_status_list(hexstr)
    if bits != 1 or lst.hex() != vectors[0]["compressed"]:
        fail("4.3 CBOR encoding does not match 4.1")
    vectors[0]["cbor"] = hexstr
    return vectors


def section_5(doc):
    s51 = doc.heading("5.1.  Status List Token in JWT Format")
    at = doc.find("The following is a non-normative example of a Status List Token in", s51)
    header, at = doc.json_block(at)
    payload, _ = doc.json_block(at)
    jwt = {"id": "5.1-jwt", "section": "5.1", "header": header, "payload": payload}
    sl = payload["status_list"]
    check_list("5.1", sl["bits"], 16, [[i, 1] for i in (0, 3, 4, 5, 7, 8, 9, 13, 15)], b64url_decode(sl["lst"]))
    s52 = doc.heading("5.2.  Status List Token in CWT Format")
    at = doc.find("CWT format in Hex:", s52)
    hexstr, _ = doc.hex_block(at)
    token = cbor_decode(bytes.fromhex(hexstr))
    if token.get("tag") != 18 or len(token["value"]) != 4:
        fail("5.2: not a COSE_Sign1_Tagged")
    protected, unprotected, payload_bytes, signature = token["value"]
    prot = dict((k, v) for k, v in cbor_decode(protected))
    claims = dict((k, v) for k, v in cbor_decode(payload_bytes))
    bits, lst = dict((k, v) for k, v in claims[65533])["bits"], dict((k, v) for k, v in claims[65533])["lst"]
    check_list("5.2", bits, 16, [[i, 1] for i in (0, 3, 4, 5, 7, 8, 9, 13, 15)], lst)
    cwt = {
        "id": "5.2-cwt", "section": "5.2", "token": hexstr,
        "protected": {"alg": prot[1], "typ": prot[16]},
        "kid": dict((k, v) for k, v in unprotected)[4].decode("ascii"),
        "claims": {"sub": claims[2], "iat": claims[6], "exp": claims[4], "ttl": claims[65534],
                   "bits": bits, "lst": lst.hex()},
        "signature_len": len(signature),
        "signature_key": "not published in the draft",
    }
    return [jwt, cwt]


def appendix_c(doc):
    vectors = []
    starts = [doc.heading(f"C.{n}.  {b}-bit Status List") for n, b in ((1, 1), (2, 2), (3, 4), (4, 8))]
    ends = starts[1:] + [len(doc.lines)]
    for (bits, start, end) in zip((1, 2, 4, 8), starts, ends):
        js = doc.find("JSON encoding:", start)
        statuses = doc.statuses(start, js)
        obj, at = doc.json_block(js)
        cb = doc.find("CBOR encoding:", at)
        hexstr, _ = doc.hex_block(cb)
        if cb > end:
            fail(f"C bits={bits}: CBOR encoding not in its section")
        size = 1 << 20
        lst = b64url_decode(obj["lst"])
        cbits, clst = cbor_status_list(hexstr)
        if obj["bits"] != bits or cbits != bits:
            fail(f"C bits={bits}: bits differ")
        if clst != lst:
            fail(f"C bits={bits}: the JSON and CBOR encodings carry different lists")
        check_list(f"C bits={bits}", bits, size, statuses, lst)
        vectors.append({
            "id": f"C-bits-{bits}", "section": f"C.{(1, 2, 4, 8).index(bits) + 1}", "bits": bits, "size": size,
            "statuses": statuses, "json": obj, "cbor": hexstr,
        })
    return vectors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", nargs="?",
                    default=os.path.normpath(os.path.join(HERE, "../../../shared/reference/status-list.txt")))
    ap.add_argument("--out", default=HERE)
    a = ap.parse_args(argv)
    doc = Doc(a.source)
    out = {
        "source": SOURCE,
        "generator": "test-vectors/status-list-draft/extract.py",
        "encoding": section_4(doc),
        "tokens": section_5(doc),
        "appendix_c": appendix_c(doc),
    }
    with open(os.path.join(a.out, "vectors.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    n = len(out["encoding"]) + len(out["tokens"]) + len(out["appendix_c"])
    print(f"wrote {n} vectors to {os.path.join(a.out, 'vectors.json')}")


if __name__ == "__main__":
    main()
