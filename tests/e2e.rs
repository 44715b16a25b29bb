//! End to end: the built binary, over the Lambda Runtime API, against a real moto server.

use scaletag_testkit as support;
use support::ok;

use std::time::Duration;

/// Added to every AWS call where a test counts sequential round trips.
const LATENCY: Duration = Duration::from_millis(100);

use serde_json::{Value, json};
use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";

fn err_message(r: Result<Value, Value>) -> String {
    match r {
        Ok(v) => panic!("expected a failed invocation, got {v}"),
        Err(e) => e["errorMessage"].as_str().unwrap_or_default().to_string(),
    }
}

fn write_names(h: &Harness) -> Vec<String> {
    let mut w: Vec<String> = h.proxy.writes().into_iter().map(|c| c.op).collect();
    w.sort();
    w
}

#[test]
fn single_variant_attaches_once_then_steady_state_writes_nothing() {
    let h = Harness::start_with_latency(&[], LATENCY);
    let name = "e2e-single";
    let (_, event) = h.one_variant(name, &[(TEMPLATE, "default"), ("team", "ml")]);

    let first = ok(h.invoke(&event));
    assert_eq!(first["outcome"], "applied", "{first}");
    // The status tag (`autoscaling:status` = `ok`) goes with the first writes, in parallel.
    assert_eq!(
        write_names(&h),
        ["AddTags", "PutScalingPolicy", "RegisterScalableTarget"]
    );
    // DescribeEndpoint, ListTags, ListInferenceComponents (the ICs on the endpoint, in
    // parallel), DescribeEndpointConfig, DescribeScalableTargets, DescribeScalingPolicies,
    // DescribeScheduledActions, then the two writes and the status tag beside them: no call
    // more.
    assert_eq!(h.proxy.calls().len(), 10, "{:?}", h.proxy.ops());
    assert_eq!(
        h.proxy.depth(),
        4,
        "first attach took {} round trips:\n{}",
        h.proxy.depth(),
        h.proxy.timeline()
    );
    let v = &first["variants"][0];
    assert_eq!(v["resource_id"], "endpoint/e2e-single/variant/AllTraffic");
    assert_eq!(v["dimension"], "sagemaker:variant:DesiredInstanceCount");
    assert_eq!(v["template"], "default");

    let state = h.fx.state(name);
    assert_eq!(
        state.targets,
        [(
            "endpoint/e2e-single/variant/AllTraffic".to_string(),
            "sagemaker:variant:DesiredInstanceCount".to_string(),
            1,
            4
        )]
    );
    assert_eq!(state.policy_names(), ["scaletag-default"]);
    assert_eq!(
        state.policies[0].2,
        json!({"TargetValue": 70.0,
               "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
               "ScaleOutCooldown": 60, "ScaleInCooldown": 300, "DisableScaleIn": false})
    );

    // Scaling activity re-fires the event, and EventBridge may deliver twice: reads only.
    for _ in 0..2 {
        let again = ok(h.invoke(&event));
        assert_eq!(again["outcome"], "unchanged", "{again}");
        assert!(
            h.proxy.writes().is_empty(),
            "steady state wrote: {:?}",
            h.proxy.ops()
        );
        // DescribeEndpoint ∥ ListTags ∥ ListInferenceComponents, then the target, its
        // policies and its scheduled actions. The endpoint config was read by the first
        // event: a config never changes, so the function keeps what it read of it.
        assert_eq!(h.proxy.calls().len(), 6, "{:?}", h.proxy.ops());
        assert_eq!(
            h.proxy.depth(),
            2,
            "steady state round trips:\n{}",
            h.proxy.timeline()
        );
    }
    assert_eq!(h.fx.state(name), state);

    // One structured log line per write (the status tag's included).
    let write_logs = h
        .function
        .logs()
        .iter()
        .filter(|l| l.contains("\"write\":"))
        .count();
    assert_eq!(write_logs, 3);
}

