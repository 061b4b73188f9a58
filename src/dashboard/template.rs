//! A tiny template: `{{name}}` placeholders, filled by a function, with HTML escaping helpers.

use std::borrow::Cow;

/// `template` with each `{{name}}` replaced by `fill(name)`; a name `fill` does not know becomes
/// nothing. Values are inserted as given: escape them with [`escape`] where they are text.
pub(super) fn render<'a>(
    template: &str,
    mut fill: impl FnMut(&str) -> Option<Cow<'a, str>>,
) -> String {
    let mut out = String::with_capacity(template.len() + template.len() / 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        if let Some(value) = fill(&after[..end]) {
            out.push_str(&value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The names of every placeholder in `template`.
#[cfg(test)]
pub(super) fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    render(template, |name| {
        names.push(name.to_owned());
        None::<Cow<'_, str>>
    });
    names
}

/// Text made safe inside HTML elements and quoted attributes.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_dropped() {
        let out = render("a {{x}} b {{y}} c {{", |name| {
            (name == "x").then_some(Cow::Borrowed("X"))
        });
        assert_eq!(out, "a X b  c {{");
        assert_eq!(placeholders("{{a}}{{t:b.c}}"), ["a", "t:b.c"]);
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
