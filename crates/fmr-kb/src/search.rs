//! Full-text search over the entries: an in-memory SQLite FTS5 table with the
//! porter stemmer, ranked by bm25 with per-level column weights.

use std::borrow::Cow;

use rusqlite::{Connection, params};

use crate::Entry;
use crate::spelling::american_spelling;

/// The four widening levels of DESIGN.md. Each level weighs the columns
/// differently: exact queries trust titles and aliases, technique queries the
/// technique vocabulary, phenomenon and analogy queries the mechanisms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Exact = 1,
    Technique = 2,
    Phenomenon = 3,
    Analogy = 4,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Exact,
        Level::Technique,
        Level::Phenomenon,
        Level::Analogy,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.number() == n)
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Exact => "exact",
            Level::Technique => "technique",
            Level::Phenomenon => "phenomenon",
            Level::Analogy => "cross-domain analogy",
        }
    }

    /// bm25 weights for (id, title, aliases, symptoms, causes, techniques, phenomena, body, domains).
    fn weights(self) -> [f64; 9] {
        match self {
            Level::Exact => [0.0, 6.0, 8.0, 5.0, 2.0, 3.0, 1.0, 1.0, 0.5],
            Level::Technique => [0.0, 4.0, 3.0, 2.0, 3.0, 10.0, 2.0, 1.0, 0.5],
            Level::Phenomenon | Level::Analogy => [0.0, 3.0, 2.0, 2.0, 5.0, 1.0, 10.0, 2.0, 1.0],
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    /// Higher is better (negated bm25).
    pub score: f64,
    /// The query terms this entry matched, for the "why" of the hit.
    pub matched: Vec<String>,
}

/// The FTS5 index. Built in memory in a few milliseconds from the embedded entries.
pub struct SearchIndex {
    conn: Connection,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

impl SearchIndex {
    pub fn build(entries: &[Entry]) -> rusqlite::Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE VIRTUAL TABLE kb USING fts5(
                id UNINDEXED, title, aliases, symptoms, causes, techniques, phenomena, body, domains,
                tokenize = 'porter unicode61'
            );",
        )?;
        {
            let tx = conn.unchecked_transaction()?;
            let mut insert =
                tx.prepare("INSERT INTO kb VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
            for e in entries {
                let symptoms = e
                    .signatures
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} {}",
                            s.kind.replace('_', " "),
                            s.metric.replace('_', " "),
                            s.condition
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" . ");
                let body = [
                    e.summary.as_str(),
                    &e.diagnostics.join(" . "),
                    &e.fixes
                        .iter()
                        .map(|f| format!("{} {}", f.action, f.condition))
                        .collect::<Vec<_>>()
                        .join(" . "),
                    &e.frameworks.join(" "),
                ]
                .join(" . ");
                let american =
                    |text: &str| american_spelling(&joined_zero_stages(text)).into_owned();
                insert.execute(params![
                    e.id,
                    american(&e.title),
                    american(
                        &e.phrasings()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(" . ")
                    ),
                    american(&symptoms),
                    american(&e.causes.join(" . ")),
                    american(&e.techniques.join(" . ")),
                    american(&e.phenomena.join(" . ")),
                    american(&body),
                    e.domains.join(" "),
                ])?;
            }
            drop(insert);
            tx.commit()?;
        }
        Ok(Self { conn })
    }

    /// Searches free text at a level. The text is reduced to its content words
    /// (see [`query_terms`]) and matched with OR, so partial overlaps still rank.
    /// Index and query are both in American spelling ([`american_spelling`]).
    pub fn search(&self, text: &str, level: Level, limit: usize) -> rusqlite::Result<Vec<Hit>> {
        let terms = query_terms(&american_spelling(text));
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let fts_query = terms
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" OR ");
        let w = level.weights();
        let sql = format!(
            "SELECT id, -bm25(kb, {}, {}, {}, {}, {}, {}, {}, {}, {}) AS score,
                    lower(title || ' ' || aliases || ' ' || symptoms || ' ' || causes || ' ' || techniques || ' ' || phenomena || ' ' || body)
             FROM kb WHERE kb MATCH ?1 ORDER BY score DESC, id LIMIT ?2",
            w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![fts_query, limit as i64], |row| {
            let id: String = row.get(0)?;
            let score: f64 = row.get(1)?;
            let text: String = row.get(2)?;
            Ok((id, score, text))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (id, score, text) = row?;
            let matched = terms
                .iter()
                .filter(|t| text.contains(t.as_str()))
                .cloned()
                .collect();
            hits.push(Hit { id, score, matched });
        }
        Ok(hits)
    }
}

