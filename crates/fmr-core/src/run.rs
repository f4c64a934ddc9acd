use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One training run as ingested: named metric series, text events and config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Run {
    /// The run's name: its folder name, or the file stem for a lone file.
    pub name: String,
    /// The file or folder the run was read from.
    pub path: String,
    /// The detected format of each file that contributed (e.g. `csv`, `jsonl`).
    pub formats: Vec<String>,
    pub series: Vec<Series>,
    pub events: Vec<TextEvent>,
    /// Hyperparameters and other configuration found beside the logs.
    pub config: BTreeMap<String, serde_json::Value>,
}

impl Run {
    pub fn series(&self, tag: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.tag == tag)
    }

    /// The series for `tag`, created empty on first use.
    pub fn series_mut(&mut self, tag: &str) -> &mut Series {
        if let Some(i) = self.series.iter().position(|s| s.tag == tag) {
            return &mut self.series[i];
        }
        self.series.push(Series::new(tag));
        self.series.last_mut().expect("just pushed")
    }

    pub fn point_count(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

/// A named metric series: the values one tag took over training steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Series {
    pub tag: String,
    pub points: Vec<Point>,
}

impl Series {
    pub fn new(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            points: Vec::new(),
        }
    }

    pub fn steps(&self) -> impl Iterator<Item = i64> + '_ {
        self.points.iter().map(|p| p.step)
    }

    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.points.iter().map(|p| p.value)
    }

    /// Finite values only, in step order.
    pub fn finite_values(&self) -> Vec<f64> {
        self.values().filter(|v| v.is_finite()).collect()
    }
}

/// One value of a series. `value` may be NaN or infinite: that is data, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    pub step: i64,
    /// Seconds since the Unix epoch, where the format records it.
    pub wall_time: Option<f64>,
    pub value: f64,
}

/// A line of a text log that matters on its own: an error, a warning, a traceback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TextEvent {
    pub kind: TextEventKind,
    /// The file the line came from.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextEventKind {
    OutOfMemory,
    NonFinite,
    Distributed,
    Traceback,
    Error,
    Warning,
    /// Informational text that reports no trouble: a TensorBoard text
    /// summary such as `config (step 0): lr: 0.001`. Kept so that it can be
    /// shown and searched, never a symptom on its own.
    Note,
}
