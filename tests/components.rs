//! Inference components end to end: the built binary over the Lambda Runtime API, against moto
//! and the stand-in (which serves ICs, CloudWatch's CBOR protocol and SQS re-checks).

use scaletag_testkit as support;
use support::ok;

use std::time::Duration;

use serde_json::json;
use support::fixture::Harness;

const TEMPLATE: &str = "autoscaling:template";
const MIN: &str = "autoscaling:min-capacity";
const LATENCY: Duration = Duration::from_millis(100);

/// The scaling writes, in order (the status tag goes in parallel with them: see `status`).
fn writes(h: &Harness) -> Vec<String> {
    h.proxy.scaling_writes().into_iter().map(|c| c.op).collect()
}

#[test]
fn an_ic_opted_in_by_tag_gets_scaling_and_steady_state_writes_nothing() {
    let h = Harness::start_with_latency(&[], LATENCY);
    let arn =
        h.fx.component_in_service("ic-ep-1", "ic-one", &[(TEMPLATE, "ic-concurrency")]);
    let seen = h.function.logs().len();
    let out = ok(h.invoke(&support::api_call(
        "ic-created.cloudtrail.json",
        "ic-one",
        &arn,
    )));
    assert_eq!(out["outcome"], "applied", "{out}");
    // Its metrics record names the trigger and the IC, as properties.
    let record = &h.emf_record(seen);
    assert_eq!(record["trigger"], "api-call");
    assert_eq!(record["inference_component"], "ic-one");
    assert_eq!(record["endpoint"], "ic-ep-1");
    assert_eq!(
        (record["Applied"].as_f64(), record["Writes"].as_f64()),
        (Some(1.0), Some(2.0))
    );
    assert_eq!(out["inference_component"], "ic-one");
    assert_eq!(out["endpoint"], "ic-ep-1");
    assert_eq!(writes(&h), ["RegisterScalableTarget", "PutScalingPolicy"]);
    assert_eq!(
        h.fx.status(&arn).as_deref(),
        Some("ok"),
        "the status tag, on the IC"
    );
    let state = h.fx.component_state("ic-one");
    assert_eq!(
        state.targets,
        [(
            "inference-component/ic-one".to_string(),
            "sagemaker:inference-component:DesiredCopyCount".to_string(),
            1,
            4
        )]
    );
    assert_eq!(
        state.policies[0].2["PredefinedMetricSpecification"]["PredefinedMetricType"],
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    );
    assert!(h.fx.wake_alarm("ic-one").is_none(), "no alarm above zero");

    // Steady state: reads only, in two round trips.
    let again = ok(h.invoke(&support::api_call(
        "ic-updated.cloudtrail.json",
        "ic-one",
        &arn,
    )));
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    assert_eq!(h.proxy.depth(), 2, "{}", h.proxy.timeline());
    // DescribeInferenceComponent ∥ ListTags, then the target, policies, scheduled actions and
    // scaletag's alarm: six reads.
    assert_eq!(h.proxy.calls().len(), 6, "{:?}", h.proxy.ops());
}

#[test]
fn scale_to_zero_wires_the_alarm_to_the_step_policy_and_back_above_zero_removes_both() {
    let h = Harness::start(&[]);
    let arn = h.fx.component_in_service(
        "ic-ep-2",
        "ic-zero",
        &[(TEMPLATE, "ic-invocations"), (MIN, "0")],
    );
    let event = support::api_call("ic-created.cloudtrail.json", "ic-zero", &arn);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(
        writes(&h),
        [
            "RegisterScalableTarget",
            "PutScalingPolicy",
            "PutScalingPolicy",
            "PutMetricAlarm"
        ]
    );
    let state = h.fx.component_state("ic-zero");
    assert_eq!(state.targets[0].2, 0, "MinCapacity 0");
    let step = state
        .policies
        .iter()
        .find(|p| p.1 == "scaletag-wake-from-zero")
        .expect("step policy");
    assert_eq!(step.2["AdjustmentType"], "ChangeInCapacity");
    assert_eq!(step.2["StepAdjustments"][0]["ScalingAdjustment"], 1);
    let step_arn =
        h.fx.policy_arn("ic-zero", "scaletag-wake-from-zero")
            .expect("arn");
    let a = h.fx.wake_alarm("ic-zero").expect("alarm");
    assert_eq!(
        a["actions"],
        json!([step_arn]),
        "the alarm fires the step policy"
    );
    assert_eq!(a["metric"], "NoCapacityInvocationFailures");
    assert_eq!(a["namespace"], "AWS/SageMaker");
    assert_eq!(a["comparison"], "GreaterThanOrEqualToThreshold");
    assert_eq!(
        a["dimensions"],
        json!([{"Name": "InferenceComponentName", "Value": "ic-zero"}])
    );

    // Steady state at zero: nothing written, the alarm included.
    let again = ok(h.invoke(&event));
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());

    // Back above zero: retagged (an AddTags call), the step policy and the alarm go.
    h.fx.set_tags(&arn, &[(TEMPLATE, "ic-invocations"), (MIN, "1")]);
    let out = ok(h.invoke(&support::api_call("tags-added.cloudtrail.json", "", &arn)));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(
        writes(&h),
        [
            "RegisterScalableTarget",
            "DeleteAlarms",
            "DeleteScalingPolicy"
        ]
    );
    assert!(h.fx.wake_alarm("ic-zero").is_none());
    let state = h.fx.component_state("ic-zero");
    assert_eq!(state.targets[0].2, 1);
    assert_eq!(state.policy_names(), ["scaletag-ic-invocations"]);
}

