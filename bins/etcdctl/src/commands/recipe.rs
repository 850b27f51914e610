//! What `lock` and `elect` share: etcd's recipes (`crates/concurrency`) over this etcdctl's
//! connection, so failed RPCs are logged and retried as clientv3 does, and the SIGINT /
//! SIGTERM handling of etcdctl's `lock_command.go` and `elect_command.go`.

use std::sync::Arc;
use std::time::Duration;

use client::{Caller, Client, ClientStore, Error, RetryPolicy};
use concurrency::CancellationToken;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::Conn;
use crate::exit::{Exit, EXIT_ERROR};

/// The recipes' store over one etcdctl connection.
pub type Store = ClientStore<Conn>;

impl Caller for Conn {
    fn client(&self) -> &Client {
        &self.client
    }

    async fn unary<T, F, Fut>(&self, policy: RetryPolicy, call: F) -> Result<T, Error>
    where
        T: Send,
        F: FnMut(Option<Duration>) -> Fut + Send,
        Fut: std::future::Future<Output = Result<T, tonic::Status>> + Send,
    {
        self.call(None, policy, call).await
    }

    async fn before_stream(&self) -> Result<(), Error> {
        self.stream_auth().await
    }
}

/// The store of a connection.
pub fn store(conn: Conn) -> Arc<Store> {
    Arc::new(ClientStore::new(Arc::new(conn)))
}

/// `ExitWithError(ExitError, err)`.
pub fn fail(e: impl std::fmt::Display) -> Exit {
    Exit::error(EXIT_ERROR, e)
}

/// The first SIGINT or SIGTERM: cancels the command's context and marks it interrupted
/// (etcdctl's `signal.Notify` goroutine: `cancel()` then `close(donec)`).
pub struct Interrupt {
    /// The context the recipe waits under.
    pub ctx: CancellationToken,
    fired: watch::Receiver<bool>,
}

impl Interrupt {
    /// Catches SIGINT and SIGTERM from now on.
    pub fn install() -> Result<Interrupt, Exit> {
        let mut int = signal(SignalKind::interrupt()).map_err(fail)?;
        let mut term = signal(SignalKind::terminate()).map_err(fail)?;
        let ctx = CancellationToken::new();
        let (tx, fired) = watch::channel(false);
        let cancel = ctx.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            cancel.cancel();
            let _ = tx.send(true);
        });
        Ok(Interrupt { ctx, fired })
    }

    /// Resolves once a signal came (`<-donec`).
    pub async fn fired(&self) {
        let mut fired = self.fired.clone();
        let _ = fired.wait_for(|f| *f).await;
    }
}
