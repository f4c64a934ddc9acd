use std::fmt::Write as _;

use fmr_core::{EvidenceKind, HypothesisStatus, Report};

use crate::{effort, environment_line, levels, percent, status};

/// How the terminal summary looks: colour on or off, compact or detailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStyle {
    /// ANSI colours (the CLI turns them off for NO_COLOR and non-terminals).
    pub color: bool,
    /// Every hypothesis with three evidence lines, every step with its rationale.
    pub detailed: bool,
}

impl TextStyle {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn heading(self, text: &str) -> String {
        self.paint("1", text)
    }
    fn strong(self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
    fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }
    fn accent(self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// The plain, detailed terminal summary (no colour).
pub fn render_text(r: &Report) -> String {
    render_text_styled(
        r,
        TextStyle {
            color: false,
            detailed: true,
        },
    )
}

/// The terminal summary: what is wrong, the likely causes, what to do next.
pub fn render_text_styled(r: &Report, st: TextStyle) -> String {
    let mut out = String::new();
    let points: usize = r.inputs.iter().map(|i| i.points).sum();
    let _ = writeln!(
        out,
        "{} — {} run(s), {} series, {} points{}",
        st.strong(&format!("fmr {}", r.tool.version)),
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
        let _ = writeln!(out, "  {} {p}", st.warn("!"));
    }
    let c = &r.characterization;
    let _ = writeln!(out, "\n{}", st.heading("SYMPTOMS"));
    if c.symptoms.is_empty() {
        let _ = writeln!(out, "  none detected or described");
    }
    for s in &c.symptoms {
        let _ = writeln!(
            out,
            "  {} {:<22} {}",
            st.dim(&s.code),
            s.kind.as_str(),
            s.statement
        );
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
    for conflict in &c.conflicts {
        let _ = writeln!(out, "  {} {conflict}", st.warn("conflict:"));
    }
    let _ = writeln!(out, "  environment: {}", environment_line(r));

    let _ = writeln!(out, "\n{}", st.heading("HYPOTHESES"));
    if r.hypotheses.is_empty() {
        let _ = writeln!(
            out,
            "  no failure mode in the knowledge base matches; see the open questions below"
        );
    }
    let shown = if st.detailed { r.hypotheses.len() } else { 5 };
    for (i, h) in r.hypotheses.iter().take(shown).enumerate() {
        let line = format!("{} {}{}", h.id, h.title, status(h));
        let line = if h.status == HypothesisStatus::Eliminated {
            st.dim(&line)
        } else {
            st.strong(&line)
        };
        let _ = writeln!(
            out,
            "  {}. {:>4}  {}  {}",
            i + 1,
            percent(h.likelihood),
            line,
            st.dim(&format!("[{}]", levels(h)))
        );
        let _ = writeln!(out, "        cause: {}", h.root_cause);
        let evidence_lines = if st.detailed { 3 } else { 1 };
        let mut evidence: Vec<_> = h
            .evidence
            .iter()
            .filter(|e| e.kind != EvidenceKind::BaseRate)
            .collect();
        // Lead with what speaks against a lowered or eliminated hypothesis; for an
        // active one, with the most direct evidence: code, then measured symptoms.
        let rank = |kind: EvidenceKind| match kind {
            EvidenceKind::Code => 0,
            EvidenceKind::Symptom => 1,
            EvidenceKind::Tried => 2,
            EvidenceKind::Environment => 3,
            _ => 4,
        };
        if h.status == HypothesisStatus::Active {
            evidence.sort_by(|a, b| {
                rank(a.kind)
                    .cmp(&rank(b.kind))
                    .then(b.weight.total_cmp(&a.weight))
            });
        } else {
            evidence.sort_by(|a, b| {
                (a.weight >= 0.0)
                    .cmp(&(b.weight >= 0.0))
                    .then(b.weight.abs().total_cmp(&a.weight.abs()))
            });
        }
        for e in evidence.into_iter().take(evidence_lines) {
            let sign = if e.weight >= 0.0 { "+" } else { "-" };
            let _ = writeln!(out, "        {sign} {}", e.statement);
        }
        if st.detailed
            && let Some(d) = h.distinguish.first()
        {
            let _ = writeln!(out, "        tell apart: {d}");
        }
    }
    if r.hypotheses.len() > shown {
        let _ = writeln!(
            out,
            "  {}",
            st.dim(&format!(
                "… {} more with --verbose or --format md",
                r.hypotheses.len() - shown
            ))
        );
    }

    if !r.audit_findings.is_empty() {
        let _ = writeln!(out, "\n{}", st.heading("CODE FINDINGS"));
        for f in &r.audit_findings {
            let _ = writeln!(
                out,
                "  {}:{}:{}: {} {}",
                f.file,
                f.line,
                f.column,
                st.accent(&f.rule),
                f.message
            );
            let _ = writeln!(out, "      | {}", f.snippet);
        }
    }

    let _ = writeln!(out, "\n{}", st.heading("NEXT STEPS"));
    let steps = if st.detailed { r.next_steps.len() } else { 6 };
    for (i, s) in r.next_steps.iter().take(steps).enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, st.strong(&s.action));
        let _ = writeln!(
            out,
            "       {}",
            st.dim(&format!(
                "[{} · fix likelihood {} · diagnostic value {:.1} · {}]",
                effort(s.effort),
                percent(s.likelihood),
                s.diagnostic_value,
                s.hypothesis
            ))
        );
        if st.detailed {
            let _ = writeln!(out, "       why: {}", s.why);
        }
        let _ = writeln!(out, "       check first: {}", s.condition);
        for src in s.sources.iter().take(1) {
            let _ = writeln!(
                out,
                "       source: {} — {}",
                src.title,
                st.accent(&src.url)
            );
        }
    }

    let syn = &r.synthesis;
    if st.detailed
        && (!syn.consensus.is_empty()
            || !syn.contradictions.is_empty()
            || !syn.combinations.is_empty())
    {
        let _ = writeln!(out, "\n{}", st.heading("SYNTHESIS"));
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

    if let Some(research) = &r.research {
        let _ = writeln!(
            out,
            "\n{}",
            st.heading(&format!("LIVE SOURCES ({})", research.mode))
        );
        for s in &research.sources {
            let _ = writeln!(
                out,
                "  {:<14} {} queries, {} hits, {} from cache, {} errors{}",
                s.source,
                s.queries,
                s.hits,
                s.cache_hits,
                s.errors,
                s.messages
                    .first()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            );
        }
        for hit in research
            .hits
            .iter()
            .take(if st.detailed { research.hits.len() } else { 5 })
        {
            let supports = if hit.supports.is_empty() {
                String::new()
            } else {
                format!(" → {}", hit.supports.join(", "))
            };
            let _ = writeln!(
                out,
                "  L{} [{}] {} — {}{}",
                hit.level,
                hit.connector,
                hit.source.title,
                st.accent(&hit.source.url),
                supports
            );
        }
        for w in &research.warnings {
            let _ = writeln!(out, "  {} {w}", st.warn("!"));
        }
    }

    if !c.gaps.is_empty() {
        let _ = writeln!(out, "\n{}", st.heading("OPEN QUESTIONS"));
        for g in c
            .gaps
            .iter()
            .take(if st.detailed { c.gaps.len() } else { 3 })
        {
            let _ = writeln!(out, "  - {}", g.question);
        }
    }
    out
}
