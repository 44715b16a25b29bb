//! One resource, end to end, whatever its kind: read the truth (`reading`), decide
//! (`decision::decide`, pure), write what differs. [`reconcile`] is the one path the Lambda,
//! the command line and the sweep share, for endpoints and inference components alike.
//!
//! The AWS critical path is at most four round trips for a first attach: the resource ∥ its
//! tags → what AAS holds for its units ∥ what its kind needs besides → per unit in parallel:
//! register → puts (→ the wake alarm). In steady state it is the two read stages only. A
//! decision that depends on who registered a target (deregistering it, or changing its
//! bounds) reads that target's tags first: one more stage, never in steady state.

use futures_util::future::{join, join_all, try_join, try_join_all};

use crate::autoscaling::TargetOwner;
use crate::aws::Aws;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::decision::{self, Changes, Decision, Early, Intent, Reading};
use crate::desire::{Rejection, Settings};
use crate::diff::{self, Current};
use crate::event::EventError;
use crate::fleet::Fleet;
use crate::outcome::{Adoption, Outcome, Skip};
use crate::reading;
use crate::reading::Found;
pub use crate::reading::Target;
use crate::resource::{
    ComponentFacts, EndpointFacts, Facts, ResourceKind, Scalable, Subject, VariantFacts,
    VariantKind,
};
use crate::retry::{AwsError, Deadline, Op};
use crate::status::{self, Spot};

/// Everything an invocation needs, built once per process.
pub struct App {
    pub aws: Aws,
    pub catalog: Catalog,
    pub settings: Settings,
    /// Whether the result is written back as the status tag.
    pub status_tag: bool,
    /// The SQS queue (URL) that brings back inference components still settling; without
    /// it, the sweep covers them.
    pub recheck_queue: Option<String>,
    /// Seconds until a re-check.
    pub recheck_delay: i32,
    /// Resources a sweep reconciles at once.
    pub sweep_concurrency: usize,
}

