use super::producer::delivery_error;
use crate::sink::{stable_hash, SinkError};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

#[test]
fn stable_hash_is_fnv1a_so_partitions_do_not_move_between_versions() {
    assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(stable_hash(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn deliveries_the_broker_refuses_for_good_fail_the_project_and_the_rest_are_retried() {
    let refused = |code| delivery_error(&KafkaError::MessageProduction(code), "shop.orders");
    for code in [
        RDKafkaErrorCode::MessageSizeTooLarge,
        RDKafkaErrorCode::TopicAuthorizationFailed,
        RDKafkaErrorCode::InvalidRecord,
        RDKafkaErrorCode::PolicyViolation,
    ] {
        assert!(matches!(refused(code), SinkError::Refused(e) if e.contains("shop.orders")), "{code:?}");
    }
    for code in [
        RDKafkaErrorCode::NotEnoughReplicas,
        RDKafkaErrorCode::NotEnoughReplicasAfterAppend,
        RDKafkaErrorCode::RequestTimedOut,
        RDKafkaErrorCode::MessageTimedOut,
        RDKafkaErrorCode::LeaderNotAvailable,
        RDKafkaErrorCode::BrokerTransportFailure,
    ] {
        assert!(matches!(refused(code), SinkError::Unavailable(_)), "{code:?}");
    }
}

#[test]
fn tls_and_sasl_choose_the_security_protocol_and_carry_their_settings() {
    use super::{KafkaSinkConfig, SaslLogin};
    use crate::client_tls::ClientTls;
    use crate::meta::SaslMechanism;
    let config = |tls: Option<ClientTls>, sasl: Option<SaslLogin>| {
        KafkaSinkConfig {
            bootstrap_servers: "k:9093".into(),
            replication_factor: None,
            dead_letter_topic: None,
            tls,
            sasl,
        }
        .client_config()
    };
    let tls = ClientTls { ca_pem: Some("CA".into()), identity: None, verify_hostname: false };
    let sasl =
        SaslLogin { mechanism: SaslMechanism::ScramSha512, username: "u".into(), password: "p".into() };
    assert_eq!(config(None, None).get("security.protocol"), Some("plaintext"));
    let ssl = config(Some(tls.clone()), None);
    assert_eq!(ssl.get("security.protocol"), Some("ssl"));
    assert_eq!(ssl.get("ssl.ca.pem"), Some("CA"));
    assert_eq!(ssl.get("ssl.endpoint.identification.algorithm"), Some("none"));
    assert_eq!(ssl.get("ssl.key.pem"), None);
    assert_eq!(config(None, Some(sasl.clone())).get("security.protocol"), Some("sasl_plaintext"));
    let both = config(Some(tls), Some(sasl));
    assert_eq!(both.get("security.protocol"), Some("sasl_ssl"));
    assert_eq!(both.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
    assert_eq!(both.get("sasl.username"), Some("u"));
    assert!(!format!(
        "{:?}",
        SaslLogin { mechanism: SaslMechanism::Plain, username: "u".into(), password: "secret".into() }
    )
    .contains("secret"));
}
