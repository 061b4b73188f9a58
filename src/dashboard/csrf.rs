//! Cross-site request forgery: a token bound to the host's session, and the request's origin.

use std::{fmt, sync::Arc};

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, header};
use rand::{TryRng, rngs::SysRng};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The header every write of the page carries its token in.
pub(super) const CSRF_HEADER: &str = "x-csrf-token";

/// Separates the page's tokens from any other use of an HMAC over a session.
const CONTEXT: &[u8] = b"formbox-auth dashboard csrf token v1\0";

/// The secret the tokens are derived with: random per [`Dashboard`](super::Dashboard) unless the
/// host sets one (so that every instance behind a load balancer accepts the others' tokens).
/// `None` when the operating system gave no randomness: the page then fails closed.
#[derive(Clone)]
pub(super) struct CsrfKey(Option<Arc<Zeroizing<[u8; 32]>>>);

impl CsrfKey {
    pub(super) fn random() -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        let drawn = SysRng.try_fill_bytes(secret.as_mut());
        Self(drawn.ok().map(|()| Arc::new(secret)))
    }

    pub(super) fn fixed(secret: [u8; 32]) -> Self {
        Self(Some(Arc::new(Zeroizing::new(secret))))
    }

    /// The token of `session`: the hex HMAC-SHA256 of it under the key. `None` without a key.
    pub(super) fn token(&self, session: &str) -> Option<String> {
        let key = self.0.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_slice()).ok()?;
        mac.update(CONTEXT);
        mac.update(session.as_bytes());
        let tag = mac.finalize().into_bytes();
        Some(tag.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// Whether `presented` is `session`'s token, compared in constant time.
    pub(super) fn verify(&self, session: &str, presented: &[u8]) -> bool {
        self.token(session)
            .is_some_and(|token| bool::from(token.as_bytes().ct_eq(presented)))
    }
}

impl fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfKey([REDACTED])")
    }
}

/// Whether a request with this method changes something, and so needs the token and origin.
pub(super) fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a write comes from the page's own site: its `Origin` names the host the request was
/// sent to (`Host`, or the authority of an HTTP/2 request), or one of `allowed`. A write without
/// `Origin` is refused: every browser sends it on `fetch` writes, and other clients use API keys.
pub(super) fn same_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    allowed: &[String],
) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if allowed
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some((_, origin_authority)) = origin.split_once("://") else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority);
    host.is_some_and(|host| host.eq_ignore_ascii_case(origin_authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_token_works_only_for_its_session_and_key() {
        let key = CsrfKey::fixed([7; 32]);
        let token = key.token("session-a").unwrap();
        assert_eq!(token.len(), 64);
        assert!(key.verify("session-a", token.as_bytes()));
        assert!(!key.verify("session-b", token.as_bytes()));
        assert!(!CsrfKey::fixed([8; 32]).verify("session-a", token.as_bytes()));
        assert!(!key.verify("session-a", b""));
    }

    #[test]
    fn without_randomness_nothing_verifies() {
        let key = CsrfKey(None);
        assert_eq!(key.token("s"), None);
        assert!(!key.verify("s", b""));
    }

    #[test]
    fn origin_must_name_the_requested_host() {
        let same = headers(&[
            (header::HOST, "app.example:8080"),
            (header::ORIGIN, "https://app.example:8080"),
        ]);
        assert!(same_origin(&same, None, &[]));
        let other = headers(&[
            (header::HOST, "app.example"),
            (header::ORIGIN, "https://evil.example"),
        ]);
        assert!(!same_origin(&other, None, &[]));
        let allowed = ["https://evil.example".to_owned()];
        assert!(same_origin(&other, None, &allowed));
        let missing = headers(&[(header::HOST, "app.example")]);
        assert!(!same_origin(&missing, None, &[]));
        let null = headers(&[(header::HOST, "app.example"), (header::ORIGIN, "null")]);
        assert!(!same_origin(&null, None, &[]));
        let http2 = headers(&[(header::ORIGIN, "https://app.example")]);
        assert!(same_origin(&http2, Some("app.example"), &[]));
    }
}
