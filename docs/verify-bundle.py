#!/usr/bin/env python3
"""Check an evidentia hand-over bundle by hand, independently of evidentia's code.

Usage: python3 verify-bundle.py BUNDLE_DIR TRUST_FILE [CHECKPOINT_SHA256]

Needs only Python 3's standard library and the `openssl` command (for Ed25519). Follows
docs/FORMAT.md and docs/VERIFYING.md. It does NOT parse CBOR: canonical encoding and the field
rules of each record (FORMAT.md sections 3-6) are left to `evidentia verify`. It ties each
document to its signed record by finding the record's content, size and path bytes in it.
Trust-file attributes (valid-after, valid-before, ...) are not applied.
Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or no openssl.
"""
import base64, hashlib, json, os, subprocess, sys, tempfile

H = lambda b: hashlib.sha256(b).digest()
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
    return ok


def safe_path(root, rel):
    """The file under root that a bundle-relative path names, or None if it could escape."""
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
        return None
    return os.path.join(root, *parts)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def b64(text):
    """Strict base64 (FORMAT.md section 1): it must re-encode to the same text."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise ValueError("non-canonical base64")
    return raw


def cbor_head(major, n):
    """Canonical CBOR head of major type `major` and argument n (FORMAT.md section 3)."""
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")


def fold_proof(leaf, index, size, proof, root):
    """RFC 9162 section 2.1.3.2: does `proof` take leaf `index` to `root` of tree `size`?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = H(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = H(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def load_trust(path):
    """Trust file lines `name+keyid+base64(0x01 || key) [attributes]` -> {(name, id): key}."""
    keys = {}
    for n, line in enumerate(read(path).decode("utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()[0].split("+", 2)
        try:
            name, key_id, raw = fields[0], fields[1], b64(fields[2])
            ok = len(raw) == 33 and raw[0] == 1
            ok = ok and H(name.encode() + b"\n" + raw)[:4].hex() == key_id
        except (ValueError, IndexError):
            ok = False
        if check(ok, f"trust file line {n}: key {'+'.join(fields[:2])} is well-formed"):
            keys[(name, bytes.fromhex(key_id))] = raw[1:]
    return keys


def ed25519_verify(public, message, signature):
    """Ed25519 with the openssl command: PEM = DER prefix for Ed25519 SPKI + the raw 32 bytes."""
    der = bytes.fromhex("302a300506032b6570032100") + public
    pem = "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n"
    pem %= base64.b64encode(der).decode()
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in (("key.pem", pem.encode()), ("message", message), ("sig", signature)):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        run = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem",
                              "-rawin", "-in", "message", "-sigfile", "sig"],
                             cwd=tmp, capture_output=True)
    return run.returncode == 0


def main(root, trust_path, pin=None):
    # 1. Transport integrity: every line of SHA256SUMS (as `sha256sum -c SHA256SUMS` does),
    # and no payload file left out of it. Only failures are listed one by one.
    listed, bad = set(), 0
    for line in read(os.path.join(root, "SHA256SUMS")).decode("utf-8").splitlines():
        digest, _, rel = line.partition("  ")
        path = safe_path(root, rel)
        listed.add(rel)
        if not (path and os.path.isfile(path) and H(read(path)).hex() == digest):
            bad += 1
            check(False, f"SHA256SUMS: {rel} is missing or its SHA-256 differs")
    check(bad == 0 and listed, f"SHA256SUMS: {len(listed) - bad} of {len(listed)} file(s) match")
    for dirpath, _, names in os.walk(os.path.join(root, "data")):
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if rel not in listed:
                check(False, f"{rel} is not listed in SHA256SUMS")

    # 2. The checkpoint: lines 1-3 are origin, tree size, base64 root (FORMAT.md section 10).
    manifest = json.loads(read(os.path.join(root, "data", "bundle.json")))
    note = read(os.path.join(root, "data", "checkpoint"))
    split = note.rfind(b"\n\n")
    text, block = note[: split + 1], note[split + 2 :]
    lines = text.decode("utf-8").split("\n")
    check(split > 0 and note.endswith(b"\n") and len(lines) >= 5,
          "data/checkpoint is a signed note")
    origin, size, root_hash = lines[0], int(lines[1]), b64(lines[2])
    check(origin == manifest["origin"] and size == manifest["tree_size"]
          and lines[3] == f"number {manifest['checkpoint']}",
          f"checkpoint {manifest['checkpoint']} of {origin}: {size} records, "
          f"root {root_hash.hex()} (matches data/bundle.json)")
    text_hash = H(text).hex()
    print(f"      checkpoint text SHA-256: {text_hash}")
    if pin is not None:
        check(text_hash == pin.lower(), f"checkpoint text SHA-256 equals the pinned {pin}")

    # 3. Signatures (FORMAT.md sections 8 and 9), against keys obtained out of band.
    keys, valid = load_trust(trust_path), 0
    for line in block.decode("utf-8").splitlines():
        if not line.startswith("\u2014 ") or line.count(" ") != 2:
            check(False, f"signature line {line[:40]!r} is well-formed")
            continue
        name, sig_b64 = line.split(" ")[1:]
        raw = b64(sig_b64)
        key = keys.get((name, raw[:4]))
        if key is None:
            print(f"      signature by {name}+{raw[:4].hex()}: not in the trust file, ignored")
            continue
        if check(len(raw) == 68 and ed25519_verify(key, text, raw[4:]),
                 f"signature by {name}+{raw[:4].hex()} verifies"):
            valid += 1
    check(valid > 0, f"the checkpoint has {valid} valid signature(s) by trusted keys")

    # 4. Records: named by their SHA-256, and proven in the signed tree (FORMAT.md sections 2, 7).
    records = {}
    for rec in manifest["records"]:
        rid, index = rec["id"], rec["index"]
        path = safe_path(root, f"data/records/{rid}.cbor")
        data = read(path) if path and os.path.isfile(path) else b""
        if not check(H(data).hex() == rid,
                     f"record #{index} ({rec['kind']}): SHA-256 is its name {rid}"):
            continue
        records[rid] = data
        proof = [bytes.fromhex(p) for p in rec["proof"]]
        check(fold_proof(H(b"\x00" + data), index, size, proof, root_hash),
              f"record #{index}: inclusion proof leads to the checkpoint's root")

    # 5. Documents: bytes match bundle.json, and bundle.json matches the signed record.
    for doc in manifest["documents"]:
        path, content, length = safe_path(root, doc["file"]), doc["content"], doc["size"]
        data = read(path) if path and os.path.isfile(path) else None
        check(data is not None and doc["file"].startswith("data/documents/")
              and H(data).hex() == content and len(data) == length,
              f"document {doc['path']}: {length} bytes, SHA-256 {content}")
        record = records.get(doc["record"], b"")
        name = doc["path"].encode("utf-8")
        # In a document record, key 3 (content, 32 bytes) is followed by key 4 (size), and
        # key 6 (path) by key 7; texts cannot hold these bytes (no control characters).
        digest_size = b"\x03\x58\x20" + bytes.fromhex(content) + b"\x04" + cbor_head(0, length)
        check(record[1:11] == b"\x00\x68document" and digest_size in record
              and b"\x06" + cbor_head(3, len(name)) + name + b"\x07" in record,
              f"document {doc['path']}: its digest, size and path are in record "
              f"{doc['record'][:16]}...")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    try:
        subprocess.run(["openssl", "version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        print("the openssl command is needed", file=sys.stderr)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except Exception as e:  # a damaged bundle must give a verdict, not a traceback
        check(False, f"the bundle could not be read: {type(e).__name__}: {e}")
    if failures:
        print(f"{len(failures)} CHECK(S) FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("ALL CHECKS PASSED")
