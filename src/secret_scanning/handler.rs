//! The endpoint's one handler: verify, parse, revoke, answer.

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::State,
    response::{IntoResponse, Response},
    routing::post,
};
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{
    SecretScanning,
    report::{Feedback, Label, ReportedToken},
    signature::signature_headers,
};
use crate::{events::KeyEvent, lifecycle::LeakOutcome, management::ApiError};

impl SecretScanning {
    /// The route, relative: nest it where GitHub sends reports.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new()
            .route("/", post(receive_report))
            .with_state(self)
    }
}

/// `POST /`: a report from GitHub's secret scanning.
async fn receive_report(
    State(endpoint): State<SecretScanning>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match answer(&endpoint, &headers, body).await {
        Ok(feedback) => Json(feedback).into_response(),
        Err(error) => refusal(error),
    }
}

async fn answer(
    endpoint: &SecretScanning,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<Feedback>, ApiError> {
    let body = read_body(body, endpoint.max_body).await?;
    // Nothing of an unsigned body is parsed: the parser is not exposed to anyone but GitHub.
    verify(endpoint, headers, &body).await?;
    let reported = parse(&body, endpoint.max_tokens)?;
    // Collected first: an iterator adapter held across the await would make the handler's future
    // too generic for axum.
    let tokens: Vec<&str> = reported.iter().map(|r| r.token.as_str()).collect();
    let outcomes = endpoint.manager.revoke_leaked(tokens).await?;
    let raw = endpoint.raw_tokens_in_feedback;
    Ok(reported
        .into_iter()
        .zip(outcomes)
        .map(|(reported, outcome)| {
            record(endpoint, &reported, &outcome);
            Feedback::new(reported, Label::of(&outcome), raw)
        })
        .collect())
}

async fn read_body(body: Body, max: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("a report is at most {max} bytes"),
        )),
        Err(_) => Err(ApiError::invalid_request(
            None,
            "the body could not be read",
        )),
    }
}

async fn verify(
    endpoint: &SecretScanning,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    // One answer for every failure, so that a forger learns nothing from which check failed.
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "the report is not signed by a known GitHub key",
        )
    };
    let (identifier, signature) = signature_headers(headers).ok_or_else(invalid)?;
    let key = endpoint.keys.key(identifier).await.map_err(|error| {
        tracing::error!(%error, "GitHub's secret scanning public keys are unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "public_keys_unavailable",
            "the keys to verify the report with are unavailable",
        )
    })?;
    match key {
        Some(key) if key.verifies(body, &signature) => Ok(()),
        _ => Err(invalid()),
    }
}

fn parse(body: &[u8], max_tokens: usize) -> Result<Vec<ReportedToken>, ApiError> {
    // serde_json's messages quote the offending value, which may be a token: none is passed on.
    let reported: Vec<ReportedToken> = serde_json::from_slice(body).map_err(|_| {
        ApiError::invalid_request(
            None,
            "the body is not a JSON array of {\"token\", \"type\", \"url\", \"source\"} objects",
        )
    })?;
    if reported.len() > max_tokens {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_tokens",
            format!("a report holds at most {max_tokens} tokens"),
        ));
    }
    Ok(reported)
}

/// Emits [`KeyEvent::LeakReported`] for a key of this service.
fn record(endpoint: &SecretScanning, reported: &ReportedToken, outcome: &LeakOutcome) {
    let (organization, key_id, revoked) = match outcome {
        LeakOutcome::Revoked {
            organization,
            key_id,
        } => (organization, key_id, true),
        LeakOutcome::AlreadyRevoked {
            organization,
            key_id,
        }
        | LeakOutcome::GraceEnded {
            organization,
            key_id,
        } => (organization, key_id, false),
        _ => return,
    };
    endpoint
        .manager
        .authenticator()
        .emit(&KeyEvent::LeakReported {
            organization: organization.clone(),
            key_id: *key_id,
            url: reported.url.clone(),
            source: reported.source.clone(),
            revoked,
        });
}

/// The error as JSON, without the `WWW-Authenticate: api-key` that [`ApiError`] adds to a 401:
/// GitHub authenticates by signature here, not with an API key.
fn refusal(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().remove(header::WWW_AUTHENTICATE);
    response
}
