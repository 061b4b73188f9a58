//! The wire format: GitHub's report of found tokens, and the feedback answered.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::lifecycle::LeakOutcome;

/// One match in a report: `{"token", "type", "url", "source"}`.
#[derive(Deserialize)]
pub(crate) struct ReportedToken {
    pub(crate) token: String,
    #[serde(rename = "type", default)]
    pub(crate) token_type: String,
    /// Where it was found; may be empty.
    #[serde(default)]
    pub(crate) url: String,
    /// What it was found in, such as `commit` or `issue_comment`.
    #[serde(default)]
    pub(crate) source: String,
}

impl fmt::Debug for ReportedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportedToken")
            .field("token", &"[REDACTED]")
            .field("type", &self.token_type)
            .field("url", &self.url)
            .field("source", &self.source)
            .finish()
    }
}

/// GitHub's two labels.
#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Label {
    TruePositive,
    FalsePositive,
}

impl Label {
    /// A key of this service, whatever state it was in, is a real credential; anything else is
    /// not.
    pub(crate) fn of(outcome: &LeakOutcome) -> Self {
        match outcome {
            LeakOutcome::Revoked { .. }
            | LeakOutcome::AlreadyRevoked { .. }
            | LeakOutcome::GraceEnded { .. } => Self::TruePositive,
            _ => Self::FalsePositive,
        }
    }
}

/// One element of the feedback: the token raw or as its SHA-256, never both.
#[derive(Serialize)]
pub(crate) struct Feedback {
    #[serde(skip_serializing_if = "Option::is_none")]
    token_raw: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_hash: Option<String>,
    token_type: String,
    label: Label,
}

impl Feedback {
    pub(crate) fn new(reported: ReportedToken, label: Label, raw: bool) -> Self {
        let (token_raw, token_hash) = if raw {
            (Some(reported.token), None)
        } else {
            (None, Some(sha256_hex(&reported.token)))
        };
        Self {
            token_raw,
            token_hash,
            token_type: reported.token_type,
            label,
        }
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
