//! Who the client is, and how often one client may order callbacks.
//!
//! [`client_ip`] takes the client's address from the connection, or from a
//! header (`X-Forwarded-For`) only when the connection comes from a trusted
//! reverse proxy, because anyone else can write that header.
//!
//! [`IpLimits`] holds, per site, a burst limit per client address in memory
//! (`limits.ip_burst` at once, then `limits.ip_per_minute`): it stops a
//! script hammering one site from one address before anything is parsed or
//! stored. Every GET of the API has its own per-address limit
//! ([`limit_reads`]; looser for status polls), and the addresses refused
//! lately are remembered as suspects. The limits that must hold exactly and
//! survive a restart (per number, per address per day, per IPv6 /48, the
//! suspects' share, per site) are counted from the store, in the
//! transaction that stores the lead ([`judge`]). This module keeps
//! addresses in memory only as long as their limit matters, and never logs
//! them.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{ApiError, AppState};
use crate::clock::millis;
use crate::config::{Config, Limits, Site};
use crate::lead::LeadState;
use crate::store::{Counting, FromClient, Recent};
use crate::trusted_proxies::TrustedProxies;

/// Every this many checks, addresses whose limit has refilled are forgotten.
const FORGET_EVERY: u64 = 1024;
/// How long an address refused for anything stays a suspect ([`judge`]).
const SUSPECT_FOR_MS: i64 = HOUR;
/// Suspects remembered at most; past it, the expired ones are forgotten.
const MAX_SUSPECTS: usize = 100_000;

/// The client's address: the connection's `peer`, unless `peer` is one of the
/// `trusted` proxies; then the rightmost address in `header` that is not a
/// trusted proxy (the proxies append, so anything left of that is the
/// client's own claim). `None` when there is no peer (a router driven
/// without connection info).
///
/// The header is read as bytes, hop by hop: a client may put any byte in
/// the part it writes (`to_str` refuses a byte of 0x80 or more, which would
/// drop the whole header and make every such client look like the proxy in
/// front), but only the hops right of it are believed anyway.
pub(crate) fn client_ip(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
    header: &str,
) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    // Several header lines count as one list, in order.
    let hops: Vec<&[u8]> = headers
        .get_all(header)
        .iter()
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .map(<[u8]>::trim_ascii)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        let Some(address) = parse_hop(hop) else {
            // A trusted proxy passed on something that is not an address:
            // the hop that wrote it is the last one we can vouch for.
            return Some(nearest);
        };
        if !trusted.contains(address) {
            return Some(address);
        }
        nearest = address;
    }
    Some(nearest)
}

/// One entry of `X-Forwarded-For`: `1.2.3.4`, `2001:db8::1`, or with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:5678`), as some proxies write it.
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let hop = std::str::from_utf8(hop).ok()?;
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

/// The per-address burst limiters of every site, and the rule for finding
/// the client's address.
pub struct IpLimits {
    /// Replaced per site when a reload changes its burst or rate.
    per_site: RwLock<HashMap<String, Arc<SiteLimiter>>>,
    /// The GETs of the API but status polls, for every site.
    reads: DefaultKeyedRateLimiter<IpAddr>,
    /// Status polls and streams.
    polls: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses (by [`limit_key`]) refused lately, and until when (Unix ms).
    suspects: Mutex<HashMap<IpAddr, i64>>,
    trusted_proxies: TrustedProxies,
    client_ip_header: HeaderName,
    checks: AtomicU64,
}

impl IpLimits {
    /// A limiter for each site of `config`, from its `limits`.
    pub fn new(config: &Config) -> Self {
        let per_site = config
            .sites
            .iter()
            .map(|(id, site)| (id.clone(), Arc::new(SiteLimiter::new(&site.limits))))
            .collect();
        // Every GET of the API but the status polls: the config and slots a
        // widget reads once per page view. Status polls are looser: the
        // widget polls while a call goes on, maybe in several tabs.
        let per_minute = |rate: u32, burst_share: u32| {
            let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(rate.get() / burst_share).unwrap_or(NonZeroU32::MIN);
            Quota::per_minute(rate).allow_burst(burst)
        };
        Self {
            per_site: RwLock::new(per_site),
            reads: RateLimiter::keyed(per_minute(config.reads_per_minute, 2)),
            polls: RateLimiter::keyed(per_minute(config.status_polls_per_minute, 5)),
            suspects: Mutex::default(),
            trusted_proxies: config.trusted_proxies.clone(),
            client_ip_header: HeaderName::from_bytes(config.client_ip_header.as_bytes())
                .unwrap_or(HeaderName::from_static("x-forwarded-for")),
            checks: AtomicU64::new(0),
        }
    }

