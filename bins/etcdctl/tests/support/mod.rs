//! Helpers shared by the etcdctl comparison tests: etcd server processes and running
//! both etcdctl binaries on the same input.
#![allow(dead_code)]

pub mod ctl;
pub mod server;
