//! AWS's real error shapes, which moto does not reproduce (docs/aws-behaviour.md §7), through the whole
//! reconcile path with aws-smithy-mocks: raw HTTP error responses as AWS sends them, parsed
//! by the real SDK, classified by scaletag.

use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_sagemaker as sm;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

use scaletag::aws::Aws;
use scaletag::catalog::Catalog;
use scaletag::desire::Settings;
use scaletag::lambda;
use scaletag::outcome::Kind;
use scaletag::reconcile::{App, Failure};
use scaletag::retry::Deadline;

const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep";

/// An error response as AWS's JSON protocol sends it.
fn aws_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).expect("status"),
        SdkBody::from(json!({"__type": code, "message": message}).to_string()),
    )
}

/// AWS's answer while another update of the same target is still in progress.
fn pending_update() -> HttpResponse {
    aws_error(
        400,
        "ConcurrentUpdateException",
        "There is already a pending update",
    )
}

/// What the mocked endpoint's one variant scales.
enum VariantShape {
    Instances,
    ProvisionedConcurrency,
}

fn sagemaker_rules(template: &str, kind: VariantShape) -> Vec<Rule> {
    use sm::operation::{
        describe_endpoint::DescribeEndpointOutput,
        describe_endpoint_config::DescribeEndpointConfigOutput, list_tags::ListTagsOutput,
    };
    use sm::types as t;
    let variant = match kind {
        VariantShape::Instances => t::ProductionVariantSummary::builder()
            .variant_name("AllTraffic")
            .current_instance_count(1)
            .build(),
        VariantShape::ProvisionedConcurrency => t::ProductionVariantSummary::builder()
            .variant_name("AllTraffic")
            .current_serverless_config(
                t::ProductionVariantServerlessConfig::builder()
                    .memory_size_in_mb(2048)
                    .max_concurrency(20)
                    .provisioned_concurrency(2)
                    .build(),
            )
            .build(),
    };
    let template = template.to_string();
    vec![
        mock!(sm::Client::describe_endpoint).then_output(move || {
            DescribeEndpointOutput::builder()
                .endpoint_name("ep")
                .endpoint_arn(ARN)
                .endpoint_config_name("ep-config")
                .endpoint_status(t::EndpointStatus::InService)
                .production_variants(variant.clone())
                .build()
        }),
        mock!(sm::Client::describe_endpoint_config).then_output(|| {
            DescribeEndpointConfigOutput::builder()
                .production_variants(
                    t::ProductionVariant::builder()
                        .variant_name("AllTraffic")
                        .instance_type(t::ProductionVariantInstanceType::MlM5Large)
                        .build(),
                )
                .build()
        }),
        no_components(),
        mock!(sm::Client::list_tags).then_output(move || {
            ListTagsOutput::builder()
                .tags(
                    t::Tag::builder()
                        .key("autoscaling:template")
                        .value(&template)
                        .build(),
                )
                .build()
        }),
    ]
}

/// The endpoint hosts no inference component.
fn no_components() -> Rule {
    mock!(sm::Client::list_inference_components).then_output(|| {
        sm::operation::list_inference_components::ListInferenceComponentsOutput::builder()
            .set_inference_components(Some(Vec::new()))
            .build()
    })
}

fn empty_aas_reads() -> Vec<Rule> {
    use aas::operation::{
        describe_scalable_targets::DescribeScalableTargetsOutput,
        describe_scaling_policies::DescribeScalingPoliciesOutput,
        describe_scheduled_actions::DescribeScheduledActionsOutput,
    };
    vec![
        mock!(aas::Client::describe_scalable_targets)
            .then_output(|| DescribeScalableTargetsOutput::builder().build()),
        mock!(aas::Client::describe_scaling_policies)
            .then_output(|| DescribeScalingPoliciesOutput::builder().build()),
        mock!(aas::Client::describe_scheduled_actions)
            .then_output(|| DescribeScheduledActionsOutput::builder().build()),
    ]
}

