//! The report as one self-contained HTML page: inline CSS and inline SVG plots,
//! no scripts, and nothing fetched when it is opened (links to sources are
//! plain links). Readable on a laptop (two plot columns) and on a phone (one
//! column, tables scroll sideways).
//!
//! Order follows how a reader triages: the verdict first, then the
//! characterization and the curves it was read from, the ranked hypotheses with
//! their evidence, what the auditors found in the code, what the sources say
//! together, and the plan as a checklist.

use std::fmt::Write as _;

use fmr_core::{
    AuditFinding, EvidenceKind, Hypothesis, HypothesisStatus, MetricRole, Report, Run, Series,
    Source, Symptom, TriedOutcome,
};

use crate::plot::{self, Marker, Shade, step_number, thousands};
use crate::{effort, environment_line, percent};

/// Plots per run and in all: the key metrics, not every logged series.
const MAX_PLOTS_PER_RUN: usize = 6;
const MAX_PLOTS: usize = 12;
/// Hypotheses shown open; the rest start folded.
const OPEN_HYPOTHESES: usize = 3;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            other => s.push(other),
        }
    }
    s
}

/// The page without plots (no metric series at hand).
pub fn render_html(report: &Report) -> String {
    render_html_with_runs(report, &[])
}

/// The page with SVG plots of the key metrics of `runs` (the runs the report
/// was made from): symptom windows shaded, the onset marked, NaN/Inf steps
/// drawn as a red band.
pub fn render_html_with_runs(report: &Report, runs: &[Run]) -> String {
    let plots = choose_plots(report, runs);
    let mut out = String::with_capacity(64 * 1024);
    head(&mut out, report);
    nav(&mut out, report, !plots.chosen.is_empty());
    out.push_str("<main>");
    verdict(&mut out, report);
    problems(&mut out, report);
    characterization(&mut out, report);
    metrics(&mut out, &plots);
    hypotheses(&mut out, report);
    code(&mut out, report);
    research(&mut out, report);
    plan(&mut out, report);
    queries(&mut out, report);
    let _ = writeln!(
        out,
        "</main><footer>fmr {} · report schema {} · this page is self-contained: it loads nothing from the network.</footer></body></html>",
        esc(&report.tool.version),
        esc(&report.schema_version)
    );
    out
}

