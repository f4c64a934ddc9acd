//! Phrase matching: how completely the user's words cover one of an entry's
//! practitioner phrasings (its title, aliases and presentations).
//!
//! bm25 over the whole entry rewards an entry for sharing many words with a long
//! report, which favours broad entries whose vocabulary overlaps everything
//! ("fine-tuning", "loss", "model"). An alias is how someone who hit the failure
//! describes it in a few words ("loss scales with gradient_accumulation_steps").
//! When a report contains nearly all of an alias's informative words, that is
//! strong, specific evidence, whatever else the report says. Words are weighed
//! by their rarity across the knowledge base, so covering "loss" and "training"
//! counts for little and covering "accumulation" for much.

use std::collections::{HashMap, HashSet};

use crate::Entry;
use crate::search::query_terms;

/// The best-covered phrasing of one entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseMatch {
    /// The alias (or title) as written in the entry.
    pub phrase: String,
    /// Rarity-weighted share of the phrase's words found in the text, 0..1.
    pub coverage: f64,
    /// The phrase's words that were found, as written in the phrase.
    pub matched: Vec<String>,
    /// Summed rarity (idf) of the matched words: two rare words say more than
    /// two common ones at the same coverage.
    pub information: f64,
}

/// A phrase as written, with its distinct (stem, surface word) pairs.
type Phrase = (String, Vec<(String, String)>);

/// Title and alias word lists of every entry, with word rarities.
#[derive(Debug, Clone, Default)]
pub struct PhraseIndex {
    /// Per entry id: (phrase, its distinct stems with the surface word).
    phrases: HashMap<String, Vec<Phrase>>,
    /// Inverse document frequency of each stem over the entries' full text.
    idf: HashMap<String, f64>,
}

/// Fewest informative words a phrase needs to count: one shared word is not a
/// phrase match.
const MIN_MATCHED: usize = 2;

impl PhraseIndex {
    pub fn build(entries: &[Entry]) -> Self {
        let mut document_frequency: HashMap<String, usize> = HashMap::new();
        for e in entries {
            let text = entry_text(e);
            let stems: HashSet<String> = query_terms(&text).iter().map(|w| stem(w)).collect();
            for s in stems {
                *document_frequency.entry(s).or_default() += 1;
            }
        }
        let n = entries.len().max(1) as f64;
        let idf = document_frequency
            .into_iter()
            .map(|(s, df)| (s, ((n + 1.0) / (df as f64 + 0.5)).ln().max(0.05)))
            .collect();
        let phrases = entries
            .iter()
            .map(|e| {
                let list = std::iter::once(&e.title)
                    .chain(e.phrasings())
                    .map(|p| (p.clone(), phrase_words(p)))
                    .filter(|(_, words)| words.len() >= MIN_MATCHED)
                    .collect();
                (e.id.clone(), list)
            })
            .collect();
        Self { phrases, idf }
    }

    /// Stems of a text, for [`PhraseIndex::best_match`].
    pub fn text_stems(text: &str) -> HashSet<String> {
        query_terms(text).iter().map(|w| stem(w)).collect()
    }

    /// The entry's phrasing best covered by `stems`, if at least two of its
    /// informative words are present.
    pub fn best_match(&self, id: &str, stems: &HashSet<String>) -> Option<PhraseMatch> {
        let mut best: Option<PhraseMatch> = None;
        for (phrase, words) in self.phrases.get(id)? {
            let weight = |s: &str| self.idf.get(s).copied().unwrap_or(3.0);
            let total: f64 = words.iter().map(|(s, _)| weight(s)).sum();
            let found: Vec<&(String, String)> =
                words.iter().filter(|(s, _)| stems.contains(s)).collect();
            if found.len() < MIN_MATCHED || total <= 0.0 {
                continue;
            }
            let information = found.iter().map(|(s, _)| weight(s)).sum::<f64>();
            let coverage = information / total;
            if best
                .as_ref()
                .is_none_or(|b| (coverage, information) > (b.coverage, b.information))
            {
                best = Some(PhraseMatch {
                    phrase: phrase.clone(),
                    coverage,
                    matched: found.iter().map(|(_, w)| w.clone()).collect(),
                    information,
                });
            }
        }
        best
    }
}

