//! The values' tests: every documented wire form, and round trips.

use super::*;
use proptest::prelude::*;

#[test]
fn api_key_refuses_wrong_shapes_and_never_prints() {
    assert_eq!(
        ApiKey::parse("eb2cee1bc1b8d1b6e4282486af09e07").err(),
        Some(ValueError::ApiKey)
    );
    assert_eq!(
        ApiKey::parse("eb2cee1bc1b8d1b6e4282486af09e07g").err(),
        Some(ValueError::ApiKey)
    );
    let key = ApiKey::parse("EB2CEE1BC1B8D1B6E4282486AF09E078").expect("upper-case hex is hex");
    assert_eq!(key.to_string(), "ApiKey(***)");
    assert!(key.matches("eb2cee1bc1b8d1b6e4282486af09e078"));
    assert!(!key.matches("eb2cee1bc1b8d1b6e4282486af09e079"));
    let credentials = Credentials {
        unique: "u".to_owned(),
        key,
        widget: WidgetRef::Alias("a".to_owned()),
    };
    assert!(!format!("{credentials:?}").to_lowercase().contains("eb2cee"));
}

#[test]
fn manager_takes_offices_and_phones_with_extensions() {
    assert_eq!(Manager::parse("0"), Ok(Manager::Office(0)));
    assert_eq!(
        Manager::parse("+7 (464) 251-25-25^4342"),
        Ok(Manager::Phone {
            number: "74642512525".to_owned(),
            extension: Some("4342".to_owned())
        })
    );
    assert_eq!(
        Manager::parse("89165240212").map(|m| m.to_string()),
        Ok("79165240212".to_owned())
    );
    assert!(Manager::parse("74642512525^").is_err());
    assert!(Manager::parse("12345").is_err());
}

