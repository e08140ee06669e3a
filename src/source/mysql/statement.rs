//! Statements and names shared by everything that reads MySQL tables by key: quoted
//! identifiers and keyset pages (a verification's reads, a full sync's copy). Pure: no IO.

use crate::model::TableName;
use mysql_async::Value;

/// `` `name` ``, backquotes doubled.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub fn table(name: &TableName) -> String {
    format!("{}.{}", ident(&name.database), ident(&name.table))
}

pub(crate) fn list(names: &[&str]) -> String {
    names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(",")
}

/// Rows after the key `(k1, k2, ...) > (?, ?, ...)` (when `after`), in key order, at most
/// `limit`. The comparison is spelled out (`k1 > ? OR (k1 = ? AND k2 > ?)`) so that every
/// server reads it as a range of the primary key; [`page_params`] gives its parameters.
pub fn page(table_name: &TableName, columns: &[&str], key: &[&str], after: bool, limit: usize) -> String {
    let order = list(key);
    let filter = if after {
        let terms: Vec<String> = (0..key.len())
            .map(|i| {
                let mut parts: Vec<String> = key[..i].iter().map(|k| format!("{} = ?", ident(k))).collect();
                parts.push(format!("{} > ?", ident(key[i])));
                match parts.len() {
                    1 => parts.remove(0),
                    _ => format!("({})", parts.join(" AND ")),
                }
            })
            .collect();
        format!(" WHERE {}", terms.join(" OR "))
    } else {
        String::new()
    };
    format!("SELECT {} FROM {}{filter} ORDER BY {order} LIMIT {limit}", list(columns), table(table_name))
}

/// The parameters of [`page`] after `last` (a key's values).
pub fn page_params(last: &[Value]) -> Vec<Value> {
    (0..last.len()).flat_map(|i| last[..=i].iter().cloned()).collect()
}
