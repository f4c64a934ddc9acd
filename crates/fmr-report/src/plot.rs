//! SVG line plots of metric series for the HTML report, drawn with plotters.
//!
//! A plot shows one series with its symptom windows shaded, onsets marked by a
//! dashed line, and the steps where the value was NaN or infinite as a red band
//! above the curve (a non-finite value has no height to draw). Long series are
//! reduced in one pass to the first, lowest, highest and last value of each of
//! [`BUCKETS`] step buckets, so a million-point run costs a few milliseconds
//! and a few hundred kilobytes at most, and no spike is lost.

use fmr_core::Point;
use plotters::prelude::*;

/// Step buckets across the plot: about two per horizontal pixel of the plot area.
const BUCKETS: usize = 800;
/// The SVG's own size; the page scales it to its column (viewBox).
const WIDTH: u32 = 640;
const HEIGHT: u32 = 300;
/// Values spanning at least this ratio, all positive, are drawn on a log axis.
const LOG_SCALE_RATIO: f64 = 1e3;

const LINE: RGBColor = RGBColor(31, 111, 178);
const SHADE: RGBColor = RGBColor(232, 125, 30);
const ALERT: RGBColor = RGBColor(179, 38, 30);
const GRID: RGBColor = RGBColor(232, 235, 238);
const INK: RGBColor = RGBColor(70, 78, 86);

/// A step range to shade, labelled with the symptom codes seen there.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shade {
    pub start: i64,
    pub end: i64,
    pub label: String,
}

/// A step to mark with a dashed vertical line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Marker {
    pub step: i64,
    pub label: String,
}

/// A drawn plot and the facts its caption states.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RenderedPlot {
    pub svg: String,
    pub points: usize,
    pub non_finite: usize,
    pub log_scale: bool,
}

/// The series reduced to what gets drawn, in plot coordinates.
#[derive(Debug, Clone, PartialEq)]
struct Prepared {
    x_range: (f64, f64),
    /// Includes room for the non-finite band at the top, if any.
    y_range: (f64, f64),
    /// The top of the data area; the non-finite band sits above it.
    data_top: f64,
    log_scale: bool,
    /// Runs of finite points, broken wherever the value was not finite.
    segments: Vec<Vec<(f64, f64)>>,
    /// Step ranges whose values were NaN or infinite.
    non_finite: Vec<(f64, f64)>,
    non_finite_points: usize,
}

/// Draws `points` as an SVG with `shades` and `markers`; `title` becomes the
/// SVG's accessible name. None when there is nothing to draw or plotters fails.
pub(crate) fn render(
    points: &[Point],
    shades: &[Shade],
    markers: &[Marker],
    title: &str,
) -> Option<RenderedPlot> {
    let prepared = prepare(points)?;
    let mut svg = String::new();
    draw(&prepared, shades, markers, &mut svg).ok()?;
    Some(RenderedPlot {
        svg: responsive(&svg, title),
        points: points.len(),
        non_finite: prepared.non_finite_points,
        log_scale: prepared.log_scale,
    })
}

