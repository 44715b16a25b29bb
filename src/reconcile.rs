//! One endpoint, end to end: read the truth, decide, diff, write what differs.
//!
//! The AWS critical path is at most four round trips: DescribeEndpoint ∥ ListTags →
//! DescribeEndpointConfig ∥ DescribeScalableTargets ∥ DescribeScalingPolicies (per variant) →
//! per variant in parallel: register → puts. In steady state it is the two read stages only.

use std::pin::pin;

use futures_util::future::{Either, join_all, select, try_join_all, try_join3};
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
            Failure::Aws(_) | Failure::Partial { .. } => "scaletag.AwsError",
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
    // Stage 2: the endpoint config (instance types) ∥ what AAS holds for every variant.
    let resource_ids: Vec<String> = described
        .variants
        .iter()
        .map(|(v, _)| plan::resource_id(name, v))
        .collect();
    let (instance_types, targets, policies) = try_join3(
        aws.instance_types(&described.config_name, dl),
        aws.describe_targets(&resource_ids, dl),
        try_join_all(resource_ids.iter().map(|id| aws.describe_policies(id, dl))),
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
        scheduled_actions: Vec::new(),
    };

    let desired = match intent {
        Intent::Detach => Desired::Detach,
        _ => plan::desire(&facts, &tags, &app.catalog, &app.settings)?,
    };
    if let Desired::NotOptedIn { reason } = &desired {
        return skipped(reason.clone());
    }
    let detaching = desired == Desired::Detach;
    if detaching {
        // Deregistering deletes scheduled actions too: look before doing it.
        let with_targets: Vec<&String> = resource_ids
            .iter()
            .filter(|id| current.targets.iter().any(|t| &t.key.resource_id == *id))
            .collect();
        current.scheduled_actions = try_join_all(
            with_targets
                .iter()
                .map(|id| aws.describe_scheduled_actions(id, dl)),
        )
        .await?
        .into_iter()
        .flatten()
        .collect();
    }
    Ok(Prepared::Ready(Plan {
        endpoint: name.to_string(),
        detaching,
        variants: diff::diff(&facts, &desired, &current),
    }))
}

/// Stage 3: each variant's writes in order; variants in parallel.
pub async fn execute(app: &App, plan: &Plan, dl: &Deadline) -> Result<Outcome, Failure> {
    let aws = &app.aws;
    let results = join_all(plan.variants.iter().map(|p| async move {
        let mut done = 0;
        for action in &p.actions {
            if let Err(e) = aws.apply(action, dl).await {
                return (done, Some(e));
            }
            done += 1;
        }
        (done, None)
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
