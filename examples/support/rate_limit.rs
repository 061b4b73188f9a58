//! `--rate-limit N/SECONDS`, shared by the `keys` and `grpc` examples.

use formbox_auth::rate_limit::RateLimit;

/// A rate limit given as `N/SECONDS`: at most N requests per SECONDS seconds, as in `600/60`.
pub fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    let invalid = || format!("{text:?} is not a rate limit N/SECONDS, such as 600/60");
    let (requests, seconds) = text.split_once('/').ok_or_else(invalid)?;
    let requests = requests.trim().parse().map_err(|_| invalid())?;
    let seconds = seconds.trim().parse().map_err(|_| invalid())?;
    RateLimit::new(requests, seconds).map_err(|error| format!("{text:?}: {error}"))
}
