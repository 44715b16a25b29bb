//! Events and messages exactly as AWS delivers them, end to end through the binary: tag edits
//! by every kind of caller and through every API that records them (SageMaker's own, the
//! Resource Groups Tagging API that Tag Editor uses, EventBridge's "Tag Change on Resource"),
//! an inference component's deletion, and a re-check batch with a message that can never
//! succeed beside good ones.

use scaletag_testkit as support;
use support::ok;

use serde_json::{Value, json};
use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";
const MIN: &str = "autoscaling:min-capacity";

fn sample(file: &str) -> Value {
    let text = std::fs::read_to_string(support::repo().join("events").join(file)).expect("event");
    serde_json::from_str(&text).expect("json")
}

/// AWS's published record of `caller` (events/callers/), its tag edit aimed at `arn`.
fn tag_edit_by(caller: &str, arn: &str) -> Value {
    let mut v = sample(&format!("callers/{caller}.json"));
    v["detail"]["requestParameters"]["resourceArn"] = json!(arn);
    v
}

/// Console sessions of IAM users and of the root user record `"sessionIssuer": {}`; a service
/// calling on someone's behalf records no session at all. Each is a tag edit like any other.
#[test]
fn a_tag_edit_in_the_console_by_an_iam_user_or_the_root_user_reconciles_at_once() {
    let h = Harness::start(&[]);
    let (arn, _) = h.one_variant("edit-console", &[(TEMPLATE, "default")]);
    let out = ok(h.invoke(&tag_edit_by("iam-user-console", &arn)));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(h.fx.state("edit-console").targets.len(), 1);
    for caller in [
        "root-console",
        "aws-service",
        "identity-center-user",
        "federated-user",
    ] {
        let again = ok(h.invoke(&tag_edit_by(caller, &arn)));
        assert_eq!(again["outcome"], "unchanged", "{caller}: {again}");
        assert!(h.proxy.writes().is_empty(), "{caller}: {:?}", h.proxy.ops());
    }
}

/// `TagResources` names up to 20 resources: every endpoint and IC among them is reconciled,
/// the lists read once for all of them; an edit of other tags reads nothing.
#[test]
fn the_tagging_api_reconciles_every_endpoint_and_component_it_names() {
    let h = Harness::start(&[]);
    let (endpoint, _) = h.one_variant("edit-bulk", &[(TEMPLATE, "default")]);
    let ic = h.fx.component_in_service(
        "edit-bulk-ic-ep",
        "edit-bulk-ic",
        &[(TEMPLATE, "ic-concurrency")],
    );
    let mut event = sample("tags-added.tagging-api.json");
    event["detail"]["requestParameters"]["resourceARNList"] =
        json!([endpoint, ic, "arn:aws:s3:::not-sagemaker"]);
    let seen = h.function.logs().len();
    let out = ok(h.invoke(&event));
    let outcomes = out["outcomes"]
        .as_array()
        .unwrap_or_else(|| panic!("{out}"));
    let kinds: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o["outcome"].as_str())
        .collect();
    assert_eq!(kinds, ["applied", "applied"], "{out}");
    assert_eq!(h.fx.state("edit-bulk").targets.len(), 1);
    assert_eq!(h.fx.component_state("edit-bulk-ic").targets.len(), 1);
    let ops = h.proxy.ops();
    for list in ["ListEndpoints", "ListInferenceComponents"] {
        assert_eq!(
            ops.iter().filter(|o| *o == list).count(),
            1,
            "{list}: {ops:?}"
        );
    }
    let record = h.emf_record(seen);
    assert_eq!(record["Applied"], 2.0, "{record}");

    // The same edit again, by the other path AWS may report it by: reads, no writes.
    let mut untag = sample("tags-removed.tagging-api.json");
    untag["detail"]["requestParameters"]["resourceARNList"] = json!([endpoint, ic]);
    let again = ok(h.invoke(&untag));
    assert!(h.proxy.writes().is_empty(), "{again} {:?}", h.proxy.ops());

    // Only tags outside the prefix: nothing to read.
    event["detail"]["requestParameters"]["tags"] = json!({"team": "ml"});
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "skipped", "{out}");
    assert!(h.proxy.calls().is_empty(), "{:?}", h.proxy.ops());
}

#[test]
fn a_tag_change_on_resource_event_reconciles_the_resource() {
    let h = Harness::start(&[]);
    let (arn, _) = h.one_variant("edit-tag-change", &[(TEMPLATE, "default")]);
    let mut event = sample("tag-change-on-resource.json");
    event["resources"] = json!([arn]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    // scaletag's own status write comes back as such an event: ignored without a call.
    event["detail"]["changed-tag-keys"] = json!(["autoscaling:status"]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "skipped", "{out}");
    assert!(h.proxy.calls().is_empty(), "{:?}", h.proxy.ops());
}

/// `DeleteInferenceComponent`: the IC's wake alarm and the target scaletag registered go at
/// once, not at the next sweep.
#[test]
fn a_deleted_inference_component_is_cleaned_up_when_the_call_comes() {
    let h = Harness::start(&[]);
    let arn = h.fx.component_in_service(
        "edit-del-ep",
        "edit-del-ic",
        &[(TEMPLATE, "ic-invocations"), (MIN, "0")],
    );
    ok(h.invoke(&support::api_call(
        "ic-created.cloudtrail.json",
        "edit-del-ic",
        &arn,
    )));
    assert!(h.fx.wake_alarm("edit-del-ic").is_some());
    h.fx.delete_component("edit-del-ic");
    let mut deleted = sample("ic-created.cloudtrail.json");
    deleted["detail"]["eventName"] = json!("DeleteInferenceComponent");
    deleted["detail"]["requestParameters"] = json!({"inferenceComponentName": "edit-del-ic"});
    deleted["detail"]["responseElements"] = Value::Null;
    let out = ok(h.invoke(&deleted));
    assert_eq!(out["inference_component"], "edit-del-ic", "{out}");
    assert!(
        h.fx.wake_alarm("edit-del-ic").is_none(),
        "the alarm outlived its IC"
    );
    assert!(h.fx.component_state("edit-del-ic").targets.is_empty());
    // Delivered twice: nothing left to do.
    ok(h.invoke(&deleted));
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
}

/// A body that is not a re-check is dropped and named; the good message beside it is
/// reconciled, and the batch reports no failure, so Lambda deletes both.
#[test]
fn one_bad_recheck_message_does_not_hold_back_the_batch() {
    let h = Harness::start(&[]);
    h.fx.component_in_service("edit-rc-ep", "edit-rc-ic", &[(TEMPLATE, "ic-concurrency")]);
    let record = |id: &str, body: &str| {
        json!({"messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:recheck", "awsRegion": "us-east-1"})
    };
    let batch = json!({"Records": [
        record("bad-1", "not a re-check"),
        record("good-1", r#"{"inference_component":"edit-rc-ic","attempt":1}"#),
        record("bad-2", r#"{"inference_component":"../etc"}"#),
    ]});
    let seen = h.function.logs().len();
    let answer = ok(h.invoke(&batch));
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(h.fx.component_state("edit-rc-ic").targets.len(), 1);
    let metrics = h.emf_record(seen);
    assert_eq!(
        (metrics["Applied"].as_f64(), metrics["Rejected"].as_f64()),
        (Some(1.0), Some(2.0)),
        "{metrics}"
    );
    let logs = h.function.logs()[seen..].join("\n");
    for id in ["bad-1", "bad-2"] {
        assert!(logs.contains(id), "message {id} is not named in the log");
    }
}
