//! What happens when an API misbehaves: 5xx, 429 with Retry-After, rate-limit
//! resets, stalls, connections cut mid-body, malformed bodies, a spent time
//! budget, a panicking plug-in; and that parallelism stays bounded.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{Reply, config, fixture, query, raw_server};
use fmr_core::{Query, Source, SourceKind};
use fmr_research::{
    ClaimBasis, LiveHit, ResearchConfig, ResearchError, ResearchSource, Researcher, SourceId,
};
use mockito::Matcher;

fn arxiv_only(base: &str) -> ResearchConfig {
    config(base, &[SourceId::Arxiv])
}

#[test]
fn a_5xx_is_retried_and_the_retry_succeeds() {
    let mut server = mockito::Server::new();
    let failing = server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_status(503)
        .with_body("<html><body><h1>Service Unavailable</h1></body></html>")
        .expect(1)
        .create();
    let working = server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_body(fixture("arxiv_feed.xml"))
        .expect(1)
        .create();
    let outcome = Researcher::new(arxiv_only(&server.url())).research(&[query(1, "fp16 nan")]);
    failing.assert();
    working.assert();
    let stats = &outcome.stats[0];
    assert_eq!(
        (stats.requests, stats.retries, stats.errors, stats.hits),
        (2, 1, 0, 3)
    );
}

#[test]
fn a_persistent_5xx_fails_after_the_retries_with_the_server_message() {
    let mut server = mockito::Server::new();
    let failing = server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_status(500)
        .with_body("<h1>Internal error</h1>")
        .expect(3)
        .create();
    let outcome = Researcher::new(arxiv_only(&server.url())).research(&[query(1, "fp16 nan")]);
    failing.assert();
    let stats = &outcome.stats[0];
    assert_eq!((stats.requests, stats.retries, stats.errors), (3, 2, 1));
    assert!(
        stats.messages[0].starts_with("arxiv: HTTP 500 from ")
            && stats.messages[0].ends_with(": Internal error"),
        "{}",
        stats.messages[0]
    );
}

