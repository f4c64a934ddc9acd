//! Reading a line-oriented file as a stream of whole lines, a chunk at a
//! time, so that memory follows the chunk and the longest line rather than
//! the file.
//!
//! The CSV, JSON-lines and console-log readers are built on [`stream_lines`]
//! and read an in-memory buffer through the same code (`&[u8]` is a
//! [`Read`]), so reading a file and reading its bytes give the same run.
//!
//! ```text
//! file:    step,loss\n1,0.5\n2,0.4\n3,0.3\n
//! chunks:  [step,loss\n1,0.5\n2,0.]  then  [4\n3,0.3\n]
//! windows: [step,loss\n1,0.5\n]  then  [2,0.4\n3,0.3\n]
//! ```

use std::io::{self, Read};

use crate::text_util::{group_thousands, utf8_problem};

/// How much is read at a time, and how long a line may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunking {
    /// Bytes asked of the input per read; the buffer holds about this much
    /// plus a line carried over.
    pub(crate) chunk_bytes: usize,
    /// A line (or a CSV record spanning lines) longer than this is cut: its
    /// first `max_line_bytes` are read, the rest up to its line end skipped.
    pub(crate) max_line_bytes: usize,
}

impl Chunking {
    /// 4 MiB chunks, lines up to 64 MiB: the buffer takes about 8 MiB per
    /// file being read, and at worst (a 64 MiB line) about 70 MiB, whatever
    /// the file's size.
    pub(crate) const DEFAULT: Chunking = Chunking {
        chunk_bytes: 4 << 20,
        max_line_bytes: 64 << 20,
    };
}

/// Whole lines handed to a reader by [`stream_lines`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    /// Lines, each ending in `\n`, except the file's last line (when
    /// `at_end`) and a cut line (when `cut`).
    pub(crate) bytes: &'a [u8],
    /// File offset of `bytes[0]`.
    pub(crate) offset: u64,
    /// Nothing follows: the reader must take every byte.
    pub(crate) at_end: bool,
    /// The last line (or the record of several lines the reader left for
    /// later) reached the length limit and ends here; the rest of its line
    /// is skipped. The reader must take every byte.
    pub(crate) cut: bool,
}

impl Window<'_> {
    /// Whether the reader must take every byte. Otherwise it may leave the
    /// last bytes for the next window (a CSV record whose quoted field runs
    /// on into lines not read yet).
    pub(crate) fn must_take_all(&self) -> bool {
        self.at_end || self.cut
    }
}

