//! Stack Exchange: Stack Overflow, Cross Validated and Data Science, one
//! connector per site over the same API.
//!
//! ## API
//! `GET {base}/2.3/search/advanced?q=…&site=SITE&order=desc&sort=relevance&pagesize=N&filter=withbody`
//! answers the common wrapper `{items, has_more, quota_max, quota_remaining,
//! backoff?}` around questions `{question_id, title, link, score,
//! accepted_answer_id?, answer_count, creation_date, body}`. Then one
//! `GET {base}/2.3/questions/{id;id;…}/answers?site=SITE&sort=votes&filter=withbody`
//! fetches the answers of all answered hits at once.
//!
//! ## Rate limit
//! 30 requests a second per IP and 300 a day without an app key
//! (`STACKEXCHANGE_KEY` raises that to 10,000). A `backoff` field in any answer
//! means "no request to this method for that many seconds": fmr defers every
//! later request to the site group accordingly.
//!
//! ## What becomes the claim
//! The accepted answer; else the best-voted answer with a positive score; else
//! the question itself. Code blocks are left out; titles arrive HTML-escaped
//! and are decoded.
//!
//! ## Failure modes
//! Errors come as `{error_id, error_name, error_message}`, with HTTP 400 for a
//! bad request or a spent quota and 502 for a throttle violation; the message is
//! reported. If the answers request fails, the questions are still returned,
//! quoted from their own text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fmr_core::{Query, Source, SourceKind};
use serde::Deserialize;

use crate::http::{BodyError, HttpClient, Request};
use crate::rate_limit::RateLimiter;
use crate::{ClaimBasis, LiveHit, ResearchError, ResearchSource, query, text, time};

/// Terms in one search; the API matches them loosely, so a few more than GitHub.
const MAX_TERMS: usize = 6;

/// A Stack Exchange site fmr searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    StackOverflow,
    CrossValidated,
    DataScience,
}

impl Site {
    fn name(self) -> &'static str {
        match self {
            Self::StackOverflow => "stackoverflow",
            Self::CrossValidated => "crossvalidated",
            Self::DataScience => "datascience",
        }
    }

    /// The `site` parameter of the API.
    fn api_site(self) -> &'static str {
        match self {
            Self::StackOverflow => "stackoverflow",
            Self::CrossValidated => "stats",
            Self::DataScience => "datascience",
        }
    }

    /// The host, as the knowledge base writes these ids (`stats.stackexchange.com/q/123`).
    fn host(self) -> &'static str {
        match self {
            Self::StackOverflow => "stackoverflow.com",
            Self::CrossValidated => "stats.stackexchange.com",
            Self::DataScience => "datascience.stackexchange.com",
        }
    }
}

pub struct StackExchange {
    http: Arc<HttpClient>,
    base: String,
    site: Site,
    key: Option<String>,
    /// Shared by all sites: the quota and `backoff` apply per IP.
    limiter: Arc<RateLimiter>,
    notes: Mutex<Vec<String>>,
}

impl StackExchange {
    pub fn new(
        http: Arc<HttpClient>,
        base: String,
        site: Site,
        key: Option<String>,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        Self {
            http,
            base,
            site,
            key,
            limiter,
            notes: Mutex::new(Vec::new()),
        }
    }

    fn url(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        all.push(("site", self.site.api_site()));
        all.push(("filter", "withbody"));
        if let Some(key) = &self.key {
            all.push(("key", key));
        }
        query::url(&self.base, path, &all)
    }

