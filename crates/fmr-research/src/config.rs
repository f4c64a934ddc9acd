//! Everything a [`Researcher`](crate::Researcher) can be told, with defaults
//! that keep to each API's documented limits.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::SourceId;

/// Whether the network may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Fresh cache entries first, then the network.
    Online,
    /// The cache only, stale entries included; nothing leaves the machine.
    Offline,
}

/// Base URLs of the APIs; tests point them all at one mock server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub arxiv: String,
    pub github: String,
    pub stackexchange: String,
    pub openalex: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            arxiv: "https://export.arxiv.org".into(),
            github: "https://api.github.com".into(),
            stackexchange: "https://api.stackexchange.com".into(),
            openalex: "https://api.openalex.org".into(),
        }
    }
}

impl Endpoints {
    /// Every API at one base URL.
    pub fn all_at(base: &str) -> Self {
        Self {
            arxiv: base.into(),
            github: base.into(),
            stackexchange: base.into(),
            openalex: base.into(),
        }
    }
}

/// Minimum spacing between two requests to each API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// arXiv asks for one request every three seconds.
    pub arxiv: Duration,
    /// GitHub search allows 10 requests a minute without a token.
    pub github_search: Duration,
    /// The same with a token: 30 a minute.
    pub github_search_with_token: Duration,
    /// Issue comments count against the core limit (60/h without a token),
    /// which the server's own rate-limit answers enforce; no spacing by default.
    pub github_core: Duration,
    /// Stack Exchange allows 30 requests a second per IP.
    pub stackexchange: Duration,
    /// OpenAlex allows 100 a second; 10 a second is plenty and polite.
    pub openalex: Duration,
    /// Linked pages: one a second, like a careful reader.
    pub pages: Duration,
}

impl RateLimits {
    /// The limits the APIs document.
    pub const DOCUMENTED: Self = Self {
        arxiv: Duration::from_secs(3),
        github_search: Duration::from_secs(6),
        github_search_with_token: Duration::from_secs(2),
        github_core: Duration::ZERO,
        stackexchange: Duration::from_millis(34),
        openalex: Duration::from_millis(100),
        pages: Duration::from_secs(1),
    };

    /// No spacing at all, for tests against a local server.
    pub const NONE: Self = Self {
        arxiv: Duration::ZERO,
        github_search: Duration::ZERO,
        github_search_with_token: Duration::ZERO,
        github_core: Duration::ZERO,
        stackexchange: Duration::ZERO,
        openalex: Duration::ZERO,
        pages: Duration::ZERO,
    };
}

/// How a research run behaves. `Default` is online, without a cache or
/// credentials; [`ResearchConfig::from_env`] is what the CLI wants.
#[derive(Debug, Clone)]
pub struct ResearchConfig {
    pub mode: Mode,
    /// The SQLite file of the response cache; `None` disables caching.
    pub cache_path: Option<PathBuf>,
    /// How long a cached response stays fresh.
    pub cache_ttl: Duration,
    /// Which searchable sources to ask, in this order.
    pub sources: Vec<SourceId>,
    pub endpoints: Endpoints,
    pub rate_limits: RateLimits,
    /// Raises GitHub's limits; sent only to the GitHub endpoint.
    pub github_token: Option<String>,
    /// A Stack Exchange app key raises the daily quota from 300 to 10,000.
    pub stackexchange_key: Option<String>,
    /// Joins OpenAlex's polite pool.
    pub mailto: Option<String>,
    /// OpenAlex's free key, needed for more than a few searches a day.
    pub openalex_api_key: Option<String>,
    /// Per request, connection to last byte.
    pub timeout: Duration,
    /// Retries after the first attempt, on 429, 5xx, timeouts and dropped connections.
    pub max_retries: u32,
    /// First backoff when the server gives no Retry-After; doubles each retry.
    pub backoff_base: Duration,
    /// Longest backoff between two attempts.
    pub backoff_max: Duration,
    /// Longest wait fmr accepts from a Retry-After or rate-limit reset before
    /// giving up on that source for this run.
    pub max_retry_wait: Duration,
    /// Sources searched at the same time.
    pub parallelism: usize,
    /// Hits kept per query and source.
    pub hits_per_query: usize,
    /// Queries sent to each source, most specific levels first.
    pub max_queries_per_source: usize,
    /// Issues per query whose comments are read for the "what worked" claim.
    pub github_comment_fetches: usize,
    /// Linked pages fetched per run (0: none).
    pub follow_links: usize,
    /// Wall-clock budget of a whole run; searches not started by then are skipped.
    pub deadline: Option<Duration>,
    /// Largest response body read, in bytes.
    pub max_body_bytes: u64,
    /// Honour HTTP(S)_PROXY / NO_PROXY from the environment.
    pub use_env_proxy: bool,
    /// Follow links to loopback, private and `.local` hosts (tests only: a
    /// link in a stranger's comment must not reach into the user's network).
    pub allow_private_links: bool,
}

impl Default for ResearchConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Online,
            cache_path: None,
            cache_ttl: Duration::from_secs(7 * 24 * 3600),
            sources: SourceId::SEARCHABLE.to_vec(),
            endpoints: Endpoints::default(),
            rate_limits: RateLimits::DOCUMENTED,
            github_token: None,
            stackexchange_key: None,
            mailto: None,
            openalex_api_key: None,
            timeout: Duration::from_secs(20),
            max_retries: 2,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(20),
            max_retry_wait: Duration::from_secs(60),
            parallelism: 4,
            hits_per_query: 5,
            max_queries_per_source: 6,
            github_comment_fetches: 3,
            follow_links: 3,
            deadline: Some(Duration::from_secs(180)),
            max_body_bytes: 4 * 1024 * 1024,
            use_env_proxy: true,
            allow_private_links: false,
        }
    }
}

impl ResearchConfig {
    /// Defaults plus what the environment provides: the cache in fmr's data
    /// directory (see `fmr_store`), `GITHUB_TOKEN`, `STACKEXCHANGE_KEY`,
    /// `OPENALEX_API_KEY` and `FMR_MAILTO` (for OpenAlex's polite pool).
    pub fn from_env(mode: Mode) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            mode,
            cache_path: fmr_store::Store::default_path().ok(),
            github_token: var("GITHUB_TOKEN"),
            stackexchange_key: var("STACKEXCHANGE_KEY"),
            openalex_api_key: var("OPENALEX_API_KEY"),
            mailto: var("FMR_MAILTO"),
            ..Self::default()
        }
    }
}
