//! Numbers as a person reads them in a statement: steps with thousands separators, values with
//! three significant digits, ratios and percentages.

/// A step count with thousands separators: `2,140`.
pub fn step(step: i64) -> String {
    grouped(step.unsigned_abs(), step < 0)
}

/// A number of steps as a duration: `1 step`, `2,140 steps`.
pub fn steps(count: i64) -> String {
    if count.unsigned_abs() == 1 {
        format!("{count} step")
    } else {
        format!("{} steps", step(count))
    }
}

/// A count with thousands separators: `12,400`.
pub fn count(count: usize) -> String {
    grouped(count as u64, false)
}

/// A metric value with three significant digits: `2.31`, `0.84`, `65,536`, `3.1e-5`, `1.2e9`.
pub fn value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs();
    if !(1e-3..1e7).contains(&magnitude) {
        return scientific(value);
    }
    if magnitude >= 100.0 {
        return grouped(magnitude.round() as u64, value < 0.0);
    }
    let decimals = (2 - magnitude.log10().floor() as i32).max(0) as usize;
    trim_zeros(format!("{value:.decimals$}"))
}

/// A ratio as a multiplier: `×3.5`.
pub fn ratio(ratio: f64) -> String {
    format!("×{}", value(ratio))
}

/// A fraction as a percentage: `35%`, or `0.4%` below one percent.
pub fn percent(fraction: f64) -> String {
    let percent = fraction * 100.0;
    if percent.abs() < 1.0 && percent != 0.0 {
        format!("{}%", trim_zeros(format!("{percent:.1}")))
    } else {
        format!("{}%", percent.round())
    }
}

fn scientific(value: f64) -> String {
    let text = format!("{value:.2e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa.to_owned())),
        None => text,
    }
}

fn grouped(magnitude: u64, negative: bool) -> String {
    let digits = magnitude.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if negative {
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

fn trim_zeros(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_grouped_by_thousands() {
        assert_eq!(step(0), "0");
        assert_eq!(step(999), "999");
        assert_eq!(step(2140), "2,140");
        assert_eq!(step(1_234_567), "1,234,567");
        assert_eq!(step(-5000), "-5,000");
        assert_eq!(count(12_400), "12,400");
        assert_eq!(steps(1), "1 step");
        assert_eq!(steps(2140), "2,140 steps");
    }

    #[test]
    fn values_keep_three_significant_digits() {
        assert_eq!(value(2.3125), "2.31");
        assert_eq!(value(0.84), "0.84");
        assert_eq!(value(12.5), "12.5");
        assert_eq!(value(123.456), "123");
        assert_eq!(value(65536.0), "65,536");
        assert_eq!(value(0.001234), "0.00123");
        assert_eq!(value(0.0003125), "3.13e-4");
        assert_eq!(value(3e-5), "3e-5");
        assert_eq!(value(1.5e9), "1.5e9");
        assert_eq!(value(-0.5), "-0.5");
        assert_eq!(value(9.996), "10");
        assert_eq!(value(0.0), "0");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn ratios_and_percentages() {
        assert_eq!(ratio(3.456), "×3.46");
        assert_eq!(percent(0.35), "35%");
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(1.0), "100%");
    }
}
