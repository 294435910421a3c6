//! The cron syntax of robfig/cron's standard parser, which k8ssandra-operator's
//! MedusaBackupSchedule webhook runs: checked when rendering, so that a schedule the webhook
//! would refuse never reaches a cluster as a failed sync.

/// Whether robfig/cron's standard parser accepts `spec`: an optional `TZ=`/`CRON_TZ=` prefix,
/// then a descriptor (`@daily`, `@every 1h30m`, ...) or five fields with numbers, names, `*`/`?`,
/// ranges, lists and steps.
///
/// # Errors
/// Why the schedule is refused.
pub fn check(spec: &str) -> Result<(), String> {
    let mut spec = spec.trim();
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let Some((tz, rest)) = spec.split_once(char::is_whitespace) else {
            return Err("a time zone prefix needs a schedule after it".into());
        };
        if tz.ends_with('=') {
            return Err("empty time zone".into());
        }
        spec = rest.trim();
    }
    if spec.is_empty() {
        return Err("empty schedule".into());
    }
    if let Some(descriptor) = spec.strip_prefix('@') {
        return match descriptor {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            d => match d.strip_prefix("every ") {
                Some(dur) if crate::ports::duration::parse_nanos(dur.trim()).is_ok() => Ok(()),
                Some(dur) => Err(format!(
                    "{:?} is not a duration (such as 12h or 1h30m)",
                    dur.trim()
                )),
                None => Err(format!("unknown descriptor @{d}")),
            },
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}", fields.len()));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(&str, u32, u32, &[&str]); 5] = [
        ("minute", 0, 59, &[]),
        ("hour", 0, 23, &[]),
        ("day of month", 1, 31, &[]),
        ("month", 1, 12, &MONTHS),
        ("day of week", 0, 6, &DAYS),
    ];
    for (field, (what, min, max, names)) in fields.iter().zip(bounds) {
        for range in field.split(',') {
            check_cron_range(range, min, max, names)
                .map_err(|e| format!("{what} {field:?}: {e}"))?;
        }
    }
    Ok(())
}

fn check_cron_range(range: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    let number = |s: &str| -> Result<u32, String> {
        s.parse::<u32>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        match names.iter().position(|n| *n == lower) {
            // Month names start at 1, day names at 0: the first value of the field.
            Some(i) => Ok(min + u32::try_from(i).unwrap_or(0)),
            None => number(s),
        }
    };
    let steps: Vec<&str> = range.split('/').collect();
    if steps.len() > 2 {
        return Err(format!("too many slashes in {range:?}"));
    }
    let ends: Vec<&str> = steps[0].split('-').collect();
    let (start, mut end) = if ends[0] == "*" || ends[0] == "?" {
        (min, max)
    } else {
        let start = value(ends[0])?;
        match ends.len() {
            1 => (start, start),
            2 => (start, value(ends[1])?),
            _ => return Err(format!("too many hyphens in {range:?}")),
        }
    };
    if let Some(step) = steps.get(1) {
        if number(step)? == 0 {
            return Err("the step must be a positive number".into());
        }
        if ends.len() == 1 {
            end = max;
        }
    }
    if start < min {
        return Err(format!("{start} is below the minimum {min}"));
    }
    if end > max {
        return Err(format!("{end} is above the maximum {max}"));
    }
    if start > end {
        return Err(format!("the range starts at {start}, after its end {end}"));
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
            let err = check(bad).expect_err(bad);
            assert!(err.contains(why), "{bad:?}: {err:?} should say {why:?}");
        }
    }
}
