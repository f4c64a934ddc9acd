//! An event file read while it is still being written, a poll at a time
//! (for [`crate::follow`]).
//!
//! The state of a full read ([`FileReading`]: the kind of every tag, the
//! series, the step-back count) is kept between polls, and each poll feeds it
//! the records written since the last one, from the byte after the last
//! complete record. A record the writer has only half written is left for the
//! next poll rather than reported as damage. The reading after any poll is
//! the one a full read of the bytes so far would give, minus that last
//! unfinished record.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use fmr_core::{Point, Run};

use super::record::{Damage, RecordReader};
use super::{FileReading, damage_problems, no_intact_record};

/// A growing event file: the reading so far and where the next record starts.
pub(crate) struct LiveEvents {
    reading: FileReading,
    /// Byte offset just past the last complete record read.
    offset: u64,
    /// Intact records read so far; the next one is number `records + 1`, as
    /// in a full read (text events are numbered by record).
    records: usize,
    /// Damage found so far, over the whole file.
    damage: Damage,
    /// Where the last read stopped at a record cut off by the end of the
    /// written bytes.
    cut_at: Option<u64>,
    /// What [`LiveEvents::take_appended`] or a snapshot has handed out: the
    /// points of each series, the events, the config and the step-back count.
    handed_points: Vec<usize>,
    handed_events: usize,
    handed_config: BTreeMap<String, serde_json::Value>,
    handed_step_backs: usize,
}

/// What one call of [`LiveEvents::read_more`] found.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Intact records read.
    pub(crate) records: usize,
    /// Bytes consumed (the records and any damage between them).
    pub(crate) bytes: u64,
    /// Damage met in these bytes, worded as a full read words it.
    pub(crate) problems: Vec<String>,
}

impl LiveEvents {
    pub(crate) fn new(path: &std::path::Path) -> Self {
        Self {
            reading: FileReading::new(path),
            offset: 0,
            records: 0,
            damage: Damage::default(),
            cut_at: None,
            handed_points: Vec::new(),
            handed_events: 0,
            handed_config: BTreeMap::new(),
            handed_step_backs: 0,
        }
    }

    /// The series read so far, in the order a full read gives them (some
    /// may have no point yet).
    pub(crate) fn series(&self) -> &[fmr_core::Series] {
        &self.reading.series
    }

    /// Byte offset where the next record starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the records that are complete within the first `size` bytes of
    /// `file`, from where the last call stopped.
    ///
    /// A record cut off by the end of the written bytes is left for the next
    /// call. So are damaged bytes that run to the end: they may hide the start
    /// of a record still being written, and are read again (and counted once)
    /// when a complete record follows them. A complete record whose checksum
    /// fails is skipped and counted, as a full read does.
    pub(crate) fn read_more<F: Read + Seek>(&mut self, file: &mut F, size: u64) -> Progress {
        let mut progress = Progress::default();
        if size <= self.offset {
            return progress;
        }
        if let Err(error) = file.seek(SeekFrom::Start(self.offset)) {
            progress.problems.push(format!("cannot read: {error}"));
            return progress;
        }
        let start = self.offset;
        let input = file.take(size - start);
        let mut reader = RecordReader::starting_at(input, start, u64::MAX, size);
        // Where the last intact record ended, and the damage met until then.
        let mut good_end = start;
        let mut damage_before_good_end = Damage::default();
        let mut io_error = None;
        loop {
            match reader.next_record() {
                Ok(Some(record)) => {
                    self.reading
                        .add_record(self.records + record.number, record.payload);
                }
                Ok(None) => break,
                Err(error) => {
                    io_error = Some(error);
                    break;
                }
            }
            good_end = reader.offset();
            if reader.damage() != &damage_before_good_end {
                damage_before_good_end = reader.damage().clone();
            }
        }
        let records = reader.records_read();
        let damage_at_end = reader.damage().clone();
        let (stop, mut damage) = if damage_at_end.truncated_at.is_some() {
            // A record cut off by the end: start there next time.
            (reader.offset(), damage_at_end)
        } else if damage_at_end.resyncs > damage_before_good_end.resyncs || io_error.is_some() {
            // Damage after the last intact record, running to the end.
            (good_end, damage_before_good_end)
        } else {
            (reader.offset(), damage_at_end)
        };
        self.cut_at = damage.truncated_at.take();
        progress.problems = damage_problems(&damage, self.records + records);
        if let Some(error) = io_error {
            progress
                .problems
                .push(format!("cannot read past byte {good_end}: {error}"));
        }
        add_damage(&mut self.damage, &damage);
        self.records += records;
        progress.records = records;
        progress.bytes = stop - start;
        self.offset = stop;
        progress
    }

