//! A plain-text report of an [`Alignment`], and its mismatches as [`AuditFinding`]s.

use std::fmt::Write as _;

use fmr_core::AuditFinding;

use super::align::Alignment;
use super::collect::Origin;
use crate::Auditor;

/// Rule code of a hyperparameter that differs from the paper.
pub const MISMATCH_RULE: &str = "PA001";
/// Rule code of a technique the paper uses and the code lacks.
pub const MISSING_COMPONENT_RULE: &str = "PA002";

impl Alignment {
    /// Every mismatch first, then missing components, hyperparameters not found, matches and
    /// components found, each with `file:line`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let title = match (&self.title, &self.source) {
            (Some(title), Some(source)) => format!("{title} ({source})"),
            (Some(title), None) => title.clone(),
            (None, Some(source)) => source.clone(),
            (None, None) => "the paper".to_owned(),
        };
        let _ = writeln!(out, "PAPER ALIGNMENT: {title}");
        let _ = writeln!(
            out,
            "  code: {} ({} file{} read)",
            self.root,
            self.files_scanned,
            if self.files_scanned == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "  {} match, {} mismatch, {} not found in the code, {} missing component{}",
            self.matches.len(),
            self.mismatches.len(),
            self.not_found.len(),
            self.missing_components.len(),
            if self.missing_components.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        if !self.mismatches.is_empty() {
            let _ = writeln!(out, "\nMISMATCHES");
            for mismatch in &self.mismatches {
                let _ = writeln!(
                    out,
                    "  {}:{}: {} is {} in the code, the paper says {} — {}",
                    mismatch.file,
                    mismatch.line,
                    mismatch.param,
                    shown_value(&mismatch.code_text, &mismatch.code_value),
                    mismatch.paper_text,
                    mismatch.note
                );
                let _ = writeln!(
                    out,
                    "      {} ({}) | {}",
                    mismatch.code_name,
                    mismatch.origin.describe(),
                    mismatch.snippet
                );
                if !mismatch.also_at.is_empty() {
                    let _ = writeln!(out, "      same value also at {}", join(&mismatch.also_at));
                }
            }
        }
        if !self.missing_components.is_empty() {
            let _ = writeln!(out, "\nMISSING COMPONENTS");
            for missing in &self.missing_components {
                let near = missing
                    .near
                    .as_ref()
                    .map_or(String::new(), |near| format!(" (see {near})"));
                let _ = writeln!(out, "  {}: {}{near}", missing.paper_name, missing.message);
            }
        }
        if !self.not_found.is_empty() {
            let _ = writeln!(out, "\nNOT FOUND IN THE CODE");
            for not_found in &self.not_found {
                let _ = writeln!(
                    out,
                    "  {} = {} (paper: {}); looked for {}",
                    not_found.param,
                    not_found.paper_text,
                    not_found.paper_name,
                    not_found.looked_for.join(", ")
                );
            }
        }
        if !self.matches.is_empty() {
            let _ = writeln!(out, "\nMATCHES");
            for matched in &self.matches {
                let note = matched
                    .note
                    .as_ref()
                    .map_or(String::new(), |note| format!(" — {note}"));
                let also = if matched.also_at.is_empty() {
                    String::new()
                } else {
                    format!(" (also {})", join(&matched.also_at))
                };
                let _ = writeln!(
                    out,
                    "  {}:{}: {} = {} ({}){also}{note}",
                    matched.file,
                    matched.line,
                    matched.param,
                    shown_value(&matched.code_text, &matched.code_value),
                    matched.code_name
                );
            }
        }
        if !self.components_found.is_empty() {
            let _ = writeln!(out, "\nCOMPONENTS FOUND");
            for found in &self.components_found {
                let more = if found.places > 1 {
                    format!(" (+{} more)", found.places - 1)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  {}:{}: {} — {}{more}",
                    found.file, found.line, found.paper_name, found.evidence
                );
            }
        }
        if !self.unchecked_components.is_empty() {
            let _ = writeln!(out, "\nNOT CHECKED (fmr cannot detect these in code)");
            for name in &self.unchecked_components {
                let _ = writeln!(out, "  {name}");
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\nNOTES");
            for note in &self.notes {
                let _ = writeln!(out, "  {note}");
            }
        }
        if !self.problems.is_empty() {
            let _ = writeln!(out, "\nFILES NOT READ");
            for problem in &self.problems {
                let _ = writeln!(out, "  {problem}");
            }
        }
        out
    }

    /// Mismatches (`PA001`) and missing components that have a place in the code to point at
    /// (`PA002`: the training step, optimizer, loss or data loader where they would go), as the
    /// audit findings other reports show.
    pub fn findings(&self) -> Vec<AuditFinding> {
        let auditor = Auditor::PaperAlignmentAuditor.as_str().to_owned();
        let mut findings: Vec<AuditFinding> = self
            .mismatches
            .iter()
            .map(|mismatch| AuditFinding {
                rule: MISMATCH_RULE.to_owned(),
                name: "paper-hyperparameter-mismatch".to_owned(),
                auditor: auditor.clone(),
                file: mismatch.file.clone(),
                line: mismatch.line,
                column: 1,
                snippet: mismatch.snippet.clone(),
                message: format!(
                    "{} is {} here ({}), the paper ({}) uses {}: {}",
                    mismatch.param,
                    mismatch.code_value,
                    mismatch.code_name,
                    mismatch.paper_name,
                    mismatch.paper_text,
                    mismatch.note
                ),
                confidence: match mismatch.origin {
                    Origin::LibraryDefault | Origin::Implied | Origin::Derived => 0.6,
                    _ if !mismatch.also_at.is_empty() => 0.7,
                    _ => 0.8,
                },
            })
            .collect();
        findings.extend(self.missing_components.iter().filter_map(|missing| {
            let near = missing.near.as_ref()?;
            Some(AuditFinding {
                rule: MISSING_COMPONENT_RULE.to_owned(),
                name: "paper-component-missing".to_owned(),
                auditor: auditor.clone(),
                file: near.file.clone(),
                line: near.line,
                column: 1,
                snippet: String::new(),
                message: missing.message.clone(),
                confidence: 0.5,
            })
        }));
        findings
    }
}

/// The code's value as written when that is a plain value (`1e-3`), else as fmr reads it
/// (for a value inside a longer expression, or a pair split in two).
fn shown_value(text: &str, value: &super::value::ParamValue) -> String {
    let plain = !text.is_empty()
        && text.len() <= 24
        && !text.contains(['(', '[', ',', '=', ' '])
        && super::value::read_value(text).is_ok_and(|read| {
            read.value == *value
                || read
                    .value
                    .as_number()
                    .is_some_and(|n| Some(n) == value.as_number())
        });
    if plain {
        text.to_owned()
    } else {
        value.to_string()
    }
}

fn join(locations: &[super::collect::Location]) -> String {
    let shown: Vec<String> = locations.iter().take(4).map(ToString::to_string).collect();
    let more = locations.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

impl std::fmt::Display for Alignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}
