//! Model prices: a built-in table, overrides from a file, aliases, and the
//! name normalisation that maps dated model names onto their family.
//!
//! Lookup never guesses by prefix: `gpt-4o-mini-2024-07-18` is priced as
//! `gpt-4o-mini` because a date suffix is stripped, never as `gpt-4o`
//! because the name starts with it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::money::{cost_of, Money};

/// Environment variable naming a pricing override file.
pub const PRICING_PATH_ENV: &str = "RLM_PRICING_PATH";

/// Prices of one model, per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// Input (prompt) tokens, per million.
    pub input_per_m: Money,
    /// Output (completion) tokens, per million.
    pub output_per_m: Money,
    /// Cached input tokens, per million, where the provider discounts them;
    /// `None` prices cached tokens as ordinary input.
    pub cached_input_per_m: Option<Money>,
}

impl Price {
    /// A price from micro-dollars per million tokens.
    pub const fn per_m_micros(input: u64, output: u64, cached_input: Option<u64>) -> Price {
        Price {
            input_per_m: Money::from_micros(input),
            output_per_m: Money::from_micros(output),
            cached_input_per_m: match cached_input {
                Some(c) => Some(Money::from_micros(c)),
                None => None,
            },
        }
    }

    /// The cost of a call's real usage. Each kind of token is rounded up on
    /// its own, so the result never under-counts.
    pub fn cost(&self, usage: &Usage) -> Money {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let uncached = usage.input_tokens - cached;
        let cached_price = self.cached_input_per_m.unwrap_or(self.input_per_m);
        cost_of(uncached, self.input_per_m)
            + cost_of(cached, cached_price)
            + cost_of(usage.output_tokens, self.output_per_m)
    }

    /// The worst case of a call: every prompt token uncached and the full
    /// `max_output_tokens` produced.
    pub fn worst_case(&self, prompt_tokens: u64, max_output_tokens: u64) -> Money {
        cost_of(prompt_tokens, self.input_per_m) + cost_of(max_output_tokens, self.output_per_m)
    }
}

/// Tokens a call really used, as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// All prompt tokens, cached ones included (OpenAI's `prompt_tokens`;
    /// for Anthropic, `input_tokens + cache_read_input_tokens`).
    pub input_tokens: u64,
    /// The part of `input_tokens` served from the provider's cache.
    pub cached_input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

impl Usage {
    /// Usage without cached tokens.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Usage {
        Usage {
            input_tokens,
            cached_input_tokens: 0,
            output_tokens,
        }
    }
}

/// What a lookup found: the canonical name the price is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedModel {
    /// The name as the caller gave it (what reports break down by).
    pub model: Arc<str>,
    /// The table entry that priced it (after aliases and normalisation),
    /// or `"(fallback)"`.
    pub priced_as: Arc<str>,
    /// The price.
    pub price: Price,
    /// Whether the fallback price was used because the model is unknown.
    pub fallback: bool,
}

/// How a model missing from the table is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownModel {
    /// Refuse the call before it is made.
    Refuse,
    /// Price it at these prices, with a warning.
    Fallback(Price),
}

