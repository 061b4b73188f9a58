//! Parse, verify and whole-request costs, each against a baseline measured in the same run.
//!
//! `cargo bench --bench auth`

use std::{convert::Infallible, hint::black_box, time::SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use formbox_auth::{
    ApiKeyAuthLayer, Authenticator, KeyFormat, KeyRecord, KeyStore, MemoryStore, OrganizationId,
    Permission, PlaintextKey,
};
use http::{Request, Response};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt, service_fn};

/// A store with 1,000 keys, and one more key that is in it.
fn populated_store(runtime: &Runtime) -> (MemoryStore, PlaintextKey) {
    let store = MemoryStore::new();
    let format = KeyFormat::default();
    let mut last = None;
    runtime.block_on(async {
        for i in 0..1_000 {
            let key = format.generate().unwrap();
            let organization = OrganizationId::from(format!("org_{}", i % 50));
            let record = KeyRecord::new(
                key.id(),
                organization,
                "bench",
                Permission::FullAccess,
                key.digest(),
                SystemTime::now(),
            );
            store.insert(&record).await.unwrap();
            last = Some(key);
        }
    });
    (store, last.unwrap())
}

/// Presented keys for every rejection path.
struct Presented {
    valid: String,
    wrong_secret: String,
    unknown: String,
    bad_checksum: String,
    malformed: String,
}

impl Presented {
    fn new(key: &PlaintextKey) -> Self {
        let format = KeyFormat::default();
        let valid = key.expose_secret().to_owned();
        let mut bad_checksum = valid.clone();
        let last = if valid.ends_with('0') { "1" } else { "0" };
        bad_checksum.replace_range(55..56, last);
        Self {
            wrong_secret: format
                .generate_for(key.id())
                .unwrap()
                .expose_secret()
                .to_owned(),
            unknown: format.generate().unwrap().expose_secret().to_owned(),
            bad_checksum,
            malformed: valid[..40].to_owned(),
            valid,
        }
    }

    fn cases(&self) -> [(&'static str, &str); 5] {
        [
            ("valid", &self.valid),
            ("wrong_secret", &self.wrong_secret),
            ("unknown_id", &self.unknown),
            ("bad_checksum", &self.bad_checksum),
            ("malformed", &self.malformed),
        ]
    }
}

fn baseline(c: &mut Criterion) {
    let input = [0x61u8; 48];
    c.bench_function("baseline/sha256_48_bytes", |b| {
        b.iter(|| Sha256::digest(black_box(input)))
    });
}

fn parse(c: &mut Criterion) {
    let format = KeyFormat::default();
    let key = format.generate().unwrap();
    let text = key.expose_secret();
    c.bench_function("parse/valid", |b| {
        b.iter(|| format.parse(black_box(text)).map(|p| p.id()))
    });
    c.bench_function("parse_and_digest/valid", |b| {
        b.iter(|| format.parse(black_box(text)).map(|p| p.digest()))
    });
}

/// Parse and check one key against its stored hash, without a store, beside the
/// `prefixed-api-key` crate doing the same (`from_string` + `check_hash`, its Seam defaults).
fn peer(c: &mut Criterion) {
    use prefixed_api_key::{PrefixedApiKey, PrefixedApiKeyController};

    let mut group = c.benchmark_group("parse_and_check");
    let format = KeyFormat::default();
    let key = format.generate().unwrap();
    let (text, stored) = (key.expose_secret().to_owned(), key.digest());
    group.bench_function("formbox_auth", |b| {
        b.iter(|| {
            format
                .parse(black_box(&text))
                .is_ok_and(|parsed| parsed.digest() == stored)
        })
    });

    let controller = PrefixedApiKeyController::configure()
        .prefix("fbsk".to_owned())
        .seam_defaults()
        .finalize()
        .unwrap();
    let (peer_key, peer_hash) = controller.try_generate_key_and_hash().unwrap();
    let peer_text = peer_key.to_string();
    group.bench_function("prefixed_api_key", |b| {
        b.iter(|| {
            PrefixedApiKey::from_string(black_box(&peer_text))
                .is_ok_and(|parsed| controller.check_hash(&parsed, &peer_hash))
        })
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (store, key) = populated_store(&runtime);
    let authenticator = Authenticator::new(store);
    let presented = Presented::new(&key);
    let mut group = c.benchmark_group("authenticate");
    for (name, text) in presented.cases() {
        group.bench_function(name, |b| {
            b.to_async(&runtime)
                .iter(|| async { authenticator.authenticate(black_box(text)).await.is_ok() })
        });
    }
    group.finish();
}

fn request(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (store, key) = populated_store(&runtime);
    let presented = Presented::new(&key);
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let layered = ApiKeyAuthLayer::new(store).layer(handler);
    let mut group = c.benchmark_group("request");
    group.bench_function("bare", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/v1/forms")
                .header("api-key", presented.valid.as_str())
                .body(String::new())
                .unwrap();
            handler.oneshot(request).await.unwrap().status()
        })
    });
    for (name, text) in presented.cases() {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let request = Request::get("/v1/forms")
                    .header("api-key", text)
                    .body(String::new())
                    .unwrap();
                let mut service = layered.clone();
                service
                    .ready()
                    .await
                    .unwrap()
                    .call(request)
                    .await
                    .unwrap()
                    .status()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, baseline, parse, peer, verify, request);
criterion_main!(benches);
