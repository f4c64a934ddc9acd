//! The framing of W&B's `.wandb` file, read as a stream: a 7-byte header,
//! then LevelDB's log format.
//!
//! The file header is `:W&B`, u16 `0xBEE1`, u8 version `0`. The rest is
//! 32 KiB blocks (the file header counts toward the first). A block holds
//! chunks, each a 7-byte header (u32 CRC-32 (IEEE) of the type byte and the
//! data, u16 data length, u8 type: 1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST) and
//! the data; a record too big for the rest of its block is split into
//! FIRST, MIDDLE..., LAST chunks. Fewer than 7 bytes left in a block are
//! zero padding. As in LevelDB's reader, a chunk whose checksum fails costs
//! the rest of its block, and reading goes on with the next block.

use std::io::{self, Read};

pub(crate) const BLOCK_SIZE: usize = 32 * 1024;
const CHUNK_HEADER: usize = 7;
pub(crate) const FILE_HEADER: &[u8; 7] = b":W&B\xe1\xbe\x00";

const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;

/// What went wrong in the framing, for the problem report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Chunks whose checksum failed or whose header made no sense; each
    /// costs the rest of its block.
    pub bad_chunks: usize,
    /// Records whose pieces arrived out of order (a FIRST without a LAST).
    pub broken_records: usize,
    /// Byte offset of the first damage.
    pub first_at: Option<u64>,
    /// The file ends inside a record.
    pub truncated: bool,
}

/// Why the file could not be read at all.
#[derive(Debug)]
pub(crate) enum LogError {
    NotWandb,
    Io(io::Error),
}

/// Calls `on_record` with the data of each intact record, in order, and
/// returns the damage seen. Memory is one block plus the largest record.
pub(crate) fn read_records(
    mut input: impl Read,
    mut on_record: impl FnMut(&[u8]),
) -> Result<Damage, LogError> {
    let mut block = vec![0_u8; BLOCK_SIZE];
    let mut filled = read_full(&mut input, &mut block).map_err(LogError::Io)?;
    if filled < FILE_HEADER.len() || block[..FILE_HEADER.len()] != FILE_HEADER[..] {
        return Err(LogError::NotWandb);
    }
    let mut damage = Damage::default();
    let mut partial: Option<Vec<u8>> = None;
    let mut block_offset = 0_u64;
    let mut pos = FILE_HEADER.len();
    loop {
        let at_end_of_file = filled < BLOCK_SIZE;
        while pos + CHUNK_HEADER <= filled {
            let header = &block[pos..pos + CHUNK_HEADER];
            let crc = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let length = usize::from(u16::from_le_bytes([header[4], header[5]]));
            let kind = header[6];
            if kind == 0 && length == 0 && crc == 0 {
                // Zero padding (a preallocated tail): nothing more in this block.
                break;
            }
            let start = pos + CHUNK_HEADER;
            if start + length > filled {
                if at_end_of_file && start + length <= BLOCK_SIZE {
                    damage.truncated = true;
                    return Ok(damage);
                }
                note(&mut damage, block_offset + pos as u64);
                partial = None;
                break;
            }
            let data = &block[start..start + length];
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&[kind]);
            hasher.update(data);
            if hasher.finalize() != crc {
                note(&mut damage, block_offset + pos as u64);
                partial = None;
                break;
            }
            match kind {
                FULL => {
                    if partial.take().is_some() {
                        damage.broken_records += 1;
                    }
                    on_record(data);
                }
                FIRST => {
                    if partial.replace(data.to_vec()).is_some() {
                        damage.broken_records += 1;
                    }
                }
                MIDDLE | LAST => match partial.as_mut() {
                    Some(record) => {
                        record.extend_from_slice(data);
                        if kind == LAST
                            && let Some(record) = partial.take()
                        {
                            on_record(&record);
                        }
                    }
                    None => damage.broken_records += 1,
                },
                _ => {
                    note(&mut damage, block_offset + pos as u64);
                    partial = None;
                    break;
                }
            }
            pos = start + length;
        }
        if at_end_of_file {
            // Bytes after the last whole chunk of the last block: a chunk
            // header cut short, or a record still waiting for its LAST piece.
            let tail = &block[pos.min(filled)..filled];
            if partial.is_some() || tail.iter().any(|&b| b != 0) {
                damage.truncated = true;
            }
            return Ok(damage);
        }
        block_offset += BLOCK_SIZE as u64;
        filled = read_full(&mut input, &mut block).map_err(LogError::Io)?;
        pos = 0;
    }
}

