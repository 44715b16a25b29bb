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
fn the_nested_stack_example_lints_and_its_tags_check() {
    let example = "examples/nested-stack.yaml";
    let lint = Command::new(support::repo().join(".venv/bin/cfn-lint"))
        .arg(example)
        .current_dir(support::repo())
        .output()
        .expect("run cfn-lint");
    assert!(
        lint.status.success(),
        "cfn-lint:\n{}",
        String::from_utf8_lossy(&lint.stdout)
    );
    let text = std::fs::read_to_string(support::repo().join(example)).unwrap();
    let findings = scaletag::check::check_template(
        example,
        &text,
        &scaletag::catalog::Catalog::builtin(),
        &scaletag::desire::Settings::default(),
    );
    assert!(
        findings
            .iter()
            .all(|f| f.severity != scaletag::check::Severity::Error),
        "{findings:?}"
    );
    assert!(text.contains("AWS::Serverless::Application"));
}

#[test]
fn no_resource_has_a_fixed_name_so_the_stack_deploys_anywhere_many_times() {
    let cfn = transformed();
    let fixed = [
        "FunctionName",
        "QueueName",
        "TopicName",
        "AlarmName",
        "DashboardName",
        "RoleName",
        "Name",
    ];
    for (id, r) in cfn["Resources"].as_object().unwrap() {
        for key in fixed {
            // A literal name (a reference to another resource, like a mapping's
            // FunctionName, is not one).
            assert!(
                !r["Properties"].get(key).is_some_and(Value::is_string),
                "{id} has a fixed {key}: two stacks in one account would collide"
            );
        }
    }
    let text = std::fs::read_to_string(support::repo().join("template.yaml")).unwrap();
    for region in ["us-east-1", "us-west-2", "eu-west-1", "123456789012"] {
        assert!(!text.contains(region), "the template names {region}");
    }
}

/// What `sam publish` refuses in `AWS::ServerlessRepo::Application`, as the SAM developer
/// guide's table of metadata properties gives it ("Publishing applications: metadata
/// properties"; docs/aws-behaviour.md §6.4); empty when it would publish.
fn serverless_repository_problems(app: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(fields) = app.as_object() else {
        return vec!["no AWS::ServerlessRepo::Application metadata".into()];
    };
    let known = [
        "Name",
        "Description",
        "Author",
        "SpdxLicenseId",
        "LicenseUrl",
        "ReadmeUrl",
        "Labels",
        "HomePageUrl",
        "SemanticVersion",
        "SourceCodeUrl",
    ];
    for (key, value) in fields {
        if !known.contains(&key.as_str()) {
            found.push(format!("{key} is not a metadata property"));
        }
        // "AWS CloudFormation intrinsic functions aren't supported."
        let text = value.to_string();
        if text.contains("Fn::") || text.contains("\"Ref\"") || text.contains("${") {
            found.push(format!("{key} uses an intrinsic function"));
        }
    }
    let text = |k: &str| fields.get(k).and_then(Value::as_str);
    let length = |k: &str, max: usize, found: &mut Vec<String>| match text(k) {
        None => found.push(format!("{k} is required")),
        Some(v) if v.is_empty() || v.chars().count() > max => {
            found.push(format!("{k} must be 1 to {max} characters"))
        }
        Some(_) => {}
    };
    length("Name", 140, &mut found);
    length("Description", 256, &mut found);
    length("Author", 127, &mut found);
    if !text("Name")
        .unwrap_or_default()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        found.push("Name must match [a-zA-Z0-9\\-]+".into());
    }
    // ^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$
    let author = text("Author").unwrap_or_default();
    let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !(author.chars().all(|c| lower(c) || c == '-')
        && author.starts_with(lower)
        && author.ends_with(lower)
        && !author.contains("--"))
    {
        found.push(format!(
            "Author `{author}` must match ^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$"
        ));
    }
    let labels = list(&app["Labels"]);
    if labels.len() > 10 {
        found.push("at most 10 Labels".into());
    }
    for l in &labels {
        let l = l.as_str().unwrap_or_default();
        if l.is_empty()
            || l.len() > 127
            || !l
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-_:/@".contains(c))
        {
            found.push(format!(
                "Label `{l}` must match ^[a-zA-Z0-9+\\-_:\\/@]+$, 1 to 127"
            ));
        }
    }
    for url in ["HomePageUrl", "SourceCodeUrl"] {
        if let Some(v) = text(url)
            && !v.starts_with("https://")
        {
            found.push(format!("{url} must be a public URL"));
        }
    }
    for file in ["LicenseUrl", "ReadmeUrl"] {
        if let Some(v) = text(file) {
            let size = std::fs::metadata(support::repo().join(v)).map(|m| m.len());
            if !size.is_ok_and(|n| n <= 5 * 1024 * 1024) {
                found.push(format!("{file} must be a local file of at most 5 MB"));
            }
        }
    }
    let version: Vec<&str> = text("SemanticVersion").unwrap_or("x").split('.').collect();
    if version.len() != 3 || version.iter().any(|n| n.parse::<u64>().is_err()) {
        found.push("SemanticVersion must be MAJOR.MINOR.PATCH".into());
    }
    found
}

