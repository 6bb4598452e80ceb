//! The proof-of-work challenge (issue 11): issuing, checking, and when a
//! site asks for it.
//!
//! The work itself ([`protocol::challenge`]) is hashcash over SHA-256; here
//! the proxy signs what it asks for and remembers what was spent. A token is
//! `EXPIRES.RANDOM.MAC`: the Unix second it stops working, 16 random bytes,
//! and an HMAC-SHA-256 of the site's id and both, keyed by a key derived
//! from the site's CallKeeper key. So every replica of a site checks every
//! other's tokens with no new secret to configure, and nobody else can make
//! one. A proof works once per replica (spent tokens are remembered until
//! they expire); across replicas one solved token could be used once on
//! each, which still costs a script one solution per replica.
//!
//! When: `mode = "always"`, never (`"off"`), or (`"auto"`, the default)
//! once the site has refused `auto_after_refusals` requests (limits, bot
//! checks, refused numbers) within ten minutes, for `auto_for_minutes`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use protocol::challenge::{self, Challenge};
use rand::RngCore;
use sha2::Sha256;

#[cfg(test)]
use crate::config::ChallengeSettings;
use crate::config::{ChallengeMode, Site};

/// How long a token works after it is issued: long enough to solve it on a
/// slow phone and send, short enough not to be stockpiled.
pub const TOKEN_LIFETIME_SECS: u64 = 300;

/// The window in which refusals are counted for `mode = "auto"`.
const PRESSURE_WINDOW_MS: u64 = 10 * 60 * 1000;

/// At most this many spent tokens are remembered; past it, the oldest go
/// first (each cost its sender a solution, so reaching it takes real work).
const MAX_SPENT: usize = 200_000;

/// Why a proof was not accepted (a metrics class each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofRefusal {
    /// No proof was sent.
    Missing,
    /// A proof that is malformed, not ours, expired, already spent, or does
    /// not solve its challenge.
    Invalid,
}

impl ProofRefusal {
    /// The refusal class in `/metrics`.
    pub fn class(self) -> &'static str {
        match self {
            Self::Missing => "challenge_required",
            Self::Invalid => "challenge_invalid",
        }
    }
}

/// Per site: refusals lately, and until when the challenge is on.
#[derive(Debug, Default)]
struct Pressure {
    /// Times (ms) of the refusals in the last [`PRESSURE_WINDOW_MS`].
    recent: VecDeque<u64>,
    /// The challenge is on until this time (ms); 0: off.
    on_until: u64,
}

/// The proxy's challenges: which sites ask for one now, and the spent tokens.
#[derive(Debug, Default)]
pub struct Challenges {
    pressure: Mutex<HashMap<String, Pressure>>,
    spent: Mutex<Spent>,
}

/// Spent tokens with when they expire (Unix seconds), and in the order
/// they were spent (oldest first, to forget).
#[derive(Debug, Default)]
struct Spent {
    tokens: HashMap<String, u64>,
    order: VecDeque<(u64, String)>,
}

impl Challenges {
    /// Counts a refused request of `site`; in `auto` mode, enough of them
    /// switch the challenge on.
    pub fn note_refusal(&self, site: &Site, now_ms: u64) {
        let settings = &site.challenge;
        if settings.mode != ChallengeMode::Auto {
            return;
        }
        let mut pressure = self.pressure.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pressure.entry(site.id.clone()).or_default();
        entry.recent.push_back(now_ms);
        while entry
            .recent
            .front()
            .is_some_and(|&at| at + PRESSURE_WINDOW_MS <= now_ms)
        {
            entry.recent.pop_front();
        }
        if entry.recent.len() >= settings.auto_after_refusals as usize {
            let was_on = entry.on_until > now_ms;
            entry.on_until = now_ms + settings.auto_for.as_millis() as u64;
            if !was_on {
                tracing::warn!(site = %site.id, refusals = entry.recent.len(),
                    "ALERT: refusals are high; orders now need a proof of work");
            }
        }
    }

