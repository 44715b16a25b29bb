//! One endpoint, end to end: read the truth, decide, diff, write what differs.
//!
//! The AWS critical path is at most four round trips: DescribeEndpoint ∥ ListTags →
//! DescribeEndpointConfig ∥ DescribeScalableTargets ∥ DescribeScalingPolicies (per variant) →
//! per variant in parallel: register → puts. In steady state it is the two read stages only.

use std::pin::pin;

use futures_util::future::{Either, join_all, select, try_join_all, try_join3};
use serde_json::Value;

use crate::aws::Aws;
use crate::catalog::Catalog;
use crate::diff::{self, Current};
use crate::event::{self, EventError, Trigger};
use crate::outcome::Outcome;
use crate::plan::{self, Desired, EndpointFacts, Rejection, Settings};
use crate::retry::{AwsError, Deadline};

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

/// Handles one invocation payload.
pub async fn handle(app: &App, payload: &Value, dl: &Deadline) -> Result<Outcome, Failure> {
    match event::decode(payload)? {
        Trigger::EndpointStateChange(change) => {
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
    }
}

/// Makes AAS match the endpoint's tags. Safe to run any number of times.
pub async fn reconcile(
    app: &App,
    name: &str,
    arn_hint: Option<&str>,
    dl: &Deadline,
) -> Result<Outcome, Failure> {
    let aws = &app.aws;
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
    let Some(described) = described else {
        return Ok(Outcome::skipped(name, "endpoint no longer exists"));
    };
    if described.status != "InService" {
        return Ok(Outcome::skipped(
            name,
            format!(
                "endpoint is {}, not InService; a later event will come",
                described.status
            ),
        ));
    }
    let tags = if arn_hint == Some(described.arn.as_str()) {
        match tags_early {
            Pending::Running(f) => f.await?,
            Pending::Done(t) => t?,
        }
    } else {
        // No ARN in the event, or one that is not this endpoint's: read the true ARN's tags.
        drop(tags_early);
        aws.list_tags(&described.arn, dl).await?
    };
    let Some(tags) = tags else {
        return Ok(Outcome::skipped(name, "endpoint no longer exists"));
    };
    let lead = format!("{}:", app.settings.tag_prefix);
    if !tags.iter().any(|(k, _)| k.starts_with(&lead)) {
        return Ok(Outcome::skipped(
            name,
            format!("no `{}template` tag: not opted in", lead),
        ));
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

    let desired = plan::desire(&facts, &tags, &app.catalog, &app.settings)?;
    if let Desired::NotOptedIn { reason } = &desired {
        return Ok(Outcome::skipped(name, reason.clone()));
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
    let plans = diff::diff(&facts, &desired, &current);

    // Stage 3: each variant's writes in order; variants in parallel.
    let results = join_all(plans.iter().map(|p| async move {
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
    let outcome = Outcome::from_plans(name, detaching, &plans);
    let done = results.iter().map(|r| r.0).sum();
    let errors: Vec<AwsError> = results.into_iter().filter_map(|r| r.1).collect();
    if errors.is_empty() {
        return Ok(outcome);
    }
    Err(Failure::Partial {
        endpoint: name.to_string(),
        total: outcome.write_count(),
        done,
        errors,
    })
}
