//! The operator's configuration, read once, with one error path: the function's environment
//! (SAM parameters feed it) and the command line's flags over the same variables. Every
//! variable scaletag reads is read here.

use crate::catalog::{Catalog, CatalogError};
use crate::desire::Settings;
use crate::metrics::Namespace;
use crate::tags;

/// How long an inference component that is still settling waits for its next look, unless
/// `RECHECK_DELAY_SECONDS` says otherwise (0 to 900, SQS's range).
pub const RECHECK_DELAY_SECONDS: i32 = 300;

/// How many resources a sweep reconciles at once, unless `SWEEP_CONCURRENCY` says otherwise
/// (1 to 32). docs/performance.md says how it was chosen.
pub const SWEEP_CONCURRENCY: usize = 8;

/// Why scaletag cannot start. The function reports it as an init error.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("{0}")]
    Invalid(String),
}

/// Everything the operator configures.
#[derive(Debug, Clone)]
pub struct Config {
    /// Templates: the built-ins and `POLICY_TEMPLATES`.
    pub catalog: Catalog,
    /// What shapes every decision: `TAG_PREFIX`, `MAX_CAPACITY_LIMIT`.
    pub settings: Settings,
    /// Whether the result is written back as the `P:status` tag (`STATUS_TAG`, on by default).
    pub status_tag: bool,
    /// The function's metrics namespace (`METRICS_NAMESPACE`).
    pub metrics_namespace: Namespace,
    /// The SQS queue (URL) that brings back inference components still settling
    /// (`RECHECK_QUEUE_URL`); without it, the sweep covers them.
    pub recheck_queue: Option<String>,
    /// Seconds until a re-check (`RECHECK_DELAY_SECONDS`).
    pub recheck_delay: i32,
    /// Resources a sweep reconciles at once (`SWEEP_CONCURRENCY`).
    pub sweep_concurrency: usize,
}

/// The function's configuration: every variable, through `var`.
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    load(var, "POLICY_TEMPLATES")
}

/// As [`from_env`], naming the catalog's source (a file, for the command line) in errors.
pub fn load(
    var: impl Fn(&str) -> Option<String>,
    catalog_source: &str,
) -> Result<Config, ConfigError> {
    let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    let tag_prefix = set("TAG_PREFIX").unwrap_or_else(|| Settings::default().tag_prefix);
    tags::check_prefix(&tag_prefix).map_err(ConfigError::Invalid)?;
    let max_capacity_limit = match set("MAX_CAPACITY_LIMIT") {
        None => None,
        Some(v) => Some(
            tags::integer(v.trim(), 1)
                .map_err(|m| ConfigError::Invalid(format!("MAX_CAPACITY_LIMIT `{v}` {m}")))?,
        ),
    };
    let status_tag = match set("STATUS_TAG").as_deref().map(str::trim) {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "STATUS_TAG `{other}` must be `on` or `off`"
            )));
        }
    };
    let recheck_delay = match set("RECHECK_DELAY_SECONDS") {
        None => RECHECK_DELAY_SECONDS,
        Some(v) => match v.trim().parse::<i32>() {
            Ok(n) if (0..=900).contains(&n) => n,
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "RECHECK_DELAY_SECONDS must be 0 to 900 seconds, not `{v}`"
                )));
            }
        },
    };
    let sweep_concurrency = match set("SWEEP_CONCURRENCY") {
        None => SWEEP_CONCURRENCY,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=32).contains(&n) => n,
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "SWEEP_CONCURRENCY must be 1 to 32 resources at once, not `{v}`"
                )));
            }
        },
    };
    let metrics_namespace = Namespace::parse(&var("METRICS_NAMESPACE").unwrap_or_default())
        .map_err(ConfigError::Invalid)?;
    Ok(Config {
        catalog: Catalog::load(var("POLICY_TEMPLATES").as_deref(), catalog_source)?,
        settings: Settings {
            tag_prefix,
            max_capacity_limit,
        },
        status_tag,
        metrics_namespace,
        recheck_queue: set("RECHECK_QUEUE_URL"),
        recheck_delay,
        sweep_concurrency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults() {
        let c = from_env(env(&[])).unwrap();
        assert_eq!(c.settings, Settings::default());
        assert!(c.catalog.get("default").is_some());
        assert!(c.status_tag);
        assert_eq!(
            (c.recheck_queue, c.recheck_delay),
            (None, RECHECK_DELAY_SECONDS)
        );
        assert_eq!(c.sweep_concurrency, SWEEP_CONCURRENCY);
    }

    #[test]
    fn reads_every_variable() {
        let c = from_env(env(&[
            ("TAG_PREFIX", "scale"),
            ("MAX_CAPACITY_LIMIT", "20"),
            ("STATUS_TAG", "off"),
            (
                "RECHECK_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            ),
            ("RECHECK_DELAY_SECONDS", "60"),
            ("METRICS_NAMESPACE", "Team/scaletag"),
            ("SWEEP_CONCURRENCY", "3"),
        ]))
        .unwrap();
        assert_eq!(c.sweep_concurrency, 3);
        assert_eq!(c.settings.tag_prefix, "scale");
        assert_eq!(c.settings.max_capacity_limit, Some(20));
        assert!(!c.status_tag);
        assert_eq!(c.recheck_delay, 60);
        assert!(c.recheck_queue.is_some());
    }

    #[test]
    fn bad_values_fail_start_up_with_the_variable_named() {
        let e = from_env(env(&[("MAX_CAPACITY_LIMIT", "lots")])).unwrap_err();
        assert!(
            e.to_string().starts_with("MAX_CAPACITY_LIMIT `lots`"),
            "{e}"
        );
        let e = from_env(env(&[("POLICY_TEMPLATES", "{\"x\": {}}")])).unwrap_err();
        assert!(e.to_string().contains("template `x`"), "{e}");
        assert!(from_env(env(&[("TAG_PREFIX", "aws:scaling")])).is_err());
        for (var, value) in [
            ("RECHECK_DELAY_SECONDS", "901"),
            ("SWEEP_CONCURRENCY", "0"),
            ("SWEEP_CONCURRENCY", "33"),
            ("STATUS_TAG", "maybe"),
            ("METRICS_NAMESPACE", "AWS/Mine"),
        ] {
            let e = from_env(env(&[(var, value)])).unwrap_err().to_string();
            assert!(e.contains(var) || e.contains("AWS/"), "{var}: {e}");
        }
    }
}
