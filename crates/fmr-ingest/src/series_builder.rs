//! Collects points by tag without a linear search per point.

use std::collections::HashMap;

use fmr_core::{Point, Run, Series};

/// Series under construction, in order of first appearance.
///
/// `Run::series_mut` scans the run's series for each call; an RLlib
/// `result.json` has hundreds of tags per line, so readers collect here and
/// move the finished series into the run once.
#[derive(Debug, Default)]
pub(crate) struct SeriesBuilder {
    index: HashMap<String, usize>,
    series: Vec<Series>,
}

impl SeriesBuilder {
    pub(crate) fn push(&mut self, tag: &str, point: Point) {
        let slot = match self.index.get(tag) {
            Some(&slot) => slot,
            None => {
                self.index.insert(tag.to_string(), self.series.len());
                self.series.push(Series::new(tag));
                self.series.len() - 1
            }
        };
        self.series[slot].points.push(point);
    }

    /// Appends the series to `run` (which a reader receives empty).
    pub(crate) fn finish_into(self, run: &mut Run) {
        run.series.extend(self.series);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_appearance_order() {
        let mut builder = SeriesBuilder::default();
        for (tag, step) in [("b", 1), ("a", 1), ("b", 2)] {
            builder.push(
                tag,
                Point {
                    step,
                    wall_time: None,
                    value: 0.5,
                },
            );
        }
        let mut run = Run::default();
        builder.finish_into(&mut run);
        let tags: Vec<_> = run
            .series
            .iter()
            .map(|s| (s.tag.as_str(), s.points.len()))
            .collect();
        assert_eq!(tags, [("b", 2), ("a", 1)]);
    }
}
