use std::fmt::Write as _;

use fmr_core::Report;

use crate::{effort, environment_line, levels, percent, status};

/// The terminal summary: what is wrong, the likely causes, what to do next.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    let points: usize = r.inputs.iter().map(|i| i.points).sum();
    let _ = writeln!(
        out,
        "fmr {} — {} run(s), {} series, {} points{}",
        r.tool.version,
        r.inputs.len(),
        r.inputs.iter().map(|i| i.series).sum::<usize>(),
        points,
        if r.problems.is_empty() {
            String::new()
        } else {
            format!(", {} input problem(s)", r.problems.len())
        }
    );
    for p in &r.problems {
        let _ = writeln!(out, "  ! {p}");
    }
    let c = &r.characterization;
    let _ = writeln!(out, "\nSYMPTOMS");
    if c.symptoms.is_empty() {
        let _ = writeln!(out, "  none detected or described");
    }
    for s in &c.symptoms {
        let _ = writeln!(out, "  {} {:<22} {}", s.code, s.kind.as_str(), s.statement);
    }
    if let Some(o) = &c.onset {
        let _ = writeln!(out, "  onset: step {} — {}", o.step, o.statement);
    }
    if let Some(e) = &c.expected {
        let _ = writeln!(out, "  expected: {e}");
    }
    for t in &c.tried {
        let _ = writeln!(out, "  tried: {} ({:?})", t.text, t.outcome);
    }
    let _ = writeln!(out, "  environment: {}", environment_line(r));

    let _ = writeln!(out, "\nHYPOTHESES");
    if r.hypotheses.is_empty() {
        let _ = writeln!(
            out,
            "  no failure mode in the knowledge base matches; see the gaps below"
        );
    }
    for (i, h) in r.hypotheses.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {:>4}  {} {}{}  [{}]",
            i + 1,
            percent(h.likelihood),
            h.id,
            h.title,
            status(h),
            levels(h)
        );
        let _ = writeln!(out, "        cause: {}", h.root_cause);
        for e in h
            .evidence
            .iter()
            .filter(|e| e.kind != fmr_core::EvidenceKind::BaseRate)
            .take(3)
        {
            let sign = if e.weight >= 0.0 { "+" } else { "-" };
            let _ = writeln!(out, "        {sign} {}", e.statement);
        }
        if let Some(d) = h.distinguish.first() {
            let _ = writeln!(out, "        tell apart: {d}");
        }
    }

    if !r.audit_findings.is_empty() {
        let _ = writeln!(out, "\nCODE FINDINGS");
        for f in &r.audit_findings {
            let _ = writeln!(
                out,
                "  {}:{}:{}: {} {}",
                f.file, f.line, f.column, f.rule, f.message
            );
            let _ = writeln!(out, "      | {}", f.snippet);
        }
    }

    let _ = writeln!(out, "\nNEXT STEPS");
    for (i, s) in r.next_steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {}\n       [{} · fix likelihood {} · diagnostic value {:.1} · {}]",
            i + 1,
            s.action,
            effort(s.effort),
            percent(s.likelihood),
            s.diagnostic_value,
            s.hypothesis
        );
        let _ = writeln!(out, "       why: {}", s.why);
        let _ = writeln!(out, "       check first: {}", s.condition);
        for src in s.sources.iter().take(1) {
            let _ = writeln!(out, "       source: {} — {}", src.title, src.url);
        }
    }

    let syn = &r.synthesis;
    if !syn.consensus.is_empty() || !syn.contradictions.is_empty() || !syn.combinations.is_empty() {
        let _ = writeln!(out, "\nSYNTHESIS");
        for x in &syn.consensus {
            let _ = writeln!(out, "  consensus: {}", x.statement);
        }
        for x in &syn.contradictions {
            let _ = writeln!(out, "  contradiction: {} — {}", x.statement, x.tradeoff);
        }
        for x in &syn.combinations {
            let _ = writeln!(out, "  combination: {}", x.statement);
        }
    }

    if !c.gaps.is_empty() {
        let _ = writeln!(out, "\nOPEN QUESTIONS");
        for g in c.gaps.iter().take(5) {
            let _ = writeln!(out, "  - {}", g.question);
        }
    }
    out
}
