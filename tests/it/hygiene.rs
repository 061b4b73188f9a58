//! Secret hygiene: a whole key lifecycle through the example server's router and the layer, with
//! every `tracing` event at TRACE level captured, must log what happened (ids, codes) and never a
//! plaintext key, a secret, or a digest of any key involved.

use crate::app;
use crate::common;

use std::{
    io::{self, Write},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::Router;
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::lifecycle::KeyChanges;
use formbox_auth::{
    AuthContext, Authenticator, KeyFormat, KeyManager, MemoryStore, OrganizationId, Permission,
    clock::Clock,
    lifecycle::LeakOutcome,
    testing::{Fault, ManualClock, TestStore},
};
use http::{Request, Response, StatusCode, header};
use serde_json::Value;
use tower::{Layer, ServiceExt, service_fn};
use tracing_subscriber::fmt::{MakeWriter, format::FmtSpan};

/// Everything the subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = CapturedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter(Arc::clone(&self.0))
    }
}

/// Every form a key could take in a log line: the whole key, its hashed body, its secret (whole,
/// halves, and with the checksum), and its digest as lower- and upper-case hex and as `Debug`
/// bytes.
fn forbidden_forms(key: &str) -> Vec<String> {
    let mut forms = vec![key.to_owned()];
    if let Ok(parsed) = KeyFormat::default().parse(key) {
        let digest = *parsed.digest().as_bytes();
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        let debug = format!("{digest:?}");
        let debug_prefix = format!("{:?}", &digest[..8]);
        forms.extend([
            key[..50].to_owned(),
            key[18..].to_owned(),
            key[18..50].to_owned(),
            key[18..34].to_owned(),
            key[34..50].to_owned(),
            hex.to_uppercase(),
            hex,
            debug,
            debug_prefix.trim_end_matches(']').to_owned(),
        ]);
    }
    forms
}

/// The example server over a store that can be made to fail, with a clock the test moves.
struct Run {
    router: Router,
    manager: KeyManager,
    store: TestStore<MemoryStore>,
    clock: ManualClock,
    /// Every key text presented or handed out during the run.
    involved: Vec<String>,
}

impl Run {
    fn new() -> Self {
        // Requests wait for the store, as on a database, so the logs of that path are checked.
        let store = TestStore::new(MemoryStore::new()).without_cached_lookups();
        let clock = ManualClock::default();
        let authenticator = Authenticator::new(store.clone()).with_clock(clock.clone());
        let resources = app::resources::declare().unwrap();
        let manager = KeyManager::new(authenticator).with_resources(resources);
        Self {
            router: app::app(app::AppState::new(manager.clone())),
            manager,
            store,
            clock,
            involved: Vec::new(),
        }
    }

