//! `fmr metrics PATH --format csv`: every point of every run as one CSV table.

use std::io::{self, Write};

use fmr_core::Run;

/// Writes `run,tag,step,wall_time,value`, one line per point, runs and series
/// in the order given. Floats use Rust's shortest round-trip formatting
/// (`0.1`, `1e-7`), non-finite values are `nan`, `inf`, `-inf`, and a missing
/// wall time is an empty cell. Run names and tags are quoted when they hold a
/// comma, quote or line break.
pub fn write_metrics_csv(runs: &[Run], out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"run,tag,step,wall_time,value\n")?;
    for run in runs {
        for series in &run.series {
            for point in &series.points {
                write_field(out, &run.name)?;
                out.write_all(b",")?;
                write_field(out, &series.tag)?;
                write!(out, ",{},", point.step)?;
                if let Some(wall_time) = point.wall_time {
                    write_float(out, wall_time)?;
                }
                out.write_all(b",")?;
                write_float(out, point.value)?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

fn write_field(out: &mut impl Write, text: &str) -> io::Result<()> {
    if text.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", text.replace('"', "\"\""))
    } else {
        out.write_all(text.as_bytes())
    }
}

fn write_float(out: &mut impl Write, value: f64) -> io::Result<()> {
    if value.is_nan() {
        out.write_all(b"nan")
    } else if value.is_infinite() {
        out.write_all(if value > 0.0 { b"inf" } else { b"-inf" })
    } else {
        // Debug is the shortest text that parses back to the same f64, with an
        // exponent for very large or small magnitudes (Display would print
        // 1e300 as 301 digits).
        write!(out, "{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use fmr_core::{Point, Series};

    use super::*;

    #[test]
    fn quotes_names_and_spells_non_finite_values() {
        let run = Run {
            name: "a,\"b\"".into(),
            series: vec![Series {
                tag: "loss".into(),
                points: vec![
                    Point {
                        step: 1,
                        wall_time: Some(1_700_000_000.25),
                        value: 0.1,
                    },
                    Point {
                        step: 2,
                        wall_time: None,
                        value: f64::NAN,
                    },
                    Point {
                        step: 3,
                        wall_time: None,
                        value: f64::NEG_INFINITY,
                    },
                    Point {
                        step: 4,
                        wall_time: None,
                        value: 1e-7,
                    },
                ],
            }],
            ..Run::default()
        };
        let mut out = Vec::new();
        write_metrics_csv(&[run], &mut out).expect("writes to a Vec");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "run,tag,step,wall_time,value\n\
             \"a,\"\"b\"\"\",loss,1,1700000000.25,0.1\n\
             \"a,\"\"b\"\"\",loss,2,,nan\n\
             \"a,\"\"b\"\"\",loss,3,,-inf\n\
             \"a,\"\"b\"\"\",loss,4,,1e-7\n"
        );
    }
}
