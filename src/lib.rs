//! scaletag: tag a SageMaker endpoint or inference component, get autoscaling.
//!
//! Data flows one way, and the file names say where (docs/architecture.md has the map):
//! `event` (what fired) → `resource` (what is scaled: the one model of every kind) → `tags`
//! (what its tags say) → `desire` (the desired scaling state, with `catalog`, `policy` and
//! `wake`) → `diff` (the writes that close the gap to what AWS holds) → `decision` (all of it
//! for one resource) → `outcome` (what is reported), `render` (how the command line shows it).
//! All of that is pure and builds without the AWS crates.
//!
//! The shell around it does the I/O: one module per service (`sagemaker`, `autoscaling`,
//! `cloudwatch`, `sqs`, `tagging`) around the clients of `aws`, `retry` (classified, deadline-bounded
//! retries), `reading` (the read stages) and `reconcile` (reads, decide, writes: the one path
//! every caller takes, for every kind), `sweep`, `lambda` (one invocation) and `cli`.
//!
//! Where the flow is not one-way, and why: `reconcile` asks the pure opt-in rule
//! (`decision::early`) between its first and second read stages, so that a resource that is
//! not opted in costs no AAS call; and a decision that depends on who registered a target
//! sends the shell back for that target's tags before deciding again.

// The handler's future nests every stage of a reconcile (and the sweep's); computing its
// layout goes deeper than rustc's default query depth on a fresh build.
#![recursion_limit = "256"]

#[cfg(feature = "aws")]
pub mod autoscaling;
#[cfg(feature = "aws")]
pub mod aws;
pub mod catalog;
pub mod cfn;
pub mod check;
#[cfg(feature = "aws")]
pub mod cli;
#[cfg(feature = "aws")]
pub mod cloudwatch;
pub mod config;
pub mod decision;
pub mod desire;
pub mod diff;
pub mod event;
pub mod findings_format;
#[cfg(feature = "aws")]
pub mod fleet;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod metrics;
pub mod outcome;
pub mod policy;
#[cfg(feature = "aws")]
pub mod reading;
#[cfg(feature = "aws")]
pub mod reconcile;
pub mod render;
pub mod resource;
#[cfg(feature = "aws")]
pub mod retry;
#[cfg(feature = "aws")]
pub mod sagemaker;
#[cfg(feature = "aws")]
pub mod sqs;
pub mod status;
#[cfg(feature = "aws")]
pub mod sweep;
#[cfg(feature = "aws")]
pub mod tagging;
pub mod tags;
pub mod wake;