    /// The client's address under the configured proxies ([`client_ip`]).
    pub(crate) fn client_ip(
        &self,
        peer: Option<SocketAddr>,
        headers: &HeaderMap,
    ) -> Option<IpAddr> {
        client_ip(
            peer,
            headers,
            &self.trusted_proxies,
            self.client_ip_header.as_str(),
        )
    }

    /// Counts one request from `client` to `site`; a 429 with the wait when
    /// over the limit. A request without a known address is not limited here.
    pub(crate) fn check(&self, site: &str, client: Option<IpAddr>) -> Result<(), ApiError> {
        let limiter = self
            .per_site
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(site)
            .cloned();
        let (Some(limiter), Some(client)) = (limiter, client) else {
            return Ok(());
        };
        self.forget_now_and_then();
        Self::take(&limiter.limiter, client)
    }

    /// Takes the reloaded sites' `ip_burst` and `ip_per_minute`: a site
    /// whose quota changed starts a fresh limiter (every address with a
    /// full burst); the others keep counting. Sites are only added or
    /// removed by a restart.
    pub(crate) fn reload(&self, sites: &HashMap<String, Site>) {
        let mut per_site = self
            .per_site
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (id, limiter) in per_site.iter_mut() {
            if let Some(site) = sites.get(id)
                && quota(&site.limits) != limiter.quota
            {
                *limiter = Arc::new(SiteLimiter::new(&site.limits));
            }
        }
    }

    /// Counts one GET of the API from `client`: a status poll (`poll`) or
    /// any other read; a 429 with the wait when over the limit.
    pub(crate) fn check_read(&self, client: Option<IpAddr>, poll: bool) -> Result<(), ApiError> {
        let Some(client) = client else {
            return Ok(());
        };
        self.forget_now_and_then();
        Self::take(if poll { &self.polls } else { &self.reads }, client)
    }

    fn take(limiter: &DefaultKeyedRateLimiter<IpAddr>, client: IpAddr) -> Result<(), ApiError> {
        limiter
            .check_key(&limit_key(client))
            .map_err(|not_until| ApiError::RateLimited {
                retry_after: not_until.wait_time_from(limiter.clock().now()),
            })
    }

    fn forget_now_and_then(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            let per_site: Vec<Arc<SiteLimiter>> = self
                .per_site
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned()
                .collect();
            let per_site = per_site.iter().map(|site| &site.limiter);
            for limiter in per_site.chain([&self.reads, &self.polls]) {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }

    /// Remembers that `client` was refused at `now`: for an hour its orders
    /// count against the suspects' share of the site's ceiling ([`judge`]).
    pub(crate) fn mark_suspect(&self, client: Option<IpAddr>, now: i64) {
        let Some(client) = client else {
            return;
        };
        let mut suspects = self.suspects.lock().unwrap_or_else(PoisonError::into_inner);
        if suspects.len() >= MAX_SUSPECTS {
            suspects.retain(|_, until| *until > now);
        }
        if suspects.len() < MAX_SUSPECTS {
            suspects.insert(limit_key(client), now + SUSPECT_FOR_MS);
        }
    }

    /// Whether `client` was refused within the last hour.
    pub(crate) fn is_suspect(&self, client: IpAddr, now: i64) -> bool {
        self.suspects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&limit_key(client))
            .is_some_and(|until| *until > now)
    }
}

/// The per-address limit on every GET of the API, before any handler reads
/// the request (POSTs are limited per site, first thing in their handler).
pub(super) async fn limit_reads(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let poll = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| path.as_str().starts_with("/v1/callbacks/"));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    let client = state.limits.client_ip(peer, request.headers());
    match state.limits.check_read(client, poll) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

impl fmt::Debug for IpLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpLimits")
            .field(
                "sites",
                &self
                    .per_site
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keys()
                    .collect::<Vec<_>>(),
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("client_ip_header", &self.client_ip_header)
            .finish_non_exhaustive()
    }
}

