//! The cron syntax of robfig/cron's standard parser, which k8ssandra-operator's
//! MedusaBackupSchedule webhook runs: checked when rendering, so that a schedule the webhook
//! would refuse never reaches a cluster as a failed sync.

/// Why robfig/cron's standard parser refuses a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// `TZ=...` with nothing after it.
    #[error("a time zone prefix needs a schedule after it")]
    TimeZoneWithoutSchedule,
    /// `TZ= ...`.
    #[error("empty time zone")]
    EmptyTimeZone,
    /// Nothing (or only a time zone) to parse.
    #[error("empty schedule")]
    Empty,
    /// `@every` followed by text Go's `time.ParseDuration` refuses.
    #[error("{0:?} is not a duration (such as 12h or 1h30m)")]
    NotADuration(String),
    /// `@` followed by a name robfig/cron does not know (without the `@`).
    #[error("unknown descriptor @{0}")]
    UnknownDescriptor(String),
    /// Not five whitespace-separated fields.
    #[error("expected exactly 5 fields, found {0}")]
    FieldCount(usize),
    /// One of the five fields is refused.
    #[error("{field} {text:?}: {reason}")]
    Field {
        /// Which field.
        field: Field,
        /// The whole field as written.
        text: String,
        /// What is wrong with one of its comma-separated ranges.
        reason: RangeError,
    },
}

/// The five fields of a standard cron schedule, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// 0-59.
    Minute,
    /// 0-23.
    Hour,
    /// 1-31.
    DayOfMonth,
    /// 1-12 or `jan`-`dec`.
    Month,
    /// 0-6 or `sun`-`sat`.
    DayOfWeek,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day of month",
            Field::Month => "month",
            Field::DayOfWeek => "day of week",
        })
    }
}

/// What is wrong with one range (`a`, `a-b`, `*`, with an optional `/step`) of a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A value that is neither a number nor a name of the field.
    #[error("{0:?} is not a number")]
    NotANumber(String),
    /// `a/b/c`.
    #[error("too many slashes in {0:?}")]
    TooManySlashes(String),
    /// `a-b-c`.
    #[error("too many hyphens in {0:?}")]
    TooManyHyphens(String),
    /// `/0`.
    #[error("the step must be a positive number")]
    ZeroStep,
    /// A start below the field's minimum.
    #[error("{value} is below the minimum {min}")]
    BelowMinimum {
        /// The value as read.
        value: u32,
        /// The field's minimum.
        min: u32,
    },
    /// An end above the field's maximum.
    #[error("{value} is above the maximum {max}")]
    AboveMaximum {
        /// The value as read.
        value: u32,
        /// The field's maximum.
        max: u32,
    },
    /// `b-a` with `b > a`.
    #[error("the range starts at {start}, after its end {end}")]
    Reversed {
        /// The start as read.
        start: u32,
        /// The end as read.
        end: u32,
    },
}

/// Whether robfig/cron's standard parser accepts `spec`: an optional `TZ=`/`CRON_TZ=` prefix,
/// then a descriptor (`@daily`, `@every 1h30m`, ...) or five fields with numbers, names, `*`/`?`,
/// ranges, lists and steps.
///
/// # Errors
/// Why the schedule is refused.
pub fn check(spec: &str) -> Result<(), ParseError> {
    let mut spec = spec.trim();
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let Some((tz, rest)) = spec.split_once(char::is_whitespace) else {
            return Err(ParseError::TimeZoneWithoutSchedule);
        };
        if tz.ends_with('=') {
            return Err(ParseError::EmptyTimeZone);
        }
        spec = rest.trim();
    }
    if spec.is_empty() {
        return Err(ParseError::Empty);
    }
    if let Some(descriptor) = spec.strip_prefix('@') {
        return match descriptor {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            d => match d.strip_prefix("every ") {
                Some(dur) if crate::ports::duration::parse_nanos(dur.trim()).is_ok() => Ok(()),
                Some(dur) => Err(ParseError::NotADuration(dur.trim().to_string())),
                None => Err(ParseError::UnknownDescriptor(d.to_string())),
            },
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(ParseError::FieldCount(fields.len()));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(Field, u32, u32, &[&str]); 5] = [
        (Field::Minute, 0, 59, &[]),
        (Field::Hour, 0, 23, &[]),
        (Field::DayOfMonth, 1, 31, &[]),
        (Field::Month, 1, 12, &MONTHS),
        (Field::DayOfWeek, 0, 6, &DAYS),
    ];
    for (text, (field, min, max, names)) in fields.iter().zip(bounds) {
        for range in text.split(',') {
            check_cron_range(range, min, max, names).map_err(|reason| ParseError::Field {
                field,
                text: (*text).to_string(),
                reason,
            })?;
        }
    }
    Ok(())
}

