//! Opening connections to the source server and turning driver errors into [`SourceError`]s.
//!
//! Invariant: every error leaving this module says what happens next — `Unreachable` and
//! `ConnectionLost` are transient (reconnect), `AccessDenied` and the rest are definite.

use super::{MysqlConfig, SourceError};
use crate::client_tls::ClientTls;
use mysql_async::{ClientIdentity, Conn, DriverError, IoError, OptsBuilder, SslOpts};
use std::time::Duration;

/// How long a connection attempt (TCP connect, handshake, auth) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Server error codes the source interprets.
pub(crate) mod codes {
    /// ER_ACCESS_DENIED_ERROR: wrong user or password.
    pub const ACCESS_DENIED: u16 = 1045;
    /// ER_DBACCESS_DENIED_ERROR.
    pub const DB_ACCESS_DENIED: u16 = 1044;
    /// ER_HOST_NOT_PRIVILEGED: the user may not connect from this host.
    pub const HOST_NOT_PRIVILEGED: u16 = 1130;
    /// ER_SPECIFIC_ACCESS_DENIED_ERROR: a privilege (REPLICATION SLAVE...) is missing.
    pub const SPECIFIC_ACCESS_DENIED: u16 = 1227;
    /// ER_TOO_MANY_CONNECTIONS.
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
    /// ER_MASTER_FATAL_ERROR_READING_BINLOG: bad or purged position, corrupt binlog.
    pub const FATAL_READING_BINLOG: u16 = 1236;
}

/// Opens a connection over TCP (never the server's unix socket), failing after
/// [`CONNECT_TIMEOUT`].
pub(crate) async fn connect(cfg: &MysqlConfig) -> Result<Conn, SourceError> {
    connect_caching(cfg, 0).await
}

/// [`connect`], keeping up to `statements` prepared statements by their text.
pub(crate) async fn connect_caching(cfg: &MysqlConfig, statements: usize) -> Result<Conn, SourceError> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(cfg.host.clone())
        .tcp_port(cfg.port)
        .user(Some(cfg.user.clone()))
        .pass(Some(cfg.password.clone()))
        .prefer_socket(false)
        .tcp_nodelay(true)
        .tcp_keepalive(Some(Duration::from_secs(30)))
        .stmt_cache_size(statements)
        .ssl_opts(cfg.tls.as_ref().map(ssl_opts));
    match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(cfg, e)),
        Err(_) => Err(SourceError::Unreachable {
            host: cfg.host.clone(),
            port: cfg.port,
            reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// mysql_async's TLS settings (rustls): the given roots only when there are some, else the
/// public ones; the client identity for mutual TLS.
fn ssl_opts(tls: &ClientTls) -> SslOpts {
    let mut opts = SslOpts::default().with_danger_skip_domain_validation(!tls.verify_hostname);
    if let Some(ca) = &tls.ca_pem {
        opts = opts.with_root_certs(vec![ca.clone().into_bytes().into()]).with_disable_built_in_roots(true);
    }
    if let Some((cert, key)) = &tls.identity {
        opts = opts.with_client_identity(Some(ClientIdentity::new(
            cert.clone().into_bytes().into(),
            key.clone().into_bytes().into(),
        )));
    }
    opts
}

/// Maps an error of a connection attempt.
pub(crate) fn connect_error(cfg: &MysqlConfig, e: mysql_async::Error) -> SourceError {
    match e {
        mysql_async::Error::Server(se) => match se.code {
            codes::ACCESS_DENIED | codes::DB_ACCESS_DENIED | codes::HOST_NOT_PRIVILEGED => {
                SourceError::AccessDenied { user: cfg.user.clone(), reason: se.message }
            }
            codes::TOO_MANY_CONNECTIONS => {
                SourceError::Unreachable { host: cfg.host.clone(), port: cfg.port, reason: se.message }
            }
            code => SourceError::Server { code, message: se.message },
        },
        mysql_async::Error::Io(IoError::Tls(e)) => tls_error(cfg, e.to_string()),
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => {
            tls_error(cfg, "the server does not offer TLS".into())
        }
        // tokio-rustls hands a failed handshake back as an IO error holding rustls' own.
        mysql_async::Error::Io(IoError::Io(e))
            if e.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            tls_error(cfg, e.to_string())
        }
        // IO (refused, reset, DNS), protocol trouble during the handshake: the server is not
        // (yet) reachable as a MySQL server; worth retrying.
        other => {
            SourceError::Unreachable { host: cfg.host.clone(), port: cfg.port, reason: other.to_string() }
        }
    }
}

fn tls_error(cfg: &MysqlConfig, reason: String) -> SourceError {
    SourceError::Tls { host: cfg.host.clone(), port: cfg.port, reason }
}

/// Maps an error of a query or of the binlog stream on an established connection.
pub(crate) fn query_error(e: mysql_async::Error) -> SourceError {
    match e {
        mysql_async::Error::Server(se) => match se.code {
            codes::SPECIFIC_ACCESS_DENIED => SourceError::Privilege(se.message),
            code => SourceError::Server { code, message: se.message },
        },
        mysql_async::Error::Io(e) => SourceError::ConnectionLost(e.to_string()),
        mysql_async::Error::Driver(e) => SourceError::ConnectionLost(e.to_string()),
        other => SourceError::ConnectionLost(other.to_string()),
    }
}

/// Closes a connection politely; errors do not matter any more at that point.
pub(crate) async fn close(conn: Conn) {
    let _ = conn.disconnect().await;
}