impl PhraseIndex {
    /// Rarity-weighted overlap between a text and a set of stems: how much of
    /// what the text says specifically is also in the stems.
    pub fn overlap(&self, text: &str, stems: &HashSet<String>) -> f64 {
        Self::text_stems(text)
            .iter()
            .filter(|s| stems.contains(*s))
            .map(|s| self.idf.get(s).copied().unwrap_or(3.0))
            .sum()
    }
}

fn entry_text(e: &Entry) -> String {
    let mut parts: Vec<&str> = vec![&e.title, &e.summary];
    parts.extend(e.phrasings().map(String::as_str));
    parts.extend(e.causes.iter().map(String::as_str));
    parts.extend(e.techniques.iter().map(String::as_str));
    parts.extend(e.phenomena.iter().map(String::as_str));
    parts.extend(e.signatures.iter().map(|s| s.condition.as_str()));
    parts.join(" ")
}

/// Distinct (stem, word) pairs of a phrase's content words.
fn phrase_words(phrase: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for w in query_terms(phrase) {
        let s = stem(&w);
        if !out.iter().any(|(o, _)| *o == s) {
            out.push((s, w));
        }
    }
    out
}

/// A light English suffix stripper, enough to meet `scales`/`scaled`/`scaling`,
/// `losses`/`loss`, `shuffled`/`shuffling` at one form. It only has to be
/// consistent with itself, not linguistically right.
pub fn stem(word: &str) -> String {
    let mut w = crate::american_word(word).to_lowercase();
    for (suffix, keep) in [
        ("ization", 4),
        ("isation", 4),
        ("ations", 4),
        ("ation", 4),
        ("izing", 4),
        ("ising", 4),
        ("izes", 4),
        ("ises", 4),
        ("ized", 4),
        ("ised", 4),
        ("ize", 4),
        ("ise", 4),
        ("ings", 4),
        ("ing", 4),
        ("ies", 3),
        ("ied", 3),
        ("ly", 4),
        ("ed", 4),
        ("es", 4),
    ] {
        if w.len() >= suffix.len() + keep && w.ends_with(suffix) {
            w.truncate(w.len() - suffix.len());
            if suffix == "ies" || suffix == "ied" {
                w.push('y');
            }
            break;
        }
    }
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
        w.pop();
    }
    if w.len() > 4 && w.ends_with('e') {
        w.pop();
    }
    // Doubled final consonant after stripping (`stopped` → `stopp` → `stop`).
    let bytes = w.as_bytes();
    if w.len() > 4
        && bytes[bytes.len() - 1] == bytes[bytes.len() - 2]
        && !matches!(bytes[bytes.len() - 1], b's' | b'l' | b'z')
        && bytes[bytes.len() - 1].is_ascii_alphabetic()
    {
        w.pop();
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet_at_one_form() {
        for group in [
            &["scale", "scales", "scaled", "scaling"][..],
            &["shuffle", "shuffled", "shuffling", "shuffles"],
            &["loss", "losses"],
            &["normalization", "normalize", "normalized"],
            &["stop", "stopped", "stopping", "stops"],
            &["random", "randomly"],
            &["behaviour", "behavior"],
            &["colour", "colors", "color"],
            &["optimiser", "optimizer", "optimizers"],
        ] {
            let stems: HashSet<String> = group.iter().map(|w| stem(w)).collect();
            assert_eq!(stems.len(), 1, "{group:?} → {stems:?}");
        }
        assert_eq!(stem("classes"), stem("class"));
    }

    #[test]
    fn an_alias_covered_by_the_report_matches_and_a_lone_word_does_not() {
        let kb = crate::KnowledgeBase::embedded();
        let index = PhraseIndex::build(kb.entries());
        let report = "with gradient_accumulation_steps=4 the reported loss is scaled up by the accumulation factor";
        let stems = PhraseIndex::text_stems(report);
        let m = index.best_match("FM0011", &stems).expect("FM0011 phrase");
        assert!(m.coverage > 0.8, "{m:?}");
        assert!(m.matched.contains(&"accumulation".to_string()));

        let lone = PhraseIndex::text_stems("the accumulation of errors");
        assert!(
            index
                .best_match("FM0011", &lone)
                .is_none_or(|m| m.coverage < 0.5),
            "one shared word is not a phrase"
        );
    }
}
