//! Caps on open status streams (Server-Sent Events), per client address and
//! in total, so that a misbehaving page or a flood cannot exhaust the
//! proxy's connections. A refused stream gets 429 and the widget polls.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The open streams.
#[derive(Debug)]
pub struct Streams {
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_total: usize,
    max_per_ip: usize,
}

/// One open stream; dropping it (the stream ended or the client left) frees its place.
#[derive(Debug)]
#[must_use = "the stream's place is freed when this is dropped"]
pub struct StreamGuard {
    streams: Arc<Streams>,
    ip: Option<IpAddr>,
}

impl Streams {
    /// Caps of `max_total` streams, `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        Self {
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            max_total,
            max_per_ip,
        }
    }

    /// How many streams are open.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Takes a place for a new stream, or `None` when a cap is reached.
    /// IPv6 addresses count per /64, as the burst limit does: one host has a whole /64.
    pub fn try_open(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<StreamGuard> {
        let ip = ip.map(super::limits::limit_key);
        let mut per_ip = self
            .per_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return None;
        }
        if let Some(ip) = ip {
            let count = per_ip.entry(ip).or_insert(0);
            if *count >= self.max_per_ip {
                return None;
            }
            *count += 1;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(StreamGuard {
            streams: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut per_ip = self
            .streams
            .per_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ip) = self.ip
            && let Some(count) = per_ip.get_mut(&ip)
        {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&ip);
            }
        }
        self.streams.total.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_per_address_and_in_total_and_places_come_back() {
        let streams = Arc::new(Streams::new(3, 2));
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let first = streams.try_open(Some(a)).expect("first");
        let _second = streams.try_open(Some(a)).expect("second");
        assert!(streams.try_open(Some(a)).is_none(), "two per address");
        let _third = streams.try_open(Some(b)).expect("another address");
        assert!(streams.try_open(Some(b)).is_none(), "three in total");
        assert_eq!(streams.open(), 3);
        drop(first);
        assert_eq!(streams.open(), 2);
        assert!(
            streams.try_open(Some(a)).is_some(),
            "a freed place is reused"
        );
    }
}
