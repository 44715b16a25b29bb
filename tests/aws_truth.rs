//! AWS as its users run it, end to end through the binary: modern instance families, scheduled
//! actions, shadow variants, targets another owner registered, template switches AWS refuses,
//! AWS's echo of policies, hung calls and quotas. Where moto lacks a behaviour (modern instance
//! types, shadow variants, tags on scalable targets), the test stand-in in front of it serves it
//! (`scripts/standin/`); where AWS refuses what moto accepts, the recording proxy answers
//! with AWS's error.

use scaletag_testkit as support;
use support::ok;

use std::time::{Duration, Instant};

use serde_json::json;
use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";

fn write_names(h: &Harness) -> Vec<String> {
    h.proxy.writes().into_iter().map(|c| c.op).collect()
}

fn owner_tag() -> Vec<(String, String)> {
    vec![("managed-by".to_string(), "scaletag".to_string())]
}

#[test]
fn trainium_variants_are_scaled_not_skipped_as_burstable() {
    let h = Harness::start(&[]);
    let name = "truth-trn";
    let arn = h.fx.create_endpoint(
        name,
        &[
            Variant::Instances("Trn1", "ml.trn1.2xlarge"),
            Variant::Instances("Trn2", "ml.trn2.48xlarge"),
            Variant::Instances("Burst", "ml.t2.medium"),
        ],
        &[(TEMPLATE, "concurrency")],
    );
    let event = support::event("in-service.multi-variant.json", name, &arn);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    let state = h.fx.state(name);
    let ids: Vec<&str> = state.targets.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        ids,
        [
            "endpoint/truth-trn/variant/Trn1",
            "endpoint/truth-trn/variant/Trn2"
        ]
    );
    let burst = &out["variants"][2];
    assert_eq!(burst["variant"], "Burst");
    assert!(
        burst["skipped"]
            .as_str()
            .unwrap()
            .contains("ml.t2.medium, a burstable instance type"),
        "{burst}"
    );
}

#[test]
fn a_schedule_owns_the_bounds_and_scaletag_still_manages_its_policy() {
    let h = Harness::start_with_latency(&[], Duration::from_millis(50));
    let name = "truth-schedule";
    let id = format!("endpoint/{name}/variant/AllTraffic");
    let (_, event) = h.one_variant(name, &[(TEMPLATE, "default")]);
    ok(h.invoke(&event));
    h.fx.schedule(&id, "business-hours", 3, 12);
    // The schedule fires: AAS sets the bounds, scales out, and the endpoint is InService again.
    h.fx.register(&id, 3, 12);

    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "unchanged", "{out}");
    assert!(
        write_names(&h).is_empty(),
        "undid the schedule: {:?}",
        h.proxy.ops()
    );
    assert_eq!(
        out["variants"][0]["bounds_held_by"],
        json!(["business-hours"])
    );
    assert!(
        out["warnings"]
            .to_string()
            .contains("held by scheduled action `business-hours` (now 3-12)"),
        "{out}"
    );
    assert_eq!(h.fx.state(name).targets[0].2, 3);
    // Steady state under a schedule stays within two round trips and six reads (the five of
    // the endpoint, and the list of its inference components; its config was read by the
    // first event, and a config never changes).
    assert_eq!(h.proxy.depth(), 2, "{}", h.proxy.timeline());
    assert_eq!(h.proxy.calls().len(), 6, "{:?}", h.proxy.ops());

    // Its policy is still scaletag's to keep right.
    h.fx.put_policy(&id, "scaletag-default", 1.0);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied");
    assert_eq!(write_names(&h), ["PutScalingPolicy"]);
    let state = h.fx.state(name);
    assert_eq!((state.targets[0].2, state.targets[0].3), (3, 12));
    assert_eq!(state.policies[0].2["TargetValue"], 70.0);
}

#[test]
fn a_variant_template_wins_over_endpoint_wide_off() {
    let h = Harness::start(&[]);
    let name = "truth-off-wins";
    let arn = h.fx.create_endpoint(
        name,
        &[
            Variant::Instances("Kept", "ml.m5.large"),
            Variant::Instances("Dropped", "ml.m5.large"),
        ],
        &[(TEMPLATE, "default")],
    );
    let event = support::event("in-service.multi-variant.json", name, &arn);
    ok(h.invoke(&event));
    h.fx.set_tags(
        &arn,
        &[
            (TEMPLATE, "off"),
            ("autoscaling:variant:Kept:template", "default"),
        ],
    );
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    let state = h.fx.state(name);
    assert_eq!(state.targets.len(), 1, "{state:?}");
    assert_eq!(state.targets[0].0, "endpoint/truth-off-wins/variant/Kept");
    assert_eq!(state.policy_names(), ["scaletag-default"]);
    let again = ok(h.invoke(&event));
    assert_eq!(again["outcome"], "unchanged", "{again}");
}

