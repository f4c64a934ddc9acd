use std::fmt::Write as _;

use fmr_core::Report;

use crate::{effort, environment_line, levels, percent, status};

fn esc(text: &str) -> String {
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

/// A self-contained page: no external scripts, styles or fonts.
pub fn render_html(r: &Report) -> String {
    let c = &r.characterization;
    let mut b = String::new();
    let _ = write!(
        b,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fmr investigation</title><style>\
body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}}\
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
.h{{border-left:4px solid #4a7;padding-left:.8rem;margin:1rem 0}}.eliminated{{border-color:#a44;opacity:.7}}\
code,pre{{background:#f4f4f4;padding:.1rem .3rem}}small{{color:#666}}</style></head><body>"
    );
    let _ = write!(
        b,
        "<h1>fmr investigation</h1><p><small>fmr {} · schema {}</small></p>",
        esc(&r.tool.version),
        esc(&r.schema_version)
    );
    if !r.problems.is_empty() {
        let _ = write!(b, "<h2>Inputs that could not be read</h2><ul>");
        for p in &r.problems {
            let _ = write!(
                b,
                "<li><code>{}</code>: {}</li>",
                esc(&p.path),
                esc(&p.problem)
            );
        }
        b.push_str("</ul>");
    }
    b.push_str(
        "<h2>Characterization</h2><table><tr><th>code</th><th>kind</th><th>statement</th></tr>",
    );
    for s in &c.symptoms {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.code),
            s.kind.as_str(),
            esc(&s.statement)
        );
    }
    b.push_str("</table><ul>");
    if let Some(o) = &c.onset {
        let _ = write!(
            b,
            "<li><b>Onset:</b> step {} — {}</li>",
            o.step,
            esc(&o.statement)
        );
    }
    if let Some(e) = &c.expected {
        let _ = write!(b, "<li><b>Expected:</b> {}</li>", esc(e));
    }
    for t in &c.tried {
        let _ = write!(
            b,
            "<li><b>Tried:</b> {} ({:?})</li>",
            esc(&t.text),
            t.outcome
        );
    }
    let _ = write!(
        b,
        "<li><b>Environment:</b> {}</li></ul>",
        esc(&environment_line(r))
    );

    b.push_str("<h2>Hypotheses</h2>");
    for (i, h) in r.hypotheses.iter().enumerate() {
        let class = if h.status == fmr_core::HypothesisStatus::Eliminated {
            "h eliminated"
        } else {
            "h"
        };
        let _ = write!(
            b,
            "<div class=\"{class}\"><h3>{}. {} — {}{} <small>{} · {}</small></h3><p><b>Root cause:</b> {}</p><ul>",
            i + 1,
            esc(&h.id),
            esc(&h.title),
            status(h),
            percent(h.likelihood),
            levels(h),
            esc(&h.root_cause)
        );
        for e in &h.evidence {
            let _ = write!(
                b,
                "<li>{:?} ({:+.2}): {}</li>",
                e.kind,
                e.weight,
                esc(&e.statement)
            );
        }
        b.push_str("</ul><p>Sources: ");
        let links: Vec<String> = h
            .sources
            .iter()
            .map(|s| format!("<a href=\"{}\">{}</a>", esc(&s.url), esc(&s.title)))
            .collect();
        b.push_str(&links.join(" · "));
        b.push_str("</p></div>");
    }
    if !r.audit_findings.is_empty() {
        b.push_str("<h2>Code findings</h2><ul>");
        for f in &r.audit_findings {
            let _ = write!(
                b,
                "<li><code>{}:{}:{}</code> <b>{}</b> {}<pre>{}</pre></li>",
                esc(&f.file),
                f.line,
                f.column,
                esc(&f.rule),
                esc(&f.message),
                esc(&f.snippet)
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("<h2>Next steps</h2><ol>");
    for s in &r.next_steps {
        let _ = write!(
            b,
            "<li><b>{}</b><br><small>{} · fix likelihood {} · diagnostic value {:.1} · {}</small><br>Why: {}<br>Check first: {}",
            esc(&s.action),
            effort(s.effort),
            percent(s.likelihood),
            s.diagnostic_value,
            esc(&s.hypothesis),
            esc(&s.why),
            esc(&s.condition)
        );
        for src in &s.sources {
            let _ = write!(
                b,
                "<br>Source: <a href=\"{}\">{}</a>",
                esc(&src.url),
                esc(&src.title)
            );
        }
        b.push_str("</li>");
    }
    b.push_str("</ol>");
    if !c.gaps.is_empty() {
        b.push_str("<h2>Open questions</h2><ul>");
        for g in &c.gaps {
            let _ = write!(b, "<li>{}</li>", esc(&g.question));
        }
        b.push_str("</ul>");
    }
    b.push_str("</body></html>\n");
    b
}
