//! Desired state against what Application Auto Scaling holds: the writes that close the gap.
//!
//! Pure and idempotent, like a controller's reconcile: when AAS already matches, the answer is
//! no action at all, and that is what makes steady state write nothing.

use serde::Serialize;

use crate::catalog::OWNED_POLICY_PREFIX;
use crate::plan::{self, Desired, EndpointFacts, VariantDesire};
use crate::policy::{self, Dimension, TargetTracking};

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurrentPolicy {
    pub key: TargetKey,
    pub name: String,
    /// `None` when the policy is not target tracking (step scaling, predictive).
    pub target_tracking: Option<TargetTracking>,
}

/// What AAS holds for an endpoint's variants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    pub targets: Vec<CurrentTarget>,
    pub policies: Vec<CurrentPolicy>,
    /// Scheduled action names per target (read only when detaching).
    pub scheduled_actions: Vec<(TargetKey, String)>,
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
    },
    DeleteScalingPolicy {
        #[serde(flatten)]
        key: TargetKey,
        #[serde(rename = "PolicyName")]
        policy_name: String,
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
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::RegisterScalableTarget { .. } => "RegisterScalableTarget",
            Action::DeleteScalingPolicy { .. } => "DeleteScalingPolicy",
            Action::PutScalingPolicy { .. } => "PutScalingPolicy",
            Action::DeregisterScalableTarget { .. } => "DeregisterScalableTarget",
        }
    }

    /// The `aws application-autoscaling` subcommand that sends this request.
    pub fn cli_name(&self) -> &'static str {
        match self {
            Action::RegisterScalableTarget { .. } => "register-scalable-target",
            Action::DeleteScalingPolicy { .. } => "delete-scaling-policy",
            Action::PutScalingPolicy { .. } => "put-scaling-policy",
            Action::DeregisterScalableTarget { .. } => "deregister-scalable-target",
        }
    }

    /// The request exactly as the Application Auto Scaling API takes it (and as
    /// `aws application-autoscaling <cli_name> --cli-input-json` does).
    pub fn request(&self) -> serde_json::Value {
        let key = self.key();
        let mut request = serde_json::json!({
            "ServiceNamespace": "sagemaker",
            "ResourceId": key.resource_id,
            "ScalableDimension": key.dimension.as_str(),
        });
        let extra = match self {
            Action::RegisterScalableTarget {
                min_capacity,
                max_capacity,
                ..
            } => serde_json::json!({"MinCapacity": min_capacity, "MaxCapacity": max_capacity}),
            Action::PutScalingPolicy {
                policy_name,
                config,
                ..
            } => serde_json::json!({
                "PolicyName": policy_name,
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": config,
            }),
            Action::DeleteScalingPolicy { policy_name, .. } => {
                serde_json::json!({"PolicyName": policy_name})
            }
            Action::DeregisterScalableTarget { .. } => serde_json::json!({}),
        };
        if let (Some(r), Some(e)) = (request.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        request
    }

    /// Whether this write removes something.
    pub fn is_removal(&self) -> bool {
        matches!(
            self,
            Action::DeleteScalingPolicy { .. } | Action::DeregisterScalableTarget { .. }
        )
    }

    pub fn key(&self) -> &TargetKey {
        match self {
            Action::RegisterScalableTarget { key, .. }
            | Action::DeleteScalingPolicy { key, .. }
            | Action::PutScalingPolicy { key, .. }
            | Action::DeregisterScalableTarget { key } => key,
        }
    }
}

/// What happens to one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantPlan {
    pub variant: String,
    pub key: Option<TargetKey>,
    pub template: Option<String>,
    /// Why the variant is left alone, when it is.
    pub skipped: Option<String>,
    pub actions: Vec<Action>,
    pub warnings: Vec<String>,
}

pub fn is_owned(policy_name: &str) -> bool {
    policy_name.starts_with(OWNED_POLICY_PREFIX)
}

/// The writes per variant that make AAS match `desired`.
pub fn diff(facts: &EndpointFacts, desired: &Desired, current: &Current) -> Vec<VariantPlan> {
    match desired {
        Desired::NotOptedIn { .. } => Vec::new(),
        Desired::Manage(variants) => variants
            .iter()
            .map(|v| manage(&facts.name, v, current))
            .collect(),
        Desired::Detach => facts
            .variants
            .iter()
            .flat_map(|v| detach(&plan::resource_id(&facts.name, &v.name), &v.name, current))
            .collect(),
    }
}

fn policies_on<'a>(
    current: &'a Current,
    key: &'a TargetKey,
) -> impl Iterator<Item = &'a CurrentPolicy> {
    current.policies.iter().filter(move |p| &p.key == key)
}

fn foreign_warning(p: &CurrentPolicy) -> String {
    format!(
        "policy `{}` on {} was not created by scaletag; left as is",
        p.name, p.key.resource_id
    )
}