#[test]
fn shadow_variants_are_variants_like_the_others() {
    let h = Harness::start(&[]);
    let name = "truth-shadow";
    let arn = h.fx.create_endpoint(
        name,
        &[
            Variant::Instances("AllTraffic", "ml.m5.large"),
            Variant::Shadow("Shadow", "ml.g5.xlarge"),
        ],
        // The README's own example: leave the shadow variant alone.
        &[
            (TEMPLATE, "default"),
            ("autoscaling:variant:Shadow:template", "off"),
        ],
    );
    let event = support::event("in-service.rfc3339.json", name, &arn);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(h.fx.state(name).targets.len(), 1);
    assert!(
        out["variants"][1]["skipped"]
            .as_str()
            .unwrap()
            .contains("autoscaling:variant:Shadow:template")
    );

    // Tagged for scaling, the shadow variant gets its own target, with its own bounds.
    h.fx.set_tags(
        &arn,
        &[
            (TEMPLATE, "default"),
            ("autoscaling:variant:Shadow:max-capacity", "2"),
        ],
    );
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    let targets: Vec<_> =
        h.fx.state(name)
            .targets
            .into_iter()
            .map(|t| (t.0, t.3))
            .collect();
    assert_eq!(
        targets,
        [
            ("endpoint/truth-shadow/variant/AllTraffic".to_string(), 4),
            ("endpoint/truth-shadow/variant/Shadow".to_string(), 2)
        ]
    );
}

#[test]
fn a_template_switch_aws_refuses_leaves_the_old_policy_scaling() {
    let catalog = r#"{"steady": {"MinCapacity": 1, "MaxCapacity": 4, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 40, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}"#;
    let h = Harness::start(&[("POLICY_TEMPLATES", catalog)]);
    let name = "truth-switch";
    let (arn, event) = h.one_variant(name, &[(TEMPLATE, "default")]);
    ok(h.invoke(&event));

    // Another metric: the new policy is put first; AWS refuses it; the old one stays.
    let refusal = "Unable to find the metric for the customized metric specification";
    h.proxy.refuse(
        "PutScalingPolicy",
        "scaletag-concurrency",
        "ValidationException",
        refusal,
    );
    h.fx.set_tags(&arn, &[(TEMPLATE, "concurrency")]);
    for _ in 0..2 {
        let err = h.invoke(&event).expect_err("AWS refused the new policy");
        assert!(err["errorMessage"].as_str().unwrap().contains(refusal));
        assert_eq!(h.fx.state(name).policy_names(), ["scaletag-default"]);
        assert!(!write_names(&h).contains(&"DeleteScalingPolicy".to_string()));
    }
    h.proxy.stop_refusing();
    ok(h.invoke(&event));
    assert_eq!(h.fx.state(name).policy_names(), ["scaletag-concurrency"]);

    // The same metric as the old policy: AWS allows one policy per metric, so the old one is
    // deleted first, and put back when the new one is refused.
    h.fx.set_tags(&arn, &[(TEMPLATE, "default")]);
    ok(h.invoke(&event));
    h.proxy.refuse(
        "PutScalingPolicy",
        "scaletag-steady",
        "ValidationException",
        "refused",
    );
    h.fx.set_tags(&arn, &[(TEMPLATE, "steady")]);
    let err = h.invoke(&event).expect_err("AWS refused the new policy");
    assert!(err["errorMessage"].as_str().unwrap().contains("refused"));
    let scaling: Vec<String> = h.proxy.scaling_writes().into_iter().map(|c| c.op).collect();
    assert_eq!(
        scaling,
        [
            "DeleteScalingPolicy",
            "PutScalingPolicy",
            "PutScalingPolicy"
        ],
        "delete, refused put, restore"
    );
    assert_eq!(
        h.fx.status(&arn).as_deref(),
        Some("failed PutScalingPolicy"),
        "the status tag names the refused call"
    );
    let state = h.fx.state(name);
    assert_eq!(state.policy_names(), ["scaletag-default"]);
    assert_eq!(state.policies[0].2["TargetValue"], 70.0);
}

