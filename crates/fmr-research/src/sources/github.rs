//! GitHub issues: what practitioners hit, and what the thread says fixed it.
//!
//! ## API
//! `GET {base}/search/issues?q=k1 k2 … is:issue&per_page=N` answers
//! `{total_count, incomplete_results, items: [{number, title, html_url,
//! repository_url, state, state_reason, created_at, comments, body, reactions}]}`.
//! For the top hits with comments, `GET {base}/repos/{owner}/{repo}/issues/{n}/comments?per_page=100`
//! answers `[{body, user: {login, type}, author_association, created_at}]`, oldest first.
//!
//! ## Rate limit
//! Search: 10 requests a minute without a token, 30 with `GITHUB_TOKEN`
//! (sent as a bearer token to this endpoint only). Comments count against the
//! core limit, 60 an hour without a token: fmr reads comments of at most a few
//! issues per query and stops reading them after the first rate-limit answer.
//!
//! ## What becomes the claim
//! In order: the latest maintainer comment (author association OWNER, MEMBER
//! or COLLABORATOR) that reports a fix; else the latest comment by anyone
//! (bots excluded) that reports a fix ("fixed", "worked for me", "the problem
//! was", ...); else the latest substantial maintainer comment; else the issue's
//! own report. Quoted replies, code blocks and template comments are left out.
//!
//! ## Failure modes
//! A 403 with `x-ratelimit-remaining: 0` or a `Retry-After` is a rate limit;
//! `incomplete_results: true` (the search timed out on GitHub's side) still
//! yields the items returned. Items that are pull requests or lack a number are
//! skipped; threads over 100 comments are read from their first page only.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use fmr_core::{Query, Source, SourceKind};
use serde::Deserialize;

use crate::http::{BodyError, HttpClient, Request};
use crate::rate_limit::RateLimiter;
use crate::{ClaimBasis, LiveHit, ResearchError, ResearchSource, query, text, time};

/// Terms in one search: GitHub ANDs them, so more find nothing.
const MAX_TERMS: usize = 5;

/// Phrases that mark a comment as reporting what worked.
const FIX_PHRASES: &[&str] = &[
    "caused by",
    "fixed",
    "fixes it",
    "fixes the",
    "resolved",
    "solution",
    "solved",
    "the fix",
    "the issue was",
    "the problem was",
    "this worked",
    "turned out",
    "work around",
    "worked for me",
    "workaround",
    "works for me",
    "works now",
];

/// Shortest maintainer comment worth quoting when it reports no fix.
const SUBSTANTIAL_CHARS: usize = 60;

pub struct Github {
    http: Arc<HttpClient>,
    base: String,
    token: Option<String>,
    search_limiter: RateLimiter,
    core_limiter: RateLimiter,
    comment_fetches: usize,
    /// Set after the comments endpoint answered with a rate limit.
    comments_blocked: AtomicBool,
    notes: Mutex<Vec<String>>,
}

impl Github {
    pub fn new(
        http: Arc<HttpClient>,
        base: String,
        token: Option<String>,
        search_limiter: RateLimiter,
        core_limiter: RateLimiter,
        comment_fetches: usize,
    ) -> Self {
        Self {
            http,
            base,
            token,
            search_limiter,
            core_limiter,
            comment_fetches,
            comments_blocked: AtomicBool::new(false),
            notes: Mutex::new(Vec::new()),
        }
    }

