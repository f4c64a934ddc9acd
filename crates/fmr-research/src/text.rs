//! Plain text out of API bodies (HTML answers, Markdown comments, Atom
//! abstracts), and the short quoted excerpt that becomes a source's claim.
//!
//! Everything here is a single left-to-right pass: bodies come from the
//! network and may be large or malformed, and none of it may panic.

/// Longest excerpt quoted in a claim, in characters.
pub const EXCERPT_CHARS: usize = 280;

/// Block-level tags: each one ends a paragraph.
const BLOCK_TAGS: &[&str] = &[
    "article",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Tags whose content is not prose: dropped with the tag. `pre` holds code
/// blocks, which read badly inside a one-line claim.
const SKIPPED_TAGS: &[&str] = &[
    "head", "nav", "noscript", "pre", "script", "style", "svg", "template",
];

/// Paragraphs of the visible text of an HTML fragment or page, separated by a
/// blank line, entities decoded, whitespace collapsed inside each paragraph.
pub fn html_to_text(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut raw = String::with_capacity(html.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                if html[i..].starts_with("<!--") {
                    i = find(html, i + 4, "-->").map_or(bytes.len(), |end| end + 3);
                    continue;
                }
                let Some(end) = memchr(bytes, i + 1, b'>') else {
                    // An unclosed `<` is text ("a < b" written carelessly).
                    raw.push_str(&html[i..]);
                    break;
                };
                let tag = &html[i + 1..end];
                let closing = tag.starts_with('/');
                let name = tag_name(tag);
                i = end + 1;
                if !closing && SKIPPED_TAGS.contains(&name.as_str()) && !tag.ends_with('/') {
                    i = skip_element(html, i, &name);
                    raw.push_str("\n\n");
                } else if name == "br" {
                    raw.push('\n');
                } else if BLOCK_TAGS.contains(&name.as_str()) {
                    raw.push_str("\n\n");
                } else if name == "code" {
                    raw.push('`');
                }
            }
            b'&' => {
                let (decoded, used) = decode_entity(&html[i..]);
                raw.push_str(&decoded);
                i += used;
            }
            _ => {
                let next = bytes[i..]
                    .iter()
                    .position(|&b| b == b'<' || b == b'&')
                    .map_or(bytes.len(), |offset| i + offset);
                raw.push_str(&html[i..next]);
                i = next;
            }
        }
    }
    join_paragraphs(raw.split("\n\n"))
}

/// Paragraphs of a GitHub-flavoured Markdown body, without what is not the
/// author's own prose: fenced code, quoted replies (`>`), HTML comments (issue
/// templates are full of them), tables and images.
pub fn markdown_to_text(markdown: &str) -> String {
    let without_comments = strip_html_comments(markdown);
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut fence: Option<&str> = None;
    for line in without_comments.lines() {
        let trimmed = line.trim();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            flush(&mut current, &mut paragraphs);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('>') || trimmed.starts_with('|') {
            flush(&mut current, &mut paragraphs);
            continue;
        }
        if let Some(heading) = heading_text(trimmed) {
            // A heading is a paragraph of its own.
            flush(&mut current, &mut paragraphs);
            current.push_str(heading);
            flush(&mut current, &mut paragraphs);
            continue;
        }
        let content = strip_list_marker(trimmed);
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(content);
    }
    flush(&mut current, &mut paragraphs);
    let texts: Vec<String> = paragraphs
        .iter()
        .map(|p| html_to_text(&markdown_inline(p)))
        .collect();
    join_paragraphs(texts.iter().flat_map(|t| t.split("\n\n")))
}

