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
