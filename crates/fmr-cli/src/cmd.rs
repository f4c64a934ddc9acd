use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use fmr_engine::{Engine, Inputs};
use fmr_kb::{KnowledgeBase, Level};
use fmr_report::Format;

use crate::output::print;

/// fmr — the Failure Mode Researcher: reads your training logs, config, code and a
/// sentence about the symptom, and answers with ranked, sourced hypotheses and a plan.
#[derive(Debug, Parser)]
#[command(name = "fmr", version, about, propagate_version = true, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print only results and errors (no notes on stderr).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print every hypothesis and step in full, with the reasoning.
    #[arg(long, short, global = true)]
    verbose: bool,
    /// Colour in terminal output: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
}

const EXAMPLES: &str = "Examples:
  fmr investigate runs/exp42 --code src/ --symptom \"loss becomes NaN after 2k steps with fp16\"
  fmr investigate --symptom \"PPO entropy collapses, reward flat\" --env ent_coef=0.0 --format md
  fmr characterize runs/exp42 > symptoms.json
  fmr metrics runs/exp42 --format csv
  fmr watch runs/exp42 --code src/ --every 30
  fmr diff runs/baseline runs/new-lr
  fmr audit src/ --rule PT001
  fmr search \"codebook collapse\" --level 4
  fmr kb show FM0034
  fmr case list
  fmr tried 3 \"lowered lr to 1e-4\" --outcome failed
  fmr eval cases.jsonl
  fmr cache stats
  fmr schema > report.schema.json
  fmr mcp
  fmr completions zsh > ~/.zfunc/_fmr
  fmr man --out ~/.local/share/man/man1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Settings every verb shares.
#[derive(Debug, Clone, Copy)]
struct Global {
    quiet: bool,
    verbose: bool,
    color: bool,
}

impl Global {
    fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("fmr: {text}");
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole investigation: ingest, characterize, search, hypothesize, audit, plan.
    #[command(after_help = "Examples:
  fmr investigate runs/exp42 --code src/ --symptom \"loss becomes NaN after 2k steps with fp16, lr 3e-4\"
  fmr investigate logs/metrics.csv --tried \"lowered lr to 1e-4, didn't help\" --env precision=bf16
  fmr investigate --symptom \"val accuracy 99% on day one\" --format html --out report/")]
    Investigate(InvestigateArgs),
    /// Characterize only: symptoms with numbers, onset, environment, open questions (JSON).
    #[command(
        after_help = "Examples:\n  fmr characterize runs/exp42\n  fmr characterize logs/metrics.csv --symptom \"loss spikes every epoch\" > symptoms.json"
    )]
    Characterize(InvestigateArgs),
    /// Ingest logs and print the metric series.
    #[command(
        after_help = "Examples:\n  fmr metrics runs/exp42\n  fmr metrics trainer_state.json --format csv > series.csv"
    )]
    Metrics(MetricsArgs),
    /// Search the knowledge base.
    #[command(
        after_help = "Examples:\n  fmr search \"loss nan fp16\"\n  fmr search \"dead units\" --level 4 --format json"
    )]
    Search(SearchArgs),
    /// Run the code auditors over a Python file or project.
    #[command(
        after_help = "Examples:\n  fmr audit train.py\n  fmr audit src/ --auditor jax_logic_auditor --format json"
    )]
    Audit(AuditArgs),
    /// Inspect and validate the knowledge base.
    #[command(
        after_help = "Examples:\n  fmr kb list\n  fmr kb show FM0034\n  fmr kb stats --format json\n  fmr kb check kb/entries"
    )]
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Run labelled failure reports (JSON lines) and print top-1/top-3 hit rates and the misses.
    #[command(
        after_help = "Examples:\n  fmr eval cases.jsonl\n  fmr eval bench/scenarios --format json > eval.json"
    )]
    Eval(EvalArgs),
    /// Print the JSON Schema of the report.
    #[command(after_help = "Example:\n  fmr schema > report.schema.json")]
    Schema,
    /// Serve fmr's tools to coding agents over the Model Context Protocol (stdio).
    #[command(
        after_help = "Example (an MCP client configuration):\n  {\"command\": \"fmr\", \"args\": [\"mcp\"]}"
    )]
    Mcp,
    /// Follow a live run; when a failure appears, investigate on its own and write the report.
    ///
    /// Every SECS seconds fmr reads only what the run's logs gained since the last poll:
    /// TensorBoard event files from the last complete record, CSV, JSON-lines and console logs
    /// from the last complete line (a record or line still being written waits for the next
    /// poll), other files again when they change; new files are picked up. The detectors run on
    /// the runs that changed. The first time a serious symptom shows in a metric (non-finite
    /// values, divergence, exploding gradients, a collapse), fmr runs a full investigation,
    /// writes it as Markdown and HTML into the alert folder, prints one line
    /// ("fmr alert: ... report: PATH") and runs the --exec command. Each metric and kind of
    /// symptom alerts once.
    #[command(
        after_help = "Examples:\n  fmr watch runs/exp42 --code src/\n  fmr watch runs/exp42 --every 30 --exec 'notify-send fmr \"$FMR_ALERT\"'"
    )]
    Watch {
        /// The run directory being written.
        logdir: PathBuf,
        /// The training code, for the investigation.
        #[arg(long, value_name = "DIR")]
        code: Option<PathBuf>,
        /// Seconds between polls.
        #[arg(long, default_value_t = 10.0, value_name = "SECS")]
        every: f64,
        /// Where alert reports go (default: LOGDIR/fmr-alerts).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// A shell command to run on each alert ($FMR_REPORT and $FMR_ALERT are set).
        #[arg(long, value_name = "COMMAND")]
        exec: Option<String>,
        /// Stop after the first alert.
        #[arg(long)]
        exit_on_alert: bool,
        /// Stop after this many polls (0 = never).
        #[arg(long, default_value_t = 0, value_name = "N")]
        max_polls: u64,
    },
    /// Two runs side by side: where they part, by how much, and what changed in their config
    /// (and, with --code, in their code).
    #[command(
        after_help = "Examples:\n  fmr diff runs/baseline runs/new-lr\n  fmr diff runs/baseline runs/new-lr --code .\n\nWith --code, each run's commit comes from its metadata (MLflow's mlflow.source.git.commit tag, W&B's wandb-metadata.json, a git_commit config key) or, failing that, is the last commit on HEAD at or before the run started."
    )]
    Diff {
        /// The run that behaved (a run directory or log file).
        good: PathBuf,
        /// The run that failed.
        bad: PathBuf,
        /// A git work tree: also list the commits between the two runs, the files they changed
        /// and the constants whose value changed.
        #[arg(long, value_name = "REPO")]
        code: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
        format: PlainFormat,
    },
    /// Past investigations: list them, or show one again.
    #[command(after_help = "Examples:\n  fmr case list\n  fmr case show 3 --format md > case-3.md")]
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Record something you tried on a case; re-ranks it and shows what changed.
    #[command(
        after_help = "Examples:\n  fmr tried 3 \"lowered lr to 1e-4\" --outcome failed\n  fmr tried 3 \"switched to bf16\" --outcome helped --note \"no NaN in 20k steps\""
    )]
    Tried {
        /// The case id (see `fmr case list`).
        case: i64,
        /// What you tried, in your words.
        text: String,
        #[arg(long, value_enum)]
        outcome: Outcome,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Inspect or clear the cache of live-search responses.
    #[command(
        after_help = "Examples:\n  fmr cache stats\n  fmr cache clear --expired\n  fmr cache clear --source arxiv"
    )]
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Example:\n  fmr completions bash > ~/.local/share/bash-completion/completions/fmr"
    )]
    Completions { shell: clap_complete::Shell },
    /// Write manual pages: fmr.1 and one fmr-<verb>.1 per verb.
    #[command(
        after_help = "Examples:\n  fmr man --out ~/.local/share/man/man1 && man fmr-watch\n  fmr man --out target/man"
    )]
    Man {
        /// The directory to write the pages into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// A JSON-lines file of cases (symptom, expected, tried, environment, code_snippet, accept),
    /// or a directory of benchmark scenarios (each folder: logs/, code, symptom.txt, truth.toml).
    cases: PathBuf,
    #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
    format: PlainFormat,
}

