//! gRPC API: tonic services for etcd v3 (`etcdserverpb.KV`, `Maintenance`, `Cluster`, ...,
//! and the `v3lockpb.Lock` / `v3electionpb.Election` recipes over `crates/concurrency`).
//!
//! This crate is the wire boundary and nothing more, as etcd's `etcdserver/api/v3rpc`:
//! it validates requests (`validate`), maps errors to etcd's exact strings and gRPC codes
//! (`errors`), calls a [`Backend`] (implemented by `crates/server`) and fills response
//! headers. It holds no state of its own.

pub mod auth;
pub mod backend;
pub mod caller;
pub mod cluster;
pub mod election;
pub mod errors;
pub mod kv;
pub mod leader;
pub mod lease;
pub mod lock;
pub mod maintenance;
pub mod member_store;
pub mod snapshot_stream;
pub mod validate;
pub mod watch;

use std::sync::Arc;

pub use backend::Backend;
pub use errors::EtcdError;
pub use leader::RequireLeader;

use etcd_proto::etcdserverpb::{
    auth_server::AuthServer, cluster_server::ClusterServer, kv_server::KvServer,
    lease_server::LeaseServer, maintenance_server::MaintenanceServer, watch_server::WatchServer,
};
use etcd_proto::v3electionpb::election_server::ElectionServer;
use etcd_proto::v3lockpb::lock_server::LockServer;
use tonic::service::interceptor::InterceptedService;

/// gRPC overhead allowed on top of `--max-request-bytes` when decoding (etcd: 512 KiB).
pub const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;

/// Builds the tonic router with every service this member serves.
/// `max_request_bytes` is `--max-request-bytes`; oversized raft proposals are rejected by the
/// server with `etcdserver: request is too large`, as etcd does. Every service refuses
/// requests that require a leader while the member knows none ([`RequireLeader`]).
pub fn router(backend: Arc<dyn Backend>, max_request_bytes: usize) -> tonic::service::Routes {
    let max_recv = max_request_bytes.saturating_add(GRPC_OVERHEAD_BYTES);
    let guard = RequireLeader::new(backend.clone());
    let kv = KvServer::new(kv::KvService::new(backend.clone()))
        .max_decoding_message_size(max_recv)
        .max_encoding_message_size(usize::MAX);
    let maintenance = MaintenanceServer::new(maintenance::MaintenanceService::new(backend.clone()))
        .max_decoding_message_size(max_recv)
        .max_encoding_message_size(usize::MAX);
    let lease = LeaseServer::new(lease::LeaseService::new(backend.clone()))
        .max_decoding_message_size(max_recv)
        .max_encoding_message_size(usize::MAX);
    let watch = WatchServer::new(watch::WatchService::new(backend.clone(), max_request_bytes))
        .max_decoding_message_size(max_recv)
        .max_encoding_message_size(usize::MAX);
    let cluster = ClusterServer::new(cluster::ClusterService::new(backend.clone()))
        .max_decoding_message_size(max_recv)
        .max_encoding_message_size(usize::MAX);
    let election = ElectionServer::new(election::ElectionService::new(backend.clone()))
        .max_decoding_message_size(max_recv)
        .max_encoding_message_size(usize::MAX);
    let lock = LockServer::new(lock::LockService::new(backend.clone()))
        .max_decoding_message_size(max_recv)
        .max_encoding_message_size(usize::MAX);
    tonic::service::Routes::new(InterceptedService::new(kv, guard.clone()))
        .add_service(InterceptedService::new(maintenance, guard.clone()))
        .add_service(InterceptedService::new(cluster, guard.clone()))
        .add_service(InterceptedService::new(lease, guard.clone()))
        .add_service(InterceptedService::new(watch, guard.clone()))
        .add_service(InterceptedService::new(election, guard.clone()))
        .add_service(InterceptedService::new(lock, guard.clone()))
        .add_service(InterceptedService::new(
            AuthServer::new(auth::AuthService::new(backend.clone())),
            guard,
        ))
}