/// Content words of a query: lower-cased, split on anything but letters and
/// digits, without stop words, pure numbers or one-letter tokens, deduplicated in
/// order. Tokens keep digits when mixed with letters (`fp16`, `bf16`, `l2`).
pub fn query_terms(text: &str) -> Vec<String> {
    let text = joined_zero_stages(text);
    let mut out: Vec<String> = Vec::new();
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        let token = raw.to_lowercase();
        if token.len() < 2
            || token.chars().all(|c| c.is_ascii_digit())
            || STOP_WORDS.contains(&token.as_str())
        {
            continue;
        }
        // Numbers in scientific notation split into "3e" and "4": drop the stub.
        if token.len() <= 3
            && token.ends_with('e')
            && token[..token.len() - 1].chars().all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if !out.contains(&token) {
            out.push(token);
        }
    }
    out
}

/// DeepSpeed's ZeRO stages written as one word, `zero3`, however the text spells them
/// ("ZeRO-3", "zero_3", "ZeRO stage 3", "ZeRO 3"). Split in two, the stage became the word
/// "zero" and a dropped digit, and a report about ZeRO-3 matched entries about a loss that is
/// zero. A bare "zero 3" counts only as DeepSpeed writes it, with a capital R.
pub fn joined_zero_stages(text: &str) -> Cow<'_, str> {
    static STAGE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(?:(?i:zero)[-_]?(?i:[-_ ]?stage[-_ ]?)?|ZeRO )([0-3])\b")
            .expect("valid regex")
    });
    STAGE.replace_all(text, "zero$1")
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "around", "as",
    "at", "be", "because", "been", "before", "being", "but", "by", "can", "could", "did", "do",
    "does", "doesn", "don", "during", "each", "even", "for", "from", "get", "gets", "got", "had",
    "has", "have", "having", "he", "her", "here", "him", "his", "how", "however", "i", "if", "in",
    "into", "is", "isn", "it", "its", "just", "like", "me", "more", "most", "my", "no", "nor",
    "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own",
    "same", "seems", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "why", "will", "with", "would", "you", "your", "using", "use", "used", "tried", "try",
    "trying", "still", "my", "any", "anyone", "help", "please", "thanks", "issue", "problem",
    "model", "training", "train", "trained", "step", "steps",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_terms_keep_content_words_and_mixed_tokens() {
        assert_eq!(
            query_terms("Loss becomes NaN after 2k steps with fp16, lr 3e-4"),
            vec!["loss", "becomes", "nan", "2k", "fp16", "lr"]
        );
        assert!(query_terms("the of and 123").is_empty());
    }

    #[test]
    fn zero_stages_are_one_word_and_a_zero_loss_is_not_a_stage() {
        assert_eq!(
            query_terms("DeepSpeed ZeRO-3, zero_2, ZeRO stage 1, ZeRO 2 and zero3"),
            vec!["deepspeed", "zero3", "zero2", "zero1"]
        );
        assert_eq!(
            query_terms("loss is zero 3 times"),
            vec!["loss", "zero", "times"]
        );
        assert_eq!(
            query_terms("zero-shot accuracy"),
            vec!["zero", "shot", "accuracy"]
        );
    }

    #[test]
    fn a_zero_stage_query_finds_only_entries_about_that_stage() {
        let kb = crate::KnowledgeBase::embedded();
        let index = SearchIndex::build(kb.entries()).expect("index");
        let hits = index.search("ZeRO-3", Level::Exact, 10).expect("search");
        assert!(!hits.is_empty(), "the knowledge base has ZeRO-3 entries");
        for hit in hits {
            assert_eq!(
                hit.matched,
                ["zero3"],
                "{} matched {:?}",
                hit.id,
                hit.matched
            );
        }
    }

    #[test]
    fn levels_round_trip_numbers() {
        for level in Level::ALL {
            assert_eq!(Level::from_number(level.number()), Some(level));
        }
        assert_eq!(Level::from_number(5), None);
    }
}