#[derive(Debug, Args)]
struct InvestigateArgs {
    /// Log files or run directories (searched recursively).
    paths: Vec<PathBuf>,
    /// The training code to audit (a file or a directory).
    #[arg(long, value_name = "DIR")]
    code: Option<PathBuf>,
    /// What goes wrong, in your words ("loss becomes NaN after 2k steps with fp16").
    #[arg(long, value_name = "TEXT")]
    symptom: Option<String>,
    /// What you expected instead.
    #[arg(long, value_name = "TEXT")]
    expected: Option<String>,
    /// Something you tried, and how it went (repeatable).
    #[arg(long, value_name = "TEXT")]
    tried: Vec<String>,
    /// What changed since the last good run (repeatable).
    #[arg(long, value_name = "TEXT")]
    changed: Vec<String>,
    /// Environment facts and hyperparameters, e.g. learning_rate=3e-4 precision=fp16 (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    env: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    /// Also write the report into this directory (report.<ext> and report.json).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also search live sources (arXiv, GitHub issues, Stack Exchange, OpenAlex); responses are cached.
    #[arg(long, conflicts_with = "offline")]
    online: bool,
    /// Use the knowledge base plus cached live results only; nothing leaves the machine.
    #[arg(long)]
    offline: bool,
    /// Live sources to ask, comma-separated (arxiv, github, stackoverflow, stats, datascience, openalex).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    sources: Vec<String>,
    /// Time budget for the live search, in seconds.
    #[arg(long, value_name = "SECS")]
    research_budget: Option<u64>,
    /// Do not record this investigation as a case (see `fmr case list`).
    #[arg(long)]
    no_save: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Md,
    Json,
    Html,
}

