#!/usr/bin/env bash
# Performance benchmark for evidentia; prints one table (docs/PERFORMANCE.md explains it).
#
#   bench/run.sh
#
# Environment:
#   BENCH_DIR=/tmp/evidentia-bench  scratch directory (created, and removed at the end)
#   BENCH_RUNS=3                    timed runs per measurement; the MEDIAN is reported
#   BENCH_BIG_MIB=1024              size of the single large file of part (a)
#   BENCH_SMALL_FILES=20000         number of small files (0.5-32 KiB) of part (b)
#   BENCH_1M=0                      1: also build and measure the 1,000,000-record archive
#   BENCH_10M=0                     1: also build and measure a 10,000,000-record archive (long)
#   BENCH_BIG_RECORDS=10000000      records of that archive (e.g. 3000000 if 10^7 takes too long)
#   BENCH_BATCH=50000               files per timed bulk `add` of part (c)
#   BENCH_POP_BATCH=$BENCH_BATCH    files per `add` when populating the archives of part (c)
#                                   (e.g. 500000 makes populating 10^7 records several times faster)
#   BENCH_C_RECORDS=100000          records of the smaller archive of part (c)
#   BENCH_PARTS="a b c d m e"       which parts to run (d: proof sizes; m: memory vs file size, needs a;
#                                   e: export and bundle verify of large cases; s: the files of a
#                                   and b into an S3 cluster, evidentia against rclone - opt-in)
#   BENCH_S3_URL=s3://evidentia     part s: bucket (and optional prefix) to write into; the
#                                   cluster comes from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
#                                   AWS_SECRET_ACCESS_KEY, AWS_REGION if AWS_ENDPOINT_URL is set
#                                   (eval "$(tests/cluster/garage.sh up DIR)"); otherwise part s
#                                   starts its own three-node Garage cluster in BENCH_DIR/garage
#                                   (about 7 minutes per run on 2 cores, mostly rclone's 20,000
#                                   small PUTs; rclone is apt-get installed when absent)
#                                   x: the files of a and b added plain and with --encrypt, and
#                                   verified plain, encrypted without and with --identity
#                                   (issue 14) - opt-in (BENCH_PARTS="x", or add x to the list);
#                                   needs 3 x BENCH_BIG_MIB MiB more scratch disk
#   BENCH_E_SIZES="5000 20000"      documents per case of part (e); add 100000 for the full curve
#   BENCH_E_MAX=131072              largest document of part (e), bytes (sizes uniform from 512)
#   BENCH_KEEP=0                    1: keep BENCH_DIR for inspection
#   BENCH_NO_BUILD=0                1: run the existing target/release/evidentia (no cargo build)
#
# Every evidentia run writes into a NEW directory and nothing is deleted until the end: on an
# ext4 without a journal (like the reference machine), creating files right after deleting
# many is several times slower (the inode allocator skips recently deleted inodes), which
# would charge the cost of the previous run's clean-up to the next one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/evidentia-bench}
RUNS=${BENCH_RUNS:-3}
BIG_MIB=${BENCH_BIG_MIB:-1024}
SMALL_FILES=${BENCH_SMALL_FILES:-20000}
RUN_1M=${BENCH_1M:-0}
RUN_10M=${BENCH_10M:-0}
BIG_RECORDS=${BENCH_BIG_RECORDS:-10000000}
BATCH=${BENCH_BATCH:-50000}
POP_BATCH=${BENCH_POP_BATCH:-$BATCH}
C_RECORDS=${BENCH_C_RECORDS:-100000}
KEEP=${BENCH_KEEP:-0}
PARTS=" ${BENCH_PARTS:-a b c d m e} "
E_SIZES=${BENCH_E_SIZES:-5000 20000}
E_MAX=${BENCH_E_MAX:-131072}
part() { [[ $PARTS == *" $1 "* ]]; }
S3_URL=${BENCH_S3_URL:-${EVIDENTIA_TEST_S3:-s3://evidentia}}
S3_URL=${S3_URL%/}

for tool in sha256sum openssl python3 awk xargs; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done
GNU_TIME=/usr/bin/time
if ! "$GNU_TIME" -f %M true >/dev/null 2>&1; then
    echo "bench: GNU time is required for peak memory (Debian: apt-get install time)" >&2
    exit 2
fi

if [[ ${BENCH_NO_BUILD:-0} == 1 ]]; then
    echo "== using the existing target/release/evidentia (BENCH_NO_BUILD=1)" >&2
else
    echo "== building (cargo build --release)" >&2
    (cd "$ROOT" && cargo build --release --quiet)
fi

if [[ -e $BENCH_DIR ]]; then
    echo "bench: $BENCH_DIR exists; remove it or set BENCH_DIR" >&2
    exit 2
fi
mkdir -p "$BENCH_DIR"
# Run a private copy, so that a rebuild in the tree during the benchmark cannot change it.
cp "$ROOT/target/release/evidentia" "$BENCH_DIR/evidentia"
EV=$BENCH_DIR/evidentia
OWN_CLUSTER=
cleanup() {
    if [[ -n $OWN_CLUSTER ]]; then
        "$ROOT/tests/cluster/garage.sh" down "$OWN_CLUSTER" || true
    fi
    if [[ $KEEP != 1 ]]; then
        echo "== removing $BENCH_DIR" >&2
        rm -rf "$BENCH_DIR"
    fi
}
trap cleanup EXIT
cd "$BENCH_DIR"
LOG=$BENCH_DIR/stderr.log

# ---------------------------------------------------------------- measuring helpers

# timed CMD...: runs CMD once (stdout discarded, stderr to $LOG) and sets
#   T (wall seconds, from bash's clock), CPU (user+sys seconds) and RSS (max RSS, KiB).
timed() {
    local out=$BENCH_DIR/.time t0 t1
    t0=$EPOCHREALTIME
    "$GNU_TIME" -f '%U %S %M' -o "$out" "$@" >/dev/null 2>>"$LOG" || {
        echo "bench: command failed: $* (see $LOG)" >&2
        tail -5 "$LOG" >&2
        # SOFT_FAIL=1 (part s): the caller reports "n/a (error)" and goes on.
        [[ ${SOFT_FAIL:-0} == 1 ]] && return 1
        exit 1
    }
    t1=$EPOCHREALTIME
    T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    read -r u s RSS < <(tail -1 "$out")
    CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.0f", a * 1000 }'; }
load() { cut -d' ' -f1 /proc/loadavg; }

ROWS=()
row() { ROWS+=("$(printf '%-46s %10s %8s %10s %s' "$@")"); }
VERDICTS=()

# bench_runs LABEL SETUP_FN CMD...: RUNS timed runs of CMD, SETUP_FN (untimed) before each,
# which may set NEXT_ARGS to arguments appended to CMD. Sets MED, CPUMED, RSSMAX.
bench_runs() {
    local label=$1 setup=$2
    shift 2
    local times=() cpus=() rss=() i
    for ((i = 1; i <= RUNS; i++)); do
        NEXT_ARGS=()
        if [[ ${SOFT_FAIL:-0} != 1 ]]; then
            "$setup" "$i"
            sync
            timed "$@" "${NEXT_ARGS[@]}"
        elif ! "$setup" "$i" || ! { sync && timed "$@" "${NEXT_ARGS[@]}"; }; then
            MED="n/a (error)" CPUMED="" RSSMAX=""
            echo "   $label: n/a (error, see $LOG)" >&2
            return 1
        fi
        times+=("$T")
        cpus+=("$CPU")
        rss+=("$RSS")
    done
    MED=$(median "${times[@]}")
    CPUMED=$(median "${cpus[@]}")
    RSSMAX=$(maxof "${rss[@]}")
    echo "   $label: wall ${times[*]} s; cpu ${cpus[*]} s; max RSS ${rss[*]} KiB (load $(load))" >&2
}
no_setup() { :; }

# ---------------------------------------------------------------- machine

echo "== machine" >&2
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
SHA_NI=$(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)
FS=$(df -T "$BENCH_DIR" | awk 'NR == 2 { print $2 " on " $1 }')

# ---------------------------------------------------------------- the files of (a) and (b)

# make_big: a/big.bin, BIG_MIB MiB of random bytes (also the big file of part s).
make_big() {
    [[ -f a/big.bin ]] && return
    mkdir -p a
    head -c "$((BIG_MIB << 20))" /dev/urandom >a/big.bin
    cat a/big.bin >/dev/null # warm the page cache
}
# make_small: b/small, SMALL_FILES files of 0.5-32 KiB (seed 1), their list b/list0; B_BYTES.
make_small() {
    [[ -d b/small ]] && return
    mkdir -p b
    B_BYTES=$(python3 "$ROOT/bench/mkfiles.py" b/small "$SMALL_FILES" 512 32768 500 1)
    (cd b && find small -type f -print0 | sort -z >list0)
    (cd b && xargs -0 cat <list0 >/dev/null) # warm the page cache
}

# ---------------------------------------------------------------- (a) one large file

if part a; then
echo "== (a) one ${BIG_MIB} MiB file" >&2
make_big

bench_runs "sha256sum" no_setup sha256sum a/big.bin
A_SHA=$MED
A_SHA_CPU=$CPUMED
bench_runs "openssl dgst" no_setup openssl dgst -sha256 a/big.bin
A_OSSL=$MED
A_OSSL_CPU=$CPUMED
setup_a() {
    "$EV" init "a/arc$1" >/dev/null
    NEXT_ARGS=(--archive "a/arc$1" add a/big.bin)
}
bench_runs "evidentia add" setup_a "$EV"
A_EV=$MED
A_EV_CPU=$CPUMED
A_EV_RSS=$RSSMAX
row "(a) sha256sum FILE" "$A_SHA" "$A_SHA_CPU" "" ""
row "(a) openssl dgst -sha256 FILE" "$A_OSSL" "$A_OSSL_CPU" "" ""
row "(a) evidentia add FILE (fresh archive)" "$A_EV" "$A_EV_CPU" "$A_EV_RSS" \
    "= $(ratio "$A_EV" "$A_OSSL") x openssl, $(ratio "$A_EV" "$A_SHA") x sha256sum"
if awk -v a="$A_EV" -v b="$A_OSSL" 'BEGIN { exit !(a <= b) }'; then v=PASS; else v=MISS; fi
VERDICTS+=("$v (a) add of one ${BIG_MIB} MiB file no slower than openssl dgst: $A_EV s vs $A_OSSL s")
fi

# ---------------------------------------------------------------- (b) many small files

if part b; then
echo "== (b) ${SMALL_FILES} files of 0.5-32 KiB" >&2
make_small
# One process per tool: -s raises xargs' command-line limit; count the invocations to be sure.
XS=2000000
B_PROCS=$(cd b && xargs -0 -s "$XS" sh -c 'echo x' _ <list0 | wc -l)
cd b
bench_runs "xargs sha256sum" no_setup sh -c "xargs -0 -s $XS sha256sum <list0"
B_SHA=$MED
B_SHA_CPU=$CPUMED
bench_runs "xargs openssl" no_setup sh -c "xargs -0 -s $XS openssl dgst -sha256 <list0"
B_OSSL=$MED
B_OSSL_CPU=$CPUMED
setup_b() {
    "$EV" init "arc$1" >/dev/null
    NEXT_ARGS=(--archive "arc$1" add small)
}
bench_runs "evidentia add DIR" setup_b "$EV"
B_EV=$MED
B_EV_CPU=$CPUMED
B_EV_RSS=$RSSMAX
cd ..
row "(b) sha256sum, $B_PROCS process(es)" "$B_SHA" "$B_SHA_CPU" "" ""
row "(b) openssl dgst -sha256, $B_PROCS process(es)" "$B_OSSL" "$B_OSSL_CPU" "" ""
row "(b) evidentia add DIR (fresh archive)" "$B_EV" "$B_EV_CPU" "$B_EV_RSS" \
    "= $(ratio "$B_SHA" "$B_EV") x as fast as sha256sum, $(ratio "$B_OSSL" "$B_EV") x openssl"
if awk -v a="$B_EV" -v b="$B_SHA" 'BEGIN { exit !(a * 2 <= b) }'; then v=PASS; else v=MISS; fi
VERDICTS+=("$v (b) add of $SMALL_FILES small files ($B_BYTES bytes) at least 2x as fast as sha256sum: $B_EV s vs $B_SHA s")
fi

# ---------------------------------------------------------------- (c) incremental seal

# Population source: BATCH tiny files of distinct content (identical content would make every
# record rewrite one ever-growing contents-index file, see docs/PERFORMANCE.md). Between `add`
# runs the files are rewritten in place with new content and the directory is renamed, so each
# run appends BATCH new records without creating or deleting source inodes.
POP_SEQ=0

# populate ARCHIVE RECORDS: sets POP_T (wall seconds of all the add and seal runs), POP_ADD_T,
# POP_SEAL_T and POP_RSS. Each add of POP_BATCH files is sealed at once, so the reference map
# grows batch by batch (one seal over millions of unsealed records would need gigabytes).
populate() {
    local arc=$1 want=$2 have=0 total=0 adds=0 seals=0 rss=() ta n
    while ((have < want)); do
        POP_SEQ=$((POP_SEQ + 1))
        n=$((want - have < POP_BATCH ? want - have : POP_BATCH))
        # One source directory per batch size: a directory holds exactly the files of its size.
        python3 "$ROOT/bench/population.py" "c/pop-$n" "$n" "$POP_SEQ"
        mv "c/pop-$n" "c/p$POP_SEQ"
        sync
        timed "$EV" --archive "$arc" add "c/p$POP_SEQ"
        ta=$T
        rss+=("$RSS")
        mv "c/p$POP_SEQ" "c/pop-$n"
        timed "$EV" --archive "$arc" seal --key c/signer.key
        rss+=("$RSS")
        adds=$(awk -v a="$adds" -v b="$ta" 'BEGIN { printf "%.3f", a + b }')
        seals=$(awk -v a="$seals" -v b="$T" 'BEGIN { printf "%.3f", a + b }')
        total=$(awk -v a="$adds" -v b="$seals" 'BEGIN { printf "%.3f", a + b }')
        have=$((have + n))
        echo "   $arc: $have records after $total s (this add $ta s, seal $T s, max RSS ${rss[-2]} / ${rss[-1]} KiB, load $(load), $(date -u +%H:%M:%S))" >&2
    done
    POP_T=$total
    POP_ADD_T=$adds
    POP_SEAL_T=$seals
    POP_RSS=$(maxof "${rss[@]}")
}

# measure_bulk ARCHIVE LABEL: RUNS adds of BATCH new files into ARCHIVE, each paired with
# the same add into a fresh, empty archive (alternating, so load drifts hit both alike). Sets
# B_FULL, B_EMPTY (median wall s), B_RSS_FULL, B_RSS_EMPTY (max RSS KiB).
measure_bulk() {
    local arc=$1 label=$2 full=() empty=() rssf=() rsse=() cpuf=() cpue=() i
    for ((i = 1; i <= RUNS; i++)); do
        POP_SEQ=$((POP_SEQ + 1))
        python3 "$ROOT/bench/population.py" "c/pop-$BATCH" "$BATCH" "$POP_SEQ"
        mv "c/pop-$BATCH" "c/b$POP_SEQ"
        "$EV" init "c/empty-$label-$i" >/dev/null
        sync
        timed "$EV" --archive "c/empty-$label-$i" add "c/b$POP_SEQ"
        empty+=("$T")
        rsse+=("$RSS")
        cpue+=("$CPU")
        sync
        timed "$EV" --archive "$arc" add "c/b$POP_SEQ"
        full+=("$T")
        rssf+=("$RSS")
        cpuf+=("$CPU")
        mv "c/b$POP_SEQ" "c/pop-$BATCH"
    done
    echo "   $label: add of $BATCH files into it ${full[*]} s (cpu ${cpuf[*]} s, max RSS ${rssf[*]} KiB); into an empty archive ${empty[*]} s (cpu ${cpue[*]} s, ${rsse[*]} KiB) (load $(load))" >&2
    B_FULL=$(median "${full[@]}")
    B_EMPTY=$(median "${empty[@]}")
    B_RSS_FULL=$(maxof "${rssf[@]}")
    B_RSS_EMPTY=$(maxof "${rsse[@]}")
}

# measure_seal ARCHIVE LABEL
measure_seal() {
    local arc=$1 label=$2 adds=() seals=() both=() rssa=() rsss=() i d
    timed "$EV" --archive "$arc" seal --key c/signer.key
    echo "   $label: first seal $T s" >&2
    C_FIRST=$T
    C_RSS_FIRST=$RSS
    for ((i = 1; i <= RUNS; i++)); do
        d=c/new-$label-$i
        python3 "$ROOT/bench/mkfiles.py" "$d" 10 512 32768 10 "$i" >/dev/null
        cat "$d"/*/* >/dev/null
        sync
        timed "$EV" --archive "$arc" add "$d"
        adds+=("$T")
        rssa+=("$RSS")
        local ta=$T
        timed "$EV" --archive "$arc" seal --key c/signer.key
        seals+=("$T")
        rsss+=("$RSS")
        both+=("$(awk -v a="$ta" -v b="$T" 'BEGIN { printf "%.4f", a + b }')")
    done
    echo "   $label: add ${adds[*]} s; seal ${seals[*]} s (load $(load))" >&2
    C_ADD=$(median "${adds[@]}")
    C_SEAL=$(median "${seals[@]}")
    C_BOTH=$(median "${both[@]}")
    C_RSS_ADD=$(maxof "${rssa[@]}")
    C_RSS_SEAL=$(maxof "${rsss[@]}")
}

c_part() {
    local records=$1 label=$2
    "$EV" init "c/arc$label" >/dev/null
    populate "c/arc$label" "$records"
    local records_now
    records_now=$(wc -c <"c/arc$label/log/records")
    records_now=$((records_now / 32))
    row "(c) populate $label: $records_now records" "$POP_T" "" "$POP_RSS" \
        "$(((records + POP_BATCH - 1) / POP_BATCH)) add + seal runs of $POP_BATCH files (adds $POP_ADD_T s, seals $POP_SEAL_T s)"
    measure_bulk "c/arc$label" "$label"
    local bulk_ratio
    bulk_ratio=$(ratio "$B_FULL" "$B_EMPTY")
    row "(c) $label: add $BATCH files (empty archive)" "$B_EMPTY" "" "$B_RSS_EMPTY" ""
    row "(c) $label: add $BATCH files (this archive)" "$B_FULL" "" "$B_RSS_FULL" \
        "= $bulk_ratio x the empty-archive add"
    if awk -v r="$bulk_ratio" 'BEGIN { exit !(r <= 1.5) }'; then v=PASS; else v=MISS; fi
    VERDICTS+=("$v (c) add of $BATCH files at $records_now records within 1.5x of an empty archive: $bulk_ratio x ($B_FULL s vs $B_EMPTY s; max RSS $B_RSS_FULL vs $B_RSS_EMPTY KiB)")
    measure_seal "c/arc$label" "$label"
    row "(c) $label: seal of the bulk adds' records" "$C_FIRST" "" "$C_RSS_FIRST" ""
    row "(c) $label: add 10 files" "$C_ADD" "" "$C_RSS_ADD" "$(ms "$C_ADD") ms"
    row "(c) $label: seal" "$C_SEAL" "" "$C_RSS_SEAL" "$(ms "$C_SEAL") ms"
    row "(c) $label: add + seal" "$C_BOTH" "" "" "$(ms "$C_BOTH") ms"
    if awk -v a="$C_SEAL" 'BEGIN { exit !(a < 0.1) }'; then v=PASS; else v=MISS; fi
    VERDICTS+=("$v (c) incremental seal under 100 ms at $records_now records: $(ms "$C_SEAL") ms (add + seal $(ms "$C_BOTH") ms)")
    if awk -v a="$C_BOTH" 'BEGIN { exit !(a < 0.1) }'; then v=PASS; else v=MISS; fi
    VERDICTS+=("$v (c) add + seal of 10 files under 100 ms at $records_now records: $(ms "$C_BOTH") ms")
}

if part c; then
    echo "== (c) add and seal 10 files into a large archive" >&2
    mkdir -p c
    "$EV" key generate --out c/signer --unencrypted >/dev/null 2>>"$LOG"
    c_part "$C_RECORDS" "$((C_RECORDS / 1000))k"
    if [[ $RUN_1M == 1 ]]; then
        c_part 1000000 1M
    else
        VERDICTS+=("SKIP (c) 1,000,000 records: set BENCH_1M=1")
    fi
    if [[ $RUN_10M == 1 ]]; then
        c_part "$BIG_RECORDS" "$((BIG_RECORDS / 1000000))M"
    else
        VERDICTS+=("SKIP (c) $BIG_RECORDS records: set BENCH_10M=1 (populating takes long)")
    fi
fi

# ---------------------------------------------------------------- (d) size of a bundle's proofs

# The completeness section (FORMAT.md §21) of a bundle disclosing k of 10,000 documents (each
# with one annotation and one custody event): entries for every subject plus one multiproof,
# which shares every node between the disclosed subjects. Inclusion proofs are listed apart.
if part d; then
    echo "== (d) proof sizes of bundles as a function of what they disclose" >&2
    mkdir -p d
    "$EV" init d/arc >/dev/null
    "$EV" key generate --out d/signer --unencrypted >/dev/null 2>>"$LOG"
    python3 "$ROOT/bench/mkfiles.py" d/base 10000 64 256 1000 7 >/dev/null
    "$EV" --archive d/arc add d/base >/dev/null
    for k in 1 10 100 1000; do
        python3 "$ROOT/bench/mkfiles.py" "d/k$k" "$k" 64 256 1000 "$k" >/dev/null
        "$EV" --archive d/arc add "d/k$k" --tag "k$k" >/dev/null
        "$EV" --archive d/arc custody "k$k/d0000/f0000000.bin" --event accessed --actor bench >/dev/null
        "$EV" --archive d/arc annotate "k$k/d0000/f0000000.bin" --body "note" >/dev/null
    done
    "$EV" --archive d/arc seal --key d/signer.key >/dev/null
    for k in 1 10 100 1000; do
        "$EV" --archive d/arc export --out "d/bundle-$k" --select "tag:k$k" >/dev/null 2>>"$LOG"
        read -r entries proof inclusion subjects < <(python3 - "d/bundle-$k/data/bundle.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
c = m["completeness"]
entries = len(json.dumps(c["subjects"]))
proof = len(json.dumps(c["proof"]))
inclusion = len(json.dumps([r["proof"] for r in m["records"]]))
print(entries, proof, inclusion, len(c["subjects"]))
PY
)
        row "(d) bundle of $k document(s) of 10,000+" "" "" "" \
            "completeness: $subjects subjects, lists $entries B + map proof $proof B ($((proof / k)) B per document); inclusion proofs $inclusion B"
    done
    VERDICTS+=("INFO (d) proof sizes: see the (d) rows; the map proof grows about as k·log2(n/k), not k·log2(n)")
fi

# ---------------------------------------------------------------- (e) large cases

# For each size N: a sealed archive of N documents (0.5 KiB to E_MAX, 1,000 per directory);
# `export --all` against `cp -r` of the same documents, and `verify BUNDLE --trust` against
# `sha256sum -c SHA256SUMS` inside the bundle; the size of report.html and the time headless
# Chromium takes to load it and render its first screen, less the time for an empty page.
browser() {
    local b
    for b in chromium chromium-browser google-chrome; do
        command -v "$b" >/dev/null && { echo "$b"; return; }
    done
}
# page_time FILE: sets PAGE_T, seconds for a headless screenshot of FILE (median of RUNS).
page_time() {
    local times=() i
    for ((i = 1; i <= RUNS; i++)); do
        timed "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run \
            --user-data-dir="$BENCH_DIR/e/chrome-profile" --screenshot="$BENCH_DIR/e/shot.png" \
            --window-size=1280,1024 "file://$1"
        times+=("$T")
    done
    PAGE_T=$(median "${times[@]}")
}
if part e; then
    echo "== (e) export and bundle verification of large cases: $E_SIZES documents" >&2
    mkdir -p e
    "$EV" key generate --out e/signer --unencrypted >/dev/null 2>>"$LOG"
    BROWSER=$(browser)
    if [[ -n $BROWSER ]]; then
        echo '<!DOCTYPE html><title>empty</title>' >e/empty.html
        page_time "$BENCH_DIR/e/empty.html"
        E_EMPTY=$PAGE_T
    fi
    E_CURVE=()
    for n in $E_SIZES; do
        E_BYTES=$(python3 "$ROOT/bench/mkfiles.py" "e/src$n" "$n" 512 "$E_MAX" 1000 "$n")
        "$EV" init "e/arc$n" >/dev/null
        "$EV" --archive "e/arc$n" add "e/src$n" >/dev/null 2>>"$LOG"
        "$EV" --archive "e/arc$n" seal --key e/signer.key >/dev/null 2>>"$LOG"
        (cd e && find "src$n" -type f -print0 | xargs -0 cat >/dev/null) # warm the page cache
        # cp -r and export alternate, round by round, so that both meet the same file-system
        # state: on ext4 without a journal (this machine), creating a file costs more while
        # many inodes were freed in the last minutes, which drifts over a benchmark (cp -r of
        # these documents took 0.6 s or 2.9 s depending on what ran before).
        cps=() exps=() rss=() pairs=() cpus=() cpcpus=()
        for ((i = 1; i <= RUNS; i++)); do
            sync
            timed cp -r "e/src$n" "e/cp$n-$i"
            cps+=("$T")
            cpcpus+=("$CPU")
            c=$T
            sync
            timed "$EV" --archive "e/arc$n" export --all --out "e/bundle$n-$i"
            exps+=("$T")
            cpus+=("$CPU")
            rss+=("$RSS")
            pairs+=("$(ratio "$T" "$c")")
        done
        E_CP=$(median "${cps[@]}")
        E_EXPORT=$(median "${exps[@]}")
        E_EXPORT_RSS=$(maxof "${rss[@]}")
        E_CP_CPU=$(median "${cpcpus[@]}")
        E_EXPORT_CPU=$(median "${cpus[@]}")
        E_PAIRS="${pairs[*]}"
        echo "   cp -r then export --all, $n documents, in rounds: cp -r ${cps[*]} s; export ${exps[*]} s (cpu ${cpus[*]} s); export/cp -r per round ${pairs[*]} (load $(load))" >&2
        bench_runs "sha256sum -c, $n documents" no_setup \
            sh -c "cd e/bundle$n-1 && sha256sum --quiet -c SHA256SUMS"
        E_SHA=$MED
        bench_runs "verify BUNDLE, $n documents" no_setup \
            "$EV" verify "e/bundle$n-1" --trust e/signer.pub
        E_VERIFY=$MED
        E_VERIFY_RSS=$RSSMAX
        E_HTML=$(wc -c <"e/bundle$n-1/report.html")
        row "(e) $n docs: cp -r of the documents" "$E_CP" "$E_CP_CPU" "" "$E_BYTES bytes"
        row "(e) $n docs: export --all" "$E_EXPORT" "$E_EXPORT_CPU" "$E_EXPORT_RSS" \
            "= $(ratio "$E_EXPORT" "$E_CP") x cp -r (rounds: $E_PAIRS)"
        row "(e) $n docs: sha256sum -c SHA256SUMS" "$E_SHA" "" "" ""
        row "(e) $n docs: verify BUNDLE --trust" "$E_VERIFY" "" "$E_VERIFY_RSS" \
            "= $(ratio "$E_VERIFY" "$E_SHA") x sha256sum -c"
        if [[ -n $BROWSER ]]; then
            page_time "$BENCH_DIR/e/bundle$n-1/report.html"
            E_PAGE=$(awk -v a="$PAGE_T" -v b="$E_EMPTY" 'BEGIN { printf "%.2f", a - b }')
            row "(e) $n docs: report.html in headless $BROWSER" "$E_PAGE" "" "" \
                "$E_HTML bytes; load + first screen, less an empty page ($E_EMPTY s)"
            detail="$BENCH_DIR/e/bundle$n-1/report/0001.html"
            if [[ -f $detail ]]; then
                page_time "$detail"
                E_DETAIL=$(awk -v a="$PAGE_T" -v b="$E_EMPTY" 'BEGIN { printf "%.2f", a - b }')
                row "(e) $n docs: report/0001.html in headless $BROWSER" "$E_DETAIL" "" "" \
                    "$(wc -c <"$detail") bytes; a detail page of 1,000 documents"
            fi
        else
            row "(e) $n docs: report.html" "" "" "" "$E_HTML bytes (no browser to time it)"
        fi
        E_CURVE+=("$n docs: export $(awk -v a="$E_EXPORT" -v n="$n" 'BEGIN { printf "%.1f", a / n * 1e6 }') us/doc, verify $(awk -v a="$E_VERIFY" -v n="$n" 'BEGIN { printf "%.1f", a / n * 1e6 }') us/doc")
        if [[ $n == 20000 ]]; then
            if awk -v a="$E_VERIFY" -v b="$E_SHA" 'BEGIN { exit !(a <= b * 0.5) }'; then v=PASS; else v=MISS; fi
            VERDICTS+=("$v (e) verify of a 20,000-document bundle at most 0.5x sha256sum -c: $E_VERIFY s vs $E_SHA s")
            if awk -v a="$E_EXPORT" -v b="$E_CP" 'BEGIN { exit !(a <= b * 2) }'; then v=PASS; else v=MISS; fi
            VERDICTS+=("$v (e) export of 20,000 documents at most 2x cp -r: $E_EXPORT s vs $E_CP s")
            if [[ -n $BROWSER ]]; then
                if awk -v a="$E_PAGE" 'BEGIN { exit !(a < 2) }'; then v=PASS; else v=MISS; fi
                VERDICTS+=("$v (e) report.html of 20,000 documents opens in under 2 s: $E_PAGE s")
            fi
        fi
    done
    VERDICTS+=("INFO (e) linearity (time per document): $(IFS=';'; echo "${E_CURVE[*]}")")
fi

# ---------------------------------------------------------------- (s) an S3 cluster

# The files of (a) and (b) into the bucket of S3_URL, in one run against the same cluster:
# evidentia (add into a fresh s3:// archive; seal, then verify --trust reading it back) against
# rclone (copy; check --download), a fresh prefix for every run. rclone runs with its defaults
# (4 transfers, 8 checkers), as a user scripting the copy would. Every evidentia command that
# fails (e.g. before the S3 backend exists) gives "n/a (error)" instead of ending the benchmark.
s_cluster() {
    if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
        echo "   cluster: $AWS_ENDPOINT_URL (from the environment), $S3_URL" >&2
        return
    fi
    local env_lines
    OWN_CLUSTER=$BENCH_DIR/garage
    env_lines=$("$ROOT/tests/cluster/garage.sh" up "$OWN_CLUSTER")
    eval "$env_lines"
    echo "   cluster: started in $OWN_CLUSTER, $AWS_ENDPOINT_URL, $S3_URL" >&2
}
s_rclone() {
    if ! command -v rclone >/dev/null; then
        echo "   installing rclone (apt-get)" >&2
        { apt-get install -y -qq rclone || { apt-get update -qq && apt-get install -y -qq rclone; }; } >&2 ||
            { echo "bench: part s needs rclone (Debian: apt-get install rclone)" >&2; exit 2; }
    fi
    # rclone's S3 SDK cannot combine a custom CA bundle with its own transport
    # ("LoadCustomCABundleError"); the cluster speaks plain http anyway.
    RCLONE=(env -u AWS_CA_BUNDLE rclone)
    export RCLONE_CONFIG_GARAGE_TYPE=s3 RCLONE_CONFIG_GARAGE_PROVIDER=Other \
        RCLONE_CONFIG_GARAGE_ENV_AUTH=false \
        RCLONE_CONFIG_GARAGE_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
        RCLONE_CONFIG_GARAGE_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
        RCLONE_CONFIG_GARAGE_REGION=${AWS_REGION:-garage} \
        RCLONE_CONFIG_GARAGE_ENDPOINT=$AWS_ENDPOINT_URL
}
# s_vs WHAT RCLONE_MED EV_MED: "= R x rclone" when both were measured.
s_vs() {
    [[ $2 == n/a* || $3 == n/a* ]] && return
    echo "= $(ratio "$3" "$2") x rclone"
}
s_verdict() { # s_verdict TEXT RCLONE_MED EV_MED
    local v
    if [[ $2 == n/a* || $3 == n/a* ]]; then
        v="MISS (n/a)"
    elif awk -v a="$3" -v b="$2" 'BEGIN { exit !(a <= b) }'; then v=PASS; else v=MISS; fi
    VERDICTS+=("$v (s) $1: evidentia ${3/%[0-9]/& s} vs rclone ${2/%[0-9]/& s}")
}

if part s; then
    echo "== (s) the files of (a) and (b) into an S3 cluster: evidentia against rclone" >&2
    make_big
    make_small
    s_cluster
    s_rclone
    mkdir -p s/big
    ln -f a/big.bin s/big/big.bin # a directory holding only the big file, for rclone
    S_TAG=bench-$(date -u +%Y%m%dT%H%M%S)-$$
    S_URL=$S3_URL/$S_TAG # s3://BUCKET[/PREFIX]/TAG
    S_RC=garage:${S_URL#s3://}
    SOFT_FAIL=1
    # An evidentia without the S3 backend takes s3://B/P for the local path s3:/B/P and
    # "succeeds": its figures would be those of a local disk.
    S_EV_NA=
    if "$EV" init "$S_URL/capability" >/dev/null 2>>"$LOG"; then
        if [[ -e s3: ]]; then
            S_EV_NA="n/a (s3:// is a local path to this evidentia)"
            rm -rf s3:
        fi
    else
        S_EV_NA="n/a (error)"
        echo "bench: evidentia init $S_URL/capability failed (see $LOG)" >&2
    fi
    # s_ev_runs LABEL SETUP: bench_runs of evidentia unless it cannot use the cluster.
    s_ev_runs() {
        if [[ -n $S_EV_NA ]]; then
            MED=$S_EV_NA CPUMED="" RSSMAX=""
            return
        fi
        bench_runs "$1" "$2" "$EV" || true
    }

    s_rc_copy_small() { NEXT_ARGS=(b/small "$S_RC/rclone-small-$1"); }
    s_rc_copy_big() { NEXT_ARGS=(s/big "$S_RC/rclone-big-$1"); }
    s_rc_check_small() { NEXT_ARGS=(b/small "$S_RC/rclone-small-$1"); }
    s_rc_check_big() { NEXT_ARGS=(s/big "$S_RC/rclone-big-$1"); }
    s_ev_add_small() {
        "$EV" init "$S_URL/ev-small-$1" >/dev/null 2>>"$LOG" &&
            NEXT_ARGS=(--archive "$S_URL/ev-small-$1" add b/small)
    }
    s_ev_add_big() {
        "$EV" init "$S_URL/ev-big-$1" >/dev/null 2>>"$LOG" &&
            NEXT_ARGS=(--archive "$S_URL/ev-big-$1" add a/big.bin)
    }
    # Sealed (untimed) first, so verify's exit status is 0: an unsealed archive exits 3, which
    # the runner would take for an error.
    [[ -n $S_EV_NA ]] || "$EV" key generate --out s/benchkey --unencrypted >/dev/null 2>>"$LOG"
    s_ev_verify() {
        "$EV" --archive "$S_URL/ev-$2-$1" seal --key s/benchkey.key >/dev/null 2>>"$LOG" &&
            NEXT_ARGS=(--archive "$S_URL/ev-$2-$1" verify --trust s/benchkey.pub)
    }
    s_ev_verify_small() { s_ev_verify "$1" small; }
    s_ev_verify_big() { s_ev_verify "$1" big; }

    for what in small big; do
        bench_runs "rclone copy, $what" "s_rc_copy_$what" "${RCLONE[@]}" copy || true
        declare "S_RC_COPY_$what=$MED" "S_RC_COPY_RSS_$what=$RSSMAX" "S_RC_COPY_CPU_$what=$CPUMED"
        s_ev_runs "evidentia add, $what" "s_ev_add_$what"
        declare "S_EV_ADD_$what=$MED" "S_EV_ADD_RSS_$what=$RSSMAX" "S_EV_ADD_CPU_$what=$CPUMED"
        bench_runs "rclone check --download, $what" "s_rc_check_$what" "${RCLONE[@]}" check --download || true
        declare "S_RC_CHECK_$what=$MED" "S_RC_CHECK_RSS_$what=$RSSMAX" "S_RC_CHECK_CPU_$what=$CPUMED"
        s_ev_runs "evidentia verify, $what" "s_ev_verify_$what"
        declare "S_EV_VERIFY_$what=$MED" "S_EV_VERIFY_RSS_$what=$RSSMAX" "S_EV_VERIFY_CPU_$what=$CPUMED"
    done
    SOFT_FAIL=0
    for what in small big; do
        if [[ $what == small ]]; then desc="$SMALL_FILES small files"; else desc="the ${BIG_MIB} MiB file"; fi
        rc_copy=S_RC_COPY_$what ev_add=S_EV_ADD_$what rc_check=S_RC_CHECK_$what ev_verify=S_EV_VERIFY_$what
        rc_copy_rss=S_RC_COPY_RSS_$what ev_add_rss=S_EV_ADD_RSS_$what
        rc_check_rss=S_RC_CHECK_RSS_$what ev_verify_rss=S_EV_VERIFY_RSS_$what
        rc_copy_cpu=S_RC_COPY_CPU_$what ev_add_cpu=S_EV_ADD_CPU_$what
        rc_check_cpu=S_RC_CHECK_CPU_$what ev_verify_cpu=S_EV_VERIFY_CPU_$what
        row "(s) rclone copy, $what" "${!rc_copy}" "${!rc_copy_cpu}" "${!rc_copy_rss}" ""
        row "(s) evidentia add, $what (fresh s3:// archive)" "${!ev_add}" "${!ev_add_cpu}" "${!ev_add_rss}" \
            "$(s_vs "$what" "${!rc_copy}" "${!ev_add}")"
        row "(s) rclone check --download, $what" "${!rc_check}" "${!rc_check_cpu}" "${!rc_check_rss}" ""
        row "(s) evidentia verify --trust, $what" "${!ev_verify}" "${!ev_verify_cpu}" "${!ev_verify_rss}" \
            "$(s_vs "$what" "${!rc_check}" "${!ev_verify}")"
        s_verdict "add of $desc into the cluster no slower than rclone copy" "${!rc_copy}" "${!ev_add}"
        s_verdict "verify of $desc from the cluster no slower than rclone check --download" "${!rc_check}" "${!ev_verify}"
    done
    VERDICTS+=("INFO (s) peak memory, ${BIG_MIB} MiB file: add ${S_EV_ADD_RSS_big:-n/a} KiB, verify ${S_EV_VERIFY_RSS_big:-n/a} KiB (rclone copy ${S_RC_COPY_RSS_big:-n/a} KiB)")
    # What this part wrote stays on a cluster it did not start: remove it (untimed).
    if [[ -z $OWN_CLUSTER ]]; then
        "${RCLONE[@]}" purge "$S_RC" 2>>"$LOG" || echo "bench: could not remove $S_URL (see $LOG)" >&2
    fi
fi

# ---------------------------------------------------------------- (x) encrypted documents

# Issue 14: `add --encrypt` within 1.3x of plain `add` of the same files, and `verify
# --identity` within 1.3x of plain `verify`, in one run. Each run adds plain then encrypted
# (alternating, so load drift hits both alike); verify runs on the archives of run 1, sealed
# (untimed) so that verify exits 0.
if part x; then
echo "== (x) encrypted documents: the files of (a) and (b), plain and --encrypt" >&2
make_big
make_small
mkdir -p x
"$EV" key generate --out x/signer --unencrypted >/dev/null 2>>"$LOG"
X_RECIPIENT=$("$EV" key generate --age --unencrypted --out x/identity 2>>"$LOG")
# x_pair WHAT INPUT: RUNS pairs of `add` (plain, then --encrypt) of INPUT into fresh
# archives x/plain-WHAT-i and x/enc-WHAT-i. Sets X_PLAIN, X_ENC (median wall s) and their cpu.
x_pair() {
    local what=$1 input=$2 plain=() enc=() cpup=() cpue=() rssp=() rsse=() i
    for ((i = 1; i <= RUNS; i++)); do
        "$EV" init "x/plain-$what-$i" >/dev/null
        "$EV" init "x/enc-$what-$i" --recipient "$X_RECIPIENT" >/dev/null
        sync
        timed "$EV" --archive "x/plain-$what-$i" add "$input"
        plain+=("$T") cpup+=("$CPU") rssp+=("$RSS")
        sync
        timed "$EV" --archive "x/enc-$what-$i" add --encrypt "$input"
        enc+=("$T") cpue+=("$CPU") rsse+=("$RSS")
        # Only run 1's archives are verified; the big file's others would hold GiBs of disk
        # (a few large files: their removal does not slow the next run, unlike many small).
        if [[ $what == big && $i -gt 1 ]]; then rm -rf "x/plain-$what-$i" "x/enc-$what-$i"; fi
    done
    echo "   $what: add ${plain[*]} s (cpu ${cpup[*]}); add --encrypt ${enc[*]} s (cpu ${cpue[*]}) (load $(load))" >&2
    X_PLAIN=$(median "${plain[@]}") X_PLAIN_CPU=$(median "${cpup[@]}") X_PLAIN_RSS=$(maxof "${rssp[@]}")
    X_ENC=$(median "${enc[@]}") X_ENC_CPU=$(median "${cpue[@]}") X_ENC_RSS=$(maxof "${rsse[@]}")
}
# x_verify WHAT: RUNS rounds of verify of the plain archive, of the encrypted one without an
# identity, and with --identity. Sets X_VP, X_VE, X_VI (median wall s) and their cpu.
x_verify() {
    local what=$1 vp=() ve=() vi=() cp=() ce=() ci=() i
    "$EV" --archive "x/plain-$what-1" seal --key x/signer.key >/dev/null 2>>"$LOG"
    "$EV" --archive "x/enc-$what-1" seal --key x/signer.key >/dev/null 2>>"$LOG"
    for ((i = 1; i <= RUNS; i++)); do
        timed "$EV" --archive "x/plain-$what-1" verify --trust x/signer.pub
        vp+=("$T") cp+=("$CPU")
        timed "$EV" --archive "x/enc-$what-1" verify --trust x/signer.pub
        ve+=("$T") ce+=("$CPU")
        timed "$EV" --archive "x/enc-$what-1" verify --trust x/signer.pub --identity x/identity
        vi+=("$T") ci+=("$CPU")
    done
    echo "   $what: verify plain ${vp[*]} s; encrypted ${ve[*]} s; --identity ${vi[*]} s (load $(load))" >&2
    X_VP=$(median "${vp[@]}") X_VP_CPU=$(median "${cp[@]}")
    X_VE=$(median "${ve[@]}") X_VE_CPU=$(median "${ce[@]}")
    X_VI=$(median "${vi[@]}") X_VI_CPU=$(median "${ci[@]}")
}
x_verdict() { # LABEL PLAIN ENCRYPTED
    if awk -v a="$3" -v b="$2" 'BEGIN { exit !(a <= b * 1.3) }'; then v=PASS; else v=MISS; fi
    VERDICTS+=("$v (x) $1 within 1.3x: $3 s vs $2 s ($(ratio "$3" "$2") x)")
}
for what in big small; do
    if [[ $what == big ]]; then input=a/big.bin desc="the ${BIG_MIB} MiB file"; else input=b/small desc="$SMALL_FILES small files"; fi
    x_pair "$what" "$input"
    row "(x) add, $what (fresh archive)" "$X_PLAIN" "$X_PLAIN_CPU" "$X_PLAIN_RSS" ""
    row "(x) add --encrypt, $what" "$X_ENC" "$X_ENC_CPU" "$X_ENC_RSS" "= $(ratio "$X_ENC" "$X_PLAIN") x add"
    x_verdict "add --encrypt of $desc vs add" "$X_PLAIN" "$X_ENC"
    x_verify "$what"
    row "(x) verify --trust, $what, plain" "$X_VP" "$X_VP_CPU" "" ""
    row "(x) verify --trust, $what, encrypted" "$X_VE" "$X_VE_CPU" "" "= $(ratio "$X_VE" "$X_VP") x plain verify"
    row "(x) verify --trust --identity, $what" "$X_VI" "$X_VI_CPU" "" \
        "= $(ratio "$X_VI" "$X_VP") x plain verify, $(ratio "$X_VI" "$X_VE") x without identity"
    x_verdict "verify --identity of $desc vs plain verify" "$X_VP" "$X_VI"
done
fi

# ---------------------------------------------------------------- memory constant in file size

if part a && part m; then
echo "== memory: add of a 64 MiB file vs the ${BIG_MIB} MiB one" >&2
head -c $((64 << 20)) /dev/urandom >a/mid.bin
"$EV" init a/arc-mid >/dev/null
timed "$EV" --archive a/arc-mid add a/mid.bin
M_SMALL=$RSS
row "evidentia add of a 64 MiB file" "$T" "$CPU" "$M_SMALL" ""
if awk -v a="$A_EV_RSS" -v b="$M_SMALL" 'BEGIN { exit !(a <= b * 1.25 + 2048) }'; then v=PASS; else v=MISS; fi
VERDICTS+=("$v memory constant in file size: $A_EV_RSS KiB for ${BIG_MIB} MiB vs $M_SMALL KiB for 64 MiB")
fi

# ---------------------------------------------------------------- report

echo
echo "evidentia benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) cores, $CPU_MODEL, SHA extensions (sha_ni): $SHA_NI; scratch: $FS"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share the cores)"
echo "times: wall seconds, median of $RUNS runs (populate: sum of its add runs); cpu = user+sys"
echo
printf '%-46s %10s %8s %10s %s\n' "measurement" "wall s" "cpu s" "maxRSS KiB" "ratio / note"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${VERDICTS[@]}"
