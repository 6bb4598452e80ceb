//! The visitor messages of a [`PhoneRefusal`], in Russian and English.

use super::{NumberKind, PhoneRefusal, Region, Syntax, region_name};

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
