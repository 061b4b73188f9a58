//! The secret scanning endpoint: GitHub's signed reports revoke the keys they name, and only
//! GitHub's.

use crate::common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, body::Body};
use base64::{Engine, engine::general_purpose::STANDARD};
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    Authenticator, KeyManager, MemoryStore, OrganizationId, Permission,
    authenticator::AuthError,
    events::KeyEvent,
    secret_scanning::{FetchingPublicKeys, GithubPublicKey, SecretScanning, StaticPublicKeys},
    testing::{Fault, Method, TestStore},
};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use p256::{
    ecdsa::{Signature, SigningKey, signature::Signer},
    pkcs8::{EncodePublicKey, LineEnding},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

// GitHub's published sample request, from
// https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partner-program
// ("Implement signature verification in your secret alert service"). The key is the one
// https://api.github.com/meta/public_keys/secret_scanning lists under that identifier.
const EXAMPLE_PAYLOAD: &str = r#"[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]"#;
const EXAMPLE_SIGNATURE: &str = "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==";
const EXAMPLE_IDENTIFIER: &str = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c";
const EXAMPLE_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\nAjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n";

const IDENTIFIER: &str = "test-key-1";

/// A fixed signing key: ECDSA signing is deterministic (RFC 6979), so no randomness is needed.
fn github_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
}

fn key_list(entries: &[(&str, &SigningKey)]) -> String {
    let keys: Vec<Value> = entries
        .iter()
        .map(|(identifier, key)| {
            let pem = key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap();
            json!({"key_identifier": identifier, "key": pem, "is_current": true})
        })
        .collect();
    json!({ "public_keys": keys }).to_string()
}

fn static_keys() -> StaticPublicKeys {
    StaticPublicKeys::from_json(&key_list(&[(IDENTIFIER, &github_key())])).unwrap()
}

fn example_keys() -> StaticPublicKeys {
    let pem = GithubPublicKey::from_pem(EXAMPLE_KEY).unwrap();
    StaticPublicKeys::default().with_key(EXAMPLE_IDENTIFIER, pem)
}

fn app(endpoint: SecretScanning) -> Router {
    Router::new().nest("/secret-scanning/github", endpoint.router())
}

fn request(body: impl Into<Body>, identifier: &str, signature: &str) -> Request<Body> {
    Request::post("/secret-scanning/github")
        .header("content-type", "application/json")
        .header("Github-Public-Key-Identifier", identifier)
        .header("Github-Public-Key-Signature", signature)
        .body(body.into())
        .unwrap()
}

fn signed(body: &str) -> Request<Body> {
    let signature: Signature = github_key().sign(body.as_bytes());
    let encoded = STANDARD.encode(signature.to_der().as_bytes());
    request(body.to_owned(), IDENTIFIER, &encoded)
}

fn report(tokens: &[&str]) -> String {
    let entries: Vec<Value> = tokens
        .iter()
        .map(|token| {
            json!({
                "token": token,
                "type": "formbox_api_key",
                "url": "https://github.com/octocat/Hello-World/blob/main/.env",
                "source": "content",
            })
        })
        .collect();
    Value::Array(entries).to_string()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn labels(feedback: &Value) -> Vec<&str> {
    feedback
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["label"].as_str().unwrap())
        .collect()
}

async fn live_key(manager: &KeyManager) -> String {
    let org = OrganizationId::from("org_1");
    let name = format!("ci {}", manager.list(&org).await.unwrap().len());
    let created = manager
        .create(&org, NewKey::new(&name, Permission::FullAccess))
        .await
        .unwrap();
    created.key.expose_secret().to_owned()
}

#[tokio::test]
async fn githubs_published_sample_request_verifies() {
    let app = app(SecretScanning::new(
        KeyManager::new(MemoryStore::new()),
        example_keys(),
    ));
    let (status, feedback) = send(
        &app,
        request(EXAMPLE_PAYLOAD, EXAMPLE_IDENTIFIER, EXAMPLE_SIGNATURE),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        feedback,
        json!([{
            "token_hash": sha256_hex("some_token"),
            "token_type": "some_type",
            "label": "false_positive",
        }])
    );
}