    /// Whether an order for `site` needs a proof now.
    pub fn required(&self, site: &Site, now_ms: u64) -> bool {
        match site.challenge.mode {
            ChallengeMode::Off => false,
            ChallengeMode::Always => true,
            ChallengeMode::Auto => self
                .pressure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&site.id)
                .is_some_and(|p| p.on_until > now_ms),
        }
    }

    /// A fresh challenge for `site`.
    pub fn issue(&self, site: &Site, now_secs: u64) -> Challenge {
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        let signed = [
            (now_secs + TOKEN_LIFETIME_SECS).to_string(),
            hex::encode(random),
        ]
        .join(".");
        let mac = hex::encode(signer(site, &signed).finalize().into_bytes());
        Challenge {
            token: [signed, mac].join("."),
            bits: site.challenge.bits,
        }
    }

    /// Checks the proof header (`token:nonce`) of an order for `site`, and
    /// spends its token.
    pub fn check(
        &self,
        site: &Site,
        proof: Option<&str>,
        now_secs: u64,
    ) -> Result<(), ProofRefusal> {
        let proof = proof.ok_or(ProofRefusal::Missing)?;
        let (token, nonce) = proof.rsplit_once(':').ok_or(ProofRefusal::Invalid)?;
        let nonce: u64 = nonce.parse().map_err(|_| ProofRefusal::Invalid)?;
        let (signed, mac) = token.rsplit_once('.').ok_or(ProofRefusal::Invalid)?;
        let mac = hex::decode(mac).map_err(|_| ProofRefusal::Invalid)?;
        signer(site, signed)
            .verify_slice(&mac)
            .map_err(|_| ProofRefusal::Invalid)?;
        let expires: u64 = signed
            .split('.')
            .next()
            .and_then(|e| e.parse().ok())
            .ok_or(ProofRefusal::Invalid)?;
        if expires < now_secs || !challenge::solves(token, site.challenge.bits, nonce) {
            return Err(ProofRefusal::Invalid);
        }
        self.spend(token, expires, now_secs)
    }

    /// Remembers `token` as spent; refuses it if it already was.
    fn spend(&self, token: &str, expires: u64, now_secs: u64) -> Result<(), ProofRefusal> {
        let mut guard = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let Spent { tokens, order } = &mut *guard;
        while let Some((at, _)) = order.front()
            && (*at < now_secs || order.len() >= MAX_SPENT)
        {
            if let Some((_, old)) = order.pop_front() {
                tokens.remove(&old);
            }
        }
        if tokens.insert(token.to_owned(), expires).is_some() {
            return Err(ProofRefusal::Invalid);
        }
        order.push_back((expires, token.to_owned()));
        Ok(())
    }
}