const STYLE: &str = r#"
:root{--fg:#1d232a;--muted:#5b6670;--line:#dde2e7;--card:#f6f8fa;--accent:#1f6fb2;--bad:#b3261e;--good:#2e7d32;--warn:#9a5b00;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff;-webkit-text-size-adjust:100%}
main{max-width:68rem;margin:0 auto;padding:0 1rem 2rem}
nav{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid var(--line);overflow-x:auto;white-space:nowrap;padding:.4rem 1rem}
nav a{color:var(--accent);text-decoration:none;margin-right:1rem;font-size:.9rem}
nav b{margin-right:1.2rem}
h1{font-size:1.6rem;margin:1.2rem 0 .4rem}
h2{font-size:1.3rem;margin:2rem 0 .6rem;padding-top:.4rem;border-top:2px solid var(--line);scroll-margin-top:3rem}
h3{font-size:1.05rem;margin:1rem 0 .3rem}
a{color:var(--accent);overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
code{background:var(--card);padding:.05rem .3rem;border-radius:.2rem;overflow-wrap:anywhere}
pre{background:var(--card);padding:.6rem .8rem;border-radius:.3rem;overflow-x:auto;margin:.4rem 0}
.muted,small{color:var(--muted)}
.verdict{background:var(--card);border-left:4px solid var(--accent);padding:.8rem 1rem;border-radius:.3rem}
.verdict p{margin:.3rem 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);white-space:nowrap}
td code,td.nowrap{white-space:nowrap;overflow-wrap:normal}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.6rem 0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(24rem,1fr));gap:1rem}
figure{margin:0;border:1px solid var(--line);border-radius:.4rem;padding:.5rem;min-width:0}
svg.plot{display:block;width:100%;height:auto}
figcaption{font-size:.88rem;margin-top:.3rem}
figcaption ul{margin:.2rem 0 0;padding-left:1.1rem}
.legend span{display:inline-block;margin-right:.8rem}
.swatch{display:inline-block;width:.9rem;height:.6rem;margin-right:.3rem;vertical-align:middle;border-radius:.1rem}
details.hyp{border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:.4rem;margin:.7rem 0;padding:.2rem .9rem .6rem}
details.hyp.lowered{border-left-color:var(--warn)}
details.hyp.eliminated{border-left-color:var(--bad);opacity:.8}
details>summary{cursor:pointer;padding:.4rem 0;list-style-position:outside}
.hyp summary{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .7rem;font-weight:600}
.rank{color:var(--muted)}
.bar{display:inline-block;width:6rem;height:.55rem;background:var(--line);border-radius:.3rem;overflow:hidden;vertical-align:middle}
.bar>span{display:block;height:100%;background:var(--accent)}
.badge{display:inline-block;font-size:.75rem;font-weight:600;padding:.05rem .45rem;border-radius:1rem;background:var(--line);color:var(--fg);white-space:nowrap}
.badge.lowered,.badge.partial{background:#fbe7c6;color:#6b3f00}
.badge.eliminated,.badge.failed{background:#f7d4d1;color:#7d1a14}
.badge.helped{background:#d5ecd6;color:#1b4d1e}
ul.evidence{list-style:none;padding:0;margin:.3rem 0}
ul.evidence li{padding:.15rem 0 .15rem 4.2rem;text-indent:-4.2rem}
.w{display:inline-block;width:3.6rem;text-indent:0;text-align:right;margin-right:.6rem;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
.pos .w{color:var(--good)}
.neg .w{color:var(--bad)}
.kind{font-size:.78rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;margin-right:.4rem}
article.finding{border:1px solid var(--line);border-radius:.4rem;padding:.3rem .9rem;margin:.7rem 0}
pre.snippet .ln{color:var(--muted);user-select:none;margin-right:1rem}
ol.plan{list-style:none;padding:0;counter-reset:step}
ol.plan>li{border:1px solid var(--line);border-radius:.4rem;padding:.6rem .9rem;margin:.7rem 0;counter-increment:step}
ol.plan label{display:flex;gap:.6rem;align-items:flex-start;font-weight:600;cursor:pointer}
ol.plan label::before{content:counter(step) ".";color:var(--muted);min-width:1.4rem}
ol.plan input{margin-top:.35rem;width:1.1rem;height:1.1rem;flex:none}
ol.plan input:checked+span{text-decoration:line-through;color:var(--muted)}
ol.plan p{margin:.3rem 0 0 2rem}
footer{max-width:68rem;margin:0 auto;padding:1rem;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line)}
@media (max-width:44rem){
 body{font-size:15px}
 main{padding:0 .7rem 2rem}
 .plots{grid-template-columns:1fr}
 dl.facts{grid-template-columns:1fr}
 dl.facts dd{margin-bottom:.4rem}
 ol.plan p{margin-left:0}
 .bar{width:4rem}
 table.stack thead{display:none}
 table.stack tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}
 table.stack td{display:block;border:0;padding:.1rem 0}
 table.stack td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:.85rem}
 table.stack td code{white-space:normal;overflow-wrap:anywhere}
}
@media print{nav{display:none}}
"#;

fn head(out: &mut String, report: &Report) {
    let title = match report.hypotheses.first() {
        Some(h) => format!("fmr: {} — {}", h.id, h.title),
        None => "fmr investigation".to_string(),
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
}

fn nav(out: &mut String, report: &Report, has_plots: bool) {
    out.push_str("<nav><b>fmr</b>");
    let mut link = |id: &str, label: &str| {
        let _ = write!(out, "<a href=\"#{id}\">{label}</a>");
    };
    link("characterization", "Symptoms");
    if has_plots {
        link("metrics", "Metrics");
    }
    link("hypotheses", "Hypotheses");
    if !report.delegations.is_empty() || !report.audit_findings.is_empty() {
        link("code", "Code");
    }
    if !report.findings.is_empty() || has_synthesis(report) {
        link("research", "Research");
    }
    link("plan", "Plan");
    out.push_str("</nav>");
}

fn verdict(out: &mut String, report: &Report) {
    out.push_str("<h1>fmr investigation</h1><section class=\"verdict\">");
    let ranked: Vec<&Hypothesis> = report
        .hypotheses
        .iter()
        .filter(|h| h.status != HypothesisStatus::Eliminated)
        .collect();
    match ranked.first() {
        Some(top) => {
            let _ = write!(
                out,
                "<p><b>Most likely:</b> <a href=\"#{}\">{} — {}</a> <span class=\"badge\">{}</span></p><p>{}</p>",
                anchor(&top.id),
                esc(&top.id),
                esc(&top.title),
                percent(top.likelihood),
                esc(&top.root_cause)
            );
            let next: Vec<String> = ranked
                .iter()
                .skip(1)
                .take(3)
                .map(|h| {
                    format!(
                        "<a href=\"#{}\">{}</a> {} ({})",
                        anchor(&h.id),
                        esc(&h.id),
                        esc(&h.title),
                        percent(h.likelihood)
                    )
                })
                .collect();
            if !next.is_empty() {
                let _ = write!(out, "<p><b>Then:</b> {}</p>", next.join(" · "));
            }
        }
        None => out.push_str("<p>No failure mode of the knowledge base fits the evidence.</p>"),
    }
    if let Some(step) = report.next_steps.first() {
        let _ = write!(
            out,
            "<p><b>First step:</b> <a href=\"#plan\">{}</a></p>",
            esc(&step.action)
        );
    }
    let points: usize = report.inputs.iter().map(|i| i.points).sum();
    let _ = write!(
        out,
        "<p class=\"muted\">Read {} run{} ({} points) · {} code finding{} · {} unreadable input{}</p></section>",
        report.inputs.len(),
        plural(report.inputs.len()),
        thousands(points as i64),
        report.audit_findings.len(),
        plural(report.audit_findings.len()),
        report.problems.len(),
        plural(report.problems.len())
    );
}

fn problems(out: &mut String, report: &Report) {
    if report.problems.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"problems\">Inputs that could not be read</h2><ul>");
    for p in &report.problems {
        let _ = write!(
            out,
            "<li><code>{}</code>: {}</li>",
            esc(&p.path),
            esc(&p.problem)
        );
    }
    out.push_str("</ul>");
}

fn characterization(out: &mut String, report: &Report) {
    let c = &report.characterization;
    out.push_str("<h2 id=\"characterization\">Characterization</h2>");
    if c.symptoms.is_empty() {
        out.push_str("<p>No symptom was detected or described.</p>");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table class=\"stack\"><thead><tr><th>code</th><th>symptom</th><th>metric</th><th>steps</th><th>what was seen</th></tr></thead><tbody>",
        );
        for s in &c.symptoms {
            let _ = write!(
                out,
                "<tr><td><b>{}</b></td><td data-label=\"symptom\">{}</td><td data-label=\"metric\">{}</td><td class=\"nowrap\" data-label=\"steps\">{}</td><td>{}</td></tr>",
                esc(&s.code),
                esc(&s.kind.as_str().replace('_', " ")),
                s.metric
                    .as_deref()
                    .map(|m| format!("<code>{}</code>", esc(m)))
                    .unwrap_or_default(),
                s.window
                    .map(|w| format!(
                        "{}–{}",
                        step_number(w.start as f64),
                        step_number(w.end as f64)
                    ))
                    .unwrap_or_default(),
                esc(&s.statement)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("<dl class=\"facts\">");
    if let Some(onset) = &c.onset {
        let _ = write!(
            out,
            "<dt>Onset</dt><dd>step {} — {}</dd>",
            step_number(onset.step as f64),
            esc(&onset.statement)
        );
    }
    if let Some(expected) = &c.expected {
        let _ = write!(out, "<dt>Expected</dt><dd>{}</dd>", esc(expected));
    }
    for change in &c.changes {
        let _ = write!(out, "<dt>Changed</dt><dd>{}</dd>", esc(change));
    }
    for tried in &c.tried {
        let (class, label) = match tried.outcome {
            TriedOutcome::Failed => ("failed", "did not help"),
            TriedOutcome::Helped => ("helped", "helped"),
            TriedOutcome::Partial => ("partial", "partly helped"),
            TriedOutcome::Unknown => ("", "outcome unknown"),
        };
        let _ = write!(
            out,
            "<dt>Tried</dt><dd>{} <span class=\"badge {class}\">{label}</span></dd>",
            esc(&tried.text)
        );
    }
    let _ = write!(
        out,
        "<dt>Environment</dt><dd>{}</dd></dl>",
        esc(&environment_line(report))
    );
    if !c.gaps.is_empty() {
        out.push_str("<h3>Open questions</h3><ul>");
        for gap in &c.gaps {
            let _ = write!(
                out,
                "<li>{} <small>({})</small></li>",
                esc(&gap.question),
                esc(&gap.field)
            );
        }
        out.push_str("</ul>");
    }
}

/// One series picked for a plot, with what to draw on it.
struct PlotChoice<'r> {
    run: &'r Run,
    series: &'r Series,
    shades: Vec<Shade>,
    markers: Vec<Marker>,
    symptoms: Vec<&'r Symptom>,
}

struct Plots<'r> {
    chosen: Vec<PlotChoice<'r>>,
    /// `run · tag` of the series left out.
    left_out: Vec<String>,
}

/// The key metrics: series with a symptom first, then losses, then the usual
/// suspects (gradient norm, learning rate, loss scale, accuracy, RL signals),
/// then the rest, up to the limits.
fn choose_plots<'r>(report: &'r Report, runs: &'r [Run]) -> Plots<'r> {
    let symptoms = &report.characterization.symptoms;
    let onset = report.characterization.onset.as_ref();
    let mut chosen = Vec::new();
    let mut left_out = Vec::new();
    for run in runs {
        let mut candidates: Vec<(u8, usize, &Series)> = run
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.points.is_empty())
            .map(|(i, s)| {
                let has_symptom = symptoms.iter().any(|sym| seen_on(sym, run, s));
                let is_onset_metric = onset.and_then(|o| o.metric.as_deref()) == Some(&s.tag);
                let priority = if has_symptom || is_onset_metric {
                    0
                } else {
                    role_priority(fmr_detect::role_of(&s.tag))
                };
                (priority, i, s)
            })
            .collect();
        candidates.sort_by_key(|(priority, index, _)| (*priority, *index));
        for (rank, (_, _, series)) in candidates.into_iter().enumerate() {
            if rank >= MAX_PLOTS_PER_RUN || chosen.len() >= MAX_PLOTS {
                left_out.push(format!("{} · {}", run.name, series.tag));
                continue;
            }
            let on_this: Vec<&Symptom> = symptoms
                .iter()
                .filter(|sym| seen_on(sym, run, series))
                .collect();
            chosen.push(PlotChoice {
                run,
                series,
                shades: shades_for(&on_this),
                markers: onset
                    .map(|o| Marker {
                        step: o.step,
                        label: format!("onset {}", step_number(o.step as f64)),
                    })
                    .into_iter()
                    .collect(),
                symptoms: on_this,
            });
        }
    }
    Plots { chosen, left_out }
}

