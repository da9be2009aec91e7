//! Log segments: how the log lives on an object store, where nothing can be appended to.
//!
//! A segment holds the records one command appended, in log order, and is stored under
//! `log/<first position, 20 digits>`: that key is the command's commit marker (FORMAT.md §22).
//!
//! ```text
//! evidentia-segment 1 LF
//! from <first position> LF
//! count <number of records> LF
//! then, per record: its length as 4 bytes big-endian, then its canonical CBOR bytes
//! ```

use crate::core::cbor::MAX_ENCODED_LEN;
use crate::core::digest::Digest;

const MAGIC: &str = "evidentia-segment 1\n";
/// The largest segment a reader accepts (a command of about three million records).
pub const MAX_SEGMENT: u64 = 1 << 30;

/// The key of the segment whose first record is at `from`.
pub fn key(from: u64) -> String {
    format!("log/{from:020}")
}

/// The position a segment key names, if it is one.
pub fn position(key: &str) -> Option<u64> {
    let digits = key.strip_prefix("log/")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Encodes the records appended at `from`.
pub fn encode(from: u64, records: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("{MAGIC}from {from}\ncount {}\n", records.len()).into_bytes();
    out.reserve(records.iter().map(|r| r.len() + 4).sum());
    for record in records {
        out.extend_from_slice(&(record.len() as u32).to_be_bytes());
        out.extend_from_slice(record);
    }
    out
}

/// A decoded segment: its first position and its records' bytes with their ids.
pub struct Segment {
    pub from: u64,
    pub records: Vec<(Digest, Vec<u8>)>,
}

/// Decodes a segment, refusing anything but exactly the format (no trailing bytes, no
/// empty or oversized record, a count that matches).
pub fn decode(bytes: &[u8]) -> Result<Segment, String> {
    let rest = bytes
        .strip_prefix(MAGIC.as_bytes())
        .ok_or("it does not start with 'evidentia-segment 1'")?;
    let (from, rest) = number_line(rest, "from")?;
    let (count, mut rest) = number_line(rest, "count")?;
    if count == 0 {
        return Err("it holds no records".into());
    }
    let mut records = Vec::new();
    for i in 0..count {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| format!("it ends before record {i} of {count}"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if len == 0 || len > MAX_ENCODED_LEN {
            return Err(format!("record {i} has length {len}"));
        }
        if tail.len() < len {
            return Err(format!("it ends inside record {i} of {count}"));
        }
        let (record, tail) = tail.split_at(len);
        records.push((Digest::of(record), record.to_vec()));
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the last record", rest.len()));
    }
    Ok(Segment { from, records })
}

fn number_line<'a>(bytes: &'a [u8], name: &str) -> Result<(u64, &'a [u8]), String> {
    let end = bytes
        .iter()
        .take(40)
        .position(|&b| b == b'\n')
        .ok_or_else(|| format!("no '{name}' line"))?;
    let line = std::str::from_utf8(&bytes[..end]).map_err(|_| format!("bad '{name}' line"))?;
    let digits = line
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| format!("expected a '{name}' line"))?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    let value = digits
        .parse::<u64>()
        .ok()
        .filter(|_| canonical)
        .ok_or_else(|| format!("'{name}' is not a decimal number"))?;
    Ok((value, &bytes[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let bytes = encode(7, &[b"\xa1\x01\x02", b"\x80"]);
        let segment = decode(&bytes).unwrap();
        assert_eq!(segment.from, 7);
        assert_eq!(segment.records.len(), 2);
        assert_eq!(segment.records[0].0, Digest::of(b"\xa1\x01\x02"));
        assert_eq!(key(7), "log/00000000000000000007");
        assert_eq!(position(&key(7)), Some(7));
        assert_eq!(position("log/7"), None);
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&encode(1, &[])).is_err());
        assert!(decode(b"evidentia-segment 1\nfrom 01\ncount 1\n\x00\x00\x00\x01\x80").is_err());
    }
}
