//! Kubernetes resource quantities, computed the way `k8s.io/apimachinery` does.
//!
//! A quantity keeps the same internal form Go's `resource.Quantity` would pick for the same
//! text: either a scaled 64-bit integer (`value × 10^scale`) or an arbitrary-precision decimal
//! rounded up to nano precision. The form matters because the conversions k8ssandra performs
//! (`Value()` for environment variables, int-versus-float for `spec.config`) depend on it.
//!
//! Accepted text: an optional sign, a number (`12`, `1.5`, `1.`, `.5`) and an optional suffix —
//! decimal SI `n u m k M G T P E`, binary SI `Ki Mi Gi Ti Pi Ei`, or a decimal exponent
//! `e<int>` / `E<int>`. Unlike Go we refuse texts without a single digit (Go reads `"-"`, `"."`
//! or `"Mi"` as zero); the CRD pattern on quantity fields refuses them too.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

/// What a quantity string must look like, for error messages.
const EXPECTED: &str = "expected a Kubernetes quantity: an optional sign, a decimal number \
                        (e.g. 12, 1.5, .5) and an optional suffix (n, u, m, k, M, G, T, P, E, \
                        Ki, Mi, Gi, Ti, Pi, Ei, or an exponent such as e3)";

/// Largest number of decimal digits we are willing to materialize. Go would try (and take
/// forever on) anything near this; real quantities have fewer than 30 digits.
const MAX_DIGITS: i64 = 4000;

/// Why a text or JSON value is not a Kubernetes quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text is not in the quantity grammar (or is beyond what we compute).
    #[error("invalid quantity {text:?}: {reason}; {EXPECTED}")]
    Invalid {
        /// The text as given to the parser.
        text: String,
        /// What is wrong with it.
        reason: Invalid,
    },
    /// A JSON number with no finite value.
    #[error("invalid quantity {0}: not a finite number")]
    NotFinite(serde_json::Number),
    /// A JSON value that is neither a string nor a number.
    #[error("invalid quantity {0}: expected a string such as \"1Gi\" or a number")]
    WrongType(Value),
}

/// What is wrong with a quantity's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// No digit before the suffix (`Mi`, `.`, `-`).
    #[error("no digits before the suffix")]
    NoDigits,
    /// Something after the number that no suffix starts with (`1 `, `1.5.5`).
    #[error("unexpected characters after the number")]
    TrailingCharacters,
    /// Letters of the suffix alphabet that form no suffix (`1K`, `1KiB`, `1e`).
    #[error("unknown suffix {0:?}")]
    UnknownSuffix(String),
    /// The digits do not fit Go's fast path although the scale says they should.
    #[error("numeric part does not fit 64 bits")]
    NumberTooLong,
    /// More digits than we are willing to materialize (`MAX_DIGITS`).
    #[error("value is too large")]
    TooLarge,
}

/// A quantity whose float form Go's JSON encoder refuses (infinite), so upstream cannot write it
/// into `spec.config`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("quantity {text:?} does not fit a JSON number (it is {value})")]
pub struct NotJsonNumber {
    /// The quantity's text.
    pub text: String,
    /// Its float form.
    pub value: f64,
}

/// The suffix family of a quantity's text: a binary one caps values at 2^63-1 as Go does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `12e6` style.
    DecimalExponent,
    /// `12Mi` style (powers of 1024).
    BinarySi,
    /// `12M` style (powers of 1000), also used for plain numbers.
    DecimalSi,
}

/// A parsed Kubernetes resource quantity.
#[derive(Debug, Clone)]
pub struct Quantity {
    repr: Repr,
    text: String,
}

#[derive(Debug, Clone)]
enum Repr {
    /// `value × 10^scale` (Go's `int64Amount`).
    Scaled { value: i64, scale: i32 },
    /// `(-1)^negative × magnitude × 10^(-scale)` (Go's `inf.Dec`; note the inverted scale).
    Decimal {
        negative: bool,
        magnitude: BigUint,
        scale: i32,
    },
}

impl Quantity {
    /// Parses quantity text with Go's `resource.ParseQuantity` semantics.
    ///
    /// # Errors
    /// [`ParseError::Invalid`], naming the offending text and what is wrong with it.
    pub fn parse(s: &str) -> Result<Quantity, ParseError> {
        parse_quantity(s).map_err(|reason| ParseError::Invalid {
            text: s.to_string(),
            reason,
        })
    }

