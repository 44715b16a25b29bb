//! The thin shell around SageMaker and Application Auto Scaling: reads that build facts and
//! current state, and the four writes. No decisions here beyond translating types.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types::ServiceNamespace;
use aws_sdk_sagemaker as sagemaker;

use crate::desire::{EndpointFacts, VariantFacts, VariantKind};
use crate::diff::{Action, CurrentPolicy, CurrentTarget, OWNER_TAG, TargetKey};
use crate::policy::{self, Dimension, TargetTracking};
use crate::retry::{AwsError, Called, Deadline, Fault, Op, call};

/// SDK clients, built once per process and shared across invocations.
#[derive(Clone, Debug)]
pub struct Aws {
    pub sagemaker: sagemaker::Client,
    pub aas: aas::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// For the re-check queue of inference components that are still settling.
    pub sqs: aws_sdk_sqs::Client,
}

impl Aws {
    /// The three clients, from one loaded configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Aws {
        Aws {
            sagemaker: sagemaker::Client::new(config),
            aas: aas::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
        }
    }
}

/// DescribeEndpoint, as far as scaletag needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub config_name: String,
    /// Variant name and, for serverless variants, `Some(provisioned concurrency)`.
    pub variants: Vec<(String, Option<Option<i32>>)>,
}

impl Described {
    /// The endpoint as the decision sees it, given the instance types from its config (none
    /// yet, before DescribeEndpointConfig).
    pub fn endpoint_facts(&self, instance_types: &HashMap<String, String>) -> EndpointFacts {
        EndpointFacts {
            name: self.name.clone(),
            variants: self.facts(instance_types),
        }
    }

    /// The variants' facts, given the instance types from the endpoint config.
    pub fn facts(&self, instance_types: &HashMap<String, String>) -> Vec<VariantFacts> {
        self.variants
            .iter()
            .map(|(name, serverless)| VariantFacts {
                name: name.clone(),
                kind: match serverless {
                    Some(pc) => VariantKind::Serverless {
                        provisioned_concurrency: *pc,
                    },
                    None => VariantKind::Instances {
                        instance_type: instance_types.get(name).cloned(),
                    },
                },
            })
            .collect()
    }
}

pub(crate) const NAMESPACE: ServiceNamespace = ServiceNamespace::Sagemaker;

/// The token for the next page; `None` when done (or when a service repeats its token).
pub(crate) fn next_page(current: &Option<String>, next: Option<&str>) -> Option<String> {
    next.filter(|t| !t.is_empty() && current.as_deref() != Some(*t))
        .map(str::to_string)
}

/// Every page of a listing. `page(token)` fetches one page: its items and the next token, or
/// `None` when the resource is not there. `None` when the first page finds nothing.
pub(crate) async fn all_pages<T, Fut>(
    mut page: impl FnMut(Option<String>) -> Fut,
) -> Result<Option<Vec<T>>, AwsError>
where
    Fut: std::future::Future<Output = Result<Option<(Vec<T>, Option<String>)>, AwsError>>,
{
    let mut items: Option<Vec<T>> = None;
    let mut token: Option<String> = None;
    loop {
        let Some((mut got, next)) = page(token.clone()).await? else {
            return Ok(items);
        };
        items.get_or_insert_with(Vec::new).append(&mut got);
        token = next_page(&token, next.as_deref());
        if token.is_none() {
            return Ok(items);
        }
    }
}

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

pub(crate) fn found<T>(c: Called<T>) -> Option<T> {
    match c {
        Called::Done(t) => Some(t),
        Called::NotFound => None,
    }
}

impl Aws {
    /// `None` when the endpoint does not exist (any more).
    pub async fn describe_endpoint(
        &self,
        name: &str,
        dl: &Deadline,
    ) -> Result<Option<Described>, AwsError> {
        let out = call(Op::DescribeEndpoint, name, dl, || {
            self.sagemaker
                .describe_endpoint()
                .endpoint_name(name)
                .send()
        })
        .await?;
        Ok(found(out).map(|o| Described {
            name: o.endpoint_name().unwrap_or(name).to_string(),
            arn: o.endpoint_arn().unwrap_or_default().to_string(),
            status: o
                .endpoint_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            config_name: o.endpoint_config_name().unwrap_or_default().to_string(),
            // Shadow variants are variants like the others: AAS scales them the same way, and
            // AWS recommends it (docs/aws-behaviour.md §8).
            variants: o
                .production_variants()
                .iter()
                .chain(o.shadow_production_variants())
                .filter_map(|v| {
                    let serverless = v
                        .current_serverless_config()
                        .or(v.desired_serverless_config())
                        .map(|s| s.provisioned_concurrency());
                    Some((v.variant_name()?.to_string(), serverless))
                })
                .collect(),
        }))
    }

