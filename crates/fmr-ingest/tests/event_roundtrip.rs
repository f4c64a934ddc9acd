//! Property tests of the event-file reader: files written by the test
//! writer (`support/event_writer.rs`, prost-encoded) read back exactly, and
//! cut or damaged copies read back a subsequence of their records, never
//! anything made up, and never a panic.

#[path = "support/event_writer.rs"]
mod event_writer;

use std::path::Path;

use fmr_core::Run;
use fmr_ingest::{SOURCES, Source};
use proptest::prelude::*;

use event_writer::EventFile;

fn tfevents() -> &'static dyn Source {
    *SOURCES
        .iter()
        .find(|s| s.name() == "tfevents")
        .expect("the tfevents source is registered")
}

/// (tag index, step, wall time, value) of one scalar event.
type Scalar = (usize, i64, f64, f32);

const TAGS: [&str; 4] = ["loss", "train/lr", "eval/perplexité", "grad_norm"];

fn scalar() -> impl Strategy<Value = Scalar> {
    let value = prop_oneof![
        any::<f32>(),
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(0.0),
    ];
    (0..TAGS.len(), any::<i64>(), 0.0..2e9_f64, value)
}

fn write(scalars: &[Scalar]) -> EventFile {
    let mut file = EventFile::default();
    file.file_version(1.0);
    for &(tag, step, wall, value) in scalars {
        file.scalar(wall, step, TAGS[tag], value);
    }
    file
}

fn read(bytes: &[u8]) -> (Run, Result<Vec<String>, String>) {
    let mut run = Run::default();
    let result = tfevents()
        .read(Path::new("events.out.tfevents.0.test"), bytes, &mut run)
        .map(|outcome| outcome.problems);
    (run, result)
}

/// The points of `run` as scalars, per tag, in file order.
fn points_by_tag(run: &Run) -> Vec<Vec<(i64, u64, u64)>> {
    TAGS.iter()
        .map(|tag| {
            run.series(tag)
                .map(|s| {
                    s.points
                        .iter()
                        .map(|p| {
                            (
                                p.step,
                                p.wall_time.unwrap_or(f64::NAN).to_bits(),
                                p.value.to_bits(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn expected_by_tag(scalars: &[Scalar]) -> Vec<Vec<(i64, u64, u64)>> {
    let mut by_tag = vec![Vec::new(); TAGS.len()];
    for &(tag, step, wall, value) in scalars {
        by_tag[tag].push((step, wall.to_bits(), f64::from(value).to_bits()));
    }
    by_tag
}

/// `part` is `whole` with some elements left out.
fn is_subsequence<T: PartialEq>(part: &[T], whole: &[T]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn written_events_read_back_exactly(scalars in prop::collection::vec(scalar(), 0..200)) {
        let file = write(&scalars);
        let (run, problems) = read(&file.bytes);
        prop_assert_eq!(problems, Ok(Vec::new()));
        prop_assert_eq!(points_by_tag(&run), expected_by_tag(&scalars));
    }

    #[test]
    fn a_cut_file_reads_the_records_before_the_cut(
        scalars in prop::collection::vec(scalar(), 1..60),
        cut in any::<prop::sample::Index>(),
    ) {
        let file = write(&scalars);
        let cut = cut.index(file.bytes.len());
        let (run, result) = read(&file.bytes[..cut]);
        // Records wholly before the cut (the first is the file version).
        let whole = file.offsets.iter().skip(1).zip(file.offsets.iter().skip(2).chain([&file.bytes.len()]))
            .take_while(|(_, end)| **end <= cut)
            .count();
        match result {
            Ok(problems) => {
                prop_assert_eq!(points_by_tag(&run), expected_by_tag(&scalars[..whole]));
                let at_boundary = cut == file.bytes.len() || file.offsets.contains(&cut);
                prop_assert_eq!(problems.is_empty(), at_boundary, "{:?}", problems);
            }
            Err(reason) => prop_assert!(cut < file.offsets.get(1).copied().unwrap_or(usize::MAX), "{}", reason),
        }
    }

    #[test]
    fn damaged_files_never_invent_points(
        scalars in prop::collection::vec(scalar(), 1..60),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255_u8), 1..6),
    ) {
        let file = write(&scalars);
        let mut bytes = file.bytes.clone();
        for (at, mask) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        let (run, _) = read(&bytes);
        let got = points_by_tag(&run);
        let expected = expected_by_tag(&scalars);
        for (got, expected) in got.iter().zip(&expected) {
            prop_assert!(is_subsequence(got, expected));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = read(&bytes);
    }
}