#[test]
fn a_429_waits_for_retry_after() {
    let mut server = mockito::Server::new();
    server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_status(429)
        .with_header("retry-after", "1")
        .expect(1)
        .create();
    server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_body(fixture("arxiv_feed.xml"))
        .expect(1)
        .create();
    let started = Instant::now();
    let outcome = Researcher::new(arxiv_only(&server.url())).research(&[query(1, "fp16 nan")]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(outcome.stats[0].retries, 1);
    assert_eq!(outcome.hits.len(), 3);
}

#[test]
fn a_retry_after_beyond_the_allowed_wait_fails_at_once() {
    let mut server = mockito::Server::new();
    let limited = server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_status(429)
        .with_header("retry-after", "3600")
        .expect(1)
        .create();
    let started = Instant::now();
    let outcome = Researcher::new(arxiv_only(&server.url()))
        .research(&[query(1, "fp16 nan"), query(2, "loss scaling")]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "must not sleep an hour"
    );
    limited.assert();
    let stats = &outcome.stats[0];
    assert_eq!(
        stats.errors, 2,
        "the second query is refused without a request"
    );
    assert!(
        stats.messages[0].contains("rate limited") && stats.messages[0].contains("3600s"),
        "{:?}",
        stats.messages
    );
}

#[test]
fn github_rate_limit_403_is_a_rate_limit_not_a_refusal() {
    let mut server = mockito::Server::new();
    let reset = (fmr_store::unix_now() + 3_000).to_string();
    server
        .mock("GET", "/search/issues")
        .match_query(Matcher::Any)
        .with_status(403)
        .with_header("x-ratelimit-remaining", "0")
        .with_header("x-ratelimit-reset", &reset)
        .with_body(r#"{"message":"API rate limit exceeded for 127.0.0.1.","documentation_url":"https://docs.github.com/rest"}"#)
        .expect(1)
        .create();
    let outcome = Researcher::new(config(&server.url(), &[SourceId::Github]))
        .research(&[query(1, "nan loss")]);
    let message = &outcome.stats[0].messages[0];
    assert!(message.starts_with("github: rate limited at "), "{message}");
}

#[test]
fn a_stalled_server_times_out_and_is_retried() {
    let base = raw_server(vec![
        Reply::Hang(Duration::from_secs(3)),
        Reply::Hang(Duration::from_secs(3)),
    ]);
    let mut settings = arxiv_only(&base);
    settings.timeout = Duration::from_millis(300);
    settings.max_retries = 1;
    let started = Instant::now();
    let outcome = Researcher::new(settings).research(&[query(1, "fp16 nan")]);
    assert!(started.elapsed() < Duration::from_secs(3));
    let stats = &outcome.stats[0];
    assert_eq!((stats.requests, stats.errors), (2, 1));
    assert!(
        stats.messages[0].contains("no answer") && stats.messages[0].contains("0.3s (2 attempts)"),
        "{}",
        stats.messages[0]
    );
}

#[test]
fn a_connection_cut_mid_body_is_retried() {
    let feed = fixture("arxiv_feed.xml");
    let base = raw_server(vec![
        Reply::CutShort(feed[..200].to_string()),
        Reply::Full(feed),
    ]);
    let outcome = Researcher::new(arxiv_only(&base)).research(&[query(1, "fp16 nan")]);
    let stats = &outcome.stats[0];
    assert_eq!(
        (stats.requests, stats.retries, stats.errors),
        (2, 1, 0),
        "{stats:?}"
    );
    assert_eq!(outcome.hits.len(), 3);
}

#[test]
fn malformed_bodies_are_errors_that_name_the_problem() {
    let mut server = mockito::Server::new();
    server
        .mock("GET", "/search/issues")
        .match_query(Matcher::Any)
        .with_body(&fixture("github_search.json")[..700])
        .create();
    server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_body("Rate exceeded.")
        .create();
    server
        .mock("GET", "/works")
        .match_query(Matcher::Any)
        .with_body("<html>maintenance</html>")
        .create();
    server
        .mock("GET", "/2.3/search/advanced")
        .match_query(Matcher::Any)
        .with_status(400)
        .with_body(
            r#"{"error_id":400,"error_message":"site is required","error_name":"bad_parameter"}"#,
        )
        .create();
    let mut settings = config(
        &server.url(),
        &[
            SourceId::Arxiv,
            SourceId::Github,
            SourceId::OpenAlex,
            SourceId::StackOverflow,
        ],
    );
    settings.max_retries = 0;
    let outcome = Researcher::new(settings).research(&[query(1, "nan loss")]);
    assert!(outcome.hits.is_empty());
    let base = server.url();
    let messages: Vec<String> = outcome
        .stats
        .iter()
        .map(|s| s.messages.join(" / ").replace(&base, "{mock}"))
        .collect();
    insta::assert_debug_snapshot!(messages);
}

#[test]
fn partial_pages_keep_what_they_hold() {
    let mut server = mockito::Server::new();
    server
        .mock("GET", "/search/issues")
        .match_query(Matcher::Any)
        .with_body(
            r#"{"total_count":900,"incomplete_results":true,"items":[
                {"number":7,"title":"NaN after warmup","html_url":"https://github.com/o/r/issues/7",
                 "repository_url":"https://api.github.com/repos/o/r","state":"open","comments":0,
                 "created_at":"2022-01-01T00:00:00Z","body":"Loss becomes NaN right after warmup ends."}]}"#,
        )
        .create();
    let outcome = Researcher::new(config(&server.url(), &[SourceId::Github]))
        .research(&[query(1, "nan warmup")]);
    assert_eq!(outcome.hits.len(), 1, "fewer items than asked for is fine");
    assert_eq!(outcome.hits[0].basis, ClaimBasis::IssueReport);
    assert_eq!(outcome.stats[0].errors, 0);
}

