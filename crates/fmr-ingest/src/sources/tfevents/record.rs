//! The TFRecord framing of event files, read as a stream.
//!
//! Each record is `u64 length`, `u32 masked CRC-32C of those 8 bytes`, the
//! payload, `u32 masked CRC-32C of the payload` (all little-endian). The
//! reader keeps one buffer that grows to the largest record, so memory does
//! not depend on the file size.
//!
//! Damage is handled better than TensorBoard's own loader, which stops at the
//! first bad record:
//! - a payload whose checksum fails is skipped (its length was vouched for by
//!   the length checksum) and reading goes on with the next record;
//! - a length whose checksum fails cannot be trusted, so the reader scans
//!   forward byte by byte for the next offset where both checksums hold;
//! - a file that ends inside a record (a run still being written) ends the
//!   read, with everything before it kept.

use std::io::{self, Read};

/// Bytes before the payload: the length and its checksum.
pub(crate) const HEADER_LEN: usize = 12;
/// Bytes after the payload: its checksum.
pub(crate) const FOOTER_LEN: usize = 4;

/// How much is read from the input at a time.
const READ_CHUNK: usize = 256 * 1024;

/// TensorFlow's "masked" CRC-32C: rotated and offset, so that a checksum
/// stored inside checksummed data does not cancel itself out.
pub(crate) fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One intact record.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// 1-based position among the intact records of the file.
    pub number: usize,
    pub payload: &'a [u8],
}

/// What went wrong in the framing, for the problem report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Records whose payload checksum failed, skipped one by one.
    pub bad_payloads: usize,
    /// Places where a length checksum failed and the reader had to scan for
    /// the next record.
    pub resyncs: usize,
    /// Bytes passed over while scanning.
    pub bytes_skipped: u64,
    /// Byte offset of the first record skipped for its payload checksum.
    pub first_bad_payload_at: Option<u64>,
    /// Byte offset of the first length whose checksum failed.
    pub first_resync_at: Option<u64>,
    /// Byte offset of a record cut off by the end of the file.
    pub truncated_at: Option<u64>,
}

impl Damage {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        *self == Damage::default()
    }
}

pub(crate) struct RecordReader<R> {
    input: R,
    /// Bytes of the input not yet consumed live in `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    /// Records starting at or after this offset are left to another reader.
    stop_at: u64,
    /// File size when known (`u64::MAX` otherwise): a length pointing past it
    /// is a cut-off record, recognised without trying to read it.
    size: u64,
    eof: bool,
    records: usize,
    damage: Damage,
}

impl<R: Read> RecordReader<R> {
    pub(crate) fn new(input: R, size: u64) -> Self {
        Self::starting_at(input, 0, u64::MAX, size)
    }

    /// A reader of the records that start in `[start, stop_at)` of a file
    /// of `size` bytes, given `input` positioned at `start`. One that starts
    /// mid-file calls [`RecordReader::sync`] first.
    pub(crate) fn starting_at(input: R, start: u64, stop_at: u64, size: u64) -> Self {
        Self {
            input,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: start,
            stop_at,
            size,
            eof: false,
            records: 0,
            damage: Damage::default(),
        }
    }

    pub(crate) fn damage(&self) -> &Damage {
        &self.damage
    }

    pub(crate) fn records_read(&self) -> usize {
        self.records
    }

