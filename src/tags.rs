//! The tag contract: what an endpoint's `P:` tags say, parsed strictly.
//!
//! Every tag under the prefix must be one scaletag knows, with a value that parses; anything
//! else is a [`Problem`] naming the tag, so a typo like `autoscaling:max-capcity` is caught.
//! Tag values can only hold letters, digits, spaces and `_ . : / = + - @` (docs/aws-behaviour.md §4), so
//! every value here is a plain word or number.

use std::collections::BTreeMap;

/// The setting scaletag writes itself (`<prefix>:status`, see `status`): never read as one of
/// the user's settings.
pub const STATUS_SETTING: &str = "status";

/// The status tag's key.
pub fn status_key(prefix: &str) -> String {
    format!("{prefix}:{STATUS_SETTING}")
}

/// One thing wrong with the tags, written for the person who set them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The tag key and value at fault, when one tag is.
    pub tag: Option<(String, String)>,
    pub message: String,
}

impl Problem {
    pub fn tag(key: &str, value: &str, message: impl Into<String>) -> Problem {
        Problem {
            tag: Some((key.to_string(), value.to_string())),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tag {
            Some((k, v)) => write!(f, "tag `{k}` = `{v}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A value and the tag it came from, so later checks can name the tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged<T> {
    pub value: T,
    pub key: String,
    pub raw: String,
}

impl<T> Tagged<T> {
    pub fn problem(&self, message: impl Into<String>) -> Problem {
        Problem::tag(&self.key, &self.raw, message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Template(String),
    Off,
}

/// The settings one level (the endpoint, or one variant) overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub template: Option<Tagged<Choice>>,
    pub min_capacity: Option<Tagged<i32>>,
    pub max_capacity: Option<Tagged<i32>>,
    pub target_value: Option<Tagged<f64>>,
    pub scale_in_cooldown: Option<Tagged<i32>>,
    pub scale_out_cooldown: Option<Tagged<i32>>,
    pub disable_scale_in: Option<Tagged<bool>>,
}

/// Everything the `P:` tags of one endpoint say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointTags {
    pub endpoint: Overrides,
    pub variants: BTreeMap<String, Overrides>,
}

impl EndpointTags {
    /// Whether any tag under the prefix was present at all.
    pub fn is_empty(&self) -> bool {
        self.endpoint == Overrides::default() && self.variants.is_empty()
    }
}

/// Every setting a `P:` tag can carry, declared once: its key ([`Setting::key`]), how its
/// value parses ([`set`]) and where it lands ([`Overrides::tag_of`]) are exhaustive matches, so
/// a new setting that misses one does not compile, and one missing from [`Setting::ALL`] fails
/// the test that holds the README's tag reference to this list. Its effect is `desire`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Template,
    MinCapacity,
    MaxCapacity,
    TargetValue,
    ScaleInCooldown,
    ScaleOutCooldown,
    DisableScaleIn,
}

impl Setting {
    pub const ALL: [Setting; 7] = [
        Setting::Template,
        Setting::MinCapacity,
        Setting::MaxCapacity,
        Setting::TargetValue,
        Setting::ScaleInCooldown,
        Setting::ScaleOutCooldown,
        Setting::DisableScaleIn,
    ];

    /// The setting part of its tag key: `P:<key>`, or `P:variant:<VariantName>:<key>`.
    pub fn key(self) -> &'static str {
        match self {
            Setting::Template => "template",
            Setting::MinCapacity => "min-capacity",
            Setting::MaxCapacity => "max-capacity",
            Setting::TargetValue => "target-value",
            Setting::ScaleInCooldown => "scale-in-cooldown",
            Setting::ScaleOutCooldown => "scale-out-cooldown",
            Setting::DisableScaleIn => "disable-scale-in",
        }
    }

    pub fn from_key(key: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.key() == key)
    }
}

impl Overrides {
    /// The tag (key and raw value) that set `setting` at this level, if one did.
    pub fn tag_of(&self, setting: Setting) -> Option<(&str, &str)> {
        fn k<T>(t: &Option<Tagged<T>>) -> Option<(&str, &str)> {
            t.as_ref().map(|t| (t.key.as_str(), t.raw.as_str()))
        }
        match setting {
            Setting::Template => k(&self.template),
            Setting::MinCapacity => k(&self.min_capacity),
            Setting::MaxCapacity => k(&self.max_capacity),
            Setting::TargetValue => k(&self.target_value),
            Setting::ScaleInCooldown => k(&self.scale_in_cooldown),
            Setting::ScaleOutCooldown => k(&self.scale_out_cooldown),
            Setting::DisableScaleIn => k(&self.disable_scale_in),
        }
    }

