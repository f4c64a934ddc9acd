mod events;
mod metrics;

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::LazyLock;

use fmr_core::{Run, TextEvent, TextEventKind};
use regex::Regex;

use crate::source::{ReadOutcome, Source};
use crate::stream::{
    Chunking, Utf8Check, Window, cut_line_problem, lines_of, stream_lines, without_bom,
};
use crate::text_util::{clip, extension, file_name, looks_like_text};
pub(crate) use events::classify_text;
use events::{TRACEBACK_HEADER, classify, is_exception_line};
use metrics::MetricLines;

/// Console output and plain-text logs: stdout/stderr captures, `train.log`,
/// SLURM `.out` files.
///
/// ## What it reads
/// Events, one per line that matters, with its 1-based line number:
/// - `out_of_memory`: CUDA/XLA out-of-memory, `MemoryError`, the OOM killer;
/// - `non_finite`: "NaN detected", "loss is nan", anomaly-mode messages, AMP and
///   DeepSpeed overflow skips, Keras' invalid loss;
/// - `distributed`: NCCL/Gloo/c10d/XLA/collective lines that report an error,
///   timeout or warning, and `DistBackendError`-style exceptions;
/// - `traceback`: the `Traceback (most recent call last):` line; the final
///   exception line follows as its own event, of the kind its text says
///   (`out_of_memory` for a CUDA OOM) or else `traceback`;
/// - `error` and `warning`: log levels (`ERROR`, `WARNING`), exception and
///   Python warning lines (`ValueError: ...`, `UserWarning: ...`), glog `E`/`W` lines.
///
/// Metric series, from the styles trainers print:
/// - Hugging Face Trainer dicts `{'loss': 0.69, 'grad_norm': ..., 'epoch': 0.38}`
///   (4.x numbers with bare `nan`; 5.x quoted strings; `np.float64(...)`);
/// - Keras `Epoch 3/10` followed by `12/12 - 0s - loss: 0.3482 - val_loss: ...`;
/// - `key value` / `key: value` / `key=value` lines with a step counter
///   (`step 100 | loss 2.31 | lr 3e-4`, `iter 200: loss=1.9`, Megatron's
///   `iteration 100/ 1000 | lm loss: 7.1E+00 | loss scale: 65536.0`);
/// - Stable-Baselines3 box tables (`| rollout/ | |`, `|    ep_rew_mean | 25 |`).
///
/// ## How it is recognised
/// Any text file (no NUL bytes, few control characters) that no other format
/// claimed, unless its extension promises a structured format (`.json`,
/// `.csv`, `.yaml`). While walking a directory only `.log`, `.txt`, `.out`, `.err`
/// files and files named `stdout`/`stderr` are opened, minus well-known
/// non-logs (`requirements.txt`, `vocab.txt`, `merges.txt`, licences).
///
/// ## Steps and series
/// Progress bars are read as the terminal showed them: the text after the last
/// `\r` of a line, with ANSI colours and backspaces removed.
/// - HF dicts print no step: the step is the number of training dicts so far,
///   and evaluation and summary dicts share the step of the last training
///   dict. `epoch` is a series.
/// - Keras: the step is the 0-based epoch, as in `CSVLogger`'s file; only the
///   epoch's final line counts, not per-batch redraws.
/// - `key value` lines need a whole-number `step`, `global_step`, `iter` or
///   `iteration` (else `epoch`) and at least one other number; keys are
///   lowercased (`lm loss`), units glued to numbers are dropped (`35.1ms`).
/// - SB3 tables: the step is the table's `time/total_timesteps` (else the
///   table's index); keys are `section/name`.
///
/// A line read as metrics is not also an event: a NaN there is in the series.
///
/// ## Problems reported
/// - `line N: not valid UTF-8 at byte B (read with the invalid bytes replaced)`;
/// - `line N: longer than 64 MiB; only its first 64 MiB were read` (a
///   progress bar redrawn with `\r` for hours without a line end).
///
/// The file is read as a stream, a chunk at a time: memory follows the
/// series and events kept, not the file's size.
pub(crate) struct TextLog;