fn prepare(points: &[Point]) -> Option<Prepared> {
    if points.is_empty() {
        return None;
    }
    let sorted;
    let points = if points.windows(2).all(|w| w[0].step <= w[1].step) {
        points
    } else {
        let mut copy = points.to_vec();
        copy.sort_by_key(|p| p.step);
        sorted = copy;
        &sorted
    };
    let first_step = points.first()?.step as f64;
    let last_step = points.last()?.step as f64;

    let (min, max) = points
        .iter()
        .filter(|p| p.value.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.value), hi.max(p.value))
        });
    let any_finite = min <= max;
    let log_scale = any_finite && min > 0.0 && max / min >= LOG_SCALE_RATIO;
    let to_y = |v: f64| if log_scale { v.log10() } else { v };

    let span = (last_step - first_step).max(1.0);
    let bucket_of = |step: f64| (((step - first_step) / span) * (BUCKETS - 1) as f64) as usize;
    let bucket_width = span / BUCKETS as f64;

    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut segment: Vec<(f64, f64)> = Vec::new();
    let mut bucket = Bucket::default();
    let mut non_finite: Vec<(f64, f64)> = Vec::new();
    let mut non_finite_points = 0;
    let mut previous_was_finite = true;
    for point in points {
        let x = point.step as f64;
        if !point.value.is_finite() {
            non_finite_points += 1;
            bucket.flush_into(&mut segment);
            if !segment.is_empty() {
                segments.push(std::mem::take(&mut segment));
            }
            // Extend the current span over consecutive bad points, and merge
            // spans closer than a bucket, so their number stays bounded.
            match non_finite.last_mut() {
                Some(last) if !previous_was_finite || x - last.1 <= bucket_width => last.1 = x,
                _ => non_finite.push((x, x)),
            }
            previous_was_finite = false;
            continue;
        }
        previous_was_finite = true;
        let index = bucket_of(x);
        if bucket.index != Some(index) {
            bucket.flush_into(&mut segment);
            bucket.index = Some(index);
        }
        bucket.add(x, to_y(point.value));
    }
    bucket.flush_into(&mut segment);
    if !segment.is_empty() {
        segments.push(segment);
    }

    let x_range = if first_step < last_step {
        (first_step, last_step)
    } else {
        (first_step - 1.0, last_step + 1.0)
    };
    let (lo, hi) = if any_finite {
        (to_y(min), to_y(max))
    } else {
        (0.0, 1.0)
    };
    let pad = if hi - lo > f64::EPSILON * hi.abs().max(1.0) {
        (hi - lo) * 0.06
    } else {
        (hi.abs() * 0.05).max(0.5)
    };
    let (y_low, data_top) = (lo - pad, hi + pad);
    let y_high = if non_finite.is_empty() {
        data_top
    } else {
        data_top + (data_top - y_low) * 0.1
    };
    // Values near f64::MAX overflow the padded range; such a plot has no scale.
    if ![x_range.0, x_range.1, y_low, y_high]
        .iter()
        .all(|v| v.is_finite())
    {
        return None;
    }
    Some(Prepared {
        x_range,
        y_range: (y_low, y_high),
        data_top,
        log_scale,
        segments,
        non_finite,
        non_finite_points,
    })
}

/// First, lowest, highest and last point of one step bucket.
#[derive(Debug, Default)]
struct Bucket {
    index: Option<usize>,
    first: Option<(f64, f64)>,
    low: Option<(f64, f64)>,
    high: Option<(f64, f64)>,
    last: Option<(f64, f64)>,
}

impl Bucket {
    fn add(&mut self, x: f64, y: f64) {
        self.first.get_or_insert((x, y));
        if self.low.is_none_or(|(_, low)| y < low) {
            self.low = Some((x, y));
        }
        if self.high.is_none_or(|(_, high)| y > high) {
            self.high = Some((x, y));
        }
        self.last = Some((x, y));
    }

    /// Appends the bucket's points in step order and empties it.
    fn flush_into(&mut self, segment: &mut Vec<(f64, f64)>) {
        let mut kept: Vec<(f64, f64)> = [self.first, self.low, self.high, self.last]
            .into_iter()
            .flatten()
            .collect();
        kept.sort_by(|a, b| a.0.total_cmp(&b.0));
        kept.dedup();
        segment.extend(kept);
        *self = Bucket::default();
    }
}

