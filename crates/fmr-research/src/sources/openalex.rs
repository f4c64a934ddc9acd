//! OpenAlex: papers of every venue, with citation counts, including workshop
//! papers that arXiv alone misses.
//!
//! ## API
//! `GET {base}/works?search=…&per-page=N&select=…&mailto=…&api_key=…` answers
//! `{meta: {count, page, per_page}, results: [{id, doi, display_name,
//! publication_year, cited_by_count, type, primary_location: {landing_page_url,
//! source: {display_name}}, abstract_inverted_index}]}`. The abstract comes as
//! an inverted index (word → positions) and is rebuilt here.
//!
//! ## Rate limit
//! 100 requests a second at most; fmr spaces them by 100 ms. Searches draw on a
//! daily budget that is tiny without a key: set `OPENALEX_API_KEY` (free), and
//! `FMR_MAILTO` to join the polite pool. The key never appears in cache keys or
//! messages.
//!
//! ## What becomes the claim
//! The sentence of the rebuilt abstract that shares the most keywords with the
//! query, quoted; the title when there is no abstract. Works whose venue names a
//! workshop are `workshop` sources. A work with an arXiv DOI
//! (`10.48550/arxiv.…`) gets the same `arXiv:` id as the arXiv connector, so the
//! two merge and the arXiv hit gains the citation count.
//!
//! ## Failure modes
//! Errors come as `{error, message}` (400 for a bad parameter, 429 or 403 when
//! the budget is spent). Results without an id or title are skipped.

use std::collections::BTreeMap;
use std::sync::Arc;

use fmr_core::{Query, Source, SourceKind};
use serde::Deserialize;

use crate::http::{BodyError, HttpClient, Request};
use crate::rate_limit::RateLimiter;
use crate::{ClaimBasis, LiveHit, ResearchError, ResearchSource, query, text};

const MAX_TERMS: usize = 6;

/// Fields asked for: the rest of a work record is large and unused.
const SELECT: &str = "id,doi,display_name,publication_year,cited_by_count,type,primary_location,abstract_inverted_index";

/// Positions beyond this are ignored when rebuilding an abstract, so a hostile
/// index cannot make fmr allocate without bound.
const MAX_ABSTRACT_WORDS: usize = 4_000;

pub struct OpenAlex {
    http: Arc<HttpClient>,
    base: String,
    mailto: Option<String>,
    api_key: Option<String>,
    limiter: RateLimiter,
}

impl OpenAlex {
    pub fn new(
        http: Arc<HttpClient>,
        base: String,
        mailto: Option<String>,
        api_key: Option<String>,
        limiter: RateLimiter,
    ) -> Self {
        Self {
            http,
            base,
            mailto,
            api_key,
            limiter,
        }
    }
}

impl ResearchSource for OpenAlex {
    fn name(&self) -> &'static str {
        "openalex"
    }

    fn search(&self, q: &Query, limit: usize) -> Result<Vec<LiveHit>, ResearchError> {
        let keywords = query::keywords(&q.text, MAX_TERMS);
        if keywords.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let per_page = limit.to_string();
        let search = keywords.join(" ");
        let mut params: Vec<(&str, &str)> = vec![
            ("search", &search),
            ("per-page", &per_page),
            ("select", SELECT),
        ];
        if let Some(mail) = &self.mailto {
            params.push(("mailto", mail));
        }
        let public_url = query::url(&self.base, "/works", &params);
        let url = match &self.api_key {
            Some(key) => format!("{public_url}&api_key={}", query::encode(key)),
            None => public_url.clone(),
        };
        let mut request = Request::new(self.name(), url, &self.limiter);
        request.key = public_url;
        let works = self.http.get(&request, parse_works)?;
        let all_keywords = query::keywords(&q.text, 12);
        Ok(works
            .into_iter()
            .take(limit)
            .enumerate()
            .map(|(rank, work)| work.into_hit(q, &all_keywords, rank))
            .collect())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Work {
    pub id: String,
    #[serde(default)]
    pub doi: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub publication_year: Option<i32>,
    #[serde(default)]
    pub cited_by_count: Option<u64>,
    #[serde(default)]
    pub primary_location: Option<Location>,
    #[serde(default)]
    pub abstract_inverted_index: Option<BTreeMap<String, Vec<usize>>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Location {
    #[serde(default)]
    pub landing_page_url: Option<String>,
    #[serde(default)]
    pub source: Option<Venue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Venue {
    #[serde(default)]
    pub display_name: Option<String>,
}

/// The works of a search answer; results without an id or title are skipped.
pub fn parse_works(body: &str) -> Result<Vec<Work>, BodyError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|err| BodyError::Malformed(format!("not JSON: {err}")))?;
    let Some(serde_json::Value::Array(results)) = value.get("results") else {
        let message = value
            .get("message")
            .or_else(|| value.get("error"))
            .and_then(|m| m.as_str());
        return Err(match message {
            Some(message) => BodyError::Api(message.to_string()),
            None => BodyError::Malformed("no `results` list".into()),
        });
    };
    Ok(results
        .iter()
        .filter_map(|r| serde_json::from_value::<Work>(r.clone()).ok())
        .filter(|w| {
            w.display_name
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty())
        })
        .collect())
}

