//! Exact money: integer micro-dollars, and the one rounding rule of the crate.
//!
//! Floats never hold money here. A price is micro-dollars per million
//! tokens, a cost is `ceil(tokens * price / 1e6)` computed in `u128`, and
//! sums are saturating integer additions, so a report adds up to the cent
//! (and the micro-cent) whatever order calls settle in.

use std::fmt;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

/// Micro-dollars in one dollar.
pub const MICROS_PER_USD: u64 = 1_000_000;

/// An amount of US dollars held exactly as integer micro-dollars.
///
/// Serialises as the bare integer number of micro-dollars, so JSON reports
/// stay exact; its `Display` renders `$1.234567`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(u64);

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);
    /// The largest amount; used where "no limit" must compare as money.
    pub const MAX: Money = Money(u64::MAX);

    /// An amount of micro-dollars.
    pub const fn from_micros(micros: u64) -> Money {
        Money(micros)
    }

    /// A whole number of dollars (saturating).
    pub const fn from_usd(dollars: u64) -> Money {
        Money(dollars.saturating_mul(MICROS_PER_USD))
    }

    /// The amount in micro-dollars.
    pub const fn micros(self) -> u64 {
        self.0
    }

    /// Saturating addition: a total that would overflow `u64` micro-dollars
    /// (18 trillion dollars) pins at the maximum instead of wrapping.
    pub const fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// Saturating subtraction.
    pub const fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }

    /// Checked addition.
    pub const fn checked_add(self, other: Money) -> Option<Money> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Money(v)),
            None => None,
        }
    }

    /// The amount as floating-point dollars, for display only.
    pub fn as_usd_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_USD as f64
    }

    /// Parses a decimal amount of dollars exactly: `5`, `0.15`, `$2.50`,
    /// `1.5e-1`. At most six decimals survive; more is refused rather than
    /// silently rounded, because a price file with finer digits than a
    /// micro-dollar per million tokens is almost surely a typo.
    pub fn parse_usd(text: &str) -> Result<Money, MoneyParseError> {
        parse_decimal_usd(text)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / MICROS_PER_USD;
        let frac = self.0 % MICROS_PER_USD;
        if frac == 0 {
            write!(f, "${whole}")
        } else {
            let s = format!("{frac:06}");
            let s = s.trim_end_matches('0');
            // Keep at least cents so "$0.5" reads as "$0.50".
            if s.len() < 2 {
                write!(f, "${whole}.{s:0<2}")
            } else {
                write!(f, "${whole}.{s}")
            }
        }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        self.saturating_add(rhs)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = self.saturating_add(rhs);
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Money::saturating_add)
    }
}

impl From<rlm_config::Usd> for Money {
    fn from(u: rlm_config::Usd) -> Money {
        Money(u.micros)
    }
}

