//! Reading a table of hyperparameters pasted from a paper.
//!
//! Each line is one row, in any of these forms (they may be mixed):
//! - a markdown table row: `| Learning rate | 3e-4 |` (header and `|---|` rows are skipped);
//! - a LaTeX row: `Learning rate & $3 \times 10^{-4}$ \\` (`\toprule`, `\begin{tabular}` ...
//!   are skipped);
//! - `Learning rate: 3e-4` or `learning_rate = 3e-4`;
//! - two columns separated by a tab or by two or more spaces, as copied from a PDF;
//! - a single-spaced PDF line, `Learning rate 3e-4` or `Optimizer AdamW`, split after the
//!   longest leading name fmr knows (or before the first number);
//! - `Components: gradient clipping, EMA`, or bullet items (`- label smoothing`) naming a
//!   technique.
//!
//! A row whose value says yes (`Gradient clipping | ✓`) names a component. A line that cannot
//! be read is an error naming the line; a table with several value columns (`| | Base | Large
//! |`) is compared on its first value column, with a note.

use super::components::resolve_component;
use super::names::{normalize, resolve_paper_name};
use super::spec::{PaperSpec, SpecBuilder};
use super::value::{clean_latex, read_value};

/// Header words of a table's first row.
const HEADER_NAMES: &[&str] = &[
    "hyperparameter",
    "hyperparameters",
    "hyper parameter",
    "hyper parameters",
    "parameter",
    "parameters",
    "name",
    "setting",
    "settings",
    "config",
    "configuration",
    "hparam",
    "hparams",
    "",
];

const HEADER_VALUES: &[&str] = &["value", "values", "setting", "default", "choice"];

/// A row may be at most this many words before its value in the single-spaced form, so prose
/// sentences are not read as rows.
const MAX_NAME_WORDS: usize = 6;

pub fn parse_pasted(text: &str, origin: &str) -> Result<PaperSpec, super::spec::SpecError> {
    let mut spec = PaperSpec::default();
    let mut builder = SpecBuilder::new(origin);
    let mut header_seen = false;
    let mut columns_noted = false;
    for (index, raw_line) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw_line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || is_structural(line) {
            continue;
        }
        if let Some(title) = line.strip_prefix('#') {
            if spec.title.is_none() && !builder.has_content() {
                spec.title = Some(title.trim_start_matches('#').trim().to_owned());
            }
            continue;
        }
        if let Some(caption) = caption_text(line) {
            if spec.title.is_none() {
                spec.title = Some(caption);
            }
            continue;
        }
        if let Some(list) = components_line(line) {
            for name in list.split([',', ';']) {
                builder.add_component(name, Some(number));
            }
            continue;
        }
        if let Some(item) = bullet(line)
            && !item.contains([':', '=', '|', '\t'])
        {
            builder.add_component(item, Some(number));
            continue;
        }
        let line = bullet(line).unwrap_or(line);
        let cells = match split_row(line) {
            Ok(cells) => cells,
            Err(message) => {
                builder.problem(Some(number), message);
                continue;
            }
        };
        if !header_seen && is_header(&cells) {
            header_seen = true;
            if cells.len() > 2 {
                columns_noted = true;
                builder.note(format!(
                    "the table has {} value columns ({}); the first, `{}`, is compared",
                    cells.len() - 1,
                    cells[1..].join(", "),
                    cells[1]
                ));
            }
            continue;
        }
        header_seen = true;
        let name = cells[0].trim_end_matches(':').trim();
        let value = cells[1].trim();
        if name.is_empty() {
            builder.problem(Some(number), format!("`{line}` has a value but no name"));
            continue;
        }
        if cells.len() > 2 && !columns_noted {
            columns_noted = true;
            builder.note(format!(
                "rows have {} value columns; the first is compared",
                cells.len() - 1
            ));
        }
        match read_value(value) {
            Ok(read) => builder.add_param(name, read, &clean_latex(value), Some(number)),
            Err(reason) => {
                builder.problem(Some(number), format!("`{name}`: {reason}"));
            }
        }
    }
    builder.finish(spec)
}

