//! The knowledge base: one TOML file per failure mode under `kb/entries/`,
//! embedded at build time, validated by [`KnowledgeBase::check`], and searched
//! through a SQLite FTS5 index ([`SearchIndex`]) at four query levels.
//!
//! Knowledge is data: this crate only loads, checks and indexes it. The engine
//! decides what to ask.

mod check;
mod entry;
mod phrase;
mod ranges;
mod search;
mod spelling;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub use check::CheckProblem;
pub use entry::{AdjustOp, Adjustment, Analogy, Entry, EntrySource, Fix, Signature};
pub use phrase::{PhraseIndex, PhraseMatch, stem};
pub use ranges::{EMBEDDED_RANGES, UsualRange, parse_ranges};
pub use search::{Hit, Level, SearchIndex, query_terms};
pub use spelling::{american_spelling, american_word};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The domains an entry may belong to (kb/README.md).
pub const DOMAINS: &[&str] = &[
    "optimization",
    "numerics",
    "data",
    "architecture",
    "generative",
    "llm",
    "rl",
    "robotics",
    "control",
    "signal",
    "distributed",
    "evaluation",
];

/// All entries, in id order, plus the files that failed to parse.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    entries: Vec<Entry>,
    /// (file name, entry index) for every parsed entry, for messages.
    files: Vec<String>,
    parse_problems: Vec<CheckProblem>,
    phrases: PhraseIndex,
}

impl KnowledgeBase {
    /// The knowledge base compiled into this binary.
    pub fn embedded() -> Self {
        Self::from_texts(
            embedded::EMBEDDED
                .iter()
                .map(|(name, text)| (name.to_string(), text.to_string())),
        )
    }

    /// Reads `*.toml` entries from a directory (for `fmr kb check DIR` and tests).
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut texts = Vec::with_capacity(files.len());
        let mut unreadable = Vec::new();
        for path in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match std::fs::read_to_string(&path) {
                Ok(text) => texts.push((name, text)),
                Err(err) => {
                    unreadable.push(CheckProblem::new(&name, format!("cannot read: {err}")))
                }
            }
        }
        let mut kb = Self::from_texts(texts);
        kb.parse_problems.extend(unreadable);
        Ok(kb)
    }

    /// Parses (file name, TOML) pairs; unparsable files become check problems.
    pub fn from_texts(texts: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut parsed: Vec<(String, Entry)> = Vec::new();
        let mut parse_problems = Vec::new();
        for (name, text) in texts {
            match toml::from_str::<Entry>(&text) {
                Ok(entry) => parsed.push((name, entry)),
                Err(err) => {
                    let message = err.to_string().lines().collect::<Vec<_>>().join(" ");
                    parse_problems.push(CheckProblem::new(
                        &name,
                        format!("invalid TOML entry: {message}"),
                    ));
                }
            }
        }
        parsed.sort_by(|a, b| a.1.id.cmp(&b.1.id).then(a.0.cmp(&b.0)));
        let (files, entries): (Vec<String>, Vec<Entry>) = parsed.into_iter().unzip();
        let phrases = PhraseIndex::build(&entries);
        Self {
            entries,
            files,
            parse_problems,
            phrases,
        }
    }

    /// Titles and aliases, for matching a report against practitioner phrasings.
    pub fn phrases(&self) -> &PhraseIndex {
        &self.phrases
    }

    /// Usual ranges of common hyperparameters (the embedded file; a broken file
    /// fails `cargo test -p fmr-kb` and `fmr kb check`, and yields no ranges here).
    pub fn usual_ranges(&self) -> &'static [UsualRange] {
        static RANGES: std::sync::LazyLock<Vec<UsualRange>> =
            std::sync::LazyLock::new(|| parse_ranges(EMBEDDED_RANGES).unwrap_or_default());
        &RANGES
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Cross-domain neighbours of an entry, in both directions of each edge.
    pub fn analogies_of(&self, id: &str) -> Vec<(&Entry, &str)> {
        let mut out: Vec<(&Entry, &str)> = Vec::new();
        if let Some(entry) = self.get(id) {
            for a in &entry.analogies {
                if let Some(other) = self.get(&a.id) {
                    out.push((other, a.note.as_str()));
                }
            }
        }
        for other in &self.entries {
            for a in &other.analogies {
                if a.id == id && !out.iter().any(|(e, _)| e.id == other.id) {
                    out.push((other, a.note.as_str()));
                }
            }
        }
        out
    }

    /// Validates every entry: schema, vocabularies, unique ids, resolving links, sources.
    pub fn check(&self) -> Vec<CheckProblem> {
        let mut problems = self.parse_problems.clone();
        problems.extend(check::check_entries(&self.entries, &self.files));
        if let Err(problem) = parse_ranges(EMBEDDED_RANGES) {
            problems.push(CheckProblem::new("hyperparameter-ranges.toml", problem));
        }
        problems
    }

    pub fn stats(&self) -> Stats {
        let mut domains: BTreeMap<String, usize> = BTreeMap::new();
        let mut sources: BTreeMap<String, usize> = BTreeMap::new();
        let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
        for e in &self.entries {
            for d in &e.domains {
                *domains.entry(d.clone()).or_default() += 1;
            }
            for s in &e.sources {
                *sources.entry(s.kind.clone()).or_default() += 1;
            }
            for a in &e.analogies {
                let pair = if e.id < a.id {
                    (e.id.clone(), a.id.clone())
                } else {
                    (a.id.clone(), e.id.clone())
                };
                edges.insert(pair);
            }
        }
        Stats {
            entries: self.entries.len(),
            domains,
            analogy_edges: edges.len(),
            sources,
        }
    }

    /// Builds the full-text index over every entry.
    pub fn index(&self) -> rusqlite::Result<SearchIndex> {
        SearchIndex::build(&self.entries)
    }
}

/// What `fmr kb stats --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub entries: usize,
    pub domains: BTreeMap<String, usize>,
    /// Undirected cross-domain edges.
    pub analogy_edges: usize,
    pub sources: BTreeMap<String, usize>,
}
