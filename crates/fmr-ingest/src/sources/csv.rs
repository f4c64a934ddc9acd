use std::path::Path;

use fmr_core::{Point, Run, Series};

use crate::json;
use crate::source::{ReadOutcome, Source};
use crate::sources::jsonl::{STEP_KEYS, WALL_TIME_KEYS};
use crate::text_util::{
    as_step, as_wall_time, extension, file_name, looks_like_text, parse_number, parse_number_bytes,
    utf8_problem,
};

/// Comma-separated metric tables.
///
/// ## What it reads
/// - PyTorch Lightning `CSVLogger` `metrics.csv`: sparse rows, where an empty
///   cell means "not logged in this row" and the text `nan` is a NaN;
/// - Keras `CSVLogger` (`training.log` in Keras' docs): one row per epoch;
/// - Stable-Baselines3 `progress.csv` and `monitor.csv` (a `#{json}` first line,
///   then `r,l,t` per episode);
/// - TensorBoard's "download CSV" export (`Wall time,Step,Value`);
/// - W&B's chart export (`Step,<run> - <tag>,<run> - <tag>__MIN,...`);
/// - any other CSV with a header row.
///
/// ## How it is recognised
/// A `.csv` file that is text; or, whatever the extension, a first line (after
/// SB3's `#` comment) of two or more column names (starting with a letter or
/// `_`, not numbers, no `: ` or `=`), then a row with as many fields, one of
/// them a number.
///
/// ## Steps and series
/// The step column is the first (case-insensitive) of `step`, `global_step`,
/// `_step`, `time/total_timesteps` (SB3), `timesteps_total`, `iteration`, `iter`,
/// `training_iteration`, `epoch` (Keras); without one, the row index. Lightning's
/// `epoch` column is a series because `step` is the step. `_timestamp`,
/// `timestamp`, `wall_time` / `Wall time` give the wall time. Every other
/// column with at least one number is a series; columns of text are not.
/// Empty cells are skipped; `nan`, `inf`, `-inf`, `Infinity` are values.
/// SB3 `monitor.csv`: step = episode index (0-based, as SB3's `load_results`
/// numbers rows), series `episode/reward` (`r`) and `episode/length` (`l`),
/// wall time = the header's `t_start` + `t`. A TensorBoard export's `Value`
/// column is named after the tag in the file name (`run-x-tag-loss.csv` gives
/// `loss`). A W&B export's columns are named by tag (the `<run> - ` prefix
/// dropped when there is one run) and its `__MIN`/`__MAX` band columns are
/// skipped. A pandas index column (empty header) is skipped; repeated column
/// names get `.1`, `.2` as pandas does.
///
/// ## Problems reported
/// - `line N: expected F fields, found G` (the row is skipped), with
///   `(truncated?)` for a last line cut short;
/// - `column "x": N cells are not numbers (first at line L: "abc")`;
/// - `N rows have no whole-number "step"; each took the step of the row before`;
/// - `not valid UTF-8 at byte B (read with the invalid bytes replaced)`.
pub(crate) struct CsvTable;

impl Source for CsvTable {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn wants(&self, path: &Path) -> bool {
        extension(path) == "csv"
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        looks_like_text(head) && (extension(path) == "csv" || looks_like_csv(head))
    }

    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut outcome = ReadOutcome::default();
        if let Err(error) = std::str::from_utf8(bytes) {
            outcome.problems.push(utf8_problem(error.valid_up_to()));
        }

