//! Solving the proxy's proof-of-work challenge (see `protocol::challenge`):
//! a site under attack asks every order for a fraction of a second of
//! hashing, which a person does not notice and a script ordering thousands
//! of calls pays for each time.

use protocol::challenge::{self, Challenge};

use crate::alive::Alive;
use crate::i18n::number;

/// Nonces tried per slice: about 10 ms of hashing on a laptop, so the
/// page's thread is free between slices (no long task).
const SLICE: u64 = 16_384;

/// Finds a nonce for `challenge`, a slice per task; `token:nonce` for the
/// proof header, or `None` if the widget went away meanwhile.
pub(crate) async fn solve(challenge: &Challenge, alive: &Alive) -> Option<String> {
    let mut from = 0;
    loop {
        if let Some(nonce) = challenge::search(challenge, from, SLICE) {
            return Some([challenge.token.as_str(), ":", &number(nonce)].concat());
        }
        from += SLICE;
        if !alive.sleep(0).await {
            return None;
        }
    }
}