#[test]
fn multi_variant_endpoint_gets_a_target_per_variant_with_overrides() {
    let h = Harness::start_with_latency(&[], LATENCY);
    let name = "e2e-multi";
    let arn = h.fx.create_endpoint(
        name,
        &[
            Variant::Instances("Champion", "ml.m5.large"),
            Variant::Instances("Challenger", "ml.c5.large"),
            Variant::Instances("Canary", "ml.m5.large"),
            Variant::Instances("Shadow", "ml.m5.large"),
        ],
        &[
            (TEMPLATE, "default"),
            ("autoscaling:variant:Challenger:max-capacity", "2"),
            ("autoscaling:variant:Canary:template", "cpu"),
            ("autoscaling:variant:Shadow:template", "off"),
        ],
    );
    let event = support::event("in-service.multi-variant.json", name, &arn);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied");
    assert_eq!(
        h.proxy.writes().len(),
        7,
        "six for the variants, the status tag"
    );
    // Two reads, DescribeEndpointConfig, one DescribeScalableTargets for all variants, and a
    // DescribeScalingPolicies and a DescribeScheduledActions each.
    assert_eq!(h.proxy.calls().len(), 13 + 7, "{:?}", h.proxy.ops());
    assert_eq!(
        h.proxy.depth(),
        4,
        "first attach of 4 variants took {} round trips:\n{}",
        h.proxy.depth(),
        h.proxy.timeline()
    );
    let state = h.fx.state(name);
    let targets: Vec<_> = state
        .targets
        .iter()
        .map(|t| (t.0.as_str(), t.2, t.3))
        .collect();
    assert_eq!(
        targets,
        [
            ("endpoint/e2e-multi/variant/Canary", 1, 4),
            ("endpoint/e2e-multi/variant/Challenger", 1, 2),
            ("endpoint/e2e-multi/variant/Champion", 1, 4),
        ]
    );
    assert_eq!(
        state.policy_names(),
        ["scaletag-cpu", "scaletag-default", "scaletag-default"]
    );
    // ${EndpointName} and ${VariantName} filled in per variant.
    assert_eq!(
        state.policies[0].2["CustomizedMetricSpecification"]["Dimensions"],
        json!([{"Name": "EndpointName", "Value": "e2e-multi"}, {"Name": "VariantName", "Value": "Canary"}])
    );
    let shadow = out["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variant"] == "Shadow")
        .unwrap();
    assert!(shadow["skipped"].as_str().unwrap().contains("off"));

    let again = ok(h.invoke(&event));
    assert_eq!(again["outcome"], "unchanged");
    assert!(h.proxy.writes().is_empty());
    // The first event's reads but the endpoint config (read once per process).
    assert_eq!(h.proxy.calls().len(), 12, "{:?}", h.proxy.ops());
    assert_eq!(
        h.proxy.depth(),
        2,
        "steady state round trips:\n{}",
        h.proxy.timeline()
    );
}

#[test]
fn serverless_variant_without_provisioned_concurrency_is_skipped_with_a_reason() {
    let h = Harness::start(&[]);
    let name = "e2e-serverless";
    let arn = h.fx.create_endpoint(
        name,
        &[
            Variant::Instances("Gpu", "ml.g4dn.xlarge"),
            Variant::Serverless("OnDemand", None),
        ],
        &[(TEMPLATE, "default")],
    );
    let out = ok(h.invoke(&support::event("in-service.rfc3339.json", name, &arn)));
    assert_eq!(out["outcome"], "applied");
    let od = out["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variant"] == "OnDemand")
        .unwrap();
    assert!(
        od["skipped"]
            .as_str()
            .unwrap()
            .contains("without provisioned concurrency"),
        "{od}"
    );
    assert_eq!(h.fx.state(name).targets.len(), 1);
}

#[test]
fn foreign_policies_are_reported_and_never_touched() {
    let h = Harness::start(&[]);
    let name = "e2e-foreign";
    let arn = h.fx.create_endpoint(
        name,
        &[Variant::Instances("AllTraffic", "ml.m5.large")],
        &[(TEMPLATE, "default")],
    );
    let rid = "endpoint/e2e-foreign/variant/AllTraffic";
    h.fx.register(rid, 1, 4);
    h.fx.put_policy(rid, "team-latency-policy", 42.0);
    let before = h.fx.state(name).policies;
    let event = support::event("in-service.rfc3339.json", name, &arn);

    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied");
    assert_eq!(write_names(&h), ["AddTags", "PutScalingPolicy"]);
    assert!(
        h.proxy
            .scaling_writes()
            .iter()
            .all(|c| c.body["PolicyName"] == "scaletag-default")
    );
    assert!(
        out["warnings"][0]
            .as_str()
            .unwrap()
            .contains("team-latency-policy"),
        "{out}"
    );
    let after = h.fx.state(name);
    assert!(
        after.policies.contains(&before[0]),
        "foreign policy changed"
    );

    // Opting out removes only scaletag's policy and keeps the target the foreign one needs.
    h.fx.set_tags(&arn, &[(TEMPLATE, "off")]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "detached");
    assert_eq!(
        write_names(&h),
        ["AddTags", "DeleteScalingPolicy"],
        "and the status"
    );
    let after = h.fx.state(name);
    assert_eq!(after.policy_names(), ["team-latency-policy"]);
    assert_eq!(after.targets.len(), 1);
    assert!(
        out["warnings"].to_string().contains("stays registered"),
        "{out}"
    );
}

