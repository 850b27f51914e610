//! The two zap loggers whose JSON lines `etcdctl snapshot save` writes on stderr:
//! etcdctl's `zap.NewProduction()` ([`crate::go::zap`]: epoch seconds as `ts`, durations
//! in seconds) for clientv3/snapshot's `Save`, and clientv3's own logger (ISO 8601 `ts`)
//! for the snapshot stream. `caller` names the Go source line of etcd 3.4.23 that logs
//! each message. Build a line, add its fields, then [`emit`] it.

use std::time::Duration;

use crate::go::json::Obj;
use crate::go::time::zap_now;
use crate::go::zap;

pub use crate::go::zap::emit;

/// An info line of clientv3/snapshot's `Save` (`snapshot/v3_snapshot.go:<line>`).
pub fn save_info(line: u32, msg: &str) -> Obj {
    zap::info(&format!("snapshot/v3_snapshot.go:{line}"), msg)
}

/// A line of clientv3's `maintenance.Snapshot` (`clientv3/maintenance.go:<line>`).
pub fn stream(level: &str, line: u32, msg: &str) -> Obj {
    client_line(level, &format!("clientv3/maintenance.go:{line}"), msg)
}

fn client_line(level: &str, caller: &str, msg: &str) -> Obj {
    let mut o = Obj::zap();
    o.str("level", level)
        .str("ts", &zap_now())
        .str("caller", caller)
        .str("msg", msg);
    o
}

/// A duration as the production logger writes it: seconds as a float (Go's
/// `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest text that reads back the same,
/// never in exponent form, as Rust's `Display`).
pub fn seconds(d: Duration) -> String {
    format!("{}", d.as_nanos() as f64 / 1e9)
}

/// The goroutine stack zap attaches to the error below (etcdctl 3.4.23's call path from
/// `main` to the stream interceptor; fixed for this command).
const STREAM_CREATE_STACK: &str = "go.etcd.io/etcd/clientv3.(*Client).streamClientInterceptor.func1\n\tgo.etcd.io/etcd/clientv3/retry_interceptor.go:129\ngoogle.golang.org/grpc.(*ClientConn).NewStream\n\tgoogle.golang.org/grpc/stream.go:148\ngoogle.golang.org/grpc.NewClientStream\n\tgoogle.golang.org/grpc/stream.go:155\ngo.etcd.io/etcd/etcdserver/etcdserverpb.(*maintenanceClient).Snapshot\n\tgo.etcd.io/etcd/etcdserver/etcdserverpb/rpc.pb.go:4296\ngo.etcd.io/etcd/clientv3.(*retryMaintenanceClient).Snapshot\n\tgo.etcd.io/etcd/clientv3/retry.go:214\ngo.etcd.io/etcd/clientv3.(*maintenance).Snapshot\n\tgo.etcd.io/etcd/clientv3/maintenance.go:195\ngo.etcd.io/etcd/clientv3/snapshot.(*v3Manager).Save\n\tgo.etcd.io/etcd/clientv3/snapshot/v3_snapshot.go:123\ngo.etcd.io/etcd/etcdctl/ctlv3/command.snapshotSaveCommandFunc\n\tgo.etcd.io/etcd/etcdctl/ctlv3/command/snapshot_command.go:113\ngithub.com/spf13/cobra.(*Command).execute\n\tgithub.com/spf13/cobra/command.go:920\ngithub.com/spf13/cobra.(*Command).ExecuteC\n\tgithub.com/spf13/cobra/command.go:1044\ngithub.com/spf13/cobra.(*Command).Execute\n\tgithub.com/spf13/cobra/command.go:968\ngo.etcd.io/etcd/etcdctl/ctlv3.Start\n\tgo.etcd.io/etcd/etcdctl/ctlv3/ctl_nocov.go:26\nmain.main\n\tgo.etcd.io/etcd/etcdctl/main.go:35\nruntime.main\n\truntime/proc.go:250";

/// clientv3's retry interceptor when the stream could not be created (no connection
/// before the deadline): an error line with the stack.
pub fn stream_create_failed(err: &str) {
    let mut o = client_line(
        "error",
        "clientv3/retry_interceptor.go:129",
        "streamer failed to create ClientStream",
    );
    o.str("error", err).str("stacktrace", STREAM_CREATE_STACK);
    emit(&mut o);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_shortest_floats() {
        assert_eq!(seconds(Duration::from_nanos(4_335_543)), "0.004335543");
        assert_eq!(seconds(Duration::from_secs(2)), "2");
        assert_eq!(seconds(Duration::from_nanos(500)), "0.0000005");
    }
}
