//! The one HTTP path every connector uses: cache first, then the network with
//! per-API spacing, a per-request timeout, and retries with exponential
//! backoff on 429, 5xx, timeouts and dropped connections, honouring
//! `Retry-After` and GitHub's rate-limit reset.
//!
//! A response is cached only after its connector parsed it, so a malformed or
//! error body is never served again; a cached body that no longer parses is
//! dropped and refetched.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fmr_store::{CacheEntry, Store};

use crate::config::{Mode, ResearchConfig};
use crate::rate_limit::RateLimiter;
use crate::{ResearchError, text, time};

/// Sent with every request, so API operators can see who calls them.
pub const USER_AGENT: &str = concat!(
    "fmr/",
    env!("CARGO_PKG_VERSION"),
    " (Failure Mode Researcher; +https://github.com/fmr-dev/fmr)"
);

/// What a connector's parser says about a 2xx body it cannot use.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyError {
    /// Not the format the API documents (truncated JSON, an HTML error page).
    Malformed(String),
    /// A well-formed error answer (arXiv's error entry, Stack Exchange's `error_message`).
    Api(String),
    /// The API says "slow down" in a 200 body (arXiv's `Rate exceeded.`).
    Throttled,
}

/// One GET request.
pub struct Request<'a> {
    pub connector: &'static str,
    /// What is sent, credentials included.
    pub url: String,
    /// The cache key and the URL shown in messages: `url` without secrets.
    pub key: String,
    pub headers: Vec<(&'static str, String)>,
    pub limiter: &'a RateLimiter,
}

impl<'a> Request<'a> {
    /// A request whose URL holds no secret.
    pub fn new(connector: &'static str, url: String, limiter: &'a RateLimiter) -> Self {
        Self {
            connector,
            key: url.clone(),
            url,
            headers: Vec::new(),
            limiter,
        }
    }
}

/// Per-connector counts of what the HTTP layer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpCounters {
    /// Network attempts, retries included.
    pub requests: usize,
    pub retries: usize,
    /// Answered from a fresh cache entry.
    pub cache_hits: usize,
    /// Answered from an expired entry (offline mode).
    pub stale_cache_hits: usize,
    /// The cache had nothing usable.
    pub cache_misses: usize,
    /// The cache could not be read or written (the search went on without it).
    pub cache_errors: usize,
}

pub struct HttpClient {
    agent: ureq::Agent,
    mode: Mode,
    cache: Option<Mutex<Store>>,
    cache_ttl: Duration,
    timeout: Duration,
    max_retries: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    max_retry_wait: Duration,
    max_body_bytes: u64,
    deadline: Mutex<Option<Instant>>,
    counters: Mutex<BTreeMap<&'static str, HttpCounters>>,
}

/// What a response's headers say about when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct RetryHint {
    /// From `Retry-After`, or from `x-ratelimit-reset` when `x-ratelimit-remaining` is 0.
    wait: Option<Duration>,
    /// `x-ratelimit-remaining: 0`: a 403 that means "rate limited", not "forbidden".
    exhausted: bool,
}

enum Attempt {
    Done(Result<(u16, String), ResearchError>),
    Retry {
        error: ResearchError,
        hint: Option<Duration>,
    },
}