fn seen_on(symptom: &Symptom, run: &Run, series: &Series) -> bool {
    symptom.metric.as_deref() == Some(series.tag.as_str())
        && symptom.run.as_deref().is_none_or(|name| name == run.name)
}

fn role_priority(role: Option<MetricRole>) -> u8 {
    match role {
        Some(MetricRole::TrainLoss | MetricRole::ValLoss) => 1,
        Some(
            MetricRole::GradNorm
            | MetricRole::LearningRate
            | MetricRole::LossScale
            | MetricRole::TrainAccuracy
            | MetricRole::ValAccuracy
            | MetricRole::Reward
            | MetricRole::Entropy
            | MetricRole::Kl,
        ) => 2,
        Some(_) => 3,
        None => 4,
    }
}

/// One shade per distinct window, labelled with the codes seen in it.
fn shades_for(symptoms: &[&Symptom]) -> Vec<Shade> {
    let mut shades: Vec<Shade> = Vec::new();
    for symptom in symptoms {
        let Some(window) = symptom.window else {
            continue;
        };
        match shades
            .iter_mut()
            .find(|s| s.start == window.start && s.end == window.end)
        {
            Some(shade) if !shade.label.split(' ').any(|c| c == symptom.code) => {
                shade.label.push(' ');
                shade.label.push_str(&symptom.code);
            }
            Some(_) => {}
            None => shades.push(Shade {
                start: window.start,
                end: window.end,
                label: symptom.code.clone(),
            }),
        }
    }
    shades
}

