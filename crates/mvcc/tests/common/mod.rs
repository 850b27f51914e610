//! Test harness shared by the integration tests: every test runs on both engines through
//! [`engine_tests!`], with helpers to build requests and apply them one at a time.

#![allow(dead_code)]

use std::sync::Arc;

use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::{
    CompactionRequest, Compare, DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse,
    RangeRequest, RequestOp, TxnRequest, TxnResponse,
};
use etcd_proto::mvccpb::KeyValue;
use mvcc::{Engine, MemEngine, MvccError, RocksEngine, Store, WriteRequest, WriteResponse};
use tempfile::TempDir;

/// Which engine a test runs on, and how to reopen it after a "restart".
pub enum Env {
    Mem(Arc<MemEngine>),
    Rocks(TempDir),
}

impl Env {
    pub fn mem() -> Self {
        Env::Mem(Arc::new(MemEngine::new()))
    }

    pub fn rocks() -> Self {
        Env::Rocks(tempfile::tempdir().expect("tempdir"))
    }

    pub fn engine(&self) -> Arc<dyn Engine> {
        match self {
            Env::Mem(e) => e.clone(),
            Env::Rocks(dir) => Arc::new(RocksEngine::open(dir.path()).expect("open rocksdb")),
        }
    }

    pub fn open(&self) -> Store {
        Store::open(self.engine()).expect("open store")
    }

    /// Closes `store` (after a flush if `flush`) and opens it again on the same data.
    pub fn restart(&self, store: Store, flush: bool) -> Store {
        if flush {
            store.engine().flush().expect("flush");
        }
        drop(store);
        self.open()
    }
}

/// Instantiates each named test function `fn(&Env)` once per engine.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod mem {
            $( #[test] fn $name() { super::$name(&$crate::common::Env::mem()) } )*
        }
        mod rocks {
            $( #[test] fn $name() { super::$name(&$crate::common::Env::rocks()) } )*
        }
    };
}

/// Applies one request as the next raft entry.
pub fn apply(s: &Store, req: WriteRequest) -> Result<WriteResponse, MvccError> {
    let out = s.apply(s.consistent_index() + 1, vec![req]).expect("apply");
    assert_eq!(out.revision, s.current_revision());
    out.results.into_iter().next().expect("one result")
}

pub fn put_req(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    }
}

pub fn put(s: &Store, key: &str, value: &str) -> PutResponse {
    match apply(s, WriteRequest::Put(put_req(key, value))).expect("put") {
        WriteResponse::Put(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

pub fn try_put(s: &Store, p: PutRequest) -> Result<PutResponse, MvccError> {
    apply(s, WriteRequest::Put(p)).map(|r| match r {
        WriteResponse::Put(r) => r,
        other => panic!("unexpected {other:?}"),
    })
}

pub fn delete(s: &Store, key: &str, range_end: &str, prev_kv: bool) -> DeleteRangeResponse {
    let req = DeleteRangeRequest {
        key: key.into(),
        range_end: range_end.into(),
        prev_kv,
    };
    match apply(s, WriteRequest::DeleteRange(req)).expect("delete") {
        WriteResponse::DeleteRange(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

pub fn txn(s: &Store, t: TxnRequest) -> Result<TxnResponse, MvccError> {
    apply(s, WriteRequest::Txn(t)).map(|r| match r {
        WriteResponse::Txn(r) => r,
        other => panic!("unexpected {other:?}"),
    })
}

pub fn compact(s: &Store, revision: i64) -> Result<(), MvccError> {
    apply(
        s,
        WriteRequest::Compaction(CompactionRequest {
            revision,
            physical: false,
        }),
    )
    .map(|_| ())
}

pub fn range_req(key: &str, range_end: &str) -> RangeRequest {
    RangeRequest {
        key: key.into(),
        range_end: range_end.into(),
        ..Default::default()
    }
}

/// The value of `key` now, if any.
pub fn get(s: &Store, key: &str) -> Option<KeyValue> {
    s.range(&range_req(key, ""))
        .expect("range")
        .kvs
        .into_iter()
        .next()
}

/// Every key (as strings) of a range response.
pub fn keys(kvs: &[KeyValue]) -> Vec<String> {
    kvs.iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect()
}

/// Every key and value of the store at revision `rev` (0 = now).
pub fn dump(s: &Store, rev: i64) -> Result<Vec<KeyValue>, MvccError> {
    let mut r = range_req("\0", "\0");
    r.revision = rev;
    s.range(&r).map(|r| r.kvs)
}

pub fn op_put(key: &str, value: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(put_req(key, value))),
    }
}

pub fn op_get(key: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestRange(range_req(key, ""))),
    }
}

pub fn op_delete(key: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestDeleteRange(DeleteRangeRequest {
            key: key.into(),
            ..Default::default()
        })),
    }
}

pub fn op_txn(t: TxnRequest) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestTxn(t)),
    }
}

pub fn cmp(key: &str, target: CompareTarget, result: CompareResult, u: TargetUnion) -> Compare {
    Compare {
        result: result as i32,
        target: target as i32,
        key: key.into(),
        range_end: Vec::new(),
        target_union: Some(u),
    }
}
