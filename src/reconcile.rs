//! One endpoint, end to end: read the truth, decide (`decision::decide`, pure), write what
//! differs. [`reconcile`] is the one path the Lambda, the command line and the sweep share.
//!
//! The AWS critical path is at most four round trips for a first attach: DescribeEndpoint ∥
//! ListTags → DescribeEndpointConfig ∥ DescribeScalableTargets ∥ DescribeScalingPolicies ∥
//! DescribeScheduledActions (per variant) → per variant in parallel: register → puts. In steady
//! state it is the two read stages only. A decision that depends on who registered a target
//! (deregistering it, or changing its bounds) reads that target's tags first: one more stage,
//! never in steady state.

use std::pin::pin;

use futures_util::future::{Either, join, join_all, select, try_join_all, try_join4};

use crate::aws::{Aws, Described, TargetOwner};
use crate::catalog::Catalog;
use crate::decision::{self, Decision, EndpointChanges, Intent, Reading};
use crate::desire::{EndpointFacts, Rejection, Settings};
use crate::diff::{self, Current};
use crate::event::EventError;
use crate::outcome::{Adoption, Outcome};
use crate::retry::{AwsError, Deadline};
use crate::status::{self, Spot};

/// Everything an invocation needs, built once per process.
pub struct App {
    pub aws: Aws,
    pub catalog: Catalog,
    pub settings: Settings,
    /// The SQS queue (URL) that brings back inference components still settling
    /// (`RECHECK_QUEUE_URL`); without it, the sweep covers them.
    pub recheck_queue: Option<String>,
    /// Seconds until a re-check (`RECHECK_DELAY_SECONDS`).
    pub recheck_delay: i32,
}

/// Why an invocation failed. Each message is meant for the person who reads the Lambda error.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Some writes failed after others were done; a later delivery completes the rest.
    #[error("{}", partial_message(.endpoint, .component.as_deref(), *.total, *.done, .errors))]
    Partial {
        endpoint: String,
        /// The inference component (on `endpoint`) whose writes these were, if one.
        component: Option<String>,
        total: usize,
        done: usize,
        errors: Vec<AwsError>,
    },
    /// A command named an endpoint that does not exist (the Lambda skips those instead).
    #[error("endpoint `{0}` does not exist in this account and region")]
    NoEndpoint(String),
    /// A sweep reconciled every endpoint it could, and AWS failed on some (see `lambda`).
    #[error("{}", sweep_message(.0))]
    SweepIncomplete(Box<crate::outcome::Report>),
}

fn sweep_message(report: &crate::outcome::Report) -> String {
    use crate::outcome::Verdict;
    let failed: Vec<String> = report
        .results
        .iter()
        .filter(|e| e.result == Verdict::Failed)
        .map(|e| format!("  - {}: {}", e.endpoint, e.reason.as_deref().unwrap_or("")))
        .collect();
    format!(
        "sweep of {} endpoints: {} failed (the others are done; Lambda retries the sweep):\n{}",
        report.endpoints,
        failed.len(),
        failed.join("\n")
    )
}

fn partial_message(
    endpoint: &str,
    component: Option<&str>,
    total: usize,
    done: usize,
    errors: &[AwsError],
) -> String {
    let failed = match errors.len() {
        1 => "1 variant".to_string(),
        n => format!("{n} variants"),
    };
    let subject = match component {
        Some(c) => format!("inference component `{c}` (endpoint `{endpoint}`)"),
        None => format!("endpoint `{endpoint}`"),
    };
    let mut message = format!(
        "{subject}: {done} of {total} writes done, then {failed} failed (a later delivery completes the rest):"
    );
    for e in errors {
        message.push_str(&format!("\n  - {e}"));
    }
    message
}

