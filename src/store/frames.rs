//! The change log as it travels to a connector on another node: each record as the store keeps
//! it (no decoding and encoding again on the store's node), framed as its sequence (8 bytes,
//! big-endian), its length (4 bytes, big-endian) and its bytes.

use super::rocks::{decode, encode};
use super::StoreError;
use crate::model::{Record, TableSchema};

/// Appends one framed record.
pub fn put(out: &mut Vec<u8>, seq: u64, record: &[u8]) {
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(record.len() as u32).to_be_bytes());
    out.extend_from_slice(record);
}

/// The records of a framed body, in order.
pub fn records(mut body: &[u8]) -> Result<Vec<(u64, Record)>, StoreError> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let corrupt = |reason: &str| StoreError::Corrupt {
            seq: out.last().map_or(0, |r: &(u64, _)| r.0 + 1),
            reason: reason.into(),
        };
        if body.len() < 12 {
            return Err(corrupt("a frame is cut short"));
        }
        let seq = u64::from_be_bytes(body[..8].try_into().expect("8 bytes"));
        let len = u32::from_be_bytes(body[8..12].try_into().expect("4 bytes")) as usize;
        let Some(record) = body.get(12..12 + len) else {
            return Err(corrupt("a record is cut short"));
        };
        out.push((seq, decode(seq, record)?));
        body = &body[12 + len..];
    }
    Ok(out)
}

/// A table schema for the wire, as the store keeps it.
pub fn schema_bytes(schema: &TableSchema) -> Vec<u8> {
    encode(schema)
}

pub fn schema(id: u64, bytes: &[u8]) -> Result<TableSchema, StoreError> {
    decode(id, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Position, TxEnd};

    #[test]
    fn records_come_back_as_framed_and_a_cut_body_is_an_error() {
        let ends: Vec<Record> = (1..=3)
            .map(|i| {
                Record::TxEnd(TxEnd {
                    position: Position { file: "b.1".into(), pos: i * 10, gtid: None },
                    ts: 7,
                })
            })
            .collect();
        let mut body = Vec::new();
        for (i, r) in ends.iter().enumerate() {
            put(&mut body, 40 + i as u64, &encode(r));
        }
        let back = records(&body).unwrap();
        assert_eq!(back.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![40, 41, 42]);
        assert!(matches!(&back[2].1, Record::TxEnd(e) if e.position.pos == 30));
        assert!(records(&body[..body.len() - 1]).is_err());
        assert!(records(&body[..5]).is_err());
        assert!(records(&[]).unwrap().is_empty());
    }
}