/// Errors of pricing: files that cannot be read, and unknown models.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The file could not be read.
    #[error("cannot read pricing file {path}: {source} (check {PRICING_PATH_ENV})")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid JSON/TOML of the expected shape.
    #[error(
        "pricing file {path} is malformed: {message}; expected \
         {{\"models\": {{\"NAME\": {{\"input_cost_per_m\": X, \"output_cost_per_m\": Y}}}}}}"
    )]
    Malformed {
        /// The file (or `<inline>`).
        path: PathBuf,
        /// The parser's message, with line and column where it gives them.
        message: String,
    },
    /// A price that is not a non-negative amount of dollars.
    #[error("pricing file {path}: model '{model}' field {field}: {reason}")]
    BadPrice {
        /// The file.
        path: PathBuf,
        /// The model entry.
        model: String,
        /// The field.
        field: &'static str,
        /// Why the value was refused.
        reason: crate::money::MoneyParseError,
    },
    /// An alias pointing at a model the table does not have.
    #[error("pricing file {path}: alias '{alias}' points at unknown model '{target}'")]
    DanglingAlias {
        /// The file.
        path: PathBuf,
        /// The alias.
        alias: String,
        /// Its missing target.
        target: String,
    },
    /// An extension other than `.json` or `.toml`.
    #[error("pricing file {path}: unknown extension; use .json or .toml")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A model missing from the table, under the refuse policy.
    #[error(
        "no price for model '{model}'{hint}; add it to a pricing file named by \
         RLM_PRICING_PATH, or set RLM_UNKNOWN_MODEL=fallback to price unknown models at \
         RLM_FALLBACK_INPUT_COST_PER_M / RLM_FALLBACK_OUTPUT_COST_PER_M"
    )]
    UnknownModel {
        /// The model.
        model: String,
        /// ` (did you mean 'x'?)` or empty.
        hint: String,
    },
}

/// The pricing table: entries, aliases, and the unknown-model policy.
#[derive(Debug, Clone)]
pub struct PricingTable {
    models: HashMap<String, (Arc<str>, Price)>,
    aliases: HashMap<String, String>,
    unknown: UnknownModel,
}

const FALLBACK_NAME: &str = "(fallback)";

/// Dollars per million tokens, as `(name, input, output, cached input)` in
/// micro-dollars. As of the author's knowledge (2025); overridable.
const BUILTIN: &[(&str, u64, u64, Option<u64>)] = &[
    // OpenAI
    ("gpt-4o", 2_500_000, 10_000_000, Some(1_250_000)),
    // The first gpt-4o snapshot kept its launch price: an exact entry wins
    // over date-suffix normalisation.
    ("gpt-4o-2024-05-13", 5_000_000, 15_000_000, None),
    ("gpt-4o-mini", 150_000, 600_000, Some(75_000)),
    ("gpt-4.1", 2_000_000, 8_000_000, Some(500_000)),
    ("gpt-4.1-mini", 400_000, 1_600_000, Some(100_000)),
    ("gpt-4.1-nano", 100_000, 400_000, Some(25_000)),
    ("gpt-4-turbo", 10_000_000, 30_000_000, None),
    ("gpt-4", 30_000_000, 60_000_000, None),
    ("gpt-3.5-turbo", 500_000, 1_500_000, None),
    ("o1", 15_000_000, 60_000_000, Some(7_500_000)),
    ("o1-mini", 1_100_000, 4_400_000, Some(550_000)),
    ("o1-pro", 150_000_000, 600_000_000, None),
    ("o3", 2_000_000, 8_000_000, Some(500_000)),
    ("o3-mini", 1_100_000, 4_400_000, Some(550_000)),
    ("o3-pro", 20_000_000, 80_000_000, None),
    ("o4-mini", 1_100_000, 4_400_000, Some(275_000)),
    ("gpt-5", 1_250_000, 10_000_000, Some(125_000)),
    ("gpt-5-mini", 250_000, 2_000_000, Some(25_000)),
    ("gpt-5-nano", 50_000, 400_000, Some(5_000)),
    // Anthropic (cached = cache reads, a tenth of input)
    ("claude-3-5-sonnet", 3_000_000, 15_000_000, Some(300_000)),
    ("claude-3-7-sonnet", 3_000_000, 15_000_000, Some(300_000)),
    ("claude-sonnet-4", 3_000_000, 15_000_000, Some(300_000)),
    ("claude-sonnet-4-5", 3_000_000, 15_000_000, Some(300_000)),
    ("claude-3-haiku", 250_000, 1_250_000, Some(30_000)),
    ("claude-3-5-haiku", 800_000, 4_000_000, Some(80_000)),
    ("claude-haiku-4-5", 1_000_000, 5_000_000, Some(100_000)),
    ("claude-3-opus", 15_000_000, 75_000_000, Some(1_500_000)),
    ("claude-opus-4", 15_000_000, 75_000_000, Some(1_500_000)),
    ("claude-opus-4-1", 15_000_000, 75_000_000, Some(1_500_000)),
    // Google (prompts up to 128k / 200k tokens; long prompts cost more)
    ("gemini-1.5-pro", 1_250_000, 5_000_000, Some(312_500)),
    ("gemini-1.5-flash", 75_000, 300_000, Some(18_750)),
    ("gemini-1.5-flash-8b", 37_500, 150_000, Some(10_000)),
    ("gemini-2.0-flash", 100_000, 400_000, Some(25_000)),
    ("gemini-2.0-flash-lite", 75_000, 300_000, None),
    ("gemini-2.5-pro", 1_250_000, 10_000_000, Some(310_000)),
    ("gemini-2.5-flash", 300_000, 2_500_000, Some(75_000)),
    ("gemini-2.5-flash-lite", 100_000, 400_000, Some(25_000)),
];

