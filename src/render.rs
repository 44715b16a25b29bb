//! What the command line prints: text for people (colour only on a terminal), JSON for
//! scripts. Pure functions from results to strings.

use serde_json::{Value, json};

use crate::check::{Finding, Severity};
use crate::decision::{Changes, Decision};
use crate::diff::Action;
use crate::outcome::{Adoption, Kind, Outcome, Report, Verdict};
use crate::resource::Subject;

/// Colour, on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// What a line is about: an endpoint, or an inference component and where it runs.
fn subject(of: &Subject) -> String {
    match (of.component_name(), of.endpoint_name()) {
        (Some(c), None) => format!("inference component {c}"),
        (Some(c), Some(e)) => format!("inference component {c} (endpoint {e})"),
        (None, e) => e.unwrap_or_default().to_string(),
    }
}

/// `plan`: every request that would be sent, in the API's JSON, or "no changes".
pub fn plan_text(decision: &Decision, s: Style) -> String {
    let changes = match decision {
        Decision::Skip(o) => {
            return format!(
                "{}: skipped: {}\nno changes\n",
                s.bold(&subject(&o.subject)),
                o.reason.as_deref().unwrap_or("")
            );
        }
        Decision::Ready(changes) => changes,
    };
    let count = changes.actions().count();
    let mut out = String::new();
    if count == 0 {
        out.push_str(&format!(
            "{}: no changes\n",
            s.bold(&subject(&changes.subject))
        ));
    } else {
        out.push_str(&format!(
            "{}: {} to make Application Auto Scaling match\n",
            s.bold(&subject(&changes.subject)),
            plural(count, "request", "requests")
        ));
    }
    for v in &changes.variants {
        if let Some(reason) = &v.skipped {
            out.push_str(&format!(
                "\n  variant {}: {}\n",
                v.variant,
                s.dim(&format!("skipped: {reason}"))
            ));
            continue;
        }
        for a in &v.actions {
            let sign = if a.is_removal() {
                s.red("-")
            } else {
                s.green("+")
            };
            let name = if a.is_removal() {
                s.red(a.cli_name())
            } else {
                s.green(a.cli_name())
            };
            out.push_str(&format!(
                "\n{sign} aws {} {name} --cli-input-json '{}'\n",
                a.service(),
                serde_json::to_string(&a.request()).unwrap_or_default()
            ));
            out.push_str(&indent(&pretty(&a.request()), "    "));
        }
    }
    out.push_str(&warnings_text(
        changes.variants.iter().flat_map(|v| &v.warnings),
        s,
    ));
    out
}

pub fn plan_json(decision: &Decision) -> Value {
    match decision {
        Decision::Skip(o) => json!({
            "endpoint": o.subject.endpoint_name().unwrap_or_default(), "inference_component": o.subject.component_name(), "outcome": "skipped", "reason": o.reason, "changes": 0, "requests": [],
        }),
        Decision::Ready(changes) => plan_requests(changes),
    }
}

fn plan_requests(changes: &Changes) -> Value {
    let requests: Vec<Value> = changes
        .actions()
        .map(|a| json!({"operation": a.name(), "cli": a.cli_name(), "request": a.request()}))
        .collect();
    json!({
        "endpoint": changes.subject.endpoint_name().unwrap_or_default(),
        "inference_component": changes.subject.component_name(),
        "changes": requests.len(),
        "requests": requests,
        "skipped_variants": changes.variants.iter().filter_map(|v| v.skipped.as_ref().map(|r| json!({"variant": v.variant, "reason": r}))).collect::<Vec<_>>(),
        "warnings": changes.variants.iter().flat_map(|v| v.warnings.clone()).collect::<Vec<_>>(),
    })
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

fn warnings_text<'a>(warnings: impl Iterator<Item = &'a String>, s: Style) -> String {
    warnings
        .map(|w| format!("\n{} {w}\n", s.yellow("warning:")))
        .collect()
}

/// `apply` and `detach`: what happened.
pub fn outcome_text(o: &Outcome, s: Style) -> String {
    let kind = match o.kind {
        Kind::Applied => s.green("applied"),
        Kind::Unchanged => "unchanged".to_string(),
        Kind::Skipped => s.dim("skipped"),
        Kind::Detached => s.yellow("detached"),
    };
    let mut out = format!(
        "{}: {kind} ({})",
        s.bold(&subject(&o.subject)),
        plural(o.write_count(), "write", "writes")
    );
    if let Some(r) = &o.reason {
        out.push_str(&format!(": {r}"));
    }
    out.push('\n');
    for v in &o.variants {
        let what = match (&v.skipped, &v.template) {
            (Some(reason), _) => s.dim(&format!("skipped: {reason}")),
            (None, Some(t)) => format!("template {t}"),
            (None, None) => String::new(),
        };
        let hosting = if v.asynchronous {
            " (asynchronous)"
        } else {
            ""
        };
        out.push_str(format!("  {}{hosting} {what}", v.variant).trim_end());
        out.push('\n');
        if !v.bounds_held_by.is_empty() {
            out.push_str(&format!(
                "    = bounds held by scheduled action {}\n",
                v.bounds_held_by.join(", ")
            ));
        }
        for a in &v.actions {
            let sign = if a.is_removal() {
                s.red("-")
            } else {
                s.green("+")
            };
            out.push_str(&format!("    {sign} {} {}\n", a.name(), summary(a)));
        }
    }
    out.push_str(&warnings_text(o.warnings.iter(), s));
    out
}

