//! The function's metrics, end to end: each invocation prints one embedded-metric-format
//! record on stdout, where CloudWatch Logs turns it into metrics.

use std::time::Duration;

use scaletag_testkit as support;
use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";

#[test]
fn every_invocation_prints_one_emf_record_with_its_outcome() {
    let h = Harness::start(&[("METRICS_NAMESPACE", "Platform/scaletag")]);
    let name = "metrics-one";
    let (arn, event) = h.one_variant(name, &[(TEMPLATE, "default")]);

    let mut seen = h.function.logs().len();
    h.invoke(&event).expect("applied");
    let first = h.emf_record(seen);
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
    let steady = h.emf_record(seen);
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
    let rejected = h.emf_record(seen);
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
    let record = h.emf_record(seen);
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
