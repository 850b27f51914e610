//! `ETCDCTL_*` environment variables: mapped onto the global flags exactly as etcd's
//! `pkg/flags` does, with its warnings and its fatal error on conflicts.

mod support;

use support::ctl::Case;
use support::server::EtcdServer;

#[test]
fn environment_variables_map_to_global_flags() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    let put = Case::new(&["put", "k", "v"]).check_on(ep);
    assert_eq!(put.code, Some(0));
    let env = |args: &[&str]| Case::raw(args).env("ETCDCTL_ENDPOINTS", "{EP}");
    env(&["get", "k"]).check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_WRITE_OUT", "json")
        .check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_WRITE_OUT", "fields")
        .env("ETCDCTL_HEX", "true")
        .check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_HEX", "notabool")
        .check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_DIAL_TIMEOUT", "bogus")
        .check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_COMMAND_TIMEOUT", "10s")
        .check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_WRITE_OUT", "xyz")
        .check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_UNKNOWN_THING", "1")
        .check_on(ep);
    env(&["get", "k"])
        .env("ETCDCTL_PREFIX", "true")
        .check_on(ep);
    env(&["endpoint", "status"])
        .env("ETCDCTL_CLUSTER", "true")
        .check_on(ep);
    env(&["get", "k", "-w", "json"])
        .env("ETCDCTL_WRITE_OUT", "json")
        .check_on(ep);
    env(&["version"])
        .env("ETCDCTL_WRITE_OUT", "json")
        .check_on(ep);
    Case::new(&["get", "k"])
        .env("ETCDCTL_ENDPOINTS", "{EP}")
        .check_on(ep);
    Case::new(&["get", "k"])
        .env("ETCDCTL_ENDPOINTS", "")
        .check_on(ep);
}