    fn request<'a>(&self, url: String, limiter: &'a RateLimiter) -> Request<'a> {
        let mut request = Request::new("github", url, limiter);
        request
            .headers
            .push(("Accept", "application/vnd.github+json".into()));
        request
            .headers
            .push(("X-GitHub-Api-Version", "2022-11-28".into()));
        if let Some(token) = &self.token {
            request
                .headers
                .push(("Authorization", format!("Bearer {token}")));
        }
        request
    }

    fn comments(&self, issue: &Issue) -> Option<Vec<Comment>> {
        if self.comments_blocked.load(Ordering::Relaxed) {
            return None;
        }
        let url = query::url(
            &self.base,
            &format!(
                "/repos/{}/{}/issues/{}/comments",
                issue.owner, issue.repo, issue.number
            ),
            &[("per_page", "100")],
        );
        match self
            .http
            .get(&self.request(url, &self.core_limiter), parse_comments)
        {
            Ok(comments) => Some(comments),
            Err(err) => {
                if matches!(err, ResearchError::RateLimited { .. }) {
                    self.comments_blocked.store(true, Ordering::Relaxed);
                }
                if err.is_fault() {
                    self.notes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("{err}; quoting the issue report instead"));
                }
                None
            }
        }
    }
}

impl ResearchSource for Github {
    fn name(&self) -> &'static str {
        "github"
    }

    fn levels(&self) -> &'static [u8] {
        &[1, 2, 3]
    }

    fn search(&self, q: &Query, limit: usize) -> Result<Vec<LiveHit>, ResearchError> {
        let keywords = query::keywords(&q.text, MAX_TERMS);
        if keywords.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let search = format!("{} is:issue", keywords.join(" "));
        let per_page = limit.to_string();
        let url = query::url(
            &self.base,
            "/search/issues",
            &[("q", &search), ("per_page", &per_page)],
        );
        let issues = self
            .http
            .get(&self.request(url, &self.search_limiter), parse_search)?;
        Ok(issues
            .into_iter()
            .take(limit)
            .enumerate()
            .map(|(rank, issue)| {
                let comments = if rank < self.comment_fetches && issue.comments > 0 {
                    self.comments(&issue)
                } else {
                    None
                };
                issue.into_hit(q, rank, comments.as_deref().unwrap_or(&[]))
            })
            .collect())
    }

    fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// One issue from the search answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub owner: String,
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub url: String,
    pub state: String,
    pub state_reason: Option<String>,
    pub created_at: String,
    pub comments: u64,
    pub body: String,
    pub reactions: Option<i64>,
}

/// One comment of an issue thread.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Comment {
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub author_association: String,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    #[serde(default)]
    pub login: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl Comment {
    fn is_maintainer(&self) -> bool {
        matches!(
            self.author_association.as_str(),
            "OWNER" | "MEMBER" | "COLLABORATOR"
        )
    }

    fn is_bot(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.kind == "Bot" || u.login.ends_with("[bot]"))
    }

    fn login(&self) -> &str {
        self.user.as_ref().map_or("someone", |u| u.login.as_str())
    }
}

impl Issue {
    fn into_hit(self, q: &Query, rank: usize, comments: &[Comment]) -> LiveHit {
        let (basis, claim, links) = claim_of(&self, comments);
        let resolved = match (self.state.as_str(), self.state_reason.as_deref()) {
            ("closed", Some("completed")) => Some(true),
            ("closed", Some("not_planned")) => Some(false),
            _ => None,
        };
        let source = Source {
            kind: SourceKind::GithubIssue,
            id: format!("{}/{}#{}", self.owner, self.repo, self.number),
            url: self.url,
            title: text::squash(&self.title),
            year: time::year_of_iso(&self.created_at),
            claim,
        };
        let mut hit = LiveHit::new(source, q, "github", rank, basis);
        hit.votes = self.reactions;
        hit.resolved = resolved;
        hit.links = links;
        hit
    }
}