    /// Reads a quantity from JSON the way `Quantity.UnmarshalJSON` does: a string (surrounding
    /// whitespace ignored) or a number (`cpu: 1`). Numbers are read from the text Go's JSON
    /// encoder would print for them, which is what the API server hands the controller.
    ///
    /// # Errors
    /// When the value is neither a string nor a number, or the text is not a quantity.
    pub fn from_json(v: &Value) -> Result<Quantity, ParseError> {
        match v {
            Value::String(s) => Quantity::parse(s.trim()),
            Value::Number(n) => {
                let text = number_text(n).ok_or_else(|| ParseError::NotFinite(n.clone()))?;
                Quantity::parse(&text)
            }
            other => Err(ParseError::WrongType(other.clone())),
        }
    }

    /// The text this quantity was parsed from.
    #[must_use]
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Go's `Quantity.Value()`: the value rounded up (away from zero) to an integer.
    ///
    /// Overflow behaves as in Go (the result wraps or is 0); no sane quantity gets there.
    #[must_use]
    pub fn value_ceil(&self) -> i64 {
        match &self.repr {
            Repr::Scaled { value, scale } => {
                if *scale < 0 {
                    negative_scale_i64(*value, scale.unsigned_abs()).0
                } else {
                    positive_scale_i64(*value, scale.unsigned_abs()).0
                }
            }
            Repr::Decimal {
                negative,
                magnitude,
                scale,
            } => decimal_value_ceil(*negative, magnitude, *scale),
        }
    }

    /// True when the value is exactly zero.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        match &self.repr {
            Repr::Scaled { value, .. } => *value == 0,
            Repr::Decimal { magnitude, .. } => magnitude.is_zero(),
        }
    }

    /// The value k8ssandra writes into `spec.config` for a quantity-typed `cass-config` field.
    ///
    /// Upstream returns an `int64` when the internal form is an integer that fits, and
    /// `AsApproximateFloat64()` otherwise (`123Ki` → 125952, `123m` → 0.123, `1.0` → 1.0).
    /// The float is then printed by Go's JSON encoder, which writes integral floats without a
    /// fraction; this function returns the JSON value those bytes denote, so an integral float
    /// comes back as a JSON integer (`1.0` → `1`). Non-finite results (e.g. `1e400`) make
    /// upstream's `json.Marshal` fail; here they become `null` — use
    /// [`Quantity::try_to_config_json`] to get the error instead.
    #[must_use]
    #[cfg(test)]
    pub fn to_config_json(&self) -> Value {
        self.try_to_config_json().unwrap_or(Value::Null)
    }

    /// Like [`Quantity::to_config_json`], but reports a non-finite float as an error.
    ///
    /// # Errors
    /// When the float form is infinite (Go's encoder refuses it).
    pub fn try_to_config_json(&self) -> Result<Value, NotJsonNumber> {
        if let Repr::Scaled { value, scale } = &self.repr
            && *scale >= 0
        {
            let (v, ok) = positive_scale_i64(*value, scale.unsigned_abs());
            if ok {
                return Ok(Value::from(v));
            }
        }
        let f = self.approximate_f64();
        go_float_to_json(f).ok_or_else(|| NotJsonNumber {
            text: self.text.clone(),
            value: f,
        })
    }

    /// Go's `AsApproximateFloat64()`.
    #[must_use]
    pub fn approximate_f64(&self) -> f64 {
        let (base, exponent) = match &self.repr {
            Repr::Scaled { value, scale } => (*value as f64, i64::from(*scale)),
            Repr::Decimal {
                negative,
                magnitude,
                scale,
            } => {
                let m = magnitude.to_f64();
                (if *negative { -m } else { m }, -i64::from(*scale))
            }
        };
        if exponent == 0 {
            base
        } else {
            base * go_pow10(exponent)
        }
    }
}

