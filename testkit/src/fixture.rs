//! Sets up and reads AWS state in moto directly (not through the proxy, so it is not counted).

use std::time::Duration;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_sagemaker as sagemaker;
use serde_json::Value;

use super::{Function, Proxy, REGION, RuntimeApi, moto_port};

pub enum Variant {
    Instances(&'static str, &'static str),
    Serverless(&'static str, Option<i32>),
    /// A shadow variant on instances (ShadowProductionVariants).
    Shadow(&'static str, &'static str),
    /// A variant on instances of an asynchronous endpoint: the config gets
    /// `AsyncInferenceConfig`.
    Async(&'static str, &'static str),
}

/// What AAS holds for an endpoint, in a form tests can compare.
#[derive(Debug, Clone, PartialEq)]
pub struct AasState {
    /// (resource id, dimension, min, max)
    pub targets: Vec<(String, String, i32, i32)>,
    /// (resource id, policy name, target-tracking configuration as JSON)
    pub policies: Vec<(String, String, Value)>,
}

impl AasState {
    pub fn policy_names(&self) -> Vec<&str> {
        self.policies.iter().map(|p| p.1.as_str()).collect()
    }
}

pub struct Fixture {
    pub rt: tokio::runtime::Runtime,
    pub sm: sagemaker::Client,
    pub aas: aas::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// moto's port, for the stand-in's control routes.
    pub port: u16,
}

impl Fixture {
    pub fn new(port: u16) -> Fixture {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(format!("http://127.0.0.1:{port}"))
                .region(aws_config::Region::new(REGION))
                .credentials_provider(sagemaker::config::Credentials::for_tests())
                .load(),
        );
        Fixture {
            sm: sagemaker::Client::new(&config),
            aas: aas::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            port,
            rt,
        }
    }

    /// Creates a model, an endpoint config and an endpoint with `tags`; returns the ARN.
    pub fn create_endpoint(
        &self,
        name: &str,
        variants: &[Variant],
        tags: &[(&str, &str)],
    ) -> String {
        use sagemaker::types as t;
        self.rt.block_on(async {
            self.model(&format!("{name}-model")).await;
            let pv = |v: &Variant| match v {
                Variant::Instances(n, ty) | Variant::Shadow(n, ty) | Variant::Async(n, ty) => {
                    t::ProductionVariant::builder()
                        .variant_name(*n)
                        .model_name(format!("{name}-model"))
                        .instance_type(t::ProductionVariantInstanceType::from(*ty))
                        .initial_instance_count(1)
                        .initial_variant_weight(1.0)
                        .build()
                }
                Variant::Serverless(n, pc) => t::ProductionVariant::builder()
                    .variant_name(*n)
                    .model_name(format!("{name}-model"))
                    .serverless_config(
                        t::ProductionVariantServerlessConfig::builder()
                            .memory_size_in_mb(2048)
                            .max_concurrency(20)
                            .set_provisioned_concurrency(*pc)
                            .build(),
                    )
                    .build(),
            };
            let (shadows, pvs): (Vec<&Variant>, Vec<&Variant>) = variants
                .iter()
                .partition(|v| matches!(v, Variant::Shadow(..)));
            let shadows: Vec<t::ProductionVariant> = shadows.into_iter().map(pv).collect();
            let queue = variants
                .iter()
                .any(|v| matches!(v, Variant::Async(..)))
                .then(|| {
                    t::AsyncInferenceConfig::builder()
                        .output_config(
                            t::AsyncInferenceOutputConfig::builder()
                                .s3_output_path("s3://scaletag-test/async-out")
                                .build(),
                        )
                        .build()
                });
            self.sm
                .create_endpoint_config()
                .endpoint_config_name(format!("{name}-config"))
                .set_production_variants(Some(pvs.into_iter().map(pv).collect()))
                .set_shadow_production_variants((!shadows.is_empty()).then_some(shadows))
                .set_async_inference_config(queue)
                .send()
                .await
                .expect("create endpoint config");
            let out = self
                .sm
                .create_endpoint()
                .endpoint_name(name)
                .endpoint_config_name(format!("{name}-config"))
                .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
                .send()
                .await
                .expect("create endpoint");
            out.endpoint_arn().expect("arn").to_string()
        })
    }