impl ReportFormat {
    fn format(self) -> Format {
        match self {
            Self::Text => Format::Text,
            Self::Md => Format::Markdown,
            Self::Json => Format::Json,
            Self::Html => Format::Html,
        }
    }
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

#[derive(Debug, Args)]
struct MetricsArgs {
    /// Log files or run directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = MetricsFormat::Text)]
    format: MetricsFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MetricsFormat {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Args)]
struct SearchArgs {
    /// Free text to search for.
    text: String,
    /// Query level: 1 exact, 2 technique, 3 phenomenon, 4 cross-domain analogy.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    level: u8,
    #[arg(long, default_value_t = 10)]
    limit: usize,
    #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
    format: PlainFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PlainFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct AuditArgs {
    /// A Python file or project directory.
    path: PathBuf,
    /// Only these rule codes (repeatable), e.g. --rule PT001.
    #[arg(long = "rule", value_name = "CODE")]
    rules: Vec<String>,
    /// Only this auditor's rules (silent_bug_detector, data_flow_tracer, jax_logic_auditor, paper_alignment_auditor).
    #[arg(long)]
    auditor: Option<String>,
    /// Paper Alignment Auditor: compare the code's hyperparameters and components with a
    /// paper's (a TOML or YAML spec, or a text file holding a pasted table).
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["rules", "trace"])]
    paper: Option<PathBuf>,
    /// Data Flow Tracer: follow a name through the code, where it comes from and where it
    /// goes, e.g. `labels`, `loss@train.py:42`, `batch@train_one_epoch`.
    #[arg(long, value_name = "NAME[@LOCATION]", conflicts_with = "rules")]
    trace: Option<String>,
    #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
    format: PlainFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Outcome {
    Failed,
    Helped,
    Partial,
}

impl Outcome {
    fn tried(self) -> fmr_core::TriedOutcome {
        match self {
            Self::Failed => fmr_core::TriedOutcome::Failed,
            Self::Helped => fmr_core::TriedOutcome::Helped,
            Self::Partial => fmr_core::TriedOutcome::Partial,
        }
    }
    fn word(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Helped => "helped",
            Self::Partial => "partial",
        }
    }
}

#[derive(Debug, Subcommand)]
enum CaseCommand {
    /// Every case, newest first.
    List {
        #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
        format: PlainFormat,
    },
    /// One case's latest report and the attempts recorded on it.
    Show {
        id: i64,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Entries per source, fresh and expired, and where the database lives.
    Stats,
    /// Remove cached responses (all, one source's, or only the expired ones).
    Clear {
        #[arg(long)]
        source: Option<String>,
        #[arg(long, conflicts_with = "source")]
        expired: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KbCommand {
    /// One line per entry.
    List,
    /// One entry in full.
    Show { id: String },
    /// Counts: entries, domains, analogy edges, sources by kind.
    Stats {
        #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
        format: PlainFormat,
    },
    /// Validate schema, ids, links and sources; exit 0 only when valid.
    Check {
        /// Check this directory of entries instead of the embedded knowledge base.
        dir: Option<PathBuf>,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    use std::io::IsTerminal;
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    let g = Global {
        quiet: cli.quiet,
        verbose: cli.verbose,
        color,
    };
    match cli.command {
        Command::Investigate(args) => investigate(args, false, g),
        Command::Characterize(args) => investigate(args, true, g),
        Command::Metrics(args) => metrics(args),
        Command::Search(args) => search(args),
        Command::Audit(args) => audit(args),
        Command::Kb { command } => kb(command),
        Command::Eval(args) => eval(args, g),
        Command::Cache { command } => cache(command),
        Command::Diff {
            good,
            bad,
            code,
            format,
        } => diff(&good, &bad, code.as_deref(), format),
        Command::Watch {
            logdir,
            code,
            every,
            out,
            exec,
            exit_on_alert,
            max_polls,
        } => {
            let out = out.unwrap_or_else(|| logdir.join("fmr-alerts"));
            crate::watch::watch(&crate::watch::WatchOptions {
                logdir,
                code,
                every: std::time::Duration::from_secs_f64(every.max(0.05)),
                out,
                exec,
                exit_on_alert,
                max_polls,
                quiet: g.quiet,
            })
        }
        Command::Case { command } => case(command, g),
        Command::Tried {
            case,
            text,
            outcome,
            note,
            format,
        } => tried(case, &text, outcome, &note, format, g),
        Command::Mcp => {
            fmr_mcp::serve_stdio()?;
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "fmr", &mut buf);
            print(&String::from_utf8_lossy(&buf))?;
            Ok(0)
        }
        Command::Man { out } => {
            let pages = crate::man::write_pages(&out)?;
            g.note(&format!(
                "wrote {} manual pages to {}",
                pages.len(),
                out.display()
            ));
            Ok(0)
        }
        Command::Schema => {
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&fmr_report::json_schema())?
            ))?;
            Ok(0)
        }
    }
}