/// The status tag scaletag writes back, whatever its value (each value is a rule of its own
/// where a test looks at it).
fn status_writes() -> Rule {
    mock!(sm::Client::add_tags)
        .sequence()
        .output(|| sm::operation::add_tags::AddTagsOutput::builder().build())
        .repeatedly()
        .build()
}

fn app(sagemaker: &[Rule], autoscaling: &[Rule]) -> App {
    let mut sagemaker = sagemaker.to_vec();
    sagemaker.push(status_writes());
    let sagemaker = mock_client!(sm, RuleMode::MatchAny, &sagemaker, |c| c
        .retry_config(sm::config::retry::RetryConfig::disabled()));
    let aas = mock_client!(aas, RuleMode::MatchAny, autoscaling, |c| c
        .retry_config(aas::config::retry::RetryConfig::disabled()));
    // No test here reaches CloudWatch, SQS or the Tagging API: a configuration on which they
    // would fail if one did.
    let unused = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    App {
        aws: Aws::with(sagemaker, aas, &unused),
        recheck_queue: None,
        recheck_delay: 300,
        sweep_concurrency: 8,
        catalog: Catalog::builtin(),
        settings: Settings::default(),
        status_tag: true,
    }
}

fn event() -> Value {
    json!({"source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change",
           "detail": {"EndpointName": "ep", "EndpointArn": ARN, "EndpointStatus": "IN_SERVICE"}})
}

async fn run(app: &App, budget: Duration) -> Result<scaletag::outcome::Outcome, Failure> {
    match lambda::handle(app, &event(), &Deadline::after(budget)).await? {
        lambda::Response::Endpoint(r) => Ok(r.outcome),
        other => panic!("not an endpoint outcome: {other:?}"),
    }
}

fn registered() -> aas::operation::register_scalable_target::RegisterScalableTargetOutput {
    aas::operation::register_scalable_target::RegisterScalableTargetOutput::builder().build()
}

fn register_ok() -> Rule {
    mock!(aas::Client::register_scalable_target).then_output(registered)
}

fn put_ok() -> Rule {
    mock!(aas::Client::put_scaling_policy).then_output(|| {
        aas::operation::put_scaling_policy::PutScalingPolicyOutput::builder()
            .policy_arn("arn:policy")
            .build()
            .expect("output")
    })
}

#[tokio::test]
async fn put_right_after_register_retries_object_not_found() {
    let put = mock!(aas::Client::put_scaling_policy)
        .sequence()
        .http_response(|| {
            aws_error(
                400,
                "ObjectNotFoundException",
                "No scalable target registered for service namespace: sagemaker",
            )
        })
        .output(|| {
            aas::operation::put_scaling_policy::PutScalingPolicyOutput::builder()
                .policy_arn("arn:p")
                .build()
                .expect("output")
        })
        .build();
    let register = register_ok();
    let mut rules = empty_aas_reads();
    rules.extend([register.clone(), put.clone()]);
    let app = app(&sagemaker_rules("default", VariantShape::Instances), &rules);
    let out = run(&app, Duration::from_secs(10))
        .await
        .expect("applied after a retry");
    assert_eq!(out.kind, Kind::Applied);
    assert_eq!((register.num_calls(), put.num_calls()), (1, 2));
}

#[tokio::test]
async fn concurrent_update_throttling_and_internal_errors_are_retried() {
    let register = mock!(aas::Client::register_scalable_target)
        .sequence()
        .http_response(pending_update)
        .http_response(|| aws_error(400, "ThrottlingException", "Rate exceeded"))
        .http_response(|| aws_error(500, "InternalServiceException", "internal error"))
        .http_status(503, None)
        .output(registered)
        .build();
    let put = put_ok();
    let mut rules = empty_aas_reads();
    rules.extend([register.clone(), put.clone()]);
    let app = app(&sagemaker_rules("default", VariantShape::Instances), &rules);
    let out = run(&app, Duration::from_secs(20))
        .await
        .expect("applied after retries");
    assert_eq!(out.kind, Kind::Applied);
    assert_eq!((register.num_calls(), put.num_calls()), (5, 1));
}

