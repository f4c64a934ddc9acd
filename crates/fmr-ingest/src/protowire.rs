//! A borrowing reader of the protobuf wire format, for the hot path of event
//! files.
//!
//! prost (used for the W&B records and the hparams plugin data) decodes into
//! owned structs: every string becomes a `String`, every repeated field a
//! `Vec`. A TensorBoard event file holds millions of tiny `Event`s whose only
//! string is a tag seen thousands of times before, so the event reader walks
//! the fields in place instead and allocates nothing per event. The message
//! layouts it reads are written out, with their field numbers, in
//! `sources/tfevents/event.rs`.

/// One field of a message: its number and its value, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Field<'a> {
    Varint(u32, u64),
    Fixed64(u32, u64),
    Bytes(u32, &'a [u8]),
    Fixed32(u32, u32),
}

impl Field<'_> {
    pub(crate) fn number(&self) -> u32 {
        match *self {
            Field::Varint(n, _)
            | Field::Fixed64(n, _)
            | Field::Bytes(n, _)
            | Field::Fixed32(n, _) => n,
        }
    }
}

/// The input is not a valid protobuf message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireError;

/// The fields of one message, in the order they were written.
///
/// Ends at the first malformed field (yielding `Err` once): a message cut off
/// or overwritten cannot be read past the damage.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

#[inline]
pub(crate) fn fields(message: &[u8]) -> Fields<'_> {
    Fields { rest: message }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, WireError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = self.read_field();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

impl<'a> Fields<'a> {
    #[inline]
    fn read_field(&mut self) -> Result<Field<'a>, WireError> {
        let key = varint(&mut self.rest)?;
        let number = u32::try_from(key >> 3).map_err(|_| WireError)?;
        if number == 0 {
            return Err(WireError);
        }
        match key & 7 {
            0 => Ok(Field::Varint(number, varint(&mut self.rest)?)),
            1 => {
                let (head, rest) = self.rest.split_first_chunk::<8>().ok_or(WireError)?;
                self.rest = rest;
                Ok(Field::Fixed64(number, u64::from_le_bytes(*head)))
            }
            2 => {
                let len = usize::try_from(varint(&mut self.rest)?).map_err(|_| WireError)?;
                if len > self.rest.len() {
                    return Err(WireError);
                }
                let (bytes, rest) = self.rest.split_at(len);
                self.rest = rest;
                Ok(Field::Bytes(number, bytes))
            }
            5 => {
                let (head, rest) = self.rest.split_first_chunk::<4>().ok_or(WireError)?;
                self.rest = rest;
                Ok(Field::Fixed32(number, u32::from_le_bytes(*head)))
            }
            // 3 and 4 are the long-deprecated groups, which no writer of these
            // formats uses; 6 and 7 do not exist.
            _ => Err(WireError),
        }
    }
}

/// Reads a base-128 varint from the front of `input`.
#[inline]
pub(crate) fn varint(input: &mut &[u8]) -> Result<u64, WireError> {
    // Keys and small lengths, most of what an event holds, take one byte.
    if let Some((&byte, rest)) = input.split_first()
        && byte < 0x80
    {
        *input = rest;
        return Ok(u64::from(byte));
    }
    let mut value = 0_u64;
    for (i, &byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            // The tenth byte may only carry the top bit of a u64.
            if i == 9 && byte > 1 {
                return Err(WireError);
            }
            *input = &input[i + 1..];
            return Ok(value);
        }
    }
    Err(WireError)
}

/// Calls `f` with each value of a repeated field that may be packed (one
/// length-delimited run) or not (one field per value); `decode` reads one
/// value from the front of a packed run, `unpacked` converts a lone field.
pub(crate) fn for_each_repeated<T>(
    field: Field<'_>,
    decode: impl Fn(&mut &[u8]) -> Result<T, WireError>,
    unpacked: impl Fn(Field<'_>) -> Option<T>,
    mut f: impl FnMut(T),
) -> Result<(), WireError> {
    match field {
        Field::Bytes(_, mut packed) => {
            while !packed.is_empty() {
                f(decode(&mut packed)?);
            }
            Ok(())
        }
        other => {
            f(unpacked(other).ok_or(WireError)?);
            Ok(())
        }
    }
}

pub(crate) fn packed_f32(input: &mut &[u8]) -> Result<f32, WireError> {
    let (head, rest) = input.split_first_chunk::<4>().ok_or(WireError)?;
    *input = rest;
    Ok(f32::from_le_bytes(*head))
}

pub(crate) fn packed_f64(input: &mut &[u8]) -> Result<f64, WireError> {
    let (head, rest) = input.split_first_chunk::<8>().ok_or(WireError)?;
    *input = rest;
    Ok(f64::from_le_bytes(*head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type() {
        // field 1 varint 150, field 2 fixed64, field 3 bytes "hi", field 4 fixed32
        let mut message = vec![0x08, 0x96, 0x01, 0x11];
        message.extend(2.5_f64.to_le_bytes());
        message.extend([0x1a, 2, b'h', b'i', 0x25]);
        message.extend(1.5_f32.to_le_bytes());
        let got: Vec<_> = fields(&message).collect();
        assert_eq!(
            got,
            [
                Ok(Field::Varint(1, 150)),
                Ok(Field::Fixed64(2, 2.5_f64.to_bits())),
                Ok(Field::Bytes(3, b"hi".as_slice())),
                Ok(Field::Fixed32(4, 1.5_f32.to_bits())),
            ]
        );
    }

    #[test]
    fn stops_once_at_damage() {
        // A length that runs past the end, then nothing more.
        let got: Vec<_> = fields(&[0x0a, 5, b'a']).collect();
        assert_eq!(got, [Err(WireError)]);
        // Field number 0 and the group wire types are refused.
        assert_eq!(fields(&[0x00, 1]).next(), Some(Err(WireError)));
        assert_eq!(fields(&[0x0b]).next(), Some(Err(WireError)));
        // A varint of more than ten bytes.
        assert_eq!(varint(&mut [0xff; 11].as_slice()), Err(WireError));
        assert_eq!(
            varint(&mut [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02].as_slice()),
            Err(WireError)
        );
        assert_eq!(
            varint(&mut [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01].as_slice()),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn repeated_fields_packed_or_not() {
        let mut out = Vec::new();
        let mut packed = Vec::new();
        packed.extend(1.0_f32.to_le_bytes());
        packed.extend(2.0_f32.to_le_bytes());
        let unpacked = |f: Field<'_>| match f {
            Field::Fixed32(_, bits) => Some(f32::from_bits(bits)),
            _ => None,
        };
        for_each_repeated(Field::Bytes(5, &packed), packed_f32, unpacked, |v| {
            out.push(v)
        })
        .expect("packed");
        for_each_repeated(
            Field::Fixed32(5, 3.0_f32.to_bits()),
            packed_f32,
            unpacked,
            |v| out.push(v),
        )
        .expect("unpacked");
        assert_eq!(out, [1.0, 2.0, 3.0]);
        assert_eq!(
            for_each_repeated(Field::Bytes(5, &[0, 0, 0]), packed_f32, unpacked, |v| out
                .push(v)),
            Err(WireError)
        );
        assert_eq!(
            for_each_repeated(Field::Varint(5, 1), packed_f32, unpacked, |v| out.push(v)),
            Err(WireError)
        );
    }
}