fn check_cron_range(range: &str, min: u32, max: u32, names: &[&str]) -> Result<(), RangeError> {
    let number = |s: &str| -> Result<u32, RangeError> {
        s.parse::<u32>()
            .map_err(|_| RangeError::NotANumber(s.to_string()))
    };
    let value = |s: &str| -> Result<u32, RangeError> {
        let lower = s.to_ascii_lowercase();
        match names.iter().position(|n| *n == lower) {
            // Month names start at 1, day names at 0: the first value of the field.
            Some(i) => Ok(min + u32::try_from(i).unwrap_or(0)),
            None => number(s),
        }
    };
    let steps: Vec<&str> = range.split('/').collect();
    if steps.len() > 2 {
        return Err(RangeError::TooManySlashes(range.to_string()));
    }
    let ends: Vec<&str> = steps[0].split('-').collect();
    let (start, mut end) = if ends[0] == "*" || ends[0] == "?" {
        (min, max)
    } else {
        let start = value(ends[0])?;
        match ends.len() {
            1 => (start, start),
            2 => (start, value(ends[1])?),
            _ => return Err(RangeError::TooManyHyphens(range.to_string())),
        }
    };
    if let Some(step) = steps.get(1) {
        if number(step)? == 0 {
            return Err(RangeError::ZeroStep);
        }
        if ends.len() == 1 {
            end = max;
        }
    }
    if start < min {
        return Err(RangeError::BelowMinimum { value: start, min });
    }
    if end > max {
        return Err(RangeError::AboveMaximum { value: end, max });
    }
    if start > end {
        return Err(RangeError::Reversed { start, end });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// robfig/cron's standard parser, as the MedusaBackupSchedule webhook runs it.
    #[test]
    fn cron_schedules_the_webhook_accepts_and_refuses() {
        for ok in [
            "0 0 * * *",
            "*/15 * * * *",
            "5/10 * * * *",
            "0 9-17/2 * * mon-fri",
            "0 0 1 jan,JUL *",
            "? ? ? ? ?",
            "59 23 31 12 6",
            "  30 2 * * sun  ",
            "@daily",
            "@midnight",
            "@every 1h30m",
            "@every 1.5h",
            "CRON_TZ=Europe/Paris 0 3 * * *",
            "TZ=UTC @hourly",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok:?}");
        }
        for (bad, why) in [
            ("", "empty schedule"),
            ("* * * *", "expected exactly 5 fields, found 4"),
            ("0 0 * * * *", "expected exactly 5 fields, found 6"),
            ("60 * * * *", "minute \"60\": 60 is above the maximum 59"),
            ("* 24 * * *", "hour \"24\": 24 is above the maximum 23"),
            ("* * 0 * *", "day of month \"0\": 0 is below the minimum 1"),
            ("* * * 13 *", "month \"13\": 13 is above the maximum 12"),
            ("* * * * 7", "day of week \"7\": 7 is above the maximum 6"),
            ("*/0 * * * *", "the step must be a positive number"),
            ("1-2-3 * * * *", "too many hyphens"),
            ("1/2/3 * * * *", "too many slashes"),
            ("10-5 * * * *", "the range starts at 10, after its end 5"),
            ("x * * * *", "\"x\" is not a number"),
            ("1,,2 * * * *", "\"\" is not a number"),
            ("* * * * fri-mon", "the range starts at 5, after its end 1"),
            ("@fortnightly", "unknown descriptor @fortnightly"),
            ("@every 2 days", "\"2 days\" is not a duration"),
            ("@every h", "\"h\" is not a duration"),
            ("TZ=UTC", "a time zone prefix needs a schedule after it"),
        ] {
            let err = check(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad:?}: {err:?} should say {why:?}");
        }
    }

    #[test]
    fn a_refused_field_is_named_with_its_text_and_the_failing_range() {
        assert_eq!(
            check("0 0 1,,2 * *"),
            Err(ParseError::Field {
                field: Field::DayOfMonth,
                text: "1,,2".into(),
                reason: RangeError::NotANumber(String::new()),
            })
        );
        assert_eq!(
            check("* * * * fri-mon"),
            Err(ParseError::Field {
                field: Field::DayOfWeek,
                text: "fri-mon".into(),
                reason: RangeError::Reversed { start: 5, end: 1 },
            })
        );
        assert_eq!(
            check("TZ=UTC @every 2 days"),
            Err(ParseError::NotADuration("2 days".into()))
        );
    }
}
