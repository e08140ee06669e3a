//! The server's time zone, read from the server itself: the UTC offset its `FROM_UNIXTIME`
//! gives at noon UTC of every day TIMESTAMP can hold (1970-2038), then every 15 minutes across
//! each day whose offset differs from the day before. Whatever the zone setting (`SYSTEM`, a
//! named zone, `+08:00`), the result is what the server itself would show.

use super::catalog::server_info_on;
use super::conn::{self, query_error};
use super::{MysqlConfig, ServerInfo, SourceError};
use crate::codec::ServerZone;
use mysql_async::prelude::*;
use mysql_async::Conn;

const DAY: i64 = 86_400;
/// The last day whose noon a TIMESTAMP can hold (2038-01-18).
const LAST_DAY: i64 = 24_854;
/// Offsets change on quarter hours everywhere.
const STEP: i64 = 900;

/// Connects and reads the server's zone.
pub async fn server_zone(cfg: &MysqlConfig) -> Result<ServerZone, SourceError> {
    let mut c = conn::connect(cfg).await?;
    let zone = server_zone_on(&mut c).await;
    conn::close(c).await;
    zone
}

/// The server's version and settings, and its zone, over one connection (what a connector needs
/// to encode values).
pub async fn server_info_and_zone(cfg: &MysqlConfig) -> Result<(ServerInfo, ServerZone), SourceError> {
    let mut c = conn::connect(cfg).await?;
    let found = match server_info_on(&mut c).await {
        Ok(info) => server_zone_on(&mut c).await.map(|zone| (info, zone)),
        Err(e) => Err(e),
    };
    conn::close(c).await;
    found
}

/// The zone of this connection's session (the server's default unless the session changed it).
pub async fn server_zone_on(c: &mut Conn) -> Result<ServerZone, SourceError> {
    let digits = "(SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
                  SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
                  SELECT 8 UNION ALL SELECT 9)";
    let days = format!(
        "SELECT a.n + 10 * b.n + 100 * c.n + 1000 * d.n + 10000 * e.n AS k FROM {digits} a, {digits} b, \
         {digits} c, {digits} d, {digits} e"
    );
    let noon = |k: &str| format!("({k} * {DAY} + {})", DAY / 2);
    let daily: Vec<(i64, Option<i64>)> = c
        .query(format!(
            "SELECT {t}, {offset} FROM ({days}) days WHERE k <= {LAST_DAY} ORDER BY k",
            t = noon("k"),
            offset = offset_sql(&noon("k")),
        ))
        .await
        .map_err(query_error)?;
    // NULL: an instant the server cannot show (past its TIMESTAMP range).
    let daily: Vec<(i64, i64)> = daily.into_iter().filter_map(|(t, o)| Some((t, o?))).collect();
    let mut samples = daily.clone();
    let changed: Vec<i64> = daily.windows(2).filter(|w| w[0].1 != w[1].1).map(|w| w[0].0).collect();
    if !changed.is_empty() {
        let starts: Vec<String> = changed.iter().map(|t| format!("SELECT {t} AS s")).collect();
        let t = format!("(w.s + q.k * {STEP})");
        let quarters = format!("SELECT a.n + 10 * b.n AS k FROM {digits} a, {digits} b");
        let fine: Vec<(i64, Option<i64>)> = c
            .query(format!(
                "SELECT {t}, {offset} FROM ({starts}) w, ({quarters}) q WHERE q.k BETWEEN 1 AND {n}",
                offset = offset_sql(&t),
                starts = starts.join(" UNION ALL "),
                n = DAY / STEP,
            ))
            .await
            .map_err(query_error)?;
        samples.extend(fine.into_iter().filter_map(|(t, o)| Some((t, o?))));
    }
    samples.sort_unstable();
    Ok(ServerZone::from_samples(samples.into_iter().map(|(t, o)| (t, o as i32))))
}

/// SQL for the session zone's offset from UTC at unix time `t`, in seconds.
fn offset_sql(t: &str) -> String {
    format!("TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', FROM_UNIXTIME({t})) - {t}")
}
