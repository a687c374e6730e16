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

/// How much of the start of an output is sniffed for control bytes.
const SNIFF: usize = 8 * 1024;

/// Returns the rule name if `data` looks like binary rather than text.
///
/// Short, ambiguous signatures (`BM`, `MZ`, `ID3`, `BZh`, `RIFF`) only count
/// when the sniffed prefix also has control bytes, since text may start with
/// those letters.
pub(crate) fn detect(data: &[u8]) -> Option<&'static str> {
    let head = &data[..data.len().min(SNIFF)];
    let controls = control_ratio(head);
    for (magic, name) in MAGIC {
        if data.starts_with(magic) {
            let ambiguous = magic.iter().all(|b| b.is_ascii_graphic()) || magic.len() <= 3;
            if !ambiguous || controls > 0.0 {
                return Some(name);
            }
        }
    }
    // No signature: text has (almost) no NULs and control bytes; even a
    // traceback with ANSI colours stays far under 10%.
    if head.len() >= 16 && (memchr::memchr(0, head).is_some() && controls > 0.02 || controls > 0.10)
    {
        return Some("control-bytes");
    }
    None
}

fn control_ratio(head: &[u8]) -> f64 {
    if head.is_empty() {
        return 0.0;
    }
    let n = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x0c | 0x08))
        .count();
    n as f64 / head.len() as f64
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