    /// The file's reading so far, as a full read of it would put it in a
    /// fresh run, with the problems of the whole file; `Err` when no record
    /// is complete yet (as a full read says). Marks everything handed out.
    pub(crate) fn snapshot(&mut self) -> Result<(Run, Vec<String>), String> {
        self.handed_points = self.reading.series.iter().map(|s| s.points.len()).collect();
        self.handed_events = self.reading.events.len();
        self.handed_config.clone_from(&self.reading.config);
        self.handed_step_backs = self.reading.step_backs;
        if self.records == 0 {
            let damage = Damage {
                truncated_at: self.cut_at,
                ..self.damage.clone()
            };
            return Err(no_intact_record(&damage));
        }
        let (closing, step_back_note) = self.reading.closing_notes();
        let mut problems = damage_problems(&self.damage, self.records);
        problems.extend(closing);
        let mut run = Run {
            series: (self.reading.series.iter())
                .filter(|s| !s.points.is_empty())
                .cloned()
                .collect(),
            events: self.reading.events.clone(),
            config: self.reading.config.clone(),
            ..Run::default()
        };
        run.events.extend(step_back_note);
        Ok((run, problems))
    }

    /// The points read since the last hand-out, by tag, when they only extend
    /// series already handed out; `None` when the reading changed shape (a
    /// new series, an event, a config value, a step going back), so that the
    /// caller takes a [`LiveEvents::snapshot`] instead.
    pub(crate) fn take_appended(&mut self) -> Option<Vec<(String, Vec<Point>)>> {
        let series = &self.reading.series;
        let reshaped = self.records == 0
            || series.len() != self.handed_points.len()
            || (series.iter().zip(&self.handed_points))
                .any(|(s, &n)| n == 0 && !s.points.is_empty())
            || self.reading.events.len() != self.handed_events
            || self.reading.step_backs != self.handed_step_backs
            || self.reading.config != self.handed_config;
        if reshaped {
            return None;
        }
        let mut appended = Vec::new();
        for (series, handed) in series.iter().zip(&mut self.handed_points) {
            if series.points.len() > *handed {
                appended.push((series.tag.clone(), series.points[*handed..].to_vec()));
                *handed = series.points.len();
            }
        }
        Some(appended)
    }
}

/// Adds the damage of one stretch of the file to the total.
fn add_damage(total: &mut Damage, more: &Damage) {
    total.bad_payloads += more.bad_payloads;
    total.resyncs += more.resyncs;
    total.bytes_skipped += more.bytes_skipped;
    total.first_bad_payload_at = total.first_bad_payload_at.or(more.first_bad_payload_at);
    total.first_resync_at = total.first_resync_at.or(more.first_resync_at);
}

