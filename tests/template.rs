//! The SAM template: cfn-lint clean, transformable by aws-sam-translator, and shaped as
//! promised (runtime, trigger, failure destination, least privilege).

mod support;

use std::process::Command;

use serde_json::Value;

fn python(args: &[&str]) -> std::process::Output {
    Command::new(support::venv_python())
        .args(args)
        .current_dir(support::repo())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("run python")
}

fn transformed() -> Value {
    let out = python(&["scripts/sam-transform.py", "template.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("CloudFormation JSON")
}

fn statements(cfn: &Value) -> Vec<Value> {
    let role = &cfn["Resources"]["ScaletagFunctionRole"]["Properties"];
    role["Policies"]
        .as_array()
        .expect("inline policies")
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

#[test]
fn cfn_lint_is_clean() {
    let out = Command::new(support::repo().join(".venv/bin/cfn-lint"))
        .arg("template.yaml")
        .current_dir(support::repo())
        .output()
        .expect("run cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn function_trigger_and_failure_destination() {
    let cfn = transformed();
    let f = &cfn["Resources"]["ScaletagFunction"]["Properties"];
    assert_eq!(f["Runtime"], "provided.al2023");
    assert_eq!(f["Handler"], "bootstrap");
    assert_eq!(f["Architectures"], serde_json::json!(["arm64"]));
    assert_eq!(f["MemorySize"], 128);
    assert!(
        f["Timeout"].as_i64().unwrap() >= 30,
        "room for retries with backoff"
    );
    assert_eq!(f["LoggingConfig"]["LogFormat"], "JSON");
    let env = f["Environment"]["Variables"].as_object().unwrap();
    for var in [
        "TAG_PREFIX",
        "POLICY_TEMPLATES",
        "MAX_CAPACITY_LIMIT",
        "LOG_LEVEL",
    ] {
        assert!(env.contains_key(var), "{var}");
    }

    let rule = &cfn["Resources"]["ScaletagFunctionEndpointInService"]["Properties"];
    assert_eq!(
        rule["EventPattern"],
        serde_json::json!({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"],
                           "detail": {"EndpointStatus": ["IN_SERVICE"]}})
    );
    let invoke = &cfn["Resources"]["ScaletagFunctionEventInvokeConfig"]["Properties"];
    assert_eq!(invoke["MaximumRetryAttempts"], 2);
    assert!(
        invoke["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
            == "ScaletagFunctionEventInvokeConfigOnFailureQueue"
    );
    assert_eq!(
        cfn["Resources"]["ScaletagFunctionEventInvokeConfigOnFailureQueue"]["Type"],
        "AWS::SQS::Queue"
    );
}

#[test]
fn permissions_are_least_privilege() {
    let cfn = transformed();
    let statements = statements(&cfn);
    assert!(!statements.is_empty());
    let text = |v: &Value| serde_json::to_string(v).unwrap();
    for s in &statements {
        assert_eq!(s["Effect"], "Allow");
        for action in list(&s["Action"]) {
            let a = action.as_str().unwrap();
            assert!(!a.contains('*'), "wildcard action {a}");
            assert_ne!(a, "iam:PassRole", "PassRole is never needed");
            // ListEndpoints (the sweep) supports no resource-level permissions; nothing else may use `*`.
            if a.starts_with("sagemaker:") && a != "sagemaker:ListEndpoints" {
                for r in list(&s["Resource"]) {
                    let r = text(&r);
                    assert!(
                        r.contains("${AWS::AccountId}:endpoint/*")
                            || r.contains("${AWS::AccountId}:endpoint-config/*"),
                        "{a} on {r}"
                    );
                }
            }
            let aas_write = [
                "RegisterScalableTarget",
                "PutScalingPolicy",
                "DeleteScalingPolicy",
                "DeregisterScalableTarget",
            ]
            .iter()
            .any(|w| a == format!("application-autoscaling:{w}"));
            if aas_write {
                assert_eq!(
                    s["Condition"]["StringEquals"]["application-autoscaling:service-namespace"],
                    "sagemaker",
                    "{a} without the sagemaker namespace condition"
                );
            }
            if a == "iam:CreateServiceLinkedRole" {
                assert_eq!(
                    s["Condition"]["StringLike"]["iam:AWSServiceName"],
                    "sagemaker.application-autoscaling.amazonaws.com"
                );
            }
            if a.starts_with("cloudwatch:") {
                assert!(
                    text(&s["Resource"]).contains("alarm:TargetTracking*"),
                    "{a}"
                );
            }
        }
    }
}