    /// The app key is not a secret (Stack Exchange says so), but it is the
    /// user's, so cache keys and messages leave it out.
    fn request(&self, url: String) -> Request<'_> {
        let key = match &self.key {
            Some(secret) => url.replace(&format!("&key={}", query::encode(secret)), ""),
            None => url.clone(),
        };
        let mut request = Request::new(self.name(), url, &self.limiter);
        request.key = key;
        request
    }

    fn honour_backoff<T>(&self, page: &Wrapper<T>) {
        if let Some(seconds) = page.backoff.filter(|s| *s > 0) {
            self.limiter.defer(Duration::from_secs(seconds));
        }
        if page.quota_remaining == Some(0) {
            self.note(
                "stack exchange: the daily request quota is spent (300 a day without \
                 STACKEXCHANGE_KEY); further searches fail until it resets"
                    .into(),
            );
        }
    }

    fn note(&self, message: String) {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        if !notes.contains(&message) {
            notes.push(message);
        }
    }
}

impl ResearchSource for StackExchange {
    fn name(&self) -> &'static str {
        self.site.name()
    }

    fn levels(&self) -> &'static [u8] {
        &[1, 2, 3]
    }

    fn search(&self, q: &Query, limit: usize) -> Result<Vec<LiveHit>, ResearchError> {
        let keywords = query::keywords(&q.text, MAX_TERMS);
        if keywords.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let pagesize = limit.to_string();
        let url = self.url(
            "/2.3/search/advanced",
            &[
                ("q", &keywords.join(" ")),
                ("order", "desc"),
                ("sort", "relevance"),
                ("pagesize", &pagesize),
            ],
        );
        let page: Wrapper<Question> = self.http.get(&self.request(url), parse_wrapper)?;
        self.honour_backoff(&page);
        let questions: Vec<Question> = page.items.into_iter().take(limit).collect();
        let answered: Vec<String> = questions
            .iter()
            .filter(|q| q.answer_count > 0)
            .map(|q| q.question_id.to_string())
            .collect();
        let mut answers: HashMap<u64, Vec<Answer>> = HashMap::new();
        if !answered.is_empty() {
            let url = self.url(
                &format!("/2.3/questions/{}/answers", answered.join(";")),
                &[("order", "desc"), ("sort", "votes"), ("pagesize", "100")],
            );
            match self.http.get(&self.request(url), parse_wrapper::<Answer>) {
                Ok(page) => {
                    self.honour_backoff(&page);
                    for answer in page.items {
                        answers.entry(answer.question_id).or_default().push(answer);
                    }
                }
                Err(err) => {
                    if err.is_fault() {
                        self.note(format!("{err}; quoting the questions instead"));
                    }
                }
            }
        }
        Ok(questions
            .into_iter()
            .enumerate()
            .map(|(rank, question)| {
                let thread = answers.remove(&question.question_id).unwrap_or_default();
                question.into_hit(q, self.site, rank, &thread)
            })
            .collect())
    }

    fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The common wrapper of every Stack Exchange answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Wrapper<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub quota_remaining: Option<i64>,
    #[serde(default)]
    pub backoff: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Question {
    pub question_id: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub link: String,
    #[serde(default)]
    pub score: i64,
    #[serde(default)]
    pub accepted_answer_id: Option<u64>,
    #[serde(default)]
    pub answer_count: u64,
    #[serde(default)]
    pub creation_date: Option<i64>,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Answer {
    pub answer_id: u64,
    pub question_id: u64,
    #[serde(default)]
    pub is_accepted: bool,
    #[serde(default)]
    pub score: i64,
    #[serde(default)]
    pub body: String,
}

/// Parses the wrapper; an `error_message` is an API error even in a 200.
pub fn parse_wrapper<T: serde::de::DeserializeOwned>(body: &str) -> Result<Wrapper<T>, BodyError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|err| BodyError::Malformed(format!("not JSON: {err}")))?;
    if let Some(message) = value.get("error_message").and_then(|m| m.as_str()) {
        return Err(BodyError::Api(message.to_string()));
    }
    let items = match value.get("items") {
        Some(serde_json::Value::Array(items)) => items,
        _ => return Err(BodyError::Malformed("no `items` list".into())),
    };
    // Items that do not fit are skipped, not fatal: one odd question should not hide the rest.
    let parsed = items
        .iter()
        .filter_map(|item| serde_json::from_value(item.clone()).ok())
        .collect();
    let number = |field: &str| value.get(field).and_then(serde_json::Value::as_i64);
    Ok(Wrapper {
        items: parsed,
        has_more: value
            .get("has_more")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        quota_remaining: number("quota_remaining"),
        backoff: number("backoff").and_then(|b| u64::try_from(b).ok()),
    })
}

