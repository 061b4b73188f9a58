//! The example server's demo sign-in: one-time links, session cookies, and the page they open.

#[path = "../../examples/server/sign_in/mod.rs"]
#[allow(dead_code)]
mod sign_in;

use crate::common;
use axum::Router;
use formbox_auth::dashboard::Dashboard;
use formbox_auth::{KeyManager, MemoryStore, OrganizationId};
use http::{HeaderMap, Request, StatusCode, header};

const ORGANIZATION: &str = "org_demo";
const PAGE: &str = "/settings/api-keys";

struct Page {
    router: Router,
    sign_in: sign_in::DemoSignIn,
}

/// What the router answered.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn new() -> Self {
        let manager = KeyManager::new(MemoryStore::new());
        let sign_in = sign_in::DemoSignIn::new(PAGE);
        let dashboard = Dashboard::new(manager, sign_in.clone());
        Self {
            router: sign_in.router().nest(PAGE, dashboard.router()),
            sign_in,
        }
    }

    fn sign_in_uri(&self) -> String {
        let token = self
            .sign_in
            .token(OrganizationId::from(ORGANIZATION))
            .unwrap();
        format!("/sign-in?token={token}")
    }

    async fn send(&self, request: http::request::Builder, body: Option<&str>) -> Answer {
        let response = common::through(&self.router, request, body).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body();
        Answer {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri), None).await
    }
}

#[tokio::test]
async fn the_cookie_opens_the_page_for_the_demo_organization() {
    let page = Page::new();
    let answer = page.get(&page.sign_in_uri()).await;
    let set_cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let answer = page
        .send(Request::get(PAGE).header(header::COOKIE, &cookie), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains(ORGANIZATION));
    for cookie in ["formbox_session=0123", "other=1"] {
        let answer = page
            .send(Request::get(PAGE).header(header::COOKIE, cookie), None)
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{cookie}");
    }
}

#[tokio::test]
async fn sign_in_link_works_once() {
    let page = Page::new();
    let uri = page.sign_in_uri();
    let first = page.get(&uri).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.headers[header::LOCATION], PAGE);
    assert_eq!(first.headers[header::REFERRER_POLICY], "no-referrer");

    let second = page.get(&uri).await;
    assert_eq!(second.status, StatusCode::UNAUTHORIZED);
    assert!(second.headers.get(header::SET_COOKIE).is_none());
    assert!(second.body.contains("works once"), "{}", second.body);
}

#[tokio::test]
async fn unknown_or_missing_sign_in_token_opens_no_session() {
    let page = Page::new();
    page.sign_in_uri();
    for uri in [
        "/sign-in",
        "/sign-in?token=",
        "/sign-in?token=00",
        "/sign-in?token=%3Cscript%3E",
    ] {
        let answer = page.get(uri).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(answer.headers.get(header::SET_COOKIE).is_none(), "{uri}");
        assert!(!answer.body.contains("<script>"), "{uri}");
    }
}

#[tokio::test]
async fn session_cookie_is_http_only_and_strict() {
    let page = Page::new();
    let answer = page.get(&page.sign_in_uri()).await;
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    let attributes: Vec<&str> = cookie.split("; ").collect();
    assert!(
        regex::Regex::new("^formbox_session=[0-9a-f]{64}$")
            .unwrap()
            .is_match(attributes[0]),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(attributes.contains(&attribute), "{attribute} in {cookie}");
    }
    assert!(!attributes.contains(&"Secure"), "plain http: {cookie}");
}

#[tokio::test]
async fn session_cookie_is_secure_behind_an_https_proxy() {
    let page = Page::new();
    let answer = page
        .send(
            Request::get(page.sign_in_uri()).header("x-forwarded-proto", "https"),
            None,
        )
        .await;
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.split("; ").any(|a| a == "Secure"), "{cookie}");
}
