#!/usr/bin/env python3
"""Check an evidentia hand-over bundle by hand, independently of evidentia's code.

Usage: python3 verify-bundle.py BUNDLE TRUST_FILE [CHECKPOINT_SHA256]    (a directory or a tar)

Needs only Python 3.8+ (standard library) and the `openssl` command (for Ed25519). Applies the
checks of docs/FORMAT.md section 17 in the order of its table, with the same problem codes as
`evidentia verify BUNDLE --trust TRUST_FILE`: each problem is printed as
`PROBLEM [code] item: detail`. Not done here: RFC 3161 time-stamp tokens, witness cosignatures
and `--since` (they need inputs this script does not take).
Exit status: 0 all checks passed, 1 a problem was found, 2 bad usage, an unusable trust file or
no openssl.
"""
import base64, hashlib, json, os, re, stat, subprocess, sys, tempfile, unicodedata

H = lambda b: hashlib.sha256(b).digest()
BUNDLE_FORMAT = "evidentia-bundle/2"
BUNDLE_FORMAT_1 = "evidentia-bundle/1"
CURRENT_AREA, OTHER_AREA = "data/documents/", "data/versions/"
# Rust's char::is_whitespace (Unicode White_Space), so text splits exactly as evidentia's do.
WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
     "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


class Bad(Exception):
    """A value breaks a rule; the message says which."""


class Report:
    def __init__(self):
        self.problems = []

    def problem(self, item, code, detail):
        self.problems.append((item, code, detail))
        print(f"PROBLEM [{code}] {item}: {detail}")


def info(text):
    print("      " + text)


def is_control(c):
    return unicodedata.category(c) == "Cc"


def lines(text):
    """Rust's str::lines: split at LF, drop one trailing CR per line and a final empty line."""
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    return [l[:-1] if l.endswith("\r") else l for l in out]


def b64(text):
    """Strict base64 (FORMAT.md section 1): it must re-encode to the same text."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise Bad("non-canonical base64")
    return raw


# ---- Timestamps (FORMAT.md section 6), compared as (seconds since 0000-03-01, nanoseconds) ----

def days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy


TS = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z")


def timestamp(text, canonical=True):
    m = TS.match(text if canonical else text.strip(WS))
    if not m:
        raise Bad(f"'{text}' is not an RFC 3339 date-time")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= mo <= 12 and 1 <= d <= days[mo - 1] and h < 24 and mi < 60 and s < 60):
        raise Bad(f"'{text}' is not a valid date and time")
    frac = m.group(7) or ""
    if len(frac) > 10:
        raise Bad(f"'{text}' has more than 9 fraction digits")
    nanos = int((frac[1:] + "000000000")[:9]) if frac else 0
    off = m.group(8)
    shift = 0 if off in "Zz" else (1 if off[0] == "+" else -1) * (int(off[1:3]) * 3600 + int(off[4:]) * 60)
    secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - shift
    if canonical:
        digits = f"{nanos:09d}".rstrip("0")
        want = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}" + (f".{digits}" if digits else "") + "Z"
        if want != text:
            raise Bad(f"'{text}' is not in canonical form; expected {want}")
    return (secs, nanos)


# ---- Ed25519: openssl verifies; the strict checks of verify_strict are done here ----

P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A, B = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    C, Dd = 2 * t1 * t2 * D % P, 2 * z1 * z2 % P
    E, F, G, Hh = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * Hh % P, F * G % P, E * Hh % P)


def decode_point(raw):
    """The point of a 32-byte encoding, or None if it is not one (RFC 8032 section 5.1.3)."""
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P or (x == 0 and sign):
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def small_order(point):
    for _ in range(3):
        point = point_add(point, point)
    x, y, z, _ = point
    return x % P == 0 and (y - z) % P == 0


def ed25519_verify(public, message, signature):
    """verify_strict: canonical S, R and the key not of small order, then openssl's check."""
    key, r = decode_point(public), decode_point(signature[:32])
    if len(signature) != 64 or key is None or r is None or small_order(key) or small_order(r):
        return False
    if int.from_bytes(signature[32:], "little") >= L:
        return False
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


def check_name(name):
    if not name or len(name) > 64 or any(c in WS or is_control(c) or c == "+" for c in name):
        raise Bad(f"bad signer name '{name}'")


def verifier_key(text):
    """A verifier key text (FORMAT.md section 8) -> (name, key id, public key)."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise Bad("a verifier key is name+keyid+base64")
    name, key_id, raw = parts[0], parts[1], b64(parts[2])
    check_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", key_id):
        raise Bad("the key id is not 8 lowercase hex digits")
    if len(raw) != 33 or raw[0] != 1:
        raise Bad("not an Ed25519 key")
    point = decode_point(raw[1:])
    if point is None or small_order(point):
        raise Bad("not a valid Ed25519 public key, or a weak one")
    if H(name.encode() + b"\n" + raw)[:4].hex() != key_id:
        raise Bad("the key id does not match the name and key")
    return (name, bytes.fromhex(key_id), raw[1:])


# ---- Canonical CBOR (FORMAT.md section 3) and records (section 4) ----

MAX_RECORD = 1 << 20


class CMap(list):
    """A decoded CBOR map: its (key, value) pairs in order (keys may be unhashable)."""


def cbor_item(data, at, depth):
    if depth > 16:
        raise Bad("nested too deeply")
    if at >= len(data):
        raise Bad("truncated")
    major, ai = data[at] >> 5, data[at] & 31
    at += 1
    if ai < 24:
        n = ai
    elif ai <= 27:
        size = 1 << (ai - 24)
        if at + size > len(data):
            raise Bad("truncated")
        n = int.from_bytes(data[at:at + size], "big")
        at += size
        if n < (24 if size == 1 else 1 << (4 * size)):
            raise Bad("not the shortest head")
    else:
        raise Bad("indefinite length or reserved head")
    if major > 5:
        raise Bad("tags, floats and simple values are not allowed")
    if major == 0:
        return n, at
    if major == 1:
        return -1 - n, at
    if major in (2, 3):
        if at + n > len(data):
            raise Bad("truncated")
        raw = data[at:at + n]
        return (bytes(raw) if major == 2 else raw.decode("utf-8")), at + n
    items = []
    for _ in range(n):
        if major == 4:
            item, at = cbor_item(data, at, depth + 1)
            items.append(item)
        else:
            start = at
            key, at = cbor_item(data, at, depth + 1)
            encoded = data[start:at]
            value, at = cbor_item(data, at, depth + 1)
            if items and encoded <= items[-1][2]:
                raise Bad("map keys repeated or not in bytewise order")
            items.append((key, value, encoded))
    return (items if major == 4 else CMap((k, v) for k, v, _ in items)), at


def cbor(data):
    if len(data) > MAX_RECORD:
        raise Bad("larger than 1 MiB")
    try:
        value, end = cbor_item(data, 0, 0)
    except UnicodeDecodeError:
        raise Bad("a text string is not UTF-8")
    if end != len(data):
        raise Bad("bytes follow the data item")
    return value


def text_of(v, key, limit, prose=False):
    if not isinstance(v, str):
        raise Bad(f"field {key}: expected a text string")
    if not v or len(v.encode()) > limit:
        raise Bad(f"field {key}: empty or longer than {limit} bytes")
    if any(is_control(c) and not (prose and c in "\n\t") for c in v):
        raise Bad(f"field {key}: contains a control character")
    return v


def bytes_of(v, key, size):
    if not isinstance(v, bytes) or len(v) != size:
        raise Bad(f"field {key}: expected {size} bytes")
    return v


def uint_of(v, key):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise Bad(f"field {key}: expected an unsigned integer")
    return v


def array_of(v, key, most):
    if not isinstance(v, list) or isinstance(v, CMap) or not 1 <= len(v) <= most:
        raise Bad(f"field {key}: expected 1 to {most} items")
    return v


def tags_of(v, key):
    for tag in array_of(v, key, 256):
        if any(c in WS for c in text_of(tag, key, 256)):
            raise Bad(f"field {key}: a tag contains whitespace")


def logical_path(p):
    parts = p.split("/")
    if p.startswith("/") or "\\" in p or any(is_control(c) for c in p) \
            or any(x in ("", ".", "..") or len(x.encode()) > 255 for x in parts) \
            or not unicodedata.is_normalized("NFC", p):
        raise Bad(f"'{p}' is not a logical path (FORMAT.md section 5)")


ESCAPE_SHAPE = re.compile(r"%[0-9A-F]{2}")


def escape_component(raw):
    """The escaped form of one name component (FORMAT.md section 5.1)."""
    out = []
    for c in raw.decode("utf-8", "surrogateescape"):
        if 0xDC80 <= ord(c) <= 0xDCFF:  # a byte that is not part of a UTF-8 character
            out.append("%%%02X" % (ord(c) - 0xDC00))
        elif is_control(c) or c in "\\%":
            out.extend("%%%02X" % b for b in c.encode())
        else:
            out.append(c)
    text = "".join(out)
    if unicodedata.is_normalized("NFC", text):
        return text
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in b"%\\" else "%%%02X" % b for b in raw)


def name_component(raw):
    """(logical component, original-name text, escaped?) of one component of a file's name."""
    try:
        text = raw.decode("utf-8")
        nfc = unicodedata.normalize("NFC", text)
        if not any(is_control(c) or c == "\\" for c in nfc) and not ESCAPE_SHAPE.search(nfc):
            return nfc, text, False
    except UnicodeDecodeError:
        pass
    escaped = escape_component(raw)
    return escaped, escaped, True


def original_path(raw, path, name):
    """Field 14 must be what the path and original-name were made from (FORMAT.md 5.1)."""
    if not isinstance(raw, bytes) or not 1 <= len(raw) <= 4096:
        raise Bad("field 14 (original-path): expected 1 to 4096 bytes")
    parts = [name_component(c) for c in raw.split(b"/")]
    if not any(escaped for _, _, escaped in parts):
        raise Bad("field 14 (original-path): no component needs escaping (omit the field when none does)")
    made = "/".join(part for part, _, _ in parts)
    logical_path(made)
    if made != path:
        raise Bad(f"field 14 (original-path): gives the logical path '{made}', but the record's path is '{path}'")
    if parts[-1][1] != name:
        raise Bad(f"field 14 (original-path): gives the original-name '{parts[-1][1]}', but the record holds '{name}'")