    /// Every tag that set something at this level, in the order of [`Setting::ALL`].
    pub fn tags(&self) -> Vec<(&str, &str)> {
        Setting::ALL
            .into_iter()
            .filter_map(|s| self.tag_of(s))
            .collect()
    }
}

/// Checks a tag prefix from configuration: a legal tag key part, not AWS's reserved `aws:`.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.len() > 64 {
        return Err("TAG_PREFIX must be 1-64 characters".into());
    }
    if prefix.to_ascii_lowercase().starts_with("aws:") || prefix.eq_ignore_ascii_case("aws") {
        return Err("TAG_PREFIX must not be `aws`: the aws: prefix is reserved by AWS".into());
    }
    if !prefix.chars().all(legal_tag_char) {
        return Err(format!(
            "TAG_PREFIX `{prefix}` holds a character tags cannot: use letters, digits, spaces and _ . : / = + - @"
        ));
    }
    Ok(())
}

fn legal_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// Parses every tag under `prefix:`; tags outside it are not scaletag's and are ignored.
pub fn parse<'a>(
    prefix: &str,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (EndpointTags, Vec<Problem>) {
    let mut out = EndpointTags::default();
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let lead = format!("{prefix}:");
    for (key, value) in tags {
        let Some(rest) = key.strip_prefix(&lead) else {
            continue;
        };
        // scaletag's own status tag: written by it, never an instruction to it.
        if rest == STATUS_SETTING {
            continue;
        }
        if !seen.insert(key) {
            problems.push(Problem::tag(key, value, "this tag appears more than once"));
            continue;
        }
        let (target, setting) = match rest.strip_prefix("variant:") {
            Some(v) => match v.split_once(':') {
                Some((variant, setting)) if !variant.is_empty() => (
                    out.variants.entry(variant.to_string()).or_default(),
                    setting,
                ),
                _ => {
                    problems.push(Problem::tag(
                        key,
                        value,
                        format!("a per-variant tag is `{prefix}:variant:<VariantName>:<setting>`"),
                    ));
                    continue;
                }
            },
            None => (&mut out.endpoint, rest),
        };
        if let Err(p) = set(target, setting, key, value) {
            problems.push(p);
        }
    }
    (out, problems)
}

fn set(o: &mut Overrides, setting: &str, key: &str, raw: &str) -> Result<(), Problem> {
    fn tagged<T>(value: T, key: &str, raw: &str) -> Tagged<T> {
        Tagged {
            value,
            key: key.to_string(),
            raw: raw.to_string(),
        }
    }
    let fail = |m: String| Problem::tag(key, raw, m);
    let Some(known) = Setting::from_key(setting) else {
        let keys = Setting::ALL.map(Setting::key);
        let hint = keys
            .iter()
            .filter(|s| edit_distance(s, setting) <= 2)
            .min_by_key(|s| edit_distance(s, setting))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| format!("; known settings: {}", keys.join(", ")));
        return Err(fail(format!("`{setting}` is not a scaletag setting{hint}")));
    };
    match known {
        Setting::Template => {
            let choice = match raw {
                "off" => Choice::Off,
                "" => return Err(fail("needs a template name, or `off`".into())),
                name if name.trim() != name => {
                    return Err(fail("has spaces around the template name".into()));
                }
                name => Choice::Template(name.to_string()),
            };
            o.template = Some(tagged(choice, key, raw));
        }
        Setting::MinCapacity => {
            o.min_capacity = Some(tagged(integer(raw, 0).map_err(fail)?, key, raw))
        }
        Setting::MaxCapacity => {
            o.max_capacity = Some(tagged(integer(raw, 1).map_err(fail)?, key, raw))
        }
        Setting::ScaleInCooldown => {
            o.scale_in_cooldown = Some(tagged(integer(raw, 0).map_err(fail)?, key, raw))
        }
        Setting::ScaleOutCooldown => {
            o.scale_out_cooldown = Some(tagged(integer(raw, 0).map_err(fail)?, key, raw))
        }
        Setting::TargetValue => {
            o.target_value = Some(tagged(decimal(raw).map_err(fail)?, key, raw))
        }
        Setting::DisableScaleIn => {
            let b = match raw {
                "true" => true,
                "false" => false,
                _ => return Err(fail("must be `true` or `false`".into())),
            };
            o.disable_scale_in = Some(tagged(b, key, raw));
        }
    }
    Ok(())
}

