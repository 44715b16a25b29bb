//! The reads of one reconcile, in stages, for every kind of resource: what differs by kind is
//! a `match`, not a copied module.
//!
//! 1. The resource itself ∥ its tags (when the caller knows its ARN): DescribeEndpoint or
//!    DescribeInferenceComponent ∥ ListTags. Gone, or not InService: a skip, and the tag read
//!    is dropped, whatever became of it.
//! 2. What AAS (and CloudWatch, for a unit that may have a wake alarm) holds for its units ∥
//!    what its kind needs besides: an endpoint's config (instance types); an IC's instance
//!    floor, only when its tags ask for scale to zero.
//! 3. Only when a decision depends on who registered a target: that target's tags.

use std::pin::pin;

use futures_util::future::{Either, select, try_join, try_join_all, try_join4};

use crate::autoscaling::TargetOwner;
use crate::aws::Aws;
use crate::cloudwatch::AlarmQuery;
use crate::decision::{Intent, Reading};
use crate::diff::{self, Current};
use crate::fleet::Fleet;
use crate::outcome::{Outcome, Skip};
use crate::resource::{Facts, ResourceKind, Scalable, Subject};
use crate::retry::{AwsError, Deadline};
use crate::sagemaker::{Described, DescribedComponent};
use crate::wake;

/// Which resource, and the ARN a caller knows for it (so its tags can be read at once).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: ResourceKind,
    pub name: &'a str,
    pub arn_hint: Option<&'a str>,
}

impl<'a> Target<'a> {
    pub fn endpoint(name: &'a str, arn_hint: Option<&'a str>) -> Target<'a> {
        Target {
            kind: ResourceKind::Endpoint,
            name,
            arn_hint,
        }
    }

    pub fn component(name: &'a str, arn_hint: Option<&'a str>) -> Target<'a> {
        Target {
            kind: ResourceKind::Component,
            name,
            arn_hint,
        }
    }

    /// Who it is, as far as the caller knows.
    pub fn subject(&self) -> Subject {
        match self.kind {
            ResourceKind::Endpoint => Subject::endpoint(self.name),
            ResourceKind::Component => Subject::component(self.name, None),
        }
    }
}

/// A resource as stage 1 found it.
#[derive(Debug, Clone)]
pub enum Found {
    Endpoint(Described),
    Component(DescribedComponent),
}

impl Found {
    pub fn arn(&self) -> &str {
        match self {
            Found::Endpoint(d) => &d.arn,
            Found::Component(c) => &c.arn,
        }
    }

    /// Its facts as far as stage 1 knows them (an endpoint's instance types come in stage 2).
    pub fn facts(&self) -> Facts {
        match self {
            Found::Endpoint(d) => Facts::Endpoint(d.endpoint_facts(&Default::default())),
            Found::Component(c) => Facts::Component(c.facts.clone()),
        }
    }

    pub fn status(&self) -> &str {
        match self {
            Found::Endpoint(d) => &d.status,
            Found::Component(c) => &c.facts.status,
        }
    }
}

/// Whether a resource's status means "not yet": a later look will find it settled. (An
/// endpoint's update ends in an event of its own; an IC has none, so it is looked at again.)
pub fn is_settling(kind: ResourceKind, status: &str) -> bool {
    kind == ResourceKind::Component && matches!(status, "Creating" | "Updating")
}

/// Stage 1. `Err` is the outcome of a resource to skip (gone, not InService, settling).
pub async fn read_resource(
    aws: &Aws,
    target: Target<'_>,
    intent: Intent<'_>,
    dl: &Deadline,
) -> Result<Result<(Found, Vec<(String, String)>), Outcome>, AwsError> {
    let arn_hint = target
        .arn_hint
        .filter(|_| matches!(intent, Intent::FromTags));
    let tags_early = async {
        match arn_hint {
            Some(arn) => aws.list_tags(arn, dl).await,
            None => Ok(None), // unused: without a hint the tags are read below
        }
    };
    let describe = pin!(describe(aws, target, dl));
    let tags_early = pin!(tags_early);
    let (found, tags_early) = match select(describe, tags_early).await {
        Either::Left((found, tags)) => (found?, Pending::Running(tags)),
        Either::Right((tags, describe)) => (describe.await?, Pending::Done(tags)),
    };
    let Some(found) = found else {
        return Ok(Err(Outcome::gone(target.subject())));
    };
    if found.status() != "InService" && !matches!(intent, Intent::Detach) {
        return Ok(Err(not_in_service(target.kind, &found)));
    }
    let tags = match intent {
        Intent::FromTags => read_tags(aws, found.arn(), arn_hint, tags_early, dl).await?,
        Intent::Tags(tags) => Some(tags.to_vec()),
        Intent::Detach => Some(Vec::new()),
    };
    match tags {
        Some(tags) => Ok(Ok((found, tags))),
        None => Ok(Err(Outcome::gone(found.facts().subject()))),
    }
}

