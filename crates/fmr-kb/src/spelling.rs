//! British spellings rewritten to American ones before full-text indexing and
//! querying.
//!
//! The FTS5 porter stemmer keeps the two apart ("optimiser" stems to `optimis`,
//! "optimizer" to `optim`; "labelled" to `labell`, "labeled" to `label`), so a
//! report written in British English missed entries written in American English
//! and the other way round. Both the index and every query go through
//! [`american_spelling`], which rewrites only words it knows: a guessed rule
//! ("-ise" → "-ize" everywhere) would turn "noise" or "promise" into nonsense.

use std::borrow::Cow;

/// Stems that take -ise/-ize (optim-ise, token-ise, normal-ise, …).
const IZE_STEMS: &[&str] = &[
    "amort",
    "anonym",
    "apolog",
    "author",
    "binar",
    "canonical",
    "capital",
    "categor",
    "central",
    "character",
    "critic",
    "custom",
    "digit",
    "discret",
    "emphas",
    "equal",
    "factor",
    "final",
    "general",
    "harmon",
    "homogen",
    "hypothes",
    "initial",
    "lemmat",
    "linear",
    "local",
    "marginal",
    "material",
    "maxim",
    "memor",
    "minim",
    "mobil",
    "modern",
    "normal",
    "optim",
    "organ",
    "parallel",
    "parameter",
    "penal",
    "personal",
    "polar",
    "prior",
    "quant",
    "random",
    "rational",
    "real",
    "recogn",
    "regular",
    "sanit",
    "serial",
    "special",
    "stabil",
    "standard",
    "summar",
    "symbol",
    "synchron",
    "synthes",
    "token",
    "util",
    "vector",
    "visual",
];

/// Endings after the stem: British on the left, American on the right.
const IZE_ENDINGS: &[(&str, &str)] = &[
    ("isations", "izations"),
    ("isation", "ization"),
    ("isers", "izers"),
    ("iser", "izer"),
    ("ising", "izing"),
    ("ised", "ized"),
    ("ises", "izes"),
    ("ise", "ize"),
];

/// Stems that double a final l in British English (label-led, model-ling).
const DOUBLED_L_STEMS: &[&str] = &[
    "cancel", "channel", "fuel", "funnel", "label", "level", "model", "signal", "total", "travel",
    "tunnel",
];

/// Whole-word spellings that no ending rule covers.
const WORDS: &[(&str, &str)] = &[
    ("analyse", "analyze"),
    ("analysed", "analyzed"),
    ("analysing", "analyzing"),
    ("artefact", "artifact"),
    ("artefacts", "artifacts"),
    ("behaviour", "behavior"),
    ("behaviours", "behaviors"),
    ("behavioural", "behavioral"),
    ("catalogue", "catalog"),
    ("centre", "center"),
    ("centred", "centered"),
    ("centres", "centers"),
    ("colour", "color"),
    ("colours", "colors"),
    ("defence", "defense"),
    ("favour", "favor"),
    ("fibre", "fiber"),
    ("grey", "gray"),
    ("greyscale", "grayscale"),
    ("judgement", "judgment"),
    ("learnt", "learned"),
    ("licence", "license"),
    ("neighbour", "neighbor"),
    ("neighbours", "neighbors"),
    ("neighbourhood", "neighborhood"),
    ("paralyse", "paralyze"),
    ("programme", "program"),
];

/// The word in American spelling, or the word itself when it is not a British
/// spelling this module knows. Case is kept for the letters that stay.
pub fn american_word(word: &str) -> Cow<'_, str> {
    let lower = word.to_ascii_lowercase();
    if let Some((_, american)) = WORDS.iter().find(|(british, _)| *british == lower) {
        return Cow::Owned((*american).to_string());
    }
    for (british, american) in IZE_ENDINGS {
        // `ends_with`, so prefixed forms ("reinitialise", "unnormalised") count.
        if let Some(stem) = lower.strip_suffix(british)
            && IZE_STEMS.iter().any(|known| stem.ends_with(known))
        {
            return Cow::Owned(format!("{}{american}", &word[..stem.len()]));
        }
    }
    for (british, american) in [("lled", "led"), ("lling", "ling"), ("ller", "ler")] {
        if let Some(rest) = lower.strip_suffix(british)
            && DOUBLED_L_STEMS
                .iter()
                .any(|known| format!("{rest}l").ends_with(known))
        {
            return Cow::Owned(format!("{}{american}", &word[..rest.len()]));
        }
    }
    Cow::Borrowed(word)
}

/// `text` with every British spelling [`american_word`] knows rewritten; other
/// characters, including punctuation and spacing, are kept as they are.
pub fn american_spelling(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut changed = false;
    let mut word_start = None;
    let ends = text
        .char_indices()
        .map(|(i, c)| (i, c.is_ascii_alphabetic()))
        .chain(std::iter::once((text.len(), false)));
    for (i, is_letter) in ends {
        match (word_start, is_letter) {
            (None, true) => word_start = Some(i),
            (Some(start), false) => {
                word_start = None;
                let word = &text[start..i];
                if let Cow::Owned(american) = american_word(word) {
                    out.push_str(&text[copied..start]);
                    out.push_str(&american);
                    copied = i;
                    changed = true;
                }
            }
            _ => {}
        }
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_british_ml_vocabulary() {
        assert_eq!(
            american_spelling("The optimiser and tokeniser were initialised; GPU utilisation 0%."),
            "The optimizer and tokenizer were initialized; GPU utilization 0%."
        );
        assert_eq!(
            american_spelling("mislabelled data, modelling colour artefacts, behaviour"),
            "mislabeled data, modeling color artifacts, behavior"
        );
        assert_eq!(
            american_spelling("Normalisation layers"),
            "Normalization layers"
        );
    }

    #[test]
    fn leaves_other_words_alone() {
        for text in [
            "noise rises, a promise, otherwise precise",
            "the compelled and expelled",
            "analyses of the loss",
            "American spelling: optimizer, normalized, labeled",
        ] {
            assert!(
                matches!(american_spelling(text), Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn words_inside_identifiers_and_non_ascii_text_survive() {
        assert_eq!(
            american_spelling("normalise_inputs()"),
            "normalize_inputs()"
        );
        assert_eq!(american_spelling("café — optimise"), "café — optimize");
    }
}
