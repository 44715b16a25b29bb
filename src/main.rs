//! The `scaletag` command line. Everything it does is in `scaletag::cli`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    scaletag::cli::run(scaletag::cli::Cli::parse()).await
}
