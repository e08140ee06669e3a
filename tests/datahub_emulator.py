"""Drives the DataHub emulator (tests/common/datahub.rs) with the official SDK, pydatahub.

Usage: datahub_emulator.py ENDPOINT PROJECT ACCESS_ID ACCESS_KEY

Creates a TUPLE and a BLOB topic, puts records (plain JSON and LZ4 bodies), reads them back
through cursors, and makes the calls the service refuses (a wrong AccessKey, a stale Date, a
malformed record, records over DataHub's limits). Prints one JSON object with what each step
got; tests/datahub_emulator.rs asserts on it. Exits non-zero only when the SDK itself breaks.
"""

import base64
import decimal
import json
import sys
import time

import datahub.rest
from datahub import DataHub
from datahub.exceptions import DatahubException
from datahub.models import BlobRecord, CompressFormat, CursorType, FieldType, RecordSchema, TupleRecord

endpoint, project, access_id, access_key = sys.argv[1:5]
out = {}

plain = DataHub(access_id, access_key, endpoint, compress_format=CompressFormat.NONE)
lz4 = DataHub(access_id, access_key, endpoint)  # the SDK's default: LZ4 bodies


def error(call):
    """What the SDK raised for `call`: class, HTTP status, ErrorCode; None when it passed."""
    try:
        call()
    except DatahubException as e:
        return {"class": type(e).__name__, "status": e.status_code, "code": e.error_code, "message": e.error_msg}
    return None


def plain_value(v):
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v


# --- a TUPLE topic with every field type ---------------------------------------------------
names = ["b", "d", "flag", "ts", "s", "dec", "i", "f", "ti", "si"]
types = [FieldType.BIGINT, FieldType.DOUBLE, FieldType.BOOLEAN, FieldType.TIMESTAMP, FieldType.STRING,
         FieldType.DECIMAL, FieldType.INTEGER, FieldType.FLOAT, FieldType.TINYINT, FieldType.SMALLINT]
schema = RecordSchema.from_lists(names, types)
plain.create_tuple_topic(project, "tuple_topic", 2, 1, schema, "fidelity")
plain.wait_shards_ready(project, "tuple_topic", 10)
topic = plain.get_topic(project, "tuple_topic")
out["tuple_topic"] = {
    "record_type": topic.record_type.value,
    "shard_count": topic.shard_count,
    "life_cycle": topic.life_cycle,
    "comment": topic.comment,
    "fields": [[f.name, f.type.value] for f in topic.record_schema.field_list],
}
out["shards"] = [[s.shard_id, s.state.value] for s in plain.list_shard(project, "tuple_topic").shards]
out["create_again"] = error(lambda: plain.create_tuple_topic(project, "tuple_topic", 1, 1, schema, "again"))
out["no_such_topic"] = error(lambda: plain.get_topic(project, "missing_topic"))
out["no_such_project"] = error(lambda: plain.list_shard("missing_project", "tuple_topic"))

rows = [
    [9223372036854775807, 1.5, True, 1795437296120000, 'h\u00e9llo "x"\n\U0001F600', decimal.Decimal("-12.3400"),
     -2147483648, 0.25, -128, 32767],
    [-9223372036854775808, -0.001, False, -62135798400000000, "", decimal.Decimal("0"), 0, -1.5, 127, -32768],
    [None, None, None, None, None, None, None, None, None, None],
]
records = []
for n, values in enumerate(rows):
    record = TupleRecord(schema=schema, values=values)
    record.shard_id = str(n % 2)
    record.put_attribute("ferry.position", "bin.000001:%d:0" % n)
    records.append(record)
out["tuple_put"] = plain.put_records(project, "tuple_topic", records).failed_record_count

# An LZ4 body (the SDK compresses when it saves bytes: a long, repetitive string does).
big = TupleRecord(schema=schema, values=[1, 2.0, True, 3, "z" * 20000, decimal.Decimal("4.5"), 5, 6.0, 7, 8])
big.shard_id = "0"
out["lz4_put"] = lz4.put_records(project, "tuple_topic", [big]).failed_record_count


def read_tuples(client, shard, cursor_type, param=-1, limit=10):
    cursor = client.get_cursor(project, "tuple_topic", shard, cursor_type, param)
    got = client.get_tuple_records(project, "tuple_topic", shard, schema, cursor.cursor, limit)
    return {
        "cursor_sequence": cursor.sequence,
        "count": got.record_count,
        "start_seq": got.start_seq,
        "records": [
            {"sequence": r.sequence, "values": [plain_value(v) for v in r.values], "attributes": r.attributes}
            for r in got.records
        ],
        "next_cursor": got.next_cursor,
    }


out["read_oldest"] = {shard: read_tuples(plain, shard, CursorType.OLDEST) for shard in ["0", "1"]}
out["read_sequence_1"] = read_tuples(lz4, "0", CursorType.SEQUENCE, 1)
out["read_latest"] = read_tuples(plain, "0", CursorType.LATEST)
out["read_limit_1"] = read_tuples(plain, "0", CursorType.OLDEST, limit=1)
out["seek_out_of_range"] = error(lambda: plain.get_cursor(project, "tuple_topic", "0", CursorType.SEQUENCE, 99))
out["bad_cursor"] = error(lambda: plain.get_tuple_records(project, "tuple_topic", "0", schema, "nonsense", 10))

