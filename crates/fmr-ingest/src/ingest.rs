//! Reading candidate files into runs: sniffing, merging files of one folder,
//! naming runs.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use fmr_core::{InputProblem, Run, Series};

use rayon::prelude::*;

use crate::json;
use crate::registry::SOURCES;
use crate::source::{ReadOutcome, SNIFF_BYTES, Source};
use crate::text_util::{extension, file_name};
use crate::walk::{self, Candidate, problem};

/// What [`ingest`] read: the runs, and every input it could not use, with why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ingested {
    /// Sorted by path.
    pub runs: Vec<Run>,
    /// In the order the inputs were met.
    pub problems: Vec<InputProblem>,
}

/// Extensions of files that are expected to be logs: one of these that no
/// format recognises is reported, while other files met while walking a
/// directory (images, checkpoints) are passed over silently.
const LOG_EXTENSIONS: &[&str] = &[
    "csv", "json", "jsonl", "ndjson", "log", "txt", "yaml", "yml",
];

const UNRECOGNISED: &str = "format not recognised (not CSV, JSON lines, trainer_state.json, TensorBoard events, W&B, MLflow or a text log)";

/// A file with more problems than this reports the first ones and a count.
const MAX_PROBLEMS_PER_FILE: usize = 20;

/// Reads training logs under `paths` (files, or directories walked
/// recursively) into runs, one per folder. Never panics on bad input; every
/// unusable input is an entry of [`Ingested::problems`].
///
/// Files are sniffed and read in parallel (rayon); runs are then assembled
/// in a fixed order, so the result does not depend on thread timing.
pub fn ingest(paths: &[PathBuf]) -> Ingested {
    let mut problems = Vec::new();
    let candidates = walk::collect(paths, &mut problems);
    let examined: Vec<Examined> = candidates.into_par_iter().map(examine).collect();

    let mut groups: BTreeMap<PathBuf, Vec<Examined>> = BTreeMap::new();
    for file in examined {
        groups
            .entry(file.candidate.group.clone())
            .or_default()
            .push(file);
    }
    let mut drafts: Vec<Draft> = groups
        .into_iter()
        .filter_map(|(folder, files)| assemble(folder, files, &mut problems))
        .collect();

    name_runs(&mut drafts);
    let mut runs: Vec<Run> = drafts.into_iter().map(|d| d.run).collect();
    runs.sort_by(|a, b| Path::new(&a.path).cmp(Path::new(&b.path)));

    for root in paths.iter().filter(|p| p.is_dir()) {
        let under_root = |path: &str| Path::new(path).starts_with(root);
        let seen = runs.iter().any(|r| under_root(&r.path))
            || problems.iter().any(|p| under_root(&p.path));
        if !seen {
            problems.push(problem(root, "no training logs found"));
        }
    }
    Ingested { runs, problems }
}

/// A run being assembled from the files of one folder.
pub(crate) struct Draft {
    pub(crate) run: Run,
    pub(crate) folder: PathBuf,
    /// The run is one file the user named directly.
    pub(crate) lone_file: Option<PathBuf>,
    /// The name the run's own files give it (an MLflow run name).
    pub(crate) own_name: Option<String>,
}

/// One recognised file: the rank of its format in [`SOURCES`], where it is,
/// and what reading it gave.
pub(crate) type ReadFile = (usize, Candidate, Result<(Run, ReadOutcome), String>);

/// What sniffing a candidate file decided.
pub(crate) enum Sniffed {
    /// Nothing (or only whitespace) in it yet, with the reason.
    Empty(String),
    /// Not usable, with the reason.
    Problem(String),
    /// Not a log, and not worth a word (an image met while walking).
    Passed,
    /// Recognised by `SOURCES[rank]`.
    Format(usize),
}

/// One candidate file after sniffing and, when recognised, reading.
struct Examined {
    candidate: Candidate,
    verdict: Verdict,
}

enum Verdict {
    /// Not usable, with the reason.
    Problem(String),
    /// Not a log, and not worth a word (an image met while walking).
    Passed,
    /// Recognised by `SOURCES[rank]` and read.
    Read {
        rank: usize,
        result: Result<(Run, ReadOutcome), String>,
    },
}

fn examine(candidate: Candidate) -> Examined {
    let verdict = sniff_and_read(&candidate);
    Examined { candidate, verdict }
}

