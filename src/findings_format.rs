//! The findings of `check` for tools: a SARIF 2.1.0 log for code-scanning services, and
//! GitHub Actions annotations. (As text for people, they are `render::check_text`.)

use crate::check::{Finding, Severity};

/// SARIF's rules: one per kind of finding, by its severity.
const RULES: [(Severity, &str, &str); 3] = [
    (
        Severity::Error,
        "rejected-tag",
        "A tag scaletag would reject at deploy: nothing would be applied to the resource.",
    ),
    (
        Severity::Warning,
        "two-owners",
        "Tagged for scaletag and scaled by the template too: two owners undo each other.",
    ),
    (
        Severity::Note,
        "note",
        "Worth knowing: values known only at deploy, variants that will not scale.",
    ),
];

/// The findings as one SARIF 2.1.0 log (OASIS's Static Analysis Results Interchange Format),
/// for code-scanning services such as GitHub's (`github/codeql-action/upload-sarif`): one rule
/// per kind of finding, each result at its template file and line where they are known.
pub fn sarif(findings: &[Finding], version: &str) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|(severity, id, text)| {
            serde_json::json!({
                "id": id,
                "shortDescription": {"text": text},
                "defaultConfiguration": {"level": sarif_level(*severity)},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings.iter().map(sarif_result).collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scaletag",
                "version": version,
                "semanticVersion": version,
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// One finding as a SARIF result: its rule, and its file, line and path where they are known.
fn sarif_result(f: &Finding) -> serde_json::Value {
    let index = RULES
        .iter()
        .position(|(s, ..)| *s == f.severity)
        .unwrap_or(0);
    let mut result = serde_json::json!({
        "ruleId": RULES[index].1,
        "ruleIndex": index,
        "level": sarif_level(f.severity),
        "message": {"text": f.message},
    });
    if let Some(file) = &f.file {
        let mut physical = serde_json::json!({"artifactLocation": {"uri": file}});
        if let Some(line) = f.line {
            physical["region"] = serde_json::json!({"startLine": line});
        }
        let mut location = serde_json::json!({"physicalLocation": physical});
        if let Some(path) = &f.path {
            location["logicalLocations"] = serde_json::json!([{"fullyQualifiedName": path}]);
        }
        result["locations"] = serde_json::json!([location]);
    }
    result
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A finding as a GitHub Actions workflow command: an annotation on the template's line.
pub fn github_annotation(f: &Finding) -> String {
    fn escape(s: &str, property: bool) -> String {
        let s = s
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        if property {
            s.replace(':', "%3A").replace(',', "%2C")
        } else {
            s
        }
    }
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut props = Vec::new();
    if let Some(file) = &f.file {
        props.push(format!("file={}", escape(file, true)));
    }
    if let Some(line) = f.line {
        props.push(format!("line={line}"));
    }
    props.push(format!(
        "title={}",
        escape(
            &format!("scaletag: {}", f.path.as_deref().unwrap_or(&f.location)),
            true
        )
    ));
    format!(
        "::{level} {}::{}",
        props.join(","),
        escape(&f.message, false)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{CONFIG, check, endpoint_with, errors};

    #[test]
    fn sarif_results_name_their_rule_and_place() {
        let f = endpoint_with("\n        - {Key: autoscaling:template, Value: defualt}");
        let mut all = f.clone();
        all.push(Finding::new("--tags", Severity::Note, "no file"));
        let log = sarif(&all, "9.9.9");
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let results = run["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(results.len(), all.len());
        for r in &results {
            let rule = &rules[r["ruleIndex"].as_u64().unwrap_or(99) as usize];
            assert_eq!(rule["id"], r["ruleId"]);
            assert_eq!(rule["defaultConfiguration"]["level"], r["level"]);
        }
        let error = &results[0];
        assert_eq!(error["ruleId"], "rejected-tag");
        assert_eq!(
            error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "t.yaml"
        );
        assert_eq!(
            error["locations"][0]["physicalLocation"]["region"]["startLine"],
            18
        );
        // A finding with no file (a --tags check) is a result without a location.
        assert!(results.last().is_some_and(|r| r.get("locations").is_none()));
    }

    #[test]
    fn findings_carry_file_path_and_line_and_read_as_github_annotations() {
        let text = format!(
            r#"Resources:
{CONFIG}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !Ref Config
      Tags:
        - Key: autoscaling:template
          Value: default
        - Key: autoscaling:max-capcity
          Value: "5"
"#
        );
        let f = check(&text);
        let e = errors(&f);
        assert_eq!(e.len(), 1, "{f:?}");
        let line = text
            .lines()
            .position(|l| l.contains("max-capcity"))
            .unwrap()
            + 1;
        assert_eq!(e[0].file.as_deref(), Some("t.yaml"));
        assert_eq!(
            e[0].path.as_deref(),
            Some("Resources.Endpoint.Properties.Tags[1]")
        );
        assert_eq!(e[0].line, Some(line));
        let a = github_annotation(e[0]);
        assert!(
            a.starts_with(&format!(
                "::error file=t.yaml,line={line},title=scaletag%3A Resources.Endpoint.Properties.Tags[1]::tag `autoscaling:max-capcity`"
            )),
            "{a}"
        );
    }
}