const EXTENSIONS: &[&str] = &["log", "txt", "out", "err"];
const BARE_NAMES: &[&str] = &["stdout", "stderr", "output"];
/// Text files common in run folders that are not logs.
const NOT_LOGS: &[&str] = &[
    "requirements",
    "vocab",
    "merges",
    "license",
    "licence",
    "readme",
    "notice",
];

/// Extensions that promise a structured format; such a file is never read as text.
const STRUCTURED_EXTENSIONS: &[&str] = &["csv", "json", "jsonl", "ndjson", "yaml", "yml"];

/// Event text is cut to this many bytes: a line can be megabytes of progress bar.
const MAX_EVENT_TEXT: usize = 500;

impl Source for TextLog {
    fn name(&self) -> &'static str {
        "text"
    }

    fn wants(&self, path: &Path) -> bool {
        let name = file_name(path).to_ascii_lowercase();
        if NOT_LOGS.iter().any(|prefix| name.starts_with(prefix)) {
            return false;
        }
        EXTENSIONS.contains(&extension(path).as_str()) || BARE_NAMES.contains(&name.as_str())
    }

    fn sniff(&self, path: &Path, head: &[u8]) -> bool {
        // A broken `.json` is a broken JSON file, not a console log.
        !STRUCTURED_EXTENSIONS.contains(&extension(path).as_str()) && looks_like_text(head)
    }

    fn read(&self, path: &Path, bytes: &[u8], run: &mut Run) -> Result<ReadOutcome, String> {
        read_text_log(path, bytes, Chunking::DEFAULT, run)
    }

    fn read_path(&self, path: &Path, run: &mut Run) -> Result<ReadOutcome, String> {
        let file = File::open(path).map_err(|error| format!("cannot read: {error}"))?;
        read_text_log(path, file, Chunking::DEFAULT, run)
    }
}

/// Reads a console log from `input` a chunk at a time: memory is the
/// stream's buffer, the series and events kept, and the prefix of an open
/// traceback.
pub(crate) fn read_text_log(
    path: &Path,
    input: impl Read,
    chunking: Chunking,
    run: &mut Run,
) -> Result<ReadOutcome, String> {
    let mut reading = Reading {
        file: path.display().to_string(),
        chunking,
        next_line: 1,
        utf8: Utf8Check::default(),
        metrics: MetricLines::default(),
        traceback_prefix: None,
        events: Vec::new(),
        problems: Vec::new(),
    };
    stream_lines(input, chunking, |window| reading.take(window))
        .map_err(|error| format!("cannot read: {error}"))?;
    reading.metrics.finish_into(run);
    run.events.extend(reading.events);
    let mut outcome = ReadOutcome::default();
    outcome.problems.extend(reading.utf8.problem());
    outcome.problems.extend(reading.problems);
    Ok(outcome)
}

/// The state of reading one console log.
struct Reading {
    file: String,
    chunking: Chunking,
    next_line: usize,
    utf8: Utf8Check,
    metrics: MetricLines,
    /// The text before `Traceback` on its line (`[rank0]: `), repeated on
    /// the traceback's other lines, while a traceback is open.
    traceback_prefix: Option<String>,
    events: Vec<TextEvent>,
    problems: Vec<String>,
}

impl Reading {
    fn take(&mut self, window: Window<'_>) -> usize {
        let (bytes, offset) = without_bom(window.bytes, window.offset);
        let text = self.utf8.check(bytes, self.next_line, offset, window.cut);
        for line in lines_of(bytes) {
            let number = self.next_line;
            self.next_line += 1;
            if window.cut && !line.terminated {
                self.problems.push(cut_line_problem(number, self.chunking));
            }
            let content = match text.and_then(|t| t.get(line.start..line.start + line.bytes.len()))
            {
                Some(valid) => Cow::Borrowed(valid),
                None => String::from_utf8_lossy(line.bytes),
            };
            let raw = content.strip_suffix('\r').unwrap_or(&content);
            self.line(number, raw);
        }
        window.bytes.len()
    }

