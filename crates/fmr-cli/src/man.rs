//! `fmr man --out DIR`: manual pages for `fmr` and each of its verbs, made
//! from the same definitions as `--help` (clap_mangen), so the two never
//! disagree. Each page has NAME, SYNOPSIS, DESCRIPTION, OPTIONS, the verb's
//! EXAMPLES (its `--help` examples) and SEE ALSO; `fmr.1` adds EXIT STATUS,
//! ENVIRONMENT and FILES.
//!
//! ```text
//! fmr man --out ~/.local/share/man/man1 && man fmr-watch
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Command, CommandFactory};
use clap_mangen::Man;

use crate::cmd::Cli;

/// Writes `fmr.1`, one `fmr-<verb>.1` per verb and `fmr-<verb>-<sub>.1` for
/// the verbs that have their own subcommands (`fmr kb show`) into `out`,
/// creating it; returns the files written.
pub fn write_pages(out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create directory {}", out.display()))?;
    let mut root = Cli::command()
        .disable_help_subcommand(true)
        .about("investigate failing training runs")
        .long_about(DESCRIPTION);
    root.build();
    let mut written = Vec::new();
    write_tree(&root, true, out, &mut written)?;
    Ok(written)
}

fn write_tree(
    command: &Command,
    is_root: bool,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let page = render(command, is_root)?;
    let name = page_name(command);
    let path = out.join(format!("{name}.1"));
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub, false, out, written)?;
    }
    Ok(())
}

/// `fmr`, `fmr-watch`, `fmr-kb-show`: the command's name with its parents'.
fn page_name(command: &Command) -> String {
    command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_string()
}

