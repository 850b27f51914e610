//! A TCP proxy in front of a member's peer listener, to cut the member off from its
//! peers without touching the host's network.
//!
//! Members advertise the proxy's URL as their peer URL and listen behind it. Our peer
//! transport sends raft messages to a member only over connections that its peers open to
//! the member's advertised URL, so blocking the proxy stops everything the member would
//! receive from its peers (it can still send: a one-way partition, enough to make it
//! fall behind). Blocking closes open connections and closes new ones at once.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy; stops (closing every connection) when dropped.
pub struct PeerProxy {
    port: u16,
    blocked: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl PeerProxy {
    /// Listens on a free 127.0.0.1 port and forwards every connection to
    /// `127.0.0.1:target_port`.
    pub async fn start(target_port: u16) -> std::io::Result<PeerProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let target = SocketAddr::from(([127, 0, 0, 1], target_port));
        let (blocked, _) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, target, blocked.subscribe()));
        Ok(PeerProxy {
            port,
            blocked,
            accept,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Blocks (`true`) or restores (`false`) the traffic.
    pub fn set_blocked(&self, blocked: bool) {
        self.blocked.send_replace(blocked);
    }
}

impl Drop for PeerProxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Connection tasks see the sender gone and close.
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, blocked: watch::Receiver<bool>) {
    while let Ok((inbound, _)) = listener.accept().await {
        if *blocked.borrow() {
            continue; // dropped: closed at once
        }
        tokio::spawn(forward(inbound, target, blocked.clone()));
    }
}

/// Copies both ways between `inbound` and a new connection to `target` until either side
/// closes or the proxy is blocked or dropped.
async fn forward(mut inbound: TcpStream, target: SocketAddr, mut blocked: watch::Receiver<bool>) {
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        _ = blocked.wait_for(|b| *b) => {}
    }
}
