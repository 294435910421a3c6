//! Go's `time.ParseDuration`, in exact integer nanoseconds.
//!
//! The operators read durations with it (Vector's `scrapeInterval`, Medusa's `@every` cron
//! descriptor), so "is this a duration" and "how many seconds" must give Go's answers: the same
//! accepted texts (a sign, then numbers with units `ns us µs μs ms s m h`, or a bare `0`), the
//! same rounding of fractions (truncated toward zero, per number), and an error, never a
//! wrapped value, when the total leaves the `int64` range.

/// Why a text is not a Go duration (the wording of Go's errors, which users may search for).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Empty, no digits, or a character where a number must start.
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit (`30`).
    #[error("missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit Go does not know (`1d`).
    #[error("unknown unit {unit:?} in duration {text:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole text.
        text: String,
    },
}

const NANOS_PER: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// The duration in nanoseconds, as `time.ParseDuration` returns it.
///
/// # Errors
/// Whenever Go returns an error for the same text (overflow included, reported as invalid).
pub fn parse_nanos(text: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(text.to_string());
    let (negative, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        // The integer part; overflow is an error, as in Go's leadingInt.
        let int_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut whole: u64 = 0;
        for d in s[..int_len].bytes() {
            if whole > LIMIT / 10 {
                return Err(invalid());
            }
            whole = whole * 10 + u64::from(d - b'0');
            if whole > LIMIT {
                return Err(invalid());
            }
        }
        let had_int = int_len > 0;
        s = &s[int_len..];
        // The fraction: digits past what fits are dropped, as in Go's leadingFraction.
        let (mut frac, mut scale, mut had_frac) = (0u64, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let mut overflow = false;
            for d in rest[..frac_len].bytes() {
                if overflow {
                    continue;
                }
                if frac > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let next = frac * 10 + u64::from(d - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = next;
                scale *= 10.0;
            }
            had_frac = frac_len > 0;
            s = &rest[frac_len..];
        }
        if !had_int && !had_frac {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let unit = &s[..unit_len];
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(text.to_string()));
        }
        let Some(&(_, per)) = NANOS_PER.iter().find(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_string(),
                text: text.to_string(),
            });
        };
        s = &s[unit_len..];
        if whole > LIMIT / per {
            return Err(invalid());
        }
        let mut value = whole * per;
        if frac > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)), truncated.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let part = (frac as f64 * (per as f64 / scale)) as u64;
            value = value.checked_add(part).ok_or_else(invalid)?;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        // -(1<<63) is the one value whose magnitude does not fit a positive i64.
        return Ok(if total == LIMIT {
            i64::MIN
        } else {
            -i64::try_from(total).map_err(|_| invalid())?
        });
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Whole seconds, truncated toward zero as Go's `int32(d.Seconds())`-style conversions do for
/// the values the operators read (`Seconds()` is exact for them up to float precision).
///
/// # Errors
/// As [`parse_nanos`].
pub fn parse_whole_seconds(text: &str) -> Result<i64, DurationError> {
    parse_nanos(text).map(|n| n / 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1;
    const US: i64 = 1_000;
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;

    /// Go's own table (`time/time_test.go`, `parseDurationTests`, Go 1.26).
    #[test]
    fn go_parse_duration_vectors() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("-5s", -5 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600 * MS),
            ("5.s", 5 * S),
            (".5s", 500 * MS),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4 * MS),
            ("1.0040s", S + 4 * MS),
            ("100.00100s", 100 * S + MS),
            ("10ns", 10 * NS),
            ("11us", 11 * US),
            ("12µs", 12 * US),
            ("12μs", 12 * US),
            ("13ms", 13 * MS),
            ("14s", 14 * S),
            ("15m", 15 * M),
            ("16h", 16 * H),
            ("3h30m", 3 * H + 30 * M),
            ("10.5s4m", 4 * M + 10 * S + 500 * MS),
            ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
            (
                "1h2m3s4ms5us6ns",
                H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS,
            ),
            ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
            ("52763797000ns", 52_763_797_000 * NS),
            ("0.3333333333333333333h", 20 * M),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("-9223372036s854ms775us808ns", i64::MIN),
            ("-2562047h47m16.854775808s", i64::MIN),
            ("0.100000000000000000000h", 6 * M),
            (
                "0.830103483285477580700h",
                49 * M + 48 * S + 372_539_827 * NS,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_nanos(text), Ok(*want), "{text:?}");
        }
    }

    /// Go's error table (`parseDurationErrorTests`), every case with valid UTF-8.
    #[test]
    fn go_parse_duration_errors() {
        for text in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "\u{FFFD}",
            "\u{FFFD} hello \u{FFFD} world",
            "9223372036854775810ns",
            "9223372036854775808ns",
            "9223372036854776us",
            "3000000h",
            "9223372036854775.808us",
            "9223372036854ms775us808ns",
            "-9223372036854775809ns",
        ] {
            assert!(parse_nanos(text).is_err(), "{text:?} must be refused");
        }
        assert_eq!(
            parse_nanos("3"),
            Err(DurationError::MissingUnit("3".into()))
        );
        assert_eq!(
            parse_nanos("1d"),
            Err(DurationError::UnknownUnit {
                unit: "d".into(),
                text: "1d".into()
            })
        );
    }

    #[test]
    fn whole_seconds_truncate_toward_zero() {
        for (text, secs) in [
            ("2500ms", 2),
            ("1.5h", 5400),
            ("-1m", -60),
            ("-1500ms", -1),
            ("999ms", 0),
        ] {
            assert_eq!(parse_whole_seconds(text), Ok(secs), "{text:?}");
        }
    }
}