    fn event(&mut self, kind: TextEventKind, line: usize, text: &str) {
        self.events.push(TextEvent {
            kind,
            file: self.file.clone(),
            line,
            text: clip(text.trim(), MAX_EVENT_TEXT).into_owned(),
        });
    }

    fn line(&mut self, number: usize, raw: &str) {
        let shown = as_shown(raw);
        let line = shown.as_ref();

        if let Some(prefix) = self.traceback_prefix.take() {
            let body = line.strip_prefix(prefix.as_str()).unwrap_or(line);
            if body.trim().is_empty() || body.starts_with([' ', '\t']) {
                self.traceback_prefix = Some(prefix); // a frame, still inside
                return;
            }
            if !body.contains(TRACEBACK_HEADER) && is_exception_line(body) {
                let kind = classify(body)
                    .filter(|k| *k != TextEventKind::Error && *k != TextEventKind::Warning);
                self.event(kind.unwrap_or(TextEventKind::Traceback), number, line);
                return;
            }
            // Anything else ends the traceback and is read as a normal line.
        }
        if let Some(at) = line.find(TRACEBACK_HEADER) {
            self.traceback_prefix = Some(line[..at].to_string());
            self.event(TextEventKind::Traceback, number, line);
            return;
        }
        if self.metrics.consume(line) {
            return;
        }
        if let Some(kind) = classify(line) {
            self.event(kind, number, line);
        }
    }
}

