//! Which phone numbers a site's callback form may make the company dial.
//!
//! A callback form dials whatever a stranger types, at the company's expense,
//! so the proxy reads every number the way a telephone exchange would and
//! decides before anything is stored or forwarded (issue 11, toll fraud):
//!
//! 1. [`parse`] turns what the visitor typed into one [`CanonicalNumber`]
//!    (E.164), whatever the spelling: `+7 999 123-45-67`, `8 (999) 123 45 67`,
//!    `00 7 999…`, `810 7 999…`, `7 999…`, `999 123 45 67` are one number.
//!    The numbering rules (country calling codes, international and trunk
//!    prefixes, which ranges are mobile, premium rate, toll-free…) are
//!    libphonenumber's metadata, bundled by the `phonenumber` crate.
//! 2. [`PhonePolicy::check`] says whether this site calls that number back:
//!    its country, its kind, and the numbers and prefixes the owner blocked.
//!    [`PhonePolicyConfig`] is the TOML side of a policy.
//!
//! The parts: this file (numbers, parsing, the policy), [`config`] (the
//! TOML table), `messages` (what the visitor reads), and the tests.
//!
//! What it must never do: log or show a number in clear (use
//! [`hash_for_logs`]; `Debug` of a [`CanonicalNumber`] is masked), or accept a
//! number libphonenumber does not know as valid.
//!
//! Why we do not call `phonenumber::parse` itself: with a region hint it
//! strips the hint's trunk prefix from international numbers too, so with
//! the hint `RU` the crate (0.3.10) reads `+7 812 …` (St Petersburg),
//! `+7 809 …` (premium rate) and `+1 800 …` as other, invalid numbers; and
//! its type check drops a national number's leading zero (Italy). Its
//! metadata is right, so this module walks libphonenumber's parsing steps
//! itself over that metadata (a few dozen lines: [`parse`], [`classify`]).
//!
//! Cost: a number of the site's country parses in a few microseconds, but
//! the crate compiles its patterns lazily and keeps only 100 of them for the
//! whole process (behind one mutex), so numbers from many countries cost
//! milliseconds each; [`PhonePolicy::accept`] refuses a foreign calling code
//! before classifying it, and the edge should use it.
//!
//! `+8 999 …` (a plus typed before Russia's trunk 8) is read as it is written
//! when that is a valid number somewhere, and only otherwise as the site's
//! national number written with a stray `+`: `+8 999 123-45-67` cannot be
//! international (no country code starts 89), so it is `+7 999 123-45-67`;
//! `+8 495 …` is a valid Vietnamese number (+84 95…) and stays one, so the
//! default policy refuses it with the country it was read as, and the visitor
//! sees what we understood. We never guess towards a number nobody typed.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use phonenumber::metadata::{DATABASE, Metadata};
use sha2::{Digest, Sha256};

/// The longest input looked at; a phone field needs far less.
const MAX_INPUT_CHARS: usize = 64;
/// E.164 allows 15 digits; an international prefix (`810`) adds 3.
const MAX_DIGITS: usize = 18;
/// libphonenumber's code for numbers of no country (+800, +870, +881, +882, +979…).
const NON_GEOGRAPHIC: &str = "001";
/// The ITU-recommended international prefix, used by most of the world, and
/// by Russian visitors who learned it abroad or on mobile phones.
const ITU_INTERNATIONAL_PREFIX: &str = "00";

mod config;
mod messages;

pub use config::{PhonePolicyConfig, PolicyConfigError};

/// A country or territory (ISO 3166-1 alpha-2) that libphonenumber has
/// metadata for; the code is the metadata's own key, so it is never a typo.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(&'static str);

impl Region {
    /// The region's ISO code, e.g. `RU`.
    pub fn code(self) -> &'static str {
        self.0
    }

    /// The main region of a country calling code (`"7"` → RU, `"375"` → BY,
    /// `"+1"` → US), as libphonenumber's metadata marks it. Today's site
    /// config stores a calling code, so this finds the site's own country.
    pub fn for_calling_code(calling_code: &str) -> Option<Self> {
        let code: u16 = calling_code.trim().trim_start_matches('+').parse().ok()?;
        let main = *DATABASE.region(&code)?.first()?;
        (main != NON_GEOGRAPHIC).then_some(Region(main))
    }

    /// The country calling code dialled for this region (RU → 7).
    pub fn calling_code(self) -> u16 {
        self.metadata().country_code()
    }

    fn metadata(self) -> &'static Metadata {
        DATABASE
            .by_id(self.0)
            .expect("a Region is only made from a key of the metadata")
    }
}

