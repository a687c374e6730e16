//! `key = value` sites, found from their operator rather than their key.
//!
//! Keys such as `token`, `secret` or `auth` are among the commonest words of
//! ordinary output (`max_tokens`, `secrets.html`, `Author:`), so searching
//! for them first and then checking for an operator spends most of its time
//! on prose. Operators are rarer than those words once the byte before them
//! is known: a site is an `=`, `:`, `:=`, `=>` or `->` whose key, read
//! backwards, ends with a letter. Each rule then tests the key's last bytes
//! (a handful of byte compares) and parses the value by hand, so no regex
//! runs for the common assignment forms.

use std::ops::Range;

/// Longest key suffix compared (`encryption_key`, `sharedaccesskey`).
pub(crate) const SUFFIX: usize = 16;

/// An operator with a key before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site {
    /// End of the key: before the whitespace, quote and backslash that may
    /// separate it from the operator.
    pub(crate) key_end: usize,
    /// Whitespace characters between the key (or its quote) and the operator.
    pub(crate) gap: usize,
    /// The operator is a single `=` or `:`.
    pub(crate) single: bool,
    /// The operator byte (`=`, `:`, `-` for `->`).
    pub(crate) op_byte: u8,
    /// First byte after the operator.
    pub(crate) value_from: usize,
}

/// The last (at most [`SUFFIX`]) bytes of a key, ASCII lower-cased,
/// right-aligned: `lower[SUFFIX - n..]` are the last `n` bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeySuffix {
    lower: [u8; SUFFIX],
}

impl KeySuffix {
    pub(crate) fn of(text: &[u8], key_end: usize) -> KeySuffix {
        let mut lower = [0u8; SUFFIX];
        let n = key_end.min(SUFFIX);
        for (d, s) in lower[SUFFIX - n..]
            .iter_mut()
            .zip(&text[key_end - n..key_end])
        {
            *d = s.to_ascii_lowercase();
        }
        KeySuffix { lower }
    }

    /// Whether the key ends with `suffix` (lower-case ASCII), compared
    /// case-insensitively.
    #[inline]
    pub(crate) fn ends_with(&self, suffix: &[u8]) -> bool {
        suffix.len() <= SUFFIX && self.lower[SUFFIX - suffix.len()..] == *suffix
    }
}

/// The last two letters of every key a rule names by name (`password`,
/// `pwd`, `secret`, `token`, `credential(s)`, `auth`, `...key`,
/// `authorization`, `private_key_id`, `sig`, `passphrase`, `passwort`):
/// bit `b & 31` of `KEY_ENDINGS[a & 31]` for the ending `ba` (lower case).
static KEY_ENDINGS: [u32; 32] = {
    const ENDINGS: &[&[u8; 2]] = &[
        b"rd", b"wd", b"rt", b"se", b"et", b"en", b"al", b"ls", b"th", b"ey", b"on", b"id", b"ig",
    ];
    let mut t = [0u32; 32];
    let mut i = 0;
    while i < ENDINGS.len() {
        let e = ENDINGS[i];
        t[(e[1] & 31) as usize] |= 1 << (e[0] & 31);
        i += 1;
    }
    t
};

/// Whether the key before `key_end` can be one a rule names: it ends with
/// two letters that some named key ends with. Most keys of JSON, logs and
/// tables fail here, before anything is copied.
#[inline]
pub(crate) fn may_be_named_key(text: &[u8], key_end: usize) -> bool {
    if key_end < 2 {
        return false;
    }
    let (a, b) = (text[key_end - 2] | 0x20, text[key_end - 1] | 0x20);
    if !(a.is_ascii_lowercase()
        && b.is_ascii_lowercase()
        && KEY_ENDINGS[(b & 31) as usize] >> (a & 31) & 1 == 1)
    {
        return false;
    }
    // `id` ends one named key only, `private_key_id`, and many others
    // (`request_id`, `"id"`).
    !(a == b'i' && b == b'd') || text[..key_end].ends_with(b"key_id")
}

