#!/usr/bin/env bash
# Probes, against a running S3 endpoint (the cluster from garage.sh), whether conditional writes
# are honoured, what concurrent PUTs of one key do, and whether LIST sees a key right after its
# PUT. One line per question on stdout: honoured / ignored, with the HTTP statuses seen.
#
#   eval "$(tests/cluster/garage.sh up DIR)"; tests/cluster/probe-conditional.sh
#
# Uses the bucket of EVIDENTIA_TEST_S3 (default evidentia) under a fresh prefix probe-<random>/.
# Extra endpoints for the cross-node checks: PROBE_ENDPOINTS (space-separated; default node 1..3
# of garage.sh, from EVIDENTIA_TEST_GARAGE_DIR's base port).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${AWS_ENDPOINT_URL:?set the cluster variables: eval \"\$(tests/cluster/garage.sh up DIR)\"}"

bucket=${EVIDENTIA_TEST_S3:-s3://evidentia/x}
bucket=${bucket#s3://}
bucket=${bucket%%/*}
prefix=probe-$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ -z ${PROBE_ENDPOINTS:-} && -f ${EVIDENTIA_TEST_GARAGE_DIR:-/nonexistent}/base-port ]]; then
    base=$(<"$EVIDENTIA_TEST_GARAGE_DIR/base-port")
    PROBE_ENDPOINTS="http://127.0.0.1:$((base + 1)) http://127.0.0.1:$((base + 11)) http://127.0.0.1:$((base + 21))"
fi
read -r -a endpoints <<<"${PROBE_ENDPOINTS:-$AWS_ENDPOINT_URL}"

# req METHOD KEY_AND_QUERY [s3req args]: status on stdout, body in $tmp/body, headers in $tmp/hdr.
req() {
    local method=$1 path=$2
    shift 2
    "$here/s3req.py" "$method" "/$bucket/$path" -o "$tmp/body" -D "$tmp/hdr" "$@"
}
etag_of() { sed -n 's/^etag: *//p' "$tmp/hdr" | tr -d '\r'; }
get_body() {
    local s
    s=$(req GET "$1")
    [[ $s == 200 ]] || {
        echo "GET $1 -> $s" >&2
        return 1
    }
    cat "$tmp/body"
}
verdict() { # verdict QUESTION STATUS_OF_FORBIDDEN_WRITE CONTENT_AFTER EXPECTED_IF_HONOURED
    local what=$1 status=$2 after=$3 kept=$4
    if [[ $status == 412 && $after == "$kept" ]]; then
        echo "$what: honoured (HTTP $status, object unchanged)"
    elif [[ $status =~ ^2 ]]; then
        echo "$what: IGNORED (HTTP $status, object overwritten: now '$after')"
    else
        echo "$what: unclear (HTTP $status, object now '$after')"
    fi
}

# 1. PutObject If-None-Match: * on an existing key (must be 412 to be usable as create-only).
k=$prefix/inm
s1=$(req PUT "$k" --data-str first -H 'If-None-Match: *')
s2=$(req PUT "$k" --data-str second -H 'If-None-Match: *')
verdict "PutObject If-None-Match: * on an existing key" "$s2" "$(get_body "$k")" first
echo "PutObject If-None-Match: * on an absent key: HTTP $s1"

# 2. PutObject If-Match: wrong etag must fail; the right etag must succeed (compare-and-swap).
k=$prefix/im
req PUT "$k" --data-str v1 >/dev/null
etag1=$(etag_of)
s_bad=$(req PUT "$k" --data-str v2 -H 'If-Match: "00000000000000000000000000000000"')
verdict "PutObject If-Match: <wrong etag>" "$s_bad" "$(get_body "$k")" v1
req PUT "$k" --data-str v1 >/dev/null # restore, in case it was ignored
s_good=$(req PUT "$k" --data-str v3 -H "If-Match: $etag1")
echo "PutObject If-Match: <current etag $etag1>: HTTP $s_good, object now '$(get_body "$k")'"

# 3. CompleteMultipartUpload with If-None-Match: * and If-Match: <wrong etag> on an existing key.
multipart_complete() { # multipart_complete KEY CONTENT [header...]: status of the Complete
    local key=$1 content=$2 upload etag
    shift 2
    req POST "$key?uploads" >/dev/null
    upload=$(sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p' "$tmp/body")
    req PUT "$key?partNumber=1&uploadId=$upload" --data-str "$content" >/dev/null
    etag=$(etag_of)
    local xml="<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$etag</ETag></Part></CompleteMultipartUpload>"
    local hdrs=()
    for h in "$@"; do hdrs+=(-H "$h"); done
    req POST "$key?uploadId=$upload" --data-str "$xml" "${hdrs[@]}"
}
k=$prefix/mp
req PUT "$k" --data-str existing >/dev/null
s=$(multipart_complete "$k" multipart-inm 'If-None-Match: *')
verdict "CompleteMultipartUpload If-None-Match: *" "$s" "$(get_body "$k")" existing
req PUT "$k" --data-str existing >/dev/null
s=$(multipart_complete "$k" multipart-im 'If-Match: "00000000000000000000000000000000"')
verdict "CompleteMultipartUpload If-Match: <wrong etag>" "$s" "$(get_body "$k")" existing

# 4. Concurrent PUTs of one key, sent through different nodes at the same moment.
k=$prefix/race
writers=8
for i in $(seq 1 "$writers"); do
    ep=${endpoints[$(((i - 1) % ${#endpoints[@]}))]}
    "$here/s3req.py" PUT "/$bucket/$k" --data-str "writer-$i" --endpoint "$ep" >"$tmp/race-$i" &
done
wait
statuses=$(cat "$tmp"/race-* | sort | uniq -c | awk '{printf "%s x HTTP %s; ", $1, $2}')
seen=()
for ep in "${endpoints[@]}"; do
    "$here/s3req.py" GET "/$bucket/$k" --endpoint "$ep" -o "$tmp/body" >/dev/null
    seen+=("$(cat "$tmp/body")")
done
agree=$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)
echo "Concurrent PUTs ($writers writers, ${#endpoints[@]} nodes): ${statuses}all succeed, one body survives ('${seen[0]}'); nodes agree: $([[ $agree == 1 ]] && echo yes || echo "NO (${seen[*]})") -> last writer wins, no conflict reported"

# 5. LIST right after a completed PUT, on every node, many times.
rounds=${PROBE_LIST_ROUNDS:-30}
misses=0 checks=0
for i in $(seq 1 "$rounds"); do
    key=$prefix/list/$i
    req PUT "$key" --data-str "$i" >/dev/null
    for ep in "${endpoints[@]}"; do
        checks=$((checks + 1))
        "$here/s3req.py" GET "/$bucket?list-type=2&prefix=$key" --endpoint "$ep" -o "$tmp/list" >/dev/null
        grep -q "<Key>$key</Key>" "$tmp/list" || misses=$((misses + 1))
    done
done
if ((misses == 0)); then
    echo "LIST right after PUT: always shows the key ($checks of $checks lists, $rounds PUTs, ${#endpoints[@]} nodes)"
else
    echo "LIST right after PUT: key MISSING in $misses of $checks lists"
fi
