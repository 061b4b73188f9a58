//! `TIMESTAMPTZ` on the wire, mapped to Unix microseconds exactly.

use sqlx::{
    Decode, Encode, Postgres, Type,
    encode::IsNull,
    error::BoxDynError,
    postgres::{
        PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueFormat, PgValueRef, types::Oid,
    },
};

use crate::store::{Result, StoreError};

/// A `TIMESTAMPTZ` as PostgreSQL sends it: microseconds since 2000-01-01 00:00 UTC.
///
/// Decoding through `time` or `chrono` would pass through calendar types whose conversions
/// panic on values outside their range (`'infinity'`, year 300000), which PostgreSQL can hold;
/// this maps the wire value to `SystemTime` exactly, with checked arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PgTimestamp(i64);

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// `timestamptz` and `timestamptz[]` in `pg_type`.
const TIMESTAMPTZ_OID: Oid = Oid(1184);
const TIMESTAMPTZ_ARRAY_OID: Oid = Oid(1185);

impl PgTimestamp {
    pub(super) fn from_unix_micros(micros: i64) -> Result<Self> {
        micros
            .checked_sub(POSTGRES_EPOCH_MICROS)
            .map(Self)
            .ok_or_else(|| StoreError::backend("the timestamp is outside PostgreSQL's range"))
    }

    pub(super) fn unix_micros(self, column: &str) -> Result<i64> {
        // PostgreSQL writes `'infinity'` and `'-infinity'` as the extreme values: no point in time.
        if self.0 == i64::MAX || self.0 == i64::MIN {
            return Err(StoreError::Decode(format!("`{column}` is infinite")));
        }
        self.0
            .checked_add(POSTGRES_EPOCH_MICROS)
            .ok_or_else(|| StoreError::Decode(format!("`{column}` is out of range")))
    }
}

impl Type<Postgres> for PgTimestamp {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(TIMESTAMPTZ_OID)
    }
}

impl PgHasArrayType for PgTimestamp {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(TIMESTAMPTZ_ARRAY_OID)
    }
}

impl Encode<'_, Postgres> for PgTimestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl Decode<'_, Postgres> for PgTimestamp {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => <i64 as Decode<'_, Postgres>>::decode(value).map(Self),
            PgValueFormat::Text => Err("a timestamp arrived in text format".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_micros_round_trip_through_the_wire_value() {
        for micros in [0, -1, POSTGRES_EPOCH_MICROS, 1_700_000_000_123_456] {
            let wire = PgTimestamp::from_unix_micros(micros).unwrap();
            assert_eq!(wire.unix_micros("t").unwrap(), micros);
        }
        assert_eq!(
            PgTimestamp::from_unix_micros(POSTGRES_EPOCH_MICROS).unwrap(),
            PgTimestamp(0)
        );
    }

    #[test]
    fn infinite_and_unrepresentable_times_are_errors_not_panics() {
        for wire in [i64::MAX, i64::MIN] {
            assert!(matches!(
                PgTimestamp(wire).unix_micros("t"),
                Err(StoreError::Decode(_))
            ));
        }
        assert!(matches!(
            PgTimestamp(i64::MAX - 1).unix_micros("t"),
            Err(StoreError::Decode(_))
        ));
        assert!(matches!(
            PgTimestamp::from_unix_micros(i64::MIN),
            Err(StoreError::Backend(_))
        ));
    }
}
