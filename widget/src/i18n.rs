//! The visitor-facing texts, in Russian and English, and the choice of language.
//!
//! Every text has a [`TextKey`] (its name, in `protocol::TEXT_KEYS`, is how a
//! site rewords it: `[sites.NAME.texts.ru]` in the proxy's config, sent in
//! the site's config). The defaults below are in key order; a site's text
//! for a key wins over the default.

use protocol::{Strings, TEXT_KEYS, TextKey};
use wasm_bindgen::JsValue;

use crate::js;

/// A language the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// Русский.
    #[default]
    Ru,
    /// English.
    En,
}

impl Locale {
    /// The first language that is one of ours, in order: the page's own
    /// choice (`data-locale`, `setLocale`), the site's (its config), the
    /// page's `lang`, the browser's (`navigator.languages`, in order);
    /// Russian when none is.
    pub fn choose(chosen: Option<&str>, site: Option<&str>) -> Self {
        let window = web_sys::window();
        let page = window
            .as_ref()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"));
        // The browser's languages, in the visitor's order of preference.
        let browser: Vec<String> = window.map_or_else(Vec::new, |w| {
            let navigator = w.navigator();
            let mut tags: Vec<String> = navigator
                .languages()
                .iter()
                .filter_map(|t| t.as_string())
                .collect();
            tags.extend(navigator.language());
            tags
        });
        [chosen, site, page.as_deref()]
            .into_iter()
            .flatten()
            .chain(browser.iter().map(String::as_str))
            .find_map(Self::from_tag)
            .unwrap_or_default()
    }

    /// Parses a BCP 47 tag such as `ru-RU` or `en`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?;
        if primary.eq_ignore_ascii_case("ru") {
            Some(Self::Ru)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Self::En)
        } else {
            None
        }
    }

    /// The tag, for `Intl` and for the site's texts: `ru` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    /// The widget's own texts in this language, in [`TextKey`] order.
    pub fn defaults(self) -> &'static [&'static str; TEXT_KEYS.len()] {
        match self {
            Self::Ru => &RU,
            Self::En => &EN,
        }
    }
}

/// The texts in use: the defaults of one language, with the site's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    /// The language they are in (dates are written in it too).
    pub locale: Locale,
    texts: Vec<String>,
}

impl Texts {
    /// `locale`'s texts, with those of `site` (key → text, the site
    /// config's `texts.ru` or `texts.en`) instead where it has them.
    /// `title` is the site's older `title` setting, under its texts.
    pub fn new(locale: Locale, site: Option<&Strings>, title: Option<&str>) -> Self {
        let texts = locale
            .defaults()
            .iter()
            .zip(TEXT_KEYS)
            .map(|(default, key)| {
                site.and_then(|site| site.get(key))
                    .filter(|text| !text.is_empty())
                    .cloned()
                    .unwrap_or_else(|| {
                        let default = match title {
                            Some(title) if key == "title" => title,
                            _ => default,
                        };
                        default.to_owned()
                    })
            })
            .collect();
        Self { locale, texts }
    }

    /// The text of `key`.
    pub fn get(&self, key: TextKey) -> &str {
        self.texts.get(key as usize).map_or("", String::as_str)
    }

    /// The text of `key` with its placeholder (`{n}`, `{time}`) filled in.
    pub fn fill(&self, key: TextKey, value: &str) -> String {
        fill(self.get(key), value)
    }
}

/// `text` with its placeholder (`{n}`, `{time}`) replaced by `value`.
pub fn fill(text: &str, value: &str) -> String {
    match text
        .split_once('{')
        .and_then(|(before, rest)| rest.split_once('}').map(|(_, after)| (before, after)))
    {
        Some((before, after)) => [before, value, after].concat(),
        None => text.to_owned(),
    }
}

