//! TLS to a MySQL source and TLS with SASL/SCRAM to Kafka, each against a server that insists on
//! it (tests/common/secure.rs): what registration refuses and why, and every change synced
//! through the secured connections. MariaDB serves TLS itself; tansu can do neither TLS nor
//! SCRAM, so its Kafka is reached through a TLS + SCRAM gateway of the tests' own.

mod common;

use common::secure::{SecureTansu, TestCa, TlsMariadb};
use common::{read_topic, read_topic_as, Node, Services};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// `POST /datasources` answering 502 with `code`, its message holding `needle`.
fn refused(node: &Node, body: Value, code: &str, needle: &str) {
    let (status, answer) = node.post("/datasources", body);
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["code"], code, "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

fn ids_of(messages: &[common::Msg]) -> BTreeSet<i64> {
    messages.iter().map(|m| m.value.as_ref().unwrap()["postStruct"]["id"].as_i64().unwrap()).collect()
}

#[test]
fn a_mysql_source_over_tls_syncs_and_plain_or_untrusted_connections_are_refused() {
    let db = TlsMariadb::start();
    let services = Services::from_env();
    let node = Node::start("tlssrc");
    let wrong_ca = TestCa::new(&std::env::temp_dir().join(common::unique("wrong-ca")));

    // The replication user must come over TLS: without it the server refuses the login.
    let mut plain = db.source("plain");
    plain.as_object_mut().unwrap().remove("tls");
    refused(&node, plain, "access_denied", "ferry_tls");
    // A CA that did not sign the server's certificate: the handshake fails, named as TLS.
    let mut untrusted = db.source("untrusted");
    untrusted["tls"]["ca_pem"] = json!(wrong_ca.ca_pem);
    refused(&node, untrusted, "tls_failed", &format!("127.0.0.1:{}", db.port));
    // A PEM that is not one is refused before any connection.
    let mut broken = db.source("broken");
    broken["tls"]["ca_pem"] = json!("-----BEGIN CERTIFICATE-----\nnot base64\n");
    let (status, answer) = node.post("/datasources", broken);
    assert_eq!((status, answer["message"].as_str().unwrap().contains("tls.ca_pem")), (400, true), "{answer}");

    let view = node.ok("/datasources", db.source("tls"), 201);
    assert_eq!(view["tls"], json!({"custom_ca": true, "client_certificate": false, "verify_hostname": true}));
    let (_, check) = node.post("/datasources/tls/check", json!({}));
    assert_eq!(check["ok"], true, "{check}");

    // Mutual TLS: a user that must show a certificate the CA signed.
    let mut admin = db.admin();
    admin.exec("SET SESSION sql_log_bin = 0");
    admin.exec("CREATE USER 'ferry_x509'@'%' IDENTIFIED BY 'x509' REQUIRE X509");
    admin.exec("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'ferry_x509'@'%'");
    admin.exec("SET SESSION sql_log_bin = 1");
    let mut mutual = db.source("mutual");
    mutual["user"] = json!("ferry_x509");
    mutual["password"] = json!("x509");
    refused(&node, mutual.clone(), "access_denied", "ferry_x509");
    mutual["tls"]["cert_pem"] = json!(db.ca.client_cert_pem);
    mutual["tls"]["key_pem"] = json!(db.ca.client_key_pem);
    let view = node.ok("/datasources", mutual, 201);
    assert_eq!(view["tls"]["client_certificate"], true, "{view}");
    assert!(!view.to_string().contains("PRIVATE KEY"), "{view}");

    let start = admin.position();
    let schema = common::unique("tlsdb");
    admin.exec(&format!("CREATE DATABASE {schema}"));
    admin.exec(&format!("CREATE TABLE {schema}.t (id INT PRIMARY KEY, v VARCHAR(40))"));
    node.ok("/datasources", services.kafka_destination("kafka"), 201);
    node.start_project(json!({"name": "tls-sync", "source": "tls", "destination": "kafka",
        "objects": [{"database": schema, "topic": "{database}.{table}"}],
        "start": {"file": start.0, "pos": start.1}}));
    for id in 1..=200 {
        admin.exec(&format!("INSERT INTO {schema}.t VALUES ({id}, 'over tls {id}')"));
    }
    let read =
        read_topic(&services.kafka, &format!("{schema}.t"), Duration::from_secs(60), |m| m.len() >= 200);
    assert_eq!(ids_of(&read), (1..=200).collect(), "every row, once each");
    let first = read.iter().find(|m| m.value.as_ref().unwrap()["postStruct"]["id"] == 7).unwrap();
    assert_eq!(first.value.as_ref().unwrap()["postStruct"]["v"], "over tls 7");
    // The binlog dump runs as the TLS-only user, so over TLS.
    let dumps = admin.rows(&format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{}' AND COMMAND LIKE 'Binlog Dump%'",
        TlsMariadb::TLS_USER
    ));
    assert_eq!(dumps[0].get::<i64, _>(0), Some(1));
}

