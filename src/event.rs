//! Lenient decoding of the EventBridge "SageMaker Endpoint State Change" event.
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

/// What an invocation was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    EndpointStateChange(EndpointChange),
    /// The scheduled sweep: reconcile every InService endpoint.
    Sweep,
}

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
}

/// Decodes an invocation payload.
pub fn decode(payload: &Value) -> Result<Trigger, EventError> {
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
}
