//! What a key's name may be.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::{ManageError, ManageResult, NewKey};

/// The name as stored: trimmed, in Unicode Normalization Form C (so that a name is kept, shown
/// and compared in one form), non-empty, at most [`NewKey::MAX_NAME_CHARS`] characters, and
/// without characters a person cannot see or that break a line in a list: control characters
/// (`Cc`), invisible formatting characters (`Cf`: zero-width spaces and joiners, direction
/// marks, embeddings, overrides and isolates, the byte order mark, soft hyphens, tags), and line
/// and paragraph separators (`Zl`, `Zp`). General categories of Unicode 18.0
/// (`unicode-properties`).
pub(super) fn validate_name(name: &str) -> ManageResult<String> {
    let name: String = name.trim().nfc().collect();
    if name.is_empty() {
        return Err(ManageError::InvalidName("the name is empty"));
    }
    if name.chars().count() > NewKey::MAX_NAME_CHARS {
        return Err(ManageError::InvalidName(
            "the name is longer than 100 characters",
        ));
    }
    for c in name.chars() {
        match c.general_category() {
            GeneralCategory::Control => {
                return Err(ManageError::InvalidName(
                    "the name contains control characters",
                ));
            }
            GeneralCategory::Format => {
                return Err(ManageError::InvalidName(
                    "the name contains invisible formatting characters \
                     (such as zero-width spaces or direction overrides)",
                ));
            }
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
                return Err(ManageError::InvalidName(
                    "the name contains line or paragraph separators",
                ));
            }
            _ => {}
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use unicode_normalization::is_nfc;

    use super::*;

    fn refused(name: &str) -> Option<&'static str> {
        match validate_name(name) {
            Err(ManageError::InvalidName(reason)) => Some(reason),
            Err(other) => panic!("{name:?}: {other:?}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn names_are_trimmed_and_composed() {
        assert_eq!(validate_name("  Zapier \t").unwrap(), "Zapier");
        assert_eq!(validate_name("Cafe\u{301}").unwrap(), "Caf\u{e9}");
        assert_eq!(validate_name("Caf\u{e9}").unwrap(), "Caf\u{e9}");
        // Hangul jamo compose into one syllable.
        assert_eq!(validate_name("\u{1100}\u{1161}").unwrap(), "\u{ac00}");
    }

    #[test]
    fn the_length_is_counted_in_the_composed_name() {
        assert!(validate_name(&"e\u{301}".repeat(100)).is_ok());
        assert!(validate_name(&"\u{e9}".repeat(100)).is_ok());
        assert!(refused(&"\u{e9}".repeat(101)).is_some());
        assert!(refused(&"x".repeat(101)).is_some());
    }

    #[test]
    fn empty_and_blank_names_are_refused() {
        for blank in ["", " ", "\t\n", "\u{a0}\u{3000}"] {
            assert_eq!(refused(blank), Some("the name is empty"), "{blank:?}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        for name in [
            "tab\tinside",
            "nul\0",
            "del\u{7f}x",
            "c1\u{85}x",
            "esc\u{1b}[31m",
        ] {
            assert_eq!(
                refused(name),
                Some("the name contains control characters"),
                "{name:?}"
            );
        }
    }

    #[test]
    fn invisible_formatting_characters_are_refused() {
        let format = [
            '\u{ad}',    // soft hyphen
            '\u{600}',   // Arabic number sign
            '\u{61c}',   // Arabic letter mark
            '\u{180e}',  // Mongolian vowel separator
            '\u{200b}',  // zero-width space
            '\u{200c}',  // zero-width non-joiner
            '\u{200d}',  // zero-width joiner
            '\u{200e}',  // left-to-right mark
            '\u{200f}',  // right-to-left mark
            '\u{202a}',  // left-to-right embedding
            '\u{202b}',  // right-to-left embedding
            '\u{202c}',  // pop directional formatting
            '\u{202d}',  // left-to-right override
            '\u{202e}',  // right-to-left override
            '\u{2060}',  // word joiner
            '\u{2066}',  // left-to-right isolate
            '\u{2067}',  // right-to-left isolate
            '\u{2068}',  // first strong isolate
            '\u{2069}',  // pop directional isolate
            '\u{feff}',  // byte order mark, zero-width no-break space
            '\u{fff9}',  // interlinear annotation anchor
            '\u{e0001}', // language tag
            '\u{e0041}', // tag latin capital letter a
        ];
        for c in format {
            for name in [format!("demo{c}"), format!("{c}demo"), format!("de{c}mo")] {
                assert!(
                    refused(&name).is_some_and(|reason| reason.contains("invisible")),
                    "U+{:04X} in {name:?}",
                    u32::from(c)
                );
            }
        }
        assert!(refused("demo full access\u{200b}").is_some());
        assert!(refused("\u{202e}evil").is_some());
    }

    #[test]
    fn line_and_paragraph_separators_are_refused() {
        for name in ["one\u{2028}two", "one\u{2029}two"] {
            assert_eq!(
                refused(name),
                Some("the name contains line or paragraph separators"),
                "{name:?}"
            );
        }
    }

    #[test]
    fn visible_text_of_any_script_is_accepted() {
        for name in [
            "Zapier integration",
            "ключ",
            "鍵 🔑",
            "مفتاح",
            "נ\u{5b8}",          // a letter with a vowel point
            "\u{2764}\u{fe0f}",  // a heart with its emoji variation selector
            "a\u{a0}b\u{3000}c", // no-break and ideographic spaces inside
            "it's \"quoted\" — 100 %",
        ] {
            assert_eq!(validate_name(name).ok().as_deref(), Some(name), "{name:?}");
        }
    }

    /// Names of any characters, with the invisible ones often among them.
    fn names() -> impl Strategy<Value = String> {
        let tricky = prop::sample::select(vec![
            ' ',
            '\t',
            '\u{301}',
            '\u{200b}',
            '\u{200d}',
            '\u{202e}',
            '\u{2028}',
            '\u{feff}',
            '\u{ad}',
            '\u{e0041}',
            'e',
            'E',
            '\u{e9}',
            '\u{1100}',
            '\u{1161}',
            '\u{3a3}',
        ]);
        let c = prop_oneof![any::<char>(), tricky];
        prop::collection::vec(c, 0..120).prop_map(String::from_iter)
    }

    proptest! {
        #[test]
        fn an_accepted_name_is_trimmed_composed_visible_and_its_own_validation(name in names()) {
            if let Ok(valid) = validate_name(&name) {
                prop_assert_eq!(validate_name(&valid).ok(), Some(valid.clone()));
                prop_assert!(is_nfc(&valid));
                prop_assert_eq!(valid.trim(), valid.as_str());
                prop_assert!(!valid.is_empty());
                prop_assert!(valid.chars().count() <= NewKey::MAX_NAME_CHARS);
                for c in valid.chars() {
                    let category = c.general_category();
                    prop_assert!(
                        !matches!(
                            category,
                            GeneralCategory::Control
                                | GeneralCategory::Format
                                | GeneralCategory::LineSeparator
                                | GeneralCategory::ParagraphSeparator
                        ),
                        "U+{:04X} is {:?}", u32::from(c), category
                    );
                }
            }
        }

        #[test]
        fn any_name_is_refused_or_accepted_never_a_panic(name in any::<String>()) {
            let _ = validate_name(&name);
        }
    }
}
