//! Hyperparameter values: reading them as papers write them (`3 × 10^-4`, `4k`, `10%`,
//! `(0.9, 0.999)`, `$6.4 \times 10^{-4}$`), printing them, and deciding whether two agree.

use serde::{Deserialize, Serialize};

/// A hyperparameter's value, in a paper or in code. Serialises as plain JSON (`0.0003`,
/// `"cosine"`, `[0.9, 0.95]`, `true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Number(f64),
    List(Vec<ParamValue>),
    Text(String),
}

impl ParamValue {
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Self::Number(number) => Some(*number),
            _ => None,
        }
    }

    /// The numbers of a list of numbers.
    pub fn as_numbers(&self) -> Option<Vec<f64>> {
        match self {
            Self::List(items) => items.iter().map(ParamValue::as_number).collect(),
            _ => None,
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bool(flag) => write!(f, "{flag}"),
            Self::Number(number) => f.write_str(&format_number(*number)),
            Self::Text(text) => f.write_str(text),
            Self::List(items) => {
                f.write_str("(")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// `3e-4`, `6.4e-4`, `256`, `0.95`, `1e6`: integers as integers, very small or large numbers in
/// scientific notation, everything else in the shortest form that reads back exactly.
pub fn format_number(number: f64) -> String {
    if !number.is_finite() {
        return number.to_string();
    }
    let magnitude = number.abs();
    if number.fract() == 0.0 && magnitude < 1e15 {
        if magnitude >= 1e6 && magnitude % 1e5 == 0.0 {
            return format!("{number:e}");
        }
        return format!("{number:.0}");
    }
    if !(1e-3..1e6).contains(&magnitude) {
        format!("{number:e}")
    } else {
        format!("{number}")
    }
}

/// A value read from a paper's text, with what was written around the number.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadValue {
    pub value: ParamValue,
    /// Words after the number: `tokens` in `2M tokens`, `steps` in `100k steps`.
    pub unit: Option<String>,
    /// Written as a percentage (`10%`, stored as 0.1).
    pub percent: bool,
    /// How far off a value may be and still be what the paper wrote, for numbers rounded with
    /// a multiplier: `0.5M` covers ± 50k.
    pub tolerance: Option<f64>,
}

/// Reads a value as a paper, a config comment or a pasted table writes it. Anything that is
/// not a number, a flag or a list of numbers is kept as text (`cosine`, `AdamW`); only an empty
/// value is an error.
pub fn read_value(raw: &str) -> Result<ReadValue, String> {
    let cleaned = clean_latex(raw);
    let mut text = cleaned.trim().trim_end_matches(['.', ';']).trim();
    for marker in ["~", "≈", "about ", "approx. ", "approx ", "around "] {
        if let Some(rest) = text.strip_prefix(marker) {
            text = rest.trim_start();
        }
    }
    if text.is_empty() {
        return Err("the value is empty".to_owned());
    }
    let plain = |value| ReadValue {
        value,
        unit: None,
        percent: false,
        tolerance: None,
    };
    match text.to_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "used" | "enabled" | "✓" | "✔" | "x" => {
            return Ok(plain(ParamValue::Bool(true)));
        }
        "false" | "no" | "n" | "off" | "none" | "unused" | "disabled" | "✗" | "✘" | "-" | "—"
        | "n/a" => return Ok(plain(ParamValue::Bool(false))),
        _ => {}
    }
    let bracketed = (text.starts_with('(') && text.ends_with(')'))
        || (text.starts_with('[') && text.ends_with(']'));
    if bracketed {
        let inner = &text[1..text.len() - 1];
        if let Some(items) = number_list(inner) {
            return Ok(plain(ParamValue::List(items)));
        }
    }
    if let Some(number) = thousands(text) {
        return Ok(plain(ParamValue::Number(number)));
    }
    if text.contains([',', '/', ';'])
        && let Some(items) = number_list(text)
    {
        return Ok(plain(ParamValue::List(items)));
    }
    if let Some(scalar) = scalar_number(text) {
        return Ok(ReadValue {
            value: ParamValue::Number(scalar.value),
            unit: scalar.unit,
            percent: scalar.percent,
            tolerance: scalar.tolerance,
        });
    }
    // `3e-4 (peak)`: a number with a remark in parentheses.
    if let Some(open) = text.rfind('(')
        && open > 0
        && text.ends_with(')')
        && let Some(scalar) = scalar_number(text[..open].trim())
    {
        let remark = text[open + 1..text.len() - 1].trim().to_lowercase();
        let is_words = !remark.is_empty()
            && remark
                .chars()
                .all(|c| c.is_alphabetic() || c == ' ' || c == '-');
        return Ok(ReadValue {
            value: ParamValue::Number(scalar.value),
            unit: scalar.unit.or(is_words.then_some(remark)),
            percent: scalar.percent,
            tolerance: scalar.tolerance,
        });
    }
    Ok(plain(ParamValue::Text(text.to_owned())))
}

/// `0.9, 0.95`, `0.9 / 0.95`: two or more numbers.
fn number_list(text: &str) -> Option<Vec<ParamValue>> {
    let parts: Vec<&str> = text.split([',', '/', ';']).map(str::trim).collect();
    if parts.len() < 2 {
        return None;
    }
    parts
        .into_iter()
        .map(|part| {
            let scalar = scalar_number(part)?;
            scalar
                .unit
                .is_none()
                .then_some(ParamValue::Number(scalar.value))
        })
        .collect()
}

/// `1,000,000`, `12,288` (groups of three digits).
fn thousands(text: &str) -> Option<f64> {
    let mut groups = text.split(',');
    let first = groups.next()?;
    let rest: Vec<&str> = groups.collect();
    let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    if rest.is_empty()
        || !digits(first)
        || first.len() > 3
        || !rest.iter().all(|group| group.len() == 3 && digits(group))
    {
        return None;
    }
    text.replace(',', "").parse().ok()
}

struct Scalar {
    value: f64,
    unit: Option<String>,
    percent: bool,
    tolerance: Option<f64>,
}

/// One number as papers write it, with an optional multiplier (`4k`), percent sign and unit
/// words: `3e-4`, `3 × 10^-4`, `3x10-4` (a superscript lost in a PDF copy), `10^{-4}`,
/// `6.4e−4`, `2M tokens`, `10%`, `300 epochs`.
fn scalar_number(text: &str) -> Option<Scalar> {
    let normalized = normalize_number_text(text);
    let chars: Vec<char> = normalized.chars().collect();
    let mut at = 0;
    let skip_spaces = |at: &mut usize| {
        while chars.get(*at) == Some(&' ') {
            *at += 1;
        }
    };
    let mantissa_text = read_decimal(&chars, &mut at)?;
    let mut value: f64 = mantissa_text.parse().ok()?;
    let after_mantissa = at;
    skip_spaces(&mut at);
    // `10^-4` / `10**-4` on its own.
    if mantissa_text == "10"
        && let Some(exponent) = read_power(&chars, &mut at, false)
    {
        value = scaled("1", 1.0, exponent);
    } else if matches!(chars.get(at), Some('×' | '*' | 'x' | 'X')) {
        let mut probe = at + 1;
        skip_spaces(&mut probe);
        if chars.get(probe) == Some(&'1') && chars.get(probe + 1) == Some(&'0') {
            probe += 2;
            let exponent = read_power(&chars, &mut probe, true).unwrap_or(1.0);
            value = scaled(&mantissa_text, value, exponent);
            at = probe;
        } else {
            at = after_mantissa;
        }
    } else {
        at = after_mantissa;
    }
    // Multipliers: `4k`, `2M`, `1.5B`, `3 million`.
    let rest: String = chars[at..].iter().collect();
    let rest_trimmed = rest.trim_start();
    let mut percent = false;
    let mut remainder = rest_trimmed.to_owned();
    let mut multiplier: Option<f64> = None;
    let multiplier_words = [
        ("thousand", 1e3),
        ("million", 1e6),
        ("billion", 1e9),
        ("trillion", 1e12),
    ];
    if let Some((word, factor)) = multiplier_words
        .iter()
        .find(|(word, _)| starts_with_word(rest_trimmed, word))
    {
        value *= factor;
        multiplier = Some(*factor);
        remainder = rest_trimmed[word.len()..].to_owned();
    } else if let Some(first) = rest.chars().next() {
        let factor = match first {
            'k' | 'K' => Some(1e3),
            'M' => Some(1e6),
            'B' | 'G' => Some(1e9),
            'T' => Some(1e12),
            _ => None,
        };
        let standalone = rest
            .chars()
            .nth(1)
            .is_none_or(|next| !next.is_alphanumeric());
        if let (Some(factor), true) = (factor, standalone) {
            value *= factor;
            multiplier = Some(factor);
            remainder = rest[first.len_utf8()..].to_owned();
        }
    }
    let mut remainder = remainder.trim();
    if let Some(rest) = remainder.strip_prefix('%') {
        percent = true;
        value /= 100.0;
        remainder = rest.trim();
    }
    let unit = if remainder.is_empty() {
        None
    } else if remainder
        .chars()
        .all(|c| c.is_alphabetic() || c == ' ' || c == '-')
    {
        Some(remainder.to_lowercase())
    } else {
        return None;
    };
    // `0.5M` is rounded to the digits written: half a unit of the last one either way.
    let tolerance = multiplier.map(|factor| {
        let decimals = mantissa_text
            .split(['e', 'E'])
            .next()
            .and_then(|digits| digits.split_once('.'))
            .map_or(0, |(_, fraction)| fraction.len());
        0.5 * factor / 10f64.powi(i32::try_from(decimals).unwrap_or(0))
    });
    Some(Scalar {
        value,
        unit,
        percent,
        tolerance,
    })
}

/// `mantissa × 10^exponent`, parsed as one decimal (`3e-4`) so that it is the same float as
/// the number written in scientific notation.
fn scaled(mantissa_text: &str, mantissa: f64, exponent: f64) -> f64 {
    let plain = !mantissa_text.contains(['e', 'E']) && exponent.fract() == 0.0;
    plain
        .then(|| format!("{mantissa_text}e{exponent:.0}").parse().ok())
        .flatten()
        .unwrap_or_else(|| mantissa * 10f64.powf(exponent))
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word))
        && text
            .get(word.len()..)
            .and_then(|rest| rest.chars().next())
            .is_none_or(|next| !next.is_alphabetic())
}

