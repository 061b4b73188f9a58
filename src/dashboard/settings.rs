//! What a host configures about the page: names, links, choices and texts.

use std::{borrow::Cow, time::Duration};

use super::{template::escape, text::PageText};

/// A choice of a `<select>`: seconds (`None`: never) and its label.
pub(super) type Choice = (Option<u64>, Label);

/// A choice's label: a text of the table (the default choices, translated with it), or the
/// host's own.
#[derive(Debug, Clone)]
pub(super) enum Label {
    Text(&'static str),
    Own(String),
}

/// The page's configuration, shared by its handlers.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) product: Option<String>,
    pub(super) back_link: Option<(String, String)>,
    pub(super) sign_in_url: Option<String>,
    pub(super) public_path: Option<String>,
    pub(super) text: PageText,
    pub(super) grace_periods: Vec<Choice>,
    pub(super) expiries: Vec<Choice>,
}

impl Default for Settings {
    fn default() -> Self {
        let hours = |n: u64| Some(n * 3600);
        let days = |n: u64| Some(n * 86_400);
        Self {
            product: None,
            back_link: None,
            sign_in_url: None,
            public_path: None,
            text: PageText::english(),
            grace_periods: choices([
                (None, "grace.none"),
                (hours(1), "grace.1_hour"),
                (hours(24), "grace.24_hours"),
                (days(7), "grace.7_days"),
            ]),
            expiries: choices([
                (None, "expiry.never"),
                (days(30), "expiry.30_days"),
                (days(90), "expiry.90_days"),
                (days(365), "expiry.1_year"),
            ]),
        }
    }
}

fn choices<const N: usize>(list: [(Option<u64>, &'static str); N]) -> Vec<Choice> {
    list.into_iter()
        .map(|(seconds, key)| (seconds, Label::Text(key)))
        .collect()
}

/// Durations as the choices hold them: whole seconds, zero meaning none.
pub(super) fn seconds(duration: Duration) -> Option<u64> {
    Some(duration.as_secs()).filter(|&seconds| seconds > 0)
}

impl Settings {
    /// Where the page's files and API are: the configured public path, or where it was
    /// requested.
    pub(super) fn base(&self, requested: &str) -> String {
        match &self.public_path {
            Some(path) => path.trim_end_matches('/').to_owned(),
            None => requested.to_owned(),
        }
    }

    /// The placeholders every template has: texts, the base path, the product and the link
    /// back to the host's app.
    pub(super) fn fill<'a>(&'a self, name: &str, base: &str) -> Option<Cow<'a, str>> {
        if let Some(key) = name.strip_prefix("t:") {
            return self.text.get(key).map(|text| Cow::Owned(escape(text)));
        }
        Some(match name {
            "base" => Cow::Owned(escape(base)),
            "product_suffix" => match &self.product {
                Some(product) => Cow::Owned(format!(" · {}", escape(product))),
                None => Cow::Borrowed(""),
            },
            "back_link" => Cow::Owned(self.brand()),
            _ => return None,
        })
    }

    /// The top bar's left side: the link back to the host's app, or the product's name.
    fn brand(&self) -> String {
        match (&self.back_link, &self.product) {
            (Some((label, href)), _) => {
                format!("<a href=\"{}\">{}</a>", escape(href), escape(label))
            }
            (None, Some(product)) => escape(product),
            (None, None) => String::new(),
        }
    }

    /// The data the script reads: where the API is, and the texts.
    pub(super) fn page_data(&self, base: &str) -> String {
        let text: serde_json::Map<String, serde_json::Value> = self
            .text
            .entries()
            .map(|(key, text)| (key.to_owned(), text.into()))
            .collect();
        let data = serde_json::json!({ "api": format!("{base}/api/api-keys"), "text": text });
        // Inside <script>, only `</script` could end the element: no `<` is left to start it.
        data.to_string().replace('<', "\\u003c")
    }

    pub(super) fn grace_options(&self) -> String {
        self.options(&self.grace_periods, |seconds| {
            seconds.unwrap_or(0).to_string()
        })
    }

    pub(super) fn expiry_options(&self) -> String {
        self.options(&self.expiries, |seconds| {
            seconds.map(|s| s.to_string()).unwrap_or_default()
        })
    }

    /// `<option>`s for `choices`, the first selected.
    fn options(&self, choices: &[Choice], value: impl Fn(Option<u64>) -> String) -> String {
        let mut html = String::new();
        for (index, (seconds, label)) in choices.iter().enumerate() {
            let label = match label {
                Label::Text(key) => self.text.get(key).unwrap_or_default(),
                Label::Own(label) => label,
            };
            let selected = if index == 0 { " selected" } else { "" };
            html.push_str(&format!(
                "<option value=\"{}\"{selected}>{}</option>",
                value(*seconds),
                escape(label)
            ));
        }
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_data_cannot_close_its_script_element() {
        let text = PageText::english().set("row.revoke", "</script><script>alert(1)</script>");
        let settings = Settings {
            text: text.unwrap(),
            ..Settings::default()
        };
        let data = settings.page_data("/keys");
        assert!(!data.contains('<'));
        let parsed: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(parsed["api"], "/keys/api/api-keys");
        assert_eq!(
            parsed["text"]["row.revoke"],
            "</script><script>alert(1)</script>"
        );
    }

    #[test]
    fn choices_render_as_options_with_the_first_selected() {
        let settings = Settings::default();
        let grace = settings.grace_options();
        assert!(grace.starts_with("<option value=\"0\" selected>None</option>"));
        assert!(grace.contains("<option value=\"604800\">7 days</option>"));
        let expiry = settings.expiry_options();
        assert!(expiry.starts_with("<option value=\"\" selected>Never</option>"));
    }

    #[test]
    fn default_choices_are_labelled_by_the_table() {
        let text = PageText::english().set("grace.1_hour", "1 Stunde").unwrap();
        let settings = Settings {
            text,
            ..Settings::default()
        };
        assert!(settings.grace_options().contains(">1 Stunde</option>"));
    }

    #[test]
    fn brand_is_the_back_link_or_the_product() {
        let mut settings = Settings::default();
        assert_eq!(settings.brand(), "");
        settings.product = Some("Acme & Co".into());
        assert_eq!(settings.brand(), "Acme &amp; Co");
        settings.back_link = Some(("Back to Acme".into(), "/app?a=\"1\"".into()));
        assert_eq!(
            settings.brand(),
            "<a href=\"/app?a=&quot;1&quot;\">Back to Acme</a>"
        );
    }
}
