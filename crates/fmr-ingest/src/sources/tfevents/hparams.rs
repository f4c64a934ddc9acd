//! The hparams plugin's data: the hyperparameters of a session, and how it
//! ended. Hand-written prost messages; field numbers from TensorBoard's
//! `tensorboard/plugins/hparams/plugin_data.proto` and `api.proto`, and
//! `google/protobuf/struct.proto` for the values. The `Experiment` message
//! (which hyperparameters and metrics a study declares) is not read: the
//! values a run used are in its session start.

use std::collections::BTreeMap;

use prost::Message;

use crate::json::float_to_serde;

/// `HParamsPluginData`: 1 `version`, then one of 2 `experiment`,
/// 3 `session_start_info`, 4 `session_end_info`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    pub version: i32,
    #[prost(message, optional, tag = "3")]
    pub session_start_info: Option<SessionStartInfo>,
    #[prost(message, optional, tag = "4")]
    pub session_end_info: Option<SessionEndInfo>,
}

/// `SessionStartInfo`: 1 `map<string, google.protobuf.Value> hparams`,
/// 2 `model_uri`, 3 `monitor_url`, 4 `group_name`, 5 `start_time_secs`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    pub hparams: BTreeMap<String, ProtoValue>,
    #[prost(string, tag = "4")]
    pub group_name: String,
    #[prost(double, tag = "5")]
    pub start_time_secs: f64,
}

/// `SessionEndInfo`: 1 `Status status`, 2 `end_time_secs`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SessionEndInfo {
    #[prost(int32, tag = "1")]
    pub status: i32,
    #[prost(double, tag = "2")]
    pub end_time_secs: f64,
}

/// `google.protobuf.Value`: one of 1 `null_value`, 2 `number_value`,
/// 3 `string_value`, 4 `bool_value`, 5 `struct_value`, 6 `list_value`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProtoValue {
    #[prost(oneof = "Kind", tags = "1, 2, 3, 4, 5, 6")]
    pub kind: Option<Kind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum Kind {
    #[prost(int32, tag = "1")]
    Null(i32),
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    String(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
    /// `Struct`: 1 `map<string, Value> fields`.
    #[prost(message, tag = "5")]
    Struct(ProtoStruct),
    /// `ListValue`: 1 `repeated Value values`.
    #[prost(message, tag = "6")]
    List(ProtoList),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProtoStruct {
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, ProtoValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProtoList {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<ProtoValue>,
}

impl ProtoValue {
    pub(crate) fn to_serde(&self) -> serde_json::Value {
        match &self.kind {
            None | Some(Kind::Null(_)) => serde_json::Value::Null,
            Some(Kind::Number(number)) => whole_or_float(*number),
            Some(Kind::String(text)) => serde_json::Value::String(text.clone()),
            Some(Kind::Bool(flag)) => serde_json::Value::Bool(*flag),
            Some(Kind::Struct(fields)) => serde_json::Value::Object(
                fields
                    .fields
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_serde()))
                    .collect(),
            ),
            Some(Kind::List(list)) => {
                serde_json::Value::Array(list.values.iter().map(ProtoValue::to_serde).collect())
            }
        }
    }
}

/// `google.protobuf.Value` has only doubles; a batch size of 32 reads
/// better, and compares equal to the YAML one, as the integer 32.
fn whole_or_float(number: f64) -> serde_json::Value {
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.fract() == 0.0 && number.abs() < EXACT_INTEGERS {
        serde_json::Value::from(number as i64)
    } else {
        float_to_serde(number)
    }
}

/// `Status` (api.proto) as a word.
pub(crate) fn status_name(status: i32) -> &'static str {
    match status {
        1 => "success",
        2 => "failure",
        3 => "running",
        _ => "unknown",
    }
}

pub(crate) fn decode(content: &[u8]) -> Option<HParamsPluginData> {
    HParamsPluginData::decode(content).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_start_round_trips_through_prost() {
        let data = HParamsPluginData {
            version: 0,
            session_start_info: Some(SessionStartInfo {
                hparams: BTreeMap::from([
                    (
                        "lr".to_string(),
                        ProtoValue {
                            kind: Some(Kind::Number(0.001)),
                        },
                    ),
                    (
                        "batch_size".to_string(),
                        ProtoValue {
                            kind: Some(Kind::Number(32.0)),
                        },
                    ),
                    (
                        "optimizer".to_string(),
                        ProtoValue {
                            kind: Some(Kind::String("adam".into())),
                        },
                    ),
                ]),
                group_name: String::new(),
                start_time_secs: 1.5,
            }),
            session_end_info: None,
        };
        let decoded = decode(&data.encode_to_vec()).expect("valid");
        let start = decoded.session_start_info.expect("a session start");
        assert_eq!(start.hparams["lr"].to_serde(), serde_json::json!(0.001));
        assert_eq!(
            start.hparams["batch_size"].to_serde(),
            serde_json::json!(32)
        );
        assert_eq!(
            start.hparams["optimizer"].to_serde(),
            serde_json::json!("adam")
        );
        assert_eq!(status_name(2), "failure");
        assert!(decode(&[0xff]).is_none());
    }
}
