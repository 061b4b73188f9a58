//! Writes the Rust code for the gRPC example's protocol: `grpc-codegen PROTO_ROOT OUT_DIR`.
//!
//! PROTO_ROOT holds `formbox/v1/forms.proto`; OUT_DIR receives `formbox.v1.rs`. protoc comes
//! from `PROTOC` or `PATH`.

use std::{env, error::Error, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = env::args_os().skip(1);
    let (Some(root), Some(out), None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: grpc-codegen PROTO_ROOT OUT_DIR".into());
    };
    let root = PathBuf::from(root);
    tonic_prost_build::configure()
        .out_dir(out)
        // The example is both ends: its server, and the client its tests and users call it with.
        .build_server(true)
        .build_client(true)
        .compile_protos(&[root.join("formbox/v1/forms.proto")], &[root])?;
    Ok(())
}
