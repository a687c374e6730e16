//! Deterministic labelled corpus of sandbox outputs, for the detection tests,
//! the figures in the README and the benchmarks.
//!
//! Everything is generated from a seed: realistic benign outputs (tables,
//! logs, tracebacks, JSON, code, prose that talks about passwords and tokens,
//! UUIDs, git SHAs, sha256 digests, base64 of text), the same with secrets of
//! every family planted in several shapes, encoded secrets, and context-echo
//! cases against a generated protected document. Secrets are random strings
//! in each provider's format; none is real.
#![allow(dead_code, unreachable_pub, missing_docs)]

use base64::Engine as _;

/// SplitMix64: tiny, seedable, good enough to draw test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
    pub fn chars(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n).map(|_| a[self.below(a.len())] as char).collect()
    }
}

pub const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const HEXL: &str = "0123456789abcdef";
pub const DIGITS: &str = "0123456789";

/// What a sample is, and what must not survive filtering.
#[derive(Clone, Debug)]
pub enum Label {
    /// Benign: the output must come out unchanged.
    Harmless,
    /// A planted secret in the clear; `needles` must not survive.
    Secret {
        family: &'static str,
        needles: Vec<String>,
    },
    /// A secret under an encoding; `needles` (the encoded forms) must not survive.
    Encoded {
        family: &'static str,
        needles: Vec<String>,
    },
    /// A verbatim context run over the limit, possibly encoded.
    Echo { encoded: bool, needles: Vec<String> },
    /// Short quotes of the context: the output must come out unchanged.
    Quote,
}

pub struct Sample {
    pub text: String,
    pub label: Label,
}

pub struct Corpus {
    pub context: String,
    pub samples: Vec<Sample>,
}

pub const FAMILIES: &[&str] = &[
    "aws-access-key",
    "aws-secret-key",
    "gcp-service-account",
    "google-api-key",
    "azure-storage-key",
    "azure-connection-string",
    "github-classic",
    "github-fine-grained",
    "github-oauth",
    "github-app",
    "gitlab",
    "slack-bot",
    "slack-user",
    "slack-webhook",
    "discord-bot",
    "discord-webhook",
    "telegram",
    "stripe-secret",
    "stripe-restricted",
    "openai",
    "openai-legacy",
    "anthropic",
    "huggingface",
    "google-ai",
    "npm",
    "pypi",
    "sendgrid",
    "twilio",
    "mailgun",
    "jwt",
    "rsa-pkcs1",
    "pkcs8",
    "ec",
    "openssh",
    "pgp",
    "connection-url",
    "password-code",
    "password-env",
    "password-json",
    "password-yaml",
    "auth-bearer",
    "auth-basic",
    "model-provider",
    "devops-platform",
    "commerce-registry",
];

/// The families the benchmark input draws from: those before the last
/// three, so that its bytes, and the speed figures of earlier rounds, stay
/// comparable.
pub const BENCH_FAMILIES: usize = 42;

/// Bech32's alphabet, upper case (age keys).
const BECH32_UPPER: &str = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// Families whose secret is only recognisable by what surrounds it.
pub const CONTEXTUAL: &[&str] = &[
    "connection-url",
    "password-code",
    "password-env",
    "password-json",
    "password-yaml",
    "auth-bearer",
    "auth-basic",
    "twilio",
    "gcp-service-account",
];

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn pem_body(rng: &mut Rng, lines: usize) -> Vec<String> {
    (0..lines).map(|_| rng.chars(B64, 64)).collect()
}

fn pem(rng: &mut Rng, label: &str, lines: usize, nl: &str) -> (String, Vec<String>) {
    let body = pem_body(rng, lines);
    let mut s = format!("-----BEGIN {label}-----{nl}");
    if label.starts_with("PGP") {
        s.push_str(&format!("Version: GnuPG v2{nl}{nl}"));
    }
    for l in &body {
        s.push_str(l);
        s.push_str(nl);
    }
    s.push_str(&format!("={}{nl}", rng.chars(B64, 4)));
    s.push_str(&format!("-----END {label}-----"));
    let needles = vec![
        body[0].clone(),
        body[lines / 2].clone(),
        body[lines - 1].clone(),
    ];
    (s, needles)
}

