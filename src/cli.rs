//! The `scaletag` command line: the same decisions as the Lambda function, driven by a person
//! or a CI job. Exit codes: 0 success, 1 failure (AWS error, rejected tags, problems found),
//! 2 usage error, or with `plan --detailed-exitcode`, 2 when there are changes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::aws::Aws;
use crate::check::{self, Severity};
use crate::config;
use crate::decision::{Decision, Intent};
use crate::findings_format;
use crate::outcome::{Outcome, Skip, Verdict};
use crate::reconcile::{self, App, Failure, Target};
use crate::render::{self, Style};
use crate::retry::{AwsError, Deadline, ENDPOINT_BUDGET};
use crate::sweep;

#[derive(Debug, Parser)]
#[command(
    name = "scaletag",
    version,
    about = "Tag a SageMaker endpoint, get autoscaling: see and steer what scaletag does",
    long_about = "Tag a SageMaker endpoint, get autoscaling.\n\n\
        The scaletag Lambda function makes Application Auto Scaling match an endpoint's tags each \
        time it becomes InService. This command makes the same decisions on demand: preview them \
        (plan), carry them out (apply, detach, sweep), or validate tags and templates offline \
        (check).\n\n\
        AWS credentials and region come from the standard AWS environment and profiles, as for \
        the AWS CLI. TAG_PREFIX, POLICY_TEMPLATES and MAX_CAPACITY_LIMIT are read as the function \
        reads them; the flags below override them.",
    after_help = "Examples:\n  \
        scaletag plan churn-model\n  \
        scaletag plan churn-model --tags autoscaling:template=responsive autoscaling:max-capacity=12\n  \
        scaletag detach churn-model    # before an UpdateEndpoint that changes an instance type\n  \
        scaletag sweep --dry-run\n  \
        scaletag status            # what scaletag last did, and would do now, everywhere\n  \
        scaletag check --catalog templates.json template.yaml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Output: a readable text for people, or JSON for scripts.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    /// When to use colour in text output.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// AWS region [default: from AWS_REGION or the profile].
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// AWS named profile [default: from AWS_PROFILE, else "default"].
    #[arg(long, global = true)]
    pub profile: Option<String>,

    /// Template catalog (a JSON file, as the PolicyTemplates parameter) [default: POLICY_TEMPLATES].
    #[arg(long, global = true, value_name = "FILE")]
    pub catalog: Option<PathBuf>,

    /// Prefix of the tags scaletag reads [default: TAG_PREFIX, else "autoscaling"].
    #[arg(long, global = true, value_name = "PREFIX")]
    pub tag_prefix: Option<String>,

    /// Highest MaxCapacity a tag or template may set [default: MAX_CAPACITY_LIMIT, else none].
    #[arg(long, global = true, value_name = "N")]
    pub max_capacity_limit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
    /// `check` only: GitHub Actions annotations (`::error file=…,line=…::…`), shown on the
    /// offending line of the template in a pull request. Other commands print text.
    Github,
    /// `check` only: a SARIF 2.1.0 log, for code scanning (GitHub's upload-sarif and other
    /// SARIF viewers). Other commands print text.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour only on a terminal, and never when NO_COLOR is set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dry run: print the Application Auto Scaling requests that would make an endpoint match
    /// its tags, in the API's own JSON. Writes nothing.
    Plan {
        /// The SageMaker endpoint or inference component name.
        endpoint: String,
        #[command(flatten)]
        kind: Kind,
        /// Plan for these tags instead of the endpoint's own: preview a change before tagging.
        #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_tag)]
        tags: Vec<(String, String)>,
        /// Exit 0 when there is nothing to change, 2 when there is (1 on errors), as Terraform does.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Reconcile one endpoint now, as the function does when it becomes InService.
    Apply {
        /// The SageMaker endpoint or inference component name.
        endpoint: String,
        #[command(flatten)]
        kind: Kind,
    },
    /// Remove scaletag's policies from an endpoint, and deregister the targets nothing else
    /// uses: the step AWS requires before an UpdateEndpoint that changes a variant's instance type.
    Detach {
        /// The SageMaker endpoint or inference component name.
        endpoint: String,
        #[command(flatten)]
        kind: Kind,
    },
    /// Hand an endpoint's existing scalable targets (registered by CloudFormation, the console,
    /// another tool) over to scaletag: tag them as scaletag's, so `off` and `detach` may
    /// deregister them. scaletag never does this by itself.
    Adopt {
        /// The SageMaker endpoint name.
        endpoint: String,
    },
    /// Reconcile every InService endpoint and every inference component of the account and
    /// region (backfill and drift repair), and clean up after inference components that are gone.
    Sweep {
        /// Plan every endpoint, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Resources reconciled at once (throttling is retried, never fatal).
        #[arg(long, default_value_t = crate::config::SWEEP_CONCURRENCY as u16, value_parser = clap::value_parser!(u16).range(1..=32))]
        concurrency: u16,
    },
    /// What scaletag last did and what it would do now, for one endpoint or inference
    /// component, or (without a name) for every one of the account and region: the status tag,
    /// the writes a reconcile would make, and the problems. Reads only.
    Status {
        /// An endpoint or inference component name [default: all of them].
        name: Option<String>,
        #[command(flatten)]
        kind: Kind,
    },
    /// Validate offline, with no AWS access: the catalog, a tag set, and the tags of every
    /// AWS::SageMaker::Endpoint in CloudFormation/SAM templates. Exit 1 on any problem.
    Check {
        /// A tag set to check, as an endpoint would carry it.
        #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_tag)]
        tags: Vec<(String, String)>,
        /// CloudFormation or SAM templates (YAML or JSON).
        templates: Vec<PathBuf>,
    },
}