    /// The next intact record, `Ok(None)` at the end of the file (or at a
    /// record cut off by it). `Err` only for an I/O error of the input.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        loop {
            if self.offset >= self.stop_at {
                return Ok(None);
            }
            if !self.fill(HEADER_LEN)? {
                if self.available() > 0 {
                    self.damage.truncated_at = Some(self.offset);
                }
                return Ok(None);
            }
            let header = &self.buf[self.start..self.start + HEADER_LEN];
            let length = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
            let length_crc = u32::from_le_bytes(header[8..].try_into().unwrap_or_default());
            if masked_crc32c(&header[..8]) != length_crc {
                self.damage.first_resync_at.get_or_insert(self.offset);
                self.damage.resyncs += 1;
                if !self.resync()? {
                    return Ok(None);
                }
                continue;
            }
            let Some(total) = record_len(length) else {
                // A checksummed length beyond any file: treat it as a cut-off
                // record, which is what it will be when read.
                self.damage.truncated_at = Some(self.offset);
                return Ok(None);
            };
            if self.offset.saturating_add(total as u64) > self.size || !self.fill(total)? {
                self.damage.truncated_at = Some(self.offset);
                return Ok(None);
            }
            let record = &self.buf[self.start..self.start + total];
            let payload_end = HEADER_LEN + (total - HEADER_LEN - FOOTER_LEN);
            let payload_crc =
                u32::from_le_bytes(record[payload_end..].try_into().unwrap_or_default());
            if masked_crc32c(&record[HEADER_LEN..payload_end]) != payload_crc {
                self.damage.first_bad_payload_at.get_or_insert(self.offset);
                self.damage.bad_payloads += 1;
                self.consume(total);
                continue;
            }
            self.records += 1;
            let payload_start = self.start + HEADER_LEN;
            self.consume(total);
            return Ok(Some(Record {
                number: self.records,
                payload: &self.buf[payload_start..payload_start + (payload_end - HEADER_LEN)],
            }));
        }
    }

    /// Moves past a header whose length checksum failed to the next offset
    /// where a whole record checks out; `false` when none does before the end.
    fn resync(&mut self) -> io::Result<bool> {
        loop {
            self.consume(1);
            self.damage.bytes_skipped += 1;
            if !self.fill(HEADER_LEN)? {
                // What is left cannot hold a record: it was damage too.
                self.damage.bytes_skipped += self.available() as u64;
                self.consume(self.available());
                return Ok(false);
            }
            if self.whole_record_here()? {
                return Ok(true);
            }
        }
    }

    /// Moves to the first offset, from here on, where a whole record checks
    /// out, for a reader started in the middle of a file; `false` when none
    /// does. The bytes passed over belong to the record before, not damage.
    pub(crate) fn sync(&mut self) -> io::Result<bool> {
        loop {
            if !self.fill(HEADER_LEN)? {
                self.consume(self.available());
                return Ok(false);
            }
            if self.whole_record_here()? {
                return Ok(true);
            }
            self.consume(1);
        }
    }

    /// Whether a record starts at the current offset: a plausible length,
    /// both checksums right. A 32-bit checksum matches garbage once in four
    /// billion tries, and a long scan makes millions of them, so the payload
    /// must check out too.
    fn whole_record_here(&mut self) -> io::Result<bool> {
        if !self.fill(HEADER_LEN)? {
            return Ok(false);
        }
        let header = &self.buf[self.start..self.start + HEADER_LEN];
        let length = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
        // A record longer than the rest of the file cannot start here; this
        // rules out most offsets of damaged data before the checksum.
        let room = self.size.saturating_sub(self.offset);
        if length > room.saturating_sub((HEADER_LEN + FOOTER_LEN) as u64) {
            return Ok(false);
        }
        let length_crc = u32::from_le_bytes(header[8..].try_into().unwrap_or_default());
        if masked_crc32c(&header[..8]) != length_crc {
            return Ok(false);
        }
        let Some(total) = record_len(length) else {
            return Ok(false);
        };
        if !self.fill(total)? {
            return Ok(false);
        }
        let record = &self.buf[self.start..self.start + total];
        let payload_end = total - FOOTER_LEN;
        let payload_crc = u32::from_le_bytes(record[payload_end..].try_into().unwrap_or_default());
        Ok(masked_crc32c(&record[HEADER_LEN..payload_end]) == payload_crc)
    }

    /// Byte offset of the next unread byte: after a stop, where the first
    /// record not read starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    fn consume(&mut self, count: usize) {
        let count = count.min(self.available());
        self.start += count;
        self.offset += count as u64;
    }

    /// Makes at least `wanted` unconsumed bytes available, reading more when
    /// needed; `false` when the input ends first.
    fn fill(&mut self, wanted: usize) -> io::Result<bool> {
        if self.available() >= wanted {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        // Move the unconsumed tail to the front, then grow to fit `wanted`.
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        // A chunk at a time, but no more than the file still holds: a small
        // file gets a small buffer.
        let left = usize::try_from(self.size.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        let capacity = wanted.max(READ_CHUNK.min(left));
        if self.buf.len() < capacity {
            self.buf.resize(capacity, 0);
        }
        while self.end < wanted {
            // Top up to a whole chunk, not just to `wanted`, so that small
            // records do not cost a read call each.
            let target = self.buf.len();
            match self.input.read(&mut self.buf[self.end..target]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => self.end += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }
}

/// Header + payload + footer, when it fits in memory at all.
fn record_len(length: u64) -> Option<usize> {
    let length = usize::try_from(length).ok()?;
    length
        .checked_add(HEADER_LEN + FOOTER_LEN)
        .filter(|&total| total <= isize::MAX as usize)
}

/// Frames `payload` as one record.
#[cfg(test)]
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let length = (payload.len() as u64).to_le_bytes();
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc32c(payload).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<Vec<u8>>, Damage) {
        let mut reader = RecordReader::new(bytes, bytes.len() as u64);
        let mut payloads = Vec::new();
        while let Some(record) = reader.next_record().expect("in-memory input") {
            assert_eq!(record.number, payloads.len() + 1);
            payloads.push(record.payload.to_vec());
        }
        (payloads, reader.damage().clone())
    }

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for payload in payloads {
            frame(payload, &mut out);
        }
        out
    }

    #[test]
    fn the_mask_matches_tensorflow() {
        // Values from TensorBoard's own `record_writer.masked_crc32c`.
        assert_eq!(masked_crc32c(&0_u64.to_le_bytes()), 0x0798_0329);
        assert_eq!(masked_crc32c(b""), 0xa282_ead8);
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
    }

    #[test]
    fn reads_records_in_order() {
        let bytes = framed(&[b"one", b"", b"three"]);
        let (payloads, damage) = read_all(&bytes);
        assert_eq!(payloads, [b"one".to_vec(), vec![], b"three".to_vec()]);
        assert!(damage.is_empty());
    }

    #[test]
    fn skips_a_record_whose_payload_checksum_fails() {
        let mut bytes = framed(&[b"one", b"two", b"three"]);
        let second_footer = 2 * HEADER_LEN + 3 + FOOTER_LEN + 3;
        bytes[second_footer] ^= 0xff;
        let (payloads, damage) = read_all(&bytes);
        assert_eq!(payloads, [b"one".to_vec(), b"three".to_vec()]);
        assert_eq!(damage.bad_payloads, 1);
        assert_eq!(
            damage.first_bad_payload_at,
            Some((HEADER_LEN + 3 + FOOTER_LEN) as u64)
        );
        assert_eq!(damage.truncated_at, None);
    }

    #[test]
    fn scans_past_a_damaged_length() {
        let mut bytes = framed(&[b"one", b"two", b"three"]);
        let second = HEADER_LEN + 3 + FOOTER_LEN;
        bytes[second] ^= 0x40;
        let (payloads, damage) = read_all(&bytes);
        assert_eq!(payloads, [b"one".to_vec(), b"three".to_vec()]);
        assert_eq!(damage.resyncs, 1);
        assert_eq!(damage.bytes_skipped, (HEADER_LEN + 3 + FOOTER_LEN) as u64);
    }

    #[test]
    fn garbage_between_records_is_passed_over() {
        let mut bytes = framed(&[b"one"]);
        bytes.extend_from_slice(&[0x55; 37]);
        bytes.extend(framed(&[b"two"]));
        let (payloads, damage) = read_all(&bytes);
        assert_eq!(payloads, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(damage.bytes_skipped, 37);
    }

    #[test]
    fn a_cut_off_record_ends_the_read_at_every_offset() {
        let bytes = framed(&[b"one", b"two"]);
        let first_len = HEADER_LEN + 3 + FOOTER_LEN;
        for cut in 0..bytes.len() {
            let (payloads, damage) = read_all(&bytes[..cut]);
            let complete = usize::from(cut >= first_len);
            assert_eq!(payloads.len(), complete, "cut at {cut}");
            let expected = match cut {
                0 => None,
                c if c == first_len => None,
                c if c < first_len => Some(0),
                _ => Some(first_len as u64),
            };
            assert_eq!(damage.truncated_at, expected, "cut at {cut}");
            assert_eq!(damage.resyncs, 0, "cut at {cut}");
        }
    }

    #[test]
    fn records_larger_than_a_read_chunk() {
        let big = vec![7_u8; READ_CHUNK * 2 + 5];
        let bytes = framed(&[b"small", &big, b"after"]);
        let (payloads, damage) = read_all(&bytes);
        assert_eq!(payloads.len(), 3);
        assert_eq!(payloads[1], big);
        assert!(damage.is_empty());
    }

    #[test]
    fn a_length_beyond_the_file_is_a_cut_off_record() {
        let mut bytes = Vec::new();
        let length = u64::MAX.to_le_bytes();
        bytes.extend_from_slice(&length);
        bytes.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
        bytes.extend_from_slice(b"xyz");
        let (payloads, damage) = read_all(&bytes);
        assert!(payloads.is_empty());
        assert_eq!(damage.truncated_at, Some(0));
    }
}
