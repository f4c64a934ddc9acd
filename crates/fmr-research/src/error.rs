use std::time::Duration;

/// Why a search of one live source failed. Every message names the connector
/// and the request, so a line in the report says what to check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResearchError {
    #[error("{connector}: HTTP {status} from {url}: {message}")]
    Status {
        connector: &'static str,
        url: String,
        status: u16,
        message: String,
    },
    #[error("{connector}: rate limited at {url}{}", wait_hint(*retry_after))]
    RateLimited {
        connector: &'static str,
        url: String,
        retry_after: Option<Duration>,
    },
    #[error("{connector}: no answer from {url} within {}s ({attempts} attempts)", timeout.as_secs_f64())]
    Timeout {
        connector: &'static str,
        url: String,
        timeout: Duration,
        attempts: u32,
    },
    #[error("{connector}: cannot reach {url}: {message}")]
    Transport {
        connector: &'static str,
        url: String,
        message: String,
    },
    #[error("{connector}: unexpected response from {url}: {message}")]
    Malformed {
        connector: &'static str,
        url: String,
        message: String,
    },
    #[error("{connector}: the API refused {url}: {message}")]
    Api {
        connector: &'static str,
        url: String,
        message: String,
    },
    #[error("{connector}: offline and not in the cache: {url}")]
    OfflineMiss {
        connector: &'static str,
        url: String,
    },
    #[error("{connector}: the time budget ran out before {url}")]
    Deadline {
        connector: &'static str,
        url: String,
    },
}

impl ResearchError {
    /// The connector that failed.
    pub fn connector(&self) -> &'static str {
        match self {
            Self::Status { connector, .. }
            | Self::RateLimited { connector, .. }
            | Self::Timeout { connector, .. }
            | Self::Transport { connector, .. }
            | Self::Malformed { connector, .. }
            | Self::Api { connector, .. }
            | Self::OfflineMiss { connector, .. }
            | Self::Deadline { connector, .. } => connector,
        }
    }

    /// Misses in offline mode and spent budgets are expected outcomes, not faults.
    pub fn is_fault(&self) -> bool {
        !matches!(self, Self::OfflineMiss { .. } | Self::Deadline { .. })
    }
}

fn wait_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!("; the server asks to wait {}s", wait.as_secs()),
        None => String::new(),
    }
}
