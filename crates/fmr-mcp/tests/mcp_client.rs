//! Drives the server with the official Python MCP SDK (tests/mcp_client.py), a
//! client written by others, over real stdio.
//!
//! Skipped, with a message, where python3 or its `mcp` package is missing,
//! unless FMR_REQUIRE_MCP_CLIENT=1 (CI sets it after `pip install mcp`).

use std::path::Path;
use std::process::Command;

fn python() -> String {
    std::env::var("FMR_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Why the client cannot run here, if it cannot.
fn client_unavailable(python: &str) -> Option<String> {
    match Command::new(python)
        .args(["-c", "import mcp.client.stdio"])
        .output()
    {
        Err(error) => Some(format!("{python} cannot be started: {error}")),
        Ok(output) if !output.status.success() => Some(format!(
            "the Python package `mcp` is not importable by {python} ({}); install it with `pip install mcp`",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
        )),
        Ok(_) => None,
    }
}

#[test]
fn official_python_client_drives_the_server() {
    let python = python();
    if let Some(reason) = client_unavailable(&python) {
        if std::env::var("FMR_REQUIRE_MCP_CLIENT").is_ok_and(|v| v == "1") {
            panic!("FMR_REQUIRE_MCP_CLIENT=1 but {reason}");
        }
        eprintln!("SKIPPED official_python_client_drives_the_server: {reason}");
        return;
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo_root = crate_dir.join("../..");
    let output = Command::new(&python)
        .arg(crate_dir.join("tests/mcp_client.py"))
        .arg(env!("CARGO_BIN_EXE_fmr-mcp-test-server"))
        .arg(&repo_root)
        .output()
        .expect("python3 started a moment ago");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the MCP client checks failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("MCP client checks passed"),
        "the client did not finish:\n{stdout}"
    );
}