#[test]
fn serverless_repository_metadata_is_what_sam_publish_accepts() {
    let cfn = transformed();
    let app = &cfn["Metadata"]["AWS::ServerlessRepo::Application"];
    assert_eq!(serverless_repository_problems(app), Vec::<String>::new());
    // The check catches what `sam publish` refuses.
    for (key, value, what) in [
        (
            "Author",
            serde_json::json!("scaletag maintainers"),
            "Author",
        ),
        (
            "Author",
            serde_json::json!("scaletag--maintainers"),
            "Author",
        ),
        ("Author", serde_json::json!("Scaletag"), "Author"),
        ("Name", serde_json::json!("scale tag"), "Name must match"),
        (
            "Description",
            serde_json::json!("x".repeat(257)),
            "Description",
        ),
        ("Labels", serde_json::json!(["a b"]), "Label"),
        (
            "SemanticVersion",
            serde_json::json!({"Ref": "Version"}),
            "intrinsic",
        ),
        (
            "Homepage",
            serde_json::json!("https://example.com"),
            "not a metadata property",
        ),
    ] {
        let mut bad = app.clone();
        bad[key] = value;
        let problems = serverless_repository_problems(&bad);
        assert!(
            problems.iter().any(|p| p.contains(what)),
            "{key} not caught: {problems:?}"
        );
    }
}

