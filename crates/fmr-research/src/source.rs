//! The seam every live source plugs into, and what a search returns.

use fmr_core::{Query, Source, SourceKind};
use serde::{Deserialize, Serialize};

use crate::ResearchError;

/// One searchable live source. Implementations are blocking and thread-safe:
/// the [`Researcher`](crate::Researcher) runs different sources on different
/// threads, and one source's queries one after another.
pub trait ResearchSource: Send + Sync {
    /// Stable, lower-case name used in stats, cache keys and messages (see [`SOURCES`]).
    fn name(&self) -> &'static str;

    /// Up to `limit` hits for the query, best first, each tagged with the query's level.
    fn search(&self, query: &Query, limit: usize) -> Result<Vec<LiveHit>, ResearchError>;

    /// The query levels worth sending here. Practical sources (issues, Q&A)
    /// answer the concrete levels; papers also serve the cross-domain one.
    fn levels(&self) -> &'static [u8] {
        &[1, 2, 3, 4]
    }

    /// Problems that did not fail a search but cost it something (comments
    /// that could not be read, say), collected once per run for the report.
    fn take_notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A source found live, with how it was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveHit {
    pub source: Source,
    /// The level (1-4) of the query that found it; the most specific one after merging.
    pub level: u8,
    /// The text of that query.
    pub query: String,
    /// The connector that found it (`arxiv`, `github`, ...).
    pub connector: String,
    /// 0-based position in the connector's answer.
    pub rank: usize,
    /// Which part of the source the claim quotes.
    pub basis: ClaimBasis,
    /// Citations (OpenAlex), when known.
    pub citations: Option<u64>,
    /// Votes or reactions on the question or issue, when known.
    pub votes: Option<i64>,
    /// `Some(true)` for an accepted answer or an issue closed as completed,
    /// `Some(false)` for an issue closed as not planned, `None` when unknown.
    pub resolved: Option<bool>,
    /// Links in the quoted text, which the page fetcher may follow.
    pub links: Vec<String>,
    /// For a page reached through a link: the id of the source that linked it.
    pub via: Option<String>,
}

impl LiveHit {
    pub fn new(
        source: Source,
        query: &Query,
        connector: &str,
        rank: usize,
        basis: ClaimBasis,
    ) -> Self {
        Self {
            source,
            level: query.level,
            query: query.text.clone(),
            connector: connector.to_string(),
            rank,
            basis,
            citations: None,
            votes: None,
            resolved: None,
            links: Vec::new(),
            via: None,
        }
    }
}

/// Which part of a source its claim quotes, from most to least telling of
/// "what worked".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimBasis {
    /// A Stack Exchange answer the asker accepted.
    AcceptedAnswer,
    /// A comment by the project's owner, a member or a collaborator.
    MaintainerReply,
    /// The latest comment that reports a fix ("fixed", "worked for me", ...).
    FixComment,
    /// The best-voted answer when none was accepted.
    TopAnswer,
    /// A paper's abstract.
    Abstract,
    /// The first paragraph of a linked page.
    PageParagraph,
    /// The issue's own report, when no comment says what worked.
    IssueReport,
    /// The question itself, when it has no useful answer.
    Question,
    /// Only the title was available.
    Title,
}

impl ClaimBasis {
    /// The label that opens the claim, e.g. `Accepted answer (quoted): "…"`.
    pub fn label(self) -> &'static str {
        match self {
            Self::AcceptedAnswer => "Accepted answer",
            Self::MaintainerReply => "Maintainer reply",
            Self::FixComment => "Comment reporting a fix",
            Self::TopAnswer => "Top-voted answer",
            Self::Abstract => "Abstract",
            Self::PageParagraph => "Opening paragraph",
            Self::IssueReport => "Issue report",
            Self::Question => "Question",
            Self::Title => "Title",
        }
    }

    /// Whether the claim says what fixed the problem, not only what it was.
    pub fn reports_a_fix(self) -> bool {
        matches!(
            self,
            Self::AcceptedAnswer | Self::MaintainerReply | Self::FixComment | Self::TopAnswer
        )
    }
}

