//! The sweep reads what AAS and CloudWatch hold in bulk, a page at a time, not per resource;
//! a resource whose decision has writes is read afresh before any. A sweep acts on every
//! resource of the moto server, so this runs in a file (a process, a server) of its own.

use scaletag_testkit as support;

use serde_json::Value;
use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";

fn ok(r: Result<Value, Value>) -> Value {
    r.unwrap_or_else(|e| panic!("invocation failed: {e}"))
}

fn count(h: &Harness, op: &str) -> usize {
    h.proxy.ops().iter().filter(|o| *o == op).count()
}

#[test]
fn a_steady_sweep_reads_scaling_state_a_page_at_a_time_and_a_drifted_resource_afresh() {
    let h = Harness::start(&[]);
    // 12 endpoints, 13 scaletag policies: more than one page of DescribeScalingPolicies
    // (10 a page).
    for i in 0..12 {
        let template = if i == 0 { "responsive" } else { "default" };
        h.fx.create_endpoint(
            &format!("bulk-{i:02}"),
            &[Variant::Instances("AllTraffic", "ml.m5.large")],
            &[(TEMPLATE, template)],
        );
    }
    let first = ok(h.invoke(&support::sweep_event()));
    assert_eq!(first["counts"]["applied"], 12, "{first}");

    let steady = ok(h.invoke(&support::sweep_event()));
    assert_eq!(steady["counts"]["unchanged"], 12, "{steady}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    // The listings, once per sweep: two pages of policies, one of each other kind.
    assert_eq!(
        count(&h, "DescribeScalingPolicies"),
        2,
        "{:?}",
        h.proxy.ops()
    );
    assert_eq!(count(&h, "DescribeScalableTargets"), 1);
    assert_eq!(count(&h, "DescribeScheduledActions"), 1);
    assert_eq!(count(&h, "DescribeAlarms"), 1);
    // Per endpoint: its description, its tags, its config.
    for op in ["DescribeEndpoint", "ListTags", "DescribeEndpointConfig"] {
        assert_eq!(count(&h, op), 12, "{op}: {:?}", h.proxy.ops());
    }

    // A policy edited by hand: that endpoint is read afresh, then repaired; the others are not.
    h.fx.put_policy(
        "endpoint/bulk-05/variant/AllTraffic",
        "scaletag-default",
        5.0,
    );
    let repaired = ok(h.invoke(&support::sweep_event()));
    assert_eq!(repaired["counts"]["applied"], 1, "{repaired}");
    let writes: Vec<String> = h.proxy.writes().into_iter().map(|c| c.op).collect();
    assert_eq!(writes, ["PutScalingPolicy"]);
    assert_eq!(
        count(&h, "DescribeScalingPolicies"),
        2 + 1,
        "{:?}",
        h.proxy.ops()
    );
    assert_eq!(count(&h, "DescribeEndpoint"), 12 + 1);
}