    /// A SageMaker model named `name` (what variants and inference components serve).
    pub(crate) async fn model(&self, name: &str) {
        self.sm
            .create_model()
            .model_name(name)
            .execution_role_arn("arn:aws:iam::123456789012:role/sagemaker")
            .primary_container(
                sagemaker::types::ContainerDefinition::builder()
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1")
                    .build(),
            )
            .send()
            .await
            .expect("create model");
    }

    /// Replaces every tag of the resource but scaletag's own status tag, as a user retagging
    /// it (or a stack update of the tags it declares) does.
    pub fn set_tags(&self, arn: &str, tags: &[(&str, &str)]) {
        self.rt.block_on(async {
            let old = self
                .sm
                .list_tags()
                .resource_arn(arn)
                .send()
                .await
                .expect("list tags");
            let keys: Vec<String> = old
                .tags()
                .iter()
                .filter_map(|t| t.key().map(str::to_string))
                .filter(|k| !k.ends_with(":status"))
                .collect();
            if !keys.is_empty() {
                self.sm
                    .delete_tags()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .expect("delete tags");
            }
            if !tags.is_empty() {
                self.sm
                    .add_tags()
                    .resource_arn(arn)
                    .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
                    .send()
                    .await
                    .expect("add tags");
            }
        })
    }

    /// The value of scaletag's status tag on a resource, if it has one.
    pub fn status(&self, arn: &str) -> Option<String> {
        self.rt.block_on(async {
            let tags = self
                .sm
                .list_tags()
                .resource_arn(arn)
                .send()
                .await
                .expect("list tags");
            tags.tags()
                .iter()
                .find(|t| t.key() == Some("autoscaling:status"))
                .and_then(|t| t.value().map(str::to_string))
        })
    }

    pub fn delete_endpoint(&self, name: &str) {
        self.rt.block_on(async {
            self.sm
                .delete_endpoint()
                .endpoint_name(name)
                .send()
                .await
                .expect("delete endpoint");
        })
    }

    pub fn state(&self, endpoint: &str) -> AasState {
        let prefix = format!("endpoint/{endpoint}/variant/");
        self.state_where(|id| id.starts_with(&prefix))
    }

    /// What AAS holds on the resource ids `keep` accepts; a step policy's configuration
    /// appears as its JSON, like a target-tracking one.
    pub fn state_where(&self, keep: impl Fn(&str) -> bool) -> AasState {
        self.rt.block_on(async {
            // Every page: the server is shared by a test file's tests.
            let targets: Vec<_> = self
                .aas
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Sagemaker)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect("describe targets");
            let policies: Vec<_> = self
                .aas
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Sagemaker)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect("describe policies");
            let mut state = AasState {
                targets: targets
                    .iter()
                    .filter(|t| keep(t.resource_id()))
                    .map(|t| {
                        (
                            t.resource_id().to_string(),
                            t.scalable_dimension().as_str().to_string(),
                            t.min_capacity(),
                            t.max_capacity(),
                        )
                    })
                    .collect(),
                policies: policies
                    .iter()
                    .filter(|p| keep(p.resource_id()))
                    .map(|p| {
                        let config = match (
                            p.target_tracking_scaling_policy_configuration(),
                            p.step_scaling_policy_configuration(),
                        ) {
                            (Some(c), _) => {
                                serde_json::to_value(scaletag::autoscaling::from_sdk(c))
                            }
                            (None, Some(c)) => {
                                serde_json::to_value(scaletag::autoscaling::step_from_sdk(c))
                            }
                            (None, None) => Ok(Value::Null),
                        };
                        (
                            p.resource_id().to_string(),
                            p.policy_name().to_string(),
                            config.expect("json"),
                        )
                    })
                    .collect(),
            };
            state.targets.sort_by(|a, b| a.0.cmp(&b.0));
            state
                .policies
                .sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            state
        })
    }

    pub fn register(&self, resource_id: &str, min: i32, max: i32) {
        self.rt.block_on(async {
            self.aas
                .register_scalable_target()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                .min_capacity(min)
                .max_capacity(max)
                .send()
                .await
                .expect("register");
        })
    }

    /// A scheduled action on a variant's instance count, as an operator would put one.
    pub fn schedule(&self, resource_id: &str, name: &str, min: i32, max: i32) {
        use aas::types as t;
        self.rt.block_on(async {
            self.aas
                .put_scheduled_action()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                .scheduled_action_name(name)
                .schedule("cron(0 8 ? * MON-FRI *)")
                .scalable_target_action(
                    t::ScalableTargetAction::builder()
                        .min_capacity(min)
                        .max_capacity(max)
                        .build(),
                )
                .send()
                .await
                .expect("put scheduled action");
        })
    }

    /// The tags on a variant's scalable target (`None`: no target, or one without an ARN).
    pub fn target_tags(&self, resource_id: &str) -> Option<Vec<(String, String)>> {
        self.rt.block_on(async {
            let out = self
                .aas
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_ids(resource_id)
                .send()
                .await
                .expect("describe targets");
            let arn = out
                .scalable_targets()
                .iter()
                .find(|t| t.resource_id() == resource_id)?
                .scalable_target_arn()?
                .to_string();
            let tags = self
                .aas
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .expect("list target tags");
            let mut tags: Vec<(String, String)> = tags
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            tags.sort();
            Some(tags)
        })
    }

    /// Puts a target-tracking policy as a person or another tool would.
    pub fn put_policy(&self, resource_id: &str, name: &str, target_value: f64) {
        use aas::types as t;
        self.rt.block_on(async {
            self.aas
                .put_scaling_policy()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                .policy_name(name)
                .policy_type(t::PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(
                    t::TargetTrackingScalingPolicyConfiguration::builder()
                        .target_value(target_value)
                        .predefined_metric_specification(
                            t::PredefinedMetricSpecification::builder()
                                .predefined_metric_type(
                                    t::MetricType::SageMakerVariantInvocationsPerInstance,
                                )
                                .build()
                                .expect("spec"),
                        )
                        .build()
                        .expect("config"),
                )
                .send()
                .await
                .expect("put policy");
        })
    }
}