impl FromStr for Region {
    type Err = ();

    /// An ISO code in either case (`ru`, `RU`); `001` is not a region.
    fn from_str(code: &str) -> Result<Self, ()> {
        let upper = code.trim().to_ascii_uppercase();
        let meta = DATABASE.by_id(upper.as_str()).ok_or(())?;
        if meta.id() == NON_GEOGRAPHIC {
            return Err(());
        }
        Ok(Region(meta.id()))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What kind of line a number is, as libphonenumber classifies it.
///
/// `InternationalNetwork` is ours: libphonenumber calls satellite phones
/// (+870, +881) and international networks (+882, +883) "mobile" or
/// "fixed line", but they are billed like premium numbers and are a
/// favourite of toll fraud, so a non-geographic number is never an ordinary line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumberKind {
    Mobile,
    FixedLine,
    /// Where the two cannot be told apart by the number (USA, Canada).
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    /// "Universal access" company numbers.
    Uan,
    Voicemail,
    /// Satellite and international networks (+870, +881, +882, +883, +888…).
    InternationalNetwork,
    Unknown,
}

impl NumberKind {
    /// Every kind, for config errors that list the choices.
    pub const ALL: [NumberKind; 13] = [
        NumberKind::Mobile,
        NumberKind::FixedLine,
        NumberKind::FixedLineOrMobile,
        NumberKind::TollFree,
        NumberKind::PremiumRate,
        NumberKind::SharedCost,
        NumberKind::Voip,
        NumberKind::PersonalNumber,
        NumberKind::Pager,
        NumberKind::Uan,
        NumberKind::Voicemail,
        NumberKind::InternationalNetwork,
        NumberKind::Unknown,
    ];

    /// What a site calls back unless its config says otherwise.
    pub const DEFAULT_ALLOWED: [NumberKind; 3] = [
        NumberKind::Mobile,
        NumberKind::FixedLine,
        NumberKind::FixedLineOrMobile,
    ];

    /// The name used in the config and in metrics (`premium_rate`).
    pub fn name(self) -> &'static str {
        match self {
            NumberKind::Mobile => "mobile",
            NumberKind::FixedLine => "fixed_line",
            NumberKind::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberKind::TollFree => "toll_free",
            NumberKind::PremiumRate => "premium_rate",
            NumberKind::SharedCost => "shared_cost",
            NumberKind::Voip => "voip",
            NumberKind::PersonalNumber => "personal_number",
            NumberKind::Pager => "pager",
            NumberKind::Uan => "uan",
            NumberKind::Voicemail => "voicemail",
            NumberKind::InternationalNetwork => "international_network",
            NumberKind::Unknown => "unknown",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        NumberKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    fn from_libphonenumber(kind: phonenumber::Type) -> Self {
        use phonenumber::Type;
        match kind {
            Type::Mobile => NumberKind::Mobile,
            Type::FixedLine => NumberKind::FixedLine,
            Type::FixedLineOrMobile => NumberKind::FixedLineOrMobile,
            Type::TollFree => NumberKind::TollFree,
            Type::PremiumRate => NumberKind::PremiumRate,
            Type::SharedCost => NumberKind::SharedCost,
            Type::Voip => NumberKind::Voip,
            Type::PersonalNumber => NumberKind::PersonalNumber,
            Type::Pager => NumberKind::Pager,
            Type::Uan => NumberKind::Uan,
            Type::Voicemail => NumberKind::Voicemail,
            // Short codes, emergency and carrier codes are never full numbers.
            Type::Emergency
            | Type::ShortCode
            | Type::StandardRate
            | Type::Carrier
            | Type::NoInternational
            | Type::Unknown => NumberKind::Unknown,
        }
    }
}

impl fmt::Display for NumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A number as the exchange dials it: one value for every spelling.
/// Only [`parse`] makes one, so it is always valid under libphonenumber's rules.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CanonicalNumber {
    calling_code: u16,
    /// The national significant number: no trunk prefix, leading zeros kept (Italy).
    national: String,
    /// `None` for non-geographic numbers (+800, +882, +979…).
    region: Option<Region>,
    kind: NumberKind,
}

impl CanonicalNumber {
    /// E.164 digits without the `+`: `79991234567` (the form the store keeps).
    pub fn digits(&self) -> String {
        format!("{}{}", self.calling_code, self.national)
    }