fn sniff_and_read(candidate: &Candidate) -> Verdict {
    let rank = match sniff(candidate).0 {
        Sniffed::Empty(reason) | Sniffed::Problem(reason) => return Verdict::Problem(reason),
        Sniffed::Passed => return Verdict::Passed,
        Sniffed::Format(rank) => rank,
    };
    let mut part = Run::default();
    let result = SOURCES[rank]
        .read_path(&candidate.path, &mut part)
        .map(|outcome| (part, outcome));
    Verdict::Read { rank, result }
}

/// Which format reads `candidate`, judged on its first [`SNIFF_BYTES`], and
/// how many bytes that head had (a growing file's verdict can change until
/// its head is full).
pub(crate) fn sniff(candidate: &Candidate) -> (Sniffed, usize) {
    let head = match read_head(&candidate.path) {
        Ok(head) => head,
        Err(error) => return (Sniffed::Problem(format!("cannot read: {error}")), 0),
    };
    if head.is_empty() {
        return (Sniffed::Empty("empty file".into()), 0);
    }
    if head.len() < SNIFF_BYTES && head.iter().all(u8::is_ascii_whitespace) {
        return (
            Sniffed::Empty("empty file (only whitespace)".into()),
            head.len(),
        );
    }
    let verdict = match SOURCES
        .iter()
        .position(|source| source.sniff(&candidate.path, &head))
    {
        Some(rank) => Sniffed::Format(rank),
        None => match unrecognised(candidate) {
            Some(reason) => Sniffed::Problem(reason),
            None => Sniffed::Passed,
        },
    };
    (verdict, head.len())
}

fn assemble(
    folder: PathBuf,
    files: Vec<Examined>,
    problems: &mut Vec<InputProblem>,
) -> Option<Draft> {
    let mut recognised = Vec::new();
    for file in files {
        match file.verdict {
            Verdict::Problem(reason) => problems.push(problem(&file.candidate.path, reason)),
            Verdict::Passed => {}
            Verdict::Read { rank, result } => recognised.push((rank, file.candidate, result)),
        }
    }
    assemble_read(folder, recognised, problems)
}

/// Merges the recognised files of one folder into its run (in registry
/// order, joining files of one format first), or `None` when they hold no
/// logs. Shared by [`ingest`] and [`crate::follow`], so that a followed run
/// is assembled exactly as a fresh read would assemble it.
pub(crate) fn assemble_read(
    folder: PathBuf,
    mut recognised: Vec<ReadFile>,
    problems: &mut Vec<InputProblem>,
) -> Option<Draft> {
    // Registry order, so that the most precise copy of a metric is merged first.
    recognised.sort_by(|(ra, a, _), (rb, b, _)| ra.cmp(rb).then_with(|| a.path.cmp(&b.path)));
    let lone_file = match recognised.as_slice() {
        [(_, only, _)] if only.explicit => Some(only.path.clone()),
        _ => None,
    };

    let mut run = Run::default();
    let mut has_logs = false;
    let mut own_name = None;
    let mut pending: Vec<(PathBuf, Run)> = Vec::new();
    let mut pending_rank = None;
    for (rank, candidate, result) in recognised {
        let source = SOURCES[rank];
        if pending_rank != Some(rank) {
            if let Some(previous) = pending_rank {
                merge_joined(&mut run, SOURCES[previous], std::mem::take(&mut pending));
            }
            pending_rank = Some(rank);
        }
        let (part, outcome) = match result {
            Ok(read) => read,
            Err(reason) => {
                problems.push(problem(&candidate.path, reason));
                continue;
            }
        };
        report_capped(&candidate.path, outcome.problems, problems);
        let found_something =
            !part.series.is_empty() || !part.events.is_empty() || !part.config.is_empty();
        let is_config = source.name() == "config";
        // A text file with nothing in it (a vocabulary list met while walking)
        // is not a log; a metrics file is one even when it holds no rows yet.
        let counts =
            found_something || candidate.explicit || !(is_config || source.name() == "text");
        if counts {
            // Settings alone do not make a run, unless the user named the file.
            has_logs |= !is_config || candidate.explicit;
            let format = match outcome.flavor {
                Some(flavor) => format!("{}:{flavor}", source.name()),
                None => source.name().to_string(),
            };
            if !run.formats.contains(&format) {
                run.formats.push(format);
            }
        }
        if own_name.is_none() {
            own_name = outcome.run_name;
        }
        pending.push((candidate.path, part));
    }
    if let Some(rank) = pending_rank {
        merge_joined(&mut run, SOURCES[rank], pending);
    }
    if !has_logs {
        return None;
    }
    run.path = match &lone_file {
        Some(file) => file.display().to_string(),
        None => folder.display().to_string(),
    };
    Some(Draft {
        run,
        folder,
        lone_file,
        own_name,
    })
}

