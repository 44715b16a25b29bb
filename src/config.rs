//! The operator's configuration, from the function's environment (SAM parameters feed it).

use crate::catalog::{Catalog, CatalogError};
use crate::desire::Settings;
use crate::tags;

/// Why the function cannot start. Lambda reports it as an init error.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("{0}")]
    Invalid(String),
}

/// Reads `TAG_PREFIX`, `POLICY_TEMPLATES`, `MAX_CAPACITY_LIMIT` and `STATUS_TAG` through `var`.
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<(Catalog, Settings), ConfigError> {
    load(var, "POLICY_TEMPLATES")
}

/// As [`from_env`], naming the catalog's source (a file, for the command line) in errors.
pub fn load(
    var: impl Fn(&str) -> Option<String>,
    catalog_source: &str,
) -> Result<(Catalog, Settings), ConfigError> {
    let tag_prefix = var("TAG_PREFIX")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| Settings::default().tag_prefix);
    tags::check_prefix(&tag_prefix).map_err(ConfigError::Invalid)?;
    let max_capacity_limit = match var("MAX_CAPACITY_LIMIT").filter(|v| !v.trim().is_empty()) {
        None => None,
        Some(v) => Some(
            tags::integer(v.trim(), 1)
                .map_err(|m| ConfigError::Invalid(format!("MAX_CAPACITY_LIMIT `{v}` {m}")))?,
        ),
    };
    let status_tag = match var("STATUS_TAG").as_deref().map(str::trim) {
        None | Some("") | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "STATUS_TAG `{other}` must be `on` or `off`"
            )));
        }
    };
    let catalog = Catalog::load(var("POLICY_TEMPLATES").as_deref(), catalog_source)?;
    Ok((
        catalog,
        Settings {
            tag_prefix,
            max_capacity_limit,
            status_tag,
        },
    ))
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
        let (catalog, settings) = from_env(env(&[])).unwrap();
        assert_eq!(settings, Settings::default());
        assert!(catalog.get("default").is_some());
    }

    #[test]
    fn reads_every_variable() {
        let (_, s) = from_env(env(&[
            ("TAG_PREFIX", "scale"),
            ("MAX_CAPACITY_LIMIT", "20"),
        ]))
        .unwrap();
        assert_eq!(s.tag_prefix, "scale");
        assert_eq!(s.max_capacity_limit, Some(20));
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
    }
}