fn password(rng: &mut Rng) -> String {
    let n = rng.range(8, 16);
    let base = rng.chars(ALNUM, n);
    format!(
        "{}{}{}",
        base,
        rng.pick(&["!", "#", "%", "^", "*", "9", "_"]),
        rng.chars(DIGITS, 2)
    )
}

/// The secret of a plant as it would leak on its own, without its carrier:
/// the first needle, except for webhooks, whose needle is the last path
/// segment of the URL. That segment alone is a random 24- or 68-character
/// string, recognisable only by entropy (and 1-3% of random strings of that
/// length are not), while what leaks, and what identifies it, is the URL.
pub fn bare(family: &str, carrier: &str, needles: &[String]) -> String {
    if matches!(family, "slack-webhook" | "discord-webhook") {
        if let Some(at) = carrier.find("https://") {
            let url = &carrier[at..];
            let end = url.find(['"', '\'', ' ', '\n']).unwrap_or(url.len());
            return url[..end].to_string();
        }
    }
    needles[0].clone()
}

/// A secret of `family` embedded in a realistic carrier line (or block), and
/// the strings that must not survive.
pub fn plant(rng: &mut Rng, family: &str) -> (String, Vec<String>) {
    let one = |s: String, carrier: String| (carrier, vec![s]);
    match family {
        "aws-access-key" => {
            let s = format!(
                "{}{}",
                rng.pick(&["AKIA", "ASIA"]),
                rng.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            );
            let c = match rng.below(4) {
                0 => format!("aws_access_key_id = {s}"),
                1 => format!(
                    "{{\"AccessKeyId\": \"{s}\", \"Expiration\": \"2024-05-01T12:00:00Z\"}}"
                ),
                2 => format!("export AWS_ACCESS_KEY_ID={s}"),
                _ => format!("found key {s} in config"),
            };
            one(s, c)
        }
        "aws-secret-key" => {
            let s = rng.chars(B64, 40);
            let c = match rng.below(3) {
                0 => format!("aws_secret_access_key = {s}"),
                1 => format!("AWS_SECRET_ACCESS_KEY=\"{s}\""),
                _ => format!("    \"SecretAccessKey\": \"{s}\","),
            };
            one(s, c)
        }
        "gcp-service-account" => {
            let id = rng.chars(HEXL, 40);
            let (key, mut needles) = pem(rng, "PRIVATE KEY", 26, "\\n");
            let c = format!(
                "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-{p}\",\n  \"private_key_id\": \"{id}\",\n  \"private_key\": \"{key}\\n\",\n  \"client_email\": \"svc@demo-{p}.iam.gserviceaccount.com\",\n  \"client_id\": \"{cid}\"\n}}",
                p = rng.chars(DIGITS, 5),
                cid = rng.chars(DIGITS, 21)
            );
            needles.push(id);
            (c, needles)
        }
        "google-api-key" | "google-ai" => {
            let s = format!("AIza{}", rng.chars(B64URL, 35));
            let c = if family == "google-ai" {
                format!("genai.configure(api_key=\"{s}\")")
            } else {
                format!("https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key={s}")
            };
            one(s, c)
        }
        "azure-storage-key" => {
            let s = format!("{}==", rng.chars(B64, 86));
            let c = format!(
                "DefaultEndpointsProtocol=https;AccountName=acct{};AccountKey={s};EndpointSuffix=core.windows.net",
                rng.chars(DIGITS, 4)
            );
            one(s, c)
        }
        "azure-connection-string" => {
            let s = format!("{}=", rng.chars(B64, 43));
            let c = format!(
                "Endpoint=sb://ns{}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={s}",
                rng.chars(DIGITS, 3)
            );
            one(s, c)
        }
        "github-classic" => {
            let s = format!("ghp_{}", rng.chars(ALNUM, 36));
            one(
                s.clone(),
                format!("git clone https://{s}@github.com/acme/repo.git"),
            )
        }
        "github-fine-grained" => {
            let s = format!(
                "github_pat_{}_{}",
                rng.chars(ALNUM, 22),
                rng.chars(ALNUM, 59)
            );
            one(s.clone(), format!("GITHUB_TOKEN={s}"))
        }
        "github-oauth" => {
            let s = format!("gho_{}", rng.chars(ALNUM, 36));
            one(
                s.clone(),
                format!(
                    "{{\"access_token\":\"{s}\",\"token_type\":\"bearer\",\"scope\":\"repo\"}}"
                ),
            )
        }
        "github-app" => {
            let s = format!(
                "{}_{}",
                rng.pick(&["ghs", "ghu", "ghr"]),
                rng.chars(ALNUM, 36)
            );
            one(s.clone(), format!("installation token: {s}"))
        }
        "gitlab" => {
            let s = format!("glpat-{}", rng.chars(B64URL, 20));
            one(s.clone(), format!("PRIVATE-TOKEN: {s}"))
        }
        "slack-bot" | "slack-user" => {
            let p = if family == "slack-bot" {
                "xoxb"
            } else {
                "xoxp"
            };
            let s = format!(
                "{p}-{}-{}-{}",
                rng.chars(DIGITS, 12),
                rng.chars(DIGITS, 13),
                rng.chars(ALNUM, 24)
            );
            one(s.clone(), format!("client = WebClient(token='{s}')"))
        }
        "slack-webhook" => {
            let s = format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                rng.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8),
                rng.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                rng.chars(ALNUM, 24)
            );
            let needle = s.rsplit('/').next().unwrap_or_default().to_string();
            (format!("posting to {s}"), vec![needle])
        }
        "discord-bot" => {
            // The first part is the base64 of the account's id, a number
            // of 17 to 19 digits.
            let lead = rng.pick(&["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
            let rest = 16 + rng.below(3);
            let id = format!("{lead}{}", rng.chars(DIGITS, rest));
            let s = format!(
                "{}.{}.{}",
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(id),
                rng.chars(B64URL, 6),
                rng.chars(B64URL, 38)
            );
            one(s.clone(), format!("DISCORD_TOKEN={s}"))
        }
        "discord-webhook" => {
            let s = format!(
                "https://discord.com/api/webhooks/{}/{}",
                rng.chars(DIGITS, 18),
                rng.chars(B64URL, 68)
            );
            let needle = s.rsplit('/').next().unwrap_or_default().to_string();
            (format!("webhook = \"{s}\""), vec![needle])
        }
        "telegram" => {
            let s = format!("{}:AA{}", rng.chars(DIGITS, 10), rng.chars(B64URL, 33));
            one(s.clone(), format!("bot = telebot.TeleBot(\"{s}\")"))
        }
        "stripe-secret" | "stripe-restricted" => {
            let p = if family == "stripe-secret" {
                "sk_live_"
            } else {
                "rk_live_"
            };
            let s = format!("{p}{}", rng.chars(ALNUM, 99));
            one(s.clone(), format!("stripe.api_key = \"{s}\""))
        }
        "openai" => {
            let s = format!("sk-proj-{}", rng.chars(B64URL, 120));
            one(s.clone(), format!("OpenAI(api_key=\"{s}\")"))
        }
        "openai-legacy" => {
            let s = format!(
                "sk-{}T3BlbkFJ{}",
                rng.chars(ALNUM, 20),
                rng.chars(ALNUM, 20)
            );
            one(s.clone(), format!("OPENAI_API_KEY={s}"))
        }
        "anthropic" => {
            let s = format!("sk-ant-api03-{}AA", rng.chars(B64URL, 93));
            one(
                s.clone(),
                format!("client = anthropic.Anthropic(api_key='{s}')"),
            )
        }
        "huggingface" => {
            let s = format!("hf_{}", rng.chars(ALNUM, 34));
            one(s.clone(), format!("login(token=\"{s}\")"))
        }
        "npm" => {
            let s = format!("npm_{}", rng.chars(ALNUM, 36));
            one(s.clone(), format!("//registry.npmjs.org/:_authToken={s}"))
        }
        "pypi" => {
            let s = format!("pypi-AgEIcHlwaS5vcmc{}", rng.chars(B64URL, 150));
            one(
                s.clone(),
                format!("[pypi]\n  username = __token__\n  password = {s}"),
            )
        }
        "sendgrid" => {
            let s = format!("SG.{}.{}", rng.chars(B64URL, 22), rng.chars(B64URL, 43));
            one(s.clone(), format!("sg = SendGridAPIClient('{s}')"))
        }
        "twilio" => {
            if rng.below(2) == 0 {
                let s = format!("SK{}", rng.chars(HEXL, 32));
                one(s.clone(), format!("api key sid {s} created"))
            } else {
                let s = rng.chars(HEXL, 32);
                one(s.clone(), format!("TWILIO_AUTH_TOKEN={s}"))
            }
        }
        "mailgun" => {
            let s = format!("key-{}", rng.chars(HEXL, 32));
            one(
                s.clone(),
                format!("requests.post(url, auth=(\"api\", \"{s}\"))"),
            )
        }
        "jwt" => {
            let h = b64(br#"{"alg":"HS256","typ":"JWT"}"#)
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_");
            let p = b64(format!(
                r#"{{"sub":"{}","iat":{}}}"#,
                rng.chars(DIGITS, 8),
                rng.chars(DIGITS, 10)
            )
            .as_bytes())
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_");
            let s = format!("{h}.{p}.{}", rng.chars(B64URL, 43));
            one(s.clone(), format!("session cookie: {s}"))
        }
        "rsa-pkcs1" => pem(rng, "RSA PRIVATE KEY", 25, "\n"),
        "pkcs8" => pem(rng, "PRIVATE KEY", 26, "\n"),
        "ec" => pem(rng, "EC PRIVATE KEY", 4, "\n"),
        "openssh" => pem(rng, "OPENSSH PRIVATE KEY", 7, "\n"),
        "pgp" => pem(rng, "PGP PRIVATE KEY BLOCK", 30, "\n"),
        "connection-url" => {
            let s = password(rng).replace(['%', '^', '#'], "x");
            let scheme = rng.pick(&[
                "postgres",
                "postgresql",
                "mysql",
                "mongodb+srv",
                "redis",
                "amqp",
            ]);
            one(
                s.clone(),
                format!("DATABASE_URL={scheme}://app_user:{s}@db.internal:5432/app"),
            )
        }
        "password-code" => {
            let s = password(rng);
            one(
                s.clone(),
                format!("conn = psycopg2.connect(host=\"db\", user=\"app\", password=\"{s}\")"),
            )
        }
        "password-env" => {
            let s = password(rng);
            one(s.clone(), format!("DB_PASSWORD={s}"))
        }
        "password-json" => {
            let s = password(rng);
            one(
                s.clone(),
                format!("{{\"user\": \"admin\", \"password\": \"{s}\", \"port\": 5432}}"),
            )
        }
        "password-yaml" => {
            let s = password(rng);
            let key = rng.pick(&["password", "client_secret", "api_key", "secret"]);
            one(
                s.clone(),
                format!("database:\n  host: db\n  {key}: {s}\n  pool: 5"),
            )
        }
        "auth-bearer" => {
            let n = rng.range(32, 64);
            let s = rng.chars(B64URL, n);
            one(
                s.clone(),
                format!("curl -H 'Authorization: Bearer {s}' https://api.example.com/v1/items"),
            )
        }
        "auth-basic" => {
            let s = b64(format!("admin:{}", password(rng)).as_bytes());
            one(s.clone(), format!("Authorization: Basic {s}"))
        }
        "model-provider" | "devops-platform" | "commerce-registry" => {
            let (name, s) = provider_key(rng, family);
            let c = match rng.below(5) {
                0 => format!("export {name}={s}"),
                1 => format!(
                    "{{\"provider\": \"{}\", \"api_key\": \"{s}\"}}",
                    name.to_ascii_lowercase()
                ),
                2 => format!("client = Client(api_key=\"{s}\")"),
                3 => format!("curl -s -H \"X-Api-Key: {s}\" https://api.example.com/v1/models"),
                _ => format!(
                    "[info] loaded credential {s} from ~/.config/{}",
                    name.to_ascii_lowercase()
                ),
            };
            one(s, c)
        }
        _ => (String::new(), Vec::new()),
    }
}

/// A key in one of the formats of `family` (model providers; developer
/// platforms; commerce and package registries), with the environment name
/// it usually lives under. Many are lower-case hex or one case, which the
/// entropy judge alone passes: only their prefix tells them.
fn provider_key(rng: &mut Rng, family: &str) -> (&'static str, String) {
    const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    match (family, rng.below(11)) {
        ("model-provider", 0) => (
            "OPENROUTER_API_KEY",
            format!("sk-or-v1-{}", rng.chars(HEXL, 64)),
        ),
        ("model-provider", 1) => ("DEEPSEEK_API_KEY", format!("sk-{}", rng.chars(HEXL, 32))),
        ("model-provider", 2) => ("GROQ_API_KEY", format!("gsk_{}", rng.chars(ALNUM, 52))),
        ("model-provider", 3) => ("XAI_API_KEY", format!("xai-{}", rng.chars(ALNUM, 80))),
        ("model-provider", 4) => (
            "PERPLEXITY_API_KEY",
            format!("pplx-{}", rng.chars(ALNUM, 48)),
        ),
        ("model-provider", 5) => (
            "REPLICATE_API_TOKEN",
            format!("r8_{}", rng.chars(ALNUM, 37)),
        ),
        ("model-provider", 6) => ("NVIDIA_API_KEY", format!("nvapi-{}", rng.chars(B64URL, 64))),
        ("model-provider", 7) => ("CEREBRAS_API_KEY", format!("csk-{}", rng.chars(ALNUM, 48))),
        ("model-provider", 8) => ("ELEVENLABS_API_KEY", format!("sk_{}", rng.chars(HEXL, 48))),
        ("model-provider", 9) => (
            "TAVILY_API_KEY",
            format!("tvly-dev-{}", rng.chars(ALNUM, 32)),
        ),
        ("model-provider", _) => (
            "LANGSMITH_API_KEY",
            format!("lsv2_pt_{}_{}", rng.chars(HEXL, 32), rng.chars(HEXL, 10)),
        ),
        ("devops-platform", 0) => (
            "DIGITALOCEAN_TOKEN",
            format!("dop_v1_{}", rng.chars(HEXL, 64)),
        ),
        ("devops-platform", 1) => ("DATABRICKS_TOKEN", format!("dapi{}", rng.chars(HEXL, 32))),
        ("devops-platform", 2) => (
            "SUPABASE_ACCESS_TOKEN",
            format!("sbp_{}", rng.chars(HEXL, 40)),
        ),
        ("devops-platform", 3) => (
            "PULUMI_ACCESS_TOKEN",
            format!("pul-{}", rng.chars(HEXL, 40)),
        ),
        ("devops-platform", 4) => (
            "SENTRY_AUTH_TOKEN",
            format!("sntryu_{}", rng.chars(HEXL, 64)),
        ),
        ("devops-platform", 5) => (
            "GRAFANA_SERVICE_ACCOUNT_TOKEN",
            format!("glsa_{}_{}", rng.chars(ALNUM, 32), rng.chars(HEXL, 8)),
        ),
        ("devops-platform", 6) => (
            "NEW_RELIC_API_KEY",
            format!("NRAK-{}", rng.chars(UPPER_DIGITS, 27)),
        ),
        ("devops-platform", 7) => (
            "POSTMAN_API_KEY",
            format!("PMAK-{}-{}", rng.chars(HEXL, 24), rng.chars(HEXL, 34)),
        ),
        ("devops-platform", 8) => (
            "SOPS_AGE_KEY",
            format!("AGE-SECRET-KEY-1{}", rng.chars(BECH32_UPPER, 58)),
        ),
        ("devops-platform", 9) => {
            let json = format!(
                r#"{{"signInAddress":"my.1password.com","userAuth":{{"method":"SRPg-4096","alg":"PBES2g-HS256","iterations":650000,"salt":"{}"}},"email":"{}@1passwordserviceaccounts.com","srpX":"{}"}}"#,
                rng.chars(B64URL, 22),
                rng.chars(HEXL, 12),
                rng.chars(HEXL, 64)
            );
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
            ("OP_SERVICE_ACCOUNT_TOKEN", format!("ops_{body}"))
        }
        ("devops-platform", _) => (
            "AWS_SESSION_TOKEN",
            format!("IQoJb3JpZ2luX2VjE{}", rng.chars(B64, 300)),
        ),
        (_, 0..=2) => (
            "SHOPIFY_ACCESS_TOKEN",
            format!("shpat_{}", rng.chars(HEXL, 32)),
        ),
        (_, 3..=5) => (
            "SQUARE_ACCESS_TOKEN",
            format!("sq0atp-{}", rng.chars(B64URL, 22)),
        ),
        (_, 6..=8) => (
            "MAILCHIMP_API_KEY",
            format!("{}-us{}", rng.chars(HEXL, 32), rng.range(1, 21)),
        ),
        _ => (
            "GEM_HOST_API_KEY",
            format!("rubygems_{}", rng.chars(HEXL, 48)),
        ),
    }
}

const WORDS: &[&str] = &[
    "the", "model", "data", "result", "value", "token", "count", "users", "report", "after",
    "before", "file", "rows", "column", "password", "reset", "secret", "sauce", "bearer", "news",
    "request", "server", "cache", "error", "warning", "region", "north", "south", "growth",
    "quarter", "revenue", "analysis", "shows", "that", "with", "from", "into", "each", "every",
    "total", "mean", "median", "sample", "batch", "epoch", "loss", "accuracy", "config", "default",
    "option", "field", "record",
];

fn sentence(rng: &mut Rng) -> String {
    let n = rng.range(6, 16);
    let mut s: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
    if rng.below(4) == 0 {
        s.push(rng.pick(&[
            "(remember to rotate the token)",
            "and the password policy requires 12 characters",
            "so the secret manager was updated",
            "— the bearer token expired",
            "token: expired",
            "password: ********",
        ]));
    }
    let mut out = s.join(" ");
    if let Some(f) = out.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    out.push('.');
    out
}

fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-4{}-a{}-{}",
        rng.chars(HEXL, 8),
        rng.chars(HEXL, 4),
        rng.chars(HEXL, 3),
        rng.chars(HEXL, 3),
        rng.chars(HEXL, 12)
    )
}

