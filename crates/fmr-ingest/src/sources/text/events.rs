//! Console lines that matter on their own: out-of-memory, NaN/Inf messages,
//! distributed failures, tracebacks, errors and warnings.

use std::sync::LazyLock;

use fmr_core::TextEventKind;
use regex::{Regex, RegexSet};

pub(crate) const TRACEBACK_HEADER: &str = "Traceback (most recent call last):";

// Indexes into PATTERNS.
const OUT_OF_MEMORY: usize = 0;
const NON_FINITE: usize = 1;
const DISTRIBUTED_SUBJECT: usize = 2;
const DISTRIBUTED_TROUBLE: usize = 3;
const DISTRIBUTED_ERROR_TYPE: usize = 4;
const ERROR: usize = 5;
const WARNING: usize = 6;

/// One pass of a `RegexSet` per line tells which families match.
static PATTERNS: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        // OUT_OF_MEMORY: PyTorch, XLA/TF, cuBLAS, the host allocator, the OOM killer.
        r"(?i)out of memory|outofmemoryerror|resource_exhausted|cublas_status_alloc_failed|\bmemoryerror\b|cannot allocate memory|\boom[-_ ]?kill|\bbad_alloc\b|\boom\b",
        // NON_FINITE: "NaN detected", "loss is nan", anomaly mode, AMP/DeepSpeed overflow, Keras TerminateOnNaN.
        r"(?i)\b(?:nan|inf|infinity)s?\b[^.]{0,40}?\b(?:detected|encountered|found|appeared|occurred|values?)\b|\b(?:detected|encountered|found|got|returned|produced|contains?)\b[^.]{0,40}?\b(?:nan|inf|infinity)s?\b|\bloss\s*[=:]\s*-?(?:nan|inf)\b|\b(?:is|are|was|were|became|become|went|turned|got)\s+-?(?:nan|inf|infinity)\b|\bnon-?finite\b|floatingpointerror|gradient overflow|\boverflow\b[^.]{0,40}?skipping|skipping step[^.]{0,60}?(?:overflow|nan|inf)\b|\binvalid loss\b",
        // DISTRIBUTED_SUBJECT: the communication stack is mentioned...
        r"(?i)\bnccl|\bgloo\b|\bc10d\b|processgroup|torch\.distributed|torchrun|torchelastic|\belastic\b|\bxla\b|\btpu\b|rendezvous|\bcollective|watchdog|\bmpi\b|horovod|deepspeed\.comm|\ball_?reduce|\ball_?gather|\breduce_?scatter|\bbarrier\b|\bheartbeat",
        // DISTRIBUTED_TROUBLE: ...together with a failure word (NCCL INFO lines are not events).
        r"(?i)\berror|\bfail|time[ds]?\s?out|timed out|\babort|exception|\bhang|\bunhandled|\bwarn(?:ing)?\b|\bdesync|\bterminat|\bcrash|connection (?:reset|refused|closed)|broken pipe|\bstuck\b",
        // DISTRIBUTED_ERROR_TYPE: exception types that are distributed failures by name.
        r"DistBackendError|DistNetworkError|DistStoreError|ChildFailedError|RendezvousTimeoutError|nccl\w*Error",
        // ERROR: log levels, exception lines, glog E-lines, crashes.
        r"\b(?:ERROR|CRITICAL|FATAL)\b|^\s*(?i:error|fatal)\b|\b(?:[A-Za-z_][\w.]*)?(?:Error|Exception):\s|^E\d{4} \d\d:\d\d|Segmentation fault|core dumped|^Killed\s*$",
        // WARNING: log levels, Python warning categories, glog W-lines.
        r"\b(?:WARNING|WARN)\b|^\s*(?i:warning)\b|\b[A-Za-z_]\w*Warning:\s|^W\d{4} \d\d:\d\d",
    ])
    .expect("valid patterns")
});

/// The kind of event a line is, if it is one. The first family that matches
/// wins, most specific first: an `ERROR ... CUDA out of memory` line is an
/// out-of-memory event.
pub(crate) fn classify(line: &str) -> Option<TextEventKind> {
    let matches = PATTERNS.matches(line);
    if !matches.matched_any() {
        return None;
    }
    let has = |index| matches.matched(index);
    if has(OUT_OF_MEMORY) {
        Some(TextEventKind::OutOfMemory)
    } else if has(NON_FINITE) {
        Some(TextEventKind::NonFinite)
    } else if has(DISTRIBUTED_ERROR_TYPE) || (has(DISTRIBUTED_SUBJECT) && has(DISTRIBUTED_TROUBLE))
    {
        Some(TextEventKind::Distributed)
    } else if has(ERROR) {
        Some(TextEventKind::Error)
    } else if has(WARNING) {
        Some(TextEventKind::Warning)
    } else {
        None
    }
}

