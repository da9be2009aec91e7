#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds made from fixtures/, and fuzz/skeleton/ with the honest
# files some targets mutate one part of (a bundle, an archive, a trust file, a witness key).
# Everything it makes is gitignored; run it again at any time (it starts from scratch).
#
# Usage: fuzz/seed.sh        (builds the debug binary; EVIDENTIA_BIN=PATH uses another build)
set -euo pipefail

fuzz=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$fuzz/.." && pwd)
if [ -z "${EVIDENTIA_BIN:-}" ]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml"
    EVIDENTIA_BIN="$root/target/debug/evidentia"
fi
evidentia() { "$EVIDENTIA_BIN" "$@"; }

skel="$fuzz/skeleton"
rm -rf "$skel"
mkdir -p "$skel"
work=$(mktemp -d "${TMPDIR:-/tmp}/evidentia-seed.XXXXXX")
trap 'rm -rf "$work"' EXIT

export EVIDENTIA_ARCHIVE="$skel/archive"
export EVIDENTIA_PASSPHRASE="fuzz seed passphrase"
case_dir="$root/fixtures/sample-case"

# An archive of two checkpoints (format 2) from the sample case, one key and one witness.
evidentia init --name fuzz-sample >/dev/null
evidentia key generate --out "$work/signer" --signer signer.example.org >/dev/null
evidentia key generate --out "$work/witness" --signer witness.example.org >/dev/null
evidentia key introduce --key "$work/signer.key" >/dev/null
evidentia add --relative-to "$root/fixtures" "$case_dir/articles" "$case_dir/photos" >/dev/null
evidentia annotate sample-case/photos/bus-depot.png --rect 10,38,30,16 --body "bus" >/dev/null
evidentia seal --key "$work/signer.key" >/dev/null
evidentia add --relative-to "$root/fixtures" "$case_dir/reports" "$case_dir/official" >/dev/null
evidentia seal --key "$work/signer.key" >/dev/null
cp "$work/signer.pub" "$skel/signer.trust"
cp "$work/witness.pub" "$skel/witness.trust"

article=sample-case/articles/2023-06-02-belarus-transfers.txt
cp "$root/fixtures/$article" "$skel/proof-document"
evidentia export --out "$skel/bundle" --all --recipient "Fuzz court" >/dev/null
evidentia export --out "$work/bundle.tar" --format tar --all >/dev/null
evidentia prove "$article" --out "$work/proof2.json" >/dev/null
evidentia prove consistency 1 2 --out "$work/consistency.json" >/dev/null
evidentia witness cosign "$skel/archive/checkpoints/0000000002" --key "$work/witness.key" \
    --state "$work/state" --log-trust "$skel/signer.trust" --out "$work/cosigned" 2>/dev/null
# A format-1 proof, from the fixture archive written before format 2 (copied: never touched).
cp -r "$root/fixtures/archives/v1-sample" "$work/v1"
evidentia --archive "$work/v1" prove "$(evidentia --archive "$work/v1" ls | awk 'NR==1 {print $1}')" \
    --out "$work/proof1.json" >/dev/null 2>&1 || echo "note: no format-1 proof seed" >&2

corpus() { rm -rf "$fuzz/corpus/$1"; mkdir -p "$fuzz/corpus/$1"; }
seed() { cp "$2" "$fuzz/corpus/$1/$3"; }

corpus segment
for f in "$root"/fixtures/vectors/segment/*.bin; do seed segment "$f" "$(basename "$f" .bin)"; done

corpus bundle_json
seed bundle_json "$skel/bundle/data/bundle.json" honest

# bag_tags frames its input as bagit.txt NUL bag-info.txt NUL tagmanifest-sha256.txt NUL path.
corpus bag_tags
frame() { cat "$skel/bundle/bagit.txt"; printf '\0'; cat "$skel/bundle/bag-info.txt"; printf '\0';
          cat "$skel/bundle/tagmanifest-sha256.txt"; printf '\0'; printf '%s' "$1"; }
frame "data/documents/100%25 done%0D%0A.txt" > "$fuzz/corpus/bag_tags/honest"
frame "data/%zz/%2" > "$fuzz/corpus/bag_tags/bad-escape"

corpus proof_file
seed proof_file "$work/proof2.json" proof2
seed proof_file "$work/consistency.json" consistency
[ -f "$work/proof1.json" ] && seed proof_file "$work/proof1.json" proof1

corpus tar_unpack
seed tar_unpack "$work/bundle.tar" bundle
# Hostile entries an attacker would try: every one must be refused inside the scratch dir.
python3 - "$fuzz/corpus/tar_unpack" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
def make(name, entries):
    with tarfile.open(f"{out}/{name}", "w", format=tarfile.GNU_FORMAT) as t:
        for kind, path, extra in entries:
            info = tarfile.TarInfo(path)
            if kind == "file":
                info.size = len(extra)
                t.addfile(info, io.BytesIO(extra))
            else:
                info.type = kind
                info.linkname = extra
                t.addfile(info)
make("escape", [("file", "../../../escape", b"x"), ("file", "/tmp/evidentia-fuzz-escape", b"x")])
make("links", [(tarfile.SYMTYPE, "data/link", "/etc"), ("file", "data/link/passwd", b"x"),
               (tarfile.LNKTYPE, "data/hard", "/etc/passwd"), (tarfile.CHRTYPE, "data/dev", "")])
make("case", [("file", "data/A", b"1"), ("file", "data/a", b"2"), (tarfile.DIRTYPE, "./", "")])
EOF

corpus cosignature
seed cosignature "$work/cosigned" cosigned
seed cosignature "$skel/archive/checkpoints/0000000001" checkpoint1

corpus tsa_reply
seed tsa_reply "$root/fixtures/timestamps/fractional-p256.tst" token
# A granted TimeStampResp around the fixture token: SEQUENCE { PKIStatusInfo { 0 }, token }.
python3 - "$root/fixtures/timestamps/fractional-p256.tst" "$fuzz/corpus/tsa_reply/reply" <<'EOF'
import sys
token = open(sys.argv[1], "rb").read()
def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b
body = bytes.fromhex("3003020100") + token
open(sys.argv[2], "wb").write(b"\x30" + der_len(len(body)) + body)
EOF

# The older targets, from the same material.
for t in checkpoint_note trust_file keys completeness timestamp_token record_decode bagit_manifest; do
    mkdir -p "$fuzz/corpus/$t"
done
cp "$skel/archive/checkpoints/"* "$fuzz/corpus/checkpoint_note/"
cp "$skel/signer.trust" "$skel/witness.trust" "$fuzz/corpus/trust_file/"
cp "$skel/signer.trust" "$fuzz/corpus/keys/"
cp "$root/fixtures/timestamps/fractional-p256.tst" "$fuzz/corpus/timestamp_token/"
cp "$skel/bundle/data/records/"*.cbor "$fuzz/corpus/record_decode/"
cp "$skel/bundle/manifest-sha256.txt" "$fuzz/corpus/bagit_manifest/"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["completeness"]))' \
    "$skel/bundle/data/bundle.json" > "$fuzz/corpus/completeness/bundle"
echo "corpora in $fuzz/corpus, skeleton in $skel"
