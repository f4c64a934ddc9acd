//! Audits a file or directory of Python training code and prints the findings, then the code
//! index: `cargo run -p fmr-audit --example audit -- path/to/project`.

use std::path::PathBuf;

fn main() {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: audit <file-or-directory>");
        std::process::exit(2);
    };
    let report = fmr_audit::audit_path(&path, fmr_audit::RULES);
    for finding in &report.findings {
        println!(
            "{}:{}:{}: {} {}",
            finding.file, finding.line, finding.column, finding.rule, finding.message
        );
        println!("    {}", finding.snippet);
    }
    for problem in &report.problems {
        eprintln!("skipped {problem}");
    }
    let index = fmr_audit::locate(&path);
    println!(
        "{} files, {} findings",
        report.files_scanned,
        report.findings.len()
    );
    println!("training loops: {:?}", index.training_loops);
    println!("loss calls:     {:?}", index.loss_calls);
    println!("data loaders:   {:?}", index.data_loaders);
    println!("optimizers:     {:?}", index.optimizers);
}