/// `-1.5e-3`, `.9`, `256`: sign, digits, fraction and exponent, as written.
fn read_decimal(chars: &[char], at: &mut usize) -> Option<String> {
    let start = *at;
    let mut text = String::new();
    if let Some(sign @ ('-' | '+')) = chars.get(*at) {
        text.push(*sign);
        *at += 1;
    }
    let mut digits = 0;
    while let Some(c) = chars.get(*at) {
        if c.is_ascii_digit() {
            digits += 1;
        } else if *c == '_' {
            *at += 1;
            continue;
        } else if *c != '.' || text.contains('.') {
            break;
        }
        text.push(*c);
        *at += 1;
    }
    if digits == 0 {
        *at = start;
        return None;
    }
    if let Some('e' | 'E') = chars.get(*at) {
        let mut probe = *at + 1;
        let mut exponent = String::from("e");
        if let Some(sign @ ('-' | '+')) = chars.get(probe) {
            exponent.push(*sign);
            probe += 1;
        }
        let exponent_start = probe;
        while let Some(c) = chars.get(probe).filter(|c| c.is_ascii_digit()) {
            exponent.push(*c);
            probe += 1;
        }
        if probe > exponent_start {
            text.push_str(&exponent);
            *at = probe;
        }
    }
    Some(text)
}

