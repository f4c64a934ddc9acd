//! What recording an attempt changed: the hypotheses whose rank, likelihood or
//! status moved between the investigation before and after it.

use std::collections::BTreeSet;

use fmr_core::{EvidenceKind, Hypothesis, HypothesisStatus, Report, TriedOutcome};
use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

/// How an attempt went, as the user reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// It did not help: the symptom is unchanged.
    Failed,
    /// It fixed the problem.
    Helped,
    /// It helped somewhat: the symptom is weaker or later.
    Partial,
    /// Not known yet.
    Unknown,
}

impl AttemptOutcome {
    pub(crate) fn as_tried(self) -> TriedOutcome {
        match self {
            Self::Failed => TriedOutcome::Failed,
            Self::Helped => TriedOutcome::Helped,
            Self::Partial => TriedOutcome::Partial,
            Self::Unknown => TriedOutcome::Unknown,
        }
    }

    /// Words the engine reads as this outcome (see `fmr_engine::text::tried_outcome`).
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            Self::Failed => "did not help",
            Self::Helped => "fixed it",
            Self::Partial => "helped partially",
            Self::Unknown => "outcome not known yet",
        }
    }
}

/// One hypothesis whose standing changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RankChange {
    pub id: String,
    pub title: String,
    /// 1-based rank, absent where it was not among the hypotheses.
    pub rank_before: Option<usize>,
    pub rank_after: Option<usize>,
    pub likelihood_before: Option<f64>,
    pub likelihood_after: Option<f64>,
    pub status_before: Option<HypothesisStatus>,
    pub status_after: Option<HypothesisStatus>,
    /// Evidence about tried fixes that the attempt added to this hypothesis.
    pub reasons: Vec<String>,
}

/// Likelihood moves smaller than this are rounding, not news.
const LIKELIHOOD_EPSILON: f64 = 0.005;

/// The hypotheses that moved, ordered by their rank after the attempt (those
/// that dropped out last).
pub(crate) fn rank_changes(before: &Report, after: &Report) -> Vec<RankChange> {
    let ids: BTreeSet<&str> = before
        .hypotheses
        .iter()
        .chain(&after.hypotheses)
        .map(|h| h.id.as_str())
        .collect();
    let mut changes: Vec<RankChange> = ids
        .into_iter()
        .filter_map(|id| {
            let old = find(before, id);
            let new = find(after, id);
            let moved = old.map(|(rank, _)| rank) != new.map(|(rank, _)| rank)
                || old.map(|(_, h)| h.status) != new.map(|(_, h)| h.status)
                || match (old, new) {
                    (Some((_, a)), Some((_, b))) => {
                        (a.likelihood - b.likelihood).abs() >= LIKELIHOOD_EPSILON
                    }
                    _ => true,
                };
            if !moved {
                return None;
            }
            let title = new
                .or(old)
                .map(|(_, h)| h.title.clone())
                .unwrap_or_default();
            Some(RankChange {
                id: id.to_string(),
                title,
                rank_before: old.map(|(rank, _)| rank),
                rank_after: new.map(|(rank, _)| rank),
                likelihood_before: old.map(|(_, h)| h.likelihood),
                likelihood_after: new.map(|(_, h)| h.likelihood),
                status_before: old.map(|(_, h)| h.status),
                status_after: new.map(|(_, h)| h.status),
                reasons: new_tried_evidence(old.map(|(_, h)| h), new.map(|(_, h)| h)),
            })
        })
        .collect();
    changes.sort_by_key(|c| (c.rank_after.unwrap_or(usize::MAX), c.rank_before));
    changes
}

fn find<'r>(report: &'r Report, id: &str) -> Option<(usize, &'r Hypothesis)> {
    report
        .hypotheses
        .iter()
        .enumerate()
        .find(|(_, h)| h.id == id)
        .map(|(index, h)| (index + 1, h))
}

fn new_tried_evidence(old: Option<&Hypothesis>, new: Option<&Hypothesis>) -> Vec<String> {
    let Some(new) = new else {
        return Vec::new();
    };
    new.evidence
        .iter()
        .filter(|e| e.kind == EvidenceKind::Tried)
        .filter(|e| {
            !old.is_some_and(|old| {
                old.evidence
                    .iter()
                    .any(|o| o.kind == e.kind && o.statement == e.statement)
            })
        })
        .map(|e| e.statement.clone())
        .collect()
}

/// One paragraph: what happened to the leader, and who leads now.
pub(crate) fn summarize(before: &Report, after: &Report, changes: &[RankChange]) -> String {
    let leader = |report: &Report| {
        report
            .hypotheses
            .first()
            .map(|h| (h.id.clone(), h.title.clone()))
    };
    let mut sentences = Vec::new();
    if changes.is_empty() {
        sentences.push("The ranking did not change.".to_string());
    }
    match (leader(before), leader(after)) {
        (Some(old), Some(new)) if old.0 != new.0 => {
            sentences.push(format!(
                "The leading hypothesis changed from {} ({}) to {} ({}).",
                old.0, old.1, new.0, new.1
            ));
        }
        (_, Some(new)) => sentences.push(format!("{} ({}) still leads.", new.0, new.1)),
        _ => {}
    }
    for change in changes.iter().take(5) {
        sentences.push(describe(change));
    }
    if changes.len() > 5 {
        sentences.push(format!("{} more moved.", changes.len() - 5));
    }
    sentences.join(" ")
}

