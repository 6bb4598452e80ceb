//! Caps on open status streams (Server-Sent Events): per status token
//! ([`MAX_STREAMS_PER_TOKEN`]: a visitor's tab, and one more while it
//! reconnects), per client address (an IPv6 /64 counts as one) and in
//! total, so that a misbehaving page or a flood cannot exhaust the proxy's
//! connections. A refused stream gets 429 and the widget polls. Each stream
//! also has a lifetime (`max_stream_seconds`, `status.rs`), so even a lead
//! scheduled weeks ahead cannot hold a place for ever.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Streams open at once for one status token.
pub const MAX_STREAMS_PER_TOKEN: usize = 2;

/// The open streams.
#[derive(Debug)]
pub struct Streams {
    total: AtomicUsize,
    open: Mutex<Open>,
    max_total: usize,
    max_per_ip: usize,
}

/// Who holds the open places.
#[derive(Debug, Default)]
struct Open {
    per_ip: HashMap<IpAddr, usize>,
    per_token: HashMap<String, usize>,
}

/// One less in `map[key]`, forgetting the key at zero.
fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = map.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            map.remove(key);
        }
    }
}

/// One open stream; dropping it (the stream ended or the client left) frees its place.
#[derive(Debug)]
#[must_use = "the stream's place is freed when this is dropped"]
pub struct StreamGuard {
    streams: Arc<Streams>,
    ip: Option<IpAddr>,
    token: String,
}

impl Streams {
    /// Caps of `max_total` streams, `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        Self {
            total: AtomicUsize::new(0),
            open: Mutex::new(Open::default()),
            max_total,
            max_per_ip,
        }
    }

    /// How many streams are open.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Takes a place for a new stream of status `token`, or `None` when a
    /// cap is reached. IPv6 addresses count per /64, as the burst limit
    /// does: one host has a whole /64.
    pub fn try_open(self: &Arc<Self>, ip: Option<IpAddr>, token: &str) -> Option<StreamGuard> {
        let ip = ip.map(super::limits::limit_key);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return None;
        }
        if open.per_token.get(token).copied().unwrap_or(0) >= MAX_STREAMS_PER_TOKEN {
            return None;
        }
        if let Some(ip) = ip {
            let count = open.per_ip.entry(ip).or_insert(0);
            if *count >= self.max_per_ip {
                return None;
            }
            *count += 1;
        }
        *open.per_token.entry(token.to_owned()).or_insert(0) += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(StreamGuard {
            streams: Arc::clone(self),
            ip,
            token: token.to_owned(),
        })
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut open = self
            .streams
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ip) = self.ip {
            release(&mut open.per_ip, &ip);
        }
        release(&mut open.per_token, &self.token);
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
        let first = streams.try_open(Some(a), "t1").expect("first");
        let _second = streams.try_open(Some(a), "t2").expect("second");
        assert!(streams.try_open(Some(a), "t3").is_none(), "two per address");
        let _third = streams.try_open(Some(b), "t4").expect("another address");
        assert!(streams.try_open(Some(b), "t5").is_none(), "three in total");
        assert_eq!(streams.open(), 3);
        drop(first);
        assert_eq!(streams.open(), 2);
        assert!(
            streams.try_open(Some(a), "t6").is_some(),
            "a freed place is reused"
        );
    }

    #[test]
    fn one_token_has_at_most_two_streams_from_any_address() {
        let streams = Arc::new(Streams::new(100, 100));
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = "2001:db8::1".parse().expect("ip");
        let first = streams.try_open(Some(a), "token").expect("the tab");
        let _second = streams.try_open(Some(b), "token").expect("a reconnect");
        assert!(
            streams.try_open(Some(a), "token").is_none(),
            "a third for the same token is refused, whatever the address"
        );
        assert!(streams.try_open(None, "token").is_none());
        assert!(
            streams.try_open(Some(a), "other").is_some(),
            "another token"
        );
        drop(first);
        assert!(streams.try_open(Some(a), "token").is_some(), "freed");
    }
}
