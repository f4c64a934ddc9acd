//! The records of a `.wandb` log that fmr reads, as hand-written prost
//! messages. Field numbers are those of wandb's `wandb_internal.proto`
//! (package `wandb_internal`), whose header says that record numbers on disk
//! never change; checked against the descriptors shipped in wandb 0.31.0.
//! Fields and record kinds not listed here are skipped by prost.

/// `Record`: 1 `num`, then one record kind (a oneof).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Record {
    #[prost(int64, tag = "1")]
    pub num: i64,
    #[prost(oneof = "RecordKind", tags = "2, 3, 4, 5, 7, 13, 17, 18, 21, 26")]
    pub kind: Option<RecordKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum RecordKind {
    #[prost(message, tag = "2")]
    History(HistoryRecord),
    #[prost(message, tag = "3")]
    Summary(SummaryRecord),
    /// `OutputRecord`, the console output of older SDKs (same fields as 13).
    #[prost(message, tag = "4")]
    Output(OutputRecord),
    #[prost(message, tag = "5")]
    Config(ConfigRecord),
    /// `StatsRecord`: a sample of the system monitor (GPU, CPU, memory, disk, network).
    #[prost(message, tag = "7")]
    Stats(StatsRecord),
    /// `OutputRawRecord`.
    #[prost(message, tag = "13")]
    OutputRaw(OutputRecord),
    #[prost(message, tag = "17")]
    Run(RunRecord),
    /// `RunExitRecord`.
    #[prost(message, tag = "18")]
    Exit(RunExitRecord),
    #[prost(message, tag = "21")]
    Header(HeaderRecord),
    /// `EnvironmentRecord` (wandb 0.19 and later): what `wandb-metadata.json` held.
    #[prost(message, tag = "26")]
    Environment(EnvironmentRecord),
}

/// `HistoryRecord`: 1 `item` (repeated), 2 `step` (`HistoryStep`: 1 `num`).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HistoryRecord {
    #[prost(message, repeated, tag = "1")]
    pub item: Vec<HistoryItem>,
    #[prost(message, optional, tag = "2")]
    pub step: Option<HistoryStep>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HistoryStep {
    #[prost(int64, tag = "1")]
    pub num: i64,
}

/// `HistoryItem`: 1 `key`, 2 `nested_key` (repeated), 16 `value_json`; wandb
/// 0.31 also defines typed values 4 `boolean`, 5 `integer` (sint64),
/// 6 `number` (double), 7 `text`, 8 `json`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HistoryItem {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, repeated, tag = "2")]
    pub nested_key: Vec<String>,
    #[prost(bool, optional, tag = "4")]
    pub boolean: Option<bool>,
    #[prost(sint64, optional, tag = "5")]
    pub integer: Option<i64>,
    #[prost(double, optional, tag = "6")]
    pub number: Option<f64>,
    #[prost(string, optional, tag = "7")]
    pub text: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub json: Option<String>,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

/// `SummaryRecord` and `ConfigRecord`: 1 `update`, 2 `remove`, both
/// repeated items of 1 `key`, 2 `nested_key`, 16 `value_json`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SummaryRecord {
    #[prost(message, repeated, tag = "1")]
    pub update: Vec<Item>,
    #[prost(message, repeated, tag = "2")]
    pub remove: Vec<Item>,
}

pub(crate) type ConfigRecord = SummaryRecord;

/// `SummaryItem` / `ConfigItem`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Item {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, repeated, tag = "2")]
    pub nested_key: Vec<String>,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

/// `StatsRecord`: 1 `stats_type` (0 = system), 2 `timestamp`
/// (`google.protobuf.Timestamp`), 3 `item` (repeated `StatsItem`: 1 `key`,
/// 16 `value_json`).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StatsRecord {
    #[prost(int32, tag = "1")]
    pub stats_type: i32,
    #[prost(message, optional, tag = "2")]
    pub timestamp: Option<Timestamp>,
    #[prost(message, repeated, tag = "3")]
    pub item: Vec<Item>,
}

/// `OutputRecord` / `OutputRawRecord`: 1 `output_type` (0 stderr, 1 stdout),
/// 3 `line` (a piece of console text; line breaks arrive as pieces too).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct OutputRecord {
    #[prost(int32, tag = "1")]
    pub output_type: i32,
    #[prost(string, tag = "3")]
    pub line: String,
}

/// `RunRecord`: 1 `run_id`, 2 `entity`, 3 `project`, 4 `config`,
/// 6 `run_group`, 7 `job_type`, 8 `display_name`, 13 `host`,
/// 17 `start_time` (`google.protobuf.Timestamp`: 1 `seconds`, 2 `nanos`),
/// 18 `resumed`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RunRecord {
    #[prost(string, tag = "1")]
    pub run_id: String,
    #[prost(string, tag = "2")]
    pub entity: String,
    #[prost(string, tag = "3")]
    pub project: String,
    #[prost(message, optional, tag = "4")]
    pub config: Option<ConfigRecord>,
    #[prost(string, tag = "6")]
    pub run_group: String,
    #[prost(string, tag = "7")]
    pub job_type: String,
    #[prost(string, tag = "8")]
    pub display_name: String,
    #[prost(string, tag = "13")]
    pub host: String,
    #[prost(message, optional, tag = "17")]
    pub start_time: Option<Timestamp>,
    #[prost(bool, tag = "18")]
    pub resumed: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `RunExitRecord`: 1 `exit_code`, 2 `runtime` (seconds).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RunExitRecord {
    #[prost(int32, tag = "1")]
    pub exit_code: i32,
    #[prost(int32, tag = "2")]
    pub runtime: i32,
}

/// `HeaderRecord`: 1 `version_info` (`VersionInfo`: 1 `producer`).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HeaderRecord {
    #[prost(message, optional, tag = "1")]
    pub version_info: Option<VersionInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VersionInfo {
    #[prost(string, tag = "1")]
    pub producer: String,
}

/// `EnvironmentRecord`: 1 `os`, 2 `python`, 6 `program`, 12 `host`,
/// 16 `cpu_count`, 17 `cpu_count_logical`, 18 `gpu_type`, 19 `gpu_count`,
/// 24 `gpu_nvidia` (repeated `GpuNvidiaInfo`: 1 `name`, 2 `memory_total`),
/// 25 `cuda_version`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EnvironmentRecord {
    #[prost(string, tag = "1")]
    pub os: String,
    #[prost(string, tag = "2")]
    pub python: String,
    #[prost(string, tag = "6")]
    pub program: String,
    #[prost(string, tag = "12")]
    pub host: String,
    #[prost(uint32, tag = "16")]
    pub cpu_count: u32,
    #[prost(uint32, tag = "17")]
    pub cpu_count_logical: u32,
    #[prost(string, tag = "18")]
    pub gpu_type: String,
    #[prost(uint32, tag = "19")]
    pub gpu_count: u32,
    #[prost(message, repeated, tag = "24")]
    pub gpu_nvidia: Vec<GpuNvidiaInfo>,
    #[prost(string, tag = "25")]
    pub cuda_version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct GpuNvidiaInfo {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(uint64, tag = "2")]
    pub memory_total: u64,
}
