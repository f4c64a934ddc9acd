//! arXiv: preprints, searched through the legacy query API.
//!
//! ## API
//! `GET {base}/api/query?search_query=all:k1 AND all:k2…&max_results=N&sortBy=relevance`
//! answers an Atom 1.0 feed; each `<entry>` has `<id>` (`http://arxiv.org/abs/ID vN`),
//! `<title>`, `<summary>` (the abstract), `<published>`, and `<arxiv:comment>`
//! and `<arxiv:journal_ref>` when the authors gave them.
//!
//! ## Rate limit
//! One request every three seconds on a single connection (arXiv API terms of use).
//!
//! ## What becomes the claim
//! The sentence of the abstract that shares the most keywords with the query,
//! and the sentences after it, quoted. A comment or journal reference naming a
//! workshop makes the source a `workshop` paper.
//!
//! ## Failure modes
//! A bad query answers HTTP 200 with a single entry titled `Error` whose id is
//! under `arxiv.org/api/errors`: reported as an API error. When throttling,
//! arXiv answers the plain text `Rate exceeded.`: treated as a rate limit.
//! Anything else that is not a feed is malformed.

use std::sync::Arc;

use fmr_core::{Query, Source, SourceKind};
use quick_xml::events::Event;

use crate::http::{BodyError, HttpClient, Request};
use crate::rate_limit::RateLimiter;
use crate::{ClaimBasis, LiveHit, ResearchError, ResearchSource, query, text, time};

/// Terms ANDed in one query: arXiv's search is strict, and more terms find nothing.
const MAX_TERMS: usize = 4;

pub struct Arxiv {
    http: Arc<HttpClient>,
    base: String,
    limiter: RateLimiter,
}

impl Arxiv {
    pub fn new(http: Arc<HttpClient>, base: String, limiter: RateLimiter) -> Self {
        Self {
            http,
            base,
            limiter,
        }
    }
}

impl ResearchSource for Arxiv {
    fn name(&self) -> &'static str {
        "arxiv"
    }

    fn search(&self, q: &Query, limit: usize) -> Result<Vec<LiveHit>, ResearchError> {
        let keywords = query::keywords(&q.text, MAX_TERMS);
        if keywords.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let search = keywords
            .iter()
            .map(|k| format!("all:{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let max = limit.to_string();
        let url = query::url(
            &self.base,
            "/api/query",
            &[
                ("search_query", &search),
                ("start", "0"),
                ("max_results", &max),
                ("sortBy", "relevance"),
                ("sortOrder", "descending"),
            ],
        );
        let request = Request::new(self.name(), url, &self.limiter);
        let entries = self.http.get(&request, parse_feed)?;
        let all_keywords = query::keywords(&q.text, 12);
        Ok(entries
            .into_iter()
            .take(limit)
            .enumerate()
            .map(|(rank, entry)| entry.into_hit(q, &all_keywords, rank))
            .collect())
    }
}

/// One `<entry>` of the feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub published: String,
    pub comment: String,
    pub journal_ref: String,
}

impl Entry {
    fn into_hit(self, q: &Query, keywords: &[String], rank: usize) -> LiveHit {
        let arxiv_id = arxiv_id(&self.id);
        let venue = format!("{} {}", self.comment, self.journal_ref).to_lowercase();
        let kind = if venue.contains("workshop") {
            SourceKind::Workshop
        } else {
            SourceKind::Paper
        };
        let abstract_text = text::squash(&self.summary);
        let (basis, claim) = if abstract_text.is_empty() {
            (
                ClaimBasis::Title,
                text::quoted("Title", &text::squash(&self.title)),
            )
        } else {
            let excerpt = text::excerpt_best(&abstract_text, keywords, text::EXCERPT_CHARS);
            (ClaimBasis::Abstract, text::quoted("Abstract", &excerpt))
        };
        let source = Source {
            kind,
            id: format!("arXiv:{arxiv_id}"),
            url: format!("https://arxiv.org/abs/{arxiv_id}"),
            title: text::squash(&self.title),
            year: time::year_of_iso(&self.published),
            claim,
        };
        LiveHit::new(source, q, "arxiv", rank, basis)
    }
}

/// `http://arxiv.org/abs/1710.03740v3` → `1710.03740`; old-style ids keep their archive
/// (`hep-th/9901001`).
pub fn arxiv_id(entry_id: &str) -> String {
    let tail = entry_id
        .rsplit_once("/abs/")
        .map_or(entry_id, |(_, tail)| tail)
        .trim();
    match tail.rfind('v') {
        Some(at) if at + 1 < tail.len() && tail[at + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            tail[..at].to_string()
        }
        _ => tail.to_string(),
    }
}

