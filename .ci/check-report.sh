#!/usr/bin/env bash
# Checks the hand-over bundle's report.html in a real browser (headless Chromium), offline:
# exports the sample case, then (a) the rendered DOM holds every disclosed document's SHA-256
# from data/bundle.json, says the sender wrote it, shows the sender's self-check as such (never
# a VERIFIED verdict), gives the command to verify with the checkpoint hash, and has no script;
#     every raster image document is shown as a thumbnail (the bundle's own file) with its
#     annotated regions drawn over it;
# (b) it prints to PDF on Letter and on A4 within one page per document plus a summary page
#     (pages counted with pdfinfo from poppler-utils, else by the PDF's page objects), and the
#     print style gives every page the bundle id and "page N of M" (CSS paged media);
# (c) it renders to a screenshot. Exits non-zero on any failure.
#
# Usage: .ci/check-report.sh [SCREENSHOT.png [PRINTED-PAGE.png]]
#   With arguments the screenshot, and the first printed A4 page that shows a thumbnail as a PNG
#   (needs pdftoppm and pdftotext), are kept there (docs/report-screenshot.png and docs/report-print.png are made this way).
#   CHROMIUM=/path/to/chromium overrides the browser (default /usr/bin/chromium).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
keep=${1:-}
keep_print=${2:-}

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
# The sample case's images are PNGs; each one is a thumbnail of its own file in the bundle.
images=$(grep -o '"file": "data/[^"]*\.png"' "$work/sample/bundle/data/bundle.json" |
    sed 's/^"file": "//; s/"$//' || true)
[ -n "$images" ] || fail "the sample case has no PNG document to show as a thumbnail"
for file in $images; do
    src=$(printf '%s' "$file" | sed 's/ /%20/g')
    grep -qF "<img src=\"$src\"" "$work/dom.html" || fail "no thumbnail of $file"
done
regions=$(grep -o '<rect class="region"' "$work/dom.html" | wc -l)
[ "$regions" -ge 1 ] || fail "no annotated region is drawn on a thumbnail"
echo "$(printf '%s\n' "$images" | wc -l) thumbnails, $regions region(s) drawn"

echo "== (b) print to PDF, Letter and A4"
pages() { # PDF -> page count
    if command -v pdfinfo >/dev/null; then
        pdfinfo "$1" | sed -n 's/^Pages: *//p'
    else
        python3 -c 'import re,sys; print(len(re.findall(rb"/Type\s*/Page(?![s\w])", open(sys.argv[1],"rb").read())))' "$1"
    fi
}
documents=$(grep -c '"file": ' "$work/sample/bundle/data/bundle.json" || true)
limit=$((documents + 1))
grep -qF '@top-left { content: "Evidence bundle, checkpoint' "$report" ||
    fail "the print style does not put the bundle id at the top of every page"
grep -qF 'counter(page) " of " counter(pages)' "$report" ||
    fail "the print style does not number the pages"
for paper in Letter A4; do
    # Beside report.html, so that its thumbnails (links into data/) load.
    page="$(dirname "$report")/print-$paper.html"
    # The paper size a reader's printer dialog would choose; the report itself says "auto".
    sed "s|</style>|@page { size: $paper; }</style>|" "$report" >"$page"
    chrome --no-pdf-header-footer --print-to-pdf="$work/report-$paper.pdf" "file://$page"
    pdf="$work/report-$paper.pdf"
    [ "$(head -c 4 "$pdf")" = "%PDF" ] || fail "report-$paper.pdf is not a PDF"
    count=$(pages "$pdf")
    [ "$count" -ge 2 ] || fail "$paper: only $count page(s) printed"
    [ "$count" -le "$limit" ] ||
        fail "$paper: $count pages for $documents documents (at most $limit: one per document and a summary)"
    echo "$paper: $count pages for $documents documents"
done
if [ -n "$keep_print" ]; then
    command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null ||
        fail "pdftoppm and pdftotext (poppler-utils) are needed to keep a printed page"
    # The first page with a thumbnail on it: the print layout and a drawn region in one picture.
    shown=""
    for n in $(seq 1 "$(pages "$work/report-A4.pdf")"); do
        if pdftotext -f "$n" -l "$n" "$work/report-A4.pdf" - | grep -qF "annotated region"; then
            shown=$n
            break
        fi
    done
    [ -n "$shown" ] || fail "no printed page shows a thumbnail"
    pdftoppm -png -r 60 -f "$shown" -l "$shown" -singlefile "$work/report-A4.pdf" "${keep_print%.png}"
    echo "printed page: $keep_print ($(wc -c <"$keep_print") bytes)"
fi

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