def media_type(t):
    kind, _, sub = t.partition("/")
    if not kind or not sub or "/" in sub or any(c in WS or is_control(c) for c in t):
        raise Bad(f"'{t}' is not a type/subtype media type")


SELECTORS = {"text-quote": 0, "text-position": 1, "byte-range": 2, "page": 3, "time-range": 4,
             "rectangle": 5}


def selector(v):
    if not isinstance(v, CMap) or any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k, _ in v):
        raise Bad("a selector is not a map with unsigned keys")
    f = dict(v)
    kind = text_of(f.pop(0, None), 0, 32)
    if kind not in SELECTORS:
        raise Bad(f"unknown selector type '{kind}'")
    if kind == "text-quote":
        text_of(f.pop(1, None), 1, 65536, True)
        for k in (2, 3):
            if k in f:
                text_of(f.pop(k), k, 4096, True)
    else:
        want = {"page": 1, "rectangle": 4}.get(kind, 2)
        nums = [uint_of(f.pop(k, None), k) for k in range(1, want + 1)]
        if kind == "page" and nums[0] < 1:
            raise Bad("pages are numbered from 1")
        if kind == "rectangle" and (nums[2] < 1 or nums[3] < 1):
            raise Bad("a rectangle needs a non-zero width and height")
        if want == 2 and nums[0] >= nums[1]:
            raise Bad(f"{kind} {nums[0]}..{nums[1]} is empty")
    if f:
        raise Bad(f"field {min(f)} is not defined for selectors")
    return SELECTORS[kind]


def sealed_map(v, key):
    """The `sealed` map of an annotation or custody event (FORMAT.md section 23.9)."""
    if not isinstance(v, CMap) or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 0 for k, _ in v):
        raise Bad(f"field {key}: expected a map with unsigned-integer keys")
    m = dict(v)
    out = {"content": bytes_of(m.pop(0, None), key, 32), "size": uint_of(m.pop(1, None), key)}
    enc = encryption_map(m.pop(2, None), key)
    if m:
        raise Bad(f"field {min(m)} is not defined for 'sealed' maps")
    if "plaintext_sha256" not in enc:
        raise Bad(f"field {key}: hidden fields are bound by their plaintext SHA-256 (2)")
    if enc["plaintext_size"] > 1 << 20:
        raise Bad(f"field {key}: a hidden-fields plaintext is at most 1048576 bytes")
    out.update(enc)
    return out


def annotation(f):
    about = [bytes_of(f.pop(3, None), 3, 32)]
    order = []
    if 4 in f:
        order = [selector(s) for s in array_of(f.pop(4), 4, 6)]
        if any(a >= b for a, b in zip(order, order[1:])):
            raise Bad("selectors must be in canonical order with at most one of each type")
    sealed = 10 in f
    if sealed:
        sealed = sealed_map(f.pop(10), 10)
        if 7 in f or SELECTORS["text-quote"] in order:
            raise Bad("a sealed annotation keeps its quote and claim only in the ciphertext")
    else:
        text_of(f.pop(5, None), 5, 65536, True)
    if 6 in f:
        tags_of(f.pop(6), 6)
    if 7 in f:
        claim = f.pop(7)
        if not isinstance(claim, CMap) or not 1 <= len(claim) <= 64:
            raise Bad("field 7: expected 1 to 64 entries")
        for k, v in claim:
            text_of(k, 7, 64)
            if not all(c.isalnum() or c in "-_." for c in k):
                raise Bad(f"claim key '{k}' must be 1-64 letters, digits, '-', '_' or '.'")
            text_of(v, 7, 4096)
    if 8 in f:
        for link in array_of(f.pop(8), 8, 64):
            if not isinstance(link, CMap) or [k for k, _ in link] != [0, 1]:
                raise Bad("a link is {0: relation, 1: target}")
            rel = text_of(link[0][1], 8, 32)
            if rel not in ("corroborates", "contradicts", "duplicates", "derived-from", "supersedes"):
                raise Bad(f"unknown relation '{rel}'")
            about.append(bytes_of(link[1][1], 8, 32))
    if 9 in f:
        text_of(f.pop(9), 9, 4096)
    return {"about": about, "sealed": sealed or None, "targets": about[:1]}


def custody(f):
    about = [bytes_of(t, 3, 32) for t in array_of(f.pop(3, None), 3, 10000)]
    event = text_of(f.pop(4, None), 4, 32)
    if event not in ("received", "transferred", "accessed", "copied", "redacted", "other",
                     "ingested", "exported"):
        raise Bad(f"unknown custody event '{event}'")
    text_of(f.pop(5, None), 5, 4096)
    hidden = any(k in f for k in (6, 7, 8))
    for k in (6, 7):
        if k in f:
            text_of(f.pop(k), k, 4096)
    if 8 in f:
        text_of(f.pop(8), 8, 65536, True)
    if 9 in f:
        timestamp(text_of(f.pop(9), 9, 64))
    sealed = None
    if 10 in f:
        sealed = sealed_map(f.pop(10), 10)
        if hidden:
            raise Bad("a sealed custody event keeps its note, from and to only in the ciphertext")
    return {"about": about, "sealed": sealed, "targets": list(about)}


def document(f):
    out = {"content": bytes_of(f.pop(3, None), 3, 32), "size": uint_of(f.pop(4, None), 4)}
    out["media_type"] = text_of(f.pop(5, None), 5, 4096)
    media_type(out["media_type"])
    out["path"] = text_of(f.pop(6, None), 6, 4096)
    logical_path(out["path"])
    name = text_of(f.pop(7, None), 7, 4096)
    for k in (8, 10, 11):
        if k in f:
            text_of(f.pop(k), k, 4096)
    has_time = 9 in f
    if has_time:
        timestamp(text_of(f.pop(9), 9, 64))
    if 12 in f:
        text_of(f.pop(12), 12, 65536, True)
    if 13 in f:
        tags_of(f.pop(13), 13)
    if 14 in f:
        original_path(f.pop(14), out["path"], name)
    collected_offset(f, 15, has_time)
    if 16 in f:
        out["encryption"] = encryption_map(f.pop(16), 16)
    return out


def encryption_map(v, key):
    """The `encryption` map of an encrypted document or rewrap (FORMAT.md section 23.2)."""
    if not isinstance(v, CMap) or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 0 for k, _ in v):
        raise Bad(f"field {key}: expected a map with unsigned-integer keys")
    m = dict(v)
    if m.pop(0, None) != "age-v1":
        raise Bad(f"field {key}: the scheme is not 'age-v1'")
    out = {"plaintext_size": uint_of(m.pop(1, None), key)}
    has = (2 in m, 3 in m, 4 in m)
    if has == (True, False, False):
        out["plaintext_sha256"] = bytes_of(m.pop(2), key, 32)
    elif has == (False, True, True):
        out["commitment"] = bytes_of(m.pop(3), key, 32)
        opening = m.pop(4)
        if not isinstance(opening, bytes) or not 1 <= len(opening) <= 65536:
            raise Bad(f"field {key}: the opening must be 1 to 65536 bytes")
    else:
        raise Bad(f"field {key}: needs exactly one of plaintext-sha256 (2) or commitment (3) "
                  "with opening (4)")
    if 5 in m:
        bytes_of(m.pop(5), key, 32)
    if m:
        raise Bad(f"field {min(m)} is not defined for 'encryption' records")
    return out


def collected_offset(f, key, has_time):
    """The UTC offset (minutes) a collection time was given with (FORMAT.md section 4)."""
    if key not in f:
        return
    v = f.pop(key)
    if not has_time:
        raise Bad(f"field {key}: an offset without a collected-at time")
    if isinstance(v, bool) or not isinstance(v, int) or v == 0 or abs(v) > 1439:
        raise Bad(f"field {key}: expected a non-zero integer of minutes within +-1439")


def metadata(f):
    """Metadata added later to a document record (FORMAT.md, metadata records)."""
    about = [bytes_of(f.pop(3, None), 3, 32)]
    given = [k for k in range(4, 11) if k in f]
    if not given:
        raise Bad("a metadata record adds nothing (fields 4-10 all missing)")
    for k in (4, 7, 8):
        if k in f:
            text_of(f.pop(k), k, 4096)
    has_time = 5 in f
    if has_time:
        timestamp(text_of(f.pop(5), 5, 64))
    collected_offset(f, 6, has_time)
    if 9 in f:
        text_of(f.pop(9), 9, 65536, True)
    if 10 in f:
        tags_of(f.pop(10), 10)
    return {"about": about}


def key_event(f):
    action = text_of(f.pop(3, None), 3, 32)
    if action not in ("introduce", "rotate", "revoke"):
        raise Bad(f"unknown key action '{action}'")
    out = {"action": action, "key_text": text_of(f.pop(4, None), 4, 256)}
    out["key"] = verifier_key(out["key_text"])
    out["previous_text"] = text_of(f.pop(5), 5, 256) if 5 in f else None
    out["previous"] = verifier_key(out["previous_text"]) if out["previous_text"] else None
    out["endorsement"] = bytes_of(f.pop(6), 6, 64) if 6 in f else None
    reason = text_of(f.pop(7), 7, 65536, True) if 7 in f else None
    out["effective"] = timestamp(text_of(f.pop(8), 8, 64)) if 8 in f else None
    shape = (out["previous"] is not None, out["endorsement"] is not None, reason is not None,
             out["effective"] is not None)
    if shape != {"introduce": (False, True, False, False), "rotate": (True, True, False, False),
                 "revoke": (False, False, True, True)}[action]:
        raise Bad(f"a '{action}' key record has the wrong fields")
    return out