fn investigate(args: InvestigateArgs, characterize_only: bool, g: Global) -> anyhow::Result<u8> {
    if args.paths.is_empty() && args.code.is_none() && args.symptom.is_none() {
        eprintln!(
            "fmr: nothing to investigate: give log paths, --code DIR or --symptom TEXT (see fmr investigate --help)"
        );
        return Ok(2);
    }
    let inputs = Inputs {
        paths: args.paths.clone(),
        code: args.code.clone(),
        code_snippets: Vec::new(),
        symptom: args.symptom.clone(),
        expected: args.expected.clone(),
        tried: args.tried.clone(),
        changes: args.changed.clone(),
        env: args.env.clone(),
        research: live_mode(&args, g),
        ..Inputs::default()
    };
    let engine = Engine::new().map_err(anyhow::Error::msg)?;
    let (report, runs) = engine.investigate_with_runs(&inputs);
    for problem in &report.problems {
        eprintln!("fmr: {problem}");
    }
    let nothing_read = !args.paths.is_empty() && report.inputs.is_empty();
    if nothing_read && args.symptom.is_none() && args.code.is_none() {
        eprintln!("fmr: nothing readable in the given paths");
        return Ok(2);
    }

    if !characterize_only && !args.no_save {
        save_case(&inputs, &report, g);
    }
    if characterize_only {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report.characterization)?
        ))?;
    } else {
        let format = args.format.format();
        let rendered = render_report(&report, &runs, args.format, g);
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create output directory {}", dir.display()))?;
            let main = dir.join(format!("report.{}", format.extension()));
            std::fs::write(&main, &rendered)
                .with_context(|| format!("cannot write {}", main.display()))?;
            let json = dir.join("report.json");
            std::fs::write(&json, fmr_report::render_json(&report))
                .with_context(|| format!("cannot write {}", json.display()))?;
            g.note(&format!("wrote {} and {}", main.display(), json.display()));
        }
        print(&rendered)?;
    }
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

fn metrics(args: MetricsArgs) -> anyhow::Result<u8> {
    let ingested = fmr_ingest::ingest(&args.paths);
    for problem in &ingested.problems {
        eprintln!("fmr: {problem}");
    }
    if ingested.runs.is_empty() {
        eprintln!("fmr: nothing readable in the given paths");
        return Ok(2);
    }
    match args.format {
        MetricsFormat::Csv => {
            let mut buf = Vec::new();
            fmr_ingest::write_metrics_csv(&ingested.runs, &mut buf)?;
            print(&String::from_utf8_lossy(&buf))?;
        }
        MetricsFormat::Json => print(&format!("{}\n", serde_json::to_string(&ingested.runs)?))?,
        MetricsFormat::Text => {
            let mut out = String::new();
            for run in &ingested.runs {
                out.push_str(&format!(
                    "{} ({}; {})\n",
                    run.name,
                    run.path,
                    run.formats.join(", ")
                ));
                for s in &run.series {
                    let finite = s.finite_values();
                    let (lo, hi) = finite
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                            (l.min(*v), h.max(*v))
                        });
                    let non_finite = s.points.len() - finite.len();
                    let first = s.points.first().map(|p| p.step).unwrap_or(0);
                    let last = s.points.last().map(|p| p.step).unwrap_or(0);
                    let range = if finite.is_empty() {
                        "no finite values".to_string()
                    } else {
                        format!("{lo:.6} .. {hi:.6}")
                    };
                    out.push_str(&format!(
                        "  {:<40} {:>7} points  steps {}..{}  {}{}\n",
                        s.tag,
                        s.points.len(),
                        first,
                        last,
                        range,
                        if non_finite > 0 {
                            format!("  ({non_finite} non-finite)")
                        } else {
                            String::new()
                        }
                    ));
                }
                for e in &run.events {
                    out.push_str(&format!(
                        "  ! {}:{} {:?}: {}\n",
                        e.file,
                        e.line,
                        e.kind,
                        e.text.trim()
                    ));
                }
            }
            print(&out)?;
        }
    }
    Ok(if ingested.problems.is_empty() { 0 } else { 1 })
}

fn search(args: SearchArgs) -> anyhow::Result<u8> {
    let kb = KnowledgeBase::embedded();
    let index = kb
        .index()
        .context("cannot build the knowledge-base index")?;
    let level = Level::from_number(args.level).unwrap_or(Level::Exact);
    let hits = index.search(&args.text, level, args.limit)?;
    match args.format {
        PlainFormat::Json => {
            let rows: Vec<_> = hits
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "id": h.id,
                        "title": kb.get(&h.id).map(|e| e.title.as_str()).unwrap_or(""),
                        "level": args.level,
                        "score": h.score,
                        "matched": h.matched,
                    })
                })
                .collect();
            print(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
        }
        PlainFormat::Text => {
            let mut out = String::new();
            if hits.is_empty() {
                out.push_str("no matches\n");
            }
            for h in &hits {
                let title = kb.get(&h.id).map(|e| e.title.as_str()).unwrap_or("");
                out.push_str(&format!(
                    "{:>7.2}  {}  {}  (L{}: {})\n",
                    h.score,
                    h.id,
                    title,
                    args.level,
                    h.matched.join(", ")
                ));
            }
            print(&out)?;
        }
    }
    Ok(0)
}

