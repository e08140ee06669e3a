//! The source server's time zone as a table of UTC offsets over time, so a TIMESTAMP (stored as
//! UTC) is shown in the server's local time with the offset in force at that instant (summer
//! time included), not the offset of the day the connector started.

/// UTC offsets from given instants on: `(unix seconds, offset seconds)`, sorted, the first
/// covering everything before it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerZone {
    changes: Vec<(i64, i32)>,
}

impl ServerZone {
    pub fn utc() -> Self {
        Self::fixed(0)
    }

    pub fn fixed(offset_secs: i32) -> Self {
        Self { changes: vec![(i64::MIN, offset_secs)] }
    }

    /// From samples `(unix seconds, offset in force then)` in increasing time: an offset
    /// changes at the first sample that shows it.
    pub fn from_samples(samples: impl IntoIterator<Item = (i64, i32)>) -> Self {
        let mut changes: Vec<(i64, i32)> = Vec::new();
        for (at, offset) in samples {
            match changes.last() {
                None => changes.push((i64::MIN, offset)),
                Some(&(_, last)) if last != offset => changes.push((at, offset)),
                Some(_) => {}
            }
        }
        if changes.is_empty() {
            changes.push((i64::MIN, 0));
        }
        Self { changes }
    }

    /// The offset from UTC in force at `secs`.
    pub fn offset_at(&self, secs: i64) -> i32 {
        let i = self.changes.partition_point(|&(from, _)| from <= secs);
        self.changes[i.saturating_sub(1)].1
    }

    /// Whether the offset never changes.
    pub fn is_fixed(&self) -> bool {
        self.changes.len() == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_in_force_at_each_instant() {
        // Berlin 2026: CET (+1) until 29 March 01:00 UTC, CEST (+2) until 25 October 01:00 UTC.
        let spring = 1_774_746_000;
        let autumn = 1_792_890_000;
        let zone = ServerZone::from_samples([
            (spring - 900, 3600),
            (spring, 7200),
            (spring + 900, 7200),
            (autumn - 900, 7200),
            (autumn, 3600),
        ]);
        assert!(!zone.is_fixed());
        assert_eq!(zone.offset_at(0), 3600, "before the first sample: the first offset");
        assert_eq!(zone.offset_at(spring - 1), 3600);
        assert_eq!(zone.offset_at(spring), 7200);
        assert_eq!(zone.offset_at(autumn - 1), 7200);
        assert_eq!(zone.offset_at(autumn), 3600);
        assert_eq!(zone.offset_at(i64::MAX), 3600);
        assert!(ServerZone::fixed(-18_000).is_fixed());
        assert_eq!(ServerZone::from_samples([]).offset_at(5), 0);
    }
}