impl Failure {
    /// The AWS operation that failed, for the status tag; `None` when AWS did not fail.
    pub fn failed_op(&self) -> Option<&'static str> {
        match self {
            Failure::Aws(e) => Some(e.op),
            Failure::Partial { errors, .. } => errors.first().map(|e| e.op),
            _ => None,
        }
    }

    /// The `errorType` Lambda reports, so alarms and the OnFailure destination can tell
    /// bad input from AWS trouble.
    pub fn error_type(&self) -> &'static str {
        match self {
            Failure::Event(_) => "scaletag.InvalidEvent",
            Failure::Rejected(_) => "scaletag.InvalidTags",
            Failure::Aws(_) | Failure::Partial { .. } | Failure::NoEndpoint(_) => {
                "scaletag.AwsError"
            }
            Failure::SweepIncomplete(_) => "scaletag.SweepIncomplete",
        }
    }
}

/// The reason of an endpoint that is not there.
pub const GONE: &str = "endpoint no longer exists";

/// Which endpoint, and the ARN an event named for it (so its tags can be read at once).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub name: &'a str,
    pub arn_hint: Option<&'a str>,
}

/// What one reconcile decided, and its outcome: carried out, or in a dry run, what it would be.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    pub decision: Decision,
    pub outcome: Outcome,
}

/// Makes AAS match what `intent` asks for one endpoint: reads, decides, and unless `dry_run`
/// writes. Safe to run any number of times. The Lambda, every CLI command and the sweep go
/// through here.
pub async fn reconcile(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dry_run: bool,
    dl: &Deadline,
) -> Result<Reconciled, Failure> {
    reconcile_reporting(app, target, intent, dry_run, dl)
        .await
        .result
}

/// A reconcile's result, and the status tag the resource carried before it (what scaletag
/// last did), for `scaletag status` and the sweep's report.
pub struct Attempt {
    pub result: Result<Reconciled, Failure>,
    pub last_status: Option<String>,
}

/// [`reconcile`], reporting the status tag the resource carried too.
pub async fn reconcile_reporting(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dry_run: bool,
    dl: &Deadline,
) -> Attempt {
    let mut spot = None;
    let decided = prepare(app, target, intent, dl, &mut spot).await;
    attempt(app, decided, spot, dry_run, dl).await
}

/// [`finish`], with the status the resource carried before.
pub(crate) async fn attempt(
    app: &App,
    decided: Result<Decision, Failure>,
    spot: Option<Spot>,
    dry_run: bool,
    dl: &Deadline,
) -> Attempt {
    let last_status = spot.as_ref().and_then(|s| s.current.clone());
    Attempt {
        result: finish(app, decided, spot, dry_run, dl).await,
        last_status,
    }
}

/// Carries out a decision (unless `dry_run`) and writes the status tag where one is due: in
/// parallel with the writes, so a first attach takes no extra round trip, and corrected only
/// when a write fails. `spot` is where the status goes, known once the resource's own tags were
/// read; a status write that fails is a warning, never the invocation's failure.
pub(crate) async fn finish(
    app: &App,
    decided: Result<Decision, Failure>,
    spot: Option<Spot>,
    dry_run: bool,
    dl: &Deadline,
) -> Result<Reconciled, Failure> {
    let spot = spot.filter(|_| app.settings.status_tag && !dry_run);
    let decision = match decided {
        Ok(decision) => decision,
        Err(failure) => {
            if let Some(spot) = &spot {
                let value = match &failure {
                    Failure::Rejected(r) => Some(status::of_rejection(r)),
                    other => other.failed_op().map(status::of_failure),
                };
                write_status(app, spot, spot.write(value), dl).await;
            }
            return Err(failure);
        }
    };
    let outcome = match &decision {
        // Read and not opted in (a skip before the tags are read leaves no spot).
        Decision::Skip(outcome) => {
            if let Some(s) = &spot
                && let Some(warning) = write_status(app, s, s.write_unmanaged(), dl).await
            {
                let mut outcome = outcome.clone();
                outcome.warnings.push(warning);
                return Ok(Reconciled { decision, outcome });
            }
            outcome.clone()
        }
        Decision::Ready(changes) if dry_run => changes.outcome(),
        Decision::Ready(changes) => {
            let hoped = spot
                .as_ref()
                .and_then(|s| s.write(Some(status::of_changes(changes))));
            let status_write = async {
                match &spot {
                    Some(s) => write_status(app, s, hoped.clone(), dl).await,
                    None => None,
                }
            };
            let (done, warning) = join(execute(app, changes, dl), status_write).await;
            match done {
                Ok(mut outcome) => {
                    outcome.warnings.extend(warning);
                    outcome
                }
                Err(failure) => {
                    if let (Some(s), Some(op)) = (&spot, failure.failed_op()) {
                        let written = Spot {
                            current: hoped.or(s.current.clone()),
                            ..s.clone()
                        };
                        let value = written.write(Some(status::of_failure(op)));
                        write_status(app, &written, value, dl).await;
                    }
                    return Err(failure);
                }
            }
        }
    };
    Ok(Reconciled { decision, outcome })
}