fn audit(args: AuditArgs) -> anyhow::Result<u8> {
    if let Some(spec) = &args.paper {
        return audit_paper(spec, &args.path, args.format);
    }
    if let Some(query) = &args.trace {
        return audit_trace(query, &args.path, args.format);
    }
    let mut rules: Vec<&'static dyn fmr_audit::AuditRule> = Vec::new();
    for code in &args.rules {
        match fmr_audit::rule(code) {
            Some(rule) => rules.push(rule),
            None => {
                eprintln!(
                    "fmr: unknown audit rule {code:?}; known: {}",
                    fmr_audit::RULES
                        .iter()
                        .map(|r| r.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                return Ok(2);
            }
        }
    }
    if rules.is_empty() {
        rules = fmr_audit::RULES.to_vec();
    }
    if let Some(auditor) = &args.auditor {
        rules.retain(|r| r.auditor().as_str() == auditor);
        if rules.is_empty() {
            eprintln!("fmr: no rules for auditor {auditor:?}");
            return Ok(2);
        }
    }
    let report = fmr_audit::audit_path(&args.path, &rules);
    for problem in &report.problems {
        eprintln!("fmr: {problem}");
    }
    if report.files_scanned == 0 {
        eprintln!(
            "fmr: no Python file could be read at {}",
            args.path.display()
        );
        return Ok(2);
    }
    match args.format {
        PlainFormat::Json => print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report.findings)?
        ))?,
        PlainFormat::Text => {
            let mut out = String::new();
            for f in &report.findings {
                out.push_str(&format!(
                    "{}:{}:{}: {} [{}] {}\n    | {}\n",
                    f.file, f.line, f.column, f.rule, f.name, f.message, f.snippet
                ));
            }
            out.push_str(&format!(
                "{} finding(s) in {} file(s)\n",
                report.findings.len(),
                report.files_scanned
            ));
            print(&out)?;
        }
    }
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

/// `fmr audit PATH --paper SPEC`: every mismatch and missing component, with file:line.
fn audit_paper(
    spec_path: &std::path::Path,
    code: &std::path::Path,
    format: PlainFormat,
) -> anyhow::Result<u8> {
    if !code.exists() {
        eprintln!("fmr: {}: no such file or directory", code.display());
        return Ok(2);
    }
    let spec = match fmr_audit::paper::PaperSpec::from_path(spec_path) {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("fmr: {error}");
            return Ok(2);
        }
    };
    let alignment = fmr_audit::paper::align(&spec, code);
    match format {
        PlainFormat::Json => print(&format!("{}\n", serde_json::to_string_pretty(&alignment)?))?,
        PlainFormat::Text => print(&alignment.to_text())?,
    }
    Ok(0)
}

/// `fmr audit PATH --trace NAME[@LOCATION]`: where a value comes from and where it goes.
fn audit_trace(query: &str, code: &std::path::Path, format: PlainFormat) -> anyhow::Result<u8> {
    let (name, location) = match query.split_once('@') {
        Some((name, location)) => (name.trim(), Some(location.trim())),
        None => (query.trim(), None),
    };
    if name.is_empty() {
        eprintln!("fmr: --trace needs a name, e.g. --trace labels or --trace loss@train.py:42");
        return Ok(2);
    }
    let mut q = fmr_audit::trace::TraceQuery::new(name);
    if let Some(location) = location {
        q = q.at(location);
    }
    let trace = match fmr_audit::trace::trace(code, &q) {
        Ok(trace) => trace,
        Err(error) => {
            eprintln!("fmr: {error}");
            return Ok(2);
        }
    };
    match format {
        PlainFormat::Json => print(&format!("{}\n", serde_json::to_string_pretty(&trace)?))?,
        PlainFormat::Text => print(&trace.render_text())?,
    }
    Ok(0)
}

fn kb(command: KbCommand) -> anyhow::Result<u8> {
    match command {
        KbCommand::List => {
            let kb = KnowledgeBase::embedded();
            let mut out = String::new();
            for e in kb.entries() {
                out.push_str(&format!(
                    "{}  {:<14} {}\n",
                    e.id,
                    e.domains.first().map(String::as_str).unwrap_or(""),
                    e.title
                ));
            }
            print(&out)?;
            Ok(0)
        }
        KbCommand::Show { id } => {
            let kb = KnowledgeBase::embedded();
            let Some(e) = kb.get(&id) else {
                eprintln!("fmr: no knowledge-base entry {id:?} (see fmr kb list)");
                return Ok(2);
            };
            print(&show_entry(e, &kb))?;
            Ok(0)
        }
        KbCommand::Stats { format } => {
            let stats = KnowledgeBase::embedded().stats();
            match format {
                PlainFormat::Json => {
                    print(&format!("{}\n", serde_json::to_string_pretty(&stats)?))?
                }
                PlainFormat::Text => {
                    let mut out = format!(
                        "entries: {}\nanalogy edges: {}\ndomains:\n",
                        stats.entries, stats.analogy_edges
                    );
                    for (d, n) in &stats.domains {
                        out.push_str(&format!("  {d:<14} {n}\n"));
                    }
                    out.push_str("sources:\n");
                    for (k, n) in &stats.sources {
                        out.push_str(&format!("  {k:<14} {n}\n"));
                    }
                    print(&out)?;
                }
            }
            Ok(0)
        }
        KbCommand::Check { dir } => {
            let kb = match &dir {
                Some(d) => KnowledgeBase::from_dir(d)
                    .with_context(|| format!("cannot read {}", d.display()))?,
                None => KnowledgeBase::embedded(),
            };
            let mut problems = kb.check();
            // Audit rule codes must name real rules.
            for e in kb.entries() {
                for code in &e.audit_rules {
                    if fmr_audit::rule(code).is_none() {
                        problems.push(fmr_kb::CheckProblem::new(
                            &e.id,
                            format!("audit rule {code} does not exist"),
                        ));
                    }
                }
            }
            for p in &problems {
                eprintln!("{p}");
            }
            if problems.is_empty() {
                eprintln!("knowledge base OK: {} entries", kb.len());
                Ok(0)
            } else {
                eprintln!("{} problem(s) in {} entries", problems.len(), kb.len());
                Ok(1)
            }
        }
    }
}