/// A number in decimal (`to_string` would bring in the formatting machinery).
pub fn number(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// A time in the visitor's zone and `locale`'s words, e.g. `Tue, 5 Mar, 14:30`.
pub fn format_time(unix_seconds: i64, locale: Locale) -> String {
    let date = js_sys::Date::new(&JsValue::from(unix_seconds as f64 * 1000.0));
    let options = js_sys::Object::new();
    for (key, value) in [
        ("weekday", "short"),
        ("day", "numeric"),
        ("month", "short"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
    ] {
        js::set(&options, key, &JsValue::from_str(value));
    }
    date.to_locale_string(locale.tag(), &options).into()
}

// In `TextKey` order; the compiler checks the count, the widget's tests the
// placeholders.
static RU: [&str; TEXT_KEYS.len()] = [
    "Заказать обратный звонок",
    "Закрыть",
    "Перезвоним за 30 секунд",
    "Ваш телефон",
    "Офис",
    "Когда позвонить?",
    "Сейчас",
    "В удобное время",
    "Время (по вашим часам)",
    "Сейчас мы не работаем. Выберите время, и мы позвоним.",
    "Свободного времени пока нет. Загляните позже.",
    "Не удалось загрузить время. Пробуем ещё раз…",
    "Я согласен на обработку персональных данных",
    "Политика конфиденциальности",
    "Перезвоните мне",
    "Попробовать ещё раз",
    "Выбрать время",
    "Введите номер телефона",
    "Номер может содержать только цифры, пробелы и + ( ) -",
    "Укажите номер без добавочного",
    "В номере не хватает цифр",
    "В номере слишком много цифр",
    "Нужно ваше согласие на обработку данных",
    "Отправляем…",
    "Нет связи. Заявка сохранена, отправим её, как только связь появится.",
    "Слишком много заявок. Попробуйте через {n} мин.",
    "Не удалось отправить заявку. Попробуйте ещё раз.",
    "Это время уже занято. Выберите другое.",
    "Заявка принята",
    "Заявка сохранена, соединяемся с телефонией…",
    "Звонок заказан: сначала дозвонимся до сотрудника, потом до вас",
    "Позвоним вам {time}",
    "Позвоним ещё раз {time}",
    "Соединяем, сейчас зазвонит ваш телефон",
    "Звонок состоялся. Спасибо!",
    "Ваш номер был занят",
    "Вы не ответили на звонок",
    "Не удалось дозвониться: проверьте номер",
    "Сотрудники сейчас не смогли ответить",
    "Звонок отменён",
    "Не удалось заказать звонок. Мы уже разбираемся",
    "Примерно через {n} с (оценка)",
    "Вот-вот позвоним",
    "Перезвоним за 30 секунд?",
    "Да, позвоните мне",
];

static EN: [&str; TEXT_KEYS.len()] = [
    "Request a callback",
    "Close",
    "We'll call you back in 30 seconds",
    "Your phone number",
    "Office",
    "When should we call?",
    "Now",
    "At a time I choose",
    "Time (your clock)",
    "We're closed right now. Pick a time and we'll call you then.",
    "No times are free yet. Please look again later.",
    "The times could not be loaded. Trying again…",
    "I agree to the processing of my personal data",
    "Privacy policy",
    "Call me back",
    "Try again",
    "Pick a time",
    "Enter your phone number",
    "Use digits, spaces and + ( ) - only",
    "Enter the number without an extension",
    "The number is too short",
    "The number is too long",
    "Please agree to the processing of your data",
    "Sending…",
    "You're offline. Your request is saved and will be sent when you're back.",
    "Too many requests. Please try again in {n} min.",
    "The request could not be sent. Please try again.",
    "That time has just been taken. Please pick another.",
    "Request received",
    "Request saved; connecting to the phone service…",
    "Call ordered: we're ringing our staff, then you",
    "We'll call you on {time}",
    "We'll call again on {time}",
    "Connecting: your phone will ring",
    "The call went through. Thank you!",
    "Your line was busy",
    "You didn't answer the call",
    "We couldn't call this number: please check it",
    "Our staff couldn't take the call just now",
    "The call was cancelled",
    "The call could not be ordered. We're on it",
    "In about {n} s (an estimate)",
    "Any moment now",
    "Want us to call you back in 30 seconds?",
    "Yes, call me",
];