#[test]
fn off_detaches_the_ic_and_an_invalid_tag_writes_nothing() {
    let h = Harness::start(&[]);
    let arn = h.fx.component_in_service(
        "ic-ep-3",
        "ic-off",
        &[(TEMPLATE, "ic-invocations"), (MIN, "0")],
    );
    let event = support::api_call("ic-updated.cloudtrail.json", "ic-off", &arn);
    ok(h.invoke(&event));
    assert!(h.fx.wake_alarm("ic-off").is_some());

    // A variant template on an IC: rejected, naming both, nothing written.
    h.fx.set_tags(&arn, &[(TEMPLATE, "default"), (MIN, "0")]);
    let e = h.invoke(&event).expect_err("rejected");
    let message = e["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("template `default`") && message.contains("inference component `ic-off`"),
        "{message}"
    );
    assert_eq!(e["errorType"], "scaletag.InvalidTags");
    assert!(writes(&h).is_empty(), "{:?}", h.proxy.ops());
    assert_eq!(h.fx.status(&arn).as_deref(), Some("rejected 1 problem"));

    h.fx.set_tags(&arn, &[(TEMPLATE, "off")]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "detached", "{out}");
    assert!(h.fx.wake_alarm("ic-off").is_none());
    assert!(h.fx.component_state("ic-off").targets.is_empty());
}

#[test]
fn an_ic_created_while_watched_is_rechecked_through_the_queue_until_in_service() {
    let moto = support::moto_port();
    let queue = support::fixture::Fixture::new(moto).create_queue("scaletag-recheck-test");
    let h = Harness::start(&[
        ("RECHECK_QUEUE_URL", queue.as_str()),
        ("RECHECK_DELAY_SECONDS", "0"),
    ]);
    h.fx.create_ic_endpoint("ic-ep-4", 1);
    let arn =
        h.fx.create_component("ic-late", "ic-ep-4", &[(TEMPLATE, "ic-concurrency")]);

    // CloudTrail fires while the IC is still Creating: nothing to scale yet, a re-check queued.
    let out = ok(h.invoke(&support::api_call(
        "ic-created.cloudtrail.json",
        "ic-late",
        &arn,
    )));
    assert_eq!(out["outcome"], "skipped", "{out}");
    let reason = out["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("Creating") && reason.contains("re-check 1"),
        "{reason}"
    );
    assert_eq!(writes(&h), Vec::<String>::new());
    assert!(h.proxy.ops().contains(&"SendMessage".to_string()));

    // Still Creating at the first re-check: queued again.
    let (n, batch) = h.fx.drain_queue(&queue);
    assert_eq!(n, 1);
    let answer = ok(h.invoke(&batch));
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert!(h.fx.component_state("ic-late").targets.is_empty());

    // In service by the second: scaled, and nothing queued any more.
    h.fx.set_component_status("ic-late", "InService");
    let (n, batch) = h.fx.drain_queue(&queue);
    assert_eq!(n, 1);
    ok(h.invoke(&batch));
    assert_eq!(h.fx.component_state("ic-late").targets.len(), 1);
    assert_eq!(h.fx.drain_queue(&queue).0, 0);
}