/// The resource's description, by its kind; `None` when it does not exist.
pub(crate) async fn describe(
    aws: &Aws,
    target: Target<'_>,
    dl: &Deadline,
) -> Result<Option<Found>, AwsError> {
    Ok(match target.kind {
        ResourceKind::Endpoint => aws
            .describe_endpoint(target.name, dl)
            .await?
            .map(Found::Endpoint),
        ResourceKind::Component => aws
            .describe_component(target.name, dl)
            .await?
            .map(Found::Component),
    })
}

pub(crate) fn not_in_service(kind: ResourceKind, found: &Found) -> Outcome {
    let status = found.status();
    let subject = found.facts().subject();
    match kind {
        ResourceKind::Endpoint => Outcome::skipped(
            subject,
            Skip::NotInService,
            format!("endpoint is {status}, not InService; a later event will come"),
        ),
        ResourceKind::Component => {
            let (skip, later) = if is_settling(kind, status) {
                (Skip::Settling, "it is looked at again once it settles")
            } else {
                (Skip::NotInService, "a later event or the sweep looks again")
            };
            Outcome::skipped(
                subject,
                skip,
                format!("inference component is {status}, not InService; {later}"),
            )
        }
    }
}

/// A future raced against another: still running, or already finished.
enum Pending<F: std::future::Future> {
    Running(F),
    Done(F::Output),
}

/// The resource's tags: from the read started in parallel when the caller's ARN is the
/// resource's, else read now on the true ARN. `None` when the resource is gone.
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
        // No ARN from the caller, or one that is not this resource's.
        drop(early);
        aws.list_tags(arn, dl).await
    }
}

/// Stage 2 for a resource found in stage 1: what AAS holds for its units (read now, or given
/// as `current`: a sweep's reads) ∥ what its kind needs besides. `wants_zero`: its tags ask
/// for scale to zero. In a sweep, `fleet` describes an IC's endpoint once for all its ICs.
pub async fn read_scaling(
    aws: &Aws,
    found: &Found,
    tags: Vec<(String, String)>,
    wants_zero: bool,
    current: Option<Current>,
    fleet: Option<&Fleet>,
    dl: &Deadline,
) -> Result<Reading, AwsError> {
    let early = found.facts();
    let current = async {
        match current {
            Some(known) => Ok(known),
            None => read_current(aws, &early.units(), dl).await,
        }
    };
    let extra = async {
        Ok::<_, AwsError>(match (found, &early) {
            (Found::Endpoint(d), _) => {
                let types = aws.instance_types(&d.config_name, dl).await?;
                Facts::Endpoint(d.endpoint_facts(&types))
            }
            (Found::Component(_), Facts::Component(c)) if wants_zero => {
                let mut c = c.clone();
                c.min_instances = match fleet {
                    Some(f) => f
                        .endpoint(aws, &c.endpoint, dl)
                        .await?
                        .and_then(|d| d.min_instances(&c.variant)),
                    None => aws.min_instances(&c.endpoint, &c.variant, dl).await?,
                };
                Facts::Component(c)
            }
            (Found::Component(_), facts) => facts.clone(),
        })
    };
    let (current, facts) = try_join(current, extra).await?;
    Ok(Reading {
        facts,
        tags,
        current,
    })
}

/// What AAS holds for these units (targets, policies, the scheduled actions that may own
/// their bounds) and the wake alarms they may have in CloudWatch.
pub async fn read_current(
    aws: &Aws,
    units: &[Scalable],
    dl: &Deadline,
) -> Result<Current, AwsError> {
    let ids: Vec<String> = units.iter().map(Scalable::resource_id).collect();
    let alarm_names: Vec<String> = units.iter().filter_map(wake::alarm_name).collect();
    let (targets, policies, scheduled, alarms) = try_join4(
        aws.describe_targets(&ids, dl),
        try_join_all(ids.iter().map(|id| aws.describe_policies(Some(id), dl))),
        try_join_all(
            ids.iter()
                .map(|id| aws.describe_scheduled_actions(Some(id), dl)),
        ),
        aws.describe_alarms(AlarmQuery::Named(&alarm_names), dl),
    )
    .await?;
    Ok(Current {
        targets,
        policies: policies.into_iter().flatten().collect(),
        scheduled_actions: scheduled.into_iter().flatten().collect(),
        alarms,
    })
}

/// Stage 3, only when a decision depends on who registered a target (deregistering it, or
/// changing its bounds): whether those targets carry scaletag's owner tag.
pub async fn read_ownership(
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
