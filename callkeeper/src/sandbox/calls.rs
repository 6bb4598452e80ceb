//! The sandbox's calls: what was ordered, and what state it is in at a
//! given moment. State is computed from the clock on every read (see the
//! table in the module above), never stored, so tests can move a
//! `ManualClock` and read exact phases.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::status_table::{Outcome, StatusPair};
use crate::values::{UnixTime, format_utc};

/// The pair an attempt ends with, chosen by the last two digits of the
/// visitor's number (see the module table). `attempt` counts from 1.
///
/// ```
/// use callkeeper::StatusPair;
/// use callkeeper::sandbox::planned_status;
/// assert_eq!(planned_status("79990000000", 1), StatusPair::new(200, 486));
/// assert_eq!(planned_status("79990000005", 1), StatusPair::new(200, 487));
/// assert_eq!(planned_status("79990000005", 2), StatusPair::SUCCESS);
/// assert_eq!(planned_status("79991234567", 1), StatusPair::SUCCESS);
/// ```
pub fn planned_status(client: &str, attempt: u32) -> StatusPair {
    let digits: Vec<u8> = client.bytes().filter(u8::is_ascii_digit).collect();
    let last_two = match digits.as_slice() {
        [.., a, b] => [*a, *b],
        _ => [b'x', b'x'],
    };
    match &last_two {
        b"00" => StatusPair::new(200, 486),
        b"01" => StatusPair::new(200, 487),
        b"02" => StatusPair::new(487, 0),
        b"03" => StatusPair::new(709, 0),
        b"04" => StatusPair::new(200, 404),
        b"05" if attempt <= 1 => StatusPair::new(200, 487),
        b"06" => StatusPair::new(486, 0),
        b"07" => StatusPair::new(667, 0),
        b"08" => StatusPair::new(200, 0),
        b"09" => StatusPair::new(790, 0),
        _ => StatusPair::SUCCESS,
    }
}

/// Whether an attempt that ended with `pair` is tried again when the order
/// has intervals left: failures to connect are, wrong numbers, blocks and
/// test calls are not.
fn is_retried(pair: StatusPair) -> bool {
    let wrong_number = matches!(
        (pair.code, pair.code2),
        (709 | 718, 0) | (200, 404 | 410 | 484)
    );
    matches!(
        pair.outcome(),
        Outcome::ManagerSideFailure | Outcome::VisitorSideFailure
    ) && !wrong_number
}

/// Seconds of an attempt before the visitor picks up, for durations.
const RING_SECONDS: u32 = 5;

/// One ordered call.
#[derive(Debug, Clone)]
pub(crate) struct CallRecord {
    pub(crate) id: u64,
    pub(crate) account: usize,
    pub(crate) widget_hash: String,
    /// Visitor's digits.
    pub(crate) client: String,
    /// `phone1`: `number^ext` or `number^_`.
    pub(crate) manager: String,
    pub(crate) created: SystemTime,
    /// When attempt 1 starts.
    pub(crate) first_start: SystemTime,
    pub(crate) interval: Vec<u32>,
    /// A final status decided at order time (811, 813, 815, 703, 702).
    pub(crate) refused: Option<StatusPair>,
    pub(crate) site: String,
    pub(crate) ip: String,
    pub(crate) ga_client_id: String,
    pub(crate) current_page: String,
    pub(crate) user_agent: String,
    /// `utm_*`, `referrer`, `entry_point` as received.
    pub(crate) visit: Map<String, Value>,
    pub(crate) tags: Vec<String>,
}

/// A call's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) status: StatusPair,
    pub(crate) attempt: u32,
    pub(crate) duration_sec: u32,
    pub(crate) duration2_sec: u32,
}

impl Snapshot {
    pub(crate) fn duration_min(self) -> u32 {
        self.duration_sec.div_ceil(60)
    }
}

/// Durations, already multiplied by the time scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub(crate) time_scale: f64,
    pub(crate) call_seconds: u32,
}

impl Pace {
    pub(crate) fn scaled(self, sandbox_seconds: f64) -> Duration {
        Duration::try_from_secs_f64(sandbox_seconds.max(0.0) * self.time_scale)
            .unwrap_or(Duration::MAX)
    }
}

impl CallRecord {
    /// The call's state at `now`.
    pub(crate) fn snapshot(&self, now: SystemTime, pace: Pace) -> Snapshot {
        let at = |status, attempt| Snapshot {
            status,
            attempt,
            duration_sec: 0,
            duration2_sec: 0,
        };
        if let Some(refused) = self.refused {
            return at(refused, 0);
        }
        let attempt_length = pace.scaled(f64::from(pace.call_seconds));
        let mut start = self.first_start;
        let mut attempt: u32 = 1;
        loop {
            if now < start {
                return at(StatusPair::SCHEDULED, attempt - 1);
            }
            let end = start.checked_add(attempt_length).unwrap_or(start);
            if now < end {
                return at(StatusPair::IN_PROGRESS, attempt);
            }
            let status = planned_status(&self.client, attempt);
            let wait = self
                .interval
                .get(usize::try_from(attempt - 1).unwrap_or(usize::MAX));
            match wait {
                Some(minutes) if is_retried(status) => {
                    start = end
                        .checked_add(pace.scaled(f64::from(*minutes) * 60.0))
                        .unwrap_or(end);
                    attempt += 1;
                }
                _ => {
                    let (duration_sec, duration2_sec) = match status.outcome() {
                        Outcome::Success => (
                            pace.call_seconds,
                            pace.call_seconds.saturating_sub(RING_SECONDS),
                        ),
                        // The manager was connected and waited for the visitor.
                        Outcome::VisitorSideFailure => (pace.call_seconds, 0),
                        _ => (0, 0),
                    };
                    return Snapshot {
                        status,
                        attempt,
                        duration_sec,
                        duration2_sec,
                    };
                }
            }
        }
    }