fn draw(
    plot: &Prepared,
    shades: &[Shade],
    markers: &[Marker],
    svg: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let (x0, x1) = plot.x_range;
    let (y0, y1) = plot.y_range;
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let log_scale = plot.log_scale;
    let value_label = move |y: &f64| {
        if log_scale {
            compact_number(10f64.powf(*y))
        } else {
            compact_number(*y)
        }
    };
    let step_label = |x: &f64| step_number(*x);
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&step_label)
        .y_label_formatter(&value_label)
        .x_desc("step")
        .label_style(("sans-serif", 23).into_font().color(&INK))
        .axis_desc_style(("sans-serif", 21).into_font().color(&INK))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK.mix(0.6))
        .draw()?;

    let clamp = |step: i64| (step as f64).clamp(x0, x1);
    let min_width = (x1 - x0) / 300.0;
    let label_style = ("sans-serif", 21).into_font().color(&ALERT);
    for shade in shades {
        let (start, end) = (clamp(shade.start), clamp(shade.end));
        let end = end.max(start + min_width);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(start, y0), (end, plot.data_top)],
            SHADE.mix(0.18).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            shade.label.clone(),
            (start, plot.data_top),
            label_style.clone(),
        )))?;
    }
    for (start, end) in &plot.non_finite {
        let end = end.max(start + min_width);
        chart.draw_series(std::iter::once(Rectangle::new(
            [
                (*start, plot.data_top + (y1 - plot.data_top) * 0.25),
                (end, y1),
            ],
            ALERT.filled(),
        )))?;
    }
    if let Some((start, _)) = plot.non_finite.first() {
        // Inside the band, which sits above the data.
        chart.draw_series(std::iter::once(Text::new(
            "NaN/Inf".to_string(),
            (*start, y1),
            ("sans-serif", 19).into_font().color(&WHITE),
        )))?;
    }
    for segment in &plot.segments {
        if let [single] = segment.as_slice() {
            chart.draw_series(std::iter::once(Circle::new(*single, 2, LINE.filled())))?;
        } else {
            chart.draw_series(LineSeries::new(
                segment.iter().copied(),
                LINE.stroke_width(2),
            ))?;
        }
    }
    for marker in markers {
        let x = clamp(marker.step);
        chart.draw_series(DashedLineSeries::new(
            [(x, y0), (x, y1)],
            6,
            4,
            ALERT.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            marker.label.clone(),
            (x, y0 + (y1 - y0) * 0.08),
            label_style.clone(),
        )))?;
    }
    root.present()?;
    Ok(())
}

/// Lets the page size the SVG: drops the fixed width and height (the viewBox
/// stays) and names it for screen readers.
fn responsive(svg: &str, title: &str) -> String {
    let fixed = format!("<svg width=\"{WIDTH}\" height=\"{HEIGHT}\" ");
    let title = crate::html::esc(title);
    match svg.strip_prefix(&fixed) {
        Some(rest) => {
            let (open, body) = rest.split_once('>').unwrap_or((rest, ""));
            format!(
                "<svg class=\"plot\" role=\"img\" aria-label=\"{title}\" {open}><title>{title}</title>{body}"
            )
        }
        None => svg.to_string(),
    }
}

/// Steps as people write them: 2,140 · 15k · 1.2M.
pub(crate) fn step_number(x: f64) -> String {
    let magnitude = x.abs();
    if magnitude >= 1e6 {
        format!("{}M", trim_zeros(&format!("{:.1}", x / 1e6)))
    } else if magnitude >= 1e5 {
        format!("{}k", trim_zeros(&format!("{:.0}", x / 1e3)))
    } else if x.fract() == 0.0 {
        thousands(x as i64)
    } else {
        trim_zeros(&format!("{x:.1}"))
    }
}

/// An integer with thousands separators.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A value with three significant digits, in scientific notation when very
/// small or large.
fn compact_number(y: f64) -> String {
    let magnitude = y.abs();
    if magnitude == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&magnitude) {
        let text = format!("{y:.1e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => text,
        }
    } else {
        let decimals = (2 - magnitude.log10().floor() as i32).max(0) as usize;
        trim_zeros(&format!("{y:.decimals$}"))
    }
}

