//! PutRecords requests: each record is serialized once, when it is queued, into the batch of
//! its topic's shard; a batch is one request body.
//!
//! Invariants: a batch holds records in the order they were queued (the change log's), and
//! its body never passes DataHub's 4 MiB a request; a record whose data passes 1 MiB is
//! refused before it is queued (the data counted as the bytes of its values, or of its blob,
//! before JSON and base64).

use base64::Engine as _;

/// The most data one record may carry.
pub const RECORD_MAX: usize = 1 << 20;
/// The largest PutRecords body.
pub const REQUEST_MAX: usize = 4 << 20;

const HEAD: &[u8] = br#"{"Action":"pub","Records":["#;
const TAIL: &[u8] = b"]}";

/// A record waiting for its request, with the change log record it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub seq: u64,
    pub json: Vec<u8>,
}

/// The records of one shard waiting to be sent.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<Queued>,
    /// Bytes of the records' JSON with the commas between them.
    size: usize,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The body's size with one more record of `json` bytes.
    fn size_with(&self, json: usize) -> usize {
        HEAD.len() + TAIL.len() + self.size + usize::from(!self.is_empty()) + json
    }

    /// Whether a record of `json` bytes still fits in this batch's request.
    pub fn fits(&self, json: usize) -> bool {
        self.size_with(json) <= REQUEST_MAX
    }

    /// Whether a record of `json` bytes fits in a request at all.
    pub fn fits_alone(json: usize) -> bool {
        Batch::default().fits(json)
    }

    pub fn push(&mut self, seq: u64, json: Vec<u8>) {
        self.size += usize::from(!self.is_empty()) + json.len();
        self.records.push(Queued { seq, json });
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.size
    }

    /// The PutRecords body of the records from index `from` on.
    pub fn body(&self, from: usize) -> Vec<u8> {
        let records = &self.records[from.min(self.records.len())..];
        let mut body = Vec::with_capacity(
            HEAD.len() + TAIL.len() + records.iter().map(|r| r.json.len() + 1).sum::<usize>(),
        );
        body.extend_from_slice(HEAD);
        for (n, record) in records.iter().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&record.json);
        }
        body.extend_from_slice(TAIL);
        body
    }
}

/// A record's JSON: `{"ShardId":..,"Data":<data>,"Attributes":{..}}`, `data` being the JSON
/// of a TUPLE record's values (`tuple::write_data`) or [`blob_data`].
pub fn record(shard: &str, data: &[u8], attributes: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        data.len() + 64 + attributes.iter().map(|(k, v)| k.len() + v.len() + 6).sum::<usize>(),
    );
    out.extend_from_slice(b"{\"ShardId\":");
    serde_json::to_writer(&mut out, shard).expect("writing to a Vec");
    out.extend_from_slice(b",\"Data\":");
    out.extend_from_slice(data);
    if !attributes.is_empty() {
        out.extend_from_slice(b",\"Attributes\":{");
        for (n, (key, value)) in attributes.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, key).expect("writing to a Vec");
            out.push(b':');
            serde_json::to_writer(&mut out, value).expect("writing to a Vec");
        }
        out.push(b'}');
    }
    out.push(b'}');
    out
}

/// A BLOB record's `Data`: the bytes in base64, as a JSON string.
pub fn blob_data(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 4 / 3 + 8);
    out.push(b'"');
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    out.extend_from_slice(encoded.as_bytes());
    out.push(b'"');
    out
}
