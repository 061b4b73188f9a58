//! The signature headers of a report.

use base64::{Engine, engine::general_purpose::STANDARD};
use http::HeaderMap;
use p256::ecdsa::Signature;

/// Which of GitHub's keys signed the report.
pub(crate) const KEY_IDENTIFIER: &str = "github-public-key-identifier";
/// The signature of the raw body: base64 of an ASN.1 DER ECDSA signature.
pub(crate) const KEY_SIGNATURE: &str = "github-public-key-signature";

/// The key identifier and signature of a report, when both are present and well-formed.
pub(crate) fn signature_headers(headers: &HeaderMap) -> Option<(&str, Signature)> {
    let identifier = headers.get(KEY_IDENTIFIER)?.to_str().ok()?;
    let encoded = headers.get(KEY_SIGNATURE)?.to_str().ok()?;
    let der = STANDARD.decode(encoded.trim()).ok()?;
    let signature = Signature::from_der(&der).ok()?;
    Some((identifier.trim(), signature))
}
