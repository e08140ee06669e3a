//! Servers that insist on security, for the TLS and SASL tests: a certificate authority made for
//! the test, a MariaDB whose replication user must come over TLS, and a Kafka broker reached
//! only over TLS with SASL/SCRAM. Each server runs from a temp dir of its own, with a CA of its
//! own (so one server's CA is a wrong CA for the other), and is killed, its dir removed, when
//! dropped.

use super::{free_port, python, tansu_bin, unique, wait_for, Sql};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A certificate authority, the server certificate it signed for `127.0.0.1` and `localhost`,
/// and a client certificate it signed (mutual TLS), written as PEM files into a dir.
pub struct TestCa {
    /// The CA's certificate (PEM): what a client trusts.
    pub ca_pem: String,
    /// The CA's certificate as a file (`ca.pem`).
    pub ca_path: PathBuf,
    /// The server certificate (`server.pem`).
    pub server_cert_path: PathBuf,
    /// The server certificate's private key (`server.key`, PKCS#8).
    pub server_key_path: PathBuf,
    /// A client certificate the CA signed (PEM; client authentication only).
    pub client_cert_pem: String,
    /// The client certificate's private key (PEM, PKCS#8).
    pub client_key_pem: String,
}

impl TestCa {
    /// Makes the CA and both certificates (ECDSA P-256) and writes `ca.pem`, `server.pem`,
    /// `server.key`, `client.pem` and `client.key` into `dir`.
    pub fn new(dir: &Path) -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        // Distinct subjects: a leaf named like its issuer would look self-signed.
        let params = |names: &[&str], common_name: &str| {
            let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("valid subject alternative names");
            params.distinguished_name.push(DnType::CommonName, common_name);
            params
        };
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = params(&[], "Ferry test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
        let leaf = |names: &[&str], common_name: &str, usage: ExtendedKeyUsagePurpose| {
            let mut leaf_params = params(names, common_name);
            leaf_params.use_authority_key_identifier_extension = true;
            leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            leaf_params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().expect("a leaf key");
            let cert = leaf_params.signed_by(&key, &ca, &ca_key).expect("a certificate the CA signs");
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) =
            leaf(&["127.0.0.1", "localhost"], "Ferry test server", ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert_pem, client_key_pem) = leaf(&[], "ferry", ExtendedKeyUsagePurpose::ClientAuth);

        std::fs::create_dir_all(dir).unwrap();
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let ca_pem = ca.pem();
        write("client.pem", &client_cert_pem);
        write("client.key", &client_key_pem);
        TestCa {
            ca_path: write("ca.pem", &ca_pem),
            server_cert_path: write("server.pem", &server_cert),
            server_key_path: write("server.key", &server_key),
            ca_pem,
            client_cert_pem,
            client_key_pem,
        }
    }
}