/// Lets the source join its files (event files of a restarted run), then
/// merges what it returns into the run.
fn merge_joined(run: &mut Run, source: &dyn Source, parts: Vec<(PathBuf, Run)>) {
    if parts.is_empty() {
        return;
    }
    for (path, part) in source.join(parts) {
        merge(run, part, &path);
    }
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES.min(8192));
    fs::File::open(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// Why a file no format recognised is worth reporting, if it is.
fn unrecognised(candidate: &Candidate) -> Option<String> {
    let ext = extension(&candidate.path);
    if !candidate.explicit && ext == "json" {
        // Run folders hold plenty of JSON that is not a log (tokenizer files,
        // `all_results.json`); only a broken one is worth a word.
        broken_json(&candidate.path)
    } else if candidate.explicit || LOG_EXTENSIONS.contains(&ext.as_str()) {
        Some(UNRECOGNISED.to_string())
    } else {
        None
    }
}

fn broken_json(path: &Path) -> Option<String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => return Some(format!("cannot read: {error}")),
    };
    let text = String::from_utf8_lossy(&bytes);
    let error = json::parse(&text).err()?;
    if error.at_end {
        return Some("not valid JSON: the file ends mid-document (truncated?)".into());
    }
    let (line, column) = error.line_column(&text);
    Some(format!(
        "not valid JSON ({error} at line {line}, column {column})"
    ))
}

fn report_capped(path: &Path, found: Vec<String>, problems: &mut Vec<InputProblem>) {
    let extra = found.len().saturating_sub(MAX_PROBLEMS_PER_FILE);
    problems.extend(
        found
            .into_iter()
            .take(MAX_PROBLEMS_PER_FILE)
            .map(|p| problem(path, p)),
    );
    if extra > 0 {
        problems.push(problem(
            path,
            format!("and {extra} more problems in this file"),
        ));
    }
}

/// Adds one file's reading to its run. When a metric is already there from an
/// earlier (more precise) file, a copy of it is dropped: the console dicts
/// the Trainer printed from `trainer_state.json`, SB3's `progress.csv` beside
/// `progress.json`. A same-named metric that differs is kept, renamed
/// `<file stem>/<tag>`, so nothing is lost.
fn merge(run: &mut Run, part: Run, path: &Path) {
    for series in part.series {
        match run.series.iter().find(|s| s.tag == series.tag) {
            None => run.series.push(series),
            Some(existing) if is_copy(existing, &series) => {}
            Some(_) => {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
                let renamed = [
                    format!("{stem}/{}", series.tag),
                    format!("{}/{}", file_name(path), series.tag),
                ]
                .into_iter()
                .find(|tag| run.series(tag).is_none());
                if let Some(tag) = renamed {
                    run.series.push(Series {
                        tag,
                        points: series.points,
                    });
                }
            }
        }
    }
    run.events.extend(part.events);
    for (key, value) in part.config {
        run.config.entry(key).or_insert(value);
    }
}

/// The same values, allowing for console rounding (4 decimals in Keras and
/// HF 4.x, 2 for HF's `epoch`, `.3g` in SB3 tables).
fn is_copy(kept: &Series, other: &Series) -> bool {
    kept.points.len() == other.points.len()
        && kept.points.iter().zip(&other.points).all(|(a, b)| {
            let (a, b) = (a.value, b.value);
            (a.is_nan() && b.is_nan())
                || a == b
                || (a - b).abs() <= 5e-3 * a.abs().max(b.abs()) + 5e-3
        })
}

/// Folder names that say nothing about the run of a lone file in them.
const UNHELPFUL_FOLDERS: &[&str] = &[
    "", ".", "..", "files", "log", "logs", "out", "output", "outputs", "results", "runs", "tmp",
];

