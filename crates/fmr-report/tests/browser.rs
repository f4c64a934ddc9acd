//! Renders the example's HTML page in headless Chromium: the plots must be in
//! the rendered DOM, the console must stay free of errors, and screenshots at
//! laptop and phone widths are written for a person to look at.
//!
//! Skipped, with a message, where Chromium is not installed, unless
//! FMR_REQUIRE_CHROMIUM=1 (CI sets it after `apt-get install chromium`).
//! FMR_CHROMIUM names the binary; FMR_SCREENSHOT_DIR keeps the screenshots and
//! the page (otherwise they go to a temporary directory and are only checked).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::example_page;

const CANDIDATES: &[&str] = &["chromium", "chromium-browser", "google-chrome", "chrome"];
const TIMEOUT: Duration = Duration::from_secs(90);

fn chromium() -> Option<String> {
    if let Ok(binary) = std::env::var("FMR_CHROMIUM") {
        return Some(binary);
    }
    CANDIDATES
        .iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|name| name.to_string())
}

/// Runs Chromium headless on `page` with `extra` flags and a fresh profile;
/// returns (stdout, stderr).
fn run_chromium(binary: &str, page: &Path, profile: &Path, extra: &[String]) -> (String, String) {
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    // Read both pipes on threads so a full pipe cannot stall Chromium.
    let mut stdout_pipe = child.stdout.take().expect("piped");
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait on chromium").is_some() {
            break;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    )
}

/// What the page said on the console, from Chromium's log on stderr. The page
/// has no scripts, so any console line at all is a problem.
fn page_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE") || line.contains("Uncaught"))
        .collect()
}

#[test]
fn chromium_renders_the_plots_without_console_errors() {
    let Some(binary) = chromium() else {
        if std::env::var("FMR_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
            panic!(
                "FMR_REQUIRE_CHROMIUM=1 but no Chromium was found (tried FMR_CHROMIUM, {})",
                CANDIDATES.join(", ")
            );
        }
        eprintln!(
            "SKIPPED chromium_renders_the_plots_without_console_errors: no Chromium found (tried {}); install Debian's `chromium` package",
            CANDIDATES.join(", ")
        );
        return;
    };
    let (report, runs, html) = example_page();
    let work = tempfile::tempdir().expect("temporary directory");
    let page = work.path().join("report.html");
    std::fs::write(&page, &html).expect("write the page");
    let shots: PathBuf = std::env::var_os("FMR_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().to_path_buf());
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    // Kept beside the screenshots, for a person to open.
    std::fs::write(shots.join("report.html"), &html).expect("write the page copy");

    let (dom, log) = run_chromium(
        &binary,
        &page,
        &work.path().join("profile-dom"),
        &["--dump-dom".to_string()],
    );
    let rendered_plots = dom.matches("<svg class=\"plot\"").count();
    let series: usize = runs.iter().map(|r| r.series.len()).sum();
    assert_eq!(
        rendered_plots,
        series.min(6),
        "plots in the rendered DOM\n{log}"
    );
    assert!(
        dom.contains(&report.hypotheses[0].title),
        "the DOM holds the report"
    );
    let errors = page_errors(&log);
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // The console check can fail: a page with a script error trips it.
    let broken = work.path().join("broken.html");
    std::fs::write(
        &broken,
        "<!doctype html><p>x</p><script>undefinedFunction()</script>",
    )
    .expect("write the broken page");
    let (_, broken_log) = run_chromium(
        &binary,
        &broken,
        &work.path().join("profile-broken"),
        &["--dump-dom".to_string()],
    );
    assert!(
        !page_errors(&broken_log).is_empty(),
        "a script error went unnoticed; Chromium's log format may have changed:\n{broken_log}"
    );

    for (name, size) in [("laptop", "1366,3000"), ("phone", "390,5200")] {
        let shot = shots.join(format!("report-{name}.png"));
        let (_, log) = run_chromium(
            &binary,
            &page,
            &work.path().join(format!("profile-{name}")),
            &[
                format!("--window-size={size}"),
                format!("--screenshot={}", shot.display()),
            ],
        );
        let bytes = std::fs::metadata(&shot)
            .unwrap_or_else(|e| panic!("no {name} screenshot ({e})\n{log}"))
            .len();
        assert!(
            bytes > 20_000,
            "the {name} screenshot is nearly empty ({bytes} bytes)"
        );
        let errors = page_errors(&log);
        assert!(
            errors.is_empty(),
            "console errors at {name} size: {errors:#?}"
        );
    }
}