        // SB3's monitor.csv starts with `#{"t_start": ..., "env_id": ...}`.
        let (monitor_header, body, line_offset) = match bytes.strip_prefix(b"#") {
            Some(rest) => {
                let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                let header = String::from_utf8_lossy(&rest[..end]);
                let body = rest.get(end + 1..).unwrap_or_default();
                (Some(json::parse(header.trim()).ok()), body, 1)
            }
            None => (None, bytes, 0),
        };

        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut record = csv::ByteRecord::new();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Err("no header row".into()),
            Err(error) => return Err(format!("not valid CSV: {error}")),
        }
        let names: Vec<String> = record
            .iter()
            .map(|field| String::from_utf8_lossy(field).trim().to_string())
            .collect();
        let t_start = monitor_header.as_ref().map(|header| {
            header
                .as_ref()
                .and_then(|h| h.get("t_start"))
                .and_then(json::Json::as_f64)
        });
        let layout = Layout::detect(&names, path, t_start);
        outcome.flavor = layout.flavor;

        let width = names.len();
        let unterminated_from = match body.last() {
            Some(b'\n') | None => None,
            Some(_) => Some(body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)),
        };
        let mut columns: Vec<Column> = (0..width).map(|_| Column::default()).collect();
        let mut rows = 0_i64;
        let mut last_step = None;
        let mut stepless_rows = 0_usize;
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    outcome.problems.push(format!("not valid CSV: {error}"));
                    break;
                }
            }
            let position = record.position();
            let line = position.map_or(0, |p| p.line() as usize) + line_offset;
            if record.len() != width {
                let start = position.map_or(0, |p| p.byte() as usize);
                let cut =
                    record.len() < width && unterminated_from.is_some_and(|from| start >= from);
                outcome.problems.push(format!(
                    "line {line}: expected {width} fields, found {}{}",
                    record.len(),
                    if cut { " (truncated?)" } else { "" }
                ));
                continue;
            }

            let step = match layout.step_column {
                Some(column) => match record
                    .get(column)
                    .and_then(parse_number_bytes)
                    .and_then(as_step)
                {
                    Some(step) => {
                        last_step = Some(step);
                        step
                    }
                    None => {
                        stepless_rows += 1;
                        last_step.unwrap_or(rows)
                    }
                },
                None => rows,
            };
            let wall_time = layout.wall_time(&record);
            for (index, column) in columns.iter_mut().enumerate() {
                if layout.tags[index].is_none() {
                    continue;
                }
                let cell = record.get(index).unwrap_or_default().trim_ascii();
                if cell.is_empty() {
                    continue;
                }
                match parse_number_bytes(cell) {
                    Some(value) => column.points.push(Point {
                        step,
                        wall_time,
                        value,
                    }),
                    None => column.note_bad_cell(line, cell),
                }
            }
            rows += 1;
        }

        if stepless_rows > 0 {
            let name = layout.step_column.map_or("step", |c| names[c].as_str());
            outcome.problems.push(format!(
                "{stepless_rows} rows have no whole-number \"{name}\"; each took the step of the row before"
            ));
        }
        for (column, tag) in columns.into_iter().zip(layout.tags) {
            let Some(tag) = tag else { continue };
            if column.points.is_empty() {
                continue; // a text column, or one never logged: not a series
            }
            if let Some((first_line, first_text)) = column.first_bad {
                outcome.problems.push(format!(
                    "column \"{tag}\": {} cells are not numbers (first at line {first_line}: \"{first_text}\")",
                    column.bad_cells
                ));
            }
            run.series.push(Series {
                tag,
                points: column.points,
            });
        }
        Ok(outcome)
    }
}

#[derive(Default)]
struct Column {
    points: Vec<Point>,
    bad_cells: usize,
    first_bad: Option<(usize, String)>,
}

impl Column {
    fn note_bad_cell(&mut self, line: usize, cell: &[u8]) {
        self.bad_cells += 1;
        if self.first_bad.is_none() {
            let text = String::from_utf8_lossy(cell);
            self.first_bad = Some((line, crate::text_util::clip(&text, 40).into_owned()));
        }
    }
}

/// Which column plays which part, decided from the header.
struct Layout {
    step_column: Option<usize>,
    wall_column: Option<usize>,
    /// SB3 monitor: wall time is `t_start + t`, where the header gives `t_start`.
    wall_offset: Option<f64>,
    /// The series tag of each column; `None` for step, wall-time and index columns.
    tags: Vec<Option<String>>,
    flavor: Option<&'static str>,
}

