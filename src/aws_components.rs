//! The shell for inference components (ICs): SageMaker's IC reads, the wake-from-zero step
//! policy, and CloudWatch's alarms. Translation only, like `aws`.

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_cloudwatch as cw;

use crate::aws::{Aws, NAMESPACE, all_pages, found};
use crate::component::ComponentFacts;
use crate::diff::TargetKey;
use crate::event::Recheck;
use crate::retry::{AwsError, Deadline, Op, call};
use crate::wake::{self, Alarm, StepScaling};

/// DescribeInferenceComponent, as far as scaletag needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedComponent {
    pub arn: String,
    pub facts: ComponentFacts,
}

/// One IC of a listing: name, ARN, endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedComponent {
    pub name: String,
    pub arn: String,
    pub endpoint: String,
}

impl Aws {
    /// `None` when the IC does not exist (any more).
    pub async fn describe_component(
        &self,
        name: &str,
        dl: &Deadline,
    ) -> Result<Option<DescribedComponent>, AwsError> {
        let out = call(Op::DescribeInferenceComponent, name, dl, || {
            self.sagemaker
                .describe_inference_component()
                .inference_component_name(name)
                .send()
        })
        .await?;
        Ok(found(out).map(|o| DescribedComponent {
            arn: o.inference_component_arn().unwrap_or_default().to_string(),
            facts: ComponentFacts {
                name: o.inference_component_name().unwrap_or(name).to_string(),
                endpoint: o.endpoint_name().unwrap_or_default().to_string(),
                variant: o.variant_name().unwrap_or_default().to_string(),
                status: o
                    .inference_component_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                min_instances: None,
            },
        }))
    }