/// Writes `value` as the status tag, when there is one to write; a warning when AWS refuses.
async fn write_status(
    app: &App,
    spot: &Spot,
    value: Option<String>,
    dl: &Deadline,
) -> Option<String> {
    let value = value?;
    let key = status::key(&app.settings.tag_prefix);
    match app.aws.add_tag(&spot.arn, &key, &value, dl).await {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(resource_arn = spot.arn.as_str(), error = %e, "status tag not written");
            Some(format!(
                "the status tag `{key}` = `{value}` was not written: {e}"
            ))
        }
    }
}

/// A future raced against another: still running, or already finished.
pub(crate) enum Pending<F: std::future::Future> {
    Running(F),
    Done(F::Output),
}

/// Every read, then the decision; no write.
async fn prepare(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dl: &Deadline,
    spot: &mut Option<Spot>,
) -> Result<Decision, Failure> {
    let (described, tags) = match read_endpoint(app, target, intent, dl).await? {
        Ok(found) => found,
        Err(skip) => return Ok(Decision::Skip(skip)),
    };
    if matches!(intent, Intent::FromTags) {
        *spot = Some(Spot::of(&described.arn, &tags, &app.settings.tag_prefix));
    }
    // The variants, before their instance types are read.
    let early = described.endpoint_facts(&Default::default());
    if let Some(skip) = decision::not_opted_in(&early, &tags, intent, &app.catalog, &app.settings) {
        return Ok(Decision::Skip(skip));
    }
    let mut reading = read_scaling(&app.aws, &described, &early, tags, dl).await?;
    let decide = |r: &Reading| decision::decide(r, intent, &app.catalog, &app.settings);
    decide_knowing_owners(&app.aws, &mut reading, |r| &mut r.current, decide, dl).await
}

/// Decides; when the decision depends on who registered a target (deregistering it, or
/// changing its bounds), reads that (stage 3) and decides again.
pub(crate) async fn decide_knowing_owners<R>(
    aws: &Aws,
    reading: &mut R,
    current: impl Fn(&mut R) -> &mut Current,
    decide: impl Fn(&R) -> Result<Decision, Rejection>,
    dl: &Deadline,
) -> Result<Decision, Failure> {
    let decided = decide(reading)?;
    let unknown = match &decided {
        Decision::Ready(changes) => changes.owner_unknown(),
        Decision::Skip(_) => Vec::new(),
    };
    if unknown.is_empty() {
        return Ok(decided);
    }
    read_ownership(aws, current(reading), &unknown, dl).await?;
    Ok(decide(reading)?)
}