/// One site's per-address burst limiter, and the quota it was built with.
struct SiteLimiter {
    quota: Quota,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl SiteLimiter {
    fn new(limits: &Limits) -> Self {
        let quota = quota(limits);
        Self {
            quota,
            limiter: RateLimiter::keyed(quota),
        }
    }
}

/// `ip_burst` at once, refilled at `ip_per_minute`.
fn quota(limits: &Limits) -> Quota {
    let per_minute = NonZeroU32::new(limits.ip_per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limits.ip_burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

/// The key an address is limited under. An IPv6 client usually holds a whole
/// /64 and can change address within it at will, so the /64 is one client.
pub(crate) fn limit_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
    }
}

/// The IPv6 /48 an address is in (a site's allocation: 65,536 /64s, so a
/// /48 gets its own, larger, daily limit); `None` for IPv4.
pub(crate) fn network_key(client: IpAddr) -> Option<Ipv6Addr> {
    match client {
        IpAddr::V4(_) => None,
        IpAddr::V6(v6) => Some(Ipv6Addr::from_bits(v6.to_bits() & (u128::MAX << 80))),
    }
}

/// Which limit refused a request: the class in metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// The per-address burst ([`IpLimits::check`]).
    AddressBurst,
    NumberCooldown,
    NumberPerDay,
    SitePerHour,
    SitePerDay,
    /// `ip_per_day`: one IPv4 address or IPv6 /64.
    AddressPerDay,
    /// `network_per_day`: one IPv6 /48.
    NetworkPerDay,
    /// Refused addresses filled their share of the hourly ceiling.
    SuspectShare,
}

impl LimitHit {
    /// The class in `callback_proxy_refusals_total`.
    pub(crate) fn class(self) -> &'static str {
        match self {
            LimitHit::AddressBurst => "limit_address_burst",
            LimitHit::NumberCooldown => "limit_number_cooldown",
            LimitHit::NumberPerDay => "limit_number_per_day",
            LimitHit::SitePerHour => "limit_site_per_hour",
            LimitHit::SitePerDay => "limit_site_per_day",
            LimitHit::AddressPerDay => "limit_address_per_day",
            LimitHit::NetworkPerDay => "limit_network_per_day",
            LimitHit::SuspectShare => "limit_suspect_share",
        }
    }
}

/// A refusal by a limit, and when a request would be taken.
pub(crate) type Limited = (LimitHit, Duration);

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// How far back [`judge`] looks: the store reads this window for it.
const WINDOW_MS: i64 = DAY;

/// What [`judge`] needs the store to count for an order from `client`
/// at `now`; every address of the hour only for a `suspect` client (one
/// that becomes a suspect while its order is counted is judged as it was
/// when the order came: its next order counts the share).
pub(super) fn counting(
    client: Option<IpAddr>,
    suspect: &dyn Fn(IpAddr) -> bool,
    now: i64,
) -> Counting {
    Counting {
        since: now - WINDOW_MS,
        hour_since: now - HOUR,
        client,
        every_address_this_hour: client.is_some_and(suspect),
    }
}

/// The share of a ceiling at which the proxy raises an alert (a warning
/// line in the log), once, as the lead that reaches it is stored.
const ALERT_PERCENT: u64 = 80;

/// Whether storing one more lead brings the site to [`ALERT_PERCENT`] of its
/// hourly or daily ceiling: which ceiling, the count then, and the ceiling.
pub(super) fn alert_after_insert(
    recent: &Recent,
    limits: &Limits,
) -> Option<(&'static str, usize, u32)> {
    [
        ("site_per_hour", recent.site_hour, limits.site_per_hour),
        ("site_per_day", recent.site_day, limits.site_per_day),
    ]
    .into_iter()
    .find_map(|(name, tally, ceiling)| {
        let threshold = (u64::from(ceiling) * ALERT_PERCENT).div_ceil(100).max(1);
        let after = tally.count + 1;
        (after as u64 == threshold).then_some((name, after, ceiling))
    })
}

