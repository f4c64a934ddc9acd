//! The shipped knowledge base is valid, and search finds entries at every level.

use fmr_kb::{KnowledgeBase, Level};

/// The problems `check` finds, as the messages a user reads.
fn problems_of(kb: &KnowledgeBase) -> Vec<String> {
    kb.check().iter().map(|p| p.to_string()).collect()
}

/// Fails unless some problem satisfies `wanted`.
fn assert_reported(problems: &[String], wanted: impl Fn(&str) -> bool) {
    assert!(problems.iter().any(|p| wanted(p)), "{problems:?}");
}

/// Fails if any problem names `file`.
fn assert_clean(problems: &[String], file: &str) {
    assert!(
        !problems.iter().any(|p| p.starts_with(file)),
        "{file} should pass: {problems:?}"
    );
}

#[test]
fn shipped_knowledge_base_passes_check() {
    let kb = KnowledgeBase::embedded();
    let problems = kb.check();
    assert!(
        problems.is_empty(),
        "kb check failed:\n{}",
        problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        kb.len() >= 15,
        "the starter knowledge base needs at least 15 entries, has {}",
        kb.len()
    );
}

#[test]
fn check_reports_each_broken_rule_with_its_file() {
    let good = include_str!("fixtures/FM9001-good.toml");
    let broken = good
        .replace("id = \"FM9001\"", "id = \"FM9002\"")
        .replace("kind = \"non_finite\"", "kind = \"exploding\"");
    let kb = KnowledgeBase::from_texts([
        ("FM9001-good.toml".to_string(), good.to_string()),
        ("FM9002-broken.toml".to_string(), broken),
        ("FM9003-not-toml.toml".to_string(), "id = ".to_string()),
    ]);
    let problems = problems_of(&kb);
    assert_reported(&problems, |p| {
        p.starts_with("FM9003-not-toml.toml: invalid TOML entry")
    });
    assert_reported(&problems, |p| {
        p == "FM9002-broken.toml: signature has unknown symptom kind \"exploding\""
    });
    assert_clean(&problems, "FM9001-good.toml");
}

#[test]
fn presentations_are_checked_and_matched_like_aliases() {
    let good = include_str!("fixtures/FM9001-good.toml");
    let presented = good.replace(
        "aliases = [\"test alias\"]",
        "aliases = [\"test alias\"]\npresentations = [\"samples stay between minus one and one and look like static\"]",
    );
    let too_long = good.replace("id = \"FM9001\"", "id = \"FM9002\"").replace(
        "aliases = [\"test alias\"]",
        &format!(
            "aliases = [\"test alias\"]\npresentations = [\"Test Alias\", \"{}\"]",
            "word ".repeat(40)
        ),
    );
    let kb = KnowledgeBase::from_texts([
        ("FM9001-good.toml".to_string(), presented),
        ("FM9002-long.toml".to_string(), too_long),
    ]);
    let problems = problems_of(&kb);
    assert_reported(&problems, |p| {
        p.starts_with("FM9002-long.toml: presentation") && p.contains("longer than 140")
    });
    assert_reported(&problems, |p| {
        p == "FM9002-long.toml: presentation \"Test Alias\" repeats an alias"
    });
    assert_clean(&problems, "FM9001-good.toml");

    let report =
        "after 3k iterations the samples look like static and stay between minus one and one";
    let stems = fmr_kb::PhraseIndex::text_stems(report);
    let m = kb
        .phrases()
        .best_match("FM9001", &stems)
        .expect("a presentation matches");
    assert!(m.phrase.starts_with("samples stay"), "{m:?}");
    assert!(m.coverage > 0.8, "{m:?}");
    let hits = kb
        .index()
        .unwrap()
        .search(
            "static samples between minus one and one",
            fmr_kb::Level::Exact,
            5,
        )
        .unwrap();
    assert_eq!(hits.first().map(|h| h.id.as_str()), Some("FM9001"));
}

#[test]
fn duplicate_ids_and_dangling_analogies_are_reported() {
    let good = include_str!("fixtures/FM9001-good.toml");
    let dangling = good.replace("id = \"FM9002\"\nnote", "id = \"FM9999\"\nnote");
    let kb = KnowledgeBase::from_texts([
        ("FM9001-good.toml".to_string(), dangling.clone()),
        ("FM9001-again.toml".to_string(), dangling),
    ]);
    let problems = problems_of(&kb);
    assert_reported(&problems, |p| p.contains("duplicate id FM9001"));
    assert_reported(&problems, |p| p.contains("analogy FM9999 does not resolve"));
}

#[test]
fn search_ranks_the_matching_entry_first_at_each_level() {
    let kb = KnowledgeBase::embedded();
    let index = kb.index().expect("index builds");
    let hits = index
        .search(
            "loss becomes nan with fp16 mixed precision overflow",
            Level::Exact,
            5,
        )
        .unwrap();
    assert!(!hits.is_empty());
    let top = kb.get(&hits[0].id).unwrap();
    assert!(
        top.techniques
            .iter()
            .chain(&top.aliases)
            .any(|t| t.to_lowercase().contains("fp16") || t.to_lowercase().contains("precision")),
        "top hit {} is not about fp16: {:?}",
        top.id,
        hits
    );
    for level in Level::ALL {
        let hits = index
            .search("codebook collapse dead codes", level, 3)
            .unwrap();
        assert!(!hits.is_empty(), "no hits at level {level:?}");
    }
    assert!(
        index
            .search("the of and", Level::Exact, 5)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn british_and_american_spellings_find_the_same_entries() {
    let kb = KnowledgeBase::embedded();
    let index = kb.index().expect("index builds");
    let ids = |text: &str| -> Vec<String> {
        index
            .search(text, Level::Exact, 5)
            .unwrap()
            .into_iter()
            .map(|hit| hit.id)
            .collect()
    };
    assert_eq!(
        ids("GPU utilisation sits at 0 while the optimiser waits; normalised, mislabelled data"),
        ids("GPU utilization sits at 0 while the optimizer waits; normalized, mislabeled data"),
    );
    let hit = &index
        .search("low gpu utilisation", Level::Exact, 1)
        .unwrap()[0];
    assert!(
        hit.matched.iter().any(|word| word == "utilization"),
        "{hit:?}"
    );
}

#[test]
fn stats_count_entries_edges_and_sources() {
    let kb = KnowledgeBase::embedded();
    let stats = kb.stats();
    assert_eq!(stats.entries, kb.len());
    let source_total: usize = stats.sources.values().sum();
    assert!(source_total >= 2 * kb.len());
    let domain_total: usize = stats.domains.values().sum();
    assert!(domain_total >= kb.len());
}