/// A benign output of a random kind.
pub fn benign(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => {
            let mut s = String::from("   id  region    revenue   growth\n");
            for i in 0..rng.range(5, 30) {
                s.push_str(&format!("{i:>5}  {:<8} {:>9.2} {:>7.3}\n", rng.pick(&["north", "south", "east", "west"]), rng.below(100000) as f64 / 7.0, rng.below(1000) as f64 / 997.0));
            }
            s
        }
        1 => {
            let mut s = String::new();
            for _ in 0..rng.range(5, 25) {
                s.push_str(&format!(
                    "2024-03-{:02}T{:02}:{:02}:{:02}.{:03}Z INFO request_id={} user={} status=200 latency_ms={}\n",
                    rng.range(1, 28), rng.below(24), rng.below(60), rng.below(60), rng.below(1000), uuid(rng), rng.range(1000, 99999), rng.below(900)
                ));
            }
            s
        }
        2 => format!(
            "Traceback (most recent call last):\n  File \"/home/sandbox/.local/lib/python3.11/site-packages/pandas/core/frame.py\", line {}, in __getitem__\n    indexer = self.columns.get_loc(key)\n  File \"/tmp/run_{}.py\", line 12, in <module>\n    df[\"password_hash\"]\nKeyError: 'password_hash'\n",
            rng.range(100, 4000), rng.chars(HEXL, 8)
        ),
        3 => format!(
            "{{\n  \"id\": \"{}\",\n  \"sha\": \"{}\",\n  \"created_at\": \"2024-01-{:02}T10:00:00Z\",\n  \"tokens\": {{\"prompt_tokens\": {}, \"completion_tokens\": {}, \"total_tokens\": {}}},\n  \"score\": {}.{}\n}}\n",
            uuid(rng), rng.chars(HEXL, 40), rng.range(1, 28), rng.below(5000), rng.below(900), rng.below(6000), rng.below(10), rng.chars(DIGITS, 6)
        ),
        4 => format!(
            "import os\nfrom getpass import getpass\n\npassword = getpass()\ntoken = os.environ[\"API_TOKEN\"]\nsecret_key = settings.SECRET_KEY\nmax_tokens = {}\ntokenizer = AutoTokenizer.from_pretrained(\"bert-base-uncased\")\ndef check_password(pw: str) -> bool:\n    return len(pw) >= 12\n",
            rng.range(16, 4096)
        ),
        5 => {
            let mut s = String::new();
            for _ in 0..rng.range(2, 6) {
                s.push_str(&sentence(rng));
                s.push(' ');
            }
            s.push('\n');
            s
        }
        6 => {
            let mut s = String::new();
            for _ in 0..rng.range(3, 10) {
                s.push_str(&format!("commit {}\nAuthor: Dev <dev@example.com>\n\n    {}\n\n", rng.chars(HEXL, 40), sentence(rng)));
            }
            s
        }
        7 => {
            let mut s = String::new();
            for i in 0..rng.range(3, 10) {
                s.push_str(&format!("{}  data/part-{i:05}.parquet\n", rng.chars(HEXL, 64)));
            }
            s
        }
        8 => {
            let text = (0..rng.range(1, 4)).map(|_| sentence(rng)).collect::<Vec<_>>().join(" ");
            format!("encoded payload: {}\n", b64(text.as_bytes()))
        }
        9 => {
            let mut s = String::from("[");
            for _ in 0..rng.range(4, 16) {
                s.push_str(&format!("{:.8}, ", (rng.next_u64() % 10_000_000) as f64 / 3_141_592.0));
            }
            s.push_str("]\nmean=0.49871234 std=0.28867513\n");
            s
        }
        10 => format!(
            "Successfully installed numpy-1.26.{} pandas-2.2.{} requests-2.31.0\nSee https://docs.python.org/3/library/secrets.html#secrets.token_hex and https://example.com/api/v2/users?page={}&sort=desc\n",
            rng.below(5), rng.below(3), rng.below(40)
        ),
        _ => format!(
            "user_id,session_id,score\n{}\n",
            (0..rng.range(3, 12))
                .map(|_| format!("{},{},{}", rng.range(1, 99999), uuid(rng), rng.below(100)))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// The protected document: prose-like, distinctive, deterministic.
pub fn context_document(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 256);
    let mut para = 0;
    while s.len() < bytes {
        para += 1;
        s.push_str(&format!("Section {para}. "));
        for _ in 0..rng.range(3, 8) {
            let n = rng.range(8, 20);
            let words: Vec<String> = (0..n)
                .map(|_| {
                    let len = rng.range(2, 9);
                    rng.chars("abcdefghijklmnopqrstuvwxyzaeiouaeiou", len)
                })
                .collect();
            s.push_str(&words.join(" "));
            s.push_str(&format!(" {}. ", rng.range(1, 99999)));
        }
        s.push('\n');
    }
    s
}

fn splice(rng: &mut Rng, carrier: &str) -> String {
    let before = benign(rng);
    let after = benign(rng);
    let mut lines: Vec<&str> = before.lines().collect();
    let at = rng.below(lines.len() + 1);
    lines.insert(at, carrier);
    format!("{}\n{}", lines.join("\n"), after)
}

fn encode(rng: &mut Rng, s: &str) -> (String, &'static str) {
    match rng.below(4) {
        0 => (b64(s.as_bytes()), "base64"),
        1 => (
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes()),
            "base64url",
        ),
        2 => (s.bytes().map(|b| format!("{b:02x}")).collect(), "hex"),
        _ => (
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect(),
            "percent",
        ),
    }
}

