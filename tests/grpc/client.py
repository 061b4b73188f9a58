"""A gRPC client of the example server written with nothing from this repository but the .proto.

    client.py ADDR calls --full KEY --read-only KEY
        the permission and key checks: every call's status code, and health without a key
    client.py ADDR scopes --forms-read KEY --submissions-read KEY
        restricted keys: a key holding forms:read lists forms and is refused CreateForm with
        PERMISSION_DENIED naming forms:write; a key without a forms scope is refused ListForms,
        naming forms:read
    client.py ADDR rate-limit --key KEY --limit N
        at most N calls pass, then the key gets RESOURCE_EXHAUSTED
    client.py ADDR unavailable [--within SECONDS]
        a well-formed key no one has seen gets UNAVAILABLE within SECONDS (the store is down)
    client.py ADDR unknown
        a well-formed key no one has seen gets UNAUTHENTICATED (the store answered)

Python's grpcio is a second implementation next to tonic: what passes here holds for clients
the crate never saw. The stubs are generated from examples/grpc/proto at every run, into a
temporary directory. Prints each check; exits non-zero at the first that fails.
"""

import argparse
import importlib.resources
import pathlib
import secrets
import sys
import tempfile
import time
import zlib

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_tools import protoc

PROTO_ROOT = pathlib.Path(__file__).resolve().parents[2] / "examples" / "grpc" / "proto"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# How long any one call may take: a status should come at once, or within the store timeout.
DEADLINE = 10.0


class CheckFailed(Exception):
    pass


def say(message):
    print(f"client.py: {message}", flush=True)


def load_stubs(out):
    """Compiles forms.proto into `out` and imports what grpc_tools made of it."""
    include = importlib.resources.files("grpc_tools") / "_proto"
    status = protoc.main([
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        "formbox/v1/forms.proto",
    ])
    if status != 0:
        raise CheckFailed(f"protoc failed on {PROTO_ROOT}/formbox/v1/forms.proto ({status})")
    sys.path.insert(0, out)
    from formbox.v1 import forms_pb2, forms_pb2_grpc

    return forms_pb2, forms_pb2_grpc


def metadata(*keys):
    return tuple(("api-key", key) for key in keys)


def expect_code(call, code, what):
    """Runs `call`, which must fail with `code`; returns the error."""
    try:
        response = call()
    except grpc.RpcError as error:
        if error.code() != code:
            raise CheckFailed(f"{what}: {error.code().name} {error.details()!r}, expected {code.name}")
        say(f"{what}: {error.code().name} {error.details()!r}")
        return error
    raise CheckFailed(f"{what}: succeeded ({response!r}), expected {code.name}")


def well_formed_key():
    """A key of the default format that no server issued: right length, alphabet and checksum.

    The checksum is CRC32 of everything before it, as six base62 digits, most significant first.
    """
    key_id = "".join(secrets.choice(BASE62) for _ in range(12))
    secret = "".join(secrets.choice(BASE62) for _ in range(32))
    body = f"fbsk_{key_id}_{secret}"
    crc = zlib.crc32(body.encode("ascii"))
    digits = []
    for _ in range(6):
        crc, digit = divmod(crc, 62)
        digits.append(BASE62[digit])
    return body + "".join(reversed(digits))


def check_calls(channel, pb, stubs, full, read_only):
    forms = stubs.FormsStub(channel)

    listed = forms.ListForms(pb.ListFormsRequest(), metadata=metadata(read_only), timeout=DEADLINE)
    if not listed.organization:
        raise CheckFailed(f"ListForms with the read_only key names no organization: {listed!r}")
    say(f"ListForms with the read_only key: OK, organization {listed.organization}, {len(listed.forms)} forms")

    error = expect_code(
        lambda: forms.CreateForm(pb.CreateFormRequest(name="Contact"), metadata=metadata(read_only), timeout=DEADLINE),
        grpc.StatusCode.PERMISSION_DENIED,
        "CreateForm with the read_only key",
    )
    if "full_access" not in (error.details() or ""):
        raise CheckFailed(f"the PERMISSION_DENIED details do not name full_access: {error.details()!r}")

    created = forms.CreateForm(pb.CreateFormRequest(name="Contact"), metadata=metadata(full), timeout=DEADLINE)
    if created.name != "Contact" or created.id == 0:
        raise CheckFailed(f"CreateForm with the full_access key answered {created!r}")
    say(f"CreateForm with the full_access key: OK, form {created.id}")

    listed = forms.ListForms(pb.ListFormsRequest(), metadata=metadata(read_only), timeout=DEADLINE)
    if created not in listed.forms:
        raise CheckFailed(f"the new form is not listed: {listed!r}")
    say("ListForms with the read_only key: the new form is listed")

    expect_code(
        lambda: forms.ListForms(pb.ListFormsRequest(), timeout=DEADLINE),
        grpc.StatusCode.UNAUTHENTICATED,
        "ListForms without a key",
    )
    malformed = read_only[:-1] + ("1" if read_only.endswith("0") else "0")
    for what, key in [("garbage", "garbage"), ("one character changed", malformed)]:
        error = expect_code(
            lambda: forms.ListForms(pb.ListFormsRequest(), metadata=metadata(key), timeout=DEADLINE),
            grpc.StatusCode.UNAUTHENTICATED,
            f"ListForms with a malformed key ({what})",
        )
        if key in (error.details() or ""):
            raise CheckFailed(f"the details repeat the key: {error.details()!r}")
    expect_code(
        lambda: forms.ListForms(pb.ListFormsRequest(), metadata=metadata(read_only, full), timeout=DEADLINE),
        grpc.StatusCode.INVALID_ARGUMENT,
        "ListForms with two api-key entries",
    )

    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", "formbox.v1.Forms"]:
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=DEADLINE)
        if answer.status != health_pb2.HealthCheckResponse.SERVING:
            raise CheckFailed(f"health of {service!r}: {answer!r}")
        say(f"health of {service or 'the server'!r} without a key: SERVING")


