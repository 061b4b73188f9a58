//! Arbitrary request headers through `ApiKeyAuthLayer` over a store holding one known key.
//!
//! Whatever the headers, the layer answers 200, 400, 401 or 403; every rejection is the
//! documented JSON with a documented code; no response body contains a presented header value;
//! and a request reaches the service only if it carried exactly one key and that key, trimmed
//! of surrounding whitespace, is the known one.

#![no_main]

use std::{convert::Infallible, sync::LazyLock, time::SystemTime};

use arbitrary::Arbitrary;
use formbox_auth::{
    ApiKeyAuthLayer, KeyFormat, KeyRecord, KeyStore, MemoryStore, OrganizationId, Permission,
    Rejection, store::Inserted,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt, service_fn};

/// The key the store holds (read only, organization `org_fuzz`). Fixed, so that a crash
/// reproduces from its input alone.
const KNOWN: &str = "fbsk_K52gjwQuyug4_sUSOfUrFL0sac8gwzfXyFnZwXYjL5R9g2ipGDa";
/// Well-formed, with a valid checksum, but not in the store.
const UNKNOWN: &str = "fbsk_1iEpj2YWU7lc_gW2V2BcLPBQQxU0WMVA2rs0fcTgxnoKV13rVAf";
/// The known key's id with another secret.
const WRONG_SECRET: &str = "fbsk_K52gjwQuyug4_lUZJzsJTNzC1P4oI4b2ZYV1DDjPw1jOZ2Hp5K2";

const CODES: [&str; 7] = [
    "missing_api_key",
    "invalid_api_key",
    "revoked_api_key",
    "expired_api_key",
    "insufficient_permissions",
    "ambiguous_api_key",
    "key_store_unavailable",
];

struct Harness {
    runtime: tokio::runtime::Runtime,
    plain: ApiKeyAuthLayer,
    bearer: ApiKeyAuthLayer,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let parsed = KeyFormat::default().parse(KNOWN).unwrap();
    let record = KeyRecord::new(
        parsed.id(),
        OrganizationId::from("org_fuzz"),
        "fuzz",
        Permission::ReadOnly,
        parsed.digest(),
        SystemTime::now(),
    );
    let inserted = runtime.block_on(store.insert(&record, None)).unwrap();
    assert_eq!(inserted, Inserted::Stored);
    Harness {
        runtime,
        plain: ApiKeyAuthLayer::new(store.clone()),
        bearer: ApiKeyAuthLayer::new(store).with_bearer(true),
    }
});

#[derive(Arbitrary, Debug)]
struct Input {
    bearer: bool,
    post: bool,
    headers: Vec<Header>,
}

#[derive(Arbitrary, Debug)]
struct Header {
    name: Name,
    value: Value,
}

#[derive(Arbitrary, Debug)]
enum Name {
    /// `api-key`, upper-casing the letters whose bits are set.
    ApiKey(u8),
    /// `authorization`, upper-casing the letters whose bits are set.
    Authorization(u16),
    Other(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Raw(Vec<u8>),
    /// A key, with whitespace around it and optionally a `Bearer` scheme before it.
    Key {
        which: Which,
        before: Vec<Pad>,
        after: Vec<Pad>,
        scheme: Option<Scheme>,
    },
    /// The known key with one byte replaced.
    Mutated {
        position: u8,
        byte: u8,
    },
    /// The known key cut short or with bytes added.
    Truncated(u8),
    Extended(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Which {
    Known,
    Unknown,
    WrongSecret,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Pad {
    Space,
    Tab,
}

#[derive(Arbitrary, Debug)]
struct Scheme {
    /// Letters of `bearer` to upper-case.
    case: u8,
    spaces: u8,
}

fn cased(name: &str, mask: u32) -> Vec<u8> {
    name.bytes()
        .enumerate()
        .map(|(i, byte)| {
            if mask >> (i % 32) & 1 == 1 {
                byte.to_ascii_uppercase()
            } else {
                byte
            }
        })
        .collect()
}

fn pads(pads: &[Pad]) -> impl Iterator<Item = u8> + '_ {
    pads.iter().map(|pad| match pad {
        Pad::Space => b' ',
        Pad::Tab => b'\t',
    })
}

impl Name {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::ApiKey(mask) => cased("api-key", u32::from(*mask)),
            Self::Authorization(mask) => cased("authorization", u32::from(*mask)),
            Self::Other(bytes) => bytes.clone(),
        }
    }
}

impl Value {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Raw(bytes) => bytes.clone(),
            Self::Key {
                which,
                before,
                after,
                scheme,
            } => {
                let key = match which {
                    Which::Known => KNOWN,
                    Which::Unknown => UNKNOWN,
                    Which::WrongSecret => WRONG_SECRET,
                };
                let mut out = Vec::new();
                if let Some(scheme) = scheme {
                    out.extend(cased("bearer", u32::from(scheme.case)));
                    out.extend(std::iter::repeat_n(b' ', usize::from(scheme.spaces % 4)));
                }
                out.extend(pads(before));
                out.extend(key.bytes());
                out.extend(pads(after));
                out
            }
            Self::Mutated { position, byte } => {
                let mut out = KNOWN.as_bytes().to_vec();
                out[usize::from(*position) % KNOWN.len()] = *byte;
                out
            }
            Self::Truncated(len) => KNOWN.as_bytes()[..usize::from(*len) % KNOWN.len()].to_vec(),
            Self::Extended(extra) => {
                let mut out = KNOWN.as_bytes().to_vec();
                out.extend(extra);
                out
            }
        }
    }
}