/// The exponent after `10`: `^-4`, `**-4`, `^4`, or, when `bare_sign_ok`, `-4` directly (a
/// superscript flattened by a PDF copy, as in `3 × 10-4`).
fn read_power(chars: &[char], at: &mut usize, bare_sign_ok: bool) -> Option<f64> {
    let mut probe = *at;
    let marked = if chars.get(probe) == Some(&'^') {
        probe += 1;
        true
    } else if chars.get(probe) == Some(&'*') && chars.get(probe + 1) == Some(&'*') {
        probe += 2;
        true
    } else {
        false
    };
    let bare_sign = bare_sign_ok && matches!(chars.get(probe), Some('-' | '+'));
    if !(marked || bare_sign) {
        return None;
    }
    let mut exponent = String::new();
    if let Some(sign @ ('-' | '+')) = chars.get(probe) {
        exponent.push(*sign);
        probe += 1;
    }
    let digits_start = probe;
    while let Some(c) = chars.get(probe).filter(|c| c.is_ascii_digit()) {
        exponent.push(*c);
        probe += 1;
    }
    if probe == digits_start {
        return None;
    }
    *at = probe;
    exponent.parse().ok()
}

/// Unicode minus signs and dashes to `-`, multiplication signs to `×`, superscripts to `^...`,
/// non-breaking and thin spaces to spaces.
fn normalize_number_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_superscript = false;
    for character in text.chars() {
        let superscript = match character {
            '⁰' => Some('0'),
            '¹' => Some('1'),
            '²' => Some('2'),
            '³' => Some('3'),
            '⁴' => Some('4'),
            '⁵' => Some('5'),
            '⁶' => Some('6'),
            '⁷' => Some('7'),
            '⁸' => Some('8'),
            '⁹' => Some('9'),
            '⁻' => Some('-'),
            '⁺' => Some('+'),
            _ => None,
        };
        if let Some(plain) = superscript {
            if !in_superscript {
                out.push('^');
                in_superscript = true;
            }
            out.push(plain);
            continue;
        }
        in_superscript = false;
        match character {
            '−' | '–' | '—' | '‐' => out.push('-'),
            '·' | '⋅' | '✕' | '∗' => out.push('×'),
            '\u{a0}' | '\u{2009}' | '\u{202f}' | '\u{2002}' | '\u{2003}' | '\t' => out.push(' '),
            other => out.push(other),
        }
    }
    out
}