/// Stage 1: DescribeEndpoint ∥ ListTags (when the event gave the ARN). The endpoint's
/// description decides whether the tags matter at all: when it is gone or not InService, the
/// tag read is dropped, whatever became of it. `Err` is the outcome of an endpoint to skip.
async fn read_endpoint(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dl: &Deadline,
) -> Result<Result<(Described, Vec<(String, String)>), Outcome>, Failure> {
    let aws = &app.aws;
    let name = target.name;
    let arn_hint = target
        .arn_hint
        .filter(|_| matches!(intent, Intent::FromTags));
    let tags_early = async {
        match arn_hint {
            Some(arn) => aws.list_tags(arn, dl).await,
            None => Ok(None), // unused: without a hint the tags are read below
        }
    };
    let describe = pin!(aws.describe_endpoint(name, dl));
    let tags_early = pin!(tags_early);
    let (described, tags_early) = match select(describe, tags_early).await {
        Either::Left((described, tags)) => (described?, Pending::Running(tags)),
        Either::Right((tags, describe)) => (describe.await?, Pending::Done(tags)),
    };
    let gone = || Ok(Err(Outcome::skipped(name, GONE)));
    let Some(described) = described else {
        return gone();
    };
    if described.status != "InService" && !matches!(intent, Intent::Detach) {
        return Ok(Err(Outcome::skipped(
            name,
            format!(
                "endpoint is {}, not InService; a later event will come",
                described.status
            ),
        )));
    }
    let tags = match intent {
        Intent::FromTags => read_tags(aws, &described.arn, arn_hint, tags_early, dl).await?,
        Intent::Tags(tags) => Some(tags.to_vec()),
        Intent::Detach => Some(Vec::new()),
    };
    match tags {
        Some(tags) => Ok(Ok((described, tags))),
        None => gone(),
    }
}

/// Stage 2: the endpoint config (instance types) ∥ what AAS holds for every variant:
/// targets, policies, and the scheduled actions that may own the targets' bounds.
async fn read_scaling(
    aws: &Aws,
    described: &Described,
    early: &EndpointFacts,
    tags: Vec<(String, String)>,
    dl: &Deadline,
) -> Result<Reading, AwsError> {
    let resource_ids = early.resource_ids();
    let (instance_types, targets, policies, scheduled) = try_join4(
        aws.instance_types(&described.config_name, dl),
        aws.describe_targets(&resource_ids, dl),
        try_join_all(resource_ids.iter().map(|id| aws.describe_policies(id, dl))),
        try_join_all(
            resource_ids
                .iter()
                .map(|id| aws.describe_scheduled_actions(id, dl)),
        ),
    )
    .await?;
    Ok(Reading {
        facts: described.endpoint_facts(&instance_types),
        tags,
        current: Current {
            targets,
            policies: policies.into_iter().flatten().collect(),
            scheduled_actions: scheduled.into_iter().flatten().collect(),
            alarms: Vec::new(),
        },
    })
}

/// Stage 3, only when a decision depends on who registered a target (deregistering it, or
/// changing its bounds): whether those targets carry scaletag's owner tag.
async fn read_ownership(
    aws: &Aws,
    current: &mut Current,
    unknown: &[diff::TargetKey],
    dl: &Deadline,
) -> Result<(), AwsError> {
    let targets: Vec<&mut diff::CurrentTarget> = current
        .targets
        .iter_mut()
        .filter(|t| unknown.contains(&t.key))
        .collect();
    let owners = try_join_all(
        targets
            .iter()
            .map(|t| aws.target_owner(t.arn.as_deref(), dl)),
    )
    .await?;
    let mut gone = Vec::new();
    for (t, owner) in targets.into_iter().zip(owners) {
        match owner {
            TargetOwner::Scaletag => t.owned = Some(true),
            TargetOwner::Other => t.owned = Some(false),
            TargetOwner::Gone => gone.push(t.key.clone()),
        }
    }
    // A target deregistered since it was listed is not there, nor are its policies and
    // scheduled actions (deregistering deletes them): decide without them.
    current.targets.retain(|t| !gone.contains(&t.key));
    current.policies.retain(|p| !gone.contains(&p.key));
    current.scheduled_actions.retain(|a| !gone.contains(&a.0));
    Ok(())
}

