//! The recipes against an in-memory store: queueing, cancellation, handover, errors.

mod mem_store;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::{Election, Error, Mutex, Session};
use mem_store::MemStore;

/// Long enough for a waiter that should block to have returned if it did not.
const BLOCKED: Duration = Duration::from_millis(100);

async fn session(store: &Arc<MemStore>) -> Session<MemStore> {
    Session::new(store.clone(), 10).await.unwrap()
}

#[tokio::test]
async fn mutex_queues_waiters_in_order() {
    let store = Arc::new(MemStore::new());
    let (s1, s2) = (session(&store).await, session(&store).await);
    let ctx = CancellationToken::new();
    let mut m1 = Mutex::new(&s1, b"lk");
    m1.lock(&ctx).await.unwrap();
    assert_eq!(m1.key(), format!("lk/{:x}", s1.lease()).as_bytes());
    let mut m2 = Mutex::new(&s2, b"lk");
    let waiter = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            m2.lock(&ctx)
                .await
                .map(|()| m2.header().map(|h| h.revision))
        })
    };
    tokio::time::sleep(BLOCKED).await;
    assert!(!waiter.is_finished(), "second holder while the first holds");
    let unlocked = m1.unlock().await.unwrap();
    let got = waiter.await.unwrap().unwrap();
    // The waiter's header is that of the range that found the queue empty before it.
    assert_eq!(got, Some(unlocked.revision));
}

#[tokio::test]
async fn cancelled_waiter_leaves_the_queue() {
    let store = Arc::new(MemStore::new());
    let (s1, s2) = (session(&store).await, session(&store).await);
    let mut m1 = Mutex::new(&s1, b"lk");
    m1.lock(&CancellationToken::new()).await.unwrap();
    let ctx = CancellationToken::new();
    let mut m2 = Mutex::new(&s2, b"lk");
    let waiter = {
        let ctx = ctx.clone();
        tokio::spawn(async move { m2.lock(&ctx).await })
    };
    tokio::time::sleep(BLOCKED).await;
    ctx.cancel();
    let err = waiter.await.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "context canceled");
    let queue = store.range(crate::ops::first_create(b"lk/")).await.unwrap();
    assert_eq!(queue.count, 1, "the cancelled waiter's key is gone");
}

#[tokio::test]
async fn election_handover_and_errors() {
    let store = Arc::new(MemStore::new());
    let (s1, s2) = (session(&store).await, session(&store).await);
    let ctx = CancellationToken::new();
    let mut e1 = Election::new(&s1, b"el");
    assert!(matches!(e1.leader(&ctx).await, Err(Error::NoLeader)));
    assert!(matches!(
        e1.proclaim(&ctx, b"x").await,
        Err(Error::NotLeader)
    ));
    let mut changes = e1.observe(ctx.clone());
    e1.campaign(&ctx, b"one").await.unwrap();
    assert_eq!(changes.recv().await.unwrap().kvs[0].value, b"one");
    let mut e2 = Election::new(&s2, b"el");
    let second = {
        let ctx = ctx.clone();
        tokio::spawn(async move { e2.campaign(&ctx, b"two").await.map(|()| e2) })
    };
    tokio::time::sleep(BLOCKED).await;
    assert!(!second.is_finished(), "two leaders");
    e1.proclaim(&ctx, b"one-b").await.unwrap();
    assert_eq!(changes.recv().await.unwrap().kvs[0].value, b"one-b");
    let leader = e1.leader(&ctx).await.unwrap();
    assert_eq!(leader.kvs[0].value, b"one-b");
    e1.resign(&ctx).await.unwrap();
    let e2 = second.await.unwrap().unwrap();
    assert_eq!(e2.key(), format!("el/{:x}", s2.lease()).as_bytes());
    assert_eq!(changes.recv().await.unwrap().kvs[0].value, b"two");
    // A resumed election whose key is gone is not leader.
    let mut stale = Election::resume(&s1, b"el/", b"el/0", 1);
    assert!(matches!(
        stale.proclaim(&ctx, b"x").await,
        Err(Error::NotLeader)
    ));
    ctx.cancel();
}

#[tokio::test]
async fn revoked_lease_hands_leadership_over() {
    let store = Arc::new(MemStore::new());
    let (s1, s2) = (session(&store).await, session(&store).await);
    let ctx = CancellationToken::new();
    let mut e1 = Election::new(&s1, b"el");
    e1.campaign(&ctx, b"one").await.unwrap();
    let mut e2 = Election::new(&s2, b"el");
    let second = tokio::spawn(async move { e2.campaign(&CancellationToken::new(), b"two").await });
    tokio::time::sleep(BLOCKED).await;
    assert!(!second.is_finished());
    s1.close().await.unwrap();
    second.await.unwrap().unwrap();
    assert_eq!(e1.leader(&ctx).await.unwrap().kvs[0].value, b"two");
}

#[tokio::test]
async fn missing_lease_is_the_store_error() {
    let store = Arc::new(MemStore::new());
    let orphan = Session::orphaned(store.clone(), 0x7777).await.unwrap();
    let mut m = Mutex::new(&orphan, b"lk");
    let err = m.lock(&CancellationToken::new()).await.unwrap_err();
    assert_eq!(err.to_string(), "etcdserver: requested lease not found");
}
