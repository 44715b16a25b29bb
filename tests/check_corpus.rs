//! `scaletag check` on real public templates (`tests/corpus/templates/`, sources and licences in
//! its SOURCES.md): each one parses and passes as it is, and each one, tagged for scaletag with a
//! typo, fails exactly on the typo, on the tag's own line; where the template also scales the
//! endpoint with an `AWS::ApplicationAutoScaling::ScalableTarget`, it warns of two owners.

use scaletag::catalog::Catalog;
use scaletag::check::{Finding, Severity, check_template};
use scaletag::desire::Settings;
use scaletag_testkit as support;
use serde_norway::Value as Yaml;

fn corpus() -> Vec<(String, String)> {
    let dir = support::repo().join("tests/corpus/templates");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/corpus/templates")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("read template"))
        })
        .collect();
    files.sort();
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("SOURCES.md");
    for (name, _) in &files {
        assert!(
            sources.contains(&format!("`{name}`")),
            "{name}: every corpus file has its source and licence in SOURCES.md"
        );
    }
    assert!(files.len() >= 9, "the corpus only grows: {files:?}");
    files
}

fn check(name: &str, text: &str) -> Vec<Finding> {
    check_template(name, text, &Catalog::builtin(), &Settings::default())
}

fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

/// Logical ids of the template's endpoints.
fn endpoints(doc: &Yaml) -> Vec<String> {
    doc.get("Resources")
        .and_then(Yaml::as_mapping)
        .map(|r| {
            r.iter()
                .filter(|(_, r)| {
                    r.get("Type").and_then(Yaml::as_str) == Some("AWS::SageMaker::Endpoint")
                })
                .filter_map(|(id, _)| id.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_real_template_parses_and_passes_as_it_is() {
    for (name, text) in corpus() {
        let findings = check(&name, &text);
        assert!(errors(&findings).is_empty(), "{name}: {findings:#?}");
        assert!(
            !findings
                .iter()
                .any(|f| f.message.contains("no AWS::SageMaker::Endpoint")),
            "{name}: its endpoints are found: {findings:#?}"
        );
    }
}

#[test]
fn a_typo_in_a_tag_added_to_a_real_template_is_found_on_its_line() {
    let mut two_owners = Vec::new();
    for (name, text) in corpus() {
        let mut doc: Yaml = serde_norway::from_str(&text).expect("parses");
        let ids = endpoints(&doc);
        assert!(!ids.is_empty(), "{name}");
        for id in &ids {
            let props = doc
                .get_mut("Resources")
                .and_then(|r| r.get_mut(id.as_str()))
                .and_then(|r| r.get_mut("Properties"))
                .and_then(Yaml::as_mapping_mut)
                .expect("endpoint properties");
            let tags = props
                .entry("Tags".into())
                .or_insert_with(|| Yaml::Sequence(Vec::new()));
            let list = tags.as_sequence_mut().expect("Tags is a list");
            for (k, v) in [
                ("autoscaling:template", "default"),
                ("autoscaling:max-capacty", "4"),
            ] {
                let mut tag = serde_norway::Mapping::new();
                tag.insert("Key".into(), k.into());
                tag.insert("Value".into(), v.into());
                list.push(Yaml::Mapping(tag));
            }
        }
        // The template as a user would write it: YAML, short-form intrinsics and all.
        let tagged = serde_norway::to_string(&doc).expect("serializes");
        let findings = check(&name, &tagged);
        let errors = errors(&findings);
        assert_eq!(
            errors.len(),
            ids.len(),
            "{name}: one per endpoint: {findings:#?}"
        );
        for e in &errors {
            assert!(
                e.message
                    .contains("`max-capacty` is not a scaletag setting")
                    && e.message.contains("did you mean `max-capacity`?"),
                "{name}: {e:?}"
            );
            let line = e.line.expect("located");
            let at = tagged.lines().nth(line - 1).unwrap_or_default();
            assert!(
                at.contains("autoscaling:max-capacty"),
                "{name}: line {line} is `{at}`, not the tag"
            );
        }
        if findings
            .iter()
            .any(|f| f.severity == Severity::Warning && f.message.contains("two owners"))
        {
            two_owners.push(name);
        }
    }
    // The two templates that also declare a ScalableTarget for their endpoint's variant, one
    // naming it by a `!Sub` that rebuilds the endpoint's name, one by `Fn::GetAtt`.
    assert_eq!(
        two_owners,
        [
            "cdk-sagemaker-alpha-3-variants-autoscaling.json",
            "safe-deployment-prd-sam-autoscaling.yaml"
        ]
    );
}

#[test]
fn the_command_line_checks_the_whole_corpus_at_once() {
    let files: Vec<String> = corpus()
        .into_iter()
        .map(|(name, _)| format!("tests/corpus/templates/{name}"))
        .collect();
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = support::cli(1, &args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}
