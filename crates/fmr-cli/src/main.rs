//! `fmr`: a thin binary over the library crates. Parsing arguments, choosing
//! outputs and exit codes happens here; everything else lives in the crates.
//!
//! Exit codes: 0 success; 1 the investigation ran but some input was unreadable
//! (said on stderr); 2 bad usage, or nothing readable at all.

mod cmd;
mod man;
mod output;
mod watch;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cmd::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match cmd::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("fmr: {err:#}");
            ExitCode::from(2)
        }
    }
}