/// The kind of event a block of text is (a text summary, a W&B console
/// chunk): the most serious kind any of its lines has, and `traceback` for a
/// traceback whose lines say nothing more specific.
pub(crate) fn classify_text(text: &str) -> Option<TextEventKind> {
    use TextEventKind::*;
    let rank = |kind: TextEventKind| match kind {
        OutOfMemory => 6,
        NonFinite => 5,
        Distributed => 4,
        Traceback => 3,
        Error => 2,
        Warning => 1,
        Note => 0,
    };
    let mut found = text.contains(TRACEBACK_HEADER).then_some(Traceback);
    for line in text.lines() {
        if let Some(kind) = classify(line)
            && found.is_none_or(|known| rank(kind) > rank(known))
        {
            found = Some(kind);
        }
    }
    found
}

/// The line that ends a traceback: `RuntimeError: ...`, `torch.OutOfMemoryError: ...`,
/// `KeyboardInterrupt`.
pub(crate) fn is_exception_line(line: &str) -> bool {
    static EXCEPTION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z_][\w.]*(?::|\s*$)").expect("valid regex"));
    EXCEPTION.is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TextEventKind::*;

    #[test]
    fn classifies_by_the_most_specific_family() {
        let cases = [
            (
                "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
                Some(OutOfMemory),
            ),
            (
                "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1.2G",
                Some(OutOfMemory),
            ),
            ("ERROR: Loss is NaN, stopping training", Some(NonFinite)),
            (
                "Function 'MulBackward0' returned nan values in its 0th output.",
                Some(NonFinite),
            ),
            (
                "Gradient overflow.  Skipping step, loss scaler 0 reducing loss scale to 32768.0",
                Some(NonFinite),
            ),
            (
                "[deepspeed] OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 65536",
                Some(NonFinite),
            ),
            (
                "RuntimeError: Detected NaN in the gradients",
                Some(NonFinite),
            ),
            (
                "[E ProcessGroupNCCL.cpp:475] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=1)",
                Some(Distributed),
            ),
            (
                "torch.distributed.DistBackendError: NCCL error in: ../nccl.cpp:1275",
                Some(Distributed),
            ),
            (
                "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:",
                Some(Distributed),
            ),
            ("vm:123:456 [0] NCCL INFO Channel 00/02 :    0   1", None),
            (
                "vm:123:456 [0] NCCL WARN Net : Connection closed by remote peer",
                Some(Distributed),
            ),
            (
                "2024-01-01 12:00:00 ERROR root: could not open file",
                Some(Error),
            ),
            ("ValueError: expected 3 channels", Some(Error)),
            ("Segmentation fault (core dumped)", Some(Error)),
            (
                "/x/y.py:12: UserWarning: The given NumPy array is not writable",
                Some(Warning),
            ),
            ("WARNING:root:skipping batch", Some(Warning)),
            (
                "W0101 12:00:00.123 xla_bridge.py] no GPU found",
                Some(Warning),
            ),
            ("WARNING: gradient norm is inf at step 300", Some(NonFinite)),
            ("INFO: starting epoch 3, information and inference", None),
            ("loss went down nicely", None),
        ];
        for (line, expected) in cases {
            assert_eq!(classify(line), expected, "{line}");
        }
    }

    #[test]
    fn blocks_take_their_most_serious_line() {
        let traceback = "Traceback (most recent call last):\n  File \"t.py\", line 1\nRuntimeError: CUDA out of memory.";
        assert_eq!(classify_text(traceback), Some(OutOfMemory));
        assert_eq!(
            classify_text(
                "Traceback (most recent call last):\n  File \"t.py\", line 1\nKeyboardInterrupt"
            ),
            Some(Traceback)
        );
        assert_eq!(classify_text("WARNING: slow\nERROR: broken"), Some(Error));
        assert_eq!(classify_text("lr: 3e-4\nbatch_size: 32"), None);
    }

    #[test]
    fn recognises_exception_lines() {
        assert!(is_exception_line(
            "RuntimeError: CUDA error: an illegal memory access"
        ));
        assert!(is_exception_line(
            "torch.OutOfMemoryError: CUDA out of memory."
        ));
        assert!(is_exception_line("KeyboardInterrupt"));
        assert!(!is_exception_line(
            "  File \"train.py\", line 3, in <module>"
        ));
        assert!(!is_exception_line(
            "During handling of the above exception, another exception occurred"
        ));
    }
}
