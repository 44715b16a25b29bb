//! scaletag: tag a SageMaker endpoint, get autoscaling.
//!
//! Data flows one way: event → endpoint facts → desired scaling state → diff against what
//! Application Auto Scaling holds → actions → outcome. Deciding (`event`, `tags`, `catalog`,
//! `policy`, `plan`, `diff`) is pure; doing (`aws`, `retry`, `reconcile`) is a thin shell.

pub mod aws;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod diff;
pub mod event;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod render;
pub mod retry;
pub mod sweep;
pub mod tags;
