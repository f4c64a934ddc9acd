//! The MCP server alone, for this crate's client tests (the `fmr mcp` verb of
//! fmr-cli serves the same thing).

fn main() -> std::process::ExitCode {
    match fmr_mcp::serve_stdio() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fmr-mcp: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
