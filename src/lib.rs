//! scaletag: tag a SageMaker endpoint, get autoscaling.
//!
//! Data flows one way, and the file names say where:
//! `event` (what fired) → `tags` (what the endpoint's tags say) → `desire` (the desired scaling
//! state, with `catalog` and `policy`) → `diff` (the writes that close the gap to what AAS holds)
//! → `decision` (all of it for one endpoint) → `outcome` (what is reported), `render` (how the
//! command line shows it). All of that is pure and builds without the AWS crates.
//!
//! The shell around it does the I/O: `aws` (SageMaker and AAS calls), `retry` (classified,
//! deadline-bounded retries), `reconcile` (reads, decide, writes: the one path every caller
//! takes), `sweep`, `lambda` (one invocation) and `cli`.
//!
//! Where the flow is not one-way, and why: `reconcile` asks the pure opt-in rule
//! (`decision::not_opted_in`) between its first and second read stages, so that an endpoint
//! that is not opted in costs no AAS call; and a decision that depends on who registered a
//! target sends the shell back for that target's tags before deciding again.

// The handler's future nests every stage of a reconcile (and the sweep's); computing its
// layout goes deeper than rustc's default query depth on a fresh build.
#![recursion_limit = "256"]

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod aws_components;
pub mod catalog;
pub mod check;
#[cfg(feature = "aws")]
pub mod cli;
pub mod component;
pub mod config;
pub mod decision;
pub mod desire;
pub mod diff;
pub mod event;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod metrics;
pub mod outcome;
pub mod policy;
#[cfg(feature = "aws")]
pub mod reconcile;
#[cfg(feature = "aws")]
pub mod reconcile_component;
pub mod render;
#[cfg(feature = "aws")]
pub mod retry;
pub mod status;
#[cfg(feature = "aws")]
pub mod sweep;
pub mod tags;
pub mod wake;