#[test]
fn comments_are_not_read_after_a_rate_limit_and_the_report_is_quoted() {
    let mut server = mockito::Server::new();
    let body = fixture("github_search.json")
        .replace("\"comments\": 0,", "\"comments\": 2,")
        .replace("https://blog.example.org", "http://unused.invalid");
    server
        .mock("GET", "/search/issues")
        .match_query(Matcher::Any)
        .with_body(body)
        .create();
    let comments = server
        .mock("GET", Matcher::Regex("^/repos/.*/comments$".into()))
        .match_query(Matcher::Any)
        .with_status(403)
        .with_header("x-ratelimit-remaining", "0")
        .with_header(
            "x-ratelimit-reset",
            &(fmr_store::unix_now() + 3_000).to_string(),
        )
        .expect(1)
        .create();
    let outcome = Researcher::new(config(&server.url(), &[SourceId::Github]))
        .research(&[query(1, "nan loss fp16")]);
    comments.assert();
    assert_eq!(outcome.hits[0].basis, ClaimBasis::IssueReport);
    assert_eq!(outcome.stats[0].errors, 0, "the search itself succeeded");
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("quoting the issue report instead")),
        "{:?}",
        outcome.warnings
    );
}

#[test]
fn stack_exchange_backoff_delays_the_next_request() {
    let mut server = mockito::Server::new();
    server
        .mock("GET", "/2.3/search/advanced")
        .match_query(Matcher::Any)
        .with_body(
            fixture("stackexchange_search.json").replace("\"backoff\": 10", "\"backoff\": 1"),
        )
        .create();
    server
        .mock("GET", Matcher::Regex("^/2.3/questions/".into()))
        .match_query(Matcher::Any)
        .with_body(fixture("stackexchange_answers.json"))
        .expect(1)
        .create();
    let started = Instant::now();
    let outcome = Researcher::new(config(&server.url(), &[SourceId::CrossValidated]))
        .research(&[query(1, "nan loss")]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "backoff: 1 was ignored"
    );
    assert_eq!(outcome.hits[0].basis, ClaimBasis::AcceptedAnswer);
}

#[test]
fn a_spent_time_budget_skips_searches_and_says_so() {
    let mut server = mockito::Server::new();
    let never = server.mock("GET", Matcher::Any).expect(0).create();
    let mut settings = arxiv_only(&server.url());
    settings.deadline = Some(Duration::ZERO);
    let outcome = Researcher::new(settings).research(&[query(1, "a b"), query(2, "c d")]);
    never.assert();
    assert_eq!((outcome.stats[0].skipped, outcome.stats[0].errors), (2, 0));
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("2 searches skipped")),
        "{:?}",
        outcome.warnings
    );
}

#[test]
fn queries_are_planned_per_source_level_and_limit() {
    let mut server = mockito::Server::new();
    let github = server
        .mock("GET", "/search/issues")
        .match_query(Matcher::Any)
        .with_body(r#"{"items":[]}"#)
        .expect(2)
        .create();
    let mut settings = config(&server.url(), &[SourceId::Github]);
    settings.max_queries_per_source = 2;
    let outcome = Researcher::new(settings).research(&[
        query(4, "analogy: empty clusters in k-means"),
        query(3, "phenomenon words"),
        query(1, "exact words"),
        query(1, "  EXACT   words "),
        query(2, "technique words"),
    ]);
    github.assert();
    assert_eq!(
        outcome.stats[0].queries, 2,
        "levels 1 and 2 only; L4 is not for issues"
    );
}

struct Panicky;

impl ResearchSource for Panicky {
    fn name(&self) -> &'static str {
        "panicky"
    }

    fn search(&self, _: &Query, _: usize) -> Result<Vec<LiveHit>, ResearchError> {
        panic!("a bug in a plug-in")
    }
}

#[test]
fn a_panicking_source_is_an_error_not_a_crash() {
    let researcher =
        Researcher::with_sources(arxiv_only("http://127.0.0.1:9"), vec![Box::new(Panicky)]);
    assert_eq!(researcher.source_names(), ["panicky"]);
    let outcome = researcher.research(&[query(1, "nan")]);
    assert_eq!(outcome.stats[0].errors, 1);
    assert!(outcome.stats[0].messages[0].contains("panicked"));
}

