//! A distributed mutex (`clientv3/concurrency/mutex.go`): waiters queue as keys
//! `<name>/<lease hex>` ordered by create revision; the oldest holds the lock.

use std::sync::Arc;

use etcd_proto::etcdserverpb::ResponseHeader;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::key::{self, wait_deletes};
use crate::ops;
use crate::session::Session;
use crate::store::Store;

/// One client's place in a named lock's queue.
pub struct Mutex<S: Store> {
    store: Arc<S>,
    lease: i64,
    pfx: Vec<u8>,
    my_key: Vec<u8>,
    my_rev: i64,
    hdr: Option<ResponseHeader>,
}

impl<S: Store> Mutex<S> {
    /// `NewMutex(s, name)`: the lock's keys live under `name/`.
    pub fn new(session: &Session<S>, name: &[u8]) -> Self {
        let mut pfx = name.to_vec();
        pfx.push(b'/');
        Mutex {
            store: session.store().clone(),
            lease: session.lease(),
            pfx,
            my_key: Vec::new(),
            my_rev: -1,
            hdr: None,
        }
    }

    /// Acquires the lock, waiting until `ctx` is cancelled; a failed wait deletes this
    /// waiter's key again.
    pub async fn lock(&mut self, ctx: &CancellationToken) -> Result<(), S::Error> {
        let store = &*self.store;
        self.my_key = ops::waiter_key(&self.pfx, self.lease);
        let get_owner = || ops::op_range(ops::first_create(&self.pfx));
        let req = ops::txn(
            vec![ops::create_rev_is(&self.my_key, 0)],
            // Put self in the queue; fetch the holder to finish uncontended in one round.
            vec![ops::op_put(&self.my_key, b"", self.lease), get_owner()],
            // Already queued with this session: reuse the key.
            vec![ops::op_range(ops::get(&self.my_key)), get_owner()],
        );
        let resp = key::txn(store, ctx, req).await?;
        let header = resp.header.unwrap_or_default();
        self.my_rev = header.revision;
        if !resp.succeeded {
            self.my_rev = ops::range_at(&resp, 0)
                .and_then(|r| r.kvs.first())
                .ok_or(Error::Malformed("txn without the waiter's key"))?
                .create_revision;
        }
        let owner = ops::range_at(&resp, 1).ok_or(Error::Malformed("txn without owner range"))?;
        if owner
            .kvs
            .first()
            .is_none_or(|kv| kv.create_revision == self.my_rev)
        {
            self.hdr = Some(header);
            return Ok(());
        }
        match wait_deletes(store, ctx, &self.pfx, self.my_rev - 1).await {
            Ok(hdr) => {
                self.hdr = Some(hdr);
                Ok(())
            }
            Err(e) => {
                // Release the queue slot; the wait's error is what the caller sees.
                let _ = self.unlock().await;
                Err(e)
            }
        }
    }

    /// Releases the lock (deletes this waiter's key).
    pub async fn unlock(&mut self) -> Result<ResponseHeader, S::Error> {
        let header = delete(&*self.store, &self.my_key).await?;
        self.my_key = b"\x00".to_vec();
        self.my_rev = -1;
        Ok(header)
    }

    /// The key holding (or waiting for) the lock.
    pub fn key(&self) -> &[u8] {
        &self.my_key
    }

    /// The header of the response that granted the lock.
    pub fn header(&self) -> Option<&ResponseHeader> {
        self.hdr.as_ref()
    }
}

/// `client.Delete(key)`, sent as a txn; answers its header.
pub async fn delete<S: Store>(store: &S, key: &[u8]) -> Result<ResponseHeader, S::Error> {
    let resp = store
        .txn(ops::txn(Vec::new(), vec![ops::op_delete(key)], Vec::new()))
        .await
        .map_err(Error::Store)?;
    Ok(resp.header.unwrap_or_default())
}
