//! Under faults: AWS throttling, conflicts, 5xx, dropped connections and latency on a seeded
//! schedule; Lambda's retries modelled; concurrent and out-of-order deliveries; AWS slower
//! than the deadline. Everything converges, nothing is lost or widened.

use scaletag_testkit as support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fixture::{Harness, Variant};
use support::{FaultPlan, Function};

const TEMPLATE: &str = "autoscaling:template";

/// What each of the 20 endpoints is, and what it must end up as.
struct Endpoint {
    name: String,
    arn: String,
    /// scaletag policy names that must exist at the end, per variant resource id.
    owned: Vec<(String, String)>,
    foreign: Option<(String, String)>,
}

fn setup_fleet(h: &Harness) -> Vec<Endpoint> {
    (0..20)
        .map(|i| {
            let name = format!("fault-{i:02}");
            let rid = |v: &str| format!("endpoint/{name}/variant/{v}");
            let one = [Variant::Instances("AllTraffic", "ml.m5.large")];
            let two = [
                Variant::Instances("Blue", "ml.m5.large"),
                Variant::Instances("Green", "ml.c5.large"),
            ];
            type Shape<'a> = (
                &'a [Variant],
                Vec<(&'a str, &'a str)>,
                Vec<(String, String)>,
            );
            let (variants, tags, owned): Shape = match i % 5 {
                0 => (
                    &two,
                    vec![(TEMPLATE, "responsive")],
                    ["Blue", "Green"]
                        .iter()
                        .flat_map(|v| {
                            [
                                "scaletag-responsive-concurrency",
                                "scaletag-responsive-invocations",
                            ]
                            .map(|p| (rid(v), p.to_string()))
                        })
                        .collect(),
                ),
                1 => (
                    &one,
                    vec![(TEMPLATE, "cpu")],
                    vec![(rid("AllTraffic"), "scaletag-cpu".into())],
                ),
                2 => (
                    &one,
                    vec![(TEMPLATE, "default")],
                    vec![(rid("AllTraffic"), "scaletag-default".into())],
                ),
                3 => (
                    &one,
                    vec![(TEMPLATE, "concurrency"), ("autoscaling:max-capacity", "3")],
                    vec![(rid("AllTraffic"), "scaletag-concurrency".into())],
                ),
                _ => (&one, vec![(TEMPLATE, "default")], Vec::new()),
            };
            let arn = h.fx.create_endpoint(&name, variants, &tags);
            let mut foreign = None;
            if i % 5 == 2 {
                // A policy someone else owns: it must come through untouched.
                h.fx.register(&rid("AllTraffic"), 1, 4);
                h.fx.put_policy(&rid("AllTraffic"), "team-latency-guard", 42.0);
                foreign = Some((rid("AllTraffic"), "team-latency-guard".to_string()));
            }
            if i % 5 == 4 {
                // Attached before the faults start, then opted out: scaletag must detach it.
                h.invoke(&support::event("in-service.rfc3339.json", &name, &arn))
                    .expect("attach");
                h.fx.set_tags(&arn, &[(TEMPLATE, "off")]);
            }
            Endpoint {
                name,
                arn,
                owned,
                foreign,
            }
        })
        .collect()
}