def retraction(f):
    about = [bytes_of(f.pop(3, None), 3, 32)]
    text_of(f.pop(4, None), 4, 65536, True)
    return {"about": about}


def case(f):
    title = text_of(f.pop(3, None), 3, 1024)
    if not title.strip():
        raise Bad("field 3: the title is only whitespace")
    return {"title": title}


KINDS = {"document": document, "annotation": annotation, "retraction": retraction, "metadata": metadata,
         "custody": custody, "key": key_event, "case": case}


def record(data):
    """Decodes a record (FORMAT.md section 4) -> (kind, fields the bundle checks use)."""
    value = cbor(data)
    if not isinstance(value, CMap):
        raise Bad("a record is a map")
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k, _ in value):
        raise Bad("a record's keys are unsigned integers")
    f = dict(value)
    kind = text_of(f.pop(0, None), 0, 64)
    if not re.fullmatch(r"[a-z0-9-]{1,64}", kind):
        raise Bad(f"'{kind}' is not a kind name")
    bytes_of(f.pop(1, None), 1, 16)
    recorded_at = timestamp(text_of(f.pop(2, None), 2, 64))
    if kind not in KINDS:
        return kind, {}
    fields = KINDS[kind](f) or {}
    if kind == "key":
        fields["recorded_at"] = recorded_at
    if f:
        raise Bad(f"field {min(f)} is not defined for '{kind}' records")
    return kind, fields


def hex32(text):
    """A digest in data/bundle.json: exactly 64 lowercase hex digits, or None."""
    return bytes.fromhex(text) if re.fullmatch(r"[0-9a-f]{64}", text) else None


# ---- Merkle proofs (FORMAT.md section 7, RFC 9162 section 2.1.3) ----

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


