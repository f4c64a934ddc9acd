//! A small TensorBoard event-file writer, for the tests, the fuzz seed corpus
//! and the ingest benchmark.
//!
//! It encodes with prost, from messages written out here with the field
//! numbers of TensorFlow's `event.proto`, `summary.proto` and `tensor.proto`,
//! while fmr's reader walks the wire format by hand: a round trip checks one
//! against the other. Included by path (`#[path = ...] mod event_writer;`)
//! wherever it is needed, so it depends on nothing but prost and crc32c.

#![allow(dead_code)] // each includer uses a different part

use prost::Message;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    #[prost(string, tag = "1")]
    pub tag: String,
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    #[prost(message, optional, tag = "5")]
    pub histo: Option<HistogramProto>,
    #[prost(message, optional, tag = "8")]
    pub tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramProto {
    #[prost(double, tag = "1")]
    pub min: f64,
    #[prost(double, tag = "2")]
    pub max: f64,
    #[prost(double, tag = "3")]
    pub num: f64,
    #[prost(double, tag = "4")]
    pub sum: f64,
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// `DataType`: 1 float, 2 double, 7 string.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Dim {
    #[prost(int64, tag = "1")]
    pub size: i64,
}

pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

/// Appends `payload` as one TFRecord.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let length = (payload.len() as u64).to_le_bytes();
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc32c(payload).to_le_bytes());
}

/// Appends `event` as one record to `out`, with `scratch` as the encoding buffer.
pub fn write_event(
    out: &mut impl std::io::Write,
    event: &Event,
    scratch: &mut Vec<u8>,
) -> std::io::Result<()> {
    scratch.clear();
    event.encode(scratch).expect("a Vec grows as needed");
    let length = (scratch.len() as u64).to_le_bytes();
    out.write_all(&length)?;
    out.write_all(&masked_crc32c(&length).to_le_bytes())?;
    out.write_all(scratch)?;
    out.write_all(&masked_crc32c(scratch).to_le_bytes())
}

/// Builds an event file in memory, one event at a time.
#[derive(Default)]
pub struct EventFile {
    pub bytes: Vec<u8>,
    /// Byte offset of each record, in order.
    pub offsets: Vec<usize>,
    payload: Vec<u8>,
}

impl EventFile {
    pub fn event(&mut self, event: &Event) -> &mut Self {
        self.payload.clear();
        event
            .encode(&mut self.payload)
            .expect("a Vec grows as needed");
        self.offsets.push(self.bytes.len());
        frame(&self.payload, &mut self.bytes);
        self
    }

    /// The first record of every writer.
    pub fn file_version(&mut self, wall_time: f64) -> &mut Self {
        self.event(&Event {
            wall_time,
            file_version: Some("brain.Event:2".into()),
            ..Event::default()
        })
    }

    pub fn value(&mut self, wall_time: f64, step: i64, value: SummaryValue) -> &mut Self {
        self.event(&Event {
            wall_time,
            step,
            summary: Some(Summary { value: vec![value] }),
            ..Event::default()
        })
    }

    /// A `simple_value` scalar, as tensorboardX and PyTorch write it.
    pub fn scalar(&mut self, wall_time: f64, step: i64, tag: &str, value: f32) -> &mut Self {
        self.value(
            wall_time,
            step,
            SummaryValue {
                tag: tag.into(),
                simple_value: Some(value),
                ..SummaryValue::default()
            },
        )
    }

    /// A rank-0 tensor scalar with the `scalars` plugin, as TF 2 writes it.
    pub fn tensor_scalar(&mut self, wall_time: f64, step: i64, tag: &str, value: f64) -> &mut Self {
        self.value(
            wall_time,
            step,
            SummaryValue {
                tag: tag.into(),
                tensor: Some(TensorProto {
                    dtype: 2,
                    tensor_shape: Some(TensorShapeProto::default()),
                    tensor_content: value.to_le_bytes().to_vec(),
                    ..TensorProto::default()
                }),
                metadata: Some(plugin("scalars", Vec::new())),
                ..SummaryValue::default()
            },
        )
    }

    pub fn histogram(&mut self, wall_time: f64, step: i64, tag: &str, values: &[f64]) -> &mut Self {
        let histo = HistogramProto {
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            num: values.len() as f64,
            sum: values.iter().sum(),
            sum_squares: values.iter().map(|v| v * v).sum(),
            bucket_limit: vec![0.0, f64::MAX],
            bucket: vec![0.0, values.len() as f64],
        };
        self.value(
            wall_time,
            step,
            SummaryValue {
                tag: tag.into(),
                histo: Some(histo),
                ..SummaryValue::default()
            },
        )
    }

    pub fn text(&mut self, wall_time: f64, step: i64, tag: &str, text: &str) -> &mut Self {
        self.value(
            wall_time,
            step,
            SummaryValue {
                tag: tag.into(),
                tensor: Some(TensorProto {
                    dtype: 7,
                    tensor_shape: Some(TensorShapeProto {
                        dim: vec![Dim { size: 1 }],
                    }),
                    string_val: vec![text.as_bytes().to_vec()],
                    ..TensorProto::default()
                }),
                metadata: Some(plugin("text", Vec::new())),
                ..SummaryValue::default()
            },
        )
    }
}

pub fn plugin(name: &str, content: Vec<u8>) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: name.into(),
            content,
        }),
    }
}
