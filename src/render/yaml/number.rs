//! Numbers the way Go writes them.
//!
//! kustomize sends every number through `encoding/json` and goyaml.v2, so what reaches the
//! output is decided by two Go rules: a whole float (below 1e21 in magnitude) is written by
//! JSON without a fraction and read back by goyaml.v2 as an integer, and any other float is
//! printed with `strconv.FormatFloat(f, 'g', -1, 64)`.

use serde_json::{Number, Value};

/// The JSON value kustomize ends up with for a float: an integer when Go's JSON encoder
/// would write it without a fraction and goyaml.v2 would read that text back as an int64 or
/// uint64, the float otherwise. `None` for NaN and infinities, which JSON cannot hold.
pub(super) fn float_value(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    Some(Value::Number(whole_number(f).unwrap_or_else(|| {
        // from_f64 only refuses non-finite values, excluded above.
        Number::from_f64(f).unwrap_or_else(|| Number::from(0))
    })))
}

/// `f` as an integer when Go's JSON encoder writes it without a fraction or exponent (whole
/// and below 1e21 in magnitude) and goyaml.v2 reads that text back as an int64 or uint64.
/// The integer is the text's: Go writes the shortest digits that identify the float and
/// pads with zeros, so -658320015442152576.0 becomes -658320015442152600, not its exact
/// binary value. -0.0 becomes 0.
fn whole_number(f: f64) -> Option<Number> {
    if f.fract() != 0.0 || f.abs() >= 1e21 {
        return None;
    }
    // Rust's Display for f64 prints the same shortest digits, zero-padded, never an
    // exponent.
    let text = f.to_string();
    if let Ok(i) = text.parse::<i64>() {
        return Some(Number::from(i));
    }
    text.parse::<u64>().ok().map(Number::from)
}

/// A JSON number as goyaml.v2 prints it after the JSON round trip.
pub(super) fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) => match whole_number(f) {
            Some(whole) => whole.to_string(),
            None => format_g64(f),
        },
        None => n.to_string(),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub(super) fn format_g64(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    // Rust's `{:e}` prints the shortest digits that read back as the same float, which is
    // what Go's -1 precision asks for; only the layout differs.
    format_shortest(&format!("{f:e}"))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits that identify the value
/// as a float32 (sigs.k8s.io/yaml writes float map keys this way).
pub(super) fn format_g32(f: f64) -> String {
    // Rounding to float32 is exactly what Go's bitSize 32 does.
    #[allow(clippy::cast_possible_truncation)]
    let single = f as f32;
    if single.is_nan() {
        return "NaN".to_string();
    }
    if single.is_infinite() {
        return if single > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    format_shortest(&format!("{single:e}"))
}

/// Lays out Rust's `{:e}` output (`-1.2345e-7`) the way Go's `%g` with shortest precision
/// does: exponent form when the decimal exponent is below -4 or at least 6 (`1.2345e-07`,
/// two exponent digits at least), plain decimal form otherwise.
fn format_shortest(exp_form: &str) -> String {
    let (negative, rest) = match exp_form.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, exp_form),
    };
    let (mantissa, exponent) = rest.split_once('e').unwrap_or((rest, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
        return out;
    }
    // The decimal point goes after `exponent + 1` digits.
    let point = exponent + 1;
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_format_matches_strconv() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.5, "0.5"),
            (1_000_000.5, "1.0000005e+06"),
            (0.000001, "1e-06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (1e20, "1e+20"),
            (123_456.5, "123456.5"),
            (1.234_567_890_123_456_9e23, "1.2345678901234569e+23"),
            (-2.5e-7, "-2.5e-07"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (0.1, "0.1"),
            (100_000.0, "100000"),
            (1_000_000.0, "1e+06"),
            (0.0, "0"),
            (-0.0, "-0"),
        ];
        for (f, want) in cases {
            assert_eq!(format_g64(*f), *want, "{f}");
        }
    }

    #[test]
    fn float32_keys_use_single_precision_digits() {
        assert_eq!(format_g32(0.1), "0.1");
        assert_eq!(format_g32(1.5), "1.5");
        assert_eq!(format_g32(1e10), "1e+10");
        assert_eq!(format_g32(std::f64::consts::PI), "3.1415927");
        assert_eq!(format_g32(16_777_217.0), "1.6777216e+07");
    }

    #[test]
    fn whole_floats_become_integers_in_range() {
        assert_eq!(float_value(1.0), Some(Value::from(1)));
        assert_eq!(float_value(-0.0), Some(Value::from(0)));
        assert_eq!(
            float_value(1e19),
            Some(Value::from(10_000_000_000_000_000_000_u64))
        );
        assert_eq!(float_value(1.5), Some(Value::from(1.5)));
        assert_eq!(
            float_value(-658_320_015_442_152_576.0),
            Some(Value::from(-658_320_015_442_152_600_i64))
        );
        assert_eq!(
            float_value(9_223_372_036_854_775_807.0),
            Some(Value::from(9_223_372_036_854_776_000_u64))
        );
        assert_eq!(float_value(f64::INFINITY), None);
        assert_eq!(float_value(f64::NAN), None);
        let big = float_value(1e20).map(|v| v.as_f64());
        assert_eq!(big, Some(Some(1e20)));
    }

    #[test]
    fn numbers_print_as_goyaml_v2_after_json() {
        assert_eq!(format_number(&Number::from(-3)), "-3");
        assert_eq!(
            format_number(&Number::from(12_345_678_901_234_567_890_u64)),
            "12345678901234567890"
        );
        let f = |x: f64| Number::from_f64(x).map(|n| format_number(&n));
        assert_eq!(f(2.0).as_deref(), Some("2"));
        assert_eq!(f(1e20).as_deref(), Some("1e+20"));
        assert_eq!(f(1.23e23).as_deref(), Some("1.23e+23"));
        assert_eq!(f(-1e19).as_deref(), Some("-1e+19"));
    }
}