fn manage(endpoint: &str, desire: &VariantDesire, current: &Current) -> VariantPlan {
    let spec = match desire {
        VariantDesire::Leave { variant, reason } => {
            let resource = plan::resource_id(endpoint, variant);
            let mut warnings = Vec::new();
            if current
                .policies
                .iter()
                .any(|p| p.key.resource_id == resource && is_owned(&p.name))
            {
                warnings.push(format!(
                    "scaletag policies remain on variant `{variant}`; they are left alone while it is skipped"
                ));
            }
            return VariantPlan {
                variant: variant.clone(),
                key: None,
                template: None,
                skipped: Some(reason.clone()),
                actions: Vec::new(),
                warnings,
            };
        }
        VariantDesire::Scale(spec) => spec,
    };
    let key = TargetKey {
        resource_id: spec.resource_id.clone(),
        dimension: spec.dimension,
    };
    let mut actions = Vec::new();
    let mut warnings = Vec::new();
    let target = current.targets.iter().find(|t| t.key == key);
    if target
        .is_none_or(|t| (t.min_capacity, t.max_capacity) != (spec.min_capacity, spec.max_capacity))
    {
        actions.push(Action::RegisterScalableTarget {
            key: key.clone(),
            min_capacity: spec.min_capacity,
            max_capacity: spec.max_capacity,
        });
    }
    if target.is_some_and(|t| t.suspended) {
        warnings.push(format!(
            "scaling is suspended on {} (SuspendedState); scaletag leaves that as is",
            key.resource_id
        ));
    }
    for p in policies_on(current, &key) {
        if !is_owned(&p.name) {
            warnings.push(foreign_warning(p));
        } else if !spec.policies.iter().any(|d| d.name == p.name) {
            actions.push(Action::DeleteScalingPolicy {
                key: key.clone(),
                policy_name: p.name.clone(),
            });
        }
    }
    for want in &spec.policies {
        let have = policies_on(current, &key).find(|p| p.name == want.name);
        let same = have
            .and_then(|p| p.target_tracking.as_ref())
            .is_some_and(|c| policy::canonical(c) == want.config);
        if !same {
            actions.push(Action::PutScalingPolicy {
                key: key.clone(),
                policy_name: want.name.clone(),
                config: Box::new(want.config.clone()),
            });
        }
    }
    VariantPlan {
        variant: spec.variant.clone(),
        key: Some(key),
        template: Some(spec.template.clone()),
        skipped: None,
        actions,
        warnings,
    }
}

