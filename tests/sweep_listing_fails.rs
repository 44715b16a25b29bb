//! A listing page that fails fails the sweep before anything is decided: no write, and the
//! error names the call (here the Tagging API, refused as AWS refuses a role that lacks
//! `tag:GetResources`). Once it is allowed, the next sweep does the work. Its own file: a
//! sweep acts on the whole moto server.

use scaletag_testkit as support;
use support::fixture::Harness;
use support::ok;

const TEMPLATE: &str = "autoscaling:template";

#[test]
fn a_listing_that_fails_fails_the_sweep_with_nothing_written() {
    let h = Harness::start(&[]);
    h.one_variant("listing-fails", &[(TEMPLATE, "default")]);
    h.proxy.clear();
    h.proxy.refuse(
        "GetResources",
        "",
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/scaletag/fn is not authorized to perform: tag:GetResources",
    );
    let err = h
        .invoke(&support::sweep_event())
        .expect_err("a failed listing fails the sweep");
    let message = err["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("GetResources"), "{err}");
    assert!(message.contains("not authorized"), "{err}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    assert_eq!(
        h.proxy.count("GetResources"),
        1,
        "not retried: {:?}",
        h.proxy.ops()
    );

    h.proxy.stop_refusing();
    let swept = ok(h.invoke(&support::sweep_event()));
    assert_eq!(swept["counts"]["applied"], 1, "{swept}");
}
