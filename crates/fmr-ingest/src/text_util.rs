//! Small helpers shared by the readers: number parsing, UTF-8 decoding, line
//! splitting and the wording of byte offsets in problem messages.

use std::borrow::Cow;

/// Parses one number cell or token the way Python writes floats.
///
/// Accepts `nan`, `NaN`, `inf`, `-inf`, `Infinity` and `-Infinity` (Rust's own
/// parser takes these case-insensitively) and surrounding whitespace; returns
/// `None` for empty or non-numeric text. Correctly rounded, so `repr(float)`
/// output reads back to the same f64.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    parse_float(text)
}

/// Parses an already trimmed number (`f64::from_str`, which takes Python's
/// spellings `nan`, `inf`, `Infinity` in any case, and is correctly rounded).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

/// A float that is a whole number in i64 range, as a step.
pub(crate) fn as_step(value: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (value.is_finite() && value.fract() == 0.0 && value.abs() < LIMIT).then_some(value as i64)
}

/// Seconds since the epoch from a logged timestamp; milliseconds are detected by
/// size (1e11 s is the year 5138, 1e11 ms is 1973).
pub(crate) fn as_wall_time(value: f64) -> Option<f64> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    Some(if value > 1e11 { value / 1000.0 } else { value })
}

/// `1234567` as `1,234,567`, for byte offsets and counts in messages.
pub(crate) fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The file as text. Invalid UTF-8 is replaced rather than refused, so one bad
/// byte does not hide a whole log, and the second value says where it was
/// (line, and byte offset in the file, a byte-order mark included).
pub(crate) fn decode_utf8(bytes: &[u8]) -> (Cow<'_, str>, Option<String>) {
    let (text, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    match std::str::from_utf8(text) {
        Ok(valid) => (Cow::Borrowed(valid), None),
        Err(error) => {
            let at = error.valid_up_to();
            let line = 1 + memchr::memchr_iter(b'\n', &text[..at]).count();
            (
                String::from_utf8_lossy(text),
                Some(utf8_problem(line, bom + at)),
            )
        }
    }
}

/// `line 3: not valid UTF-8 at byte 1,234 (read with the invalid bytes replaced)`.
pub(crate) fn utf8_problem(line: usize, offset: usize) -> String {
    format!(
        "line {line}: not valid UTF-8 at byte {} (read with the invalid bytes replaced)",
        group_thousands(offset)
    )
}

/// Lines with their 1-based numbers, split on `\n` only (as editors count them),
/// with a trailing `\r` removed. A final empty piece after the last newline is
/// not a line.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let pieces = if text.is_empty() {
        None
    } else {
        Some(body.split('\n'))
    };
    pieces
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
}

/// Whether the first bytes of a file look like text rather than binary data:
/// no NUL byte and almost no control characters besides the ones terminals use.
pub(crate) fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let odd = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x1b | 0x08 | 0x0c))
        .count();
    odd * 100 <= head.len()
}

/// The lowercase extension of a path (`"csv"`), or `""`.
pub(crate) fn extension(path: &std::path::Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// The file name of a path as text (`""` when it has none or is not UTF-8).
pub(crate) fn file_name(path: &std::path::Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Cuts a message to at most `max` bytes on a char boundary, marking the cut.
pub(crate) fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_python_float_spellings() {
        assert_eq!(parse_number(" 0.5 "), Some(0.5));
        assert_eq!(parse_number("1e-3"), Some(0.001));
        assert_eq!(parse_number("inf"), Some(f64::INFINITY));
        assert_eq!(parse_number("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_number("Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_number("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_number("nan").is_some_and(f64::is_nan));
        assert!(parse_number("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("sgd"), None);
        // The value pandas 2.2 misread by one ulp reads back exactly here.
        assert_eq!(
            parse_number("0.34282320737838745"),
            Some(0.34282320737838745)
        );
    }

    #[test]
    fn steps_must_be_whole_numbers() {
        assert_eq!(as_step(512.0), Some(512));
        assert_eq!(as_step(-3.0), Some(-3));
        assert_eq!(as_step(0.5), None);
        assert_eq!(as_step(f64::NAN), None);
        assert_eq!(as_step(1e19), None);
    }

    #[test]
    fn wall_times_in_milliseconds_become_seconds() {
        assert_eq!(as_wall_time(1_700_000_000.5), Some(1_700_000_000.5));
        assert_eq!(as_wall_time(1_700_000_000_500.0), Some(1_700_000_000.5));
        assert_eq!(as_wall_time(-1.0), None);
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1234), "1,234");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn decodes_with_replacement_and_reports_the_offset() {
        let (text, problem) = decode_utf8(b"ok\nbad \xff here");
        assert_eq!(text, "ok\nbad \u{fffd} here");
        assert_eq!(
            problem.as_deref(),
            Some("line 2: not valid UTF-8 at byte 7 (read with the invalid bytes replaced)")
        );
        assert_eq!(decode_utf8(b"\xEF\xBB\xBFa,b").0, "a,b");
    }

    #[test]
    fn numbers_lines_like_an_editor() {
        let lines: Vec<_> = numbered_lines("a\r\nb\n\nc").collect();
        assert_eq!(lines, vec![(1, "a"), (2, "b"), (3, ""), (4, "c")]);
        assert_eq!(numbered_lines("a\n").count(), 1);
        assert_eq!(numbered_lines("").count(), 0);
    }

    #[test]
    fn tells_text_from_binary() {
        assert!(looks_like_text(b"Epoch 1/10\n\x1b[1mloss\x1b[0m\r\x08"));
        assert!(!looks_like_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!looks_like_text(b""));
    }

    #[test]
    fn clips_on_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h…");
        assert_eq!(clip("short", 10), "short");
    }
}