/// The limits counted from the store, judged inside the transaction that
/// stores the lead ([`Store::insert_within`]), so they hold exactly under
/// concurrency, across restarts and replicas: one order per number per
/// cooldown (unless its last call failed), a few per number per day, a few
/// per address (IPv4, IPv6 /64) and per IPv6 /48 per day, a smaller share of
/// the hourly ceiling for `suspect` addresses, and a ceiling per site per
/// hour and per day.
pub(super) fn judge(
    recent: &Recent,
    limits: &Limits,
    client: Option<IpAddr>,
    suspect: &dyn Fn(IpAddr) -> bool,
    now: i64,
) -> Result<(), Limited> {
    let limited = |hit: LimitHit, until: i64| {
        let wait = Duration::from_millis(u64::try_from(until - now).unwrap_or(0).max(1000));
        (hit, wait)
    };
    if let Some((last_at, last_state)) = recent.number.first() {
        let cooldown_ends = last_at + millis(limits.number_cooldown);
        let may_retry = matches!(last_state, LeadState::Failed | LeadState::Halted);
        if now < cooldown_ends && !may_retry {
            return Err(limited(LimitHit::NumberCooldown, cooldown_ends));
        }
    }
    if recent.number.len() >= limits.number_per_day as usize {
        let oldest = recent.number.last().map_or(now, |(at, _)| *at);
        return Err(limited(LimitHit::NumberPerDay, oldest + DAY));
    }
    // Newest first: the count's oldest is the last one matching.
    let count = |rows: &[(i64, IpAddr)], window: i64, matches: &dyn Fn(IpAddr) -> bool| {
        let within: Vec<i64> = rows
            .iter()
            .filter(|(at, ip)| *at >= now - window && matches(*ip))
            .map(|(at, _)| *at)
            .collect();
        (within.len(), within.last().copied().unwrap_or(now))
    };
    if let Some(client) = client {
        let address = limit_key(client);
        let (n, oldest) = match &recent.from_client {
            FromClient::Ipv4(tally) => (tally.count, tally.oldest.unwrap_or(now)),
            FromClient::Ipv6(rows) => count(rows, DAY, &|ip| limit_key(ip) == address),
            FromClient::Unknown => (0, now),
        };
        if n >= limits.ip_per_day as usize {
            return Err(limited(LimitHit::AddressPerDay, oldest + DAY));
        }
        if let (Some(network), FromClient::Ipv6(rows)) = (network_key(client), &recent.from_client)
        {
            let (n, oldest) = count(rows, DAY, &|ip| network_key(ip) == Some(network));
            if n >= limits.network_per_day as usize {
                return Err(limited(LimitHit::NetworkPerDay, oldest + DAY));
            }
        }
        if suspect(client) {
            let share = (u64::from(limits.site_per_hour) * u64::from(limits.suspect_share_percent))
                .div_ceil(100)
                .max(1);
            let (n, oldest) = count(&recent.this_hour, HOUR, &|ip| suspect(ip));
            if n as u64 >= share {
                return Err(limited(LimitHit::SuspectShare, oldest + HOUR));
            }
        }
    }
    for (hit, tally, window, ceiling) in [
        (
            LimitHit::SitePerHour,
            recent.site_hour,
            HOUR,
            limits.site_per_hour,
        ),
        (
            LimitHit::SitePerDay,
            recent.site_day,
            DAY,
            limits.site_per_day,
        ),
    ] {
        if tally.count >= ceiling as usize {
            return Err(limited(hit, tally.oldest.unwrap_or(now) + window));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use axum::response::IntoResponse;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn trust(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).expect("valid")
    }

    fn peer(text: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip(text), 40_000))
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).expect("ascii"),
            );
        }
        headers
    }

    const XFF: &str = "X-Forwarded-For";

    #[test]
    fn without_trusted_proxies_the_connection_is_the_client() {
        let headers = forwarded(&["6.6.6.6"]);
        assert_eq!(
            client_ip(peer("203.0.113.7"), &headers, &trust(&[]), XFF),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(client_ip(None, &headers, &trust(&[]), XFF), None);
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let trusted = trust(&["10.0.0.1"]);
        let headers = forwarded(&["1.2.3.4"]);
        assert_eq!(
            client_ip(peer("203.0.113.7"), &headers, &trusted, XFF),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = trust(&["10.0.0.1", "10.0.0.2"]);
        // The client forged 6.6.6.6; the first proxy appended what it saw.
        let headers = forwarded(&["6.6.6.6, 198.51.100.9, 10.0.0.2"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("198.51.100.9"))
        );
        // Two header lines are one list.
        let headers = forwarded(&["6.6.6.6", "198.51.100.9"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("198.51.100.9"))
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let trusted = trust(&["10.0.0.1"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &HeaderMap::new(), &trusted, XFF),
            Some(ip("10.0.0.1"))
        );
        let headers = forwarded(&["10.0.0.1"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("10.0.0.1")),
            "only trusted hops: the earliest one"
        );
    }

    #[test]
    fn garbage_in_the_header_stops_at_the_last_trusted_hop() {
        let trusted = trust(&["10.0.0.1", "10.0.0.2"]);
        let headers = forwarded(&["1.2.3.4, unknown, 10.0.0.2"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("10.0.0.2"))
        );
    }

    #[test]
    fn ports_mapped_addresses_and_other_headers_are_understood() {
        let trusted = trust(&["10.0.0.1"]);
        let headers = forwarded(&["[2001:db8::1]:5678"]);
        assert_eq!(
            client_ip(peer("::ffff:10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("2001:db8::1"))
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-real-ip", HeaderValue::from_static("198.51.100.9"));
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, "X-Real-IP"),
            Some(ip("198.51.100.9"))
        );
    }

    #[test]
    fn a_byte_over_0x7f_in_a_forged_hop_does_not_hide_the_client() {
        let trusted = trust(&["10.0.0.1"]);
        let mut headers = HeaderMap::new();
        // The client wrote "\xff evil, 6.6.6.6"; nginx appended what it saw.
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xffevil\x80, 6.6.6.6, 198.51.100.9")
                .expect("obs-text is allowed"),
        );
        assert!(
            headers["x-forwarded-for"].to_str().is_err(),
            "to_str would drop it"
        );
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("198.51.100.9"))
        );
        // On a line of its own, the forged part does not drop the next line.
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xc3\xa9").expect("bytes"),
        );
        headers.append("x-forwarded-for", HeaderValue::from_static("198.51.100.9"));
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("198.51.100.9"))
        );
        // A non-UTF-8 hop right next to the proxy is garbage: stop at the proxy.
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"1.2.3.4, \xff").expect("bytes"),
        );
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &trusted, XFF),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn trusted_ranges_are_skipped_hop_by_hop() {
        let trusted = trust(&["10.0.0.0/8", "fd00::/8"]);
        let headers = forwarded(&["6.6.6.6, 203.0.113.5, 10.20.30.40, fd00::7"]);
        assert_eq!(
            client_ip(peer("10.9.9.9"), &headers, &trusted, XFF),
            Some(ip("203.0.113.5"))
        );
        assert_eq!(
            client_ip(peer("11.0.0.1"), &headers, &trusted, XFF),
            Some(ip("11.0.0.1")),
            "outside the range the peer is the client"
        );
    }

    #[test]
    fn x_real_ip_from_a_trusted_proxy_is_the_client() {
        let trusted = trust(&["127.0.0.0/8"]);
        let mut headers = HeaderMap::new();
        headers.insert("x-real-ip", HeaderValue::from_static(" 203.0.113.44 "));
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        assert_eq!(
            client_ip(peer("127.0.0.1"), &headers, &trusted, "X-Real-IP"),
            Some(ip("203.0.113.44")),
            "the configured header only"
        );
        assert_eq!(
            client_ip(peer("203.0.113.1"), &headers, &trusted, "X-Real-IP"),
            Some(ip("203.0.113.1")),
            "not believed from anyone else"
        );
    }

    fn limits(burst: u32) -> IpLimits {
        let text = format!(
            "[sites.shop]\nallowed_origins = [\"https://shop.example\"]\nunique = \"shop\"\n\
             api_key_env = \"KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n\
             [sites.shop.limits]\nip_burst = {burst}\nip_per_minute = 1\n\
             [sites.blog]\nallowed_origins = [\"https://blog.example\"]\nunique = \"blog\"\n\
             api_key_env = \"KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n"
        );
        let config = Config::parse(&text, |_| {
            Some("0123456789abcdef0123456789abcdef".to_owned())
        })
        .expect("valid");
        IpLimits::new(&config)
    }

    #[test]
    fn a_burst_over_the_limit_gets_429_with_retry_after() {
        let limits = limits(2);
        let client = Some(ip("203.0.113.7"));
        assert!(limits.check("shop", client).is_ok());
        assert!(limits.check("shop", client).is_ok());
        let error = limits
            .check("shop", client)
            .expect_err("the third is over the burst");
        let ApiError::RateLimited { retry_after } = error else {
            panic!("expected RateLimited, got {error:?}");
        };
        assert!(
            retry_after > Duration::from_secs(50) && retry_after <= Duration::from_secs(60),
            "one per minute refills in about a minute: {retry_after:?}"
        );
        let response = ApiError::RateLimited { retry_after }.into_response();
        assert_eq!(response.status(), 429);
        let seconds: u64 = response.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("whole seconds");
        assert!((51..=60).contains(&seconds), "{seconds}");
    }

    #[test]
    fn other_addresses_and_sites_have_their_own_allowance() {
        let limits = limits(1);
        assert!(limits.check("shop", Some(ip("203.0.113.7"))).is_ok());
        assert!(limits.check("shop", Some(ip("203.0.113.7"))).is_err());
        assert!(limits.check("shop", Some(ip("203.0.113.8"))).is_ok());
        assert!(limits.check("blog", Some(ip("203.0.113.7"))).is_ok());
        assert!(
            limits.check("shop", None).is_ok(),
            "no address, no limit here"
        );
    }

    #[test]
    fn one_ipv6_64_is_one_client() {
        let limits = limits(1);
        assert!(limits.check("shop", Some(ip("2001:db8:0:1::1"))).is_ok());
        assert!(limits.check("shop", Some(ip("2001:db8:0:1::2"))).is_err());
        assert!(limits.check("shop", Some(ip("2001:db8:0:2::1"))).is_ok());
    }

    /// What the store reads for an order at `now` from a client of its
    /// own (none of its leads counted) when the site's leads came at
    /// `times`, all from `address`.
    fn recent_at(times: &[i64], address: &str, now: i64) -> Recent {
        let tally = |since: i64| {
            let within: Vec<i64> = times.iter().copied().filter(|at| *at >= since).collect();
            crate::store::Tally {
                count: within.len(),
                oldest: within.iter().copied().min(),
            }
        };
        let rows: Vec<(i64, IpAddr)> = times.iter().map(|at| (*at, ip(address))).collect();
        Recent {
            number: Vec::new(),
            site_hour: tally(now - HOUR),
            site_day: tally(now - DAY),
            from_client: FromClient::Unknown,
            this_hour: rows
                .into_iter()
                .filter(|(at, _)| *at >= now - HOUR)
                .collect(),
        }
    }

    #[test]
    fn the_alert_fires_once_as_the_lead_reaching_80_percent_is_stored() {
        let limits = Limits {
            site_per_hour: 10,
            ..Limits::default()
        };
        let now = 10 * HOUR;
        let seven: Vec<i64> = (0..7).map(|n| now - n * 1000).collect();
        assert_eq!(
            alert_after_insert(&recent_at(&seven, "203.0.113.1", now), &limits),
            Some(("site_per_hour", 8, 10))
        );
        let eight: Vec<i64> = (0..8).map(|n| now - n * 1000).collect();
        assert_eq!(
            alert_after_insert(&recent_at(&eight, "203.0.113.1", now), &limits),
            None
        );
        assert_eq!(
            alert_after_insert(&recent_at(&seven[..6], "203.0.113.1", now), &limits),
            None
        );
    }

    #[test]
    fn judge_counts_the_window_and_says_when_to_retry() {
        let limits = Limits {
            site_per_hour: 3,
            ip_per_day: 100,
            ..Limits::default()
        };
        let now = 10 * HOUR;
        let recent = recent_at(
            &[now - 1000, now - 2000, now - HOUR + 5000],
            "203.0.113.1",
            now,
        );
        let (hit, wait) = judge(&recent, &limits, Some(ip("198.51.100.1")), &|_| false, now)
            .expect_err("three in the hour");
        assert_eq!(hit, LimitHit::SitePerHour);
        assert_eq!(
            wait,
            Duration::from_secs(5),
            "when the oldest leaves the hour"
        );
        let older = recent_at(
            &[now - 1000, now - 2000, now - HOUR - 1],
            "203.0.113.1",
            now,
        );
        assert!(judge(&older, &limits, Some(ip("198.51.100.1")), &|_| false, now).is_ok());
    }
}