impl HttpClient {
    pub fn new(config: &ResearchConfig, cache: Option<Store>) -> Self {
        let user_agent = match &config.mailto {
            Some(mail) => format!("{USER_AGENT}; mailto:{mail}"),
            None => USER_AGENT.to_string(),
        };
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .user_agent(user_agent);
        if !config.use_env_proxy {
            builder = builder.proxy(None);
        }
        Self {
            agent: builder.build().new_agent(),
            mode: config.mode,
            cache: cache.map(Mutex::new),
            cache_ttl: config.cache_ttl,
            timeout: config.timeout,
            max_retries: config.max_retries,
            backoff_base: config.backoff_base,
            backoff_max: config.backoff_max,
            max_retry_wait: config.max_retry_wait,
            max_body_bytes: config.max_body_bytes,
            deadline: Mutex::new(None),
            counters: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn has_cache(&self) -> bool {
        self.cache.is_some()
    }

    /// Requests that would start after `deadline` fail with [`ResearchError::Deadline`].
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = deadline;
    }

    /// A copy of the counters, and zeroes them (one research run's worth).
    pub fn take_counters(&self) -> BTreeMap<&'static str, HttpCounters> {
        std::mem::take(&mut *self.counters.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// GET `request` and parse its body, from the cache when allowed.
    pub fn get<T>(
        &self,
        request: &Request<'_>,
        parse: impl Fn(&str) -> Result<T, BodyError>,
    ) -> Result<T, ResearchError> {
        if let Some(found) = self.cached(request, &parse) {
            return Ok(found);
        }
        self.count(request.connector, |c| c.cache_misses += 1);
        if self.mode == Mode::Offline {
            return Err(ResearchError::OfflineMiss {
                connector: request.connector,
                url: request.key.clone(),
            });
        }
        let (status, body, parsed) = self.fetch(request, &parse)?;
        self.store(request, status, body);
        Ok(parsed)
    }

    fn cached<T>(
        &self,
        request: &Request<'_>,
        parse: &impl Fn(&str) -> Result<T, BodyError>,
    ) -> Option<T> {
        let cache = self.cache.as_ref()?;
        // The lock is held for the read only: parsing a large body must not
        // stall the other sources' threads.
        let read = cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .cache_get(request.connector, &request.key);
        let entry = match read {
            Ok(entry) => entry?,
            Err(_) => {
                self.count(request.connector, |c| c.cache_errors += 1);
                return None;
            }
        };
        let fresh = entry.is_fresh(fmr_store::unix_now());
        if !fresh && self.mode == Mode::Online {
            return None;
        }
        match parse(&entry.body) {
            Ok(parsed) => {
                self.count(request.connector, |c| {
                    if fresh {
                        c.cache_hits += 1;
                    } else {
                        c.stale_cache_hits += 1;
                    }
                });
                Some(parsed)
            }
            Err(_) => {
                // Written by an older parser, or damaged: never serve it again.
                let store = cache.lock().unwrap_or_else(|e| e.into_inner());
                if store.cache_remove(request.connector, &request.key).is_err() {
                    self.count(request.connector, |c| c.cache_errors += 1);
                }
                None
            }
        }
    }

    fn store(&self, request: &Request<'_>, status: u16, body: String) {
        let Some(cache) = &self.cache else { return };
        let entry = CacheEntry {
            source: request.connector.to_string(),
            key: request.key.clone(),
            status,
            body,
            fetched_at: fmr_store::unix_now(),
            ttl: i64::try_from(self.cache_ttl.as_secs()).unwrap_or(i64::MAX),
        };
        let store = cache.lock().unwrap_or_else(|e| e.into_inner());
        if store.cache_put(&entry).is_err() {
            self.count(request.connector, |c| c.cache_errors += 1);
        }
    }

    /// The network part: spacing, attempts, backoff. Returns a 2xx status,
    /// its body and what the connector parsed from it.
    fn fetch<T>(
        &self,
        request: &Request<'_>,
        parse: &impl Fn(&str) -> Result<T, BodyError>,
    ) -> Result<(u16, String, T), ResearchError> {
        let deadline = *self.deadline.lock().unwrap_or_else(|e| e.into_inner());
        let mut attempt: u32 = 0;
        loop {
            if let Err(wait) = request.limiter.acquire(self.max_retry_wait, deadline) {
                return Err(if wait > self.max_retry_wait {
                    ResearchError::RateLimited {
                        connector: request.connector,
                        url: request.key.clone(),
                        retry_after: Some(wait),
                    }
                } else {
                    ResearchError::Deadline {
                        connector: request.connector,
                        url: request.key.clone(),
                    }
                });
            }
            self.count(request.connector, |c| c.requests += 1);
            let (error, hint) = match self.attempt(request, attempt + 1) {
                Attempt::Done(Ok((status, body))) => match parse(&body) {
                    Ok(parsed) => return Ok((status, body, parsed)),
                    Err(BodyError::Throttled) => (
                        ResearchError::RateLimited {
                            connector: request.connector,
                            url: request.key.clone(),
                            retry_after: None,
                        },
                        None,
                    ),
                    Err(BodyError::Malformed(message)) => {
                        return Err(ResearchError::Malformed {
                            connector: request.connector,
                            url: request.key.clone(),
                            message,
                        });
                    }
                    Err(BodyError::Api(message)) => {
                        return Err(ResearchError::Api {
                            connector: request.connector,
                            url: request.key.clone(),
                            message,
                        });
                    }
                },
                Attempt::Done(Err(error)) => return Err(error),
                Attempt::Retry { error, hint } => (error, hint),
            };
            if attempt >= self.max_retries {
                return Err(error);
            }
            let wait = match hint {
                Some(wait) if wait > self.max_retry_wait => {
                    // Too long to wait now, but later requests to this API in
                    // the run must not knock on the door again.
                    request.limiter.defer(wait);
                    return Err(error);
                }
                Some(wait) => wait,
                None => self.backoff(attempt),
            };
            if deadline.is_some_and(|d| Instant::now() + wait > d) {
                return Err(error);
            }
            // Deferring the limiter makes this API's other callers wait too.
            request.limiter.defer(wait);
            self.count(request.connector, |c| c.retries += 1);
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }

    fn attempt(&self, request: &Request<'_>, attempts: u32) -> Attempt {
        let connector = request.connector;
        let url = || request.key.clone();
        let mut builder = self.agent.get(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut response = match builder.call() {
            Ok(response) => response,
            Err(err) => return self.transport_failure(request, err, attempts),
        };
        let status = response.status().as_u16();
        let hint = retry_hint(response.headers());
        let body = match response
            .body_mut()
            .with_config()
            .limit(self.max_body_bytes)
            .read_to_vec()
        {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) => return self.transport_failure(request, err, attempts),
        };
        match status {
            200..=299 => Attempt::Done(Ok((status, body))),
            429 => Attempt::Retry {
                error: ResearchError::RateLimited {
                    connector,
                    url: url(),
                    retry_after: hint.wait,
                },
                hint: hint.wait,
            },
            403 if hint.exhausted || hint.wait.is_some() => Attempt::Retry {
                error: ResearchError::RateLimited {
                    connector,
                    url: url(),
                    retry_after: hint.wait,
                },
                hint: hint.wait,
            },
            500 | 502 | 503 | 504 => Attempt::Retry {
                error: ResearchError::Status {
                    connector,
                    url: url(),
                    status,
                    message: api_message(&body),
                },
                hint: hint.wait,
            },
            _ => Attempt::Done(Err(ResearchError::Status {
                connector,
                url: url(),
                status,
                message: api_message(&body),
            })),
        }
    }

    fn transport_failure(&self, request: &Request<'_>, err: ureq::Error, attempts: u32) -> Attempt {
        let connector = request.connector;
        let url = request.key.clone();
        match err {
            ureq::Error::Timeout(_) => Attempt::Retry {
                error: ResearchError::Timeout {
                    connector,
                    url,
                    timeout: self.timeout,
                    attempts,
                },
                hint: None,
            },
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_) => {
                Attempt::Retry {
                    error: ResearchError::Transport {
                        connector,
                        url,
                        message: format!("{err} (after {attempts} attempts)"),
                    },
                    hint: None,
                }
            }
            ureq::Error::BodyExceedsLimit(limit) => Attempt::Done(Err(ResearchError::Malformed {
                connector,
                url,
                message: format!("the body is larger than {limit} bytes"),
            })),
            other => Attempt::Done(Err(ResearchError::Transport {
                connector,
                url,
                message: other.to_string(),
            })),
        }
    }

    fn count(&self, connector: &'static str, update: impl FnOnce(&mut HttpCounters)) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        update(counters.entry(connector).or_default());
    }
}

fn retry_hint(headers: &ureq::http::HeaderMap) -> RetryHint {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let now = fmr_store::unix_now();
    let retry_after = header("retry-after").and_then(|value| match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => time::parse_http_date(value)
            .map(|at| Duration::from_secs(u64::try_from(at - now).unwrap_or(0))),
    });
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let reset = header("x-ratelimit-reset")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|_| exhausted)
        .map(|at| Duration::from_secs(u64::try_from(at - now).unwrap_or(0)));
    RetryHint {
        wait: retry_after.or(reset),
        exhausted,
    }
}