/// Other spellings of built-in models.
const BUILTIN_ALIASES: &[(&str, &str)] = &[
    ("gpt-4o-mini-latest", "gpt-4o-mini"),
    ("chatgpt-4o-mini", "gpt-4o-mini"),
    ("claude-3.5-sonnet", "claude-3-5-sonnet"),
    ("claude-3.7-sonnet", "claude-3-7-sonnet"),
    ("claude-3.5-haiku", "claude-3-5-haiku"),
    ("claude-4-sonnet", "claude-sonnet-4"),
    ("claude-sonnet-4-0", "claude-sonnet-4"),
    ("claude-4-opus", "claude-opus-4"),
    ("claude-opus-4-0", "claude-opus-4"),
    ("claude-4.1-opus", "claude-opus-4-1"),
    ("claude-4.5-sonnet", "claude-sonnet-4-5"),
    ("claude-4.5-haiku", "claude-haiku-4-5"),
];

impl Default for PricingTable {
    fn default() -> Self {
        PricingTable::builtin()
    }
}

impl PricingTable {
    /// The built-in table, refusing unknown models.
    pub fn builtin() -> PricingTable {
        let mut t = PricingTable::empty();
        for &(name, i, o, c) in BUILTIN {
            t.insert(name, Price::per_m_micros(i, o, c));
        }
        for &(alias, target) in BUILTIN_ALIASES {
            t.aliases.insert(alias.to_string(), target.to_string());
        }
        t
    }

    /// A table with no entries, refusing unknown models.
    pub fn empty() -> PricingTable {
        PricingTable {
            models: HashMap::new(),
            aliases: HashMap::new(),
            unknown: UnknownModel::Refuse,
        }
    }

    /// The built-in table, with the config's unknown-model policy, then the
    /// overrides of `pricing_path` (which rlm-config fills from
    /// `RLM_PRICING_PATH`).
    pub fn from_config(cfg: &rlm_config::BudgetConfig) -> Result<PricingTable, PricingError> {
        let mut t = PricingTable::builtin();
        t.unknown = match cfg.unknown_model {
            rlm_config::UnknownModelPolicy::Refuse => UnknownModel::Refuse,
            rlm_config::UnknownModelPolicy::Fallback => UnknownModel::Fallback(Price {
                input_per_m: cfg.fallback_input_cost_per_m.into(),
                output_per_m: cfg.fallback_output_cost_per_m.into(),
                cached_input_per_m: None,
            }),
        };
        if let Some(path) = &cfg.pricing_path {
            t.load_file(path)?;
        }
        Ok(t)
    }

