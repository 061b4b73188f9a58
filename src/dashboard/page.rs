//! The page itself, and the notices shown instead of it.

use std::{borrow::Cow, sync::Arc};

use axum::{
    extract::{OriginalUri, Request, State},
    response::{IntoResponse, Response},
};
use http::{
    HeaderValue, StatusCode,
    header::{
        CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
        X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    },
    request::Parts,
};

use super::{
    access::DashboardAccess,
    gate::Gate,
    settings::Settings,
    template::{escape, render},
};

const PAGE_HTML: &str = include_str!("assets/page.html");
const NOTICE_HTML: &str = include_str!("assets/notice.html");

/// Only the page's own files, no inline code: nothing the API returns can run.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// What the page's handler shares.
#[derive(Debug)]
pub(super) struct Pages<A> {
    pub(super) gate: Gate<A>,
    pub(super) settings: Arc<Settings>,
}

impl<A: Clone> Clone for Pages<A> {
    fn clone(&self) -> Self {
        Self {
            gate: self.gate.clone(),
            settings: Arc::clone(&self.settings),
        }
    }
}

/// `GET` of the page: the signed-in viewer's keys, or a notice asking to sign in.
pub(super) async fn page<A: DashboardAccess>(
    State(pages): State<Pages<A>>,
    request: Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let base = pages.settings.base(&mounted_at(&parts));
    let settings = &pages.settings;
    let Ok(viewer) = pages.gate.admit(&mut parts).await else {
        return notice(StatusCode::UNAUTHORIZED, settings, &base, "signed_out");
    };
    let Some(token) = pages.gate.csrf.token(viewer.session()) else {
        tracing::error!("the dashboard has no CSRF secret: the system gave no randomness");
        return notice(StatusCode::SERVICE_UNAVAILABLE, settings, &base, "failed");
    };
    let data = settings.page_data(&base);
    let html = render(PAGE_HTML, |name| {
        Some(match name {
            "csrf_token" => Cow::Owned(token.clone()),
            "organization" => Cow::Owned(escape(viewer.organization().as_str())),
            "page_data" => Cow::Borrowed(data.as_str()),
            "grace_options" => Cow::Owned(settings.grace_options()),
            "expiry_options" => Cow::Owned(settings.expiry_options()),
            "restricted_choice" => Cow::Owned(settings.restricted_choice()),
            "scope_table" => Cow::Owned(settings.scope_table()),
            other => return settings.fill(other, &base),
        })
    });
    html_response(StatusCode::OK, html)
}

/// The path the page was requested at, as the client sent it: where the router is mounted.
fn mounted_at(parts: &Parts) -> String {
    let uri = match parts.extensions.get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri,
        None => &parts.uri,
    };
    uri.path().trim_end_matches('/').to_owned()
}

/// A small page that says what happened and what to do; `kind` names its texts
/// (`notice.KIND.title`, `notice.KIND.message`).
fn notice(status: StatusCode, settings: &Settings, base: &str, kind: &str) -> Response {
    let text = |key: String| escape(settings.text.get(&key).unwrap_or_default());
    let sign_in = match &settings.sign_in_url {
        Some(url) if kind == "signed_out" => format!(
            "<p><a class=\"button primary\" href=\"{}\">{}</a></p>",
            escape(url),
            text("notice.sign_in".into())
        ),
        _ => String::new(),
    };
    let html = render(NOTICE_HTML, |name| {
        Some(match name {
            "title" => Cow::Owned(text(format!("notice.{kind}.title"))),
            "message" => Cow::Owned(text(format!("notice.{kind}.message"))),
            "sign_in_link" => Cow::Borrowed(sign_in.as_str()),
            other => return settings.fill(other, base),
        })
    });
    html_response(status, html)
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_static("text/html; charset=utf-8");
    headers.insert(CONTENT_TYPE, content_type);
    let policy = HeaderValue::from_static(PAGE_POLICY);
    headers.insert(CONTENT_SECURITY_POLICY, policy);
    // The page holds the session's CSRF token.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::{settings::FRAGMENTS, template::placeholders, text::PageText};

    /// Every `{{t:key}}` of the templates is a key of the table, so no text goes missing.
    #[test]
    fn every_text_of_the_templates_is_in_the_table() {
        for template in [PAGE_HTML, NOTICE_HTML].into_iter().chain(FRAGMENTS) {
            for name in placeholders(template) {
                if let Some(key) = name.strip_prefix("t:") {
                    assert!(PageText::english().get(key).is_some(), "no text `{key}`");
                }
            }
        }
    }

    /// Every `t("key")` of the script is a key of the table.
    #[test]
    fn every_text_of_the_script_is_in_the_table() {
        let script = include_str!("assets/page.js");
        let call = regex::Regex::new(r#"\bt\("([^"]+)""#).unwrap();
        let mut found = 0;
        for key in call.captures_iter(script).map(|found| found[1].to_owned()) {
            assert!(PageText::english().get(&key).is_some(), "no text `{key}`");
            found += 1;
        }
        assert!(found > 20, "the script uses {found} texts");
    }
}
