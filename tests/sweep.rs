//! `scaletag sweep` and the Lambda's scheduled sweep over a fleet of 52 endpoints in moto.
//! One test: a sweep sees every endpoint of the account, so it has this process's moto to itself.

use scaletag_testkit as support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::cli_json;
use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";

fn counts(report: &Value) -> BTreeMap<String, u64> {
    report["counts"]
        .as_object()
        .expect("counts")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect()
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn sweep_backfills_repairs_drift_detaches_and_reports_every_endpoint() {
    let h = Harness::start(&[]);
    let port = h.proxy.port;
    let create = |prefix: &str, n: usize, tags: &[(&str, &str)]| -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let name = format!("{prefix}-{i:02}");
                let arn = h.fx.create_endpoint(
                    &name,
                    &[Variant::Instances("AllTraffic", "ml.m5.large")],
                    tags,
                );
                (name, arn)
            })
            .collect()
    };

    // Endpoints scaletag already manages: 10 to stay, 8 to be opted out.
    let configured = create("configured", 10, &[(TEMPLATE, "default")]);
    let leaving = create("leaving", 8, &[(TEMPLATE, "default")]);
    let (code, first) = cli_json(port, &["sweep"]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(counts(&first), expect(&[("applied", 18)]));

    // Drift: two policies edited by hand. Opt-outs. New endpoints, created "before scaletag".
    for (name, _) in &configured[..2] {
        h.fx.put_policy(
            &format!("endpoint/{name}/variant/AllTraffic"),
            "scaletag-default",
            5.0,
        );
    }
    for (_, arn) in &leaving {
        h.fx.set_tags(arn, &[(TEMPLATE, "off")]);
    }
    create(
        "new",
        20,
        &[(TEMPLATE, "default"), ("autoscaling:max-capacity", "3")],
    );
    create(
        "invalid",
        6,
        &[(TEMPLATE, "default"), ("autoscaling:max-capcity", "3")],
    );
    create("untagged", 8, &[("team", "ml")]);

    // A dry run plans all 52 and writes nothing.
    h.proxy.clear();
    let (code, dry) = cli_json(port, &["sweep", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(dry["endpoints"], 52);
    assert_eq!(
        counts(&dry),
        expect(&[
            ("would-apply", 22),
            ("unchanged", 8),
            ("would-detach", 8),
            ("rejected", 6),
            ("skipped", 8)
        ])
    );
    assert!(
        h.proxy.writes().is_empty(),
        "dry run wrote {} times",
        h.proxy.writes().len()
    );

    // The real sweep, with every fourth Application Auto Scaling call throttled: retried, never fatal.
    h.proxy.throttle_every(Some(4));
    let (code, swept) = cli_json(port, &["sweep", "--concurrency", "8"]);
    let throttled = h.proxy.throttle_every(None);
    assert_eq!(code, 0, "{swept}");
    assert!(throttled > 20, "only {throttled} throttles injected");
    assert_eq!(
        counts(&swept),
        expect(&[
            ("applied", 22),
            ("unchanged", 8),
            ("detached", 8),
            ("rejected", 6),
            ("skipped", 8)
        ])
    );
    let entry = |name: &str| {
        swept["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == name)
            .cloned()
            .unwrap()
    };
    assert!(
        entry("invalid-00")["reason"]
            .as_str()
            .unwrap()
            .contains("did you mean `max-capacity`")
    );
    assert_eq!(
        entry("untagged-00")["reason"],
        "no `autoscaling:template` tag: not opted in"
    );
    assert_eq!(
        entry("configured-00")["writes"],
        1,
        "drift repaired with one put"
    );

    // Every endpoint is now exactly as its tags say.
    assert_eq!(
        h.fx.state("configured-00").policies[0].2["TargetValue"],
        70.0
    );
    assert_eq!(h.fx.state("new-07").targets[0].3, 3);
    assert!(h.fx.state("leaving-03").targets.is_empty());
    assert!(h.fx.state("invalid-01").targets.is_empty());

    // The scheduled event runs the same sweep in the function: steady state, no writes.
    h.proxy.clear();
    let scheduled = json!({"version": "0", "id": "5e0c7a2b-0000-4000-8000-000000000001", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-28T10:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/scaletag-ScaletagFunctionSweep"], "detail": {}});
    let report = h.invoke(&scheduled).expect("sweep report");
    assert_eq!(
        counts(&report),
        expect(&[("unchanged", 38), ("rejected", 6), ("skipped", 8)])
    );
    assert!(
        h.proxy.writes().is_empty(),
        "steady-state sweep wrote {:?}",
        h.proxy.writes().len()
    );
    assert_eq!(report["not_reached"], json!([]));
}