/// Whether a name is an endpoint's or an inference component's. Without a flag, an endpoint
/// of that name is looked for first, then an inference component.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Kind {
    /// The name is an inference component's.
    #[arg(long, short = 'c', conflicts_with = "endpoint_only")]
    inference_component: bool,
    /// The name is an endpoint's (do not look for an inference component).
    #[arg(long = "endpoint", conflicts_with = "inference_component")]
    endpoint_only: bool,
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Why a command could not do its work, as `cargo` reports it: one `error:` line, exit 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line's settings: the catalog, the tag prefix, the region.
    #[error("{0}")]
    Setup(String),
    /// Reconciling an endpoint failed: invalid tags, or AWS.
    #[error(transparent)]
    Reconcile(#[from] Failure),
    /// Listing the endpoints of a sweep failed.
    #[error("cannot list the endpoints to sweep: {0}")]
    List(#[from] AwsError),
}

impl CliError {
    /// Usage errors (exit 2) are clap's; everything that goes wrong after is a failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(1)
    }
}

/// Runs the command line; the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let style = Style {
        color: match cli.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
    };
    let json = cli.output == Output::Json;
    let result = match &cli.command {
        Command::Plan {
            endpoint,
            kind,
            tags,
            detailed_exitcode,
        } => plan(&cli, endpoint, *kind, tags, *detailed_exitcode, json, style).await,
        Command::Apply { endpoint, kind } => apply(&cli, endpoint, *kind, false, json, style).await,
        Command::Detach { endpoint, kind } => apply(&cli, endpoint, *kind, true, json, style).await,
        Command::Adopt { endpoint } => adopt(&cli, endpoint, json, style).await,
        Command::Sweep {
            dry_run,
            concurrency,
        } => sweep(&cli, *dry_run, usize::from(*concurrency), json, style).await,
        Command::Status { name, kind } => status(&cli, name.as_deref(), *kind, json, style).await,
        Command::Check { tags, templates } => Ok(check(&cli, tags, templates, cli.output, style)),
    };
    result.unwrap_or_else(|e| {
        let _ = std::io::stdout().flush();
        let lead = if style.color {
            "\x1b[31merror:\x1b[0m"
        } else {
            "error:"
        };
        eprintln!("{lead} {e}");
        e.exit_code()
    })
}

/// The configuration: the flags over the environment's variables, read by `config` as the
/// function reads them. The command line looks at ICs directly: re-checks are the
/// function's, so no queue.
fn configuration(cli: &Cli) -> Result<config::Config, String> {
    let file = match &cli.catalog {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read catalog {}: {e}", path.display()))?,
        ),
        None => None,
    };
    config::load(
        |k| match k {
            "TAG_PREFIX" => cli.tag_prefix.clone().or_else(|| std::env::var(k).ok()),
            "MAX_CAPACITY_LIMIT" => cli
                .max_capacity_limit
                .clone()
                .or_else(|| std::env::var(k).ok()),
            "POLICY_TEMPLATES" => file.clone().or_else(|| std::env::var(k).ok()),
            "RECHECK_QUEUE_URL" => None,
            _ => std::env::var(k).ok(),
        },
        &catalog_source(cli),
    )
    .map_err(|e| e.to_string())
}

