//! Malformed and hostile input, at the parsers: a corpus under `tests/corpus/`, generated
//! extremes, and property tests. Each bad input gets a clear error naming the problem; no
//! input panics. (Through the real binary with zero writes: `tests/e2e.rs`.)

use proptest::prelude::*;
use serde_json::{Value, json};

use scaletag::catalog::Catalog;
use scaletag::desire::{self, Desired, Settings};
use scaletag::resource::{EndpointFacts, Facts, VariantFacts, VariantKind};
use scaletag::{check, event, tags};

fn corpus(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("corpus file"))
        .expect("corpus JSON")
}

fn facts() -> Facts {
    Facts::Endpoint(EndpointFacts {
        name: "ep".into(),
        variants: vec![
            VariantFacts {
                name: "A".into(),
                kind: VariantKind::Instances {
                    instance_type: Some("ml.m5.large".into()),
                },
            },
            VariantFacts {
                name: "S".into(),
                kind: VariantKind::Serverless {
                    provisioned_concurrency: Some(2),
                },
            },
        ],
    })
}

fn settings() -> Settings {
    Settings {
        max_capacity_limit: Some(100),
        ..Settings::default()
    }
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn event_corpus_every_case_is_named_clearly() {
    let cases = corpus("events.json");
    assert!(cases.len() >= 15);
    for case in cases {
        let (name, payload, expect) = (
            &case["name"],
            case["payload"].as_str().unwrap(),
            case["expect"].as_str().unwrap(),
        );
        let message = match serde_json::from_str::<Value>(payload) {
            // Lambda's runtime refuses what is not JSON before scaletag sees it.
            Err(_) => "invalid JSON".to_string(),
            Ok(v) => event::decode(&v)
                .expect_err(&format!("{name} was accepted"))
                .to_string(),
        };
        assert!(
            message.contains(expect),
            "{name}: `{expect}` not in `{message}`"
        );
    }
}

#[test]
fn tag_corpus_every_rule_of_the_contract() {
    let catalog = Catalog::builtin();
    for case in corpus("tags.json") {
        let name = &case["name"];
        let result = desire::desire(&facts(), &pairs(&case["tags"]), &catalog, &settings());
        let expected: Vec<&str> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        match result {
            Ok(d) => {
                assert!(
                    expected.is_empty(),
                    "{name}: accepted, expected {expected:?}"
                );
                assert!(matches!(d, Desired::Manage(_)), "{name}: {d:?}");
            }
            Err(rejection) => {
                let message = rejection.to_string();
                assert!(!expected.is_empty(), "{name}: rejected: {message}");
                for e in expected {
                    assert!(message.contains(e), "{name}: `{e}` not in:\n{message}");
                }
                // Every problem names its tag.
                assert!(
                    rejection.problems.iter().all(|p| p.tag.is_some()),
                    "{name}: {message}"
                );
            }
        }
    }
}

#[test]
fn catalog_corpus_names_template_and_field() {
    let dir = format!("{}/tests/corpus/catalogs", env!("CARGO_MANIFEST_DIR"));
    let cases = corpus("catalogs.json");
    assert_eq!(
        cases.len(),
        std::fs::read_dir(&dir).unwrap().count(),
        "every file has a case"
    );
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let message = Catalog::parse(&text, file).expect_err(file).to_string();
        let expect = case["expect"].as_str().unwrap();
        assert!(
            message.contains(expect),
            "{file}: `{expect}` not in:\n{message}"
        );
        assert!(
            message.starts_with(&format!("{file} is not a valid template catalog")),
            "{message}"
        );
    }
}

