#!/usr/bin/env bash
# A three-node Garage cluster on 127.0.0.1 for the cluster tests, CI and the benchmark.
#
#   tests/cluster/garage.sh up DIR          start (or resume) the cluster kept in DIR; prints
#                                           only `export NAME=VALUE` lines on stdout, so
#                                           eval "$(tests/cluster/garage.sh up DIR)" works
#   tests/cluster/garage.sh down DIR        stop all nodes (idempotent; DIR is kept)
#   tests/cluster/garage.sh stop-node DIR N stop node N (2 or 3) for the node-failure test
#   tests/cluster/garage.sh start-node DIR N start node N again and wait until healthy
#   tests/cluster/garage.sh env DIR         print the export lines again
#
# Node 1 serves the S3 endpoint (AWS_ENDPOINT_URL), so only nodes 2 and 3 may be stopped.
# Three zones (dc1 dc2 dc3), replication_factor 3, consistency_mode "consistent": with one
# node down, quorum (2 of 3) still holds and reads and writes go on.
# Ports: GARAGE_BASE_PORT (default 39100) + 10*(N-1) + {0 rpc, 1 s3, 2 admin}.
# Needs only bash, coreutils and garage (2.5).
set -euo pipefail

readonly BUCKET=evidentia
readonly REGION=garage
readonly NODES=(1 2 3)
readonly WAIT_SECONDS=${GARAGE_WAIT_SECONDS:-60}

