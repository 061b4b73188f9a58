//! No `Debug` or `Display` output of a public type shows a secret or a digest.

use crate::common;

use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    ApiKeyAuthLayer, AuthContext, KeyFormat, KeyManager, KeyStore, MemoryStore, OrganizationId,
    Permission,
};
use http::Request;
use tower::{Layer, ServiceExt, service_fn};

/// Every form the secret or digest could take in output.
fn forbidden(secret: &str, digest: &[u8; 32]) -> Vec<String> {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        secret[18..50].to_owned(),
        secret[..50].to_owned(),
        hex,
        format!("{digest:?}"),
        format!("{:?}", &digest[..8])
            .trim_end_matches(']')
            .to_owned(),
    ]
}

fn assert_clean(what: &str, shown: &str, forbidden: &[String]) {
    for needle in forbidden {
        assert!(
            !shown.contains(needle.as_str()),
            "{what} shows {needle:?}: {shown}"
        );
    }
}

#[tokio::test]
async fn debug_and_display_of_key_material_are_redacted() {
    let store = MemoryStore::new();
    let manager = KeyManager::new(store.clone());
    let org = OrganizationId::from("org_a");
    let created = manager
        .create(&org, NewKey::new("CI", Permission::FullAccess))
        .await
        .unwrap();
    let secret = created.key.expose_secret().to_owned();
    let digest = *created.key.digest().as_bytes();
    let bad = forbidden(&secret, &digest);

    let record = store.get(&created.info.id).await.unwrap().unwrap();
    let parsed = KeyFormat::default().parse(&secret).unwrap();
    assert_clean("PlaintextKey Debug", &format!("{:?}", created.key), &bad);
    assert_clean("PlaintextKey Display", &created.key.to_string(), &bad);
    assert_clean("CreatedKey", &format!("{created:?}"), &bad);
    assert_clean("KeyInfo", &format!("{:?}", created.info), &bad);
    assert_clean("KeyRecord", &format!("{record:?}"), &bad);
    assert_clean("KeyDigest", &format!("{:?}", created.key.digest()), &bad);
    assert_clean("ParsedKey", &format!("{parsed:?}"), &bad);
    assert_clean("KeyManager", &format!("{manager:?}"), &bad);
    assert_clean("MemoryStore", &format!("{store:?}"), &bad);

    let layer = ApiKeyAuthLayer::new(store);
    assert_clean("ApiKeyAuthLayer", &format!("{layer:?}"), &bad);
    let inner = service_fn(|request: Request<String>| async move {
        let context = request.extensions().get::<AuthContext>().cloned().unwrap();
        let headers = format!("{:?}", request.headers());
        Ok::<_, std::convert::Infallible>(http::Response::new(format!("{context:?} {headers}")))
    });
    let service = layer.layer(inner);
    assert_clean("ApiKeyAuth", &format!("{service:?}"), &bad);
    let request = Request::get("/")
        .header("api-key", &secret)
        .body(String::new())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_clean("AuthContext and request headers", response.body(), &bad);
    assert!(response.body().contains("Sensitive"), "{}", response.body());
}

#[test]
fn memory_store_debug_redacts_stored_digests() {
    // MemoryStore derives Debug over its records; each digest prints as [REDACTED].
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = MemoryStore::new();
        let (key, _) = common::issue_key(&store, "org_a", Permission::ReadOnly).await;
        let shown = format!("{store:?}");
        assert!(shown.contains("REDACTED"), "{shown}");
        assert_clean(
            "MemoryStore",
            &shown,
            &forbidden(key.expose_secret(), key.digest().as_bytes()),
        );
    });
}
