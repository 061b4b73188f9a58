//! Bad input against the status table of the `middleware` module's docs: each row through the real
//! layer (and the example router for the key-management routes), checking the status, the error
//! code, the documented JSON body, and that the presented value is never echoed.

use crate::app;
use crate::common;

use std::{
    convert::Infallible,
    sync::{Arc, atomic::AtomicUsize, atomic::Ordering},
    time::{Duration, SystemTime},
};

use axum::body::Body;
use common::{counting_service, issue_key};
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    ApiKeyAuthLayer, Authenticator, KeyFormat, KeyManager, KeyStore, MemoryStore, OrganizationId,
    Permission,
    clock::Clock,
    key::PlaintextKey,
    testing::{ManualClock, TestStore},
};
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::{Layer, ServiceExt};

/// A layer over a store holding one read-only key of `org_a`, with counters for the inner
/// service's calls and the store's reads.
struct Fixture {
    key: PlaintextKey,
    store: TestStore<MemoryStore>,
    calls: Arc<AtomicUsize>,
    bearer: bool,
}

impl Fixture {
    async fn new() -> Self {
        let store = TestStore::new(MemoryStore::new());
        let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
        Self {
            key,
            store,
            calls: Arc::default(),
            bearer: false,
        }
    }

    fn with_bearer(mut self) -> Self {
        self.bearer = true;
        self
    }

    fn key(&self) -> &str {
        self.key.expose_secret()
    }

    /// Sends `GET /v1/forms` with the given headers through a fresh service over the store.
    async fn send(&mut self, headers: &[(&str, HeaderValue)]) -> Response<String> {
        self.send_to("/v1/forms", headers).await
    }

    async fn send_to(&mut self, uri: &str, headers: &[(&str, HeaderValue)]) -> Response<String> {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, value.clone());
        }
        let (inner, calls) = counting_service();
        self.calls = calls;
        ApiKeyAuthLayer::new(self.store.clone())
            .with_bearer(self.bearer)
            .layer(inner)
            .oneshot(request.body(String::new()).unwrap())
            .await
            .unwrap_or_else(|never: Infallible| match never {})
    }

    fn inner_calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Lookups of either kind: a memory store answers the layer without `get`.
    fn store_reads(&self) -> usize {
        self.store.lookups()
    }
}

fn value(bytes: impl AsRef<[u8]>) -> HeaderValue {
    HeaderValue::from_bytes(bytes.as_ref()).unwrap()
}

/// The request reached the handler as `org_a`.
fn assert_accepted(response: &Response<String>, fixture: &Fixture) {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "body: {}",
        response.body()
    );
    assert_eq!(response.body(), "org_a");
    assert_eq!(fixture.inner_calls(), 1);
}

/// A rejection with `status` and `code`, in the documented JSON shape, that echoes none of the
/// `presented` values, and that kept the inner service from being called.
fn assert_rejection(
    response: &Response<String>,
    fixture: &Fixture,
    status: StatusCode,
    code: &str,
    presented: &[&[u8]],
) {
    assert_documented_error(
        response.status(),
        response.headers(),
        response.body().as_bytes(),
        status,
        code,
        presented,
    );
    assert_eq!(fixture.inner_calls(), 0, "the inner service was called");
}