fn metrics(out: &mut String, plots: &Plots<'_>) {
    if plots.chosen.is_empty() {
        return;
    }
    out.push_str(
        "<h2 id=\"metrics\">Metrics</h2><p class=\"legend muted\">\
<span><i class=\"swatch\" style=\"background:#1f6fb2\"></i>value</span>\
<span><i class=\"swatch\" style=\"background:rgba(232,125,30,.35)\"></i>symptom window</span>\
<span><i class=\"swatch\" style=\"background:#b3261e\"></i>NaN/Inf steps</span>\
<span><i class=\"swatch\" style=\"border-top:2px dashed #b3261e;height:0\"></i>onset</span></p><div class=\"plots\">",
    );
    for choice in &plots.chosen {
        let title = format!("{} · {}", choice.run.name, choice.series.tag);
        let Some(drawn) = plot::render(
            &choice.series.points,
            &choice.shades,
            &choice.markers,
            &title,
        ) else {
            continue;
        };
        let (first, last) = step_span(&choice.series.points);
        let mut facts = vec![format!(
            "{} points, steps {}–{}",
            thousands(drawn.points as i64),
            step_number(first as f64),
            step_number(last as f64)
        )];
        if drawn.non_finite > 0 {
            facts.push(format!("{} NaN/Inf", thousands(drawn.non_finite as i64)));
        }
        if drawn.log_scale {
            facts.push("log scale".to_string());
        }
        let _ = write!(
            out,
            "<figure>{}<figcaption><b>{}</b> <code>{}</code> <span class=\"muted\">{}</span>",
            drawn.svg,
            esc(&choice.run.name),
            esc(&choice.series.tag),
            facts.join(" · ")
        );
        if !choice.symptoms.is_empty() {
            out.push_str("<ul>");
            for symptom in &choice.symptoms {
                let _ = write!(
                    out,
                    "<li><b>{}</b> {}</li>",
                    esc(&symptom.code),
                    esc(&symptom.statement)
                );
            }
            out.push_str("</ul>");
        }
        out.push_str("</figcaption></figure>");
    }
    out.push_str("</div>");
    if !plots.left_out.is_empty() {
        let _ = write!(
            out,
            "<p class=\"muted\">Not plotted: {}.</p>",
            plots
                .left_out
                .iter()
                .map(|name| esc(name))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn step_span(points: &[fmr_core::Point]) -> (i64, i64) {
    points.iter().fold((i64::MAX, i64::MIN), |(lo, hi), p| {
        (lo.min(p.step), hi.max(p.step))
    })
}

fn hypotheses(out: &mut String, report: &Report) {
    out.push_str("<h2 id=\"hypotheses\">Hypotheses</h2>");
    if report.hypotheses.is_empty() {
        out.push_str("<p>No hypothesis: describe the symptom or give logs that show it.</p>");
        return;
    }
    for (index, h) in report.hypotheses.iter().enumerate() {
        let (class, badge) = match h.status {
            HypothesisStatus::Active => ("", ""),
            HypothesisStatus::Lowered => {
                ("lowered", "<span class=\"badge lowered\">lowered</span>")
            }
            HypothesisStatus::Eliminated => (
                "eliminated",
                "<span class=\"badge eliminated\">eliminated</span>",
            ),
        };
        let open = index < OPEN_HYPOTHESES && h.status != HypothesisStatus::Eliminated;
        let _ = write!(
            out,
            "<details class=\"hyp {class}\" id=\"{}\"{}><summary><span class=\"rank\">{}.</span>\
<span>{} — {}</span><span><span class=\"bar\"><span style=\"width:{:.1}%\"></span></span> {}</span>{badge}</summary>",
            anchor(&h.id),
            if open { " open" } else { "" },
            index + 1,
            esc(&h.id),
            esc(&h.title),
            (h.likelihood * 100.0).clamp(0.0, 100.0),
            percent(h.likelihood),
        );
        let _ = write!(out, "<p><b>Root cause:</b> {}</p>", esc(&h.root_cause));
        if !h.evidence.is_empty() {
            out.push_str("<h3>Evidence</h3><ul class=\"evidence\">");
            for e in &h.evidence {
                let _ = write!(
                    out,
                    "<li class=\"{}\"><span class=\"w\">{:+.2}</span><span class=\"kind\">{}</span>{}</li>",
                    if e.weight < 0.0 { "neg" } else { "pos" },
                    e.weight,
                    evidence_kind(e.kind),
                    esc(&e.statement)
                );
            }
            out.push_str("</ul>");
        }
        list(out, "Fixes, best first", &h.fixes, true);
        list(out, "What tells it apart", &h.distinguish, false);
        list(out, "Other causes", &h.other_causes, false);
        let mut meta = Vec::new();
        if !h.levels.is_empty() {
            meta.push(format!(
                "found at search level {}",
                h.levels
                    .iter()
                    .map(|l| format!("L{l}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !h.domains.is_empty() {
            meta.push(format!("fields: {}", h.domains.join(", ")));
        }
        if !meta.is_empty() {
            let _ = write!(out, "<p class=\"muted\">{}</p>", esc(&meta.join(" · ")));
        }
        if !h.sources.is_empty() {
            out.push_str("<h3>Sources</h3><ul>");
            for source in &h.sources {
                out.push_str("<li>");
                source_line(out, source);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        out.push_str("</details>");
    }
}

fn list(out: &mut String, title: &str, items: &[String], ordered: bool) {
    if items.is_empty() {
        return;
    }
    let tag = if ordered { "ol" } else { "ul" };
    let _ = write!(out, "<h3>{}</h3><{tag}>", esc(title));
    for item in items {
        let _ = write!(out, "<li>{}</li>", esc(item));
    }
    let _ = write!(out, "</{tag}>");
}

fn code(out: &mut String, report: &Report) {
    if report.delegations.is_empty() && report.audit_findings.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"code\">Code: delegations and findings</h2>");
    if !report.delegations.is_empty() {
        out.push_str(
            "<div class=\"scroll\"><table class=\"stack\"><thead><tr><th>auditor</th><th>hypothesis</th><th>where</th><th>look for</th><th>findings</th></tr></thead><tbody>",
        );
        for d in &report.delegations {
            let _ = write!(
                out,
                "<tr><td data-label=\"auditor\">{}</td><td data-label=\"hypothesis\"><a href=\"#{}\">{}</a></td><td data-label=\"where\">{}</td><td data-label=\"look for\">{}</td><td data-label=\"findings\">{}</td></tr>",
                esc(&d.auditor.replace('_', " ")),
                anchor(&d.hypothesis),
                esc(&d.hypothesis),
                d.location
                    .as_deref()
                    .map(|l| format!("<code>{}</code>", esc(l)))
                    .unwrap_or_else(|| "<span class=\"muted\">not located</span>".to_string()),
                esc(&d.look_for),
                d.findings
            );
        }
        out.push_str("</tbody></table></div>");
    }
    if report.audit_findings.is_empty() {
        out.push_str("<p>The auditors found nothing in the code.</p>");
    }
    for f in &report.audit_findings {
        finding(out, f);
    }
}

fn finding(out: &mut String, f: &AuditFinding) {
    let _ = write!(
        out,
        "<article class=\"finding\"><h3><code>{}:{}:{}</code> {} <small>{}</small></h3>\
<p class=\"muted\">{} · confidence {}</p><p>{}</p><pre class=\"snippet\">",
        esc(&f.file),
        f.line,
        f.column,
        esc(&f.rule),
        esc(&f.name),
        esc(&f.auditor.replace('_', " ")),
        percent(f.confidence),
        esc(&f.message)
    );
    for (offset, line) in f.snippet.lines().enumerate() {
        let _ = writeln!(
            out,
            "<span class=\"ln\">{}</span>{}",
            f.line + offset,
            esc(line)
        );
    }
    out.push_str("</pre></article>");
}

fn has_synthesis(report: &Report) -> bool {
    let s = &report.synthesis;
    !s.consensus.is_empty() || !s.contradictions.is_empty() || !s.combinations.is_empty()
}

fn research(out: &mut String, report: &Report) {
    if report.findings.is_empty() && !has_synthesis(report) {
        return;
    }
    out.push_str("<h2 id=\"research\">What the sources say</h2>");
    let s = &report.synthesis;
    if !s.consensus.is_empty() {
        out.push_str("<h3>Consensus</h3><ul>");
        for c in &s.consensus {
            let _ = write!(
                out,
                "<li>{} <small>({}; {})</small></li>",
                esc(&c.statement),
                esc(&c.hypotheses.join(", ")),
                esc(&c.sources.join("; "))
            );
        }
        out.push_str("</ul>");
    }
    if !s.contradictions.is_empty() {
        out.push_str("<h3>Contradictions</h3><ul>");
        for c in &s.contradictions {
            let _ = write!(
                out,
                "<li>{}<br><b>Trade-off:</b> {} <small>({})</small></li>",
                esc(&c.statement),
                esc(&c.tradeoff),
                esc(&c.hypotheses.join(", "))
            );
        }
        out.push_str("</ul>");
    }
    if !s.combinations.is_empty() {
        out.push_str("<h3>Combinations</h3><ul>");
        for c in &s.combinations {
            let _ = write!(
                out,
                "<li>{} <small>({})</small></li>",
                esc(&c.statement),
                esc(&c.hypotheses.join(", "))
            );
        }
        out.push_str("</ul>");
    }
    if report.findings.is_empty() {
        return;
    }
    out.push_str("<h3>Per source</h3>");
    // Findings arrive grouped by hypothesis; fold each group.
    let mut start = 0;
    while start < report.findings.len() {
        let hypothesis = &report.findings[start].hypothesis;
        let end = report.findings[start..]
            .iter()
            .position(|f| &f.hypothesis != hypothesis)
            .map_or(report.findings.len(), |n| start + n);
        let title = report
            .hypotheses
            .iter()
            .find(|h| &h.id == hypothesis)
            .map(|h| h.title.as_str())
            .unwrap_or("");
        let _ = write!(
            out,
            "<details><summary>{} — {} ({} source{})</summary>",
            esc(hypothesis),
            esc(title),
            end - start,
            plural(end - start)
        );
        for f in &report.findings[start..end] {
            out.push_str("<h3>");
            source_line(out, &f.source);
            let _ = write!(
                out,
                "</h3><dl class=\"facts\"><dt>Problem</dt><dd>{}</dd><dt>Why</dt><dd>{}</dd><dt>Fix</dt><dd>{}</dd><dt>Here</dt><dd>{}</dd></dl>",
                esc(&f.problem),
                esc(&f.why),
                esc(&f.fix),
                esc(&f.applicability)
            );
        }
        out.push_str("</details>");
        start = end;
    }
}

fn plan(out: &mut String, report: &Report) {
    out.push_str("<h2 id=\"plan\">Plan</h2>");
    if report.next_steps.is_empty() {
        out.push_str("<p>No next step: the evidence does not point anywhere yet. Answer the open questions above.</p>");
        return;
    }
    out.push_str("<p class=\"muted\">Ordered by how likely each step is the fix, quick wins first. Tick them off as you go.</p><ol class=\"plan\">");
    for (index, step) in report.next_steps.iter().enumerate() {
        let _ = write!(
            out,
            "<li><label for=\"step-{index}\"><input type=\"checkbox\" id=\"step-{index}\"><span>{}</span></label>\
<p class=\"muted\">{} · fix likelihood {} · diagnostic value {:.1} · <a href=\"#{}\">{}</a></p>\
<p><b>Check first:</b> {}</p><p><b>Why:</b> {}</p>",
            esc(&step.action),
            effort(step.effort),
            percent(step.likelihood),
            step.diagnostic_value,
            anchor(&step.hypothesis),
            esc(&step.hypothesis),
            esc(&step.condition),
            esc(&step.why)
        );
        for source in &step.sources {
            out.push_str("<p><b>Source:</b> ");
            source_line(out, source);
            out.push_str("</p>");
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
}

fn queries(out: &mut String, report: &Report) {
    if report.queries.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<details><summary>How fmr searched ({} quer{})</summary><div class=\"scroll\"><table><thead><tr><th>level</th><th>query</th><th>why</th><th>hits</th></tr></thead><tbody>",
        report.queries.len(),
        if report.queries.len() == 1 {
            "y"
        } else {
            "ies"
        }
    );
    for q in &report.queries {
        let _ = write!(
            out,
            "<tr><td>L{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            q.level,
            esc(&q.text),
            esc(&q.rationale),
            esc(&q.hits.join(", "))
        );
    }
    out.push_str("</tbody></table></div></details>");
}

/// `[kind] Title (year)`, linked when the URL is a web address, and the claim.
fn source_line(out: &mut String, source: &Source) {
    let year = source.year.map(|y| format!(" ({y})")).unwrap_or_default();
    let title = format!("{}{}", esc(&source.title), year);
    let is_web = source.url.starts_with("https://") || source.url.starts_with("http://");
    let _ = write!(
        out,
        "<span class=\"kind\">{}</span>",
        source.kind.as_str().replace('_', " ")
    );
    if is_web {
        let _ = write!(
            out,
            "<a href=\"{}\" rel=\"noopener noreferrer\">{title}</a>",
            esc(&source.url)
        );
    } else {
        out.push_str(&title);
    }
    if !source.claim.is_empty() {
        let _ = write!(out, " — <small>{}</small>", esc(&source.claim));
    }
}

fn evidence_kind(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::Symptom => "symptom",
        EvidenceKind::Text => "your words",
        EvidenceKind::Environment => "setup",
        EvidenceKind::Code => "code",
        EvidenceKind::Tried => "tried",
        EvidenceKind::Search => "search",
        EvidenceKind::BaseRate => "base rate",
    }
}

/// An id usable as a fragment: letters, digits, `-` and `_` only.
fn anchor(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("h-{cleaned}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
