use std::fmt::Write as _;

use fmr_core::Report;

use crate::{effort, environment_line, levels, percent, status};

/// Escapes the characters that would break a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render_markdown(r: &Report) -> String {
    let mut out = String::new();
    let c = &r.characterization;
    let _ = writeln!(out, "# fmr investigation\n");
    let _ = writeln!(
        out,
        "fmr {} · report schema {}\n",
        r.tool.version, r.schema_version
    );
    if !r.inputs.is_empty() {
        let _ = writeln!(
            out,
            "| run | path | formats | series | points | events |\n|---|---|---|---|---|---|"
        );
        for i in &r.inputs {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                cell(&i.name),
                i.path,
                i.formats.join(", "),
                i.series,
                i.points,
                i.events
            );
        }
        out.push('\n');
    }
    if !r.problems.is_empty() {
        let _ = writeln!(out, "**Inputs that could not be read**\n");
        for p in &r.problems {
            let _ = writeln!(out, "- `{}`: {}", p.path, p.problem);
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Characterization\n");
    let _ = writeln!(out, "| code | kind | statement |\n|---|---|---|");
    for s in &c.symptoms {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            s.code,
            s.kind.as_str(),
            cell(&s.statement)
        );
    }
    out.push('\n');
    if let Some(o) = &c.onset {
        let _ = writeln!(out, "- **Onset:** step {} — {}", o.step, o.statement);
    }
    if let Some(e) = &c.expected {
        let _ = writeln!(out, "- **Expected:** {e}");
    }
    for t in &c.tried {
        let _ = writeln!(out, "- **Tried:** {} ({:?})", t.text, t.outcome);
    }
    for conflict in &c.conflicts {
        let _ = writeln!(out, "- **Conflict:** {conflict}");
    }
    for ch in &c.changes {
        let _ = writeln!(out, "- **Changed:** {ch}");
    }
    let _ = writeln!(out, "- **Environment:** {}\n", environment_line(r));

    let _ = writeln!(out, "## Hypotheses\n");
    for (i, h) in r.hypotheses.iter().enumerate() {
        let _ = writeln!(
            out,
            "### {}. {} — {}{} ({}, {})\n",
            i + 1,
            h.id,
            h.title,
            status(h),
            percent(h.likelihood),
            levels(h)
        );
        let _ = writeln!(out, "**Root cause:** {}\n", h.root_cause);
        for e in &h.evidence {
            let _ = writeln!(out, "- {:?} ({:+.2}): {}", e.kind, e.weight, e.statement);
        }
        let _ = writeln!(
            out,
            "\nScore: {}\n",
            h.score
                .iter()
                .map(|t| format!("{} {:+.2}", t.factor, t.value))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for d in &h.distinguish {
            let _ = writeln!(out, "*Tell apart:* {d}\n");
        }
        if !h.fixes.is_empty() {
            let _ = writeln!(out, "Fixes: {}\n", h.fixes.join("; "));
        }
        for s in &h.sources {
            let _ = writeln!(
                out,
                "- [{}]({}) ({}, {}) — {}",
                s.title,
                s.url,
                s.id,
                s.year.map(|y| y.to_string()).unwrap_or_default(),
                s.claim
            );
        }
        out.push('\n');
    }

    if !r.audit_findings.is_empty() || !r.delegations.is_empty() {
        let _ = writeln!(out, "## Code audit\n");
        for d in &r.delegations {
            let _ = writeln!(
                out,
                "- **{}** for {} at {}: {} → {} finding(s)",
                d.auditor,
                d.hypothesis,
                d.location.as_deref().unwrap_or("(no location)"),
                d.look_for,
                d.findings
            );
        }
        for f in &r.audit_findings {
            let _ = writeln!(
                out,
                "\n`{}:{}:{}` **{}** {}\n\n```python\n{}\n```",
                f.file, f.line, f.column, f.rule, f.message, f.snippet
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Next steps\n");
    for (i, s) in r.next_steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. **{}**  \n   {} · fix likelihood {} · diagnostic value {:.1} · {}  \n   *Why:* {}  \n   *Check first:* {}",
            i + 1,
            s.action,
            effort(s.effort),
            percent(s.likelihood),
            s.diagnostic_value,
            s.hypothesis,
            s.why,
            s.condition
        );
        for src in &s.sources {
            let _ = writeln!(out, "   *Source:* [{}]({})", src.title, src.url);
        }
    }
    out.push('\n');

    let syn = &r.synthesis;
    if !syn.consensus.is_empty() || !syn.contradictions.is_empty() || !syn.combinations.is_empty() {
        let _ = writeln!(out, "## Synthesis\n");
        for x in &syn.consensus {
            let _ = writeln!(out, "- **Consensus:** {}", x.statement);
        }
        for x in &syn.contradictions {
            let _ = writeln!(out, "- **Contradiction:** {} — {}", x.statement, x.tradeoff);
        }
        for x in &syn.combinations {
            let _ = writeln!(out, "- **Combination:** {}", x.statement);
        }
        out.push('\n');
    }
    if !r.findings.is_empty() {
        let _ = writeln!(out, "## What the sources say\n");
        for f in &r.findings {
            let _ = writeln!(
                out,
                "- **{}** [{}]({}): {} *Applies:* {}",
                f.hypothesis, f.source.title, f.source.url, f.problem, f.applicability
            );
        }
        out.push('\n');
    }
    if let Some(research) = &r.research {
        let _ = writeln!(out, "## Live sources ({})\n", research.mode);
        let _ = writeln!(
            out,
            "| source | queries | hits | from cache | errors |\n|---|---|---|---|---|"
        );
        for s in &research.sources {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                s.source, s.queries, s.hits, s.cache_hits, s.errors
            );
        }
        out.push('\n');
        for hit in &research.hits {
            let _ = writeln!(
                out,
                "- L{} [{}] [{}]({}) — {}{}",
                hit.level,
                hit.connector,
                cell(&hit.source.title),
                hit.source.url,
                cell(&hit.source.claim),
                if hit.supports.is_empty() {
                    String::new()
                } else {
                    format!(" (supports {})", hit.supports.join(", "))
                }
            );
        }
        for w in &research.warnings {
            let _ = writeln!(out, "- warning: {w}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Search\n");
    for q in &r.queries {
        let _ = writeln!(
            out,
            "- L{} `{}` — {} → {}",
            q.level,
            q.text,
            q.rationale,
            q.hits.join(", ")
        );
    }
    if !c.gaps.is_empty() {
        let _ = writeln!(out, "\n## Open questions\n");
        for g in &c.gaps {
            let _ = writeln!(out, "- **{}:** {}", g.field, g.question);
        }
    }
    out
}