/// Generates the corpus: `per_family` clear plants per family, one encoded
/// plant per family per 2 clear ones, and as many benign outputs as plants.
pub fn generate(seed: u64, per_family: usize, max_echo: usize) -> Corpus {
    let mut rng = Rng::new(seed);
    let context = context_document(&mut rng, 256 * 1024);
    let mut samples = Vec::new();
    for fam in FAMILIES {
        for _ in 0..per_family {
            let (carrier, needles) = plant(&mut rng, fam);
            samples.push(Sample {
                text: splice(&mut rng, &carrier),
                label: Label::Secret {
                    family: fam,
                    needles,
                },
            });
        }
        for _ in 0..per_family.div_ceil(2) {
            let (carrier, needles) = plant(&mut rng, fam);
            // Encode either the carrier line or the bare secret.
            // (Only for self-identifying formats: a bare password or a bare
            // 32-hex token is indistinguishable from any other string.)
            let bare_ok = !CONTEXTUAL.contains(fam);
            let plain = if bare_ok && rng.below(2) == 0 {
                bare(fam, &carrier, &needles)
            } else {
                carrier
            };
            let (enc, kind) = encode(&mut rng, &plain);
            let line = format!("{kind} blob: {enc}");
            samples.push(Sample {
                text: splice(&mut rng, &line),
                label: Label::Encoded {
                    family: fam,
                    needles: vec![enc],
                },
            });
        }
    }
    let ctx = context.as_bytes();
    for i in 0..per_family * 6 {
        let len = rng.range(max_echo + 1, 1500).min(ctx.len() / 2);
        let start = rng.below(ctx.len() - len);
        let run = &context[start..start + len];
        if i % 3 == 0 {
            let (enc, _) = encode(&mut rng, run);
            let enc = if enc.contains('%') {
                b64(run.as_bytes())
            } else {
                enc
            };
            samples.push(Sample {
                text: splice(&mut rng, &format!("dump: {enc}")),
                label: Label::Echo {
                    encoded: true,
                    needles: vec![enc],
                },
            });
        } else {
            // Verbatim, line breaks included: with them replaced, a run
            // across a break is no echo of the context (seed 33 of
            // `generate` had one whose two halves were 49 and 50 bytes).
            let line = format!("The document says: {run}");
            let needle = run.to_string();
            samples.push(Sample {
                text: splice(&mut rng, &line),
                label: Label::Echo {
                    encoded: false,
                    needles: vec![needle],
                },
            });
        }
    }
    for _ in 0..per_family * 4 {
        let mut s = String::from("Summary: ");
        for _ in 0..rng.range(1, 3) {
            let len = rng.range(12, max_echo.min(60));
            let start = rng.below(ctx.len() - len);
            s.push_str(&format!(
                "it says \"{}\" and ",
                context[start..start + len].replace('\n', " ")
            ));
        }
        s.push_str(&format!(
            "the document has {} sections and {} words.\n",
            rng.range(10, 500),
            rng.range(1000, 90000)
        ));
        samples.push(Sample {
            text: s,
            label: Label::Quote,
        });
    }
    let harmless = samples.len();
    for _ in 0..harmless {
        samples.push(Sample {
            text: benign(&mut rng),
            label: Label::Harmless,
        });
    }
    Corpus { context, samples }
}

