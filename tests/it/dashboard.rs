//! The Settings › API Keys page as a host mounts it: under its own prefix, behind its own
//! sign-in, driven through the real router.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::common;
use axum::Router;
use formbox_auth::dashboard::{Dashboard, DashboardAccess, PageText, Viewer};
use formbox_auth::lifecycle::NewKey;
use formbox_auth::permission::Resources;
use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission};
use http::{HeaderMap, Request, StatusCode, header, request::Parts};
use serde_json::Value;

const MOUNT: &str = "/account/keys";
const ORIGIN: &str = "http://app.test";
const NEW_KEY: &str = r#"{"name":"CI","permission":"read_only"}"#;

/// The host's sign-in: the `x-session` header names a session of this table.
#[derive(Clone, Default)]
struct HostSessions(Arc<Mutex<HashMap<String, OrganizationId>>>);

impl HostSessions {
    fn open(&self, session: &str, organization: &str) {
        let mut sessions = self.0.lock().unwrap();
        sessions.insert(session.to_owned(), OrganizationId::from(organization));
    }
}

impl DashboardAccess for HostSessions {
    async fn viewer(&self, parts: &mut Parts) -> Option<Viewer> {
        let session = parts.headers.get("x-session")?.to_str().ok()?;
        let organization = self.0.lock().unwrap().get(session)?.clone();
        Some(Viewer::new(session, organization))
    }
}

struct Host {
    router: Router,
    manager: KeyManager,
    sessions: HostSessions,
}

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

impl Host {
    fn new() -> Self {
        Self::with(|dashboard| dashboard)
    }

    fn with(configure: impl FnOnce(Dashboard<HostSessions>) -> Dashboard<HostSessions>) -> Self {
        Self::serving(KeyManager::new(MemoryStore::new()), configure)
    }

    /// A host whose restricted keys may be scoped over `resources`.
    fn declaring(resources: &[&str]) -> Self {
        let resources = Resources::new(resources).unwrap();
        let manager = KeyManager::new(MemoryStore::new()).with_resources(resources);
        Self::serving(manager, |dashboard| dashboard)
    }

    fn serving(
        manager: KeyManager,
        configure: impl FnOnce(Dashboard<HostSessions>) -> Dashboard<HostSessions>,
    ) -> Self {
        let sessions = HostSessions::default();
        sessions.open("s1", "org_a");
        sessions.open("s2", "org_a");
        sessions.open("s3", "org_b");
        let dashboard = configure(Dashboard::new(manager.clone(), sessions.clone()));
        Self {
            router: Router::new().nest(MOUNT, dashboard.router()),
            manager,
            sessions,
        }
    }

    async fn send(&self, request: http::request::Builder, body: Option<&str>) -> Answer {
        let request = request.header(header::HOST, "app.test");
        let response = common::through(&self.router, request, body).await;
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: String::from_utf8(response.into_body().to_vec()).unwrap(),
        }
    }

    async fn page(&self, session: Option<&str>) -> Answer {
        let mut request = Request::get(MOUNT);
        if let Some(session) = session {
            request = request.header("x-session", session);
        }
        self.send(request, None).await
    }

    /// The CSRF token of the page `session` is served.
    async fn csrf_token(&self, session: &str) -> String {
        let page = self.page(Some(session)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let pattern = r#"<meta name="csrf-token" content="([0-9a-f]{64})">"#;
        regex::Regex::new(pattern)
            .unwrap()
            .captures(&page.body)
            .unwrap()[1]
            .to_owned()
    }

    /// A write as the page sends it: session, token and origin.
    async fn write(&self, method: &str, path: &str, session: &str, body: Option<&str>) -> Answer {
        let token = self.csrf_token(session).await;
        let request = Request::builder()
            .method(method)
            .uri(format!("{MOUNT}/api/api-keys{path}"))
            .header("x-session", session)
            .header("x-csrf-token", token)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/json");
        self.send(request, body).await
    }

    /// The JSON block of the page `session` is served, which the page's script reads.
    async fn page_data(&self, session: &str) -> Value {
        let page = self.page(Some(session)).await;
        let pattern = r#"<script type="application/json" id="page-data">([^<]*)</script>"#;
        let data = regex::Regex::new(pattern)
            .unwrap()
            .captures(&page.body)
            .unwrap()[1]
            .to_owned();
        serde_json::from_str(&data).unwrap()
    }

    async fn keys(&self, organization: &str) -> usize {
        let organization = OrganizationId::from(organization);
        self.manager.list(&organization).await.unwrap().len()
    }
}

