//! Live literature search (`--online`/`--offline`): the same queries sent to
//! arXiv, GitHub issues, Stack Exchange and OpenAlex through `fmr-research`, with
//! each result tied to the hypotheses it bears on.
//!
//! Live results are marked apart from the knowledge base and add evidence lines
//! of weight zero: the ranking stays a function of the inputs and the embedded
//! knowledge base, so the same inputs give the same ranking online or offline.

use std::time::Duration;

use fmr_core::{
    Evidence, EvidenceKind, Hypothesis, LiveSource, Query, Research, ResearchSourceStats,
};
use fmr_kb::KnowledgeBase;
use fmr_research::{Mode, ResearchConfig, Researcher, SourceId};

/// Where the investigation may look beyond the knowledge base.
#[derive(Clone, Default)]
pub enum LiveMode {
    /// The embedded knowledge base only (the default).
    #[default]
    KnowledgeBase,
    /// Live sources as configured; `progress` is called after each search.
    Live(LiveSettings),
}

impl std::fmt::Debug for LiveMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KnowledgeBase => f.write_str("KnowledgeBase"),
            Self::Live(s) => write!(f, "Live({:?}, {:?})", s.offline, s.sources),
        }
    }
}

#[derive(Clone, Default)]
pub struct LiveSettings {
    /// Cache only: nothing leaves the machine.
    pub offline: bool,
    /// Only these sources (`arxiv`, `github`, ...); empty means all.
    pub sources: Vec<String>,
    /// Wall-clock budget for the whole search.
    pub budget: Option<Duration>,
    /// Called after each search with (done, total).
    pub progress: Option<std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

/// Runs the live search when asked, attaching results to hypotheses.
pub fn research(
    mode: &LiveMode,
    queries: &[Query],
    hypotheses: &mut [Hypothesis],
    kb: &KnowledgeBase,
) -> Option<Research> {
    let LiveMode::Live(settings) = mode else {
        return None;
    };
    let mut config = ResearchConfig::from_env(if settings.offline {
        Mode::Offline
    } else {
        Mode::Online
    });
    let mut warnings = Vec::new();
    if !settings.sources.is_empty() {
        let mut chosen = Vec::new();
        for name in &settings.sources {
            match SourceId::parse(name) {
                Some(id) => chosen.push(id),
                None => warnings.push(format!("unknown live source {name:?} ignored")),
            }
        }
        config.sources = chosen;
    }
    if settings.budget.is_some() {
        config.deadline = settings.budget;
    }
    let researcher = Researcher::new(config);
    let progress = settings.progress.clone();
    let outcome = researcher.research_with_progress(queries, &move |p| {
        if let Some(report) = &progress {
            report(p.done, p.total);
        }
    });
    warnings.extend(outcome.warnings.iter().cloned());
    let mut hits = Vec::new();
    for hit in &outcome.hits {
        let supports = supported_hypotheses(&hit.source, hypotheses, kb);
        for h in hypotheses.iter_mut().filter(|h| supports.contains(&h.id)) {
            h.evidence.push(Evidence {
                kind: EvidenceKind::Search,
                statement: format!(
                    "live {} result (L{}): {} — {}",
                    hit.connector, hit.level, hit.source.title, hit.source.url
                ),
                weight: 0.0,
            });
        }
        hits.push(LiveSource {
            level: hit.level,
            query: hit.query.clone(),
            connector: hit.connector.clone(),
            source: hit.source.clone(),
            supports,
        });
    }
    Some(Research {
        mode: if settings.offline {
            "offline".into()
        } else {
            "online".into()
        },
        sources: outcome
            .stats
            .iter()
            .map(|s| ResearchSourceStats {
                source: s.source.clone(),
                queries: s.queries,
                hits: s.hits,
                errors: s.errors,
                cache_hits: s.cache_hits + s.stale_cache_hits,
                messages: s.messages.clone(),
            })
            .collect(),
        hits,
        warnings,
    })
}

/// A live result supports a hypothesis when it is one of the entry's own sources,
/// or when at least three content words of the entry's title and aliases appear
/// in its title and claim.
fn supported_hypotheses(
    source: &fmr_core::Source,
    hypotheses: &[Hypothesis],
    kb: &KnowledgeBase,
) -> Vec<String> {
    let text = format!("{} {}", source.title, source.claim).to_lowercase();
    let words = fmr_kb::query_terms(&text);
    hypotheses
        .iter()
        .filter(|h| {
            let Some(entry) = kb.get(&h.id) else {
                return false;
            };
            if entry
                .sources
                .iter()
                .any(|s| s.reference == source.id || s.url == source.url)
            {
                return true;
            }
            let vocabulary =
                fmr_kb::query_terms(&format!("{} {}", entry.title, entry.aliases.join(" ")));
            vocabulary
                .iter()
                .filter(|w| w.len() > 3 && words.contains(w))
                .count()
                >= 3
        })
        .map(|h| h.id.clone())
        .collect()
}
