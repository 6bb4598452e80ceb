//! CallKeeper's call statuses: the documented `status_code`/`status2_code`
//! table, with both Russian descriptions, and what each pair means for the
//! visitor ([`Outcome`]).
//!
//! `status_code` is the manager's leg (SIP code), `status2_code` the
//! visitor's. The table is copied from the API document, row for row; a pair
//! that is not in it is kept as [`Outcome::Unknown`], never dropped or
//! guessed into another outcome.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::ValueError;

/// A call's status: `status_code` (manager's leg) and `status2_code`
/// (visitor's leg), e.g. `200/486` "Номер клиента занят".
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatusPair {
    /// `status_code`.
    pub code: u16,
    /// `status2_code`.
    pub code2: u16,
}

/// What a status pair means for the person who asked for a call.
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `1/0`: the call is happening now.
    InProgress,
    /// `2/0`: the call is planned for later.
    Scheduled,
    /// `200/200`: manager and visitor talked.
    Success,
    /// The company's side did not connect (busy, no answer, carrier trouble
    /// on the manager's leg, the manager hung up before the visitor answered).
    ManagerSideFailure,
    /// The visitor's side did not connect (busy, no answer, unreachable,
    /// wrong or invalid number).
    VisitorSideFailure,
    /// Cancelled, blocked or refused as a duplicate; no call will be made.
    CancelledOrBlocked,
    /// The account ran out of minutes, period or budget.
    Billing,
    /// `790/0`: a test call.
    Test,
    /// A pair the document does not list.
    Unknown,
}

/// One row of the documented status table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusInfo {
    /// The pair.
    pub pair: StatusPair,
    /// "Описание в ЛК": the short text CallKeeper's dashboard shows.
    pub short: &'static str,
    /// "Полное описание".
    pub full: &'static str,
    /// This crate's reading of the row.
    pub outcome: Outcome,
}

const fn row(
    code: u16,
    code2: u16,
    short: &'static str,
    full: &'static str,
    outcome: Outcome,
) -> StatusInfo {
    StatusInfo {
        pair: StatusPair { code, code2 },
        short,
        full,
        outcome,
    }
}

use Outcome::{
    Billing, CancelledOrBlocked, InProgress, ManagerSideFailure, Scheduled, Success, Test,
    VisitorSideFailure,
};

