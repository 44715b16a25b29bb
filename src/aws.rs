//! The clients, built once, and the one place a decided write is carried out ([`Aws::apply`]).
//! Each AWS service's reads and writes live in a module of its own (`sagemaker`,
//! `autoscaling`, `cloudwatch`, `sqs`, `tagging`), each `impl Aws` translating types only: no decision
//! is made in the shell.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, OnceLock};

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types::ServiceNamespace;
use aws_sdk_sagemaker as sagemaker;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;

use crate::diff::Action;
use crate::retry::{AwsError, Called, Deadline};

/// SDK clients, built once per process and shared across invocations. SageMaker's and
/// Application Auto Scaling's serve every invocation and are built at start-up; the others
/// (CloudWatch, SQS, the Tagging API) are built the first time one is needed, since many
/// processes never need them.
#[derive(Clone, Debug)]
pub struct Aws {
    pub sagemaker: sagemaker::Client,
    pub aas: aas::Client,
    later: Arc<Later>,
    /// What was read of each endpoint config, kept for the life of the process.
    pub configs: Configs,
}

/// The clients built on first use, and the configuration they are built from.
#[derive(Debug)]
struct Later {
    config: aws_config::SdkConfig,
    cloudwatch: OnceLock<aws_sdk_cloudwatch::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    tagging: OnceLock<aws_sdk_resourcegroupstagging::Client>,
}

impl Aws {
    /// The clients, from one loaded configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Aws {
        Aws::with(
            sagemaker::Client::new(config),
            aas::Client::new(config),
            config,
        )
    }

    /// With these SageMaker and AAS clients; the others are built from `config` when needed.
    pub fn with(
        sagemaker: sagemaker::Client,
        aas: aas::Client,
        config: &aws_config::SdkConfig,
    ) -> Aws {
        Aws {
            sagemaker,
            aas,
            later: Arc::new(Later {
                config: config.clone(),
                cloudwatch: OnceLock::new(),
                sqs: OnceLock::new(),
                tagging: OnceLock::new(),
            }),
            configs: Configs::default(),
        }
    }

    pub fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        let later = &self.later;
        later
            .cloudwatch
            .get_or_init(|| aws_sdk_cloudwatch::Client::new(&later.config))
    }

    /// For the re-check queue of inference components that are still settling.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        let later = &self.later;
        later
            .sqs
            .get_or_init(|| aws_sdk_sqs::Client::new(&later.config))
    }

    /// The Resource Groups Tagging API: every resource's tags in bulk, for the sweep.
    pub fn tagging(&self) -> &aws_sdk_resourcegroupstagging::Client {
        let later = &self.later;
        later
            .tagging
            .get_or_init(|| aws_sdk_resourcegroupstagging::Client::new(&later.config))
    }
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

/// One HTTP client for every SDK client of the process: the SDK's default (hyper and rustls
/// with aws-lc, the proxy from the environment), whose TLS set-up is checked once at start-up
/// rather than once per SDK client. Each SDK client built with its own default client parses
/// the CA bundle into a fresh root store when it is built (docs/performance.md, start-up).
pub fn http_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    let inner = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    SharedHttpClient::new(CheckedOnce {
        inner,
        checked: Once::new(),
    })
}

/// An HTTP client whose base-config check (which builds a TLS connector and drops it) runs
/// for the first SDK client only.
#[derive(Debug)]
struct CheckedOnce {
    inner: SharedHttpClient,
    checked: Once,
}

impl HttpClient for CheckedOnce {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        let mut result = Ok(());
        self.checked.call_once(|| {
            result = self.inner.validate_base_client_config(components, cfg);
        });
        result
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
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
