//! The `scaletag` command line. Everything it does is in `scaletag::cli`.

// The handler's future nests every stage of a reconcile (and the sweep's); computing its
// layout goes deeper than rustc's default query depth on a fresh build.
#![recursion_limit = "256"]

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    scaletag::cli::run(scaletag::cli::Cli::parse()).await
}
