//! Desired state against what Application Auto Scaling holds: the writes that close the gap.
//!
//! Pure and idempotent, like a controller's reconcile: when AAS already matches, the answer is
//! no action at all, and that is what makes steady state write nothing.

use serde::Serialize;

use crate::catalog::OWNED_POLICY_PREFIX;
use crate::desire::{self, Desired, VariantDesire};
use crate::policy::{self, Dimension, TargetTracking};
use crate::resource::Scalable;
use crate::wake::{self, Alarm, StepScaling};

/// A scalable target's identity within the sagemaker namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetKey {
    pub resource_id: String,
    #[serde(rename = "ScalableDimension")]
    pub dimension: Dimension,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurrentTarget {
    pub key: TargetKey,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub suspended: bool,
    /// The `ScalableTargetARN`, where AAS gives it: what tags are read and written on.
    pub arn: Option<String>,
    /// Whether the target carries scaletag's [`OWNER_TAG`]; `None` until its tags are read,
    /// which happens only when a decision depends on it ([`VariantChanges::owner_unknown`]).
    pub owned: Option<bool>,
}

/// The tag scaletag puts on every scalable target it registers, passed as `Tags` to the
/// `RegisterScalableTarget` that creates it (AWS takes `Tags` only at creation). A target
/// without it is someone else's: scaletag never deregisters it (docs/aws-behaviour.md §8).
pub const OWNER_TAG: (&str, &str) = ("managed-by", "scaletag");

#[derive(Debug, Clone, PartialEq)]
pub struct CurrentPolicy {
    pub key: TargetKey,
    pub name: String,
    /// `None` when the policy is not target tracking (step scaling, predictive).
    pub target_tracking: Option<TargetTracking>,
    /// The configuration of a step-scaling policy.
    pub step: Option<StepScaling>,
    /// The `PolicyARN`: what a CloudWatch alarm names to fire the policy.
    pub arn: Option<String>,
}

/// What AAS holds for an endpoint's variants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    pub targets: Vec<CurrentTarget>,
    pub policies: Vec<CurrentPolicy>,
    /// Scheduled action names per target. While a target has any, they own its capacity
    /// bounds (docs/aws-behaviour.md §8).
    pub scheduled_actions: Vec<(TargetKey, String)>,
    /// scaletag's wake-from-zero alarms (named [`wake::ALARM_PREFIX`]) of the inference
    /// components read, as CloudWatch describes them.
    pub alarms: Vec<Alarm>,
}

