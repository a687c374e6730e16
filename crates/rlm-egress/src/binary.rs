//! Binary output: files dumped to stdout (images, archives, executables,
//! databases) are never useful to a model and may carry anything, so the
//! whole output is treated as one finding.

/// File signatures at offset 0: (magic, rule name).
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x7fELF", "elf"),
    (b"\xcf\xfa\xed\xfe", "mach-o"),
    (b"\xce\xfa\xed\xfe", "mach-o"),
    (b"\xca\xfe\xba\xbe", "java-class-or-fat-mach-o"),
    (b"\x00asm", "wasm"),
    (b"SQLite format 3\x00", "sqlite"),
    (b"\x93NUMPY", "numpy"),
    (b"PAR1", "parquet"),
    (b"ARROW1", "arrow"),
    (b"\x80\x04\x95", "python-pickle"),
    (b"\x80\x05\x95", "python-pickle"),
    (b"RIFF", "riff"),
    (b"OggS", "ogg"),
    (b"ID3", "mp3"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
    (b"MZ", "pe"),
];

/// Returns the rule name if `data` looks like binary rather than text.
///
/// Short, ambiguous signatures (`BM`, `MZ`, `ID3`, `BZh`, `RIFF`) only count
/// when the output also has control bytes, since text may start with those
/// letters. Without a signature, the decision uses absolute counts of NULs
/// and other control bytes over the whole output, never ratios: redaction
/// only removes bytes, so an output judged text stays text when filtered
/// again (redaction is idempotent).
pub(crate) fn detect(data: &[u8]) -> Option<&'static str> {
    let (nuls, controls) = control_counts(data);
    detect_counted(data, nuls, controls)
}

/// [`detect`] with the NUL and control-byte counts of `data` already known
/// (from [`crate::classify`]).
pub(crate) fn detect_counted(data: &[u8], nuls: usize, controls: usize) -> Option<&'static str> {
    for (magic, name) in MAGIC {
        if data.starts_with(magic) {
            let ambiguous = magic.iter().all(|b| b.is_ascii_graphic()) || magic.len() <= 3;
            if !ambiguous || controls > 0 {
                return Some(name);
            }
        }
    }
    // Text has no NULs and hardly any control bytes; even a traceback with
    // ANSI colours has none of those counted here (ESC is allowed).
    if (nuls >= 1 && controls >= 4) || controls >= 64 {
        return Some("control-bytes");
    }
    None
}

fn control_counts(data: &[u8]) -> (usize, usize) {
    let is_control = |b: u8| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x0c | 0x08);
    let mut nuls = 0;
    let mut controls = 0;
    // Blocks of byte-wide counters so that the loop vectorises; a block of
    // 240 bytes cannot overflow them, and being a multiple of the vector
    // width (16 and 32 bytes) it leaves no byte-at-a-time tail.
    for block in data.chunks(240) {
        let mut n: u8 = 0;
        let mut c: u8 = 0;
        for &b in block {
            c += u8::from(is_control(b));
            n += u8::from(b == 0);
        }
        controls += usize::from(c);
        nuls += usize::from(n);
    }
    (nuls, controls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("png"));
        assert_eq!(detect(b"\x7fELF\x02\x01\x01\0\0\0"), Some("elf"));
        assert_eq!(detect(b"BMW sales rose 4% in 2023\n"), None);
        assert_eq!(detect(b"MZ is a state\n"), None);
        assert_eq!(detect(b"plain text\nwith lines\n"), None);
        assert_eq!(detect(b"\x1b[31mred error\x1b[0m\n"), None);
    }
}