#[tokio::test]
async fn nobody_signed_in_sees_a_notice_linking_to_the_hosts_sign_in() {
    let host = Host::with(|dashboard| dashboard.sign_in_url("/login?next=/account/keys"));
    for session in [None, Some("unknown")] {
        let answer = host.page(session).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(answer.body.contains("Sign in to manage API keys"));
        assert!(answer.body.contains(r#"href="/login?next=/account/keys""#));
        assert!(!answer.body.contains("csrf-token"));
    }
}

#[tokio::test]
async fn the_page_links_its_files_and_api_where_it_is_mounted() {
    let host = Host::with(|dashboard| {
        dashboard
            .product_name("Acme")
            .back_link("Back to Acme", "/home")
    });
    // Nested deeper still, the page finds its files where it is.
    let inner = Router::new().nest("/keys", host.router.clone());
    let nested = Router::new().nest("/org/settings", inner);
    let deeper = "/org/settings/keys/account/keys";
    for (router, mount) in [(&host.router, MOUNT), (&nested, deeper)] {
        let request = Request::get(mount).header("x-session", "s1");
        let answer = common::through(router, request, None).await;
        assert_eq!(answer.status(), StatusCode::OK, "{mount}");
        let body = String::from_utf8(answer.into_body().to_vec()).unwrap();
        let body = &body.replace(mount, MOUNT);
        assert!(body.contains(r#"<link rel="stylesheet" href="/account/keys/page.css">"#));
        assert!(body.contains(r#"<script src="/account/keys/page.js" defer>"#));
        assert!(body.contains(r#""api":"/account/keys/api/api-keys""#));
        assert!(body.contains("<title>API Keys · Settings · Acme</title>"));
        assert!(body.contains(r#"<a href="/home">Back to Acme</a>"#));
        assert!(body.contains("org_a"));
        assert!(!body.contains("Formbox"), "no brand but the host's");
    }
    let moved = Host::with(|dashboard| dashboard.public_path("/app/account/keys/"));
    let answer = moved.page(Some("s1")).await;
    assert!(answer.body.contains(r#"href="/app/account/keys/page.css""#));
}

#[tokio::test]
async fn the_page_has_a_strict_policy_and_is_never_cached() {
    let answer = Host::new().page(Some("s1")).await;
    let headers = &answer.headers;
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test]
async fn files_come_with_an_entity_tag_and_revalidate() {
    let host = Host::new();
    for (file, content_type) in [
        ("page.js", "text/javascript; charset=utf-8"),
        ("page.css", "text/css; charset=utf-8"),
    ] {
        let uri = format!("{MOUNT}/{file}");
        // The files hold no secret: no sign-in needed.
        let first = host.send(Request::get(&uri), None).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.headers[header::CONTENT_TYPE], content_type);
        assert_eq!(first.headers[header::CACHE_CONTROL], "no-cache");
        let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
        let again = Request::get(&uri).header(header::IF_NONE_MATCH, &etag);
        let again = host.send(again, None).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
    }
}

#[tokio::test]
async fn the_api_answers_only_a_signed_in_viewer() {
    let host = Host::new();
    let organization = OrganizationId::from("org_a");
    let key = NewKey::new("full", Permission::FullAccess);
    let key = host.manager.create(&organization, key).await.unwrap();
    let uri = format!("{MOUNT}/api/api-keys");
    let requests = [
        Request::get(&uri),
        Request::get(&uri).header("x-session", "nope"),
        // An API key is no browser credential here, not even a full-access one.
        Request::get(&uri).header("api-key", key.key.expose_secret()),
    ];
    for request in requests {
        let answer = host.send(request, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.error_code(), "not_signed_in");
    }
}

#[tokio::test]
async fn writes_need_the_sessions_token_and_the_sites_origin() {
    let host = Host::new();
    let token = host.csrf_token("s1").await;
    let other_token = host.csrf_token("s2").await;
    assert_ne!(token, other_token, "each session has its own token");
    let uri = format!("{MOUNT}/api/api-keys");
    let cases: [(Option<&str>, Option<&str>, &str); 6] = [
        (Some(&token), None, "cross_origin_request"),
        (
            Some(&token),
            Some("https://evil.test"),
            "cross_origin_request",
        ),
        (Some(&token), Some("null"), "cross_origin_request"),
        (None, Some(ORIGIN), "invalid_csrf_token"),
        (Some(&other_token), Some(ORIGIN), "invalid_csrf_token"),
        (Some(""), Some(ORIGIN), "invalid_csrf_token"),
    ];
    for (token, origin, code) in cases {
        let mut request = Request::post(&uri)
            .header("x-session", "s1")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let answer = host.send(request, Some(NEW_KEY)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{token:?} {origin:?}");
        assert_eq!(answer.error_code(), code, "{token:?} {origin:?}");
    }
    assert_eq!(host.keys("org_a").await, 0, "nothing was created");
}

#[tokio::test]
async fn a_signed_in_viewer_manages_only_their_organizations_keys() {
    let host = Host::new();
    let theirs = NewKey::new("theirs", Permission::FullAccess);
    let theirs = host
        .manager
        .create(&OrganizationId::from("org_b"), theirs)
        .await
        .unwrap();

    let created = host.write("POST", "", "s1", Some(NEW_KEY)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.headers[header::CACHE_CONTROL], "no-store");
    let created = created.json();
    assert!(created["key"].as_str().unwrap().starts_with("fbsk_"));

    // Reads need the session only.
    let list = Request::get(format!("{MOUNT}/api/api-keys")).header("x-session", "s1");
    let list = host.send(list, None).await.json();
    assert_eq!(list["data"][0]["id"], created["id"]);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    let foreign = format!("/{}", theirs.info.id);
    let answer = host.write("DELETE", &foreign, "s1", None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = host.write("DELETE", &foreign, "s3", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn instances_sharing_a_csrf_secret_accept_each_others_tokens() {
    let secret = [42; 32];
    let first = Host::with(|dashboard| dashboard.csrf_secret(secret));
    let second = Host::with(|dashboard| dashboard.csrf_secret(secret));
    let third = Host::new();
    let token = first.csrf_token("s1").await;
    assert_eq!(second.csrf_token("s1").await, token);
    assert_ne!(third.csrf_token("s1").await, token);
    assert_ne!(
        Host::new().csrf_token("s1").await,
        third.csrf_token("s1").await
    );
}

#[tokio::test]
async fn proxied_origins_can_be_allowed() {
    let host = Host::with(|dashboard| dashboard.allowed_origin("https://public.test"));
    let token = host.csrf_token("s1").await;
    let request = Request::post(format!("{MOUNT}/api/api-keys"))
        .header("x-session", "s1")
        .header("x-csrf-token", token)
        .header(header::ORIGIN, "https://public.test")
        .header(header::CONTENT_TYPE, "application/json");
    let answer = host.send(request, Some(NEW_KEY)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
}

#[tokio::test]
async fn every_text_and_choice_can_be_replaced() {
    let text = PageText::english()
        .set("lang", "de")
        .unwrap()
        .set("create.open", "API-Schlüssel erstellen")
        .unwrap()
        .set("row.revoke", "Widerrufen")
        .unwrap();
    let host = Host::with(|dashboard| {
        dashboard
            .text(text)
            .grace_periods([
                (Duration::ZERO, "Keine"),
                (Duration::from_secs(900), "15 Minuten"),
            ])
            .expiry_choices([(None, "Nie"), (Some(Duration::from_secs(86_400)), "Morgen")])
    });
    let body = host.page(Some("s1")).await.body;
    assert!(body.contains(r#"<html lang="de">"#));
    assert!(body.contains(">API-Schlüssel erstellen</button>"));
    // Texts the script shows travel in the page's data.
    assert!(body.contains(r#""row.revoke":"Widerrufen""#));
    assert!(body.contains(r#"<option value="900">15 Minuten</option>"#));
    assert!(body.contains(r#"<option value="" selected>Nie</option>"#));
    assert!(body.contains(r#"<option value="86400">Morgen</option>"#));
    assert!(!body.contains(">7 days</option>"));
}

#[tokio::test]
async fn what_the_host_gives_is_escaped() {
    let host = Host::with(|dashboard| {
        dashboard.product_name("<b>Acme</b>").text(
            PageText::english()
                .set("page.title", "<script>x</script>")
                .unwrap(),
        )
    });
    host.sessions.open("s9", "org_<img src=x>");
    let body = host.page(Some("s9")).await.body;
    assert!(!body.contains("<b>Acme"));
    assert!(!body.contains("<script>x"));
    assert!(!body.contains("<img"));
    assert!(body.contains("org_&lt;img src=x&gt;"));
}

#[tokio::test]
async fn the_create_dialog_offers_keys_restricted_to_the_declared_resources() {
    let host = Host::declaring(&["forms", "submissions", "api_keys"]);
    let data = host.page_data("s1").await;
    assert_eq!(
        data["resources"],
        serde_json::json!(["forms", "submissions", "api_keys"])
    );
    let body = host.page(Some("s1")).await.body;
    assert!(body.contains(r#"name="permission" value="restricted""#));
    assert!(body.contains(">Restricted</label>"));
    // The table starts hidden, shown by the script while Restricted is chosen.
    assert!(body.contains(r#"<fieldset id="create-scopes" class="field scopes" name="scopes""#));
    let rows: Vec<_> =
        regex::Regex::new(r#"role="radiogroup" aria-labelledby="create-scope-(\w+)""#)
            .unwrap()
            .captures_iter(&body)
            .map(|row| row[1].to_owned())
            .collect();
    assert_eq!(
        rows,
        ["forms", "submissions", "api_keys"],
        "a row each, as declared"
    );
    for level in ["none", "read", "write"] {
        assert!(body.contains(&format!(r#"name="scope:forms" value="{level}""#)));
    }
    // Read only stays the preselected permission.
    assert!(body.contains(r#"value="read_only" checked"#));
}

#[tokio::test]
async fn without_declared_resources_restricted_is_not_offered() {
    let host = Host::new();
    assert_eq!(
        host.page_data("s1").await["resources"],
        serde_json::json!([])
    );
    let body = host.page(Some("s1")).await.body;
    assert!(
        !body.contains(r#"value="restricted""#),
        "no Restricted choice"
    );
    assert!(!body.contains("create-scope"), "no table of resources");
    assert!(body.contains(r#"value="full_access""#) && body.contains(r#"value="read_only""#));
}

#[tokio::test]
async fn a_restricted_key_made_on_the_page_is_listed_with_its_scopes() {
    let host = Host::declaring(&["forms", "submissions", "api_keys"]);
    // What the page sends for forms at Read and submissions at Write, the rest at None.
    let body = r#"{"name":"Zapier","permission":"restricted","scopes":["forms:read","submissions:write"]}"#;
    let created = host.write("POST", "", "s1", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let list = Request::get(format!("{MOUNT}/api/api-keys")).header("x-session", "s1");
    let key = &host.send(list, None).await.json()["data"][0];
    assert_eq!(key["permission"], "restricted");
    assert_eq!(
        key["scopes"],
        serde_json::json!(["forms:read", "submissions:write"])
    );

    // A table left at None is refused by the API too, on the field the page shows it at.
    let none = r#"{"name":"Empty","permission":"restricted","scopes":[]}"#;
    let refused = host.write("POST", "", "s1", Some(none)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.json()["error"]["field"], "scopes");
}