/// The writes: each variant's in order, variants in parallel. A variant stops at its first
/// failed write; a policy it deleted only to make room for the failed one is put back, so a
/// switch that cannot complete leaves the old policy scaling.
pub async fn execute(
    app: &App,
    changes: &EndpointChanges,
    dl: &Deadline,
) -> Result<Outcome, Failure> {
    let aws = &app.aws;
    let results = join_all(changes.variants.iter().map(|p| async move {
        let mut step_arn = None;
        for (done, action) in p.actions.iter().enumerate() {
            match aws.apply(action, step_arn.as_deref(), dl).await {
                Ok(arn) => step_arn = arn.or(step_arn),
                Err(e) => {
                    restore(aws, &p.actions[..done], dl).await;
                    return (done, Some(e));
                }
            }
        }
        (p.actions.len(), None)
    }))
    .await;
    let outcome = changes.outcome();
    let done = results.iter().map(|r| r.0).sum();
    let errors: Vec<AwsError> = results.into_iter().filter_map(|r| r.1).collect();
    if errors.is_empty() {
        return Ok(outcome);
    }
    Err(Failure::Partial {
        endpoint: changes.endpoint.clone(),
        component: changes.component.clone(),
        total: outcome.write_count(),
        done,
        errors,
    })
}

/// Puts back the policies `done` deleted to make room for a write that then failed.
async fn restore(aws: &Aws, done: &[diff::Action], dl: &Deadline) {
    for action in done {
        if let diff::Action::DeleteScalingPolicy {
            key,
            policy_name,
            restore: Some(config),
        } = action
        {
            match aws.put_policy(key, policy_name, config, dl).await {
                Ok(()) => tracing::warn!(
                    resource_id = key.resource_id.as_str(),
                    policy = policy_name.as_str(),
                    "the new policy was refused; the old one is back in place"
                ),
                Err(e) => tracing::error!(
                    resource_id = key.resource_id.as_str(),
                    policy = policy_name.as_str(),
                    error = %e,
                    "the new policy was refused and the old one could not be put back"
                ),
            }
        }
    }
}

/// Hands the endpoint's existing scalable targets over to scaletag: tags each one it does not
/// own yet with the owner tag, so that `off` and `detach` may deregister it. Explicit only:
/// scaletag never adopts a target by itself.
pub async fn adopt(app: &App, name: &str, dl: &Deadline) -> Result<Adoption, Failure> {
    let aws = &app.aws;
    let Some(described) = aws.describe_endpoint(name, dl).await? else {
        return Err(Failure::NoEndpoint(name.to_string()));
    };
    let ids = described.endpoint_facts(&Default::default()).resource_ids();
    let targets = aws.describe_targets(&ids, dl).await?;
    let owners = try_join_all(
        targets
            .iter()
            .map(|t| aws.target_owner(t.arn.as_deref(), dl)),
    )
    .await?;
    let mut adoption = Adoption {
        endpoint: name.to_string(),
        adopted: Vec::new(),
        already_owned: Vec::new(),
        untaggable: Vec::new(),
        gone: Vec::new(),
    };
    for (t, owner) in targets.iter().zip(owners) {
        let id = t.key.resource_id.clone();
        match (&t.arn, owner) {
            (_, TargetOwner::Scaletag) => adoption.already_owned.push(id),
            (_, TargetOwner::Gone) => adoption.gone.push(id),
            (None, TargetOwner::Other) => adoption.untaggable.push(id),
            (Some(arn), TargetOwner::Other) => {
                if aws.tag_owned(arn, dl).await? {
                    adoption.adopted.push(id);
                } else {
                    adoption.gone.push(id);
                }
            }
        }
    }
    Ok(adoption)
}

/// The endpoint's tags: from the read started in parallel when the event's ARN is the
/// endpoint's, else read now on the true ARN. `None` when the endpoint is gone.
async fn read_tags<F>(
    aws: &Aws,
    arn: &str,
    arn_hint: Option<&str>,
    early: Pending<F>,
    dl: &Deadline,
) -> Result<Option<Vec<(String, String)>>, AwsError>
where
    F: std::future::Future<Output = Result<Option<Vec<(String, String)>>, AwsError>>,
{
    if arn_hint == Some(arn) {
        match early {
            Pending::Running(f) => f.await,
            Pending::Done(t) => t,
        }
    } else {
        // No ARN in the event, or one that is not this endpoint's.
        drop(early);
        aws.list_tags(arn, dl).await
    }
}