/// HTTP's optional whitespace around a value: spaces and tabs.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The token of `Authorization: Bearer <token>`: after optional leading whitespace, the scheme
/// (case-insensitive) and a space (RFC 6750). `Bearer ` with nothing after it still counts as a
/// presented (empty) key, so that it and an `api-key` header are two keys, not one.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let start = value
        .iter()
        .position(|byte| *byte != b' ' && *byte != b'\t')
        .unwrap_or(value.len());
    let (scheme, rest) = value[start..].split_at_checked(6)?;
    (scheme.eq_ignore_ascii_case(b"bearer") && rest.first() == Some(&b' ')).then_some(rest)
}

/// The rejection a documented code stands for.
fn rejection(code: &str) -> Rejection {
    match code {
        "missing_api_key" => Rejection::MissingKey,
        "invalid_api_key" => Rejection::InvalidKey,
        "revoked_api_key" => Rejection::RevokedKey,
        "expired_api_key" => Rejection::ExpiredKey,
        "insufficient_permissions" => Rejection::InsufficientPermissions {
            required: Permission::FullAccess,
        },
        "ambiguous_api_key" => Rejection::AmbiguousKey,
        "key_store_unavailable" => Rejection::StoreUnavailable,
        other => panic!("undocumented code {other}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn service(request: Request<String>) -> Result<Response<String>, Infallible> {
    let context = request
        .extensions()
        .get::<formbox_auth::AuthContext>()
        .expect("the service is reached only with a context");
    assert_eq!(context.organization().as_str(), "org_fuzz");
    Ok(Response::new("reached".to_owned()))
}

fuzz_target!(|input: Input| {
    let harness = &*HARNESS;
    let mut headers = HeaderMap::new();
    let mut presented: Vec<Vec<u8>> = Vec::new();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for header in input.headers.iter().take(32) {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&header.name.bytes()),
            HeaderValue::from_bytes(&header.value.bytes()),
        ) else {
            continue;
        };
        let bytes = value.as_bytes().to_vec();
        if name == "api-key" {
            keys.push(bytes.clone());
        } else if name == header::AUTHORIZATION
            && input.bearer
            && let Some(token) = bearer_token(&bytes)
        {
            keys.push(token.to_vec());
        }
        presented.push(bytes);
        headers.append(name, value);
    }

    let method = if input.post {
        Method::POST
    } else {
        Method::GET
    };
    let mut request = Request::builder()
        .method(method)
        .uri("/v1/forms")
        .body(String::new())
        .unwrap();
    *request.headers_mut() = headers;
    let layer = if input.bearer {
        &harness.bearer
    } else {
        &harness.plain
    };
    let response = harness
        .runtime
        .block_on(layer.layer(service_fn(service)).oneshot(request))
        .unwrap();

    let status = response.status();
    let body = response.body().as_bytes();
    let the_known_key = keys.len() == 1 && trim_ows(&keys[0]) == KNOWN.as_bytes();
    let fixed = match status {
        StatusCode::OK => {
            assert!(the_known_key, "accepted {keys:?}");
            assert!(!input.post, "a read-only key posted");
            "reached".to_owned()
        }
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let json: serde_json::Value = serde_json::from_slice(body).expect("JSON body");
            let code = json["error"]["code"].as_str().expect("error.code");
            assert!(CODES.contains(&code), "undocumented code {code}");
            assert!(json["error"]["message"].is_string());
            let expected = match keys.len() {
                0 => (StatusCode::UNAUTHORIZED, "missing_api_key"),
                1 if the_known_key => (StatusCode::FORBIDDEN, "insufficient_permissions"),
                1 if trim_ows(&keys[0]).is_empty() => (StatusCode::UNAUTHORIZED, "missing_api_key"),
                1 => (StatusCode::UNAUTHORIZED, "invalid_api_key"),
                _ => (StatusCode::BAD_REQUEST, "ambiguous_api_key"),
            };
            assert_eq!((status, code), expected, "keys {keys:?}");
            rejection(code).json().into_owned()
        }
        other => panic!("undocumented status {other}"),
    };
    // A body is the fixed text of its outcome. A value that is part of that text (a fuzzer can
    // guess `invalid_api_key`) is not an echo; anything else of a value in the body is.
    for value in presented.iter().filter(|value| value.len() >= 8) {
        for needle in [value.as_slice(), trim_ows(value)] {
            if needle.len() >= 8 && !contains(fixed.as_bytes(), needle) {
                assert!(!contains(body, needle), "the body echoes {needle:?}");
            }
        }
    }
    assert_eq!(body, fixed.as_bytes(), "the body depends on the input");
    if the_known_key && !input.post {
        assert_eq!(status, StatusCode::OK);
    }
});
