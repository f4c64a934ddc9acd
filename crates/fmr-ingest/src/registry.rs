//! The list of formats, in the order they are tried.

use crate::Source;
use crate::sources::{
    config::ConfigFile, csv::CsvTable, hf_trainer_state::HfTrainerState, jsonl::JsonLines,
    mlflow::MlflowStore, text::TextLog, tfevents::TfEvents, wandb::WandbRun,
};

/// Every format fmr reads. Order matters twice:
/// - sniffing: the first source whose [`Source::sniff`] accepts a file reads it,
///   so specific formats come before the catch-all text log;
/// - merging: within a run, files are read in this order, and when two files
///   log the same metric the earlier (more precise) copy is kept. A
///   `trainer_state.json` beats the console dicts printed from it, JSON lines
///   (full float precision) beat a CSV of the same values, and any structured
///   file beats console text.
pub static SOURCES: &[&dyn Source] = &[
    &MlflowStore,
    &ConfigFile,
    &HfTrainerState,
    &WandbRun,
    &JsonLines,
    &CsvTable,
    &TfEvents,
    &TextLog,
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut seen = HashSet::new();
        for source in SOURCES {
            let name = source.name();
            assert!(seen.insert(name), "duplicate source name {name}");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "source name {name} must be lowercase snake_case"
            );
        }
    }

    #[test]
    fn the_text_log_is_the_last_resort() {
        assert_eq!(SOURCES.last().map(|s| s.name()), Some("text"));
    }

    /// Each format's doc comment is its user documentation (as in ruff), with
    /// the same headings everywhere.
    #[test]
    fn every_source_file_documents_itself_with_the_fixed_headings() {
        const HEADINGS: &[&str] = &[
            "## What it reads",
            "## How it is recognised",
            "## Steps and series",
            "## Problems reported",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sources");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("src/sources exists") {
            let path = entry.expect("readable entry").path();
            let file = if path.is_dir() {
                path.join("mod.rs")
            } else {
                path.clone()
            };
            if file.file_name().is_some_and(|n| n == "mod.rs") && !path.is_dir() {
                continue; // src/sources/mod.rs only lists the modules
            }
            let text = std::fs::read_to_string(&file).expect("readable source file");
            for heading in HEADINGS {
                assert!(
                    text.contains(&format!("/// {heading}")),
                    "{} lacks the doc heading {heading}",
                    file.display()
                );
            }
            checked += 1;
        }
        assert_eq!(
            checked,
            SOURCES.len(),
            "one file per source under src/sources"
        );
    }
}
