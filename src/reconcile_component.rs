//! One inference component (IC), end to end: read, decide (`component::decide`, pure), write.
//!
//! The AWS critical path: DescribeInferenceComponent ∥ ListTags (when the caller knows the
//! IC's ARN: a CloudTrail event, a listing, a re-check) → DescribeScalableTargets ∥
//! DescribeScalingPolicies ∥ DescribeScheduledActions ∥ DescribeAlarms (∥ DescribeEndpoint,
//! only when the tags ask for scale to zero) → the writes. Steady state is the two read stages.

use futures_util::future::{try_join, try_join5};

use crate::component::{self, ComponentFacts, ComponentReading};
use crate::decision::{Decision, Intent};
use crate::diff::Current;
use crate::outcome::Outcome;
use crate::reconcile::{
    App, Attempt, Failure, Reconciled, Target, attempt, decide_knowing_owners, finish,
};
use crate::retry::{AwsError, Deadline};
use crate::status::Spot;

/// The reason of an IC that is not there.
pub const GONE: &str = "inference component no longer exists";

/// Whether an IC's status means "not yet": a later look will find it settled.
pub fn is_settling(status: &str) -> bool {
    matches!(status, "Creating" | "Updating")
}

/// What one IC's reconcile decided and did, and whether the IC is still settling
/// (`Creating`, `Updating`): then a later look is due.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentReconciled {
    pub reconciled: Reconciled,
    pub settling: bool,
}

/// Makes AAS and CloudWatch match what `intent` asks for one IC. Safe to run any number of
/// times; the Lambda, the CLI and the sweep go through here for ICs.
pub async fn reconcile_component(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dry_run: bool,
    dl: &Deadline,
) -> Result<ComponentReconciled, Failure> {
    let (attempt, settling) = settle(app, target, intent, dry_run, dl).await;
    Ok(ComponentReconciled {
        reconciled: attempt.result?,
        settling,
    })
}

/// [`reconcile_component`], reporting the status tag the IC carried too.
pub async fn reconcile_component_reporting(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dry_run: bool,
    dl: &Deadline,
) -> Attempt {
    settle(app, target, intent, dry_run, dl).await.0
}

async fn settle(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dry_run: bool,
    dl: &Deadline,
) -> (Attempt, bool) {
    let mut spot = None;
    let mut settling = false;
    let decided = prepare(app, target, intent, dl, &mut spot)
        .await
        .map(|(decision, s)| {
            settling = s;
            decision
        });
    (attempt(app, decided, spot, dry_run, dl).await, settling)
}

/// Removes what scaletag made for an IC that no longer exists: its alarm, and its target
/// (with the target's policies) when scaletag registered it. The sweep's clean-up.
pub async fn clean_up(
    app: &App,
    name: &str,
    dry_run: bool,
    dl: &Deadline,
) -> Result<Reconciled, Failure> {
    // The listings that found it gone were read a moment ago, in parallel: an IC created
    // again under the same name since then (or a listing behind the others) must keep its
    // scaling. Only an IC that is not there, or is being deleted, is cleaned up after.
    if let Some(live) = app.aws.describe_component(name, dl).await?
        && live.facts.status != "Deleting"
    {
        let skip = Outcome::skipped_component(
            &live.facts.endpoint,
            name,
            format!(
                "inference component is {}: not gone after all, nothing cleaned up",
                live.facts.status
            ),
        );
        return Ok(Reconciled {
            decision: Decision::Skip(skip.clone()),
            outcome: skip,
        });
    }
    let facts = ComponentFacts {
        name: name.to_string(),
        endpoint: String::new(),
        variant: String::new(),
        status: "Deleted".into(),
        min_instances: None,
    };
    // Gone: nowhere to write a status.
    let decided = decide_on_reads(app, facts, Vec::new(), Intent::Detach, dl).await;
    finish(app, decided, None, dry_run, dl).await
}

