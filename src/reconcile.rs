//! One endpoint, end to end: read the truth, decide, diff, write what differs.
//!
//! The AWS critical path is at most four round trips for a first attach: DescribeEndpoint ∥
//! ListTags → DescribeEndpointConfig ∥ DescribeScalableTargets ∥ DescribeScalingPolicies ∥
//! DescribeScheduledActions (per variant) → per variant in parallel: register → puts. In steady
//! state it is the two read stages only. A decision that depends on who registered a target
//! (deregistering it, or changing its bounds) reads that target's tags first: one more stage,
//! never in steady state.

use std::pin::pin;

use futures_util::future::{Either, join_all, select, try_join_all, try_join4};
use serde::Serialize;
use serde_json::Value;

use crate::aws::Aws;
use crate::catalog::Catalog;
use crate::diff::{self, Current, VariantPlan};
use crate::event::{self, EventError, Trigger};
use crate::outcome::Outcome;
use crate::plan::{self, Desired, EndpointFacts, Rejection, Settings};
use crate::retry::{AwsError, Deadline};
use crate::sweep;

/// Everything an invocation needs, built once per process.
pub struct App {
    pub aws: Aws,
    pub catalog: Catalog,
    pub settings: Settings,
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
    #[error("endpoint `{endpoint}`: {done} of {total} writes done, then {} failed (a later delivery completes the rest):\n{}",
        if errors.len() == 1 { "1 variant".to_string() } else { format!("{} variants", errors.len()) }, errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Partial {
        endpoint: String,
        total: usize,
        done: usize,
        errors: Vec<AwsError>,
    },
    /// A command named an endpoint that does not exist (the Lambda skips those instead).
    #[error("endpoint `{0}` does not exist in this account and region")]
    NoEndpoint(String),
}

/// A future raced against another: still running, or already finished.
enum Pending<F: std::future::Future> {
    Running(F),
    Done(F::Output),
}

impl Failure {
    /// The `errorType` Lambda reports, so alarms and the OnFailure destination can tell
    /// bad input from AWS trouble.
    pub fn error_type(&self) -> &'static str {
        match self {
            Failure::Event(_) => "scaletag.InvalidEvent",
            Failure::Rejected(_) => "scaletag.InvalidTags",
            Failure::Aws(_) | Failure::Partial { .. } | Failure::NoEndpoint(_) => {
                "scaletag.AwsError"
            }
        }
    }
}

/// The most one endpoint event spends, retries included, however long the function may run
/// (its timeout is sized for the sweep).
pub const EVENT_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// What an invocation returns: one endpoint's outcome, or a sweep's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    Endpoint(Outcome),
    Sweep(sweep::Report),
}

/// Handles one invocation payload.
pub async fn handle(app: &App, payload: &Value, dl: &Deadline) -> Result<Response, Failure> {
    match event::decode(payload)? {
        Trigger::Sweep => {
            let report = sweep::sweep(app, &sweep::Options::default(), dl, &|_, _| ()).await?;
            Ok(Response::Sweep(report))
        }
        Trigger::EndpointStateChange(change) => {
            handle_change(app, &change, &dl.within(EVENT_BUDGET))
                .await
                .map(Response::Endpoint)
        }
    }
}

async fn handle_change(
    app: &App,
    change: &event::EndpointChange,
    dl: &Deadline,
) -> Result<Outcome, Failure> {
    if change.status != event::IN_SERVICE {
        return Ok(Outcome::skipped(
            &change.endpoint_name,
            format!(
                "event status is {}; scaletag acts on {}",
                change.status,
                event::IN_SERVICE
            ),
        ));
    }
    reconcile(
        app,
        &change.endpoint_name,
        change.endpoint_arn.as_deref(),
        dl,
    )
    .await
}

