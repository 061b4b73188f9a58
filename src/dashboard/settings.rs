//! What a host configures about the page: names, links, choices, texts, and the resources keys
//! may be restricted to.

use std::{borrow::Cow, time::Duration};

use super::{
    template::{escape, render},
    text::PageText,
};
use crate::permission::{Resource, Resources};

/// The `restricted` choice of the Create dialog's permission.
const RESTRICTED_CHOICE_HTML: &str = include_str!("assets/restricted_choice.html");
/// The table of resources that choice reveals, around its rows.
const SCOPE_TABLE_HTML: &str = include_str!("assets/scope_table.html");
/// One resource's row of that table.
const SCOPE_ROW_HTML: &str = include_str!("assets/scope_row.html");

/// The parts of the page only some hosts get, for the check that their texts are in the table.
#[cfg(test)]
pub(super) const FRAGMENTS: [&str; 3] = [RESTRICTED_CHOICE_HTML, SCOPE_TABLE_HTML, SCOPE_ROW_HTML];

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
    /// What restricted keys may be scoped over: the manager's declaration.
    pub(super) resources: Resources,
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
            resources: Resources::none(),
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

    /// The data the script reads: where the API is, the resources keys may be restricted to
    /// (in the order declared), and the texts.
    pub(super) fn page_data(&self, base: &str) -> String {
        let text: serde_json::Map<String, serde_json::Value> = self
            .text
            .entries()
            .map(|(key, text)| (key.to_owned(), text.into()))
            .collect();
        let resources: Vec<&str> = self.resources.iter().map(Resource::name).collect();
        let data = serde_json::json!({
            "api": format!("{base}/api/api-keys"),
            "resources": resources,
            "text": text,
        });
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

    /// The Create dialog's third permission, `restricted`, when there are resources to restrict
    /// a key to; nothing otherwise, since such a key could reach nothing.
    pub(super) fn restricted_choice(&self) -> String {
        if self.resources.is_empty() {
            return String::new();
        }
        self.fragment(RESTRICTED_CHOICE_HTML, |_| None)
    }

    /// The table the `restricted` choice reveals: a row per resource, in the order declared,
    /// each a group of radios (none, read, write) named after the resource. Nothing when there
    /// are no resources.
    pub(super) fn scope_table(&self) -> String {
        if self.resources.is_empty() {
            return String::new();
        }
        let rows: String = self
            .resources
            .iter()
            .map(|resource| {
                let name = escape(resource.name());
                self.fragment(SCOPE_ROW_HTML, |placeholder| {
                    (placeholder == "resource").then(|| name.clone())
                })
            })
            .collect();
        self.fragment(SCOPE_TABLE_HTML, |placeholder| {
            (placeholder == "scope_rows").then(|| rows.clone())
        })
    }

    /// `template` with its texts and the placeholders `own` fills.
    fn fragment(&self, template: &str, own: impl Fn(&str) -> Option<String>) -> String {
        render(template, |name| match own(name) {
            Some(value) => Some(Cow::Owned(value)),
            None => self.fill(name, ""),
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

    fn declaring(names: &[&str]) -> Settings {
        Settings {
            resources: Resources::new(names).unwrap(),
            ..Settings::default()
        }
    }

    #[test]
    fn page_data_lists_the_resources_in_the_order_declared() {
        let data = declaring(&["rs_page_b", "rs_page_a"]).page_data("/keys");
        let parsed: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            parsed["resources"],
            serde_json::json!(["rs_page_b", "rs_page_a"])
        );
        let data = Settings::default().page_data("/keys");
        let parsed: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(parsed["resources"], serde_json::json!([]));
    }

    #[test]
    fn without_resources_restricted_is_not_offered() {
        let settings = Settings::default();
        assert_eq!(settings.restricted_choice(), "");
        assert_eq!(settings.scope_table(), "");
    }

    #[test]
    fn the_scope_table_has_a_labelled_group_per_resource_at_none() {
        let settings = declaring(&["rs_table_b", "rs_table_a"]);
        let choice = settings.restricted_choice();
        assert!(choice.contains(r#"value="restricted""#), "{choice}");
        assert!(choice.contains(">Restricted</label>"), "{choice}");
        let table = settings.scope_table();
        assert!(!table.contains("{{"), "every placeholder filled: {table}");
        assert!(table.contains(r#"name="scopes""#) && table.contains(" hidden>"));
        let b = table.find(r#"data-resource="rs_table_b""#).unwrap();
        let a = table.find(r#"data-resource="rs_table_a""#).unwrap();
        assert!(b < a, "rows in the order declared");
        for resource in ["rs_table_b", "rs_table_a"] {
            let group = format!(r#"role="radiogroup" aria-labelledby="create-scope-{resource}""#);
            assert!(table.contains(&group), "{resource}");
            let name = format!(r#"id="create-scope-{resource}">{resource}</span>"#);
            assert!(table.contains(&name), "{resource}");
            for level in ["none", "read", "write"] {
                let radio = format!(r#"name="scope:{resource}" value="{level}""#);
                assert!(table.contains(&radio), "{resource} {level}");
            }
            let default = format!(r#"name="scope:{resource}" value="none" checked>"#);
            assert!(table.contains(&default), "{resource} starts at None");
        }
        assert_eq!(table.matches(" checked>").count(), 2, "one choice per row");
    }

    #[test]
    fn the_scope_table_is_worded_by_the_table() {
        let text = PageText::english().set("scope.write", "Schreiben").unwrap();
        let settings = Settings {
            text,
            ..declaring(&["rs_text"])
        };
        assert!(settings.scope_table().contains(">Schreiben</label>"));
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