/// Where the catalog comes from, as messages name it.
fn catalog_source(cli: &Cli) -> String {
    cli.catalog
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "POLICY_TEMPLATES".into())
}

async fn app(cli: &Cli) -> Result<App, CliError> {
    let configured = configuration(cli).map_err(CliError::Setup)?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .http_client(crate::aws::http_client());
    if let Some(region) = &cli.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &cli.profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(CliError::Setup(
            "no AWS region: set AWS_REGION, a profile region, or --region".into(),
        ));
    }
    Ok(App::new(Aws::new(&config), configured))
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Prints `value` as JSON for scripts, or as `text` renders it for people.
fn emit<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T) -> String) {
    if json {
        print_json(value);
    } else {
        print!("{}", text(value));
    }
}

/// Whether a reconcile found the resource gone.
fn gone(outcome: &Outcome) -> bool {
    outcome.skip == Some(Skip::Gone)
}

/// One reconcile of an endpoint or an inference component, as `kind` and the account say.
async fn reconcile_named(
    app: &App,
    name: &str,
    kind: Kind,
    intent: Intent<'_>,
    dry_run: bool,
    dl: &Deadline,
) -> Result<reconcile::Reconciled, Failure> {
    let component = Target::component(name, None);
    if kind.inference_component {
        return reconcile::reconcile(app, component, intent, dry_run, dl).await;
    }
    let done = reconcile::reconcile(app, Target::endpoint(name, None), intent, dry_run, dl).await?;
    if !gone(&done.outcome) || kind.endpoint_only {
        return Ok(done);
    }
    // No endpoint of that name: an inference component, if there is one.
    let other = reconcile::reconcile(app, component, intent, dry_run, dl).await?;
    Ok(if gone(&other.outcome) { done } else { other })
}

/// `plan`: a dry run of the reconcile the function would do, or of one for other tags.
async fn plan(
    cli: &Cli,
    endpoint: &str,
    kind: Kind,
    tags: &[(String, String)],
    detailed_exitcode: bool,
    json: bool,
    style: Style,
) -> Result<ExitCode, CliError> {
    let app = app(cli).await?;
    let intent = if tags.is_empty() {
        Intent::FromTags
    } else {
        Intent::Tags(tags)
    };
    let dl = Deadline::after(ENDPOINT_BUDGET);
    let decision = reconcile_named(&app, endpoint, kind, intent, true, &dl)
        .await?
        .decision;
    if json {
        print_json(&render::plan_json(&decision));
    } else {
        print!("{}", render::plan_text(&decision, style));
    }
    let changes = matches!(&decision, Decision::Ready(p) if p.actions().next().is_some());
    Ok(ExitCode::from(if detailed_exitcode && changes {
        2
    } else {
        0
    }))
}

