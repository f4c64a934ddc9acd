//! Metric values printed on the console, in the styles trainers print them.

use std::sync::LazyLock;

use fmr_core::{Point, Run};
use regex::Regex;

use crate::series_builder::SeriesBuilder;
use crate::text_util::{as_step, parse_number};

/// Reads metric lines one at a time; a line it takes is not scanned for events.
#[derive(Debug, Default)]
pub(crate) struct MetricLines {
    series: SeriesBuilder,
    /// Training dicts seen so far: the step of an HF dict line (the console
    /// never prints the real step).
    hf_training_rows: i64,
    /// The 0-based epoch announced by Keras' `Epoch i/N`, until its summary.
    keras_epoch: Option<i64>,
    /// The SB3 box table being read, between its two dash rules.
    sb3_table: Option<Sb3Table>,
    sb3_tables: i64,
}

#[derive(Debug, Default)]
struct Sb3Table {
    section: String,
    values: Vec<(String, f64)>,
}

/// SB3's x-axis: the table's own timestep count.
const SB3_STEP_KEY: &str = "time/total_timesteps";

impl MetricLines {
    /// Takes `line` (already reduced to what the terminal showed) if it is a
    /// metric line of a known style, recording its values.
    pub(crate) fn consume(&mut self, line: &str) -> bool {
        self.sb3_line(line)
            || self.hf_dict_line(line)
            || self.keras_line(line)
            || self.key_value_line(line)
    }

    pub(crate) fn finish_into(mut self, run: &mut Run) {
        if let Some(table) = self.sb3_table.take() {
            self.close_sb3_table(table); // the log ended inside a table
        }
        self.series.finish_into(run);
    }

    fn record(&mut self, step: i64, key: &str, value: f64) {
        self.series.push(
            key,
            Point {
                step,
                wall_time: None,
                value,
            },
        );
    }

    /// Stable-Baselines3 box tables:
    /// ```text
    /// ------------------------------------------
    /// | rollout/                |              |
    /// |    ep_len_mean          | 25.6         |
    /// ------------------------------------------
    /// ```
    fn sb3_line(&mut self, line: &str) -> bool {
        let trimmed = line.trim();
        if trimmed.len() >= 10 && trimmed.bytes().all(|b| b == b'-') {
            match self.sb3_table.take() {
                Some(table) if !table.values.is_empty() => self.close_sb3_table(table),
                // An opening rule, or a separator line that opened nothing.
                _ => self.sb3_table = Some(Sb3Table::default()),
            }
            return true;
        }
        let Some(table) = self.sb3_table.as_mut() else {
            return false;
        };
        let Some(inner) = trimmed.strip_prefix('|').and_then(|t| t.strip_suffix('|')) else {
            // Not a table row: the rule was only a separator.
            if let Some(table) = self.sb3_table.take().filter(|t| !t.values.is_empty()) {
                self.close_sb3_table(table);
            }
            return false;
        };
        let Some((key_cell, value_cell)) = inner.split_once('|') else {
            return false;
        };
        let key = key_cell.trim();
        let value = value_cell.trim();
        if let Some(section) = key.strip_suffix('/').filter(|_| value.is_empty()) {
            table.section = section.to_string();
        } else if let Some(number) = parse_number(value) {
            let indented = key_cell.starts_with("  ");
            let full_key = if indented && !table.section.is_empty() {
                format!("{}/{key}", table.section)
            } else {
                key.to_string()
            };
            table.values.push((full_key, number));
        }
        true
    }

    fn close_sb3_table(&mut self, table: Sb3Table) {
        let own_step = table
            .values
            .iter()
            .find(|(key, _)| key == SB3_STEP_KEY)
            .and_then(|(_, value)| as_step(*value));
        let step = own_step.unwrap_or(self.sb3_tables);
        for (key, value) in &table.values {
            if own_step.is_none() || key != SB3_STEP_KEY {
                self.record(step, key, *value);
            }
        }
        self.sb3_tables += 1;
    }