/// One write, in the order it must happen within its variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Action")]
pub enum Action {
    RegisterScalableTarget {
        #[serde(flatten)]
        key: TargetKey,
        #[serde(rename = "MinCapacity")]
        min_capacity: i32,
        #[serde(rename = "MaxCapacity")]
        max_capacity: i32,
        /// Creating the target: it carries [`OWNER_TAG`]. AWS rejects `Tags` on an update.
        #[serde(rename = "Tags", skip_serializing_if = "Option::is_none")]
        tags: Option<std::collections::BTreeMap<String, String>>,
    },
    DeleteScalingPolicy {
        #[serde(flatten)]
        key: TargetKey,
        #[serde(rename = "PolicyName")]
        policy_name: String,
        /// The deleted policy's configuration, when it is deleted only to make room for a new
        /// policy on the same metric: if what follows fails, it is put back, so a switch that
        /// cannot complete leaves the old policy scaling.
        #[serde(skip)]
        restore: Option<Box<TargetTracking>>,
    },
    PutScalingPolicy {
        #[serde(flatten)]
        key: TargetKey,
        #[serde(rename = "PolicyName")]
        policy_name: String,
        #[serde(rename = "TargetTrackingScalingPolicyConfiguration")]
        config: Box<TargetTracking>,
    },
    DeregisterScalableTarget {
        #[serde(flatten)]
        key: TargetKey,
    },
    /// The wake-from-zero step policy of an inference component (docs/aws-behaviour.md §9).
    PutStepScalingPolicy {
        #[serde(flatten)]
        key: TargetKey,
        #[serde(rename = "PolicyName")]
        policy_name: String,
        #[serde(rename = "StepScalingPolicyConfiguration")]
        config: Box<StepScaling>,
    },
    /// The CloudWatch alarm that fires the step policy. When `policy_from_put`, its action is
    /// the ARN the `PutStepScalingPolicy` before it in the same change returns.
    PutMetricAlarm {
        #[serde(skip)]
        key: TargetKey,
        #[serde(skip)]
        alarm: Box<Alarm>,
        #[serde(skip)]
        policy_from_put: bool,
    },
    DeleteAlarm {
        #[serde(skip)]
        key: TargetKey,
        #[serde(rename = "AlarmName")]
        alarm_name: String,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::RegisterScalableTarget { .. } => "RegisterScalableTarget",
            Action::DeleteScalingPolicy { .. } => "DeleteScalingPolicy",
            Action::PutScalingPolicy { .. } => "PutScalingPolicy",
            Action::DeregisterScalableTarget { .. } => "DeregisterScalableTarget",
            Action::PutStepScalingPolicy { .. } => "PutScalingPolicy",
            Action::PutMetricAlarm { .. } => "PutMetricAlarm",
            Action::DeleteAlarm { .. } => "DeleteAlarms",
        }
    }

    /// The AWS service (as the `aws` command names it) the request goes to.
    pub fn service(&self) -> &'static str {
        match self {
            Action::PutMetricAlarm { .. } | Action::DeleteAlarm { .. } => "cloudwatch",
            _ => "application-autoscaling",
        }
    }

    /// The `aws application-autoscaling` subcommand that sends this request.
    pub fn cli_name(&self) -> &'static str {
        match self {
            Action::RegisterScalableTarget { .. } => "register-scalable-target",
            Action::DeleteScalingPolicy { .. } => "delete-scaling-policy",
            Action::PutScalingPolicy { .. } => "put-scaling-policy",
            Action::DeregisterScalableTarget { .. } => "deregister-scalable-target",
            Action::PutStepScalingPolicy { .. } => "put-scaling-policy",
            Action::PutMetricAlarm { .. } => "put-metric-alarm",
            Action::DeleteAlarm { .. } => "delete-alarms",
        }
    }

    /// The request exactly as the Application Auto Scaling API takes it (and as
    /// `aws application-autoscaling <cli_name> --cli-input-json` does).
    pub fn request(&self) -> serde_json::Value {
        match self {
            Action::PutMetricAlarm {
                alarm,
                policy_from_put,
                ..
            } => return alarm_request(alarm, *policy_from_put),
            Action::DeleteAlarm { alarm_name, .. } => {
                return serde_json::json!({ "AlarmNames": [alarm_name] });
            }
            _ => {}
        }
        // The derived form names every field as the API does; a request adds what is the
        // same for every write scaletag makes to Application Auto Scaling.
        let mut request = serde_json::to_value(self).unwrap_or_default();
        if let Some(r) = request.as_object_mut() {
            r.remove("Action");
            r.insert("ServiceNamespace".into(), "sagemaker".into());
            match self {
                Action::PutScalingPolicy { .. } => {
                    r.insert("PolicyType".into(), "TargetTrackingScaling".into());
                }
                Action::PutStepScalingPolicy { .. } => {
                    r.insert("PolicyType".into(), "StepScaling".into());
                }
                _ => {}
            }
        }
        request
    }

    /// Whether this write removes something.
    pub fn is_removal(&self) -> bool {
        matches!(
            self,
            Action::DeleteScalingPolicy { .. }
                | Action::DeregisterScalableTarget { .. }
                | Action::DeleteAlarm { .. }
        )
    }

    pub fn key(&self) -> &TargetKey {
        match self {
            Action::RegisterScalableTarget { key, .. }
            | Action::DeleteScalingPolicy { key, .. }
            | Action::PutScalingPolicy { key, .. }
            | Action::DeregisterScalableTarget { key }
            | Action::PutStepScalingPolicy { key, .. }
            | Action::PutMetricAlarm { key, .. }
            | Action::DeleteAlarm { key, .. } => key,
        }
    }
}

/// `PutMetricAlarm` as the CloudWatch API takes it.
fn alarm_request(alarm: &Alarm, policy_from_put: bool) -> serde_json::Value {
    let mut request = serde_json::to_value(alarm).unwrap_or_default();
    if let Some(r) = request.as_object_mut() {
        r.insert("ActionsEnabled".into(), true.into());
        if policy_from_put {
            r.insert(
                "AlarmActions".into(),
                serde_json::json!(["<the PolicyARN that PutScalingPolicy returns>"]),
            );
        }
    }
    request
}

/// What happens to one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantChanges {
    pub variant: String,
    /// Whether it is a variant of an asynchronous endpoint.
    pub asynchronous: bool,
    pub key: Option<TargetKey>,
    pub template: Option<String>,
    /// Why the variant is skipped, when it is.
    pub skipped: Option<String>,
    pub actions: Vec<Action>,
    pub warnings: Vec<String>,
    /// The scheduled actions that hold the target's capacity bounds, when any do: scaletag
    /// leaves the bounds to them.
    pub bounds_held_by: Vec<String>,
    /// A target whose ownership this changes depends on but is not known yet: read its tags and
    /// diff again.
    pub owner_unknown: Option<TargetKey>,
}

impl VariantChanges {
    fn new(unit: &Scalable) -> VariantChanges {
        VariantChanges {
            variant: unit.name().to_string(),
            asynchronous: matches!(unit, Scalable::AsyncVariant { .. }),
            key: None,
            template: None,
            skipped: None,
            actions: Vec::new(),
            warnings: Vec::new(),
            bounds_held_by: Vec::new(),
            owner_unknown: None,
        }
    }
}

pub fn is_owned(policy_name: &str) -> bool {
    policy_name.starts_with(OWNED_POLICY_PREFIX)
}

