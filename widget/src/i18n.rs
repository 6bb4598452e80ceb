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
        let window = web_sys::window();
        let page = window
            .as_ref()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"));
        let browser = window.and_then(|w| w.navigator().language());
        [configured.map(str::to_owned), page, browser]
            .into_iter()
            .flatten()
            .find_map(|tag| Self::from_tag(&tag))
            .unwrap_or(Self::Ru)
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

    /// The texts in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Ru => &RU,
            Self::En => &EN,
        }
    }
}

/// A message shown under the form; the text follows the current language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// Nothing was typed.
    PhoneEmpty,
    /// A character that has no place in a phone number.
    PhoneInvalidChar,
    /// An extension (`^`).
    PhoneExtension,
    /// Too few digits (or the proxy refused the number).
    PhoneShort,
    /// Too many digits.
    PhoneLong,
    /// The request is on its way.
    Sending,
    /// The request could not be sent; it will be retried.
    Offline,
    /// Too many requests.
    RateLimited,
    /// Anything else went wrong.
    FailedToSend,
}

impl Message {
    /// Whether the message is about the typed number (which is then marked invalid).
    pub fn is_about_phone(self) -> bool {
        (self as u8) <= Self::PhoneLong as u8
    }

    /// The message for a phone number `protocol` refused.
    pub fn for_phone(error: &protocol::PhoneError) -> Self {
        use protocol::PhoneError as E;
        match error {
            E::Empty => Self::PhoneEmpty,
            E::InvalidCharacter(_) => Self::PhoneInvalidChar,
            E::Extension => Self::PhoneExtension,
            E::TooShort(_) => Self::PhoneShort,
            E::TooLong(_) => Self::PhoneLong,
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
    /// The unit after an estimate of seconds (`≈ 30 s`).
    pub seconds: &'static str,
    /// The texts of [`Message`], in its order.
    pub messages: [&'static str; 9],
}

impl Texts {
    /// The text of a message.
    pub fn message(&self, message: Message) -> &'static str {
        self.messages[message as usize]
    }
}

static RU: Texts = Texts {
    open: "Заказать обратный звонок",
    close: "Закрыть",
    title: "Перезвоним за 30 секунд",
    phone_label: "Ваш телефон",
    submit: "Перезвоните мне",
    seconds: " с",
    messages: [
        "Введите номер телефона",
        "Номер может содержать только цифры, пробелы и + ( ) -",
        "Укажите номер без добавочного",
        "В номере не хватает цифр",
        "В номере слишком много цифр",
        "Отправляем…",
        "Нет связи. Заявка сохранена, отправим её, как только связь появится.",
        "Слишком много заявок. Попробуйте чуть позже.",
        "Не удалось отправить заявку. Попробуйте ещё раз.",
    ],
};

static EN: Texts = Texts {
    open: "Request a callback",
    close: "Close",
    title: "We'll call you back in 30 seconds",
    phone_label: "Your phone number",
    submit: "Call me back",
    seconds: " s",
    messages: [
        "Enter your phone number",
        "Use digits, spaces and + ( ) - only",
        "Enter the number without an extension",
        "The number is too short",
        "The number is too long",
        "Sending…",
        "You're offline. Your request is saved and will be sent when you're back.",
        "Too many requests. Please try again a little later.",
        "The request could not be sent. Please try again.",
    ],
};