    /// Hugging Face Trainer console dicts: `{'loss': 0.6949, 'epoch': 0.38}`
    /// (4.x, bare `nan`), `{'loss': '0.6935', ...}` (5.x, quoted strings).
    fn hf_dict_line(&mut self, line: &str) -> bool {
        static PAIR: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"'([^']+)'\s*:\s*([^,}]+)").expect("valid regex"));
        let trimmed = line.trim();
        let Some(start) = trimmed.find("{'") else {
            return false;
        };
        if !trimmed.ends_with('}') {
            return false;
        }
        let pairs: Vec<(&str, f64)> = PAIR
            .captures_iter(&trimmed[start..])
            .filter_map(|caps| {
                let key = caps.get(1)?.as_str();
                Some((key, python_number(caps.get(2)?.as_str())?))
            })
            .collect();
        if pairs.is_empty() {
            return false;
        }
        // Evaluation and summary dicts share the step of the last training dict.
        let training = !pairs.iter().any(|(key, _)| *key == "train_runtime")
            && pairs.iter().any(|(key, _)| {
                !matches!(*key, "epoch" | "step")
                    && !["eval_", "test_", "predict_"]
                        .iter()
                        .any(|p| key.starts_with(p))
            });
        if training {
            self.hf_training_rows += 1;
        }
        let step = self.hf_training_rows;
        for (key, value) in pairs {
            self.record(step, key, value);
        }
        true
    }

    /// Keras `fit()`: `Epoch 3/10`, then the epoch's final progress line
    /// `12/12 - 0s - loss: 0.3482 - accuracy: 0.9219 - val_loss: ...`.
    fn keras_line(&mut self, line: &str) -> bool {
        static EPOCH: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^Epoch (\d+)/\d+$").expect("valid regex"));
        static DONE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^\s*(\d+)/(\d+) ").expect("valid regex"));
        static PAIR: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"([A-Za-z_][\w/.]*): ([-+]?(?:nan|inf|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))(?:\s|$)",
            )
            .expect("valid regex")
        });
        let trimmed = line.trim();
        if let Some(caps) = EPOCH.captures(trimmed) {
            let epoch = caps[1].parse::<i64>().ok().filter(|&e| e >= 1);
            self.keras_epoch = epoch.map(|e| e - 1);
            return epoch.is_some();
        }
        let Some(epoch) = self.keras_epoch else {
            return false;
        };
        let Some(progress) = DONE.captures(line) else {
            return false;
        };
        if progress[1] != progress[2] {
            return false;
        }
        let pairs: Vec<(&str, f64)> = PAIR
            .captures_iter(line)
            .filter_map(|caps| {
                let key = caps.get(1)?.as_str();
                (key != "ETA").then_some((key, parse_number(caps.get(2)?.as_str())?))
            })
            .collect();
        if pairs.is_empty() {
            return false;
        }
        for (key, value) in pairs {
            self.record(epoch, key, value);
        }
        self.keras_epoch = None;
        true
    }

    /// `step 100 | loss 2.31 | lr 3e-4`, `iter 200: loss=1.9 lr=3e-4`,
    /// nanoGPT's `iter 0: loss 10.97, time 30125.37ms`, Megatron's
    /// `iteration 100/ 1000 | lm loss: 7.1E+00 | loss scale: 65536.0 |`.
    fn key_value_line(&mut self, line: &str) -> bool {
        let pairs = key_value_pairs(line);
        let step_pair = pairs
            .iter()
            .position(|(key, value)| is_step_key(key) && as_step(*value).is_some())
            .or_else(|| {
                pairs
                    .iter()
                    .position(|(key, value)| last_word(key) == "epoch" && as_step(*value).is_some())
            });
        let Some(step_index) = step_pair else {
            return false;
        };
        if pairs.len() < 2 {
            return false;
        }
        let step = as_step(pairs[step_index].1).unwrap_or_default();
        for (index, (key, value)) in pairs.iter().enumerate() {
            if index != step_index {
                self.record(step, key, *value);
            }
        }
        true
    }
}

/// A value as Python printed it: `0.5`, `nan`, `'0.6935'`, `np.float64(0.5)`,
/// `tensor(0.5, device='cuda:0')` (cut at the comma by the caller's pattern).
fn python_number(text: &str) -> Option<f64> {
    let mut text = text.trim().trim_matches('\'').trim_matches('"');
    for wrapper in [
        "np.float64(",
        "np.float32(",
        "np.float16(",
        "tensor(",
        "float(",
    ] {
        if let Some(inner) = text.strip_prefix(wrapper) {
            text = inner.trim_end_matches(')');
        }
    }
    parse_number(text)
}

fn last_word(key: &str) -> &str {
    key.rsplit(' ').next().unwrap_or(key)
}

fn is_step_key(key: &str) -> bool {
    matches!(
        last_word(key),
        "step" | "global_step" | "globalstep" | "iter" | "iteration"
    )
}

