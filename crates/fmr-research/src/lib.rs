//! Live literature search for fmr: the same four query levels the knowledge
//! base answers, sent to arXiv, GitHub issues, Stack Exchange (Stack Overflow,
//! Cross Validated, Data Science) and OpenAlex, plus the pages their answers
//! link to.
//!
//! Every source sits behind [`ResearchSource`]; a [`Researcher`] runs a set of
//! queries over them with bounded parallelism and returns [`LiveHit`]s (an
//! `fmr_core::Source` with the query level that found it) and per-source
//! [`SourceStats`]. Responses are cached in `fmr_store`'s SQLite database with
//! a time to live; [`Mode::Offline`] answers from that cache alone.
//!
//! Being a polite client is part of the contract: a User-Agent naming fmr,
//! each API's documented rate limit, backoff on 429 and 5xx that honours
//! `Retry-After`, and a per-request timeout. Connector files document their API,
//! limit, claim extraction and failure modes under fixed headings.

mod config;
mod error;
mod http;
mod query;
mod rate_limit;
mod researcher;
mod source;
mod sources;
mod text;
mod time;

pub use config::{Endpoints, Mode, RateLimits, ResearchConfig};
pub use error::ResearchError;
pub use http::USER_AGENT;
pub use researcher::{Progress, ResearchOutcome, Researcher, SourceStats};
pub use source::{ClaimBasis, LiveHit, ResearchSource, SOURCES, SourceId, SourceInfo};
