//! The page's stylesheet and script, embedded in the binary and served with a validator.

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use http::{
    HeaderMap, HeaderValue, StatusCode,
    header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS},
};
use sha2::{Digest, Sha256};

/// A file of the page: its bytes, type and entity tag.
pub(super) struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: LazyLock<HeaderValue>,
}

pub(super) static STYLESHEET: Asset = Asset {
    body: include_str!("assets/page.css"),
    content_type: "text/css; charset=utf-8",
    etag: LazyLock::new(|| etag_of(include_str!("assets/page.css"))),
};

pub(super) static SCRIPT: Asset = Asset {
    body: include_str!("assets/page.js"),
    content_type: "text/javascript; charset=utf-8",
    etag: LazyLock::new(|| etag_of(include_str!("assets/page.js"))),
};

impl Asset {
    /// The file, or `304 Not Modified` when the browser's copy is current. `no-cache` makes the
    /// browser ask each time, so that a new release of the page never meets an old script.
    pub(super) fn respond(&self, request: &HeaderMap) -> Response {
        let etag = &*self.etag;
        let mut response = if matches(request, etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = self.body.into_response();
            let content_type = HeaderValue::from_static(self.content_type);
            response.headers_mut().insert(CONTENT_TYPE, content_type);
            response
        };
        let headers = response.headers_mut();
        headers.insert(ETAG, etag.clone());
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        response
    }
}

/// A strong tag: the first 128 bits of the SHA-256 of the body, in hex and quotes.
fn etag_of(body: &str) -> HeaderValue {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::try_from(format!("\"{hex}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Whether `If-None-Match` names `etag` (weakly, as RFC 9110 says for this header) or is `*`.
fn matches(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    request
        .get_all(IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(|tag| tag.trim_ascii())
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_copy_is_not_sent_again() {
        let etag = SCRIPT.etag.to_str().unwrap().to_owned();
        let mut request = HeaderMap::new();
        let fresh = SCRIPT.respond(&request);
        assert_eq!(fresh.status(), StatusCode::OK);
        assert_eq!(fresh.headers()[ETAG], etag.as_str());
        for header in [etag.clone(), format!("\"other\", W/{etag}"), "*".into()] {
            request.insert(IF_NONE_MATCH, header.parse().unwrap());
            assert_eq!(SCRIPT.respond(&request).status(), StatusCode::NOT_MODIFIED);
        }
        request.insert(IF_NONE_MATCH, "\"other\"".parse().unwrap());
        assert_eq!(SCRIPT.respond(&request).status(), StatusCode::OK);
        assert_ne!(STYLESHEET.etag.as_bytes(), SCRIPT.etag.as_bytes());
    }
}
