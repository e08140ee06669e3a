//! Checks a server before streaming from it: binlog settings and the reader's privileges.
//! One [`Finding`] per check, each with the setting or grant that fixes it.

use super::catalog::{self, flavor_of};
use super::conn::{self, query_error};
use super::{MysqlConfig, SourceError};
use crate::codec::SourceFlavor;
use crate::source::Finding;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row};
use std::collections::HashMap;

/// Runs every check. `Err` only when the server cannot be reached or refuses the login.
pub async fn precheck(cfg: &MysqlConfig) -> Result<Vec<Finding>, SourceError> {
    let mut c = conn::connect(cfg).await?;
    let result = run(&mut c).await;
    conn::close(c).await;
    result
}

async fn run(c: &mut Conn) -> Result<Vec<Finding>, SourceError> {
    let rows: Vec<Row> = c
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'log_bin', \
             'binlog_format', 'binlog_row_image', 'log_bin_compress', 'binlog_row_metadata')",
        )
        .await
        .map_err(query_error)?;
    let vars: HashMap<String, String> = rows
        .iter()
        .filter_map(|r| Some((catalog::text(r, 0)?.to_ascii_lowercase(), catalog::text(r, 1)?)))
        .collect();
    let user: Option<Row> = c.query_first("SELECT CURRENT_USER()").await.map_err(query_error)?;
    let user = user.and_then(|r| catalog::text(&r, 0)).unwrap_or_else(|| "?".into());
    let grants: Vec<Row> = c.query("SHOW GRANTS").await.map_err(query_error)?;
    let grants: Vec<String> = grants.iter().filter_map(|r| catalog::text(r, 0)).collect();
    Ok(findings(&vars, &user, &grants))
}

fn finding(check: &str, ok: bool, message: String, fix: String) -> Finding {
    Finding { check: check.into(), ok, message, fix: if ok { String::new() } else { fix } }
}

