//! Where common hyperparameters usually sit (`kb/hyperparameter-ranges.toml`).
//!
//! A value far outside its usual range is weak evidence for a failure mode whose
//! fix moves it back: a learning rate of 1e-6 for "learning rate too low", a
//! weight decay of 5 for "weight decay too strong". The ranges are wide on
//! purpose; they flag values unusual in almost any setting.

use serde::Deserialize;

/// The usual range of one canonical hyperparameter (either bound may be open).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsualRange {
    pub param: String,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Only for runs using one of these optimizers (lower-case class names);
    /// empty means any.
    #[serde(default)]
    pub optimizers: Vec<String>,
    /// Where the usual values come from.
    pub basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangesFile {
    range: Vec<UsualRange>,
}

/// The ranges compiled into this binary.
pub const EMBEDDED_RANGES: &str = include_str!("../../../kb/hyperparameter-ranges.toml");

/// Parses a ranges file; the message names what is wrong.
pub fn parse_ranges(text: &str) -> Result<Vec<UsualRange>, String> {
    let file: RangesFile = toml::from_str(text).map_err(|e| e.to_string())?;
    for r in &file.range {
        if r.low.is_none() && r.high.is_none() {
            return Err(format!("range for {} has neither low nor high", r.param));
        }
        if let (Some(low), Some(high)) = (r.low, r.high)
            && low >= high
        {
            return Err(format!(
                "range for {}: low {low} is not below high {high}",
                r.param
            ));
        }
    }
    Ok(file.range)
}

impl UsualRange {
    /// Whether this range applies to a run with this optimizer (unknown: only
    /// ranges without an optimizer condition apply).
    pub fn applies_to(&self, optimizer: Option<&str>) -> bool {
        self.optimizers.is_empty()
            || optimizer.is_some_and(|o| self.optimizers.iter().any(|x| x == o))
    }

    /// How far `value` lies outside the range, in decades, signed: negative
    /// below `low`, positive above `high`, 0 inside.
    pub fn decades_outside(&self, value: f64) -> f64 {
        if !value.is_finite() || value <= 0.0 {
            return 0.0;
        }
        if let Some(low) = self.low
            && value < low
        {
            return (value / low).log10();
        }
        if let Some(high) = self.high
            && value > high
        {
            return (value / high).log10();
        }
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_ranges_parse_and_measure_decades() {
        let ranges = parse_ranges(EMBEDDED_RANGES).expect("embedded ranges parse");
        let lr = ranges
            .iter()
            .find(|r| r.param == "learning_rate")
            .expect("lr range");
        assert!((lr.decades_outside(1e-6) + 1.0).abs() < 1e-9);
        assert_eq!(lr.decades_outside(1e-3), 0.0);
        assert!(lr.decades_outside(5.0) > 0.9);
        let coupled = ranges
            .iter()
            .find(|r| r.param == "weight_decay" && r.applies_to(Some("adam")))
            .expect("a weight-decay range for Adam");
        assert!(coupled.decades_outside(0.1) > 0.9);
        let decoupled = ranges
            .iter()
            .find(|r| r.param == "weight_decay" && r.applies_to(Some("adamw")))
            .expect("a weight-decay range for AdamW");
        assert_eq!(decoupled.decades_outside(0.1), 0.0);
        assert!(parse_ranges("[[range]]\nparam = \"x\"\nbasis = \"b\"\n").is_err());
        assert!(
            parse_ranges("[[range]]\nparam = \"x\"\nlow = 2.0\nhigh = 1.0\nbasis = \"b\"\n")
                .is_err()
        );
    }
}
