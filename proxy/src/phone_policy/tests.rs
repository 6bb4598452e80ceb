//! The phone policy's tests: parsing every spelling, classifying, the policy and its config.

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
    let unknown_key = serde_json::from_str::<PhonePolicyConfig>(r#"{"allowed_country":["RU"]}"#);
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

#[test]
fn callkeepers_spelling_of_a_stored_number_is_the_same_number() {
    assert!(same_number("79991234567", "89991234567"));
    assert!(same_number("79991234567", "+7 (999) 123-45-67"));
    assert!(same_number("84912345678", "84912345678"));
    assert!(!same_number("79991234567", "79991234568"));
    assert!(!same_number("79991234567", ""));
}