/// Names each run by its folder; where two folders share a name, by as many
/// trailing folders as it takes to tell them apart (`transformers_4.46.3/healthy`).
pub(crate) fn name_runs(drafts: &mut [Draft]) {
    let parts: Vec<Vec<String>> = drafts.iter().map(name_parts).collect();
    let mut depth = vec![1_usize; drafts.len()];
    let name_at = |i: usize, depth: &[usize]| {
        let all = &parts[i];
        all[all.len().saturating_sub(depth[i])..].join("/")
    };
    loop {
        let names: Vec<String> = (0..drafts.len()).map(|i| name_at(i, &depth)).collect();
        let mut grew = false;
        for i in 0..drafts.len() {
            let clash = names
                .iter()
                .enumerate()
                .any(|(j, n)| j != i && *n == names[i]);
            if clash && depth[i] < parts[i].len() {
                depth[i] += 1;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for (i, draft) in drafts.iter_mut().enumerate() {
        let name = name_at(i, &depth);
        let count = taken.entry(name.clone()).or_insert(0);
        *count += 1;
        draft.run.name = if *count == 1 {
            name
        } else {
            format!("{name} ({count})")
        };
    }
}

fn name_parts(draft: &Draft) -> Vec<String> {
    let mut parts = normal_components(&draft.folder);
    if let Some(name) = &draft.own_name {
        // The run's own name stands for its folder (an MLflow run id).
        match parts.last_mut() {
            Some(last) => *last = name.clone(),
            None => parts.push(name.clone()),
        }
        return parts;
    }
    if parts.is_empty() {
        // `.` or `..`: the name is in the absolute path.
        if let Ok(absolute) = fs::canonicalize(&draft.folder) {
            parts = normal_components(&absolute);
        }
    }
    if let Some(file) = &draft.lone_file {
        let helpful = parts
            .last()
            .is_some_and(|p| !UNHELPFUL_FOLDERS.contains(&p.to_ascii_lowercase().as_str()));
        if !helpful {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            return vec![stem];
        }
    }
    if parts.is_empty() {
        parts.push("run".to_string());
    }
    parts
}

fn normal_components(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use fmr_core::Point;

    use super::*;

    fn series(tag: &str, values: &[f64]) -> Series {
        Series {
            tag: tag.into(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &value)| Point {
                    step: i as i64,
                    wall_time: None,
                    value,
                })
                .collect(),
        }
    }

    #[test]
    fn console_copies_are_dropped_and_different_series_renamed() {
        let mut run = Run::default();
        merge(
            &mut run,
            Run {
                series: vec![
                    series("loss", &[0.69491, f64::NAN]),
                    series("epoch", &[0.3846, 0.7692]),
                ],
                ..Run::default()
            },
            Path::new("trainer_state.json"),
        );
        let console = Run {
            series: vec![
                series("loss", &[0.6949, f64::NAN]),
                series("epoch", &[0.38, 0.77]),
                series("lr", &[0.1, 0.2]),
            ],
            ..Run::default()
        };
        merge(&mut run, console, Path::new("stdout.log"));
        let tags: Vec<_> = run.series.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(tags, ["loss", "epoch", "lr"]);

        let longer = Run {
            series: vec![series("loss", &[0.6949, f64::NAN, 0.0])],
            ..Run::default()
        };
        merge(&mut run, longer, Path::new("stdout.log"));
        assert!(
            run.series("stdout/loss")
                .is_some_and(|s| s.points.len() == 3)
        );
    }

    #[test]
    fn a_flood_of_problems_is_summarised() {
        let mut problems = Vec::new();
        let found = (1..=25).map(|n| format!("line {n}: bad")).collect();
        report_capped(Path::new("x.csv"), found, &mut problems);
        assert_eq!(problems.len(), MAX_PROBLEMS_PER_FILE + 1);
        assert_eq!(problems[19].problem, "line 20: bad");
        assert_eq!(problems[20].problem, "and 5 more problems in this file");
    }

    fn draft(folder: &str, lone_file: Option<&str>) -> Draft {
        Draft {
            run: Run::default(),
            folder: folder.into(),
            lone_file: lone_file.map(PathBuf::from),
            own_name: None,
        }
    }

    #[test]
    fn names_are_folders_made_unique_by_their_parents() {
        let mut drafts = vec![
            draft("corpus/transformers_4.46.3/healthy", None),
            draft("corpus/transformers_5.24.0/healthy", None),
            draft("lightning_logs/version_0", None),
            draft("logs", Some("logs/train.log")),
            draft("exp7", Some("exp7/stdout.log")),
            draft("a/logs", Some("a/logs/train.log")),
        ];
        name_runs(&mut drafts);
        let names: Vec<_> = drafts.iter().map(|d| d.run.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "transformers_4.46.3/healthy",
                "transformers_5.24.0/healthy",
                "version_0",
                "train",
                "exp7",
                "train (2)",
            ]
        );
    }
}