/// Whether any needle survives in `out`; for context echo, any window of
/// `max_echo + 1` bytes of a needle.
pub fn survives(label: &Label, out: &str, max_echo: usize) -> bool {
    match label {
        Label::Secret { needles, .. } | Label::Encoded { needles, .. } => {
            needles.iter().any(|n| out.contains(n.as_str()))
        }
        Label::Echo {
            encoded: true,
            needles,
        } => needles.iter().any(|n| out.contains(n.as_str())),
        Label::Echo {
            encoded: false,
            needles,
        } => needles.iter().any(|n| {
            let w = max_echo + 1;
            let b = n.as_bytes();
            (0..=b.len().saturating_sub(w)).step_by(7).any(|i| {
                std::str::from_utf8(&b[i..i + w])
                    .map(|s| out.contains(s))
                    .unwrap_or(false)
            })
        }),
        _ => false,
    }
}

/// Mixed output of about `bytes` bytes for benchmarks: benign outputs with a
/// planted secret every few KiB and a few context quotes.
pub fn mixed_output(seed: u64, bytes: usize, context: &str) -> String {
    mixed(seed, bytes, context, true)
}

/// [`mixed_output`] without planted secrets: the outputs and context quotes
/// of an ordinary session.
pub fn ordinary_output(seed: u64, bytes: usize, context: &str) -> String {
    mixed(seed, bytes, context, false)
}

fn mixed(seed: u64, bytes: usize, context: &str, secrets: bool) -> String {
    let mut rng = Rng::new(seed);
    let mut s = String::with_capacity(bytes + 4096);
    let mut n = 0usize;
    while s.len() < bytes {
        n += 1;
        s.push_str(&benign(&mut rng));
        if secrets && n % 8 == 0 {
            let fam = rng.pick(&FAMILIES[..BENCH_FAMILIES]);
            s.push_str(&plant(&mut rng, fam).0);
            s.push('\n');
        }
        if n % 16 == 0 && context.len() > 200 {
            let start = rng.below(context.len() - 200);
            if let Some(q) = context.get(start..start + rng.range(20, 200)) {
                s.push_str(q);
                s.push('\n');
            }
        }
    }
    s
}
