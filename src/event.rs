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
/// An endpoint's last event: what scaletag made for it goes.
pub const DELETING: &str = "DELETING";

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
    /// `CreateInferenceComponent` or `UpdateInferenceComponent`: the IC may scale otherwise.
    ComponentCall(ComponentCall),
    /// `DeleteInferenceComponent`: what scaletag made for the IC goes with it.
    ComponentDeleted {
        name: String,
    },
    /// An endpoint being deleted (its state-change event says `DELETING`, or CloudTrail
    /// records `DeleteEndpoint`): AWS deregisters its targets, but the wake alarms scaletag
    /// made for it are scaletag's to remove.
    EndpointDeleted {
        name: String,
    },
    /// Tags edited on endpoints and inference components: SageMaker's `AddTags`/`DeleteTags`
    /// (one ARN) or the Resource Groups Tagging API's `TagResources`/`UntagResources` (many).
    Tagged(Tagged),
    /// A call scaletag does not act on (a failed call, another resource): why.
    Ignored(String),
    /// Inference components to look at again (SQS messages from the re-check queue).
    Recheck(RecheckBatch),
}

/// An inference component named by `CreateInferenceComponent` or `UpdateInferenceComponent`,
/// with its ARN when the response gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentCall {
    pub event_name: String,
    pub name: String,
    pub arn: Option<String>,
}

/// A tag edit: the SageMaker endpoints and inference components it names, by ARN (an ARN
/// lowercases the name), and the tag keys it touched when the record says.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged {
    pub event_name: String,
    pub endpoints: Vec<String>,
    pub components: Vec<String>,
    /// The keys added or removed, when the record lists them (the Tagging API's
    /// `TagResources` cannot be filtered by key in an event pattern, so the function does).
    pub keys: Option<Vec<String>>,
}

impl Tagged {
    /// Whether the edit touched a tag under `prefix` other than `status_key`, scaletag's own
    /// (a record that does not list its keys may have).
    pub fn touches(&self, prefix: &str, status_key: &str) -> bool {
        let under = format!("{prefix}:");
        self.keys.as_ref().is_none_or(|keys| {
            keys.iter()
                .any(|k| k.starts_with(&under) && k != status_key)
        })
    }
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

/// An SQS batch from the re-check queue: the messages that are re-checks, and those that can
/// never be (a body that is not one), which are dropped rather than retried.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecheckBatch {
    pub rechecks: Vec<Recheck>,
    pub refused: Vec<RefusedMessage>,
}

/// A message of the re-check queue that is not a re-check: its id, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedMessage {
    pub message_id: String,
    pub problem: String,
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

/// The Resource Groups Tagging API's events (`TagResources`, `UntagResources`), as
/// EventBridge delivers them (docs/aws-behaviour.md §9).
pub const TAGGING_SOURCE: &str = "aws.tagging";

/// EventBridge's own tag events, for the services that send them (docs/aws-behaviour.md §9).
pub const TAG_CHANGE_SOURCE: &str = "aws.tag";
pub const TAG_CHANGE_DETAIL_TYPE: &str = "Tag Change on Resource";

/// The members of a CloudTrail record scaletag reads, and nothing else: `userIdentity`,
/// `sessionContext` and the rest vary by caller (an IAM user in the console has
/// `"sessionIssuer": {}`, a service has `invokedBy` and no session) and decide nothing here, so
/// they are not decoded at all. `aws_lambda_events`' `AWSAPICall` requires fields AWS leaves
/// empty or out, which is why this is not it (docs/aws-behaviour.md §9).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiCallRecord {
    event_name: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    request_parameters: Option<CallParameters>,
    #[serde(default)]
    response_elements: Option<CallResponse>,
}

/// "Tag Change on Resource": the resource in `resources`, the keys in `changed-tag-keys`.
#[derive(Debug, serde::Deserialize)]
struct TagChange {
    #[serde(default)]
    resources: Vec<String>,
    detail: TagChangeDetail,
}

#[derive(Debug, serde::Deserialize)]
struct TagChangeDetail {
    #[serde(rename = "changed-tag-keys", default)]
    changed_tag_keys: Option<Vec<String>>,
}

