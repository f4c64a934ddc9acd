//! One connector per file. Each file's module documentation is the
//! connector's reference, under fixed headings (checked by a test below).

pub mod arxiv;
pub mod github;
pub mod openalex;
pub mod page;
pub mod stackexchange;

#[cfg(test)]
mod tests {
    /// Every connector documents the same four things, in this order.
    const HEADINGS: &[&str] = &[
        "## API",
        "## Rate limit",
        "## What becomes the claim",
        "## Failure modes",
    ];

    #[test]
    fn every_connector_doc_has_the_fixed_headings() {
        let files = [
            ("arxiv.rs", include_str!("arxiv.rs")),
            ("github.rs", include_str!("github.rs")),
            ("openalex.rs", include_str!("openalex.rs")),
            ("page.rs", include_str!("page.rs")),
            ("stackexchange.rs", include_str!("stackexchange.rs")),
        ];
        for (name, source) in files {
            let doc: Vec<&str> = source
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .map(|l| l.trim_start_matches("//!").trim())
                .collect();
            let found: Vec<&str> = doc
                .iter()
                .copied()
                .filter(|l| l.starts_with("## "))
                .collect();
            assert_eq!(
                found, HEADINGS,
                "{name}: module docs need exactly these headings"
            );
            assert!(
                !doc.first().is_some_and(|l| l.is_empty()),
                "{name}: doc starts with a summary line"
            );
        }
    }
}