/// `http(s)` links anywhere in a body (Markdown, HTML or bare), in order, once each.
pub fn extract_links(body: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("http") {
        let candidate = &rest[start..];
        let is_link = candidate.starts_with("http://") || candidate.starts_with("https://");
        let end = candidate
            .find(|c: char| c.is_whitespace() || "\"'<>()[]{}`|\\".contains(c))
            .unwrap_or(candidate.len());
        if is_link {
            let link = candidate[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', '*']);
            let link = link.replace("&amp;", "&");
            if link.len() > "https://".len() && !links.contains(&link) {
                links.push(link);
            }
        }
        rest = &candidate[end.max(4)..];
    }
    links
}

/// The sentences of plain text (paragraph breaks always end one).
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut start = 0;
        let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
        for (index, &(offset, c)) in chars.iter().enumerate() {
            let at_gap = chars
                .get(index + 1)
                .is_none_or(|(_, next)| next.is_whitespace());
            if matches!(c, '.' | '!' | '?') && at_gap && !is_abbreviation(&paragraph[start..offset])
            {
                push_trimmed(&mut out, &paragraph[start..offset + c.len_utf8()]);
                start = offset + c.len_utf8();
            }
        }
        push_trimmed(&mut out, &paragraph[start..]);
    }
    out
}

/// The excerpt around the sentence that shares the most keywords with the
/// query, for abstracts: the on-topic sentence, not the paper's opening line.
pub fn excerpt_best(text: &str, keywords: &[String], max_chars: usize) -> String {
    let all = sentences(text);
    let mut best = (0, 0);
    for (index, sentence) in all.iter().enumerate() {
        let lower = sentence.to_lowercase();
        let score = keywords.iter().filter(|k| lower.contains(stem(k))).count();
        if score > best.1 {
            best = (index, score);
        }
    }
    join_sentences(&all[best.0..], max_chars)
}

/// The excerpt from the start of an answer or comment, skipping greetings and
/// thanks (sentences under 20 characters) that say nothing about the fix.
pub fn excerpt_lead(text: &str, max_chars: usize) -> String {
    let all = sentences(text);
    let first = all
        .iter()
        .position(|s| s.chars().count() >= 20)
        .unwrap_or(0);
    join_sentences(all.get(first..).unwrap_or(&[]), max_chars)
}

/// `label (quoted): "excerpt"`: the claim says what fmr read, and that the
/// words are the source's, not fmr's.
pub fn quoted(label: &str, excerpt: &str) -> String {
    format!("{label} (quoted): \"{}\"", excerpt.replace('"', "'"))
}

/// Whether `lower` (already lower-cased) contains `phrase` as whole words.
pub fn contains_phrase(lower: &str, phrase: &str) -> bool {
    let mut from = 0;
    while let Some(found) = lower[from..].find(phrase) {
        let start = from + found;
        let end = start + phrase.len();
        let before = lower[..start].chars().next_back();
        let after = lower[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        from = start + phrase.chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Whitespace collapsed to single spaces.
pub fn squash(text: &str) -> String {
    let visible: String = text.chars().filter(|c| !is_invisible(*c)).collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Zero-width characters that HTML and feeds use as line-break hints; dropped.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
    )
}

/// At most `max_chars` characters, cut at a word boundary with an ellipsis.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let keep = max_chars.saturating_sub(1);
    let cut: String = text.chars().take(keep).collect();
    let word_complete = text.chars().nth(keep).is_some_and(char::is_whitespace);
    let at_word = match cut.rfind(char::is_whitespace) {
        _ if word_complete => cut.as_str(),
        Some(space) if space > cut.len() / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([',', ';', ':', ' ']))
}

/// Decodes one entity at the start of `text` (which begins with `&`); returns
/// the text and the bytes used. Unknown or unterminated entities stay as `&`.
pub fn decode_entity(text: &str) -> (String, usize) {
    let Some(end) = text.bytes().take(12).position(|b| b == b';') else {
        return ("&".into(), 1);
    };
    let name = &text[1..end];
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "hellip" => Some('…'),
        "mdash" => Some('—'),
        "ndash" => Some('–'),
        "lsquo" | "rsquo" => Some('\''),
        "ldquo" | "rdquo" => Some('"'),
        "times" => Some('×'),
        _ => name.strip_prefix('#').and_then(|number| {
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => number.parse().ok(),
            };
            code.and_then(char::from_u32).filter(|c| *c != '\0')
        }),
    };
    match decoded {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".into(), 1),
    }
}

/// Decodes every entity in a short string (titles).
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let (decoded, used) = decode_entity(&rest[at..]);
        out.push_str(&decoded);
        rest = &rest[at + used..];
    }
    out.push_str(rest);
    out
}

