//! Decoding what invokes the function: the EventBridge "SageMaker Endpoint State Change"
//! event (leniently, by hand), scheduled sweeps, SageMaker API calls recorded by CloudTrail
//! (inference components, tag edits), and re-checks from the SQS queue.
//!
//! Only what scaletag acts on is read: the endpoint name, its ARN when present, and the status.
//! Everything else (the `time` field, which the documented sample gives as epoch milliseconds in
//! a string; `Tags`, object or list; `ProductionVariants`, which may be absent and never name a
//! variant) is ignored, because the function re-reads the endpoint from SageMaker anyway
//! (docs/aws-behaviour.md §1). `aws_lambda_events::eventbridge::EventBridgeEvent` rejects the documented
//! sample, which is why this module decodes the JSON itself.

use serde_json::Value;

pub const SOURCE: &str = "aws.sagemaker";
pub const DETAIL_TYPE: &str = "SageMaker Endpoint State Change";
/// How EventBridge spells the status scaletag acts on (DescribeEndpoint says `InService`).
pub const IN_SERVICE: &str = "IN_SERVICE";

/// EventBridge's scheduled events (a `Schedule` event source in SAM).
pub const SCHEDULE_SOURCE: &str = "aws.events";
pub const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";

/// CloudTrail API-call events, as EventBridge delivers them (docs/aws-behaviour.md §9).
pub const API_CALL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// What an invocation was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    EndpointStateChange(EndpointChange),
    /// The scheduled sweep: reconcile every InService endpoint and inference component.
    Sweep,
    /// A SageMaker API call that may change an inference component's scaling.
    ComponentCall(ComponentCall),
    /// Tags added to or deleted from an endpoint (`AddTags`/`DeleteTags`): its ARN, which
    /// lowercases the name.
    EndpointTagged {
        event_name: String,
        arn: String,
    },
    /// A call scaletag does not act on (a failed call, another resource): why.
    Ignored(String),
    /// Inference components to look at again (SQS messages from the re-check queue).
    Recheck(Vec<Recheck>),
}

/// An inference component named by an API call: by name (Create/Update), or only by ARN
/// (AddTags/DeleteTags, whose ARN lowercases the name).
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentCall {
    pub event_name: String,
    pub name: Option<String>,
    pub arn: Option<String>,
}

/// One re-check request: the SQS message id (to report a failure for it alone) and its body.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recheck {
    #[serde(skip)]
    pub message_id: String,
    pub inference_component: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// How many times it has been re-checked before; it stops at [`RECHECK_LIMIT`].
    #[serde(default)]
    pub attempt: u32,
}

/// An IC can stay `Creating` for up to an hour (its container's health-check timeout): the
/// first look and 13 re-checks, 5 minutes apart by default, cover 65 minutes; then the sweep.
pub const RECHECK_LIMIT: u32 = 14;

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointChange {
    pub endpoint_name: String,
    /// The ARN from the event, used to read tags in parallel with DescribeEndpoint.
    pub endpoint_arn: Option<String>,
    pub status: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EventError {
    #[error(
        "the input is not an EventBridge event (expected a JSON object with `source`, `detail-type` and `detail`)"
    )]
    NotAnEvent,
    #[error(
        "not a SageMaker endpoint state change: source `{source_name}`, detail-type `{detail_type}` \
         (scaletag handles source `aws.sagemaker`, detail-type `SageMaker Endpoint State Change`, \
         and scheduled events from `aws.events` to sweep)"
    )]
    Unsupported {
        source_name: String,
        detail_type: String,
    },
    #[error("the SageMaker event has no usable `detail.{0}`")]
    MissingField(&'static str),
    #[error(
        "`detail.EndpointName` `{0}` is not a SageMaker endpoint name (1-63 letters, digits and hyphens)"
    )]
    BadEndpointName(String),
    #[error("not a CloudTrail API-call event as EventBridge delivers it: {0}")]
    BadApiCall(String),
    #[error("not an SQS batch of scaletag re-checks: {0}")]
    BadRecheck(String),
}

/// The request and response members scaletag reads from a SageMaker API call (CloudTrail
/// records them in camelCase).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallParameters {
    inference_component_name: Option<String>,
    resource_arn: Option<String>,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallResponse {
    inference_component_arn: Option<String>,
}

