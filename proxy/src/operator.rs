//! What an operator does with leads from the command line:
//! `proxy leads list`, `proxy leads export` (CSV) and `proxy leads resend`.
//!
//! Phone numbers are printed masked in `list` (a terminal is not a database);
//! `export` writes them whole, for the CRM the operator feeds.

use std::io::Write;

use callkeeper::W3cDate;

use crate::clock::{Clock, millis};
use crate::lead::{Lead, LeadState};
use crate::store::{LeadFilter, Store, StoreError};

/// Columns of the CSV export.
const CSV_HEADER: &str = "id,site,created_at,state,reason,phone,current_page,referrer,utm_source,utm_medium,utm_campaign,consent_version,attempts";

/// Prints leads as a table, newest first.
pub async fn list(
    store: &Store,
    state: Option<LeadState>,
    limit: i64,
    out: &mut impl Write,
) -> Result<(), OperatorError> {
    let leads = store.list(state, limit).await?;
    writeln!(
        out,
        "{:<32}  {:<12}  {:<20}  {:<11}  {:<15}  reason",
        "id", "site", "created (UTC)", "state", "phone"
    )?;
    for lead in &leads {
        writeln!(
            out,
            "{:<32}  {:<12}  {:<20}  {:<11}  {:<15}  {}",
            lead.id,
            lead.site,
            timestamp(lead.created_at),
            lead.state.as_str(),
            mask(&lead.phone),
            lead.reason.as_deref().unwrap_or("")
        )?;
    }
    writeln!(out, "{} lead(s)", leads.len())?;
    Ok(())
}

/// Writes the leads `filter` keeps as CSV (RFC 4180), newest first: `proxy
/// leads export` (filtered by state) and the console's download (by the
/// owner's sites too) write this same file.
pub async fn export_csv(
    store: &Store,
    filter: &LeadFilter,
    out: &mut impl Write,
) -> Result<usize, OperatorError> {
    let leads = store.list_where(filter, 0, i64::MAX).await?;
    writeln!(out, "{CSV_HEADER}")?;
    for lead in &leads {
        writeln!(out, "{}", csv_row(lead))?;
    }
    Ok(leads.len())
}

/// Puts halted leads back in line: one by id, or all of them. A lead that
/// CallKeeper already has a call id for stays halted unless `force` (its
/// visitor may have been called already; see [`Store::resend_halted`]).
pub async fn resend(
    store: &Store,
    id: Option<&str>,
    deadline: std::time::Duration,
    force: bool,
    clock: &dyn Clock,
) -> Result<crate::store::Resent, OperatorError> {
    let now = clock.now_ms();
    let deadline_at = now.saturating_add(millis(deadline));
    Ok(store.resend_halted(id, now, deadline_at, force).await?)
}

/// Creates (or truncates) `path` for an export, readable by its owner only
/// (0600): an export holds full phone numbers.
pub fn create_private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // An existing file keeps its mode on open: narrow it too.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}

/// An operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
}

fn csv_row(lead: &Lead) -> String {
    let context = &lead.request.context;
    let phone = if lead.phone.is_empty() {
        String::new()
    } else {
        format!("+{}", lead.phone)
    };
    let fields = [
        lead.id.clone(),
        lead.site.clone(),
        timestamp(lead.created_at),
        lead.state.as_str().to_owned(),
        lead.reason.clone().unwrap_or_default(),
        phone.clone(),
        context.current_page.clone().unwrap_or_default(),
        context.referrer.clone().unwrap_or_default(),
        context.utm.source.clone().unwrap_or_default(),
        context.utm.medium.clone().unwrap_or_default(),
        context.utm.campaign.clone().unwrap_or_default(),
        lead.consent()
            .map(|(version, _)| version.to_owned())
            .unwrap_or_default(),
        lead.attempts.to_string(),
    ];
    fields
        .iter()
        // The phone column is ours (digits after a +); every other text may be the visitor's.
        .map(|f| {
            if *f == phone && !phone.is_empty() {
                f.clone()
            } else {
                csv_field(f)
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Quotes a field when it needs it; neutralises spreadsheet formulas.
fn csv_field(value: &str) -> String {
    // A cell starting with = + - @ (or a tab or CR) is run as a formula by
    // spreadsheets (CSV injection); a leading apostrophe keeps it text.
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn timestamp(unix_ms: i64) -> String {
    W3cDate::from_unix(unix_ms.div_euclid(1000)).to_string()
}

fn mask(phone: &str) -> String {
    protocol::PhoneNumber::from_digits(phone)
        .map(|p| p.masked())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@cmd"), "'@cmd");
        assert_eq!(csv_field("+1+cmd|' /C calc'!A0"), "'+1+cmd|' /C calc'!A0");
        assert_eq!(csv_field("\tx"), "'\tx");
    }

    #[test]
    fn timestamps_are_utc_w3c() {
        assert_eq!(timestamp(1_700_000_000_000), "2023-11-14T22:13:20Z");
    }
}
