//! Setting value types and their text forms.
//!
//! Every setting, whatever its source (TOML, environment, flag), is parsed
//! from text by [`SettingValue::parse`] and written back by
//! [`SettingValue::render`]; `parse(render(v)) == v` is the round-trip
//! property the tests check.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A text that is not a valid value of its setting's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unparsable;

/// A value that a setting can hold, with its text form.
pub trait SettingValue: Sized {
    /// What a valid value looks like, for error messages
    /// ("a size like 512m or 2g").
    const EXPECTED: &'static str;
    /// Parses the text form. The error carries nothing but the refusal:
    /// the caller knows the key, the source and [`Self::EXPECTED`].
    fn parse(text: &str) -> Result<Self, Unparsable>;
    /// The canonical text form.
    fn render(&self) -> String;
}

/// A number of bytes, written `512m`, `2g`, `64k`, `1048576`, `1.5g`, `512MiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// One kibibyte.
    pub const KIB: u64 = 1024;
    /// One mebibyte.
    pub const MIB: u64 = 1024 * 1024;
    /// One gibibyte.
    pub const GIB: u64 = 1024 * 1024 * 1024;

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl SettingValue for ByteSize {
    const EXPECTED: &'static str = "a size like 512m or 2g";

    fn parse(text: &str) -> Result<Self, Unparsable> {
        let t = text.trim().to_ascii_lowercase();
        if t.is_empty() {
            return Err(Unparsable);
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let unit = unit.trim();
        let mult: u64 = match unit {
            "" | "b" => 1,
            "k" | "kb" | "kib" => ByteSize::KIB,
            "m" | "mb" | "mib" => ByteSize::MIB,
            "g" | "gb" | "gib" => ByteSize::GIB,
            "t" | "tb" | "tib" => ByteSize::GIB * 1024,
            _ => return Err(Unparsable),
        };
        if num.is_empty() || num.matches('.').count() > 1 {
            return Err(Unparsable);
        }
        if let Some((whole, frac)) = num.split_once('.') {
            // Fractions are exact in decimal: 1.5g = 1g + 5/10 g, no floats.
            let whole: u64 = if whole.is_empty() {
                0
            } else {
                whole.parse().map_err(|_| Unparsable)?
            };
            if frac.is_empty() || frac.len() > 9 {
                return Err(Unparsable);
            }
            let frac_num: u64 = frac.parse().map_err(|_| Unparsable)?;
            let scale = 10u64.pow(frac.len() as u32);
            let whole_bytes = whole.checked_mul(mult).ok_or(Unparsable)?;
            let frac_bytes = (u128::from(frac_num) * u128::from(mult) / u128::from(scale)) as u64;
            whole_bytes
                .checked_add(frac_bytes)
                .map(ByteSize)
                .ok_or(Unparsable)
        } else {
            let n: u64 = num.parse().map_err(|_| Unparsable)?;
            n.checked_mul(mult).map(ByteSize).ok_or(Unparsable)
        }
    }

    fn render(&self) -> String {
        let b = self.0;
        for (unit, size) in [
            ("g", ByteSize::GIB),
            ("m", ByteSize::MIB),
            ("k", ByteSize::KIB),
        ] {
            if b != 0 && b % size == 0 {
                return format!("{}{unit}", b / size);
            }
        }
        b.to_string()
    }
}

/// A duration, written `30s`, `250ms`, `5m`, `1h` or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub Duration);

impl Span {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl SettingValue for Span {
    const EXPECTED: &'static str = "a duration like 30s, 250ms, 5m or 1h";

    fn parse(text: &str) -> Result<Self, Unparsable> {
        let t = text.trim().to_ascii_lowercase();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let millis_per_unit: u64 = match unit.trim() {
            "" | "s" | "sec" | "secs" => 1000,
            "ms" => 1,
            "m" | "min" | "mins" => 60_000,
            "h" => 3_600_000,
            _ => return Err(Unparsable),
        };
        if num.is_empty() {
            return Err(Unparsable);
        }
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if frac.contains('.') || frac.len() > 3 {
            return Err(Unparsable);
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| Unparsable)?
        };
        let frac_millis: u64 = if frac.is_empty() {
            0
        } else {
            let f: u64 = frac.parse().map_err(|_| Unparsable)?;
            f * millis_per_unit / 10u64.pow(frac.len() as u32)
        };
        let millis = whole
            .checked_mul(millis_per_unit)
            .and_then(|m| m.checked_add(frac_millis))
            .ok_or(Unparsable)?;
        Ok(Span(Duration::from_millis(millis)))
    }

    fn render(&self) -> String {
        let ms = self.0.as_millis();
        if ms != 0 && ms % 3_600_000 == 0 {
            format!("{}h", ms / 3_600_000)
        } else if ms != 0 && ms % 60_000 == 0 {
            format!("{}m", ms / 60_000)
        } else if ms % 1000 == 0 {
            format!("{}s", ms / 1000)
        } else {
            format!("{ms}ms")
        }
    }
}

/// An amount of US dollars held exactly as integer micro-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd {
    /// Millionths of a dollar.
    pub micros: u64,
}

impl SettingValue for Usd {
    const EXPECTED: &'static str = "an amount of dollars like 5 or 0.25 (at most 6 decimals)";