/// What decides an endpoint's desired state.
#[derive(Debug, Clone, Copy)]
pub enum Intent<'a> {
    /// The endpoint's own tags (the Lambda, `apply`, `sweep`).
    FromTags,
    /// These tags instead of the endpoint's (`plan --tags`): a preview before tagging.
    Tags(&'a [(String, String)]),
    /// Remove what scaletag manages, whatever the tags say (`detach`).
    Detach,
}

/// Everything decided for one endpoint; [`execute`] carries it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub endpoint: String,
    pub detaching: bool,
    pub variants: Vec<VariantPlan>,
}

impl Plan {
    pub fn actions(&self) -> impl Iterator<Item = &diff::Action> {
        self.variants.iter().flat_map(|v| &v.actions)
    }

    /// The outcome this plan has once carried out (or would have, in a dry run).
    pub fn outcome(&self) -> Outcome {
        Outcome::from_plans(&self.endpoint, self.detaching, &self.variants)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// Nothing to decide: not opted in, not InService, gone.
    Skipped(Outcome),
    Ready(Plan),
}

/// Makes AAS match the endpoint's tags. Safe to run any number of times.
pub async fn reconcile(
    app: &App,
    name: &str,
    arn_hint: Option<&str>,
    dl: &Deadline,
) -> Result<Outcome, Failure> {
    match prepare(app, name, arn_hint, Intent::FromTags, dl).await? {
        Prepared::Skipped(outcome) => Ok(outcome),
        Prepared::Ready(plan) => execute(app, &plan, dl).await,
    }
}

/// Reads the endpoint and what AAS holds, and decides: every read, no write. A dry run is
/// this and nothing more.
pub async fn prepare(
    app: &App,
    name: &str,
    arn_hint: Option<&str>,
    intent: Intent<'_>,
    dl: &Deadline,
) -> Result<Prepared, Failure> {
    let aws = &app.aws;
    let arn_hint = arn_hint.filter(|_| matches!(intent, Intent::FromTags));
    // Stage 1: DescribeEndpoint ∥ ListTags (when the event gave the ARN). The endpoint's
    // description decides whether the tags matter at all: when it is gone or not InService,
    // the tag read is dropped, whatever became of it.
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
    let skipped = |reason: String| Ok(Prepared::Skipped(Outcome::skipped(name, reason)));
    let Some(described) = described else {
        return skipped("endpoint no longer exists".into());
    };
    if described.status != "InService" && !matches!(intent, Intent::Detach) {
        return skipped(format!(
            "endpoint is {}, not InService; a later event will come",
            described.status
        ));
    }
    let tags = match intent {
        Intent::FromTags => read_tags(aws, &described.arn, arn_hint, tags_early, dl).await?,
        Intent::Tags(tags) => Some(tags.to_vec()),
        Intent::Detach => Some(Vec::new()),
    };
    let Some(tags) = tags else {
        return skipped("endpoint no longer exists".into());
    };
    let lead = format!("{}:", app.settings.tag_prefix);
    if !matches!(intent, Intent::Detach) && !tags.iter().any(|(k, _)| k.starts_with(&lead)) {
        return skipped(format!("no `{lead}template` tag: not opted in"));
    }
    // Stage 2: the endpoint config (instance types) ∥ what AAS holds for every variant:
    // targets, policies, and the scheduled actions that may own the targets' bounds.
    let resource_ids: Vec<String> = described
        .variants
        .iter()
        .map(|(v, _)| plan::resource_id(name, v))
        .collect();
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
    let facts = EndpointFacts {
        name: described.name.clone(),
        arn: described.arn.clone(),
        variants: described.facts(&instance_types),
    };
    let mut current = Current {
        targets,
        policies: policies.into_iter().flatten().collect(),
        scheduled_actions: scheduled.into_iter().flatten().collect(),
    };

    let desired = match intent {
        Intent::Detach => Desired::Detach,
        _ => plan::desire(&facts, &tags, &app.catalog, &app.settings)?,
    };
    if let Desired::NotOptedIn { reason } = &desired {
        return skipped(reason.clone());
    }
    let mut variants = diff::diff(&facts, &desired, &current);
    // Stage 3, only when a decision depends on who registered a target (deregistering it, or
    // changing its bounds): read those targets' tags and decide again.
    let unknown: Vec<diff::TargetKey> = variants
        .iter()
        .filter_map(|v| v.owner_unknown.clone())
        .collect();
    if !unknown.is_empty() {
        let targets: Vec<&mut diff::CurrentTarget> = current
            .targets
            .iter_mut()
            .filter(|t| unknown.contains(&t.key))
            .collect();
        let owned = try_join_all(
            targets
                .iter()
                .map(|t| aws.owns_target(t.arn.as_deref(), dl)),
        )
        .await?;
        for (t, owned) in targets.into_iter().zip(owned) {
            t.owned = Some(owned);
        }
        variants = diff::diff(&facts, &desired, &current);
    }
    Ok(Prepared::Ready(Plan {
        endpoint: name.to_string(),
        detaching: desired == Desired::Detach,
        variants,
    }))
}

/// The writes: each variant's in order, variants in parallel. A variant stops at its first
/// failed write; a policy it deleted only to make room for the failed one is put back, so a
/// switch that cannot complete leaves the old policy scaling.
pub async fn execute(app: &App, plan: &Plan, dl: &Deadline) -> Result<Outcome, Failure> {
    let aws = &app.aws;
    let results = join_all(plan.variants.iter().map(|p| async move {
        for (done, action) in p.actions.iter().enumerate() {
            if let Err(e) = aws.apply(action, dl).await {
                restore(aws, &p.actions[..done], dl).await;
                return (done, Some(e));
            }
        }
        (p.actions.len(), None)
    }))
    .await;
    let outcome = plan.outcome();
    let done = results.iter().map(|r| r.0).sum();
    let errors: Vec<AwsError> = results.into_iter().filter_map(|r| r.1).collect();
    if errors.is_empty() {
        return Ok(outcome);
    }
    Err(Failure::Partial {
        endpoint: plan.endpoint.clone(),
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

/// What `scaletag adopt` found and did, per scalable target of the endpoint's variants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adoption {
    pub endpoint: String,
    /// Targets that now carry scaletag's owner tag.
    pub adopted: Vec<String>,
    /// Targets that already carried it.
    pub already_owned: Vec<String>,
    /// Targets AAS gives no ARN (registered before AAS had tags): they cannot carry a tag.
    pub untaggable: Vec<String>,
}

/// Hands the endpoint's existing scalable targets over to scaletag: tags each one it does not
/// own yet with the owner tag, so that `off` and `detach` may deregister it. Explicit only:
/// scaletag never adopts a target by itself.
pub async fn adopt(app: &App, name: &str, dl: &Deadline) -> Result<Adoption, Failure> {
    let aws = &app.aws;
    let Some(described) = aws.describe_endpoint(name, dl).await? else {
        return Err(Failure::NoEndpoint(name.to_string()));
    };
    let ids: Vec<String> = described
        .variants
        .iter()
        .map(|(v, _)| plan::resource_id(name, v))
        .collect();
    let targets = aws.describe_targets(&ids, dl).await?;
    let owned = try_join_all(
        targets
            .iter()
            .map(|t| aws.owns_target(t.arn.as_deref(), dl)),
    )
    .await?;
    let mut adoption = Adoption {
        endpoint: name.to_string(),
        adopted: Vec::new(),
        already_owned: Vec::new(),
        untaggable: Vec::new(),
    };
    for (t, owned) in targets.iter().zip(owned) {
        let id = t.key.resource_id.clone();
        match (&t.arn, owned) {
            (_, true) => adoption.already_owned.push(id),
            (None, false) => adoption.untaggable.push(id),
            (Some(arn), false) => {
                aws.tag_owned(arn, dl).await?;
                adoption.adopted.push(id);
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
