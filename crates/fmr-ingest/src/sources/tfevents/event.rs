//! The protobuf messages of an event file, read in place.
//!
//! Field numbers are those of TensorFlow's `tensorflow/core/util/event.proto`,
//! `framework/summary.proto`, `framework/tensor.proto`,
//! `framework/tensor_shape.proto` and `framework/types.proto` (the copies
//! TensorBoard ships under `tensorboard/compat/proto/`). Only the fields fmr
//! uses are named; every other field is passed over, as protobuf requires.
//! Where a singular field appears twice, the last one wins, as in protobuf.

use crate::protowire::{
    Field, WireError, fields, for_each_repeated, packed_f32, packed_f64, varint,
};

/// `Event` (event.proto).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Event<'a> {
    /// 1: `double wall_time`.
    pub wall_time: f64,
    /// 2: `int64 step`; absent (so 0) in proto3 when the step is 0.
    pub step: i64,
    /// 3: `string file_version` (`brain.Event:2`), in the first record.
    pub file_version: Option<&'a [u8]>,
    /// 6: `LogMessage log_message` (deprecated, still written by TF 1.x).
    pub log_message: Option<&'a [u8]>,
    /// 7: `SessionLog session_log`.
    pub session_log: Option<&'a [u8]>,
    /// 10: `SourceMetadata source_metadata`.
    pub source_metadata: Option<&'a [u8]>,
    /// 5: `Summary summary`, kept as bytes: see [`Event::for_each_value`].
    summary: Option<&'a [u8]>,
    /// More than one `summary` field (legal, never seen): merged by a
    /// second pass over `payload`.
    summaries: usize,
    payload: &'a [u8],
}

impl<'a> Event<'a> {
    pub(crate) fn decode(payload: &'a [u8]) -> Result<Self, WireError> {
        let mut event = Event {
            payload,
            ..Event::default()
        };
        for field in fields(payload) {
            match field? {
                Field::Fixed64(1, bits) => event.wall_time = f64::from_bits(bits),
                Field::Varint(2, step) => event.step = step as i64,
                Field::Bytes(3, text) => event.file_version = Some(text),
                Field::Bytes(5, summary) => {
                    event.summary = Some(summary);
                    event.summaries += 1;
                }
                Field::Bytes(6, message) => event.log_message = Some(message),
                Field::Bytes(7, message) => event.session_log = Some(message),
                Field::Bytes(10, message) => event.source_metadata = Some(message),
                _ => {}
            }
        }
        Ok(event)
    }

