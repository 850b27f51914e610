//! The process metrics every Go program's default registry exports (`process_*`: CPU
//! time, resident and virtual memory, open and maximum file descriptors, start time),
//! read from `/proc` by the prometheus crate's `ProcessCollector`. `etcdctl check
//! datascale` reads `process_resident_memory_bytes`.
//!
//! The crate's collector also exports `process_threads`, which Go's does not (Go reports
//! `go_threads`): it is left out, so that every metric keeps etcd's name and help string.

use prometheus::core::{Collector, Desc};
use prometheus::process_collector::ProcessCollector;
use prometheus::proto::MetricFamily;

/// Metrics of the crate's collector that etcd does not export.
const NOT_IN_ETCD: &[&str] = &["process_threads"];

/// This process's `process_*` metrics, as etcd exports them.
pub struct ProcessMetrics {
    inner: ProcessCollector,
}

impl ProcessMetrics {
    pub fn for_self() -> ProcessMetrics {
        ProcessMetrics {
            inner: ProcessCollector::for_self(),
        }
    }
}

impl Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.inner
            .desc()
            .into_iter()
            .filter(|d| !NOT_IN_ETCD.contains(&d.fq_name.as_str()))
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.inner
            .collect()
            .into_iter()
            .filter(|m| !NOT_IN_ETCD.contains(&m.name()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_reported_and_threads_are_not() {
        let families = ProcessMetrics::for_self().collect();
        let rss = families
            .iter()
            .find(|m| m.name() == "process_resident_memory_bytes")
            .expect("process_resident_memory_bytes");
        assert!(rss.get_metric()[0].get_gauge().get_value() > 0.0);
        assert!(families.iter().all(|m| m.name() != "process_threads"));
        assert!(families.iter().any(|m| m.name() == "process_open_fds"));
    }
}
