#!/usr/bin/env bash
# Interoperability check of hand-over bundles with standard tools, as a recipient without
# evidentia would run them (docs/VERIFYING.md): the Library of Congress's bagit.py
# (`--validate`), GNU `sha256sum -c SHA256SUMS`, and docs/verify-bundle.py (Python standard
# library + openssl). Runs on the sample case and on a small archive with awkward file names
# (spaces, '%', non-ASCII, a second version of one path). Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! python3 -c 'import bagit' 2>/dev/null; then
    echo "== installing bagit (PyPI)"
    python3 -m pip install --quiet bagit ||
        python3 -m pip install --quiet --user --break-system-packages bagit
fi
if command -v bagit.py >/dev/null; then bagit=(bagit.py); else bagit=(python3 -m bagit); fi

work=$(mktemp -d "${TMPDIR:-/tmp}/evidentia-bagit.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
evidentia() { "$root/target/release/evidentia" "$@"; }

check_bundle() { # BUNDLE TRUST_FILE
    echo "== bagit.py --validate $1"
    "${bagit[@]}" --quiet --validate "$1"
    echo "== sha256sum -c SHA256SUMS"
    (cd "$1" && sha256sum -c --quiet SHA256SUMS)
    echo "== docs/verify-bundle.py"
    python3 "$root/docs/verify-bundle.py" "$1" "$2" | tail -n 1
    echo "== evidentia verify"
    evidentia verify "$1" --trust "$2" | tail -n 1
}

echo "== sample case"
"$root/fixtures/run-sample-case.sh" "$work/sample" >"$work/sample.log" 2>&1 ||
    { cat "$work/sample.log"; exit 1; }
# The quick start exports the whole case as a bundle; check that one.
check_bundle "$work/sample/bundle" "$work/sample/trusted-signers.txt"

echo "== awkward file names"
export EVIDENTIA_ARCHIVE="$work/names/archive"
mkdir -p "$work/names/case/sub"
evidentia init "$EVIDENTIA_ARCHIVE" --name names >/dev/null
evidentia key generate --out "$work/names/signer" --unencrypted >/dev/null
printf 'first\n' >"$work/names/case/field notes 100%.txt"
printf 'b\n' >"$work/names/case/sub/Ünïcode #1 (copy).txt"
printf 'c' >"$work/names/case/sub/plain.txt"
evidentia add "$work/names/case" >/dev/null
printf 'second\n' >"$work/names/case/field notes 100%.txt"
evidentia add "$work/names/case" >/dev/null
evidentia seal --key "$work/names/signer.key" >/dev/null
evidentia export --out "$work/names-bundle" --all --actor ci
check_bundle "$work/names-bundle" "$work/names/signer.pub"

echo "== tar bundle, unpacked with the system tar: one top-level directory"
evidentia export --out "$work/names.tar" --all --actor ci --format tar >/dev/null
mkdir "$work/untarred"
tar -xf "$work/names.tar" -C "$work/untarred"
[ "$(ls "$work/untarred")" = names ] || { echo "the tar does not unpack to names/"; exit 1; }
check_bundle "$work/untarred/names" "$work/names/signer.pub"
echo "== docs/verify-bundle.py on the tar itself"
python3 "$root/docs/verify-bundle.py" "$work/names.tar" "$work/names/signer.pub" | tail -n 1

echo "bagit check passed"
