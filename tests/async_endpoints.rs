//! Asynchronous inference endpoints end to end: the built binary over the Lambda Runtime API,
//! against moto and the stand-in (which returns an async endpoint's `AsyncInferenceConfig` in
//! DescribeEndpoint, as AWS does, and serves CloudWatch).

use scaletag_testkit as support;
use support::ok;

use std::time::Duration;

use serde_json::{Value, json};
use support::fixture::{Harness, Variant};

const TEMPLATE: &str = "autoscaling:template";
const MIN: &str = "autoscaling:min-capacity";
/// Added to every AWS call where a test counts sequential round trips.
const LATENCY: Duration = Duration::from_millis(100);

/// The scaling writes, in order (the status tag goes in parallel with them).
fn writes(h: &Harness) -> Vec<String> {
    h.proxy.scaling_writes().into_iter().map(|c| c.op).collect()
}

/// An async endpoint with one variant on a GPU instance, tagged `tags`: its ARN and an
/// IN_SERVICE event for it.
fn async_endpoint(h: &Harness, name: &str, tags: &[(&str, &str)]) -> (String, Value) {
    let arn =
        h.fx.create_endpoint(name, &[Variant::Async("AllTraffic", "ml.g5.xlarge")], tags);
    let event = support::event("in-service.async.json", name, &arn);
    (arn, event)
}

fn alarm_name(endpoint: &str) -> String {
    format!("scaletag-wake-{endpoint}/AllTraffic")
}