impl std::str::FromStr for Quantity {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    /// Prints the text the quantity was parsed from (not Go's canonical form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `s` matches the `pattern` controller-gen puts on every quantity field of a CRD
/// (the API server rejects other strings before the operator sees them). Everything
/// [`Quantity::parse`] accepts matches; the pattern alone would also let fractional exponents
/// (`1e1.5`) through, which Go's parser then rejects.
#[must_use]
pub fn matches_crd_pattern(s: &str) -> bool {
    let rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    let Some(rest) = strip_crd_number(rest) else {
        return false;
    };
    match rest {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => true,
        _ if rest.len() == 1 && "numkMGTPE".contains(rest) => true,
        _ => match rest.strip_prefix(['e', 'E']) {
            Some(exp) => {
                let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
                strip_crd_number(exp) == Some("")
            }
            None => false,
        },
    }
}

/// Strips `[0-9]+(\.[0-9]*)?` or `\.[0-9]+` from the front of `s`.
fn strip_crd_number(s: &str) -> Option<&str> {
    let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
    let int = digits(s);
    let rest = &s[int..];
    match rest.strip_prefix('.') {
        Some(after) => {
            let frac = digits(after);
            if int == 0 && frac == 0 {
                None
            } else {
                Some(&after[frac..])
            }
        }
        None if int > 0 => Some(rest),
        None => None,
    }
}

/// The JSON value denoted by the text Go's `encoding/json` prints for a `float64`.
///
/// Go prints floats with the fewest digits that round-trip, without a fraction or exponent when
/// the value is integral and below 1e21. Such values come back as JSON integers (when they fit
/// 64 bits), everything else as a float. `None` for NaN and infinities, which Go refuses.
#[must_use]
pub fn go_float_to_json(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    let text = go_float_text(f);
    if !text.contains(['.', 'e']) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::from(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Value::from(u));
        }
    }
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// The text Go's `encoding/json` prints for a finite `float64`.
#[must_use]
pub fn go_float_text(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Shortest round-trip digits in exponent form; Go writes `e+21` and `e-7`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        // Rust's Display is the shortest round-trip decimal form, like Go's 'f' with -1.
        format!("{f}")
    }
}

/// The text a JSON number stands for, as Go's encoder would have written it.
fn number_text(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    let f = n.as_f64()?;
    f.is_finite().then(|| go_float_text(f))
}

// ------------------------------------------------------------------------------------------------
// Parsing

/// The pieces of a quantity string, as Go's scanner splits them.
struct Scanned<'a> {
    negative: bool,
    /// Integer digits without leading zeros ("0" when there are none).
    int_digits: &'a str,
    /// Fraction digits (may be empty).
    frac_digits: &'a str,
    suffix: &'a str,
}

fn scan(s: &str) -> Result<Scanned<'_>, Invalid> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut negative = false;
    match b.first() {
        Some(b'-') => {
            negative = true;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    let count_digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_start = pos;
    let int_len = count_digits(pos);
    pos += int_len;
    let int_all = &s[int_start..pos];
    let mut frac_digits = "";
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let n = count_digits(pos);
        frac_digits = &s[pos..pos + n];
        pos += n;
    }
    if int_all.is_empty() && frac_digits.is_empty() {
        return Err(Invalid::NoDigits);
    }
    let mut int_digits = int_all.trim_start_matches('0');
    if int_digits.is_empty() {
        int_digits = "0";
    }
    // Suffix: letters from the suffix alphabet, then an optional sign and digits.
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'+' || b[pos] == b'-') {
        pos += 1;
    }
    pos += count_digits(pos);
    if pos != b.len() {
        return Err(Invalid::TrailingCharacters);
    }
    Ok(Scanned {
        negative,
        int_digits,
        frac_digits,
        suffix: &s[suffix_start..],
    })
}

/// (base, exponent, format) for a suffix, as Go's suffixer interprets it.
fn interpret_suffix(suffix: &str) -> Option<(u32, i32, Format)> {
    let dec = |e| Some((10, e, Format::DecimalSi));
    let bin = |e| Some((2, e, Format::BinarySi));
    match suffix {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            if exp.is_empty() {
                return None;
            }
            // Go parses an int64 and then truncates it to int32.
            let parsed: i64 = exp.parse().ok()?;
            Some((10, parsed as i32, Format::DecimalExponent))
        }
    }
}

