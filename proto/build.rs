//! Generates the tonic/prost code from `proto/ember.proto` with protox, a pure
//! Rust protobuf compiler, so no `protoc` binary is needed on the machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/ember.proto");
    let descriptors = protox::compile(["ember.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