impl Layout {
    /// `monitor` is `Some` for a file that began with SB3's `#` header line,
    /// holding the header's `t_start` when it had one.
    fn detect(names: &[String], path: &Path, monitor: Option<Option<f64>>) -> Self {
        let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let position = |wanted: &str| lower.iter().position(|n| n == wanted);

        if let Some(t_start) = monitor {
            let wall_column = position("t");
            let tags = lower
                .iter()
                .enumerate()
                .map(|(i, name)| match name.as_str() {
                    "t" => None,
                    "r" => Some("episode/reward".to_string()),
                    "l" => Some("episode/length".to_string()),
                    _ => Some(format!("episode/{}", names[i])),
                })
                .collect();
            return Self {
                step_column: None,
                wall_column: t_start.and(wall_column),
                wall_offset: t_start,
                tags,
                flavor: Some("sb3_monitor"),
            };
        }

        if lower == ["wall time", "step", "value"] {
            return Self {
                step_column: Some(1),
                wall_column: Some(0),
                wall_offset: None,
                tags: vec![None, None, Some(tensorboard_export_tag(path))],
                flavor: Some("tensorboard_export"),
            };
        }

        if let Some(tags) = wandb_export_tags(names) {
            return Self {
                step_column: Some(0),
                wall_column: None,
                wall_offset: None,
                tags,
                flavor: Some("wandb_export"),
            };
        }

        let step_column = STEP_KEYS.iter().find_map(|key| position(key));
        let wall_column = WALL_TIME_KEYS
            .iter()
            .chain(&["wall time"])
            .find_map(|key| position(key));
        let mut seen: Vec<&str> = Vec::with_capacity(names.len());
        let tags = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if Some(i) == step_column || Some(i) == wall_column || (i == 0 && name.is_empty()) {
                    return None;
                }
                let base = if name.is_empty() {
                    format!("column_{}", i + 1)
                } else {
                    name.clone()
                };
                let repeats = seen.iter().filter(|&&s| s == name).count();
                seen.push(name);
                Some(if repeats == 0 {
                    base
                } else {
                    format!("{base}.{repeats}")
                })
            })
            .collect();

        let flavor = if position("time/total_timesteps").is_some() {
            Some("sb3_progress")
        } else if file_name(path) == "metrics.csv"
            && position("step").is_some()
            && position("epoch").is_some()
        {
            Some("lightning")
        } else if step_column == Some(0) && lower[0] == "epoch" && extension(path) == "log" {
            Some("keras")
        } else {
            None
        };
        Self {
            step_column,
            wall_column,
            wall_offset: None,
            tags,
            flavor,
        }
    }

    fn wall_time(&self, record: &csv::ByteRecord) -> Option<f64> {
        let cell = record.get(self.wall_column?)?;
        let value = parse_number_bytes(cell)?;
        match self.wall_offset {
            Some(start) => Some(start + value),
            None => as_wall_time(value),
        }
    }
}

/// W&B's "Export CSV" of a chart: `Step,<run> - <tag>,<run> - <tag>__MIN,...`.
/// The `__MIN`/`__MAX` columns bound the smoothing band and are not series;
/// the run prefix is dropped when every column has the same one.
fn wandb_export_tags(names: &[String]) -> Option<Vec<Option<String>>> {
    let (first, rest) = names.split_first()?;
    if first != "Step" || rest.is_empty() || !rest.iter().all(|n| n.contains(" - ")) {
        return None;
    }
    let run_of = |name: &str| {
        name.split_once(" - ")
            .map_or("", |(run, _)| run)
            .to_string()
    };
    let one_run = rest.iter().all(|n| run_of(n) == run_of(&rest[0]));
    let tags = rest.iter().map(|name| {
        if name.ends_with("__MIN") || name.ends_with("__MAX") {
            None
        } else if one_run {
            name.split_once(" - ").map(|(_, tag)| tag.to_string())
        } else {
            Some(name.clone())
        }
    });
    Some(std::iter::once(None).chain(tags).collect())
}

/// TensorBoard names exports `run-<run>-tag-<tag>.csv` (with `/` in the tag
/// replaced by `_`); otherwise the file stem is the best name there is.
fn tensorboard_export_tag(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("value");
    match stem.split_once("-tag-") {
        Some((_, tag)) if !tag.is_empty() => tag.to_string(),
        _ => stem.to_string(),
    }
}

