//! Fuzzes the TensorBoard event-file reader (record framing, checksums,
//! resynchronisation, the Event/Summary/Tensor decoding) with arbitrary
//! bytes: `cargo +nightly fuzz run event_file` from `crates/fmr-ingest`.
//! Seed it with event files: copy some into `fuzz/corpus/event_file/`.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = fmr_ingest::SOURCES
        .iter()
        .find(|s| s.name() == "tfevents")
        .expect("the tfevents source is registered");
    let mut run = fmr_core::Run::default();
    if let Ok(outcome) = source.read(Path::new("events.out.tfevents.fuzz"), data, &mut run) {
        // Whatever was read is well-formed: every point belongs to a named series.
        assert!(run.series.iter().all(|s| !s.points.is_empty()));
        assert!(outcome.problems.iter().all(|p| !p.is_empty()));
    }
});