#[tokio::test]
async fn validation_exception_fails_at_once_with_awss_message() {
    let register = mock!(aas::Client::register_scalable_target).then_http_response(|| {
        aws_error(
            400,
            "ValidationException",
            "Minimum capacity cannot be greater than maximum capacity",
        )
    });
    let put = put_ok();
    let mut rules = empty_aas_reads();
    rules.extend([register.clone(), put.clone()]);
    // The status tag says so, after the `ok` written alongside the writes.
    let failed_status = mock!(sm::Client::add_tags)
        .match_requests(|r| {
            r.tags()
                .iter()
                .any(|t| t.value() == Some("failed RegisterScalableTarget"))
        })
        .then_output(|| sm::operation::add_tags::AddTagsOutput::builder().build());
    let mut sm_rules = sagemaker_rules("default", VariantShape::Instances);
    sm_rules.insert(0, failed_status.clone());
    let app = app(&sm_rules, &rules);
    let err = run(&app, Duration::from_secs(10)).await.expect_err("fails");
    assert_eq!(
        failed_status.num_calls(),
        1,
        "the status tag names the failed call"
    );
    let message = err.to_string();
    assert!(message.contains("RegisterScalableTarget on endpoint/ep/variant/AllTraffic failed: ValidationException (HTTP 400): Minimum capacity cannot be greater than maximum capacity"), "{message}");
    assert_eq!(err.error_type(), "scaletag.AwsError");
    assert_eq!(
        (register.num_calls(), put.num_calls()),
        (1, 0),
        "no retry, and no put without a target"
    );
}

#[tokio::test]
async fn failed_resource_access_is_retried_only_when_cloudwatch_throttles() {
    let put = mock!(aas::Client::put_scaling_policy)
        .sequence()
        .http_response(|| {
            aws_error(
                400,
                "FailedResourceAccessException",
                "Rate exceeded (Service: CloudWatch)",
            )
        })
        .http_response(|| {
            aws_error(
                400,
                "FailedResourceAccessException",
                "User is not authorized to perform: cloudwatch:PutMetricAlarm",
            )
        })
        .build();
    let mut rules = empty_aas_reads();
    rules.extend([register_ok(), put.clone()]);
    let app = app(&sagemaker_rules("default", VariantShape::Instances), &rules);
    let message = run(&app, Duration::from_secs(10))
        .await
        .expect_err("fails")
        .to_string();
    assert!(message.contains("cloudwatch:PutMetricAlarm"), "{message}");
    assert_eq!(put.num_calls(), 2);
}