/// What a terminal showed for one line: the last non-blank `\r`-separated
/// redraw, without ANSI escapes and backspaces.
fn as_shown(raw: &str) -> Cow<'_, str> {
    static ANSI: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid regex"));
    let needs_cleaning = |s: &str| s.contains(['\x1b', '\x08']);
    if !raw.contains('\r') && !needs_cleaning(raw) {
        return Cow::Borrowed(raw);
    }
    for segment in raw.rsplit('\r') {
        let cleaned: Cow<'_, str> = if needs_cleaning(segment) {
            Cow::Owned(ANSI.replace_all(segment, "").replace('\x08', ""))
        } else {
            Cow::Borrowed(segment)
        };
        if !cleaned.trim().is_empty() {
            return cleaned;
        }
    }
    Cow::Borrowed("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Run {
        let mut run = Run::default();
        let outcome = TextLog
            .read(Path::new("train.log"), text.as_bytes(), &mut run)
            .expect("text reads");
        assert!(outcome.problems.is_empty());
        run
    }

    fn kinds(run: &Run) -> Vec<(usize, TextEventKind)> {
        run.events.iter().map(|e| (e.line, e.kind)).collect()
    }

    #[test]
    fn tracebacks_give_a_header_and_an_exception_event() {
        let run = read(concat!(
            "step 1 loss 2.0\n",
            "[rank0]: Traceback (most recent call last):\n",
            "[rank0]:   File \"train.py\", line 9, in <module>\n",
            "[rank0]:     raise RuntimeError(\"CUDA out of memory\")\n",
            "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB\n",
            "Traceback (most recent call last):\n",
            "  File \"x.py\", line 1, in <module>\n",
            "KeyError: 'lr'\n",
            "done\n",
        ));
        assert_eq!(
            kinds(&run),
            [
                (2, TextEventKind::Traceback),
                (5, TextEventKind::OutOfMemory),
                (6, TextEventKind::Traceback),
                (8, TextEventKind::Traceback),
            ]
        );
        assert_eq!(run.events[3].text, "KeyError: 'lr'");
        assert_eq!(run.events[0].file, "train.log");
        assert_eq!(run.series("loss").map(|s| s.points.len()), Some(1));
    }

    #[test]
    fn a_traceback_cut_off_keeps_its_header() {
        let run = read("Traceback (most recent call last):\n  File \"x.py\", line 1\n");
        assert_eq!(kinds(&run), [(1, TextEventKind::Traceback)]);
    }

    #[test]
    fn progress_bars_are_read_as_shown() {
        assert_eq!(
            as_shown("\r 1/12 [=>..] - loss: 2.7\x08\x08\x08\r12/12 [===] - loss: 1.2"),
            "12/12 [===] - loss: 1.2"
        );
        assert_eq!(
            as_shown("\x1b[1m12/12\x1b[0m \x1b[32mdone\x1b[0m\r   \r"),
            "12/12 done"
        );
        assert_eq!(as_shown("plain"), "plain");
    }

    #[test]
    fn metric_lines_are_not_events() {
        let run =
            read("Epoch 1/1\n12/12 - 0s - loss: nan - val_loss: nan\nloss is nan, stopping\n");
        assert_eq!(kinds(&run), [(3, TextEventKind::NonFinite)]);
        assert!(
            run.series("loss")
                .is_some_and(|s| s.points[0].value.is_nan())
        );
    }

    #[test]
    fn wants_log_names_but_not_known_text_files() {
        for name in ["train.log", "slurm-123.out", "job.err", "stdout", "log.txt"] {
            assert!(TextLog.wants(Path::new(name)), "{name}");
        }
        for name in [
            "requirements.txt",
            "vocab.txt",
            "merges.txt",
            "LICENSE.txt",
            "model.py",
            "ckpt.pt",
        ] {
            assert!(!TextLog.wants(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn chunk_edges_change_nothing_and_bad_bytes_name_their_line() {
        let mut bytes = b"\xEF\xBB\xBFstarting\r\n".to_vec();
        for step in 0..200 {
            bytes.extend_from_slice(
                format!(
                    "step {step} | loss {:.4} | lr 3e-4\n",
                    2.0 / (step as f64 + 1.0)
                )
                .as_bytes(),
            );
            if step == 120 {
                bytes.extend_from_slice(b"[rank0]: Traceback (most recent call last):\n[rank0]:   File \"train.py\", line 9\n[rank0]: RuntimeError: CUDA out of memory\n");
                bytes.extend_from_slice(b"model: caf\xe9 net\n");
            }
        }
        bytes.extend_from_slice(b"WARNING: done without a line end");
        let read_in = |chunk_bytes| {
            let mut run = Run::default();
            let chunking = Chunking {
                chunk_bytes,
                ..Chunking::DEFAULT
            };
            let outcome =
                read_text_log(Path::new("train.log"), bytes.as_slice(), chunking, &mut run);
            (format!("{run:?}"), outcome)
        };
        let whole = read_in(Chunking::DEFAULT.chunk_bytes);
        for chunk_bytes in [1, 5, 64, 1000] {
            assert_eq!(read_in(chunk_bytes), whole, "{chunk_bytes}-byte chunks");
        }
        let outcome = whole.1.expect("readable");
        let bad = bytes.iter().position(|&b| b == 0xe9).expect("the bad byte");
        assert_eq!(
            outcome.problems,
            [format!(
                "line 126: not valid UTF-8 at byte {} (read with the invalid bytes replaced)",
                crate::text_util::group_thousands(bad)
            )]
        );
        let mut run = Run::default();
        TextLog
            .read(Path::new("train.log"), &bytes, &mut run)
            .expect("readable");
        assert_eq!(
            kinds(&run),
            [
                (123, TextEventKind::Traceback),
                (125, TextEventKind::OutOfMemory),
                (206, TextEventKind::Warning)
            ]
        );
        assert_eq!(run.series("loss").map(|s| s.points.len()), Some(200));
    }

    #[test]
    fn an_endless_progress_bar_is_cut_and_read_as_shown() {
        let bar: String = (0..50).map(|i| format!("\r{i}/50 [==>  ]")).collect();
        let text = format!("start\n{bar}\nRuntimeError: boom\n");
        let chunking = Chunking {
            chunk_bytes: 32,
            max_line_bytes: 200,
        };
        let mut run = Run::default();
        let outcome = read_text_log(Path::new("train.log"), text.as_bytes(), chunking, &mut run)
            .expect("readable");
        assert_eq!(
            outcome.problems,
            ["line 2: longer than 200 bytes; only its first 200 bytes were read"]
        );
        assert_eq!(kinds(&run), [(3, TextEventKind::Error)]);
    }
}
