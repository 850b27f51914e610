//! Helpers shared by the etcdctl comparison tests: etcd server processes (single members
//! and multi-member clusters) and running both etcdctl binaries on the same input.
#![allow(dead_code)]

pub mod cluster;
pub mod ctl;
pub mod server;