/// The claim, its basis and the links in the quoted text (see the module docs for the order).
fn claim_of(issue: &Issue, comments: &[Comment]) -> (ClaimBasis, String, Vec<String>) {
    let prose: Vec<(&Comment, String)> = comments
        .iter()
        .filter(|c| !c.is_bot())
        .filter_map(|c| {
            let prose = text::markdown_to_text(c.body.as_deref()?);
            (!prose.is_empty()).then_some((c, prose))
        })
        .collect();
    let reports_fix = |text: &str| {
        let lower = text.to_lowercase();
        FIX_PHRASES.iter().any(|p| text::contains_phrase(&lower, p))
    };
    let chosen = prose
        .iter()
        .rev()
        .find(|(c, t)| c.is_maintainer() && reports_fix(t))
        .map(|(c, t)| (ClaimBasis::MaintainerReply, *c, t))
        .or_else(|| {
            prose
                .iter()
                .rev()
                .find(|(_, t)| reports_fix(t))
                .map(|(c, t)| (ClaimBasis::FixComment, *c, t))
        })
        .or_else(|| {
            prose
                .iter()
                .rev()
                .find(|(c, t)| c.is_maintainer() && t.chars().count() >= SUBSTANTIAL_CHARS)
                .map(|(c, t)| (ClaimBasis::MaintainerReply, *c, t))
        });
    if let Some((basis, comment, prose)) = chosen {
        let label = format!("{} by @{}", basis.label(), comment.login());
        let excerpt = text::excerpt_lead(prose, text::EXCERPT_CHARS);
        let links = text::extract_links(comment.body.as_deref().unwrap_or(""));
        return (basis, text::quoted(&label, &excerpt), links);
    }
    let report = text::markdown_to_text(&issue.body);
    if report.is_empty() {
        return (
            ClaimBasis::Title,
            text::quoted("Title", &text::squash(&issue.title)),
            Vec::new(),
        );
    }
    (
        ClaimBasis::IssueReport,
        text::quoted(
            ClaimBasis::IssueReport.label(),
            &text::excerpt_lead(&report, text::EXCERPT_CHARS),
        ),
        text::extract_links(&issue.body),
    )
}

