//! The fixture reader shared by the fixture tests and the precision/recall table.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fmr_core::{Point, Run};

/// Reads the fixture format: `step,<tag>,...`, empty cells unlogged, `nan`/`inf` allowed; rows
/// in logged order (a step may repeat or go backwards). A `<name>.config.json` beside the CSV
/// is the run's config.
pub fn load(path: &Path) -> Run {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    assert_eq!(
        header.first(),
        Some(&"step"),
        "{}: the first column must be `step`",
        path.display()
    );
    let mut run = Run {
        name: stem(path),
        path: relative(path),
        ..Run::default()
    };
    for tag in &header[1..] {
        run.series_mut(tag);
    }
    let config_path = path.with_extension("config.json");
    if let Ok(config) = std::fs::read_to_string(&config_path) {
        run.config = serde_json::from_str(&config)
            .unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
    }
    for (number, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let step: i64 = cells[0]
            .parse()
            .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), number + 2));
        for (tag, cell) in header[1..].iter().zip(&cells[1..]) {
            if cell.is_empty() {
                continue;
            }
            let value: f64 = cell
                .parse()
                .unwrap_or_else(|e| panic!("{}:{}: {cell}: {e}", path.display(), number + 2));
            run.series_mut(tag).points.push(Point {
                step,
                wall_time: None,
                value,
            });
        }
    }
    run
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `S101/nan_after_descent.csv`: the path below `tests/fixtures`, with `/` separators.
pub fn relative(path: &Path) -> String {
    let inner = path.strip_prefix(fixtures_dir()).unwrap_or(path);
    inner
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

pub fn folder(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn all_fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .flatten()
    {
        if dir.path().is_dir() {
            for file in std::fs::read_dir(dir.path())
                .expect("fixture folder")
                .flatten()
            {
                if file.path().extension().is_some_and(|e| e == "csv") {
                    out.push(file.path());
                }
            }
        }
    }
    out.sort();
    out
}
