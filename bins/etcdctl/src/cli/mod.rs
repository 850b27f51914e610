//! A reproduction of the spf13/cobra + pflag command line behaviour of etcdctl 3.4: command
//! lookup (with prefix matching and suggestions), flag parsing, help/usage output, and
//! etcd's `ETCDCTL_*` environment variable mapping.

pub mod cobra_usage;
pub mod command;
pub mod env;
pub mod flags;
pub mod spec;
pub mod tabwriter;
pub mod usage;