#[test]
fn serverless_repository_metadata_names_this_version_and_files() {
    let cfn = transformed();
    let app = &cfn["Metadata"]["AWS::ServerlessRepo::Application"];
    assert_eq!(app["Name"], "scaletag");
    assert_eq!(app["SpdxLicenseId"], "Apache-2.0");
    assert_eq!(app["SemanticVersion"], env!("CARGO_PKG_VERSION"));
    for file in ["LicenseUrl", "ReadmeUrl"] {
        let path = support::repo().join(app[file].as_str().unwrap_or_default());
        assert!(path.is_file(), "{file}: {}", path.display());
    }
    // Every parameter reads well in the repository's console: described, and constrained
    // where it takes only some values.
    for (name, p) in cfn["Parameters"].as_object().unwrap() {
        assert!(
            p["Description"].as_str().is_some_and(|d| d.len() > 20),
            "{name}"
        );
        // Only the catalog (a JSON document) is free-form; every other value is constrained,
        // and a refused pattern says what it wants instead of printing the regular expression.
        // (cfn-lint, above, checks that each default meets its constraint.)
        if name != "PolicyTemplates" {
            assert!(
                p.get("AllowedPattern").is_some() || p.get("AllowedValues").is_some(),
                "{name} is unconstrained"
            );
        }
        if p.get("AllowedPattern").is_some() {
            assert!(
                p["ConstraintDescription"]
                    .as_str()
                    .is_some_and(|d| d.len() > 10),
                "{name}: a pattern with no ConstraintDescription"
            );
        }
    }
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
                           "detail": {"EndpointStatus": ["IN_SERVICE", "DELETING"]}})
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
            // The two lists support no resource-level permissions; nothing else may use `*`.
            let lists = [
                "sagemaker:ListEndpoints",
                "sagemaker:ListInferenceComponents",
            ];
            if a.starts_with("sagemaker:") && !lists.contains(&a.as_str()) {
                for r in list(&s["Resource"]) {
                    let r = text(&r);
                    if !(r.contains("${AWS::AccountId}:endpoint/*")
                        || r.contains("${AWS::AccountId}:endpoint-config/*")
                        || r.contains("${AWS::AccountId}:inference-component/*"))
                    {
                        found.push(format!(
                            "{a} on {r}, outside this account's endpoints and inference components"
                        ));
                    }
                }
            }
            // The re-check queue, and (SendMessage only) the OnFailure queue SAM wires.
            let queue = |name: &str| serde_json::json!({"Fn::GetAtt": [name, "Arn"]});
            let on_failure = queue("ScaletagFunctionEventInvokeConfigOnFailureQueue");
            if a.starts_with("sqs:")
                && s["Resource"] != queue("RecheckQueue")
                && !(a == "sqs:SendMessage" && s["Resource"] == on_failure)
            {
                found.push(format!("{a} beyond the re-check queue"));
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
            // The Tagging API: reading tags in bulk, never writing them.
            if a.starts_with("tag:") && a != "tag:GetResources" {
                found.push(format!("{a}: the Tagging API beyond GetResources"));
            }
            let tag_keys = &s["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"];
            if a == "sagemaker:AddTags"
                && list(tag_keys) != [serde_json::json!({"Fn::Sub": "${TagPrefix}:status"})]
            {
                found.push(format!("{a} may write tags other than the status tag"));
            }
            if a == "sagemaker:DeleteTags" {
                found.push(format!("{a}: scaletag never deletes a tag"));
            }
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
            let resource = text(&s["Resource"]);
            if a.starts_with("cloudwatch:")
                && !(resource.contains(":alarm:TargetTracking*")
                    || resource.contains(":alarm:scaletag-wake-*"))
            {
                found.push(format!(
                    "{a} beyond the TargetTracking alarms and scaletag's wake alarms"
                ));
            }
            // scaletag's own alarms may only fire Application Auto Scaling policies.
            if a == "cloudwatch:PutMetricAlarm"
                && resource.contains(":alarm:scaletag-wake-*")
                && !text(&s["Condition"]["ForAllValues:StringLike"]["cloudwatch:AlarmActions"])
                    .contains(":autoscaling:")
            {
                found.push(format!(
                    "{a} may set alarm actions other than scaling policies"
                ));
            }
        }
    }
    // Managed policies: the basic execution role (logs) and nothing else.
    let managed = &cfn["Resources"]["ScaletagFunctionRole"]["Properties"]["ManagedPolicyArns"];
    for m in list(managed) {
        if !text(&m).contains("AWSLambdaBasicExecutionRole") {
            found.push(format!("managed policy {}", text(&m)));
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

/// What parliament, an IAM linter that knows each action's condition keys and resource types
/// from the Service Authorization Reference, finds in the function's own policy (SAM's
/// generated OnFailure policy, which has no Version, aside).
fn parliament_findings(cfn: &Value) -> Vec<Value> {
    use std::io::Write;
    let mut child = Command::new(support::venv_python())
        .arg("scripts/iam-lint.py")
        .current_dir(support::repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run parliament");
    let input = cfn.to_string();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parliament");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a finding"))
        .filter(|f| f["policy"] == "ScaletagFunctionRolePolicy0")
        .collect()
}

#[test]
fn parliament_finds_nothing_in_the_role_and_catches_a_condition_key_out_of_place() {
    let cfn = transformed();
    assert_eq!(parliament_findings(&cfn), Vec::<Value>::new());
    // cloudwatch:AlarmActions on DescribeAlarms and DeleteAlarms, as the statement had it:
    // they ignore that key.
    let mut bad = cfn.clone();
    let statements = bad["Resources"]["ScaletagFunctionRole"]["Properties"]["Policies"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["PolicyName"] == "ScaletagFunctionRolePolicy0")
        .unwrap()["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap();
    let condition = statements
        .iter()
        .find(|s| s["Sid"] == "WakeAlarms")
        .unwrap()["Condition"]
        .clone();
    for s in statements.iter_mut() {
        if s["Sid"] == "ReadAndDeleteWakeAlarms" {
            s["Condition"] = condition.clone();
        }
    }
    let found = parliament_findings(&bad);
    let details: Vec<&str> = found
        .iter()
        .filter(|f| f["issue"] == "UNKNOWN_CONDITION_FOR_ACTION")
        .filter_map(|f| f["detail"].as_str())
        .collect();
    assert_eq!(details.len(), 2, "{found:?}");
    assert!(
        details
            .iter()
            .all(|d| d.contains("cloudwatch:AlarmActions")),
        "{details:?}"
    );
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
            "outside this account's endpoints and inference components",
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
        (
            "beyond the TargetTracking alarms and scaletag's wake alarms",
            Box::new(|st: &mut Value| {
                for s in st.as_array_mut().unwrap() {
                    if s["Sid"] == "ReadAndDeleteWakeAlarms" {
                        s["Resource"] = serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"});
                    }
                }
            }),
        ),
        (
            "alarm actions other than scaling policies",
            Box::new(|st: &mut Value| {
                for s in st.as_array_mut().unwrap() {
                    if s["Sid"] == "WakeAlarms" {
                        s.as_object_mut().unwrap().remove("Condition");
                    }
                }
            }),
        ),
        (
            "tags other than the status tag",
            Box::new(|st: &mut Value| {
                for s in st.as_array_mut().unwrap() {
                    if s["Sid"] == "WriteStatusTag" {
                        s.as_object_mut().unwrap().remove("Condition");
                    }
                }
            }),
        ),
        (
            "the Tagging API beyond GetResources",
            Box::new(|st: &mut Value| {
                st.as_array_mut().unwrap().push(serde_json::json!({"Effect": "Allow", "Action": "tag:TagResources", "Resource": "*"}))
            }),
        ),
        (
            "beyond the re-check queue",
            Box::new(|st: &mut Value| {
                st.as_array_mut().unwrap().push(serde_json::json!({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}))
            }),
        ),
        (
            "outside this account's endpoints and inference components",
            Box::new(|st: &mut Value| {
                st.as_array_mut().unwrap().push(serde_json::json!({"Effect": "Allow", "Action": "sagemaker:DescribeInferenceComponent", "Resource": "*"}))
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
    // What a SAM `SQS` event would add: a managed policy on every queue.
    let mut bad = cfn.clone();
    bad["Resources"]["ScaletagFunctionRole"]["Properties"]["ManagedPolicyArns"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!(
            "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
        ));
    assert!(
        violations(&bad)
            .iter()
            .any(|m| m.contains("AWSLambdaSQSQueueExecutionRole")),
        "a managed policy not caught"
    );
}

/// Whether an EventBridge event pattern matches an event, for the parts of the pattern
/// language the template uses: value lists, `exists`, `wildcard`, `$or`, nested objects
/// (docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html).
fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(key, want)| {
        if key == "$or" {
            return list(want).iter().any(|p| pattern_matches(p, event));
        }
        let have = event.get(key);
        // An array in the event matches when one of its elements does.
        if let Some(Value::Array(items)) = have {
            return items.iter().any(|item| {
                let one = serde_json::json!({ key: item });
                pattern_matches(&serde_json::json!({ key: want }), &one)
            });
        }
        match want {
            // A field the event lacks matches only `exists: false` below it.
            Value::Object(_) => pattern_matches(want, have.unwrap_or(&serde_json::json!({}))),
            Value::Array(options) => options.iter().any(|o| match (o, have) {
                (Value::Object(rule), _) if rule.contains_key("exists") => {
                    rule["exists"].as_bool() == Some(have.is_some())
                }
                (Value::Object(rule), Some(h)) if rule.contains_key("anything-but") => {
                    &rule["anything-but"] != h
                }
                (Value::Object(rule), Some(Value::String(h))) if rule.contains_key("prefix") => {
                    rule["prefix"].as_str().is_some_and(|p| h.starts_with(p))
                }
                (Value::Object(rule), Some(Value::String(h))) => {
                    rule["wildcard"].as_str().is_some_and(|w| wildcard(w, h))
                }
                (literal, Some(h)) => literal == h,
                _ => false,
            }),
            _ => false,
        }
    })
}

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .filter(|i| text.is_char_boundary(head.len() + i))
                    .any(|i| wildcard(rest, &text[head.len() + i..]))
        }
    }
}

