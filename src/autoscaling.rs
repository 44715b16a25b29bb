//! Application Auto Scaling: scalable targets, scaling policies and scheduled actions read,
//! targets' owner tag, and the scaling writes; the SDK conversions of policies. Translation
//! only.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_applicationautoscaling as aas;

use crate::aws::{Aws, NAMESPACE, all_pages, found};
use crate::diff::{CurrentPolicy, CurrentTarget, OWNER_TAG, TargetKey};
use crate::policy::{self, Dimension, TargetTracking};
use crate::retry::{AwsError, Deadline, Fault, Op, call};
use crate::wake::StepScaling;

/// Who registered a scalable target, read from its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetOwner {
    /// It carries scaletag's owner tag.
    Scaletag,
    /// Someone else registered it (or it has no ARN, so no tags).
    Other,
    /// It was deregistered between the listing and the tag read.
    Gone,
}

impl Aws {
    /// Every scalable target on these resource ids, 50 ids a call (the API's limit).
    pub async fn describe_targets(
        &self,
        resource_ids: &[String],
        dl: &Deadline,
    ) -> Result<Vec<CurrentTarget>, AwsError> {
        let wanted: BTreeSet<&str> = resource_ids.iter().map(String::as_str).collect();
        let mut targets = Vec::new();
        for chunk in resource_ids.chunks(50) {
            let page = all_pages(|token| async move {
                let out = call(Op::DescribeScalableTargets, &chunk.join(","), dl, || {
                    self.aas
                        .describe_scalable_targets()
                        .service_namespace(NAMESPACE)
                        .set_resource_ids(Some(chunk.to_vec()))
                        .max_results(50)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
                Ok(found(out).map(|out| {
                    let page: Vec<CurrentTarget> = out
                        .scalable_targets()
                        .iter()
                        .filter_map(current_target)
                        .collect();
                    (page, out.next_token().map(str::to_string))
                }))
            })
            .await?;
            // Filter exactly: moto matches ResourceId loosely (docs/aws-behaviour.md §7).
            targets.extend(
                page.into_iter()
                    .flatten()
                    .filter(|t| wanted.contains(t.key.resource_id.as_str())),
            );
        }
        Ok(targets)
    }

    /// Every scaling policy on one resource id, or (`None`, the sweep) on every SageMaker
    /// target, following NextToken (10 a page).
    pub async fn describe_policies(
        &self,
        resource_id: Option<&str>,
        dl: &Deadline,
    ) -> Result<Vec<CurrentPolicy>, AwsError> {
        let subject = resource_id.unwrap_or("sagemaker");
        let policies = all_pages(|token| async move {
            let out = call(Op::DescribeScalingPolicies, subject, dl, || {
                self.aas
                    .describe_scaling_policies()
                    .service_namespace(NAMESPACE)
                    .set_resource_id(resource_id.map(str::to_string))
                    .max_results(10)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .scaling_policies()
                    .iter()
                    .filter(|p| resource_id.is_none_or(|id| p.resource_id() == id))
                    .filter_map(current_policy)
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(policies.unwrap_or_default())
    }

    /// Names of the scheduled actions on one resource id, or (`None`, the sweep) on every
    /// SageMaker target, per target.
    pub async fn describe_scheduled_actions(
        &self,
        resource_id: Option<&str>,
        dl: &Deadline,
    ) -> Result<Vec<(TargetKey, String)>, AwsError> {
        let subject = resource_id.unwrap_or("sagemaker");
        let actions = all_pages(|token| async move {
            let out = call(Op::DescribeScheduledActions, subject, dl, || {
                self.aas
                    .describe_scheduled_actions()
                    .service_namespace(NAMESPACE)
                    .set_resource_id(resource_id.map(str::to_string))
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .scheduled_actions()
                    .iter()
                    .filter(|a| resource_id.is_none_or(|id| a.resource_id() == id))
                    .filter_map(|a| {
                        let dimension = Dimension::parse(a.scalable_dimension()?.as_str())?;
                        Some((
                            TargetKey {
                                resource_id: a.resource_id().to_string(),
                                dimension,
                            },
                            a.scheduled_action_name().to_string(),
                        ))
                    })
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(actions.unwrap_or_default())
    }

    /// Who registered a scalable target, as its tags say. A target without an ARN (AAS gives
    /// none to targets registered before it had tags) cannot carry the owner tag: not
    /// scaletag's.
    pub async fn target_owner(
        &self,
        arn: Option<&str>,
        dl: &Deadline,
    ) -> Result<TargetOwner, AwsError> {
        let Some(arn) = arn else {
            return Ok(TargetOwner::Other);
        };
        let out = call(Op::ListTagsForResource, arn, dl, || {
            self.aas.list_tags_for_resource().resource_arn(arn).send()
        })
        .await?;
        Ok(match found(out) {
            // Deregistered since it was listed (AAS: ResourceNotFoundException).
            None => TargetOwner::Gone,
            Some(o)
                if o.tags()
                    .and_then(|t| t.get(OWNER_TAG.0))
                    .is_some_and(|v| v == OWNER_TAG.1) =>
            {
                TargetOwner::Scaletag
            }
            Some(_) => TargetOwner::Other,
        })
    }

    /// Puts scaletag's owner tag on an existing scalable target (`scaletag adopt`). `false`
    /// when the target was deregistered meanwhile.
    pub async fn tag_owned(&self, arn: &str, dl: &Deadline) -> Result<bool, AwsError> {
        let out = call(Op::TagResource, arn, dl, || {
            self.aas
                .tag_resource()
                .resource_arn(arn)
                .tags(OWNER_TAG.0, OWNER_TAG.1)
                .send()
        })
        .await?;
        let tagged = found(out).is_some();
        if tagged {
            tracing::info!(write = "TagResource", resource_arn = arn, "aws write");
        }
        Ok(tagged)
    }

    /// RegisterScalableTarget with these bounds, and `tags` when it creates the target.
    pub(crate) async fn register(
        &self,
        key: &TargetKey,
        (min, max): (i32, i32),
        tags: Option<&std::collections::BTreeMap<String, String>>,
        dl: &Deadline,
    ) -> Result<(), AwsError> {
        let subject = key.resource_id.as_str();
        let register = |tags: Option<HashMap<String, String>>| {
            call(Op::RegisterScalableTarget, subject, dl, move || {
                self.aas
                    .register_scalable_target()
                    .service_namespace(NAMESPACE)
                    .resource_id(subject)
                    .scalable_dimension(aas::types::ScalableDimension::from(key.dimension.as_str()))
                    .min_capacity(min)
                    .max_capacity(max)
                    .set_tags(tags.clone())
                    .send()
            })
        };
        let tags: Option<HashMap<String, String>> = tags.map(|t| t.clone().into_iter().collect());
        match register(tags.clone()).await {
            // The target appeared since it was read: an earlier attempt whose answer was lost
            // created it (with the tag), or someone else did (without). AWS takes tags only at
            // creation, so set the bounds without them; whose it is stays what its tags say
            // (docs/aws-behaviour.md §8).
            Err(e) if tags.is_some() && target_exists(&e.last) => {
                register(None).await?;
            }
            other => {
                other?;
            }
        }
        Ok(())
    }

    /// PutScalingPolicy for a target-tracking configuration.
    pub async fn put_policy(
        &self,
        key: &TargetKey,
        policy_name: &str,
        config: &TargetTracking,
        dl: &Deadline,
    ) -> Result<(), AwsError> {
        let subject = key.resource_id.as_str();
        let sdk_config = to_sdk(config).map_err(|e| AwsError {
            op: Op::PutScalingPolicy,
            subject: subject.to_string(),
            attempts: 0,
            deadline: false,
            last: Fault::Local(e.to_string()),
        })?;
        self.put_scaling_policy(key, policy_name, dl, |put| {
            put.policy_type(aas::types::PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(sdk_config.clone())
        })
        .await?;
        Ok(())
    }

    /// PutScalingPolicy on `key`, its type and configuration set by `configure` (target
    /// tracking, or the wake step policy); the policy's ARN.
    pub(crate) async fn put_scaling_policy(
        &self,
        key: &TargetKey,
        policy_name: &str,
        dl: &Deadline,
        configure: impl Fn(
            aas::operation::put_scaling_policy::builders::PutScalingPolicyFluentBuilder,
        ) -> aas::operation::put_scaling_policy::builders::PutScalingPolicyFluentBuilder,
    ) -> Result<String, AwsError> {
        let subject = key.resource_id.as_str();
        let out = call(Op::PutScalingPolicy, subject, dl, || {
            configure(
                self.aas
                    .put_scaling_policy()
                    .service_namespace(NAMESPACE)
                    .resource_id(subject)
                    .scalable_dimension(aas::types::ScalableDimension::from(key.dimension.as_str()))
                    .policy_name(policy_name),
            )
            .send()
        })
        .await?;
        Ok(found(out)
            .map(|o| o.policy_arn().to_string())
            .unwrap_or_default())
    }

    /// DeleteScalingPolicy; a policy already gone is done.
    pub(crate) async fn delete_policy(
        &self,
        key: &TargetKey,
        policy_name: &str,
        dl: &Deadline,
    ) -> Result<(), AwsError> {
        let subject = key.resource_id.as_str();
        call(Op::DeleteScalingPolicy, subject, dl, || {
            self.aas
                .delete_scaling_policy()
                .service_namespace(NAMESPACE)
                .resource_id(subject)
                .scalable_dimension(aas::types::ScalableDimension::from(key.dimension.as_str()))
                .policy_name(policy_name)
                .send()
        })
        .await?;
        Ok(())
    }

    /// DeregisterScalableTarget; a target already gone is done.
    pub(crate) async fn deregister(&self, key: &TargetKey, dl: &Deadline) -> Result<(), AwsError> {
        let subject = key.resource_id.as_str();
        call(Op::DeregisterScalableTarget, subject, dl, || {
            self.aas
                .deregister_scalable_target()
                .service_namespace(NAMESPACE)
                .resource_id(subject)
                .scalable_dimension(aas::types::ScalableDimension::from(key.dimension.as_str()))
                .send()
        })
        .await?;
        Ok(())
    }

    /// Every SageMaker scalable target in the account and region (the sweep), 50 a page.
    pub async fn all_targets(&self, dl: &Deadline) -> Result<Vec<CurrentTarget>, AwsError> {
        let targets = all_pages(|token| async move {
            let out = call(Op::DescribeScalableTargets, "sagemaker", dl, || {
                self.aas
                    .describe_scalable_targets()
                    .service_namespace(NAMESPACE)
                    .max_results(50)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .scalable_targets()
                    .iter()
                    .filter_map(current_target)
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(targets.unwrap_or_default())
    }

    /// PutScalingPolicy for the wake step policy; the policy's ARN, which the alarm names.
    pub async fn put_step_policy(
        &self,
        key: &TargetKey,
        policy_name: &str,
        config: &StepScaling,
        dl: &Deadline,
    ) -> Result<String, AwsError> {
        let sdk = step_to_sdk(config);
        self.put_scaling_policy(key, policy_name, dl, |put| {
            put.policy_type(aas::types::PolicyType::StepScaling)
                .step_scaling_policy_configuration(sdk.clone())
        })
        .await
    }
}

/// AWS's answer to `Tags` on a `RegisterScalableTarget` for a target that already exists.
fn target_exists(failure: &Fault) -> bool {
    matches!(failure, Fault::Service { code: Some(code), message: Some(message), .. }
        if code == "ValidationException" && message.contains("already exists"))
}

/// A scalable target as AAS describes it; `None` for a dimension that is not SageMaker's.
fn current_target(t: &aas::types::ScalableTarget) -> Option<CurrentTarget> {
    Some(CurrentTarget {
        key: TargetKey {
            resource_id: t.resource_id().to_string(),
            dimension: Dimension::parse(t.scalable_dimension().as_str())?,
        },
        min_capacity: t.min_capacity(),
        max_capacity: t.max_capacity(),
        suspended: t.suspended_state().is_some_and(|s| {
            s.dynamic_scaling_in_suspended() == Some(true)
                || s.dynamic_scaling_out_suspended() == Some(true)
        }),
        arn: t.scalable_target_arn().map(str::to_string),
        owned: None,
    })
}

/// A scaling policy as AAS describes it; `None` for a dimension that is not SageMaker's.
fn current_policy(p: &aas::types::ScalingPolicy) -> Option<CurrentPolicy> {
    Some(CurrentPolicy {
        key: TargetKey {
            resource_id: p.resource_id().to_string(),
            dimension: Dimension::parse(p.scalable_dimension().as_str())?,
        },
        name: p.policy_name().to_string(),
        target_tracking: p
            .target_tracking_scaling_policy_configuration()
            .map(from_sdk),
        step: p.step_scaling_policy_configuration().map(step_from_sdk),
        arn: Some(p.policy_arn().to_string()).filter(|a| !a.is_empty()),
    })
}

type SdkConfig = aas::types::TargetTrackingScalingPolicyConfiguration;

/// scaletag's policy configuration as the SDK type. Every part the SDK cannot build is an
/// error, never a part silently left out.
pub fn to_sdk(c: &TargetTracking) -> Result<SdkConfig, aas::error::BuildError> {
    use aas::types as t;
    let predefined = c
        .predefined_metric_specification
        .as_ref()
        .map(|p| {
            t::PredefinedMetricSpecification::builder()
                .predefined_metric_type(t::MetricType::from(p.predefined_metric_type.as_str()))
                .set_resource_label(p.resource_label.clone())
                .build()
        })
        .transpose()?;
    let customized = c
        .customized_metric_specification
        .as_ref()
        .map(customized_to_sdk)
        .transpose()?;
    SdkConfig::builder()
        .target_value(c.target_value)
        .set_predefined_metric_specification(predefined)
        .set_customized_metric_specification(customized)
        .set_scale_in_cooldown(c.scale_in_cooldown)
        .set_scale_out_cooldown(c.scale_out_cooldown)
        .set_disable_scale_in(c.disable_scale_in)
        .build()
}

fn customized_to_sdk(
    m: &policy::CustomizedMetric,
) -> Result<aas::types::CustomizedMetricSpecification, aas::error::BuildError> {
    use aas::types as t;
    let dimensions = m
        .dimensions
        .as_ref()
        .map(|d| {
            d.iter()
                .map(|d| {
                    t::MetricDimension::builder()
                        .name(&d.name)
                        .value(&d.value)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let metrics = m
        .metrics
        .as_ref()
        .map(|qs| qs.iter().map(query_to_sdk).collect::<Result<Vec<_>, _>>())
        .transpose()?;
    Ok(t::CustomizedMetricSpecification::builder()
        .set_metric_name(m.metric_name.clone())
        .set_namespace(m.namespace.clone())
        .set_dimensions(dimensions)
        .set_statistic(m.statistic.as_deref().map(t::MetricStatistic::from))
        .set_unit(m.unit.clone())
        .set_metrics(metrics)
        .build())
}

fn query_to_sdk(
    q: &policy::MetricQuery,
) -> Result<aas::types::TargetTrackingMetricDataQuery, aas::error::BuildError> {
    use aas::types as t;
    let stat = q
        .metric_stat
        .as_ref()
        .map(|s| {
            let dimensions = s
                .metric
                .dimensions
                .as_ref()
                .map(|d| {
                    d.iter()
                        .map(|d| {
                            t::TargetTrackingMetricDimension::builder()
                                .name(&d.name)
                                .value(&d.value)
                                .build()
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            let metric = t::TargetTrackingMetric::builder()
                .set_metric_name(s.metric.metric_name.clone())
                .set_namespace(s.metric.namespace.clone())
                .set_dimensions(dimensions)
                .build();
            t::TargetTrackingMetricStat::builder()
                .metric(metric)
                .stat(&s.stat)
                .set_unit(s.unit.clone())
                .build()
        })
        .transpose()?;
    t::TargetTrackingMetricDataQuery::builder()
        .id(&q.id)
        .set_expression(q.expression.clone())
        .set_label(q.label.clone())
        .set_return_data(q.return_data)
        .set_metric_stat(stat)
        .build()
}

/// A described policy configuration in scaletag's form, for comparison.
pub fn from_sdk(c: &SdkConfig) -> TargetTracking {
    let dims = |d: &[aas::types::MetricDimension]| {
        (!d.is_empty()).then(|| {
            d.iter()
                .map(|d| policy::MetricDimension {
                    name: d.name().to_string(),
                    value: d.value().to_string(),
                })
                .collect()
        })
    };
    TargetTracking {
        target_value: c.target_value(),
        predefined_metric_specification: c.predefined_metric_specification().map(|p| {
            policy::PredefinedMetric {
                predefined_metric_type: p.predefined_metric_type().as_str().to_string(),
                resource_label: p.resource_label().map(str::to_string),
            }
        }),
        customized_metric_specification: c.customized_metric_specification().map(|m| {
            policy::CustomizedMetric {
                metric_name: m.metric_name().map(str::to_string),
                namespace: m.namespace().map(str::to_string),
                dimensions: dims(m.dimensions()),
                statistic: m.statistic().map(|s| s.as_str().to_string()),
                unit: m.unit().map(str::to_string),
                metrics: (!m.metrics().is_empty())
                    .then(|| m.metrics().iter().map(query_from_sdk).collect()),
            }
        }),
        scale_out_cooldown: c.scale_out_cooldown(),
        scale_in_cooldown: c.scale_in_cooldown(),
        disable_scale_in: c.disable_scale_in(),
    }
}

fn query_from_sdk(q: &aas::types::TargetTrackingMetricDataQuery) -> policy::MetricQuery {
    policy::MetricQuery {
        id: q.id().to_string(),
        expression: q.expression().map(str::to_string),
        label: q.label().map(str::to_string),
        return_data: q.return_data(),
        metric_stat: q.metric_stat().map(|s| {
            let metric = s.metric();
            policy::MetricStat {
                metric: policy::Metric {
                    metric_name: metric.and_then(|m| m.metric_name()).map(str::to_string),
                    namespace: metric.and_then(|m| m.namespace()).map(str::to_string),
                    dimensions: metric.and_then(|m| {
                        (!m.dimensions().is_empty()).then(|| {
                            m.dimensions()
                                .iter()
                                .map(|d| policy::MetricDimension {
                                    name: d.name().to_string(),
                                    value: d.value().to_string(),
                                })
                                .collect()
                        })
                    }),
                },
                stat: s.stat().to_string(),
                unit: s.unit().map(str::to_string),
            }
        }),
    }
}

/// A step policy's configuration as AAS describes it.
pub fn step_from_sdk(c: &aas::types::StepScalingPolicyConfiguration) -> crate::wake::StepScaling {
    crate::wake::StepScaling {
        adjustment_type: c
            .adjustment_type()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        metric_aggregation_type: c
            .metric_aggregation_type()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        cooldown: c.cooldown().unwrap_or_default(),
        step_adjustments: c
            .step_adjustments()
            .iter()
            .map(|s| crate::wake::StepAdjustment {
                metric_interval_lower_bound: s.metric_interval_lower_bound(),
                metric_interval_upper_bound: s.metric_interval_upper_bound(),
                scaling_adjustment: s.scaling_adjustment(),
            })
            .collect(),
    }
}

fn step_to_sdk(c: &StepScaling) -> aas::types::StepScalingPolicyConfiguration {
    use aas::types as t;
    t::StepScalingPolicyConfiguration::builder()
        .adjustment_type(t::AdjustmentType::from(c.adjustment_type.as_str()))
        .metric_aggregation_type(t::MetricAggregationType::from(
            c.metric_aggregation_type.as_str(),
        ))
        .cooldown(c.cooldown)
        .set_step_adjustments(Some(
            c.step_adjustments
                .iter()
                .filter_map(|s| {
                    t::StepAdjustment::builder()
                        .set_metric_interval_lower_bound(s.metric_interval_lower_bound)
                        .set_metric_interval_upper_bound(s.metric_interval_upper_bound)
                        .scaling_adjustment(s.scaling_adjustment)
                        .build()
                        .ok()
                })
                .collect(),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn sdk_round_trip_keeps_every_field_of_every_builtin_and_metric_math() {
        let math: TargetTracking = serde_json::from_value(serde_json::json!({
            "TargetValue": 3.5,
            "CustomizedMetricSpecification": {"Metrics": [
                {"Id": "m1", "Label": "inv", "ReturnData": false,
                 "MetricStat": {"Metric": {"MetricName": "Invocations", "Namespace": "AWS/SageMaker",
                   "Dimensions": [{"Name": "EndpointName", "Value": "ep"}]}, "Stat": "Sum", "Unit": "Count"}},
                {"Id": "e1", "Expression": "m1 / 60", "ReturnData": true}
            ]},
            "ScaleInCooldown": 1, "ScaleOutCooldown": 2, "DisableScaleIn": true
        }))
        .unwrap();
        let mut all: Vec<TargetTracking> = Catalog::builtin()
            .templates()
            .flat_map(|t| t.policies.iter().map(|p| policy::canonical(&p.config)))
            .collect();
        all.push(math);
        for c in all {
            assert_eq!(from_sdk(&to_sdk(&c).unwrap()), c);
        }
    }
}
