//! Linked pages: the blog posts and docs that answers and comments point to.
//!
//! ## API
//! A plain `GET` of the page. From the HTML: the title (`og:title`, else
//! `<title>`, else the first `<h1>`), the first paragraph of at least 80
//! characters (inside `<article>` or `<main>` when the page has one; else the
//! meta description) and the publication year (`article:published_time`,
//! `<time datetime>`, or JSON-LD `datePublished`).
//!
//! ## Rate limit
//! One page a second, and only a few per run (`follow_links`).
//!
//! ## What becomes the claim
//! The opening paragraph, quoted. The page is a `docs` source when its host or
//! path says documentation, else a `blog`; it records the source that linked it.
//!
//! ## Failure modes
//! Links to other live sources (GitHub, Stack Exchange, arXiv, DOIs), media,
//! PDFs and archives are not followed, nor links to private or local addresses
//! unless allowed. A body that is not HTML or has no readable paragraph is
//! reported as malformed.

use std::sync::Arc;

use fmr_core::{Source, SourceKind};

use crate::http::{BodyError, HttpClient, Request};
use crate::rate_limit::RateLimiter;
use crate::{ResearchError, text, time};

/// Shortest paragraph taken as the page's opening (shorter ones are bylines and captions).
const MIN_PARAGRAPH_CHARS: usize = 80;

/// Hosts whose pages other connectors read better, or that hold no prose.
const SKIPPED_HOSTS: &[&str] = &[
    "arxiv.org",
    "colab.research.google.com",
    "doi.org",
    "drive.google.com",
    "dx.doi.org",
    "export.arxiv.org",
    "gist.github.com",
    "github.com",
    "openalex.org",
    "raw.githubusercontent.com",
    "stackexchange.com",
    "stackoverflow.com",
    "twitter.com",
    "x.com",
    "youtu.be",
    "youtube.com",
];

const SKIPPED_EXTENSIONS: &[&str] = &[
    ".gif", ".gz", ".ipynb", ".jpeg", ".jpg", ".mp4", ".pdf", ".png", ".py", ".svg", ".tar",
    ".whl", ".zip",
];

/// What fmr read on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    pub paragraph: String,
    pub year: Option<i32>,
}

pub struct PageFetcher {
    http: Arc<HttpClient>,
    limiter: RateLimiter,
    allow_private: bool,
}

impl PageFetcher {
    pub fn new(http: Arc<HttpClient>, limiter: RateLimiter, allow_private: bool) -> Self {
        Self {
            http,
            limiter,
            allow_private,
        }
    }

    /// Whether a link is worth fetching (see the module docs).
    pub fn is_followable(&self, url: &str) -> bool {
        let Some((host, path)) = split_url(url) else {
            return false;
        };
        let skipped_host = SKIPPED_HOSTS
            .iter()
            .any(|h| host == *h || host.ends_with(&format!(".{h}")));
        let path = path.to_lowercase();
        let skipped_file = SKIPPED_EXTENSIONS.iter().any(|e| path.ends_with(e));
        !skipped_host && !skipped_file && (self.allow_private || !is_private_host(host))
    }

    /// Fetches and reads a page; `via` is the id of the source that linked it.
    pub fn fetch(&self, url: &str, via: &str) -> Result<Source, ResearchError> {
        let clean = url.split('#').next().unwrap_or(url).to_string();
        let request = Request::new("pages", clean.clone(), &self.limiter);
        let page = self.http.get(&request, parse_page)?;
        let (host, path) = split_url(&clean).unwrap_or(("", ""));
        let host = host.trim_start_matches("www.");
        let is_docs = host.starts_with("docs.")
            || host.ends_with(".readthedocs.io")
            || path.contains("/docs/");
        let label = format!("Opening paragraph, linked from {via}");
        Ok(Source {
            kind: if is_docs {
                SourceKind::Docs
            } else {
                SourceKind::Blog
            },
            id: format!("{host}{}", path.trim_end_matches('/')),
            url: clean,
            title: page.title,
            year: page.year,
            claim: text::quoted(
                &label,
                &text::truncate(&page.paragraph, text::EXCERPT_CHARS),
            ),
        })
    }
}

/// `(host, path)` of an `http(s)` URL; the path excludes the query string.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = if host.starts_with('[') {
        host.split(']')
            .next()
            .map_or(host, |h| &host[..h.len() + 1])
    } else {
        host.split(':').next().unwrap_or(host)
    };
    let path_end = rest[end..].find(['?', '#']).map_or(rest.len(), |p| end + p);
    (!host.is_empty()).then(|| (host, &rest[end..path_end]))
}