    /// E.164 with its `+`: `+79991234567`. [`parse`] reads it back unchanged.
    pub fn e164(&self) -> String {
        format!("+{}{}", self.calling_code, self.national)
    }

    /// The country calling code: 7.
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// The number's country; `None` for non-geographic numbers.
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// Mobile, fixed line, premium rate…
    pub fn kind(&self) -> NumberKind {
        self.kind
    }
}

/// Masked, so a `?number` in a log line does not leak it.
impl fmt::Debug for CanonicalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail_from = self.national.len().saturating_sub(2);
        f.debug_struct("CanonicalNumber")
            .field(
                "e164",
                &format_args!("+{} …{}", self.calling_code, &self.national[tail_from..]),
            )
            .field("region", &self.region)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Why what the visitor typed could not be read as digits at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// No digits.
    Empty,
    /// A character a phone number is not written with (letters, `^`, `,`…).
    Character(char),
    /// More characters or digits than any phone number has.
    TooLong,
}

/// Why a number is not called back. The widget shows [`PhoneRefusal::message_ru`]
/// or [`PhoneRefusal::message_en`] on the phone field; logs and metrics use
/// [`PhoneRefusal::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneRefusal {
    /// Not written like a phone number.
    #[error("not a phone number: {0:?}")]
    Unparseable(Syntax),
    /// Digits, but no valid number under libphonenumber's rules (unknown
    /// country code, wrong length, an unassigned range).
    #[error("not a valid phone number")]
    Invalid,
    /// A valid number in a country this site does not call.
    #[error("numbers of +{calling_code} ({}) are not called back here", region_name(*.region))]
    CountryNotAllowed {
        region: Option<Region>,
        calling_code: u16,
        /// What the site does call, for the visitor's message.
        allowed: Vec<Region>,
    },
    /// A valid number of a kind this site does not call (premium rate…).
    #[error("{kind} numbers are not called back here")]
    KindNotAllowed { kind: NumberKind },
    /// The site's owner blocked this number or its prefix.
    #[error("this number is blocked")]
    Blocked,
}

fn region_name(region: Option<Region>) -> &'static str {
    region.map_or("international", Region::code)
}

/// Loads libphonenumber's metadata now rather than on the first visitor's
/// number (a few milliseconds; patterns are still compiled on first use).
/// Call it at startup.
pub fn load_metadata() {
    let _ = DATABASE.by_id("RU");
}

/// Reads what a visitor typed as one number, in the site's country when it
/// has no country code. Never panics, whatever the input.
///
/// The steps are libphonenumber's: an international prefix (`+`, `00`, or the
/// site country's own, `810` in Russia) means a country code follows;
/// otherwise the number is national, with or without the trunk prefix (`8`
/// in Russia) or the country code without its `+` (`7 999…`). A trunk prefix
/// after a country code (`+7 8 999…`) is dropped as libphonenumber does.
pub fn parse(input: &str, site_country: Region) -> Result<CanonicalNumber, PhoneRefusal> {
    let typed = Typed::read(input)?;
    let site = site_country.metadata();

    let international = if typed.plus {
        Some(
            typed
                .digits
                .strip_prefix(ITU_INTERNATIONAL_PREFIX)
                .unwrap_or(&typed.digits),
        )
    } else if let Some(rest) = typed.digits.strip_prefix(ITU_INTERNATIONAL_PREFIX) {
        Some(rest)
    } else {
        strip_international_prefix(site, &typed.digits)
    };

    if let Some(digits) = international {
        if let Some(number) = read_international(digits) {
            return Ok(number);
        }
        // An international prefix commits to an international number, as in
        // libphonenumber, except `+8 999…`: a plus typed before the trunk
        // prefix, read so only when the number cannot be read as written.
        if !(typed.plus && stray_plus(site, &typed.digits)) {
            return Err(PhoneRefusal::Invalid);
        }
    }
    read_national(site, &typed.digits).ok_or(PhoneRefusal::Invalid)
}

/// Whether a `+` may have been typed before the site country's trunk prefix.
fn stray_plus(site: &Metadata, digits: &str) -> bool {
    site.national_prefix()
        .is_some_and(|trunk| digits.starts_with(trunk))
}