/// Content test for CSV under any name (Keras writes `training.log`).
fn looks_like_csv(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default(),
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut header = lines.next().unwrap_or_default();
    if header.starts_with("#{") {
        header = lines.next().unwrap_or_default();
    }
    let names = split_fields(header);
    let header_ok = names.len() >= 2
        && names
            .iter()
            .enumerate()
            .all(|(i, name)| is_column_name(name) || (i == 0 && name.is_empty()));
    if !header_ok {
        return false;
    }
    let Some(row) = lines.next().filter(|row| !row.trim().is_empty()) else {
        return false;
    };
    let cells = split_fields(row);
    cells.len() == names.len() && cells.iter().any(|cell| parse_number(cell).is_some())
}

fn is_column_name(name: &str) -> bool {
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && name.len() <= 200
        && parse_number(name).is_none()
        && !name.contains(": ")
        && !name.contains("  ")
        && !name.contains('=')
        && !name.contains('{')
}

/// Splits one CSV line into trimmed, unquoted fields (enough for sniffing).
fn split_fields(line: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, byte) in line.bytes().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                fields.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(&line[start..]);
    fields
        .into_iter()
        .map(|f| f.trim().trim_matches('"'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> (Run, ReadOutcome) {
        let mut run = Run::default();
        let outcome = CsvTable
            .read(Path::new(name), text.as_bytes(), &mut run)
            .expect("readable");
        (run, outcome)
    }

    fn values(run: &Run, tag: &str) -> Vec<(i64, f64)> {
        run.series(tag)
            .map(|s| s.points.iter().map(|p| (p.step, p.value)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn lightning_sparse_rows_keep_epoch_as_a_series() {
        let (run, outcome) = read(
            "metrics.csv",
            "epoch,lr,step,train_loss,val_loss\r\n0,0.05,3,0.69,\r\n0,,3,,0.52\r\n1,0.05,7,nan,\r\n",
        );
        assert_eq!(outcome.flavor, Some("lightning"));
        assert!(outcome.problems.is_empty());
        assert_eq!(values(&run, "epoch"), [(3, 0.0), (3, 0.0), (7, 1.0)]);
        assert_eq!(values(&run, "val_loss"), [(3, 0.52)]);
        assert!(values(&run, "train_loss")[1].1.is_nan());
        assert!(run.series("step").is_none());
    }

    #[test]
    fn keras_epoch_column_is_the_step() {
        let (run, outcome) = read(
            "training.log",
            "epoch,loss,lr\r\n0,1.27,0.05\r\n1,nan,0.15\r\n",
        );
        assert_eq!(outcome.flavor, Some("keras"));
        assert_eq!(values(&run, "lr"), [(0, 0.05), (1, 0.15)]);
        assert!(run.series("epoch").is_none());
    }

    #[test]
    fn monitor_rows_are_episodes_with_wall_time() {
        let (run, outcome) = read(
            "monitor.csv",
            "#{\"t_start\": 1000.5, \"env_id\": \"CartPole-v1\"}\nr,l,t\r\n25.0,25,1.5\r\n55.0,55,2.0\r\n",
        );
        assert_eq!(outcome.flavor, Some("sb3_monitor"));
        assert_eq!(values(&run, "episode/reward"), [(0, 25.0), (1, 55.0)]);
        let length = run.series("episode/length").expect("length");
        assert_eq!(length.points[1].wall_time, Some(1002.5));
        assert_eq!(run.series.len(), 2);
    }

    #[test]
    fn tensorboard_exports_take_the_tag_from_the_file_name() {
        let (run, outcome) = read(
            "run-exp1-tag-train_loss.csv",
            "Wall time,Step,Value\n1700000000.5,10,0.5\n1700000001.5,20,0.25\n",
        );
        assert_eq!(outcome.flavor, Some("tensorboard_export"));
        assert_eq!(values(&run, "train_loss"), [(10, 0.5), (20, 0.25)]);
        assert_eq!(
            run.series("train_loss").and_then(|s| s.points[0].wall_time),
            Some(1_700_000_000.5)
        );
    }

    #[test]
    fn wandb_exports_drop_the_run_prefix_and_the_band_columns() {
        let (run, outcome) = read(
            "wandb_export.csv",
            "Step,exp1 - train/loss,exp1 - train/loss__MIN,exp1 - train/loss__MAX\n10,0.5,0.4,0.6\n20,0.25,0.2,0.3\n",
        );
        assert_eq!(outcome.flavor, Some("wandb_export"));
        assert_eq!(values(&run, "train/loss"), [(10, 0.5), (20, 0.25)]);
        assert_eq!(run.series.len(), 1);
        let (run, _) = read("x.csv", "Step,a - loss,b - loss\n1,0.5,0.7\n");
        assert_eq!(values(&run, "b - loss"), [(1, 0.7)]);
    }

    #[test]
    fn without_a_step_column_the_row_index_is_the_step() {
        let (run, _) = read("x.csv", ",loss,name,loss\n7,0.5,a,1\n8,0.25,b,2\n");
        assert_eq!(values(&run, "loss"), [(0, 0.5), (1, 0.25)]);
        assert_eq!(values(&run, "loss.1"), [(0, 1.0), (1, 2.0)]);
        assert!(run.series("name").is_none());
        assert_eq!(run.series.len(), 2);
    }

    #[test]
    fn reports_bad_rows_and_cells_and_keeps_the_rest() {
        let (run, outcome) = read(
            "x.csv",
            "step,loss,acc\n1,0.5,0.1\n2,oops,0.2\n3,0.3\n,0.2,0.3\n5,0.1,0.",
        );
        assert_eq!(values(&run, "loss"), [(1, 0.5), (2, 0.2), (5, 0.1)]);
        assert_eq!(
            values(&run, "acc"),
            [(1, 0.1), (2, 0.2), (2, 0.3), (5, 0.0)]
        );
        assert_eq!(
            outcome.problems,
            [
                "line 4: expected 3 fields, found 2",
                "1 rows have no whole-number \"step\"; each took the step of the row before",
                "column \"loss\": 1 cells are not numbers (first at line 3: \"oops\")",
            ]
        );
        let (_, outcome) = read("x.csv", "step,loss,acc\n1,0.5,0.1\n2,0.");
        assert_eq!(
            outcome.problems,
            ["line 3: expected 3 fields, found 2 (truncated?)"]
        );
    }

    #[test]
    fn blank_lines_are_not_rows() {
        let (run, outcome) = read("x.csv", "step,loss\n1,0.5\n\n2,0.4\n\n");
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        assert_eq!(values(&run, "loss"), [(1, 0.5), (2, 0.4)]);
    }

    #[test]
    fn sniffs_csv_content_but_not_log_lines() {
        let log = Path::new("train.log");
        assert!(CsvTable.sniff(log, b"epoch,loss,lr\r\n0,1.2,0.05\r\n"));
        assert!(CsvTable.sniff(log, b"#{\"t_start\": 1}\nr,l,t\n1.0,1,0.5\n"));
        assert!(!CsvTable.sniff(
            log,
            b"2024-01-01 12:00:00,123 - INFO - start\n2024-01-01 12:00:01,456 - INFO - x\n"
        ));
        assert!(!CsvTable.sniff(log, b"INFO:root:step 1, loss 2\nINFO:root:step 2, loss 1\n"));
        assert!(!CsvTable.sniff(log, b"Using device: cuda, dtype: bf16\nstep 1, loss 2.0\n"));
        assert!(!CsvTable.sniff(log, b"{'loss': 0.5, 'epoch': 1}\n"));
        assert!(!CsvTable.sniff(log, b"Epoch 1/10\n"));
        assert!(CsvTable.sniff(Path::new("anything.csv"), b"just text"));
        assert!(!CsvTable.sniff(Path::new("blob.csv"), b"\0\x01\x02"));
    }
}
