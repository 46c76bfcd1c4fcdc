//! Formatting shared by the pages and the JSON API: HTML escaping, sizes,
//! durations, and dates in Spark's REST format (`2024-05-01T12:00:00.000GMT`).
//! Dates are computed here (days-from-civil arithmetic) rather than with a
//! date crate: the UI needs one format, in UTC.

use crate::listener::UnixMillis;
use std::fmt::Write;

/// `s` safe inside HTML text and attribute values (the one escaping
/// function, shared with the notebook displays of `ember_rdd::display`).
pub use ember_rdd::display::escape_html as esc;

/// "1.5 KiB", "3.0 MiB"; "0 B" for zero.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// "12 ms", "3.4 s", "2.5 min", "1.2 h".
pub fn duration_ms(ms: f64) -> String {
    if ms < 1000.0 {
        if ms < 10.0 && ms.fract() != 0.0 { format!("{ms:.1} ms") } else { format!("{ms:.0} ms") }
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms < 3_600_000.0 {
        format!("{:.1} min", ms / 60_000.0)
    } else {
        format!("{:.1} h", ms / 3_600_000.0)
    }
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2024-05-01T12:00:00.000GMT`, the date format of Spark's REST API.
pub fn rest_date(t: UnixMillis) -> String {
    let ms = t.0 as i64;
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    let mut out = String::with_capacity(28);
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}GMT");
    out
}

/// `2024-05-01 12:00:00`, for pages (UTC).
pub fn page_date(t: UnixMillis) -> String {
    let rest = rest_date(t);
    format!("{} {}", &rest[..10], &rest[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_spark_rest_dates() {
        assert_eq!(rest_date(UnixMillis(0)), "1970-01-01T00:00:00.000GMT");
        assert_eq!(rest_date(UnixMillis(1_709_210_096_789)), "2024-02-29T12:34:56.789GMT");
        assert_eq!(page_date(UnixMillis(951_782_400_000)), "2000-02-29 00:00:00");
    }

    #[test]
    fn sizes_durations_and_escapes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
        assert_eq!(duration_ms(12.0), "12 ms");
        assert_eq!(duration_ms(3400.0), "3.4 s");
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