/// The live sources fmr knows, for `--sources` and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceId {
    Arxiv,
    CrossValidated,
    DataScience,
    Github,
    OpenAlex,
    Pages,
    StackOverflow,
}

impl SourceId {
    /// The sources that answer queries; [`SourceId::Pages`] only follows links.
    pub const SEARCHABLE: &'static [SourceId] = &[
        Self::Arxiv,
        Self::Github,
        Self::StackOverflow,
        Self::CrossValidated,
        Self::DataScience,
        Self::OpenAlex,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Arxiv => "arxiv",
            Self::CrossValidated => "crossvalidated",
            Self::DataScience => "datascience",
            Self::Github => "github",
            Self::OpenAlex => "openalex",
            Self::Pages => "pages",
            Self::StackOverflow => "stackoverflow",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        SOURCES.iter().map(|s| s.id).find(|id| id.name() == name)
    }
}

/// What the report says about a live source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceInfo {
    pub id: SourceId,
    pub kind: SourceKind,
    pub title: &'static str,
    /// The API documentation the connector follows.
    pub docs: &'static str,
    /// The documented limit the connector keeps to.
    pub rate_limit: &'static str,
}

/// Every live source, sorted by name.
pub const SOURCES: &[SourceInfo] = &[
    SourceInfo {
        id: SourceId::Arxiv,
        kind: SourceKind::Paper,
        title: "arXiv",
        docs: "https://info.arxiv.org/help/api/user-manual.html",
        rate_limit: "1 request every 3 s, one connection at a time",
    },
    SourceInfo {
        id: SourceId::CrossValidated,
        kind: SourceKind::Stackoverflow,
        title: "Cross Validated (stats.stackexchange.com)",
        docs: "https://api.stackexchange.com/docs/advanced-search",
        rate_limit: "30 requests/s per IP, `backoff` honoured; 300/day without a key",
    },
    SourceInfo {
        id: SourceId::DataScience,
        kind: SourceKind::Stackoverflow,
        title: "Data Science Stack Exchange",
        docs: "https://api.stackexchange.com/docs/advanced-search",
        rate_limit: "30 requests/s per IP, `backoff` honoured; 300/day without a key",
    },
    SourceInfo {
        id: SourceId::Github,
        kind: SourceKind::GithubIssue,
        title: "GitHub issues",
        docs: "https://docs.github.com/rest/search/search#search-issues-and-pull-requests",
        rate_limit: "search 10/min (30/min with GITHUB_TOKEN); comments 60/h (5,000/h with a token)",
    },
    SourceInfo {
        id: SourceId::OpenAlex,
        kind: SourceKind::Paper,
        title: "OpenAlex",
        docs: "https://developers.openalex.org/api-reference/authentication",
        rate_limit: "10 requests/s here (100/s allowed); daily budget needs OPENALEX_API_KEY",
    },
    SourceInfo {
        id: SourceId::Pages,
        kind: SourceKind::Blog,
        title: "Linked pages (blogs, docs)",
        docs: "https://www.rfc-editor.org/rfc/rfc9110",
        rate_limit: "1 request/s",
    },
    SourceInfo {
        id: SourceId::StackOverflow,
        kind: SourceKind::Stackoverflow,
        title: "Stack Overflow",
        docs: "https://api.stackexchange.com/docs/advanced-search",
        rate_limit: "30 requests/s per IP, `backoff` honoured; 300/day without a key",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_unique_and_round_trips() {
        let names: Vec<&str> = SOURCES.iter().map(|s| s.id.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            names, sorted,
            "SOURCES must be sorted by name, without repeats"
        );
        for info in SOURCES {
            assert_eq!(SourceId::parse(info.id.name()), Some(info.id));
            assert!(info.docs.starts_with("https://"), "{}", info.id.name());
        }
        for id in SourceId::SEARCHABLE {
            assert!(
                SOURCES.iter().any(|s| s.id == *id),
                "{id:?} missing from SOURCES"
            );
        }
        assert_eq!(SourceId::parse("nope"), None);
    }
}
