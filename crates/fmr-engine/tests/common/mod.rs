//! Shared by the phrasing batteries: how a battery's result is reported.

/// Prints how many lines of a battery pass and fails with every misread line listed,
/// so one run shows all of them rather than the first.
pub fn assert_battery(name: &str, total: usize, failures: &[String]) {
    println!("{name}: {}/{total} pass", total - failures.len());
    assert!(
        failures.is_empty(),
        "{} of {total} phrasings misread:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