#[test]
fn opening_hours_cover_the_documented_forms() {
    let week = OpeningHours::parse("09001800100018000900200009001800090018000900180000000000")
        .expect("documented example");
    assert_eq!(
        week.day(Weekday::Tuesday),
        DayHours::Open {
            start_minute: 600,
            end_minute: 1080
        }
    );
    assert_eq!(week.day(Weekday::Sunday), DayHours::Closed);
    assert_eq!(
        week.to_string(),
        "09001800100018000900200009001800090018000900180000000000"
    );
    let always = OpeningHours::parse("00002400").expect("all day");
    assert!(always.is_open_at(Weekday::Sunday, 0) && always.is_open_at(Weekday::Sunday, 1439));
    assert_eq!(always.to_string(), "00002400");
    assert!(
        OpeningHours::parse("00000000")
            .expect("closed")
            .is_always_closed()
    );
    for bad in [
        "0900180",
        "09601800",
        "25001800",
        "09002401",
        "09000900",
        "0900-1800",
        "",
    ] {
        assert!(OpeningHours::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn hours_past_midnight_belong_to_the_next_morning() {
    let mut days = [DayHours::Closed; 7];
    days[Weekday::Sunday.index()] = DayHours::Open {
        start_minute: 22 * 60,
        end_minute: 2 * 60,
    };
    let hours = OpeningHours::from_days(days);
    assert!(hours.is_open_at(Weekday::Monday, 60));
    assert!(!hours.is_open_at(Weekday::Monday, 23 * 60));
    assert!(hours.is_open_at(Weekday::Sunday, 23 * 60));
}

#[test]
fn weekday_of_unix_knows_the_epoch_was_a_thursday() {
    assert_eq!(Weekday::of_unix(0, 0), Weekday::Thursday);
    assert_eq!(Weekday::of_unix(-1, 0), Weekday::Wednesday);
    // 2024-01-01 00:30 Moscow is a Monday, 2023-12-31 21:30 UTC a Sunday.
    assert_eq!(Weekday::of_unix(1_704_061_800, 180), Weekday::Monday);
    assert_eq!(Weekday::of_unix(1_704_061_800, 0), Weekday::Sunday);
}

#[test]
fn utc_parses_names_and_offsets() {
    assert_eq!(Utc::parse("UTC+03:00"), Ok(Utc::Offset(180)));
    assert_eq!(Utc::parse("utc-03:30"), Ok(Utc::Offset(-210)));
    assert_eq!(Utc::parse("+0300"), Ok(Utc::Offset(180)));
    assert_eq!(Utc::parse("UTC"), Ok(Utc::Offset(0)));
    assert_eq!(Utc::parse("GMT+3"), Ok(Utc::Offset(180)));
    assert_eq!(
        Utc::parse("Europe/Moscow"),
        Ok(Utc::Iana("Europe/Moscow".to_owned()))
    );
    assert_eq!(
        Utc::parse("America/Argentina/Buenos_Aires").map(|z| z.offset_minutes()),
        Ok(None)
    );
    for bad in [
        "UTC+15:00",
        "UTC+03:60",
        "Europe",
        "Europe/",
        "1/2",
        "UTC*3",
        "Europe/Mos cow",
    ] {
        assert!(Utc::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn interval_and_unix_time_parse_their_wire_forms() {
    assert_eq!(
        Interval::parse("5, 10,15").map(|i| i.to_string()),
        Ok("5,10,15".to_owned())
    );
    assert!(Interval::parse("").is_err());
    assert!(Interval::parse("0").is_err());
    assert!(Interval::parse("5,,10").is_err());
    assert_eq!(
        UnixTime::parse("1479732377"),
        Ok(UnixTime::from_secs(1_479_732_377))
    );
    assert!(UnixTime::parse("-5").is_err());
    assert!(UnixTime::parse("1.5").is_err());
}

#[test]
fn w3c_dates_cover_dates_times_and_midnight_24() {
    let from = W3cDate::parse("2017-05-01").expect("date");
    assert_eq!(from.start_unix(0), 1_493_596_800);
    assert_eq!(from.start_unix(180), 1_493_596_800 - 3 * 3600);
    assert_eq!(from.end_unix_inclusive(0), 1_493_596_800 + 86_399);
    let evening = W3cDate::parse("2005-08-15T23:59:59").expect("date-time");
    let midnight = W3cDate::parse("2005-08-16T24:00:00").expect("end of day");
    assert_eq!(
        midnight.end_unix_inclusive(0),
        W3cDate::parse("2005-08-17").expect("date").start_unix(0) - 1
    );
    assert_eq!(
        W3cDate::parse("2005-08-15T23:59:59Z").map(|d| d.start_unix(180)),
        Ok(evening.start_unix(0))
    );
    assert_eq!(
        W3cDate::parse("2005-08-15T23:59:59+03:00").map(|d| d.start_unix(0)),
        Ok(evening.start_unix(180))
    );
    for bad in [
        "2017-13-01",
        "2017-02-29",
        "17-05-01",
        "2017-05-01T24:00:01",
        "2017-05-01T12",
        "2017/05/01",
    ] {
        assert!(W3cDate::parse(bad).is_err(), "{bad}");
    }
    assert!(W3cDate::parse("2016-02-29").is_ok());
}

#[test]
fn utc_formatting_matches_the_calendar() {
    assert_eq!(format_utc(0), "1970-01-01 00:00:00");
    assert_eq!(format_utc(1_493_596_800 + 3661), "2017-05-01 01:01:01");
}

proptest! {
    #[test]
    fn civil_round_trips(days in -1_000_000i64..1_000_000) {
        let (y, m, d) = civil_from_days(days);
        prop_assert_eq!(days_from_civil(y, m, d), days);
    }

    #[test]
    fn opening_hours_round_trip(groups in proptest::collection::vec((0u16..24, 0u16..60, 0u16..24, 0u16..60), 7)) {
        let text: String = groups.iter().map(|(a, b, c, d)| format!("{a:02}{b:02}{c:02}{d:02}")).collect();
        if let Ok(hours) = OpeningHours::parse(&text) {
            prop_assert_eq!(OpeningHours::parse(&hours.to_string()), Ok(hours));
        }
    }

    #[test]
    fn utc_offsets_round_trip(minutes in -720i16..=840) {
        let zone = Utc::Offset(minutes);
        prop_assert_eq!(Utc::parse(&zone.to_string()), Ok(zone));
    }

    #[test]
    fn parsers_never_panic(input in ".{0,70}") {
        let _ = ApiKey::parse(&input);
        let _ = OpeningHours::parse(&input);
        let _ = Utc::parse(&input);
        let _ = Interval::parse(&input);
        let _ = UnixTime::parse(&input);
        let _ = W3cDate::parse(&input);
        let _ = Manager::parse(&input);
        let _ = CallId::parse(&input);
    }
}