#[tokio::test]
async fn a_quota_fails_at_once_and_names_the_quota() {
    let register = mock!(aas::Client::register_scalable_target)
        .sequence()
        .http_response(|| {
            aws_error(
                400,
                "LimitExceededException",
                "You have reached the maximum number of scalable targets",
            )
        })
        .repeatedly()
        .build();
    let mut rules = empty_aas_reads();
    rules.extend([register.clone(), put_ok()]);
    let app = app(&sagemaker_rules("default", VariantShape::Instances), &rules);
    let message = run(&app, Duration::from_secs(10))
        .await
        .expect_err("fails")
        .to_string();
    assert_eq!(register.num_calls(), 1, "a quota is not retried");
    assert!(
        message.contains("failed: LimitExceededException (HTTP 400): You have reached"),
        "{message}"
    );
    assert!(
        message.contains("scalable targets per account for SageMaker (500 by default)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_target_created_meanwhile_is_registered_without_tags() {
    // The first register (with the owner tag) finds the target already there: an earlier
    // attempt whose answer was lost, or another owner. AWS takes tags only at creation.
    let untagged = mock!(aas::Client::register_scalable_target)
        .match_requests(|r| r.tags().is_none())
        .then_output(registered);
    let tagged = mock!(aas::Client::register_scalable_target)
        .match_requests(|r| {
            r.tags()
                .is_some_and(|t| t.get("managed-by").map(String::as_str) == Some("scaletag"))
        })
        .then_http_response(|| {
            aws_error(
                400,
                "ValidationException",
                "The scalable target that you tried to tag already exists.",
            )
        });
    let mut rules = empty_aas_reads();
    rules.extend([tagged.clone(), untagged.clone(), put_ok()]);
    let app = app(&sagemaker_rules("default", VariantShape::Instances), &rules);
    let out = run(&app, Duration::from_secs(10)).await.expect("applied");
    assert_eq!(out.kind, Kind::Applied);
    assert_eq!((tagged.num_calls(), untagged.num_calls()), (1, 1));
}

#[tokio::test]
async fn conflicts_stop_before_the_deadline() {
    let register = mock!(aas::Client::register_scalable_target)
        .sequence()
        .http_response(pending_update)
        .repeatedly()
        .build();
    let mut rules = empty_aas_reads();
    rules.extend([register.clone(), put_ok()]);
    let app = app(&sagemaker_rules("default", VariantShape::Instances), &rules);
    let budget = Duration::from_millis(1500);
    let started = Instant::now();
    let message = run(&app, budget).await.expect_err("fails").to_string();
    assert!(started.elapsed() < budget, "took {:?}", started.elapsed());
    assert!(
        message.contains("stopped before the invocation's deadline: ConcurrentUpdateException"),
        "{message}"
    );
    assert!(
        register.num_calls() > 2,
        "retried {} times",
        register.num_calls()
    );
}

/// A detach over one registered target with scaletag's policy on it; `owner_tags` are the
/// target's tags, `None` when AAS answers that the target is gone by the time its tags are
/// read. Returns (delete calls, deregister calls, outcome).
async fn detach_with(
    owner_tags: Option<&[(&str, &str)]>,
) -> (usize, usize, scaletag::outcome::Outcome) {
    use aas::operation::{
        describe_scalable_targets::DescribeScalableTargetsOutput,
        describe_scaling_policies::DescribeScalingPoliciesOutput,
        describe_scheduled_actions::DescribeScheduledActionsOutput,
    };
    use aas::types as t;
    let rid = "endpoint/ep/variant/AllTraffic";
    let targets = mock!(aas::Client::describe_scalable_targets).then_output(move || {
        DescribeScalableTargetsOutput::builder()
            .scalable_targets(
                t::ScalableTarget::builder()
                    .service_namespace(t::ServiceNamespace::Sagemaker)
                    .resource_id(rid)
                    .scalable_dimension(t::ScalableDimension::SageMakerVariantDesiredInstanceCount)
                    .min_capacity(1)
                    .max_capacity(4)
                    .role_arn("arn:role")
                    .scalable_target_arn("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/sm0123")
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .expect("target"),
            )
            .build()
    });
    let policies = mock!(aas::Client::describe_scaling_policies).then_output(move || {
        DescribeScalingPoliciesOutput::builder()
            .scaling_policies(
                t::ScalingPolicy::builder()
                    .policy_arn("arn:p")
                    .policy_name("scaletag-default")
                    .service_namespace(t::ServiceNamespace::Sagemaker)
                    .resource_id(rid)
                    .scalable_dimension(t::ScalableDimension::SageMakerVariantDesiredInstanceCount)
                    .policy_type(t::PolicyType::TargetTrackingScaling)
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .expect("policy"),
            )
            .build()
    });
    let scheduled = mock!(aas::Client::describe_scheduled_actions)
        .then_output(|| DescribeScheduledActionsOutput::builder().build());
    let delete = mock!(aas::Client::delete_scaling_policy).then_http_response(|| {
        aws_error(400, "ObjectNotFoundException", "No scaling policy found")
    });
    let deregister = mock!(aas::Client::deregister_scalable_target).then_http_response(|| {
        aws_error(400, "ObjectNotFoundException", "No scalable target found")
    });
    let target_tags = mock!(aas::Client::list_tags_for_resource).match_requests(|r| {
        r.resource_arn()
            == Some("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/sm0123")
    });
    let target_tags = match owner_tags {
        Some(owner_tags) => {
            let tags: std::collections::HashMap<String, String> = owner_tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            target_tags.then_output(move || {
                aas::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
                    .set_tags(Some(tags.clone()))
                    .build()
            })
        }
        // botocore's model: ResourceNotFoundException, with the ARN as ResourceName.
        None => target_tags.then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).expect("status"),
                SdkBody::from(
                    json!({"__type": "ResourceNotFoundException",
                        "Message": "No scalable target found for ARN",
                        "ResourceName": "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/sm0123"})
                    .to_string(),
                ),
            )
        }),
    };
    let app = app(
        &sagemaker_rules("off", VariantShape::Instances),
        &[
            targets,
            policies,
            scheduled,
            target_tags,
            delete.clone(),
            deregister.clone(),
        ],
    );
    let out = run(&app, Duration::from_secs(10)).await.expect("detached");
    (delete.num_calls(), deregister.num_calls(), out)
}

