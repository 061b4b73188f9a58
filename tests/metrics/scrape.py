"""The example server's /metrics, read with Prometheus's own text parser.

    scrape.py BASE_URL FULL_ACCESS_KEY READ_ONLY_KEY

Makes a known sequence of requests to a server that has served none yet, then parses
GET /metrics with prometheus_client and checks every count the sequence moved, that the
other rejection codes stayed at zero, and that no series names a key or an organization.
Exits non-zero at the first mismatch.
"""

import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

CODES = [
    "missing_api_key",
    "invalid_api_key",
    "revoked_api_key",
    "expired_api_key",
    "insufficient_permissions",
    "ambiguous_api_key",
    "key_store_unavailable",
    "rate_limited",
]


def request(base, method, path, key=None, body=None):
    """Sends one request; returns its status and body."""
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["api-key"] = key
    data = body.encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def expect(status, expected, what):
    if status != expected:
        sys.exit(f"scrape.py: {what}: expected {expected}, got {status}")


def main():
    base, full, read_only = sys.argv[1:4]

    for _ in range(3):
        status, _, _ = request(base, "GET", "/v1/forms", full)
        expect(status, 200, "GET /v1/forms with the full_access key")
    for _ in range(2):
        status, _, _ = request(base, "GET", "/v1/forms")
        expect(status, 401, "GET /v1/forms without a key")
    status, _, _ = request(base, "GET", "/v1/forms", "garbage")
    expect(status, 401, "GET /v1/forms with an invalid key")
    status, _, _ = request(base, "POST", "/v1/forms", read_only, '{"name":"Contact"}')
    expect(status, 403, "POST /v1/forms with the read_only key")

    status, headers, page = request(base, "GET", "/metrics")
    expect(status, 200, "GET /metrics without a key")
    content_type = headers.get("content-type", "")
    if not content_type.startswith("text/plain; version=0.0.4"):
        sys.exit(f"scrape.py: /metrics content type: {content_type!r}")
    for secret in (full, read_only):
        if secret in page:
            sys.exit("scrape.py: /metrics contains an API key")

    samples = {}
    documented = {}
    for family in text_string_to_metric_families(page):
        documented[family.name] = family.documentation
        for sample in family.samples:
            if "key_id" in sample.labels or "organization" in sample.labels:
                sys.exit(f"scrape.py: a per-key series without asking for one: {sample}")
            labels = tuple(sorted(sample.labels.items()))
            samples[(sample.name, labels)] = sample.value

    def value(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        if key not in samples:
            sys.exit(f"scrape.py: no sample {name} {labels} in:\n{page}")
        return samples[key]

    def check(actual, expected, what):
        if actual != expected:
            sys.exit(f"scrape.py: {what}: expected {expected}, got {actual}\n{page}")
        print(f"scrape.py:   {what} = {actual:g}")

    requests = "formbox_auth_requests_total"
    check(value(requests, outcome="admitted"), 3, 'requests{outcome="admitted"}')
    expected_rejections = {"missing_api_key": 2, "invalid_api_key": 1, "insufficient_permissions": 1}
    for code in CODES:
        check(
            value(requests, outcome="rejected", code=code),
            expected_rejections.get(code, 0),
            f'requests{{code="{code}"}}',
        )

    # The garbage key fails before any lookup; the other four requests looked their key up.
    lookups = "formbox_auth_cache_lookups_total"
    hits, misses = value(lookups, result="hit"), value(lookups, result="miss")
    check(hits + misses, 4, "cache lookups (hit + miss)")
    # Every miss went to the store and was timed; no hit was.
    duration = "formbox_auth_verification_duration_seconds"
    check(value(duration + "_count"), misses, "verification duration samples (= misses)")
    if value(duration + "_bucket", le="+Inf") != misses:
        sys.exit(f"scrape.py: the +Inf bucket differs from the count\n{page}")
    for operation in ("lookup", "record_usage"):
        for kind in ("backend", "decode", "timeout"):
            check(
                value("formbox_auth_store_errors_total", operation=operation, kind=kind),
                0,
                f"store errors {{{operation},{kind}}}",
            )
    check(value("formbox_auth_usage_flushes_total", result="error"), 0, "failed usage flushes")

    for family in (
        "formbox_auth_requests",
        "formbox_auth_cache_lookups",
        "formbox_auth_store_errors",
        "formbox_auth_usage_flushes",
        "formbox_auth_usage_flushed_keys",
        duration,
    ):
        if not documented.get(family):
            sys.exit(f"scrape.py: {family} has no HELP text")
    print("scrape.py: passed")


if __name__ == "__main__":
    main()
