//! Go's `strconv.Atoi(fmt.Sprintf("%v", v))` on a value decoded by `encoding/json` into an
//! `interface{}`: how cass-operator reads integer settings of cassandraYaml (`num_tokens`,
//! `allocate_tokens_for_local_replication_factor`) when it computes initial tokens.
//!
//! `encoding/json` decodes every number as a `float64`, and `%v` prints a float64 with the
//! fewest digits that round-trip, switching to exponent form at 1e6 (`1e+06`); `Atoi` then
//! takes an optional sign and ASCII digits only. So `4.0` is 4, `1000000` is not a number, and
//! the string `"+8"` is 8 but `" 8"` is not.

use serde_json::Value;

/// Below this, `%v` prints a float64 holding an integer without an exponent (`999999`, but
/// `1e+06`): Go's shortest `%g` switches to exponent form at an exponent of 6.
const PLAIN_FLOAT_LIMIT: f64 = 1e6;

/// `strconv.Atoi(fmt.Sprintf("%v", v))` for `v` as Go's `encoding/json` decodes it; `None` where
/// Go returns an error.
#[must_use]
pub fn atoi_of_printed(v: &Value) -> Option<i64> {
    match v {
        // `%v` of a string is the string; Rust's `i64` parser takes what `Atoi` takes (an
        // optional sign, ASCII digits, no spaces or underscores) and refuses overflow too.
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => {
            let f = n.as_f64()?;
            // Integral and printed without an exponent: the cast is exact in that range.
            (f.fract() == 0.0 && f.abs() < PLAIN_FLOAT_LIMIT).then_some(f as i64)
        }
        // `true`, `<nil>`, `[4]`, `map[a:1]`: never digits.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each JSON text, decoded by Go's `encoding/json` into an `interface{}`, then
    /// `strconv.Atoi(fmt.Sprintf("%v", v))`: the results Go 1.26 printed (the printed text in
    /// the comment where it explains the result).
    const GO_VECTORS: &[(&str, Option<i64>)] = &[
        ("4", Some(4)),
        ("4.0", Some(4)), // "4"
        ("-3", Some(-3)),
        ("0", Some(0)),
        ("-0", Some(0)),   // "-0"
        ("-0.0", Some(0)), // "-0"
        ("999999", Some(999_999)),
        ("-999999", Some(-999_999)),
        ("1000000", None),  // "1e+06"
        ("-1000000", None), // "-1e+06"
        ("100000.0", Some(100_000)),
        ("1e5", Some(100_000)), // "100000"
        ("4.5", None),
        ("999999.5", None),
        ("1e-7", None),                 // "1e-07"
        ("1e21", None),                 // "1e+21"
        ("12345678901234567890", None), // "1.2345678901234567e+19"
        (r#""8""#, Some(8)),
        (r#""+8""#, Some(8)),
        (r#""-8""#, Some(-8)),
        (r#""08""#, Some(8)),
        (r#""-0""#, Some(0)),
        (r#"" 8""#, None),
        (r#""8 ""#, None),
        (r#""""#, None),
        (r#""+""#, None),
        (r#""-""#, None),
        (r#""0x10""#, None),
        (r#""1_000""#, None),
        (r#""4.0""#, None),
        (r#""1e3""#, None),
        (r#""٣""#, None), // ARABIC-INDIC DIGIT THREE: not an ASCII digit
        (r#""9223372036854775807""#, Some(i64::MAX)),
        (r#""9223372036854775808""#, None),
        (r#""-9223372036854775808""#, Some(i64::MIN)),
        (r#""-9223372036854775809""#, None),
        ("true", None),
        ("false", None),
        ("null", None),       // "<nil>"
        ("[4]", None),        // "[4]"
        (r#"{"a":1}"#, None), // "map[a:1]"
    ];

    #[test]
    fn values_read_as_go_reads_them() {
        for (text, want) in GO_VECTORS {
            let v: Value = serde_json::from_str(text).expect("a JSON text");
            assert_eq!(atoi_of_printed(&v), *want, "{text}");
        }
    }
}
