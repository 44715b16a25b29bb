//! Inference components and the sweep, end to end. A sweep acts on every IC of the moto
//! server, so these steps run in one test, in order, in a file (a process, a server) of their own.

use scaletag_testkit as support;
use support::ok;

use std::time::Duration;

use serde_json::Value;
use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";
const MIN: &str = "autoscaling:min-capacity";

#[test]
fn the_sweep_scales_what_no_event_reached_and_cleans_up_after_deleted_ics() {
    let h = Harness::start(&[]);
    // Without a re-check queue, a Creating IC is left to the sweep, which scales it.
    h.fx.create_ic_endpoint("ic-ep-5", 0);
    let arn =
        h.fx.create_component("ic-swept", "ic-ep-5", &[(TEMPLATE, "ic-concurrency")]);
    let out = ok(h.invoke(&support::api_call(
        "ic-created.cloudtrail.json",
        "ic-swept",
        &arn,
    )));
    assert!(
        out["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("the next sweep"),
        "{out}"
    );
    h.fx.set_component_status("ic-swept", "InService");
    let sweep = ok(h.invoke(&support::sweep_event()));
    let line = sweep["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["inference_component"] == "ic-swept")
        .cloned()
        .unwrap_or_else(|| panic!("{sweep}"));
    assert_eq!(line["result"], "applied", "{line}");
    assert_eq!(line["endpoint"], "ic-ep-5");

    // An endpoint event reconciles its ICs, tagged endpoint or not; the sweep then cleans up
    // after one that is deleted.
    let endpoint_arn = h.fx.create_ic_endpoint("ic-ep-6", 0);
    h.fx.create_component(
        "ic-gone",
        "ic-ep-6",
        &[(TEMPLATE, "ic-invocations"), (MIN, "0")],
    );
    h.fx.set_component_status("ic-gone", "InService");
    let bad =
        h.fx.create_component("ic-bad-tags", "ic-ep-6", &[(TEMPLATE, "default")]);
    h.fx.set_component_status("ic-bad-tags", "InService");
    let event = support::event("in-service.rfc3339.json", "ic-ep-6", &endpoint_arn);
    let out = ok(h.invoke(&event));
    assert_eq!(
        out["outcome"], "skipped",
        "the endpoint is not tagged: {out}"
    );
    let ics = out["inference_components"].as_array().unwrap();
    let of = |name: &str| {
        ics.iter()
            .find(|o| o["inference_component"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(of("ic-gone")["outcome"], "applied", "{out}");
    assert!(h.fx.wake_alarm("ic-gone").is_some());
    // One IC's bad tags do not fail the endpoint's event: said, and marked on the IC.
    let rejected = of("ic-bad-tags");
    assert!(
        rejected["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("tags rejected"),
        "{out}"
    );
    assert_eq!(h.fx.status(&bad).as_deref(), Some("rejected 1 problem"));
    // ... and counted as Rejected, so the problems alarm sees it.
    std::thread::sleep(Duration::from_millis(100));
    let record = h
        .function
        .logs()
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_default();
    assert_eq!(record["Rejected"], 1.0, "{record}");
    assert_eq!(record["Applied"], 1.0, "{record}");

    // The IC is deleted; what scaletag made for it does not outlive it.
    h.fx.delete_component("ic-gone");
    let sweep = ok(h.invoke(&support::sweep_event()));
    let line = sweep["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["inference_component"] == "ic-gone")
        .cloned()
        .unwrap_or_else(|| panic!("{sweep}"));
    assert_eq!(line["result"], "detached", "{line}");
    assert!(h.fx.wake_alarm("ic-gone").is_none());
    assert!(h.fx.component_state("ic-gone").targets.is_empty());
}