impl App {
    pub fn new(aws: Aws, config: Config) -> App {
        App {
            aws,
            catalog: config.catalog,
            settings: config.settings,
            status_tag: config.status_tag,
            recheck_queue: config.recheck_queue,
            recheck_delay: config.recheck_delay,
            sweep_concurrency: config.sweep_concurrency,
        }
    }
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
    #[error("{}", partial_message(.subject, *.total, *.done, .errors))]
    Partial {
        subject: Subject,
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
        .map(|e| format!("  - {}: {}", e.subject, e.reason.as_deref().unwrap_or("")))
        .collect();
    format!(
        "sweep of {} endpoints: {} failed (the others are done; Lambda retries the sweep):\n{}",
        report.endpoints,
        failed.len(),
        failed.join("\n")
    )
}

fn partial_message(subject: &Subject, total: usize, done: usize, errors: &[AwsError]) -> String {
    let failed = match errors.len() {
        1 => "1 variant".to_string(),
        n => format!("{n} variants"),
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
    pub fn failed_op(&self) -> Option<Op> {
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

/// What one reconcile decided, and its outcome: carried out, or in a dry run, what it would be.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    pub decision: Decision,
    pub outcome: Outcome,
}

/// Makes AAS (and CloudWatch) match what `intent` asks for one resource: reads, decides, and
/// unless `dry_run` writes. Safe to run any number of times. The Lambda, every CLI command
/// and the sweep go through here.
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

/// A resource a sweep found and decided on its bulk reads, reconciled again from fresh reads
/// before anything is written: its own tags (the Tagging API may lag behind them) ∥ what AAS
/// and CloudWatch hold for its units now; then decide, and write. A bulk read a moment old
/// never causes a write.
pub(crate) async fn reconcile_found(
    app: &App,
    found: &Found,
    fleet: Option<&Fleet>,
    dry_run: bool,
    dl: &Deadline,
) -> Attempt {
    let units = found.facts().units();
    let read = try_join(
        app.aws.list_tags(found.arn(), dl),
        reading::read_current(&app.aws, &units, dl),
    )
    .await;
    let (tags, current) = match read {
        Ok((Some(tags), current)) => (tags, current),
        Ok((None, _)) => {
            let gone = Outcome::gone(found.facts().subject());
            return attempt(app, Ok(Decision::Skip(gone)), None, dry_run, dl).await;
        }
        Err(e) => return attempt(app, Err(e.into()), None, dry_run, dl).await,
    };
    let spot = Spot::of(found.arn(), &tags, &app.settings.tag_prefix);
    let decided = decide_found(app, found, tags, Intent::FromTags, Some(current), fleet, dl).await;
    attempt(app, decided, Some(spot), dry_run, dl).await
}

/// Whether carrying out `decided` would write anything, the status tag at `spot` included.
pub(crate) fn would_write(
    app: &App,
    decided: &Result<Decision, Failure>,
    spot: &Spot,
    dry_run: bool,
) -> bool {
    match decided {
        Ok(Decision::Ready(changes)) if changes.actions().next().is_some() => true,
        // A read failed: decided afresh, so a failure status is written on fresh tags only.
        Err(failure) if !matches!(failure, Failure::Rejected(_)) => true,
        _ => app.status_tag && !dry_run && status_due(spot, decided.as_ref()).is_some(),
    }
}

/// The status tag a decision writes before anything is carried out, when it differs from the
/// one at `spot`: what the changes will make it, the rejection, the failed operation, or `not
/// managed` for a resource that no longer opts in.
fn status_due(spot: &Spot, decided: Result<&Decision, &Failure>) -> Option<String> {
    match decided {
        Ok(Decision::Ready(changes)) => spot.write(Some(status::of_changes(changes))),
        Ok(Decision::Skip(_)) => spot.write_unmanaged(),
        Err(Failure::Rejected(r)) => spot.write(Some(status::of_rejection(r))),
        Err(other) => spot.write(other.failed_op().map(|op| status::of_failure(op.name()))),
    }
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
    let spot = spot.filter(|_| app.status_tag && !dry_run);
    let decision = match decided {
        Ok(decision) => decision,
        Err(failure) => {
            if let Some(spot) = &spot {
                write_status(app, spot, status_due(spot, Err(&failure)), dl).await;
            }
            return Err(failure);
        }
    };
    let outcome = match &decision {
        // Read and not opted in (a skip before the tags are read leaves no spot).
        Decision::Skip(outcome) => {
            if let Some(s) = &spot
                && let Some(warning) = write_status(app, s, status_due(s, Ok(&decision)), dl).await
            {
                let mut outcome = outcome.clone();
                outcome.warnings.push(warning);
                return Ok(Reconciled { decision, outcome });
            }
            outcome.clone()
        }
        Decision::Ready(changes) if dry_run => changes.outcome(),
        Decision::Ready(changes) => {
            let hoped = spot.as_ref().and_then(|s| status_due(s, Ok(&decision)));
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
                        let value = written.write(Some(status::of_failure(op.name())));
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

/// Every read, then the decision; no write.
async fn prepare(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dl: &Deadline,
    spot: &mut Option<Spot>,
) -> Result<Decision, Failure> {
    let (found, tags) = match reading::read_resource(&app.aws, target, intent, dl).await? {
        Ok(found) => found,
        Err(skip) => return Ok(Decision::Skip(skip)),
    };
    if matches!(intent, Intent::FromTags) {
        *spot = Some(Spot::of(found.arn(), &tags, &app.settings.tag_prefix));
    }
    decide_found(app, &found, tags, intent, None, None, dl).await
}

/// Stages 2 and 3 for a resource found in stage 1, and the decision: `tags` decide, as
/// `intent` says. `current`: what AAS holds for its units, when already read.
pub(crate) async fn decide_found(
    app: &App,
    found: &Found,
    tags: Vec<(String, String)>,
    intent: Intent<'_>,
    current: Option<Current>,
    fleet: Option<&Fleet>,
    dl: &Deadline,
) -> Result<Decision, Failure> {
    let facts = found.facts();
    let wants_zero = match decision::early(&facts, &tags, intent, &app.catalog, &app.settings) {
        Early::NotOptedIn(skip) => return Ok(Decision::Skip(skip)),
        Early::Read { wants_zero } => wants_zero,
    };
    let mut reading =
        reading::read_scaling(&app.aws, found, tags, wants_zero, current, fleet, dl).await?;
    decide_knowing_owners(app, &mut reading, intent, dl).await
}

/// Decides; when the decision depends on who registered a target (deregistering it, or
/// changing its bounds), reads that (stage 3) and decides again.
async fn decide_knowing_owners(
    app: &App,
    reading: &mut Reading,
    intent: Intent<'_>,
    dl: &Deadline,
) -> Result<Decision, Failure> {
    let decide = |r: &Reading| decision::decide(r, intent, &app.catalog, &app.settings);
    let decided = decide(reading)?;
    let unknown = match &decided {
        Decision::Ready(changes) => changes.owner_unknown(),
        Decision::Skip(_) => Vec::new(),
    };
    if unknown.is_empty() {
        return Ok(decided);
    }
    reading::read_ownership(&app.aws, &mut reading.current, &unknown, dl).await?;
    Ok(decide(reading)?)
}

/// Removes what scaletag made for a unit whose resource no longer exists: its wake alarm,
/// and its target (with the target's policies) when scaletag registered it. The sweep's
/// clean-up, and a deletion's when it is reported.
pub async fn clean_up(
    app: &App,
    unit: &Scalable,
    dry_run: bool,
    dl: &Deadline,
) -> Result<Reconciled, Failure> {
    // The listings that found it gone were read a moment ago: a resource created again under
    // the same name since then (or a listing behind the others) must keep its scaling. Only
    // one that is not there, or is being deleted, is cleaned up after.
    if let Some(skip) = still_there(app, unit, dl).await? {
        return Ok(Reconciled {
            decision: Decision::Skip(skip.clone()),
            outcome: skip,
        });
    }
    let facts = match unit {
        Scalable::Component { name } => Facts::Component(ComponentFacts {
            name: name.clone(),
            endpoint: String::new(),
            variant: String::new(),
            status: "Deleted".into(),
            min_instances: None,
        }),
        Scalable::Variant { endpoint, variant } | Scalable::AsyncVariant { endpoint, variant } => {
            let kind = match unit {
                Scalable::AsyncVariant { .. } => VariantKind::Asynchronous {
                    instance_type: None,
                },
                _ => VariantKind::Instances {
                    instance_type: None,
                },
            };
            Facts::Endpoint(EndpointFacts {
                name: endpoint.clone(),
                variants: vec![VariantFacts {
                    name: variant.clone(),
                    kind,
                }],
            })
        }
    };
    let decided = async {
        let current = reading::read_current(&app.aws, &facts.units(), dl).await?;
        let mut reading = Reading {
            facts,
            tags: Vec::new(),
            current,
        };
        decide_knowing_owners(app, &mut reading, Intent::Detach, dl).await
    }
    .await;
    // Gone: nowhere to write a status.
    finish(app, decided, None, dry_run, dl).await
}

/// A skip when the unit's resource is there after all (and not being deleted).
async fn still_there(
    app: &App,
    unit: &Scalable,
    dl: &Deadline,
) -> Result<Option<Outcome>, Failure> {
    let (kind, name) = match unit {
        Scalable::Component { name } => (ResourceKind::Component, name.as_str()),
        Scalable::Variant { endpoint, .. } | Scalable::AsyncVariant { endpoint, .. } => {
            (ResourceKind::Endpoint, endpoint.as_str())
        }
    };
    let target = Target {
        kind,
        name,
        arn_hint: None,
    };
    let found = reading::describe(&app.aws, target, dl).await?;
    Ok(found.filter(|f| f.status() != "Deleting").map(|f| {
        Outcome::skipped(
            f.facts().subject(),
            Skip::NotGone,
            format!(
                "{} is {}: not gone after all, nothing cleaned up",
                kind.noun(),
                f.status()
            ),
        )
    }))
}

/// The writes: each variant's in order, variants in parallel. A variant stops at its first
/// failed write; a policy it deleted only to make room for the failed one is put back, so a
/// switch that cannot complete leaves the old policy scaling.
pub async fn execute(app: &App, changes: &Changes, dl: &Deadline) -> Result<Outcome, Failure> {
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
        subject: changes.subject.clone(),
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
    let aws: &Aws = aws;
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