fn show_entry(e: &fmr_kb::Entry, kb: &KnowledgeBase) -> String {
    let mut out = format!(
        "{} — {}\ndomains: {}\naliases: {}\n\n{}\n\n",
        e.id,
        e.title,
        e.domains.join(", "),
        e.aliases.join("; "),
        e.summary.trim()
    );
    out.push_str("signatures:\n");
    for s in &e.signatures {
        out.push_str(&format!(
            "  {} on {} (weight {:.2}): {}\n",
            s.kind, s.metric, s.weight, s.condition
        ));
    }
    out.push_str("causes:\n");
    for c in &e.causes {
        out.push_str(&format!("  - {c}\n"));
    }
    out.push_str("diagnostics:\n");
    for d in &e.diagnostics {
        out.push_str(&format!("  - {d}\n"));
    }
    out.push_str("fixes:\n");
    for f in &e.fixes {
        out.push_str(&format!(
            "  - [{}] {} — when {}; {}\n",
            f.effort, f.action, f.condition, f.why
        ));
    }
    if !e.audit_rules.is_empty() {
        out.push_str(&format!("audit rules: {}\n", e.audit_rules.join(", ")));
    }
    let analogies = kb.analogies_of(&e.id);
    if !analogies.is_empty() {
        out.push_str("analogies:\n");
        for (other, note) in analogies {
            out.push_str(&format!("  {} {} — {}\n", other.id, other.title, note));
        }
    }
    out.push_str("sources:\n");
    for s in &e.sources {
        out.push_str(&format!(
            "  [{}] {} ({}, {}) {}\n      {}\n",
            s.kind, s.title, s.reference, s.year, s.url, s.claim
        ));
    }
    out
}

fn eval(args: EvalArgs, g: Global) -> anyhow::Result<u8> {
    let (cases, problems) = if args.cases.is_dir() {
        fmr_engine::eval::load_scenarios(&args.cases)
    } else {
        match read_cases(&args.cases) {
            Some(parsed) => parsed,
            None => return Ok(2),
        }
    };
    eval_cases(&args, g, cases, problems)
}

fn read_cases(path: &std::path::Path) -> Option<(Vec<fmr_engine::eval::EvalCase>, Vec<String>)> {
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "fmr: {}: not valid UTF-8 at byte {}",
                    path.display(),
                    e.utf8_error().valid_up_to()
                );
                return None;
            }
        },
        Err(e) => {
            eprintln!("fmr: {}: {e}", path.display());
            return None;
        }
    };
    Some(fmr_engine::eval::parse_cases(&text))
}

