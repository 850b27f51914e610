//! etcd v3 wire types: prost messages and tonic service stubs generated at build time from
//! the `.proto` files in `/proto` (same packages, services and field numbers as etcd 3.4).
//!
//! Shared by the server side (`grpc-api`, `mvcc`, `server`) and the client side (`client`,
//! `etcdctl`, `benchmark`) so both speak exactly the same messages.
#![allow(clippy::all)]
#![allow(missing_docs)]

pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}
pub mod authpb {
    tonic::include_proto!("authpb");
}
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}
pub mod leasepb {
    tonic::include_proto!("leasepb");
}
pub mod v3electionpb {
    tonic::include_proto!("v3electionpb");
}
pub mod v3lockpb {
    tonic::include_proto!("v3lockpb");
}
/// Member-to-member protocol (ours, not etcd's): raft message streams, snapshots,
/// membership lookups and lease forwarding on the peer port.
pub mod peerpb {
    tonic::include_proto!("peerpb");
}

pub mod text;