/// Words that introduce a key in prose (`with loss 0.5`) but are not part of it.
const LEADING_FILLER: &[&str] = &[
    "a", "an", "and", "at", "for", "in", "is", "of", "on", "the", "to", "with",
];

/// Keys that are numbers of something other than training progress.
const NOT_METRICS: &[&str] = &[
    "cpu",
    "cuda",
    "device",
    "gpu",
    "line",
    "local_rank",
    "node",
    "pid",
    "port",
    "python",
    "rank",
    "torch",
    "v_num",
    "version",
];

/// At most this many words make one key (`elapsed time per iteration (ms)`).
const MAX_KEY_WORDS: usize = 6;

/// The `(key, value)` pairs of a console line: each number with the words
/// just before it, since the previous number or separator (`|`, `,`, `;`,
/// brackets, ` - `). Keys are lowercased; a number with no words before it
/// (a date, `50/50`) is not a pair.
pub(crate) fn key_value_pairs(line: &str) -> Vec<(String, f64)> {
    let bytes = line.as_bytes();
    let mut pairs = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    // A `:` or `=` was just seen: a following number belongs to the words
    // before it, a following word starts a new key (`INFO:root:step`).
    let mut connector = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b' ' | b'\t' => i += 1,
            b':' | b'=' => {
                connector = true;
                i += 1;
            }
            b'(' if parenthesized_unit(&bytes[i..]) > 0 => {
                let end = i + parenthesized_unit(&bytes[i..]);
                push_word(&mut words, &line[i..end], &mut connector);
                i = end;
            }
            b'-' | b'+' | b'n' | b'N' | b'i' | b'I'
                if !words.is_empty() && non_finite_len(&bytes[i..]).is_some() =>
            {
                // `nan`, `inf`, `-inf` as a value: after `:`/`=`, when signed, or
                // when a separator follows (`loss nan | lr 3e-4`); otherwise the
                // word is part of a key (`number of nan iterations: 0`).
                let (len, value) = non_finite_len(&bytes[i..]).unwrap_or((1, f64::NAN));
                let rest = line[i + len..].trim_start();
                let signed = matches!(byte, b'-' | b'+');
                let ends_value =
                    rest.is_empty() || rest.starts_with(['|', ',', ';', ')', ']', '}']);
                if connector || signed || ends_value {
                    take_pair(&mut pairs, &mut words, value);
                    words.clear();
                    connector = false;
                } else {
                    push_word(&mut words, &line[i..i + len], &mut connector);
                }
                i += len;
            }
            b'0'..=b'9' | b'.' | b'-' | b'+' if number_len(&bytes[i..]) > 0 => {
                let end = i + number_len(&bytes[i..]);
                let value = line[i..end].parse::<f64>().ok();
                // A unit glued to the number (`35.12ms`, `12.3%`) is dropped.
                let mut after = end;
                while after < bytes.len()
                    && (bytes[after].is_ascii_alphabetic() || bytes[after] == b'%')
                {
                    after += 1;
                }
                if let Some(value) = value {
                    take_pair(&mut pairs, &mut words, value);
                }
                words.clear();
                connector = false;
                i = after;
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                let mut end = i;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric()
                        || matches!(bytes[end], b'_' | b'.' | b'/' | b'@' | b'-'))
                {
                    end += 1;
                }
                let word = line[i..end].trim_end_matches(['.', '-', '/']);
                push_word(&mut words, word, &mut connector);
                i = end;
            }
            _ => {
                // Separators, punctuation and non-ASCII (progress bar blocks).
                words.clear();
                connector = false;
                i += 1;
            }
        }
    }
    pairs
}

fn push_word<'a>(words: &mut Vec<&'a str>, word: &'a str, connector: &mut bool) {
    if *connector {
        words.clear();
        *connector = false;
    }
    if words.len() == MAX_KEY_WORDS {
        words.remove(0);
    }
    words.push(word);
}

fn take_pair(pairs: &mut Vec<(String, f64)>, words: &mut Vec<&str>, value: f64) {
    let start = words
        .iter()
        .position(|w| !LEADING_FILLER.contains(&w.to_ascii_lowercase().as_str()))
        .unwrap_or(words.len());
    if start == words.len() {
        return;
    }
    let key = words[start..].join(" ").to_ascii_lowercase();
    if !NOT_METRICS.contains(&key.as_str()) {
        pairs.push((key, value));
    }
}

