//! The response cache: hits and misses, time to live, offline mode, and that
//! credentials never land in it.

mod common;

use std::time::Duration;

use common::{config, fixture, query};
use fmr_research::{Mode, ResearchConfig, Researcher, SourceId};
use fmr_store::Store;
use mockito::Matcher;

fn cached(base: &str, dir: &tempfile::TempDir, sources: &[SourceId]) -> ResearchConfig {
    ResearchConfig {
        cache_path: Some(dir.path().join("fmr.sqlite3")),
        ..config(base, sources)
    }
}

fn arxiv_mock(server: &mut mockito::Server, hits: usize) -> mockito::Mock {
    server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_body(fixture("arxiv_feed.xml"))
        .expect(hits)
        .create()
}

#[test]
fn a_second_run_is_served_from_the_cache() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    let arxiv = arxiv_mock(&mut server, 1);
    let queries = [query(1, "fp16 nan loss scaling")];

    let first = Researcher::new(cached(&server.url(), &dir, &[SourceId::Arxiv])).research(&queries);
    let second =
        Researcher::new(cached(&server.url(), &dir, &[SourceId::Arxiv])).research(&queries);

    arxiv.assert();
    assert_eq!(first.hits, second.hits);
    assert_eq!(
        (first.stats[0].cache_misses, first.stats[0].requests),
        (1, 1)
    );
    assert_eq!(
        (second.stats[0].cache_hits, second.stats[0].requests),
        (1, 0)
    );
}

#[test]
fn two_spellings_of_one_query_share_an_entry() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    let arxiv = arxiv_mock(&mut server, 1);
    let researcher = Researcher::new(cached(&server.url(), &dir, &[SourceId::Arxiv]));
    researcher.research(&[query(1, "FP16 NaN, loss scaling!")]);
    let again = researcher.research(&[query(1, "the fp16 nan loss scaling")]);
    arxiv.assert();
    assert_eq!(again.stats[0].cache_hits, 1);
}

#[test]
fn expired_entries_are_refetched_online() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    let arxiv = arxiv_mock(&mut server, 2);
    let mut settings = cached(&server.url(), &dir, &[SourceId::Arxiv]);
    settings.cache_ttl = Duration::ZERO;
    let researcher = Researcher::new(settings);
    researcher.research(&[query(1, "fp16 nan")]);
    let second = researcher.research(&[query(1, "fp16 nan")]);
    arxiv.assert();
    assert_eq!(
        (second.stats[0].cache_hits, second.stats[0].requests),
        (0, 1)
    );
}

#[test]
fn offline_answers_from_stale_entries_without_the_network() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    let arxiv = arxiv_mock(&mut server, 1);
    let mut settings = cached(&server.url(), &dir, &[SourceId::Arxiv]);
    settings.cache_ttl = Duration::ZERO;
    let online = Researcher::new(settings.clone()).research(&[query(1, "fp16 nan")]);

    settings.mode = Mode::Offline;
    let offline =
        Researcher::new(settings).research(&[query(1, "fp16 nan"), query(2, "never asked")]);

    arxiv.assert();
    assert_eq!(offline.mode, Mode::Offline);
    assert_eq!(offline.hits, online.hits);
    let stats = &offline.stats[0];
    assert_eq!(
        (
            stats.stale_cache_hits,
            stats.cache_misses,
            stats.requests,
            stats.errors
        ),
        (1, 1, 0, 0),
        "a miss offline is not an error"
    );
}

#[test]
fn offline_without_a_cache_says_why_nothing_came_back() {
    let mut server = mockito::Server::new();
    let never = server.mock("GET", Matcher::Any).expect(0).create();
    let mut settings = config(&server.url(), &[SourceId::Arxiv, SourceId::Github]);
    settings.mode = Mode::Offline;
    let outcome = Researcher::new(settings).research(&[query(1, "fp16 nan")]);
    never.assert();
    assert!(outcome.hits.is_empty());
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("offline without a response cache"))
    );
    insta::assert_snapshot!(outcome.to_string());
}