/// Turns LaTeX table cell markup into plain text: `$3 \times 10^{-4}$` → `3 × 10^-4`,
/// `\textbf{AdamW}` → `AdamW`, `$\beta_1$` → `β_1`, `10\%` → `10%`.
pub fn clean_latex(text: &str) -> String {
    if !text.contains(['\\', '$', '{', '}']) {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < chars.len() {
        let character = chars[at];
        match character {
            '$' | '{' | '}' => at += 1,
            '~' => {
                out.push(' ');
                at += 1;
            }
            '\\' => {
                at += 1;
                let start = at;
                while at < chars.len() && chars[at].is_ascii_alphabetic() {
                    at += 1;
                }
                let command: String = chars[start..at].iter().collect();
                if command.is_empty() {
                    // `\%`, `\,`, `\\`, `\_`
                    match chars.get(at) {
                        Some('%') => out.push('%'),
                        Some('_') => out.push('_'),
                        Some('&') => out.push('&'),
                        Some(',' | ';' | '!' | ':') | Some('\\') | None => {}
                        Some(' ') => out.push(' '),
                        Some(other) => out.push(*other),
                    }
                    at += 1;
                    continue;
                }
                match command.as_str() {
                    "times" | "cdot" => out.push('×'),
                    "beta" => out.push('β'),
                    "epsilon" | "varepsilon" | "eps" => out.push('ε'),
                    "lambda" => out.push('λ'),
                    "gamma" => out.push('γ'),
                    "alpha" => out.push('α'),
                    "tau" => out.push('τ'),
                    "eta" => out.push('η'),
                    "mu" => out.push('μ'),
                    "rho" => out.push('ρ'),
                    "sim" | "approx" => out.push('≈'),
                    "cite" | "citep" | "citet" | "ref" | "label" | "footnote" => {
                        at = skip_group(&chars, at);
                    }
                    _ => {}
                }
                // `\beta_1`: keep the spacing of what follows as written.
            }
            other => {
                out.push(other);
                at += 1;
            }
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Skips a `{...}` group (with nested braces) starting at or after `at`.
fn skip_group(chars: &[char], mut at: usize) -> usize {
    while chars.get(at) == Some(&' ') {
        at += 1;
    }
    if chars.get(at) != Some(&'{') {
        return at;
    }
    let mut depth = 0;
    while at < chars.len() {
        match chars[at] {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    at
}

/// Lower-case letters and digits only: `torch.optim.AdamW` → `torchoptimadamw`.
fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The optimizer a name refers to: `torch.optim.AdamW`, `adamw_torch_fused`, `AdamW8bit` and
/// `Adam with decoupled weight decay` are all `adamw`.
pub fn optimizer_label(text: &str) -> Option<&'static str> {
    let squashed = squash(text);
    const LABELS: &[(&str, &str)] = &[
        ("adamw", "adamw"),
        ("decoupledweightdecay", "adamw"),
        ("adafactor", "adafactor"),
        ("adagrad", "adagrad"),
        ("adamax", "adamax"),
        ("nadam", "nadam"),
        ("radam", "radam"),
        ("lamb", "lamb"),
        ("lars", "lars"),
        ("lion", "lion"),
        ("muon", "muon"),
        ("shampoo", "shampoo"),
        ("rmsprop", "rmsprop"),
        ("adadelta", "adadelta"),
        ("lbfgs", "lbfgs"),
        ("sgd", "sgd"),
        ("nesterov", "sgd"),
        ("momentum", "sgd"),
        ("adam", "adam"),
    ];
    LABELS
        .iter()
        .find(|(needle, _)| squashed.contains(needle))
        .map(|(_, label)| *label)
}

/// The learning-rate schedule a name refers to: `CosineAnnealingLR`,
/// `get_cosine_schedule_with_warmup`, `warmup_cosine_decay_schedule` and `cosine` are all
/// `cosine`.
pub fn schedule_label(text: &str) -> Option<&'static str> {
    let squashed = squash(text);
    const LABELS: &[(&str, &str)] = &[
        ("onecycle", "one-cycle"),
        ("cosine", "cosine"),
        ("cos", "cosine"),
        ("wsd", "warmup-stable-decay"),
        ("warmupstabledecay", "warmup-stable-decay"),
        ("inversesqrt", "inverse-sqrt"),
        ("invsqrt", "inverse-sqrt"),
        ("rsqrt", "inverse-sqrt"),
        ("inversesquareroot", "inverse-sqrt"),
        ("noam", "inverse-sqrt"),
        ("polynomial", "polynomial"),
        ("poly", "polynomial"),
        ("linear", "linear"),
        ("exponential", "exponential"),
        ("plateau", "plateau"),
        ("multistep", "step"),
        ("step", "step"),
        ("constant", "constant"),
        ("fixed", "constant"),
    ];
    LABELS
        .iter()
        .find(|(needle, _)| squashed.contains(needle))
        .map(|(_, label)| *label)
}

/// The numeric precision a value refers to: `bf16`, `bfloat16`, `bf16-mixed`, `torch.bfloat16`
/// are `bf16`; `16`, `16-mixed`, `fp16`, `half`, `mixed_float16` are `fp16`; `mixed` and `amp`
/// say mixed precision without the type.
pub fn precision_label(value: &ParamValue) -> Option<&'static str> {
    match value {
        ParamValue::Number(number) => match *number as i64 {
            16 => Some("fp16"),
            32 => Some("fp32"),
            64 => Some("fp64"),
            8 => Some("fp8"),
            _ => None,
        },
        ParamValue::Text(text) => {
            let squashed = squash(text);
            if squashed.contains("bf16") || squashed.contains("bfloat16") {
                Some("bf16")
            } else if squashed.contains("tf32") {
                Some("tf32")
            } else if squashed.contains("fp8") || squashed.contains("float8") {
                Some("fp8")
            } else if squashed.contains("fp16")
                || squashed.contains("float16")
                || squashed.contains("half")
                || squashed.starts_with("16")
            {
                Some("fp16")
            } else if squashed.contains("fp32")
                || squashed.contains("float32")
                || squashed.starts_with("32")
                || matches!(squashed.as_str(), "full" | "single" | "no")
            {
                Some("fp32")
            } else if squashed.contains("fp64") || squashed.contains("float64") {
                Some("fp64")
            } else if squashed.contains("mixed") || squashed.contains("amp") {
                Some("mixed")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The label of a text value of `param`, when the parameter has a vocabulary.
pub fn text_label(param: &str, value: &ParamValue) -> Option<&'static str> {
    match (param, value) {
        ("precision", _) => precision_label(value),
        ("optimizer", ParamValue::Text(text)) => optimizer_label(text),
        ("lr_scheduler", ParamValue::Text(text)) => schedule_label(text),
        _ => None,
    }
}

/// Whether two numbers agree within a relative tolerance of 1e-6.
pub fn numbers_agree(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

/// Whether the code's value agrees with the paper's for `param`.
pub fn values_agree(param: &str, paper: &ParamValue, code: &ParamValue) -> bool {
    use ParamValue::{Bool, List, Number, Text};
    if let (Some(paper_label), Some(code_label)) =
        (text_label(param, paper), text_label(param, code))
    {
        return paper_label == code_label
            || (paper_label == "mixed" && matches!(code_label, "fp16" | "bf16"))
            || (code_label == "mixed" && matches!(paper_label, "fp16" | "bf16"));
    }
    match (paper, code) {
        (Number(a), Number(b)) => numbers_agree(*a, *b),
        (Bool(flag), Number(number)) | (Number(number), Bool(flag)) => *flag == (*number != 0.0),
        (Bool(a), Bool(b)) => a == b,
        (List(a), List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_agree(param, x, y))
        }
        (Text(a), Text(b)) => super::names::normalize(a) == super::names::normalize(b),
        _ => false,
    }
}

/// How a code number differs from the paper's: `10× higher`, `2.5× lower`, `20% higher`.
pub fn describe_difference(paper: f64, code: f64) -> String {
    if paper == 0.0 {
        return "the paper uses 0".to_owned();
    }
    if code == 0.0 {
        return "set to 0 in the code".to_owned();
    }
    if paper.signum() != code.signum() {
        return "opposite sign".to_owned();
    }
    let ratio = code / paper;
    let times = |factor: f64| {
        let rounded = factor.round();
        if (factor - rounded).abs() <= 0.02 * factor {
            format!("{rounded:.0}")
        } else {
            let text = format!("{factor:.1}");
            text.trim_end_matches(".0").to_owned()
        }
    };
    if ratio >= 1.5 {
        format!("{}× higher", times(ratio))
    } else if ratio <= 1.0 / 1.5 {
        format!("{}× lower", times(1.0 / ratio))
    } else if ratio > 1.0 {
        format!("{:.0}% higher", (ratio - 1.0) * 100.0)
    } else {
        format!("{:.0}% lower", (1.0 - ratio) * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> f64 {
        match read_value(text).expect("reads").value {
            ParamValue::Number(number) => number,
            other => panic!("{text:?} read as {other:?}"),
        }
    }

    #[test]
    fn reads_numbers_as_papers_write_them() {
        assert!(numbers_agree(number("3e-4"), 3e-4));
        assert!(numbers_agree(number("3 × 10^-4"), 3e-4));
        assert!(numbers_agree(number("3x10^-4"), 3e-4));
        assert!(numbers_agree(number("3 × 10-4"), 3e-4));
        assert!(numbers_agree(number("3 × 10⁻⁴"), 3e-4));
        assert!(numbers_agree(number("$3 \\times 10^{-4}$"), 3e-4));
        assert!(numbers_agree(number("10^{-4}"), 1e-4));
        assert!(numbers_agree(number("6.4e−4"), 6.4e-4));
        assert_eq!(number("256"), 256.0);
        assert_eq!(number("4k"), 4000.0);
        assert_eq!(number("1,000,000"), 1e6);
        assert!(numbers_agree(number("10%"), 0.1));
        assert!(numbers_agree(number("10\\%"), 0.1));
        assert_eq!(number("~0.1"), 0.1);
        let tokens = read_value("2M tokens").expect("reads");
        assert_eq!(tokens.value, ParamValue::Number(2e6));
        assert_eq!(tokens.unit.as_deref(), Some("tokens"));
        assert!(read_value("10%").expect("reads").percent);
        assert_eq!(read_value("0.5M").expect("reads").tolerance, Some(50_000.0));
        assert_eq!(read_value("4k").expect("reads").tolerance, Some(500.0));
        assert_eq!(read_value("4000").expect("reads").tolerance, None);
    }

    #[test]
    fn reads_lists_flags_and_text() {
        let pair = ParamValue::List(vec![ParamValue::Number(0.9), ParamValue::Number(0.95)]);
        assert_eq!(read_value("0.9, 0.95").expect("reads").value, pair);
        assert_eq!(read_value("(0.9, 0.95)").expect("reads").value, pair);
        assert_eq!(read_value("[0.9,0.95]").expect("reads").value, pair);
        assert_eq!(
            read_value("cosine").expect("reads").value,
            ParamValue::Text("cosine".into())
        );
        assert_eq!(
            read_value("\\textbf{AdamW}").expect("reads").value,
            ParamValue::Text("AdamW".into())
        );
        assert_eq!(
            read_value("yes").expect("reads").value,
            ParamValue::Bool(true)
        );
        assert_eq!(
            read_value("1e-4 to 1e-5").expect("reads").value,
            ParamValue::Text("1e-4 to 1e-5".into())
        );
        assert!(read_value("  ").is_err());
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(format_number(3e-4), "3e-4");
        assert_eq!(format_number(6.4e-4), "6.4e-4");
        assert_eq!(format_number(256.0), "256");
        assert_eq!(format_number(0.95), "0.95");
        assert_eq!(format_number(2e6), "2e6");
    }

    #[test]
    fn labels_and_agreement() {
        assert_eq!(optimizer_label("torch.optim.AdamW"), Some("adamw"));
        assert_eq!(optimizer_label("adamw_torch_fused"), Some("adamw"));
        assert_eq!(optimizer_label("Adam"), Some("adam"));
        assert_eq!(
            schedule_label("get_cosine_schedule_with_warmup"),
            Some("cosine")
        );
        assert_eq!(schedule_label("StepLR"), Some("step"));
        assert_eq!(
            precision_label(&ParamValue::Text("bf16-mixed".into())),
            Some("bf16")
        );
        assert_eq!(precision_label(&ParamValue::Number(16.0)), Some("fp16"));
        assert!(values_agree(
            "optimizer",
            &ParamValue::Text("AdamW".into()),
            &ParamValue::Text("torch.optim.AdamW".into())
        ));
        assert!(!values_agree(
            "optimizer",
            &ParamValue::Text("AdamW".into()),
            &ParamValue::Text("Adam".into())
        ));
        assert!(values_agree(
            "learning_rate",
            &ParamValue::Number(3e-4),
            &ParamValue::Number(3.0000001e-4)
        ));
        assert!(!values_agree(
            "learning_rate",
            &ParamValue::Number(3e-4),
            &ParamValue::Number(3.01e-4)
        ));
        assert!(values_agree(
            "dropout",
            &ParamValue::Bool(false),
            &ParamValue::Number(0.0)
        ));
    }

    #[test]
    fn describes_differences() {
        assert_eq!(describe_difference(3e-4, 3e-3), "10× higher");
        assert_eq!(describe_difference(0.1, 0.01), "10× lower");
        assert_eq!(describe_difference(0.1, 0.04), "2.5× lower");
        assert_eq!(describe_difference(0.1, 0.12), "20% higher");
        assert_eq!(describe_difference(1.0, 0.0), "set to 0 in the code");
    }
}