    /// Every InService endpoint in the account and region: (name, ARN), following NextToken.
    pub async fn list_in_service_endpoints(
        &self,
        dl: &Deadline,
    ) -> Result<Vec<(String, String)>, AwsError> {
        let endpoints = all_pages(|token| async move {
            let out = call(Op::ListEndpoints, "the account", dl, || {
                self.sagemaker
                    .list_endpoints()
                    .status_equals(sagemaker::types::EndpointStatus::InService)
                    .max_results(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .endpoints()
                    .iter()
                    .filter_map(|e| {
                        Some((
                            e.endpoint_name()?.to_string(),
                            e.endpoint_arn()?.to_string(),
                        ))
                    })
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(endpoints.unwrap_or_default())
    }

    /// Variant name → instance type, from the endpoint's current config.
    pub async fn instance_types(
        &self,
        config_name: &str,
        dl: &Deadline,
    ) -> Result<HashMap<String, String>, AwsError> {
        if config_name.is_empty() {
            return Ok(HashMap::new());
        }
        let out = call(Op::DescribeEndpointConfig, config_name, dl, || {
            self.sagemaker
                .describe_endpoint_config()
                .endpoint_config_name(config_name)
                .send()
        })
        .await?;
        Ok(found(out)
            .map(|o| {
                o.production_variants()
                    .iter()
                    .chain(o.shadow_production_variants())
                    .filter_map(|v| {
                        Some((
                            v.variant_name()?.to_string(),
                            v.instance_type()?.as_str().to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// All tags of a resource, following NextToken; `None` when the resource is gone.
    pub async fn list_tags(
        &self,
        arn: &str,
        dl: &Deadline,
    ) -> Result<Option<Vec<(String, String)>>, AwsError> {
        all_pages(|token| async move {
            let out = call(Op::ListTags, arn, dl, || {
                self.sagemaker
                    .list_tags()
                    .resource_arn(arn)
                    .max_results(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_string(),
                            t.value().unwrap_or_default().to_string(),
                        ))
                    })
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await
    }

    /// Sets one tag on a SageMaker resource (scaletag's status tag).
    pub async fn add_tag(
        &self,
        arn: &str,
        key: &str,
        value: &str,
        dl: &Deadline,
    ) -> Result<(), AwsError> {
        call(Op::AddTags, arn, dl, || {
            self.sagemaker
                .add_tags()
                .resource_arn(arn)
                .tags(
                    sagemaker::types::Tag::builder()
                        .key(key)
                        .value(value)
                        .build(),
                )
                .send()
        })
        .await?;
        tracing::info!(
            write = "AddTags",
            resource_arn = arn,
            key,
            value,
            "aws write"
        );
        Ok(())
    }

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

    /// Every scaling policy on one resource id, following NextToken (10 a page).
    pub async fn describe_policies(
        &self,
        resource_id: &str,
        dl: &Deadline,
    ) -> Result<Vec<CurrentPolicy>, AwsError> {
        let policies = all_pages(|token| async move {
            let out = call(Op::DescribeScalingPolicies, resource_id, dl, || {
                self.aas
                    .describe_scaling_policies()
                    .service_namespace(NAMESPACE)
                    .resource_id(resource_id)
                    .max_results(10)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .scaling_policies()
                    .iter()
                    .filter(|p| p.resource_id() == resource_id)
                    .filter_map(current_policy)
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(policies.unwrap_or_default())
    }

    /// Names of the scheduled actions on one resource id, per target.
    pub async fn describe_scheduled_actions(
        &self,
        resource_id: &str,
        dl: &Deadline,
    ) -> Result<Vec<(TargetKey, String)>, AwsError> {
        let actions = all_pages(|token| async move {
            let out = call(Op::DescribeScheduledActions, resource_id, dl, || {
                self.aas
                    .describe_scheduled_actions()
                    .service_namespace(NAMESPACE)
                    .resource_id(resource_id)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .scheduled_actions()
                    .iter()
                    .filter(|a| a.resource_id() == resource_id)
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

    /// Carries out one write. Logs one JSON line per write. `step_arn` is the ARN of the step
    /// policy put earlier in the same change; the ARN of one put now is returned.
    pub async fn apply(
        &self,
        action: &Action,
        step_arn: Option<&str>,
        dl: &Deadline,
    ) -> Result<Option<String>, AwsError> {
        let mut returned = None;
        let key = action.key();
        let subject = key.resource_id.as_str();
        let dimension = || aas::types::ScalableDimension::from(key.dimension.as_str());
        match action {
            Action::RegisterScalableTarget {
                min_capacity,
                max_capacity,
                tags,
                ..
            } => {
                self.register(key, (*min_capacity, *max_capacity), tags.as_ref(), dl)
                    .await?
            }
            Action::PutScalingPolicy {
                policy_name,
                config,
                ..
            } => self.put_policy(key, policy_name, config, dl).await?,
            Action::DeleteScalingPolicy { policy_name, .. } => {
                call(Op::DeleteScalingPolicy, subject, dl, || {
                    self.aas
                        .delete_scaling_policy()
                        .service_namespace(NAMESPACE)
                        .resource_id(subject)
                        .scalable_dimension(dimension())
                        .policy_name(policy_name)
                        .send()
                })
                .await?;
            }
            Action::PutStepScalingPolicy {
                policy_name,
                config,
                ..
            } => {
                returned = Some(self.put_step_policy(key, policy_name, config, dl).await?);
            }
            Action::PutMetricAlarm {
                alarm,
                policy_from_put,
                ..
            } => {
                let mut alarm = alarm.as_ref().clone();
                if *policy_from_put {
                    alarm.alarm_actions = step_arn.map(str::to_string).into_iter().collect();
                }
                self.put_alarm(&alarm, dl).await?
            }
            Action::DeleteAlarm { alarm_name, .. } => self.delete_alarm(alarm_name, dl).await?,
            Action::DeregisterScalableTarget { .. } => {
                call(Op::DeregisterScalableTarget, subject, dl, || {
                    self.aas
                        .deregister_scalable_target()
                        .service_namespace(NAMESPACE)
                        .resource_id(subject)
                        .scalable_dimension(dimension())
                        .send()
                })
                .await?;
            }
        }
        let detail = serde_json::to_string(&action.request()).unwrap_or_default();
        tracing::info!(
            write = action.name(),
            resource_id = subject,
            dimension = key.dimension.as_str(),
            request = detail.as_str(),
            "aws write"
        );
        Ok(returned)
    }

    /// RegisterScalableTarget with these bounds, and `tags` when it creates the target.
    async fn register(
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
            op: Op::PutScalingPolicy.name(),
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
