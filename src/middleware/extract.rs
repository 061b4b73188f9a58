//! Finding the one key a request carries.

use http::{HeaderMap, HeaderName, HeaderValue, header, header::Entry};

use crate::rejection::Rejection;

/// The header keys travel in.
pub(crate) static API_KEY: HeaderName = HeaderName::from_static("api-key");

/// The key the request carries, trimmed of surrounding spaces. Marks the headers that carry
/// keys sensitive on the way, so that tracing and logging layers inside this one print
/// `Sensitive` instead of the key.
///
/// More than one key, even the same one twice, is [`Rejection::AmbiguousKey`]: guessing which
/// one the client meant could authenticate a request as the wrong key.
pub(crate) fn presented_key(
    headers: &mut HeaderMap,
    accept_bearer: bool,
) -> Result<&[u8], Rejection> {
    if accept_bearer {
        mark_sensitive(headers.entry(&API_KEY));
        mark_sensitive(headers.entry(header::AUTHORIZATION));
        let headers: &HeaderMap = headers;
        let from_header = headers.get_all(&API_KEY).iter().map(HeaderValue::as_bytes);
        let from_bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|value| bearer_token(value.as_bytes()));
        return only_one(from_header.chain(from_bearer));
    }
    // One lookup both marks and reads the header: this runs on every request.
    let Entry::Occupied(mut entry) = headers.entry(&API_KEY) else {
        return Err(Rejection::MissingKey);
    };
    let count = entry
        .iter_mut()
        .map(|value| value.set_sensitive(true))
        .count();
    if count > 1 {
        return Err(Rejection::AmbiguousKey);
    }
    only_one(std::iter::once(entry.into_mut().as_bytes()))
}

/// The single non-empty key among `keys`.
fn only_one<'a>(mut keys: impl Iterator<Item = &'a [u8]>) -> Result<&'a [u8], Rejection> {
    let key = keys.next().ok_or(Rejection::MissingKey)?;
    if keys.next().is_some() {
        return Err(Rejection::AmbiguousKey);
    }
    let key = key.trim_ascii();
    if key.is_empty() {
        return Err(Rejection::MissingKey);
    }
    Ok(key)
}

/// Marks the headers that may carry keys sensitive without reading them: for requests that
/// need no key, so that a key sent anyway is not logged either.
pub(crate) fn mark_keys_sensitive(headers: &mut HeaderMap, accept_bearer: bool) {
    mark_sensitive(headers.entry(&API_KEY));
    if accept_bearer {
        mark_sensitive(headers.entry(header::AUTHORIZATION));
    }
}

fn mark_sensitive(entry: Entry<'_, HeaderValue>) {
    if let Entry::Occupied(mut entry) = entry {
        entry.iter_mut().for_each(|value| value.set_sensitive(true));
    }
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
        let mut map = headers(&[("api-key", b"  fbsk_x  ")]);
        assert_eq!(presented_key(&mut map, false), Ok(&b"fbsk_x"[..]));
    }

    #[test]
    fn header_name_is_case_insensitive() {
        let mut map = headers(&[("API-Key", b"fbsk_x")]);
        assert_eq!(presented_key(&mut map, false), Ok(&b"fbsk_x"[..]));
    }

    #[test]
    fn no_key_or_an_empty_one_is_missing() {
        assert_eq!(
            presented_key(&mut HeaderMap::new(), false),
            Err(Rejection::MissingKey)
        );
        assert_eq!(
            presented_key(&mut headers(&[("api-key", b"")]), false),
            Err(Rejection::MissingKey)
        );
        assert_eq!(
            presented_key(&mut headers(&[("api-key", b"   ")]), false),
            Err(Rejection::MissingKey)
        );
    }

    #[test]
    fn two_api_key_headers_are_ambiguous_even_when_equal() {
        let mut map = headers(&[("api-key", b"fbsk_x"), ("api-key", b"fbsk_x")]);
        assert_eq!(presented_key(&mut map, false), Err(Rejection::AmbiguousKey));
    }

    #[test]
    fn bearer_is_ignored_unless_enabled() {
        let mut map = headers(&[("authorization", b"Bearer fbsk_x")]);
        assert_eq!(presented_key(&mut map, false), Err(Rejection::MissingKey));
        assert_eq!(presented_key(&mut map, true), Ok(&b"fbsk_x"[..]));
    }

    #[test]
    fn api_key_with_bearer_is_ambiguous_when_bearer_is_enabled() {
        let mut map = headers(&[("api-key", b"fbsk_x"), ("authorization", b"bearer fbsk_y")]);
        assert_eq!(presented_key(&mut map, true), Err(Rejection::AmbiguousKey));
        assert_eq!(presented_key(&mut map, false), Ok(&b"fbsk_x"[..]));
    }

    #[test]
    fn other_authorization_schemes_are_not_keys() {
        let mut map = headers(&[
            ("api-key", b"fbsk_x"),
            ("authorization", b"Basic dXNlcjpwdw=="),
        ]);
        assert_eq!(presented_key(&mut map, true), Ok(&b"fbsk_x"[..]));
        assert_eq!(bearer_token(b"Bearerfbsk_x"), None);
        assert_eq!(bearer_token(b"Bear"), None);
    }

    #[test]
    fn non_utf8_value_is_passed_on_for_the_parser_to_reject() {
        let mut map = headers(&[("api-key", b"fbsk_\xff")]);
        assert_eq!(presented_key(&mut map, false), Ok(&b"fbsk_\xff"[..]));
    }

    #[test]
    fn key_headers_are_marked_sensitive() {
        let mut map = headers(&[("api-key", b"fbsk_x"), ("authorization", b"Bearer fbsk_y")]);
        let _ = presented_key(&mut map, false);
        assert!(map["api-key"].is_sensitive());
        assert!(
            !map["authorization"].is_sensitive(),
            "not a key unless bearer is enabled"
        );
        let _ = presented_key(&mut map, true);
        assert!(map["authorization"].is_sensitive());
    }
}