/// LaTeX table scaffolding and markdown separator rows.
fn is_structural(line: &str) -> bool {
    const LATEX: &[&str] = &[
        "\\begin",
        "\\end",
        "\\hline",
        "\\toprule",
        "\\midrule",
        "\\bottomrule",
        "\\cmidrule",
        "\\cline",
        "\\centering",
        "\\label",
        "\\small",
        "\\footnotesize",
        "\\scriptsize",
        "\\resizebox",
        "\\vspace",
        "\\renewcommand",
        "\\setlength",
        "%",
        "//",
        "}",
        "```",
    ];
    if LATEX.iter().any(|prefix| line.starts_with(prefix)) {
        return true;
    }
    line.contains('-')
        && line
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '+' | '='))
}

/// `Table 3: Hyperparameters for ...` or `\caption{...}`.
fn caption_text(line: &str) -> Option<String> {
    if let Some(rest) = line.strip_prefix("\\caption") {
        return Some(clean_latex(rest).trim().to_owned());
    }
    let lower = line.to_lowercase();
    let rest = lower.strip_prefix("table")?;
    let starts_with_number = rest.trim_start().starts_with(|c: char| c.is_ascii_digit());
    (rest.starts_with(' ') && starts_with_number && !line.contains(['|', '&', '\t']))
        .then(|| line.trim().to_owned())
}

/// `Components: a, b` / `Techniques - a, b`.
fn components_line(line: &str) -> Option<&str> {
    let (head, rest) = line.split_once([':', '='])?;
    matches!(
        normalize(head).as_str(),
        "components" | "techniques" | "tricks" | "uses" | "methods"
    )
    .then_some(rest.trim())
}

/// The text of a `- item`, `* item` or `• item` line.
fn bullet(line: &str) -> Option<&str> {
    ["- ", "* ", "• ", "+ "]
        .iter()
        .find_map(|marker| line.strip_prefix(marker))
        .map(str::trim)
}

fn is_header(cells: &[String]) -> bool {
    let first = normalize(&clean_latex(&cells[0]));
    let second = normalize(&clean_latex(&cells[1]));
    HEADER_NAMES.contains(&first.as_str()) || HEADER_VALUES.contains(&second.as_str())
}

/// Splits a row into name and value cells (at least two).
fn split_row(line: &str) -> Result<Vec<String>, String> {
    let cells: Vec<String> = if line.contains('|') {
        let mut parts: Vec<&str> = line.split('|').map(str::trim).collect();
        if parts.first() == Some(&"") {
            parts.remove(0);
        }
        if parts.last() == Some(&"") {
            parts.pop();
        }
        parts.into_iter().map(str::to_owned).collect()
    } else if has_latex_separator(line) {
        latex_cells(line)
    } else if line.contains('\t') {
        line.split('\t')
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(str::to_owned)
            .collect()
    } else if line.contains("  ") {
        line.split("  ")
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(str::to_owned)
            .collect()
    } else if let Some((name, value)) = split_assignment(line) {
        vec![name.to_owned(), value.to_owned()]
    } else {
        return split_single_spaced(line).ok_or_else(|| {
            format!(
                "cannot tell the name from the value in `{line}`; write `name: value`, a table \
                 row `| name | value |`, or separate the two columns with a tab"
            )
        });
    };
    if cells.len() < 2 {
        // `Learning rate:   3e-4` splits on spaces into one cell with a colon inside.
        if let Some((name, value)) = cells.first().and_then(|cell| split_assignment(cell)) {
            return Ok(vec![name.to_owned(), value.to_owned()]);
        }
        return Err(format!(
            "`{line}` has a name but no value; write `name: value` or `| name | value |`"
        ));
    }
    Ok(cells)
}

/// An unescaped `&`.
fn has_latex_separator(line: &str) -> bool {
    line.char_indices()
        .any(|(at, c)| c == '&' && !line[..at].ends_with('\\'))
}