/// `{"error": {"code": ..., "message": ...}}` with `Content-Type: application/json`, and none of
/// the presented values (or a key's secret part) in the body.
fn assert_documented_error(
    actual_status: StatusCode,
    headers: &http::HeaderMap,
    body: &[u8],
    status: StatusCode,
    code: &str,
    presented: &[&[u8]],
) {
    let text = String::from_utf8_lossy(body);
    assert_eq!(actual_status, status, "body: {text}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let json: Value = serde_json::from_slice(body).expect("the body is JSON");
    let root = json.as_object().expect("the body is an object");
    assert_eq!(root.len(), 1, "only `error` at the top: {text}");
    let error = root["error"].as_object().expect("`error` is an object");
    assert_eq!(error["code"], code, "body: {text}");
    let message = error["message"].as_str().expect("`message` is a string");
    assert!(!message.is_empty());
    for field in error.keys() {
        assert!(
            ["code", "message", "required_permission"].contains(&field.as_str()),
            "undocumented field {field:?}: {text}"
        );
    }
    for value in presented {
        assert_not_echoed(body, value);
    }
}

fn assert_not_echoed(body: &[u8], presented: &[u8]) {
    let trimmed = presented.trim_ascii();
    let mut needles = vec![trimmed];
    // The secret part of anything shaped like a default-prefix key.
    if trimmed.len() >= 50 && trimmed.starts_with(b"fbsk_") {
        needles.push(&trimmed[18..50]);
    }
    for needle in needles.into_iter().filter(|needle| needle.len() >= 8) {
        assert!(
            !body.windows(needle.len()).any(|window| window == needle),
            "the body echoes the presented value: {}",
            String::from_utf8_lossy(body)
        );
    }
}

/// `key` with `insert` put in at `position`.
fn insert_at(key: &str, position: usize, insert: &[u8]) -> Vec<u8> {
    let mut bytes = key.as_bytes().to_vec();
    bytes.splice(position..position, insert.iter().copied());
    bytes
}

#[tokio::test]
async fn empty_header_is_missing_api_key() {
    let mut fixture = Fixture::new().await;
    let response = fixture.send(&[("api-key", value(""))]).await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
        &[],
    );
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn header_of_only_spaces_is_missing_api_key() {
    let mut fixture = Fixture::new().await;
    let response = fixture.send(&[("api-key", value("        "))]).await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
        &[],
    );
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn lower_case_header_name_with_a_valid_key_is_accepted() {
    let mut fixture = Fixture::new().await;
    let key = value(fixture.key());
    let response = fixture.send(&[("api-key", key)]).await;
    assert_accepted(&response, &fixture);
}

#[tokio::test]
async fn upper_and_mixed_case_header_names_with_a_valid_key_are_accepted() {
    let mut fixture = Fixture::new().await;
    for name in ["API-KEY", "Api-Key", "aPI-kEY"] {
        let key = value(fixture.key());
        let response = fixture.send(&[(name, key)]).await;
        assert_accepted(&response, &fixture);
    }
}

#[tokio::test]
async fn surrounding_spaces_are_trimmed_and_the_key_is_accepted() {
    let mut fixture = Fixture::new().await;
    let padded = value(format!("   {}   ", fixture.key()));
    let response = fixture.send(&[("api-key", padded)]).await;
    assert_accepted(&response, &fixture);
}

#[tokio::test]
async fn value_with_internal_spaces_is_invalid_without_a_store_read() {
    let mut fixture = Fixture::new().await;
    for position in [5, 17, 30, 50] {
        let spaced = insert_at(fixture.key(), position, b" ");
        let response = fixture.send(&[("api-key", value(&spaced))]).await;
        assert_rejection(
            &response,
            &fixture,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            &[&spaced],
        );
    }
    let split_words = format!("{} {}", fixture.key(), fixture.key());
    let response = fixture.send(&[("api-key", value(&split_words))]).await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        &[split_words.as_bytes()],
    );
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn tab_inside_a_key_is_invalid_without_a_store_read() {
    let mut fixture = Fixture::new().await;
    let tabbed = insert_at(fixture.key(), 30, b"\t");
    let response = fixture.send(&[("api-key", value(&tabbed))]).await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        &[&tabbed],
    );
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn tabs_around_a_key_are_optional_whitespace_and_trimmed() {
    // HTTP's optional whitespace around a field value is spaces and tabs alike.
    let mut fixture = Fixture::new().await;
    let padded = value(format!("\t {}\t", fixture.key()));
    let response = fixture.send(&[("api-key", padded)]).await;
    assert_accepted(&response, &fixture);

    let only_tab = fixture.send(&[("api-key", value("\t"))]).await;
    assert_rejection(
        &only_tab,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
        &[],
    );
}

#[tokio::test]
async fn newline_nul_and_other_control_bytes_cannot_reach_the_layer() {
    // `http` refuses these in a header value, so no request can carry them to the layer: this
    // is what protects it from header injection and truncation tricks.
    let fixture = Fixture::new().await;
    for control in (0u8..0x20).filter(|&b| b != b'\t').chain([0x7f]) {
        let with_control = insert_at(fixture.key(), 30, &[control]);
        assert!(
            HeaderValue::from_bytes(&with_control).is_err(),
            "byte {control:#04x} is accepted in a header value"
        );
        assert!(
            Request::get("/v1/forms")
                .header("api-key", with_control.as_slice())
                .body(())
                .is_err()
        );
    }
    for accepted in [b'\t', 0x80, 0xff] {
        assert!(HeaderValue::from_bytes(&insert_at(fixture.key(), 30, &[accepted])).is_ok());
    }
}

#[tokio::test]
async fn obs_text_bytes_are_invalid_without_a_store_read() {
    let mut fixture = Fixture::new().await;
    let mut cases: Vec<Vec<u8>> = (0x80..=0xffu8)
        .step_by(7)
        .map(|byte| insert_at(fixture.key(), 30, &[byte]))
        .collect();
    // Same length as a key: one character replaced by an obs-text byte.
    let mut replaced = fixture.key().as_bytes().to_vec();
    replaced[40] = 0xe9;
    cases.push(replaced);
    for case in &cases {
        let response = fixture.send(&[("api-key", value(case))]).await;
        assert_rejection(
            &response,
            &fixture,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            &[case],
        );
    }
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn non_ascii_utf8_and_invalid_utf8_are_invalid_without_a_store_read() {
    let mut fixture = Fixture::new().await;
    let key = fixture.key().to_owned();
    let cases: Vec<Vec<u8>> = vec![
        // Valid UTF-8: an accented letter in place of one character (same character count).
        format!("{}é{}", &key[..30], &key[31..]).into_bytes(),
        // Fullwidth digits look like a key to a person.
        format!("fbsk_{}", "０".repeat(17)).into_bytes(),
        // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong encoding.
        insert_at(&key, 20, b"\x80"),
        insert_at(&key, 55, b"\xe2\x82"),
        insert_at(&key, 5, b"\xc0\xaf"),
        b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8".to_vec(),
    ];
    for case in &cases {
        let response = fixture.send(&[("api-key", value(case))]).await;
        assert_rejection(
            &response,
            &fixture,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            &[case],
        );
    }
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn values_of_8_and_64_kib_are_invalid_without_a_store_read() {
    let mut fixture = Fixture::new().await;
    for size in [8 * 1024, 64 * 1024] {
        let repeated = fixture.key().repeat(size / fixture.key().len() + 1)[..size].to_owned();
        let padded = format!(
            "{}{}",
            fixture.key(),
            "A".repeat(size - fixture.key().len())
        );
        for case in [repeated, padded] {
            assert_eq!(case.len(), size);
            let response = fixture.send(&[("api-key", value(&case))]).await;
            assert_rejection(
                &response,
                &fixture,
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                &[case.as_bytes()],
            );
        }
    }
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn key_with_another_prefix_is_invalid_without_a_store_read() {
    let mut fixture = Fixture::new().await;
    let key = fixture.key().to_owned();
    let cases = [
        key.replacen("fbsk_", "ghp_", 1),
        key.replacen("fbsk_", "FBSK_", 1),
        key.replacen("fbsk_", "fbsk-", 1),
        key.replacen("fbsk_", "xfbsk_", 1),
        format!("Bearer {key}"),
    ];
    for case in &cases {
        let response = fixture.send(&[("api-key", value(case))]).await;
        assert_rejection(
            &response,
            &fixture,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            &[case.as_bytes()],
        );
    }
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn well_formed_key_of_another_deployment_is_invalid_without_a_store_read() {
    let mut fixture = Fixture::new().await;
    let acme = KeyFormat::new("acme").unwrap();
    // Right shape and a valid checksum for `acme`, even with the id of a key this store holds.
    let foreign = acme.generate().unwrap();
    let same_id = acme.generate_for(fixture.key.id()).unwrap();
    for key in [&foreign, &same_id] {
        assert!(acme.parse(key.expose_secret()).is_ok());
        let response = fixture
            .send(&[("api-key", value(key.expose_secret()))])
            .await;
        assert_rejection(
            &response,
            &fixture,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            &[key.expose_secret().as_bytes()],
        );
    }
    assert_eq!(fixture.store_reads(), 0);

    // And the other way round: an `acme` deployment turns away this store's `fbsk` key.
    let acme_service =
        ApiKeyAuthLayer::new(Authenticator::new(fixture.store.clone()).with_format(acme))
            .layer(counting_service().0);
    let request = Request::get("/v1/forms")
        .header("api-key", fixture.key())
        .body(String::new())
        .unwrap();
    let response = acme_service.oneshot(request).await.unwrap();
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        &[fixture.key().as_bytes()],
    );
}

#[tokio::test]
async fn duplicate_api_key_headers_with_the_same_value_are_ambiguous() {
    let mut fixture = Fixture::new().await;
    let key = value(fixture.key());
    let response = fixture
        .send(&[("api-key", key.clone()), ("api-key", key)])
        .await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::BAD_REQUEST,
        "ambiguous_api_key",
        &[fixture.key().as_bytes()],
    );
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn duplicate_api_key_headers_with_different_values_are_ambiguous() {
    let mut fixture = Fixture::new().await;
    let other = KeyFormat::default().generate().unwrap();
    let cases = [
        (fixture.key().to_owned(), other.expose_secret().to_owned()),
        (fixture.key().to_owned(), "garbage-value".to_owned()),
        (String::new(), fixture.key().to_owned()),
    ];
    for (first, second) in &cases {
        // Header names differ in case only: still the same header, twice.
        let response = fixture
            .send(&[("api-key", value(first)), ("API-Key", value(second))])
            .await;
        assert_rejection(
            &response,
            &fixture,
            StatusCode::BAD_REQUEST,
            "ambiguous_api_key",
            &[first.as_bytes(), second.as_bytes()],
        );
    }
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn api_key_with_bearer_is_ambiguous_when_bearer_is_enabled() {
    let mut fixture = Fixture::new().await.with_bearer();
    let bearer = value(format!("Bearer {}", fixture.key()));
    let key = value(fixture.key());
    let response = fixture
        .send(&[("api-key", key), ("authorization", bearer)])
        .await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::BAD_REQUEST,
        "ambiguous_api_key",
        &[fixture.key().as_bytes()],
    );
    assert_eq!(fixture.store_reads(), 0);

    // Either one alone is accepted.
    let key = value(fixture.key());
    assert_accepted(&fixture.send(&[("api-key", key)]).await, &fixture);
    let bearer = value(format!("bearer {}", fixture.key()));
    assert_accepted(&fixture.send(&[("authorization", bearer)]).await, &fixture);
}

#[tokio::test]
async fn api_key_decides_when_bearer_is_disabled() {
    let mut fixture = Fixture::new().await;
    let garbage_bearer = value("Bearer not-a-key-at-all");
    let key = value(fixture.key());
    let response = fixture
        .send(&[("api-key", key), ("authorization", garbage_bearer)])
        .await;
    assert_accepted(&response, &fixture);

    let valid_bearer = value(format!("Bearer {}", fixture.key()));
    let response = fixture
        .send(&[
            ("api-key", value("garbage-key")),
            ("authorization", valid_bearer),
        ])
        .await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        &[b"garbage-key", fixture.key().as_bytes()],
    );
}

#[tokio::test]
async fn key_in_the_query_string_as_api_dash_key_does_not_authenticate() {
    let mut fixture = Fixture::new().await;
    let uri = format!("/v1/forms?api-key={}", fixture.key());
    let response = fixture.send_to(&uri, &[]).await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
        &[fixture.key().as_bytes()],
    );
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn key_in_the_query_string_as_api_underscore_key_does_not_authenticate() {
    let mut fixture = Fixture::new().await;
    let uri = format!(
        "/v1/forms?api_key={}&apikey={}",
        fixture.key(),
        fixture.key()
    );
    let response = fixture.send_to(&uri, &[]).await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
        &[fixture.key().as_bytes()],
    );
    assert_eq!(fixture.store_reads(), 0);
}

#[tokio::test]
async fn revoked_key_is_revoked_api_key() {
    let store = TestStore::new(MemoryStore::new());
    let manager = KeyManager::new(store.clone());
    let org = OrganizationId::from("org_a");
    let created = manager
        .create(&org, NewKey::new("revoked", Permission::FullAccess))
        .await
        .unwrap();
    let mut fixture = Fixture {
        key: created.key,
        store,
        calls: Arc::default(),
        bearer: false,
    };
    assert_accepted(
        &fixture.send(&[("api-key", value(fixture.key()))]).await,
        &fixture,
    );
    manager.revoke(&org, created.info.id).await.unwrap();
    let response = fixture.send(&[("api-key", value(fixture.key()))]).await;
    assert_rejection(
        &response,
        &fixture,
        StatusCode::UNAUTHORIZED,
        "revoked_api_key",
        &[fixture.key().as_bytes()],
    );
}

#[tokio::test]
async fn expired_key_is_expired_api_key() {
    let store = MemoryStore::new();
    let clock = ManualClock::default();
    let manager = KeyManager::new(Authenticator::new(store).with_clock(clock.clone()));
    let org = OrganizationId::from("org_a");
    let expires_at = clock.now() + Duration::from_secs(3600);
    let created = manager
        .create(
            &org,
            NewKey::new("expiring", Permission::ReadOnly).expires_at(Some(expires_at)),
        )
        .await
        .unwrap();
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(manager.authenticator().clone()).layer(inner);
    let request = || {
        Request::get("/v1/forms")
            .header("api-key", created.key.expose_secret())
            .body(String::new())
            .unwrap()
    };

    clock.advance(Duration::from_secs(3599));
    let response = service.clone().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    clock.set(expires_at);
    let response = service.clone().oneshot(request()).await.unwrap();
    assert_documented_error(
        response.status(),
        response.headers(),
        response.body().as_bytes(),
        StatusCode::UNAUTHORIZED,
        "expired_api_key",
        &[created.key.expose_secret().as_bytes()],
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the inner service was called"
    );
    assert!(clock.now() >= expires_at && expires_at > SystemTime::UNIX_EPOCH);
}

/// The example server with a key of `org_a` and a full-access key of `org_b`.
struct TwoTenants {
    router: axum::Router,
    store: MemoryStore,
    victim: PlaintextKey,
    attacker: PlaintextKey,
}

impl TwoTenants {
    async fn start() -> Self {
        let store = MemoryStore::new();
        let resources = app::resources::declare().unwrap();
        let manager = KeyManager::new(store.clone()).with_resources(resources);
        let create = |org: &'static str, name: &'static str| {
            let manager = manager.clone();
            async move {
                manager
                    .create(
                        &OrganizationId::from(org),
                        NewKey::new(name, Permission::FullAccess),
                    )
                    .await
                    .unwrap()
                    .key
            }
        };
        let victim = create("org_a", "victim").await;
        let attacker = create("org_b", "attacker").await;
        Self {
            router: app::app(app::AppState::new(manager)),
            store,
            victim,
            attacker,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        key: &str,
    ) -> (StatusCode, http::HeaderMap, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("api-key", key)
            .body(Body::empty())
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    async fn victim_still_works(&self) {
        let (status, _, body) = self
            .call("GET", "/v1/me", self.victim.expose_secret())
            .await;
        assert_eq!(status, StatusCode::OK);
        let me: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(me["organization"], "org_a");
        let record = self.store.get(&self.victim.id()).await.unwrap().unwrap();
        assert!(record.revoked_at.is_none() && record.previous.is_none());
        assert_eq!(
            record.digest,
            self.victim.digest(),
            "the secret is unchanged"
        );
    }
}

#[tokio::test]
async fn another_organizations_key_cannot_revoke_a_key_404() {
    let tenants = TwoTenants::start().await;
    let uri = format!("/v1/api-keys/{}", tenants.victim.id());
    let (status, headers, body) = tenants
        .call("DELETE", &uri, tenants.attacker.expose_secret())
        .await;
    assert_documented_error(
        status,
        &headers,
        &body,
        StatusCode::NOT_FOUND,
        "api_key_not_found",
        &[tenants.attacker.expose_secret().as_bytes()],
    );
    tenants.victim_still_works().await;
}

#[tokio::test]
async fn another_organizations_key_cannot_regenerate_a_key_404() {
    let tenants = TwoTenants::start().await;
    let uri = format!("/v1/api-keys/{}/regenerate", tenants.victim.id());
    let (status, headers, body) = tenants
        .call("POST", &uri, tenants.attacker.expose_secret())
        .await;
    assert_documented_error(
        status,
        &headers,
        &body,
        StatusCode::NOT_FOUND,
        "api_key_not_found",
        &[tenants.attacker.expose_secret().as_bytes()],
    );
    assert!(
        !String::from_utf8_lossy(&body).contains("fbsk_"),
        "no key is handed out"
    );
    tenants.victim_still_works().await;
}
