"""A detect-secrets plugin for Formbox API keys (fbsk_<key id>_<secret><checksum>).

    detect-secrets scan --plugin docs/secret-scanning/detect_secrets_fbsk.py > .secrets.baseline
    detect-secrets-hook --plugin docs/secret-scanning/detect_secrets_fbsk.py \
        --baseline .secrets.baseline $(git diff --cached --name-only)

The regular expression matches exactly the well-formed keys. A key ends in six characters of
checksum (the CRC32 of everything before them, in base62), so the plugin reports only the
candidates whose checksum is right: a random string of the right shape is not a key.
"""

import re
import zlib

from detect_secrets.plugins.base import RegexBasedDetector

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_LEN = 6


def has_valid_checksum(key):
    """Whether the last six characters of `key` are the base62 CRC32 of the rest."""
    body, checksum = key[:-_CHECKSUM_LEN], key[-_CHECKSUM_LEN:]
    value = zlib.crc32(body.encode("ascii"))
    expected = ""
    for _ in range(_CHECKSUM_LEN):
        value, digit = divmod(value, 62)
        expected = _BASE62[digit] + expected
    return checksum == expected


class FormboxApiKeyDetector(RegexBasedDetector):
    """Scans for Formbox API keys."""

    secret_type = "Formbox API Key"

    denylist = [
        re.compile(r"\bfbsk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b", re.ASCII),
    ]

    def analyze_string(self, string):
        for match in super().analyze_string(string):
            if has_valid_checksum(match):
                yield match
