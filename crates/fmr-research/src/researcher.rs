//! Running queries over the live sources: which queries go where, bounded
//! parallelism, the time budget, merging duplicates, following links, and
//! the per-source numbers the report shows.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fmr_core::Query;
use fmr_store::Store;
use serde::{Deserialize, Serialize};

use crate::config::{Mode, ResearchConfig};
use crate::http::{HttpClient, HttpCounters};
use crate::rate_limit::RateLimiter;
use crate::sources::arxiv::Arxiv;
use crate::sources::github::Github;
use crate::sources::openalex::OpenAlex;
use crate::sources::page::PageFetcher;
use crate::sources::stackexchange::{Site, StackExchange};
use crate::{ClaimBasis, LiveHit, ResearchError, ResearchSource, SourceId, query};

/// Distinct error messages kept per source for the report.
const MESSAGES_PER_SOURCE: usize = 3;

/// The name under which linked pages are counted.
const PAGES: &str = "pages";

/// Searches the live sources.
pub struct Researcher {
    config: ResearchConfig,
    http: Arc<HttpClient>,
    sources: Vec<Box<dyn ResearchSource>>,
    pages: PageFetcher,
    setup_warnings: Vec<String>,
    /// One run at a time: the time budget and counters belong to a run.
    run_lock: Mutex<()>,
}

/// What a run found, and how each source fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResearchOutcome {
    pub mode: Mode,
    /// Deduplicated, most specific level first, then in query and source order.
    pub hits: Vec<LiveHit>,
    /// One entry per source asked, in the configured order, `pages` last.
    pub stats: Vec<SourceStats>,
    /// Problems worth a line in the report (cache unavailable, comments unread, ...).
    pub warnings: Vec<String>,
}

/// The numbers for one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    pub source: String,
    /// Searches run (answered from the cache or the network).
    pub queries: usize,
    /// Hits returned, before merging duplicates across sources.
    pub hits: usize,
    /// Searches that failed.
    pub errors: usize,
    /// Searches not run: the time budget ran out.
    pub skipped: usize,
    /// Network requests, retries included.
    pub requests: usize,
    pub retries: usize,
    /// Responses served from the cache while fresh.
    pub cache_hits: usize,
    /// Responses served from expired entries (offline mode).
    pub stale_cache_hits: usize,
    /// Responses the cache could not serve.
    pub cache_misses: usize,
    /// The first distinct error messages.
    pub messages: Vec<String>,
}

/// Reported after each search, from the worker thread that ran it.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Searches finished so far, this one included, and the total planned.
    pub done: usize,
    pub total: usize,
    pub source: &'static str,
    pub level: u8,
    pub query: &'a str,
    pub hits: usize,
    /// `None` on success and when skipped.
    pub error: Option<&'a ResearchError>,
    pub skipped: bool,
}

/// One search's result, kept until every thread has finished.
enum Outcome {
    Hits(Vec<LiveHit>),
    Failed(ResearchError),
    Skipped,
}

impl Researcher {
    /// The built-in sources named in `config.sources`. A cache that cannot be
    /// opened is reported in every outcome's warnings; the search goes on without it.
    pub fn new(config: ResearchConfig) -> Self {
        let mut warnings = Vec::new();
        let store = config
            .cache_path
            .as_ref()
            .and_then(|path| match Store::open(path) {
                Ok(store) => Some(store),
                Err(err) => {
                    warnings.push(format!(
                        "response cache unavailable, searching without it: {err}"
                    ));
                    None
                }
            });
        let http = Arc::new(HttpClient::new(&config, store));
        let sources = builtin_sources(&config, &http);
        Self::assemble(config, http, sources, warnings)
    }

    /// Custom sources instead of the built-in ones (plug-ins, tests). The
    /// page fetcher and the cache settings still come from `config`.
    pub fn with_sources(config: ResearchConfig, sources: Vec<Box<dyn ResearchSource>>) -> Self {
        let mut researcher = Self::new(ResearchConfig {
            sources: Vec::new(),
            ..config
        });
        researcher.sources = sources;
        researcher
    }

    fn assemble(
        config: ResearchConfig,
        http: Arc<HttpClient>,
        sources: Vec<Box<dyn ResearchSource>>,
        mut setup_warnings: Vec<String>,
    ) -> Self {
        if config.mode == Mode::Offline && !http.has_cache() {
            setup_warnings
                .push("offline without a response cache: live sources cannot answer".into());
        }
        let pages = PageFetcher::new(
            Arc::clone(&http),
            RateLimiter::new(config.rate_limits.pages),
            config.allow_private_links,
        );
        Self {
            config,
            http,
            sources,
            pages,
            setup_warnings,
            run_lock: Mutex::new(()),
        }
    }