def consistent(size1, size2, root1, root2, proof):
    """RFC 9162 section 2.1.4.2: does `proof` show tree `size2` extends tree `size1`?"""
    if size1 > size2:
        return False
    if size1 == 0:
        return not proof and root1 == H(b"")
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False
    if size1 & (size1 - 1) == 0:
        proof = [root1] + proof
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = H(b"\x01" + c + fr), H(b"\x01" + c + sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = H(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2


# ---- Reading the bundle: nothing but plain files and directories is opened (checks 1-2) ----

def walk(root, rep):
    """Every regular file under root (relative, '/'-separated); anything else is a problem."""
    files, lower = set(), {}
    stack = [b""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(os.fsencode(root), rel_dir)) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
            try:
                name = rel.decode("utf-8")
            except UnicodeDecodeError:
                rep.problem(rel.decode("utf-8", "replace"), "unsafe-path", "the name is not UTF-8")
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                rep.problem(name, "unsafe-entry",
                            "symbolic links are not allowed in a bundle; it was not followed")
            elif stat.S_ISDIR(mode):
                stack.append(rel)
            elif not stat.S_ISREG(mode):
                rep.problem(name, "unsafe-entry", "not a regular file (device, fifo or socket)")
            else:
                if name.lower() in lower:
                    rep.problem(name, "case-collision",
                                f"differs from '{lower[name.lower()]}' only in case")
                lower[name.lower()] = name
                files.add(name)
    return files


MAX_ENTRIES = 1_000_000


def extract_tar(path, into, rep):
    """Unpacks a bundle tar into `into` as evidentia does: only plain files and directories at
    safe paths, no name twice (ignoring case), and never within 256 MiB of filling the disk."""
    import tarfile
    seen, unpacked = set(), 0
    free = os.statvfs(into)
    budget = max(free.f_bavail * free.f_frsize - (256 << 20), 0)
    with tarfile.open(path, "r:") as tar:
        for count, entry in enumerate(tar):
            if count >= MAX_ENTRIES:
                return rep.problem("tar", "too-many-entries", f"more than {MAX_ENTRIES} entries")
            name = entry.name
            if entry.isdir() and name and all(p in ("", ".") for p in name.split("/")):
                continue
            rel = safe_relative(name)
            if rel is None:
                rep.problem(name, "unsafe-path", "an entry's path escapes the bundle or is not plain")
            elif entry.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE):
                rep.problem(name, "unsafe-entry",
                            "only plain files and directories are allowed (no links or devices)")
            elif not entry.isdir() and rel.lower() in seen:
                rep.problem(name, "duplicate-name",
                            "two entries have this name (perhaps differing only in case)")
            elif entry.isdir():
                os.makedirs(os.path.join(into, rel), exist_ok=True)
            else:
                seen.add(rel.lower())
                unpacked += entry.size
                if unpacked > budget:
                    return rep.problem(name, "too-large", "unpacking the tar would nearly fill "
                                       "the temporary file system; unpack it yourself")
                target = os.path.join(into, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tar.extractfile(entry) as src, open(target, "wb") as out:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        out.write(chunk)


def unpacked_root(into):
    """The bundle in an unpacked tar: its one top-level directory (as `export --format tar`
    writes it), or the unpacked directory itself (a tar of the bundle's contents)."""
    if os.path.exists(os.path.join(into, "bagit.txt")):
        return into
    entries = os.listdir(into)
    if len(entries) == 1 and os.path.isdir(os.path.join(into, entries[0])) \
            and not os.path.islink(os.path.join(into, entries[0])):
        return os.path.join(into, entries[0])
    return into


def read_limited(path, limit):
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Bad(f"larger than {limit} bytes")
    return data


def read_bytes(root, files, name, limit, rep):
    if name not in files:
        rep.problem(name, "missing-file",
                    "not a regular file in the bundle (absent, or a link or special file, not opened)")
        return None
    try:
        return read_limited(os.path.join(root, name), limit)
    except (OSError, Bad) as e:
        rep.problem(name, "missing-file", str(e))
        return None


def read_text(root, files, name, limit, rep):
    data = read_bytes(root, files, name, limit, rep)
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        rep.problem(name, "bad-tag-file", "not UTF-8 text")
        return None


def safe_relative(rel):
    """Like evidentia: normal components only ('.' skipped), no backslash or control character."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if rel.startswith("/") or ".." in rel.split("/") or not parts:
        return None
    if any("\\" in p or any(is_control(c) for c in p) for p in parts):
        return None
    return "/".join(parts)


def hash_file(root, name):
    h = hashlib.sha256()
    with open(os.path.join(root, name), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_manifest(text):
    """BagIt manifest lines -> [(hex, path)], '%25', '%0D', '%0A' decoded (RFC 8493 2.1.3)."""
    out = []
    for n, line in enumerate(lines(text), 1):
        if not line.strip(WS):
            continue
        cut = next((i for i, c in enumerate(line) if c in WS), None)
        if cut is None:
            raise Bad(f"line {n}: expected 'checksum path'")
        digest, path = line[:cut], line[cut + 1:].lstrip(" \t")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            raise Bad(f"line {n}: the checksum is not 64 hex digits")
        pieces = path.split("%")
        decoded = pieces[0]
        for piece in pieces[1:]:
            code = {"25": "%", "0D": "\r", "0A": "\n"}.get(piece[:2].upper())
            if code is None or len(piece) < 2:
                raise Bad(f"line {n}: bad percent-encoding")
            decoded += code + piece[2:]
        out.append((digest.lower(), decoded))
    return out


def check_bag(root, files, rep):
    """Checks 3-7: the BagIt manifests, Payload-Oxum and SHA256SUMS. Returns the hashed payload."""
    hashed = {}
    text = read_text(root, files, "bagit.txt", 4096, rep)
    if text is not None and text != "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n":
        rep.problem("bagit.txt", "bad-bag",
                    "it must read exactly 'BagIt-Version: 1.0' and 'Tag-File-Character-Encoding: UTF-8'")
    text = read_text(root, files, "manifest-sha256.txt", 256 << 20, rep)
    if text is None:
        return hashed
    try:
        entries = parse_manifest(text)
    except Bad as e:
        rep.problem("manifest-sha256.txt", "bad-bag", str(e))
        return hashed
    listed_bytes = 0
    for digest, path in entries:
        if safe_relative(path) is None or not path.startswith("data/"):
            rep.problem(path, "unsafe-path", "a manifest path escapes the payload directory")
        elif path in hashed:
            rep.problem(path, "duplicate-name", "listed twice in manifest-sha256.txt")
        elif path not in files:
            rep.problem(path, "missing-file", "listed in manifest-sha256.txt but not in the bundle")
        elif hash_file(root, path) != digest:
            rep.problem(path, "payload-corrupt", f"the file does not hash to {digest}")
        else:
            listed_bytes += os.path.getsize(os.path.join(root, path))
            hashed[path] = digest
    listed = {p for _, p in entries}
    for name in sorted(f for f in files if f.startswith("data/") and f not in listed):
        rep.problem(name, "unlisted-payload",
                    "a payload file that no manifest lists; it is not part of the evidence")
    text = read_text(root, files, "bag-info.txt", 1 << 20, rep)
    if text is not None:
        oxum = next((l[len("Payload-Oxum:"):].strip(WS) for l in lines(text)
                     if l.startswith("Payload-Oxum:")), None)
        m = re.fullmatch(r"\+?(\d+)\.\+?(\d+)", oxum or "")
        if m is None:
            rep.problem("bag-info.txt", "bad-bag", "no Payload-Oxum")
        elif (int(m.group(1)), int(m.group(2))) != (listed_bytes, len(entries)):
            rep.problem("bag-info.txt", "bad-bag",
                        f"Payload-Oxum says {oxum}, the payload is {listed_bytes}.{len(entries)}")
    text = read_text(root, files, "tagmanifest-sha256.txt", 1 << 20, rep)
    if text is not None:
        try:
            for digest, name in parse_manifest(text):
                if safe_relative(name) is None or name.startswith("data/") or name not in files:
                    rep.problem(name, "bad-bag",
                                "tagmanifest-sha256.txt lists a missing or misplaced tag file")
                elif hash_file(root, name) != digest:
                    rep.problem(name, "tag-file-corrupt", "does not match tagmanifest-sha256.txt")
        except Bad as e:
            rep.problem("tagmanifest-sha256.txt", "bad-bag", str(e))
    text = read_text(root, files, "SHA256SUMS", 256 << 20, rep)
    if text is not None:
        try:
            sums = {p: d for d, p in parse_manifest(text)}
            if len(sums) != len(entries) or any(sums.get(p) != d for d, p in entries):
                rep.problem("SHA256SUMS", "checksums-disagree",
                            "SHA256SUMS and manifest-sha256.txt do not list the same files and digests")
        except Bad as e:
            rep.problem("SHA256SUMS", "checksums-disagree", str(e))
    return hashed


# ---- check 6a: only tag files outside data/, each listed; report pages inert ----

TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
             "SHA256SUMS", "VERIFY.txt", "verify-bundle.py", "report.html")
REPORT_TAGS = set("html head meta title style body header footer nav section div p h1 h2 h3 h4 a "
                  "span strong code blockquote ul ol li table thead tbody tr th td br "
                  "img svg rect text".split())
REPORT_ATTRIBUTES = set("lang charset name content class id href start src alt x y width height".split())
NUMERIC_ATTRIBUTES = ("x", "y", "width", "height")
# Media types a report may show as a picture: raster only, never SVG (FORMAT.md section 17, 6a).
RASTER_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
SRC_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
STYLE_DENIED = ("url(", "image", "@import", "@font-face", "\\", "expression", "binding", "behavior",
                "src")
MAX_PAGE_LEN = 512 << 20


def is_detail_file(name):
    digits = name[:-len(".html")] if name.endswith(".html") else ""
    return len(digits) >= 4 and all(c in "0123456789" for c in digits)


def is_report_page(name):
    return name == "report.html" or (name.startswith("report/") and is_detail_file(name[7:]))


def is_report_link(href):
    file, _, fragment = href.partition("#")
    fragment_ok = all(c.isascii() and (c.isalnum() or c in "-_") for c in fragment)
    file_ok = file in ("", "report.html", "../report.html") or is_detail_file(file) \
        or (file.startswith("report/") and is_detail_file(file[7:]))
    return fragment_ok and file_ok and href != ""


def image_src(file):
    """A bundle file's name as an <img src>: bytes outside A-Za-z0-9-._~/ as upper-case %XX."""
    return "".join(chr(b) if b in SRC_KEPT else f"%{b:02X}" for b in file.encode("utf-8"))


def image_allowed(src, images, detail_page):
    if detail_page:
        if not src.startswith("../"):
            return False
        src = src[3:]
    return src.startswith("data/") and src in images


def report_tag(tag, images=frozenset(), detail_page=False):
    """One tag (between '<' and '>'): raises Bad unless a report may use it; returns its name.
    images: the <img src> values the page may show (verified raster documents)."""
    if tag.startswith("/"):
        if tag[1:] not in REPORT_TAGS:
            raise Bad(f"a tag </{tag[1:61]}> that a report does not use")
        return ""
    name, _, rest = tag.partition(" ")
    if name not in REPORT_TAGS:
        raise Bad(f"a tag <{name[:60]}> that a report does not use")
    while rest:
        attribute, eq, after = rest.partition('="')
        value, quote, after = after.partition('"')
        if not eq or not quote or (after and not after.startswith(" ")):
            raise Bad(f"a malformed attribute in <{name}>: {rest[:60]}")
        if attribute not in REPORT_ATTRIBUTES:
            raise Bad(f"an attribute {attribute[:60]} that a report does not use")
        if attribute == "href" and not is_report_link(value):
            raise Bad(f"a link to {value[:60]} outside the report")
        if attribute == "src" and (name != "img" or not image_allowed(value, images, detail_page)):
            raise Bad(f"a picture from {value[:60]} that is not a verified image document of this bundle")
        if attribute == "charset" and not (value.isascii() and value.lower() == "utf-8"):
            raise Bad(f"a charset {value[:60]} other than utf-8")
        if attribute in NUMERIC_ATTRIBUTES and (value == "" or any(c not in "0123456789.%" for c in value)):
            raise Bad(f"an attribute {attribute} that is not a number: {value[:60]}")
        rest = after[1:]
    return name


def check_report_page(html, images=frozenset(), detail_page=False):
    in_style = False
    for n, piece in enumerate(html.split("<")[1:], 1):
        tag, gt, text = piece.partition(">")
        if not gt:
            raise Bad(f"'<' number {n} does not start a tag")
        # A browser reads all from <style> to </style> as CSS: the CSS checked must be all of it.
        if in_style and tag != "/style":
            raise Bad("a tag inside its style sheet")
        in_style = False
        if tag == "!DOCTYPE html":
            continue
        if report_tag(tag, images, detail_page) == "style":
            in_style = True
            css = text.lower()
            word = next((w for w in STYLE_DENIED if w in css), None)
            if word is not None:
                raise Bad(f"its style sheet holds '{word}', which could load or run something")


def check_tag_files(root, files, rep):
    listed = None
    if "tagmanifest-sha256.txt" in files:
        try:
            text = read_limited(os.path.join(root, "tagmanifest-sha256.txt"), 1 << 20).decode("utf-8")
            listed = {name for _, name in parse_manifest(text)}
        except (OSError, Bad, UnicodeDecodeError):
            listed = None
    for name in sorted(f for f in files if not f.startswith("data/")):
        if name not in TAG_FILES and not is_report_page(name):
            rep.problem(name, "stray-file",
                        "a file outside data/ that is none of the bundle's tag files; remove it")
            continue
        if name != "tagmanifest-sha256.txt" and listed is not None and name not in listed:
            rep.problem(name, "unlisted-tag-file", "a tag file that tagmanifest-sha256.txt does not list")


def check_report_pages(root, files, images, rep):
    """The report pages hold nothing that runs or loads anything; images: the <img src> of the
    disclosed raster documents whose bytes verified (empty when they were not checked)."""
    for name in sorted(f for f in files if is_report_page(f)):
        html = read_text(root, files, name, MAX_PAGE_LEN, rep)
        if html is None:
            continue
        try:
            check_report_page(html, images, name != "report.html")
        except Bad as e:
            rep.problem(name, "report-unsafe",
                        f"the report page holds {e}; do not open it in a browser")


# ---- data/bundle.json (check 8): exactly the members of FORMAT.md section 17 ----

U64, STR, HEX = "u64", "str", "hex"
RECORD_MEMBERS = {"index": U64, "id": STR, "kind": STR, "proof": [STR]}
DECRYPTED_MEMBERS = {"size": U64, "sha256": STR, "salt": STR, "opening": STR}
DOCUMENT_MEMBERS = {"record": STR, "content": STR, "size": U64, "path": STR, "file": STR,
                    "decrypted": DECRYPTED_MEMBERS}
# Members a listing may leave out, by shape.
OPTIONAL_IN = {id(DOCUMENT_MEMBERS): {"decrypted"},
               id(DECRYPTED_MEMBERS): {"sha256", "salt", "opening"}}
MANIFEST_MEMBERS = {
    "format": STR, "origin": STR, "checkpoint": U64, "tree_size": U64, "exported_at": STR,
    "recipient": (STR, None), "records": [RECORD_MEMBERS], "documents": [DOCUMENT_MEMBERS],
    "withheld": {"annotations": U64, "custody_events": U64, "retractions": U64},
    "consistency": [{"checkpoint": U64, "size": U64, "root": STR, "proof": [STR]}],
    "completeness": {"subjects": [{"subject": STR, "entries": [{"index": U64, "leaf": STR, "kind": STR}]}],
                     "proof": [STR]},
    "encryption": {"scheme": STR, "recipients": U64},
    "sealed": [{"record": STR, "form": STR, "file": STR}],
}
OPTIONAL = {"recipient": None, "consistency": [], "completeness": None, "encryption": None,
            "sealed": []}


def conforms(value, shape, where):
    if shape == U64:
        ok = type(value) is int and 0 <= value < 1 << 64
    elif shape == STR:
        ok = isinstance(value, str)
        if ok:
            value.encode("utf-8")  # a lone surrogate escape is not text
    elif isinstance(shape, tuple):
        ok = value is None or isinstance(value, str)
    elif isinstance(shape, list):
        ok = isinstance(value, list)
        for i, item in enumerate(value if ok else []):
            conforms(item, shape[0], f"{where}[{i}]")
    else:
        ok = isinstance(value, dict)
        if ok:
            extra = set(value) - set(shape)
            missing = set(shape) - set(value) - (set(OPTIONAL) if shape is MANIFEST_MEMBERS else
                                                 OPTIONAL_IN.get(id(shape), set()))
            if extra or missing:
                raise Bad(f"{where}: unknown member(s) {sorted(extra)} or missing {sorted(missing)}")
            for key, sub in shape.items():
                if key in value:
                    conforms(value[key], sub, f"{where}.{key}")
    if not ok:
        raise Bad(f"{where}: wrong type")


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise Bad(f"a JSON object repeats a member ({sorted(k for k in keys if keys.count(k) > 1)[0]})")
    return dict(pairs)


def refuse_constant(name):
    raise Bad(f"{name} is not JSON")


def load_manifest(data):
    text = data.decode("utf-8")
    manifest = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=refuse_constant,
                          parse_float=lambda f: refuse_constant(f"the float {f}"))
    conforms(manifest, MANIFEST_MEMBERS, "bundle.json")
    for key, default in OPTIONAL.items():
        manifest.setdefault(key, default)
    return manifest


# ---- data/checkpoint (check 9): a signed note (section 9) holding a checkpoint (section 10) ----

def parse_checkpoint(note):
    if len(note) > 1 << 20:
        raise Bad("larger than 1 MiB")
    note = note.decode("utf-8")
    if any(is_control(c) and c != "\n" for c in note) or not note.endswith("\n"):
        raise Bad("a control character, or no final newline")
    split = note.rfind("\n\n")
    if split < 0 or not note[split + 2:]:
        raise Bad("no signature block")
    text, block = note[:split + 1], note[split + 2:]
    signatures = []
    for line in block[:-1].split("\n"):
        if len(signatures) == 100 or not line.startswith("\u2014 ") or " " not in line[2:]:
            raise Bad(f"bad signature line {line[:40]!r}")
        name, sig = line[2:].split(" ", 1)
        check_name(name)
        raw = b64(sig)
        if len(raw) < 5:
            raise Bad("a signature shorter than a key id")
        signatures.append((name, raw[:4], raw[4:]))
    parts = text[:-1].split("\n")
    if len(parts) < 5 or not re.fullmatch(r"0|[1-9][0-9]*", parts[1]):
        raise Bad("not a checkpoint")
    origin, size, root = parts[0], int(parts[1]), b64(parts[2])
    if not origin or len(origin.encode()) > 256 or any(c in WS or is_control(c) for c in origin):
        raise Bad(f"bad origin '{origin}'")
    m = re.fullmatch(r"number ([1-9][0-9]*)", parts[3])
    if not m or len(root) != 32 or size >= 1 << 64 or int(m.group(1)) >= 1 << 64:
        raise Bad("bad size, root or number line")
    number, rest = int(m.group(1)), parts[4:]
    if (number == 1) == rest[0].startswith("previous "):
        raise Bad("previous line required after checkpoint 1, absent in checkpoint 1")
    if number > 1 and not re.fullmatch(r"previous [0-9a-f]{64}", rest.pop(0)):
        raise Bad("bad previous line")
    if not rest or not rest[0].startswith("time "):
        raise Bad("no time line")
    time = timestamp(rest.pop(0)[5:])
    refs = None
    if rest and rest[0].startswith("refs "):
        refs = b64(rest.pop(0)[5:])
        if len(refs) != 32:
            raise Bad("bad refs line")
    if rest:
        message = rest.pop(0)
        if not message.startswith("message ") or rest:
            raise Bad("extra lines")
        message = message[8:]
        if not message or len(message.encode()) > 1000 or message.strip(WS) != message \
                or any(is_control(c) for c in message):
            raise Bad("bad message line")
    return {"origin": origin, "size": size, "root": root, "number": number, "time": time,
            "refs": refs, "text": text.encode(), "signatures": signatures}


# ---- Documents (check 12): the bytes, the record, and the place the record dictates ----

def place(documents, suffix=""):
    """FORMAT.md section 17, "Layout": [(record id, path)] in log order -> {record id: file}.
    suffix: ".age" in an encrypted bundle (section 23.8), part of every name compared."""
    versions = {}
    for rid, path in documents:
        versions.setdefault(path, []).append(rid)
    taken_files, taken_dirs, out = set(), set(), {}
    for rid, path in documents:
        name = path.replace("%", "\uff05") + suffix
        other = f"{OTHER_AREA}{rid}/{name}"
        if versions[path][-1] != rid:
            out[rid] = other
            continue
        file = f"{CURRENT_AREA}{name}"
        low = file.lower()
        ancestors = [low[:i] for i, c in enumerate(low) if c == "/"]
        if low in taken_files or low in taken_dirs or any(a in taken_files for a in ancestors):
            out[rid] = other
            continue
        taken_files.add(low)
        taken_dirs.update(ancestors)
        out[rid] = file
    return out


AGE_CHUNK, AGE_TAG = 65536, 16


def age_plaintext_size(payload):
    """FORMAT.md section 23.1: the plaintext size of an age payload of this length, or None."""
    chunks, rest = divmod(payload, AGE_CHUNK + AGE_TAG)
    if rest == 0 and chunks > 0:
        return chunks * AGE_CHUNK
    if rest == AGE_TAG and chunks == 0:
        return 0
    if rest > AGE_TAG:
        return chunks * AGE_CHUNK + rest - AGE_TAG
    return None


def check_age_file(path, size, recipients):
    """FORMAT.md section 23.8, no key: (code, detail) of what is wrong with the age file at
    path, or None. Parses the header (section 23.1) to learn its length and stanza types."""
    total = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(64 * 1024)  # the longest header allowed, its MAC line included
    B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    at, types = 0, []

    def line():
        nonlocal at
        end = head.find(b"\n", at)
        if end < 0:
            raise Bad("the header ends before its MAC line")
        text, at = head[at:end], end + 1
        return text
    try:
        if line() != b"age-encryption.org/v1":
            raise Bad("not an age v1 file")
        while True:
            text = line()
            if text.startswith(b"--- "):
                mac = text[4:]
                if len(mac) != 43 or not set(mac) <= B64:
                    raise Bad("a malformed header MAC")
                break
            if not text.startswith(b"-> ") or len(text) <= 3:
                raise Bad("a malformed stanza line")
            args = text[3:].split(b" ")
            if any(not a for a in args):
                raise Bad("a malformed stanza line")
            types.append(args[0].decode("ascii", "replace"))
            while True:  # the body: base64 lines of 64 characters, the last one shorter
                body = line()
                if not set(body) <= B64 or len(body) > 64:
                    raise Bad("a malformed stanza body")
                if len(body) < 64:
                    break
    except Bad as e:
        return ("ciphertext-malformed", str(e))
    header_len = at + 16
    types = [t for t in types if not t.endswith("-grease")]
    if not types:
        return ("ciphertext-malformed", "no recipient stanza")
    other = [t for t in types if t != "X25519"]
    if other:
        return ("ciphertext-malformed", f"a recipient stanza of type '{other[0]}': only X25519 is allowed")
    plain = age_plaintext_size(total - header_len) if total >= header_len else None
    if plain is None:
        return ("ciphertext-malformed", "the payload is not a whole number of age chunks")
    if recipients is not None and len(types) != recipients:
        return ("recipients-mismatch",
                f"encrypted to {len(types)} recipient(s), data/bundle.json says {recipients}")
    if plain != size:
        return ("plaintext-size-mismatch",
                f"the ciphertext holds {plain} plaintext bytes, the record says {size}")
    return None


COMMITMENT_LABEL = b"evidentia:plaintext-commitment:v1\x00"


def check_decrypted(root, f, listed, binding, enc, hashed):
    """FORMAT.md section 23.9: a document stored encrypted, disclosed decrypted. (code, detail)
    of what is wrong, or None. `binding` is the record's encryption map (None: not encrypted)."""
    if enc is not None and hashed is not None and f not in hashed:
        return None  # failed the bag check, and named there already
    if binding is None:
        return ("bad-manifest", "listed as decrypted, but no disclosed record of a document "
                "stored encrypted has this path, digest and size")
    hidden = "commitment" in binding
    if enc is not None:
        # Ciphertext level only, against the signed plaintext size (no decryption here).
        if "sha256" in listed or "salt" in listed:
            return ("bad-manifest", "an encrypted bundle lists no plaintext digest or salt in the clear")
        if listed["size"] != binding["plaintext_size"]:
            return ("plaintext-size-mismatch", "data/bundle.json lists another plaintext size "
                    "than the signed record")
        if hidden != ("opening" in listed):
            return ("opening-missing", "the record hides the plaintext digest and no opening is "
                    "listed") if hidden else ("bad-manifest", "an opening is listed for a record "
                                              "that binds the plaintext digest itself")
        if hidden:
            try:
                b64(listed["opening"])
            except (Bad, ValueError):
                return ("bad-manifest", "the opening is not standard base64")
        return check_age_file(os.path.join(root, f), binding["plaintext_size"], enc["recipients"])
    if "opening" in listed:
        return ("bad-manifest", "an opening is listed only in an encrypted bundle")
    found = hash_file(root, f)
    size = os.path.getsize(os.path.join(root, f))
    if listed.get("sha256") != found or listed["size"] != size:
        return ("content-corrupt", "the file is not the plaintext data/bundle.json lists")
    if size != binding["plaintext_size"]:
        return ("plaintext-mismatch", f"{size} plaintext bytes, the signed record says "
                f"{binding['plaintext_size']}")
    if not hidden:
        if "salt" in listed:
            return ("bad-manifest", "a salt is listed for a record that binds the plaintext digest itself")
        if binding["plaintext_sha256"].hex() != found:
            return ("plaintext-mismatch", "the file's SHA-256 is not the signed record's")
        return None
    salt = listed.get("salt")
    if salt is None:
        return ("opening-missing", "the record hides the plaintext digest and no salt is listed")
    if hex32(salt) is None:
        return ("bad-manifest", "the salt is not 64 lowercase hex digits")
    opened = hashlib.sha256(COMMITMENT_LABEL + bytes.fromhex(salt) + bytes.fromhex(found)).digest()
    if opened != binding["commitment"]:
        return ("opening-mismatch", "the listed salt and the file's SHA-256 do not open the "
                "record's commitment")
    return None


def check_documents(root, files, manifest, decoded, rep, hashed=None):
    """Returns (<img src>, record id) of the listed raster documents whose bytes and place
    verified."""
    verified = []
    enc = manifest.get("encryption")
    if enc is not None and (enc["scheme"] != "age-v1" or enc["recipients"] == 0):
        rep.problem("data/bundle.json", "bad-manifest",
                    "encryption must be scheme 'age-v1' to at least one recipient")
    for doc in manifest["documents"]:
        rec = decoded.get(doc["record"], (None, None, {}))[2]
        ok = (rec.get("content", b"").hex(), rec.get("size"), rec.get("path")) == \
            (doc["content"], doc["size"], doc["path"])
        if not ok:
            rep.problem(doc["path"], "document-mismatch",
                        "no disclosed document record has this path, digest and size")
        f = doc["file"]
        if not f.startswith((CURRENT_AREA, OTHER_AREA)) or safe_relative(f) is None:
            rep.problem(doc["path"], "unsafe-path", f"document file '{f}' is outside the document areas")
        elif f not in files:
            rep.problem(doc["path"], "content-missing", f"{f} is not a regular file in the bundle")
        elif "decrypted" in doc:
            found = check_decrypted(root, f, doc["decrypted"], rec.get("encryption"), enc, hashed)
            if found is not None:
                rep.problem(doc["path"], *found)
            elif ok and enc is None and rec.get("media_type") in RASTER_TYPES:
                verified.append(doc)  # a clear plaintext, checked: a picture like any other
        elif enc is not None:
            # Ciphertext level only: the plaintext cannot be checked here (no decryption).
            found = None if hashed is not None and f not in hashed else \
                check_age_file(os.path.join(root, f), doc["size"], enc["recipients"])
            if found is not None:
                rep.problem(doc["path"], *found)
        elif hash_file(root, f) != doc["content"]:
            rep.problem(doc["path"], "content-corrupt", f"the file does not hash to {doc['content']}")
        elif os.path.getsize(os.path.join(root, f)) != doc["size"]:
            rep.problem(doc["path"], "content-corrupt", f"the record says {doc['size']} bytes")
        elif ok and rec.get("media_type") in RASTER_TYPES:
            verified.append(doc)
    listed = {d["record"] for d in manifest["documents"]}
    in_order = sorted((index, rid) for rid, (index, kind, _) in decoded.items() if kind == "document")
    for _, rid in in_order:
        if rid not in listed:
            rep.problem(decoded[rid][2]["path"], "document-missing",
                        "a disclosed document record whose content is not in the bundle")
    suffix = ".age" if enc is not None else ""
    dictated = place([(rid, decoded[rid][2]["path"]) for _, rid in in_order], suffix)
    seen = set()
    for doc in manifest["documents"]:
        if doc["record"] in seen:
            rep.problem(doc["path"], "bad-manifest", f"document record {doc['record']} is listed twice")
            continue
        seen.add(doc["record"])
        want = dictated.get(doc["record"])
        if want is not None and want != doc["file"]:
            rep.problem(doc["path"], "document-misplaced",
                        f"its record puts its bytes at '{want}', but data/bundle.json names '{doc['file']}'")
            verified = [d for d in verified if d is not doc]
    dictated_files = set(dictated.values())
    for name in sorted(files):
        if name.startswith((CURRENT_AREA, OTHER_AREA)) and name not in dictated_files:
            rep.problem(name, "unlisted-document",
                        "a file in a document area where no disclosed document record puts one")
    return {(image_src(d["file"]), d["record"]) for d in verified}


SEALED_AREA = "data/sealed/"
SEALED_EXT = {"stored": "age", "clear": "cbor", "encrypted": "age"}
HIDDEN_KINDS = {3: str, 4: CMap, 5: CMap, 6: str, 7: str, 8: str}


def names_record(data, kind, targets):
    """FORMAT.md section 23.10: (code, detail) unless data is a canonical hidden-fields
    plaintext naming this record's kind and targets."""
    try:
        value = cbor(data)
        if not isinstance(value, CMap):
            raise Bad("not a map")
        m = dict(value)
        bytes_of(m.pop(0, None), 0, 32)
        if (m.pop(1, None), m.pop(2, None)) != (kind, list(targets)):
            raise Bad("the fields of another record (its kind or targets differ)")
        for k, v in m.items():
            if not isinstance(k, int) or isinstance(k, bool) or \
                    not isinstance(v, HIDDEN_KINDS.get(k, type(None))):
                raise Bad(f"field {k} is not a hidden field of its type")
        if kind == "annotation" and not m.get(3):
            raise Bad("an annotation's hidden fields hold a body")
    except Bad as e:
        return ("sealed-fields-mismatch", str(e))
    return None


def check_sealed(root, files, manifest, decoded, rep, hashed=None):
    """Check 12d: the files of the disclosed sealed records' hidden fields (section 23.10)."""
    listed, dictated = set(), set()
    enc = manifest.get("encryption")
    for entry in manifest["sealed"]:
        rid, form, f = entry["record"], entry["form"], entry["file"]
        item = f"encrypted fields of record {rid}"
        fields = decoded.get(rid, (None, None, {}))[2]
        sealed = fields.get("sealed")
        if not sealed:
            rep.problem(item, "bad-manifest", "no disclosed record with encrypted fields has this id")
            continue
        if rid in listed:
            rep.problem(item, "bad-manifest", "listed twice")
            continue
        listed.add(rid)
        if form not in SEALED_EXT:
            rep.problem(item, "bad-manifest", "form is not stored, clear or encrypted")
            continue
        want = f"{SEALED_AREA}{rid}.{SEALED_EXT[form]}"
        if f != want:
            rep.problem(item, "bad-manifest", f"its file must be '{want}'")
            continue
        dictated.add(f)
        if f not in files:
            rep.problem(item, "sealed-fields-missing", f"{f} is not a regular file in the bundle")
            continue
        if hashed is not None and f not in hashed:
            continue  # failed the bag check, and named there already
        path, found = os.path.join(root, f), hash_file(root, f)
        size = os.path.getsize(path)
        plain = sealed["plaintext_size"]
        if form == "stored":
            if (found, size) != (sealed["content"].hex(), sealed["size"]):
                problem = ("content-corrupt", "the file is not the ciphertext the signed record names")
            else:
                problem = check_age_file(path, plain, None)
            rep.encrypted_fields = getattr(rep, "encrypted_fields", 0) + (problem is None)
        elif form == "encrypted":
            problem = ("bad-manifest", "fields re-encrypted in a bundle that names no recipients") \
                if enc is None else check_age_file(path, plain, enc["recipients"])
            rep.encrypted_fields = getattr(rep, "encrypted_fields", 0) + (problem is None)
        elif (found, size) != (sealed["plaintext_sha256"].hex(), plain):
            problem = ("sealed-fields-mismatch", "the file is not the plaintext the signed record commits to")
        else:
            with open(path, "rb") as h:
                problem = names_record(h.read(), decoded[rid][1], fields["targets"])
        if problem is not None:
            rep.problem(item, *problem)
    for rid, (_, _, fields) in sorted(decoded.items()):
        if fields.get("sealed") and rid not in listed:
            rep.problem(f"encrypted fields of record {rid}", "sealed-fields-missing",
                        "a disclosed record keeps fields in a ciphertext, and data/bundle.json "
                        "lists no file of them")
    # Honest sealed plaintexts begin with a fresh salt: two records committing to the same one
    # share fields copied from one into the other (section 23.10).
    first = {}
    for rid, (_, _, fields) in sorted(decoded.items()):
        sealed = fields.get("sealed")
        if not sealed:
            continue
        anchor = sealed["plaintext_sha256"].hex()
        if anchor in first:
            rep.problem(f"encrypted fields of record {rid}", "sealed-fields-reused",
                        f"the same sealed fields (plaintext {anchor}) as record {first[anchor]}: "
                        "one record's fields were copied into the other")
        else:
            first[anchor] = rid
    for name in sorted(files):
        if name.startswith(SEALED_AREA) and name not in dictated:
            rep.problem(name, "unlisted-sealed-fields",
                        "a file in data/sealed/ that no listed sealed record puts there")


# ---- Keys (check 13). The key-state rules live here alone (FORMAT.md section 13). ----

def load_trust(path):
    """Trust file (FORMAT.md section 8) -> [{key, valid_after, valid_before}]; Bad if unusable."""
    keys = []
    data = read_limited(path, 1 << 20).decode("utf-8")
    for n, line in enumerate(lines(data), 1):
        line = line.strip(WS)
        if not line or line.startswith("#"):
            continue
        cut = next((i for i, c in enumerate(line) if c in WS), len(line))
        try:
            entry = {"key": verifier_key(line[:cut]), "valid_after": None, "valid_before": None}
            rest, seen = line[cut:].lstrip(WS), set()
            while rest:
                name, eq, after = rest.partition("=")
                if not eq or not name or any(c in WS for c in name) or name in seen:
                    raise Bad(f"bad or repeated attribute near '{rest[:20]}'")
                if after.startswith('"'):
                    end = after.find('"', 1)
                    if end < 0 or (after[end + 1:] and after[end + 1] not in WS):
                        raise Bad(f"attribute {name}: bad quoting")
                    value, rest = after[1:end], after[end + 1:]
                else:
                    end = next((i for i, c in enumerate(after) if c in WS), len(after))
                    value, rest = after[:end], after[end:]
                if not value or any(is_control(c) for c in value):
                    raise Bad(f"attribute {name}: empty or a control character")
                if name not in ("signer", "valid-after", "valid-before", "roles"):
                    raise Bad(f"unknown attribute '{name}'")
                if name.startswith("valid-"):
                    entry[name.replace("-", "_")] = timestamp(value, canonical=False)
                seen.add(name)
                rest = rest.lstrip(WS)
        except Bad as e:
            raise Bad(f"trust file line {n}: {e}")
        keys.append(entry)
    if not keys:
        raise Bad("the trust file holds no key")
    return keys


def endorsement_valid(event, origin):
    if event["action"] == "revoke":
        return True
    message = f"evidentia key endorsement v1\n{origin}\n{event['action']}\n{event['key_text']}\n"
    if event["action"] == "rotate":
        message += event["previous_text"] + "\n"
    signer = event["key"] if event["action"] == "introduce" else event["previous"]
    return ed25519_verify(signer[2], message.encode(), event["endorsement"])


def key_state(trusted, key_events, origin):
    """The signer set, its lineages and retirements (FORMAT.md section 13), from the trust file
    and the bundle's key records. Each trust-file key starts a lineage (its root; a key listed
    twice is one root). Every revocation retires its key (by name and id) at its index and from
    its effective time. Then, in log order, a rotation by a key in the set (whole key compared)
    with a valid endorsement is refused if that key is already retired (at an earlier index, or
    by a revocation effective at or before the rotation's recorded-at): a retired key endorses
    nothing, so authority passes to at most one successor. Otherwise the new key joins the old
    key's lineage with its attributes (a key already in the set has its lineage merged) and the
    old key is retired at the rotation's index. Returns (keys, retirements)."""
    keys = []
    for k in trusted:
        root = next((o["root"] for o in keys if o["key"] == k["key"]), len(keys))
        keys.append(dict(k, root=root))
    retired = [(e["key"][:2], i, e["effective"]) for i, e in key_events if e["action"] == "revoke"]
    for index, event in key_events:
        if event["action"] != "rotate":
            continue
        old = next((k for k in keys if k["key"] == event["previous"]), None)
        if old is None or not endorsement_valid(event, origin):
            continue
        if any(who == event["previous"][:2] and
               (at < index or (eff is not None and event["recorded_at"] >= eff))
               for who, at, eff in retired):
            info(f"key-rotation-refused (record #{index}): {event['previous_text']} was already "
                 f"retired, so it endorses nothing; {event['key_text']} gains no trust")
            continue
        existing = next((k for k in keys if k["key"][:2] == event["key"][:2]), None)
        if existing is None:
            keys.append(dict(old, key=event["key"]))
        else:
            merged = existing["root"]
            for k in keys:
                if k["root"] == merged:
                    k["root"] = old["root"]
        retired.append((event["previous"][:2], index, None))
    return keys, retired


def check_signatures(cp, keys, retired, required, rep):
    valid, rejected = set(), []
    for name, key_id, sig in cp["signatures"]:
        key = next((k for k in keys if k["key"][:2] == (name, key_id)), None)
        label = f"{name}+{key_id.hex()}"
        if key is None:
            info(f"signature by {label}: not in the trust file, ignored")
        elif not ed25519_verify(key["key"][2], cp["text"], sig):
            rep.problem(f"checkpoint {cp['number']}", "signature-invalid",
                        f"the signature by {name} (key {key_id.hex()}) does not verify")
        elif any(who == (name, key_id) and (cp["size"] > at or (eff is not None and cp["time"] >= eff))
                 for who, at, eff in retired):
            rejected.append(f"{label} (revoked or rotated out)")
        elif (key["valid_after"] is not None and cp["time"] < key["valid_after"]) or \
                (key["valid_before"] is not None and cp["time"] >= key["valid_before"]):
            rejected.append(f"{label} (outside its validity window)")
        else:
            info(f"signature by {label} verifies")
            valid.add(key["root"])
    # --require counts lineages: keys rotated from one trusted key are one signer.
    why = f"; rejected: {', '.join(rejected)}" if rejected else ""
    if not valid:
        rep.problem(f"checkpoint {cp['number']}", "signature-missing",
                    f"no valid signature by keys in the trust file{why}")
    elif len(valid) < required:
        rep.problem(f"checkpoint {cp['number']}", "signatures-insufficient",
                    f"{len(valid)} independent signer(s), {required} required{why}")


# ---- The checks in the order of FORMAT.md section 17's table ----

def check_records(root, files, hashed, manifest, cp, rep):
    """Checks 10-11. Returns {record id: (index, kind, fields)} and the key events in order."""
    decoded, key_events, indices, proven = {}, [], set(), {}
    order = [r["index"] for r in manifest["records"]]
    if any(a > b for a, b in zip(order, order[1:])):
        # Key records take effect in log order: a list out of order could skip a rotation.
        rep.problem("data/bundle.json", "bad-manifest", "the records are not listed in log order")
    for rec in manifest["records"]:
        item = f"record #{rec['index']} ({rec['id']})"
        name = f"data/records/{rec['id']}.cbor"
        if hex32(rec["id"]) is None:
            rep.problem(item, "bad-manifest", "the record id is not a SHA-256 digest")
            continue
        if rec["index"] in indices or rec["index"] >= cp["size"]:
            rep.problem(item, "proof-invalid", "the index is repeated or outside the checkpoint's tree")
            continue
        indices.add(rec["index"])
        if name not in hashed:
            rep.problem(item, "missing-file", f"{name} is missing or failed its manifest check")
            continue
        try:
            data = read_limited(os.path.join(root, name), MAX_RECORD)
        except Bad as e:
            rep.problem(item, "record-unreadable", str(e))
            continue
        if H(data).hex() != rec["id"]:
            rep.problem(item, "record-corrupt", "the file's SHA-256 is not its name")
            continue
        proof = [hex32(p) for p in rec["proof"]]
        leaf = H(b"\x00" + data)
        if None in proof or not fold_proof(leaf, rec["index"], cp["size"], proof, cp["root"]):
            leaf = None
            rep.problem(item, "proof-invalid",
                        f"the inclusion proof does not lead to checkpoint {cp['number']}'s root")
        try:
            kind, fields = record(data)
        except Bad as e:
            rep.problem(item, "record-invalid", str(e))
            continue
        if kind != rec["kind"]:
            rep.problem(item, "bad-manifest", "the kind in data/bundle.json differs from the record")
        if kind == "key":
            if not endorsement_valid(fields, manifest["origin"]):
                rep.problem(item, "key-endorsement-invalid", "the key record's endorsement does not verify")
            key_events.append((rec["index"], fields))
        decoded[rec["id"]] = (rec["index"], kind, fields)
        if leaf is not None:
            proven[rec["index"]] = (bytes.fromhex(rec["id"]), leaf, kind, fields)
    listed = {f"data/records/{r['id']}.cbor" for r in manifest["records"]}
    for name in sorted(f for f in files if f.startswith("data/records/") and f not in listed):
        rep.problem(name, "unlisted-record", "a record file that data/bundle.json does not list")
    return decoded, key_events, proven


def check_consistency(manifest, cp, rep):
    for entry in manifest["consistency"]:
        root, proof = hex32(entry["root"]), [hex32(p) for p in entry["proof"]]
        if root is None or None in proof or not consistent(entry["size"], cp["size"], root, cp["root"], proof):
            rep.problem(f"consistency from checkpoint {entry['checkpoint']}", "consistency-invalid",
                        "the proof does not show this version contains that earlier one")


# ---- Completeness (check 12a, FORMAT.md section 21): format 2's reference map ----

KEYS_SUBJECT = ("keys",)
CASE_SUBJECT = ("case",)


def subjects_of(kind, fields):
    if kind == "document":
        return {("path", fields["path"])}
    if kind == "key":
        return {KEYS_SUBJECT}
    if kind == "case":
        return {CASE_SUBJECT}
    return {("about", d) for d in fields.get("about", [])}


def subject_key(subject):
    if subject[0] == "about":
        return H(b"\x00" + subject[1])
    if subject[0] == "path":
        return H(b"\x01" + subject[1].encode("utf-8"))
    if subject == CASE_SUBJECT:
        return H(b"\x03")
    return H(b"\x02")


def describe(subject):
    if subject[0] == "about":
        return f"records about sha256:{subject[1].hex()}"
    if subject[0] == "path":
        return f"versions of '{subject[1]}'"
    if subject == CASE_SUBJECT:
        return "the case title records"
    return "the key records"


def parse_subject(text):
    if text == "keys":
        return KEYS_SUBJECT
    if text == "case":
        return CASE_SUBJECT
    if text.startswith("about ") and re.fullmatch(r"[0-9a-f]{64}", text[6:]):
        return ("about", bytes.fromhex(text[6:]))
    if text.startswith("path "):
        logical_path(text[5:])
        return ("path", text[5:])
    raise Bad(f"'{text}' is not a subject")


def chain_value(entries):
    v = bytes(32)
    for index, leaf, kind in entries:
        v = H(b"\x12" + v + index.to_bytes(8, "big") + leaf + kind.encode("utf-8"))
    return v


def bit(key, depth):
    return (key[depth // 8] >> (7 - depth % 8)) & 1


def multiproof(steps, root, keys):
    """Section 21, "Multiproof": {key: value or None} for the sorted keys, or raises Bad."""
    found, at = {}, [0]

    def walk(depth, ks):
        if at[0] >= len(steps):
            raise Bad("the proof ends early")
        step = steps[at[0]].split(" ")
        at[0] += 1
        if step[0] == "hash" and len(step) == 2 and re.fullmatch(r"[0-9a-f]{64}", step[1]):
            if ks:
                raise Bad("a pruned subtree on a proven key's path")
            return bytes.fromhex(step[1])
        if step == ["empty"]:
            for k in ks:
                found[k] = None
            return bytes(32)
        if step[0] == "leaf" and len(step) == 3 and all(re.fullmatch(r"[0-9a-f]{64}", x) for x in step[1:]):
            key, value = bytes.fromhex(step[1]), bytes.fromhex(step[2])
            for k in ks:
                if any(bit(k, d) != bit(key, d) for d in range(depth)):
                    raise Bad("a leaf off the path of its keys")
                found[k] = value if k == key else None
            return H(b"\x10" + key + value)
        if step == ["inner"]:
            if not ks or depth >= 256:
                raise Bad("an inner node off every proven path, or too deep")
            left = walk(depth + 1, [k for k in ks if bit(k, depth) == 0])
            right = walk(depth + 1, [k for k in ks if bit(k, depth) == 1])
            return H(b"\x11" + left + right)
        raise MalformedStep()

    top = walk(0, sorted(set(keys)))
    if at[0] != len(steps):
        raise Bad("steps left over")
    if top != root:
        raise Bad("the proof does not lead to the signed reference-map root")
    return found


class MalformedStep(Exception):
    pass


def check_completeness(manifest, cp, proven, rep):
    section = manifest["completeness"]
    if cp["refs"] is None:
        if section is not None or manifest["format"] == BUNDLE_FORMAT:
            rep.problem("data/bundle.json", "bad-manifest",
                        "a format-1 checkpoint (no reference map) cannot have a completeness section")
        else:
            info("completeness NOT PROVABLE: a format-1 checkpoint commits to no reference map")
            report_case_title(proven, None)
        return
    if section is None:
        rep.problem("data/bundle.json", "completeness-missing",
                    "the checkpoint commits to a reference map but the bundle shows no completeness section")
        return
    if manifest["format"] != BUNDLE_FORMAT:
        rep.problem("data/bundle.json", "bad-manifest", f"a bundle of a format-2 checkpoint must say format '{BUNDLE_FORMAT}'")
    required = {KEYS_SUBJECT}
    for rid, _, kind, fields in proven.values():
        required.add(("about", rid))
        if kind == "document":
            required.add(("about", fields["content"]))
            required.add(("path", fields["path"]))
        if kind == "case":
            required.add(CASE_SUBJECT)
    listed = {}
    for s in section["subjects"]:
        try:
            subject = parse_subject(s["subject"])
        except Bad as e:
            rep.problem("completeness", "bad-manifest", str(e))
            continue
        entries = []
        for e in s["entries"]:
            leaf = hex32(e["leaf"])
            if leaf is None:
                rep.problem(s["subject"], "bad-manifest", "a leaf hash is not hex")
            else:
                entries.append((e["index"], leaf, e["kind"]))
        idx = [e[0] for e in entries]
        if any(a >= b for a, b in zip(idx, idx[1:])) or (idx and idx[-1] >= cp["size"]):
            rep.problem(s["subject"], "completeness-invalid",
                        "entries must be in strictly increasing log order, inside the checkpoint's tree")
        if subject in listed:
            rep.problem(s["subject"], "bad-manifest", "the subject is listed twice")
        listed[subject] = entries
    for subject in sorted(required - set(listed), key=describe):
        rep.problem(describe(subject), "completeness-missing",
                    "the bundle does not show all records about it, which the signed checkpoint commits to")
    try:
        values = multiproof(section["proof"], cp["refs"], [subject_key(s) for s in listed])
    except MalformedStep:
        rep.problem("completeness", "bad-manifest", "a proof step is malformed")
        return
    except Bad as e:
        rep.problem("completeness", "completeness-invalid", str(e))
        return
    for subject, entries in listed.items():
        item = describe(subject)
        signed = values.get(subject_key(subject))
        if signed != (chain_value(entries) if entries else None):
            rep.problem(item, "completeness-invalid",
                        "the records listed are not the ones the signed reference map holds")
            continue
        if subject == CASE_SUBJECT and entries:
            report_case_title(proven, entries[-1][0])
        first = next((e[0] for e in entries if subject[0] == "path" and e[0] in proven), None)
        for index, leaf, kind in entries:
            if index in proven:
                _, p_leaf, p_kind, p_fields = proven[index]
                if p_leaf != leaf or p_kind != kind or subject not in subjects_of(p_kind, p_fields):
                    rep.problem(item, "completeness-invalid", f"entry #{index} does not match the disclosed record")
            elif subject == KEYS_SUBJECT:
                rep.problem(item, "key-record-withheld", f"key record #{index} is not in the bundle")
            elif first is not None and index > first:
                rep.problem(item, "version-withheld", f"a later version (record #{index}) is not in the bundle")
            elif kind == "retraction" and subject[0] == "about":
                rep.problem(item, "retraction-withheld", f"retraction #{index} of a disclosed item is not in the bundle")
            elif kind == "metadata" and subject[0] == "about":
                rep.problem(item, "metadata-withheld", f"metadata record #{index} about a disclosed document is not in the bundle")
    documents = {rid for rid, _, kind, _ in proven.values() if kind == "document"}
    for index, (_, _, kind, fields) in sorted(proven.items()):
        if kind == "metadata" and fields["about"][0] not in documents:
            rep.problem(f"record #{index}", "metadata-unattached",
                        "a metadata record about a document record that is not disclosed")
    indices = {s: {e[0] for e in entries} for s, entries in listed.items()}
    for index, (_, _, kind, fields) in proven.items():
        for subject in subjects_of(kind, fields):
            if subject in indices and index not in indices[subject]:
                rep.problem(describe(subject), "completeness-invalid",
                            f"the disclosed record #{index} is about it but is not listed")
    for rid, index_kind in ((r, (i, k)) for i, (r, _, k, _) in proven.items()):
        if index_kind[1] == "document":
            about = {e[0] for s in (("about", rid),) for e in listed.get(s, [])}
            content = proven[index_kind[0]][3]["content"]
            about |= {e[0] for e in listed.get(("about", content), [])}
            withheld = len([i for i in about if i not in proven])
            info(f"record #{index_kind[0]}: all {len(about)} record(s) about it: "
                 f"{len(about) - withheld} disclosed, {withheld} withheld")


def report_case_title(proven, latest):
    """The case title (FORMAT.md section 17, "Case title"): shown only from the disclosed
    `case` record the signed reference map proves to be the latest (or, format 1, the latest
    disclosed); never from anything unsigned."""
    if latest is None:
        cases = [i for i, p in proven.items() if p[2] == "case"]
        if cases:
            info(f"case title (latest disclosed, not proven latest): {proven[max(cases)][3]['title']!r}")
        return
    if latest in proven and proven[latest][2] == "case":
        info(f"case title (the latest, record #{latest}): {proven[latest][3]['title']!r}")
    else:
        info(f"case title NOT PROVEN: the latest title record #{latest} is not in the bundle")


def main(root, trusted, pin, rep):
    files = walk(root, rep)
    hashed = check_bag(root, files, rep)
    check_tag_files(root, files, rep)
    images = set()  # pictures a report page may show; none unless the documents verified
    try:
        images = check_bundle(root, files, hashed, trusted, pin, rep)
    finally:
        check_report_pages(root, files, images, rep)


def check_bundle(root, files, hashed, trusted, pin, rep):
    """Checks 7 to 14; returns the <img src> of the raster documents that verified."""
    data = read_bytes(root, files, "data/bundle.json", 64 << 20, rep)
    if data is None:
        return set()
    try:
        manifest = load_manifest(data)
    except (Bad, ValueError, RecursionError) as e:
        rep.problem("data/bundle.json", "bad-manifest", str(e))
        return set()
    try:
        timestamp(manifest["exported_at"])
    except Bad as e:
        rep.problem("data/bundle.json", "bad-manifest", f"exported_at: {e}")
    if manifest["format"] not in (BUNDLE_FORMAT, BUNDLE_FORMAT_1):
        rep.problem("data/bundle.json", "bad-manifest", f"unknown format '{manifest['format']}'")
        return set()
    if "data/checkpoint" not in files:
        rep.problem("data/checkpoint", "checkpoint-unreadable", "not a regular file in the bundle")
        return set()
    try:
        cp = parse_checkpoint(read_limited(os.path.join(root, "data/checkpoint"), 1 << 20))
    except (Bad, ValueError) as e:
        rep.problem("data/checkpoint", "checkpoint-unreadable", str(e))
        return set()
    if (cp["origin"], cp["number"], cp["size"]) != \
            (manifest["origin"], manifest["checkpoint"], manifest["tree_size"]):
        rep.problem("data/checkpoint", "checkpoint-mismatch",
                    "the checkpoint's origin, number or size differ from data/bundle.json")
    text_hash = H(cp["text"]).hex()
    info(f"checkpoint {cp['number']} of {cp['origin']}: {cp['size']} records, root {cp['root'].hex()}")
    info(f"checkpoint text SHA-256: {text_hash}")
    if pin is not None and pin.lower() != text_hash:
        rep.problem("data/checkpoint", "checkpoint-pin-mismatch",
                    f"its text hashes to {text_hash}, not the pinned {pin}")
    decoded, key_events, proven = check_records(root, files, hashed, manifest, cp, rep)
    images = check_documents(root, files, manifest, decoded, rep, hashed)
    check_sealed(root, files, manifest, decoded, rep, hashed)
    if manifest.get("encryption") is not None:
        rep.encrypted = len(manifest["documents"])
    # A picture only of a document whose record the checkpoint's tree holds (checks 9-10).
    in_tree = {fields_id.hex() for fields_id, _, _, _ in proven.values()}
    images = {src for src, record in images if record in in_tree}
    keys, retired = key_state(trusted, sorted(key_events, key=lambda e: e[0]), manifest["origin"])
    check_signatures(cp, keys, retired, 1, rep)
    check_consistency(manifest, cp, rep)
    check_completeness(manifest, cp, proven, rep)
    return images


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
        trusted = load_trust(sys.argv[2])
    except (OSError, UnicodeDecodeError, Bad) as e:
        print(f"error: {sys.argv[2]}: {e}", file=sys.stderr)
        sys.exit(2)
    report, bundle, pin = Report(), sys.argv[1], sys.argv[3] if len(sys.argv) == 4 else None
    with tempfile.TemporaryDirectory() as scratch:
        try:
            if os.path.isfile(bundle) and not os.path.islink(bundle):
                extract_tar(bundle, scratch, report)
                bundle = unpacked_root(scratch)
            elif not os.path.isdir(bundle) or os.path.islink(bundle):
                print(f"error: {bundle} is not a bundle directory or tar file", file=sys.stderr)
                sys.exit(2)
        except (OSError, EOFError, __import__("tarfile").TarError) as e:
            print(f"error: {sys.argv[1]}: not a readable tar file: {e}", file=sys.stderr)
            sys.exit(2)
        try:
            if not report.problems:
                main(bundle, trusted, pin, report)
        except Exception as e:  # a damaged bundle must give a verdict, not a traceback
            report.problem("bundle", "unreadable", f"{type(e).__name__}: {e}")
    if report.problems:
        print(f"FAILED: {len(report.problems)} problem(s) found; do not rely on this bundle as it stands")
        sys.exit(1)
    if getattr(report, "encrypted", 0):
        print(f"NOT PROVABLE: every check this script can make passed, but the contents of the "
              f"{report.encrypted} encrypted document(s) were NOT checked against their signed records "
              f"(this script cannot decrypt); run `evidentia verify BUNDLE --trust FILE --identity FILE`")
        sys.exit(4)
    if getattr(report, "encrypted_fields", 0):
        print(f"      the encrypted fields of {report.encrypted_fields} annotation(s)/custody "
              f"event(s) were NOT checked against their records (this script cannot decrypt)")
    print("VERIFIED: every check of FORMAT.md section 17 passed with the keys of your trust file")