log() { printf 'garage.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

node_dir() { printf '%s/node%s' "$DIR" "$1"; }
node_conf() { printf '%s/garage.toml' "$(node_dir "$1")"; }
node_pidfile() { printf '%s/pid' "$(node_dir "$1")"; }
node_log() { printf '%s/server.log' "$(node_dir "$1")"; }
port() { echo $((BASE_PORT + 10 * ($1 - 1) + $2)); }
rpc_port() { port "$1" 0; }
s3_port() { port "$1" 1; }
admin_port() { port "$1" 2; }

# garage CLI against node N (admin operations go over RPC to that node).
g() {
    local n=$1
    shift
    garage -c "$(node_conf "$n")" "$@"
}

node_pid() {
    local pidfile pid
    pidfile=$(node_pidfile "$1")
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

port_in_use() {
    # A successful connect means something listens there already.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_ports_free() {
    local n p busy=()
    for n in "${NODES[@]}"; do
        for p in "$(rpc_port "$n")" "$(s3_port "$n")" "$(admin_port "$n")"; do
            if port_in_use "$p"; then busy+=("$p"); fi
        done
    done
    if ((${#busy[@]})); then
        die "port(s) ${busy[*]} on 127.0.0.1 already in use; choose another base with GARAGE_BASE_PORT=N (now $BASE_PORT; uses N..N+22)"
    fi
}

write_config() {
    local n=$1 rpc_secret=$2 admin_token=$3 d
    d=$(node_dir "$n")
    mkdir -p "$d/meta" "$d/data"
    (
        umask 077
        cat >"$(node_conf "$n")" <<EOF
metadata_dir = "$d/meta"
data_dir = "$d/data"
db_engine = "sqlite"
replication_factor = 3
consistency_mode = "consistent"
rpc_bind_addr = "127.0.0.1:$(rpc_port "$n")"
rpc_public_addr = "127.0.0.1:$(rpc_port "$n")"
rpc_secret = "$rpc_secret"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$(s3_port "$n")"

[admin]
api_bind_addr = "127.0.0.1:$(admin_port "$n")"
admin_token = "$admin_token"
EOF
    )
}

log_tail() {
    log "last lines of $(node_log "$1"):"
    tail -n 20 "$(node_log "$1")" >&2 2>/dev/null || true
}

start_server() {
    local n=$1
    if node_pid "$n" >/dev/null; then
        log "node $n already running (pid $(node_pid "$n"))"
        return 0
    fi
    # All three streams redirected: a server holding our stdout would make
    # eval "$(garage.sh up DIR)" wait forever. Every other inherited descriptor is closed too:
    # a server started from a test would otherwise keep its caller's locks (a build lock)
    # for as long as it runs.
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
        done
        RUST_LOG=${RUST_LOG:-garage=info} exec nohup garage -c "$(node_conf "$n")" server \
            </dev/null >>"$(node_log "$n")" 2>&1
    ) &
    echo $! >"$(node_pidfile "$n")"
    log "node $n started (pid $!, log $(node_log "$n"))"
}

# Node 1 connects to the node with id ID. A node answers `node id` before its RPC port accepts
# peers, so the connect is retried (10 s at most).
connect_node() {
    local tries=0
    until g 1 node connect "$1" >/dev/null 2>&1; do
        tries=$((tries + 1))
        ((tries < 50)) || die "node 1 could not connect to $1"
        sleep 0.2
    done
}

# Wait until node N answers on RPC; fail with its log tail.
wait_node_up() {
    local n=$1 deadline=$((SECONDS + WAIT_SECONDS))
    until g "$n" node id -q >/dev/null 2>&1; do
        if ! node_pid "$n" >/dev/null; then
            log_tail "$n"
            die "node $n exited during start-up"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$n"
            die "node $n did not answer within ${WAIT_SECONDS}s"
        fi
        sleep 0.2
    done
}

cluster_healthy() {
    g 1 json-api GetClusterHealth 2>/dev/null | grep -q '"status": *"healthy"'
}

wait_healthy() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    until cluster_healthy; do
        if ((SECONDS >= deadline)); then
            g 1 status >&2 2>&1 || true
            for n in "${NODES[@]}"; do log_tail "$n"; done
            die "cluster not healthy within ${WAIT_SECONDS}s"
        fi
        sleep 0.5
    done
    log "cluster healthy"
}

print_env() {
    [[ -f $DIR/env ]] || die "$DIR holds no cluster (no $DIR/env); run: $0 up $DIR"
    cat "$DIR/env"
}

cmd_up() {
    local n running=()
    for n in "${NODES[@]}"; do
        if node_pid "$n" >/dev/null; then running+=("$n"); fi
    done
    if ((${#running[@]})); then
        die "a cluster already runs in $DIR (node(s) ${running[*]}); use it with: eval \"\$($0 env $DIR)\", or stop it with: $0 down $DIR"
    fi
    if [[ -f $DIR/env ]]; then
        # Resume a cluster stopped with `down`: same data, same key.
        BASE_PORT=$(<"$DIR/base-port")
        check_ports_free
        log "resuming the cluster in $DIR (ports from $BASE_PORT)"
        for n in "${NODES[@]}"; do start_server "$n"; done
        for n in "${NODES[@]}"; do wait_node_up "$n"; done
        wait_healthy
        print_env
        return
    fi
    if [[ -e $DIR && -n $(ls -A "$DIR" 2>/dev/null) ]]; then
        die "$DIR is not empty and holds no cluster; choose an empty or new directory"
    fi
    command -v garage >/dev/null || die "garage not found on PATH; install it with: cargo install garage --locked --version 2.5.0"
    check_ports_free
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    echo "$BASE_PORT" >"$DIR/base-port"

    local rpc_secret admin_token
    rpc_secret=$(random_hex 32)
    admin_token=$(random_hex 32)
    for n in "${NODES[@]}"; do write_config "$n" "$rpc_secret" "$admin_token"; done
    log "starting 3 nodes in $DIR (ports from $BASE_PORT)"
    for n in "${NODES[@]}"; do start_server "$n"; done
    for n in "${NODES[@]}"; do wait_node_up "$n"; done

    local ids=()
    for n in "${NODES[@]}"; do ids+=("$(g "$n" node id -q)"); done
    for n in 2 3; do
        connect_node "${ids[n - 1]}"
    done
    for n in "${NODES[@]}"; do
        g 1 layout assign -z "dc$n" -c 1G "${ids[n - 1]%%@*}" >/dev/null
    done
    g 1 layout apply --version 1 >/dev/null
    log "layout applied: dc1 dc2 dc3, 1G each"
    wait_healthy

    # A key we generate ourselves (import) rather than one parsed from garage's human output.
    local key_id secret
    key_id=GK$(random_hex 12)
    secret=$(random_hex 32)
    g 1 bucket create "$BUCKET" >/dev/null
    g 1 key import --yes -n evidentia-test "$key_id" "$secret" >/dev/null
    g 1 bucket allow --read --write --owner "$BUCKET" --key "$key_id" >/dev/null
    log "bucket $BUCKET and key $key_id ready"
    (
        umask 077
        cat >"$DIR/env" <<EOF
export AWS_ACCESS_KEY_ID=$key_id
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=$REGION
export AWS_ENDPOINT_URL=http://127.0.0.1:$(s3_port 1)
export EVIDENTIA_TEST_S3=s3://$BUCKET/test
export EVIDENTIA_TEST_GARAGE_DIR=$DIR
EOF
    )
    print_env
}

stop_server() {
    local n=$1 pid deadline
    pid=$(node_pid "$n") || {
        rm -f "$(node_pidfile "$n")"
        return 0
    }
    kill "$pid"
    deadline=$((SECONDS + WAIT_SECONDS))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "node $n (pid $pid) ignored SIGTERM for ${WAIT_SECONDS}s; sending SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
        sleep 0.1
    done
    rm -f "$(node_pidfile "$n")"
    log "node $n stopped (pid $pid)"
}

cmd_down() {
    [[ -d $DIR ]] || return 0
    local n
    for n in "${NODES[@]}"; do stop_server "$n"; done
}

node_arg() {
    [[ ${1:-} == 2 || ${1:-} == 3 ]] || die "node must be 2 or 3 (node 1 serves the S3 endpoint), got '${1:-}'"
}

cmd_stop_node() {
    node_arg "$1"
    [[ -f $DIR/env ]] || die "$DIR holds no cluster"
    stop_server "$1"
}

cmd_start_node() {
    node_arg "$1"
    [[ -f $DIR/env ]] || die "$DIR holds no cluster"
    start_server "$1"
    wait_node_up "$1"
    # Without this, node 1 notices the returning node only at its next peer retry (~30 s).
    # The node answers `node id` before its RPC port accepts peers: retry the connect.
    connect_node "$(g "$1" node id -q)"
    wait_healthy
}

(($# >= 2)) || usage
readonly CMD=$1
DIR=${2%/}
BASE_PORT=${GARAGE_BASE_PORT:-39100}
if ! [[ $BASE_PORT =~ ^[0-9]+$ ]] || ((BASE_PORT < 1024 || BASE_PORT > 65500)); then
    die "GARAGE_BASE_PORT must be a number from 1024 to 65500, got '$BASE_PORT'"
fi
if [[ $CMD != up && -f $DIR/base-port ]]; then BASE_PORT=$(<"$DIR/base-port"); fi
case $CMD in
up) cmd_up ;;
down) cmd_down ;;
env) print_env ;;
stop-node) cmd_stop_node "${3:-}" ;;
start-node) cmd_start_node "${3:-}" ;;
*) usage ;;
esac