/// The request members scaletag reads (CloudTrail records them in camelCase; the Tagging API
/// spells its list `resourceARNList` and records its tags as a map).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallParameters {
    inference_component_name: Option<String>,
    endpoint_name: Option<String>,
    resource_arn: Option<String>,
    #[serde(rename = "resourceARNList")]
    resource_arn_list: Option<Vec<String>>,
    tags: Option<TagsMember>,
    tag_keys: Option<Vec<String>>,
}

/// `tags` as each API records it: SageMaker's `AddTags` a list of `{key, value}`, the Tagging
/// API's `TagResources` a map of key to value.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum TagsMember {
    List(Vec<TagMember>),
    Map(serde_json::Map<String, Value>),
}

#[derive(Debug, serde::Deserialize)]
struct TagMember {
    key: String,
}

impl TagsMember {
    fn keys(self) -> Vec<String> {
        match self {
            TagsMember::List(l) => l.into_iter().map(|t| t.key).collect(),
            TagsMember::Map(m) => m.into_iter().map(|(k, _)| k).collect(),
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallResponse {
    inference_component_arn: Option<String>,
    /// The Tagging API's resources it could not tag, by ARN: their tags did not change.
    failed_resources_map: Option<serde_json::Map<String, Value>>,
}

/// An API call recorded by CloudTrail (SageMaker's own, or the Tagging API's on SageMaker
/// resources), decoded leniently: only `detail` and the members above are read.
fn api_call(payload: &Value) -> Result<Trigger, EventError> {
    let detail = payload
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| EventError::BadApiCall("no `detail` object".into()))?;
    let call: ApiCallRecord = serde_path_to_error::deserialize(detail).map_err(|e| {
        EventError::BadApiCall(truncate(&format!("`detail.{}`: {}", e.path(), e.inner())))
    })?;
    // A failed call changed nothing (the rule filters them out; a hand-made event may not).
    if let Some(code) = &call.error_code {
        return Ok(Trigger::Ignored(format!(
            "{} failed ({}); nothing changed",
            truncate(&call.event_name),
            truncate(code)
        )));
    }
    let params = call.request_parameters.unwrap_or_default();
    match call.event_name.as_str() {
        "CreateInferenceComponent" | "UpdateInferenceComponent" => {
            let name = component_named(params.inference_component_name)?;
            let response_arn = call
                .response_elements
                .and_then(|r| r.inference_component_arn);
            Ok(Trigger::ComponentCall(ComponentCall {
                event_name: call.event_name,
                arn: response_arn.filter(|a| {
                    component_arn_name(a).is_some_and(|n| n.eq_ignore_ascii_case(&name))
                }),
                name,
            }))
        }
        "DeleteInferenceComponent" => Ok(Trigger::ComponentDeleted {
            name: component_named(params.inference_component_name)?,
        }),
        "DeleteEndpoint" => {
            let name = params
                .endpoint_name
                .filter(|n| is_endpoint_name(n))
                .ok_or_else(|| {
                    EventError::BadApiCall("no usable `requestParameters.endpointName`".into())
                })?;
            Ok(Trigger::EndpointDeleted { name })
        }
        "AddTags" | "DeleteTags" | "TagResources" | "UntagResources" => {
            let failed = call
                .response_elements
                .and_then(|r| r.failed_resources_map)
                .unwrap_or_default();
            let keys = match (params.tags, params.tag_keys) {
                (Some(tags), _) => Some(tags.keys()),
                (None, keys) => keys,
            };
            let arns = params
                .resource_arn
                .into_iter()
                .chain(params.resource_arn_list.unwrap_or_default())
                .filter(|arn| !failed.contains_key(arn));
            Ok(tagged(call.event_name, arns, keys))
        }
        other => Ok(Trigger::Ignored(format!(
            "the API call `{}` does not change scaling",
            truncate(other)
        ))),
    }
}

fn component_named(name: Option<String>) -> Result<String, EventError> {
    name.filter(|n| is_endpoint_name(n)).ok_or_else(|| {
        EventError::BadApiCall("no usable `requestParameters.inferenceComponentName`".into())
    })
}

/// A tag edit: the endpoints and ICs among the ARNs it names; other resources are no concern
/// of scaletag's.
fn tagged(
    event_name: String,
    arns: impl IntoIterator<Item = String>,
    keys: Option<Vec<String>>,
) -> Trigger {
    let mut edit = Tagged {
        keys,
        event_name,
        endpoints: Vec::new(),
        components: Vec::new(),
    };
    for arn in arns {
        let list = if component_arn_name(&arn).is_some() {
            &mut edit.components
        } else if endpoint_arn_name(&arn).is_some() {
            &mut edit.endpoints
        } else {
            continue;
        };
        if !list.contains(&arn) {
            list.push(arn);
        }
    }
    if edit.endpoints.is_empty() && edit.components.is_empty() {
        return Trigger::Ignored(format!(
            "{} on no endpoint or inference component",
            truncate(&edit.event_name)
        ));
    }
    Trigger::Tagged(edit)
}

/// EventBridge's "Tag Change on Resource", for a service that sends it.
fn tag_change(payload: &Value) -> Result<Trigger, EventError> {
    let change: TagChange = serde_path_to_error::deserialize(payload)
        .map_err(|e| EventError::BadApiCall(truncate(&format!("`{}`: {}", e.path(), e.inner()))))?;
    Ok(tagged(
        TAG_CHANGE_DETAIL_TYPE.into(),
        change.resources,
        change.detail.changed_tag_keys,
    ))
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

/// An SQS batch from the re-check queue, through `aws_lambda_events`' `SqsEvent`. A message
/// whose body is not a re-check is refused on its own: the others are re-checked all the same.
fn recheck(records: &Value) -> Result<Trigger, EventError> {
    use aws_lambda_events::event::sqs::SqsEvent;
    let batch: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": records }))
        .map_err(|e| EventError::BadRecheck(truncate(&e.to_string())))?;
    let mut out = RecheckBatch::default();
    for m in batch.records {
        let message_id = m.message_id.unwrap_or_default();
        match recheck_body(m.body.as_deref().unwrap_or_default()) {
            Ok(mut r) => {
                r.message_id = message_id;
                out.rechecks.push(r);
            }
            Err(problem) => out.refused.push(RefusedMessage {
                message_id,
                problem: truncate(&problem),
            }),
        }
    }
    Ok(Trigger::Recheck(out))
}

fn recheck_body(body: &str) -> Result<Recheck, String> {
    let r: Recheck = serde_json::from_str(body)
        .map_err(|e| format!("the body is not a scaletag re-check: {e}"))?;
    if !is_endpoint_name(&r.inference_component) {
        return Err(format!(
            "`{}` is not an inference component name",
            truncate(&r.inference_component)
        ));
    }
    Ok(r)
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
    if (source_name == SOURCE || source_name == TAGGING_SOURCE)
        && detail_type == API_CALL_DETAIL_TYPE
    {
        return api_call(payload);
    }
    if source_name == TAG_CHANGE_SOURCE && detail_type == TAG_CHANGE_DETAIL_TYPE {
        return tag_change(payload);
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
    if status == DELETING {
        return Ok(Trigger::EndpointDeleted {
            name: endpoint_name,
        });
    }
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
            assert_eq!(c.name, "llama-ic", "{file}");
        }
        let Ok(Trigger::Tagged(t)) = decode(&cloudtrail("tags")) else {
            panic!("{:?}", decode(&cloudtrail("tags")))
        };
        assert!(t.endpoints.is_empty());
        assert_eq!(t.components.len(), 1);
        assert!(t.components[0].ends_with(":inference-component/llama-ic"));
        assert!(t.touches("autoscaling", "autoscaling:status"));
        assert!(!t.touches("scaling", "scaling:status"));
    }

    #[test]
    fn a_deleted_endpoint_is_named_by_its_event_and_by_its_api_call() {
        let mut v = sample();
        v["detail"]["EndpointStatus"] = json!("DELETING");
        assert_eq!(
            decode(&v),
            Ok(Trigger::EndpointDeleted {
                name: "MyEndpoint".into()
            })
        );
        let mut v = cloudtrail("created");
        v["detail"]["eventName"] = json!("DeleteEndpoint");
        v["detail"]["requestParameters"] = json!({"endpointName": "churn"});
        v["detail"]["responseElements"] = Value::Null;
        assert_eq!(
            decode(&v),
            Ok(Trigger::EndpointDeleted {
                name: "churn".into()
            })
        );
    }

    #[test]
    fn a_deleted_inference_component_is_named() {
        let mut v = cloudtrail("created");
        v["detail"]["eventName"] = json!("DeleteInferenceComponent");
        v["detail"]["requestParameters"] = json!({"inferenceComponentName": "llama-ic"});
        v["detail"]["responseElements"] = Value::Null;
        assert_eq!(
            decode(&v),
            Ok(Trigger::ComponentDeleted {
                name: "llama-ic".into()
            })
        );
    }

    /// The Tagging API's record: many ARNs, tags as a map; other services' ARNs are left out.
    #[test]
    fn tagging_api_calls_name_every_endpoint_and_component() {
        let mut v = cloudtrail("tags");
        v["source"] = json!("aws.tagging");
        v["detail"]["eventSource"] = json!("tagging.amazonaws.com");
        v["detail"]["eventName"] = json!("TagResources");
        v["detail"]["requestParameters"] = json!({
            "resourceARNList": [
                "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn",
                "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llama-ic",
                "arn:aws:s3:::bucket",
                "arn:aws:sagemaker:us-east-1:123456789012:model/llama"
            ],
            "tags": {"team": "ml", "autoscaling:template": "default"}
        });
        v["detail"]["responseElements"] = json!({"failedResourcesMap": {}});
        let Ok(Trigger::Tagged(t)) = decode(&v) else {
            panic!("{:?}", decode(&v))
        };
        assert_eq!(t.endpoints.len(), 1);
        assert_eq!(t.components.len(), 1);
        assert!(t.touches("autoscaling", "autoscaling:status"));
        v["detail"]["eventName"] = json!("UntagResources");
        v["detail"]["requestParameters"] = json!({
            "resourceARNList": ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn"],
            "tagKeys": ["team"]
        });
        let Ok(Trigger::Tagged(t)) = decode(&v) else {
            panic!("{:?}", decode(&v))
        };
        assert!(
            !t.touches("autoscaling", "autoscaling:status"),
            "a key outside the prefix"
        );
        v["detail"]["requestParameters"] = json!({"resourceARNList": ["arn:aws:s3:::bucket"], "tagKeys": ["autoscaling:template"]});
        assert!(matches!(decode(&v), Ok(Trigger::Ignored(_))));
    }

    /// AWS's published `userIdentity` of every kind of caller (events/callers/SOURCES.md):
    /// console sessions with `"sessionIssuer": {}`, services with `invokedBy` and no session,
    /// federated and Identity Center users, another account. Each names the endpoint.
    #[test]
    fn every_kind_of_caller_in_awss_own_samples_decodes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/callers");
        let mut seen = 0;
        for file in std::fs::read_dir(&dir).expect("events/callers") {
            let path = file.expect("entry").path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let Ok(Trigger::Tagged(t)) = decode(&v) else {
                panic!("{}: {:?}", path.display(), decode(&v))
            };
            assert_eq!(t.endpoints.len(), 1, "{}", path.display());
            assert_eq!(
                endpoint_arn_name(&t.endpoints[0]),
                Some("churn-model"),
                "{}",
                path.display()
            );
            seen += 1;
        }
        assert!(seen >= 9, "only {seen} samples");
    }

    /// What the record may leave out, or hold in a shape scaletag does not read, changes
    /// nothing: `userIdentity` is not decoded at all.
    #[test]
    fn fields_scaletag_does_not_read_may_be_missing_or_partial() {
        let base = cloudtrail("tags");
        let variants = [
            json!({"type": "AssumedRole", "sessionContext": {"sessionIssuer": {}}}),
            json!({"type": "AssumedRole", "sessionContext": {"attributes": {"creationDate": "20131102T010628Z"}}}),
            json!({"type": "AssumedRole", "sessionContext": {"attributes": {"mfaAuthenticated": "true"}}}),
            json!({"accountId": "123456789012", "invokedBy": "servicequotas.amazonaws.com"}),
            Value::Null,
        ];
        for identity in variants {
            let mut v = base.clone();
            v["detail"]["userIdentity"] = identity.clone();
            assert!(matches!(decode(&v), Ok(Trigger::Tagged(_))), "{identity}");
        }
        let mut v = base.clone();
        for field in [
            "userIdentity",
            "eventVersion",
            "sourceIPAddress",
            "userAgent",
            "requestID",
            "eventID",
            "eventType",
            "responseElements",
        ] {
            v["detail"].as_object_mut().unwrap().remove(field);
        }
        v.as_object_mut().unwrap().remove("time");
        v.as_object_mut().unwrap().remove("resources");
        assert!(matches!(decode(&v), Ok(Trigger::Tagged(_))), "{v}");
    }

    #[test]
    fn tag_change_on_resource_events_name_the_resource_and_keys() {
        let v: Value =
            serde_json::from_str(include_str!("../events/tag-change-on-resource.json")).unwrap();
        let Ok(Trigger::Tagged(t)) = decode(&v) else {
            panic!("{:?}", decode(&v))
        };
        assert_eq!(t.endpoints.len(), 1);
        assert!(t.touches("autoscaling", "autoscaling:status"));
        // scaletag's own status write is no edit to act on.
        let mut own = v.clone();
        own["detail"]["changed-tag-keys"] = json!(["autoscaling:status"]);
        let Ok(Trigger::Tagged(t)) = decode(&own) else {
            panic!()
        };
        assert!(!t.touches("autoscaling", "autoscaling:status"));
    }

    #[test]
    fn resources_the_tagging_api_failed_to_tag_are_left_out() {
        let mut v: Value =
            serde_json::from_str(include_str!("../events/tags-added.tagging-api.json")).unwrap();
        let Ok(Trigger::Tagged(t)) = decode(&v) else {
            panic!()
        };
        assert_eq!((t.endpoints.len(), t.components.len()), (1, 1));
        let endpoint = t.endpoints[0].clone();
        v["detail"]["responseElements"]["failedResourcesMap"] =
            json!({ endpoint: {"StatusCode": 403, "ErrorCode": "InvalidParameterException"} });
        let Ok(Trigger::Tagged(t)) = decode(&v) else {
            panic!()
        };
        assert_eq!((t.endpoints.len(), t.components.len()), (0, 1));
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
        assert!(matches!(decode(&v), Ok(Trigger::Tagged(t)) if t.endpoints.len() == 1));
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
        let Ok(Trigger::Recheck(b)) = decode(&batch) else {
            panic!("{:?}", decode(&batch))
        };
        let r = &b.rechecks;
        assert_eq!(
            (
                r[0].message_id.as_str(),
                r[0].inference_component.as_str(),
                r[0].attempt
            ),
            ("m1", "llama-ic", 2)
        );
        // Bad bodies are refused one by one; the good message beside them still counts.
        let mixed = json!({"Records": [
            {"messageId": "m2", "body": "not json"},
            {"messageId": "m3", "body": "{\"inference_component\":\"bad/name\"}"},
            {"messageId": "m4", "body": "{\"inference_component\":\"llama-ic\"}"}
        ]});
        let Ok(Trigger::Recheck(b)) = decode(&mixed) else {
            panic!("{:?}", decode(&mixed))
        };
        assert_eq!(b.rechecks.len(), 1);
        assert_eq!(b.rechecks[0].message_id, "m4");
        let refused: Vec<&str> = b.refused.iter().map(|r| r.message_id.as_str()).collect();
        assert_eq!(refused, ["m2", "m3"]);
        assert!(b.refused[1].problem.contains("bad/name"), "{:?}", b.refused);
    }
}