fn parse_quantity(s: &str) -> Result<Quantity, Invalid> {
    if s == "0" {
        return Ok(Quantity {
            repr: Repr::Scaled { value: 0, scale: 0 },
            text: s.to_string(),
        });
    }
    let sc = scan(s)?;
    let (base, exponent, format) =
        interpret_suffix(sc.suffix).ok_or_else(|| Invalid::UnknownSuffix(sc.suffix.to_string()))?;
    let text = s.to_string();
    let n_int = sc.int_digits.len() as i64;
    let n_frac = sc.frac_digits.len() as i64;

    // Fast path: a scaled int64, exactly as Go decides it.
    let mut mantissa: i64 = 1;
    let mut scale: i32 = 0;
    let precision: i64 = if base == 10 {
        scale = exponent;
        18 - (n_int + n_frac)
    } else if sc.frac_digits.is_empty() {
        mantissa = 1i64 << exponent;
        // Go: 15 - len(num) - int32(float32(exponent)*3/10) - 1
        15 - n_int - i64::from(exponent) * 3 / 10 - 1
    } else {
        -1
    };
    if precision >= 0 {
        scale = scale.wrapping_sub(sc.frac_digits.len() as i32);
        if scale >= -9 {
            let shifted = format!("{}{}", sc.int_digits, sc.frac_digits);
            let value: i64 = shifted.parse().map_err(|_| Invalid::NumberTooLong)?;
            if let (result, true) = go_mul(value, mantissa) {
                let value = if sc.negative {
                    result.wrapping_neg()
                } else {
                    result
                };
                return Ok(Quantity {
                    repr: Repr::Scaled { value, scale },
                    text,
                });
            }
        }
    }

    // Slow path: exact decimal, rounded up to nano precision.
    let mut magnitude = BigUint::from_decimal(&format!("{}{}", sc.int_digits, sc.frac_digits));
    let mut dec_scale = n_frac; // value = magnitude × 10^(-dec_scale)
    if base == 10 {
        dec_scale -= i64::from(exponent);
    } else {
        magnitude.shl(exponent.unsigned_abs());
    }
    if !magnitude.is_zero() {
        if dec_scale < 9 {
            let grow = 9 - dec_scale;
            if grow + magnitude.decimal_len_bound() > MAX_DIGITS {
                return Err(Invalid::TooLarge);
            }
            magnitude.mul_pow10(grow as u32);
        } else if dec_scale > 9 {
            let shrink = dec_scale - 9;
            if shrink > magnitude.decimal_len_bound() {
                // 0 < value < 1n: rounded up to 1n.
                magnitude = BigUint::from_u64(1);
            } else {
                let remainder = magnitude.div_pow10(shrink as u32);
                if remainder {
                    magnitude.add_small(1);
                }
            }
        }
        dec_scale = 9;
    }
    // Go keeps a zero's scale as computed (in wrapping 32-bit arithmetic).
    let mut dec_scale = dec_scale as i32;
    if format == Format::BinarySi {
        // Values above 2^63-1 are capped (and the cap is stored with scale 0).
        let max = BigUint::from_u64(i64::MAX as u64);
        let mut scaled_max = max.clone();
        scaled_max.mul_pow10(dec_scale.max(0) as u32);
        if magnitude.cmp(&scaled_max) == Ordering::Greater {
            magnitude = max;
            dec_scale = 0;
        }
    }
    // A decimal zero has no sign in Go.
    let negative = sc.negative && !magnitude.is_zero();
    Ok(Quantity {
        repr: Repr::Decimal {
            negative,
            magnitude,
            scale: dec_scale,
        },
        text,
    })
}

// ------------------------------------------------------------------------------------------------
// Go's integer helpers (k8s.io/apimachinery/pkg/api/resource/math.go semantics)

/// Multiplication that reports overflow the way Go's `int64Multiply` does.
fn go_mul(a: i64, b: i64) -> (i64, bool) {
    if a == 0 || b == 0 || a == 1 || b == 1 {
        return (a.wrapping_mul(b), true);
    }
    if a == i64::MIN || b == i64::MIN {
        return (0, false);
    }
    let c = a.wrapping_mul(b);
    (c, c / b == a)
}

/// Multiplication by a power of ten reporting overflow like Go's `int64MultiplyScale*`.
fn go_mul_scale(a: i64, b: i64) -> (i64, bool) {
    if a == 0 || a == 1 {
        return (a.wrapping_mul(b), true);
    }
    if a == i64::MIN {
        return (0, false);
    }
    let c = a.wrapping_mul(b);
    (c, c / b == a)
}

/// `base × 10^scale`, with Go's `positiveScaleInt64` overflow results.
fn positive_scale_i64(base: i64, scale: u32) -> (i64, bool) {
    match scale {
        0 => (base, true),
        1 => go_mul_scale(base, 10),
        2 => go_mul_scale(base, 100),
        3 => go_mul_scale(base, 1000),
        6 => go_mul_scale(base, 1_000_000),
        9 => go_mul_scale(base, 1_000_000_000),
        _ => {
            let mut value = base;
            for _ in 0..scale {
                let (v, ok) = go_mul_scale(value, 10);
                if !ok {
                    return (0, false);
                }
                value = v;
            }
            (value, true)
        }
    }
}

