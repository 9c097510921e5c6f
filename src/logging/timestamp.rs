//! Log timestamps, `2026-11-30T04:21:53.123Z` (RFC 3339, UTC, milliseconds), the format env_logger
//! wrote before we formatted lines ourselves. The part up to the second changes once a second,
//! so each thread formats it once a second and copies it for every other line.

use std::cell::RefCell;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Appends `at` to `out`.
pub(super) fn write_utc_millis(out: &mut Vec<u8>, at: SystemTime) {
    thread_local! {
        /// The second last formatted on this thread, and its text up to the seconds.
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    SECOND.with(|cached| match cached.try_borrow_mut() {
        Ok(mut cached) => {
            if cached.0 != secs {
                *cached = (secs, up_to_the_second(secs));
            }
            out.extend_from_slice(cached.1.as_bytes());
        }
        Err(_) => out.extend_from_slice(up_to_the_second(secs).as_bytes()),
    });
    let _ = write!(out, ".{:03}Z", since_epoch.subsec_millis());
}

/// `YYYY-MM-DDTHH:MM:SS` for seconds since the Unix epoch.
fn up_to_the_second(secs: u64) -> String {
    let (days, in_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64, millis: u64) -> String {
        let mut out = Vec::new();
        write_utc_millis(
            &mut out,
            UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_rfc3339_utc_with_milliseconds() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        // Leap day, end of a day, end of a year, and this project's time.
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(at(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        assert_eq!(at(1_767_225_599, 500), "2025-12-31T23:59:59.500Z");
        assert_eq!(at(1_796_012_513, 123), "2026-11-30T04:21:53.123Z");
        // The cached second is replaced when the second changes, in either direction.
        assert_eq!(at(1_796_012_514, 0), "2026-11-30T04:21:54.000Z");
        assert_eq!(at(1_796_012_513, 1), "2026-11-30T04:21:53.001Z");
    }
}