/// Every documented status pair, in the document's order.
pub static STATUS_TABLE: [StatusInfo; 58] = [
    row(
        1,
        0,
        "Звонок происходит прямо сейчас",
        "Звонок идёт в настоящий момент",
        InProgress,
    ),
    row(2, 0, "Запланирован на", "Звонок запланирован", Scheduled),
    row(
        200,
        0,
        "Звонок клиенту не инициирован",
        "От менеджера пришёл отбой по трём причинам: менеджер не дождался ответа клиента/АТС отключила нас/или транзитный оператор оборвал связь",
        ManagerSideFailure,
    ),
    row(
        200,
        1,
        "Оператор не дождался соединения",
        "Звонок прекратился до получения статуса от вызываемого клиента",
        ManagerSideFailure,
    ),
    row(
        200,
        200,
        "Звонок прошел успешно",
        "Успешный звонок. Всё прошло хорошо",
        Success,
    ),
    row(
        200,
        400,
        "Некорректный запрос",
        "Некорректный запрос, запрос не понятен серверу",
        VisitorSideFailure,
    ),
    row(
        200,
        403,
        "Клиент временно недоступен",
        "Оператор связи запрещает вызов",
        VisitorSideFailure,
    ),
    row(
        200,
        404,
        "Неправильный номер клиента",
        "Номер клиента не существует",
        VisitorSideFailure,
    ),
    row(
        200,
        406,
        "Клиент недоступен",
        "Клиент недоступен",
        VisitorSideFailure,
    ),
    row(
        200,
        408,
        "Абонент не найден (клиент)",
        "Абонента не удалось найти за определённое время",
        VisitorSideFailure,
    ),
    row(
        200,
        410,
        "Номер клиента не существует",
        "Номер клиента не существует",
        VisitorSideFailure,
    ),
    row(
        200,
        461,
        "Оператор связи запрещает вызов",
        "Оператор связи запрещает вызов",
        VisitorSideFailure,
    ),
    row(
        200,
        480,
        "Клиент временно недоступен",
        "Клиент недоступен",
        VisitorSideFailure,
    ),
    row(
        200,
        484,
        "Неправильный номер клиента",
        "Неправильный номер клиента",
        VisitorSideFailure,
    ),
    row(
        200,
        486,
        "Номер клиента занят",
        "Номер клиента занят",
        VisitorSideFailure,
    ),
    row(
        200,
        487,
        "Клиент не взял трубку",
        "Клиент не взял трубку",
        VisitorSideFailure,
    ),
    row(
        200,
        491,
        "Техническая ошибка телефонии",
        "Ошибка повторного обращения к тому же диалогу",
        VisitorSideFailure,
    ),
    row(
        200,
        500,
        "Технические неполадки у оператора",
        "Технические неполадки на стороне оператора связи",
        VisitorSideFailure,
    ),
    row(
        200,
        502,
        "Технические неполадки у оператора",
        "Технические неполадки на стороне оператора связи",
        VisitorSideFailure,
    ),
    row(
        200,
        503,
        "Технические неполадки у оператора",
        "Технические неполадки на стороне оператора связи",
        VisitorSideFailure,
    ),
    row(
        200,
        504,
        "Технические неполадки у оператора",
        "Технические неполадки на стороне оператора связи",
        VisitorSideFailure,
    ),
    row(
        200,
        600,
        "Номер клиента занят",
        "Номер клиента занят",
        VisitorSideFailure,
    ),
    row(
        200,
        603,
        "Клиент временно недоступен",
        "Оператор связи запрещает вызов",
        VisitorSideFailure,
    ),
    row(
        200,
        708,
        "Менеджер отменил вызов",
        "Менеджер, который принимал звонок, отменил его без возможности для повторных соединений",
        CancelledOrBlocked,
    ),
    row(
        200,
        718,
        "Техническое разъединение",
        "Соединение прервано для обеих сторон вызова по причине того, что клиент не принял вызов в течение определенного количества времени",
        VisitorSideFailure,
    ),
    row(
        403,
        0,
        "Оператор временно недоступен",
        "Оператор связи запрещает вызов",
        ManagerSideFailure,
    ),
    row(
        404,
        0,
        "Оператор временно недоступен",
        "Номер менеджера не существует",
        ManagerSideFailure,
    ),
    row(
        408,
        0,
        "Абонент не найден (менеджер)",
        "Абонента не удалось найти за определённое время",
        ManagerSideFailure,
    ),
    row(
        480,
        0,
        "Оператор временно недоступен",
        "Менеджер недоступен",
        ManagerSideFailure,
    ),
    row(
        484,
        0,
        "Ошибка оператора связи",
        "Ошибка оператора связи",
        ManagerSideFailure,
    ),
    row(
        486,
        0,
        "Телефон оператора занят",
        "Номер менеджера занят",
        ManagerSideFailure,
    ),
    row(
        487,
        0,
        "Оператор не взял трубку",
        "Менеджер не взял трубку",
        ManagerSideFailure,
    ),
    row(
        488,
        0,
        "Не поддерживаются кодеки SIP",
        "Не поддерживаются кодеки SIP",
        ManagerSideFailure,
    ),
    row(
        491,
        0,
        "Техническая ошибка телефонии",
        "Ошибка повторного обращения к тому же диалогу",
        ManagerSideFailure,
    ),
    row(
        500,
        0,
        "Сервер не отвечает",
        "Технические неполадки на стороне оператора связи",
        ManagerSideFailure,
    ),
    row(
        502,
        0,
        "Технические неполадки оператора связи:",
        "Технические неполадки на стороне оператора связи",
        ManagerSideFailure,
    ),
    row(
        503,
        0,
        "Технические неполадки оператора связи:",
        "Технические неполадки на стороне оператора связи",
        ManagerSideFailure,
    ),
    row(
        603,
        0,
        "Оператор временно недоступен",
        "Оператор связи запрещает вызов",
        ManagerSideFailure,
    ),
    row(
        604,
        0,
        "Оператор временно недоступен",
        "Номер менеджера не существует",
        ManagerSideFailure,
    ),
    row(
        667,
        0,
        "Блокировка по номеру телефона",
        "Блокировка по номеру телефона клиента",
        CancelledOrBlocked,
    ),
    row(
        668,
        0,
        "Блокировка по IP",
        "Блокировка по IP адресу клиента",
        CancelledOrBlocked,
    ),
    // The document's row is ragged here; "Звонок отменен" belongs to the full text.
    row(
        701,
        0,
        "Ненужный звонок",
        "Звонок отменен. Происходит при заказе звонка, когда цепочка уже удачно закончена",
        CancelledOrBlocked,
    ),
    row(
        702,
        0,
        "Отменённый звонок",
        "Звонок отменён по причине отсутствия возможного рабочего времени",
        CancelledOrBlocked,
    ),
    row(
        703,
        0,
        "Совпадающие номера",
        "Номер менеджера и номер клиента совпадают",
        CancelledOrBlocked,
    ),
    row(
        704,
        0,
        "Технически отменено",
        "Отменённый звонок по техническим причинам",
        CancelledOrBlocked,
    ),
    row(
        705,
        0,
        "Номер менеджера в блоке",
        "Номер менеджера находится в блэк-листе",
        CancelledOrBlocked,
    ),
    row(
        707,
        0,
        "Проблема оператора связи",
        "Неизвестная ошибка оператора связи",
        ManagerSideFailure,
    ),
    row(
        708,
        0,
        "Отменён менеджером",
        "Отменен менеджером вручную",
        CancelledOrBlocked,
    ),
    row(
        709,
        0,
        "Некорректный номер",
        "Некорректный формат номера",
        VisitorSideFailure,
    ),
    row(
        710,
        0,
        "Виджет отключен",
        "Виджет отключен",
        CancelledOrBlocked,
    ),
    row(
        718,
        0,
        "Недопустимый номер клиента",
        "Недопустимый номер клиента",
        VisitorSideFailure,
    ),
    row(
        720,
        0,
        "Неизвестная ошибка оператора связи",
        "Неизвестная ошибка оператора связи",
        ManagerSideFailure,
    ),
    row(790, 0, "Test call", "Test call", Test),
    row(
        811,
        0,
        "Недостаточно минут на балансе",
        "Закончился баланс",
        Billing,
    ),
    row(
        812,
        0,
        "Оплаченный период закончился",
        "Закончился период",
        Billing,
    ),
    row(
        813,
        0,
        "Ненужный отложенный звонок",
        "Повторный заказ в течение часа",
        CancelledOrBlocked,
    ),
    row(
        814,
        0,
        "Превышена максимальная стоимость звонка",
        "Превышена максимальная стоимость звонка",
        Billing,
    ),
    row(
        815,
        0,
        "Дублирующийся звонок",
        "Дублирующий звонок",
        CancelledOrBlocked,
    ),
];