fn whitespace_problem(raw: &str) -> Option<String> {
    (raw.trim() != raw).then(|| "has spaces around the number".to_string())
}

/// A whole number in plain decimal digits, at least `min`, within AWS's 32-bit integers.
pub fn integer(raw: &str, min: i32) -> Result<i32, String> {
    if let Some(m) = whitespace_problem(raw) {
        return Err(m);
    }
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("must be a whole number of {min} or more"));
    }
    let n: i32 = raw
        .parse()
        .map_err(|_| format!("{raw} is too large (at most {})", i32::MAX))?;
    if n < min {
        return Err(format!("must be {min} or more"));
    }
    Ok(n)
}

/// A positive decimal like `70` or `0.75`: no sign, exponent, hex, `inf` or `NaN`.
pub fn decimal(raw: &str) -> Result<f64, String> {
    if let Some(m) = whitespace_problem(raw) {
        return Err(m);
    }
    let (int, frac) = raw.split_once('.').unwrap_or((raw, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return Err("must be a positive decimal number such as 70 or 0.75".into());
    }
    match raw.parse::<f64>() {
        Ok(v) if !v.is_finite() => Err("is too large".into()),
        Ok(v) if v > 0.0 => Ok(v),
        _ => Err("must be greater than 0".into()),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    /// The README's tag reference and this list say the same: a setting missing from
    /// `Setting::ALL` (so never parsed) or from the README (so never documented) fails here.
    #[test]
    fn every_setting_is_documented_and_every_documented_setting_parses() {
        let readme = include_str!("../README.md");
        let table = &readme[readme.find("## Tag reference").expect("tag reference")..];
        let table = &table[..table[3..].find("\n## ").map_or(table.len(), |n| n + 3)];
        let documented: std::collections::BTreeSet<&str> = table
            .lines()
            .filter_map(|l| l.strip_prefix("| `P:"))
            .filter_map(|l| l.split('`').next())
            .filter(|k| !k.starts_with("variant:") && *k != STATUS_SETTING)
            .collect();
        let known: std::collections::BTreeSet<&str> =
            Setting::ALL.iter().map(|s| s.key()).collect();
        assert_eq!(documented, known);
        for s in Setting::ALL {
            assert_eq!(Setting::from_key(s.key()), Some(s));
        }
    }

    use super::*;

    fn parse_all(tags: &[(&str, &str)]) -> (EndpointTags, Vec<String>) {
        let (t, p) = parse("autoscaling", tags.iter().copied());
        (t, p.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_every_setting_at_both_levels() {
        let (t, p) = parse_all(&[
            ("autoscaling:template", "default"),
            ("autoscaling:min-capacity", "0"),
            ("autoscaling:max-capacity", "10"),
            ("autoscaling:target-value", "0.75"),
            ("autoscaling:scale-in-cooldown", "600"),
            ("autoscaling:scale-out-cooldown", "30"),
            ("autoscaling:disable-scale-in", "true"),
            ("autoscaling:variant:Shadow:template", "off"),
            ("autoscaling:variant:Main:max-capacity", "3"),
            ("team", "ml"),
        ]);
        assert!(p.is_empty(), "{p:?}");
        let e = &t.endpoint;
        assert_eq!(
            e.template.as_ref().unwrap().value,
            Choice::Template("default".into())
        );
        assert_eq!(e.min_capacity.as_ref().unwrap().value, 0);
        assert_eq!(e.max_capacity.as_ref().unwrap().value, 10);
        assert_eq!(e.target_value.as_ref().unwrap().value, 0.75);
        assert_eq!(e.scale_in_cooldown.as_ref().unwrap().value, 600);
        assert_eq!(e.scale_out_cooldown.as_ref().unwrap().value, 30);
        assert!(e.disable_scale_in.as_ref().unwrap().value);
        assert_eq!(
            t.variants["Shadow"].template.as_ref().unwrap().value,
            Choice::Off
        );
        assert_eq!(
            t.variants["Main"].max_capacity.as_ref().unwrap().key,
            "autoscaling:variant:Main:max-capacity"
        );
    }

    #[test]
    fn untagged_and_foreign_tags_are_empty() {
        let (t, p) = parse_all(&[
            ("team", "ml"),
            ("Autoscaling:template", "x"),
            ("sagemaker:project-name", "p"),
        ]);
        assert!(t.is_empty() && p.is_empty());
    }

    #[test]
    fn typo_in_a_key_is_caught_with_a_hint() {
        let (_, p) = parse_all(&[("autoscaling:max-capcity", "5")]);
        assert_eq!(
            p,
            [
                "tag `autoscaling:max-capcity` = `5`: `max-capcity` is not a scaletag setting; did you mean `max-capacity`?"
            ]
        );
        let (_, p) = parse_all(&[("autoscaling:colour", "red")]);
        assert!(
            p[0].contains("known settings: template, min-capacity"),
            "{p:?}"
        );
        let (_, p) = parse_all(&[
            ("autoscaling:variant:A", "x"),
            ("autoscaling:variant::template", "x"),
        ]);
        assert_eq!(p.len(), 2);
        assert!(p[0].contains("autoscaling:variant:<VariantName>:<setting>"));
    }

    #[test]
    fn every_problem_is_listed_not_just_the_first() {
        let (_, p) = parse_all(&[
            ("autoscaling:min-capacity", "-1"),
            ("autoscaling:max-capacity", "0"),
            ("autoscaling:target-value", "abc"),
            ("autoscaling:disable-scale-in", "yes"),
            ("autoscaling:template", ""),
        ]);
        assert_eq!(p.len(), 5, "{p:?}");
    }

    #[test]
    fn integers_are_strict() {
        assert_eq!(integer("0", 0), Ok(0));
        assert_eq!(integer("007", 0), Ok(7));
        assert_eq!(integer("2147483647", 1), Ok(i32::MAX));
        for bad in ["", "-1", "+1", "1.0", "1e3", "0x10", " 1", "1 ", "one", "١"] {
            assert!(integer(bad, 0).is_err(), "{bad:?} accepted");
        }
        assert!(integer("2147483648", 0).unwrap_err().contains("too large"));
        assert!(integer("0", 1).unwrap_err().contains("1 or more"));
        assert!(integer(" 1", 0).unwrap_err().contains("spaces"));
    }

    #[test]
    fn decimals_are_positive_plain_numbers() {
        assert_eq!(decimal("70"), Ok(70.0));
        assert_eq!(decimal("0.75"), Ok(0.75));
        for bad in [
            "0", "0.0", "-0", "-1", "NaN", "inf", "1e309", "1e3", "0x1A", ".5", "5.", " 5", "1,5",
        ] {
            assert!(decimal(bad).is_err(), "{bad:?} accepted");
        }
        let huge = "9".repeat(400);
        assert!(decimal(&huge).unwrap_err().contains("too large"));
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let (_, p) = parse_all(&[("autoscaling:template", "a"), ("autoscaling:template", "b")]);
        assert!(p[0].contains("more than once"));
    }

    #[test]
    fn custom_prefix() {
        let (t, p) = parse(
            "scale",
            [("scale:template", "default"), ("autoscaling:template", "x")],
        );
        assert!(p.is_empty());
        assert_eq!(
            t.endpoint.template.unwrap().value,
            Choice::Template("default".into())
        );
        assert!(check_prefix("aws:x").is_err());
        assert!(check_prefix("my{prefix}").is_err());
        assert!(check_prefix("team/scaling").is_ok());
    }
}