/// The writes per unit (variant, or inference component) that make AAS match `desired`.
pub fn diff(units: &[Scalable], desired: &Desired, current: &Current) -> Vec<VariantChanges> {
    let unit = |name: &str| units.iter().find(|u| u.name() == name);
    match desired {
        Desired::NotOptedIn { .. } => Vec::new(),
        Desired::Manage(variants) => variants
            .iter()
            .flat_map(|v| match v {
                VariantDesire::Scale(spec) => vec![manage(spec, current)],
                VariantDesire::Skip { variant, reason } => unit(variant)
                    .map(|u| vec![skip(u, reason, current)])
                    .unwrap_or_default(),
                VariantDesire::Detach { variant } => unit(variant)
                    .map(|u| detach(u, current))
                    .unwrap_or_default(),
            })
            .collect(),
        Desired::Detach => units.iter().flat_map(|u| detach(u, current)).collect(),
    }
}

fn policies_on<'a>(
    current: &'a Current,
    key: &'a TargetKey,
) -> impl Iterator<Item = &'a CurrentPolicy> {
    current.policies.iter().filter(move |p| &p.key == key)
}

fn scheduled_on<'a>(current: &'a Current, key: &TargetKey) -> Vec<&'a str> {
    current
        .scheduled_actions
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, n)| n.as_str())
        .collect()
}

fn foreign_warning(p: &CurrentPolicy) -> String {
    format!(
        "policy `{}` on {} was not created by scaletag; left as is",
        p.name, p.key.resource_id
    )
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn manage(spec: &desire::ScalingSpec, current: &Current) -> VariantChanges {
    let key = TargetKey {
        resource_id: spec.unit.resource_id(),
        dimension: spec.dimension,
    };
    let mut changes = VariantChanges::new(&spec.unit);
    changes.key = Some(key.clone());
    changes.template = Some(spec.template.clone());
    if let Some(register) = bounds(spec, &key, current, &mut changes) {
        changes.actions.push(register);
    }
    let (alarm_removal, alarm_write) = wake_actions(spec, &key, current);
    changes.actions.extend(alarm_removal);
    changes
        .actions
        .extend(policy_actions(spec, &key, current, &mut changes.warnings));
    changes.actions.extend(alarm_write);
    changes
}

/// Scale to zero (docs/aws-behaviour.md §9): the step policy and the alarm that fires it,
/// kept in step with the spec; both removed when it has none. The alarm goes before the
/// policy it fires, and comes after it.
fn wake_actions(
    spec: &desire::ScalingSpec,
    key: &TargetKey,
    current: &Current,
) -> (Option<Action>, Vec<Action>) {
    let have_alarm = alarm_of(&spec.unit, current);
    let Some(wake) = &spec.wake else {
        let removal = have_alarm.map(|a| Action::DeleteAlarm {
            key: key.clone(),
            alarm_name: a.alarm_name.clone(),
        });
        return (removal, Vec::new());
    };
    let mut writes = Vec::new();
    let step = policies_on(current, key).find(|p| p.name == wake::WAKE_POLICY);
    let policy_arn = match step {
        Some(p) if p.step.as_ref() == Some(&wake.step) => p.arn.clone(),
        _ => {
            writes.push(Action::PutStepScalingPolicy {
                key: key.clone(),
                policy_name: wake::WAKE_POLICY.to_string(),
                config: Box::new(wake.step.clone()),
            });
            None
        }
    };
    let alarm = Alarm {
        alarm_actions: policy_arn.iter().cloned().collect(),
        ..wake.alarm.clone()
    };
    if policy_arn.is_none() || have_alarm != Some(&alarm) {
        writes.push(Action::PutMetricAlarm {
            key: key.clone(),
            alarm: Box::new(alarm),
            policy_from_put: policy_arn.is_none(),
        });
    }
    (None, writes)
}

/// The wake alarm scaletag holds for `unit`, when CloudWatch has one.
fn alarm_of<'a>(unit: &Scalable, current: &'a Current) -> Option<&'a Alarm> {
    let name = wake::alarm_name(unit)?;
    current.alarms.iter().find(|a| a.alarm_name == name)
}

/// A variant scaletag skips: nothing to write, a word if its policies remain.
fn skip(unit: &Scalable, reason: &str, current: &Current) -> VariantChanges {
    let (resource, variant) = (unit.resource_id(), unit.name());
    let mut changes = VariantChanges::new(unit);
    changes.skipped = Some(reason.to_string());
    if current
        .policies
        .iter()
        .any(|p| p.key.resource_id == resource && is_owned(&p.name))
    {
        changes.warnings.push(format!(
            "scaletag policies remain on variant `{variant}`; they are left alone while it is skipped"
        ));
    }
    changes
}