/// Searches in flight now, and the most ever in flight at once.
#[derive(Default)]
struct Counts {
    in_flight: usize,
    peak: usize,
}

type Room = Arc<(Mutex<Counts>, Condvar)>;

/// A plug-in source that records how many searches run at once, and waits
/// (up to `patience`) for a partner so that concurrency becomes observable.
struct Meeting {
    name: &'static str,
    state: Room,
    calls: Arc<AtomicUsize>,
    patience: Duration,
}

impl ResearchSource for Meeting {
    fn name(&self) -> &'static str {
        self.name
    }

    fn search(&self, query: &Query, _: usize) -> Result<Vec<LiveHit>, ResearchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (lock, arrived) = &*self.state;
        let mut state = lock.lock().expect("lock");
        state.in_flight += 1;
        state.peak = state.peak.max(state.in_flight);
        arrived.notify_all();
        let (mut state, _) = arrived
            .wait_timeout_while(state, self.patience, |s| s.peak < 2)
            .expect("wait");
        state.in_flight -= 1;
        let source = Source {
            kind: SourceKind::Forum,
            id: format!("{}:{}", self.name, query.text),
            url: format!("https://example.org/{}", self.name),
            title: query.text.clone(),
            year: None,
            claim: String::new(),
        };
        Ok(vec![LiveHit::new(
            source,
            query,
            self.name,
            0,
            ClaimBasis::Title,
        )])
    }
}

fn meeting_sources(
    calls: &Arc<AtomicUsize>,
    patience: Duration,
) -> (Vec<Box<dyn ResearchSource>>, Room) {
    let state: Room = Arc::new((Mutex::new(Counts::default()), Condvar::new()));
    let sources: Vec<Box<dyn ResearchSource>> = ["one", "two", "three"]
        .into_iter()
        .map(|name| -> Box<dyn ResearchSource> {
            Box::new(Meeting {
                name,
                state: Arc::clone(&state),
                calls: Arc::clone(calls),
                patience,
            })
        })
        .collect();
    (sources, state)
}

#[test]
fn sources_run_in_parallel_up_to_the_bound() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (sources, state) = meeting_sources(&calls, Duration::from_secs(2));
    let mut settings = arxiv_only("http://127.0.0.1:9");
    settings.parallelism = 2;
    let progress_calls = AtomicUsize::new(0);
    let outcome = Researcher::with_sources(settings, sources).research_with_progress(
        &[query(1, "a"), query(2, "b")],
        &|p| {
            assert_eq!(p.total, 6);
            progress_calls.fetch_add(1, Ordering::SeqCst);
        },
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    assert_eq!(
        progress_calls.load(Ordering::SeqCst),
        6,
        "one progress report per search"
    );
    let peak = state.0.lock().expect("lock").peak;
    assert_eq!(peak, 2, "two sources at once, never three");
    assert_eq!(outcome.hits.len(), 6);
    let order: Vec<(u8, &str)> = outcome
        .hits
        .iter()
        .map(|h| (h.level, h.connector.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (1, "one"),
            (1, "two"),
            (1, "three"),
            (2, "one"),
            (2, "two"),
            (2, "three")
        ],
        "hits come in query order, then source order, whatever thread ran them"
    );
}

#[test]
fn parallelism_one_runs_sources_one_at_a_time() {
    let calls = Arc::new(AtomicUsize::new(0));
    // Each search waits briefly for a partner that, run one at a time, never comes.
    let (sources, state) = meeting_sources(&calls, Duration::from_millis(150));
    let mut settings = arxiv_only("http://127.0.0.1:9");
    settings.parallelism = 1;
    let outcome = Researcher::with_sources(settings, sources).research(&[query(1, "a")]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(outcome.hits.len(), 3);
    assert_eq!(state.0.lock().expect("lock").peak, 1);
}