/// Loopback, private, link-local and `.local`/`.internal` hosts: a link in a
/// stranger's comment must not make fmr probe the user's own network.
fn is_private_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
    {
        return true;
    }
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        return match ip {
            std::net::IpAddr::V4(v4) => {
                v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
            }
            std::net::IpAddr::V6(v6) => {
                v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00
            }
        };
    }
    false
}

/// Title, opening paragraph and year of an HTML page.
pub fn parse_page(html: &str) -> Result<Page, BodyError> {
    let head = &html[..html.len().min(2048)];
    if !head.contains('<') {
        return Err(BodyError::Malformed("not an HTML page".into()));
    }
    let metas: Vec<&str> = tags(html, "meta").collect();
    let meta = |key: &str| {
        metas.iter().find_map(|tag| {
            let named = attribute(tag, "property").or_else(|| attribute(tag, "name"))?;
            (named.eq_ignore_ascii_case(key))
                .then(|| attribute(tag, "content"))
                .flatten()
                .map(|c| text::squash(&text::decode_entities(&c)))
                .filter(|c| !c.is_empty())
        })
    };
    let title = meta("og:title")
        .or_else(|| element_text(html, "title"))
        .or_else(|| element_text(html, "h1"))
        .unwrap_or_default();
    let body = ["article", "main"]
        .iter()
        .find_map(|name| element_html(html, name))
        .unwrap_or(html);
    let paragraph = paragraphs(body)
        .find(|p| p.chars().count() >= MIN_PARAGRAPH_CHARS)
        .or_else(|| meta("og:description"))
        .or_else(|| meta("description"));
    let Some(paragraph) = paragraph else {
        return Err(BodyError::Malformed("no readable paragraph".into()));
    };
    let year = meta("article:published_time")
        .and_then(|d| time::year_of_iso(&d))
        .or_else(|| {
            tags(html, "time")
                .find_map(|t| attribute(t, "datetime").and_then(|d| time::year_of_iso(&d)))
        })
        .or_else(|| json_ld_year(html));
    Ok(Page {
        title,
        paragraph,
        year,
    })
}

/// The opening tags `<name …>` of a document, as `name …` without the brackets.
fn tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find('<')?;
            let after = &rest[start + 1..];
            let end = after.find('>').unwrap_or(after.len());
            let tag = &after[..end];
            rest = &after[end..];
            let named = tag
                .get(..name.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(name))
                && tag[name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace() || c == '/');
            if named {
                return Some(tag);
            }
        }
    })
}

/// The value of `name="…"` (or single-quoted, or bare) in a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let start = from + found;
        let boundary = lower[..start].ends_with(|c: char| c.is_whitespace());
        let rest = lower[start + name.len()..].trim_start();
        if boundary && rest.starts_with('=') {
            let value_start = tag.len() - rest.len() + 1;
            let value = tag[value_start..].trim_start();
            return Some(match value.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    value[1..].split(quote).next().unwrap_or("").to_string()
                }
                _ => value
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or("")
                    .to_string(),
            });
        }
        from = start + name.len();
    }
    None
}

/// The byte range of the inner HTML of the first `<name>` element at or after
/// `from`. `lower` is the document lower-cased (ASCII), so offsets match it.
fn element_span(lower: &str, name: &str, from: usize) -> Option<(usize, usize)> {
    let open = format!("<{name}");
    let mut at = from;
    while let Some(found) = lower.get(at..)?.find(&open) {
        let start = at + found + open.len();
        if lower[start..].starts_with(|c: char| c.is_whitespace() || c == '>') {
            let content_start = start + lower[start..].find('>')? + 1;
            let content_end = lower[content_start..]
                .find(&format!("</{name}"))
                .map_or(lower.len(), |e| content_start + e);
            return Some((content_start, content_end));
        }
        at = start;
    }
    None
}

/// The raw inner HTML of the first `<name>` element.
fn element_html<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let (start, end) = element_span(&html.to_ascii_lowercase(), name, 0)?;
    html.get(start..end)
}

fn element_text(html: &str, name: &str) -> Option<String> {
    element_html(html, name)
        .map(|inner| text::squash(&text::html_to_text(inner)))
        .filter(|t| !t.is_empty())
}