    /// Calls `f` with each `Summary.Value` (summary.proto: `Summary` field 1,
    /// repeated), in order. Several `summary` fields in one event are merged,
    /// as protobuf merges repeated occurrences of a message field.
    pub(crate) fn for_each_value(
        &self,
        mut f: impl FnMut(&'a [u8]) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let mut each_in = |summary: &'a [u8]| -> Result<(), WireError> {
            for value in fields(summary) {
                if let Field::Bytes(1, value) = value? {
                    f(value)?;
                }
            }
            Ok(())
        };
        match (self.summaries, self.summary) {
            (0, _) | (_, None) => Ok(()),
            (1, Some(summary)) => each_in(summary),
            _ => {
                for field in fields(self.payload) {
                    if let Field::Bytes(5, summary) = field? {
                        each_in(summary)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The common case, read without the general field walk: an event holding
/// exactly `wall_time` (1), an optional `step` (2) and one summary (5) of one
/// value with only `tag` (1) and `simple_value` (2), each field once, in
/// field-number order, as every `simple_value` writer encodes it. Returns
/// (wall time, step, tag, value), or `None` for anything else, which the
/// general path then reads: the result is the same either way, only faster.
#[inline]
pub(crate) fn simple_scalar(payload: &[u8]) -> Option<(f64, i64, &[u8], f32)> {
    let rest = payload.strip_prefix(&[0x09])?;
    let (wall, mut rest) = rest.split_first_chunk::<8>()?;
    let mut step = 0;
    if let Some(after) = rest.strip_prefix(&[0x10]) {
        rest = after;
        step = varint(&mut rest).ok()? as i64;
    }
    let mut rest = rest.strip_prefix(&[0x2a])?;
    let summary_len = usize::try_from(varint(&mut rest).ok()?).ok()?;
    if summary_len != rest.len() {
        return None;
    }
    let mut rest = rest.strip_prefix(&[0x0a])?;
    let value_len = usize::try_from(varint(&mut rest).ok()?).ok()?;
    if value_len != rest.len() {
        return None;
    }
    let mut rest = rest.strip_prefix(&[0x0a])?;
    let tag_len = usize::try_from(varint(&mut rest).ok()?).ok()?;
    if rest.len() != tag_len + 5 || rest[tag_len] != 0x15 {
        return None;
    }
    let (tag, value) = rest.split_at(tag_len);
    let (bits, _) = value[1..].split_first_chunk::<4>()?;
    Some((
        f64::from_le_bytes(*wall),
        step,
        tag,
        f32::from_le_bytes(*bits),
    ))
}

/// `Summary.Value` (summary.proto).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Value<'a> {
    /// 1: `string tag`.
    pub tag: &'a [u8],
    /// 7: `string node_name`, the tag of TF 1.x tensor summaries without one.
    pub node_name: &'a [u8],
    /// 9: `SummaryMetadata metadata`.
    pub metadata: Option<&'a [u8]>,
    /// 2: `float simple_value`.
    pub simple_value: Option<f32>,
    /// 5: `HistogramProto histo`.
    pub histo: Option<&'a [u8]>,
    /// 8: `TensorProto tensor`.
    pub tensor: Option<&'a [u8]>,
}

impl<'a> Value<'a> {
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut value = Value::default();
        for field in fields(bytes) {
            match field? {
                Field::Bytes(1, tag) => value.tag = tag,
                Field::Fixed32(2, bits) => value.simple_value = Some(f32::from_bits(bits)),
                Field::Bytes(5, histo) => value.histo = Some(histo),
                Field::Bytes(7, name) => value.node_name = name,
                Field::Bytes(8, tensor) => value.tensor = Some(tensor),
                Field::Bytes(9, metadata) => value.metadata = Some(metadata),
                _ => {}
            }
        }
        Ok(value)
    }

    /// The tag, or the node name for old tensor summaries that have no tag.
    pub(crate) fn name(&self) -> &'a [u8] {
        if self.tag.is_empty() {
            self.node_name
        } else {
            self.tag
        }
    }
}

/// `SummaryMetadata.plugin_data` (field 1) as (`plugin_name` 1, `content` 2).
pub(crate) fn plugin_data(metadata: &[u8]) -> Result<(&[u8], &[u8]), WireError> {
    let mut name: &[u8] = &[];
    let mut content: &[u8] = &[];
    for field in fields(metadata) {
        if let Field::Bytes(1, plugin_data) = field? {
            for inner in fields(plugin_data) {
                match inner? {
                    Field::Bytes(1, text) => name = text,
                    Field::Bytes(2, bytes) => content = bytes,
                    _ => {}
                }
            }
        }
    }
    Ok((name, content))
}

/// `HistogramProto` (summary.proto): the stored statistics. The buckets
/// (6 `bucket_limit`, 7 `bucket`) are not needed for them and not read.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Histogram {
    /// 1.
    pub min: f64,
    /// 2.
    pub max: f64,
    /// 3.
    pub num: f64,
    /// 4.
    pub sum: f64,
    /// 5.
    pub sum_squares: f64,
}

impl Histogram {
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut histogram = Histogram::default();
        for field in fields(bytes) {
            match field? {
                Field::Fixed64(1, bits) => histogram.min = f64::from_bits(bits),
                Field::Fixed64(2, bits) => histogram.max = f64::from_bits(bits),
                Field::Fixed64(3, bits) => histogram.num = f64::from_bits(bits),
                Field::Fixed64(4, bits) => histogram.sum = f64::from_bits(bits),
                Field::Fixed64(5, bits) => histogram.sum_squares = f64::from_bits(bits),
                _ => {}
            }
        }
        Ok(histogram)
    }
}

/// `LogMessage` (event.proto): (1 `level`, 2 `message`).
pub(crate) fn log_message(bytes: &[u8]) -> Result<(u64, &[u8]), WireError> {
    let mut level = 0;
    let mut message: &[u8] = &[];
    for field in fields(bytes) {
        match field? {
            Field::Varint(1, value) => level = value,
            Field::Bytes(2, text) => message = text,
            _ => {}
        }
    }
    Ok((level, message))
}

/// `SessionLog.status` (field 1) is `START` (1): a TF 1.x supervisor began a
/// session, which after the first one means the job restarted.
pub(crate) fn is_session_start(bytes: &[u8]) -> Result<bool, WireError> {
    let mut status = 0;
    for field in fields(bytes) {
        if let Field::Varint(1, value) = field? {
            status = value;
        }
    }
    Ok(status == 1)
}

/// `SourceMetadata.writer` (field 1), e.g. `tensorboard.summary.writer.event_file_writer`.
pub(crate) fn source_writer(bytes: &[u8]) -> Result<&[u8], WireError> {
    let mut writer: &[u8] = &[];
    for field in fields(bytes) {
        if let Field::Bytes(1, text) = field? {
            writer = text;
        }
    }
    Ok(writer)
}

/// `DataType` values (types.proto) that fmr reads as numbers.
mod dtype {
    pub const FLOAT: u64 = 1;
    pub const DOUBLE: u64 = 2;
    pub const INT32: u64 = 3;
    pub const UINT8: u64 = 4;
    pub const INT16: u64 = 5;
    pub const INT8: u64 = 6;
    pub const STRING: u64 = 7;
    pub const INT64: u64 = 9;
    pub const BOOL: u64 = 10;
    pub const BFLOAT16: u64 = 14;
    pub const UINT16: u64 = 17;
    pub const HALF: u64 = 19;
    pub const UINT32: u64 = 22;
    pub const UINT64: u64 = 23;
}

/// `TensorProto` (tensor.proto), numbers widened to f64 and strings kept as
/// bytes. Fields: 1 `dtype`, 2 `tensor_shape` (`TensorShapeProto`: 2 `dim`,
/// each with 1 `size`), 4 `tensor_content` (raw little-endian), 5 `float_val`,
/// 6 `double_val`, 7 `int_val`, 8 `string_val`, 10 `int64_val`,
/// 11 `bool_val`, 13 `half_val` (also bfloat16 bits), 16 `uint32_val`,
/// 17 `uint64_val`. The typed `*_val` fields and `tensor_content` are
/// alternatives: writers fill one of them.
pub(crate) struct Tensor<'a> {
    pub dtype: u64,
    /// The dimension sizes; empty for a scalar (rank 0).
    pub shape: Vec<i64>,
    content: &'a [u8],
    bytes: &'a [u8],
}

impl<'a> Tensor<'a> {
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut tensor = Tensor {
            dtype: 0,
            shape: Vec::new(),
            content: &[],
            bytes,
        };
        for field in fields(bytes) {
            match field? {
                Field::Varint(1, dtype) => tensor.dtype = dtype,
                Field::Bytes(2, shape) => {
                    tensor.shape.clear();
                    for dim in fields(shape) {
                        if let Field::Bytes(2, dim) = dim? {
                            let mut size = 0;
                            for part in fields(dim) {
                                if let Field::Varint(1, value) = part? {
                                    size = value as i64;
                                }
                            }
                            tensor.shape.push(size);
                        }
                    }
                }
                Field::Bytes(4, content) => tensor.content = content,
                _ => {}
            }
        }
        Ok(tensor)
    }