/// The digits of the input, and whether it started with a plus.
struct Typed {
    plus: bool,
    digits: String,
}

impl Typed {
    fn read(input: &str) -> Result<Self, PhoneRefusal> {
        if input.chars().nth(MAX_INPUT_CHARS).is_some() {
            return Err(PhoneRefusal::Unparseable(Syntax::TooLong));
        }
        let mut plus = false;
        let mut digits = String::new();
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                // Fullwidth digits, as Japanese and Chinese keyboards type them.
                '\u{FF10}'..='\u{FF19}' => digits.push(
                    char::from_digit(u32::from(c) - 0xFF10, 10)
                        .expect("U+FF10 to U+FF19 are the digits 0 to 9"),
                ),
                '+' | '\u{FF0B}' if digits.is_empty() && !plus => plus = true,
                ' '
                | '\u{00A0}'
                | '\u{2009}'
                | '\u{202F}'
                | '\t'
                | '-'
                | '\u{2010}'..='\u{2015}'
                | '\u{2212}'
                | '('
                | ')'
                | '.'
                | '/'
                | '_' => {}
                other => return Err(PhoneRefusal::Unparseable(Syntax::Character(other))),
            }
        }
        if digits.is_empty() {
            return Err(PhoneRefusal::Unparseable(Syntax::Empty));
        }
        if digits.len() > MAX_DIGITS {
            return Err(PhoneRefusal::Unparseable(Syntax::TooLong));
        }
        Ok(Self { plus, digits })
    }
}

/// `810 7 999…` from Russia: the site country's own international prefix.
fn strip_international_prefix<'a>(site: &Metadata, digits: &'a str) -> Option<&'a str> {
    let found = site.international_prefix()?.find(digits)?;
    let rest = &digits[found.end()..];
    // libphonenumber: a country code never starts with 0.
    (found.start() == 0 && !rest.is_empty() && !rest.starts_with('0')).then_some(rest)
}

/// Digits after an international prefix: country code, then national number.
fn read_international(digits: &str) -> Option<CanonicalNumber> {
    // Country codes are prefix-free (ITU E.164), so the first match is the one.
    (1..=3).filter(|&len| len < digits.len()).find_map(|len| {
        let calling_code: u16 = digits[..len].parse().ok()?;
        let main = DATABASE.by_code(&calling_code)?.into_iter().next()?;
        let national = &digits[len..];
        let without_trunk = strip_national_prefix(main, national);
        without_trunk
            .iter()
            .map(String::as_str)
            .chain([national])
            .find_map(|candidate| classify(calling_code, candidate))
    })
}

/// Digits without a country code: the site's national number, possibly with
/// the trunk prefix (`8 999…`) or the country code without `+` (`7 999…`).
fn read_national(site: &Metadata, digits: &str) -> Option<CanonicalNumber> {
    let calling_code = site.country_code();
    let without_trunk = strip_national_prefix(site, digits);
    let national = without_trunk
        .iter()
        .map(String::as_str)
        .chain([digits])
        .find_map(|candidate| classify(calling_code, candidate));
    national.or_else(|| {
        digits
            .starts_with(&calling_code.to_string())
            .then(|| read_international(digits))?
    })
}

/// libphonenumber's `maybeStripNationalPrefixAndCarrierCode`: the number
/// without its trunk prefix, unless the prefix is really the start of a
/// valid-looking number (`809…` in Russia is premium rate, not `8` + `09…`).
fn strip_national_prefix(meta: &Metadata, national: &str) -> Option<String> {
    let general = meta.descriptors().general();
    let viable = general.is_match(national);
    let stripped = if let Some(pattern) = meta.national_prefix_for_parsing() {
        let captures = pattern.captures(national)?;
        let whole = captures.get(0)?;
        if whole.start() != 0 {
            return None;
        }
        let carrier_group = captures.len() > 1 && captures.get(captures.len() - 1).is_some();
        match meta.national_prefix_transform_rule() {
            Some(rule) if carrier_group => pattern.replace(national, rule).into_owned(),
            _ => national[whole.end()..].to_owned(),
        }
    } else {
        national.strip_prefix(meta.national_prefix()?)?.to_owned()
    };
    if stripped.is_empty() || (viable && !general.is_match(&stripped)) {
        return None;
    }
    Some(stripped)
}