#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes of the whitespace character (Unicode `White_Space`, as `\s` of
/// the rules' patterns reads it) at the start of `s`; 0 if none.
pub(crate) fn unicode_space_len(s: &[u8]) -> usize {
    match s.first() {
        None => 0,
        Some(&b) if b < 0x80 => usize::from(is_space(b)),
        Some(_) => s[..s.len().min(4)]
            .utf8_chunks()
            .next()
            .and_then(|chunk| chunk.valid().chars().next())
            .filter(|c| c.is_whitespace())
            .map_or(0, char::len_utf8),
    }
}

/// Every operator site in `text` with a key before it, in text order.
/// `anchors` are the positions of `=`, `:` and `>` in `text`, from
/// [`crate::classify`].
pub(crate) fn sites(text: &[u8], anchors: &[usize], mut on: impl FnMut(&Site)) {
    let prefetch = crate::prefetch::Prefetch::new();
    for (idx, &p) in anchors.iter().enumerate() {
        // The text around the site four ahead, key and value: the sites
        // are read long after the classifying pass had them in cache.
        if let Some(&ahead) = anchors.get(idx + 4) {
            prefetch.at(text, ahead.saturating_sub(32));
            prefetch.at(text, ahead + 32);
        }
        if let Some(site) = site_at(text, p) {
            on(&site);
        }
    }
}

/// Whether the operator byte at `p` opens a site whose key may be one a
/// rule names ([`may_be_named_key`]). The classifying pass asks this of
/// every operator while its block is in cache, and keeps only those.
#[inline]
pub(crate) fn may_anchor_named_site(text: &[u8], p: usize) -> bool {
    // The commonest shapes first (`key=`, `key:`, `"key":`): with a letter
    // right before, or a quote after a letter, the key ends there, whatever
    // the operator (`>` needs `=>`/`->`, so never a letter before it).
    if p >= 3 && text[p] != b'>' {
        let c = text[p - 1];
        if c.is_ascii_alphabetic() {
            return may_be_named_key(text, p);
        }
        if matches!(c, b'"' | b'\'') && text[p - 2].is_ascii_alphabetic() {
            return may_be_named_key(text, p - 1);
        }
    }
    site_at(text, p).is_some_and(|s| may_be_named_key(text, s.key_end))
}

/// The site of the operator byte at `p` (`=`, `:` or `>`), if it has one.
#[inline]
fn site_at(text: &[u8], p: usize) -> Option<Site> {
    let b = text[p];
    // The operator and where its value starts.
    let (op, value_from, single) = match b {
        b'>' => match p.checked_sub(1).map(|q| text[q]) {
            Some(b'=' | b'-') => (p - 1, p + 1, false),
            _ => return None,
        },
        b':' if text.get(p + 1) == Some(&b'=') => (p, p + 2, false),
        // The `=` of `:=` was seen at its `:`.
        b'=' if p > 0 && text[p - 1] == b':' => return None,
        _ => (p, p + 1, true),
    };
    // Back over whitespace, a closing quote and an escaping backslash.
    let mut k = op;
    let floor = op.saturating_sub(16);
    while k > floor && is_space(text[k - 1]) {
        k -= 1;
    }
    let gap = op - k;
    if k > 0 && matches!(text[k - 1], b'"' | b'\'') {
        k -= 1;
        if k > 0 && text[k - 1] == b'\\' {
            k -= 1;
        }
    }
    if k == 0 {
        return None;
    }
    Some(Site {
        key_end: k,
        gap,
        single,
        op_byte: text[op],
        value_from,
    })
}

/// Keys of `key = secret` assignments, lower-case: the key must end with
/// one of them (so `tokenizer = ...` and `max_tokens = 512` do not count).
const ASSIGNMENT_KEYS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"passwort",
    b"passphrase",
    b"pwd",
    b"secret",
    b"token",
    b"credential",
    b"credentials",
    b"auth",
];

/// Words that make a `...key` suffix a secret key (`api_key`, `secretKey`).
const KEY_QUALIFIERS: &[&[u8]] = &[
    b"api",
    b"access",
    b"private",
    b"secret",
    b"signing",
    b"encryption",
    b"auth",
];