// The tests' event writer, also included (privately) by `tests.rs` beside this file.
#[cfg(test)]
#[allow(clippy::duplicate_mod)]
#[path = "../../../tests/support/event_writer.rs"]
mod event_writer;

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use super::event_writer;
    use super::*;
    use crate::Source;
    use crate::sources::tfevents::TfEvents;

    fn file_of(steps: std::ops::Range<i64>) -> event_writer::EventFile {
        let mut file = event_writer::EventFile::default();
        file.file_version(1.0);
        for step in steps {
            file.scalar(10.0 + step as f64, step, "loss", 1.0 / (step + 1) as f32);
            if step % 7 == 3 {
                file.text(10.0 + step as f64, step, "notes", "CUDA out of memory");
            }
        }
        file
    }

    fn full_read(bytes: &[u8]) -> (Run, Vec<String>) {
        let mut run = Run::default();
        let outcome = TfEvents
            .read(Path::new("events.out.tfevents.1"), bytes, &mut run)
            .expect("readable");
        (run, outcome.problems)
    }

    /// Feeds `bytes` a prefix at a time, cut at every `cuts` offset.
    fn live_read(bytes: &[u8], cuts: &[usize]) -> (LiveEvents, Vec<String>) {
        let mut live = LiveEvents::new(Path::new("events.out.tfevents.1"));
        let mut cursor = Cursor::new(bytes.to_vec());
        let mut problems = Vec::new();
        for &cut in cuts.iter().chain([&bytes.len()]) {
            let progress = live.read_more(&mut cursor, cut as u64);
            assert!(progress.bytes <= cut as u64);
            problems.extend(progress.problems);
        }
        (live, problems)
    }

    #[test]
    fn a_file_read_in_pieces_cut_mid_record_equals_a_full_read() {
        let file = file_of(0..40);
        let cuts: Vec<usize> = (1..file.bytes.len()).step_by(37).collect();
        let (mut live, problems) = live_read(&file.bytes, &cuts);
        assert!(problems.is_empty(), "{problems:?}");
        let (run, snapshot_problems) = live.snapshot().expect("records");
        let (full, full_problems) = full_read(&file.bytes);
        assert_eq!(run, full);
        assert_eq!(snapshot_problems, full_problems);
        assert_eq!(live.offset(), file.bytes.len() as u64);
    }

    #[test]
    fn a_half_written_first_record_is_not_yet_a_file() {
        let file = file_of(0..1);
        let mut live = LiveEvents::new(Path::new("events.out.tfevents.1"));
        let progress = live.read_more(&mut Cursor::new(file.bytes.clone()), 5);
        assert_eq!((progress.records, progress.bytes), (0, 0));
        assert!(progress.problems.is_empty());
        assert!(live.snapshot().unwrap_err().contains("first record"));
    }

    #[test]
    fn a_bad_checksum_is_skipped_and_counted_once_as_a_full_read_does() {
        let file = file_of(0..20);
        let mut bytes = file.bytes.clone();
        let damaged = file.offsets[5] + 14;
        bytes[damaged] ^= 0x55;
        // Cut right after the damaged record and in the middle of the next one.
        let cuts = [file.offsets[6], file.offsets[7] + 3];
        let (mut live, problems) = live_read(&bytes, &cuts);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("checksum failed"), "{problems:?}");
        let (run, snapshot_problems) = live.snapshot().expect("records");
        let (full, full_problems) = full_read(&bytes);
        assert_eq!(run, full);
        assert_eq!(snapshot_problems, full_problems);
    }

    #[test]
    fn damage_running_to_the_end_waits_for_the_record_behind_it() {
        let file = file_of(0..12);
        let mut bytes = file.bytes.clone();
        // Garbage in the length of record 4, then the writer goes on.
        bytes[file.offsets[4]] ^= 0x40;
        let cuts = [file.offsets[4] + 9, file.offsets[5] + 6];
        let (mut live, problems) = live_read(&bytes, &cuts);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("damaged data in 1 place"),
            "{problems:?}"
        );
        let (run, snapshot_problems) = live.snapshot().expect("records");
        let (full, full_problems) = full_read(&bytes);
        assert_eq!(run, full);
        assert_eq!(snapshot_problems, full_problems);
    }

    #[test]
    fn appended_points_are_handed_out_once_and_new_shapes_ask_for_a_snapshot() {
        let mut file = event_writer::EventFile::default();
        file.file_version(1.0).scalar(1.0, 0, "loss", 1.0);
        let mut live = LiveEvents::new(Path::new("events.out.tfevents.1"));
        live.read_more(
            &mut Cursor::new(file.bytes.clone()),
            file.bytes.len() as u64,
        );
        assert!(live.take_appended().is_none(), "the first reading is new");
        live.snapshot().expect("records");

        file.scalar(2.0, 1, "loss", 0.5)
            .scalar(3.0, 2, "loss", 0.25);
        live.read_more(
            &mut Cursor::new(file.bytes.clone()),
            file.bytes.len() as u64,
        );
        let appended = live.take_appended().expect("only appended points");
        assert_eq!(appended.len(), 1);
        assert_eq!(appended[0].0, "loss");
        let steps: Vec<i64> = appended[0].1.iter().map(|p| p.step).collect();
        assert_eq!(steps, [1, 2]);
        assert_eq!(live.take_appended(), Some(Vec::new()));

        file.scalar(4.0, 3, "accuracy", 0.9);
        live.read_more(
            &mut Cursor::new(file.bytes.clone()),
            file.bytes.len() as u64,
        );
        assert!(live.take_appended().is_none(), "a new series");
    }
}