    /// The names of the sources a run asks, in order.
    pub fn source_names(&self) -> Vec<&'static str> {
        self.sources.iter().map(|s| s.name()).collect()
    }

    pub fn mode(&self) -> Mode {
        self.config.mode
    }

    /// Runs `queries` over every source.
    pub fn research(&self, queries: &[Query]) -> ResearchOutcome {
        self.research_with_progress(queries, &|_| {})
    }

    /// [`Researcher::research`], calling `progress` after each search (from
    /// worker threads; keep it quick, e.g. advance a progress bar).
    pub fn research_with_progress(
        &self,
        queries: &[Query],
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> ResearchOutcome {
        let _run = self.run_lock.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = self.config.deadline.map(|budget| Instant::now() + budget);
        self.http.set_deadline(deadline);
        self.http.take_counters();

        let plans: Vec<Vec<usize>> = self
            .sources
            .iter()
            .map(|s| plan(s.as_ref(), queries, self.config.max_queries_per_source))
            .collect();
        let total: usize = plans.iter().map(Vec::len).sum();
        let outcomes = self.run_searches(queries, &plans, deadline, total, progress);

        let mut stats: Vec<SourceStats> = self
            .sources
            .iter()
            .map(|s| SourceStats {
                source: s.name().to_string(),
                ..SourceStats::default()
            })
            .collect();
        let mut hits = merge(&plans, &outcomes, &mut stats);
        let mut warnings = self.setup_warnings.clone();
        for source in &self.sources {
            warnings.extend(source.take_notes());
        }
        if stats.iter().any(|s| s.skipped > 0) {
            let skipped: usize = stats.iter().map(|s| s.skipped).sum();
            let budget = self.config.deadline.map_or(0, |d| d.as_secs());
            warnings.push(format!(
                "the {budget}s time budget ran out: {skipped} searches skipped"
            ));
        }
        let pages = self.follow_links(&mut hits, deadline);
        if self.config.follow_links > 0 {
            stats.push(pages);
        }
        let counters = self.http.take_counters();
        let cache_errors: usize = counters.values().map(|c| c.cache_errors).sum();
        if cache_errors > 0 {
            warnings.push(format!(
                "the response cache failed {cache_errors} times (locked or unwritable); \
                 those answers were fetched but not kept"
            ));
        }
        apply_counters(&mut stats, counters);
        hits.sort_by_key(|h| h.level);
        ResearchOutcome {
            mode: self.config.mode,
            hits,
            stats,
            warnings,
        }
    }

    /// Each worker takes a whole source and runs its queries in order: a
    /// source's rate limit serialises its requests anyway, and arXiv asks for
    /// one connection at a time.
    fn run_searches(
        &self,
        queries: &[Query],
        plans: &[Vec<usize>],
        deadline: Option<Instant>,
        total: usize,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Vec<Vec<Outcome>> {
        let results: Vec<Mutex<Vec<Outcome>>> =
            plans.iter().map(|_| Mutex::new(Vec::new())).collect();
        let next_source = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let workers = self.config.parallelism.clamp(1, self.sources.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let index = next_source.fetch_add(1, Ordering::Relaxed);
                        let Some(source) = self.sources.get(index) else {
                            break;
                        };
                        for &query_index in &plans[index] {
                            let query = &queries[query_index];
                            let outcome = if deadline.is_some_and(|d| Instant::now() >= d) {
                                Outcome::Skipped
                            } else {
                                search_guarded(source.as_ref(), query, self.config.hits_per_query)
                            };
                            let (hits, error, skipped) = match &outcome {
                                Outcome::Hits(hits) => (hits.len(), None, false),
                                Outcome::Failed(err) => (0, Some(err), false),
                                Outcome::Skipped => (0, None, true),
                            };
                            progress(Progress {
                                done: done.fetch_add(1, Ordering::Relaxed) + 1,
                                total,
                                source: source.name(),
                                level: query.level,
                                query: &query.text,
                                hits,
                                error,
                                skipped,
                            });
                            results[index]
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(outcome);
                        }
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect()
    }

    /// Fetches the pages linked from the quoted answers and comments, most
    /// specific hits first; returns the stats for `pages`.
    fn follow_links(&self, hits: &mut Vec<LiveHit>, deadline: Option<Instant>) -> SourceStats {
        let mut stats = SourceStats {
            source: PAGES.to_string(),
            ..SourceStats::default()
        };
        if self.config.follow_links == 0 {
            return stats;
        }
        let mut known: HashSet<String> = hits.iter().map(|h| h.source.url.clone()).collect();
        let mut order: Vec<usize> = (0..hits.len()).collect();
        order.sort_by_key(|&i| hits[i].level);
        let mut planned: Vec<(String, usize)> = Vec::new();
        for index in order {
            for link in &hits[index].links {
                if planned.len() < self.config.follow_links
                    && self.pages.is_followable(link)
                    && known.insert(link.clone())
                {
                    planned.push((link.clone(), index));
                }
            }
        }
        let mut found = Vec::new();
        for (link, parent) in planned {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                stats.skipped += 1;
                continue;
            }
            stats.queries += 1;
            let parent = &hits[parent];
            match self.pages.fetch(&link, &parent.source.id) {
                Ok(source) => {
                    stats.hits += 1;
                    found.push(LiveHit {
                        source,
                        level: parent.level,
                        query: parent.query.clone(),
                        connector: PAGES.to_string(),
                        rank: 0,
                        basis: ClaimBasis::PageParagraph,
                        citations: None,
                        votes: None,
                        resolved: None,
                        links: Vec::new(),
                        via: Some(parent.source.id.clone()),
                    });
                }
                Err(err) => record_error(&mut stats, &err),
            }
        }
        let mut ids: HashSet<String> = hits.iter().map(|h| h.source.id.clone()).collect();
        hits.extend(
            found
                .into_iter()
                .filter(|h| ids.insert(h.source.id.clone())),
        );
        stats
    }
}

/// The built-in connectors for `config.sources`, in that order, each once.
fn builtin_sources(
    config: &ResearchConfig,
    http: &Arc<HttpClient>,
) -> Vec<Box<dyn ResearchSource>> {
    let limits = &config.rate_limits;
    let stackexchange_limiter = Arc::new(RateLimiter::new(limits.stackexchange));
    let stackexchange = |site| -> Box<dyn ResearchSource> {
        Box::new(StackExchange::new(
            Arc::clone(http),
            config.endpoints.stackexchange.clone(),
            site,
            config.stackexchange_key.clone(),
            Arc::clone(&stackexchange_limiter),
        ))
    };
    let mut seen = HashSet::new();
    config
        .sources
        .iter()
        .filter(|id| seen.insert(**id))
        .filter_map(|id| -> Option<Box<dyn ResearchSource>> {
            Some(match id {
                SourceId::Arxiv => Box::new(Arxiv::new(
                    Arc::clone(http),
                    config.endpoints.arxiv.clone(),
                    RateLimiter::new(limits.arxiv),
                )),
                SourceId::Github => Box::new(Github::new(
                    Arc::clone(http),
                    config.endpoints.github.clone(),
                    config.github_token.clone(),
                    RateLimiter::new(if config.github_token.is_some() {
                        limits.github_search_with_token
                    } else {
                        limits.github_search
                    }),
                    RateLimiter::new(limits.github_core),
                    config.github_comment_fetches,
                )),
                SourceId::StackOverflow => stackexchange(Site::StackOverflow),
                SourceId::CrossValidated => stackexchange(Site::CrossValidated),
                SourceId::DataScience => stackexchange(Site::DataScience),
                SourceId::OpenAlex => Box::new(OpenAlex::new(
                    Arc::clone(http),
                    config.endpoints.openalex.clone(),
                    config.mailto.clone(),
                    config.openalex_api_key.clone(),
                    RateLimiter::new(limits.openalex),
                )),
                // Pages are followed from other hits, never searched.
                SourceId::Pages => return None,
            })
        })
        .collect()
}

/// The queries a source gets: levels it serves, distinct texts, most specific first.
fn plan(source: &dyn ResearchSource, queries: &[Query], max: usize) -> Vec<usize> {
    let mut seen = HashSet::new();
    let mut picked: Vec<usize> = (0..queries.len())
        .filter(|&i| {
            let q = &queries[i];
            source.levels().contains(&q.level)
                && !q.text.trim().is_empty()
                && seen.insert(query::normalize(&q.text))
        })
        .collect();
    picked.sort_by_key(|&i| (queries[i].level, i));
    picked.truncate(max);
    picked
}

/// A connector that panics is a bug, but must not take the investigation down.
fn search_guarded(source: &dyn ResearchSource, query: &Query, limit: usize) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| source.search(query, limit))) {
        Ok(Ok(hits)) => Outcome::Hits(hits),
        Ok(Err(err)) => Outcome::Failed(err),
        Err(_) => Outcome::Failed(ResearchError::Malformed {
            connector: source.name(),
            url: String::new(),
            message: "internal error in the connector (it panicked); please report it".into(),
        }),
    }
}

