//! Exact normalisation of DynamoDB numbers as decimal text: no exponent, no
//! leading or trailing zeros, `-0` becomes `0` (`1.5E2` becomes `150`).
//! Numbers never pass through a float.

use super::error::ValueError;

/// Largest power of ten accepted in a result (DynamoDB's range is 1E-130 to
/// 9.99E125); beyond it the text would only be a denial of service.
const MAX_EXPONENT: i64 = 1000;

/// Normalises a DynamoDB number string to plain decimal text.
pub fn normalize_number(text: &str) -> Result<String, ValueError> {
    let invalid = || ValueError::InvalidNumber(text.to_string());
    let s = text.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], parse_exponent(&s[i + 1..]).ok_or_else(invalid)?),
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(invalid());
    }
    let digits: String = int_part.chars().chain(frac_part.chars()).collect();
    let frac_len = i64::try_from(frac_part.len()).map_err(|_| invalid())?;
    let mut exp = exponent - frac_len;
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return Ok("0".to_string());
    }
    exp += i64::try_from(digits.len() - trimmed.len()).map_err(|_| invalid())?;
    let width = i64::try_from(trimmed.len()).map_err(|_| invalid())?;
    if exp > MAX_EXPONENT || exp + width < -MAX_EXPONENT {
        return Err(ValueError::NumberOutOfRange(text.to_string()));
    }
    let mut out = String::with_capacity(trimmed.len() + 8);
    if negative {
        out.push('-');
    }
    if exp >= 0 {
        out.push_str(trimmed);
        out.extend(std::iter::repeat_n('0', exp.unsigned_abs() as usize));
    } else {
        let point = width + exp;
        if point > 0 {
            let (head, tail) = trimmed.split_at(point.unsigned_abs() as usize);
            out.push_str(head);
            out.push('.');
            out.push_str(tail);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(trimmed);
        }
    }
    Ok(out)
}

/// Parses an exponent (`+3`, `-12`, `7`), bounded so arithmetic cannot
/// overflow.
fn parse_exponent(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 9 {
        return Some(if negative {
            -10 * MAX_EXPONENT
        } else {
            10 * MAX_EXPONENT
        });
    }
    let value: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::normalize_number as n;

    #[test]
    fn normalises_plain_and_exponent_forms() {
        assert_eq!(n("1.5E2").unwrap(), "150");
        assert_eq!(n("1.5e+2").unwrap(), "150");
        assert_eq!(n("150").unwrap(), "150");
        assert_eq!(n("0150.000").unwrap(), "150");
        assert_eq!(n("-0").unwrap(), "0");
        assert_eq!(n("-0.000E5").unwrap(), "0");
        assert_eq!(n("+7").unwrap(), "7");
        assert_eq!(n("12.3400").unwrap(), "12.34");
        assert_eq!(n("1E-3").unwrap(), "0.001");
        assert_eq!(n("-123.45E-1").unwrap(), "-12.345");
        assert_eq!(n(".5").unwrap(), "0.5");
        assert_eq!(n("5.").unwrap(), "5");
        assert_eq!(n("1E-130").unwrap().len(), 132);
    }

    #[test]
    fn keeps_38_digits_exactly() {
        let big = "12345678901234567890123456789012345678";
        assert_eq!(n(big).unwrap(), big);
        let frac = "-0.12345678901234567890123456789012345678";
        assert_eq!(n(frac).unwrap(), frac);
        assert_eq!(
            n("9.9999999999999999999999999999999999999E125")
                .unwrap()
                .len(),
            126
        );
    }

    #[test]
    fn rejects_garbage_and_huge_exponents() {
        for bad in [
            "", "-", "abc", "1.2.3", "1e", "1e+", "0x10", "1,5", "NaN", "inf", "1 2",
        ] {
            assert!(n(bad).is_err(), "{bad:?} accepted");
        }
        assert!(n("1E999999999999999").is_err());
        assert!(n("1E-999999").is_err());
        assert_eq!(n("0E999999999999").unwrap(), "0");
    }
}
