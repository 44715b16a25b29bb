//! The Tagging API is eventually consistent with SageMaker's own tags: the sweep never acts
//! on tags it has not caught up with in a way that undoes a user's edit. Its own file: a sweep
//! acts on the whole moto server.

use scaletag_testkit as support;
use support::ok;

use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";

#[test]
fn tags_the_tagging_api_has_not_caught_up_with_never_undo_a_users_edit() {
    let h = Harness::start(&[]);
    let arn = h.fx.create_endpoint(
        "lagging",
        &[Variant::Instances("AllTraffic", "ml.m5.large")],
        &[(TEMPLATE, "default")],
    );
    // The Tagging API keeps answering what it answered for this sweep: `default`.
    h.proxy.freeze("GetResources");
    let first = ok(h.invoke(&support::sweep_event()));
    assert_eq!(first["counts"]["applied"], 1, "{first}");

    // The user switches the template; the tag event applies it at once.
    h.fx.set_tags(&arn, &[(TEMPLATE, "responsive")]);
    let event = support::event("in-service.rfc3339.json", "lagging", &arn);
    assert_eq!(ok(h.invoke(&event))["outcome"], "applied");
    let applied = h.fx.state("lagging");
    h.proxy.clear();

    // The sweep, told `default` by the Tagging API, would put the old policy back. It reads
    // the endpoint's own tags before any write, finds `responsive`, and writes nothing.
    let swept = ok(h.invoke(&support::sweep_event()));
    assert_eq!(swept["counts"]["unchanged"], 1, "{swept}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    assert_eq!(h.proxy.count("ListTags"), 1, "{:?}", h.proxy.ops());
    assert_eq!(h.fx.state("lagging"), applied);
}
