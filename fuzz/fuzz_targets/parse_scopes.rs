//! Scope text against an oracle written from the documented grammar: `RESOURCE:read` or
//! `RESOURCE:write`, a resource being 1 to 32 of `[a-z0-9_]` starting with a letter.
//!
//! The input is read two ways. As text from a request, through a declaration
//! (`Resources::scope`): it parses if and only if it matches the grammar over a declared
//! resource. As a stored access
//! (`Access`'s `FromStr`, which does name resources): it never panics, and what parses prints
//! back as text that parses to the same access.

#![no_main]

use std::sync::LazyLock;

use formbox_auth::{Access, permission::Resources};
use libfuzzer_sys::fuzz_target;
use regex::Regex;

/// The declaration every input is read against.
static DECLARED: LazyLock<Resources> =
    LazyLock::new(|| Resources::new(["forms", "submissions", "api_keys", "a"]).unwrap());

/// The documented grammar of one scope, anchored to the whole string.
static SCOPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^([a-z][a-z0-9_]{0,31}):(read|write)$").unwrap());

fuzz_target!(|text: &str| {
    let declared = &*DECLARED;
    let expected = SCOPE
        .captures(text)
        .filter(|captures| declared.get(&captures[1]).is_some());
    match declared.scope(text) {
        Ok(scope) => {
            assert!(expected.is_some(), "accepted {text:?}");
            assert_eq!(scope.to_string(), text);
        }
        Err(error) => {
            assert!(expected.is_none(), "refused {text:?}: {error}");
            assert!(!error.to_string().is_empty());
        }
    }
    // A list is accepted only if every item is.
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    let every = items.iter().all(|item| declared.scope(item).is_ok());
    assert_eq!(declared.scopes(&items).is_ok(), every, "{items:?}");

    // A stored access: short texts only, so that a run does not spend the table's 128 places
    // on names in the first second; a full table is an error, not a panic.
    if text.len() <= 48
        && let Ok(access) = text.parse::<Access>()
    {
        let printed = access.to_string();
        assert_eq!(printed.parse::<Access>(), Ok(access), "{text:?} printed as {printed:?}");
    }
});