    /// The built-in table plus the file named by `RLM_PRICING_PATH`, if
    /// set: for callers that use this crate without rlm-config's loader.
    pub fn from_env() -> Result<PricingTable, PricingError> {
        let mut t = PricingTable::builtin();
        if let Some(path) = std::env::var_os(PRICING_PATH_ENV).filter(|p| !p.is_empty()) {
            t.load_file(Path::new(&path))?;
        }
        Ok(t)
    }

    /// Sets the unknown-model policy.
    pub fn with_unknown(mut self, unknown: UnknownModel) -> PricingTable {
        self.unknown = unknown;
        self
    }

    /// The unknown-model policy.
    pub fn unknown_policy(&self) -> UnknownModel {
        self.unknown
    }

    /// Adds or replaces an entry.
    pub fn insert(&mut self, model: &str, price: Price) {
        let key = model.trim().to_ascii_lowercase();
        let name: Arc<str> = Arc::from(key.as_str());
        self.models.insert(key, (name, price));
    }

    /// Adds an alias: `alias` is priced as `target`.
    pub fn alias(&mut self, alias: &str, target: &str) {
        self.aliases.insert(
            alias.trim().to_ascii_lowercase(),
            target.trim().to_ascii_lowercase(),
        );
    }

    /// Number of entries (aliases not counted).
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Merges the overrides of a `.json` or `.toml` file.
    pub fn load_file(&mut self, path: &Path) -> Result<(), PricingError> {
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => self.merge_json(&text, path),
            Some("toml") => self.merge_toml(&text, path),
            // No extension: JSON first (the seed's shape), then TOML.
            None => self
                .merge_json(&text, path)
                .or_else(|_| self.merge_toml(&text, path)),
            Some(_) => Err(PricingError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }?;
        tracing::info!(path = %path.display(), models = self.models.len(), "loaded pricing overrides");
        Ok(())
    }

    /// Merges overrides in the `pricing.json` shape.
    pub fn merge_json(&mut self, text: &str, origin: &Path) -> Result<(), PricingError> {
        let file: PricingFile =
            serde_json::from_str(text).map_err(|e| PricingError::Malformed {
                path: origin.to_path_buf(),
                message: e.to_string(),
            })?;
        self.merge(file, origin)
    }