/// Length and value of `nan`, `inf`, `infinity` (any case, optionally signed)
/// standing as a whole word at the start of `bytes`.
fn non_finite_len(bytes: &[u8]) -> Option<(usize, f64)> {
    let (sign, start) = match bytes.first() {
        Some(b'-') => (-1.0, 1),
        Some(b'+') => (1.0, 1),
        _ => (1.0, 0),
    };
    let rest = &bytes[start..];
    let (word_len, value) = [
        (&b"infinity"[..], f64::INFINITY),
        (b"inf", f64::INFINITY),
        (b"nan", f64::NAN),
    ]
    .into_iter()
    .find(|(word, _)| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word))
    .map(|(word, value)| (word.len(), value))?;
    let boundary = rest
        .get(word_len)
        .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
    boundary.then_some((start + word_len, sign * value))
}

/// Length of a `(ms)`-style unit at the start of `bytes`, or 0.
fn parenthesized_unit(bytes: &[u8]) -> usize {
    let inner = bytes[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphabetic() || matches!(b, b'%' | b'/'))
        .count();
    if inner > 0 && bytes.get(1 + inner) == Some(&b')') {
        inner + 2
    } else {
        0
    }
}

/// Length of a decimal number (`-1.5e-3`, `.5`, `3.`) at the start of `bytes`,
/// or 0. A `-` or `+` counts only when a digit or `.digit` follows, so the
/// ` - ` Keras separator is not a number.
fn number_len(bytes: &[u8]) -> usize {
    let mut i = 0;
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    let int_digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        frac_digits = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if int_digits > 0 || frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return 0;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        let exp_digits = bytes[j.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(line: &str) -> Vec<(String, f64)> {
        key_value_pairs(line)
    }

    fn keys(line: &str) -> Vec<String> {
        pairs(line).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn splits_common_key_value_styles() {
        assert_eq!(
            pairs("step 100 | loss 2.31 | lr 3e-4"),
            [
                ("step".into(), 100.0),
                ("loss".into(), 2.31),
                ("lr".into(), 3e-4)
            ]
        );
        assert_eq!(
            pairs("iter 200: loss=1.9 lr=3e-4"),
            [
                ("iter".into(), 200.0),
                ("loss".into(), 1.9),
                ("lr".into(), 3e-4)
            ]
        );
        assert_eq!(
            pairs("iter 0: loss 10.9790, time 30125.37ms, mfu -100.00%"),
            [
                ("iter".into(), 0.0),
                ("loss".into(), 10.979),
                ("time".into(), 30125.37),
                ("mfu".into(), -100.0)
            ]
        );
        assert_eq!(
            keys("step 250: train loss 1.9012, val loss 2.0"),
            ["step", "train loss", "val loss"]
        );
    }

    #[test]
    fn reads_megatron_lines() {
        let line = " [2024-05-01 12:00:00] iteration      100/   1000 | consumed samples:        12800 | \
                    elapsed time per iteration (ms): 1234.5 | learning rate: 1.000E-04 | lm loss: 7.123456E+00 | \
                    loss scale: 65536.0 | grad norm: 3.456 | number of nan iterations:   0 |";
        assert_eq!(
            keys(line),
            [
                "iteration",
                "consumed samples",
                "elapsed time per iteration (ms)",
                "learning rate",
                "lm loss",
                "loss scale",
                "grad norm",
                "number of nan iterations",
            ]
        );
        assert_eq!(pairs(line)[4].1, 7.123456);
    }

    #[test]
    fn ignores_dates_progress_counts_and_device_numbers() {
        assert_eq!(
            keys("2024-01-01 12:00:00,123 - INFO - [rank0] cuda:0 Step 100: loss=nan"),
            ["step", "loss"]
        );
        assert!(
            pairs("2024-01-01 12:00:00,123 - INFO - Step 100: loss=nan")[1]
                .1
                .is_nan()
        );
        assert_eq!(
            keys("Epoch 1: 100%|██████████| 50/50 [00:01<00:00, 30.1it/s, loss=0.5, v_num=0]"),
            ["epoch", "loss"]
        );
        assert_eq!(
            keys("Training finished at step 100 with loss 0.5"),
            ["training finished at step", "loss"]
        );
    }

    #[test]
    fn reads_non_finite_values_but_keeps_nan_inside_keys() {
        let found = pairs("step 300 | loss nan | lr 3.0e-04 | grad_norm inf");
        assert_eq!(found.len(), 4);
        assert!(found[1].0 == "loss" && found[1].1.is_nan());
        assert_eq!(found[3], ("grad_norm".into(), f64::INFINITY));
        assert_eq!(
            pairs("step 3 delta -inf info 2"),
            [
                ("step".into(), 3.0),
                ("delta".into(), f64::NEG_INFINITY),
                ("info".into(), 2.0)
            ]
        );
        assert_eq!(
            keys("iteration 5 | number of nan iterations: 0 | infinite 1"),
            ["iteration", "number of nan iterations", "infinite"]
        );
        assert_eq!(
            non_finite_len(b"NaN,").map(|(l, v)| (l, v.is_nan())),
            Some((3, true))
        );
        assert_eq!(non_finite_len(b"-Infinity"), Some((9, f64::NEG_INFINITY)));
        assert_eq!(non_finite_len(b"info"), None);
    }

    #[test]
    fn measures_numbers() {
        assert_eq!(number_len(b"-1.5e-3x"), 7);
        assert_eq!(number_len(b".5"), 2);
        assert_eq!(number_len(b"3."), 2);
        assert_eq!(number_len(b"- loss"), 0);
        assert_eq!(number_len(b"."), 0);
        assert_eq!(number_len(b"1e"), 1);
    }

    fn series_of(lines: &[&str]) -> Run {
        let mut metrics = MetricLines::default();
        for line in lines {
            metrics.consume(line);
        }
        let mut run = Run::default();
        metrics.finish_into(&mut run);
        run
    }

    #[test]
    fn hf_dicts_count_training_rows_as_steps() {
        let run = series_of(&[
            "{'loss': 0.6949, 'grad_norm': 0.5345149040222168, 'epoch': 0.38}",
            "{'loss': '3.205e+07', 'grad_norm': 'nan', 'epoch': '0.7692'}",
            "{'eval_loss': nan, 'eval_accuracy': np.float64(0.5), 'epoch': 0.77}",
            "{'train_runtime': 5.1477, 'train_loss': 3082160.525015024, 'epoch': 4.0}",
        ]);
        let steps = |tag: &str| {
            run.series(tag)
                .map(|s| s.steps().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(steps("loss"), [1, 2]);
        assert_eq!(steps("eval_loss"), [2]);
        assert_eq!(steps("train_loss"), [2]);
        assert_eq!(steps("epoch"), [1, 2, 2, 2]);
        assert_eq!(run.series("loss").map(|s| s.points[1].value), Some(3.205e7));
        assert_eq!(
            run.series("eval_accuracy").map(|s| s.points[0].value),
            Some(0.5)
        );
        assert!(
            run.series("grad_norm")
                .is_some_and(|s| s.points[1].value.is_nan())
        );
    }

    #[test]
    fn keras_summary_lines_land_on_the_zero_based_epoch() {
        let run = series_of(&[
            "Epoch 1/2",
            "12/12 - 0s - loss: 0.6316 - accuracy: 0.6094 - val_loss: 0.5180 - 299ms/epoch - 25ms/step",
            "Epoch 2/2",
            " 1/12 [=>...] - ETA: 0s - loss: 0.3362",
            "12/12 [==============================] - 0s 2ms/step - loss: nan - lr: 0.1500",
        ]);
        let loss = run.series("loss").expect("loss");
        assert_eq!(loss.steps().collect::<Vec<_>>(), [0, 1]);
        assert!(loss.points[1].value.is_nan());
        assert_eq!(run.series("lr").map(|s| s.points[0].step), Some(1));
        assert!(run.series("ETA").is_none());
    }

    #[test]
    fn sb3_tables_use_their_own_timestep_count() {
        let run = series_of(&[
            "-----------------------------",
            "| rollout/           |      |",
            "|    ep_len_mean     | 25.6 |",
            "| time/              |      |",
            "|    fps             | 327  |",
            "|    total_timesteps | 1024 |",
            "-----------------------------",
        ]);
        assert_eq!(
            run.series("rollout/ep_len_mean")
                .map(|s| (s.points[0].step, s.points[0].value)),
            Some((1024, 25.6))
        );
        assert!(run.series("time/total_timesteps").is_none());
        assert_eq!(run.series.len(), 2);
    }

    #[test]
    fn a_separator_rule_is_not_a_table() {
        let mut metrics = MetricLines::default();
        assert!(metrics.consume("------------------------"));
        assert!(!metrics.consume("Starting training"));
        assert!(metrics.consume("step 1 loss 0.5"));
    }
}
