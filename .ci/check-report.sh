#!/usr/bin/env bash
# Checks the hand-over bundle's report.html in a real browser (headless Chromium), offline:
# exports the sample case, then (a) the rendered DOM holds every disclosed document's SHA-256
# from data/bundle.json, says the sender wrote it, shows the sender's self-check as such (never
# a VERIFIED verdict), gives the command to verify with the checkpoint hash, and has no script;
# (b) it prints to a PDF;
# (c) it renders to a screenshot. Exits non-zero on any failure.
#
# Usage: .ci/check-report.sh [SCREENSHOT.png]
#   With an argument the screenshot is kept there (docs/report-screenshot.png is made this way).
#   CHROMIUM=/path/to/chromium overrides the browser (default /usr/bin/chromium).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
keep=${1:-}

fail() { echo "check-report: FAILED: $*" >&2; exit 1; }

if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing chromium (apt)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    [ -x "$chromium" ] || fail "no Chromium at $chromium; install it (Debian/Ubuntu: \
apt-get install -y chromium) or set CHROMIUM=/path/to/chromium"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/evidentia-report.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== build"
cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"

echo "== sample case and its exported bundle"
"$root/fixtures/run-sample-case.sh" "$work/sample" >"$work/sample.log" 2>&1 ||
    { cat "$work/sample.log"; fail "fixtures/run-sample-case.sh"; }
report="$work/sample/bundle/report.html"
[ -s "$report" ] || fail "the bundle has no report.html"

# Each run gets a fresh profile; nothing may reach the network (the page needs none).
run=0
chrome() {
    run=$((run + 1))
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$work/profile-$run" "$@" 2>>"$work/chromium.log" ||
        { tail -n 20 "$work/chromium.log" >&2; fail "chromium $*"; }
}

echo "== (a) rendered DOM holds every document digest"
chrome --dump-dom "file://$report" >"$work/dom.html"
digests=$(grep -o '"content": "[0-9a-f]\{64\}"' "$work/sample/bundle/data/bundle.json" |
    grep -o '[0-9a-f]\{64\}' || true)
documents=$(grep -c '"file": ' "$work/sample/bundle/data/bundle.json" || true)
count=$(printf '%s\n' "$digests" | grep -c . || true)
[ "$count" -gt 0 ] && [ "$count" = "$documents" ] ||
    fail "expected $documents document digests in data/bundle.json, found $count"
for digest in $digests; do
    grep -qF "$digest" "$work/dom.html" || fail "digest $digest is not in the rendered report"
done
grep -qF "Written by the sender: this page is not a verification" "$work/dom.html" ||
    fail "the rendered report does not say the sender wrote it"
grep -qF "Sender's self-check at export: every check passed" "$work/dom.html" ||
    fail "the rendered report does not show the sender's passed self-check"
if grep -qF "VERIFIED" "$work/dom.html"; then fail "the rendered report claims a verdict"; fi
hash=$(sed -n '/^$/q;p' "$work/sample/bundle/data/checkpoint" | sha256sum | cut -c1-64)
grep -qF "evidentia verify &lt;bundle&gt; --trust &lt;your trust file&gt; --checkpoint-hash $hash" \
    "$work/dom.html" || fail "the rendered report does not give the command with hash $hash"
if grep -qi '<script' "$work/dom.html"; then fail "the rendered report contains a script"; fi
echo "$count digests found"

echo "== (b) print to PDF"
chrome --no-pdf-header-footer --print-to-pdf="$work/report.pdf" "file://$report"
[ -f "$work/report.pdf" ] || fail "no PDF written"
[ "$(head -c 4 "$work/report.pdf")" = "%PDF" ] || fail "report.pdf is not a PDF"
pdf_size=$(wc -c <"$work/report.pdf")
[ "$pdf_size" -gt 20000 ] || fail "report.pdf is only $pdf_size bytes"
echo "PDF: $pdf_size bytes"

echo "== (c) screenshot"
chrome --hide-scrollbars --window-size=1200,1600 --screenshot="$work/report.png" "file://$report"
[ "$(head -c 8 "$work/report.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "the screenshot is not a PNG"
png_size=$(wc -c <"$work/report.png")
[ "$png_size" -gt 20000 ] || fail "the screenshot is only $png_size bytes"
if [ -n "$keep" ]; then
    cp "$work/report.png" "$keep"
    echo "screenshot: $keep ($png_size bytes)"
fi

echo "report check passed"
