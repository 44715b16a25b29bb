//! One AFL++ target for every parser scaletag exposes to untrusted input. The first byte picks
//! the parser, the rest is its input: 0 an event payload, 1 a template catalog, 2 a tag set
//! (`key=value` lines), 3 a CloudFormation/SAM template. A panic anywhere is a crash.
//! Run with `scripts/fuzz [SECONDS]`.

use scaletag::catalog::Catalog;
use scaletag::desire::{self, Settings};
use scaletag::resource::{EndpointFacts, Facts, VariantFacts, VariantKind};
use scaletag::{check, event, tags};

fn facts() -> Facts {
    Facts::Endpoint(EndpointFacts {
        name: "fuzz".into(),
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
                    provisioned_concurrency: Some(1),
                },
            },
        ],
    })
}

fn main() {
    let catalog = Catalog::builtin();
    let settings = Settings {
        max_capacity_limit: Some(100),
        ..Settings::default()
    };
    afl::fuzz!(|data: &[u8]| {
        let Some((which, rest)) = data.split_first() else {
            return;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        match which % 4 {
            0 => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                    let _ = event::decode(&v);
                }
            }
            1 => {
                if let Ok(c) = Catalog::parse(text, "fuzz") {
                    // Every template the parser accepts is one plan can use.
                    for t in c.templates() {
                        let tags = vec![("autoscaling:template".to_string(), t.name.clone())];
                        let _ = desire::desire(&facts(), &tags, &c, &settings);
                    }
                }
            }
            2 => {
                let set: Vec<(String, String)> = text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let _ = desire::desire(&facts(), &set, &catalog, &settings);
                for (_, v) in &set {
                    // What parses renders back to itself.
                    if let Ok(n) = tags::integer(v, 0) {
                        assert_eq!(tags::integer(&n.to_string(), 0), Ok(n));
                    }
                    if let Ok(x) = tags::decimal(v) {
                        assert_eq!(tags::decimal(&x.to_string()), Ok(x));
                    }
                }
            }
            _ => {
                let _ = check::check_template("fuzz.yaml", text, &catalog, &settings);
            }
        }
    });
}