/// Whether a key (its lower-cased suffix) names a secret (`DB_PASSWORD`,
/// `api-key`, `client_secret`, `authToken`).
pub(crate) fn is_secret_key(key: &KeySuffix) -> bool {
    let l = &key.lower;
    match l[SUFFIX - 1] {
        b'd' | b't' | b'e' | b'n' | b'l' | b's' | b'h' => {
            ASSIGNMENT_KEYS.iter().any(|k| key.ends_with(k))
        }
        b'y' if key.ends_with(b"key") => {
            let before = &l[..SUFFIX - 3];
            let before = match before.last() {
                Some(b'_' | b'-') => &before[..before.len() - 1],
                _ => before,
            };
            KEY_QUALIFIERS.iter().any(|q| before.ends_with(q))
        }
        _ => false,
    }
}

/// Bytes of a bare value that [`plausible_assigned_secret`] judges: its
/// tests read all of what they look at, and a line of many implausible
/// `pwd=...&pwd=...` sites with no blank would have each of them read to
/// the line's end (quadratic: 20 000 such sites took 4.7 s). A quoted value
/// ends at its quote.
const MAX_JUDGED_VALUE: usize = 1024;

/// The last bare run read by [`value`] and [`authorization_value`] in one
/// text. Sites come in text order, and a site whose value starts inside
/// that run ends where it does (a run is bytes of one class up to the first
/// other), so a long line with many sites is read once, not once per site.
#[derive(Debug, Default)]
pub(crate) struct RunMemo {
    bare: Range<usize>,
    credential: Range<usize>,
}

/// End of the run of `class` bytes from `i`, through `memo`.
fn run_end(text: &[u8], i: usize, class: impl Fn(u8) -> bool, memo: &mut Range<usize>) -> usize {
    if memo.start <= i && i < memo.end {
        return memo.end;
    }
    let end = i + text[i.min(text.len())..]
        .iter()
        .take_while(|&&b| class(b))
        .count();
    *memo = i..end;
    end
}

/// The value of an assignment starting at or after `from`: up to four
/// whitespace characters, then a quoted string (`"..."`, `'...'`,
/// `` `...` ``, one line, not empty) or a bare word (no whitespace, quotes,
/// `,;()[]{}<>`). Returns the value's span and whether it was quoted.
pub(crate) fn value(text: &[u8], from: usize, memo: &mut RunMemo) -> Option<(Range<usize>, bool)> {
    let mut i = from;
    let lim = (from + 4).min(text.len());
    while i < lim && is_space(text[i]) {
        i += 1;
    }
    let q = *text.get(i)?;
    if matches!(q, b'"' | b'\'' | b'`') {
        let s = i + 1;
        let close = text[s..]
            .iter()
            .position(|&b| b == q || b == b'\n' || b == b'\r')?;
        if close == 0 || text[s + close] != q {
            return None;
        }
        return Some((s..s + close, true));
    }
    let bare = |b: u8| {
        !is_space(b)
            && !matches!(
                b,
                b'"' | b'\''
                    | b'`'
                    | b','
                    | b';'
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'<'
                    | b'>'
            )
    };
    let end = run_end(text, i, bare, &mut memo.bare);
    (end > i).then_some((i..end, false))
}