def expect_scope_refusal(call, scope, what):
    """Runs `call`, which must be PERMISSION_DENIED with details naming `scope`."""
    error = expect_code(call, grpc.StatusCode.PERMISSION_DENIED, what)
    if f"`{scope}`" not in (error.details() or ""):
        raise CheckFailed(f"{what}: the details do not name {scope}: {error.details()!r}")


def check_scopes(channel, pb, stubs, forms_read, submissions_read):
    forms = stubs.FormsStub(channel)

    listed = forms.ListForms(pb.ListFormsRequest(), metadata=metadata(forms_read), timeout=DEADLINE)
    say(f"ListForms with a forms:read key: OK, {len(listed.forms)} forms")
    before = len(listed.forms)
    expect_scope_refusal(
        lambda: forms.CreateForm(pb.CreateFormRequest(name="Scoped"), metadata=metadata(forms_read), timeout=DEADLINE),
        "forms:write",
        "CreateForm with a forms:read key",
    )
    expect_scope_refusal(
        lambda: forms.ListForms(pb.ListFormsRequest(), metadata=metadata(submissions_read), timeout=DEADLINE),
        "forms:read",
        "ListForms with a submissions:read key",
    )
    listed = forms.ListForms(pb.ListFormsRequest(), metadata=metadata(forms_read), timeout=DEADLINE)
    if len(listed.forms) != before:
        raise CheckFailed(f"a refused CreateForm created a form: {listed!r}")


def check_rate_limit(channel, pb, stubs, key, limit):
    forms = stubs.FormsStub(channel)
    passed = 0
    for _ in range(limit + 1):
        try:
            forms.ListForms(pb.ListFormsRequest(), metadata=metadata(key), timeout=DEADLINE)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise CheckFailed(f"call {passed + 1}: {error.code().name} {error.details()!r}")
            # The details send the client to `Retry-After`: it must be in the metadata.
            retry_after = dict(error.trailing_metadata() or ()).get("retry-after", "")
            if not retry_after.isdigit():
                raise CheckFailed(f"RESOURCE_EXHAUSTED without a retry-after entry: {error.trailing_metadata()!r}")
            say(f"after {passed} calls: RESOURCE_EXHAUSTED {error.details()!r}, retry-after {retry_after} s")
            break
        passed += 1
    else:
        raise CheckFailed(f"{limit + 1} calls passed a limit of {limit}")
    if passed == 0:
        raise CheckFailed("the first call was already over the limit")


def check_unseen_key(channel, pb, stubs, code, within=DEADLINE):
    """A new well-formed key, so that no cache can answer for the store."""
    forms = stubs.FormsStub(channel)
    key = well_formed_key()
    start = time.monotonic()
    expect_code(
        lambda: forms.ListForms(pb.ListFormsRequest(), metadata=metadata(key), timeout=DEADLINE),
        code,
        "ListForms with a well-formed key no one has seen",
    )
    took = time.monotonic() - start
    if took > within:
        raise CheckFailed(f"{code.name} took {took:.2f} s, more than {within} s")
    say(f"{code.name} after {took:.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("addr", help="HOST:PORT of the example server")
    commands = parser.add_subparsers(dest="command", required=True)
    calls = commands.add_parser("calls")
    calls.add_argument("--full", required=True)
    calls.add_argument("--read-only", required=True)
    scopes = commands.add_parser("scopes")
    scopes.add_argument("--forms-read", required=True)
    scopes.add_argument("--submissions-read", required=True)
    rate = commands.add_parser("rate-limit")
    rate.add_argument("--key", required=True)
    rate.add_argument("--limit", type=int, required=True)
    unavailable = commands.add_parser("unavailable")
    unavailable.add_argument("--within", type=float, default=5.0)
    commands.add_parser("unknown")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as out:
        pb, stubs = load_stubs(out)
        with grpc.insecure_channel(args.addr) as channel:
            try:
                if args.command == "calls":
                    check_calls(channel, pb, stubs, args.full, args.read_only)
                elif args.command == "scopes":
                    check_scopes(channel, pb, stubs, args.forms_read, args.submissions_read)
                elif args.command == "rate-limit":
                    check_rate_limit(channel, pb, stubs, args.key, args.limit)
                elif args.command == "unavailable":
                    check_unseen_key(channel, pb, stubs, grpc.StatusCode.UNAVAILABLE, args.within)
                else:
                    check_unseen_key(channel, pb, stubs, grpc.StatusCode.UNAUTHENTICATED)
            except CheckFailed as failure:
                say(f"FAILED: {failure}")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
