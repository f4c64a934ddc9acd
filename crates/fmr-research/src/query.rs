//! From fmr's query sentences to what a search API can use: the engine writes
//! up to 60 words per query, while GitHub and arXiv AND every term, so a long
//! query finds nothing. Each connector asks for its few most telling keywords.

/// Words that carry no search signal in a symptom description.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "around", "as",
    "at", "be", "because", "been", "before", "being", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "even", "every", "few", "for",
    "from", "get", "gets", "getting", "got", "had", "has", "have", "having", "he", "her", "here",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "keep", "keeps",
    "like", "many", "me", "more", "most", "much", "my", "no", "not", "now", "of", "on", "once",
    "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some",
    "still", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "those", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "why", "will", "with", "would", "you", "your",
];

/// Lower-cased, whitespace collapsed: two spellings of one query compare equal.
pub fn normalize(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to `max` distinct keywords in the order they appear.
///
/// Tokens keep inner `.`, `-`, `_` and `+` (`torch.cuda.amp`, `bf16`, `c++`)
/// and lose surrounding punctuation; stopwords, one-letter tokens and tokens
/// without a letter (`3e-4` is kept, `0.5` is not) are dropped.
pub fn keywords(text: &str, max: usize) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for raw in text.split(|c: char| c.is_whitespace() || ",;:!?()[]{}\"'`<>|/\\=*#".contains(c)) {
        if seen.len() >= max {
            break;
        }
        let token = raw
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '+')
            .to_lowercase();
        let informative = token.chars().count() > 1
            && token.chars().any(char::is_alphabetic)
            && !STOPWORDS.contains(&token.as_str());
        if informative && !seen.contains(&token) {
            seen.push(token);
        }
    }
    seen
}

/// Percent-encodes a query-string value (RFC 3986: everything but unreserved).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `base` + `path` + `?k=v&…`, values encoded; `base` may end in a slash or not.
pub fn url(base: &str, path: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::from(base.trim_end_matches('/'));
    out.push_str(path);
    for (index, (key, value)) in params.iter().enumerate() {
        out.push(if index == 0 { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_drop_noise_and_keep_technical_tokens() {
        let words = keywords(
            "My loss goes NaN after 2,140 steps with torch.cuda.amp (fp16) — lr=3e-4, the loss!",
            10,
        );
        assert_eq!(
            words,
            [
                "loss",
                "goes",
                "nan",
                "steps",
                "torch.cuda.amp",
                "fp16",
                "lr",
                "3e-4"
            ]
        );
    }

    #[test]
    fn keywords_stop_at_the_limit() {
        assert_eq!(keywords("alpha beta gamma delta", 2), ["alpha", "beta"]);
        assert!(keywords("the of and 123 4.5", 5).is_empty());
    }

    #[test]
    fn normalize_collapses_case_and_space() {
        assert_eq!(normalize("  Loss   NaN\tFP16 "), "loss nan fp16");
    }

    #[test]
    fn urls_encode_values_only() {
        assert_eq!(
            url(
                "http://h/",
                "/api/query",
                &[("q", "all:nan AND all:fp16"), ("n", "5")]
            ),
            "http://h/api/query?q=all%3Anan%20AND%20all%3Afp16&n=5"
        );
        assert_eq!(encode("é"), "%C3%A9");
    }
}