fn latex_cells(line: &str) -> Vec<String> {
    let mut row = line.trim();
    for ending in ["\\hline", "\\midrule", "\\bottomrule"] {
        row = row.trim_end_matches(ending).trim();
    }
    let row = row.trim_end_matches("\\\\").trim();
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut previous = '\0';
    for c in row.chars() {
        if c == '&' && previous != '\\' {
            cells.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
        previous = c;
    }
    cells.push(current);
    cells
        .into_iter()
        .map(|cell| clean_latex(&cell).trim().to_owned())
        .collect()
}

/// `name: value` or `name = value`.
fn split_assignment(line: &str) -> Option<(&str, &str)> {
    let at = line.find([':', '='])?;
    let (name, value) = (line[..at].trim(), line[at + 1..].trim());
    (!name.is_empty() && !value.is_empty()).then_some((name, value))
}

/// `Learning rate 3e-4`, `Optimizer AdamW`, `Adam β1 0.9`: the longest leading run of words
/// that names a known hyperparameter or component, else the words before the first number.
fn split_single_spaced(line: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 2 {
        return None;
    }
    for count in (1..words.len()).rev() {
        let name = words[..count].join(" ");
        if resolve_paper_name(&name).known || resolve_component(&name).is_some() {
            return Some(vec![name, words[count..].join(" ")]);
        }
    }
    let first_number = words.iter().position(|word| {
        word.trim_start_matches(['(', '[', '~', '$', '-'])
            .starts_with(|c: char| c.is_ascii_digit() || c == '.')
    })?;
    if first_number == 0 || first_number > MAX_NAME_WORDS {
        return None;
    }
    Some(vec![
        words[..first_number].join(" "),
        words[first_number..].join(" "),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::value::ParamValue;

    fn params(text: &str) -> Vec<(String, ParamValue)> {
        parse_pasted(text, "pasted")
            .expect("reads")
            .hyperparameters
            .into_iter()
            .map(|param| (param.param, param.value))
            .collect()
    }

    #[test]
    fn reads_each_row_form() {
        let expected = vec![("learning_rate".to_owned(), ParamValue::Number(3e-4))];
        assert_eq!(params("| Learning rate | 3e-4 |"), expected);
        assert_eq!(params("Learning rate & $3 \\times 10^{-4}$ \\\\"), expected);
        assert_eq!(params("Learning rate: 3e-4"), expected);
        assert_eq!(params("learning_rate = 3e-4"), expected);
        assert_eq!(params("Learning rate\t3e-4"), expected);
        assert_eq!(params("Learning rate     3e-4"), expected);
        assert_eq!(params("Learning rate 3e-4"), expected);
        assert_eq!(params("Peak LR 3 × 10-4"), expected);
    }

    #[test]
    fn single_spaced_rows_split_after_the_longest_known_name() {
        assert_eq!(
            params("Learning rate schedule cosine"),
            vec![(
                "lr_scheduler".to_owned(),
                ParamValue::Text("cosine".to_owned())
            )]
        );
        assert_eq!(
            params("Adam β2 0.95"),
            vec![("adam_beta2".to_owned(), ParamValue::Number(0.95))]
        );
        assert_eq!(
            params("Mask ratio 0.75"),
            vec![("mask_ratio".to_owned(), ParamValue::Number(0.75))]
        );
    }

    #[test]
    fn yes_rows_and_bullets_are_components() {
        let spec = parse_pasted(
            "| Gradient clipping | ✓ |\n- label smoothing\nComponents: EMA, warmup\n",
            "pasted",
        )
        .expect("reads");
        let components: Vec<Option<&str>> = spec
            .components
            .iter()
            .map(|c| c.component.as_deref())
            .collect();
        assert_eq!(
            components,
            [
                Some("gradient_clipping"),
                Some("label_smoothing"),
                Some("ema"),
                Some("warmup")
            ]
        );
    }

    #[test]
    fn several_value_columns_compare_the_first() {
        let spec = parse_pasted(
            "| | Base | Large |\n|---|---|---|\n| Learning rate | 6e-4 | 3e-4 |\n",
            "pasted",
        )
        .expect("reads");
        assert_eq!(
            spec.get("learning_rate").map(|p| &p.value),
            Some(&ParamValue::Number(6e-4))
        );
        assert_eq!(
            spec.notes,
            ["the table has 2 value columns (Base, Large); the first, `Base`, is compared"]
        );
    }

    #[test]
    fn unreadable_lines_are_errors_naming_the_line() {
        let error = parse_pasted(
            "Learning rate: 3e-4\nWe train the model with great care and patience for weeks\n",
            "pasted",
        )
        .expect_err("prose is not a row");
        assert_eq!(error.problems.len(), 1);
        assert_eq!(error.problems[0].line, Some(2));
        assert!(
            error
                .to_string()
                .starts_with("pasted:2: cannot tell the name"),
            "{error}"
        );
        let error = parse_pasted("| Learning rate | fast |", "pasted").expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "pasted:1: `Learning rate` (learning rate) should be a number, found `fast`"
        );
    }
}