/// Reads `input` to its end, handing `take` windows of whole lines in file
/// order. `take` returns how many leading bytes of the window it used (all
/// of them, unless [`Window::must_take_all`] is false and it waits for more
/// lines); the rest is offered again at the start of the next window.
///
/// Memory: the buffer holds one chunk plus the unused bytes carried over,
/// and a line longer than [`Chunking::max_line_bytes`] is cut, so the
/// buffer never grows beyond `chunk_bytes + max_line_bytes` whatever the
/// input's size.
pub(crate) fn stream_lines(
    mut input: impl Read,
    chunking: Chunking,
    mut take: impl FnMut(Window<'_>) -> usize,
) -> io::Result<()> {
    let chunk_bytes = chunking.chunk_bytes.max(1);
    let max_line = chunking.max_line_bytes.max(1);
    let mut buffer: Vec<u8> = Vec::with_capacity(chunk_bytes);
    // File offset of buffer[0].
    let mut offset = 0_u64;
    // Inside the skipped rest of a cut line.
    let mut skipping = false;
    loop {
        let before = buffer.len();
        buffer.reserve(chunk_bytes);
        let got = (&mut input)
            .take(chunk_bytes as u64)
            .read_to_end(&mut buffer)?;
        let at_end = got == 0;
        if skipping {
            match memchr::memchr(b'\n', &buffer[before..]) {
                Some(at) => {
                    let skipped = before + at + 1;
                    buffer.drain(..skipped);
                    offset += skipped as u64;
                    skipping = false;
                }
                None => {
                    offset += buffer.len() as u64;
                    buffer.clear();
                    if at_end {
                        return Ok(());
                    }
                    continue;
                }
            }
        }
        if at_end {
            if !buffer.is_empty() {
                take(Window {
                    bytes: &buffer,
                    offset,
                    at_end: true,
                    cut: false,
                });
            }
            return Ok(());
        }
        let whole_lines = memchr::memrchr(b'\n', &buffer).map_or(0, |at| at + 1);
        let used = if whole_lines > 0 {
            take(Window {
                bytes: &buffer[..whole_lines],
                offset,
                at_end: false,
                cut: false,
            })
            .min(whole_lines)
        } else {
            0
        };
        buffer.drain(..used);
        offset += used as u64;
        if buffer.len() >= max_line {
            // One line (or one record of several lines) as long as the limit:
            // read its first `max_line` bytes and skip the rest of the line.
            let kept = buffer.len().min(max_line);
            let ends_line = buffer[kept - 1] == b'\n';
            take(Window {
                bytes: &buffer[..kept],
                offset,
                at_end: false,
                cut: true,
            });
            let rest_of_line = if ends_line {
                0
            } else {
                match memchr::memchr(b'\n', &buffer[kept..]) {
                    Some(at) => at + 1,
                    None => {
                        skipping = true;
                        buffer.len() - kept
                    }
                }
            };
            let dropped = kept + rest_of_line;
            buffer.drain(..dropped);
            offset += dropped as u64;
        }
    }
}

/// One line of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// Where the line starts in the window.
    pub(crate) start: usize,
    /// The line without its `\n` (a trailing `\r` is left for the reader).
    pub(crate) bytes: &'a [u8],
    /// Whether a `\n` ended it (not so for a file's last line without one,
    /// or a cut line).
    pub(crate) terminated: bool,
}

/// The lines of a window, in order. A window that ends in `\n` has no empty
/// line after it.
pub(crate) fn lines_of(window: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= window.len() {
            return None;
        }
        let rest = &window[start..];
        let line = match memchr::memchr(b'\n', rest) {
            Some(at) => Line {
                start,
                bytes: &rest[..at],
                terminated: true,
            },
            None => Line {
                start,
                bytes: rest,
                terminated: false,
            },
        };
        start += line.bytes.len() + usize::from(line.terminated);
        Some(line)
    })
}

/// The first invalid UTF-8 in a file read a window at a time, for the
/// problem report.
#[derive(Debug, Default)]
pub(crate) struct Utf8Check {
    first: Option<(usize, u64)>,
}

impl Utf8Check {
    /// Checks `text`, the bytes of line `line` onwards at file offset
    /// `offset`, and returns it as `str` when it is valid. A cut window may
    /// end inside a character; that is not counted as invalid.
    pub(crate) fn check<'a>(
        &mut self,
        text: &'a [u8],
        line: usize,
        offset: u64,
        cut: bool,
    ) -> Option<&'a str> {
        match std::str::from_utf8(text) {
            Ok(valid) => Some(valid),
            Err(error) => {
                let cut_inside_a_character = cut && error.error_len().is_none();
                if self.first.is_none() && !cut_inside_a_character {
                    let before = &text[..error.valid_up_to()];
                    let line = line + memchr::memchr_iter(b'\n', before).count();
                    self.first = Some((line, offset + error.valid_up_to() as u64));
                }
                None
            }
        }
    }

    /// `line N: not valid UTF-8 at byte B (...)`, if any was found.
    pub(crate) fn problem(&self) -> Option<String> {
        self.first
            .map(|(line, offset)| utf8_problem(line, offset as usize))
    }
}

/// `line N: longer than M MiB; only its first M MiB were read`.
pub(crate) fn cut_line_problem(line: usize, chunking: Chunking) -> String {
    let limit = chunking.max_line_bytes;
    let size = if limit >= 1 << 20 && limit.is_multiple_of(1 << 20) {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{} bytes", group_thousands(limit))
    };
    format!("line {line}: longer than {size}; only its first {size} were read")
}

