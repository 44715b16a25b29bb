//! The clients, built once, and the one place a decided write is carried out ([`Aws::apply`]).
//! Each AWS service's reads and writes live in a module of its own (`sagemaker`,
//! `autoscaling`, `cloudwatch`, `sqs`, `tagging`), each `impl Aws` translating types only: no decision
//! is made in the shell.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types::ServiceNamespace;
use aws_sdk_sagemaker as sagemaker;

use crate::diff::Action;
use crate::retry::{AwsError, Called, Deadline};

/// SDK clients, built once per process and shared across invocations.
#[derive(Clone, Debug)]
pub struct Aws {
    pub sagemaker: sagemaker::Client,
    pub aas: aas::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// For the re-check queue of inference components that are still settling.
    pub sqs: aws_sdk_sqs::Client,
    /// The Resource Groups Tagging API: every resource's tags in bulk, for the sweep.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// What was read of each endpoint config, kept for the life of the process.
    pub configs: Configs,
}

/// Endpoint config name → variant name → instance type. An endpoint config never changes
/// once created, so what was read of one stays true; shared by every clone of [`Aws`].
#[derive(Clone, Debug, Default)]
pub struct Configs(Arc<Mutex<HashMap<String, HashMap<String, String>>>>);

impl Configs {
    pub fn get(&self, config_name: &str) -> Option<HashMap<String, String>> {
        let known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        known.get(config_name).cloned()
    }

    pub fn put(&self, config_name: &str, instance_types: &HashMap<String, String>) {
        let mut known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        known.insert(config_name.to_string(), instance_types.clone());
    }
}

impl Aws {
    /// The clients, from one loaded configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Aws {
        Aws {
            sagemaker: sagemaker::Client::new(config),
            aas: aas::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            configs: Configs::default(),
        }
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

pub(crate) fn found<T>(c: Called<T>) -> Option<T> {
    match c {
        Called::Done(t) => Some(t),
        Called::NotFound => None,
    }
}

impl Aws {
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
                self.delete_policy(key, policy_name, dl).await?
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
            Action::DeregisterScalableTarget { .. } => self.deregister(key, dl).await?,
        }
        let detail = serde_json::to_string(&action.request()).unwrap_or_default();
        tracing::info!(
            write = action.name(),
            resource_id = key.resource_id.as_str(),
            dimension = key.dimension.as_str(),
            request = detail.as_str(),
            "aws write"
        );
        Ok(returned)
    }
}
