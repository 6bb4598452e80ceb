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
//! One file past 800 lines: it was written to land beside the proxy's
//! reshape without touching other files, and nearly half of it is tests; the
//! visitor messages and the tests are the natural parts to split out when
//! it is wired in.
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
use serde::Deserialize;
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

impl PhoneRefusal {
    /// A stable snake_case name for metrics and log lines.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneRefusal::Unparseable(_) => "unparseable",
            PhoneRefusal::Invalid => "invalid",
            PhoneRefusal::CountryNotAllowed { .. } => "country_not_allowed",
            PhoneRefusal::KindNotAllowed { .. } => "kind_not_allowed",
            PhoneRefusal::Blocked => "blocked",
        }
    }

    /// What the visitor reads under the field, in Russian.
    pub fn message_ru(&self) -> String {
        match self {
            PhoneRefusal::Unparseable(Syntax::Empty) => "Введите номер телефона.".to_owned(),
            PhoneRefusal::Unparseable(Syntax::Character(c)) => {
                format!("В номере телефона не может быть символа «{c}»: только цифры и + ( ) -.")
            }
            PhoneRefusal::Unparseable(Syntax::TooLong) => {
                "Слишком длинный номер: проверьте, что введён один номер.".to_owned()
            }
            PhoneRefusal::Invalid => {
                "Такого номера не существует: проверьте код страны и количество цифр.".to_owned()
            }
            PhoneRefusal::CountryNotAllowed {
                region,
                calling_code,
                allowed,
            } => format!(
                "Мы не перезваниваем на номера +{calling_code} ({}). Укажите номер: {}.",
                region_name(*region),
                allowed_list(allowed)
            ),
            PhoneRefusal::KindNotAllowed { kind } => format!(
                "Мы не перезваниваем на {}. Укажите мобильный или городской номер.",
                kind_ru(*kind)
            ),
            PhoneRefusal::Blocked => {
                "На этот номер мы перезвонить не можем. Укажите другой номер.".to_owned()
            }
        }
    }

    /// What the visitor reads under the field, in English.
    pub fn message_en(&self) -> String {
        match self {
            PhoneRefusal::Unparseable(Syntax::Empty) => "Enter your phone number.".to_owned(),
            PhoneRefusal::Unparseable(Syntax::Character(c)) => {
                format!("A phone number cannot contain “{c}”: only digits and + ( ) -.")
            }
            PhoneRefusal::Unparseable(Syntax::TooLong) => {
                "This is too long for a phone number: enter one number.".to_owned()
            }
            PhoneRefusal::Invalid => {
                "This number does not exist: check the country code and the number of digits."
                    .to_owned()
            }
            PhoneRefusal::CountryNotAllowed {
                region,
                calling_code,
                allowed,
            } => format!(
                "We do not call +{calling_code} numbers ({}). Enter a number in: {}.",
                region_name(*region),
                allowed_list(allowed)
            ),
            PhoneRefusal::KindNotAllowed { kind } => format!(
                "We do not call {}. Enter a mobile or landline number.",
                kind_en(*kind)
            ),
            PhoneRefusal::Blocked => "We cannot call this number. Enter another number.".to_owned(),
        }
    }

    /// [`PhoneRefusal::message_ru`] for a `ru…` locale, English otherwise.
    pub fn message(&self, locale: &str) -> String {
        if locale.starts_with("ru") {
            self.message_ru()
        } else {
            self.message_en()
        }
    }
}

fn allowed_list(allowed: &[Region]) -> String {
    let codes: Vec<String> = allowed
        .iter()
        .map(|region| format!("{region} (+{})", region.calling_code()))
        .collect();
    codes.join(", ")
}

