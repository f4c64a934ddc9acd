//! The HTML page of a real investigation (examples/fp16-nan): self-contained,
//! with the plots, the sections in triage order and the plan as a checklist.
//! `browser.rs` renders the same page in headless Chromium.

mod common;

use common::{example_page, fixture_page, outline};

#[test]
fn the_page_is_self_contained() {
    let (_, _, html) = example_page();
    for forbidden in [
        "<script", "<link", "<img", "<iframe", " src=", "url(", "@import",
    ] {
        assert!(
            !html.contains(forbidden),
            "the page must load nothing: found {forbidden:?}"
        );
    }
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<meta name=\"viewport\""));
}

#[test]
fn the_key_metrics_are_plotted_with_their_symptoms() {
    let (report, runs, html) = example_page();
    let plots = html.matches("<svg class=\"plot\"").count();
    let series: usize = runs.iter().map(|r| r.series.len()).sum();
    assert_eq!(
        plots,
        series.min(6),
        "every series of the example's one run"
    );
    // Loss and gradient norm go NaN at 2,140: both carry the shade, the band and the onset.
    for tag in ["train/loss", "train/grad_norm"] {
        let start = html
            .find(&format!("aria-label=\"logs · {tag}\""))
            .unwrap_or_else(|| panic!("{tag} is plotted"));
        let figure = &html[start..start + html[start..].find("</figure>").unwrap()];
        assert!(figure.contains("NaN/Inf"), "{tag}: non-finite band");
        assert!(figure.contains("onset 2,140"), "{tag}: onset marker");
        assert!(figure.contains("S101"), "{tag}: symptom window label");
    }
    assert_eq!(
        html.matches("type=\"checkbox\"").count(),
        report.next_steps.len()
    );
}

#[test]
fn sections_come_in_triage_order() {
    let (_, _, html) = example_page();
    let order: Vec<usize> = [
        "class=\"verdict\"",
        "id=\"characterization\"",
        "id=\"metrics\"",
        "id=\"hypotheses\"",
        "id=\"code\"",
        "id=\"plan\"",
    ]
    .iter()
    .map(|marker| {
        html.find(marker)
            .unwrap_or_else(|| panic!("{marker} missing"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn without_runs_the_page_has_no_plots_but_everything_else() {
    let (report, _, _) = example_page();
    let html = fmr_report::render_html(&report);
    assert!(!html.contains("<svg"));
    assert!(!html.contains("id=\"metrics\""));
    assert!(html.contains("id=\"hypotheses\"") && html.contains("id=\"plan\""));
}

#[test]
fn page_outline() {
    insta::assert_snapshot!(outline(&fixture_page()));
}

#[test]
fn hostile_text_is_escaped_and_links_are_web_only() {
    let (mut report, runs, _) = example_page();
    report.characterization.expected = Some("<script>alert(1)</script>".into());
    if let Some(h) = report.hypotheses.first_mut() {
        h.title = "\"><img src=x onerror=alert(1)>".into();
        if let Some(source) = h.sources.first_mut() {
            source.url = "javascript:alert(1)".into();
        }
    }
    let html = fmr_report::render_html_with_runs(&report, &runs);
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("href=\"javascript:"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}
