//! Calendar arithmetic for the few dates the APIs send: Unix seconds (Stack
//! Exchange), ISO 8601 (arXiv, GitHub) and HTTP dates (`Retry-After`).

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), valid for any year that fits in an `i64`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The calendar year of a Unix timestamp (UTC).
pub fn year_of_unix(seconds: i64) -> i32 {
    // Inverse of days_from_civil, keeping only the year.
    let days = seconds.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let year = year_of_era + era * 400 + i64::from(month_index >= 10);
    i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX })
}

/// The year of an ISO 8601 date such as `2021-03-04T10:00:00Z`; `None` unless
/// it starts with four digits and a dash, or is exactly four digits.
pub fn year_of_iso(text: &str) -> Option<i32> {
    let text = text.trim();
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match text.as_bytes().get(4) {
        None | Some(b'-') => digits.parse().ok(),
        Some(_) => None,
    }
}

/// Unix seconds of an IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`), the form
/// RFC 9110 requires senders to use in `Retry-After`.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace();
    let _weekday = parts.next()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_years_around_boundaries() {
        assert_eq!(year_of_unix(0), 1970);
        assert_eq!(year_of_unix(-1), 1969);
        assert_eq!(year_of_unix(951_782_400), 2000); // 2000-02-29
        assert_eq!(year_of_unix(1_609_459_199), 2020); // 2020-12-31 23:59:59
        assert_eq!(year_of_unix(1_609_459_200), 2021);
        assert_eq!(year_of_unix(i64::MAX), i32::MAX);
    }

    #[test]
    fn iso_years() {
        assert_eq!(year_of_iso("2017-10-10T17:51:51Z"), Some(2017));
        assert_eq!(year_of_iso(" 1999 "), Some(1999));
        assert_eq!(year_of_iso("20171"), None);
        assert_eq!(year_of_iso("May 2017"), None);
        assert_eq!(year_of_iso("é"), None);
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(1_445_412_480)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 PST"), None);
        assert_eq!(parse_http_date("120"), None);
        assert_eq!(parse_http_date("Wed, 32 Oct 2015 07:28:00 GMT"), None);
    }
}
