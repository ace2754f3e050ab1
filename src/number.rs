//! How optimc writes numbers into JSON, and reads them back: one encoding for state files, for
//! `optimc trace --format json` and `optimc replay` output, and for the JSON optimc reads (replay
//! traces, `--metrics`).
//!
//! - A finite number is a JSON number, in the shortest decimal that reads back to the same bits
//!   (`0.1`, `1e-5`, `-0.0`).
//! - A non-finite one, which JSON numbers cannot hold, is a string: `"inf"`, `"-inf"`, `"NaN"`,
//!   and `"-NaN"` for a NaN whose sign bit is set (x86 computes `0/0` as that one). A NaN with
//!   any other payload is written with its bits: `"NaN:0x7ff8000000000001"` (16 hex digits for
//!   an f64, 8 for an f32).
//!
//! So every value reads back bit for bit. Reading also takes `"Infinity"`/`"-Infinity"` and any
//! case (`"nan"`, `"INF"`), which other tools write; a number literal too large for an f64
//! (`1e999`) is refused rather than read as infinity.
//!
//! ```
//! use optimc::number::{Num, Nums};
//! let text = serde_json::to_string(&Nums(&[0.1, f64::INFINITY, f64::NAN])).unwrap();
//! assert_eq!(text, r#"[0.1,"inf","NaN"]"#);
//! let back: Vec<Num<f64>> = serde_json::from_str(&text).unwrap();
//! assert_eq!(back[1].0, f64::INFINITY);
//! assert!(back[2].0.is_nan());
//! ```

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The float types optimc writes: `f64` (lrs, hyperparameters, metrics) and `f32` (parameters,
/// optimizer state).
pub trait Float: Copy + PartialEq + fmt::Debug + 'static {
    /// The bit pattern, widened to 64 bits.
    fn bits(self) -> u64;
    /// The value of a bit pattern (of this type's width).
    fn from_bits(bits: u64) -> Self;
    /// Hex digits in the bit-pattern form of a NaN.
    const HEX_DIGITS: usize;
    /// The NaN Rust's `NAN` constant has (positive, quiet, no payload).
    const NAN: Self;
    const INFINITY: Self;
    /// The value of a JSON number (serde_json reads them as f64).
    fn from_f64(x: f64) -> Self;
    fn is_finite(self) -> bool;
    fn is_nan(self) -> bool;
    fn is_sign_negative(self) -> bool;
    fn negated(self) -> Self;
}

impl Float for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    const HEX_DIGITS: usize = 16;
    const NAN: Self = f64::NAN;
    const INFINITY: Self = f64::INFINITY;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    fn is_sign_negative(self) -> bool {
        f64::is_sign_negative(self)
    }
    fn negated(self) -> Self {
        -self
    }
}

impl Float for f32 {
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
    fn from_bits(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
    const HEX_DIGITS: usize = 8;
    const NAN: Self = f32::NAN;
    const INFINITY: Self = f32::INFINITY;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn is_sign_negative(self) -> bool {
        f32::is_sign_negative(self)
    }
    fn negated(self) -> Self {
        -self
    }
}

/// The string a non-finite value is written as (see the [module documentation](self)); `None`
/// for a finite one, which is written as a number.
///
/// ```
/// use optimc::number::non_finite_name;
/// assert_eq!(non_finite_name(f64::NEG_INFINITY).as_deref(), Some("-inf"));
/// assert_eq!(non_finite_name(-f64::NAN).as_deref(), Some("-NaN"));
/// assert_eq!(non_finite_name(f32::from_bits(0x7fc0_0001)).as_deref(), Some("NaN:0x7fc00001"));
/// assert_eq!(non_finite_name(1.5f64), None);
/// ```
pub fn non_finite_name<T: Float>(x: T) -> Option<String> {
    if x.is_finite() {
        return None;
    }
    Some(if !x.is_nan() {
        if x.is_sign_negative() { "-inf" } else { "inf" }.to_string()
    } else if x.bits() == T::NAN.bits() {
        "NaN".to_string()
    } else if x.bits() == T::NAN.negated().bits() {
        "-NaN".to_string()
    } else {
        format!("NaN:0x{:0width$x}", x.bits(), width = T::HEX_DIGITS)
    })
}

/// The value a string names, if it names a non-finite number: what [`non_finite_name`] writes,
/// and, in any case, `inf`, `infinity` and `nan` with an optional sign.
///
/// ```
/// use optimc::number::parse_non_finite;
/// assert_eq!(parse_non_finite::<f64>("-inf"), Some(f64::NEG_INFINITY));
/// assert_eq!(parse_non_finite::<f64>("Infinity"), Some(f64::INFINITY));
/// assert_eq!(parse_non_finite::<f64>("-NaN").map(f64::to_bits), Some((-f64::NAN).to_bits()));
/// assert_eq!(parse_non_finite::<f64>("1.5"), None);
/// ```
pub fn parse_non_finite<T: Float>(text: &str) -> Option<T> {
    if let Some(hex) = text.strip_prefix("NaN:0x") {
        let bits = u64::from_str_radix(hex, 16).ok()?;
        let value = T::from_bits(bits);
        // Only the exact width, and only a NaN: anything else has a plainer spelling.
        return (hex.len() == T::HEX_DIGITS && value.bits() == bits && value.is_nan())
            .then_some(value);
    }
    let (negative, word) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let value = if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity") {
        T::INFINITY
    } else if word.eq_ignore_ascii_case("nan") {
        T::NAN
    } else {
        return None;
    };
    Some(if negative { value.negated() } else { value })
}

/// A float that serializes as described in the [module documentation](self).
#[derive(Clone, Copy, Debug)]
pub struct Num<T>(pub T);

