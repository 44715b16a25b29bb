//! The sweep and wake alarms of every kind, end to end. A sweep acts on every resource of the
//! moto server, so this runs in a file (a process, a server) of its own.

use scaletag_testkit as support;
use support::ok;

use serde_json::Value;
use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";
const MIN: &str = "autoscaling:min-capacity";

/// Every live wake alarm stays, an async endpoint's and an IC's alike; only those whose
/// resource is gone go. An alarm of one kind is never taken for another kind's leftover.
#[test]
fn the_sweep_keeps_every_live_wake_alarm_and_removes_only_those_of_gone_resources() {
    let h = Harness::start(&[]);
    let zero = [(TEMPLATE, "async-backlog"), (MIN, "0")];
    for name in ["sweep-async-live", "sweep-async-gone"] {
        let arn =
            h.fx.create_endpoint(name, &[Variant::Async("AllTraffic", "ml.g5.xlarge")], &zero);
        ok(h.invoke(&support::event("in-service.async.json", name, &arn)));
    }
    for ic in ["sweep-ic-live", "sweep-ic-gone"] {
        let arn = h.fx.component_in_service(
            &format!("{ic}-ep"),
            ic,
            &[(TEMPLATE, "ic-invocations"), (MIN, "0")],
        );
        ok(h.invoke(&support::api_call("ic-created.cloudtrail.json", ic, &arn)));
    }
    let async_alarm = |endpoint: &str| format!("scaletag-wake-{endpoint}/AllTraffic");
    for name in ["sweep-async-live", "sweep-async-gone"] {
        assert!(h.fx.alarm_named(&async_alarm(name)).is_some(), "{name}");
    }
    // Deleted while no event reached scaletag: only the sweep can find what they left.
    h.fx.delete_endpoint("sweep-async-gone");
    h.fx.delete_component("sweep-ic-gone");

    let sweep = ok(h.invoke(&support::sweep_event()));
    assert!(h.fx.alarm_named(&async_alarm("sweep-async-live")).is_some());
    assert!(h.fx.wake_alarm("sweep-ic-live").is_some());
    assert!(h.fx.alarm_named(&async_alarm("sweep-async-gone")).is_none());
    assert!(h.fx.wake_alarm("sweep-ic-gone").is_none());
    let results = sweep["results"].as_array().expect("results");
    let line = |pick: &dyn Fn(&Value) -> bool| {
        results
            .iter()
            .find(|e| pick(e))
            .cloned()
            .unwrap_or_else(|| panic!("{sweep}"))
    };
    let gone = line(&|e| e["endpoint"] == "sweep-async-gone");
    assert_eq!(gone["result"], "detached", "{gone}");
    let live = line(&|e| e["endpoint"] == "sweep-async-live");
    assert_eq!(live["result"], "unchanged", "{live}");
    let ic = line(&|e| e["inference_component"] == "sweep-ic-live");
    assert_eq!(ic["result"], "unchanged", "{ic}");

    // The next sweep finds nothing left to do.
    let again = ok(h.invoke(&support::sweep_event()));
    let wrote: u64 = again["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|e| e["writes"].as_u64())
        .sum();
    assert_eq!(wrote, 0, "{again}");
}