fn tag(k: &str, v: &str) -> sagemaker::types::Tag {
    sagemaker::types::Tag::builder().key(k).value(v).build()
}

/// The function under test, its Runtime API, the recording proxy and moto.
pub struct Harness {
    pub fx: Fixture,
    pub proxy: Proxy,
    pub runtime: RuntimeApi,
    pub function: Function,
}

impl Harness {
    pub fn start(env: &[(&str, &str)]) -> Harness {
        Harness::start_with_timeout(env, Duration::from_secs(30))
    }

    /// A harness whose AWS answers every call after `latency`: round trips become countable.
    pub fn start_with_latency(env: &[(&str, &str)], latency: Duration) -> Harness {
        Harness::build(env, Duration::from_secs(30), latency)
    }

    pub fn start_with_timeout(env: &[(&str, &str)], timeout: Duration) -> Harness {
        Harness::build(env, timeout, Duration::ZERO)
    }

    fn build(env: &[(&str, &str)], timeout: Duration, latency: Duration) -> Harness {
        let moto = moto_port();
        let proxy = Proxy::start_with_latency(moto, latency);
        let runtime = RuntimeApi::start(timeout);
        let function = Function::start(runtime.port, proxy.port, env);
        Harness {
            fx: Fixture::new(moto),
            proxy,
            runtime,
            function,
        }
    }

    /// A one-variant endpoint (`AllTraffic`, ml.m5.large) with `tags`: its ARN, and an
    /// IN_SERVICE event for it.
    pub fn one_variant(&self, name: &str, tags: &[(&str, &str)]) -> (String, Value) {
        let arn = self.fx.create_endpoint(
            name,
            &[Variant::Instances("AllTraffic", "ml.m5.large")],
            tags,
        );
        let event = super::event("in-service.rfc3339.json", name, &arn);
        (arn, event)
    }

    /// The embedded-metric-format records the function printed since `from` log lines.
    pub fn emf_records(&self, from: usize) -> Vec<Value> {
        // The log is read by another thread: give the last line a moment to arrive.
        std::thread::sleep(Duration::from_millis(100));
        self.function.logs()[from..]
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("_aws").is_some())
            .collect()
    }

    /// The one EMF record since `from` log lines: each invocation prints exactly one.
    pub fn emf_record(&self, from: usize) -> Value {
        let records = self.emf_records(from);
        assert_eq!(records.len(), 1, "one record per invocation: {records:?}");
        records.into_iter().next().unwrap_or_default()
    }

    /// Delivers `event` and returns the function's answer, with the AWS calls it made.
    pub fn invoke(&self, event: &Value) -> Result<Value, Value> {
        self.proxy.clear();
        self.runtime.invoke(event)
    }
}
