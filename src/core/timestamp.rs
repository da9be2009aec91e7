//! Timestamps in their one canonical text form: RFC 3339 in UTC, `YYYY-MM-DDTHH:MM:SS[.F]Z`,
//! where the optional fraction has no trailing zeros.

use std::fmt;

use thiserror::Error;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimestampError {
    #[error("'{text}' is not an RFC 3339 date-time (for example 2024-03-01T14:05:00Z)")]
    Unparsable { text: String },
    #[error("'{text}' is not in canonical form; expected '{canonical}'")]
    NotCanonical { text: String, canonical: String },
    #[error("'{text}' is outside the years 0000-9999")]
    OutOfRange { text: String },
}

/// A point in time, kept in UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time, truncated to whole seconds.
    pub fn now() -> Timestamp {
        let now = OffsetDateTime::now_utc();
        Timestamp(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// Parses any RFC 3339 date-time (any offset) and converts it to UTC. For user input.
    pub fn parse_lenient(text: &str) -> Result<Timestamp, TimestampError> {
        let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
            TimestampError::Unparsable {
                text: text.to_string(),
            }
        })?;
        let utc = parsed.to_offset(UtcOffset::UTC);
        if !(0..=9999).contains(&utc.year()) {
            return Err(TimestampError::OutOfRange {
                text: text.to_string(),
            });
        }
        Ok(Timestamp(utc))
    }

    /// Parses user input like [`Timestamp::parse_lenient`] and also returns the offset it was
    /// given with, in minutes east of UTC (`None` for `Z` or `+00:00`), so that a record can
    /// keep the local time as the collector wrote it (FORMAT.md, collected-offset).
    pub fn parse_with_offset(text: &str) -> Result<(Timestamp, Option<i16>), TimestampError> {
        let ts = Timestamp::parse_lenient(text)?;
        let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
            TimestampError::Unparsable {
                text: text.to_string(),
            }
        })?;
        let minutes = parsed.offset().whole_minutes();
        Ok((ts, (minutes != 0).then_some(minutes)))
    }

    /// This instant as RFC 3339 local time at `offset_minutes` east of UTC, e.g.
    /// `2024-03-01T10:00:00+02:00`; the canonical UTC form when there is no offset.
    pub fn at_offset(&self, offset_minutes: Option<i16>) -> String {
        let local = offset_minutes
            .and_then(|m| UtcOffset::from_whole_seconds(i32::from(m) * 60).ok())
            .and_then(|offset| self.0.checked_to_offset(offset));
        let Some(local) = local else {
            return self.to_string();
        };
        let utc = Timestamp(local.replace_offset(UtcOffset::UTC)).to_string();
        let minutes = local.offset().whole_minutes();
        let sign = if minutes < 0 { '-' } else { '+' };
        let abs = minutes.unsigned_abs();
        format!(
            "{}{sign}{:02}:{:02}",
            utc.trim_end_matches('Z'),
            abs / 60,
            abs % 60
        )
    }

    /// Parses a timestamp that must already be in canonical form. For hashed or signed bytes.
    pub fn parse_canonical(text: &str) -> Result<Timestamp, TimestampError> {
        let ts = Timestamp::parse_lenient(text)?;
        let canonical = ts.to_string();
        if canonical != text {
            return Err(TimestampError::NotCanonical {
                text: text.to_string(),
                canonical,
            });
        }
        Ok(ts)
    }

    /// This time plus `seconds`, if still inside the years 0000-9999.
    pub fn checked_add_seconds(&self, seconds: i64) -> Option<Timestamp> {
        let later = self.0.checked_add(time::Duration::seconds(seconds))?;
        (0..=9999)
            .contains(&later.year())
            .then_some(Timestamp(later))
    }

    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let nanos = t.nanosecond();
        if nanos != 0 {
            let fraction = format!("{nanos:09}");
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_user_input_to_utc() {
        let ts = Timestamp::parse_lenient("2024-03-01T16:05:00+02:00").unwrap();
        assert_eq!(ts.to_string(), "2024-03-01T14:05:00Z");
        let ts = Timestamp::parse_lenient("2024-03-01T14:05:00.250Z").unwrap();
        assert_eq!(ts.to_string(), "2024-03-01T14:05:00.25Z");
    }

    #[test]
    fn keeps_the_offset_given() {
        let (ts, offset) = Timestamp::parse_with_offset("2024-03-01T10:00:00+02:00").unwrap();
        assert_eq!(
            (ts.to_string().as_str(), offset),
            ("2024-03-01T08:00:00Z", Some(120))
        );
        assert_eq!(ts.at_offset(offset), "2024-03-01T10:00:00+02:00");
        let (ts, offset) = Timestamp::parse_with_offset("2024-03-01T10:00:00.5-05:30").unwrap();
        assert_eq!(offset, Some(-330));
        assert_eq!(ts.at_offset(offset), "2024-03-01T10:00:00.5-05:30");
        let (_, offset) = Timestamp::parse_with_offset("2024-03-01T10:00:00+00:00").unwrap();
        assert_eq!(offset, None);
    }

    #[test]
    fn canonical_parse_is_strict() {
        assert!(Timestamp::parse_canonical("2024-03-01T14:05:00Z").is_ok());
        assert!(Timestamp::parse_canonical("2024-03-01T14:05:00.25Z").is_ok());
        for bad in [
            "2024-03-01T14:05:00+00:00",
            "2024-03-01T14:05:00.250Z",
            "2024-03-01t14:05:00z",
            "2024-03-01 14:05:00Z",
            "yesterday",
        ] {
            assert!(Timestamp::parse_canonical(bad).is_err(), "{bad}");
        }
    }
}