/// `base / 10^scale` rounded away from zero, like Go's `negativeScaleInt64`.
fn negative_scale_i64(base: i64, scale: u32) -> (i64, bool) {
    if scale == 0 {
        return (base, true);
    }
    let mut value = base;
    let mut fraction = false;
    for _ in 0..scale {
        if !fraction && value % 10 != 0 {
            fraction = true;
        }
        value /= 10;
        if value == 0 {
            if fraction {
                return (if base > 0 { 1 } else { -1 }, false);
            }
            return (0, true);
        }
    }
    if fraction {
        value += if base > 0 { 1 } else { -1 };
    }
    (value, !fraction)
}

/// Go's `scaledValue(unscaled, scale, 0)` for the decimal form.
fn decimal_value_ceil(negative: bool, magnitude: &BigUint, scale: i32) -> i64 {
    let low = |m: &BigUint| {
        let v = m.low_u64() as i64;
        if negative { v.wrapping_neg() } else { v }
    };
    if magnitude.is_zero() {
        return 0;
    }
    match scale.cmp(&0) {
        Ordering::Equal => low(magnitude),
        Ordering::Less => {
            let k = scale.unsigned_abs();
            if k <= 18 {
                low(magnitude).wrapping_mul(10i64.pow(k))
            } else {
                i64::MIN
            }
        }
        Ordering::Greater => {
            let k = scale.unsigned_abs();
            let below_max = negative || magnitude.cmp(&BigUint::from_u64(i64::MAX as u64)).is_lt();
            if below_max && k < 19 {
                let u = low(magnitude);
                let d = 10i64.pow(k);
                let (q, r) = (u / d, u % d);
                return if r != 0 { q + 1 } else { q };
            }
            // Euclidean division, then +1 when there was a remainder.
            let mut q = magnitude.clone();
            let remainder = q.div_pow10(k);
            let mut result = low(&q);
            if negative && remainder {
                result = result.wrapping_sub(1);
            }
            if remainder {
                result.wrapping_add(1)
            } else {
                result
            }
        }
    }
}

/// Go's `math.Pow10`, bit for bit (it is not always the correctly rounded power).
fn go_pow10(n: i64) -> f64 {
    const TAB: [f64; 32] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
    ];
    const POS32: [f64; 10] = [
        1e0, 1e32, 1e64, 1e96, 1e128, 1e160, 1e192, 1e224, 1e256, 1e288,
    ];
    const NEG32: [f64; 11] = [
        1e-0, 1e-32, 1e-64, 1e-96, 1e-128, 1e-160, 1e-192, 1e-224, 1e-256, 1e-288, 1e-320,
    ];
    if (0..=308).contains(&n) {
        let n = n as usize;
        return POS32[n / 32] * TAB[n % 32];
    }
    if (-323..=0).contains(&n) {
        let n = (-n) as usize;
        return NEG32[n / 32] / TAB[n % 32];
    }
    if n > 0 { f64::INFINITY } else { 0.0 }
}

// ------------------------------------------------------------------------------------------------
// A minimal unsigned big integer (little-endian base 2^32 limbs, no trailing zero limbs).

#[derive(Debug, Clone, PartialEq, Eq)]
struct BigUint {
    limbs: Vec<u32>,
}

impl BigUint {
    fn from_u64(v: u64) -> Self {
        let mut b = BigUint {
            limbs: vec![v as u32, (v >> 32) as u32],
        };
        b.trim();
        b
    }

