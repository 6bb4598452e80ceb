//! The proof-of-work challenge: hashcash over SHA-256.
//!
//! A site under attack (or one that asks for it) makes every order carry a
//! proof of a little work: the proxy refuses an order without one with
//! `428` and a [`Challenge`] (an opaque, signed, expiring `token` and a
//! number of `bits`); the widget finds a `nonce` for which
//! `SHA-256(token ":" nonce as 8 little-endian bytes)` starts with `bits`
//! zero bits and sends the order again with the header
//! [`crate::paths::PROOF_HEADER`]: `token:nonce` (nonce in decimal). A
//! person waits well under a second for it; a script ordering thousands of
//! calls pays for each one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What the proxy asks the widget to work on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Challenge {
    /// Opaque: signed by the proxy, valid for a few minutes and once.
    pub token: String,
    /// Zero bits the hash must start with.
    pub bits: u8,
}

/// The hasher with `token ":"` already fed: cloned for each nonce tried.
fn prefix(token: &str) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(token.as_bytes());
    hasher.update(b":");
    hasher
}

/// How many zero bits the hash of `token` and `nonce` starts with.
fn zero_bits(prefix: &Sha256, nonce: u64) -> u32 {
    let mut hasher = prefix.clone();
    hasher.update(nonce.to_le_bytes());
    let hash = hasher.finalize();
    let mut bits = 0;
    for byte in hash {
        bits += byte.leading_zeros();
        if byte != 0 {
            break;
        }
    }
    bits
}

/// Whether `nonce` solves the challenge `token` at `bits`.
pub fn solves(token: &str, bits: u8, nonce: u64) -> bool {
    zero_bits(&prefix(token), nonce) >= u32::from(bits)
}

/// Tries the nonces `from..from + count`; the first that solves the
/// challenge. Called in slices, so a browser's thread is never held long.
pub fn search(challenge: &Challenge, from: u64, count: u64) -> Option<u64> {
    let prefix = prefix(&challenge.token);
    let bits = u32::from(challenge.bits);
    (from..from.saturating_add(count)).find(|&nonce| zero_bits(&prefix, nonce) >= bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_nonce_solves_and_its_neighbours_mostly_do_not() {
        let challenge = Challenge {
            token: "v1.demo.1700000000.abc.def".to_owned(),
            bits: 12,
        };
        let nonce = search(&challenge, 0, 1 << 20).expect("found within 2^20 tries");
        assert!(solves(&challenge.token, 12, nonce));
        assert!(!solves("another token", 12, nonce) || !solves("yet another", 12, nonce));
        // Nothing before it solves: `search` returns the first.
        assert!((0..nonce).all(|n| !solves(&challenge.token, 12, n)));
        // Zero bits: anything solves.
        assert!(solves("x", 0, 7));
    }

    #[test]
    fn twelve_bits_take_about_four_thousand_tries_on_average() {
        // Over 64 tokens, the mean first solution is near 2^12 (a check that
        // the difficulty means what it says, not an off-by-one in bits).
        let total: u64 = (0..64)
            .map(|i| {
                let challenge = Challenge {
                    token: format!("token-{i}"),
                    bits: 12,
                };
                search(&challenge, 0, 1 << 24).expect("found")
            })
            .sum();
        let mean = total / 64;
        assert!((1_500..10_000).contains(&mean), "mean {mean}");
    }
}