impl Question {
    fn into_hit(self, q: &Query, site: Site, rank: usize, answers: &[Answer]) -> LiveHit {
        let accepted = answers
            .iter()
            .find(|a| a.is_accepted || Some(a.answer_id) == self.accepted_answer_id);
        let top = answers
            .iter()
            .filter(|a| a.score > 0)
            .max_by_key(|a| a.score);
        let (basis, html) = match (accepted, top) {
            (Some(answer), _) => (ClaimBasis::AcceptedAnswer, answer.body.as_str()),
            (None, Some(answer)) => (ClaimBasis::TopAnswer, answer.body.as_str()),
            (None, None) => (ClaimBasis::Question, self.body.as_str()),
        };
        let prose = text::html_to_text(html);
        let title = text::squash(&text::decode_entities(&self.title));
        let (basis, claim) = if prose.is_empty() {
            (ClaimBasis::Title, text::quoted("Title", &title))
        } else {
            (
                basis,
                text::quoted(
                    basis.label(),
                    &text::excerpt_lead(&prose, text::EXCERPT_CHARS),
                ),
            )
        };
        let url = if self.link.starts_with("https://") || self.link.starts_with("http://") {
            self.link.clone()
        } else {
            format!("https://{}/questions/{}", site.host(), self.question_id)
        };
        let source = Source {
            kind: SourceKind::Stackoverflow,
            id: format!("{}/q/{}", site.host(), self.question_id),
            url,
            title,
            year: self.creation_date.map(time::year_of_unix),
            claim,
        };
        let mut hit = LiveHit::new(source, q, site.name(), rank, basis);
        hit.votes = Some(self.score);
        hit.resolved = Some(accepted.is_some());
        hit.links = text::extract_links(html);
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: &str = include_str!("../../tests/fixtures/responses/stackexchange_search.json");
    const ANSWERS: &str = include_str!("../../tests/fixtures/responses/stackexchange_answers.json");

    #[test]
    fn questions_take_their_accepted_or_best_answer() {
        let q = Query {
            level: 2,
            text: "keras loss nan learning rate".into(),
            rationale: String::new(),
            hits: Vec::new(),
        };
        let questions: Wrapper<Question> = parse_wrapper(SEARCH).unwrap();
        let answers: Wrapper<Answer> = parse_wrapper(ANSWERS).unwrap();
        assert_eq!(questions.backoff, Some(10));
        assert!(questions.has_more);
        let hits: Vec<LiveHit> = questions
            .items
            .into_iter()
            .enumerate()
            .map(|(rank, question)| {
                let thread: Vec<Answer> = answers
                    .items
                    .iter()
                    .filter(|a| a.question_id == question.question_id)
                    .cloned()
                    .collect();
                question.into_hit(&q, Site::CrossValidated, rank, &thread)
            })
            .collect();
        insta::assert_json_snapshot!(hits);
    }

    #[test]
    fn error_wrappers_and_garbage_are_errors() {
        let throttled = r#"{"error_id":502,"error_message":"too many requests from this IP, more requests available in 82000 seconds","error_name":"throttle_violation"}"#;
        assert_eq!(
            parse_wrapper::<Question>(throttled),
            Err(BodyError::Api(
                "too many requests from this IP, more requests available in 82000 seconds".into()
            ))
        );
        assert!(matches!(
            parse_wrapper::<Question>("{}"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_wrapper::<Question>("<html>"),
            Err(BodyError::Malformed(_))
        ));
    }
}
