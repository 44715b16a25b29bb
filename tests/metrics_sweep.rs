//! The metrics of a sweep that could not reconcile everything, end to end. A sweep acts on every
//! endpoint of the moto server, so it has a file (a process, a server) of its own.

use scaletag_testkit as support;
use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";

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
    let scheduled = support::sweep_event();
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
    let record = h.emf_record(seen);
    assert_eq!(record["trigger"], "sweep");
    assert!(record["Failed"].as_f64() >= Some(1.0), "{record}");
    assert!(record["Rejected"].as_f64() >= Some(1.0), "{record}");
    let named = record["failed_or_rejected"].to_string();
    assert!(
        named.contains("metrics-sweep-refused") && named.contains("metrics-sweep-typo"),
        "{named}"
    );
}