/// The cost of `tokens` at `price_per_m` (dollars per million tokens, held
/// as [`Money`]): `ceil(tokens * price / 1e6)` micro-dollars.
///
/// Rounds up so that a budget never under-counts: a thousand one-token calls
/// at a sub-micro-dollar price cost at least a thousand micro-dollars.
/// Computed in `u128` so no real token count overflows; the result saturates
/// at [`Money::MAX`].
pub fn cost_of(tokens: u64, price_per_m: Money) -> Money {
    // Same result as the u128 path below; taken when the product fits in
    // u64 (every realistic call) because u128 division is a slow library
    // routine and this runs several times per reserve/settle.
    if let Some(product) = tokens.checked_mul(price_per_m.0) {
        return Money(product.div_ceil(1_000_000));
    }
    let product = u128::from(tokens) * u128::from(price_per_m.0);
    let micros = product.div_ceil(1_000_000);
    Money(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// Why a dollar amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyParseError {
    /// Not a decimal number.
    #[error("'{0}' is not an amount of dollars like 0.15 or 2.5")]
    NotANumber(String),
    /// A negative amount.
    #[error("'{0}' is negative; prices and limits are never below zero")]
    Negative(String),
    /// More than six decimals.
    #[error("'{0}' has more than 6 decimals (the precision is one micro-dollar)")]
    TooPrecise(String),
    /// Too large for `u64` micro-dollars.
    #[error("'{0}' is too large")]
    TooLarge(String),
}

fn parse_decimal_usd(text: &str) -> Result<Money, MoneyParseError> {
    let original = text;
    let t = text.trim().trim_start_matches('$');
    let nan = || MoneyParseError::NotANumber(original.to_string());
    if t.starts_with('-') {
        return Err(MoneyParseError::Negative(original.to_string()));
    }
    let t = t.trim_start_matches('+');
    // Split off an exponent: serde_json and TOML render small floats as
    // `1e-7`, so the exact reader must accept what they print.
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => {
            let e: i32 = t[i + 1..].parse().map_err(|_| nan())?;
            (&t[..i], e)
        }
        None => (t, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(nan());
    }
    // All digits as one integer, with the decimal point `scale` places from
    // the right; the exponent moves the point.
    let digits: String = format!("{whole}{frac}");
    let digits = digits.trim_start_matches('0');
    let scale = i64::try_from(frac.len()).map_err(|_| nan())? - i64::from(exp);
    // micros = digits * 10^(6 - scale)
    let shift = 6 - scale;
    let value: u128 = if digits.is_empty() {
        0
    } else if digits.len() > 30 {
        return Err(MoneyParseError::TooLarge(original.to_string()));
    } else {
        digits.parse().map_err(|_| nan())?
    };
    let micros: u128 = if shift >= 0 {
        let pow = 10u128
            .checked_pow(u32::try_from(shift).map_err(|_| nan())?)
            .ok_or_else(|| MoneyParseError::TooLarge(original.to_string()))?;
        value
            .checked_mul(pow)
            .ok_or_else(|| MoneyParseError::TooLarge(original.to_string()))?
    } else {
        let drop = u32::try_from(-shift).map_err(|_| nan())?;
        let pow = 10u128.checked_pow(drop);
        match pow {
            Some(p) if value % p == 0 => value / p,
            _ if value == 0 => 0,
            _ => return Err(MoneyParseError::TooPrecise(original.to_string())),
        }
    };
    u64::try_from(micros)
        .map(Money)
        .map_err(|_| MoneyParseError::TooLarge(original.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rounds_up_in_micros() {
        // gpt-4o-mini input: $0.15 per million.
        let p = Money::parse_usd("0.15").unwrap();
        assert_eq!(p.micros(), 150_000);
        assert_eq!(cost_of(1_000_000, p).micros(), 150_000);
        assert_eq!(cost_of(1, p).micros(), 1); // 0.15 micros rounds up
        assert_eq!(cost_of(0, p), Money::ZERO);
        assert_eq!(cost_of(u64::MAX, Money::MAX), Money::MAX);
        // Both paths agree at the boundary of the u64 fast path.
        let big = Money::from_micros(1 << 40);
        for t in [(1u64 << 24) - 1, 1 << 24, (1 << 24) + 1, 1 << 30] {
            let exact = (u128::from(t) * (1u128 << 40)).div_ceil(1_000_000);
            assert_eq!(u128::from(cost_of(t, big).micros()), exact);
        }
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(Money::parse_usd("2.5").unwrap().micros(), 2_500_000);
        assert_eq!(Money::parse_usd("$10").unwrap().micros(), 10_000_000);
        assert_eq!(Money::parse_usd("1e-6").unwrap().micros(), 1);
        assert_eq!(Money::parse_usd("1.5E1").unwrap().micros(), 15_000_000);
        assert_eq!(Money::parse_usd("0.0000000").unwrap().micros(), 0);
        assert!(matches!(
            Money::parse_usd("1e-7"),
            Err(MoneyParseError::TooPrecise(_))
        ));
        assert!(matches!(
            Money::parse_usd("-1"),
            Err(MoneyParseError::Negative(_))
        ));
        assert!(matches!(
            Money::parse_usd("abc"),
            Err(MoneyParseError::NotANumber(_))
        ));
        assert!(matches!(
            Money::parse_usd("1e400"),
            Err(MoneyParseError::TooLarge(_))
        ));
    }

    #[test]
    fn displays_dollars() {
        assert_eq!(Money::from_micros(1_500_000).to_string(), "$1.50");
        assert_eq!(Money::from_micros(1_234_567).to_string(), "$1.234567");
        assert_eq!(Money::from_usd(5).to_string(), "$5");
        assert_eq!(Money::from_micros(10).to_string(), "$0.00001");
    }
}