fn render(command: &Command, is_root: bool) -> anyhow::Result<Vec<u8>> {
    let name = page_name(command);
    let man = Man::new(command.clone())
        .title(name.to_uppercase())
        .manual("fmr manual")
        .source(format!("fmr {}", env!("CARGO_PKG_VERSION")));
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        man.render_options_section(&mut page)?;
    }
    if command.has_subcommands() {
        man.render_subcommands_section(&mut page)?;
    }
    if let Some(after_help) = command.get_after_help() {
        page.write_all(examples_section(&after_help.to_string()).as_bytes())?;
    }
    if is_root {
        page.write_all(ROOT_SECTIONS.as_bytes())?;
    }
    page.write_all(see_also(command, is_root).as_bytes())?;
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// The EXAMPLES section, from a verb's `--help` examples: command lines
/// (indented by two spaces) verbatim, other lines as paragraphs.
fn examples_section(after_help: &str) -> String {
    let mut section = String::from(".SH EXAMPLES\n");
    let mut in_commands = false;
    for line in after_help.lines() {
        let heading = line.trim_end_matches(':');
        if matches!(heading, "Example" | "Examples") {
            continue;
        }
        if let Some(command) = line.strip_prefix("  ") {
            if !in_commands {
                section.push_str(".PP\n.RS 4\n.nf\n");
                in_commands = true;
            }
            section.push_str(&escape_line(command));
            section.push('\n');
            continue;
        }
        if in_commands {
            section.push_str(".fi\n.RE\n");
            in_commands = false;
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        // `Example (an MCP client configuration):` introduces its example.
        let text = match heading
            .strip_prefix("Example (")
            .or(heading.strip_prefix("Examples ("))
        {
            Some(inner) => capitalise(&format!("{}:", inner.trim_end_matches(')'))),
            None => text.to_string(),
        };
        section.push_str(".PP\n");
        section.push_str(&escape_line(&text));
        section.push('\n');
    }
    if in_commands {
        section.push_str(".fi\n.RE\n");
    }
    section
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One line of text as roff shows it literally: backslashes and hyphens
/// escaped, and a leading `.` or `'` kept from being read as a request.
fn escape_line(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn see_also(command: &Command, is_root: bool) -> String {
    let parent = (!is_root).then(|| "\\fBfmr\\fR(1)".to_string());
    let children = (command.get_subcommands())
        .filter(|s| !s.is_hide_set())
        .map(|s| format!("\\fB{}\\fR(1)", escape_line(&page_name(s))));
    let pages: Vec<String> = parent.into_iter().chain(children).collect();
    format!(".SH \"SEE ALSO\"\n{}\n", pages.join(", "))
}

/// The main page's DESCRIPTION: what fmr does, and where to read on.
const DESCRIPTION: &str = "fmr, the Failure Mode Researcher, investigates training runs that \
went wrong. It reads the run's logs (TensorBoard event files, CSV and JSON-lines metrics, \
Hugging Face trainer_state.json, W&B and MLflow runs, console output), its configuration and \
training code, and a sentence about the symptom. It finds the symptoms in the metrics, with \
their numbers and onset; searches its knowledge base of failure modes (and, with --online, \
live sources); audits the code for silent bugs; and answers with ranked, sourced hypotheses \
and a plan of experiments that tells them apart.

fmr investigate runs the whole investigation; fmr watch follows a live run and investigates \
on its own when a failure appears; fmr diff compares a run that behaved with one that failed; \
fmr case and fmr tried keep the history of an investigation. Each verb has its own page, \
listed under SEE ALSO.";

/// What only the main page says: exit codes, environment, files.
const ROOT_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
The investigation ran, but some input could not be read (each is named on standard error).
.TP
\fB2\fR
Bad usage, or nothing readable at all in the given paths.
.PP
\fBfmr kb check\fR exits 0 only when the knowledge base is valid.
.SH ENVIRONMENT
.TP
\fBFMR_DATA_DIR\fR
Where the database of cases and cached live-search responses lives. Without it, \fB$XDG_DATA_HOME/fmr\fR, else \fB~/.local/share/fmr\fR.
.TP
\fBNO_COLOR\fR
When set and not empty, \fB\-\-color auto\fR prints no colour.
.TP
\fBGITHUB_TOKEN\fR, \fBSTACKEXCHANGE_KEY\fR, \fBOPENALEX_API_KEY\fR, \fBFMR_MAILTO\fR
Credentials and contact address for \fB\-\-online\fR searches: higher rate limits, and OpenAlex's polite pool. They never appear in cache keys or reports.
.TP
\fBFMR_REPORT\fR, \fBFMR_ALERT\fR
Set by \fBfmr watch\fR for its \fB\-\-exec\fR command: the path of the alert's Markdown report, and the alert's one-line statement.
.SH FILES
.TP
\fI$FMR_DATA_DIR/fmr.sqlite3\fR
Past investigations (\fBfmr case\fR), attempts recorded with \fBfmr tried\fR, and the live-search cache (\fBfmr cache\fR).
.TP
\fILOGDIR/fmr\-alerts/\fR
Reports written by \fBfmr watch\fR when it alerts (unless \fB\-\-out\fR says otherwise).
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_keep_commands_verbatim_and_text_as_paragraphs() {
        let section = examples_section(
            "Examples:\n  fmr diff a b --code .\n\nWith --code, each run's commit comes from its metadata.",
        );
        assert_eq!(
            section,
            ".SH EXAMPLES\n.PP\n.RS 4\n.nf\nfmr diff a b \\-\\-code .\n.fi\n.RE\n.PP\nWith \\-\\-code, each run's commit comes from its metadata.\n"
        );
        let mcp = examples_section(
            "Example (an MCP client configuration):\n  {\"command\": \"fmr\", \"args\": [\"mcp\"]}",
        );
        assert!(mcp.starts_with(".SH EXAMPLES\n.PP\nAn MCP client configuration:\n"));
    }

    #[test]
    fn a_leading_dot_is_not_a_roff_request() {
        assert_eq!(escape_line(".hidden"), "\\&.hidden");
        assert_eq!(escape_line("a\\b"), "a\\eb");
    }
}