fn describe(change: &RankChange) -> String {
    let standing = |rank: Option<usize>,
                    likelihood: Option<f64>,
                    status: Option<HypothesisStatus>| match (rank, likelihood) {
        (Some(rank), Some(likelihood)) => format!(
            "#{rank} at {:.0}%{}",
            likelihood * 100.0,
            match status {
                Some(HypothesisStatus::Lowered) => ", lowered",
                Some(HypothesisStatus::Eliminated) => ", eliminated",
                _ => "",
            }
        ),
        _ => "not ranked".to_string(),
    };
    let mut sentence = format!(
        "{}: {} → {}",
        change.id,
        standing(
            change.rank_before,
            change.likelihood_before,
            change.status_before
        ),
        standing(
            change.rank_after,
            change.likelihood_after,
            change.status_after
        )
    );
    if let Some(reason) = change.reasons.first() {
        sentence.push_str(&format!(" ({})", reason.trim_end_matches('.')));
    }
    sentence.push('.');
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;
    use fmr_core::{Evidence, REPORT_SCHEMA_VERSION, ToolInfo};

    fn hypothesis(
        id: &str,
        likelihood: f64,
        status: HypothesisStatus,
        tried: &[&str],
    ) -> Hypothesis {
        Hypothesis {
            id: id.into(),
            title: format!("title of {id}"),
            likelihood,
            status,
            root_cause: String::new(),
            other_causes: Vec::new(),
            fixes: Vec::new(),
            evidence: tried
                .iter()
                .map(|t| Evidence {
                    kind: EvidenceKind::Tried,
                    statement: (*t).into(),
                    weight: -0.5,
                })
                .collect(),
            score: Vec::new(),
            levels: vec![1],
            domains: Vec::new(),
            distinguish: Vec::new(),
            sources: Vec::new(),
        }
    }

    fn report(hypotheses: Vec<Hypothesis>) -> Report {
        Report {
            schema_version: REPORT_SCHEMA_VERSION.into(),
            tool: ToolInfo {
                name: "fmr".into(),
                version: "test".into(),
            },
            inputs: Vec::new(),
            problems: Vec::new(),
            characterization: Default::default(),
            queries: Vec::new(),
            hypotheses,
            delegations: Vec::new(),
            audit_findings: Vec::new(),
            findings: Vec::new(),
            synthesis: Default::default(),
            next_steps: Vec::new(),
            research: None,
        }
    }

    #[test]
    fn a_failed_fix_that_demotes_the_leader_is_reported_with_its_reason() {
        let before = report(vec![
            hypothesis("FM0001", 0.6, HypothesisStatus::Active, &[]),
            hypothesis("FM0002", 0.3, HypothesisStatus::Active, &[]),
            hypothesis("FM0003", 0.1, HypothesisStatus::Active, &[]),
        ]);
        let after = report(vec![
            hypothesis("FM0002", 0.55, HypothesisStatus::Active, &[]),
            hypothesis(
                "FM0001",
                0.35,
                HypothesisStatus::Lowered,
                &["GradScaler tried and failed."],
            ),
            hypothesis("FM0003", 0.1, HypothesisStatus::Active, &[]),
        ]);
        let changes = rank_changes(&before, &after);
        let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["FM0002", "FM0001"], "FM0003 did not move");
        assert_eq!(changes[1].reasons, ["GradScaler tried and failed."]);
        insta::assert_snapshot!(summarize(&before, &after, &changes), @"The leading hypothesis changed from FM0001 (title of FM0001) to FM0002 (title of FM0002). FM0002: #2 at 30% → #1 at 55%. FM0001: #1 at 60% → #2 at 35%, lowered (GradScaler tried and failed).");
    }

    #[test]
    fn an_unchanged_ranking_says_so() {
        let same = report(vec![hypothesis(
            "FM0001",
            0.6,
            HypothesisStatus::Active,
            &[],
        )]);
        let changes = rank_changes(&same, &same);
        assert!(changes.is_empty());
        assert_eq!(
            summarize(&same, &same, &changes),
            "The ranking did not change. FM0001 (title of FM0001) still leads."
        );
    }

    #[test]
    fn hypotheses_that_appear_or_drop_out_are_changes() {
        let before = report(vec![hypothesis(
            "FM0001",
            1.0,
            HypothesisStatus::Active,
            &[],
        )]);
        let after = report(vec![hypothesis(
            "FM0009",
            1.0,
            HypothesisStatus::Active,
            &[],
        )]);
        let changes = rank_changes(&before, &after);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].id, "FM0009");
        assert_eq!(changes[0].rank_before, None);
        assert_eq!(changes[1].id, "FM0001");
        assert_eq!(changes[1].rank_after, None);
    }
}