#[test]
fn off_detaches_and_then_writes_nothing() {
    let h = Harness::start(&[]);
    let name = "e2e-off";
    let (arn, event) = h.one_variant(name, &[(TEMPLATE, "responsive")]);
    ok(h.invoke(&event));
    assert_eq!(h.fx.state(name).policy_names().len(), 2);

    h.fx.set_tags(&arn, &[(TEMPLATE, "off")]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "detached");
    assert_eq!(
        write_names(&h),
        [
            "AddTags",
            "DeleteScalingPolicy",
            "DeleteScalingPolicy",
            "DeregisterScalableTarget"
        ]
    );
    assert_eq!(h.fx.status(&arn).as_deref(), Some("detached"));
    let state = h.fx.state(name);
    assert!(
        state.targets.is_empty() && state.policies.is_empty(),
        "{state:?}"
    );

    let again = ok(h.invoke(&event));
    assert_eq!(again["outcome"], "unchanged");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    assert_eq!(h.fx.status(&arn).as_deref(), Some("detached"));
}

#[test]
fn template_change_replaces_scaletags_policy() {
    let h = Harness::start(&[]);
    let name = "e2e-change";
    let (arn, event) = h.one_variant(name, &[(TEMPLATE, "default")]);
    ok(h.invoke(&event));
    h.fx.set_tags(
        &arn,
        &[(TEMPLATE, "concurrency"), ("autoscaling:target-value", "3")],
    );
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied");
    assert_eq!(
        write_names(&h),
        [
            "DeleteScalingPolicy",
            "PutScalingPolicy",
            "RegisterScalableTarget"
        ]
    );
    let state = h.fx.state(name);
    assert_eq!(state.policy_names(), ["scaletag-concurrency"]);
    assert_eq!(state.policies[0].2["TargetValue"], 3.0);
    assert_eq!(state.targets[0].3, 8);
}

#[test]
fn every_kind_of_bad_tag_changes_nothing_and_names_the_tag() {
    let h = Harness::start(&[("MAX_CAPACITY_LIMIT", "10")]);
    let name = "e2e-bad";
    let (arn, event) = h.one_variant(name, &[(TEMPLATE, "default")]);
    ok(h.invoke(&event));
    let configured = h.fx.state(name);

    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            &[("autoscaling:max-capcity", "5")],
            &[
                "`autoscaling:max-capcity` = `5`",
                "did you mean `max-capacity`",
            ],
        ),
        (
            &[("autoscaling:min-capacity", "6")],
            &["`autoscaling:min-capacity` = `6`", "above MaxCapacity 4"],
        ),
        (
            &[("autoscaling:max-capacity", "20")],
            &["`autoscaling:max-capacity` = `20`", "MAX_CAPACITY_LIMIT=10"],
        ),
        (
            &[("autoscaling:min-capacity", "0")],
            &["`autoscaling:min-capacity` = `0`", "at least 1 instance"],
        ),
        (
            &[("autoscaling:target-value", "1e309")],
            &["`autoscaling:target-value` = `1e309`"],
        ),
        (
            &[("autoscaling:disable-scale-in", "yes")],
            &[
                "`autoscaling:disable-scale-in` = `yes`",
                "`true` or `false`",
            ],
        ),
        (
            &[("autoscaling:variant:Blue:max-capacity", "2")],
            &[
                "`autoscaling:variant:Blue:max-capacity` = `2`",
                "no variant `Blue`",
            ],
        ),
        (
            &[("autoscaling:scale-in-cooldown", "-5")],
            &["`autoscaling:scale-in-cooldown` = `-5`"],
        ),
    ];
    for (extra, expected) in cases {
        let mut tags = vec![(TEMPLATE, "default")];
        tags.extend_from_slice(extra);
        h.fx.set_tags(&arn, &tags);
        let message = err_message(h.invoke(&event));
        for e in *expected {
            assert!(message.contains(e), "{extra:?}: `{e}` not in:\n{message}");
        }
        assert!(message.contains("nothing was changed"), "{message}");
        // Nothing but the status tag, which says it is rejected.
        assert!(
            h.proxy.scaling_writes().is_empty(),
            "{extra:?} wrote {:?}",
            h.proxy.ops()
        );
        assert!(
            h.fx.status(&arn).is_some_and(|s| s.starts_with("rejected")),
            "{:?}",
            h.fx.status(&arn)
        );
        assert_eq!(h.fx.state(name), configured, "{extra:?} changed AAS");
    }

    // Unknown template, and an override the template's shape cannot take, together: both listed.
    h.fx.set_tags(
        &arn,
        &[
            (TEMPLATE, "fast"),
            ("autoscaling:variant:AllTraffic:template", "responsive"),
            ("autoscaling:target-value", "9"),
        ],
    );
    let message = err_message(h.invoke(&event));
    assert!(
        message.starts_with("2 problems on endpoint `e2e-bad`"),
        "{message}"
    );
    assert!(
        message.contains("`autoscaling:template` = `fast`: no template named `fast`"),
        "{message}"
    );
    assert!(
        message.contains("`autoscaling:target-value` = `9`: template `responsive` has 2 policies"),
        "{message}"
    );
    assert_eq!(h.fx.state(name), configured);
}

