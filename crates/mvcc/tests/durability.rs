//! Restart, consistent index, engine failures and concurrent readers.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use etcd_proto::etcdserverpb::TxnRequest;
use mvcc::{
    DumpVisitor, Engine, EngineError, MemEngine, MvccError, Store, WriteBatch, WriteOp,
    WriteRequest, CF_KEY, CF_META, META_CONSISTENT_INDEX,
};
use parking_lot::Mutex;

engine_tests!(
    restart_restores_everything,
    restart_without_flush_after_clean_close
);

fn history(s: &Store) -> Vec<Vec<etcd_proto::mvccpb::KeyValue>> {
    (s.compact_revision().max(1)..=s.current_revision())
        .map(|rev| dump(s, rev).unwrap())
        .collect()
}

fn workload(s: &Store) {
    for i in 0..20 {
        put(s, &format!("k{}", i % 7), &format!("v{i}"));
        if i % 5 == 4 {
            delete(s, &format!("k{}", i % 3), "", false);
        }
    }
    txn(
        s,
        TxnRequest {
            success: vec![op_put("t1", "x"), op_put("t2", "y"), op_delete("k1")],
            ..Default::default()
        },
    )
    .unwrap();
    compact(s, 10).unwrap();
    put(s, "last", "z");
}

fn restart_restores_everything(env: &Env) {
    let s = env.open();
    workload(&s);
    let (rev, compact_rev, ci, hist) = (
        s.current_revision(),
        s.compact_revision(),
        s.consistent_index(),
        history(&s),
    );
    assert!(ci > 20);
    let s = env.restart(s, true);
    assert_eq!(s.current_revision(), rev);
    assert_eq!(s.compact_revision(), compact_rev);
    assert_eq!(s.consistent_index(), ci);
    assert_eq!(history(&s), hist);
    // writes continue from the restored revision with the restored versions
    let r = put(&s, "last", "again");
    assert_eq!(r.header.unwrap().revision, rev + 1);
    assert_eq!(get(&s, "last").unwrap().version, 2);
}

fn restart_without_flush_after_clean_close(env: &Env) {
    let s = env.open();
    workload(&s);
    let (rev, ci, now) = (
        s.current_revision(),
        s.consistent_index(),
        dump(&s, 0).unwrap(),
    );
    let s = env.restart(s, false);
    assert_eq!((s.current_revision(), s.consistent_index()), (rev, ci));
    assert_eq!(dump(&s, 0).unwrap(), now);
}

#[test]
fn empty_store_reopens_empty() {
    let env = Env::rocks();
    let s = env.open();
    let s = env.restart(s, false);
    assert_eq!(
        (
            s.current_revision(),
            s.compact_revision(),
            s.consistent_index()
        ),
        (1, -1, 0)
    );
    assert_eq!(dump(&s, 0).unwrap(), vec![]);
}

/// An engine that records the batches it is given and can be told to fail writes.
#[derive(Default)]
struct Recording {
    inner: MemEngine,
    batches: Mutex<Vec<WriteBatch>>,
    fail: AtomicBool,
}

impl Engine for Recording {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.inner.get(cf, key)
    }
    fn scan(
        &self,
        cf: &str,
        start: &[u8],
        end: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.inner.scan(cf, start, end, f)
    }
    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), EngineError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(EngineError::Io("disk on fire".into()));
        }
        self.batches.lock().push(batch.clone());
        self.inner.write(batch, sync)
    }
    fn flush(&self) -> Result<(), EngineError> {
        Ok(())
    }
    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }
    fn dump(&self, f: &mut DumpVisitor<'_>) -> Result<(), EngineError> {
        self.inner.dump(f)
    }
}

#[test]
fn consistent_index_goes_in_the_same_batch_as_the_changes() {
    let engine = Arc::new(Recording::default());
    let s = Store::open(engine.clone()).unwrap();
    let out = s
        .apply(
            41,
            vec![
                WriteRequest::Put(put_req("a", "1")),
                WriteRequest::Put(put_req("b", "2")),
            ],
        )
        .unwrap();
    assert_eq!(out.revision, 3);
    let batches = engine.batches.lock().clone();
    assert_eq!(batches.len(), 1, "one engine batch per apply");
    let ops = batches[0].ops();
    let key_puts = ops
        .iter()
        .filter(|op| matches!(op, WriteOp::Put { cf, .. } if *cf == CF_KEY))
        .count();
    assert_eq!(key_puts, 2);
    assert!(ops.contains(&WriteOp::Put {
        cf: CF_META,
        key: META_CONSISTENT_INDEX.to_vec(),
        value: 41u64.to_be_bytes().to_vec(),
    }));
    assert_eq!(s.consistent_index(), 41);
    // an apply whose requests all fail still records the index
    let out = s
        .apply(
            42,
            vec![WriteRequest::Put(etcd_proto::etcdserverpb::PutRequest {
                key: "zz".into(),
                ignore_lease: true,
                ..Default::default()
            })],
        )
        .unwrap();
    assert_eq!(out.results[0], Err(MvccError::KeyNotFound));
    assert_eq!(s.consistent_index(), 42);
    assert_eq!(
        engine.get(CF_META, META_CONSISTENT_INDEX).unwrap(),
        Some(42u64.to_be_bytes().to_vec())
    );
}