/// The credential of an `Authorization` header after its operator:
/// `\s{0,4}\\?["']?`, an optional scheme word and whitespace, then at least
/// eight of `[A-Za-z0-9-._~+/=:]`.
pub(crate) fn authorization_value(
    text: &[u8],
    from: usize,
    memo: &mut RunMemo,
) -> Option<Range<usize>> {
    const SCHEMES: &[&[u8]] = &[
        b"bearer", b"basic", b"token", b"bot", b"digest", b"apikey", b"sso-key", b"dsn",
    ];
    let tok = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=:".contains(&b);
    let mut i = from;
    let lim = (from + 4).min(text.len());
    while i < lim && is_space(text[i]) {
        i += 1;
    }
    if text.get(i) == Some(&b'\\') {
        i += 1;
    }
    if matches!(text.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    let mut run = |s: usize| run_end(text, s, tok, &mut memo.credential).saturating_sub(s);
    // With a scheme word first, if one is there and a long enough value
    // follows it.
    let word = text[i..]
        .iter()
        .take_while(|b| b.is_ascii_alphabetic() || **b == b'-')
        .count();
    if word > 0
        && SCHEMES
            .iter()
            .any(|s| text[i..i + word].eq_ignore_ascii_case(s))
    {
        let mut j = i + word;
        let ws = text[j..].iter().take_while(|&&b| is_space(b)).count();
        if ws > 0 {
            j += ws;
            let n = run(j);
            if n >= 8 {
                return Some(j..j + n);
            }
        }
    }
    let n = run(i);
    (n >= 8).then_some(i..i + n)
}

/// Plausibility of the value of `key = value`: rejects placeholders,
/// numbers, code expressions and prose, which make up most such assignments
/// in ordinary output (`max_tokens = 512`, `password = getpass()`).
pub(crate) fn plausible_assigned_secret(
    key: &[u8],
    value: &[u8],
    quoted: bool,
    next: Option<u8>,
) -> bool {
    let mut v = match quoted {
        true => value,
        false => &value[..value.len().min(MAX_JUDGED_VALUE)],
    };
    // Sentence punctuation after a bare value is not part of it.
    if !quoted {
        while let [rest @ .., b'.' | b'!' | b'?' | b':'] = v {
            v = rest;
        }
    }
    if v.len() < 6 || memchr::memmem::find(v, b"[REDACTED:").is_some() {
        return false;
    }
    // The shell's working directory, not a password.
    if key.eq_ignore_ascii_case(b"pwd") || key.eq_ignore_ascii_case(b"oldpwd") {
        return false;
    }
    const PLACEHOLDERS: &[&[u8]] = &[
        b"none",
        b"null",
        b"nil",
        b"undefined",
        b"true",
        b"false",
        b"redacted",
        b"******",
        b"<redacted>",
        b"hidden",
        b"masked",
        b"required",
        b"optional",
        b"string",
        b"your_password",
        b"your-password",
        b"<password>",
        b"password",
        b"secret",
        b"token",
        b"example",
        b"os.environ",
        b"getpass",
        b"input",
    ];
    if PLACEHOLDERS.iter().any(|p| v.eq_ignore_ascii_case(p)) {
        return false;
    }
    // Masked, templated or referenced values.
    if v.iter()
        .all(|&b| b == b'*' || b == b'x' || b == b'X' || b == b'.' || b == b'-' || b == b'#')
        || v.starts_with(b"${")
        || v.starts_with(b"$(")
        || v.starts_with(b"{{")
        || v.starts_with(b"%(")
        || (v.starts_with(b"<") && v.ends_with(b">"))
    {
        return false;
    }
    // Numbers: token counts, ports, timeouts.
    if v.iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'e' | b'E' | b'+'))
    {
        return false;
    }
    if quoted {
        // A quoted value with spaces is prose (a prompt or a label) unless it
        // also has digits or symbols; passphrases of plain words are rare in
        // output and this is the common false positive.
        if v.contains(&b' ') {
            let words = v.split(|&b| b == b' ').filter(|w| !w.is_empty()).count();
            let symbolic = v
                .iter()
                .any(|b| b.is_ascii_digit() || b.is_ascii_punctuation());
            return words <= 3 && symbolic;
        }
        return true;
    }
    // Bare values: code expressions (`get_token()`, `cfg.secret`, `env["X"]`).
    if matches!(next, Some(b'(') | Some(b'[')) {
        return false;
    }
    if is_dotted_identifier(v) {
        return false;
    }
    let has_digit = v.iter().any(u8::is_ascii_digit);
    let has_upper = v.iter().any(u8::is_ascii_uppercase);
    let has_lower = v.iter().any(u8::is_ascii_lowercase);
    let has_sym = v.iter().any(|b| !b.is_ascii_alphanumeric());
    let classes = [has_digit, has_upper, has_lower, has_sym]
        .iter()
        .filter(|&&c| c)
        .count();
    // Plain words (`expired`, `missing`) stay; anything mixed or long goes.
    classes >= 2 || v.len() >= 12
}

