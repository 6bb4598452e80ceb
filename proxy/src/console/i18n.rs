//! The console's two languages: which one a request gets (the `lang`
//! cookie the switch sets, else the browser's `Accept-Language`), and every
//! word of it in both. One line per text, English then Russian, so a text
//! cannot exist in one language only.

use axum::http::{HeaderMap, header};

use crate::lead::LeadState;

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
}

/// The cookie the language switch sets.
pub const LANG_COOKIE: &str = "console_lang";

impl Lang {
    /// `ru` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }

    /// Reads a code written by [`Lang::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Self::En),
            "ru" => Some(Self::Ru),
            _ => None,
        }
    }

    /// The switch's cookie, else the first of ours in `Accept-Language`
    /// (its q-values are in order in every browser), else English.
    pub fn of_request(headers: &HeaderMap) -> Self {
        if let Some(lang) = super::auth::cookie(headers, LANG_COOKIE).and_then(Self::from_code) {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .filter_map(|part| {
                let tag = part.split(';').next()?.trim();
                Self::from_code(&tag.get(..2)?.to_ascii_lowercase())
            })
            .next()
            .unwrap_or(Self::En)
    }

    /// The other language (the switch's target).
    pub fn other(self) -> Self {
        match self {
            Self::En => Self::Ru,
            Self::Ru => Self::En,
        }
    }

    /// The texts in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::En => &EN,
            Self::Ru => &RU,
        }
    }

    /// A lead state's name for owners.
    pub fn state(self, state: LeadState) -> &'static str {
        let t = self.texts();
        match state {
            LeadState::Received => t.state_received,
            LeadState::Queued => t.state_queued,
            LeadState::Sending => t.state_sending,
            LeadState::Ordered => t.state_ordered,
            LeadState::Scheduled => t.state_scheduled,
            LeadState::InProgress => t.state_in_progress,
            LeadState::Succeeded => t.state_succeeded,
            LeadState::Failed => t.state_failed,
            LeadState::Halted => t.state_halted,
        }
    }
}

macro_rules! texts {
    ($($name:ident: $en:expr, $ru:expr;)*) => {
        /// Every text of the console, in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(#[allow(missing_docs)] pub $name: &'static str,)*
        }
        const EN: Texts = Texts { $($name: $en,)* };
        const RU: Texts = Texts { $($name: $ru,)* };
    };
}

