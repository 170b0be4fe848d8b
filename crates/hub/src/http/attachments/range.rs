//! `Range: bytes=…` of a download (RFC 9110 §14): one range is served as 206, a range that
//! lies outside the file as 416, anything else — no header, several ranges, a malformed one,
//! an `If-Range` that no longer matches — as the whole file.

/// What part of a file of known size to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// All of it (200).
    Full,
    /// Bytes `start..=end` (206).
    Part {
        /// First byte.
        start: u64,
        /// Last byte, included.
        end: u64,
    },
    /// Nothing of it (416).
    Unsatisfiable,
}

/// What `range` (the header's value, if any) asks of a file of `size` bytes.
pub fn parse(range: Option<&str>, size: u64) -> Ranged {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else { return Ranged::Full };
    if spec.contains(',') {
        return Ranged::Full; // several ranges: the whole file is a valid answer, and simpler
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Ranged::Full };
    let number = |s: &str| if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            None => Ranged::Full,
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if size == 0 => Ranged::Unsatisfiable,
            Some(n) => Ranged::Part { start: size.saturating_sub(n), end: size - 1 },
        },
        (first, last) => {
            let Some(start) = number(first) else { return Ranged::Full };
            let end = match last {
                "" => None,
                last => match number(last) {
                    Some(end) if end >= start => Some(end),
                    _ => return Ranged::Full,
                },
            };
            if start >= size {
                return Ranged::Unsatisfiable;
            }
            Ranged::Part { start, end: end.map_or(size - 1, |end| end.min(size - 1)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        let part = |start, end| Ranged::Part { start, end };
        assert_eq!(parse(None, 100), Ranged::Full);
        assert_eq!(parse(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(parse(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(parse(Some("bytes=90-1000"), 100), part(90, 99), "the end is clipped to the file");
        assert_eq!(parse(Some("bytes=-10"), 100), part(90, 99), "the last 10 bytes");
        assert_eq!(parse(Some("bytes=-1000"), 100), part(0, 99));
        assert_eq!(parse(Some("bytes=100-"), 100), Ranged::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Ranged::Unsatisfiable);
        for ignored in ["bytes=5-1", "bytes=a-b", "items=0-1", "bytes=0-1,5-6", "bytes=--1", "bytes=+1-2"] {
            assert_eq!(parse(Some(ignored), 100), Ranged::Full, "{ignored}");
        }
    }
}
