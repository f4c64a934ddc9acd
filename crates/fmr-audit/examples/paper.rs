//! Compares a paper's hyperparameters with a project and prints the alignment:
//! `cargo run -p fmr-audit --example paper -- paper.toml path/to/project` (the spec may be TOML,
//! YAML or a pasted table in any other file; `--json` prints the alignment as JSON).

use std::path::PathBuf;

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let json = arguments.iter().any(|argument| argument == "--json");
    let paths: Vec<&String> = arguments
        .iter()
        .filter(|argument| *argument != "--json")
        .collect();
    let [spec, root] = paths.as_slice() else {
        eprintln!("usage: paper [--json] <spec.toml|spec.yaml|table.txt> <file-or-directory>");
        std::process::exit(2);
    };
    let spec = match fmr_audit::paper::PaperSpec::from_path(&PathBuf::from(spec)) {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    let alignment = fmr_audit::paper::align(&spec, &PathBuf::from(root));
    if json {
        match serde_json::to_string_pretty(&alignment) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("could not write JSON: {error}"),
        }
    } else {
        print!("{}", alignment.to_text());
    }
}