/// Stats per source, and the hits deduplicated by source id: the first
/// occurrence (in query order) stays, at the most specific level that found
/// it, with the best citation and vote counts any source gave.
fn merge(
    plans: &[Vec<usize>],
    outcomes: &[Vec<Outcome>],
    stats: &mut [SourceStats],
) -> Vec<LiveHit> {
    // (query index, source index, outcome) in query order, then source order.
    let mut ordered: Vec<(usize, usize, &Outcome)> = Vec::new();
    for (source_index, (plan, results)) in plans.iter().zip(outcomes).enumerate() {
        for (query_index, outcome) in plan.iter().zip(results) {
            ordered.push((*query_index, source_index, outcome));
        }
    }
    ordered.sort_by_key(|(query, source, _)| (*query, *source));

    let mut merged: Vec<LiveHit> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (_, source_index, outcome) in ordered {
        let stats = &mut stats[source_index];
        match outcome {
            Outcome::Skipped => stats.skipped += 1,
            Outcome::Failed(err) => {
                if matches!(err, ResearchError::Deadline { .. }) {
                    stats.skipped += 1;
                } else {
                    stats.queries += 1;
                    record_error(stats, err);
                }
            }
            Outcome::Hits(hits) => {
                stats.queries += 1;
                stats.hits += hits.len();
                for hit in hits {
                    match by_id.get(&hit.source.id) {
                        Some(&at) => absorb(&mut merged[at], hit),
                        None => {
                            by_id.insert(hit.source.id.clone(), merged.len());
                            merged.push(hit.clone());
                        }
                    }
                }
            }
        }
    }
    merged
}

