//! Finding the one key a request carries.

use http::{HeaderMap, HeaderName, header};

use super::Rejection;

/// The header keys travel in.
pub(crate) static API_KEY: HeaderName = HeaderName::from_static("api-key");

/// The key the request carries, trimmed of surrounding spaces.
///
/// More than one key, even the same one twice, is [`Rejection::AmbiguousKey`]: guessing which
/// one the client meant could authenticate a request as the wrong key.
pub(crate) fn presented_key(headers: &HeaderMap, accept_bearer: bool) -> Result<&str, Rejection> {
    let mut found = None;
    for value in headers.get_all(&API_KEY) {
        found = Some(match found {
            None => value.as_bytes(),
            Some(_) => return Err(Rejection::AmbiguousKey),
        });
    }
    if accept_bearer {
        for value in headers.get_all(header::AUTHORIZATION) {
            if let Some(token) = bearer_token(value.as_bytes()) {
                found = Some(match found {
                    None => token,
                    Some(_) => return Err(Rejection::AmbiguousKey),
                });
            }
        }
    }
    let raw = found
        .ok_or(Rejection::MissingKey)?
        .trim_ascii_start()
        .trim_ascii_end();
    if raw.is_empty() {
        return Err(Rejection::MissingKey);
    }
    // A key is ASCII; anything else cannot be one.
    std::str::from_utf8(raw).map_err(|_| Rejection::InvalidKey)
}

/// The token of an `Authorization: Bearer <token>` value, or `None` for other schemes.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii_start();
    let (scheme, rest) = value.split_at_checked(6)?;
    (scheme.eq_ignore_ascii_case(b"bearer") && rest.first() == Some(&b' ')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn reads_the_api_key_header_trimmed() {
        let map = headers(&[("api-key", b"  fbsk_x  ")]);
        assert_eq!(presented_key(&map, false), Ok("fbsk_x"));
    }

    #[test]
    fn header_name_is_case_insensitive() {
        let map = headers(&[("API-Key", b"fbsk_x")]);
        assert_eq!(presented_key(&map, false), Ok("fbsk_x"));
    }

    #[test]
    fn no_key_or_an_empty_one_is_missing() {
        assert_eq!(
            presented_key(&HeaderMap::new(), false),
            Err(Rejection::MissingKey)
        );
        assert_eq!(
            presented_key(&headers(&[("api-key", b"")]), false),
            Err(Rejection::MissingKey)
        );
        assert_eq!(
            presented_key(&headers(&[("api-key", b"   ")]), false),
            Err(Rejection::MissingKey)
        );
    }

    #[test]
    fn two_api_key_headers_are_ambiguous_even_when_equal() {
        let map = headers(&[("api-key", b"fbsk_x"), ("api-key", b"fbsk_x")]);
        assert_eq!(presented_key(&map, false), Err(Rejection::AmbiguousKey));
    }

    #[test]
    fn bearer_is_ignored_unless_enabled() {
        let map = headers(&[("authorization", b"Bearer fbsk_x")]);
        assert_eq!(presented_key(&map, false), Err(Rejection::MissingKey));
        assert_eq!(presented_key(&map, true), Ok("fbsk_x"));
    }

    #[test]
    fn api_key_with_bearer_is_ambiguous_when_bearer_is_enabled() {
        let map = headers(&[("api-key", b"fbsk_x"), ("authorization", b"bearer fbsk_y")]);
        assert_eq!(presented_key(&map, true), Err(Rejection::AmbiguousKey));
        assert_eq!(presented_key(&map, false), Ok("fbsk_x"));
    }

    #[test]
    fn other_authorization_schemes_are_not_keys() {
        let map = headers(&[
            ("api-key", b"fbsk_x"),
            ("authorization", b"Basic dXNlcjpwdw=="),
        ]);
        assert_eq!(presented_key(&map, true), Ok("fbsk_x"));
        assert_eq!(bearer_token(b"Bearerfbsk_x"), None);
        assert_eq!(bearer_token(b"Bear"), None);
    }

    #[test]
    fn non_utf8_value_is_invalid() {
        let map = headers(&[("api-key", b"fbsk_\xff")]);
        assert_eq!(presented_key(&map, false), Err(Rejection::InvalidKey));
    }
}