    fn from_decimal(digits: &str) -> Self {
        let mut b = BigUint { limbs: Vec::new() };
        for chunk in digits.as_bytes().chunks(9) {
            let mut part = 0u32;
            for d in chunk {
                part = part * 10 + u32::from(d - b'0');
            }
            b.mul_small(10u32.pow(chunk.len() as u32));
            b.add_small(part);
        }
        b
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let t = u64::from(*limb) * u64::from(m) + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.limbs {
            if carry == 0 {
                break;
            }
            let t = u64::from(*limb) + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u32) {
        while k >= 9 {
            self.mul_small(1_000_000_000);
            k -= 9;
        }
        self.mul_small(10u32.pow(k));
    }

    fn shl(&mut self, bits: u32) {
        if self.is_zero() {
            return;
        }
        let (words, bits) = ((bits / 32) as usize, bits % 32);
        if bits != 0 {
            let mut carry = 0u32;
            for limb in &mut self.limbs {
                let next = *limb >> (32 - bits);
                *limb = (*limb << bits) | carry;
                carry = next;
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        let mut shifted = vec![0u32; words];
        shifted.append(&mut self.limbs);
        self.limbs = shifted;
    }

    /// Divides in place by `d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    /// Divides in place by 10^k (truncating); true when the remainder was non-zero.
    fn div_pow10(&mut self, mut k: u32) -> bool {
        let mut remainder = false;
        while k > 0 && !self.is_zero() {
            let step = k.min(9);
            remainder |= self.div_small(10u32.pow(step)) != 0;
            k -= step;
        }
        remainder
    }

    /// An upper bound on the number of decimal digits.
    fn decimal_len_bound(&self) -> i64 {
        // 32 bits per limb is a bit under 10 digits.
        self.limbs.len() as i64 * 10
    }

    fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(top) => (self.limbs.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }

    fn low_u64(&self) -> u64 {
        let lo = u64::from(self.limbs.first().copied().unwrap_or(0));
        let hi = u64::from(self.limbs.get(1).copied().unwrap_or(0));
        lo | (hi << 32)
    }

    fn bit(&self, i: u64) -> bool {
        let (word, bit) = ((i / 32) as usize, i % 32);
        self.limbs.get(word).is_some_and(|w| (w >> bit) & 1 == 1)
    }

    /// Top 64 bits starting at bit `from` (bits below are dropped).
    fn bits_from(&self, from: u64) -> u64 {
        let mut out = 0u64;
        for i in 0..64 {
            if self.bit(from + i) {
                out |= 1 << i;
            }
        }
        out
    }

    /// Correctly rounded (nearest, ties to even) conversion, like `big.Float.Float64()`.
    fn to_f64(&self) -> f64 {
        let n = self.bit_len();
        if n <= 64 {
            return self.low_u64() as f64;
        }
        let shift = n - 64;
        let mut top = self.bits_from(shift);
        let sticky = (0..shift).any(|i| self.bit(i));
        // The 11 spare low bits of `top` sit below the rounding bit, so OR-ing the sticky bit
        // into bit 0 keeps the rounding decision exact.
        top |= u64::from(sticky);
        let scale = if shift > 1100 {
            f64::INFINITY
        } else {
            2f64.powi(shift as i32)
        };
        top as f64 * scale
    }
}

impl PartialOrd for BigUint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(Ord::cmp(self, other))
    }
}

impl Ord for BigUint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn management_api_heap_size_value() {
        // spec §8 row 9: mgmtAPIHeap 999M -> MANAGEMENT_API_HEAP_SIZE "999000000"
        assert_eq!(q("999M").value_ceil(), 999_000_000);
    }

    #[test]
    fn config_json_matches_upstream_convert_quantity_cases() {
        // pkg/cassandra/config_premarshal_test.go Test_convertQuantity and Test_preMarshalConfig
        let ints = [
            ("1", 1i64),
            ("0", 0),
            ("-1", -1),
            ("123Ki", 125_952),
            ("-123Ki", -125_952),
        ];
        for (text, want) in ints {
            let got = q(text).to_config_json();
            assert!(got.is_i64(), "{text} should be an integer, got {got}");
            assert_eq!(got, json!(want), "{text}");
        }
        assert_eq!(q("1024Mi").to_config_json(), json!(1_073_741_824));
        // Floats upstream; 123m is a real fraction.
        assert_eq!(q("123m").to_config_json(), json!(0.123));
        assert_eq!(q("-123m").to_config_json(), json!(-0.123));
        // Upstream yields float64 1.0 / 0.0 / -1.0 here, which Go's encoder prints as 1 / 0 / -1.
        for (text, float, printed) in [
            ("1.0", 1.0, json!(1)),
            ("0.0", 0.0, json!(0)),
            ("-1.0", -1.0, json!(-1)),
            ("0m", 0.0, json!(0)),
        ] {
            assert_eq!(q(text).approximate_f64(), float, "{text}");
            assert!(
                matches!(q(text).repr, Repr::Scaled { scale, .. } if scale < 0),
                "{text}"
            );
            assert_eq!(q(text).to_config_json(), printed, "{text}");
        }
    }

