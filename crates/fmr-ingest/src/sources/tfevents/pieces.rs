//! Reading one large event file in parallel pieces.
//!
//! The file is cut into byte ranges; each piece finds its first record by
//! scanning for an offset where both checksums hold (as after damage), reads
//! the records that start inside it, and the pieces are joined in order.
//! The result must be exactly what one reader going through the file would
//! produce, so whenever the pieces do not fit together (damage on a seam, a
//! tag that two pieces classified differently, a restarted TF 1.x session)
//! the join gives up and the caller reads the file in one go.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};

use rayon::prelude::*;

use super::*;

/// Files at least this big are read in pieces.
pub(super) const PARALLEL_MIN_BYTES: u64 = 64 * 1024 * 1024;
/// Joining the pieces copies every point once more: on two cores (one of
/// them often busy elsewhere) that costs what the second core gains, so
/// pieces are read only where there are at least this many threads.
pub(super) const PARALLEL_MIN_THREADS: usize = 4;
/// About the size of one piece: small enough to spread over the threads,
/// large enough that the scan at each seam costs nothing.
pub(super) const PIECE_BYTES: u64 = 16 * 1024 * 1024;

struct Piece {
    reading: FileReading,
    records: usize,
    damage: Damage,
    /// Where its first record starts (the file size when it has none).
    first: u64,
    /// Where the first record left to the next piece starts.
    stop: u64,
}

/// `None` when the pieces do not fit together, or on an I/O error, which
/// the one-go read then reports.
pub(super) fn read_in_pieces(
    path: &Path,
    size: u64,
    piece_bytes: u64,
    run: &mut Run,
) -> Option<Result<ReadOutcome, String>> {
    let count = (size / piece_bytes.max(1)).clamp(2, 1 << 16);
    let bounds: Vec<u64> = (0..=count)
        .map(|i| (u128::from(size) * u128::from(i) / u128::from(count)) as u64)
        .collect();
    let pieces: io::Result<Vec<Piece>> = bounds
        .par_windows(2)
        .map(|range| read_piece(path, range[0], range[1], size))
        .collect();
    let pieces = pieces.ok()?;
    if pieces.windows(2).any(|pair| pair[0].stop != pair[1].first) {
        return None;
    }
    let mut pieces = pieces.into_iter();
    let first = pieces.next()?;
    let (mut reading, mut records, mut damage) = (first.reading, first.records, first.damage);
    // The later pieces' points, per series, appended at the end in one go.
    let mut later: Vec<Vec<Vec<Point>>> = Vec::new();
    for piece in pieces {
        if !reading.absorb(piece.reading, records, &mut later) {
            return None;
        }
        records += piece.records;
        damage.bad_payloads += piece.damage.bad_payloads;
        damage.resyncs += piece.damage.resyncs;
        damage.bytes_skipped += piece.damage.bytes_skipped;
        if damage.first_bad_payload_at.is_none() {
            damage.first_bad_payload_at = piece.damage.first_bad_payload_at;
        }
        if damage.first_resync_at.is_none() {
            damage.first_resync_at = piece.damage.first_resync_at;
        }
        damage.truncated_at = piece.damage.truncated_at;
    }
    if records == 0 {
        return None;
    }
    // Each series grows once, to its final length, the series in parallel.
    later.resize_with(reading.series.len(), Vec::new);
    reading.series = std::mem::take(&mut reading.series)
        .into_par_iter()
        .zip(later)
        .map(|(mut series, chunks)| {
            let more: usize = chunks.iter().map(Vec::len).sum();
            series.points.reserve_exact(more);
            for chunk in chunks {
                series.points.extend(chunk);
            }
            series
        })
        .collect();
    Some(conclude(reading, records, &damage, None, run))
}

fn read_piece(path: &Path, start: u64, end: u64, size: u64) -> io::Result<Piece> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut reader = RecordReader::starting_at(file, start, end, size);
    let first = if start == 0 || reader.sync()? {
        reader.offset()
    } else {
        size
    };
    let mut reading = FileReading::new(path);
    while let Some(record) = reader.next_record()? {
        reading.add_record(record.number, record.payload);
    }
    Ok(Piece {
        reading,
        records: reader.records_read(),
        damage: reader.damage().clone(),
        first,
        stop: reader.offset(),
    })
}

impl FileReading {
    /// Takes in the reading of the next piece, whose record numbers start
    /// after `records_before`; its points go to `later[slot]`, to be
    /// appended to the series once all pieces are in. `false` when the two
    /// cannot be joined exactly.
    fn absorb(
        &mut self,
        other: FileReading,
        records_before: usize,
        later: &mut Vec<Vec<Vec<Point>>>,
    ) -> bool {
        if other.session_starts > 0 && self.session_starts + other.session_starts > 1 {
            return false;
        }
        self.session_starts += other.session_starts;
        let slot_map: Vec<usize> = other.series.iter().map(|s| self.slot(&s.tag)).collect();
        let map = |slot: usize| slot_map.get(slot).copied().unwrap_or(usize::MAX);
        for (tag, kind) in other.kinds {
            let kind = match kind {
                TagKind::Scalar(slot) => TagKind::Scalar(map(slot)),
                TagKind::Histogram(slots) => TagKind::Histogram(slots.map(map)),
                other => other,
            };
            match self.kinds.get(&tag) {
                Some(&known) if known != kind => return false,
                Some(_) => {}
                None => {
                    self.kinds.insert(tag, kind);
                }
            }
        }
        for (index, series) in other.series.into_iter().enumerate() {
            let (slot, Some(first)) = (map(index), series.points.first().copied()) else {
                continue;
            };
            let first_record =
                other.first_records.get(index).copied().unwrap_or(0) + records_before;
            let Some(target) = self.series.get(slot) else {
                return false;
            };
            if later.len() <= slot {
                later.resize_with(slot + 1, Vec::new);
            }
            let last = later[slot]
                .last()
                .and_then(|chunk| chunk.last())
                .or(target.points.last())
                .copied();
            match last {
                None => {
                    if let Some(known) = self.first_records.get_mut(slot) {
                        *known = first_record;
                    }
                }
                Some(last) if first.step < last.step => {
                    self.step_backs += 1;
                    // Ties go to the series met first, as in one pass.
                    let comes_first = self
                        .first_step_back
                        .as_ref()
                        .is_none_or(|(record, ..)| first_record < *record);
                    if comes_first {
                        self.first_step_back =
                            Some((first_record, target.tag.clone(), last.step, first.step));
                    }
                }
                Some(_) => {}
            }
            later[slot].push(series.points);
        }
        self.step_backs += other.step_backs;
        if let Some((record, tag, from, to)) = other.first_step_back {
            let record = record + records_before;
            if self
                .first_step_back
                .as_ref()
                .is_none_or(|(known, ..)| record < *known)
            {
                self.first_step_back = Some((record, tag, from, to));
            }
        }
        for mut event in other.events {
            event.line += records_before;
            self.events.push(event);
        }
        for (key, value) in other.config {
            self.config.entry(key).or_insert(value);
        }
        if self.invalid_records == 0 && other.invalid_records > 0 {
            self.first_invalid_record = other.first_invalid_record + records_before;
        }
        self.invalid_records += other.invalid_records;
        if self.wide_scalars == 0 {
            self.first_wide_scalar = other.first_wide_scalar;
        }
        self.wide_scalars += other.wide_scalars;
        true
    }
}