/// The HMAC that signs `signed` for `site`.
fn signer(site: &Site, signed: &str) -> Hmac<Sha256> {
    let mut mac = site.credentials.key.with_secret(|key| {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(b"callback-proxy challenge v1")
            .expect("HMAC takes any key length");
        derive.update(key);
        <Hmac<Sha256> as Mac>::new_from_slice(&derive.finalize().into_bytes())
            .expect("HMAC takes any key length")
    });
    mac.update(site.id.as_bytes());
    mac.update(b"\n");
    mac.update(signed.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sites with different CallKeeper keys; `shop` with these settings.
    fn sites(mode: ChallengeMode, bits: u8) -> (Site, Site) {
        let site = |name: &str| {
            format!(
                "[sites.{name}]\nallowed_origins = [\"https://{name}.example\"]\nunique = \"{name}\"\n\
                 api_key_env = \"{name}_KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n"
            )
        };
        let text = [site("shop"), site("other")].concat();
        let mut config = crate::config::Config::parse(&text, |name| {
            Some(
                if name == "shop_KEY" {
                    "0123456789abcdef0123456789abcdef"
                } else {
                    "fedcba9876543210fedcba9876543210"
                }
                .to_owned(),
            )
        })
        .expect("a valid config");
        let mut shop = config.sites.remove("shop").expect("shop");
        shop.challenge = ChallengeSettings {
            mode,
            bits,
            auto_after_refusals: 3,
            ..ChallengeSettings::default()
        };
        (shop, config.sites.remove("other").expect("other"))
    }

    fn site(mode: ChallengeMode, bits: u8) -> Site {
        sites(mode, bits).0
    }

    fn solve(challenge: &Challenge) -> String {
        let nonce = challenge::search(challenge, 0, u64::MAX).expect("solved");
        [challenge.token.as_str(), &nonce.to_string()].join(":")
    }

    #[test]
    fn a_solved_challenge_is_taken_once_and_only_for_its_site_and_time() {
        let challenges = Challenges::default();
        let (shop, other) = sites(ChallengeMode::Always, 8);
        let challenge = challenges.issue(&shop, 1_000);
        assert_eq!(challenge.bits, 8);
        let proof = solve(&challenge);
        assert_eq!(
            challenges.check(&shop, None, 1_000),
            Err(ProofRefusal::Missing)
        );
        // Another site (another key) does not take it.
        assert_eq!(
            challenges.check(&other, Some(&proof), 1_000),
            Err(ProofRefusal::Invalid)
        );
        // Expired.
        assert_eq!(
            challenges.check(&shop, Some(&proof), 1_000 + TOKEN_LIFETIME_SECS + 1),
            Err(ProofRefusal::Invalid)
        );
        assert_eq!(challenges.check(&shop, Some(&proof), 1_010), Ok(()));
        assert_eq!(
            challenges.check(&shop, Some(&proof), 1_011),
            Err(ProofRefusal::Invalid),
            "spent"
        );
        // A changed expiry breaks the signature.
        let forged = proof.replacen(&(1_000 + TOKEN_LIFETIME_SECS).to_string(), "9999999999", 1);
        assert_eq!(
            challenges.check(&shop, Some(&forged), 1_000),
            Err(ProofRefusal::Invalid)
        );
        for junk in ["", ":", "a.b.c:1", "x:y", &challenge.token] {
            assert_eq!(
                challenges.check(&shop, Some(junk), 1_000),
                Err(ProofRefusal::Invalid),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn a_wrong_nonce_is_refused() {
        let challenges = Challenges::default();
        let shop = site(ChallengeMode::Always, 16);
        let challenge = challenges.issue(&shop, 1_000);
        let wrong = (0..)
            .find(|&n| !challenge::solves(&challenge.token, 16, n))
            .expect("most nonces fail");
        let proof = format!("{}:{wrong}", challenge.token);
        assert_eq!(
            challenges.check(&shop, Some(&proof), 1_000),
            Err(ProofRefusal::Invalid)
        );
    }

    #[test]
    fn auto_mode_switches_on_after_enough_refusals_and_off_after_its_time() {
        let challenges = Challenges::default();
        let shop = site(ChallengeMode::Auto, 8);
        assert!(!challenges.required(&shop, 0));
        challenges.note_refusal(&shop, 1_000);
        challenges.note_refusal(&shop, 2_000);
        assert!(!challenges.required(&shop, 2_000), "two of three");
        // Refusals older than the window do not count.
        challenges.note_refusal(&shop, 2_000 + PRESSURE_WINDOW_MS);
        assert!(!challenges.required(&shop, 2_000 + PRESSURE_WINDOW_MS));
        let now = 3_000 + PRESSURE_WINDOW_MS;
        challenges.note_refusal(&shop, now - 500);
        challenges.note_refusal(&shop, now);
        assert!(challenges.required(&shop, now), "three in ten minutes");
        let hold = shop.challenge.auto_for.as_millis() as u64;
        assert!(challenges.required(&shop, now + hold - 1));
        assert!(!challenges.required(&shop, now + hold), "off again");

        assert!(challenges.required(&site(ChallengeMode::Always, 8), 0));
        let off = site(ChallengeMode::Off, 8);
        for at in 0..10 {
            challenges.note_refusal(&off, at);
        }
        assert!(!challenges.required(&off, 10));
    }
}
