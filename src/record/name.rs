//! The form in which key names are compared: [`KeyRecord::name_key`](super::KeyRecord::name_key).

use unicode_normalization::UnicodeNormalization;

/// `name` as names are compared: trimmed, in Unicode Normalization Form C, lowercased, and in
/// NFC again, since lowercasing may leave a string that is not.
pub(crate) fn name_key(name: &str) -> String {
    let name = name.trim();
    // ASCII is its own NFC, and lowercases to ASCII: the common case, without the tables.
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    let composed: String = name.nfc().collect();
    composed.to_lowercase().nfc().collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use unicode_normalization::is_nfc;

    use super::*;

    #[test]
    fn names_that_differ_in_case_spaces_or_composition_share_a_key() {
        let key = name_key("Café Bot");
        for same in [
            "café bot",
            "  CAFÉ BOT\t",
            "Cafe\u{301} Bot",
            "CAFE\u{301} BOT",
        ] {
            assert_eq!(name_key(same), key, "{same:?}");
        }
        assert_eq!(key, "caf\u{e9} bot");
        assert_ne!(name_key("Cafe Bot"), key);
        assert_eq!(name_key("  Deploy  "), "deploy");
        assert_eq!(name_key(""), "");
    }

    proptest! {
        #[test]
        fn a_name_key_is_its_own_key_in_nfc(name in any::<String>()) {
            let key = name_key(&name);
            prop_assert!(is_nfc(&key));
            prop_assert_eq!(name_key(&key), key);
        }
    }
}