/// The checks, from the server's variables and the reader's grants.
pub(crate) fn findings(vars: &HashMap<String, String>, user: &str, grants: &[String]) -> Vec<Finding> {
    let var = |n: &str| vars.get(n).map(String::as_str);
    let is = |n: &str, want: &str| var(n).is_some_and(|v| v.eq_ignore_ascii_case(want));
    let version = var("version").unwrap_or("unknown");
    let flavor = flavor_of(version);
    let mut out = Vec::new();

    let (ok, why) = version_supported(flavor, version);
    out.push(finding(
        "server_version",
        ok,
        format!("{version}: {why}"),
        "use MariaDB 10.3 or later, or MySQL 5.7 or later".into(),
    ));

    let log_bin = is("log_bin", "ON") || is("log_bin", "1");
    out.push(finding(
        "log_bin",
        log_bin,
        format!("log_bin is {}", var("log_bin").unwrap_or("not set")),
        "start the server with binary logging: log_bin=mysql-bin (and a server_id) in its \
         configuration, then restart it"
            .into(),
    ));

    out.push(finding(
        "binlog_format",
        is("binlog_format", "ROW"),
        format!("binlog_format is {}", var("binlog_format").unwrap_or("not set")),
        "SET GLOBAL binlog_format = 'ROW'; and binlog_format=ROW in the server configuration \
         (sessions already open keep their format until they reconnect)"
            .into(),
    ));

    out.push(finding(
        "binlog_row_image",
        is("binlog_row_image", "FULL"),
        format!("binlog_row_image is {}", var("binlog_row_image").unwrap_or("not set")),
        "SET GLOBAL binlog_row_image = 'FULL'; and binlog_row_image=FULL in the server \
         configuration"
            .into(),
    ));

    let compress = var("log_bin_compress");
    let compress_ok = !compress.is_some_and(|v| v.eq_ignore_ascii_case("ON") || v == "1");
    out.push(finding(
        "log_bin_compress",
        compress_ok,
        match compress {
            Some(v) => format!("log_bin_compress is {v}"),
            None => "the server has no log_bin_compress (not MariaDB)".into(),
        },
        "SET GLOBAL log_bin_compress = OFF; and log_bin_compress=OFF in the server \
         configuration: compressed row events cannot be read"
            .into(),
    ));

    let metadata = var("binlog_row_metadata");
    let full = metadata.is_some_and(|v| v.eq_ignore_ascii_case("FULL"));
    out.push(finding(
        "binlog_row_metadata",
        true,
        if full {
            "binlog_row_metadata is FULL: column names, types and keys travel in the binlog".into()
        } else {
            format!(
                "binlog_row_metadata is {}: column names, ENUM/SET labels and primary keys \
                 come from information_schema, which only describes tables as they are now \
                 (events from before a DDL cannot be decoded, and labels show 4-byte \
                 characters as '?'); SET GLOBAL binlog_row_metadata = 'FULL' avoids that",
                metadata.unwrap_or("not supported")
            )
        },
        String::new(),
    ));

    let g = Grants::parse(grants);
    let grant = |privilege: &str| format!("GRANT {privilege} ON *.* TO {};", quote_user(user));
    out.push(finding(
        "privilege_replication_slave",
        g.global("REPLICATION SLAVE"),
        if g.global("REPLICATION SLAVE") {
            format!("{user} may read the binlog (REPLICATION SLAVE)")
        } else {
            format!("{user} lacks REPLICATION SLAVE on *.*: it cannot read the binlog")
        },
        grant("REPLICATION SLAVE"),
    ));
    let client = g.global("REPLICATION CLIENT") || g.global("BINLOG MONITOR") || g.global("SUPER");
    out.push(finding(
        "privilege_replication_client",
        client,
        if client {
            format!("{user} may list binlogs (REPLICATION CLIENT / BINLOG MONITOR)")
        } else {
            format!(
                "{user} lacks REPLICATION CLIENT (BINLOG MONITOR in MariaDB 10.5+) on *.*: it \
                 cannot list binlogs or read the current position"
            )
        },
        grant("REPLICATION CLIENT"),
    ));
    let select_all = g.global("SELECT");
    let select_some = g.select_databases();
    out.push(finding(
        "privilege_select",
        select_all || !select_some.is_empty(),
        if select_all {
            format!("{user} may SELECT every table")
        } else if !select_some.is_empty() {
            format!("{user} may SELECT only in {}: other databases cannot be synced", select_some.join(", "))
        } else {
            format!("{user} has no SELECT: tables cannot be snapshotted nor described")
        },
        grant("SELECT"),
    ));
    out
}

fn version_supported(flavor: SourceFlavor, version: &str) -> (bool, &'static str) {
    let mut nums = version.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    match flavor {
        SourceFlavor::MariaDb if (major, minor) >= (10, 3) => (true, "a supported MariaDB"),
        SourceFlavor::MariaDb => (false, "MariaDB before 10.3 is not supported"),
        SourceFlavor::MySql if (major, minor) >= (5, 7) => (true, "a supported MySQL"),
        SourceFlavor::MySql => (false, "MySQL before 5.7 is not supported"),
        SourceFlavor::OceanBase => (false, "OceanBase does not serve binlog dumps"),
    }
}

/// `ferry@%` -> `'ferry'@'%'`.
fn quote_user(user: &str) -> String {
    match user.rsplit_once('@') {
        Some((u, h)) => format!("'{u}'@'{h}'"),
        None => format!("'{user}'"),
    }
}

/// Privileges from `SHOW GRANTS` lines: per object (`*.*`, `` `shop`.* ``...), the set.
#[derive(Debug, Default)]
struct Grants(Vec<(String, Vec<String>)>);