#[test]
fn events_that_are_not_for_scaletag_are_skipped_or_refused_without_writes() {
    let h = Harness::start(&[]);
    let name = "e2e-skips";
    let arn = h.fx.create_endpoint(
        name,
        &[Variant::Instances("AllTraffic", "ml.m5.large")],
        &[("team", "ml")],
    );

    // Not opted in: the two reads and the list of its ICs (none), nothing from AAS.
    let out = ok(h.invoke(&support::event("in-service.rfc3339.json", name, &arn)));
    assert_eq!(out["outcome"], "skipped");
    assert!(out["reason"].as_str().unwrap().contains("not opted in"));
    let mut ops = h.proxy.ops();
    ops.sort();
    assert_eq!(
        ops,
        ["DescribeEndpoint", "ListInferenceComponents", "ListTags"]
    );

    // Other statuses: no AWS call at all; a deletion looks for the wake alarms scaletag
    // made for the endpoint (an async endpoint's), one read, and finds none here.
    let out = ok(h.invoke(&support::event("updating.json", name, &arn)));
    assert_eq!(out["outcome"], "skipped", "{out}");
    assert!(h.proxy.calls().is_empty(), "{:?}", h.proxy.ops());
    let out = ok(h.invoke(&support::event("deleting.json", name, &arn)));
    assert_eq!(out["outcome"], "skipped", "{out}");
    assert_eq!(h.proxy.ops(), ["DescribeAlarms"]);

    // Not a SageMaker event: a clear error, no AWS call, and the process keeps serving.
    let message = err_message(h.invoke(&support::event("not-sagemaker.ec2.json", name, &arn)));
    assert!(
        message.contains("not a SageMaker endpoint state change: source `aws.ec2`"),
        "{message}"
    );
    assert!(h.proxy.calls().is_empty());
    let message = err_message(h.invoke(&json!({"detail": "x"})));
    assert!(message.contains("not an EventBridge event"), "{message}");

    // A late IN_SERVICE for an endpoint deleted since: skipped, no error.
    h.fx.delete_endpoint(name);
    let out = ok(h.invoke(&support::event("in-service.rfc3339.json", name, &arn)));
    assert_eq!(out["outcome"], "skipped");
    assert!(
        out["reason"].as_str().unwrap().contains("no longer exists"),
        "{out}"
    );
}

#[test]
fn the_documented_aws_sample_event_drives_the_function() {
    // As published: epoch-ms `time`, `Tags` as an object, variants without names, an ARN from
    // another account and region than the endpoint scaletag then describes.
    let h = Harness::start(&[]);
    h.fx.create_endpoint(
        "MyEndpoint",
        &[Variant::Instances("AllTraffic", "ml.m5.large")],
        &[(TEMPLATE, "default")],
    );
    let text =
        std::fs::read_to_string(support::repo().join("events/in-service.aws-doc-sample.json"))
            .unwrap();
    let out = ok(h.invoke(&serde_json::from_str(&text).unwrap()));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(
        h.fx.state("MyEndpoint").policy_names(),
        ["scaletag-default"]
    );
}