plain.append_field(project, "tuple_topic", "added", FieldType.STRING)
out["fields_after_append"] = [[f.name, f.type.value] for f in plain.get_topic(project, "tuple_topic").record_schema.field_list]
schema = plain.get_topic(project, "tuple_topic").record_schema
appended = TupleRecord(schema=schema, values=[1, 1.0, True, 1, "a", decimal.Decimal("1"), 1, 1.0, 1, 1, "new"])
appended.shard_id = "1"
out["appended_put"] = plain.put_records(project, "tuple_topic", [appended]).failed_record_count
out["read_after_append"] = read_tuples(plain, "1", CursorType.OLDEST)

# --- what the service refuses --------------------------------------------------------------
rest = plain._datahub_impl._rest_client
shards_path = "/projects/%s/topics/tuple_topic/shards" % project


def raw_put(records):
    return lambda: rest.post(shards_path, data=json.dumps({"Action": "pub", "Records": records}))


good = ["1", "1.5", "true", "1", "s", "1.5", "1", "1.5", "1", "1", None]
out["raw_good"] = error(raw_put([{"ShardId": "1", "Data": good}]))
out["too_few_values"] = error(raw_put([{"ShardId": "0", "Data": ["1", "2"]}]))
out["not_a_bigint"] = error(raw_put([{"ShardId": "0", "Data": ["abc"] + good[1:]}]))
out["tinyint_out_of_range"] = error(raw_put([{"ShardId": "0", "Data": good[:8] + ["128"] + good[9:]}]))
out["not_a_boolean"] = error(raw_put([{"ShardId": "0", "Data": good[:2] + ["yes"] + good[3:]}]))
out["not_a_decimal"] = error(raw_put([{"ShardId": "0", "Data": good[:5] + ["1.2.3"] + good[6:]}]))
out["number_not_string"] = error(raw_put([{"ShardId": "0", "Data": [1] + good[1:]}]))
out["no_such_shard"] = error(raw_put([{"ShardId": "7", "Data": good}]))

wrong_key = DataHub(access_id, access_key + "x", endpoint, compress_format=CompressFormat.NONE)
out["wrong_key"] = error(lambda: wrong_key.list_shard(project, "tuple_topic"))
wrong_id = DataHub(access_id + "x", access_key, endpoint, compress_format=CompressFormat.NONE)
out["wrong_id"] = error(lambda: wrong_id.get_topic(project, "tuple_topic"))
wrong_key_put = DataHub(access_id, "not-the-key", endpoint)
out["wrong_key_put"] = error(lambda: wrong_key_put.put_records(project, "tuple_topic", [records[0]]))

now_date = datahub.rest.gen_rfc822_date
datahub.rest.gen_rfc822_date = lambda: time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 3600))
out["stale_date"] = error(lambda: plain.list_shard(project, "tuple_topic"))
datahub.rest.gen_rfc822_date = now_date
out["date_restored"] = error(lambda: plain.list_shard(project, "tuple_topic"))

# --- a BLOB topic --------------------------------------------------------------------------
plain.create_blob_topic(project, "blob_topic", 1, 1, "blobs")
blobs = [bytes([0, 255, 1, 2, 128]) + b"abc", b'{"k": "v"}', bytes(range(256)) * 8]
blob_records = []
for n, data in enumerate(blobs):
    record = BlobRecord(blob_data=data)
    record.shard_id = "0"
    record.put_attribute("n", str(n))
    blob_records.append(record)
out["blob_put"] = lz4.put_records(project, "blob_topic", blob_records).failed_record_count
cursor = plain.get_cursor(project, "blob_topic", "0", CursorType.OLDEST).cursor
got = plain.get_blob_records(project, "blob_topic", "0", cursor, 10)
out["blob_read"] = [
    {"sequence": r.sequence, "data": base64.b64encode(r.blob_data).decode(), "attributes": r.attributes}
    for r in got.records
]

limit = 1 << 20
at_limit = BlobRecord(blob_data=b"a" * limit)
at_limit.shard_id = "0"
out["record_at_limit"] = error(lambda: plain.put_records(project, "blob_topic", [at_limit]))
over = BlobRecord(blob_data=b"a" * (limit + 1))
over.shard_id = "0"
out["record_over_limit"] = error(lambda: plain.put_records(project, "blob_topic", [over]))
many = []
for _ in range(4):
    record = BlobRecord(blob_data=b"b" * (limit - 1024))
    record.shard_id = "0"
    many.append(record)
out["request_over_limit"] = error(lambda: plain.put_records(project, "blob_topic", many))
out["request_under_limit"] = error(lambda: plain.put_records(project, "blob_topic", many[:2]))
out["blob_count"] = plain.get_cursor(project, "blob_topic", "0", CursorType.LATEST).sequence + 1

print(json.dumps(out))
