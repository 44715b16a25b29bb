//! A sweep with one rejected endpoint, end to end. A sweep acts on every endpoint of the moto
//! server, so it has a file (a process, a server) of its own.

use scaletag_testkit as support;

use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";

#[test]
fn a_sweep_with_one_rejected_endpoint_reports_it_and_marks_it() {
    let h = Harness::start(&[]);
    let (good, _) = h.one_variant("status-sweep-good", &[(TEMPLATE, "default")]);
    let (bad, _) = h.one_variant(
        "status-sweep-bad",
        &[(TEMPLATE, "default"), ("autoscaling:min-capacity", "9")],
    );
    let sweep = support::sweep_event();
    // A rejection is not a failed sweep (no retry mends it): the report and the tag tell it.
    let report = h.invoke(&sweep).expect("the sweep succeeds");
    let line = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == "status-sweep-bad")
        .cloned()
        .unwrap_or_default();
    assert_eq!(line["result"], "rejected", "{report}");
    assert_eq!(h.fx.status(&bad).as_deref(), Some("rejected 1 problem"));
    assert_eq!(h.fx.status(&good).as_deref(), Some("ok"));
}
