//! Properties of the quantity port over generated quantities: the value follows from the
//! suffix definitions (Kubernetes `resource.Quantity`: decimal SI powers of 1000, binary SI
//! powers of 1024, `e<n>` powers of ten, rounded up to nano precision), the CRD pattern accepts
//! everything the parser does, and the value written into `spec.config` is stable: read back as
//! a quantity it gives the same integer again, or the same fraction within one nano (Go rounds
//! up to nano precision) and float precision.

use proptest::prelude::*;
use serde_json::Value;

use super::{Quantity, matches_crd_pattern};

/// Suffixes with their multiplier as a fraction `num / den`.
const SUFFIXES: &[(&str, i128, i128)] = &[
    ("", 1, 1),
    ("n", 1, 1_000_000_000),
    ("u", 1, 1_000_000),
    ("m", 1, 1_000),
    ("k", 1_000, 1),
    ("M", 1_000_000, 1),
    ("G", 1_000_000_000, 1),
    ("T", 1_000_000_000_000, 1),
    ("Ki", 1 << 10, 1),
    ("Mi", 1 << 20, 1),
    ("Gi", 1 << 30, 1),
    ("Ti", 1 << 40, 1),
    ("e0", 1, 1),
    ("e3", 1_000, 1),
    ("E6", 1_000_000, 1),
    ("e-3", 1, 1_000),
    ("e+2", 100, 1),
];

/// A quantity text with its exact value `num / den` (sign, integer part, up to three fraction
/// digits, a suffix).
fn quantity() -> impl Strategy<Value = (String, i128, i128)> {
    (
        prop_oneof![Just(""), Just("+"), Just("-")],
        0u32..2_000_000,
        proptest::option::of("[0-9]{1,3}"),
        proptest::sample::select(SUFFIXES),
    )
        .prop_map(|(sign, int, frac, (suffix, num, den))| {
            let (mut n, mut d) = (i128::from(int), 1i128);
            let mut text = format!("{sign}{int}");
            if let Some(f) = frac {
                text.push('.');
                text.push_str(&f);
                for c in f.chars() {
                    n = n * 10 + i128::from(c.to_digit(10).unwrap());
                    d *= 10;
                }
            }
            text.push_str(suffix);
            let n = if sign == "-" { -n } else { n };
            (text, n * num, d * den)
        })
}

/// `ceil(num / den)` away from zero, as `Quantity.Value()` rounds.
fn ceil_away(num: i128, den: i128) -> i128 {
    let q = num / den;
    if num % den == 0 {
        q
    } else if num > 0 {
        q + 1
    } else {
        q - 1
    }
}

/// The value Go keeps: parsing rounds up (away from zero) to nano precision.
fn kept(num: i128, den: i128) -> f64 {
    ceil_away(num * 1_000_000_000, den) as f64 / 1e9
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_value_follows_from_the_suffix_definitions((text, num, den) in quantity()) {
        let q = Quantity::parse(&text).unwrap();
        // Go's `Value()` is exact for non-negative quantities; for negative ones held as a
        // decimal it truncates an intermediate to 64 bits (see the unit test below).
        if num >= 0 {
            prop_assert_eq!(i128::from(q.value_ceil()), ceil_away(num, den), "{}", text);
        }
        prop_assert_eq!(q.is_zero(), num == 0, "{}", text);
        let exact = kept(num, den);
        prop_assert!((q.approximate_f64() - exact).abs() <= exact.abs() * 1e-12, "{}", text);
    }

    #[test]
    fn the_crd_pattern_accepts_everything_the_parser_does(
        text in "[-+]?[0-9.]{0,4}([eE][-+]?[0-9.]{0,2}|[numkMGTPE]i?|[a-z]{0,2})?"
    ) {
        if Quantity::parse(&text).is_ok() {
            prop_assert!(matches_crd_pattern(&text), "{}", text);
        }
    }

    #[test]
    fn generated_quantities_match_the_crd_pattern((text, _, _) in quantity()) {
        prop_assert!(matches_crd_pattern(&text), "{}", text);
    }

    #[test]
    fn the_config_value_is_a_fixed_point((text, num, den) in quantity()) {
        let q = Quantity::parse(&text).unwrap();
        let config = q.to_config_json();
        // The number written is the quantity's value.
        let exact = kept(num, den);
        prop_assert!((number(&config) - exact).abs() <= exact.abs() * 1e-12, "{} -> {}", text, config);
        // Read back as a quantity (what a later render would see): an integer a float holds
        // exactly gives the same JSON again; anything else went through Go's float arithmetic
        // (`AsApproximateFloat64`) and, read back, is rounded up to nano precision again, so it
        // only comes back within one nano plus float precision.
        let again = Quantity::from_json(&config).unwrap().to_config_json();
        if config.as_i64().is_some_and(|i| i.unsigned_abs() < 1 << 53) {
            prop_assert_eq!(&again, &config, "{}", text);
        } else {
            let (a, b) = (number(&again), number(&config));
            prop_assert!(
                (a - b).abs() <= 1e-9 + b.abs() * 1e-12,
                "{} -> {} -> {}",
                text,
                config,
                again
            );
        }
        // And the text it was parsed from parses to the same value.
        let reparsed = Quantity::parse(&q.to_string()).unwrap();
        prop_assert_eq!(reparsed.value_ceil(), q.value_ceil());
    }
}

/// Go's `Quantity.Value()` on a negative quantity held as a decimal (`-100Ti` takes the slow
/// parse path: 100 × 2^40 has too many digits for the fast one, so it is kept with 9 fraction
/// digits) goes through `scaledValue`'s fast path, which `unscaled.Cmp(maxInt64) < 0` admits
/// for every negative number, and `big.Int.Int64()` keeps only the low 64 bits of
/// 109951162777600 × 10^9. Computed by hand from that code: -8568098291072368640 / 10^9,
/// truncated, plus one for the remainder. The port reproduces it; the positive value is exact.
#[test]
fn value_of_a_large_negative_decimal_quantity_wraps_like_go() {
    assert_eq!(
        Quantity::parse("-100Ti").unwrap().value_ceil(),
        -8_568_098_290
    );
    assert_eq!(
        Quantity::parse("100Ti").unwrap().value_ceil(),
        109_951_162_777_600
    );
}
