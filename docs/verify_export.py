#!/usr/bin/env python3
"""Verify a `ledger export` file on your own: standard library only, no Ledger code.

    python verify_export.py export.ndjson      (or read standard input)

For every line: chain_hash = SHA-256(previous_chain_hash || encode(row)), with encode() as in
the README ("Tamper evidence"); consecutive lines of one case must have consecutive versions
and each line's previous_chain_hash must be the chain_hash of the line before it (version 1:
32 zero bytes). Prints the first bad version of each broken case; exit status 1 if any.
"""

import base64
import hashlib
import json
import struct
import sys
import uuid


def field(value):
    if value is None:
        return b"\xff\xff\xff\xff"
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return struct.pack(">I", len(raw)) + raw


def encode(line):
    return b"".join([
        uuid.UUID(line["case_id"]).bytes,
        struct.pack(">q", line["version"]),
        field(line["topic"]),
        field(base64.b64decode(line["state"])),
        field(line["tenant_id"]),
        field(line["actor"]),
        struct.pack(">q", line["recorded_at_us"]),
    ])


def main(stream):
    last = {}  # case id -> (version, chain_hash) of its previous line
    broken = {}
    count = 0
    for text in stream:
        if not text.strip():
            continue
        line = json.loads(text)
        count += 1
        case = line["case_id"]
        if case in broken:
            continue
        previous = line["previous_chain_hash"]
        if case in last:
            version, chain = last[case]
            ok_link = line["version"] == version + 1 and previous == chain
        else:
            ok_link = previous is not None and (line["version"] > 1 or previous == "00" * 32)
        digest = hashlib.sha256(bytes.fromhex(previous or "") + encode(line)).hexdigest()
        if not ok_link or digest != line["chain_hash"]:
            broken[case] = line["version"] if ok_link or case not in last else last[case][0] + 1
            continue
        last[case] = (line["version"], line["chain_hash"])
    for case, version in broken.items():
        print(f"BROKEN case {case}: first bad version {version}")
    print(f"checked {count} events of {len(last) + len(broken)} cases: "
          f"{'OK' if not broken else str(len(broken)) + ' broken'}")
    return 1 if broken else 0


if __name__ == "__main__":
    with (open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin) as source:
        sys.exit(main(source))
