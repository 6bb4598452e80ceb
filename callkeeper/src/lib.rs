//! Everything about the upstream CallKeeper telephony API
//! (<https://api.callkeeper.ru>): a typed [`Client`] for its named methods,
//! the values its parameters carry, its call-status table, and (feature
//! `sandbox`, on by default) a local imitation of the API for tests and
//! demos.
//!
//! The contract is CallKeeper's own document (`shared/callkeeper-api.md`):
//! parameter names, PHP `http_build_query` bracket encoding, the `apiak` /
//! `api_key` split, the failure reasons with their HTTP codes (including the
//! non-standard 710) and the `status_code`/`status2_code` table.
//!
//! This crate must never print or log the Profile key: [`ApiKey`] hides it
//! in `Debug` and `Display`, requests carry it only in POST bodies, and
//! [`Error`] never holds a URL or a body.
//!
//! | method | client function |
//! | --- | --- |
//! | `orderCall` | [`Client::order_call`] |
//! | `makeCalls` | [`Client::make_calls`] |
//! | `getCallInfo` | [`Client::get_call_info`] |
//! | `getCallsInfo` | [`Client::get_calls_info`] |
//! | `getCallsCompleted` | [`Client::get_calls_completed`] |
//! | `getCallsByStatus` | [`Client::get_calls_by_status`] |
//! | `getUserInfo` | [`Client::get_user_info`] |
//! | `createWidget` | [`Client::create_widget`] |
//! | `deleteWidget` | [`Client::delete_widget`] |
//! | `getT2C` | [`Client::get_t2c`] |
//! | `tag` (`action=set`) | [`Client::set_tag`] |

mod client;
mod error;
mod model;
pub mod php_query;
mod status_table;
mod values;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use client::{
    CONNECT_TIMEOUT, Client, HttpMethod, InsecureUrl, PRODUCTION_URL, REQUEST_TIMEOUT,
    check_base_url,
};
pub use error::{Error, ErrorClass, reasons};
pub use model::{
    CallInfo, CallOrder, CreateWidget, CreatedWidget, MakeCalls, OrderCall, OrderedCall, Session,
    UserData, UserInfo, Utm, UtmType, VisitInfo,
};
pub use protocol::PhoneNumber;
pub use status_table::{Outcome, STATUS_TABLE, StatusInfo, StatusPair};
pub use values::{
    ApiKey, CallId, Credentials, DateRange, DayHours, Interval, Manager, OpeningHours, UnixTime,
    Utc, ValueError, W3cDate, Weekday, WidgetRef,
};