/// A SageMaker API call through `aws_lambda_events`' own CloudTrail types (the envelope
/// `CloudWatchEvent`, the record `AWSAPICall`): they take the documented shape as it is.
fn api_call(payload: &Value) -> Result<Trigger, EventError> {
    use aws_lambda_events::event::cloudwatch_events::{CloudWatchEvent, cloudtrail::AWSAPICall};
    type Call = AWSAPICall<Option<CallParameters>, CallResponse>;
    let event: CloudWatchEvent<Call> = serde_json::from_value(payload.clone())
        .map_err(|e| EventError::BadApiCall(truncate(&e.to_string())))?;
    let call = event
        .detail
        .ok_or_else(|| EventError::BadApiCall("no `detail`".into()))?;
    // A failed call changed nothing (the rule filters them out; a hand-made event may not).
    if let Some(code) = payload["detail"]["errorCode"].as_str() {
        return Ok(Trigger::Ignored(format!(
            "{} failed ({}); nothing changed",
            truncate(&call.event_name),
            truncate(code)
        )));
    }
    let params = call.request_parameters.unwrap_or_default();
    let response_arn = call
        .response_elements
        .and_then(|r| r.inference_component_arn);
    match call.event_name.as_str() {
        "CreateInferenceComponent" | "UpdateInferenceComponent" => {
            let name = params
                .inference_component_name
                .filter(|n| is_endpoint_name(n))
                .ok_or_else(|| {
                    EventError::BadApiCall(
                        "no usable `requestParameters.inferenceComponentName`".into(),
                    )
                })?;
            Ok(Trigger::ComponentCall(ComponentCall {
                event_name: call.event_name,
                arn: response_arn.filter(|a| {
                    component_arn_name(a).is_some_and(|n| n.eq_ignore_ascii_case(&name))
                }),
                name: Some(name),
            }))
        }
        "AddTags" | "DeleteTags" => {
            let arn = params.resource_arn.unwrap_or_default();
            if component_arn_name(&arn).is_some() {
                Ok(Trigger::ComponentCall(ComponentCall {
                    event_name: call.event_name,
                    name: None,
                    arn: Some(arn),
                }))
            } else if endpoint_arn_name(&arn).is_some() {
                Ok(Trigger::EndpointTagged {
                    event_name: call.event_name,
                    arn,
                })
            } else {
                Ok(Trigger::Ignored(format!(
                    "{} on a resource that is neither an endpoint nor an inference component",
                    call.event_name
                )))
            }
        }
        other => Ok(Trigger::Ignored(format!(
            "the API call `{}` does not change scaling",
            truncate(other)
        ))),
    }
}

/// The name part of an inference component's ARN, as the ARN spells it (lowercased).
pub fn component_arn_name(arn: &str) -> Option<&str> {
    sagemaker_arn_name(arn, ":inference-component/")
}

/// The name part of an endpoint's ARN, as the ARN spells it (lowercased).
pub fn endpoint_arn_name(arn: &str) -> Option<&str> {
    sagemaker_arn_name(arn, ":endpoint/")
}

fn sagemaker_arn_name<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    if !arn.starts_with("arn:") || arn.split(':').nth(2) != Some("sagemaker") {
        return None;
    }
    arn.rsplit_once(kind)
        .map(|(_, n)| n)
        .filter(|n| is_endpoint_name(n))
}

/// An SQS batch from the re-check queue, through `aws_lambda_events`' `SqsEvent`.
fn recheck(records: &Value) -> Result<Trigger, EventError> {
    use aws_lambda_events::event::sqs::SqsEvent;
    let batch: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": records }))
        .map_err(|e| EventError::BadRecheck(truncate(&e.to_string())))?;
    let mut rechecks = Vec::new();
    for m in batch.records {
        let id = m.message_id.unwrap_or_default();
        let body = m.body.unwrap_or_default();
        let mut r: Recheck = serde_json::from_str(&body)
            .map_err(|e| EventError::BadRecheck(truncate(&format!("message `{id}`: {e}"))))?;
        if !is_endpoint_name(&r.inference_component) {
            return Err(EventError::BadRecheck(truncate(&format!(
                "message `{id}`: `{}` is not an inference component name",
                r.inference_component
            ))));
        }
        r.message_id = id;
        rechecks.push(r);
    }
    Ok(Trigger::Recheck(rechecks))
}

