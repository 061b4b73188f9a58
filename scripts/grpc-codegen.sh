#!/usr/bin/env bash
# The gRPC example's generated code, kept in the repository so that the library needs no build
# script and no protoc.
#
#   scripts/grpc-codegen.sh           regenerates examples/grpc/formbox.v1.rs from
#                                     examples/grpc/proto/formbox/v1/forms.proto
#   scripts/grpc-codegen.sh --check   regenerates into a temporary directory and fails if the
#                                     committed file differs (a .proto changed without it)
#
# The generator is scripts/grpc-codegen/ (tonic-prost-build, its versions pinned by its own
# Cargo.lock), built under target/grpc-codegen. protoc comes from the system packages (apt-get)
# when none is found.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

generated=examples/grpc/formbox.v1.rs
proto_root=examples/grpc/proto

check=false
case "${1:-}" in
    --check) check=true ;;
    "") ;;
    *) die "usage: $0 [--check]" ;;
esac

command -v protoc >/dev/null 2>&1 || install_packages protoc protobuf-compiler
command -v protoc >/dev/null 2>&1 || die "protoc still not found after installing protobuf-compiler"

work="$(mktemp -d)"
on_exit rm -rf "$work"

CARGO_TARGET_DIR="$PWD/target/grpc-codegen" cargo run --quiet --locked \
    --manifest-path scripts/grpc-codegen/Cargo.toml -- "$proto_root" "$work"
{
    echo "// Generated from examples/grpc/proto/formbox/v1/forms.proto by scripts/grpc-codegen.sh"
    echo "// (tonic-prost-build). Do not edit: change the .proto and run the script again."
    echo
    cat "$work/formbox.v1.rs"
} >"$work/generated.rs"
# The file is a module of the example: formatted as `cargo fmt` would, so that it stays as
# generated.
rustfmt --edition 2024 "$work/generated.rs"

if $check; then
    if ! diff -u "$generated" "$work/generated.rs" >&2; then
        die "$generated is not what $proto_root generates: run scripts/grpc-codegen.sh"
    fi
    say "$generated is up to date"
else
    cp "$work/generated.rs" "$generated"
    say "wrote $generated"
fi