/// A fresh temp dir named after `prefix`; its path must stay short (a unix socket lives in it).
fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Panics with the end of `log` if `child` has exited.
fn assert_running(child: &mut Child, what: &str, log: &Path) {
    if let Some(status) = child.try_wait().unwrap() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        panic!(
            "{what} exited ({status}); the end of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

/// A private MariaDB (binlog ROW, FULL row image and metadata) on 127.0.0.1, serving TLS with
/// its CA's server certificate. As in scripts/services.sh, `ferry_admin` may connect without
/// TLS; `ferry_tls`, the replication user, is refused without it (`REQUIRE SSL`).
pub struct TlsMariadb {
    child: Child,
    dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The CA that signed the server's certificate (and a client certificate).
    pub ca: TestCa,
}

impl TlsMariadb {
    /// The replication user (REPLICATION SLAVE, REPLICATION CLIENT, SELECT), TLS only.
    pub const TLS_USER: &str = "ferry_tls";
    /// `TLS_USER`'s password.
    pub const TLS_PASSWORD: &str = "ferry_tls";
    /// ALL PRIVILEGES, with or without TLS.
    pub const ADMIN_USER: &str = "ferry_admin";
    /// `ADMIN_USER`'s password.
    pub const ADMIN_PASSWORD: &str = "ferry_admin";

    /// Initialises a data dir and starts the server (a few seconds, mostly mariadb-install-db).
    pub fn start() -> TlsMariadb {
        let dir = temp_dir("ferry-tlsdb");
        let socket = dir.join("s.sock");
        assert!(socket.as_os_str().len() < 108, "socket path too long: {} (set TMPDIR)", socket.display());
        let ca = TestCa::new(&dir.join("tls"));
        let data = dir.join("data");
        let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id -un").stdout).unwrap();
        // mariadbd lives in /usr/sbin, which a non-root PATH may lack.
        let path = format!("{}:/usr/local/sbin:/usr/sbin:/sbin", std::env::var("PATH").unwrap_or_default());
        let install_log = dir.join("install.log");
        let install_output = std::fs::File::create(&install_log).unwrap();
        let installed = Command::new("mariadb-install-db")
            .env("PATH", &path)
            .args(["--no-defaults", &format!("--user={}", user.trim())])
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .stdout(install_output.try_clone().unwrap())
            .stderr(install_output)
            .status()
            .expect("mariadb-install-db (scripts/services.sh up installs mariadb-server)");
        assert!(installed.success(), "mariadb-install-db failed; see {}", install_log.display());

        let port = free_port();
        let log = dir.join("error.log");
        let mut child = Command::new("mariadbd")
            .env("PATH", &path)
            .args(["--no-defaults", &format!("--user={}", user.trim())])
            .arg(format!("--datadir={}", data.display()))
            .args([format!("--port={port}"), "--bind-address=127.0.0.1".into()])
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--log-bin={}", data.join("bin").display()))
            .args(["--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL"])
            // Unique among the servers a test runs (the shared ones use 1 and 3).
            .arg(format!("--server-id={}", 100_000 + u32::from(port)))
            .arg("--skip-name-resolve")
            .arg(format!("--ssl-ca={}", ca.ca_path.display()))
            .arg(format!("--ssl-cert={}", ca.server_cert_path.display()))
            .arg(format!("--ssl-key={}", ca.server_key_path.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        // root@localhost: only the socket reaches it.
        let root = |sql: &str| {
            Command::new("mariadb")
                .args(["--no-defaults", "-uroot", "-S"])
                .arg(&socket)
                .args(["-e", sql])
                .output()
                .expect("the mariadb client (mariadb-client)")
        };
        wait_for("the TLS MariaDB", Duration::from_secs(60), || {
            assert_running(&mut child, "mariadbd", &log);
            root("SELECT 1").status.success().then_some(())
        });
        // Kept out of the binlog, so that a test reading it from the start sees only its own events.
        let users = format!(
            "SET SESSION sql_log_bin = 0;
             CREATE USER '{admin}'@'%' IDENTIFIED BY '{admin_password}';
             GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'%' WITH GRANT OPTION;
             CREATE USER '{tls}'@'%' IDENTIFIED BY '{tls_password}' REQUIRE SSL;
             GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '{tls}'@'%';",
            admin = Self::ADMIN_USER,
            admin_password = Self::ADMIN_PASSWORD,
            tls = Self::TLS_USER,
            tls_password = Self::TLS_PASSWORD,
        );
        let created = root(&users);
        assert!(created.status.success(), "creating the users: {}", String::from_utf8_lossy(&created.stderr));
        TlsMariadb { child, dir, port, ca }
    }

    /// SQL as `ferry_admin`, without TLS.
    pub fn admin(&self) -> Sql {
        Sql::connect_to(self.port, Self::ADMIN_USER, Self::ADMIN_PASSWORD)
    }

    /// The body registering this server as a `mysql` source: the TLS user, trusting the CA.
    pub fn source(&self, name: &str) -> Value {
        json!({"name": name, "type": "mysql", "host": "127.0.0.1", "port": self.port,
               "user": Self::TLS_USER, "password": Self::TLS_PASSWORD,
               "tls": {"ca_pem": self.ca.ca_pem}})
    }
}

impl Drop for TlsMariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What stands before tansu: TLS, then SASL/SCRAM (see the script's docstring for why).
const GATEWAY: &str = include_str!("sasl_ssl_gateway.py");

/// A private tansu broker (in memory) that clients reach only through TLS with SASL/SCRAM:
/// tests/common/sasl_ssl_gateway.py terminates TLS with the CA's server certificate,
/// authenticates one user (SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN), and pipes the
/// connection to tansu's own port, which tansu advertises as the gateway's. Before a client
/// authenticates it may only ask ApiVersions; a plain or unauthenticated client is disconnected.
pub struct SecureTansu {
    broker: Child,
    gateway: Child,
    dir: PathBuf,
    /// `127.0.0.1:<port>`: the only address clients see.
    pub address: String,
    /// The CA that signed the gateway's certificate.
    pub ca: TestCa,
}

impl SecureTansu {
    /// The one SASL user.
    pub const USER: &str = "ferry";
    /// `USER`'s password.
    pub const PASSWORD: &str = "ferry-kafka-secret";
    /// What a client asks; `SCRAM-SHA-256` is accepted too.
    pub const MECHANISM: &str = "SCRAM-SHA-512";

    /// Starts tansu and the gateway before it (a fraction of a second).
    pub fn start() -> SecureTansu {
        SecureTansu::start_with(false)
    }

    /// As [`SecureTansu::start`], the gateway also requiring a client certificate the CA
    /// signed (mutual TLS).
    pub fn start_mutual() -> SecureTansu {
        SecureTansu::start_with(true)
    }

    fn start_with(mutual: bool) -> SecureTansu {
        let dir = temp_dir("ferry-kafka-tls");
        let ca = TestCa::new(&dir);
        let broker_port = free_port();
        let port = loop {
            let p = free_port();
            if p != broker_port {
                break p;
            }
        };
        let bin = tansu_bin();
        let broker_log = dir.join("tansu.log");
        let mut broker = Command::new(bin)
            .args(["broker", "--cluster-id", "ferry-secure", "--storage-engine", "memory://tansu/"])
            .args(["--listener-url", &format!("tcp://127.0.0.1:{broker_port}")])
            .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{port}")])
            .env_remove("SCHEMA_REGISTRY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&broker_log).unwrap())
            .spawn()
            .expect("start tansu");
        let script = dir.join("sasl_ssl_gateway.py");
        std::fs::write(&script, GATEWAY).unwrap();
        let gateway_log = dir.join("gateway.log");
        let mut gateway = Command::new(python())
            .arg(script)
            .args([port.to_string(), broker_port.to_string()])
            .args([&ca.server_cert_path, &ca.server_key_path])
            .args([Self::USER, Self::PASSWORD])
            .args(mutual.then_some(&ca.ca_path))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&gateway_log).unwrap())
            .spawn()
            .expect("start the venv's python");
        wait_for("the secure broker's ports", Duration::from_secs(30), || {
            assert_running(&mut broker, "tansu", &broker_log);
            assert_running(&mut gateway, "the SASL_SSL gateway", &gateway_log);
            [broker_port, port]
                .iter()
                .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
                .then_some(())
        });
        SecureTansu { broker, gateway, dir, address: format!("127.0.0.1:{port}"), ca }
    }

    /// An rdkafka client's settings for it (SASL_SSL as the user, trusting the CA), for
    /// [`super::read_topic_as`].
    pub fn client_config(&self) -> ClientConfig {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &self.address)
            .set("security.protocol", "sasl_ssl")
            .set("ssl.ca.pem", &self.ca.ca_pem)
            .set("sasl.mechanism", Self::MECHANISM)
            .set("sasl.username", Self::USER)
            .set("sasl.password", Self::PASSWORD);
        client
    }

    /// [`SecureTansu::client_config`] presenting the CA's client certificate.
    pub fn client_config_with_certificate(&self) -> ClientConfig {
        let mut client = self.client_config();
        client
            .set("ssl.certificate.pem", &self.ca.client_cert_pem)
            .set("ssl.key.pem", &self.ca.client_key_pem);
        client
    }

    /// The body registering it as a `kafka` destination: TLS trusting the CA, SASL as the user.
    pub fn destination(&self, name: &str) -> Value {
        json!({"name": name, "type": "kafka", "bootstrap_servers": self.address,
               "tls": {"ca_pem": self.ca.ca_pem},
               "sasl": {"mechanism": Self::MECHANISM, "username": Self::USER, "password": Self::PASSWORD}})
    }
}

impl Drop for SecureTansu {
    fn drop(&mut self) {
        for child in [&mut self.gateway, &mut self.broker] {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
