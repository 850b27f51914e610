#!/usr/bin/env bash
# Side-by-side put throughput and latency of a 3-member real etcd cluster and a 3-member
# cluster of ours, on this machine (all members on 127.0.0.1, default fsync). Each cluster
# is started alone on free ports with fresh temp data dirs, measured, and killed.
#
# Usage: scripts/bench-cluster.sh [OUR_SERVER_BIN]   (default: <target>/release/etcd-server)
# Environment:
#   ETCD_BIN=/usr/bin/etcd                       the reference server
#   TOOL=/tmp/etcd-benchmark-tool/benchmark      etcd's own Go benchmark tool (tools/benchmark)
#   BENCH_BIN=path                               also run our benchmark tool with the same flags
# Scenarios: put 1 client x 1 conn (to the leader), put 100 clients x 10 conns (to the leader),
# put 100 clients x 10 conns (spread over all members: followers forward to the leader).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
TOOL=${TOOL:-/tmp/etcd-benchmark-tool/benchmark}
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
OUR_BIN=${1:-${TARGET_DIR:-$ROOT/target}/release/etcd-server}
for b in "$ETCD_BIN" "$TOOL" "$OUR_BIN"; do
  [ -x "$b" ] || { echo "bench-cluster: $b not found" >&2; exit 1; }
done

WORK=$(mktemp -d)
PIDS=()
stop_cluster() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_cluster; rm -rf "$WORK"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_cluster BIN LABEL: starts 3 members, sets CLIENTS (comma list) and LEADER.
start_cluster() {
  local bin=$1 label=$2 ic="" i
  local cports=() pports=()
  for i in 0 1 2; do cports+=("$(free_port)"); pports+=("$(free_port)"); done
  for i in 0 1 2; do ic+="${ic:+,}m$i=http://127.0.0.1:${pports[$i]}"; done
  CLIENTS=""
  for i in 0 1 2; do
    timeout 900 "$bin" --name "m$i" --data-dir "$WORK/$label-m$i" \
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" \
      --advertise-client-urls "http://127.0.0.1:${cports[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${pports[$i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}" \
      --initial-cluster "$ic" --initial-cluster-token "bench-$label-$$" \
      >"$WORK/$label-m$i.log" 2>&1 &
    PIDS+=($!)
    CLIENTS+="${CLIENTS:+,}127.0.0.1:${cports[$i]}"
  done
  for _ in $(seq 1 100); do
    LEADER=$(ETCDCTL_API=3 /usr/bin/etcdctl --endpoints "$CLIENTS" endpoint status 2>/dev/null |
      awk -F', ' '$5 == "true" {print $1}' | head -1)
    [ -n "$LEADER" ] && return 0
    sleep 0.2
  done
  echo "bench-cluster: $label cluster did not elect a leader" >&2
  exit 1
}

# run TOOLBIN ENDPOINTS CLIENTS CONNS TOTAL -> prints "req/s avg_ms p99_ms"
run() {
  local out
  out=$("$1" --endpoints "$2" --clients "$3" --conns "$4" put --total "$5" \
    --key-size 8 --val-size 256 --sequential-keys 2>&1)
  local rps avg p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}' | head -1)
  avg=$(echo "$out" | awk '/Average:/ {printf "%.2f", $2*1000}' | head -1)
  p99=$(echo "$out" | awk '/99% in/ {printf "%.2f", $3*1000}' | head -1)
  echo "${rps:-?} ${avg:-?} ${p99:-?}"
}

declare -A RES
SCEN=("put-1x1-leader" "put-100x10-leader" "put-100x10-all")
for label in etcd ours; do
  bin=$ETCD_BIN; [ "$label" = ours ] && bin=$OUR_BIN
  start_cluster "$bin" "$label"
  RES[$label,put-1x1-leader]=$(run "$TOOL" "$LEADER" 1 1 2000)
  RES[$label,put-100x10-leader]=$(run "$TOOL" "$LEADER" 100 10 20000)
  RES[$label,put-100x10-all]=$(run "$TOOL" "$CLIENTS" 100 10 20000)
  if [ -n "${BENCH_BIN:-}" ]; then
    RES[$label,ourtool-100x10-leader]=$(run "$BENCH_BIN" "$LEADER" 100 10 20000)
  fi
  stop_cluster
done

echo "| scenario (3 members, etcd's Go tool) | etcd req/s | ours req/s | ratio | etcd avg / p99 ms | ours avg / p99 ms |"
echo "|---|---|---|---|---|---|"
for s in "${SCEN[@]}" ${BENCH_BIN:+ourtool-100x10-leader}; do
  read -r er ea ep <<<"${RES[etcd,$s]}"
  read -r or oa op <<<"${RES[ours,$s]}"
  ratio=$(python3 -c "print(f'{float(\"$or\")/float(\"$er\"):.2f}')" 2>/dev/null || echo "?")
  echo "| $s | $er | $or | $ratio | $ea / $ep | $oa / $op |"
done