/// `apply` and `detach`: one reconcile, carried out.
async fn apply(
    cli: &Cli,
    endpoint: &str,
    kind: Kind,
    detach: bool,
    json: bool,
    style: Style,
) -> Result<ExitCode, CliError> {
    let app = app(cli).await?;
    let dl = Deadline::after(ENDPOINT_BUDGET);
    let intent = if detach {
        Intent::Detach
    } else {
        Intent::FromTags
    };
    let outcome = reconcile_named(&app, endpoint, kind, intent, false, &dl)
        .await?
        .outcome;
    emit(json, &outcome, |o| render::outcome_text(o, style));
    if detach && !json && outcome.subject.component_name().is_none() {
        println!(
            "\nNext: deploy your UpdateEndpoint. When the endpoint is InService again, scaletag \
             re-attaches from its tags; to keep it detached, tag it {}:template=off first.",
            app.settings.tag_prefix
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `adopt`: hand an endpoint's existing targets over to scaletag.
async fn adopt(cli: &Cli, endpoint: &str, json: bool, style: Style) -> Result<ExitCode, CliError> {
    let app = app(cli).await?;
    let dl = Deadline::after(ENDPOINT_BUDGET);
    let adoption = reconcile::adopt(&app, endpoint, &dl).await?;
    emit(json, &adoption, |v| render::adoption_text(v, style));
    Ok(if adoption.untaggable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `sweep`: every InService endpoint, with progress on a terminal.
async fn sweep(
    cli: &Cli,
    dry_run: bool,
    concurrency: usize,
    json: bool,
    style: Style,
) -> Result<ExitCode, CliError> {
    let app = app(cli).await?;
    let options = sweep::Options {
        concurrency,
        dry_run,
    };
    let terminal = std::io::stderr().is_terminal() && !json;
    let progress = move |done: usize, total: usize| {
        if terminal {
            eprint!("\r\x1b[2Ksweeping: {done}/{total} endpoints");
            if done == total {
                eprintln!();
            }
        }
    };
    let whole_day = Deadline::after(Duration::from_secs(24 * 3600));
    let report = sweep::sweep(&app, &options, &whole_day, &progress).await?;
    emit(json, &report, |v| render::sweep_text(v, style));
    let failed = report.results.iter().any(|e| e.result == Verdict::Failed);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `status`: a dry run that also reports each resource's status tag. Exit 1 when AWS failed
/// (the answer is incomplete); problems in tags are findings, not failures of the command.
async fn status(
    cli: &Cli,
    name: Option<&str>,
    kind: Kind,
    json: bool,
    style: Style,
) -> Result<ExitCode, CliError> {
    let app = app(cli).await?;
    let report = match name {
        None => {
            let options = sweep::Options {
                dry_run: true,
                ..sweep::Options::default()
            };
            let whole_day = Deadline::after(Duration::from_secs(24 * 3600));
            sweep::sweep(&app, &options, &whole_day, &|_, _| ()).await?
        }
        Some(name) => {
            let dl = Deadline::after(ENDPOINT_BUDGET);
            let entry = status_of(&app, name, kind, &dl).await;
            let mut counts = std::collections::BTreeMap::new();
            counts.insert(entry.result.as_str(), 1);
            crate::outcome::Report {
                dry_run: true,
                endpoints: usize::from(entry.subject.component_name().is_none()),
                inference_components: usize::from(entry.subject.component_name().is_some()),
                counts,
                results: vec![entry],
                not_reached: Vec::new(),
            }
        }
    };
    emit(json, &report, |r| render::status_text(r, style));
    let failed = report.results.iter().any(|e| e.result == Verdict::Failed);
    Ok(ExitCode::from(u8::from(failed)))
}

/// One resource's line of `status`: an endpoint of that name, else an inference component.
async fn status_of(app: &App, name: &str, kind: Kind, dl: &Deadline) -> crate::outcome::Entry {
    let intent = Intent::FromTags;
    if !kind.inference_component {
        let target = Target::endpoint(name, None);
        let attempt = reconcile::reconcile_reporting(app, target, intent, true, dl).await;
        let found = !matches!(&attempt.result, Ok(r) if gone(&r.outcome));
        if found || kind.endpoint_only {
            return sweep::entry(target.subject(), attempt, true);
        }
    }
    let target = Target::component(name, None);
    let attempt = reconcile::reconcile_reporting(app, target, intent, true, dl).await;
    sweep::entry(target.subject(), attempt, true)
}

/// `check`: offline validation of the catalog, a tag set and templates.
fn check(
    cli: &Cli,
    tags: &[(String, String)],
    templates: &[PathBuf],
    output: Output,
    style: Style,
) -> ExitCode {
    // The catalog is validated here too: an invalid one is the first finding.
    let (catalog, settings) = match configuration(cli) {
        Ok(c) => (c.catalog, c.settings),
        Err(message) => {
            let f = vec![check::Finding::new(
                catalog_source(cli),
                Severity::Error,
                message,
            )];
            return report_findings(&f, output, style);
        }
    };
    let mut findings = Vec::new();
    if !tags.is_empty() {
        findings.extend(check::check_tags(
            "--tags",
            tags,
            None,
            None,
            &catalog,
            &settings,
            &|k| format!("--tags {k}"),
        ));
    }
    for path in templates {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => findings.extend(check::check_template(&shown, &text, &catalog, &settings)),
            Err(e) => findings.push(check::Finding::new(
                shown,
                Severity::Error,
                format!("cannot read: {e}"),
            )),
        }
    }
    report_findings(&findings, output, style)
}

fn report_findings(findings: &[check::Finding], output: Output, style: Style) -> ExitCode {
    match output {
        Output::Json => print_json(&serde_json::json!({
            "problems": findings.iter().filter(|f| f.severity == Severity::Error).count(),
            "findings": findings,
        })),
        Output::Github => {
            for f in findings {
                println!("{}", findings_format::github_annotation(f));
            }
        }
        Output::Sarif => print_json(&findings_format::sarif(findings, env!("CARGO_PKG_VERSION"))),
        Output::Text => print!("{}", render::check_text(findings, style)),
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