#[test]
fn kafka_over_tls_with_scram_gets_every_change_and_a_bad_login_is_named() {
    let kafka = SecureTansu::start();
    let (services, node, mut sql, db) = common::setup("saslk");
    let wrong_ca = TestCa::new(&std::env::temp_dir().join(common::unique("wrong-ca")));

    let mut wrong_password = kafka.destination("badpw");
    wrong_password["sasl"]["password"] = json!("not-the-password");
    refused(&node, wrong_password, "destination_unreachable", "Authentication failed");
    let mut untrusted = kafka.destination("untrusted");
    untrusted["tls"]["ca_pem"] = json!(wrong_ca.ca_pem);
    refused(&node, untrusted, "destination_unreachable", "certificate verify failed");
    let mut plain = kafka.destination("plain");
    plain.as_object_mut().unwrap().remove("tls");
    refused(&node, plain, "destination_unreachable", &kafka.address);
    let mut unknown = kafka.destination("unknown");
    unknown["sasl"]["mechanism"] = json!("GSSAPI");
    let (status, answer) = node.post("/datasources", unknown);
    assert_eq!(
        (status, answer["message"].as_str().unwrap().contains("sasl.mechanism")),
        (400, true),
        "{answer}"
    );

    let view = node.ok("/datasources", kafka.destination("secure"), 201);
    assert_eq!(view["sasl"], json!({"mechanism": SecureTansu::MECHANISM, "username": SecureTansu::USER}));
    assert!(!view.to_string().contains(SecureTansu::PASSWORD), "{view}");
    // The other mechanisms, each proven by a login at registration.
    for mechanism in ["SCRAM-SHA-256", "PLAIN"] {
        let mut body = kafka.destination(&format!("secure-{}", mechanism.to_lowercase()));
        body["sasl"]["mechanism"] = json!(mechanism);
        node.ok("/datasources", body.clone(), 201);
        body["name"] = json!(format!("bad-{}", mechanism.to_lowercase()));
        body["sasl"]["password"] = json!("wrong");
        refused(&node, body, "destination_unreachable", "Authentication failed");
    }

    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(40))"));
    node.ok("/datasources", services.mysql_source("maria"), 201);
    node.start_project(json!({"name": "sasl-sync", "source": "maria", "destination": "secure",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "start": {"file": start.0, "pos": start.1}}));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, CONCAT('row ', seq) FROM {db}.seq_1_to_2000"));
    let topic = format!("{db}.t");
    let read = read_topic_as(kafka.client_config(), &topic, Duration::from_secs(90), |m| m.len() >= 2000);
    assert_eq!(ids_of(&read), (1..=2000).collect(), "every row over SASL_SSL");
    let project =
        node.wait_project("sasl-sync", Duration::from_secs(30), |p| p["rows"].as_u64() >= Some(2000));
    assert_eq!(project["state"], "running", "{project}");

    // Registered unchecked with a wrong password, a destination fails its project naming the
    // refused login instead of retrying for ever.
    let mut bad = kafka.destination("later-bad");
    bad["sasl"]["password"] = json!("changed-since");
    let (status, answer) = node.post("/datasources?verify=false", bad);
    assert_eq!(status, 201, "{answer}");
    node.start_project(json!({"name": "sasl-bad", "source": "maria", "destination": "later-bad",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "start": {"file": start.0, "pos": start.1}}));
    let failed = node.wait_project("sasl-bad", Duration::from_secs(60), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("Authentication failed"), "{failed}");
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn kafka_asking_for_a_client_certificate_takes_ferrys_and_refuses_none() {
    let kafka = SecureTansu::start_mutual();
    let (services, node, mut sql, db) = common::setup("mtlsk");

    refused(&node, kafka.destination("nocert"), "destination_unreachable", &kafka.address);
    let mut body = kafka.destination("mutual");
    body["tls"]["cert_pem"] = json!(kafka.ca.client_cert_pem);
    body["tls"]["key_pem"] = json!(kafka.ca.client_key_pem);
    let view = node.ok("/datasources", body, 201);
    assert_eq!(view["tls"]["client_certificate"], true, "{view}");
    assert!(!view.to_string().contains("PRIVATE KEY"), "{view}");

    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(40))"));
    node.ok("/datasources", services.mysql_source("maria"), 201);
    node.start_project(json!({"name": "mtls-sync", "source": "maria", "destination": "mutual",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "start": {"file": start.0, "pos": start.1}}));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, CONCAT('row ', seq) FROM {db}.seq_1_to_500"));
    let topic = format!("{db}.t");
    let read = read_topic_as(kafka.client_config_with_certificate(), &topic, Duration::from_secs(90), |m| {
        m.len() >= 500
    });
    assert_eq!(ids_of(&read), (1..=500).collect(), "every row over mutual TLS");
    sql.exec(&format!("DROP DATABASE {db}"));
}
