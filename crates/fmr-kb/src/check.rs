//! `fmr kb check`: every rule of kb/README.md, each problem naming its file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use fmr_core::{MetricRole, SourceKind, SymptomKind};
use regex::Regex;

use crate::{DOMAINS, Entry};

/// One violation, naming the file it is in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckProblem {
    pub file: String,
    pub problem: String,
}

impl CheckProblem {
    pub fn new(file: &str, problem: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for CheckProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^FM\d{4}$").expect("valid regex"));
static AUDIT_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(PT|JX|PY|KR|HF|PL)\d{3}$").expect("valid regex"));
static ARXIV: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^arXiv:(\d{4}\.\d{4,5}|[a-z\-]+/\d{7})$").expect("valid regex"));
static GITHUB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([\w.\-]+)/([\w.\-]+)#(\d+)$").expect("valid regex"));

pub(crate) fn check_entries(entries: &[Entry], files: &[String]) -> Vec<CheckProblem> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (entry, file) in entries.iter().zip(files) {
        if let Some(first) = seen.insert(&entry.id, file) {
            problems.push(CheckProblem::new(
                file,
                format!("duplicate id {} (also in {first})", entry.id),
            ));
        }
    }
    let ids: BTreeSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    for (entry, file) in entries.iter().zip(files) {
        let mut say = |p: String| problems.push(CheckProblem::new(file, p));
        check_entry(entry, file, &ids, &mut say);
    }
    problems
}

/// A presentation is matched by how much of it a report covers, so it must stay
/// a phrase, not a paragraph.
const MAX_PRESENTATION_CHARS: usize = 140;

fn check_entry(e: &Entry, file: &str, ids: &BTreeSet<&str>, say: &mut impl FnMut(String)) {
    if !ID.is_match(&e.id) {
        say(format!("id {:?} is not FM followed by four digits", e.id));
    }
    if !file.starts_with(&format!("{}-", e.id)) {
        say(format!("file name must start with \"{}-\"", e.id));
    }
    for (field, text) in [("title", &e.title), ("summary", &e.summary)] {
        if text.trim().is_empty() {
            say(format!("{field} is empty"));
        }
    }
    for (field, list) in [
        ("domains", &e.domains),
        ("aliases", &e.aliases),
        ("techniques", &e.techniques),
        ("phenomena", &e.phenomena),
        ("causes", &e.causes),
        ("diagnostics", &e.diagnostics),
    ] {
        if list.is_empty() || list.iter().any(|s| s.trim().is_empty()) {
            say(format!(
                "{field} must be a non-empty list of non-empty strings"
            ));
        }
    }
    let alias_keys: BTreeSet<String> = e.aliases.iter().map(|a| a.trim().to_lowercase()).collect();
    for p in &e.presentations {
        if p.trim().is_empty() {
            say("presentations holds an empty string".into());
        } else if p.chars().count() > MAX_PRESENTATION_CHARS {
            say(format!(
                "presentation {p:?} is longer than {MAX_PRESENTATION_CHARS} characters: say what was seen in a short phrase"
            ));
        } else if alias_keys.contains(&p.trim().to_lowercase()) {
            say(format!("presentation {p:?} repeats an alias"));
        }
    }
    for d in &e.domains {
        if !DOMAINS.contains(&d.as_str()) {
            say(format!("unknown domain {d:?}"));
        }
    }
    if !(0.0..=1.0).contains(&e.base_rate) {
        say(format!("base_rate {} is outside 0..1", e.base_rate));
    }
    if e.signatures.is_empty() {
        say("no signatures".into());
    }
    for s in &e.signatures {
        if SymptomKind::parse(&s.kind).is_none() {
            say(format!("signature has unknown symptom kind {:?}", s.kind));
        }
        if MetricRole::parse(&s.metric).is_none() {
            say(format!("signature has unknown metric role {:?}", s.metric));
        }
        if !(0.0..=1.0).contains(&s.weight) {
            say(format!("signature weight {} is outside 0..1", s.weight));
        }
        if s.condition.trim().is_empty() {
            say("signature condition is empty".into());
        }
    }
    if e.fixes.is_empty() {
        say("no fixes".into());
    }
    for f in &e.fixes {
        if f.action.trim().is_empty() || f.why.trim().is_empty() || f.condition.trim().is_empty() {
            say(format!(
                "fix {:?} needs action, why and condition",
                f.action
            ));
        }
        if !matches!(f.effort.as_str(), "low" | "medium" | "high") {
            say(format!("fix effort {:?} is not low|medium|high", f.effort));
        }
        match (f.param.is_some(), f.op.as_deref()) {
            (false, None) => {}
            (true, Some("multiply" | "set")) if f.value.is_none() => say(format!(
                "fix {:?}: op multiply/set needs a numeric value",
                f.action
            )),
            (true, Some("multiply" | "set" | "enable" | "disable")) => {}
            (true, None) => say(format!("fix {:?}: param without op", f.action)),
            (false, Some(_)) => say(format!("fix {:?}: op without param", f.action)),
            (true, Some(op)) => say(format!("fix {:?}: unknown op {op:?}", f.action)),
        }
    }
    for code in &e.audit_rules {
        if !AUDIT_CODE.is_match(code) {
            say(format!(
                "audit rule {code:?} is not a rule code (PT, JX, PY, KR, HF or PL and three digits)"
            ));
        }
    }
    for id in &e.lookalikes {
        if !ids.contains(id.as_str()) {
            say(format!("lookalike {id} does not resolve"));
        }
    }
    for a in &e.analogies {
        if !ids.contains(a.id.as_str()) {
            say(format!("analogy {} does not resolve", a.id));
        }
        if a.id == e.id {
            say("analogy points at the entry itself".into());
        }
        if a.note.trim().is_empty() {
            say(format!("analogy {} has no note", a.id));
        }
    }
    check_sources(e, say);
}

fn check_sources(e: &Entry, say: &mut impl FnMut(String)) {
    if e.sources.len() < 2 {
        say(format!(
            "needs at least two sources, has {}",
            e.sources.len()
        ));
    }
    let mut urls = BTreeSet::new();
    for s in &e.sources {
        let Some(kind) = SourceKind::parse(&s.kind) else {
            say(format!(
                "source {:?} has unknown kind {:?}",
                s.reference, s.kind
            ));
            continue;
        };
        if !s.url.starts_with("https://") {
            say(format!(
                "source {:?}: url must start with https://",
                s.reference
            ));
        }
        if !urls.insert(s.url.as_str()) {
            say(format!("source url {} is listed twice", s.url));
        }
        if s.title.trim().is_empty() || s.claim.trim().is_empty() {
            say(format!(
                "source {:?} needs a title and a claim",
                s.reference
            ));
        }
        if !(1950..=2026).contains(&s.year) {
            say(format!(
                "source {:?}: implausible year {}",
                s.reference, s.year
            ));
        }
        if let Some(caps) = ARXIV.captures(&s.reference) {
            if !s.url.contains(&caps[1]) {
                say(format!(
                    "source {}: url does not carry the arXiv id",
                    s.reference
                ));
            }
        } else if s.reference.starts_with("arXiv") {
            say(format!("source {:?}: malformed arXiv id", s.reference));
        }
        if kind == SourceKind::GithubIssue {
            match GITHUB.captures(&s.reference) {
                Some(caps) => {
                    let issue = format!("github.com/{}/{}/issues/{}", &caps[1], &caps[2], &caps[3]);
                    let pull = format!("github.com/{}/{}/pull/{}", &caps[1], &caps[2], &caps[3]);
                    if !s.url.contains(&issue) && !s.url.contains(&pull) {
                        say(format!(
                            "source {}: url does not match the issue reference",
                            s.reference
                        ));
                    }
                }
                None => say(format!(
                    "source {:?}: a github_issue ref must be owner/repo#N",
                    s.reference
                )),
            }
        }
    }
}
