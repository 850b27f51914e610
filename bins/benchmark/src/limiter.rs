//! A token-bucket rate limiter with Go's `golang.org/x/time/rate` semantics (as etcd's tool
//! uses it): `rate` events per second, up to `burst` at once from a full bucket.
//! Implemented as GCRA: each event moves a theoretical arrival time forward by `1 / rate`;
//! an event may go once that time is at most `(burst - 1) / rate` ahead of now.

use std::time::Duration;

use tokio::time::Instant;

/// Paces a loop to a rate.
#[derive(Debug, Clone)]
pub struct Limiter {
    interval: Duration,
    tolerance: Duration,
    /// Theoretical arrival time of the next event.
    tat: Instant,
}

impl Limiter {
    /// `rate` events per second (at least 1), up to `burst` (at least 1) at once.
    pub fn new(rate: u64, burst: u32, now: Instant) -> Self {
        let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
        Limiter {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            tat: now,
        }
    }

    /// Takes one event at `now`: returns when it may go (`now` or later).
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let earliest = self.tat.checked_sub(self.tolerance).unwrap_or(now);
        let at = earliest.max(now);
        self.tat = self.tat.max(at) + self.interval;
        at
    }

    /// Waits until the next event may go.
    pub async fn wait(&mut self) {
        let at = self.reserve(Instant::now());
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let t0 = Instant::now();
        let mut l = Limiter::new(10, 3, t0);
        // A full bucket: three at once, then one every 100 ms.
        for _ in 0..3 {
            assert_eq!(l.reserve(t0), t0);
        }
        assert_eq!(l.reserve(t0), t0 + Duration::from_millis(100));
        assert_eq!(l.reserve(t0), t0 + Duration::from_millis(200));
        // After a pause the bucket refills, but only up to the burst.
        let later = t0 + Duration::from_secs(10);
        for _ in 0..3 {
            assert_eq!(l.reserve(later), later);
        }
        assert_eq!(l.reserve(later), later + Duration::from_millis(100));
    }

    #[test]
    fn burst_of_one_spaces_every_event() {
        let t0 = Instant::now();
        let mut l = Limiter::new(4, 1, t0);
        assert_eq!(l.reserve(t0), t0);
        assert_eq!(l.reserve(t0), t0 + Duration::from_millis(250));
        assert_eq!(l.reserve(t0), t0 + Duration::from_millis(500));
    }
}