fn absorb(kept: &mut LiveHit, other: &LiveHit) {
    if other.level < kept.level {
        kept.level = other.level;
        kept.query = other.query.clone();
    }
    kept.citations = kept.citations.max(other.citations);
    kept.votes = kept.votes.max(other.votes);
    kept.source.year = kept.source.year.or(other.source.year);
    kept.resolved = kept.resolved.or(other.resolved);
}

fn record_error(stats: &mut SourceStats, err: &ResearchError) {
    if !err.is_fault() {
        return;
    }
    stats.errors += 1;
    let message = err.to_string();
    if stats.messages.len() < MESSAGES_PER_SOURCE && !stats.messages.contains(&message) {
        stats.messages.push(message);
    }
}

fn apply_counters(stats: &mut [SourceStats], counters: BTreeMap<&'static str, HttpCounters>) {
    for entry in stats.iter_mut() {
        if let Some(c) = counters.get(entry.source.as_str()) {
            entry.requests += c.requests;
            entry.retries += c.retries;
            entry.cache_hits += c.cache_hits;
            entry.stale_cache_hits += c.stale_cache_hits;
            entry.cache_misses += c.cache_misses;
        }
    }
}

impl fmt::Display for ResearchOutcome {
    /// The "sources checked" block of a report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::Online => "online",
            Mode::Offline => "offline, cache only",
        };
        writeln!(
            f,
            "Live sources checked ({mode}): {} distinct hits",
            self.hits.len()
        )?;
        for s in &self.stats {
            let cached = s.cache_hits + s.stale_cache_hits;
            write!(
                f,
                "  {:<15} {:>2} queries  {:>3} hits  {:>2} from cache  {:>2} requests",
                s.source, s.queries, s.hits, cached, s.requests
            )?;
            if s.errors > 0 {
                write!(f, "  {} failed", s.errors)?;
            }
            if s.skipped > 0 {
                write!(f, "  {} skipped", s.skipped)?;
            }
            writeln!(f)?;
            for message in &s.messages {
                writeln!(f, "      {message}")?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "  note: {warning}")?;
        }
        Ok(())
    }
}