    async fn call(
        &mut self,
        method: &str,
        uri: &str,
        keys: &[&str],
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        for key in keys {
            self.involved.push((*key).to_owned());
            request = request.header("api-key", *key);
        }
        let response = common::through(&self.router, request, body).await;
        let status = response.status();
        let bytes = response.into_body();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    async fn expect(&mut self, method: &str, uri: &str, key: &str, status: StatusCode) -> Value {
        let (actual, body) = self.call(method, uri, &[key], None).await;
        assert_eq!(actual, status, "{method} {uri}: {body}");
        body
    }

    /// Creates a key through `POST /v1/api-keys` and returns its id and plaintext.
    async fn create(&mut self, full: &str, name: &str) -> (String, String) {
        let body = format!(r#"{{"name":"{name}","permission":"read_only"}}"#);
        let (status, created) = self
            .call("POST", "/v1/api-keys", &[full], Some(&body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let key = created["key"].as_str().unwrap().to_owned();
        self.involved.push(key.clone());
        (created["id"].as_str().unwrap().to_owned(), key)
    }
}

#[tokio::test]
async fn a_whole_lifecycle_logs_events_but_no_key_secret_or_digest() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);

    let mut run = Run::new();
    let demo = app::ensure_demo_keys(&run.manager).await.unwrap();
    let full = demo[0].1.clone();
    let read_only = demo[1].1.clone();
    assert_eq!(demo[0].0, Permission::FullAccess);
    run.involved.extend([full.clone(), read_only.clone()]);

    // Keys in use.
    run.expect("GET", "/v1/me", &read_only, StatusCode::OK)
        .await;
    let (status, _) = run
        .call(
            "POST",
            "/v1/forms",
            &[full.as_str()],
            Some(r#"{"name":"Contact"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (ci_id, ci_key) = run.create(&full, "CI").await;
    run.expect("GET", "/v1/forms", &ci_key, StatusCode::OK)
        .await;

    // Rejections: wrong secret, malformed, bad checksum, too low a permission, none, two.
    let parsed_id = KeyFormat::default().parse(&ci_key).unwrap().id();
    let impostor = KeyFormat::default().generate_for(parsed_id).unwrap();
    let impostor = impostor.expose_secret().to_owned();
    run.expect("GET", "/v1/me", &impostor, StatusCode::UNAUTHORIZED)
        .await;
    let truncated = ci_key[..40].to_owned();
    run.expect("GET", "/v1/me", &truncated, StatusCode::UNAUTHORIZED)
        .await;
    let mut bad_checksum = ci_key.clone();
    let last = if ci_key.ends_with('A') { "B" } else { "A" };
    bad_checksum.replace_range(55..56, last);
    run.expect("GET", "/v1/me", &bad_checksum, StatusCode::UNAUTHORIZED)
        .await;
    let (status, _) = run
        .call(
            "POST",
            "/v1/forms",
            &[read_only.as_str()],
            Some(r#"{"name":"x"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        run.call("GET", "/v1/me", &[], None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        run.call(
            "GET",
            "/v1/me",
            &[ci_key.as_str(), read_only.as_str()],
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );

    // Regeneration with a grace period: both secrets work, then the key is revoked.
    let uri = format!("/v1/api-keys/{ci_id}/regenerate");
    let (status, rotated) = run
        .call(
            "POST",
            &uri,
            &[full.as_str()],
            Some(r#"{"grace_period_seconds":60}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let ci_new = rotated["key"].as_str().unwrap().to_owned();
    run.involved.push(ci_new.clone());
    run.expect("GET", "/v1/me", &ci_key, StatusCode::OK).await;
    run.expect("GET", "/v1/me", &ci_new, StatusCode::OK).await;
    let uri = format!("/v1/api-keys/{ci_id}");
    run.expect("DELETE", &uri, &full, StatusCode::OK).await;
    run.expect("GET", "/v1/me", &ci_new, StatusCode::UNAUTHORIZED)
        .await;

    // Expiry, set through the manager and passed by moving the clock.
    let org = OrganizationId::from(app::DEMO_ORGANIZATION);
    let (expiring_id, expiring_key) = run.create(&full, "expiring").await;
    // A rate limit of its own, set through the API.
    let uri = format!("/v1/api-keys/{expiring_id}");
    let limit = r#"{"rate_limit":{"requests":600,"per_seconds":60}}"#;
    let (status, limited) = run.call("PATCH", &uri, &[full.as_str()], Some(limit)).await;
    assert_eq!(status, StatusCode::OK, "{limited}");
    let expiring_id = expiring_id.parse().unwrap();
    let expires_at = run.clock.now() + Duration::from_secs(30);
    run.manager
        .update(
            &org,
            expiring_id,
            KeyChanges::new().expires_at(Some(expires_at)),
        )
        .await
        .unwrap();
    run.clock.advance(Duration::from_secs(31));
    run.expect("GET", "/v1/me", &expiring_key, StatusCode::UNAUTHORIZED)
        .await;

    // A leaked key, revoked from its plaintext, among a malformed and an unknown one.
    let (_, leaked) = run.create(&full, "leaked").await;
    let unknown = KeyFormat::default().generate().unwrap();
    let unknown = unknown.expose_secret().to_owned();
    run.involved.push(unknown.clone());
    let outcomes = run
        .manager
        .revoke_leaked([leaked.as_str(), "fbsk_garbage", &unknown, &ci_new])
        .await
        .unwrap();
    assert!(matches!(outcomes[0], LeakOutcome::Revoked { .. }));
    assert_eq!(outcomes[1], LeakOutcome::Malformed);
    assert_eq!(outcomes[2], LeakOutcome::Unknown);
    assert!(matches!(outcomes[3], LeakOutcome::AlreadyRevoked { .. }));
    run.expect("GET", "/v1/me", &leaked, StatusCode::UNAUTHORIZED)
        .await;

    // A bearer token seen by a service inside the layer, which logs the request's headers.
    let inner = service_fn(|request: Request<String>| async move {
        let context = request.extensions().get::<AuthContext>().unwrap();
        tracing::trace!(headers = ?request.headers(), key_id = %context.key_id(), "inner service");
        Ok::<_, std::convert::Infallible>(Response::new(String::new()))
    });
    let bearer_service = ApiKeyAuthLayer::new(run.manager.authenticator().clone())
        .with_bearer(true)
        .layer(inner);
    let request = Request::get("/v1/forms")
        .header(header::AUTHORIZATION, format!("Bearer {read_only}"))
        .body(String::new())
        .unwrap();
    let response = bearer_service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The store fails: requests are turned away and the usage flush fails, then succeeds.
    let flusher = run
        .manager
        .authenticator()
        .spawn_usage_flusher(Duration::from_secs(3600));
    run.store.fault_all(Fault::Error);
    run.expect("GET", "/v1/me", &full, StatusCode::SERVICE_UNAVAILABLE)
        .await;
    flusher.shutdown().await;
    assert!(run.manager.authenticator().pending_usage() > 0);
    run.store.clear_faults();
    assert!(run.manager.authenticator().flush_usage().await.unwrap() > 0);

    drop(guard);
    let log = captured.text();
    assert!(!log.is_empty());
    for expected in [
        "API key created",
        "API key regenerated",
        "API key revoked",
        "leaked=true",
        "API key expiry changed",
        "API key rate limit changed",
        "API key rejected",
        "invalid_api_key",
        "revoked_api_key",
        "expired_api_key",
        "insufficient_permissions",
        "missing_api_key",
        "ambiguous_api_key",
        "key store failed",
        "writing last-used times failed",
        "inner service",
        "Sensitive",
        ci_id.as_str(),
    ] {
        assert!(log.contains(expected), "the log lacks {expected:?}:\n{log}");
    }
    let presented = [truncated, bad_checksum, impostor];
    let mut checked = 0;
    for key in run.involved.iter().chain(&presented) {
        for form in forbidden_forms(key) {
            assert!(
                !log.contains(&form),
                "the log shows {form:?} of a key:\n{log}"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} forms checked");
}
