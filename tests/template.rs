//! The SAM template: cfn-lint clean, transformable by aws-sam-translator, and shaped as
//! promised (runtime, trigger, failure destination, least privilege).

use scaletag_testkit as support;

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

/// Every way the role could be wider than scaletag needs, as messages; empty when it is not.
fn violations(cfn: &Value) -> Vec<String> {
    let text = |v: &Value| serde_json::to_string(v).unwrap();
    let mut found = Vec::new();
    for s in statements(cfn) {
        if s["Effect"] != "Allow" {
            continue;
        }
        for action in list(&s["Action"]) {
            let a = action.as_str().unwrap_or_default().to_string();
            if a.contains('*') {
                found.push(format!("wildcard action {a}"));
            }
            if a == "iam:PassRole" {
                found.push("iam:PassRole is never needed".into());
            }
            // ListEndpoints (the sweep) supports no resource-level permissions; nothing else may use `*`.
            if a.starts_with("sagemaker:") && a != "sagemaker:ListEndpoints" {
                for r in list(&s["Resource"]) {
                    let r = text(&r);
                    if !(r.contains("${AWS::AccountId}:endpoint/*")
                        || r.contains("${AWS::AccountId}:endpoint-config/*"))
                    {
                        found.push(format!("{a} on {r}, outside this account's endpoints"));
                    }
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
            if aas_write
                && s["Condition"]["StringEquals"]["application-autoscaling:service-namespace"]
                    != "sagemaker"
            {
                found.push(format!("{a} without the sagemaker namespace condition"));
            }
            if a.starts_with("application-autoscaling:")
                && !a.contains(":Describe")
                && !text(&s["Resource"]).contains(":scalable-target/*")
            {
                found.push(format!("{a} beyond scalable targets"));
            }
            let tag_keys = &s["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"];
            if (a == "application-autoscaling:TagResource"
                || a == "application-autoscaling:RegisterScalableTarget")
                && list(tag_keys) != [serde_json::json!("managed-by")]
            {
                found.push(format!(
                    "{a} may write tag keys other than scaletag's owner tag"
                ));
            }
            if a == "iam:CreateServiceLinkedRole"
                && s["Condition"]["StringLike"]["iam:AWSServiceName"]
                    != "sagemaker.application-autoscaling.amazonaws.com"
            {
                found.push("CreateServiceLinkedRole without its service-name condition".into());
            }
            if a.starts_with("cloudwatch:")
                && !text(&s["Resource"]).contains("alarm:TargetTracking*")
            {
                found.push(format!("{a} beyond the TargetTracking alarms"));
            }
        }
    }
    found
}

#[test]
fn permissions_are_least_privilege() {
    let cfn = transformed();
    assert!(!statements(&cfn).is_empty());
    assert_eq!(violations(&cfn), Vec::<String>::new());
}

#[test]
fn the_least_privilege_check_catches_each_widening() {
    let cfn = transformed();
    fn policies(c: &mut Value) -> &mut Value {
        let all = c["Resources"]["ScaletagFunctionRole"]["Properties"]["Policies"]
            .as_array_mut()
            .unwrap();
        let ours = all
            .iter_mut()
            .find(|p| p["PolicyName"] == "ScaletagFunctionRolePolicy0")
            .unwrap();
        &mut ours["PolicyDocument"]["Statement"]
    }
    type Widen = Box<dyn Fn(&mut Value)>;
    let widenings: Vec<(&str, Widen)> = vec![
        (
            "wildcard action",
            Box::new(|st: &mut Value| {
                st.as_array_mut().unwrap().push(serde_json::json!({"Effect": "Allow", "Action": "application-autoscaling:*", "Resource": "*"}))
            }),
        ),
        (
            "PassRole",
            Box::new(|st: &mut Value| {
                st.as_array_mut().unwrap().push(serde_json::json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}))
            }),
        ),
        (
            "outside this account's endpoints",
            Box::new(|st: &mut Value| {
                st.as_array_mut().unwrap().push(serde_json::json!({"Effect": "Allow", "Action": "sagemaker:DescribeEndpoint", "Resource": "*"}))
            }),
        ),
        (
            "namespace condition",
            Box::new(|st: &mut Value| {
                for s in st.as_array_mut().unwrap() {
                    if s["Sid"] == "WriteSageMakerScaling" {
                        s.as_object_mut().unwrap().remove("Condition");
                    }
                }
            }),
        ),
        (
            "tag keys other than",
            Box::new(|st: &mut Value| {
                for s in st.as_array_mut().unwrap() {
                    if s["Sid"] == "TargetOwnership" {
                        s.as_object_mut().unwrap().remove("Condition");
                    }
                }
            }),
        ),
        (
            "beyond scalable targets",
            Box::new(|st: &mut Value| {
                st.as_array_mut().unwrap().push(serde_json::json!({"Effect": "Allow", "Action": "application-autoscaling:UntagResource", "Resource": "*"}))
            }),
        ),
        (
            "service-name condition",
            Box::new(|st: &mut Value| {
                for s in st.as_array_mut().unwrap() {
                    if s["Sid"] == "CreateScalingServiceLinkedRole" {
                        s.as_object_mut().unwrap().remove("Condition");
                    }
                }
            }),
        ),
    ];
    for (what, widen) in widenings {
        let mut bad = cfn.clone();
        widen(policies(&mut bad));
        let v = violations(&bad);
        assert!(
            v.iter().any(|m| m.contains(what)),
            "{what} not caught: {v:?}"
        );
    }
}