#[tokio::test]
async fn detach_treats_already_gone_as_done() {
    let (deleted, deregistered, out) = detach_with(Some(&[("managed-by", "scaletag")])).await;
    assert_eq!(out.kind, Kind::Detached);
    assert_eq!((deleted, deregistered), (1, 1));
}

#[tokio::test]
async fn a_target_deregistered_between_two_reads_is_gone_not_a_failure() {
    // DescribeScalableTargets listed it; by ListTagsForResource it was gone (AAS answers
    // ResourceNotFoundException there, not ObjectNotFoundException).
    // Deregistering deleted its policies too: nothing of scaletag's is left to remove.
    let (deleted, deregistered, out) = detach_with(None).await;
    assert_eq!(out.kind, Kind::Unchanged);
    assert_eq!((deleted, deregistered), (0, 0), "nothing left to remove");
}

#[tokio::test]
async fn detach_never_deregisters_a_target_another_owner_registered() {
    let (deleted, deregistered, out) = detach_with(Some(&[("owner", "cloudformation")])).await;
    assert_eq!(out.kind, Kind::Detached);
    assert_eq!((deleted, deregistered), (1, 0));
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("stays registered: scaletag did not register it")),
        "{:?}",
        out.warnings
    );
}

#[tokio::test]
async fn a_missing_endpoint_is_skipped() {
    let describe = mock!(sm::Client::describe_endpoint).then_http_response(|| {
        aws_error(
            400,
            "ValidationException",
            "Could not find endpoint \"ep\".",
        )
    });
    let tags = mock!(sm::Client::list_tags)
        .then_http_response(|| aws_error(400, "ValidationException", "Could not find resource"));
    let app = app(&[describe, tags, no_components()], &empty_aas_reads());
    let out = run(&app, Duration::from_secs(5))
        .await
        .expect("skipped, not an error");
    assert_eq!(out.kind, Kind::Skipped);
    assert_eq!(out.reason.as_deref(), Some("endpoint no longer exists"));
}

#[tokio::test]
async fn provisioned_concurrency_uses_its_own_dimension() {
    let register = mock!(aas::Client::register_scalable_target)
        .match_requests(|r| {
            r.scalable_dimension()
                == Some(
                    &aas::types::ScalableDimension::SageMakerVariantDesiredProvisionedConcurrency,
                )
                && r.min_capacity() == Some(1)
                && r.max_capacity() == Some(10)
        })
        .then_output(registered);
    let put = mock!(aas::Client::put_scaling_policy)
        .match_requests(|r| {
            r.target_tracking_scaling_policy_configuration()
                .and_then(|c| c.predefined_metric_specification())
                .is_some_and(|p| {
                    p.predefined_metric_type().as_str()
                        == "SageMakerVariantProvisionedConcurrencyUtilization"
                })
        })
        .then_output(|| {
            aas::operation::put_scaling_policy::PutScalingPolicyOutput::builder()
                .policy_arn("arn:p")
                .build()
                .expect("output")
        });
    let mut rules = empty_aas_reads();
    rules.extend([register.clone(), put.clone()]);
    let app = app(
        &sagemaker_rules("serverless", VariantShape::ProvisionedConcurrency),
        &rules,
    );
    let out = run(&app, Duration::from_secs(10)).await.expect("applied");
    assert_eq!(out.kind, Kind::Applied);
    assert_eq!((register.num_calls(), put.num_calls()), (1, 1));
}