/// The abstract's words in position order, from `word → [positions]`.
pub fn rebuild_abstract(index: &BTreeMap<String, Vec<usize>>) -> String {
    let length = index
        .values()
        .flatten()
        .copied()
        .filter(|&p| p < MAX_ABSTRACT_WORDS)
        .max()
        .map_or(0, |p| p + 1);
    let mut words: Vec<&str> = vec![""; length];
    for (word, positions) in index {
        for &position in positions {
            if let Some(slot) = words.get_mut(position) {
                *slot = word;
            }
        }
    }
    words.retain(|w| !w.is_empty());
    words.join(" ")
}

impl Work {
    fn into_hit(self, q: &Query, keywords: &[String], rank: usize) -> LiveHit {
        let title = text::squash(&text::html_to_text(
            self.display_name.as_deref().unwrap_or(""),
        ));
        let venue = self
            .primary_location
            .as_ref()
            .and_then(|l| l.source.as_ref())
            .and_then(|s| s.display_name.clone())
            .unwrap_or_default();
        let kind = if venue.to_lowercase().contains("workshop") {
            SourceKind::Workshop
        } else {
            SourceKind::Paper
        };
        let doi = self
            .doi
            .as_deref()
            .map(|d| d.trim_start_matches("https://doi.org/").to_lowercase());
        let (id, url) = match doi.as_deref() {
            Some(doi) if doi.starts_with("10.48550/arxiv.") => {
                let arxiv = &doi["10.48550/arxiv.".len()..];
                (
                    format!("arXiv:{arxiv}"),
                    format!("https://arxiv.org/abs/{arxiv}"),
                )
            }
            Some(doi) if !doi.is_empty() => {
                (format!("doi:{doi}"), format!("https://doi.org/{doi}"))
            }
            _ => {
                let short = self.id.rsplit('/').next().unwrap_or(&self.id).to_string();
                let landing = self
                    .primary_location
                    .as_ref()
                    .and_then(|l| l.landing_page_url.clone())
                    .unwrap_or_else(|| self.id.clone());
                (format!("openalex:{short}"), landing)
            }
        };
        let abstract_text = self
            .abstract_inverted_index
            .as_ref()
            .map(rebuild_abstract)
            .unwrap_or_default();
        let (basis, claim) = if abstract_text.is_empty() {
            (ClaimBasis::Title, text::quoted("Title", &title))
        } else {
            let excerpt = text::excerpt_best(&abstract_text, keywords, text::EXCERPT_CHARS);
            (ClaimBasis::Abstract, text::quoted("Abstract", &excerpt))
        };
        let source = Source {
            kind,
            id,
            url,
            title,
            year: self.publication_year,
            claim,
        };
        let mut hit = LiveHit::new(source, q, "openalex", rank, basis);
        hit.citations = self.cited_by_count;
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKS: &str = include_str!("../../tests/fixtures/responses/openalex_works.json");

    #[test]
    fn works_become_papers_with_citations() {
        let q = Query {
            level: 3,
            text: "dead units codebook collapse k-means empty clusters".into(),
            rationale: String::new(),
            hits: Vec::new(),
        };
        let keywords = query::keywords(&q.text, 12);
        let hits: Vec<LiveHit> = parse_works(WORKS)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(rank, work)| work.into_hit(&q, &keywords, rank))
            .collect();
        insta::assert_json_snapshot!(hits);
    }

    #[test]
    fn abstracts_rebuild_in_order_and_ignore_absurd_positions() {
        let mut index = BTreeMap::new();
        index.insert("collapse".to_string(), vec![1]);
        index.insert("codebook".to_string(), vec![0, 3]);
        index.insert("again".to_string(), vec![2, 10_000_000]);
        assert_eq!(rebuild_abstract(&index), "codebook collapse again codebook");
        assert_eq!(rebuild_abstract(&BTreeMap::new()), "");
    }

    #[test]
    fn error_bodies_are_api_errors() {
        let body = r#"{"error":"Invalid query parameters error.","message":"per-page must be between 1 and 200"}"#;
        assert_eq!(
            parse_works(body),
            Err(BodyError::Api("per-page must be between 1 and 200".into()))
        );
        assert!(matches!(parse_works("[1,2"), Err(BodyError::Malformed(_))));
    }
}