/// The dashboard body, its `${...}` filled as CloudFormation would.
fn dashboard(cfn: &Value) -> Value {
    let sub = &cfn["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"];
    let text = sub[0].as_str().expect("a Fn::Sub body");
    assert_eq!(sub[1]["Ns"], serde_json::json!({"Ref": "MetricsNamespace"}));
    let text = text
        .replace("${Ns}", "scaletag")
        .replace(
            "${Alarm}",
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:problems",
        )
        .replace("${AWS::Region}", "us-east-1");
    assert!(!text.contains("${"), "an unfilled placeholder: {text}");
    serde_json::from_str(&text).expect("the dashboard body is JSON")
}

#[test]
fn the_alarm_and_the_dashboard_read_the_functions_own_metrics() {
    let cfn = transformed();
    let published = scaletag::metrics::NAMES;
    // The alarm: rejections plus failures, in the function's namespace, notifying when asked.
    let alarm = &cfn["Resources"]["ProblemsAlarm"]["Properties"];
    let mut alarmed = Vec::new();
    for m in list(&alarm["Metrics"]) {
        if let Some(stat) = m.get("MetricStat") {
            assert_eq!(
                stat["Metric"]["Namespace"],
                serde_json::json!({"Ref": "MetricsNamespace"})
            );
            alarmed.push(
                stat["Metric"]["MetricName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    assert_eq!(alarmed, ["Rejected", "Failed"]);
    assert!(alarmed.iter().all(|n| published.contains(&n.as_str())));
    let actions = alarm["AlarmActions"].to_string();
    assert!(
        actions.contains("AlarmEmailTopic") && actions.contains("AlarmTopicArn"),
        "{actions}"
    );
    assert_eq!(
        cfn["Resources"]["AlarmEmailTopic"]["Condition"], "HasAlarmEmail",
        "no topic without an address"
    );
    // The dashboard: every metric it shows is one the function publishes, in every widget's region.
    let body = dashboard(&cfn);
    let widgets = body["widgets"].as_array().expect("widgets");
    assert!(widgets.len() >= 5);
    let mut shown = Vec::new();
    for w in widgets {
        let p = &w["properties"];
        if w["type"] == "metric" {
            assert_eq!(p["region"], "us-east-1", "{w}");
            for m in p["metrics"].as_array().expect("metrics") {
                assert_eq!(m[0], "scaletag");
                shown.push(m[1].as_str().unwrap_or_default().to_string());
            }
        }
    }
    for n in &shown {
        assert!(
            published.contains(&n.as_str()),
            "the dashboard shows `{n}`, which nothing publishes"
        );
    }
    for n in [
        "Applied",
        "Rejected",
        "Failed",
        "Writes",
        "SweepEndpoints",
        "Duration",
    ] {
        assert!(shown.iter().any(|s| s == n), "the dashboard misses {n}");
    }
    assert!(widgets.iter().any(|w| w["type"] == "alarm"));
}
