//! Watch on our server with the `etcd-client` crate: history from revision 1 then live,
//! prefix, prev_kv, cancel, compacted start revision, lease expiry seen as DELETE, and a
//! stress test: many watchers on overlapping prefixes under concurrent writes receive every
//! event exactly once, in order, as the MVCC history says.

use std::collections::HashMap;
use std::time::Duration;

use etcd_client::{Client, EventType, PutOptions, WatchOptions, WatchStream};
use integration_tests::Server;

/// Events (type, key, value, mod_revision) until `until_rev` is reached, bounded in time.
async fn collect(w: &mut WatchStream, until_rev: i64) -> Vec<(EventType, String, String, i64)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got
        .last()
        .map_or(true, |e: &(EventType, String, String, i64)| e.3 < until_rev)
    {
        let msg = tokio::time::timeout_at(deadline, w.message())
            .await
            .expect("watch events within 20 s")
            .unwrap()
            .expect("stream open");
        for ev in msg.events() {
            let kv = ev.kv().unwrap();
            got.push((
                ev.event_type(),
                kv.key_str().unwrap().to_string(),
                kv.value_str().unwrap().to_string(),
                kv.mod_revision(),
            ));
        }
    }
    got
}

async fn created(w: &mut WatchStream) -> etcd_client::WatchResponse {
    let first = w.message().await.unwrap().unwrap();
    assert!(first.created());
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_live_prefix_prev_kv_cancel_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();
    c.put("a", "1", None).await.unwrap(); // rev 2
    c.put("b/1", "x", None).await.unwrap(); // rev 3
    c.put("a", "2", None).await.unwrap(); // rev 4
    c.delete("a", None).await.unwrap(); // rev 5

    // From revision 1: the whole history of "a", then live changes.
    let mut w = c
        .watch(
            "a",
            Some(WatchOptions::new().with_start_revision(1).with_prev_key()),
        )
        .await
        .unwrap();
    created(&mut w).await;
    c.put("a", "3", None).await.unwrap(); // rev 6
    let got = collect(&mut w, 6).await;
    let want = vec![
        (EventType::Put, "a".into(), "1".into(), 2),
        (EventType::Put, "a".into(), "2".into(), 4),
        (EventType::Delete, "a".into(), "".into(), 5),
        (EventType::Put, "a".into(), "3".into(), 6),
    ];
    assert_eq!(got, want);

    // Prefix watch from now; then cancel.
    let mut p = c
        .watch("b/", Some(WatchOptions::new().with_prefix()))
        .await
        .unwrap();
    let id = created(&mut p).await.watch_id();
    c.put("b/2", "y", None).await.unwrap(); // rev 7
    c.put("c", "not watched", None).await.unwrap(); // rev 8
    c.put("b/3", "z", None).await.unwrap(); // rev 9
    let got = collect(&mut p, 9).await;
    assert_eq!(
        got.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["b/2", "b/3"]
    );
    p.cancel(id).await.unwrap();
    let msg = p.message().await.unwrap().unwrap();
    assert!(msg.canceled());

    // A start revision below the compacted revision is canceled with compact_revision.
    c.compact(7, None).await.unwrap();
    let mut old = c
        .watch("a", Some(WatchOptions::new().with_start_revision(3)))
        .await
        .unwrap();
    let mut msg = old.message().await.unwrap().unwrap();
    if msg.created() && !msg.canceled() {
        msg = old.message().await.unwrap().unwrap();
    }
    assert!(msg.canceled());
    assert_eq!(msg.compact_revision(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_expiry_is_seen_as_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();
    let l = c.lease_grant(2, None).await.unwrap();
    let r1 = c
        .put("l/1", "v", Some(PutOptions::new().with_lease(l.id())))
        .await
        .unwrap();
    c.put("l/2", "v", Some(PutOptions::new().with_lease(l.id())))
        .await
        .unwrap();
    let start = r1.header().unwrap().revision();
    let mut w = c
        .watch(
            "l/",
            Some(WatchOptions::new().with_prefix().with_start_revision(start)),
        )
        .await
        .unwrap();
    created(&mut w).await;
    let got = collect(&mut w, start + 2).await;
    let deletes: Vec<_> = got.iter().filter(|e| e.0 == EventType::Delete).collect();
    assert_eq!(deletes.len(), 2, "{got:?}");
    assert_eq!(
        deletes[0].3, deletes[1].3,
        "both keys deleted in one revision"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watchers_get_every_event_once_in_order() {
    const WATCHERS: usize = 1000;
    const CONNS: usize = 10;
    const WRITES: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut conns = Vec::new();
    for _ in 0..CONNS {
        conns.push(Client::connect([s.url()], None).await.unwrap());
    }
    // Overlapping prefixes: "s/" (everything), "s/N" (a tenth), "s/NM" (a hundredth).
    let prefix = |i: usize| match i % 3 {
        0 => "s/".to_string(),
        1 => format!("s/{}", i % 10),
        _ => format!("s/{}{}", i % 10, (i / 10) % 10),
    };
    let mut watchers = Vec::new();
    for i in 0..WATCHERS {
        let mut w = conns[i % CONNS]
            .watch(prefix(i), Some(WatchOptions::new().with_prefix()))
            .await
            .unwrap();
        created(&mut w).await;
        watchers.push((prefix(i), w));
    }
    // Concurrent writers; each acknowledged put gives (key, revision).
    let mut writers = Vec::new();
    for wi in 0..4 {
        let mut c = conns[wi].clone();
        writers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for n in 0..WRITES / 4 {
                let key = format!("s/{}{}/{wi}-{n}", n % 10, (n / 10) % 10);
                let r = c.put(key.clone(), "v", None).await.unwrap();
                done.push((key, r.header().unwrap().revision()));
            }
            done
        }));
    }
    let mut history: Vec<(String, i64)> = Vec::new();
    for w in writers {
        history.extend(w.await.unwrap());
    }
    history.sort_by_key(|h| h.1);
    let last = history.last().unwrap().1;
    let mut by_prefix: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for (p, mut w) in watchers {
        let want = by_prefix
            .entry(p.clone())
            .or_insert_with(|| {
                history
                    .iter()
                    .filter(|h| h.0.starts_with(&p))
                    .cloned()
                    .collect()
            })
            .clone();
        let Some(want_last) = want.last().map(|h| h.1) else {
            continue;
        };
        let got: Vec<(String, i64)> = collect(&mut w, want_last)
            .await
            .into_iter()
            .map(|e| (e.1, e.3))
            .collect();
        assert_eq!(got, want, "watcher on {p:?}");
    }
    assert!(last >= WRITES as i64);
}