/// The entries of an Atom feed, in order.
pub fn parse_feed(body: &str) -> Result<Vec<Entry>, BodyError> {
    let trimmed = body.trim_start();
    if !trimmed.starts_with('<') {
        if trimmed.to_lowercase().starts_with("rate exceeded") {
            return Err(BodyError::Throttled);
        }
        return Err(BodyError::Malformed(format!(
            "expected an Atom feed, got {:?}",
            text::truncate(&text::squash(trimmed), 80)
        )));
    }
    let mut reader = quick_xml::Reader::from_str(body);
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    let mut field: Option<Field> = None;
    let mut saw_feed = false;
    let mut feed_closed = false;
    loop {
        let event = reader.read_event().map_err(|err| {
            BodyError::Malformed(format!(
                "invalid XML at byte {}: {err}",
                reader.buffer_position()
            ))
        })?;
        match event {
            Event::Start(start) => {
                let name = start.local_name();
                match name.as_ref() {
                    "feed" => saw_feed = true,
                    "entry" => current = Some(Entry::default()),
                    other if current.is_some() => field = Field::of(other),
                    _ => {}
                }
            }
            Event::End(end) => match end.local_name().as_ref() {
                "entry" => entries.extend(current.take()),
                "feed" => feed_closed = true,
                _ => field = None,
            },
            Event::Text(content) => append(&mut current, field, &content.xml10_content()),
            Event::CData(content) => append(&mut current, field, &content.xml10_content()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => text::decode_entities(&format!("&{};", reference.xml10_content())),
                };
                append(&mut current, field, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_feed {
        return Err(BodyError::Malformed("no <feed> element".into()));
    }
    if current.is_some() || !feed_closed {
        return Err(BodyError::Malformed("the feed is cut short".into()));
    }
    if let [only] = entries.as_slice()
        && (only.id.contains("/api/errors") || only.title.trim() == "Error")
    {
        return Err(BodyError::Api(text::squash(&only.summary)));
    }
    Ok(entries)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Title,
    Summary,
    Published,
    Comment,
    JournalRef,
}

impl Field {
    fn of(local_name: &str) -> Option<Self> {
        match local_name {
            "id" => Some(Self::Id),
            "title" => Some(Self::Title),
            "summary" => Some(Self::Summary),
            "published" => Some(Self::Published),
            "comment" => Some(Self::Comment),
            "journal_ref" => Some(Self::JournalRef),
            _ => None,
        }
    }
}

fn append(entry: &mut Option<Entry>, field: Option<Field>, content: &str) {
    let (Some(entry), Some(field)) = (entry.as_mut(), field) else {
        return;
    };
    let target = match field {
        Field::Id => &mut entry.id,
        Field::Title => &mut entry.title,
        Field::Summary => &mut entry.summary,
        Field::Published => &mut entry.published,
        Field::Comment => &mut entry.comment,
        Field::JournalRef => &mut entry.journal_ref,
    };
    target.push_str(content);
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = include_str!("../../tests/fixtures/responses/arxiv_feed.xml");

    fn query(text: &str) -> Query {
        Query {
            level: 2,
            text: text.into(),
            rationale: String::new(),
            hits: Vec::new(),
        }
    }

    #[test]
    fn ids_lose_their_version() {
        assert_eq!(arxiv_id("http://arxiv.org/abs/1710.03740v3"), "1710.03740");
        assert_eq!(
            arxiv_id("https://arxiv.org/abs/hep-th/9901001v1"),
            "hep-th/9901001"
        );
        assert_eq!(arxiv_id("2101.00001"), "2101.00001");
        assert_eq!(arxiv_id("http://arxiv.org/abs/cs/0112017v"), "cs/0112017v");
    }

    #[test]
    fn feed_entries_become_sources() {
        let entries = parse_feed(FEED).expect("the fixture parses");
        let q = query("fp16 mixed precision loss scaling overflow nan");
        let keywords = query::keywords(&q.text, 12);
        let hits: Vec<LiveHit> = entries
            .into_iter()
            .enumerate()
            .map(|(rank, e)| e.into_hit(&q, &keywords, rank))
            .collect();
        insta::assert_json_snapshot!(hits);
    }

    #[test]
    fn error_entry_is_an_api_error() {
        let body = include_str!("../../tests/fixtures/responses/arxiv_error.xml");
        match parse_feed(body) {
            Err(BodyError::Api(message)) => assert!(message.contains("malformed"), "{message}"),
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn throttling_and_garbage_are_told_apart() {
        assert_eq!(parse_feed("Rate exceeded."), Err(BodyError::Throttled));
        assert!(matches!(
            parse_feed("{\"json\": true}"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_feed("<html><body>oops</body></html>"),
            Err(BodyError::Malformed(_))
        ));
        let cut = &FEED[..FEED.len() / 2];
        assert!(
            matches!(parse_feed(cut), Err(BodyError::Malformed(_))),
            "a truncated feed"
        );
    }

    #[test]
    fn an_empty_feed_is_no_hits() {
        let body = include_str!("../../tests/fixtures/responses/arxiv_empty.xml");
        assert_eq!(parse_feed(body), Ok(Vec::new()));
    }
}