/// `adopt`: which targets scaletag now owns.
pub fn adoption_text(a: &Adoption, s: Style) -> String {
    let mut out = format!(
        "{}: {} adopted, {} already scaletag's\n",
        s.bold(&a.endpoint),
        plural(a.adopted.len(), "target", "targets"),
        a.already_owned.len()
    );
    for id in &a.adopted {
        out.push_str(&format!("  {} {id}\n", s.green("+")));
    }
    for id in &a.already_owned {
        out.push_str(&format!("  = {id}\n"));
    }
    for id in &a.untaggable {
        out.push_str(&format!(
            "  {} {id}: AAS gives it no ARN (registered before AAS had tags), so it cannot be \
             tagged; deregister and let scaletag register it\n",
            s.red("!")
        ));
    }
    for id in &a.gone {
        out.push_str(&format!(
            "  - {id}: deregistered meanwhile, nothing to adopt\n"
        ));
    }
    if a.adopted.is_empty()
        && a.already_owned.is_empty()
        && a.untaggable.is_empty()
        && a.gone.is_empty()
    {
        out.push_str("no scalable targets registered for its variants\n");
    }
    out
}

/// A one-line summary of a write, for tables.
fn summary(action: &Action) -> String {
    let mut parts = vec![action.key().resource_id.clone()];
    match action {
        Action::RegisterScalableTarget {
            min_capacity,
            max_capacity,
            ..
        } => parts.push(format!("min {min_capacity} max {max_capacity}")),
        Action::PutScalingPolicy {
            policy_name,
            config,
            ..
        } => {
            parts.push(policy_name.clone());
            parts.push(format!("target {}", config.target_value));
        }
        Action::DeleteScalingPolicy { policy_name, .. }
        | Action::PutStepScalingPolicy { policy_name, .. } => parts.push(policy_name.clone()),
        Action::PutMetricAlarm { alarm, .. } => parts.push(format!("alarm {}", alarm.alarm_name)),
        Action::DeleteAlarm { alarm_name, .. } => parts.push(format!("alarm {alarm_name}")),
        Action::DeregisterScalableTarget { .. } => {}
    }
    parts.join(" ")
}

/// `sweep`: one row per endpoint, then the counts.
pub fn sweep_text(r: &Report, s: Style) -> String {
    let rows = r
        .results
        .iter()
        .map(|e| {
            vec![
                row_name(e),
                e.result.as_str().to_string(),
                e.writes.to_string(),
                first_line(e.reason.as_deref()),
            ]
        })
        .collect();
    let mut out = table(&["ENDPOINT", "RESULT", "WRITES", "REASON"], rows, r, s);
    out.push('\n');
    out.push_str(&sweep_summary(r));
    out
}

/// `status`: per endpoint and inference component, the status tag (what scaletag last did),
/// what a reconcile would do now, and why.
pub fn status_text(r: &Report, s: Style) -> String {
    let rows = r
        .results
        .iter()
        .map(|e| {
            let now = match e.result {
                Verdict::WouldApply | Verdict::Applied => "would-apply",
                Verdict::WouldDetach | Verdict::Detached => "would-detach",
                other => other.as_str(),
            };
            vec![
                row_name(e),
                e.status.clone().unwrap_or_else(|| "-".into()),
                now.to_string(),
                e.writes.to_string(),
                first_line(
                    e.reason
                        .as_deref()
                        .or(e.warnings.first().map(String::as_str)),
                ),
            ]
        })
        .collect();
    let mut out = table(
        &["ENDPOINT", "STATUS", "NOW", "PENDING", "REASON"],
        rows,
        r,
        s,
    );
    if r.results.is_empty() {
        out.push_str("no endpoint or inference component\n");
    }
    out
}

/// An inference component's row reads `endpoint/component`.
fn row_name(e: &crate::outcome::Entry) -> String {
    match (e.subject.component_name(), e.subject.endpoint_name()) {
        (Some(c), None) => format!("(ic) {c}"),
        (Some(c), Some(endpoint)) => format!("{endpoint}/{c}"),
        (None, endpoint) => endpoint.unwrap_or_default().to_string(),
    }
}

fn first_line(text: Option<&str>) -> String {
    text.unwrap_or("").lines().next().unwrap_or("").to_string()
}

