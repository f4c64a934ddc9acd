//! The terminal documentation: `fmr man` writes a page per verb with its
//! options, and every verb's `--help` ends with examples.

use std::process::{Command, Output};

fn fmr(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fmr"))
        .args(args)
        .env("FMR_DATA_DIR", data)
        .output()
        .expect("fmr runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The verbs `fmr --help` lists, from its `Commands:` section.
fn verbs(data: &std::path::Path) -> Vec<String> {
    let help = stdout(&fmr(data, &["--help"]));
    let commands = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section");
    commands
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|verb| *verb != "help")
        .map(str::to_string)
        .collect()
}

/// The long options a verb's `--help` lists.
fn long_options(help: &str) -> Vec<String> {
    let mut options: Vec<String> = help
        .split_whitespace()
        .filter_map(|word| word.trim_end_matches([',', '.']).strip_prefix("--"))
        .map(|name| name.split(['=', '[', '<']).next().unwrap_or(name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .map(|name| format!("--{name}"))
        .collect();
    options.sort();
    options.dedup();
    options
}

#[test]
fn every_verb_has_examples_in_its_help_and_in_the_main_help() {
    let data = tempfile::tempdir().expect("tempdir");
    let verbs = verbs(data.path());
    assert!(verbs.len() >= 15, "{verbs:?}");
    let main_help = stdout(&fmr(data.path(), &["--help"]));
    for verb in &verbs {
        let help = stdout(&fmr(data.path(), &[verb, "--help"]));
        assert!(
            help.contains("\nExample"),
            "fmr {verb} --help has no examples:\n{help}"
        );
        assert!(
            help.lines().any(
                |l| l.trim_start().starts_with(&format!("fmr {verb}")) || l.contains("\"fmr\"")
            ),
            "fmr {verb} --help shows no fmr {verb} command line:\n{help}"
        );
        assert!(
            main_help.contains(&format!("\n  fmr {verb}")),
            "fmr --help has no example of {verb}"
        );
    }
}

#[test]
fn man_writes_a_page_per_verb_with_its_options_and_examples() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let pages = out.path().join("man1");
    let output = fmr(
        data.path(),
        &["man", "--out", pages.to_str().expect("utf-8")],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let main = std::fs::read_to_string(pages.join("fmr.1")).expect("fmr.1");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(main.contains(section), "fmr.1 lacks {section}");
    }
    assert!(main.contains("FMR_DATA_DIR"));

    for verb in verbs(data.path()) {
        let page = std::fs::read_to_string(pages.join(format!("fmr-{verb}.1")))
            .unwrap_or_else(|e| panic!("fmr-{verb}.1: {e}"));
        assert!(
            page.starts_with(".ie") || page.contains(".TH"),
            "fmr-{verb}.1 is not roff"
        );
        assert!(
            page.contains(&format!(".TH FMR-{}", verb.to_uppercase())),
            "fmr-{verb}.1 title"
        );
        assert!(
            page.contains(".SH EXAMPLES"),
            "fmr-{verb}.1 has no examples"
        );
        assert!(
            page.contains("\\fBfmr\\fR(1)"),
            "fmr-{verb}.1 refers back to fmr(1)"
        );
        assert!(
            main.contains(&format!("\\fBfmr\\-{verb}\\fR(1)")),
            "fmr.1 lists fmr-{verb}(1)"
        );
        let help = stdout(&fmr(data.path(), &[&verb, "--help"]));
        for option in long_options(&help) {
            let roff = option.replace('-', "\\-");
            assert!(page.contains(&roff), "fmr-{verb}.1 lacks {option}");
        }
    }
    // Verbs with their own subcommands get a page per subcommand too.
    assert!(pages.join("fmr-kb-show.1").is_file());
    assert!(pages.join("fmr-case-list.1").is_file());
}

#[test]
fn man_into_an_unwritable_place_fails_with_the_path() {
    let data = tempfile::tempdir().expect("tempdir");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let inside = file.path().join("man1");
    let output = fmr(
        data.path(),
        &["man", "--out", inside.to_str().expect("utf-8")],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&inside.display().to_string()), "{stderr}");
}