/// The number's region and kind, or `None` when libphonenumber does not know
/// it as valid (what `isValidNumber` answers).
fn classify(calling_code: u16, national: &str) -> Option<CanonicalNumber> {
    let regions = DATABASE.region(&calling_code)?;
    let (region, meta) = if regions.first() == Some(&NON_GEOGRAPHIC) {
        (None, DATABASE.by_code(&calling_code)?.into_iter().next()?)
    } else {
        // libphonenumber's getRegionCodeForNumberFromRegionList: +7 is RU or KZ.
        regions.iter().find_map(|code| {
            let meta = DATABASE.by_id(*code)?;
            let belongs = match meta.leading_digits() {
                Some(leading) => leading.find(national).is_some_and(|m| m.start() == 0),
                None => number_type(meta, national) != phonenumber::Type::Unknown,
            };
            belongs.then_some((Some(Region(meta.id())), meta))
        })?
    };
    let kind = NumberKind::from_libphonenumber(number_type(meta, national));
    if kind == NumberKind::Unknown {
        return None;
    }
    let kind = match (region, kind) {
        (
            None,
            NumberKind::Mobile
            | NumberKind::FixedLine
            | NumberKind::FixedLineOrMobile
            | NumberKind::Voip,
        ) => NumberKind::InternationalNetwork,
        (_, kind) => kind,
    };
    Some(CanonicalNumber {
        calling_code,
        national: national.to_owned(),
        region,
        kind,
    })
}

/// libphonenumber's `getNumberTypeHelper`, in its order (premium rate before
/// toll-free before… fixed line and mobile last).
fn number_type(meta: &Metadata, national: &str) -> phonenumber::Type {
    use phonenumber::Type;
    let descriptors = meta.descriptors();
    if !descriptors.general().is_match(national) {
        return Type::Unknown;
    }
    let matches = |descriptor: Option<&phonenumber::metadata::Descriptor>| {
        descriptor.is_some_and(|d| d.is_match(national))
    };
    let special = [
        (descriptors.premium_rate(), Type::PremiumRate),
        (descriptors.toll_free(), Type::TollFree),
        (descriptors.shared_cost(), Type::SharedCost),
        (descriptors.voip(), Type::Voip),
        (descriptors.personal_number(), Type::PersonalNumber),
        (descriptors.pager(), Type::Pager),
        (descriptors.uan(), Type::Uan),
        (descriptors.voicemail(), Type::Voicemail),
    ];
    if let Some((_, kind)) = special.into_iter().find(|(d, _)| matches(*d)) {
        return kind;
    }
    let fixed_line = descriptors.fixed_line();
    let mobile = descriptors.mobile();
    if matches(fixed_line) {
        let same_pattern = fixed_line.map(|d| d.national_number().as_str())
            == mobile.map(|d| d.national_number().as_str());
        if same_pattern || matches(mobile) {
            return Type::FixedLineOrMobile;
        }
        return Type::FixedLine;
    }
    if matches(mobile) {
        return Type::Mobile;
    }
    Type::Unknown
}

/// Which numbers one site calls back. Built from [`PhonePolicyConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhonePolicy {
    /// The site's own country: national numbers are read in it.
    site_country: Region,
    allowed_regions: Vec<Region>,
    /// `001` in the config: non-geographic numbers (+800…) pass the country check.
    allow_non_geographic: bool,
    allowed_kinds: Vec<NumberKind>,
    /// E.164 digits.
    blocked_numbers: HashSet<String>,
    /// Leading E.164 digits.
    blocked_prefixes: Vec<String>,
}

impl PhonePolicy {
    /// The default: the site's own country; mobile and fixed lines.
    pub fn for_country(site_country: Region) -> Self {
        Self {
            site_country,
            allowed_regions: vec![site_country],
            allow_non_geographic: false,
            allowed_kinds: NumberKind::DEFAULT_ALLOWED.to_vec(),
            blocked_numbers: HashSet::new(),
            blocked_prefixes: Vec::new(),
        }
    }

    /// The country national numbers are read in.
    pub fn site_country(&self) -> Region {
        self.site_country
    }