#[test]
fn steady_state_is_write_free_when_aws_echoes_empty_lists_and_defaults() {
    // An empty dimension list deep in a metric, and ReturnData left to its default.
    let catalog = r#"{"math": {"MinCapacity": 1, "MaxCapacity": 3, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 2, "CustomizedMetricSpecification": {"Metrics": [
        {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"MetricName": "Invocations", "Namespace": "AWS/SageMaker", "Dimensions": []}, "Stat": "Sum"}},
        {"Id": "e1", "Expression": "m1 / 60"}]}}}}"#;
    let h = Harness::start(&[("POLICY_TEMPLATES", catalog)]);
    let (_, event) = h.one_variant("truth-echo", &[(TEMPLATE, "math")]);
    assert_eq!(ok(h.invoke(&event))["outcome"], "applied");
    for _ in 0..2 {
        let again = ok(h.invoke(&event));
        assert_eq!(again["outcome"], "unchanged", "{again}");
        assert!(write_names(&h).is_empty(), "{:?}", h.proxy.ops());
    }
}

#[test]
fn only_targets_scaletag_registered_are_deregistered() {
    let h = Harness::start(&[]);
    let name = "truth-owner";
    let id = format!("endpoint/{name}/variant/AllTraffic");
    let (arn, event) = h.one_variant(name, &[]);
    // Registered by someone else (a CloudFormation ScalableTarget): no owner tag.
    h.fx.register(&id, 2, 10);
    h.fx.set_tags(&arn, &[(TEMPLATE, "default")]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied");
    assert!(
        out["warnings"]
            .to_string()
            .contains("was not registered by scaletag (no `managed-by=scaletag` tag); scaletag changed its bounds from 2-10 to 1-4"),
        "{out}"
    );
    assert_eq!(h.fx.target_tags(&id), Some(vec![]), "never tagged silently");

    h.fx.set_tags(&arn, &[(TEMPLATE, "off")]);
    let out = ok(h.invoke(&event));
    let mut written = write_names(&h);
    written.sort();
    assert_eq!(
        written,
        ["AddTags", "DeleteScalingPolicy"],
        "and the status: detached"
    );
    assert!(
        out["warnings"]
            .to_string()
            .contains("stays registered: scaletag did not register it"),
        "{out}"
    );
    assert_eq!(h.fx.state(name).targets.len(), 1);

    // Adopted explicitly, it is scaletag's to remove.
    let (code, adopted) = support::cli_json(h.proxy.port, &["adopt", name]);
    assert_eq!(code, 0, "{adopted}");
    assert_eq!(adopted["adopted"], json!([id]));
    assert_eq!(h.fx.target_tags(&id), Some(owner_tag()));
    let out = ok(h.invoke(&event));
    assert_eq!(write_names(&h), ["DeregisterScalableTarget"], "{out}");
    assert!(h.fx.state(name).targets.is_empty());

    // A target scaletag registers carries the tag from its creation.
    h.fx.set_tags(&arn, &[(TEMPLATE, "default")]);
    ok(h.invoke(&event));
    assert_eq!(h.fx.target_tags(&id), Some(owner_tag()));
    let register = &h.proxy.scaling_writes()[0];
    assert_eq!(register.op, "RegisterScalableTarget");
    assert_eq!(register.body["Tags"], json!({"managed-by": "scaletag"}));
}

#[test]
fn a_hung_call_is_abandoned_and_retried_within_the_budget() {
    let h = Harness::start_with_timeout(&[], Duration::from_secs(60));
    let (_, event) = h.one_variant("truth-hung", &[(TEMPLATE, "default")]);
    // The first DescribeScalableTargets never answers.
    h.proxy
        .hang_next("DescribeScalableTargets", Duration::from_secs(50), 1);
    let started = Instant::now();
    let out = ok(h.invoke(&event));
    let took = started.elapsed();
    assert_eq!(out["outcome"], "applied", "{out}");
    assert!(
        took < Duration::from_secs(30),
        "waited {took:?} on one hung call"
    );
    assert_eq!(
        h.proxy.injected().get("hung until the caller gave up"),
        Some(&1)
    );
}

#[test]
fn a_quota_error_fails_at_once_and_names_the_quota() {
    let h = Harness::start(&[]);
    let (_, event) = h.one_variant("truth-quota", &[(TEMPLATE, "default")]);
    h.proxy.refuse(
        "RegisterScalableTarget",
        "truth-quota",
        "LimitExceededException",
        "You have reached the maximum number of scalable targets",
    );
    let err = h.invoke(&event).expect_err("quota reached");
    let message = err["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("scalable targets per account for SageMaker"),
        "{message}"
    );
    assert!(message.contains("Service Quotas"), "{message}");
    let registers = h
        .proxy
        .ops()
        .iter()
        .filter(|o| *o == "RegisterScalableTarget")
        .count();
    assert_eq!(registers, 1, "a quota is not retried: {:?}", h.proxy.ops());
}
