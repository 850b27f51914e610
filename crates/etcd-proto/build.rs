//! Compiles ../../proto with protox (a pure-Rust protobuf compiler), so no host `protoc`
//! is needed, then generates prost messages and tonic clients/servers.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): a build script compiled for another checkout
    // sharing the target dir must still find this checkout's protos.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "mvccpb/kv.proto",
        "authpb/auth.proto",
        "etcdserverpb/rpc.proto",
        "etcdserverpb/etcdserver.proto",
        "etcdserverpb/raft_internal.proto",
        "leasepb/lease.proto",
        "v3electionpb/v3election.proto",
        "v3lockpb/v3lock.proto",
        "peerpb/peer.proto",
    ];
    let paths: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
    let fds = protox::compile(&paths, [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
