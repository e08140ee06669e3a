//! Aligned text columns for people (`--json` gives the API's JSON instead).

use serde_json::Value;

/// A column: its header and how to show a row's value.
pub struct Column {
    pub header: &'static str,
    pub cell: fn(&Value) -> String,
}

/// `rows` under `columns`, left-aligned, two spaces apart.
pub fn render(columns: &[Column], rows: &[Value]) -> String {
    let cells: Vec<Vec<String>> =
        rows.iter().map(|r| columns.iter().map(|c| (c.cell)(r)).collect()).collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).chain([c.header.len()]).max().unwrap_or(0))
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(columns.iter().map(|c| c.header).collect())];
    out.extend(cells.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n") + "\n"
}

/// A JSON value as a cell: strings bare, null as `-`.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `file:pos` of a position object, `-` when none.
pub fn position(v: &Value) -> String {
    match (v.get("file").and_then(Value::as_str), v.get("pos").and_then(Value::as_u64)) {
        (Some(file), Some(pos)) => format!("{file}:{pos}"),
        _ => "-".into(),
    }
}

/// Milliseconds as seconds with one decimal, `-` when none.
pub fn millis(v: &Value) -> String {
    v.as_u64().map_or_else(|| "-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0))
}

/// A unix time in ms as `YYYY-MM-DDTHH:MM:SSZ` (UTC), `-` when none.
pub fn unix_ms(v: &Value) -> String {
    let Some(ms) = v.as_u64() else { return "-".into() };
    let civil = crate::codec::time::Civil::from_unix((ms / 1000) as i64);
    let mut out = Vec::with_capacity(20);
    crate::codec::time::datetime(&mut out, &civil, 0, 0, b'T');
    out.push(b'Z');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unix_ms_reads_as_utc() {
        assert_eq!(unix_ms(&json!(1_765_065_600_123u64)), "2025-12-07T00:00:00Z");
        assert_eq!(unix_ms(&Value::Null), "-");
    }

    #[test]
    fn columns_line_up_and_missing_values_show_a_dash() {
        let columns = [
            Column { header: "NAME", cell: |r| text(&r["name"]) },
            Column { header: "LATENCY", cell: |r| millis(&r["latency_ms"]) },
            Column { header: "POSITION", cell: |r| position(&r["position"]) },
        ];
        let rows = [
            json!({"name": "shop-sync", "latency_ms": 1260, "position": {"file": "bin.000002", "pos": 900}}),
            json!({"name": "b", "latency_ms": null, "position": null}),
        ];
        assert_eq!(
            render(&columns, &rows),
            "NAME       LATENCY  POSITION\nshop-sync  1.3s     bin.000002:900\nb          -        -\n"
        );
    }
}