fn is_dotted_identifier(v: &[u8]) -> bool {
    let mut parts = 0;
    for p in v.split(|&b| b == b'.') {
        let ok = !p.is_empty()
            && (p[0].is_ascii_alphabetic() || p[0] == b'_')
            && p.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if !ok {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_shortcut_agrees_with_the_site_parser() {
        let alphabet = b"=:>-\"'\\ \tadkenywordpasTOKEN_1";
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let len = 1 + (rng % 24) as usize;
            let text = crate::testing::random_text(&mut rng, alphabet, len);
            for p in (0..len).filter(|&p| matches!(text[p], b'=' | b':' | b'>')) {
                let full = site_at(&text, p).is_some_and(|s| may_be_named_key(&text, s.key_end));
                assert_eq!(
                    may_anchor_named_site(&text, p),
                    full,
                    "{:?} at {p}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    fn site_keys(t: &str) -> Vec<(String, bool)> {
        let mut v = Vec::new();
        // Every operator, not only those the classifying pass keeps.
        let anchors: Vec<usize> = (0..t.len())
            .filter(|&i| {
                matches!(t.as_bytes()[i], b'=' | b':' | b'>')
                    && !(i > 0 && t.as_bytes()[i - 1].is_ascii_digit())
            })
            .collect();
        sites(t.as_bytes(), &anchors, |s| {
            let start = t[..s.key_end]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let named = may_be_named_key(t.as_bytes(), s.key_end)
                && is_secret_key(&KeySuffix::of(t.as_bytes(), s.key_end));
            v.push((t[start..s.key_end].to_string(), named));
        });
        v
    }

    #[test]
    fn keys_and_operators() {
        assert_eq!(
            site_keys(r#"DB_PASSWORD = "x" api_key: 1 "secretKey"=>2 a->b t:=3 n=4 at 10:30"#),
            vec![
                ("DB_PASSWORD".to_string(), true),
                ("api_key".to_string(), true),
                // `=>` is a site at `=` (whose value cannot start with `>`)
                // and at `>`, as the regex alternation `=|=>` tries both.
                ("secretKey".to_string(), true),
                ("secretKey".to_string(), true),
                ("a".to_string(), false),
                ("t".to_string(), false),
                ("n".to_string(), false),
                // `10:30`: an operator right after a digit is no anchor.
            ]
        );
        assert_eq!(
            site_keys("max_tokens=1 tokenizer=2 monkey=3 author=4 oauth=5"),
            vec![
                ("max_tokens".to_string(), false),
                ("tokenizer".to_string(), false),
                ("monkey".to_string(), false),
                ("author".to_string(), false),
                ("oauth".to_string(), true),
            ]
        );
    }

    #[test]
    fn values() {
        let t = br#"= "hunter2!" x"#;
        assert_eq!(value(t, 1, &mut RunMemo::default()), Some((3..11, true)));
        assert_eq!(
            value(b"=abc,def", 1, &mut RunMemo::default()),
            Some((1..4, false))
        );
        assert_eq!(
            value(b"= \"unterminated\nx\"", 1, &mut RunMemo::default()),
            None
        );
        assert_eq!(value(b"=\"\"", 1, &mut RunMemo::default()), None);
        let t = b": Bearer abcDEF123456ghiJKL";
        assert_eq!(
            authorization_value(t, 1, &mut RunMemo::default()),
            Some(9..t.len())
        );
        let t = b"=\\\"Basic dXNlcjpwYXNzd29yZA==\\\"";
        let r = authorization_value(t, 1, &mut RunMemo::default()).expect("value");
        assert_eq!(&t[r], b"dXNlcjpwYXNzd29yZA==");
    }
}
