//! Spacing requests to one API: each caller reserves the next free slot, so
//! concurrent callers queue up instead of bursting, and a server's request to
//! back off (Retry-After, Stack Exchange's `backoff`) moves every later slot.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most one request per `interval` (zero: no spacing).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next_slot: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot. Refuses, returning the wait it would have
    /// needed, when that wait exceeds `max_wait` or would end after `deadline`.
    pub fn acquire(&self, max_wait: Duration, deadline: Option<Instant>) -> Result<(), Duration> {
        let now = Instant::now();
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
            let slot = next.map_or(now, |at| at.max(now));
            let wait = slot - now;
            if wait > max_wait || deadline.is_some_and(|d| slot > d) {
                return Err(wait);
            }
            *next = Some(slot + self.interval);
            slot
        };
        let wait = slot.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        Ok(())
    }

    /// No request before `now + wait`.
    pub fn defer(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        if next.is_none_or(|at| at < until) {
            *next = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spaced_by_the_interval() {
        let limiter = RateLimiter::new(Duration::from_millis(30));
        let started = Instant::now();
        for _ in 0..3 {
            limiter.acquire(Duration::from_secs(1), None).unwrap();
        }
        assert!(started.elapsed() >= Duration::from_millis(60));
    }

    #[test]
    fn a_deferral_beyond_the_allowed_wait_is_refused_at_once() {
        let limiter = RateLimiter::new(Duration::ZERO);
        limiter.defer(Duration::from_secs(3600));
        let started = Instant::now();
        let refused = limiter.acquire(Duration::from_secs(5), None).unwrap_err();
        assert!(refused > Duration::from_secs(3500));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "must not sleep first"
        );
    }

    #[test]
    fn a_slot_after_the_deadline_is_refused() {
        let limiter = RateLimiter::new(Duration::from_secs(10));
        limiter.acquire(Duration::from_secs(60), None).unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(
            limiter
                .acquire(Duration::from_secs(60), Some(deadline))
                .is_err()
        );
    }
}