#[test]
fn failed_engine_write_applies_nothing() {
    let engine = Arc::new(Recording::default());
    let s = Store::open(engine.clone()).unwrap();
    put(&s, "a", "1");
    engine.fail.store(true, Ordering::SeqCst);
    let err = s
        .apply(
            9,
            vec![
                WriteRequest::Put(put_req("a", "2")),
                WriteRequest::Put(put_req("new", "1")),
                WriteRequest::DeleteRange(etcd_proto::etcdserverpb::DeleteRangeRequest {
                    key: "a".into(),
                    ..Default::default()
                }),
            ],
        )
        .unwrap_err();
    assert!(matches!(err, MvccError::Engine(_)));
    assert_eq!((s.current_revision(), s.consistent_index()), (2, 1));
    assert_eq!(get(&s, "a").unwrap().value, b"1");
    assert!(get(&s, "new").is_none());
    engine.fail.store(false, Ordering::SeqCst);
    // the index was rolled back: the same revisions are handed out again
    put(&s, "new", "2");
    let n = get(&s, "new").unwrap();
    assert_eq!((n.create_revision, n.version), (3, 1));
    assert_eq!(get(&s, "a").unwrap().version, 1);
    // and a reopened store agrees
    let s2 = Store::open(engine.clone()).unwrap();
    assert_eq!(dump(&s2, 0).unwrap(), dump(&s, 0).unwrap());
}

#[test]
fn dropped_batch_is_undone() {
    let s = Store::open(Arc::new(MemEngine::new())).unwrap();
    put(&s, "a", "1");
    {
        let mut b = s.begin();
        b.apply(WriteRequest::Put(put_req("a", "2"))).unwrap();
        b.apply(WriteRequest::Put(put_req("b", "2"))).unwrap();
        assert_eq!(b.revision(), 4);
    }
    assert_eq!(s.current_revision(), 2);
    put(&s, "b", "3");
    let b = get(&s, "b").unwrap();
    assert_eq!((b.create_revision, b.mod_revision), (3, 3));
    assert_eq!(get(&s, "a").unwrap().version, 1);
}

#[test]
fn extra_writes_commit_with_the_batch() {
    let s = Store::open(Arc::new(MemEngine::new())).unwrap();
    let mut b = s.begin();
    b.apply(WriteRequest::Put(put_req("a", "1"))).unwrap();
    b.extra_writes()
        .put("lease", b"id".to_vec(), b"data".to_vec());
    assert_eq!(s.engine().get("lease", b"id").unwrap(), None);
    let (events, rev) = b.commit(7).unwrap();
    assert_eq!((events.len(), rev), (1, 2));
    assert_eq!(
        s.engine().get("lease", b"id").unwrap(),
        Some(b"data".to_vec())
    );
}

/// Readers running during applies always see whole requests: a txn writes the same value
/// to two keys, so every read must find them equal, at a revision that never goes back.
#[test]
fn concurrent_readers_see_whole_requests() {
    let env = Env::rocks();
    let s = Arc::new(env.open());
    txn(
        &s,
        TxnRequest {
            success: vec![op_put("x", "0"), op_put("y", "0")],
            ..Default::default()
        },
    )
    .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (s, done) = (s.clone(), done.clone());
            std::thread::spawn(move || {
                let mut last_rev = 0;
                let mut reads = 0;
                while !done.load(Ordering::SeqCst) {
                    let r = s.range(&range_req("x", "z")).unwrap();
                    let rev = r.header.unwrap().revision;
                    assert!(rev >= last_rev);
                    last_rev = rev;
                    assert_eq!(r.kvs.len(), 2);
                    assert_eq!(r.kvs[0].value, r.kvs[1].value, "torn read at {rev}");
                    assert_eq!(r.kvs[0].mod_revision, r.kvs[1].mod_revision);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 1..=300 {
        let v = i.to_string();
        let reqs = (0..3)
            .map(|_| {
                WriteRequest::Txn(TxnRequest {
                    success: vec![op_put("x", &v), op_put("y", &v)],
                    ..Default::default()
                })
            })
            .collect();
        s.apply(s.consistent_index() + 1, reqs).unwrap();
        if i % 100 == 0 {
            compact(&s, s.current_revision() - 5).unwrap();
        }
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert_eq!(s.current_revision(), 2 + 900);
}
