//! Inputs from fuzzing, kept as tests: the committed seeds of `fuzz/corpus/parse_key` must still
//! mean what their names say, so the fuzzer keeps starting from real keys and near misses.
//!
//! A seed is either a key of the default format, or (as the fuzz target reads it) one byte giving
//! a prefix length, the prefix, and a key of that prefix. `valid_*` seeds parse one of the two
//! ways; `near_*` seeds parse neither way.

use std::path::Path;

use formbox_auth::KeyFormat;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_key");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    seeds
}

/// Whether `data` is a key of the default format, or a prefixed key as the fuzz target reads it.
fn parses(data: &[u8]) -> bool {
    let default =
        std::str::from_utf8(data).is_ok_and(|text| KeyFormat::default().parse(text).is_ok());
    let prefixed = data.split_first().is_some_and(|(&first, rest)| {
        let Some((prefix, key)) = rest.split_at_checked(usize::from(first) % 20) else {
            return false;
        };
        match (std::str::from_utf8(prefix), std::str::from_utf8(key)) {
            (Ok(prefix), Ok(key)) => KeyFormat::new(prefix).is_ok_and(|f| f.parse(key).is_ok()),
            _ => false,
        }
    });
    default || prefixed
}

#[test]
fn committed_parse_key_seeds_are_what_their_names_say() {
    let seeds = seeds();
    assert!(seeds.iter().any(|(name, _)| name.starts_with("valid_")));
    assert!(seeds.iter().any(|(name, _)| name.starts_with("near_")));
    for (name, data) in &seeds {
        if name.starts_with("valid_") {
            assert!(parses(data), "{name} does not parse");
        } else if name.starts_with("near_") {
            assert!(!parses(data), "{name} parses");
        }
    }
}
