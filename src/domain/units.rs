//! Sizes and durations as DBAs write them (`10MB`, `128kB`, `90s`, `10min`).

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum UnitError {
    #[error(
        "{0:?} is not a size: expected a number of bytes with an optional unit B, kB, MB, GB or TB"
    )]
    Size(String),
    #[error("{0:?} is not a duration: expected a number with a unit ms, s, m/min, h or d")]
    Duration(String),
}

/// Splits `"10 MB"` into `(10.0, "mb")`.
fn number_and_unit(text: &str) -> Option<(f64, String)> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number: f64 = text[..split].parse().ok()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    Some((number, text[split..].trim().to_ascii_lowercase()))
}

/// Bytes from `10MB`, `128kB`, `1GB`, `4096` (units are powers of 1024, as in PostgreSQL).
pub(crate) fn parse_size(text: &str) -> Result<u64, UnitError> {
    let fail = || UnitError::Size(text.to_owned());
    let (number, unit) = number_and_unit(text).ok_or_else(fail)?;
    let multiplier: u64 = match unit.as_str() {
        "" | "b" | "bytes" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        "tb" => 1 << 40,
        _ => return Err(fail()),
    };
    let bytes = number * multiplier as f64;
    if bytes > u64::MAX as f64 / 2.0 {
        return Err(fail());
    }
    Ok(bytes.round() as u64)
}

/// A duration from `500ms`, `90s`, `10m`, `10min`, `2h`, `1d`.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, UnitError> {
    let fail = || UnitError::Duration(text.to_owned());
    let (number, unit) = number_and_unit(text).ok_or_else(fail)?;
    let seconds_per_unit = match unit.as_str() {
        "ms" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => return Err(fail()),
    };
    std::time::Duration::try_from_secs_f64(number * seconds_per_unit).map_err(|_| fail())
}

/// A size as `pg_size_pretty` shows it: whole bytes below 10 kB, then kB, MB, GB,
/// TB (powers of 1024), rounded half up.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 10 * 1024 {
        return format!("{bytes} bytes");
    }
    // Counted in half units, so the last step rounds half up, as PostgreSQL does.
    let mut halves = bytes >> 9;
    let mut unit = 0;
    while halves >= 20 * 1024 - 1 && unit < UNITS.len() - 1 {
        halves >>= 10;
        unit += 1;
    }
    format!("{} {}", halves.div_ceil(2), UNITS[unit])
}

/// A duration for people: `850 ms`, `3.2 s`, `4 min 05 s`, `2 h 07 min`.
pub(crate) fn format_elapsed(duration: std::time::Duration) -> String {
    let ms = duration.as_millis();
    let s = duration.as_secs();
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..10_000 => format!("{:.1} s", duration.as_secs_f64()),
        10_000..60_000 => format!("{s} s"),
        60_000..3_600_000 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn elapsed_time_reads_in_the_unit_that_fits() {
        let ms = |n| format_elapsed(Duration::from_millis(n));
        assert_eq!(ms(0), "0 ms");
        assert_eq!(ms(850), "850 ms");
        assert_eq!(ms(3_240), "3.2 s");
        assert_eq!(ms(42_900), "42 s");
        assert_eq!(ms(245_000), "4 min 05 s");
        assert_eq!(ms(7_620_000), "2 h 07 min");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("128kB"), Ok(128 * 1024));
        assert_eq!(parse_size(" 1.5 GB "), Ok(1536 * 1024 * 1024));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("-1MB").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("10min"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn sizes_read_as_pg_size_pretty_shows_them() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(10 * 1024 - 1), "10239 bytes");
        assert_eq!(format_size(10 * 1024), "10 kB");
        assert_eq!(format_size(23_592_960), "23 MB");
        assert_eq!(format_size(20_000_000), "19 MB");
        assert_eq!(format_size(50 << 30), "50 GB");
        assert_eq!(format_size(1536 << 20), "1536 MB");
    }
}
