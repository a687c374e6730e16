//! Helpers shared by the unit tests.

/// The next value of a xorshift64 stream: a fixed, seedable source of test
/// inputs that needs no crate.
pub(crate) fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `len` bytes drawn from `alphabet` by [`xorshift`].
pub(crate) fn random_text(state: &mut u64, alphabet: &[u8], len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| alphabet[(xorshift(state) % alphabet.len() as u64) as usize])
        .collect()
}