#[test]
fn custom_prefix_and_operator_catalog() {
    let catalog = r#"{"gentle": {"MinCapacity": 2, "MaxCapacity": 3,
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 250,
          "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}"#;
    let h = Harness::start(&[("TAG_PREFIX", "ml-scaling"), ("POLICY_TEMPLATES", catalog)]);
    let name = "e2e-catalog";
    let arn = h.fx.create_endpoint(
        name,
        &[Variant::Instances("AllTraffic", "ml.m5.large")],
        &[("ml-scaling:template", "gentle"), (TEMPLATE, "nonsense")],
    );
    let out = ok(h.invoke(&support::event("in-service.rfc3339.json", name, &arn)));
    assert_eq!(out["outcome"], "applied");
    let state = h.fx.state(name);
    assert_eq!((state.targets[0].2, state.targets[0].3), (2, 3));
    assert_eq!(state.policies[0].1, "scaletag-gentle");
    // Template left the cooldowns out: SageMaker's default is sent explicitly.
    assert_eq!(state.policies[0].2["ScaleInCooldown"], 300);
}

#[test]
fn an_invalid_catalog_fails_at_start_up_naming_template_and_field() {
    let mut h = Harness::start(&[(
        "POLICY_TEMPLATES",
        r#"{"fast": {"MinCapacity": 1, "MaxCapacity": 2, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 1, "Metric": "x"}}}"#,
    )]);
    let code = h.function.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(1), "the function must not start");
    let logs = h.function.logs().join("\n");
    assert!(
        logs.contains("template `fast`, field TargetTrackingScalingPolicyConfiguration"),
        "{logs}"
    );
    assert!(logs.contains("unknown field `Metric`"), "{logs}");
    assert!(h.proxy.calls().is_empty());
}

#[test]
fn hostile_payloads_fail_cleanly_write_nothing_and_the_function_keeps_serving() {
    let h = Harness::start(&[]);
    let name = "e2e-hostile";
    let arn = h.fx.create_endpoint(
        name,
        &[Variant::Instances("AllTraffic", "ml.m5.large")],
        &[(TEMPLATE, "default")],
    );
    let corpus: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(support::repo().join("tests/corpus/events.json")).unwrap(),
    )
    .unwrap();
    let mut payloads: Vec<(String, Vec<u8>, String)> = corpus
        .iter()
        .map(|c| {
            let expect = match c["expect"].as_str().unwrap() {
                "invalid JSON" => "".to_string(), // the runtime's own message
                other => other.to_string(),
            };
            (
                c["name"].as_str().unwrap().to_string(),
                c["payload"].as_str().unwrap().as_bytes().to_vec(),
                expect,
            )
        })
        .collect();
    let pad = "y".repeat(2_000_000);
    let huge = json!({"source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": name, "EndpointStatus": "IN_SERVICE", "Pad": pad}});
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    payloads.push(("deep nesting".into(), deep.into_bytes(), String::new()));
    payloads.push(("binary".into(), vec![0xff, 0xfe, 0x00, 0x01], String::new()));
    for (case, payload, expect) in &payloads {
        let message = match h.runtime.invoke_raw(payload) {
            Ok(v) => panic!("{case}: accepted: {v}"),
            Err(e) => e["errorMessage"].as_str().unwrap_or_default().to_string(),
        };
        assert!(
            message.contains(expect.as_str()),
            "{case}: `{expect}` not in `{message}`"
        );
        assert!(
            message.len() < 2_000,
            "{case}: a {}-byte error message",
            message.len()
        );
    }
    assert!(
        h.proxy.calls().is_empty(),
        "hostile input reached AWS: {:?}",
        h.proxy.ops()
    );

    // A 2 MB event that is otherwise valid is handled like any other; the process survived it all.
    let out = h.invoke(&huge).expect("served");
    assert_eq!(out["outcome"], "applied");
    let again = h
        .invoke(&support::event("in-service.rfc3339.json", name, &arn))
        .expect("served");
    assert_eq!(again["outcome"], "unchanged");
}
