//! Splitting of large watch responses, as etcd's `sendFragments`
//! (`etcdserver/api/v3rpc/watch.go`).
//!
//! A response whose encoded size is below the limit, or that has fewer than two events, is
//! sent whole. Otherwise it becomes several responses with the same header and watch ID:
//! each takes as many of the remaining events as keep its encoded size (with `fragment`
//! set) below the limit, and at least one; all but the last have `fragment = true`.

use etcd_proto::etcdserverpb::WatchResponse;
use etcd_proto::mvccpb::Event;
use prost::Message;

/// Field number of `WatchResponse.events`.
const EVENTS_FIELD: u32 = 11;

/// Encoded size of one event as an element of `WatchResponse.events`.
fn event_len(ev: &Event) -> usize {
    prost::encoding::message::encoded_len(EVENTS_FIELD, ev)
}

/// Splits `resp` into fragments of at most `limit` encoded bytes (see the module doc).
pub(super) fn split(resp: WatchResponse, limit: usize) -> Vec<WatchResponse> {
    if resp.encoded_len() < limit || resp.events.len() < 2 {
        return vec![resp];
    }
    let mut template = resp;
    let events = std::mem::take(&mut template.events);
    template.fragment = true;
    let base = template.encoded_len();
    let piece = |events: Vec<Event>| WatchResponse {
        events,
        ..template.clone()
    };

    let mut pieces = Vec::new();
    let mut current: Vec<Event> = Vec::new();
    let mut size = base;
    for ev in events {
        let len = event_len(&ev);
        if !current.is_empty() && size + len >= limit {
            pieces.push(piece(std::mem::take(&mut current)));
            size = base;
        }
        size += len;
        current.push(ev);
    }
    let mut last = piece(current);
    last.fragment = false;
    pieces.push(last);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::etcdserverpb::ResponseHeader;
    use etcd_proto::mvccpb::KeyValue;

    fn event(i: usize, value_len: usize) -> Event {
        Event {
            r#type: 0,
            kv: Some(KeyValue {
                key: format!("key-{i:04}").into_bytes(),
                value: vec![b'v'; value_len],
                mod_revision: 7,
                create_revision: 7,
                version: 1,
                lease: 0,
            }),
            prev_kv: None,
        }
    }

    fn response(events: Vec<Event>) -> WatchResponse {
        WatchResponse {
            header: Some(ResponseHeader {
                cluster_id: 1,
                member_id: 2,
                revision: 7,
                raft_term: 3,
            }),
            watch_id: 4,
            events,
            ..Default::default()
        }
    }

    /// etcd's algorithm, literally: append, re-encode, drop the last event when too big.
    fn etcd_split(wr: &WatchResponse, max: usize) -> Vec<WatchResponse> {
        if wr.encoded_len() < max || wr.events.len() < 2 {
            return vec![wr.clone()];
        }
        let mut ow = wr.clone();
        ow.events.clear();
        ow.fragment = true;
        let mut out = Vec::new();
        let mut idx = 0;
        loop {
            let mut cur = ow.clone();
            for ev in &wr.events[idx..] {
                cur.events.push(ev.clone());
                if cur.events.len() > 1 && cur.encoded_len() >= max {
                    cur.events.pop();
                    break;
                }
                idx += 1;
            }
            if idx == wr.events.len() {
                cur.fragment = false;
            }
            let done = !cur.fragment;
            out.push(cur);
            if done {
                return out;
            }
        }
    }

    #[test]
    fn small_response_is_sent_whole() {
        let resp = response((0..10).map(|i| event(i, 100)).collect());
        let limit = resp.encoded_len() + 1;
        let pieces = split(resp.clone(), limit);
        assert_eq!(pieces, vec![resp]);
    }

    #[test]
    fn one_huge_event_is_never_split() {
        let resp = response(vec![event(0, 10_000)]);
        assert_eq!(split(resp.clone(), 100), vec![resp]);
    }

    #[test]
    fn large_response_splits_like_etcd() {
        let events: Vec<Event> = (0..50).map(|i| event(i, 1000 + i * 37)).collect();
        let resp = response(events.clone());
        for limit in [1, 500, 1100, 3000, 10_000, resp.encoded_len()] {
            let pieces = split(resp.clone(), limit);
            assert_eq!(pieces, etcd_split(&resp, limit), "limit {limit}");
            assert!(pieces.len() > 1, "limit {limit}");
            let (last, rest) = pieces.split_last().unwrap();
            assert!(!last.fragment);
            assert!(rest.iter().all(|p| p.fragment));
            for p in &pieces {
                assert!(!p.events.is_empty());
                assert_eq!((p.watch_id, p.header), (resp.watch_id, resp.header));
                assert!(p.events.len() == 1 || p.encoded_len() < limit.max(1));
            }
            let joined: Vec<Event> = pieces.into_iter().flat_map(|p| p.events).collect();
            assert_eq!(joined, events);
        }
    }

    #[test]
    fn fragments_fill_up_to_the_limit() {
        // 10 events of ~1 KiB under a 3.5 KiB limit: 3 per fragment.
        let resp = response((0..10).map(|i| event(i, 1000)).collect());
        let pieces = split(resp, 3500);
        let sizes: Vec<usize> = pieces.iter().map(|p| p.events.len()).collect();
        assert_eq!(sizes, [3, 3, 3, 1]);
    }
}