/// The function's role, as CloudFormation would resolve it.
const ROLE: &str = "arn:aws:iam::123456789012:role/scaletag-ScaletagFunctionRole-ABC";

/// An event rule's pattern, its intrinsics resolved as CloudFormation would.
fn rule_pattern(cfn: &Value, rule: &str) -> Value {
    let rule = &cfn["Resources"][rule]["Properties"];
    let pattern: Value = serde_json::from_str(
        &rule["EventPattern"]
            .to_string()
            .replace(
                r#"{"Fn::GetAtt":["ScaletagFunctionRole","Arn"]}"#,
                &format!("\"{ROLE}\""),
            )
            .replace(r#"{"Fn::Sub":"${TagPrefix}:"}"#, r#""autoscaling:""#),
    )
    .unwrap();
    assert!(!pattern.to_string().contains("Fn::"), "{pattern}");
    pattern
}

fn event(file: &str) -> Value {
    let text = std::fs::read_to_string(support::repo().join("events").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// AWS's published records of every kind of caller (events/callers/SOURCES.md): each one's
/// tag edit fires the rule. Console sessions of IAM users and the root user have
/// `"sessionIssuer": {}`, services no session at all.
#[test]
fn the_api_call_rule_fires_on_tag_edits_by_every_kind_of_caller() {
    let cfn = transformed();
    let pattern = rule_pattern(&cfn, "ScaletagFunctionApiCalls");
    let dir = support::repo().join("events/callers");
    let mut seen = 0;
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let e: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(
                pattern_matches(&pattern, &e),
                "{} does not fire the rule",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 9);
}

/// Tags edited through the Tagging API (and so Tag Editor) fire their own rule, which names
/// endpoints and ICs only; "Tag Change on Resource" fires the third.
#[test]
fn the_tagging_api_and_tag_change_rules_fire_on_sagemaker_resources_only() {
    let cfn = transformed();
    let tagging = rule_pattern(&cfn, "ScaletagFunctionTaggingApiCalls");
    let changes = rule_pattern(&cfn, "ScaletagFunctionTagChanges");
    let api_calls = rule_pattern(&cfn, "ScaletagFunctionApiCalls");
    for file in [
        "tags-added.tagging-api.json",
        "tags-removed.tagging-api.json",
    ] {
        assert!(pattern_matches(&tagging, &event(file)), "{file}");
        assert!(
            !pattern_matches(&api_calls, &event(file)),
            "{file} fires ApiCalls"
        );
    }
    let mut elsewhere = event("tags-added.tagging-api.json");
    elsewhere["detail"]["requestParameters"]["resourceARNList"] = serde_json::json!([
        "arn:aws:s3:::bucket",
        "arn:aws:sagemaker:us-east-1:123456789012:model/m"
    ]);
    assert!(!pattern_matches(&tagging, &elsewhere), "other resources");
    let mut failed = event("tags-added.tagging-api.json");
    failed["detail"]["errorCode"] = "AccessDenied".into();
    assert!(!pattern_matches(&tagging, &failed), "a failed call");
    let change = event("tag-change-on-resource.json");
    assert!(pattern_matches(&changes, &change));
    let mut unrelated = change.clone();
    unrelated["detail"]["changed-tag-keys"] = serde_json::json!(["team"]);
    assert!(
        !pattern_matches(&changes, &unrelated),
        "a tag outside the prefix"
    );
    let mut bucket = change.clone();
    bucket["resources"] = serde_json::json!(["arn:aws:s3:::bucket"]);
    assert!(
        !pattern_matches(&changes, &bucket),
        "another service's resource"
    );
}

#[test]
fn the_api_call_rule_fires_on_the_documented_calls_only_and_never_on_scaletags_own() {
    let cfn = transformed();
    let role = ROLE;
    let pattern = &rule_pattern(&cfn, "ScaletagFunctionApiCalls");
    let mut deleted_ic = event("ic-created.cloudtrail.json");
    deleted_ic["detail"]["eventName"] = "DeleteInferenceComponent".into();
    assert!(
        pattern_matches(pattern, &deleted_ic),
        "DeleteInferenceComponent"
    );
    for file in [
        "ic-created.cloudtrail.json",
        "ic-updated.cloudtrail.json",
        "tags-added.cloudtrail.json",
    ] {
        assert!(
            pattern_matches(pattern, &event(file)),
            "{file} does not fire the rule"
        );
    }
    // A failed call, a tag edit on an endpoint, another call, the endpoint event: no.
    let mut failed = event("ic-created.cloudtrail.json");
    failed["detail"]["errorCode"] = "ValidationException".into();
    let mut endpoint_tags = event("tags-added.cloudtrail.json");
    endpoint_tags["detail"]["requestParameters"]["resourceArn"] =
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/llm-endpoint".into();
    let mut scaling = event("ic-updated.cloudtrail.json");
    scaling["detail"]["eventName"] = "UpdateInferenceComponentRuntimeConfig".into();
    // Tags edited on an endpoint fire it; by an IAM user (no session) too.
    assert!(
        pattern_matches(pattern, &endpoint_tags),
        "tags on an endpoint"
    );
    let mut by_user = endpoint_tags.clone();
    by_user["detail"]["userIdentity"] = serde_json::json!({"type": "IAMUser",
        "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"});
    assert!(pattern_matches(pattern, &by_user), "tags by an IAM user");
    // scaletag's own status write does not: no loop.
    let mut own = event("tags-added.cloudtrail.json");
    own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = role.into();
    // A tag edit outside the prefix does not either; a deletion under it does.
    let mut unrelated = event("tags-added.cloudtrail.json");
    unrelated["detail"]["requestParameters"]["tags"] =
        serde_json::json!([{"key": "team", "value": "ml"}]);
    let mut deleted = event("tags-added.cloudtrail.json");
    deleted["detail"]["eventName"] = "DeleteTags".into();
    let params = deleted["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap();
    params.remove("tags");
    params.insert(
        "tagKeys".into(),
        serde_json::json!(["team", "autoscaling:min-capacity"]),
    );
    assert!(pattern_matches(pattern, &deleted), "a deleted scaletag tag");
    let mut other_resource = event("tags-added.cloudtrail.json");
    other_resource["detail"]["requestParameters"]["resourceArn"] =
        "arn:aws:sagemaker:us-east-1:123456789012:model/llama".into();
    for (what, e) in [
        ("scaletag's own status write", own),
        ("a tag outside the prefix", unrelated),
        ("tags on a model", other_resource),
        ("a failed call", failed),
        ("Application Auto Scaling's own scaling call", scaling),
        ("an endpoint state change", event("in-service.rfc3339.json")),
    ] {
        assert!(!pattern_matches(pattern, &e), "{what} fires the rule");
    }
    // Re-checks: a queue of this stack's own, polled with the function's role, batch failures
    // reported one by one.
    let mapping = &cfn["Resources"]["RecheckMapping"]["Properties"];
    assert_eq!(
        mapping["EventSourceArn"],
        serde_json::json!({"Fn::GetAtt": ["RecheckQueue", "Arn"]})
    );
    assert_eq!(
        mapping["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    let env = &cfn["Resources"]["ScaletagFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["RECHECK_QUEUE_URL"],
        serde_json::json!({"Ref": "RecheckQueue"})
    );
    // A re-check that keeps failing is set aside, not retried until it expires.
    let redrive = &cfn["Resources"]["RecheckQueue"]["Properties"]["RedrivePolicy"];
    assert_eq!(
        redrive["deadLetterTargetArn"],
        serde_json::json!({"Fn::GetAtt": ["RecheckDeadLetterQueue", "Arn"]})
    );
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

/// The tools the tests and the builds install are pinned, each with every dependency (a `pip
/// freeze`), so a fresh machine installs exactly what was tested.
#[test]
fn build_and_test_tools_are_pinned_exactly() {
    for file in ["requirements-dev.txt", "requirements-build.txt"] {
        let text = std::fs::read_to_string(support::repo().join(file)).expect(file);
        let pins: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        assert!(pins.len() > 10, "{file}: {pins:?}");
        for pin in pins {
            let (name, version) = pin.split_once("==").unwrap_or(("", ""));
            assert!(
                !name.is_empty() && !version.is_empty() && !pin.contains([' ', '>', '<', '~', ';']),
                "{file}: `{pin}` is not an exact pin"
            );
        }
    }
}