    /// [`parse`] in the site's country, then [`PhonePolicy::check`]: what the
    /// HTTP edge should call.
    ///
    /// A number written with a country code this site never calls (`+44…` on
    /// a Russia-only site) is refused before it is classified: classifying
    /// compiles that country's patterns, and the crate keeps only 100
    /// compiled patterns for the whole process, so numbers from many
    /// countries would cost milliseconds each (see the report in the commit
    /// that added this module). It accepts exactly what `parse` then `check`
    /// accept, and refuses with the same reason, except that a number with a
    /// foreign calling code is refused for its country even when it is also
    /// invalid, and with its calling code's main region.
    pub fn accept(&self, input: &str) -> Result<CanonicalNumber, PhoneRefusal> {
        let typed = Typed::read(input)?;
        if let Some(calling_code) = self.foreign_calling_code(&typed) {
            return Err(PhoneRefusal::CountryNotAllowed {
                region: Region::for_calling_code(&calling_code.to_string()),
                calling_code,
                allowed: self.allowed_regions.clone(),
            });
        }
        let number = parse(input, self.site_country)?;
        self.check(&number)?;
        Ok(number)
    }

    /// The calling code of a number written with an international prefix,
    /// when none of this site's countries has it. `None` when the number may
    /// still be read in the site's country (`+8 999…`, see [`parse`]).
    fn foreign_calling_code(&self, typed: &Typed) -> Option<u16> {
        let site = self.site_country.metadata();
        let international = if typed.plus {
            if stray_plus(site, &typed.digits) {
                return None;
            }
            typed
                .digits
                .strip_prefix(ITU_INTERNATIONAL_PREFIX)
                .unwrap_or(&typed.digits)
        } else if let Some(rest) = typed.digits.strip_prefix(ITU_INTERNATIONAL_PREFIX) {
            rest
        } else {
            strip_international_prefix(site, &typed.digits)?
        };
        let calling_code = (1..=3)
            .filter(|&len| len < international.len())
            .find_map(|len| {
                let code: u16 = international[..len].parse().ok()?;
                DATABASE.region(&code).map(|regions| (code, regions))
            });
        let (code, regions) = calling_code?;
        let allowed = regions.iter().any(|region| {
            if *region == NON_GEOGRAPHIC {
                self.allow_non_geographic
            } else {
                self.allowed_regions.iter().any(|r| r.code() == *region)
            }
        });
        (!allowed).then_some(code)
    }

    /// Whether this site calls `number` back. Blocks first: an owner's block
    /// is the most specific reason (but [`PhonePolicy::accept`] refuses a
    /// foreign calling code before it reads the number).
    pub fn check(&self, number: &CanonicalNumber) -> Result<(), PhoneRefusal> {
        let digits = number.digits();
        if self.blocked_numbers.contains(&digits)
            || self.blocked_prefixes.iter().any(|p| digits.starts_with(p))
        {
            return Err(PhoneRefusal::Blocked);
        }
        let country_allowed = match number.region {
            Some(region) => self.allowed_regions.contains(&region),
            None => self.allow_non_geographic,
        };
        if !country_allowed {
            return Err(PhoneRefusal::CountryNotAllowed {
                region: number.region,
                calling_code: number.calling_code,
                allowed: self.allowed_regions.clone(),
            });
        }
        if !self.allowed_kinds.contains(&number.kind) {
            return Err(PhoneRefusal::KindNotAllowed { kind: number.kind });
        }
        Ok(())
    }
}

/// Whether `other` (a number as CallKeeper reports it, in any spelling) is
/// the number stored as E.164 digits `stored`: both read by libphonenumber's
/// rules in the stored number's country, so `8 999…` on CallKeeper's side is
/// the stored `7999…`. Falls back to comparing digits when `other` cannot be read.
pub fn same_number(stored: &str, other: &str) -> bool {
    let region = (1..=3)
        .filter(|&len| len < stored.len())
        .find_map(|len| Region::for_calling_code(&stored[..len]));
    let other_digits = || {
        other
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    match region.map(|region| parse(other, region)) {
        Some(Ok(number)) => number.digits() == stored,
        _ => other_digits() == stored,
    }
}

/// A short, salted fingerprint of a number for log lines and metrics labels:
/// the same number gives the same hash within one salt, and the hash does not
/// give the number back (a bare hash of an 11-digit number would: 10¹¹ tries).
/// Keep the salt secret (per process, or from the config to compare across
/// restarts and replicas).
pub fn hash_for_logs(number: &CanonicalNumber, salt: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(b"\0");
    hasher.update(number.digits().as_bytes());
    let mut hex = hex::encode(hasher.finalize());
    hex.truncate(16);
    hex
}

#[cfg(test)]
mod tests;
