//! Property tests of the key format: round trips, mutations, the scanner regex.

use formbox_auth::{KeyFormat, key::ParseError};
use proptest::prelude::*;
use regex::Regex;

fn prefix() -> impl Strategy<Value = String> {
    "[a-z0-9]{2,16}"
}

fn anchored(format: &KeyFormat) -> Regex {
    Regex::new(&format!("^(?:{})$", format.regex())).unwrap()
}

/// Every way of changing one character: replace, drop, add, or swap with its neighbour.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, char),
    Drop(usize),
    Add(usize, char),
    Swap(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let any_char = prop_oneof![
        4 => proptest::char::range('0', 'z'),
        1 => any::<char>(),
    ];
    prop_oneof![
        (0..64usize, any_char.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (0..64usize).prop_map(Mutation::Drop),
        (0..65usize, any_char).prop_map(|(i, c)| Mutation::Add(i, c)),
        (0..64usize).prop_map(Mutation::Swap),
    ]
}

/// Applies `mutation` to `key`, or `None` if it would leave the key unchanged.
fn apply(key: &str, mutation: &Mutation) -> Option<String> {
    let mut chars: Vec<char> = key.chars().collect();
    let n = chars.len();
    match *mutation {
        Mutation::Replace(i, c) => {
            let i = i % n;
            if chars[i] == c {
                return None;
            }
            chars[i] = c;
        }
        Mutation::Drop(i) => {
            chars.remove(i % n);
        }
        Mutation::Add(i, c) => chars.insert(i % (n + 1), c),
        Mutation::Swap(i) => {
            let i = i % (n - 1);
            if chars[i] == chars[i + 1] {
                return None;
            }
            chars.swap(i, i + 1);
        }
    }
    Some(chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_keys_round_trip_for_every_prefix(prefix in prefix()) {
        let format = KeyFormat::new(&prefix).unwrap();
        let key = format.generate().unwrap();
        let parsed = format.parse(key.expose_secret()).unwrap();
        prop_assert_eq!(parsed.id(), key.id());
        prop_assert_eq!(parsed.digest(), key.digest());
        prop_assert!(anchored(&format).is_match(key.expose_secret()));
    }

    #[test]
    fn any_one_character_change_is_rejected(prefix in prefix(), mutation in mutation()) {
        let format = KeyFormat::new(&prefix).unwrap();
        let key = format.generate().unwrap();
        if let Some(mutated) = apply(key.expose_secret(), &mutation) {
            prop_assert!(format.parse(&mutated).is_err(), "{:?} accepted", mutation);
        }
    }

    #[test]
    fn the_regex_rejects_every_change_of_shape(mutation in mutation()) {
        let format = KeyFormat::default();
        let key = format.generate().unwrap();
        let Some(mutated) = apply(key.expose_secret(), &mutation) else { return Ok(()) };
        let same_shape = mutated.len() == key.expose_secret().len()
            && mutated.starts_with("fbsk_")
            && mutated.as_bytes()[17] == b'_'
            && mutated.bytes().enumerate().all(|(i, b)| i == 4 || i == 17 || b.is_ascii_alphanumeric());
        // A letter swapped for another letter keeps the shape: only the checksum can tell.
        prop_assert_eq!(anchored(&format).is_match(&mutated), same_shape);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = KeyFormat::default().parse(&text);
    }

    #[test]
    fn parse_never_panics_on_near_keys(tail in "[0-9A-Za-z_]{0,60}") {
        let text = format!("fbsk_{tail}");
        let outcome = KeyFormat::default().parse(&text);
        prop_assert!(outcome.is_err() || text.len() == 56);
    }
}

#[test]
fn scanner_regex_finds_keys_in_surrounding_text() {
    let format = KeyFormat::default();
    let key = format.generate().unwrap();
    let text = format!("export FORMBOX_KEY=\"{}\" # prod", key.expose_secret());
    let found: Vec<&str> = Regex::new(&format.regex())
        .unwrap()
        .find_iter(&text)
        .map(|m| m.as_str())
        .collect();
    assert_eq!(found, [key.expose_secret()]);
}

#[test]
fn regex_does_not_match_a_key_inside_a_longer_word() {
    let format = KeyFormat::default();
    let key = format.generate().unwrap();
    let regex = Regex::new(&format.regex()).unwrap();
    assert!(!regex.is_match(&format!("x{}", key.expose_secret())));
    assert!(!regex.is_match(&format!("{}x", key.expose_secret())));
}

#[test]
fn every_parse_error_is_reachable() {
    let format = KeyFormat::default();
    let key = format.generate().unwrap();
    let text = key.expose_secret();
    assert_eq!(
        format.parse("nope_x").map(|p| p.id()),
        Err(ParseError::WrongPrefix)
    );
    assert!(matches!(
        format.parse(&text[..50]),
        Err(ParseError::WrongLength { .. })
    ));
    assert!(matches!(
        format.parse(&text.replacen('_', "-", 2).replacen('-', "_", 1)),
        Err(ParseError::BadCharacter { position: 17 })
    ));
    let last = if text.ends_with('A') { "B" } else { "A" };
    assert_eq!(
        format
            .parse(&format!("{}{last}", &text[..55]))
            .map(|p| p.id()),
        Err(ParseError::BadChecksum)
    );
}