/// Tags that end an open paragraph (HTML lets `</p>` be omitted before them).
const PARAGRAPH_ENDERS: &[&str] = &[
    "article", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "main", "ol", "p", "pre",
    "section", "table", "ul",
];

/// The text of each `<p>` element, in order, in one forward pass over the
/// tags: a paragraph ends at `</p>` or at the next block-level tag.
fn paragraphs(html: &str) -> impl Iterator<Item = String> + '_ {
    let bytes = html.as_bytes();
    let mut at = 0;
    let mut open: Option<usize> = None;
    std::iter::from_fn(move || {
        while let Some(offset) = bytes.get(at..)?.iter().position(|&b| b == b'<') {
            let lt = at + offset;
            let Some(gt) = bytes[lt..].iter().position(|&b| b == b'>').map(|e| lt + e) else {
                at = bytes.len();
                break;
            };
            at = gt + 1;
            let tag = &html[lt + 1..gt];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            if !PARAGRAPH_ENDERS.contains(&name.as_str()) {
                continue;
            }
            let ended = open
                .take()
                .map(|start| text::squash(&text::html_to_text(&html[start..lt])));
            if name == "p" && !tag.starts_with('/') {
                open = Some(gt + 1);
            }
            if let Some(paragraph) = ended.filter(|p| !p.is_empty()) {
                return Some(paragraph);
            }
        }
        // An unclosed last paragraph runs to the end of the document.
        open.take()
            .map(|start| text::squash(&text::html_to_text(&html[start..])))
            .filter(|p| !p.is_empty())
    })
}

fn json_ld_year(html: &str) -> Option<i32> {
    let at = html.find("\"datePublished\"")?;
    let rest = &html[at + "\"datePublished\"".len()..];
    let value = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    time::year_of_iso(value.get(..10).unwrap_or(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blog_post_gives_title_paragraph_and_year() {
        let page = parse_page(include_str!(
            "../../tests/fixtures/responses/page_blog.html"
        ))
        .unwrap();
        insta::assert_debug_snapshot!(page);
    }

    #[test]
    fn a_page_without_article_falls_back_to_the_description() {
        let html = "<html><head><title>Short &amp; sweet</title>\
                    <meta name=\"description\" content=\"Use bf16 instead of fp16 when the loss overflows.\">\
                    </head><body><p>Tiny.</p><time datetime=\"2019-03-01\">March</time></body></html>";
        let page = parse_page(html).unwrap();
        assert_eq!(page.title, "Short & sweet");
        assert_eq!(
            page.paragraph,
            "Use bf16 instead of fp16 when the loss overflows."
        );
        assert_eq!(page.year, Some(2019));
    }

    #[test]
    fn non_html_and_empty_pages_are_malformed() {
        assert!(matches!(
            parse_page("%PDF-1.7 binary"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_page("<html><body></body></html>"),
            Err(BodyError::Malformed(_))
        ));
    }

    #[test]
    fn paragraphs_end_at_block_tags_when_unclosed() {
        let html =
            "<p>first <b>bold</b><p>second<div>not a paragraph</div><p></p><p>last < unclosed";
        let found: Vec<String> = paragraphs(html).collect();
        assert_eq!(found, ["first bold", "second", "last < unclosed"]);
    }

    #[test]
    fn attributes_in_any_quoting() {
        assert_eq!(
            attribute("meta name=\"a\" content='b c'", "content"),
            Some("b c".into())
        );
        assert_eq!(
            attribute("meta data-name=x name=y", "name"),
            Some("y".into())
        );
        assert_eq!(attribute("meta content", "content"), None);
    }

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(
            split_url("https://u:p@Blog.x.org:8443/a/b?q#f"),
            Some(("Blog.x.org", "/a/b"))
        );
        assert_eq!(split_url("http://[::1]:80/x"), Some(("[::1]", "/x")));
        assert_eq!(split_url("ftp://x.org"), None);
        assert_eq!(split_url("https:///path"), None);
    }

    #[test]
    fn private_hosts_are_recognised() {
        for host in [
            "localhost",
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "[::1]",
            "printer.local",
            "169.254.1.1",
        ] {
            assert!(is_private_host(host), "{host}");
        }
        for host in ["blog.example.org", "8.8.8.8", "[2001:db8::1]"] {
            assert!(!is_private_host(host), "{host}");
        }
    }
}
