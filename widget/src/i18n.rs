//! The visitor-facing texts, in Russian and English.

/// A language the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// Русский.
    Ru,
    /// English.
    En,
}

impl Locale {
    /// The site's choice first, then the page's `lang`, then the browser's languages.
    pub fn choose(configured: Option<&str>) -> Self {
        let page = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .map(|e| e.get_attribute("lang").unwrap_or_default());
        let browser = web_sys::window().and_then(|w| w.navigator().language());
        [configured.map(str::to_owned), page, browser]
            .into_iter()
            .flatten()
            .find_map(|tag| Self::from_tag(&tag))
            .unwrap_or(Self::Ru)
    }

    /// Parses a BCP 47 tag such as `ru-RU` or `en`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ru" => Some(Self::Ru),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The texts in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Ru => &RU,
            Self::En => &EN,
        }
    }
}

/// Every text the widget shows.
#[derive(Debug)]
pub struct Texts {
    /// The launcher's accessible name.
    pub open: &'static str,
    /// The close button's accessible name.
    pub close: &'static str,
    /// The dialog's title.
    pub title: &'static str,
    /// The phone field's label.
    pub phone_label: &'static str,
    /// The submit button.
    pub submit: &'static str,
    /// While the request is being sent.
    pub sending: &'static str,
    /// Phone validation messages.
    pub phone_empty: &'static str,
    pub phone_invalid_char: &'static str,
    pub phone_extension: &'static str,
    pub phone_short: &'static str,
    pub phone_long: &'static str,
    /// The request could not be sent; it will be retried.
    pub offline: &'static str,
    /// Too many requests.
    pub rate_limited: &'static str,
    /// Anything else went wrong.
    pub failed_to_send: &'static str,
    /// Label of the estimate.
    pub eta: &'static str,
    /// Try again after a failure.
    pub try_again: &'static str,
}

static RU: Texts = Texts {
    open: "Заказать обратный звонок",
    close: "Закрыть",
    title: "Перезвоним за 30 секунд",
    phone_label: "Ваш телефон",
    submit: "Перезвоните мне",
    sending: "Отправляем…",
    phone_empty: "Введите номер телефона",
    phone_invalid_char: "Номер может содержать только цифры, пробелы и + ( ) -",
    phone_extension: "Укажите номер без добавочного",
    phone_short: "В номере не хватает цифр",
    phone_long: "В номере слишком много цифр",
    offline: "Нет связи. Заявка сохранена, отправим её, как только связь появится.",
    rate_limited: "Слишком много заявок. Попробуйте чуть позже.",
    failed_to_send: "Не удалось отправить заявку. Попробуйте ещё раз.",
    eta: "примерно через",
    try_again: "Попробовать снова",
};

static EN: Texts = Texts {
    open: "Request a callback",
    close: "Close",
    title: "We'll call you back in 30 seconds",
    phone_label: "Your phone number",
    submit: "Call me back",
    sending: "Sending…",
    phone_empty: "Enter your phone number",
    phone_invalid_char: "Use digits, spaces and + ( ) - only",
    phone_extension: "Enter the number without an extension",
    phone_short: "The number is too short",
    phone_long: "The number is too long",
    offline: "You're offline. Your request is saved and will be sent when you're back.",
    rate_limited: "Too many requests. Please try again a little later.",
    failed_to_send: "The request could not be sent. Please try again.",
    eta: "in about",
    try_again: "Try again",
};

impl Texts {
    /// The message for a phone number `protocol` refused.
    pub fn phone_error(&self, error: &protocol::PhoneError) -> &'static str {
        use protocol::PhoneError as E;
        match error {
            E::Empty => self.phone_empty,
            E::InvalidCharacter(_) => self.phone_invalid_char,
            E::Extension => self.phone_extension,
            E::TooShort(_) => self.phone_short,
            E::TooLong(_) => self.phone_long,
        }
    }
}