/// The registration that sets the target's bounds, when one is needed. A target that
/// scheduled actions act on keeps the bounds they set: scaletag writes none and says so.
fn bounds(
    spec: &desire::ScalingSpec,
    key: &TargetKey,
    current: &Current,
    changes: &mut VariantChanges,
) -> Option<Action> {
    let wanted = (spec.min_capacity, spec.max_capacity);
    let Some(target) = current.targets.iter().find(|t| &t.key == key) else {
        return Some(Action::RegisterScalableTarget {
            key: key.clone(),
            min_capacity: spec.min_capacity,
            max_capacity: spec.max_capacity,
            tags: Some([(OWNER_TAG.0.to_string(), OWNER_TAG.1.to_string())].into()),
        });
    };
    if target.suspended {
        changes.warnings.push(format!(
            "scaling is suspended on {} (SuspendedState); scaletag leaves that as is",
            key.resource_id
        ));
    }
    let have = (target.min_capacity, target.max_capacity);
    let scheduled = scheduled_on(current, key);
    if !scheduled.is_empty() {
        changes.bounds_held_by = scheduled.iter().map(|n| n.to_string()).collect();
        if have != wanted {
            changes.warnings.push(format!(
                "capacity bounds of {} are held by scheduled action {} (now {}-{}); the template's {}-{} apply once no scheduled action remains",
                key.resource_id,
                quoted(&scheduled),
                have.0,
                have.1,
                wanted.0,
                wanted.1
            ));
        }
        return None;
    }
    if have == wanted {
        return None;
    }
    match target.owned {
        None => changes.owner_unknown = Some(key.clone()),
        Some(false) => changes.warnings.push(format!(
            "target {} was not registered by scaletag (no `{}={}` tag); scaletag changed its bounds from {}-{} to {}-{}",
            key.resource_id, OWNER_TAG.0, OWNER_TAG.1, have.0, have.1, wanted.0, wanted.1
        )),
        Some(true) => {}
    }
    Some(Action::RegisterScalableTarget {
        key: key.clone(),
        min_capacity: spec.min_capacity,
        max_capacity: spec.max_capacity,
        tags: None,
    })
}

/// The policy writes, make before break: new policies are put before stale scaletag policies
/// are deleted, so a put AWS refuses leaves the old policy scaling. Only a new policy on the
/// same metric as a stale one must wait for its deletion (AWS allows one target-tracking
/// policy per metric); that deletion carries the old configuration to put back on failure.
fn policy_actions(
    spec: &desire::ScalingSpec,
    key: &TargetKey,
    current: &Current,
    warnings: &mut Vec<String>,
) -> Vec<Action> {
    let mut stale = Vec::new();
    for p in policies_on(current, key) {
        if !is_owned(&p.name) {
            warnings.push(foreign_warning(p));
        } else {
            let wanted = spec.policies.iter().any(|d| d.name == p.name)
                || (spec.wake.is_some() && p.name == wake::WAKE_POLICY);
            if !wanted {
                stale.push(p);
            }
        }
    }
    let changed = spec.policies.iter().filter(|want| {
        !policies_on(current, key)
            .find(|p| p.name == want.name)
            .and_then(|p| p.target_tracking.as_ref())
            .is_some_and(|c| policy::canonical(c) == want.config)
    });
    let displaces = |want: &desire::PolicySpec, old: &CurrentPolicy| {
        old.target_tracking
            .as_ref()
            .is_some_and(|c| policy::same_metric(c, &want.config))
    };
    let put = |want: &desire::PolicySpec| Action::PutScalingPolicy {
        key: key.clone(),
        policy_name: want.name.clone(),
        config: Box::new(want.config.clone()),
    };
    let (late, early): (Vec<_>, Vec<_>) =
        changed.partition(|want| stale.iter().any(|old| displaces(want, old)));
    let mut actions: Vec<Action> = early.into_iter().map(put).collect();
    actions.extend(stale.iter().map(|old| {
        Action::DeleteScalingPolicy {
            key: key.clone(),
            policy_name: old.name.clone(),
            restore: old
                .target_tracking
                .as_ref()
                .filter(|_| late.iter().any(|want| displaces(want, old)))
                .map(|c| Box::new(c.clone())),
        }
    }));
    actions.extend(late.into_iter().map(put));
    actions
}

fn detach(unit: &Scalable, current: &Current) -> Vec<VariantChanges> {
    let resource_id = unit.resource_id();
    let targets: Vec<_> = current
        .targets
        .iter()
        .filter(|t| t.key.resource_id == resource_id)
        .collect();
    let alarm_removals = |key: &TargetKey| -> Vec<Action> {
        alarm_of(unit, current)
            .map(|a| Action::DeleteAlarm {
                key: key.clone(),
                alarm_name: a.alarm_name.clone(),
            })
            .into_iter()
            .collect()
    };
    if targets.is_empty() {
        let mut changes = VariantChanges::new(unit);
        changes.skipped = Some("no scalable target registered".into());
        // An alarm whose target is gone still goes: nothing scaletag made outlives its use.
        changes.actions = alarm_removals(&TargetKey {
            resource_id,
            dimension: unit.default_dimension(),
        });
        return vec![changes];
    }
    targets
        .into_iter()
        .map(|t| {
            let mut changes = VariantChanges::new(unit);
            changes.key = Some(t.key.clone());
            changes.actions = alarm_removals(&t.key);
            detach_target(t, current, &mut changes);
            changes
        })
        .collect()
}