impl Grants {
    fn parse(lines: &[String]) -> Self {
        let mut out = Vec::new();
        for line in lines {
            let upper = line.to_ascii_uppercase();
            let Some(rest) = upper.strip_prefix("GRANT ") else {
                continue;
            };
            let Some(on) = rest.find(" ON ") else {
                continue;
            }; // role grants have no ON
            let privs = strip_parens(&rest[..on]);
            let after = &line["GRANT ".len() + on + 4..];
            let object = after.split(" TO ").next().unwrap_or("").trim().to_string();
            let privs = privs.split(',').map(|p| p.trim().to_string()).collect();
            out.push((object, privs));
        }
        Self(out)
    }

    fn global(&self, privilege: &str) -> bool {
        self.0.iter().any(|(obj, privs)| {
            obj == "*.*" && privs.iter().any(|p| p == privilege || p == "ALL PRIVILEGES" || p == "ALL")
        })
    }

    /// Databases (or tables) with a SELECT grant below the global level.
    fn select_databases(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(obj, privs)| {
                obj != "*.*" && privs.iter().any(|p| p == "SELECT" || p == "ALL PRIVILEGES" || p == "ALL")
            })
            .map(|(obj, _)| obj.clone())
            .collect()
    }
}

/// Drops column lists: `SELECT (a, b), INSERT` -> `SELECT , INSERT`.
fn strip_parens(s: &str) -> String {
    let mut depth = 0;
    s.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    return false;
                }
                _ => {}
            }
            depth == 0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn by_check(f: &[Finding], check: &str) -> Finding {
        f.iter().find(|x| x.check == check).cloned().unwrap()
    }

    #[test]
    fn a_good_mariadb_passes() {
        let v = vars(&[
            ("version", "10.11.19-MariaDB-log"),
            ("log_bin", "ON"),
            ("binlog_format", "ROW"),
            ("binlog_row_image", "FULL"),
            ("log_bin_compress", "OFF"),
            ("binlog_row_metadata", "NO_LOG"),
        ]);
        let grants = vec![
            "GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `ferry`@`%` IDENTIFIED BY PASSWORD '*8'".to_string(),
        ];
        let f = findings(&v, "ferry@%", &grants);
        assert!(f.iter().all(|x| x.ok), "{f:#?}");
        assert!(by_check(&f, "binlog_row_metadata").message.contains("information_schema"));
        assert_eq!(f.len(), 9);
    }

    #[test]
    fn problems_say_what_to_set() {
        let v = vars(&[
            ("version", "10.11.19-MariaDB-log"),
            ("log_bin", "OFF"),
            ("binlog_format", "MIXED"),
            ("binlog_row_image", "MINIMAL"),
            ("log_bin_compress", "ON"),
            ("binlog_row_metadata", "FULL"),
        ]);
        let grants = vec!["GRANT USAGE ON *.* TO `x`@`%`".to_string()];
        let f = findings(&v, "x@%", &grants);
        for check in [
            "log_bin",
            "binlog_format",
            "binlog_row_image",
            "log_bin_compress",
            "privilege_replication_slave",
            "privilege_replication_client",
            "privilege_select",
        ] {
            let x = by_check(&f, check);
            assert!(!x.ok, "{check}");
            assert!(!x.fix.is_empty(), "{check}");
        }
        assert!(by_check(&f, "binlog_format").fix.contains("ROW"));
        assert!(by_check(&f, "privilege_replication_slave").fix.contains("'x'@'%'"));
        assert!(by_check(&f, "binlog_row_metadata").ok);
    }

    #[test]
    fn all_privileges_count_and_db_level_select_is_partial() {
        let g = Grants::parse(&["GRANT ALL PRIVILEGES ON *.* TO `a`@`%` WITH GRANT OPTION".into()]);
        assert!(g.global("REPLICATION SLAVE"));
        assert!(g.global("SELECT"));
        let g = Grants::parse(&[
            "GRANT USAGE ON *.* TO `a`@`%`".into(),
            "GRANT SELECT (id, name), INSERT ON `shop`.* TO `a`@`%`".into(),
        ]);
        assert!(!g.global("SELECT"));
        assert_eq!(g.select_databases(), vec!["`shop`.*"]);
    }
}
