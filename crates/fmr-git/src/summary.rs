//! The code comparison as text, for `fmr diff`.

use std::fmt::Write as _;

use crate::{CodeDiff, CommitSource, RunCommit};

/// Lists longer than these are cut in the text (the JSON has them whole).
const SHOWN_COMMITS: usize = 20;
const SHOWN_FILES: usize = 30;
const SHOWN_CONSTANTS: usize = 50;

impl CodeDiff {
    /// The comparison as lines of text:
    ///
    /// ```text
    /// Code in /src/project:
    /// good run baseline: commit 1a2b3c4 (2024-01-01, Ada: "first version"), recorded in mlflow.tags.mlflow.source.git.commit.
    /// bad run new-lr: commit 5d6e7f8 (2024-01-03, Ada: "raise lr"), recorded in mlflow.tags.mlflow.source.git.commit.
    /// 2 commits from the good run's to the bad run's, newest first:
    ///   5d6e7f8 2024-01-03 Ada: raise lr
    ///   9e8d7c6 2024-01-02 Bob: shorter warmup
    /// 2 files changed:
    ///   train.py +1 -1
    ///   conf/base.yaml +2 -2
    /// Constants changed:
    ///   train.py:12 opt.lr 3e-4 → 1e-3
    ///   conf/base.yaml:4 schedule.warmup_steps 500 → 0
    /// ```
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Code in {}:", self.repository);
        for (side, commit) in [("good", &self.good), ("bad", &self.bad)] {
            if let Some(commit) = commit {
                let _ = writeln!(out, "{side} run {}.", describe_run_commit(commit));
            }
        }
        if self.good.is_some() && self.bad.is_some() && self.good != self.bad {
            commit_list(
                &mut out,
                "from the good run's to the bad run's",
                &self.commits,
            );
            if !self.commits_only_in_good.is_empty() {
                commit_list(
                    &mut out,
                    "only in the good run's history",
                    &self.commits_only_in_good,
                );
            }
            match self.files.len() {
                0 => {
                    let _ = writeln!(out, "No file differs.");
                }
                count => {
                    let _ = writeln!(out, "{count} file{} changed:", plural(count));
                    for file in self.files.iter().take(SHOWN_FILES) {
                        let path = match &file.old_path {
                            Some(old) => format!("{old} → {}", file.path),
                            None => file.path.clone(),
                        };
                        let counts = match (file.added, file.removed) {
                            (Some(added), Some(removed)) => format!("+{added} -{removed}"),
                            _ => "binary".to_owned(),
                        };
                        let _ = writeln!(out, "  {path} {counts}");
                    }
                    more(&mut out, count, SHOWN_FILES);
                }
            }
            if self.constants.is_empty() {
                let _ = writeln!(
                    out,
                    "No constant changed in Python, YAML, JSON, TOML or INI files."
                );
            } else {
                let _ = writeln!(out, "Constants changed:");
                for change in self.constants.iter().take(SHOWN_CONSTANTS) {
                    let _ = writeln!(
                        out,
                        "  {}:{} {} {} → {}",
                        change.file, change.line, change.name, change.old, change.new
                    );
                }
                more(&mut out, self.constants.len(), SHOWN_CONSTANTS);
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "Note: {note}.");
        }
        out
    }
}

fn commit_list(out: &mut String, which: &str, commits: &[crate::Commit]) {
    let count = commits.len();
    let _ = writeln!(
        out,
        "{count} commit{} {which}{}",
        plural(count),
        if count == 0 { "." } else { ", newest first:" }
    );
    for commit in commits.iter().take(SHOWN_COMMITS) {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            commit.short,
            day(&commit.date),
            commit.author,
            commit.subject
        );
    }
    more(out, count, SHOWN_COMMITS);
}

fn more(out: &mut String, count: usize, shown: usize) {
    if count > shown {
        let _ = writeln!(
            out,
            "  ... and {} more (all in --format json)",
            count - shown
        );
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// `2024-03-01` from an ISO 8601 date.
fn day(date: &str) -> &str {
    date.get(..10).unwrap_or(date)
}

fn describe_run_commit(found: &RunCommit) -> String {
    let commit = &found.commit;
    let how = match &found.source {
        CommitSource::Recorded { key, dirty } => format!(
            "recorded in {key}{}",
            if *dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        ),
        CommitSource::Inferred { started, from } => format!(
            "inferred: the last commit on HEAD at or before the run started ({}, from {from})",
            utc(*started)
        ),
    };
    format!(
        "{}: commit {} ({}, {}: \"{}\"), {how}",
        found.run,
        commit.short,
        day(&commit.date),
        commit.author,
        commit.subject
    )
}

/// `2024-03-01 10:00:00 UTC` for a time in seconds since the Unix epoch.
pub(crate) fn utc(epoch_seconds: f64) -> String {
    let total = epoch_seconds.floor() as i64;
    let (days, seconds) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: counted in 400-year eras that start
/// on March 1st, so that the leap day ends a year.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_704_189_600.9), "2024-01-02 10:00:00 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1.0), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn a_diff_without_repository_prints_its_note() {
        let diff = CodeDiff {
            repository: "nowhere".into(),
            notes: vec!["no code comparison: nowhere: no such folder".into()],
            ..CodeDiff::default()
        };
        assert_eq!(
            diff.summary(),
            "Code in nowhere:\nNote: no code comparison: nowhere: no such folder.\n"
        );
    }
}