fn note(damage: &mut Damage, offset: u64) {
    damage.bad_chunks += 1;
    damage.first_at.get_or_insert(offset);
}

/// Fills `buf` as far as the input allows; fewer bytes only at its end.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Writes records in this framing, for tests.
#[cfg(test)]
pub(crate) fn write_records(records: &[&[u8]]) -> Vec<u8> {
    let mut out = FILE_HEADER.to_vec();
    for record in records {
        let mut rest: &[u8] = record;
        let mut first = true;
        loop {
            let left_in_block = BLOCK_SIZE - out.len() % BLOCK_SIZE;
            if left_in_block < CHUNK_HEADER {
                out.resize(out.len() + left_in_block, 0);
                continue;
            }
            let room = left_in_block - CHUNK_HEADER;
            let take = rest.len().min(room);
            let last = take == rest.len();
            let kind = match (first, last) {
                (true, true) => FULL,
                (true, false) => FIRST,
                (false, true) => LAST,
                (false, false) => MIDDLE,
            };
            let data = &rest[..take];
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&[kind]);
            hasher.update(data);
            out.extend_from_slice(&hasher.finalize().to_le_bytes());
            out.extend_from_slice(&(take as u16).to_le_bytes());
            out.push(kind);
            out.extend_from_slice(data);
            rest = &rest[take..];
            first = false;
            if last {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> (Vec<Vec<u8>>, Damage) {
        let mut records = Vec::new();
        let damage = read_records(bytes, |r| records.push(r.to_vec())).expect("a W&B log");
        (records, damage)
    }

    #[test]
    fn records_across_blocks_read_back() {
        let big = vec![3_u8; BLOCK_SIZE * 2 + 100];
        let small = b"small".to_vec();
        let bytes = write_records(&[&small, &big, &small]);
        let (records, damage) = read(&bytes);
        assert_eq!(records, [small.clone(), big, small]);
        assert_eq!(damage, Damage::default());
    }

    #[test]
    fn a_bad_checksum_costs_the_rest_of_its_block() {
        let one = vec![1_u8; 100];
        let filler = vec![2_u8; BLOCK_SIZE];
        let mut bytes = write_records(&[&one, &one, &filler, &one]);
        bytes[FILE_HEADER.len() + 7] ^= 1; // first record's data
        let (records, damage) = read(&bytes);
        // The rest of block 0 is lost (the second record and the first piece
        // of the filler), then the filler's tail is an orphan; the last reads.
        assert_eq!(records, [one]);
        assert_eq!(damage.bad_chunks, 1);
        assert_eq!(damage.first_at, Some(FILE_HEADER.len() as u64));
        assert!(damage.broken_records >= 1);
    }

    #[test]
    fn cut_off_files_keep_what_came_before() {
        let bytes = write_records(&[b"one", b"two"]);
        for cut in FILE_HEADER.len()..bytes.len() {
            let (records, damage) = read(&bytes[..cut]);
            let whole = usize::from(cut >= FILE_HEADER.len() + 7 + 3);
            assert_eq!(records.len(), whole, "cut at {cut}");
            assert_eq!(
                damage.truncated,
                cut != FILE_HEADER.len() + 10 && cut != FILE_HEADER.len(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn other_files_are_refused() {
        assert!(matches!(
            read_records(&b"PK\x03\x04"[..], |_| {}),
            Err(LogError::NotWandb)
        ));
        assert!(matches!(
            read_records(&b""[..], |_| {}),
            Err(LogError::NotWandb)
        ));
    }
}