fn kind_ru(kind: NumberKind) -> &'static str {
    match kind {
        NumberKind::Mobile => "мобильные номера",
        NumberKind::FixedLine => "городские номера",
        NumberKind::FixedLineOrMobile => "такие номера",
        NumberKind::TollFree => "бесплатные номера 8-800",
        NumberKind::PremiumRate => "платные номера",
        NumberKind::SharedCost => "номера с разделяемой оплатой",
        NumberKind::Voip => "IP-телефонию",
        NumberKind::PersonalNumber => "персональные номера",
        NumberKind::Pager => "пейджеры",
        NumberKind::Uan => "единые номера компаний",
        NumberKind::Voicemail => "голосовую почту",
        NumberKind::InternationalNetwork => "спутниковые и международные сети",
        NumberKind::Unknown => "номера неизвестного типа",
    }
}

fn kind_en(kind: NumberKind) -> &'static str {
    match kind {
        NumberKind::Mobile => "mobile numbers",
        NumberKind::FixedLine => "landlines",
        NumberKind::FixedLineOrMobile => "these numbers",
        NumberKind::TollFree => "toll-free numbers",
        NumberKind::PremiumRate => "premium-rate numbers",
        NumberKind::SharedCost => "shared-cost numbers",
        NumberKind::Voip => "VoIP numbers",
        NumberKind::PersonalNumber => "personal numbers",
        NumberKind::Pager => "pagers",
        NumberKind::Uan => "company access numbers",
        NumberKind::Voicemail => "voicemail",
        NumberKind::InternationalNetwork => "satellite or international network numbers",
        NumberKind::Unknown => "numbers of unknown type",
    }
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
    #[error(
        "country_code: {0:?} is neither a country calling code (7, 375) nor an ISO region (RU)"
    )]
    UnknownSiteCountry(String),
    #[error("allowed_countries: {0:?} is not an ISO 3166 region code (RU, BY, KZ…) or 001")]
    UnknownRegion(String),
    #[error("allowed_kinds: {value:?} is not a number kind; use one of {choices}")]
    UnknownKind { value: String, choices: String },
    #[error("blocked_numbers: {value:?} is not a phone number ({reason})")]
    BlockedNumber { value: String, reason: PhoneRefusal },
    #[error("blocked_prefixes: {0:?} must be digits of an international number, like 7809 or +882")]
    BlockedPrefix(String),
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
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn region(code: &str) -> Region {
        Region::from_str(code).expect("a region in libphonenumber's metadata")
    }

    fn ru(input: &str) -> Result<CanonicalNumber, PhoneRefusal> {
        parse(input, region("RU"))
    }

    fn e164(input: &str, site: &str) -> String {
        match parse(input, region(site)) {
            Ok(number) => number.e164(),
            Err(refusal) => panic!("{input:?} in {site}: {refusal}"),
        }
    }

    #[test]
    fn every_spelling_of_a_russian_mobile_is_one_number() {
        let spellings = [
            "+7 999 123-45-67",
            "+79991234567",
            "8 (999) 123 45 67",
            "8-999-123-45-67",
            "89991234567",
            "00 7 999 123 45 67",
            "007 999 1234567",
            "810 7 999 123 45 67",
            "8 10 7 999 123-45-67",
            "+8 999 123 45 67",
            "+7 8 999 123 45 67",
            "7 999 123 45 67",
            "999 123 45 67",
            "9991234567",
            "+7 (999) 123\u{2013}45\u{2013}67",
            "+7\u{00A0}999\u{00A0}123\u{00A0}45\u{00A0}67",
            "\u{FF0B}\u{FF17} \u{FF19}\u{FF19}\u{FF19} 123 45 67",
        ];
        for spelling in spellings {
            assert_eq!(e164(spelling, "RU"), "+79991234567", "{spelling:?}");
        }
        let number = ru("8 999 123 45 67").expect("a valid mobile");
        assert_eq!(number.digits(), "79991234567");
        assert_eq!(number.calling_code(), 7);
        assert_eq!(number.region(), Some(region("RU")));
        assert_eq!(number.kind(), NumberKind::Mobile);
    }

    #[test]
    fn every_spelling_of_a_landline_is_one_number_even_where_the_area_code_starts_with_8() {
        for (spellings, expected) in [
            (
                &[
                    "+7 495 123-45-67",
                    "8 (495) 123-45-67",
                    "495 123 45 67",
                    "00 7 495 1234567",
                    "810 7 495 123 45 67",
                    "7 495 123 45 67",
                ][..],
                "+74951234567",
            ),
            // St Petersburg: the crate's own parser drops this 8 as a trunk prefix.
            (
                &[
                    "+7 812 123-45-67",
                    "8 812 123-45-67",
                    "812 123 45 67",
                    "7 812 123 45 67",
                ][..],
                "+78121234567",
            ),
        ] {
            for spelling in spellings {
                assert_eq!(e164(spelling, "RU"), expected, "{spelling:?}");
                assert_eq!(ru(spelling).map(|n| n.kind()), Ok(NumberKind::FixedLine));
            }
        }
    }

    #[test]
    fn a_plus_before_the_trunk_prefix_is_read_as_written_when_that_is_a_number() {
        // +84 95 123 4567 is a Vietnamese number: we do not move it to Moscow.
        let read = ru("+8 495 123 45 67").expect("a valid Vietnamese number");
        assert_eq!(read.region(), Some(region("VN")));
        let refusal = PhonePolicy::for_country(region("RU"))
            .check(&read)
            .expect_err("VN is not RU");
        assert_eq!(refusal.code(), "country_not_allowed");
        assert!(
            refusal.message_ru().contains("+84"),
            "{}",
            refusal.message_ru()
        );
        // +882 1234 5678 is no number, but 8 821 234-56-78 (Syktyvkar) is.
        assert_eq!(e164("+882 1234 5678", "RU"), "+78212345678");
        // Only the site's trunk prefix is a stray: +999… stays invalid.
        assert_eq!(ru("+999 123 45 67"), Err(PhoneRefusal::Invalid));
    }

    #[test]
    fn other_countries_use_their_own_trunk_and_international_prefixes() {
        assert_eq!(e164("8 029 123-45-67", "BY"), "+375291234567");
        assert_eq!(e164("+375 29 123 45 67", "RU"), "+375291234567");
        assert_eq!(e164("8 701 123 45 67", "KZ"), "+77011234567");
        assert_eq!(e164("020 7946 0018", "GB"), "+442079460018");
        assert_eq!(e164("011 44 20 7946 0018", "US"), "+442079460018");
        assert_eq!(e164("(201) 555-0123", "US"), "+12015550123");
        // Italy keeps the leading zero of its landlines.
        assert_eq!(e164("+39 06 1234 5678", "RU"), "+390612345678");
        // +7 7xx is Kazakhstan, even when a Russian site reads it.
        assert_eq!(
            ru("+7 701 123 45 67").map(|n| n.region()),
            Ok(Some(region("KZ")))
        );
    }

    #[test]
    fn premium_satellite_and_toll_free_ranges_are_classified_and_refused_by_default() {
        let cases = [
            ("7809 123 45 67", NumberKind::PremiumRate),
            ("8 809 123 45 67", NumberKind::PremiumRate),
            ("+7 809 123 45 67", NumberKind::PremiumRate),
            ("8 800 555 35 35", NumberKind::TollFree),
            ("+979 123 456 789", NumberKind::PremiumRate),
            ("+882 34 851234567", NumberKind::Voicemail),
            ("+882 390 123 456 789", NumberKind::InternationalNetwork),
            ("+882 342 1234", NumberKind::InternationalNetwork),
            ("+883 510 012 345", NumberKind::InternationalNetwork),
            ("+881 612 345 678", NumberKind::InternationalNetwork),
            ("+870 301 234 567", NumberKind::InternationalNetwork),
            ("+800 1234 5678", NumberKind::TollFree),
        ];
        let default = PhonePolicy::for_country(region("RU"));
        // Even a site that opens every country still refuses these kinds.
        let open = PhonePolicyConfig {
            allowed_countries: vec!["RU".to_owned(), "001".to_owned()],
            ..PhonePolicyConfig::default()
        }
        .build("7")
        .expect("a valid config");
        for (spelling, kind) in cases {
            let number = ru(spelling).unwrap_or_else(|refusal| panic!("{spelling}: {refusal}"));
            assert_eq!(number.kind(), kind, "{spelling}");
            assert!(default.check(&number).is_err(), "{spelling}");
            assert_eq!(
                open.check(&number),
                Err(PhoneRefusal::KindNotAllowed { kind }),
                "{spelling}"
            );
        }
        assert_eq!(ru("+979 123 456 789").map(|n| n.region()), Ok(None));
    }

    #[test]
    fn numbers_libphonenumber_does_not_know_are_refused_as_invalid() {
        for input in [
            "+7 999 123 45 6",
            "+7 (999) 1234567 8",
            "12",
            "+999 123 45 67",
            "+0 999 123 45 67",
            "+979 0 1234 5678",
            "00 0 999 123 45 67",
            "8 603 123 45 67",
        ] {
            assert_eq!(ru(input), Err(PhoneRefusal::Invalid), "{input:?}");
        }
    }

    #[test]
    fn what_is_not_written_like_a_number_says_what_is_wrong() {
        assert_eq!(ru(""), Err(PhoneRefusal::Unparseable(Syntax::Empty)));
        assert_eq!(ru(" ( ) - "), Err(PhoneRefusal::Unparseable(Syntax::Empty)));
        assert_eq!(
            ru("+7 999 123-45-67^12"),
            Err(PhoneRefusal::Unparseable(Syntax::Character('^')))
        );
        assert_eq!(
            ru("call me: 8 999"),
            Err(PhoneRefusal::Unparseable(Syntax::Character('c')))
        );
        assert_eq!(
            ru("+7 999 +123 45 67"),
            Err(PhoneRefusal::Unparseable(Syntax::Character('+')))
        );
        assert_eq!(
            ru(&"9".repeat(19)),
            Err(PhoneRefusal::Unparseable(Syntax::TooLong))
        );
        assert_eq!(
            ru(&" ".repeat(65)),
            Err(PhoneRefusal::Unparseable(Syntax::TooLong))
        );
    }

    #[test]
    fn a_site_calls_its_own_country_unless_configured_otherwise() {
        let belarus = ru("+375 29 123 45 67").expect("a valid number");
        let default = PhonePolicyConfig::default().build("7").expect("defaults");
        assert_eq!(
            default.check(&belarus),
            Err(PhoneRefusal::CountryNotAllowed {
                region: Some(region("BY")),
                calling_code: 375,
                allowed: vec![region("RU")],
            })
        );
        assert_eq!(
            default.accept("8 999 123 45 67").map(|n| n.digits()),
            Ok("79991234567".to_owned())
        );

        let both = PhonePolicyConfig {
            allowed_countries: vec!["ru".to_owned(), "BY".to_owned()],
            ..PhonePolicyConfig::default()
        }
        .build("7")
        .expect("a valid config");
        assert_eq!(both.check(&belarus), Ok(()));
        // A Belarusian site reads national numbers in Belarus.
        let minsk = PhonePolicyConfig::default().build("375").expect("defaults");
        assert_eq!(minsk.site_country(), region("BY"));
        assert_eq!(minsk.accept("8 029 123 45 67"), Ok(belarus));
    }

    #[test]
    fn an_owner_blocks_numbers_in_any_spelling_and_prefixes() {
        let policy = PhonePolicyConfig {
            blocked_numbers: vec!["8 (999) 123-45-67".to_owned()],
            blocked_prefixes: vec!["+7 999 00".replace(' ', ""), "7998".to_owned()],
            ..PhonePolicyConfig::default()
        }
        .build("7")
        .expect("a valid config");
        for input in [
            "+7 999 123 45 67",
            "00 7 999 1234567",
            "999 001 22 33",
            "8 998 765 43 21",
        ] {
            assert_eq!(policy.accept(input), Err(PhoneRefusal::Blocked), "{input}");
        }
        assert!(policy.accept("8 999 123 45 68").is_ok());
    }

    #[test]
    fn config_errors_name_the_offending_value() {
        let build = |config: PhonePolicyConfig| config.build("7").expect_err("a bad config");
        let region_error = build(PhonePolicyConfig {
            allowed_countries: vec!["RU".to_owned(), "XX".to_owned()],
            ..PhonePolicyConfig::default()
        });
        assert_eq!(
            region_error,
            PolicyConfigError::UnknownRegion("XX".to_owned())
        );
        assert!(region_error.to_string().contains("\"XX\""));

        let kind_error = build(PhonePolicyConfig {
            allowed_kinds: vec!["mobile".to_owned(), "premium".to_owned()],
            ..PhonePolicyConfig::default()
        });
        assert!(
            matches!(&kind_error, PolicyConfigError::UnknownKind { value, .. } if value == "premium")
        );
        assert!(
            kind_error.to_string().contains("premium_rate"),
            "{kind_error}"
        );

        let number_error = build(PhonePolicyConfig {
            blocked_numbers: vec!["12".to_owned()],
            ..PhonePolicyConfig::default()
        });
        assert_eq!(
            number_error,
            PolicyConfigError::BlockedNumber {
                value: "12".to_owned(),
                reason: PhoneRefusal::Invalid
            }
        );
        for prefix in ["78a", "", "+", "7 99"] {
            assert_eq!(
                build(PhonePolicyConfig {
                    blocked_prefixes: vec![prefix.to_owned()],
                    ..PhonePolicyConfig::default()
                }),
                PolicyConfigError::BlockedPrefix(prefix.to_owned())
            );
        }
        assert_eq!(
            PhonePolicyConfig::default().build("999"),
            Err(PolicyConfigError::UnknownSiteCountry("999".to_owned()))
        );
        let unknown_key =
            serde_json::from_str::<PhonePolicyConfig>(r#"{"allowed_country":["RU"]}"#);
        assert!(unknown_key.is_err());
        let partial: PhonePolicyConfig =
            serde_json::from_str(r#"{"allowed_kinds":["mobile"]}"#).expect("other keys default");
        assert_eq!(partial.allowed_kinds, ["mobile"]);
        assert!(partial.allowed_countries.is_empty());
    }

    #[test]
    fn calling_codes_map_to_their_main_region() {
        assert_eq!(Region::for_calling_code("7"), Some(region("RU")));
        assert_eq!(Region::for_calling_code("+375"), Some(region("BY")));
        assert_eq!(Region::for_calling_code("1"), Some(region("US")));
        assert_eq!(Region::for_calling_code("44"), Some(region("GB")));
        assert_eq!(Region::for_calling_code("800"), None);
        assert_eq!(Region::for_calling_code("999"), None);
        assert_eq!(Region::for_calling_code("seven"), None);
        assert_eq!(region("ru").calling_code(), 7);
        assert!(Region::from_str("001").is_err());
    }

    #[test]
    fn logs_get_a_salted_hash_and_a_masked_debug_never_the_number() {
        let number = ru("+7 999 123 45 67").expect("a valid number");
        let same = ru("8 999 123 45 67").expect("a valid number");
        let hash = hash_for_logs(&number, b"salt");
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hash, hash_for_logs(&same, b"salt"));
        assert_ne!(hash, hash_for_logs(&number, b"other salt"));
        let other = ru("+7 999 123 45 68").expect("a valid number");
        assert_ne!(hash, hash_for_logs(&other, b"salt"));
        let debug = format!("{number:?}");
        assert!(!debug.contains("9991234567"), "{debug}");
        assert!(debug.contains("…67"), "{debug}");
    }

    #[test]
    fn every_refusal_has_a_stable_code_and_a_message_in_both_languages() {
        let refusals = [
            PhoneRefusal::Unparseable(Syntax::Empty),
            PhoneRefusal::Unparseable(Syntax::Character('^')),
            PhoneRefusal::Unparseable(Syntax::TooLong),
            PhoneRefusal::Invalid,
            PhoneRefusal::CountryNotAllowed {
                region: None,
                calling_code: 882,
                allowed: vec![region("RU"), region("BY")],
            },
            PhoneRefusal::KindNotAllowed {
                kind: NumberKind::PremiumRate,
            },
            PhoneRefusal::Blocked,
        ];
        let codes: HashSet<&str> = refusals.iter().map(PhoneRefusal::code).collect();
        assert_eq!(codes.len(), 5);
        for refusal in &refusals {
            let code = refusal.code();
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            let ru = refusal.message("ru");
            assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{ru}");
            assert_eq!(ru, refusal.message_ru());
            let en = refusal.message("en-GB");
            assert!(!en.chars().any(|c| ('а'..='я').contains(&c)), "{en}");
            assert_eq!(en, refusal.message_en());
        }
        let country = &refusals[4];
        assert!(
            country.message_en().contains("RU (+7), BY (+375)"),
            "{}",
            country.message_en()
        );
        assert!(refusals[5].message_ru().contains("платные"));
    }

    /// Every example number in libphonenumber's metadata (about 2,000), with
    /// its calling code and region (`None`: non-geographic).
    fn metadata_examples() -> Vec<(u16, String, Option<Region>)> {
        let mut examples = Vec::new();
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            let typed = [
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ];
            let region = Region::from_str(meta.id()).ok();
            for example in typed.into_iter().flatten().filter_map(|d| d.example()) {
                examples.push((meta.country_code(), example.to_owned(), region));
            }
        }
        examples.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        examples
    }

    #[test]
    fn every_example_number_in_the_metadata_reads_as_a_valid_number_of_its_calling_code() {
        let examples = metadata_examples();
        assert!(examples.len() > 1000, "{} examples", examples.len());
        let site = region("RU");
        let mut wrong = Vec::new();
        let mut other_region = 0;
        for (calling_code, national, expected) in &examples {
            let written = format!("+{calling_code} {national}");
            match parse(&written, site) {
                Ok(number)
                    if number.e164() == written.replace(' ', "")
                        && number.region().map(Region::calling_code)
                            == expected.map(Region::calling_code) =>
                {
                    // Ranges shared by regions of one code (+1 800, +44 7640,
                    // +7 800 for KZ) belong to the first region that claims
                    // them, as libphonenumber's getRegionCodeForNumber says.
                    other_region += usize::from(number.region() != *expected);
                }
                other => wrong.push(format!("{written} ({expected:?}): {other:?}")),
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {}:\n{}",
            wrong.len(),
            examples.len(),
            wrong.join("\n")
        );
        assert!(
            other_region < examples.len() / 7,
            "{other_region} in a shared range"
        );
        assert_eq!(
            ru("+7 701 123 45 67").map(|n| n.region()),
            Ok(Some(region("KZ")))
        );
        assert_eq!(
            ru("+1 506 234 5678").map(|n| n.region()),
            Ok(Some(region("CA")))
        );
        assert_eq!(
            ru("+44 1624 756789").map(|n| n.region()),
            Ok(Some(region("IM")))
        );
    }

    /// Spellings a Russian visitor uses for a number `+7 <national>`.
    fn russian_spelling(national: &str, style: usize) -> String {
        let (code, a, b, c, d) = (
            "7",
            &national[..3],
            &national[3..6],
            &national[6..8],
            &national[8..],
        );
        match style {
            0 => format!("+{code} {a} {b}-{c}-{d}"),
            1 => format!("8 ({a}) {b}-{c}-{d}"),
            2 => format!("00{code}{a}{b}{c}{d}"),
            3 => format!("810 {code} {a} {b} {c} {d}"),
            4 => format!("{code} {a} {b} {c} {d}"),
            5 => format!("{a}{b}{c}{d}"),
            6 => format!("+{code} 8 {a} {b}{c}{d}"),
            _ => format!("+8 {a} {b} {c} {d}"),
        }
    }

    const SITES: [&str; 8] = ["RU", "BY", "KZ", "US", "GB", "DE", "IT", "VN"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parse_never_panics_on_any_text(
            input in prop_oneof![any::<String>(), "\\PC{0,300}", "[+0-9 ()\\-.]{0,40}"],
            site in 0..SITES.len(),
        ) {
            let _ = parse(&input, region(SITES[site]));
        }

        #[test]
        fn accept_refuses_exactly_as_parse_then_check_does(
            prefix in prop_oneof![Just(""), Just("+"), Just("8"), Just("00"), Just("810"), Just("+8"), Just("+7")],
            digits in "[0-9]{1,14}",
            site in 0..SITES.len(),
        ) {
            let input = format!("{prefix}{digits}");
            let policy = PhonePolicy::for_country(region(SITES[site]));
            let slow = parse(&input, policy.site_country()).and_then(|n| policy.check(&n).map(|()| n));
            let fast = policy.accept(&input).map_err(|refusal| refusal.code());
            let slow = slow.map_err(|refusal| refusal.code());
            // The shortcut may refuse a foreign number for its country before
            // finding it invalid; otherwise the answers are the same.
            if !(fast == Err("country_not_allowed") && slow == Err("invalid")) {
                prop_assert_eq!(fast, slow, "{}", input);
            }
        }

        #[test]
        fn every_spelling_of_a_random_russian_mobile_is_one_number(
            national in "9[0-9]{9}",
            style in 0usize..8,
        ) {
            let spelled = russian_spelling(&national, style);
            let number = ru(&spelled).map_err(|r| TestCaseError::fail(format!("{spelled}: {r}")))?;
            prop_assert_eq!(number.e164(), format!("+7{national}"), "{}", spelled);
            prop_assert_eq!(number.kind(), NumberKind::Mobile);
        }

        #[test]
        fn numbers_near_the_metadata_examples_read_back_as_themselves(
            example in 0usize..1000,
            position in 0usize..20,
            digit in 0u32..10,
            spelling in 0usize..3,
            reader in 0..SITES.len(),
        ) {
            let examples = metadata_examples();
            let (calling_code, national, _) = &examples[example * examples.len() / 1000];
            let mut national = national.clone();
            let position = position % national.len();
            let digit = char::from_digit(digit, 10).expect("a digit");
            national.replace_range(position..=position, &digit.to_string());
            let written = match spelling {
                0 => format!("+{calling_code}{national}"),
                1 => format!("00 {calling_code} {national}"),
                _ => format!("+{calling_code} ({national})"),
            };
            if let Ok(number) = parse(&written, region(SITES[reader])) {
                prop_assert_eq!(parse(&number.e164(), region(SITES[reader])), Ok(number.clone()));
                prop_assert_eq!(parse(&number.e164(), region("RU")), Ok(number));
            }
        }

        #[test]
        fn canonical_numbers_read_back_as_themselves(
            prefix in prop_oneof![Just(""), Just("+"), Just("8"), Just("0"), Just("00"), Just("810"), Just("+7"), Just("+375")],
            digits in "[1-9][0-9]{6,11}",
            site in 0..SITES.len(),
            reader in 0..SITES.len(),
        ) {
            if let Ok(number) = parse(&format!("{prefix}{digits}"), region(SITES[site])) {
                prop_assert_eq!(parse(&number.e164(), region(SITES[reader])), Ok(number.clone()));
            }
        }
    }
}
