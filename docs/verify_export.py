#!/usr/bin/env python3
"""Verify a `ledger export` file on your own: standard library only, no Ledger code.

    python verify_export.py export.ndjson      (or read standard input)
    python verify_export.py --checkpoint checkpoint.json --public-key HEX export.ndjson

For every line: chain_hash = SHA-256(previous_chain_hash || encode(row)), with encode() as in
the README ("Tamper evidence"); consecutive lines of one case must have consecutive versions
and each line's previous_chain_hash must be the chain_hash of the line before it (version 1:
32 zero bytes). Prints the first bad version of each broken case; exit status 1 if any.

With a checkpoint (`ledger checkpoint --export FILE`, kept by you) and the public key you were
given (never the one inside the file alone), it also checks the checkpoint's Ed25519 signature
(this needs the `cryptography` package) and holds every stream of the export's tenant to its
signed head: a stream that ends early, is missing, or differs at the head's version is broken.
Use it with a whole-tenant export (no --case or --since). A line carrying a `redaction` (a
placement redacted by `ledger redact-legacy`) keeps its stored hash when its state has the
recorded digest and, given --public-key, the record's signature holds.
"""

import argparse
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


def load_checkpoint(path, public_key_hex):
    """The signed heads {stream id: (version, chain_hash hex, tenant)}; exits if not genuine."""
    from datetime import datetime, timezone

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    with open(path, encoding="utf-8") as source:
        checkpoint = json.load(source)
    digest = hashlib.sha256()
    for stream, version, chain_hash, _ in checkpoint["heads"]:  # in feed order
        digest.update(uuid.UUID(stream).bytes + struct.pack(">q", version) + bytes.fromhex(chain_hash))
    created = datetime.fromisoformat(checkpoint["created_at"])
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    micros = (created - epoch) // (datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc) - epoch)
    message = (b"ledger-checkpoint-v1\x00" + struct.pack(">q", checkpoint["checkpoint_id"])
               + struct.pack(">q", micros) + struct.pack(">Q", checkpoint["feed_transaction_id"])
               + struct.pack(">q", checkpoint["feed_notification_id"])
               + struct.pack(">q", len(checkpoint["heads"])) + digest.digest())
    problem = None
    if digest.hexdigest() != checkpoint["heads_digest"] or len(checkpoint["heads"]) != checkpoint["streams"]:
        problem = "its heads do not match its digest"
    else:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
                bytes.fromhex(checkpoint["signature"]), message)
        except (InvalidSignature, ValueError):
            problem = "its signature does not verify with the given public key"
    if problem:
        print(f"CHECKPOINT {checkpoint['checkpoint_id']} NOT GENUINE: {problem}")
        sys.exit(1)
    print(f"checkpoint {checkpoint['checkpoint_id']} of {checkpoint['created_at']}: "
          f"signature OK ({checkpoint['streams']} streams)")
    return {stream: (version, chain_hash, tenant)
            for stream, version, chain_hash, tenant in checkpoint["heads"]}


def redaction_holds(line, public_key_hex):
    """A row redacted by `ledger redact-legacy`: its state has the recorded digest and, when a
    public key is given, the record's Ed25519 signature holds (needs `cryptography`)."""
    record = line.get("redaction")
    state = base64.b64decode(line["state"])
    if not record or hashlib.sha256(state).hexdigest() != record["state_sha256"]:
        return False
    if public_key_hex is None:
        print(f"case {line['case_id']} v{line['version']}: redacted (signature not checked: "
              "no --public-key)")
        return True
    from datetime import datetime, timezone

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    micros = (datetime.fromisoformat(record["redacted_at"]) - epoch) // (
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc) - epoch)
    message = (b"ledger-redaction-v1\x00" + uuid.UUID(line["case_id"]).bytes
               + struct.pack(">q", line["version"]) + bytes.fromhex(line["chain_hash"])
               + bytes.fromhex(record["state_sha256"]) + struct.pack(">q", micros))
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
            bytes.fromhex(record["signature"]), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def main(stream, heads=None, public_key=None):
    heads = heads or {}
    at_head = {}  # case id -> chain_hash of its line at the checkpoint head's version
    tenants = set()
    last = {}  # case id -> (version, chain_hash) of its previous line
    broken = {}
    count = 0
    for text in stream:
        if not text.strip():
            continue
        line = json.loads(text)
        count += 1
        case = line["case_id"]
        tenants.add(line["tenant_id"])
        if case in heads and line["version"] == heads[case][0]:
            at_head[case] = line["chain_hash"]
        if case in broken:
            continue
        previous = line["previous_chain_hash"]
        if case in last:
            version, chain = last[case]
            ok_link = line["version"] == version + 1 and previous == chain
        else:
            ok_link = previous is not None and (line["version"] > 1 or previous == "00" * 32)
        digest = hashlib.sha256(bytes.fromhex(previous or "") + encode(line)).hexdigest()
        if redaction_holds(line, public_key):
            digest = line["chain_hash"]  # a signed redaction record vouches for the stored hash
        if not ok_link or digest != line["chain_hash"]:
            broken[case] = line["version"] if ok_link or case not in last else last[case][0] + 1
            continue
        last[case] = (line["version"], line["chain_hash"])
    for case, (version, chain_hash, tenant) in heads.items():
        if case in broken or tenant not in tenants:
            continue
        if case not in last:
            broken[case] = 1
            print(f"case {case}: missing although the checkpoint has it at version {version}")
        elif last[case][0] < version:
            broken[case] = last[case][0] + 1
            print(f"case {case}: ends at version {last[case][0]}, the checkpoint has {version}")
        elif at_head.get(case) != chain_hash:
            broken[case] = version
            print(f"case {case}: version {version} differs from the checkpoint (rewritten)")
    for case, version in broken.items():
        print(f"BROKEN case {case}: first bad version {version}")
    cases = len(last.keys() | broken.keys())  # a case broken after good lines is in both
    print(f"checked {count} events of {cases} cases: "
          f"{'OK' if not broken else str(len(broken)) + ' broken'}")
    return 1 if broken else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Verify a `ledger export` file.")
    parser.add_argument("export", nargs="?", help="the NDJSON file (default: standard input)")
    parser.add_argument("--checkpoint", help="a checkpoint file from `ledger checkpoint --export`")
    parser.add_argument("--public-key", help="the checkpoint signing public key, 64 hex digits")
    args = parser.parse_args()
    if args.checkpoint and not args.public_key:
        parser.error("--checkpoint needs --public-key (the key you were given, not the file's)")
    signed = load_checkpoint(args.checkpoint, args.public_key) if args.checkpoint else None
    with (open(args.export, encoding="utf-8") if args.export else sys.stdin) as source:
        sys.exit(main(source, signed, args.public_key))
