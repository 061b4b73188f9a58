"""Schemathesis hooks for scripts/openapi.sh.

Schemathesis learns key ids from the answers (listing the organization's keys) and uses them in
later calls. Regenerating or revoking the key it authenticates with would turn every later call
into `401` and leave the rest of the run untested, so that one key is kept out of the calls: the
generated path parameters never name it, and a call that would (with an id taken from an answer,
in the stateful phase) names an unknown key instead.
"""

import os

import schemathesis

OWN_KEY_ID = os.environ["FORMBOX_OWN_KEY_ID"]
UNKNOWN_KEY_ID = "000000000000"


@schemathesis.hook
def filter_path_parameters(context, path_parameters):
    return (path_parameters or {}).get("id") != OWN_KEY_ID


@schemathesis.hook
def before_call(context, case, **kwargs):
    if (case.path_parameters or {}).get("id") == OWN_KEY_ID:
        case.path_parameters["id"] = UNKNOWN_KEY_ID
