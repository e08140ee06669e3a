//! A self-signed certificate for the HTTPS tests, naming the addresses the nodes serve on.

use std::path::PathBuf;

pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub pem: String,
}

impl TestCert {
    /// A certificate for `ips` (and `localhost`), written under `dir`.
    pub fn for_ips(dir: &std::path::Path, ips: &[&str]) -> TestCert {
        let mut names: Vec<String> = ips.iter().map(|ip| ip.to_string()).collect();
        names.push("localhost".into());
        let certified = rcgen::generate_simple_self_signed(names).expect("a self-signed certificate");
        std::fs::create_dir_all(dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let pem = certified.cert.pem();
        std::fs::write(&cert, &pem).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        TestCert { cert, key, pem }
    }

    /// A blocking client that trusts only this certificate.
    pub fn client(&self, timeout: std::time::Duration) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem.as_bytes()).unwrap())
            .timeout(timeout)
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap()
    }

    /// `ferry node` arguments serving HTTPS with it.
    pub fn node_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.display().to_string(),
            "--tls-key".into(),
            self.key.display().to_string(),
        ]
    }
}
