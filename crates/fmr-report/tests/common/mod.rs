//! Shared by the HTML tests: the example investigation and a readable outline
//! of a page.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::PathBuf;
use std::sync::OnceLock;

use fmr_core::{Report, Run};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The report of examples/fp16-nan as `fmr investigate` makes it today, the
/// runs it read, and the page. Computed once per test binary.
pub fn example_page() -> (Report, Vec<Run>, String) {
    static PAGE: OnceLock<(Report, Vec<Run>, String)> = OnceLock::new();
    PAGE.get_or_init(|| {
        let example = repo_root().join("examples/fp16-nan");
        let symptom = std::fs::read_to_string(example.join("symptom.txt")).unwrap();
        let inputs = fmr_engine::Inputs {
            paths: vec![example.join("logs")],
            code: Some(example.join("code")),
            symptom: Some(symptom),
            ..Default::default()
        };
        let report = fmr_engine::Engine::new().unwrap().investigate(&inputs);
        let runs = fmr_ingest::ingest(&inputs.paths).runs;
        let html = fmr_report::render_html_with_runs(&report, &runs);
        (report, runs, html)
    })
    .clone()
}

/// The page's headings, figure captions, folded sections and checklist items,
/// one per line and indented by level: what a reader skimming it would see.
pub fn outline(html: &str) -> String {
    const TAGS: &[(&str, &str)] = &[
        ("h1", ""),
        ("h2", "  "),
        ("h3", "    "),
        ("summary", "    > "),
        ("figcaption", "    [plot] "),
        ("label", "    [ ] "),
    ];
    let mut lines = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let Some((_, indent)) = TAGS.iter().find(|(tag, _)| *tag == name) else {
            continue;
        };
        let Some(body_start) = rest.find('>') else {
            break;
        };
        let close = format!("</{name}>");
        let Some(body_len) = rest[body_start..].find(&close) else {
            break;
        };
        let body = &rest[body_start + 1..body_start + body_len];
        lines.push(format!("{indent}{}", text_of(body)));
        rest = &rest[body_start + body_len..];
    }
    lines.join("\n")
}

/// Visible text of an HTML fragment: tags dropped, entities decoded, spaces collapsed.
fn text_of(fragment: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for ch in fragment.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A frozen report of examples/fp16-nan (tests/fixtures/fp16-nan.report.json)
/// with the example's runs, so that rendering is tested apart from the engine.
/// Regenerate the fixture with `fmr investigate ... --format json` when the
/// report schema changes.
pub fn fixture_page() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fp16-nan.report.json");
    let report: Report = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let runs = fmr_ingest::ingest(&[repo_root().join("examples/fp16-nan/logs")]).runs;
    fmr_report::render_html_with_runs(&report, &runs)
}
