//! Optional whole numbers in JSON bodies that accept every spelling JSON Schema calls an integer:
//! `24` and also `24.0` (OpenAPI 3.1 follows JSON Schema, where a number with a zero fraction is
//! an integer). serde's own integer types refuse `24.0`.
//!
//! Use as `#[serde(default, deserialize_with = "whole_number::option")]`.

use std::{fmt, marker::PhantomData};

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// Floats above this no longer name one integer exactly.
const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0; // 2^53

/// `null`, absent (with `#[serde(default)]`) or a non-negative whole number that fits `T`.
pub fn option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    deserializer.deserialize_option(OptionVisitor(PhantomData))
}

/// For fields where `null` means something of its own: absent (with `#[serde(default)]`) is
/// `None`, `null` is `Some(None)`, a whole number `n` is `Some(Some(n))`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    option(deserializer).map(Some)
}

struct OptionVisitor<T>(PhantomData<T>);

impl<'de, T: TryFrom<u64>> Visitor<'de> for OptionVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer
            .deserialize_any(NumberVisitor(PhantomData))
            .map(Some)
    }
}

struct NumberVisitor<T>(PhantomData<T>);

impl<T: TryFrom<u64>> NumberVisitor<T> {
    fn fit<E: de::Error>(&self, value: u64) -> Result<T, E> {
        T::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), self))
    }
}

impl<'de, T: TryFrom<u64>> Visitor<'de> for NumberVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number, 0 or more, within the field's range")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        self.fit(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        match u64::try_from(value) {
            Ok(value) => self.fit(value),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(value), &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        if value.fract() == 0.0 && (0.0..=EXACT_IN_F64).contains(&value) {
            self.fit(value as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(value), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::option")]
        hours: Option<u32>,
    }

    fn hours(json: &str) -> Result<Option<u32>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.hours)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_in_any_json_spelling_are_read() {
        assert_eq!(hours(r#"{"hours": 24}"#), Ok(Some(24)));
        assert_eq!(hours(r#"{"hours": 24.0}"#), Ok(Some(24)));
        assert_eq!(hours(r#"{"hours": 2.4e1}"#), Ok(Some(24)));
        assert_eq!(hours(r#"{"hours": null}"#), Ok(None));
        assert_eq!(hours("{}"), Ok(None));
    }

    #[test]
    fn fractions_negatives_overflow_and_strings_are_refused() {
        for bad in [
            r#"{"hours": 24.5}"#,
            r#"{"hours": -1}"#,
            r#"{"hours": 4294967296}"#,
            r#"{"hours": 1e300}"#,
            r#"{"hours": "24"}"#,
        ] {
            let error = hours(bad).unwrap_err();
            assert!(error.contains("whole number"), "{bad}: {error}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "super::nullable")]
        quota: Option<Option<u64>>,
    }

    #[test]
    fn absent_null_and_a_number_are_three_answers() {
        let quota = |json: &str| serde_json::from_str::<Patch>(json).map(|p| p.quota).ok();
        assert_eq!(quota("{}"), Some(None));
        assert_eq!(quota(r#"{"quota": null}"#), Some(Some(None)));
        assert_eq!(quota(r#"{"quota": 5.0}"#), Some(Some(Some(5))));
        assert_eq!(quota(r#"{"quota": -5}"#), None);
    }
}
