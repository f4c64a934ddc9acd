/// The four code auditors of fmr's design. Each audit rule belongs to one of them, and the engine
/// delegates a hypothesis to an auditor by this name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Auditor {
    /// Bugs that raise no error and quietly degrade training (missing `zero_grad`, softmax before
    /// cross-entropy, fp16 without loss scaling, ...).
    SilentBugDetector,
    /// How data reaches the model: loaders, samplers, shuffling, splits.
    DataFlowTracer,
    /// Functional-purity mistakes specific to JAX: PRNG keys, tracing, transformations.
    JaxLogicAuditor,
    /// Differences between the code and the method it claims to implement.
    PaperAlignmentAuditor,
}

impl Auditor {
    pub const ALL: &'static [Auditor] = &[
        Self::SilentBugDetector,
        Self::DataFlowTracer,
        Self::JaxLogicAuditor,
        Self::PaperAlignmentAuditor,
    ];

    /// The snake_case name used in `AuditFinding::auditor` and `Delegation::auditor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SilentBugDetector => "silent_bug_detector",
            Self::DataFlowTracer => "data_flow_tracer",
            Self::JaxLogicAuditor => "jax_logic_auditor",
            Self::PaperAlignmentAuditor => "paper_alignment_auditor",
        }
    }

    /// The inverse of [`Auditor::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|auditor| auditor.as_str() == name)
    }
}

impl std::fmt::Display for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
