//! Traces one name through a Python project and prints the steps:
//! `cargo run -p fmr-audit --example trace -- path/to/project y_train train.py:30`
//! (add `--json` for the JSON form).

use std::path::PathBuf;

use fmr_audit::trace::{TraceQuery, trace};

fn main() {
    let mut arguments: Vec<String> = std::env::args().skip(1).collect();
    let json = arguments.iter().any(|argument| argument == "--json");
    arguments.retain(|argument| argument != "--json");
    let (Some(path), Some(name)) = (arguments.first(), arguments.get(1)) else {
        eprintln!("usage: trace <file-or-directory> <name> [location] [--json]");
        std::process::exit(2);
    };
    let mut query = TraceQuery::new(name.clone());
    if let Some(location) = arguments.get(2) {
        query = query.at(location.clone());
    }
    match trace(&PathBuf::from(path), &query) {
        Ok(found) if json => match serde_json::to_string_pretty(&found) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("could not write JSON: {error}");
                std::process::exit(1);
            }
        },
        Ok(found) => print!("{}", found.render_text()),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    }
}