#[tokio::test]
async fn githubs_sample_with_one_flipped_byte_is_refused() {
    let app = app(SecretScanning::new(
        KeyManager::new(MemoryStore::new()),
        example_keys(),
    ));
    let mut body = EXAMPLE_PAYLOAD.as_bytes().to_vec();
    body[30] ^= 0x01;
    let (status, error) = send(&app, request(body, EXAMPLE_IDENTIFIER, EXAMPLE_SIGNATURE)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "invalid_signature");

    let mut signature = STANDARD.decode(EXAMPLE_SIGNATURE).unwrap();
    let last = signature.len() - 1;
    signature[last] ^= 0x01;
    let signature = STANDARD.encode(signature);
    let (status, _) = send(
        &app,
        request(EXAMPLE_PAYLOAD, EXAMPLE_IDENTIFIER, &signature),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_reported_live_key_is_revoked_and_answered_as_a_true_positive() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let authenticator = Authenticator::new(MemoryStore::new())
        .with_events(move |event: &KeyEvent| sink.lock().unwrap().push(event.clone()));
    let manager = KeyManager::new(authenticator);
    let key = live_key(&manager).await;
    let app = app(SecretScanning::new(manager.clone(), static_keys()));

    let (status, feedback) = send(&app, signed(&report(&[&key]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        feedback,
        json!([{
            "token_hash": sha256_hex(&key),
            "token_type": "formbox_api_key",
            "label": "true_positive",
        }])
    );
    assert!(matches!(
        manager.authenticator().authenticate(&key).await,
        Err(AuthError::RevokedKey)
    ));
    let reported = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|event| match event {
            KeyEvent::LeakReported {
                url,
                source,
                revoked,
                ..
            } => Some((url.clone(), source.clone(), *revoked)),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(
        reported,
        [(
            "https://github.com/octocat/Hello-World/blob/main/.env".to_owned(),
            "content".to_owned(),
            true
        )]
    );
    assert!(!format!("{:?}", events.lock().unwrap()).contains(&key));

    // Reported again, it is still a real key, revoked already.
    let (_, feedback) = send(&app, signed(&report(&[&key]))).await;
    assert_eq!(labels(&feedback), ["true_positive"]);
}

#[tokio::test]
async fn an_unknown_key_and_a_non_key_are_false_positives() {
    let manager = KeyManager::new(MemoryStore::new());
    let unknown = formbox_auth::KeyFormat::default().generate().unwrap();
    let app = app(SecretScanning::new(manager, static_keys()));
    let (status, feedback) =
        send(&app, signed(&report(&[unknown.expose_secret(), "hunter2"]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(labels(&feedback), ["false_positive", "false_positive"]);
}

#[tokio::test]
async fn raw_tokens_are_echoed_only_when_asked_for() {
    let app = app(
        SecretScanning::new(KeyManager::new(MemoryStore::new()), static_keys())
            .with_raw_tokens_in_feedback(true),
    );
    let (_, feedback) = send(&app, signed(&report(&["hunter2"]))).await;
    assert_eq!(
        feedback,
        json!([{"token_raw": "hunter2", "token_type": "formbox_api_key", "label": "false_positive"}])
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_revokes_nothing() {
    let manager = KeyManager::new(MemoryStore::new());
    let key = live_key(&manager).await;
    let app = app(SecretScanning::new(manager.clone(), static_keys()));
    let body = report(&[&key]);

    let forger = SigningKey::from_bytes(&[9u8; 32].into()).unwrap();
    let forged: Signature = forger.sign(body.as_bytes());
    let forged = STANDARD.encode(forged.to_der().as_bytes());
    let unsigned = Request::post("/secret-scanning/github")
        .body(Body::from(body.clone()))
        .unwrap();
    for request in [
        request(body.clone(), IDENTIFIER, &forged),
        request(body.clone(), IDENTIFIER, "not base64!"),
        unsigned,
    ] {
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("www-authenticate").is_none());
    }
    manager.authenticator().authenticate(&key).await.unwrap();
}

#[tokio::test]
async fn an_unknown_identifier_fetches_once_and_a_second_within_the_interval_not_at_all() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let list = key_list(&[(IDENTIFIER, &github_key())]);
    let keys = FetchingPublicKeys::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let list = list.clone();
        async move { Ok::<_, std::io::Error>(list) }
    });
    let app = app(SecretScanning::new(
        KeyManager::new(MemoryStore::new()),
        keys,
    ));
    let body = report(&["hunter2"]);
    let signature: Signature = github_key().sign(body.as_bytes());
    let signature = STANDARD.encode(signature.to_der().as_bytes());

    let (status, _) = send(&app, request(body.clone(), "made-up-1", &signature)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    let (status, _) = send(&app, request(body.clone(), "made-up-2", &signature)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // The key that first fetch brought is served from memory.
    let (status, _) = send(&app, signed(&body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_new_key_is_fetched_once_the_interval_has_passed() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let list = key_list(&[(IDENTIFIER, &github_key())]);
    let keys = FetchingPublicKeys::new(move || {
        // The first list lacks the key GitHub will sign with.
        let list = match counter.fetch_add(1, Ordering::SeqCst) {
            0 => String::from(r#"{"public_keys": []}"#),
            _ => list.clone(),
        };
        async move { Ok::<_, std::io::Error>(list) }
    })
    .with_min_interval(Duration::from_millis(50));
    let app = app(SecretScanning::new(
        KeyManager::new(MemoryStore::new()),
        keys,
    ));
    let body = report(&["hunter2"]);

    assert_eq!(send(&app, signed(&body)).await.0, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(send(&app, signed(&body)).await.0, StatusCode::OK);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_fetch_is_a_503() {
    let keys = FetchingPublicKeys::new(|| async {
        Err::<String, _>(std::io::Error::other("connection refused"))
    });
    let app = app(SecretScanning::new(
        KeyManager::new(MemoryStore::new()),
        keys,
    ));
    let (status, error) = send(&app, signed(&report(&["hunter2"]))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error["error"]["code"], "public_keys_unavailable");
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = app(
        SecretScanning::new(KeyManager::new(MemoryStore::new()), static_keys()).with_max_body(64),
    );
    let (status, error) = send(&app, signed(&report(&["a-token-long-enough-to-pass-64"]))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn too_many_tokens_are_a_413_and_revoke_nothing() {
    let manager = KeyManager::new(MemoryStore::new());
    let key = live_key(&manager).await;
    let app = app(SecretScanning::new(manager.clone(), static_keys()).with_max_tokens(2));
    let (status, error) = send(&app, signed(&report(&[&key, "b", "c"]))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "too_many_tokens");
    manager.authenticator().authenticate(&key).await.unwrap();
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_report_is_a_400() {
    let app = app(SecretScanning::new(
        KeyManager::new(MemoryStore::new()),
        static_keys(),
    ));
    for body in ["not json", r#"{"token": "fbsk_x"}"#, r#"[{"type": "x"}]"#] {
        let (status, error) = send(&app, signed(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["error"]["code"], "invalid_request");
    }
}

#[tokio::test]
async fn a_failing_store_is_a_503_so_that_github_sends_the_report_again() {
    let store = TestStore::new(MemoryStore::new());
    let manager = KeyManager::new(store.clone());
    let key = live_key(&manager).await;
    let app = app(SecretScanning::new(manager.clone(), static_keys()));

    store.fault(Method::Get, Fault::Error);
    let (status, error) = send(&app, signed(&report(&[&key]))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error["error"]["code"], "key_store_unavailable");
    assert!(!error.to_string().contains(&key));

    store.clear_faults();
    let (status, _) = send(&app, signed(&report(&[&key]))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_thousand_tokens_in_one_report_are_answered_quickly() {
    let manager = KeyManager::new(MemoryStore::new());
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(live_key(&manager).await);
    }
    let format = formbox_auth::KeyFormat::default();
    while tokens.len() < 1_000 {
        tokens.push(format.generate().unwrap().expose_secret().to_owned());
    }
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let app = app(SecretScanning::new(manager, static_keys()));
    let request = signed(&report(&tokens));

    let start = Instant::now();
    let (status, feedback) = send(&app, request).await;
    let elapsed = start.elapsed();
    println!("1,000 tokens answered in {elapsed:?}");
    assert_eq!(status, StatusCode::OK);
    let labels = labels(&feedback);
    assert_eq!(labels.len(), 1_000);
    assert_eq!(labels.iter().filter(|l| **l == "true_positive").count(), 10);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

/// A key reported to one instance is refused by another sharing the PostgreSQL database.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_key_is_refused_by_another_instance_within_a_second() {
    use common::databases::{postgres_pool, unique_table};
    use formbox_auth::store::{CachedStore, PostgresStore};

    if std::env::var_os("FORMBOX_TEST_POSTGRES_URL").is_none() {
        eprintln!("skipped: FORMBOX_TEST_POSTGRES_URL is not set");
        return;
    }
    let table = unique_table("scan");
    let instance = || async {
        let store = PostgresStore::new(postgres_pool(4).await)
            .with_table_name(&table)
            .unwrap();
        store.migrate().await.unwrap();
        let cache = CachedStore::new(store.clone())
            .with_ttl(Duration::from_secs(60))
            .with_negative_ttl(Duration::from_secs(60));
        let listener = store.listen_invalidations(&cache).await.unwrap();
        (KeyManager::new(cache), listener)
    };
    let (a, _a_listener) = instance().await;
    let (b, _b_listener) = instance().await;
    let key = live_key(&a).await;
    // B's cache is warm: without an invalidation it would accept the key for a minute.
    b.authenticator().authenticate(&key).await.unwrap();

    let app = app(SecretScanning::new(a, static_keys()));
    let (status, _) = send(&app, signed(&report(&[&key]))).await;
    assert_eq!(status, StatusCode::OK);

    let start = Instant::now();
    loop {
        match b.authenticator().authenticate(&key).await {
            Err(AuthError::RevokedKey) => break,
            Ok(_) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the other instance still accepts the key"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("refused by the other instance after {:?}", start.elapsed());
}
