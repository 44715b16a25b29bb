//! Inference components and their alarms in the stand-in, set up and read directly (not through
//! the proxy, so it is not counted).

use aws_sdk_applicationautoscaling::types::ServiceNamespace;
use aws_sdk_sagemaker::types as t;
use serde_json::{Value, json};

use crate::fixture::{AasState, Fixture};
use crate::http;

impl Fixture {
    /// An IC in service on an endpoint of its own that may scale to zero instances: its ARN.
    pub fn component_in_service(&self, endpoint: &str, ic: &str, tags: &[(&str, &str)]) -> String {
        self.create_ic_endpoint(endpoint, 0);
        let arn = self.create_component(ic, endpoint, tags);
        self.set_component_status(ic, "InService");
        arn
    }

    /// An endpoint that hosts inference components: no model on its variant `AllTraffic`,
    /// managed instance scaling with this floor. Returns its ARN.
    pub fn create_ic_endpoint(&self, name: &str, min_instances: i32) -> String {
        self.rt.block_on(async {
            self.sm
                .create_endpoint_config()
                .endpoint_config_name(format!("{name}-config"))
                .execution_role_arn("arn:aws:iam::123456789012:role/sagemaker")
                .production_variants(
                    t::ProductionVariant::builder()
                        .variant_name("AllTraffic")
                        .instance_type(t::ProductionVariantInstanceType::MlG52Xlarge)
                        .initial_instance_count(1)
                        .managed_instance_scaling(
                            t::ProductionVariantManagedInstanceScaling::builder()
                                .status(t::ManagedInstanceScalingStatus::Enabled)
                                .min_instance_count(min_instances)
                                .max_instance_count(4)
                                .build(),
                        )
                        .routing_config(
                            t::ProductionVariantRoutingConfig::builder()
                                .routing_strategy(t::RoutingStrategy::LeastOutstandingRequests)
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await
                .expect("create endpoint config");
            self.sm
                .create_endpoint()
                .endpoint_name(name)
                .endpoint_config_name(format!("{name}-config"))
                .send()
                .await
                .expect("create endpoint")
                .endpoint_arn()
                .expect("arn")
                .to_string()
        })
    }

    /// An inference component on `endpoint` with `tags`, `Creating` as AWS leaves a new one.
    /// Returns its ARN.
    pub fn create_component(&self, name: &str, endpoint: &str, tags: &[(&str, &str)]) -> String {
        self.rt.block_on(async {
            self.model(&format!("{name}-model")).await;
            self.sm
                .create_inference_component()
                .inference_component_name(name)
                .endpoint_name(endpoint)
                .variant_name("AllTraffic")
                .specification(
                    t::InferenceComponentSpecification::builder()
                        .model_name(format!("{name}-model"))
                        .compute_resource_requirements(
                            t::InferenceComponentComputeResourceRequirements::builder()
                                .min_memory_required_in_mb(1024)
                                .number_of_accelerator_devices_required(1.0)
                                .build(),
                        )
                        .build(),
                )
                .runtime_config(
                    t::InferenceComponentRuntimeConfig::builder()
                        .copy_count(1)
                        .build(),
                )
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| t::Tag::builder().key(*k).value(*v).build())
                        .collect(),
                ))
                .send()
                .await
                .expect("create inference component")
                .inference_component_arn()
                .expect("arn")
                .to_string()
        })
    }

    /// Moves an IC to `status`, as SageMaker does in its own time (the stand-in's control route).
    pub fn set_component_status(&self, name: &str, status: &str) {
        let body = json!({"InferenceComponentName": name, "Status": status}).to_string();
        let req = http::Request {
            method: "POST".into(),
            path: "/moto-api/standin/inference-component-status".into(),
            headers: vec![
                ("Host".into(), format!("127.0.0.1:{}", self.port)),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: body.into_bytes(),
        };
        let (status_code, _, answer) =
            http::forward(&format!("127.0.0.1:{}", self.port), &req).expect("control route");
        assert_eq!(
            status_code,
            200,
            "set status: {}",
            String::from_utf8_lossy(&answer)
        );
    }

    pub fn delete_component(&self, name: &str) {
        self.rt.block_on(async {
            self.sm
                .delete_inference_component()
                .inference_component_name(name)
                .send()
                .await
                .expect("delete inference component");
        })
    }

    /// What AAS holds for one IC.
    pub fn component_state(&self, name: &str) -> AasState {
        let id = format!("inference-component/{name}");
        self.state_where(|r| r == id)
    }

    /// scaletag's wake alarm of an IC, if CloudWatch holds it (as [`Fixture::alarms`] shows it).
    pub fn wake_alarm(&self, ic: &str) -> Option<Value> {
        let name = format!("scaletag-wake-{ic}");
        self.alarms().into_iter().find(|a| a["name"] == name)
    }

    /// An alarm by name, if CloudWatch holds it (as [`Fixture::alarms`] shows it).
    pub fn alarm_named(&self, name: &str) -> Option<Value> {
        self.alarms().into_iter().find(|a| a["name"] == name)
    }

    /// The ARN of one scaling policy of an IC.
    pub fn policy_arn(&self, name: &str, policy: &str) -> Option<String> {
        self.policy_arn_on(&format!("inference-component/{name}"), policy)
    }

    /// The ARN of one scaling policy on a resource id.
    pub fn policy_arn_on(&self, resource_id: &str, policy: &str) -> Option<String> {
        self.rt.block_on(async {
            let out = self
                .aas
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(resource_id)
                .policy_names(policy)
                .send()
                .await
                .expect("describe policies");
            out.scaling_policies()
                .first()
                .map(|p| p.policy_arn().to_string())
        })
    }

    /// Every metric alarm CloudWatch holds, as {name, actions, comparison, threshold,
    /// metric, namespace, dimensions}.
    pub fn alarms(&self) -> Vec<Value> {
        self.rt.block_on(async {
            let pages: Vec<_> = self
                .cloudwatch
                .describe_alarms()
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect("describe alarms");
            pages
                .iter()
                .flat_map(|p| p.metric_alarms())
                .map(|a| {
                    json!({
                        "name": a.alarm_name(),
                        "actions": a.alarm_actions(),
                        "comparison": a.comparison_operator().map(|c| c.as_str()),
                        "threshold": a.threshold(),
                        "metric": a.metric_name(),
                        "namespace": a.namespace(),
                        "statistic": a.statistic().map(|s| s.as_str()),
                        "period": a.period(),
                        "evaluation_periods": a.evaluation_periods(),
                        "datapoints_to_alarm": a.datapoints_to_alarm(),
                        "treat_missing_data": a.treat_missing_data(),
                        "dimensions": a.dimensions().iter().map(|d| json!({"Name": d.name(), "Value": d.value()})).collect::<Vec<_>>(),
                    })
                })
                .collect()
        })
    }

    /// A new SQS queue; its URL.
    pub fn create_queue(&self, name: &str) -> String {
        self.rt.block_on(async {
            self.sqs
                .create_queue()
                .queue_name(name)
                .send()
                .await
                .expect("create queue")
                .queue_url()
                .expect("url")
                .to_string()
        })
    }

    /// The messages waiting on a queue, as Lambda's SQS integration hands them over: an SQS
    /// event (`Records`), and how many there are. The messages are deleted.
    pub fn drain_queue(&self, url: &str) -> (usize, Value) {
        self.rt.block_on(async {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let mut records = Vec::new();
            for m in out.messages() {
                records.push(json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:recheck",
                    "awsRegion": "us-east-1"
                }));
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .set_receipt_handle(m.receipt_handle().map(str::to_string))
                    .send()
                    .await
                    .expect("delete message");
            }
            (records.len(), json!({ "Records": records }))
        })
    }
}
