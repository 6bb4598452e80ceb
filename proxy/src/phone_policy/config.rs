//! A site's `[sites.<id>.phone]` table, and the [`PhonePolicy`] it builds.

use std::str::FromStr;

use serde::Deserialize;

use super::{NON_GEOGRAPHIC, NumberKind, PhonePolicy, PhoneRefusal, Region, parse};

/// A site's `[sites.<id>.phone]` table. Empty lists mean the defaults (an
/// empty allow-list would refuse every number, which nobody means).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhonePolicyConfig {
    /// ISO codes (`RU`, `BY`); `001` for non-geographic numbers. Default: the site's country.
    pub allowed_countries: Vec<String>,
    /// [`NumberKind::name`]s. Default: mobile, fixed_line, fixed_line_or_mobile.
    pub allowed_kinds: Vec<String>,
    /// Numbers in any spelling, read in the site's country.
    pub blocked_numbers: Vec<String>,
    /// Leading digits of the E.164 number, country code first (`7809`, `+882`).
    pub blocked_prefixes: Vec<String>,
}

/// A phone policy in the config that cannot be used; each names the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyConfigError {
    #[error("{0:?} is neither a country calling code (7, 375) nor an ISO region (RU)")]
    UnknownSiteCountry(String),
    #[error("{0:?} is not an ISO 3166 region code (RU, BY, KZ…) or 001")]
    UnknownRegion(String),
    #[error("{value:?} is not a number kind; use one of {choices}")]
    UnknownKind { value: String, choices: String },
    #[error("{value:?} is not a phone number ({reason})")]
    BlockedNumber { value: String, reason: PhoneRefusal },
    #[error("{0:?} must be digits of an international number, like 7809 or +882")]
    BlockedPrefix(String),
}

impl PolicyConfigError {
    /// The key at fault, relative to the site: `country_code`, or one of
    /// the `phone` table's (`phone.allowed_kinds`).
    pub fn key(&self) -> &'static str {
        match self {
            PolicyConfigError::UnknownSiteCountry(_) => "country_code",
            PolicyConfigError::UnknownRegion(_) => "phone.allowed_countries",
            PolicyConfigError::UnknownKind { .. } => "phone.allowed_kinds",
            PolicyConfigError::BlockedNumber { .. } => "phone.blocked_numbers",
            PolicyConfigError::BlockedPrefix(_) => "phone.blocked_prefixes",
        }
    }
}

impl PhonePolicyConfig {
    /// The policy for a site whose `country_code` is `site_country` (a calling
    /// code such as `7` or `375`, as today's config has it, or an ISO code).
    pub fn build(&self, site_country: &str) -> Result<PhonePolicy, PolicyConfigError> {
        let site = Region::for_calling_code(site_country)
            .or_else(|| Region::from_str(site_country).ok())
            .ok_or_else(|| PolicyConfigError::UnknownSiteCountry(site_country.to_owned()))?;
        let mut policy = PhonePolicy::for_country(site);

        if !self.allowed_countries.is_empty() {
            policy.allowed_regions.clear();
            for value in &self.allowed_countries {
                if value.trim() == NON_GEOGRAPHIC {
                    policy.allow_non_geographic = true;
                    continue;
                }
                let region = Region::from_str(value)
                    .map_err(|()| PolicyConfigError::UnknownRegion(value.clone()))?;
                if !policy.allowed_regions.contains(&region) {
                    policy.allowed_regions.push(region);
                }
            }
        }
        if !self.allowed_kinds.is_empty() {
            policy.allowed_kinds = self
                .allowed_kinds
                .iter()
                .map(|value| {
                    NumberKind::from_name(value.trim()).ok_or_else(|| {
                        PolicyConfigError::UnknownKind {
                            value: value.clone(),
                            choices: NumberKind::ALL.map(NumberKind::name).join(", "),
                        }
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        for value in &self.blocked_numbers {
            let number = parse(value, site).map_err(|reason| PolicyConfigError::BlockedNumber {
                value: value.clone(),
                reason,
            })?;
            policy.blocked_numbers.insert(number.digits());
        }
        for value in &self.blocked_prefixes {
            let digits = value.trim().trim_start_matches('+');
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PolicyConfigError::BlockedPrefix(value.clone()));
            }
            policy.blocked_prefixes.push(digits.to_owned());
        }
        Ok(policy)
    }
}