    fn parse(text: &str) -> Result<Self, Unparsable> {
        let t = text.trim().trim_start_matches('$');
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if (whole.is_empty() && frac.is_empty())
            || frac.len() > 6
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Unparsable);
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| Unparsable)?
        };
        let mut frac_micros: u64 = 0;
        for (i, d) in frac.bytes().enumerate() {
            frac_micros += u64::from(d - b'0') * 10u64.pow(5 - i as u32);
        }
        whole
            .checked_mul(1_000_000)
            .and_then(|m| m.checked_add(frac_micros))
            .map(|micros| Usd { micros })
            .ok_or(Unparsable)
    }

    fn render(&self) -> String {
        let whole = self.micros / 1_000_000;
        let frac = self.micros % 1_000_000;
        if frac == 0 {
            format!("{whole}")
        } else {
            let s = format!("{whole}.{frac:06}");
            s.trim_end_matches('0').to_string()
        }
    }
}

/// A secret string (an API key). Its `Debug` and `Display` never show it;
/// only [`Secret::expose`] does, at the one place that must send it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself. Call only where it is sent to its owner's service.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A masked form safe for logs: `(unset)` or `sk-…(51 chars)`.
    pub fn masked(&self) -> String {
        if self.0.is_empty() {
            "(unset)".to_string()
        } else {
            let prefix: String = self.0.chars().take(3).collect();
            format!("{prefix}…({} chars)", self.0.chars().count())
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl SettingValue for Secret {
    const EXPECTED: &'static str = "a string";
    fn parse(text: &str) -> Result<Self, Unparsable> {
        Ok(Secret(text.trim().to_string()))
    }
    fn render(&self) -> String {
        self.0.clone()
    }
}

impl SettingValue for bool {
    const EXPECTED: &'static str = "true or false (also 1/0, yes/no, on/off)";
    fn parse(text: &str) -> Result<Self, Unparsable> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(Unparsable),
        }
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

macro_rules! integer_value {
    ($($t:ty),*) => {$(
        impl SettingValue for $t {
            const EXPECTED: &'static str = concat!("a whole number (", stringify!($t), ")");
            fn parse(text: &str) -> Result<Self, Unparsable> {
                text.trim().replace('_', "").parse().map_err(|_| Unparsable)
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_value!(u32, u64, usize);

impl SettingValue for f64 {
    const EXPECTED: &'static str = "a number like 0.5 or 2";
    fn parse(text: &str) -> Result<Self, Unparsable> {
        let v: f64 = text.trim().parse().map_err(|_| Unparsable)?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(Unparsable)
        }
    }
    fn render(&self) -> String {
        // `{:?}` keeps enough digits to read back the same f64.
        format!("{self:?}")
    }
}

impl SettingValue for String {
    const EXPECTED: &'static str = "a string";
    fn parse(text: &str) -> Result<Self, Unparsable> {
        Ok(text.trim().to_string())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl SettingValue for PathBuf {
    const EXPECTED: &'static str = "a file path";
    fn parse(text: &str) -> Result<Self, Unparsable> {
        let t = text.trim();
        if t.is_empty() {
            Err(Unparsable)
        } else {
            Ok(PathBuf::from(t))
        }
    }
    fn render(&self) -> String {
        self.display().to_string()
    }
}

/// Optional values: the empty string means unset.
impl<T: SettingValue> SettingValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn parse(text: &str) -> Result<Self, Unparsable> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            T::parse(text).map(Some)
        }
    }
    fn render(&self) -> String {
        self.as_ref().map(T::render).unwrap_or_default()
    }
}

/// Comma-separated lists of names.
impl SettingValue for Vec<String> {
    const EXPECTED: &'static str = "a comma-separated list of names";
    fn parse(text: &str) -> Result<Self, Unparsable> {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }
    fn render(&self) -> String {
        self.join(",")
    }
}

/// Declares a closed set of names as an enum with its text form.
macro_rules! name_enum {
    ($(#[$m:meta])* $name:ident, $expected:literal { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The text form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl SettingValue for $name {
            const EXPECTED: &'static str = $expected;
            fn parse(text: &str) -> Result<Self, Unparsable> {
                match text.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Unparsable),
                }
            }
            fn render(&self) -> String {
                self.as_str().to_string()
            }
        }
    };
}

name_enum!(
    /// The security profile: which unsafe choices are possible at all.
    Profile, "one of maximum, standard, development" {
        /// gVisor required, network off, nothing unsafe. The default.
        Maximum = "maximum",
        /// runc allowed (with a warning) when gVisor is missing.
        Standard = "standard",
        /// Local, unisolated execution allowed, loudly. Never in production.
        Development = "development",
    }
);

name_enum!(
    /// Where model code runs.
    ExecutionMode, "one of docker, local" {
        /// In a Docker container (gVisor by default).
        Docker = "docker",
        /// In a plain subprocess on this host, with rlimits only.
        Local = "local",
    }
);

name_enum!(
    /// The OCI runtime requested for sandboxes.
    RuntimeChoice, "one of auto, runsc, runc" {
        /// gVisor when registered; otherwise refuse unless unsafe runtime is allowed.
        Auto = "auto",
        /// gVisor, required.
        Runsc = "runsc",
        /// Docker's default runtime: the host kernel is the boundary.
        Runc = "runc",
    }
);

name_enum!(
    /// What the egress filter does with a finding.
    EgressMode, "one of redact, block" {
        /// Replace each finding by a marker naming its detector.
        Redact = "redact",
        /// Refuse the whole output.
        Block = "block",
    }
);

name_enum!(
    /// The model provider's API.
    ApiProvider, "one of openai, anthropic" {
        /// OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp, OpenRouter).
        Openai = "openai",
        /// Anthropic messages.
        Anthropic = "anthropic",
    }
);

name_enum!(
    /// How a model missing from the pricing table is treated.
    UnknownModelPolicy, "one of refuse, fallback" {
        /// Refuse the call before it is made.
        Refuse = "refuse",
        /// Price it at the configured fallback prices, with a warning.
        Fallback = "fallback",
    }
);