    /// When the call is dated (`date`): the start of its first attempt.
    pub(crate) fn date_unix(&self) -> i64 {
        i64::try_from(UnixTime::from_system_time(self.first_start).as_secs()).unwrap_or(i64::MAX)
    }

    /// The documented call record.
    pub(crate) fn to_json(&self, now: SystemTime, pace: Pace) -> Value {
        let snapshot = self.snapshot(now, pace);
        let success = snapshot.status.outcome() == Outcome::Success && snapshot.status.is_final();
        let record_url = if success {
            format!("https://records.sandbox.invalid/{}.mp3", self.id)
        } else {
            String::new()
        };
        let tags = if self.tags.is_empty() {
            " ".to_owned()
        } else {
            self.tags.join(",")
        };
        json!({
            "id": self.id.to_string(),
            "visit_info": {
                "current": self.visit,
                "current_add": {},
                "first": self.visit,
                "first_add": {},
            },
            "session": { "pgs": 1, "cpg": self.current_page },
            "udata": { "vst": 1, "uag": self.user_agent },
            "status_code": snapshot.status.code,
            "status_reason": sip_reason(snapshot.status.code),
            "status2_code": snapshot.status.code2,
            "status2_reason": sip_reason(snapshot.status.code2),
            "ip": self.ip,
            "country": "",
            "city": "",
            "region": "",
            "district": "",
            "site": self.site,
            "ga_clientid": self.ga_client_id,
            "phone1": self.manager,
            "phone2": self.client,
            "widget_hash": self.widget_hash,
            "date": format_utc(self.date_unix()),
            "duration_sec": snapshot.duration_sec,
            "duration_min": snapshot.duration_min(),
            "duration2_sec": snapshot.duration2_sec,
            "duration2_min": snapshot.duration2_sec.div_ceil(60),
            "record_url": record_url,
            "attempt": snapshot.attempt,
            "a_type": if success { 1 } else { 0 },
            "playback_tick": 0,
            "tags": tags,
            "asr_attempts": 0,
        })
    }
}

/// The SIP reason phrase for a leg's code, as `status_reason` carries it.
fn sip_reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        410 => "Gone",
        480 => "Temporarily Unavailable",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(client: &str, interval: Vec<u32>) -> CallRecord {
        CallRecord {
            id: 1,
            account: 0,
            widget_hash: String::new(),
            client: client.to_owned(),
            manager: String::new(),
            created: SystemTime::UNIX_EPOCH,
            first_start: SystemTime::UNIX_EPOCH + Duration::from_secs(100),
            interval,
            refused: None,
            site: String::new(),
            ip: String::new(),
            ga_client_id: String::new(),
            current_page: String::new(),
            user_agent: String::new(),
            visit: Map::new(),
            tags: Vec::new(),
        }
    }

    const PACE: Pace = Pace {
        time_scale: 1.0,
        call_seconds: 30,
    };

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_call_is_scheduled_then_in_progress_then_final() {
        let call = record("79991234567", Vec::new());
        assert_eq!(call.snapshot(at(99), PACE).status, StatusPair::SCHEDULED);
        assert_eq!(call.snapshot(at(100), PACE).status, StatusPair::IN_PROGRESS);
        let done = call.snapshot(at(130), PACE);
        assert_eq!(
            (done.status, done.attempt, done.duration_sec),
            (StatusPair::SUCCESS, 1, 30)
        );
    }

    #[test]
    fn retries_wait_their_interval_and_count_attempts() {
        let call = record("79990000005", vec![5, 10]);
        assert_eq!(call.snapshot(at(129), PACE).status, StatusPair::IN_PROGRESS);
        let waiting = call.snapshot(at(131), PACE);
        assert_eq!(
            (waiting.status, waiting.attempt),
            (StatusPair::SCHEDULED, 1)
        );
        let second = call.snapshot(at(130 + 300), PACE);
        assert_eq!(
            (second.status, second.attempt),
            (StatusPair::IN_PROGRESS, 2)
        );
        let done = call.snapshot(at(130 + 300 + 30), PACE);
        assert_eq!((done.status, done.attempt), (StatusPair::SUCCESS, 2));
    }

    #[test]
    fn a_busy_visitor_exhausts_every_interval() {
        let call = record("79990000000", vec![1, 1]);
        let done = call.snapshot(at(100 + 30 + 60 + 30 + 60 + 30), PACE);
        assert_eq!((done.status, done.attempt), (StatusPair::new(200, 486), 3));
        let wrong = record("79990000004", vec![1, 1]).snapshot(at(130), PACE);
        assert_eq!(
            (wrong.status, wrong.attempt),
            (StatusPair::new(200, 404), 1)
        );
    }

    #[test]
    fn time_scale_shrinks_every_phase() {
        let fast = Pace {
            time_scale: 0.01,
            call_seconds: 30,
        };
        let call = record("79990000001", vec![5]);
        // 0.3 s per attempt, 3 s between attempts.
        assert_eq!(
            call.snapshot(at(100) + Duration::from_millis(200), fast)
                .status,
            StatusPair::IN_PROGRESS
        );
        assert_eq!(
            call.snapshot(at(100) + Duration::from_millis(400), fast)
                .status,
            StatusPair::SCHEDULED
        );
        assert_eq!(
            call.snapshot(at(104), fast).status,
            StatusPair::new(200, 487)
        );
    }

    #[test]
    fn every_planned_status_is_documented() {
        for suffix in 0..100 {
            for attempt in 1..3 {
                let pair = planned_status(&format!("799900000{suffix:02}"), attempt);
                assert!(pair.info().is_some(), "{pair}");
            }
        }
    }
}