fn join_sentences(sentences: &[&str], max_chars: usize) -> String {
    let mut out = String::new();
    for sentence in sentences {
        let length = out.chars().count() + sentence.chars().count() + 1;
        if !out.is_empty() && length > max_chars {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(sentence);
    }
    truncate(&out, max_chars)
}

/// Enough of a keyword to match its inflections ("diverges" → "diver").
fn stem(keyword: &str) -> &str {
    match keyword.char_indices().nth(5) {
        Some((offset, _)) => &keyword[..offset],
        None => keyword,
    }
}

/// Whether the text before a `.` ends in an abbreviation, an initial or a
/// number, so the dot does not end the sentence.
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_lowercase();
    const ABBREVIATIONS: &[&str] = &[
        "e.g", "i.e", "etc", "vs", "cf", "fig", "eq", "al", "approx", "resp",
    ];
    ABBREVIATIONS.contains(&word.as_str())
        || (word.chars().count() == 1 && word.chars().all(char::is_alphabetic))
        || (!word.is_empty() && word.chars().all(|c| c.is_ascii_digit()))
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, sentence: &'a str) {
    let sentence = sentence.trim();
    if !sentence.is_empty() {
        out.push(sentence);
    }
}

fn join_paragraphs<'a>(paragraphs: impl Iterator<Item = &'a str>) -> String {
    paragraphs
        .map(squash)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn flush(current: &mut String, paragraphs: &mut Vec<String>) {
    if !current.trim().is_empty() {
        paragraphs.push(std::mem::take(current));
    }
    current.clear();
}

/// The text of an ATX heading (`## Title`); `#123 fixed it` is not one.
fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    let rest = &line[hashes..];
    ((1..=6).contains(&hashes) && (rest.is_empty() || rest.starts_with([' ', '\t'])))
        .then(|| rest.trim())
}

fn strip_list_marker(line: &str) -> &str {
    for marker in ["- [ ] ", "- [x] ", "- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return rest;
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    match line[digits..].strip_prefix(". ") {
        Some(rest) if digits > 0 => rest,
        _ => line,
    }
}

/// Inline Markdown to text: images dropped, `[text](url)` to text, strong
/// emphasis markers removed. Single `*`/`_` stay: identifiers contain them.
fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Each step moves `rest` past everything it searched, so the pass is linear
    // even in text full of brackets (`x[0]`) that are not links.
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            break;
        };
        if !rest[close + 1..].starts_with('(') {
            out.push_str(&rest[..=close]);
            rest = &rest[close + 1..];
            continue;
        }
        let Some(url_end) = rest[close..].find(')').map(|e| close + e) else {
            break;
        };
        let is_image = rest[..open].ends_with('!');
        out.push_str(&rest[..if is_image { open - 1 } else { open }]);
        if !is_image {
            out.push_str(&rest[open + 1..close]);
        }
        rest = &rest[url_end + 1..];
    }
    out.push_str(rest);
    out.replace("**", "").replace("__", "")
}

fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn tag_name(tag: &str) -> String {
    tag.trim_start_matches('/')
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The index just past `</name…>`, or the end of the text if it never closes.
fn skip_element(html: &str, from: usize, name: &str) -> usize {
    let closing = format!("</{name}");
    let mut at = from;
    while let Some(found) = find_ascii_ci(html, at, &closing) {
        let after = found + closing.len();
        let boundary = html
            .as_bytes()
            .get(after)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        if boundary {
            return memchr(html.as_bytes(), after, b'>').map_or(html.len(), |end| end + 1);
        }
        at = after;
    }
    html.len()
}

fn memchr(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| from + p)
}

fn find(text: &str, from: usize, needle: &str) -> Option<usize> {
    text.get(from..)?.find(needle).map(|p| from + p)
}