texts! {
    console: "Console", "Консоль";
    skip: "Skip to content", "К содержимому";
    overview: "Overview", "Обзор";
    leads: "Leads", "Заявки";
    halted: "Halted", "Остановленные";
    export: "Export CSV", "Выгрузка CSV";
    switch_to: "Русский", "English";
    signed_in_as: "Signed in as", "Вы вошли как";
    local_owner: "local (loopback, no login)", "локально (loopback, без входа)";
    log_out: "Log out", "Выйти";
    log_in: "Log in", "Войти";
    login_title: "Log in to the console", "Вход в консоль";
    name: "Name", "Имя";
    password: "Password", "Пароль";
    login_failed: "Wrong name or password.", "Неверное имя или пароль.";
    login_limited: "Too many attempts. Wait a few minutes and try again.", "Слишком много попыток. Подождите несколько минут и попробуйте снова.";
    sites: "Sites", "Сайты";
    site: "Site", "Сайт";
    today_utc: "Today (UTC)", "Сегодня (UTC)";
    ordered: "Ordered", "Заказано";
    succeeded: "Succeeded", "Состоялись";
    failed: "Failed", "Не состоялись";
    scheduled: "Scheduled", "Запланированы";
    in_flight: "In progress", "В работе";
    tests: "Tests from the preview", "Тестовые из предпросмотра";
    failed_by_reason: "Failed, by reason", "Не состоялись, по причинам";
    none: "none", "нет";
    limits: "Limits in use", "Использование лимитов";
    per_hour: "Leads in the last hour", "Заявок за последний час";
    per_day: "Leads in the last 24 hours", "Заявок за последние 24 часа";
    callkeeper: "CallKeeper", "CallKeeper";
    balance: "Minutes balance", "Баланс минут";
    balance_low: "low", "мало";
    unknown: "not known yet", "пока неизвестно";
    upstream_ok: "answering", "отвечает";
    upstream_last: "Last answer", "Последний ответ";
    seconds_ago: "s ago", "с назад";
    chart_days: "Last 14 days", "Последние 14 дней";
    chart_outcomes: "Outcomes, last 14 days", "Итоги за 14 дней";
    config_check: "Config check", "Проверка настроек";
    config_ok: "No warnings.", "Замечаний нет.";
    install: "Install", "Установка";
    open_site: "Details", "Подробнее";
    all: "all", "все";
    state: "State", "Состояние";
    day: "Day", "День";
    filter: "Filter", "Показать";
    created: "Created (UTC)", "Создана (UTC)";
    phone: "Phone", "Телефон";
    reason: "Reason", "Причина";
    no_leads: "No leads match.", "Заявок нет.";
    page: "Page", "Страница";
    previous: "Previous", "Назад";
    next: "Next", "Вперёд";
    test_mark: "test", "тест";
    lead: "Lead", "Заявка";
    reveal: "Show the number", "Показать номер";
    revealed_note: "Shown to you; this is logged.", "Показан вам; это записано в журнал.";
    resend: "Resend", "Отправить снова";
    resend_title: "Resend this lead?", "Отправить заявку снова?";
    resend_explain: "The lead goes back in line and the proxy orders the call from CallKeeper again.", "Заявка вернётся в очередь, и прокси снова закажет звонок в CallKeeper.";
    resend_has_call: "CallKeeper already has a call for this lead (id {}); ordering again may call the visitor twice. It is resent only if you tick the box.", "У CallKeeper уже есть звонок по этой заявке (id {}); повторный заказ может позвонить посетителю дважды. Заявка будет отправлена, только если отметить флажок.";
    force: "Order again although CallKeeper has a call", "Заказать снова, хотя звонок у CallKeeper есть";
    confirm_resend: "Yes, resend", "Да, отправить";
    cancel: "Cancel", "Отмена";
    resent: "The lead is back in line.", "Заявка возвращена в очередь.";
    not_resent: "Not resent: CallKeeper already has a call for it (tick the box to force), or it is no longer halted.", "Не отправлена: у CallKeeper уже есть звонок по ней (отметьте флажок), либо она уже не остановлена.";
    timeline: "Timeline", "История";
    when: "When (UTC)", "Когда (UTC)";
    callkeeper_status: "CallKeeper status", "Статус CallKeeper";
    attempt: "Attempt", "Попытка";
    capture: "Capture", "Откуда пришла";
    current_page: "Page", "Страница";
    entry_page: "Entry page", "Страница входа";
    referrer: "Referrer", "Источник перехода";
    requested_time: "Asked for (UTC)", "Просили позвонить (UTC)";
    attempts: "orderCall attempts", "Попыток orderCall";
    callkeeper_id: "CallKeeper id", "Id в CallKeeper";
    script_tag: "1. Paste this tag into every page of the site", "1. Вставьте этот тег на все страницы сайта";
    csp_lines: "2. If the site sends a Content-Security-Policy, add", "2. Если сайт отдаёт Content-Security-Policy, добавьте";
    copy: "Copy", "Копировать";
    copied: "Copied", "Скопировано";
    preview: "3. Preview", "3. Предпросмотр";
    preview_note: "The site's widget as visitors see it, against the CallKeeper this site is configured with. A callback ordered here is real but marked as a test.", "Виджет сайта, как его видят посетители, с тем CallKeeper, что настроен для сайта. Звонок, заказанный здесь, настоящий, но помечен как тестовый.";
    preview_title: "Preview of the widget", "Предпросмотр виджета";
    no_public_url: "public_url is not set: the tag below uses the listen address, which visitors' browsers may not reach. Set public_url in the config.", "public_url не задан: в теге ниже адрес listen, до которого браузеры посетителей могут не достать. Задайте public_url в настройках.";
    not_found: "Not found.", "Не найдено.";
    forbidden: "This form has expired or did not come from the console. Go back, reload the page and try again.", "Форма устарела или отправлена не из консоли. Вернитесь, обновите страницу и попробуйте снова.";
    store_error: "The lead store did not answer. Try again in a moment.", "Хранилище заявок не ответило. Попробуйте чуть позже.";
    bad_day: "Write the day as YYYY-MM-DD.", "Укажите день в виде ГГГГ-ММ-ДД.";
    state_received: "received", "получена";
    state_queued: "queued", "в очереди";
    state_sending: "sending", "отправляется";
    state_ordered: "ordered", "заказана";
    state_scheduled: "scheduled", "запланирована";
    state_in_progress: "call in progress", "идёт звонок";
    state_succeeded: "succeeded", "состоялась";
    state_failed: "failed", "не состоялась";
    state_halted: "halted", "остановлена";
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn the_switch_wins_over_the_browser_and_the_browser_over_the_default() {
        assert_eq!(Lang::of_request(&headers(&[])), Lang::En);
        assert_eq!(
            Lang::of_request(&headers(&[("accept-language", "ru-RU,ru;q=0.9,en;q=0.8")])),
            Lang::Ru
        );
        assert_eq!(
            Lang::of_request(&headers(&[("accept-language", "de-DE,en;q=0.5")])),
            Lang::En
        );
        assert_eq!(
            Lang::of_request(&headers(&[
                ("accept-language", "ru"),
                ("cookie", "other=1; console_lang=en")
            ])),
            Lang::En
        );
    }
}