/// scaletag's policies on a target go; the target itself only when nothing but scaletag's
/// was on it, and only when scaletag registered it.
fn detach_target(t: &CurrentTarget, current: &Current, changes: &mut VariantChanges) {
    let mut held = Vec::new();
    for p in policies_on(current, &t.key) {
        if is_owned(&p.name) {
            changes.actions.push(Action::DeleteScalingPolicy {
                key: t.key.clone(),
                policy_name: p.name.clone(),
                restore: None,
            });
        } else {
            changes.warnings.push(foreign_warning(p));
            held.push(format!("policy `{}`", p.name));
        }
    }
    held.extend(
        scheduled_on(current, &t.key)
            .iter()
            .map(|n| format!("scheduled action `{n}`")),
    );
    // Deregistering deletes every policy and scheduled action on the target
    // (docs/aws-behaviour.md §2), so it happens only when nothing but scaletag's remains, and
    // only to a target scaletag registered.
    if !held.is_empty() {
        changes.warnings.push(format!(
            "target {} stays registered: it holds {} that scaletag did not create",
            t.key.resource_id,
            held.join(", ")
        ));
        return;
    }
    match t.owned {
        Some(true) => changes
            .actions
            .push(Action::DeregisterScalableTarget { key: t.key.clone() }),
        None => changes.owner_unknown = Some(t.key.clone()),
        Some(false) => changes.warnings.push(format!(
            "target {} stays registered: scaletag did not register it (no `{}={}` tag); `scaletag adopt` hands it over",
            t.key.resource_id, OWNER_TAG.0, OWNER_TAG.1
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::desire::{Settings, desire};
    use crate::resource::{ComponentFacts, EndpointFacts, Facts, VariantFacts, VariantKind};

    fn facts(variants: &[&str]) -> EndpointFacts {
        EndpointFacts {
            name: "ep".into(),
            variants: variants
                .iter()
                .map(|n| VariantFacts {
                    name: n.to_string(),
                    kind: VariantKind::Instances {
                        instance_type: None,
                    },
                })
                .collect(),
        }
    }

    fn desired(f: &EndpointFacts, template: &str) -> Desired {
        let tags = vec![("autoscaling:template".to_string(), template.to_string())];
        desire(
            &Facts::Endpoint(f.clone()),
            &tags,
            &Catalog::builtin(),
            &Settings::default(),
        )
        .unwrap()
    }

    fn key(variant: &str) -> TargetKey {
        TargetKey {
            resource_id: format!("endpoint/ep/variant/{variant}"),
            dimension: Dimension::InstanceCount,
        }
    }

    /// How AAS describes a policy back: exactly as sent, or with defaults dropped (as an older
    /// echo would) and filled in, with empty lists gone (as AWS normalises).
    #[derive(Clone, Copy)]
    enum Echo {
        Exact,
        Normalised,
    }

    fn echo(config: &TargetTracking, style: Echo) -> TargetTracking {
        let mut echoed = config.clone();
        if let Echo::Normalised = style {
            if echoed.disable_scale_in == Some(false) {
                echoed.disable_scale_in = None;
            }
            if let Some(c) = &mut echoed.customized_metric_specification {
                for q in c.metrics.iter_mut().flatten() {
                    q.return_data.get_or_insert(true);
                    if let Some(stat) = &mut q.metric_stat
                        && stat.metric.dimensions.as_ref().is_some_and(Vec::is_empty)
                    {
                        stat.metric.dimensions = None;
                    }
                }
            }
        }
        echoed
    }

    /// AAS as it would be after every action ran: the fixed point a second event sees.
    fn applied(current: Current, plans: &[VariantChanges]) -> Current {
        applied_with(current, plans, Echo::Normalised)
    }

    fn applied_with(mut current: Current, plans: &[VariantChanges], style: Echo) -> Current {
        for a in plans.iter().flat_map(|p| &p.actions) {
            match a {
                Action::RegisterScalableTarget {
                    key,
                    min_capacity,
                    max_capacity,
                    tags,
                } => {
                    let before = current.targets.iter().position(|t| &t.key == key);
                    let owned = match before {
                        Some(i) => current.targets.remove(i).owned,
                        None => Some(tags.is_some()),
                    };
                    current.targets.push(CurrentTarget {
                        key: key.clone(),
                        min_capacity: *min_capacity,
                        max_capacity: *max_capacity,
                        suspended: false,
                        arn: Some(format!("arn:target/{}", key.resource_id)),
                        owned,
                    });
                }
                Action::PutScalingPolicy {
                    key,
                    policy_name,
                    config,
                } => {
                    current
                        .policies
                        .retain(|p| !(&p.key == key && &p.name == policy_name));
                    current.policies.push(CurrentPolicy {
                        key: key.clone(),
                        name: policy_name.clone(),
                        target_tracking: Some(echo(config, style)),
                        step: None,
                        arn: None,
                    });
                }
                Action::PutStepScalingPolicy {
                    key,
                    policy_name,
                    config,
                } => {
                    current
                        .policies
                        .retain(|p| !(&p.key == key && &p.name == policy_name));
                    current.policies.push(CurrentPolicy {
                        key: key.clone(),
                        name: policy_name.clone(),
                        target_tracking: None,
                        step: Some(config.as_ref().clone()),
                        arn: Some(format!("arn:step:{}", key.resource_id)),
                    });
                }
                Action::PutMetricAlarm {
                    alarm,
                    policy_from_put,
                    key,
                } => {
                    let mut alarm = alarm.as_ref().clone();
                    if *policy_from_put {
                        alarm.alarm_actions = vec![format!("arn:step:{}", key.resource_id)];
                    }
                    current.alarms.retain(|a| a.alarm_name != alarm.alarm_name);
                    current.alarms.push(alarm);
                }
                Action::DeleteAlarm { alarm_name, .. } => {
                    current.alarms.retain(|a| &a.alarm_name != alarm_name);
                }
                Action::DeleteScalingPolicy {
                    key, policy_name, ..
                } => {
                    current
                        .policies
                        .retain(|p| !(&p.key == key && &p.name == policy_name));
                }
                Action::DeregisterScalableTarget { key } => {
                    current.targets.retain(|t| &t.key != key);
                    current.policies.retain(|p| &p.key != key);
                    current.scheduled_actions.retain(|(k, _)| k != key);
                }
            }
        }
        current
    }

    fn names(plans: &[VariantChanges]) -> Vec<Vec<&'static str>> {
        plans
            .iter()
            .map(|p| p.actions.iter().map(Action::name).collect())
            .collect()
    }

    #[test]
    fn first_attach_registers_then_puts_and_second_run_writes_nothing() {
        let f = facts(&["A", "B"]);
        let d = desired(&f, "default");
        let plans = diff(&f.units(), &d, &Current::default());
        assert_eq!(
            names(&plans),
            [["RegisterScalableTarget", "PutScalingPolicy"]; 2]
        );
        let after = applied(Current::default(), &plans);
        let again = diff(&f.units(), &d, &after);
        assert!(again.iter().all(|p| p.actions.is_empty()), "{again:?}");
    }

    #[test]
    fn changed_capacity_only_re_registers() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(
            Current::default(),
            &diff(&f.units(), &d, &Current::default()),
        );
        current.targets[0].max_capacity = 10;
        assert_eq!(
            names(&diff(&f.units(), &d, &current)),
            [["RegisterScalableTarget"]]
        );
    }

    #[test]
    fn hand_edited_policy_is_repaired() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(
            Current::default(),
            &diff(&f.units(), &d, &Current::default()),
        );
        current.policies[0]
            .target_tracking
            .as_mut()
            .unwrap()
            .target_value = 5.0;
        assert_eq!(
            names(&diff(&f.units(), &d, &current)),
            [["PutScalingPolicy"]]
        );
    }

    #[test]
    fn template_change_puts_the_new_policy_before_deleting_the_old() {
        let f = facts(&["A"]);
        let current = applied(
            Current::default(),
            &diff(&f.units(), &desired(&f, "default"), &Current::default()),
        );
        // default (invocations) → concurrency (another metric): make before break.
        let plans = diff(&f.units(), &desired(&f, "concurrency"), &current);
        assert_eq!(
            names(&plans),
            [[
                "RegisterScalableTarget",
                "PutScalingPolicy",
                "DeleteScalingPolicy"
            ]]
        );
        match &plans[0].actions[2] {
            Action::DeleteScalingPolicy {
                policy_name,
                restore,
                ..
            } => {
                assert_eq!(policy_name, "scaletag-default");
                assert!(restore.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_switch_on_the_same_metric_deletes_first_and_can_restore() {
        let f = facts(&["A"]);
        let catalog = Catalog::parse(
            r#"{"steady": {"MinCapacity": 1, "MaxCapacity": 4, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 40, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}"#,
            "t",
        )
        .unwrap();
        let current = applied(
            Current::default(),
            &diff(&f.units(), &desired(&f, "default"), &Current::default()),
        );
        let tags = vec![("autoscaling:template".to_string(), "steady".to_string())];
        let d = desire(
            &Facts::Endpoint(f.clone()),
            &tags,
            &catalog,
            &Settings::default(),
        )
        .unwrap();
        let plans = diff(&f.units(), &d, &current);
        assert_eq!(names(&plans), [["DeleteScalingPolicy", "PutScalingPolicy"]]);
        match &plans[0].actions[0] {
            Action::DeleteScalingPolicy { restore, .. } => {
                assert_eq!(
                    restore.as_ref().map(|c| c.target_value),
                    Some(70.0),
                    "the old configuration travels with the deletion"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn foreign_policies_are_reported_never_touched() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(
            Current::default(),
            &diff(&f.units(), &d, &Current::default()),
        );
        current.policies.push(CurrentPolicy {
            key: key("A"),
            name: "my-step-policy".into(),
            target_tracking: None,
            step: None,
            arn: None,
        });
        let plans = diff(&f.units(), &d, &current);
        assert!(plans[0].actions.is_empty());
        assert_eq!(
            plans[0].warnings,
            [
                "policy `my-step-policy` on endpoint/ep/variant/A was not created by scaletag; left as is"
            ]
        );
    }

    #[test]
    fn detach_deletes_owned_and_deregisters_only_clean_targets() {
        let f = facts(&["A", "B", "C"]);
        let mut current = applied(
            Current::default(),
            &diff(&f.units(), &desired(&f, "default"), &Current::default()),
        );
        current.policies.push(CurrentPolicy {
            key: key("B"),
            name: "hand-made".into(),
            target_tracking: None,
            step: None,
            arn: None,
        });
        current.scheduled_actions.push((key("C"), "nightly".into()));
        let plans = diff(&f.units(), &Desired::Detach, &current);
        assert_eq!(
            names(&plans),
            [
                vec!["DeleteScalingPolicy", "DeregisterScalableTarget"],
                vec!["DeleteScalingPolicy"],
                vec!["DeleteScalingPolicy"],
            ]
        );
        assert!(
            plans[1]
                .warnings
                .iter()
                .any(|w| w.contains("stays registered: it holds policy `hand-made`"))
        );
        assert!(
            plans[2]
                .warnings
                .iter()
                .any(|w| w.contains("scheduled action `nightly`"))
        );
        // Detaching twice writes nothing the second time.
        let after = applied(current, &plans);
        let again = diff(&f.units(), &Desired::Detach, &after);
        assert!(again.iter().all(|p| p.actions.is_empty()), "{again:?}");
    }

    #[test]
    fn a_schedule_holds_the_bounds_and_policies_are_still_managed() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(
            Current::default(),
            &diff(&f.units(), &d, &Current::default()),
        );
        // The schedule fired: bounds 5-20, and someone edited the policy.
        current
            .scheduled_actions
            .push((key("A"), "business-hours".into()));
        current.targets[0].min_capacity = 5;
        current.targets[0].max_capacity = 20;
        current.policies[0]
            .target_tracking
            .as_mut()
            .unwrap()
            .target_value = 1.0;
        let plans = diff(&f.units(), &d, &current);
        assert_eq!(names(&plans), [["PutScalingPolicy"]]);
        assert_eq!(plans[0].bounds_held_by, ["business-hours"]);
        assert!(
            plans[0].warnings.iter().any(|w| w.contains(
                "held by scheduled action `business-hours` (now 5-20); the template's 1-4 apply once no scheduled action remains"
            )),
            "{:?}",
            plans[0].warnings
        );
        // Steady state under a schedule: nothing to write.
        let after = applied(current, &plans);
        let again = diff(&f.units(), &d, &after);
        assert!(again[0].actions.is_empty(), "{again:?}");
        assert_eq!(again[0].bounds_held_by, ["business-hours"]);
    }

    #[test]
    fn targets_scaletag_did_not_register_are_never_deregistered() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(
            Current::default(),
            &diff(&f.units(), &d, &Current::default()),
        );
        assert_eq!(current.targets[0].owned, Some(true), "created with the tag");
        // A target registered by CloudFormation, ownership not read yet.
        current.targets[0].owned = None;
        let plans = diff(&f.units(), &Desired::Detach, &current);
        assert_eq!(names(&plans), [["DeleteScalingPolicy"]]);
        assert_eq!(plans[0].owner_unknown, Some(key("A")));
        // Read: not scaletag's.
        current.targets[0].owned = Some(false);
        let plans = diff(&f.units(), &Desired::Detach, &current);
        assert_eq!(names(&plans), [["DeleteScalingPolicy"]]);
        assert_eq!(plans[0].owner_unknown, None);
        assert!(
            plans[0].warnings[0].contains("stays registered: scaletag did not register it"),
            "{:?}",
            plans[0].warnings
        );
        // Changing the bounds of such a target is said.
        current.targets[0].max_capacity = 9;
        let plans = diff(&f.units(), &d, &current);
        assert_eq!(names(&plans), [["RegisterScalableTarget"]]);
        assert!(plans[0].warnings[0].contains("was not registered by scaletag"));
        assert!(plans[0].warnings[0].contains("from 1-9 to 1-4"));
        // An update never carries Tags: AWS takes them only at creation.
        assert!(matches!(
            &plans[0].actions[0],
            Action::RegisterScalableTarget { tags: None, .. }
        ));
    }

    #[test]
    fn steady_state_is_write_free_for_both_echo_styles() {
        let catalog = Catalog::parse(
            r#"{"math": {"MinCapacity": 1, "MaxCapacity": 4, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 3, "CustomizedMetricSpecification": {"Metrics": [
                {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"MetricName": "Invocations", "Namespace": "AWS/SageMaker", "Dimensions": []}, "Stat": "Sum"}},
                {"Id": "e1", "Expression": "m1 / 60"}]}}}}"#,
            "t",
        )
        .unwrap();
        let f = facts(&["A"]);
        let tags = vec![("autoscaling:template".to_string(), "math".to_string())];
        let d = desire(
            &Facts::Endpoint(f.clone()),
            &tags,
            &catalog,
            &Settings::default(),
        )
        .unwrap();
        for style in [Echo::Exact, Echo::Normalised] {
            let first = diff(&f.units(), &d, &Current::default());
            let after = applied_with(Current::default(), &first, style);
            let again = diff(&f.units(), &d, &after);
            assert!(again[0].actions.is_empty(), "{again:?}");
        }
    }

    #[test]
    fn endpoint_off_with_a_variant_template_detaches_only_the_others() {
        let f = facts(&["A", "B"]);
        let current = applied(
            Current::default(),
            &diff(&f.units(), &desired(&f, "default"), &Current::default()),
        );
        let tags = vec![
            ("autoscaling:template".to_string(), "off".to_string()),
            (
                "autoscaling:variant:A:template".to_string(),
                "default".to_string(),
            ),
        ];
        let d = desire(
            &Facts::Endpoint(f.clone()),
            &tags,
            &Catalog::builtin(),
            &Settings::default(),
        )
        .unwrap();
        let plans = diff(&f.units(), &d, &current);
        assert_eq!(
            names(&plans),
            [
                vec![],
                vec!["DeleteScalingPolicy", "DeregisterScalableTarget"]
            ]
        );
        assert_eq!(plans[0].template.as_deref(), Some("default"));
    }

    #[test]
    fn actions_serialize_in_aws_field_names() {
        let f = facts(&["A"]);
        let plans = diff(&f.units(), &desired(&f, "default"), &Current::default());
        let json = serde_json::to_value(&plans[0].actions).unwrap();
        assert_eq!(json[0]["Action"], "RegisterScalableTarget");
        assert_eq!(json[0]["ResourceId"], "endpoint/ep/variant/A");
        assert_eq!(
            json[0]["ScalableDimension"],
            "sagemaker:variant:DesiredInstanceCount"
        );
        assert_eq!(json[0]["MinCapacity"], 1);
        assert_eq!(json[0]["Tags"]["managed-by"], "scaletag");
        assert_eq!(json[1]["PolicyName"], "scaletag-default");
        assert_eq!(
            json[1]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
            70.0
        );
    }

    fn component(tags: &[(&str, &str)]) -> (Vec<Scalable>, Desired) {
        let facts = ComponentFacts {
            name: "llama".into(),
            endpoint: "llm".into(),
            variant: "AllTraffic".into(),
            status: "InService".into(),
            min_instances: Some(0),
        };
        let tags: Vec<_> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let unit = facts.unit();
        let d = desire(
            &Facts::Component(facts),
            &tags,
            &Catalog::builtin(),
            &Settings::default(),
        )
        .unwrap();
        (vec![unit], d)
    }

    #[test]
    fn scale_to_zero_is_steady_then_removed_above_zero_and_on_detach() {
        let zero = [
            ("autoscaling:template", "ic-invocations"),
            ("autoscaling:min-capacity", "0"),
        ];
        let (units, d) = component(&zero);
        let current = applied(Current::default(), &diff(&units, &d, &Current::default()));
        assert_eq!(current.alarms.len(), 1);
        assert_eq!(
            current.alarms[0].alarm_actions,
            ["arn:step:inference-component/llama"]
        );
        // Steady state: the alarm names the step policy AAS holds; nothing to write.
        assert!(
            diff(&units, &d, &current)
                .iter()
                .all(|c| c.actions.is_empty())
        );
        // An alarm edited by hand is put back.
        let mut edited = current.clone();
        edited.alarms[0].threshold = 5.0;
        assert_eq!(names(&diff(&units, &d, &edited)), [["PutMetricAlarm"]]);
        // Back above zero: the new floor first (it brings a copy back), then the alarm, then
        // the step policy it fires.
        let (_, above) = component(&[
            ("autoscaling:template", "ic-invocations"),
            ("autoscaling:min-capacity", "1"),
        ]);
        let mut owned = current.clone();
        owned.targets[0].owned = Some(true);
        assert_eq!(
            names(&diff(&units, &above, &owned)),
            [[
                "RegisterScalableTarget",
                "DeleteAlarms",
                "DeleteScalingPolicy"
            ]]
        );
        // Detach (`off`): alarm, policies, then the target scaletag registered.
        let (_, off) = component(&[("autoscaling:template", "off")]);
        assert_eq!(
            names(&diff(&units, &off, &owned)),
            [[
                "DeleteAlarms",
                "DeleteScalingPolicy",
                "DeleteScalingPolicy",
                "DeregisterScalableTarget"
            ]]
        );
        // An alarm whose target is already gone still goes.
        let orphan = Current {
            alarms: current.alarms.clone(),
            ..Current::default()
        };
        assert_eq!(names(&diff(&units, &off, &orphan)), [["DeleteAlarms"]]);
    }
}