impl StatusPair {
    /// `1/0`: in progress.
    pub const IN_PROGRESS: Self = Self::new(1, 0);
    /// `2/0`: scheduled.
    pub const SCHEDULED: Self = Self::new(2, 0);
    /// `200/200`: success.
    pub const SUCCESS: Self = Self::new(200, 200);

    /// A pair from its two codes.
    pub const fn new(code: u16, code2: u16) -> Self {
        Self { code, code2 }
    }

    /// The documented row for this pair, if there is one.
    pub fn info(self) -> Option<&'static StatusInfo> {
        STATUS_TABLE.iter().find(|info| info.pair == self)
    }

    /// What the pair means; [`Outcome::Unknown`] for undocumented pairs.
    pub fn outcome(self) -> Outcome {
        self.info().map_or(Outcome::Unknown, |info| info.outcome)
    }

    /// True when CallKeeper will not change this status any more. An
    /// undocumented pair counts as final when its manager code is 200 or
    /// above, as every documented final code is; codes below are phases.
    pub fn is_final(self) -> bool {
        match self.outcome() {
            Outcome::InProgress | Outcome::Scheduled => false,
            Outcome::Unknown => self.code >= 200,
            _ => true,
        }
    }
}

/// `200/486`, the form `getCallsByStatus` takes.
impl fmt::Display for StatusPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.code, self.code2)
    }
}

impl FromStr for StatusPair {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValueError::StatusPair(s.chars().take(20).collect());
        let (code, code2) = s.trim().split_once('/').ok_or_else(bad)?;
        let parse = |part: &str| {
            let part = part.trim();
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse::<u16>().map_err(|_| bad())
        };
        Ok(Self::new(parse(code)?, parse(code2)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_table_has_each_pair_once() {
        let pairs: HashSet<StatusPair> = STATUS_TABLE.iter().map(|info| info.pair).collect();
        assert_eq!(pairs.len(), STATUS_TABLE.len());
    }

    #[test]
    fn documented_pairs_classify_as_expected() {
        assert_eq!(StatusPair::new(1, 0).outcome(), Outcome::InProgress);
        assert_eq!(StatusPair::new(2, 0).outcome(), Outcome::Scheduled);
        assert_eq!(StatusPair::new(200, 200).outcome(), Outcome::Success);
        assert_eq!(
            StatusPair::new(200, 486).outcome(),
            Outcome::VisitorSideFailure
        );
        assert_eq!(
            StatusPair::new(487, 0).outcome(),
            Outcome::ManagerSideFailure
        );
        assert_eq!(
            StatusPair::new(815, 0).outcome(),
            Outcome::CancelledOrBlocked
        );
        assert_eq!(StatusPair::new(811, 0).outcome(), Outcome::Billing);
        assert_eq!(StatusPair::new(790, 0).outcome(), Outcome::Test);
        assert_eq!(
            StatusPair::new(200, 486).info().map(|i| i.short),
            Some("Номер клиента занят")
        );
    }

    #[test]
    fn unknown_pairs_are_kept_and_judged_by_phase() {
        let odd = StatusPair::new(999, 7);
        assert_eq!(odd.outcome(), Outcome::Unknown);
        assert!(odd.info().is_none());
        assert!(odd.is_final());
        assert!(!StatusPair::new(3, 0).is_final());
        assert!(!StatusPair::IN_PROGRESS.is_final());
        assert!(!StatusPair::SCHEDULED.is_final());
        assert!(StatusPair::SUCCESS.is_final());
    }

    #[test]
    fn pairs_parse_and_print() {
        assert_eq!("200/486".parse(), Ok(StatusPair::new(200, 486)));
        assert_eq!(StatusPair::new(2, 0).to_string(), "2/0");
        assert!("200".parse::<StatusPair>().is_err());
        assert!("200/x".parse::<StatusPair>().is_err());
    }
}
