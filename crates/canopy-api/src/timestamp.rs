//! Instants on the wire: awsJson writes them as epoch seconds (a JSON number, milliseconds as
//! the fraction), e.g. `1631121728.678`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant with millisecond precision (what the service exposes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    millis: i64,
}

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(&self) -> i64 {
        self.millis
    }

    /// From epoch seconds as sent by clients (may be fractional). Rounds to the nearest
    /// millisecond; out-of-range values saturate (float → int casts saturate, never panic).
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp {
            millis: (secs * 1000.0).round() as i64,
        }
    }

    /// Epoch seconds as a float (the wire form).
    pub fn as_secs_f64(&self) -> f64 {
        // Integer ÷ 1000.0 is correctly rounded, so shortest-roundtrip printing gives `….678`.
        self.millis as f64 / 1000.0
    }

    /// The wall clock. Domain code should use its injected clock instead.
    pub fn now() -> Self {
        let millis = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Timestamp { millis }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(Timestamp::from_secs_f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_epoch_seconds_with_millis() {
        let t = Timestamp::from_millis(1_631_121_728_678);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1631121728.678");
        let whole = Timestamp::from_millis(1_631_121_728_000);
        assert_eq!(serde_json::to_string(&whole).unwrap(), "1631121728.0");
    }

    #[test]
    fn parses_fractional_seconds() {
        assert_eq!(
            Timestamp::from_secs_f64(1631121728.678).millis(),
            1_631_121_728_678
        );
        let t: Timestamp = serde_json::from_str("1.631121728678E9").unwrap();
        assert_eq!(t.millis(), 1_631_121_728_678);
        assert_eq!(Timestamp::from_secs_f64(f64::MAX).millis(), i64::MAX);
    }

    #[test]
    fn now_is_after_2020() {
        assert!(Timestamp::now().millis() > 1_577_836_800_000);
    }
}
