//! Every listing the sweep reads is followed past its first page: ListEndpoints,
//! ListInferenceComponents and GetResources (100 a page), DescribeScalableTargets and
//! DescribeScheduledActions (50), DescribeScalingPolicies (10), DescribeAlarms (100). A
//! resource on a later page is seen as one on the first: the steady sweep after the backfill
//! finds all of them in shape. Its own file: a sweep acts on the whole moto server.

use scaletag_testkit as support;
use support::ok;

use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";
const MIN: &str = "autoscaling:min-capacity";
const ENDPOINTS: usize = 101;
const COMPONENTS: usize = 101;

#[test]
fn every_listing_is_read_to_its_last_page() {
    let h = Harness::start(&[]);
    for i in 0..ENDPOINTS {
        h.fx.create_endpoint(
            &format!("page-ep-{i:03}"),
            &[Variant::Instances("AllTraffic", "ml.m5.large")],
            &[(TEMPLATE, "default")],
        );
    }
    // One host for all the ICs; each IC at zero has a wake alarm (101: two pages of alarms).
    h.fx.create_ic_endpoint("page-host", 0);
    for i in 0..COMPONENTS {
        let name = format!("page-ic-{i:03}");
        h.fx.create_component(
            &name,
            "page-host",
            &[(TEMPLATE, "ic-invocations"), (MIN, "0")],
        );
        h.fx.set_component_status(&name, "InService");
    }
    let first = ok(h.invoke(&support::sweep_event()));
    assert_eq!(
        first["counts"]["applied"],
        ENDPOINTS + COMPONENTS,
        "{first}"
    );
    // 51 scheduled actions on one target: two pages of them. A schedule owns its target's
    // bounds, so the steady sweep leaves that target as it is.
    for i in 0..51 {
        h.fx.schedule(
            "endpoint/page-ep-000/variant/AllTraffic",
            &format!("nightly-{i:02}"),
            1,
            4,
        );
    }
    h.proxy.clear();

    let steady = ok(h.invoke(&support::sweep_event()));
    assert_eq!(
        steady["counts"]["unchanged"],
        ENDPOINTS + COMPONENTS,
        "{steady}"
    );
    // The host opts in to nothing of its own.
    assert_eq!(steady["counts"]["skipped"], 1, "{steady}");
    assert_eq!(steady["counts"].as_object().map(|c| c.len()), Some(2));
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    // 102 endpoints InService (the host too), 101 ICs, 202 tagged resources, 202 targets,
    // 101 + 2 × 101 policies (each IC at zero has a step policy too), 51 scheduled actions,
    // 101 alarms.
    for (op, pages) in [
        ("ListEndpoints", 2),
        ("ListInferenceComponents", 2),
        ("GetResources", 3),
        ("DescribeScalableTargets", 5),
        ("DescribeScalingPolicies", 31),
        ("DescribeScheduledActions", 2),
        ("DescribeAlarms", 2),
    ] {
        assert_eq!(h.proxy.count(op), pages, "{op}: {:?}", h.proxy.ops());
    }
    // Besides the pages: each endpoint opted in is described, and the ICs' host once for all
    // of them (its instance floor).
    assert_eq!(h.proxy.count("DescribeEndpoint"), ENDPOINTS + 1);
    assert_eq!(h.proxy.calls().len(), 47 + ENDPOINTS + 1);
}