/// Case-insensitive search for an ASCII needle, linear in the haystack.
fn find_ascii_ci(haystack: &str, from: usize, needle: &str) -> Option<usize> {
    let hay = haystack.as_bytes();
    let needle = needle.as_bytes();
    let first = needle.first()?.to_ascii_lowercase();
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let offset = hay[at..]
            .iter()
            .position(|b| b.to_ascii_lowercase() == first)?;
        let start = at + offset;
        if start + needle.len() <= hay.len()
            && hay[start..start + needle.len()].eq_ignore_ascii_case(needle)
        {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_keeps_prose_and_drops_code_blocks_and_scripts() {
        let html = "<p>Use <code>GradScaler</code> &amp; lower the LR.</p>\
                    <pre><code>scaler = GradScaler()</code></pre>\
                    <script>alert(1)</script><p>It worked&#33;<br>Thanks</p>";
        assert_eq!(
            html_to_text(html),
            "Use `GradScaler` & lower the LR.\n\nIt worked! Thanks"
        );
    }

    #[test]
    fn html_survives_broken_markup() {
        assert_eq!(
            html_to_text("a < b and <p unclosed"),
            "a < b and <p unclosed"
        );
        assert_eq!(html_to_text("<script>never closed"), "");
        assert_eq!(
            html_to_text("&bogus; &#0; &#x1F600; &"),
            "&bogus; &#0; 😀 &"
        );
        assert_eq!(html_to_text("<!-- open comment"), "");
    }

    #[test]
    fn markdown_drops_templates_quotes_and_fences() {
        let md = "<!-- Please fill the template -->\n### Fix\n> you said it fails\n#123 helped.\n\
                  Setting `eps=1e-6` in **Adam** fixed it, see [the docs](https://x.org/d).\n\
                  ```python\nopt = Adam(eps=1e-6)\n```\n| a | b |\n- done ![img](https://i.png)";
        assert_eq!(
            markdown_to_text(md),
            "Fix\n\n#123 helped. Setting `eps=1e-6` in Adam fixed it, see the docs.\n\ndone"
        );
    }

    #[test]
    fn links_are_found_once_without_trailing_punctuation() {
        let body = "See https://blog.x.org/post. Also [here](https://blog.x.org/post) and \
                    <a href=\"http://y.com/a?b=1&amp;c=2\">y</a> (https://z.io/p).";
        assert_eq!(
            extract_links(body),
            [
                "https://blog.x.org/post",
                "http://y.com/a?b=1&c=2",
                "https://z.io/p"
            ]
        );
        assert!(extract_links("httpx http:// https").is_empty());
    }

    #[test]
    fn sentences_do_not_split_on_abbreviations_or_numbers() {
        assert_eq!(
            sentences("Use e.g. Adam with lr 1e-4. It works! Step 2. Done\n\nNew para"),
            [
                "Use e.g. Adam with lr 1e-4.",
                "It works!",
                "Step 2. Done",
                "New para"
            ]
        );
    }

    #[test]
    fn best_excerpt_starts_at_the_on_topic_sentence() {
        let text = "Deep nets are popular. Mixed precision overflows in fp16 loss scaling. \
                    We propose a fix. Unrelated closing remark that is long.";
        let keywords = vec!["fp16".to_string(), "overflow".to_string()];
        assert_eq!(
            excerpt_best(text, &keywords, 70),
            "Mixed precision overflows in fp16 loss scaling. We propose a fix."
        );
    }

    #[test]
    fn lead_excerpt_skips_greetings() {
        assert_eq!(
            excerpt_lead(
                "Hi! Thanks. Lowering the learning rate to 1e-4 fixed the NaN.",
                200
            ),
            "Lowering the learning rate to 1e-4 fixed the NaN."
        );
        assert_eq!(excerpt_lead("", 10), "");
    }

    #[test]
    fn truncation_cuts_at_words() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("one two three four five", 14), "one two three…");
        assert_eq!(truncate("ééééééééééé", 4), "ééé…");
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(contains_phrase("this fixed it", "fixed"));
        assert!(!contains_phrase("prefixed name", "fixed"));
        assert!(contains_phrase("prefixed, then fixed.", "fixed"));
        assert!(contains_phrase("works for me", "works for me"));
    }

    #[test]
    fn claims_are_labelled_as_quotes() {
        assert_eq!(
            quoted("Accepted answer", "Use \"bf16\"."),
            "Accepted answer (quoted): \"Use 'bf16'.\""
        );
    }
}