#[test]
fn extremes_huge_deep_and_many() {
    // A 2 MB payload and a name of a million characters: refused, with a bounded message.
    let huge = json!({"source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": "x".repeat(1_000_000), "EndpointStatus": "IN_SERVICE", "Pad": "y".repeat(1_000_000)}});
    let message = event::decode(&huge).unwrap_err().to_string();
    assert!(
        message.len() < 400,
        "unbounded message of {} bytes",
        message.len()
    );

    // Nesting deeper than serde_json's recursion limit is refused by the parser, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(serde_json::from_str::<Value>(&deep).is_err());
    let deep_detail = format!(
        r#"{{"source":"aws.sagemaker","detail-type":"SageMaker Endpoint State Change","detail":{}1{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let v: Value = serde_json::from_str(&deep_detail).unwrap();
    assert!(event::decode(&v).is_err());

    // 50 tags (AWS's maximum), 128-character keys and 256-character values, unicode included.
    let mut set: Vec<(String, String)> = (0..47)
        .map(|i| (format!("team/{i:03}-{}", "k".repeat(100)), "v".repeat(256)))
        .collect();
    set.push(("autoscaling:template".into(), "default".into()));
    set.push(("autoscaling:max-capacity".into(), "100".into()));
    set.push(("autoscaling:variant:S:template".into(), "serverless".into()));
    set[0].1 = "Zoë — équipe ML".into();
    assert_eq!(set.len(), 50);
    assert!(desire::desire(&facts(), &set, &Catalog::builtin(), &settings()).is_ok());

    // A catalog of 1,000 templates is fine; one bad one among them is found by name.
    let mut many = serde_json::Map::new();
    for i in 0..1000 {
        many.insert(format!("t{i}"), json!({"MinCapacity": 1, "MaxCapacity": 2,
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 1, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}));
    }
    many.insert("t500".into(), json!({"MinCapacity": 1}));
    let e = Catalog::parse(&Value::Object(many).to_string(), "big").unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert!(
        e.problems[0].starts_with("template `t500`"),
        "{:?}",
        e.problems
    );

    // A template file that is not YAML, or a YAML bomb of aliases, is a finding, not a crash.
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\nResources: [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    let f = check::check_template("bomb.yaml", bomb, &Catalog::builtin(), &settings());
    assert_eq!(f.len(), 1);
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".*".prop_map(Value::from),
        prop_oneof![
            Just("aws.sagemaker"),
            Just("SageMaker Endpoint State Change"),
            Just("IN_SERVICE"),
            Just("EndpointName")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("source".to_string()),
                    Just("detail-type".to_string()),
                    Just("detail".to_string()),
                    Just("EndpointName".to_string()),
                    Just("EndpointStatus".to_string()),
                    Just("EndpointArn".to_string()),
                    ".*"
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn event_decoding_never_panics(v in any_json()) {
        let _ = event::decode(&v);
    }

    #[test]
    fn event_text_never_panics(s in ".{0,400}") {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            let _ = event::decode(&v);
        }
    }

    #[test]
    fn a_valid_event_round_trips(name in "[a-zA-Z0-9](-?[a-zA-Z0-9]){0,30}", status in "[A-Z_]{1,20}") {
        let v = json!({"source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change",
                       "detail": {"EndpointName": name, "EndpointStatus": status}});
        match event::decode(&v) {
            Ok(event::Trigger::EndpointStateChange(c)) => {
                prop_assert_eq!(c.endpoint_name, name);
                prop_assert_eq!(c.status, status);
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn tag_parsing_never_panics(set in prop::collection::vec((
        prop_oneof![".*".boxed(), "autoscaling:[a-z:-]{0,30}".boxed(), "autoscaling:variant:[AS]:[a-z-]{0,20}".boxed()],
        prop_oneof![".*".boxed(), "[0-9.eE+-]{0,12}".boxed(), "(default|off|responsive|true|false)".boxed()],
    ), 0..12)) {
        let _ = desire::desire(&facts(), &set, &Catalog::builtin(), &settings());
    }

    #[test]
    fn integers_render_back(n in 0..=i32::MAX) {
        prop_assert_eq!(tags::integer(&n.to_string(), 0), Ok(n));
    }

    #[test]
    fn decimals_render_back(x in (1e-12f64..1e12f64)) {
        // Rust prints f64 in plain decimal with the shortest digits that read back exactly.
        prop_assert_eq!(tags::decimal(&x.to_string()), Ok(x));
    }

    #[test]
    fn catalog_parsing_never_panics(v in any_json()) {
        let _ = Catalog::parse(&v.to_string(), "prop");
        let _ = Catalog::parse(&serde_json::json!({"t": v}).to_string(), "prop");
    }

    #[test]
    fn a_valid_template_round_trips(min in 0..5i32, extra in 0..20i32, target in 0.01f64..10_000.0, cooldown in proptest::option::of(0..3600i32), disable in proptest::option::of(any::<bool>())) {
        let mut config = json!({"TargetValue": target,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}});
        if let Some(c) = cooldown { config["ScaleInCooldown"] = json!(c); }
        if let Some(d) = disable { config["DisableScaleIn"] = json!(d); }
        let text = json!({"t": {"MinCapacity": min, "MaxCapacity": min.max(1) + extra,
            "TargetTrackingScalingPolicyConfiguration": config.clone()}}).to_string();
        let catalog = Catalog::parse(&text, "prop").expect("valid");
        let t = catalog.get("t").unwrap();
        prop_assert_eq!((t.min_capacity, t.max_capacity), (min, min.max(1) + extra));
        // The configuration renders back to exactly what was written.
        prop_assert_eq!(serde_json::to_value(&t.policies[0].config).unwrap(), config);
    }
}