    /// The ICs of the account and region, or of one endpoint, following NextToken.
    pub async fn list_components(
        &self,
        endpoint: Option<&str>,
        dl: &Deadline,
    ) -> Result<Vec<ListedComponent>, AwsError> {
        let listed = all_pages(|token| async move {
            let out = call(
                Op::ListInferenceComponents,
                endpoint.unwrap_or("*"),
                dl,
                || {
                    self.sagemaker
                        .list_inference_components()
                        .set_endpoint_name_equals(endpoint.map(str::to_string))
                        .max_results(100)
                        .set_next_token(token.clone())
                        .send()
                },
            )
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .inference_components()
                    .iter()
                    .filter_map(|c| {
                        Some(ListedComponent {
                            name: c.inference_component_name()?.to_string(),
                            arn: c.inference_component_arn().unwrap_or_default().to_string(),
                            endpoint: c.endpoint_name().unwrap_or_default().to_string(),
                        })
                    })
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(listed.unwrap_or_default())
    }

    /// `ManagedInstanceScaling.MinInstanceCount` of one variant of an endpoint, from
    /// DescribeEndpoint; `None` when the endpoint, the variant or the setting is not there.
    pub async fn min_instances(
        &self,
        endpoint: &str,
        variant: &str,
        dl: &Deadline,
    ) -> Result<Option<i32>, AwsError> {
        let out = call(Op::DescribeEndpoint, endpoint, dl, || {
            self.sagemaker
                .describe_endpoint()
                .endpoint_name(endpoint)
                .send()
        })
        .await?;
        Ok(found(out).and_then(|o| {
            o.production_variants()
                .iter()
                .find(|v| v.variant_name() == Some(variant))
                .and_then(|v| v.managed_instance_scaling())
                .and_then(|m| m.min_instance_count())
        }))
    }

    /// scaletag's wake alarms: the one of `component`, or (`None`) all of them.
    pub async fn describe_alarms(
        &self,
        component: Option<&str>,
        dl: &Deadline,
    ) -> Result<Vec<Alarm>, AwsError> {
        let subject =
            component.map_or_else(|| format!("{}*", wake::ALARM_PREFIX), wake::alarm_name);
        let subject = subject.as_str();
        let alarms = all_pages(|token| async move {
            let out = call(Op::DescribeAlarms, subject, dl, || {
                let request = self
                    .cloudwatch
                    .describe_alarms()
                    .alarm_types(cw::types::AlarmType::MetricAlarm)
                    .set_next_token(token.clone());
                match component {
                    Some(c) => request.alarm_names(wake::alarm_name(c)),
                    None => request
                        .alarm_name_prefix(wake::ALARM_PREFIX)
                        .max_records(100),
                }
                .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .metric_alarms()
                    .iter()
                    .filter_map(alarm_from_sdk)
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(alarms.unwrap_or_default())
    }

    pub async fn put_alarm(&self, alarm: &Alarm, dl: &Deadline) -> Result<(), AwsError> {
        let name = alarm.alarm_name.as_str();
        call(Op::PutMetricAlarm, name, dl, || {
            self.cloudwatch
                .put_metric_alarm()
                .alarm_name(name)
                .alarm_description(&alarm.alarm_description)
                .actions_enabled(true)
                .set_alarm_actions(Some(alarm.alarm_actions.clone()))
                .namespace(&alarm.namespace)
                .metric_name(&alarm.metric_name)
                .dimensions(
                    cw::types::Dimension::builder()
                        .name("InferenceComponentName")
                        .value(&alarm.component)
                        .build(),
                )
                .statistic(cw::types::Statistic::from(alarm.statistic.as_str()))
                .period(alarm.period)
                .evaluation_periods(alarm.evaluation_periods)
                .datapoints_to_alarm(alarm.datapoints_to_alarm)
                .threshold(alarm.threshold)
                .comparison_operator(cw::types::ComparisonOperator::from(
                    alarm.comparison_operator.as_str(),
                ))
                .treat_missing_data(&alarm.treat_missing_data)
                .send()
        })
        .await?;
        Ok(())
    }

    pub async fn delete_alarm(&self, name: &str, dl: &Deadline) -> Result<(), AwsError> {
        call(Op::DeleteAlarms, name, dl, || {
            self.cloudwatch.delete_alarms().alarm_names(name).send()
        })
        .await?;
        Ok(())
    }

    /// The resource ids of every scalable target on an IC in the account and region.
    pub async fn component_targets(&self, dl: &Deadline) -> Result<Vec<String>, AwsError> {
        let ids = all_pages(|token| async move {
            let out = call(
                Op::DescribeScalableTargets,
                "inference-component/*",
                dl,
                || {
                    self.aas
                        .describe_scalable_targets()
                        .service_namespace(NAMESPACE)
                        .max_results(50)
                        .set_next_token(token.clone())
                        .send()
                },
            )
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .scalable_targets()
                    .iter()
                    .map(|t| t.resource_id())
                    .filter(|id| id.starts_with("inference-component/"))
                    .map(str::to_string)
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(ids.unwrap_or_default())
    }

    /// Asks for another look at an IC after `delay_seconds` (at most 900, SQS's limit).
    pub async fn send_recheck(
        &self,
        queue_url: &str,
        recheck: &Recheck,
        delay_seconds: i32,
        dl: &Deadline,
    ) -> Result<(), AwsError> {
        let body = serde_json::to_string(recheck).unwrap_or_default();
        call(Op::SendMessage, &recheck.inference_component, dl, || {
            self.sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(&body)
                .delay_seconds(delay_seconds.clamp(0, 900))
                .send()
        })
        .await?;
        Ok(())
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

/// One of scaletag's alarms as CloudWatch describes it; other alarms are not scaletag's.
fn alarm_from_sdk(a: &cw::types::MetricAlarm) -> Option<Alarm> {
    let name = a.alarm_name()?;
    let component = wake::component_of_alarm(name)?;
    Some(Alarm {
        alarm_name: name.to_string(),
        alarm_description: a.alarm_description().unwrap_or_default().to_string(),
        namespace: a.namespace().unwrap_or_default().to_string(),
        metric_name: a.metric_name().unwrap_or_default().to_string(),
        component: a
            .dimensions()
            .iter()
            .find(|d| d.name() == Some("InferenceComponentName"))
            .and_then(|d| d.value())
            .unwrap_or(component)
            .to_string(),
        statistic: a
            .statistic()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        period: a.period().unwrap_or_default(),
        evaluation_periods: a.evaluation_periods().unwrap_or_default(),
        datapoints_to_alarm: a.datapoints_to_alarm().unwrap_or_default(),
        threshold: a.threshold().unwrap_or_default(),
        comparison_operator: a
            .comparison_operator()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_string(),
        alarm_actions: a.alarm_actions().to_vec(),
    })
}
