//! scaletag: tag a SageMaker endpoint, get autoscaling.
//!
//! Data flows one way: event → endpoint facts → desired scaling state → diff against what
//! Application Auto Scaling holds → actions → outcome. Deciding (`event`, `tags`, `catalog`,
//! `policy`, `plan`, `diff`) is pure; doing (`aws`, `retry`, `reconcile`) is a thin shell.

#[cfg(feature = "aws")]
pub mod aws;
pub mod catalog;
pub mod check;
#[cfg(feature = "aws")]
pub mod cli;
pub mod config;
pub mod diff;
pub mod event;
pub mod outcome;
pub mod plan;
pub mod policy;
#[cfg(feature = "aws")]
pub mod reconcile;
#[cfg(feature = "aws")]
pub mod render;
#[cfg(feature = "aws")]
pub mod retry;
#[cfg(feature = "aws")]
pub mod sweep;
pub mod tags;