    #[test]
    fn fractional_binary_quantities_go_through_float64() {
        // Values observed from k8s.io/apimachinery v0.35 + k8ssandra's convertQuantity:
        // "1.5Gi" leaves the int64 fast path, and 7.5Gi picks up a float64 rounding error.
        assert_eq!(q("1.5Gi").to_config_json(), json!(1_610_612_736));
        assert_eq!(
            q("7.5Gi").approximate_f64().to_bits(),
            0x41fe_0000_0000_0001
        );
        assert_eq!(q("7.5Gi").to_config_json(), json!(8_053_063_680.000_001));
        assert_eq!(q("7.5Gi").value_ceil(), 8_053_063_680);
        assert_eq!(q("1000Ti").to_config_json(), json!(1_099_511_627_776_000.1));
        assert!(q("1.5G").to_config_json().is_i64());
        assert_eq!(q("0.5").value_ceil(), 1);
    }

    #[test]
    fn value_rounds_up_away_from_zero() {
        assert_eq!(q("1").value_ceil(), 1);
        assert_eq!(q("100m").value_ceil(), 1);
        assert_eq!(q("1001m").value_ceil(), 2);
        assert_eq!(q("-100m").value_ceil(), -1);
        assert_eq!(q("1.5").value_ceil(), 2);
        assert_eq!(q("1Ki").value_ceil(), 1024);
        assert_eq!(q("1.5Gi").value_ceil(), 1_610_612_736);
        assert_eq!(q("2Gi").value_ceil(), 2_147_483_648);
        assert_eq!(q("1e3").value_ceil(), 1000);
        assert_eq!(q("1E").value_ceil(), 1_000_000_000_000_000_000);
        assert_eq!(q("5n").value_ceil(), 1);
        assert_eq!(q("1e-12").value_ceil(), 1);
        assert_eq!(
            q("8Ei").value_ceil(),
            i64::MAX,
            "binary values are capped at 2^63-1"
        );
    }

    #[test]
    fn internal_form_follows_go() {
        // Binary values with many digits leave the fast path and become (float) decimals.
        assert!(q("99999Gi").to_config_json().is_i64());
        let slow = q("999999Gi");
        assert!(matches!(slow.repr, Repr::Decimal { scale: 9, .. }));
        // Go: AsApproximateFloat64 = 1073740750258176000000000 * Pow10(-9), not exact.
        assert_eq!(slow.to_config_json(), json!(1_073_740_750_258_176.1));
        assert_eq!(slow.value_ceil(), 1_073_740_750_258_176);
        assert!(matches!(q("1Pi").repr, Repr::Decimal { .. }));
        assert!(matches!(q("1Ti").repr, Repr::Scaled { .. }));
        assert!(matches!(q("1.5Gi").repr, Repr::Decimal { .. }));
        // Too many digits for the fast path.
        assert!(matches!(
            q("1234567890123456789").repr,
            Repr::Decimal { .. }
        ));
        assert_eq!(
            q("1234567890123456789").value_ceil(),
            1_234_567_890_123_456_789
        );
        // Exponents beyond i64 overflow to a float.
        assert_eq!(
            q("1e19").to_config_json(),
            json!(10_000_000_000_000_000_000u64)
        );
        assert_eq!(q("1e400").try_to_config_json().ok(), None);
        assert_eq!(q("1e400").to_config_json(), Value::Null);
    }

    #[test]
    fn grammar() {
        for ok in [
            "1", "+1", "-1", "1.", ".5", "1.5", "007", "1Ki", "1Ei", "1n", "1u", "1m", "1k", "1M",
            "1G", "1T", "1P", "1E", "1e3", "1E3", "1e+3", "1e-3", "1.5e3", "0.0", "0Mi", "1.Gi",
        ] {
            assert!(Quantity::parse(ok).is_ok(), "{ok} should parse");
        }
        for bad in [
            "", "+", "-", ".", "Mi", "1K", "1KiB", "1mi", "1e", "1e+", "1e1.5", "1.5.5", " 1",
            "1 ", "--1", "1i", "1EE5", "abc", "1,5",
        ] {
            let err = Quantity::parse(bad).expect_err(bad);
            assert!(
                matches!(&err, ParseError::Invalid { text, .. } if text == bad),
                "{err:?}"
            );
            assert!(
                err.to_string().contains("expected a Kubernetes quantity"),
                "{err}"
            );
        }
    }