/// The foreign policies of the fleet, as AAS holds them.
fn foreign_policies(h: &Harness, fleet: &[Endpoint]) -> Vec<Option<(String, String, Value)>> {
    fleet
        .iter()
        .filter(|e| e.foreign.is_some())
        .map(|e| {
            h.fx.state(&e.name)
                .policies
                .into_iter()
                .find(|p| p.1 == "team-latency-guard")
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    deliveries: usize,
    invocations: usize,
    failed_invocations: usize,
    retried_ok: usize,
    on_failure: Vec<String>,
    error_types: BTreeMap<String, usize>,
}

#[test]
fn two_hundred_deliveries_under_faults_converge_and_lose_nothing() {
    let timeout = Duration::from_secs(5);
    let h = Harness::start_with_timeout(&[], timeout);
    let fleet = setup_fleet(&h);
    let foreign_before = foreign_policies(&h, &fleet);
    // Lambda runs concurrent deliveries in separate environments: four processes here.
    let _more: Vec<Function> = (0..3)
        .map(|_| Function::start(h.runtime.port, h.proxy.port, &[]))
        .collect();

    // Ten deliveries per endpoint (one of them UPDATING), in a seeded random order.
    let mut deliveries: Vec<Value> = fleet
        .iter()
        .flat_map(|e| {
            (0..10).map(|i| {
                let file = if i == 0 {
                    "updating.json"
                } else {
                    "in-service.rfc3339.json"
                };
                support::event(file, &e.name, &e.arn)
            })
        })
        .collect();
    fastrand::Rng::with_seed(7).shuffle(&mut deliveries);
    let requests_before = h.proxy.requests();
    h.proxy.faults(Some(FaultPlan {
        seed: 20261128,
        rate: 0.25,
        max_latency: Duration::from_millis(4500),
    }));
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while let Some(event) = deliveries.get(next.fetch_add(1, Ordering::Relaxed)) {
                    // Lambda's async retries: the first attempt and at most two more.
                    let mut last_error = String::new();
                    let mut ok = false;
                    for attempt in 0..3 {
                        let result = h.runtime.invoke(event);
                        let mut t = tally.lock().unwrap();
                        t.invocations += 1;
                        match result {
                            Ok(_) => {
                                t.retried_ok += usize::from(attempt > 0);
                                ok = true;
                                break;
                            }
                            Err(e) => {
                                t.failed_invocations += 1;
                                *t.error_types
                                    .entry(e["errorType"].as_str().unwrap_or("?").to_string())
                                    .or_default() += 1;
                                last_error = e["errorMessage"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .lines()
                                    .next()
                                    .unwrap_or("")
                                    .to_string();
                            }
                        }
                    }
                    let mut t = tally.lock().unwrap();
                    t.deliveries += 1;
                    if !ok {
                        t.on_failure
                            .push(format!("{}: {last_error}", event["detail"]["EndpointName"]));
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    h.proxy.faults(None);
    let requests = h.proxy.requests() - requests_before;
    let injected = h.proxy.injected();
    let faults: usize = injected.values().sum();
    let tally = tally.into_inner().unwrap();

    // Every invocation answered before its deadline.
    let durations = h.runtime.durations();
    let slowest = durations.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < timeout,
        "an invocation took {slowest:?} of its {timeout:?}"
    );

    // Every endpoint ends exactly as its tags say: a clean plan has nothing to change.
    let mut converged = 0;
    for e in &fleet {
        let (code, out, err) = support::cli(
            h.proxy.port,
            &["plan", &e.name, "--detailed-exitcode", "--color", "never"],
        );
        assert_eq!(code, 0, "{} did not converge:\n{out}{err}", e.name);
        let state = h.fx.state(&e.name);
        let mut owned: Vec<(String, String)> = state
            .policies
            .iter()
            .filter(|p| p.1.starts_with("scaletag-"))
            .map(|p| (p.0.clone(), p.1.clone()))
            .collect();
        owned.sort();
        let mut want = e.owned.clone();
        want.sort();
        assert_eq!(
            owned, want,
            "{}: stray or missing scaletag policies",
            e.name
        );
        let foreign: Vec<_> = state
            .policies
            .iter()
            .filter(|p| !p.1.starts_with("scaletag-"))
            .collect();
        assert_eq!(
            foreign.len(),
            usize::from(e.foreign.is_some()),
            "{}: {foreign:?}",
            e.name
        );
        converged += 1;
    }
    // Foreign policies are exactly as they were.
    let foreign_after = foreign_policies(&h, &fleet);
    assert_eq!(foreign_before, foreign_after);

    let share = faults as f64 / requests as f64;
    println!(
        "deliveries {}, invocations {} ({} failed, {} deliveries succeeded on a retry), sent to OnFailure {}",
        tally.deliveries,
        tally.invocations,
        tally.failed_invocations,
        tally.retried_ok,
        tally.on_failure.len()
    );
    println!(
        "AWS requests {requests}, faults injected {faults} ({:.1} %): {injected:?}",
        share * 100.0
    );
    println!("failed invocations by errorType: {:?}", tally.error_types);
    println!("OnFailure: {:?}", tally.on_failure);
    println!(
        "converged {converged}/{}; slowest invocation {slowest:?} of {timeout:?}; wall time {elapsed:?}",
        fleet.len()
    );
    assert_eq!(tally.deliveries, 200);
    assert!(share >= 0.2, "only {:.1} % of calls faulted", share * 100.0);
    assert_eq!(converged, 20);
    // A delivery goes to OnFailure only after three failed invocations, each with its reason.
    assert_eq!(
        tally.invocations,
        200 + tally.failed_invocations - tally.on_failure.len()
    );
}

#[test]
fn aws_slower_than_the_deadline_fails_cleanly_and_the_next_delivery_completes() {
    // Room for the read stages even while the other tests of this file load the shared moto.
    let timeout = Duration::from_millis(5000);
    let h = Harness::start_with_timeout(&[], timeout);
    let name = "fault-deadline";
    let (arn, event) = h.one_variant(name, &[(TEMPLATE, "default")]);

    // PutScalingPolicy never answers in time: the register lands, the put does not.
    h.proxy
        .hang("PutScalingPolicy", Some(Duration::from_secs(8)));
    let started = Instant::now();
    let err = h.invoke(&event).expect_err("fails before the deadline");
    let took = started.elapsed();
    assert!(took < timeout, "took {took:?}, deadline {timeout:?}");
    let message = err["errorMessage"].as_str().unwrap();
    assert_eq!(err["errorType"], "scaletag.AwsError");
    assert!(message.contains("1 of 2 writes done"), "{message}");
    assert!(
        message.contains("PutScalingPolicy on endpoint/fault-deadline/variant/AllTraffic failed"),
        "{message}"
    );
    assert!(
        message.contains("before the invocation's deadline"),
        "{message}"
    );
    // The state it leaves: a target registered without its policy.
    let partial = h.fx.state(name);
    assert_eq!(partial.targets.len(), 1);
    assert!(partial.policies.is_empty());

    // Lambda delivers again; AWS is back: exactly the missing write.
    h.proxy.hang("PutScalingPolicy", None);
    let out = h.invoke(&event).expect("completes");
    assert_eq!(out["outcome"], "applied");
    let writes: Vec<String> = h.proxy.scaling_writes().into_iter().map(|c| c.op).collect();
    assert_eq!(writes, ["PutScalingPolicy"]);
    assert_eq!(h.fx.state(name).policy_names(), ["scaletag-default"]);
    // The status tag said the put failed; now it says ok again.
    assert_eq!(h.fx.status(&arn).as_deref(), Some("ok"));
}

#[test]
fn concurrent_and_out_of_order_deliveries_converge_without_errors() {
    let h = Harness::start(&[]);
    let _second = Function::start(h.runtime.port, h.proxy.port, &[]);
    let name = "fault-race";
    let arn = h.fx.create_endpoint(
        name,
        &[
            Variant::Instances("Blue", "ml.m5.large"),
            Variant::Instances("Green", "ml.m5.large"),
        ],
        &[(TEMPLATE, "responsive")],
    );
    let in_service = support::event("in-service.rfc3339.json", name, &arn);
    let updating = support::event("updating.json", name, &arn);

    // Two invocations for the same endpoint at once (a duplicate delivery racing the original).
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| h.runtime.invoke(&in_service));
        let b = s.spawn(|| h.runtime.invoke(&in_service));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (a, b) = (a.expect("no error"), b.expect("no error"));
    let outcomes = [
        a["outcome"].as_str().unwrap(),
        b["outcome"].as_str().unwrap(),
    ];
    assert!(outcomes.contains(&"applied"), "{outcomes:?}");
    let state = h.fx.state(name);
    assert_eq!(state.targets.len(), 2);
    assert_eq!(state.policies.len(), 4, "{state:?}");

    // UPDATING arriving after IN_SERVICE, and the IN_SERVICE duplicated minutes later.
    let out = h.invoke(&updating).expect("skipped");
    assert_eq!(out["outcome"], "skipped");
    let mut old = in_service.clone();
    old["time"] = Value::from("2026-11-28T09:05:02Z");
    let out = h.invoke(&old).expect("unchanged");
    assert_eq!(out["outcome"], "unchanged");
    assert!(h.proxy.writes().is_empty());
    assert_eq!(h.fx.state(name), state);

    // A late IN_SERVICE for an endpoint deleted since: skipped, nothing to page anyone about.
    h.fx.delete_endpoint(name);
    let out = h.invoke(&in_service).expect("skipped");
    assert_eq!(out["outcome"], "skipped");
}