/// Decodes an invocation payload.
pub fn decode(payload: &Value) -> Result<Trigger, EventError> {
    if let Some(records) = payload.get("Records") {
        return recheck(records);
    }
    let obj = payload.as_object().ok_or(EventError::NotAnEvent)?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let (Some(source_name), Some(detail_type)) =
        (text(obj.get("source")), text(obj.get("detail-type")))
    else {
        return Err(EventError::NotAnEvent);
    };
    if source_name == SCHEDULE_SOURCE && detail_type == SCHEDULE_DETAIL_TYPE {
        return Ok(Trigger::Sweep);
    }
    if source_name == SOURCE && detail_type == API_CALL_DETAIL_TYPE {
        return api_call(payload);
    }
    if source_name != SOURCE || detail_type != DETAIL_TYPE {
        return Err(EventError::Unsupported {
            source_name: truncate(&source_name),
            detail_type: truncate(&detail_type),
        });
    }
    let detail = obj
        .get("detail")
        .and_then(Value::as_object)
        .ok_or(EventError::MissingField("EndpointName"))?;
    let endpoint_name =
        text(detail.get("EndpointName")).ok_or(EventError::MissingField("EndpointName"))?;
    if !is_endpoint_name(&endpoint_name) {
        return Err(EventError::BadEndpointName(truncate(&endpoint_name)));
    }
    let status =
        text(detail.get("EndpointStatus")).ok_or(EventError::MissingField("EndpointStatus"))?;
    let endpoint_arn = text(detail.get("EndpointArn"))
        .or_else(|| {
            obj.get("resources")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .find(|r| r.contains(":endpoint/"))
                .map(str::to_string)
        })
        .filter(|arn| arn_names(arn, &endpoint_name));
    Ok(Trigger::EndpointStateChange(EndpointChange {
        endpoint_name,
        endpoint_arn,
        status: truncate(&status),
    }))
}

/// SageMaker's EndpointName pattern: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`.
pub fn is_endpoint_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Whether `arn` is a SageMaker endpoint ARN for `name`. ARNs lowercase the name (docs/aws-behaviour.md §1),
/// so the comparison ignores case; a mismatching ARN is ignored rather than trusted.
fn arn_names(arn: &str, name: &str) -> bool {
    arn.starts_with("arn:")
        && arn.split(':').nth(2) == Some("sagemaker")
        && arn
            .rsplit_once(":endpoint/")
            .is_some_and(|(_, n)| n.eq_ignore_ascii_case(name))
}

