use fmr_core::AuditFinding;

use crate::{Auditor, Context};

/// One static check over a Python file.
///
/// A rule is a unit struct in its own file under `rules/`, whose doc comment is its user
/// documentation (`## What it does`, `## Why is this bad?`, `## Example`, `Use instead:`,
/// `## References`), registered once in [`crate::RULES`]. Rules favour precision: when the code
/// does not show a bug beyond reasonable doubt, they stay silent.
pub trait AuditRule: Sync {
    /// Stable code, e.g. `PT001`; never reused for another check.
    fn code(&self) -> &'static str;
    /// Kebab-case name, e.g. `missing-zero-grad`.
    fn name(&self) -> &'static str;
    /// The auditor that runs this rule.
    fn auditor(&self) -> Auditor;
    /// Every violation in `file`, in any order. The [`Context`] is shared by all rules run on
    /// the file, so what one rule computes through it (imports, gradient events, ...) the others
    /// get for free.
    fn check(&self, file: &Context<'_>) -> Vec<AuditFinding>;
}
