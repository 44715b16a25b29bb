//! The status tag and tag edits, end to end: what scaletag last did, written on the endpoint
//! only when it changes; a tag edit (a CloudTrail AddTags call) takes effect at once.

use scaletag_testkit as support;

use serde_json::{Value, json};
use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";

fn tags_added(arn: &str) -> Value {
    let text = std::fs::read_to_string(support::repo().join("events/tags-added.cloudtrail.json"))
        .expect("event");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    // AddTags on the endpoint, its ARN as CloudTrail records it (lowercased name).
    v["detail"]["requestParameters"]["resourceArn"] = json!(arn.to_lowercase());
    v["detail"]["requestParameters"]["tags"] =
        json!([{"key": "autoscaling:max-capacity", "value": "5"}]);
    v
}

#[test]
fn the_status_follows_the_result_and_is_written_only_when_it_changes() {
    let h = Harness::start(&[]);
    let (arn, event) = h.one_variant("Status-One", &[(TEMPLATE, "default")]);
    h.invoke(&event).expect("applied");
    assert_eq!(h.fx.status(&arn).as_deref(), Some("ok"));
    h.invoke(&event).expect("unchanged");
    assert!(
        h.proxy.writes().is_empty(),
        "steady state: {:?}",
        h.proxy.ops()
    );

    // A typo: rejected, and the endpoint says so.
    h.fx.set_tags(
        &arn,
        &[(TEMPLATE, "default"), ("autoscaling:max-capcity", "5")],
    );
    h.invoke(&event).expect_err("rejected");
    assert_eq!(h.fx.status(&arn).as_deref(), Some("rejected 1 problem"));
    assert!(h.proxy.scaling_writes().is_empty());
    // Again: the status is already right, nothing is written.
    h.invoke(&event).expect_err("rejected");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());

    // Fixed, by a tag edit that CloudTrail reports: reconciled at once, and ok again.
    h.fx.set_tags(
        &arn,
        &[(TEMPLATE, "default"), ("autoscaling:max-capacity", "5")],
    );
    let out = h.invoke(&tags_added(&arn)).expect("applied");
    assert_eq!(
        out["endpoint"], "Status-One",
        "found by its lowercased ARN: {out}"
    );
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(h.fx.state("Status-One").targets[0].3, 5);
    assert_eq!(h.fx.status(&arn).as_deref(), Some("ok"));
    // The status tag is not a setting: it never makes the tags invalid.
    let again = h.invoke(&event).expect("unchanged");
    assert_eq!(again["outcome"], "unchanged");

    // Opted out (the template tag removed): said once, then left alone.
    h.fx.set_tags(&arn, &[("team", "ml")]);
    let out = h.invoke(&event).expect("skipped");
    assert_eq!(out["outcome"], "skipped");
    assert_eq!(h.fx.status(&arn).as_deref(), Some("not managed"));
    h.invoke(&event).expect("skipped");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
}

#[test]
fn not_opted_in_gets_no_status_and_status_tag_off_writes_none() {
    let h = Harness::start(&[]);
    let (arn, event) = h.one_variant("status-untagged", &[("team", "ml")]);
    h.invoke(&event).expect("skipped");
    assert_eq!(h.fx.status(&arn), None);
    assert!(h.proxy.writes().is_empty());

    let off = Harness::start(&[("STATUS_TAG", "off")]);
    let (arn, event) = off.one_variant("status-off", &[(TEMPLATE, "default")]);
    off.invoke(&event).expect("applied");
    assert_eq!(off.fx.status(&arn), None);
    assert!(
        off.proxy.writes().iter().all(|c| c.op != "AddTags"),
        "{:?}",
        off.proxy.ops()
    );
}
