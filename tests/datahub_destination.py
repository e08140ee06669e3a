"""Reads DataHub topics with the official SDK, pydatahub: every record of every shard.

Usage: datahub_destination.py ENDPOINT PROJECT ACCESS_ID ACCESS_KEY TOPIC...

Prints one JSON object: per topic its record type, fields and records (shard, sequence,
attributes, and the values as the SDK decodes them for a TUPLE topic, the bytes in base64 for a
BLOB topic). tests/datahub_destination.rs asserts on it.
"""

import base64
import decimal
import json
import sys

from datahub import DataHub
from datahub.models import CursorType, RecordType

endpoint, project, access_id, access_key = sys.argv[1:5]
client = DataHub(access_id, access_key, endpoint)


def plain(v):
    return str(v) if isinstance(v, decimal.Decimal) else v


out = {}
for topic in sys.argv[5:]:
    info = client.get_topic(project, topic)
    tuple_topic = info.record_type == RecordType.TUPLE
    records = []
    for shard in client.list_shard(project, topic).shards:
        cursor = client.get_cursor(project, topic, shard.shard_id, CursorType.OLDEST).cursor
        while True:
            if tuple_topic:
                got = client.get_tuple_records(project, topic, shard.shard_id, info.record_schema, cursor, 1000)
            else:
                got = client.get_blob_records(project, topic, shard.shard_id, cursor, 1000)
            for r in got.records:
                record = {"shard": shard.shard_id, "sequence": r.sequence, "attributes": r.attributes}
                if tuple_topic:
                    record["values"] = [plain(v) for v in r.values]
                else:
                    record["data"] = base64.b64encode(r.blob_data).decode()
                records.append(record)
            if got.record_count == 0:
                break
            cursor = got.next_cursor
    out[topic] = {
        "record_type": info.record_type.value,
        "fields": [f.name for f in info.record_schema.field_list] if tuple_topic else [],
        "records": records,
    }
print(json.dumps(out))