/// Keeps hostile input out of error messages and logs at a readable size.
fn truncate(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(v: Value) -> EndpointChange {
        match decode(&v).expect("decodes") {
            Trigger::EndpointStateChange(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scheduled_events_sweep() {
        let v = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "time": "2026-11-28T10:00:00Z", "resources": ["arn:aws:events:us-east-1:123456789012:rule/scaletag-sweep"], "detail": {}});
        assert_eq!(decode(&v), Ok(Trigger::Sweep));
    }

    fn sample() -> Value {
        serde_json::from_str(include_str!("../events/in-service.aws-doc-sample.json")).unwrap()
    }

    #[test]
    fn documented_sample_with_epoch_ms_time_decodes() {
        let c = change(sample());
        assert_eq!(c.endpoint_name, "MyEndpoint");
        assert_eq!(
            c.endpoint_arn.as_deref(),
            Some("arn:aws:sagemaker:us-west-2:111122223333:endpoint/myendpoint")
        );
        assert_eq!(c.status, IN_SERVICE);
    }

    #[test]
    fn tags_as_list_missing_variants_and_null_failure_reason_are_fine() {
        let mut v = sample();
        v["time"] = json!("2023-10-04T14:06:37Z");
        v["detail"]["Tags"] = json!([{"Key": "autoscaling:template", "Value": "default"}]);
        v["detail"]
            .as_object_mut()
            .unwrap()
            .remove("ProductionVariants");
        v["detail"]["FailureReason"] = Value::Null;
        assert_eq!(change(v).endpoint_name, "MyEndpoint");
    }

    #[test]
    fn arn_falls_back_to_resources_and_must_match_the_name() {
        let mut v = sample();
        v["detail"].as_object_mut().unwrap().remove("EndpointArn");
        assert!(change(v.clone()).endpoint_arn.is_some());
        v["resources"] = json!(["arn:aws:sagemaker:us-west-2:111122223333:endpoint/other"]);
        assert_eq!(change(v).endpoint_arn, None);
    }

    #[test]
    fn other_events_are_rejected_clearly() {
        let e = decode(&json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}}))
            .unwrap_err();
        assert!(e.to_string().contains("source `aws.ec2`"), "{e}");
        assert_eq!(decode(&json!([1, 2])), Err(EventError::NotAnEvent));
        assert_eq!(decode(&json!({"source": 1})), Err(EventError::NotAnEvent));
    }

    #[test]
    fn missing_or_bad_fields_are_named() {
        let mut v = sample();
        v["detail"]
            .as_object_mut()
            .unwrap()
            .remove("EndpointStatus");
        assert_eq!(decode(&v), Err(EventError::MissingField("EndpointStatus")));
        let mut v = sample();
        v["detail"]["EndpointName"] = json!(42);
        assert_eq!(decode(&v), Err(EventError::MissingField("EndpointName")));
        let mut v = sample();
        v["detail"]["EndpointName"] = json!("bad/name");
        assert!(matches!(decode(&v), Err(EventError::BadEndpointName(_))));
        v["detail"]["EndpointName"] = json!("x".repeat(10_000));
        let msg = decode(&v).unwrap_err().to_string();
        assert!(msg.len() < 400, "error message is bounded");
    }

    #[test]
    fn endpoint_names() {
        assert!(is_endpoint_name("a"));
        assert!(is_endpoint_name("my-endpoint--2"));
        for bad in ["", "-a", "a-", "a_b", "é", &"a".repeat(64)] {
            assert!(!is_endpoint_name(bad), "{bad:?}");
        }
    }

    fn cloudtrail(file: &str) -> Value {
        let text = match file {
            "created" => include_str!("../events/ic-created.cloudtrail.json"),
            "updated" => include_str!("../events/ic-updated.cloudtrail.json"),
            _ => include_str!("../events/tags-added.cloudtrail.json"),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn cloudtrail_calls_name_the_inference_component() {
        for file in ["created", "updated"] {
            let Ok(Trigger::ComponentCall(c)) = decode(&cloudtrail(file)) else {
                panic!("{file}: {:?}", decode(&cloudtrail(file)))
            };
            assert_eq!(c.name.as_deref(), Some("llama-ic"), "{file}");
        }
        let Ok(Trigger::ComponentCall(c)) = decode(&cloudtrail("tags")) else {
            panic!("{:?}", decode(&cloudtrail("tags")))
        };
        assert_eq!(c.name, None);
        assert!(c.arn.unwrap().ends_with(":inference-component/llama-ic"));
    }

    #[test]
    fn an_iam_user_call_without_session_context_decodes() {
        let mut v = cloudtrail("created");
        v["detail"]["userIdentity"] = json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012", "userName": "alice"});
        assert!(matches!(decode(&v), Ok(Trigger::ComponentCall(_))));
    }

    #[test]
    fn failed_calls_and_other_resources_are_ignored_with_a_reason() {
        let mut v = cloudtrail("created");
        v["detail"]["errorCode"] = json!("ValidationException");
        let Ok(Trigger::Ignored(why)) = decode(&v) else {
            panic!()
        };
        assert!(why.contains("failed (ValidationException)"), "{why}");
        let mut v = cloudtrail("tags");
        v["detail"]["requestParameters"]["resourceArn"] =
            json!("arn:aws:sagemaker:us-east-1:123456789012:model/other");
        assert!(matches!(decode(&v), Ok(Trigger::Ignored(_))));
        // Tags on an endpoint: the endpoint, by its ARN.
        v["detail"]["requestParameters"]["resourceArn"] =
            json!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn");
        assert!(matches!(decode(&v), Ok(Trigger::EndpointTagged { .. })));
        let mut v = cloudtrail("created");
        v["detail"]["requestParameters"]["inferenceComponentName"] = json!("bad/name");
        assert!(matches!(decode(&v), Err(EventError::BadApiCall(_))));
        let mut v = cloudtrail("created");
        v["detail"].as_object_mut().unwrap().remove("eventName");
        let e = decode(&v).unwrap_err().to_string();
        assert!(e.contains("eventName"), "{e}");
    }

    #[test]
    fn sqs_rechecks_decode_and_bad_bodies_are_named() {
        let batch = json!({"Records": [{"messageId": "m1", "receiptHandle": "r", "eventSource": "aws:sqs",
            "body": "{\"inference_component\":\"llama-ic\",\"attempt\":2}", "attributes": {}, "messageAttributes": {}}]});
        let Ok(Trigger::Recheck(r)) = decode(&batch) else {
            panic!("{:?}", decode(&batch))
        };
        assert_eq!(
            (
                r[0].message_id.as_str(),
                r[0].inference_component.as_str(),
                r[0].attempt
            ),
            ("m1", "llama-ic", 2)
        );
        let bad = json!({"Records": [{"messageId": "m2", "body": "not json"}]});
        let e = decode(&bad).unwrap_err().to_string();
        assert!(e.contains("message `m2`"), "{e}");
    }
}
