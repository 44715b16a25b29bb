//! The function's metrics, end to end: each invocation prints one embedded-metric-format
//! record on stdout, where CloudWatch Logs turns it into metrics.

use std::time::Duration;

use scaletag_testkit as support;
use serde_json::Value;
use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";

/// The EMF records the function printed since `from` log lines.
fn records(h: &Harness, from: usize) -> Vec<Value> {
    // The log is read by another thread: give the last line a moment to arrive.
    std::thread::sleep(Duration::from_millis(100));
    h.function.logs()[from..]
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

fn only(records: Vec<Value>) -> Value {
    assert_eq!(records.len(), 1, "one record per invocation: {records:?}");
    records.into_iter().next().unwrap_or_default()
}

#[test]
fn every_invocation_prints_one_emf_record_with_its_outcome() {
    let h = Harness::start(&[("METRICS_NAMESPACE", "Platform/scaletag")]);
    let name = "metrics-one";
    let (arn, event) = h.one_variant(name, &[(TEMPLATE, "default")]);

    let mut seen = h.function.logs().len();
    h.invoke(&event).expect("applied");
    let first = only(records(&h, seen));
    let directive = &first["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Platform/scaletag");
    assert_eq!(directive["Dimensions"], serde_json::json!([[]]));
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metric definitions")
        .iter()
        .filter_map(|m| m["Name"].as_str())
        .collect();
    for n in &names {
        assert!(first[*n].is_number(), "metric {n} has no value: {first}");
    }
    assert!(first["_aws"]["Timestamp"].is_u64());
    assert_eq!(first["Applied"], 1.0);
    assert_eq!(first["Unchanged"], 0.0);
    assert_eq!(first["Writes"], 2.0);
    assert_eq!(first["endpoint"], name);
    assert!(first["Duration"].as_f64().is_some_and(|d| d > 0.0));

    // Steady state: unchanged, no write.
    seen = h.function.logs().len();
    h.invoke(&event).expect("unchanged");
    let steady = only(records(&h, seen));
    assert_eq!(
        (steady["Unchanged"].as_f64(), steady["Writes"].as_f64()),
        (Some(1.0), Some(0.0))
    );

    // A typo in a tag: rejected, visible as such.
    h.fx.set_tags(
        &arn,
        &[(TEMPLATE, "default"), ("autoscaling:max-capcity", "3")],
    );
    seen = h.function.logs().len();
    h.invoke(&event).expect_err("rejected");
    let rejected = only(records(&h, seen));
    assert_eq!(rejected["Rejected"], 1.0);
    assert_eq!(rejected["result"], "rejected");
}

#[test]
fn retries_and_throttles_are_counted() {
    let h = Harness::start(&[]);
    let (_, event) = h.one_variant("metrics-throttled", &[(TEMPLATE, "default")]);
    h.proxy.throttle_every(Some(2));
    let seen = h.function.logs().len();
    h.invoke(&event).expect("applied despite throttling");
    let injected = h.proxy.throttle_every(None);
    let record = only(records(&h, seen));
    assert!(injected > 0);
    assert_eq!(
        record["Throttles"].as_f64(),
        Some(injected as f64),
        "{record}"
    );
    assert!(
        record["Retries"].as_f64() >= Some(injected as f64),
        "{record}"
    );
}

#[test]
fn an_invalid_namespace_stops_the_function_at_start_up() {
    let mut h = Harness::start(&[("METRICS_NAMESPACE", "AWS/SageMaker")]);
    assert_eq!(h.function.wait_exit(Duration::from_secs(10)), Some(1));
    assert!(
        h.function
            .logs()
            .iter()
            .any(|l| l.contains("reserved for AWS services")),
        "{:?}",
        h.function.logs()
    );
}

#[test]
fn a_sweep_that_could_not_reconcile_everything_fails_after_finishing_the_rest() {
    let h = Harness::start(&[]);
    let (_, _) = h.one_variant("metrics-sweep-ok", &[(TEMPLATE, "default")]);
    let (_, _) = h.one_variant("metrics-sweep-typo", &[(TEMPLATE, "defualt")]);
    let (_, _) = h.one_variant("metrics-sweep-refused", &[(TEMPLATE, "default")]);
    h.proxy.refuse(
        "PutScalingPolicy",
        "metrics-sweep-refused",
        "ValidationException",
        "refused for this test",
    );
    let scheduled = serde_json::json!({"version": "0", "id": "5e0c7a2b-0000-4000-8000-000000000002",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-11-29T10:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/scaletag-Sweep"], "detail": {}});
    let seen = h.function.logs().len();
    let err = h
        .invoke(&scheduled)
        .expect_err("a failed endpoint fails the sweep");
    assert_eq!(err["errorType"], "scaletag.SweepIncomplete", "{err}");
    let message = err["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("metrics-sweep-refused"), "{message}");
    assert!(
        !message.contains("metrics-sweep-typo"),
        "a rejection is not a failure: {message}"
    );
    // Every other endpoint was done first.
    assert_eq!(
        h.fx.state("metrics-sweep-ok").policy_names(),
        ["scaletag-default"]
    );
    let record = only(records(&h, seen));
    assert_eq!(record["trigger"], "sweep");
    assert!(record["Failed"].as_f64() >= Some(1.0), "{record}");
    assert!(record["Rejected"].as_f64() >= Some(1.0), "{record}");
    let named = record["failed_or_rejected"].to_string();
    assert!(
        named.contains("metrics-sweep-refused") && named.contains("metrics-sweep-typo"),
        "{named}"
    );
}
