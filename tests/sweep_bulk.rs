//! The sweep reads in bulk, a page at a time, not per resource: the listings, every
//! resource's tags (the Tagging API's GetResources), and what AAS and CloudWatch hold. A
//! resource whose decision has writes is read afresh (its own tags, what AAS holds for it)
//! before any. A sweep acts on every resource of the moto server, so this runs in a file (a
//! process, a server) of its own.

use scaletag_testkit as support;
use support::ok;

use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";

#[test]
fn a_steady_sweep_reads_in_bulk_and_a_drifted_resource_afresh() {
    let h = Harness::start(&[]);
    // 12 endpoints opted in, 13 scaletag policies: more than one page of
    // DescribeScalingPolicies (10 a page); 3 more endpoints not opted in, one of them untagged.
    for i in 0..12 {
        let template = if i == 0 { "responsive" } else { "default" };
        h.fx.create_endpoint(
            &format!("bulk-{i:02}"),
            &[Variant::Instances("AllTraffic", "ml.m5.large")],
            &[(TEMPLATE, template)],
        );
    }
    for (name, tags) in [
        ("bulk-plain-1", &[("team", "ml")][..]),
        ("bulk-plain-2", &[("team", "ml")][..]),
        ("bulk-plain-3", &[][..]),
    ] {
        h.fx.create_endpoint(
            name,
            &[Variant::Instances("AllTraffic", "ml.m5.large")],
            tags,
        );
    }
    let first = ok(h.invoke(&support::sweep_event()));
    assert_eq!(first["counts"]["applied"], 12, "{first}");
    assert_eq!(first["counts"]["skipped"], 3, "{first}");

    let steady = ok(h.invoke(&support::sweep_event()));
    assert_eq!(steady["counts"]["unchanged"], 12, "{steady}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    // The listings, once per sweep: two pages of policies, one of each other kind.
    for (op, pages) in [
        ("DescribeScalingPolicies", 2),
        ("DescribeScalableTargets", 1),
        ("DescribeScheduledActions", 1),
        ("DescribeAlarms", 1),
        ("ListEndpoints", 1),
        ("ListInferenceComponents", 1),
        ("GetResources", 1),
    ] {
        assert_eq!(h.proxy.count(op), pages, "{op}: {:?}", h.proxy.ops());
    }
    // Per endpoint opted in: its description. The tags came with GetResources; the configs
    // were read by the first sweep and never change. An endpoint not opted in costs nothing.
    assert_eq!(h.proxy.count("DescribeEndpoint"), 12, "{:?}", h.proxy.ops());
    for op in ["ListTags", "DescribeEndpointConfig"] {
        assert_eq!(h.proxy.count(op), 0, "{op}: {:?}", h.proxy.ops());
    }
    assert_eq!(h.proxy.calls().len(), 7 + 1 + 12);

    // A policy edited by hand: that endpoint is read afresh (its tags, what AAS holds for it),
    // then repaired; the others are not.
    h.fx.put_policy(
        "endpoint/bulk-05/variant/AllTraffic",
        "scaletag-default",
        5.0,
    );
    let repaired = ok(h.invoke(&support::sweep_event()));
    assert_eq!(repaired["counts"]["applied"], 1, "{repaired}");
    let writes: Vec<String> = h.proxy.writes().into_iter().map(|c| c.op).collect();
    assert_eq!(writes, ["PutScalingPolicy"]);
    assert_eq!(h.proxy.count("DescribeScalingPolicies"), 2 + 1);
    assert_eq!(h.proxy.count("ListTags"), 1);
    assert_eq!(h.proxy.count("DescribeEndpoint"), 12);
}