#[derive(Deserialize)]
struct SearchPage {
    items: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawIssue {
    number: u64,
    title: String,
    html_url: String,
    #[serde(default)]
    repository_url: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    state_reason: Option<String>,
    #[serde(default)]
    created_at: String,
    #[serde(default)]
    comments: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    reactions: Option<Reactions>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Reactions {
    #[serde(default)]
    total_count: i64,
}

/// The issues of a search answer; pull requests and unreadable items are skipped.
pub fn parse_search(body: &str) -> Result<Vec<Issue>, BodyError> {
    let page: SearchPage = serde_json::from_str(body)
        .map_err(|err| BodyError::Malformed(format!("not a GitHub search answer: {err}")))?;
    Ok(page
        .items
        .into_iter()
        .filter_map(|item| serde_json::from_value::<RawIssue>(item).ok())
        .filter(|raw| raw.pull_request.is_none())
        .filter_map(|raw| {
            let (owner, repo) = owner_and_repo(&raw.repository_url, &raw.html_url)?;
            Some(Issue {
                owner,
                repo,
                number: raw.number,
                title: raw.title,
                url: raw.html_url,
                state: raw.state,
                state_reason: raw.state_reason,
                created_at: raw.created_at,
                comments: raw.comments,
                body: raw.body.unwrap_or_default(),
                reactions: raw.reactions.map(|r| r.total_count),
            })
        })
        .collect())
}

/// The comments of an issue, oldest first.
pub fn parse_comments(body: &str) -> Result<Vec<Comment>, BodyError> {
    let items: Vec<serde_json::Value> = serde_json::from_str(body)
        .map_err(|err| BodyError::Malformed(format!("not a list of comments: {err}")))?;
    Ok(items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect())
}

/// Owner and repository from `…/repos/{owner}/{repo}` or `https://github.com/{owner}/{repo}/issues/N`.
/// Names outside GitHub's character set are refused: they end up in a request path.
fn owner_and_repo(repository_url: &str, html_url: &str) -> Option<(String, String)> {
    let from_api = repository_url
        .rsplit_once("/repos/")
        .map(|(_, path)| path.split('/').take(2).collect::<Vec<_>>());
    let from_html = html_url
        .split_once("github.com/")
        .map(|(_, path)| path.split('/').take(2).collect::<Vec<_>>());
    let parts = from_api.filter(|p| p.len() == 2).or(from_html)?;
    let valid = |name: &str| {
        !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    match parts.as_slice() {
        [owner, repo] if valid(owner) && valid(repo) => Some((owner.to_string(), repo.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: &str = include_str!("../../tests/fixtures/responses/github_search.json");
    const COMMENTS: &str = include_str!("../../tests/fixtures/responses/github_comments.json");

    fn query() -> Query {
        Query {
            level: 1,
            text: "loss nan fp16 amp GradScaler".into(),
            rationale: String::new(),
            hits: Vec::new(),
        }
    }

    #[test]
    fn search_skips_pull_requests_and_broken_items() {
        let issues = parse_search(SEARCH).unwrap();
        let ids: Vec<String> = issues
            .iter()
            .map(|i| format!("{}/{}#{}", i.owner, i.repo, i.number))
            .collect();
        assert_eq!(
            ids,
            [
                "pytorch/pytorch#40497",
                "huggingface/transformers#14189",
                "someone/tiny-gpt#3"
            ]
        );
    }

    #[test]
    fn the_maintainer_fix_is_the_claim() {
        let issues = parse_search(SEARCH).unwrap();
        let comments = parse_comments(COMMENTS).unwrap();
        let hits: Vec<LiveHit> = issues
            .into_iter()
            .enumerate()
            .map(|(rank, issue)| {
                let thread: &[Comment] = if rank == 0 { &comments } else { &[] };
                issue.into_hit(&query(), rank, thread)
            })
            .collect();
        insta::assert_json_snapshot!(hits);
    }

    #[test]
    fn without_a_maintainer_the_latest_fix_comment_wins() {
        let comments = vec![
            comment(
                "NONE",
                "alice",
                "I fixed it by lowering the learning rate to 1e-5.",
            ),
            comment("NONE", "bob", "Same problem here, any update on this?"),
            comment(
                "NONE",
                "carol",
                "Turned out my eps was 1e-8, which underflows in fp16; 1e-4 works.",
            ),
            comment(
                "NONE",
                "stale[bot]",
                "This issue has been automatically closed. It was fixed.",
            ),
        ];
        let issue = parse_search(SEARCH).unwrap().remove(0);
        let (basis, claim, _) = claim_of(&issue, &comments);
        assert_eq!(basis, ClaimBasis::FixComment);
        assert!(
            claim.starts_with("Comment reporting a fix by @carol (quoted): \"Turned out"),
            "{claim}"
        );
    }

    #[test]
    fn a_thread_without_fixes_quotes_the_report() {
        let comments = vec![comment("CONTRIBUTOR", "dave", "+1, seeing this too.")];
        let issue = parse_search(SEARCH).unwrap().remove(0);
        let (basis, claim, _) = claim_of(&issue, &comments);
        assert_eq!(basis, ClaimBasis::IssueReport);
        assert!(claim.starts_with("Issue report (quoted): "), "{claim}");
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(matches!(
            parse_search("{\"items\": 3}"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_search(&SEARCH[..SEARCH.len() / 2]),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(parse_comments("{}"), Err(BodyError::Malformed(_))));
    }

    #[test]
    fn repository_names_are_checked() {
        assert_eq!(
            owner_and_repo("https://api.github.com/repos/a-b/c.d", ""),
            Some(("a-b".into(), "c.d".into()))
        );
        assert_eq!(
            owner_and_repo("", "https://github.com/o/r/issues/1"),
            Some(("o".into(), "r".into()))
        );
        assert_eq!(owner_and_repo("https://x/repos/../etc", ""), None);
        assert_eq!(owner_and_repo("https://x/repos/a%2F/b", ""), None);
        assert_eq!(owner_and_repo("", ""), None);
    }

    fn comment(association: &str, login: &str, body: &str) -> Comment {
        Comment {
            body: Some(body.into()),
            author_association: association.into(),
            user: Some(User {
                login: login.into(),
                kind: if login.ends_with("[bot]") {
                    "Bot"
                } else {
                    "User"
                }
                .into(),
            }),
        }
    }
}