fn trim_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[(i64, f64)]) -> Vec<Point> {
        values
            .iter()
            .map(|&(step, value)| Point {
                step,
                wall_time: None,
                value,
            })
            .collect()
    }

    #[test]
    fn non_finite_values_break_the_line_and_become_spans() {
        let p = prepare(&points(&[
            (0, 1.0),
            (1, 2.0),
            (2, f64::NAN),
            (3, f64::INFINITY),
            (4, 3.0),
            (5, 4.0),
        ]))
        .unwrap();
        assert_eq!(p.segments.len(), 2);
        assert_eq!(p.non_finite, vec![(2.0, 3.0)]);
        assert_eq!(p.non_finite_points, 2);
        assert!(p.y_range.1 > p.data_top, "room for the band");
    }

    #[test]
    fn long_series_are_reduced_without_losing_the_spike() {
        let mut values: Vec<(i64, f64)> = (0..1_000_000).map(|i| (i, 1.0)).collect();
        values[654_321].1 = 50.0;
        let p = prepare(&points(&values)).unwrap();
        let drawn: usize = p.segments.iter().map(Vec::len).sum();
        assert!(drawn <= 4 * BUCKETS, "{drawn} points drawn");
        assert!(p.segments[0].contains(&(654_321.0, 50.0)));
    }

    #[test]
    fn wide_positive_ranges_use_a_log_axis() {
        let p = prepare(&points(&[(0, 1e-5), (1, 1e-3), (2, 0.1)])).unwrap();
        assert!(p.log_scale);
        assert_eq!(p.segments[0][0], (0.0, -5.0));
        let linear = prepare(&points(&[(0, -1.0), (1, 1e4)])).unwrap();
        assert!(!linear.log_scale);
    }

    #[test]
    fn degenerate_series_still_get_a_drawable_range() {
        for series in [
            points(&[(7, 2.0)]),
            points(&[(0, 5.0), (1, 5.0)]),
            points(&[(0, f64::NAN), (1, f64::NAN)]),
        ] {
            let p = prepare(&series).unwrap();
            assert!(
                p.x_range.0 < p.x_range.1 && p.y_range.0 < p.y_range.1,
                "{p:?}"
            );
            assert!(render(&series, &[], &[], "t").is_some());
        }
        assert!(prepare(&[]).is_none());
        assert!(render(&points(&[(0, 1e308), (1, -1e308)]), &[], &[], "t").is_none());
    }

    #[test]
    fn unsorted_points_are_drawn_in_step_order() {
        let p = prepare(&points(&[(2, 3.0), (0, 1.0), (1, 2.0)])).unwrap();
        let xs: Vec<f64> = p.segments[0].iter().map(|(x, _)| *x).collect();
        assert_eq!(xs, [0.0, 1.0, 2.0]);
    }

    #[test]
    fn the_svg_scales_and_is_named() {
        let plot = render(
            &points(&[(0, 1.0), (10, 2.0), (20, f64::NAN)]),
            &[Shade {
                start: 10,
                end: 20,
                label: "S101".into(),
            }],
            &[Marker {
                step: 20,
                label: "onset 20".into(),
            }],
            "run · train/loss <&>",
        )
        .unwrap();
        assert!(
            plot.svg
                .starts_with("<svg class=\"plot\" role=\"img\" aria-label=\"run · train/loss &lt;&amp;&gt;\" viewBox=\"0 0 640 300\""),
            "{}",
            &plot.svg[..200]
        );
        assert!(
            plot.svg
                .contains("<title>run · train/loss &lt;&amp;&gt;</title>")
        );
        assert!(plot.svg.contains(">\nS101\n<") && plot.svg.contains("onset 20"));
        assert!(plot.svg.contains("NaN/Inf"));
        assert_eq!(plot.non_finite, 1);
    }

    #[test]
    fn numbers_read_like_a_person_wrote_them() {
        assert_eq!(step_number(2140.0), "2,140");
        assert_eq!(step_number(150_000.0), "150k");
        assert_eq!(step_number(1_240_000.0), "1.2M");
        assert_eq!(step_number(-3.0), "-3");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(compact_number(0.66095), "0.661");
        assert_eq!(compact_number(23.07978), "23.1");
        assert_eq!(compact_number(1e-5), "1e-5");
        assert_eq!(compact_number(2.5e-4), "2.5e-4");
        assert_eq!(compact_number(0.0), "0");
        assert_eq!(compact_number(2.5), "2.5");
    }
}
