#!/usr/bin/env bash
# Side-by-side throughput of real etcd and our server, measured with OUR benchmark tool
# (bins/benchmark). Each server is started in turn, alone, on free 127.0.0.1 ports with a
# fresh temp data dir and default fsync behaviour, runs every scenario, and is killed.
#
# Usage: scripts/bench-compare.sh [OUR_SERVER_BIN]
#   OUR_SERVER_BIN   default: <cargo target dir>/release/etcd-server
# Environment:
#   ETCD_BIN=/usr/bin/etcd      the reference server
#   BENCH_BIN=path              our benchmark binary (default: cargo build --release -p benchmark)
#   ETCD_TOOL=1                 also run etcd's own benchmark tool (built with
#                               ../shared/etcd-benchmark/build.sh into ETCD_TOOL_DIR if missing)
#   ETCD_TOOL_DIR=/tmp/etcd-benchmark-tool
#   SCENARIOS="put-1x1 put-10x100 range-l-1x1 range-l-10x100"   subset to run; also available:
#     watch-latency watch lease-keepalive-1x1 lease-keepalive-10x100 (see scenario_args)
# Prints each run's RESULT line, then a markdown table (ours / etcd ratios).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
TARGET_DIR=${TARGET_DIR:-$ROOT/target}
OUR_BIN=${1:-$TARGET_DIR/release/etcd-server}
SCENARIOS=${SCENARIOS:-"put-1x1 put-10x100 range-l-1x1 range-l-10x100"}
ETCD_TOOL=${ETCD_TOOL:-0}
ETCD_TOOL_DIR=${ETCD_TOOL_DIR:-/tmp/etcd-benchmark-tool}

die() { echo "bench-compare: $*" >&2; exit 1; }
[ -x "$ETCD_BIN" ] || die "reference server $ETCD_BIN not found"
[ -x "$OUR_BIN" ] || die "our server $OUR_BIN not found (cargo build --release -p etcd-server)"

if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release -p benchmark >&2
  BENCH_BIN=$TARGET_DIR/release/benchmark
fi
[ -x "$BENCH_BIN" ] || die "benchmark tool $BENCH_BIN not found"

if [ "$ETCD_TOOL" = 1 ] && [ ! -x "$ETCD_TOOL_DIR/benchmark" ]; then
  OUT=$ETCD_TOOL_DIR bash "$ROOT/../shared/etcd-benchmark/build.sh" >&2 ||
    die "building etcd's benchmark tool failed"
fi

WORK=$(mktemp -d)
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME BIN: starts BIN on free ports, sets ENDPOINT, waits until it serves.
start_server() {
  local name=$1 bin=$2 cport pport
  cport=$(free_port); pport=$(free_port)
  ENDPOINT=127.0.0.1:$cport
  mkdir -p "$WORK/$name"
  "$bin" --name bench --data-dir "$WORK/$name/data" \
    --listen-client-urls "http://$ENDPOINT" --advertise-client-urls "http://$ENDPOINT" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "bench=http://127.0.0.1:$pport" >"$WORK/$name/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/$name/server.log" >&2; die "$name exited at startup"; }
    if timeout 5 "$BENCH_BIN" --endpoints "$ENDPOINT" --dial-timeout 1s --request-timeout 1s \
        range ready --total 1 2>/dev/null | grep -q 'errors=0$'; then
      return 0
    fi
    sleep 0.2
  done
  die "$name did not become ready in 30s"
}

# scenario_args NAME: prints "CONNS CLIENTS SUBCOMMAND..." for a scenario.
scenario_args() {
  local put="put --key-size 8 --val-size 256"
  case $1 in
    put-1x1) echo "1 1 $put --total 2000" ;;
    put-10x100) echo "10 100 $put --total 20000" ;;
    range-l-1x1) echo "1 1 range foo --consistency l --total 2000" ;;
    range-l-10x100) echo "10 100 range foo --consistency l --total 20000" ;;
    # 100 watchers of one key (10 streams), 1000 puts at 100/s: put-to-event latency.
    watch-latency) echo "10 100 watch-latency --total 1000 --put-rate 100" ;;
    # 1000 watchers over 100 distinct keys (10 per key), 10000 puts at 2000/s: 100k events.
    # (etcd's tool needs an explicit --put-rate: with 0 its limiter panics.)
    watch) echo "10 10 watch --streams 10 --watch-per-stream 100 --watched-key-total 100 --key-space-size 100 --sequential-keys --put-total 10000 --put-rate 2000" ;;
    lease-keepalive-1x1) echo "1 1 lease-keepalive --total 2000" ;;
    lease-keepalive-10x100) echo "10 100 lease-keepalive --total 20000" ;;
    *) die "unknown scenario $1" ;;
  esac
}

# field LINE KEY: the value of KEY=... in a RESULT line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

declare -A RESULTS
run_all() {
  local server=$1 s conns clients sub line
  for s in $SCENARIOS; do
    read -r conns clients sub <<<"$(scenario_args "$s")"
    # shellcheck disable=SC2086
    line=$(timeout 600 "$BENCH_BIN" --endpoints "$ENDPOINT" --conns "$conns" --clients "$clients" \
      $sub | grep '^RESULT ') || die "$server/$s: benchmark failed"
    echo "$server $s $line"
    RESULTS[$server,$s]=$line
    if [ "$ETCD_TOOL" = 1 ]; then
      # shellcheck disable=SC2086
      local out rps p99
      out=$(timeout 600 "$ETCD_TOOL_DIR/benchmark" --endpoints "$ENDPOINT" --conns "$conns" \
        --clients "$clients" $sub 2>/dev/null) || die "$server/$s: etcd's benchmark failed"
      # The last summary counts (watch prints a creation summary before the events one).
      rps=$(sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
      p99=$(awk '/ 99% in /{p = sprintf("%.3f", $3*1000)} END {print p}' <<<"$out")
      echo "$server $s etcd-tool requests_per_sec=$rps p99_ms=$p99"
      RESULTS[$server,$s,tool]="requests_per_sec=$rps p99_ms=$p99"
    fi
  done
}

start_server etcd "$ETCD_BIN"; run_all etcd; stop_server
start_server ours "$OUR_BIN"; run_all ours; stop_server

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "| scenario | etcd req/s | ours req/s | ours/etcd | etcd p50 ms | ours p50 ms | etcd p99 ms | ours p99 ms | errors (etcd/ours) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in $SCENARIOS; do
  e=${RESULTS[etcd,$s]}; o=${RESULTS[ours,$s]}
  er=$(field "$e" requests_per_sec); orr=$(field "$o" requests_per_sec)
  echo "| $s | $er | $orr | $(ratio "$orr" "$er") | $(field "$e" p50_ms) | $(field "$o" p50_ms) |" \
    "$(field "$e" p99_ms) | $(field "$o" p99_ms) | $(field "$e" errors)/$(field "$o" errors) |"
done
if [ "$ETCD_TOOL" = 1 ]; then
  echo
  echo "etcd's own benchmark tool, same scenarios:"
  echo
  echo "| scenario | etcd req/s | ours req/s | ours/etcd |"
  echo "|---|---:|---:|---:|"
  for s in $SCENARIOS; do
    er=$(field "${RESULTS[etcd,$s,tool]}" requests_per_sec); orr=$(field "${RESULTS[ours,$s,tool]}" requests_per_sec)
    echo "| $s | $er | $orr | $(ratio "$orr" "$er") |"
  done
fi