/// Removes a UTF-8 byte-order mark from the first window of a file.
pub(crate) fn without_bom(bytes: &[u8], offset: u64) -> (&[u8], u64) {
    match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) if offset == 0 => (rest, 3),
        _ => (bytes, offset),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every window `stream_lines` hands out for `input`, as
    /// `(text, offset, at_end, cut)`, the reader taking all but what
    /// `keep(window)` says to leave.
    fn windows(
        input: &[u8],
        chunking: Chunking,
        keep: impl Fn(&[u8]) -> usize,
    ) -> Vec<(String, u64, bool, bool)> {
        let mut seen = Vec::new();
        stream_lines(input, chunking, |window| {
            seen.push((
                String::from_utf8_lossy(window.bytes).into_owned(),
                window.offset,
                window.at_end,
                window.cut,
            ));
            if window.must_take_all() {
                window.bytes.len()
            } else {
                window.bytes.len() - keep(window.bytes)
            }
        })
        .expect("reading a slice cannot fail");
        seen
    }

    const SMALL: Chunking = Chunking {
        chunk_bytes: 5,
        max_line_bytes: 12,
    };

    #[test]
    fn hands_out_whole_lines_in_order_across_chunk_edges() {
        let seen = windows(b"ab\ncdefg\nhi\nj", SMALL, |_| 0);
        let text: String = seen.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(text, "ab\ncdefg\nhi\nj");
        for (window, _, at_end, _) in &seen[..seen.len() - 1] {
            assert!(window.ends_with('\n') && !at_end, "{window:?}");
        }
        assert_eq!(seen.last(), Some(&("j".to_string(), 12, true, false)));
        // Offsets follow the text.
        let mut offset = 0;
        for (window, at, _, _) in &seen {
            assert_eq!(*at, offset);
            offset += window.len() as u64;
        }
    }

    #[test]
    fn bytes_left_untaken_come_back_with_the_next_lines() {
        // The reader leaves a line it cannot finish yet (a quoted CSV field
        // running on); it comes back at the start of the next window.
        let seen = windows(b"a\n\"b\nc\"\nd\n", SMALL, |w| {
            if w.ends_with(b"\"b\n") { 3 } else { 0 }
        });
        let texts: Vec<&str> = seen.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(texts, ["a\n\"b\n", "\"b\nc\"\nd\n"]);
        assert_eq!(seen[1].1, 2);
    }

    #[test]
    fn cuts_lines_past_the_limit_and_skips_their_rest() {
        let input = b"short\n0123456789abcdefghij\nnext\n";
        let seen = windows(input, SMALL, |_| 0);
        let cut: Vec<_> = seen.iter().filter(|w| w.3).collect();
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].0, "0123456789ab");
        assert_eq!(cut[0].1, 6);
        let text: String = seen.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(text, "short\n0123456789abnext\n");
        let next = seen.iter().find(|w| w.0.contains("next")).expect("next");
        assert_eq!(next.1, 27, "offsets count the skipped bytes");
    }

    #[test]
    fn a_cut_last_line_without_an_end_is_skipped_to_the_end() {
        let seen = windows(b"x\n0123456789abcdefghijklmnop", SMALL, |_| 0);
        let text: String = seen.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(text, "x\n0123456789ab");
    }

    #[test]
    fn lines_of_a_window_keep_their_starts() {
        let lines: Vec<_> = lines_of(b"a\r\n\nbc")
            .map(|l| (l.start, l.bytes, l.terminated))
            .collect();
        assert_eq!(
            lines,
            [
                (0, &b"a\r"[..], true),
                (3, &b""[..], true),
                (4, &b"bc"[..], false)
            ]
        );
        assert_eq!(lines_of(b"").count(), 0);
        assert_eq!(lines_of(b"x\n").count(), 1);
    }

    #[test]
    fn utf8_check_names_the_line_and_byte_of_the_first_bad_byte() {
        let mut check = Utf8Check::default();
        assert_eq!(check.check(b"ok\n", 1, 0, false), Some("ok\n"));
        assert_eq!(check.check(b"a\nb \xff\n", 2, 3, false), None);
        assert_eq!(check.check(b"\xfe\n", 4, 10, false), None);
        assert_eq!(
            check.problem().as_deref(),
            Some("line 3: not valid UTF-8 at byte 7 (read with the invalid bytes replaced)")
        );
        let mut cut = Utf8Check::default();
        assert_eq!(cut.check(b"ab\xc3", 1, 0, true), None);
        assert_eq!(cut.problem(), None, "a character split by a cut is not bad");
    }

    #[test]
    fn strips_a_bom_only_at_the_start_of_the_file() {
        assert_eq!(without_bom(b"\xEF\xBB\xBFa", 0), (&b"a"[..], 3));
        assert_eq!(without_bom(b"\xEF\xBB\xBFa", 5), (&b"\xEF\xBB\xBFa"[..], 5));
    }

    /// A streaming reader by source name, reading `bytes` with `chunking`.
    fn read_streamed(
        source: &str,
        path: &std::path::Path,
        bytes: &[u8],
        chunking: Chunking,
    ) -> (String, Result<crate::ReadOutcome, String>) {
        let mut run = fmr_core::Run::default();
        let result = match source {
            "csv" => crate::sources::csv::read_table(path, bytes, chunking, &mut run),
            "jsonl" => crate::sources::jsonl::read_json_lines(bytes, chunking, &mut run),
            _ => crate::sources::text::read_text_log(path, bytes, chunking, &mut run),
        };
        (format!("{run:?}"), result)
    }

    fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    /// Every CSV, JSON-lines and console file of the test fixtures and of
    /// the corpus (when present, as in `tests/conformance.rs`) reads the same
    /// from a buffer (`Source::read`), from its path (`Source::read_path`)
    /// and in small chunks whose edges fall inside lines.
    #[test]
    fn streamed_reads_equal_whole_reads_on_fixtures_and_corpus() {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        files_under(&manifest.join("tests/fixtures"), &mut files);
        let corpus = std::env::var_os("FMR_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| manifest.join("../../../shared/corpus"));
        let has_corpus = corpus.join("README.md").is_file();
        assert!(
            has_corpus || std::env::var("FMR_REQUIRE_CORPUS").as_deref() != Ok("1"),
            "corpus not found at {} and FMR_REQUIRE_CORPUS=1",
            corpus.display()
        );
        files_under(&corpus, &mut files);
        files.sort();

        let mut checked = std::collections::BTreeMap::<&str, usize>::new();
        for path in &files {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            let head = &bytes[..bytes.len().min(crate::SNIFF_BYTES)];
            let Some(source) = crate::SOURCES.iter().find(|s| s.sniff(path, head)) else {
                continue;
            };
            let name = source.name();
            if !["csv", "jsonl", "text"].contains(&name) {
                continue;
            }
            let mut whole_run = fmr_core::Run::default();
            let whole = source.read(path, &bytes, &mut whole_run);
            let whole = (format!("{whole_run:?}"), whole);
            let mut path_run = fmr_core::Run::default();
            let by_path = source.read_path(path, &mut path_run);
            assert_eq!(
                (format!("{path_run:?}"), by_path),
                whole,
                "{}: read_path",
                path.display()
            );
            // Tiny chunks on small files, to keep the test quick.
            let tiny = if bytes.len() < 64 * 1024 { 7 } else { 4093 };
            for chunk_bytes in [tiny, 333] {
                let chunking = Chunking {
                    chunk_bytes,
                    ..Chunking::DEFAULT
                };
                assert_eq!(
                    read_streamed(name, path, &bytes, chunking),
                    whole,
                    "{}: {chunk_bytes}-byte chunks",
                    path.display()
                );
            }
            *checked.entry(name).or_default() += 1;
        }
        for name in ["csv", "jsonl", "text"] {
            assert!(checked.get(name).is_some_and(|&n| n >= 2), "{checked:?}");
        }
        if has_corpus {
            assert!(checked.values().sum::<usize>() >= 20, "{checked:?}");
        }
        eprintln!("streamed = whole for {checked:?}");
    }
}