impl<T: Float + Serialize> Serialize for Num<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match non_finite_name(self.0) {
            None => self.0.serialize(s),
            Some(name) => s.serialize_str(&name),
        }
    }
}

impl<'de, T: Float> Deserialize<'de> for Num<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NumVisitor<T>(std::marker::PhantomData<T>);
        impl<T: Float> Visitor<'_> for NumVisitor<T> {
            type Value = Num<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a number, or "inf", "-inf" or "NaN""#)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Num(T::from_f64(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Num(T::from_f64(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Num(T::from_f64(v as f64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_non_finite(v).map(Num).ok_or_else(|| {
                    E::custom(format!(
                        r#"expected a number, or "inf", "-inf" or "NaN", found the string {v:?}"#
                    ))
                })
            }
        }
        d.deserialize_any(NumVisitor(std::marker::PhantomData))
    }
}

/// A slice of floats that serializes as a JSON array of [`Num`]s, without copying.
#[derive(Clone, Copy, Debug)]
pub struct Nums<'a, T>(pub &'a [T]);

impl<T: Float + Serialize> Serialize for Nums<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &x in self.0 {
            seq.serialize_element(&Num(x))?;
        }
        seq.end()
    }
}

/// `#[serde(with = "crate::number::float")]` for an `f64` or `f32` field.
pub mod float {
    use super::{Float, Num};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Float + Serialize, S: Serializer>(x: &T, s: S) -> Result<S::Ok, S::Error> {
        Num(*x).serialize(s)
    }

    pub fn deserialize<'de, T: Float, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        Ok(Num::<T>::deserialize(d)?.0)
    }
}

/// `#[serde(with = "crate::number::pair")]` for an `(f64, f64)` field.
pub mod pair {
    use super::{Float, Num};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Float + Serialize, S: Serializer>(
        x: &(T, T),
        s: S,
    ) -> Result<S::Ok, S::Error> {
        (Num(x.0), Num(x.1)).serialize(s)
    }

    pub fn deserialize<'de, T: Float, D: Deserializer<'de>>(d: D) -> Result<(T, T), D::Error> {
        let (a, b) = <(Num<T>, Num<T>)>::deserialize(d)?;
        Ok((a.0, b.0))
    }
}

/// `#[serde(with = "crate::number::option")]` for an `Option<f32>` or `Option<f64>` field.
pub mod option {
    use super::{Float, Num};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Float + Serialize, S: Serializer>(
        x: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        x.map(Num).serialize(s)
    }

    pub fn deserialize<'de, T: Float, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        Ok(Option::<Num<T>>::deserialize(d)?.map(|n| n.0))
    }
}

/// `#[serde(with = "crate::number::vec")]` for a `Vec<f32>` or `Vec<f64>` field.
pub mod vec {
    use super::{Float, Num, Nums};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Float + Serialize, S: Serializer>(
        x: &[T],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        Nums(x).serialize(s)
    }

    pub fn deserialize<'de, T: Float, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Vec::<Num<T>>::deserialize(d)?
            .into_iter()
            .map(|n| n.0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Float + Serialize>(x: T) -> T {
        let text = serde_json::to_string(&Num(x)).unwrap();
        serde_json::from_str::<Num<T>>(&text).unwrap().0
    }

    #[test]
    fn every_special_value_reads_back_bit_for_bit() {
        let f64s = [
            0.0,
            -0.0,
            0.1,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0xfff8_0000_0000_0123),
        ];
        for x in f64s {
            assert_eq!(round_trip(x).to_bits(), x.to_bits(), "{x:?}");
        }
        let f32s = [
            0.0f32,
            -0.0,
            0.1,
            f32::MIN_POSITIVE,
            1e-45,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7f80_0001),
        ];
        for x in f32s {
            assert_eq!(round_trip(x).to_bits(), x.to_bits(), "{x:?}");
        }
    }

    #[test]
    fn f32_values_read_back_exactly_across_the_range() {
        // Every 9973rd bit pattern: normals, subnormals, both signs, NaN payloads.
        let mut bits = 0u32;
        while let Some(next) = bits.checked_add(9973) {
            let x = f32::from_bits(bits);
            assert_eq!(round_trip(x).to_bits(), bits, "{x:?}");
            bits = next;
        }
    }

    #[test]
    fn names_are_strict_about_payloads_and_lenient_about_case() {
        assert_eq!(parse_non_finite::<f32>("NaN:0x7ff8000000000001"), None);
        assert_eq!(parse_non_finite::<f64>("NaN:0x7ff0000000000000"), None);
        assert_eq!(parse_non_finite::<f64>("NaN:0x"), None);
        assert!(parse_non_finite::<f64>("nan").unwrap().is_nan());
        assert_eq!(
            parse_non_finite::<f64>("-INFINITY"),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(parse_non_finite::<f64>("+inf"), Some(f64::INFINITY));
        assert_eq!(parse_non_finite::<f64>("infinite"), None);
        assert_eq!(parse_non_finite::<f64>(""), None);
        assert_eq!(parse_non_finite::<f64>("-"), None);
        let err = serde_json::from_str::<Num<f64>>(r#""big""#).unwrap_err();
        assert!(
            err.to_string().contains(r#"found the string "big""#),
            "{err}"
        );
        assert!(serde_json::from_str::<Num<f64>>("1e999").is_err());
        assert!(serde_json::from_str::<Num<f64>>("null").is_err());
        assert_eq!(serde_json::from_str::<Num<f64>>("3").unwrap().0, 3.0);
        assert_eq!(serde_json::from_str::<Num<f64>>("-3").unwrap().0, -3.0);
    }
}