fn eval_cases(
    args: &EvalArgs,
    g: Global,
    cases: Vec<fmr_engine::eval::EvalCase>,
    problems: Vec<String>,
) -> anyhow::Result<u8> {
    if cases.is_empty() {
        for p in &problems {
            eprintln!("fmr: {p}");
        }
        eprintln!("fmr: {}: no usable cases", args.cases.display());
        return Ok(2);
    }
    let engine = Engine::new().map_err(anyhow::Error::msg)?;
    let progress = if !g.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(cases.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} cases {wide_bar} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let summary = fmr_engine::eval::evaluate_with(&engine, &cases, problems, |_| {
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    for p in &summary.problems {
        eprintln!("fmr: {}: {p}", args.cases.display());
    }
    match args.format {
        PlainFormat::Json => print(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?,
        PlainFormat::Text => {
            let mut out = format!(
                "{} cases: top-1 {}/{} ({:.1}%), top-3 {}/{} ({:.1}%); knowledge-base retrieval from the symptom text alone, top-3: {}/{} ({:.1}%)\n",
                summary.cases,
                summary.top1,
                summary.cases,
                summary.top1_rate * 100.0,
                summary.top3,
                summary.cases,
                summary.top3_rate * 100.0,
                summary.retrieval_top3,
                summary.cases,
                summary.retrieval_top3_rate * 100.0
            );
            if summary.symptom_cases > 0 {
                out.push_str(&format!(
                    "symptom detection on {} labelled cases: precision {:.2}, recall {:.2}\n",
                    summary.symptom_cases, summary.symptom_precision, summary.symptom_recall
                ));
            }
            if !summary.calibration.is_empty() {
                let bins: Vec<String> = summary
                    .calibration
                    .iter()
                    .map(|b| {
                        format!(
                            "{:.0}-{:.0}%: {} cases, said {:.0}%, right {:.0}%",
                            b.from * 100.0,
                            b.to * 100.0,
                            b.cases,
                            b.stated * 100.0,
                            b.observed * 100.0
                        )
                    })
                    .collect();
                out.push_str(&format!(
                    "first hypothesis, by its likelihood: {}\n",
                    bins.join(" · ")
                ));
            }
            if summary.located > 0 {
                out.push_str(&format!(
                    "auditor points at the bug line (±1) in {}/{} cases with a known location\n",
                    summary.line_hits, summary.located
                ));
            }
            for r in summary.results.iter().filter(|r| r.rank != Some(1)) {
                let rank = r
                    .rank
                    .map(|k| format!("hit at {k}"))
                    .unwrap_or_else(|| "miss".into());
                out.push_str(&format!(
                    "  {rank:<9} {}  accept /{}/\n            top: {}\n",
                    r.id,
                    r.accept,
                    r.top_hypotheses.join(" | ")
                ));
            }
            print(&out)?;
        }
    }
    Ok(if summary.problems.is_empty() { 0 } else { 1 })
}

fn live_mode(args: &InvestigateArgs, g: Global) -> fmr_engine::live::LiveMode {
    use fmr_engine::live::{LiveMode, LiveSettings};
    if !args.online && !args.offline {
        return LiveMode::KnowledgeBase;
    }
    let progress: Option<std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>> =
        if !g.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} live search {pos}/{len} {wide_bar} {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Some(std::sync::Arc::new(move |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                if done >= total {
                    bar.finish_and_clear();
                }
            }))
        } else {
            None
        };
    LiveMode::Live(LiveSettings {
        offline: args.offline,
        sources: args.sources.clone(),
        budget: args.research_budget.map(std::time::Duration::from_secs),
        progress,
    })
}

fn cache(command: CacheCommand) -> anyhow::Result<u8> {
    let store = fmr_store::Store::open_default().context("cannot open the fmr database")?;
    let location = store
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    match command {
        CacheCommand::Stats => {
            let stats = store.cache_stats()?;
            print(&format!("database: {location}\n{stats}"))?;
        }
        CacheCommand::Clear { source, expired } => {
            let removed = match (&source, expired) {
                (Some(name), _) => store.cache_clear_source(name)?,
                (None, true) => store.cache_prune_expired(fmr_store::unix_now())?,
                (None, false) => store.cache_clear()?,
            };
            print(&format!(
                "removed {removed} cached response(s) from {location}\n"
            ))?;
        }
    }
    Ok(0)
}

/// Records an investigation as a case; a database problem is a note, not a failure.
fn save_case(inputs: &Inputs, report: &fmr_core::Report, g: Global) {
    let saved = (|| -> anyhow::Result<i64> {
        let mut store = fmr_store::Store::open_default()?;
        let title = case_title(inputs, report);
        let top = report
            .hypotheses
            .first()
            .map(|h| h.id.clone())
            .unwrap_or_default();
        Ok(store.case_create(
            &title,
            &serde_json::to_string(inputs)?,
            &serde_json::to_string(report)?,
            &top,
        )?)
    })();
    match saved {
        Ok(id) => g.note(&format!("saved as case {id}; record what you try with: fmr tried {id} \"…\" --outcome failed|helped|partial")),
        Err(e) => g.note(&format!("could not save the case: {e:#}")),
    }
}

fn case_title(inputs: &Inputs, report: &fmr_core::Report) -> String {
    let words = inputs
        .symptom
        .clone()
        .or_else(|| {
            report
                .characterization
                .symptoms
                .first()
                .map(|s| s.statement.clone())
        })
        .or_else(|| report.inputs.first().map(|r| r.name.clone()))
        .unwrap_or_else(|| "investigation".into());
    let mut title: String = words
        .split_whitespace()
        .take(12)
        .collect::<Vec<_>>()
        .join(" ");
    if title.chars().count() > 90 {
        title = title.chars().take(89).collect::<String>() + "…";
    }
    title
}

fn open_store() -> anyhow::Result<fmr_store::Store> {
    fmr_store::Store::open_default().context("cannot open the fmr database")
}

fn case(command: CaseCommand, g: Global) -> anyhow::Result<u8> {
    let store = open_store()?;
    match command {
        CaseCommand::List { format } => {
            let cases = store.case_list()?;
            match format {
                PlainFormat::Json => {
                    print(&format!("{}\n", serde_json::to_string_pretty(&cases)?))?
                }
                PlainFormat::Text => {
                    let mut out = String::new();
                    if cases.is_empty() {
                        out.push_str("no cases yet: every `fmr investigate` records one\n");
                    }
                    for c in &cases {
                        out.push_str(&format!(
                            "{:>4}  {}  {:<8} {:>2} tried  {}\n",
                            c.id,
                            date(c.updated_at),
                            c.top_hypothesis,
                            c.attempts,
                            c.title
                        ));
                    }
                    print(&out)?;
                }
            }
            Ok(0)
        }
        CaseCommand::Show { id, format } => {
            let Some(record) = store.case_get(id)? else {
                eprintln!("fmr: no case {id} (see fmr case list)");
                return Ok(2);
            };
            let report: fmr_core::Report = serde_json::from_str(&record.report_json)
                .with_context(|| format!("case {id} holds a report this fmr cannot read"))?;
            let mut out = String::new();
            if matches!(format, ReportFormat::Text) {
                out.push_str(&format!("case {id}: {}\n", record.summary.title));
                for a in &record.attempts {
                    out.push_str(&format!(
                        "  tried {}: {} ({}){}\n",
                        date(a.created_at),
                        a.text,
                        a.outcome,
                        if a.note.is_empty() {
                            String::new()
                        } else {
                            format!(" — {}", a.note)
                        }
                    ));
                }
                out.push('\n');
            }
            out.push_str(&render_report(&report, &[], format, g));
            print(&out)?;
            Ok(0)
        }
    }
}

fn tried(
    case_id: i64,
    text: &str,
    outcome: Outcome,
    note: &str,
    format: ReportFormat,
    g: Global,
) -> anyhow::Result<u8> {
    let mut store = open_store()?;
    let Some(record) = store.case_get(case_id)? else {
        eprintln!("fmr: no case {case_id} (see fmr case list)");
        return Ok(2);
    };
    let mut inputs: Inputs = serde_json::from_str(&record.inputs_json)
        .with_context(|| format!("case {case_id} holds inputs this fmr cannot read"))?;
    let before: fmr_core::Report = serde_json::from_str(&record.report_json)
        .with_context(|| format!("case {case_id} holds a report this fmr cannot read"))?;
    inputs.attempts.push(fmr_core::Tried {
        text: text.to_string(),
        outcome: outcome.tried(),
    });
    let engine = Engine::new().map_err(anyhow::Error::msg)?;
    let (after, runs) = engine.investigate_with_runs(&inputs);
    let top = after
        .hypotheses
        .first()
        .map(|h| h.id.clone())
        .unwrap_or_default();
    // One transaction: the attempt, the inputs that now include it, the re-ranked report.
    store.case_record_attempt(
        case_id,
        fmr_store::AttemptRecord {
            text,
            outcome: outcome.word(),
            note,
        },
        &serde_json::to_string(&inputs)?,
        &serde_json::to_string(&after)?,
        &top,
    )?;
    let changes = fmr_engine::report_changes(&before, &after);
    let mut out = String::new();
    if matches!(format, ReportFormat::Text) {
        out.push_str(&format!(
            "case {case_id}: recorded \"{text}\" ({})\n",
            outcome.word()
        ));
        if changes.is_empty() {
            out.push_str("nothing in the ranking moved\n");
        }
        for c in &changes {
            out.push_str(&format!("  {c}\n"));
        }
        out.push('\n');
    }
    out.push_str(&render_report(&after, &runs, format, g));
    print(&out)?;
    Ok(0)
}

fn render_report(
    report: &fmr_core::Report,
    runs: &[fmr_core::Run],
    format: ReportFormat,
    g: Global,
) -> String {
    match format.format() {
        Format::Html => fmr_report::render_html_with_runs(report, runs),
        Format::Text => fmr_report::render_text_styled(
            report,
            fmr_report::TextStyle {
                color: g.color,
                detailed: g.verbose,
            },
        ),
        other => fmr_report::render(report, other),
    }
}

/// YYYY-MM-DD HH:MM (UTC) from Unix seconds, without a date library.
fn date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

fn diff(
    good: &std::path::Path,
    bad: &std::path::Path,
    code: Option<&std::path::Path>,
    format: PlainFormat,
) -> anyhow::Result<u8> {
    let read = |path: &std::path::Path| -> Option<fmr_core::Run> {
        let ingested = fmr_ingest::ingest(&[path.to_path_buf()]);
        for p in &ingested.problems {
            eprintln!("fmr: {p}");
        }
        if ingested.runs.len() > 1 {
            eprintln!(
                "fmr: {} holds {} runs; comparing the first, {}",
                path.display(),
                ingested.runs.len(),
                ingested.runs[0].name
            );
        }
        ingested.runs.into_iter().next()
    };
    let (Some(good_run), Some(bad_run)) = (read(good), read(bad)) else {
        eprintln!("fmr: diff needs one readable run on each side");
        return Ok(2);
    };
    let comparison = fmr_detect::compare_runs(&good_run, &bad_run);
    // The code comparison never fails the command: what it cannot answer becomes its notes.
    let code_diff = code.map(|repo| fmr_git::code_diff(repo, &good_run, &bad_run));
    match format {
        PlainFormat::Json => {
            let mut json = serde_json::to_value(&comparison)?;
            if let (Some(code_diff), Some(object)) = (&code_diff, json.as_object_mut()) {
                object.insert("code".to_owned(), serde_json::to_value(code_diff)?);
            }
            print(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
        }
        PlainFormat::Text => {
            let code_text = code_diff.map(|c| c.summary()).unwrap_or_default();
            print(&format!("{}{code_text}", comparison.summary()))?;
        }
    }
    Ok(0)
}