#[test]
fn the_queue_template_tracks_the_backlog_per_instance_and_steady_state_writes_nothing() {
    let h = Harness::start_with_latency(&[], LATENCY);
    let name = "async-track";
    let (_, event) = async_endpoint(&h, name, &[(TEMPLATE, "async-backlog")]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(
        out["variants"][0]["asynchronous"], true,
        "the outcome says so: {out}"
    );
    assert_eq!(writes(&h), ["RegisterScalableTarget", "PutScalingPolicy"]);
    // DescribeEndpoint ∥ ListTags → config ∥ AAS ∥ the alarm → register → put.
    assert_eq!(h.proxy.depth(), 4, "{}", h.proxy.timeline());
    let state = h.fx.state(name);
    assert_eq!(state.targets[0].2, 1, "MinCapacity 1 by default");
    let config = &state.policies[0].2;
    assert_eq!(config["TargetValue"], 5.0);
    assert_eq!(
        config["CustomizedMetricSpecification"],
        json!({"MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
               "Dimensions": [{"Name": "EndpointName", "Value": name}], "Statistic": "Average"})
    );
    assert!(
        h.fx.alarm_named(&alarm_name(name)).is_none(),
        "no alarm above zero"
    );

    let again = ok(h.invoke(&event));
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    assert_eq!(h.proxy.depth(), 2, "{}", h.proxy.timeline());
    // DescribeEndpoint ∥ ListTags ∥ ListInferenceComponents (an endpoint's event is its ICs'
    // too), then the target, the policies, the scheduled actions and the variant's wake
    // alarm: seven reads. The endpoint config was read by the first event: a config never
    // changes, so the function keeps what it read of it.
    assert_eq!(h.proxy.calls().len(), 7, "{:?}", h.proxy.ops());
    assert!(
        !h.proxy
            .ops()
            .contains(&"DescribeEndpointConfig".to_string())
    );
}

#[test]
fn min_capacity_zero_wires_the_backlog_alarm_to_a_step_policy_and_back_above_zero_removes_both() {
    let h = Harness::start_with_latency(&[], LATENCY);
    let name = "async-zero";
    let (arn, event) = async_endpoint(&h, name, &[(TEMPLATE, "async-backlog"), (MIN, "0")]);
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
    let state = h.fx.state(name);
    assert_eq!(state.targets[0].2, 0, "MinCapacity 0");
    let step = state
        .policies
        .iter()
        .find(|p| p.1 == "scaletag-wake-from-zero")
        .expect("step policy");
    assert_eq!(step.2["AdjustmentType"], "ChangeInCapacity");
    assert_eq!(step.2["MetricAggregationType"], "Average");
    assert_eq!(step.2["Cooldown"], 300);
    let step_arn =
        h.fx.policy_arn_on(
            &format!("endpoint/{name}/variant/AllTraffic"),
            "scaletag-wake-from-zero",
        )
        .expect("arn");
    let a = h.fx.alarm_named(&alarm_name(name)).expect("alarm");
    assert_eq!(
        a["actions"],
        json!([step_arn]),
        "the alarm fires the step policy"
    );
    assert_eq!(a["metric"], "HasBacklogWithoutCapacity");
    assert_eq!(a["namespace"], "AWS/SageMaker");
    assert_eq!(
        a["dimensions"],
        json!([{"Name": "EndpointName", "Value": name}])
    );
    assert_eq!(
        (
            &a["statistic"],
            &a["period"],
            &a["evaluation_periods"],
            &a["datapoints_to_alarm"]
        ),
        (&json!("Average"), &json!(60), &json!(2), &json!(2))
    );
    assert_eq!(a["comparison"], "GreaterThanOrEqualToThreshold");
    assert_eq!(a["treat_missing_data"], "missing");

    // Steady state at zero: nothing written, the alarm and its action included.
    let again = ok(h.invoke(&event));
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    assert_eq!(h.proxy.depth(), 2, "{}", h.proxy.timeline());

    // Back above zero: the step policy and the alarm go.
    h.fx.set_tags(&arn, &[(TEMPLATE, "async-backlog"), (MIN, "1")]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "applied", "{out}");
    assert_eq!(
        writes(&h),
        [
            "RegisterScalableTarget",
            "DeleteAlarms",
            "DeleteScalingPolicy"
        ]
    );
    assert!(h.fx.alarm_named(&alarm_name(name)).is_none());
    assert_eq!(h.fx.state(name).policy_names(), ["scaletag-async-backlog"]);
}

#[test]
fn off_and_detach_remove_the_alarm_the_step_policy_and_the_target() {
    let h = Harness::start(&[]);
    let name = "async-off";
    let (arn, event) = async_endpoint(&h, name, &[(TEMPLATE, "async-backlog"), (MIN, "0")]);
    ok(h.invoke(&event));
    assert!(h.fx.alarm_named(&alarm_name(name)).is_some());
    h.fx.set_tags(&arn, &[(TEMPLATE, "off")]);
    let out = ok(h.invoke(&event));
    assert_eq!(out["outcome"], "detached", "{out}");
    assert!(h.fx.alarm_named(&alarm_name(name)).is_none());
    assert!(h.fx.state(name).targets.is_empty());

    // `scaletag detach`, whatever the tags say.
    let name = "async-detach";
    let (_, event) = async_endpoint(&h, name, &[(TEMPLATE, "async-backlog"), (MIN, "0")]);
    ok(h.invoke(&event));
    let (code, out) = support::cli_json(support::moto_port(), &["detach", name]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["outcome"], "detached", "{out}");
    let actions = out["variants"][0]["actions"].to_string();
    assert!(actions.contains("DeleteAlarm"), "{actions}");
    assert!(h.fx.alarm_named(&alarm_name(name)).is_none());
    assert!(h.fx.state(name).targets.is_empty());
}

/// AWS deregisters a deleted endpoint's targets itself, but nobody else deletes the alarm:
/// the state-change event that says DELETING, or the DeleteEndpoint call, removes it.
#[test]
fn a_deleted_async_endpoint_leaves_no_alarm_behind() {
    let h = Harness::start(&[]);
    for (name, by_call) in [("async-gone-event", false), ("async-gone-call", true)] {
        let (_, event) = async_endpoint(&h, name, &[(TEMPLATE, "async-backlog"), (MIN, "0")]);
        ok(h.invoke(&event));
        assert!(h.fx.alarm_named(&alarm_name(name)).is_some());
        h.fx.delete_endpoint(name);
        let deleted = if by_call {
            let mut v = support::api_call("ic-created.cloudtrail.json", "", "");
            v["detail"]["eventName"] = json!("DeleteEndpoint");
            v["detail"]["requestParameters"] = json!({"endpointName": name});
            v["detail"]["responseElements"] = Value::Null;
            v
        } else {
            let mut v = event.clone();
            v["detail"]["EndpointStatus"] = json!("DELETING");
            v
        };
        let out = ok(h.invoke(&deleted));
        assert_eq!(out["outcomes"][0]["outcome"], "detached", "{name}: {out}");
        assert!(
            h.fx.alarm_named(&alarm_name(name)).is_none(),
            "{name}: the alarm outlived its endpoint"
        );
        // Delivered again: nothing left to do.
        let again = ok(h.invoke(&deleted));
        assert_eq!(again["outcome"], "skipped", "{again}");
        assert!(h.proxy.writes().is_empty(), "{:?}", h.proxy.ops());
    }
}

#[test]
fn min_capacity_zero_and_the_queue_template_on_a_real_time_endpoint_are_refused_clearly() {
    let h = Harness::start(&[]);
    let (_, event) = h.one_variant("realtime-zero", &[(TEMPLATE, "async-backlog"), (MIN, "0")]);
    let e = h.invoke(&event).expect_err("rejected");
    assert_eq!(e["errorType"], "scaletag.InvalidTags");
    let message = e["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("MinCapacity 0 on variant `AllTraffic`")
            && message.contains("only an asynchronous endpoint's variants scale to 0 instances"),
        "{message}"
    );
    assert!(
        message.contains(
            "ApproximateBacklogSizePerInstance, which only asynchronous endpoints publish"
        ),
        "{message}"
    );
    assert!(writes(&h).is_empty(), "{:?}", h.proxy.ops());
}