/// Columns aligned; numbers right-aligned; the verdict column (`NOW`/`RESULT`, where the
/// entry's verdict shows) coloured by it; the last column as it is.
fn table(header: &[&str], rows: Vec<Vec<String>>, r: &Report, s: Style) -> String {
    let last = header.len() - 1;
    let widths: Vec<usize> = (0..last)
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric = |i: usize| matches!(header[i], "WRITES" | "PENDING");
    let verdict = |i: usize| matches!(header[i], "RESULT" | "NOW");
    let line = |cells: &[String], color: &dyn Fn(&str) -> String| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(
                widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(cell.chars().count()),
            );
            let text = if verdict(i) {
                color(cell)
            } else {
                cell.clone()
            };
            match i {
                _ if i == last => out.push_str(cell),
                _ if numeric(i) => out.push_str(&format!("{pad}{text}  ")),
                _ => out.push_str(&format!("{text}{pad}  ")),
            }
        }
        out.push('\n');
        out
    };
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = s.bold(&line(&head, &|c| c.to_string()));
    for (row, e) in rows.iter().zip(&r.results) {
        let color = |c: &str| match e.result {
            Verdict::Applied | Verdict::WouldApply => s.green(c),
            Verdict::Detached | Verdict::WouldDetach => s.yellow(c),
            Verdict::Rejected | Verdict::Failed => s.red(c),
            Verdict::Unchanged | Verdict::Skipped => c.to_string(),
        };
        out.push_str(&line(row, &color));
    }
    out
}

/// The closing lines of a sweep: the counts, and what was not reached.
fn sweep_summary(r: &Report) -> String {
    let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut out = format!(
        "{}{}: {}\n",
        if r.dry_run { "dry run, " } else { "" },
        plural(r.endpoints, "InService endpoint", "InService endpoints"),
        if counts.is_empty() {
            "nothing to do".into()
        } else {
            counts.join(" · ")
        }
    );
    if !r.not_reached.is_empty() {
        out.push_str(&format!(
            "{} not reached before the deadline: {}\n",
            plural(r.not_reached.len(), "endpoint", "endpoints"),
            r.not_reached.join(", ")
        ));
    }
    out
}

/// `check`: every finding with its location, then a count.
pub fn check_text(findings: &[Finding], s: Style) -> String {
    let mut out = String::new();
    for f in findings {
        let label = match f.severity {
            Severity::Error => s.red("error"),
            Severity::Note => s.dim("note"),
            Severity::Warning => s.yellow("warning"),
        };
        out.push_str(&format!("{label}: {}\n  {}\n", f.location, f.message));
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    out.push_str(&if errors == 0 {
        s.green("ok: no problems found\n")
    } else {
        s.red(&format!(
            "{} found\n",
            plural(errors, "problem", "problems")
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Entry;

    const PLAIN: Style = Style { color: false };

    #[test]
    fn skipped_plan_says_no_changes() {
        let p = Decision::Skip(Outcome::skipped(
            Subject::endpoint("ep"),
            crate::outcome::Skip::Gone,
            "endpoint no longer exists",
        ));
        assert_eq!(
            plan_text(&p, PLAIN),
            "ep: skipped: endpoint no longer exists\nno changes\n"
        );
        assert_eq!(plan_json(&p)["changes"], 0);
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(PLAIN.red("x"), "x");
        assert_eq!(Style { color: true }.red("x"), "\x1b[31mx\x1b[0m");
    }

    #[test]
    fn sweep_table_aligns_and_counts() {
        let entry = |endpoint: &str, result, writes, reason: Option<&str>| Entry {
            subject: crate::resource::Subject::endpoint(endpoint),
            result,
            status: None,
            writes,
            reason: reason.map(str::to_string),
            warnings: Vec::new(),
        };
        let report = Report {
            dry_run: false,
            inference_components: 0,
            endpoints: 3,
            counts: [("applied", 1), ("rejected", 1), ("skipped", 1)]
                .into_iter()
                .collect(),
            results: vec![
                entry("a-long-endpoint-name", Verdict::Applied, 2, None),
                entry(
                    "b",
                    Verdict::Rejected,
                    0,
                    Some("tag `x` = `y`: bad\nsecond line"),
                ),
                entry("c", Verdict::Skipped, 0, Some("not opted in")),
            ],
            not_reached: vec!["d".into()],
        };
        let text = sweep_text(&report, PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ENDPOINT              RESULT    WRITES  REASON");
        assert_eq!(
            lines[2],
            "b                     rejected       0  tag `x` = `y`: bad"
        );
        assert!(
            text.contains("3 InService endpoints: applied 1 · rejected 1 · skipped 1\n"),
            "{text}"
        );
        assert!(
            text.contains("1 endpoint not reached before the deadline: d"),
            "{text}"
        );
    }

    #[test]
    fn check_report_counts_errors_not_notes() {
        let f = |severity| Finding::new("t.yaml", severity, "m");
        assert!(check_text(&[f(Severity::Note)], PLAIN).ends_with("ok: no problems found\n"));
        assert!(
            check_text(&[f(Severity::Error), f(Severity::Error)], PLAIN)
                .ends_with("2 problems found\n")
        );
    }
}