async fn prepare(
    app: &App,
    target: Target<'_>,
    intent: Intent<'_>,
    dl: &Deadline,
    spot: &mut Option<Spot>,
) -> Result<(Decision, bool), Failure> {
    let aws = &app.aws;
    let hint = target
        .arn_hint
        .filter(|_| matches!(intent, Intent::FromTags));
    let tags_early = async {
        match hint {
            Some(arn) => aws.list_tags(arn, dl).await,
            None => Ok(None),
        }
    };
    let (described, early) = try_join(aws.describe_component(target.name, dl), tags_early).await?;
    let gone = |endpoint: &str| {
        Ok((
            Decision::Skip(Outcome::skipped_component(endpoint, target.name, GONE)),
            false,
        ))
    };
    let Some(described) = described else {
        return gone("");
    };
    let facts = described.facts;
    if facts.status != "InService" && !matches!(intent, Intent::Detach) {
        let settling = is_settling(&facts.status);
        let later = if settling {
            "it is looked at again once it settles"
        } else {
            "a later event or the sweep looks again"
        };
        let skip = Outcome::skipped_component(
            &facts.endpoint,
            &facts.name,
            format!(
                "inference component is {}, not InService; {later}",
                facts.status
            ),
        );
        return Ok((Decision::Skip(skip), settling));
    }
    let tags = match intent {
        Intent::FromTags if hint == Some(described.arn.as_str()) => early,
        Intent::FromTags => aws.list_tags(&described.arn, dl).await?,
        Intent::Tags(tags) => Some(tags.to_vec()),
        Intent::Detach => Some(Vec::new()),
    };
    let Some(tags) = tags else {
        return gone(&facts.endpoint);
    };
    if matches!(intent, Intent::FromTags) {
        *spot = Some(Spot::of(&described.arn, &tags, &app.settings.tag_prefix));
    }
    if let Some(skip) = component::not_opted_in(&facts, &tags, intent, &app.catalog, &app.settings)
    {
        return Ok((Decision::Skip(skip), false));
    }
    Ok((decide_on_reads(app, facts, tags, intent, dl).await?, false))
}

/// Stage 2 (and 3, when ownership matters), then the decision.
async fn decide_on_reads(
    app: &App,
    mut facts: ComponentFacts,
    tags: Vec<(String, String)>,
    intent: Intent<'_>,
    dl: &Deadline,
) -> Result<Decision, Failure> {
    let wants_zero = !matches!(intent, Intent::Detach)
        && component::desire(&facts, &tags, &app.catalog, &app.settings)
            .is_ok_and(|d| component::wants_zero(&d));
    let (current, min_instances) = read_scaling(app, &facts, wants_zero, dl).await?;
    facts.min_instances = min_instances;
    let mut reading = ComponentReading {
        facts,
        tags,
        current,
    };
    let decide = |r: &ComponentReading| component::decide(r, intent, &app.catalog, &app.settings);
    decide_knowing_owners(&app.aws, &mut reading, |r| &mut r.current, decide, dl).await
}

/// Stage 2: what AAS and CloudWatch hold for the IC, and the endpoint's instance floor when
/// scale to zero is asked for.
async fn read_scaling(
    app: &App,
    facts: &ComponentFacts,
    wants_zero: bool,
    dl: &Deadline,
) -> Result<(Current, Option<i32>), AwsError> {
    let aws = &app.aws;
    let id = facts.resource_id();
    let ids = [id.clone()];
    let floor = async {
        if wants_zero {
            aws.min_instances(&facts.endpoint, &facts.variant, dl).await
        } else {
            Ok(None)
        }
    };
    let (targets, policies, scheduled, alarms, floor) = try_join5(
        aws.describe_targets(&ids, dl),
        aws.describe_policies(&id, dl),
        aws.describe_scheduled_actions(&id, dl),
        aws.describe_alarms(Some(&facts.name), dl),
        floor,
    )
    .await?;
    Ok((
        Current {
            targets,
            policies,
            scheduled_actions: scheduled,
            alarms,
        },
        floor,
    ))
}