    /// The value of a tensor holding exactly one number, without allocating:
    /// `Ok(None)` for any other tensor (strings, several elements, none).
    pub(crate) fn single_number(&self) -> Result<Option<f64>, WireError> {
        let mut found = None;
        let mut count = 0_usize;
        self.for_each_number(|value| {
            count += 1;
            found = Some(value);
        })?;
        Ok(if count == 1 { found } else { None })
    }

    /// Every number of the tensor, in row-major order.
    pub(crate) fn numbers(&self) -> Result<Vec<f64>, WireError> {
        let mut out = Vec::new();
        self.for_each_number(|value| out.push(value))?;
        Ok(out)
    }

    /// The strings of a `DT_STRING` tensor.
    pub(crate) fn strings(&self) -> Result<Vec<&'a [u8]>, WireError> {
        let mut out = Vec::new();
        if self.dtype != dtype::STRING {
            return Ok(out);
        }
        for field in fields(self.bytes) {
            if let Field::Bytes(8, text) = field? {
                out.push(text);
            }
        }
        Ok(out)
    }

    fn for_each_number(&self, mut f: impl FnMut(f64)) -> Result<(), WireError> {
        let width = match self.dtype {
            dtype::FLOAT | dtype::INT32 | dtype::UINT32 => 4,
            dtype::DOUBLE | dtype::INT64 | dtype::UINT64 => 8,
            dtype::INT16 | dtype::UINT16 | dtype::HALF | dtype::BFLOAT16 => 2,
            dtype::INT8 | dtype::UINT8 | dtype::BOOL => 1,
            _ => return Ok(()),
        };
        if !self.content.is_empty() {
            if !self.content.len().is_multiple_of(width) {
                return Err(WireError);
            }
            for chunk in self.content.chunks_exact(width) {
                f(self.element(chunk));
            }
            return Ok(());
        }
        for field in fields(self.bytes) {
            let field = field?;
            match (self.dtype, field.number()) {
                (dtype::FLOAT, 5) => for_each_repeated(
                    field,
                    |b| packed_f32(b).map(f64::from),
                    |f| match f {
                        Field::Fixed32(_, bits) => Some(f64::from(f32::from_bits(bits))),
                        _ => None,
                    },
                    &mut f,
                )?,
                (dtype::DOUBLE, 6) => for_each_repeated(
                    field,
                    packed_f64,
                    |f| match f {
                        Field::Fixed64(_, bits) => Some(f64::from_bits(bits)),
                        _ => None,
                    },
                    &mut f,
                )?,
                (dtype::INT32 | dtype::INT16 | dtype::INT8, 7) => {
                    each_varint(field, |v| f64::from(v as i32), &mut f)?
                }
                (dtype::UINT8 | dtype::UINT16, 7) => {
                    each_varint(field, |v| f64::from(v as u32), &mut f)?
                }
                (dtype::INT64, 10) => each_varint(field, |v| v as i64 as f64, &mut f)?,
                (dtype::BOOL, 11) => {
                    each_varint(field, |v| if v != 0 { 1.0 } else { 0.0 }, &mut f)?
                }
                (dtype::HALF, 13) => each_varint(field, |v| f16_to_f64(v as u16), &mut f)?,
                (dtype::BFLOAT16, 13) => each_varint(field, |v| bf16_to_f64(v as u16), &mut f)?,
                (dtype::UINT32, 16) | (dtype::UINT64, 17) => {
                    each_varint(field, |v| v as f64, &mut f)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// One element of `tensor_content` (little-endian), widened to f64.
    fn element(&self, chunk: &[u8]) -> f64 {
        let mut bytes = [0_u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        match self.dtype {
            dtype::FLOAT => f64::from(f32::from_bits(word as u32)),
            dtype::DOUBLE => f64::from_bits(word),
            dtype::INT32 => f64::from(word as u32 as i32),
            dtype::UINT32 => f64::from(word as u32),
            dtype::INT64 => word as i64 as f64,
            dtype::UINT64 => word as f64,
            dtype::INT16 => f64::from(word as u16 as i16),
            dtype::UINT16 => f64::from(word as u16),
            dtype::HALF => f16_to_f64(word as u16),
            dtype::BFLOAT16 => bf16_to_f64(word as u16),
            dtype::INT8 => f64::from(word as u8 as i8),
            dtype::UINT8 => f64::from(word as u8),
            dtype::BOOL => {
                if word != 0 {
                    1.0
                } else {
                    0.0
                }
            }
            _ => f64::NAN,
        }
    }
}

fn each_varint(
    field: Field<'_>,
    convert: impl Fn(u64) -> f64,
    f: impl FnMut(f64),
) -> Result<(), WireError> {
    for_each_repeated(
        field,
        |input| varint(input).map(&convert),
        |field| match field {
            Field::Varint(_, value) => Some(convert(value)),
            _ => None,
        },
        f,
    )
}

/// IEEE half precision, widened exactly.
pub(crate) fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f64.powi(-24),
        0x1f if mantissa == 0.0 => sign * f64::INFINITY,
        0x1f => f64::NAN,
        _ => sign * (1.0 + mantissa / 1024.0) * 2f64.powi(exponent - 15),
    }
}

/// bfloat16 is the top half of an f32.
fn bf16_to_f64(bits: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(bits) << 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_field(number: u32, payload: &[u8], out: &mut Vec<u8>) {
        out.push((number << 3 | 2) as u8);
        out.push(payload.len() as u8);
        out.extend_from_slice(payload);
    }

    #[test]
    fn half_precision_widens_exactly() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
        assert_eq!(f16_to_f64(0xfc00), f64::NEG_INFINITY);
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(bf16_to_f64(0x3f80), 1.0);
    }

    #[test]
    fn tensor_scalars_in_every_encoding() {
        // DT_FLOAT, rank 0, packed float_val.
        let mut float_val = vec![0x08, 1];
        bytes_field(2, &[], &mut float_val);
        bytes_field(5, &0.25_f32.to_le_bytes(), &mut float_val);
        let tensor = Tensor::decode(&float_val).expect("valid");
        assert!(tensor.shape.is_empty());
        assert_eq!(tensor.single_number(), Ok(Some(0.25)));

        // DT_DOUBLE in tensor_content (TF2's tf.summary.scalar).
        let mut content = vec![0x08, 2];
        bytes_field(4, &(-1.5_f64).to_le_bytes(), &mut content);
        assert_eq!(
            Tensor::decode(&content).and_then(|t| t.single_number()),
            Ok(Some(-1.5))
        );

        // DT_INT64 in int64_val, negative.
        let mut int64 = vec![0x08, 9, 0x50];
        int64.extend([0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(
            Tensor::decode(&int64).and_then(|t| t.single_number()),
            Ok(Some(-3.0))
        );

        // DT_HALF as half_val (packed varints of the bits).
        let mut half = vec![0x08, 19];
        bytes_field(13, &[0x80, 0x78], &mut half);
        assert_eq!(
            Tensor::decode(&half).and_then(|t| t.single_number()),
            Ok(Some(1.0))
        );

        // Two elements are not a scalar; strings are not numbers.
        let mut pair = vec![0x08, 1];
        let mut two = 1.0_f32.to_le_bytes().to_vec();
        two.extend(2.0_f32.to_le_bytes());
        bytes_field(5, &two, &mut pair);
        let tensor = Tensor::decode(&pair).expect("valid");
        assert_eq!(tensor.single_number(), Ok(None));
        assert_eq!(tensor.numbers(), Ok(vec![1.0, 2.0]));
        let mut text = vec![0x08, 7];
        bytes_field(8, b"hello", &mut text);
        let tensor = Tensor::decode(&text).expect("valid");
        assert_eq!(tensor.single_number(), Ok(None));
        assert_eq!(tensor.strings(), Ok(vec![b"hello".as_slice()]));

        // tensor_content whose length is not a multiple of the element size.
        let mut ragged = vec![0x08, 1];
        bytes_field(4, &[0, 0, 0], &mut ragged);
        assert_eq!(
            Tensor::decode(&ragged).and_then(|t| t.single_number()),
            Err(WireError)
        );
    }

    #[test]
    fn event_fields_and_values() {
        let mut value = Vec::new();
        bytes_field(1, b"loss", &mut value);
        value.push(2 << 3 | 5);
        value.extend(0.5_f32.to_le_bytes());
        let mut summary = Vec::new();
        bytes_field(1, &value, &mut summary);
        let mut event = vec![0x09];
        event.extend(12.5_f64.to_le_bytes());
        event.extend([0x10, 7]);
        bytes_field(5, &summary, &mut event);
        bytes_field(5, &summary, &mut event);

        let decoded = Event::decode(&event).expect("valid");
        assert_eq!((decoded.wall_time, decoded.step), (12.5, 7));
        let mut seen = Vec::new();
        decoded
            .for_each_value(|bytes| {
                let value = Value::decode(bytes)?;
                seen.push((value.name().to_vec(), value.simple_value));
                Ok(())
            })
            .expect("valid");
        assert_eq!(
            seen,
            vec![(b"loss".to_vec(), Some(0.5)), (b"loss".to_vec(), Some(0.5))]
        );
    }
}
