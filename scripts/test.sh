#!/usr/bin/env bash
# Runs every test of the project. Installs what the tests need when it is missing:
# libclang (rocksdb bindings), protoc (only for the third-party etcd-client test crate),
# real etcd + etcdctl 3.4 (compatibility peers), curl (HTTP checks, as etcd's e2e tests)
# and cargo-nextest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v clang >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need_apt+=(libclang-dev clang)
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
[ -x /usr/bin/etcd ] || need_apt+=(etcd-server)
[ -x /usr/bin/etcdctl ] || need_apt+=(etcd-client)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Real etcd must not be started by the package's service unit during our tests.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest

# RocksDB's C++ build is slow: keep build artifacts across runs on the same machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/etcd-rs-target}"
export CARGO_TERM_COLOR=never
# Incremental compilation data only grows a persistent target dir; CI builds gain nothing.
export CARGO_INCREMENTAL=0

# Compile RocksDB's C++ once and link every later build against that library: cargo's
# feature unification differs between `-p` selections and test/non-test builds, and each
# difference would otherwise recompile RocksDB (~25 min on 2 cores).
if [ -z "${ROCKSDB_LIB_DIR:-}" ]; then
  rocks_cache="${ETCD_RS_ROCKSDB_CACHE:-$HOME/.cache/etcd-rs-rocksdb}/debug"
  if [ ! -f "$rocks_cache/librocksdb.a" ]; then
    echo "building RocksDB once (cached in $rocks_cache)"
    cargo build -p mvcc
    lib=$(ls -t "$CARGO_TARGET_DIR"/debug/build/librocksdb-sys-*/out/librocksdb.a | head -1)
    mkdir -p "$rocks_cache"
    cp "$lib" "$rocks_cache/librocksdb.a.tmp" && mv "$rocks_cache/librocksdb.a.tmp" "$rocks_cache/librocksdb.a"
  fi
  export ROCKSDB_LIB_DIR="$rocks_cache" ROCKSDB_STATIC=1
fi

cargo build --workspace --bins
cargo nextest run --workspace --no-fail-fast --profile ci "$@"
# Our etcdctl and the real etcdctl side by side again, this time both against OUR server.
ETCD_TEST_SERVER_BIN="$CARGO_TARGET_DIR/debug/etcd-server" ETCD_TEST_MULTI_MEMBER=1 \
  cargo nextest run -p etcdctl --no-fail-fast --profile ci \
  -E 'binary(kv) | binary(txn) | binary(cluster) | binary(env) | binary(client_lib) | binary(lease) | binary(watch)
      | binary(cluster_views) | binary(membership) | binary(move_leader) | binary(auth) | binary(tls) | binary(defrag)'
# etcd's own e2e tests (the groups that pass) against our binary.
./scripts/e2e.sh "$CARGO_TARGET_DIR/debug"