    #[test]
    fn parse_errors_say_which_part_of_the_text_is_wrong() {
        let reason = |text: &str| match Quantity::parse(text) {
            Err(ParseError::Invalid { reason, .. }) => reason,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(reason("Mi"), Invalid::NoDigits);
        assert_eq!(reason("1.5.5"), Invalid::TrailingCharacters);
        assert_eq!(reason("1KiB"), Invalid::TrailingCharacters);
        assert_eq!(reason("1Kii"), Invalid::UnknownSuffix("Kii".into()));
        assert_eq!(reason("1e"), Invalid::UnknownSuffix("e".into()));
        assert_eq!(
            Quantity::parse("1K").unwrap_err().to_string(),
            format!("invalid quantity \"1K\": unknown suffix \"K\"; {EXPECTED}")
        );
    }

    #[test]
    fn an_infinite_float_form_is_refused_with_the_quantity_text() {
        let err = q("1e400").try_to_config_json().unwrap_err();
        assert_eq!(err.text, "1e400");
        assert!(err.value.is_infinite());
        assert_eq!(
            err.to_string(),
            "quantity \"1e400\" does not fit a JSON number (it is inf)"
        );
    }

    #[test]
    fn crd_pattern() {
        for ok in [
            "1", "-1.5", ".5", "1.", "1Gi", "5n", "1E", "1e5", "1e1.5", "1e-.5",
        ] {
            assert!(matches_crd_pattern(ok), "{ok}");
        }
        assert!(matches_crd_pattern("1u"));
        for bad in ["", ".", "1K", " 1", "1 ", "1e", "1Kii", "+"] {
            assert!(!matches_crd_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn from_json_accepts_numbers_and_strings() {
        assert_eq!(Quantity::from_json(&json!(1)).unwrap().value_ceil(), 1);
        assert_eq!(
            Quantity::from_json(&json!("  2Gi ")).unwrap().value_ceil(),
            2 << 30
        );
        assert_eq!(
            Quantity::from_json(&json!(0.5)).unwrap().to_config_json(),
            json!(0.5)
        );
        assert_eq!(
            Quantity::from_json(&json!(2.0)).unwrap().to_config_json(),
            json!(2)
        );
        assert_eq!(Quantity::from_json(&json!(1e21)).unwrap().as_str(), "1e+21");
        assert_eq!(
            Quantity::from_json(&json!(true)).unwrap_err(),
            ParseError::WrongType(json!(true))
        );
        assert_eq!(
            Quantity::from_json(&Value::Null).unwrap_err().to_string(),
            "invalid quantity null: expected a string such as \"1Gi\" or a number"
        );
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_float_text(1.0), "1");
        assert_eq!(go_float_text(0.123), "0.123");
        assert_eq!(go_float_text(1e21), "1e+21");
        assert_eq!(go_float_text(1e-7), "1e-7");
        assert_eq!(go_float_text(1.5e-10), "1.5e-10");
        assert_eq!(go_float_text(0.000001), "0.000001");
        assert_eq!(go_float_text(123456789.0), "123456789");
        assert_eq!(go_float_to_json(8.0), Some(json!(8)));
        assert_eq!(go_float_to_json(-0.0), Some(json!(0)));
        assert_eq!(go_float_to_json(f64::NAN), None);
        assert_eq!(
            go_float_to_json(1.2345678901234567e19),
            Some(json!(12_345_678_901_234_567_000u64))
        );
    }

    #[test]
    fn go_pow10_tables() {
        assert_eq!(go_pow10(-3), 1.0 / 1000.0);
        assert_eq!(go_pow10(0), 1.0);
        assert_eq!(go_pow10(309), f64::INFINITY);
        assert_eq!(go_pow10(-324), 0.0);
    }

    #[test]
    fn big_to_f64_rounds_to_nearest_even() {
        let b = BigUint::from_decimal("9007199254740993"); // 2^53 + 1: a tie, rounds to even
        assert_eq!(b.to_f64(), 9_007_199_254_740_992.0);
        let mut b = BigUint::from_u64(1);
        b.shl(100);
        assert_eq!(b.to_f64(), 2f64.powi(100));
        let b = BigUint::from_decimal("123456789012345678901234567890");
        assert_eq!(b.to_f64(), 123456789012345678901234567890.0);
    }
}