fn detach(resource_id: &str, variant: &str, current: &Current) -> Vec<VariantPlan> {
    let targets: Vec<_> = current
        .targets
        .iter()
        .filter(|t| t.key.resource_id == resource_id)
        .collect();
    if targets.is_empty() {
        return vec![VariantPlan {
            variant: variant.to_string(),
            key: None,
            template: None,
            skipped: Some("no scalable target registered".into()),
            actions: Vec::new(),
            warnings: Vec::new(),
        }];
    }
    targets
        .into_iter()
        .map(|t| {
            let mut actions = Vec::new();
            let mut warnings = Vec::new();
            let mut foreign = Vec::new();
            for p in policies_on(current, &t.key) {
                if is_owned(&p.name) {
                    actions.push(Action::DeleteScalingPolicy {
                        key: t.key.clone(),
                        policy_name: p.name.clone(),
                    });
                } else {
                    warnings.push(foreign_warning(p));
                    foreign.push(p.name.as_str());
                }
            }
            let scheduled: Vec<_> = current
                .scheduled_actions
                .iter()
                .filter(|(k, _)| k == &t.key)
                .map(|(_, n)| n.as_str())
                .collect();
            // Deregistering deletes every policy and scheduled action on the target
            // (aws-facts §2), so it happens only when nothing but scaletag's remains.
            if foreign.is_empty() && scheduled.is_empty() {
                actions.push(Action::DeregisterScalableTarget { key: t.key.clone() });
            } else {
                let mut held: Vec<String> =
                    foreign.iter().map(|n| format!("policy `{n}`")).collect();
                held.extend(scheduled.iter().map(|n| format!("scheduled action `{n}`")));
                warnings.push(format!(
                    "target {} stays registered: it holds {} that scaletag did not create",
                    t.key.resource_id,
                    held.join(", ")
                ));
            }
            VariantPlan {
                variant: variant.to_string(),
                key: Some(t.key.clone()),
                template: None,
                skipped: None,
                actions,
                warnings,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::plan::{Settings, VariantFacts, VariantKind, desire};

    fn facts(variants: &[&str]) -> EndpointFacts {
        EndpointFacts {
            name: "ep".into(),
            arn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".into(),
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
        desire(f, &tags, &Catalog::builtin(), &Settings::default()).unwrap()
    }

    fn key(variant: &str) -> TargetKey {
        TargetKey {
            resource_id: format!("endpoint/ep/variant/{variant}"),
            dimension: Dimension::InstanceCount,
        }
    }

    /// AAS as it would be after every action ran: the fixed point a second event sees.
    fn applied(mut current: Current, plans: &[VariantPlan]) -> Current {
        for a in plans.iter().flat_map(|p| &p.actions) {
            match a {
                Action::RegisterScalableTarget {
                    key,
                    min_capacity,
                    max_capacity,
                } => {
                    current.targets.retain(|t| &t.key != key);
                    current.targets.push(CurrentTarget {
                        key: key.clone(),
                        min_capacity: *min_capacity,
                        max_capacity: *max_capacity,
                        suspended: false,
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
                    // AWS echoes what it was given; drop the explicit defaults to prove the
                    // comparison does not depend on them being echoed.
                    let mut echoed = (**config).clone();
                    if echoed.disable_scale_in == Some(false) {
                        echoed.disable_scale_in = None;
                    }
                    current.policies.push(CurrentPolicy {
                        key: key.clone(),
                        name: policy_name.clone(),
                        target_tracking: Some(echoed),
                    });
                }
                Action::DeleteScalingPolicy { key, policy_name } => {
                    current
                        .policies
                        .retain(|p| !(&p.key == key && &p.name == policy_name));
                }
                Action::DeregisterScalableTarget { key } => {
                    current.targets.retain(|t| &t.key != key);
                    current.policies.retain(|p| &p.key != key);
                }
            }
        }
        current
    }

    fn names(plans: &[VariantPlan]) -> Vec<Vec<&'static str>> {
        plans
            .iter()
            .map(|p| p.actions.iter().map(Action::name).collect())
            .collect()
    }

    #[test]
    fn first_attach_registers_then_puts_and_second_run_writes_nothing() {
        let f = facts(&["A", "B"]);
        let d = desired(&f, "default");
        let plans = diff(&f, &d, &Current::default());
        assert_eq!(
            names(&plans),
            [["RegisterScalableTarget", "PutScalingPolicy"]; 2]
        );
        let after = applied(Current::default(), &plans);
        let again = diff(&f, &d, &after);
        assert!(again.iter().all(|p| p.actions.is_empty()), "{again:?}");
    }

    #[test]
    fn changed_capacity_only_re_registers() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(Current::default(), &diff(&f, &d, &Current::default()));
        current.targets[0].max_capacity = 10;
        assert_eq!(names(&diff(&f, &d, &current)), [["RegisterScalableTarget"]]);
    }

    #[test]
    fn hand_edited_policy_is_repaired() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(Current::default(), &diff(&f, &d, &Current::default()));
        current.policies[0]
            .target_tracking
            .as_mut()
            .unwrap()
            .target_value = 5.0;
        assert_eq!(names(&diff(&f, &d, &current)), [["PutScalingPolicy"]]);
    }

    #[test]
    fn template_change_deletes_the_old_owned_policy_first() {
        let f = facts(&["A"]);
        let current = applied(
            Current::default(),
            &diff(&f, &desired(&f, "default"), &Current::default()),
        );
        let plans = diff(&f, &desired(&f, "concurrency"), &current);
        assert_eq!(
            names(&plans),
            [[
                "RegisterScalableTarget",
                "DeleteScalingPolicy",
                "PutScalingPolicy"
            ]]
        );
        match &plans[0].actions[1] {
            Action::DeleteScalingPolicy { policy_name, .. } => {
                assert_eq!(policy_name, "scaletag-default")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn foreign_policies_are_reported_never_touched() {
        let f = facts(&["A"]);
        let d = desired(&f, "default");
        let mut current = applied(Current::default(), &diff(&f, &d, &Current::default()));
        current.policies.push(CurrentPolicy {
            key: key("A"),
            name: "my-step-policy".into(),
            target_tracking: None,
        });
        let plans = diff(&f, &d, &current);
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
            &diff(&f, &desired(&f, "default"), &Current::default()),
        );
        current.policies.push(CurrentPolicy {
            key: key("B"),
            name: "hand-made".into(),
            target_tracking: None,
        });
        current.scheduled_actions.push((key("C"), "nightly".into()));
        let plans = diff(&f, &Desired::Detach, &current);
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
        let again = diff(&f, &Desired::Detach, &after);
        assert!(again.iter().all(|p| p.actions.is_empty()), "{again:?}");
    }

    #[test]
    fn actions_serialize_in_aws_field_names() {
        let f = facts(&["A"]);
        let plans = diff(&f, &desired(&f, "default"), &Current::default());
        let json = serde_json::to_value(&plans[0].actions).unwrap();
        assert_eq!(json[0]["Action"], "RegisterScalableTarget");
        assert_eq!(json[0]["ResourceId"], "endpoint/ep/variant/A");
        assert_eq!(
            json[0]["ScalableDimension"],
            "sagemaker:variant:DesiredInstanceCount"
        );
        assert_eq!(json[0]["MinCapacity"], 1);
        assert_eq!(json[1]["PolicyName"], "scaletag-default");
        assert_eq!(
            json[1]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
            70.0
        );
    }
}
