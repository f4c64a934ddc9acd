//! Rendering: the same [`Report`] as terminal text, Markdown, JSON (the stable
//! contract, see [`json_schema`]) or a self-contained HTML page.

mod html;
mod markdown;
mod plot;
mod text;

use fmr_core::Report;

pub use html::{render_html, render_html_with_runs};
pub use markdown::render_markdown;
pub use text::{TextStyle, render_text, render_text_styled};

/// Output formats of `fmr investigate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Html,
}

impl Format {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "text" => Some(Self::Text),
            "md" | "markdown" => Some(Self::Markdown),
            "json" => Some(Self::Json),
            "html" => Some(Self::Html),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Text => "txt",
            Self::Markdown => "md",
            Self::Json => "json",
            Self::Html => "html",
        }
    }
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => render_text(report),
        Format::Markdown => render_markdown(report),
        Format::Json => render_json(report),
        Format::Html => render_html(report),
    }
}

/// One JSON object, pretty-printed, with a trailing newline.
pub fn render_json(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The JSON Schema of [`Report`], versioned with `schema_version`.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            format!(
                "https://fmr.dev/schema/report-{}.json",
                fmr_core::REPORT_SCHEMA_VERSION
            )
            .into(),
        );
        obj.insert(
            "x-schema-version".into(),
            fmr_core::REPORT_SCHEMA_VERSION.into(),
        );
    }
    schema
}

/// Shared wording helpers.
pub(crate) fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

pub(crate) fn effort(e: fmr_core::Effort) -> &'static str {
    match e {
        fmr_core::Effort::Low => "low effort",
        fmr_core::Effort::Medium => "medium effort",
        fmr_core::Effort::High => "high effort",
    }
}

pub(crate) fn status(h: &fmr_core::Hypothesis) -> &'static str {
    match h.status {
        fmr_core::HypothesisStatus::Active => "",
        fmr_core::HypothesisStatus::Lowered => " (lowered)",
        fmr_core::HypothesisStatus::Eliminated => " (eliminated)",
    }
}

pub(crate) fn environment_line(report: &Report) -> String {
    let env = &report.characterization.environment;
    let mut parts: Vec<String> = [
        &env.framework,
        &env.model,
        &env.precision,
        &env.distributed,
        &env.hardware,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    for (k, v) in env.hyperparameters.iter().take(12) {
        parts.push(format!(
            "{k}={}",
            v.as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string())
        ));
    }
    if parts.is_empty() {
        "unknown".to_string()
    } else {
        parts.join(" · ")
    }
}

pub(crate) fn levels(h: &fmr_core::Hypothesis) -> String {
    h.levels
        .iter()
        .map(|l| format!("L{l}"))
        .collect::<Vec<_>>()
        .join(",")
}