    /// Merges overrides in the same shape written as TOML
    /// (`[models."gpt-4o"] input_cost_per_m = 2.5`).
    pub fn merge_toml(&mut self, text: &str, origin: &Path) -> Result<(), PricingError> {
        let file: PricingFile = toml::from_str(text).map_err(|e| PricingError::Malformed {
            path: origin.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        self.merge(file, origin)
    }

    fn merge(&mut self, file: PricingFile, origin: &Path) -> Result<(), PricingError> {
        // Validate everything first so a bad file changes nothing.
        let mut staged = Vec::with_capacity(file.models.len());
        for (model, e) in &file.models {
            let bad = |field: &'static str, reason| PricingError::BadPrice {
                path: origin.to_path_buf(),
                model: model.clone(),
                field,
                reason,
            };
            let input =
                Money::parse_usd(&e.input_cost_per_m.0).map_err(|r| bad("input_cost_per_m", r))?;
            let output = Money::parse_usd(&e.output_cost_per_m.0)
                .map_err(|r| bad("output_cost_per_m", r))?;
            let cached = match &e.cached_input_cost_per_m {
                Some(c) => {
                    Some(Money::parse_usd(&c.0).map_err(|r| bad("cached_input_cost_per_m", r))?)
                }
                None => None,
            };
            staged.push((
                model.clone(),
                Price {
                    input_per_m: input,
                    output_per_m: output,
                    cached_input_per_m: cached,
                },
            ));
        }
        for (model, price) in staged {
            self.insert(&model, price);
        }
        for (alias, target) in &file.aliases {
            let t = target.trim().to_ascii_lowercase();
            if !self.models.contains_key(&t) {
                return Err(PricingError::DanglingAlias {
                    path: origin.to_path_buf(),
                    alias: alias.clone(),
                    target: target.clone(),
                });
            }
            self.alias(alias, target);
        }
        Ok(())
    }

    /// Prices `model`: exact entry, alias, then the same after normalising
    /// (lower case, `provider/` prefix dropped, `-latest`, `-YYYY-MM-DD`,
    /// `-YYYYMMDD`, `-NNN` and `-preview[-MM-DD]` suffixes stripped). An
    /// unknown model is refused or priced at the fallback, per the policy.
    pub fn lookup(&self, model: &str) -> Result<PricedModel, PricingError> {
        let as_given: Arc<str> = Arc::from(model);
        if let Some((name, price)) = self.find(model) {
            return Ok(PricedModel {
                model: as_given,
                priced_as: name,
                price,
                fallback: false,
            });
        }
        match self.unknown {
            UnknownModel::Fallback(price) => Ok(PricedModel {
                model: as_given,
                priced_as: Arc::from(FALLBACK_NAME),
                price,
                fallback: true,
            }),
            UnknownModel::Refuse => Err(PricingError::UnknownModel {
                model: model.to_string(),
                hint: self
                    .suggest(model)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default(),
            }),
        }
    }

    fn find(&self, model: &str) -> Option<(Arc<str>, Price)> {
        // Fast path: the exact name, no allocation.
        if let Some((n, p)) = self.models.get(model) {
            return Some((n.clone(), *p));
        }
        let mut name = model.trim().to_ascii_lowercase();
        if let Some(i) = name.rfind('/') {
            name = name[i + 1..].to_string();
        }
        loop {
            if let Some(hit) = self.exact_or_alias(&name) {
                return Some(hit);
            }
            match strip_suffix(&name) {
                Some(shorter) => name = shorter.to_string(),
                None => return None,
            }
        }
    }

    fn exact_or_alias(&self, name: &str) -> Option<(Arc<str>, Price)> {
        if let Some((n, p)) = self.models.get(name) {
            return Some((n.clone(), *p));
        }
        let target = self.aliases.get(name)?;
        self.models.get(target).map(|(n, p)| (n.clone(), *p))
    }

    fn suggest(&self, model: &str) -> Option<&str> {
        let m = model.to_ascii_lowercase();
        self.models
            .keys()
            .map(|k| (edit_distance(&m, k), k))
            .filter(|(d, k)| *d <= 3.max(k.len() / 4))
            .min()
            .map(|(_, k)| k.as_str())
    }

    /// Every entry, sorted by name (for `--json` and docs).
    pub fn entries(&self) -> BTreeMap<String, Price> {
        self.models
            .iter()
            .map(|(k, (_, p))| (k.clone(), *p))
            .collect()
    }
}

/// Strips one version suffix, or returns `None` when there is none.
fn strip_suffix(name: &str) -> Option<&str> {
    if let Some(s) = name.strip_suffix("-latest") {
        return Some(s);
    }
    let b = name.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    // -YYYY-MM-DD (OpenAI)
    if b.len() > 11 {
        let tail = &b[b.len() - 11..];
        if tail[0] == b'-'
            && digits(&tail[1..5])
            && tail[5] == b'-'
            && digits(&tail[6..8])
            && tail[8] == b'-'
            && digits(&tail[9..11])
        {
            return Some(&name[..name.len() - 11]);
        }
    }
    // -YYYYMMDD (Anthropic)
    if b.len() > 9 && b[b.len() - 9] == b'-' && digits(&b[b.len() - 8..]) {
        return Some(&name[..name.len() - 9]);
    }
    // -preview-MM-DD, then -preview (Google)
    if b.len() > 14 && name[..name.len() - 6].ends_with("-preview") {
        let tail = &b[b.len() - 6..];
        if tail[0] == b'-' && digits(&tail[1..3]) && tail[3] == b'-' && digits(&tail[4..6]) {
            return Some(&name[..name.len() - 6]);
        }
    }
    if let Some(s) = name.strip_suffix("-preview") {
        return Some(s);
    }
    // -001 / -002 (Google stable versions)
    if b.len() > 4 && b[b.len() - 4] == b'-' && digits(&b[b.len() - 3..]) {
        return Some(&name[..name.len() - 4]);
    }
    None
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The file shape: `{"models": {NAME: {...}}, "aliases": {ALIAS: NAME}}`.
#[derive(Deserialize)]
struct PricingFile {
    models: BTreeMap<String, FileEntry>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct FileEntry {
    input_cost_per_m: PriceText,
    output_cost_per_m: PriceText,
    #[serde(default)]
    cached_input_cost_per_m: Option<PriceText>,
}

/// A price as text, whatever form the file wrote it in, so that it can be
/// read exactly by [`Money::parse_usd`] instead of going through a float sum.
struct PriceText(String);

impl<'de> Deserialize<'de> for PriceText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PriceText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a price in dollars per million tokens, like 2.5 or \"2.5\"")
            }
            fn visit_u64<E>(self, v: u64) -> Result<PriceText, E> {
                Ok(PriceText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<PriceText, E> {
                Ok(PriceText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<PriceText, E> {
                if !v.is_finite() {
                    return Err(E::custom("a price must be a finite number"));
                }
                // Display of f64 is the shortest text that reads back as
                // the same float: 0.15 stays "0.15", never 0.1499999.
                Ok(PriceText(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<PriceText, E> {
                Ok(PriceText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priced_as(t: &PricingTable, m: &str) -> String {
        t.lookup(m).unwrap().priced_as.to_string()
    }

    #[test]
    fn dated_names_keep_their_family() {
        let t = PricingTable::builtin();
        assert_eq!(priced_as(&t, "gpt-4o-mini-2024-07-18"), "gpt-4o-mini");
        assert_eq!(priced_as(&t, "gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(priced_as(&t, "gpt-4o-2024-05-13"), "gpt-4o-2024-05-13");
        assert_eq!(
            priced_as(&t, "claude-3-5-sonnet-20241022"),
            "claude-3-5-sonnet"
        );
        assert_eq!(
            priced_as(&t, "claude-3-7-sonnet-latest"),
            "claude-3-7-sonnet"
        );
        assert_eq!(priced_as(&t, "claude-sonnet-4-20250514"), "claude-sonnet-4");
        assert_eq!(priced_as(&t, "claude-opus-4-1-20250805"), "claude-opus-4-1");
        assert_eq!(priced_as(&t, "claude-3.5-sonnet"), "claude-3-5-sonnet");
        assert_eq!(priced_as(&t, "models/gemini-1.5-pro-002"), "gemini-1.5-pro");
        assert_eq!(
            priced_as(&t, "gemini-2.5-flash-preview-05-20"),
            "gemini-2.5-flash"
        );
        assert_eq!(priced_as(&t, "openai/GPT-4.1-mini"), "gpt-4.1-mini");
        assert_eq!(priced_as(&t, "o3-mini-2025-01-31"), "o3-mini");
    }

    #[test]
    fn no_prefix_guessing() {
        let t = PricingTable::builtin();
        let err = t.lookup("gpt-4o-ultra").unwrap_err();
        assert!(matches!(err, PricingError::UnknownModel { .. }));
        assert!(err.to_string().contains("RLM_PRICING_PATH"), "{err}");
        assert!(err.to_string().contains("RLM_UNKNOWN_MODEL=fallback"));
    }

    #[test]
    fn unknown_model_fallback() {
        let fb = Price::per_m_micros(10_000_000, 30_000_000, None);
        let t = PricingTable::builtin().with_unknown(UnknownModel::Fallback(fb));
        let p = t.lookup("my-local-llama").unwrap();
        assert!(p.fallback);
        assert_eq!(p.price, fb);
        assert_eq!(&*p.model, "my-local-llama");
    }

    #[test]
    fn suggests_close_names() {
        let err = PricingTable::builtin().lookup("gpt-4o-mnii").unwrap_err();
        assert!(
            err.to_string().contains("did you mean 'gpt-4o-mini'"),
            "{err}"
        );
    }

    #[test]
    fn cost_uses_cached_price() {
        let p = PricingTable::builtin().lookup("gpt-4o-mini").unwrap().price;
        let u = Usage {
            input_tokens: 1_000_000,
            cached_input_tokens: 400_000,
            output_tokens: 100_000,
        };
        // 600k * 0.15 + 400k * 0.075 + 100k * 0.60 = 0.09 + 0.03 + 0.06
        assert_eq!(p.cost(&u), Money::from_micros(180_000));
    }

    #[test]
    fn json_and_toml_overrides() {
        let mut t = PricingTable::builtin();
        t.merge_json(
            r#"{"models": {"my-model": {"input_cost_per_m": 0.15, "output_cost_per_m": "0.6"},
                "gpt-4o": {"input_cost_per_m": 1, "output_cost_per_m": 2, "cached_input_cost_per_m": 0.5}},
                "aliases": {"mine": "my-model"}}"#,
            Path::new("<test>"),
        )
        .unwrap();
        assert_eq!(
            t.lookup("mine").unwrap().price,
            Price::per_m_micros(150_000, 600_000, None)
        );
        assert_eq!(
            t.lookup("gpt-4o").unwrap().price,
            Price::per_m_micros(1_000_000, 2_000_000, Some(500_000))
        );
        t.merge_toml(
            "[models.\"tiny\"]\ninput_cost_per_m = 0.01\noutput_cost_per_m = 3\n",
            Path::new("<test>"),
        )
        .unwrap();
        assert_eq!(
            t.lookup("tiny").unwrap().price,
            Price::per_m_micros(10_000, 3_000_000, None)
        );
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let mut t = PricingTable::builtin();
        let p = Path::new("prices.json");
        for (text, needle) in [
            ("{", "malformed"),
            ("{\"model\": {}}", "missing field `models`"),
            (
                r#"{"models": {"x": {"input_cost_per_m": 1}}}"#,
                "output_cost_per_m",
            ),
            (
                r#"{"models": {"x": {"input_cost_per_m": -1, "output_cost_per_m": 1}}}"#,
                "negative",
            ),
            (
                r#"{"models": {"x": {"input_cost_per_m": "cheap", "output_cost_per_m": 1}}}"#,
                "not an amount",
            ),
            (
                r#"{"models": {"x": {"input_cost_per_m": true, "output_cost_per_m": 1}}}"#,
                "price in dollars",
            ),
            (
                r#"{"models": {}, "aliases": {"a": "nope"}}"#,
                "unknown model 'nope'",
            ),
        ] {
            let err = t.merge_json(text, p).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(err.contains("prices.json"), "{err}");
        }
        let err = t
            .merge_toml("[models.x]\ninput_cost_per_m = 1\n", Path::new("p.toml"))
            .unwrap_err();
        assert!(err.to_string().contains("output_cost_per_m"), "{err}");
        // Nothing of a refused file was merged.
        assert!(t.lookup("x").is_err());
    }

    #[test]
    fn load_file_errors() {
        let mut t = PricingTable::builtin();
        let err = t
            .load_file(Path::new("/nonexistent/pricing.json"))
            .unwrap_err();
        assert!(matches!(err, PricingError::Io { .. }));
        assert!(err.to_string().contains("RLM_PRICING_PATH"));
    }

    #[test]
    fn every_builtin_alias_resolves() {
        let t = PricingTable::builtin();
        for (a, _) in BUILTIN_ALIASES {
            assert!(t.lookup(a).is_ok(), "{a}");
        }
    }
}