/// The message of an API's JSON error body (`message`, `error_message`,
/// `error`), or the start of the body as text.
fn api_message(body: &str) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) {
        for field in ["error_message", "message", "error"] {
            if let Some(serde_json::Value::String(message)) = map.get(field) {
                return text::truncate(&text::squash(message), 200);
            }
        }
    }
    let plain = text::html_to_text(body);
    if plain.is_empty() {
        "(empty body)".to_string()
    } else {
        text::truncate(&text::squash(&plain), 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> ureq::http::HeaderMap {
        let mut map = ureq::http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("valid header value"));
        }
        map
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let hint = retry_hint(&headers(&[("retry-after", "7")]));
        assert_eq!(hint.wait, Some(Duration::from_secs(7)));
        let past = retry_hint(&headers(&[(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT",
        )]));
        assert_eq!(
            past.wait,
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        let garbage = retry_hint(&headers(&[("retry-after", "soon")]));
        assert_eq!(garbage.wait, None);
    }

    #[test]
    fn github_reset_counts_only_when_the_limit_is_spent() {
        let reset = (fmr_store::unix_now() + 30).to_string();
        let spent = retry_hint(&headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ]));
        assert!(spent.exhausted);
        assert!(spent.wait.is_some_and(|w| w >= Duration::from_secs(28)));
        let left = retry_hint(&headers(&[
            ("x-ratelimit-remaining", "12"),
            ("x-ratelimit-reset", &reset),
        ]));
        assert_eq!(left, RetryHint::default());
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            api_message(r#"{"error_id":502,"error_message":"too many requests from this IP"}"#),
            "too many requests from this IP"
        );
        assert_eq!(
            api_message(r#"{"message":"Validation Failed"}"#),
            "Validation Failed"
        );
        assert_eq!(api_message("<h1>Bad gateway</h1>"), "Bad gateway");
        assert_eq!(api_message(""), "(empty body)");
    }
}
