//! SageMaker: endpoints, their configs and inference components described and listed, tags
//! read, and the status tag written. Translation only.

use std::collections::HashMap;

use aws_sdk_sagemaker as sagemaker;

use crate::aws::{Aws, all_pages, found};
use crate::resource::{ComponentFacts, EndpointFacts, VariantFacts, VariantKind};
use crate::retry::{AwsError, Deadline, Op, call};

/// DescribeEndpoint, as far as scaletag needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub config_name: String,
    /// Variant name and, for serverless variants, `Some(provisioned concurrency)`.
    pub variants: Vec<(String, Option<Option<i32>>)>,
    /// Whether it was created from a config with `AsyncInferenceConfig` (DescribeEndpoint
    /// returns it): every variant of it is asynchronous.
    pub asynchronous: bool,
    /// Variant name → `ManagedInstanceScaling.MinInstanceCount`, for the variants that have
    /// it (those hosting inference components).
    pub min_instances: Vec<(String, i32)>,
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
    /// `ManagedInstanceScaling.MinInstanceCount` of one variant, when it has one.
    pub fn min_instances(&self, variant: &str) -> Option<i32> {
        self.min_instances
            .iter()
            .find(|(name, _)| name == variant)
            .map(|(_, n)| *n)
    }

    pub fn facts(&self, instance_types: &HashMap<String, String>) -> Vec<VariantFacts> {
        self.variants
            .iter()
            .map(|(name, serverless)| VariantFacts {
                name: name.clone(),
                kind: match serverless {
                    Some(pc) => VariantKind::Serverless {
                        provisioned_concurrency: *pc,
                    },
                    None if self.asynchronous => VariantKind::Asynchronous {
                        instance_type: instance_types.get(name).cloned(),
                    },
                    None => VariantKind::Instances {
                        instance_type: instance_types.get(name).cloned(),
                    },
                },
            })
            .collect()
    }
}

/// DescribeInferenceComponent, as far as scaletag needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedComponent {
    pub arn: String,
    pub facts: ComponentFacts,
}

/// One IC of a listing, with all that scaletag reads of an IC: ListInferenceComponents
/// returns its name, ARN, endpoint, variant and status (its summary), so a sweep needs no
/// DescribeInferenceComponent.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedComponent {
    pub name: String,
    pub arn: String,
    pub endpoint: String,
    pub variant: String,
    /// `None` when the listing does not say: the one field of the summary that AWS's model
    /// does not promise.
    pub status: Option<String>,
}

impl ListedComponent {
    /// What DescribeInferenceComponent would have said of it; `None` when the listing did
    /// not give its status.
    pub fn described(&self) -> Option<DescribedComponent> {
        Some(DescribedComponent {
            arn: self.arn.clone(),
            facts: ComponentFacts {
                name: self.name.clone(),
                endpoint: self.endpoint.clone(),
                variant: self.variant.clone(),
                status: self.status.clone()?,
                min_instances: None,
            },
        })
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
            asynchronous: o.async_inference_config().is_some(),
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
            min_instances: o
                .production_variants()
                .iter()
                .filter_map(|v| {
                    let min = v.managed_instance_scaling()?.min_instance_count()?;
                    Some((v.variant_name()?.to_string(), min))
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

    /// Variant name → instance type, from the endpoint's current config. An endpoint config
    /// never changes once created (docs/aws-behaviour.md §11), so each is read once in the
    /// life of the process.
    pub async fn instance_types(
        &self,
        config_name: &str,
        dl: &Deadline,
    ) -> Result<HashMap<String, String>, AwsError> {
        if config_name.is_empty() {
            return Ok(HashMap::new());
        }
        if let Some(known) = self.configs.get(config_name) {
            return Ok(known);
        }
        let types = self.read_instance_types(config_name, dl).await?;
        // A config not found (deleted while its endpoint runs on) is asked again next time.
        if !types.is_empty() {
            self.configs.put(config_name, &types);
        }
        Ok(types)
    }

    async fn read_instance_types(
        &self,
        config_name: &str,
        dl: &Deadline,
    ) -> Result<HashMap<String, String>, AwsError> {
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
                            variant: c.variant_name().unwrap_or_default().to_string(),
                            status: c
                                .inference_component_status()
                                .map(|s| s.as_str().to_string()),
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
        let described = self.describe_endpoint(endpoint, dl).await?;
        Ok(described.and_then(|d| d.min_instances(variant)))
    }
}