#[test]
fn failed_and_malformed_answers_are_not_cached() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    server
        .mock("GET", "/api/query")
        .match_query(Matcher::Any)
        .with_body("<feed><entry><title>cut")
        .create();
    server
        .mock("GET", "/works")
        .match_query(Matcher::Any)
        .with_status(404)
        .with_body(r#"{"error":"Not found"}"#)
        .create();
    let mut settings = cached(&server.url(), &dir, &[SourceId::Arxiv, SourceId::OpenAlex]);
    settings.max_retries = 0;
    let outcome = Researcher::new(settings).research(&[query(1, "fp16 nan")]);
    assert_eq!(outcome.stats.iter().map(|s| s.errors).sum::<usize>(), 2);
    let store = Store::open(dir.path().join("fmr.sqlite3")).unwrap();
    assert_eq!(store.cache_stats().unwrap().entries, 0);
}

#[test]
fn a_cached_body_that_no_longer_parses_is_dropped_and_refetched() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    let arxiv = arxiv_mock(&mut server, 2);
    let settings = cached(&server.url(), &dir, &[SourceId::Arxiv]);
    Researcher::new(settings.clone()).research(&[query(1, "fp16 nan")]);
    {
        let conn = rusqlite::Connection::open(dir.path().join("fmr.sqlite3")).unwrap();
        conn.execute("UPDATE http_cache SET body = 'damaged'", [])
            .unwrap();
    }
    let again = Researcher::new(settings).research(&[query(1, "fp16 nan")]);
    arxiv.assert();
    assert_eq!(again.hits.len(), 3);
    assert_eq!((again.stats[0].cache_hits, again.stats[0].requests), (0, 1));
}

#[test]
fn credentials_stay_out_of_cache_keys_and_messages() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    server
        .mock("GET", "/works")
        .match_query(Matcher::UrlEncoded("api_key".into(), "SECRET-OA".into()))
        .with_body(fixture("openalex_works.json"))
        .create();
    server
        .mock("GET", "/2.3/search/advanced")
        .match_query(Matcher::UrlEncoded("key".into(), "SECRET-SE".into()))
        .with_status(502)
        .with_body(r#"{"error_id":502,"error_message":"throttle violation","error_name":"throttle_violation"}"#)
        .create();
    let mut settings = cached(
        &server.url(),
        &dir,
        &[SourceId::OpenAlex, SourceId::StackOverflow],
    );
    settings.openalex_api_key = Some("SECRET-OA".into());
    settings.stackexchange_key = Some("SECRET-SE".into());
    settings.max_retries = 0;
    let outcome = Researcher::new(settings).research(&[query(1, "codebook collapse")]);
    assert_eq!(outcome.hits.len(), 3, "the key reached OpenAlex");
    let everything = format!("{outcome:?}");
    assert!(everything.contains("throttle violation"), "{everything}");
    assert!(
        !everything.contains("SECRET"),
        "a key leaked into the outcome"
    );
    let conn = rusqlite::Connection::open(dir.path().join("fmr.sqlite3")).unwrap();
    let keys: Vec<String> = conn
        .prepare("SELECT key FROM http_cache")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(
        !keys[0].contains("SECRET") && keys[0].contains("/works?search=codebook"),
        "{keys:?}"
    );
}

#[test]
fn an_unusable_cache_path_degrades_to_no_cache() {
    let mut server = mockito::Server::new();
    let dir = tempfile::tempdir().unwrap();
    let not_a_db = dir.path().join("fmr.sqlite3");
    std::fs::write(&not_a_db, vec![0x42; 4096]).unwrap();
    let arxiv = arxiv_mock(&mut server, 1);
    let outcome = Researcher::new(cached(&server.url(), &dir, &[SourceId::Arxiv]))
        .research(&[query(1, "fp16 nan")]);
    arxiv.assert();
    assert_eq!(outcome.hits.len(), 3);
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.starts_with("response cache unavailable")),
        "{:?}",
        outcome.warnings
    );
}
