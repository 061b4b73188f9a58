//! The example server's Settings › API Keys page: sign-in links, session cookies, and who may
//! call the management API behind it, driven through the real router.

#[path = "../../examples/server/dashboard/mod.rs"]
#[allow(dead_code)]
mod dashboard;

use crate::common;
use axum::Router;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission};
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::Value;

const ORGANIZATION: &str = "org_demo";

struct Page {
    router: Router,
    dashboard: dashboard::Dashboard,
    manager: KeyManager,
}

/// What the router answered.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap().to_owned()
    }
}

/// A signed-in browser: its cookie and the CSRF token its page carries.
struct Browser {
    cookie: String,
    csrf_token: String,
}

impl Page {
    fn new() -> Self {
        let manager = KeyManager::new(MemoryStore::new());
        let dashboard = dashboard::Dashboard::new(manager.clone());
        Self {
            router: dashboard.router(),
            dashboard,
            manager,
        }
    }

    fn sign_in_uri(&self) -> String {
        let token = self
            .dashboard
            .sign_in_token(OrganizationId::from(ORGANIZATION))
            .unwrap();
        format!("/dashboard/sign-in?token={token}")
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

    /// Signs in as the browser would: the link, then the page it redirects to.
    async fn sign_in(&self) -> Browser {
        let answer = self.get(&self.sign_in_uri()).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        let set_cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let page = self
            .send(
                Request::get("/settings/api-keys").header(header::COOKIE, &cookie),
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = regex::Regex::new(r#"<meta name="csrf-token" content="([0-9a-f]{64})">"#)
            .unwrap()
            .captures(&page.body)
            .expect("the page carries the CSRF token")[1]
            .to_owned();
        Browser {
            cookie,
            csrf_token: csrf,
        }
    }
}

const NEW_KEY: &str = r#"{"name":"CI","permission":"read_only"}"#;

#[tokio::test]
async fn sign_in_link_works_once() {
    let page = Page::new();
    let uri = page.sign_in_uri();
    let first = page.get(&uri).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.headers[header::LOCATION], "/settings/api-keys");
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
        "/dashboard/sign-in",
        "/dashboard/sign-in?token=",
        "/dashboard/sign-in?token=00",
        "/dashboard/sign-in?token=%3Cscript%3E",
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

#[tokio::test]
async fn page_without_session_asks_to_sign_in() {
    let page = Page::new();
    for cookie in [None, Some("formbox_session=0123"), Some("other=1")] {
        let mut request = Request::get("/settings/api-keys");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let answer = page.send(request, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{cookie:?}");
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(answer.body.contains("sign-in link"), "{}", answer.body);
        assert!(!answer.body.contains("csrf-token"));
    }
}

#[tokio::test]
async fn page_carries_the_csrf_token_and_a_strict_policy() {
    let page = Page::new();
    let browser = page.sign_in().await;
    let answer = page
        .send(
            Request::get("/settings/api-keys").header(header::COOKIE, &browser.cookie),
            None,
        )
        .await;
    let policy = answer.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert!(answer.body.contains(ORGANIZATION));
    for (asset, content_type) in [
        ("/dashboard/page.js", "text/javascript"),
        ("/dashboard/page.css", "text/css"),
    ] {
        let answer = page.get(asset).await;
        assert_eq!(answer.status, StatusCode::OK, "{asset}");
        assert_eq!(answer.headers[header::CONTENT_TYPE], content_type);
    }
}

#[tokio::test]
async fn api_without_session_is_401_not_signed_in() {
    let page = Page::new();
    let key = page
        .manager
        .create(
            &OrganizationId::from(ORGANIZATION),
            NewKey::new("full", Permission::FullAccess),
        )
        .await
        .unwrap();
    let requests = [
        Request::get("/dashboard/api/api-keys"),
        Request::get("/dashboard/api/api-keys").header(header::COOKIE, "formbox_session=nope"),
        // An API key is no browser credential here, not even a full-access one.
        Request::get("/dashboard/api/api-keys").header("api-key", key.key.expose_secret()),
        Request::post("/dashboard/api/api-keys")
            .header("api-key", key.key.expose_secret())
            .header(header::CONTENT_TYPE, "application/json"),
    ];
    for request in requests {
        let answer = page.send(request, Some(NEW_KEY)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.error_code(), "not_signed_in");
    }
}

#[tokio::test]
async fn write_without_the_csrf_token_is_403() {
    let page = Page::new();
    let browser = page.sign_in().await;
    let wrong = "0".repeat(64);
    for token in [None, Some(""), Some(wrong.as_str())] {
        let mut request = Request::post("/dashboard/api/api-keys")
            .header(header::COOKIE, &browser.cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        let answer = page.send(request, Some(NEW_KEY)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{token:?}");
        assert_eq!(answer.error_code(), "invalid_csrf_token");
    }
    let list = page
        .manager
        .list(&OrganizationId::from(ORGANIZATION))
        .await
        .unwrap();
    assert!(list.is_empty(), "nothing was created");
}

#[tokio::test]
async fn signed_in_browser_manages_its_organizations_keys() {
    let page = Page::new();
    let foreign = page
        .manager
        .create(
            &OrganizationId::from("org_other"),
            NewKey::new("theirs", Permission::FullAccess),
        )
        .await
        .unwrap();
    let browser = page.sign_in().await;
    let created = page
        .send(
            Request::post("/dashboard/api/api-keys")
                .header(header::COOKIE, &browser.cookie)
                .header("x-csrf-token", &browser.csrf_token)
                .header(header::CONTENT_TYPE, "application/json"),
            Some(NEW_KEY),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.headers[header::CACHE_CONTROL], "no-store");
    let created = created.json();
    assert!(created["key"].as_str().unwrap().starts_with("fbsk_"));

    // Reads need the cookie only.
    let list = page
        .send(
            Request::get("/dashboard/api/api-keys").header(header::COOKIE, &browser.cookie),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [created["id"].as_str().unwrap()]);

    let foreign = format!("/dashboard/api/api-keys/{}", foreign.info.id);
    let answer = page
        .send(
            Request::delete(foreign.as_str())
                .header(header::COOKIE, &browser.cookie)
                .header("x-csrf-token", &browser.csrf_token),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_session_has_its_own_csrf_token() {
    let page = Page::new();
    let first = page.sign_in().await;
    let second = page.sign_in().await;
    assert_ne!(first.cookie, second.cookie);
    assert_ne!(first.csrf_token, second.csrf_token);
    let answer = page
        .send(
            Request::post("/dashboard/api/api-keys")
                .header(header::COOKIE, &first.cookie)
                .header("x-csrf-token", &second.csrf_token)
                .header(header::CONTENT_TYPE, "application/json"),
            Some(NEW_KEY),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}
